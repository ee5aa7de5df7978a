/* Every limit of ftpsd, by name (STYLE.md habit 3). Changing one here
 * changes it everywhere; nothing else in the tree spells these numbers. */
#ifndef FTPSD_DEFS_H
#define FTPSD_DEFS_H

#define FTPSD_VERSION "0.1.0"

/* A control line including CRLF (SPEC §5). */
#define DEFS_LINE_MAX 4096
/* One formatted reply line, code and CRLF included. */
#define DEFS_REPLY_MAX 4096
/* A host name (HOST, SNI): DNS names are at most 253 bytes. */
#define DEFS_HOST_MAX 256
/* A peer address as text, "[v6addr]:port" with room to spare. */
#define DEFS_PEER_STR_MAX 80
/* A failure reason carried to a reply text ("Data connection failed (...)"). */
#define DEFS_WHY_MAX 160
/* How long a write may wait: the 421 of a refused session, a log line to
 * stderr (with `log stderr` under inetd, fd 2 is the client's socket). */
#define DEFS_REFUSAL_WRITE_MS 5000
#define DEFS_LOG_WRITE_MS 1000
/* One log line, and how many one session may write: a burst, then a
 * steady rate (log.c). A normal session writes fewer than 20 lines. */
#define DEFS_LOG_LINE_MAX 1024
#define DEFS_LOG_BURST 100
#define DEFS_LOG_LINES_PER_SEC 20
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
/* Tokens on one policy line: the keyword and its values. */
#define DEFS_POLICY_TOKENS_MAX (DEFS_POLICY_VALUES_MAX + 1)
/* Rows the directive table may have (the parser counts each one's uses in
 * arrays of this size). */
#define DEFS_POLICY_DIRECTIVES_MAX 48
/* One policy error message, FILE:LINE excluded. */
#define DEFS_POLICY_MSG_MAX 512
/* How much of an offending value an error message repeats, as a printf
 * precision: a hostile file cannot make one message line huge. */
#define DEFS_POLICY_SHOW "64"
/* The "expected one of: ..." list of a bad choice value. */
#define DEFS_POLICY_CHOICES_TEXT 160
/* Seconds-valued policy directives (idle, login-grace): at most a day. */
#define DEFS_POLICY_SECONDS_MAX 86400
/* Failed logins before the connection is closed (max-tries). */
#define DEFS_POLICY_TRIES_MAX 100
/* A banner ends up in a `220 TEXT\r\n` reply of at most DEFS_REPLY_MAX. */
#define DEFS_BANNER_MAX (DEFS_REPLY_MAX - 8)
/* `max-sessions` and `max-per-ip`: the most a policy may allow. */
#define DEFS_SESSIONS_MAX 10000
/* The session-slot lock file (slots.c): per-address slots start past every
 * max-sessions slot, in this many buckets of addresses. */
#define DEFS_SLOTS_IP_BASE (1u << 20)
#define DEFS_SLOTS_IP_BUCKETS 65536u
/* Where session slots live when `runtime-dir` is not given. */
#define DEFS_RUNTIME_DIR "/var/run/ftpsd"
/* `rate=`: the most bytes per second a direction may be given, 4 GiB/s
 * (more is no limit on any link a session sees; 0 means no limit). */
#define DEFS_RATE_MAX (4ull * 1024 * 1024 * 1024)
/* Milliseconds a session start waits for pasv-address host names to
 * resolve (both together) before it goes on with the local address. */
#define DEFS_PASV_LOOKUP_MS 3000
/* `hash-limit`: the most a policy may name, 1 PiB (more is no limit). */
#define DEFS_HASH_LIMIT_MAX (1ull << 50)
/* HASH of a big file: a "213-" keep-alive line this often, so clients
 * that time out a silent control connection (FileZilla: 20 s) wait. */
#define DEFS_HASH_PROGRESS_MS 5000
/* rate=: bytes move in slices of this many milliseconds' worth at the
 * user's rate (one slice ahead of the schedule at most), and a transfer
 * that fell behind (a slow peer) may catch up by this much at once, no
 * more. */
#define DEFS_RATE_SLICE_MS 100
#define DEFS_RATE_BURST_MS 1000
/* Host names in the policy (RFC 1123): a label, and the whole name. */
#define DEFS_DNS_LABEL_MAX 63
#define DEFS_DNS_NAME_MAX 253
/* Ports: below this one live the well-known services (no passive listener
 * there, no active connection to them). */
