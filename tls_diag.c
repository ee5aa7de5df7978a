/* tls_diag.c — what the log says about a handshake: the success line, and
 * why one failed, in an administrator's words (no shared cipher, old
 * protocol, ALPN, client certificate, the client's alert) instead of an
 * mbed TLS error number.
 *
 * A failure is explained from two sources: what the client's first record
 * offered (tls_hello.c parsed it before mbed TLS saw it) and what mbed TLS
 * and the bio saw (its return value, a timeout, an EOF, an alert). The
 * explanation is a list of small checks run in order; the first that
 * applies gives the tls_fail value the caller maps to a reply and the text
 * that goes to the log and into tls_accept's err. The texts are what
 * administrators (and the e2e tests) grep for: change them with care.
 * Also here, for every tls*.c file: the names of versions, groups, alerts
 * and suites, and mbed TLS errors in words. It calls nothing of the other
 * tls*.c files: they all call it. */
#include <errno.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/ssl_ciphersuites.h>

#include "log.h"
#include "sys.h"
#include "sys_net.h"
#include "tls_priv.h"

#if !TLS_MBEDTLS3
/* 2.28's name of the error a rejected certificate gives. */
#define MBEDTLS_ERR_SSL_BAD_CERTIFICATE MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE
#endif

/* The groups tls_conf.c configures, X25519 then P-256, by IANA id. */
#define GROUP_X25519 0x001d
#define GROUP_P256 0x0017
static const uint16_t our_groups[] = {GROUP_X25519, GROUP_P256};

/* ------------------------------------------------------------ names */

/* "msg: -0x7780 SSL - A fatal alert message was received from our peer" */
void tls_fmt_error(char *out, size_t n, int ret, const char *what)
{
    char e[160] = "";
#if defined(MBEDTLS_ERROR_C)
    mbedtls_strerror(ret, e, sizeof e);
#endif
    (void)sys_fmt(out, n, "%s: -0x%04x %s", what, (unsigned)(ret < 0 ? -ret : ret), e);
}

bool tls_suite_is13(int id)
{
    return id >= 0x1301 && id <= 0x1305;
}

const char *tls_suite_name(int id, char *buf, size_t n)
{
    const char *s = mbedtls_ssl_get_ciphersuite_name(id);
    if (s == NULL || strcmp(s, "unknown") == 0) {
        (void)sys_fmt(buf, n, "0x%04x", (unsigned)id);
        return buf;
    }
    return s;
}

static const char *version_name(unsigned v)
{
    switch (v) {
    case 0x0300:
        return "SSL 3.0";
    case 0x0301:
        return "TLS 1.0";
    case 0x0302:
        return "TLS 1.1";
    case 0x0303:
        return "TLS 1.2";
    case 0x0304:
        return "TLS 1.3";
    default:
        return v < 0x0300 ? "SSL 2" : "an unknown version";
    }
}

static const char *group_name(uint16_t g, char *buf, size_t n)
{
    switch (g) {
    case 0x0017:
        return "P-256";
    case 0x0018:
        return "P-384";
    case 0x0019:
        return "P-521";
    case 0x001d:
        return "X25519";
    case 0x001e:
        return "X448";
    case 0x11ec:
        return "X25519MLKEM768";
    default:
        (void)sys_fmt(buf, n, "0x%04x", g);
        return buf;
    }
}

static const char *alert_name(unsigned a)
{
    static const struct {
        unsigned char code;
        const char *name;
    } names[] = {
        {10, "unexpected_message"},
        {20, "bad_record_mac"},
        {40, "handshake_failure"},
        {42, "bad_certificate"},
        {43, "unsupported_certificate"},
        {44, "certificate_revoked"},
        {45, "certificate_expired"},
        {46, "certificate_unknown"},
        {47, "illegal_parameter"},
        {48, "unknown_ca"},
        {50, "decode_error"},
        {51, "decrypt_error"},
        {70, "protocol_version"},
        {71, "insufficient_security"},
        {80, "internal_error"},
        {86, "inappropriate_fallback"},
        {90, "user_canceled"},
        {109, "missing_extension"},
        {110, "unsupported_extension"},
        {112, "unrecognized_name"},
        {116, "certificate_required"},
        {120, "no_application_protocol"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].code == a) {
            return names[i].name;
        }
    }
    return "unknown";
}

/* ------------------------------------------------------------ what the client offered */

/* The group the server will use, as mbed TLS picks it: TLS 1.2 takes our
 * first group the client supports; TLS 1.3 the first key share of the
 * client's that we support, else (HelloRetryRequest) as TLS 1.2. */
