/* The pure parts of the data channel: PORT/EPRT argument parsers (a
 * security boundary: uftpd's sscanf PORT parser overflowed), TYPE A
 * conversion across buffer boundaries, the xferlog line and the names of
 * atomic-upload temporaries. Table-driven (STYLE.md habit 15). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dataport.h"
#include "defs.h"
#include "session.h"
#include "sys.h"
#include "sys_proc.h"
#include "upload.h"
#include "xferlog.h"
#include "path.h"
#include "xfer.h"

/* ---- PORT ---- */

struct port_case {
    const char *arg;
    const char *addr; /* NULL: must be refused */
    unsigned port;
};

static const struct port_case port_cases[] = {
    {"127,0,0,1,4,1", "127.0.0.1", 1025},
    {"10,1,2,3,0,21", "10.1.2.3", 21},
    {"255,255,255,255,255,255", "255.255.255.255", 65535},
    {"0,0,0,0,0,0", "0.0.0.0", 0},
    {"001,002,003,004,000,001", "1.2.3.4", 1},
    {"127,0,0,1,4", NULL, 0},     /* too few */
    {"127,0,0,1,4,1,2", NULL, 0}, /* too many */
    {"127,0,0,1,4,1,", NULL, 0},  /* trailing comma */
    {"256,0,0,1,4,1", NULL, 0},   /* out of range */
    {"127,0,0,1,4,256", NULL, 0},
    {"127,0,0,-1,4,1", NULL, 0}, /* negative */
    {"127,0,0,+1,4,1", NULL, 0}, /* sign */
    {"127, 0,0,1,4,1", NULL, 0}, /* blank */
    {" 127,0,0,1,4,1", NULL, 0},
    {"127,0,0,1,4,1 ", NULL, 0},
    {"127,0,0,1,4,0001", NULL, 0},                 /* four digits */
    {"127,0,0,1,4,99999999999999999999", NULL, 0}, /* overflow */
    {"127,,0,1,4,1", NULL, 0},                     /* empty field */
    {"127.0.0.1,4,1", NULL, 0},
    {"", NULL, 0},
    {"a,b,c,d,e,f", NULL, 0},
    {"0x7f,0,0,1,4,1", NULL, 0},
};

START_TEST(test_port)
{
    const struct port_case *c = &port_cases[_i];
    struct sockaddr_in sin;
    bool ok = data_parse_port(c->arg, &sin);
    if (!c->addr) {
        ck_assert_msg(!ok, "PORT '%s' accepted", c->arg);
        return;
    }
    ck_assert_msg(ok, "PORT '%s' refused", c->arg);
    char buf[INET_ADDRSTRLEN];
    ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf));
    ck_assert_str_eq(buf, c->addr);
    ck_assert_uint_eq(ntohs(sin.sin_port), c->port);
    ck_assert_int_eq(sin.sin_family, AF_INET);
}
END_TEST

/* ---- EPRT ---- */

struct eprt_case {
    const char *arg;
    int want; /* 0, EINVAL, EAFNOSUPPORT */
    int family;
    const char *addr;
    unsigned port;
};

