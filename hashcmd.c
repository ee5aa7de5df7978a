/* The HASH command (draft-bryan-ftpext-hash-02, include/hashcmd.h): HASH
 * PATH answers "213 ALGO START-END HEX PATH" with the digest of a file
 * beneath the user's root, or of the byte range a RANG just before it
 * chose. OPTS HASH shows or changes the algorithm among those the policy's
 * `hash` offers and the build has, and FEAT lists them.
 *
 * Cost, the reason HASH is off unless the policy turns it on: a digest
 * reads the whole file and costs about as much CPU as sending it under
 * TLS, but without a network to pace it, and rate= does not apply. So the
 * file goes through the session's fixed file buffer (free while no
 * transfer runs: memory never grows with the file), `hash-limit` caps the
 * bytes one session may hash in all (a request over what is left is
 * refused before a byte is read), and a long digest sends a "213-" line
 * every DEFS_HASH_PROGRESS_MS so that clients that time out a silent
 * connection wait for it.
 *
 * RANG (draft-bryan-ftp-range) is kept for the next HASH only, which
 * resets it. Ranged RETR and STOR are not offered (FEAT has no "RANG
 * STREAM"); a transfer command after RANG is refused by the dispatcher
 * rather than sent whole. */
#include "hashcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "cmds.h"
#include "codes.h"
#include "ctrl.h"
#include "log.h"
#include "path.h"
#include "session.h"
#include "sys.h"
#include "sys_fs.h"
#include "tls_hash.h"
#include "vpath.h"

/* ------------------------------------------------------------------ */
/* Pure parts                                                          */
/* ------------------------------------------------------------------ */

size_t hash_offered(const struct policy *pol, enum pol_hash_algo out[POL_HASH_ALGOS])
{
    size_t n = 0;
    for (unsigned i = 0; i < pol->nhash && i < POL_HASH_ALGOS; i++) {
        if (tls_digest_available(pol->hash[i])) {
            out[n++] = pol->hash[i];
        }
    }
    return n;
}

bool hash_feat_line(char *out, size_t cap, const enum pol_hash_algo *list, size_t n,
                    enum pol_hash_algo current)
{
    size_t pos = 0;
    bool ok = sys_append(out, cap, &pos, "HASH ");
    for (size_t i = 0; i < n && ok; i++) {
        ok = sys_append(out, cap, &pos, "%s%s%s", i > 0 ? ";" : "", pol_hash_name(list[i]),
                        list[i] == current ? "*" : "");
    }
    return ok;
}

/* One offset of RANG, up to `end`; *p moves past it. */
static bool rang_number(const char **p, char end, uint64_t *out)
{
    char digits[24];
    size_t n = 0;
    const char *s = *p;
    while (*s != end && *s != '\0') {
        if (n + 1 >= sizeof digits) {
            return false;
        }
        digits[n++] = *s++;
    }
    digits[n] = '\0';
    if (*s != end || !pol_parse_number(digits, 10, 0, INT64_MAX, out)) {
        return false;
    }
    *p = s;
    return true;
}

enum hash_rang hash_parse_rang(const char *arg, uint64_t *start, uint64_t *end)
{
    const char *p = arg;
    uint64_t a, b;
    if (!rang_number(&p, ' ', &a)) {
        return HASH_RANG_BAD;
    }
    p++;
    if (!rang_number(&p, '\0', &b)) {
        return HASH_RANG_BAD;
    }
    if (a == 1 && b == 0) {
        return HASH_RANG_RESET;
    }
    if (a > b) {
        return HASH_RANG_BAD;
    }
    *start = a;
    *end = b;
    return HASH_RANG_SET;
}

bool hash_reply_text(char *out, size_t cap, enum pol_hash_algo a, uint64_t start, uint64_t count,
                     const unsigned char *digest, size_t dlen, const char *name)
{
    char hex[2 * TLS_DIGEST_MAX + 1];
    if (dlen > TLS_DIGEST_MAX) {
        return false;
    }
    tls_hash_hex(digest, dlen, hex, sizeof hex);
    uint64_t last = count > 0 ? start + count - 1 : start;
    return sys_fmt(out, cap, "%s %" PRIu64 "-%" PRIu64 " %s %s", pol_hash_name(a), start, last, hex,
                   name);
}

/* ------------------------------------------------------------------ */
/* FEAT, OPTS HASH                                                     */
/* ------------------------------------------------------------------ */

