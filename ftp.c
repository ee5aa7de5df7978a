/* The FTP command engine: one const dispatch table (STYLE.md habit 5) whose
 * gates — TLS rule, login, access letters, data protection, argument — run
 * before any handler, and the session loop that reads command lines and
 * dispatches them. While a transfer runs, the transfer engine hands control
 * input back through the session's during_xfer callback, which dispatches
 * through the same table to each row's during-transfer handler. The
 * handlers themselves live in the files cmds.h names.
 *
 * Every refusal is an FTP reply with a text that says what to do, and the
 * log says why (SPEC §4.7). */
#include "ftp.h"

#include <string.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "dataconn.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "sys.h"
#include "tls.h"

enum cmd_flags {
    C_LOGIN = 1u << 0,      /* needs a logged-in user */
    C_CLEAR_OK = 1u << 1,   /* allowed in the clear even when `ctrl` demands TLS */
    C_DATA = 1u << 2,       /* opens a data connection: PROT P gate (521); clears REST */
    C_LOGIN_CMD = 1u << 3,  /* USER/PASS: the `auth` rule applies, refusals are 530 */
    C_NAMED_USER = 1u << 4, /* USER: the TLS rule is the named user's own (SPEC §5) */
    C_KEEPS_RNFR = 1u << 5, /* RNFR: does not cancel a pending rename */
    C_ANY_LETTER = 1u << 6, /* any one of the access letters is enough here; the
                               handler applies the precise rule (STOR: w, or a
                               with REST, upload.c) */
};

/* When the argument decides which row a line matches. */
enum cmd_arg {
    ARG_ANY,    /* with or without */
    ARG_NONE,   /* this row only for a line without argument (STAT) */
    ARG_NEEDED, /* 501 without one */
};

struct cmd {
    const char *verb;
    const char *sub; /* SITE subcommand, NULL for none */
    enum cmd_arg arg;
    unsigned flags;
    uint32_t access; /* letters the user needs (all of them), 0 = none */
    cmd_fn *fn;
    xfer_cmd_fn *during_xfer; /* while a transfer runs; NULL: 503 */
};

#define W POL_ACC_WRITE
#define R POL_ACC_READ

/* The first row that matches a line wins: rows of one verb are ordered from
 * the most to the least specific. */
