/* The small file-system commands (RFC 959, RFC 3659, SPEC §5): CWD, CDUP,
 * PWD, SIZE, MDTM, DELE, MKD, RMD, RNFR, RNTO, SITE CHMOD and MFMT. Each resolves
 * its argument through vpath.c and acts on the last component relative to
 * its parent directory fd, never following a final symlink, so no command
 * here can be redirected outside the user's root. The dispatcher has checked
 * login and access letters before any of these runs. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "list.h"
#include "log.h"
#include "path.h"
#include "policy.h"
#include "session.h"
#include "sys.h"
#include "sys_fs.h"
#include "vpath.h"

/* ------------------------------------------------------------------ */
/* CWD, CDUP, PWD                                                      */
/* ------------------------------------------------------------------ */

static void change_dir(struct session *s, const char *arg)
{
    char vpath[DEFS_PATH_MAX];
    if (!vpath_resolve(s, arg, vpath, sizeof vpath, false)) {
        return;
    }
    int fd = path_open(s->login.root_fd, vpath, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) {
        int e = errno;
        if (e == EXDEV || e == ELOOP) {
            warn("SECURITY: CWD %s resolves outside the user's root; refused", vpath);
            reply(s, FTP_FILE_UNAVAIL, "%s: Permission denied (outside your root)", arg);
        } else {
            reply(s, FTP_FILE_UNAVAIL, "%s: %s", arg, strerror(e));
        }
        return;
    }
    sys_closep(&fd);
    (void)sys_copy(s->login.cwd, sizeof s->login.cwd, vpath);
    reply(s, FTP_FILE_OK, "Directory changed to %s", vpath);
}

void cmd_cwd(struct session *s, const char *arg)
{
    change_dir(s, arg);
}

void cmd_cdup(struct session *s, const char *arg)
{
    (void)arg;
    change_dir(s, "..");
}

void cmd_pwd(struct session *s, const char *arg)
{
    (void)arg;
    char q[DEFS_PATH_MAX * 2];
    vpath_quote(s->login.cwd, q, sizeof q);
    reply(s, FTP_PATH_CREATED, "\"%s\" is the current directory", q);
}

/* ------------------------------------------------------------------ */
/* SIZE, MDTM                                                          */
/* ------------------------------------------------------------------ */

