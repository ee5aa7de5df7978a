/* Uploads (include/upload.h): STOR, APPE, STOU. The target is checked and
 * opened before the 150 reply, relative to its parent directory fd with
 * O_NOFOLLOW, so a symlink can never redirect a write. The access rules of
 * SPEC §5 that depend on the target (overwrite needs w+d, resume needs a)
 * are decided here, in one function, because the dispatcher cannot know
 * whether the target exists. After the 150 the transfer engine moves the
 * bytes; what happens to them on failure is decided in discard(). */
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "dataconn.h"
#include "dataport.h"
#include "defs.h"
#include "log.h"
#include "session.h"
#include "sys.h"
#include "sys_fs.h"
#include "vpath.h"
#include "xfer.h"

enum up_mode {
    UP_ATOMIC, /* temporary, then rename over the target */
    UP_DIRECT, /* `upload direct`: in place, truncated */
    UP_APPEND, /* APPE: in place, at the end */
    UP_RESUME, /* REST+STOR: in place, at the offset */
};

struct upload {
    enum up_mode mode;
    struct vpath_target t; /* the target, its parent directory open */
    char temp[32];         /* UP_ATOMIC: the temporary's name */
    int fd;
    uint64_t rest;   /* UP_RESUME: the offset */
    bool created;    /* UP_DIRECT: the file did not exist before */
    bool noreplace;  /* the final rename must not replace a file */
    bool may_create; /* UP_APPEND: a new file may be made */
};

void upload_temp_name(char *name, size_t cap, const unsigned char rnd[6])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char x[7];
    for (int i = 0; i < 6; i++) {
        x[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
    }
    x[6] = '\0';
    if (!sys_fmt(name, cap, ".ftpsd-%s", x)) {
        bug("temporary name buffer of %zu bytes", cap);
    }
}

static mode_t file_mode(const struct session *s)
{
    return 0666 & ~s->pol->umask;
}

/* A fresh temporary ".ftpsd-XXXXXX" beside the target: O_EXCL with a
 * random name, bounded retries. */
