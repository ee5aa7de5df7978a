/* Directory listings (SPEC §4.4, STYLE.md habit 11). Entries go from
 * readdir() through a formatter into a caller's emit callback one at a
 * time: nothing is collected, sorted or allocated per entry, so memory does
 * not grow with the directory. Formats are those clients parse: ls -l lines
 * for LIST (owner and group shown as "ftp", dates in UTC), bare names for
 * NLST, RFC 3659 facts for MLSD/MLST. Entries are examined with
 * fstatat(AT_SYMLINK_NOFOLLOW) relative to the directory fd, so a symlink
 * pointing outside the user's root is shown as a link and never followed
 * (its target's metadata would leak). Atomic-upload temporaries
 * (.ftpsd-*) are never shown. */
#include "list.h"

#include <errno.h>
#include <fcntl.h>

#include "text.h"
#include "defs.h"
#include "path.h"
#include "policy.h"
#include "sys.h"
#include "sys_fs.h"

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void list_mode_string(mode_t mode, char out[11])
{
    char t = '-';
    if (S_ISDIR(mode)) {
        t = 'd';
    } else if (S_ISLNK(mode)) {
        t = 'l';
    } else if (S_ISFIFO(mode)) {
        t = 'p';
    } else if (S_ISSOCK(mode)) {
        t = 's';
    } else if (S_ISCHR(mode)) {
        t = 'c';
    } else if (S_ISBLK(mode)) {
        t = 'b';
    }
    out[0] = t;
    out[1] = (mode & S_IRUSR) ? 'r' : '-';
    out[2] = (mode & S_IWUSR) ? 'w' : '-';
    out[3] = (mode & S_ISUID) ? ((mode & S_IXUSR) ? 's' : 'S') : ((mode & S_IXUSR) ? 'x' : '-');
    out[4] = (mode & S_IRGRP) ? 'r' : '-';
    out[5] = (mode & S_IWGRP) ? 'w' : '-';
    out[6] = (mode & S_ISGID) ? ((mode & S_IXGRP) ? 's' : 'S') : ((mode & S_IXGRP) ? 'x' : '-');
    out[7] = (mode & S_IROTH) ? 'r' : '-';
    out[8] = (mode & S_IWOTH) ? 'w' : '-';
    out[9] = (mode & S_ISVTX) ? ((mode & S_IXOTH) ? 't' : 'T') : ((mode & S_IXOTH) ? 'x' : '-');
    out[10] = '\0';
}

