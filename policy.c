/* policy.c — the policy file of SPEC §2 and §5.
 *
 * One strict, table-driven parser: the file is read whole (size-capped) and
 * split into lines; each line into blank-separated tokens (with `"` quoting);
 * the first token selects a row of `directives[]`, whose kind says how its
 * values are checked and whose store function puts the typed result into
 * `struct policy`. `user` and `group` lines go through a second table of
 * `key=value` keys. Checks that need the whole file (required directives,
 * `cert=` vs `client-cert`, a user's `tls=` vs the global rule) run once at
 * the end. Every error is reported as FILE:LINE through a callback and the
 * parser goes on, so `-t` shows all mistakes at once.
 *
 * The parser is pure and bounded (it is fuzzed): it never trusts a length,
 * never reads past `len`, and turns any byte it does not expect into an error
 * for that line.
 *
 * Quoting (our choice, SPEC §2 leaves it open): a `"` opens a quoted part of
 * a token, which ends at the next unescaped `"`; inside quotes blanks and `#`
 * are ordinary, `\"` is a quote and `\\` a backslash, and any other backslash
 * sequence is an error. Outside quotes a backslash is an ordinary character
 * and `#` starts a comment wherever it stands. Quoted parts may sit inside a
 * token, so `root="/my files"` is the key `root` with the value `/my files`.
 */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mbedtls/base64.h"
#include "mbedtls/platform_util.h"

#include "sys.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- choices */

struct choice {
    const char *name;
    int value;
};

/* The first entry of each list is the default (SPEC §2 lists it first). */
static const struct choice tls_choices[] = {
    {"auth+data", POL_TLS_AUTH_DATA}, {"off", POL_TLS_OFF},
    {"optional", POL_TLS_OPTIONAL},   {"ctrl", POL_TLS_CTRL},
    {"data", POL_TLS_DATA},           {"on", POL_TLS_ON},
    {"auth", POL_TLS_AUTH},           {NULL, 0},
};
static const struct choice onoff_choices[] = {{"off", 0}, {"on", 1}, {NULL, 0}};
static const struct choice ccert_choices[] = {
    {"off", POL_CCERT_OFF},
    {"optional", POL_CCERT_OPTIONAL},
    {"required", POL_CCERT_REQUIRED},
    {NULL, 0},
};
static const struct choice tlsmin_choices[] = {{"1.2", 12}, {"1.3", 13}, {NULL, 0}};
static const struct choice reuse_choices[] = {{"required", 1}, {"optional", 0}, {NULL, 0}};
static const struct choice reneg_choices[] = {{"off", 0}, {"client", 1}, {NULL, 0}};
static const struct choice active_choices[] = {{"off", 0}, {"peer", 1}, {NULL, 0}};
static const struct choice upload_choices[] = {{"atomic", 1}, {"direct", 0}, {NULL, 0}};
static const struct choice log_choices[] = {
    {"syslog", POL_LOG_SYSLOG},
    {"stderr", POL_LOG_STDERR},
    {"none", POL_LOG_NONE},
    {NULL, 0},
};

static const struct choice *choice_by_name(const struct choice *c, const char *name)
{
    for (; c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

static const char *choice_name(const struct choice *c, int value)
{
    for (; c->name != NULL; c++) {
        if (c->value == value) {
            return c->name;
        }
    }
    return "?";
}

/* ------------------------------------------------------------ parser state */

enum kind {
    K_PATH,    /* host path, any form */
    K_ABSPATH, /* host path starting with '/' */
    K_ACCOUNT, /* account name */
    K_CHOICE,  /* one of d->choices */
    K_NUMBER,  /* decimal in [lo, hi] */
    K_OCTAL,   /* octal in [lo, hi] */
    K_PORTS,   /* LOW-HIGH or kernel */
    K_IPV4,    /* dotted quad */
    K_TEXT,    /* free text (quoted when it has blanks) */
    K_CIPHERS, /* default, or a list of names */
};

/* A value after its kind's checks, waiting for the directive's store. */
struct value {
    int choice;
    uint64_t num;
    char *str;
    char **list;
    size_t nlist;
    unsigned lo, hi;
    struct in_addr addr;
};

typedef void store_fn(struct policy *pol, struct value *v);

struct directive {
    const char *kw;
    enum kind kind;
    unsigned max_count;           /* times it may appear in one file */
    const struct choice *choices; /* K_CHOICE */
    uint64_t lo, hi;              /* K_NUMBER, K_OCTAL */
    store_fn *store;
};

struct parser {
    struct policy *pol;
    const char *name;
    pol_report_fn *report;
    void *ctx;
    int line;
    int errors;
    unsigned seen_count[DEFS_POLICY_DIRECTIVES_MAX];
    int seen_line[DEFS_POLICY_DIRECTIVES_MAX]; /* first line, 0 = never */
    size_t users_cap, groups_cap;
};

static void perr(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, int line, const char *fmt, ...)
{
    char msg[DEFS_POLICY_MSG_MAX];
    va_list ap;

    /* Formatted even without a callback, so the fuzzer exercises it too. */
    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
        msg[0] = '\0';
    }
    va_end(ap);
    p->errors++;
    if (p->report != NULL) {
        p->report(p->ctx, p->name, line, msg);
    }
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n + 1);
    }
    return d;
}

/* ------------------------------------------------------------- store funcs */

#define STORE_STR(fn, field)                                                                       \
    static void fn(struct policy *pol, struct value *v)                                            \
    {                                                                                              \
        free(pol->field);                                                                          \
        pol->field = v->str;                                                                       \
        v->str = NULL;                                                                             \
    }

STORE_STR(st_client_ca, client_ca)
STORE_STR(st_keylog, keylog)
STORE_STR(st_run_as, run_as)
STORE_STR(st_chroot, chroot)
STORE_STR(st_xferlog, xferlog)
STORE_STR(st_banner, banner)

