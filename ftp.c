/* The FTP command engine: one const dispatch table (STYLE.md habit 5) whose
 * gates — TLS rule, login, access letter, data protection, argument — run
 * before any handler, and the handlers for the session, login, RFC 2228/4217
 * and informational commands. File and data commands live in files.c and
 * data.c. tls.c is called through its narrow API and never replies itself.
 *
 * Every refusal is an FTP reply with a text that says what to do, and the
 * log says why (SPEC §4.7). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "data.h"
#include "log.h"
#include "passwd.h"
#include "path.h"
#include "policy.h"
#include "session.h"
#include "sys.h"
#include "tls.h"

enum cmd_flags {
    C_LOGIN = 1u << 0,    /* needs a logged-in user */
    C_CLEAR_OK = 1u << 1, /* allowed in the clear even when `ctrl` demands TLS */
    C_DATA = 1u << 2,     /* opens a data connection: PROT P gate (521) */
    C_XFER = 1u << 3,     /* allowed while a transfer runs */
    C_ARG = 1u << 4,      /* needs an argument */
    C_LOGIN_TLS = 1u << 5 /* USER/PASS: the `auth` rule, answered 530 */
};

struct cmd {
    const char *verb;
    cmd_fn *fn;
    unsigned flags;
    uint32_t access; /* letter the user needs, 0 = none */
};

static const struct cmd commands[] = {
    {"USER", cmd_user, C_ARG | C_LOGIN_TLS, 0},
    {"PASS", cmd_pass, C_LOGIN_TLS, 0},
    {"ACCT", cmd_acct, 0, 0},
    {"QUIT", cmd_quit, C_CLEAR_OK | C_XFER, 0},
    {"REIN", cmd_rein, 0, 0},
    {"NOOP", cmd_noop, C_CLEAR_OK | C_XFER, 0},
    {"SYST", cmd_syst, 0, 0},
    {"HELP", cmd_help, 0, 0},
    {"STAT", cmd_stat, C_XFER, 0},
    {"FEAT", cmd_feat, C_CLEAR_OK, 0},
    {"OPTS", cmd_opts, C_ARG, 0},
    {"TYPE", cmd_type, C_ARG | C_LOGIN, 0},
    {"MODE", cmd_mode, C_ARG | C_LOGIN, 0},
    {"STRU", cmd_stru, C_ARG | C_LOGIN, 0},
    {"ALLO", cmd_allo, C_LOGIN, 0},
    {"CWD", cmd_cwd, C_ARG | C_LOGIN, 0},
    {"XCWD", cmd_cwd, C_ARG | C_LOGIN, 0},
    {"CDUP", cmd_cdup, C_LOGIN, 0},
    {"XCUP", cmd_cdup, C_LOGIN, 0},
    {"PWD", cmd_pwd, C_LOGIN, 0},
    {"XPWD", cmd_pwd, C_LOGIN, 0},
    {"HOST", cmd_host, C_ARG | C_CLEAR_OK, 0},
    {"SITE", cmd_site, C_ARG, 0},
    {"AUTH", cmd_auth, C_ARG | C_CLEAR_OK, 0},
    {"PBSZ", cmd_pbsz, C_ARG, 0},
    {"PROT", cmd_prot, C_ARG, 0},
    {"CCC", cmd_ccc, 0, 0},
    {"ADAT", cmd_sec_refused, 0, 0},
    {"MIC", cmd_sec_refused, 0, 0},
    {"CONF", cmd_sec_refused, 0, 0},
    {"ENC", cmd_sec_refused, 0, 0},
    {"PASV", cmd_pasv, C_LOGIN, 0},
    {"EPSV", cmd_epsv, C_LOGIN, 0},
    {"PORT", cmd_port, C_ARG | C_LOGIN, 0},
    {"EPRT", cmd_eprt, C_ARG | C_LOGIN, 0},
    {"RETR", cmd_retr, C_ARG | C_LOGIN | C_DATA, POL_ACC_READ},
    {"STOR", cmd_stor, C_ARG | C_LOGIN | C_DATA, POL_ACC_WRITE},
    {"STOU", cmd_stou, C_LOGIN | C_DATA, POL_ACC_WRITE},
    {"APPE", cmd_appe, C_ARG | C_LOGIN | C_DATA, POL_ACC_APPEND},
    {"REST", cmd_rest, C_ARG | C_LOGIN, 0},
    {"LIST", cmd_list, C_LOGIN | C_DATA, POL_ACC_READ},
    {"NLST", cmd_nlst, C_LOGIN | C_DATA, POL_ACC_READ},
    {"MLSD", cmd_mlsd, C_LOGIN | C_DATA, POL_ACC_READ},
    {"MLST", cmd_mlst, C_LOGIN, POL_ACC_READ},
    {"SIZE", cmd_size, C_ARG | C_LOGIN, POL_ACC_READ},
    {"MDTM", cmd_mdtm, C_ARG | C_LOGIN, POL_ACC_READ},
    {"DELE", cmd_dele, C_ARG | C_LOGIN, POL_ACC_DELETE},
    {"MKD", cmd_mkd, C_ARG | C_LOGIN, POL_ACC_MKDIR},
    {"XMKD", cmd_mkd, C_ARG | C_LOGIN, POL_ACC_MKDIR},
    {"RMD", cmd_rmd, C_ARG | C_LOGIN, POL_ACC_MKDIR},
    {"XRMD", cmd_rmd, C_ARG | C_LOGIN, POL_ACC_MKDIR},
    {"RNFR", cmd_rnfr, C_ARG | C_LOGIN, POL_ACC_RENAME},
    {"RNTO", cmd_rnto, C_ARG | C_LOGIN, POL_ACC_RENAME},
    {"ABOR", cmd_abor, C_LOGIN | C_XFER, 0},
};

