/* Files and directories (include/sys_fs.h): the one file that makes file
 * system calls. Confinement of client paths is path.c's job, on top of
 * these; what is here is the contact with the kernel, done once. */
#include "sys_fs.h"

#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Toolchains without kernel headers (musl-gcc, some router SDKs) still get
 * openat2: struct open_how and the RESOLVE_ bits are kernel ABI
 * (include/uapi/linux/openat2.h, Linux 5.6). */
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_LINUX_OPENAT2_H 1
#endif
#endif
#ifndef HAVE_LINUX_OPENAT2_H
struct open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_BENEATH 0x08
#endif

int sys_openat(int dirfd, const char *name, int flags, mode_t mode)
{
    int fd;
    do {
        fd = openat(dirfd, name, flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

int sys_open(const char *path, int flags, mode_t mode)
{
    return sys_openat(AT_FDCWD, path, flags, mode);
}

int sys_open_owned(const char *path, int flags, mode_t mode)
{
    /* O_TRUNC waits until the file is known to be ours: truncating first
     * would destroy whatever a planted hard link points at. O_NONBLOCK: a
     * FIFO planted in the path must not hang us before fstat refuses it. */
    int fd = sys_open(path, (flags & ~O_TRUNC) | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, mode);
    if (fd < 0) {
        return -1;
    }
    struct stat st;
    int e = 0;
    if (fstat(fd, &st) != 0) {
        e = errno;
    } else if (!S_ISREG(st.st_mode)) {
        e = EINVAL;
    } else if (st.st_uid != geteuid()) {
        e = EPERM;
    } else if (st.st_nlink != 1) {
        e = EMLINK;
    } else if ((st.st_mode & 07777 & ~mode) != 0 && fchmod(fd, st.st_mode & mode & 07777) != 0) {
        e = errno;
    } else if ((flags & O_TRUNC) != 0 && sys_ftruncate(fd, 0) != 0) {
        e = errno;
    } else if (!sys_set_nonblock(fd, false)) {
        e = errno;
    }
    if (e != 0) {
        (void)close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

const char *sys_open_owned_error(int e)
{
    switch (e) {
    case ELOOP:
        return "is a symlink (refusing to follow it)";
    case EINVAL:
        return "is not a regular file";
    case EPERM:
        return "must be a regular file owned by the user ftpsd starts as (it is not)";
    case EMLINK:
        return "has other hard links (one of them could be somebody else's file)";
    default:
        return strerror(e);
    }
}

int sys_open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
#ifdef SYS_openat2
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd;
    do {
        fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
    } while (fd < 0 && errno == EINTR);
    return (int)fd;
#else
    (void)dirfd, (void)name, (void)flags, (void)mode;
    errno = ENOSYS;
    return -1;
#endif
}

int sys_fstat(int fd, struct stat *st)
{
    return fstat(fd, st);
}

int sys_lstatat(int dirfd, const char *name, struct stat *st)
{
    return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW);
}

int sys_stat(const char *path, struct stat *st)
{
    return stat(path, st);
}

ssize_t sys_pread(int fd, void *buf, size_t n, off_t off)
{
    ssize_t r;
    do {
        r = pread(fd, buf, n, off);
    } while (r < 0 && errno == EINTR);
    return r;
}

int sys_fchmod(int fd, mode_t mode)
{
    return fchmod(fd, mode);
}

int sys_set_mtime(int fd, const struct timespec *mtime)
{
    const struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, *mtime};
    return futimens(fd, times);
}

int sys_fsync(int fd)
{
    int r;
    do {
        r = fsync(fd);
    } while (r < 0 && errno == EINTR);
    return r;
}

int sys_ftruncate(int fd, off_t len)
{
    int r;
    do {
        r = ftruncate(fd, len);
    } while (r < 0 && errno == EINTR);
    return r;
}

off_t sys_lseek_set(int fd, off_t off)
{
    return lseek(fd, off, SEEK_SET);
}

int sys_unlinkat(int dirfd, const char *name, bool dir)
{
    return unlinkat(dirfd, name, dir ? AT_REMOVEDIR : 0);
}

int sys_mkdirat(int dirfd, const char *name, mode_t mode)
{
    return mkdirat(dirfd, name, mode);
}

int sys_renameat(int fromdir, const char *from, int todir, const char *to)
{
    return renameat(fromdir, from, todir, to);
}

int sys_linkat(int fromdir, const char *from, int todir, const char *to)
{
    return linkat(fromdir, from, todir, to, 0);
}

int sys_rename_noreplace(int fromdir, const char *from, int todir, const char *to)
{
#ifdef SYS_renameat2
    /* 1 is RENAME_NOREPLACE (include/uapi/linux/fs.h), kernel ABI. */
    return (int)syscall(SYS_renameat2, fromdir, from, todir, to, 1U);
#else
    (void)fromdir, (void)from, (void)todir, (void)to;
    errno = ENOSYS;
    return -1;
#endif
}

ssize_t sys_readlinkat(int dirfd, const char *name, char *buf, size_t n)
{
    if (n == 0) {
        errno = EINVAL;
        return -1;
    }
    ssize_t r = readlinkat(dirfd, name, buf, n - 1);
    if (r >= 0) {
        buf[r] = '\0';
    }
    return r;
}

bool sys_readable(const char *path)
{
    return access(path, R_OK) == 0;
}

DIR *sys_opendir_fd(int fd)
{
    return fdopendir(fd);
}

const char *sys_readdir(DIR *d, int *err)
{
    errno = 0;
    struct dirent *de = readdir(d);
    *err = de ? 0 : errno;
    return de ? de->d_name : NULL;
}

int sys_closedir(DIR *d)
{
    return closedir(d) == 0 ? 0 : errno;
}

bool sys_lock_byte(int fd, off_t off)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1};
    int r;
    do {
        r = fcntl(fd, F_SETLK, &fl);
    } while (r != 0 && errno == EINTR);
    return r == 0;
}

int sys_mkdir(const char *path, mode_t mode)
{
    return mkdir(path, mode);
}