static const struct eprt_case eprt_cases[] = {
    {"|1|127.0.0.1|6275|", 0, AF_INET, "127.0.0.1", 6275},
    {"|2|::1|6275|", 0, AF_INET6, "::1", 6275},
    {"|2|1080::8:800:200C:417A|5282|", 0, AF_INET6, "1080::8:800:200c:417a", 5282},
    {"!1!10.0.0.1!65535!", 0, AF_INET, "10.0.0.1", 65535},
    {"|1|127.0.0.1|65536|", EINVAL, 0, NULL, 0},
    {"|1|127.0.0.1|0|", EINVAL, 0, NULL, 0},
    {"|1|127.0.0.1|-1|", EINVAL, 0, NULL, 0},
    {"|1|127.0.0.1|999999|", EINVAL, 0, NULL, 0},
    {"|1|127.0.0.1|6275", EINVAL, 0, NULL, 0},   /* missing last delimiter */
    {"|1|127.0.0.1|6275||", EINVAL, 0, NULL, 0}, /* extra field */
    {"|1|127.0.0.1|6275| ", EINVAL, 0, NULL, 0},
    {"|1|256.0.0.1|6275|", EINVAL, 0, NULL, 0},
    {"|1|::1|6275|", EINVAL, 0, NULL, 0}, /* family/address mismatch */
    {"|2|127.0.0.1|6275|", EINVAL, 0, NULL, 0},
    {"|1||6275|", EINVAL, 0, NULL, 0},
    {"||127.0.0.1|6275|", EINVAL, 0, NULL, 0},
    {"|3|127.0.0.1|6275|", EAFNOSUPPORT, 0, NULL, 0},
    {"|1| 127.0.0.1|6275|", EINVAL, 0, NULL, 0},
    {"1111127.0.0.1111|", EINVAL, 0, NULL, 0},  /* digit delimiter */
    {" 1 127.0.0.1 6275 ", EINVAL, 0, NULL, 0}, /* blank delimiter */
    {"|1|1111111111111111111111111111111111111111111111111111111|6275|", EINVAL, 0, NULL, 0},
    {"", EINVAL, 0, NULL, 0},
    {"|", EINVAL, 0, NULL, 0},
};

START_TEST(test_eprt)
{
    const struct eprt_case *c = &eprt_cases[_i];
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int e = data_parse_eprt(c->arg, &ss, &len);
    ck_assert_msg(e == c->want, "EPRT '%s': got %d want %d", c->arg, e, c->want);
    if (e != 0) {
        return;
    }
    ck_assert_int_eq(ss.ss_family, c->family);
    char buf[INET6_ADDRSTRLEN];
    if (c->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        ck_assert_uint_eq(len, sizeof *sin);
        ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf));
        ck_assert_uint_eq(ntohs(sin->sin_port), c->port);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        ck_assert_uint_eq(len, sizeof *sin6);
        ck_assert_ptr_nonnull(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf));
        ck_assert_uint_eq(ntohs(sin6->sin6_port), c->port);
    }
    ck_assert_str_eq(buf, c->addr);
}
END_TEST

/* ---- TYPE A ---- */

/* Runs a conversion over `in` split into chunks of `chunk` bytes, with an
 * output buffer of `cap` bytes, the way the transfer engine (xfer.c) drives it. */
static size_t convert(bool to_crlf, const char *in, size_t n, size_t chunk, size_t cap, char *out,
                      size_t outsz)
{
    struct xfer_ascii st = {0};
    unsigned char obuf[64];
    ck_assert_uint_le(cap, sizeof obuf);
    size_t total = 0;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        const unsigned char *p = (const unsigned char *)in + off;
        size_t i = 0;
        while (i < len) {
            size_t used;
            size_t o = to_crlf ? xfer_to_crlf(&st, p + i, len - i, &used, obuf, cap)
                               : xfer_from_crlf(&st, p + i, len - i, &used, obuf, cap);
            ck_assert_msg(o > 0 || used > 0, "no progress");
            ck_assert_uint_le(o, cap);
            ck_assert_uint_le(total + o, outsz);
            memcpy(out + total, obuf, o);
            total += o;
            i += used;
        }
    }
    if (!to_crlf) {
        size_t o = xfer_from_crlf_flush(&st, obuf, cap);
        memcpy(out + total, obuf, o);
        total += o;
    }
    return total;
}

struct ascii_case {
    bool to_crlf;
    const char *in, *want;
};

