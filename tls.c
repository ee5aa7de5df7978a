/* STUB — replaced by the TLS work. */
#include "tls.h"
#include "sys.h"
struct tls_ctx *tls_init(const struct policy *pol, char *err, size_t errsz) { (void)pol; sys_copy(err, errsz, "TLS not built yet"); return NULL; }
void tls_free(struct tls_ctx *ctx) { (void)ctx; }
int tls_check_policy(const struct policy *pol, pol_report_fn *report, void *rctx) { (void)pol; (void)report; (void)rctx; return 0; }
struct tls_conn *tls_accept(struct tls_ctx *ctx, int rfd, int wfd, enum tls_role role, int timeout_ms, char *err, size_t errsz) { (void)ctx; (void)rfd; (void)wfd; (void)role; (void)timeout_ms; sys_copy(err, errsz, "stub"); return NULL; }
ssize_t tls_read(struct tls_conn *c, void *buf, size_t n, int timeout_ms) { (void)c; (void)buf; (void)n; (void)timeout_ms; return TLS_IO_ERROR; }
ssize_t tls_write(struct tls_conn *c, const void *buf, size_t n) { (void)c; (void)buf; (void)n; return TLS_IO_ERROR; }
bool tls_pending(const struct tls_conn *c) { (void)c; return false; }
bool tls_close(struct tls_conn *c, bool wait_peer, int timeout_ms) { (void)c; (void)wait_peer; (void)timeout_ms; return false; }
void tls_discard(struct tls_conn *c) { (void)c; }
bool tls_resumed(const struct tls_conn *c) { (void)c; return false; }
bool tls_peer_cert_sha256(const struct tls_conn *c, unsigned char out[32]) { (void)c; (void)out; return false; }
const char *tls_sni(const struct tls_conn *c) { (void)c; return NULL; }
void tls_describe(const struct tls_conn *c, char *buf, size_t n) { (void)c; sys_copy(buf, n, "stub"); }
const char *tls_version_string(void) { return "stub"; }
bool tls_gen_cert(const char *cert_path, const char *key_path, const char *name, char *fp, size_t fpsz, char *err, size_t errsz) { (void)cert_path; (void)key_path; (void)name; (void)fp; (void)fpsz; sys_copy(err, errsz, "stub"); return false; }
