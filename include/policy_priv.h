/* What the policy files share and no other module needs: the parser's
 * state and its error reporting, the keyword tables of choice values, and
 * the pieces one policy file calls in another. Only policy*.c (and the
 * policy unit tests) include this; every other module reads policy.h.
 *
 *   policy.c        the directive table, the line parser, whole-file checks
 *   policy_acct.c   `user` and `group` lines, pol_find_user, pol_effective
 *   policy_print.c  the `-t` report
 *   policy_value.c  strict, bounded parsers of single values
 */
#ifndef FTPSD_POLICY_PRIV_H
#define FTPSD_POLICY_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "defs.h"
#include "policy.h"

#define POL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- choices */

/* One keyword of a choice value and what it stores. A list ends with a NULL
 * name; its first entry is the default (SPEC §2 lists it first). */
struct pol_choice {
    const char *name;
    int value;
};

/* The values of `tls` and `tls=`. */
extern const struct pol_choice pol_tls_choices[];
/* The algorithm names of `hash`, spelled as the HASH command spells them. */
extern const struct pol_choice pol_hash_choices[];

/* The entry named `name` (exact match), or NULL. */
const struct pol_choice *pol_choice_find(const struct pol_choice *c, const char *name);
/* The keyword of `value`, or "?" if the list has none. */
const char *pol_choice_name(const struct pol_choice *c, int value);
/* The choice list of the directive `kw`; NULL if it takes no choice. */
const struct pol_choice *pol_directive_choices(const char *kw);

/* -------------------------------------------------------------- parser */

/* One parse of one policy text. */
struct pol_parser {
    struct policy *pol;
    const char *name; /* file name for messages */
    pol_report_fn *report;
    void *ctx;
    int line; /* current line, 1-based */
    int errors;
    unsigned seen_count[DEFS_POLICY_DIRECTIVES_MAX];
    int seen_line[DEFS_POLICY_DIRECTIVES_MAX]; /* first line, 0 = never */
    size_t users_cap, groups_cap;
};

/* Counts and reports one error at `line` (0: the file as a whole). */
void pol_error(struct pol_parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports a value that is none of c's keywords, listing them. */
void pol_bad_choice(struct pol_parser *p, const char *kw, const struct pol_choice *c,
                    const char *got);
/* Puts a malloc'ed copy of s in *dst; reports running out of memory. */
/* A malloc copy of s, or NULL. */
char *pol_dup(const char *s);
bool pol_copy(struct pol_parser *p, const char *s, char **dst);

/* The blanks that separate values on a policy line. */
static inline bool pol_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* ---------------------------------------------------------- directives */

/* How a directive's values are checked (policy_value.c has one checker a
 * kind). */
enum pol_kind {
    POL_K_PATH,    /* host path, any form */
    POL_K_ABSPATH, /* host path starting with '/' */
    POL_K_ACCOUNT, /* account name */
    POL_K_CHOICE,  /* one of d->choices */
    POL_K_NUMBER,  /* decimal in [lo, hi] */
    POL_K_OCTAL,   /* octal in [lo, hi] */
    POL_K_PORTS,   /* LOW-HIGH or kernel */
    POL_K_PASV,    /* PUBLIC [PRIVATE]: IPv4 addresses or host names */
    POL_K_TEXT,    /* free text (quoted when it has blanks) */
    POL_K_CIPHERS, /* default, or a list of names */
    POL_K_HASH,    /* off, or a list of algorithm names */
    POL_K_LIMIT,   /* decimal in [lo, hi], or none (0) */
    POL_K_SIZE,    /* bytes with an optional K, M or G suffix in [lo, hi], or none (0) */
};

/* A value after its kind's checks, waiting for the directive's store. */
struct pol_value {
    int choice;
    uint64_t num;
    char *str;
    char **list;
    size_t nlist;
    unsigned lo, hi;
    struct pol_pasv_addr pasv[2]; /* public, private */
    enum pol_hash_algo hash[POL_HASH_ALGOS];
    unsigned nhash;
};

/* Puts a checked value into the policy; takes over what v owns. */
typedef void pol_store_fn(struct policy *pol, struct pol_value *v);

/* One row of the grammar (policy.c's directives[]). */
struct pol_directive {
    const char *kw;
    enum pol_kind kind;
    unsigned max_count;               /* times it may appear in one file */
    const struct pol_choice *choices; /* POL_K_CHOICE */
    uint64_t lo, hi;                  /* POL_K_NUMBER, POL_K_OCTAL, POL_K_LIMIT */
    pol_store_fn *store;
};

/* How many values a directive of this kind takes (at least one). */
unsigned pol_kind_max_values(enum pol_kind kind);
/* Checks the n values of directive d (1 <= n <= its kind's maximum) and
 * fills v; reports and returns false on a bad value. v owns whatever it
 * allocated either way (pol_value_free releases it). */
bool pol_check_value(struct pol_parser *p, const struct pol_directive *d, char **vals, size_t n,
                     struct pol_value *v);
void pol_value_free(struct pol_value *v);

/* ------------------------------------------------- users and groups */

/* Parses `user NAME key=value ...` (is_group false) or `group NAME ...`. */
void pol_acct_line(struct pol_parser *p, char **tok, size_t ntok, bool is_group);
/* The whole-file checks of each user: a way to log in, cert= against
 * client-cert, tls= against the global rule. */
void pol_check_users(struct pol_parser *p);

/* -------------------------------------------------------------- values */

/* User, group and account names: 1 to DEFS_NAME_MAX - 1 of A-Z a-z 0-9 . _ -,
 * not starting with '-'. */
bool pol_valid_name(const char *s);
/* A host name as RFC 1123 writes it: labels of 1 to DEFS_DNS_LABEL_MAX
 * letters, digits and '-' (not first or last), joined by '.', at most
 * DEFS_DNS_NAME_MAX in all; the last label starts with a letter, so that
 * no mistyped IPv4 address passes for a name. */
bool pol_valid_hostname(const char *s);
/* `rate=DOWN/UP`: each a decimal count of bytes per second with an
 * optional K (1024) or M (1048576) suffix, 0 (no limit) to DEFS_RATE_MAX. */
bool pol_parse_rate(const char *s, uint64_t *down, uint64_t *up);
/* A byte count: decimal with an optional K (1024), M (1024^2) or G
 * (1024^3) suffix, at most max. */
bool pol_parse_size(const char *s, uint64_t max, uint64_t *out);
/* `home=`: a directory inside root=, absolute or relative to it, normalised
 * as path_normalize() does a client path into out (outsz bytes). False on a
 * '..' that would leave root=, or what path_normalize refuses. */
bool pol_parse_home(const char *s, char *out, size_t outsz);
/* `LOW-HIGH` (DEFS_PORT_UNPRIVILEGED_MIN <= LOW <= HIGH <= DEFS_PORT_MAX), or
 * `kernel` for 0-0. */
bool pol_parse_ports(const char *s, unsigned *lo, unsigned *hi);

#endif
