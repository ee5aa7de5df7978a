/* Directory listings (SPEC §4.4): LIST (ls -l style), NLST (names) and
 * MLSD/MLST (RFC 3659 facts). A directory is streamed entry by entry from
 * readdir() to an emit callback, never collected or sorted in memory, so a
 * directory of a million files costs one line buffer. The formatters are
 * pure functions, unit-tested on their own. */
#ifndef FTPSD_LIST_H
#define FTPSD_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

enum list_kind {
    LIST_LONG,  /* LIST, STAT PATH: "drwxr-xr-x 1 ftp ftp 4096 Nov 26 23:22 name" */
    LIST_NAMES, /* NLST: "name" */
    LIST_FACTS, /* MLSD/MLST: "type=file;size=1;modify=...;perm=...;unique=...; name" */
};

struct list_opts {
    enum list_kind kind;
    bool all;        /* LIST/NLST -a: show dot files (never "." "..", never temporaries) */
    bool at_root;    /* the directory is the user's root: MLSD shows no pdir */
    uint32_t access; /* the user's POL_ACC_* bits, for the perm fact */
    time_t now;      /* wall clock, for ls's recent/old date format */
};

/* Receives one line without CRLF; returning false stops the listing. */
typedef bool list_emit_fn(void *ctx, const char *line, size_t len);

/* "drwxr-xr-x" (10 characters and NUL). */
void list_mode_string(mode_t mode, char out[11]);

/* YYYYMMDDHHMMSS in UTC (RFC 3659 time-val); false if t cannot be shown. */
bool list_format_time(char out[15], time_t t);

/* Parses an RFC 3659 time-val, "YYYYMMDDHHMMSS" with an optional "."
 * and 1 to 9 digits of fraction, in UTC (MFMT, draft-somers-ftp-mfxx):
 * the whole string or nothing. Years 1000-9999, real calendar dates, no
 * leap second, and only times this system's time_t holds. Pure: no time
 * zone, no libc date function. */
bool list_parse_time(const char *s, struct timespec *out);

/* One ls -l line. Owner and group are shown as "ftp": no uid is leaked and
 * no getpwuid() is needed inside the chroot. `link` (may be NULL) is shown as
 * "name -> link". CR and LF in names become '?' so a name cannot add lines.
 * Returns the length, 0 if it did not fit. */
size_t list_format_long(char *out, size_t cap, const struct stat *st, const char *name,
                        const char *link, time_t now);

/* One RFC 3659 fact line "type=...;...; name". `type` overrides the type
 * fact (cdir/pdir), NULL derives it from st. Returns length, 0 if too long. */
size_t list_format_facts(char *out, size_t cap, const struct stat *st, const char *type,
                         uint32_t access, const char *name);

/* The perm fact for an object of this mode under these access letters. */
void list_perm_fact(mode_t mode, uint32_t access, char *out, size_t cap);

/* Formats and emits one object (LIST of a file, MLST, STAT of a file). */
bool list_one(const struct stat *st, const char *name, const char *link, const struct list_opts *o,
              list_emit_fn *emit, void *ctx);

/* Streams the entries of a directory opened O_RDONLY|O_DIRECTORY. Takes
 * ownership of dirfd. Atomic-upload temporaries are never shown. Returns 0,
 * ECANCELED if emit stopped it, or the errno of a failed read. */
int list_dir(int dirfd, const struct list_opts *o, list_emit_fn *emit, void *ctx);

/* Skips ls-style options before the path ("-la dir" -> "dir") and reports
 * -a. A word that is not all letters after '-' is taken as the path. */
const char *list_parse_options(const char *arg, bool *all);

#endif
