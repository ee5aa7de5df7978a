/* bench/pbkdf2_speed: what one password check costs the server, and its
 * floor. PBKDF2-HMAC-SHA256 at the default 100,000 iterations (or argv[1]),
 * thread CPU time, median of 15 runs, four ways on this build of mbed TLS:
 *   mbedtls_pkcs5     mbed TLS's own mbedtls_pkcs5_pbkdf2_hmac(_ext): the
 *                     HMAC re-keyed every iteration (4 compressions)
 *   hmac_clone        the keyed inner/outer states cloned per iteration,
 *                     then update + finish (2 compressions, plus the
 *                     clone, buffering, padding and length encoding)
 *   ftpsd             passwd.c's pw_pbkdf2_sha256 as built (tls_hash.c's
 *                     pre-padded chain: 2 compressions and a state copy)
 *   floor             2 x iterations calls of mbed TLS's compression
 *                     function alone (mbedtls_internal_sha256_process):
 *                     no implementation on mbed TLS's SHA-256 can go under
 * The first three must agree bit for bit (checked; exit 1 if not). Output:
 * "name median p10 p90 ms_cpu". Not a test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/sha256.h>

#include "passwd.h"
#include "tls_hash.h"

#define RUNS 15

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const unsigned char pw[] = "correct horse battery staple";
static const unsigned char salt[16] = "0123456789abcdef";

/* The step before tls_hash_hmac_chain: tls_hash_hmac_run per iteration. */
static int hmac_clone(uint32_t iter, unsigned char out[32])
{
    struct tls_hash_hmac h;
    unsigned char u[32], ctr[4] = {0, 0, 0, 1};
    int ok = tls_hash_hmac_setup(&h, pw, sizeof pw - 1) &&
             tls_hash_hmac_run(&h, salt, sizeof salt, ctr, sizeof ctr, u);
    memcpy(out, u, 32);
    for (uint32_t j = 1; ok && j < iter; j++) {
        ok = tls_hash_hmac_run(&h, u, 32, NULL, 0, u);
        for (int k = 0; k < 32; k++) {
            out[k] ^= u[k];
        }
    }
    tls_hash_hmac_free(&h);
    return ok;
}

static int floor_only(uint32_t iter, unsigned char out[32])
{
    mbedtls_sha256_context c;
    unsigned char blk[64] = {0};
    int ok = 1;
    mbedtls_sha256_init(&c);
    for (uint32_t j = 0; ok && j < 2 * iter; j++) {
        ok = mbedtls_internal_sha256_process(&c, blk) == 0;
        blk[j & 31] ^= (unsigned char)j;
    }
    memcpy(out, blk, 32);
    mbedtls_sha256_free(&c);
    return ok;
}

static int run(int way, uint32_t iter, unsigned char out[32])
{
    switch (way) {
    case 0:
        return tls_hash_pbkdf2_mbedtls(pw, sizeof pw - 1, salt, sizeof salt, iter, out, 32);
    case 1:
        return hmac_clone(iter, out);
    case 2:
        return pw_pbkdf2_sha256(pw, sizeof pw - 1, salt, sizeof salt, iter, out, 32);
    default:
        return floor_only(iter, out);
    }
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"mbedtls_pkcs5", "hmac_clone", "ftpsd", "floor"};
    uint32_t iter = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100000;
    unsigned char ref[32], out[32];
    double t[RUNS];
    if (iter == 0) {
        fprintf(stderr, "usage: pbkdf2_speed [ITERATIONS]\n");
        return 2;
    }
    printf("# PBKDF2-HMAC-SHA256, %u iterations, 32 bytes; name median p10 p90 unit\n",
           (unsigned)iter);
    for (int way = 0; way < 4; way++) {
        for (int r = 0; r < RUNS; r++) {
            double t0 = cpu_ms();
            if (!run(way, iter, out)) {
                fprintf(stderr, "%s failed\n", names[way]);
                return 1;
            }
            t[r] = cpu_ms() - t0;
        }
        if (way == 0) {
            memcpy(ref, out, 32);
        } else if (way < 3 && memcmp(ref, out, 32) != 0) {
            fprintf(stderr, "%s differs from mbed TLS's PBKDF2\n", names[way]);
            return 1;
        }
        qsort(t, RUNS, sizeof t[0], cmp);
        printf("pbkdf2:%-14s %8.2f %8.2f %8.2f ms_cpu (n=%d)\n", names[way], t[RUNS / 2],
               t[RUNS / 10], t[RUNS * 9 / 10], RUNS);
    }
    return 0;
}
