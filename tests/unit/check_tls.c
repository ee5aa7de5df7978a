/* TLS (SPEC §4.5, §5 "TLS details", "Certificates as logins"): tls.c's
 * server against a plain mbed TLS client in a thread over a socketpair
 * (tls_client.h), with certificates made by tls_gen_cert. Each case says
 * what the client must see on the wire (alerts, ServerHello extensions,
 * CertificateRequest) and what the server must report. Runs against the
 * mbed TLS the tree is built with: 2.28 (TLS 1.2) or 3.6 (TLS 1.3 too). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "log.h"
#include "policy.h"
#include "sys.h"
#include "tls.h"
#include "tls_client.h"

/* Files made once in main(), shared by the forked tests. */
static char dir[64];
static char srv_crt[128], srv_key[128], a_crt[128], a_key[128], b_crt[128], b_key[128];
static char enc_key[128], enc8_key[128], keylog[128];
static char a_fp[80]; /* "sha256:..." of client certificate A */

static const char enc_key_pem[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "Proc-Type: 4,ENCRYPTED\n"
    "DEK-Info: AES-256-CBC,42C5BDD9FACE1F17E69F7B992ACEAC15\n"
    "\n"
    "h2ydmBMQNmrDlTpcn73gR8loNKGIayMcTB7lziarVuN6mwgkr20/bmq4URySang1\n"
    "YTwer5c+F3C3opwRcCRW2k90tpaRoBvt5afyKdcMQ6aLZVCLsdehP6faKmjtOMbn\n"
    "4vLeugNa2yhOPkFDXJN3Tmx9GUQDwB/AWUm481Fm3Hw=\n"
    "-----END EC PRIVATE KEY-----\n";
static const char enc8_key_pem[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgDRTn30kBJuwICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEA/huT9Q+jBRaYTuI4y/C+4EgZBN\n"
    "LZNmEK9sY1pEdTWvqMI2sUD/c72/MWkpOiIPnqKH4BlDIYduSCjmtS5BZonymD+H\n"
    "DsWMBgZbnSZKyGVXlCpMc8SFzBK+YM5OWQlX9nxBN+pw6o8UidypxvYRAMl0tQpa\n"
    "5Mlutxx+3qrBraf0SnEaCri6elzhNi1z0U4cHSBA4aiD/2L5ggwN1GyL4Pz2Bv8=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0) {
        perror(path);
        exit(99);
    }
}

static void mkpol(struct policy *p)
{
    pol_defaults(p);
    p->path = (char *)"test.policy";
    p->cert[0] = srv_crt;
    p->key[0] = srv_key;
    p->ncert = p->nkey = 1;
}

static struct tls_ctx *mkctx(const struct policy *p)
{
    char err[512] = "";
    struct tls_ctx *ctx = tls_init(p, err, sizeof err);
    ck_assert_msg(ctx != NULL, "tls_init: %s", err);
    return ctx;
}

/* One server-side handshake against a client with options o. Returns the
 * connection (or NULL, with err filled); the client runs until the test
 * closes sv. */
struct run {
    int sv[2];
    struct tc t;
    struct tc_result r;
    struct tls_conn *c;
    enum tls_fail why;
    char err[512];
};

static void run_start(struct run *x, struct tls_ctx *ctx, enum tls_role role,
                      const struct tc_opts *o, int timeout_ms)
{
    memset(x->err, 0, sizeof x->err);
    tc_result_init(&x->r);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, x->sv), 0);
    tc_start(&x->t, x->sv[1], o, &x->r);
    x->why = TLS_FAIL_OTHER; /* no case expects it: tls_accept must overwrite it */
    x->c = tls_accept(ctx, x->sv[0], x->sv[0], role, timeout_ms, &x->why, x->err, sizeof x->err);
}

/* Ends the server side (close_notify if the handshake worked), waits for
 * the client, scans what it received. */
static void run_end(struct run *x)
{
    if (x->c != NULL) {
        (void)tls_close(x->c, false, 1000);
        x->c = NULL;
    }
    close(x->sv[0]);
    tc_join(&x->t);
    tc_scan(&x->r);
}

static void sha256_file_der(const char *path, unsigned char out[32])
{
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    ck_assert_int_eq(mbedtls_x509_crt_parse_file(&crt, path), 0);
#if TC_V3
    ck_assert_int_eq(mbedtls_sha256(crt.raw.p, crt.raw.len, out, 0), 0);
#else
    ck_assert_int_eq(mbedtls_sha256_ret(crt.raw.p, crt.raw.len, out, 0), 0);
#endif
    mbedtls_x509_crt_free(&crt);
}

/* ------------------------------------------------------------ handshakes */

static const int cbc_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
    0,
};

enum {
    RAW_NONE,
    RAW_TLS10,
    RAW_TLS11,
    RAW_P384,
    RAW_SSLV2,
    RAW_PLAIN,
    RAW_EMPTY,
    RAW_SILENT,
    RAW_STALL,
    RAW_CUT
};
enum { CERT_NONE, CERT_A, CERT_B };
enum { PEER_ANY, PEER_NONE, PEER_A };

/* Zero fields are "default" / "not checked". */
struct hs_case {
    const char *name;
    enum tc_ver ver;
    int raw;
    const int *suites;
    const char *alpn[3];
    int client_cert;
    enum pol_client_cert ccert;
    bool distrust;  /* the client verifies the server against another CA */
    int timeout_ms; /* 0: 5000 */
    bool ok;
    const char *err_has;    /* the server's diagnosis contains this */
    enum tls_fail fail;     /* and tls_accept's reason (TLS_FAIL_NONE: ok) */
    enum tls_fail fail_alt; /* another reason the race may give; 0: none */
    int alert;              /* the fatal alert the client must see; 0: not checked */
    int peer;
    const char *alpn_got;
};