static const struct ascii_case ascii_cases[] = {
    {true, "a\nb\n", "a\r\nb\r\n"},
    {true, "\n\n", "\r\n\r\n"},
    {true, "a\r\nb", "a\r\nb"},   /* CRLF already: not doubled */
    {true, "a\rb\n", "a\rb\r\n"}, /* bare CR kept */
    {true, "", ""},
    {true, "no newline", "no newline"},
    {false, "a\r\nb\r\n", "a\nb\n"},
    {false, "a\rb", "a\rb"}, /* bare CR kept */
    {false, "a\r", "a\r"},   /* CR at the very end */
    {false, "\r\r\n", "\r\n"},
    {false, "\r\r\r\n\n", "\r\r\n\n"},
    {false, "a\nb", "a\nb"}, /* bare LF kept */
    {false, "", ""},
};

START_TEST(test_ascii)
{
    const struct ascii_case *c = &ascii_cases[_i];
    size_t n = strlen(c->in);
    /* Every chunking and every small output size, so that a CR at the end
     * of a buffer and a full output buffer are exercised. */
    for (size_t chunk = 1; chunk <= n + 1; chunk++) {
        for (size_t cap = 2; cap <= 8; cap++) {
            char out[64];
            size_t got = convert(c->to_crlf, c->in, n, chunk, cap, out, sizeof out);
            ck_assert_msg(got == strlen(c->want) && memcmp(out, c->want, got) == 0,
                          "case %d chunk %zu cap %zu: got %zu bytes", _i, chunk, cap, got);
        }
    }
}
END_TEST

START_TEST(test_ascii_cr_at_buffer_end)
{
    /* A CR ending one network buffer and its LF starting the next one. */
    struct xfer_ascii st = {0};
    unsigned char out[16];
    size_t used;
    size_t o = xfer_from_crlf(&st, (const unsigned char *)"ab\r", 3, &used, out, sizeof out);
    ck_assert_uint_eq(used, 3);
    ck_assert_uint_eq(o, 2);
    ck_assert(st.cr);
    o = xfer_from_crlf(&st, (const unsigned char *)"\ncd", 3, &used, out, sizeof out);
    ck_assert_uint_eq(used, 3);
    ck_assert_uint_eq(o, 3);
    ck_assert(memcmp(out, "\ncd", 3) == 0);
    /* Download side: an LF at the start of a buffer after a CR at the end
     * of the previous one is already a line end. */
    struct xfer_ascii d = {0};
    o = xfer_to_crlf(&d, (const unsigned char *)"x\r", 2, &used, out, sizeof out);
    ck_assert_uint_eq(o, 2);
    o = xfer_to_crlf(&d, (const unsigned char *)"\ny", 2, &used, out, sizeof out);
    ck_assert_uint_eq(o, 2);
    ck_assert(memcmp(out, "\ny", 2) == 0);
}
END_TEST

START_TEST(test_ascii_full_output)
{
    /* One byte of room left and an LF next: nothing is consumed, so the
     * caller flushes and comes back (never half a CRLF). */
    struct xfer_ascii st = {0};
    unsigned char out[1];
    size_t used;
    size_t o = xfer_to_crlf(&st, (const unsigned char *)"\n", 1, &used, out, sizeof out);
    ck_assert_uint_eq(o, 0);
    ck_assert_uint_eq(used, 0);
}
END_TEST

/* ---- xferlog ---- */

