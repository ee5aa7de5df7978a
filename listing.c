/* Directory listings as commands (SPEC §3, §4.4): LIST, NLST and MLSD over
 * the data connection, MLST and STAT PATH on the control connection. The
 * formats and the streaming walk are list.c's; this file resolves the path,
 * opens what is listed and connects list.c's lines to the transfer engine
 * (or to the reply writer), so a directory of any size costs one line. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "dataconn.h"
#include "dataport.h"
#include "defs.h"
#include "list.h"
#include "log.h"
#include "path.h"
#include "session.h"
#include "sys.h"
#include "sys_fs.h"
#include "vpath.h"
#include "xfer.h"

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
    return sys_fstat(s->login.root_fd, &rs) == 0 && rs.st_dev == st->st_dev &&
           rs.st_ino == st->st_ino;
}

/* What a listing shows: a directory opened for reading (dirfd), or a single
 * object (dirfd -1, st filled). */
struct listed {
    char vpath[DEFS_PATH_MAX];
    const char *shown;
    const char *name; /* the argument after options */
    struct stat st;
    int dirfd;
    bool all; /* -a */
};

/* Resolves and opens what a listing command names. False (reply sent) on
 * error. */
static bool open_listed(struct session *s, const char *verb, const char *p, struct listed *l)
{
    l->dirfd = -1;
    l->name = p;
    if (!vpath_resolve(s, p, l->vpath, sizeof l->vpath, false)) {
        return false;
    }
    l->shown = vpath_shown(p, l->vpath);
    int fd = path_open(s->login.root_fd, l->vpath, O_PATH, 0);
    if (fd < 0 || sys_fstat(fd, &l->st) != 0) {
        int e = errno;
        sys_closep(&fd);
        vpath_fail(s, verb, l->shown, l->vpath, e);
        return false;
    }
    if (S_ISDIR(l->st.st_mode)) {
        l->dirfd = sys_openat(fd, ".", O_RDONLY | O_DIRECTORY, 0);
        if (l->dirfd < 0) {
            int e = errno;
            sys_closep(&fd);
            vpath_fail(s, verb, l->shown, l->vpath, e);
            return false;
        }
    }
    sys_closep(&fd);
    return true;
}

/* Emits the listing of l (closing its dirfd): 0, ECANCELED if emit
 * stopped, or the errno of a failed directory read. */
static int emit_listed(struct listed *l, const struct list_opts *o, list_emit_fn *emit, void *ctx)
{
    if (l->dirfd >= 0) {
        int dirfd = l->dirfd;
        l->dirfd = -1;
        return list_dir(dirfd, o, emit, ctx); /* closes dirfd */
    }
    /* LIST of a file lists that file, under the name given. */
    (void)list_one(&l->st, l->name[0] ? l->name : vpath_leaf(l->vpath), NULL, o, emit, ctx);
    return 0;
}

/* The end of a listing on the data connection: 226, or why it failed. */
static void finish_listing(struct session *s, const char *verb, const struct listed *l,
                           struct xfer_sink *k, int e)
{
    if (k->st == DATA_OK && (e == 0 || e == ECANCELED)) {
        (void)xfer_sink_flush(k);
    }
    if (k->st == DATA_OK && e == 0) {
        (void)data_close(s);
        xfer_end(s, true, false);
        reply(s, FTP_TRANSFER_OK, "Listing sent (%llu bytes)", (unsigned long long)s->xfer.bytes);
        return;
    }
    data_abandon(s);
    xfer_end(s, false, false);
    if (k->st != DATA_OK) {
        xfer_reply_failure(s, k->st, NULL);
        return;
    }
    err("%s %s: reading the directory failed: %s", verb, l->vpath, strerror(e));
    reply(s, FTP_LOCAL_ERROR, "Error reading directory %s (%s); listing incomplete", l->shown,
          strerror(e));
}

static void listing(struct session *s, const char *arg, enum list_kind kind, const char *verb)
{
    static struct listed l;
    l.all = false;
    const char *p = kind == LIST_FACTS ? arg : list_parse_options(arg, &l.all);
    if (!open_listed(s, verb, p, &l)) {
        return;
    }
    if (l.dirfd < 0 && kind == LIST_FACTS) {
        reply(s, FTP_SYNTAX_ARG, "%s: Not a directory; MLSD lists directories, use MLST", l.shown);
        return;
    }
    if (!data_prepared(s)) {
        sys_closep(&l.dirfd);
        reply(s, FTP_CANT_OPEN_DATA, "Use PASV or EPSV (or PORT/EPRT) first");
        return;
    }
    reply(s, FTP_DATA_OPENING, "Here comes the listing of %s", l.shown);
    xfer_begin(s, l.vpath, false);
    if (!data_open(s)) {
        sys_closep(&l.dirfd);
        xfer_end(s, false, false);
        return;
    }
    struct xfer_sink k = {.s = s, .st = DATA_OK};
    struct list_opts o = {
        .kind = kind,
        .all = l.all,
        .at_root = is_root_dir(s, &l.st),
        .access = s->login.eff.access,
        .now = time(NULL),
    };
    int e = emit_listed(&l, &o, xfer_sink_line, &k);
    finish_listing(s, verb, &l, &k, e);
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
    struct stat st;
    if (!vpath_stat(s, "MLST", arg, vpath, sizeof vpath, &st)) {
        return;
    }
    const char *shown = vpath_shown(arg, vpath);
    char line[DEFS_LIST_LINE_MAX];
    /* RFC 3659 §7.3: the object's pathname follows the facts. */
    size_t n = list_format_facts(line, sizeof line, &st, NULL, s->login.eff.access, vpath);
    if (n == 0) {
        reply(s, FTP_BAD_NAME, "%s: name too long to list", shown);
        return;
    }
    reply_start(s, FTP_FILE_OK, "Listing %s", shown);
    reply_more(s, "%s", line);
    reply(s, FTP_FILE_OK, "End");
}

void cmd_stat_path(struct session *s, const char *arg)
{
    static struct listed l;
    l.all = false;
    const char *p = list_parse_options(arg, &l.all);
    if (!open_listed(s, "STAT", p, &l)) {
        return;
    }
    struct list_opts o = {
        .kind = LIST_LONG, .all = l.all, .access = s->login.eff.access, .now = time(NULL)};
    reply_start(s, FTP_STAT_FILE, "Status of %s:", l.shown);
    int e = emit_listed(&l, &o, ctrl_emit, s);
    if (e != 0 && e != ECANCELED) {
        reply_more(s, "(listing incomplete: %s)", strerror(e));
    }
    reply(s, FTP_STAT_FILE, "End of status");
}
