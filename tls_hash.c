/* tls_hash.c — SHA-256, a prepared HMAC-SHA256 and PBKDF2's iteration
 * chain, and the streamed digests of the HASH command, for the rest of
 * ftpsd.
 *
 * passwd.c's PBKDF2 runs HMAC-SHA256 hundreds of thousands of times per
 * login. mbed TLS's own mbedtls_pkcs5_pbkdf2_hmac re-keys the HMAC on every
 * iteration, which costs four SHA-256 compressions; here the inner and
 * outer states of the keyed HMAC (key XOR ipad / opad, one block each) are
 * computed once. From the second iteration on, an HMAC input is always 32
 * bytes after the key block, so the one block it needs is always the same
 * shape: U, 0x80, zeros, and the length (64 + 32) * 8 bits; the outer hash
 * of the inner digest is the same shape again. tls_hash_hmac_chain feeds
 * that pre-padded block to mbed TLS's own compression function
 * (mbedtls_internal_sha256_process) from a copy of the 8-word keyed state,
 * so an iteration is the two compressions and almost nothing else: no
 * context clone, no buffering, no padding, no length encoding. On a router
 * this cost dominates a login, so it is worth the few lines. Also the hex
 * form of digests and secrets (fingerprints, the key log). The HASH
 * command's digests (SHA-256, SHA-512, SHA-1, MD5) are fed a chunk at a
 * time through one fixed-size state; an algorithm the build lacks is
 * reported as unavailable, never a link error.
 *
 * It lives beside tls.c because 2.28 and 3.6 name the SHA-256 calls and
 * the context's state field differently, and every such difference stays
 * in the tls*.c files (STYLE.md habit 7). */
#include "tls_hash.h"

#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>

/* 2.28 has int-returning `_ret` functions (the plain names are deprecated
 * and void); 3.x dropped the suffix and returns int. */
#if MBEDTLS_VERSION_NUMBER < 0x03000000
#define sha256_starts mbedtls_sha256_starts_ret
#define sha256_update mbedtls_sha256_update_ret
#define sha256_finish mbedtls_sha256_finish_ret
#define sha256_oneshot mbedtls_sha256_ret
#define sha512_starts mbedtls_sha512_starts_ret
#define sha512_update mbedtls_sha512_update_ret
#define sha512_finish mbedtls_sha512_finish_ret
#define sha1_starts mbedtls_sha1_starts_ret
#define sha1_update mbedtls_sha1_update_ret
#define sha1_finish mbedtls_sha1_finish_ret
#define md5_starts mbedtls_md5_starts_ret
#define md5_update mbedtls_md5_update_ret
#define md5_finish mbedtls_md5_finish_ret
#else
#define sha256_starts mbedtls_sha256_starts
#define sha256_update mbedtls_sha256_update
#define sha256_finish mbedtls_sha256_finish
#define sha256_oneshot mbedtls_sha256
#define sha512_starts mbedtls_sha512_starts
#define sha512_update mbedtls_sha512_update
#define sha512_finish mbedtls_sha512_finish
#define sha1_starts mbedtls_sha1_starts
#define sha1_update mbedtls_sha1_update
#define sha1_finish mbedtls_sha1_finish
#define md5_starts mbedtls_md5_starts
#define md5_update mbedtls_md5_update
#define md5_finish mbedtls_md5_finish
#endif

/* The chained state of a SHA-256 context: a public field in 2.28, a
 * private one (reached through MBEDTLS_PRIVATE, as mbed TLS's own
 * alternative implementations do) in 3.x. Without it (MBEDTLS_SHA256_ALT:
 * a context of someone else's layout) the chain falls back to whole HMAC
 * runs. */
#if !defined(MBEDTLS_SHA256_ALT)
#define HAVE_SHA256_STATE 1
#if MBEDTLS_VERSION_NUMBER < 0x03000000
#define SHA256_STATE(ctx) ((ctx)->state)
#else
#define SHA256_STATE(ctx) ((ctx)->MBEDTLS_PRIVATE(state))
#endif
#else
#define HAVE_SHA256_STATE 0
#endif

#define SHA256_BLOCK 64

bool tls_hash_sha256(const unsigned char *in, size_t n, unsigned char out[TLS_HASH_SHA256_LEN])
{
    return sha256_oneshot(in, n, out, 0) == 0;
}

