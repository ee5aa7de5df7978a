/* Unit tests for the seccomp sandbox (sys_sandbox.c). Each case forks a
 * child that installs the filter and then does one thing: the session's
 * own work through the sys_* wrappers (files beneath a directory fd, a
 * passive and an active TCP connection, the socket options, time, sleep,
 * randomness, memory) must work and the child exits 0; a call a session
 * never makes (exec, fork, ptrace, kill, setuid, a UDP or packet socket,
 * executable memory, another socket option) must kill it with SIGSYS;
 * abort(3) must still end in SIGABRT. A child whose report goes to a pipe
 * shows the log line that names the refused call. Table-driven (STYLE.md
 * habit 15). */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sys.h"
#include "sys_fs.h"
#include "sys_net.h"
#include "sys_sandbox.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* The child's exit status when the kernel refused the sandbox. */
#define NO_SANDBOX 77

static char tmpdir[64];
static int dirfd_ = -1;

/* ---- things a session does: each returns true if it worked ---- */

static bool do_files(void)
{
    static const char data[] = "hello, sandbox\n";
    int fd = sys_openat(dirfd_, "f", O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || !sys_write_all(fd, data, sizeof data - 1, -1) || sys_fchmod(fd, 0640) != 0 ||
        sys_ftruncate(fd, 5) != 0 || sys_fsync(fd) != 0 || sys_close(fd) != 0) {
        return false;
    }
    char buf[16] = {0};
    fd = sys_open_beneath(dirfd_, "f", O_RDONLY, 0);
    if (fd < 0 && errno == ENOSYS) {
        fd = sys_openat(dirfd_, "f", O_RDONLY, 0);
    }
    struct stat st;
    if (fd < 0 || sys_fstat(fd, &st) != 0 || st.st_size != 5 || sys_lseek_set(fd, 1) != 1 ||
        sys_read(fd, buf, sizeof buf) != 4 || sys_pread(fd, buf, 5, 0) != 5 ||
        memcmp(buf, "hello", 5) != 0 || sys_close(fd) != 0) {
        return false;
    }
    char target[16];
    if (sys_mkdirat(dirfd_, "d", 0700) != 0 || sys_linkat(dirfd_, "f", dirfd_, "g") != 0 ||
        sys_renameat(dirfd_, "g", dirfd_, "d/g") != 0 || sys_lstatat(dirfd_, "d/g", &st) != 0 ||
        sys_readlinkat(dirfd_, "f", target, sizeof target) != -1 || errno != EINVAL) {
        return false;
    }
    int r = sys_rename_noreplace(dirfd_, "f", dirfd_, "d/g");
    if (r == 0 || (errno != EEXIST && errno != ENOSYS && errno != EINVAL)) {
        return false;
    }
    int dfd = sys_openat(dirfd_, "d", O_RDONLY | O_DIRECTORY, 0);
    DIR *d = dfd >= 0 ? sys_opendir_fd(dfd) : NULL;
    int err = 0, names = 0;
    while (d && sys_readdir(d, &err)) {
        names++;
    }
    if (!d || err != 0 || names != 3 || sys_closedir(d) != 0) {
        return false;
    }
    return sys_unlinkat(dirfd_, "d/g", false) == 0 && sys_unlinkat(dirfd_, "d", true) == 0 &&
           sys_unlinkat(dirfd_, "f", false) == 0;
}

/* A passive data connection (listen, connect, accept) and the socket
 * options the session sets on it. */
static bool do_tcp(void)
{
    struct sockaddr_storage a = {0}, peer;
    struct sockaddr_in *in = (struct sockaddr_in *)&a;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len;
    int l = sys_tcp_socket(AF_INET);
    if (l < 0 || !sys_set_reuseaddr(l) || sys_bind(l, &a) != 0 || sys_listen(l, 4) != 0 ||
        !sys_local_addr(l, &a, &len)) {
        return false;
    }
    int c = sys_tcp_socket(AF_INET);
    if (c < 0 || (sys_connect(c, &a, len) != 0 && errno != EINPROGRESS) ||
        sys_wait_fd(c, true, 5000) != 1 || sys_socket_error(c) != 0) {
        return false;
    }
    if (sys_wait_fd(l, false, 5000) != 1) {
        return false;
    }
    int s = sys_accept(l, &peer, &len);
    if (s < 0 || !sys_set_nonblock(s, false) || !sys_set_cork(s, true) ||
        !sys_set_send_timeout(s, 5) || !sys_peer_addr(s, &peer, &len) || !sys_is_stream_socket(s)) {
        return false;
    }
    sys_tune_socket(s);
    char b[4];
    if (sys_send(s, "ping", 4, false) != 4 || !sys_set_cork(s, false) ||
        sys_wait_fd(c, false, 5000) != 1 || sys_recv_peek(c, b, 4) != 4 ||
        sys_recv_nowait(c, b, 4) != 4 || memcmp(b, "ping", 4) != 0) {
        return false;
    }
    return sys_shutdown_write(s) == 0 && sys_close(s) == 0 && sys_close(c) == 0 &&
           sys_close(l) == 0;
}

