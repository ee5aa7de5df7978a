/* The pure parts of HASH (hashcmd.c, tls_hash.c): the four digests against
 * published test vectors, fed whole and in odd-sized pieces; RANG
 * arguments; the FEAT line; the "ALGO START-END HEX NAME" reply text.
 * Table-driven (STYLE.md habit 15). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashcmd.h"
#include "tls_hash.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------ digests */

struct digest_case {
    enum pol_hash_algo algo;
    const char *in;
    size_t repeat; /* the input this many times (once if 0) */
    const char *hex;
};

/* FIPS 180-4 examples ("abc", the 448-bit message, a million 'a') and
 * RFC 1321's MD5 suite. */
static const struct digest_case digest_cases[] = {
    {POL_HASH_SHA256, "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {POL_HASH_SHA256, "abc", 0, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {POL_HASH_SHA256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {POL_HASH_SHA256, "a", 1000000,
     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    {POL_HASH_SHA512, "abc", 0,
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fe"
     "ebbd454d4423643ce80e2a9ac94fa54ca49f"},
    {POL_HASH_SHA512, "", 0,
     "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877e"
     "ec2f63b931bd47417a81a538327af927da3e"},
    {POL_HASH_SHA1, "abc", 0, "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {POL_HASH_SHA1, "a", 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
    {POL_HASH_MD5, "", 0, "d41d8cd98f00b204e9800998ecf8427e"},
    {POL_HASH_MD5, "message digest", 0, "f96b697d7cb7938d525a2f31aaf161d0"},
    {POL_HASH_MD5,
     "12345678901234567890123456789012345678901234567890123456789012345678901234567890", 0,
     "57edf4a22be3c955ac49da2e2107b67a"},
};

/* Feeds the case's input in pieces of 1, 2, 3, ... 97, 1, ... bytes. */
static bool feed(struct tls_digest *d, const struct digest_case *k)
{
    size_t inlen = strlen(k->in), reps = k->repeat ? k->repeat : 1, total = inlen * reps;
    unsigned char *buf = malloc(total + 1);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < reps; i++) {
        memcpy(buf + i * inlen, k->in, inlen);
    }
    bool ok = true;
    size_t off = 0, piece = 1;
    while (off < total && ok) {
        size_t n = total - off < piece ? total - off : piece;
        ok = tls_digest_update(d, buf + off, n);
        off += n;
        piece = piece % 97 + 1;
    }
    free(buf);
    return ok;
}

START_TEST(test_digest)
{
    const struct digest_case *k = &digest_cases[_i];
    if (!tls_digest_available(k->algo)) {
        /* A trimmed build: the algorithm must be refused, not crash. */
        struct tls_digest d;
        ck_assert(!tls_digest_start(&d, k->algo));
        return;
    }
    struct tls_digest d;
    unsigned char out[TLS_DIGEST_MAX];
    char hex[2 * TLS_DIGEST_MAX + 1];
    size_t len = 0;
    ck_assert(tls_digest_start(&d, k->algo));
    ck_assert(feed(&d, k));
    ck_assert(tls_digest_finish(&d, out, &len));
    ck_assert_uint_eq(len * 2, strlen(k->hex));
    tls_hash_hex(out, len, hex, sizeof hex);
    ck_assert_str_eq(hex, k->hex);
}
END_TEST

START_TEST(test_digest_unknown)
{
    struct tls_digest d;
    ck_assert(!tls_digest_available(POL_HASH_ALGOS));
    ck_assert(!tls_digest_start(&d, POL_HASH_ALGOS));
    ck_assert(tls_digest_available(POL_HASH_SHA256));
}
END_TEST

/* ------------------------------------------------------------ RANG */

struct rang_case {
    const char *arg;
    enum hash_rang want;
    uint64_t start, end;
};

static const struct rang_case rang_cases[] = {
    {"0 49", HASH_RANG_SET, 0, 49},
    {"0 0", HASH_RANG_SET, 0, 0},
    {"802816 1000000", HASH_RANG_SET, 802816, 1000000},
    {"5 5", HASH_RANG_SET, 5, 5},
    {"0 9223372036854775807", HASH_RANG_SET, 0, 9223372036854775807ull},
    {"007 010", HASH_RANG_SET, 7, 10},
    {"1 0", HASH_RANG_RESET, 0, 0},
    {"2 1", HASH_RANG_BAD, 0, 0},
    {"0 9223372036854775808", HASH_RANG_BAD, 0, 0},
    {"99999999999999999999999 1", HASH_RANG_BAD, 0, 0},
    {"0", HASH_RANG_BAD, 0, 0},
    {"0 ", HASH_RANG_BAD, 0, 0},
    {" 0 1", HASH_RANG_BAD, 0, 0},
    {"0  1", HASH_RANG_BAD, 0, 0},
    {"0 1 ", HASH_RANG_BAD, 0, 0},
    {"0 1 2", HASH_RANG_BAD, 0, 0},
    {"-1 5", HASH_RANG_BAD, 0, 0},
    {"+1 5", HASH_RANG_BAD, 0, 0},
    {"0x10 20", HASH_RANG_BAD, 0, 0},
    {"a b", HASH_RANG_BAD, 0, 0},
    {"0\t1", HASH_RANG_BAD, 0, 0},
    {"", HASH_RANG_BAD, 0, 0},
};

START_TEST(test_rang)
{
    const struct rang_case *k = &rang_cases[_i];
    uint64_t a = 77, b = 77;
    enum hash_rang got = hash_parse_rang(k->arg, &a, &b);
    ck_assert_msg(got == k->want, "'%s': %d, want %d", k->arg, (int)got, (int)k->want);
    if (got == HASH_RANG_SET) {
        ck_assert_uint_eq(a, k->start);
        ck_assert_uint_eq(b, k->end);
    }
}
END_TEST

/* ------------------------------------------------------------ FEAT, reply */

START_TEST(test_feat_line)
{
    char out[64];
    const enum pol_hash_algo all[] = {POL_HASH_SHA256, POL_HASH_SHA512, POL_HASH_SHA1,
                                      POL_HASH_MD5};
    ck_assert(hash_feat_line(out, sizeof out, all, 4, POL_HASH_SHA256));
    ck_assert_str_eq(out, "HASH SHA-256*;SHA-512;SHA-1;MD5");
    ck_assert(hash_feat_line(out, sizeof out, all, 4, POL_HASH_SHA1));
    ck_assert_str_eq(out, "HASH SHA-256;SHA-512;SHA-1*;MD5");
    ck_assert(hash_feat_line(out, sizeof out, all + 3, 1, POL_HASH_MD5));
    ck_assert_str_eq(out, "HASH MD5*");
    ck_assert(!hash_feat_line(out, 12, all, 4, POL_HASH_MD5));
}
END_TEST

START_TEST(test_offered)
{
    struct policy pol;
    enum pol_hash_algo out[POL_HASH_ALGOS];
    memset(&pol, 0, sizeof pol);
    ck_assert_uint_eq(hash_offered(&pol, out), 0);
    pol.nhash = 3;
    pol.hash[0] = POL_HASH_MD5;
    pol.hash[1] = POL_HASH_SHA256;
    pol.hash[2] = POL_HASH_SHA512;
    size_t n = hash_offered(&pol, out);
    /* In the policy's order, less what the build lacks. */
    size_t want = 1 + tls_digest_available(POL_HASH_MD5) + tls_digest_available(POL_HASH_SHA512);
    ck_assert_uint_eq(n, want);
    ck_assert_int_eq(out[tls_digest_available(POL_HASH_MD5) ? 1 : 0], POL_HASH_SHA256);
}
END_TEST

START_TEST(test_reply_text)
{
    char out[256];
    const unsigned char dg[4] = {0x01, 0xab, 0xff, 0x00};
    ck_assert(hash_reply_text(out, sizeof out, POL_HASH_SHA256, 0, 100, dg, 4, "f.bin"));
    ck_assert_str_eq(out, "SHA-256 0-99 01abff00 f.bin");
    ck_assert(hash_reply_text(out, sizeof out, POL_HASH_MD5, 802816, 197185, dg, 4, "a b.c"));
    ck_assert_str_eq(out, "MD5 802816-1000000 01abff00 a b.c");
    /* Nothing hashed (an empty file): the draft's END >= START still holds. */
    ck_assert(hash_reply_text(out, sizeof out, POL_HASH_SHA1, 0, 0, dg, 4, "empty"));
    ck_assert_str_eq(out, "SHA-1 0-0 01abff00 empty");
    ck_assert(
        hash_reply_text(out, sizeof out, POL_HASH_SHA512, 18446744073709551614ull, 1, dg, 1, "x"));
    ck_assert_str_eq(out, "SHA-512 18446744073709551614-18446744073709551614 01 x");
    /* Too long for the buffer: refused, never cut. */
    ck_assert(!hash_reply_text(out, 20, POL_HASH_SHA256, 0, 100, dg, 4, "f.bin"));
    ck_assert(
        !hash_reply_text(out, sizeof out, POL_HASH_SHA256, 0, 1, dg, TLS_DIGEST_MAX + 1, "f"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("digests");
    tcase_add_loop_test(tc, test_digest, 0, N(digest_cases));
    tcase_add_test(tc, test_digest_unknown);
    suite_add_tcase(s, tc);
    tc = tcase_create("command");
    tcase_add_loop_test(tc, test_rang, 0, N(rang_cases));
    tcase_add_test(tc, test_feat_line);
    tcase_add_test(tc, test_offered);
    tcase_add_test(tc, test_reply_text);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
