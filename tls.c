/* tls.c — FTPS's TLS engine on mbed TLS, and nothing about FTP.
 *
 * Per connection it follows the mbed TLS sample server
 * (programs/ssl/ssl_server2.c): ssl_setup on a configuration tls_conf.c
 * made, our own bio callbacks on the inetd fds, a handshake loop that
 * retries only WANT_READ/WANT_WRITE under a deadline, close_notify, one
 * cleanup path. It never writes an FTP reply (STYLE.md habit 6): AUTH and
 * the data connection call the narrow API of tls.h and decide what to say;
 * a failed tls_accept says why as an enum tls_fail.
 *
 * The data-reuse proof (SPEC §4.3) lives here: a one-entry, per-process
 * session cache for TLS 1.2 (no tickets at all), and for TLS 1.3 (mbed TLS
 * 3.6 builds) tickets issued only on the control connection under a ticket
 * key made at random in this process; with `data-reuse required`
 * tls_accept refuses a data connection that did not resume, on both
 * versions. The keylog callbacks write the NSS key log tls_conf.c opened.
 *
 * The first record of every ClientHello is read here before mbed TLS sees
 * it (and then handed to mbed TLS unchanged through the recv callback). It
 * serves two purposes: on 3.6 builds it decides whether the client offers
 * TLS 1.3, which selects a configuration with or without tickets (mbed TLS
 * would otherwise send TLS 1.2 tickets too, and a TLS 1.2 ticket handshake
 * carries no session id, so the data connection could not resume); and when
 * a handshake fails it lets tls_diag.c say why in an administrator's words
 * (no shared cipher, old protocol, ALPN) instead of an error number.
 * tls_priv.h maps the other tls*.c files. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/net_sockets.h>
#include <mbedtls/platform_util.h>

#include "log.h"
#include "sys.h"
#include "sys_net.h"
#include "tls_hash.h"
#include "tls_ktls.h"
#include "tls_priv.h"

/* ------------------------------------------------------------ the bio */

/* Waits for fd within the current call's deadline: 1 ready, 0 timeout, -1. */
/* wait_fd for a bio callback: 0 when fd is ready, else the mbed TLS code
 * to return (WANT_* on a timeout, noted in the connection; *_FAILED). */
static int bio_wait(struct tls_conn *c, bool for_write)
{
    int w = tls_wait_fd(c, for_write ? c->wfd : c->rfd, for_write);
    if (w == 0) {
        c->timed_out = true;
        return for_write ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_SSL_WANT_READ;
    }
    if (w < 0) {
        c->io_errno = errno;
        return for_write ? MBEDTLS_ERR_NET_SEND_FAILED : MBEDTLS_ERR_NET_RECV_FAILED;
    }
    return 0;
}

/* Notes a fatal alert the peer sent in clear. mbed TLS reads a record
 * header (5 bytes) and then its body, so a clear alert shows up as a read
 * of "15 03 0x 00 02" followed by one of "02 <description>". Needed because
 * a TLS 1.3 client may send its alert in clear after our ServerHello, which
 * mbed TLS then reports only as a bad MAC. */
static void sniff_alert(struct tls_conn *c, const unsigned char *buf, size_t n)
{
    if (c->alert_next && n >= 2 && buf[0] == MBEDTLS_SSL_ALERT_LEVEL_FATAL && c->clear_alert < 0) {
        c->clear_alert = buf[1];
    }
    c->alert_next = false;
    if (n >= 5 && buf[0] == MBEDTLS_SSL_MSG_ALERT && buf[1] == 3 && buf[3] == 0 && buf[4] == 2) {
        if (n >= 7 && buf[5] == MBEDTLS_SSL_ALERT_LEVEL_FATAL && c->clear_alert < 0) {
            c->clear_alert = buf[6];
        }
        c->alert_next = n == 5;
    }
}

/* One read from rfd after poll: >0 bytes, 0 EOF, or an mbed TLS error. */
static int fd_recv(struct tls_conn *c, unsigned char *buf, size_t len)
{
    if (len > INT_MAX) {
        len = INT_MAX;
    }
    /* PERF: read first and poll only when nothing is there. In a bulk
     * upload the bytes are nearly always waiting, and mbed TLS reads each
     * record in two calls (header, body): a poll before each was a third of
     * the session's syscalls. A non-socket (unit tests' pipes) takes the
     * poll-then-read path. */
    ssize_t r = sys_recv_nowait(c->rfd, buf, len);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTSOCK)) {
        int e = bio_wait(c, false);
        if (e != 0) {
            return e;
        }
        r = sys_read(c->rfd, buf, len);
    }
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return MBEDTLS_ERR_SSL_WANT_READ;
        }
        c->io_errno = errno;
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
    if (r == 0) {
        /* Remembered so tls_read can tell a truncation (EOF without
         * close_notify) from a clean close: 2.28's mbedtls_ssl_read returns
         * 0 for both an EOF and nothing else. */
        c->eof = true;
        return 0;
    }
    sniff_alert(c, buf, (size_t)r);
    return (int)r;
}

