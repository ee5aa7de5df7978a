/* In-memory sockets for the session fuzzer: see wrapfd.h for what and why.
 *
 * Each __wrap_NAME below stands in for NAME in the program's objects (the
 * link line has --wrap=NAME); __real_NAME is the C library's (through the
 * sanitizers' interceptors). A fake descriptor is one of:
 *   CTRL    the control connection: reads the input, replies are checked
 *   SOCK    a TCP socket just made (PASV's, or an active connection's)
 *   LISTEN  a passive socket: a connection from the client is always pending
 *   DATA    a data connection: the client sends a pattern, then its FIN
 *   XFERLOG the xferlog file: each write must be one whole line
 * and every wait on one of them is ready at once (the client is always
 * there), so no loop of the server waits on a clock. */
#include "wrapfd.h"

#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __real_send(int fd, const void *buf, size_t n, int flags);
ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
int __real_poll(struct pollfd *p, nfds_t n, int timeout);
int __real_nanosleep(const struct timespec *req, struct timespec *rem);
int __real_socket(int family, int type, int proto);
int __real_bind(int fd, const struct sockaddr *a, socklen_t len);
int __real_listen(int fd, int backlog);
int __real_accept4(int fd, struct sockaddr *a, socklen_t *len, int flags);
int __real_connect(int fd, const struct sockaddr *a, socklen_t len);
int __real_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int __real_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int __real_getsockname(int fd, struct sockaddr *a, socklen_t *len);
int __real_getpeername(int fd, struct sockaddr *a, socklen_t *len);
int __real_shutdown(int fd, int how);
ssize_t __real_sendfile64(int out, int in, off_t *off, size_t n);
int __real_close(int fd);
ssize_t __real_getrandom(void *buf, size_t n, unsigned flags);

#define WRAP_MAXFD 256
/* A reply line longer than this is a finding: replies are bounded. */
#define REPLY_LINE_CAP (4 * 4096)
#define DATA_PORT_FIRST 50123u

enum kind { K_FREE, K_CTRL, K_SOCK, K_LISTEN, K_DATA, K_XFERLOG };

struct wfd {
    enum kind kind;
    struct sockaddr_storage addr; /* SOCK/LISTEN: bound to; DATA: the peer */
    size_t to_send;               /* DATA: bytes the client still sends */
    size_t sent;                  /* DATA: bytes it sent so far */
    int connect_err;              /* SOCK turned DATA by connect: SO_ERROR */
    bool reset;                   /* DATA: the client reset the connection */
};

static struct wfd fds[WRAP_MAXFD];
static int devnull = -1;
/* WRAPFD_TRACE=1 in the environment: every reply line on stderr (to see
 * what a seed or a crashing input does). */
static bool trace;

static struct {
    bool active;
    const uint8_t *in;
    size_t n, pos;
    uint64_t rng;
    unsigned faults;
    bool pipelining;
    unsigned next_port;
    struct sockaddr_storage local, peer;
    char line[REPLY_LINE_CAP];
    size_t linelen;
} st;

/* The client's bytes on a data connection: text with every kind of line
 * end, 0xFF and NUL, so TYPE A and listings see what hurts. */
static const char pattern[] = "line one\r\nline two\nbare\rcr\r\n\xff\xff bytes \x00 nul\r\n\r";

