/* policy.c — the policy file of SPEC §2 and §5: its grammar.
 *
 * One strict, table-driven parser: the file is read whole (size-capped) and
 * split into lines; each line into blank-separated tokens (with `"` quoting);
 * the first token selects a row of `directives[]`, whose kind says how its
 * values are checked and whose store function puts the typed result into
 * `struct policy`. `user` and `group` lines go to policy_acct.c, single
 * values to the strict parsers of policy_value.c, and the `-t` report is
 * policy_print.c. Checks that need the whole file (required directives,
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
#include "policy_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mbedtls/platform_util.h"

#include "sys.h"
#include "sys_fs.h"

/* ---------------------------------------------------------------- choices */

/* The first entry of each list is the default (SPEC §2 lists it first). */
static const struct pol_choice onoff_choices[] = {{"off", 0}, {"on", 1}, {NULL, 0}};
static const struct pol_choice ccert_choices[] = {
    {"off", POL_CCERT_OFF},
    {"optional", POL_CCERT_OPTIONAL},
    {"required", POL_CCERT_REQUIRED},
    {NULL, 0},
};
static const struct pol_choice tlsmin_choices[] = {{"1.2", 12}, {"1.3", 13}, {NULL, 0}};
static const struct pol_choice tlsmax_choices[] = {{"1.3", 13}, {"1.2", 12}, {NULL, 0}};
static const struct pol_choice ktls_choices[] = {{"auto", 1}, {"off", 0}, {NULL, 0}};
static const struct pol_choice sandbox_choices[] = {{"on", 1}, {"off", 0}, {NULL, 0}};
static const struct pol_choice reuse_choices[] = {{"required", 1}, {"optional", 0}, {NULL, 0}};
static const struct pol_choice reneg_choices[] = {{"off", 0}, {"client", 1}, {NULL, 0}};
static const struct pol_choice active_choices[] = {{"off", 0}, {"peer", 1}, {NULL, 0}};
static const struct pol_choice upload_choices[] = {{"atomic", 1}, {"direct", 0}, {NULL, 0}};
static const struct pol_choice log_choices[] = {
    {"syslog", POL_LOG_SYSLOG},
    {"stderr", POL_LOG_STDERR},
    {"none", POL_LOG_NONE},
    {NULL, 0},
};
static const struct pol_choice level_choices[] = {
    {"info", POL_LEVEL_INFO},
    {"error", POL_LEVEL_ERROR},
    {"warn", POL_LEVEL_WARN},
    {"debug", POL_LEVEL_DEBUG},
    {NULL, 0},
};
/* ------------------------------------------------------------- store funcs */

/* A string the directive's check copied (v->str), taken over. */
#define STORE_STR(fn, field)                                                                       \
    static void fn(struct policy *pol, struct pol_value *v)                                        \
    {                                                                                              \
        free(pol->field);                                                                          \
        pol->field = v->str;                                                                       \
        v->str = NULL;                                                                             \
    }

/* A choice stored as a yes/no flag (a choice's value is 1 or 0). */
#define STORE_FLAG(fn, field)                                                                      \
    static void fn(struct policy *pol, struct pol_value *v)                                        \
    {                                                                                              \
        pol->field = v->choice != 0;                                                               \
    }

/* A number checked against the directive's bounds, which fit `unsigned`. */
#define STORE_UINT(fn, field)                                                                      \
    static void fn(struct policy *pol, struct pol_value *v)                                        \
    {                                                                                              \
        pol->field = (unsigned)v->num;                                                             \
    }

STORE_STR(st_client_ca, client_ca)
STORE_STR(st_keylog, keylog)
STORE_STR(st_run_as, run_as)
STORE_STR(st_chroot, chroot)
STORE_STR(st_runtime_dir, runtime_dir)
STORE_STR(st_xferlog, xferlog)
STORE_STR(st_banner, banner)
STORE_FLAG(st_implicit, implicit)
STORE_FLAG(st_data_reuse, data_reuse_required)
STORE_FLAG(st_renegotiate, renegotiate_client)
STORE_FLAG(st_ktls, ktls)
STORE_FLAG(st_sandbox, sandbox)
STORE_FLAG(st_active, active_peer)
STORE_FLAG(st_fxp, fxp)
STORE_FLAG(st_upload, upload_atomic)
STORE_UINT(st_idle, idle)
STORE_UINT(st_login_grace, login_grace)
STORE_UINT(st_max_tries, max_tries)
STORE_UINT(st_max_sessions, max_sessions)
STORE_UINT(st_max_per_ip, max_per_ip)