bool list_format_time(char out[15], time_t t)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        return false;
    }
    return sys_fmt(out, 15, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Days from 1970-01-01 to a proleptic Gregorian date (m 1-12), by the
 * days-from-civil method: exact for every year, without time zones. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* n decimal digits at s into *v; false on anything else. */
static bool digits(const char *s, size_t n, unsigned *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return true;
}

bool list_parse_time(const char *s, struct timespec *out)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h, mi, sec, frac = 0;
    if (!digits(s, 4, &y) || !digits(s + 4, 2, &mo) || !digits(s + 6, 2, &d) ||
        !digits(s + 8, 2, &h) || !digits(s + 10, 2, &mi) || !digits(s + 12, 2, &sec)) {
        return false;
    }
    const char *p = s + 14;
    if (*p == '.') {
        size_t n = 0;
        for (p++; p[n] >= '0' && p[n] <= '9'; n++) {
            if (n >= 9) {
                return false;
            }
            frac = frac * 10 + (unsigned)(p[n] - '0');
        }
        if (n == 0) {
            return false;
        }
        p += n;
        for (; n < 9; n++) {
            frac *= 10;
        }
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (*p != '\0' || y < 1000 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59) {
        return false;
    }
    int64_t t = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + sec;
    /* SECURITY: a 32-bit time_t would wrap 2100 into 1964. */
    if ((int64_t)(time_t)t != t) {
        return false;
    }
    out->tv_sec = (time_t)t;
    out->tv_nsec = (long)frac;
    return true;
}

/* Appends a name made safe to show (text_sanitize). SECURITY: a line break
 * inside a name would make clients see two entries, and ESC, C1 or bidi
 * controls would rewrite what a command-line client's terminal shows. */
static bool append_name(char *out, size_t cap, size_t *pos, const char *name)
{
    size_t start = *pos;
    for (const char *p = name; *p; p++) {
        if (*pos + 1 >= cap) {
            return false;
        }
        out[(*pos)++] = *p;
    }
    out[*pos] = '\0';
    *pos = start + text_sanitize(out + start, *pos - start, false);
    return true;
}

size_t list_format_long(char *out, size_t cap, const struct stat *st, const char *name,
                        const char *link, time_t now)
{
    char mode[11];
    list_mode_string(st->st_mode, mode);
    struct tm tm;
    time_t mt = st->st_mtime;
    if (cap == 0 || !gmtime_r(&mt, &tm) || tm.tm_mon < 0 || tm.tm_mon > 11) {
        return 0;
    }
    /* ls(1): within the last six months "HH:MM", otherwise the year. */
    const time_t half_year = (time_t)(365 * 24 * 3600 / 2);
    bool recent = mt <= now + 3600 && now - mt < half_year;
    size_t pos = 0;
    bool ok = sys_append(out, cap, &pos, "%s %3lu %-8s %-8s %12llu %s %2d ", mode,
                         (unsigned long)st->st_nlink, "ftp", "ftp", (unsigned long long)st->st_size,
                         months[tm.tm_mon], tm.tm_mday);
    if (recent) {
        ok = ok && sys_append(out, cap, &pos, "%02d:%02d ", tm.tm_hour, tm.tm_min);
    } else {
        ok = ok && sys_append(out, cap, &pos, " %d ", tm.tm_year + 1900);
    }
    ok = ok && append_name(out, cap, &pos, name);
    if (link) {
        ok = ok && sys_append(out, cap, &pos, " -> ") && append_name(out, cap, &pos, link);
    }
    return ok ? pos : 0;
}

/* One letter of the perm fact and the access letters it needs (all of
 * them; none: always). */
struct perm_letter {
    char letter;
    uint32_t needs;
};

void list_perm_fact(mode_t mode, uint32_t access, char *out, size_t cap)
{
    /* RFC 3659 §7.5.5, from the policy's letters (SPEC §5): what this user
     * may do, not what the file system would allow anybody. Overwriting an
     * existing file needs w and d (SPEC §5). */
    static const struct perm_letter dir_letters[] = {
        {'c', POL_ACC_WRITE},
        {'d', POL_ACC_MKDIR},
        {'e', 0},
        {'f', POL_ACC_RENAME},
        {'l', POL_ACC_READ},
        {'m', POL_ACC_MKDIR},
        {'p', POL_ACC_DELETE},
        {0, 0},
    };
    static const struct perm_letter file_letters[] = {
        {'a', POL_ACC_APPEND},
        {'d', POL_ACC_DELETE},
        {'f', POL_ACC_RENAME},
        {'r', POL_ACC_READ},
        {'w', POL_ACC_WRITE | POL_ACC_DELETE},
        {0, 0},
    };
    size_t pos = 0;
    for (const struct perm_letter *l = S_ISDIR(mode) ? dir_letters : file_letters; l->letter; l++) {
        if ((access & l->needs) == l->needs && pos + 1 < cap) {
            out[pos++] = l->letter;
        }
    }
    if (cap > 0) {
        out[pos] = '\0';
    }
}

size_t list_format_facts(char *out, size_t cap, const struct stat *st, const char *type,
                         uint32_t access, const char *name)
{
    if (!type) {
        if (S_ISREG(st->st_mode)) {
            type = "file";
        } else if (S_ISDIR(st->st_mode)) {
            type = "dir";
        } else if (S_ISLNK(st->st_mode)) {
            type = "OS.unix=symlink";
        } else {
            type = "OS.unix=special";
        }
    }
    char when[15];
    char perm[16];
    list_perm_fact(st->st_mode, access, perm, sizeof perm);
    size_t pos = 0;
    if (cap == 0) {
        return 0;
    }
    bool ok = sys_append(out, cap, &pos, "type=%s;", type);
    if (S_ISREG(st->st_mode)) {
        ok = ok && sys_append(out, cap, &pos, "size=%llu;", (unsigned long long)st->st_size);
    }
    if (list_format_time(when, st->st_mtime)) {
        ok = ok && sys_append(out, cap, &pos, "modify=%s;", when);
    }
    ok = ok && sys_append(out, cap, &pos, "perm=%s;unique=%llxg%llx;UNIX.mode=0%o; ", perm,
                          (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
                          (unsigned)(st->st_mode & 07777));
    ok = ok && append_name(out, cap, &pos, name);
    return ok ? pos : 0;
}

bool list_one(const struct stat *st, const char *name, const char *link, const struct list_opts *o,
              list_emit_fn *emit, void *ctx)
{
    char line[DEFS_LIST_LINE_MAX];
    size_t n;
    switch (o->kind) {
    case LIST_NAMES: {
        size_t pos = 0;
        line[0] = '\0';
        n = append_name(line, sizeof line, &pos, name) ? pos : 0;
        break;
    }
    case LIST_FACTS:
        n = list_format_facts(line, sizeof line, st, NULL, o->access, name);
        break;
    case LIST_LONG:
    default:
        n = list_format_long(line, sizeof line, st, name, link, o->now);
        break;
    }
    if (n == 0) {
        /* Only a name near DEFS_PATH_MAX gets here: skip it, go on. */
        return true;
    }
    return emit(ctx, line, n);
}

static bool is_dot(const char *n)
{
    return n[0] == '.' && n[1] == '\0';
}

static bool is_dotdot(const char *n)
{
    return n[0] == '.' && n[1] == '.' && n[2] == '\0';
}

int list_dir(int dirfd, const struct list_opts *o, list_emit_fn *emit, void *ctx)
{
    DIR *d = sys_opendir_fd(dirfd);
    if (!d) {
        int e = errno;
        (void)sys_close(dirfd);
        return e;
    }
    int dfd = dirfd;
    int result = 0;
    char line[DEFS_LIST_LINE_MAX];
    char link[DEFS_PATH_MAX];
    for (;;) {
        const char *name = sys_readdir(d, &result);
        if (!name) {
            break;
        }
        /* SECURITY: temporaries of uploads in progress are invisible, so
         * nobody reads or races a half-written file (SPEC §5). */
        if (path_is_internal(name)) {
            continue;
        }
        const char *type = NULL;
        if (is_dot(name) || is_dotdot(name)) {
            if (o->kind != LIST_FACTS) {
                continue;
            }
            /* SECURITY: the root's ".." is outside the user's world: not
             * even its metadata is shown. */
            if (is_dotdot(name) && o->at_root) {
                continue;
            }
            type = is_dot(name) ? "cdir" : "pdir";
        } else if (name[0] == '.' && !o->all && o->kind != LIST_FACTS) {
            continue;
        }
        size_t n;
        if (o->kind == LIST_NAMES) {
            size_t pos = 0;
            n = append_name(line, sizeof line, &pos, name) ? pos : 0;
        } else {
            struct stat st;
            if (sys_lstatat(dfd, name, &st) != 0) {
                continue; /* removed meanwhile */
            }
            if (o->kind == LIST_FACTS) {
                n = list_format_facts(line, sizeof line, &st, type, o->access, name);
            } else {
                const char *lp = NULL;
                if (S_ISLNK(st.st_mode)) {
                    if (sys_readlinkat(dfd, name, link, sizeof link) >= 0) {
                        lp = link;
                    }
                }
                n = list_format_long(line, sizeof line, &st, name, lp, o->now);
            }
        }
        if (n == 0) {
            continue;
        }
        if (!emit(ctx, line, n)) {
            result = ECANCELED;
            break;
        }
    }
    int ce = sys_closedir(d);
    if (ce != 0 && result == 0) {
        result = ce;
    }
    return result;
}

const char *list_parse_options(const char *arg, bool *all)
{
    *all = false;
    const char *p = arg;
    while (*p == '-') {
        const char *q = p + 1;
        bool letters = true;
        while (*q && *q != ' ') {
            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))) {
                letters = false;
                break;
            }
            q++;
        }
        if (!letters || q == p + 1) {
            break; /* "-" alone or "-x.txt": a name, not options */
        }
        for (const char *c = p + 1; c < q; c++) {
            if (*c == 'a' || *c == 'A') {
                *all = true;
            }
        }
        p = q;
        while (*p == ' ') {
            p++;
        }
    }
    return p;
}
