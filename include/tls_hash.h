/* SHA-256 and HMAC-SHA256 on mbed TLS, for the rest of ftpsd (passwd.c's
 * PBKDF2, certificate fingerprints). mbed TLS 2.28 and 3.6 spell the SHA-256
 * calls differently; the difference stays in tls_hash.c. */
#ifndef FTPSD_TLS_HASH_H
#define FTPSD_TLS_HASH_H

#include <stdbool.h>
#include <stddef.h>

#include <mbedtls/sha256.h>

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
/* Wipes and frees the keyed states. */
void tls_hash_hmac_free(struct tls_hash_hmac *h);

#endif
