/* The policy file (SPEC §2, §5): one strict, table-driven parser and the
 * typed result every other module reads. Nothing here touches the network;
 * the parser is pure so it can be unit-tested and fuzzed. */
#ifndef FTPSD_POLICY_H
#define FTPSD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "defs.h"

/* What must be protected: the values of `tls` and `tls=`, with the meanings
 * of ProFTPD's TLSRequired. Bits say which requirement each value carries. */
enum pol_tls {
    POL_TLS_OFF,       /* TLS not offered at all */
    POL_TLS_OPTIONAL,  /* offered, nothing demanded */
    POL_TLS_AUTH,      /* USER/PASS only after AUTH */
    POL_TLS_CTRL,      /* every command but FEAT/AUTH/HOST/QUIT/NOOP */
    POL_TLS_DATA,      /* PROT P demanded */
    POL_TLS_ON,        /* ctrl + data */
    POL_TLS_AUTH_DATA, /* auth + data (the default) */
};
#define POL_TLS_UNSET (-1)

enum pol_client_cert { POL_CCERT_OFF, POL_CCERT_OPTIONAL, POL_CCERT_REQUIRED };
enum pol_log { POL_LOG_SYSLOG, POL_LOG_STDERR, POL_LOG_NONE };

/* `log-level`: the most verbose level logged, most severe first, so a line
 * is logged when its level <= the policy's. log.h's enum log_level takes
 * these values, so the two compare directly. */
enum pol_log_level { POL_LEVEL_ERROR, POL_LEVEL_WARN, POL_LEVEL_INFO, POL_LEVEL_DEBUG };

/* `hash`: the algorithms of the HASH command (draft-bryan-ftpext-hash). */
enum pol_hash_algo {
    POL_HASH_SHA256,
    POL_HASH_SHA512,
    POL_HASH_SHA1,
    POL_HASH_MD5,
    POL_HASH_ALGOS /* how many there are */
};

/* Access letters, one bit each (SPEC §5). */
enum pol_access {
    POL_ACC_READ = 1u << 0,   /* r */
    POL_ACC_WRITE = 1u << 1,  /* w */
    POL_ACC_APPEND = 1u << 2, /* a */
    POL_ACC_DELETE = 1u << 3, /* d */
    POL_ACC_MKDIR = 1u << 4,  /* m */
    POL_ACC_RENAME = 1u << 5, /* n */
};
#define POL_ACC_UNSET 0xffffffffu
#define POL_ACC_DEFAULT POL_ACC_READ

/* A parsed `$pbkdf2-sha256$ITER$SALT$HASH`. */
struct pol_pbkdf2 {
    uint32_t iterations;
    size_t salt_len;
    unsigned char salt[DEFS_PBKDF2_SALT_MAX];
    unsigned char hash[DEFS_PBKDF2_HASH_LEN];
};

/* The keys a user line and a group line share. An unset key comes from the
 * user's group, then from the defaults (pol_effective). */
struct pol_rules {
    char *root;                  /* NULL = unset */
    char *home;                  /* NULL = unset; normalised, starts with '/' */
    uint32_t access;             /* POL_ACC_UNSET = unset */
    int tls;                     /* POL_TLS_UNSET = unset */
    uint64_t rate_down, rate_up; /* bytes per second, 0 = no limit; POL_RATE_UNSET = unset */
};
#define POL_RATE_UNSET UINT64_MAX

struct pol_group {
    char name[DEFS_NAME_MAX];
    int line;
    struct pol_rules rules;
};

struct pol_user {
    char name[DEFS_NAME_MAX];
    int line;
    bool anonymous; /* named anonymous or ftp: any password, no secret */
    bool has_password;
    struct pol_pbkdf2 password;
    bool has_cert;
    unsigned char cert_sha256[32];
    struct pol_rules rules; /* unset keys: from the group, else the defaults */
    int group;              /* index in policy.groups, -1 none */
};

/* A user's rules after group and global defaults are applied. */
struct pol_effective {
    const char *root; /* virtual path inside chroot, starts with '/' */
    const char *home; /* start directory, a virtual path inside root */
    uint32_t access;
    enum pol_tls tls;
    uint64_t rate_down, rate_up; /* bytes per second, 0 = no limit */
};

/* One value of `pasv-address`: an IPv4 address, parsed here, or a host
 * name, resolved at session start (the parser does no DNS). */
struct pol_pasv_addr {
    char *name;          /* as written; NULL = not given */
    bool literal;        /* name is an IPv4 address, already in addr */
    bool local;          /* `local`: the control connection's own local address */
    struct in_addr addr; /* when literal */
};

#define POL_MAX_CERTS 2

