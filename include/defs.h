/* Every limit of ftpsd, by name (STYLE.md habit 3). Changing one here
 * changes it everywhere; nothing else in the tree spells these numbers. */
#ifndef FTPSD_DEFS_H
#define FTPSD_DEFS_H

#define FTPSD_VERSION "0.1.0"

/* A control line including CRLF (SPEC §5). */
#define DEFS_LINE_MAX 4096
/* One formatted reply line, code and CRLF included. */
#define DEFS_REPLY_MAX 4096
/* Paths: virtual (client-visible) and host paths share this bound. */
#define DEFS_PATH_MAX 4096
/* User and group names in the policy and on the wire. */
#define DEFS_NAME_MAX 64
/* The policy file is read whole; a bigger one is refused. */
#define DEFS_POLICY_MAX (256 * 1024)
/* Users and groups one policy may define. */
#define DEFS_POLICY_USERS_MAX 4096
#define DEFS_POLICY_GROUPS_MAX 256
/* Values on one policy line (cipher lists are the longest). */
#define DEFS_POLICY_VALUES_MAX 64
/* Transfer buffer, one per direction: one full TLS record. */
#define DEFS_XFER_BUF 16384
/* Seconds a data connection may take to be accepted / connected. */
#define DEFS_DATA_CONNECT_TIMEOUT 30
/* Passwords. */
#define DEFS_PBKDF2_MIN_ITER 1000u
#define DEFS_PBKDF2_MAX_ITER 10000000u
#define DEFS_PBKDF2_DEFAULT_ITER 100000u
#define DEFS_PBKDF2_SALT_MAX 64
#define DEFS_PBKDF2_HASH_LEN 32
#define DEFS_PASSWORD_MAX 1024
/* Default policy path (SPEC §1). */
#define DEFS_POLICY_PATH "/etc/ftpsd/policy"

#endif
