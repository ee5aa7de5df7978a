/* The wu-ftpd xferlog (include/xferlog.h): the pure line formatter, and the
 * one write per transfer. */
#include "xferlog.h"

#include <errno.h>
#include <string.h>

#include "defs.h"
#include "log.h"
#include "session.h"
#include "sys.h"
#include "text.h"

/* Appends s as one field of one line: blanks and C0 controls as '_', then
 * what text.c shows of the rest. SECURITY: C1 controls (NEL), the line and
 * paragraph separators end a line for some log readers, and bidi controls
 * make a record read otherwise, as C0 ones forge records. */
static bool append_field(char *out, size_t cap, size_t *pos, const char *s)
{
    if (!s || !*s) {
        return sys_append(out, cap, pos, "_");
    }
    size_t start = *pos;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (*pos + 1 >= cap) {
            return false;
        }
        out[(*pos)++] = (c <= 0x20 || c == 0x7f) ? '_' : (char)c;
    }
    *pos = start + text_sanitize(out + start, *pos - start, false);
    out[*pos] = '\0';
    return true;
}

size_t xferlog_format(char *out, size_t cap, const struct xferlog_record *r)
{
    static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (cap == 0 || !localtime_r(&r->end, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 ||
        tm.tm_mon < 0 || tm.tm_mon > 11) {
        return 0;
    }
    size_t pos = 0;
    bool ok = sys_append(
        out, cap, &pos, "%s %s %2d %02d:%02d:%02d %d %llu %s %llu ", wdays[tm.tm_wday],
        months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900,
        (unsigned long long)(r->seconds ? r->seconds : 1), r->peer, (unsigned long long)r->bytes);
    ok = ok && append_field(out, cap, &pos, r->path);
    ok = ok && sys_append(out, cap, &pos, " %c _ %c %c ", r->ascii ? 'a' : 'b',
                          r->upload ? 'i' : 'o', r->anonymous ? 'a' : 'r');
    ok = ok && append_field(out, cap, &pos, r->user);
    ok = ok && sys_append(out, cap, &pos, " ftp 0 * %c\n", r->complete ? 'c' : 'i');
    return ok ? pos : 0;
}

void xferlog_write(struct session *s, bool complete)
{
    if (s->xferlog_fd < 0) {
        return;
    }
    char peer[DEFS_PEER_STR_MAX];
    if (!sys_addr_str((const struct sockaddr *)&s->peer_addr, s->peer_len, peer, sizeof peer,
                      false)) {
        (void)sys_copy(peer, sizeof peer, "?");
    }
    /* The admin's view of the file: the user's root inside the chroot. */
    char path[DEFS_PATH_MAX * 2];
    const char *root = s->login.eff.root ? s->login.eff.root : "/";
    bool root_is_slash = root[0] == '/' && root[1] == '\0';
    bool vpath_is_slash = s->xfer.vpath[0] == '/' && s->xfer.vpath[1] == '\0';
    if (!sys_fmt(path, sizeof path, "%s%s", root_is_slash ? "" : root,
                 (vpath_is_slash && !root_is_slash) ? "" : s->xfer.vpath)) {
        (void)sys_copy(path, sizeof path, s->xfer.vpath);
    }
    int64_t ms = sys_now_ms() - s->xfer.started_ms;
    struct xferlog_record r = {
        .end = time(NULL),
        .seconds = (uint64_t)((ms + 500) / 1000),
        .peer = peer,
        .bytes = s->xfer.bytes,
        .path = path,
        .ascii = s->proto.type_ascii,
        .upload = s->xfer.upload,
        .anonymous = s->login.user && s->login.user->anonymous,
        .user = s->login.username,
        .complete = complete,
    };
    char line[DEFS_PATH_MAX * 2 + 512];
    size_t n = xferlog_format(line, sizeof line, &r);
    if (n == 0) {
        warn("xferlog: line for %s too long; not written", path);
        return;
    }
    /* One write(2): on an O_APPEND fd the line lands whole. */
    if (!sys_write_once(s->xferlog_fd, line, n)) {
        warn("xferlog: write failed: %s", errno ? strerror(errno) : "short write");
    }
}