static void st_cert(struct policy *pol, struct pol_value *v)
{
    if (pol->ncert < POL_MAX_CERTS) {
        pol->cert[pol->ncert++] = v->str;
        v->str = NULL;
    }
}

static void st_key(struct policy *pol, struct pol_value *v)
{
    if (pol->nkey < POL_MAX_CERTS) {
        pol->key[pol->nkey++] = v->str;
        v->str = NULL;
    }
}

static void st_client_cert(struct policy *pol, struct pol_value *v)
{
    pol->client_cert = (enum pol_client_cert)v->choice;
}
static void st_tls(struct policy *pol, struct pol_value *v)
{
    pol->tls = (enum pol_tls)v->choice;
}
static void st_tls_min(struct policy *pol, struct pol_value *v)
{
    pol->tls_min = v->choice;
}
static void st_tls_max(struct policy *pol, struct pol_value *v)
{
    pol->tls_max = v->choice;
}
static void st_log(struct policy *pol, struct pol_value *v)
{
    pol->log = (enum pol_log)v->choice;
}
static void st_log_level(struct policy *pol, struct pol_value *v)
{
    pol->log_level = (enum pol_log_level)v->choice;
}
static void st_umask(struct policy *pol, struct pol_value *v)
{
    pol->umask = (mode_t)v->num;
}

static void st_pasv_ports(struct policy *pol, struct pol_value *v)
{
    pol->pasv_lo = v->lo;
    pol->pasv_hi = v->hi;
}

static void st_pasv_address(struct policy *pol, struct pol_value *v)
{
    pol->pasv_public = v->pasv[0];
    pol->pasv_private = v->pasv[1];
    v->pasv[0].name = v->pasv[1].name = NULL;
}

static void st_hash(struct policy *pol, struct pol_value *v)
{
    memcpy(pol->hash, v->hash, sizeof(pol->hash));
    pol->nhash = v->nhash;
}

static void st_hash_limit(struct policy *pol, struct pol_value *v)
{
    pol->hash_limit = v->num;
}

static void st_ciphers(struct policy *pol, struct pol_value *v)
{
    pol->ciphers = v->list;
    pol->nciphers = v->nlist;
    v->list = NULL;
    v->nlist = 0;
}

/* The grammar of SPEC §2, one row per directive. pol_print follows the same
 * order. */
static const struct pol_directive directives[] = {
    {"cert", POL_K_PATH, POL_MAX_CERTS, NULL, 0, 0, st_cert},
    {"key", POL_K_PATH, POL_MAX_CERTS, NULL, 0, 0, st_key},
    {"client-ca", POL_K_PATH, 1, NULL, 0, 0, st_client_ca},
    {"client-cert", POL_K_CHOICE, 1, ccert_choices, 0, 0, st_client_cert},
    {"tls", POL_K_CHOICE, 1, pol_tls_choices, 0, 0, st_tls},
    {"tls-min", POL_K_CHOICE, 1, tlsmin_choices, 0, 0, st_tls_min},
    {"tls-max", POL_K_CHOICE, 1, tlsmax_choices, 0, 0, st_tls_max},
    {"ciphers", POL_K_CIPHERS, 1, NULL, 0, 0, st_ciphers},
    {"implicit", POL_K_CHOICE, 1, onoff_choices, 0, 0, st_implicit},
    {"data-reuse", POL_K_CHOICE, 1, reuse_choices, 0, 0, st_data_reuse},
    {"renegotiate", POL_K_CHOICE, 1, reneg_choices, 0, 0, st_renegotiate},
    {"ktls", POL_K_CHOICE, 1, ktls_choices, 0, 0, st_ktls},
    {"keylog", POL_K_PATH, 1, NULL, 0, 0, st_keylog},
    {"run-as", POL_K_ACCOUNT, 1, NULL, 0, 0, st_run_as},
    {"chroot", POL_K_ABSPATH, 1, NULL, 0, 0, st_chroot},
    {"sandbox", POL_K_CHOICE, 1, sandbox_choices, 0, 0, st_sandbox},
    {"pasv-ports", POL_K_PORTS, 1, NULL, 0, 0, st_pasv_ports},
    {"pasv-address", POL_K_PASV, 1, NULL, 0, 0, st_pasv_address},
    {"active", POL_K_CHOICE, 1, active_choices, 0, 0, st_active},
    {"fxp", POL_K_CHOICE, 1, onoff_choices, 0, 0, st_fxp},
    {"hash", POL_K_HASH, 1, NULL, 0, 0, st_hash},
    {"hash-limit", POL_K_SIZE, 1, NULL, 1, DEFS_HASH_LIMIT_MAX, st_hash_limit},
    {"idle", POL_K_NUMBER, 1, NULL, 1, DEFS_POLICY_SECONDS_MAX, st_idle},
    {"login-grace", POL_K_NUMBER, 1, NULL, 1, DEFS_POLICY_SECONDS_MAX, st_login_grace},
    {"max-tries", POL_K_NUMBER, 1, NULL, 1, DEFS_POLICY_TRIES_MAX, st_max_tries},
    {"max-sessions", POL_K_LIMIT, 1, NULL, 1, DEFS_SESSIONS_MAX, st_max_sessions},
    {"max-per-ip", POL_K_LIMIT, 1, NULL, 1, DEFS_SESSIONS_MAX, st_max_per_ip},
    {"runtime-dir", POL_K_ABSPATH, 1, NULL, 0, 0, st_runtime_dir},
    {"umask", POL_K_OCTAL, 1, NULL, 0, 0777, st_umask},
    {"upload", POL_K_CHOICE, 1, upload_choices, 0, 0, st_upload},
    {"log", POL_K_CHOICE, 1, log_choices, 0, 0, st_log},
    {"log-level", POL_K_CHOICE, 1, level_choices, 0, 0, st_log_level},
    {"xferlog", POL_K_PATH, 1, NULL, 0, 0, st_xferlog},
    {"banner", POL_K_TEXT, 1, NULL, 0, 0, st_banner},
};

