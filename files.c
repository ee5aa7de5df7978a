/* Transfers and file system commands (SPEC §3, §4.2, §5). Every client
 * path goes through ftp_vpath() (lexical normalisation against cwd) and then
 * path_open()/path_open_parent() beneath the user's root fd: nothing here
 * opens a client path with a plain open(). Final components are opened with
 * O_NOFOLLOW relative to their parent directory fd, so a symlink can never
 * redirect a write, a delete or a chmod.
 *
 * Uploads under `upload atomic` go to a hidden temporary ".ftpsd-XXXXXX"
 * in the target's directory and are renamed over the target only after the
 * last byte, the client's TLS close_notify and a successful fsync; any
 * failure removes the temporary, so an interrupted upload never looks
 * complete. APPE and REST+STOR write in place. Access letters beyond the
 * dispatcher's single-letter gate are checked here: overwriting needs w+d,
 * resuming needs a.
 *
 * Data moves through two fixed static buffers (network side and file side,
 * DEFS_XFER_BUF each, the second only for TYPE A conversion) and the poll
 * loop of data.c, which serves ABOR and STAT meanwhile. Directory listings
 * are streamed by list.c into the network buffer, flushed whenever full. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "data.h"
#include "defs.h"
#include "list.h"
#include "log.h"
#include "path.h"
#include "policy.h"
#include "session.h"
#include "sys.h"
#include "xfer.h"

/* One buffer per direction of the data path (STYLE.md habit 11): what the
 * network sends or received, and what the file gives or takes after TYPE A
 * conversion. Static: a session runs one transfer at a time. */
static unsigned char net_buf[DEFS_XFER_BUF];
static unsigned char file_buf[DEFS_XFER_BUF];

/* sendfile(2) chunk for clear binary downloads (no copy through net_buf). */
#define SENDFILE_CHUNK (1024 * 1024)
/* Names tried by STOU after the one asked for: base.1 ... base.N. */
#define STOU_MAX_SUFFIX 999

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void xclose(int fd)
{
    if (fd >= 0 && close(fd) != 0) {
        debug("close: %s", strerror(errno));
    }
}

/* Texts that say what happened (SPEC §5), for the errors clients cause. */
static const char *errtext(int e)
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

/* 550 "NAME: reason" with the name as the client sent it. */
static void fail_path(struct session *s, const char *verb, const char *shown, const char *vpath,
                      int e)
{
    if (e == EXDEV || e == ELOOP) {
        warn("SECURITY: %s %s refused: resolves outside the root or through a symlink", verb,
             vpath);
    }
    reply(s, FTP_FILE_UNAVAIL, "%s: %s", shown, errtext(e));
}

/* True if any component of vpath is an atomic-upload temporary. */
static bool vpath_internal(const char *vpath)
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

