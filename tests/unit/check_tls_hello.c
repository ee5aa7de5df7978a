/* tls_hello_parse (tls_hello.c), the bounded parser of the first record of a
 * ClientHello: real hellos of the clients FTPS users run (vectors_hello.h),
 * the same hellos cut short or with a length that lies, and hellos built
 * here for what real clients rarely send (GREASE everywhere, no extensions,
 * too many suites, odd ALPN names). Each case says what the parser must
 * report; none may read outside its input (run under ASan in
 * `make check-asan`, and fuzz/fuzz_hello.c looks for the rest).
 * Table-driven (STYLE.md habit 15). */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_hello.h"
#include "vectors_hello.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define HELLO_CAP 4096

/* Hex into out; "zN;" stands for N zero bytes (vectors_hello.h). */
static size_t unhex(const char *s, unsigned char *out, size_t cap)
{
    size_t n = 0;
    while (*s != '\0') {
        if (*s == 'z') {
            char *end;
            unsigned long zeros = strtoul(s + 1, &end, 10);
            ck_assert(*end == ';' && n + zeros <= cap);
            memset(out + n, 0, zeros);
            n += zeros;
            s = end + 1;
            continue;
        }
        unsigned v;
        ck_assert(n < cap && sscanf(s, "%2x", &v) == 1);
        out[n++] = (unsigned char)v;
        s += 2;
    }
    return n;
}

/* A ClientHello built from parts: version, suites and the extensions block
 * (hex), in a record of exactly its length. */
struct synth {
    uint16_t version;
    const char *suites; /* hex... */
    size_t repeat;      /* ...this many times (once if 0) */
    const char *ext;    /* hex of the extensions; NULL: no extensions block */
};

