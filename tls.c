/* tls.c — FTPS's TLS layer on mbed TLS, and nothing about FTP.
 *
 * It follows the mbed TLS sample server (programs/ssl/ssl_server2.c): every
 * context initialised first, a CTR_DRBG seeded from getrandom(2), the
 * certificates, keys and client CA loaded, one mbedtls_ssl_config per use,
 * then per connection ssl_setup, our own bio callbacks on the inetd fds, a
 * handshake loop that retries only WANT_READ/WANT_WRITE under a deadline,
 * close_notify, and one cleanup path freeing in reverse order. It never
 * writes an FTP reply (STYLE.md habit 6): ftp.c calls the narrow API of
 * tls.h and decides what to say.
 *
 * What SPEC §4.5/§5 ask of TLS is enforced here: TLS 1.2 floor, ECDHE+AEAD
 * suites in measured order, X25519 then P-256, extended master secret, no
 * compression, renegotiation only when the client asks and the policy says
 * `renegotiate client`, ALPN "ftp" strictly (ALPACA), and the data-reuse
 * proof: a one-entry, per-process session cache for TLS 1.2 (no tickets at
 * all), and for TLS 1.3 (mbed TLS 3.6 builds) tickets issued only on the
 * control connection under a ticket key made at random in this process.
 *
 * Every difference between mbed TLS 2.28 and 3.6 sits in this file behind
 * MBEDTLS_VERSION_NUMBER (STYLE.md habit 7).
 *
 * The first record of every ClientHello is read here before mbed TLS sees
 * it (and then handed to mbed TLS unchanged through the recv callback). It
 * serves two purposes: on 3.6 builds it decides whether the client offers
 * TLS 1.3, which selects a configuration with or without tickets (mbed TLS
 * would otherwise send TLS 1.2 tickets too, and a TLS 1.2 ticket handshake
 * carries no session id, so the data connection could not resume); and when
 * a handshake fails it lets the log say why in an administrator's words
 * (no shared cipher, old protocol, ALPN) instead of an error number. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/version.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define TLS_MBEDTLS3 1
#include <mbedtls/ssl_ticket.h>
#include <psa/crypto.h>
#else
#define TLS_MBEDTLS3 0
#include <mbedtls/bignum.h>
/* 2.28's name of the error a rejected certificate gives. */
#define MBEDTLS_ERR_SSL_BAD_CERTIFICATE MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE
#endif

#include "defs.h"
#include "log.h"
#include "sys.h"
#include "tls.h"
#include "tls_hash.h"
#include "tls_hello.h"

/* TLS 1.3 is offered only where it can keep the data-reuse promise, i.e.
 * where tickets exist (TLS 1.3 resumes through tickets only). */
#if TLS_MBEDTLS3 && defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_SESSION_TICKETS) &&   \
    defined(MBEDTLS_SSL_TICKET_C)
#define TLS_HAVE_13 1
#else
#define TLS_HAVE_13 0
#endif

/* Build options this file cannot do without (STYLE.md habit 14). */
#if !defined(MBEDTLS_SSL_SRV_C) || !defined(MBEDTLS_SSL_PROTO_TLS1_2)
#error "ftpsd needs the TLS 1.2 server: MBEDTLS_SSL_SRV_C and MBEDTLS_SSL_PROTO_TLS1_2"
#endif
#if !defined(MBEDTLS_CTR_DRBG_C) || !defined(MBEDTLS_X509_CRT_PARSE_C) || !defined(MBEDTLS_SHA256_C)
#error "ftpsd needs MBEDTLS_CTR_DRBG_C, MBEDTLS_X509_CRT_PARSE_C and MBEDTLS_SHA256_C"
#endif
#if !defined(MBEDTLS_SSL_ALPN)
#error "ftpsd needs MBEDTLS_SSL_ALPN: ALPN 'ftp' is the ALPACA mitigation of SPEC §4.5"
#endif
#if !defined(MBEDTLS_SSL_SERVER_NAME_INDICATION)
#error "ftpsd needs MBEDTLS_SSL_SERVER_NAME_INDICATION (SNI is logged and compared with HOST)"
#endif
#if !defined(MBEDTLS_SSL_EXTENDED_MASTER_SECRET)
#error "ftpsd needs MBEDTLS_SSL_EXTENDED_MASTER_SECRET (SPEC §4.5)"
#endif
#if !defined(MBEDTLS_SSL_KEEP_PEER_CERTIFICATE)
#error "ftpsd needs MBEDTLS_SSL_KEEP_PEER_CERTIFICATE: certificate logins hash the client's DER"
#endif
#if !defined(MBEDTLS_X509_CRT_WRITE_C) || !defined(MBEDTLS_PEM_WRITE_C) || !defined(MBEDTLS_ECP_C)
#error "ftpsd --gen-cert needs MBEDTLS_X509_CRT_WRITE_C, MBEDTLS_PEM_WRITE_C and MBEDTLS_ECP_C"
#endif
#if !TLS_MBEDTLS3 && !defined(MBEDTLS_SSL_EXPORT_KEYS)
#error "ftpsd's keylog needs MBEDTLS_SSL_EXPORT_KEYS on mbed TLS 2.x"
#endif
#if defined(MBEDTLS_ZLIB_SUPPORT)
#error "TLS compression must be off (CRIME): build mbed TLS without MBEDTLS_ZLIB_SUPPORT"
#endif

/* Limits of this module. */
#define TLS_REC_MAX 16384               /* TLS plaintext record limit */
#define TLS_HELLO_BUF (5 + TLS_REC_MAX) /* the first record, header included */
#define TLS_SUITES_MAX (DEFS_POLICY_VALUES_MAX + 8)
#define TLS_SNI_MAX 256             /* DNS names are at most 253 */
#define TLS_SESSION_MAX (64 * 1024) /* a saved session, client cert included */
#define TLS_MSG_MAX 768            /* one diagnostic line */
#define TLS_TICKET_LIFETIME 604800 /* RFC 8446 §4.6.1: at most 7 days */
#define TLS_REFUSE_CLOSE_MS 1000   /* close_notify to a data connection refused after its handshake */
/* The reason both TLS 1.2 and 1.3 give for TLS_FAIL_NOT_RESUMED. */
#define TLS_MSG_NOT_RESUMED                                                                        \
    "data connection did not resume the control connection's TLS session (data-reuse required)"

/* Default suites, fastest first as measured on this build with
 * bench/aead_speed (16 KiB records): ChaCha20-Poly1305 337 MB/s, AES-128-GCM
 * 260, AES-256-GCM 241 on 2.28.3; 413 / 330 / 307 on 3.6.6. The server's
 * order wins in TLS 1.2; ECDSA before RSA because an ECDSA P-256 handshake
 * costs the server less CPU than RSA-2048. Names missing from a trimmed
 * build are skipped. */
static const char *const default_suites[] = {
#if TLS_HAVE_13
    "TLS1-3-CHACHA20-POLY1305-SHA256",
    "TLS1-3-AES-128-GCM-SHA256",
    "TLS1-3-AES-256-GCM-SHA384",
#endif
    "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
    "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
    "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
    "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
    "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
    "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
};

