/* The seccomp sandbox (include/sys_sandbox.h): the one file that calls
 * prctl(2). Once the privileges are dropped a session needs few system
 * calls: it reads and writes its connections, makes data connections,
 * works on files beneath its root through descriptors it already holds,
 * keeps time, sleeps, draws random bytes, logs and exits. The filter below
 * lets exactly those run and no other (SPEC §4: the kernel's attack surface
 * shrinks to what a session uses, and a code-execution bug cannot exec,
 * ptrace, change credentials or open non-TCP sockets).
 *
 * Shape (anchors: OpenSSH's sandbox-seccomp-filter.c, vsftpd's
 * seccompsandbox.c; read, not copied): the architecture is checked first
 * (a call through another ABI, say int 0x80 on x86_64, is killed at once:
 * its numbers mean other calls); then the number is compared with a table
 * of rules, in order, each allowing one call or one call with given values
 * of its integer arguments; what matches nothing traps. The table is
 * compiled into BPF at install time, vsftpd-style, so one rule can carry
 * run-time values (the process id in the abort rule).
 *
 * Why SECCOMP_RET_TRAP and not SECCOMP_RET_KILL_PROCESS for a refused
 * call: both keep the call from running (the kernel skips it either way),
 * but a trap raises SIGSYS, and our handler can first write one line
 * naming the call, then die of SIGSYS. The handler only formats into a
 * stack buffer and calls the report function (async-signal-safe by
 * contract); it then makes a call that is never allowed while SIGSYS is
 * still blocked in the handler, and the kernel, finding the signal
 * blocked, resets it to its default action and kills the process with it.
 * Nothing returns to the code that made the refused call.
 *
 * Toolchains without kernel headers (musl-gcc, router SDKs) get the few
 * kernel ABI definitions below; <sys/syscall.h> gives every libc the
 * numbers of its architecture. A call that an architecture lacks is named
 * SANDBOX_NONE here and left out of its filter. */
#include "sys_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "defs.h"
#include "sys.h"

#if defined(__has_include)
#if __has_include(<linux/seccomp.h>) && __has_include(<linux/filter.h>) &&                         \
    __has_include(<linux/audit.h>)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#define HAVE_LINUX_SECCOMP_H 1
#endif
#endif

#ifndef HAVE_LINUX_SECCOMP_H
/* Kernel ABI: include/uapi/linux/{filter.h,bpf_common.h,seccomp.h}. */
struct sock_filter {
    uint16_t code;
    uint8_t jt;
    uint8_t jf;
    uint32_t k;
};
struct sock_fprog {
    unsigned short len;
    struct sock_filter *filter;
};
struct seccomp_data {
    int nr;
    uint32_t arch;
    uint64_t instruction_pointer;
    uint64_t args[6];
};
#define BPF_LD 0x00
#define BPF_ALU 0x04
#define BPF_JMP 0x05
#define BPF_RET 0x06
#define BPF_W 0x00
#define BPF_ABS 0x20
#define BPF_AND 0x50
#define BPF_JEQ 0x10
#define BPF_K 0x00
#define SECCOMP_MODE_FILTER 2
#define SECCOMP_RET_TRAP 0x00030000U
#define SECCOMP_RET_ERRNO 0x00050000U
#define SECCOMP_RET_ALLOW 0x7fff0000U
/* include/uapi/linux/audit.h and elf-em.h: EM_* | 64-bit | little-endian. */
#define SANDBOX_ARCH_64 0x80000000U
#define SANDBOX_ARCH_LE 0x40000000U
#define AUDIT_ARCH_X86_64 (62U | SANDBOX_ARCH_64 | SANDBOX_ARCH_LE)
#define AUDIT_ARCH_I386 (3U | SANDBOX_ARCH_LE)
#define AUDIT_ARCH_AARCH64 (183U | SANDBOX_ARCH_64 | SANDBOX_ARCH_LE)
#define AUDIT_ARCH_ARM (40U | SANDBOX_ARCH_LE)
#define AUDIT_ARCH_ARMEB 40U
#define AUDIT_ARCH_MIPS 8U
#define AUDIT_ARCH_MIPSEL (8U | SANDBOX_ARCH_LE)
#define AUDIT_ARCH_MIPS64 (8U | SANDBOX_ARCH_64)
#define AUDIT_ARCH_MIPSEL64 (8U | SANDBOX_ARCH_64 | SANDBOX_ARCH_LE)
#define AUDIT_ARCH_MIPS64N32 (8U | SANDBOX_ARCH_64 | 0x20000000U)
#define AUDIT_ARCH_MIPSEL64N32 (8U | SANDBOX_ARCH_64 | SANDBOX_ARCH_LE | 0x20000000U)
#define AUDIT_ARCH_PPC 20U
#define AUDIT_ARCH_PPC64 (21U | SANDBOX_ARCH_64)
#define AUDIT_ARCH_PPC64LE (21U | SANDBOX_ARCH_64 | SANDBOX_ARCH_LE)
#define AUDIT_ARCH_RISCV64 (243U | SANDBOX_ARCH_64 | SANDBOX_ARCH_LE)
#define AUDIT_ARCH_S390X (22U | SANDBOX_ARCH_64)
#define AUDIT_ARCH_LOONGARCH64 (258U | SANDBOX_ARCH_64 | SANDBOX_ARCH_LE)
#endif
/* Linux 4.14; older kernels read it as SECCOMP_RET_KILL, which kills the
 * (only) thread: the same for a single-threaded session. */
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef PR_SET_NO_NEW_PRIVS
#define PR_SET_NO_NEW_PRIVS 38
#endif
#ifndef PR_SET_SECCOMP
#define PR_SET_SECCOMP 22
#endif
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS */
#endif

