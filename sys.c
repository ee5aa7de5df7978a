/* The contact surface with libc strings and system calls (STYLE.md habit 1).
 * Everything here is bounded and retries EINTR, so callers see one clear
 * success/failure per operation and never handle partial writes. */
#include "sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

bool sys_copy(char *dst, size_t dstsz, const char *src)
{
    if (dstsz == 0) {
        return false;
    }
    size_t n = strnlen(src, dstsz);
    if (n == dstsz) {
        memcpy(dst, src, dstsz - 1);
        dst[dstsz - 1] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

bool sys_fmt(char *dst, size_t dstsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, dstsz, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < dstsz;
}

bool sys_append(char *dst, size_t dstsz, size_t *pos, const char *fmt, ...)
{
    if (*pos >= dstsz) {
        return false;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst + *pos, dstsz - *pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= dstsz - *pos) {
        *pos = dstsz - 1;
        return false;
    }
    *pos += (size_t)n;
    return true;
}

bool sys_ieq(const char *a, const char *b)
{
    return sys_ieq_n(a, b, SIZE_MAX);
}

bool sys_ieq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[i];
        if (ca >= 'a' && ca <= 'z') {
            ca = (unsigned char)(ca - 32);
        }
        if (cb >= 'a' && cb <= 'z') {
            cb = (unsigned char)(cb - 32);
        }
        if (ca != cb) {
            return false;
        }
        if (ca == '\0') {
            return true;
        }
    }
    return true;
}

ssize_t sys_read(int fd, void *buf, size_t n)
{
    ssize_t r;
    do {
        r = read(fd, buf, n);
    } while (r < 0 && errno == EINTR);
    return r;
}

bool sys_write_all(int fd, const void *buf, size_t n, int timeout_ms)
{
    const char *p = buf;
    int64_t deadline = timeout_ms < 0 ? -1 : sys_now_ms() + timeout_ms;
    bool sock = true;
    while (n > 0) {
        /* SECURITY: never a blocking write on a socket: a peer that reads
         * nothing would hold the session for as long as it likes. */
        ssize_t w = sock ? send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) : write(fd, p, n);
        if (w < 0 && errno == ENOTSOCK && sock) {
            sock = false;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int64_t left = deadline < 0 ? -1 : deadline - sys_now_ms();
            int r = sys_wait_fd(fd, true, left < 0 ? (deadline < 0 ? -1 : 0) : (int)left);
            if (r == 0) {
                errno = ETIMEDOUT;
                return false;
            }
            if (r < 0) {
                return false;
            }
            continue;
        }
        if (w < 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

bool sys_write_once(int fd, const void *buf, size_t n)
{
    ssize_t w;
    do {
        w = write(fd, buf, n);
    } while (w < 0 && errno == EINTR);
    if (w >= 0 && (size_t)w != n) {
        errno = 0;
    }
    return w >= 0 && (size_t)w == n;
}

int sys_wait_fd(int fd, bool for_write, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = for_write ? POLLOUT : POLLIN};
    int r = sys_poll(&pfd, 1, timeout_ms);
    return r > 0 ? 1 : r;
}

int64_t sys_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sys_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bool sys_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        p += r;
        n -= (size_t)r;
    }
    return true;
}

bool sys_addr_str(const struct sockaddr *sa, socklen_t len, char *out, size_t outsz, bool with_port)
{
    char host[INET6_ADDRSTRLEN];
    const void *addr;
    unsigned port;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        addr = &in->sin_addr, port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        addr = &in6->sin6_addr, port = ntohs(in6->sin6_port);
    } else {
        return sys_copy(out, outsz, "?");
    }
    if (!inet_ntop(sa->sa_family, addr, host, sizeof host)) {
        return false;
    }
    if (!with_port) {
        return sys_copy(out, outsz, host);
    }
    return sa->sa_family == AF_INET6 ? sys_fmt(out, outsz, "[%s]:%u", host, port)
                                     : sys_fmt(out, outsz, "%s:%u", host, port);
}

/* Folds an IPv4-mapped IPv6 address to IPv4 so that a v4 client seen
 * through a dual-stack socket compares equal to itself. */
bool sys_addr_ip_bytes(const struct sockaddr *sa, const unsigned char **p, size_t *n)
{
    if (sa->sa_family == AF_INET) {
        *p = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        *n = 4;
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            *p = a->s6_addr + 12;
            *n = 4;
        } else {
            *p = a->s6_addr;
            *n = 16;
        }
        return true;
    }
    return false;
}

bool sys_addr_v4(const struct sockaddr_storage *ss, struct in_addr *out)
{
    if (ss->ss_family == AF_INET) {
        *out = ((const struct sockaddr_in *)ss)->sin_addr;
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(&out->s_addr, a->s6_addr + 12, 4);
            return true;
        }
    }
    return false;
}

void sys_addr_set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET) {
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    } else {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    }
}

unsigned sys_addr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    }
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

bool sys_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
    const unsigned char *pa, *pb;
    size_t na, nb;
    if (!sys_addr_ip_bytes(a, &pa, &na) || !sys_addr_ip_bytes(b, &pb, &nb)) {
        return false;
    }
    return na == nb && memcmp(pa, pb, na) == 0;
}

static volatile sig_atomic_t term_dirfd = -1;
static const char *volatile term_name;

static void on_terminate(int sig)
{
    (void)sig;
    int fd = term_dirfd;
    const char *name = term_name;
    if (fd >= 0 && name && name[0]) {
        (void)unlinkat(fd, name, 0);
    }
    _exit(0);
}

void sys_install_term_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_terminate;
    sigfillset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
}

void sys_term_cleanup(int dirfd, const char *name)
{
    term_dirfd = -1;
    term_name = name;
    term_dirfd = dirfd;
}

int sys_close(int fd)
{
    /* Not retried on EINTR: Linux has released the fd by then, and a retry
     * could close one that another part of the program just opened. */
    return close(fd);
}

void sys_closep(int *fd)
{
    if (*fd >= 0) {
        (void)close(*fd);
        *fd = -1;
    }
}

bool sys_set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        return false;
    }
    int nfl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return nfl == fl || fcntl(fd, F_SETFL, nfl) == 0;
}

int sys_poll(struct pollfd *fds, unsigned n, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? 0 : sys_now_ms() + timeout_ms;
    for (;;) {
        int left = -1;
        if (timeout_ms >= 0) {
            int64_t d = deadline - sys_now_ms();
            left = d < 0 ? 0 : (int)d;
        }
        int r = poll(fds, (nfds_t)n, left);
        if (r >= 0 || errno != EINTR) {
            return r;
        }
    }
}
