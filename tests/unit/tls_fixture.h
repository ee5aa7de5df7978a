/* What check_tls.c, check_tls_resume.c and check_tls_admin.c share:
 * certificates and keys made once per test program by tls_gen_cert (server,
 * client A and B, encrypted keys), a policy and a context for them, and one
 * server-side handshake against tls_client.h's client over a socketpair. */
#ifndef FTPSD_TESTS_TLS_FIXTURE_H
#define FTPSD_TESTS_TLS_FIXTURE_H

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "log.h"
#include "policy.h"
#include "sys.h"
#include "tls.h"
#include "tls_client.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

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

TC_FN void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0) {
        perror(path);
        exit(99);
    }
}

TC_FN void mkpol(struct policy *p)
{
    pol_defaults(p);
    p->path = (char *)"test.policy";
    p->cert[0] = srv_crt;
    p->key[0] = srv_key;
    p->ncert = p->nkey = 1;
}

TC_FN struct tls_ctx *mkctx(const struct policy *p)
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

TC_FN void run_start(struct run *x, struct tls_ctx *ctx, enum tls_role role,
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
TC_FN void run_end(struct run *x)
{
    if (x->c != NULL) {
        (void)tls_close(x->c, false, 1000);
        x->c = NULL;
    }
    close(x->sv[0]);
    tc_join(&x->t);
    tc_scan(&x->r);
}

TC_FN void sha256_file_der(const char *path, unsigned char out[32])
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

TC_FN void setup_files(void)
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

TC_FN void cleanup_files(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }
}

/* One line of a TLS test program's table: the test case it belongs to (a
 * name consecutive lines share), the test, and how many runs (_i = 0..). */
struct tls_test {
    const char *tcase;
    const TTest *test;
    int runs;
};

/* The main() of each TLS test program: the files, the suite its table
 * describes, the cleanup. */
TC_FN int tls_fixture_main(const char *name, const struct tls_test *t, size_t n)
{
    Suite *s = suite_create(name);
    TCase *tc = NULL;
    for (size_t i = 0; i < n; i++) {
        if (tc == NULL || strcmp(t[i].tcase, t[i - 1].tcase) != 0) {
            tc = tcase_create(t[i].tcase);
            tcase_set_timeout(tc, 60);
            suite_add_tcase(s, tc);
        }
        tcase_add_loop_test(tc, t[i].test, 0, t[i].runs);
    }
    log_open(getenv("FTPSD_TEST_LOG") ? POL_LOG_STDERR : POL_LOG_NONE, POL_LEVEL_DEBUG);
    setup_files();
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    cleanup_files();
    return failed == 0 ? 0 : 1;
}

#endif
