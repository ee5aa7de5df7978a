/* The transfer engine (STYLE.md habit 11): moves the bytes of one transfer
 * over the open data connection (s->conn) through one poll loop that also
 * watches the control connection, so ABOR and STAT are served while bytes
 * move (through the session's during_xfer callback) and a stalled peer runs
 * into the policy's idle limit instead of hanging the session. Data passes
 * through the session's two fixed buffers, one per direction; TYPE A is
 * converted on the way, across buffer boundaries. Nothing here grows with
 * the size of a file or a directory. */
#ifndef FTPSD_XFER_H
#define FTPSD_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct session;

/* How a data operation ended. */
enum data_status {
    DATA_OK,        /* all bytes moved */
    DATA_EOF,       /* (receive) clean end: FIN in the clear, close_notify under TLS */
    DATA_ABORTED,   /* ABOR arrived on the control connection */
    DATA_TRUNCATED, /* (receive, TLS) the peer closed TCP without close_notify */
    DATA_TIMEOUT,   /* no progress for the policy's idle limit */
    DATA_ERROR,     /* I/O or TLS error (peer reset, alert, ...): s->conn.why says which */
};

/* The rate limit of one transfer (rate=, vsftpd's local_max_rate): when
 * the next bytes may move and how many. Integer arithmetic only (routers
 * have no FPU); pure, unit-tested. The transfer engine asks before every
 * write or read and waits in its poll loop, so ABOR and STAT are served
 * while a transfer is held back, and no time is spent spinning. */
struct xfer_pace {
    uint64_t rate;     /* bytes per second, 0 = no limit */
    bool started;      /* the first byte was due: origin_ms is set */
    int64_t origin_ms; /* the schedule counts from here... */
    uint64_t bytes;    /* ... and this many bytes have moved since */
};
/* A new schedule at `rate` bytes per second (0: none). */
void xfer_pace_start(struct xfer_pace *p, uint64_t rate);
/* The time (sys_now_ms scale) from which more bytes may move: the bytes
 * moved so far at the rate, counted from the first call. A transfer
 * further behind than DEFS_RATE_BURST_MS loses the excess, so a peer that
 * stalled cannot make up for it in one burst. No limit: now. */
int64_t xfer_pace_due(struct xfer_pace *p, int64_t now);
/* The most the next write or read may move: want, cut to
 * DEFS_RATE_SLICE_MS worth of the rate (at least 1 byte). */
size_t xfer_pace_slice(const struct xfer_pace *p, size_t want);
/* Counts n bytes moved. */
void xfer_pace_moved(struct xfer_pace *p, size_t n);

/* Waits for `events` (POLLIN/POLLOUT) on fd until `deadline` (sys_now_ms
 * time), serving control commands meanwhile; fd -1 only sleeps (serving
 * them). Returns 1 ready, 0 deadline
 * passed, -1 with *st set (DATA_ABORTED, or DATA_ERROR with s->conn.why). */
int xfer_wait(struct session *s, int fd, short events, int64_t deadline, enum data_status *st);

/* Writes all n bytes (n <= DEFS_XFER_BUF: one TLS record). */
enum data_status xfer_send(struct session *s, const void *buf, size_t n);
/* Reads up to cap bytes (*got > 0 with DATA_OK); DATA_EOF at a clean end. */
enum data_status xfer_recv(struct session *s, void *buf, size_t cap, size_t *got);

/* A download of fd from `off` to its end: sendfile(2) for clear binary
 * transfers, else through the session's buffers (TYPE A converted). A read
 * error of the file sets *ferr and returns DATA_ERROR. */
enum data_status xfer_send_file(struct session *s, int fd, off_t off, int *ferr);
/* An upload into fd until the peer's clean end (DATA_EOF), TYPE A
 * converted. A write error sets *werr and returns DATA_ERROR. */
enum data_status xfer_recv_file(struct session *s, int fd, int *werr);

/* Listing lines collected in the session's network buffer and sent whenever
 * the next would not fit. `st` is the first failure. */
struct xfer_sink {
    struct session *s;
    size_t len;
    enum data_status st;
};
/* A list_emit_fn: appends line + CRLF; false once sending failed. */
bool xfer_sink_line(void *sink, const char *line, size_t n);
/* Sends what is collected; false on failure (sink->st says why). */
bool xfer_sink_flush(struct xfer_sink *k);

/* The failure reply for a status: 426 with a text saying why (and `after`,
 * e.g. "; nothing was stored", if not NULL); for DATA_ABORTED the RFC 959
 * pair "426 Transfer aborted" then "226 ABOR successful". */
void xfer_reply_failure(struct session *s, enum data_status st, const char *after);

/* Progress of the transfer, for STAT during it and the xferlog after it;
 * the user's rate= for its direction starts its pace. */
void xfer_begin(struct session *s, const char *vpath, bool upload);
/* Ends it; with `logit` one xferlog line (complete or not). */
void xfer_end(struct session *s, bool complete, bool logit);

/* TYPE A conversion state. `cr` is a CR seen last that decides the meaning
 * of the next byte, possibly in the next buffer. */
struct xfer_ascii {
    bool cr;
};

/* Download direction, LF -> CRLF (an LF already preceded by CR is left
 * alone, so CRLF files are not doubled). Converts from in[0..n) into out
 * (cap >= 2), stopping when out is full; *used says how much of in was
 * consumed. Returns the bytes written to out. Pure (unit-tested, fuzzed). */
size_t xfer_to_crlf(struct xfer_ascii *st, const unsigned char *in, size_t n, size_t *used,
                    unsigned char *out, size_t cap);
/* Upload direction, CRLF -> LF (a bare CR is kept). A CR at the end of one
 * buffer is held until the next byte is known. Same contract as above. */
size_t xfer_from_crlf(struct xfer_ascii *st, const unsigned char *in, size_t n, size_t *used,
                      unsigned char *out, size_t cap);
/* At the end of an upload: writes a held CR (0 or 1 byte) into out. */
size_t xfer_from_crlf_flush(struct xfer_ascii *st, unsigned char *out, size_t cap);

#endif
