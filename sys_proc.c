/* The privilege drop's system calls, and a child with a deadline
 * (include/sys_proc.h). */
#include "sys_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys.h"

bool sys_set_groups(gid_t gid)
{
    return setgroups(1, &gid) == 0;
}

bool sys_enter_chroot(const char *dir)
{
    return chdir(dir) == 0 && chroot(".") == 0 && chdir("/") == 0;
}

bool sys_set_ids(uid_t uid, gid_t gid)
{
    return setgid(gid) == 0 && setuid(uid) == 0;
}

bool sys_privileges_gone(uid_t uid, gid_t gid)
{
    if (setuid(0) == 0 || seteuid(0) == 0) {
        return false;
    }
    return getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid;
}

/* Reads into out until it is full, the child closes its end, or the
 * deadline: the bytes read. */
static size_t read_until(int fd, unsigned char *out, size_t outsz, int64_t deadline)
{
    size_t got = 0;
    while (got < outsz) {
        int64_t left = deadline - sys_now_ms();
        if (left <= 0 || sys_wait_fd(fd, false, (int)left) <= 0) {
            break;
        }
        ssize_t n = sys_read(fd, out + got, outsz - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    return got;
}

ssize_t sys_child_result(sys_child_fn *fn, void *ctx, void *out, size_t outsz, int timeout_ms)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        return -1;
    }
    int64_t deadline = sys_now_ms() + timeout_ms;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        (void)close(p[0]);
        (void)close(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        (void)close(p[0]);
        fn(ctx, p[1]);
        _exit(0);
    }
    (void)close(p[1]);
    size_t got = read_until(p[0], out, outsz, deadline);
    (void)close(p[0]);
    /* Our own child, not reaped yet, so the pid cannot have been reused;
     * killing one that already exited is harmless. */
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return (ssize_t)got;
}
