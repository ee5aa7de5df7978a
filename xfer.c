/* The transfer engine (include/xfer.h). One poll loop, xfer_wait(), sits
 * under every data operation: it waits on the data socket AND the control
 * connection, hands control input to the session's during_xfer callback
 * (ABOR, STAT, NOOP, QUIT), and gives up at the idle limit; the rate limit
 * (rate=) sleeps in it too, between the bytes it lets through. On top of it
 * the send/receive primitives, the two file movers RETR and STOR use, the
 * listing sink, and the pure TYPE A conversions. Buffers are the session's
 * two fixed ones; nothing here allocates. */
#include "xfer.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "codes.h"
#include "ctrl.h"
#include "defs.h"
#include "log.h"
#include "session.h"
#include "sys.h"
#include "sys_fs.h"
#include "sys_net.h"
#include "tls.h"
#include "xferlog.h"

/* ------------------------------------------------------------------ */
/* The poll loop                                                       */
/* ------------------------------------------------------------------ */

/* Serves one control command during a transfer; false means ABOR. */
static bool serve_ctrl(struct session *s)
{
    switch (s->during_xfer(s)) {
    case XFER_ABORT:
        return false;
    case XFER_QUIT:
        /* RFC 959: QUIT waits for the transfer and its reply; the 221
         * follows (ftp.c). The control connection is not watched any more. */
        s->conn.watch_ctrl = false;
        return true;
    case XFER_GO_ON:
        break;
    }
    if (!ctrl_ok(s)) {
        s->conn.watch_ctrl = false;
    }
    return true;
}

/* The absolute time at which an idle data connection is given up. */
static int64_t idle_deadline(const struct session *s)
{
    return s->conn.last_ms + (int64_t)s->pol->idle * 1000;
}

int xfer_wait(struct session *s, int fd, short events, int64_t deadline, enum data_status *st)
{
    struct data_conn *dc = &s->conn;
    for (;;) {
        /* Lines already decrypted or buffered are invisible to poll(). */
        if (dc->watch_ctrl && ctrl_buffered(s)) {
            if (!serve_ctrl(s)) {
                *st = DATA_ABORTED;
                return -1;
            }
            continue;
        }
        int64_t left = deadline - sys_now_ms();
        if (left <= 0) {
            return 0;
        }
        struct pollfd p[2] = {{.fd = fd, .events = events},
                              {.fd = ctrl_poll_fd(s), .events = POLLIN}};
        unsigned n = dc->watch_ctrl ? 2 : 1;
        int r = sys_poll(p, n, left > INT_MAX ? INT_MAX : (int)left);
        if (r < 0) {
            (void)sys_fmt(dc->why, sizeof dc->why, "poll: %s", strerror(errno));
            *st = DATA_ERROR;
            return -1;
        }
        if (r == 0) {
            continue;
        }
        if (n == 2 && p[1].revents) {
            if (!serve_ctrl(s)) {
                *st = DATA_ABORTED;
                return -1;
            }
            /* Defence against a control reader that stops consuming input
             * (poll would then report it forever and this loop would spin
             * at 100 % CPU): a healthy reader drains the socket each time. */
            if (dc->watch_ctrl && !ctrl_buffered(s) &&
                sys_wait_fd(ctrl_poll_fd(s), false, 0) == 1) {
                if (++dc->ctrl_stuck >= DEFS_CTRL_STUCK_MAX) {
                    err("control input is not being consumed during the transfer; not watching "
                        "the control connection until the transfer ends");
                    dc->watch_ctrl = false;
                }
            } else {
                dc->ctrl_stuck = 0;
            }
        }
        /* Errors and hang-ups count as ready: the I/O call that follows
         * reports them precisely. */
        if (p[0].revents) {
            return 1;
        }
    }
}

/* Waits until the data socket is ready for `events` within the idle limit:
 * DATA_OK, DATA_TIMEOUT, or what xfer_wait reported. */
static enum data_status wait_data(struct session *s, short events)
{
    enum data_status st = DATA_ERROR;
    int r = xfer_wait(s, s->conn.fd, events, idle_deadline(s), &st);
    if (r == 0) {
        return DATA_TIMEOUT;
    }
    return r < 0 ? st : DATA_OK;
}

