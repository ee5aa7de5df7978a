/* Command handlers, one per verb. The dispatch table in ftp.c holds them
 * with their gates (login, TLS rule, access letter, allowed during a
 * transfer) and enforces the gates before any handler runs, so handlers
 * never re-check them (STYLE.md habit 5). `arg` is the text after the verb
 * and one blank ("" if none), at most DEFS_LINE_MAX bytes. */
#ifndef FTPSD_CMDS_H
#define FTPSD_CMDS_H

#include "session.h"

typedef void cmd_fn(struct session *s, const char *arg);

/* ftp.c: session, login, TLS and informational commands */
cmd_fn cmd_user, cmd_pass, cmd_acct, cmd_quit, cmd_rein, cmd_noop, cmd_syst, cmd_help,
    cmd_stat, cmd_feat, cmd_opts, cmd_type, cmd_mode, cmd_stru, cmd_allo, cmd_cwd, cmd_cdup,
    cmd_pwd, cmd_host, cmd_site, cmd_auth, cmd_pbsz, cmd_prot, cmd_ccc, cmd_sec_refused;

/* data.c: preparing data connections */
cmd_fn cmd_pasv, cmd_epsv, cmd_port, cmd_eprt;

/* files.c: transfers and file system commands */
cmd_fn cmd_retr, cmd_stor, cmd_stou, cmd_appe, cmd_rest, cmd_list, cmd_nlst, cmd_mlsd,
    cmd_mlst, cmd_size, cmd_mdtm, cmd_dele, cmd_mkd, cmd_rmd, cmd_rnfr, cmd_rnto, cmd_abor;

/* files.c: `SITE CHMOD MODE PATH` (SITE's dispatcher is in ftp.c). */
void files_site_chmod(struct session *s, const char *arg);
/* files.c: `STAT PATH` after login: a listing on the control connection. */
void files_stat_path(struct session *s, const char *arg);

/* ftp.c: called by the transfer loop when control input is waiting. Reads
 * one line and handles ABOR, STAT (progress), NOOP and QUIT; other commands
 * are answered 503 while a transfer runs. */
enum xfer_ctl ftp_xfer_command(struct session *s);

/* ftp.c: the session loop (greeting already sent). Returns the exit code. */
int ftp_session(struct session *s);

/* ftp.c: resolves a client path argument against cwd and checks it for
 * PATH_MAX (553) and NUL/CR/LF (501): replies and returns false on error. */
bool ftp_vpath(struct session *s, const char *arg, char *out, size_t outsz);

/* ftp.c: a path for a 257 reply, each '"' doubled (RFC 959 Appendix II). */
void ftp_quote_path(const char *in, char *out, size_t cap);

#endif
