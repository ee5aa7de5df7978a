/* What the tls*.c files share, and only they include (the rest of ftpsd
 * sees tls.h): the mbed TLS version switch, the build options TLS needs,
 * the record limit, the process-wide context and the connection, and the
 * helpers one file offers the others.
 *
 *   tls.c        the engine: bio, first record, session cache, tickets,
 *                keylog, accept/read/write/close, accessors
 *   tls_conf.c   tls_init/tls_free: DRBG, suites, certificates, configs
 *   tls_diag.c   what the log says about a handshake, and why one failed
 *   tls_admin.c  -t (tls_check_policy) and --gen-cert (tls_gen_cert)
 *   tls_ktls.c   kernel TLS for data connections: keys, hand-off, records
 *   tls_hello.c  the ClientHello parser (pure; tls_hello.h)
 *   tls_hash.c   SHA-256, HMAC (passwd.c's PBKDF2), hex, HASH's digests (tls_hash.h)
 *
 * Every difference between mbed TLS 2.28 and 3.6 stays in these files,
 * behind MBEDTLS_VERSION_NUMBER (STYLE.md habit 7). */
#ifndef FTPSD_TLS_PRIV_H
#define FTPSD_TLS_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define TLS_MBEDTLS3 1
#include <mbedtls/ssl_ticket.h>
#else
#define TLS_MBEDTLS3 0
#endif

#include "defs.h"
#include "policy.h"
#include "sys.h"
#include "tls.h"
#include "tls_hello.h"

/* TLS 1.3 is offered only where it can keep the data-reuse promise, i.e.
 * where tickets exist (TLS 1.3 resumes through tickets only). */
#if TLS_MBEDTLS3 && defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_SESSION_TICKETS) &&   \
    defined(MBEDTLS_SSL_TICKET_C)
#define TLS_HAVE_13 1
#else
#define TLS_HAVE_13 0
#endif

/* Build options the TLS layer cannot do without (STYLE.md habit 14). */
#if !defined(MBEDTLS_SSL_SRV_C) || !defined(MBEDTLS_SSL_PROTO_TLS1_2)
#error "ftpsd needs the TLS 1.2 server: MBEDTLS_SSL_SRV_C and MBEDTLS_SSL_PROTO_TLS1_2"
#endif
#if !defined(MBEDTLS_CTR_DRBG_C) || !defined(MBEDTLS_X509_CRT_PARSE_C) || !defined(MBEDTLS_SHA256_C)
#error "ftpsd needs MBEDTLS_CTR_DRBG_C, MBEDTLS_X509_CRT_PARSE_C and MBEDTLS_SHA256_C"
#endif
#if !defined(MBEDTLS_SSL_ALPN)
#error "ftpsd needs MBEDTLS_SSL_ALPN: ALPN 'ftp' is the ALPACA mitigation of SPEC §4.5"
#endif
#if !defined(MBEDTLS_SSL_SERVER_NAME_INDICATION)
#error "ftpsd needs MBEDTLS_SSL_SERVER_NAME_INDICATION (SNI is logged and compared with HOST)"
#endif
#if !defined(MBEDTLS_SSL_EXTENDED_MASTER_SECRET)
#error "ftpsd needs MBEDTLS_SSL_EXTENDED_MASTER_SECRET (SPEC §4.5)"
#endif
#if !defined(MBEDTLS_SSL_KEEP_PEER_CERTIFICATE)
#error "ftpsd needs MBEDTLS_SSL_KEEP_PEER_CERTIFICATE: certificate logins hash the client's DER"
#endif
#if !defined(MBEDTLS_X509_CRT_WRITE_C) || !defined(MBEDTLS_PEM_WRITE_C) || !defined(MBEDTLS_ECP_C)
#error "ftpsd --gen-cert needs MBEDTLS_X509_CRT_WRITE_C, MBEDTLS_PEM_WRITE_C and MBEDTLS_ECP_C"
#endif
#if !TLS_MBEDTLS3 && !defined(MBEDTLS_SSL_EXPORT_KEYS)
#error "ftpsd's keylog needs MBEDTLS_SSL_EXPORT_KEYS on mbed TLS 2.x"
#endif
#if defined(MBEDTLS_ZLIB_SUPPORT)
#error "TLS compression must be off (CRIME): build mbed TLS without MBEDTLS_ZLIB_SUPPORT"
#endif

/* The TLS record limit (RFC 8446 §5.1); the tunable limits are DEFS_TLS_*
 * in defs.h. */
#define TLS_REC_MAX 16384               /* TLS plaintext record limit */
#define TLS_HELLO_BUF (5 + TLS_REC_MAX) /* the first record, header included */

/* The reason both TLS 1.2 and 1.3 give for TLS_FAIL_NOT_RESUMED. */
#define TLS_MSG_NOT_RESUMED                                                                        \
    "data connection did not resume the control connection's TLS session (data-reuse required)"