static void st_cert(struct policy *pol, struct value *v)
{
    if (pol->ncert < POL_MAX_CERTS) {
        pol->cert[pol->ncert++] = v->str;
        v->str = NULL;
    }
}

static void st_key(struct policy *pol, struct value *v)
{
    if (pol->nkey < POL_MAX_CERTS) {
        pol->key[pol->nkey++] = v->str;
        v->str = NULL;
    }
}

static void st_client_cert(struct policy *pol, struct value *v)
{
    pol->client_cert = (enum pol_client_cert)v->choice;
}
static void st_tls(struct policy *pol, struct value *v)
{
    pol->tls = (enum pol_tls)v->choice;
}
static void st_tls_min(struct policy *pol, struct value *v)
{
    pol->tls_min = v->choice;
}
static void st_implicit(struct policy *pol, struct value *v)
{
    pol->implicit = v->choice != 0;
}
static void st_data_reuse(struct policy *pol, struct value *v)
{
    pol->data_reuse_required = v->choice != 0;
}
static void st_renegotiate(struct policy *pol, struct value *v)
{
    pol->renegotiate_client = v->choice != 0;
}
static void st_active(struct policy *pol, struct value *v)
{
    pol->active_peer = v->choice != 0;
}
static void st_fxp(struct policy *pol, struct value *v)
{
    pol->fxp = v->choice != 0;
}
static void st_upload(struct policy *pol, struct value *v)
{
    pol->upload_atomic = v->choice != 0;
}
static void st_log(struct policy *pol, struct value *v)
{
    pol->log = (enum pol_log)v->choice;
}
static void st_idle(struct policy *pol, struct value *v)
{
    pol->idle = (unsigned)v->num;
}
static void st_login_grace(struct policy *pol, struct value *v)
{
    pol->login_grace = (unsigned)v->num;
}
static void st_max_tries(struct policy *pol, struct value *v)
{
    pol->max_tries = (unsigned)v->num;
}
static void st_umask(struct policy *pol, struct value *v)
{
    pol->umask = (mode_t)v->num;
}

static void st_pasv_ports(struct policy *pol, struct value *v)
{
    pol->pasv_lo = v->lo;
    pol->pasv_hi = v->hi;
}

static void st_pasv_address(struct policy *pol, struct value *v)
{
    pol->has_pasv_address = true;
    pol->pasv_address = v->addr;
}

static void st_ciphers(struct policy *pol, struct value *v)
{
    pol->ciphers = v->list;
    pol->nciphers = v->nlist;
    v->list = NULL;
    v->nlist = 0;
}

/* The grammar of SPEC §2, one row per directive. pol_print follows the same
 * order. */
static const struct directive directives[] = {
    {"cert", K_PATH, POL_MAX_CERTS, NULL, 0, 0, st_cert},
    {"key", K_PATH, POL_MAX_CERTS, NULL, 0, 0, st_key},
    {"client-ca", K_PATH, 1, NULL, 0, 0, st_client_ca},
    {"client-cert", K_CHOICE, 1, ccert_choices, 0, 0, st_client_cert},
    {"tls", K_CHOICE, 1, tls_choices, 0, 0, st_tls},
    {"tls-min", K_CHOICE, 1, tlsmin_choices, 0, 0, st_tls_min},
    {"ciphers", K_CIPHERS, 1, NULL, 0, 0, st_ciphers},
    {"implicit", K_CHOICE, 1, onoff_choices, 0, 0, st_implicit},
    {"data-reuse", K_CHOICE, 1, reuse_choices, 0, 0, st_data_reuse},
    {"renegotiate", K_CHOICE, 1, reneg_choices, 0, 0, st_renegotiate},
    {"keylog", K_PATH, 1, NULL, 0, 0, st_keylog},
    {"run-as", K_ACCOUNT, 1, NULL, 0, 0, st_run_as},
    {"chroot", K_ABSPATH, 1, NULL, 0, 0, st_chroot},
    {"pasv-ports", K_PORTS, 1, NULL, 0, 0, st_pasv_ports},
    {"pasv-address", K_IPV4, 1, NULL, 0, 0, st_pasv_address},
    {"active", K_CHOICE, 1, active_choices, 0, 0, st_active},
    {"fxp", K_CHOICE, 1, onoff_choices, 0, 0, st_fxp},
    {"idle", K_NUMBER, 1, NULL, 1, DEFS_POLICY_SECONDS_MAX, st_idle},
    {"login-grace", K_NUMBER, 1, NULL, 1, DEFS_POLICY_SECONDS_MAX, st_login_grace},
    {"max-tries", K_NUMBER, 1, NULL, 1, DEFS_POLICY_TRIES_MAX, st_max_tries},
    {"umask", K_OCTAL, 1, NULL, 0, 0777, st_umask},
    {"upload", K_CHOICE, 1, upload_choices, 0, 0, st_upload},
    {"log", K_CHOICE, 1, log_choices, 0, 0, st_log},
    {"xferlog", K_PATH, 1, NULL, 0, 0, st_xferlog},
    {"banner", K_TEXT, 1, NULL, 0, 0, st_banner},
};

_Static_assert(ARRAY_LEN(directives) <= DEFS_POLICY_DIRECTIVES_MAX,
               "raise DEFS_POLICY_DIRECTIVES_MAX");

static const struct directive *find_directive(const char *kw)
{
    for (size_t i = 0; i < ARRAY_LEN(directives); i++) {
        if (strcmp(directives[i].kw, kw) == 0) {
            return &directives[i];
        }
    }
    return NULL;
}

static int directive_index(const char *kw)
{
    const struct directive *d = find_directive(kw);

    return d != NULL ? (int)(d - directives) : -1;
}

/* ---------------------------------------------------------- value checkers */

static bool is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* SECURITY: user, group and account names reach log lines, `-t` output and
 * getpwnam(); a small alphabet keeps separators and escapes out of them. */
static bool valid_name(const char *s)
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

