/* The administrator's TLS commands (tls_admin.c): `-t` (tls_check_policy)
 * reports every problem of a policy's TLS part, and tls_init fails exactly
 * where it counts an error; `--gen-cert` makes a certificate and key that
 * verify, with the name as CN and SAN, and refuses DN syntax and symlinks. */
#include <mbedtls/oid.h>

#include "tls_fixture.h"

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

int main(void)
{
    const struct tls_test tests[] = {
        {"policy", test_check_policy, N(pc_cases)},
        {"policy", test_gen_cert, 1},
    };
    return tls_fixture_main("tls_admin", tests, N(tests));
}
