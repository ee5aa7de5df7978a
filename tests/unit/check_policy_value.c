/* Unit tests for the single-value parsers of the policy (policy_value.c)
 * and its small public helpers: strict numbers, fingerprints, host names,
 * rate=, hash-limit and home= values, the TLS rule predicates, which PASV peers count as
 * private, access letters. Table-driven (STYLE.md habit 15). */
#include <arpa/inet.h>

#include "policy_priv.h"
#include "policy_test.h"

/* ------------------------------------------------------ small helpers */

struct num_case {
    const char *s;
    unsigned base;
    uint64_t min, max;
    bool ok;
    uint64_t want;
};

static const struct num_case num_cases[] = {
    {"300", 10, 1, 86400, true, 300},
    {"1", 10, 1, 86400, true, 1},
    {"86400", 10, 1, 86400, true, 86400},
    {"0", 10, 1, 86400, false, 0},
    {"86401", 10, 1, 86400, false, 0},
    {"007", 10, 0, 100, true, 7},
    {"", 10, 0, UINT64_MAX, false, 0},
    {"+1", 10, 0, UINT64_MAX, false, 0},
    {"-1", 10, 0, UINT64_MAX, false, 0},
    {" 1", 10, 0, UINT64_MAX, false, 0},
    {"1 ", 10, 0, UINT64_MAX, false, 0},
    {"1\n", 10, 0, UINT64_MAX, false, 0},
    {"0x10", 10, 0, UINT64_MAX, false, 0},
    {"1.5", 10, 0, UINT64_MAX, false, 0},
    {"12a", 10, 0, UINT64_MAX, false, 0},
    {"18446744073709551615", 10, 0, UINT64_MAX, true, UINT64_MAX},
    {"18446744073709551616", 10, 0, UINT64_MAX, false, 0},
    {"99999999999999999999", 10, 0, UINT64_MAX, false, 0},
    {"000000000000000000000000000000042", 10, 0, 100, true, 42},
    {"022", 8, 0, 0777, true, 022},
    {"777", 8, 0, 0777, true, 0777},
    {"1000", 8, 0, 0777, false, 0},
    {"8", 8, 0, 0777, false, 0},
    {"1777777777777777777777", 8, 0, UINT64_MAX, true, UINT64_MAX},
    {"2000000000000000000000", 8, 0, UINT64_MAX, false, 0},
    {"10", 16, 0, 100, false, 0},
    {"10", 0, 0, 100, false, 0},
    {"10", 2, 0, 100, false, 0},
};

START_TEST(test_number)
{
    const struct num_case *c = &num_cases[_i];
    uint64_t v = 12345;

    ck_assert_msg(pol_parse_number(c->s, c->base, c->min, c->max, &v) == c->ok, "case %d '%s'", _i,
                  c->s);
    if (c->ok) {
        ck_assert_uint_eq(v, c->want);
    } else {
        ck_assert_uint_eq(v, 12345); /* untouched on failure */
    }
}
END_TEST

START_TEST(test_number_null)
{
    uint64_t v;

    ck_assert(!pol_parse_number(NULL, 10, 0, 10, &v));
    ck_assert(pol_parse_number("5", 10, 0, 10, NULL));
}
END_TEST

struct fp_case {
    const char *s;
    bool ok;
};

#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HEXCOLON                                                                                   \
    "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:"   \
    "ee:ff"

static const struct fp_case fp_cases[] = {
    {"sha256:" HEX64, true},
    {"sha256:00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF", true},
    {"SHA256:" HEX64, true},
    {"sha256:" HEXCOLON, true},
    {"sha256:0011:22334455:66778899aabbccddeeff00112233445566778899aabbccddeeff", true},
    {HEX64, false},
    {"sha1:" HEX64, false},
    {"sha256" HEX64, false},
    {"sha256:" HEX64 "00", false},
    {"sha256:" HEX64 ":", false},
    {"sha256::" HEX64, false},
    {"sha256:0:0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", false},
    {"sha256:00::112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", false},
    {"sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddee", false},
    {"sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeef", false},
    {"sha256:g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", false},
    {"sha256: " HEX64, false},
    {"", false},
    {"sha256:", false},
};

