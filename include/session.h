/* The state of the one FTP session this process serves. ftp.c owns the
 * login and TLS fields, data.c the data-channel fields; everything else
 * reads them. */
#ifndef FTPSD_SESSION_H
#define FTPSD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ctrl.h"
#include "defs.h"
#include "policy.h"

struct tls_ctx;
struct tls_conn;

/* Data channel state (data.c). */
struct data_state {
    int pasv_fd;                       /* listening socket after PASV/EPSV, or -1 */
    bool port_set;                     /* PORT/EPRT given */
    struct sockaddr_storage port_addr; /* target of an active connection */
    socklen_t port_len;
    bool epsv_all;                     /* EPSV ALL: PASV/PORT/EPRT refused */
};

/* The transfer in progress, for STAT and ABOR (data.c fills it). */
struct xfer_progress {
    bool active;
    bool upload;
    char vpath[DEFS_PATH_MAX];
    uint64_t bytes;
    int64_t started_ms;
};

struct session {
    const struct policy *pol;
    struct tls_ctx *tls;          /* NULL when `tls off` */

    /* control connection */
    int ctrl_rfd, ctrl_wfd;
    struct tls_conn *ctrl_tls;    /* non-NULL while the control channel is protected */
    struct linereader lr;
    bool ctrl_failed;             /* a write failed: end the session */
    struct sockaddr_storage peer_addr, local_addr;
    socklen_t peer_len, local_len;
    char peer[80];                /* "addr:port" for logs */

    /* RFC 2228/4217 state */
    bool ccc_done;                /* control is clear for good */
    bool ccc_peer_skipped_close;  /* ... and the client sent no close_notify */
    bool pbsz_done;
    bool prot_private;            /* PROT P */
    char sni[256];                /* SNI of the control handshake, "" if none */
    bool host_given;
    char host[256];

    /* login */
    const struct pol_user *user;  /* after USER (NULL for an unknown name) */
    char username[DEFS_NAME_MAX];
    bool user_given;              /* USER seen, PASS expected */
    bool logged_in;
    struct pol_effective eff;     /* the logged-in (or candidate) user's rules */
    enum pol_tls tls_rule;        /* global until USER, then the user's */
    unsigned failed_logins;
    uint32_t max_iterations;      /* slowest hash in the policy, for unknown users */

    /* file system */
    int root_fd;                  /* the user's root, -1 before login */
    char cwd[DEFS_PATH_MAX];      /* virtual, starts with '/' */
    bool type_ascii;
    uint64_t rest;                /* REST offset for the next RETR/STOR */
    bool rnfr_set;
    char rnfr[DEFS_PATH_MAX];
    bool utf8;

    struct data_state data;
    struct xfer_progress xfer;
    int xferlog_fd;               /* opened before chroot, -1 if none */

    bool quit;                    /* end the session after this command */
    bool quit_reply_pending;      /* QUIT came during a transfer: 221 after it */
    int64_t login_deadline_ms;    /* login-grace, counted from process start */
    int exit_code;
    const char *end_reason;       /* for the session-end log line */
};

/* What a control command seen during a transfer asks the transfer to do. */
enum xfer_ctl { XFER_GO_ON, XFER_ABORT, XFER_QUIT };

#endif