/* The filter's idea of "this process's system calls". */
#if defined(__x86_64__)
/* x32 too: its numbers carry __X32_SYSCALL_BIT and so match no rule of an
 * x86_64 build, and an x32 build's own numbers include it. */
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__) && !defined(__AARCH64EB__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && defined(__ARMEB__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_ARMEB
#elif defined(__arm__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_ARM
#elif defined(__mips__) && defined(_MIPS_SIM) && _MIPS_SIM == _ABIO32
#ifdef __MIPSEL__
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_MIPSEL
#else
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_MIPS
#endif
#elif defined(__mips__) && defined(_MIPS_SIM) && _MIPS_SIM == _ABI64
#ifdef __MIPSEL__
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_MIPSEL64
#else
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_MIPS64
#endif
#elif defined(__mips__) && defined(_MIPS_SIM) && _MIPS_SIM == _ABIN32
#ifdef __MIPSEL__
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_MIPSEL64N32
#else
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_MIPS64N32
#endif
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__powerpc64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_PPC64
#elif defined(__powerpc__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_PPC
#elif defined(__riscv) && __riscv_xlen == 64
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_RISCV64
#elif defined(__s390x__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_S390X
#elif defined(__loongarch__) && __loongarch_grlen == 64
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_LOONGARCH64
#endif

/* Sanitizer builds (make SANITIZE=1) need a few more calls. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

/* The low 32 bits of argument i in struct seccomp_data. Only int-sized
 * arguments are matched, and the kernel reads only their low half too. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i) + 4))
#else
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#endif

/* Calls that only some architectures (or libc headers) have: the 32-bit
 * ones have the *64 and *_time64 variants and socketcall, the newer ones
 * lack the legacy calls. A name the headers lack is SANDBOX_NONE. */
#define SANDBOX_NONE (-1L)
#ifndef SYS_poll
#define SYS_poll SANDBOX_NONE
#endif
#ifndef SYS_ppoll
#define SYS_ppoll SANDBOX_NONE
#endif
#ifndef SYS_ppoll_time64
#define SYS_ppoll_time64 SANDBOX_NONE
#endif
#ifndef SYS_recv
#define SYS_recv SANDBOX_NONE
#endif
#ifndef SYS_send
#define SYS_send SANDBOX_NONE
#endif
#ifndef SYS_sendfile
#define SYS_sendfile SANDBOX_NONE
#endif
#ifndef SYS_sendfile64
#define SYS_sendfile64 SANDBOX_NONE
#endif
#ifndef SYS_accept
#define SYS_accept SANDBOX_NONE
#endif
#ifndef SYS_socketcall
#define SYS_socketcall SANDBOX_NONE
#endif
#ifndef SYS_open
#define SYS_open SANDBOX_NONE
#endif
#ifndef SYS_openat2
#define SYS_openat2 SANDBOX_NONE
#endif
#ifndef SYS_fstat
#define SYS_fstat SANDBOX_NONE
#endif
#ifndef SYS_fstat64
#define SYS_fstat64 SANDBOX_NONE
#endif
#ifndef SYS_newfstatat
#define SYS_newfstatat SANDBOX_NONE
#endif
#ifndef SYS_fstatat64
#define SYS_fstatat64 SANDBOX_NONE
#endif
#ifndef SYS_statx
#define SYS_statx SANDBOX_NONE
#endif
#ifndef SYS_lseek
#define SYS_lseek SANDBOX_NONE
#endif
#ifndef SYS__llseek
#define SYS__llseek SANDBOX_NONE
#endif
#ifndef SYS_ftruncate64
#define SYS_ftruncate64 SANDBOX_NONE
#endif
#ifndef SYS_fcntl
#define SYS_fcntl SANDBOX_NONE
#endif
#ifndef SYS_fcntl64
#define SYS_fcntl64 SANDBOX_NONE
#endif
#ifndef SYS_getdents
#define SYS_getdents SANDBOX_NONE
#endif
#ifndef SYS_renameat
#define SYS_renameat SANDBOX_NONE
#endif
#ifndef SYS_renameat2
#define SYS_renameat2 SANDBOX_NONE
#endif
#ifndef SYS_utimensat_time64
#define SYS_utimensat_time64 SANDBOX_NONE
#endif
#ifndef SYS_mmap
#define SYS_mmap SANDBOX_NONE
#endif
#ifndef SYS_mmap2
#define SYS_mmap2 SANDBOX_NONE
#endif
#ifndef SYS_clock_gettime
#define SYS_clock_gettime SANDBOX_NONE
#endif
#ifndef SYS_clock_gettime64
#define SYS_clock_gettime64 SANDBOX_NONE
#endif
#ifndef SYS_gettimeofday
#define SYS_gettimeofday SANDBOX_NONE
#endif
#ifndef SYS_time
#define SYS_time SANDBOX_NONE
#endif
#ifndef SYS_nanosleep
#define SYS_nanosleep SANDBOX_NONE
#endif
#ifndef SYS_clock_nanosleep
#define SYS_clock_nanosleep SANDBOX_NONE
#endif
#ifndef SYS_clock_nanosleep_time64
#define SYS_clock_nanosleep_time64 SANDBOX_NONE
#endif
#ifndef SYS_sigreturn
#define SYS_sigreturn SANDBOX_NONE
#endif
#ifndef SYS_tkill
#define SYS_tkill SANDBOX_NONE
#endif
/* Never allowed; named so that the log can say which call it was. */
#ifndef SYS_readlink
#define SYS_readlink SANDBOX_NONE
#endif
#ifndef SYS_fork
#define SYS_fork SANDBOX_NONE
#endif
#ifndef SYS_vfork
#define SYS_vfork SANDBOX_NONE
#endif
#ifndef SYS_clone3
#define SYS_clone3 SANDBOX_NONE
#endif
#ifndef SYS_execveat
#define SYS_execveat SANDBOX_NONE
#endif
#ifndef SYS_chmod
#define SYS_chmod SANDBOX_NONE
#endif
#ifndef SYS_symlink
#define SYS_symlink SANDBOX_NONE
#endif

/* Kernel ABI values that some libc headers lack. */
#ifndef TCP_ULP
#define TCP_ULP 31
#endif
#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#define SANDBOX_TLS_TX 1 /* include/uapi/linux/tls.h */
#define SANDBOX_TLS_RX 2
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
/* socketcall(2)'s call numbers (include/uapi/linux/net.h). */
enum {
    SOCKETCALL_SOCKET = 1,
    SOCKETCALL_BIND = 2,
    SOCKETCALL_CONNECT = 3,
    SOCKETCALL_LISTEN = 4,
    SOCKETCALL_GETSOCKNAME = 6,
    SOCKETCALL_GETPEERNAME = 7,
    SOCKETCALL_SEND = 9,
    SOCKETCALL_RECV = 10,
    SOCKETCALL_SENDTO = 11,
    SOCKETCALL_RECVFROM = 12,
    SOCKETCALL_SHUTDOWN = 13,
    SOCKETCALL_SETSOCKOPT = 14,
    SOCKETCALL_GETSOCKOPT = 15,
    SOCKETCALL_SENDMSG = 16,
    SOCKETCALL_RECVMSG = 17,
    SOCKETCALL_ACCEPT4 = 18,
};

/* One rule: call `nr` gets `action` when, for each condition, the low 32
 * bits of argument `arg`, masked, equal `value`. */
struct sandbox_cond {
    uint8_t arg;
    uint32_t mask;
    uint32_t value;
};
struct sandbox_rule {
    long nr;
    const char *name;
    uint32_t action;
    uint8_t nconds;
    struct sandbox_cond cond[2];
};

#define ALL 0xffffffffU
/* clang-format cannot lay out initialisers inside macros. */
/* clang-format off */
/* The names are pasted (SYS_##n, #n) here, in the macros a rule is written
 * with, before any expansion: musl defines pread64 and friends as macros. */
#define RULE(nr, name, action, count, c1, c2) {nr, name, action, count, {c1, c2}}
#define COND(a, m, v) {a, m, v}
#define NOCOND COND(0, 0, 0)
#define ALLOW(n) RULE(SYS_##n, #n, SECCOMP_RET_ALLOW, 0, NOCOND, NOCOND)
#define ALLOW_IF(n, a, m, v) RULE(SYS_##n, #n, SECCOMP_RET_ALLOW, 1, COND(a, m, v), NOCOND)
#define ALLOW_IF2(n, a, m, v, b, m2, v2)                                                           \
    RULE(SYS_##n, #n, SECCOMP_RET_ALLOW, 2, COND(a, m, v), COND(b, m2, v2))
#define REFUSE_IF(n, e, a, m, v) RULE(SYS_##n, #n, SECCOMP_RET_ERRNO | (e), 1, COND(a, m, v), NOCOND)
#define SOCKOPT(level, opt) ALLOW_IF2(setsockopt, 1, ALL, level, 2, ALL, opt)
#define SOCKETCALL(call) ALLOW_IF(socketcall, 0, ALL, SOCKETCALL_##call)
/* A data socket: TCP over IPv4 or IPv6; the flags may be set. */
#define TCP_SOCKET(family)                                                                         \
    ALLOW_IF2(socket, 0, ALL, family, 1, ~(uint32_t)(SOCK_CLOEXEC | SOCK_NONBLOCK), SOCK_STREAM)
/* Memory that is never executable: no code can be brought in. */
#define NO_EXEC(n) ALLOW_IF(n, 2, ~(uint32_t)(PROT_READ | PROT_WRITE), 0)
#define NAMED(n)                                                                                   \
    {                                                                                              \
        SYS_##n, #n                                                                                \
    }
/* clang-format on */

/* SO_SNDTIMEO has two numbers on 32-bit systems with a 64-bit time_t
 * (musl asks for the new one first and falls back to the old one on
 * kernels before 5.1). */
#if defined(SO_SNDTIMEO_OLD)
#define SANDBOX_SNDTIMEO_OLD SO_SNDTIMEO_OLD
#elif defined(__mips__)
#define SANDBOX_SNDTIMEO_OLD 0x1005
#elif defined(__powerpc__)
#define SANDBOX_SNDTIMEO_OLD 19
#else
#define SANDBOX_SNDTIMEO_OLD 21
#endif

/* The allow-list, hottest calls first (the filter is a linear scan).
 * SECURITY: every line is a door the client's session keeps open; the
 * reason is beside each. README "Design: the seccomp sandbox" has the
 * same list for administrators. */
/* One rule a line, each with its reason. */
/* clang-format off */
static const struct sandbox_rule rules[] = {
    /* The control and data connections and open files: the bytes. */
    ALLOW(read),     /* sys_read: control, files, TLS bio on pipes */
    ALLOW(write),    /* sys_write_all: replies, uploads, log stderr */
    ALLOW(recvfrom), /* recv(2) in glibc/musl: TLS bio, peeks, data */
    ALLOW(sendto),   /* send(2): TLS bio, data; glibc syslog() */
    ALLOW(recv),     /* recv(2) where the architecture has it */
    ALLOW(send),
    ALLOW(poll),  /* sys_poll: every wait, with a deadline */
    ALLOW(ppoll), /* poll(3) on the architectures without poll(2) */
    ALLOW(ppoll_time64),
    ALLOW(sendfile), /* sys_sendfile: clear binary downloads */
    ALLOW(sendfile64),
    ALLOW(pread64), /* sys_pread: downloads at an offset (REST) */
    ALLOW(readv),   /* musl's stdio */
    ALLOW(writev),
    ALLOW(recvmsg), /* kernel TLS data connections (records with a type) */
    ALLOW(sendmsg),
    /* Time, sleeping, randomness. */
    ALLOW(clock_gettime), /* sys_now_ms, time(3) when no vDSO answers */
    ALLOW(clock_gettime64),
    ALLOW(gettimeofday),
    ALLOW(time),
    ALLOW(nanosleep), /* sys_sleep_ms: the failed-login delay */
    ALLOW(clock_nanosleep),
    ALLOW(clock_nanosleep_time64), /* and the coming rate limits */
    ALLOW(getrandom),              /* sys_random, mbed TLS reseeding */
    /* Files beneath the session's root, through descriptors it holds:
     * paths cannot be checked here (they are pointers); chroot and
     * openat2(RESOLVE_BENEATH) confine them. */
    ALLOW(openat),  /* sys_openat, sys_open (user root, time zone file) */
    ALLOW(openat2), /* sys_open_beneath: every client path */
    ALLOW(open),    /* musl's open(3) on architectures that have open(2) */
    ALLOW(close),
    ALLOW(fstat), /* sys_fstat (glibc 2.33+ uses newfstatat instead) */
    ALLOW(fstat64),
    ALLOW(newfstatat), /* sys_lstatat: SIZE, MDTM, listings */
    ALLOW(fstatat64),
    ALLOW(statx), /* musl's fstatat(3) on 32-bit systems */
    ALLOW(lseek), /* sys_lseek_set: REST before an upload */
    ALLOW(_llseek),
    ALLOW(getdents64), /* readdir(3): LIST, NLST, MLSD */
    ALLOW(getdents),
    ALLOW(readlinkat), /* listings show symlink targets */
    ALLOW(mkdirat),    /* MKD */
    ALLOW(unlinkat),   /* DELE, RMD, a failed upload's temporary */
    ALLOW(renameat),   /* RNFR/RNTO */
    ALLOW(renameat2),  /* atomic upload without replacing (STOU, noclobber) */
    ALLOW(linkat),     /* atomic upload publishing */
    ALLOW(fchmod),     /* uploaded files get the policy's mode */
    ALLOW(fsync),      /* an upload is durable before its 226 */
    ALLOW(ftruncate),  /* an upload that restarts (REST + STOR) */
    ALLOW(ftruncate64),
    ALLOW(utimensat), /* MFMT */
    ALLOW(utimensat_time64),
    ALLOW_IF(fcntl, 1, ALL, F_GETFL), /* sys_set_nonblock, fdopendir(3) */
    ALLOW_IF(fcntl, 1, ALL, F_SETFL),
    ALLOW_IF(fcntl, 1, ALL, F_GETFD),
    ALLOW_IF(fcntl, 1, ALL, F_SETFD),
    ALLOW_IF(fcntl64, 1, ALL, F_GETFL),
    ALLOW_IF(fcntl64, 1, ALL, F_SETFL),
    ALLOW_IF(fcntl64, 1, ALL, F_GETFD),
    ALLOW_IF(fcntl64, 1, ALL, F_SETFD),
    /* Data connections: TCP only, active (connect) and passive (listen). */
    TCP_SOCKET(AF_INET),
    TCP_SOCKET(AF_INET6),
    /* glibc's syslog() reconnects /dev/log after a send failed: EACCES
     * makes it drop the line instead (in a chroot /dev/log is out of
     * reach anyway), and no AF_UNIX socket can reach another service. */
    REFUSE_IF(socket, EACCES, 0, ALL, AF_UNIX),
    ALLOW(bind),    /* PASV/EPSV port; PORT from the control's address */
    ALLOW(listen),  /* PASV/EPSV */
    ALLOW(accept4), /* sys_accept */
    ALLOW(accept),
    ALLOW(connect),     /* PORT/EPRT */
    ALLOW(getsockname), /* the passive port to announce */
    ALLOW(getpeername), /* the data peer's check */
    ALLOW(getsockopt),  /* SO_ERROR after a connect; SO_TYPE */
    ALLOW(shutdown),    /* the end of an upload or a listing */
    SOCKOPT(IPPROTO_TCP, TCP_NODELAY),
    SOCKOPT(IPPROTO_TCP, TCP_CORK),
    SOCKOPT(SOL_SOCKET, SO_OOBINLINE),
    SOCKOPT(SOL_SOCKET, SO_REUSEADDR),
    SOCKOPT(SOL_SOCKET, SO_SNDTIMEO),
    SOCKOPT(SOL_SOCKET, SANDBOX_SNDTIMEO_OLD),
    SOCKOPT(IPPROTO_TCP, TCP_ULP), /* kernel TLS data connections (coming) */
    SOCKOPT(SOL_TLS, SANDBOX_TLS_TX),
    SOCKOPT(SOL_TLS, SANDBOX_TLS_RX),
    /* The same through socketcall(2) where the C library uses it (i386
     * and other old ABIs): its arguments are in memory, so the socket
     * family and the options cannot be checked there. */
    SOCKETCALL(SOCKET),
    SOCKETCALL(BIND),
    SOCKETCALL(CONNECT),
    SOCKETCALL(LISTEN),
    SOCKETCALL(GETSOCKNAME),
    SOCKETCALL(GETPEERNAME),
    SOCKETCALL(SEND),
    SOCKETCALL(RECV),
    SOCKETCALL(SENDTO),
    SOCKETCALL(RECVFROM),
    SOCKETCALL(SHUTDOWN),
    SOCKETCALL(SETSOCKOPT),
    SOCKETCALL(GETSOCKOPT),
    SOCKETCALL(SENDMSG),
    SOCKETCALL(RECVMSG),
    SOCKETCALL(ACCEPT4),
    /* Memory: malloc (glibc and musl), mbed TLS's buffers. */
    ALLOW(brk),
    NO_EXEC(mmap),
    NO_EXEC(mmap2),
    NO_EXEC(mprotect),
    ALLOW(munmap),
    ALLOW(mremap),
    ALLOW_IF(madvise, 2, ALL, MADV_DONTNEED), /* free(3) giving pages back */
    ALLOW_IF(madvise, 2, ALL, MADV_FREE),
    /* The process. */
    ALLOW(getpid),          /* log lines, syslog(3) with LOG_PID */
    ALLOW(rt_sigreturn),    /* the return of a signal handler */
    ALLOW(sigreturn),       /* the same on the older 32-bit ABIs */
    ALLOW(restart_syscall), /* a sleep or poll resumed after SIGSTOP/SIGCONT */
    ALLOW(rt_sigprocmask),  /* abort(3), around the SIGABRT below */
    ALLOW(gettid),          /* glibc's raise(3) in abort(3) */
    ALLOW(exit_group),      /* the end of the session */
    ALLOW(exit),
#if SANDBOX_SANITIZER
    /* The ASan/UBSan runtime of `make SANITIZE=1` builds only (measured
     * under `make check-asan`, and with a deliberate heap overflow for a
     * complete report); never in a release build. LeakSanitizer's check
     * at exit (clone + ptrace, /proc) cannot run here, as it cannot in a
     * chroot: sanitizer runs set detect_leaks=0, as check-asan does. */
    ALLOW(sigaltstack), /* its SIGSEGV stack, set up and torn down */
    ALLOW(madvise),     /* shadow memory: MADV_NOHUGEPAGE, MADV_DONTDUMP */
    ALLOW(ioctl),       /* a report: isatty(2) for its colours */
    ALLOW(futex),       /* a report: the loader's lock while it symbolizes */
    ALLOW(readlink),    /* a report: the paths of the libraries it symbolizes */
#endif
};
/* clang-format on */

/* Calls a sandboxed session never makes, by name for the log. */
static const struct {
    long nr;
    const char *name;
} forbidden_names[] = {
    NAMED(execve),     NAMED(execveat),  NAMED(fork),   NAMED(vfork),        NAMED(clone),
    NAMED(clone3),     NAMED(ptrace),    NAMED(kill),   NAMED(chmod),        NAMED(fchmodat),
    NAMED(symlink),    NAMED(symlinkat), NAMED(setuid), NAMED(setgid),       NAMED(chroot),
    NAMED(socketpair), NAMED(ioctl),     NAMED(prctl),  NAMED(rt_sigaction), NAMED(mount),
    NAMED(fchown),     NAMED(fchownat),  NAMED(tgkill), NAMED(tkill),
};

/* ---- the filter's compiler ---- */

struct bpf_out {
    struct sock_filter insn[DEFS_SANDBOX_FILTER_MAX];
    size_t n;
    bool overflow;
};

static void emit(struct bpf_out *o, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
    if (o->n >= DEFS_SANDBOX_FILTER_MAX) {
        o->overflow = true;
        return;
    }
    o->insn[o->n++] = (struct sock_filter){.code = code, .jt = jt, .jf = jf, .k = k};
}

static uint8_t cond_len(const struct sandbox_cond *c)
{
    return c->mask == ALL ? 2 : 3; /* load, [and,] compare */
}

/* [nr?] [load arg, and, compare]... return action; reload nr. A failed
 * comparison jumps to the reload, which falls through to the next rule. */
static void emit_rule(struct bpf_out *o, const struct sandbox_rule *r)
{
    if (r->nr == SANDBOX_NONE) {
        return;
    }
    if (r->nconds == 0) {
        emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)r->nr);
        emit(o, BPF_RET | BPF_K, 0, 0, r->action);
        return;
    }
    uint8_t left = 1; /* the return */
    for (uint8_t i = 0; i < r->nconds; i++) {
        left = (uint8_t)(left + cond_len(&r->cond[i]));
    }
    emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, left, (uint32_t)r->nr);
    for (uint8_t i = 0; i < r->nconds; i++) {
        const struct sandbox_cond *c = &r->cond[i];
        left = (uint8_t)(left - cond_len(c));
        emit(o, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(c->arg));
        if (c->mask != ALL) {
            emit(o, BPF_ALU | BPF_AND | BPF_K, 0, 0, c->mask);
        }
        emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, left, c->value);
    }
    emit(o, BPF_RET | BPF_K, 0, 0, r->action);
    emit(o, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, nr));
}

