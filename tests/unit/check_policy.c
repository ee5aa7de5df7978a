/* Unit tests for the policy grammar (policy.c, policy_value.c): each
 * directive of SPEC §2 with its typed value, defaults, quoting, each error
 * kind with its line number. pol_load's file checks are in
 * check_policy_load.c, users and groups in check_policy_acct.c, single-value
 * parsers in check_policy_value.c.
 * Table-driven (STYLE.md habit 15): each table row is one loop iteration. */
#include <stddef.h>

#include "policy_test.h"

/* ---------------------------------------------- every directive accepted */

enum ftype { F_STR, F_BOOL, F_UINT, F_INT, F_MODE, F_TLS, F_CCERT, F_LOG, F_LEVEL, F_SIZE, F_U64 };

struct accept_case {
    const char *text; /* appended to BASE */
    size_t off;
    enum ftype type;
    long long num;
    const char *str;
    const char *print; /* a line pol_print must write, or NULL */
};

#define OFF(f) offsetof(struct policy, f)

static const struct accept_case accept_cases[] = {
    {"client-ca /etc/ca.pem\n", OFF(client_ca), F_STR, 0, "/etc/ca.pem", "client-ca /etc/ca.pem"},
    {"client-cert off\n", OFF(client_cert), F_CCERT, POL_CCERT_OFF, NULL, "client-cert off"},
    {"client-cert optional\n", OFF(client_cert), F_CCERT, POL_CCERT_OPTIONAL, NULL,
     "client-cert optional"},
    {"client-cert required\n", OFF(client_cert), F_CCERT, POL_CCERT_REQUIRED, NULL,
     "client-cert required"},
    {"tls auth+data\n", OFF(tls), F_TLS, POL_TLS_AUTH_DATA, NULL, "tls auth+data"},
    {"tls off\n", OFF(tls), F_TLS, POL_TLS_OFF, NULL, "tls off"},
    {"tls optional\n", OFF(tls), F_TLS, POL_TLS_OPTIONAL, NULL, "tls optional"},
    {"tls ctrl\n", OFF(tls), F_TLS, POL_TLS_CTRL, NULL, "tls ctrl"},
    {"tls data\n", OFF(tls), F_TLS, POL_TLS_DATA, NULL, "tls data"},
    {"tls on\n", OFF(tls), F_TLS, POL_TLS_ON, NULL, "tls on"},
    {"tls auth\n", OFF(tls), F_TLS, POL_TLS_AUTH, NULL, "tls auth"},
    {"tls-min 1.2\n", OFF(tls_min), F_INT, 12, NULL, "tls-min 1.2"},
    {"tls-min 1.3\n", OFF(tls_min), F_INT, 13, NULL, "tls-min 1.3"},
    {"ciphers default\n", OFF(nciphers), F_SIZE, 0, NULL, "ciphers default"},
    {"ciphers TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256 "
     "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256\n",
     OFF(nciphers), F_SIZE, 2, NULL,
     "ciphers TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256 TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"},
    {"implicit on\n", OFF(implicit), F_BOOL, 1, NULL, "implicit on"},
    {"implicit off\n", OFF(implicit), F_BOOL, 0, NULL, "implicit off"},
    {"data-reuse optional\n", OFF(data_reuse_required), F_BOOL, 0, NULL, "data-reuse optional"},
    {"data-reuse required\n", OFF(data_reuse_required), F_BOOL, 1, NULL, "data-reuse required"},
    {"renegotiate client\n", OFF(renegotiate_client), F_BOOL, 1, NULL, "renegotiate client"},
    {"renegotiate off\n", OFF(renegotiate_client), F_BOOL, 0, NULL, "renegotiate off"},
    {"keylog /tmp/keys.log\n", OFF(keylog), F_STR, 0, "/tmp/keys.log", "keylog /tmp/keys.log"},
    {"run-as ftp\n", OFF(run_as), F_STR, 0, "ftp", "run-as ftp"},
    {"run-as www-data\n", OFF(run_as), F_STR, 0, "www-data", "run-as www-data"},
    {"chroot /srv/ftp\n", OFF(chroot), F_STR, 0, "/srv/ftp", "chroot /srv/ftp"},
    {"pasv-ports 50000-50100\n", OFF(pasv_lo), F_UINT, 50000, NULL, "pasv-ports 50000-50100"},
    {"pasv-ports 50000-50100\n", OFF(pasv_hi), F_UINT, 50100, NULL, NULL},
    {"pasv-ports 1024-65535\n", OFF(pasv_hi), F_UINT, 65535, NULL, "pasv-ports 1024-65535"},
    {"pasv-ports 2000-2000\n", OFF(pasv_lo), F_UINT, 2000, NULL, "pasv-ports 2000-2000"},
    {"pasv-ports kernel\n", OFF(pasv_lo), F_UINT, 0, NULL, "pasv-ports kernel"},
    {"pasv-address 192.0.2.7\n", OFF(pasv_public.literal), F_BOOL, 1, NULL,
     "pasv-address 192.0.2.7"},
    {"pasv-address ftp.example.org\n", OFF(pasv_public.name), F_STR, 0, "ftp.example.org",
     "pasv-address ftp.example.org"},
    {"pasv-address 203.0.113.7 local\n", OFF(pasv_private.name), F_STR, 0, "local",
     "pasv-address 203.0.113.7 local"},
    {"pasv-address ftp.example.org 192.168.1.2\n", OFF(pasv_private.name), F_STR, 0, "192.168.1.2",
     "pasv-address ftp.example.org 192.168.1.2"},
    {"pasv-address 203.0.113.7 nas.lan\n", OFF(pasv_private.name), F_STR, 0, "nas.lan",
     "pasv-address 203.0.113.7 nas.lan"},
    {"pasv-address Router\n", OFF(pasv_public.name), F_STR, 0, "Router", "pasv-address Router"},
    {"pasv-address xn--bcher-kva.example\n", OFF(pasv_public.name), F_STR, 0,
     "xn--bcher-kva.example", "pasv-address xn--bcher-kva.example"},
    {"pasv-address 3com.example\n", OFF(pasv_public.name), F_STR, 0, "3com.example", NULL},
    {"pasv-address none\n", OFF(pasv_public.literal), F_BOOL, 0, NULL, "pasv-address none"},
    {"pasv-address ftp.example.org\n", OFF(pasv_public.literal), F_BOOL, 0, NULL, NULL},
    {"active peer\n", OFF(active_peer), F_BOOL, 1, NULL, "active peer"},
    {"active off\n", OFF(active_peer), F_BOOL, 0, NULL, "active off"},
    {"fxp on\n", OFF(fxp), F_BOOL, 1, NULL, "fxp on"},
    {"fxp off\n", OFF(fxp), F_BOOL, 0, NULL, "fxp off"},
    {"idle 1\n", OFF(idle), F_UINT, 1, NULL, "idle 1"},
    {"idle 86400\n", OFF(idle), F_UINT, 86400, NULL, "idle 86400"},
    {"login-grace 60\n", OFF(login_grace), F_UINT, 60, NULL, "login-grace 60"},
    {"login-grace 86400\n", OFF(login_grace), F_UINT, 86400, NULL, "login-grace 86400"},
    {"max-tries 1\n", OFF(max_tries), F_UINT, 1, NULL, "max-tries 1"},
    {"max-tries 100\n", OFF(max_tries), F_UINT, 100, NULL, "max-tries 100"},
    {"umask 027\n", OFF(umask), F_MODE, 027, NULL, "umask 027"},
    {"umask 0\n", OFF(umask), F_MODE, 0, NULL, "umask 000"},
    {"umask 0777\n", OFF(umask), F_MODE, 0777, NULL, "umask 777"},
    {"umask 77\n", OFF(umask), F_MODE, 077, NULL, "umask 077"},
    {"upload direct\n", OFF(upload_atomic), F_BOOL, 0, NULL, "upload direct"},
    {"upload atomic\n", OFF(upload_atomic), F_BOOL, 1, NULL, "upload atomic"},
    {"log syslog\n", OFF(log), F_LOG, POL_LOG_SYSLOG, NULL, "log syslog"},
    {"log stderr\n", OFF(log), F_LOG, POL_LOG_STDERR, NULL, "log stderr"},
    {"log none\n", OFF(log), F_LOG, POL_LOG_NONE, NULL, "log none"},
    /* tls-max, ktls, sandbox, log-level, max-*, runtime-dir, hash */
    {"tls-max 1.3\n", OFF(tls_max), F_INT, 13, NULL, "tls-max 1.3"},
    {"tls-max 1.2\n", OFF(tls_max), F_INT, 12, NULL, "tls-max 1.2"},
    {"tls-min 1.3\ntls-max 1.3\n", OFF(tls_max), F_INT, 13, NULL, "tls-min 1.3"},
    {"ktls auto\n", OFF(ktls), F_BOOL, 1, NULL, "ktls auto"},
    {"ktls off\n", OFF(ktls), F_BOOL, 0, NULL, "ktls off"},
    {"sandbox on\n", OFF(sandbox), F_BOOL, 1, NULL, "sandbox on"},
    {"sandbox off\n", OFF(sandbox), F_BOOL, 0, NULL, "sandbox off"},
    {"log-level info\n", OFF(log_level), F_LEVEL, POL_LEVEL_INFO, NULL, "log-level info"},
    {"log-level error\n", OFF(log_level), F_LEVEL, POL_LEVEL_ERROR, NULL, "log-level error"},
    {"log-level warn\n", OFF(log_level), F_LEVEL, POL_LEVEL_WARN, NULL, "log-level warn"},
    {"log-level debug\n", OFF(log_level), F_LEVEL, POL_LEVEL_DEBUG, NULL, "log-level debug"},
    {"max-sessions 1\n", OFF(max_sessions), F_UINT, 1, NULL, "max-sessions 1"},
    {"max-sessions 10000\n", OFF(max_sessions), F_UINT, 10000, NULL, "max-sessions 10000"},
    {"max-sessions none\n", OFF(max_sessions), F_UINT, 0, NULL, "max-sessions none"},
    {"max-per-ip 3\n", OFF(max_per_ip), F_UINT, 3, NULL, "max-per-ip 3"},
    {"max-per-ip 10000\n", OFF(max_per_ip), F_UINT, 10000, NULL, "max-per-ip 10000"},
    {"max-per-ip none\n", OFF(max_per_ip), F_UINT, 0, NULL, "max-per-ip none"},
    {"runtime-dir /run/ftpsd\n", OFF(runtime_dir), F_STR, 0, "/run/ftpsd",
     "runtime-dir /run/ftpsd"},
    {"runtime-dir \"/run/my ftpsd\"\n", OFF(runtime_dir), F_STR, 0, "/run/my ftpsd",
     "runtime-dir \"/run/my ftpsd\""},
    {"hash off\n", OFF(nhash), F_UINT, 0, NULL, "hash off"},
    {"hash SHA-256\n", OFF(nhash), F_UINT, 1, NULL, "hash SHA-256"},
    {"hash sha-1 Sha-512\n", OFF(nhash), F_UINT, 2, NULL, "hash SHA-1 SHA-512"},
    {"hash MD5 SHA-1 SHA-512 SHA-256\n", OFF(nhash), F_UINT, 4, NULL,
     "hash MD5 SHA-1 SHA-512 SHA-256"},
    {"hash-limit none\n", OFF(hash_limit), F_U64, 0, NULL, "hash-limit none"},
    {"hash-limit 1\n", OFF(hash_limit), F_U64, 1, NULL, "hash-limit 1"},
    {"hash-limit 1000\n", OFF(hash_limit), F_U64, 1000, NULL, "hash-limit 1000"},
    {"hash-limit 512M\n", OFF(hash_limit), F_U64, 536870912, NULL, "hash-limit 512M"},
    {"hash-limit 2048K\n", OFF(hash_limit), F_U64, 2097152, NULL, "hash-limit 2M"},
    {"hash-limit 4G\n", OFF(hash_limit), F_U64, 4294967296LL, NULL, "hash-limit 4G"},
    {"hash-limit 1048576G\n", OFF(hash_limit), F_U64, 1125899906842624LL, NULL,
     "hash-limit 1048576G"},
    {"xferlog /var/log/xferlog\n", OFF(xferlog), F_STR, 0, "/var/log/xferlog",
     "xferlog /var/log/xferlog"},
    {"banner hello\n", OFF(banner), F_STR, 0, "hello", "banner hello"},
    {"cert /etc/c2.pem\nkey /etc/k2.pem\n", OFF(ncert), F_INT, 2, NULL, "cert /etc/c2.pem"},
    {"cert /etc/c2.pem\nkey /etc/k2.pem\n", OFF(nkey), F_INT, 2, NULL, "key /etc/k2.pem"},
    /* quoting and comments */
    {"banner \"Welcome to ftpsd\"\n", OFF(banner), F_STR, 0, "Welcome to ftpsd",
     "banner \"Welcome to ftpsd\""},
    {"banner \"a # not a comment\"  # a comment\n", OFF(banner), F_STR, 0, "a # not a comment",
     NULL},
    {"banner \"say \\\"hi\\\"\"\n", OFF(banner), F_STR, 0, "say \"hi\"",
     "banner \"say \\\"hi\\\"\""},
    {"banner \"back\\\\slash\"\n", OFF(banner), F_STR, 0, "back\\slash", NULL},
    {"banner back\\slash\n", OFF(banner), F_STR, 0, "back\\slash", "banner back\\slash"},
    {"banner \"a\\\\b c\"\n", OFF(banner), F_STR, 0, "a\\b c", "banner \"a\\\\b c\""},
    {"banner \"\"\n", OFF(banner), F_STR, 0, "", "banner \"\""},
    {"banner caf\xc3\xa9\n", OFF(banner), F_STR, 0, "caf\xc3\xa9", NULL},
    {"keylog \"/tmp/my keys\"\n", OFF(keylog), F_STR, 0, "/tmp/my keys", "keylog \"/tmp/my keys\""},
    {"keylog /tmp/\"my keys\"\n", OFF(keylog), F_STR, 0, "/tmp/my keys", NULL},
    {"idle 30 # thirty seconds\n", OFF(idle), F_UINT, 30, NULL, NULL},
    {"idle 30#thirty\n", OFF(idle), F_UINT, 30, NULL, NULL},
    {"# idle 30\n", OFF(idle), F_UINT, 300, NULL, "idle 300"},
    {"\t  idle\t 30 \t\n", OFF(idle), F_UINT, 30, NULL, NULL},
    {"\n\n   \n\t\n", OFF(idle), F_UINT, 300, NULL, NULL},
    {"idle 30\r\n", OFF(idle), F_UINT, 30, NULL, NULL},
    {"idle 30", OFF(idle), F_UINT, 30, NULL, NULL}, /* no final newline */
    {"\"idle\" \"30\"\n", OFF(idle), F_UINT, 30, NULL, NULL},
};

