/* bench/aead_speed: raw AEAD throughput of the three ciphers ftpsd's default
 * suites use, on 16 KiB buffers (one full TLS record), through mbed TLS's
 * cipher layer. It is the measurement behind the default suite order in
 * tls.c (SPEC §5: "in the order that is fastest for this build"); the
 * record-layer numbers of bench/handshake's "xfer" mode confirm it end to
 * end. Output: one line per cipher, "NAME MB/s". Not a test. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/cipher.h>
#include <mbedtls/version.h>

/* mbed TLS 2.28 has no mbedtls_cipher_info_get_key_bitlen. */
#if MBEDTLS_VERSION_NUMBER < 0x03000000
#define mbedtls_cipher_info_get_key_bitlen(i) ((i)->key_bitlen)
#endif

#define REC 16384
#define ROUNDS 4000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(mbedtls_cipher_type_t type, const char *name)
{
    static unsigned char in[REC], out[REC + 16], key[32], iv[12];
    const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(type);
    mbedtls_cipher_context_t ctx;
    size_t olen;
    if (info == NULL) {
        printf("%-20s not in this build\n", name);
        return 0;
    }
    mbedtls_cipher_init(&ctx);
    if (mbedtls_cipher_setup(&ctx, info) != 0 ||
        mbedtls_cipher_setkey(&ctx, key, (int)mbedtls_cipher_info_get_key_bitlen(info),
                              MBEDTLS_ENCRYPT) != 0) {
        printf("%-20s setup failed\n", name);
        mbedtls_cipher_free(&ctx);
        return 1;
    }
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        for (int i = 0; i < ROUNDS; i++) {
            iv[0] = (unsigned char)i;
            if (mbedtls_cipher_auth_encrypt_ext(&ctx, iv, sizeof iv, NULL, 0, in, REC, out,
                                                sizeof out, &olen, 16) != 0) {
                printf("%-20s encrypt failed\n", name);
                mbedtls_cipher_free(&ctx);
                return 1;
            }
        }
        double mbs = (double)REC * ROUNDS / (now_s() - t0) / 1e6;
        if (mbs > best) {
            best = mbs;
        }
    }
    printf("%-20s %7.1f MB/s\n", name, best);
    mbedtls_cipher_free(&ctx);
    return 0;
}

int main(void)
{
    int rc = 0;
    printf("# %s, AEAD encrypt, %d-byte records, best of 3 x %d\n", MBEDTLS_VERSION_STRING, REC,
           ROUNDS);
    rc |= one(MBEDTLS_CIPHER_CHACHA20_POLY1305, "CHACHA20-POLY1305");
    rc |= one(MBEDTLS_CIPHER_AES_128_GCM, "AES-128-GCM");
    rc |= one(MBEDTLS_CIPHER_AES_256_GCM, "AES-256-GCM");
    return rc;
}
