/* tls_hello.c — the bounded ClientHello parser.
 *
 * The first record of every ClientHello is read by tls.c before mbed TLS
 * sees it; this file turns those client bytes into a struct tls_hello: the
 * highest version offered, suites, groups, key shares, ALPN names and PSK
 * modes. Every length in the message is the client's word, so every read
 * goes through a small reader that checks what is left and marks a short
 * read instead of reading past the end (SECURITY: the bytes come before
 * any authentication, from anybody who can connect). It is pure so that
 * tests/unit/check_tls_hello.c and fuzz/fuzz_hello.c can drive it alone. */
#include "tls_hello.h"

#include <string.h>

/* Wire values (RFC 8446 §5.1, §4, §4.2). */
#define REC_HANDSHAKE 22
#define HS_CLIENT_HELLO 1
#define EXT_SUPPORTED_GROUPS 10
#define EXT_ALPN 16
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_PSK_MODES 45
#define EXT_KEY_SHARE 51
#define PSK_DHE_KE 1
/* Signalling suites (RFC 5746 renegotiation SCSV, RFC 7507 FALLBACK_SCSV). */
#define SCSV_RENEGOTIATION 0x00ff
#define SCSV_FALLBACK 0x5600

bool tls_hello_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* A bounded reader over client bytes: every read checks the length left
 * and a short read sets `bad` instead of reading past the end. */
struct rd {
    const unsigned char *p;
    size_t left;
    bool bad;
};

static unsigned rd_u8(struct rd *r)
{
    if (r->left < 1) {
        r->bad = true;
        return 0;
    }
    unsigned v = r->p[0];
    r->p++;
    r->left--;
    return v;
}

static unsigned rd_u16(struct rd *r)
{
    unsigned hi = rd_u8(r);
    unsigned lo = rd_u8(r);
    return (hi << 8) | lo;
}

static struct rd rd_take(struct rd *r, size_t n)
{
    struct rd sub = {r->p, 0, true};
    if (r->bad || r->left < n) {
        r->bad = true;
        r->left = 0;
        return sub;
    }
    sub.left = n;
    sub.bad = false;
    r->p += n;
    r->left -= n;
    return sub;
}

static void ext_groups(struct tls_hello *h, struct rd e)
{
    struct rd l = rd_take(&e, rd_u16(&e));
    h->has_groups = true;
    while (l.left >= 2) {
        uint16_t g = (uint16_t)rd_u16(&l);
        if (!tls_hello_is_grease(g) && h->ngroups < DEFS_TLS_HELLO_GROUPS) {
            h->groups[h->ngroups++] = g;
        }
    }
}

