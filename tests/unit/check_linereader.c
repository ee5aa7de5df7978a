/* The control-line reader (STYLE.md habit 4): split reads, pipelining,
 * the 4096-byte limit, NUL, bare CR/LF, telnet IAC. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ctrl.h"

static char out[DEFS_LINE_MAX];

/* Feeds `in` in chunks of `chunk` bytes and collects results as
 * "L:text|", "TOOLONG|", "BAD|". */
static void run(const char *in, size_t inlen, size_t chunk, char *res, size_t ressz)
{
    struct linereader lr;
    lr_init(&lr);
    size_t pos = 0, rl = 0;
    res[0] = '\0';
    while (pos < inlen || lr_has_line(&lr)) {
        if (pos < inlen) {
            size_t n = inlen - pos < chunk ? inlen - pos : chunk;
            pos += lr_feed(&lr, in + pos, n);
        }
        for (;;) {
            enum lr_result r = lr_next(&lr, out, sizeof out);
            if (r == LR_NEED_MORE) {
                break;
            }
            const char *tag = r == LR_LINE ? "L:" : r == LR_TOO_LONG ? "TOOLONG" : "BAD";
            int n = snprintf(res + rl, ressz - rl, "%s%s|", tag, r == LR_LINE ? out : "");
            ck_assert(n > 0 && (size_t)n < ressz - rl);
            rl += (size_t)n;
        }
    }
}

struct lr_case {
    const char *in;
    size_t len; /* 0 = strlen */
    const char *want;
};

static const struct lr_case cases[] = {
    {"NOOP\r\n", 0, "L:NOOP|"},
    {"NOOP\n", 0, "L:NOOP|"},
    {"USER a\r\nPASS b\r\nPWD\r\n", 0, "L:USER a|L:PASS b|L:PWD|"},
    {"NOOP", 0, ""},
    {"\r\n", 0, "L:|"},
    {"NO\0OP\r\nPWD\r\n", 12, "BAD|L:PWD|"},
    {"NOOP\rQUIT\r\nPWD\r\n", 0, "BAD|L:PWD|"},
    {"CWD a b \r\n", 0, "L:CWD a b |"},
    {"\xff\xf4\xff\xf2"
     "ABOR\r\n",
     0, "L:ABOR|"},
    {"STOR a\xff\xff"
     "b\r\n",
     0,
     "L:STOR a\xff"
     "b|"},
    {"\xff\xfb\x01NOOP\r\n", 0, "L:NOOP|"},
    {"X\r\r\n", 0, "BAD|"},
};

START_TEST(test_cases)
{
    const struct lr_case *c = &cases[_i];
    size_t len = c->len ? c->len : strlen(c->in);
    static const size_t chunks[] = {1, 2, 3, 7, 4096};
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        char res[512];
        run(c->in, len, chunks[k], res, sizeof res);
        ck_assert_msg(strcmp(res, c->want) == 0, "case %d chunk %zu: got '%s' want '%s'", _i,
                      chunks[k], res, c->want);
    }
}
END_TEST

static char *line_of(size_t total_with_crlf, const char *tail)
{
    size_t tl = strlen(tail);
    char *p = malloc(total_with_crlf + tl + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, "NOOP ", 5);
    memset(p + 5, 'A', total_with_crlf - 7);
    memcpy(p + total_with_crlf - 2, "\r\n", 2);
    memcpy(p + total_with_crlf, tail, tl + 1);
    return p;
}

START_TEST(test_4096_fits)
{
    char *p = line_of(4096, "PWD\r\n");
    char res[8192];
    run(p, strlen(p), 1000, res, sizeof res);
    ck_assert_int_eq(strncmp(res, "L:NOOP AAA", 10), 0);
    ck_assert_msg(strstr(res, "|L:PWD|") != NULL, "%s", res);
    free(p);
}
END_TEST

START_TEST(test_4097_too_long_tail_discarded)
{
    /* The tail of an over-long line must never run as a command. */
    char *p = line_of(4097, "PWD\r\n");
    memcpy(p + 4097 - 8, "QUIT", 4);
    char res[256];
    static const size_t chunks[] = {1, 100, 4096, 8192};
    for (size_t k = 0; k < 4; k++) {
        run(p, strlen(p), chunks[k], res, sizeof res);
        ck_assert_msg(strcmp(res, "TOOLONG|L:PWD|") == 0, "chunk %zu: %s", chunks[k], res);
    }
    free(p);
}
END_TEST

START_TEST(test_very_long_line_one_error)
{
    size_t n = 20000;
    char *p = malloc(n + 8);
    ck_assert_ptr_nonnull(p);
    memset(p, 'B', n);
    memcpy(p + n, "\r\nPWD\r\n", 8);
    char res[256];
    run(p, strlen(p), 333, res, sizeof res);
    ck_assert_str_eq(res, "TOOLONG|L:PWD|");
    free(p);
}
END_TEST

START_TEST(test_clear_drops_pipelined)
{
    struct linereader lr;
    lr_init(&lr);
    const char *in = "USER evil\r\nPASS x\r\n";
    lr_feed(&lr, in, strlen(in));
    lr_clear(&lr);
    ck_assert_int_eq(lr_next(&lr, out, sizeof out), LR_NEED_MORE);
}
END_TEST

START_TEST(test_reply_escaping)
{
    char storage[64];
    struct obuf b;
    buf_init(&b, storage, sizeof storage);
    ck_assert(buf_put_reply_text(&b, "a\r\n227 x\xff", 9));
    ck_assert_int_eq(b.len, 10);
    ck_assert_int_eq(memcmp(storage, "a??227 x\xff\xff", 10), 0);
    char small[4];
    buf_init(&b, small, sizeof small);
    ck_assert(!buf_puts(&b, "abcd"));
    ck_assert(b.overflow);
    ck_assert_int_eq(b.len, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("linereader");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_cases, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_4096_fits);
    tcase_add_test(tc, test_4097_too_long_tail_discarded);
    tcase_add_test(tc, test_very_long_line_one_error);
    tcase_add_test(tc, test_clear_drops_pipelined);
    tcase_add_test(tc, test_reply_escaping);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
