/* Listings (list.c): ls -l lines, RFC 3659 facts and perm letters, option
 * parsing, and the streaming of a real directory (temporaries hidden, dot
 * files by option, cdir/pdir, stopping on request). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "list.h"
#include "policy.h"

static struct stat mkstat(mode_t mode, off_t size, time_t mtime)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = mode;
    st.st_size = size;
    st.st_mtime = mtime;
    st.st_nlink = 1;
    st.st_dev = 0x801;
    st.st_ino = 0x1a2b;
    return st;
}

struct mode_case {
    mode_t mode;
    const char *want;
};

static const struct mode_case mode_cases[] = {
    {S_IFREG | 0644, "-rw-r--r--"},  {S_IFDIR | 0755, "drwxr-xr-x"},
    {S_IFLNK | 0777, "lrwxrwxrwx"},  {S_IFREG | 04755, "-rwsr-xr-x"},
    {S_IFREG | 04644, "-rwSr--r--"}, {S_IFREG | 02755, "-rwxr-sr-x"},
    {S_IFDIR | 01777, "drwxrwxrwt"}, {S_IFDIR | 01776, "drwxrwxrwT"},
    {S_IFIFO | 0600, "prw-------"},  {S_IFSOCK | 0600, "srw-------"},
    {S_IFREG | 0, "----------"},
};

START_TEST(test_mode)
{
    char out[11];
    list_mode_string(mode_cases[_i].mode, out);
    ck_assert_str_eq(out, mode_cases[_i].want);
}
END_TEST

/* 2026-11-26 23:22:19 UTC */
#define NOW ((time_t)1795735339)

START_TEST(test_long_recent_and_old)
{
    char line[512];
    struct stat st = mkstat(S_IFREG | 0644, 1234, NOW - 3600);
    size_t n = list_format_long(line, sizeof line, &st, "a.txt", NULL, NOW);
    ck_assert_uint_eq(n, strlen(line));
    ck_assert_str_eq(line, "-rw-r--r--   1 ftp      ftp              1234 Nov 26 22:22 a.txt");
    /* Older than six months: the year instead of the time. */
    st = mkstat(S_IFDIR | 0755, 4096, (time_t)1704067200); /* 2024-01-01 */
    n = list_format_long(line, sizeof line, &st, "old", NULL, NOW);
    ck_assert_str_eq(line, "drwxr-xr-x   1 ftp      ftp              4096 Jan  1  2024 old");
    /* In the future (clock skew): the year too. */
    st = mkstat(S_IFREG | 0600, 0, NOW + 86400 * 3);
    n = list_format_long(line, sizeof line, &st, "f", NULL, NOW);
    ck_assert_str_eq(line, "-rw-------   1 ftp      ftp                 0 Nov 29  2026 f");
}
END_TEST

START_TEST(test_long_big_link_and_newline)
{
    char line[512];
    struct stat st = mkstat(S_IFREG | 0644, (off_t)5000000000LL, NOW);
    list_format_long(line, sizeof line, &st, "big", NULL, NOW);
    ck_assert_ptr_nonnull(strstr(line, " 5000000000 "));
    st = mkstat(S_IFLNK | 0777, 11, NOW);
    list_format_long(line, sizeof line, &st, "l", "/etc/passwd", NOW);
    ck_assert_ptr_nonnull(strstr(line, " l -> /etc/passwd"));
    ck_assert(line[0] == 'l');
    /* A name with CR/LF cannot make a second line. */
    st = mkstat(S_IFREG | 0644, 1, NOW);
    list_format_long(line, sizeof line, &st, "x\r\n-rw-r--r-- fake", NULL, NOW);
    ck_assert_ptr_null(strchr(line, '\n'));
    ck_assert_ptr_null(strchr(line, '\r'));
    ck_assert_ptr_nonnull(strstr(line, "x?"
                                       "?-rw-r--r-- fake"));
    /* Does not fit: 0, never a cut line. */
    ck_assert_uint_eq(list_format_long(line, 20, &st, "name", NULL, NOW), 0);
}
END_TEST

struct perm_case {
    mode_t mode;
    uint32_t access;
    const char *want;
};

