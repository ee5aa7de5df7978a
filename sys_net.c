/* Sockets (include/sys_net.h): the one file that makes socket system calls.
 * The data channel, the TLS bio and the entry point use these wrappers, so
 * EINTR, close-on-exec and SIGPIPE are handled once, here. */
#include "sys_net.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys.h"

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

int sys_unix_dgram_connect(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (!sys_copy(sun.sun_path, sizeof sun.sun_path, path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int r;
    do {
        r = connect(fd, (const struct sockaddr *)&sun, (socklen_t)sizeof sun);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        int e = errno;
        (void)close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------ kernel TLS */

/* The kernel's ABI (include/uapi/linux/tls.h, linux/tcp.h), spelled here
 * so that the build needs no kernel headers (musl cross builds). */
#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif
enum {
    KTLS_TX = 1,
    KTLS_RX = 2,
    KTLS_SET_RECORD_TYPE = 1,
    KTLS_GET_RECORD_TYPE = 2,
    KTLS_CIPHER_AES_GCM_128 = 51,
    KTLS_CIPHER_AES_GCM_256 = 52,
    KTLS_CIPHER_CHACHA20_POLY1305 = 54,
};

/* struct tls12_crypto_info_aes_gcm_{128,256} and _chacha20_poly1305: a
 * 4-byte header, then byte arrays only (no padding). */
struct ktls_info {
    uint16_t version;
    uint16_t cipher_type;
    unsigned char rest[8 + 32 + 4 + 8];
};

int sys_ktls_probe(void)
{
    /* The ULP is looked up (and, for CAP_NET_ADMIN, its module loaded)
     * before the socket's state is checked: ENOENT means no kernel TLS,
     * ENOTCONN means the ULP exists (an unconnected socket cannot take
     * it). */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int r = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof "tls");
    int e = errno;
    (void)close(fd);
    if (r == 0 || e == ENOTCONN) {
        return 1;
    }
    errno = e;
    return e == ENOENT ? 0 : -1;
}

int sys_ktls_ulp(int fd)
{
    return setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof "tls");
}

int sys_ktls_set_key(int fd, bool tx, const struct sys_ktls_key *k)
{
    struct ktls_info ci = {.version = (uint16_t)k->version};
    size_t len = 4, keylen = 16;
    unsigned char *p = ci.rest;
    switch (k->cipher) {
    case SYS_KTLS_AES_128_GCM:
    case SYS_KTLS_AES_256_GCM:
        keylen = k->cipher == SYS_KTLS_AES_128_GCM ? 16 : 32;
        ci.cipher_type =
            k->cipher == SYS_KTLS_AES_128_GCM ? KTLS_CIPHER_AES_GCM_128 : KTLS_CIPHER_AES_GCM_256;
        /* iv[8] key[] salt[4] rec_seq[8]. TLS 1.2: the salt is the implicit
         * IV and iv the first explicit nonce (the sequence number, as mbed
         * TLS and OpenSSL send it); TLS 1.3: salt and iv are the 12-byte
         * IV. */
        memcpy(p, k->version == SYS_KTLS_TLS13 ? k->iv + 4 : k->seq, 8);
        memcpy(p + 8, k->key, keylen);
        memcpy(p + 8 + keylen, k->iv, 4);
        memcpy(p + 12 + keylen, k->seq, 8);
        len += 8 + keylen + 4 + 8;
        break;
    case SYS_KTLS_CHACHA20_POLY1305:
        /* iv[12] key[32] rec_seq[8], both versions (RFC 7905). */
        ci.cipher_type = KTLS_CIPHER_CHACHA20_POLY1305;
        memcpy(p, k->iv, 12);
        memcpy(p + 12, k->key, 32);
        memcpy(p + 44, k->seq, 8);
        len += 12 + 32 + 8;
        break;
    }
    int r = setsockopt(fd, SOL_TLS, tx ? KTLS_TX : KTLS_RX, &ci, (socklen_t)len);
    int e = errno;
    explicit_bzero(&ci, sizeof ci);
    errno = e;
    return r;
}

ssize_t sys_ktls_send_record(int fd, unsigned char type, const void *buf, size_t n)
{
    union {
        char buf[CMSG_SPACE(sizeof(unsigned char))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = n};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_TLS;
    c->cmsg_type = KTLS_SET_RECORD_TYPE;
    c->cmsg_len = CMSG_LEN(sizeof(unsigned char));
    *CMSG_DATA(c) = type;
    ssize_t w;
    do {
        w = sendmsg(fd, &m, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    return w;
}

ssize_t sys_ktls_recv(int fd, void *buf, size_t n, unsigned char *type)
{
    union {
        char buf[CMSG_SPACE(sizeof(unsigned char))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = n};
    struct msghdr m;
    ssize_t r;
    do {
        memset(&ctl, 0, sizeof ctl);
        m = (struct msghdr){.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof ctl.buf};
        r = recvmsg(fd, &m, MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    *type = 0;
    for (struct cmsghdr *c = r >= 0 ? CMSG_FIRSTHDR(&m) : NULL; c != NULL; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_TLS && c->cmsg_type == KTLS_GET_RECORD_TYPE) {
            *type = *CMSG_DATA(c);
        }
    }
    return r;
}