static bool is_anon_name(const char *s)
{
    return sys_ieq(s, "anonymous") || sys_ieq(s, "ftp");
}

static bool has_dotdot_component(const char *s)
{
    for (size_t i = 0; s[i] != '\0'; i++) {
        bool at_start = i == 0 || s[i - 1] == '/';

        if (at_start && s[i] == '.' && s[i + 1] == '.' && (s[i + 2] == '/' || s[i + 2] == '\0')) {
            return true;
        }
    }
    return false;
}

static bool check_path(struct parser *p, const char *kw, const char *s, bool absolute)
{
    size_t n = strlen(s);

    if (n == 0) {
        perr(p, p->line, "'%s' needs a path, not an empty string", kw);
        return false;
    }
    if (n >= DEFS_PATH_MAX) {
        perr(p, p->line, "'%s': path longer than %d bytes", kw, DEFS_PATH_MAX - 1);
        return false;
    }
    if (absolute && s[0] != '/') {
        perr(p, p->line,
             "'%s' needs an absolute path (starting with '/'), not '%." DEFS_POLICY_SHOW "s'", kw,
             s);
        return false;
    }
    return true;
}

static void bad_choice(struct parser *p, const char *kw, const struct choice *c, const char *got)
{
    char list[DEFS_POLICY_CHOICES_TEXT];
    size_t pos = 0;

    list[0] = '\0';
    for (; c->name != NULL; c++) {
        if (!sys_append(list, sizeof(list), &pos, "%s%s", pos != 0 ? ", " : "", c->name)) {
            break;
        }
    }
    perr(p, p->line, "bad value '%." DEFS_POLICY_SHOW "s' for '%s' (expected one of: %s)", got, kw,
         list);
}

/* LOW-HIGH, both 1024..65535, LOW <= HIGH; `kernel` is the default spelled
 * out (what pol_print writes). */
static bool parse_ports(const char *s, unsigned *lo, unsigned *hi)
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

/* Checks vals[] against d's kind; fills v. Reports and returns false on a
 * bad value. v owns whatever it allocated either way. */
static bool parse_value(struct parser *p, const struct directive *d, char **vals, size_t n,
                        struct value *v)
{
    const char *s = vals[0];
    const struct choice *c;

    switch (d->kind) {
    case K_PATH:
    case K_ABSPATH:
        if (!check_path(p, d->kw, s, d->kind == K_ABSPATH)) {
            return false;
        }
        break;
    case K_ACCOUNT:
        if (!valid_name(s)) {
            perr(p, p->line,
                 "bad account name '%." DEFS_POLICY_SHOW
                 "s' for '%s' (letters, digits, '.', '_', '-')",
                 s, d->kw);
            return false;
        }
        break;
    case K_CHOICE:
        c = choice_by_name(d->choices, s);
        if (c == NULL) {
            bad_choice(p, d->kw, d->choices, s);
            return false;
        }
        v->choice = c->value;
        return true;
    case K_NUMBER:
        if (!pol_parse_number(s, 10, d->lo, d->hi, &v->num)) {
            perr(p, p->line,
                 "bad value '%." DEFS_POLICY_SHOW "s' for '%s' (a number from %" PRIu64
                 " to %" PRIu64 ")",
                 s, d->kw, d->lo, d->hi);
            return false;
        }
        return true;
    case K_OCTAL:
        if (!pol_parse_number(s, 8, d->lo, d->hi, &v->num)) {
            perr(p, p->line,
                 "bad value '%." DEFS_POLICY_SHOW "s' for '%s' (octal, %03" PRIo64 " to %03" PRIo64
                 ")",
                 s, d->kw, d->lo, d->hi);
            return false;
        }
        return true;
    case K_PORTS:
        if (!parse_ports(s, &v->lo, &v->hi)) {
            perr(p, p->line,
                 "bad value '%." DEFS_POLICY_SHOW
                 "s' for '%s' (LOW-HIGH, 1024 <= LOW <= HIGH <= 65535)",
                 s, d->kw);
            return false;
        }
        return true;
    case K_IPV4:
        if (strlen(s) >= INET_ADDRSTRLEN || inet_pton(AF_INET, s, &v->addr) != 1 ||
            v->addr.s_addr == INADDR_ANY) {
            perr(p, p->line,
                 "bad value '%." DEFS_POLICY_SHOW "s' for '%s' (an IPv4 address like 192.0.2.1)", s,
                 d->kw);
            return false;
        }
        return true;
    case K_TEXT:
        if (strlen(s) > DEFS_BANNER_MAX) {
            perr(p, p->line, "'%s' text longer than %d bytes", d->kw, DEFS_BANNER_MAX);
            return false;
        }
        break;
    case K_CIPHERS:
        if (n == 1 && strcmp(s, "default") == 0) {
            v->list = NULL;
            v->nlist = 0;
            return true;
        }
        v->list = calloc(n, sizeof(*v->list));
        if (v->list == NULL) {
            perr(p, p->line, "out of memory");
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(vals[i], "default") == 0) {
                perr(p, p->line, "'ciphers default' cannot be mixed with suite names");
                return false;
            }
            if (vals[i][0] == '\0') {
                perr(p, p->line, "'ciphers': empty suite name");
                return false;
            }
            v->list[i] = dup_str(vals[i]);
            if (v->list[i] == NULL) {
                perr(p, p->line, "out of memory");
                return false;
            }
            v->nlist = i + 1;
        }
        return true;
    }
    v->str = dup_str(s);
    if (v->str == NULL) {
        perr(p, p->line, "out of memory");
        return false;
    }
    return true;
}

static void free_value(struct value *v)
{
    free(v->str);
    if (v->list != NULL) {
        for (size_t i = 0; i < v->nlist; i++) {
            free(v->list[i]);
        }
        free(v->list);
    }
}