uint32_t wrapfd_rand(void)
{
    /* splitmix64: small, and the same stream for the same input. */
    uint64_t z = (st.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* True with probability per_mille * faults / 1000 (never without faults). */
static bool fault(unsigned per_mille)
{
    return st.faults > 0 && wrapfd_rand() % 1000 < per_mille * st.faults;
}

static struct wfd *fake(int fd)
{
    if (!st.active || fd < 0 || fd >= WRAP_MAXFD || fds[fd].kind == K_FREE) {
        return NULL;
    }
    return &fds[fd];
}

static int new_fake(enum kind k, bool nonblock)
{
    int fd = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        return -1;
    }
    if (fd >= WRAP_MAXFD) {
        __real_close(fd);
        errno = EMFILE;
        return -1;
    }
    if (nonblock) {
        (void)fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    fds[fd] = (struct wfd){.kind = k};
    return fd;
}

static bool is_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

void wrapfd_setup(void)
{
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        perror("wrapfd: /dev/null");
        abort();
    }
    trace = getenv("WRAPFD_TRACE") != NULL;
}

int wrapfd_begin(const uint8_t *in, size_t n, uint64_t seed, unsigned faults, bool pipelining,
                 const struct sockaddr_storage *local, const struct sockaddr_storage *peer)
{
    st.pipelining = pipelining;
    st.in = in;
    st.n = n;
    st.pos = 0;
    st.rng = seed;
    st.faults = faults;
    st.next_port = DATA_PORT_FIRST;
    st.local = *local;
    st.peer = *peer;
    st.linelen = 0;
    st.active = true;
    int fd = new_fake(K_CTRL, false);
    if (fd < 0) {
        abort();
    }
    return fd;
}

int wrapfd_xferlog(void)
{
    int fd = new_fake(K_XFERLOG, false);
    if (fd < 0) {
        abort();
    }
    return fd;
}

void wrapfd_end(int ctrl_fd, int xferlog_fd)
{
    st.active = false;
    for (int fd = 0; fd < WRAP_MAXFD; fd++) {
        if (fds[fd].kind == K_FREE) {
            continue;
        }
        if (fd != ctrl_fd && fd != xferlog_fd) {
            fprintf(stderr, "wrapfd: fake descriptor %d (kind %d) left open by the session\n", fd,
                    (int)fds[fd].kind);
            abort();
        }
        fds[fd].kind = K_FREE;
        __real_close(fd);
    }
    if (st.linelen != 0) {
        fprintf(stderr, "wrapfd: the session ended in the middle of a reply line\n");
        abort();
    }
}

/* ---- the control connection: replies are checked as they leave ---- */

static void bad_reply(const char *why)
{
    fprintf(stderr, "wrapfd: malformed reply line (%s): ", why);
    for (size_t i = 0; i < st.linelen && i < 300; i++) {
        unsigned char c = (unsigned char)st.line[i];
        fprintf(stderr, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
    }
    fprintf(stderr, "\n");
    abort();
}

/* One reply line, CRLF included: "DDD text" or "DDD-text" (DDD 100-599),
 * or " text" inside a multi-line reply; no CR, LF or NUL but the end, and
 * no other control either.
 * SECURITY: an echoed argument that forged a line would break this. */
static void check_line(void)
{
    const char *l = st.line;
    size_t n = st.linelen;
    if (n < 3 || l[n - 2] != '\r') {
        bad_reply("not ended by CRLF");
    }
    if (memchr(l, '\0', n - 2) || memchr(l, '\r', n - 2) || memchr(l, '\n', n - 2)) {
        bad_reply("CR, LF or NUL inside");
    }
    /* Nothing text.c would hide: C0 and C1 controls, separators, bidi. */
    static char copy[REPLY_LINE_CAP];
    memcpy(copy, l, n - 2);
    if (text_sanitize(copy, n - 2, false) != n - 2 || memcmp(copy, l, n - 2) != 0) {
        bad_reply("a control character text.c would hide");
    }
    if (l[0] == ' ') {
        return;
    }
    if (n < 6 || l[0] < '1' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9' ||
        (l[3] != ' ' && l[3] != '-')) {
        bad_reply("no reply code");
    }
}

static void ctrl_output(const void *buf, size_t n)
{
    const char *p = buf;
    for (size_t i = 0; i < n; i++) {
        if (st.linelen >= sizeof st.line) {
            bad_reply("longer than any reply may be");
        }
        st.line[st.linelen++] = p[i];
        if (p[i] == '\n') {
            if (trace) {
                fprintf(stderr, "<- %.*s", (int)st.linelen, st.line);
            }
            check_line();
            st.linelen = 0;
        }
    }
}

/* One xferlog record per write(2) (O_APPEND: records of concurrent
 * sessions never interleave), one line each. SECURITY: a file name with a
 * line end or a control byte would forge records for log analysers. */
static ssize_t xferlog_write(const void *buf, size_t n)
{
    static char copy[16384];
    const char *p = buf;
    bool bad = n == 0 || n > sizeof copy || p[n - 1] != '\n';
    for (size_t i = 0; i + 1 < n && !bad; i++) {
        unsigned char c = (unsigned char)p[i];
        bad = c < 0x20 || c == 0x7f;
    }
    /* Nothing text.c would hide from a reader (C1, separators, bidi). */
    if (!bad) {
        memcpy(copy, p, n - 1);
        bad = text_sanitize(copy, n - 1, false) != n - 1 || memcmp(copy, p, n - 1) != 0;
    }
    if (bad) {
        fprintf(stderr, "wrapfd: malformed xferlog record: %.*s\n", (int)(n < 300 ? n : 300), p);
        abort();
    }
    if (trace) {
        fprintf(stderr, "xferlog: %.*s", (int)n, p);
    }
    return (ssize_t)n;
}

/* ---- reads and writes ---- */

static ssize_t fake_read(int fd, struct wfd *w, void *buf, size_t n, bool peek)
{
    if (fault(20)) {
        errno = EINTR;
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    size_t k;
    if (w->kind == K_CTRL) {
        k = st.n - st.pos;
        if (k > n) {
            k = n;
        }
        /* A client that waits for replies has sent one line so far. */
        const uint8_t *lf = st.pipelining ? NULL : memchr(st.in + st.pos, '\n', k);
        if (lf) {
            k = (size_t)(lf - (st.in + st.pos)) + 1;
        }
        if (k > 1 && fault(200)) {
            k = 1 + wrapfd_rand() % k;
        }
        memcpy(buf, st.in + st.pos, k);
        if (!peek) {
            st.pos += k;
        }
        return (ssize_t)k;
    }
    if (w->kind != K_DATA) {
        errno = ENOTCONN;
        return -1;
    }
    if (w->reset || (w->to_send > 0 && fault(3))) {
        w->reset = true;
        errno = ECONNRESET;
        return -1;
    }
    k = w->to_send < n ? w->to_send : n;
    if (k > 1 && fault(200)) {
        k = 1 + wrapfd_rand() % k;
    }
    for (size_t i = 0; i < k; i++) {
        ((char *)buf)[i] = pattern[(w->sent + i) % (sizeof pattern - 1)];
    }
    if (!peek) {
        w->sent += k;
        w->to_send -= k;
    }
    (void)fd;
    return (ssize_t)k;
}

static ssize_t fake_write(int fd, struct wfd *w, const void *buf, size_t n, bool dontwait)
{
    if (fault(20)) {
        errno = EINTR;
        return -1;
    }
    if ((dontwait || is_nonblock(fd)) && fault(30)) {
        errno = EAGAIN;
        return -1;
    }
    if (w->kind == K_DATA && (w->reset || fault(3))) {
        w->reset = true;
        errno = ECONNRESET;
        return -1;
    }
    if (w->kind != K_CTRL && w->kind != K_DATA) {
        errno = ENOTCONN;
        return -1;
    }
    size_t k = n;
    if (k > 1 && fault(200)) {
        k = 1 + wrapfd_rand() % k;
    }
    if (w->kind == K_CTRL) {
        ctrl_output(buf, k);
    }
    return (ssize_t)k;
}

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
    struct wfd *w = fake(fd);
    return w ? fake_read(fd, w, buf, n, false) : __real_read(fd, buf, n);
}

ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags)
{
    struct wfd *w = fake(fd);
    return w ? fake_read(fd, w, buf, n, (flags & MSG_PEEK) != 0) : __real_recv(fd, buf, n, flags);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    struct wfd *w = fake(fd);
    if (w && w->kind == K_XFERLOG) {
        return xferlog_write(buf, n);
    }
    if (w) {
        return fake_write(fd, w, buf, n, false);
    }
    if (st.active && fd == 2) {
        return (ssize_t)n; /* the session's log (`log stderr`): not wanted */
    }
    return __real_write(fd, buf, n);
}

ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags)
{
    struct wfd *w = fake(fd);
    if (w) {
        return fake_write(fd, w, buf, n, (flags & MSG_DONTWAIT) != 0);
    }
    return __real_send(fd, buf, n, flags);
}