/* ftp_vpath() plus the temporaries rule. False (reply sent) if refused. */
static bool resolve(struct session *s, const char *arg, char *vpath, size_t sz, bool creating)
{
    if (!ftp_vpath(s, arg, vpath, sz)) {
        return false;
    }
    /* SECURITY: temporaries of uploads in progress are neither readable,
     * listable, deletable nor creatable by name: nobody can read a
     * half-written file, rename it into place early, or plant one. */
    if (vpath_internal(vpath)) {
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

static const char *shown_name(const char *arg, const char *vpath)
{
    return arg[0] ? arg : vpath;
}

/* The last component of a virtual path ("/" for the root). */
static const char *vleaf(const char *vpath)
{
    const char *l = vpath;
    for (const char *p = vpath; *p; p++) {
        if (*p == '/' && p[1]) {
            l = p + 1;
        }
    }
    return l;
}

/* Opens the parent of vpath; on failure replies and returns -1. */
static int open_parent(struct session *s, const char *verb, const char *shown, const char *vpath,
                       char *leaf, size_t leafsz)
{
    int dirfd = path_open_parent(s->root_fd, vpath, leaf, leafsz);
    if (dirfd < 0) {
        int e = errno;
        if (e == EINVAL) {
            reply(s, FTP_FILE_UNAVAIL, "%s: Not allowed on your root directory", shown);
        } else {
            fail_path(s, verb, shown, vpath, e);
        }
    }
    return dirfd;
}

static void xfer_begin(struct session *s, const char *vpath, bool upload)
{
    s->xfer.active = true;
    s->xfer.upload = upload;
    (void)sys_copy(s->xfer.vpath, sizeof s->xfer.vpath, vpath);
    s->xfer.bytes = 0;
    s->xfer.started_ms = sys_now_ms();
}

/* Ends a file transfer: one xferlog line (one write(2), O_APPEND, so lines
 * of concurrent sessions never interleave). */
static void xfer_end(struct session *s, bool complete, bool logit)
{
    s->xfer.active = false;
    if (!logit || s->xferlog_fd < 0) {
        return;
    }
    char peer[INET6_ADDRSTRLEN + 8];
    if (!sys_addr_str((const struct sockaddr *)&s->peer_addr, s->peer_len, peer, sizeof peer,
                      false)) {
        (void)sys_copy(peer, sizeof peer, "?");
    }
    /* The admin's view of the file: the user's root inside the chroot. */
    char path[DEFS_PATH_MAX * 2];
    const char *root = s->eff.root ? s->eff.root : "/";
    bool root_is_slash = root[0] == '/' && root[1] == '\0';
    bool vpath_is_slash = s->xfer.vpath[0] == '/' && s->xfer.vpath[1] == '\0';
    if (!sys_fmt(path, sizeof path, "%s%s", root_is_slash ? "" : root,
                 (vpath_is_slash && !root_is_slash) ? "" : s->xfer.vpath)) {
        (void)sys_copy(path, sizeof path, s->xfer.vpath);
    }
    int64_t ms = sys_now_ms() - s->xfer.started_ms;
    struct xfer_record r = {
        .end = time(NULL),
        .seconds = (uint64_t)((ms + 500) / 1000),
        .peer = peer,
        .bytes = s->xfer.bytes,
        .path = path,
        .ascii = s->type_ascii,
        .upload = s->xfer.upload,
        .anonymous = s->user && s->user->anonymous,
        .user = s->username,
        .complete = complete,
    };
    char line[DEFS_PATH_MAX * 2 + 512];
    size_t n = xfer_log_format(line, sizeof line, &r);
    if (n == 0) {
        warn("xferlog: line for %s too long; not written", path);
        return;
    }
    ssize_t w;
    do {
        w = write(s->xferlog_fd, line, n);
    } while (w < 0 && errno == EINTR);
    if (w != (ssize_t)n) {
        warn("xferlog: write failed: %s", w < 0 ? strerror(errno) : "short write");
    }
}

/* Reply for a failed local write (SPEC §3: out of space is 452, never a
 * success). `what` says what became of the data. */
static void reply_write_error(struct session *s, const char *shown, int e, const char *what)
{
    if (e == ENOSPC || e == EDQUOT) {
        reply(s, FTP_NO_SPACE, "%s while storing %s: %s; free some space and try again",
              e == ENOSPC ? "Out of disk space" : "Disk quota exceeded", shown, what);
    } else if (e == EFBIG) {
        reply(s, FTP_EXCEEDED, "%s: File too large for this file system; %s", shown, what);
    } else {
        reply(s, FTP_LOCAL_ERROR, "Write error on %s (%s); %s", shown, strerror(e), what);
    }
}

static bool set_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && ((fl & O_NONBLOCK) == 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0);
}

/* ------------------------------------------------------------------ */
/* REST, RETR                                                          */
/* ------------------------------------------------------------------ */

void cmd_rest(struct session *s, const char *arg)
{
    uint64_t v;
    /* SECURITY: strict number (no sign, no blanks, no overflow) and at most
     * the largest off_t, so the offset can never wrap negative. */
    if (!pol_parse_number(arg, 10, 0, INT64_MAX, &v)) {
        s->rest = 0;
        reply(s, FTP_SYNTAX_ARG, "REST needs a byte offset (a decimal number)");
        return;
    }
    s->rest = v;
    reply(s, FTP_PENDING, "Restarting at %llu. Send STOR or RETR to resume", (unsigned long long)v);
}

static enum data_status send_ascii(struct session *s, struct data_conn *dc, int fd, off_t off,
                                   int *ferr)
{
    struct xfer_ascii ax = {0};
    size_t olen = 0;
    for (;;) {
        ssize_t n = pread(fd, file_buf, sizeof file_buf, off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            *ferr = errno;
            return DATA_ERROR;
        }
        if (n == 0) {
            break;
        }
        off += n;
        size_t i = 0;
        while (i < (size_t)n) {
            size_t used;
            olen += xfer_to_crlf(&ax, file_buf + i, (size_t)n - i, &used, net_buf + olen,
                                 sizeof net_buf - olen);
            i += used;
            if (i < (size_t)n) {
                /* net_buf is full: send it as one whole record. */
                enum data_status st = data_send(s, dc, net_buf, olen);
                if (st != DATA_OK) {
                    return st;
                }
                olen = 0;
            }
        }
        s->xfer.bytes += (uint64_t)n;
    }
    return olen ? data_send(s, dc, net_buf, olen) : DATA_OK;
}

static enum data_status send_binary(struct session *s, struct data_conn *dc, int fd, off_t off,
                                    int *ferr)
{
    if (!data_is_tls(dc)) {
        /* Clear: the kernel copies file to socket without our buffer. */
        for (;;) {
            size_t sent;
            enum data_status st = data_sendfile(s, dc, fd, &off, SENDFILE_CHUNK, &sent);
            if (st != DATA_OK || sent == 0) {
                return st;
            }
            s->xfer.bytes += sent;
        }
    }
    for (;;) {
        ssize_t n = pread(fd, net_buf, sizeof net_buf, off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            *ferr = errno;
            return DATA_ERROR;
        }
        if (n == 0) {
            return DATA_OK;
        }
        off += n;
        enum data_status st = data_send(s, dc, net_buf, (size_t)n);
        if (st != DATA_OK) {
            return st;
        }
        s->xfer.bytes += (uint64_t)n;
    }
}

void cmd_retr(struct session *s, const char *arg)
{
    uint64_t rest = s->rest;
    s->rest = 0;
    char vpath[DEFS_PATH_MAX];
    if (!resolve(s, arg, vpath, sizeof vpath, false)) {
        return;
    }
    /* O_NONBLOCK: opening a FIFO must not hang the session. */
    int fd = path_open(s->root_fd, vpath, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0) {
        fail_path(s, "RETR", arg, vpath, errno);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        xclose(fd);
        fail_path(s, "RETR", arg, vpath, e);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        xclose(fd);
        reply(s, FTP_FILE_UNAVAIL, "%s: %s", arg,
              S_ISDIR(st.st_mode) ? "Is a directory; use LIST or MLSD" : "Not a plain file");
        return;
    }
    if (!set_blocking(fd)) {
        int e = errno;
        xclose(fd);
        fail_path(s, "RETR", arg, vpath, e);
        return;
    }
    if (rest > (uint64_t)st.st_size) {
        xclose(fd);
        reply(s, FTP_BAD_REST, "REST offset %llu is beyond the end of %s (%llu bytes)",
              (unsigned long long)rest, arg, (unsigned long long)st.st_size);
        return;
    }
    if (!data_prepared(s)) {
        xclose(fd);
        reply(s, FTP_CANT_OPEN_DATA, "Use PASV or EPSV (or PORT/EPRT) first");
        return;
    }
    reply(s, FTP_DATA_OPENING, "Opening %s mode data connection for %s (%llu bytes)",
          s->type_ascii ? "ASCII" : "BINARY", arg, (unsigned long long)st.st_size);
    xfer_begin(s, vpath, false);
    struct data_conn *dc = data_open(s);
    if (!dc) {
        xclose(fd);
        xfer_end(s, false, false);
        return;
    }
    int ferr = 0;
    enum data_status ds = s->type_ascii ? send_ascii(s, dc, fd, (off_t)rest, &ferr)
                                        : send_binary(s, dc, fd, (off_t)rest, &ferr);
    xclose(fd);
    if (ds == DATA_OK) {
        if (!data_close(s, dc)) {
            debug("RETR %s: the client did not finish the close exchange", vpath);
        }
        xfer_end(s, true, true);
        reply(s, FTP_TRANSFER_OK, "Transfer complete (%llu bytes)",
              (unsigned long long)s->xfer.bytes);
        return;
    }
    data_abandon(s, dc);
    xfer_end(s, false, true);
    if (ferr) {
        err("RETR %s: read error: %s", vpath, strerror(ferr));
        reply(s, FTP_LOCAL_ERROR, "Read error on %s (%s); transfer aborted", arg, strerror(ferr));
        return;
    }
    info("RETR %s incomplete after %llu bytes", vpath, (unsigned long long)s->xfer.bytes);
    data_reply_failure(s, ds, NULL);
}

/* ------------------------------------------------------------------ */
/* Uploads: STOR, APPE, STOU                                           */
/* ------------------------------------------------------------------ */

enum up_mode {
    UP_ATOMIC, /* temporary, then rename over the target */
    UP_DIRECT, /* `upload direct`: in place, truncated */
    UP_APPEND, /* APPE: in place, at the end */
    UP_RESUME, /* REST+STOR: in place, at the offset */
};

struct upload {
    enum up_mode mode;
    int dirfd;               /* the target's directory (O_PATH) */
    char leaf[NAME_MAX + 1]; /* the target's name in it */
    char temp[32];           /* UP_ATOMIC: the temporary's name */
    int fd;
    bool created;            /* UP_DIRECT: the file did not exist before */
    bool noreplace;          /* the final rename must not replace a file */
    const char *shown;       /* name for replies */
    char vpath[DEFS_PATH_MAX];
};

/* A fresh temporary ".ftpsd-XXXXXX" beside the target: O_EXCL with a
 * random name, bounded retries. */
static int make_temp(struct session *s, struct upload *u)
{
    mode_t mode = 0666 & ~s->pol->umask;
    for (int i = 0; i < XFER_NAME_TRIES; i++) {
        unsigned char rnd[6];
        if (!sys_random(rnd, sizeof rnd)) {
            errno = EIO;
            return -1;
        }
        xfer_temp_name(u->temp, sizeof u->temp, rnd);
        int fd = openat(u->dirfd, u->temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        mode);
        if (fd >= 0) {
            /* The process umask may differ from the policy's. */
            if (fchmod(fd, mode) != 0) {
                debug("fchmod %s: %s", u->temp, strerror(errno));
            }
            sys_term_cleanup(u->dirfd, u->temp);
            return fd;
        }
        if (errno != EEXIST) {
            u->temp[0] = '\0';
            return -1;
        }
    }
    u->temp[0] = '\0';
    errno = EEXIST;
    return -1;
}

/* Opens the file an upload writes to, per mode. -1 with errno. */
static int open_upload(struct session *s, struct upload *u, uint64_t rest, bool may_create)
{
    mode_t mode = 0666 & ~s->pol->umask;
    int fd;
    switch (u->mode) {
    case UP_ATOMIC:
        return make_temp(s, u);
    case UP_DIRECT:
        fd = openat(u->dirfd, u->leaf,
                    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
                        (u->noreplace ? O_EXCL : 0),
                    mode);
        break;
    case UP_APPEND:
        fd = openat(u->dirfd, u->leaf,
                    O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
                        (may_create ? O_CREAT : 0),
                    mode);
        break;
    case UP_RESUME:
    default:
        fd = openat(u->dirfd, u->leaf, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        break;
    }
    if (fd < 0) {
        return -1;
    }
    struct stat st;
    /* SECURITY: what was opened must be a plain file (a FIFO or device
     * planted between the check and the open is refused). */
    int e = 0;
    if (fstat(fd, &st) != 0) {
        e = errno;
    } else if (!S_ISREG(st.st_mode)) {
        e = ENXIO;
    } else if (!set_blocking(fd)) {
        e = errno;
    }
    if (e != 0) {
        xclose(fd);
        errno = e;
        return -1;
    }
    if (u->mode == UP_DIRECT && u->created && fchmod(fd, mode) != 0) {
        debug("fchmod %s: %s", u->leaf, strerror(errno));
    }
    if (u->mode == UP_RESUME) {
        /* Data past the offset would otherwise survive behind the new tail. */
        if (((uint64_t)st.st_size > rest && ftruncate(fd, (off_t)rest) != 0) ||
            lseek(fd, (off_t)rest, SEEK_SET) < 0) {
            e = errno;
            xclose(fd);
            errno = e;
            return -1;
        }
    }
    return fd;
}

/* Moves the temporary onto the target. With noreplace an existing target
 * is kept (the user may not delete it, or STOU promised a new name). */
static int publish_atomic(struct upload *u)
{
    if (u->noreplace) {
        if (sys_rename_noreplace(u->dirfd, u->temp, u->dirfd, u->leaf) == 0) {
            return 0;
        }
        if (errno != EINVAL && errno != ENOSYS) {
            return errno;
        }
        /* A file system without RENAME_NOREPLACE: link() refuses an
         * existing name just the same. */
        if (linkat(u->dirfd, u->temp, u->dirfd, u->leaf, 0) != 0) {
            return errno;
        }
        if (unlinkat(u->dirfd, u->temp, 0) != 0) {
            warn("removing %s after linking it: %s", u->temp, strerror(errno));
        }
        return 0;
    }
    if (renameat(u->dirfd, u->temp, u->dirfd, u->leaf) != 0) {
        return errno;
    }
    return 0;
}

/* After the rename: make the new directory entry durable too. */
static void sync_dir(int dirfd)
{
    int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) {
        debug("open directory for fsync: %s", strerror(errno));
        return;
    }
    if (fsync(d) != 0) {
        warn("fsync of the directory: %s", strerror(errno));
    }
    xclose(d);
}

/* Removes what a failed upload must not leave behind; returns what the
 * client is told became of the data. */
static const char *discard_upload(struct upload *u, int werr)
{
    switch (u->mode) {
    case UP_ATOMIC:
        if (u->temp[0] && unlinkat(u->dirfd, u->temp, 0) != 0 && errno != ENOENT) {
            err("cannot remove temporary %s: %s", u->temp, strerror(errno));
        }
        u->temp[0] = '\0';
        return "nothing was stored";
    case UP_DIRECT:
        if (werr == ENOSPC || werr == EDQUOT) {
            if (unlinkat(u->dirfd, u->leaf, 0) != 0) {
                err("cannot remove partial %s: %s", u->leaf, strerror(errno));
            }
            return "the partial file was removed";
        }
        return "the file is incomplete";
    case UP_APPEND:
    case UP_RESUME:
    default:
        return "the file keeps what was written";
    }
}

/* Reads the data connection to its end into u->fd. *werr is set on a
 * local write error. */
static enum data_status receive(struct session *s, struct data_conn *dc, int fd, int *werr)
{
    struct xfer_ascii ax = {0};
    for (;;) {
        size_t got;
        enum data_status st = data_recv(s, dc, net_buf, sizeof net_buf, &got);
        if (st == DATA_EOF) {
            break;
        }
        if (st != DATA_OK) {
            return st;
        }
        if (!s->type_ascii) {
            if (!sys_write_all(fd, net_buf, got)) {
                *werr = errno ? errno : EIO;
                return DATA_ERROR;
            }
            s->xfer.bytes += got;
            continue;
        }
        size_t i = 0;
        while (i < got) {
            size_t used;
            size_t o = xfer_from_crlf(&ax, net_buf + i, got - i, &used, file_buf, sizeof file_buf);
            i += used;
            if (!sys_write_all(fd, file_buf, o)) {
                *werr = errno ? errno : EIO;
                return DATA_ERROR;
            }
            s->xfer.bytes += o;
        }
    }
    size_t o = xfer_from_crlf_flush(&ax, file_buf, sizeof file_buf);
    if (o && !sys_write_all(fd, file_buf, o)) {
        *werr = errno ? errno : EIO;
        return DATA_ERROR;
    }
    s->xfer.bytes += o;
    return DATA_EOF;
}

/* The common part of every upload, from the 150 reply on. u->fd is open.
 * `opening` is the 150 text. Consumes u->fd and u->dirfd. */
static void run_upload(struct session *s, struct upload *u, const char *opening)
{
    reply(s, FTP_DATA_OPENING, "%s", opening);
    xfer_begin(s, u->vpath, true);
    struct data_conn *dc = data_open(s);
    if (!dc) {
        xclose(u->fd);
        if (u->mode == UP_ATOMIC) {
            (void)discard_upload(u, 0);
        } else if (u->mode == UP_DIRECT && u->created && unlinkat(u->dirfd, u->leaf, 0) != 0) {
            /* Not a byte arrived: the empty file we made is not left. */
            debug("removing the empty %s: %s", u->leaf, strerror(errno));
        }
        xfer_end(s, false, false);
        xclose(u->dirfd);
        return;
    }
    int werr = 0;
    enum data_status st = receive(s, dc, u->fd, &werr);
    if (st == DATA_EOF) {
        /* Complete on the wire (under TLS: close_notify came). Our own
         * close_notify goes back before the disk work. */
        if (!data_close(s, dc)) {
            debug("STOR %s: our close_notify was not delivered", u->vpath);
        }
        /* SECURITY (SPEC §3): a write, fsync or close error is never
         * answered 226 — data the disk did not take is not "stored". */
        if (fsync(u->fd) != 0) {
            werr = errno;
        }
        if (close(u->fd) != 0 && werr == 0) {
            werr = errno;
        }
        u->fd = -1;
        int perr = 0;
        if (werr == 0 && u->mode == UP_ATOMIC) {
            perr = publish_atomic(u);
            if (perr == 0) {
                u->temp[0] = '\0';
                sync_dir(u->dirfd);
            }
        }
        if (werr == 0 && perr == 0) {
            xfer_end(s, true, true);
            info("stored %s (%llu bytes)", u->vpath, (unsigned long long)s->xfer.bytes);
            reply(s, FTP_TRANSFER_OK, "Transfer complete (%llu bytes)",
                  (unsigned long long)s->xfer.bytes);
            xclose(u->dirfd);
            return;
        }
        const char *what = discard_upload(u, werr ? werr : perr);
        xfer_end(s, false, true);
        if (werr) {
            err("STOR %s: %s", u->vpath, strerror(werr));
            reply_write_error(s, u->shown, werr, what);
        } else if (perr == EEXIST) {
            reply(s, FTP_FILE_UNAVAIL, "%s: File exists (created meanwhile by someone else); %s",
                  u->shown, what);
        } else {
            err("STOR %s: rename into place: %s", u->vpath, strerror(perr));
            reply(s, FTP_LOCAL_ERROR, "%s: cannot put the file in place (%s); %s", u->shown,
                  strerror(perr), what);
        }
        xclose(u->dirfd);
        return;
    }
    /* Failure: close the data connection first (the client stops
     * sending), then clean up, and only then answer, so that a client
     * looking right after the reply sees no partial file. */
    data_abandon(s, dc);
    xclose(u->fd);
    u->fd = -1;
    const char *what = discard_upload(u, werr);
    xfer_end(s, false, true);
    info("upload of %s failed after %llu bytes (%s)", u->vpath, (unsigned long long)s->xfer.bytes,
         werr ? strerror(werr) : "data connection");
    if (werr) {
        reply_write_error(s, u->shown, werr, what);
    } else {
        char tail[64];
        (void)sys_fmt(tail, sizeof tail, "; %s", what);
        data_reply_failure(s, st, tail);
    }
    xclose(u->dirfd);
}

/* STOR and APPE: the access rules of SPEC §5, then run_upload. */
static void store(struct session *s, const char *arg, bool appe)
{
    const char *verb = appe ? "APPE" : "STOR";
    /* REST applies to STOR only; APPE always appends. */
    uint64_t rest = appe ? 0 : s->rest;
    s->rest = 0;
    static struct upload u;
    u = (struct upload){.fd = -1, .dirfd = -1, .shown = arg};
    if (!resolve(s, arg, u.vpath, sizeof u.vpath, true)) {
        return;
    }
    u.dirfd = open_parent(s, verb, arg, u.vpath, u.leaf, sizeof u.leaf);
    if (u.dirfd < 0) {
        return;
    }
    struct stat st;
    bool exists = fstatat(u.dirfd, u.leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT) {
        fail_path(s, verb, arg, u.vpath, errno);
        xclose(u.dirfd);
        return;
    }
    uint32_t acc = s->eff.access;
    const char *refusal = NULL;
    int code = FTP_FILE_UNAVAIL;
    if (exists && S_ISDIR(st.st_mode)) {
        refusal = "Is a directory";
    } else if (exists && S_ISLNK(st.st_mode)) {
        /* SECURITY: a write through a symlink could land on a file the
         * user may not overwrite, or (direct mode) outside the root. */
        refusal = "Refused: a symbolic link; remove it first";
    } else if (exists && !S_ISREG(st.st_mode)) {
        refusal = "Not a plain file";
    } else if (appe) {
        u.mode = UP_APPEND;
        if (!exists && !(acc & POL_ACC_WRITE)) {
            refusal = "Permission denied (APPE of a new file needs the 'w' right)";
        }
    } else if (rest > 0) {
        /* SPEC §5: a resume needs 'a'; rewriting existing bytes before the
         * end is an overwrite and needs 'w' and 'd' as well. */
        u.mode = UP_RESUME;
        if (!(acc & POL_ACC_APPEND)) {
            refusal = "Permission denied (resuming an upload needs the 'a' right)";
        } else if (!exists) {
            refusal = "No such file or directory (nothing to resume; send STOR without REST)";
        } else if (rest > (uint64_t)st.st_size) {
            code = FTP_BAD_REST;
            refusal = "REST offset is beyond the end of the file";
        } else if (rest < (uint64_t)st.st_size &&
                   !((acc & POL_ACC_WRITE) && (acc & POL_ACC_DELETE))) {
            refusal = "Permission denied (a REST offset before the end overwrites data: needs "
                      "the 'w' and 'd' rights)";
        }
    } else {
        u.mode = s->pol->upload_atomic ? UP_ATOMIC : UP_DIRECT;
        /* SPEC §5: overwriting an existing file needs 'w' and 'd'. */
        if (exists && !(acc & POL_ACC_DELETE)) {
            refusal = "Permission denied (overwriting needs the 'd' right)";
        }
        /* Without 'd' a file appearing meanwhile must not be replaced. */
        u.noreplace = !(acc & POL_ACC_DELETE);
        u.created = !exists;
    }
    if (refusal) {
        info("%s %s refused: %s", verb, u.vpath, refusal);
        reply(s, code, "%s: %s", arg, refusal);
        xclose(u.dirfd);
        return;
    }
    if (!data_prepared(s)) {
        reply(s, FTP_CANT_OPEN_DATA, "Use PASV or EPSV (or PORT/EPRT) first");
        xclose(u.dirfd);
        return;
    }
    u.fd = open_upload(s, &u, rest, (acc & POL_ACC_WRITE) != 0);
    if (u.fd < 0) {
        int e = errno;
        if (e == ENOSPC || e == EDQUOT) {
            reply_write_error(s, arg, e, "nothing was stored");
        } else {
            fail_path(s, verb, arg, u.vpath, e);
        }
        xclose(u.dirfd);
        return;
    }
    char opening[DEFS_PATH_MAX + 96];
    (void)sys_fmt(opening, sizeof opening, "Opening %s mode data connection for %s%s",
                  s->type_ascii ? "ASCII" : "BINARY", arg,
                  u.mode == UP_RESUME ? " (resuming)" : "");
    run_upload(s, &u, opening);
}

void cmd_stor(struct session *s, const char *arg)
{
    store(s, arg, false);
}

void cmd_appe(struct session *s, const char *arg)
{
    store(s, arg, true);
}

void cmd_stou(struct session *s, const char *arg)
{
    s->rest = 0;
    static struct upload u;
    u = (struct upload){.fd = -1, .dirfd = -1, .noreplace = true};
    /* RFC 1123 §4.1.2.9: the server picks a name in the current directory;
     * an argument, if any, is taken as the base of that name. */
    const char *base = arg[0] ? arg : "stou";
    static char name[DEFS_PATH_MAX];
    bool found = false;
    /* Bounded: the name asked for, then base.1 ... base.STOU_MAX_SUFFIX. */
    for (unsigned i = arg[0] ? 0 : 1; i <= STOU_MAX_SUFFIX && !found; i++) {
        bool fits = i == 0 ? sys_copy(name, sizeof name, base)
                           : sys_fmt(name, sizeof name, "%s.%u", base, i);
        if (!fits) {
            reply(s, FTP_BAD_NAME, "File name too long");
            return;
        }
        xclose(u.dirfd);
        u.dirfd = -1;
        if (!resolve(s, name, u.vpath, sizeof u.vpath, true)) {
            return;
        }
        u.dirfd = open_parent(s, "STOU", name, u.vpath, u.leaf, sizeof u.leaf);
        if (u.dirfd < 0) {
            return;
        }
        struct stat st;
        if (fstatat(u.dirfd, u.leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) {
                fail_path(s, "STOU", name, u.vpath, errno);
                xclose(u.dirfd);
                return;
            }
            found = true;
        }
    }
    if (!found) {
        reply(s, FTP_FILE_UNAVAIL, "%s: No unique name left (tried %s.1 to %s.%u)", base, base,
              base, STOU_MAX_SUFFIX);
        xclose(u.dirfd);
        return;
    }
    if (!data_prepared(s)) {
        reply(s, FTP_CANT_OPEN_DATA, "Use PASV or EPSV (or PORT/EPRT) first");
        xclose(u.dirfd);
        return;
    }
    u.shown = name;
    u.mode = s->pol->upload_atomic ? UP_ATOMIC : UP_DIRECT;
    u.created = true;
    u.fd = open_upload(s, &u, 0, true);
    if (u.fd < 0) {
        int e = errno;
        fail_path(s, "STOU", name, u.vpath, e);
        xclose(u.dirfd);
        return;
    }
    char opening[DEFS_PATH_MAX + 16];
    /* RFC 1123: "150 FILE: pppp" names the file chosen. */
    (void)sys_fmt(opening, sizeof opening, "FILE: %s", name);
    run_upload(s, &u, opening);
}

/* ------------------------------------------------------------------ */
/* Listings                                                            */
/* ------------------------------------------------------------------ */

/* Lines collected into net_buf, sent whenever the next would not fit. */
struct sink {
    struct session *s;
    struct data_conn *dc;
    size_t len;
    enum data_status st;
};

static bool sink_flush(struct sink *k)
{
    if (k->len == 0) {
        return true;
    }
    k->st = data_send(k->s, k->dc, net_buf, k->len);
    k->len = 0;
    return k->st == DATA_OK;
}

static bool sink_emit(void *ctx, const char *line, size_t n)
{
    struct sink *k = ctx;
    if (n + 2 > sizeof net_buf) {
        return true; /* cannot happen: XFER_LINE_MAX < DEFS_XFER_BUF */
    }
    if (k->len + n + 2 > sizeof net_buf && !sink_flush(k)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        net_buf[k->len++] = (unsigned char)line[i];
    }
    net_buf[k->len++] = '\r';
    net_buf[k->len++] = '\n';
    k->s->xfer.bytes += n + 2;
    return true;
}

/* Lines on the control connection (STAT PATH): reply_more escapes them. */
static bool ctrl_emit(void *ctx, const char *line, size_t n)
{
    struct session *s = ctx;
    (void)n;
    reply_more(s, "%s", line);
    return ctrl_ok(s);
}

/* True if st is the user's root directory itself. */
static bool is_root_dir(const struct session *s, const struct stat *st)
{
    struct stat rs;
    return fstat(s->root_fd, &rs) == 0 && rs.st_dev == st->st_dev && rs.st_ino == st->st_ino;
}

/* Opens what a listing shows: *dirfd (O_RDONLY) for a directory, or -1
 * and st for a single object. False (reply sent) on error. */
static bool open_listing(struct session *s, const char *verb, const char *shown,
                         const char *vpath, struct stat *st, int *dirfd)
{
    *dirfd = -1;
    int fd = path_open(s->root_fd, vpath, O_PATH, 0);
    if (fd < 0) {
        fail_path(s, verb, shown, vpath, errno);
        return false;
    }
    if (fstat(fd, st) != 0) {
        int e = errno;
        xclose(fd);
        fail_path(s, verb, shown, vpath, e);
        return false;
    }
    if (S_ISDIR(st->st_mode)) {
        *dirfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (*dirfd < 0) {
            int e = errno;
            xclose(fd);
            fail_path(s, verb, shown, vpath, e);
            return false;
        }
    }
    xclose(fd);
    return true;
}

static void listing(struct session *s, const char *arg, enum list_kind kind, const char *verb)
{
    bool all = false;
    const char *p = kind == LIST_FACTS ? arg : list_parse_options(arg, &all);
    char vpath[DEFS_PATH_MAX];
    if (!resolve(s, p, vpath, sizeof vpath, false)) {
        return;
    }
    const char *shown = shown_name(p, vpath);
    struct stat st;
    int dirfd;
    if (!open_listing(s, verb, shown, vpath, &st, &dirfd)) {
        return;
    }
    if (dirfd < 0 && kind == LIST_FACTS) {
        reply(s, FTP_SYNTAX_ARG, "%s: Not a directory; MLSD lists directories, use MLST", shown);
        return;
    }
    if (!data_prepared(s)) {
        xclose(dirfd);
        reply(s, FTP_CANT_OPEN_DATA, "Use PASV or EPSV (or PORT/EPRT) first");
        return;
    }
    reply(s, FTP_DATA_OPENING, "Here comes the listing of %s", shown);
    xfer_begin(s, vpath, false);
    struct data_conn *dc = data_open(s);
    if (!dc) {
        xclose(dirfd);
        xfer_end(s, false, false);
        return;
    }
    struct sink k = {.s = s, .dc = dc, .st = DATA_OK};
    struct list_opts o = {
        .kind = kind,
        .all = all,
        .at_root = is_root_dir(s, &st),
        .access = s->eff.access,
        .now = time(NULL),
    };
    int e = 0;
    if (dirfd >= 0) {
        e = list_dir(dirfd, &o, sink_emit, &k); /* closes dirfd */
    } else {
        /* LIST of a file lists that file, under the name given. */
        (void)list_one(&st, p[0] ? p : vleaf(vpath), NULL, &o, sink_emit, &k);
    }
    if (k.st == DATA_OK && (e == 0 || e == ECANCELED)) {
        (void)sink_flush(&k);
    }
    if (k.st == DATA_OK && e == 0) {
        (void)data_close(s, dc);
        xfer_end(s, true, false);
        reply(s, FTP_TRANSFER_OK, "Listing sent (%llu bytes)", (unsigned long long)s->xfer.bytes);
        return;
    }
    data_abandon(s, dc);
    xfer_end(s, false, false);
    if (k.st != DATA_OK) {
        data_reply_failure(s, k.st, NULL);
        return;
    }
    err("%s %s: reading the directory failed: %s", verb, vpath, strerror(e));
    reply(s, FTP_LOCAL_ERROR, "Error reading directory %s (%s); listing incomplete", shown,
          strerror(e));
}

void cmd_list(struct session *s, const char *arg)
{
    listing(s, arg, LIST_LONG, "LIST");
}

void cmd_nlst(struct session *s, const char *arg)
{
    listing(s, arg, LIST_NAMES, "NLST");
}

void cmd_mlsd(struct session *s, const char *arg)
{
    listing(s, arg, LIST_FACTS, "MLSD");
}

void cmd_mlst(struct session *s, const char *arg)
{
    char vpath[DEFS_PATH_MAX];
    if (!resolve(s, arg, vpath, sizeof vpath, false)) {
        return;
    }
    const char *shown = shown_name(arg, vpath);
    int fd = path_open(s->root_fd, vpath, O_PATH, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        xclose(fd);
        fail_path(s, "MLST", shown, vpath, e);
        return;
    }
    xclose(fd);
    char line[XFER_LINE_MAX];
    /* RFC 3659 §7.3: the object's pathname follows the facts. */
    size_t n = list_format_facts(line, sizeof line, &st, NULL, s->eff.access, vpath);
    if (n == 0) {
        reply(s, FTP_BAD_NAME, "%s: name too long to list", shown);
        return;
    }
    reply_start(s, FTP_FILE_OK, "Listing %s", shown);
    reply_more(s, "%s", line);
    reply(s, FTP_FILE_OK, "End");
}

void files_stat_path(struct session *s, const char *arg)
{
    bool all;
    const char *p = list_parse_options(arg, &all);
    char vpath[DEFS_PATH_MAX];
    if (!resolve(s, p, vpath, sizeof vpath, false)) {
        return;
    }
    const char *shown = shown_name(p, vpath);
    struct stat st;
    int dirfd;
    if (!open_listing(s, "STAT", shown, vpath, &st, &dirfd)) {
        return;
    }
    struct list_opts o = {.kind = LIST_LONG, .all = all, .access = s->eff.access, .now = time(NULL)};
    reply_start(s, FTP_STAT_FILE, "Status of %s:", shown);
    int e = 0;
    if (dirfd >= 0) {
        e = list_dir(dirfd, &o, ctrl_emit, s);
    } else {
        (void)list_one(&st, p[0] ? p : vleaf(vpath), NULL, &o, ctrl_emit, s);
    }
    if (e != 0 && e != ECANCELED) {
        reply_more(s, "(listing incomplete: %s)", strerror(e));
    }
    reply(s, FTP_STAT_FILE, "End of status");
}

/* ------------------------------------------------------------------ */
/* SIZE, MDTM                                                          */
/* ------------------------------------------------------------------ */

/* stat of a client path (following links within the root). */
static bool stat_path(struct session *s, const char *verb, const char *arg, char *vpath,
                      size_t vsz, struct stat *st)
{
    if (!resolve(s, arg, vpath, vsz, false)) {
        return false;
    }
    int fd = path_open(s->root_fd, vpath, O_PATH, 0);
    if (fd < 0 || fstat(fd, st) != 0) {
        int e = errno;
        xclose(fd);
        fail_path(s, verb, arg, vpath, e);
        return false;
    }
    xclose(fd);
    return true;
}

void cmd_size(struct session *s, const char *arg)
{
    /* Chosen (documented): in TYPE A the transferred size differs from the
     * stored one and computing it means reading the whole file, so SIZE is
     * refused, as ProFTPD does; clients send TYPE I first. */
    if (s->type_ascii) {
        reply(s, FTP_FILE_UNAVAIL, "SIZE not supported in ASCII mode; send TYPE I first");
        return;
    }
    char vpath[DEFS_PATH_MAX];
    struct stat st;
    if (!stat_path(s, "SIZE", arg, vpath, sizeof vpath, &st)) {
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        reply(s, FTP_FILE_UNAVAIL, "%s: Not a plain file", arg);
        return;
    }
    reply(s, FTP_STAT_FILE, "%llu", (unsigned long long)st.st_size);
}

void cmd_mdtm(struct session *s, const char *arg)
{
    char vpath[DEFS_PATH_MAX];
    struct stat st;
    if (!stat_path(s, "MDTM", arg, vpath, sizeof vpath, &st)) {
        return;
    }
    char when[15];
    if (!list_format_time(when, st.st_mtime)) {
        reply(s, FTP_FILE_UNAVAIL, "%s: modification time cannot be shown", arg);
        return;
    }
    reply(s, FTP_STAT_FILE, "%s", when);
}

/* ------------------------------------------------------------------ */
/* DELE, MKD, RMD, RNFR, RNTO, SITE CHMOD, ABOR                        */
/* ------------------------------------------------------------------ */

void cmd_dele(struct session *s, const char *arg)
{
    char vpath[DEFS_PATH_MAX], leaf[NAME_MAX + 1];
    if (!resolve(s, arg, vpath, sizeof vpath, false)) {
        return;
    }
    int dirfd = open_parent(s, "DELE", arg, vpath, leaf, sizeof leaf);
    if (dirfd < 0) {
        return;
    }
    /* unlinkat() removes a symlink itself, never its target. */
    if (unlinkat(dirfd, leaf, 0) != 0) {
        int e = errno;
        xclose(dirfd);
        if (e == EISDIR) {
            reply(s, FTP_FILE_UNAVAIL, "%s: Is a directory; use RMD", arg);
            return;
        }
        fail_path(s, "DELE", arg, vpath, e);
        return;
    }
    xclose(dirfd);
    info("deleted %s", vpath);
    reply(s, FTP_FILE_OK, "Deleted %s", arg);
}

void cmd_mkd(struct session *s, const char *arg)
{
    char vpath[DEFS_PATH_MAX], leaf[NAME_MAX + 1];
    if (!resolve(s, arg, vpath, sizeof vpath, true)) {
        return;
    }
    int dirfd = open_parent(s, "MKD", arg, vpath, leaf, sizeof leaf);
    if (dirfd < 0) {
        return;
    }
    mode_t mode = 0777 & ~s->pol->umask;
    if (mkdirat(dirfd, leaf, mode) != 0) {
        int e = errno;
        xclose(dirfd);
        fail_path(s, "MKD", arg, vpath, e);
        return;
    }
    /* The process umask may differ from the policy's: set the mode
     * explicitly, on the directory just made (O_NOFOLLOW: not a link). */
    int d = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0 || fchmod(d, mode) != 0) {
        debug("MKD %s: setting mode: %s", vpath, strerror(errno));
    }
    xclose(d);
    xclose(dirfd);
    info("created directory %s", vpath);
    char q[DEFS_PATH_MAX * 2];
    ftp_quote_path(vpath, q, sizeof q);
    reply(s, FTP_PATH_CREATED, "\"%s\" created", q);
}

