/* Opening and closing data connections (include/dataconn.h). The waits here
 * go through the transfer engine's poll loop, so ABOR is served while we
 * wait for the client to connect. The SECURITY rules of SPEC §4.3 sit here:
 * a passive connection from another address is dropped unread, and a
 * protected one must resume the control connection's TLS session. */
#include "dataconn.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "codes.h"
#include "ctrl.h"
#include "defs.h"
#include "log.h"
#include "session.h"
#include "sys.h"
#include "sys_net.h"
#include "tls.h"
#include "xfer.h"

/* Accepts the client's connection to the passive socket, from the control
 * peer only. The fd, or -1 with *st and why filled. */
static int accept_passive(struct session *s, int64_t deadline, enum data_status *st, char *why,
                          size_t whysz)
{
    for (;;) {
        int r = xfer_wait(s, s->data.pasv_fd, POLLIN, deadline, st);
        if (r == 0) {
            (void)sys_fmt(why, whysz, "no connection to the passive port within %d s",
                          DEFS_DATA_CONNECT_TIMEOUT);
            return -1;
        }
        if (r < 0) {
            (void)sys_copy(why, whysz, s->conn.why);
            return -1;
        }
        struct sockaddr_storage sa;
        socklen_t len;
        int fd = sys_accept(s->data.pasv_fd, &sa, &len);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED ||
                errno == EPROTO) {
                continue;
            }
            (void)sys_fmt(why, whysz, "accept: %s", strerror(errno));
            return -1;
        }
        /* SECURITY: connection theft (a third host racing the client to
         * the announced port would read a download or write an upload).
         * Another address is dropped unread and the real client may still
         * come until the deadline. */
        if (!s->pol->fxp &&
            !sys_same_ip((struct sockaddr *)&sa, (struct sockaddr *)&s->peer_addr)) {
            char a[DEFS_PEER_STR_MAX];
            if (!sys_addr_str((struct sockaddr *)&sa, len, a, sizeof a, true)) {
                (void)sys_copy(a, sizeof a, "?");
            }
            warn("SECURITY: passive data connection from %s refused: the control peer is %s", a,
                 s->peer);
            sys_closep(&fd);
            continue;
        }
        return fd;
    }
}

/* The local address for an active connection: the control connection's
 * own address in the target's family (port 0: we are unprivileged, so not
 * port 20), or none if the families differ (fxp to another family). */
static bool active_source(const struct session *s, int family, struct sockaddr_storage *src)
{
    struct in_addr v4;
    *src = s->local_addr;
    if (family == AF_INET6 && src->ss_family == AF_INET6) {
        sys_addr_set_port(src, 0);
        return true;
    }
    if (family == AF_INET && sys_addr_v4(&s->local_addr, &v4)) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = v4};
        *src = (struct sockaddr_storage){0};
        memcpy(src, &sin, sizeof sin);
        return true;
    }
    return false;
}

