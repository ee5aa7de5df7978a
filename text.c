/* Text that came from a client, made safe to show (include/text.h). The
 * ground floor: calls nothing, so the log, the reply writer and the
 * listings can all use it. */
#include "text.h"

#include <stdint.h>
#include <string.h>

/* The length of the valid UTF-8 sequence (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF) at s[0..n), with its code point; 0 if s does
 * not start one. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1fu, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0fu, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return len;
}

/* Code points that change how a terminal or a log viewer shows the rest of
 * a line: C1 controls (U+0085 NEL, U+009B CSI), the bidi marks, embeddings,
 * overrides and isolates, and the line and paragraph separators. */
static bool cp_hidden(uint32_t cp)
{
    return cp <= 0x9f || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
           cp == 0x2029;
}

size_t text_sanitize(char *text, size_t n, bool strict)
{
    unsigned char *s = (unsigned char *)text;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            s[o++] = (c < 0x20 || c == 0x7f) ? '?' : c;
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_seq(s + i, n - i, &cp);
        if (len > 0) {
            if (cp_hidden(cp)) {
                s[o++] = '?';
            } else {
                memmove(s + o, s + i, len);
                o += len;
            }
            i += len;
            continue;
        }
        /* Not UTF-8: a raw C1 byte is a control to 8-bit terminals; other
         * bytes (a Latin-1 name) stay, unless the text must be UTF-8. */
        s[o++] = (strict || c <= 0x9f) ? '?' : c;
        i++;
    }
    if (o < n) {
        s[o] = '\0';
    }
    return o;
}
