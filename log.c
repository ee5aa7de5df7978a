/* Diagnostics and the exit tiers (STYLE.md habit 9). In inetd mode fd 2 is
 * the client's socket, so nothing is written there unless the policy asked
 * for `log stderr`; the prefix of every line says how far the session got
 * (peer, then user), so one grep follows a session. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "sys.h"
#include "sys_net.h"

static enum pol_log target = POL_LOG_SYSLOG;
static bool syslog_open;
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

void log_open(enum pol_log t)
{
    target = t;
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

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
    if (target == POL_LOG_NONE) {
        return;
    }
    char msg[1024];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0) {
        return;
    }
    /* SECURITY: client bytes end up in log lines (user names, paths):
     * control characters would forge extra lines in a log file. */
    for (char *p = msg; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (target == POL_LOG_STDERR) {
        char line[1200];
        if (!sys_fmt(line, sizeof line, "ftpsd[%ld]: %s%s%s: %s\n", (long)getpid(), peer_prefix,
                     user_prefix, names[lvl], msg)) {
            line[sizeof line - 2] = '\n';
        }
        size_t len = 0;
        while (len < sizeof line && line[len]) {
            len++;
        }
        (void)sys_write_all(2, line, len);
        return;
    }
    open_syslog();
    syslog(syslog_prio(lvl), "%s%s%s", peer_prefix, user_prefix, msg);
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
    log_msg(LOG_ERR_, "BUG: %s", msg);
    exit(EXIT_BUG);
}