/* The algorithm HASH uses now; false when HASH is off. */
static bool current_algo(const struct session *s, enum pol_hash_algo *a)
{
    enum pol_hash_algo list[POL_HASH_ALGOS];
    size_t n = hash_offered(s->pol, list);
    if (n == 0) {
        return false;
    }
    *a = s->proto.hash_algo >= 0 ? (enum pol_hash_algo)s->proto.hash_algo : list[0];
    return true;
}

void hash_feat(struct session *s)
{
    enum pol_hash_algo list[POL_HASH_ALGOS], cur;
    char line[64];
    size_t n = hash_offered(s->pol, list);
    if (current_algo(s, &cur) && hash_feat_line(line, sizeof line, list, n, cur)) {
        reply_more(s, "%s", line);
    }
}

void hash_opts(struct session *s, const char *name)
{
    enum pol_hash_algo list[POL_HASH_ALGOS], cur;
    size_t n = hash_offered(s->pol, list);
    if (!current_algo(s, &cur)) {
        reply(s, FTP_SYNTAX_ARG, "OPTS HASH: HASH is off on this server");
        return;
    }
    if (name[0] == '\0') {
        reply(s, FTP_OK, "%s", pol_hash_name(cur));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (sys_ieq(name, pol_hash_name(list[i]))) {
            s->proto.hash_algo = (int)list[i];
            reply(s, FTP_OK, "%s", pol_hash_name(list[i]));
            return;
        }
    }
    char offered[64];
    (void)hash_feat_line(offered, sizeof offered, list, n, cur);
    reply(s, FTP_SYNTAX_ARG, "Unknown algorithm, current selection not changed (%s)", offered + 5);
}

/* ------------------------------------------------------------------ */
/* RANG, HASH                                                          */
/* ------------------------------------------------------------------ */

void cmd_rang(struct session *s, const char *arg)
{
    enum pol_hash_algo cur;
    uint64_t a = 0, b = 0;
    s->proto.rang_set = false;
    if (!current_algo(s, &cur)) {
        reply(s, FTP_NOT_IMPL, "RANG applies to HASH, which is off on this server");
        return;
    }
    switch (hash_parse_rang(arg, &a, &b)) {
    case HASH_RANG_SET:
        s->proto.rang_set = true;
        s->proto.rang_start = a;
        s->proto.rang_end = b;
        reply(s, FTP_PENDING, "Restarting at %" PRIu64 ". End byte range at %" PRIu64 " (for HASH)",
              a, b);
        return;
    case HASH_RANG_RESET:
        reply(s, FTP_PENDING, "Range reset: HASH covers whole files");
        return;
    case HASH_RANG_BAD:
        break;
    }
    reply(s, FTP_SYNTAX_ARG,
          "RANG needs START END: decimal byte offsets, START <= END, END included (RANG 1 0 "
          "resets); the range is reset");
}

/* The RANG a HASH found pending. */
struct hash_range {
    bool set;
    uint64_t start, end;
};

/* What a HASH asks for, once its file is open. */
struct hash_job {
    int fd;
    enum pol_hash_algo algo;
    uint64_t start, count; /* the bytes to hash */
    const char *shown;     /* the path as the client sent it */
    uint64_t done;         /* hashed so far */
    bool progress_sent;    /* a "213-" line went out: the reply must end it */
    int ferr;              /* errno of a failed read */
};

/* Streams the job's bytes through the session's file buffer into the
 * digest. False on a read error (job->ferr) or a library failure. A file
 * that shrinks meanwhile ends the digest at its new end (job->done says
 * where). */
static bool digest_file(struct session *s, struct hash_job *job, unsigned char *out, size_t *len)
{
    struct tls_digest d;
    if (!tls_digest_start(&d, job->algo)) {
        return false;
    }
    int64_t next_progress = sys_now_ms() + DEFS_HASH_PROGRESS_MS;
    while (job->done < job->count) {
        uint64_t left = job->count - job->done;
        size_t want = left < sizeof s->file_buf ? (size_t)left : sizeof s->file_buf;
        ssize_t n = sys_pread(job->fd, s->file_buf, want, (off_t)(job->start + job->done));
        if (n == 0) {
            break;
        }
        if (n < 0 || !tls_digest_update(&d, s->file_buf, (size_t)n)) {
            job->ferr = n < 0 ? errno : 0;
            tls_digest_free(&d);
            return false;
        }
        job->done += (uint64_t)n;
        if (sys_now_ms() >= next_progress) {
            reply_progress(s, FTP_STAT_FILE, "Computing %s of %s: %" PRIu64 " of %" PRIu64 " bytes",
                           pol_hash_name(job->algo), job->shown, job->done, job->count);
            job->progress_sent = true;
            next_progress = sys_now_ms() + DEFS_HASH_PROGRESS_MS;
        }
    }
    return tls_digest_finish(&d, out, len);
}