/* SECURITY: lines of other protocols arriving before login mean a browser
 * or mail client was pointed at us (cross-protocol attacks such as ALPACA
 * reflect replies into another protocol): end the session at once. */
static const char *const foreign_verbs[] = {
    "GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE", "TRACE", "PATCH", "HELO", "EHLO",
};

#define VERB_MAX 16

static const struct cmd *find_cmd(const char *verb)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].verb, verb) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

/* Splits "VERB arg" into an upper-cased verb and the argument after one
 * blank. False if the verb is not 1..VERB_MAX letters. */
static bool split_line(const char *line, char *verb, const char **arg)
{
    size_t i = 0;
    while (line[i] && line[i] != ' ') {
        char c = line[i];
        if (i >= VERB_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
            return false;
        }
        verb[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
        i++;
    }
    verb[i] = '\0';
    *arg = line[i] == ' ' ? line + i + 1 : line + i;
    return i > 0;
}

static bool ctrl_protected(const struct session *s)
{
    return s->ctrl_tls != NULL;
}

/* The visible part of a verb for "500 Unknown command" (never echo more). */
static void printable_verb(const char *line, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; line[i] && line[i] != ' ' && o + 1 < outsz && i < VERB_MAX; i++) {
        unsigned char c = (unsigned char)line[i];
        out[o++] = (c >= 0x21 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
}

/* Runs the gates in order; true if the handler may run. */
static bool gates_pass(struct session *s, const struct cmd *c, const char *arg)
{
    enum pol_tls rule = s->tls_rule;
    if ((c->flags & C_LOGIN_TLS) && pol_tls_login_required(rule) && !ctrl_protected(s)) {
        /* USER decides with the named user's own rule (cmd_user). */
        if (c->fn != cmd_user) {
            info("refused %s in the clear: policy tls %s requires TLS before login", c->verb,
                 pol_tls_name(rule));
            reply(s, FTP_NOT_LOGGED_IN, "This server requires TLS (AUTH TLS) before login");
            return false;
        }
    }
    if (pol_tls_ctrl_required(rule) && !ctrl_protected(s) && !(c->flags & C_CLEAR_OK) &&
        c->fn != cmd_user) {
        info("refused %s in the clear: policy tls %s protects the control channel", c->verb,
             pol_tls_name(rule));
        if (c->flags & C_LOGIN_TLS) {
            reply(s, FTP_NOT_LOGGED_IN, "This server requires TLS (AUTH TLS) before login");
        } else {
            reply(s, FTP_POLICY_DENIED, "Policy requires a protected control channel: use AUTH TLS");
        }
        return false;
    }
    if ((c->flags & C_LOGIN) && !s->logged_in) {
        reply(s, FTP_NOT_LOGGED_IN, "Please log in with USER and PASS first");
        return false;
    }
    if (c->access && !(s->eff.access & c->access)) {
        info("%s refused: access letter missing", c->verb);
        reply(s, FTP_FILE_UNAVAIL, "Permission denied");
        return false;
    }
    if ((c->flags & C_DATA) && pol_tls_data_required(rule) && !s->prot_private) {
        info("%s refused under PROT C: policy tls %s protects data", c->verb, pol_tls_name(rule));
        reply(s, FTP_NO_DATA_PROTECTION, "Data connections must be protected (PROT P)");
        return false;
    }
    if ((c->flags & C_ARG) && arg[0] == '\0') {
        reply(s, FTP_SYNTAX_ARG, "%s needs an argument", c->verb);
        return false;
    }
    return true;
}

static bool is_foreign(const char *verb)
{
    for (size_t i = 0; i < sizeof foreign_verbs / sizeof foreign_verbs[0]; i++) {
        if (strcmp(foreign_verbs[i], verb) == 0) {
            return true;
        }
    }
    return false;
}

static void dispatch(struct session *s, const char *line)
{
    char verb[VERB_MAX + 1];
    const char *arg;
    if (!split_line(line, verb, &arg)) {
        char shown[VERB_MAX + 1];
        printable_verb(line, shown, sizeof shown);
        int token = (int)strcspn(line, " ");
        info("malformed command '%.*s': a verb is 1-%d ASCII letters", token > 32 ? 32 : token, line,
             VERB_MAX);
        reply(s, FTP_SYNTAX, "Unknown command '%s'", shown);
        return;
    }
    if (strcmp(verb, "PASS") == 0) {
        debug("<- PASS ****");
    } else {
        debug("<- %s", line);
    }
    if (!s->logged_in && is_foreign(verb)) {
        err("%s before login: another protocol's client is talking to us; closing", verb);
        reply(s, FTP_UNAVAILABLE, "This is an FTP server; closing the connection");
        s->quit = true;
        s->end_reason = "cross-protocol command";
        return;
    }
    const struct cmd *c = find_cmd(verb);
    if (!c) {
        info("unknown command '%s'", verb);
        reply(s, FTP_SYNTAX, "Unknown command '%s'", verb);
        return;
    }
    if (gates_pass(s, c, arg)) {
        c->fn(s, arg);
    }
    /* REST holds until the next transfer command (clients send PASV or
     * TYPE between REST and RETR); RNFR must be followed by RNTO at once. */
    if (c->flags & C_DATA) {
        s->rest = 0;
    }
    if (c->fn != cmd_rnfr) {
        s->rnfr_set = false;
    }
}

/* ---- path helper for handlers ---- */

bool ftp_vpath(struct session *s, const char *arg, char *out, size_t outsz)
{
    int e = path_normalize(s->cwd, arg, out, outsz);
    if (e == ENAMETOOLONG) {
        reply(s, FTP_BAD_NAME, "Path too long (limit %d bytes, 255 per name)", DEFS_PATH_MAX - 1);
        return false;
    }
    if (e != 0) {
        reply(s, FTP_SYNTAX_ARG, "Invalid character in path");
        return false;
    }
    return true;
}

void ftp_quote_path(const char *in, char *out, size_t cap)
{
    /* RFC 959 Appendix II: a '"' inside a quoted name is doubled. */
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 2 < cap; i++) {
        if (in[i] == '"') {
            out[o++] = '"';
        }
        out[o++] = in[i];
    }
    out[o] = '\0';
}

/* ---- login ---- */

static bool valid_username(const char *name)
{
    size_t n = strnlen(name, DEFS_NAME_MAX);
    if (n == 0 || n >= DEFS_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

static void logout(struct session *s)
{
    if (s->root_fd >= 0) {
        close(s->root_fd);
        s->root_fd = -1;
    }
    s->logged_in = false;
    s->user_given = false;
    s->user = NULL;
    s->username[0] = '\0';
    s->tls_rule = s->pol->tls;
    s->eff.access = 0;
    s->eff.root = "/";
    s->eff.tls = s->pol->tls;
    sys_copy(s->cwd, sizeof s->cwd, "/");
    log_set_user(NULL);
}

static bool finish_login(struct session *s, int code, const char *how)
{
    int fd = open(s->eff.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        err("login of %s failed: root %s: %s", s->username, s->eff.root, strerror(errno));
        reply(s, FTP_NOT_LOGGED_IN, "Login failed: your root directory is unavailable; tell the administrator");
        logout(s);
        return false;
    }
    s->root_fd = fd;
    s->logged_in = true;
    s->user_given = false;
    sys_copy(s->cwd, sizeof s->cwd, "/");
    log_set_user(s->username);
    char letters[8];
    pol_access_letters(s->eff.access, letters, sizeof letters);
    info("logged in (%s), root %s, access %s, tls %s", how, s->eff.root, letters,
         pol_tls_name(s->tls_rule));
    if (code == FTP_LOGIN_SECDATA) {
        reply(s, code, "User logged in, authorized by security data exchange");
    } else {
        reply(s, code, "Login successful");
    }
    return true;
}

void cmd_user(struct session *s, const char *arg)
{
    if (s->logged_in) {
        reply(s, FTP_BAD_SEQUENCE, "Already logged in; use REIN to log in as another user");
        return;
    }
    if (!valid_username(arg)) {
        reply(s, FTP_NOT_LOGGED_IN, "Invalid user name");
        return;
    }
    const struct pol_user *u = pol_find_user(s->pol, arg);
    struct pol_effective eff = {.root = "/", .access = 0, .tls = s->pol->tls};
    if (u) {
        pol_effective(s->pol, u, &eff);
    }
    /* The user's own rule applies from USER on (SPEC §5); an unknown name
     * is held to the global rule, like everybody before USER. */
    if (pol_tls_login_required(eff.tls) && !ctrl_protected(s)) {
        info("USER %s refused in the clear: tls %s requires TLS before login", arg,
             pol_tls_name(eff.tls));
        reply(s, FTP_NOT_LOGGED_IN, "This server requires TLS (AUTH TLS) before login");
        return;
    }
    sys_copy(s->username, sizeof s->username, arg);
    s->user = u;
    s->eff = eff;
    s->tls_rule = eff.tls;
    s->user_given = true;
    if (u && u->has_cert && s->ctrl_tls) {
        unsigned char fp[32];
        if (tls_peer_cert_sha256(s->ctrl_tls, fp)) {
            /* Not secret, but compared in constant time all the same. */
            unsigned char diff = 0;
            for (size_t i = 0; i < sizeof fp; i++) {
                diff |= (unsigned char)(fp[i] ^ u->cert_sha256[i]);
            }
            if (diff == 0) {
                (void)finish_login(s, FTP_LOGIN_SECDATA, "client certificate");
                return;
            }
            info("client certificate does not match cert= of user %s", arg);
        }
    }
    if (u && u->anonymous) {
        reply(s, FTP_NEED_PASS, "Anonymous login ok, send your e-mail address as password");
    } else {
        reply(s, FTP_NEED_PASS, "Password required for %s", s->username);
    }
}

void cmd_pass(struct session *s, const char *arg)
{
    if (s->logged_in) {
        reply(s, FTP_NOT_NEEDED, "Already logged in");
        return;
    }
    if (!s->user_given) {
        reply(s, FTP_BAD_SEQUENCE, "Login with USER first");
        return;
    }
    const struct pol_user *u = s->user;
    size_t len = strnlen(arg, DEFS_PASSWORD_MAX + 1);
    bool ok = false;
    if (u && u->anonymous) {
        ok = true;
    } else if (u && u->has_password && len <= DEFS_PASSWORD_MAX) {
        ok = pw_verify(&u->password, arg, len);
    } else {
        /* SECURITY: unknown users and cert-only users cost the same time as
         * a real check, so timing does not tell which names exist. */
        pw_waste(s->max_iterations, arg, len > DEFS_PASSWORD_MAX ? DEFS_PASSWORD_MAX : len);
    }
    if (ok) {
        (void)finish_login(s, FTP_LOGIN_OK, u->anonymous ? "anonymous" : "password");
        return;
    }
    s->failed_logins++;
    info("failed login #%u for %s%s", s->failed_logins, s->username, u ? "" : " (unknown user)");
    s->user_given = false;
    s->user = NULL;
    s->tls_rule = s->pol->tls;
    /* SECURITY: a growing delay makes password guessing slow; the same
     * reply for unknown users and bad passwords prevents enumeration. */
    sys_sleep_ms(1000u * s->failed_logins);
    if (s->failed_logins >= s->pol->max_tries) {
        reply(s, FTP_UNAVAILABLE, "Too many failed logins; closing the connection");
        s->quit = true;
        s->end_reason = "too many failed logins";
        return;
    }
    reply(s, FTP_NOT_LOGGED_IN, "Login incorrect");
}

void cmd_acct(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_NOT_NEEDED, "ACCT not needed on this server");
}

void cmd_quit(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_GOODBYE, "Goodbye");
    s->quit = true;
    s->end_reason = "QUIT";
}

void cmd_rein(struct session *s, const char *arg)
{
    (void)arg;
    data_reset(s);
    logout(s);
    s->pbsz_done = false;
    s->prot_private = false;
    s->type_ascii = false;
    s->rest = 0;
    s->rnfr_set = false;
    s->host_given = false;
    s->login_deadline_ms = sys_now_ms() + (int64_t)s->pol->login_grace * 1000;
    reply(s, FTP_GREETING, "Session reinitialized; log in again");
    if (s->ctrl_tls) {
        /* RFC 4217 §13: the reply goes under TLS, then the TLS session ends
         * both ways and the client may AUTH again. */
        enum tls_clear_result r = tls_clear(s->ctrl_tls, (int)s->pol->idle * 1000);
        s->ctrl_tls = NULL;
        s->sni[0] = '\0';
        lr_clear(&s->lr);
        if (r != TLS_CLEAR_CLEAN) {
            info("REIN: the client did not answer close_notify");
        }
    }
    info("REIN: logged out");
}

void cmd_noop(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_OK, "NOOP ok");
}

