/* The other end of check_tls.c: a plain mbed TLS client (or a sender of raw
 * bytes) in a thread on one end of a socketpair, while the test drives
 * tls_accept on the other end; and a scanner that reads what the server
 * sent in clear text (alerts, ServerHello extensions, CertificateRequest),
 * the way the mbed TLS test suites look at their own records
 * (tests/include/test/ssl_helpers.h). Only mbed TLS's public API is used,
 * for both 2.28 and 3.6. */
#ifndef FTPSD_TESTS_TLS_CLIENT_H
#define FTPSD_TESTS_TLS_CLIENT_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define TC_V3 1
#include <psa/crypto.h>
#else
#define TC_V3 0
#endif
/* Whether this build's ftpsd speaks TLS 1.3 (tls.c's TLS_HAVE_13). */
#if TC_V3 && defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_SESSION_TICKETS) &&          \
    defined(MBEDTLS_SSL_TICKET_C)
#define TC_HAVE_13 1
#else
#define TC_HAVE_13 0
#endif

/* Helpers a user of this header may not need all of. */
#define TC_FN static __attribute__((unused))

#define TC_WAIT_MS 5000 /* no step of a test waits longer */
#define TC_CAP 65536

enum tc_ver { TC_VER_DEFAULT, TC_VER_12, TC_VER_11 };

enum tc_act {
    TC_ACT_CLOSE,       /* close_notify right after the handshake */
    TC_ACT_WRITE_EOF,   /* send payload, then close TCP without close_notify */
    TC_ACT_WRITE_CLOSE, /* send payload, then close_notify */
    TC_ACT_RENEG,       /* renegotiate, then send payload if that worked */
    TC_ACT_WAIT_CLOSE,  /* wait for the server's close_notify, answer it, send after_close in clear
                         */
    TC_ACT_HOLD,        /* do nothing until the server closes */
    TC_ACT_READ,        /* read read_expect bytes, then close_notify */
};

struct tc_opts {
    enum tc_ver ver;
    const int *suites;      /* NULL: mbed TLS's defaults */
    const char *alpn[4];    /* NULL-terminated; alpn[0] NULL: no ALPN */
    const char *cert, *key; /* client certificate */
    const char *sni;
    const char *trust; /* verify the server against this CA file */
    const mbedtls_ssl_session *resume;
    bool want_session; /* keep the session (TLS 1.3: wait for the ticket) */
    bool no_ems;       /* offer no extended master secret */
    enum tc_act act;
    const char *payload;
    const char *after_close;
    bool skip_close_reply; /* TC_ACT_WAIT_CLOSE without answering (curl's passive CCC) */
    size_t read_expect;
    bool use_raw; /* send raw[] instead of a TLS client */
    const unsigned char *raw;
    size_t rawlen;
};

struct tc_result {
    int hs_ret;
    int reneg_ret;
    int post_ret; /* last mbed TLS return after the handshake */
    char alpn[16];
    bool is13;
    int tickets; /* NewSessionTicket messages seen (TLS 1.3) */
    mbedtls_ssl_session session;
    bool have_session;
    char keylog[2048];
    size_t keylog_len;
    size_t read_got;
    bool read_ok;
    bool peer_close_seen;
    unsigned char cap[TC_CAP]; /* everything received, for tc_scan */
    size_t ncap;
    /* tc_scan's findings */
    int alert; /* first alert seen in clear, -1 none */
    bool saw_server_hello, server_ems, cert_request;
    unsigned char sh_sid[32]; /* the ServerHello's session id */
    size_t sh_sid_len;
};

struct tc {
    int fd;
    struct tc_opts o;
    struct tc_result *r;
    pthread_t th;
};

