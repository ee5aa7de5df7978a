/* Confinement of client paths to the user's root (SPEC §4.2), by
 * construction: a client path is first normalised lexically into a virtual
 * absolute path (no "..", no "//", no NUL, bounded), then opened relative
 * to a directory fd of the user's root with a resolver that never leaves it
 * (symlinks pointing outside are refused). */
#ifndef FTPSD_PATH_H
#define FTPSD_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Joins `arg` (absolute or relative to `cwd`, a virtual path starting with
 * '/') and normalises it: "." and empty components dropped, ".." pops one
 * component and never rises above "/". Writes "/..." into out. Returns 0, or
 * ENAMETOOLONG (longer than outsz or PATH_MAX), EINVAL (NUL, CR or LF). */
int path_normalize(const char *cwd, const char *arg, char *out, size_t outsz);

/* openat(2) of a normalised virtual path beneath root_fd, refusing any
 * resolution that escapes it (symlinks included): -1 with errno (EXDEV or
 * ELOOP for an escape attempt). "/" opens root_fd's directory itself. */
int path_open(int root_fd, const char *vpath, int flags, mode_t mode);

/* What path_open does where openat2 is missing (Linux < 5.6: router
 * kernels up to OpenWrt 21.02; Debian 12's qemu-user 7.2): a walk with
 * O_NOFOLLOW that refuses every symlink with ELOOP, whatever the flags.
 * Exposed so that the unit tests cover it on kernels that have openat2. */
int path_open_walk(int root_fd, const char *vpath, int flags, mode_t mode);

/* Opens the parent directory of vpath beneath root_fd and copies the last
 * component into leaf. -1 with errno; EINVAL for "/" (no parent). */
int path_open_parent(int root_fd, const char *vpath, char *leaf, size_t leafsz);

/* True if the component is one the server hides and protects (atomic upload
 * temporaries ".ftpsd-*"). */
bool path_is_internal(const char *leaf);

#endif