bool tls_hash_hmac_setup(struct tls_hash_hmac *h, const unsigned char *key, size_t keylen)
{
    unsigned char k[SHA256_BLOCK], pad[SHA256_BLOCK];
    bool ok = true;

    mbedtls_sha256_init(&h->inner);
    mbedtls_sha256_init(&h->outer);
    mbedtls_sha256_init(&h->work);
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

/* PERF: a clone of each prepared state replaces the two key blocks a fresh
 * HMAC would hash. */
bool tls_hash_hmac_run(struct tls_hash_hmac *h, const unsigned char *a, size_t alen,
                       const unsigned char *b, size_t blen, unsigned char out[TLS_HASH_SHA256_LEN])
{
    mbedtls_sha256_context *work = &h->work;
    mbedtls_sha256_clone(work, &h->inner);
    if (sha256_update(work, a, alen) != 0 || (blen != 0 && sha256_update(work, b, blen) != 0) ||
        sha256_finish(work, out) != 0) {
        return false;
    }
    mbedtls_sha256_clone(work, &h->outer);
    return sha256_update(work, out, TLS_HASH_SHA256_LEN) == 0 && sha256_finish(work, out) == 0;
}

#if HAVE_SHA256_STATE
/* Big-endian words: a byte swap and one store where the compiler says the
 * host is little-endian, one store where it is big-endian (MIPS routers),
 * bytes otherwise. GCC's vectoriser turned the byte loop into more
 * instructions than the rest of an iteration. */
static void put_be32(unsigned char *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    memcpy(p, &v, 4);
#else
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
#endif
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* PERF: the digest of a one-block message after the key block is the
 * state after compressing it, so U_j goes from the state words straight
 * into the next block, and T is kept as words until the end. */
static bool hmac_chain_blocks(struct tls_hash_hmac *h, unsigned char u[TLS_HASH_SHA256_LEN],
                              uint32_t count, unsigned char t[TLS_HASH_SHA256_LEN])
{
    uint32_t *work = SHA256_STATE(&h->work);
    const uint32_t *inner = SHA256_STATE(&h->inner), *outer = SHA256_STATE(&h->outer);
    unsigned char blk[SHA256_BLOCK];
    uint32_t tw[TLS_HASH_SHA256_LEN / 4];
    bool ok = true;

    memcpy(blk, u, TLS_HASH_SHA256_LEN);
    memset(blk + TLS_HASH_SHA256_LEN, 0, sizeof(blk) - TLS_HASH_SHA256_LEN);
    blk[TLS_HASH_SHA256_LEN] = 0x80;
    /* (64 + 32) * 8 = 768 bits, big-endian in the last 8 bytes. */
    blk[SHA256_BLOCK - 2] = (unsigned char)((SHA256_BLOCK + TLS_HASH_SHA256_LEN) * 8 >> 8);
    blk[SHA256_BLOCK - 1] = (unsigned char)((SHA256_BLOCK + TLS_HASH_SHA256_LEN) * 8);
    for (size_t k = 0; k < 8; k++) {
        tw[k] = get_be32(t + 4 * k);
    }
    for (uint32_t j = 0; ok && j < count; j++) {
        memcpy(work, inner, 8 * sizeof(uint32_t));
        ok = mbedtls_internal_sha256_process(&h->work, blk) == 0;
        for (size_t k = 0; k < 8; k++) {
            put_be32(blk + 4 * k, work[k]);
        }
        memcpy(work, outer, 8 * sizeof(uint32_t));
        ok = ok && mbedtls_internal_sha256_process(&h->work, blk) == 0;
        for (size_t k = 0; k < 8; k++) {
            put_be32(blk + 4 * k, work[k]);
            tw[k] ^= work[k];
        }
    }
    memcpy(u, blk, TLS_HASH_SHA256_LEN);
    for (size_t k = 0; k < 8; k++) {
        put_be32(t + 4 * k, tw[k]);
    }
    mbedtls_platform_zeroize(blk, sizeof(blk));
    mbedtls_platform_zeroize(tw, sizeof(tw));
    return ok;
}
#endif

bool tls_hash_hmac_chain(struct tls_hash_hmac *h, unsigned char u[TLS_HASH_SHA256_LEN],
                         uint32_t count, unsigned char t[TLS_HASH_SHA256_LEN])
{
#if HAVE_SHA256_STATE
    return hmac_chain_blocks(h, u, count, t);
#else
    bool ok = true;
    for (uint32_t j = 0; ok && j < count; j++) {
        ok = tls_hash_hmac_run(h, u, TLS_HASH_SHA256_LEN, NULL, 0, u);
        for (size_t k = 0; k < TLS_HASH_SHA256_LEN; k++) {
            t[k] ^= u[k];
        }
    }
    return ok;
#endif
}

bool tls_hash_pbkdf2_mbedtls(const unsigned char *pw, size_t pwlen, const unsigned char *salt,
                             size_t saltlen, uint32_t iterations, unsigned char *out, size_t outlen)
{
    /* A trimmed mbed TLS may lack PKCS#5; ftpsd itself never needs it. */
#if !defined(MBEDTLS_PKCS5_C)
    (void)pw;
    (void)pwlen;
    (void)salt;
    (void)saltlen;
    (void)iterations;
    (void)out;
    (void)outlen;
    return false;
#elif MBEDTLS_VERSION_NUMBER < 0x03000000
    mbedtls_md_context_t md;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    int ret;
    mbedtls_md_init(&md);
    ret = info == NULL ? -1 : mbedtls_md_setup(&md, info, 1);
    if (ret == 0) {
        ret = mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pwlen, salt, saltlen, iterations, (uint32_t)outlen,
                                        out);
    }
    mbedtls_md_free(&md);
    return ret == 0;
#else
    return mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, pw, pwlen, salt, saltlen, iterations,
                                         (uint32_t)outlen, out) == 0;
#endif
}