/* Connects to the PORT/EPRT target. The fd, or -1 with *st and why. */
static int connect_active(struct session *s, int64_t deadline, enum data_status *st, char *why,
                          size_t whysz)
{
    const struct sockaddr_storage *to = &s->data.port_addr;
    char shown[DEFS_PEER_STR_MAX];
    if (!sys_addr_str((const struct sockaddr *)to, s->data.port_len, shown, sizeof shown, true)) {
        (void)sys_copy(shown, sizeof shown, "?");
    }
    int fd = sys_tcp_socket(to->ss_family);
    if (fd < 0) {
        (void)sys_fmt(why, whysz, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_storage src;
    if (active_source(s, to->ss_family, &src) && sys_bind(fd, &src) != 0) {
        (void)sys_fmt(why, whysz, "bind to the local address: %s", strerror(errno));
        sys_closep(&fd);
        return -1;
    }
    if (sys_connect(fd, to, s->data.port_len) != 0 && errno != EINPROGRESS) {
        (void)sys_fmt(why, whysz, "connect to %s: %s", shown, strerror(errno));
        sys_closep(&fd);
        return -1;
    }
    int r = xfer_wait(s, fd, POLLOUT, deadline, st);
    int soerr = r > 0 ? sys_socket_error(fd) : 0;
    if (r == 0) {
        (void)sys_fmt(why, whysz, "connect to %s: no answer within %d s", shown,
                      DEFS_DATA_CONNECT_TIMEOUT);
    } else if (r < 0) {
        (void)sys_copy(why, whysz, s->conn.why);
    } else if (soerr != 0) {
        (void)sys_fmt(why, whysz, "connect to %s: %s", shown, strerror(soerr));
    } else {
        return fd;
    }
    sys_closep(&fd);
    return -1;
}

/* The admin's half of a 522: what to change on the client or the policy. */
static void warn_not_resumed(const struct session *s)
{
    if (s->ccc_done) {
        /* lftp resumes from its live control session, gone after CCC;
         * OpenSSL marks a session left without close_notify (curl's
         * default CCC mode) as not resumable. curl --ftp-ssl-ccc-mode
         * active keeps a resumable session. */
        warn("data connection refused: it did not resume the control connection's TLS session "
             "(data-reuse required). After CCC%s some clients have no session left to resume "
             "(lftp; curl unless --ftp-ssl-ccc-mode active): use that curl option, or set "
             "data-reuse optional for clients that send CCC",
             s->ccc_peer_skipped_close ? " without the client's close_notify" : "");
        return;
    }
    warn("data connection refused: it did not resume the control connection's TLS session "
         "(data-reuse required). Fix on the client: curl, lftp and FileZilla resume by default; "
         "Python ftplib needs session=self.sock.session in ntransfercmd; or set data-reuse "
         "optional in the policy");
}

/* TCP_CORK on a data connection while its bytes flow, off before the
 * closing exchange. PERF: every socket has TCP_NODELAY (SPEC §5: handshake
 * messages must not wait on delayed ACKs), so each 16 KiB TLS record is a TCP
 * push of its own, and a reader that is faster than we are (curl's OpenSSL
 * decrypts ~10x faster than mbed TLS encrypts) sleeps and is woken once per
 * record; on loopback and virtio that wakeup is paid by the sender and cost
 * ~10 % of the session's CPU on a 512 MiB download (bench/throughput, perf).
 * Corked, the kernel sends full-sized segments (64 KiB on loopback) and the
 * reader is woken a quarter as often. Set only after the TLS handshake (its
 * small messages must not wait for the cork's 200 ms timer); data_close()
 * takes it off first, so the last record and close_notify leave at once. */
static void cork(int fd, bool on)
{
    if (!sys_set_cork(fd, on)) {
        debug("TCP_CORK %d: %s", on ? 1 : 0, strerror(errno));
    }
}

/* The server side of TLS on the new connection; false (reply sent) when it
 * fails or does not resume the control session under data-reuse required. */
static bool protect(struct session *s)
{
    struct data_conn *dc = &s->conn;
    if (!s->tls || !sys_set_nonblock(dc->fd, false)) {
        data_abandon(s);
        reply(s, FTP_CANT_OPEN_DATA, "Cannot open data connection: TLS is not available");
        return false;
    }
    /* Backstop for a client that stops reading in the middle of a record:
     * the blocking write inside tls_write() ends after the idle limit. */
    if (!sys_set_send_timeout(dc->fd, s->pol->idle)) {
        debug("SO_SNDTIMEO: %s", strerror(errno));
    }
    char terr[DEFS_WHY_MAX * 2] = "";
    enum tls_fail fail = TLS_FAIL_NONE;
    struct tls_conn *c = tls_accept(s->tls, dc->fd, dc->fd, TLS_ROLE_DATA,
                                    DEFS_DATA_CONNECT_TIMEOUT * 1000, &fail, terr, sizeof terr);
    /* SECURITY: a protected data connection that does not resume the
     * control session could belong to anybody who raced the client to the
     * port (the attack vsftpd's require_ssl_reuse stops); resumption proves
     * it comes from the party that holds the control session's keys. With
     * data-reuse required tls_accept refuses it (after close_notify, so the
     * client sees a clean end and reads the 522). */
    if (fail == TLS_FAIL_NOT_RESUMED) {
        warn_not_resumed(s);
        data_abandon(s);
        reply(s, FTP_EXT_NETWORK,
              "Data connection must resume the control connection's TLS session");
        return false;
    }
    if (!c) {
        warn("TLS handshake on the data connection failed: %s", terr);
        data_abandon(s);
        reply(s, FTP_CANT_OPEN_DATA, "TLS handshake on the data connection failed: %s", terr);
        return false;
    }
    dc->tls = c;
    return true;
}

bool data_open(struct session *s)
{
    struct data_conn *dc = &s->conn;
    if (dc->fd >= 0) {
        bug("data_open while a data connection is open");
    }
    *dc = (struct data_conn){.fd = -1, .watch_ctrl = true, .last_ms = sys_now_ms()};
    int64_t deadline = sys_now_ms() + (int64_t)DEFS_DATA_CONNECT_TIMEOUT * 1000;
    enum data_status st = DATA_ERROR;
    char why[DEFS_WHY_MAX + 40] = "";
    int fd;
    if (s->data.pasv_fd >= 0) {
        fd = accept_passive(s, deadline, &st, why, sizeof why);
    } else if (s->data.port_set) {
        fd = connect_active(s, deadline, &st, why, sizeof why);
    } else {
        reply(s, FTP_CANT_OPEN_DATA, "Use PASV or EPSV (or PORT/EPRT) first");
        return false;
    }
    /* Each PASV/PORT serves one transfer. */
    sys_closep(&s->data.pasv_fd);
    s->data.port_set = false;
    if (fd < 0) {
        if (st == DATA_ABORTED) {
            xfer_reply_failure(s, DATA_ABORTED, NULL);
        } else {
            info("data connection failed: %s", why);
            reply(s, FTP_CANT_OPEN_DATA, "Cannot open data connection: %s", why);
        }
        return false;
    }
    sys_tune_socket(fd);
    dc->fd = fd;
    if (!s->proto.prot_private) {
        /* Clear connections are driven non-blocking by the poll loop. */
        if (!sys_set_nonblock(fd, true)) {
            err("data connection: O_NONBLOCK: %s", strerror(errno));
            data_abandon(s);
            reply(s, FTP_CANT_OPEN_DATA, "Cannot open data connection: internal error");
            return false;
        }
    } else if (!protect(s)) {
        return false;
    }
    cork(fd, true);
    return true;
}

/* After a clear download: our FIN, then wait (bounded) for the client's,
 * discarding anything it still sends. */
static bool clear_close(struct data_conn *dc)
{
    if (sys_shutdown_write(dc->fd) != 0) {
        return false;
    }
    int64_t deadline = sys_now_ms() + DEFS_DATA_CLOSE_TIMEOUT * 1000;
    char sink[512];
    for (;;) {
        int64_t left = deadline - sys_now_ms();
        if (left <= 0 || sys_wait_fd(dc->fd, false, (int)left) <= 0) {
            return true;
        }
        ssize_t r = sys_recv_nowait(dc->fd, sink, sizeof sink);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
            return true;
        }
    }
}

bool data_close(struct session *s)
{
    struct data_conn *dc = &s->conn;
    bool ok = true;
    if (dc->fd < 0) {
        return true;
    }
    /* The tail of the data, then close_notify or FIN, leave now. */
    cork(dc->fd, false);
    if (dc->tls) {
        /* After a download, wait for the client's close_notify: it proves
         * the client read everything, and closing earlier with its
         * close_notify unread would make the kernel reset the connection
         * and discard data still in flight. */
        ok = tls_close(dc->tls, !dc->peer_closed, DEFS_DATA_CLOSE_TIMEOUT * 1000);
        dc->tls = NULL;
    } else if (!dc->peer_closed) {
        ok = clear_close(dc);
    }
    if (sys_close(dc->fd) != 0) {
        ok = false;
    }
    dc->fd = -1;
    return ok;
}

void data_abandon(struct session *s)
{
    struct data_conn *dc = &s->conn;
    if (dc->tls) {
        tls_discard(dc->tls);
        dc->tls = NULL;
    }
    sys_closep(&dc->fd);
}

void data_reset(struct session *s)
{
    sys_closep(&s->data.pasv_fd);
    data_abandon(s);
    session_data_initial(s);
}
