/* Password hashing: PBKDF2-HMAC-SHA256 on mbed TLS's SHA-256 (SPEC §5). */
#ifndef FTPSD_PASSWD_H
#define FTPSD_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* PBKDF2-HMAC-SHA256 with the inner and outer hash states of the keyed HMAC
 * computed once (2 compressions per iteration, not 4). Returns false only on
 * a library failure. */
bool pw_pbkdf2_sha256(const unsigned char *pw, size_t pwlen, const unsigned char *salt,
                      size_t saltlen, uint32_t iterations, unsigned char *out, size_t outlen);

/* Checks a password against a stored hash in constant time (with respect to
 * the hash). */
bool pw_verify(const struct pol_pbkdf2 *stored, const char *password, size_t len);

/* Burns the same time as pw_verify for `iterations` (unknown users). */
void pw_waste(uint32_t iterations, const char *password, size_t len);

/* Makes a `$pbkdf2-sha256$...` string with a fresh 16-byte salt from
 * getrandom(2). Returns false if out is too small or randomness failed. */
bool pw_hash_string(const char *password, size_t len, uint32_t iterations, char *out, size_t outsz);

#endif
