/* tls_ktls.c — kernel TLS for data connections: after mbed TLS has done a
 * data connection's handshake (and the data-reuse proof), its record layer
 * is handed to the Linux kernel (kTLS, Linux >= 4.13 TX, 4.17 RX), which
 * encrypts with its own AES-GCM (AES-NI/VAES, ARMv8 CE, router engines) or
 * ChaCha20-Poly1305 and lets sendfile(2) go from the page cache to the
 * socket without a copy. The control connection never comes here: CCC,
 * REIN and their close_notify dance stay in mbed TLS.
 *
 * The keys are what mbed TLS exports (tls.c's key-export callbacks pass
 * them on): 2.28 gives the TLS 1.2 key block itself; 3.6 gives the TLS 1.2
 * master secret and randoms (the key block is derived with mbed TLS's own
 * PRF) and the TLS 1.3 application traffic secrets (HKDF-Expand-Label for
 * key and IV). The sequence numbers are mbed TLS's own counters. The
 * switch happens only when mbed TLS holds nothing undelivered in either
 * direction; anything that stands in the way (policy `ktls off`, no TLS
 * ULP in the kernel, a suite the kernel lacks, a kernel error) leaves the
 * connection on mbed TLS, and the reason goes into the log line.
 *
 * After the switch the socket carries records on its own: a plain send
 * or sendfile makes application-data records, an alert is a sendmsg with
 * the record type in a control message, and a recvmsg reports each
 * record's type the same way (close_notify arrives as an alert record). */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "log.h"
#include "sys.h"
#include "sys_net.h"
#include "tls_ktls.h"
#include "tls_priv.h"

/* ------------------------------------------------------------ suites (pure) */

static const struct {
    int id;
    struct tls_ktls_suite s;
} ktls_suites[] = {
    {0x1301, {SYS_KTLS_AES_128_GCM, false, true}}, /* TLS_AES_128_GCM_SHA256 */
    {0x1302, {SYS_KTLS_AES_256_GCM, true, true}},  /* TLS_AES_256_GCM_SHA384 */
    {0x1303, {SYS_KTLS_CHACHA20_POLY1305, false, true}},
    {0xC02B, {SYS_KTLS_AES_128_GCM, false, false}}, /* ECDHE-ECDSA */
    {0xC02C, {SYS_KTLS_AES_256_GCM, true, false}},
    {0xCCA9, {SYS_KTLS_CHACHA20_POLY1305, false, false}},
    {0xC02F, {SYS_KTLS_AES_128_GCM, false, false}}, /* ECDHE-RSA */
    {0xC030, {SYS_KTLS_AES_256_GCM, true, false}},
    {0xCCA8, {SYS_KTLS_CHACHA20_POLY1305, false, false}},
    {0x009E, {SYS_KTLS_AES_128_GCM, false, false}}, /* DHE-RSA */
    {0x009F, {SYS_KTLS_AES_256_GCM, true, false}},
    {0xCCAA, {SYS_KTLS_CHACHA20_POLY1305, false, false}},
    {0x009C, {SYS_KTLS_AES_128_GCM, false, false}}, /* RSA */
    {0x009D, {SYS_KTLS_AES_256_GCM, true, false}},
};

bool tls_ktls_suite_info(int id, struct tls_ktls_suite *out)
{
    for (size_t i = 0; i < sizeof ktls_suites / sizeof ktls_suites[0]; i++) {
        if (ktls_suites[i].id == id) {
            *out = ktls_suites[i].s;
            return true;
        }
    }
    return false;
}

size_t tls_ktls_key_len(enum sys_ktls_cipher c)
{
    return c == SYS_KTLS_AES_128_GCM ? 16 : 32;
}

size_t tls_ktls_iv12_len(enum sys_ktls_cipher c)
{
    return c == SYS_KTLS_CHACHA20_POLY1305 ? 12 : 4;
}

/* ------------------------------------------------------------ key derivation (pure) */

/* HKDF-Expand (RFC 5869 §2.3) with HMAC from mbed TLS's md layer, which
 * both 2.28 and 3.6 have whatever their HKDF options. */