START_TEST(test_accept)
{
    const struct accept_case *c = &accept_cases[_i];
    struct policy pol;
    struct errs e;
    const char *base = (const char *)&pol + c->off;

    parse_base(&pol, c->text, &e, 0, _i);
    switch (c->type) {
    case F_STR:
        ck_assert_ptr_nonnull(*(char *const *)base);
        ck_assert_str_eq(*(char *const *)base, c->str);
        break;
    case F_BOOL:
        ck_assert_int_eq(*(const bool *)base, c->num);
        break;
    case F_UINT:
        ck_assert_uint_eq(*(const unsigned *)base, (unsigned)c->num);
        break;
    case F_INT:
        ck_assert_int_eq(*(const int *)base, c->num);
        break;
    case F_MODE:
        ck_assert_uint_eq(*(const mode_t *)base, (mode_t)c->num);
        break;
    case F_TLS:
        ck_assert_int_eq(*(const enum pol_tls *)base, c->num);
        break;
    case F_CCERT:
        ck_assert_int_eq(*(const enum pol_client_cert *)base, c->num);
        break;
    case F_LOG:
        ck_assert_int_eq(*(const enum pol_log *)base, c->num);
        break;
    case F_LEVEL:
        ck_assert_int_eq(*(const enum pol_log_level *)base, c->num);
        break;
    case F_SIZE:
        ck_assert_uint_eq(*(const size_t *)base, (size_t)c->num);
        break;
    case F_U64:
        ck_assert_uint_eq(*(const uint64_t *)base, (uint64_t)c->num);
        break;
    }
    if (c->print != NULL) {
        char *out = print_policy(&pol);

        ck_assert_msg(has_line(out, c->print), "case %d: no line '%s' in:%s", _i, c->print, out);
        free(out);
    }
    pol_free(&pol);
}
END_TEST