_Static_assert(POL_ARRAY_LEN(directives) <= DEFS_POLICY_DIRECTIVES_MAX,
               "raise DEFS_POLICY_DIRECTIVES_MAX");

static const struct pol_directive *find_directive(const char *kw)
{
    for (size_t i = 0; i < POL_ARRAY_LEN(directives); i++) {
        if (strcmp(directives[i].kw, kw) == 0) {
            return &directives[i];
        }
    }
    return NULL;
}

static int directive_index(const char *kw)
{
    const struct pol_directive *d = find_directive(kw);

    return d != NULL ? (int)(d - directives) : -1;
}

const struct pol_choice *pol_directive_choices(const char *kw)
{
    const struct pol_directive *d = find_directive(kw);

    return d != NULL ? d->choices : NULL;
}

/* ------------------------------------------------------------ directives */

static void parse_directive(struct pol_parser *p, char **tok, size_t ntok)
{
    const struct pol_directive *d = find_directive(tok[0]);
    struct pol_value v = {0};
    size_t idx;

    if (d == NULL) {
        pol_error(p, p->line, "unknown directive '%." DEFS_POLICY_SHOW "s'", tok[0]);
        return;
    }
    idx = (size_t)(d - directives);
    if (p->seen_count[idx] >= d->max_count) {
        if (d->max_count > 1) {
            pol_error(p, p->line, "'%s' given more than %u times (first on line %d)", d->kw,
                      d->max_count, p->seen_line[idx]);
        } else {
            pol_error(p, p->line, "duplicate directive '%s' (first on line %d)", d->kw,
                      p->seen_line[idx]);
        }
        return;
    }
    p->seen_count[idx]++;
    if (p->seen_line[idx] == 0) {
        p->seen_line[idx] = p->line;
    }
    if (ntok < 2) {
        pol_error(p, p->line, "'%s' needs a value", d->kw);
        return;
    }
    if (ntok - 1 > pol_kind_max_values(d->kind)) {
        if (pol_kind_max_values(d->kind) == 1) {
            pol_error(p, p->line, "'%s' takes one value, got %zu (quote a value that has blanks)",
                      d->kw, ntok - 1);
        } else {
            pol_error(p, p->line, "'%s' takes at most %u values, got %zu", d->kw,
                      pol_kind_max_values(d->kind), ntok - 1);
        }
        return;
    }
    if (pol_check_value(p, d, tok + 1, ntok - 1, &v)) {
        d->store(p->pol, &v);
    }
    pol_value_free(&v);
}

/* ------------------------------------------------------------------ lines */

/* Splits one line (no newline) into tokens in scratch, which has room for
 * 2 * len + 2 bytes (every token costs at most its input plus a NUL). */