START_TEST(test_xferlog)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct xferlog_record r = {
        .end = 1795735339, /* Thu Nov 26 23:22:19 2026 UTC */
        .seconds = 3,
        .peer = "192.0.2.7",
        .bytes = 5000000000ull,
        .path = "/alice/big file.bin",
        .ascii = false,
        .upload = false,
        .anonymous = false,
        .user = "alice",
        .complete = true,
    };
    char line[512];
    size_t n = xferlog_format(line, sizeof line, &r);
    ck_assert_uint_gt(n, 0);
    ck_assert_str_eq(line, "Thu Nov 26 23:22:19 2026 3 192.0.2.7 5000000000 /alice/big_file.bin "
                           "b _ o r alice ftp 0 * c\n");
    ck_assert_uint_eq(n, strlen(line));

    r.end = 1767225600 + 5 * 86400; /* Tue Jan  6 00:00:00 2026 */
    r.seconds = 0;                  /* shown as 1 */
    r.ascii = true;
    r.upload = true;
    r.anonymous = true;
    r.user = "ftp";
    r.complete = false;
    r.bytes = 0;
    r.path = "/in\nject\r";
    n = xferlog_format(line, sizeof line, &r);
    ck_assert_uint_gt(n, 0);
    ck_assert_str_eq(line,
                     "Tue Jan  6 00:00:00 2026 1 192.0.2.7 0 /in_ject_ a _ i a ftp ftp 0 * i\n");

    /* Too small: 0, never a cut line. */
    ck_assert_uint_eq(xferlog_format(line, 20, &r), 0);

    /* SECURITY: NEL (U+0085, raw or UTF-8), the line and paragraph
     * separators end a line for some log readers (Python's splitlines), and
     * a bidi override makes a record read otherwise: each becomes '?'.
     * Latin-1 bytes stay, as in listings (found by fuzz_session's xferlog
     * check). */
    r.path = "/a\xc2\x85"
             "b\x85"
             "c\xe2\x80\xae"
             "d\xe2\x80\xa8"
             "e\xe2\x80\xa9\xe9 f";
    r.user = "u\xe2\x80\xaev";
    n = xferlog_format(line, sizeof line, &r);
    ck_assert_uint_gt(n, 0);
    ck_assert_str_eq(line, "Tue Jan  6 00:00:00 2026 1 192.0.2.7 0 /a?b?c?d?e?\xe9_f a _ i a u?v "
                           "ftp 0 * i\n");
    ck_assert_uint_eq(n, strlen(line));
}
END_TEST

