/* Pure helpers of the transfer path (data.c), kept free of I/O so they are
 * unit-tested on their own: TYPE A conversion that works across buffer
 * boundaries, the wu-ftpd xferlog line, and the names of atomic-upload
 * temporaries. */
#ifndef FTPSD_XFER_H
#define FTPSD_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "defs.h"

/* Limits of the data channel that only data.c and files.c use. */
/* Pending connections on a passive socket: room for a wrong peer's attempt
 * (closed unread) without dropping the right one. */
#define XFER_LISTEN_BACKLOG 4
/* Tries to find a free atomic-upload temporary or STOU name. */
#define XFER_NAME_TRIES 32
/* Seconds an orderly data close waits for the client's close_notify/FIN. */
#define XFER_CLOSE_TIMEOUT 10
/* Polls in a row that found control input the control reader did not
 * consume before the transfer stops watching it (a spin guard). */
#define XFER_CTRL_STUCK_MAX 1000
/* A directory listing line (name + symlink target + facts). */
#define XFER_LINE_MAX (DEFS_PATH_MAX + 512)

/* TYPE A conversion state. `cr` is a CR seen last that decides the meaning
 * of the next byte, possibly in the next buffer. */
struct xfer_ascii {
    bool cr;
};

/* Download direction, LF -> CRLF (an LF already preceded by CR is left
 * alone, so CRLF files are not doubled). Converts from in[0..n) into out
 * (cap >= 2), stopping when out is full; *used says how much of in was
 * consumed. Returns the bytes written to out. */
size_t xfer_to_crlf(struct xfer_ascii *st, const unsigned char *in, size_t n, size_t *used,
                    unsigned char *out, size_t cap);

/* Upload direction, CRLF -> LF (a bare CR is kept). A CR at the end of one
 * buffer is held until the next byte is known. Same contract as above
 * (cap >= 2). */
size_t xfer_from_crlf(struct xfer_ascii *st, const unsigned char *in, size_t n, size_t *used,
                      unsigned char *out, size_t cap);
/* At the end of an upload: writes a held CR (0 or 1 byte) into out. */
size_t xfer_from_crlf_flush(struct xfer_ascii *st, unsigned char *out, size_t cap);

/* One transfer for the xferlog. */
struct xfer_record {
    time_t end;          /* wall-clock time of the end (local time zone) */
    uint64_t seconds;    /* duration, at least 1 as wu-ftpd writes it */
    const char *peer;    /* remote IP */
    uint64_t bytes;
    const char *path;    /* as the admin sees it (root-joined virtual path) */
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
 * the length, 0 if it did not fit. */
size_t xfer_log_format(char *out, size_t cap, const struct xfer_record *r);

/* Fills name (>= 14 bytes) with ".ftpsd-XXXXXX" from 6 random bytes. */
void xfer_temp_name(char *name, size_t cap, const unsigned char rnd[6]);

#endif
