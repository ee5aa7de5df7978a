/* In-memory sockets for the session fuzzer (fuzz/wrapfd.c), after the idea
 * of Dropbear's fuzz-wrapfd.c: the control connection reads the fuzzer's
 * bytes, every reply is checked and dropped, data connections (PASV, EPSV,
 * PORT, EPRT) connect at once to a peer that sends a pattern and takes
 * anything, and EINTR, EAGAIN and short reads and writes are injected from
 * a generator seeded by the input. No real socket is opened, nothing
 * sleeps, and every wait is answered at once.
 *
 * The sys layer's system calls reach this file through the linker (`ld
 * --wrap=read` and so on, mk/fuzz.mk): the program's own sources are
 * compiled as for any other target, unchanged. Calls on descriptors that
 * are not fake ones, and every call outside a session, go to the real
 * function. Fake descriptors are real duplicates of /dev/null, so their
 * numbers never collide with the files the session opens. */
#ifndef FTPSD_FUZZ_WRAPFD_H
#define FTPSD_FUZZ_WRAPFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Once per process. */
void wrapfd_setup(void);

/* One session: the control input, the generator's seed, how often faults
 * are injected (0 none .. 3 often), whether the client sends commands
 * during a transfer without waiting for its reply, and the control
 * connection's two ends. Returns the control fd (read and write). */
int wrapfd_begin(const uint8_t *in, size_t n, uint64_t seed, unsigned faults, bool pipelining,
                 const struct sockaddr_storage *local, const struct sockaddr_storage *peer);

/* A file for the session's xferlog records: each write must be exactly
 * one line without control bytes, or the run aborts. */
int wrapfd_xferlog(void);

/* Ends the session and closes the two descriptors above: aborts if another
 * fake descriptor is still open (a leak), or if a reply line was cut
 * short. */
void wrapfd_end(int ctrl_fd, int xferlog_fd);

/* A number from the session's generator (also for the harness). */
uint32_t wrapfd_rand(void);

#endif
