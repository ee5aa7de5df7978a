/* Preparing the data connection (SPEC §3, §4.3; RFC 959, RFC 2428): PASV and
 * EPSV open one listening socket on the control connection's own local
 * address; PORT and EPRT name a target that may only be the control peer
 * itself, on an unprivileged port. The connection itself is opened by
 * dataconn.c for the next transfer command. The handlers are in cmds.h. */
#ifndef FTPSD_DATAPORT_H
#define FTPSD_DATAPORT_H

#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct session;
struct pasv_addrs;

/* True if PASV/EPSV/PORT/EPRT prepared a connection for the next transfer
 * (checked before the 150 reply, so "425 Use PASV first" comes alone). */
bool data_prepared(const struct session *s);

/* Pure argument parsers (unit-tested, fuzzed). SECURITY: strict — exact
 * field counts, every number in range, no blanks, signs or overflow —
 * because uftpd's sscanf-based PORT parser was an overflow. */
/* "h1,h2,h3,h4,p1,p2": six decimal numbers 0..255 of 1-3 digits. */
bool data_parse_port(const char *arg, struct sockaddr_in *out);
/* RFC 2428 "<d>af<d>addr<d>port<d>" with d a printable ASCII delimiter
 * (33..126, not a digit) and af 1 (IPv4) or 2 (IPv6). Returns 0, EINVAL
 * (malformed) or EAFNOSUPPORT (another af: answered 522). */
int data_parse_eprt(const char *arg, struct sockaddr_storage *out, socklen_t *len);

/* The address a 227 reply names for a client at `peer`: pasv-address's
 * private answer for peers in private ranges (pol_pasv_private_peer) when
 * there is one, else its public one, else `local` (the control
 * connection's own local address). Pure. */
struct in_addr data_pasv_address(const struct pasv_addrs *a, const struct sockaddr_storage *peer,
                                 struct in_addr local);

#endif
