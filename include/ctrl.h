/* The control connection: one bounded line reader written to RFC 959 (STYLE
 * habit 4) and the reply writer. ctrl.c alone chooses plain or TLS I/O. */
#ifndef FTPSD_CTRL_H
#define FTPSD_CTRL_H

#include <stdbool.h>
#include <stddef.h>

#include "defs.h"

struct session;

/* Pure line reassembly, unit-tested and fuzzed on its own. */
struct linereader {
    char buf[DEFS_LINE_MAX];
    size_t len;
    bool discarding; /* inside an over-long line, dropping to the next LF */
};

enum lr_result {
    LR_LINE,      /* a complete line was copied out (CR/LF stripped) */
    LR_NEED_MORE, /* no complete line buffered */
    LR_TOO_LONG,  /* a line longer than DEFS_LINE_MAX was dropped: answer 500 */
    LR_BAD_CHAR,  /* a line with NUL or a bare CR was dropped: answer 500 */
};

void lr_init(struct linereader *lr);
/* Appends up to n bytes; returns how many fit (the rest must be fed after
 * lines are taken). */
size_t lr_feed(struct linereader *lr, const char *data, size_t n);
/* Takes the next line into out (cap >= DEFS_LINE_MAX). Telnet IAC sequences
 * are removed (IAC IAC is a literal 0xFF). */
enum lr_result lr_next(struct linereader *lr, char *out, size_t cap);
/* Drops everything buffered (after AUTH: CVE-2011-1575). */
void lr_clear(struct linereader *lr);
/* True if a complete line (or an over-long one) is waiting. */
bool lr_has_line(const struct linereader *lr);

enum ctrl_result {
    CTRL_LINE,
    CTRL_TOO_LONG,
    CTRL_BAD_CHAR,
    CTRL_EOF, /* client closed (or TLS close_notify) */
    CTRL_TIMEOUT,
    CTRL_ERROR, /* I/O or TLS error: the session cannot go on */
};

/* Reads the next command line within timeout_ms (-1: none). */
enum ctrl_result ctrl_read_line(struct session *s, char *out, size_t cap, int timeout_ms);
/* True if a line can be read without waiting on the socket. */
bool ctrl_buffered(struct session *s);
/* The fd to poll for control input. */
int ctrl_poll_fd(const struct session *s);

/* One-line reply "CODE text". CR, LF and NUL in the text are escaped and
 * 0xFF doubled, so an argument echoed back cannot forge a reply line. */
void reply(struct session *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Multi-line reply: reply_start("CODE-text"), reply_more(" text"), then
 * reply() for the last line. Sent as one write when it fits. */
void reply_start(struct session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reply_more(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line "CODE-text" sent at once: the keep-alive of a command that
 * takes long (HASH of a big file), whose reply() ends with the same code. */
void reply_progress(struct session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* False once a write failed: the session must end. */
bool ctrl_ok(const struct session *s);

#endif
