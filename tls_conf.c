/* tls_conf.c — tls_init and tls_free: everything the TLS layer loads and
 * decides once per process, before chroot.
 *
 * It follows the mbed TLS sample server (programs/ssl/ssl_server2.c): every
 * context initialised first, a CTR_DRBG seeded from getrandom(2), the
 * certificates, keys and client CA loaded, then one mbedtls_ssl_config per
 * use (role, and on TLS 1.3 builds whether the client offers TLS 1.3), and
 * one cleanup path freeing in reverse order. The suite names, certificate
 * and key loaders are shared with tls_admin.c, so `-t` runs the checks
 * session start runs.
 *
 * What SPEC §4.5/§5 ask of TLS is configured here: TLS 1.2 floor, ECDHE+AEAD
 * suites in measured order, X25519 then P-256, extended master secret, no
 * compression, renegotiation only when the client asks and the policy says
 * `renegotiate client`, ALPN "ftp" strictly (ALPACA). The data-reuse proof
 * (session cache, tickets) is tls.c's, installed through tls_conf_hooks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/ssl_ciphersuites.h>

#include "log.h"
#include "sys.h"
#include "sys_fs.h"
#include "tls_priv.h"

#if TLS_MBEDTLS3
#include <psa/crypto.h>
#endif

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

/* The same when kernel TLS carries the data connections' records
 * (tls_ktls.c): then the kernel's AES-GCM does the bulk work, and kernels
 * drive AES hardware (AES-NI/VAES on x86, ARMv8 CE, router engines) that
 * mbed TLS cannot use. The suite of a data connection is the control
 * session's (it resumes it), so the control connection picks by the data
 * path too. */
static const char *const default_suites_kernel[] = {
#if TLS_HAVE_13
    "TLS1-3-AES-128-GCM-SHA256",
    "TLS1-3-AES-256-GCM-SHA384",
    "TLS1-3-CHACHA20-POLY1305-SHA256",
#endif
    "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
    "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
    "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
    "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
    "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
    "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
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
 * secp521r1, twice the CPU). */
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

/* ------------------------------------------------------------ the random generator */

