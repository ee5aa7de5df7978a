/* Unit tests for users and groups (policy_acct.c) and the `-t` report
 * (policy_print.c): lookups with the anonymous aliases, each user's
 * effective rules after group and global defaults, and the report of SPEC
 * §5 with its user lines. Table-driven (STYLE.md habit 15). */
#include <arpa/inet.h>

#include "policy_test.h"

/* ------------------------------------------------- users, groups, effective */

static const char users_text[] = BASE "group staff access=rwadmn tls=on root=/staff\n"
                                      "group pub root=/pub\n"
                                      "user carol password=" H " root=/carol group=staff\n"
                                      "user dave password=" H " group=staff access=r\n"
                                      "user erin password=" H "\n"
                                      "user anonymous root=/pub tls=off\n"
                                      "user frank password=" H " group=pub access=rw\n"
                                      "user gina password=" H " root=\"/my files\" access=wr\n";

struct eff_case {
    const char *lookup;
    const char *name; /* as stored */
    const char *root;
    uint32_t access;
    enum pol_tls tls;
    bool anonymous;
    int group; /* index, -1 none */
};

static const struct eff_case eff_cases[] = {
    {"carol", "carol", "/carol", ALL, POL_TLS_ON, false, 0},
    {"dave", "dave", "/staff", POL_ACC_READ, POL_TLS_ON, false, 0},
    {"erin", "erin", "/", POL_ACC_DEFAULT, POL_TLS_AUTH_DATA, false, -1},
    {"anonymous", "anonymous", "/pub", POL_ACC_READ, POL_TLS_OFF, true, -1},
    {"ftp", "anonymous", "/pub", POL_ACC_READ, POL_TLS_OFF, true, -1},
    {"FTP", "anonymous", "/pub", POL_ACC_READ, POL_TLS_OFF, true, -1},
    {"Anonymous", "anonymous", "/pub", POL_ACC_READ, POL_TLS_OFF, true, -1},
    {"frank", "frank", "/pub", RW, POL_TLS_AUTH_DATA, false, 1},
    {"gina", "gina", "/my files", RW, POL_TLS_AUTH_DATA, false, -1},
};

START_TEST(test_effective)
{
    const struct eff_case *c = &eff_cases[_i];
    struct policy pol;
    struct errs e;
    const struct pol_user *u;
    struct pol_effective eff;

    ck_assert_int_eq(parse(&pol, users_text, &e), 0);
    u = pol_find_user(&pol, c->lookup);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->name, c->name);
    ck_assert_int_eq(u->anonymous, c->anonymous);
    ck_assert_int_eq(u->has_password, !c->anonymous);
    ck_assert_int_eq(u->group, c->group);
    pol_effective(&pol, u, &eff);
    ck_assert_str_eq(eff.root, c->root);
    ck_assert_uint_eq(eff.access, c->access);
    ck_assert_int_eq(eff.tls, c->tls);
    pol_free(&pol);
}
END_TEST

/* home= and rate= through groups: a user's own key wins, key by key, over
 * its group's, which wins over the defaults (/ and no limit). */
static const char inherit_text[] = BASE "group up home=/incoming rate=1M/256K\n"
                                        "group slow rate=64K/16K\n"
                                        "group bare access=r\n"
                                        "user u1 password=" H " group=up\n"
                                        "user u2 password=" H " group=up home=docs\n"
                                        "user u3 password=" H " group=up rate=0/0\n"
                                        "user u4 password=" H " group=up home=/ rate=2048/1K\n"
                                        "user u5 password=" H " group=slow home=a/./b//c/..\n"
                                        "user u6 password=" H " group=bare\n"
                                        "user u7 password=" H "\n"
                                        "user u8 password=" H " root=/r group=up\n"
                                        "user u9 password=" H " home=\"/my files\" rate=1000/1\n";

struct inherit_case {
    const char *name;
    const char *home;
    uint64_t down, up;
    const char *shown; /* in the -t line */
};

