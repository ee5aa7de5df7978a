/* bench/tls_ceiling: the mbed TLS record-layer ceiling that bench/throughput
 * compares ftpsd's transfers with. A server and a client (two processes, one
 * TCP loopback connection with TCP_NODELAY, blocking sockets, a bio that is a
 * bare send()/recv() with no poll) complete a TLS 1.2 handshake with ONE
 * forced suite, then move MIB mebibytes in whole 16 KiB records:
 *   down  server -> client (the server encrypts: an FTP download)
 *   up    client -> server (the server decrypts: an FTP upload)
 *   fast  as down, but the client reads the records without decrypting them
 *         (a reader that costs nothing, as curl's OpenSSL nearly does: it
 *         decrypts ~10x faster than mbed TLS). A reader as slow as the
 *         sender is mostly busy when data arrives; a fast one sleeps and must
 *         be woken for each push, and on loopback the sender pays for that.
 *   cork  as fast, with TCP_CORK on the server while it sends (what ftpsd's
 *         data connections do): full-sized segments, fewer wakeups.
 * The receiver answers one byte when it has everything, so the sender's wall
 * clock covers the whole stream. CPU is getrusage(RUSAGE_SELF) of each
 * process over the data phase only (handshake excluded).
 *
 * usage: tls_ceiling CERT KEY SUITE MIB [down|up|fast|cork|both|all]  (both = down+up)
 * output, one line per direction:
 *   DIR SUITE MB/s SERVER_CPU_S_PER_GIB CLIENT_CPU_S_PER_GIB
 * (MB = 10^6 bytes, GiB = 2^30 bytes). Not a test: numbers only.
 * Build: cc -O2 -o tls_ceiling tls_ceiling.c -lmbedtls -lmbedx509 -lmbedcrypto */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#define REC 16384

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static _Noreturn void fail(const char *what, int ret)
{
    char buf[200];
    mbedtls_strerror(ret, buf, sizeof buf);
    fprintf(stderr, "tls_ceiling: %s: -0x%04x %s\n", what, (unsigned)-ret, buf);
    exit(1);
}

/* The ideal bio: one system call per mbed TLS request, nothing else. */
static int bio_send(void *p, const unsigned char *buf, size_t len)
{
    int fd = *(int *)p;
    for (;;) {
        ssize_t r = send(fd, buf, len, MSG_NOSIGNAL);
        if (r >= 0) {
            return (int)r;
        }
        if (errno != EINTR) {
            return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
        }
    }
}

static int bio_recv(void *p, unsigned char *buf, size_t len)
{
    int fd = *(int *)p;
    for (;;) {
        ssize_t r = recv(fd, buf, len, 0);
        if (r >= 0) {
            return (int)r;
        }
        if (errno != EINTR) {
            return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
        }
    }
}

struct end {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    int fd;
    int suites[2];
};

static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                              MBEDTLS_ECP_DP_NONE};

