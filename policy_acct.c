/* policy_acct.c — `user` and `group` lines, and what they mean.
 *
 * A user or group line is a name and `key=value` pairs; one table of keys
 * serves both, each key saying where it may appear. A user's own keys win
 * over its group's, which win over the defaults: pol_effective() applies
 * that order, and everything else (the session, `-t`, the whole-file checks
 * here) reads a user through it. The anonymous user (`anonymous`, alias
 * `ftp`) takes any password and may have no secret.
 */
#include "policy_priv.h"

#include <stdlib.h>
#include <string.h>

#include "sys.h"

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

/* ------------------------------------------------------------------ keys */

/* The line being parsed: one key table serves users and groups, whose
 * shared keys land in `rules`. */
struct acct {
    struct pol_user *user; /* NULL on a group line */
    struct pol_rules *rules;
};

/* Every key unset (root and home NULL). */
static const struct pol_rules rules_unset = {.access = POL_ACC_UNSET,
                                             .tls = POL_TLS_UNSET,
                                             .rate_down = POL_RATE_UNSET,
                                             .rate_up = POL_RATE_UNSET};

enum { ON_USER = 1, ON_GROUP = 2 };

typedef bool key_fn(struct pol_parser *p, struct acct *a, const char *val);

struct acct_key {
    const char *name;
    unsigned where;
    key_fn *set;
};

static bool key_password(struct pol_parser *p, struct acct *a, const char *val)
{
    const char *why = NULL;

    if (a->user->anonymous) {
        pol_error(p, p->line,
                  "user '%s' is the anonymous user, who takes any password: remove password=",
                  a->user->name);
        return false;
    }
    if (!pol_parse_pbkdf2(val, &a->user->password, &why)) {
        pol_error(p, p->line, "user '%s': bad password= (%s)", a->user->name, why);
        return false;
    }
    a->user->has_password = true;
    return true;
}

static bool key_cert(struct pol_parser *p, struct acct *a, const char *val)
{
    if (a->user->anonymous) {
        pol_error(p, p->line, "user '%s' is the anonymous user, who needs no cert=: remove it",
                  a->user->name);
        return false;
    }
    if (!pol_parse_fingerprint(val, a->user->cert_sha256)) {
        pol_error(p, p->line,
                  "user '%s': bad cert= '%." DEFS_POLICY_SHOW "s' (sha256: and 64 hex digits)",
                  a->user->name, val);
        return false;
    }
    a->user->has_cert = true;
    return true;
}

static bool key_root(struct pol_parser *p, struct acct *a, const char *val)
{
    /* SECURITY: the root is joined to the chroot by path.c; an absolute path
     * without `..` cannot name anything outside it however it is joined. */
    if (val[0] != '/' || has_dotdot_component(val) || strlen(val) >= DEFS_PATH_MAX) {
        pol_error(p, p->line,
                  "bad root= '%." DEFS_POLICY_SHOW "s' (an absolute path inside chroot, no '..')",
                  val);
        return false;
    }
    return pol_copy(p, val, &a->rules->root);
}

static bool key_home(struct pol_parser *p, struct acct *a, const char *val)
{
    char home[DEFS_PATH_MAX];

    if (!pol_parse_home(val, home, sizeof(home))) {
        pol_error(p, p->line,
                  "bad home= '%." DEFS_POLICY_SHOW
                  "s' (a directory inside root=, absolute or relative to it; '..' may not "
                  "leave it)",
                  val);
        return false;
    }
    return pol_copy(p, home, &a->rules->home);
}

static bool key_rate(struct pol_parser *p, struct acct *a, const char *val)
{
    if (!pol_parse_rate(val, &a->rules->rate_down, &a->rules->rate_up)) {
        pol_error(p, p->line,
                  "bad rate= '%." DEFS_POLICY_SHOW
                  "s' (DOWN/UP bytes per second, each 0 for no limit up to 4096M, with an "
                  "optional K or M suffix, like 512K/128K)",
                  val);
        return false;
    }
    return true;
}

static bool key_access(struct pol_parser *p, struct acct *a, const char *val)
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
            pol_error(p, p->line,
                      "bad access= '%." DEFS_POLICY_SHOW
                      "s' (each of the letters r w a d m n at most once)",
                      val);
            return false;
        }
        acc |= bit;
    }
    a->rules->access = acc;
    return true;
}

