/* The data channel (STYLE.md habit 11): PASV/EPSV/PORT/EPRT, opening the
 * connection (TLS server on every protected one, resuming the control
 * session), and the one transfer loop with a fixed buffer per direction that
 * also watches the control connection for ABOR and STAT. */
#ifndef FTPSD_DATA_H
#define FTPSD_DATA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "session.h"

void data_init(struct data_state *d);
/* Closes a pending passive socket and forgets PORT (REIN, end of session). */
void data_reset(struct session *s);
/* True if PASV/EPSV/PORT/EPRT prepared a connection for the next transfer
 * (checked before the 150 reply, so "425 Use PASV first" comes alone). */
bool data_prepared(const struct session *s);

/* A data connection, open and (for PROT P) handshaken. One at a time. */
struct data_conn;

/* How a data operation ended. */
enum data_status {
    DATA_OK,        /* all bytes moved */
    DATA_EOF,       /* (receive) clean end: FIN in the clear, close_notify under TLS */
    DATA_ABORTED,   /* ABOR arrived on the control connection */
    DATA_TRUNCATED, /* (receive, TLS) the peer closed TCP without close_notify */
    DATA_TIMEOUT,   /* no progress for the policy's idle limit */
    DATA_ERROR,     /* I/O or TLS error (peer reset, alert, ...) */
};

/* Opens the connection prepared by PASV/EPSV/PORT/EPRT, after the caller's
 * 150 reply. On failure replies (425/426+226/522) itself and returns NULL.
 * The prepared passive socket or PORT target is used up either way. */
struct data_conn *data_open(struct session *s);
/* Writes all n bytes (n <= DEFS_XFER_BUF: one TLS record), watching the
 * control connection meanwhile. Replies nothing: the caller does, after its
 * own cleanup, with data_reply_failure(). */
enum data_status data_send(struct session *s, struct data_conn *dc, const void *buf, size_t n);
/* Plain binary downloads only (no TLS): sendfile(2) up to n bytes from fd at
 * *off, advancing *off; *sent = 0 at end of file. */
enum data_status data_sendfile(struct session *s, struct data_conn *dc, int fd, off_t *off,
                               size_t n, size_t *sent);
/* Reads up to cap bytes into buf (*got > 0 with DATA_OK), watching the
 * control connection; DATA_EOF at a clean end. */
enum data_status data_recv(struct session *s, struct data_conn *dc, void *buf, size_t cap,
                           size_t *got);
/* True if the connection is protected by TLS (sendfile impossible). */
bool data_is_tls(const struct data_conn *dc);
/* Orderly close after a complete transfer: close_notify under TLS, and for a
 * download waits (bounded) until the client has read everything, so the
 * kernel never resets unread data away. Returns false if that failed. */
bool data_close(struct session *s, struct data_conn *dc);
/* Closes at once without close_notify (after an error or ABOR). */
void data_abandon(struct session *s, struct data_conn *dc);
/* The failure reply for a status: 426 with a text saying why (and `after`,
 * e.g. "; nothing was stored", if not NULL); for DATA_ABORTED the RFC 959
 * pair "426 Transfer aborted" then "226 ABOR successful". */
void data_reply_failure(struct session *s, enum data_status st, const char *after);

/* Pure argument parsers (unit-tested). SECURITY: strict — exact field
 * counts, every number in range, no blanks, signs or overflow — because
 * uftpd's sscanf-based PORT parser was an overflow. */
/* "h1,h2,h3,h4,p1,p2": six decimal numbers 0..255 of 1-3 digits. */
bool data_parse_port(const char *arg, struct sockaddr_in *out);
/* RFC 2428 "<d>af<d>addr<d>port<d>" with d a printable ASCII delimiter (33..126)
 * and af 1 (IPv4) or 2 (IPv6). Returns 0, EINVAL (malformed) or
 * EAFNOSUPPORT (another af: answered 522). */
int data_parse_eprt(const char *arg, struct sockaddr_storage *out, socklen_t *len);

#endif
