/* ftpsd-inetd: one FTPS session on the connection a super-server handed us.
 *
 * Entry point and the privilege order (STYLE.md habit 8, SPEC §4.1), in one
 * function, in this order and nowhere else: find the control fd; read the
 * policy, certificates and keys, open host-path files (keylog, xferlog);
 * resolve `run-as`; setgroups; chroot; setgid; setuid; verify root cannot
 * come back; enter the seccomp sandbox; only then send the greeting and read
 * a client byte. pasv-address host names are looked up before chroot (the
 * resolver needs the host's files; pasvaddr.c). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftp.h"
#include "codes.h"
#include "ctrl.h"
#include "log.h"
#include "passwd.h"
#include "pasvaddr.h"
#include "policy.h"
#include "session.h"
#include "slots.h"
#include "startup.h"
#include "sys.h"
#include "sys_fs.h"
#include "sys_net.h"
#include "sys_proc.h"
#include "sys_sandbox.h"
#include "tls.h"
#include "tls_hash.h"

static struct session sess;
static struct policy pol;

static void usage(FILE *f)
{
    fprintf(f, "usage: ftpsd-inetd [-f POLICY]          serve one session (inetd / systemd)\n"
               "       ftpsd-inetd -t [-f POLICY]       check the policy and print it\n"
               "       ftpsd-inetd --hash-password [-i N]  hash a password read on stdin\n"
               "       ftpsd-inetd --gen-cert CERT KEY [NAME]  self-signed ECDSA P-256\n"
               "       ftpsd-inetd -V                   version\n");
}

static void report_stderr(void *ctx, const char *file, int line, const char *msg)
{
    (void)ctx;
    if (line > 0) {
        fprintf(stderr, "%s:%d: %s\n", file, line, msg);
    } else {
        fprintf(stderr, "%s: %s\n", file, msg);
    }
}

/* Policy errors at session start are kept until the policy's own `log`
 * directive (if it parsed) says where they go. */
struct early_errors {
    char text[DEFS_EARLY_ERRORS][300];
    int n, dropped;
};

static void report_keep(void *ctx, const char *file, int line, const char *msg)
{
    struct early_errors *e = ctx;
    if (e->n >= DEFS_EARLY_ERRORS) {
        e->dropped++;
        return;
    }
    (void)sys_fmt(e->text[e->n], sizeof e->text[0], "%s:%d: %s", file, line, msg);
    e->n++;
}

/* -t: an algorithm of `hash` this build of mbed TLS lacks is not offered
 * (FEAT leaves it out, OPTS HASH refuses it): say so. */
static void check_hash_build(const struct policy *p)
{
    for (unsigned i = 0; i < p->nhash && i < POL_HASH_ALGOS; i++) {
        if (!tls_digest_available(p->hash[i])) {
            fprintf(stderr,
                    "%s: warning: hash %s: this build (%s) lacks it; HASH does not offer it\n",
                    p->path, pol_hash_name(p->hash[i]), tls_version_string());
        }
    }
}

static int cmd_check(const char *path)
{
    log_early(1);
    int errors = 0;
    int n = pol_load(&pol, path, report_stderr, NULL);
    if (n > 0) {
        fprintf(stderr, "%s: %d error%s\n", path, n, n == 1 ? "" : "s");
        return EXIT_ENV;
    }
    /* Exactly what a session would do before its first byte (it opens, and
     * creates, the keylog and xferlog as a session would)... */
    struct startup st;
    errors += startup_prepare(&pol, &st, report_stderr, NULL);
    const struct pasv_lookup_as as = {.drop = st.drop, .uid = st.uid, .gid = st.gid};
    startup_release(&st);
    /* ... then every certificate and key in full (a key that does not
     * match would fail every handshake), and what weakens the policy. */
    if (pol.tls != POL_TLS_OFF) {
        errors += tls_check_policy(&pol, report_stderr, NULL);
    }
    pol_warnings(&pol, report_stderr, NULL);
    check_hash_build(&pol);
    pol_print(&pol, stdout);
    tls_print_offer(&pol, stdout);
    pasvaddr_print(&pol, &as, stdout);
    if (errors > 0) {
        fprintf(stderr, "%s: not usable\n", path);
        return EXIT_ENV;
    }
    return 0;
}