#define OPT POL_CCERT_OPTIONAL
#define REQ POL_CCERT_REQUIRED
static const struct hs_case hs_cases[] = {
    {.name = "default client", .ok = true, .peer = PEER_NONE, .alpn_got = ""},
    {.name = "TLS 1.2 client", .ver = TC_VER_12, .ok = true, .peer = PEER_NONE, .alpn_got = ""},
    {.name = "TLS 1.0 ClientHello",
     .raw = RAW_TLS10,
     .err_has = "client offered only TLS 1.0/1.1",
     .fail = TLS_FAIL_OLD_VERSION,
     .alert = 70},
    {.name = "TLS 1.1 ClientHello",
     .raw = RAW_TLS11,
     .err_has = "client offered only TLS 1.0/1.1",
     .fail = TLS_FAIL_OLD_VERSION,
     .alert = 70},
#if !TC_V3
    /* 3.6 has no TLS 1.0/1.1 client left; the raw hellos above cover it. */
    {.name = "TLS 1.1 mbed TLS client",
     .ver = TC_VER_11,
     .err_has = "client offered only TLS 1.0/1.1",
     .fail = TLS_FAIL_OLD_VERSION,
     .alert = 70},
#endif
    {.name = "CBC-only client",
     .ver = TC_VER_12,
     .suites = cbc_suites,
     .err_has = "no shared cipher: the client offered only",
     .fail = TLS_FAIL_NO_SHARED_CIPHER,
     .alert = 40},
    {.name = "ALPN http/1.1",
     .alpn = {"http/1.1"},
     .err_has = "client ALPN without ftp",
     .fail = TLS_FAIL_ALPN,
     .alert = 120},
    {.name = "ALPN http/1.1, TLS 1.2",
     .ver = TC_VER_12,
     .alpn = {"http/1.1"},
     .err_has = "client ALPN without ftp",
     .fail = TLS_FAIL_ALPN,
     .alert = 120},
    {.name = "ALPN ftp", .alpn = {"ftp"}, .ok = true, .peer = PEER_NONE, .alpn_got = "ftp"},
    {.name = "ALPN h2, ftp",
     .ver = TC_VER_12,
     .alpn = {"h2", "ftp"},
     .ok = true,
     .peer = PEER_NONE,
     .alpn_got = "ftp"},
    {.name = "client-cert off, client has one",
     .client_cert = CERT_A,
     .ok = true,
     .peer = PEER_NONE,
     .alpn_got = ""},
    {.name = "client-cert optional, trusted",
     .client_cert = CERT_A,
     .ccert = OPT,
     .ok = true,
     .peer = PEER_A,
     .alpn_got = ""},
    {.name = "client-cert optional, trusted, TLS 1.2",
     .ver = TC_VER_12,
     .client_cert = CERT_A,
     .ccert = OPT,
     .ok = true,
     .peer = PEER_A,
     .alpn_got = ""},
    {.name = "client-cert optional, untrusted",
     .client_cert = CERT_B,
     .ccert = OPT,
     .ok = true,
     .peer = PEER_NONE,
     .alpn_got = ""},
    {.name = "client-cert optional, untrusted, TLS 1.2",
     .ver = TC_VER_12,
     .client_cert = CERT_B,
     .ccert = OPT,
     .ok = true,
     .peer = PEER_NONE,
     .alpn_got = ""},
    {.name = "client-cert optional, none",
     .ccert = OPT,
     .ok = true,
     .peer = PEER_NONE,
     .alpn_got = ""},
    {.name = "client-cert required, none",
     .ccert = REQ,
     .err_has = "client did not send a certificate (client-cert required)",
     .fail = TLS_FAIL_CLIENT_CERT},
    {.name = "client-cert required, none, TLS 1.2",
     .ver = TC_VER_12,
     .ccert = REQ,
     .err_has = "client did not send a certificate (client-cert required)",
     .fail = TLS_FAIL_CLIENT_CERT},
    {.name = "client-cert required, untrusted",
     .client_cert = CERT_B,
     .ccert = REQ,
     .err_has = "client certificate not trusted by client-ca",
     .fail = TLS_FAIL_CLIENT_CERT},
    {.name = "client-cert required, untrusted, TLS 1.2",
     .ver = TC_VER_12,
     .client_cert = CERT_B,
     .ccert = REQ,
     .err_has = "client certificate not trusted by client-ca",
     .fail = TLS_FAIL_CLIENT_CERT},
    {.name = "client-cert required, trusted",
     .client_cert = CERT_A,
     .ccert = REQ,
     .ok = true,
     .peer = PEER_A,
     .alpn_got = ""},
    /* TLS 1.3: the alert may come encrypted or after our EPIPE; either way
     * the log says the client refused our certificate. */
    {.name = "client rejects the server certificate",
     .distrust = true,
     .err_has = "accept the server certificate",
     .fail = TLS_FAIL_ALERT,
     .fail_alt = TLS_FAIL_PEER_CLOSED},
    {.name = "client rejects the server certificate, TLS 1.2",
     .ver = TC_VER_12,
     .distrust = true,
     .err_has = "client sent fatal alert 48 (unknown_ca)",
     .fail = TLS_FAIL_ALERT},
    {.name = "TLS 1.2 ClientHello with only P-384 and P-521",
     .raw = RAW_P384,
     .err_has =
         "no shared curve: the client offered only P-384, P-521; ftpsd uses X25519 and P-256",
     .fail = TLS_FAIL_NO_SHARED_GROUP},
    {.name = "SSLv2-format hello",
     .raw = RAW_SSLV2,
     .err_has = "client sent an SSLv2-format hello",
     .fail = TLS_FAIL_NOT_TLS},
    {.name = "plain text instead of TLS",
     .raw = RAW_PLAIN,
     .err_has = "client did not start TLS",
     .fail = TLS_FAIL_NOT_TLS},
    {.name = "peer closes before its hello",
     .raw = RAW_EMPTY,
     .err_has = "peer closed during handshake",
     .fail = TLS_FAIL_PEER_CLOSED},
    {.name = "peer closes inside its hello",
     .raw = RAW_CUT,
     .err_has = "peer closed during handshake (inside its ClientHello)",
     .fail = TLS_FAIL_PEER_CLOSED},
    {.name = "silent client",
     .raw = RAW_SILENT,
     .timeout_ms = 300,
     .err_has = "handshake timed out",
     .fail = TLS_FAIL_TIMEOUT},
    {.name = "client stalls inside its hello",
     .raw = RAW_STALL,
     .timeout_ms = 300,
     .err_has = "handshake timed out",
     .fail = TLS_FAIL_TIMEOUT},
};
#undef OPT
#undef REQ

/* tc_build_hello offers X25519 and P-256; this makes them P-384 and P-521. */
static void only_p384(unsigned char *hello, size_t n)
{
    static const unsigned char groups[] = {0x00, 0x0a, 0x00, 0x06, 0x00,
                                           0x04, 0x00, 0x1d, 0x00, 0x17};
    for (size_t i = 0; i + sizeof groups <= n; i++) {
        if (memcmp(hello + i, groups, sizeof groups) == 0) {
            hello[i + 7] = 0x18;
            hello[i + 9] = 0x19;
            return;
        }
    }
    ck_abort_msg("no supported_groups in the built hello");
}