TC_FN int tc_entropy(void *p, unsigned char *out, size_t len)
{
    (void)p;
    while (len > 0) {
        ssize_t n = getrandom(out, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        out += n;
        len -= (size_t)n;
    }
    return 0;
}

TC_FN int tc_send(void *p, const unsigned char *buf, size_t len)
{
    struct tc *t = p;
    ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
    if (n < 0) {
        return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
    }
    return (int)n;
}

TC_FN int tc_recv(void *p, unsigned char *buf, size_t len)
{
    struct tc *t = p;
    struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, TC_WAIT_MS);
    if (pr == 0) {
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    if (pr < 0) {
        return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
    }
    ssize_t n = recv(t->fd, buf, len, 0);
    if (n < 0) {
        return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
    }
    if (n > 0 && t->r->ncap + (size_t)n <= TC_CAP) {
        memcpy(t->r->cap + t->r->ncap, buf, (size_t)n);
        t->r->ncap += (size_t)n;
    }
    return (int)n;
}

TC_FN void tc_keylog_line(struct tc_result *r, const char *label, const unsigned char cr[32],
                          const unsigned char *secret, size_t len)
{
    static const char hx[] = "0123456789abcdef";
    char line[300];
    size_t pos = (size_t)snprintf(line, sizeof line, "%s ", label);
    for (size_t i = 0; i < 32; i++) {
        line[pos++] = hx[cr[i] >> 4];
        line[pos++] = hx[cr[i] & 15];
    }
    line[pos++] = ' ';
    for (size_t i = 0; i < len && pos + 3 < sizeof line; i++) {
        line[pos++] = hx[secret[i] >> 4];
        line[pos++] = hx[secret[i] & 15];
    }
    line[pos++] = '\n';
    if (r->keylog_len + pos < sizeof r->keylog) {
        memcpy(r->keylog + r->keylog_len, line, pos);
        r->keylog_len += pos;
        r->keylog[r->keylog_len] = '\0';
    }
}

#if TC_V3
TC_FN void tc_keylog(void *p, mbedtls_ssl_key_export_type type, const unsigned char *secret,
                     size_t len, const unsigned char cr[32], const unsigned char sr[32],
                     mbedtls_tls_prf_types prf)
{
    const char *label = NULL;
    (void)sr;
    (void)prf;
    switch (type) {
    case MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET:
        label = "CLIENT_RANDOM";
        break;
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_HANDSHAKE_TRAFFIC_SECRET:
        label = "CLIENT_HANDSHAKE_TRAFFIC_SECRET";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_SERVER_HANDSHAKE_TRAFFIC_SECRET:
        label = "SERVER_HANDSHAKE_TRAFFIC_SECRET";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_CLIENT_APPLICATION_TRAFFIC_SECRET:
        label = "CLIENT_TRAFFIC_SECRET_0";
        break;
    case MBEDTLS_SSL_KEY_EXPORT_TLS1_3_SERVER_APPLICATION_TRAFFIC_SECRET:
        label = "SERVER_TRAFFIC_SECRET_0";
        break;
#endif
    default:
        break;
    }
    if (label != NULL) {
        tc_keylog_line(p, label, cr, secret, len);
    }
}
#else
TC_FN int tc_keylog(void *p, const unsigned char *ms, const unsigned char *kb, size_t maclen,
                    size_t keylen, size_t ivlen, const unsigned char cr[32],
                    const unsigned char sr[32], mbedtls_tls_prf_types prf)
{
    (void)kb;
    (void)maclen;
    (void)keylen;
    (void)ivlen;
    (void)sr;
    (void)prf;
    tc_keylog_line(p, "CLIENT_RANDOM", cr, ms, 48);
    return 0;
}
#endif

/* Reads and discards until the server closes its end (or TC_WAIT_MS). */
TC_FN void tc_drain(struct tc *t)
{
    unsigned char buf[4096];
    for (;;) {
        struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
        if (poll(&pfd, 1, TC_WAIT_MS) <= 0) {
            return;
        }
        ssize_t n = recv(t->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return;
        }
        if (t->r->ncap + (size_t)n <= TC_CAP) {
            memcpy(t->r->cap + t->r->ncap, buf, (size_t)n);
            t->r->ncap += (size_t)n;
        }
    }
}

TC_FN void tc_write_all(mbedtls_ssl_context *ssl, const char *s, struct tc_result *r)
{
    size_t off = 0, n = strlen(s);
    while (off < n) {
        int ret = mbedtls_ssl_write(ssl, (const unsigned char *)s + off, n - off);
        if (ret < 0) {
            r->post_ret = ret;
            return;
        }
        off += (size_t)ret;
    }
}

TC_FN void tc_run_tls(struct tc *t)
{
    struct tc_result *r = t->r;
    const struct tc_opts *o = &t->o;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt crt, ca;
    mbedtls_pk_context pk;
    int ret;

    mbedtls_x509_crt_init(&ca);
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
#if TC_V3
    (void)psa_crypto_init();
#endif
    if ((ret = mbedtls_ctr_drbg_seed(&drbg, tc_entropy, NULL, NULL, 0)) != 0 ||
        (ret =
             mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        r->hs_ret = ret;
        goto out;
    }
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
    if (o->trust != NULL) {
        if ((ret = mbedtls_x509_crt_parse_file(&ca, o->trust)) != 0) {
            r->hs_ret = ret;
            goto out;
        }
        mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
        mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    }
#if TC_V3
    if (o->ver == TC_VER_12) {
        mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
    }
#if defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
#else
    if (o->ver == TC_VER_11) {
        mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_1);
        mbedtls_ssl_conf_max_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_2);
    }
    mbedtls_ssl_conf_export_keys_ext_cb(&conf, tc_keylog, r);
#endif
    if (o->no_ems) {
        mbedtls_ssl_conf_extended_master_secret(&conf, MBEDTLS_SSL_EXTENDED_MS_DISABLED);
    }
    if (o->suites != NULL) {
        mbedtls_ssl_conf_ciphersuites(&conf, o->suites);
    }
    if (o->alpn[0] != NULL) {
        mbedtls_ssl_conf_alpn_protocols(&conf, (const char **)o->alpn);
    }
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    mbedtls_ssl_conf_renegotiation(&conf, MBEDTLS_SSL_RENEGOTIATION_ENABLED);
    /* Give up at the first record that is not the ServerHello: a server
     * that refuses sends a warning alert and nothing else. */
    mbedtls_ssl_conf_renegotiation_enforced(&conf, 0);
#endif
    if (o->cert != NULL) {
#if TC_V3
        ret = mbedtls_pk_parse_keyfile(&pk, o->key, NULL, mbedtls_ctr_drbg_random, &drbg);
#else
        ret = mbedtls_pk_parse_keyfile(&pk, o->key, NULL);
#endif
        if (ret != 0 || (ret = mbedtls_x509_crt_parse_file(&crt, o->cert)) != 0 ||
            (ret = mbedtls_ssl_conf_own_cert(&conf, &crt, &pk)) != 0) {
            r->hs_ret = ret;
            goto out;
        }
    }
    if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0) {
        r->hs_ret = ret;
        goto out;
    }
