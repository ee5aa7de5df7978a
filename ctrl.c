/* The control connection (STYLE.md habit 4). One reader reassembles lines
 * from arbitrary reads (split, pipelined), bounds them at DEFS_LINE_MAX,
 * and refuses the bytes that could make this server and a middlebox see
 * different command boundaries (NUL, bare CR). One writer formats replies,
 * escaping anything an echoed argument could use to forge a reply line.
 * This file alone decides whether control I/O goes through TLS. */
#include "ctrl.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "buf.h"
#include "text.h"
#include "log.h"
#include "session.h"
#include "sys.h"
#include "tls.h"

#define IAC 0xff

void lr_init(struct linereader *lr)
{
    lr->len = 0;
    lr->discarding = false;
}

void lr_clear(struct linereader *lr)
{
    lr_init(lr);
}

size_t lr_feed(struct linereader *lr, const char *data, size_t n)
{
    size_t room = sizeof lr->buf - lr->len;
    if (n > room) {
        n = room;
    }
    memcpy(lr->buf + lr->len, data, n);
    lr->len += n;
    return n;
}

bool lr_has_line(const struct linereader *lr)
{
    return memchr(lr->buf, '\n', lr->len) != NULL || lr->len == sizeof lr->buf;
}

static void lr_consume(struct linereader *lr, size_t n)
{
    memmove(lr->buf, lr->buf + n, lr->len - n);
    lr->len -= n;
}

enum lr_result lr_next(struct linereader *lr, char *out, size_t cap)
{
    for (;;) {
        char *lf = memchr(lr->buf, '\n', lr->len);
        if (!lf) {
            if (lr->len < sizeof lr->buf) {
                return LR_NEED_MORE;
            }
            /* SECURITY: a line that does not fit is dropped whole, to its
             * LF, so its tail is never taken for a command of its own. */
            bool first = !lr->discarding;
            lr->len = 0;
            lr->discarding = true;
            if (first) {
                return LR_TOO_LONG;
            }
            continue;
        }
        size_t linelen = (size_t)(lf - lr->buf);
        if (lr->discarding) {
            lr_consume(lr, linelen + 1);
            lr->discarding = false;
            continue;
        }
        if (cap < sizeof lr->buf) {
            bug("lr_next output buffer %zu < %zu", cap, sizeof lr->buf);
        }
        const unsigned char *in = (const unsigned char *)lr->buf;
        size_t end = linelen;
        if (end > 0 && in[end - 1] == '\r') {
            end--;
        }
        size_t o = 0;
        enum lr_result res = LR_LINE;
        for (size_t i = 0; i < end; i++) {
            unsigned char c = in[i];
            if (c == IAC && i + 1 < end) {
                unsigned char cmd = in[i + 1];
                if (cmd == IAC) {
                    out[o++] = (char)IAC;
                    i++;
                } else if (cmd >= 251 && cmd <= 254) {
                    i += (i + 2 < end) ? 2 : 1; /* WILL/WONT/DO/DONT option */
                } else {
                    i++; /* IP, DM, AO, ... carry no data */
                }
                continue;
            }
            /* SECURITY: NUL would cut the line short for C string code, and
             * a bare CR is a line end to some middleboxes: either could let
             * a client smuggle a command past one of us. */
            if (c == '\0' || c == '\r') {
                res = LR_BAD_CHAR;
                break;
            }
            out[o++] = (char)c;
        }
        out[res == LR_LINE ? o : 0] = '\0';
        lr_consume(lr, linelen + 1);
        return res;
    }
}

/* ---- I/O on the session's control connection ---- */

int ctrl_poll_fd(const struct session *s)
{
    return s->ctrl_rfd;
}

bool ctrl_buffered(struct session *s)
{
    return lr_has_line(&s->lr) || (s->ctrl_tls && tls_pending(s->ctrl_tls));
}

bool ctrl_ok(const struct session *s)
{
    return !s->ctrl_failed;
}

/* Reads what is available into the line reader. */
static enum ctrl_result ctrl_fill(struct session *s, int timeout_ms)
{
    char tmp[DEFS_LINE_MAX];
    size_t room = sizeof s->lr.buf - s->lr.len;
    if (room > sizeof tmp) {
        room = sizeof tmp;
    }
    if (room == 0) {
        return CTRL_LINE;
    }
    ssize_t n;
    if (s->ctrl_tls) {
        n = tls_read(s->ctrl_tls, tmp, room, timeout_ms);
        if (n == TLS_IO_TIMEOUT) {
            return CTRL_TIMEOUT;
        }
        if (n == 0 || n == TLS_IO_TRUNCATED) {
            return CTRL_EOF;
        }
        if (n < 0) {
            return CTRL_ERROR;
        }
    } else {
        int w = sys_wait_fd(s->ctrl_rfd, false, timeout_ms);
        if (w == 0) {
            return CTRL_TIMEOUT;
        }
        if (w < 0) {
            return CTRL_ERROR;
        }
        n = sys_read(s->ctrl_rfd, tmp, room);
        if (n == 0) {
            return CTRL_EOF;
        }
        if (n < 0) {
            return errno == ECONNRESET ? CTRL_EOF : CTRL_ERROR;
        }
    }
    (void)lr_feed(&s->lr, tmp, (size_t)n);
    return CTRL_LINE;
}

