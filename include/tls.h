/* TLS through mbed TLS, and nothing about FTP (STYLE.md habits 6 and 7): it
 * never writes an FTP reply; its callers decide when to call it and what to
 * say. Implemented by the tls*.c files (map in tls_priv.h); every difference
 * between mbed TLS 2.28 and 3.6 lives in them alone. */
#ifndef FTPSD_TLS_H
#define FTPSD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy.h"

struct tls_ctx;  /* process-wide: RNG, certificates, config, session cache */
struct tls_conn; /* one TLS connection (control or data) */

enum tls_role { TLS_ROLE_CONTROL, TLS_ROLE_DATA };

/* Return values of tls_read/tls_write besides a byte count. */
#define TLS_IO_ERROR (-1)     /* fatal: alert, bad record, I/O error */
#define TLS_IO_TRUNCATED (-2) /* peer closed TCP without close_notify */
#define TLS_IO_TIMEOUT (-3)   /* nothing within the timeout */

/* Seeds the DRBG from getrandom(2), loads certificates, keys, client CA and
 * opens the keylog file: everything that needs host paths, so call it before
 * chroot. On failure returns NULL with a message an admin can act on. */
struct tls_ctx *tls_init(const struct policy *pol, char *err, size_t errsz);
void tls_free(struct tls_ctx *ctx);

/* For `-t`: checks cipher names, tls-min against the build, and that every
 * certificate/key/CA loads; reports each problem through `report` (line 0
 * unless the directive's line is known). Returns the number of problems. */
int tls_check_policy(const struct policy *pol, pol_report_fn *report, void *rctx);

/* For `-t`: what sessions of this build offer under pol, as comment lines
 * (so the report still reads back as a policy): the TLS versions, after
 * tls-min, tls-max, 'ciphers' and the build's own limits, and the cipher
 * suites in the server's order, leaving out suites no certificate of the
 * policy can serve. */
void tls_print_offer(const struct policy *pol, FILE *out);

/* Why tls_accept failed, for the caller to map to a reply (data.c: 522 for
 * TLS_FAIL_NOT_RESUMED, 425 for the rest); err says it in words. */
enum tls_fail {
    TLS_FAIL_NONE,             /* the handshake succeeded */
    TLS_FAIL_INTERNAL,         /* out of memory, mbed TLS set-up: not the client's doing */
    TLS_FAIL_TIMEOUT,          /* the client sent nothing (more) within the timeout */
    TLS_FAIL_PEER_CLOSED,      /* the client closed or reset the connection */
    TLS_FAIL_NOT_TLS,          /* clear text, or an SSLv2-format hello */
    TLS_FAIL_OLD_VERSION,      /* only versions below TLS 1.2, or below tls-min 1.3 */
    TLS_FAIL_ALPN,             /* ALPN without "ftp" (ALPACA) */
    TLS_FAIL_NO_SHARED_CIPHER, /* no suite of the policy, or none our certificates serve */
    TLS_FAIL_NO_SHARED_GROUP,  /* neither X25519 nor P-256 */
    TLS_FAIL_CLIENT_CERT,      /* client-cert: none sent, or not trusted by client-ca */
    TLS_FAIL_ALERT,            /* the client sent a fatal alert (it refused our certificate...) */
    TLS_FAIL_NOT_RESUMED,      /* data-reuse required, and the data connection did not resume */
    TLS_FAIL_OTHER,            /* any other mbed TLS error, in err */
};

/* Server-side handshake on (rfd, wfd) within timeout_ms. Control
 * connections fill the one-entry session cache; data connections may only
 * resume from it (see tls_resumed). Logs the outcome (version, suite, group,
 * SNI, ALPN, client certificate) or a diagnosis of the failure, which is also
 * copied into err; *why (unless why is NULL) says which failure, or
 * TLS_FAIL_NONE. With `data-reuse required`, a data connection that does
 * not resume fails with TLS_FAIL_NOT_RESUMED on every version: TLS 1.3
 * refuses it in the handshake, a TLS 1.2 handshake completes and is then
 * ended with close_notify, so the client sees a clean end before the
 * caller's reply. NULL on failure. */
struct tls_conn *tls_accept(struct tls_ctx *ctx, int rfd, int wfd, enum tls_role role,
                            int timeout_ms, enum tls_fail *why, char *err, size_t errsz);

/* Reads decrypted bytes, waiting at most timeout_ms (-1: forever): >0 bytes,
 * 0 clean close_notify, or a TLS_IO_* value. */
ssize_t tls_read(struct tls_conn *c, void *buf, size_t n, int timeout_ms);
/* Writes all n bytes (whole records, up to 16 KiB each) within timeout_ms
 * (-1: none): n, TLS_IO_ERROR, or TLS_IO_TIMEOUT when the peer did not
 * read them in time (SECURITY: a peer that reads nothing must not hold the
 * session: the caller passes the login grace or the idle limit). */
ssize_t tls_write(struct tls_conn *c, const void *buf, size_t n, int timeout_ms);
/* Bytes already decrypted or received and waiting in the context: a poll
 * on the fd would not see them. */
bool tls_pending(const struct tls_conn *c);
/* True when the kernel carries the records this connection sends (kernel
 * TLS, policy `ktls auto`): a plain write or sendfile(2) on its fd then
 * makes TLS records. */
bool tls_kernel_tx(const struct tls_conn *c);

/* Sends close_notify; with wait_peer also waits (up to timeout_ms) for the
 * peer's close_notify, as CCC and REIN need. Returns true if the exchange
 * completed cleanly. Frees c either way; the fds stay open. */
bool tls_close(struct tls_conn *c, bool wait_peer, int timeout_ms);
/* Ends TLS on the control connection (CCC, REIN) and leaves it clear:
 * close_notify both ways. Clients differ in who goes first: lftp and curl
 * --ftp-ssl-ccc-mode active send theirs first, curl's default (passive)
 * mode waits for ours, never answers it and goes on with its next command
 * in the clear (ProFTPD issue #954 met the same clients). Such a command
 * is left unread for the clear line reader: PEER_SKIPPED. Nothing from the
 * client within timeout_ms counts as PEER_SKIPPED too. Frees c. */
#define TLS_CLEAR_CLIENT_FIRST_MS 200
enum tls_clear_result {
    TLS_CLEAR_CLEAN,
    TLS_CLEAR_PEER_SKIPPED,
    TLS_CLEAR_FAILED,
};
enum tls_clear_result tls_clear(struct tls_conn *c, int timeout_ms);
/* Frees c without sending anything (the connection is already broken). */
void tls_discard(struct tls_conn *c);

/* True if this data connection resumed the control connection's session. */
bool tls_resumed(const struct tls_conn *c);
/* SHA-256 of the client certificate presented; false if none. */
bool tls_peer_cert_sha256(const struct tls_conn *c, unsigned char out[32]);
/* SNI the client sent, or NULL. */
const char *tls_sni(const struct tls_conn *c);
/* "TLSv1.3 TLS1-3-CHACHA20-POLY1305-SHA256" for logs and STAT. */
void tls_describe(const struct tls_conn *c, char *buf, size_t n);

/* "mbed TLS 2.28.3" of the build. */
const char *tls_version_string(void);

/* --gen-cert: self-signed ECDSA P-256 certificate (SAN = name) and key (mode
 * 0600); writes "sha256:HEX" into fp. Returns false with a message. */
bool tls_gen_cert(const char *cert_path, const char *key_path, const char *name, char *fp,
                  size_t fpsz, char *err, size_t errsz);

#endif