ssize_t __wrap_sendfile64(int out, int in, off_t *off, size_t n)
{
    struct wfd *w = fake(out);
    if (!w) {
        return __real_sendfile64(out, in, off, n);
    }
    char tmp[16384];
    if (n > sizeof tmp) {
        n = sizeof tmp;
    }
    ssize_t r = pread(in, tmp, n, off ? *off : 0);
    if (r <= 0) {
        return r;
    }
    ssize_t k = fake_write(out, w, tmp, (size_t)r, false);
    if (k > 0 && off) {
        *off += k;
    }
    return k;
}

/* ---- waits: a fake descriptor is ready for whatever is asked ---- */

static short fake_revents(const struct wfd *w, short events)
{
    short r = 0;
    switch (w->kind) {
    case K_CTRL:
    case K_DATA:
        /* Data, or the end of it: either way a read will not wait. */
        r = events & (POLLIN | POLLOUT);
        if (w->reset) {
            r |= POLLERR;
        }
        break;
    case K_LISTEN:
        r = events & POLLIN;
        break;
    case K_SOCK:
        r = events & POLLOUT;
        break;
    case K_FREE:
    case K_XFERLOG:
        break;
    }
    return r;
}

int __wrap_poll(struct pollfd *p, nfds_t n, int timeout)
{
    bool any = false;
    for (nfds_t i = 0; i < n; i++) {
        any = any || fake(p[i].fd) != NULL;
    }
    if (!any) {
        return __real_poll(p, n, timeout);
    }
    if (fault(10)) {
        errno = EINTR;
        return -1;
    }
    /* A rare timeout on a wait for the client's next command: the timeout
     * paths (login grace, idle) end the session, so only now and then. The
     * client always takes our bytes: a reply is never cut short. */
    if (n == 1 && p[0].events == POLLIN && st.faults == 3 && wrapfd_rand() % 1000 < 2) {
        return 0;
    }
    /* A client waits for a transfer's reply before it sends its next
     * command; now and then it does not (ABOR, STAT), and a pipelining
     * client never does. */
    bool transfer = false;
    for (nfds_t i = 0; i < n; i++) {
        struct wfd *w = fake(p[i].fd);
        transfer = transfer || (w && w->kind != K_CTRL);
    }
    bool ctrl_quiet = transfer && !st.pipelining && wrapfd_rand() % 32 != 0;
    int ready = 0;
    for (nfds_t i = 0; i < n; i++) {
        struct wfd *w = fake(p[i].fd);
        if (w && w->kind == K_CTRL && ctrl_quiet) {
            p[i].revents = 0;
        } else if (w) {
            p[i].revents = fake_revents(w, p[i].events);
        } else if (p[i].fd >= 0) {
            struct pollfd one = p[i];
            p[i].revents = __real_poll(&one, 1, 0) > 0 ? one.revents : 0;
        } else {
            p[i].revents = 0;
        }
        ready += p[i].revents != 0;
    }
    return ready;
}

