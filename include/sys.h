/* The trust boundary with libc (STYLE.md habit 1): bounded string helpers and
 * syscall wrappers that retry EINTR and report every error. */
#ifndef FTPSD_SYS_H
#define FTPSD_SYS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

/* Copies src into dst (size dstsz), always NUL-terminated. False if it did
 * not fit (dst then holds a truncated copy). */
bool sys_copy(char *dst, size_t dstsz, const char *src);
/* snprintf that reports truncation or an encoding error as false. */
bool sys_fmt(char *dst, size_t dstsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends formatted text at *pos (kept < dstsz); false on truncation. */
bool sys_append(char *dst, size_t dstsz, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Case-insensitive ASCII compare, locale-free. */
bool sys_ieq(const char *a, const char *b);
/* The same for at most the first n bytes. */
bool sys_ieq_n(const char *a, const char *b, size_t n);

/* read(2) that retries EINTR. */
ssize_t sys_read(int fd, void *buf, size_t n);
/* Writes all n bytes within timeout_ms (-1: none), retrying EINTR and short
 * writes; on a socket never blocking past the deadline. False with errno
 * (ETIMEDOUT when the peer did not take the bytes in time). */
bool sys_write_all(int fd, const void *buf, size_t n, int timeout_ms);

/* One write(2) of all n bytes (retrying EINTR): on an O_APPEND fd the
 * bytes land together. False on an error or a short write (errno 0). */
bool sys_write_once(int fd, const void *buf, size_t n);

/* Waits until fd is readable (or writable), up to timeout_ms (-1 forever).
 * Returns 1 ready, 0 timeout, -1 error. */
int sys_wait_fd(int fd, bool for_write, int timeout_ms);

/* Monotonic milliseconds. */
int64_t sys_now_ms(void);

/* Sleeps the given milliseconds (EINTR-safe). */
void sys_sleep_ms(unsigned ms);

/* Fills buf from getrandom(2), retrying short reads. */
bool sys_random(void *buf, size_t n);

/* Numeric "addr" and "addr:port" ("[v6]:port") of a socket address. */
bool sys_addr_str(const struct sockaddr *sa, socklen_t len, char *out, size_t outsz,
                  bool with_port);
/* The IPv4 address of a v4 or v4-mapped v6 socket address; false if it
 * has none. */
struct in_addr;
bool sys_addr_v4(const struct sockaddr_storage *ss, struct in_addr *out);
/* The port of an AF_INET or AF_INET6 address, and setting it. */
unsigned sys_addr_port(const struct sockaddr_storage *ss);
void sys_addr_set_port(struct sockaddr_storage *ss, unsigned port);
/* The IP address bytes of a socket address (4 or 16; a v4-mapped v6
 * address gives its 4), pointing into sa. False for another family. */
bool sys_addr_ip_bytes(const struct sockaddr *sa, const unsigned char **p, size_t *n);
/* True if two socket addresses have the same IP (v4-mapped v6 folded). */
bool sys_same_ip(const struct sockaddr *a, const struct sockaddr *b);

/* SIGTERM/SIGHUP (the super-server or an admin stops the session): the
 * handler removes the registered atomic-upload temporary — unlinkat(2) is
 * async-signal-safe — and exits 0, so a stopped upload leaves nothing. */
void sys_install_term_handler(void);
/* Registers the temporary `name` (in directory dirfd) to remove on
 * termination; name must stay valid, and "" means none. dirfd -1: none. */
void sys_term_cleanup(int dirfd, const char *name);

/* close(2) and its error; sys_closep closes *fd if open, ignores the
 * error (read-only and O_PATH fds) and sets it to -1. */
int sys_close(int fd);
void sys_closep(int *fd);
/* O_NONBLOCK on or off; false with errno. */
bool sys_set_nonblock(int fd, bool on);
/* poll(2) that retries EINTR within the same overall timeout (-1 none):
 * >0 ready, 0 timeout, -1 error. */
struct pollfd;
int sys_poll(struct pollfd *fds, unsigned n, int timeout_ms);

#endif
