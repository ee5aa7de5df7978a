/* policy_base.c — what every file of the policy uses, at the bottom of its
 * layers: the error reporter and string copies of the parser, the choice
 * lists that directives and user keys share (`tls`, `hash`), and the rules
 * a `tls` value carries. Nothing here calls another policy file. */
#include "policy_priv.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- choices */

/* The first entry is the default (SPEC §2 lists it first). */
const struct pol_choice pol_tls_choices[] = {
    {"auth+data", POL_TLS_AUTH_DATA}, {"off", POL_TLS_OFF},
    {"optional", POL_TLS_OPTIONAL},   {"ctrl", POL_TLS_CTRL},
    {"data", POL_TLS_DATA},           {"on", POL_TLS_ON},
    {"auth", POL_TLS_AUTH},           {NULL, 0},
};
/* Names as the HASH command spells them (the parser ignores case). */
const struct pol_choice pol_hash_choices[] = {
    {"SHA-256", POL_HASH_SHA256},
    {"SHA-512", POL_HASH_SHA512},
    {"SHA-1", POL_HASH_SHA1},
    {"MD5", POL_HASH_MD5},
    {NULL, 0},
};
const struct pol_choice *pol_choice_find(const struct pol_choice *c, const char *name)
{
    for (; c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

const char *pol_choice_name(const struct pol_choice *c, int value)
{
    for (; c->name != NULL; c++) {
        if (c->value == value) {
            return c->name;
        }
    }
    return "?";
}

/* ----------------------------------------------------------------- parser */

void pol_error(struct pol_parser *p, int line, const char *fmt, ...)
{
    char msg[DEFS_POLICY_MSG_MAX];
    va_list ap;

    /* Formatted even without a callback, so the fuzzer exercises it too. */
    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
        msg[0] = '\0';
    }
    va_end(ap);
    p->errors++;
    if (p->report != NULL) {
        p->report(p->ctx, p->name, line, msg);
    }
}

char *pol_dup(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n + 1);
    }
    return d;
}

bool pol_copy(struct pol_parser *p, const char *s, char **dst)
{
    *dst = pol_dup(s);
    if (*dst == NULL) {
        pol_error(p, p->line, "out of memory");
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ TLS rules */

bool pol_pasv_private_peer(struct in_addr peer)
{
    static const struct {
        uint32_t net;
        unsigned bits;
    } nets[] = {
        {0x0a000000u, 8},  /* 10/8, RFC 1918 */
        {0xac100000u, 12}, /* 172.16/12, RFC 1918 */
        {0xc0a80000u, 16}, /* 192.168/16, RFC 1918 */
        {0x64400000u, 10}, /* 100.64/10, shared address space (RFC 6598) */
        {0x7f000000u, 8},  /* 127/8, loopback */
        {0xa9fe0000u, 16}, /* 169.254/16, link local */
    };
    uint32_t a = ntohl(peer.s_addr);

    for (size_t i = 0; i < POL_ARRAY_LEN(nets); i++) {
        if ((a >> (32 - nets[i].bits)) == (nets[i].net >> (32 - nets[i].bits))) {
            return true;
        }
    }
    return false;
}

bool pol_tls_login_required(enum pol_tls t)
{
    return t == POL_TLS_AUTH || t == POL_TLS_CTRL || t == POL_TLS_ON || t == POL_TLS_AUTH_DATA;
}

bool pol_tls_ctrl_required(enum pol_tls t)
{
    return t == POL_TLS_CTRL || t == POL_TLS_ON;
}

bool pol_tls_data_required(enum pol_tls t)
{
    return t == POL_TLS_DATA || t == POL_TLS_ON || t == POL_TLS_AUTH_DATA;
}

enum pol_ccc pol_tls_ccc(enum pol_tls t)
{
    if (t == POL_TLS_OFF) {
        return POL_CCC_TLS_OFF;
    }
    if (pol_tls_ctrl_required(t)) {
        return POL_CCC_REFUSED;
    }
    return POL_CCC_ALLOWED;
}

const char *pol_tls_name(enum pol_tls t)
{
    return pol_choice_name(pol_tls_choices, (int)t);
}

const char *pol_hash_name(enum pol_hash_algo a)
{
    return pol_choice_name(pol_hash_choices, (int)a);
}
