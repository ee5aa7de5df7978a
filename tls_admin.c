/* tls_admin.c — the administrator's TLS commands: `-t` (tls_check_policy)
 * and `--gen-cert` (tls_gen_cert). Neither runs in a session.
 *
 * `-t` runs the checks tls_init runs at session start, with the same
 * loaders (tls_conf.c), but reports every problem instead of stopping at
 * the first, proves each key against its certificate (mbedtls_pk_check_pair,
 * too slow for every session) and warns about what works but should not be
 * (expired certificate, key readable by others, keylog). `--gen-cert` makes
 * a self-signed ECDSA P-256 certificate and key for a server or for a user
 * who logs in with cert=sha256:... */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "sys.h"
#include "sys_fs.h"
#include "tls_hash.h"
#include "tls_priv.h"

#if !TLS_MBEDTLS3
#include <mbedtls/bignum.h>
#endif

/* ------------------------------------------------------------ -t */

/* -t's findings: each reported, the errors counted. */
struct check {
    const struct policy *pol;
    pol_report_fn *report;
    void *rctx;
    int errors;
    char msg[DEFS_TLS_MSG_MAX];
};

/* Reports k->msg, as an error or (false) a warning. */
static void found(struct check *k, bool error)
{
    k->report(k->rctx, k->pol->path, 0, k->msg);
    if (error) {
        k->errors++;
    }
}

static void check_suites(struct check *k)
{
    const struct policy *pol = k->pol;
    int suites[DEFS_TLS_SUITES_MAX];
    size_t nsuites = 0;
    bool has13 = false, has12 = false, bad_name = false;
    /* Every suite name, not just the first bad one. */
    for (size_t i = 0; pol->ciphers != NULL && i < pol->nciphers; i++) {
        if (tls_suite_id(pol->ciphers[i]) == 0) {
            (void)sys_fmt(k->msg, sizeof k->msg,
                          "ciphers: unknown suite '%s' in %s (use mbed TLS names such as "
                          "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 or IANA names)",
                          pol->ciphers[i], tls_version_string());
            found(k, true);
            bad_name = true;
        }
    }
    if (!bad_name &&
        (!tls_build_suites(pol, false, suites, &nsuites, &has13, &has12, k->msg, sizeof k->msg) ||
         !tls_check_min(pol, has13, has12, k->msg, sizeof k->msg))) {
        found(k, true);
    } else if (pol->tls_min == 13 && !TLS_HAVE_13) {
        (void)tls_check_min(pol, true, true, k->msg, sizeof k->msg);
        found(k, true);
    }
}

/* Seconds from now to an X.509 time (UTC); false if either cannot be
 * represented (a 32-bit time_t after 2038). */
static bool seconds_until(const mbedtls_x509_time *t, int64_t *out)
{
    struct tm tm = {.tm_year = t->year - 1900,
                    .tm_mon = t->mon - 1,
                    .tm_mday = t->day,
                    .tm_hour = t->hour,
                    .tm_min = t->min,
                    .tm_sec = t->sec};
    time_t when = timegm(&tm);
    time_t now = time(NULL);
    if (when == (time_t)-1 || now == (time_t)-1) {
        return false;
    }
    *out = (int64_t)when - (int64_t)now;
    return true;
}

/* Expired, or expiring within DEFS_CERT_EXPIRY_WARN_DAYS: a warning (the
 * certificate still loads; clients will refuse it, or soon). */
static void check_expiry(struct check *k, const char *path, const mbedtls_x509_crt *crt)
{
    const mbedtls_x509_time *t = &crt->valid_to;
    int64_t left = 0;
    if (mbedtls_x509_time_is_past(t)) {
        (void)sys_fmt(k->msg, sizeof k->msg, "warning: certificate %s has expired", path);
        found(k, false);
    } else if (seconds_until(t, &left) && left < (int64_t)DEFS_CERT_EXPIRY_WARN_DAYS * 86400) {
        (void)sys_fmt(k->msg, sizeof k->msg,
                      "warning: certificate %s expires in %lld day%s (%04d-%02d-%02d %02d:%02d "
                      "UTC): renew it before clients refuse it",
                      path, (long long)(left / 86400), left / 86400 == 1 ? "" : "s", t->year,
                      t->mon, t->day, t->hour, t->min);
        found(k, false);
    }
}

