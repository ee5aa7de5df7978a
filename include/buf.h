/* A bounded output buffer over caller storage (STYLE.md habit 2): every
 * append is length-checked once, here; overflow is remembered, never
 * written past. Replies and listing lines are assembled in it. */
#ifndef FTPSD_BUF_H
#define FTPSD_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct obuf {
    char *data;
    size_t cap;
    size_t len;
    bool overflow;
};

void buf_init(struct obuf *b, char *storage, size_t cap);
/* Appends n bytes; on overflow appends nothing and sets b->overflow. */
bool buf_put(struct obuf *b, const void *p, size_t n);
bool buf_puts(struct obuf *b, const char *s);
bool buf_printf(struct obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool buf_vprintf(struct obuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends reply text made safe for one reply line: CR, LF and NUL become
 * '?' (an echoed argument cannot forge a line) and 0xFF is doubled (telnet
 * IAC, RFC 959 §4.2 via RFC 854). */
bool buf_put_reply_text(struct obuf *b, const char *s, size_t n);
void buf_reset(struct obuf *b);

#endif