static const struct cmd commands[] = {
    {"USER", NULL, ARG_NEEDED, C_LOGIN_CMD | C_NAMED_USER, 0, cmd_user, NULL},
    {"PASS", NULL, ARG_ANY, C_LOGIN_CMD, 0, cmd_pass, NULL},
    {"ACCT", NULL, ARG_ANY, 0, 0, cmd_acct, NULL},
    {"QUIT", NULL, ARG_ANY, C_CLEAR_OK, 0, cmd_quit, xfer_quit},
    {"REIN", NULL, ARG_ANY, 0, 0, cmd_rein, NULL},
    {"NOOP", NULL, ARG_ANY, C_CLEAR_OK, 0, cmd_noop, xfer_noop},
    {"SYST", NULL, ARG_ANY, 0, 0, cmd_syst, NULL},
    {"HELP", NULL, ARG_ANY, 0, 0, cmd_help, NULL},
    {"STAT", NULL, ARG_NONE, 0, 0, cmd_stat, xfer_stat},
    {"STAT", NULL, ARG_NEEDED, C_LOGIN, R, cmd_stat_path, NULL},
    {"FEAT", NULL, ARG_ANY, C_CLEAR_OK, 0, cmd_feat, NULL},
    {"OPTS", NULL, ARG_NEEDED, 0, 0, cmd_opts, NULL},
    {"TYPE", NULL, ARG_NEEDED, C_LOGIN, 0, cmd_type, NULL},
    {"MODE", NULL, ARG_NEEDED, C_LOGIN, 0, cmd_mode, NULL},
    {"STRU", NULL, ARG_NEEDED, C_LOGIN, 0, cmd_stru, NULL},
    {"ALLO", NULL, ARG_ANY, C_LOGIN, 0, cmd_allo, NULL},
    {"CWD", NULL, ARG_NEEDED, C_LOGIN, 0, cmd_cwd, NULL},
    {"XCWD", NULL, ARG_NEEDED, C_LOGIN, 0, cmd_cwd, NULL},
    {"CDUP", NULL, ARG_ANY, C_LOGIN, 0, cmd_cdup, NULL},
    {"XCUP", NULL, ARG_ANY, C_LOGIN, 0, cmd_cdup, NULL},
    {"PWD", NULL, ARG_ANY, C_LOGIN, 0, cmd_pwd, NULL},
    {"XPWD", NULL, ARG_ANY, C_LOGIN, 0, cmd_pwd, NULL},
    {"HOST", NULL, ARG_NEEDED, C_CLEAR_OK, 0, cmd_host, NULL},
    {"SITE", "HELP", ARG_ANY, 0, 0, cmd_site_help, NULL},
    {"SITE", "CHMOD", ARG_NEEDED, C_LOGIN, W | POL_ACC_DELETE, cmd_site_chmod, NULL},
    {"SITE", NULL, ARG_NEEDED, 0, 0, cmd_site_unknown, NULL},
    {"AUTH", NULL, ARG_NEEDED, C_CLEAR_OK, 0, cmd_auth, NULL},
    {"PBSZ", NULL, ARG_NEEDED, 0, 0, cmd_pbsz, NULL},
    {"PROT", NULL, ARG_NEEDED, 0, 0, cmd_prot, NULL},
    {"CCC", NULL, ARG_ANY, 0, 0, cmd_ccc, NULL},
    {"ADAT", NULL, ARG_ANY, 0, 0, cmd_sec_refused, NULL},
    {"MIC", NULL, ARG_ANY, 0, 0, cmd_sec_refused, NULL},
    {"CONF", NULL, ARG_ANY, 0, 0, cmd_sec_refused, NULL},
    {"ENC", NULL, ARG_ANY, 0, 0, cmd_sec_refused, NULL},
    {"PASV", NULL, ARG_ANY, C_LOGIN, 0, cmd_pasv, NULL},
    {"EPSV", NULL, ARG_ANY, C_LOGIN, 0, cmd_epsv, NULL},
    {"PORT", NULL, ARG_NEEDED, C_LOGIN, 0, cmd_port, NULL},
    {"EPRT", NULL, ARG_NEEDED, C_LOGIN, 0, cmd_eprt, NULL},
    {"RETR", NULL, ARG_NEEDED, C_LOGIN | C_DATA, R, cmd_retr, NULL},
    {"STOR", NULL, ARG_NEEDED, C_LOGIN | C_DATA | C_ANY_LETTER, W | POL_ACC_APPEND, cmd_stor, NULL},
    {"STOU", NULL, ARG_ANY, C_LOGIN | C_DATA, W, cmd_stou, NULL},
    {"APPE", NULL, ARG_NEEDED, C_LOGIN | C_DATA, POL_ACC_APPEND, cmd_appe, NULL},
    {"REST", NULL, ARG_NEEDED, C_LOGIN, 0, cmd_rest, NULL},
    {"LIST", NULL, ARG_ANY, C_LOGIN | C_DATA, R, cmd_list, NULL},
    {"NLST", NULL, ARG_ANY, C_LOGIN | C_DATA, R, cmd_nlst, NULL},
    {"MLSD", NULL, ARG_ANY, C_LOGIN | C_DATA, R, cmd_mlsd, NULL},
    {"MLST", NULL, ARG_ANY, C_LOGIN, R, cmd_mlst, NULL},
    {"SIZE", NULL, ARG_NEEDED, C_LOGIN, R, cmd_size, NULL},
    {"MDTM", NULL, ARG_NEEDED, C_LOGIN, R, cmd_mdtm, NULL},
    {"MFMT", NULL, ARG_NEEDED, C_LOGIN, W | POL_ACC_DELETE, cmd_mfmt, NULL},
    {"HASH", NULL, ARG_NEEDED, C_LOGIN, R, cmd_hash, NULL},
    {"RANG", NULL, ARG_NEEDED, C_LOGIN, 0, cmd_rang, NULL},
    {"DELE", NULL, ARG_NEEDED, C_LOGIN, POL_ACC_DELETE, cmd_dele, NULL},
    {"MKD", NULL, ARG_NEEDED, C_LOGIN, POL_ACC_MKDIR, cmd_mkd, NULL},
    {"XMKD", NULL, ARG_NEEDED, C_LOGIN, POL_ACC_MKDIR, cmd_mkd, NULL},
    {"RMD", NULL, ARG_NEEDED, C_LOGIN, POL_ACC_MKDIR, cmd_rmd, NULL},
    {"XRMD", NULL, ARG_NEEDED, C_LOGIN, POL_ACC_MKDIR, cmd_rmd, NULL},
    {"RNFR", NULL, ARG_NEEDED, C_LOGIN | C_KEEPS_RNFR, POL_ACC_RENAME, cmd_rnfr, NULL},
    {"RNTO", NULL, ARG_NEEDED, C_LOGIN, POL_ACC_RENAME, cmd_rnto, NULL},
    {"ABOR", NULL, ARG_ANY, C_LOGIN, 0, cmd_abor, xfer_abor},
};