void cmd_size(struct session *s, const char *arg)
{
    /* Chosen (documented): in TYPE A the transferred size differs from the
     * stored one and computing it means reading the whole file, so SIZE is
     * refused, as ProFTPD does; clients send TYPE I first. */
    if (s->proto.type_ascii) {
        reply(s, FTP_FILE_UNAVAIL, "SIZE not supported in ASCII mode; send TYPE I first");
        return;
    }
    char vpath[DEFS_PATH_MAX];
    struct stat st;
    if (!vpath_stat(s, "SIZE", arg, vpath, sizeof vpath, &st)) {
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
    if (!vpath_stat(s, "MDTM", arg, vpath, sizeof vpath, &st)) {
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
/* DELE, MKD, RMD                                                      */
/* ------------------------------------------------------------------ */

/* DELE and RMD: unlinkat() removes the last component itself, a symlink
 * included, never what it points to. */
static void remove_entry(struct session *s, const char *verb, const char *arg, bool dir)
{
    struct vpath_target t;
    if (!vpath_open_parent(s, verb, arg, false, &t)) {
        return;
    }
    int r = sys_unlinkat(t.dirfd, t.leaf, dir);
    int e = errno;
    sys_closep(&t.dirfd);
    if (r == 0) {
        info("%s %s", dir ? "removed directory" : "deleted", t.vpath);
        reply(s, FTP_FILE_OK, "%s %s", dir ? "Removed directory" : "Deleted", arg);
    } else if (!dir && e == EISDIR) {
        reply(s, FTP_FILE_UNAVAIL, "%s: Is a directory; use RMD", arg);
    } else {
        vpath_fail(s, verb, arg, t.vpath, dir && e == EEXIST ? ENOTEMPTY : e);
    }
}

void cmd_dele(struct session *s, const char *arg)
{
    remove_entry(s, "DELE", arg, false);
}

void cmd_mkd(struct session *s, const char *arg)
{
    struct vpath_target t;
    if (!vpath_open_parent(s, "MKD", arg, true, &t)) {
        return;
    }
    mode_t mode = 0777 & ~s->pol->umask;
    if (sys_mkdirat(t.dirfd, t.leaf, mode) != 0) {
        int e = errno;
        sys_closep(&t.dirfd);
        vpath_fail(s, "MKD", arg, t.vpath, e);
        return;
    }
    /* The process umask may differ from the policy's: set the mode
     * explicitly, on the directory just made (O_NOFOLLOW: not a link). */
    int d = sys_openat(t.dirfd, t.leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    if (d < 0 || sys_fchmod(d, mode) != 0) {
        debug("MKD %s: setting mode: %s", t.vpath, strerror(errno));
    }
    sys_closep(&d);
    sys_closep(&t.dirfd);
    info("created directory %s", t.vpath);
    char q[DEFS_PATH_MAX * 2];
    vpath_quote(t.vpath, q, sizeof q);
    reply(s, FTP_PATH_CREATED, "\"%s\" created", q);
}

void cmd_rmd(struct session *s, const char *arg)
{
    remove_entry(s, "RMD", arg, true);
}

/* ------------------------------------------------------------------ */
/* RNFR, RNTO                                                          */
/* ------------------------------------------------------------------ */

void cmd_rnfr(struct session *s, const char *arg)
{
    struct vpath_target t;
    s->proto.rnfr_set = false;
    if (!vpath_open_parent(s, "RNFR", arg, false, &t)) {
        return;
    }
    struct stat st;
    int r = sys_lstatat(t.dirfd, t.leaf, &st);
    int e = errno;
    sys_closep(&t.dirfd);
    if (r != 0) {
        vpath_fail(s, "RNFR", arg, t.vpath, e);
        return;
    }
    (void)sys_copy(s->proto.rnfr, sizeof s->proto.rnfr, t.vpath);
    s->proto.rnfr_set = true;
    reply(s, FTP_PENDING, "%s exists; send RNTO with the new name", arg);
}

/* Renames without replacing an existing target: RENAME_NOREPLACE, or where
 * the file system lacks it a check first (racy, but only in the user's own
 * tree). 0, or -1 with errno (EEXIST: the target exists). */
static int rename_keeping_target(int from_dir, const char *from, int to_dir, const char *to)
{
    if (sys_rename_noreplace(from_dir, from, to_dir, to) == 0) {
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return -1;
    }
    struct stat st;
    if (sys_lstatat(to_dir, to, &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return sys_renameat(from_dir, from, to_dir, to);
}

void cmd_rnto(struct session *s, const char *arg)
{
    if (!s->proto.rnfr_set) {
        reply(s, FTP_BAD_SEQUENCE, "Send RNFR first (RNTO must follow it immediately)");
        return;
    }
    s->proto.rnfr_set = false;
    struct vpath_target from, to;
    if (!vpath_resolve(s, arg, to.vpath, sizeof to.vpath, true) ||
        !vpath_open_parent(s, "RNTO", s->proto.rnfr, false, &from)) {
        return;
    }
    if (!vpath_open_parent(s, "RNTO", arg, true, &to)) {
        sys_closep(&from.dirfd);
        return;
    }
    /* Replacing an existing name deletes it: without 'd' it is kept. */
    bool noreplace = !(s->login.eff.access & POL_ACC_DELETE);
    int r = noreplace ? rename_keeping_target(from.dirfd, from.leaf, to.dirfd, to.leaf)
                      : sys_renameat(from.dirfd, from.leaf, to.dirfd, to.leaf);
    int e = errno;
    sys_closep(&from.dirfd);
    sys_closep(&to.dirfd);
    if (r != 0) {
        if (e == EEXIST && noreplace) {
            reply(s, FTP_FILE_UNAVAIL, "%s: File exists (replacing it needs the 'd' right)", arg);
            return;
        }
        vpath_fail(s, "RNTO", arg, to.vpath, e);
        return;
    }
    info("renamed %s to %s", s->proto.rnfr, to.vpath);
    reply(s, FTP_FILE_OK, "Renamed to %s", arg);
}

/* ------------------------------------------------------------------ */
/* SITE CHMOD, MFMT                                                    */
/* ------------------------------------------------------------------ */

/* "MODE PATH": the octal mode and where the path starts. False on a
 * malformed argument. */
static bool parse_chmod(const char *arg, uint64_t *mode, const char **path)
{
    char digits[8];
    size_t n = 0;
    const char *p = arg;
    while (*p && *p != ' ') {
        if (n + 1 >= sizeof digits) {
            return false;
        }
        digits[n++] = *p++;
    }
    digits[n] = '\0';
    while (*p == ' ') {
        p++;
    }
    *path = p;
    return n > 0 && *p && pol_parse_number(digits, 8, 0, 07777, mode);
}

/* Opens the object SITE CHMOD or MFMT changes: a plain file or directory,
 * by an fd that is provably the object checked. -1 with the reply sent. */
static int open_to_change(struct session *s, const char *verb, const char *p,
                          struct vpath_target *t)
{
    struct stat st;
    if (sys_lstatat(t->dirfd, t->leaf, &st) != 0) {
        vpath_fail(s, verb, p, t->vpath, errno);
        return -1;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        reply(s, FTP_FILE_UNAVAIL, "%s: only plain files and directories can be changed", p);
        return -1;
    }
    /* SECURITY: fchmod on an fd opened with O_NOFOLLOW, so a symlink
     * swapped in after the check cannot redirect the change outside the
     * root; the fd must be the object just checked. */
    int fd = sys_openat(t->dirfd, t->leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0 && errno == EACCES && S_ISREG(st.st_mode)) {
        fd = sys_openat(t->dirfd, t->leaf, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0);
    }
    if (fd < 0) {
        vpath_fail(s, verb, p, t->vpath, errno);
        return -1;
    }
    struct stat fst;
    if (sys_fstat(fd, &fst) != 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
        sys_closep(&fd);
        reply(s, FTP_FILE_UNAVAIL, "%s: changed while being examined; try again", p);
        return -1;
    }
    return fd;
}

void cmd_site_chmod(struct session *s, const char *arg)
{
    uint64_t mode;
    const char *p;
    if (!parse_chmod(arg, &mode, &p)) {
        reply(s, FTP_SYNTAX_ARG, "Usage: SITE CHMOD MODE PATH (MODE in octal, e.g. 644)");
        return;
    }
    /* SECURITY: setuid, setgid and sticky bits are dropped: a setuid file
     * uploaded here would be a privilege escalation for anyone who can run
     * files from this tree on the host. */
    mode_t m = (mode_t)(mode & 0777);
    struct vpath_target t;
    if (!vpath_open_parent(s, "SITE CHMOD", p, false, &t)) {
        return;
    }
    int fd = open_to_change(s, "SITE CHMOD", p, &t);
    sys_closep(&t.dirfd);
    if (fd < 0) {
        return;
    }
    if (sys_fchmod(fd, m) != 0) {
        int e = errno;
        sys_closep(&fd);
        vpath_fail(s, "SITE CHMOD", p, t.vpath, e);
        return;
    }
    sys_closep(&fd);
    info("SITE CHMOD %03o %s", (unsigned)m, t.vpath);
    reply(s, FTP_OK, "SITE CHMOD command ok (mode %03o)", (unsigned)m);
}

/* MFMT (draft-somers-ftp-mfxx): "TIME PATH", the time an RFC 3659 time-val
 * in UTC, one blank, then the path. WinSCP and FileZilla send it after an
 * upload to keep the file's time; it changes the file as overwriting it
 * would, hence the 'w' and 'd' rights (SPEC §5, checked by the table). */
void cmd_mfmt(struct session *s, const char *arg)
{
    char when[32];
    size_t n = strcspn(arg, " ");
    struct timespec mtime;
    if (n >= sizeof when || arg[n] != ' ' || arg[n + 1] == '\0') {
        reply(s, FTP_SYNTAX_ARG, "Usage: MFMT YYYYMMDDHHMMSS PATH (the time in UTC)");
        return;
    }
    memcpy(when, arg, n);
    when[n] = '\0';
    const char *p = arg + n + 1;
    if (!list_parse_time(when, &mtime)) {
        reply(s, FTP_SYNTAX_ARG, "MFMT: '%s' is not a time YYYYMMDDHHMMSS[.fff] in UTC", when);
        return;
    }
    struct vpath_target t;
    if (!vpath_open_parent(s, "MFMT", p, false, &t)) {
        return;
    }
    int fd = open_to_change(s, "MFMT", p, &t);
    sys_closep(&t.dirfd);
    if (fd < 0) {
        return;
    }
    if (sys_set_mtime(fd, &mtime) != 0) {
        int e = errno;
        sys_closep(&fd);
        vpath_fail(s, "MFMT", p, t.vpath, e);
        return;
    }
    sys_closep(&fd);
    info("MFMT %.14s %s", when, t.vpath);
    reply(s, FTP_STAT_FILE, "Modify=%.14s; %s", when, p);
}