static uint16_t chosen_group(const struct tls_hello *h, bool v13)
{
    if (v13) {
        for (size_t i = 0; i < h->nshares; i++) {
            for (size_t j = 0; j < sizeof our_groups / sizeof our_groups[0]; j++) {
                if (h->shares[i] == our_groups[j]) {
                    return h->shares[i];
                }
            }
        }
    }
    for (size_t j = 0; j < sizeof our_groups / sizeof our_groups[0]; j++) {
        for (size_t i = 0; i < h->ngroups; i++) {
            if (h->groups[i] == our_groups[j]) {
                return our_groups[j];
            }
        }
    }
    return 0;
}

/* Whether a suite can be served with our certificates. */
static bool suite_servable(const struct tls_ctx *ctx, int id)
{
    if (tls_suite_is13(id)) {
        return true;
    }
    const char *name = mbedtls_ssl_get_ciphersuite_name(id);
    if (strstr(name, "-ECDSA-") != NULL) {
        return ctx->have_ec;
    }
    if (strstr(name, "-RSA-") != NULL) {
        return ctx->have_rsa;
    }
    return true;
}

static void list_suites(char *out, size_t n, const uint16_t *ids16, const int *ids, size_t count,
                        bool v13)
{
    size_t pos = 0, shown = 0, skipped = 0;
    char hex[8];
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        int id = ids16 != NULL ? ids16[i] : ids[i];
        if (tls_suite_is13(id) != v13) {
            continue;
        }
        if (shown >= 8) {
            skipped++;
            continue;
        }
        if (!sys_append(out, n, &pos, "%s%s", shown > 0 ? ", " : "",
                        tls_suite_name(id, hex, sizeof hex))) {
            break;
        }
        shown++;
    }
    if (skipped > 0) {
        (void)sys_append(out, n, &pos, " and %zu more", skipped);
    }
    if (shown == 0) {
        (void)sys_append(out, n, &pos, "none");
    }
}

/* After the peer closed on us mid-handshake: a TLS 1.2 client that rejects
 * our certificate sends its alert in clear and closes; we may have hit
 * EPIPE writing our next message before reading it. The alert is still
 * in the socket: read it without waiting (the connection is dead anyway).
 * Returns the alert description, or -1. */
static int salvage_alert(const struct tls_conn *c)
{
    unsigned char b[7];
    ssize_t n = sys_recv_nowait(c->rfd, b, sizeof b);
    /* SECURITY: client bytes: only an exact 2-byte alert record counts. */
    if (n == (ssize_t)sizeof b && b[0] == MBEDTLS_SSL_MSG_ALERT && b[1] == 3 && b[3] == 0 &&
        b[4] == 2 && b[5] == MBEDTLS_SSL_ALERT_LEVEL_FATAL) {
        return b[6];
    }
    return -1;
}

static const char *alert_hint(unsigned alert)
{
    if (alert >= 42 && alert <= 48) {
        return ": it does not accept the server certificate (self-signed? wrong name? expired?)";
    }
    if (alert == 51) {
        return ": check that 'key' matches 'cert' (ftpsd-inetd -t)";
    }
    return "";
}

/* ------------------------------------------------------------ why a handshake failed */

/* What every check looks at: the connection, its first record, and what
 * mbed TLS returned; msg receives the explanation. */
struct diag {
    const struct tls_conn *c;
    const struct tls_ctx *ctx;
    const struct tls_hello *h;
    int ret;
    char *msg;
    size_t n;
};

/* One check: TLS_FAIL_NONE when it does not apply, else the reason with
 * d->msg filled. */
typedef enum tls_fail diag_check(const struct diag *d);

static enum tls_fail diag_timeout(const struct diag *d)
{
    if (!d->c->timed_out) {
        return TLS_FAIL_NONE;
    }
    (void)sys_fmt(d->msg, d->n, "handshake timed out%s",
                  d->ctx->hello_len == 0 ? " (no ClientHello received)" : "");
    return TLS_FAIL_TIMEOUT;
}

/* The peer closed before its first record was complete enough to judge. */
static enum tls_fail diag_closed_early(const struct diag *d)
{
    const struct tls_conn *c = d->c;
    if (!c->eof && c->io_errno == 0) {
        return TLS_FAIL_NONE;
    }
    if (d->ctx->hello_len == 0) {
        (void)sys_fmt(d->msg, d->n, "peer closed during handshake (before its ClientHello%s%s)",
                      c->io_errno != 0 ? ": " : "", c->io_errno != 0 ? strerror(c->io_errno) : "");
        return TLS_FAIL_PEER_CLOSED;
    }
    if (d->ctx->hello_len < 5 && d->ctx->hello_buf[0] == MBEDTLS_SSL_MSG_HANDSHAKE) {
        (void)sys_fmt(d->msg, d->n, "peer closed during handshake (inside its ClientHello)");
        return TLS_FAIL_PEER_CLOSED;
    }
    return TLS_FAIL_NONE;
}