static void put16(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static size_t build(const struct synth *y, unsigned char *out, size_t cap)
{
    size_t n = 9, len = 0;
    put16(out + n, y->version);
    n += 2;
    for (int i = 0; i < 32; i++) {
        out[n++] = (unsigned char)(i * 7); /* random */
    }
    out[n++] = 0; /* session id */
    for (size_t i = 0; i < (y->repeat > 0 ? y->repeat : 1); i++) {
        len += unhex(y->suites, out + n + 2 + len, cap - n - 2 - len - 4);
    }
    put16(out + n, len);
    n += 2 + len;
    out[n++] = 1; /* compression: null */
    out[n++] = 0;
    if (y->ext != NULL) {
        size_t extlen = unhex(y->ext, out + n + 2, cap - n - 2);
        put16(out + n, extlen);
        n += 2 + extlen;
    }
    out[0] = 22; /* handshake record, TLS 1.0 on the record layer */
    out[1] = 3;
    out[2] = 1;
    put16(out + 3, n - 5);
    out[5] = 1; /* ClientHello */
    out[6] = 0;
    put16(out + 7, n - 9);
    return n;
}

/* What a parse found, in one line (fields at their zero value left out):
 * "hs parsed v0304 tls13 suites 30 1302 groups 10 001d shares 1 001d
 * alpn 'ftp' ftp psk_dhe" (counts, then the first of each list). */
static void describe(const struct tls_hello *h, char *out, size_t n)
{
    size_t pos = 0;
#define ADD(...) pos += (size_t)snprintf(out + pos, pos < n ? n - pos : 0, __VA_ARGS__)
    out[0] = '\0';
    ADD("%s%s", h->handshake ? " hs" : "", h->parsed ? " parsed" : "");
    if (h->max_version != 0) {
        ADD(" v%04x", h->max_version);
    }
    ADD("%s", h->offers13 ? " tls13" : "");
    ADD("%s", h->handshake && !h->offers12 ? " no12" : "");
    if (h->nsuites > 0) {
        ADD(" suites %zu %04x", h->nsuites, h->suites[0]);
    }
    if (h->has_groups) {
        ADD(" groups %zu %04x", h->ngroups, h->ngroups > 0 ? h->groups[0] : 0);
    }
    if (h->nshares > 0) {
        ADD(" shares %zu %04x", h->nshares, h->shares[0]);
    }
    if (h->has_alpn) {
        ADD(" alpn '%s'%s", h->alpn, h->alpn_ftp ? " ftp" : "");
    }
    ADD("%s", h->psk_dhe ? " psk_dhe" : "");
#undef ADD
    ck_assert_uint_lt(pos, n);
}

struct hello_case {
    const char *name;
    const char *hex;         /* the input in hex, or NULL... */
    const struct synth *syn; /* ...built from parts */
    size_t cut;              /* keep only this many bytes; 0: all */
    size_t npatch;           /* then overwrite bytes: lengths that lie */
    struct {
        size_t at;
        unsigned char val;
    } patch[2];
    const char *want; /* describe() of the parse, without its leading space */
};

/* What the full hellos of vectors_hello.h say (vectors_hello.h's comments
 * name the clients; the suite counts leave out the renegotiation SCSV). */
#define OPENSSL13                                                                                  \
    "hs parsed v0304 tls13 suites 30 1302 groups 10 001d shares 1 001d alpn 'ftp' ftp psk_dhe"
#define OPENSSL12 "hs parsed v0303 suites 27 c02c groups 5 001d"
#define CURL "hs parsed v0304 tls13 suites 30 1302 groups 10 001d shares 1 001d psk_dhe"
#define GNUTLS                                                                                     \
    "hs parsed v0304 tls13 suites 29 1302 groups 10 0017 shares 2 0017 alpn 'ftp' ftp psk_dhe"
#define PYTHON                                                                                     \
    "hs parsed v0304 tls13 suites 17 1302 groups 10 001d shares 1 001d alpn 'http/1.1, h2' "       \
    "psk_dhe"

/* A 100-byte ALPN name and "ftp", and the 95 bytes of it the log keeps. */
#define ALPN_LONG                                                                                  \
    "0010006b0069"                                                                                 \
    "64"                                                                                           \
    "6162636465666768696a6b6c6d6e6f707172737475767778797a616263646566"                             \
    "6768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c"                             \
    "6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172"                             \
    "73747576"                                                                                     \
    "03667470"
#define ALPN_LONG_SHOWN                                                                            \
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmn" \
    "opq"

/* hello_openssl13's layout: record header 0-4, handshake header 5-8
 * (length at 6-8), version 9-10, random 11-42, session id 43-75, suites
 * 76-139 (length at 76-77), compression 140-141, extensions 142-331
 * (length at 142-143). */
static const struct synth grease = {.version = 0x0303,
                                    .suites = "0a0a1301c02b",
                                    .ext = "000a00060004"
                                           "1a1a001d" /* groups: GREASE, X25519 */
                                           "002b000706"
                                           "2a2a03040303" /* versions: GREASE, 1.3, 1.2 */
                                           "0033002b0029"
                                           "3a3a000100"
                                           "001d0020z32;" /* key shares: GREASE, X25519 */
                                           "002d00020101" /* PSK modes: psk_dhe_ke */
                                           "4a4a0000"};   /* a GREASE extension */
static const struct synth grease_suites = {.version = 0x0303, .suites = "1a1a2a2a3a3a"};
static const struct synth no_ext = {.version = 0x0303, .suites = "c02bc02c"};
static const struct synth tls10 = {.version = 0x0301, .suites = "c013"};
/* PSK modes: psk_ke alone (no (EC)DHE) */
static const struct synth psk_ke_only = {
    .version = 0x0303, .suites = "1301", .ext = "002d00020100"};
/* supported_versions 0x0305 and 1.2 */
static const struct synth future_version = {
    .version = 0x0303, .suites = "1301", .ext = "002b00050403050303"};
/* supported_versions: TLS 1.3 only (a client with TLS 1.2 switched off) */
static const struct synth only13 = {.version = 0x0303, .suites = "1301", .ext = "002b0003020304"};
/* supported_versions: 1.1 and 1.0 only, with a TLS 1.2 legacy_version */
static const struct synth only11 = {
    .version = 0x0303, .suites = "c013", .ext = "002b00050403020301"};
static const struct synth many_suites = {.version = 0x0303, .suites = "c02b", .repeat = 500};
/* ALPN "ftp\0" and "h" */
static const struct synth alpn_odd = {.version = 0x0303,
                                      .suites = "c02b",
                                      .ext = "0010000900070466747000"
                                             "0168"};
/* ALPN list of 16 bytes in an extension of 6 */
static const struct synth alpn_list_lies = {.version = 0x0303,
                                            .suites = "c02b",
                                            .ext = "001000060010"
                                                   "03667470"};
/* ALPN "ftp", then a name of 9 bytes with 2 left */
static const struct synth alpn_name_lies = {.version = 0x0303,
                                            .suites = "c02b",
                                            .ext = "001000090007"
                                                   "03667470"
                                                   "096832"};
/* ALPN a 100-byte name, then "ftp" */
static const struct synth alpn_long = {.version = 0x0303, .suites = "c02b", .ext = ALPN_LONG};
/* key shares X25519 (2-byte key), then P-256 claiming 65 bytes with 2 left */
static const struct synth share_lies = {.version = 0x0303,
                                        .suites = "1301",
                                        .ext = "0033000e000c"
                                               "001d0002abcd"
                                               "001700410000"};
/* groups, then an extension of 255 bytes with 2 left */
static const struct synth ext_lies = {.version = 0x0303,
                                      .suites = "c02b",
                                      .ext = "000a00060004001d0017"
                                             "001000ff0003"};

static const struct hello_case cases[] = {
    /* Real clients. */
    {"openssl s_client, TLS 1.3, ALPN ftp", hello_openssl13, .want = OPENSSL13},
    {"openssl s_client -tls1_2", hello_openssl12, .want = OPENSSL12},
    {"curl ftps://", hello_curl, .want = CURL},
    {"gnutls-cli --alpn=ftp", hello_gnutls, .want = GNUTLS},
    {"Python ssl, ALPN http/1.1 and h2", hello_python, .want = PYTHON},

    /* Cut short: as far as the bytes go, never further. */
    {"empty", "", .want = ""},
    {"inside the record header", hello_openssl13, .cut = 3, .want = ""},
    {"record header only", hello_openssl13, .cut = 5, .want = ""},
    {"inside the handshake header", hello_openssl13, .cut = 7, .want = ""},
    {"inside the session id", hello_openssl13, .cut = 60, .want = "hs v0303"},
    {"inside the suites", hello_openssl13, .cut = 100, .want = "hs v0303"},
    {"inside the extensions", hello_openssl13, .cut = 200, .want = "hs v0303 suites 30 1302"},

    /* Lengths that lie. */
    {"record longer than what came, hello complete", hello_openssl13, .npatch = 2,
     .patch = {{3, 0x40}, {4, 0x00}}, .want = OPENSSL13},
    {"hello longer than its record (fragmented): all read, not parsed", hello_openssl13,
     .npatch = 1, .patch = {{7, 0x02}},
     .want = "hs v0304 tls13 suites 30 1302 groups 10 001d shares 1 001d alpn 'ftp' ftp psk_dhe"},
    {"hello shorter than its session id", hello_openssl13, .npatch = 2,
     .patch = {{7, 0x00}, {8, 0x40}}, .want = "hs v0303"},
    {"extensions longer than the hello", hello_openssl13, .npatch = 1, .patch = {{142, 0x01}},
     .want = "hs v0303 suites 30 1302"},
    {"suites longer than the hello", hello_openssl13, .npatch = 1, .patch = {{76, 0x7f}},
     .want = "hs v0303"},
    {"one extension longer than the block", NULL, &ext_lies,
     .want = "hs v0303 suites 1 c02b groups 2 001d"},
    {"ALPN list longer than its extension", NULL, &alpn_list_lies,
     .want = "hs parsed v0303 suites 1 c02b alpn ''"},
    {"ALPN name longer than its list", NULL, &alpn_name_lies,
     .want = "hs parsed v0303 suites 1 c02b alpn 'ftp' ftp"},
    {"key share longer than its list", NULL, &share_lies,
     .want = "hs parsed v0303 suites 1 1301 shares 2 001d"},

    /* Built here. */
    {"GREASE suites, groups, versions, shares, extension", NULL, &grease,
     .want = "hs parsed v0304 tls13 suites 2 1301 groups 1 001d shares 1 001d psk_dhe"},
    {"only GREASE suites", NULL, &grease_suites, .want = "hs parsed v0303"},
    {"no extensions", NULL, &no_ext, .want = "hs parsed v0303 suites 2 c02b"},
    {"TLS 1.0, no extensions", NULL, &tls10, .want = "hs parsed v0301 no12 suites 1 c013"},
    {"PSK mode psk_ke only", NULL, &psk_ke_only, .want = "hs parsed v0303 suites 1 1301"},
    {"a version above TLS 1.3 is not TLS 1.3", NULL, &future_version,
     .want = "hs parsed v0303 suites 1 1301"},
    {"TLS 1.3 only: no TLS 1.2", NULL, &only13, .want = "hs parsed v0304 tls13 no12 suites 1 1301"},
    {"supported_versions 1.1, 1.0: no TLS 1.2 whatever legacy_version says", NULL, &only11,
     .want = "hs parsed v0302 no12 suites 1 c013"},
    {"500 suites: the first 128 kept", NULL, &many_suites,
     .want = "hs parsed v0303 suites 128 c02b"},
    {"ALPN names with control bytes", NULL, &alpn_odd,
     .want = "hs parsed v0303 suites 1 c02b alpn 'ftp?, h'"},
    {"ALPN names longer than the log keeps", NULL, &alpn_long,
     .want = "hs parsed v0303 suites 1 c02b alpn '" ALPN_LONG_SHOWN "' ftp"},

    /* Not a ClientHello. */
    {"clear text", "474554202f20485454502f312e310d0a", .want = ""},
    {"SSLv2-format hello", "801b0103010003000000100100800001020304", .want = ""},
    {"a ServerHello",
     "160303000602000002"
     "0303",
     .want = ""},
};

START_TEST(test_hello)
{
    const struct hello_case *k = &cases[_i];
    static unsigned char buf[HELLO_CAP];
    char got[512];
    size_t len = k->syn != NULL ? build(k->syn, buf, sizeof buf) : unhex(k->hex, buf, sizeof buf);
    if (k->cut > 0) {
        ck_assert(k->cut <= len);
        len = k->cut;
    }
    for (size_t i = 0; i < k->npatch; i++) {
        buf[k->patch[i].at] = k->patch[i].val;
    }
    /* The input is copied to the heap at its exact size, so ASan sees any
     * read past its end. */
    unsigned char *in = malloc(len > 0 ? len : 1);
    ck_assert(in != NULL);
    memcpy(in, buf, len);
    struct tls_hello h;
    memset(&h, 0xa5, sizeof h); /* tls_hello_parse must write every field */
    tls_hello_parse(in, len, &h);
    free(in);
    ck_assert_uint_le(h.nsuites, DEFS_TLS_HELLO_SUITES);
    ck_assert_uint_le(h.ngroups, DEFS_TLS_HELLO_GROUPS);
    ck_assert_uint_le(h.nshares, DEFS_TLS_HELLO_SHARES);
    ck_assert_uint_lt(strnlen(h.alpn, sizeof h.alpn), sizeof h.alpn);
    describe(&h, got, sizeof got);
    ck_assert_msg(strcmp(got[0] == ' ' ? got + 1 : got, k->want) == 0,
                  "%s:\n got  '%s'\n want '%s'", k->name, got, k->want);
}
END_TEST

/* Every prefix of every real hello: whatever the cut, the parse stays in
 * bounds and claims a complete hello only for the whole record. */
static const char *const real[] = {hello_openssl13, hello_openssl12, hello_curl, hello_gnutls,
                                   hello_python};

START_TEST(test_prefixes)
{
    static unsigned char buf[HELLO_CAP];
    size_t len = unhex(real[_i], buf, sizeof buf);
    for (size_t cut = 0; cut <= len; cut++) {
        unsigned char *in = malloc(cut > 0 ? cut : 1);
        ck_assert(in != NULL);
        memcpy(in, buf, cut);
        struct tls_hello h;
        tls_hello_parse(in, cut, &h);
        free(in);
        ck_assert_msg(h.parsed == (cut == len), "cut at %zu of %zu: parsed %d", cut, len, h.parsed);
        ck_assert(h.nsuites <= DEFS_TLS_HELLO_SUITES && h.ngroups <= DEFS_TLS_HELLO_GROUPS &&
                  h.nshares <= DEFS_TLS_HELLO_SHARES);
    }
}
END_TEST

/* GREASE values are 0x?a?a with both bytes equal (RFC 8701 §2). */
START_TEST(test_grease)
{
    int n = 0;
    for (unsigned v = 0; v <= 0xffff; v++) {
        bool want = (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
        ck_assert_int_eq(tls_hello_is_grease((uint16_t)v), want);
        n += want;
    }
    ck_assert_int_eq(n, 16);
    ck_assert(tls_hello_is_grease(0xfafa) && !tls_hello_is_grease(0x0a1a));
}
END_TEST

static Suite *hello_suite(void)
{
    Suite *s = suite_create("tls_hello");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_hello, 0, N(cases));
    tcase_add_loop_test(tc, test_prefixes, 0, N(real));
    tcase_add_test(tc, test_grease);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hello_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