START_TEST(test_fingerprint)
{
    const struct fp_case *c = &fp_cases[_i];
    unsigned char fp[32];

    memset(fp, 0x5a, sizeof(fp));
    ck_assert_msg(pol_parse_fingerprint(c->s, fp) == c->ok, "case %d '%s'", _i, c->s);
    if (c->ok) {
        ck_assert_uint_eq(fp[0], 0x00);
        ck_assert_uint_eq(fp[1], 0x11);
        ck_assert_uint_eq(fp[15], 0xff);
        ck_assert_uint_eq(fp[31], 0xff);
    } else {
        ck_assert_uint_eq(fp[0], 0x5a);
    }
}
END_TEST

struct tls_case {
    enum pol_tls t;
    bool login, ctrl, data;
    enum pol_ccc ccc;
    const char *name;
};

static const struct tls_case tls_cases[] = {
    {POL_TLS_OFF, false, false, false, POL_CCC_TLS_OFF, "off"},
    {POL_TLS_OPTIONAL, false, false, false, POL_CCC_ALLOWED, "optional"},
    {POL_TLS_AUTH, true, false, false, POL_CCC_ALLOWED, "auth"},
    {POL_TLS_CTRL, true, true, false, POL_CCC_REFUSED, "ctrl"},
    {POL_TLS_DATA, false, false, true, POL_CCC_ALLOWED, "data"},
    {POL_TLS_ON, true, true, true, POL_CCC_REFUSED, "on"},
    {POL_TLS_AUTH_DATA, true, false, true, POL_CCC_ALLOWED, "auth+data"},
};

START_TEST(test_tls_predicates)
{
    const struct tls_case *c = &tls_cases[_i];

    ck_assert_int_eq(pol_tls_login_required(c->t), c->login);
    ck_assert_int_eq(pol_tls_ctrl_required(c->t), c->ctrl);
    ck_assert_int_eq(pol_tls_data_required(c->t), c->data);
    ck_assert_int_eq(pol_tls_ccc(c->t), c->ccc);
    ck_assert_str_eq(pol_tls_name(c->t), c->name);
}
END_TEST

struct acc_case {
    uint32_t access;
    size_t bufsz;
    const char *want;
};

static const struct acc_case acc_cases[] = {
    {ALL, 8, "rwadmn"},
    {ALL, 7, "rwadmn"},
    {ALL, 4, "rwa"},
    {ALL, 1, ""},
    {0, 8, ""},
    {POL_ACC_READ, 8, "r"},
    {POL_ACC_RENAME | POL_ACC_READ, 8, "rn"},
    {POL_ACC_DELETE | POL_ACC_WRITE, 8, "wd"},
};

START_TEST(test_access_letters)
{
    const struct acc_case *c = &acc_cases[_i];
    char buf[16];

    memset(buf, 'X', sizeof(buf));
    pol_access_letters(c->access, buf, c->bufsz);
    ck_assert_str_eq(buf, c->want);
    ck_assert_int_eq(buf[c->bufsz], 'X'); /* nothing past bufsz */
}
END_TEST

struct host_case {
    const char *s;
    bool ok;
};

#define L63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
/* 4 labels of 63 and the dots: 255; minus a two-letter cut: 253 */
#define N253 L63 "." L63 "." L63 ".abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghi"

static const struct host_case host_cases[] = {
    {"ftp.example.org", true},
    {"localhost", true},
    {"Router", true},
    {"a", true},
    {"a-b.c-d.example", true},
    {"3com.example", true},
    {"xn--bcher-kva.example", true},
    {"ftp.example.org9", true},
    {L63 ".org", true},
    {N253, true},
    {N253 "j", false}, /* 254 */
    {L63 "l.org", false},
    {"", false},
    {".", false},
    {"example.org.", false},
    {".example.org", false},
    {"ftp..example.org", false},
    {"-ftp.example.org", false},
    {"ftp-.example.org", false},
    {"ftp.example.org-", false},
    {"ftp_1.example.org", false},
    {"ftp example.org", false},
    {"ftp.exämple.org", false},
    {"192.0.2.1", false},
    {"192.0.2.1x", false},
    {"example.123", false},
    {"example.-org", false},
    {"::1", false},
    {"[::1]", false},
    {"ftp.example.org:21", false},
};