/* The i-th cert and key: readable, matching, not expired, key private. */
static void check_cert(struct check *k, int i, mbedtls_ctr_drbg_context *drbg)
{
    const struct policy *pol = k->pol;
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    struct stat st;
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
    bool ok = tls_load_crt(&crt, "cert", pol->cert[i], k->msg, sizeof k->msg);
    if (!ok) {
        found(k, true);
    } else {
        check_expiry(k, pol->cert[i], &crt);
    }
    if (i < pol->nkey) {
        if (!tls_load_key(&pk, pol->key[i], drbg, k->msg, sizeof k->msg)) {
            found(k, true);
        } else if (ok && !tls_check_pair(&crt, &pk, pol->cert[i], pol->key[i], drbg, true, k->msg,
                                         sizeof k->msg)) {
            found(k, true);
        }
        /* A warning, not an error (SPEC §5): the key still works. */
        if (sys_stat(pol->key[i], &st) == 0 && (st.st_mode & 077) != 0) {
            (void)sys_fmt(k->msg, sizeof k->msg,
                          "warning: key %s is readable by group or other (mode %04o); "
                          "chmod 600 it",
                          pol->key[i], (unsigned)(st.st_mode & 07777));
            found(k, false);
        }
    }
    mbedtls_pk_free(&pk);
    mbedtls_x509_crt_free(&crt);
}

static void check_client_ca(struct check *k)
{
    mbedtls_x509_crt ca;
    mbedtls_x509_crt_init(&ca);
    if (!tls_check_client_ca(k->pol, k->msg, sizeof k->msg)) {
        found(k, true);
    }
    if (k->pol->client_ca != NULL &&
        !tls_load_crt(&ca, "client-ca", k->pol->client_ca, k->msg, sizeof k->msg)) {
        found(k, true);
    }
    mbedtls_x509_crt_free(&ca);
}

int tls_check_policy(const struct policy *pol, pol_report_fn *report, void *rctx)
{
    struct check k = {.pol = pol, .report = report, .rctx = rctx};
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ctr_drbg_init(&drbg);
    if (!tls_rng_seed(&drbg, k.msg, sizeof k.msg)) {
        found(&k, true);
        mbedtls_ctr_drbg_free(&drbg);
        return k.errors;
    }
    check_suites(&k);
    for (int i = 0; i < pol->ncert && i < POL_MAX_CERTS; i++) {
        check_cert(&k, i, &drbg);
    }
    check_client_ca(&k);
    if (pol->keylog != NULL) {
        (void)sys_fmt(k.msg, sizeof k.msg,
                      "warning: keylog %s writes TLS secrets to disk: for debugging only",
                      pol->keylog);
        found(&k, false);
    }
    mbedtls_ctr_drbg_free(&drbg);
    return k.errors;
}

/* Which kinds of key the policy's certificates hold (only the certificates
 * are read: -t has reported whatever is wrong with them already). */
static void cert_kinds(const struct policy *pol, bool *ec, bool *rsa)
{
    *ec = *rsa = false;
    for (int i = 0; i < pol->ncert && i < POL_MAX_CERTS; i++) {
        mbedtls_x509_crt crt;
        mbedtls_x509_crt_init(&crt);
        if (mbedtls_x509_crt_parse_file(&crt, pol->cert[i]) == 0) {
            *ec = *ec || mbedtls_pk_can_do(&crt.pk, MBEDTLS_PK_ECDSA);
            *rsa = *rsa || mbedtls_pk_can_do(&crt.pk, MBEDTLS_PK_RSA);
        }
        mbedtls_x509_crt_free(&crt);
    }
}

