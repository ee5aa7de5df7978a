/* The privilege drop's system calls (include/sys_proc.h). */
#include "sys_proc.h"

#include <grp.h>
#include <unistd.h>

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
