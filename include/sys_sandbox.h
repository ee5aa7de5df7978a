/* The seccomp sandbox of a session, behind the wall of the sys family: after
 * the privilege drop and before the first client byte, PR_SET_NO_NEW_PRIVS
 * and a seccomp-bpf allow-list of the system calls a session makes
 * (sys_sandbox.c lists them, with the reason for each). */
#ifndef FTPSD_SYS_SANDBOX_H
#define FTPSD_SYS_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

enum sys_sandbox {
    SYS_SANDBOX_OFF,         /* not asked for: nothing was changed */
    SYS_SANDBOX_ON,          /* the filter is in force for the rest of the process */
    SYS_SANDBOX_UNAVAILABLE, /* the kernel (or an emulator) refused it; `why` says why */
};

/* Called from the SIGSYS handler with one line naming the refused call,
 * just before the process dies of SIGSYS: it must be async-signal-safe
 * (no stdio, no malloc, no locks) and make only allowed system calls. */
typedef void sys_sandbox_report_fn(const char *line);

/* With `on`, installs the filter: from then on a call outside the
 * allow-list never runs; `report` (may be NULL) gets one line, then the
 * process is killed by SIGSYS. Without `on`, does nothing. A kernel that
 * refuses seccomp leaves the process as it was (PR_SET_NO_NEW_PRIVS may
 * already be set) and the reason in why. */
enum sys_sandbox sys_sandbox_install(bool on, sys_sandbox_report_fn *report, char *why,
                                     size_t whysz);

/* The name of system call `nr` of this architecture when the sandbox
 * knows it (every call of the allow-list and the usual forbidden ones),
 * else NULL. Async-signal-safe. */
const char *sys_sandbox_call_name(long nr);

#endif
