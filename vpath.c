/* Client path arguments (include/vpath.h). Every file command turns its
 * argument into a virtual path here and gets the replies for every way a
 * path can be refused from here, so the rules — the bound, the characters,
 * the reserved upload temporaries, the texts of SPEC §5 — are written once.
 * Opening beneath the user's root is path.c's job; this file only decides
 * what to open and what to say when it fails. */
#include "vpath.h"

#include <errno.h>
#include <string.h>

#include "codes.h"
#include "ctrl.h"
#include "log.h"
#include "path.h"
#include "session.h"
#include "sys.h"
#include "sys_fs.h"

const char *vpath_errtext(int e)
{
    switch (e) {
    case ENOENT:
        return "No such file or directory";
    case EACCES:
    case EPERM:
        return "Permission denied";
    case EXDEV:
        return "Permission denied (the path leads outside your root)";
    case ELOOP:
        return "Refused: a symbolic link (leading outside your root, or where none may be)";
    case ENOTDIR:
        return "Not a directory";
    case EISDIR:
        return "Is a directory";
    case EEXIST:
        return "File exists";
    case ENOTEMPTY:
        return "Directory not empty";
    case ENOSPC:
        return "No space left on device";
    case EDQUOT:
        return "Disk quota exceeded";
    case ENAMETOOLONG:
        return "File name too long";
    case EROFS:
        return "Read-only file system";
    case EBUSY:
        return "Busy (in use)";
    case ENXIO:
        return "Not a plain file";
    default:
        return strerror(e);
    }
}

void vpath_fail(struct session *s, const char *verb, const char *shown, const char *vpath, int e)
{
    if (e == EXDEV || e == ELOOP) {
        warn("SECURITY: %s %s refused: resolves outside the root or through a symlink", verb,
             vpath);
    }
    reply(s, FTP_FILE_UNAVAIL, "%s: %s", shown, vpath_errtext(e));
}

/* True if any component of vpath is an atomic-upload temporary. */
static bool through_internal(const char *vpath)
{
    char comp[NAME_MAX + 1];
    const char *p = vpath;
    while (*p) {
        while (*p == '/') {
            p++;
        }
        size_t n = 0;
        while (*p && *p != '/') {
            /* Only the prefix matters: a longer component is cut. */
            if (n + 1 < sizeof comp) {
                comp[n++] = *p;
            }
            p++;
        }
        comp[n] = '\0';
        if (n > 0 && path_is_internal(comp)) {
            return true;
        }
    }
    return false;
}

bool vpath_resolve(struct session *s, const char *arg, char *vpath, size_t sz, bool creating)
{
    int e = path_normalize(s->login.cwd, arg, vpath, sz);
    if (e == ENAMETOOLONG) {
        reply(s, FTP_BAD_NAME, "Path too long (limit %d bytes, 255 per name)", DEFS_PATH_MAX - 1);
        return false;
    }
    if (e != 0) {
        reply(s, FTP_SYNTAX_ARG, "Invalid character in path");
        return false;
    }
    /* SECURITY: temporaries of uploads in progress are neither readable,
     * listable, deletable nor creatable by name: nobody can read a
     * half-written file, rename it into place early, or plant one. */
    if (through_internal(vpath)) {
        info("refused a path through an upload temporary: %s", vpath);
        if (creating) {
            reply(s, FTP_BAD_NAME, "%s: Names starting with .ftpsd- are reserved", arg);
        } else {
            reply(s, FTP_FILE_UNAVAIL, "%s: No such file or directory", arg);
        }
        return false;
    }
    return true;
}

bool vpath_open_parent(struct session *s, const char *verb, const char *arg, bool creating,
                       struct vpath_target *t)
{
    t->dirfd = -1;
    t->shown = arg;
    t->leaf[0] = '\0';
    if (!vpath_resolve(s, arg, t->vpath, sizeof t->vpath, creating)) {
        return false;
    }
    t->dirfd = path_open_parent(s->login.root_fd, t->vpath, t->leaf, sizeof t->leaf);
    if (t->dirfd < 0) {
        int e = errno;
        if (e == EINVAL) {
            reply(s, FTP_FILE_UNAVAIL, "%s: Not allowed on your root directory", arg);
        } else {
            vpath_fail(s, verb, arg, t->vpath, e);
        }
        return false;
    }
    return true;
}

bool vpath_stat(struct session *s, const char *verb, const char *arg, char *vpath, size_t sz,
                struct stat *st)
{
    if (!vpath_resolve(s, arg, vpath, sz, false)) {
        return false;
    }
    int fd = path_open(s->login.root_fd, vpath, O_PATH, 0);
    if (fd < 0 || sys_fstat(fd, st) != 0) {
        int e = errno;
        sys_closep(&fd);
        vpath_fail(s, verb, vpath_shown(arg, vpath), vpath, e);
        return false;
    }
    sys_closep(&fd);
    return true;
}

const char *vpath_shown(const char *arg, const char *vpath)
{
    return arg[0] ? arg : vpath;
}

const char *vpath_leaf(const char *vpath)
{
    const char *l = vpath;
    for (const char *p = vpath; *p; p++) {
        if (*p == '/' && p[1]) {
            l = p + 1;
        }
    }
    return l;
}

void vpath_quote(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 2 < cap; i++) {
        if (in[i] == '"') {
            out[o++] = '"';
        }
        out[o++] = in[i];
    }
    out[o] = '\0';
}
