/* The data channel (STYLE.md habit 11, SPEC §3, §4.3). PASV/EPSV prepare
 * one listening socket on the control connection's own local address;
 * PORT/EPRT prepare a target that may only be the control peer itself, on an
 * unprivileged port. data_open() then accepts or connects, makes the server
 * side of TLS on protected connections and insists that it resumes the
 * control session (SPEC `data-reuse required`). Every transfer goes through
 * one poll loop here that waits on the data socket AND the control
 * connection, so ABOR and STAT are served while bytes move, and a stalled
 * peer runs into the policy's idle limit instead of hanging the session.
 *
 * This file also holds the pure helpers of the transfer path (xfer.h): TYPE
 * A conversion across buffer boundaries, the xferlog line, temporary names.
 * Buffers belong to the caller (files.c): nothing here grows with the size
 * of a file. */
#include "data.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "defs.h"
#include "log.h"
#include "sys.h"
#include "tls.h"
#include "xfer.h"

struct data_conn {
    int fd;
    struct tls_conn *tls;
    bool watch_ctrl;  /* false after QUIT or the control connection's end */
    bool peer_closed; /* FIN or close_notify seen: nothing more to wait for */
    int64_t last_ms;  /* last progress, for the idle limit */
    unsigned ctrl_stuck; /* control readable yet nothing consumed, in a row */
};

/* One transfer at a time per session, so one connection object (no malloc). */
static struct data_conn the_conn = {.fd = -1};
/* Why the last data operation failed, for the 426 text. */
static char last_why[160];

/* ------------------------------------------------------------------ */
/* Pure parsers                                                        */
/* ------------------------------------------------------------------ */

/* 1..maxdigits decimal digits at *p, value <= max; advances *p. */
static bool parse_dec(const char **p, unsigned maxdigits, unsigned long max, unsigned long *out)
{
    const char *q = *p;
    unsigned long v = 0;
    unsigned nd = 0;
    while (*q >= '0' && *q <= '9') {
        /* SECURITY: the digit count bounds v long before it can overflow. */
        if (++nd > maxdigits) {
            return false;
        }
        v = v * 10 + (unsigned long)(*q - '0');
        q++;
    }
    if (nd == 0 || v > max) {
        return false;
    }
    *p = q;
    *out = v;
    return true;
}

bool data_parse_port(const char *arg, struct sockaddr_in *out)
{
    unsigned long f[6];
    const char *p = arg;
    for (int i = 0; i < 6; i++) {
        if (!parse_dec(&p, 3, 255, &f[i])) {
            return false;
        }
        if (i < 5) {
            if (*p != ',') {
                return false;
            }
            p++;
        }
    }
    if (*p != '\0') {
        return false;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl((uint32_t)((f[0] << 24) | (f[1] << 16) | (f[2] << 8) | f[3]));
    sin.sin_port = htons((uint16_t)(f[4] * 256 + f[5]));
    *out = sin;
    return true;
}

int data_parse_eprt(const char *arg, struct sockaddr_storage *out, socklen_t *len)
{
    char d = arg[0];
    /* RFC 2428: the delimiter is any of ASCII 33..126; a digit would make
     * the fields ambiguous, so it is refused. */
    if (d < 33 || d > 126 || (d >= '0' && d <= '9')) {
        return EINVAL;
    }
    const char *p = arg + 1;
    unsigned long af, port;
    if (!parse_dec(&p, 3, 999, &af) || *p != d) {
        return EINVAL;
    }
    p++;
    char addr[INET6_ADDRSTRLEN + 1];
    size_t n = 0;
    while (*p && *p != d) {
        if (n + 1 >= sizeof addr) {
            return EINVAL;
        }
        addr[n++] = *p++;
    }
    if (*p != d || n == 0) {
        return EINVAL;
    }
    addr[n] = '\0';
    p++;
    if (!parse_dec(&p, 5, 65535, &port) || port == 0 || *p != d || p[1] != '\0') {
        return EINVAL;
    }
    struct sockaddr_storage ss = {0};
    if (af == 1) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
            return EINVAL;
        }
        *len = sizeof *sin;
    } else if (af == 2) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) {
            return EINVAL;
        }
        *len = sizeof *sin6;
    } else {
        return EAFNOSUPPORT;
    }
    *out = ss;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Pure transfer helpers (xfer.h)                                      */
/* ------------------------------------------------------------------ */