#define DEFS_PORT_UNPRIVILEGED_MIN 1024
#define DEFS_PORT_MAX 65535
/* Characters of one port number in `pasv-ports`, leading zeros included. */
#define DEFS_PORT_TEXT_MAX 7
/* Transfer buffer, one per direction: one full TLS record. */
#define DEFS_XFER_BUF 16384
/* Seconds a data connection may take to be accepted / connected. */
#define DEFS_DATA_CONNECT_TIMEOUT 30
/* Pending connections on a passive socket: room for a wrong peer's attempt
 * (closed unread) without dropping the right one. */
#define DEFS_LISTEN_BACKLOG 4
/* Seconds an orderly data close waits for the client's close_notify/FIN. */
#define DEFS_DATA_CLOSE_TIMEOUT 10
/* Polls in a row that found control input the control reader did not
 * consume before the transfer stops watching it (a spin guard). */
#define DEFS_CTRL_STUCK_MAX 1000
/* sendfile(2) chunk for clear binary downloads. */
#define DEFS_SENDFILE_CHUNK (1024 * 1024)
/* A directory listing line (name + symlink target + facts). */
#define DEFS_LIST_LINE_MAX (DEFS_PATH_MAX + 512)
/* Tries to find a free atomic-upload temporary name. */
#define DEFS_TEMP_NAME_TRIES 32
/* Names tried by STOU after the one asked for: base.1 ... base.N. */
#define DEFS_STOU_MAX_SUFFIX 999
/* A command verb: the longest RFC verb is 4 letters; room for unknown ones
 * to be named in the 500 reply. */
#define DEFS_VERB_MAX 16
/* `-t` warns about a server certificate that expires within this many days. */
#define DEFS_CERT_EXPIRY_WARN_DAYS 30
/* TLS: one diagnostic or log line about a handshake. */
#define DEFS_TLS_MSG_MAX 768
/* Cipher suites of one configuration: the policy's, or the defaults. */
#define DEFS_TLS_SUITES_MAX (DEFS_POLICY_VALUES_MAX + 8)
/* A saved TLS 1.2 session (the data-reuse cache), client certificate included. */
#define DEFS_TLS_SESSION_MAX (64 * 1024)
/* Seconds a TLS 1.3 session ticket lives. Its key is made at random in the
 * session's process and dies with it, so a ticket never outlives the
 * session anyway; a day (testssl.sh flags longer hints) lets a session
 * open protected data connections for a day. */
#define DEFS_TLS_TICKET_LIFETIME 86400
/* Milliseconds for the close_notify to a data connection refused after its
 * handshake (it did not resume: data-reuse required). */
#define DEFS_TLS_REFUSE_CLOSE_MS 1000
/* What is kept of a ClientHello for the diagnostics: suites, groups, key
 * shares, and the ALPN names joined for the log. */
#define DEFS_TLS_HELLO_SUITES 128
#define DEFS_TLS_HELLO_GROUPS 32
#define DEFS_TLS_HELLO_SHARES 8
#define DEFS_TLS_HELLO_ALPN 96
/* Passwords. */
#define DEFS_PBKDF2_MIN_ITER 1000u
#define DEFS_PBKDF2_MAX_ITER 10000000u
#define DEFS_PBKDF2_DEFAULT_ITER 100000u
#define DEFS_PBKDF2_SALT_MAX 64
/* Base64 of up to DEFS_PBKDF2_SALT_MAX bytes, padded to a multiple of 4:
 * the longest salt or hash field of a `$pbkdf2-sha256$` string. */
#define DEFS_PBKDF2_B64_MAX (((DEFS_PBKDF2_SALT_MAX + 2) / 3) * 4)
/* Characters of the iteration count field, leading zeros included. */
#define DEFS_PBKDF2_ITER_TEXT_MAX 15
#define DEFS_PBKDF2_HASH_LEN 32
#define DEFS_PASSWORD_MAX 1024
/* Salt bytes --hash-password draws (and an unknown name's check imitates). */
#define DEFS_PBKDF2_NEW_SALT_LEN 16
/* Policy errors kept at session start until the log is open. */
#define DEFS_EARLY_ERRORS 16
/* BPF instructions the seccomp filter may take (the kernel's own cap is
 * 4096; the allow-list needs about 300 on 32-bit systems, fewer on 64). */
#define DEFS_SANDBOX_FILTER_MAX 1024
/* Default policy path (SPEC §1). */
#define DEFS_POLICY_PATH "/etc/ftpsd/policy"

#endif
