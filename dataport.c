/* PASV, EPSV, PORT and EPRT (include/dataport.h): the data connection of the
 * next transfer is prepared here and opened by dataconn.c. Passive sockets
 * listen only on the control connection's local address, never the
 * wildcard; active targets may only be the control peer, on a port >= 1024,
 * unless the policy allows FXP (RFC 2577). */
#include "dataport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "defs.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "sys.h"
#include "sys_net.h"

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
/* Passive                                                             */
/* ------------------------------------------------------------------ */

bool data_prepared(const struct session *s)
{
    return s->data.pasv_fd >= 0 || s->data.port_set;
}

/* Forgets an earlier PASV or PORT: one preparation serves one transfer. */
static void forget_prepared(struct session *s)
{
    sys_closep(&s->data.pasv_fd);
    s->data.port_set = false;
}

/* Binds fd to a, port from pasv-ports (random start, then sequential with
 * wrap) or the kernel's. */
static bool bind_passive(const struct policy *pol, int fd, struct sockaddr_storage *a, char *why,
                         size_t whysz)
{
    if (pol->pasv_lo == 0) {
        sys_addr_set_port(a, 0);
        if (sys_bind(fd, a) == 0) {
            return true;
        }
        (void)sys_fmt(why, whysz, "bind: %s", strerror(errno));
        return false;
    }
    unsigned count = pol->pasv_hi - pol->pasv_lo + 1;
    uint32_t r;
    if (!sys_random(&r, sizeof r)) {
        r = (uint32_t)sys_now_ms();
    }
    unsigned start = r % count;
    /* Bounded by the size of the range: each port is tried once. */
    for (unsigned i = 0; i < count; i++) {
        sys_addr_set_port(a, pol->pasv_lo + (start + i) % count);
        if (sys_bind(fd, a) == 0) {
            return true;
        }
        if (errno != EADDRINUSE) {
            (void)sys_fmt(why, whysz, "bind: %s", strerror(errno));
            return false;
        }
    }
    (void)sys_fmt(why, whysz, "every port of pasv-ports %u-%u is in use", pol->pasv_lo,
                  pol->pasv_hi);
    return false;
}

/* A listening socket on the control connection's local address.
 * SECURITY: never the wildcard address — on a multi-homed router that would
 * open the port on the WAN side too. */
static int pasv_listen(struct session *s, unsigned *port_out, char *why, size_t whysz)
{
    struct sockaddr_storage a = s->local_addr;
    if (a.ss_family != AF_INET && a.ss_family != AF_INET6) {
        (void)sys_copy(why, whysz, "the control connection is not TCP/IP");
        return -1;
    }
    int fd = sys_tcp_socket(a.ss_family);
    if (fd < 0) {
        (void)sys_fmt(why, whysz, "socket: %s", strerror(errno));
        return -1;
    }
    if (!sys_set_reuseaddr(fd)) {
        debug("SO_REUSEADDR: %s", strerror(errno));
    }
    if (!bind_passive(s->pol, fd, &a, why, whysz)) {
        sys_closep(&fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t glen;
    if (sys_listen(fd, DEFS_LISTEN_BACKLOG) != 0 || !sys_local_addr(fd, &got, &glen)) {
        (void)sys_fmt(why, whysz, "listen: %s", strerror(errno));
        sys_closep(&fd);
        return -1;
    }
    *port_out = sys_addr_port(&got);
    return fd;
}

/* The common part of PASV and EPSV: a fresh passive socket, its port in
 * *port. False (425 sent) when none can be opened. */
static bool open_passive(struct session *s, const char *verb, unsigned *port)
{
    forget_prepared(s);
    char why[DEFS_WHY_MAX] = "";
    int fd = pasv_listen(s, port, why, sizeof why);
    if (fd < 0) {
        err("%s: cannot open a passive port: %s", verb, why);
        reply(s, FTP_CANT_OPEN_DATA, "Cannot open a passive port (%s); try again later", why);
        return false;
    }
    s->data.pasv_fd = fd;
    return true;
}

struct in_addr data_pasv_address(const struct pasv_addrs *a, const struct sockaddr_storage *peer,
                                 struct in_addr local)
{
    struct in_addr p4;
    if (a->has_private && sys_addr_v4(peer, &p4) && pol_pasv_private_peer(p4)) {
        return a->private_local ? local : a->private_addr;
    }
    return a->has_public ? a->public_addr : local;
}

void cmd_pasv(struct session *s, const char *arg)
{
    (void)arg;
    if (s->data.epsv_all) {
        reply(s, FTP_BAD_SEQUENCE, "EPSV ALL was given: use EPSV");
        return;
    }
    struct in_addr local4;
    if (!sys_addr_v4(&s->local_addr, &local4)) {
        /* RFC 2428 §4: PASV can only describe IPv4; on an IPv6 control
         * connection the client must use EPSV. */
        reply(s, FTP_CANT_OPEN_DATA, "PASV works on IPv4 only; use EPSV on this IPv6 connection");
        return;
    }
    unsigned port;
    if (!open_passive(s, "PASV", &port)) {
        return;
    }
    struct in_addr shown = data_pasv_address(&s->pasv, &s->peer_addr, local4);
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
    bool ctrl_v4 = sys_addr_v4(&s->local_addr, &local4);
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
    unsigned port;
    if (open_passive(s, "EPSV", &port)) {
        reply(s, FTP_EPSV_OK, "Entering Extended Passive Mode (|||%u|)", port);
    }
}

/* ------------------------------------------------------------------ */
/* Active                                                              */
/* ------------------------------------------------------------------ */

/* Common end of PORT and EPRT: the policy checks, then remember the target. */
static void set_active(struct session *s, const struct sockaddr_storage *ss, socklen_t len,
                       const char *verb)
{
    char shown[DEFS_PEER_STR_MAX];
    if (!sys_addr_str((const struct sockaddr *)ss, len, shown, sizeof shown, true)) {
        (void)sys_copy(shown, sizeof shown, "?");
    }
    /* SECURITY: FTP bounce (CERT CA-1997-27, RFC 2577): a data connection
     * to a third host would let a client scan networks behind us or send
     * its bytes to another service from our address. Only the control
     * peer itself may be the target, unless the policy allows FXP. */
    if (!s->pol->fxp &&
        !sys_same_ip((const struct sockaddr *)ss, (const struct sockaddr *)&s->peer_addr)) {
        warn("SECURITY: %s to %s refused: not the control peer %s (FTP bounce?)", verb, shown,
             s->peer);
        reply(s, FTP_NOT_IMPL_PARAM,
              "%s refused: the data connection must go to your own address (fxp is off)", verb);
        return;
    }
    /* SECURITY: ports below 1024 are services (SMTP, ...) that a bounced
     * connection would feed with client-chosen bytes (RFC 2577 §3). */
    if (sys_addr_port(ss) < 1024) {
        warn("SECURITY: %s to %s refused: privileged port", verb, shown);
        reply(s, FTP_NOT_IMPL_PARAM, "%s refused: port %u is below 1024; use a higher port", verb,
              sys_addr_port(ss));
        return;
    }
    forget_prepared(s);
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
    memcpy(&ss, &sin, sizeof sin);
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
    bool ctrl_v4 = sys_addr_v4(&s->peer_addr, &v4);
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
    if (!s->pol->fxp && ctrl_v4 != sys_addr_v4(&ss, &t4)) {
        reply(s, FTP_EXT_NETWORK, "Network protocol not supported, use (%d)", ctrl_v4 ? 1 : 2);
        return;
    }
    set_active(s, &ss, len, "EPRT");
}