enum ctrl_result ctrl_read_line(struct session *s, char *out, size_t cap, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : sys_now_ms() + timeout_ms;
    bool polled = false;
    /* Bounded: each pass either returns or consumes input that a read
     * supplied; the deadline bounds the waiting. A zero timeout (the
     * transfer loop asking "anything there?") still reads once. */
    for (;;) {
        switch (lr_next(&s->lr, out, cap)) {
        case LR_LINE:
            return CTRL_LINE;
        case LR_TOO_LONG:
            return CTRL_TOO_LONG;
        case LR_BAD_CHAR:
            return CTRL_BAD_CHAR;
        case LR_NEED_MORE:
            break;
        }
        int left = -1;
        if (deadline >= 0) {
            int64_t d = deadline - sys_now_ms();
            if (d <= 0) {
                if (polled) {
                    return CTRL_TIMEOUT;
                }
                d = 0;
            }
            left = (int)d;
        }
        polled = true;
        enum ctrl_result r = ctrl_fill(s, left);
        if (r != CTRL_LINE) {
            return r;
        }
    }
}

/* How long a reply may take to leave: what is left of the login grace
 * before login, the idle limit after it. */
static int write_timeout(const struct session *s)
{
    if (s->login.logged_in) {
        return (int)s->pol->idle * 1000;
    }
    int64_t left = s->login_deadline_ms - sys_now_ms();
    return left > 0 ? (int)left : 0;
}

static bool ctrl_send(struct session *s, const char *p, size_t n)
{
    if (s->ctrl_failed) {
        return false;
    }
    /* SECURITY: a client that sends commands and reads no reply must not
     * hold the session (and a super-server slot) past its deadline. */
    int timeout = write_timeout(s);
    bool ok, late;
    if (s->ctrl_tls) {
        ssize_t w = tls_write(s->ctrl_tls, p, n, timeout);
        ok = w == (ssize_t)n;
        late = w == TLS_IO_TIMEOUT;
    } else {
        ok = sys_write_all(s->ctrl_wfd, p, n, timeout);
        late = !ok && errno == ETIMEDOUT;
    }
    if (!ok) {
        s->ctrl_failed = true;
        if (late && !s->end_reason) {
            s->end_reason = s->login.logged_in
                                ? "the client did not read our replies within the idle limit"
                                : "the client did not read our replies within the login grace";
        }
    }
    return ok;
}

/* Replies are assembled in the session's reply buffer and sent with one
 * write per reply. */
static void flush_out(struct session *s)
{
    struct obuf *out = &s->reply_buf;
    if (out->len > 0) {
        (void)ctrl_send(s, out->data, out->len);
    }
    buf_reset(out);
}

/* Appends one reply line; a line longer than DEFS_REPLY_MAX is cut (the
 * text is ours, never the client's alone). */
static void add_line(struct session *s, int code, char sep, const char *fmt, va_list ap)
{
    char text[DEFS_REPLY_MAX];
    int n = vsnprintf(text, sizeof text - 8, fmt, ap);
    if (n < 0) {
        n = 0;
        text[0] = '\0';
    }
    size_t len = (size_t)n < sizeof text - 8 ? (size_t)n : sizeof text - 9;
    /* SECURITY: an echoed argument (a path, a name) must not bring control
     * bytes to the client's terminal. */
    len = text_sanitize(text, len, false);
    struct obuf *out = &s->reply_buf;
    /* Escaping can double the length: flush first if it might not fit. */
    if (out->cap - out->len < 2 * len + 16) {
        flush_out(s);
    }
    if (code > 0) {
        (void)buf_printf(out, "%03d%c", code, sep);
    } else {
        (void)buf_puts(out, " ");
    }
    (void)buf_put_reply_text(out, text, len);
    (void)buf_puts(out, "\r\n");
    if (out->overflow) {
        bug("reply buffer overflow");
    }
}

void reply(struct session *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(s, code, ' ', fmt, ap);
    va_end(ap);
    flush_out(s);
}

void reply_start(struct session *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(s, code, '-', fmt, ap);
    va_end(ap);
}

void reply_progress(struct session *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(s, code, '-', fmt, ap);
    va_end(ap);
    flush_out(s);
}

void reply_more(struct session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(s, 0, ' ', fmt, ap);
    va_end(ap);
}
