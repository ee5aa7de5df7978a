/* The whole-session harness behind fuzz/fuzz_session.c: the real command
 * engine (ftp.c, session.c, ctrl.c and every handler below them) serves one
 * clear-text session per input on the in-memory sockets of wrapfd.c.
 *
 * Once per process: a temporary directory with a policy (`tls off`, one
 * anonymous user with read access, a password user with every right, an
 * upload-only one; PBKDF2 at the minimum count, so a PASS costs little),
 * the read-only tree /pub (text, a 64 KiB file, a subdirectory, a name with
 * control bytes, a symlink that leads out of the root) and the writable
 * tree /home, which is rebuilt before every input so that no input sees
 * what an earlier one uploaded, renamed or removed.
 *
 * The first input byte chooses: bits 0-1 a login prefix (none, anonymous,
 * the password user, the upload-only user) sent before the input's own
 * bytes; bit 2 an IPv6 control connection; bits 3-4 how often faults are
 * injected (none .. often); bit 5 a client that sends commands during a
 * transfer without waiting for its reply. The rest is the client's bytes.
 *
 * Every transfer writes an xferlog record, checked line by line (wrapfd.c).
 * After each session: no fake socket and no real descriptor left open
 * (wrapfd_end, and the open descriptors are those of before), every reply
 * line well formed (wrapfd.c), LeakSanitizer for memory. */
#include "session_harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codes.h"
#include "ctrl.h"
#include "ftp.h"
#include "log.h"
#include "passwd.h"
#include "policy.h"
#include "session.h"
#include "sys.h"
#include "wrapfd.h"

/* The lowest count the policy accepts: a login costs ~2000 SHA-256 blocks. */
#define ITERATIONS 1000u

static struct session sess;
static struct policy pol;
static char top[64];
static char home[128];
static bool ready;

static const char *const prefixes[4] = {
    "",
    "USER anonymous\r\nPASS guest@example.org\r\n",
    "USER alice\r\nPASS secret\r\n",
    "USER upl\r\nPASS secret\r\n",
};

static void fail(const char *what)
{
    fprintf(stderr, "session harness: %s: %s\n", what, strerror(errno));
    abort();
}

static void put_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[256];
    if (!sys_fmt(path, sizeof path, "%s/%s", dir, name)) {
        fail("path too long");
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
        fail(path);
    }
}

static void make_dir(const char *dir, const char *name)
{
    char path[256];
    if (!sys_fmt(path, sizeof path, "%s/%s", dir, name) || mkdir(path, 0755) != 0) {
        fail(path);
    }
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tree(const char *dir)
{
    if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) {
        fail(dir);
    }
}

static void remove_all(void)
{
    remove_tree(top);
}

/* The read-only tree the anonymous user sees. */
static void make_pub(void)
{
    char pub[128];
    (void)sys_fmt(pub, sizeof pub, "%s/pub", top);
    make_dir(top, "pub");
    static const char readme[] = "Welcome.\r\nA line with a bare LF\nand a bare CR\r...\n";
    put_file(pub, "readme.txt", readme, sizeof readme - 1);
    static char big[65536];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (char)(i % 251 == 0 ? '\n' : 'a' + i % 26);
    }
    put_file(pub, "data.bin", big, sizeof big);
    put_file(pub, "esc\x1b[31mred\xe2\x80\xaename.txt", "x", 1);
    put_file(pub, ".hidden", "", 0);
    make_dir(pub, "sub");
    put_file(pub, "sub/nested.txt", "nested\n", 7);
    char link[160];
    (void)sys_fmt(link, sizeof link, "%s/out", pub);
    if (symlink("/etc", link) != 0) {
        fail("symlink");
    }
}

/* The writable tree, as it is before every input. */
static void make_home(void)
{
    remove_tree(home);
    if (mkdir(home, 0755) != 0) {
        fail(home);
    }
    make_dir(home, "sub");
    put_file(home, "notes.txt", "one\ntwo\r\nthree\n", 15);
    put_file(home, "sub/deep.txt", "deep\n", 5);
    put_file(home, "empty", "", 0);
}

static void report(void *ctx, const char *file, int line, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "%s:%d: %s\n", file, line, msg);
}

static void make_policy(void)
{
    char hash[256], text[2048];
    if (!pw_hash_string("secret", 6, ITERATIONS, hash, sizeof hash)) {
        fail("pw_hash_string");
    }
    if (!sys_fmt(text, sizeof text,
                 "tls off\n"
                 "log stderr\n"
                 "log-level debug\n"
                 "active peer\n"
                 "pasv-ports 50000-50003\n"
                 "max-tries 3\n"
                 "hash SHA-256 SHA-512 SHA-1 MD5\n"
                 "upload atomic\n"
                 "banner \"fuzz ready\"\n"
                 "group staff access=rwadmn\n"
                 "user anonymous root=%s/pub access=r\n"
                 "user alice password=%s root=%s home=/sub group=staff\n"
                 "user upl password=%s root=%s access=wa\n",
                 top, hash, home, hash, home)) {
        fail("policy too long");
    }
    if (pol_parse_buf(&pol, "fuzz-policy", text, strlen(text), report, NULL) != 0) {
        fprintf(stderr, "%s", text);
        fail("the harness's policy does not parse");
    }
}

