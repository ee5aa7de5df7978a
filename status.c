/* Commands that show or set how the session works (RFC 959, 2389, 3659):
 * NOOP, SYST, STAT, FEAT, OPTS, TYPE, MODE, STRU, ALLO, REST, ABOR and SITE
 * HELP, and the three that are answered while a transfer runs (STAT shows
 * its progress, ABOR stops it, NOOP keeps a client's timer happy). */
#include <inttypes.h>
#include <string.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "hashcmd.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "sys.h"
#include "tls.h"

void cmd_noop(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_OK, "NOOP ok");
}

enum xfer_ctl xfer_noop(struct session *s, const char *arg)
{
    cmd_noop(s, arg);
    return XFER_GO_ON;
}

void cmd_syst(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_SYST, "UNIX Type: L8");
}

void cmd_stat(struct session *s, const char *arg)
{
    (void)arg;
    reply_start(s, FTP_STAT_SYS, "ftpsd status:");
    reply_more(s, "Connected from %s", s->peer);
    if (s->login.logged_in) {
        reply_more(s, "Logged in as %s", s->login.username);
    } else {
        reply_more(s, "Not logged in");
    }
    if (s->ctrl_tls) {
        char d[DEFS_WHY_MAX];
        tls_describe(s->ctrl_tls, d, sizeof d);
        reply_more(s, "Control connection protected: %s", d);
    } else {
        reply_more(s, "Control connection in the clear%s", s->ccc_done ? " (after CCC)" : "");
    }
    reply_more(s, "Data protection: %s", s->proto.prot_private ? "Private" : "Clear");
    reply_more(s, "TYPE: %s, STRUcture: File, MODE: Stream",
               s->proto.type_ascii ? "ASCII" : "BINARY");
    reply(s, FTP_STAT_SYS, "End of status");
}

enum xfer_ctl xfer_stat(struct session *s, const char *arg)
{
    (void)arg;
    int64_t ms = sys_now_ms() - s->xfer.started_ms;
    reply(s, FTP_STAT_SYS, "%s %s: %llu bytes in %lld.%03lld s",
          s->xfer.upload ? "Receiving" : "Sending", s->xfer.vpath,
          (unsigned long long)s->xfer.bytes, (long long)(ms / 1000), (long long)(ms % 1000));
    return XFER_GO_ON;
}

void cmd_abor(struct session *s, const char *arg)
{
    (void)arg;
    /* During a transfer ABOR is xfer_abor's; here nothing is running. */
    reply(s, FTP_ABOR_OK, "No transfer to abort");
}

enum xfer_ctl xfer_abor(struct session *s, const char *arg)
{
    (void)arg;
    info("ABOR during transfer of %s", s->xfer.vpath);
    return XFER_ABORT;
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
    hash_feat(s);
    reply_more(s, "HOST");
    reply_more(s, "MDTM");
    reply_more(s, "MFMT");
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
        /* Names are bytes on disk, sent as they are: UTF-8 on every system
         * we serve. There is nothing to switch. */
        reply(s, FTP_OK, "Always in UTF8 mode");
        return;
    }
    if (sys_ieq(arg, "UTF8 OFF")) {
        reply(s, FTP_OK, "File names are sent as stored (UTF-8)");
        return;
    }
    if (sys_ieq_n(arg, "HASH", 4) && (arg[4] == '\0' || arg[4] == ' ')) {
        hash_opts(s, arg[4] == ' ' ? arg + 5 : "");
        return;
    }
    if (strncmp(arg, "MLST", 4) == 0 || strncmp(arg, "mlst", 4) == 0) {
        /* Every fact is always sent; clients ignore the ones they did not
         * ask for (RFC 3659 §7.9 allows a server to keep its set). */
        reply(s, FTP_OK, "MLST OPTS type;size;modify;perm;unique;");
        return;
    }
    reply(s, FTP_SYNTAX_ARG,
          "Option not understood; OPTS UTF8 ON, OPTS MLST and OPTS HASH are supported");
}

void cmd_type(struct session *s, const char *arg)
{
    if (sys_ieq(arg, "I") || sys_ieq(arg, "L 8") || sys_ieq(arg, "L8")) {
        s->proto.type_ascii = false;
        reply(s, FTP_OK, "Switching to Binary mode");
    } else if (sys_ieq(arg, "A") || sys_ieq(arg, "A N")) {
        s->proto.type_ascii = true;
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

void cmd_rest(struct session *s, const char *arg)
{
    uint64_t v;
    /* SECURITY: strict number (no sign, no blanks, no overflow) and at most
     * the largest off_t, so the offset can never wrap negative. */
    if (!pol_parse_number(arg, 10, 0, INT64_MAX, &v)) {
        s->proto.rest = 0;
        reply(s, FTP_SYNTAX_ARG, "REST needs a byte offset (a decimal number)");
        return;
    }
    s->proto.rest = v;
    reply(s, FTP_PENDING, "Restarting at %llu. Send STOR or RETR to resume", (unsigned long long)v);
}

void cmd_site_help(struct session *s, const char *arg)
{
    (void)arg;
    reply_start(s, FTP_HELP, "SITE commands:");
    reply_more(s, "CHMOD MODE PATH   change permission bits (no setuid/setgid/sticky)");
    reply_more(s, "HELP              this text");
    reply(s, FTP_HELP, "End");
}

void cmd_site_unknown(struct session *s, const char *arg)
{
    (void)arg;
    reply(s, FTP_SYNTAX, "Unknown SITE command; try SITE HELP");
}