/* A TLS 1.2 suite needs a certificate of its signature kind. */
static bool servable(int id, bool ec, bool rsa)
{
    const char *name = mbedtls_ssl_get_ciphersuite_name(id);
    if (tls_suite_is13(id) || name == NULL) {
        return true;
    }
    if (strstr(name, "-ECDSA-") != NULL) {
        return ec;
    }
    return strstr(name, "-RSA-") == NULL || rsa;
}

/* One "# tls-suites ..." line: the suites offered, in the order of the
 * path that carries the data connections' records. */
static void print_suites(const struct policy *pol, FILE *out, bool kernel, bool v12, bool v13)
{
    int suites[DEFS_TLS_SUITES_MAX];
    size_t n = 0;
    bool has13, has12, ec, rsa;
    char msg[DEFS_TLS_MSG_MAX], hex[8];
    if (!tls_build_suites(pol, kernel, suites, &n, &has13, &has12, msg, sizeof msg)) {
        return;
    }
    fprintf(out, "# tls-suites offered, in order, where %s carries the data:",
            kernel ? "kernel TLS" : "mbed TLS");
    cert_kinds(pol, &ec, &rsa);
    for (size_t i = 0; i < n; i++) {
        bool is13 = tls_suite_is13(suites[i]);
        if ((is13 ? v13 : v12) && servable(suites[i], ec, rsa)) {
            fprintf(out, " %s", tls_suite_name(suites[i], hex, sizeof hex));
        }
    }
    fputc('\n', out);
}