static const struct inherit_case inherit_cases[] = {
    {"u1", "/incoming", 1048576, 262144, " home=/incoming rate=1M/256K group=up"},
    {"u2", "/docs", 1048576, 262144, " home=/docs rate=1M/256K group=up"},
    {"u3", "/incoming", 0, 0, " home=/incoming rate=0/0 group=up"},
    {"u4", "/", 2048, 1024, " home=/ rate=2K/1K group=up"},
    {"u5", "/a/b", 65536, 16384, " home=/a/b rate=64K/16K group=slow"},
    {"u6", "/", 0, 0, " home=/ rate=0/0 group=bare"},
    {"u7", "/", 0, 0, " home=/ rate=0/0\n"},
    {"u8", "/incoming", 1048576, 262144,
     "root=/r access=r tls=auth+data login=password "
     "home=/incoming rate=1M/256K group=up"},
    {"u9", "/my files", 1000, 1, " home=\"/my files\" rate=1000/1\n"},
};

START_TEST(test_inherit_home_rate)
{
    const struct inherit_case *c = &inherit_cases[_i];
    struct policy pol;
    struct errs e;
    struct pol_effective eff;
    char want[256];
    const char *line;
    char *out;

    ck_assert_int_eq(parse(&pol, inherit_text, &e), 0);
    pol_effective(&pol, pol_find_user(&pol, c->name), &eff);
    ck_assert_str_eq(eff.home, c->home);
    ck_assert_uint_eq(eff.rate_down, c->down);
    ck_assert_uint_eq(eff.rate_up, c->up);
    out = print_policy(&pol);
    snprintf(want, sizeof(want), "\nuser %s ", c->name);
    line = strstr(out, want);
    ck_assert_ptr_nonnull(line);
    ck_assert_msg(strstr(line, c->shown) != NULL, "no '%s' for %s in:%s", c->shown, c->name, out);
    free(out);
    pol_free(&pol);
}
END_TEST

/* Bad home= and rate= values, each compared whole with its line. */
#define BAD(key, v, why) "bad " key "= '" v "' (" why ")"
#define HOME_IS "a directory inside root=, absolute or relative to it; '..' may not leave it"
#define RATE_IS                                                                                    \
    "DOWN/UP bytes per second, each 0 for no limit up to 4096M, with an optional K or M suffix, "  \
    "like 512K/128K"
#define BAD_HOME(v) BAD("home", v, HOME_IS)
#define BAD_RATE(v) BAD("rate", v, RATE_IS)
#define BOB "user bob password=" H

static const struct exact_case key_error_cases[] = {
    {BOB " home=..\n", 3, BAD_HOME("..")},
    {BOB " home=../x\n", 3, BAD_HOME("../x")},
    {BOB " home=/a/../../b\n", 3, BAD_HOME("/a/../../b")},
    {BOB " home=a/b/../../..\n", 3, BAD_HOME("a/b/../../..")},
    {"group g home=/x/../..\n", 3, BAD_HOME("/x/../..")},
    {BOB " home=\n", 3, "'home=' needs a value"},
    {BOB " home=/a home=/b\n", 3, "key 'home=' given twice"},
    {BOB " rate=512K\n", 3, BAD_RATE("512K")},
    {BOB " rate=/128K\n", 3, BAD_RATE("/128K")},
    {BOB " rate=512K/\n", 3, BAD_RATE("512K/")},
    {BOB " rate=1/2/3\n", 3, BAD_RATE("1/2/3")},
    {BOB " rate=1k/1\n", 3, BAD_RATE("1k/1")},
    {BOB " rate=1/1m\n", 3, BAD_RATE("1/1m")},
    {BOB " rate=1G/1\n", 3, BAD_RATE("1G/1")},
    {BOB " rate=1KB/1\n", 3, BAD_RATE("1KB/1")},
    {BOB " rate=4097M/0\n", 3, BAD_RATE("4097M/0")},
    {BOB " rate=0/4194305K\n", 3, BAD_RATE("0/4194305K")},
    {BOB " rate=4294967297/0\n", 3, BAD_RATE("4294967297/0")},
    {BOB " rate=99999999999999999999999/0\n", 3, BAD_RATE("99999999999999999999999/0")},
    {BOB " rate=-1/0\n", 3, BAD_RATE("-1/0")},
    {BOB " rate=+1/0\n", 3, BAD_RATE("+1/0")},
    {BOB " rate=1.5M/0\n", 3, BAD_RATE("1.5M/0")},
    {BOB " rate=0x10/0\n", 3, BAD_RATE("0x10/0")},
    {BOB " rate=\" 1/2\"\n", 3, BAD_RATE(" 1/2")},
    {BOB " rate=M/1\n", 3, BAD_RATE("M/1")},
    {"group g rate=1\n", 3, BAD_RATE("1")},
    {BOB " rate=\n", 3, "'rate=' needs a value"},
    {BOB " rate=1/1 rate=2/2\n", 3, "key 'rate=' given twice"},
};