static void parse_directive(struct parser *p, char **tok, size_t ntok)
{
    const struct directive *d = find_directive(tok[0]);
    struct value v = {0};
    size_t idx;

    if (d == NULL) {
        perr(p, p->line, "unknown directive '%." DEFS_POLICY_SHOW "s'", tok[0]);
        return;
    }
    idx = (size_t)(d - directives);
    if (p->seen_count[idx] >= d->max_count) {
        if (d->max_count > 1) {
            perr(p, p->line, "'%s' given more than %u times (first on line %d)", d->kw,
                 d->max_count, p->seen_line[idx]);
        } else {
            perr(p, p->line, "duplicate directive '%s' (first on line %d)", d->kw,
                 p->seen_line[idx]);
        }
        return;
    }
    p->seen_count[idx]++;
    if (p->seen_line[idx] == 0) {
        p->seen_line[idx] = p->line;
    }
    if (ntok < 2) {
        perr(p, p->line, "'%s' needs a value", d->kw);
        return;
    }
    if (d->kind != K_CIPHERS && ntok > 2) {
        perr(p, p->line, "'%s' takes one value, got %zu (quote a value that has blanks)", d->kw,
             ntok - 1);
        return;
    }
    if (parse_value(p, d, tok + 1, ntok - 1, &v)) {
        d->store(p->pol, &v);
    }
    free_value(&v);
}

/* --------------------------------------------------------- users and groups */

/* The fields a user and a group share, so one key table serves both. */
struct acct {
    struct pol_user *user; /* NULL on a group line */
    char **root;
    uint32_t *access;
    int *tls;
};

enum { ON_USER = 1, ON_GROUP = 2 };

typedef bool key_fn(struct parser *p, struct acct *a, const char *val);

struct acct_key {
    const char *name;
    unsigned where;
    key_fn *set;
};

static bool key_password(struct parser *p, struct acct *a, const char *val)
{
    const char *why = NULL;

    if (a->user->anonymous) {
        perr(p, p->line,
             "user '%s' is the anonymous user, who takes any password: remove password=",
             a->user->name);
        return false;
    }
    if (!pol_parse_pbkdf2(val, &a->user->password, &why)) {
        perr(p, p->line, "user '%s': bad password= (%s)", a->user->name, why);
        return false;
    }
    a->user->has_password = true;
    return true;
}

static bool key_cert(struct parser *p, struct acct *a, const char *val)
{
    if (a->user->anonymous) {
        perr(p, p->line, "user '%s' is the anonymous user, who needs no cert=: remove it",
             a->user->name);
        return false;
    }
    if (!pol_parse_fingerprint(val, a->user->cert_sha256)) {
        perr(p, p->line,
             "user '%s': bad cert= '%." DEFS_POLICY_SHOW "s' (sha256: and 64 hex digits)",
             a->user->name, val);
        return false;
    }
    a->user->has_cert = true;
    return true;
}

static bool key_root(struct parser *p, struct acct *a, const char *val)
{
    /* SECURITY: the root is joined to the chroot by path.c; an absolute path
     * without `..` cannot name anything outside it however it is joined. */
    if (val[0] != '/' || has_dotdot_component(val) || strlen(val) >= DEFS_PATH_MAX) {
        perr(p, p->line,
             "bad root= '%." DEFS_POLICY_SHOW "s' (an absolute path inside chroot, no '..')", val);
        return false;
    }
    *a->root = dup_str(val);
    if (*a->root == NULL) {
        perr(p, p->line, "out of memory");
        return false;
    }
    return true;
}

static bool key_access(struct parser *p, struct acct *a, const char *val)
{
    static const char letters[] = "rwadmn";
    uint32_t acc = 0;

    for (size_t i = 0; val[i] != '\0'; i++) {
        uint32_t bit = 0;

        for (size_t j = 0; letters[j] != '\0'; j++) {
            if (val[i] == letters[j]) {
                bit = 1u << j;
            }
        }
        if (bit == 0 || (acc & bit) != 0) {
            perr(p, p->line,
                 "bad access= '%." DEFS_POLICY_SHOW
                 "s' (each of the letters r w a d m n at most once)",
                 val);
            return false;
        }
        acc |= bit;
    }
    *a->access = acc;
    return true;
}

static bool key_tls(struct parser *p, struct acct *a, const char *val)
{
    const struct choice *c = choice_by_name(tls_choices, val);

    if (c == NULL) {
        bad_choice(p, "tls=", tls_choices, val);
        return false;
    }
    *a->tls = c->value;
    return true;
}

