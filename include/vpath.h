/* Client path arguments on their way from the wire to an fd beneath the
 * user's root (SPEC §4.2). Every file command resolves its argument here:
 * lexical normalisation against the current directory (path.c), the rule
 * that upload temporaries are never reachable by name, and the replies for
 * each way a path can be refused. Handlers then open what they need
 * relative to the fds this module hands them, never with a plain open(). */
#ifndef FTPSD_VPATH_H
#define FTPSD_VPATH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "defs.h"

struct session;

/* Normalises `arg` against the session's cwd into vpath (size sz). Refused
 * (reply sent, false): too long (553), CR/LF/NUL (501), or a path through an
 * upload temporary (550, or 553 when `creating` a name). */
bool vpath_resolve(struct session *s, const char *arg, char *vpath, size_t sz, bool creating);

/* A client-named object with its parent directory open. */
struct vpath_target {
    char vpath[DEFS_PATH_MAX];
    char leaf[NAME_MAX + 1]; /* the last component, opened relative to dirfd */
    int dirfd;               /* the parent (O_PATH), or -1 */
    const char *shown;       /* the name as the client sent it, for replies */
};

/* vpath_resolve, then opens the parent directory beneath the user's root.
 * False (reply sent, t->dirfd == -1) on any refusal. The caller closes
 * t->dirfd. `verb` names the command in log lines. */
bool vpath_open_parent(struct session *s, const char *verb, const char *arg, bool creating,
                       struct vpath_target *t);

/* vpath_resolve, then fstat of what the path names (symlinks inside the root
 * followed). False (reply sent) on error. */
bool vpath_stat(struct session *s, const char *verb, const char *arg, char *vpath, size_t sz,
                struct stat *st);

/* 550 "NAME: reason" for an errno a file command met; escapes from the root
 * are logged as SECURITY lines. */
void vpath_fail(struct session *s, const char *verb, const char *shown, const char *vpath, int e);

/* The text for an errno, in words that say what happened (SPEC §5). */
const char *vpath_errtext(int e);

/* The name to show for an argument: itself, or the path it resolved to when
 * the client sent none. */
const char *vpath_shown(const char *arg, const char *vpath);

/* The last component of a virtual path ("/" for the root). */
const char *vpath_leaf(const char *vpath);

/* A path for a 257 reply, each '"' doubled (RFC 959 Appendix II). */
void vpath_quote(const char *in, char *out, size_t cap);

#endif