#ifdef SANDBOX_AUDIT_ARCH
static void build_filter(struct bpf_out *o)
{
    o->n = 0;
    o->overflow = false;
    emit(o, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, arch));
    emit(o, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, SANDBOX_AUDIT_ARCH);
    emit(o, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
    emit(o, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, nr));
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        emit_rule(o, &rules[i]);
    }
    /* abort(3) (a failed _FORTIFY_SOURCE or stack-protector check) must
     * still end in SIGABRT: the process may signal itself, with that
     * signal only. glibc uses tgkill, musl tkill. */
    uint32_t pid = (uint32_t)getpid();
    const struct sandbox_rule self_abort[] = {
        ALLOW_IF2(tgkill, 0, ALL, pid, 2, ALL, SIGABRT),
        ALLOW_IF2(tkill, 0, ALL, pid, 1, ALL, SIGABRT),
    };
    for (size_t i = 0; i < sizeof self_abort / sizeof self_abort[0]; i++) {
        emit_rule(o, &self_abort[i]);
    }
    emit(o, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRAP);
}
#endif

/* ---- the SIGSYS handler: async-signal-safe from here to the end ---- */

static sys_sandbox_report_fn *volatile report_fn;

const char *sys_sandbox_call_name(long nr)
{
    if (nr == SANDBOX_NONE) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].nr == nr) {
            return rules[i].name;
        }
    }
    for (size_t i = 0; i < sizeof forbidden_names / sizeof forbidden_names[0]; i++) {
        if (forbidden_names[i].nr == nr) {
            return forbidden_names[i].name;
        }
    }
    return NULL;
}