/* Values that need a look beyond one field. */
START_TEST(test_accept_details)
{
    struct policy pol;
    struct errs e;

    ck_assert_int_eq(parse(&pol, BASE "ciphers A-B C_D\n", &e), 0);
    ck_assert_uint_eq(pol.nciphers, 2);
    ck_assert_str_eq(pol.ciphers[0], "A-B");
    ck_assert_str_eq(pol.ciphers[1], "C_D");
    pol_free(&pol);

    ck_assert_int_eq(parse(&pol, BASE "pasv-address 192.0.2.7\n", &e), 0);
    ck_assert(pol.pasv_public.literal);
    ck_assert_uint_eq(ntohl(pol.pasv_public.addr.s_addr), 0xc0000207u);
    pol_free(&pol);

    ck_assert_int_eq(parse(&pol, "cert /a\nkey /b\ncert /c\nkey /d\n", &e), 0);
    ck_assert_str_eq(pol.cert[0], "/a");
    ck_assert_str_eq(pol.key[0], "/b");
    ck_assert_str_eq(pol.cert[1], "/c");
    ck_assert_str_eq(pol.key[1], "/d");
    pol_free(&pol);

    /* pasv-address: what is literal is parsed; a name is left for later. */
    ck_assert_int_eq(parse(&pol, BASE "pasv-address ftp.example.org 10.0.0.2\n", &e), 0);
    ck_assert(!pol.pasv_public.literal && !pol.pasv_public.local);
    ck_assert_str_eq(pol.pasv_public.name, "ftp.example.org");
    ck_assert(pol.pasv_private.literal && !pol.pasv_private.local);
    ck_assert_uint_eq(ntohl(pol.pasv_private.addr.s_addr), 0x0a000002u);
    pol_free(&pol);
    ck_assert_int_eq(parse(&pol, BASE "pasv-address 192.0.2.7 local\n", &e), 0);
    ck_assert(pol.pasv_public.literal);
    ck_assert_uint_eq(ntohl(pol.pasv_public.addr.s_addr), 0xc0000207u);
    ck_assert(pol.pasv_private.local && !pol.pasv_private.literal);
    pol_free(&pol);
    ck_assert_int_eq(parse(&pol, BASE "pasv-address 192.0.2.7\n", &e), 0);
    ck_assert_ptr_null(pol.pasv_private.name);
    pol_free(&pol);

    /* hash keeps the order given: the first is the HASH command's default. */
    ck_assert_int_eq(parse(&pol, BASE "hash md5 SHA-256\n", &e), 0);
    ck_assert_uint_eq(pol.nhash, 2);
    ck_assert_int_eq(pol.hash[0], POL_HASH_MD5);
    ck_assert_int_eq(pol.hash[1], POL_HASH_SHA256);
    ck_assert_str_eq(pol_hash_name(pol.hash[0]), "MD5");
    pol_free(&pol);

    /* No cert or key needed when TLS is off. */
    ck_assert_int_eq(parse(&pol, "tls off\n", &e), 0);
    ck_assert_int_eq(pol.ncert, 0);
    pol_free(&pol);
}
END_TEST