static enum tls_fail diag_not_tls(const struct diag *d)
{
    const unsigned char *p = d->ctx->hello_buf;
    if (d->h->handshake) {
        return TLS_FAIL_NONE;
    }
    if ((p[0] & 0x80) != 0) {
        (void)sys_fmt(d->msg, d->n,
                      "client sent an SSLv2-format hello (SSL 2/3 are not supported)");
        return TLS_FAIL_NOT_TLS;
    }
    /* SECURITY: client bytes going to the log: five at most, printable
     * ASCII only. */
    char shown[8];
    size_t k = 0;
    for (; k < d->ctx->hello_len && k + 1 < sizeof shown && k < 5; k++) {
        shown[k] = (p[k] >= 0x20 && p[k] < 0x7f) ? (char)p[k] : '.';
    }
    shown[k] = '\0';
    (void)sys_fmt(d->msg, d->n, "client did not start TLS (first bytes \"%s\")", shown);
    return TLS_FAIL_NOT_TLS;
}

static enum tls_fail diag_version(const struct diag *d)
{
    const struct tls_hello *h = d->h;
    if (h->max_version != 0 && h->max_version < TLS_HELLO_TLS12) {
        (void)sys_fmt(d->msg, d->n,
                      "client offered only TLS 1.0/1.1 (its highest: %s); TLS 1.2 is the minimum",
                      version_name(h->max_version));
        return TLS_FAIL_OLD_VERSION;
    }
    if (!d->ctx->allow13 && h->offers13 && !h->offers12 && h->parsed) {
        if (TLS_HAVE_13) {
            (void)sys_fmt(d->msg, d->n,
                          "client offered only TLS 1.3; the policy (tls-max 1.2, or 'ciphers' "
                          "without TLS 1.3 suites) leaves TLS 1.2: refused with protocol_version");
        } else {
            (void)sys_fmt(d->msg, d->n,
                          "client offered only TLS 1.3 and this build (%s) has no TLS 1.3: "
                          "refused with protocol_version",
                          MBEDTLS_VERSION_STRING_FULL);
        }
        return TLS_FAIL_OLD_VERSION;
    }
    if (d->ctx->tls_min == 13 && !h->offers13 && h->parsed) {
        (void)sys_fmt(d->msg, d->n,
                      "client offered only TLS 1.2; the policy requires TLS 1.3 (tls-min)");
        return TLS_FAIL_OLD_VERSION;
    }
    return TLS_FAIL_NONE;
}

static enum tls_fail diag_alpn(const struct diag *d)
{
    if (!d->h->has_alpn || d->h->alpn_ftp) {
        return TLS_FAIL_NONE;
    }
    (void)sys_fmt(d->msg, d->n,
                  "client ALPN without ftp (it offered: %s); refused with "
                  "no_application_protocol",
                  d->h->alpn);
    return TLS_FAIL_ALPN;
}

static enum tls_fail diag_suites(const struct diag *d)
{
    const struct tls_ctx *ctx = d->ctx;
    const struct tls_hello *h = d->h;
    char a[320], b[320];
    if (!h->parsed) {
        return TLS_FAIL_NONE;
    }
    bool v13 = ctx->allow13 && h->offers13;
    bool shared = false, shared_any_cert = false;
    for (size_t i = 0; i < h->nsuites; i++) {
        for (size_t j = 0; j < ctx->nsuites; j++) {
            if (h->suites[i] == ctx->suites[j] && tls_suite_is13(ctx->suites[j]) == v13) {
                shared_any_cert = true;
                shared = shared || suite_servable(ctx, ctx->suites[j]);
            }
        }
    }
    if (shared) {
        return TLS_FAIL_NONE;
    }
    list_suites(a, sizeof a, h->suites, NULL, h->nsuites, v13);
    list_suites(b, sizeof b, NULL, ctx->suites, ctx->nsuites, v13);
    if (shared_any_cert) {
        (void)sys_fmt(d->msg, d->n,
                      "no shared cipher: the client offered only %s; ftpsd has no %s "
                      "certificate for them",
                      a, ctx->have_ec ? "RSA" : "ECDSA");
    } else {
        (void)sys_fmt(d->msg, d->n,
                      "no shared cipher: the client offered only %s; the policy "
                      "allows %s",
                      a, b);
    }
    return TLS_FAIL_NO_SHARED_CIPHER;
}

