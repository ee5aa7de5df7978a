/* Session slots (include/slots.h). One lock file per policy, found by a
 * hash of the policy's path, so two services with their own policies keep
 * their own counts in one runtime directory. Bytes [0, max-sessions) are the
 * session slots; past DEFS_SLOTS_IP_BASE, max-per-ip bytes per address
 * bucket. The file stays empty: a lock needs no data. */
#include "slots.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "defs.h"
#include "sys.h"
#include "sys_fs.h"

/* FNV-1a, 32 bits: spreads paths and addresses over names and buckets. */
static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

bool slots_needed(const struct policy *pol)
{
    return pol->max_sessions > 0 || pol->max_per_ip > 0;
}

int slots_open(const struct policy *pol, char *why, size_t whysz)
{
    const char *dir = pol->runtime_dir ? pol->runtime_dir : DEFS_RUNTIME_DIR;
    if (sys_mkdir(dir, 0755) != 0 && errno != EEXIST) {
        (void)sys_fmt(why, whysz, "runtime-dir %s: %s", dir, strerror(errno));
        return -1;
    }
    const char *path = pol->path ? pol->path : "";
    char file[DEFS_PATH_MAX];
    if (!sys_fmt(file, sizeof file, "%s/slots-%08x", dir,
                 (unsigned)fnv1a((const unsigned char *)path, strlen(path)))) {
        (void)sys_fmt(why, whysz, "runtime-dir %s: path too long", dir);
        return -1;
    }
    int fd = sys_open_owned(file, O_RDWR | O_CREAT, 0600);
    if (fd < 0) {
        (void)sys_fmt(why, whysz, "session slots %s: %s", file, sys_open_owned_error(errno));
    }
    return fd;
}

uint64_t slots_ip_offset(const unsigned char *ip, size_t iplen, unsigned max_per_ip, unsigned k)
{
    uint64_t bucket = fnv1a(ip, iplen) % DEFS_SLOTS_IP_BUCKETS;
    return DEFS_SLOTS_IP_BASE + bucket * max_per_ip + k;
}

/* The first free byte of [base, base + n): true if one was locked. */
static bool take_one(int fd, uint64_t base, unsigned n, bool *error)
{
    for (unsigned i = 0; i < n; i++) {
        if (sys_lock_byte(fd, (off_t)(base + i))) {
            return true;
        }
        if (errno != EAGAIN && errno != EACCES) {
            *error = true;
            return false;
        }
    }
    return false;
}

enum slots_result slots_take(int fd, const struct policy *pol, const struct sockaddr *peer)
{
    bool error = false;
    if (pol->max_sessions > 0 && !take_one(fd, 0, pol->max_sessions, &error)) {
        return error ? SLOTS_ERROR : SLOTS_FULL;
    }
    const unsigned char *ip;
    size_t iplen;
    if (pol->max_per_ip > 0 && sys_addr_ip_bytes(peer, &ip, &iplen) &&
        !take_one(fd, slots_ip_offset(ip, iplen, pol->max_per_ip, 0), pol->max_per_ip, &error)) {
        return error ? SLOTS_ERROR : SLOTS_FULL_IP;
    }
    return SLOTS_TAKEN;
}