#if TC_V3
    mbedtls_ssl_set_export_keys_cb(&ssl, tc_keylog, r);
#endif
    if (o->sni != NULL && (ret = mbedtls_ssl_set_hostname(&ssl, o->sni)) != 0) {
        r->hs_ret = ret;
        goto out;
    }
    if (o->resume != NULL && (ret = mbedtls_ssl_set_session(&ssl, o->resume)) != 0) {
        r->hs_ret = ret;
        goto out;
    }
    mbedtls_ssl_set_bio(&ssl, t, tc_send, tc_recv, NULL);
    do {
        ret = mbedtls_ssl_handshake(&ssl);
    } while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
    r->hs_ret = ret;
    if (ret != 0) {
        goto out;
    }
    const char *alpn = mbedtls_ssl_get_alpn_protocol(&ssl);
    snprintf(r->alpn, sizeof r->alpn, "%s", alpn != NULL ? alpn : "");
    r->is13 = strcmp(mbedtls_ssl_get_version(&ssl), "TLSv1.3") == 0;
    if (o->want_session) {
        if (r->is13) {
            /* The ticket follows the handshake: read until it is there. */
            unsigned char b[64];
            do {
                ret = mbedtls_ssl_read(&ssl, b, sizeof b);
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
                if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
                    r->tickets++;
                    break;
                }
#endif
            } while (ret == MBEDTLS_ERR_SSL_WANT_READ);
        }
        r->have_session = mbedtls_ssl_get_session(&ssl, &r->session) == 0;
    }
    switch (o->act) {
    case TC_ACT_CLOSE:
        break;
    case TC_ACT_WRITE_EOF:
        tc_write_all(&ssl, o->payload, r);
        shutdown(t->fd, SHUT_WR);
        tc_drain(t);
        goto out;
    case TC_ACT_WRITE_CLOSE:
        tc_write_all(&ssl, o->payload, r);
        break;
    case TC_ACT_RENEG:
#if defined(MBEDTLS_SSL_RENEGOTIATION)
        do {
            ret = mbedtls_ssl_renegotiate(&ssl);
        } while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
        r->reneg_ret = ret;
        if (ret == 0) {
            tc_write_all(&ssl, o->payload, r);
            break;
        }
#else
        r->reneg_ret = -1;
#endif
        shutdown(t->fd, SHUT_WR);
        tc_drain(t);
        goto out;
    case TC_ACT_WAIT_CLOSE: {
        unsigned char b[256];
        do {
            ret = mbedtls_ssl_read(&ssl, b, sizeof b);
        } while (ret > 0 || ret == MBEDTLS_ERR_SSL_WANT_READ
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
                 || ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#endif
        );
        r->post_ret = ret;
        r->peer_close_seen = ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY;
        if (!o->skip_close_reply) {
            (void)mbedtls_ssl_close_notify(&ssl);
        }
        if (o->after_close != NULL) {
            (void)send(t->fd, o->after_close, strlen(o->after_close), MSG_NOSIGNAL);
        }
        tc_drain(t);
        goto out;
    }
    case TC_ACT_HOLD:
        tc_drain(t);
        goto out;
    case TC_ACT_READ: {
        unsigned char b[8192];
        r->read_ok = true;
        while (r->read_got < o->read_expect) {
            ret = mbedtls_ssl_read(&ssl, b, sizeof b);
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
                r->tickets++;
                continue;
            }
#endif
            if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
                continue;
            }
            if (ret <= 0) {
                r->post_ret = ret;
                r->read_ok = false;
                break;
            }
            for (int i = 0; i < ret; i++) {
                if (b[i] != (unsigned char)((r->read_got + (size_t)i) * 7u)) {
                    r->read_ok = false;
                }
            }
            r->read_got += (size_t)ret;
        }
        break;
    }
    }
    (void)mbedtls_ssl_close_notify(&ssl);
    tc_drain(t);
