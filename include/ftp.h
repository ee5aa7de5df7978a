/* The FTP command engine (ftp.c): the dispatch table with its gates and the
 * session loop. */
#ifndef FTPSD_FTP_H
#define FTPSD_FTP_H

struct session;

/* Runs the session (greeting already sent) until QUIT, EOF, a timeout or a
 * fatal error; closes the data channel and the control TLS. Returns the
 * exit code (SPEC §5). */
int ftp_session(struct session *s);

#endif