START_TEST(test_hostname)
{
    const struct host_case *c = &host_cases[_i];

    ck_assert_msg(pol_valid_hostname(c->s) == c->ok, "case %d '%s'", _i, c->s);
}
END_TEST

struct peer_case {
    const char *addr;
    bool private_peer;
};

static const struct peer_case peer_cases[] = {
    {"10.0.0.1", true},         {"10.255.255.255", true},   {"9.255.255.255", false},
    {"11.0.0.0", false},        {"172.16.0.1", true},       {"172.31.255.255", true},
    {"172.15.255.255", false},  {"172.32.0.0", false},      {"192.168.0.1", true},
    {"192.168.255.255", true},  {"192.167.255.255", false}, {"192.169.0.0", false},
    {"100.64.0.0", true},       {"100.127.255.255", true},  {"100.63.255.255", false},
    {"100.128.0.0", false},     {"127.0.0.1", true},        {"127.255.255.255", true},
    {"169.254.1.1", true},      {"169.253.255.255", false}, {"169.255.0.0", false},
    {"203.0.113.7", false},     {"8.8.8.8", false},         {"0.0.0.0", false},
    {"255.255.255.255", false},
};

START_TEST(test_private_peer)
{
    const struct peer_case *c = &peer_cases[_i];
    struct in_addr a;

    ck_assert_int_eq(inet_pton(AF_INET, c->addr, &a), 1);
    ck_assert_msg(pol_pasv_private_peer(a) == c->private_peer, "%s", c->addr);
}
END_TEST

struct rate_case {
    const char *s;
    bool ok;
    uint64_t down, up;
};

static const struct rate_case rate_cases[] = {
    {"0/0", true, 0, 0},
    {"512K/128K", true, 524288, 131072},
    {"1M/1", true, 1048576, 1},
    {"1000/0", true, 1000, 0},
    {"0K/0M", true, 0, 0},
    {"4096M/4194304K", true, 4294967296u, 4294967296u},
    {"4294967296/4294967296", true, 4294967296u, 4294967296u},
    {"0000000000000000000000000001/007", true, 1, 7},
    {"4097M/0", false, 0, 0},
    {"0/4194305K", false, 0, 0},
    {"4294967297/0", false, 0, 0},
    {"18446744073709551616/0", false, 0, 0},
    {"99999999999999999999999999999/0", false, 0, 0},
    {"", false, 0, 0},
    {"/", false, 0, 0},
    {"1", false, 0, 0},
    {"1/", false, 0, 0},
    {"/1", false, 0, 0},
    {"1//1", false, 0, 0},
    {"1/1/1", false, 0, 0},
    {"1/1 ", false, 0, 0},
    {"1k/1", false, 0, 0},
    {"1/1m", false, 0, 0},
    {"1KK/1", false, 0, 0},
    {"1G/1", false, 0, 0},
    {"K/1", false, 0, 0},
    {"-1/1", false, 0, 0},
    {"+1/1", false, 0, 0},
    {"1.5/1", false, 0, 0},
};

START_TEST(test_rate)
{
    const struct rate_case *c = &rate_cases[_i];
    uint64_t down = 123, up = 456;

    ck_assert_msg(pol_parse_rate(c->s, &down, &up) == c->ok, "case %d '%s'", _i, c->s);
    ck_assert_uint_eq(down, c->ok ? c->down : 123); /* untouched on failure */
    ck_assert_uint_eq(up, c->ok ? c->up : 456);
}
END_TEST

struct size_case {
    const char *s;
    uint64_t max;
    bool ok;
    uint64_t want;
};

