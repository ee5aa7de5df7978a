/* bench/hs_bench: the in-process half of bench/handshake. It measures what
 * tls.c costs the server, with tls.c itself on one end of a socketpair and
 * a plain mbed TLS client (tests/unit/tls_client.h) in a thread on the
 * other:
 *   - server CPU (CLOCK_THREAD_CPUTIME_ID around tls_accept) per full
 *     handshake and per resumption of the control session, median of N;
 *   - the DRBG seeding a per-connection process pays once: in a fresh
 *     forked child each, mbedtls_entropy_func's default sources against the
 *     getrandom(2) callback tls.c uses;
 *   - record-layer throughput per default suite (the suite order's check);
 *   - tls_init as a whole (seeding, certificate, key, pair check, configs),
 *     and tls_init plus the first full handshake, in a fresh process each:
 *     what one FTPS session pays, nothing warm.
 * Usage: hs_bench CERT KEY [N] (or --gen-cert CERT KEY [NAME]). Output: "name median p10 p90 unit"
 * lines, parsed by bench/handshake. Not a test: it asserts nothing but success. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "log.h"
#include "policy.h"
#include "tls.h"
#include "tls_client.h"

static double now_us(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n, const char *unit)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    printf("%-28s %9.1f %9.1f %9.1f %s (n=%d)\n", name, v[n / 2], v[n / 10], v[n * 9 / 10], unit,
           n);
    fflush(stdout);
}

/* One handshake; returns server thread CPU in microseconds, or -1. */
static double one(struct tls_ctx *ctx, enum tls_role role, const struct tc_opts *o,
                  struct tc_result *r, bool *resumed)
{
    int sv[2];
    struct tc t;
    char err[512];
    tc_result_init(r);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        return -1;
    }
    tc_start(&t, sv[1], o, r);
    double t0 = now_us(CLOCK_THREAD_CPUTIME_ID);
    struct tls_conn *c = tls_accept(ctx, sv[0], sv[0], role, 5000, NULL, err, sizeof err);
    double cpu = now_us(CLOCK_THREAD_CPUTIME_ID) - t0;
    if (c == NULL) {
        fprintf(stderr, "handshake failed: %s\n", err);
        close(sv[0]);
        tc_join(&t);
        return -1;
    }
    if (resumed != NULL) {
        *resumed = tls_resumed(c);
    }
    (void)tls_close(c, false, 1000);
    close(sv[0]);
    tc_join(&t);
    return cpu;
}

static int bench_handshakes(const char *cert, const char *key, int n, enum tc_ver ver,
                            const char *label)
{
    struct policy p;
    char err[512], name[64];
    static struct tc_result r, ctl;
    double *full = calloc((size_t)n, sizeof(double)), *res = calloc((size_t)n, sizeof(double));
    pol_defaults(&p);
    p.path = (char *)"bench";
    p.cert[0] = (char *)cert;
    p.key[0] = (char *)key;
    p.ncert = p.nkey = 1;
    struct tls_ctx *ctx = tls_init(&p, err, sizeof err);
    if (ctx == NULL || full == NULL || res == NULL) {
        fprintf(stderr, "tls_init: %s\n", err);
        return 1;
    }
    struct tc_opts o = {.ver = ver, .act = TC_ACT_CLOSE};
    for (int i = 0; i < n + 5; i++) {
        double cpu = one(ctx, TLS_ROLE_CONTROL, &o, &r, NULL);
        if (cpu < 0) {
            return 1;
        }
        if (i >= 5) {
            full[i - 5] = cpu; /* the first few warm the caches */
        }
        mbedtls_ssl_session_free(&r.session);
    }
    snprintf(name, sizeof name, "full_handshake_%s", label);
    report(name, full, n, "us_cpu");

    struct tc_opts oc = {.ver = ver, .act = TC_ACT_CLOSE, .want_session = true};
    if (one(ctx, TLS_ROLE_CONTROL, &oc, &ctl, NULL) < 0 || !ctl.have_session) {
        fprintf(stderr, "no control session\n");
        return 1;
    }
    struct tc_opts od = {.ver = ver, .act = TC_ACT_CLOSE, .resume = &ctl.session};
    for (int i = 0; i < n; i++) {
        bool resumed = false;
        res[i] = one(ctx, TLS_ROLE_DATA, &od, &r, &resumed);
        mbedtls_ssl_session_free(&r.session);
        if (res[i] < 0 || !resumed) {
            fprintf(stderr, "data handshake %d did not resume\n", i);
            return 1;
        }
    }
    snprintf(name, sizeof name, "resumption_%s", label);
    report(name, res, n, "us_cpu");
    mbedtls_ssl_session_free(&ctl.session);
    tls_free(ctx);
    free(full);
    free(res);
    return 0;
}