/* --------------------------------------------------------------- defaults */

/* The `-t` line of each default. */
static const char *const default_lines[] = {
    "cert /etc/c.pem",   "key /etc/k.pem",      "client-ca none",  "client-cert off",
    "tls auth+data",     "tls-min 1.2",         "tls-max 1.3",     "ciphers default",
    "implicit off",      "data-reuse required", "renegotiate off", "ktls auto",
    "keylog none",       "run-as none",         "chroot none",     "sandbox on",
    "pasv-ports kernel", "pasv-address none",   "active off",      "fxp off",
    "hash off",          "hash-limit none",     "idle 300",        "login-grace 30",
    "max-tries 3",       "max-sessions none",   "max-per-ip none", "runtime-dir /var/run/ftpsd",
    "umask 022",         "upload atomic",       "log syslog",      "log-level info",
    "xferlog none",      "banner none",
};

START_TEST(test_default_lines)
{
    struct policy pol;
    struct errs e;
    char *out;

    ck_assert_int_eq(parse(&pol, BASE, &e), 0);
    out = print_policy(&pol);
    ck_assert_msg(has_line(out, default_lines[_i]), "no '%s' in:%s", default_lines[_i], out);
    free(out);
    pol_free(&pol);
}
END_TEST

START_TEST(test_defaults)
{
    struct policy pol;
    struct errs e;

    ck_assert_int_eq(parse(&pol, BASE, &e), 0);
    ck_assert_str_eq(pol.path, "test.policy");
    ck_assert_ptr_null(pol.client_ca);
    ck_assert_int_eq(pol.client_cert, POL_CCERT_OFF);
    ck_assert_int_eq(pol.tls, POL_TLS_AUTH_DATA);
    ck_assert_int_eq(pol.tls_min, 12);
    ck_assert_int_eq(pol.tls_max, 13);
    ck_assert_ptr_null(pol.ciphers);
    ck_assert(!pol.implicit);
    ck_assert(pol.data_reuse_required);
    ck_assert(!pol.renegotiate_client);
    ck_assert(pol.ktls);
    ck_assert_ptr_null(pol.keylog);
    ck_assert_ptr_null(pol.run_as);
    ck_assert_ptr_null(pol.chroot);
    ck_assert(pol.sandbox);
    ck_assert_uint_eq(pol.pasv_lo, 0);
    ck_assert_uint_eq(pol.pasv_hi, 0);
    ck_assert_ptr_null(pol.pasv_public.name);
    ck_assert(!pol.pasv_public.literal);
    ck_assert_ptr_null(pol.pasv_private.name);
    ck_assert(!pol.active_peer);
    ck_assert(!pol.fxp);
    ck_assert_uint_eq(pol.nhash, 0);
    ck_assert_uint_eq(pol.idle, 300);
    ck_assert_uint_eq(pol.login_grace, 30);
    ck_assert_uint_eq(pol.max_tries, 3);
    ck_assert_uint_eq(pol.max_sessions, 0);
    ck_assert_uint_eq(pol.max_per_ip, 0);
    ck_assert_ptr_null(pol.runtime_dir);
    ck_assert_uint_eq(pol.umask, 022);
    ck_assert(pol.upload_atomic);
    ck_assert_int_eq(pol.log, POL_LOG_SYSLOG);
    ck_assert_int_eq(pol.log_level, POL_LEVEL_INFO);
    ck_assert_ptr_null(pol.xferlog);
    ck_assert_ptr_null(pol.banner);
    ck_assert_uint_eq(pol.nusers, 0);
    ck_assert_uint_eq(pol.ngroups, 0);
    pol_free(&pol);

    /* pol_defaults alone gives the same values. */
    pol_defaults(&pol);
    ck_assert_int_eq(pol.tls, POL_TLS_AUTH_DATA);
    ck_assert_uint_eq(pol.idle, 300);
    ck_assert_uint_eq(pol.umask, 022);
    ck_assert(pol.upload_atomic);
    ck_assert(pol.data_reuse_required);
    ck_assert_int_eq(pol.tls_max, 13);
    ck_assert(pol.ktls && pol.sandbox);
    ck_assert_int_eq(pol.log_level, POL_LEVEL_INFO);
    pol_free(&pol);
    pol_free(&pol); /* idempotent */
}
END_TEST

/* ---------------------------------------------------------------- errors */

struct error_case {
    const char *text;
    int nerr;
    int lines[4];
    const char *msg; /* in the first error's text */
};

#define A8 "a a a a a a a a "
#define A64 A8 A8 A8 A8 A8 A8 A8 A8

