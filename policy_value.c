/* policy_value.c — strict, bounded parsers of single policy values.
 *
 * Two layers. The plain parsers (names, host names, rates, home paths,
 * ports, numbers, pbkdf2 strings, fingerprints) take one NUL-terminated
 * string and either accept all of it or nothing: no sign, no blanks, no
 * trailing bytes, every length checked before a byte is copied, every number
 * checked for overflow; they know nothing about lines or files.
 * pol_parse_number, pol_parse_pbkdf2 and pol_parse_fingerprint are also used
 * outside the policy, and all of them are fuzzed alone in fuzz_args.c. Above
 * them, one checker per directive kind turns the values of a directive line
 * into a typed struct pol_value, or into an error naming FILE:LINE and what
 * the value should have been.
 */
#include "policy_priv.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/base64.h"

#include "path.h"
#include "sys.h"

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(unsigned char c)
{
    return is_letter((char)c) || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* SECURITY: user, group and account names reach log lines, `-t` output and
 * getpwnam(); a small alphabet keeps separators and escapes out of them. */
bool pol_valid_name(const char *s)
{
    size_t n = 0;

    if (s[0] == '-' || s[0] == '\0') {
        return false;
    }
    for (; s[n] != '\0'; n++) {
        if (n >= DEFS_NAME_MAX - 1 || !is_name_char((unsigned char)s[n])) {
            return false;
        }
    }
    return true;
}

bool pol_valid_hostname(const char *s)
{
    size_t len = 0, label = 0;

    for (; s[len] != '\0'; len++) {
        unsigned char c = (unsigned char)s[len];

        if (len >= DEFS_DNS_NAME_MAX) {
            return false;
        }
        if (c == '.') {
            /* no empty label, none ending in '-' */
            if (label == 0 || s[len - 1] == '-') {
                return false;
            }
            label = 0;
            continue;
        }
        if (!(is_letter((char)c) || (c >= '0' && c <= '9') || (c == '-' && label != 0))) {
            return false;
        }
        if (++label > DEFS_DNS_LABEL_MAX) {
            return false;
        }
    }
    if (label == 0 || s[len - 1] == '-') {
        return false;
    }
    /* The last label starts with a letter: "192.0.2.1x" is a typo, not a
     * name (RFC 1123 §2.1: top-level names are alphabetic). */
    return is_letter(s[len - label]);
}

/* A count up to `end`: digits, then one of the suffix letters (K, M, G:
 * 1024 to the 1st, 2nd, 3rd power), at most max in all. *sp moves to end. */
static bool scaled_part(const char **sp, char end, uint64_t max, const char *suffixes,
                        uint64_t *out)
{
    const char *s = *sp;
    uint64_t v = 0, mult = 1;

    if (*s < '0' || *s > '9') {
        return false;
    }
    for (; *s >= '0' && *s <= '9'; s++) {
        /* v <= max < 2^60 here, so v * 10 + 9 cannot overflow. */
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max) {
            return false;
        }
    }
    if (*s != '\0' && strchr(suffixes, *s) != NULL) {
        mult = *s == 'K' ? 1024u : *s == 'M' ? 1024u * 1024 : 1024ull * 1024 * 1024;
        s++;
    }
    if (*s != end || v > max / mult) {
        return false;
    }
    *out = v * mult;
    *sp = s;
    return true;
}

/* One part of a rate, up to `end`: digits, then K or M. */
static bool rate_part(const char **sp, char end, uint64_t *out)
{
    return scaled_part(sp, end, DEFS_RATE_MAX, "KM", out);
}

bool pol_parse_size(const char *s, uint64_t max, uint64_t *out)
{
    return scaled_part(&s, '\0', max, "KMG", out);
}

bool pol_parse_rate(const char *s, uint64_t *down, uint64_t *up)
{
    uint64_t d, u;

    if (!rate_part(&s, '/', &d)) {
        return false;
    }
    s++;
    if (!rate_part(&s, '\0', &u)) {
        return false;
    }
    *down = d;
    *up = u;
    return true;
}

