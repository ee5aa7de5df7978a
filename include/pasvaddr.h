/* pasv-address at session start: the addresses 227 replies name, settled
 * once before chroot. Host names are looked up in a child process with a
 * deadline, as the account the session will run as; a name that does not
 * resolve is a warning and the local address, never a refused session. */
#ifndef FTPSD_PASVADDR_H
#define FTPSD_PASVADDR_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "policy.h"

/* What PASV replies name (dataport.c's data_pasv_address chooses). */
struct pasv_addrs {
    bool has_public; /* false: the control connection's local address */
    struct in_addr public_addr;
    bool has_private;            /* peers in private ranges get their own answer: */
    bool private_local;          /* ... the local address, */
    struct in_addr private_addr; /* ... or this one */
};

/* Who looks the names up: with `drop`, the child becomes uid/gid first
 * (startup_prepare's decision for the session). */
struct pasv_lookup_as {
    bool drop;
    uid_t uid;
    gid_t gid;
};

/* Looks up pol's pasv-address names (within DEFS_PASV_LOOKUP_MS for both)
 * and fills *out; logs a warning for each name that did not resolve.
 * Before chroot and the sandbox (it forks). */
void pasvaddr_settle(const struct policy *pol, const struct pasv_lookup_as *as,
                     struct pasv_addrs *out);

/* For `-t`: what each name resolves to now, as comment lines on out, and
 * a warning on stderr ("FILE: warning: ...") for each that does not. */
void pasvaddr_print(const struct policy *pol, const struct pasv_lookup_as *as, FILE *out);

#endif
