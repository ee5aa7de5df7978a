/* passwd.c — password hashing and checking (SPEC §5 "Passwords").
 *
 * PBKDF2-HMAC-SHA256 (RFC 8018) on mbed TLS's SHA-256. mbed TLS's own
 * mbedtls_pkcs5_pbkdf2_hmac re-keys the HMAC on every iteration, which costs
 * four SHA-256 compressions; here the inner and outer states of the keyed
 * HMAC (key XOR ipad / opad, one block each) are computed once and cloned
 * for every iteration, so an iteration costs two. On a router this cost
 * dominates a login, so it is worth the few lines.
 *
 * The login path calls pw_verify for a known user and pw_waste for an
 * unknown one, so both take the same time (no user enumeration). Every
 * buffer that holds password-derived bytes is wiped before it goes out of
 * scope.
 */
#include "passwd.h"

#include <string.h>

#include "mbedtls/base64.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"
#include "mbedtls/version.h"

#include "sys.h"

/* 2.28 has int-returning `_ret` functions (the plain names are deprecated
 * and void); 3.x dropped the suffix and returns int. */
#if MBEDTLS_VERSION_NUMBER < 0x03000000
#define sha256_starts mbedtls_sha256_starts_ret
#define sha256_update mbedtls_sha256_update_ret
#define sha256_finish mbedtls_sha256_finish_ret
#define sha256_oneshot mbedtls_sha256_ret
#else
#define sha256_starts mbedtls_sha256_starts
#define sha256_update mbedtls_sha256_update
#define sha256_finish mbedtls_sha256_finish
#define sha256_oneshot mbedtls_sha256
#endif

#define SHA256_BLOCK 64
#define SHA256_LEN 32

/* Salt length pw_hash_string makes and pw_waste imitates. */
#define PW_SALT_LEN 16

/* The two hash states of HMAC-SHA256 under one key, after absorbing
 * key^ipad and key^opad respectively. */
struct hmac_state {
    mbedtls_sha256_context inner, outer;
};

static bool hmac_setup(struct hmac_state *h, const unsigned char *key, size_t keylen)
{
    unsigned char k[SHA256_BLOCK], pad[SHA256_BLOCK];
    bool ok = true;

    memset(k, 0, sizeof(k));
    /* RFC 2104: a key longer than the block is replaced by its hash. */
    if (keylen > SHA256_BLOCK) {
        ok = sha256_oneshot(key, keylen, k, 0) == 0;
    } else if (keylen != 0) {
        memcpy(k, key, keylen);
    }
    for (size_t i = 0; i < SHA256_BLOCK; i++) {
        pad[i] = (unsigned char)(k[i] ^ 0x36);
    }
    ok = ok && sha256_starts(&h->inner, 0) == 0 && sha256_update(&h->inner, pad, sizeof(pad)) == 0;
    for (size_t i = 0; i < SHA256_BLOCK; i++) {
        pad[i] = (unsigned char)(k[i] ^ 0x5c);
    }
    ok = ok && sha256_starts(&h->outer, 0) == 0 && sha256_update(&h->outer, pad, sizeof(pad)) == 0;
    mbedtls_platform_zeroize(k, sizeof(k));
    mbedtls_platform_zeroize(pad, sizeof(pad));
    return ok;
}

/* out = HMAC(a || b), using `work` as scratch; a clone of each prepared
 * state replaces the two key blocks a fresh HMAC would hash. */
static bool hmac_run(const struct hmac_state *h, mbedtls_sha256_context *work,
                     const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
                     unsigned char out[SHA256_LEN])
{
    mbedtls_sha256_clone(work, &h->inner);
    if (sha256_update(work, a, alen) != 0 || (blen != 0 && sha256_update(work, b, blen) != 0) ||
        sha256_finish(work, out) != 0) {
        return false;
    }
    mbedtls_sha256_clone(work, &h->outer);
    return sha256_update(work, out, SHA256_LEN) == 0 && sha256_finish(work, out) == 0;
}