static bool hkdf_expand(const mbedtls_md_info_t *md, const unsigned char *prk, size_t prklen,
                        const unsigned char *info, size_t ilen, unsigned char *out, size_t outlen)
{
    unsigned char t[64];
    size_t hlen = mbedtls_md_get_size(md), tlen = 0, done = 0;
    mbedtls_md_context_t ctx;
    bool ok = hlen > 0 && hlen <= sizeof t && outlen <= 255 * hlen;
    mbedtls_md_init(&ctx);
    ok = ok && mbedtls_md_setup(&ctx, md, 1) == 0;
    for (unsigned char i = 1; ok && done < outlen; i++) {
        ok = mbedtls_md_hmac_starts(&ctx, prk, prklen) == 0 &&
             mbedtls_md_hmac_update(&ctx, t, tlen) == 0 &&
             mbedtls_md_hmac_update(&ctx, info, ilen) == 0 &&
             mbedtls_md_hmac_update(&ctx, &i, 1) == 0 && mbedtls_md_hmac_finish(&ctx, t) == 0;
        tlen = hlen;
        size_t take = outlen - done < hlen ? outlen - done : hlen;
        if (ok) {
            memcpy(out + done, t, take);
        }
        done += take;
    }
    mbedtls_md_free(&ctx);
    mbedtls_platform_zeroize(t, sizeof t);
    return ok;
}

bool tls_ktls_expand_label(bool sha384, const unsigned char *secret, size_t slen, const char *label,
                           const unsigned char *context, size_t clen, unsigned char *out,
                           size_t outlen)
{
    /* struct HkdfLabel { uint16 length; opaque label<7..255> = "tls13 " +
     * label; opaque context<0..255>; } */
    unsigned char info[2 + 1 + 255 + 1 + 255];
    size_t llen = strlen(label), n = 0;
    if (outlen > 255 || 6 + llen > 255 || clen > 255) {
        return false;
    }
    info[n++] = (unsigned char)(outlen >> 8);
    info[n++] = (unsigned char)outlen;
    info[n++] = (unsigned char)(6 + llen);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, llen);
    n += llen;
    info[n++] = (unsigned char)clen;
    if (clen > 0) {
        memcpy(info + n, context, clen);
        n += clen;
    }
    const mbedtls_md_info_t *md =
        mbedtls_md_info_from_type(sha384 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256);
    return md != NULL && hkdf_expand(md, secret, slen, info, n, out, outlen);
}

bool tls_ktls_derive13(bool sha384, const unsigned char *secret, size_t slen, size_t keylen,
                       unsigned char *key, unsigned char iv[12])
{
    return tls_ktls_expand_label(sha384, secret, slen, "key", NULL, 0, key, keylen) &&
           tls_ktls_expand_label(sha384, secret, slen, "iv", NULL, 0, iv, 12);
}

bool tls_ktls_key_block12(bool sha384, const unsigned char ms[48], const unsigned char cr[32],
                          const unsigned char sr[32], unsigned char *out, size_t len)
{
    /* key_block = PRF(master_secret, "key expansion", server_random +
     * client_random): the server's random first, unlike the master
     * secret's seed. */
    unsigned char seed[64];
    memcpy(seed, sr, 32);
    memcpy(seed + 32, cr, 32);
    return mbedtls_ssl_tls_prf(sha384 ? MBEDTLS_SSL_TLS_PRF_SHA384 : MBEDTLS_SSL_TLS_PRF_SHA256, ms,
                               48, "key expansion", seed, sizeof seed, out, len) == 0;
}

/* ------------------------------------------------------------ what mbed TLS exports */

/* Secrets are kept only for data connections under `ktls auto`, until
 * the connection is freed (conn_free wipes them with the rest). */
static bool wants_keys(const struct tls_conn *c)
{
    return c != NULL && c->role == TLS_ROLE_DATA && c->ctx->ktls_policy;
}

void tls_ktls_note12(struct tls_conn *c, const unsigned char *ms, size_t len,
                     const unsigned char cr[32], const unsigned char sr[32])
{
    if (!wants_keys(c) || len != sizeof c->ks.ms) {
        return;
    }
    memcpy(c->ks.ms, ms, len);
    memcpy(c->ks.cr, cr, 32);
    memcpy(c->ks.sr, sr, 32);
    c->ks.have_ms = true;
}

void tls_ktls_note_block(struct tls_conn *c, const unsigned char *kb, size_t maclen, size_t keylen,
                         size_t ivlen)
{
    if (!wants_keys(c) || maclen != 0 || keylen > 32 || ivlen > 12) {
        return; /* AEAD suites have no MAC keys */
    }
    memcpy(c->ks.kb, kb, 2 * keylen + 2 * ivlen);
    c->ks.kb_keylen = keylen;
    c->ks.kb_ivlen = ivlen;
    c->ks.have_kb = true;
}