static bool key_tls(struct pol_parser *p, struct acct *a, const char *val)
{
    const struct pol_choice *c = pol_choice_find(pol_tls_choices, val);

    if (c == NULL) {
        pol_bad_choice(p, "tls=", pol_tls_choices, val);
        return false;
    }
    a->rules->tls = c->value;
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

static bool key_group(struct pol_parser *p, struct acct *a, const char *val)
{
    int g = find_group(p->pol, val);

    if (g < 0) {
        pol_error(p, p->line,
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
    {"home", ON_USER | ON_GROUP, key_home}, {"rate", ON_USER | ON_GROUP, key_rate},
};

/* pol_acct_line marks the keys it has seen in the bits of an unsigned. */
_Static_assert(POL_ARRAY_LEN(acct_keys) <= sizeof(unsigned) * 8, "too many keys for `seen`");

/* Appends a zeroed element to *arr, which holds *n of `elem` bytes in room
 * for *cap, capacity doubling up to max. Returns it, or NULL after reporting
 * "too many WHAT" or running out of memory. */
static void *append(struct pol_parser *p, void **arr, size_t *n, size_t *cap, size_t elem,
                    size_t max, const char *what)
{
    unsigned char *e;

    if (*n >= max) {
        pol_error(p, p->line, "too many %s (at most %zu)", what, max);
        return NULL;
    }
    if (*n >= *cap) {
        size_t ncap = *cap != 0 ? *cap * 2 : 8;
        void *na;

        if (ncap > max) {
            ncap = max;
        }
        na = realloc(*arr, ncap * elem);
        if (na == NULL) {
            pol_error(p, p->line, "out of memory");
            return NULL;
        }
        *arr = na;
        *cap = ncap;
    }
    e = (unsigned char *)*arr + *n * elem;
    memset(e, 0, elem);
    (*n)++;
    return e;
}

static bool add_group(struct pol_parser *p, const char *name, struct acct *a)
{
    struct policy *pol = p->pol;
    void *arr = pol->groups;
    int other = find_group(pol, name);
    struct pol_group *g;

    if (other >= 0) {
        pol_error(p, p->line, "duplicate group '%s' (first on line %d)", name,
                  pol->groups[other].line);
        return false;
    }
    g = append(p, &arr, &pol->ngroups, &p->groups_cap, sizeof(*g), DEFS_POLICY_GROUPS_MAX,
               "groups");
    pol->groups = arr;
    if (g == NULL) {
        return false;
    }
    g->line = p->line;
    g->rules = rules_unset;
    sys_copy(g->name, sizeof(g->name), name);
    *a = (struct acct){.user = NULL, .rules = &g->rules};
    return true;
}

static bool add_user(struct pol_parser *p, const char *name, struct acct *a)
{
    struct policy *pol = p->pol;
    void *arr = pol->users;
    bool anon = is_anon_name(name);
    struct pol_user *u;

    for (size_t i = 0; i < pol->nusers; i++) {
        if (strcmp(pol->users[i].name, name) == 0) {
            pol_error(p, p->line, "duplicate user '%s' (first on line %d)", name,
                      pol->users[i].line);
            return false;
        }
        if (anon && pol->users[i].anonymous) {
            pol_error(
                p, p->line,
                "duplicate user '%s': 'anonymous' and 'ftp' are the same user (first on line %d)",
                name, pol->users[i].line);
            return false;
        }
    }
    u = append(p, &arr, &pol->nusers, &p->users_cap, sizeof(*u), DEFS_POLICY_USERS_MAX, "users");
    pol->users = arr;
    if (u == NULL) {
        return false;
    }
    u->line = p->line;
    u->anonymous = anon;
    u->rules = rules_unset;
    u->group = -1;
    sys_copy(u->name, sizeof(u->name), name);
    *a = (struct acct){.user = u, .rules = &u->rules};
    return true;
}

/* `user NAME key=value ...` and `group NAME key=value ...`. The user or
 * group is added even when a key is bad, so later lines do not report it
 * again as undefined. */
void pol_acct_line(struct pol_parser *p, char **tok, size_t ntok, bool is_group)
{
    const char *what = is_group ? "group" : "user";
    unsigned where = is_group ? ON_GROUP : ON_USER;
    unsigned seen = 0;
    struct acct a;

    if (ntok < 2) {
        pol_error(p, p->line, "'%s' needs a name", what);
        return;
    }
    if (!pol_valid_name(tok[1])) {
        pol_error(p, p->line,
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
            pol_error(p, p->line, "expected key=value on a %s line, got '%." DEFS_POLICY_SHOW "s'",
                      what, tok[i]);
            continue;
        }
        *eq = '\0';
        for (ki = 0; ki < POL_ARRAY_LEN(acct_keys); ki++) {
            if (strcmp(acct_keys[ki].name, tok[i]) == 0 && (acct_keys[ki].where & where) != 0) {
                k = &acct_keys[ki];
                break;
            }
        }
        if (k == NULL) {
            pol_error(p, p->line, "unknown key '%." DEFS_POLICY_SHOW "s=' on a %s line", tok[i],
                      what);
            continue;
        }
        if ((seen & (1u << ki)) != 0) {
            pol_error(p, p->line, "key '%s=' given twice", k->name);
            continue;
        }
        seen |= 1u << ki;
        if (eq[1] == '\0') {
            pol_error(p, p->line, "'%s=' needs a value", k->name);
            continue;
        }
        k->set(p, &a, eq + 1);
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

static void check_user(struct pol_parser *p, const struct pol_user *u)
{
    const struct policy *pol = p->pol;
    struct pol_effective eff;

    pol_effective(pol, u, &eff);
    if (!u->anonymous && !u->has_password && !u->has_cert) {
        pol_error(p, u->line, "user '%s' has neither password= nor cert= and could never log in",
                  u->name);
    }
    if (u->has_cert && pol->client_cert == POL_CCERT_OFF) {
        pol_error(p, u->line,
                  "user '%s': cert= needs 'client-cert optional' or 'client-cert required'",
                  u->name);
    }
    /* SECURITY: a password may only travel in the clear where the global
     * rule lets it; a user (or its group) cannot lower the bar. */
    if (u->has_password && tls_weaker(eff.tls, pol->tls)) {
        pol_error(p, u->line,
                  "user '%s': tls=%s%s%s is weaker than the global 'tls %s' "
                  "(only a user without a password may demand less)",
                  u->name, pol_tls_name(eff.tls),
                  u->rules.tls == POL_TLS_UNSET ? " from group " : "",
                  u->rules.tls == POL_TLS_UNSET ? pol->groups[u->group].name : "",
                  pol_tls_name(pol->tls));
    }
    if (pol->tls == POL_TLS_OFF && tls_reqs(eff.tls) != 0) {
        pol_error(
            p, u->line,
            "user '%s': tls=%s demands TLS, but 'tls off' means AUTH is refused: the user could "
            "never log in",
            u->name, pol_tls_name(eff.tls));
    }
}

void pol_check_users(struct pol_parser *p)
{
    for (size_t i = 0; i < p->pol->nusers; i++) {
        check_user(p, &p->pol->users[i]);
    }
}

/* ----------------------------------------------------------------- lookup */

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

/* Lays the keys r sets over out. */
static void apply_rules(const struct pol_rules *r, struct pol_effective *out)
{
    if (r->root != NULL) {
        out->root = r->root;
    }
    if (r->access != POL_ACC_UNSET) {
        out->access = r->access;
    }
    if (r->tls != POL_TLS_UNSET) {
        out->tls = (enum pol_tls)r->tls;
    }
    if (r->home != NULL) {
        out->home = r->home;
    }
    if (r->rate_down != POL_RATE_UNSET) {
        out->rate_down = r->rate_down;
        out->rate_up = r->rate_up;
    }
}

void pol_effective(const struct policy *pol, const struct pol_user *u, struct pol_effective *out)
{
    out->root = "/";
    out->home = "/";
    out->access = POL_ACC_DEFAULT;
    out->tls = pol->tls;
    out->rate_down = 0;
    out->rate_up = 0;
    if (u == NULL) {
        return;
    }
    /* The group's keys first, so the user's own win. */
    if (u->group >= 0 && (size_t)u->group < pol->ngroups) {
        apply_rules(&pol->groups[u->group].rules, out);
    }
    apply_rules(&u->rules, out);
}

/* The `-t` warning about password hashes of different costs. */
static void warn_iterations(const struct policy *pol, pol_report_fn *report, void *ctx)
{
    uint32_t lo = 0, hi = 0;
    for (size_t i = 0; i < pol->nusers; i++) {
        const struct pol_user *u = &pol->users[i];
        if (!u->has_password) {
            continue;
        }
        uint32_t n = u->password.iterations;
        lo = lo == 0 || n < lo ? n : lo;
        hi = n > hi ? n : hi;
    }
    if (lo != hi) {
        char msg[DEFS_POLICY_MSG_MAX];
        (void)sys_fmt(msg, sizeof msg,
                      "warning: the users' password hashes use different iteration counts "
                      "(%u to %u): every wrong password costs %u, so that names cannot be told "
                      "apart by timing, and a lower count buys no speed; hash them all with "
                      "one count (ftpsd-inetd --hash-password -i N)",
                      (unsigned)lo, (unsigned)hi, (unsigned)hi);
        report(ctx, pol->path, 0, msg);
    }
}

/* The `-t` warning about a policy that lets some names log in in the clear
 * while others' rules demand TLS: an unknown name is answered like the
 * latter, so the former can be told from it (they are asked for a
 * password). */
static void warn_clear_mix(const struct policy *pol, pol_report_fn *report, void *ctx)
{
    const char *clear = NULL, *strict = NULL;
    for (size_t i = 0; i < pol->nusers; i++) {
        const struct pol_user *u = &pol->users[i];
        struct pol_effective eff;
        pol_effective(pol, u, &eff);
        if (pol_tls_login_required(eff.tls)) {
            strict = strict ? strict : u->name;
        } else if (!u->anonymous) {
            clear = clear ? clear : u->name;
        }
    }
    if (clear && strict) {
        char msg[DEFS_POLICY_MSG_MAX];
        (void)sys_fmt(msg, sizeof msg,
                      "warning: user '%s' may log in without TLS while the rule of user '%s' "
                      "demands it: in the clear, unknown names are refused like '%s', so names "
                      "that may log in without TLS can be told from unknown ones",
                      clear, strict, strict);
        report(ctx, pol->path, 0, msg);
    }
}

void pol_warnings(const struct policy *pol, pol_report_fn *report, void *ctx)
{
    warn_iterations(pol, report, ctx);
    warn_clear_mix(pol, report, ctx);
}
