/* The wu-ftpd xferlog (policy `xferlog`): one line per transfer, written
 * with one write(2) on an O_APPEND fd opened before chroot, so lines of
 * concurrent sessions never interleave and log tools that read wu-ftpd's
 * format read ours. */
#ifndef FTPSD_XFERLOG_H
#define FTPSD_XFERLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct session;

/* One transfer for the xferlog. */
struct xferlog_record {
    time_t end;       /* wall-clock time of the end (local time zone) */
    uint64_t seconds; /* duration, at least 1 as wu-ftpd writes it */
    const char *peer; /* remote IP */
    uint64_t bytes;
    const char *path; /* as the admin sees it (root-joined virtual path) */
    bool ascii;
    bool upload;
    bool anonymous;
    const char *user;
    bool complete;
};

/* Formats the wu-ftpd xferlog line, LF-terminated:
 *   "Thu Nov 26 23:22:19 2026 1 10.0.0.2 1234 /x b _ o r alice ftp 0 * c"
 * Blanks and control bytes in path and user become '_' (SECURITY: a file
 * name must not split the line or add fields a log parser trusts). Returns
 * the length, 0 if it did not fit. Pure (unit-tested). */
size_t xferlog_format(char *out, size_t cap, const struct xferlog_record *r);

/* Writes the line for the session's current transfer (s->xfer), if the
 * policy has an xferlog. A failure is a warning, never a failed transfer. */
void xferlog_write(struct session *s, bool complete);

#endif