void tls_ktls_note13(struct tls_conn *c, bool client, const unsigned char *secret, size_t len)
{
    if (!wants_keys(c) || len > sizeof c->ks.c13) {
        return;
    }
    memcpy(client ? c->ks.c13 : c->ks.s13, secret, len);
    c->ks.len13 = len;
    if (client) {
        c->ks.have_c13 = true;
    } else {
        c->ks.have_s13 = true;
    }
}

/* ------------------------------------------------------------ mbed TLS's state */

int tls_conn_suite(const struct tls_conn *c)
{
#if TLS_MBEDTLS3
    return mbedtls_ssl_get_ciphersuite_id_from_ssl(&c->ssl);
#else
    return mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(&c->ssl));
#endif
}

/* The next sequence numbers of both directions, mbed TLS's own: after a
 * TLS 1.2 handshake 1 each way (the Finished messages were 0), after a
 * TLS 1.3 one 0 each way (new keys, and no NewSessionTicket on data
 * connections). */
static void counters(const struct tls_conn *c, unsigned char out[8], unsigned char in[8])
{
#if TLS_MBEDTLS3
    memcpy(out, c->ssl.MBEDTLS_PRIVATE(cur_out_ctr), 8);
    memcpy(in, c->ssl.MBEDTLS_PRIVATE(in_ctr), 8);
#else
    memcpy(out, c->ssl.cur_out_ctr, 8);
    memcpy(in, c->ssl.in_ctr, 8);
#endif
}

/* Nothing undelivered in mbed TLS: no decrypted bytes or records waiting
 * to be read, no bytes of ours waiting to be written, nothing left of the
 * first record. A switch now would lose them. */
static bool mbedtls_quiet(const struct tls_conn *c)
{
#if TLS_MBEDTLS3
    size_t out_left = c->ssl.MBEDTLS_PRIVATE(out_left);
#else
    size_t out_left = c->ssl.out_left;
#endif
    return out_left == 0 && mbedtls_ssl_get_bytes_avail(&c->ssl) == 0 &&
           mbedtls_ssl_check_pending(&c->ssl) == 0 &&
           !(c->from_hello && c->ctx->hello_off < c->ctx->hello_len);
}

