/* What a session needs before its first client byte, prepared the same way
 * for `-t` and for a session, so that `-t` predicts session start exactly:
 * every check that can refuse a session runs in startup_prepare() and
 * nowhere else. */
#ifndef FTPSD_STARTUP_H
#define FTPSD_STARTUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "policy.h"

struct tls_ctx;

struct startup {
    struct tls_ctx *tls; /* NULL with `tls off` */
    int xferlog_fd;      /* -1 without `xferlog` */
    int slots_fd;        /* the session-slot lock file, -1 without max-sessions/-per-ip */
    bool drop;           /* started as root: drop to uid/gid (and chroot) */
    uid_t uid;
    gid_t gid;
};

/* Checks who the session would run as (run-as, root, chroot), sets up TLS
 * (certificates, keys, client CA, keylog), opens the xferlog and the
 * session-slot lock file (max-sessions, max-per-ip), as the
 * account this process runs as. Reports each problem through `report`
 * (line 0) and returns how many; with 0, *st holds what the session uses.
 * Files are opened (and created) exactly as a session would. */
int startup_prepare(const struct policy *pol, struct startup *st, pol_report_fn *report, void *ctx);

/* Frees what startup_prepare made (for `-t`, which serves no session). */
void startup_release(struct startup *st);

#endif