START_TEST(test_handshake)
{
    const struct hs_case *k = &hs_cases[_i];
    struct policy p;
    struct tc_opts o = {
        .ver = k->ver, .suites = k->suites, .act = TC_ACT_CLOSE, .sni = "ftp.example.test"};
    unsigned char raw[512];
    static const uint16_t old_suites[] = {0xc009, 0xc013, 0x002f, 0x00ff};
    static const uint16_t new_suites[] = {0xc02b, 0xcca9}; /* ECDHE-ECDSA, GCM / ChaCha20 */
    /* SSLv2 CLIENT-HELLO (RFC 6101 E.1): version 3.1, one SSLv2 suite. */
    static const unsigned char sslv2_hello[] = {
        0x80, 0x1b, 0x01, 0x03, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x80, 0x00,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e};
    struct run x;

    mkpol(&p);
    p.client_cert = k->ccert;
    if (k->ccert != POL_CCERT_OFF) {
        p.client_ca = a_crt; /* A is self-signed: its own trust anchor */
    }
    if (k->distrust) {
        o.trust = b_crt;
    }
    for (int i = 0; i < 3 && k->alpn[i] != NULL; i++) {
        o.alpn[i] = k->alpn[i];
    }
    if (k->client_cert == CERT_A) {
        o.cert = a_crt;
        o.key = a_key;
    } else if (k->client_cert == CERT_B) {
        o.cert = b_crt;
        o.key = b_key;
    }
    switch (k->raw) {
    case RAW_TLS10:
    case RAW_TLS11:
        o.use_raw = true;
        o.raw = raw;
        o.rawlen =
            tc_build_hello(raw, sizeof raw, k->raw == RAW_TLS10 ? 0x0301 : 0x0302, old_suites, 4);
        break;
    case RAW_P384:
        o.use_raw = true;
        o.raw = raw;
        o.rawlen = tc_build_hello(raw, sizeof raw, 0x0303, new_suites, 2);
        only_p384(raw, o.rawlen);
        break;
    case RAW_SSLV2:
        o.use_raw = true;
        o.raw = sslv2_hello;
        o.rawlen = sizeof sslv2_hello;
        break;
    case RAW_PLAIN:
        o.use_raw = true;
        o.raw = (const unsigned char *)"USER anonymous\r\n";
        o.rawlen = 16;
        break;
    case RAW_EMPTY:
        o.use_raw = true;
        o.rawlen = 0;
        break;
    case RAW_SILENT:
        o.use_raw = true;
        o.act = TC_ACT_HOLD;
        break;
    case RAW_CUT:
        o.use_raw = true;
        o.raw = (const unsigned char *)"\x16\x03\x01";
        o.rawlen = 3;
        break;
    case RAW_STALL:
        o.use_raw = true;
        o.act = TC_ACT_HOLD;
        o.raw = (const unsigned char *)"\x16\x03\x01";
        o.rawlen = 3;
        break;
    default:
        break;
    }
    if (o.use_raw && o.act != TC_ACT_HOLD) {
        o.act = TC_ACT_WRITE_EOF; /* raw senders close their side after sending */
    }
    struct tls_ctx *ctx = mkctx(&p);
    int64_t t0 = sys_now_ms();
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, k->timeout_ms ? k->timeout_ms : 5000);
    int64_t took = sys_now_ms() - t0;
    bool ok = x.c != NULL;
    unsigned char got[32], want[32];
    bool has_peer = ok && tls_peer_cert_sha256(x.c, got);
    const char *sni = ok ? tls_sni(x.c) : NULL;
    char sni_copy[64] = "";
    if (sni != NULL) {
        snprintf(sni_copy, sizeof sni_copy, "%s", sni);
    }
    run_end(&x);

    ck_assert_msg(ok == k->ok, "%s: handshake %s (server said: %s; client -0x%04x)", k->name,
                  ok ? "succeeded" : "failed", x.err, (unsigned)-x.r.hs_ret);
    if (k->err_has != NULL) {
        ck_assert_msg(strstr(x.err, k->err_has) != NULL, "%s: diagnosis '%s' lacks '%s'", k->name,
                      x.err, k->err_has);
    }
    ck_assert_msg(x.why == k->fail || (k->fail_alt != TLS_FAIL_NONE && x.why == k->fail_alt),
                  "%s: reason %d, want %d (%s)", k->name, (int)x.why, (int)k->fail, x.err);
    if (k->alert != 0) {
        ck_assert_msg(x.r.alert == k->alert, "%s: client saw alert %d, want %d", k->name, x.r.alert,
                      k->alert);
    }
    if (k->timeout_ms > 0) {
        ck_assert_msg(took >= k->timeout_ms - 50 && took < k->timeout_ms + 2000,
                      "%s: gave up after %lld ms", k->name, (long long)took);
    }
    if (ok) {
        ck_assert_int_eq(x.r.hs_ret, 0);
        ck_assert_str_eq(sni_copy, "ftp.example.test");
        if (k->alpn_got != NULL) {
            ck_assert_msg(strcmp(x.r.alpn, k->alpn_got) == 0, "%s: ALPN '%s'", k->name, x.r.alpn);
        }
    }
    if (k->peer == PEER_NONE) {
        ck_assert_msg(!has_peer, "%s: a client certificate counted", k->name);
    } else if (k->peer == PEER_A) {
        ck_assert_msg(has_peer, "%s: no client certificate", k->name);
        sha256_file_der(a_crt, want);
        ck_assert_mem_eq(got, want, 32);
    }
    tls_free(ctx);
}
END_TEST

/* ------------------------------------------------------------ wire checks */

/* client-cert off sends no CertificateRequest at all; optional/required do
 * (TLS 1.2, where the message is visible on the wire). */
static const enum pol_client_cert creq_modes[] = {POL_CCERT_OFF, POL_CCERT_OPTIONAL,
                                                  POL_CCERT_REQUIRED};

START_TEST(test_cert_request)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.ver = TC_VER_12, .cert = a_crt, .key = a_key, .act = TC_ACT_CLOSE};
    mkpol(&p);
    p.client_cert = creq_modes[_i];
    if (p.client_cert != POL_CCERT_OFF) {
        p.client_ca = a_crt;
    }
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    unsigned char fp[32];
    bool peer = tls_peer_cert_sha256(x.c, fp);
    run_end(&x);
    ck_assert(x.r.saw_server_hello);
    ck_assert_int_eq(x.r.cert_request, p.client_cert != POL_CCERT_OFF);
    ck_assert_int_eq(peer, p.client_cert != POL_CCERT_OFF);
    tls_free(ctx);
}
END_TEST