void tls_hash_hmac_free(struct tls_hash_hmac *h)
{
    /* mbedtls_sha256_free wipes the keyed states. */
    mbedtls_sha256_free(&h->inner);
    mbedtls_sha256_free(&h->outer);
    mbedtls_sha256_free(&h->work);
}

void tls_hash_hex(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    static const char digits[] = "0123456789abcdef";
    size_t j = 0;
    for (size_t i = 0; i < n && j + 2 < outsz; i++) {
        out[j++] = digits[in[i] >> 4];
        out[j++] = digits[in[i] & 15];
    }
    if (outsz > 0) {
        out[j] = '\0';
    }
}

/* ------------------------------------------------------------ HASH digests */

bool tls_digest_available(enum pol_hash_algo a)
{
    switch (a) {
    case POL_HASH_SHA256:
        return true;
    case POL_HASH_SHA512:
#if defined(MBEDTLS_SHA512_C)
        return true;
#else
        return false;
#endif
    case POL_HASH_SHA1:
#if defined(MBEDTLS_SHA1_C)
        return true;
#else
        return false;
#endif
    case POL_HASH_MD5:
#if defined(MBEDTLS_MD5_C)
        return true;
#else
        return false;
#endif
    case POL_HASH_ALGOS:
        break;
    }
    return false;
}

bool tls_digest_start(struct tls_digest *d, enum pol_hash_algo a)
{
    int ret;
    d->algo = a;
    switch (a) {
    case POL_HASH_SHA256:
        mbedtls_sha256_init(&d->u.sha256);
        ret = sha256_starts(&d->u.sha256, 0);
        break;
#if defined(MBEDTLS_SHA512_C)
    case POL_HASH_SHA512:
        mbedtls_sha512_init(&d->u.sha512);
        ret = sha512_starts(&d->u.sha512, 0);
        break;
#endif
#if defined(MBEDTLS_SHA1_C)
    case POL_HASH_SHA1:
        mbedtls_sha1_init(&d->u.sha1);
        ret = sha1_starts(&d->u.sha1);
        break;
#endif
#if defined(MBEDTLS_MD5_C)
    case POL_HASH_MD5:
        mbedtls_md5_init(&d->u.md5);
        ret = md5_starts(&d->u.md5);
        break;
#endif
    default:
        return false;
    }
    if (ret != 0) {
        tls_digest_free(d);
        return false;
    }
    return true;
}

bool tls_digest_update(struct tls_digest *d, const unsigned char *p, size_t n)
{
    switch (d->algo) {
    case POL_HASH_SHA256:
        return sha256_update(&d->u.sha256, p, n) == 0;
#if defined(MBEDTLS_SHA512_C)
    case POL_HASH_SHA512:
        return sha512_update(&d->u.sha512, p, n) == 0;
#endif
#if defined(MBEDTLS_SHA1_C)
    case POL_HASH_SHA1:
        return sha1_update(&d->u.sha1, p, n) == 0;
#endif
#if defined(MBEDTLS_MD5_C)
    case POL_HASH_MD5:
        return md5_update(&d->u.md5, p, n) == 0;
#endif
    default:
        return false;
    }
}

bool tls_digest_finish(struct tls_digest *d, unsigned char out[TLS_DIGEST_MAX], size_t *len)
{
    bool ok = false;
    switch (d->algo) {
    case POL_HASH_SHA256:
        ok = sha256_finish(&d->u.sha256, out) == 0;
        *len = 32;
        break;
#if defined(MBEDTLS_SHA512_C)
    case POL_HASH_SHA512:
        ok = sha512_finish(&d->u.sha512, out) == 0;
        *len = 64;
        break;
#endif
#if defined(MBEDTLS_SHA1_C)
    case POL_HASH_SHA1:
        ok = sha1_finish(&d->u.sha1, out) == 0;
        *len = 20;
        break;
#endif
#if defined(MBEDTLS_MD5_C)
    case POL_HASH_MD5:
        ok = md5_finish(&d->u.md5, out) == 0;
        *len = 16;
        break;
#endif
    default:
        *len = 0;
        break;
    }
    tls_digest_free(d);
    return ok;
}

void tls_digest_free(struct tls_digest *d)
{
    switch (d->algo) {
    case POL_HASH_SHA256:
        mbedtls_sha256_free(&d->u.sha256);
        break;
#if defined(MBEDTLS_SHA512_C)
    case POL_HASH_SHA512:
        mbedtls_sha512_free(&d->u.sha512);
        break;
#endif
#if defined(MBEDTLS_SHA1_C)
    case POL_HASH_SHA1:
        mbedtls_sha1_free(&d->u.sha1);
        break;
#endif
#if defined(MBEDTLS_MD5_C)
    case POL_HASH_MD5:
        mbedtls_md5_free(&d->u.md5);
        break;
#endif
    default:
        break;
    }
}
