/* Files and directories, behind the wall of the sys family (STYLE.md habit
 * 1): every file system call of the program is made in sys_fs.c. Paths
 * relative to a directory fd are the rule (client paths are confined by
 * path.c on top of these); every fd is opened close-on-exec, and EINTR is
 * retried where the call can return it. Failures are -1 (or false, or NULL)
 * with errno kept for the caller's message. */
#ifndef FTPSD_SYS_FS_H
#define FTPSD_SYS_FS_H

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* openat(2) with O_CLOEXEC added. */
int sys_openat(int dirfd, const char *name, int flags, mode_t mode);
/* open(2) of a host path with O_CLOEXEC added (files named in the policy). */
int sys_open(const char *path, int flags, mode_t mode);
/* The one rule for every file ftpsd creates or writes before it drops root
 * (keylog, xferlog, --gen-cert's key and certificate): opened without
 * following a symlink; it must be a regular file owned by the account we run
 * as, with no other hard link; its mode is narrowed to at most `mode`; only
 * then is it truncated (O_TRUNC in flags). SECURITY: a file somebody else
 * planted (say in /tmp) or linked to must never receive a secret or be
 * truncated. -1 with errno: ELOOP, EINVAL (not regular), EPERM (owner),
 * EMLINK (hard links), or the open's. */
int sys_open_owned(const char *path, int flags, mode_t mode);
/* Words for sys_open_owned's errno values, for messages. */
const char *sys_open_owned_error(int e);
/* openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS and O_CLOEXEC:
 * -1 with ENOSYS where the kernel or the C library lacks it. */
int sys_open_beneath(int dirfd, const char *name, int flags, mode_t mode);

int sys_fstat(int fd, struct stat *st);
/* fstatat(2) without following a final symlink. */
int sys_lstatat(int dirfd, const char *name, struct stat *st);
/* stat(2) of a host path. */
int sys_stat(const char *path, struct stat *st);
ssize_t sys_pread(int fd, void *buf, size_t n, off_t off);
int sys_fchmod(int fd, mode_t mode);
/* Sets the modification time of what fd is open on, leaving the access
 * time alone (utimensat(2) on the fd itself: no path to follow). */
int sys_set_mtime(int fd, const struct timespec *mtime);
int sys_fsync(int fd);
int sys_ftruncate(int fd, off_t len);
off_t sys_lseek_set(int fd, off_t off);
int sys_unlinkat(int dirfd, const char *name, bool dir);
int sys_mkdirat(int dirfd, const char *name, mode_t mode);
int sys_renameat(int fromdir, const char *from, int todir, const char *to);
int sys_linkat(int fromdir, const char *from, int todir, const char *to);
/* renameat2(RENAME_NOREPLACE) by system call: glibc < 2.28 and musl < 1.2.5
 * lack the wrapper. -1 with ENOSYS or EINVAL where the kernel or the file
 * system cannot; callers fall back. */
int sys_rename_noreplace(int fromdir, const char *from, int todir, const char *to);
/* readlinkat(2) into buf (size n), NUL-terminated; -1 with errno. */
ssize_t sys_readlinkat(int dirfd, const char *name, char *buf, size_t n);
/* access(2) R_OK of a host path (for messages about unreadable files). */
bool sys_readable(const char *path);

/* A write lock on one byte of fd, without waiting (fcntl F_SETLK): true if
 * taken; false with errno (EAGAIN, EACCES: another process holds it). The
 * kernel drops it when the process ends, however it ends, and when the
 * process closes any fd of the file. */
bool sys_lock_byte(int fd, off_t off);
/* mkdir(2) of a host path. */
int sys_mkdir(const char *path, mode_t mode);

/* Directory streams over an fd that the stream then owns. */
DIR *sys_opendir_fd(int fd);
/* The next entry's name; NULL at the end (*err = 0) or on error (*err set). */
const char *sys_readdir(DIR *d, int *err);
/* Closes the stream and its fd; 0 or an errno value. */
int sys_closedir(DIR *d);

#endif