static int find_group(const struct policy *pol, const char *name)
{
    for (size_t i = 0; i < pol->ngroups; i++) {
        if (strcmp(pol->groups[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static bool key_group(struct parser *p, struct acct *a, const char *val)
{
    int g = find_group(p->pol, val);

    if (g < 0) {
        perr(p, p->line,
             "group '%." DEFS_POLICY_SHOW
             "s' is not defined (define it on a line before its users)",
             val);
        return false;
    }
    a->user->group = g;
    return true;
}

static const struct acct_key acct_keys[] = {
    {"password", ON_USER, key_password},    {"cert", ON_USER, key_cert},
    {"root", ON_USER | ON_GROUP, key_root}, {"access", ON_USER | ON_GROUP, key_access},
    {"tls", ON_USER | ON_GROUP, key_tls},   {"group", ON_USER, key_group},
};

/* Grows *arr to hold n + 1 elements, capacity doubling up to max. */
static bool grow(void **arr, size_t *cap, size_t n, size_t elem, size_t max)
{
    size_t ncap;
    void *na;

    if (n < *cap) {
        return true;
    }
    if (n >= max) {
        return false;
    }
    ncap = *cap != 0 ? *cap * 2 : 8;
    if (ncap > max) {
        ncap = max;
    }
    na = realloc(*arr, ncap * elem);
    if (na == NULL) {
        return false;
    }
    *arr = na;
    *cap = ncap;
    return true;
}

static bool add_group(struct parser *p, const char *name, struct acct *a)
{
    struct policy *pol = p->pol;
    struct pol_group *g;
    void *arr = pol->groups;
    int other = find_group(pol, name);

    if (other >= 0) {
        perr(p, p->line, "duplicate group '%s' (first on line %d)", name, pol->groups[other].line);
        return false;
    }
    if (pol->ngroups >= DEFS_POLICY_GROUPS_MAX) {
        perr(p, p->line, "too many groups (at most %d)", DEFS_POLICY_GROUPS_MAX);
        return false;
    }
    if (!grow(&arr, &p->groups_cap, pol->ngroups, sizeof(*pol->groups), DEFS_POLICY_GROUPS_MAX)) {
        perr(p, p->line, "out of memory");
        return false;
    }
    pol->groups = arr;
    g = &pol->groups[pol->ngroups++];
    *g = (struct pol_group){
        .line = p->line, .root = NULL, .access = POL_ACC_UNSET, .tls = POL_TLS_UNSET};
    sys_copy(g->name, sizeof(g->name), name);
    *a = (struct acct){.user = NULL, .root = &g->root, .access = &g->access, .tls = &g->tls};
    return true;
}

static bool add_user(struct parser *p, const char *name, struct acct *a)
{
    struct policy *pol = p->pol;
    struct pol_user *u;
    void *arr = pol->users;
    bool anon = is_anon_name(name);

    for (size_t i = 0; i < pol->nusers; i++) {
        if (strcmp(pol->users[i].name, name) == 0) {
            perr(p, p->line, "duplicate user '%s' (first on line %d)", name, pol->users[i].line);
            return false;
        }
        if (anon && pol->users[i].anonymous) {
            perr(p, p->line,
                 "duplicate user '%s': 'anonymous' and 'ftp' are the same user (first on line %d)",
                 name, pol->users[i].line);
            return false;
        }
    }
    if (pol->nusers >= DEFS_POLICY_USERS_MAX) {
        perr(p, p->line, "too many users (at most %d)", DEFS_POLICY_USERS_MAX);
        return false;
    }
    if (!grow(&arr, &p->users_cap, pol->nusers, sizeof(*pol->users), DEFS_POLICY_USERS_MAX)) {
        perr(p, p->line, "out of memory");
        return false;
    }
    pol->users = arr;
    u = &pol->users[pol->nusers++];
    *u = (struct pol_user){
        .line = p->line,
        .anonymous = anon,
        .root = NULL,
        .access = POL_ACC_UNSET,
        .tls = POL_TLS_UNSET,
        .group = -1,
    };
    sys_copy(u->name, sizeof(u->name), name);
    *a = (struct acct){.user = u, .root = &u->root, .access = &u->access, .tls = &u->tls};
    return true;
}

/* `user NAME key=value ...` and `group NAME key=value ...`. The user or
 * group is added even when a key is bad, so later lines do not report it
 * again as undefined. */
static void parse_acct_line(struct parser *p, char **tok, size_t ntok, bool is_group)
{
    const char *what = is_group ? "group" : "user";
    unsigned where = is_group ? ON_GROUP : ON_USER;
    unsigned seen = 0;
    struct acct a;

    if (ntok < 2) {
        perr(p, p->line, "'%s' needs a name", what);
        return;
    }
    if (!valid_name(tok[1])) {
        perr(p, p->line,
             "bad %s name '%." DEFS_POLICY_SHOW
             "s' (1 to %d of A-Z a-z 0-9 . _ -, not starting with '-')",
             what, tok[1], DEFS_NAME_MAX - 1);
        return;
    }
    if (!(is_group ? add_group(p, tok[1], &a) : add_user(p, tok[1], &a))) {
        return;
    }
    for (size_t i = 2; i < ntok; i++) {
        char *eq = strchr(tok[i], '=');
        const struct acct_key *k = NULL;
        size_t ki;

        if (eq == NULL) {
            perr(p, p->line, "expected key=value on a %s line, got '%." DEFS_POLICY_SHOW "s'", what,
                 tok[i]);
            continue;
        }
        *eq = '\0';
        for (ki = 0; ki < ARRAY_LEN(acct_keys); ki++) {
            if (strcmp(acct_keys[ki].name, tok[i]) == 0 && (acct_keys[ki].where & where) != 0) {
                k = &acct_keys[ki];
                break;
            }
        }
        if (k == NULL) {
            perr(p, p->line, "unknown key '%." DEFS_POLICY_SHOW "s=' on a %s line", tok[i], what);
            continue;
        }
        if ((seen & (1u << ki)) != 0) {
            perr(p, p->line, "key '%s=' given twice", k->name);
            continue;
        }
        seen |= 1u << ki;
        if (eq[1] == '\0') {
            perr(p, p->line, "'%s=' needs a value", k->name);
            continue;
        }
        k->set(p, &a, eq + 1);
    }
}

/* ------------------------------------------------------------------ lines */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits one line (no newline) into tokens in scratch, which has room for
 * 2 * len + 2 bytes (every token costs at most its input plus a NUL). */
static size_t tokenize(struct parser *p, const char *s, size_t len, char *scratch, char **tok)
{
    size_t i = 0, o = 0, n = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        /* SECURITY: values reach replies (banner), logs and file names; a
         * NUL would cut a value short behind the parser's back and CR/LF or
         * other control bytes would let a value inject reply lines. */
        if (c == '\0') {
            perr(p, p->line, "NUL byte in line");
            return 0;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            perr(p, p->line, "control character 0x%02x in line", c);
            return 0;
        }
    }
    i = 0;
    for (;;) {
        while (i < len && is_blank(s[i])) {
            i++;
        }
        if (i >= len || s[i] == '#') {
            break;
        }
        if (n == DEFS_POLICY_TOKENS_MAX) {
            perr(p, p->line, "too many values on one line (at most %d)", DEFS_POLICY_VALUES_MAX);
            return 0;
        }
        tok[n++] = scratch + o;
        while (i < len && !is_blank(s[i]) && s[i] != '#') {
            if (s[i] != '"') {
                scratch[o++] = s[i++];
                continue;
            }
            for (i++;; i++) {
                if (i >= len) {
                    perr(p, p->line, "unterminated quote");
                    return 0;
                }
                if (s[i] == '"') {
                    i++;
                    break;
                }
                if (s[i] == '\\') {
                    if (i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
                        i++;
                    } else {
                        perr(p, p->line, "bad escape in quotes (only \\\" and \\\\ are known)");
                        return 0;
                    }
                }
                scratch[o++] = s[i];
            }
        }
        scratch[o++] = '\0';
    }
    return n;
}

static void parse_line(struct parser *p, const char *s, size_t len, char *scratch)
{
    char *tok[DEFS_POLICY_TOKENS_MAX];
    size_t n = tokenize(p, s, len, scratch, tok);

    if (n == 0) {
        return;
    }
    if (strcmp(tok[0], "user") == 0) {
        parse_acct_line(p, tok, n, false);
    } else if (strcmp(tok[0], "group") == 0) {
        parse_acct_line(p, tok, n, true);
    } else {
        parse_directive(p, tok, n);
    }
}

/* ------------------------------------------------------- whole-file checks */

static unsigned tls_reqs(enum pol_tls t)
{
    return (pol_tls_login_required(t) ? 1u : 0u) | (pol_tls_ctrl_required(t) ? 2u : 0u) |
           (pol_tls_data_required(t) ? 4u : 0u);
}

/* `u` is weaker than `g` if it drops one of g's requirements, or turns TLS
 * off where g at least offers it. */
static bool tls_weaker(enum pol_tls u, enum pol_tls g)
{
    unsigned ur = tls_reqs(u), gr = tls_reqs(g);

    return (ur & gr) != gr || (u == POL_TLS_OFF && g != POL_TLS_OFF);
}

static int seen_line(const struct parser *p, const char *kw)
{
    int i = directive_index(kw);

    return i >= 0 ? p->seen_line[i] : 0;
}

static void check_user(struct parser *p, const struct pol_user *u)
{
    const struct policy *pol = p->pol;
    struct pol_effective eff;

    pol_effective(pol, u, &eff);
    if (!u->anonymous && !u->has_password && !u->has_cert) {
        perr(p, u->line, "user '%s' has neither password= nor cert= and could never log in",
             u->name);
    }
    if (u->has_cert && pol->client_cert == POL_CCERT_OFF) {
        perr(p, u->line, "user '%s': cert= needs 'client-cert optional' or 'client-cert required'",
             u->name);
    }
    /* SECURITY: a password may only travel in the clear where the global
     * rule lets it; a user (or its group) cannot lower the bar. */
    if (u->has_password && tls_weaker(eff.tls, pol->tls)) {
        perr(p, u->line,
             "user '%s': tls=%s%s%s is weaker than the global 'tls %s' "
             "(only a user without a password may demand less)",
             u->name, pol_tls_name(eff.tls), u->tls == POL_TLS_UNSET ? " from group " : "",
             u->tls == POL_TLS_UNSET ? pol->groups[u->group].name : "", pol_tls_name(pol->tls));
    }
    if (pol->tls == POL_TLS_OFF && tls_reqs(eff.tls) != 0) {
        perr(p, u->line,
             "user '%s': tls=%s demands TLS, but 'tls off' means AUTH is refused: the user could "
             "never log in",
             u->name, pol_tls_name(eff.tls));
    }
}

static void finish(struct parser *p)
{
    const struct policy *pol = p->pol;

    if (pol->tls != POL_TLS_OFF) {
        if (pol->ncert == 0) {
            perr(p, 0, "missing required directive 'cert' (needed unless 'tls off')");
        }
        if (pol->nkey == 0) {
            perr(p, 0, "missing required directive 'key' (needed unless 'tls off')");
        }
    }
    if (pol->ncert != pol->nkey &&
        (pol->tls == POL_TLS_OFF || (pol->ncert != 0 && pol->nkey != 0))) {
        perr(p, 0, "'cert' given %d times but 'key' %d times (one key per certificate)", pol->ncert,
             pol->nkey);
    }
    if (pol->tls == POL_TLS_OFF && pol->client_cert != POL_CCERT_OFF) {
        perr(p, seen_line(p, "client-cert"), "'client-cert %s' needs TLS, but 'tls off' is set",
             choice_name(ccert_choices, (int)pol->client_cert));
    }
    if (pol->tls == POL_TLS_OFF && pol->implicit) {
        perr(p, seen_line(p, "implicit"), "'implicit on' needs TLS, but 'tls off' is set");
    }
    for (size_t i = 0; i < pol->nusers; i++) {
        check_user(p, &pol->users[i]);
    }
}

/* ----------------------------------------------------------------- public */

void pol_defaults(struct policy *pol)
{
    *pol = (struct policy){
        .path = NULL,
        .client_cert = POL_CCERT_OFF,
        .tls = POL_TLS_AUTH_DATA,
        .tls_min = 12,
        .ciphers = NULL,
        .implicit = false,
        .data_reuse_required = true,
        .renegotiate_client = false,
        .pasv_lo = 0,
        .pasv_hi = 0,
        .has_pasv_address = false,
        .active_peer = false,
        .fxp = false,
        .idle = 300,
        .login_grace = 30,
        .max_tries = 3,
        .umask = 022,
        .upload_atomic = true,
        .log = POL_LOG_SYSLOG,
    };
}

int pol_parse_buf(struct policy *pol, const char *name, const char *text, size_t len,
                  pol_report_fn *report, void *ctx)
{
    struct parser p = {.pol = pol, .report = report, .ctx = ctx};
    char *scratch;
    size_t pos = 0;

    pol_defaults(pol);
    p.name = name != NULL ? name : "policy";
    pol->path = dup_str(p.name);
    if (pol->path == NULL) {
        perr(&p, 0, "out of memory");
        return p.errors;
    }
    if (text == NULL && len != 0) {
        perr(&p, 0, "no policy text");
        return p.errors;
    }
    /* SECURITY: bounds memory and time for whatever is handed to us. */
    if (len > DEFS_POLICY_MAX) {
        perr(&p, 0, "policy is %zu bytes, more than the limit of %d", len, DEFS_POLICY_MAX);
        return p.errors;
    }
    scratch = malloc(2 * len + 2);
    if (scratch == NULL) {
        perr(&p, 0, "out of memory");
        return p.errors;
    }
    while (pos < len) {
        size_t n = 0;

        while (pos + n < len && text[pos + n] != '\n') {
            n++;
        }
        p.line++;
        /* Files edited on Windows end lines with CRLF. */
        parse_line(&p, text + pos, n > 0 && text[pos + n - 1] == '\r' ? n - 1 : n, scratch);
        pos += n + 1;
    }
    free(scratch);
    finish(&p);
    return p.errors;
}

int pol_load(struct policy *pol, const char *path, pol_report_fn *report, void *ctx)
{
    struct parser p = {.pol = pol, .report = report, .ctx = ctx, .name = path};
    struct stat st;
    char *text;
    size_t len = 0;
    int fd, errors;

    pol_defaults(pol);
    if (path == NULL) {
        p.name = "policy";
        perr(&p, 0, "no policy path");
        return p.errors;
    }
    /* Set now so a caller can name the file even when it cannot be read. */
    pol->path = dup_str(path);
    /* SECURITY: O_NOFOLLOW refuses a symlink planted in place of the file;
     * O_NONBLOCK keeps a FIFO from hanging us before fstat refuses it. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ELOOP) {
            perr(&p, 0, "is a symbolic link; give the real file's path");
        } else {
            perr(&p, 0, "cannot open: %s", strerror(errno));
        }
        return p.errors;
    }
    if (fstat(fd, &st) != 0) {
        perr(&p, 0, "cannot stat: %s", strerror(errno));
        close(fd);
        return p.errors;
    }
    if (!S_ISREG(st.st_mode)) {
        perr(&p, 0, "not a regular file");
        close(fd);
        return p.errors;
    }
    /* SECURITY: whoever can write the policy can grant themselves any
     * access; only root (or the account running us) may own and write it. */
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        perr(&p, 0,
             "writable by group or other (mode %04o): anyone could change the policy; "
             "run chmod go-w on it",
             (unsigned)(st.st_mode & 07777));
        close(fd);
        return p.errors;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        perr(&p, 0, "owned by uid %u, not by root: that account could change the policy",
             (unsigned)st.st_uid);
        close(fd);
        return p.errors;
    }
    if (st.st_size > DEFS_POLICY_MAX) {
        perr(&p, 0, "file is %lld bytes, more than the limit of %d", (long long)st.st_size,
             DEFS_POLICY_MAX);
        close(fd);
        return p.errors;
    }
    /* One byte more than the cap, to notice a file that grew after fstat. */
    text = malloc(DEFS_POLICY_MAX + 1);
    if (text == NULL) {
        perr(&p, 0, "out of memory");
        close(fd);
        return p.errors;
    }
    while (len < DEFS_POLICY_MAX + 1) {
        ssize_t r = sys_read(fd, text + len, DEFS_POLICY_MAX + 1 - len);

        if (r < 0) {
            perr(&p, 0, "cannot read: %s", strerror(errno));
            free(text);
            close(fd);
            return p.errors;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    close(fd);
    pol_free(pol);
    errors = pol_parse_buf(pol, path, text, len, report, ctx);
    free(text);
    return errors;
}

void pol_free(struct policy *pol)
{
    free(pol->path);
    for (int i = 0; i < POL_MAX_CERTS; i++) {
        free(pol->cert[i]);
        free(pol->key[i]);
    }
    free(pol->client_ca);
    if (pol->ciphers != NULL) {
        for (size_t i = 0; i < pol->nciphers; i++) {
            free(pol->ciphers[i]);
        }
        free(pol->ciphers);
    }
    free(pol->keylog);
    free(pol->run_as);
    free(pol->chroot);
    free(pol->xferlog);
    free(pol->banner);
    for (size_t i = 0; i < pol->ngroups; i++) {
        free(pol->groups[i].root);
    }
    free(pol->groups);
    if (pol->users != NULL) {
        for (size_t i = 0; i < pol->nusers; i++) {
            free(pol->users[i].root);
        }
        /* Password hashes are offline-crackable: leave none in freed heap. */
        mbedtls_platform_zeroize(pol->users, pol->nusers * sizeof(*pol->users));
        free(pol->users);
    }
    pol_defaults(pol);
}

const struct pol_user *pol_find_user(const struct policy *pol, const char *name)
{
    bool anon;

    if (pol == NULL || name == NULL) {
        return NULL;
    }
    anon = is_anon_name(name);
    for (size_t i = 0; i < pol->nusers; i++) {
        const struct pol_user *u = &pol->users[i];

        if (anon ? u->anonymous : strcmp(u->name, name) == 0) {
            return u;
        }
    }
    return NULL;
}

void pol_effective(const struct policy *pol, const struct pol_user *u, struct pol_effective *out)
{
    const struct pol_group *g = NULL;

    out->root = "/";
    out->access = POL_ACC_DEFAULT;
    out->tls = pol->tls;
    if (u == NULL) {
        return;
    }
    if (u->group >= 0 && (size_t)u->group < pol->ngroups) {
        g = &pol->groups[u->group];
    }
    if (u->root != NULL) {
        out->root = u->root;
    } else if (g != NULL && g->root != NULL) {
        out->root = g->root;
    }
    if (u->access != POL_ACC_UNSET) {
        out->access = u->access;
    } else if (g != NULL && g->access != POL_ACC_UNSET) {
        out->access = g->access;
    }
    if (u->tls != POL_TLS_UNSET) {
        out->tls = (enum pol_tls)u->tls;
    } else if (g != NULL && g->tls != POL_TLS_UNSET) {
        out->tls = (enum pol_tls)g->tls;
    }
}

bool pol_tls_login_required(enum pol_tls t)
{
    return t == POL_TLS_AUTH || t == POL_TLS_CTRL || t == POL_TLS_ON || t == POL_TLS_AUTH_DATA;
}

bool pol_tls_ctrl_required(enum pol_tls t)
{
    return t == POL_TLS_CTRL || t == POL_TLS_ON;
}

bool pol_tls_data_required(enum pol_tls t)
{
    return t == POL_TLS_DATA || t == POL_TLS_ON || t == POL_TLS_AUTH_DATA;
}

enum pol_ccc pol_tls_ccc(enum pol_tls t)
{
    if (t == POL_TLS_OFF) {
        return POL_CCC_TLS_OFF;
    }
    if (pol_tls_ctrl_required(t)) {
        return POL_CCC_REFUSED;
    }
    return POL_CCC_ALLOWED;
}

const char *pol_tls_name(enum pol_tls t)
{
    return choice_name(tls_choices, (int)t);
}

void pol_access_letters(uint32_t access, char *buf, size_t bufsz)
{
    static const char letters[] = "rwadmn";
    size_t o = 0;

    if (bufsz == 0) {
        return;
    }
    for (size_t i = 0; letters[i] != '\0'; i++) {
        if ((access & (1u << i)) != 0 && o + 1 < bufsz) {
            buf[o++] = letters[i];
        }
    }
    buf[o] = '\0';
}

/* Writes a value so the parser reads it back unchanged. */
static void print_value(FILE *out, const char *s)
{
    bool quote = s[0] == '\0';

    for (size_t i = 0; s[i] != '\0'; i++) {
        if (is_blank(s[i]) || s[i] == '"' || s[i] == '#') {
            quote = true;
        }
    }
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            fputc('\\', out);
        }
        fputc(s[i], out);
    }
    fputc('"', out);
}

static void print_str(FILE *out, const char *kw, const char *s)
{
    fprintf(out, "%s ", kw);
    print_value(out, s != NULL ? s : "none");
    fputc('\n', out);
}

static void print_choice(FILE *out, const char *kw, int value)
{
    const struct directive *d = find_directive(kw);

    fprintf(out, "%s %s\n", kw, d != NULL ? choice_name(d->choices, value) : "?");
}

void pol_print(const struct policy *pol, FILE *out)
{
    char acc[8];
    char addr[INET_ADDRSTRLEN];

    if (pol->ncert == 0) {
        print_str(out, "cert", NULL);
    }
    for (int i = 0; i < pol->ncert && i < POL_MAX_CERTS; i++) {
        print_str(out, "cert", pol->cert[i]);
    }
    if (pol->nkey == 0) {
        print_str(out, "key", NULL);
    }
    for (int i = 0; i < pol->nkey && i < POL_MAX_CERTS; i++) {
        print_str(out, "key", pol->key[i]);
    }
    print_str(out, "client-ca", pol->client_ca);
    print_choice(out, "client-cert", (int)pol->client_cert);
    print_choice(out, "tls", (int)pol->tls);
    print_choice(out, "tls-min", pol->tls_min);
    fputs("ciphers", out);
    if (pol->ciphers == NULL) {
        fputs(" default", out);
    }
    for (size_t i = 0; pol->ciphers != NULL && i < pol->nciphers; i++) {
        fputc(' ', out);
        print_value(out, pol->ciphers[i]);
    }
    fputc('\n', out);
    print_choice(out, "implicit", pol->implicit);
    print_choice(out, "data-reuse", pol->data_reuse_required);
    print_choice(out, "renegotiate", pol->renegotiate_client);
    print_str(out, "keylog", pol->keylog);
    print_str(out, "run-as", pol->run_as);
    print_str(out, "chroot", pol->chroot);
    if (pol->pasv_lo == 0 && pol->pasv_hi == 0) {
        fputs("pasv-ports kernel\n", out);
    } else {
        fprintf(out, "pasv-ports %u-%u\n", pol->pasv_lo, pol->pasv_hi);
    }
    if (pol->has_pasv_address &&
        inet_ntop(AF_INET, &pol->pasv_address, addr, sizeof(addr)) != NULL) {
        fprintf(out, "pasv-address %s\n", addr);
    } else {
        fputs("pasv-address none\n", out);
    }
    print_choice(out, "active", pol->active_peer);
    print_choice(out, "fxp", pol->fxp);
    fprintf(out, "idle %u\n", pol->idle);
    fprintf(out, "login-grace %u\n", pol->login_grace);
    fprintf(out, "max-tries %u\n", pol->max_tries);
    fprintf(out, "umask %03o\n", (unsigned)pol->umask);
    print_choice(out, "upload", pol->upload_atomic);
    print_choice(out, "log", (int)pol->log);
    print_str(out, "xferlog", pol->xferlog);
    print_str(out, "banner", pol->banner);

    for (size_t i = 0; i < pol->nusers; i++) {
        const struct pol_user *u = &pol->users[i];
        struct pol_effective eff;
        const char *login;

        pol_effective(pol, u, &eff);
        pol_access_letters(eff.access, acc, sizeof(acc));
        if (u->anonymous) {
            login = "anonymous";
        } else if (u->has_password && u->has_cert) {
            login = "password+cert";
        } else if (u->has_cert) {
            login = "cert";
        } else {
            login = "password";
        }
        fprintf(out, "user %s root=", u->name);
        print_value(out, eff.root);
        fprintf(out, " access=%s tls=%s login=%s", acc, pol_tls_name(eff.tls), login);
        if (u->group >= 0 && (size_t)u->group < pol->ngroups) {
            fprintf(out, " group=%s", pol->groups[u->group].name);
        }
        fputc('\n', out);
    }
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