static int cmd_hash_password(uint32_t iterations)
{
    char pw[DEFS_PASSWORD_MAX + 2];
    size_t len = 0;
    for (;;) {
        ssize_t n = sys_read(0, pw + len, sizeof pw - 1 - len);
        if (n < 0) {
            fprintf(stderr, "ftpsd-inetd: reading the password: %s\n", strerror(errno));
            return EXIT_ENV;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (memchr(pw, '\n', len) || len >= sizeof pw - 1) {
            break;
        }
    }
    char *nl = memchr(pw, '\n', len);
    if (nl) {
        len = (size_t)(nl - pw);
    }
    if (len > 0 && pw[len - 1] == '\r') {
        len--;
    }
    pw[len] = '\0';
    if (len == 0 || len > DEFS_PASSWORD_MAX) {
        fprintf(stderr, "ftpsd-inetd: the password must be 1..%d bytes on one line\n",
                DEFS_PASSWORD_MAX);
        return EXIT_USAGE;
    }
    char out[256];
    int64_t t0 = sys_now_ms();
    if (!pw_hash_string(pw, len, iterations, out, sizeof out)) {
        fprintf(stderr, "ftpsd-inetd: hashing failed\n");
        return EXIT_ENV;
    }
    int64_t ms = sys_now_ms() - t0;
    memset(pw, 0, sizeof pw);
    printf("%s\n", out);
    fprintf(stderr, "one password check with %u iterations costs about %lld ms on this machine\n",
            iterations, (long long)ms);
    return 0;
}

static int cmd_gen_cert(const char *cert, const char *key, const char *name)
{
    char fp[100], why[256];
    if (!tls_gen_cert(cert, key, name, fp, sizeof fp, why, sizeof why)) {
        fprintf(stderr, "ftpsd-inetd: --gen-cert: %s\n", why);
        return EXIT_ENV;
    }
    printf("%s\n", fp);
    return 0;
}

/* The control fd: fd 3 under systemd's native protocol, else fd 0/1. */
static void find_control_fd(int *rfd, int *wfd)
{
    const char *fds = getenv("LISTEN_FDS");
    const char *pid = getenv("LISTEN_PID");
    uint64_t n, p;
    if (fds && pid && pol_parse_number(fds, 10, 0, 1000, &n) &&
        pol_parse_number(pid, 10, 1, UINT32_MAX, &p) && (pid_t)p == getpid()) {
        if (n != 1) {
            fprintf(stderr,
                    "ftpsd-inetd: LISTEN_FDS=%s: expected exactly one socket (Accept=yes)\n", fds);
            exit(EXIT_USAGE);
        }
        *rfd = *wfd = 3;
    } else {
        *rfd = 0;
        *wfd = 1;
    }
    /* Children (none today) must not believe the fds are theirs. */
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDNAMES");
}

static bool is_tcp_socket(int fd, struct sockaddr_storage *local, socklen_t *llen,
                          struct sockaddr_storage *peer, socklen_t *plen)
{
    if (!sys_is_stream_socket(fd) || !sys_local_addr(fd, local, llen) ||
        !sys_peer_addr(fd, peer, plen)) {
        return false;
    }
    return local->ss_family == AF_INET || local->ss_family == AF_INET6;
}

/* Before the session struct is usable: a one-line reply and exit. */
static _Noreturn void refuse_early(int wfd, int code, const char *why)
{
    static const char msg[] = "421 Service not available\r\n";
    err("%s", why);
    (void)sys_write_all(wfd, msg, sizeof msg - 1, DEFS_REFUSAL_WRITE_MS);
    exit(code);
}

/* SPEC §4.1, in this order and nowhere else: setgroups, chroot, setgid,
 * setuid, and proof that root cannot come back. What to drop to was decided
 * by startup_prepare(). */
static void drop_privileges(int wfd, const struct startup *su)
{
    if (!su->drop) {
        return;
    }
    if (!sys_set_groups(su->gid)) {
        refuse_early(wfd, EXIT_ENV, "setgroups failed");
    }
    if (pol.chroot && !sys_enter_chroot(pol.chroot)) {
        err("chroot %s: %s", pol.chroot, strerror(errno));
        refuse_early(wfd, EXIT_ENV, "chroot failed");
    }
    if (!sys_set_ids(su->uid, su->gid)) {
        refuse_early(wfd, EXIT_ENV, "setgid/setuid failed");
    }
    /* Verify the drop is irreversible before any client byte is read. */
    if (!sys_privileges_gone(su->uid, su->gid)) {
        bug("privileges could be regained after dropping to %s", pol.run_as);
    }
}

/* SPEC §4: the seccomp sandbox, after the drop and before the first client
 * byte (so before implicit TLS's handshake). Where the kernel or an
 * emulator (qemu-user) refuses seccomp, one warning and the session goes
 * on: refusing every session there would only push people to turn it off. */
static void enter_sandbox(bool on)
{
    char why[DEFS_WHY_MAX];
    if (sys_sandbox_install(on, log_sigsafe, why, sizeof why) == SYS_SANDBOX_UNAVAILABLE) {
        warn("seccomp sandbox not available: %s; the session goes on without it", why);
    }
}

/* The policy, or a 421 and exit 1 with every error in the log. */
static void load_policy(const char *policy_path, int wfd)
{
    static struct early_errors early;
    int nerr = pol_load(&pol, policy_path, report_keep, &early);
    log_open(pol.log, pol.log_level);
    if (nerr == 0) {
        return;
    }
    for (int i = 0; i < early.n; i++) {
        err("%s", early.text[i]);
    }
    if (early.dropped) {
        err("... and %d more errors", early.dropped);
    }
    refuse_early(wfd, EXIT_ENV, "policy unusable; run ftpsd-inetd -t to see every error");
}

static void report_log(void *ctx, const char *file, int line, const char *msg)
{
    (void)ctx;
    (void)line;
    err("%s: %s", file, msg);
}

/* From the first client byte on: implicit TLS, the greeting (or the 421
 * of a session over a cap), the loop. */
static int run_session(struct session *s, enum slots_result cap)
{
    info("connected (%s)", pol.implicit ? "implicit TLS" : "explicit");
    if (pol.implicit) {
        char why[256];
        s->ctrl_tls = tls_accept(s->tls, s->ctrl_rfd, s->ctrl_wfd, TLS_ROLE_CONTROL,
                                 (int)pol.login_grace * 1000, NULL, why, sizeof why);
        if (!s->ctrl_tls) {
            err("implicit TLS handshake failed: %s; session ended", why);
            return EXIT_TLS;
        }
        const char *sni = tls_sni(s->ctrl_tls);
        (void)sys_copy(s->sni, sizeof s->sni, sni ? sni : "");
    }
    if (cap == SLOTS_FULL || cap == SLOTS_FULL_IP) {
        unsigned n = cap == SLOTS_FULL ? pol.max_sessions : pol.max_per_ip;
        const char *whose = cap == SLOTS_FULL ? "" : " from your address";
        warn("Too many sessions: %u%s run already (max-%s %u); session refused", n, whose,
             cap == SLOTS_FULL ? "sessions" : "per-ip", n);
        reply(s, FTP_UNAVAILABLE, "Too many sessions%s (%u), try later", whose, n);
        log_end("too many sessions");
        return EXIT_SESSION_OK;
    }
    reply(s, FTP_GREETING, "%s", pol.banner ? pol.banner : "ftpsd ready");
    int rc = ftp_session(s);
    log_end(s->end_reason ? s->end_reason : "unknown");
    return rc;
}

static int serve(const char *policy_path)
{
    struct session_start st = {.pol = &pol};
    find_control_fd(&st.rfd, &st.wfd);
    socklen_t llen;
    if (!is_tcp_socket(st.rfd, &st.local, &llen, &st.peer, &st.peer_len)) {
        fprintf(stderr,
                "ftpsd-inetd: fd %d is not a connected TCP socket; start me from inetd, xinetd or "
                "systemd (Accept=yes), or use -t to check a policy\n",
                st.rfd);
        return EXIT_USAGE;
    }
    /* From here on fd 2 may be the client's socket: syslog only, until the
     * policy says otherwise. */
    log_early(0);
    signal(SIGPIPE, SIG_IGN);
    sys_install_term_handler();
    char peer_str[DEFS_PEER_STR_MAX];
    if (!sys_addr_str((struct sockaddr *)&st.peer, st.peer_len, peer_str, sizeof peer_str, true)) {
        (void)sys_copy(peer_str, sizeof peer_str, "?");
    }
    log_set_peer(peer_str);
    st.peer_str = peer_str;
    st.start_ms = sys_now_ms();

    load_policy(policy_path, st.wfd);
    /* Everything that needs root or host paths, before the drop; the
     * checks are -t's own, so -t predicts this. */
    struct startup su;
    if (startup_prepare(&pol, &su, report_log, NULL) > 0) {
        refuse_early(st.wfd, EXIT_ENV, "session refused; ftpsd-inetd -t shows why");
    }
    st.tls = su.tls;
    st.xferlog_fd = su.xferlog_fd;
    /* The caps are counted before anything else is done for the client; the
     * lock (if taken) lives as long as this process. */
    enum slots_result cap = SLOTS_TAKEN;
    if (su.slots_fd >= 0) {
        cap = slots_take(su.slots_fd, &pol, (const struct sockaddr *)&st.peer);
        if (cap == SLOTS_ERROR) {
            err("session slots: %s", strerror(errno));
            refuse_early(st.wfd, EXIT_ENV, "session slots unavailable");
        }
    }
    /* A session over a cap is refused at once: it looks nothing up. */
    if (cap == SLOTS_TAKEN) {
        const struct pasv_lookup_as as = {.drop = su.drop, .uid = su.uid, .gid = su.gid};
        pasvaddr_settle(&pol, &as, &st.pasv);
    }
    bool sandbox = pol.sandbox;
    if (sandbox) {
        log_sigsafe_prepare(); /* its syslog socket, before chroot */
    }
    drop_privileges(st.wfd, &su);
    enter_sandbox(sandbox);

    session_init(&sess, &st);
    sys_tune_socket(st.rfd);
    return run_session(&sess, cap);
}

int main(int argc, char **argv)
{
    const char *policy_path = DEFS_POLICY_PATH;
    bool check = false, hash = false;
    uint64_t iterations = DEFS_PBKDF2_DEFAULT_ITER;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-f") == 0 && i + 1 < argc) {
            policy_path = argv[++i];
        } else if (strcmp(a, "-t") == 0) {
            check = true;
        } else if (strcmp(a, "--hash-password") == 0) {
            hash = true;
        } else if (strcmp(a, "-i") == 0 && i + 1 < argc) {
            if (!pol_parse_number(argv[++i], 10, DEFS_PBKDF2_MIN_ITER, DEFS_PBKDF2_MAX_ITER,
                                  &iterations)) {
                fprintf(stderr, "ftpsd-inetd: -i: iterations must be %u..%u\n",
                        DEFS_PBKDF2_MIN_ITER, DEFS_PBKDF2_MAX_ITER);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--gen-cert") == 0 && i + 2 < argc) {
            const char *name = i + 3 < argc ? argv[i + 3] : NULL;
            return cmd_gen_cert(argv[i + 1], argv[i + 2], name);
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("ftpsd-inetd %s (built with %s)\n", FTPSD_VERSION, tls_version_string());
            return 0;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "ftpsd-inetd: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (hash) {
        return cmd_hash_password((uint32_t)iterations);
    }
    if (check) {
        return cmd_check(policy_path);
    }
    return serve(policy_path);
}
