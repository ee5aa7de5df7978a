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

#endif
