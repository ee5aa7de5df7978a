/* Bounded buffers (STYLE.md habit 2). The only place where lengths of
 * assembled output are added up; callers get a sticky overflow flag instead
 * of a truncated write somewhere in the middle. */
#include "buf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

void buf_init(struct obuf *b, char *storage, size_t cap)
{
    if (!storage || cap == 0) {
        bug("buf_init without storage");
    }
    b->data = storage;
    b->cap = cap;
    b->len = 0;
    b->overflow = false;
    b->data[0] = '\0';
}

void buf_reset(struct obuf *b)
{
    b->len = 0;
    b->overflow = false;
    b->data[0] = '\0';
}

bool buf_put(struct obuf *b, const void *p, size_t n)
{
    if (b->len > b->cap) {
        bug("obuf length %zu past capacity %zu", b->len, b->cap);
    }
    /* Keep one byte for the terminating NUL so data is always a string. */
    if (n >= b->cap - b->len) {
        b->overflow = true;
        return false;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool buf_puts(struct obuf *b, const char *s)
{
    return buf_put(b, s, strlen(s));
}

bool buf_vprintf(struct obuf *b, const char *fmt, va_list ap)
{
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->data + b->len, room, fmt, ap);
    if (n < 0 || (size_t)n >= room) {
        b->data[b->len] = '\0';
        b->overflow = true;
        return false;
    }
    b->len += (size_t)n;
    return true;
}

bool buf_printf(struct obuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return ok;
}

bool buf_put_reply_text(struct obuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok;
        if (c == '\r' || c == '\n' || c == '\0') {
            ok = buf_put(b, "?", 1);
        } else if (c == 0xff) {
            ok = buf_put(b, "\xff\xff", 2);
        } else {
            ok = buf_put(b, &s[i], 1);
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}
