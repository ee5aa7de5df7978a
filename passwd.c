/* passwd.c — password hashing and checking (SPEC §5 "Passwords").
 *
 * PBKDF2-HMAC-SHA256 (RFC 8018) on tls_hash.c's prepared HMAC: the keyed
 * inner and outer states are computed once per password, and the chain of
 * iterations runs on pre-padded blocks, so an iteration costs two SHA-256
 * compressions (mbed TLS's own) and little else, against the four of mbed
 * TLS's mbedtls_pkcs5_pbkdf2_hmac. On a router this cost dominates a login.
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

#include "sys.h"
#include "tls_hash.h"

#define SHA256_LEN TLS_HASH_SHA256_LEN

/* Salt length pw_hash_string makes and pw_waste imitates. */

bool pw_pbkdf2_sha256(const unsigned char *pw, size_t pwlen, const unsigned char *salt,
                      size_t saltlen, uint32_t iterations, unsigned char *out, size_t outlen)
{
    struct tls_hash_hmac h;
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
    ok = tls_hash_hmac_setup(&h, pw, pwlen);
    while (ok && done < outlen) {
        size_t take = outlen - done < SHA256_LEN ? outlen - done : SHA256_LEN;

        ctr[0] = (unsigned char)(block >> 24);
        ctr[1] = (unsigned char)(block >> 16);
        ctr[2] = (unsigned char)(block >> 8);
        ctr[3] = (unsigned char)block;
        /* U1 = HMAC(P, S || INT(i)) */
        ok = tls_hash_hmac_run(&h, salt, saltlen, ctr, sizeof(ctr), u);
        memcpy(t, u, sizeof(t));
        /* U2 .. Uc, each XORed into T */
        ok = ok && tls_hash_hmac_chain(&h, u, iterations - 1, t);
        memcpy(out + done, t, take);
        done += take;
        block++;
    }
    mbedtls_platform_zeroize(u, sizeof(u));
    mbedtls_platform_zeroize(t, sizeof(t));
    tls_hash_hmac_free(&h);
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
    static const unsigned char salt[DEFS_PBKDF2_NEW_SALT_LEN] = "ftpsd-no-user!!";
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
    unsigned char salt[DEFS_PBKDF2_NEW_SALT_LEN], hash[DEFS_PBKDF2_HASH_LEN];
    unsigned char salt64[((DEFS_PBKDF2_NEW_SALT_LEN + 2) / 3) * 4 + 1];
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