int __wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
    /* The failed-login delay: the fuzzer has no time to wait. */
    return st.active ? 0 : __real_nanosleep(req, rem);
}

ssize_t __wrap_getrandom(void *buf, size_t n, unsigned flags)
{
    if (!st.active) {
        return __real_getrandom(buf, n, flags);
    }
    /* Passive ports and temporary names, the same for the same input. */
    for (size_t i = 0; i < n; i++) {
        ((unsigned char *)buf)[i] = (unsigned char)wrapfd_rand();
    }
    return (ssize_t)n;
}

/* ---- sockets ---- */

int __wrap_socket(int family, int type, int proto)
{
    if (!st.active || (family != AF_INET && family != AF_INET6) || (type & 0xff) != SOCK_STREAM) {
        return __real_socket(family, type, proto);
    }
    if (fault(5)) {
        errno = EMFILE;
        return -1;
    }
    return new_fake(K_SOCK, (type & SOCK_NONBLOCK) != 0);
}

int __wrap_bind(int fd, const struct sockaddr *a, socklen_t len)
{
    struct wfd *w = fake(fd);
    if (!w) {
        return __real_bind(fd, a, len);
    }
    if (w->kind != K_SOCK || len > sizeof w->addr) {
        errno = EINVAL;
        return -1;
    }
    if (fault(50)) {
        errno = EADDRINUSE; /* the next port of pasv-ports, please */
        return -1;
    }
    memset(&w->addr, 0, sizeof w->addr);
    memcpy(&w->addr, a, len);
    return 0;
}

static unsigned addr_port(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)a)->sin_port)
                                   : ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
}