/* The open descriptors, as a bitmap: the session's are compared before
 * and after (not "the lowest free one": libFuzzer's symbolizer opens pipes
 * between inputs). */
#define FD_BITS 1024
struct fdset {
    unsigned char bits[FD_BITS / 8];
};

static void open_fds(struct fdset *set)
{
    memset(set, 0, sizeof *set);
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        fail("/proc/self/fd");
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != dirfd(d) && fd >= 0 && fd < FD_BITS) {
            set->bits[fd / 8] |= (unsigned char)(1u << (fd % 8));
        }
    }
    closedir(d);
}

static void check_no_new_fd(const struct fdset *before)
{
    struct fdset after;
    open_fds(&after);
    for (int fd = 0; fd < FD_BITS; fd++) {
        if ((after.bits[fd / 8] & ~before->bits[fd / 8]) & (1u << (fd % 8))) {
            char link[64], target[256] = "?";
            (void)sys_fmt(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t r = readlink(link, target, sizeof target - 1);
            target[r > 0 ? r : 1] = '\0';
            fprintf(stderr, "session harness: descriptor %d (%s) was left open by the session\n",
                    fd, target);
            abort();
        }
    }
}

static void setup(void)
{
    /* tmpfs where there is one: the trees are rebuilt for every input, and
     * an atomic upload's fsync on a disk file system waits for the disk. */
    (void)sys_copy(top, sizeof top, "/dev/shm/ftpsd-fuzz-XXXXXX");
    if (!mkdtemp(top)) {
        (void)sys_copy(top, sizeof top, "/tmp/ftpsd-fuzz-XXXXXX");
        if (!mkdtemp(top)) {
            fail("mkdtemp");
        }
    }
    atexit(remove_all);
    (void)sys_fmt(home, sizeof home, "%s/home", top);
    make_pub();
    make_policy();
    wrapfd_setup();
    log_open(pol.log, pol.log_level);
    log_set_peer("fuzz");
    ready = true;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

static void addresses(bool v6, struct sockaddr_storage *local, struct sockaddr_storage *peer)
{
    memset(local, 0, sizeof *local);
    memset(peer, 0, sizeof *peer);
    if (v6) {
        struct sockaddr_in6 *l = (struct sockaddr_in6 *)local, *p = (struct sockaddr_in6 *)peer;
        l->sin6_family = p->sin6_family = AF_INET6;
        l->sin6_addr = p->sin6_addr = in6addr_loopback;
        l->sin6_port = htons(21);
        p->sin6_port = htons(40000);
    } else {
        struct sockaddr_in *l = (struct sockaddr_in *)local, *p = (struct sockaddr_in *)peer;
        l->sin_family = p->sin_family = AF_INET;
        l->sin_addr.s_addr = p->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        l->sin_port = htons(21);
        p->sin_port = htons(40000);
    }
}

int session_harness_run(const uint8_t *data, size_t size)
{
    if (!ready) {
        setup();
    }
    if (size < 1) {
        return 0;
    }
    const char *prefix = prefixes[data[0] & 3];
    bool v6 = (data[0] & 4) != 0;
    unsigned faults = (data[0] >> 3) & 3;
    bool pipelining = (data[0] & 0x20) != 0;
    size_t plen = strlen(prefix), n = plen + size - 1;
    /* An exact-size heap copy: ASan sees any read past the client's bytes. */
    uint8_t *in = malloc(n ? n : 1);
    if (!in) {
        fail("malloc");
    }
    memcpy(in, prefix, plen);
    memcpy(in + plen, data + 1, size - 1);
    make_home();
    struct fdset before;
    open_fds(&before);

    struct session_start st = {.pol = &pol, .peer_str = "fuzz"};
    addresses(v6, &st.local, &st.peer);
    st.peer_len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int fd = wrapfd_begin(in, n, fnv1a(data, size), faults, pipelining, &st.local, &st.peer);
    st.rfd = st.wfd = fd;
    st.xferlog_fd = wrapfd_xferlog();
    st.start_ms = sys_now_ms();
    memset(&sess, 0, sizeof sess); /* session_init expects zeroed storage */
    session_init(&sess, &st);
    /* An unknown name costs the policy's slowest hash, which session_init
     * floors at the default count (100,000): the fuzzer has no 100 ms. */
    sess.max_iterations = ITERATIONS;
    reply(&sess, FTP_GREETING, "%s", pol.banner);
    (void)ftp_session(&sess);
    /* What the process's exit would close. */
    session_logout(&sess);
    wrapfd_end(fd, st.xferlog_fd);
    free(in);
    check_no_new_fd(&before);
    return 0;
}
