/* ftpsd-inetd: one FTPS session on the connection a super-server handed us.
 *
 * Entry point and the privilege order (STYLE.md habit 8, SPEC §4.1), in one
 * function, in this order and nowhere else: find the control fd; read the
 * policy, certificates and keys, open host-path files (keylog, xferlog);
 * resolve `run-as`; setgroups; chroot; setgid; setuid; verify root cannot
 * come back; enter the seccomp sandbox; only then send the greeting and read
 * a client byte. pasv-address host names are looked up before chroot (the
 * resolver needs the host's files), in a child with a deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
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
#include "policy.h"
#include "session.h"
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

/* Environment checks shared by -t and session start; returns #errors. */
static int check_environment(const struct policy *p, pol_report_fn *report, void *ctx)
{
    int errors = 0;
    if (p->run_as && !getpwnam(p->run_as)) {
        report(ctx, p->path, 0, "run-as: no such account");
        errors++;
    }
    if (p->chroot) {
        struct stat st;
        if (sys_stat(p->chroot, &st) != 0 || !S_ISDIR(st.st_mode)) {
            report(ctx, p->path, 0, "chroot: not a directory");
            errors++;
        }
    }
    return errors;
}

/* ------------------------------------------------------------ pasv-address */

/* What the lookup child answers for the public [0] and private [1] value. */
struct pasv_answer {
    unsigned char ok[2];
    struct in_addr addr[2];
};

struct pasv_lookup {
    const struct policy *pol;
    bool drop; /* become run-as in the child before the lookup */
    uid_t uid;
    gid_t gid;
};

static const struct pol_pasv_addr *pasv_value(const struct policy *p, int i)
{
    return i == 0 ? &p->pasv_public : &p->pasv_private;
}

static bool pasv_is_name(const struct pol_pasv_addr *v)
{
    return v->name != NULL && !v->literal && !v->local;
}

/* The first IPv4 address of a host name, as the C library resolves it
 * (/etc/hosts, DNS). 0.0.0.0, the mark of a blocked name, is none. */
static bool lookup_v4(const char *name, struct in_addr *out)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    bool ok = getaddrinfo(name, NULL, &hints, &res) == 0 && res != NULL &&
              res->ai_addr->sa_family == AF_INET;
    if (ok) {
        *out = ((const struct sockaddr_in *)(const void *)res->ai_addr)->sin_addr;
        ok = out->s_addr != INADDR_ANY;
    }
    if (res != NULL) {
        freeaddrinfo(res);
    }
    return ok;
}

/* The child of lookup_pasv_names. SECURITY: DNS answers are network
 * input, and C library resolvers have had overflows (CVE-2015-7547): the
 * child parses them as run-as, not as root. A child that cannot drop
 * answers nothing. */
static void lookup_child(void *ctx, int fd)
{
    const struct pasv_lookup *q = ctx;
    struct pasv_answer a;
    memset(&a, 0, sizeof a);
    if (q->drop && (!sys_set_groups(q->gid) || !sys_set_ids(q->uid, q->gid))) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        const struct pol_pasv_addr *v = pasv_value(q->pol, i);
        a.ok[i] = pasv_is_name(v) && lookup_v4(v->name, &a.addr[i]);
    }
    (void)sys_write_all(fd, &a, sizeof a);
}

/* Looks up pasv-address's host names, both within DEFS_PASV_LOOKUP_MS (a
 * lookup can hang on an unreachable DNS server for half a minute). False
 * if the child did not answer in time; a->ok says which names resolved. */
static bool lookup_pasv_names(const struct policy *p, struct pasv_answer *a)
{
    struct pasv_lookup q = {.pol = p};
    memset(a, 0, sizeof *a);
    if (!pasv_is_name(&p->pasv_public) && !pasv_is_name(&p->pasv_private)) {
        return true;
    }
    if (geteuid() == 0 && p->run_as != NULL) {
        const struct passwd *pw = getpwnam(p->run_as);
        if (pw != NULL && pw->pw_uid != 0) {
            q.drop = true;
            q.uid = pw->pw_uid;
            q.gid = pw->pw_gid;
        }
    }
    ssize_t n = sys_child_result(lookup_child, &q, a, sizeof *a, DEFS_PASV_LOOKUP_MS);
    if (n != (ssize_t)sizeof *a) {
        memset(a, 0, sizeof *a);
        return false;
    }
    return true;
}

/* The addresses PASV replies will name. A name that did not resolve is
 * a warning, never a refused session: the local address is what a client
 * on the server's own network needs anyway. */
static void settle_pasv(struct pasv_addrs *out)
{
    struct pasv_answer a;
    bool in_time = lookup_pasv_names(&pol, &a);
    *out = (struct pasv_addrs){0};
    for (int i = 0; i < 2; i++) {
        const struct pol_pasv_addr *v = pasv_value(&pol, i);
        bool have = v->literal;
        struct in_addr addr = v->addr;
        if (pasv_is_name(v)) {
            have = a.ok[i] != 0;
            addr = a.addr[i];
        }
        if (pasv_is_name(v) && !have) {
            warn("pasv-address %s: %s; PASV replies to %s name the local address instead", v->name,
                 in_time ? "no IPv4 address for this name" : "no answer from the resolver in time",
                 i == 0 ? "clients" : "clients in private ranges");
        } else if (pasv_is_name(v)) {
            char shown[INET_ADDRSTRLEN];
            debug("pasv-address %s is %s", v->name,
                  inet_ntop(AF_INET, &addr, shown, sizeof shown) ? shown : "?");
        }
        if (i == 0) {
            out->has_public = have;
            out->public_addr = addr;
        } else if (v->name != NULL) {
            out->has_private = true;
            out->private_local = !have;
            out->private_addr = addr;
        }
    }
}

