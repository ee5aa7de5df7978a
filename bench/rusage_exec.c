/* bench/rusage_exec: runs a command as a child and records what the kernel
 * accounted to it, for bench/throughput. Put between the super-server and
 * ftpsd-inetd (systemd-socket-activate --inetd ... rusage_exec DIR
 * ./ftpsd-inetd -f POLICY): the child inherits the connection on fds 0/1
 * exactly as it would from inetd; this process lets go of its own copies,
 * so the client sees the connection end when the session ends.
 *
 *   DIR/pid.CHILD      written when the child starts (empty)
 *   DIR/rusage.CHILD   "utime_s stime_s maxrss_kib exit_status minor_faults" after
 *                      the last descendant has exited
 *
 * Why wait4 and not /proc/PID/stat: the session's CPU time is only complete
 * once it has exited, and by then /proc/PID is gone; wait4's rusage is the
 * exact final utime/stime (and ru_maxrss = the process's VmHWM). This
 * process is a child subreaper and waits for every descendant, so a server
 * that forks (vsftpd's privilege-separated halves, whose parent may exit
 * before its child) is accounted whole: the figures are getrusage's
 * RUSAGE_CHILDREN once the last one has gone. Not a test.
 * Build: cc -O2 -o rusage_exec rusage_exec.c */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rusage_exec DIR COMMAND [ARG...]\n");
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("rusage_exec: PR_SET_CHILD_SUBREAPER");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("rusage_exec: fork");
        return 1;
    }
    if (pid == 0) {
        execv(argv[2], argv + 2);
        perror("rusage_exec: exec");
        _exit(127);
    }
    /* Our copies of the connection must not keep it open after the child. */
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        (void)dup2(null, 0);
        (void)dup2(null, 1);
        if (null > 2) {
            close(null);
        }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/pid.%d", argv[1], (int)pid);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        close(fd);
    }
    int status = 0, st;
    pid_t w;
    while ((w = wait4(-1, &st, 0, NULL)) > 0 || (w < 0 && errno == EINTR)) {
        if (w == pid) {
            status = st;
        }
    }
    struct rusage ru;
    if (errno != ECHILD || getrusage(RUSAGE_CHILDREN, &ru) != 0) {
        perror("rusage_exec: wait4");
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/.rusage.%d", argv[1], (int)pid);
    snprintf(path, sizeof path, "%s/rusage.%d", argv[1], (int)pid);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        perror("rusage_exec: result file");
        return 1;
    }
    fprintf(f, "%ld.%06ld %ld.%06ld %ld %d %ld\n", (long)ru.ru_utime.tv_sec,
            (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
            ru.ru_maxrss, status, ru.ru_minflt);
    fclose(f);
    /* Renamed into place whole: the reader never sees a partial line. */
    return rename(tmp, path) == 0 ? 0 : 1;
}