static int rng_getrandom(void *unused, unsigned char *out, size_t len)
{
    (void)unused;
    /* getrandom(2) works after chroot (no /dev/urandom needed) and costs a
     * tenth of mbedtls_entropy_func's default sources (HAVEGE on 2.28):
     * bench/handshake measures both. */
    return sys_random(out, len) ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

bool tls_rng_seed(mbedtls_ctr_drbg_context *drbg, char *msg, size_t n)
{
    static const unsigned char pers[] = "ftpsd tls";
#if TLS_MBEDTLS3
    psa_status_t st = psa_crypto_init();
    if (st != PSA_SUCCESS) {
        (void)sys_fmt(msg, n, "psa_crypto_init failed (%d)", (int)st);
        return false;
    }
#endif
    int ret = mbedtls_ctr_drbg_seed(drbg, rng_getrandom, NULL, pers, sizeof pers - 1);
    if (ret != 0) {
        tls_fmt_error(msg, n, ret, "cannot seed the random generator from getrandom(2)");
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ cipher suites */

/* Finds a suite id by mbed TLS name ("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
 * "TLS1-3-AES-128-GCM-SHA256"), IANA name ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
 * "TLS_AES_128_GCM_SHA256") or OpenSSL alias, any case. 0 if this build
 * does not know it. */
int tls_suite_id(const char *name)
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

/* Builds the suite list of the policy (or the default) into out[]; false
 * with a message naming the first unknown suite. *has13 / *has12 say
 * whether TLS 1.3 / TLS 1.2 suites are in it. */
bool tls_build_suites(const struct policy *pol, bool kernel, int *out, size_t *nout, bool *has13,
                      bool *has12, char *msg, size_t msgsz)
{
    size_t n = 0;
    *has13 = *has12 = false;
    if (pol->ciphers == NULL) {
        const char *const *names = kernel ? default_suites_kernel : default_suites;
        size_t count = kernel ? sizeof default_suites_kernel / sizeof default_suites_kernel[0]
                              : sizeof default_suites / sizeof default_suites[0];
        for (size_t i = 0; i < count; i++) {
            int id = mbedtls_ssl_get_ciphersuite_id(names[i]);
            if (id != 0 && n + 1 < DEFS_TLS_SUITES_MAX) {
                out[n++] = id;
            }
        }
    } else {
        for (size_t i = 0; i < pol->nciphers; i++) {
            int id = tls_suite_id(pol->ciphers[i]);
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
            if (!dup && n + 1 < DEFS_TLS_SUITES_MAX) {
                out[n++] = id;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (tls_suite_is13(out[i])) {
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
bool tls_check_min(const struct policy *pol, bool has13, bool has12, char *msg, size_t n)
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

/* ------------------------------------------------------------ certificates and keys */

static void file_reason(const char *path, char *buf, size_t n)
{
    struct stat st;
    if (sys_stat(path, &st) != 0) {
        (void)sys_fmt(buf, n, "%s", strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        (void)sys_fmt(buf, n, "not a regular file");
    } else if (!sys_readable(path)) {
        (void)sys_fmt(buf, n, "%s", strerror(errno));
    } else {
        (void)sys_fmt(buf, n, "unreadable");
    }
}

bool tls_load_crt(mbedtls_x509_crt *crt, const char *what, const char *path, char *msg, size_t n)
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
        tls_fmt_error(msg, n, ret, head);
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

bool tls_load_key(mbedtls_pk_context *pk, const char *path, mbedtls_ctr_drbg_context *drbg,
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
        tls_fmt_error(msg, n, ret, head);
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
bool tls_check_pair(mbedtls_x509_crt *crt, mbedtls_pk_context *pk, const char *cpath,
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

/* ------------------------------------------------------------ configurations */

/* Versions and key exchange groups. The floor is set explicitly: the
 * defaults accept TLS 1.0 and 1.1. */
static void conf_versions(mbedtls_ssl_config *conf, const struct policy *pol, int v13)
{
#if TLS_MBEDTLS3
    mbedtls_ssl_protocol_version lo = MBEDTLS_SSL_VERSION_TLS1_2, hi = MBEDTLS_SSL_VERSION_TLS1_2;
#if TLS_HAVE_13
    if (v13 || pol->tls_min == 13) {
        lo = hi = MBEDTLS_SSL_VERSION_TLS1_3;
    }
#else
    (void)pol;
    (void)v13;
#endif
    mbedtls_ssl_conf_min_tls_version(conf, lo);
    mbedtls_ssl_conf_max_tls_version(conf, hi);
    mbedtls_ssl_conf_groups(conf, conf_groups);
#else
    (void)pol;
    (void)v13;
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_curves(conf, conf_curves);
#endif
}

static void conf_client_cert(struct tls_ctx *ctx, mbedtls_ssl_config *conf)
{
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
}

static int conf_setup(struct tls_ctx *ctx, const struct policy *pol, enum tls_role role, int v13,
                      char *msg, size_t n)
{
    mbedtls_ssl_config *conf = &ctx->conf[role][v13];
    int ret = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        tls_fmt_error(msg, n, ret, "mbedtls_ssl_config_defaults");
        return ret;
    }
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &ctx->drbg);
    conf_versions(conf, pol, v13);
    /* TLS 1.3 configurations get the one suite tls_ktls_pick13 chose. */
    mbedtls_ssl_conf_ciphersuites(conf, v13 ? ctx->suites13 : ctx->suites);
    for (int i = 0; i < ctx->ncert; i++) {
        ret = mbedtls_ssl_conf_own_cert(conf, &ctx->crt[i], &ctx->pk[i]);
        if (ret != 0) {
            tls_fmt_error(msg, n, ret, "mbedtls_ssl_conf_own_cert");
            return ret;
        }
    }
    conf_client_cert(ctx, conf);
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
        tls_fmt_error(msg, n, ret, "mbedtls_ssl_conf_alpn_protocols");
        return ret;
    }
    tls_conf_hooks(ctx, conf, role, v13);
    return 0;
}

/* ------------------------------------------------------------ tls_init */

/* Every context initialised, so the one cleanup path can free all. */
static struct tls_ctx *ctx_new(const struct policy *pol)
{
    struct tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        return NULL;
    }
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
    return ctx;
}

static void ctx_free(struct tls_ctx *ctx)
{
    if (ctx->keylog_fd >= 0) {
        (void)sys_close(ctx->keylog_fd);
    }
    tls_cache_clear(ctx);
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

bool tls_check_client_ca(const struct policy *pol, char *msg, size_t n)
{
    if (pol->client_cert != POL_CCERT_OFF && pol->client_ca == NULL) {
        (void)sys_fmt(msg, n,
                      "client-cert %s needs client-ca (certificates that do not verify against "
                      "it never log anyone in)",
                      pol->client_cert == POL_CCERT_REQUIRED ? "required" : "optional");
        return false;
    }
    return true;
}

/* Certificates, keys, client CA: host paths, before chroot. A key that
 * does not match would otherwise surface only as clients' decrypt_error
 * alerts. */
static bool load_certs(struct tls_ctx *ctx, const struct policy *pol, char *msg, size_t n)
{
    if (pol->ncert <= 0 || pol->ncert != pol->nkey) {
        (void)sys_fmt(msg, n, "TLS needs one 'key' per 'cert' (%d cert, %d key)", pol->ncert,
                      pol->nkey);
        return false;
    }
    for (int i = 0; i < pol->ncert && i < POL_MAX_CERTS; i++) {
        if (!tls_load_crt(&ctx->crt[i], "cert", pol->cert[i], msg, n) ||
            !tls_load_key(&ctx->pk[i], pol->key[i], &ctx->drbg, msg, n) ||
            !tls_check_pair(&ctx->crt[i], &ctx->pk[i], pol->cert[i], pol->key[i], &ctx->drbg, false,
                            msg, n)) {
            return false;
        }
        ctx->have_ec = ctx->have_ec || mbedtls_pk_can_do(&ctx->pk[i], MBEDTLS_PK_ECDSA);
        ctx->have_rsa = ctx->have_rsa || mbedtls_pk_can_do(&ctx->pk[i], MBEDTLS_PK_RSA);
        ctx->ncert = i + 1;
    }
    if (!tls_check_client_ca(pol, msg, n)) {
        return false;
    }
    return pol->client_cert == POL_CCERT_OFF ||
           tls_load_crt(&ctx->ca, "client-ca", pol->client_ca, msg, n);
}

/* The key log, loudly. */
static bool open_keylog(struct tls_ctx *ctx, const struct policy *pol, char *msg, size_t n)
{
    if (pol->keylog == NULL) {
        return true;
    }
    /* SECURITY: the file holds every session key. One somebody else
     * created (say in /tmp, mode 0666, before we ran as root) would hand
     * them the traffic: sys_open_owned's rule, and mode 0600 at most. */
    ctx->keylog_fd = sys_open_owned(pol->keylog, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (ctx->keylog_fd < 0) {
        (void)sys_fmt(msg, n, "keylog %s: %s", pol->keylog, sys_open_owned_error(errno));
        return false;
    }
    warn("keylog %s: TLS session secrets of this session are being written to disk; "
         "anyone who reads the file can decrypt the traffic. Remove 'keylog' after debugging.",
         pol->keylog);
    return true;
}

struct tls_ctx *tls_init(const struct policy *pol, char *err, size_t errsz)
{
    char msg[DEFS_TLS_MSG_MAX] = "";
    bool has13 = false, has12 = false;
    struct tls_ctx *ctx = ctx_new(pol);
    if (ctx == NULL) {
        (void)sys_copy(err, errsz, "TLS: out of memory");
        return NULL;
    }
    if (!tls_rng_seed(&ctx->drbg, msg, sizeof msg)) {
        goto fail;
    }
    tls_ktls_probe(ctx, pol);
    if (!tls_build_suites(pol, ctx->ktls, ctx->suites, &ctx->nsuites, &has13, &has12, msg,
                          sizeof msg) ||
        !tls_check_min(pol, has13, has12, msg, sizeof msg)) {
        goto fail;
    }
    size_t n13 = 0;
    for (size_t i = 0; i < ctx->nsuites; i++) {
        if (tls_suite_is13(ctx->suites[i])) {
            ctx->suites13[n13++] = ctx->suites[i];
        }
    }
    ctx->suites13[n13] = 0;
    /* tls-max 1.2: the TLS 1.3 configurations are never made, so every
     * hello goes to the TLS 1.2 one (tls.c picks by ctx->allow13). */
    ctx->allow13 = TLS_HAVE_13 && has13 && pol->tls_max == 13;
    if (!load_certs(ctx, pol, msg, sizeof msg) || !open_keylog(ctx, pol, msg, sizeof msg)) {
        goto fail;
    }
    /* One configuration per role (and per version on TLS 1.3 builds). */
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