/* ------------------------------------------------------------------ */
/* The rate limit (rate=)                                              */
/* ------------------------------------------------------------------ */

void xfer_pace_start(struct xfer_pace *p, uint64_t rate)
{
    *p = (struct xfer_pace){.rate = rate};
}

/* Milliseconds `bytes` take at `rate`, in integers: the whole seconds and
 * the rest apart, so nothing overflows for any file or rate. */
static int64_t pace_ms(uint64_t bytes, uint64_t rate)
{
    return (int64_t)((bytes / rate) * 1000 + (bytes % rate) * 1000 / rate);
}

int64_t xfer_pace_due(struct xfer_pace *p, int64_t now)
{
    if (p->rate == 0) {
        return now;
    }
    if (!p->started) {
        p->started = true;
        p->origin_ms = now;
        p->bytes = 0;
    }
    int64_t due = p->origin_ms + pace_ms(p->bytes, p->rate);
    if (now - due > DEFS_RATE_BURST_MS) {
        p->origin_ms = now - DEFS_RATE_BURST_MS;
        p->bytes = 0;
        due = p->origin_ms;
    }
    return due;
}

size_t xfer_pace_slice(const struct xfer_pace *p, size_t want)
{
    if (p->rate == 0) {
        return want;
    }
    uint64_t slice = p->rate * DEFS_RATE_SLICE_MS / 1000;
    if (slice == 0) {
        slice = 1;
    }
    return want < slice ? want : (size_t)slice;
}

void xfer_pace_moved(struct xfer_pace *p, size_t n)
{
    p->bytes += n;
}

/* Before each write or read: waits until the pace lets bytes move, in the
 * poll loop (no fd: it sleeps until then, serving ABOR and STAT), and says
 * how many the next call may move. DATA_ABORTED or DATA_ERROR from the
 * wait. */
static enum data_status pace_step(struct session *s, size_t want, size_t *allowed)
{
    struct xfer_pace *p = &s->xfer.pace;
    *allowed = want;
    if (p->rate == 0) {
        return DATA_OK;
    }
    int64_t due = xfer_pace_due(p, sys_now_ms());
    enum data_status st = DATA_ERROR;
    if (due > sys_now_ms() && xfer_wait(s, -1, 0, due, &st) < 0) {
        return st;
    }
    *allowed = xfer_pace_slice(p, want);
    return DATA_OK;
}

/* ------------------------------------------------------------------ */
/* Primitives                                                          */
/* ------------------------------------------------------------------ */

/* Writes all n bytes as they come (one TLS record under TLS). */
static enum data_status send_all(struct session *s, const void *buf, size_t n)
{
    struct data_conn *dc = &s->conn;
    const unsigned char *p = buf;
    size_t off = 0;
    while (off < n) {
        enum data_status st = wait_data(s, POLLOUT);
        if (st != DATA_OK) {
            return st;
        }
        if (dc->tls) {
            /* One call per record: whole 16 KiB records are the cheap ones
             * (NOTES-mbedtls: the record layer costs ~15 %). */
            ssize_t w = tls_write(dc->tls, p + off, n - off, (int)s->pol->idle * 1000);
            if (w == TLS_IO_TIMEOUT) {
                return DATA_TIMEOUT;
            }
            if (w != (ssize_t)(n - off)) {
                (void)sys_copy(dc->why, sizeof dc->why, "TLS write failed (client gone?)");
                return DATA_ERROR;
            }
            off = n;
        } else {
            ssize_t w = sys_send(dc->fd, p + off, n - off, true);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    continue;
                }
                (void)sys_fmt(dc->why, sizeof dc->why, "%s", strerror(errno));
                return DATA_ERROR;
            }
            off += (size_t)w;
        }
        dc->last_ms = sys_now_ms();
    }
    return DATA_OK;
}

enum data_status xfer_send(struct session *s, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    size_t off = 0;
    while (off < n) {
        size_t chunk;
        enum data_status st = pace_step(s, n - off, &chunk);
        if (st == DATA_OK) {
            st = send_all(s, p + off, chunk);
        }
        if (st != DATA_OK) {
            return st;
        }
        xfer_pace_moved(&s->xfer.pace, chunk);
        off += chunk;
    }
    return DATA_OK;
}