static bool do_clock_and_random(void)
{
    unsigned char r[64];
    int64_t t0 = sys_now_ms();
    sys_sleep_ms(2);
    return t0 > 0 && sys_now_ms() >= t0 + 2 && sys_random(r, sizeof r);
}

/* malloc of small and big blocks (brk, mmap), realloc (mremap), free. */
static bool do_memory(void)
{
    char *small = malloc(100);
    char *big = malloc(4 << 20);
    if (!small || !big) {
        return false;
    }
    memset(big, 1, 4 << 20);
    char *bigger = realloc(big, 8 << 20);
    if (!bigger || bigger[0] != 1) {
        return false;
    }
    free(bigger);
    free(small);
    return true;
}

/* glibc's syslog(3) reconnecting /dev/log: refused with EACCES, not killed. */
static bool do_unix_socket_refused(void)
{
    return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) < 0 && errno == EACCES;
}

/* ---- things a session never does ---- */

static bool do_execve(void)
{
    char *const argv[] = {"true", NULL};
    execve("/bin/true", argv, argv + 1);
    return true;
}

static bool do_fork(void)
{
    pid_t p = fork();
    if (p == 0) {
        _exit(0);
    }
    return true;
}

static bool do_ptrace(void)
{
    return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0;
}

static bool do_kill_other(void)
{
    return kill(1, 0) == 0;
}

static bool do_setuid(void)
{
    return setuid(0) == 0;
}

static bool do_udp_socket(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0) >= 0;
}

static bool do_packet_socket(void)
{
    return socket(AF_PACKET, SOCK_RAW, 0) >= 0;
}

static bool do_other_sockopt(void)
{
    int fd = sys_tcp_socket(AF_INET);
    int one = 1;
    return fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) == 0;
}

static bool do_exec_memory(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p != MAP_FAILED;
}

static bool do_mprotect_exec(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p != MAP_FAILED && mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0;
}

static bool do_chmod(void)
{
    return fchmodat(dirfd_, ".", 0700, 0) == 0;
}

static bool do_dup(void)
{
    return fcntl(0, F_DUPFD, 10) >= 0;
}

static bool do_raise_usr1(void)
{
    return raise(SIGUSR1) == 0;
}

static bool do_abort(void)
{
    abort();
}

struct sandbox_case {
    const char *what;
    bool (*fn)(void);
    int signal; /* 0: must exit 0 (it worked) */
};

static const struct sandbox_case cases[] = {
    {"files beneath a directory fd", do_files, 0},
    {"a TCP data connection and its options", do_tcp, 0},
    {"clock, sleep, getrandom", do_clock_and_random, 0},
    {"malloc, realloc, free", do_memory, 0},
    {"AF_UNIX socket refused with EACCES", do_unix_socket_refused, 0},
    {"execve", do_execve, SIGSYS},
    {"fork", do_fork, SIGSYS},
    {"ptrace", do_ptrace, SIGSYS},
    {"kill of another process", do_kill_other, SIGSYS},
    {"setuid", do_setuid, SIGSYS},
    {"UDP socket", do_udp_socket, SIGSYS},
    {"packet socket", do_packet_socket, SIGSYS},
    {"a socket option not on the list", do_other_sockopt, SIGSYS},
    {"executable mapping", do_exec_memory, SIGSYS},
    {"mprotect to executable", do_mprotect_exec, SIGSYS},
    {"chmod by path", do_chmod, SIGSYS},
    {"fcntl F_DUPFD", do_dup, SIGSYS},
    {"raise(SIGUSR1)", do_raise_usr1, SIGSYS},
    {"abort still raises SIGABRT", do_abort, SIGABRT},
};

static void make_tmpdir(void)
{
    ck_assert(sys_copy(tmpdir, sizeof tmpdir, "/tmp/check_sandbox.XXXXXX"));
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    dirfd_ = sys_open(tmpdir, O_RDONLY | O_DIRECTORY, 0);
    ck_assert_int_ge(dirfd_, 0);
}