static bool is13(const struct tls_conn *c)
{
#if TLS_HAVE_13
    return mbedtls_ssl_get_version_number(&c->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#else
    (void)c;
    return false;
#endif
}

/* TLS 1.2: both directions from the key block (2.28's, or derived from
 * the master secret). */
static bool keys12(const struct tls_conn *c, const struct tls_ktls_suite *s,
                   struct sys_ktls_key *tx, struct sys_ktls_key *rx, char *why, size_t n)
{
    size_t kl = tls_ktls_key_len(s->cipher), il = tls_ktls_iv12_len(s->cipher);
    unsigned char kb[2 * 32 + 2 * 12];
    bool ok = true;
    if (c->ks.have_kb) {
        ok = c->ks.kb_keylen == kl && c->ks.kb_ivlen == il;
        if (ok) {
            memcpy(kb, c->ks.kb, 2 * kl + 2 * il);
        }
    } else if (c->ks.have_ms) {
        ok = tls_ktls_key_block12(s->sha384, c->ks.ms, c->ks.cr, c->ks.sr, kb, 2 * kl + 2 * il);
    } else {
        ok = false;
    }
    if (!ok) {
        (void)sys_copy(why, n, "mbed TLS exported no usable TLS 1.2 keys");
    } else {
        memcpy(rx->key, kb, kl);
        memcpy(tx->key, kb + kl, kl);
        memcpy(rx->iv, kb + 2 * kl, il);
        memcpy(tx->iv, kb + 2 * kl + il, il);
    }
    mbedtls_platform_zeroize(kb, sizeof kb);
    return ok;
}

bool tls_ktls_keys(const struct tls_conn *c, struct sys_ktls_key *tx, struct sys_ktls_key *rx,
                   char *why, size_t n)
{
    struct tls_ktls_suite s;
    int id = tls_conn_suite(c);
    *tx = *rx = (struct sys_ktls_key){0};
    if (!tls_ktls_suite_info(id, &s) || s.v13 != is13(c)) {
        char b[16];
        (void)sys_fmt(why, n, "kernel TLS does not carry %s", tls_suite_name(id, b, sizeof b));
        return false;
    }
    tx->version = rx->version = s.v13 ? SYS_KTLS_TLS13 : SYS_KTLS_TLS12;
    tx->cipher = rx->cipher = s.cipher;
    counters(c, tx->seq, rx->seq);
    if (!s.v13) {
        return keys12(c, &s, tx, rx, why, n);
    }
    size_t kl = tls_ktls_key_len(s.cipher);
    if (!c->ks.have_c13 || !c->ks.have_s13 ||
        !tls_ktls_derive13(s.sha384, c->ks.s13, c->ks.len13, kl, tx->key, tx->iv) ||
        !tls_ktls_derive13(s.sha384, c->ks.c13, c->ks.len13, kl, rx->key, rx->iv)) {
        (void)sys_copy(why, n, "mbed TLS exported no usable TLS 1.3 traffic secrets");
        *tx = *rx = (struct sys_ktls_key){0};
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ the TLS 1.3 suite */

static bool offered(const struct tls_hello *h, int id)
{
    for (size_t i = 0; i < h->nsuites; i++) {
        if (h->suites[i] == id) {
            return true;
        }
    }
    return false;
}

void tls_ktls_pick13(struct tls_ctx *ctx, enum tls_role role)
{
    const struct tls_hello *h = &ctx->hello;
    int pick = 0;
    /* A data connection resumes the control session, and mbed TLS resumes
     * a TLS 1.3 ticket only with the very suite it was issued under. */
    if (role == TLS_ROLE_DATA && ctx->ctrl_suite != 0 && tls_suite_is13(ctx->ctrl_suite) &&
        offered(h, ctx->ctrl_suite)) {
        pick = ctx->ctrl_suite;
    }
    for (size_t i = 0; pick == 0 && i < ctx->nsuites; i++) {
        if (tls_suite_is13(ctx->suites[i]) && offered(h, ctx->suites[i])) {
            pick = ctx->suites[i];
        }
    }
    size_t n = 0;
    if (pick != 0) {
        ctx->suites13[n++] = pick;
    } else {
        /* Nothing of ours among what was parsed (a list cut at its limit, a
         * ClientHello spread over records): all of ours, and mbed TLS takes
         * the client's order. */
        for (size_t i = 0; i < ctx->nsuites; i++) {
            if (tls_suite_is13(ctx->suites[i])) {
                ctx->suites13[n++] = ctx->suites[i];
            }
        }
    }
    ctx->suites13[n] = 0;
}

/* ------------------------------------------------------------ the switch */

void tls_ktls_probe(struct tls_ctx *ctx, const struct policy *pol)
{
    ctx->ktls_policy = pol->ktls;
    ctx->ktls = false;
    if (!pol->ktls) {
        (void)sys_copy(ctx->ktls_why, sizeof ctx->ktls_why, "ktls off");
        return;
    }
    int r = sys_ktls_probe();
    if (r == 1) {
        ctx->ktls = true;
        return;
    }
    (void)sys_fmt(ctx->ktls_why, sizeof ctx->ktls_why, "%s",
                  r == 0 ? "the kernel has no TLS ULP (tls.ko)" : strerror(errno));
}

void tls_ktls_attach(struct tls_conn *c)
{
    /* The ULP goes on before the handshake: the kernel takes it only on an
     * ESTABLISHED socket, and a TLS 1.3 client may send its Finished, a
     * small upload, close_notify and FIN in one flight, which would leave
     * the socket in CLOSE_WAIT by the time the handshake is done. Without
     * keys the ULP passes every call through to TCP, so mbed TLS's
     * handshake and a fallback run on it as on a plain socket. */
    if (!c->ctx->ktls) {
        (void)sys_copy(c->ktls_why, sizeof c->ktls_why, c->ctx->ktls_why);
        return;
    }
    if (sys_ktls_ulp(c->wfd) != 0) {
        (void)sys_fmt(c->ktls_why, sizeof c->ktls_why, "TCP_ULP tls: %s", strerror(errno));
        return;
    }
    c->ktls_ulp = true;
}

void tls_ktls_start(struct tls_conn *c)
{
    struct sys_ktls_key tx, rx;
    char *why = c->ktls_why;
    size_t n = sizeof c->ktls_why;
    if (!c->ktls_ulp) {
        return; /* why is tls_ktls_attach's */
    }
    if (!mbedtls_quiet(c)) {
        (void)sys_copy(why, n, "mbed TLS holds undelivered bytes");
        return;
    }
    if (!tls_ktls_keys(c, &tx, &rx, why, n)) {
        return;
    }
    if (sys_ktls_set_key(c->wfd, true, &tx) != 0) {
        (void)sys_fmt(why, n, "TLS_TX: %s", strerror(errno));
    } else {
        c->ktls_tx = true;
        if (sys_ktls_set_key(c->rfd, false, &rx) != 0) {
            /* Sending stays in the kernel; receiving (uploads, the
             * client's close_notify) stays in mbed TLS, whose read state
             * is untouched. */
            (void)sys_fmt(why, n, "TLS_RX: %s", strerror(errno));
        } else {
            c->ktls_rx = true;
        }
    }
    mbedtls_platform_zeroize(&tx, sizeof tx);
    mbedtls_platform_zeroize(&rx, sizeof rx);
}

/* ------------------------------------------------------------ records through the kernel */

/* A record that is not application data: the client's close_notify (0),
 * or anything else, which ends the connection (TLS_IO_ERROR). */
static ssize_t other_record(struct tls_conn *c, unsigned char type, const unsigned char *b,
                            ssize_t r)
{
    if (type == MBEDTLS_SSL_MSG_ALERT && r >= 2 && b[1] == MBEDTLS_SSL_ALERT_MSG_CLOSE_NOTIFY) {
        c->peer_closed = true;
        return 0;
    }
    if (type == MBEDTLS_SSL_MSG_ALERT && r >= 2) {
        info("TLS read: the client sent alert %u (%s)", b[1], b[0] == 2 ? "fatal" : "warning");
    } else {
        /* A renegotiation request or a TLS 1.3 KeyUpdate: the kernel
         * cannot answer it (mbed TLS 3.6 refuses KeyUpdate too). */
        info("TLS read: a record of type %u after the handshake; kernel TLS cannot serve it", type);
    }
    return TLS_IO_ERROR;
}

ssize_t tls_ktls_read(struct tls_conn *c, void *buf, size_t n)
{
    for (;;) {
        unsigned char type = 0;
        ssize_t r = sys_ktls_recv(c->rfd, buf, n, &type);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = tls_wait_fd(c, c->rfd, false);
            if (w == 0) {
                c->timed_out = true;
                return TLS_IO_TIMEOUT;
            }
            if (w > 0) {
                continue;
            }
        }
        if (r < 0) {
            c->io_errno = errno;
            if (errno == ECONNRESET) {
                return TLS_IO_TRUNCATED;
            }
            /* EBADMSG: a record failed its MAC; EMSGSIZE: an oversized one. */
            info("TLS read (kernel): %s", strerror(errno));
            return TLS_IO_ERROR;
        }
        if (r == 0 && type == 0) {
            c->eof = true;
            return TLS_IO_TRUNCATED;
        }
        if (type == 0 || type == MBEDTLS_SSL_MSG_APPLICATION_DATA) {
            if (r == 0) {
                continue; /* an empty record */
            }
            return r;
        }
        return other_record(c, type, buf, r);
    }
}

ssize_t tls_ktls_write(struct tls_conn *c, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    size_t off = 0;
    while (off < n) {
        /* SECURITY: never a blocking send: a peer that reads nothing must
         * not hold the session past the call's deadline (tls_write's). */
        ssize_t w = sys_send(c->wfd, p + off, n - off, true);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = tls_wait_fd(c, c->wfd, true);
            if (r == 0) {
                info("TLS write (kernel): the peer read nothing before the deadline");
                return TLS_IO_TIMEOUT;
            }
            if (r > 0) {
                continue;
            }
        }
        if (w < 0) {
            c->io_errno = errno;
            info("TLS write (kernel): %s", strerror(errno));
            return TLS_IO_ERROR;
        }
        off += (size_t)w;
    }
    return (ssize_t)n;
}

bool tls_ktls_close_notify(struct tls_conn *c)
{
    static const unsigned char alert[2] = {MBEDTLS_SSL_ALERT_LEVEL_WARNING,
                                           MBEDTLS_SSL_ALERT_MSG_CLOSE_NOTIFY};
    return sys_ktls_send_record(c->wfd, MBEDTLS_SSL_MSG_ALERT, alert, sizeof alert) ==
           (ssize_t)sizeof alert;
}