/* sendfile(2) up to n bytes of fd at *off (clear or kernel TLS connections
 * only); *sent = 0 at the end of the file. */
static enum data_status send_from_file(struct session *s, int fd, off_t *off, size_t n,
                                       size_t *sent)
{
    struct data_conn *dc = &s->conn;
    *sent = 0;
    if (dc->tls && !tls_kernel_tx(dc->tls)) {
        bug("sendfile on a TLS data connection that mbed TLS carries");
    }
    for (;;) {
        enum data_status st = wait_data(s, POLLOUT);
        if (st != DATA_OK) {
            return st;
        }
        ssize_t w = sys_sendfile(dc->fd, fd, off, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            (void)sys_fmt(dc->why, sizeof dc->why, "%s", strerror(errno));
            return DATA_ERROR;
        }
        dc->last_ms = sys_now_ms();
        *sent = (size_t)w;
        return DATA_OK;
    }
}

/* The end of a read that returned r >= 0: bytes, or the peer's clean end
 * (FIN in the clear, close_notify under TLS). */
static enum data_status got_bytes(struct data_conn *dc, ssize_t r, size_t *got)
{
    if (r == 0) {
        dc->peer_closed = true;
        return DATA_EOF;
    }
    *got = (size_t)r;
    dc->last_ms = sys_now_ms();
    return DATA_OK;
}

/* One read through TLS, within what is left of the idle limit. */
static enum data_status recv_tls(struct session *s, void *buf, size_t cap, size_t *got)
{
    struct data_conn *dc = &s->conn;
    int64_t left = idle_deadline(s) - sys_now_ms();
    int timeout = left > INT_MAX ? INT_MAX : (left < 1 ? 1 : (int)left);
    ssize_t r = tls_read(dc->tls, buf, cap, timeout);
    if (r >= 0) {
        return got_bytes(dc, r, got);
    }
    if (r == TLS_IO_TRUNCATED) {
        dc->peer_closed = true;
        (void)sys_copy(dc->why, sizeof dc->why, "connection closed without TLS close_notify");
        return DATA_TRUNCATED;
    }
    if (r == TLS_IO_TIMEOUT) {
        return DATA_TIMEOUT;
    }
    (void)sys_copy(dc->why, sizeof dc->why, "TLS error on the data connection");
    return DATA_ERROR;
}

/* Reads what is there, up to cap bytes. */
static enum data_status recv_some(struct session *s, void *buf, size_t cap, size_t *got)
{
    struct data_conn *dc = &s->conn;
    *got = 0;
    for (;;) {
        if (!(dc->tls && tls_pending(dc->tls))) {
            enum data_status st = wait_data(s, POLLIN);
            if (st != DATA_OK) {
                return st;
            }
        }
        if (dc->tls) {
            return recv_tls(s, buf, cap, got);
        }
        ssize_t r = sys_recv_nowait(dc->fd, buf, cap);
        if (r >= 0) {
            return got_bytes(dc, r, got);
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            continue;
        }
        /* A reset is not an end of file: the upload is incomplete. */
        (void)sys_fmt(dc->why, sizeof dc->why, "%s", strerror(errno));
        return DATA_ERROR;
    }
}