size_t xfer_to_crlf(struct xfer_ascii *st, const unsigned char *in, size_t n, size_t *used,
                    unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = in[i];
        if (c == '\n' && !st->cr) {
            if (o + 2 > cap) {
                break;
            }
            out[o++] = '\r';
            out[o++] = '\n';
        } else {
            if (o + 1 > cap) {
                break;
            }
            out[o++] = c;
        }
        st->cr = (c == '\r');
        i++;
    }
    *used = i;
    return o;
}

size_t xfer_from_crlf(struct xfer_ascii *st, const unsigned char *in, size_t n, size_t *used,
                      unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = in[i];
        if (st->cr) {
            if (o + 1 > cap) {
                break;
            }
            st->cr = false;
            if (c == '\n') {
                out[o++] = '\n';
                i++;
                continue;
            }
            /* A bare CR is data: emit it and look at c afresh. */
            out[o++] = '\r';
            continue;
        }
        if (c == '\r') {
            st->cr = true;
            i++;
            continue;
        }
        if (o + 1 > cap) {
            break;
        }
        out[o++] = c;
        i++;
    }
    *used = i;
    return o;
}

size_t xfer_from_crlf_flush(struct xfer_ascii *st, unsigned char *out, size_t cap)
{
    if (st->cr && cap >= 1) {
        out[0] = '\r';
        st->cr = false;
        return 1;
    }
    return 0;
}

/* Appends s with blanks and control bytes as '_' (one field, one line). */
static bool append_field(char *out, size_t cap, size_t *pos, const char *s)
{
    if (!s || !*s) {
        return sys_append(out, cap, pos, "_");
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (*pos + 1 >= cap) {
            return false;
        }
        out[(*pos)++] = (c <= 0x20 || c == 0x7f) ? '_' : (char)c;
    }
    out[*pos] = '\0';
    return true;
}

size_t xfer_log_format(char *out, size_t cap, const struct xfer_record *r)
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
    bool ok = sys_append(out, cap, &pos, "%s %s %2d %02d:%02d:%02d %d %llu %s %llu ",
                         wdays[tm.tm_wday], months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, tm.tm_year + 1900,
                         (unsigned long long)(r->seconds ? r->seconds : 1), r->peer,
                         (unsigned long long)r->bytes);
    ok = ok && append_field(out, cap, &pos, r->path);
    ok = ok && sys_append(out, cap, &pos, " %c _ %c %c ", r->ascii ? 'a' : 'b',
                          r->upload ? 'i' : 'o', r->anonymous ? 'a' : 'r');
    ok = ok && append_field(out, cap, &pos, r->user);
    ok = ok && sys_append(out, cap, &pos, " ftp 0 * %c\n", r->complete ? 'c' : 'i');
    return ok ? pos : 0;
}

void xfer_temp_name(char *name, size_t cap, const unsigned char rnd[6])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char x[7];
    for (int i = 0; i < 6; i++) {
        x[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
    }
    x[6] = '\0';
    if (!sys_fmt(name, cap, ".ftpsd-%s", x)) {
        bug("temporary name buffer of %zu bytes", cap);
    }
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

/* The IPv4 address of a v4 or v4-mapped v6 socket address. */
static bool v4_of(const struct sockaddr_storage *ss, struct in_addr *out)
{
    if (ss->ss_family == AF_INET) {
        *out = ((const struct sockaddr_in *)ss)->sin_addr;
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            unsigned char b[4] = {a->s6_addr[12], a->s6_addr[13], a->s6_addr[14], a->s6_addr[15]};
            uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
            out->s_addr = htonl(v);
            return true;
        }
    }
    return false;
}

static void set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET) {
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    } else {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    }
}

static unsigned get_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    }
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static socklen_t family_len(int family)
{
    return family == AF_INET ? (socklen_t)sizeof(struct sockaddr_in)
                             : (socklen_t)sizeof(struct sockaddr_in6);
}

static void close_pasv(struct session *s)
{
    if (s->data.pasv_fd >= 0) {
        if (close(s->data.pasv_fd) != 0) {
            debug("closing the passive socket: %s", strerror(errno));
        }
        s->data.pasv_fd = -1;
    }
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
static void set_cork(int fd, bool on)
{
    int v = on ? 1 : 0;
    if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v) != 0) {
        debug("TCP_CORK %d: %s", v, strerror(errno));
    }
}

static bool set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        return false;
    }
    int nfl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return nfl == fl || fcntl(fd, F_SETFL, nfl) == 0;
}

/* ------------------------------------------------------------------ */
/* PASV / EPSV / PORT / EPRT                                           */
/* ------------------------------------------------------------------ */