void cmd_syst(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_SYST, "UNIX Type: L8");
}

void cmd_help(struct session *s, const char *arg)
{
    (void)arg;
    reply_start(s, FTP_HELP, "The following commands are recognized:");
    char line[128];
    size_t pos = 0;
    line[0] = '\0';
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        (void)sys_append(line, sizeof line, &pos, "%-5s", commands[i].verb);
        if (i % 10 == 9) {
            reply_more(s, "%s", line);
            pos = 0;
            line[0] = '\0';
        }
    }
    if (pos) {
        reply_more(s, "%s", line);
    }
    reply(s, FTP_HELP, "Help OK");
}

void cmd_stat(struct session *s, const char *arg)
{
    if (arg[0]) {
        if (!s->logged_in) {
            reply(s, FTP_NOT_LOGGED_IN, "Please log in with USER and PASS first");
            return;
        }
        if (!(s->eff.access & POL_ACC_READ)) {
            reply(s, FTP_FILE_UNAVAIL, "Permission denied");
            return;
        }
        files_stat_path(s, arg);
        return;
    }
    reply_start(s, FTP_STAT_SYS, "ftpsd status:");
    reply_more(s, "Connected from %s", s->peer);
    if (s->logged_in) {
        reply_more(s, "Logged in as %s", s->username);
    } else {
        reply_more(s, "Not logged in");
    }
    if (s->ctrl_tls) {
        char d[160];
        tls_describe(s->ctrl_tls, d, sizeof d);
        reply_more(s, "Control connection protected: %s", d);
    } else {
        reply_more(s, "Control connection in the clear%s", s->ccc_done ? " (after CCC)" : "");
    }
    reply_more(s, "Data protection: %s", s->prot_private ? "Private" : "Clear");
    reply_more(s, "TYPE: %s, STRUcture: File, MODE: Stream", s->type_ascii ? "ASCII" : "BINARY");
    if (s->xfer.active) {
        reply_more(s, "%s %s: %llu bytes so far", s->xfer.upload ? "Receiving" : "Sending",
                   s->xfer.vpath, (unsigned long long)s->xfer.bytes);
    }
    reply(s, FTP_STAT_SYS, "End of status");
}

