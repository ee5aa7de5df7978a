/* Path confinement (SPEC §4.2): lexical normalisation and resolution
 * beneath the root fd, symlinks included. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs.h"
#include "path.h"

struct norm_case {
    const char *cwd, *arg, *want; /* want NULL: error */
    int err;
};

static const struct norm_case norm[] = {
    {"/", "a", "/a", 0},
    {"/", "/a/b", "/a/b", 0},
    {"/x", "a", "/x/a", 0},
    {"/x", "..", "/", 0},
    {"/", "..", "/", 0},
    {"/", "../../..", "/", 0},
    {"/x/y", "../../../../etc/passwd", "/etc/passwd", 0},
    {"/", "//a///b//", "/a/b", 0},
    {"/", "./a/./b/.", "/a/b", 0},
    {"/a", "b/../../..", "/", 0},
    {"/", "...", "/...", 0},
    {"/", "..a", "/..a", 0},
    {"/", "", "/", 0},
    {"/", "a\rb", NULL, EINVAL},
    {"/", "a\nb", NULL, EINVAL},
};

START_TEST(test_normalize)
{
    const struct norm_case *c = &norm[_i];
    char out[DEFS_PATH_MAX];
    int e = path_normalize(c->cwd, c->arg, out, sizeof out);
    if (c->want) {
        ck_assert_msg(e == 0, "case %d: error %d", _i, e);
        ck_assert_str_eq(out, c->want);
    } else {
        ck_assert_int_eq(e, c->err);
    }
}
END_TEST

START_TEST(test_too_long)
{
    char out[DEFS_PATH_MAX];
    char arg[DEFS_PATH_MAX + 10];
    memset(arg, 'a', sizeof arg - 1);
    arg[sizeof arg - 1] = '\0';
    ck_assert_int_eq(path_normalize("/", arg, out, sizeof out), ENAMETOOLONG);
    /* one component over NAME_MAX */
    memset(arg, 'b', 256);
    arg[256] = '\0';
    ck_assert_int_eq(path_normalize("/", arg, out, sizeof out), ENAMETOOLONG);
    arg[255] = '\0';
    ck_assert_int_eq(path_normalize("/", arg, out, sizeof out), 0);
    /* cwd + argument over PATH_MAX */
    char cwd[DEFS_PATH_MAX];
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        cwd[o++] = '/';
        memset(cwd + o, 'c', 250);
        o += 250;
    }
    cwd[o] = '\0';
    ck_assert_int_eq(path_normalize(cwd, "d", out, sizeof out), 0);
    char longer[101];
    memset(longer, 'd', 100);
    longer[100] = '\0';
    ck_assert_int_eq(path_normalize(cwd, longer, out, sizeof out), ENAMETOOLONG);
    /* small output buffer */
    char tiny[4];
    ck_assert_int_eq(path_normalize("/", "abcd", tiny, sizeof tiny), ENAMETOOLONG);
}
END_TEST

static char tmpl[64];

