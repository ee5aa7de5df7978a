/* The session's lifecycle: USER, PASS, ACCT, HOST, REIN and QUIT (RFC 959,
 * RFC 7151, RFC 4217 §13, SPEC §5). Logins by password (PBKDF2, constant
 * time, the same cost and reply for unknown users), by client certificate
 * (cert=) and anonymous; failed logins wait longer each time and end the
 * session after max-tries. The TLS rule a user must meet has been checked
 * by the dispatcher before USER and PASS run. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "dataconn.h"
#include "log.h"
#include "passwd.h"
#include "path.h"
#include "policy.h"
#include "session.h"
#include "sys.h"
#include "sys_fs.h"
#include "tls.h"

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

/* The session starts in home= when it is a directory beneath the root.
 * Otherwise in "/", with a warning: a home renamed or removed on the host
 * must not lock its user out. SECURITY: opened beneath the root like any
 * client path, so a home reached through a symlink that leads out of the
 * root is refused, not entered. */
static void enter_home(struct sess_login *l)
{
    const char *home = l->eff.home != NULL ? l->eff.home : "/";
    (void)sys_copy(l->cwd, sizeof l->cwd, "/");
    if (strcmp(home, "/") == 0) {
        return;
    }
    int fd = path_open(l->root_fd, home, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) {
        warn("home %s of %s: %s; the session starts in /", home, l->username,
             errno == EXDEV || errno == ELOOP ? "leads outside the root" : strerror(errno));
        return;
    }
    sys_closep(&fd);
    (void)sys_copy(l->cwd, sizeof l->cwd, home);
}

static bool finish_login(struct session *s, int code, const char *how)
{
    struct sess_login *l = &s->login;
    int fd = sys_open(l->eff.root, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) {
        err("login of %s failed: root %s: %s", l->username, l->eff.root, strerror(errno));
        reply(s, FTP_NOT_LOGGED_IN,
              "Login failed: your root directory is unavailable; tell the administrator");
        session_logout(s);
        return false;
    }
    l->root_fd = fd;
    l->logged_in = true;
    s->logged_in_once = true;
    l->user_given = false;
    log_set_user(l->username);
    enter_home(l);
    char letters[8];
    pol_access_letters(l->eff.access, letters, sizeof letters);
    info("logged in (%s), root %s, start in %s, access %s, tls %s", how, l->eff.root, l->cwd,
         letters, pol_tls_name(l->tls_rule));
    if (code == FTP_LOGIN_SECDATA) {
        reply(s, code, "User logged in, authorized by security data exchange");
    } else {
        reply(s, code, "Login successful");
    }
    return true;
}

/* True if the control handshake's client certificate is the one cert= of
 * user u names (and verified against client-ca). */
static bool cert_matches(const struct session *s, const struct pol_user *u)
{
    unsigned char fp[32];
    if (!u->has_cert || !s->ctrl_tls || !tls_peer_cert_sha256(s->ctrl_tls, fp)) {
        return false;
    }
    /* Not secret, but compared in constant time all the same. */
    unsigned char diff = 0;
    for (size_t i = 0; i < sizeof fp; i++) {
        diff |= (unsigned char)(fp[i] ^ u->cert_sha256[i]);
    }
    if (diff != 0) {
        info("client certificate does not match cert= of user %s", u->name);
    }
    return diff == 0;
}

void cmd_user(struct session *s, const char *arg)
{
    struct sess_login *l = &s->login;
    if (l->logged_in) {
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
    (void)sys_copy(l->username, sizeof l->username, arg);
    l->user = u;
    l->eff = eff;
    /* The user's own rule applies from USER on (SPEC §5). */
    l->tls_rule = eff.tls;
    l->user_given = true;
    if (u && cert_matches(s, u)) {
        (void)finish_login(s, FTP_LOGIN_SECDATA, "client certificate");
        return;
    }
    if (u && u->anonymous) {
        reply(s, FTP_NEED_PASS, "Anonymous login ok, send your e-mail address as password");
    } else {
        reply(s, FTP_NEED_PASS, "Password required for %s", l->username);
    }
}

void cmd_pass(struct session *s, const char *arg)
{
    struct sess_login *l = &s->login;
    if (l->logged_in) {
        reply(s, FTP_NOT_NEEDED, "Already logged in");
        return;
    }
    if (!l->user_given) {
        reply(s, FTP_BAD_SEQUENCE, "Login with USER first");
        return;
    }
    const struct pol_user *u = l->user;
    size_t len = strnlen(arg, DEFS_PASSWORD_MAX + 1);
    bool ok = false;
    if (u && u->anonymous) {
        ok = true;
    } else if (u && u->has_password && len <= DEFS_PASSWORD_MAX) {
        ok = pw_verify(&u->password, arg, len);
        /* SECURITY: a wrong password costs the slowest hash of the policy,
         * whatever this user's count, so that neither an unknown name (which
         * costs that too, below) nor a user with a cheaper hash can be told
         * from another by the time the reply takes. */
        if (!ok && u->password.iterations < s->max_iterations) {
            pw_waste(s->max_iterations - u->password.iterations, arg, len);
        }
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
    info("failed login #%u for %s%s", s->failed_logins, l->username, u ? "" : " (unknown user)");
    session_logout(s);
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

void cmd_host(struct session *s, const char *arg)
{
    if (s->login.logged_in || s->login.user_given) {
        reply(s, FTP_BAD_SEQUENCE, "HOST must come before USER");
        return;
    }
    if (strlen(arg) >= sizeof s->proto.host) {
        reply(s, FTP_SYNTAX_ARG, "Host name too long");
        return;
    }
    if (s->ctrl_tls && s->sni[0] && !sys_ieq(arg, s->sni)) {
        info("HOST %s differs from the TLS SNI name %s", arg, s->sni);
        reply(s, FTP_NOT_IMPL_PARAM, "HOST %s does not match the TLS server name %s", arg, s->sni);
        return;
    }
    (void)sys_copy(s->proto.host, sizeof s->proto.host, arg);
    s->proto.host_given = true;
    info("HOST %s", arg);
    reply(s, FTP_GREETING, "Host accepted");
}

void cmd_rein(struct session *s, const char *arg)
{
    (void)arg;
    data_reset(s);
    session_rein(s);
    /* SECURITY: the grace counts from the connection until a login
     * succeeds; REIN before one must not restart it, or a client that
     * sends REIN every few seconds holds a session slot forever. After a
     * login the client has proved it holds credentials: a new grace. */
    if (s->logged_in_once) {
        s->login_deadline_ms = sys_now_ms() + (int64_t)s->pol->login_grace * 1000;
    }
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

void cmd_quit(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_GOODBYE, "Goodbye");
    s->quit = true;
    s->end_reason = "QUIT";
}

enum xfer_ctl xfer_quit(struct session *s, const char *arg)
{
    (void)arg;
    /* RFC 959: the transfer finishes and is answered first; the 221 follows
     * it (ftp.c). */
    s->quit = true;
    s->quit_reply_pending = true;
    s->end_reason = "QUIT during a transfer";
    return XFER_QUIT;
}