void cmd_rmd(struct session *s, const char *arg)
{
    char vpath[DEFS_PATH_MAX], leaf[NAME_MAX + 1];
    if (!resolve(s, arg, vpath, sizeof vpath, false)) {
        return;
    }
    int dirfd = open_parent(s, "RMD", arg, vpath, leaf, sizeof leaf);
    if (dirfd < 0) {
        return;
    }
    if (unlinkat(dirfd, leaf, AT_REMOVEDIR) != 0) {
        int e = errno;
        xclose(dirfd);
        if (e == EEXIST) {
            e = ENOTEMPTY;
        }
        fail_path(s, "RMD", arg, vpath, e);
        return;
    }
    xclose(dirfd);
    info("removed directory %s", vpath);
    reply(s, FTP_FILE_OK, "Removed directory %s", arg);
}

void cmd_rnfr(struct session *s, const char *arg)
{
    char vpath[DEFS_PATH_MAX], leaf[NAME_MAX + 1];
    s->rnfr_set = false;
    if (!resolve(s, arg, vpath, sizeof vpath, false)) {
        return;
    }
    int dirfd = open_parent(s, "RNFR", arg, vpath, leaf, sizeof leaf);
    if (dirfd < 0) {
        return;
    }
    struct stat st;
    if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        xclose(dirfd);
        fail_path(s, "RNFR", arg, vpath, e);
        return;
    }
    xclose(dirfd);
    (void)sys_copy(s->rnfr, sizeof s->rnfr, vpath);
    s->rnfr_set = true;
    reply(s, FTP_PENDING, "%s exists; send RNTO with the new name", arg);
}