static int make_temp(struct session *s, struct upload *u)
{
    mode_t mode = file_mode(s);
    for (int i = 0; i < DEFS_TEMP_NAME_TRIES; i++) {
        unsigned char rnd[6];
        if (!sys_random(rnd, sizeof rnd)) {
            errno = EIO;
            return -1;
        }
        upload_temp_name(u->temp, sizeof u->temp, rnd);
        int fd = sys_openat(u->t.dirfd, u->temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
        if (fd >= 0) {
            /* The process umask may differ from the policy's. */
            if (sys_fchmod(fd, mode) != 0) {
                debug("fchmod %s: %s", u->temp, strerror(errno));
            }
            sys_term_cleanup(u->t.dirfd, u->temp);
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

/* What open_upload opened must be a plain file: a FIFO or device planted
 * between the check and the open is refused. Also sets the mode of a file
 * direct mode made, and the offset of a resume. 0 or an errno value. */
static int check_opened(struct session *s, struct upload *u, int fd)
{
    struct stat st;
    if (sys_fstat(fd, &st) != 0) {
        return errno;
    }
    if (!S_ISREG(st.st_mode)) {
        return ENXIO;
    }
    if (!sys_set_nonblock(fd, false)) {
        return errno;
    }
    if (u->mode == UP_DIRECT && u->created && sys_fchmod(fd, file_mode(s)) != 0) {
        debug("fchmod %s: %s", u->t.leaf, strerror(errno));
    }
    /* Data past a resume's offset would otherwise survive behind the new
     * tail. */
    if (u->mode == UP_RESUME &&
        (((uint64_t)st.st_size > u->rest && sys_ftruncate(fd, (off_t)u->rest) != 0) ||
         sys_lseek_set(fd, (off_t)u->rest) < 0)) {
        return errno;
    }
    return 0;
}

/* Opens the file an upload writes to, per mode. -1 with errno. */
static int open_upload(struct session *s, struct upload *u)
{
    int flags;
    switch (u->mode) {
    case UP_ATOMIC:
        return make_temp(s, u);
    case UP_DIRECT:
        flags = O_WRONLY | O_CREAT | O_TRUNC | (u->noreplace ? O_EXCL : 0);
        break;
    case UP_APPEND:
        flags = O_WRONLY | O_APPEND | (u->may_create ? O_CREAT : 0);
        break;
    case UP_RESUME:
    default:
        flags = O_WRONLY;
        break;
    }
    int fd = sys_openat(u->t.dirfd, u->t.leaf, flags | O_NOFOLLOW | O_NONBLOCK, file_mode(s));
    if (fd < 0) {
        return -1;
    }
    int e = check_opened(s, u, fd);
    if (e != 0) {
        sys_closep(&fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Moves the temporary onto the target. With noreplace an existing target
 * is kept (the user may not delete it, or STOU promised a new name). 0 or
 * an errno value. */
static int publish_atomic(struct upload *u)
{
    int dir = u->t.dirfd;
    if (!u->noreplace) {
        return sys_renameat(dir, u->temp, dir, u->t.leaf) == 0 ? 0 : errno;
    }
    if (sys_rename_noreplace(dir, u->temp, dir, u->t.leaf) == 0) {
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return errno;
    }
    /* A file system without RENAME_NOREPLACE: link() refuses an existing
     * name just the same. */
    if (sys_linkat(dir, u->temp, dir, u->t.leaf) != 0) {
        return errno;
    }
    if (sys_unlinkat(dir, u->temp, false) != 0) {
        warn("removing %s after linking it: %s", u->temp, strerror(errno));
    }
    return 0;
}

/* After the rename: make the new directory entry durable too. */
static void sync_dir(int dirfd)
{
    int d = sys_openat(dirfd, ".", O_RDONLY | O_DIRECTORY, 0);
    if (d < 0) {
        debug("open directory for fsync: %s", strerror(errno));
        return;
    }
    if (sys_fsync(d) != 0) {
        warn("fsync of the directory: %s", strerror(errno));
    }
    sys_closep(&d);
}

/* Removes what a failed upload must not leave behind; returns what the
 * client is told became of the data. */
static const char *discard(struct upload *u, int werr)
{
    switch (u->mode) {
    case UP_ATOMIC:
        if (u->temp[0] && sys_unlinkat(u->t.dirfd, u->temp, false) != 0 && errno != ENOENT) {
            err("cannot remove temporary %s: %s", u->temp, strerror(errno));
        }
        u->temp[0] = '\0';
        return "nothing was stored";
    case UP_DIRECT:
        if (werr == ENOSPC || werr == EDQUOT) {
            if (sys_unlinkat(u->t.dirfd, u->t.leaf, false) != 0) {
                err("cannot remove partial %s: %s", u->t.leaf, strerror(errno));
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

/* A complete upload on the wire: fsync, close, publish. 0 or the errno of
 * the step that failed (*published_err for the rename, else the write). */
static int finish(struct upload *u, int *perr)
{
    /* SECURITY (SPEC §3): a write, fsync or close error is never answered
     * 226 — data the disk did not take is not "stored". */
    int werr = sys_fsync(u->fd) != 0 ? errno : 0;
    if (sys_close(u->fd) != 0 && werr == 0) {
        werr = errno;
    }
    u->fd = -1;
    *perr = 0;
    if (werr == 0 && u->mode == UP_ATOMIC) {
        *perr = publish_atomic(u);
        if (*perr == 0) {
            u->temp[0] = '\0';
            sync_dir(u->t.dirfd);
        }
    }
    return werr;
}

/* The end of an upload whose data all arrived (DATA_EOF). */
static void complete(struct session *s, struct upload *u)
{
    /* Our own close_notify goes back before the disk work. */
    if (!data_close(s)) {
        debug("STOR %s: our close_notify was not delivered", u->t.vpath);
    }
    int perr;
    int werr = finish(u, &perr);
    if (werr == 0 && perr == 0) {
        xfer_end(s, true, true);
        info("stored %s (%llu bytes)", u->t.vpath, (unsigned long long)s->xfer.bytes);
        reply(s, FTP_TRANSFER_OK, "Transfer complete (%llu bytes)",
              (unsigned long long)s->xfer.bytes);
        return;
    }
    const char *what = discard(u, werr ? werr : perr);
    xfer_end(s, false, true);
    if (werr) {
        err("STOR %s: %s", u->t.vpath, strerror(werr));
        reply_write_error(s, u->t.shown, werr, what);
    } else if (perr == EEXIST) {
        reply(s, FTP_FILE_UNAVAIL, "%s: File exists (created meanwhile by someone else); %s",
              u->t.shown, what);
    } else {
        err("STOR %s: rename into place: %s", u->t.vpath, strerror(perr));
        reply(s, FTP_LOCAL_ERROR, "%s: cannot put the file in place (%s); %s", u->t.shown,
              strerror(perr), what);
    }
}

/* The common part of every upload, from the 150 reply on. u->fd is open.
 * `opening` is the 150 text. Consumes u->fd and u->t.dirfd. */
static void run_upload(struct session *s, struct upload *u, const char *opening)
{
    reply(s, FTP_DATA_OPENING, "%s", opening);
    xfer_begin(s, u->t.vpath, true);
    if (!data_open(s)) {
        sys_closep(&u->fd);
        if (u->mode == UP_ATOMIC) {
            (void)discard(u, 0);
        } else if (u->mode == UP_DIRECT && u->created &&
                   sys_unlinkat(u->t.dirfd, u->t.leaf, false) != 0) {
            /* Not a byte arrived: the empty file we made is not left. */
            debug("removing the empty %s: %s", u->t.leaf, strerror(errno));
        }
        xfer_end(s, false, false);
        sys_closep(&u->t.dirfd);
        return;
    }
    int werr = 0;
    enum data_status st = xfer_recv_file(s, u->fd, &werr);
    if (st == DATA_EOF) {
        complete(s, u);
        sys_closep(&u->t.dirfd);
        return;
    }
    /* Failure: close the data connection first (the client stops
     * sending), then clean up, and only then answer, so that a client
     * looking right after the reply sees no partial file. */
    data_abandon(s);
    sys_closep(&u->fd);
    const char *what = discard(u, werr);
    xfer_end(s, false, true);
    info("upload of %s failed after %llu bytes (%s)", u->t.vpath, (unsigned long long)s->xfer.bytes,
         werr ? strerror(werr) : "data connection");
    if (werr) {
        reply_write_error(s, u->t.shown, werr, what);
    } else {
        char tail[64];
        (void)sys_fmt(tail, sizeof tail, "; %s", what);
        xfer_reply_failure(s, st, tail);
    }
    sys_closep(&u->t.dirfd);
}

/* The rules of SPEC §5 for STOR and APPE against what the target is: sets
 * u->mode and friends, or returns why the upload is refused (with *code). */
static const char *decide(const struct session *s, struct upload *u, bool appe, bool exists,
                          const struct stat *st, int *code)
{
    uint32_t acc = s->login.eff.access;
    *code = FTP_FILE_UNAVAIL;
    if (exists && S_ISDIR(st->st_mode)) {
        return "Is a directory";
    }
    if (exists && S_ISLNK(st->st_mode)) {
        /* SECURITY: a write through a symlink could land on a file the
         * user may not overwrite, or (direct mode) outside the root. */
        return "Refused: a symbolic link; remove it first";
    }
    if (exists && !S_ISREG(st->st_mode)) {
        return "Not a plain file";
    }
    if (appe) {
        u->mode = UP_APPEND;
        u->may_create = (acc & POL_ACC_WRITE) != 0;
        return !exists && !u->may_create
                   ? "Permission denied (APPE of a new file needs the 'w' right)"
                   : NULL;
    }
    if (u->rest > 0) {
        /* SPEC §5: a resume needs 'a'; rewriting existing bytes before the
         * end is an overwrite and needs 'w' and 'd' as well. */
        u->mode = UP_RESUME;
        if (!(acc & POL_ACC_APPEND)) {
            return "Permission denied (resuming an upload needs the 'a' right)";
        }
        if (!exists) {
            return "No such file or directory (nothing to resume; send STOR without REST)";
        }
        if (u->rest > (uint64_t)st->st_size) {
            *code = FTP_BAD_REST;
            return "REST offset is beyond the end of the file";
        }
        if (u->rest < (uint64_t)st->st_size && !((acc & POL_ACC_WRITE) && (acc & POL_ACC_DELETE))) {
            return "Permission denied (a REST offset before the end overwrites data: needs "
                   "the 'w' and 'd' rights)";
        }
        return NULL;
    }
    /* The dispatcher let 'a' alone through for a resume (REST+STOR). */
    if (!(acc & POL_ACC_WRITE)) {
        return "Permission denied (storing a file needs the 'w' right; with 'a' alone, resume "
               "an upload with REST)";
    }
    u->mode = s->pol->upload_atomic ? UP_ATOMIC : UP_DIRECT;
    /* Without 'd' a file appearing meanwhile must not be replaced. */
    u->noreplace = !(acc & POL_ACC_DELETE);
    u->created = !exists;
    /* SPEC §5: overwriting an existing file needs 'w' and 'd'. */
    return exists && !(acc & POL_ACC_DELETE) ? "Permission denied (overwriting needs the 'd' right)"
                                             : NULL;
}

/* Opens the upload's file (after the rules passed) and runs it; consumes
 * u->t.dirfd. */
static void open_and_run(struct session *s, struct upload *u, const char *verb, const char *opening)
{
    if (!data_prepared(s)) {
        reply(s, FTP_CANT_OPEN_DATA, "Use PASV or EPSV (or PORT/EPRT) first");
        sys_closep(&u->t.dirfd);
        return;
    }
    u->fd = open_upload(s, u);
    if (u->fd < 0) {
        int e = errno;
        if (e == ENOSPC || e == EDQUOT) {
            reply_write_error(s, u->t.shown, e, "nothing was stored");
        } else {
            vpath_fail(s, verb, u->t.shown, u->t.vpath, e);
        }
        sys_closep(&u->t.dirfd);
        return;
    }
    run_upload(s, u, opening);
}

/* STOR and APPE. */
static void store(struct session *s, const char *arg, bool appe)
{
    const char *verb = appe ? "APPE" : "STOR";
    static struct upload u;
    /* REST applies to STOR only; APPE always appends. */
    u = (struct upload){.fd = -1, .rest = appe ? 0 : s->proto.rest};
    s->proto.rest = 0;
    if (!vpath_open_parent(s, verb, arg, true, &u.t)) {
        return;
    }
    struct stat st;
    bool exists = sys_lstatat(u.t.dirfd, u.t.leaf, &st) == 0;
    if (!exists && errno != ENOENT) {
        vpath_fail(s, verb, arg, u.t.vpath, errno);
        sys_closep(&u.t.dirfd);
        return;
    }
    int code;
    const char *refusal = decide(s, &u, appe, exists, &st, &code);
    if (refusal) {
        info("%s %s refused: %s", verb, u.t.vpath, refusal);
        reply(s, code, "%s: %s", arg, refusal);
        sys_closep(&u.t.dirfd);
        return;
    }
    char opening[DEFS_PATH_MAX + 96];
    (void)sys_fmt(opening, sizeof opening, "Opening %s mode data connection for %s%s",
                  s->proto.type_ascii ? "ASCII" : "BINARY", arg,
                  u.mode == UP_RESUME ? " (resuming)" : "");
    open_and_run(s, &u, verb, opening);
}

void cmd_stor(struct session *s, const char *arg)
{
    store(s, arg, false);
}

void cmd_appe(struct session *s, const char *arg)
{
    store(s, arg, true);
}

/* Finds the first free name of base, base.1 ... base.N (base alone only
 * when the client asked for it) with its parent open in u->t. False (reply
 * sent) when none is free or a path is refused. */
static bool unique_name(struct session *s, const char *arg, struct upload *u, char *name,
                        size_t namesz)
{
    /* RFC 1123 §4.1.2.9: the server picks a name in the current directory;
     * an argument, if any, is taken as the base of that name. */
    const char *base = arg[0] ? arg : "stou";
    /* Bounded: the name asked for, then base.1 ... base.DEFS_STOU_MAX_SUFFIX. */
    for (unsigned i = arg[0] ? 0 : 1; i <= DEFS_STOU_MAX_SUFFIX; i++) {
        bool fits = i == 0 ? sys_copy(name, namesz, base) : sys_fmt(name, namesz, "%s.%u", base, i);
        if (!fits) {
            reply(s, FTP_BAD_NAME, "File name too long");
            return false;
        }
        if (!vpath_open_parent(s, "STOU", name, true, &u->t)) {
            return false;
        }
        struct stat st;
        if (sys_lstatat(u->t.dirfd, u->t.leaf, &st) != 0) {
            if (errno == ENOENT) {
                return true;
            }
            vpath_fail(s, "STOU", name, u->t.vpath, errno);
            sys_closep(&u->t.dirfd);
            return false;
        }
        sys_closep(&u->t.dirfd);
    }
    reply(s, FTP_FILE_UNAVAIL, "%s: No unique name left (tried %s.1 to %s.%u)", base, base, base,
          DEFS_STOU_MAX_SUFFIX);
    return false;
}

void cmd_stou(struct session *s, const char *arg)
{
    s->proto.rest = 0;
    static struct upload u;
    static char name[DEFS_PATH_MAX];
    u = (struct upload){.fd = -1, .noreplace = true, .created = true};
    if (!unique_name(s, arg, &u, name, sizeof name)) {
        return;
    }
    u.t.shown = name;
    u.mode = s->pol->upload_atomic ? UP_ATOMIC : UP_DIRECT;
    char opening[DEFS_PATH_MAX + 16];
    /* RFC 1123: "150 FILE: pppp" names the file chosen. */
    (void)sys_fmt(opening, sizeof opening, "FILE: %s", name);
    open_and_run(s, &u, "STOU", opening);
}