#undef W
#undef R

/* SECURITY: lines of other protocols arriving before login mean a browser
 * or mail client was pointed at us (cross-protocol attacks such as ALPACA
 * reflect replies into another protocol): end the session at once. */
static const char *const foreign_verbs[] = {
    "GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE", "TRACE", "PATCH", "HELO", "EHLO",
};

/* A command line taken apart: the upper-cased verb, the row it matched (or
 * NULL), and the argument the handler gets. */
struct parsed {
    char verb[DEFS_VERB_MAX + 1];
    const struct cmd *c;
    const char *arg;
};

/* Splits "VERB arg" into an upper-cased verb and the argument after one
 * blank. False if the verb is not 1..DEFS_VERB_MAX letters. */
static bool split_line(const char *line, char *verb, const char **arg)
{
    size_t i = 0;
    while (line[i] && line[i] != ' ') {
        char c = line[i];
        if (i >= DEFS_VERB_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
            return false;
        }
        verb[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
        i++;
    }
    verb[i] = '\0';
    *arg = line[i] == ' ' ? line + i + 1 : line + i;
    return i > 0;
}

/* If arg starts with the word `sub` (any case), the text after it. */
static const char *after_word(const char *arg, const char *sub)
{
    size_t n = strlen(sub);
    for (size_t i = 0; i < n; i++) {
        char c = arg[i];
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 32);
        }
        if (c != sub[i]) {
            return NULL;
        }
    }
    if (arg[n] == '\0') {
        return arg + n;
    }
    return arg[n] == ' ' ? arg + n + 1 : NULL;
}

/* The row for a verb and its argument; *arg becomes the handler's. */
static const struct cmd *find_cmd(const char *verb, const char **arg)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct cmd *c = &commands[i];
        if (strcmp(c->verb, verb) != 0 || (c->arg == ARG_NONE && (*arg)[0] != '\0')) {
            continue;
        }
        if (c->sub == NULL) {
            return c;
        }
        const char *rest = after_word(*arg, c->sub);
        if (rest != NULL) {
            *arg = rest;
            return c;
        }
    }
    return NULL;
}

/* What of a line that is not a command may be shown in the log and the 500
 * reply: its first word, at most DEFS_VERB_MAX bytes, anything but printable
 * ASCII as '?'. SECURITY: never more, and for a word that starts like PASS
 * (any case) only "PASS": "PASS<TAB>secret" or "PASSsecret" carries a
 * password whatever the separator, and it must reach neither the log nor
 * the reply. */