static void ext_alpn(struct tls_hello *h, struct rd e)
{
    struct rd l = rd_take(&e, rd_u16(&e));
    size_t pos = 0;
    h->has_alpn = true;
    h->alpn[0] = '\0';
    while (l.left > 0 && !l.bad) {
        struct rd name = rd_take(&l, rd_u8(&l));
        if (name.bad) {
            break;
        }
        if (name.left == 3 && memcmp(name.p, "ftp", 3) == 0) {
            h->alpn_ftp = true;
        }
        /* SECURITY: protocol names are client bytes going to the log:
         * only printable ASCII is copied, the rest becomes '?'. */
        if (pos > 0 && pos + 2 < sizeof h->alpn) {
            h->alpn[pos++] = ',';
            h->alpn[pos++] = ' ';
        }
        for (size_t i = 0; i < name.left && pos + 1 < sizeof h->alpn; i++) {
            unsigned char ch = name.p[i];
            h->alpn[pos++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
        }
        h->alpn[pos] = '\0';
    }
}

static void ext_versions(struct tls_hello *h, struct rd e)
{
    struct rd l = rd_take(&e, rd_u8(&e));
    unsigned best = 0;
    h->has_versions = true;
    while (l.left >= 2) {
        unsigned v = rd_u16(&l);
        if (tls_hello_is_grease((uint16_t)v) || v > TLS_HELLO_TLS13) {
            continue;
        }
        if (v == TLS_HELLO_TLS13) {
            h->offers13 = true;
        }
        if (v == TLS_HELLO_TLS12) {
            h->offers12 = true;
        }
        if (v > best) {
            best = v;
        }
    }
    if (best != 0) {
        h->max_version = best;
    }
}

static void ext_psk_modes(struct tls_hello *h, struct rd e)
{
    struct rd l = rd_take(&e, rd_u8(&e));
    while (l.left >= 1) {
        if (rd_u8(&l) == PSK_DHE_KE) {
            h->psk_dhe = true;
        }
    }
}

static void ext_key_share(struct tls_hello *h, struct rd e)
{
    struct rd l = rd_take(&e, rd_u16(&e));
    while (l.left >= 4 && !l.bad) {
        uint16_t g = (uint16_t)rd_u16(&l);
        (void)rd_take(&l, rd_u16(&l));
        if (!tls_hello_is_grease(g) && h->nshares < DEFS_TLS_HELLO_SHARES) {
            h->shares[h->nshares++] = g;
        }
    }
}

/* The extensions read; any other is skipped whole. */
static const struct {
    unsigned type;
    void (*parse)(struct tls_hello *h, struct rd e);
} ext_parsers[] = {
    {EXT_SUPPORTED_GROUPS, ext_groups},     {EXT_ALPN, ext_alpn},
    {EXT_SUPPORTED_VERSIONS, ext_versions}, {EXT_PSK_MODES, ext_psk_modes},
    {EXT_KEY_SHARE, ext_key_share},
};

static void hello_ext(struct tls_hello *h, unsigned type, struct rd e)
{
    for (size_t i = 0; i < sizeof ext_parsers / sizeof ext_parsers[0]; i++) {
        if (ext_parsers[i].type == type) {
            ext_parsers[i].parse(h, e);
            return;
        }
    }
}

void tls_hello_parse(const unsigned char *buf, size_t len, struct tls_hello *h)
{
    memset(h, 0, sizeof *h);
    if (len < 5 || buf[0] != REC_HANDSHAKE) {
        return;
    }
    size_t reclen = ((size_t)buf[3] << 8) | buf[4];
    struct rd r = {buf + 5, len - 5 < reclen ? len - 5 : reclen, false};
    if (rd_u8(&r) != HS_CLIENT_HELLO) {
        return;
    }
    size_t hslen = (size_t)rd_u8(&r) << 16;
    hslen |= rd_u16(&r);
    bool complete = !r.bad && hslen <= r.left;
    /* SECURITY: a ClientHello longer than its record (fragmented) is parsed
     * only as far as the record goes. */
    struct rd m = rd_take(&r, complete ? hslen : r.left);
    h->handshake = !r.bad;
    h->max_version = rd_u16(&m);
    (void)rd_take(&m, 32);        /* random */
    (void)rd_take(&m, rd_u8(&m)); /* session id */
    struct rd s = rd_take(&m, rd_u16(&m));
    while (s.left >= 2) {
        uint16_t id = (uint16_t)rd_u16(&s);
        if (!tls_hello_is_grease(id) && id != SCSV_RENEGOTIATION && id != SCSV_FALLBACK &&
            h->nsuites < DEFS_TLS_HELLO_SUITES) {
            h->suites[h->nsuites++] = id;
        }
    }
    (void)rd_take(&m, rd_u8(&m)); /* compression methods */
    if (!m.bad && m.left >= 2) {
        struct rd exts = rd_take(&m, rd_u16(&m));
        while (exts.left >= 4 && !exts.bad) {
            unsigned type = rd_u16(&exts);
            struct rd e = rd_take(&exts, rd_u16(&exts));
            if (!e.bad) {
                hello_ext(h, type, e);
            }
        }
        m.bad = m.bad || exts.bad;
    }
    if (!h->has_versions) {
        h->offers12 = h->max_version >= TLS_HELLO_TLS12;
    }
    h->parsed = complete && !m.bad;
}