#define ALL                                                                                        \
    (POL_ACC_READ | POL_ACC_WRITE | POL_ACC_APPEND | POL_ACC_DELETE | POL_ACC_MKDIR |              \
     POL_ACC_RENAME)

static const struct perm_case perm_cases[] = {
    {S_IFREG, ALL, "adfrw"},
    {S_IFREG, POL_ACC_READ, "r"},
    {S_IFREG, POL_ACC_READ | POL_ACC_WRITE, "r"}, /* overwrite needs w and d */
    {S_IFREG, POL_ACC_WRITE | POL_ACC_DELETE, "dw"},
    {S_IFREG, 0, ""},
    {S_IFDIR, ALL, "cdeflmp"},
    {S_IFDIR, POL_ACC_READ, "el"},
    {S_IFDIR, 0, "e"},
    {S_IFDIR, POL_ACC_WRITE, "ce"},
};

START_TEST(test_perm)
{
    char out[16];
    list_perm_fact(perm_cases[_i].mode, perm_cases[_i].access, out, sizeof out);
    ck_assert_str_eq(out, perm_cases[_i].want);
}
END_TEST

START_TEST(test_facts)
{
    char line[512];
    struct stat st = mkstat(S_IFREG | 0640, 42, NOW);
    size_t n = list_format_facts(line, sizeof line, &st, NULL, POL_ACC_READ, "a b.txt");
    ck_assert_uint_eq(n, strlen(line));
    ck_assert_str_eq(line, "type=file;size=42;modify=20261126232219;perm=r;unique=801g1a2b;"
                           "UNIX.mode=0640; a b.txt");
    st = mkstat(S_IFDIR | 0755, 4096, NOW);
    list_format_facts(line, sizeof line, &st, "cdir", POL_ACC_READ, ".");
    ck_assert_str_eq(line, "type=cdir;modify=20261126232219;perm=el;unique=801g1a2b;"
                           "UNIX.mode=0755; .");
    list_format_facts(line, sizeof line, &st, NULL, 0, "d");
    ck_assert(strncmp(line, "type=dir;", 9) == 0);
    st = mkstat(S_IFLNK | 0777, 3, NOW);
    list_format_facts(line, sizeof line, &st, NULL, 0, "l");
    ck_assert(strncmp(line, "type=OS.unix=symlink;", 21) == 0);
    /* UTF-8 names pass through untouched. */
    st = mkstat(S_IFREG | 0644, 1, NOW);
    list_format_facts(line, sizeof line, &st, NULL, 0, "\xc3\xa9t\xc3\xa9");
    ck_assert_ptr_nonnull(strstr(line, "; \xc3\xa9t\xc3\xa9"));
}
END_TEST

START_TEST(test_time)
{
    char out[15];
    ck_assert(list_format_time(out, NOW));
    ck_assert_str_eq(out, "20261126232219");
    ck_assert(list_format_time(out, 0));
    ck_assert_str_eq(out, "19700101000000");
}
END_TEST

/* list_parse_time: RFC 3659 time-vals as MFMT sends them. Expected
 * seconds computed independently (date -u -d ... +%s). */
struct ptime_case {
    const char *in;
    bool ok;
    long long sec;
    long nsec;
};

static const struct ptime_case ptime_cases[] = {
    {"19700101000000", true, 0, 0},
    {"20261126232219", true, NOW, 0},
    {"20000229120000", true, 951825600, 0},  /* leap: divisible by 400 */
    {"20240229000000", true, 1709164800, 0}, /* leap: by 4 */
    {"20200102030405.5", true, 1577934245, 500000000},
    {"20200102030405.123456789", true, 1577934245, 123456789},
    {"20200102030405.000", true, 1577934245, 0},
    {"19691231235959", true, -1, 0},
    {"10000101000000", true, -30610224000LL, 0}, /* the earliest accepted */
    {"99991231235959", true, 253402300799LL, 0}, /* the latest */
    {"21000101000000", true, 4102444800LL, 0},   /* needs a 64-bit time_t */
    {"19000229000000", false, 0, 0},             /* 1900 is not a leap year */
    {"20230229000000", false, 0, 0},
    {"20200431000000", false, 0, 0},
    {"20201301000000", false, 0, 0},
    {"20200001000000", false, 0, 0},
    {"20200100000000", false, 0, 0},
    {"20200101240000", false, 0, 0},
    {"20200101006000", false, 0, 0},
    {"20200101000060", false, 0, 0}, /* no leap second */
    {"09991231235959", false, 0, 0},
    {"2020010100000", false, 0, 0},   /* 13 digits */
    {"202001010000000", false, 0, 0}, /* 15 digits */
    {"20200101000000.", false, 0, 0},
    {"20200101000000.1234567890", false, 0, 0},
    {"20200101000000.12a", false, 0, 0},
    {"20200101000000 ", false, 0, 0},
    {"2020010100000a", false, 0, 0},
    {"+2020010100000", false, 0, 0},
    {" 20200101000000", false, 0, 0},
    {"", false, 0, 0},
};

