/* libFuzzer: the ClientHello parser reads hostile bytes before any
 * authentication; whatever they are, it stays inside them (ASan, UBSan:
 * libFuzzer's copy of the input is exactly its size) and what it reports
 * keeps the header's promises: lists within their arrays and free of
 * GREASE, the ALPN text printable and terminated, nothing "parsed" that was
 * not a handshake. */
#include "tls_hello.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(const struct tls_hello *h)
{
    if (h->nsuites > DEFS_TLS_HELLO_SUITES || h->ngroups > DEFS_TLS_HELLO_GROUPS ||
        h->nshares > DEFS_TLS_HELLO_SHARES || (h->parsed && !h->handshake) ||
        (h->alpn_ftp && !h->has_alpn) || (h->offers13 && !h->has_versions)) {
        abort();
    }
    for (size_t i = 0; i < h->nsuites; i++) {
        if (tls_hello_is_grease(h->suites[i])) {
            abort();
        }
    }
    for (size_t i = 0; i < h->ngroups; i++) {
        if (tls_hello_is_grease(h->groups[i])) {
            abort();
        }
    }
    size_t n = strnlen(h->alpn, sizeof h->alpn);
    if (n == sizeof h->alpn) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (h->alpn[i] < 0x20 || h->alpn[i] > 0x7e) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tls_hello h;
    tls_hello_parse(data, size, &h);
    check(&h);
    return 0;
}