START_TEST(test_temp_name)
{
    unsigned char rnd[6] = {0, 61, 62, 255, 26, 52};
    char name[32];
    upload_temp_name(name, sizeof name, rnd);
    ck_assert_uint_eq(strlen(name), 13);
    ck_assert(strncmp(name, ".ftpsd-", 7) == 0);
    ck_assert(path_is_internal(name));
    for (int i = 7; i < 13; i++) {
        char c = name[i];
        ck_assert((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
    }
    ck_assert_str_eq(name, ".ftpsd-A9AHa0");
}
END_TEST

/* xfer_pace: the rate limit's arithmetic, on a simulated clock: a sender
 * that moves whatever the pace allows, as soon as it allows it, for 10 s.
 * It must move rate x 10 s plus at most one slice, at every rate from one
 * byte to 4 GiB a second, with integers only. */
struct pace_case {
    uint64_t rate;
    size_t want; /* what the sender asks to move each time */
};

static const struct pace_case pace_cases[] = {
    {1, 16384},       {7, 16384},         {100, 16384},       {1000, 16384},
    {4096, 100},      {65536, 16384},     {524288, 16384},    {524288, 1048576},
    {1000000, 16384}, {1048576, 1048576}, {104857600, 16384}, {4294967296ull, 1048576},
};

START_TEST(test_pace_accuracy)
{
    const struct pace_case *k = &pace_cases[_i];
    struct xfer_pace p;
    int64_t now = 123456, end = now + 10000;
    uint64_t moved = 0, wakeups = 0, slice = k->rate * DEFS_RATE_SLICE_MS / 1000;
    slice = slice > 0 ? slice : 1;
    xfer_pace_start(&p, k->rate);
    for (;;) {
        int64_t due = xfer_pace_due(&p, now);
        if (due > now) {
            now = due; /* the engine sleeps until then */
            wakeups++;
        }
        if (now >= end) {
            break;
        }
        size_t n = xfer_pace_slice(&p, k->want);
        ck_assert_uint_ge(n, 1);
        ck_assert_uint_le(n, k->want);
        xfer_pace_moved(&p, n);
        moved += n;
    }
    uint64_t want = k->rate * 10;
    uint64_t step = k->want < slice ? k->want : slice;
    ck_assert_msg(moved >= want && moved <= want + step,
                  "rate %llu: moved %llu in 10 s, want %llu (+ %llu)", (unsigned long long)k->rate,
                  (unsigned long long)moved, (unsigned long long)want, (unsigned long long)step);
    /* No more wake-ups than slices: nothing spins. */
    ck_assert_uint_le(wakeups, moved / step + 1);
}
END_TEST

START_TEST(test_pace_limits)
{
    struct xfer_pace p;
    /* No limit: always now, whatever is asked. */
    xfer_pace_start(&p, 0);
    ck_assert_int_eq(xfer_pace_due(&p, 5000), 5000);
    ck_assert_uint_eq(xfer_pace_slice(&p, 1u << 20), 1u << 20);
    /* 1000 B/s: slices of 100 bytes, 100 ms apart, counted from the first. */
    xfer_pace_start(&p, 1000);
    ck_assert_int_eq(xfer_pace_due(&p, 5000), 5000);
    ck_assert_uint_eq(xfer_pace_slice(&p, 16384), 100);
    ck_assert_uint_eq(xfer_pace_slice(&p, 40), 40);
    xfer_pace_moved(&p, 100);
    ck_assert_int_eq(xfer_pace_due(&p, 5001), 5100);
    xfer_pace_moved(&p, 150);
    ck_assert_int_eq(xfer_pace_due(&p, 5100), 5250);
    /* A peer that stalled 5 s may catch up one burst's worth, no more. */
    ck_assert_int_eq(xfer_pace_due(&p, 10250), 10250 - DEFS_RATE_BURST_MS);
    xfer_pace_moved(&p, 1000);
    ck_assert_int_eq(xfer_pace_due(&p, 10250), 10250);
    /* 1 B/s after a petabyte: no overflow in the arithmetic. */
    xfer_pace_start(&p, 1);
    ck_assert_int_eq(xfer_pace_due(&p, 0), 0);
    xfer_pace_moved(&p, 1000000000000000ull);
    ck_assert_int_eq(xfer_pace_due(&p, 0), 1000000000000000000ll);
    ck_assert_uint_eq(xfer_pace_slice(&p, 100), 1);
}
END_TEST

/* data_pasv_address: which address a 227 reply names, by peer. */
struct pasv_case {
    const char *peer; /* IPv4, or IPv6 (v4-mapped counts as IPv4) */
    bool has_public, has_private, private_local;
    const char *want;
};

#define LOCAL "192.168.1.10"
#define PUBLIC "203.0.113.7"
#define PRIVATE "10.9.8.7"

static const struct pasv_case pasv_cases[] = {
    /* Nothing given (or nothing resolved): the local address for all. */
    {"198.51.100.1", false, false, false, LOCAL},
    {"192.168.1.20", false, false, false, LOCAL},
    /* The public address alone: for every peer, private ones included. */
    {"198.51.100.1", true, false, false, PUBLIC},
    {"192.168.1.20", true, false, false, PUBLIC},
    /* With a private answer: peers in private ranges get it... */
    {"192.168.1.20", true, true, false, PRIVATE},
    {"10.0.0.1", true, true, false, PRIVATE},
    {"172.16.0.1", true, true, false, PRIVATE},
    {"172.31.255.255", true, true, false, PRIVATE},
    {"100.64.0.1", true, true, false, PRIVATE},
    {"127.0.0.1", true, true, false, PRIVATE},
    {"169.254.1.1", true, true, false, PRIVATE},
    {"::ffff:192.168.1.20", true, true, false, PRIVATE},
    /* ...others the public one. */
    {"198.51.100.1", true, true, false, PUBLIC},
    {"172.32.0.1", true, true, false, PUBLIC},
    {"100.128.0.1", true, true, false, PUBLIC},
    {"11.0.0.1", true, true, false, PUBLIC},
    {"::ffff:198.51.100.1", true, true, false, PUBLIC},
    {"2001:db8::1", true, true, false, PUBLIC},
    /* `local` (or a private name that did not resolve). */
    {"192.168.1.20", true, true, true, LOCAL},
    {"198.51.100.1", true, true, true, PUBLIC},
    /* A public name that did not resolve, a private answer given. */
    {"198.51.100.1", false, true, false, LOCAL},
    {"192.168.1.20", false, true, false, PRIVATE},
};

START_TEST(test_pasv_address)
{
    const struct pasv_case *k = &pasv_cases[_i];
    struct pasv_addrs a = {.has_public = k->has_public,
                           .has_private = k->has_private,
                           .private_local = k->private_local};
    struct in_addr local, got;
    struct sockaddr_storage peer = {0};
    ck_assert_int_eq(inet_pton(AF_INET, PUBLIC, &a.public_addr), 1);
    ck_assert_int_eq(inet_pton(AF_INET, PRIVATE, &a.private_addr), 1);
    ck_assert_int_eq(inet_pton(AF_INET, LOCAL, &local), 1);
    if (strchr(k->peer, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&peer;
        s6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, k->peer, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&peer;
        s4->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, k->peer, &s4->sin_addr), 1);
    }
    got = data_pasv_address(&a, &peer, local);
    char shown[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &got, shown, sizeof shown);
    ck_assert_msg(strcmp(shown, k->want) == 0, "case %d (peer %s): %s, want %s", _i, k->peer, shown,
                  k->want);
}
END_TEST

/* sys_child_result: the child's answer, or the deadline; never a child
 * left behind. */
static void child_answers(void *ctx, int fd)
{
    (void)sys_write_all(fd, ctx, strlen(ctx), -1);
}

static void child_hangs(void *ctx, int fd)
{
    (void)ctx;
    (void)sys_write_all(fd, "a", 1, -1);
    sys_sleep_ms(30000);
}

START_TEST(test_child_result)
{
    char out[16] = "";
    ck_assert_int_eq(sys_child_result(child_answers, "answer", out, 6, 2000), 6);
    ck_assert(memcmp(out, "answer", 6) == 0);
    /* A child that writes less, then ends: what it wrote. */
    ck_assert_int_eq(sys_child_result(child_answers, "ab", out, sizeof out, 2000), 2);
    int64_t t0 = sys_now_ms();
    ck_assert_int_eq(sys_child_result(child_hangs, NULL, out, sizeof out, 300), 1);
    int64_t took = sys_now_ms() - t0;
    ck_assert_msg(took >= 290 && took < 5000, "took %lld ms", (long long)took);
    /* Reaped: no child of ours is left. */
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("parsers");
    tcase_add_loop_test(tc, test_port, 0, (int)(sizeof port_cases / sizeof port_cases[0]));
    tcase_add_loop_test(tc, test_eprt, 0, (int)(sizeof eprt_cases / sizeof eprt_cases[0]));
    tcase_add_loop_test(tc, test_pasv_address, 0, (int)(sizeof pasv_cases / sizeof pasv_cases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("pace");
    tcase_add_loop_test(tc, test_pace_accuracy, 0, (int)(sizeof pace_cases / sizeof pace_cases[0]));
    tcase_add_test(tc, test_pace_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("child");
    tcase_add_test(tc, test_child_result);
    suite_add_tcase(s, tc);
    tc = tcase_create("ascii");
    tcase_add_loop_test(tc, test_ascii, 0, (int)(sizeof ascii_cases / sizeof ascii_cases[0]));
    tcase_add_test(tc, test_ascii_cr_at_buffer_end);
    tcase_add_test(tc, test_ascii_full_output);
    suite_add_tcase(s, tc);
    tc = tcase_create("log");
    tcase_add_test(tc, test_xferlog);
    tcase_add_test(tc, test_temp_name);
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