static int make_tree(void)
{
    snprintf(tmpl, sizeof tmpl, "/tmp/ftpsd-path-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    char p[256];
    snprintf(p, sizeof p, "%s/root", tmpl);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/root/dir", tmpl);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/secret", tmpl);
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(p, sizeof p, "%s/root/dir/file", tmpl);
    fd = open(p, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char target[256];
    snprintf(p, sizeof p, "%s/root/out", tmpl);
    snprintf(target, sizeof target, "%s/secret", tmpl);
    ck_assert_int_eq(symlink(target, p), 0); /* absolute, outside */
    snprintf(p, sizeof p, "%s/root/dir/up", tmpl);
    ck_assert_int_eq(symlink("../../secret", p), 0); /* relative, outside */
    snprintf(p, sizeof p, "%s/root/in", tmpl);
    ck_assert_int_eq(symlink("dir/file", p), 0); /* inside */
    snprintf(p, sizeof p, "%s/root", tmpl);
    int root = open(p, O_PATH | O_DIRECTORY);
    ck_assert_int_ge(root, 0);
    return root;
}

static void rm_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_open_beneath)
{
    int root = make_tree();
    int fd = path_open(root, "/dir/file", O_RDONLY, 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
    fd = path_open(root, "/", O_PATH | O_DIRECTORY, 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
    /* SECURITY: symlinks that leave the root are refused. */
    errno = 0;
    ck_assert_int_lt(path_open(root, "/out", O_RDONLY, 0), 0);
    ck_assert_msg(errno == EXDEV || errno == ELOOP, "errno %d", errno);
    ck_assert_int_lt(path_open(root, "/dir/up", O_RDONLY, 0), 0);
    ck_assert_int_lt(path_open(root, "/out", O_WRONLY | O_CREAT, 0600), 0);
    ck_assert_int_lt(path_open(root, "/dir/../../secret", O_RDONLY, 0), 0);
    /* a symlink that stays inside works where openat2 exists */
    fd = path_open(root, "/in", O_RDONLY, 0);
    if (fd >= 0) {
        close(fd);
    } else {
        ck_assert_int_eq(errno, ELOOP); /* the O_NOFOLLOW fallback */
    }
    char leaf[256];
    int dfd = path_open_parent(root, "/dir/file", leaf, sizeof leaf);
    ck_assert_int_ge(dfd, 0);
    ck_assert_str_eq(leaf, "file");
    close(dfd);
    ck_assert_int_lt(path_open_parent(root, "/", leaf, sizeof leaf), 0);
    ck_assert(path_is_internal(".ftpsd-abc123"));
    ck_assert(!path_is_internal("ftpsd-abc"));
    close(root);
    rm_tree();
}
END_TEST

/* The walk is what runs where openat2 is missing. Each open below was
 * answered with the link itself (O_PATH) or ENOTDIR (O_DIRECTORY) before
 * the walk checked for it: MDTM and MLST described links leading out. */
static void walk_refused(int root, const char *vpath, int flags)
{
    errno = 0;
    int fd = path_open_walk(root, vpath, flags, 0);
    if (fd >= 0) {
        close(fd);
    }
    ck_assert_msg(fd < 0 && errno == ELOOP, "%s flags %#x: fd %d errno %d", vpath, flags, fd,
                  errno);
}

START_TEST(test_open_walk_refuses_every_symlink)
{
    int root = make_tree();
    static const int flags[] = {O_RDONLY, O_PATH, O_PATH | O_DIRECTORY, O_RDONLY | O_DIRECTORY};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        walk_refused(root, "/out", flags[i]);
        walk_refused(root, "/dir/up", flags[i]);
        walk_refused(root, "/in", flags[i]);
    }
    char p[256];
    snprintf(p, sizeof p, "%s/root/dlink", tmpl);
    ck_assert_int_eq(symlink("dir", p), 0); /* a directory link, inside */
    walk_refused(root, "/dlink", O_PATH | O_DIRECTORY);
    walk_refused(root, "/dlink/file", O_RDONLY);
    walk_refused(root, "/dlink/file", O_PATH);
    /* What is not a link still opens, with the same flags. */
    int fd = path_open_walk(root, "/dir/file", O_PATH, 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
    fd = path_open_walk(root, "/dir", O_PATH | O_DIRECTORY, 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
    fd = path_open_walk(root, "/", O_PATH | O_DIRECTORY, 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
    errno = 0;
    ck_assert_int_lt(path_open_walk(root, "/dir/file/x", O_PATH, 0), 0);
    ck_assert_int_eq(errno, ENOTDIR);
    close(root);
    rm_tree();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_normalize, 0, (int)(sizeof norm / sizeof norm[0]));
    tcase_add_test(tc, test_too_long);
    tcase_add_test(tc, test_open_beneath);
    tcase_add_test(tc, test_open_walk_refuses_every_symlink);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
