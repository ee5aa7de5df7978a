/* Kernel TLS for data connections (tls_ktls.c): the record keys of a
 * finished mbed TLS handshake, derived from what mbed TLS exports, and the
 * hand-off of the record layer to the kernel. The derivations are pure and
 * declared here for the unit tests; the rest of ftpsd sees only tls.h. */
#ifndef FTPSD_TLS_KTLS_H
#define FTPSD_TLS_KTLS_H

#include <stdbool.h>
#include <stddef.h>

#include "sys_net.h"

struct tls_conn;

/* What the kernel needs to know of a suite: its AEAD, and the hash of its
 * PRF (TLS 1.2) or key schedule (TLS 1.3). */
struct tls_ktls_suite {
    enum sys_ktls_cipher cipher;
    bool sha384;
    bool v13;
};

/* The suites kernel TLS can carry (AES-128-GCM, AES-256-GCM,
 * ChaCha20-Poly1305 with an ECDHE, DHE or RSA key exchange, and the three
 * TLS 1.3 ones), by IANA id; false for any other suite. */
bool tls_ktls_suite_info(int id, struct tls_ktls_suite *out);

/* The key length of a cipher (16 or 32) and its TLS 1.2 implicit IV length
 * (4 for AES-GCM, whose nonce is 4 fixed + 8 explicit bytes; 12 for
 * ChaCha20-Poly1305, RFC 7905). */
size_t tls_ktls_key_len(enum sys_ktls_cipher c);
size_t tls_ktls_iv12_len(enum sys_ktls_cipher c);

/* HKDF-Expand-Label (RFC 8446 §7.1) with SHA-256 or SHA-384: outlen bytes
 * (at most 255) into out; false if the arguments are out of range. */
bool tls_ktls_expand_label(bool sha384, const unsigned char *secret, size_t slen, const char *label,
                           const unsigned char *context, size_t clen, unsigned char *out,
                           size_t outlen);

/* TLS 1.3 (RFC 8446 §7.3): the write key (keylen bytes) and the 12-byte IV
 * of one direction from its traffic secret. */
bool tls_ktls_derive13(bool sha384, const unsigned char *secret, size_t slen, size_t keylen,
                       unsigned char *key, unsigned char iv[12]);

/* TLS 1.2 (RFC 5246 §6.3, RFC 5288, RFC 7905): the key block of an AEAD
 * suite, client_write_key | server_write_key | client_write_IV |
 * server_write_IV, from the master secret and the two randoms, through mbed
 * TLS's own PRF; len bytes into out. */
bool tls_ktls_key_block12(bool sha384, const unsigned char ms[48], const unsigned char cr[32],
                          const unsigned char sr[32], unsigned char *out, size_t len);

/* The two directions of a finished handshake as the kernel would take
 * them (tx: the server's writes), with mbed TLS's own next sequence
 * numbers; false with a reason in why (suite not carried, secrets not
 * exported). Reads the connection only. */
bool tls_ktls_keys(const struct tls_conn *c, struct sys_ktls_key *tx, struct sys_ktls_key *rx,
                   char *why, size_t n);

#endif
