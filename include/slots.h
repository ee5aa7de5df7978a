/* Session slots: the policy's max-sessions and max-per-ip, for super-servers
 * that set no limit of their own (BusyBox inetd). A slot is a write lock on
 * one byte of a lock file in the runtime directory; the kernel drops it when
 * the session's process ends, however it ends, so a killed session leaves no
 * stale slot. */
#ifndef FTPSD_SLOTS_H
#define FTPSD_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy.h"

enum slots_result {
    SLOTS_TAKEN,   /* the session may go on (or no cap is set) */
    SLOTS_FULL,    /* max-sessions sessions run already */
    SLOTS_FULL_IP, /* max-per-ip sessions from this address run already */
    SLOTS_ERROR,   /* the lock file could not be locked: errno */
};

/* True if the policy sets a cap (a lock file is needed). */
bool slots_needed(const struct policy *pol);

/* Opens, creating it and the runtime directory if missing, the lock file of
 * this policy: runtime-dir/slots-HASH, one per policy file. Host paths: call
 * it before chroot. -1 with a message in why. */
int slots_open(const struct policy *pol, char *why, size_t whysz);

/* Takes a slot of each cap the policy sets, for a peer at `peer`. */
enum slots_result slots_take(int fd, const struct policy *pol, const struct sockaddr *peer);

/* The byte that stands for per-address slot k of an address (pure): a base
 * past every max-sessions slot, then the address's bucket (a hash of its
 * bytes; two addresses in one bucket share its slots), then k. */
uint64_t slots_ip_offset(const unsigned char *ip, size_t iplen, unsigned max_per_ip, unsigned k);

#endif