static int getrandom_cb(void *p, unsigned char *out, size_t len)
{
    (void)p;
    return getrandom(out, len, 0) == (ssize_t)len ? 0 : -1;
}

/* What a figure measured in a fresh process needs to know. */
struct child_job {
    bool use_default; /* seeding: mbed TLS's entropy sources, else getrandom */
    const char *cert, *key;
    enum tc_ver ver;
};

/* Runs fn in a forked child (nothing warm: EC tables, caches, entropy) and
 * returns the microseconds it reports, or -1. */
static double in_child(double (*fn)(const struct child_job *), const struct child_job *job)
{
    int pfd[2];
    double us = -1;
    if (pipe(pfd) != 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        double dt = fn(job);
        if (write(pfd[1], &dt, sizeof dt) != (ssize_t)sizeof dt) {
            _exit(1);
        }
        _exit(0);
    }
    close(pfd[1]);
    if (pid > 0 && read(pfd[0], &us, sizeof us) != (ssize_t)sizeof us) {
        us = -1;
    }
    close(pfd[0]);
    if (pid > 0) {
        waitpid(pid, NULL, 0);
    }
    return us;
}

static void bench_policy(struct policy *p, const struct child_job *job)
{
    pol_defaults(p);
    p->path = (char *)"bench";
    p->cert[0] = (char *)job->cert;
    p->key[0] = (char *)job->key;
    p->ncert = p->nkey = 1;
}

/* The seeding a fresh process pays (wall time). */
static double seed_job(const struct child_job *job)
{
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_context ent;
    double t0 = now_us(CLOCK_MONOTONIC);
    mbedtls_ctr_drbg_init(&drbg);
    int ret;
    if (job->use_default) {
        mbedtls_entropy_init(&ent);
        ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0);
    } else {
        ret = mbedtls_ctr_drbg_seed(&drbg, getrandom_cb, NULL, NULL, 0);
    }
    return ret == 0 ? now_us(CLOCK_MONOTONIC) - t0 : -1;
}

/* tls_init (what every connection pays before 220, wall time). */
static double init_job(const struct child_job *job)
{
    struct policy p;
    char err[256];
    bench_policy(&p, job);
    double t0 = now_us(CLOCK_MONOTONIC);
    struct tls_ctx *ctx = tls_init(&p, err, sizeof err);
    return ctx != NULL ? now_us(CLOCK_MONOTONIC) - t0 : -1;
}

/* Record-layer throughput of one suite: the server sends `mib` MiB in
 * 16 KiB tls_write calls to a client thread that decrypts and checks them.
 * Prints MB/s (wall) and server CPU seconds per GiB. */
static int bench_xfer(const char *cert, const char *key, int suite, const char *label, int mib)
{
    static unsigned char buf[16384];
    struct policy p;
    char err[512];
    static struct tc_result r;
    int sv[2];
    struct tc t;
    const int suites[] = {suite, 0};
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (unsigned char)(i * 7u);
    }
    pol_defaults(&p);
    p.path = (char *)"bench";
    p.cert[0] = (char *)cert;
    p.key[0] = (char *)key;
    p.ncert = p.nkey = 1;
    p.data_reuse_required = false;
    struct tls_ctx *ctx = tls_init(&p, err, sizeof err);
    if (ctx == NULL) {
        fprintf(stderr, "tls_init: %s\n", err);
        return 1;
    }
    size_t total = (size_t)mib << 20;
    struct tc_opts o = {
        .ver = TC_VER_12, .suites = suites, .act = TC_ACT_READ, .read_expect = total};
    tc_result_init(&r);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        return 1;
    }
    tc_start(&t, sv[1], &o, &r);
    struct tls_conn *c = tls_accept(ctx, sv[0], sv[0], TLS_ROLE_DATA, 5000, NULL, err, sizeof err);
    if (c == NULL) {
        fprintf(stderr, "%s: %s\n", label, err);
        close(sv[0]);
        tc_join(&t);
        return 1;
    }
    double w0 = now_us(CLOCK_MONOTONIC), c0 = now_us(CLOCK_THREAD_CPUTIME_ID);
    for (size_t off = 0; off < total; off += sizeof buf) {
        if (tls_write(c, buf, sizeof buf, -1) != (ssize_t)sizeof buf) {
            fprintf(stderr, "%s: write failed\n", label);
            return 1;
        }
    }
    double cpu = now_us(CLOCK_THREAD_CPUTIME_ID) - c0;
    (void)tls_close(c, false, 5000);
    close(sv[0]);
    tc_join(&t);
    double wall = now_us(CLOCK_MONOTONIC) - w0;
    if (!r.read_ok || r.read_got != total) {
        fprintf(stderr, "%s: client got %zu of %zu bytes\n", label, r.read_got, total);
        return 1;
    }
    printf("xfer:%-30s %7.1f MB/s  %6.2f s_cpu/GiB (server, %d MiB)\n", label, (double)total / wall,
           cpu / 1e6 * 1024.0 / mib, mib);
    fflush(stdout);
    tls_free(ctx);
    return 0;
}