START_TEST(test_extended_master_secret)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.ver = TC_VER_12, .act = TC_ACT_CLOSE};
    mkpol(&p);
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    run_end(&x);
    ck_assert(x.r.saw_server_hello);
    ck_assert_msg(x.r.server_ems, "ServerHello has no extended_master_secret");
    tls_free(ctx);
}
END_TEST

/* Client-initiated renegotiation: refused by default (the client's
 * renegotiation fails, no data gets through it), accepted with
 * `renegotiate client`. */
START_TEST(test_renegotiation)
{
    bool allow = _i == 1;
    struct policy p;
    struct run x;
    struct tc_opts o = {.ver = TC_VER_12, .act = TC_ACT_RENEG, .payload = "ping"};
    char buf[16] = "";
    mkpol(&p);
    p.renegotiate_client = allow;
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ssize_t n = tls_read(x.c, buf, sizeof buf - 1, 3000);
    if (n > 0) {
        buf[n] = '\0';
    }
    run_end(&x);
    if (allow) {
        ck_assert_int_eq(x.r.reneg_ret, 0);
        ck_assert_int_eq(n, 4);
        ck_assert_str_eq(buf, "ping");
    } else {
        ck_assert_msg(x.r.reneg_ret != 0, "renegotiation succeeded");
        ck_assert_int_lt(n, 0);
    }
    tls_free(ctx);
}
END_TEST

/* ------------------------------------------------------------ keylog */

static const enum tc_ver keylog_vers[] = {TC_VER_12, TC_VER_DEFAULT};

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

