/* Everything a session needs before its first client byte (include/
 * startup.h), checked in one place for `-t` and for a session: the review
 * found them apart — as root, a policy without run-as passed `-t` and every
 * session was refused; a keylog owned by another account passed `-t` and
 * every session got 421. The drop itself, the order of its system calls, is
 * ftpsd-inetd.c's (STYLE.md habit 8); what it drops to is decided here. */
#include "startup.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slots.h"
#include "sys.h"
#include "sys_fs.h"
#include "tls.h"

/* One problem, formatted, through the caller's report function. */
static int problem(const struct policy *pol, pol_report_fn *report, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int problem(const struct policy *pol, pol_report_fn *report, void *ctx, const char *fmt, ...)
{
    char msg[DEFS_POLICY_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0) {
        msg[0] = '\0';
    }
    va_end(ap);
    report(ctx, pol->path, 0, msg);
    return 1;
}

/* Who the session runs as (SPEC §4.1): the account run-as names, which
 * must exist and be neither root nor of root's group; as root, run-as is
 * required; not as root, neither chroot nor another account is possible. */
static int check_account(const struct policy *pol, struct startup *st, pol_report_fn *report,
                         void *ctx)
{
    uid_t euid = geteuid();
    const struct passwd *pw = pol->run_as ? getpwnam(pol->run_as) : NULL;
    if (pol->run_as && !pw) {
        return problem(pol, report, ctx, "run-as %s: no such account", pol->run_as);
    }
    if (euid != 0) {
        if (pol->chroot) {
            return problem(pol, report, ctx, "chroot needs ftpsd-inetd to be started as root");
        }
        if (pw && pw->pw_uid != euid) {
            return problem(pol, report, ctx, "run-as names another account, but we are not root");
        }
        return 0;
    }
    if (!pw) {
        return problem(pol, report, ctx,
                       "started as root without run-as: refusing to serve as root");
    }
    if (pw->pw_uid == 0) {
        return problem(pol, report, ctx, "run-as must not be root");
    }
    /* SECURITY: group 0 owns and may write what root's group may; a session
     * that keeps it has not dropped root's rights. */
    if (pw->pw_gid == 0) {
        return problem(pol, report, ctx,
                       "run-as %s has root's group (gid 0) as its primary group: choose an "
                       "account whose group is not 0",
                       pol->run_as);
    }
    struct stat sb;
    if (pol->chroot && (sys_stat(pol->chroot, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        return problem(pol, report, ctx, "chroot %s: not a directory", pol->chroot);
    }
    st->drop = true;
    st->uid = pw->pw_uid;
    st->gid = pw->pw_gid;
    return 0;
}

int startup_prepare(const struct policy *pol, struct startup *st, pol_report_fn *report, void *ctx)
{
    *st = (struct startup){.tls = NULL, .xferlog_fd = -1, .slots_fd = -1};
    int errors = check_account(pol, st, report, ctx);
    if (pol->tls != POL_TLS_OFF) {
        char why[DEFS_TLS_MSG_MAX];
        st->tls = tls_init(pol, why, sizeof why);
        if (!st->tls) {
            errors += problem(pol, report, ctx, "TLS set-up failed: %s", why);
        }
    }
    if (pol->xferlog) {
        st->xferlog_fd = sys_open_owned(pol->xferlog, O_WRONLY | O_APPEND | O_CREAT, 0640);
        if (st->xferlog_fd < 0) {
            errors += problem(pol, report, ctx, "xferlog %s: %s", pol->xferlog,
                              sys_open_owned_error(errno));
        }
    }
    if (slots_needed(pol)) {
        char why[DEFS_WHY_MAX * 2];
        st->slots_fd = slots_open(pol, why, sizeof why);
        if (st->slots_fd < 0) {
            errors += problem(pol, report, ctx, "%s", why);
        }
    }
    return errors;
}

void startup_release(struct startup *st)
{
    if (st->tls) {
        tls_free(st->tls);
        st->tls = NULL;
    }
    sys_closep(&st->xferlog_fd);
    sys_closep(&st->slots_fd);
}
