/* Sockets, behind the wall of the sys family (STYLE.md habit 1): every
 * socket system call of the program is made in sys_net.c. Each wrapper
 * retries EINTR, sets close-on-exec, and reports failure as -1 (or false)
 * with errno kept for the caller's message. */
#ifndef FTPSD_SYS_NET_H
#define FTPSD_SYS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* A non-blocking, close-on-exec TCP socket of `family`; -1 with errno. */
int sys_tcp_socket(int family);
/* bind(2) to a (length from its family); 0 or -1 with errno. */
int sys_bind(int fd, const struct sockaddr_storage *a);
/* listen(2); 0 or -1 with errno. */
int sys_listen(int fd, int backlog);
/* accept4(2), close-on-exec and blocking; fills peer. -1 with errno (EAGAIN
 * when nothing is pending). */
int sys_accept(int fd, struct sockaddr_storage *peer, socklen_t *len);
/* connect(2); 0, or -1 with errno (EINPROGRESS on a non-blocking socket). */
int sys_connect(int fd, const struct sockaddr_storage *to, socklen_t len);
/* The pending error of a socket (SO_ERROR) after a non-blocking connect: 0
 * or an errno value. */
int sys_socket_error(int fd);
/* getsockname(2) / getpeername(2); false with errno. */
bool sys_local_addr(int fd, struct sockaddr_storage *a, socklen_t *len);
bool sys_peer_addr(int fd, struct sockaddr_storage *a, socklen_t *len);
/* True if fd is a stream socket. */
bool sys_is_stream_socket(int fd);
/* The length of a socket address of this family. */
socklen_t sys_addr_len(int family);

/* Sets TCP_NODELAY (SPEC §5) and SO_OOBINLINE where applicable. */
void sys_tune_socket(int fd);
/* SO_REUSEADDR, so a small passive port range can be reused while an
 * earlier connection on a port sits in TIME_WAIT. False with errno. */
bool sys_set_reuseaddr(int fd);
/* TCP_CORK on or off; false with errno. */
bool sys_set_cork(int fd, bool on);
/* SO_SNDTIMEO: a blocking send gives up after `seconds`. False with errno. */
bool sys_set_send_timeout(int fd, unsigned seconds);

/* send(2) without SIGPIPE; with `dontwait` never blocks. -1 with errno. */
ssize_t sys_send(int fd, const void *buf, size_t n, bool dontwait);
/* recv(2) that never blocks; -1 with errno (EAGAIN: nothing there). */
ssize_t sys_recv_nowait(int fd, void *buf, size_t n);
/* recv(2) with MSG_PEEK of up to n bytes, never blocking. */
ssize_t sys_recv_peek(int fd, void *buf, size_t n);
/* sendfile(2) of up to n bytes of in_fd at *off to out_fd. -1 with errno. */
ssize_t sys_sendfile(int out_fd, int in_fd, off_t *off, size_t n);
/* shutdown(SHUT_WR): our FIN. 0 or -1 with errno. */
int sys_shutdown_write(int fd);

/* Kernel TLS (Linux kTLS): the record layer of a TCP socket handed to the
 * kernel after a handshake done in user space. */
#define SYS_KTLS_TLS12 0x0303
#define SYS_KTLS_TLS13 0x0304
enum sys_ktls_cipher { SYS_KTLS_AES_128_GCM, SYS_KTLS_AES_256_GCM, SYS_KTLS_CHACHA20_POLY1305 };
/* One direction's record protection, as the kernel takes it. */
struct sys_ktls_key {
    unsigned version; /* SYS_KTLS_TLS12 or SYS_KTLS_TLS13 */
    enum sys_ktls_cipher cipher;
    unsigned char key[32]; /* 16 bytes for AES-128-GCM */
    unsigned char iv[12];  /* TLS 1.2 AES-GCM: the 4-byte implicit IV; else 12 bytes */
    unsigned char seq[8];  /* the next record's sequence number, big-endian */
};
/* Whether this kernel has the TLS ULP: 1 yes, 0 no (ENOENT), -1 with errno
 * on another failure. Run as root it also loads tls.ko where it exists. */
int sys_ktls_probe(void);
/* setsockopt(TCP_ULP, "tls") on a connected socket: 0, or -1 with errno
 * (ENOENT: no kernel TLS). The socket behaves as before until a key is set. */
int sys_ktls_ulp(int fd);
/* Hands one direction (tx: what we send) to the kernel: 0 or -1 with errno
 * (EINVAL, ENOPROTOOPT...: this kernel lacks the suite). */
int sys_ktls_set_key(int fd, bool tx, const struct sys_ktls_key *k);
/* Sends n bytes as one record of content type `type` (an alert, 21) on a
 * kernel TLS socket, without SIGPIPE; -1 with errno. */
ssize_t sys_ktls_send_record(int fd, unsigned char type, const void *buf, size_t n);
/* recvmsg(2) on a kernel TLS socket, never blocking: the bytes of one or
 * more records of one content type, reported in *type (0 when the kernel
 * gave none, as at the end of the stream); 0 at EOF; -1 with errno
 * (EAGAIN: no whole record yet; EBADMSG: a record failed to decrypt). */
ssize_t sys_ktls_recv(int fd, void *buf, size_t n, unsigned char *type);

/* A close-on-exec AF_UNIX datagram socket connected to `path` (the
 * syslog socket); -1 with errno. */
int sys_unix_dgram_connect(const char *path);

#endif