START_TEST(test_keylog)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.ver = keylog_vers[_i], .act = TC_ACT_CLOSE};
    char file[4096] = "";
    mkpol(&p);
    p.keylog = keylog;
    write_text(keylog, "", 0644); /* an existing, wider file is narrowed */
    ck_assert_int_eq(chmod(keylog, 0644), 0);
    struct tls_ctx *ctx = mkctx(&p);
    struct stat st;
    ck_assert_int_eq(stat(keylog, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    run_end(&x);
    tls_free(ctx);

    int fd = open(keylog, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ssize_t n = read(fd, file, sizeof file - 1);
    close(fd);
    ck_assert_int_gt(n, 0);
    file[n] = '\0';
    /* Byte for byte what the client derived: same randoms, same secrets. */
    ck_assert_str_eq(file, x.r.keylog);
    if (!x.r.is13) {
        /* CLIENT_RANDOM <64 hex> <96 hex>\n, one line */
        ck_assert_int_eq(n, 14 + 64 + 1 + 96 + 1);
        ck_assert(strncmp(file, "CLIENT_RANDOM ", 14) == 0);
        ck_assert(is_hex(file + 14, 64) && file[78] == ' ' && is_hex(file + 79, 96));
        ck_assert(file[175] == '\n');
    } else {
        ck_assert(strstr(file, "CLIENT_HANDSHAKE_TRAFFIC_SECRET ") == file);
        ck_assert(strstr(file, "\nSERVER_HANDSHAKE_TRAFFIC_SECRET ") != NULL);
        ck_assert(strstr(file, "\nCLIENT_TRAFFIC_SECRET_0 ") != NULL);
        ck_assert(strstr(file, "\nSERVER_TRAFFIC_SECRET_0 ") != NULL);
    }
}
END_TEST

/* A key log somebody else owns, or a symlink, is refused. */
START_TEST(test_keylog_refused)
{
    struct policy p;
    char path[160], err[512] = "";
    mkpol(&p);
    snprintf(path, sizeof path, "%s/keylog.link", dir);
    ck_assert_int_eq(symlink(keylog, path), 0);
    p.keylog = path;
    ck_assert(tls_init(&p, err, sizeof err) == NULL);
    ck_assert_msg(strstr(err, "symlink") != NULL, "%s", err);
    if (geteuid() == 0) {
        snprintf(path, sizeof path, "%s/keylog.other", dir);
        write_text(path, "", 0666);
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        p.keylog = path;
        ck_assert(tls_init(&p, err, sizeof err) == NULL);
        ck_assert_msg(strstr(err, "owned by the user ftpsd starts as") != NULL, "%s", err);
    }
}
END_TEST

/* ------------------------------------------------------------ resumption */

static const enum tc_ver resume_vers[] = {TC_VER_12, TC_VER_DEFAULT};

/* A control handshake that keeps the client's session. */
static void control_session(struct tls_ctx *ctx, enum tc_ver ver, struct tc_result *keep)
{
    struct run x;
    struct tc_opts o = {.ver = ver, .want_session = true, .act = TC_ACT_CLOSE};
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert(!tls_resumed(x.c));
    run_end(&x);
    ck_assert_msg(x.r.have_session, "client kept no session");
    *keep = x.r;
    /* the struct copy owns the session now */
}

/* What a handshake_with() came to. */
enum { HS_FAILED = -1, HS_FULL = 0, HS_RESUMED = 1, HS_REFUSED = 2 /* TLS_FAIL_NOT_RESUMED */ };

/* A handshake offering `session` (and only `suites`, if given); returns an
 * HS_ value. On TLS 1.2 it also checks that the client saw the same thing
 * on the wire (ServerHello echoing its session id). */
static int handshake_with(struct tls_ctx *ctx, enum tls_role role, enum tc_ver ver,
                          const mbedtls_ssl_session *session, const int *suites, char *err,
                          size_t errsz)
{
    struct run x;
    struct tc_opts o = {.ver = ver, .resume = session, .suites = suites, .act = TC_ACT_CLOSE};
    run_start(&x, ctx, role, &o, 5000);
    int res = x.c != NULL                     ? (tls_resumed(x.c) ? HS_RESUMED : HS_FULL)
              : x.why == TLS_FAIL_NOT_RESUMED ? HS_REFUSED
                                              : HS_FAILED;
    snprintf(err, errsz, "%s", x.err);
    run_end(&x);
    if (res >= 0 && session != NULL && x.r.saw_server_hello && !x.r.is13) {
        bool wire = tc_server_resumed(&x.r, session);
        ck_assert_msg(wire == (res == 1) || role == TLS_ROLE_CONTROL,
                      "server reports resumed=%d, the wire says %d", res, wire);
        if (role == TLS_ROLE_CONTROL) {
            res = wire ? 1 : 0; /* control: what the wire says */
        }
    }
    mbedtls_ssl_session_free(&x.r.session);
    return res;
}

static int data_handshake(struct tls_ctx *ctx, enum tc_ver ver, const mbedtls_ssl_session *session,
                          char *err, size_t errsz)
{
    return handshake_with(ctx, TLS_ROLE_DATA, ver, session, NULL, err, errsz);
}

START_TEST(test_resume)
{
    enum tc_ver ver = resume_vers[_i];
    struct policy p;
    char err[512];
    static struct tc_result ctl, other;
    mkpol(&p);
    p.data_reuse_required = true;
    struct tls_ctx *ctx = mkctx(&p);
    struct tls_ctx *ctx2 = mkctx(&p); /* another session's process */
    p.data_reuse_required = false;
    struct tls_ctx *lax = mkctx(&p);

    control_session(ctx, ver, &ctl);
    /* The control session resumes, on every data connection. */
    ck_assert_msg(data_handshake(ctx, ver, &ctl.session, err, sizeof err) == 1, "%s", err);
    ck_assert_msg(data_handshake(ctx, ver, &ctl.session, err, sizeof err) == 1, "%s", err);

    /* A fresh session is not a resumption: with data-reuse required it is
     * refused, whatever the version (test_not_resumed shows how). */
    int r = data_handshake(ctx, ver, NULL, err, sizeof err);
    ck_assert_int_eq(r, HS_REFUSED);
    ck_assert_msg(strstr(err, "did not resume") != NULL, "%s", err);
    /* Another process's session does not resume here. */
    control_session(ctx2, ver, &other);
    r = data_handshake(ctx, ver, &other.session, err, sizeof err);
    ck_assert_msg(r == HS_REFUSED, "foreign session: %d %s", r, err);

    /* data-reuse optional: a fresh data session completes, not resumed;
     * the control session still resumes. */
    static struct tc_result lax_ctl;
    control_session(lax, ver, &lax_ctl);
    ck_assert_int_eq(data_handshake(lax, ver, NULL, err, sizeof err), 0);
    ck_assert_int_eq(data_handshake(lax, ver, &lax_ctl.session, err, sizeof err), 1);
    ck_assert_int_eq(data_handshake(lax, ver, &other.session, err, sizeof err), 0);

    /* A control connection never resumes, not even this process's own
     * session (a new AUTH verifies the client afresh). */
    ck_assert_int_eq(
        handshake_with(ctx, TLS_ROLE_CONTROL, ver, &ctl.session, NULL, err, sizeof err), 0);
    /* ...and that control handshake replaced the session. */
    r = data_handshake(ctx, ver, &ctl.session, err, sizeof err);
    ck_assert_msg(r == HS_REFUSED, "session of a replaced control connection: %d", r);
    mbedtls_ssl_session_free(&ctl.session);
    control_session(ctx, ver, &ctl);

    /* A new control handshake (AUTH after REIN) replaces the session: the
     * old one no longer resumes. */
    static struct tc_result ctl2;
    control_session(ctx, ver, &ctl2);
    r = data_handshake(ctx, ver, &ctl.session, err, sizeof err);
    ck_assert_msg(r == HS_REFUSED, "old session after a new control handshake: %d", r);
    ck_assert_int_eq(data_handshake(ctx, ver, &ctl2.session, err, sizeof err), 1);

    /* Even a control handshake that fails ends the earlier session. */
    struct run x;
    struct tc_opts bad = {.ver = ver, .alpn = {"http/1.1", NULL}, .act = TC_ACT_CLOSE};
    run_start(&x, ctx, TLS_ROLE_CONTROL, &bad, 5000);
    ck_assert(x.c == NULL);
    run_end(&x);
    r = data_handshake(ctx, ver, &ctl2.session, err, sizeof err);
    ck_assert_msg(r == HS_REFUSED, "session before a failed control handshake: %d", r);

    mbedtls_ssl_session_free(&ctl.session);
    mbedtls_ssl_session_free(&ctl2.session);
    mbedtls_ssl_session_free(&other.session);
    mbedtls_ssl_session_free(&lax_ctl.session);
    tls_free(lax);
    tls_free(ctx2);
    tls_free(ctx);
}
END_TEST

/* TLS 1.2: a client that offers the control session's id but cannot use
 * its suite gets a full handshake (mbed TLS drops the cached session), and
 * that is not a resumption: data-reuse required refuses it. */
START_TEST(test_resume_other_suite)
{
    static const int aes_only[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0};
    struct policy p;
    char err[512];
    static struct tc_result ctl;
    mkpol(&p);
    p.data_reuse_required = true;
    struct tls_ctx *ctx = mkctx(&p);
    control_session(ctx, TC_VER_12, &ctl); /* ChaCha20 */
    ck_assert_int_eq(
        handshake_with(ctx, TLS_ROLE_DATA, TC_VER_12, &ctl.session, aes_only, err, sizeof err),
        HS_REFUSED);
    ck_assert_int_eq(data_handshake(ctx, TC_VER_12, &ctl.session, err, sizeof err), HS_RESUMED);
    mbedtls_ssl_session_free(&ctl.session);
    tls_free(ctx);
}
END_TEST

/* data-reuse required, a data connection with a fresh session: TLS 1.3
 * refuses it in the handshake; a TLS 1.2 handshake completes and is ended
 * with close_notify, so the client sees a clean end (and then the 522).
 * tls_accept gives TLS_FAIL_NOT_RESUMED for both. */
START_TEST(test_not_resumed)
{
    enum tc_ver ver = resume_vers[_i];
    struct policy p;
    struct run x;
    static struct tc_result ctl;
    struct tc_opts o = {.ver = ver, .act = TC_ACT_WAIT_CLOSE};
    mkpol(&p);
    p.data_reuse_required = true;
    struct tls_ctx *ctx = mkctx(&p);
    control_session(ctx, ver, &ctl);
    run_start(&x, ctx, TLS_ROLE_DATA, &o, 5000);
    ck_assert(x.c == NULL);
    ck_assert_int_eq(x.why, TLS_FAIL_NOT_RESUMED);
    ck_assert_str_eq(x.err, "data connection did not resume the control connection's TLS session "
                            "(data-reuse required)");
    run_end(&x);
    if (ctl.is13) {
        ck_assert_int_ne(x.r.hs_ret, 0);
    } else {
        ck_assert_int_eq(x.r.hs_ret, 0);
        ck_assert_msg(x.r.peer_close_seen, "no close_notify before the refusal (-0x%04x)",
                      (unsigned)-x.r.post_ret);
    }
    mbedtls_ssl_session_free(&ctl.session);
    tls_free(ctx);
}
END_TEST

#if TC_HAVE_13
/* TLS 1.3: one ticket on the control connection, none on data ones. */
START_TEST(test_tickets)
{
    struct policy p;
    struct run x;
    static struct tc_result ctl;
    mkpol(&p);
    struct tls_ctx *ctx = mkctx(&p);
    struct tc_opts o = {.ver = TC_VER_DEFAULT, .act = TC_ACT_READ, .read_expect = 5};
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert_int_eq(tls_write(x.c, "\x00\x07\x0e\x15\x1c", 5), 5);
    run_end(&x);
    ck_assert(x.r.is13);
    ck_assert_int_eq(x.r.tickets, 1);

    control_session(ctx, TC_VER_DEFAULT, &ctl);
    struct tc_opts d = {
        .ver = TC_VER_DEFAULT, .resume = &ctl.session, .act = TC_ACT_READ, .read_expect = 5};
    run_start(&x, ctx, TLS_ROLE_DATA, &d, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert(tls_resumed(x.c));
    ck_assert_int_eq(tls_write(x.c, "\x00\x07\x0e\x15\x1c", 5), 5);
    run_end(&x);
    ck_assert(x.r.read_ok);
    ck_assert_int_eq(x.r.tickets, 0);
    mbedtls_ssl_session_free(&ctl.session);
    tls_free(ctx);
}
END_TEST
#endif

/* ------------------------------------------------------------ I/O */

START_TEST(test_truncated)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.act = TC_ACT_WRITE_EOF, .payload = "hello"};
    char buf[16];
    mkpol(&p);
    p.data_reuse_required = false; /* a fresh data session */
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_DATA, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert_int_eq(tls_read(x.c, buf, sizeof buf, 3000), 5);
    ck_assert(memcmp(buf, "hello", 5) == 0);
    ck_assert_int_eq(tls_read(x.c, buf, sizeof buf, 3000), TLS_IO_TRUNCATED);
    tls_discard(x.c);
    x.c = NULL;
    run_end(&x);
    tls_free(ctx);
}
END_TEST

START_TEST(test_close_notify)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.act = TC_ACT_WRITE_CLOSE, .payload = "hello"};
    char buf[16];
    mkpol(&p);
    p.data_reuse_required = false; /* a fresh data session */
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_DATA, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert_int_eq(tls_read(x.c, buf, sizeof buf, 3000), 5);
    ck_assert_int_eq(tls_read(x.c, buf, sizeof buf, 3000), 0);
    ck_assert_int_eq(tls_read(x.c, buf, sizeof buf, 3000), 0);
    run_end(&x);
    tls_free(ctx);
}
END_TEST