void cmd_feat(struct session *s, const char *arg)
{
    (void)arg;
    reply_start(s, FTP_STAT_SYS, "Features:");
    if (s->tls) {
        reply_more(s, "AUTH TLS");
        reply_more(s, "PBSZ");
        reply_more(s, "PROT");
        reply_more(s, "CCC");
    }
    reply_more(s, "EPRT");
    reply_more(s, "EPSV");
    reply_more(s, "HOST");
    reply_more(s, "MDTM");
    reply_more(s, "MLST type*;size*;modify*;perm*;unique*;");
    reply_more(s, "REST STREAM");
    reply_more(s, "SIZE");
    reply_more(s, "TVFS");
    reply_more(s, "UTF8");
    reply(s, FTP_STAT_SYS, "End");
}

void cmd_opts(struct session *s, const char *arg)
{
    if (sys_ieq(arg, "UTF8 ON") || sys_ieq(arg, "UTF8")) {
        s->utf8 = true;
        reply(s, FTP_OK, "Always in UTF8 mode");
        return;
    }
    if (sys_ieq(arg, "UTF8 OFF")) {
        reply(s, FTP_OK, "File names are sent as stored (UTF-8)");
        return;
    }
    if (strncmp(arg, "MLST", 4) == 0 || strncmp(arg, "mlst", 4) == 0) {
        /* Every fact is always sent; clients ignore the ones they did not
         * ask for (RFC 3659 §7.9 allows a server to keep its set). */
        reply(s, FTP_OK, "MLST OPTS type;size;modify;perm;unique;");
        return;
    }
    reply(s, FTP_SYNTAX_ARG, "Option not understood; OPTS UTF8 ON and OPTS MLST are supported");
}

