/* Confinement of client paths (SPEC §4.2), by construction in two steps.
 *
 * 1. path_normalize() turns whatever the client sent into a virtual absolute
 *    path with no ".", "..", or empty components; ".." can never rise above
 *    "/". This step is purely lexical, so it is unit-tested and fuzzed alone.
 * 2. path_open() opens that path relative to a directory fd of the user's
 *    root. Symlinks are the one way left out of the root, so resolution
 *    itself must be confined: on Linux >= 5.6 openat2(RESOLVE_BENEATH)
 *    makes the kernel refuse any step (symlink target, "..", absolute link)
 *    that leaves the directory; where openat2 is missing (old kernels on
 *    routers) we walk component by component with O_NOFOLLOW, which refuses
 *    every symlink — stricter, never looser. Both reject magic links. */
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "defs.h"
#include "sys.h"
#include "sys_fs.h"

int path_normalize(const char *cwd, const char *arg, char *out, size_t outsz)
{
    char tmp[DEFS_PATH_MAX * 2 + 2];
    size_t alen = strnlen(arg, DEFS_PATH_MAX + 1);
    if (alen > DEFS_PATH_MAX) {
        return ENAMETOOLONG;
    }
    /* SECURITY: CR/LF in a name could forge a reply or a log line later. */
    if (memchr(arg, '\r', alen) || memchr(arg, '\n', alen)) {
        return EINVAL;
    }
    size_t pos = 0;
    if (arg[0] != '/') {
        if (!sys_append(tmp, sizeof tmp, &pos, "%s/", cwd)) {
            return ENAMETOOLONG;
        }
    }
    if (!sys_append(tmp, sizeof tmp, &pos, "%s", arg)) {
        return ENAMETOOLONG;
    }
    /* Walk components of tmp, building the result in out. */
    if (outsz < 2) {
        return ENAMETOOLONG;
    }
    size_t olen = 0;
    const char *p = tmp;
    while (*p) {
        while (*p == '/') {
            p++;
        }
        const char *start = p;
        while (*p && *p != '/') {
            p++;
        }
        size_t clen = (size_t)(p - start);
        if (clen == 0 || (clen == 1 && start[0] == '.')) {
            continue;
        }
        if (clen == 2 && start[0] == '.' && start[1] == '.') {
            /* SECURITY: ".." pops one component and stops at the root. */
            while (olen > 0 && out[olen - 1] != '/') {
                olen--;
            }
            if (olen > 0) {
                olen--;
            }
            continue;
        }
        /* NAME_MAX: the kernel would refuse it anyway, later and vaguer. */
        if (clen > 255) {
            return ENAMETOOLONG;
        }
        if (olen + 1 + clen + 1 > outsz || olen + 1 + clen > DEFS_PATH_MAX - 1) {
            return ENAMETOOLONG;
        }
        out[olen++] = '/';
        memcpy(out + olen, start, clen);
        olen += clen;
    }
    if (olen == 0) {
        out[olen++] = '/';
    }
    out[olen] = '\0';
    return 0;
}

/* The virtual path relative to the root fd: "/" is ".", "/a/b" is "a/b". */
static const char *relative(const char *vpath)
{
    while (*vpath == '/') {
        vpath++;
    }
    return *vpath ? vpath : ".";
}

/* O_NOFOLLOW alone does not refuse a symlink everywhere: with O_PATH it
 * opens the link itself (so MDTM, MLST or LIST would describe a link that
 * leaves the root), and with O_DIRECTORY it fails as ENOTDIR (so CWD would
 * not say why). Both are a symlink met on the walk: ELOOP, like any other
 * open of one. */
static int open_nofollow(int dir, const char *name, int flags, mode_t mode)
{
    struct stat st;
    int fd = sys_openat(dir, name, flags | O_NOFOLLOW, mode);
    if (fd >= 0) {
        if ((flags & O_PATH) == 0) {
            return fd;
        }
        int e = sys_fstat(fd, &st) != 0 ? errno : S_ISLNK(st.st_mode) ? ELOOP : 0;
        if (e == 0) {
            return fd;
        }
        sys_close(fd);
        errno = e;
        return -1;
    }
    int e = errno;
    if (e == ENOTDIR && sys_lstatat(dir, name, &st) == 0 && S_ISLNK(st.st_mode)) {
        e = ELOOP;
    }
    errno = e;
    return -1;
}

int path_open_walk(int root_fd, const char *vpath, int flags, mode_t mode)
{
    char comp[DEFS_PATH_MAX];
    int dir = root_fd;
    const char *p = relative(vpath);
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n >= sizeof comp) {
            if (dir != root_fd) {
                sys_close(dir);
            }
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        int fd;
        if (!slash) {
            fd = open_nofollow(dir, comp, flags, mode);
        } else {
            fd = open_nofollow(dir, comp, O_PATH | O_DIRECTORY, 0);
        }
        int saved = errno;
        if (dir != root_fd) {
            sys_close(dir);
        }
        if (fd < 0) {
            errno = saved;
            return -1;
        }
        if (!slash) {
            return fd;
        }
        dir = fd;
        p = slash + 1;
    }
}

int path_open(int root_fd, const char *vpath, int flags, mode_t mode)
{
    const char *rel = relative(vpath);
    /* Remembered: a kernel without openat2 will not grow one. */
    static bool no_openat2;
    if (!no_openat2) {
        int fd = sys_open_beneath(root_fd, rel, flags, mode);
        if (fd >= 0 || errno != ENOSYS) {
            return fd;
        }
        no_openat2 = true;
    }
    return path_open_walk(root_fd, vpath, flags, mode);
}

int path_open_parent(int root_fd, const char *vpath, char *leaf, size_t leafsz)
{
    const char *slash = strrchr(vpath, '/');
    if (!slash || slash[1] == '\0') {
        errno = EINVAL;
        return -1;
    }
    if (!sys_copy(leaf, leafsz, slash + 1)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char parent[DEFS_PATH_MAX];
    size_t plen = (size_t)(slash - vpath);
    if (plen >= sizeof parent) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(parent, vpath, plen);
    parent[plen] = '\0';
    return path_open(root_fd, plen ? parent : "/", O_PATH | O_DIRECTORY, 0);
}

bool path_is_internal(const char *leaf)
{
    return strncmp(leaf, ".ftpsd-", 7) == 0;
}
