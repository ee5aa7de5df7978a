/* What of a client's bytes may be shown to a terminal or written to a log
 * (SECURITY: a name or argument echoed in a reply, a listing or a log line
 * must not carry controls that forge lines or rewrite what is shown). */
#ifndef FTPSD_TEXT_H
#define FTPSD_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Makes text safe to show, in place: C0 controls and DEL, C1 controls (raw
 * or UTF-8), bidi controls and line separators each become one '?'. With
 * `strict` every byte that is not part of valid UTF-8 becomes '?' too (log
 * lines); without, other non-UTF-8 bytes stay (a Latin-1 name must stay
 * addressable by what LIST shows). Returns the new length (never longer;
 * NUL-terminated when shorter). Pure (unit-tested, fuzzed). */
size_t text_sanitize(char *text, size_t n, bool strict);

#endif