/* Opens what HASH names: a plain file, else the draft's replies (553 for
 * a directory). The fd, or -1 with the reply sent. */
static int open_hashed(struct session *s, const char *arg, const char *vpath, struct stat *st)
{
    int fd = path_open(s->login.root_fd, vpath, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0 || sys_fstat(fd, st) != 0) {
        int e = errno;
        sys_closep(&fd);
        vpath_fail(s, "HASH", arg, vpath, e);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        sys_closep(&fd);
        if (S_ISDIR(st->st_mode)) {
            reply(s, FTP_BAD_NAME, "%s: Is a directory; HASH covers files", arg);
        } else {
            reply(s, FTP_FILE_UNAVAIL, "%s: Not a plain file", arg);
        }
        return -1;
    }
    return fd;
}

/* The bytes to hash: the whole file, or the RANG range cut at the end of
 * the file. False (reply sent) for a range that starts past the end. */
static bool choose_range(struct session *s, const struct hash_range *r, uint64_t size,
                         struct hash_job *job)
{
    job->start = 0;
    job->count = size;
    if (!r->set) {
        return true;
    }
    if (r->start >= size) {
        reply(s, FTP_BAD_REST, "RANG start %" PRIu64 " is beyond the end of %s (%" PRIu64 " bytes)",
              r->start, job->shown, size);
        return false;
    }
    uint64_t last = r->end < size - 1 ? r->end : size - 1;
    job->start = r->start;
    job->count = last - r->start + 1;
    return true;
}

/* The hash-limit check, before a byte is read. False with 556 (the
 * draft's "policy reasons" reply). */
static bool within_limit(struct session *s, const struct hash_job *job)
{
    uint64_t limit = s->pol->hash_limit;
    if (limit == 0 || (s->hash_bytes <= limit && job->count <= limit - s->hash_bytes)) {
        return true;
    }
    uint64_t left = s->hash_bytes < limit ? limit - s->hash_bytes : 0;
    info("HASH %s refused: %" PRIu64 " bytes, %" PRIu64 " left of hash-limit", job->shown,
         job->count, left);
    reply(s, FTP_POLICY_REFUSED,
          "%s: HASH of %" PRIu64 " bytes is over what this session may still hash (%" PRIu64
          " bytes of hash-limit %" PRIu64 ")",
          job->shown, job->count, left, limit);
    return false;
}

void cmd_hash(struct session *s, const char *arg)
{
    /* The range is for this HASH only, whatever becomes of it. */
    const struct hash_range rang = {s->proto.rang_set, s->proto.rang_start, s->proto.rang_end};
    s->proto.rang_set = false;
    struct hash_job job = {.fd = -1, .shown = arg};
    if (!current_algo(s, &job.algo)) {
        reply(s, FTP_NOT_IMPL, "HASH is off on this server");
        return;
    }
    char vpath[DEFS_PATH_MAX];
    struct stat st;
    if (!vpath_resolve(s, arg, vpath, sizeof vpath, false) ||
        (job.fd = open_hashed(s, arg, vpath, &st)) < 0) {
        return;
    }
    unsigned char dg[TLS_DIGEST_MAX];
    size_t dlen = 0;
    char text[DEFS_REPLY_MAX - 8];
    bool ok = choose_range(s, &rang, (uint64_t)st.st_size, &job) && within_limit(s, &job);
    if (ok && !digest_file(s, &job, dg, &dlen)) {
        /* After a "213-" line this breaks the multi-line form, as ProFTPD
         * does: only a failing disk gets here. */
        err("HASH %s: %s", vpath, job.ferr ? strerror(job.ferr) : "digest failed");
        reply(s, FTP_LOCAL_ERROR, "%s: HASH failed (%s)", arg,
              job.ferr ? strerror(job.ferr) : "digest failed");
        ok = false;
    }
    sys_closep(&job.fd);
    s->hash_bytes += job.done;
    if (!ok) {
        return;
    }
    if (!hash_reply_text(text, sizeof text, job.algo, job.start, job.done, dg, dlen, arg)) {
        reply(s, FTP_BAD_NAME, "Path too long to be named in a HASH reply");
        return;
    }
    info("HASH %s %s: %" PRIu64 " bytes from %" PRIu64, pol_hash_name(job.algo), vpath, job.done,
         job.start);
    reply(s, FTP_STAT_FILE, "%s", text);
}