struct policy {
    char *path; /* as given with -f, for FILE:LINE */
    char *cert[POL_MAX_CERTS];
    char *key[POL_MAX_CERTS];
    int ncert, nkey;
    char *client_ca;
    enum pol_client_cert client_cert;
    enum pol_tls tls;
    int tls_min;    /* 12 or 13 */
    int tls_max;    /* 12 or 13, >= tls_min */
    char **ciphers; /* NULL = default; else names as given */
    size_t nciphers;
    bool implicit;
    bool data_reuse_required;
    bool renegotiate_client;
    bool ktls; /* `ktls auto`: kernel TLS for data where it can */
    char *keylog;
    char *run_as;
    char *chroot;
    bool sandbox;                      /* seccomp allow-list and no_new_privs */
    unsigned pasv_lo, pasv_hi;         /* 0,0 = kernel's ephemeral ports */
    struct pol_pasv_addr pasv_public;  /* in 227 replies; not given: the local address */
    struct pol_pasv_addr pasv_private; /* for peers in private ranges; not given: as public */
    bool active_peer;                  /* false = active off */
    bool fxp;
    enum pol_hash_algo hash[POL_HASH_ALGOS]; /* HASH algorithms, hash[0] the default */
    unsigned nhash;                          /* 0 = `hash off` */
    uint64_t hash_limit;  /* bytes one session may hash, all HASH commands together; 0 = none */
    unsigned idle;        /* seconds */
    unsigned login_grace; /* seconds */
    unsigned max_tries;
    unsigned max_sessions; /* concurrent sessions in all, 0 = no limit */
    unsigned max_per_ip;   /* concurrent sessions from one address, 0 = no limit */
    char *runtime_dir;     /* session slots (host path); NULL = DEFS_RUNTIME_DIR */
    mode_t umask;
    bool upload_atomic;
    enum pol_log log;
    enum pol_log_level log_level;
    char *xferlog;
    char *banner;
    struct pol_group *groups;
    size_t ngroups;
    struct pol_user *users;
    size_t nusers;
};

/* Receives each error (line 0: about the file as a whole). */
typedef void pol_report_fn(void *ctx, const char *file, int line, const char *msg);

/* Fills *pol with the defaults of SPEC §2. */
void pol_defaults(struct policy *pol);

/* Parses a whole policy held in memory; `name` is used in messages.
 * Reports every error through `report`, returns the number of errors. */
int pol_parse_buf(struct policy *pol, const char *name, const char *text, size_t len,
                  pol_report_fn *report, void *ctx);

/* Reads and parses the file at `path`: refuses files writable by group or
 * other, files over DEFS_POLICY_MAX, non-regular files. Returns the number of
 * errors (0 = usable). */
int pol_load(struct policy *pol, const char *path, pol_report_fn *report, void *ctx);

/* Frees everything pol_parse_buf allocated. */
void pol_free(struct policy *pol);

/* Reports (through `report`, each starting "warning: ") what in a usable
 * policy weakens it: users' password hashes of different iteration counts,
 * and clear-text logins mixed with per-user rules that demand TLS. */
void pol_warnings(const struct policy *pol, pol_report_fn *report, void *ctx);

/* Finds a user by name (anonymous and ftp are aliases); NULL if none. */
const struct pol_user *pol_find_user(const struct policy *pol, const char *name);

/* Applies group and global defaults to one user. */
void pol_effective(const struct policy *pol, const struct pol_user *u, struct pol_effective *out);

/* True if a PASV client at `peer` gets `pasv_private` rather than
 * `pasv_public`: RFC 1918, 100.64/10 (shared NAT), 127/8, 169.254/16. */
bool pol_pasv_private_peer(struct in_addr peer);

/* Requirements carried by a `tls` value. */
bool pol_tls_login_required(enum pol_tls t); /* auth, ctrl, on, auth+data */
bool pol_tls_ctrl_required(enum pol_tls t);  /* ctrl, on */
bool pol_tls_data_required(enum pol_tls t);  /* data, on, auth+data */
/* What the rule `t` says about CCC after login (SPEC §5's CCC column); the
 * caller chooses the reply code. */
enum pol_ccc {
    POL_CCC_ALLOWED, /* the control channel may be cleared */
    POL_CCC_TLS_OFF, /* there is no TLS to clear */
    POL_CCC_REFUSED, /* the rule protects the whole control channel */
};
enum pol_ccc pol_tls_ccc(enum pol_tls t);

const char *pol_tls_name(enum pol_tls t);
/* An algorithm's name as the HASH command spells it ("SHA-256", ...). */
const char *pol_hash_name(enum pol_hash_algo a);
/* Access bits as letters, in "rwadmn" order, into buf (>= 7 bytes). */
void pol_access_letters(uint32_t access, char *buf, size_t bufsz);

/* Writes the `-t` report of SPEC §5: effective settings, then one line per
 * user. */
void pol_print(const struct policy *pol, FILE *out);

/* Strict number parser: decimal (base 10) or octal (base 8), no sign, no
 * blanks, within [min, max]. Returns false on any deviation. */
bool pol_parse_number(const char *s, unsigned base, uint64_t min, uint64_t max, uint64_t *out);

/* Parses `$pbkdf2-sha256$ITER$SALT$HASH` (base64 padded, unpadded, or
 * passlib's `.` alphabet). Returns false with a reason on a bad form. */
bool pol_parse_pbkdf2(const char *s, struct pol_pbkdf2 *out, const char **why);

/* Parses `sha256:HEX` (64 hex digits, either case, optional colons). */
bool pol_parse_fingerprint(const char *s, unsigned char out[32]);

#endif
