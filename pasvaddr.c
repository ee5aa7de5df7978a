/* pasv-address at session start (include/pasvaddr.h): the 227 address
 * settled before chroot, since the resolver needs the host's files
 * (/etc/hosts, resolv.conf, NSS modules) and there is no DNS after the
 * seccomp sandbox. getaddrinfo has no timeout and an unreachable DNS
 * server holds it for half a minute, so the lookup runs in a child with a
 * deadline (sys_child_result), which also keeps DNS answers out of the
 * root process. */
#include "pasvaddr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "defs.h"
#include "log.h"
#include "sys.h"
#include "sys_proc.h"

/* What the lookup child answers for the public [0] and private [1] value. */
struct pasv_answer {
    unsigned char ok[2];
    struct in_addr addr[2];
};

struct pasv_lookup {
    const struct policy *pol;
    struct pasv_lookup_as as;
};

static const struct pol_pasv_addr *pasv_value(const struct policy *p, int i)
{
    return i == 0 ? &p->pasv_public : &p->pasv_private;
}

static bool pasv_is_name(const struct pol_pasv_addr *v)
{
    return v->name != NULL && !v->literal && !v->local;
}

/* The first IPv4 address of a host name, as the C library resolves it
 * (/etc/hosts, DNS). 0.0.0.0, the mark of a blocked name, is none. */
static bool lookup_v4(const char *name, struct in_addr *out)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    bool ok = getaddrinfo(name, NULL, &hints, &res) == 0 && res != NULL &&
              res->ai_addr->sa_family == AF_INET;
    if (ok) {
        *out = ((const struct sockaddr_in *)(const void *)res->ai_addr)->sin_addr;
        ok = out->s_addr != INADDR_ANY;
    }
    if (res != NULL) {
        freeaddrinfo(res);
    }
    return ok;
}

/* The child of lookup_pasv_names. SECURITY: DNS answers are network
 * input, and C library resolvers have had overflows (CVE-2015-7547): the
 * child parses them as run-as, not as root. A child that cannot drop
 * answers nothing. */
static void lookup_child(void *ctx, int fd)
{
    const struct pasv_lookup *q = ctx;
    struct pasv_answer a;
    memset(&a, 0, sizeof a);
    if (q->as.drop && (!sys_set_groups(q->as.gid) || !sys_set_ids(q->as.uid, q->as.gid))) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        const struct pol_pasv_addr *v = pasv_value(q->pol, i);
        a.ok[i] = pasv_is_name(v) && lookup_v4(v->name, &a.addr[i]);
    }
    (void)sys_write_all(fd, &a, sizeof a, -1);
}

/* Looks up pasv-address's host names, both within DEFS_PASV_LOOKUP_MS (a
 * lookup can hang on an unreachable DNS server for half a minute). False
 * if the child did not answer in time; a->ok says which names resolved. */
static bool lookup_pasv_names(const struct policy *p, const struct pasv_lookup_as *as,
                              struct pasv_answer *a)
{
    struct pasv_lookup q = {.pol = p, .as = *as};
    memset(a, 0, sizeof *a);
    if (!pasv_is_name(&p->pasv_public) && !pasv_is_name(&p->pasv_private)) {
        return true;
    }
    ssize_t n = sys_child_result(lookup_child, &q, a, sizeof *a, DEFS_PASV_LOOKUP_MS);
    if (n != (ssize_t)sizeof *a) {
        memset(a, 0, sizeof *a);
        return false;
    }
    return true;
}

/* A name that did not resolve is a warning, never a refused session: the
 * local address is what a client on the server's own network needs. */
void pasvaddr_settle(const struct policy *pol, const struct pasv_lookup_as *as,
                     struct pasv_addrs *out)
{
    struct pasv_answer a;
    bool in_time = lookup_pasv_names(pol, as, &a);
    *out = (struct pasv_addrs){0};
    for (int i = 0; i < 2; i++) {
        const struct pol_pasv_addr *v = pasv_value(pol, i);
        bool have = v->literal;
        struct in_addr addr = v->addr;
        if (pasv_is_name(v)) {
            have = a.ok[i] != 0;
            addr = a.addr[i];
        }
        if (pasv_is_name(v) && !have) {
            warn("pasv-address %s: %s; PASV replies to %s name the local address instead", v->name,
                 in_time ? "no IPv4 address for this name" : "no answer from the resolver in time",
                 i == 0 ? "clients" : "clients in private ranges");
        } else if (pasv_is_name(v)) {
            char shown[INET_ADDRSTRLEN];
            debug("pasv-address %s is %s", v->name,
                  inet_ntop(AF_INET, &addr, shown, sizeof shown) ? shown : "?");
        }
        if (i == 0) {
            out->has_public = have;
            out->public_addr = addr;
        } else if (v->name != NULL) {
            out->has_private = true;
            out->private_local = !have;
            out->private_addr = addr;
        }
    }
}

void pasvaddr_print(const struct policy *p, const struct pasv_lookup_as *as, FILE *out)
{
    struct pasv_answer a;
    bool in_time = lookup_pasv_names(p, as, &a);
    for (int i = 0; i < 2; i++) {
        const struct pol_pasv_addr *v = pasv_value(p, i);
        char shown[INET_ADDRSTRLEN];
        if (!pasv_is_name(v)) {
            continue;
        }
        if (a.ok[i] && inet_ntop(AF_INET, &a.addr[i], shown, sizeof shown)) {
            fprintf(out,
                    "# pasv-address %s resolves to %s now (sessions look it up when they "
                    "start)\n",
                    v->name, shown);
        } else {
            fprintf(stderr,
                    "%s: warning: pasv-address %s: %s now; sessions would name the local address "
                    "in PASV replies\n",
                    p->path, v->name,
                    in_time ? "no IPv4 address for this name" : "no answer from the resolver");
        }
    }
}