static size_t tokenize(struct pol_parser *p, const char *s, size_t len, char *scratch, char **tok)
{
    size_t i = 0, o = 0, n = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        /* SECURITY: values reach replies (banner), logs and file names; a
         * NUL would cut a value short behind the parser's back and CR/LF or
         * other control bytes would let a value inject reply lines. */
        if (c == '\0') {
            pol_error(p, p->line, "NUL byte in line");
            return 0;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            pol_error(p, p->line, "control character 0x%02x in line", c);
            return 0;
        }
    }
    i = 0;
    for (;;) {
        while (i < len && pol_is_blank(s[i])) {
            i++;
        }
        if (i >= len || s[i] == '#') {
            break;
        }
        if (n == DEFS_POLICY_TOKENS_MAX) {
            pol_error(p, p->line, "too many values on one line (at most %d)",
                      DEFS_POLICY_VALUES_MAX);
            return 0;
        }
        tok[n++] = scratch + o;
        while (i < len && !pol_is_blank(s[i]) && s[i] != '#') {
            if (s[i] != '"') {
                scratch[o++] = s[i++];
                continue;
            }
            for (i++;; i++) {
                if (i >= len) {
                    pol_error(p, p->line, "unterminated quote");
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
                        pol_error(p, p->line,
                                  "bad escape in quotes (only \\\" and \\\\ are known)");
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

static void parse_line(struct pol_parser *p, const char *s, size_t len, char *scratch)
{
    char *tok[DEFS_POLICY_TOKENS_MAX];
    size_t n = tokenize(p, s, len, scratch, tok);

    if (n == 0) {
        return;
    }
    if (strcmp(tok[0], "user") == 0) {
        pol_acct_line(p, tok, n, false);
    } else if (strcmp(tok[0], "group") == 0) {
        pol_acct_line(p, tok, n, true);
    } else {
        parse_directive(p, tok, n);
    }
}

/* ------------------------------------------------------- whole-file checks */

static int seen_line(const struct pol_parser *p, const char *kw)
{
    int i = directive_index(kw);

    return i >= 0 ? p->seen_line[i] : 0;
}

static void finish(struct pol_parser *p)
{
    const struct policy *pol = p->pol;

    if (pol->tls != POL_TLS_OFF) {
        if (pol->ncert == 0) {
            pol_error(p, 0, "missing required directive 'cert' (needed unless 'tls off')");
        }
        if (pol->nkey == 0) {
            pol_error(p, 0, "missing required directive 'key' (needed unless 'tls off')");
        }
    }
    if (pol->ncert != pol->nkey &&
        (pol->tls == POL_TLS_OFF || (pol->ncert != 0 && pol->nkey != 0))) {
        pol_error(p, 0, "'cert' given %d times but 'key' %d times (one key per certificate)",
                  pol->ncert, pol->nkey);
    }
    if (pol->tls == POL_TLS_OFF && pol->client_cert != POL_CCERT_OFF) {
        pol_error(p, seen_line(p, "client-cert"),
                  "'client-cert %s' needs TLS, but 'tls off' is set",
                  pol_choice_name(ccert_choices, (int)pol->client_cert));
    }
    if (pol->tls == POL_TLS_OFF && pol->implicit) {
        pol_error(p, seen_line(p, "implicit"), "'implicit on' needs TLS, but 'tls off' is set");
    }
    if (pol->tls_max < pol->tls_min) {
        pol_error(p, seen_line(p, "tls-max"),
                  "'tls-max %s' is below 'tls-min %s' (line %d): no TLS version is left",
                  pol_choice_name(tlsmax_choices, pol->tls_max),
                  pol_choice_name(tlsmin_choices, pol->tls_min), seen_line(p, "tls-min"));
    }
    pol_check_users(p);
}

/* ----------------------------------------------------------------- public */

void pol_defaults(struct policy *pol)
{
    *pol = (struct policy){
        .path = NULL,
        .client_cert = POL_CCERT_OFF,
        .tls = POL_TLS_AUTH_DATA,
        .tls_min = 12,
        .tls_max = 13,
        .ciphers = NULL,
        .implicit = false,
        .data_reuse_required = true,
        .renegotiate_client = false,
        .ktls = true,
        .sandbox = true,
        .pasv_lo = 0,
        .pasv_hi = 0,
        .active_peer = false,
        .fxp = false,
        .nhash = 0,
        .hash_limit = 0,
        .idle = 300,
        .login_grace = 30,
        .max_tries = 3,
        .max_sessions = 0,
        .max_per_ip = 0,
        .runtime_dir = NULL,
        .umask = 022,
        .upload_atomic = true,
        .log = POL_LOG_SYSLOG,
        .log_level = POL_LEVEL_INFO,
    };
}

int pol_parse_buf(struct policy *pol, const char *name, const char *text, size_t len,
                  pol_report_fn *report, void *ctx)
{
    struct pol_parser p = {.pol = pol, .report = report, .ctx = ctx};
    char *scratch;
    size_t pos = 0;

    pol_defaults(pol);
    p.name = name != NULL ? name : "policy";
    if (!pol_copy(&p, p.name, &pol->path)) {
        return p.errors;
    }
    if (text == NULL && len != 0) {
        pol_error(&p, 0, "no policy text");
        return p.errors;
    }
    /* SECURITY: bounds memory and time for whatever is handed to us. */
    if (len > DEFS_POLICY_MAX) {
        pol_error(&p, 0, "policy is %zu bytes, more than the limit of %d", len, DEFS_POLICY_MAX);
        return p.errors;
    }
    scratch = malloc(2 * len + 2);
    if (scratch == NULL) {
        pol_error(&p, 0, "out of memory");
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

/* The checks on the opened policy file, before a byte of it is read. */
static bool file_ok(struct pol_parser *p, int fd)
{
    struct stat st;

    if (sys_fstat(fd, &st) != 0) {
        pol_error(p, 0, "cannot stat: %s", strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        pol_error(p, 0, "not a regular file");
        return false;
    }
    /* SECURITY: whoever can write the policy can grant themselves any
     * access; only root (or the account running us) may own and write it. */
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        pol_error(p, 0,
                  "writable by group or other (mode %04o): anyone could change the policy; "
                  "run chmod go-w on it",
                  (unsigned)(st.st_mode & 07777));
        return false;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        pol_error(p, 0, "owned by uid %u, not by root: that account could change the policy",
                  (unsigned)st.st_uid);
        return false;
    }
    if (st.st_size > DEFS_POLICY_MAX) {
        pol_error(p, 0, "file is %lld bytes, more than the limit of %d", (long long)st.st_size,
                  DEFS_POLICY_MAX);
        return false;
    }
    return true;
}

/* Reads fd whole into a malloc'ed *text: one byte more than the cap, so
 * pol_parse_buf notices a file that grew after fstat. */
static bool read_all(struct pol_parser *p, int fd, char **text, size_t *len)
{
    *len = 0;
    *text = malloc(DEFS_POLICY_MAX + 1);
    if (*text == NULL) {
        pol_error(p, 0, "out of memory");
        return false;
    }
    while (*len < DEFS_POLICY_MAX + 1) {
        ssize_t r = sys_read(fd, *text + *len, DEFS_POLICY_MAX + 1 - *len);

        if (r < 0) {
            pol_error(p, 0, "cannot read: %s", strerror(errno));
            free(*text);
            *text = NULL;
            return false;
        }
        if (r == 0) {
            break;
        }
        *len += (size_t)r;
    }
    return true;
}

int pol_load(struct policy *pol, const char *path, pol_report_fn *report, void *ctx)
{
    struct pol_parser p = {.pol = pol, .report = report, .ctx = ctx, .name = path};
    char *text = NULL;
    size_t len = 0;
    int fd, errors;
    bool ok;

    pol_defaults(pol);
    if (path == NULL) {
        p.name = "policy";
        pol_error(&p, 0, "no policy path");
        return p.errors;
    }
    /* Set now so a caller can name the file even when it cannot be read. */
    pol->path = pol_dup(path);
    /* SECURITY: O_NOFOLLOW refuses a symlink planted in place of the file;
     * O_NONBLOCK keeps a FIFO from hanging us before fstat refuses it. */
    fd = sys_open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0);
    if (fd < 0) {
        if (errno == ELOOP) {
            pol_error(&p, 0, "is a symbolic link; give the real file's path");
        } else {
            pol_error(&p, 0, "cannot open: %s", strerror(errno));
        }
        return p.errors;
    }
    ok = file_ok(&p, fd) && read_all(&p, fd, &text, &len);
    (void)sys_close(fd);
    if (!ok) {
        return p.errors;
    }
    pol_free(pol);
    errors = pol_parse_buf(pol, path, text, len, report, ctx);
    free(text);
    return errors;
}

static void free_rules(struct pol_rules *r)
{
    free(r->root);
    free(r->home);
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
    free(pol->runtime_dir);
    free(pol->pasv_public.name);
    free(pol->pasv_private.name);
    free(pol->xferlog);
    free(pol->banner);
    for (size_t i = 0; i < pol->ngroups; i++) {
        free_rules(&pol->groups[i].rules);
    }
    free(pol->groups);
    if (pol->users != NULL) {
        for (size_t i = 0; i < pol->nusers; i++) {
            free_rules(&pol->users[i].rules);
        }
        /* Password hashes are offline-crackable: leave none in freed heap. */
        mbedtls_platform_zeroize(pol->users, pol->nusers * sizeof(*pol->users));
        free(pol->users);
    }
    pol_defaults(pol);
}