bool pol_parse_home(const char *s, char *out, size_t outsz)
{
    long depth = 0;

    if (s[0] == '\0') {
        return false;
    }
    /* SECURITY: path_normalize would stop a '..' at the root, as it does for
     * a client; in the policy such a '..' can only be a mistake, so it is
     * refused rather than quietly dropped. */
    for (const char *c = s; *c != '\0';) {
        const char *start;

        while (*c == '/') {
            c++;
        }
        start = c;
        while (*c != '\0' && *c != '/') {
            c++;
        }
        if (c - start == 2 && start[0] == '.' && start[1] == '.') {
            if (--depth < 0) {
                return false;
            }
        } else if (c - start > 0 && !(c - start == 1 && start[0] == '.')) {
            depth++;
        }
    }
    return path_normalize("/", s, out, outsz) == 0;
}

/* LOW-HIGH, both 1024..65535, LOW <= HIGH; `kernel` is the default spelled
 * out (what pol_print writes). */
bool pol_parse_ports(const char *s, unsigned *lo, unsigned *hi)
{
    char a[DEFS_PORT_TEXT_MAX + 1], b[DEFS_PORT_TEXT_MAX + 1];
    uint64_t l, h;
    size_t i = 0, j;

    if (strcmp(s, "kernel") == 0) {
        *lo = *hi = 0;
        return true;
    }
    while (s[i] != '\0' && s[i] != '-') {
        if (i >= sizeof(a) - 1) {
            return false;
        }
        a[i] = s[i];
        i++;
    }
    a[i] = '\0';
    if (s[i] != '-') {
        return false;
    }
    i++;
    for (j = 0; s[i] != '\0'; i++, j++) {
        if (j >= sizeof(b) - 1) {
            return false;
        }
        b[j] = s[i];
    }
    b[j] = '\0';
    /* SECURITY: no privileged ports for passive listeners (FTP bounce and
     * impersonation of well-known services). */
    if (!pol_parse_number(a, 10, DEFS_PORT_UNPRIVILEGED_MIN, DEFS_PORT_MAX, &l) ||
        !pol_parse_number(b, 10, DEFS_PORT_UNPRIVILEGED_MIN, DEFS_PORT_MAX, &h)) {
        return false;
    }
    if (l > h) {
        return false;
    }
    *lo = (unsigned)l;
    *hi = (unsigned)h;
    return true;
}

bool pol_parse_number(const char *s, unsigned base, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || s[0] == '\0' || (base != 8 && base != 10)) {
        return false;
    }
    for (; *s != '\0'; s++) {
        unsigned d;

        if (*s < '0' || *s > '9') {
            return false;
        }
        d = (unsigned)(*s - '0');
        if (d >= base) {
            return false;
        }
        if (v > (UINT64_MAX - d) / base) {
            return false;
        }
        v = v * base + d;
    }
    if (v < min || v > max) {
        return false;
    }
    if (out != NULL) {
        *out = v;
    }
    return true;
}

/* Decodes one base64 field of `n` chars at s, in any of the accepted forms
 * (standard padded, standard unpadded, passlib's `.` for `+` unpadded) into
 * out; *outlen is the decoded size. */
