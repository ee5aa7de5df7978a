/* The state of the one FTP session this process serves, in one place, grouped
 * by lifetime: what the process knows from start to end, what a login sets
 * (undone by logout), what the client's protocol commands set (undone by
 * REIN), and the data channel. session.c initialises and resets each group
 * from one description; handlers read and write the fields, nothing else
 * keeps session state in file-level variables. */
#ifndef FTPSD_SESSION_H
#define FTPSD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "buf.h"
#include "ctrl.h"
#include "defs.h"
#include "pasvaddr.h"
#include "policy.h"
#include "xfer.h"

struct tls_ctx;
struct tls_conn;
struct session;

/* What a control command seen during a transfer asks the transfer to do. */
enum xfer_ctl { XFER_GO_ON, XFER_ABORT, XFER_QUIT };

/* Serves one control command while a transfer runs: the transfer engine
 * calls it when control input is waiting. Set by the command layer (ftp.c),
 * so the engine below never calls up into it. */
typedef enum xfer_ctl xfer_ctrl_fn(struct session *s);

/* Who is logged in, and where: reset by logout (failed PASS, REIN, end). */
struct sess_login {
    const struct pol_user *user; /* after USER (NULL for an unknown name) */
    char username[DEFS_NAME_MAX];
    bool user_given; /* USER seen, PASS expected */
    bool logged_in;
    struct pol_effective eff; /* the logged-in (or candidate) user's rules */
    enum pol_tls tls_rule;    /* global until USER, then the user's */
    int root_fd;              /* the user's root (O_PATH), -1 before login */
    char cwd[DEFS_PATH_MAX];  /* virtual, starts with '/' */
};

/* What the client's protocol commands set: reset by REIN (RFC 959 §4.1.1,
 * RFC 4217 §13). */
struct sess_proto {
    bool pbsz_done;
    bool prot_private; /* PROT P */
    bool type_ascii;
    uint64_t rest; /* REST offset for the next RETR/STOR */
    bool rnfr_set;
    char rnfr[DEFS_PATH_MAX];
    bool host_given;
    char host[DEFS_HOST_MAX];
    int hash_algo; /* OPTS HASH's choice (enum pol_hash_algo); -1: the policy's first */
    bool rang_set; /* RANG given: the next HASH covers [rang_start, rang_end] */
    uint64_t rang_start, rang_end;
};

/* The data connection being prepared (PASV/EPSV/PORT/EPRT, dataport.c). */
struct data_state {
    int pasv_fd;                       /* listening socket after PASV/EPSV, or -1 */
    bool port_set;                     /* PORT/EPRT given */
    struct sockaddr_storage port_addr; /* target of an active connection */
    socklen_t port_len;
    bool epsv_all; /* EPSV ALL: PASV/PORT/EPRT refused */
};

/* The open data connection (dataconn.c opens and closes it, xfer.c moves
 * its bytes). One transfer at a time per session. */
struct data_conn {
    int fd;                 /* -1 when none is open */
    struct tls_conn *tls;   /* non-NULL under PROT P */
    bool watch_ctrl;        /* false after QUIT or the control connection's end */
    bool peer_closed;       /* FIN or close_notify seen: nothing more to wait for */
    int64_t last_ms;        /* last progress, for the idle limit */
    unsigned ctrl_stuck;    /* control readable yet nothing consumed, in a row */
    char why[DEFS_WHY_MAX]; /* why the last operation failed, for the 426 text */
};

/* The transfer in progress, for STAT, ABOR and the xferlog, and its
 * pace under the user's rate=. */
struct xfer_progress {
    bool active;
    bool upload;
    char vpath[DEFS_PATH_MAX];
    uint64_t bytes;
    int64_t started_ms;
    struct xfer_pace pace;
};

struct session {
    /* ---- for the whole process (session_init) ---- */
    const struct policy *pol;
    struct tls_ctx *tls; /* NULL when `tls off` */
    int ctrl_rfd, ctrl_wfd;
    struct sockaddr_storage peer_addr, local_addr;
    socklen_t peer_len;
    char peer[DEFS_PEER_STR_MAX]; /* "addr:port" for logs and STAT */
    int xferlog_fd;               /* opened before chroot, -1 if none */
    struct pasv_addrs pasv;       /* what PASV replies name */
    int64_t login_deadline_ms;    /* login-grace, from the connection (or the REIN after a login) */
    bool logged_in_once;          /* a login succeeded in this session */
    uint32_t max_iterations;      /* slowest hash in the policy, for unknown users */
    unsigned failed_logins;       /* counted across REIN: a new login is no new start */
    uint64_t hash_bytes;          /* hashed by HASH so far (hash-limit), across REIN too */
    xfer_ctrl_fn *during_xfer;    /* control commands while a transfer runs */

    /* ---- the control connection ---- */
    struct linereader lr;
    struct tls_conn *ctrl_tls;   /* non-NULL while the control channel is protected */
    char sni[DEFS_HOST_MAX];     /* SNI of the control handshake, "" if none */
    bool ccc_done;               /* clear for good after CCC (SPEC §5) */
    bool ccc_peer_skipped_close; /* ... and the client sent no close_notify */
    bool ctrl_failed;            /* a write failed: end the session */
    struct obuf reply_buf;       /* replies are assembled here, one write each */
    char reply_storage[DEFS_REPLY_MAX * 2];

    struct sess_login login;
    struct sess_proto proto;

    /* ---- the data channel ---- */
    struct data_state data;
    struct data_conn conn;
    struct xfer_progress xfer;
    /* One buffer per direction (STYLE.md habit 11): what the network sends
     * or received, and what the file gives or takes after TYPE A. */
    unsigned char net_buf[DEFS_XFER_BUF];
    unsigned char file_buf[DEFS_XFER_BUF];

    /* ---- how the session ends ---- */
    bool quit;               /* end the session after this command */
    bool quit_reply_pending; /* QUIT came during a transfer: 221 after it */
    int exit_code;
    const char *end_reason; /* for the session-end log line */
};

/* What the entry point hands a new session. */
struct session_start {
    const struct policy *pol;
    struct tls_ctx *tls;
    int rfd, wfd;
    struct sockaddr_storage peer, local;
    socklen_t peer_len;
    const char *peer_str;
    int xferlog_fd;
    struct pasv_addrs pasv;
    int64_t start_ms;
};

/* Every field from its description: logged out, protocol defaults, no data
 * connection, the login grace counted from st->start_ms. */
void session_init(struct session *s, const struct session_start *st);
/* The data group as it starts: no passive socket, no PORT target, no
 * connection, EPSV ALL off. The caller has closed any fds first. */
void session_data_initial(struct session *s);
/* Logs the user out: closes the root fd, forgets USER and the user's rules
 * (the global TLS rule applies again), cwd back to "/". */
void session_logout(struct session *s);
/* REIN's reset (RFC 4217 §13): logout, and PBSZ/PROT, TYPE, REST, RNFR,
 * HOST, the HASH algorithm and RANG back to their initial values. The data channel and TLS are the
 * caller's (dataport.c, tls.c). */
void session_rein(struct session *s);

#endif