static int bio_recv(void *p, unsigned char *buf, size_t len)
{
    struct tls_conn *c = p;
    struct tls_ctx *ctx = c->ctx;
    if (c->from_hello) {
        if (ctx->hello_off < ctx->hello_len) {
            size_t n = ctx->hello_len - ctx->hello_off;
            if (n > len) {
                n = len;
            }
            memcpy(buf, ctx->hello_buf + ctx->hello_off, n);
            ctx->hello_off += n;
            return (int)n;
        }
        c->from_hello = false;
    }
    return fd_recv(c, buf, len);
}

static int bio_send(void *p, const unsigned char *buf, size_t len)
{
    struct tls_conn *c = p;
    if (len > INT_MAX) {
        len = INT_MAX;
    }
    /* PERF: as in fd_recv, try first and poll only on a full socket.
     * SECURITY: never a blocking send: a peer that reads nothing must not
     * hold the session past the call's deadline (bio_wait). */
    for (;;) {
        /* sys_send: a peer that closed gives EPIPE, not SIGPIPE. */
        ssize_t r = sys_send(c->wfd, buf, len, true);
        if (r < 0 && errno == ENOTSOCK) {
            /* A non-socket (unit tests' pipes; never in a session:
             * ftpsd-inetd refuses one) is written whole, by the deadline. */
            r = sys_write_all(c->wfd, buf, len, tls_left_ms(c)) ? (ssize_t)len : -1;
            if (r < 0 && errno == ETIMEDOUT) {
                c->timed_out = true;
                return MBEDTLS_ERR_SSL_WANT_WRITE;
            }
        }
        if (r >= 0) {
            c->sent = true;
            return (int)r;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int e = bio_wait(c, true);
            if (e != 0) {
                return e;
            }
            continue;
        }
        c->io_errno = errno;
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

/* Reads exactly n bytes into buf (for the first record). 0, or -1 with the
 * connection's flags saying why (timeout, EOF, error). */
static int read_exact(struct tls_conn *c, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = fd_recv(c, buf + got, n - got);
        if (r > 0) {
            got += (size_t)r;
            c->ctx->hello_len += (size_t)r;
        } else if (r == MBEDTLS_ERR_SSL_WANT_READ && !c->timed_out) {
            continue;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Reads the first record of the ClientHello into ctx->hello_buf — exactly
 * its bytes: what follows belongs to mbed TLS (and after a CCC, to the
 * clear-text control channel), so nothing more may leave the kernel. */
static int read_first_record(struct tls_conn *c)
{
    struct tls_ctx *ctx = c->ctx;
    ctx->hello_len = ctx->hello_off = 0;
    ctx->hello_buf[0] = 0;
    if (read_exact(c, ctx->hello_buf, 5) != 0) {
        return -1;
    }
    size_t len = ((size_t)ctx->hello_buf[3] << 8) | ctx->hello_buf[4];
    /* SECURITY: not a handshake record, or longer than TLS allows: do not
     * read on; mbed TLS rejects it with the right alert. */
    if (ctx->hello_buf[0] != MBEDTLS_SSL_MSG_HANDSHAKE || len > TLS_REC_MAX) {
        return 0;
    }
    return read_exact(c, ctx->hello_buf + 5, len);
}

/* ------------------------------------------------------------ callbacks */

static struct tls_conn *conn_of(mbedtls_ssl_context *ssl)
{
    /* ssl is the first member of struct tls_conn. */
    return (struct tls_conn *)(void *)ssl;
}

static int on_sni(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
    (void)p;
    struct tls_conn *c = conn_of(ssl);
    /* SECURITY: the name is client bytes that reach the log and HOST's
     * comparison: an over-long one is not recorded, and anything but
     * printable ASCII becomes '?' so it cannot forge log lines. Whatever
     * it says, the handshake goes on with our certificate. */
    c->has_sni = false;
    if (len == 0 || len >= sizeof c->sni) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        c->sni[i] = (name[i] > 0x20 && name[i] < 0x7f) ? (char)name[i] : '?';
    }
    c->sni[len] = '\0';
    c->has_sni = true;
    return 0;
}

void tls_cache_clear(struct tls_ctx *ctx)
{
    if (ctx->cache_blob != NULL) {
        mbedtls_platform_zeroize(ctx->cache_blob, ctx->cache_len);
        free(ctx->cache_blob);
    }
    ctx->cache_blob = NULL;
    ctx->cache_len = 0;
    ctx->cache_id_len = 0;
}

static int cache_get(struct tls_ctx *ctx, const unsigned char *id, size_t idlen,
                     mbedtls_ssl_session *session)
{
    struct tls_conn *c = ctx->cur;
    /* SECURITY: only a data connection may resume, and only the session of
     * this process's control connection: a guessed id, or one from another
     * session's process, finds nothing (SPEC §4.3, data-reuse). Resuming
     * still needs the master secret: mbed TLS checks both Finished MACs. */
    if (c == NULL || c->role != TLS_ROLE_DATA || ctx->cache_blob == NULL || idlen == 0 ||
        idlen != ctx->cache_id_len || memcmp(id, ctx->cache_id, idlen) != 0) {
        return 1;
    }
    if (mbedtls_ssl_session_load(session, ctx->cache_blob, ctx->cache_len) != 0) {
        return 1;
    }
    c->cache_hit = true;
    return 0;
}

static int cache_set(struct tls_ctx *ctx, const unsigned char *id, size_t idlen,
                     const mbedtls_ssl_session *session)
{
    struct tls_conn *c = ctx->cur;
    size_t need = 0;
    /* mbed TLS calls this after every full TLS 1.2 handshake and never
     * after a resumption: that is how tls_resumed() knows. */
    if (c != NULL) {
        c->full_hs = true;
    }
    if (c == NULL || c->role != TLS_ROLE_CONTROL || idlen == 0 || idlen > sizeof ctx->cache_id) {
        return 1;
    }
    int ret = mbedtls_ssl_session_save(session, NULL, 0, &need);
    if (ret != MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL || need == 0 || need > DEFS_TLS_SESSION_MAX) {
        return 1;
    }
    unsigned char *blob = malloc(need);
    if (blob == NULL) {
        return 1;
    }
    if (mbedtls_ssl_session_save(session, blob, need, &need) != 0) {
        mbedtls_platform_zeroize(blob, need);
        free(blob);
        return 1;
    }
    tls_cache_clear(ctx);
    ctx->cache_blob = blob;
    ctx->cache_len = need;
    memcpy(ctx->cache_id, id, idlen);
    ctx->cache_id_len = idlen;
    return 0;
}

#if TLS_MBEDTLS3
static int cache_get_cb(void *p, const unsigned char *id, size_t idlen, mbedtls_ssl_session *s)
{
    return cache_get(p, id, idlen, s);
}

static int cache_set_cb(void *p, const unsigned char *id, size_t idlen,
                        const mbedtls_ssl_session *s)
{
    return cache_set(p, id, idlen, s);
}
#else
static int cache_get_cb(void *p, mbedtls_ssl_session *s)
{
    /* Compare before loading: load overwrites s, id included. */
    return cache_get(p, s->id, s->id_len, s);
}

static int cache_set_cb(void *p, const mbedtls_ssl_session *s)
{
    return cache_set(p, s->id, s->id_len, s);
}
#endif

#if TLS_HAVE_13
static int ticket_write_cb(void *p, const mbedtls_ssl_session *s, unsigned char *start,
                           const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
    struct tls_ctx *ctx = p;
    /* SECURITY: tickets only on the control connection (a ticket on a
     * data connection makes clients RST small uploads, NOTES). */
    if (ctx->cur == NULL || ctx->cur->role != TLS_ROLE_CONTROL || !ctx->ticket_ready) {
        return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
    }
    return mbedtls_ssl_ticket_write(&ctx->ticket, s, start, end, tlen, lifetime);
}

static int ticket_parse_cb(void *p, mbedtls_ssl_session *s, unsigned char *buf, size_t len)
{
    struct tls_ctx *ctx = p;
    /* SECURITY: only data connections resume; the ticket key was made at
     * random in this process for its current control session, so another
     * session's ticket fails its MAC here. */
    if (ctx->cur == NULL || ctx->cur->role != TLS_ROLE_DATA || !ctx->ticket_ready) {
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    }
    int ret = mbedtls_ssl_ticket_parse(&ctx->ticket, s, buf, len);
    if (ret == 0) {
        ctx->cur->ticket_ok = true;
    }
    return ret;
}
#endif

/* NSS key log: "LABEL <client_random hex> <secret hex>", one write(2) per
 * line on an O_APPEND fd so lines from concurrent sessions never mix. */
static void keylog_line(struct tls_ctx *ctx, const char *label, const unsigned char cr[32],
                        const unsigned char *secret, size_t len)
{
    char line[40 + 65 + 2 * 64 + 2], rh[65], sh[2 * 64 + 1];
    if (ctx->keylog_fd < 0 || len > 64) {
        return;
    }
    tls_hash_hex(cr, 32, rh, sizeof rh);
    tls_hash_hex(secret, len, sh, sizeof sh);
    if (!sys_fmt(line, sizeof line, "%s %s %s\n", label, rh, sh) ||
        !sys_write_all(ctx->keylog_fd, line, strlen(line), -1)) {
        if (!ctx->keylog_failed) {
            warn("keylog: cannot write: %s", strerror(errno));
        }
        ctx->keylog_failed = true;
    }
    mbedtls_platform_zeroize(sh, sizeof sh);
    mbedtls_platform_zeroize(line, sizeof line);
}

#if TLS_MBEDTLS3
static void keylog_cb(void *p, mbedtls_ssl_key_export_type type, const unsigned char *secret,
                      size_t len, const unsigned char cr[32], const unsigned char sr[32],
                      mbedtls_tls_prf_types prf)
{
    struct tls_conn *c = p;
    const char *label = NULL;
    (void)sr;
    (void)prf;
    switch (type) {
    case MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET:
        label = "CLIENT_RANDOM";
        tls_ktls_note12(c, secret, len, cr, sr);
        break;
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_EARLY_SECRET:
        label = "CLIENT_EARLY_TRAFFIC_SECRET";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_HANDSHAKE_TRAFFIC_SECRET:
        label = "CLIENT_HANDSHAKE_TRAFFIC_SECRET";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_SERVER_HANDSHAKE_TRAFFIC_SECRET:
        label = "SERVER_HANDSHAKE_TRAFFIC_SECRET";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_APPLICATION_TRAFFIC_SECRET:
        label = "CLIENT_TRAFFIC_SECRET_0";
        tls_ktls_note13(c, true, secret, len);
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_SERVER_APPLICATION_TRAFFIC_SECRET:
        label = "SERVER_TRAFFIC_SECRET_0";
        tls_ktls_note13(c, false, secret, len);
        break;
#endif
    default:
        break;
    }
    if (label != NULL) {
        keylog_line(c->ctx, label, cr, secret, len);
    }
}
#else
static int keylog_cb(void *p, const unsigned char *ms, const unsigned char *kb, size_t maclen,
                     size_t keylen, size_t ivlen, const unsigned char cr[32],
                     const unsigned char sr[32], mbedtls_tls_prf_types prf)
{
    struct tls_ctx *ctx = p;
    (void)prf;
    keylog_line(ctx, "CLIENT_RANDOM", cr, ms, 48);
    tls_ktls_note12(ctx->cur, ms, 48, cr, sr);
    tls_ktls_note_block(ctx->cur, kb, maclen, keylen, ivlen);
    return 0;
}
#endif

/* ------------------------------------------------------------ configuration hooks */

void tls_conf_hooks(struct tls_ctx *ctx, mbedtls_ssl_config *conf, enum tls_role role, int v13)
{
    mbedtls_ssl_conf_sni(conf, on_sni, ctx);
    mbedtls_ssl_conf_session_cache(conf, ctx, cache_get_cb, cache_set_cb);
#if !TLS_MBEDTLS3
    if (ctx->keylog_fd >= 0 || (role == TLS_ROLE_DATA && ctx->ktls_policy)) {
        mbedtls_ssl_conf_export_keys_ext_cb(conf, keylog_cb, ctx);
    }
#endif
#if TLS_HAVE_13
    if (v13) {
        mbedtls_ssl_conf_session_tickets_cb(conf, ticket_write_cb, ticket_parse_cb, ctx);
        mbedtls_ssl_conf_new_session_tickets(conf, role == TLS_ROLE_CONTROL ? 1 : 0);
        if (role == TLS_ROLE_DATA && ctx->data_reuse_required) {
            /* With only psk_ephemeral a TLS 1.3 data handshake cannot
             * succeed without a PSK, and our tickets are the only PSKs:
             * resumption is then proven by construction. */
            mbedtls_ssl_conf_tls13_key_exchange_modes(
                conf, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL);
        }
    } else {
        mbedtls_ssl_conf_new_session_tickets(conf, 0);
    }
#else
    (void)role;
    (void)v13;
#endif
}

/* ------------------------------------------------------------ connections */

static void enter(struct tls_conn *c, int timeout_ms)
{
    c->ctx->cur = c;
    c->timed_out = false;
    c->deadline = timeout_ms < 0 ? -1 : sys_now_ms() + timeout_ms;
}

static void conn_free(struct tls_conn *c)
{
    if (c->ctx->cur == c) {
        c->ctx->cur = NULL;
    }
    mbedtls_ssl_free(&c->ssl);
    mbedtls_platform_zeroize(c, sizeof *c);
    free(c);
}

#if TLS_HAVE_13
/* A fresh ticket key for each control session: tickets of an earlier
 * control session of this process (before REIN) stop working too. */
static int ticket_key_renew(struct tls_ctx *ctx)
{
    if (ctx->ticket_ready) {
        mbedtls_ssl_ticket_free(&ctx->ticket);
        mbedtls_ssl_ticket_init(&ctx->ticket);
        ctx->ticket_ready = false;
    }
    int ret = mbedtls_ssl_ticket_setup(&ctx->ticket, mbedtls_ctr_drbg_random, &ctx->drbg,
                                       MBEDTLS_CIPHER_AES_256_GCM, DEFS_TLS_TICKET_LIFETIME);
    ctx->ticket_ready = ret == 0;
    return ret;
}
#endif

/* A connection on (rfd, wfd), not yet given to mbed TLS; NULL if out of
 * memory. */
static struct tls_conn *conn_new(struct tls_ctx *ctx, int rfd, int wfd, enum tls_role role)
{
    struct tls_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    mbedtls_ssl_init(&c->ssl);
    c->ctx = ctx;
    c->rfd = rfd;
    c->wfd = wfd;
    c->role = role;
    c->clear_alert = -1;
    /* SPEC §5: mbed TLS sends handshake messages one by one; without
     * TCP_NODELAY (sys_tune_socket) each waits ~40 ms for a delayed ACK. A
     * non-TCP fd (unit tests' socketpairs) cannot have it and loses
     * nothing. */
    sys_tune_socket(rfd);
    if (wfd != rfd) {
        sys_tune_socket(wfd);
    }
    return c;
}

/* A new control session (first AUTH, or AUTH after REIN): only its
 * session may be resumed from now on. */
static bool control_session_start(struct tls_ctx *ctx, char *msg, size_t n)
{
    tls_cache_clear(ctx);
#if TLS_HAVE_13
    int ret = ctx->allow13 ? ticket_key_renew(ctx) : 0;
    if (ret != 0) {
        tls_fmt_error(msg, n, ret, "cannot make a session ticket key");
        return false;
    }
#else
    (void)msg;
    (void)n;
#endif
    return true;
}

/* A fatal protocol_version alert in a TLS 1.2 record, written as bytes:
 * before the handshake mbed TLS 2.28 would put no version in the record
 * header, and clients drop such a record unread. */
static const unsigned char protocol_version_alert[] = {MBEDTLS_SSL_MSG_ALERT,
                                                       3,
                                                       3,
                                                       0,
                                                       2,
                                                       MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                                       MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION};

/* The first record, then the configuration it calls for, then the
 * handshake loop: TLS_FAIL_NONE, or why not with msg filled. */
static enum tls_fail handshake(struct tls_conn *c, char *msg, size_t n)
{
    struct tls_ctx *ctx = c->ctx;
    bool got_record = read_first_record(c) == 0;
    tls_hello_parse(ctx->hello_buf, ctx->hello_len, &ctx->hello);
    if (!got_record) {
        return tls_diagnose(c, MBEDTLS_ERR_SSL_CONN_EOF, msg, n);
    }
    int v13 = ctx->allow13 && ctx->hello.offers13 ? 1 : 0;
    if (v13) {
        tls_ktls_pick13(ctx, c->role);
    }
    int ret = mbedtls_ssl_setup(&c->ssl, &ctx->conf[c->role][v13]);
    if (ret != 0) {
        tls_fmt_error(msg, n, ret, "mbedtls_ssl_setup");
        return TLS_FAIL_INTERNAL;
    }
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
    if (!ctx->allow13 && ctx->hello.parsed && ctx->hello.offers13 && !ctx->hello.offers12) {
        /* A TLS 1.3-only hello where we do not offer 1.3 (tls-max 1.2, or
         * a 2.28 build): mbed TLS would go on in TLS 1.2 and fail with
         * handshake_failure; protocol_version tells the client why. */
        (void)bio_send(c, protocol_version_alert, sizeof protocol_version_alert);
        return tls_diagnose(c, MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE, msg, n);
    }
#if TLS_MBEDTLS3
    if (ctx->keylog_fd >= 0 || (c->role == TLS_ROLE_DATA && ctx->ktls_policy)) {
        mbedtls_ssl_set_export_keys_cb(&c->ssl, keylog_cb, c);
    }
#endif
    c->from_hello = true;
    for (;;) {
        ret = mbedtls_ssl_handshake(&c->ssl);
        if (ret == 0) {
            return TLS_FAIL_NONE;
        }
        if ((ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) &&
            !c->timed_out) {
            continue;
        }
        return tls_diagnose(c, ret, msg, n);
    }
}

/* Resumed? TLS 1.2: our entry was returned and no full handshake
 * followed. TLS 1.3: one of this process's tickets was accepted, and
 * the client offered psk_dhe_ke, the mode mbed TLS prefers when a
 * ticket matches (with data-reuse required the data configuration
 * allows nothing else, so there it holds by construction). */
static bool data_resumed(const struct tls_conn *c)
{
    bool v13done = false;
#if TLS_HAVE_13
    v13done = mbedtls_ssl_get_version_number(&c->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#endif
    if (v13done) {
        return c->ticket_ok && (c->ctx->hello.psk_dhe || c->ctx->data_reuse_required);
    }
    return c->cache_hit && !c->full_hs;
}

static void set_why(enum tls_fail *why, enum tls_fail v)
{
    if (why != NULL) {
        *why = v;
    }
}

struct tls_conn *tls_accept(struct tls_ctx *ctx, int rfd, int wfd, enum tls_role role,
                            int timeout_ms, enum tls_fail *why, char *err, size_t errsz)
{
    char msg[DEFS_TLS_MSG_MAX] = "";
    enum tls_fail fail = TLS_FAIL_INTERNAL;
    struct tls_conn *c = conn_new(ctx, rfd, wfd, role);
    if (c == NULL) {
        set_why(why, TLS_FAIL_INTERNAL);
        (void)sys_copy(err, errsz, "TLS: out of memory");
        return NULL;
    }
    enter(c, timeout_ms);
    if (role == TLS_ROLE_CONTROL && !control_session_start(ctx, msg, sizeof msg)) {
        goto fail;
    }
    if (role == TLS_ROLE_DATA) {
        tls_ktls_attach(c);
    }
    fail = handshake(c, msg, sizeof msg);
    if (fail != TLS_FAIL_NONE) {
        goto fail;
    }
    c->resumed = role == TLS_ROLE_DATA && data_resumed(c);
    if (ctx->client_cert != POL_CCERT_OFF) {
        c->peer_ok = mbedtls_ssl_get_peer_cert(&c->ssl) != NULL &&
                     mbedtls_ssl_get_verify_result(&c->ssl) == 0;
    }
    bool refuse = role == TLS_ROLE_DATA && ctx->data_reuse_required && !c->resumed;
    if (role == TLS_ROLE_DATA && !refuse) {
        tls_ktls_start(c);
    } else if (role == TLS_ROLE_CONTROL) {
        ctx->ctrl_suite = tls_conn_suite(c);
    }
    tls_log_success(c);
    c->deadline = -1;
    c->from_hello = false;
    ctx->hello_len = ctx->hello_off = 0;
    /* SECURITY: a protected data connection that does not resume the
     * control session could belong to anybody who raced the client to the
     * port (the attack vsftpd's require_ssl_reuse stops); resumption proves
     * it comes from the party that holds the control session's keys. TLS
     * 1.3 refuses such a handshake already (tls_diagnose); a TLS 1.2 one ends
     * here, with close_notify so the client sees a clean end before the
     * caller's reply. */
    if (refuse) {
        (void)tls_close(c, false, DEFS_TLS_REFUSE_CLOSE_MS);
        set_why(why, TLS_FAIL_NOT_RESUMED);
        (void)sys_copy(err, errsz, TLS_MSG_NOT_RESUMED);
        return NULL;
    }
    set_why(why, TLS_FAIL_NONE);
    return c;

fail:
    warn("TLS %s handshake failed: %s", role == TLS_ROLE_CONTROL ? "control" : "data", msg);
    set_why(why, fail);
    (void)sys_copy(err, errsz, msg);
    ctx->hello_len = ctx->hello_off = 0;
    conn_free(c);
    return NULL;
}

ssize_t tls_read(struct tls_conn *c, void *buf, size_t n, int timeout_ms)
{
    if (n == 0) {
        /* mbedtls_ssl_read(…, 0) returns 0, which would read as a close. */
        bug("tls_read with an empty buffer");
    }
    if (c->peer_closed) {
        return 0;
    }
    enter(c, timeout_ms);
    if (c->ktls_rx) {
        return tls_ktls_read(c, buf, n);
    }
    for (;;) {
        int ret = mbedtls_ssl_read(&c->ssl, buf, n);
        if (ret > 0) {
            return ret;
        }
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            c->peer_closed = true;
            return 0;
        }
        if (ret == 0 || ret == MBEDTLS_ERR_SSL_CONN_EOF) {
            /* mbed TLS returns 0 only for EOF; c->eof says it was TCP. */
            return TLS_IO_TRUNCATED;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            if (c->timed_out) {
                return TLS_IO_TIMEOUT;
            }
            continue;
        }
        /* A reset is the peer going away, like an EOF: not a TLS failure. */
        if (c->eof || (ret == MBEDTLS_ERR_NET_RECV_FAILED && c->io_errno == ECONNRESET)) {
            return TLS_IO_TRUNCATED;
        }
        char msg[DEFS_TLS_MSG_MAX];
        tls_fmt_error(msg, sizeof msg, ret, "TLS read");
        info("%s", msg);
        return TLS_IO_ERROR;
    }
}

ssize_t tls_write(struct tls_conn *c, const void *buf, size_t n, int timeout_ms)
{
    const unsigned char *p = buf;
    size_t off = 0;
    enter(c, timeout_ms);
    if (c->ktls_tx) {
        return tls_ktls_write(c, buf, n);
    }
    while (off < n) {
        size_t chunk = n - off > TLS_REC_MAX ? TLS_REC_MAX : n - off;
        int ret = mbedtls_ssl_write(&c->ssl, p + off, chunk);
        if (ret > 0) {
            off += (size_t)ret;
            continue;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ) {
            if (c->timed_out) {
                info("TLS write: the peer read nothing for %d s", timeout_ms / 1000);
                return TLS_IO_TIMEOUT;
            }
            continue;
        }
        char msg[DEFS_TLS_MSG_MAX];
        tls_fmt_error(msg, sizeof msg, ret, "TLS write");
        info("%s", msg);
        return TLS_IO_ERROR;
    }
    return (ssize_t)n;
}

bool tls_pending(const struct tls_conn *c)
{
    if (c->ktls_rx) {
        return false; /* the kernel's records: poll(2) sees them */
    }
    return mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 || mbedtls_ssl_check_pending(&c->ssl) != 0;
}

bool tls_kernel_tx(const struct tls_conn *c)
{
    return c->ktls_tx;
}

/* ------------------------------------------------------------ close */

/* Reads up to the peer's close_notify within the current deadline. */
static bool read_peer_close(struct tls_conn *c)
{
    unsigned char junk[1024];
    size_t dropped = 0;
    bool ok = true;
    for (;;) {
        int ret;
        if (c->ktls_rx) {
            ssize_t r = tls_ktls_read(c, junk, sizeof junk);
            ret = r == 0 ? MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY : (r > 0 ? (int)r : -1);
        } else {
            ret = mbedtls_ssl_read(&c->ssl, junk, sizeof junk);
        }
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            break;
        }
        if (ret > 0) {
            /* Protected bytes the client sent before its close_notify
             * (CCC, REIN): a command sent then cannot be trusted to
             * belong to the clear channel, so it is dropped. */
            dropped += (size_t)ret;
            continue;
        }
        if ((ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) &&
            !c->timed_out) {
            continue;
        }
        ok = false;
        break;
    }
    if (dropped > 0) {
        info("TLS close: dropped %zu protected bytes sent before the client's close_notify",
             dropped);
    }
    return ok;
}

static bool send_close_notify(struct tls_conn *c)
{
    if (c->ktls_tx) {
        return tls_ktls_close_notify(c);
    }
    int ret;
    do {
        ret = mbedtls_ssl_close_notify(&c->ssl);
    } while ((ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ) &&
             !c->timed_out);
    return ret == 0;
}

bool tls_close(struct tls_conn *c, bool wait_peer, int timeout_ms)
{
    enter(c, timeout_ms);
    bool ok = send_close_notify(c);
    if (ok && wait_peer && !c->peer_closed) {
        ok = read_peer_close(c);
    }
    conn_free(c);
    return ok;
}

/* What the client sends next, peeked: a TLS record (content types 20-24,
 * here its close_notify), a clear command (it starts with a letter),
 * nothing before the deadline, or EOF/an error. */
enum next_bytes { NEXT_ERROR, NEXT_NOTHING, NEXT_TLS, NEXT_CLEAR };

static enum next_bytes peek_next(struct tls_conn *c)
{
    if (mbedtls_ssl_check_pending(&c->ssl)) {
        return NEXT_TLS;
    }
    int w = tls_wait_fd(c, c->rfd, false);
    if (w == 0) {
        return NEXT_NOTHING;
    }
    unsigned char first = 0;
    ssize_t r = -1;
    if (w == 1) {
        r = sys_recv_peek(c->rfd, &first, 1);
    }
    if (r != 1) {
        return NEXT_ERROR;
    }
    return first >= 20 && first <= 24 ? NEXT_TLS : NEXT_CLEAR;
}

enum tls_clear_result tls_clear(struct tls_conn *c, int timeout_ms)
{
    enum tls_clear_result res = TLS_CLEAR_FAILED;
    /* Let the client speak first. lftp and curl's "active" CCC mode send
     * close_notify as soon as they read the reply; ours then answers it.
     * Sent at once instead, ours may reach lftp in the same read as the
     * reply, and lftp takes it for a dropped connection (ProFTPD issue
     * #876 shows the same loop). curl's default "passive" mode waits for
     * ours, which follows after TLS_CLEAR_CLIENT_FIRST_MS. */
    enter(c, TLS_CLEAR_CLIENT_FIRST_MS);
    enum next_bytes next = peek_next(c);
    if (next == NEXT_TLS) {
        enter(c, timeout_ms);
        if (read_peer_close(c) && send_close_notify(c)) {
            res = TLS_CLEAR_CLEAN;
        }
        goto out;
    }
    if (next == NEXT_CLEAR) {
        /* The client left TLS without a word and already talks in the
         * clear: a close_notify now would land in its clear reader. The
         * command stays in the socket for the line reader. */
        res = TLS_CLEAR_PEER_SKIPPED;
        goto out;
    }
    if (next == NEXT_ERROR) {
        goto out;
    }
    enter(c, timeout_ms);
    if (!send_close_notify(c)) {
        goto out;
    }
    next = peek_next(c);
    if (next == NEXT_NOTHING || next == NEXT_CLEAR) {
        res = TLS_CLEAR_PEER_SKIPPED;
    } else if (next == NEXT_TLS && read_peer_close(c)) {
        res = TLS_CLEAR_CLEAN;
    }
out:
    conn_free(c);
    return res;
}

/* ------------------------------------------------------------ accessors */

void tls_discard(struct tls_conn *c)
{
    if (c != NULL) {
        conn_free(c);
    }
}

bool tls_resumed(const struct tls_conn *c)
{
    return c->resumed;
}

bool tls_peer_cert_sha256(const struct tls_conn *c, unsigned char out[32])
{
    /* SECURITY: a certificate that did not verify against client-ca logs
     * nobody in, whatever its fingerprint (VERIFY_OPTIONAL lets the
     * handshake finish with it). */
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&c->ssl);
    if (peer == NULL || !c->peer_ok) {
        return false;
    }
    return tls_hash_sha256(peer->raw.p, peer->raw.len, out);
}

const char *tls_sni(const struct tls_conn *c)
{
    return c->has_sni ? c->sni : NULL;
}

void tls_describe(const struct tls_conn *c, char *buf, size_t n)
{
    if (c == NULL) {
        (void)sys_copy(buf, n, "no TLS");
        return;
    }
    (void)sys_fmt(buf, n, "%s %s", mbedtls_ssl_get_version(&c->ssl),
                  mbedtls_ssl_get_ciphersuite(&c->ssl));
}

const char *tls_version_string(void)
{
    return "mbed TLS " MBEDTLS_VERSION_STRING;
}