/* OpenSSL spellings admins paste from other servers' configurations. */
static const struct {
    const char *openssl, *mbedtls;
} suite_aliases[] = {
    {"ECDHE-ECDSA-CHACHA20-POLY1305", "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256"},
    {"ECDHE-ECDSA-AES128-GCM-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"},
    {"ECDHE-ECDSA-AES256-GCM-SHA384", "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"},
    {"ECDHE-RSA-CHACHA20-POLY1305", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256"},
    {"ECDHE-RSA-AES128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"},
    {"ECDHE-RSA-AES256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"},
};

/* Key exchange groups: X25519, then P-256 (mbed TLS would start with
 * secp521r1, twice the CPU). IANA ids, for diagnostics and 3.6. */
#define GROUP_X25519 0x001d
#define GROUP_P256 0x0017
static const uint16_t our_groups[] = {GROUP_X25519, GROUP_P256};
#if TLS_MBEDTLS3
static const uint16_t conf_groups[] = {MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
                                       MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
                                       MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
#else
static const mbedtls_ecp_group_id conf_curves[] = {MBEDTLS_ECP_DP_CURVE25519,
                                                   MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE};
#endif

/* ALPN: only "ftp". mbed TLS keeps the pointer. */
static const char *alpn_list[] = {"ftp", NULL};

struct tls_ctx {
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt crt[POL_MAX_CERTS];
    mbedtls_pk_context pk[POL_MAX_CERTS];
    int ncert;
    bool have_ec, have_rsa;
    mbedtls_x509_crt ca;
    /* [role][v13]: v13 = 1 only on TLS 1.3 builds, for ClientHellos that
     * offer TLS 1.3; those configurations are TLS 1.3 only and carry the
     * ticket callbacks, so TLS 1.2 never sees a ticket. */
    mbedtls_ssl_config conf[2][2];
    /* A peer that stops reading must not hold a write forever: writes give
     * up after the policy's idle limit. */
    int write_timeout_ms;
#if TLS_HAVE_13
    mbedtls_ssl_ticket_context ticket;
    bool ticket_ready;
#endif
    int suites[TLS_SUITES_MAX]; /* 0-terminated, as mbed TLS wants it */
    size_t nsuites;
    bool allow13; /* this build and policy do TLS 1.3 */
    int tls_min;
    enum pol_client_cert client_cert;
    bool data_reuse_required;
    int keylog_fd;
    bool keylog_failed;
    /* The one-entry session cache: the control connection's TLS 1.2
     * session, saved with mbedtls_ssl_session_save. */
    unsigned char cache_id[32];
    size_t cache_id_len;
    unsigned char *cache_blob;
    size_t cache_len;
    /* The connection mbed TLS is working on: the cache, ticket and 2.28
     * key-export callbacks only get ctx. One process runs one mbed TLS call
     * at a time, so one pointer is enough. */
    struct tls_conn *cur;
    /* The first record of the ClientHello being handled. */
    struct tls_hello hello;
    size_t hello_len, hello_off;
    unsigned char hello_buf[TLS_HELLO_BUF];
};

struct tls_conn {
    mbedtls_ssl_context ssl; /* first member: callbacks map ssl back to conn */
    struct tls_ctx *ctx;
    int rfd, wfd;
    enum tls_role role;
    int64_t deadline; /* sys_now_ms() limit of the current call, -1 none */
    bool timed_out;   /* an I/O wait reached the deadline */
    bool eof;         /* the peer closed TCP (read returned 0) */
    int io_errno;     /* errno of a failed read or write */
    bool from_hello;  /* recv serves ctx->hello_buf first */
    bool sent;        /* we sent something during the handshake */
    bool cache_hit;   /* the cache get callback returned our entry */
    bool full_hs;     /* the cache set callback ran: a full handshake */
    bool ticket_ok;   /* one of this process's tickets was presented */
    bool resumed;
    bool peer_ok;     /* a client certificate verified against client-ca */
    bool peer_closed; /* close_notify received */
    bool alert_next;  /* the last read was a clear 2-byte alert header */
    int clear_alert;  /* a fatal alert the peer sent in clear, -1 none */
    bool has_sni;
    char sni[TLS_SNI_MAX];
};

/* ------------------------------------------------------------ small helpers */

/* "msg: -0x7780 SSL - A fatal alert message was received from our peer" */
static void fmt_mbedtls(char *out, size_t n, int ret, const char *what)
{
    char e[160] = "";
#if defined(MBEDTLS_ERROR_C)
    mbedtls_strerror(ret, e, sizeof e);
#endif
    (void)sys_fmt(out, n, "%s: -0x%04x %s", what, (unsigned)(ret < 0 ? -ret : ret), e);
}

static void hex_lower(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    static const char digits[] = "0123456789abcdef";
    size_t j = 0;
    for (size_t i = 0; i < n && j + 2 < outsz; i++) {
        out[j++] = digits[in[i] >> 4];
        out[j++] = digits[in[i] & 15];
    }
    if (outsz > 0) {
        out[j] = '\0';
    }
}

static int rng_getrandom(void *unused, unsigned char *out, size_t len)
{
    (void)unused;
    /* getrandom(2) works after chroot (no /dev/urandom needed) and costs a
     * tenth of mbedtls_entropy_func's default sources (HAVEGE on 2.28):
     * bench/handshake measures both. */
    return sys_random(out, len) ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

static bool seed_drbg(mbedtls_ctr_drbg_context *drbg, char *msg, size_t n)
{
    static const unsigned char pers[] = "ftpsd tls";
    int ret = mbedtls_ctr_drbg_seed(drbg, rng_getrandom, NULL, pers, sizeof pers - 1);
    if (ret != 0) {
        fmt_mbedtls(msg, n, ret, "cannot seed the random generator from getrandom(2)");
        return false;
    }
    return true;
}

#if TLS_MBEDTLS3
static bool psa_ready(char *msg, size_t n)
{
    psa_status_t st = psa_crypto_init();
    if (st != PSA_SUCCESS) {
        (void)sys_fmt(msg, n, "psa_crypto_init failed (%d)", (int)st);
        return false;
    }
    return true;
}
#endif

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

static bool is_tls13_suite(int id)
{
    return id >= 0x1301 && id <= 0x1305;
}

/* --------------------------------------------------------- cipher suite names */

/* Finds a suite id by mbed TLS name ("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
 * "TLS1-3-AES-128-GCM-SHA256"), IANA name ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
 * "TLS_AES_128_GCM_SHA256") or OpenSSL alias, any case. 0 if this build
 * does not know it. */
static int suite_id(const char *name)
{
    char up[96], alt[104];
    size_t n = 0;
    if (!sys_copy(up, sizeof up, name)) {
        return 0;
    }
    for (n = 0; up[n] != '\0'; n++) {
        if (up[n] >= 'a' && up[n] <= 'z') {
            up[n] = (char)(up[n] - 'a' + 'A');
        }
    }
    int id = mbedtls_ssl_get_ciphersuite_id(up);
    if (id != 0) {
        return id;
    }
    for (size_t i = 0; i < sizeof suite_aliases / sizeof suite_aliases[0]; i++) {
        if (strcmp(up, suite_aliases[i].openssl) == 0) {
            return mbedtls_ssl_get_ciphersuite_id(suite_aliases[i].mbedtls);
        }
    }
    /* IANA: '_' becomes '-'; TLS 1.3 names (no "_WITH_") get mbed TLS's
     * "TLS1-3-" prefix. */
    if (n > 4 && strncmp(up, "TLS_", 4) == 0) {
        const char *rest = up;
        size_t pos = 0;
        if (strstr(up, "_WITH_") == NULL) {
            rest = up + 4;
            if (!sys_append(alt, sizeof alt, &pos, "TLS1-3-")) {
                return 0;
            }
        }
        alt[pos] = '\0';
        for (; *rest != '\0' && pos + 1 < sizeof alt; rest++) {
            alt[pos++] = *rest == '_' ? '-' : *rest;
        }
        alt[pos] = '\0';
        return mbedtls_ssl_get_ciphersuite_id(alt);
    }
    return 0;
}

static const char *suite_name(int id, char *buf, size_t n)
{
    const char *s = mbedtls_ssl_get_ciphersuite_name(id);
    if (s == NULL || strcmp(s, "unknown") == 0) {
        (void)sys_fmt(buf, n, "0x%04x", (unsigned)id);
        return buf;
    }
    return s;
}

/* Builds the suite list of the policy (or the default) into out[]; false
 * with a message naming the first unknown suite. *has13 / *has12 say
 * whether TLS 1.3 / TLS 1.2 suites are in it. */
static bool build_suites(const struct policy *pol, int *out, size_t *nout, bool *has13, bool *has12,
                         char *msg, size_t msgsz)
{
    size_t n = 0;
    *has13 = *has12 = false;
    if (pol->ciphers == NULL) {
        for (size_t i = 0; i < sizeof default_suites / sizeof default_suites[0]; i++) {
            int id = mbedtls_ssl_get_ciphersuite_id(default_suites[i]);
            if (id != 0 && n + 1 < TLS_SUITES_MAX) {
                out[n++] = id;
            }
        }
    } else {
        for (size_t i = 0; i < pol->nciphers; i++) {
            int id = suite_id(pol->ciphers[i]);
            if (id == 0) {
                (void)sys_fmt(msg, msgsz,
                              "ciphers: unknown suite '%s' in %s (use mbed TLS names such as "
                              "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 or IANA names such as "
                              "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)",
                              pol->ciphers[i], tls_version_string());
                return false;
            }
            bool dup = false;
            for (size_t j = 0; j < n; j++) {
                dup = dup || out[j] == id;
            }
            if (!dup && n + 1 < TLS_SUITES_MAX) {
                out[n++] = id;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (is_tls13_suite(out[i])) {
            *has13 = true;
        } else {
            *has12 = true;
        }
    }
    out[n] = 0;
    *nout = n;
    if (n == 0) {
        (void)sys_fmt(msg, msgsz, "ciphers: no usable suite in this build (%s)",
                      tls_version_string());
        return false;
    }
    return true;
}

/* Checks tls-min against the build and the suites. */
static bool check_min(const struct policy *pol, bool has13, bool has12, char *msg, size_t n)
{
    if (pol->tls_min == 13) {
        if (!TLS_HAVE_13) {
            (void)sys_fmt(msg, n,
                          "tls-min 1.3: this build (%s) has no TLS 1.3 with session tickets; "
                          "use tls-min 1.2 or build with mbed TLS 3.6",
                          tls_version_string());
            return false;
        }
        if (!has13) {
            (void)sys_fmt(msg, n, "tls-min 1.3, but 'ciphers' lists no TLS 1.3 suite");
            return false;
        }
    } else if (!has12 && !TLS_HAVE_13) {
        (void)sys_fmt(msg, n, "ciphers: no TLS 1.2 suite, and this build has no TLS 1.3");
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ certificates */

static void file_reason(const char *path, char *buf, size_t n)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        (void)sys_fmt(buf, n, "%s", strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        (void)sys_fmt(buf, n, "not a regular file");
    } else if (access(path, R_OK) != 0) {
        (void)sys_fmt(buf, n, "%s", strerror(errno));
    } else {
        (void)sys_fmt(buf, n, "unreadable");
    }
}

static bool load_crt(mbedtls_x509_crt *crt, const char *what, const char *path, char *msg, size_t n)
{
    int ret = mbedtls_x509_crt_parse_file(crt, path);
    if (ret == MBEDTLS_ERR_PK_FILE_IO_ERROR || ret == MBEDTLS_ERR_X509_FILE_IO_ERROR) {
        char why[128];
        file_reason(path, why, sizeof why);
        (void)sys_fmt(msg, n, "%s %s: cannot read: %s", what, path, why);
        return false;
    }
    if (ret < 0) {
        char head[256];
        (void)sys_fmt(head, sizeof head, "%s %s: not a PEM/DER certificate", what, path);
        fmt_mbedtls(msg, n, ret, head);
        return false;
    }
    if (ret > 0) {
        (void)sys_fmt(msg, n, "%s %s: %d certificate%s in the file could not be parsed", what, path,
                      ret, ret == 1 ? "" : "s");
        return false;
    }
    if (crt->raw.len == 0) {
        (void)sys_fmt(msg, n, "%s %s: no certificate in the file", what, path);
        return false;
    }
    return true;
}

static bool load_key(mbedtls_pk_context *pk, const char *path, mbedtls_ctr_drbg_context *drbg,
                     char *msg, size_t n)
{
#if TLS_MBEDTLS3
    int ret = mbedtls_pk_parse_keyfile(pk, path, NULL, mbedtls_ctr_drbg_random, drbg);
#else
    (void)drbg;
    int ret = mbedtls_pk_parse_keyfile(pk, path, NULL);
#endif
    if (ret == 0) {
        return true;
    }
    if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED || ret == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
        (void)sys_fmt(msg, n, "key %s is encrypted; ftpsd needs an unencrypted key (mode 0600)",
                      path);
    } else if (ret == MBEDTLS_ERR_PK_FILE_IO_ERROR) {
        char why[128];
        file_reason(path, why, sizeof why);
        (void)sys_fmt(msg, n, "key %s: cannot read: %s", path, why);
    } else {
        char head[256];
        (void)sys_fmt(head, sizeof head, "key %s: not a PEM/DER private key", path);
        fmt_mbedtls(msg, n, ret, head);
    }
    return false;
}

/* Whether two keys have the same public part (DER of both compared). */
static bool same_public_key(mbedtls_pk_context *a, mbedtls_pk_context *b)
{
    unsigned char da[2600], db[2600]; /* RSA-16384's public key fits */
    int la = mbedtls_pk_write_pubkey_der(a, da, sizeof da);
    int lb = mbedtls_pk_write_pubkey_der(b, db, sizeof db);
    return la > 0 && la == lb &&
           memcmp(da + sizeof da - (size_t)la, db + sizeof db - (size_t)lb, (size_t)la) == 0;
}

/* Does the key belong to the certificate? `thorough` (for -t) proves it
 * with mbedtls_pk_check_pair, which costs a scalar multiplication: 1.05 ms
 * in every connection's process on 2.28 (0.25 ms on 3.6), more than all of
 * the rest of tls_init, so at session start only the public halves are
 * compared (a few microseconds; this catches the wrong file). */
static bool check_pair(mbedtls_x509_crt *crt, mbedtls_pk_context *pk, const char *cpath,
                       const char *kpath, mbedtls_ctr_drbg_context *drbg, bool thorough, char *msg,
                       size_t n)
{
    int ret = same_public_key(&crt->pk, pk) ? 0 : -1;
    if (ret == 0 && thorough) {
#if TLS_MBEDTLS3
        ret = mbedtls_pk_check_pair(&crt->pk, pk, mbedtls_ctr_drbg_random, drbg);
#else
        ret = mbedtls_pk_check_pair(&crt->pk, pk);
#endif
    }
#if !TLS_MBEDTLS3
    (void)drbg;
#endif
    if (ret != 0) {
        (void)sys_fmt(msg, n, "key %s does not match certificate %s", kpath, cpath);
        return false;
    }
    if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) && !mbedtls_pk_can_do(pk, MBEDTLS_PK_RSA)) {
        (void)sys_fmt(msg, n, "key %s: only ECDSA and RSA keys can serve TLS", kpath);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ the bio */

/* Waits for fd within the current call's deadline: 1 ready, 0 timeout, -1. */
static int wait_fd(struct tls_conn *c, int fd, bool for_write)
{
    int left = -1;
    if (c->deadline >= 0) {
        int64_t d = c->deadline - sys_now_ms();
        left = d <= 0 ? 0 : (d > INT_MAX ? INT_MAX : (int)d);
    }
    return sys_wait_fd(fd, for_write, left);
}

/* wait_fd for a bio callback: 0 when fd is ready, else the mbed TLS code
 * to return (WANT_* on a timeout, noted in the connection; *_FAILED). */
static int bio_wait(struct tls_conn *c, bool for_write)
{
    int w = wait_fd(c, for_write ? c->wfd : c->rfd, for_write);
    if (w == 0) {
        c->timed_out = true;
        return for_write ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_SSL_WANT_READ;
    }
    if (w < 0) {
        c->io_errno = errno;
        return for_write ? MBEDTLS_ERR_NET_SEND_FAILED : MBEDTLS_ERR_NET_RECV_FAILED;
    }
    return 0;
}

/* Notes a fatal alert the peer sent in clear. mbed TLS reads a record
 * header (5 bytes) and then its body, so a clear alert shows up as a read
 * of "15 03 0x 00 02" followed by one of "02 <description>". Needed because
 * a TLS 1.3 client may send its alert in clear after our ServerHello, which
 * mbed TLS then reports only as a bad MAC. */
static void sniff_alert(struct tls_conn *c, const unsigned char *buf, size_t n)
{
    if (c->alert_next && n >= 2 && buf[0] == MBEDTLS_SSL_ALERT_LEVEL_FATAL && c->clear_alert < 0) {
        c->clear_alert = buf[1];
    }
    c->alert_next = false;
    if (n >= 5 && buf[0] == MBEDTLS_SSL_MSG_ALERT && buf[1] == 3 && buf[3] == 0 && buf[4] == 2) {
        if (n >= 7 && buf[5] == MBEDTLS_SSL_ALERT_LEVEL_FATAL && c->clear_alert < 0) {
            c->clear_alert = buf[6];
        }
        c->alert_next = n == 5;
    }
}

/* One read from rfd after poll: >0 bytes, 0 EOF, or an mbed TLS error. */
static int fd_recv(struct tls_conn *c, unsigned char *buf, size_t len)
{
    if (len > INT_MAX) {
        len = INT_MAX;
    }
    /* PERF: read first and poll only when nothing is there. In a bulk
     * upload the bytes are nearly always waiting, and mbed TLS reads each
     * record in two calls (header, body): a poll before each was a third of
     * the session's syscalls. A non-socket (unit tests' pipes) takes the
     * poll-then-read path. */
    ssize_t r;
    do {
        r = recv(c->rfd, buf, len, MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTSOCK)) {
        int e = bio_wait(c, false);
        if (e != 0) {
            return e;
        }
        r = sys_read(c->rfd, buf, len);
    }
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return MBEDTLS_ERR_SSL_WANT_READ;
        }
        c->io_errno = errno;
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
    if (r == 0) {
        /* Remembered so tls_read can tell a truncation (EOF without
         * close_notify) from a clean close: 2.28's mbedtls_ssl_read returns
         * 0 for both an EOF and nothing else. */
        c->eof = true;
        return 0;
    }
    sniff_alert(c, buf, (size_t)r);
    return (int)r;
}

static int bio_recv(void *p, unsigned char *buf, size_t len)
{
    struct tls_conn *c = p;
    struct tls_ctx *ctx = c->ctx;
    if (c->from_hello) {
        if (ctx->hello_off < ctx->hello_len) {
            size_t n = ctx->hello_len - ctx->hello_off;
            if (n > len) {
                n = len;
            }
            memcpy(buf, ctx->hello_buf + ctx->hello_off, n);
            ctx->hello_off += n;
            return (int)n;
        }
        c->from_hello = false;
    }
    return fd_recv(c, buf, len);
}

static int bio_send(void *p, const unsigned char *buf, size_t len)
{
    struct tls_conn *c = p;
    if (len > INT_MAX) {
        len = INT_MAX;
    }
    /* PERF: as in fd_recv, try first and poll only on a full socket. */
    bool waited = false;
    for (;;) {
        /* MSG_NOSIGNAL: a peer that closed must give EPIPE, not SIGPIPE. */
        ssize_t r = send(c->wfd, buf, len, MSG_NOSIGNAL | (waited ? 0 : MSG_DONTWAIT));
        if (r < 0 && errno == ENOTSOCK) {
            if (!waited) {
                errno = EAGAIN;
            } else {
                r = write(c->wfd, buf, len);
            }
        }
        if (r >= 0) {
            c->sent = true;
            return (int)r;
        }
        if (errno == EINTR) {
            continue;
        }
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && !waited) {
            int e = bio_wait(c, true);
            if (e != 0) {
                return e;
            }
            waited = true;
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        }
        c->io_errno = errno;
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

/* Reads exactly n bytes into buf (for the first record). 0, or -1 with the
 * connection's flags saying why (timeout, EOF, error). */
static int read_exact(struct tls_conn *c, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = fd_recv(c, buf + got, n - got);
        if (r > 0) {
            got += (size_t)r;
            c->ctx->hello_len += (size_t)r;
        } else if (r == MBEDTLS_ERR_SSL_WANT_READ && !c->timed_out) {
            continue;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Reads the first record of the ClientHello into ctx->hello_buf — exactly
 * its bytes: what follows belongs to mbed TLS (and after a CCC, to the
 * clear-text control channel), so nothing more may leave the kernel. */
static int read_first_record(struct tls_conn *c)
{
    struct tls_ctx *ctx = c->ctx;
    ctx->hello_len = ctx->hello_off = 0;
    ctx->hello_buf[0] = 0;
    if (read_exact(c, ctx->hello_buf, 5) != 0) {
        return -1;
    }
    size_t len = ((size_t)ctx->hello_buf[3] << 8) | ctx->hello_buf[4];
    /* SECURITY: not a handshake record, or longer than TLS allows: do not
     * read on; mbed TLS rejects it with the right alert. */
    if (ctx->hello_buf[0] != MBEDTLS_SSL_MSG_HANDSHAKE || len > TLS_REC_MAX) {
        return 0;
    }
    return read_exact(c, ctx->hello_buf + 5, len);
}

/* ------------------------------------------------------------ callbacks */

static struct tls_conn *conn_of(mbedtls_ssl_context *ssl)
{
    /* ssl is the first member of struct tls_conn. */
    return (struct tls_conn *)(void *)ssl;
}

static int on_sni(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
    (void)p;
    struct tls_conn *c = conn_of(ssl);
    /* SECURITY: the name is client bytes that reach the log and HOST's
     * comparison: an over-long one is not recorded, and anything but
     * printable ASCII becomes '?' so it cannot forge log lines. Whatever
     * it says, the handshake goes on with our certificate. */
    c->has_sni = false;
    if (len == 0 || len >= sizeof c->sni) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        c->sni[i] = (name[i] > 0x20 && name[i] < 0x7f) ? (char)name[i] : '?';
    }
    c->sni[len] = '\0';
    c->has_sni = true;
    return 0;
}

static void cache_clear(struct tls_ctx *ctx)
{
    if (ctx->cache_blob != NULL) {
        mbedtls_platform_zeroize(ctx->cache_blob, ctx->cache_len);
        free(ctx->cache_blob);
    }
    ctx->cache_blob = NULL;
    ctx->cache_len = 0;
    ctx->cache_id_len = 0;
}

static int cache_get(struct tls_ctx *ctx, const unsigned char *id, size_t idlen,
                     mbedtls_ssl_session *session)
{
    struct tls_conn *c = ctx->cur;
    /* SECURITY: only a data connection may resume, and only the session of
     * this process's control connection: a guessed id, or one from another
     * session's process, finds nothing (SPEC §4.3, data-reuse). Resuming
     * still needs the master secret: mbed TLS checks both Finished MACs. */
    if (c == NULL || c->role != TLS_ROLE_DATA || ctx->cache_blob == NULL || idlen == 0 ||
        idlen != ctx->cache_id_len || memcmp(id, ctx->cache_id, idlen) != 0) {
        return 1;
    }
    if (mbedtls_ssl_session_load(session, ctx->cache_blob, ctx->cache_len) != 0) {
        return 1;
    }
    c->cache_hit = true;
    return 0;
}

static int cache_set(struct tls_ctx *ctx, const unsigned char *id, size_t idlen,
                     const mbedtls_ssl_session *session)
{
    struct tls_conn *c = ctx->cur;
    size_t need = 0;
    /* mbed TLS calls this after every full TLS 1.2 handshake and never
     * after a resumption: that is how tls_resumed() knows. */
    if (c != NULL) {
        c->full_hs = true;
    }
    if (c == NULL || c->role != TLS_ROLE_CONTROL || idlen == 0 || idlen > sizeof ctx->cache_id) {
        return 1;
    }
    int ret = mbedtls_ssl_session_save(session, NULL, 0, &need);
    if (ret != MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL || need == 0 || need > TLS_SESSION_MAX) {
        return 1;
    }
    unsigned char *blob = malloc(need);
    if (blob == NULL) {
        return 1;
    }
    if (mbedtls_ssl_session_save(session, blob, need, &need) != 0) {
        mbedtls_platform_zeroize(blob, need);
        free(blob);
        return 1;
    }
    cache_clear(ctx);
    ctx->cache_blob = blob;
    ctx->cache_len = need;
    memcpy(ctx->cache_id, id, idlen);
    ctx->cache_id_len = idlen;
    return 0;
}

#if TLS_MBEDTLS3
static int cache_get_cb(void *p, const unsigned char *id, size_t idlen, mbedtls_ssl_session *s)
{
    return cache_get(p, id, idlen, s);
}

static int cache_set_cb(void *p, const unsigned char *id, size_t idlen,
                        const mbedtls_ssl_session *s)
{
    return cache_set(p, id, idlen, s);
}
#else
static int cache_get_cb(void *p, mbedtls_ssl_session *s)
{
    /* Compare before loading: load overwrites s, id included. */
    return cache_get(p, s->id, s->id_len, s);
}

static int cache_set_cb(void *p, const mbedtls_ssl_session *s)
{
    return cache_set(p, s->id, s->id_len, s);
}
#endif

#if TLS_HAVE_13
static int ticket_write_cb(void *p, const mbedtls_ssl_session *s, unsigned char *start,
                           const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
    struct tls_ctx *ctx = p;
    /* SECURITY: tickets only on the control connection (a ticket on a
     * data connection makes clients RST small uploads, NOTES). */
    if (ctx->cur == NULL || ctx->cur->role != TLS_ROLE_CONTROL || !ctx->ticket_ready) {
        return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
    }
    return mbedtls_ssl_ticket_write(&ctx->ticket, s, start, end, tlen, lifetime);
}

static int ticket_parse_cb(void *p, mbedtls_ssl_session *s, unsigned char *buf, size_t len)
{
    struct tls_ctx *ctx = p;
    /* SECURITY: only data connections resume; the ticket key was made at
     * random in this process for its current control session, so another
     * session's ticket fails its MAC here. */
    if (ctx->cur == NULL || ctx->cur->role != TLS_ROLE_DATA || !ctx->ticket_ready) {
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    }
    int ret = mbedtls_ssl_ticket_parse(&ctx->ticket, s, buf, len);
    if (ret == 0) {
        ctx->cur->ticket_ok = true;
    }
    return ret;
}
#endif

/* NSS key log: "LABEL <client_random hex> <secret hex>", one write(2) per
 * line on an O_APPEND fd so lines from concurrent sessions never mix. */
static void keylog_line(struct tls_ctx *ctx, const char *label, const unsigned char cr[32],
                        const unsigned char *secret, size_t len)
{
    char line[40 + 65 + 2 * 64 + 2], rh[65], sh[2 * 64 + 1];
    if (ctx->keylog_fd < 0 || len > 64) {
        return;
    }
    hex_lower(cr, 32, rh, sizeof rh);
    hex_lower(secret, len, sh, sizeof sh);
    if (!sys_fmt(line, sizeof line, "%s %s %s\n", label, rh, sh) ||
        !sys_write_all(ctx->keylog_fd, line, strlen(line))) {
        if (!ctx->keylog_failed) {
            warn("keylog: cannot write: %s", strerror(errno));
        }
        ctx->keylog_failed = true;
    }
    mbedtls_platform_zeroize(sh, sizeof sh);
    mbedtls_platform_zeroize(line, sizeof line);
}

#if TLS_MBEDTLS3
static void keylog_cb(void *p, mbedtls_ssl_key_export_type type, const unsigned char *secret,
                      size_t len, const unsigned char cr[32], const unsigned char sr[32],
                      mbedtls_tls_prf_types prf)
{
    struct tls_conn *c = p;
    const char *label = NULL;
    (void)sr;
    (void)prf;
    switch (type) {
    case MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET:
        label = "CLIENT_RANDOM";
        break;
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_EARLY_SECRET:
        label = "CLIENT_EARLY_TRAFFIC_SECRET";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_HANDSHAKE_TRAFFIC_SECRET:
        label = "CLIENT_HANDSHAKE_TRAFFIC_SECRET";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_SERVER_HANDSHAKE_TRAFFIC_SECRET:
        label = "SERVER_HANDSHAKE_TRAFFIC_SECRET";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_APPLICATION_TRAFFIC_SECRET:
        label = "CLIENT_TRAFFIC_SECRET_0";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_SERVER_APPLICATION_TRAFFIC_SECRET:
        label = "SERVER_TRAFFIC_SECRET_0";
        break;
#endif
    default:
        break;
    }
    if (label != NULL) {
        keylog_line(c->ctx, label, cr, secret, len);
    }
}
#else
static int keylog_cb(void *p, const unsigned char *ms, const unsigned char *kb, size_t maclen,
                     size_t keylen, size_t ivlen, const unsigned char cr[32],
                     const unsigned char sr[32], mbedtls_tls_prf_types prf)
{
    (void)kb;
    (void)maclen;
    (void)keylen;
    (void)ivlen;
    (void)sr;
    (void)prf;
    keylog_line(p, "CLIENT_RANDOM", cr, ms, 48);
    return 0;
}
#endif

/* ------------------------------------------------------------ configuration */

static int conf_setup(struct tls_ctx *ctx, const struct policy *pol, enum tls_role role, int v13,
                      char *msg, size_t n)
{
    mbedtls_ssl_config *conf = &ctx->conf[role][v13];
    int ret = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        fmt_mbedtls(msg, n, ret, "mbedtls_ssl_config_defaults");
        return ret;
    }
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &ctx->drbg);

    /* The floor is set explicitly: the defaults accept TLS 1.0 and 1.1. */
#if TLS_MBEDTLS3
    mbedtls_ssl_protocol_version lo = MBEDTLS_SSL_VERSION_TLS1_2, hi = MBEDTLS_SSL_VERSION_TLS1_2;
#if TLS_HAVE_13
    if (v13 || pol->tls_min == 13) {
        lo = hi = MBEDTLS_SSL_VERSION_TLS1_3;
    }
#endif
    mbedtls_ssl_conf_min_tls_version(conf, lo);
    mbedtls_ssl_conf_max_tls_version(conf, hi);
    mbedtls_ssl_conf_groups(conf, conf_groups);
#else
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_curves(conf, conf_curves);
#endif
    mbedtls_ssl_conf_ciphersuites(conf, ctx->suites);
    for (int i = 0; i < ctx->ncert; i++) {
        ret = mbedtls_ssl_conf_own_cert(conf, &ctx->crt[i], &ctx->pk[i]);
        if (ret != 0) {
            fmt_mbedtls(msg, n, ret, "mbedtls_ssl_conf_own_cert");
            return ret;
        }
    }
    switch (ctx->client_cert) {
    case POL_CCERT_OFF:
        /* No CertificateRequest at all (the seed's NoCertRequest). */
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
        break;
    case POL_CCERT_OPTIONAL:
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
        mbedtls_ssl_conf_ca_chain(conf, &ctx->ca, NULL);
        break;
    case POL_CCERT_REQUIRED:
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(conf, &ctx->ca, NULL);
        break;
    }
    mbedtls_ssl_conf_extended_master_secret(conf, MBEDTLS_SSL_EXTENDED_MS_ENABLED);
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    /* Client-initiated renegotiation only if the policy says so, and only on
     * the control connection; the period is set to "never" so mbed TLS
     * itself never starts one (SPEC §4.5: never server-initiated). */
    static const unsigned char never[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    mbedtls_ssl_conf_renegotiation(conf, role == TLS_ROLE_CONTROL && pol->renegotiate_client
                                             ? MBEDTLS_SSL_RENEGOTIATION_ENABLED
                                             : MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    mbedtls_ssl_conf_renegotiation_period(conf, never);
#endif
    ret = mbedtls_ssl_conf_alpn_protocols(conf, alpn_list);
    if (ret != 0) {
        fmt_mbedtls(msg, n, ret, "mbedtls_ssl_conf_alpn_protocols");
        return ret;
    }
    mbedtls_ssl_conf_sni(conf, on_sni, ctx);
    mbedtls_ssl_conf_session_cache(conf, ctx, cache_get_cb, cache_set_cb);
#if !TLS_MBEDTLS3
    if (ctx->keylog_fd >= 0) {
        mbedtls_ssl_conf_export_keys_ext_cb(conf, keylog_cb, ctx);
    }
#endif
#if TLS_HAVE_13
    if (v13) {
        mbedtls_ssl_conf_session_tickets_cb(conf, ticket_write_cb, ticket_parse_cb, ctx);
        mbedtls_ssl_conf_new_session_tickets(conf, role == TLS_ROLE_CONTROL ? 1 : 0);
        if (role == TLS_ROLE_DATA && ctx->data_reuse_required) {
            /* With only psk_ephemeral a TLS 1.3 data handshake cannot
             * succeed without a PSK, and our tickets are the only PSKs:
             * resumption is then proven by construction. */
            mbedtls_ssl_conf_tls13_key_exchange_modes(
                conf, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL);
        }
    } else {
        mbedtls_ssl_conf_new_session_tickets(conf, 0);
    }
#else
    (void)v13;
#endif
    return 0;
}

/* ------------------------------------------------------------ tls_init */

static void ctx_free(struct tls_ctx *ctx)
{
    if (ctx->keylog_fd >= 0) {
        (void)close(ctx->keylog_fd);
    }
    cache_clear(ctx);
#if TLS_HAVE_13
    mbedtls_ssl_ticket_free(&ctx->ticket);
#endif
    for (int r = 1; r >= 0; r--) {
        for (int v = 1; v >= 0; v--) {
            mbedtls_ssl_config_free(&ctx->conf[r][v]);
        }
    }
    mbedtls_x509_crt_free(&ctx->ca);
    for (int i = POL_MAX_CERTS - 1; i >= 0; i--) {
        mbedtls_pk_free(&ctx->pk[i]);
        mbedtls_x509_crt_free(&ctx->crt[i]);
    }
    mbedtls_ctr_drbg_free(&ctx->drbg);
    mbedtls_platform_zeroize(ctx, sizeof *ctx);
    free(ctx);
}

struct tls_ctx *tls_init(const struct policy *pol, char *err, size_t errsz)
{
    char msg[TLS_MSG_MAX] = "";
    bool has13 = false, has12 = false;
    struct tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        (void)sys_copy(err, errsz, "TLS: out of memory");
        return NULL;
    }
    /* 1. Every context initialised, so the one cleanup path can free all. */
    ctx->keylog_fd = -1;
    mbedtls_ctr_drbg_init(&ctx->drbg);
    for (int i = 0; i < POL_MAX_CERTS; i++) {
        mbedtls_x509_crt_init(&ctx->crt[i]);
        mbedtls_pk_init(&ctx->pk[i]);
    }
    mbedtls_x509_crt_init(&ctx->ca);
    for (int r = 0; r < 2; r++) {
        for (int v = 0; v < 2; v++) {
            mbedtls_ssl_config_init(&ctx->conf[r][v]);
        }
    }
#if TLS_HAVE_13
    mbedtls_ssl_ticket_init(&ctx->ticket);
#endif
    ctx->tls_min = pol->tls_min;
    ctx->client_cert = pol->client_cert;
    ctx->data_reuse_required = pol->data_reuse_required;
    ctx->write_timeout_ms = pol->idle > 0 ? (int)pol->idle * 1000 : -1;

    /* 2. The random generator. */
#if TLS_MBEDTLS3
    if (!psa_ready(msg, sizeof msg)) {
        goto fail;
    }
#endif
    if (!seed_drbg(&ctx->drbg, msg, sizeof msg)) {
        goto fail;
    }

    /* 3. Suites and versions. */
    if (!build_suites(pol, ctx->suites, &ctx->nsuites, &has13, &has12, msg, sizeof msg) ||
        !check_min(pol, has13, has12, msg, sizeof msg)) {
        goto fail;
    }
    ctx->allow13 = TLS_HAVE_13 && has13;

    /* 4. Certificates, keys, client CA: host paths, before chroot. A key
     * that does not match would otherwise surface only as clients'
     * decrypt_error alerts. */
    if (pol->ncert <= 0 || pol->ncert != pol->nkey) {
        (void)sys_fmt(msg, sizeof msg, "TLS needs one 'key' per 'cert' (%d cert, %d key)",
                      pol->ncert, pol->nkey);
        goto fail;
    }
    for (int i = 0; i < pol->ncert && i < POL_MAX_CERTS; i++) {
        if (!load_crt(&ctx->crt[i], "cert", pol->cert[i], msg, sizeof msg) ||
            !load_key(&ctx->pk[i], pol->key[i], &ctx->drbg, msg, sizeof msg) ||
            !check_pair(&ctx->crt[i], &ctx->pk[i], pol->cert[i], pol->key[i], &ctx->drbg, false,
                        msg, sizeof msg)) {
            goto fail;
        }
        ctx->have_ec = ctx->have_ec || mbedtls_pk_can_do(&ctx->pk[i], MBEDTLS_PK_ECDSA);
        ctx->have_rsa = ctx->have_rsa || mbedtls_pk_can_do(&ctx->pk[i], MBEDTLS_PK_RSA);
        ctx->ncert = i + 1;
    }
    if (pol->client_cert != POL_CCERT_OFF) {
        if (pol->client_ca == NULL) {
            (void)sys_fmt(msg, sizeof msg,
                          "client-cert %s needs client-ca (certificates that do not verify "
                          "against it never log anyone in)",
                          pol->client_cert == POL_CCERT_REQUIRED ? "required" : "optional");
            goto fail;
        }
        if (!load_crt(&ctx->ca, "client-ca", pol->client_ca, msg, sizeof msg)) {
            goto fail;
        }
    }

    /* 5. The key log, loudly. */
    if (pol->keylog != NULL) {
        ctx->keylog_fd = open(
            pol->keylog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (ctx->keylog_fd < 0) {
            (void)sys_fmt(msg, sizeof msg, "keylog %s: %s", pol->keylog,
                          errno == ELOOP ? "is a symlink (refusing to follow it)"
                                         : strerror(errno));
            goto fail;
        }
        /* SECURITY: the file holds every session key. One somebody else
         * created (say in /tmp, mode 0666, before we ran as root) would
         * hand them the traffic: it must be ours, and it is narrowed to
         * 0600 whatever mode it had. */
        struct stat st;
        if (fstat(ctx->keylog_fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
            fchmod(ctx->keylog_fd, 0600) != 0) {
            (void)sys_fmt(msg, sizeof msg,
                          "keylog %s: must be a regular file owned by the user ftpsd starts as",
                          pol->keylog);
            goto fail;
        }
        warn("keylog %s: TLS session secrets of this session are being written to disk; "
             "anyone who reads the file can decrypt the traffic. Remove 'keylog' after debugging.",
             pol->keylog);
    }

    /* 6. One configuration per role (and per version on TLS 1.3 builds). */
    for (int r = 0; r < 2; r++) {
        for (int v = 0; v < (ctx->allow13 ? 2 : 1); v++) {
            if (conf_setup(ctx, pol, (enum tls_role)r, v, msg, sizeof msg) != 0) {
                goto fail;
            }
        }
    }
    return ctx;

fail:
    (void)sys_copy(err, errsz, msg);
    ctx_free(ctx);
    return NULL;
}

void tls_free(struct tls_ctx *ctx)
{
    if (ctx != NULL) {
        ctx_free(ctx);
    }
}

/* ------------------------------------------------------------ diagnostics */

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
    if (is_tls13_suite(id)) {
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
        if (is_tls13_suite(id) != v13) {
            continue;
        }
        if (shown >= 8) {
            skipped++;
            continue;
        }
        if (!sys_append(out, n, &pos, "%s%s", shown > 0 ? ", " : "",
                        suite_name(id, hex, sizeof hex))) {
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
static int salvage_alert(struct tls_conn *c)
{
    unsigned char b[7];
    ssize_t n = recv(c->rfd, b, sizeof b, MSG_DONTWAIT);
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

/* Says why a handshake failed, in an administrator's words, from what the
 * ClientHello offered and what mbed TLS returned. */
static enum tls_fail diagnose(struct tls_conn *c, int ret, char *msg, size_t n)
{
    struct tls_ctx *ctx = c->ctx;
    const struct tls_hello *h = &ctx->hello;
    char a[320], b[320];

    if (c->timed_out) {
        (void)sys_fmt(msg, n, "handshake timed out%s",
                      ctx->hello_len == 0 ? " (no ClientHello received)" : "");
        return TLS_FAIL_TIMEOUT;
    }
    if (ctx->hello_len == 0 && (c->eof || c->io_errno != 0)) {
        (void)sys_fmt(msg, n, "peer closed during handshake (before its ClientHello%s%s)",
                      c->io_errno != 0 ? ": " : "", c->io_errno != 0 ? strerror(c->io_errno) : "");
        return TLS_FAIL_PEER_CLOSED;
    }
    if (ctx->hello_len < 5 && ctx->hello_buf[0] == MBEDTLS_SSL_MSG_HANDSHAKE &&
        (c->eof || c->io_errno != 0)) {
        (void)sys_fmt(msg, n, "peer closed during handshake (inside its ClientHello)");
        return TLS_FAIL_PEER_CLOSED;
    }
    if (!h->handshake) {
        const unsigned char *p = ctx->hello_buf;
        if ((p[0] & 0x80) != 0) {
            (void)sys_fmt(msg, n, "client sent an SSLv2-format hello (SSL 2/3 are not supported)");
            return TLS_FAIL_NOT_TLS;
        }
        char shown[8];
        size_t k = 0;
        for (; k < ctx->hello_len && k + 1 < sizeof shown && k < 5; k++) {
            shown[k] = (p[k] >= 0x20 && p[k] < 0x7f) ? (char)p[k] : '.';
        }
        shown[k] = '\0';
        (void)sys_fmt(msg, n, "client did not start TLS (first bytes \"%s\")", shown);
        return TLS_FAIL_NOT_TLS;
    }
    if (h->max_version != 0 && h->max_version < 0x0303) {
        (void)sys_fmt(msg, n,
                      "client offered only TLS 1.0/1.1 (its highest: %s); TLS 1.2 is the minimum",
                      version_name(h->max_version));
        return TLS_FAIL_OLD_VERSION;
    }
    if (ctx->tls_min == 13 && !h->offers13 && h->parsed) {
        (void)sys_fmt(msg, n, "client offered only TLS 1.2; the policy requires TLS 1.3 (tls-min)");
        return TLS_FAIL_OLD_VERSION;
    }
    if (h->has_alpn && !h->alpn_ftp) {
        (void)sys_fmt(msg, n,
                      "client ALPN without ftp (it offered: %s); refused with "
                      "no_application_protocol",
                      h->alpn);
        return TLS_FAIL_ALPN;
    }
    if (h->parsed) {
        bool v13 = ctx->allow13 && h->offers13;
        bool shared = false, shared_any_cert = false;
        for (size_t i = 0; i < h->nsuites; i++) {
            for (size_t j = 0; j < ctx->nsuites; j++) {
                if (h->suites[i] == ctx->suites[j] && is_tls13_suite(ctx->suites[j]) == v13) {
                    shared_any_cert = true;
                    shared = shared || suite_servable(ctx, ctx->suites[j]);
                }
            }
        }
        if (!shared) {
            list_suites(a, sizeof a, h->suites, NULL, h->nsuites, v13);
            list_suites(b, sizeof b, NULL, ctx->suites, ctx->nsuites, v13);
            if (shared_any_cert) {
                (void)sys_fmt(msg, n,
                              "no shared cipher: the client offered only %s; ftpsd has no %s "
                              "certificate for them",
                              a, ctx->have_ec ? "RSA" : "ECDSA");
            } else {
                (void)sys_fmt(msg, n,
                              "no shared cipher: the client offered only %s; the policy "
                              "allows %s",
                              a, b);
            }
            return TLS_FAIL_NO_SHARED_CIPHER;
        }
        if (h->has_groups && chosen_group(h, false) == 0) {
            size_t pos = 0;
            char g[8];
            a[0] = '\0';
            for (size_t i = 0; i < h->ngroups && i < 8; i++) {
                (void)sys_append(a, sizeof a, &pos, "%s%s", i > 0 ? ", " : "",
                                 group_name(h->groups[i], g, sizeof g));
            }
            (void)sys_fmt(msg, n,
                          "no shared curve: the client offered only %s; ftpsd uses "
                          "X25519 and P-256",
                          a);
            return TLS_FAIL_NO_SHARED_GROUP;
        }
    }
    uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
    if (ret == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE ||
        (ctx->client_cert == POL_CCERT_REQUIRED && flags != (uint32_t)-1 &&
         (flags & MBEDTLS_X509_BADCERT_MISSING) != 0)) {
        (void)sys_fmt(msg, n, "client did not send a certificate (client-cert required)");
        return TLS_FAIL_CLIENT_CERT;
    }
    if (ctx->client_cert != POL_CCERT_OFF && flags != 0 && flags != (uint32_t)-1 &&
        (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || ret == MBEDTLS_ERR_SSL_BAD_CERTIFICATE ||
         ctx->client_cert == POL_CCERT_REQUIRED)) {
        char info[256] = "";
        (void)mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
        for (char *q = info; *q != '\0'; q++) {
            if (*q == '\n') {
                *q = *(q + 1) != '\0' ? ';' : '\0';
            }
        }
        (void)sys_fmt(msg, n, "client certificate not trusted by client-ca (%s)", info);
        return TLS_FAIL_CLIENT_CERT;
    }
    if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
#if TLS_MBEDTLS3
        const unsigned char *in = c->ssl.MBEDTLS_PRIVATE(in_msg);
#else
        const unsigned char *in = c->ssl.in_msg;
#endif
        unsigned alert = in != NULL ? in[1] : 0;
        (void)sys_fmt(msg, n, "client sent fatal alert %u (%s)%s", alert, alert_name(alert),
                      alert_hint(alert));
        return TLS_FAIL_ALERT;
    }
    if (c->clear_alert >= 0) {
        (void)sys_fmt(msg, n, "client sent fatal alert %d (%s)%s", c->clear_alert,
                      alert_name((unsigned)c->clear_alert), alert_hint((unsigned)c->clear_alert));
        return TLS_FAIL_ALERT;
    }
    if (c->eof || c->io_errno != 0 || ret == MBEDTLS_ERR_SSL_CONN_EOF) {
        int alert = salvage_alert(c);
        if (alert >= 0) {
            (void)sys_fmt(msg, n, "client sent fatal alert %d (%s)%s", alert,
                          alert_name((unsigned)alert), alert_hint((unsigned)alert));
            return TLS_FAIL_ALERT;
        }
        (void)sys_fmt(msg, n, "peer closed during handshake%s%s%s", c->io_errno != 0 ? " (" : "",
                      c->io_errno != 0 ? strerror(c->io_errno) : "", c->io_errno != 0 ? ")" : "");
        if (c->sent) {
            size_t pos = strlen(msg);
            (void)sys_append(msg, n, &pos,
                             " after our reply: it may not accept the server certificate");
        }
        return TLS_FAIL_PEER_CLOSED;
    }
#if TLS_HAVE_13
    if (c->role == TLS_ROLE_DATA && ctx->data_reuse_required && h->offers13 && ctx->allow13 &&
        !c->ticket_ok) {
        (void)sys_copy(msg, n, TLS_MSG_NOT_RESUMED);
        return TLS_FAIL_NOT_RESUMED;
    }
#endif
    fmt_mbedtls(msg, n, ret, "handshake failed");
    return TLS_FAIL_OTHER;
}

/* The info() line of a successful handshake. */
static void log_success(struct tls_conn *c)
{
    struct tls_ctx *ctx = c->ctx;
    char line[TLS_MSG_MAX], g[8], subj[256];
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

/* ------------------------------------------------------------ connections */

static void enter(struct tls_conn *c, int timeout_ms)
{
    c->ctx->cur = c;
    c->timed_out = false;
    c->deadline = timeout_ms < 0 ? -1 : sys_now_ms() + timeout_ms;
}

static void conn_free(struct tls_conn *c)
{
    if (c->ctx->cur == c) {
        c->ctx->cur = NULL;
    }
    mbedtls_ssl_free(&c->ssl);
    mbedtls_platform_zeroize(c, sizeof *c);
    free(c);
}

static void set_nodelay(int fd)
{
    int one = 1;
    /* SPEC §5: mbed TLS sends handshake messages one by one; without
     * TCP_NODELAY each waits ~40 ms for a delayed ACK. A non-TCP fd (unit
     * tests' socketpairs) cannot have it and loses nothing. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 && errno != ENOTSOCK &&
        errno != EOPNOTSUPP && errno != ENOPROTOOPT && errno != EINVAL) {
        debug("TCP_NODELAY on fd %d: %s", fd, strerror(errno));
    }
}

#if TLS_HAVE_13
/* A fresh ticket key for each control session: tickets of an earlier
 * control session of this process (before REIN) stop working too. */
static int ticket_key_renew(struct tls_ctx *ctx)
{
    if (ctx->ticket_ready) {
        mbedtls_ssl_ticket_free(&ctx->ticket);
        mbedtls_ssl_ticket_init(&ctx->ticket);
        ctx->ticket_ready = false;
    }
    int ret = mbedtls_ssl_ticket_setup(&ctx->ticket, mbedtls_ctr_drbg_random, &ctx->drbg,
                                       MBEDTLS_CIPHER_AES_256_GCM, TLS_TICKET_LIFETIME);
    ctx->ticket_ready = ret == 0;
    return ret;
}
#endif

/* A connection on (rfd, wfd), not yet given to mbed TLS; NULL if out of
 * memory. */
static struct tls_conn *conn_new(struct tls_ctx *ctx, int rfd, int wfd, enum tls_role role)
{
    struct tls_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    mbedtls_ssl_init(&c->ssl);
    c->ctx = ctx;
    c->rfd = rfd;
    c->wfd = wfd;
    c->role = role;
    c->clear_alert = -1;
    set_nodelay(rfd);
    if (wfd != rfd) {
        set_nodelay(wfd);
    }
    return c;
}

/* A new control session (first AUTH, or AUTH after REIN): only its
 * session may be resumed from now on. */
static bool control_session_start(struct tls_ctx *ctx, char *msg, size_t n)
{
    cache_clear(ctx);
#if TLS_HAVE_13
    int ret = ctx->allow13 ? ticket_key_renew(ctx) : 0;
    if (ret != 0) {
        fmt_mbedtls(msg, n, ret, "cannot make a session ticket key");
        return false;
    }
#else
    (void)msg;
    (void)n;
#endif
    return true;
}

/* The first record, then the configuration it calls for, then the
 * handshake loop: TLS_FAIL_NONE, or why not with msg filled. */
static enum tls_fail handshake(struct tls_conn *c, char *msg, size_t n)
{
    struct tls_ctx *ctx = c->ctx;
    bool got_record = read_first_record(c) == 0;
    tls_hello_parse(ctx->hello_buf, ctx->hello_len, &ctx->hello);
    if (!got_record) {
        return diagnose(c, MBEDTLS_ERR_SSL_CONN_EOF, msg, n);
    }
    int v13 = ctx->allow13 && ctx->hello.offers13 ? 1 : 0;
    int ret = mbedtls_ssl_setup(&c->ssl, &ctx->conf[c->role][v13]);
    if (ret != 0) {
        fmt_mbedtls(msg, n, ret, "mbedtls_ssl_setup");
        return TLS_FAIL_INTERNAL;
    }
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
#if TLS_MBEDTLS3
    if (ctx->keylog_fd >= 0) {
        mbedtls_ssl_set_export_keys_cb(&c->ssl, keylog_cb, c);
    }
#endif
    c->from_hello = true;
    for (;;) {
        ret = mbedtls_ssl_handshake(&c->ssl);
        if (ret == 0) {
            return TLS_FAIL_NONE;
        }
        if ((ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) &&
            !c->timed_out) {
            continue;
        }
        return diagnose(c, ret, msg, n);
    }
}

/* Resumed? TLS 1.2: our entry was returned and no full handshake
 * followed. TLS 1.3: one of this process's tickets was accepted, and
 * the client offered psk_dhe_ke, the mode mbed TLS prefers when a
 * ticket matches (with data-reuse required the data configuration
 * allows nothing else, so there it holds by construction). */
static bool data_resumed(const struct tls_conn *c)
{
    bool v13done = false;
#if TLS_HAVE_13
    v13done = mbedtls_ssl_get_version_number(&c->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#endif
    if (v13done) {
        return c->ticket_ok && (c->ctx->hello.psk_dhe || c->ctx->data_reuse_required);
    }
    return c->cache_hit && !c->full_hs;
}

static void set_why(enum tls_fail *why, enum tls_fail v)
{
    if (why != NULL) {
        *why = v;
    }
}

struct tls_conn *tls_accept(struct tls_ctx *ctx, int rfd, int wfd, enum tls_role role,
                            int timeout_ms, enum tls_fail *why, char *err, size_t errsz)
{
    char msg[TLS_MSG_MAX] = "";
    enum tls_fail fail = TLS_FAIL_INTERNAL;
    struct tls_conn *c = conn_new(ctx, rfd, wfd, role);
    if (c == NULL) {
        set_why(why, TLS_FAIL_INTERNAL);
        (void)sys_copy(err, errsz, "TLS: out of memory");
        return NULL;
    }
    enter(c, timeout_ms);
    if (role == TLS_ROLE_CONTROL && !control_session_start(ctx, msg, sizeof msg)) {
        goto fail;
    }
    fail = handshake(c, msg, sizeof msg);
    if (fail != TLS_FAIL_NONE) {
        goto fail;
    }
    c->resumed = role == TLS_ROLE_DATA && data_resumed(c);
    if (ctx->client_cert != POL_CCERT_OFF) {
        c->peer_ok = mbedtls_ssl_get_peer_cert(&c->ssl) != NULL &&
                     mbedtls_ssl_get_verify_result(&c->ssl) == 0;
    }
    log_success(c);
    c->deadline = -1;
    c->from_hello = false;
    ctx->hello_len = ctx->hello_off = 0;
    /* SECURITY: a protected data connection that does not resume the
     * control session could belong to anybody who raced the client to the
     * port (the attack vsftpd's require_ssl_reuse stops); resumption proves
     * it comes from the party that holds the control session's keys. TLS
     * 1.3 refuses such a handshake already (diagnose); a TLS 1.2 one ends
     * here, with close_notify so the client sees a clean end before the
     * caller's reply. */
    if (role == TLS_ROLE_DATA && ctx->data_reuse_required && !c->resumed) {
        (void)tls_close(c, false, TLS_REFUSE_CLOSE_MS);
        set_why(why, TLS_FAIL_NOT_RESUMED);
        (void)sys_copy(err, errsz, TLS_MSG_NOT_RESUMED);
        return NULL;
    }
    set_why(why, TLS_FAIL_NONE);
    return c;

fail:
    warn("TLS %s handshake failed: %s", role == TLS_ROLE_CONTROL ? "control" : "data", msg);
    set_why(why, fail);
    (void)sys_copy(err, errsz, msg);
    ctx->hello_len = ctx->hello_off = 0;
    conn_free(c);
    return NULL;
}

ssize_t tls_read(struct tls_conn *c, void *buf, size_t n, int timeout_ms)
{
    if (n == 0) {
        /* mbedtls_ssl_read(…, 0) returns 0, which would read as a close. */
        bug("tls_read with an empty buffer");
    }
    if (c->peer_closed) {
        return 0;
    }
    enter(c, timeout_ms);
    for (;;) {
        int ret = mbedtls_ssl_read(&c->ssl, buf, n);
        if (ret > 0) {
            return ret;
        }
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            c->peer_closed = true;
            return 0;
        }
        if (ret == 0 || ret == MBEDTLS_ERR_SSL_CONN_EOF) {
            /* mbed TLS returns 0 only for EOF; c->eof says it was TCP. */
            return TLS_IO_TRUNCATED;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            if (c->timed_out) {
                return TLS_IO_TIMEOUT;
            }
            continue;
        }
        /* A reset is the peer going away, like an EOF: not a TLS failure. */
        if (c->eof || (ret == MBEDTLS_ERR_NET_RECV_FAILED && c->io_errno == ECONNRESET)) {
            return TLS_IO_TRUNCATED;
        }
        char msg[TLS_MSG_MAX];
        fmt_mbedtls(msg, sizeof msg, ret, "TLS read");
        info("%s", msg);
        return TLS_IO_ERROR;
    }
}

ssize_t tls_write(struct tls_conn *c, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    size_t off = 0;
    enter(c, c->ctx->write_timeout_ms);
    while (off < n) {
        size_t chunk = n - off > TLS_REC_MAX ? TLS_REC_MAX : n - off;
        int ret = mbedtls_ssl_write(&c->ssl, p + off, chunk);
        if (ret > 0) {
            off += (size_t)ret;
            continue;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ) {
            if (c->timed_out) {
                info("TLS write: the peer read nothing for %d s", c->ctx->write_timeout_ms / 1000);
                return TLS_IO_TIMEOUT;
            }
            continue;
        }
        char msg[TLS_MSG_MAX];
        fmt_mbedtls(msg, sizeof msg, ret, "TLS write");
        info("%s", msg);
        return TLS_IO_ERROR;
    }
    return (ssize_t)n;
}

bool tls_pending(const struct tls_conn *c)
{
    return mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 || mbedtls_ssl_check_pending(&c->ssl) != 0;
}

/* Reads up to the peer's close_notify within the current deadline. */
static bool read_peer_close(struct tls_conn *c)
{
    unsigned char junk[1024];
    size_t dropped = 0;
    bool ok = true;
    for (;;) {
        int ret = mbedtls_ssl_read(&c->ssl, junk, sizeof junk);
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            break;
        }
        if (ret > 0) {
            /* Protected bytes the client sent before its close_notify
             * (CCC, REIN): a command sent then cannot be trusted to
             * belong to the clear channel, so it is dropped. */
            dropped += (size_t)ret;
            continue;
        }
        if ((ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) && !c->timed_out) {
            continue;
        }
        ok = false;
        break;
    }
    if (dropped > 0) {
        info("TLS close: dropped %zu protected bytes sent before the client's close_notify", dropped);
    }
    return ok;
}

static bool send_close_notify(struct tls_conn *c)
{
    int ret;
    do {
        ret = mbedtls_ssl_close_notify(&c->ssl);
    } while ((ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ) &&
             !c->timed_out);
    return ret == 0;
}

bool tls_close(struct tls_conn *c, bool wait_peer, int timeout_ms)
{
    enter(c, timeout_ms);
    bool ok = send_close_notify(c);
    if (ok && wait_peer && !c->peer_closed) {
        ok = read_peer_close(c);
    }
    conn_free(c);
    return ok;
}

/* What the client sends next, peeked: a TLS record (content types 20-24,
 * here its close_notify), a clear command (it starts with a letter),
 * nothing before the deadline, or EOF/an error. */
enum next_bytes { NEXT_ERROR, NEXT_NOTHING, NEXT_TLS, NEXT_CLEAR };

static enum next_bytes peek_next(struct tls_conn *c)
{
    if (mbedtls_ssl_check_pending(&c->ssl)) {
        return NEXT_TLS;
    }
    int w = wait_fd(c, c->rfd, false);
    if (w == 0) {
        return NEXT_NOTHING;
    }
    unsigned char first = 0;
    ssize_t r = -1;
    if (w == 1) {
        do {
            r = recv(c->rfd, &first, 1, MSG_PEEK);
        } while (r < 0 && errno == EINTR);
    }
    if (r != 1) {
        return NEXT_ERROR;
    }
    return first >= 20 && first <= 24 ? NEXT_TLS : NEXT_CLEAR;
}

enum tls_clear_result tls_clear(struct tls_conn *c, int timeout_ms)
{
    enum tls_clear_result res = TLS_CLEAR_FAILED;
    /* Let the client speak first. lftp and curl's "active" CCC mode send
     * close_notify as soon as they read the reply; ours then answers it.
     * Sent at once instead, ours may reach lftp in the same read as the
     * reply, and lftp takes it for a dropped connection (ProFTPD issue
     * #876 shows the same loop). curl's default "passive" mode waits for
     * ours, which follows after TLS_CLEAR_CLIENT_FIRST_MS. */
    enter(c, TLS_CLEAR_CLIENT_FIRST_MS);
    enum next_bytes next = peek_next(c);
    if (next == NEXT_TLS) {
        enter(c, timeout_ms);
        if (read_peer_close(c) && send_close_notify(c)) {
            res = TLS_CLEAR_CLEAN;
        }
        goto out;
    }
    if (next == NEXT_CLEAR) {
        /* The client left TLS without a word and already talks in the
         * clear: a close_notify now would land in its clear reader. The
         * command stays in the socket for the line reader. */
        res = TLS_CLEAR_PEER_SKIPPED;
        goto out;
    }
    if (next == NEXT_ERROR) {
        goto out;
    }
    enter(c, timeout_ms);
    if (!send_close_notify(c)) {
        goto out;
    }
    next = peek_next(c);
    if (next == NEXT_NOTHING || next == NEXT_CLEAR) {
        res = TLS_CLEAR_PEER_SKIPPED;
    } else if (next == NEXT_TLS && read_peer_close(c)) {
        res = TLS_CLEAR_CLEAN;
    }
out:
    conn_free(c);
    return res;
}

void tls_discard(struct tls_conn *c)
{
    if (c != NULL) {
        conn_free(c);
    }
}

bool tls_resumed(const struct tls_conn *c)
{
    return c->resumed;
}

bool tls_peer_cert_sha256(const struct tls_conn *c, unsigned char out[32])
{
    /* SECURITY: a certificate that did not verify against client-ca logs
     * nobody in, whatever its fingerprint (VERIFY_OPTIONAL lets the
     * handshake finish with it). */
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&c->ssl);
    if (peer == NULL || !c->peer_ok) {
        return false;
    }
    return tls_hash_sha256(peer->raw.p, peer->raw.len, out);
}

const char *tls_sni(const struct tls_conn *c)
{
    return c->has_sni ? c->sni : NULL;
}

void tls_describe(const struct tls_conn *c, char *buf, size_t n)
{
    if (c == NULL) {
        (void)sys_copy(buf, n, "no TLS");
        return;
    }
    (void)sys_fmt(buf, n, "%s %s", mbedtls_ssl_get_version(&c->ssl),
                  mbedtls_ssl_get_ciphersuite(&c->ssl));
}

const char *tls_version_string(void)
{
    return "mbed TLS " MBEDTLS_VERSION_STRING;
}

/* ------------------------------------------------------------ -t */

int tls_check_policy(const struct policy *pol, pol_report_fn *report, void *rctx)
{
    char msg[TLS_MSG_MAX];
    int errors = 0;
    int suites[TLS_SUITES_MAX];
    size_t nsuites = 0;
    bool has13 = false, has12 = false;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt crt, ca;
    mbedtls_pk_context pk;

    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&ca);
#if TLS_MBEDTLS3
    if (!psa_ready(msg, sizeof msg)) {
        report(rctx, pol->path, 0, msg);
        errors++;
        goto out;
    }
#endif
    if (!seed_drbg(&drbg, msg, sizeof msg)) {
        report(rctx, pol->path, 0, msg);
        errors++;
        goto out;
    }
    /* Every suite name, not just the first bad one. */
    if (pol->ciphers != NULL) {
        for (size_t i = 0; i < pol->nciphers; i++) {
            if (suite_id(pol->ciphers[i]) == 0) {
                (void)sys_fmt(msg, sizeof msg,
                              "ciphers: unknown suite '%s' in %s (use mbed TLS names such as "
                              "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 or IANA names)",
                              pol->ciphers[i], tls_version_string());
                report(rctx, pol->path, 0, msg);
                errors++;
            }
        }
    }
    if (errors == 0 && (!build_suites(pol, suites, &nsuites, &has13, &has12, msg, sizeof msg) ||
                        !check_min(pol, has13, has12, msg, sizeof msg))) {
        report(rctx, pol->path, 0, msg);
        errors++;
    } else if (pol->tls_min == 13 && !TLS_HAVE_13) {
        (void)check_min(pol, true, true, msg, sizeof msg);
        report(rctx, pol->path, 0, msg);
        errors++;
    }
    for (int i = 0; i < pol->ncert && i < POL_MAX_CERTS; i++) {
        mbedtls_x509_crt_init(&crt);
        mbedtls_pk_init(&pk);
        bool ok = load_crt(&crt, "cert", pol->cert[i], msg, sizeof msg);
        if (!ok) {
            report(rctx, pol->path, 0, msg);
            errors++;
        } else if (mbedtls_x509_time_is_past(&crt.valid_to)) {
            (void)sys_fmt(msg, sizeof msg, "warning: certificate %s has expired", pol->cert[i]);
            report(rctx, pol->path, 0, msg);
        }
        if (i < pol->nkey) {
            struct stat st;
            if (!load_key(&pk, pol->key[i], &drbg, msg, sizeof msg)) {
                report(rctx, pol->path, 0, msg);
                errors++;
            } else if (ok && !check_pair(&crt, &pk, pol->cert[i], pol->key[i], &drbg, true, msg,
                                         sizeof msg)) {
                report(rctx, pol->path, 0, msg);
                errors++;
            }
            /* A warning, not an error (SPEC §5): the key still works. */
            if (stat(pol->key[i], &st) == 0 && (st.st_mode & 077) != 0) {
                (void)sys_fmt(msg, sizeof msg,
                              "warning: key %s is readable by group or other (mode %04o); "
                              "chmod 600 it",
                              pol->key[i], (unsigned)(st.st_mode & 07777));
                report(rctx, pol->path, 0, msg);
            }
        }
        mbedtls_pk_free(&pk);
        mbedtls_x509_crt_free(&crt);
    }
    if (pol->client_cert != POL_CCERT_OFF && pol->client_ca == NULL) {
        (void)sys_fmt(msg, sizeof msg,
                      "client-cert %s needs client-ca (certificates that do not verify against "
                      "it never log anyone in)",
                      pol->client_cert == POL_CCERT_REQUIRED ? "required" : "optional");
        report(rctx, pol->path, 0, msg);
        errors++;
    }
    if (pol->client_ca != NULL && !load_crt(&ca, "client-ca", pol->client_ca, msg, sizeof msg)) {
        report(rctx, pol->path, 0, msg);
        errors++;
    }
    if (pol->keylog != NULL) {
        (void)sys_fmt(msg, sizeof msg,
                      "warning: keylog %s writes TLS secrets to disk: for debugging only",
                      pol->keylog);
        report(rctx, pol->path, 0, msg);
    }
out:
    mbedtls_x509_crt_free(&ca);
    mbedtls_ctr_drbg_free(&drbg);
    return errors;
}

/* ------------------------------------------------------------ --gen-cert */

/* SECURITY: the name goes into the subject DN and the SAN; a DNS name or
 * IP literal only, so it cannot smuggle DN syntax ("x, O=evil"). */
static bool name_ok(const char *name)
{
    size_t n = 0;
    for (; name[n] != '\0'; n++) {
        char ch = name[n];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == '*' ||
                  ch == ':';
        if (!ok) {
            return false;
        }
    }
    return n > 0 && n <= 253;
}

/* SubjectAltName: one dNSName, or one iPAddress for an IP literal. */
static int write_san(const char *name, unsigned char *buf, size_t size, unsigned char **start)
{
    unsigned char *p = buf + size;
    unsigned char ip[16];
    int ret = 0, len = 0; /* MBEDTLS_ASN1_CHK_ADD uses ret */
    const unsigned char *v = (const unsigned char *)name;
    size_t vlen = strlen(name);
    unsigned char tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2; /* dNSName */
    if (inet_pton(AF_INET, name, ip) == 1) {
        v = ip;
        vlen = 4;
        tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7; /* iPAddress */
    } else if (inet_pton(AF_INET6, name, ip) == 1) {
        v = ip;
        vlen = 16;
        tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7;
    }
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(&p, buf, v, vlen));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, vlen));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, tag));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, (size_t)len));
    MBEDTLS_ASN1_CHK_ADD(
        len, mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    *start = p;
    return len;
}

static bool write_file(const char *path, const void *data, size_t n, mode_t mode, char *msg,
                       size_t msgsz)
{
    /* O_NOFOLLOW: run as root, --gen-cert must not be redirected through
     * a symlink planted in a shared directory. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
    if (fd < 0) {
        (void)sys_fmt(msg, msgsz, "cannot create %s: %s", path,
                      errno == ELOOP ? "it is a symlink (refusing to follow it)" : strerror(errno));
        return false;
    }
    /* An existing file keeps its old mode through open(2): narrow it
     * before the secret is written. */
    bool ok = fchmod(fd, mode) == 0 && sys_write_all(fd, data, n) && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        (void)sys_fmt(msg, msgsz, "cannot write %s: %s", path, strerror(saved));
    }
    return ok;
}

static bool time_str(time_t t, char out[16])
{
    struct tm tm;
    return gmtime_r(&t, &tm) != NULL && strftime(out, 16, "%Y%m%d%H%M%S", &tm) == 14;
}

bool tls_gen_cert(const char *cert_path, const char *key_path, const char *name, char *fp,
                  size_t fpsz, char *err, size_t errsz)
{
    char msg[TLS_MSG_MAX] = "", host[256], subject[300], from[16], to[16];
    unsigned char serial[16], der[4096], pem[4096 * 2], keypem[2048], san[300], hash[32];
    unsigned char *sanp = NULL;
    /* extKeyUsage serverAuth and clientAuth: the same command makes the
     * certificates users log in with (cert=sha256:...). */
    static const unsigned char eku[] = {0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05,
                                        0x05, 0x07, 0x03, 0x01, 0x06, 0x08, 0x2b, 0x06,
                                        0x01, 0x05, 0x05, 0x07, 0x03, 0x02};
    bool ok = false;
    int ret = 0, derlen = 0, sanlen = 0;
    size_t pemlen = 0;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key;
    mbedtls_x509write_cert crt;
#if !TLS_MBEDTLS3
    mbedtls_mpi mpi;
    mbedtls_mpi_init(&mpi);
#endif
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&key);
    mbedtls_x509write_crt_init(&crt);

    if (name == NULL || name[0] == '\0') {
        if (gethostname(host, sizeof host - 1) != 0) {
            (void)sys_fmt(msg, sizeof msg, "gethostname: %s; give NAME", strerror(errno));
            goto out;
        }
        host[sizeof host - 1] = '\0';
        name = host;
    }
    if (!name_ok(name)) {
        (void)sys_fmt(msg, sizeof msg,
                      "name '%s' is not a DNS name or IP address (letters, digits, '.', '-')",
                      name);
        goto out;
    }
#if TLS_MBEDTLS3
    if (!psa_ready(msg, sizeof msg)) {
        goto out;
    }
#endif
    if (!seed_drbg(&drbg, msg, sizeof msg)) {
        goto out;
    }
    if ((ret = mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
        (ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key),
                                   mbedtls_ctr_drbg_random, &drbg)) != 0) {
        fmt_mbedtls(msg, sizeof msg, ret, "cannot make a P-256 key");
        goto out;
    }
    time_t now = time(NULL);
    if (now == (time_t)-1 || !time_str(now - 3600, from) ||
        !time_str(now + (time_t)(10 * 365 + 3) * 86400, to)) {
        (void)sys_fmt(msg, sizeof msg, "cannot read the clock");
        goto out;
    }
    if (mbedtls_ctr_drbg_random(&drbg, serial, sizeof serial) != 0) {
        (void)sys_fmt(msg, sizeof msg, "cannot draw a serial number");
        goto out;
    }
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40); /* positive, 16 bytes */
    if (!sys_fmt(subject, sizeof subject, "CN=%s", name)) {
        (void)sys_fmt(msg, sizeof msg, "name too long");
        goto out;
    }
    sanlen = write_san(name, san, sizeof san, &sanp);
    if (sanlen < 0) {
        fmt_mbedtls(msg, sizeof msg, sanlen, "subjectAltName");
        goto out;
    }
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, &key);
    mbedtls_x509write_crt_set_issuer_key(&crt, &key);