void data_init(struct data_state *d)
{
    d->pasv_fd = -1;
    d->port_set = false;
    d->port_len = 0;
    d->epsv_all = false;
}

void data_reset(struct session *s)
{
    close_pasv(s);
    if (the_conn.fd >= 0) {
        data_abandon(s, &the_conn);
    }
    data_init(&s->data);
}

bool data_prepared(const struct session *s)
{
    return s->data.pasv_fd >= 0 || s->data.port_set;
}

/* A listening socket on the control connection's local address, port from
 * pasv-ports (random start, then sequential with wrap) or the kernel's.
 * SECURITY: never the wildcard address — on a multi-homed router that would
 * open the port on the WAN side too. */
static int pasv_listen(struct session *s, unsigned *port_out, char *why, size_t whysz)
{
    const struct policy *pol = s->pol;
    struct sockaddr_storage a = s->local_addr;
    socklen_t alen = family_len(a.ss_family);
    if (a.ss_family != AF_INET && a.ss_family != AF_INET6) {
        (void)sys_copy(why, whysz, "the control connection is not TCP/IP");
        return -1;
    }
    int fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        (void)sys_fmt(why, whysz, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    /* Lets a port of a small pasv-ports range be reused while an earlier
     * connection on it sits in TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        debug("SO_REUSEADDR: %s", strerror(errno));
    }
    bool bound = false;
    if (pol->pasv_lo == 0) {
        set_port(&a, 0);
        if (bind(fd, (struct sockaddr *)&a, alen) == 0) {
            bound = true;
        } else {
            (void)sys_fmt(why, whysz, "bind: %s", strerror(errno));
        }
    } else {
        unsigned count = pol->pasv_hi - pol->pasv_lo + 1;
        uint32_t r;
        if (!sys_random(&r, sizeof r)) {
            r = (uint32_t)sys_now_ms();
        }
        unsigned start = r % count;
        /* Bounded by the size of the range: each port is tried once. */
        for (unsigned i = 0; i < count; i++) {
            set_port(&a, pol->pasv_lo + (start + i) % count);
            if (bind(fd, (struct sockaddr *)&a, alen) == 0) {
                bound = true;
                break;
            }
            if (errno != EADDRINUSE) {
                (void)sys_fmt(why, whysz, "bind: %s", strerror(errno));
                break;
            }
            (void)sys_fmt(why, whysz, "every port of pasv-ports %u-%u is in use", pol->pasv_lo,
                          pol->pasv_hi);
        }
    }
    if (!bound) {
        close(fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t glen = sizeof got;
    if (listen(fd, XFER_LISTEN_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&got, &glen) != 0) {
        (void)sys_fmt(why, whysz, "listen: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *port_out = get_port(&got);
    return fd;
}

void cmd_pasv(struct session *s, const char *arg)
{
    (void)arg;
    if (s->data.epsv_all) {
        reply(s, FTP_BAD_SEQUENCE, "EPSV ALL was given: use EPSV");
        return;
    }
    struct in_addr local4;
    if (!v4_of(&s->local_addr, &local4)) {
        /* RFC 2428 §4: PASV can only describe IPv4; on an IPv6 control
         * connection the client must use EPSV. */
        reply(s, FTP_CANT_OPEN_DATA, "PASV works on IPv4 only; use EPSV on this IPv6 connection");
        return;
    }
    close_pasv(s);
    s->data.port_set = false;
    unsigned port;
    char why[160] = "";
    int fd = pasv_listen(s, &port, why, sizeof why);
    if (fd < 0) {
        err("PASV: cannot open a passive port: %s", why);
        reply(s, FTP_CANT_OPEN_DATA, "Cannot open a passive port (%s); try again later", why);
        return;
    }
    s->data.pasv_fd = fd;
    struct in_addr shown = s->pol->has_pasv_address ? s->pol->pasv_address : local4;
    uint32_t h = ntohl(shown.s_addr);
    reply(s, FTP_PASV_OK, "Entering Passive Mode (%u,%u,%u,%u,%u,%u).", (unsigned)(h >> 24),
          (unsigned)(h >> 16) & 255u, (unsigned)(h >> 8) & 255u, (unsigned)h & 255u, port >> 8,
          port & 255u);
}

void cmd_epsv(struct session *s, const char *arg)
{
    if (sys_ieq(arg, "ALL")) {
        s->data.epsv_all = true;
        reply(s, FTP_OK, "EPSV ALL ok: PASV, PORT and EPRT are refused from now on");
        return;
    }
    struct in_addr local4;
    bool ctrl_v4 = v4_of(&s->local_addr, &local4);
    if (arg[0]) {
        const char *p = arg;
        unsigned long af;
        if (!parse_dec(&p, 3, 999, &af) || *p != '\0') {
            reply(s, FTP_SYNTAX_ARG, "EPSV takes no argument, 1, 2 or ALL");
            return;
        }
        /* RFC 2428 §3: a data connection of the control connection's own
         * protocol only; 522 names the one we can do. */
        if ((af == 1 && !ctrl_v4) || (af == 2 && ctrl_v4) || (af != 1 && af != 2)) {
            reply(s, FTP_EXT_NETWORK, "Network protocol not supported, use (%d)", ctrl_v4 ? 1 : 2);
            return;
        }
    }
    close_pasv(s);
    s->data.port_set = false;
    unsigned port;
    char why[160] = "";
    int fd = pasv_listen(s, &port, why, sizeof why);
    if (fd < 0) {
        err("EPSV: cannot open a passive port: %s", why);
        reply(s, FTP_CANT_OPEN_DATA, "Cannot open a passive port (%s); try again later", why);
        return;
    }
    s->data.pasv_fd = fd;
    reply(s, FTP_EPSV_OK, "Entering Extended Passive Mode (|||%u|)", port);
}

/* Common end of PORT and EPRT: the policy checks, then remember the target. */
static void set_active(struct session *s, const struct sockaddr_storage *ss, socklen_t len,
                       const char *verb)
{
    char shown[80];
    if (!sys_addr_str((const struct sockaddr *)ss, len, shown, sizeof shown, true)) {
        (void)sys_copy(shown, sizeof shown, "?");
    }
    /* SECURITY: FTP bounce (CERT CA-1997-27, RFC 2577): a data connection
     * to a third host would let a client scan networks behind us or send
     * its bytes to another service from our address. Only the control
     * peer itself may be the target, unless the policy allows FXP. */
    if (!s->pol->fxp && !sys_same_ip((const struct sockaddr *)ss,
                                     (const struct sockaddr *)&s->peer_addr)) {
        warn("SECURITY: %s to %s refused: not the control peer %s (FTP bounce?)", verb, shown,
             s->peer);
        reply(s, FTP_NOT_IMPL_PARAM,
              "%s refused: the data connection must go to your own address (fxp is off)", verb);
        return;
    }
    /* SECURITY: ports below 1024 are services (SMTP, ...) that a bounced
     * connection would feed with client-chosen bytes (RFC 2577 §3). */
    if (get_port(ss) < 1024) {
        warn("SECURITY: %s to %s refused: privileged port", verb, shown);
        reply(s, FTP_NOT_IMPL_PARAM, "%s refused: port %u is below 1024; use a higher port", verb,
              get_port(ss));
        return;
    }
    close_pasv(s);
    s->data.port_addr = *ss;
    s->data.port_len = len;
    s->data.port_set = true;
    reply(s, FTP_OK, "%s command successful; the data connection will go to %s", verb, shown);
}

/* Refusals shared by PORT and EPRT; true if the command may go on. */
static bool active_allowed(struct session *s, const char *verb)
{
    if (s->data.epsv_all) {
        reply(s, FTP_BAD_SEQUENCE, "EPSV ALL was given: use EPSV");
        return false;
    }
    if (!s->pol->active_peer) {
        info("%s refused: active mode is off in the policy", verb);
        reply(s, FTP_NOT_IMPL, "Active mode is disabled by policy; use passive (PASV/EPSV)");
        return false;
    }
    return true;
}

void cmd_port(struct session *s, const char *arg)
{
    if (!active_allowed(s, "PORT")) {
        return;
    }
    struct sockaddr_in sin;
    if (!data_parse_port(arg, &sin)) {
        reply(s, FTP_SYNTAX_ARG, "Bad PORT argument; expected h1,h2,h3,h4,p1,p2 (numbers 0-255)");
        return;
    }
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *dst = (struct sockaddr_in *)&ss;
    *dst = sin;
    set_active(s, &ss, sizeof sin, "PORT");
}

void cmd_eprt(struct session *s, const char *arg)
{
    if (!active_allowed(s, "EPRT")) {
        return;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    int e = data_parse_eprt(arg, &ss, &len);
    struct in_addr v4;
    bool ctrl_v4 = v4_of(&s->peer_addr, &v4);
    if (e == EAFNOSUPPORT) {
        reply(s, FTP_EXT_NETWORK, "Network protocol not supported, use (%d)", ctrl_v4 ? 1 : 2);
        return;
    }
    if (e != 0) {
        reply(s, FTP_SYNTAX_ARG, "Bad EPRT argument; expected |1|a.b.c.d|port| or |2|v6addr|port|");
        return;
    }
    /* Without fxp only the control connection's own protocol can reach the
     * peer: say so with RFC 2428's 522 rather than a generic refusal. */
    struct in_addr t4;
    if (!s->pol->fxp && ctrl_v4 != v4_of(&ss, &t4)) {
        reply(s, FTP_EXT_NETWORK, "Network protocol not supported, use (%d)", ctrl_v4 ? 1 : 2);
        return;
    }
    set_active(s, &ss, len, "EPRT");
}

/* ------------------------------------------------------------------ */
/* The poll loop                                                       */
/* ------------------------------------------------------------------ */

/* Serves one control command during a transfer; false means ABOR. */
static bool serve_ctrl(struct session *s, struct data_conn *dc)
{
    switch (ftp_xfer_command(s)) {
    case XFER_ABORT:
        return false;
    case XFER_QUIT:
        /* RFC 959: QUIT waits for the transfer and its reply; the 221
         * follows (ftp.c). The control connection is not watched any more. */
        dc->watch_ctrl = false;
        return true;
    case XFER_GO_ON:
        break;
    }
    if (!ctrl_ok(s)) {
        dc->watch_ctrl = false;
    }
    return true;
}

/* The absolute time at which an idle data connection is given up. */
static int64_t idle_deadline(const struct session *s, const struct data_conn *dc)
{
    if (s->pol->idle == 0) {
        return INT64_MAX;
    }
    return dc->last_ms + (int64_t)s->pol->idle * 1000;
}

/* Waits for `events` on fd until the deadline, serving control commands
 * meanwhile. Returns 1 ready, 0 deadline passed, -1 with *st set (ABOR or
 * a poll failure). */
static int wait_io(struct session *s, struct data_conn *dc, int fd, short events, int64_t deadline,
                   enum data_status *st)
{
    for (;;) {
        /* Lines already decrypted or buffered are invisible to poll(). */
        if (dc->watch_ctrl && ctrl_buffered(s)) {
            if (!serve_ctrl(s, dc)) {
                *st = DATA_ABORTED;
                return -1;
            }
            continue;
        }
        int64_t left = deadline - sys_now_ms();
        if (left <= 0) {
            return 0;
        }
        struct pollfd p[2] = {{.fd = fd, .events = events},
                              {.fd = ctrl_poll_fd(s), .events = POLLIN}};
        nfds_t n = dc->watch_ctrl ? 2 : 1;
        int r = poll(p, n, left > INT_MAX ? INT_MAX : (int)left);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            (void)sys_fmt(last_why, sizeof last_why, "poll: %s", strerror(errno));
            *st = DATA_ERROR;
            return -1;
        }
        if (r == 0) {
            continue;
        }
        if (n == 2 && p[1].revents) {
            if (!serve_ctrl(s, dc)) {
                *st = DATA_ABORTED;
                return -1;
            }
            /* Defence against a control reader that stops consuming input
             * (poll would then report it forever and this loop would spin
             * at 100 % CPU): a healthy reader drains the socket each time. */
            if (dc->watch_ctrl && !ctrl_buffered(s) && sys_wait_fd(ctrl_poll_fd(s), false, 0) == 1) {
                if (++dc->ctrl_stuck >= XFER_CTRL_STUCK_MAX) {
                    err("control input is not being consumed during the transfer; not watching "
                        "the control connection until the transfer ends");
                    dc->watch_ctrl = false;
                }
            } else {
                dc->ctrl_stuck = 0;
            }
        }
        /* Errors and hang-ups count as ready: the I/O call that follows
         * reports them precisely. */
        if (p[0].revents) {
            return 1;
        }
    }
}

enum data_status data_send(struct session *s, struct data_conn *dc, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    size_t off = 0;
    while (off < n) {
        enum data_status st = DATA_ERROR;
        int r = wait_io(s, dc, dc->fd, POLLOUT, idle_deadline(s, dc), &st);
        if (r == 0) {
            return DATA_TIMEOUT;
        }
        if (r < 0) {
            return st;
        }
        if (dc->tls) {
            /* One call per record: whole 16 KiB records are the cheap ones
             * (NOTES-mbedtls: the record layer costs ~15 %). */
            ssize_t w = tls_write(dc->tls, p + off, n - off);
            if (w == TLS_IO_TIMEOUT) {
                return DATA_TIMEOUT;
            }
            if (w != (ssize_t)(n - off)) {
                (void)sys_copy(last_why, sizeof last_why, "TLS write failed (client gone?)");
                return DATA_ERROR;
            }
            off = n;
        } else {
            ssize_t w = send(dc->fd, p + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                    continue;
                }
                (void)sys_fmt(last_why, sizeof last_why, "%s", strerror(errno));
                return DATA_ERROR;
            }
            off += (size_t)w;
        }
        dc->last_ms = sys_now_ms();
    }
    return DATA_OK;
}

enum data_status data_sendfile(struct session *s, struct data_conn *dc, int fd, off_t *off,
                               size_t n, size_t *sent)
{
    *sent = 0;
    if (dc->tls) {
        bug("data_sendfile on a TLS connection");
    }
    for (;;) {
        enum data_status st = DATA_ERROR;
        int r = wait_io(s, dc, dc->fd, POLLOUT, idle_deadline(s, dc), &st);
        if (r == 0) {
            return DATA_TIMEOUT;
        }
        if (r < 0) {
            return st;
        }
        ssize_t w = sendfile(dc->fd, fd, off, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                continue;
            }
            (void)sys_fmt(last_why, sizeof last_why, "%s", strerror(errno));
            return DATA_ERROR;
        }
        dc->last_ms = sys_now_ms();
        *sent = (size_t)w;
        return DATA_OK;
    }
}

enum data_status data_recv(struct session *s, struct data_conn *dc, void *buf, size_t cap,
                           size_t *got)
{
    *got = 0;
    for (;;) {
        if (!(dc->tls && tls_pending(dc->tls))) {
            enum data_status st = DATA_ERROR;
            int r = wait_io(s, dc, dc->fd, POLLIN, idle_deadline(s, dc), &st);
            if (r == 0) {
                return DATA_TIMEOUT;
            }
            if (r < 0) {
                return st;
            }
        }
        if (dc->tls) {
            int64_t left = idle_deadline(s, dc) - sys_now_ms();
            int timeout = left > INT_MAX ? INT_MAX : (left < 1 ? 1 : (int)left);
            ssize_t r = tls_read(dc->tls, buf, cap, timeout);
            if (r > 0) {
                *got = (size_t)r;
                dc->last_ms = sys_now_ms();
                return DATA_OK;
            }
            if (r == 0) {
                dc->peer_closed = true;
                return DATA_EOF;
            }
            if (r == TLS_IO_TRUNCATED) {
                dc->peer_closed = true;
                (void)sys_copy(last_why, sizeof last_why, "connection closed without TLS close_notify");
                return DATA_TRUNCATED;
            }
            if (r == TLS_IO_TIMEOUT) {
                return DATA_TIMEOUT;
            }
            (void)sys_copy(last_why, sizeof last_why, "TLS error on the data connection");
            return DATA_ERROR;
        }
        ssize_t r = recv(dc->fd, buf, cap, MSG_DONTWAIT);
        if (r > 0) {
            *got = (size_t)r;
            dc->last_ms = sys_now_ms();
            return DATA_OK;
        }
        if (r == 0) {
            dc->peer_closed = true;
            return DATA_EOF;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            continue;
        }
        /* A reset is not an end of file: the upload is incomplete. */
        (void)sys_fmt(last_why, sizeof last_why, "%s", strerror(errno));
        return DATA_ERROR;
    }
}

bool data_is_tls(const struct data_conn *dc)
{
    return dc->tls != NULL;
}

/* ------------------------------------------------------------------ */
/* Opening and closing                                                 */
/* ------------------------------------------------------------------ */

static int accept_passive(struct session *s, struct data_conn *dc, int64_t deadline,
                          enum data_status *st, char *why, size_t whysz)
{
    for (;;) {
        int r = wait_io(s, dc, s->data.pasv_fd, POLLIN, deadline, st);
        if (r == 0) {
            (void)sys_fmt(why, whysz, "no connection to the passive port within %d s",
                          DEFS_DATA_CONNECT_TIMEOUT);
            return -1;
        }
        if (r < 0) {
            (void)sys_copy(why, whysz, last_why);
            return -1;
        }
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(s->data.pasv_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED ||
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
        if (!s->pol->fxp && !sys_same_ip((struct sockaddr *)&sa, (struct sockaddr *)&s->peer_addr)) {
            char a[80];
            if (!sys_addr_str((struct sockaddr *)&sa, len, a, sizeof a, true)) {
                (void)sys_copy(a, sizeof a, "?");
            }
            warn("SECURITY: passive data connection from %s refused: the control peer is %s", a,
                 s->peer);
            if (close(fd) != 0) {
                debug("close: %s", strerror(errno));
            }
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
        set_port(src, 0);
        return true;
    }
    if (family == AF_INET && v4_of(&s->local_addr, &v4)) {
        struct sockaddr_in *sin = (struct sockaddr_in *)src;
        *src = (struct sockaddr_storage){0};
        sin->sin_family = AF_INET;
        sin->sin_addr = v4;
        return true;
    }
    return false;
}

static int connect_active(struct session *s, struct data_conn *dc, int64_t deadline,
                          enum data_status *st, char *why, size_t whysz)
{
    const struct sockaddr_storage *to = &s->data.port_addr;
    char shown[80];
    if (!sys_addr_str((const struct sockaddr *)to, s->data.port_len, shown, sizeof shown, true)) {
        (void)sys_copy(shown, sizeof shown, "?");
    }
    int fd = socket(to->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        (void)sys_fmt(why, whysz, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_storage src;
    if (active_source(s, to->ss_family, &src) &&
        bind(fd, (struct sockaddr *)&src, family_len(src.ss_family)) != 0) {
        (void)sys_fmt(why, whysz, "bind to the local address: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)to, s->data.port_len) != 0 && errno != EINPROGRESS) {
        (void)sys_fmt(why, whysz, "connect to %s: %s", shown, strerror(errno));
        close(fd);
        return -1;
    }
    int r = wait_io(s, dc, fd, POLLOUT, deadline, st);
    if (r <= 0) {
        if (r == 0) {
            (void)sys_fmt(why, whysz, "connect to %s: no answer within %d s", shown,
                          DEFS_DATA_CONNECT_TIMEOUT);
        } else {
            (void)sys_copy(why, whysz, last_why);
        }
        close(fd);
        return -1;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
        soerr = errno;
    }
    if (soerr != 0) {
        (void)sys_fmt(why, whysz, "connect to %s: %s", shown, strerror(soerr));
        close(fd);
        return -1;
    }
    return fd;
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

struct data_conn *data_open(struct session *s)
{
    struct data_conn *dc = &the_conn;
    if (dc->fd >= 0) {
        bug("data_open while a data connection is open");
    }
    *dc = (struct data_conn){.fd = -1, .watch_ctrl = true, .last_ms = sys_now_ms()};
    last_why[0] = '\0';
    int64_t deadline = sys_now_ms() + (int64_t)DEFS_DATA_CONNECT_TIMEOUT * 1000;
    enum data_status st = DATA_ERROR;
    char why[200] = "";
    int fd;
    if (s->data.pasv_fd >= 0) {
        fd = accept_passive(s, dc, deadline, &st, why, sizeof why);
    } else if (s->data.port_set) {
        fd = connect_active(s, dc, deadline, &st, why, sizeof why);
    } else {
        reply(s, FTP_CANT_OPEN_DATA, "Use PASV or EPSV (or PORT/EPRT) first");
        return NULL;
    }
    /* Each PASV/PORT serves one transfer. */
    close_pasv(s);
    s->data.port_set = false;
    if (fd < 0) {
        if (st == DATA_ABORTED) {
            data_reply_failure(s, DATA_ABORTED, NULL);
        } else {
            info("data connection failed: %s", why);
            reply(s, FTP_CANT_OPEN_DATA, "Cannot open data connection: %s", why);
        }
        return NULL;
    }
    sys_tune_socket(fd);
    dc->fd = fd;
    if (!s->prot_private) {
        /* Clear connections are driven non-blocking by the poll loop. */
        if (!set_nonblock(fd, true)) {
            err("data connection: O_NONBLOCK: %s", strerror(errno));
            data_abandon(s, dc);
            reply(s, FTP_CANT_OPEN_DATA, "Cannot open data connection: internal error");
            return NULL;
        }
        set_cork(fd, true);
        return dc;
    }
    if (!s->tls || !set_nonblock(fd, false)) {
        data_abandon(s, dc);
        reply(s, FTP_CANT_OPEN_DATA, "Cannot open data connection: TLS is not available");
        return NULL;
    }
    /* Backstop for a client that stops reading in the middle of a record:
     * the blocking write inside tls_write() ends after the idle limit. */
    if (s->pol->idle > 0) {
        struct timeval tv = {.tv_sec = (time_t)s->pol->idle};
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
            debug("SO_SNDTIMEO: %s", strerror(errno));
        }
    }
    char terr[200] = "";
    struct tls_conn *c = tls_accept(s->tls, fd, fd, TLS_ROLE_DATA,
                                    DEFS_DATA_CONNECT_TIMEOUT * 1000, terr, sizeof terr);
    if (!c && tls_last_accept_not_resumed()) {
        warn_not_resumed(s);
        data_abandon(s, dc);
        reply(s, FTP_EXT_NETWORK, "Data connection must resume the control connection's TLS session");
        return NULL;
    }
    if (!c) {
        warn("TLS handshake on the data connection failed: %s", terr);
        data_abandon(s, dc);
        reply(s, FTP_CANT_OPEN_DATA, "TLS handshake on the data connection failed: %s", terr);
        return NULL;
    }
    dc->tls = c;
    /* SECURITY: a protected data connection that does not resume the
     * control session could belong to anybody who raced the client to the
     * port (the attack vsftpd's require_ssl_reuse stops); resumption proves
     * it comes from the party that holds the control session's keys. */
    if (s->pol->data_reuse_required && !tls_resumed(c)) {
        warn_not_resumed(s);
        /* close_notify, so the client sees a clean end and reads the 522. */
        (void)tls_close(c, false, 1000);
        dc->tls = NULL;
        data_abandon(s, dc);
        reply(s, FTP_EXT_NETWORK, "Data connection must resume the control connection's TLS session");
        return NULL;
    }
    set_cork(fd, true);
    return dc;
}

bool data_close(struct session *s, struct data_conn *dc)
{
    (void)s;
    bool ok = true;
    if (dc->fd < 0) {
        return true;
    }
    /* The tail of the data, then close_notify or FIN, leave now. */
    set_cork(dc->fd, false);
    if (dc->tls) {
        /* After a download, wait for the client's close_notify: it proves
         * the client read everything, and closing earlier with its
         * close_notify unread would make the kernel reset the connection
         * and discard data still in flight. */
        ok = tls_close(dc->tls, !dc->peer_closed, XFER_CLOSE_TIMEOUT * 1000);
        dc->tls = NULL;
    } else if (!dc->peer_closed) {
        /* The same for clear downloads: FIN first, then wait for the
         * client's FIN, discarding anything it still sends (bounded by
         * the deadline). */
        if (shutdown(dc->fd, SHUT_WR) != 0) {
            ok = false;
        } else {
            int64_t deadline = sys_now_ms() + XFER_CLOSE_TIMEOUT * 1000;
            char sink[512];
            for (;;) {
                int64_t left = deadline - sys_now_ms();
                if (left <= 0 || sys_wait_fd(dc->fd, false, (int)left) <= 0) {
                    break;
                }
                ssize_t r = recv(dc->fd, sink, sizeof sink, MSG_DONTWAIT);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    break;
                }
            }
        }
    }
    if (close(dc->fd) != 0) {
        ok = false;
    }
    dc->fd = -1;
    return ok;
}

void data_abandon(struct session *s, struct data_conn *dc)
{
    (void)s;
    if (dc->tls) {
        tls_discard(dc->tls);
        dc->tls = NULL;
    }
    if (dc->fd >= 0) {
        if (close(dc->fd) != 0) {
            debug("close: %s", strerror(errno));
        }
        dc->fd = -1;
    }
}

void data_reply_failure(struct session *s, enum data_status st, const char *after)
{
    const char *tail = after ? after : "";
    switch (st) {
    case DATA_ABORTED:
        /* RFC 959 §4.1.3: 426 for the transfer, then 226 for the ABOR. */
        reply(s, FTP_TRANSFER_ABORTED, "Transfer aborted%s", tail);
        reply(s, FTP_TRANSFER_OK, "ABOR successful");
        return;
    case DATA_TRUNCATED:
        reply(s, FTP_TRANSFER_ABORTED, "Upload truncated (no TLS close_notify)%s", tail);
        return;
    case DATA_TIMEOUT:
        reply(s, FTP_TRANSFER_ABORTED, "Data connection timed out (no data for %u s)%s",
              s->pol->idle, tail);
        return;
    case DATA_OK:
    case DATA_EOF:
    case DATA_ERROR:
        break;
    }
    reply(s, FTP_TRANSFER_ABORTED, "Data connection failed (%s); transfer aborted%s",
          last_why[0] ? last_why : "connection lost", tail);
}