static const struct error_case error_cases[] = {
    /* keywords and value counts */
    {BASE "tsl on\n", 1, {3}, "unknown directive 'tsl'"},
    {BASE "TLS on\n", 1, {3}, "unknown directive"},
    {BASE "tls maybe\n", 1, {3}, "bad value 'maybe' for 'tls'"},
    {BASE "tls\n", 1, {3}, "'tls' needs a value"},
    {BASE "idle 30 40\n", 1, {3}, "takes one value"},
    {BASE "banner hello world\n", 1, {3}, "quote a value"},
    {BASE "idle 30\nidle 40\n", 1, {4}, "duplicate directive 'idle' (first on line 3)"},
    {BASE "tls on\n\n# x\ntls on\n", 1, {6}, "duplicate directive 'tls' (first on line 3)"},
    {BASE "cert /a\ncert /b\nkey /c\n", 1, {4}, "'cert' given more than 2 times (first on line 1)"},
    {BASE "key /a\nkey /b\ncert /c\n", 1, {4}, "'key' given more than 2 times"},
    {"cert /a\ncert /b\nkey /k\n", 1, {0}, "'cert' given 2 times but 'key' 1 times"},
    {"tls off\ncert /a\n", 1, {0}, "'cert' given 1 times but 'key' 0 times"},
    {"tls on\n", 2, {0, 0}, "missing required directive 'cert'"},
    {"", 2, {0, 0}, "missing required directive 'cert'"},
    {"key /k\n", 1, {0}, "missing required directive 'cert'"},
    {"cert /c\n", 1, {0}, "missing required directive 'key'"},
    {BASE "ciphers " A64 "\n", 0, {0}, NULL},
    {BASE "ciphers " A64 "a\n", 1, {3}, "too many values"},
    /* typed values */
    {BASE "idle 0\n", 1, {3}, "bad value '0' for 'idle' (a number from 1 to 86400)"},
    {BASE "idle 86401\n", 1, {3}, "bad value"},
    {BASE "idle -1\n", 1, {3}, "bad value"},
    {BASE "idle 1.5\n", 1, {3}, "bad value"},
    {BASE "idle 30s\n", 1, {3}, "bad value"},
    {BASE "idle \"\"\n", 1, {3}, "bad value"},
    {BASE "login-grace 86401\n", 1, {3}, "bad value"},
    {BASE "login-grace 0\n", 1, {3}, "bad value"},
    {BASE "max-tries 0\n", 1, {3}, "bad value"},
    {BASE "max-tries 101\n", 1, {3}, "(a number from 1 to 100)"},
    {BASE "umask 0778\n", 1, {3}, "octal"},
    {BASE "umask 01000\n", 1, {3}, "octal"},
    {BASE "umask u=rwx\n", 1, {3}, "octal"},
    {BASE "pasv-ports 1023-2000\n", 1, {3}, "LOW-HIGH"},
    {BASE "pasv-ports 2000-1999\n", 1, {3}, "LOW-HIGH"},
    {BASE "pasv-ports 50000\n", 1, {3}, "LOW-HIGH"},
    {BASE "pasv-ports 50000-\n", 1, {3}, "LOW-HIGH"},
    {BASE "pasv-ports -50000\n", 1, {3}, "LOW-HIGH"},
    {BASE "pasv-ports 1024-65536\n", 1, {3}, "LOW-HIGH"},
    {BASE "pasv-ports 1024--2000\n", 1, {3}, "LOW-HIGH"},
    {BASE "pasv-ports 1024-2000-3000\n", 1, {3}, "LOW-HIGH"},
    {BASE "pasv-ports 00000000001024-2000\n", 1, {3}, "LOW-HIGH"},
    {BASE "pasv-address 256.1.1.1\n", 1, {3}, "IPv4"},
    {BASE "pasv-address 1.2.3\n", 1, {3}, "IPv4"},
    {BASE "pasv-address ::1\n", 1, {3}, "IPv4"},
    {BASE "pasv-address 0.0.0.0\n", 1, {3}, "IPv4"},
    {BASE "pasv-address 192.0.2.1x\n", 1, {3}, "IPv4"},
    {BASE "tls-min 1.1\n", 1, {3}, "expected one of: 1.2, 1.3"},
    {BASE "client-cert yes\n", 1, {3}, "bad value"},
    {BASE "log file\n", 1, {3}, "bad value"},
    {BASE "upload safe\n", 1, {3}, "bad value"},
    {BASE "implicit yes\n", 1, {3}, "bad value"},
    {BASE "active on\n", 1, {3}, "expected one of: off, peer"},
    {BASE "fxp yes\n", 1, {3}, "bad value"},
    {BASE "renegotiate on\n", 1, {3}, "bad value"},
    {BASE "data-reuse off\n", 1, {3}, "bad value"},
    {BASE "chroot srv/ftp\n", 1, {3}, "absolute path"},
    {BASE "cert \"\"\n", 1, {3}, "empty string"},
    {BASE "run-as \"bad name\"\n", 1, {3}, "bad account name"},
    {BASE "run-as -x\n", 1, {3}, "bad account name"},
    {BASE "run-as root:x\n", 1, {3}, "bad account name"},
    {BASE "ciphers default X\n", 1, {3}, "cannot be mixed"},
    {BASE "ciphers\n", 1, {3}, "needs a value"},
    /* lexical */
    {BASE "banner \"hello\n", 1, {3}, "unterminated quote"},
    {BASE "banner \"a\\qb\"\n", 1, {3}, "bad escape"},
    {BASE "banner \"a\\\"\n", 1, {3}, "unterminated quote"},
    {BASE "banner \"a\x01"
          "b\"\n",
     1,
     {3},
     "control character 0x01"},
    {BASE "idle 30\rx\n", 1, {3}, "control character 0x0d"},
    {BASE "banner \"a\x7f\"\n", 1, {3}, "control character 0x7f"},
    {BASE "banner \"a\x1b[31m\"\n", 1, {3}, "control character 0x1b"},
    /* users and groups */
    {BASE "user\n", 1, {3}, "'user' needs a name"},
    {BASE "group\n", 1, {3}, "'group' needs a name"},
    {BASE "user -bob password=" H "\n", 1, {3}, "bad user name '-bob'"},
    {BASE "user bob! password=" H "\n", 1, {3}, "bad user name"},
    {BASE "user \"bo b\" password=" H "\n", 1, {3}, "bad user name"},
    {BASE "user 0123456789012345678901234567890123456789012345678901234567890123 password=" H "\n",
     1,
     {3},
     "bad user name"},
    {BASE "user 012345678901234567890123456789012345678901234567890123456789012 password=" H "\n",
     0,
     {0},
     NULL},
    {BASE "user bob password=" H "\nuser bob password=" H "\n",
     1,
     {4},
     "duplicate user 'bob' (first on line 3)"},
    {BASE "user anonymous\nuser ftp\n", 1, {4}, "are the same user (first on line 3)"},
    {BASE "user ftp\nuser ANONYMOUS\n", 1, {4}, "are the same user"},
    {BASE "user anonymous password=" H "\n", 1, {3}, "anonymous user, who takes any password"},
    {BASE "user ftp password=" H "\n", 1, {3}, "anonymous user"},
    {BASE "client-cert optional\nuser ftp cert=" FP "\n", 1, {4}, "anonymous user"},
    {BASE "user bob root=/x\n", 1, {3}, "neither password= nor cert="},
    {BASE "user bob "
          "password=$pbkdf2-sha256$999$AAECAwQFBgcICQoLDA0ODw==$Tvsru20utY6o3q7VRBeuL9h/"
          "1QqKhWhwk2PaYNRWBgY=\n",
     2,
     {3, 3},
     "bad password= (iteration count"},
    {BASE "user bob password=secret\n", 2, {3, 3}, "bad password="},
    {BASE "user bob password=" H " foo=bar\n", 1, {3}, "unknown key 'foo='"},
    {BASE "user bob password=" H " rw\n", 1, {3}, "expected key=value"},
    {BASE "user bob password=" H " root=/a root=/b\n", 1, {3}, "key 'root=' given twice"},
    {BASE "user bob password=" H " root=\n", 1, {3}, "'root=' needs a value"},
    {BASE "user bob password=" H " root=home\n", 1, {3}, "bad root="},
    {BASE "user bob password=" H " root=/a/../b\n", 1, {3}, "bad root="},
    {BASE "user bob password=" H " root=/..\n", 1, {3}, "bad root="},
    {BASE "user bob password=" H " root=/a/..b/c..\n", 0, {0}, NULL},
    {BASE "user bob password=" H " access=rwx\n", 1, {3}, "bad access="},
    {BASE "user bob password=" H " access=rr\n", 1, {3}, "bad access="},
    {BASE "user bob password=" H " tls=maybe\n", 1, {3}, "bad value 'maybe' for 'tls='"},
    {BASE "user bob password=" H " group=staff\ngroup staff access=r\n",
     1,
     {3},
     "group 'staff' is not defined"},
    {BASE "group staff\ngroup staff\n", 1, {4}, "duplicate group 'staff' (first on line 3)"},
    {BASE "group staff password=" H "\n", 1, {3}, "unknown key 'password=' on a group line"},
    {BASE "group staff group=x\n", 1, {3}, "unknown key 'group='"},
    {BASE "group -staff\n", 1, {3}, "bad group name"},
    {BASE "user bob cert=" FP "\n", 1, {3}, "cert= needs 'client-cert optional'"},
    {BASE "client-cert optional\nuser bob cert=sha256:abc\n", 2, {4, 4}, "bad cert="},
    {BASE "client-cert optional\nuser bob cert=" FP "\n", 0, {0}, NULL},
    {BASE "user bob cert=" FP "\nclient-cert required\n", 0, {0}, NULL},
    /* tls= weaker than the global rule (auth+data by default) */
    {BASE "user bob password=" H " tls=off\n",
     1,
     {3},
     "tls=off is weaker than the global 'tls auth+data'"},
    {BASE "user bob password=" H " tls=optional\n", 1, {3}, "weaker"},
    {BASE "user bob password=" H " tls=auth\n", 1, {3}, "weaker"},
    {BASE "user bob password=" H " tls=data\n", 1, {3}, "weaker"},
    {BASE "user bob password=" H " tls=ctrl\n", 1, {3}, "weaker"},
    {BASE "user bob password=" H " tls=on\n", 0, {0}, NULL},
    {BASE "user bob password=" H " tls=auth+data\n", 0, {0}, NULL},
    {BASE "tls ctrl\nuser bob password=" H " tls=on\n", 0, {0}, NULL},
    {BASE "tls ctrl\nuser bob password=" H " tls=auth+data\n",
     1,
     {4},
     "weaker than the global 'tls ctrl'"},
    {BASE "tls optional\nuser bob password=" H " tls=off\n", 1, {4}, "weaker"},
    {BASE "tls optional\nuser bob password=" H " tls=data\n", 0, {0}, NULL},
    {BASE "tls on\ngroup g tls=auth\nuser bob password=" H " group=g\n",
     1,
     {5},
     "tls=auth from group g is weaker"},
    {BASE "group g tls=off\nuser bob password=" H " group=g tls=on\n", 0, {0}, NULL},
    {BASE "user anonymous tls=off\n", 0, {0}, NULL},
    {BASE "group pub tls=off\nuser ftp group=pub\n", 0, {0}, NULL},
    {BASE "client-cert optional\nuser bob cert=" FP " tls=optional\n", 0, {0}, NULL},
    /* TLS off globally: nothing may need it */
    {"tls off\nuser bob password=" H " tls=on\n", 1, {2}, "'tls off' means AUTH is refused"},
    {"tls off\nuser bob password=" H "\n", 0, {0}, NULL},
    {"tls off\nclient-cert optional\n", 1, {2}, "'client-cert optional' needs TLS"},
    {"tls off\n\nimplicit on\n", 1, {3}, "'implicit on' needs TLS"},
};

