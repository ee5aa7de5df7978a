/* The process and its privileges, behind the wall of the sys family: the
 * system calls of the privilege drop (SPEC §4.1). The order of the drop is
 * the entry point's (ftpsd-inetd.c, STYLE.md habit 8); each step is here. */
#ifndef FTPSD_SYS_PROC_H
#define FTPSD_SYS_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* setgroups(2) to exactly { gid }; false with errno. */
bool sys_set_groups(gid_t gid);
/* Makes `dir` the root of the process's file system and its working
 * directory (chdir, chroot ".", chdir "/"); false with errno. */
bool sys_enter_chroot(const char *dir);
/* setgid then setuid (real, effective and saved); false with errno. */
bool sys_set_ids(uid_t uid, gid_t gid);
/* True if the process runs as exactly uid/gid and cannot become root
 * again (setuid(0) and seteuid(0) fail). */
bool sys_privileges_gone(uid_t uid, gid_t gid);

/* What sys_child_result runs in the child: writes its answer to fd. */
typedef void sys_child_fn(void *ctx, int fd);
/* Runs fn(ctx, fd) in a child process and reads what it writes to fd, up
 * to outsz bytes into out, for at most timeout_ms. The child is then
 * killed (SIGKILL) if it still runs, and reaped either way: a call that
 * can hang (a DNS lookup) gets a bound, and no child is left behind.
 * Returns the bytes read (short if the child failed or ran out of time),
 * or -1 with errno if no child could be started. Not after the seccomp
 * sandbox, which allows neither fork nor kill. */
ssize_t sys_child_result(sys_child_fn *fn, void *ctx, void *out, size_t outsz, int timeout_ms);

#endif