struct tls_ctx {
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt crt[POL_MAX_CERTS];
    mbedtls_pk_context pk[POL_MAX_CERTS];
    int ncert;
    bool have_ec, have_rsa;
    mbedtls_x509_crt ca;
    /* [role][v13]: v13 = 1 only on TLS 1.3 builds, for ClientHellos that
     * offer TLS 1.3; those configurations are TLS 1.3 only and carry the
     * ticket callbacks, so TLS 1.2 never sees a ticket. */
    mbedtls_ssl_config conf[2][2];
#if TLS_HAVE_13
    mbedtls_ssl_ticket_context ticket;
    bool ticket_ready;
#endif
    int suites[DEFS_TLS_SUITES_MAX]; /* 0-terminated, as mbed TLS wants it */
    size_t nsuites;
    /* The TLS 1.3 configurations' list: the one suite picked for the
     * handshake at hand, so that the server's order wins in TLS 1.3 too
     * (mbed TLS follows the client's). */
    int suites13[DEFS_TLS_SUITES_MAX];
    int ctrl_suite; /* the control session's suite: data connections resume it */
    /* Kernel TLS: the policy says `ktls auto`, and the kernel has the ULP
     * (probed in tls_init); why not, for the log. */
    bool ktls_policy;
    bool ktls;
    char ktls_why[64];
    bool allow13; /* this build and policy do TLS 1.3 */
    int tls_min;
    enum pol_client_cert client_cert;
    bool data_reuse_required;
    int keylog_fd;
    bool keylog_failed;
    /* The one-entry session cache: the control connection's TLS 1.2
     * session, saved with mbedtls_ssl_session_save. */
    unsigned char cache_id[32];
    size_t cache_id_len;
    unsigned char *cache_blob;
    size_t cache_len;
    /* The connection mbed TLS is working on: the cache, ticket and 2.28
     * key-export callbacks only get ctx. One process runs one mbed TLS call
     * at a time, so one pointer is enough. */
    struct tls_conn *cur;
    /* The first record of the ClientHello being handled. */
    struct tls_hello hello;
    size_t hello_len, hello_off;
    unsigned char hello_buf[TLS_HELLO_BUF];
};

/* What mbed TLS exported of a data connection's keys, for kernel TLS. */
struct tls_ktls_secrets {
    bool have_ms, have_kb, have_c13, have_s13;
    unsigned char ms[48], cr[32], sr[32]; /* TLS 1.2 master secret and randoms */
    unsigned char kb[2 * 32 + 2 * 12];    /* 2.28's TLS 1.2 key block (AEAD: no MAC keys) */
    size_t kb_keylen, kb_ivlen;
    unsigned char c13[48], s13[48]; /* TLS 1.3 application traffic secrets */
    size_t len13;
};

struct tls_conn {
    mbedtls_ssl_context ssl; /* first member: callbacks map ssl back to conn */
    struct tls_ctx *ctx;
    int rfd, wfd;
    enum tls_role role;
    int64_t deadline; /* sys_now_ms() limit of the current call, -1 none */
    bool timed_out;   /* an I/O wait reached the deadline */
    bool eof;         /* the peer closed TCP (read returned 0) */
    int io_errno;     /* errno of a failed read or write */
    bool from_hello;  /* recv serves ctx->hello_buf first */
    bool sent;        /* we sent something during the handshake */
    bool cache_hit;   /* the cache get callback returned our entry */
    bool full_hs;     /* the cache set callback ran: a full handshake */
    bool ticket_ok;   /* one of this process's tickets was presented */
    bool resumed;
    bool peer_ok;     /* a client certificate verified against client-ca */
    bool peer_closed; /* close_notify received */
    bool alert_next;  /* the last read was a clear 2-byte alert header */
    int clear_alert;  /* a fatal alert the peer sent in clear, -1 none */
    bool has_sni;
    char sni[DEFS_HOST_MAX];
    struct tls_ktls_secrets ks;
    bool ktls_ulp;         /* the TLS ULP is on the socket (no keys yet) */
    bool ktls_tx, ktls_rx; /* the kernel carries the records we send / receive */
    char ktls_why[96];     /* why not, for the log */
};

/* The files call down this list, never up: tls_admin.c, tls_conf.c,
 * tls.c, tls_ktls.c, tls_diag.c (mk/lint.py checks the call graph has no
 * cycle). */

/* ------------------------------------------------------------ tls.c */

/* Empties the one-entry session cache, wiping the saved session. */
void tls_cache_clear(struct tls_ctx *ctx);
/* Installs the engine's callbacks on a configuration: SNI, the session
 * cache, the 2.28 key export and, for v13 configurations, the tickets. */
void tls_conf_hooks(struct tls_ctx *ctx, mbedtls_ssl_config *conf, enum tls_role role, int v13);

/* ------------------------------------------------------------ tls_conf.c */

/* psa_crypto_init (3.x) and a CTR_DRBG seeded from getrandom(2); false
 * with a message. */
bool tls_rng_seed(mbedtls_ctr_drbg_context *drbg, char *msg, size_t n);
/* A suite id from an mbed TLS, IANA or OpenSSL name, any case; 0 if this
 * build does not know it. */