/* Bad values of the newer directives: one error each, compared whole. */
/* The message for a bad host name in pasv-address. */
#define PASV_NAME(v)                                                                               \
    "bad value '" v "' for 'pasv-address' (an IPv4 address like 192.0.2.1, or a host name: "       \
    "labels of letters, digits and '-', the last starting with a letter)"
/* A label of 63 and one of 64 characters. */
#define L63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define L64 L63 "l"

static const struct exact_case exact_cases[] = {
    {"tls-max 1.1\n", 3, "bad value '1.1' for 'tls-max' (expected one of: 1.3, 1.2)"},
    {"tls-max 1.0\n", 3, "bad value '1.0' for 'tls-max' (expected one of: 1.3, 1.2)"},
    {"tls-min 1.3\ntls-max 1.2\n", 4,
     "'tls-max 1.2' is below 'tls-min 1.3' (line 3): no TLS version is left"},
    {"tls-max 1.2\n\ntls-min 1.3\n", 3,
     "'tls-max 1.2' is below 'tls-min 1.3' (line 5): no TLS version is left"},
    {"tls-max 1.2\ntls-max 1.3\n", 4, "duplicate directive 'tls-max' (first on line 3)"},
    {"ktls on\n", 3, "bad value 'on' for 'ktls' (expected one of: auto, off)"},
    {"ktls\n", 3, "'ktls' needs a value"},
    {"sandbox yes\n", 3, "bad value 'yes' for 'sandbox' (expected one of: on, off)"},
    {"sandbox on off\n", 3, "'sandbox' takes one value, got 2 (quote a value that has blanks)"},
    {"log-level verbose\n", 3,
     "bad value 'verbose' for 'log-level' (expected one of: info, error, warn, debug)"},
    {"log-level INFO\n", 3,
     "bad value 'INFO' for 'log-level' (expected one of: info, error, warn, debug)"},
    {"max-sessions 0\n", 3, "bad value '0' for 'max-sessions' (a number from 1 to 10000, or none)"},
    {"max-sessions 10001\n", 3,
     "bad value '10001' for 'max-sessions' (a number from 1 to 10000, or none)"},
    {"max-sessions -1\n", 3,
     "bad value '-1' for 'max-sessions' (a number from 1 to 10000, or none)"},
    {"max-sessions unlimited\n", 3,
     "bad value 'unlimited' for 'max-sessions' (a number from 1 to 10000, or none)"},
    {"max-sessions 99999999999999999999999\n", 3,
     "bad value '99999999999999999999999' for 'max-sessions' (a number from 1 to 10000, or none)"},
    {"max-per-ip 0\n", 3, "bad value '0' for 'max-per-ip' (a number from 1 to 10000, or none)"},
    {"max-per-ip \"\"\n", 3, "bad value '' for 'max-per-ip' (a number from 1 to 10000, or none)"},
    {"max-per-ip 2 3\n", 3, "'max-per-ip' takes one value, got 2 (quote a value that has blanks)"},
    {"runtime-dir run/ftpsd\n", 3,
     "'runtime-dir' needs an absolute path (starting with '/'), not 'run/ftpsd'"},
    {"runtime-dir \"\"\n", 3, "'runtime-dir' needs a path, not an empty string"},
    {"hash\n", 3, "'hash' needs a value"},
    {"hash SHA256\n", 3,
     "bad value 'SHA256' for 'hash' (off, or some of SHA-256 SHA-512 SHA-1 MD5)"},
    {"hash SHA-3\n", 3, "bad value 'SHA-3' for 'hash' (off, or some of SHA-256 SHA-512 SHA-1 MD5)"},
    {"hash OFF\n", 3, "bad value 'OFF' for 'hash' (off, or some of SHA-256 SHA-512 SHA-1 MD5)"},
    {"hash \"\"\n", 3, "bad value '' for 'hash' (off, or some of SHA-256 SHA-512 SHA-1 MD5)"},
    {"hash SHA-256 sha-256\n", 3, "'hash' names SHA-256 twice"},
    {"hash MD5 SHA-1 md5\n", 3, "'hash' names MD5 twice"},
    {"hash SHA-256 SHA-512 SHA-1 MD5 SHA-256\n", 3, "'hash' names SHA-256 twice"},
    {"hash off SHA-1\n", 3, "'hash off' cannot be mixed with algorithm names"},
    {"hash SHA-1 off\n", 3, "'hash off' cannot be mixed with algorithm names"},
    {"hash off off\n", 3, "'hash off' cannot be mixed with algorithm names"},
    {"hash-limit 0\n", 3,
     "bad value '0' for 'hash-limit' (bytes, with an optional K, M or G suffix, from 1 to "
     "1048576G, or none)"},
    {"hash-limit 1048577G\n", 3,
     "bad value '1048577G' for 'hash-limit' (bytes, with an optional K, M or G suffix, from 1 to "
     "1048576G, or none)"},
    {"hash-limit 1T\n", 3,
     "bad value '1T' for 'hash-limit' (bytes, with an optional K, M or G suffix, from 1 to "
     "1048576G, or none)"},
    {"hash-limit 1g\n", 3,
     "bad value '1g' for 'hash-limit' (bytes, with an optional K, M or G suffix, from 1 to "
     "1048576G, or none)"},
    {"hash-limit -5\n", 3,
     "bad value '-5' for 'hash-limit' (bytes, with an optional K, M or G suffix, from 1 to "
     "1048576G, or none)"},
    {"hash-limit 1 2\n", 3, "'hash-limit' takes one value, got 2 (quote a value that has blanks)"},
    {"pasv-address local\n", 3,
     "'pasv-address local': 'local' is only for the second value (what peers in private ranges "
     "get)"},
    {"pasv-address 1.2.3.4 0.0.0.0\n", 3,
     "bad value '0.0.0.0' for 'pasv-address' (an IPv4 address like 192.0.2.1)"},
    {"pasv-address 1.2.3\n", 3,
     "bad value '1.2.3' for 'pasv-address' (an IPv4 address like 192.0.2.1)"},
    {"pasv-address 300.1.1.1\n", 3,
     "bad value '300.1.1.1' for 'pasv-address' (an IPv4 address like 192.0.2.1)"},
    {"pasv-address -ftp.example.org\n", 3, PASV_NAME("-ftp.example.org")},
    {"pasv-address ftp-.example.org\n", 3, PASV_NAME("ftp-.example.org")},
    {"pasv-address ftp..example.org\n", 3, PASV_NAME("ftp..example.org")},
    {"pasv-address ftp.example.org.\n", 3, PASV_NAME("ftp.example.org.")},
    {"pasv-address .example.org\n", 3, PASV_NAME(".example.org")},
    {"pasv-address ftp_1.example.org\n", 3, PASV_NAME("ftp_1.example.org")},
    {"pasv-address 192.0.2.1x\n", 3, PASV_NAME("192.0.2.1x")},
    {"pasv-address ::1\n", 3, PASV_NAME("::1")},
    {"pasv-address 1.2.3.4 ::1\n", 3, PASV_NAME("::1")},
    {"pasv-address 1.2.3.4 nas_1\n", 3, PASV_NAME("nas_1")},
    {"pasv-address \"\"\n", 3, PASV_NAME("")},
    {"pasv-address " L64 ".org\n", 3, PASV_NAME(L64)}, /* the value shown is cut at 64 */
    {"pasv-address 1.2.3.4 5.6.7.8 9.9.9.9\n", 3, "'pasv-address' takes at most 2 values, got 3"},
    {"pasv-address none 1.2.3.4\n", 3, "'pasv-address none' takes no second value"},
    {"pasv-address 1.2.3.4 local\npasv-address 1.2.3.5\n", 4,
     "duplicate directive 'pasv-address' (first on line 3)"},
};