START_TEST(test_parse_time)
{
    const struct ptime_case *k = &ptime_cases[_i];
    struct timespec ts = {.tv_sec = 7, .tv_nsec = 7};
    bool ok = list_parse_time(k->in, &ts);
    bool fits = k->sec == (long long)(time_t)k->sec;
    ck_assert_msg(ok == (k->ok && fits), "'%s': %s", k->in, ok ? "accepted" : "refused");
    if (ok) {
        ck_assert_msg((long long)ts.tv_sec == k->sec && ts.tv_nsec == k->nsec,
                      "'%s': %lld.%09ld, want %lld.%09ld", k->in, (long long)ts.tv_sec, ts.tv_nsec,
                      k->sec, k->nsec);
        /* And back: the 14 digits list_format_time gives for it. */
        char out[15];
        if (ts.tv_sec >= 0) {
            ck_assert(list_format_time(out, ts.tv_sec));
            ck_assert(strncmp(out, k->in, 14) == 0);
        }
    }
}
END_TEST

struct opt_case {
    const char *arg, *rest;
    bool all;
};

static const struct opt_case opt_cases[] = {
    {"", "", false},
    {"-l", "", false},
    {"-la", "", true},
    {"-a", "", true},
    {"-al dir", "dir", true},
    {"-l -a  dir x", "dir x", true},
    {"dir", "dir", false},
    {"-", "-", false},
    {"-x.txt", "-x.txt", false},
    {"-l -rf.bin", "-rf.bin", false},
};

START_TEST(test_options)
{
    bool all;
    const char *rest = list_parse_options(opt_cases[_i].arg, &all);
    ck_assert_str_eq(rest, opt_cases[_i].rest);
    ck_assert_int_eq(all, opt_cases[_i].all);
}
END_TEST

/* ---- streaming a real directory ---- */

struct collect {
    char text[8192];
    size_t len;
    int lines;
    int stop_after; /* 0: never */
};

static bool collect(void *ctx, const char *line, size_t n)
{
    struct collect *c = ctx;
    ck_assert_uint_eq(n, strlen(line));
    ck_assert_uint_lt(c->len + n + 2, sizeof c->text);
    memcpy(c->text + c->len, line, n);
    c->len += n;
    c->text[c->len++] = '\n';
    c->text[c->len] = '\0';
    c->lines++;
    return c->stop_after == 0 || c->lines < c->stop_after;
}

static char tmpdir[64];

static void touch(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "abc", 3), 3);
    close(fd);
}

static void setup_dir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/check_list.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    touch("visible");
    touch(".hidden");
    touch(".ftpsd-AbC123");
    char p[256];
    snprintf(p, sizeof p, "%s/sub", tmpdir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/link", tmpdir);
    ck_assert_int_eq(symlink("/etc/passwd", p), 0);
}

static void teardown_dir(void)
{
    const char *names[] = {"visible", ".hidden", ".ftpsd-AbC123", "sub", "link"};
    char p[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        if (unlink(p) != 0) {
            rmdir(p);
        }
    }
    rmdir(tmpdir);
}

