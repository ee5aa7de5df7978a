/* libFuzzer: the argument parsers that see client bytes before anything
 * else (PORT, EPRT, LIST options, MFMT's time, RANG) and the policy's own
 * value parsers (pbkdf2 strings, fingerprints, numbers, rate=, sizes,
 * home=, host names). Each
 * must stay inside its input,
 * and what it accepts must satisfy the contract its header states. */
#include "dataport.h"
#include "defs.h"
#include "hashcmd.h"
#include "list.h"
#include "policy.h"
#include "policy_priv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The control line reader hands handlers NUL-terminated lines of at
     * most DEFS_LINE_MAX bytes; a heap copy of exactly that size lets ASan
     * see a read past the end. */
    if (size == 0 || size > DEFS_LINE_MAX) {
        return 0;
    }
    char *arg = malloc(size + 1);
    if (!arg) {
        return 0;
    }
    memcpy(arg, data, size);
    arg[size] = '\0';
    size_t len = strlen(arg);

    struct sockaddr_in sin;
    if (data_parse_port(arg, &sin)) {
        /* Six fields of 1-3 digits and five commas: 11..23 bytes. */
        if (sin.sin_family != AF_INET || len < 11 || len > 23) {
            abort();
        }
    }
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int e = data_parse_eprt(arg, &ss, &sl);
    if (e == 0 && !((ss.ss_family == AF_INET && sl == sizeof(struct sockaddr_in)) ||
                    (ss.ss_family == AF_INET6 && sl == sizeof(struct sockaddr_in6)))) {
        abort();
    }
    bool all = false;
    const char *rest = list_parse_options(arg, &all);
    if (rest < arg || rest > arg + len) {
        abort();
    }
    struct pol_pbkdf2 pb;
    const char *why = NULL;
    if (!pol_parse_pbkdf2(arg, &pb, &why) && !why) {
        abort(); /* every refusal says why */
    }
    unsigned char fp[32];
    (void)pol_parse_fingerprint(arg, fp);
    uint64_t n = 0;
    if (pol_parse_number(arg, 10, 1, 65535, &n) && (n < 1 || n > 65535)) {
        abort();
    }
    if (pol_parse_number(arg, 8, 0, 0777, &n) && n > 0777) {
        abort();
    }
    uint64_t down, up;
    if (pol_parse_rate(arg, &down, &up) && (down > DEFS_RATE_MAX || up > DEFS_RATE_MAX)) {
        abort();
    }
    /* A normalised home is absolute, with no "." or ".." component. */
    char home[DEFS_PATH_MAX];
    if (pol_parse_home(arg, home, sizeof(home)) &&
        (home[0] != '/' || strstr(home, "/../") || strstr(home, "/./") ||
         (strlen(home) >= 3 && strcmp(home + strlen(home) - 3, "/..") == 0))) {
        abort();
    }
    if (pol_valid_hostname(arg) && (len > DEFS_DNS_NAME_MAX || strspn(arg, "0123456789.") == len)) {
        abort();
    }
    /* MFMT: 14 digits, an optional fraction, a time this time_t holds. */
    struct timespec ts;
    if (list_parse_time(arg, &ts) &&
        (len < 14 || len > 24 || ts.tv_nsec < 0 || ts.tv_nsec > 999999999)) {
        abort();
    }
    uint64_t a = 0, b = 0;
    if (hash_parse_rang(arg, &a, &b) == HASH_RANG_SET && (a > b || b > INT64_MAX)) {
        abort();
    }
    if (pol_parse_size(arg, DEFS_HASH_LIMIT_MAX, &n) && n > DEFS_HASH_LIMIT_MAX) {
        abort();
    }
    free(arg);
    return 0;
}