out:
    mbedtls_ssl_free(&ssl);
    mbedtls_pk_free(&pk);
    mbedtls_x509_crt_free(&crt);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
}

TC_FN void *tc_main(void *arg)
{
    struct tc *t = arg;
    if (t->o.use_raw) {
        if (t->o.rawlen > 0) {
            (void)send(t->fd, t->o.raw, t->o.rawlen, MSG_NOSIGNAL);
        }
        if (t->o.act != TC_ACT_HOLD) {
            shutdown(t->fd, SHUT_WR);
        }
        tc_drain(t);
    } else {
        tc_run_tls(t);
    }
    close(t->fd);
    return NULL;
}

TC_FN void tc_result_init(struct tc_result *r)
{
    memset(r, 0, sizeof *r);
    mbedtls_ssl_session_init(&r->session);
    r->alert = -1;
    r->hs_ret = 1; /* "did not run" */
}

/* Starts the client on fd (which it closes when done). */
TC_FN void tc_start(struct tc *t, int fd, const struct tc_opts *o, struct tc_result *r)
{
    t->fd = fd;
    t->o = *o;
    t->r = r;
    if (pthread_create(&t->th, NULL, tc_main, t) != 0) {
        abort();
    }
}

TC_FN void tc_join(struct tc *t)
{
    pthread_join(t->th, NULL);
}

/* Walks the clear-text part of what the server sent: alerts, and the
 * handshake messages before its ChangeCipherSpec. */