void cmd_type(struct session *s, const char *arg)
{
    if (sys_ieq(arg, "I") || sys_ieq(arg, "L 8") || sys_ieq(arg, "L8")) {
        s->type_ascii = false;
        reply(s, FTP_OK, "Switching to Binary mode");
    } else if (sys_ieq(arg, "A") || sys_ieq(arg, "A N")) {
        s->type_ascii = true;
        reply(s, FTP_OK, "Switching to ASCII mode");
    } else {
        reply(s, FTP_NOT_IMPL_PARAM, "TYPE not supported; use TYPE I or TYPE A");
    }
}

void cmd_mode(struct session *s, const char *arg)
{
    if (sys_ieq(arg, "S")) {
        reply(s, FTP_OK, "Mode set to Stream");
    } else {
        reply(s, FTP_NOT_IMPL_PARAM, "Only MODE S (stream) is supported");
    }
}

void cmd_stru(struct session *s, const char *arg)
{
    if (sys_ieq(arg, "F")) {
        reply(s, FTP_OK, "Structure set to File");
    } else {
        reply(s, FTP_NOT_IMPL_PARAM, "Only STRU F (file) is supported");
    }
}

void cmd_allo(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_NOT_NEEDED, "ALLO not needed; storage is allocated as data arrives");
}

