/* Opening and closing the data connection that PASV/EPSV/PORT/EPRT prepared
 * (SPEC §3, §4.3): accept (only from the control peer) or connect, then on
 * protected connections the server side of TLS, which must resume the
 * control session (`data-reuse required`). The bytes in between are
 * xfer.c's. One connection at a time, in s->conn. */
#ifndef FTPSD_DATACONN_H
#define FTPSD_DATACONN_H

#include <stdbool.h>

struct session;

/* Opens the prepared connection, after the caller's 150 reply. On failure
 * replies (425/426+226/522) itself and returns false. The passive socket or
 * PORT target is used up either way. */
bool data_open(struct session *s);
/* Orderly close after a complete transfer: close_notify under TLS, and for a
 * download waits (bounded) until the client has read everything, so the
 * kernel never resets unread data away. Returns false if that failed. */
bool data_close(struct session *s);
/* Closes at once without close_notify (after an error or ABOR). */
void data_abandon(struct session *s);
/* Closes a pending passive socket and an open connection and forgets PORT
 * (REIN, end of session). */
void data_reset(struct session *s);

#endif