static int run_list(enum list_kind kind, bool all, bool at_root, struct collect *c)
{
    int fd = open(tmpdir, O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(fd, 0);
    struct list_opts o = {
        .kind = kind, .all = all, .at_root = at_root, .access = POL_ACC_READ, .now = time(NULL)};
    return list_dir(fd, &o, collect, c);
}

START_TEST(test_dir_names)
{
    static struct collect c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(run_list(LIST_NAMES, false, false, &c), 0);
    ck_assert_int_eq(c.lines, 3); /* visible sub link */
    ck_assert_ptr_nonnull(strstr(c.text, "visible\n"));
    ck_assert_ptr_null(strstr(c.text, ".hidden"));
    ck_assert_ptr_null(strstr(c.text, ".ftpsd-"));
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(run_list(LIST_NAMES, true, false, &c), 0);
    ck_assert_int_eq(c.lines, 4); /* + .hidden, never . .. or the temporary */
    ck_assert_ptr_nonnull(strstr(c.text, ".hidden\n"));
    ck_assert_ptr_null(strstr(c.text, ".ftpsd-"));
}
END_TEST

START_TEST(test_dir_long)
{
    static struct collect c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(run_list(LIST_LONG, false, false, &c), 0);
    ck_assert_int_eq(c.lines, 3);
    /* The symlink is shown as a link, not followed. */
    ck_assert_ptr_nonnull(strstr(c.text, " link -> /etc/passwd\n"));
    ck_assert(c.text[0] == 'l' || strstr(c.text, "\nlrwx") != NULL);
    ck_assert_ptr_null(strstr(c.text, ".ftpsd-"));
}
END_TEST

START_TEST(test_dir_facts)
{
    static struct collect c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(run_list(LIST_FACTS, false, false, &c), 0);
    /* . (cdir) .. (pdir) visible .hidden sub link; never the temporary */
    ck_assert_int_eq(c.lines, 6);
    ck_assert_ptr_nonnull(strstr(c.text, "type=cdir;"));
    ck_assert_ptr_nonnull(strstr(c.text, "type=pdir;"));
    ck_assert_ptr_nonnull(strstr(c.text, "; .hidden\n"));
    ck_assert_ptr_nonnull(strstr(c.text, "type=OS.unix=symlink;"));
    ck_assert_ptr_null(strstr(c.text, ".ftpsd-"));
    /* At the user's root there is no parent to show. */
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(run_list(LIST_FACTS, false, true, &c), 0);
    ck_assert_int_eq(c.lines, 5);
    ck_assert_ptr_null(strstr(c.text, "type=pdir;"));
}
END_TEST

START_TEST(test_dir_stop)
{
    static struct collect c;
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    ck_assert_int_eq(run_list(LIST_NAMES, true, false, &c), ECANCELED);
    ck_assert_int_eq(c.lines, 2);
}
END_TEST

START_TEST(test_list_one)
{
    static struct collect c;
    memset(&c, 0, sizeof c);
    struct stat st = mkstat(S_IFREG | 0644, 7, NOW);
    struct list_opts o = {.kind = LIST_LONG, .now = NOW};
    ck_assert(list_one(&st, "sub/f", NULL, &o, collect, &c));
    ck_assert_int_eq(c.lines, 1);
    ck_assert_ptr_nonnull(strstr(c.text, " sub/f\n"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("list");
    TCase *tc = tcase_create("format");
    tcase_add_loop_test(tc, test_mode, 0, (int)(sizeof mode_cases / sizeof mode_cases[0]));
    tcase_add_test(tc, test_long_recent_and_old);
    tcase_add_test(tc, test_long_big_link_and_newline);
    tcase_add_loop_test(tc, test_perm, 0, (int)(sizeof perm_cases / sizeof perm_cases[0]));
    tcase_add_test(tc, test_facts);
    tcase_add_test(tc, test_time);
    tcase_add_loop_test(tc, test_parse_time, 0, (int)(sizeof ptime_cases / sizeof ptime_cases[0]));
    tcase_add_loop_test(tc, test_options, 0, (int)(sizeof opt_cases / sizeof opt_cases[0]));
    tcase_add_test(tc, test_list_one);
    suite_add_tcase(s, tc);
    tc = tcase_create("dir");
    tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
    tcase_add_test(tc, test_dir_names);
    tcase_add_test(tc, test_dir_long);
    tcase_add_test(tc, test_dir_facts);
    tcase_add_test(tc, test_dir_stop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