START_TEST(test_read_timeout)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.act = TC_ACT_HOLD};
    char buf[16];
    mkpol(&p);
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    int64_t t0 = sys_now_ms();
    ck_assert_int_eq(tls_read(x.c, buf, sizeof buf, 200), TLS_IO_TIMEOUT);
    int64_t took = sys_now_ms() - t0;
    ck_assert_msg(took >= 190 && took < 2000, "timeout after %lld ms", (long long)took);
    ck_assert(!tls_pending(x.c));
    run_end(&x);
    tls_free(ctx);
}
END_TEST

/* CCC / REIN helpers: a control session whose client acts as o says, with
 * the 200 reply already written; then what the client sent in the clear. */
static struct tls_ctx *start_ccc(struct policy *p, struct run *x, const struct tc_opts *o)
{
    mkpol(p);
    struct tls_ctx *ctx = mkctx(p);
    run_start(x, ctx, TLS_ROLE_CONTROL, o, 5000);
    ck_assert_msg(x->c != NULL, "%s", x->err);
    ck_assert_int_eq(tls_write(x->c, "200 CCC ok\r\n", 12), 12);
    return ctx;
}

static void expect_clear(struct run *x, const char *want)
{
    char buf[32] = "";
    size_t got = 0;
    while (got < strlen(want)) {
        ssize_t n = read(x->sv[0], buf + got, sizeof buf - 1 - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_str_eq(buf, want);
}

/* The data connection's close (tls_close waiting for the peer): close_notify
 * both ways, and the bytes after it are left alone. */
START_TEST(test_close_both_ways)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.act = TC_ACT_WAIT_CLOSE, .after_close = "PBSZ 0\r\n"};
    struct tls_ctx *ctx = start_ccc(&p, &x, &o);
    ck_assert(tls_close(x.c, true, 3000));
    x.c = NULL;
    expect_clear(&x, "PBSZ 0\r\n");
    run_end(&x);
    ck_assert(x.r.peer_close_seen);
    tls_free(ctx);
}
END_TEST

/* tls_clear (CCC, REIN) with a client that answers close_notify and with
 * one that does not (curl's default CCC mode): either way the clear channel
 * goes on with exactly the bytes the client sent in the clear. */
static void clear_case(bool client_answers, enum tls_clear_result want)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {
        .act = TC_ACT_WAIT_CLOSE, .after_close = "PWD\r\n", .skip_close_reply = !client_answers};
    struct tls_ctx *ctx = start_ccc(&p, &x, &o);
    ck_assert_int_eq(tls_clear(x.c, 3000), want);
    x.c = NULL;
    expect_clear(&x, "PWD\r\n");
    run_end(&x);
    ck_assert(x.r.peer_close_seen);
    tls_free(ctx);
}

START_TEST(test_clear_client_answers)
{
    clear_case(true, TLS_CLEAR_CLEAN);
}
END_TEST

START_TEST(test_clear_client_skips_close_notify)
{
    clear_case(false, TLS_CLEAR_PEER_SKIPPED);
}
END_TEST

START_TEST(test_big_write)
{
    enum { N = 300000 };
    static unsigned char big[N];
    struct policy p;
    struct run x;
    struct tc_opts o = {.act = TC_ACT_READ, .read_expect = N};
    for (size_t i = 0; i < N; i++) {
        big[i] = (unsigned char)(i * 7u);
    }
    mkpol(&p);
    p.data_reuse_required = false; /* a fresh data session */
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_DATA, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert_int_eq(tls_write(x.c, big, N), N);
    run_end(&x);
    ck_assert_int_eq(x.r.read_got, N);
    ck_assert(x.r.read_ok);
    tls_free(ctx);
}
END_TEST

START_TEST(test_describe)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.ver = TC_VER_12, .act = TC_ACT_CLOSE};
    char d[128];
    mkpol(&p);
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    tls_describe(x.c, d, sizeof d);
    ck_assert_msg(strcmp(d, "TLSv1.2 TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256") == 0,
                  "describe: %s (ChaCha20 is measured fastest on both builds)", d);
    ck_assert(tls_sni(x.c) == NULL);
    run_end(&x);
    ck_assert(strncmp(tls_version_string(), "mbed TLS ", 9) == 0);
    tls_free(ctx);
}
END_TEST