void tls_print_offer(const struct policy *pol, FILE *out)
{
    int suites[DEFS_TLS_SUITES_MAX];
    size_t n = 0;
    bool has13 = false, has12 = false;
    char msg[DEFS_TLS_MSG_MAX];
    if (pol->tls == POL_TLS_OFF) {
        fputs("# tls off: no TLS version or suite is offered\n", out);
        return;
    }
    if (!tls_build_suites(pol, false, suites, &n, &has13, &has12, msg, sizeof msg)) {
        fprintf(out, "# no TLS is offered: %s\n", msg);
        return;
    }
    /* The same decisions as tls_conf.c's: 1.3 needs the build, a 1.3 suite
     * and tls-max 1.3; tls-min 1.3 leaves no 1.2. */
    bool v13 = TLS_HAVE_13 && has13 && pol->tls_max == 13;
    bool v12 = pol->tls_min == 12 && has12;
    fprintf(out, "# tls-versions offered by this build (%s):%s%s", tls_version_string(),
            v12 ? " 1.2" : "", v13 ? " 1.3" : "");
    if (!v12 && !v13) {
        fputs(" none", out);
    }
    if (pol->tls_max == 13 && !TLS_HAVE_13) {
        fputs(" (tls-max 1.3: this build has no TLS 1.3, so 1.2 is its maximum)", out);
    } else if (pol->tls_max == 12 && TLS_HAVE_13) {
        fputs(" (tls-max 1.2)", out);
    }
    fputc('\n', out);
    /* The server's order is the fastest first for the path that carries
     * the data (SPEC §5): mbed TLS, or the kernel where it has TLS. */
    print_suites(pol, out, false, v12, v13);
    if (pol->ktls) {
        print_suites(pol, out, true, v12, v13);
    }
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
    /* SECURITY: run as root, --gen-cert must not be redirected through a
     * symlink or a hard link planted in a shared directory, nor write the
     * private key into a file another account owns (it could read it). */
    int fd = sys_open_owned(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        (void)sys_fmt(msg, msgsz, "cannot create %s: %s", path, sys_open_owned_error(errno));
        return false;
    }
    bool ok = sys_write_all(fd, data, n, -1) && sys_fsync(fd) == 0;
    int saved = errno;
    if (sys_close(fd) != 0 && ok) {
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

/* What one --gen-cert run holds, freed in one place. */
struct gen {
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key;
    mbedtls_x509write_cert crt;
    char msg[DEFS_TLS_MSG_MAX];
};

static bool make_key(struct gen *g)
{
    int ret;
    if ((ret = mbedtls_pk_setup(&g->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
        (ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(g->key),
                                   mbedtls_ctr_drbg_random, &g->drbg)) != 0) {
        tls_fmt_error(g->msg, sizeof g->msg, ret, "cannot make a P-256 key");
        return false;
    }
    return true;
}

/* 16 random bytes, positive. The mbed TLS return value, or 1 (with a
 * message) when no random bytes came. */
static int set_serial(struct gen *g)
{
    unsigned char serial[16];
    int ret;
    if (mbedtls_ctr_drbg_random(&g->drbg, serial, sizeof serial) != 0) {
        (void)sys_fmt(g->msg, sizeof g->msg, "cannot draw a serial number");
        return 1;
    }
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40); /* positive, 16 bytes */
#if TLS_MBEDTLS3
    ret = mbedtls_x509write_crt_set_serial_raw(&g->crt, serial, sizeof serial);
#else
    mbedtls_mpi mpi;
    mbedtls_mpi_init(&mpi);
    ret = mbedtls_mpi_read_binary(&mpi, serial, sizeof serial);
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_serial(&g->crt, &mpi);
    }
    mbedtls_mpi_free(&mpi);
#endif
    if (ret != 0) {
        tls_fmt_error(g->msg, sizeof g->msg, ret, "cannot fill in the certificate");
    }
    return ret;
}

/* Every field of the certificate: CN and SAN = name, ten years. */
static bool fill_cert(struct gen *g, const char *name)
{
    char subject[300], from[16], to[16];
    unsigned char san[300], *sanp = NULL;
    /* extKeyUsage serverAuth and clientAuth: the same command makes the
     * certificates users log in with (cert=sha256:...). */
    static const unsigned char eku[] = {0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05,
                                        0x05, 0x07, 0x03, 0x01, 0x06, 0x08, 0x2b, 0x06,
                                        0x01, 0x05, 0x05, 0x07, 0x03, 0x02};
    time_t now = time(NULL);
    if (now == (time_t)-1 || !time_str(now - 3600, from) ||
        !time_str(now + (time_t)(10 * 365 + 3) * 86400, to)) {
        (void)sys_fmt(g->msg, sizeof g->msg, "cannot read the clock");
        return false;
    }
    if (set_serial(g) != 0) {
        return false;
    }
    if (!sys_fmt(subject, sizeof subject, "CN=%s", name)) {
        (void)sys_fmt(g->msg, sizeof g->msg, "name too long");
        return false;
    }
    int ret, sanlen = write_san(name, san, sizeof san, &sanp);
    if (sanlen < 0) {
        tls_fmt_error(g->msg, sizeof g->msg, sanlen, "subjectAltName");
        return false;
    }
    mbedtls_x509write_crt_set_version(&g->crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&g->crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&g->crt, &g->key);
    mbedtls_x509write_crt_set_issuer_key(&g->crt, &g->key);
    if ((ret = mbedtls_x509write_crt_set_subject_name(&g->crt, subject)) != 0 ||
        (ret = mbedtls_x509write_crt_set_issuer_name(&g->crt, subject)) != 0 ||
        (ret = mbedtls_x509write_crt_set_validity(&g->crt, from, to)) != 0 ||
        (ret = mbedtls_x509write_crt_set_basic_constraints(&g->crt, 0, -1)) != 0 ||
        (ret = mbedtls_x509write_crt_set_key_usage(&g->crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) !=
            0 ||
#if defined(MBEDTLS_SHA1_C)
        (ret = mbedtls_x509write_crt_set_subject_key_identifier(&g->crt)) != 0 ||
        (ret = mbedtls_x509write_crt_set_authority_key_identifier(&g->crt)) != 0 ||
#endif
        (ret = mbedtls_x509write_crt_set_extension(&g->crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
                                                   0, sanp, (size_t)sanlen)) != 0 ||
        (ret = mbedtls_x509write_crt_set_extension(&g->crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE),
                                                   0, eku, sizeof eku)) != 0) {
        tls_fmt_error(g->msg, sizeof g->msg, ret, "cannot fill in the certificate");
        return false;
    }
    return true;
}

/* Signs, writes the key (0600) and the certificate, and the fingerprint
 * into fp. The DER is made once; the PEM and the fingerprint come from the
 * same bytes (signing again would give another ECDSA signature). */
static bool write_outputs(struct gen *g, const char *cert_path, const char *key_path, char *fp,
                          size_t fpsz)
{
    unsigned char der[4096], pem[4096 * 2], keypem[2048], hash[32];
    char hex[65];
    size_t pemlen = 0;
    bool ok = false;
    int ret, derlen = mbedtls_x509write_crt_der(&g->crt, der, sizeof der, mbedtls_ctr_drbg_random,
                                                &g->drbg);
    keypem[0] = '\0';
    if (derlen <= 0) {
        tls_fmt_error(g->msg, sizeof g->msg, derlen, "cannot sign the certificate");
        goto out;
    }
    const unsigned char *dp = der + sizeof der - (size_t)derlen;
    if ((ret = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n",
                                        "-----END CERTIFICATE-----\n", dp, (size_t)derlen, pem,
                                        sizeof pem, &pemlen)) != 0 ||
        (ret = mbedtls_pk_write_key_pem(&g->key, keypem, sizeof keypem)) != 0) {
        tls_fmt_error(g->msg, sizeof g->msg, ret, "cannot encode PEM");
        goto out;
    }
    /* pemlen counts the terminating NUL. */
    if (!write_file(key_path, keypem, strlen((const char *)keypem), 0600, g->msg, sizeof g->msg) ||
        !write_file(cert_path, pem, pemlen > 0 ? pemlen - 1 : 0, 0644, g->msg, sizeof g->msg)) {
        goto out;
    }
    if (!tls_hash_sha256(dp, (size_t)derlen, hash)) {
        (void)sys_fmt(g->msg, sizeof g->msg, "SHA-256 failed");
        goto out;
    }
    tls_hash_hex(hash, sizeof hash, hex, sizeof hex);
    ok = sys_fmt(fp, fpsz, "sha256:%s", hex);
    if (!ok) {
        (void)sys_fmt(g->msg, sizeof g->msg, "fingerprint buffer too small");
    }
out:
    mbedtls_platform_zeroize(keypem, sizeof keypem);
    return ok;
}