static void change_dir(struct session *s, const char *arg)
{
    char vpath[DEFS_PATH_MAX];
    if (!ftp_vpath(s, arg, vpath, sizeof vpath)) {
        return;
    }
    int fd = path_open(s->root_fd, vpath, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) {
        int e = errno;
        if (e == EXDEV || e == ELOOP) {
            warn("SECURITY: CWD %s resolves outside the user's root; refused", vpath);
            reply(s, FTP_FILE_UNAVAIL, "%s: Permission denied (outside your root)", arg);
        } else {
            reply(s, FTP_FILE_UNAVAIL, "%s: %s", arg, strerror(e));
        }
        return;
    }
    close(fd);
    sys_copy(s->cwd, sizeof s->cwd, vpath);
    reply(s, FTP_FILE_OK, "Directory changed to %s", vpath);
}

void cmd_cwd(struct session *s, const char *arg)
{
    change_dir(s, arg);
}

void cmd_cdup(struct session *s, const char *arg)
{
    (void)arg;
    change_dir(s, "..");
}

void cmd_pwd(struct session *s, const char *arg)
{
    (void)arg;
    char q[DEFS_PATH_MAX * 2];
    ftp_quote_path(s->cwd, q, sizeof q);
    reply(s, FTP_PATH_CREATED, "\"%s\" is the current directory", q);
}

void cmd_host(struct session *s, const char *arg)
{
    if (s->logged_in || s->user_given) {
        reply(s, FTP_BAD_SEQUENCE, "HOST must come before USER");
        return;
    }
    if (strlen(arg) >= sizeof s->host) {
        reply(s, FTP_SYNTAX_ARG, "Host name too long");
        return;
    }
    if (s->ctrl_tls && s->sni[0] && !sys_ieq(arg, s->sni)) {
        info("HOST %s differs from the TLS SNI name %s", arg, s->sni);
        reply(s, FTP_NOT_IMPL_PARAM, "HOST %s does not match the TLS server name %s", arg, s->sni);
        return;
    }
    sys_copy(s->host, sizeof s->host, arg);
    s->host_given = true;
    info("HOST %s", arg);
    reply(s, FTP_GREETING, "Host accepted");
}

void cmd_site(struct session *s, const char *arg)
{
    if (sys_ieq(arg, "HELP") || strncmp(arg, "HELP ", 5) == 0 || strncmp(arg, "help", 4) == 0) {
        reply_start(s, FTP_HELP, "SITE commands:");
        reply_more(s, "CHMOD MODE PATH   change permission bits (no setuid/setgid/sticky)");
        reply_more(s, "HELP              this text");
        reply(s, FTP_HELP, "End");
        return;
    }
    if (strncmp(arg, "CHMOD ", 6) == 0 || strncmp(arg, "chmod ", 6) == 0) {
        if (!s->logged_in) {
            reply(s, FTP_NOT_LOGGED_IN, "Please log in with USER and PASS first");
            return;
        }
        files_site_chmod(s, arg + 6);
        return;
    }
    reply(s, FTP_SYNTAX, "Unknown SITE command; try SITE HELP");
}

/* ---- RFC 2228 / 4217 ---- */

void cmd_auth(struct session *s, const char *arg)
{
    if (!s->tls) {
        reply(s, FTP_NOT_IMPL_PARAM, "AUTH not available: TLS is off in this server's policy");
        return;
    }
    if (s->ctrl_tls) {
        reply(s, FTP_BAD_SEQUENCE, "Already using TLS");
        return;
    }
    if (s->ccc_done) {
        reply(s, FTP_POLICY_DENIED, "The control channel was cleared with CCC; it stays clear");
        return;
    }
    bool tls_p;
    if (sys_ieq(arg, "TLS") || sys_ieq(arg, "TLS-C")) {
        tls_p = false;
    } else if (sys_ieq(arg, "SSL") || sys_ieq(arg, "TLS-P")) {
        tls_p = true;
    } else {
        reply(s, FTP_NOT_IMPL_PARAM, "AUTH mechanism not supported; use AUTH TLS");
        return;
    }
    reply(s, FTP_AUTH_OK, "AUTH %s successful; start TLS", tls_p ? "SSL" : "TLS");
    if (!ctrl_ok(s)) {
        return;
    }
    /* SECURITY: bytes the client pipelined after AUTH arrived in the
     * clear and could have been injected by anyone on the path
     * (CVE-2011-1575): they are dropped, never executed. */
    lr_clear(&s->lr);
    int64_t left = s->login_deadline_ms - sys_now_ms();
    int timeout = s->logged_in ? (int)s->pol->idle * 1000 : (int)(left > 0 ? left : 1);
    char why[256];
    struct tls_conn *c = tls_accept(s->tls, s->ctrl_rfd, s->ctrl_wfd, TLS_ROLE_CONTROL, timeout,
                                    why, sizeof why);
    if (!c) {
        err("TLS handshake on the control connection failed: %s", why);
        s->quit = true;
        s->exit_code = EXIT_TLS;
        s->end_reason = "TLS handshake failed";
        return;
    }
    s->ctrl_tls = c;
    const char *sni = tls_sni(c);
    sys_copy(s->sni, sizeof s->sni, sni ? sni : "");
    if (s->host_given && s->sni[0] && !sys_ieq(s->host, s->sni)) {
        warn("HOST %s given before AUTH differs from the TLS SNI name %s", s->host, s->sni);
    }
    if (tls_p) {
        s->pbsz_done = true;
        s->prot_private = true;
    }
    /* A login half-done in the clear starts over under TLS. */
    if (!s->logged_in) {
        s->user_given = false;
        s->user = NULL;
        s->tls_rule = s->pol->tls;
    }
}