/* SNI is recorded whatever it is, with control bytes neutralised. */
START_TEST(test_sni_sanitised)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.act = TC_ACT_CLOSE, .sni = "evil\x01name.test"};
    char sni[64] = "";
    mkpol(&p);
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert(tls_sni(x.c) != NULL);
    snprintf(sni, sizeof sni, "%s", tls_sni(x.c));
    run_end(&x);
    ck_assert_str_eq(sni, "evil?name.test");
    tls_free(ctx);
}
END_TEST

/* ------------------------------------------------------------ policy */

struct reports {
    int n;
    char text[16][512];
};

static void collect(void *ctx, const char *file, int line, const char *msg)
{
    struct reports *r = ctx;
    (void)line;
    ck_assert_str_eq(file, "test.policy");
    if (r->n < 16) {
        snprintf(r->text[r->n++], sizeof r->text[0], "%s", msg);
    }
}

enum {
    PC_OK,
    PC_IANA,
    PC_IANA13,
    PC_UNKNOWN,
    PC_MIN13,
    PC_ENC,
    PC_ENC8,
    PC_MISMATCH,
    PC_PERMS,
    PC_MISSING,
    PC_NOCA,
    PC_KEYLOG
};

struct pc_case {
    int kind;
    int errors;
    const char *has; /* a report contains this */
};

static const struct pc_case pc_cases[] = {
    {PC_OK, 0, NULL},
    {PC_IANA, 0, NULL},
#if TC_HAVE_13
    {PC_IANA13, 0, NULL},
#else
    {PC_IANA13, 1, "unknown suite 'TLS_AES_128_GCM_SHA256'"},
#endif
    {PC_UNKNOWN, 1, "unknown suite 'TLS_FOO_WITH_BAR'"},
#if TC_HAVE_13
    {PC_MIN13, 0, NULL},
#else
    {PC_MIN13, 1, "tls-min 1.3"},
#endif
    {PC_ENC, 1, "is encrypted; ftpsd needs an unencrypted key (mode 0600)"},
    {PC_ENC8, 1, "is encrypted; ftpsd needs an unencrypted key (mode 0600)"},
    {PC_MISMATCH, 1, "does not match certificate"},
    {PC_PERMS, 0, "warning: key"},
    {PC_MISSING, 1, "cannot read"},
    {PC_NOCA, 1, "needs client-ca"},
    {PC_KEYLOG, 0, "warning: keylog"},
};

static void apply_pc(struct policy *p, int kind, char **names)
{
    static char perm_key[160];
    switch (kind) {
    case PC_IANA:
        names[0] = (char *)"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
        names[1] = (char *)"tls-ecdhe-ecdsa-with-chacha20-poly1305-sha256";
        names[2] = (char *)"ECDHE-ECDSA-AES256-GCM-SHA384";
        p->ciphers = names;
        p->nciphers = 3;
        break;
    case PC_IANA13:
        names[0] = (char *)"TLS_AES_128_GCM_SHA256";
        names[1] = (char *)"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
        p->ciphers = names;
        p->nciphers = 2;
        break;
    case PC_UNKNOWN:
        names[0] = (char *)"TLS_FOO_WITH_BAR";
        p->ciphers = names;
        p->nciphers = 1;
        break;
    case PC_MIN13:
        p->tls_min = 13;
        break;
    case PC_ENC:
        p->key[0] = enc_key;
        break;
    case PC_ENC8:
        p->key[0] = enc8_key;
        break;
    case PC_MISMATCH:
        p->key[0] = a_key;
        break;
    case PC_PERMS: {
        /* a copy of the server key, readable by group */
        char buf[4096];
        int in = open(srv_key, O_RDONLY);
        ssize_t n = read(in, buf, sizeof buf - 1);
        close(in);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        snprintf(perm_key, sizeof perm_key, "%s/group.key", dir);
        write_text(perm_key, buf, 0640);
        ck_assert_int_eq(chmod(perm_key, 0640), 0);
        p->key[0] = perm_key;
        break;
    }
    case PC_MISSING:
        p->cert[0] = (char *)"/nonexistent/server.crt";
        break;
    case PC_NOCA:
        p->client_cert = POL_CCERT_OPTIONAL;
        break;
    case PC_KEYLOG:
        p->keylog = keylog;
        break;
    default:
        break;
    }
}

START_TEST(test_check_policy)
{
    const struct pc_case *k = &pc_cases[_i];
    struct policy p;
    struct reports r = {0};
    char *names[4];
    mkpol(&p);
    apply_pc(&p, k->kind, names);
    int errors = tls_check_policy(&p, collect, &r);
    ck_assert_msg(errors == k->errors, "case %d: %d errors (first: %s)", _i, errors,
                  r.n > 0 ? r.text[0] : "-");
    if (k->has != NULL) {
        bool found = false;
        for (int i = 0; i < r.n; i++) {
            found = found || strstr(r.text[i], k->has) != NULL;
        }
        ck_assert_msg(found, "case %d: no report with '%s' (first: %s)", _i, k->has,
                      r.n > 0 ? r.text[0] : "-");
    }
    /* tls_init agrees: it fails exactly where -t counts an error. */
    char err[512] = "";
    struct tls_ctx *ctx = tls_init(&p, err, sizeof err);
    ck_assert_msg((ctx != NULL) == (k->errors == 0), "case %d: tls_init said '%s'", _i, err);
    if (ctx == NULL && k->has != NULL) {
        ck_assert_msg(strstr(err, k->has) != NULL, "case %d: tls_init: %s", _i, err);
    }
    tls_free(ctx);
}
END_TEST

#if TC_HAVE_13
/* tls-min 1.3: a TLS 1.2 client is refused, and told why. */
START_TEST(test_min13)
{
    struct policy p;
    struct run x;
    struct tc_opts o = {.ver = TC_VER_12, .act = TC_ACT_CLOSE};
    mkpol(&p);
    p.tls_min = 13;
    struct tls_ctx *ctx = mkctx(&p);
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert(x.c == NULL);
    ck_assert_int_eq(x.why, TLS_FAIL_OLD_VERSION);
    ck_assert_msg(strstr(x.err, "the policy requires TLS 1.3") != NULL, "%s", x.err);
    run_end(&x);
    tls_free(ctx);
}
END_TEST
#endif

/* ------------------------------------------------------------ --gen-cert */