/* tls_init plus the first full handshake: what one FTPS session really
 * pays. Server thread CPU of both, in microseconds. */
static double first_job(const struct child_job *job)
{
    struct policy p;
    char err[256];
    static struct tc_result r;
    struct tc_opts o = {.ver = job->ver, .act = TC_ACT_CLOSE};
    bench_policy(&p, job);
    double t0 = now_us(CLOCK_THREAD_CPUTIME_ID);
    struct tls_ctx *ctx = tls_init(&p, err, sizeof err);
    double init = now_us(CLOCK_THREAD_CPUTIME_ID) - t0;
    double hs = ctx != NULL ? one(ctx, TLS_ROLE_CONTROL, &o, &r, NULL) : -1;
    return hs >= 0 ? init + hs : -1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--gen-cert") == 0) {
        char fp[80], err[512];
        if (!tls_gen_cert(argv[2], argv[3], argc > 4 ? argv[4] : NULL, fp, sizeof fp, err,
                          sizeof err)) {
            fprintf(stderr, "gen-cert: %s\n", err);
            return 1;
        }
        puts(fp);
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: hs_bench CERT KEY [N] | hs_bench --gen-cert CERT KEY [NAME]\n");
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 300;
    if (n < 10) {
        n = 10;
    }
    log_open(POL_LOG_NONE, POL_LEVEL_ERROR);
    printf("# %s; name median p10 p90 unit\n", tls_version_string());
    if (bench_handshakes(argv[1], argv[2], n, TC_VER_12, "tls12") != 0) {
        return 1;
    }
#if TC_HAVE_13
    if (bench_handshakes(argv[1], argv[2], n, TC_VER_DEFAULT, "tls13") != 0) {
        return 1;
    }
#endif
    static const struct {
        int id;
        const char *name;
    } xs[] = {
        {MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305"},
        {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES-128-GCM"},
        {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES-256-GCM"},
    };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        if (bench_xfer(argv[1], argv[2], xs[i].id, xs[i].name, 128) != 0) {
            return 1;
        }
    }
    double *v = calloc((size_t)n, sizeof(double));
    if (v == NULL) {
        return 1;
    }
#if defined(MBEDTLS_ENTROPY_C)
    for (int i = 0; i < n; i++) {
        v[i] = in_child(seed_job, &(struct child_job){.use_default = true});
    }
    report("drbg_seed_mbedtls_entropy", v, n, "us_wall");
#endif
    for (int i = 0; i < n; i++) {
        v[i] = in_child(seed_job, &(struct child_job){.use_default = false});
    }
    report("drbg_seed_getrandom", v, n, "us_wall");
    for (int i = 0; i < n; i++) {
        v[i] = in_child(init_job, &(struct child_job){.cert = argv[1], .key = argv[2]});
        if (v[i] < 0) {
            fprintf(stderr, "tls_init failed in child\n");
            return 1;
        }
    }
    report("tls_init_fresh_process", v, n, "us_wall");
    for (int i = 0; i < n; i++) {
        v[i] = in_child(first_job,
                        &(struct child_job){.cert = argv[1], .key = argv[2], .ver = TC_VER_12});
        if (v[i] < 0) {
            fprintf(stderr, "first handshake failed in child\n");
            return 1;
        }
    }
    report("init+1st_handshake_tls12", v, n, "us_cpu");
#if TC_HAVE_13
    for (int i = 0; i < n; i++) {
        v[i] = in_child(
            first_job, &(struct child_job){.cert = argv[1], .key = argv[2], .ver = TC_VER_DEFAULT});
        if (v[i] < 0) {
            fprintf(stderr, "first handshake failed in child\n");
            return 1;
        }
    }
    report("init+1st_handshake_tls13", v, n, "us_cpu");
#endif
    free(v);
    return 0;
}