void cmd_pbsz(struct session *s, const char *arg)
{
    if (!s->ctrl_tls && !s->ccc_done) {
        reply(s, FTP_BAD_SEQUENCE, "PBSZ needs AUTH TLS first");
        return;
    }
    uint64_t v;
    if (!pol_parse_number(arg, 10, 0, UINT32_MAX, &v)) {
        reply(s, FTP_SYNTAX_ARG, "PBSZ needs a decimal number (use PBSZ 0)");
        return;
    }
    s->pbsz_done = true;
    reply(s, FTP_OK, "PBSZ=0");
}

void cmd_prot(struct session *s, const char *arg)
{
    if (!s->ctrl_tls && !s->ccc_done) {
        reply(s, FTP_BAD_SEQUENCE, "PROT needs AUTH TLS first");
        return;
    }
    if (!s->pbsz_done) {
        reply(s, FTP_BAD_SEQUENCE, "PROT needs PBSZ first (send PBSZ 0)");
        return;
    }
    if (sys_ieq(arg, "P")) {
        s->prot_private = true;
        reply(s, FTP_OK, "Protection level set to Private");
    } else if (sys_ieq(arg, "C")) {
        s->prot_private = false;
        reply(s, FTP_OK, "Protection level set to Clear");
    } else if (sys_ieq(arg, "S") || sys_ieq(arg, "E")) {
        reply(s, FTP_PROT_NOT_SUPPORTED, "PROT %s not supported; use PROT P or PROT C", arg);
    } else {
        reply(s, FTP_NOT_IMPL_PARAM, "Unknown protection level; use PROT P or PROT C");
    }
}

void cmd_ccc(struct session *s, const char *arg)
{
    (void)arg;
    enum pol_ccc ccc = pol_tls_ccc(s->tls_rule);
    if (ccc == POL_CCC_TLS_OFF || !s->tls) {
        reply(s, FTP_CCC_DENIED, "CCC not available: TLS is off");
        return;
    }
    if (ccc == POL_CCC_REFUSED) {
        info("CCC refused: policy tls %s protects the control channel", pol_tls_name(s->tls_rule));
        reply(s, FTP_POLICY_DENIED, "CCC refused: policy requires a protected control channel");
        return;
    }
    if (!s->ctrl_tls) {
        reply(s, FTP_CCC_DENIED, "Control channel is not protected; nothing to clear");
        return;
    }
    if (!s->logged_in) {
        reply(s, FTP_NOT_LOGGED_IN, "CCC is allowed after login only");
        return;
    }
    reply(s, FTP_OK, "CCC ok; control channel is clear from now on");
    enum tls_clear_result r = tls_clear(s->ctrl_tls, (int)s->pol->idle * 1000);
    s->ctrl_tls = NULL;
    s->ccc_done = true;
    lr_clear(&s->lr);
    if (r == TLS_CLEAR_FAILED) {
        err("CCC: the TLS close_notify exchange failed");
        s->quit = true;
        s->exit_code = EXIT_TLS;
        s->end_reason = "CCC close_notify failed";
        return;
    }
    s->ccc_peer_skipped_close = r == TLS_CLEAR_PEER_SKIPPED;
    info("CCC: control channel is now clear%s",
         r == TLS_CLEAR_PEER_SKIPPED ? " (the client sent no close_notify: curl's default CCC mode)" : "");
}

void cmd_sec_refused(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_NOT_IMPL, "Only AUTH TLS is supported; ADAT, MIC, CONF and ENC are not");
}

/* ---- the session loop ---- */