bool tls_gen_cert(const char *cert_path, const char *key_path, const char *name, char *fp,
                  size_t fpsz, char *err, size_t errsz)
{
    char host[256];
    struct gen g;
    bool ok = false;
    g.msg[0] = '\0';
    mbedtls_ctr_drbg_init(&g.drbg);
    mbedtls_pk_init(&g.key);
    mbedtls_x509write_crt_init(&g.crt);

    if (name == NULL || name[0] == '\0') {
        if (gethostname(host, sizeof host - 1) != 0) {
            (void)sys_fmt(g.msg, sizeof g.msg, "gethostname: %s; give NAME", strerror(errno));
            goto out;
        }
        host[sizeof host - 1] = '\0';
        name = host;
    }
    if (!name_ok(name)) {
        (void)sys_fmt(g.msg, sizeof g.msg,
                      "name '%s' is not a DNS name or IP address (letters, digits, '.', '-')",
                      name);
        goto out;
    }
    ok = tls_rng_seed(&g.drbg, g.msg, sizeof g.msg) && make_key(&g) && fill_cert(&g, name) &&
         write_outputs(&g, cert_path, key_path, fp, fpsz);

out:
    if (!ok) {
        (void)sys_copy(err, errsz, g.msg);
    }
    mbedtls_x509write_crt_free(&g.crt);
    mbedtls_pk_free(&g.key);
    mbedtls_ctr_drbg_free(&g.drbg);
    return ok;
}