TC_FN void tc_scan(struct tc_result *r)
{
    static unsigned char hs[TC_CAP];
    size_t nhs = 0, off = 0;
    while (off + 5 <= r->ncap) {
        unsigned type = r->cap[off];
        size_t len = ((size_t)r->cap[off + 3] << 8) | r->cap[off + 4];
        const unsigned char *body = r->cap + off + 5;
        if (off + 5 + len > r->ncap || type == 20 || type == 23) {
            break; /* encrypted from here on */
        }
        if (type == 21 && len >= 2 && r->alert < 0) {
            r->alert = body[1];
        }
        if (type == 22 && nhs + len <= sizeof hs) {
            memcpy(hs + nhs, body, len);
            nhs += len;
        }
        off += 5 + len;
    }
    for (size_t p = 0; p + 4 <= nhs;) {
        unsigned mt = hs[p];
        size_t ml = ((size_t)hs[p + 1] << 16) | ((size_t)hs[p + 2] << 8) | hs[p + 3];
        const unsigned char *m = hs + p + 4;
        if (p + 4 + ml > nhs) {
            break;
        }
        if (mt == 13) {
            r->cert_request = true;
        }
        if (mt == 2 && ml >= 38) {
            r->saw_server_hello = true;
            size_t q = 2 + 32;
            if (m[q] <= 32 && q + 1 + m[q] <= ml) {
                r->sh_sid_len = m[q];
                memcpy(r->sh_sid, m + q + 1, m[q]);
            }
            q += 1 + m[q]; /* session id */
            q += 2 + 1;    /* suite, compression */
            if (q + 2 <= ml) {
                size_t end = q + 2 + (((size_t)m[q] << 8) | m[q + 1]);
                q += 2;
                while (q + 4 <= end && end <= ml) {
                    unsigned et = ((unsigned)m[q] << 8) | m[q + 1];
                    size_t el = ((size_t)m[q + 2] << 8) | m[q + 3];
                    if (et == 0x0017) {
                        r->server_ems = true;
                    }
                    q += 4 + el;
                }
            }
        }
        p += 4 + ml;
    }
}

/* Did the server resume `offered` (TLS 1.2: its ServerHello echoes the
 * session id the client offered)? */
TC_FN bool tc_server_resumed(const struct tc_result *r, const mbedtls_ssl_session *offered)
{
#if TC_V3
    const unsigned char *id = *mbedtls_ssl_session_get_id(offered);
    size_t len = mbedtls_ssl_session_get_id_len(offered);
#else
    const unsigned char *id = offered->id;
    size_t len = offered->id_len;
#endif
    return len > 0 && r->sh_sid_len == len && memcmp(r->sh_sid, id, len) == 0;
}

/* A hand-made ClientHello with the given legacy version and suites (for
 * versions and suites a modern mbed TLS client can no longer send). */
TC_FN size_t tc_build_hello(unsigned char *out, size_t size, unsigned version,
                            const uint16_t *suites, size_t nsuites)
{
    unsigned char b[512];
    size_t n = 0;
    b[n++] = (unsigned char)(version >> 8);
    b[n++] = (unsigned char)version;
    for (int i = 0; i < 32; i++) {
        b[n++] = (unsigned char)(i * 13 + 1);
    }
    b[n++] = 0; /* session id */
    b[n++] = (unsigned char)((nsuites * 2) >> 8);
    b[n++] = (unsigned char)(nsuites * 2);
    for (size_t i = 0; i < nsuites; i++) {
        b[n++] = (unsigned char)(suites[i] >> 8);
        b[n++] = (unsigned char)suites[i];
    }
    b[n++] = 1; /* compression: null */
    b[n++] = 0;
    static const unsigned char ext[] = {
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17,             /* groups */
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,                                     /* point formats */
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, /* sig algs */
    };
    b[n++] = 0;
    b[n++] = sizeof ext;
    memcpy(b + n, ext, sizeof ext);
    n += sizeof ext;
    if (size < n + 9) {
        return 0;
    }
    out[0] = 22;
    out[1] = 3;
    out[2] = 1;
    out[3] = (unsigned char)((n + 4) >> 8);
    out[4] = (unsigned char)(n + 4);
    out[5] = 1;
    out[6] = 0;
    out[7] = (unsigned char)(n >> 8);
    out[8] = (unsigned char)n;
    memcpy(out + 9, b, n);
    return n + 9;
}

#endif