static bool decode_b64_field(const char *s, size_t n, unsigned char *out, size_t outsz,
                             size_t *outlen)
{
    char norm[DEFS_PBKDF2_B64_MAX + 1];
    size_t pad = 0, k = 0;
    bool plus = false, dot = false;

    while (pad < n && s[n - 1 - pad] == '=') {
        pad++;
    }
    /* SECURITY: bound the copy before touching the local buffer. */
    if (n == 0 || n > DEFS_PBKDF2_B64_MAX || pad > 2) {
        return false;
    }
    for (; k < n - pad; k++) {
        char c = s[k];

        if (c == '.') {
            dot = true;
            c = '+';
        } else if (c == '+') {
            plus = true;
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '/')) {
            return false;
        }
        norm[k] = c;
    }
    /* passlib's alphabet never pads and never mixes with '+'. */
    if ((dot && (plus || pad != 0)) || k % 4 == 1) {
        return false;
    }
    if (pad != 0 && (k + pad) % 4 != 0) {
        return false;
    }
    while (k % 4 != 0) {
        norm[k++] = '=';
    }
    norm[k] = '\0';
    return mbedtls_base64_decode(out, outsz, outlen, (const unsigned char *)norm, k) == 0;
}

bool pol_parse_pbkdf2(const char *s, struct pol_pbkdf2 *out, const char **why)
{
    static const char prefix[] = "$pbkdf2-sha256$";
    const char *it, *salt, *hash, *end;
    char num[DEFS_PBKDF2_ITER_TEXT_MAX + 1];
    uint64_t iter;
    size_t n, hlen = 0;
    /* Room for any field decode_b64_field accepts, so a hash of the wrong
     * size is reported as such rather than as bad base64. */
    unsigned char hbuf[DEFS_PBKDF2_B64_MAX / 4 * 3];
    const char *dummy;

    if (why == NULL) {
        why = &dummy;
    }
    if (s == NULL || out == NULL || strncmp(s, prefix, sizeof(prefix) - 1) != 0) {
        *why = "does not start with $pbkdf2-sha256$";
        return false;
    }
    it = s + sizeof(prefix) - 1;
    salt = strchr(it, '$');
    if (salt == NULL) {
        *why = "expected $pbkdf2-sha256$ITERATIONS$SALT$HASH";
        return false;
    }
    n = (size_t)(salt - it);
    salt++;
    hash = strchr(salt, '$');
    if (hash == NULL) {
        *why = "expected $pbkdf2-sha256$ITERATIONS$SALT$HASH";
        return false;
    }
    hash++;
    if (strchr(hash, '$') != NULL) {
        *why = "too many '$' fields";
        return false;
    }
    end = hash + strlen(hash);
    if (n >= sizeof(num)) {
        *why = "iteration count is not a number from 1000 to 10000000";
        return false;
    }
    memcpy(num, it, n);
    num[n] = '\0';
    if (!pol_parse_number(num, 10, DEFS_PBKDF2_MIN_ITER, DEFS_PBKDF2_MAX_ITER, &iter)) {
        *why = "iteration count is not a number from 1000 to 10000000";
        return false;
    }
    if (hash - 1 == salt) {
        *why = "empty salt";
        return false;
    }
    if (!decode_b64_field(salt, (size_t)(hash - 1 - salt), out->salt, sizeof(out->salt),
                          &out->salt_len)) {
        *why = "salt is not base64 of 1 to 64 bytes";
        return false;
    }
    if (out->salt_len == 0) {
        *why = "empty salt";
        return false;
    }
    if (!decode_b64_field(hash, (size_t)(end - hash), hbuf, sizeof(hbuf), &hlen)) {
        *why = "hash is not base64";
        return false;
    }
    if (hlen != DEFS_PBKDF2_HASH_LEN) {
        *why = "hash is not 32 bytes";
        return false;
    }
    memcpy(out->hash, hbuf, DEFS_PBKDF2_HASH_LEN);
    out->iterations = (uint32_t)iter;
    *why = NULL;
    return true;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool pol_parse_fingerprint(const char *s, unsigned char out[32])
{
    static const char prefix[] = "sha256:";
    unsigned char fp[32];
    size_t pos = 0;

    if (s == NULL) {
        return false;
    }
    for (; prefix[pos] != '\0'; pos++) {
        char c = s[pos];

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != prefix[pos]) {
            return false;
        }
    }
    for (size_t i = 0; i < sizeof(fp); i++) {
        int hi, lo;

        /* A colon may separate byte pairs, never split one or lead/trail. */
        if (i != 0 && s[pos] == ':') {
            pos++;
        }
        hi = hex_val(s[pos]);
        if (hi < 0) {
            return false;
        }
        lo = hex_val(s[pos + 1]);
        if (lo < 0) {
            return false;
        }
        fp[i] = (unsigned char)(hi << 4 | lo);
        pos += 2;
    }
    if (s[pos] != '\0') {
        return false;
    }
    memcpy(out, fp, sizeof(fp));
    return true;
}