static void set_port(struct sockaddr_storage *a, unsigned port)
{
    if (a->ss_family == AF_INET) {
        ((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
    } else {
        ((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
    }
}

int __wrap_listen(int fd, int backlog)
{
    struct wfd *w = fake(fd);
    if (!w) {
        return __real_listen(fd, backlog);
    }
    if (w->kind != K_SOCK) {
        errno = EINVAL;
        return -1;
    }
    if (addr_port(&w->addr) == 0) {
        set_port(&w->addr, st.next_port++);
    }
    w->kind = K_LISTEN;
    return 0;
}

static socklen_t addr_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static void give_addr(const struct sockaddr_storage *from, struct sockaddr *a, socklen_t *len)
{
    socklen_t n = addr_len(from);
    if (a && len) {
        memcpy(a, from, *len < n ? *len : n);
        *len = n;
    }
}

/* How much the client sends on a new data connection: mostly little,
 * sometimes several of the server's buffers. */
static size_t client_bytes(void)
{
    switch (wrapfd_rand() % 4) {
    case 0:
        return 0;
    case 1:
        return 1 + wrapfd_rand() % 64;
    case 2:
        return 1 + wrapfd_rand() % 4096;
    default:
        return 1 + wrapfd_rand() % 70000;
    }
}

int __wrap_accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
    struct wfd *w = fake(fd);
    if (!w) {
        return __real_accept4(fd, a, len, flags);
    }
    if (w->kind != K_LISTEN) {
        errno = EINVAL;
        return -1;
    }
    if (fault(20)) {
        errno = ECONNABORTED;
        return -1;
    }
    int c = new_fake(K_DATA, (flags & SOCK_NONBLOCK) != 0);
    if (c < 0) {
        return -1;
    }
    struct sockaddr_storage from = st.peer;
    /* SECURITY path: now and then a third host races the client to the
     * port; the server must drop it unread and wait for the client. */
    if (fault(100)) {
        if (from.ss_family == AF_INET) {
            ((struct sockaddr_in *)&from)->sin_addr.s_addr = htonl(0xc0000207); /* 192.0.2.7 */
        } else {
            ((struct sockaddr_in6 *)&from)->sin6_addr.s6_addr[0] = 0x20;
        }
    }
    set_port(&from, 40000 + wrapfd_rand() % 20000);
    fds[c].addr = from;
    fds[c].to_send = client_bytes();
    give_addr(&from, a, len);
    return c;
}

int __wrap_connect(int fd, const struct sockaddr *a, socklen_t len)
{
    struct wfd *w = fake(fd);
    if (!w) {
        return __real_connect(fd, a, len);
    }
    if (w->kind != K_SOCK || len > sizeof w->addr) {
        errno = EINVAL;
        return -1;
    }
    w->kind = K_DATA;
    memset(&w->addr, 0, sizeof w->addr);
    memcpy(&w->addr, a, len);
    w->to_send = client_bytes();
    w->connect_err = fault(30) ? ECONNREFUSED : 0;
    errno = EINPROGRESS;
    return -1;
}

int __wrap_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    struct wfd *w = fake(fd);
    if (!w) {
        return __real_getsockopt(fd, level, name, val, len);
    }
    int v = 0;
    if (level == SOL_SOCKET && name == SO_ERROR) {
        v = w->connect_err;
        w->connect_err = 0;
    } else if (level == SOL_SOCKET && name == SO_TYPE) {
        v = SOCK_STREAM;
    }
    if (*len >= sizeof v) {
        memcpy(val, &v, sizeof v);
        *len = sizeof v;
    }
    return 0;
}

int __wrap_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    return fake(fd) ? 0 : __real_setsockopt(fd, level, name, val, len);
}

int __wrap_getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
    struct wfd *w = fake(fd);
    if (!w) {
        return __real_getsockname(fd, a, len);
    }
    give_addr(w->kind == K_CTRL || w->kind == K_DATA ? &st.local : &w->addr, a, len);
    return 0;
}

int __wrap_getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
    struct wfd *w = fake(fd);
    if (!w) {
        return __real_getpeername(fd, a, len);
    }
    if (w->kind != K_CTRL && w->kind != K_DATA) {
        errno = ENOTCONN;
        return -1;
    }
    give_addr(w->kind == K_CTRL ? &st.peer : &w->addr, a, len);
    return 0;
}

int __wrap_shutdown(int fd, int how)
{
    return fake(fd) ? 0 : __real_shutdown(fd, how);
}

int __wrap_close(int fd)
{
    struct wfd *w = fake(fd);
    if (w) {
        w->kind = K_FREE;
    }
    return __real_close(fd);
}
