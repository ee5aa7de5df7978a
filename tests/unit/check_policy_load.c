/* Unit tests for pol_load (policy.c): the checks on the policy file before
 * a byte of it is parsed (mode, owner, kind, size) and that errors inside a
 * loaded file name the path it was given by. Table-driven where the cases
 * are alike (STYLE.md habit 15). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_test.h"

/* ---------------------------------------------------------------- pol_load */

static char tmpdir[64];

/* The files the load tests make, all in tmpdir. */
static const char *const tmp_names[] = {"policy", "link", "fifo", "big", "max"};

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ftpsd-check-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* tmpdir/NAME into buf (PATH_BUF bytes). */
#define PATH_BUF 128
static char *tmp_path(char *buf, const char *name)
{
    snprintf(buf, PATH_BUF, "%s/%s", tmpdir, name);
    return buf;
}

static void remove_tmpdir(void)
{
    char path[PATH_BUF];

    for (int i = 0; i < N(tmp_names); i++) {
        unlink(tmp_path(path, tmp_names[i]));
    }
    ck_assert_int_eq(rmdir(tmpdir), 0);
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    /* chmod, not open's mode: the umask must not soften the test. */
    ck_assert_int_eq(chmod(path, mode), 0);
}

struct load_case {
    mode_t mode;
    int nerr;
    const char *msg;
};

static const struct load_case load_cases[] = {
    {0600, 0, NULL},
    {0644, 0, NULL},
    {0400, 0, NULL},
    {0666, 1, "writable by group or other"},
    {0620, 1, "writable by group or other"},
    {0602, 1, "writable by group or other"},
    {0660, 1, "chmod go-w"},
};

START_TEST(test_load_mode)
{
    const struct load_case *c = &load_cases[_i];
    char path[PATH_BUF];
    struct policy pol;
    struct errs e = {0};

    make_tmpdir();
    tmp_path(path, "policy");
    write_file(path, BASE "idle 42\n", strlen(BASE "idle 42\n"), c->mode);
    ck_assert_int_eq(pol_load(&pol, path, collect, &e), c->nerr);
    ck_assert_int_eq(e.n, c->nerr);
    ck_assert_str_eq(pol.path, path);
    if (c->nerr == 0) {
        ck_assert_uint_eq(pol.idle, 42);
    } else {
        ck_assert_int_eq(e.line[0], 0);
        ck_assert_str_eq(e.file, path);
        ck_assert_msg(strstr(e.msg[0], c->msg) != NULL, "%s", e.msg[0]);
        ck_assert_uint_eq(pol.idle, 300);
    }
    pol_free(&pol);
    remove_tmpdir();
}
END_TEST

START_TEST(test_load_kinds)
{
    char path[PATH_BUF], link[PATH_BUF], fifo[PATH_BUF];
    struct policy pol;
    struct errs e = {0};

    make_tmpdir();
    tmp_path(path, "policy");
    tmp_path(link, "link");
    tmp_path(fifo, "fifo");
    write_file(path, BASE, strlen(BASE), 0600);

    ck_assert_int_eq(symlink(path, link), 0);
    ck_assert_int_eq(pol_load(&pol, link, collect, &e), 1);
    ck_assert_ptr_nonnull(strstr(e.msg[0], "symbolic link"));
    pol_free(&pol);

    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(pol_load(&pol, tmpdir, collect, &e), 1);
    ck_assert_ptr_nonnull(strstr(e.msg[0], "not a regular file"));
    pol_free(&pol);

    /* A FIFO must be refused, not block the reader. */
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(pol_load(&pol, fifo, collect, &e), 1);
    ck_assert_ptr_nonnull(strstr(e.msg[0], "not a regular file"));
    pol_free(&pol);

    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(pol_load(&pol, "/nonexistent/ftpsd/policy", collect, &e), 1);
    ck_assert_ptr_nonnull(strstr(e.msg[0], "cannot open"));
    pol_free(&pol);

    /* Errors inside a loaded file name the path given. */
    write_file(path, BASE "idle x\n", strlen(BASE "idle x\n"), 0600);
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(pol_load(&pol, path, collect, &e), 1);
    ck_assert_int_eq(e.line[0], 3);
    ck_assert_str_eq(e.file, path);
    pol_free(&pol);
    remove_tmpdir();
}
END_TEST

START_TEST(test_load_size_owner)
{
    char path[PATH_BUF], big[PATH_BUF], max[PATH_BUF];
    size_t len = DEFS_POLICY_MAX;
    char *text = malloc(len + 1);
    struct policy pol;
    struct errs e = {0};

    make_tmpdir();
    tmp_path(path, "policy");
    tmp_path(big, "big");
    tmp_path(max, "max");

    /* Exactly the cap is fine; one byte more is refused. */
    ck_assert_ptr_nonnull(text);
    memset(text, '#', len + 1);
    memcpy(text, BASE, strlen(BASE));
    write_file(max, text, len, 0600);
    ck_assert_int_eq(pol_load(&pol, max, collect, &e), 0);
    pol_free(&pol);
    write_file(big, text, len + 1, 0600);
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(pol_load(&pol, big, collect, &e), 1);
    ck_assert_int_eq(e.line[0], 0);
    /* refused by fstat, before a byte is read */
    ck_assert_msg(strstr(e.msg[0], "file is 262145 bytes, more than the limit") != NULL, "%s",
                  e.msg[0]);
    pol_free(&pol);

    /* Owned by another account, that account could rewrite it. Only root
     * can hand a file away, so the check needs a root test run. */
    if (geteuid() == 0) {
        write_file(path, BASE, strlen(BASE), 0600);
        ck_assert_int_eq(chown(path, 65534, (gid_t)-1), 0);
        memset(&e, 0, sizeof(e));
        ck_assert_int_eq(pol_load(&pol, path, collect, &e), 1);
        ck_assert_msg(strstr(e.msg[0], "owned by uid 65534") != NULL, "%s", e.msg[0]);
        pol_free(&pol);
    }
    free(text);
    remove_tmpdir();
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
    const struct test_entry tests[] = {
        {"load", test_load_mode, N(load_cases)},
        {"load", test_load_kinds, 1},
        {"load", test_load_size_owner, 1},
    };

    return run_tests("policy_load", tests, N(tests));
}