static const struct size_case size_cases[] = {
    {"0", 100, true, 0},
    {"100", 100, true, 100},
    {"101", 100, false, 0},
    {"1K", 1024, true, 1024},
    {"1K", 1023, false, 0},
    {"3M", UINT64_MAX >> 4, true, 3145728},
    {"5G", UINT64_MAX >> 4, true, 5368709120ull},
    {"1048576G", 1ull << 50, true, 1ull << 50},
    {"1048577G", 1ull << 50, false, 0},
    {"1125899906842624", 1ull << 50, true, 1ull << 50},
    {"1125899906842625", 1ull << 50, false, 0},
    {"99999999999999999999999G", 1ull << 50, false, 0},
    {"18446744073709551616", 1ull << 50, false, 0},
    {"", 100, false, 0},
    {"K", 100, false, 0},
    {"1T", 1ull << 50, false, 0},
    {"1k", 1ull << 50, false, 0},
    {"1KB", 1ull << 50, false, 0},
    {"1 K", 1ull << 50, false, 0},
    {"+1", 1ull << 50, false, 0},
    {"-1", 1ull << 50, false, 0},
    {"1.5G", 1ull << 50, false, 0},
};

START_TEST(test_size)
{
    const struct size_case *c = &size_cases[_i];
    uint64_t got = 77;

    ck_assert_msg(pol_parse_size(c->s, c->max, &got) == c->ok, "case %d '%s'", _i, c->s);
    ck_assert_uint_eq(got, c->ok ? c->want : 77);
}
END_TEST

struct home_case {
    const char *s;
    const char *want; /* NULL: refused */
};

static const struct home_case home_cases[] = {
    {"/", "/"},
    {"/incoming", "/incoming"},
    {"incoming", "/incoming"},
    {"a/b/", "/a/b"},
    {"//a//./b", "/a/b"},
    {"a/../b", "/b"},
    {"a/b/../..", "/"},
    {".", "/"},
    {"./x/.", "/x"},
    {"a/..b/c..", "/a/..b/c.."},
    {"...", "/..."},
    {"..", NULL},
    {"/..", NULL},
    {"../a", NULL},
    {"a/../../b", NULL},
    {"/a/./../..", NULL},
    {"", NULL},
};

START_TEST(test_home)
{
    const struct home_case *c = &home_cases[_i];
    char out[DEFS_PATH_MAX];

    ck_assert_msg(pol_parse_home(c->s, out, sizeof(out)) == (c->want != NULL), "case %d '%s'", _i,
                  c->s);
    if (c->want != NULL) {
        ck_assert_str_eq(out, c->want);
    }
}
END_TEST

/* Bounded: a path or a component over the limits is refused, not cut. */
START_TEST(test_home_bounds)
{
    static char longpath[DEFS_PATH_MAX + 2];
    static char longname[300];
    char out[DEFS_PATH_MAX];

    memset(longpath, 'a', sizeof(longpath) - 1);
    for (size_t i = 100; i < sizeof(longpath) - 1; i += 100) {
        longpath[i] = '/';
    }
    ck_assert(!pol_parse_home(longpath, out, sizeof(out)));
    memset(longname, 'b', sizeof(longname) - 1);
    ck_assert(!pol_parse_home(longname, out, sizeof(out)));
    longname[255] = '\0';
    ck_assert(pol_parse_home(longname, out, sizeof(out)));
    ck_assert(!pol_parse_home("/a", out, 2));
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
    const struct test_entry tests[] = {
        {"helpers", test_number, N(num_cases)},
        {"helpers", test_number_null, 1},
        {"helpers", test_fingerprint, N(fp_cases)},
        {"helpers", test_tls_predicates, N(tls_cases)},
        {"helpers", test_access_letters, N(acc_cases)},
        {"pasv", test_hostname, N(host_cases)},
        {"pasv", test_private_peer, N(peer_cases)},
        {"keys", test_rate, N(rate_cases)},
        {"keys", test_size, N(size_cases)},
        {"keys", test_home, N(home_cases)},
        {"keys", test_home_bounds, 1},
    };

    return run_tests("policy_value", tests, N(tests));
}
