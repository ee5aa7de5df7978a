/* What the policy unit tests share (check_policy.c, check_policy_acct.c,
 * check_policy_value.c): a parse that collects every error with its line, the
 * `-t` report as one string, the base policy and a valid hash, and main(). */
#ifndef FTPSD_TEST_POLICY_TEST_H
#define FTPSD_TEST_POLICY_TEST_H

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------- harness */

#define ERR_MAX 16

struct errs {
    int n;
    int line[ERR_MAX];
    char msg[ERR_MAX][512];
    char file[256];
};

static inline void collect(void *ctx, const char *file, int line, const char *msg)
{
    struct errs *e = ctx;

    if (e->n < ERR_MAX) {
        e->line[e->n] = line;
        snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
    }
    snprintf(e->file, sizeof(e->file), "%s", file);
    e->n++;
}

static inline int parse_len(struct policy *pol, const char *text, size_t len, struct errs *e)
{
    memset(e, 0, sizeof(*e));
    return pol_parse_buf(pol, "test.policy", text, len, collect, e);
}

static inline int parse(struct policy *pol, const char *text, struct errs *e)
{
    return parse_len(pol, text, strlen(text), e);
}

static inline void dump(const struct errs *e)
{
    for (int i = 0; i < e->n && i < ERR_MAX; i++) {
        fprintf(stderr, "  %s:%d: %s\n", e->file, e->line[i], e->msg[i]);
    }
}

/* The `-t` report as one string, with a leading newline so every line,
 * the first included, can be searched as "\nLINE\n". */
/* Not inlined: GCC 12 then takes the memstream buffer for a dangling
 * local (-Wdangling-pointer) in callers that search the result. */
__attribute__((unused, noinline)) static char *print_policy(const struct policy *pol)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    fputc('\n', f);
    pol_print(pol, f);
    fclose(f);
    return buf;
}

static inline bool has_line(const char *out, const char *line)
{
    char want[1024];

    snprintf(want, sizeof(want), "\n%s\n", line);
    return strstr(out, want) != NULL;
}

#define BASE "cert /etc/c.pem\nkey /etc/k.pem\n"
/* A valid hash of "secret" (salt bytes 0..15, 1000 iterations). */
#define H                                                                                          \
    "$pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY="
#define FP "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

#define RW (POL_ACC_READ | POL_ACC_WRITE)
#define ALL                                                                                        \
    (POL_ACC_READ | POL_ACC_WRITE | POL_ACC_APPEND | POL_ACC_DELETE | POL_ACC_MKDIR |              \
     POL_ACC_RENAME)

/* A policy that BASE plus `text` makes: exactly one error, on `line`, with
 * exactly the message `msg`. */
struct exact_case {
    const char *text;
    int line;
    const char *msg;
};

/* Parses BASE followed by `text` and checks it makes `want` errors (all of
 * them shown on stderr if not); case `i` names the table row. */
static inline void parse_base(struct policy *pol, const char *text, struct errs *e, int want, int i)
{
    char buf[1024];
    int n;

    snprintf(buf, sizeof(buf), "%s%s", BASE, text);
    n = parse(pol, buf, e);
    if (n != want) {
        dump(e);
    }
    ck_assert_msg(n == want, "case %d '%s': %d errors, want %d", i, text, n, want);
}

static inline void check_exact(const struct exact_case *c, int i)
{
    struct policy pol;
    struct errs e;

    parse_base(&pol, c->text, &e, 1, i);
    ck_assert_str_eq(e.file, "test.policy");
    ck_assert_int_eq(e.line[0], c->line);
    ck_assert_str_eq(e.msg[0], c->msg);
    pol_free(&pol);
}

/* One test of a suite: the test case it belongs to, the test, and how many
 * table rows it loops over (1 for a plain test). */
struct test_entry {
    const char *tcase;
    const TTest *test;
    int rows;
};

/* Runs the tests, grouped into test cases by name in table order; the
 * process exit status says whether all passed. */
static inline int run_tests(const char *suite, const struct test_entry *t, int n)
{
    Suite *s = suite_create(suite);
    TCase *tc = NULL;
    const char *tcase = NULL;
    SRunner *sr;
    int failed;

    for (int i = 0; i < n; i++) {
        if (tcase == NULL || strcmp(tcase, t[i].tcase) != 0) {
            tcase = t[i].tcase;
            tc = tcase_create(tcase);
            suite_add_tcase(s, tc);
        }
        tcase_add_loop_test(tc, t[i].test, 0, t[i].rows);
    }
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