static void remove_tmpdir(void)
{
    static const char *const names[] = {"d/g", "g", "f"};
    for (int i = 0; i < N(names); i++) {
        (void)sys_unlinkat(dirfd_, names[i], false);
    }
    (void)sys_unlinkat(dirfd_, "d", true);
    sys_closep(&dirfd_);
    ck_assert_int_eq(rmdir(tmpdir), 0);
}

/* Runs fn in a sandboxed child; returns its wait status. */
static int run_sandboxed(bool (*fn)(void), sys_sandbox_report_fn *report)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char why[160];
        if (sys_sandbox_install(true, report, why, sizeof why) != SYS_SANDBOX_ON) {
            fprintf(stderr, "sandbox not installed: %s\n", why);
            _exit(NO_SANDBOX);
        }
        _exit(fn() ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

START_TEST(test_case)
{
    const struct sandbox_case *c = &cases[_i];
    make_tmpdir();
    int status = run_sandboxed(c->fn, NULL);
    remove_tmpdir();
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == NO_SANDBOX),
                  "%s: the kernel refused the sandbox", c->what);
    if (c->signal == 0) {
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "%s: must work in the sandbox (status 0x%x)", c->what, status);
    } else {
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == c->signal,
                      "%s: must be killed by signal %d (status 0x%x)", c->what, c->signal, status);
    }
}
END_TEST

/* ---- the log line naming the refused call ---- */

START_TEST(test_report_line)
{
    const struct {
        bool (*fn)(void);
        long nr;
        const char *before, *after;
    } rc[] = {
        {do_ptrace, SYS_ptrace, "127.0.0.1:2121 error: seccomp: forbidden system call ",
         " (ptrace); session killed (SIGSYS)"},
        {do_packet_socket, SYS_socket, "127.0.0.1:2121 error: seccomp: system call ",
         " (socket) with arguments outside the allow-list; session killed (SIGSYS)"},
    };
    char want[200];
    (void)snprintf(want, sizeof want, "%s%ld%s", rc[_i].before, rc[_i].nr, rc[_i].after);
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* What a session with `log stderr` does before the drop. */
        if (dup2(pipefd[1], 2) != 2) {
            _exit(2);
        }
        log_open(POL_LOG_STDERR, POL_LEVEL_INFO);
        log_set_peer("127.0.0.1:2121");
        log_sigsafe_prepare();
        char why[160];
        if (sys_sandbox_install(true, log_sigsafe, why, sizeof why) != SYS_SANDBOX_ON) {
            _exit(NO_SANDBOX);
        }
        _exit(rc[_i].fn() ? 0 : 1);
    }
    sys_closep(&pipefd[1]);
    char got[512];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof got - 1 && (r = sys_read(pipefd[0], got + n, sizeof got - 1 - n)) > 0) {
        n += (size_t)r;
    }
    got[n] = '\0';
    sys_closep(&pipefd[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS, "status 0x%x", status);
    char head[32];
    (void)snprintf(head, sizeof head, "ftpsd[%ld]: ", (long)pid);
    ck_assert_msg(strncmp(got, head, strlen(head)) == 0 && strstr(got, want) &&
                      got[n - 1] == '\n' && strchr(got, '\n') == got + n - 1,
                  "log line %s, wanted %s%s", got, head, want);
}
END_TEST

START_TEST(test_off_changes_nothing)
{
    char why[8] = "";
    ck_assert_int_eq(sys_sandbox_install(false, NULL, why, sizeof why), SYS_SANDBOX_OFF);
    /* Still allowed to do anything: this very process is not filtered. */
    pid_t p = fork();
    ck_assert_int_ge(p, 0);
    if (p == 0) {
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(p, &status, 0), p);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

START_TEST(test_call_names)
{
    ck_assert_str_eq(sys_sandbox_call_name(SYS_read), "read");
    ck_assert_str_eq(sys_sandbox_call_name(SYS_openat), "openat");
    ck_assert_str_eq(sys_sandbox_call_name(SYS_execve), "execve");
    ck_assert_str_eq(sys_sandbox_call_name(SYS_ptrace), "ptrace");
    ck_assert_ptr_null(sys_sandbox_call_name(-1));
    ck_assert_ptr_null(sys_sandbox_call_name(100000));
}
END_TEST

static Suite *sandbox_suite(void)
{
    Suite *s = suite_create("sandbox");
    TCase *tc = tcase_create("filter");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_case, 0, N(cases));
    tcase_add_loop_test(tc, test_report_line, 0, 2);
    tcase_add_test(tc, test_off_changes_nothing);
    tcase_add_test(tc, test_call_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sandbox_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