START_TEST(test_gen_cert)
{
    char crt[160], key[160], fp[80], err[512] = "", hex[65];
    unsigned char want[32];
    struct stat st;
    snprintf(crt, sizeof crt, "%s/g.crt", dir);
    snprintf(key, sizeof key, "%s/g.key", dir);
    write_text(key, "old", 0644); /* an existing, wider file is narrowed */
    ck_assert_msg(tls_gen_cert(crt, key, "ftp.example.test", fp, sizeof fp, err, sizeof err), "%s",
                  err);
    ck_assert_int_eq(stat(key, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    sha256_file_der(crt, want);
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", want[i]);
    }
    ck_assert(strncmp(fp, "sha256:", 7) == 0);
    ck_assert_str_eq(fp + 7, hex);

    mbedtls_x509_crt c;
    mbedtls_x509_crt_init(&c);
    ck_assert_int_eq(mbedtls_x509_crt_parse_file(&c, crt), 0);
    char subject[128];
    ck_assert_int_gt(mbedtls_x509_dn_gets(subject, sizeof subject, &c.subject), 0);
    ck_assert_str_eq(subject, "CN=ftp.example.test");
    ck_assert_int_eq(mbedtls_x509_crt_check_extended_key_usage(
                         &c, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
                     0);
    /* SAN dNSName = the name: verify the certificate against itself with
     * the name as expected CN/SAN. */
    uint32_t flags = 0;
    ck_assert_int_eq(mbedtls_x509_crt_verify(&c, &c, NULL, "ftp.example.test", &flags, NULL, NULL),
                     0);
    ck_assert_int_ne(mbedtls_x509_crt_verify(&c, &c, NULL, "other.test", &flags, NULL, NULL), 0);
    ck_assert(mbedtls_pk_can_do(&c.pk, MBEDTLS_PK_ECDSA));
    mbedtls_x509_crt_free(&c);

    /* The written key is the certificate's key. */
    struct policy p;
    struct reports r = {0};
    mkpol(&p);
    p.cert[0] = crt;
    p.key[0] = key;
    ck_assert_int_eq(tls_check_policy(&p, collect, &r), 0);

    /* Names that would smuggle DN syntax are refused; symlinks not followed. */
    ck_assert(!tls_gen_cert(crt, key, "a,O=evil", fp, sizeof fp, err, sizeof err));
    ck_assert(strstr(err, "not a DNS name") != NULL);
    char link[160];
    snprintf(link, sizeof link, "%s/link.key", dir);
    ck_assert_int_eq(symlink("/tmp/ftpsd-should-not-exist", link), 0);
    ck_assert(!tls_gen_cert(crt, link, "x.test", fp, sizeof fp, err, sizeof err));
    ck_assert_msg(strstr(err, "symlink") != NULL, "%s", err);
    ck_assert_int_ne(access("/tmp/ftpsd-should-not-exist", F_OK), 0);
}
END_TEST

/* ------------------------------------------------------------ main */

static void setup_files(void)
{
    char fp[80], err[512];
    snprintf(dir, sizeof dir, "/tmp/check_tls.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(99);
    }
    snprintf(srv_crt, sizeof srv_crt, "%s/srv.crt", dir);
    snprintf(srv_key, sizeof srv_key, "%s/srv.key", dir);
    snprintf(a_crt, sizeof a_crt, "%s/a.crt", dir);
    snprintf(a_key, sizeof a_key, "%s/a.key", dir);
    snprintf(b_crt, sizeof b_crt, "%s/b.crt", dir);
    snprintf(b_key, sizeof b_key, "%s/b.key", dir);
    snprintf(enc_key, sizeof enc_key, "%s/enc.key", dir);
    snprintf(enc8_key, sizeof enc8_key, "%s/enc8.key", dir);
    snprintf(keylog, sizeof keylog, "%s/keylog", dir);
    if (!tls_gen_cert(srv_crt, srv_key, "ftp.example.test", fp, sizeof fp, err, sizeof err) ||
        !tls_gen_cert(a_crt, a_key, "alice.example.test", a_fp, sizeof a_fp, err, sizeof err) ||
        !tls_gen_cert(b_crt, b_key, "mallory.example.test", fp, sizeof fp, err, sizeof err)) {
        fprintf(stderr, "tls_gen_cert: %s\n", err);
        exit(99);
    }
    write_text(enc_key, enc_key_pem, 0600);
    write_text(enc8_key, enc8_key_pem, 0600);
}

static void cleanup_files(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void)
{
    log_open(getenv("FTPSD_TEST_LOG") ? POL_LOG_STDERR : POL_LOG_NONE, POL_LEVEL_DEBUG);
    setup_files();
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("handshake");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_handshake, 0, N(hs_cases));
    tcase_add_loop_test(tc, test_cert_request, 0, N(creq_modes));
    tcase_add_test(tc, test_extended_master_secret);
    tcase_add_loop_test(tc, test_renegotiation, 0, 2);
    tcase_add_loop_test(tc, test_keylog, 0, N(keylog_vers));
    tcase_add_test(tc, test_keylog_refused);
    tcase_add_test(tc, test_describe);
    tcase_add_test(tc, test_sni_sanitised);
#if TC_HAVE_13
    tcase_add_test(tc, test_min13);
#endif
    suite_add_tcase(s, tc);

    TCase *tr = tcase_create("resumption");
    tcase_set_timeout(tr, 60);
    tcase_add_loop_test(tr, test_resume, 0, N(resume_vers));
    tcase_add_test(tr, test_resume_other_suite);
    tcase_add_loop_test(tr, test_not_resumed, 0, N(resume_vers));
#if TC_HAVE_13
    tcase_add_test(tr, test_tickets);
#endif
    suite_add_tcase(s, tr);

    TCase *ti = tcase_create("io");
    tcase_set_timeout(ti, 60);
    tcase_add_test(ti, test_truncated);
    tcase_add_test(ti, test_close_notify);
    tcase_add_test(ti, test_read_timeout);
    tcase_add_test(ti, test_close_both_ways);
    tcase_add_test(ti, test_clear_client_answers);
    tcase_add_test(ti, test_clear_client_skips_close_notify);
    tcase_add_test(ti, test_big_write);
    suite_add_tcase(s, ti);

    TCase *tp = tcase_create("policy");
    tcase_set_timeout(tp, 60);
    tcase_add_loop_test(tp, test_check_policy, 0, N(pc_cases));
    tcase_add_test(tp, test_gen_cert);
    suite_add_tcase(s, tp);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    cleanup_files();
    return failed == 0 ? 0 : 1;
}
