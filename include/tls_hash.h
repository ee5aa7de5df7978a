/* Hashes on mbed TLS, for the rest of ftpsd: SHA-256 and HMAC-SHA256
 * (passwd.c's PBKDF2, certificate fingerprints), and the streamed digests
 * of the HASH command. mbed TLS 2.28 and 3.6 spell the calls differently;
 * the difference stays in tls_hash.c. */
#ifndef FTPSD_TLS_HASH_H
#define FTPSD_TLS_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/sha256.h>
#if defined(MBEDTLS_SHA512_C)
#include <mbedtls/sha512.h>
#endif
#if defined(MBEDTLS_SHA1_C)
#include <mbedtls/sha1.h>
#endif
#if defined(MBEDTLS_MD5_C)
#include <mbedtls/md5.h>
#endif

#include "policy.h"

#define TLS_HASH_SHA256_LEN 32

/* out = SHA-256(in). False only on a library failure. */
bool tls_hash_sha256(const unsigned char *in, size_t n, unsigned char out[TLS_HASH_SHA256_LEN]);

/* Lower-case hex of in[0..n), NUL-terminated, cut to fit outsz. */
void tls_hash_hex(const unsigned char *in, size_t n, char *out, size_t outsz);

/* HMAC-SHA256 under one key, prepared once: the hash states after absorbing
 * key^ipad and key^opad, and a scratch state. */
struct tls_hash_hmac {
    mbedtls_sha256_context inner, outer, work;
};

/* Initialises h and absorbs the key (RFC 2104). Call tls_hash_hmac_free
 * afterwards whatever it returns; false only on a library failure. */
bool tls_hash_hmac_setup(struct tls_hash_hmac *h, const unsigned char *key, size_t keylen);
/* out = HMAC(key, a || b); b may be empty. out may alias a. */
bool tls_hash_hmac_run(struct tls_hash_hmac *h, const unsigned char *a, size_t alen,
                       const unsigned char *b, size_t blen, unsigned char out[TLS_HASH_SHA256_LEN]);
/* PBKDF2's chain (RFC 8018 §5.2, F): from u = U_1, computes U_2 ..
 * U_{count+1} = HMAC(key, previous U), XORs each into t, and leaves the
 * last in u. Two SHA-256 compressions per step, no more. False only on a
 * library failure. */
bool tls_hash_hmac_chain(struct tls_hash_hmac *h, unsigned char u[TLS_HASH_SHA256_LEN],
                         uint32_t count, unsigned char t[TLS_HASH_SHA256_LEN]);
/* Wipes and frees the keyed states. */
void tls_hash_hmac_free(struct tls_hash_hmac *h);

/* PBKDF2-HMAC-SHA256 by mbed TLS's own mbedtls_pkcs5_pbkdf2_hmac(_ext): the
 * reference the tests and bench/ compare passwd.c's against. False on a
 * failure or where the build has no MBEDTLS_PKCS5_C. */
bool tls_hash_pbkdf2_mbedtls(const unsigned char *pw, size_t pwlen, const unsigned char *salt,
                             size_t saltlen, uint32_t iterations, unsigned char *out,
                             size_t outlen);

/* The largest digest (SHA-512). */
#define TLS_DIGEST_MAX 64

/* One streamed digest of the HASH command: state of a fixed size, fed in
 * chunks, so a file of any size costs the same memory. */
struct tls_digest {
    enum pol_hash_algo algo;
    union {
        mbedtls_sha256_context sha256;
#if defined(MBEDTLS_SHA512_C)
        mbedtls_sha512_context sha512;
#endif
#if defined(MBEDTLS_SHA1_C)
        mbedtls_sha1_context sha1;
#endif
#if defined(MBEDTLS_MD5_C)
        mbedtls_md5_context md5;
#endif
    } u;
};

/* True if this build of mbed TLS has the algorithm (a trimmed build may
 * lack SHA-512, SHA-1 or MD5). */
bool tls_digest_available(enum pol_hash_algo a);
/* Starts a digest; false (nothing to free) if the build lacks it. */
bool tls_digest_start(struct tls_digest *d, enum pol_hash_algo a);
/* Feeds n bytes; false on a library failure. */
bool tls_digest_update(struct tls_digest *d, const unsigned char *p, size_t n);
/* Writes the digest into out and its length into *len, and frees d
 * (whatever it returns). */
bool tls_digest_finish(struct tls_digest *d, unsigned char out[TLS_DIGEST_MAX], size_t *len);
/* Frees a started digest that will not be finished. */
void tls_digest_free(struct tls_digest *d);

#endif