void cmd_rnto(struct session *s, const char *arg)
{
    if (!s->rnfr_set) {
        reply(s, FTP_BAD_SEQUENCE, "Send RNFR first (RNTO must follow it immediately)");
        return;
    }
    s->rnfr_set = false;
    char to[DEFS_PATH_MAX], to_leaf[NAME_MAX + 1], from_leaf[NAME_MAX + 1];
    if (!resolve(s, arg, to, sizeof to, true)) {
        return;
    }
    int from_dir = open_parent(s, "RNTO", s->rnfr, s->rnfr, from_leaf, sizeof from_leaf);
    if (from_dir < 0) {
        return;
    }
    int to_dir = open_parent(s, "RNTO", arg, to, to_leaf, sizeof to_leaf);
    if (to_dir < 0) {
        xclose(from_dir);
        return;
    }
    /* Replacing an existing name deletes it: without 'd' it is kept. */
    int r;
    bool noreplace = !(s->eff.access & POL_ACC_DELETE);
    if (noreplace) {
        r = sys_rename_noreplace(from_dir, from_leaf, to_dir, to_leaf);
        if (r != 0 && (errno == EINVAL || errno == ENOSYS)) {
            struct stat st;
            if (fstatat(to_dir, to_leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                errno = EEXIST;
            } else {
                r = renameat(from_dir, from_leaf, to_dir, to_leaf);
            }
        }
    } else {
        r = renameat(from_dir, from_leaf, to_dir, to_leaf);
    }
    int e = errno;
    xclose(from_dir);
    xclose(to_dir);
    if (r != 0) {
        if (e == EEXIST && noreplace) {
            reply(s, FTP_FILE_UNAVAIL, "%s: File exists (replacing it needs the 'd' right)", arg);
            return;
        }
        fail_path(s, "RNTO", arg, to, e);
        return;
    }
    info("renamed %s to %s", s->rnfr, to);
    reply(s, FTP_FILE_OK, "Renamed to %s", arg);
}

void files_site_chmod(struct session *s, const char *arg)
{
    /* Chosen (documented): changing permission bits is a write to the
     * object, so it needs 'w'. */
    if (!(s->eff.access & POL_ACC_WRITE)) {
        reply(s, FTP_FILE_UNAVAIL, "Permission denied (SITE CHMOD needs the 'w' right)");
        return;
    }
    char digits[8];
    size_t n = 0;
    const char *p = arg;
    while (*p && *p != ' ') {
        if (n + 1 >= sizeof digits) {
            n = 0;
            break;
        }
        digits[n++] = *p++;
    }
    digits[n] = '\0';
    while (*p == ' ') {
        p++;
    }
    uint64_t mode;
    if (n == 0 || !*p || !pol_parse_number(digits, 8, 0, 07777, &mode)) {
        reply(s, FTP_SYNTAX_ARG, "Usage: SITE CHMOD MODE PATH (MODE in octal, e.g. 644)");
        return;
    }
    /* SECURITY: setuid, setgid and sticky bits are dropped: a setuid file
     * uploaded here would be a privilege escalation for anyone who can run
     * files from this tree on the host. */
    mode_t m = (mode_t)(mode & 0777);
    char vpath[DEFS_PATH_MAX], leaf[NAME_MAX + 1];
    if (!resolve(s, p, vpath, sizeof vpath, false)) {
        return;
    }
    int dirfd = open_parent(s, "SITE CHMOD", p, vpath, leaf, sizeof leaf);
    if (dirfd < 0) {
        return;
    }
    struct stat st;
    if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        xclose(dirfd);
        fail_path(s, "SITE CHMOD", p, vpath, e);
        return;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        xclose(dirfd);
        reply(s, FTP_FILE_UNAVAIL, "%s: only plain files and directories can be changed", p);
        return;
    }
    /* SECURITY: fchmod on an fd opened with O_NOFOLLOW, so a symlink
     * swapped in after the check cannot redirect the change outside the
     * root; the fd must be the object just checked. */
    int fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && S_ISREG(st.st_mode)) {
        fd = openat(dirfd, leaf, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    }
    int e = errno;
    xclose(dirfd);
    struct stat fst;
    if (fd < 0) {
        fail_path(s, "SITE CHMOD", p, vpath, e);
        return;
    }
    if (fstat(fd, &fst) != 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
        xclose(fd);
        reply(s, FTP_FILE_UNAVAIL, "%s: changed while being examined; try again", p);
        return;
    }
    if (fchmod(fd, m) != 0) {
        e = errno;
        xclose(fd);
        fail_path(s, "SITE CHMOD", p, vpath, e);
        return;
    }
    xclose(fd);
    info("SITE CHMOD %03o %s", (unsigned)m, vpath);
    reply(s, FTP_OK, "SITE CHMOD command ok (mode %03o)", (unsigned)m);
}

void cmd_abor(struct session *s, const char *arg)
{
    (void)arg;
    /* During a transfer ABOR is served by the transfer loop (data.c);
     * reaching this handler means nothing is running. */
    reply(s, FTP_ABOR_OK, "No transfer to abort");
}
