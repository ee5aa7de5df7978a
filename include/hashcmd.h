/* The HASH command (draft-bryan-ftpext-hash-02) and what goes with it:
 * RANG for part of a file (draft-bryan-ftp-range, for HASH only), OPTS
 * HASH and the FEAT line. The handlers HASH and RANG are in cmds.h; the
 * pure parts are here, unit-tested on their own. */
#ifndef FTPSD_HASHCMD_H
#define FTPSD_HASHCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct session;

/* The FEAT line "HASH SHA-256*;SHA-512;MD5" (the current one starred) for
 * this session, as a reply_more line; nothing when HASH is off. */
void hash_feat(struct session *s);
/* OPTS HASH [NAME]: without a name the current algorithm, with one the
 * new choice (200 NAME), or 501 for one not offered (the draft's code). */
void hash_opts(struct session *s, const char *name);

/* The algorithms HASH offers under pol: its `hash` list in that order,
 * less those this build of mbed TLS lacks. Returns how many (0: off). */
size_t hash_offered(const struct policy *pol, enum pol_hash_algo out[POL_HASH_ALGOS]);

/* "HASH A;B*;C": the offered list with the current one starred, into out
 * (cap bytes); false if it does not fit. Pure. */
bool hash_feat_line(char *out, size_t cap, const enum pol_hash_algo *list, size_t n,
                    enum pol_hash_algo current);

/* What a RANG argument says. */
enum hash_rang {
    HASH_RANG_SET,   /* "START END", START <= END: bytes START..END, END included */
    HASH_RANG_RESET, /* "1 0": back to whole files */
    HASH_RANG_BAD,   /* anything else: 501, and the range is reset */
};
/* Parses "START END": two decimal offsets (no sign, at most INT64_MAX)
 * and one blank between them. Pure. */
enum hash_rang hash_parse_rang(const char *arg, uint64_t *start, uint64_t *end);

/* The text of a HASH reply after its code, "ALGO START-END HEX NAME":
 * START-END the bytes hashed, END included ("0-0" for none, as for an
 * empty file), HEX the digest in lower case. False if it does not fit
 * cap. Pure. */
bool hash_reply_text(char *out, size_t cap, enum pol_hash_algo a, uint64_t start, uint64_t count,
                     const unsigned char *digest, size_t dlen, const char *name);

#endif