START_TEST(test_key_errors)
{
    check_exact(&key_error_cases[_i], _i);
}
END_TEST

START_TEST(test_find_user_misses)
{
    struct policy pol;
    struct errs e;
    struct pol_effective eff;
    const struct pol_user *u;

    ck_assert_int_eq(parse(&pol, users_text, &e), 0);
    ck_assert_ptr_null(pol_find_user(&pol, "Carol")); /* names are case-sensitive */
    ck_assert_ptr_null(pol_find_user(&pol, "nobody"));
    ck_assert_ptr_null(pol_find_user(&pol, ""));
    ck_assert_ptr_null(pol_find_user(&pol, NULL));
    ck_assert_ptr_null(pol_find_user(&pol, "staff"));
    pol_effective(&pol, NULL, &eff);
    ck_assert_str_eq(eff.root, "/");
    ck_assert_uint_eq(eff.access, POL_ACC_DEFAULT);
    ck_assert_int_eq(eff.tls, POL_TLS_AUTH_DATA);
    /* stored password fields */
    u = pol_find_user(&pol, "erin");
    ck_assert_uint_eq(u->password.iterations, 1000);
    ck_assert_uint_eq(u->password.salt_len, 16);
    ck_assert_uint_eq(u->password.salt[15], 15);
    pol_free(&pol);

    /* no anonymous user defined: the aliases find nothing */
    ck_assert_int_eq(parse(&pol, BASE "user bob password=" H "\n", &e), 0);
    ck_assert_ptr_null(pol_find_user(&pol, "ftp"));
    ck_assert_ptr_null(pol_find_user(&pol, "anonymous"));
    ck_assert_ptr_nonnull(pol_find_user(&pol, "bob"));
    pol_free(&pol);

    /* a cert user */
    ck_assert_int_eq(parse(&pol,
                           BASE "client-cert required\nuser c cert=SHA256:"
                                "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                                "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\n",
                           &e),
                     0);
    u = pol_find_user(&pol, "c");
    ck_assert(u->has_cert);
    ck_assert(!u->has_password);
    ck_assert_uint_eq(u->cert_sha256[0], 0x00);
    ck_assert_uint_eq(u->cert_sha256[10], 0xaa);
    ck_assert_uint_eq(u->cert_sha256[31], 0xff);
    pol_free(&pol);
}
END_TEST

/* ------------------------------------------------------------- pol_print */