int tls_suite_id(const char *name);
/* The policy's suite list (or the default, in the order that is fastest
 * for the data path: `kernel` when kernel TLS carries it) into out[],
 * 0-terminated;
 * false with a message naming the first unknown suite. *has13 / *has12
 * say whether TLS 1.3 / TLS 1.2 suites are in it. */
bool tls_build_suites(const struct policy *pol, bool kernel, int *out, size_t *nout, bool *has13,
                      bool *has12, char *msg, size_t msgsz);
/* client-cert optional/required needs client-ca; false with a message. */
bool tls_check_client_ca(const struct policy *pol, char *msg, size_t n);
/* tls-min against the build and the suites; false with a message. */
bool tls_check_min(const struct policy *pol, bool has13, bool has12, char *msg, size_t n);
/* Loads a certificate file (`what` names the directive in messages). */
bool tls_load_crt(mbedtls_x509_crt *crt, const char *what, const char *path, char *msg, size_t n);
/* Loads an unencrypted private key. */
bool tls_load_key(mbedtls_pk_context *pk, const char *path, mbedtls_ctr_drbg_context *drbg,
                  char *msg, size_t n);
/* Whether the key belongs to the certificate; `thorough` (for -t) also
 * proves it with mbedtls_pk_check_pair. */
bool tls_check_pair(mbedtls_x509_crt *crt, mbedtls_pk_context *pk, const char *cpath,
                    const char *kpath, mbedtls_ctr_drbg_context *drbg, bool thorough, char *msg,
                    size_t n);

/* ------------------------------------------------------------ tls_ktls.c */

/* Whether kernel TLS can be used at all: `ktls auto` and a kernel with the
 * TLS ULP (probed once, before chroot; as root this loads tls.ko). */
void tls_ktls_probe(struct tls_ctx *ctx, const struct policy *pol);
/* The key-export callbacks' findings, kept for data connections under
 * `ktls auto`: the TLS 1.2 master secret and randoms (3.6, and 2.28), the
 * TLS 1.2 key block (2.28), a TLS 1.3 application traffic secret (3.6). */
void tls_ktls_note12(struct tls_conn *c, const unsigned char *ms, size_t len,
                     const unsigned char cr[32], const unsigned char sr[32]);
void tls_ktls_note_block(struct tls_conn *c, const unsigned char *kb, size_t maclen, size_t keylen,
                         size_t ivlen);
void tls_ktls_note13(struct tls_conn *c, bool client, const unsigned char *secret, size_t len);
/* The suite a connection agreed (IANA id). */
int tls_conn_suite(const struct tls_conn *c);
/* Before a TLS 1.3 handshake: ctx->suites13 becomes the one suite of ours
 * that comes first in our order among those the client offers (for a data
 * connection the control session's, which resumption needs), so the
 * server's order wins in TLS 1.3 as in TLS 1.2. */
void tls_ktls_pick13(struct tls_ctx *ctx, enum tls_role role);
/* Before a data handshake: the TLS ULP on the socket (c->ktls_ulp), or why
 * not in c->ktls_why. */
void tls_ktls_attach(struct tls_conn *c);
/* After a data handshake: hands the records to the kernel where it can
 * (c->ktls_tx, c->ktls_rx), else says why in c->ktls_why. */
void tls_ktls_start(struct tls_conn *c);
/* tls_read / tls_write / close_notify through the kernel, with tls.h's
 * return values; reads wait until c->deadline. */
ssize_t tls_ktls_read(struct tls_conn *c, void *buf, size_t n);
ssize_t tls_ktls_write(struct tls_conn *c, const void *buf, size_t n);
bool tls_ktls_close_notify(struct tls_conn *c);

/* ------------------------------------------------------------ tls_diag.c */

/* "what: -0x7780 SSL - A fatal alert message was received from our peer" */
void tls_fmt_error(char *out, size_t n, int ret, const char *what);
/* TLS 1.3 suite ids (0x1301-0x1305). */
bool tls_suite_is13(int id);
/* The suite's mbed TLS name, or its hex id written into buf. */
const char *tls_suite_name(int id, char *buf, size_t n);

/* Why a handshake failed, in an administrator's words (into msg), from
 * what the ClientHello offered and what mbed TLS returned (ret). */
enum tls_fail tls_diagnose(struct tls_conn *c, int ret, char *msg, size_t n);
/* The info() line of a successful handshake. */
void tls_log_success(const struct tls_conn *c);

/* What is left of the current call's deadline in ms (-1: none), and a wait
 * for fd within it: 1 ready, 0 timeout, -1 error. */
static inline int tls_left_ms(const struct tls_conn *c)
{
    if (c->deadline < 0) {
        return -1;
    }
    int64_t d = c->deadline - sys_now_ms();
    return d <= 0 ? 0 : (d > INT_MAX ? INT_MAX : (int)d);
}

static inline int tls_wait_fd(const struct tls_conn *c, int fd, bool for_write)
{
    return sys_wait_fd(fd, for_write, tls_left_ms(c));
}

#endif
