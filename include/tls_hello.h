/* The first record of a TLS ClientHello, read from hostile bytes by a
 * bounded parser (tls_hello.c). tls.c uses it to pick a configuration
 * (TLS 1.3 offered or not) and to explain a failed handshake in an
 * administrator's words. Pure: no I/O, no mbed TLS, no global state. */
#ifndef FTPSD_TLS_HELLO_H
#define FTPSD_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs.h"

/* Protocol versions as they appear on the wire. */
#define TLS_HELLO_TLS12 0x0303
#define TLS_HELLO_TLS13 0x0304

/* What is kept of a ClientHello: enough for the diagnostics (the lists are
 * cut at their DEFS_TLS_HELLO_* limits). */
struct tls_hello {
    bool handshake;       /* a handshake record holding a ClientHello */
    bool parsed;          /* the whole ClientHello was in it and parsed */
    unsigned max_version; /* highest version offered: 0x0301 = TLS 1.0 ... */
    bool offers13;
    /* TLS 1.2 offered: in supported_versions, or (without that extension)
     * a legacy_version of TLS 1.2 or more. A TLS 1.3-only client lacks it. */
    bool offers12;
    bool has_versions;                      /* supported_versions was present */
    uint16_t suites[DEFS_TLS_HELLO_SUITES]; /* without GREASE and signalling suites */
    size_t nsuites;
    bool has_groups;
    uint16_t groups[DEFS_TLS_HELLO_GROUPS]; /* supported_groups, without GREASE */
    size_t ngroups;
    uint16_t shares[DEFS_TLS_HELLO_SHARES]; /* groups of the key_share entries */
    size_t nshares;
    bool has_alpn, alpn_ftp;
    char alpn[DEFS_TLS_HELLO_ALPN]; /* "h2, ftp": printable ASCII only, '?' for the rest */
    bool psk_dhe;                   /* psk_key_exchange_modes has psk_dhe_ke */
};

/* Parses buf[0..len), a TLS record header and as much of the record as
 * was received, into *out (always fully written; all false/0 when it is
 * not a ClientHello). Never reads outside buf, whatever the lengths inside
 * claim; lists longer than the arrays are cut. */
void tls_hello_parse(const unsigned char *buf, size_t len, struct tls_hello *out);

/* True for a GREASE value (RFC 8701), which says nothing about what a
 * client can do. */
bool tls_hello_is_grease(uint16_t v);

#endif
