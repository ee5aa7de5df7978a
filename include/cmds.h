/* Command handlers, one per verb (or SITE subcommand). The dispatch table in
 * ftp.c holds them with their gates (TLS rule, login, access letters, data
 * protection, argument) and enforces the gates before any handler runs, so
 * handlers never re-check them (STYLE.md habit 5). `arg` is the text after
 * the verb and one blank ("" if none; for SITE subcommands the text after
 * the subcommand), at most DEFS_LINE_MAX bytes. */
#ifndef FTPSD_CMDS_H
#define FTPSD_CMDS_H

#include "session.h"

typedef void cmd_fn(struct session *s, const char *arg);
/* A handler for a command that arrives while a transfer runs. */
typedef enum xfer_ctl xfer_cmd_fn(struct session *s, const char *arg);

/* login.c: the session's lifecycle */
cmd_fn cmd_user, cmd_pass, cmd_acct, cmd_quit, cmd_rein, cmd_host;
xfer_cmd_fn xfer_quit;

/* ftps.c: RFC 2228 / RFC 4217 */
cmd_fn cmd_auth, cmd_pbsz, cmd_prot, cmd_ccc, cmd_sec_refused;

/* status.c: status and session parameters */
cmd_fn cmd_noop, cmd_syst, cmd_stat, cmd_feat, cmd_opts, cmd_type, cmd_mode, cmd_stru, cmd_allo,
    cmd_rest, cmd_abor, cmd_site_help, cmd_site_unknown;
xfer_cmd_fn xfer_noop, xfer_stat, xfer_abor;

/* dataport.c: preparing data connections */
cmd_fn cmd_pasv, cmd_epsv, cmd_port, cmd_eprt;

/* retr.c, upload.c: transfers */
cmd_fn cmd_retr, cmd_stor, cmd_stou, cmd_appe;

/* listing.c: listings (STAT PATH is a listing on the control connection) */
cmd_fn cmd_list, cmd_nlst, cmd_mlsd, cmd_mlst, cmd_stat_path;

/* fscmds.c: the small file-system commands */
cmd_fn cmd_cwd, cmd_cdup, cmd_pwd, cmd_size, cmd_mdtm, cmd_dele, cmd_mkd, cmd_rmd, cmd_rnfr,
    cmd_rnto, cmd_site_chmod, cmd_mfmt;

/* hashcmd.c: HASH and RANG (OPTS HASH and the FEAT line: hashcmd.h) */
cmd_fn cmd_hash, cmd_rang;

/* ftp.c: HELP lists the table */
cmd_fn cmd_help;

#endif