/* ------------------------------------------------- directive values */

/* Checks the n values of directive d and fills v (pol_check_value). */
typedef bool value_fn(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                      struct pol_value *v);

static bool check_path(struct pol_parser *p, const char *kw, const char *s, bool absolute)
{
    size_t n = strlen(s);

    if (n == 0) {
        pol_error(p, p->line, "'%s' needs a path, not an empty string", kw);
        return false;
    }
    if (n >= DEFS_PATH_MAX) {
        pol_error(p, p->line, "'%s': path longer than %d bytes", kw, DEFS_PATH_MAX - 1);
        return false;
    }
    if (absolute && s[0] != '/') {
        pol_error(p, p->line,
                  "'%s' needs an absolute path (starting with '/'), not '%." DEFS_POLICY_SHOW "s'",
                  kw, s);
        return false;
    }
    return true;
}

/* POL_K_PATH and POL_K_ABSPATH. */
static bool v_path(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                   struct pol_value *v)
{
    (void)n;
    return check_path(p, d->kw, vals[0], d->kind == POL_K_ABSPATH) && pol_copy(p, vals[0], &v->str);
}

static bool v_account(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                      struct pol_value *v)
{
    (void)n;
    if (!pol_valid_name(vals[0])) {
        pol_error(p, p->line,
                  "bad account name '%." DEFS_POLICY_SHOW
                  "s' for '%s' (letters, digits, '.', '_', '-')",
                  vals[0], d->kw);
        return false;
    }
    return pol_copy(p, vals[0], &v->str);
}

void pol_bad_choice(struct pol_parser *p, const char *kw, const struct pol_choice *c,
                    const char *got)
{
    char list[DEFS_POLICY_CHOICES_TEXT];
    size_t pos = 0;

    list[0] = '\0';
    for (; c->name != NULL; c++) {
        if (!sys_append(list, sizeof(list), &pos, "%s%s", pos != 0 ? ", " : "", c->name)) {
            break;
        }
    }
    pol_error(p, p->line, "bad value '%." DEFS_POLICY_SHOW "s' for '%s' (expected one of: %s)", got,
              kw, list);
}

static bool v_choice(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                     struct pol_value *v)
{
    const struct pol_choice *c = pol_choice_find(d->choices, vals[0]);

    (void)n;
    if (c == NULL) {
        pol_bad_choice(p, d->kw, d->choices, vals[0]);
        return false;
    }
    v->choice = c->value;
    return true;
}

/* POL_K_NUMBER (decimal) and POL_K_OCTAL, within [d->lo, d->hi]. */
static bool v_number(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                     struct pol_value *v)
{
    bool octal = d->kind == POL_K_OCTAL;

    (void)n;
    if (pol_parse_number(vals[0], octal ? 8 : 10, d->lo, d->hi, &v->num)) {
        return true;
    }
    if (octal) {
        pol_error(p, p->line,
                  "bad value '%." DEFS_POLICY_SHOW "s' for '%s' (octal, %03" PRIo64 " to %03" PRIo64
                  ")",
                  vals[0], d->kw, d->lo, d->hi);
    } else {
        pol_error(p, p->line,
                  "bad value '%." DEFS_POLICY_SHOW "s' for '%s' (a number from %" PRIu64
                  " to %" PRIu64 ")",
                  vals[0], d->kw, d->lo, d->hi);
    }
    return false;
}

