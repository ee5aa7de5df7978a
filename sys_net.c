/* Sockets (include/sys_net.h): the one file that makes socket system calls.
 * The data channel, the TLS bio and the entry point use these wrappers, so
 * EINTR, close-on-exec and SIGPIPE are handled once, here. */
#include "sys_net.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/time.h>
#include <unistd.h>

int sys_tcp_socket(int family)
{
    return socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

socklen_t sys_addr_len(int family)
{
    return family == AF_INET ? (socklen_t)sizeof(struct sockaddr_in)
                             : (socklen_t)sizeof(struct sockaddr_in6);
}

int sys_bind(int fd, const struct sockaddr_storage *a)
{
    return bind(fd, (const struct sockaddr *)a, sys_addr_len(a->ss_family));
}

int sys_listen(int fd, int backlog)
{
    return listen(fd, backlog);
}

int sys_accept(int fd, struct sockaddr_storage *peer, socklen_t *len)
{
    int c;
    do {
        *len = sizeof *peer;
        c = accept4(fd, (struct sockaddr *)peer, len, SOCK_CLOEXEC);
    } while (c < 0 && errno == EINTR);
    return c;
}

int sys_connect(int fd, const struct sockaddr_storage *to, socklen_t len)
{
    /* An interrupted connect goes on in the background: EINTR reads as
     * EINPROGRESS to a caller that waits for writability next. */
    if (connect(fd, (const struct sockaddr *)to, len) == 0) {
        return 0;
    }
    if (errno == EINTR) {
        errno = EINPROGRESS;
    }
    return -1;
}

int sys_socket_error(int fd)
{
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
        return errno;
    }
    return soerr;
}

bool sys_local_addr(int fd, struct sockaddr_storage *a, socklen_t *len)
{
    *len = sizeof *a;
    return getsockname(fd, (struct sockaddr *)a, len) == 0;
}

bool sys_peer_addr(int fd, struct sockaddr_storage *a, socklen_t *len)
{
    *len = sizeof *a;
    return getpeername(fd, (struct sockaddr *)a, len) == 0;
}

bool sys_is_stream_socket(int fd)
{
    int type = 0;
    socklen_t tl = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM;
}

void sys_tune_socket(int fd)
{
    int one = 1;
    /* Failures are harmless here (a non-TCP fd in unit tests): the session
     * only loses latency, never correctness. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Clients send ABOR as urgent data (ftplib sends the whole line with
     * MSG_OOB): without OOBINLINE the kernel pulls the last byte, the LF, out
     * of the stream and the line never ends. */
    (void)setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof one);
}

bool sys_set_reuseaddr(int fd)
{
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0;
}

bool sys_set_cork(int fd, bool on)
{
    int v = on ? 1 : 0;
    return setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v) == 0;
}

bool sys_set_send_timeout(int fd, unsigned seconds)
{
    struct timeval tv = {.tv_sec = (time_t)seconds};
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0;
}

ssize_t sys_send(int fd, const void *buf, size_t n, bool dontwait)
{
    ssize_t w;
    do {
        w = send(fd, buf, n, MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0));
    } while (w < 0 && errno == EINTR);
    return w;
}

ssize_t sys_recv_nowait(int fd, void *buf, size_t n)
{
    ssize_t r;
    do {
        r = recv(fd, buf, n, MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t sys_recv_peek(int fd, void *buf, size_t n)
{
    ssize_t r;
    do {
        r = recv(fd, buf, n, MSG_PEEK | MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t sys_sendfile(int out_fd, int in_fd, off_t *off, size_t n)
{
    ssize_t w;
    do {
        w = sendfile(out_fd, in_fd, off, n);
    } while (w < 0 && errno == EINTR);
    return w;
}

int sys_shutdown_write(int fd)
{
    return shutdown(fd, SHUT_WR);
}
