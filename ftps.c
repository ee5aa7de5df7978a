/* FTP over TLS, the commands of RFC 2228 and RFC 4217: AUTH, PBSZ, PROT and
 * CCC, and the refusal of ADAT, MIC, CONF and ENC. tls.c does the TLS; this
 * file decides when, with the order and replies RFC 4217 and SPEC §5 ask
 * for (AUTH SSL/TLS-P set PROT P, PBSZ before PROT, CCC clear for good). */
#include <string.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "sys.h"
#include "tls.h"

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
    int timeout = s->login.logged_in ? (int)s->pol->idle * 1000 : (int)(left > 0 ? left : 1);
    char why[DEFS_WHY_MAX * 2];
    struct tls_conn *c = tls_accept(s->tls, s->ctrl_rfd, s->ctrl_wfd, TLS_ROLE_CONTROL, timeout,
                                    NULL, why, sizeof why);
    if (!c) {
        err("TLS handshake on the control connection failed: %s", why);
        s->quit = true;
        s->exit_code = EXIT_TLS;
        s->end_reason = "TLS handshake failed";
        return;
    }
    s->ctrl_tls = c;
    const char *sni = tls_sni(c);
    (void)sys_copy(s->sni, sizeof s->sni, sni ? sni : "");
    if (s->proto.host_given && s->sni[0] && !sys_ieq(s->proto.host, s->sni)) {
        warn("HOST %s given before AUTH differs from the TLS SNI name %s", s->proto.host, s->sni);
    }
    if (tls_p) {
        s->proto.pbsz_done = true;
        s->proto.prot_private = true;
    }
    /* A login half-done in the clear starts over under TLS. */
    if (!s->login.logged_in) {
        session_logout(s);
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
    s->proto.pbsz_done = true;
    reply(s, FTP_OK, "PBSZ=0");
}

void cmd_prot(struct session *s, const char *arg)
{
    if (!s->ctrl_tls && !s->ccc_done) {
        reply(s, FTP_BAD_SEQUENCE, "PROT needs AUTH TLS first");
        return;
    }
    if (!s->proto.pbsz_done) {
        reply(s, FTP_BAD_SEQUENCE, "PROT needs PBSZ first (send PBSZ 0)");
        return;
    }
    if (sys_ieq(arg, "P")) {
        s->proto.prot_private = true;
        reply(s, FTP_OK, "Protection level set to Private");
    } else if (sys_ieq(arg, "C")) {
        s->proto.prot_private = false;
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
    enum pol_tls rule = s->login.tls_rule;
    enum pol_ccc ccc = pol_tls_ccc(rule);
    if (ccc == POL_CCC_TLS_OFF || !s->tls) {
        reply(s, FTP_CCC_DENIED, "CCC not available: TLS is off");
        return;
    }
    if (ccc == POL_CCC_REFUSED) {
        info("CCC refused: policy tls %s protects the control channel", pol_tls_name(rule));
        reply(s, FTP_POLICY_DENIED, "CCC refused: policy requires a protected control channel");
        return;
    }
    if (!s->ctrl_tls) {
        reply(s, FTP_CCC_DENIED, "Control channel is not protected; nothing to clear");
        return;
    }
    if (!s->login.logged_in) {
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
         r == TLS_CLEAR_PEER_SKIPPED ? " (the client sent no close_notify: curl's default CCC mode)"
                                     : "");
}

void cmd_sec_refused(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_NOT_IMPL, "Only AUTH TLS is supported; ADAT, MIC, CONF and ENC are not");
}