static void shown_verb(const char *line, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; line[i] && line[i] != ' ' && i < DEFS_VERB_MAX && o + 1 < outsz; i++) {
        unsigned char c = (unsigned char)line[i];
        out[o++] = (c >= 0x21 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
    if (o >= 4 && sys_ieq_n(out, "PASS", 4)) {
        out[4] = '\0';
    }
}

/* Parses a line and finds its row. False (reply sent) for a line that is not
 * a command at all; p->c is NULL for an unknown verb. */
static bool parse_line(struct session *s, const char *line, struct parsed *p)
{
    if (!split_line(line, p->verb, &p->arg)) {
        char shown[DEFS_VERB_MAX + 1];
        shown_verb(line, shown, sizeof shown);
        info("malformed command line starting with '%s': a verb is 1-%d ASCII letters followed "
             "by a blank (the rest of the line is not shown)",
             shown, DEFS_VERB_MAX);
        reply(s, FTP_SYNTAX, "Unknown command '%s'", shown);
        return false;
    }
    p->c = find_cmd(p->verb, &p->arg);
    return true;
}

static const char *shown_name(const struct cmd *c, char *buf, size_t n)
{
    if (c->sub == NULL) {
        return c->verb;
    }
    (void)sys_fmt(buf, n, "%s %s", c->verb, c->sub);
    return buf;
}

/* The login rule an unknown name is held to. SECURITY: if any user's own
 * rule demands TLS for the login where the global rule does not, an
 * unknown name must get exactly that user's refusal in the clear, or
 * "530 ... requires TLS" would tell that the name exists (and a 331 would
 * ask for a password in the clear). */
static enum pol_tls unknown_user_rule(const struct policy *pol)
{
    if (pol_tls_login_required(pol->tls)) {
        return pol->tls;
    }
    for (size_t i = 0; i < pol->nusers; i++) {
        struct pol_effective eff;
        pol_effective(pol, &pol->users[i], &eff);
        if (pol_tls_login_required(eff.tls)) {
            return eff.tls;
        }
    }
    return pol->tls;
}

/* The TLS rule a row is judged by: the session's (global before USER, then
 * the user's), or for USER the named user's own. */
static enum pol_tls rule_for(const struct session *s, const struct cmd *c, const char *arg)
{
    if (!(c->flags & C_NAMED_USER)) {
        return s->login.tls_rule;
    }
    const struct pol_user *u = pol_find_user(s->pol, arg);
    if (!u) {
        return unknown_user_rule(s->pol);
    }
    struct pol_effective eff;
    pol_effective(s->pol, u, &eff);
    return eff.tls;
}

/* The TLS gates of SPEC §5: true if the command may go on in the clear. */
static bool tls_gates_pass(struct session *s, const struct cmd *c, const char *name,
                           enum pol_tls rule)
{
    if (s->ctrl_tls) {
        return true;
    }
    bool login_cmd = (c->flags & C_LOGIN_CMD) != 0;
    if (login_cmd && pol_tls_login_required(rule)) {
        info("refused %s in the clear: policy tls %s requires TLS before login", name,
             pol_tls_name(rule));
        reply(s, FTP_NOT_LOGGED_IN, "This server requires TLS (AUTH TLS) before login");
        return false;
    }
    if (pol_tls_ctrl_required(rule) && !(c->flags & C_CLEAR_OK) && !login_cmd) {
        info("refused %s in the clear: policy tls %s protects the control channel", name,
             pol_tls_name(rule));
        reply(s, FTP_POLICY_DENIED, "Policy requires a protected control channel: use AUTH TLS");
        return false;
    }
    return true;
}

/* The access gate (SPEC §5): every letter of the row, or any one of them. */
static bool access_ok(uint32_t have, const struct cmd *c)
{
    if (c->flags & C_ANY_LETTER) {
        return (have & c->access) != 0;
    }
    return (have & c->access) == c->access;
}

/* "550 Permission denied (STOR needs the 'w' or 'a' right)": which letters
 * the command needs, so the user can ask for the right one. */
static void reply_access_refused(struct session *s, const char *name, const char *letters, bool any)
{
    char shown[32];
    size_t pos = 0;
    shown[0] = '\0';
    for (size_t i = 0; letters[i]; i++) {
        const char *sep = i == 0 ? "" : (letters[i + 1] ? ", " : (any ? " or " : " and "));
        (void)sys_append(shown, sizeof shown, &pos, "%s'%c'", sep, letters[i]);
    }
    reply(s, FTP_FILE_UNAVAIL, "Permission denied (%s needs the %s right%s)", name, shown,
          letters[1] && !any ? "s" : "");
}

/* Runs every gate in order; true if the handler may run. */
static bool gates_pass(struct session *s, const struct cmd *c, const char *arg)
{
    char buf[DEFS_VERB_MAX * 2 + 2];
    const char *name = shown_name(c, buf, sizeof buf);
    enum pol_tls rule = rule_for(s, c, arg);
    if (!tls_gates_pass(s, c, name, rule)) {
        return false;
    }
    if ((c->flags & C_LOGIN) && !s->login.logged_in) {
        reply(s, FTP_NOT_LOGGED_IN, "Please log in with USER and PASS first");
        return false;
    }
    if (!access_ok(s->login.eff.access, c)) {
        char letters[8];
        pol_access_letters(c->access, letters, sizeof letters);
        info("%s refused: the user lacks the access letter%s '%s'", name, letters[1] ? "s" : "",
             letters);
        reply_access_refused(s, name, letters, (c->flags & C_ANY_LETTER) != 0);
        return false;
    }
    if ((c->flags & C_DATA) && pol_tls_data_required(rule) && !s->proto.prot_private) {
        info("%s refused under PROT C: policy tls %s protects data", name, pol_tls_name(rule));
        reply(s, FTP_NO_DATA_PROTECTION, "Data connections must be protected (PROT P)");
        return false;
    }
    if (c->arg == ARG_NEEDED && arg[0] == '\0') {
        reply(s, FTP_SYNTAX_ARG, "%s needs an argument", name);
        return false;
    }
    /* RANG is kept for HASH alone (hashcmd.c): a transfer after it would
     * move the whole file where the client expects a range, and a STOR
     * would overwrite what the range was to spare. */
    if ((c->flags & C_DATA) && s->proto.rang_set) {
        s->proto.rang_set = false;
        info("%s refused: RANG is pending, and ranges apply to HASH only", name);
        reply(s, FTP_NOT_IMPL_PARAM,
              "RANG applies to HASH only on this server; the range is reset, send %s again", name);
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
    struct parsed p;
    if (!parse_line(s, line, &p)) {
        return;
    }
    if (strcmp(p.verb, "PASS") == 0) {
        debug("<- PASS ****");
    } else {
        debug("<- %s", line);
    }
    if (!s->login.logged_in && is_foreign(p.verb)) {
        err("%s before login: another protocol's client is talking to us; closing", p.verb);
        reply(s, FTP_UNAVAILABLE, "This is an FTP server; closing the connection");
        s->quit = true;
        s->end_reason = "cross-protocol command";
        return;
    }
    if (!p.c) {
        info("unknown command '%s'", p.verb);
        reply(s, FTP_SYNTAX, "Unknown command '%s'", p.verb);
        return;
    }
    if (gates_pass(s, p.c, p.arg)) {
        p.c->fn(s, p.arg);
    }
    /* REST holds until the next transfer command (clients send PASV or
     * TYPE between REST and RETR); RNFR must be followed by RNTO at once. */
    if (p.c->flags & C_DATA) {
        s->proto.rest = 0;
    }
    if (!(p.c->flags & C_KEEPS_RNFR)) {
        s->proto.rnfr_set = false;
    }
}

/* The session's during_xfer callback (include/session.h): one control line
 * while a transfer runs, through the same table. */
static enum xfer_ctl dispatch_during_xfer(struct session *s)
{
    char line[DEFS_LINE_MAX];
    switch (ctrl_read_line(s, line, sizeof line, 0)) {
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
    struct parsed p;
    if (!parse_line(s, line, &p)) {
        return XFER_GO_ON;
    }
    if (!p.c || !p.c->during_xfer) {
        reply(s, FTP_BAD_SEQUENCE, "Transfer in progress: only ABOR, STAT, NOOP and QUIT now");
        return XFER_GO_ON;
    }
    return p.c->during_xfer(s, p.arg);
}

void cmd_help(struct session *s, const char *arg)
{
    (void)arg;
    reply_start(s, FTP_HELP, "The following commands are recognized:");
    char line[128];
    size_t pos = 0, shown = 0;
    line[0] = '\0';
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        /* Rows of one verb (STAT, SITE) are listed once. */
        if (i > 0 && strcmp(commands[i - 1].verb, commands[i].verb) == 0) {
            continue;
        }
        (void)sys_append(line, sizeof line, &pos, "%-5s", commands[i].verb);
        if (++shown % 10 == 0) {
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

/* The read timeout: what is left of the login grace before login, the idle
 * limit after. */
static int read_timeout(const struct session *s)
{
    if (s->login.logged_in) {
        return (int)s->pol->idle * 1000;
    }
    int64_t left = s->login_deadline_ms - sys_now_ms();
    return left > 0 ? (int)left : 0;
}

/* Acts on what the line reader returned other than a line. */
static void handle_no_line(struct session *s, enum ctrl_result r)
{
    switch (r) {
    case CTRL_TOO_LONG:
        info("line longer than %d bytes discarded", DEFS_LINE_MAX);
        reply(s, FTP_SYNTAX, "Line too long (limit %d bytes)", DEFS_LINE_MAX);
        return;
    case CTRL_BAD_CHAR:
        info("line with NUL or bare CR discarded");
        reply(s, FTP_SYNTAX, "Invalid character (NUL or bare CR) in command line");
        return;
    case CTRL_TIMEOUT:
        if (s->login.logged_in) {
            reply(s, FTP_UNAVAILABLE, "Timeout: idle for %u seconds; closing", s->pol->idle);
            s->end_reason = "idle timeout";
        } else {
            reply(s, FTP_UNAVAILABLE, "Timeout: login took longer than %u seconds; closing",
                  s->pol->login_grace);
            s->end_reason = "login grace expired";
        }
        break;
    case CTRL_EOF:
        s->end_reason = "client closed the connection";
        break;
    case CTRL_ERROR:
        s->end_reason = s->ctrl_tls ? "TLS error on the control connection" : "read error";
        if (s->ctrl_tls) {
            s->exit_code = EXIT_TLS;
        }
        break;
    case CTRL_LINE:
        return;
    }
    s->quit = true;
}

int ftp_session(struct session *s)
{
    char line[DEFS_LINE_MAX];
    s->during_xfer = dispatch_during_xfer;
    while (!s->quit) {
        enum ctrl_result r = ctrl_read_line(s, line, sizeof line, read_timeout(s));
        if (r == CTRL_LINE) {
            dispatch(s, line);
        } else {
            handle_no_line(s, r);
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