START_TEST(test_print)
{
    static const char text[] = "cert /etc/ftpsd/ec.crt\n"
                               "key /etc/ftpsd/ec.key\n"
                               "cert /etc/ftpsd/rsa.crt\n"
                               "key /etc/ftpsd/rsa.key\n"
                               "client-cert optional\n"
                               "tls on\n"
                               "run-as ftp\n"
                               "chroot /srv/ftp\n"
                               "pasv-ports 50000-50100\n"
                               "pasv-address 192.0.2.7\n"
                               "idle 600\n"
                               "umask 027\n"
                               "log stderr\n"
                               "hash SHA-256 md5\n"
                               "hash-limit 65536K\n"
                               "max-per-ip 4\n"
                               "log-level debug\n"
                               "sandbox off\n"
                               "banner \"Welcome to ftpsd\"\n"
                               "group staff access=rwadmn tls=on home=in rate=512K/1M\n"
                               "user alice password=" H " root=/alice access=rwadmn\n"
                               "user carol password=" H " root=/carol group=staff\n"
                               "user dave cert=" FP " root=\"/dave home\"\n"
                               "user erin password=" H " cert=" FP " rate=1000/3072\n"
                               "user anonymous root=/pub access=r tls=off\n";
    static const char want[] =
        "\n"
        "cert /etc/ftpsd/ec.crt\n"
        "cert /etc/ftpsd/rsa.crt\n"
        "key /etc/ftpsd/ec.key\n"
        "key /etc/ftpsd/rsa.key\n"
        "client-ca none\n"
        "client-cert optional\n"
        "tls on\n"
        "tls-min 1.2\n"
        "tls-max 1.3\n"
        "ciphers default\n"
        "implicit off\n"
        "data-reuse required\n"
        "renegotiate off\n"
        "ktls auto\n"
        "keylog none\n"
        "run-as ftp\n"
        "chroot /srv/ftp\n"
        "sandbox off\n"
        "pasv-ports 50000-50100\n"
        "pasv-address 192.0.2.7\n"
        "active off\n"
        "fxp off\n"
        "hash SHA-256 MD5\n"
        "hash-limit 64M\n"
        "idle 600\n"
        "login-grace 30\n"
        "max-tries 3\n"
        "max-sessions none\n"
        "max-per-ip 4\n"
        "runtime-dir /var/run/ftpsd\n"
        "umask 027\n"
        "upload atomic\n"
        "log stderr\n"
        "log-level debug\n"
        "xferlog none\n"
        "banner \"Welcome to ftpsd\"\n"
        "user alice root=/alice access=rwadmn tls=on login=password home=/ rate=0/0\n"
        "user carol root=/carol access=rwadmn tls=on login=password home=/in rate=512K/1M "
        "group=staff\n"
        "user dave root=\"/dave home\" access=r tls=on login=cert home=/ rate=0/0\n"
        "user erin root=/ access=r tls=on login=password+cert home=/ rate=1000/3K\n"
        "user anonymous root=/pub access=r tls=off login=anonymous home=/ rate=0/0\n";
    struct policy pol;
    struct errs e;
    char *out;

    ck_assert_int_eq(parse(&pol, text, &e), 0);
    out = print_policy(&pol);
    ck_assert_str_eq(out, want);
    free(out);
    pol_free(&pol);
}
END_TEST

/* Every directive of the grammar appears in the report. */
static const char *const keywords[] = {
    "cert",    "key",         "client-ca",  "client-cert",  "tls",        "tls-min",     "tls-max",
    "ciphers", "implicit",    "data-reuse", "renegotiate",  "ktls",       "keylog",      "run-as",
    "chroot",  "sandbox",     "pasv-ports", "pasv-address", "active",     "fxp",         "hash",
    "idle",    "login-grace", "max-tries",  "max-sessions", "max-per-ip", "runtime-dir", "umask",
    "upload",  "log",         "log-level",  "xferlog",      "banner",
};

START_TEST(test_print_every_directive)
{
    struct policy pol;
    struct errs e;
    char *out;
    char want[64];

    ck_assert_int_eq(parse(&pol, BASE, &e), 0);
    out = print_policy(&pol);
    snprintf(want, sizeof(want), "\n%s ", keywords[_i]);
    ck_assert_msg(strstr(out, want) != NULL, "no '%s' line in:%s", keywords[_i], out);
    free(out);
    pol_free(&pol);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
    const struct test_entry tests[] = {
        {"users", test_effective, N(eff_cases)},
        {"users", test_find_user_misses, 1},
        {"users", test_inherit_home_rate, N(inherit_cases)},
        {"users", test_key_errors, N(key_error_cases)},
        {"print", test_print, 1},
        {"print", test_print_every_directive, N(keywords)},
    };

    return run_tests("policy_acct", tests, N(tests));
}