static void setup(struct end *e, int endpoint, int suite, const char *cert, const char *key)
{
    int ret;
    mbedtls_entropy_init(&e->entropy);
    mbedtls_ctr_drbg_init(&e->drbg);
    mbedtls_ssl_config_init(&e->conf);
    mbedtls_ssl_init(&e->ssl);
    mbedtls_x509_crt_init(&e->crt);
    mbedtls_pk_init(&e->pk);
    if ((ret = mbedtls_ctr_drbg_seed(&e->drbg, mbedtls_entropy_func, &e->entropy, NULL, 0)) != 0) {
        fail("ctr_drbg_seed", ret);
    }
    if ((ret = mbedtls_ssl_config_defaults(&e->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        fail("config_defaults", ret);
    }
    mbedtls_ssl_conf_rng(&e->conf, mbedtls_ctr_drbg_random, &e->drbg);
    e->suites[0] = suite;
    e->suites[1] = 0;
    mbedtls_ssl_conf_ciphersuites(&e->conf, e->suites);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_ssl_conf_min_tls_version(&e->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(&e->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_min_version(&e->conf, 3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&e->conf, 3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_curves(&e->conf, curves);
#endif
    if (endpoint == MBEDTLS_SSL_IS_SERVER) {
        if ((ret = mbedtls_x509_crt_parse_file(&e->crt, cert)) != 0) {
            fail("parsing the certificate", ret);
        }
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        ret = mbedtls_pk_parse_keyfile(&e->pk, key, NULL, mbedtls_ctr_drbg_random, &e->drbg);
#else
        ret = mbedtls_pk_parse_keyfile(&e->pk, key, NULL);
#endif
        if (ret != 0) {
            fail("parsing the key", ret);
        }
        if ((ret = mbedtls_ssl_conf_own_cert(&e->conf, &e->crt, &e->pk)) != 0) {
            fail("own_cert", ret);
        }
    } else {
        mbedtls_ssl_conf_authmode(&e->conf, MBEDTLS_SSL_VERIFY_NONE);
    }
    if ((ret = mbedtls_ssl_setup(&e->ssl, &e->conf)) != 0) {
        fail("ssl_setup", ret);
    }
    mbedtls_ssl_set_bio(&e->ssl, &e->fd, bio_send, bio_recv, NULL);
    while ((ret = mbedtls_ssl_handshake(&e->ssl)) != 0) {
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
            fail(endpoint == MBEDTLS_SSL_IS_SERVER ? "server handshake" : "client handshake", ret);
        }
    }
}

static void write_all(struct end *e, const unsigned char *p, size_t n)
{
    while (n > 0) {
        int ret = mbedtls_ssl_write(&e->ssl, p, n);
        if (ret > 0) {
            p += ret;
            n -= (size_t)ret;
        } else if (ret != MBEDTLS_ERR_SSL_WANT_WRITE && ret != MBEDTLS_ERR_SSL_WANT_READ) {
            fail("ssl_write", ret);
        }
    }
}

/* The records of a stream, without the end. */
static void send_stream_body(struct end *e, unsigned long long total)
{
    static unsigned char buf[REC];
    memset(buf, 0x5a, sizeof buf);
    while (total > 0) {
        size_t n = total > REC ? REC : (size_t)total;
        write_all(e, buf, n);
        total -= n;
    }
}

/* Sends `total` bytes in whole records, then waits for the one-byte ack
 * (raw_ack: close_notify, then a raw byte from a client that never
 * decrypted anything). */
static void send_stream(struct end *e, unsigned long long total, bool raw_ack)
{
    send_stream_body(e, total);
    unsigned char ack;
    int ret;
    if (raw_ack) {
        (void)mbedtls_ssl_close_notify(&e->ssl);
        (void)shutdown(e->fd, SHUT_WR);
        if (recv(e->fd, &ack, 1, 0) != 1) {
            fail("reading the raw ack", MBEDTLS_ERR_SSL_CONN_EOF);
        }
        return;
    }
    while ((ret = mbedtls_ssl_read(&e->ssl, &ack, 1)) != 1) {
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
            fail("reading the ack", ret);
        }
    }
}

/* Receives `total` bytes, then acks with one byte. */
static void recv_stream(struct end *e, unsigned long long total)
{
    static unsigned char buf[REC];
    while (total > 0) {
        int ret = mbedtls_ssl_read(&e->ssl, buf, sizeof buf);
        if (ret > 0) {
            total -= (unsigned long long)ret < total ? (unsigned long long)ret : total;
        } else if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
            fail("ssl_read", ret == 0 ? MBEDTLS_ERR_SSL_CONN_EOF : ret);
        }
    }
    unsigned char ack = 1;
    write_all(e, &ack, 1);
}

static void nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* The fast reader: ciphertext read and dropped until the server's FIN. */
static void recv_raw(int fd)
{
    static unsigned char buf[1 << 16];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            perror("tls_ceiling: recv");
            _exit(1);
        }
    }
    unsigned char ack = 1;
    if (send(fd, &ack, 1, MSG_NOSIGNAL) != 1) {
        _exit(1);
    }
}

