/* Diagnostics: syslog (daemon, ident ftpsd, pid), stderr or nothing, and the
 * three exit tiers of STYLE.md habit 9. A message never goes to fd 2 in inetd
 * mode unless the policy says `log stderr`. */
#ifndef FTPSD_LOG_H
#define FTPSD_LOG_H

#include <stdarg.h>

#include "policy.h"

/* Exit codes (SPEC §5). */
enum {
    EXIT_SESSION_OK = 0,
    EXIT_ENV = 1,
    EXIT_USAGE = 2,
    EXIT_TLS = 3,
    EXIT_BUG = 70,
};

/* The policy's `log-level` values, so a level compares with it directly. */
enum log_level {
    LOG_ERR_ = POL_LEVEL_ERROR,
    LOG_WARN_ = POL_LEVEL_WARN,
    LOG_INFO_ = POL_LEVEL_INFO,
    LOG_DEBUG_ = POL_LEVEL_DEBUG,
};

/* Chooses the target and the highest level written; before this is called
 * messages go to stderr when `stderr_ok`, else to syslog, up to info. */
void log_open(enum pol_log target, enum pol_log_level level);
void log_early(int stderr_ok);
/* The async-signal-safe path for a line written just before the process
 * dies (the seccomp sandbox's SIGSYS handler): log_sigsafe_prepare, called
 * once the target is known and before chroot, opens what it needs (for
 * syslog a socket of its own); log_sigsafe then writes `msg` as one error
 * line, with the session prefix, using only write(2). */
void log_sigsafe_prepare(void);
void log_sigsafe(const char *msg);
/* Sets the session prefix ("peer user") every later line carries. */
void log_set_peer(const char *peer);
void log_set_user(const char *user);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The session's last line, "session ended: REASON", written whatever the
 * rate cap, with the count of lines the cap dropped. */
void log_end(const char *reason);

/* Broken invariant: log (whatever the level and the cap) and exit 70. */
_Noreturn void bug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define info(...) log_msg(LOG_INFO_, __VA_ARGS__)
#define warn(...) log_msg(LOG_WARN_, __VA_ARGS__)
#define err(...) log_msg(LOG_ERR_, __VA_ARGS__)
#define debug(...) log_msg(LOG_DEBUG_, __VA_ARGS__)

#endif