static bool v_ports(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                    struct pol_value *v)
{
    (void)n;
    if (!pol_parse_ports(vals[0], &v->lo, &v->hi)) {
        pol_error(p, p->line,
                  "bad value '%." DEFS_POLICY_SHOW
                  "s' for '%s' (LOW-HIGH, 1024 <= LOW <= HIGH <= 65535)",
                  vals[0], d->kw);
        return false;
    }
    return true;
}

/* One `pasv-address` value into *a: an IPv4 address (not 0.0.0.0), a host
 * name, or (when local_ok) the word `local`. Reports and returns false. */
static bool pasv_value(struct pol_parser *p, const char *s, bool local_ok, struct pol_pasv_addr *a)
{
    bool numeric = s[0] != '\0' && strspn(s, "0123456789.") == strlen(s);

    if (local_ok && strcmp(s, "local") == 0) {
        a->local = true;
    } else if (strlen(s) < INET_ADDRSTRLEN && inet_pton(AF_INET, s, &a->addr) == 1 &&
               a->addr.s_addr != INADDR_ANY) {
        a->literal = true;
    } else if (strcmp(s, "local") == 0) {
        pol_error(p, p->line,
                  "'pasv-address local': 'local' is only for the second value (what peers in "
                  "private ranges get)");
        return false;
    } else if (numeric || !pol_valid_hostname(s)) {
        /* Digits and dots only: a mistyped address, named as such. */
        pol_error(p, p->line,
                  numeric ? "bad value '%." DEFS_POLICY_SHOW
                            "s' for 'pasv-address' (an IPv4 address like 192.0.2.1)"
                          : "bad value '%." DEFS_POLICY_SHOW
                            "s' for 'pasv-address' (an IPv4 address like 192.0.2.1, or a host "
                            "name: labels of letters, digits and '-', the last starting with a "
                            "letter)",
                  s);
        return false;
    }
    return pol_copy(p, s, &a->name);
}

/* POL_K_PASV: `none`, or PUBLIC [PRIVATE]. No DNS here: a host name is
 * resolved at session start. */
static bool v_pasv(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                   struct pol_value *v)
{
    (void)d;
    if (strcmp(vals[0], "none") == 0) {
        if (n > 1) {
            pol_error(p, p->line, "'pasv-address none' takes no second value");
            return false;
        }
        return true;
    }
    return pasv_value(p, vals[0], false, &v->pasv[0]) &&
           (n < 2 || pasv_value(p, vals[1], true, &v->pasv[1]));
}

static bool v_text(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                   struct pol_value *v)
{
    (void)n;
    if (strlen(vals[0]) > DEFS_BANNER_MAX) {
        pol_error(p, p->line, "'%s' text longer than %d bytes", d->kw, DEFS_BANNER_MAX);
        return false;
    }
    return pol_copy(p, vals[0], &v->str);
}

static bool v_ciphers(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                      struct pol_value *v)
{
    (void)d;
    if (n == 1 && strcmp(vals[0], "default") == 0) {
        v->list = NULL;
        v->nlist = 0;
        return true;
    }
    v->list = calloc(n, sizeof(*v->list));
    if (v->list == NULL) {
        pol_error(p, p->line, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(vals[i], "default") == 0) {
            pol_error(p, p->line, "'ciphers default' cannot be mixed with suite names");
            return false;
        }
        if (vals[i][0] == '\0') {
            pol_error(p, p->line, "'ciphers': empty suite name");
            return false;
        }
        if (!pol_copy(p, vals[i], &v->list[i])) {
            return false;
        }
        v->nlist = i + 1;
    }
    return true;
}