/* One direction: returns after printing its line. */
static int run(const char *cert, const char *key, int suite, unsigned long long total, bool down,
               bool fast, bool cork)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) != 0) {
        perror("tls_ceiling: listen");
        return 1;
    }
    int pfd[2];
    if (pipe(pfd) != 0) {
        perror("tls_ceiling: pipe");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("tls_ceiling: fork");
        return 1;
    }
    if (pid == 0) {
        close(ls);
        close(pfd[0]);
        static struct end c;
        c.fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&a, sizeof a) != 0) {
            perror("tls_ceiling: connect");
            _exit(1);
        }
        nodelay(c.fd);
        setup(&c, MBEDTLS_SSL_IS_CLIENT, suite, NULL, NULL);
        double c0 = cpu_s();
        if (fast || cork) {
            recv_raw(c.fd);
        } else if (down) {
            recv_stream(&c, total);
        } else {
            send_stream(&c, total, false);
        }
        double used = cpu_s() - c0;
        (void)mbedtls_ssl_close_notify(&c.ssl);
        if (write(pfd[1], &used, sizeof used) != (ssize_t)sizeof used) {
            _exit(1);
        }
        _exit(0);
    }
    close(pfd[1]);
    static struct end s;
    s.fd = accept(ls, NULL, NULL);
    close(ls);
    if (s.fd < 0) {
        perror("tls_ceiling: accept");
        return 1;
    }
    nodelay(s.fd);
    setup(&s, MBEDTLS_SSL_IS_SERVER, suite, cert, key);
    int on = 1, off = 0;
    if (cork) {
        (void)setsockopt(s.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    }
    double t0 = now_s(), c0 = cpu_s();
    if (down) {
        if (cork) {
            /* Uncorked before the close_notify, as ftpsd's data_close(). */
            unsigned long long body = total;
            send_stream_body(&s, body);
            (void)setsockopt(s.fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
            send_stream(&s, 0, true);
        } else {
            send_stream(&s, total, fast);
        }
    } else {
        recv_stream(&s, total);
    }
    double wall = now_s() - t0, used = cpu_s() - c0;
    double client_cpu = -1;
    if (read(pfd[0], &client_cpu, sizeof client_cpu) != (ssize_t)sizeof client_cpu) {
        client_cpu = -1;
    }
    int status;
    waitpid(pid, &status, 0);
    close(pfd[0]);
    mbedtls_ssl_free(&s.ssl);
    mbedtls_ssl_config_free(&s.conf);
    mbedtls_x509_crt_free(&s.crt);
    mbedtls_pk_free(&s.pk);
    mbedtls_ctr_drbg_free(&s.drbg);
    mbedtls_entropy_free(&s.entropy);
    close(s.fd);
    double gib = (double)total / (1024.0 * 1024 * 1024);
    printf("%s %s %.1f %.3f %.3f\n",
           cork   ? "cork"
           : fast ? "fast"
           : down ? "down"
                  : "up",
           mbedtls_ssl_get_ciphersuite_name(suite), (double)total / wall / 1e6, used / gib,
           client_cpu / gib);
    fflush(stdout);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: tls_ceiling CERT KEY SUITE MIB [down|up|both]\n");
        return 2;
    }
    int suite = mbedtls_ssl_get_ciphersuite_id(argv[3]);
    if (suite == 0) {
        fprintf(stderr, "tls_ceiling: unknown suite %s (use mbed TLS names)\n", argv[3]);
        return 2;
    }
    unsigned long long total = strtoull(argv[4], NULL, 10) * 1024ull * 1024ull;
    const char *dir = argc > 5 ? argv[5] : "both";
    signal(SIGPIPE, SIG_IGN);
    int rc = 0;
    bool all = strcmp(dir, "all") == 0, both = all || strcmp(dir, "both") == 0;
    if (both || strcmp(dir, "down") == 0) {
        rc |= run(argv[1], argv[2], suite, total, true, false, false);
    }
    if (both || strcmp(dir, "up") == 0) {
        rc |= run(argv[1], argv[2], suite, total, false, false, false);
    }
    if (all || strcmp(dir, "fast") == 0) {
        rc |= run(argv[1], argv[2], suite, total, true, true, false);
    }
    if (all || strcmp(dir, "cork") == 0) {
        rc |= run(argv[1], argv[2], suite, total, true, true, true);
    }
    return rc;
}