/* Appends src at *pos, always NUL-terminated (no libc). */
static void put_str(char *dst, size_t dstsz, size_t *pos, const char *src)
{
    while (*src && *pos + 1 < dstsz) {
        dst[(*pos)++] = *src++;
    }
    dst[*pos] = '\0';
}

static void put_num(char *dst, size_t dstsz, size_t *pos, long v)
{
    char digits[24];
    size_t n = 0;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0 && n < sizeof digits);
    if (v < 0) {
        put_str(dst, dstsz, pos, "-");
    }
    while (n > 0 && *pos + 1 < dstsz) {
        dst[(*pos)++] = digits[--n];
    }
    dst[*pos] = '\0';
}

static _Noreturn void die_of_sigsys(void)
{
    /* SIGSYS is blocked while its handler runs: a second refused call makes
     * the kernel reset it to the default action and deliver it. kill(2)
     * with signal 0 is never on the allow-list. */
    (void)syscall(SYS_kill, 0, 0);
    _exit(128 + SIGSYS); /* not reached */
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    char line[160];
    size_t pos = 0;
    long nr = -1;
#ifdef si_syscall
    if (si->si_code == SYS_SECCOMP) {
        nr = si->si_syscall;
    }
#else
    (void)si;
#endif
    if (nr < 0) {
        /* kill -SYS from outside, or no si_syscall in this libc. */
        sys_sandbox_report_fn *report = report_fn;
        if (report) {
            report("seccomp: SIGSYS without a system call to name; session killed");
        }
        die_of_sigsys();
    }
    const char *name = sys_sandbox_call_name(nr);
    bool by_args = false;
    for (size_t i = 0; name && i < sizeof rules / sizeof rules[0]; i++) {
        by_args = by_args || rules[i].nr == nr;
    }
    put_str(line, sizeof line, &pos, "seccomp: ");
    put_str(line, sizeof line, &pos, by_args ? "system call " : "forbidden system call ");
    put_num(line, sizeof line, &pos, nr);
    if (name) {
        put_str(line, sizeof line, &pos, " (");
        put_str(line, sizeof line, &pos, name);
        put_str(line, sizeof line, &pos, ")");
    }
    put_str(line, sizeof line, &pos,
            by_args ? " with arguments outside the allow-list; session killed (SIGSYS)"
                    : "; session killed (SIGSYS)");
    sys_sandbox_report_fn *report = report_fn;
    if (report) {
        report(line);
    }
    die_of_sigsys();
}