static enum tls_fail diag_groups(const struct diag *d)
{
    const struct tls_hello *h = d->h;
    char a[320], g[8];
    size_t pos = 0;
    if (!h->parsed || !h->has_groups || chosen_group(h, false) != 0) {
        return TLS_FAIL_NONE;
    }
    a[0] = '\0';
    for (size_t i = 0; i < h->ngroups && i < 8; i++) {
        (void)sys_append(a, sizeof a, &pos, "%s%s", i > 0 ? ", " : "",
                         group_name(h->groups[i], g, sizeof g));
    }
    (void)sys_fmt(d->msg, d->n,
                  "no shared curve: the client offered only %s; ftpsd uses "
                  "X25519 and P-256",
                  a);
    return TLS_FAIL_NO_SHARED_GROUP;
}

static enum tls_fail diag_client_cert(const struct diag *d)
{
    enum pol_client_cert mode = d->ctx->client_cert;
    uint32_t flags = mbedtls_ssl_get_verify_result(&d->c->ssl);
    if (d->ret == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE ||
        (mode == POL_CCERT_REQUIRED && flags != (uint32_t)-1 &&
         (flags & MBEDTLS_X509_BADCERT_MISSING) != 0)) {
        (void)sys_fmt(d->msg, d->n, "client did not send a certificate (client-cert required)");
        return TLS_FAIL_CLIENT_CERT;
    }
    if (mode == POL_CCERT_OFF || flags == 0 || flags == (uint32_t)-1 ||
        (d->ret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED &&
         d->ret != MBEDTLS_ERR_SSL_BAD_CERTIFICATE && mode != POL_CCERT_REQUIRED)) {
        return TLS_FAIL_NONE;
    }
    char info[256] = "";
    (void)mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
    for (char *q = info; *q != '\0'; q++) {
        if (*q == '\n') {
            *q = *(q + 1) != '\0' ? ';' : '\0';
        }
    }
    (void)sys_fmt(d->msg, d->n, "client certificate not trusted by client-ca (%s)", info);
    return TLS_FAIL_CLIENT_CERT;
}

static enum tls_fail fmt_alert(const struct diag *d, unsigned alert)
{
    (void)sys_fmt(d->msg, d->n, "client sent fatal alert %u (%s)%s", alert, alert_name(alert),
                  alert_hint(alert));
    return TLS_FAIL_ALERT;
}

/* A fatal alert mbed TLS read, or one the bio saw go by in clear. */
static enum tls_fail diag_alert(const struct diag *d)
{
    if (d->ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
#if TLS_MBEDTLS3
        const unsigned char *in = d->c->ssl.MBEDTLS_PRIVATE(in_msg);
#else
        const unsigned char *in = d->c->ssl.in_msg;
#endif
        return fmt_alert(d, in != NULL ? in[1] : 0);
    }
    if (d->c->clear_alert >= 0) {
        return fmt_alert(d, (unsigned)d->c->clear_alert);
    }
    return TLS_FAIL_NONE;
}

/* The peer went away mid-handshake, perhaps leaving an alert behind. */
static enum tls_fail diag_closed(const struct diag *d)
{
    const struct tls_conn *c = d->c;
    if (!c->eof && c->io_errno == 0 && d->ret != MBEDTLS_ERR_SSL_CONN_EOF) {
        return TLS_FAIL_NONE;
    }
    int alert = salvage_alert(c);
    if (alert >= 0) {
        return fmt_alert(d, (unsigned)alert);
    }
    (void)sys_fmt(d->msg, d->n, "peer closed during handshake%s%s%s", c->io_errno != 0 ? " (" : "",
                  c->io_errno != 0 ? strerror(c->io_errno) : "", c->io_errno != 0 ? ")" : "");
    if (c->sent) {
        size_t pos = strlen(d->msg);
        (void)sys_append(d->msg, d->n, &pos,
                         " after our reply: it may not accept the server certificate");
    }
    return TLS_FAIL_PEER_CLOSED;
}

/* TLS 1.3 with data-reuse required: the data configuration allows only
 * psk_ephemeral, so a handshake without one of our tickets fails; say so
 * (tls_accept refuses the TLS 1.2 equivalent after its handshake). */
static enum tls_fail diag_not_resumed(const struct diag *d)
{
#if TLS_HAVE_13
    const struct tls_conn *c = d->c;
    if (c->role == TLS_ROLE_DATA && d->ctx->data_reuse_required && d->h->offers13 &&
        d->ctx->allow13 && !c->ticket_ok) {
        (void)sys_copy(d->msg, d->n, TLS_MSG_NOT_RESUMED);
        return TLS_FAIL_NOT_RESUMED;
    }
#else
    (void)d;
#endif
    return TLS_FAIL_NONE;
}

