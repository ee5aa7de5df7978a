/* TLS (SPEC §4.5, §5 "TLS details"): tls_accept and the connection calls
 * against a plain mbed TLS client in a thread over a socketpair
 * (tls_client.h, tls_fixture.h), with certificates made by tls_gen_cert.
 * Each handshake case says what the client must see on the wire (alerts,
 * ServerHello extensions, CertificateRequest) and what the server must
 * report: the text and the tls_fail reason. Then keylog, reads, writes,
 * close_notify, CCC. Resumption is check_tls_resume.c's, -t and --gen-cert
 * check_tls_admin.c's. Runs against the mbed TLS the tree is built with:
 * 2.28 (TLS 1.2) or 3.6 (TLS 1.3 too). */
#include "tls_fixture.h"

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
    ck_assert_int_eq(tls_write(x->c, "200 CCC ok\r\n", 12, -1), 12);
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
    ck_assert_int_eq(tls_write(x.c, big, N, -1), N);
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

int main(void)
{
    const struct tls_test tests[] = {
        {"handshake", test_handshake, N(hs_cases)},
        {"handshake", test_cert_request, N(creq_modes)},
        {"handshake", test_extended_master_secret, 1},
        {"handshake", test_renegotiation, 2},
        {"handshake", test_keylog, N(keylog_vers)},
        {"handshake", test_keylog_refused, 1},
        {"handshake", test_describe, 1},
        {"handshake", test_sni_sanitised, 1},
#if TC_HAVE_13
        {"handshake", test_min13, 1},
#endif
        {"io", test_truncated, 1},
        {"io", test_close_notify, 1},
        {"io", test_read_timeout, 1},
        {"io", test_close_both_ways, 1},
        {"io", test_clear_client_answers, 1},
        {"io", test_clear_client_skips_close_notify, 1},
        {"io", test_big_write, 1},
    };
    return tls_fixture_main("tls", tests, N(tests));
}