bool pw_pbkdf2_sha256(const unsigned char *pw, size_t pwlen, const unsigned char *salt,
                      size_t saltlen, uint32_t iterations, unsigned char *out, size_t outlen)
{
    struct hmac_state h;
    mbedtls_sha256_context work;
    unsigned char u[SHA256_LEN], t[SHA256_LEN], ctr[4];
    uint32_t block = 1;
    size_t done = 0;
    bool ok;

    if (iterations == 0 || out == NULL || outlen == 0 || (pw == NULL && pwlen != 0) ||
        (salt == NULL && saltlen != 0)) {
        return false;
    }
    /* RFC 8018 §5.2: at most (2^32 - 1) blocks. */
    if (outlen / SHA256_LEN >= UINT32_MAX) {
        return false;
    }
    mbedtls_sha256_init(&h.inner);
    mbedtls_sha256_init(&h.outer);
    mbedtls_sha256_init(&work);
    ok = hmac_setup(&h, pw, pwlen);
    while (ok && done < outlen) {
        size_t take = outlen - done < SHA256_LEN ? outlen - done : SHA256_LEN;

        ctr[0] = (unsigned char)(block >> 24);
        ctr[1] = (unsigned char)(block >> 16);
        ctr[2] = (unsigned char)(block >> 8);
        ctr[3] = (unsigned char)block;
        /* U1 = HMAC(P, S || INT(i)) */
        ok = hmac_run(&h, &work, salt, saltlen, ctr, sizeof(ctr), u);
        memcpy(t, u, sizeof(t));
        for (uint32_t j = 1; ok && j < iterations; j++) {
            ok = hmac_run(&h, &work, u, sizeof(u), NULL, 0, u);
            for (size_t k = 0; k < SHA256_LEN; k++) {
                t[k] ^= u[k];
            }
        }
        memcpy(out + done, t, take);
        done += take;
        block++;
    }
    mbedtls_platform_zeroize(u, sizeof(u));
    mbedtls_platform_zeroize(t, sizeof(t));
    /* mbedtls_sha256_free wipes the keyed states. */
    mbedtls_sha256_free(&h.inner);
    mbedtls_sha256_free(&h.outer);
    mbedtls_sha256_free(&work);
    if (!ok) {
        mbedtls_platform_zeroize(out, outlen);
    }
    return ok;
}

bool pw_verify(const struct pol_pbkdf2 *stored, const char *password, size_t len)
{
    unsigned char got[DEFS_PBKDF2_HASH_LEN];
    volatile unsigned char diff = 0;
    bool ok;

    if (stored == NULL || (password == NULL && len != 0) ||
        stored->salt_len > sizeof(stored->salt)) {
        return false;
    }
    ok = pw_pbkdf2_sha256((const unsigned char *)password, len, stored->salt, stored->salt_len,
                          stored->iterations, got, sizeof(got));
    /* SECURITY: every byte is compared whatever the earlier ones were, so
     * the reply time says nothing about how much of the hash matched. */
    for (size_t i = 0; i < sizeof(got); i++) {
        diff |= (unsigned char)(got[i] ^ stored->hash[i]);
    }
    mbedtls_platform_zeroize(got, sizeof(got));
    return ok && diff == 0;
}

void pw_waste(uint32_t iterations, const char *password, size_t len)
{
    /* Same length as the salts pw_hash_string makes, so the work matches a
     * real check of a hash made here. */
    static const unsigned char salt[PW_SALT_LEN] = "ftpsd-no-user!!";
    unsigned char out[DEFS_PBKDF2_HASH_LEN];

    if (iterations > DEFS_PBKDF2_MAX_ITER) {
        iterations = DEFS_PBKDF2_MAX_ITER;
    }
    if (password == NULL) {
        len = 0;
    }
    (void)pw_pbkdf2_sha256((const unsigned char *)password, len, salt, sizeof(salt), iterations,
                           out, sizeof(out));
    mbedtls_platform_zeroize(out, sizeof(out));
}

/* Emits the standard base64 alphabet with `=` padding (RFC 4648 §4);
 * pol_parse_pbkdf2 also reads the unpadded and passlib forms. */
bool pw_hash_string(const char *password, size_t len, uint32_t iterations, char *out, size_t outsz)
{
    unsigned char salt[PW_SALT_LEN], hash[DEFS_PBKDF2_HASH_LEN];
    unsigned char salt64[((PW_SALT_LEN + 2) / 3) * 4 + 1];
    unsigned char hash64[((DEFS_PBKDF2_HASH_LEN + 2) / 3) * 4 + 1];
    size_t n;
    bool ok;

    if (out == NULL || outsz == 0) {
        return false;
    }
    out[0] = '\0';
    if ((password == NULL && len != 0) || iterations < DEFS_PBKDF2_MIN_ITER ||
        iterations > DEFS_PBKDF2_MAX_ITER) {
        return false;
    }
    ok = sys_random(salt, sizeof(salt)) &&
         pw_pbkdf2_sha256((const unsigned char *)password, len, salt, sizeof(salt), iterations,
                          hash, sizeof(hash)) &&
         mbedtls_base64_encode(salt64, sizeof(salt64), &n, salt, sizeof(salt)) == 0 &&
         mbedtls_base64_encode(hash64, sizeof(hash64), &n, hash, sizeof(hash)) == 0 &&
         sys_fmt(out, outsz, "$pbkdf2-sha256$%u$%s$%s", (unsigned)iterations, (const char *)salt64,
                 (const char *)hash64);
    mbedtls_platform_zeroize(hash, sizeof(hash));
    mbedtls_platform_zeroize(hash64, sizeof(hash64));
    if (!ok) {
        mbedtls_platform_zeroize(out, outsz);
    }
    return ok;
}