enum data_status xfer_recv(struct session *s, void *buf, size_t cap, size_t *got)
{
    /* Under rate= the upload is held back by not reading: TCP's window
     * then slows the client down. */
    size_t allowed;
    enum data_status st = pace_step(s, cap, &allowed);
    *got = 0;
    if (st == DATA_OK) {
        st = recv_some(s, buf, allowed, got);
    }
    if (st == DATA_OK) {
        xfer_pace_moved(&s->xfer.pace, *got);
    }
    return st;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* Reads the next chunk of fd at *off into buf; 0 at the end, -1 (with
 * *ferr) on a read error. */
static ssize_t read_chunk(int fd, unsigned char *buf, size_t cap, off_t *off, int *ferr)
{
    ssize_t n = sys_pread(fd, buf, cap, *off);
    if (n < 0) {
        *ferr = errno;
        return -1;
    }
    *off += n;
    return n;
}

static enum data_status send_ascii(struct session *s, int fd, off_t off, int *ferr)
{
    struct xfer_ascii ax = {0};
    size_t olen = 0;
    for (;;) {
        ssize_t n = read_chunk(fd, s->file_buf, sizeof s->file_buf, &off, ferr);
        if (n < 0) {
            return DATA_ERROR;
        }
        if (n == 0) {
            break;
        }
        size_t i = 0;
        while (i < (size_t)n) {
            size_t used;
            olen += xfer_to_crlf(&ax, s->file_buf + i, (size_t)n - i, &used, s->net_buf + olen,
                                 sizeof s->net_buf - olen);
            i += used;
            if (i < (size_t)n) {
                /* net_buf is full: send it as one whole record. */
                enum data_status st = xfer_send(s, s->net_buf, olen);
                if (st != DATA_OK) {
                    return st;
                }
                olen = 0;
            }
        }
        s->xfer.bytes += (uint64_t)n;
    }
    return olen ? xfer_send(s, s->net_buf, olen) : DATA_OK;
}

static enum data_status send_binary(struct session *s, int fd, off_t off, int *ferr)
{
    if (!s->conn.tls || tls_kernel_tx(s->conn.tls)) {
        /* Clear, or kernel TLS: the kernel copies (and encrypts) file to
         * socket without our buffer. */
        for (;;) {
            size_t sent = 0, chunk;
            enum data_status st = pace_step(s, DEFS_SENDFILE_CHUNK, &chunk);
            if (st == DATA_OK) {
                st = send_from_file(s, fd, &off, chunk, &sent);
            }
            if (st != DATA_OK || sent == 0) {
                return st;
            }
            xfer_pace_moved(&s->xfer.pace, sent);
            s->xfer.bytes += sent;
        }
    }
    for (;;) {
        ssize_t n = read_chunk(fd, s->net_buf, sizeof s->net_buf, &off, ferr);
        if (n <= 0) {
            return n < 0 ? DATA_ERROR : DATA_OK;
        }
        enum data_status st = xfer_send(s, s->net_buf, (size_t)n);
        if (st != DATA_OK) {
            return st;
        }
        s->xfer.bytes += (uint64_t)n;
    }
}

enum data_status xfer_send_file(struct session *s, int fd, off_t off, int *ferr)
{
    return s->proto.type_ascii ? send_ascii(s, fd, off, ferr) : send_binary(s, fd, off, ferr);
}

/* Writes n bytes of the upload to fd; false with *werr. */
static bool write_out(int fd, const unsigned char *buf, size_t n, int *werr)
{
    if (n > 0 && !sys_write_all(fd, buf, n, -1)) {
        *werr = errno ? errno : EIO;
        return false;
    }
    return true;
}

enum data_status xfer_recv_file(struct session *s, int fd, int *werr)
{
    struct xfer_ascii ax = {0};
    for (;;) {
        size_t got;
        enum data_status st = xfer_recv(s, s->net_buf, sizeof s->net_buf, &got);
        if (st == DATA_EOF) {
            break;
        }
        if (st != DATA_OK) {
            return st;
        }
        if (!s->proto.type_ascii) {
            if (!write_out(fd, s->net_buf, got, werr)) {
                return DATA_ERROR;
            }
            s->xfer.bytes += got;
            continue;
        }
        size_t i = 0;
        while (i < got) {
            size_t used;
            size_t o = xfer_from_crlf(&ax, s->net_buf + i, got - i, &used, s->file_buf,
                                      sizeof s->file_buf);
            i += used;
            if (!write_out(fd, s->file_buf, o, werr)) {
                return DATA_ERROR;
            }
            s->xfer.bytes += o;
        }
    }
    size_t o = xfer_from_crlf_flush(&ax, s->file_buf, sizeof s->file_buf);
    if (!write_out(fd, s->file_buf, o, werr)) {
        return DATA_ERROR;
    }
    s->xfer.bytes += o;
    return DATA_EOF;
}

/* ------------------------------------------------------------------ */
/* Listings                                                            */
/* ------------------------------------------------------------------ */

bool xfer_sink_flush(struct xfer_sink *k)
{
    if (k->len == 0) {
        return true;
    }
    k->st = xfer_send(k->s, k->s->net_buf, k->len);
    k->len = 0;
    return k->st == DATA_OK;
}

bool xfer_sink_line(void *sink, const char *line, size_t n)
{
    struct xfer_sink *k = sink;
    unsigned char *buf = k->s->net_buf;
    size_t cap = sizeof k->s->net_buf;
    if (n + 2 > cap) {
        return true; /* cannot happen: DEFS_LIST_LINE_MAX < DEFS_XFER_BUF */
    }
    if (k->len + n + 2 > cap && !xfer_sink_flush(k)) {
        return false;
    }
    memcpy(buf + k->len, line, n);
    k->len += n;
    buf[k->len++] = '\r';
    buf[k->len++] = '\n';
    k->s->xfer.bytes += n + 2;
    return true;
}

/* ------------------------------------------------------------------ */
/* Replies and progress                                                */
/* ------------------------------------------------------------------ */

void xfer_reply_failure(struct session *s, enum data_status st, const char *after)
{
    const char *tail = after ? after : "";
    switch (st) {
    case DATA_ABORTED:
        /* RFC 959 §4.1.3: 426 for the transfer, then 226 for the ABOR. */
        reply(s, FTP_TRANSFER_ABORTED, "Transfer aborted%s", tail);
        reply(s, FTP_TRANSFER_OK, "ABOR successful");
        return;
    case DATA_TRUNCATED:
        reply(s, FTP_TRANSFER_ABORTED, "Upload truncated (no TLS close_notify)%s", tail);
        return;
    case DATA_TIMEOUT:
        reply(s, FTP_TRANSFER_ABORTED, "Data connection timed out (no data for %u s)%s",
              s->pol->idle, tail);
        return;
    case DATA_OK:
    case DATA_EOF:
    case DATA_ERROR:
        break;
    }
    reply(s, FTP_TRANSFER_ABORTED, "Data connection failed (%s); transfer aborted%s",
          s->conn.why[0] ? s->conn.why : "connection lost", tail);
}

void xfer_begin(struct session *s, const char *vpath, bool upload)
{
    s->xfer.active = true;
    s->xfer.upload = upload;
    (void)sys_copy(s->xfer.vpath, sizeof s->xfer.vpath, vpath);
    s->xfer.bytes = 0;
    s->xfer.started_ms = sys_now_ms();
    xfer_pace_start(&s->xfer.pace, upload ? s->login.eff.rate_up : s->login.eff.rate_down);
}

void xfer_end(struct session *s, bool complete, bool logit)
{
    s->xfer.active = false;
    if (logit) {
        xferlog_write(s, complete);
    }
}

/* ------------------------------------------------------------------ */
/* TYPE A (pure)                                                       */
/* ------------------------------------------------------------------ */

size_t xfer_to_crlf(struct xfer_ascii *st, const unsigned char *in, size_t n, size_t *used,
                    unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = in[i];
        if (c == '\n' && !st->cr) {
            if (o + 2 > cap) {
                break;
            }
            out[o++] = '\r';
            out[o++] = '\n';
        } else {
            if (o + 1 > cap) {
                break;
            }
            out[o++] = c;
        }
        st->cr = (c == '\r');
        i++;
    }
    *used = i;
    return o;
}

size_t xfer_from_crlf(struct xfer_ascii *st, const unsigned char *in, size_t n, size_t *used,
                      unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = in[i];
        if (st->cr) {
            if (o + 1 > cap) {
                break;
            }
            st->cr = false;
            if (c == '\n') {
                out[o++] = '\n';
                i++;
                continue;
            }
            /* A bare CR is data: emit it and look at c afresh. */
            out[o++] = '\r';
            continue;
        }
        if (c == '\r') {
            st->cr = true;
            i++;
            continue;
        }
        if (o + 1 > cap) {
            break;
        }
        out[o++] = c;
        i++;
    }
    *used = i;
    return o;
}

size_t xfer_from_crlf_flush(struct xfer_ascii *st, unsigned char *out, size_t cap)
{
    if (st->cr && cap >= 1) {
        out[0] = '\r';
        st->cr = false;
        return 1;
    }
    return 0;
}