/* ---- installing it ---- */

enum sys_sandbox sys_sandbox_install(bool on, sys_sandbox_report_fn *report, char *why,
                                     size_t whysz)
{
    if (!on) {
        return SYS_SANDBOX_OFF;
    }
#ifndef SANDBOX_AUDIT_ARCH
    (void)report;
    (void)sys_copy(why, whysz, "no seccomp filter for this architecture in this build");
    return SYS_SANDBOX_UNAVAILABLE;
#else
    static struct bpf_out out;
    build_filter(&out);
    if (out.overflow) {
        (void)sys_fmt(why, whysz, "the filter needs more than %d instructions",
                      DEFS_SANDBOX_FILTER_MAX);
        return SYS_SANDBOX_UNAVAILABLE;
    }
    struct sock_fprog prog = {.len = (unsigned short)out.n, .filter = out.insn};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        (void)sys_fmt(why, whysz, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
        return SYS_SANDBOX_UNAVAILABLE;
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    report_fn = report;
    if (sigaction(SIGSYS, &sa, &old) != 0) {
        (void)sys_fmt(why, whysz, "sigaction(SIGSYS): %s", strerror(errno));
        return SYS_SANDBOX_UNAVAILABLE;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
        int e = errno;
        (void)sigaction(SIGSYS, &old, NULL);
        (void)sys_fmt(why, whysz, "prctl(PR_SET_SECCOMP): %s", strerror(e));
        return SYS_SANDBOX_UNAVAILABLE;
    }
    return SYS_SANDBOX_ON;
#endif
}