START_TEST(test_exact_errors)
{
    check_exact(&exact_cases[_i], _i);
}
END_TEST

START_TEST(test_errors)
{
    const struct error_case *c = &error_cases[_i];
    struct policy pol;
    struct errs e;
    int n = parse(&pol, c->text, &e);

    if (n != c->nerr) {
        dump(&e);
    }
    ck_assert_msg(n == c->nerr, "case %d '%s': %d errors, want %d", _i, c->text, n, c->nerr);
    ck_assert_int_eq(e.n, n);
    for (int i = 0; i < n && i < 4; i++) {
        ck_assert_msg(e.line[i] == c->lines[i], "case %d error %d: line %d, want %d (%s)", _i, i,
                      e.line[i], c->lines[i], e.msg[i]);
    }
    if (c->msg != NULL) {
        ck_assert_msg(strstr(e.msg[0], c->msg) != NULL, "case %d: '%s' lacks '%s'", _i, e.msg[0],
                      c->msg);
        ck_assert_str_eq(e.file, "test.policy");
    }
    pol_free(&pol);
}
END_TEST

/* Every mistake of a file is reported, each with its own line. */
START_TEST(test_many_errors)
{
    static const char text[] = "# a comment\n"                   /* 1 */
                               "cert /c\n"                       /* 2 */
                               "key /k\n"                        /* 3 */
                               "tls maybe\n"                     /* 4 bad value */
                               "idle 0\n"                        /* 5 bad value */
                               "\n"                              /* 6 */
                               "bogus x\n"                       /* 7 unknown */
                               "user bob password=$x\n"          /* 8 bad password */
                               "idle 5\n"                        /* 9 duplicate */
                               "user anonymous password=" H "\n" /* 10 */
                               "max-tries 5\n"                   /* 11 fine */
                               "banner \"open\n";                /* 12 unterminated */
    static const int want[] = {4, 5, 7, 8, 9, 10, 12, 8 /* bob cannot log in */};
    struct policy pol;
    struct errs e;
    int n = parse(&pol, text, &e);

    if (n != N(want)) {
        dump(&e);
    }
    ck_assert_int_eq(n, N(want));
    for (int i = 0; i < N(want); i++) {
        ck_assert_msg(e.line[i] == want[i], "error %d on line %d, want %d: %s", i, e.line[i],
                      want[i], e.msg[i]);
    }
    /* Good lines among bad ones still count. */
    ck_assert_uint_eq(pol.max_tries, 5);
    pol_free(&pol);
}
END_TEST