#if TLS_MBEDTLS3
    ret = mbedtls_x509write_crt_set_serial_raw(&crt, serial, sizeof serial);
#else
    ret = mbedtls_mpi_read_binary(&mpi, serial, sizeof serial);
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_serial(&crt, &mpi);
    }
#endif
    if (ret != 0 || (ret = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
        (ret = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) != 0 ||
        (ret = mbedtls_x509write_crt_set_validity(&crt, from, to)) != 0 ||
        (ret = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0 ||
        (ret = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) != 0 ||
#if defined(MBEDTLS_SHA1_C)
        (ret = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 ||
        (ret = mbedtls_x509write_crt_set_authority_key_identifier(&crt)) != 0 ||
#endif
        (ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
                                                   0, sanp, (size_t)sanlen)) != 0 ||
        (ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE),
                                                   0, eku, sizeof eku)) != 0) {
        fmt_mbedtls(msg, sizeof msg, ret, "cannot fill in the certificate");
        goto out;
    }
    /* The DER is made once; the PEM and the fingerprint come from the same
     * bytes (signing again would give another ECDSA signature). */
    derlen = mbedtls_x509write_crt_der(&crt, der, sizeof der, mbedtls_ctr_drbg_random, &drbg);
    if (derlen <= 0) {
        fmt_mbedtls(msg, sizeof msg, derlen, "cannot sign the certificate");
        goto out;
    }
    const unsigned char *dp = der + sizeof der - (size_t)derlen;
    if ((ret = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n",
                                        "-----END CERTIFICATE-----\n", dp, (size_t)derlen, pem,
                                        sizeof pem, &pemlen)) != 0 ||
        (ret = mbedtls_pk_write_key_pem(&key, keypem, sizeof keypem)) != 0) {
        fmt_mbedtls(msg, sizeof msg, ret, "cannot encode PEM");
        goto out;
    }
    /* pemlen counts the terminating NUL. */
    if (!write_file(key_path, keypem, strlen((const char *)keypem), 0600, msg, sizeof msg) ||
        !write_file(cert_path, pem, pemlen > 0 ? pemlen - 1 : 0, 0644, msg, sizeof msg)) {
        goto out;
    }
    if (!tls_hash_sha256(dp, (size_t)derlen, hash)) {
        (void)sys_fmt(msg, sizeof msg, "SHA-256 failed");
        goto out;
    }
    char hex[65];
    hex_lower(hash, sizeof hash, hex, sizeof hex);
    if (!sys_fmt(fp, fpsz, "sha256:%s", hex)) {
        (void)sys_fmt(msg, sizeof msg, "fingerprint buffer too small");
        goto out;
    }
    ok = true;

out:
    if (!ok) {
        (void)sys_copy(err, errsz, msg);
    }
    mbedtls_platform_zeroize(keypem, sizeof keypem);
    mbedtls_x509write_crt_free(&crt);
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
#if !TLS_MBEDTLS3
    mbedtls_mpi_free(&mpi);
#endif
    return ok;
}