/* In this order: the first that applies explains the failure. What the
 * client did not send (timeout, early close, not TLS) comes before what it
 * offered (version, ALPN, suites, groups), which comes before what
 * happened later in the handshake (client certificate, alerts, close). */
static diag_check *const diag_checks[] = {
    diag_timeout,      /* TLS_FAIL_TIMEOUT */
    diag_closed_early, /* TLS_FAIL_PEER_CLOSED, before or inside the first record */
    diag_not_tls,      /* TLS_FAIL_NOT_TLS */
    diag_version,      /* TLS_FAIL_OLD_VERSION */
    diag_alpn,         /* TLS_FAIL_ALPN */
    diag_suites,       /* TLS_FAIL_NO_SHARED_CIPHER */
    diag_groups,       /* TLS_FAIL_NO_SHARED_GROUP */
    diag_client_cert,  /* TLS_FAIL_CLIENT_CERT */
    diag_alert,        /* TLS_FAIL_ALERT */
    diag_closed,       /* TLS_FAIL_ALERT left in the socket, or TLS_FAIL_PEER_CLOSED */
    diag_not_resumed,  /* TLS_FAIL_NOT_RESUMED */
};

enum tls_fail tls_diagnose(struct tls_conn *c, int ret, char *msg, size_t n)
{
    const struct diag d = {c, c->ctx, &c->ctx->hello, ret, msg, n};
    for (size_t i = 0; i < sizeof diag_checks / sizeof diag_checks[0]; i++) {
        enum tls_fail why = diag_checks[i](&d);
        if (why != TLS_FAIL_NONE) {
            return why;
        }
    }
    tls_fmt_error(msg, n, ret, "handshake failed");
    return TLS_FAIL_OTHER;
}

/* ------------------------------------------------------------ the success line */

/* The info() line of a successful handshake. */
void tls_log_success(const struct tls_conn *c)
{
    const struct tls_ctx *ctx = c->ctx;
    char line[DEFS_TLS_MSG_MAX], g[8], subj[256];
    size_t pos = 0;
    bool v13 = false;
#if TLS_HAVE_13
    v13 = mbedtls_ssl_get_version_number(&c->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#endif
    (void)sys_append(line, sizeof line, &pos, "TLS %s: %s %s",
                     c->role == TLS_ROLE_CONTROL ? "control" : "data",
                     mbedtls_ssl_get_version(&c->ssl), mbedtls_ssl_get_ciphersuite(&c->ssl));
    if (c->resumed) {
        (void)sys_append(line, sizeof line, &pos, ", resumed");
    } else {
        uint16_t grp = chosen_group(&ctx->hello, v13);
        if (grp != 0) {
            (void)sys_append(line, sizeof line, &pos, ", %s", group_name(grp, g, sizeof g));
        }
    }
    (void)sys_append(line, sizeof line, &pos, ", SNI %s", c->has_sni ? c->sni : "-");
    const char *alpn = mbedtls_ssl_get_alpn_protocol(&c->ssl);
    (void)sys_append(line, sizeof line, &pos, ", ALPN %s", alpn != NULL ? alpn : "-");
    if (c->role == TLS_ROLE_DATA) {
        /* Which path carries the data connection's records (tls_ktls.c). */
        if (c->ktls_tx && c->ktls_rx) {
            (void)sys_append(line, sizeof line, &pos, ", records in kernel TLS");
        } else if (c->ktls_tx) {
            (void)sys_append(line, sizeof line, &pos,
                             ", records sent in kernel TLS, received in mbed TLS (%s)",
                             c->ktls_why);
        } else if (c->ktls_why[0] != '\0') {
            (void)sys_append(line, sizeof line, &pos, ", records in mbed TLS (%s)", c->ktls_why);
        }
    }
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&c->ssl);
    if (peer != NULL && ctx->client_cert != POL_CCERT_OFF) {
        /* mbedtls_x509_dn_gets replaces control characters: safe to log. */
        if (mbedtls_x509_dn_gets(subj, sizeof subj, &peer->subject) < 0) {
            (void)sys_copy(subj, sizeof subj, "?");
        }
        (void)sys_append(line, sizeof line, &pos, ", client certificate \"%s\" (%s)", subj,
                         c->peer_ok ? "verified" : "not trusted by client-ca");
    }
    info("%s", line);
    if (peer != NULL && ctx->client_cert != POL_CCERT_OFF && !c->peer_ok) {
        warn("client certificate not trusted by client-ca: it logs nobody in");
    }
}