enum xfer_ctl ftp_xfer_command(struct session *s)
{
    char line[DEFS_LINE_MAX];
    enum ctrl_result r = ctrl_read_line(s, line, sizeof line, 0);
    switch (r) {
    case CTRL_TIMEOUT:
        return XFER_GO_ON;
    case CTRL_TOO_LONG:
        reply(s, FTP_SYNTAX, "Line too long");
        return XFER_GO_ON;
    case CTRL_BAD_CHAR:
        reply(s, FTP_SYNTAX, "Invalid character in command line");
        return XFER_GO_ON;
    case CTRL_EOF:
    case CTRL_ERROR:
        s->quit = true;
        s->end_reason = "client closed the control connection during a transfer";
        return XFER_QUIT;
    case CTRL_LINE:
        break;
    }
    char verb[VERB_MAX + 1];
    const char *arg;
    if (!split_line(line, verb, &arg)) {
        int token = (int)strcspn(line, " ");
        info("malformed command '%.*s' during a transfer", token > 32 ? 32 : token, line);
        reply(s, FTP_SYNTAX, "Unknown command");
        return XFER_GO_ON;
    }
    const struct cmd *c = find_cmd(verb);
    if (!c || !(c->flags & C_XFER)) {
        reply(s, FTP_BAD_SEQUENCE, "Transfer in progress: only ABOR, STAT, NOOP and QUIT now");
        return XFER_GO_ON;
    }
    if (c->fn == cmd_abor) {
        info("ABOR during transfer of %s", s->xfer.vpath);
        return XFER_ABORT;
    }
    if (c->fn == cmd_quit) {
        s->quit = true;
        s->quit_reply_pending = true;
        s->end_reason = "QUIT during a transfer";
        return XFER_QUIT;
    }
    if (c->fn == cmd_stat && arg[0] == '\0') {
        int64_t ms = sys_now_ms() - s->xfer.started_ms;
        reply(s, FTP_STAT_SYS, "%s %s: %llu bytes in %lld.%03lld s", s->xfer.upload ? "Receiving" : "Sending",
              s->xfer.vpath, (unsigned long long)s->xfer.bytes, (long long)(ms / 1000),
              (long long)(ms % 1000));
        return XFER_GO_ON;
    }
    if (c->fn == cmd_noop) {
        cmd_noop(s, arg);
        return XFER_GO_ON;
    }
    reply(s, FTP_BAD_SEQUENCE, "Transfer in progress: only ABOR, STAT, NOOP and QUIT now");
    return XFER_GO_ON;
}

int ftp_session(struct session *s)
{
    char line[DEFS_LINE_MAX];
    while (!s->quit) {
        int timeout;
        if (!s->logged_in) {
            int64_t left = s->login_deadline_ms - sys_now_ms();
            timeout = left > 0 ? (int)left : 0;
        } else {
            timeout = (int)s->pol->idle * 1000;
        }
        enum ctrl_result r = ctrl_read_line(s, line, sizeof line, timeout);
        switch (r) {
        case CTRL_LINE:
            dispatch(s, line);
            break;
        case CTRL_TOO_LONG:
            info("line longer than %d bytes discarded", DEFS_LINE_MAX);
            reply(s, FTP_SYNTAX, "Line too long (limit %d bytes)", DEFS_LINE_MAX);
            break;
        case CTRL_BAD_CHAR:
            info("line with NUL or bare CR discarded");
            reply(s, FTP_SYNTAX, "Invalid character (NUL or bare CR) in command line");
            break;
        case CTRL_TIMEOUT:
            if (s->logged_in) {
                reply(s, FTP_UNAVAILABLE, "Timeout: idle for %u seconds; closing", s->pol->idle);
                s->end_reason = "idle timeout";
            } else {
                reply(s, FTP_UNAVAILABLE, "Timeout: login took longer than %u seconds; closing",
                      s->pol->login_grace);
                s->end_reason = "login grace expired";
            }
            s->quit = true;
            break;
        case CTRL_EOF:
            s->end_reason = "client closed the connection";
            s->quit = true;
            break;
        case CTRL_ERROR:
            s->end_reason = s->ctrl_tls ? "TLS error on the control connection" : "read error";
            if (s->ctrl_tls) {
                s->exit_code = EXIT_TLS;
            }
            s->quit = true;
            break;
        }
        if (s->quit_reply_pending) {
            s->quit_reply_pending = false;
            reply(s, FTP_GOODBYE, "Goodbye");
        }
        if (!ctrl_ok(s)) {
            if (!s->end_reason) {
                s->end_reason = "write error on the control connection";
            }
            s->quit = true;
        }
    }
    data_reset(s);
    if (s->ctrl_tls) {
        (void)tls_close(s->ctrl_tls, false, 1000);
        s->ctrl_tls = NULL;
    }
    return s->exit_code;
}