/* POL_K_LIMIT: a count in [d->lo, d->hi], or `none` (0: no limit). */
static bool v_limit(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                    struct pol_value *v)
{
    (void)n;
    if (strcmp(vals[0], "none") == 0) {
        v->num = 0;
        return true;
    }
    if (!pol_parse_number(vals[0], 10, d->lo, d->hi, &v->num)) {
        pol_error(p, p->line,
                  "bad value '%." DEFS_POLICY_SHOW "s' for '%s' (a number from %" PRIu64
                  " to %" PRIu64 ", or none)",
                  vals[0], d->kw, d->lo, d->hi);
        return false;
    }
    return true;
}

/* POL_K_SIZE: a byte count in [d->lo, d->hi] with K, M or G, or `none`. */
static bool v_size(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                   struct pol_value *v)
{
    (void)n;
    if (strcmp(vals[0], "none") == 0) {
        v->num = 0;
        return true;
    }
    if (!pol_parse_size(vals[0], d->hi, &v->num) || v->num < d->lo) {
        pol_error(p, p->line,
                  "bad value '%." DEFS_POLICY_SHOW "s' for '%s' (bytes, with an optional K, M or G "
                  "suffix, from %" PRIu64 " to %" PRIu64 "G, or none)",
                  vals[0], d->kw, d->lo, d->hi / (1024 * 1024 * 1024));
        return false;
    }
    return true;
}

/* POL_K_HASH: `off`, or algorithm names (any case), each at most once, in
 * the order given (the first is the HASH command's default). */
static bool v_hash(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                   struct pol_value *v)
{
    v->nhash = 0;
    if (n == 1 && strcmp(vals[0], "off") == 0) {
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pol_choice *c = pol_hash_choices;

        if (strcmp(vals[i], "off") == 0) {
            pol_error(p, p->line, "'hash off' cannot be mixed with algorithm names");
            return false;
        }
        while (c->name != NULL && !sys_ieq(c->name, vals[i])) {
            c++;
        }
        if (c->name == NULL) {
            pol_error(p, p->line,
                      "bad value '%." DEFS_POLICY_SHOW
                      "s' for '%s' (off, or some of SHA-256 SHA-512 SHA-1 MD5)",
                      vals[i], d->kw);
            return false;
        }
        for (unsigned j = 0; j < v->nhash; j++) {
            if (v->hash[j] == (enum pol_hash_algo)c->value) {
                pol_error(p, p->line, "'%s' names %s twice", d->kw, c->name);
                return false;
            }
        }
        v->hash[v->nhash++] = (enum pol_hash_algo)c->value;
    }
    return true;
}

/* Each kind's checker and how many values it takes. */
static const struct {
    value_fn *check;
    unsigned max_values;
} kinds[] = {
    [POL_K_PATH] = {v_path, 1},
    [POL_K_ABSPATH] = {v_path, 1},
    [POL_K_ACCOUNT] = {v_account, 1},
    [POL_K_CHOICE] = {v_choice, 1},
    [POL_K_NUMBER] = {v_number, 1},
    [POL_K_OCTAL] = {v_number, 1},
    [POL_K_PORTS] = {v_ports, 1},
    [POL_K_PASV] = {v_pasv, 2},
    [POL_K_TEXT] = {v_text, 1},
    [POL_K_CIPHERS] = {v_ciphers, DEFS_POLICY_VALUES_MAX},
    [POL_K_HASH] = {v_hash, DEFS_POLICY_VALUES_MAX},
    [POL_K_LIMIT] = {v_limit, 1},
    [POL_K_SIZE] = {v_size, 1},
};

unsigned pol_kind_max_values(enum pol_kind kind)
{
    return kinds[kind].max_values;
}

bool pol_check_value(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                     struct pol_value *v)
{
    return kinds[d->kind].check(p, d, vals, n, v);
}

void pol_value_free(struct pol_value *v)
{
    free(v->str);
    free(v->pasv[0].name);
    free(v->pasv[1].name);
    if (v->list != NULL) {
        for (size_t i = 0; i < v->nlist; i++) {
            free(v->list[i]);
        }
        free(v->list);
    }
}
