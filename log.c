/* Diagnostics and the exit tiers (STYLE.md habit 9). In inetd mode fd 2 is
 * the client's socket, so nothing is written there unless the policy asked
 * for `log stderr`; the prefix of every line says how far the session got
 * (peer, then user), so one grep follows a session.
 *
 * SECURITY: a client can make a session log (unknown commands, failed
 * logins, refusals). Lines above the policy's `log-level` are not written,
 * and each session may write DEFS_LOG_LINES_PER_SEC lines a second after a
 * burst of DEFS_LOG_BURST: 20,000 commands a second from one client must not
 * make journald's rate limit drop the security lines of other sessions. The
 * cap is said once; the session's last line says how many were dropped.
 * Integer arithmetic only (routers without an FPU). */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "text.h"
#include "sys.h"
#include "sys_net.h"

static enum pol_log target = POL_LOG_SYSLOG;
static enum log_level max_level = LOG_INFO_;
static bool syslog_open;
/* The per-session token bucket, in thousandths of a line. */
static int64_t bucket_ms;
static int64_t bucket_milli = (int64_t)DEFS_LOG_BURST * 1000;
static unsigned long dropped;
static bool cap_said;
/* The signal-safe path (log_sigsafe): its own syslog socket, since
 * syslog(3) is not async-signal-safe and hides its descriptor, and the
 * head of each line, formatted in advance. */
static int sigsafe_fd = -1;
static char sigsafe_head[48];
static char peer_prefix[96];
static char user_prefix[DEFS_NAME_MAX + 8];

void log_early(int stderr_ok)
{
    target = stderr_ok ? POL_LOG_STDERR : POL_LOG_SYSLOG;
}

static void open_syslog(void)
{
    if (!syslog_open) {
        openlog("ftpsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        syslog_open = true;
    }
}

void log_open(enum pol_log t, enum pol_log_level level)
{
    target = t;
    max_level = (enum log_level)level;
    /* LOG_NDELAY connects /dev/log now, while it is in reach: after chroot
     * syslog(3) could not find it, and the sandbox refuses new sockets. */
    if (t == POL_LOG_SYSLOG) {
        open_syslog();
    }
}

void log_sigsafe_prepare(void)
{
    long pid = (long)getpid();
    if (target == POL_LOG_SYSLOG) {
        if (sigsafe_fd < 0) {
            sigsafe_fd = sys_unix_dgram_connect(_PATH_LOG);
        }
        /* RFC 3164 without a timestamp: the syslog daemon adds its own. */
        (void)sys_fmt(sigsafe_head, sizeof sigsafe_head, "<%d>ftpsd[%ld]: ", LOG_DAEMON | LOG_ERR,
                      pid);
    } else {
        (void)sys_fmt(sigsafe_head, sizeof sigsafe_head, "ftpsd[%ld]: ", pid);
    }
}

static void put(char *dst, size_t dstsz, size_t *pos, const char *src)
{
    while (*src && *pos < dstsz) {
        dst[(*pos)++] = *src++;
    }
}

void log_sigsafe(const char *msg)
{
    char line[512];
    size_t n = 0;
    int fd;
    if (target == POL_LOG_STDERR) {
        fd = 2;
    } else if (target == POL_LOG_SYSLOG) {
        fd = sigsafe_fd;
    } else {
        return;
    }
    if (fd < 0 || sigsafe_head[0] == '\0') {
        return;
    }
    put(line, sizeof line - 1, &n, sigsafe_head);
    put(line, sizeof line - 1, &n, peer_prefix);
    put(line, sizeof line - 1, &n, user_prefix);
    if (target == POL_LOG_STDERR) {
        put(line, sizeof line - 1, &n, "error: ");
    }
    put(line, sizeof line - 1, &n, msg);
    if (target == POL_LOG_STDERR) {
        line[n++] = '\n';
    }
    (void)sys_write_once(fd, line, n);
}

/* One line's worth from the bucket, refilled at DEFS_LOG_LINES_PER_SEC. */
static bool take_line(void)
{
    int64_t now = sys_now_ms();
    if (bucket_ms != 0 && now > bucket_ms) {
        bucket_milli += (now - bucket_ms) * DEFS_LOG_LINES_PER_SEC;
        if (bucket_milli > (int64_t)DEFS_LOG_BURST * 1000) {
            bucket_milli = (int64_t)DEFS_LOG_BURST * 1000;
        }
    }
    bucket_ms = now;
    if (bucket_milli < 1000) {
        return false;
    }
    bucket_milli -= 1000;
    return true;
}

void log_set_peer(const char *peer)
{
    (void)sys_fmt(peer_prefix, sizeof peer_prefix, "%s ", peer);
}

void log_set_user(const char *user)
{
    if (!user || !*user) {
        user_prefix[0] = '\0';
        return;
    }
    (void)sys_fmt(user_prefix, sizeof user_prefix, "[%s] ", user);
}

static int syslog_prio(enum log_level lvl)
{
    switch (lvl) {
    case LOG_ERR_:
        return LOG_ERR;
    case LOG_WARN_:
        return LOG_WARNING;
    case LOG_INFO_:
        return LOG_INFO;
    default:
        return LOG_DEBUG;
    }
}

/* Formats and writes one line, whatever the level and the cap. */
static void write_line(enum log_level lvl, const char *fmt, va_list ap)
{
    if (target == POL_LOG_NONE) {
        return;
    }
    char msg[DEFS_LOG_LINE_MAX];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0) {
        return;
    }
    /* SECURITY: client bytes end up in log lines (user names, paths):
     * control characters would forge extra lines in a log file, and C1 or
     * bidi controls make a line read differently in a viewer. */
    (void)text_sanitize(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, true);
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (target == POL_LOG_STDERR) {
        char line[DEFS_LOG_LINE_MAX + 200];
        if (!sys_fmt(line, sizeof line, "ftpsd[%ld]: %s%s%s: %s\n", (long)getpid(), peer_prefix,
                     user_prefix, names[lvl], msg)) {
            line[sizeof line - 2] = '\n';
        }
        size_t len = 0;
        while (len < sizeof line && line[len]) {
            len++;
        }
        (void)sys_write_all(2, line, len, DEFS_LOG_WRITE_MS);
        return;
    }
    open_syslog();
    syslog(syslog_prio(lvl), "%s%s%s", peer_prefix, user_prefix, msg);
}

static void write_linef(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void write_linef(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    write_line(lvl, fmt, ap);
    va_end(ap);
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
    if (lvl > max_level) {
        return;
    }
    if (!take_line()) {
        dropped++;
        if (!cap_said) {
            cap_said = true;
            write_linef(LOG_WARN_,
                        "this session logs more than %d lines a second: lines are dropped while "
                        "it lasts (the session's last line says how many were dropped)",
                        DEFS_LOG_LINES_PER_SEC);
        }
        return;
    }
    write_line(lvl, fmt, ap);
}

void log_end(const char *reason)
{
    if (dropped > 0) {
        write_linef(LOG_INFO_, "session ended: %s (%lu log lines dropped by the rate cap)", reason,
                    dropped);
    } else if (max_level >= LOG_INFO_) {
        write_linef(LOG_INFO_, "session ended: %s", reason);
    }
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(lvl, fmt, ap);
    va_end(ap);
}

void bug(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[900];
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0) {
        msg[0] = '\0';
    }
    va_end(ap);
    write_linef(LOG_ERR_, "BUG: %s", msg);
    exit(EXIT_BUG);
}