/* -t: what the names resolve to now, as comment lines. */
static void print_pasv_lookup(const struct policy *p, FILE *out)
{
    struct pasv_answer a;
    bool in_time = lookup_pasv_names(p, &a);
    for (int i = 0; i < 2; i++) {
        const struct pol_pasv_addr *v = pasv_value(p, i);
        char shown[INET_ADDRSTRLEN];
        if (!pasv_is_name(v)) {
            continue;
        }
        if (a.ok[i] && inet_ntop(AF_INET, &a.addr[i], shown, sizeof shown)) {
            fprintf(out,
                    "# pasv-address %s resolves to %s now (sessions look it up when they "
                    "start)\n",
                    v->name, shown);
        } else {
            fprintf(stderr,
                    "%s: warning: pasv-address %s: %s now; sessions would name the local address "
                    "in PASV replies\n",
                    p->path, v->name,
                    in_time ? "no IPv4 address for this name" : "no answer from the resolver");
        }
    }
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
    if (pol.tls != POL_TLS_OFF) {
        errors += tls_check_policy(&pol, report_stderr, NULL);
    }
    int env = check_environment(&pol, report_stderr, NULL);
    pol_warnings(&pol, report_stderr, NULL);
    check_hash_build(&pol);
    pol_print(&pol, stdout);
    tls_print_offer(&pol, stdout);
    print_pasv_lookup(&pol, stdout);
    if (errors + env > 0) {
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
    (void)sys_write_all(wfd, msg, sizeof msg - 1);
    exit(code);
}

/* SPEC §4.1: everything that needs root or host paths, then the drop. */
static void drop_privileges(int wfd)
{
    uid_t euid = geteuid();
    struct passwd *pw = NULL;
    if (pol.run_as) {
        pw = getpwnam(pol.run_as);
        if (!pw) {
            refuse_early(wfd, EXIT_ENV, "run-as: no such account");
        }
    }
    if (euid == 0 && !pw) {
        refuse_early(wfd, EXIT_ENV, "started as root without run-as: refusing to serve as root");
    }
    if (euid != 0) {
        if (pol.chroot) {
            refuse_early(wfd, EXIT_ENV, "chroot needs ftpsd-inetd to be started as root");
        }
        if (pw && pw->pw_uid != euid) {
            refuse_early(wfd, EXIT_ENV, "run-as names another account, but we are not root");
        }
        return;
    }
    gid_t gid = pw->pw_gid;
    uid_t uid = pw->pw_uid;
    if (uid == 0) {
        refuse_early(wfd, EXIT_ENV, "run-as must not be root");
    }
    if (!sys_set_groups(gid)) {
        refuse_early(wfd, EXIT_ENV, "setgroups failed");
    }
    if (pol.chroot && !sys_enter_chroot(pol.chroot)) {
        err("chroot %s: %s", pol.chroot, strerror(errno));
        refuse_early(wfd, EXIT_ENV, "chroot failed");
    }
    if (!sys_set_ids(uid, gid)) {
        refuse_early(wfd, EXIT_ENV, "setgid/setuid failed");
    }
    /* Verify the drop is irreversible before any client byte is read. */
    if (!sys_privileges_gone(uid, gid)) {
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

/* Everything that needs host paths, before chroot: certificates and keys
 * (tls_init), the keylog and the xferlog. */
static void open_host_files(int wfd, struct tls_ctx **tls, int *xferlog_fd)
{
    *tls = NULL;
    if (pol.tls != POL_TLS_OFF) {
        char why[256];
        *tls = tls_init(&pol, why, sizeof why);
        if (!*tls) {
            err("TLS set-up failed: %s", why);
            refuse_early(wfd, EXIT_ENV, "TLS unavailable; run ftpsd-inetd -t");
        }
    }
    *xferlog_fd = -1;
    if (pol.xferlog) {
        *xferlog_fd = sys_open(pol.xferlog, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0640);
        if (*xferlog_fd < 0) {
            err("xferlog %s: %s", pol.xferlog, strerror(errno));
            refuse_early(wfd, EXIT_ENV, "cannot open xferlog");
        }
    }
}

/* From the first client byte on: implicit TLS, the greeting, the loop. */
static int run_session(struct session *s)
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
    open_host_files(st.wfd, &st.tls, &st.xferlog_fd);
    settle_pasv(&st.pasv);
    bool sandbox = pol.sandbox;
    if (sandbox) {
        log_sigsafe_prepare(); /* its syslog socket, before chroot */
    }
    drop_privileges(st.wfd);
    enter_sandbox(sandbox);

    session_init(&sess, &st);
    sys_tune_socket(st.rfd);
    return run_session(&sess);
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