/* NUL bytes cannot be written in a C string literal table, hence explicit
 * lengths here. */
struct nul_case {
    const char *text;
    size_t len;
    int nerr;
    int line;
};

#define LIT(s) s, sizeof(s) - 1

static const struct nul_case nul_cases[] = {
    {LIT(BASE "idle\0 30\nmax-tries 5\n"), 1, 3},
    {LIT(BASE "banner \"a\0b\"\nmax-tries 5\n"), 1, 3},
    {LIT(BASE "max-tries 5\n\0"), 1, 4},
    {LIT(BASE "max-tries 5\n# comment \0 too\n"), 1, 4},
    {LIT("\0" BASE "max-tries 5\n"), 2, 1}, /* line 1 lost its cert: 2 errors */
};

START_TEST(test_nul)
{
    const struct nul_case *c = &nul_cases[_i];
    struct policy pol;
    struct errs e;
    int n = parse_len(&pol, c->text, c->len, &e);

    if (n != c->nerr) {
        dump(&e);
    }
    ck_assert_int_eq(n, c->nerr);
    ck_assert_int_eq(e.line[0], c->line);
    ck_assert_msg(strstr(e.msg[0], "NUL") != NULL, "%s", e.msg[0]);
    ck_assert_uint_eq(pol.max_tries, 5);
    pol_free(&pol);
}
END_TEST

START_TEST(test_size_cap_buf)
{
    size_t len = DEFS_POLICY_MAX + 1;
    char *text = malloc(len);
    struct policy pol;
    struct errs e;

    ck_assert_ptr_nonnull(text);
    memset(text, '#', len);
    ck_assert_int_eq(parse_len(&pol, text, len, &e), 1);
    ck_assert_int_eq(e.line[0], 0);
    ck_assert_ptr_nonnull(strstr(e.msg[0], "limit"));
    pol_free(&pol);
    free(text);
}
END_TEST

/* Limits on the number of users and groups. */
START_TEST(test_too_many)
{
    size_t cap = DEFS_POLICY_MAX;
    char *text = malloc(cap);
    size_t pos = 0;
    struct policy pol;
    struct errs e;

    ck_assert_ptr_nonnull(text);
    pos += (size_t)snprintf(text + pos, cap - pos, "%s", BASE);
    for (int i = 0; i <= DEFS_POLICY_GROUPS_MAX; i++) {
        pos += (size_t)snprintf(text + pos, cap - pos, "group g%d\n", i);
    }
    for (int i = 0; i <= DEFS_POLICY_USERS_MAX; i++) {
        pos += (size_t)snprintf(text + pos, cap - pos, "user anonymous%d\n", i);
    }
    ck_assert_uint_lt(pos, cap - 1);
    /* anonymousN are plain users without a way in: one error each, plus
     * one for the group and one for the user over the limit. */
    ck_assert_int_eq(parse_len(&pol, text, pos, &e), 2 + DEFS_POLICY_USERS_MAX);
    ck_assert_int_eq(e.line[0], 3 + DEFS_POLICY_GROUPS_MAX);
    ck_assert_ptr_nonnull(strstr(e.msg[0], "too many groups"));
    ck_assert_int_eq(e.line[1], 3 + DEFS_POLICY_GROUPS_MAX + 1 + DEFS_POLICY_USERS_MAX);
    ck_assert_ptr_nonnull(strstr(e.msg[1], "too many users"));
    ck_assert_uint_eq(pol.ngroups, DEFS_POLICY_GROUPS_MAX);
    ck_assert_uint_eq(pol.nusers, DEFS_POLICY_USERS_MAX);
    pol_free(&pol);
    free(text);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
    const struct test_entry tests[] = {
        {"grammar", test_accept, N(accept_cases)},
        {"grammar", test_accept_details, 1},
        {"grammar", test_defaults, 1},
        {"grammar", test_default_lines, N(default_lines)},
        {"grammar", test_errors, N(error_cases)},
        {"grammar", test_exact_errors, N(exact_cases)},
        {"grammar", test_many_errors, 1},
        {"grammar", test_nul, N(nul_cases)},
        {"grammar", test_size_cap_buf, 1},
        {"grammar", test_too_many, 1},
    };

    return run_tests("policy", tests, N(tests));
}
