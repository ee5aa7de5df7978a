/* Diagnostics and the exit tiers (STYLE.md habit 9). In inetd mode fd 2 is
 * the client's socket, so nothing is written there unless the policy asked
 * for `log stderr`; the prefix of every line says how far the session got
 * (peer, then user), so one grep follows a session. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "text.h"
#include "sys.h"

static enum pol_log target = POL_LOG_SYSLOG;
static bool syslog_open;
static char peer_prefix[96];
static char user_prefix[DEFS_NAME_MAX + 8];

void log_early(int stderr_ok)
{
    target = stderr_ok ? POL_LOG_STDERR : POL_LOG_SYSLOG;
}

void log_open(enum pol_log t)
{
    target = t;
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
     * control characters would forge extra lines in a log file, and C1 or
     * bidi controls make a line read differently in a viewer. */
    (void)text_sanitize(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, true);
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
    if (!syslog_open) {
        openlog("ftpsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        syslog_open = true;
    }
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
