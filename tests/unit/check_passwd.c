/* Unit tests for passwords: pol_parse_pbkdf2 (every accepted form and every
 * kind of bad string), pw_pbkdf2_sha256 against known answers (RFC 7914 §11
 * and Python's hashlib) and against mbed TLS's own PBKDF2 for random
 * inputs, pw_verify, pw_waste and pw_hash_string's round trip
 * through the parser. Table-driven (STYLE.md habit 15). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passwd.h"
#include "policy.h"
#include "tls_hash.h"
#include "vectors_pbkdf2.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
}

/* ------------------------------------------------------ pol_parse_pbkdf2 */

/* "secret", salt bytes 0..15, 1000 iterations (hashlib). */
#define S1_SALT "AAECAwQFBgcICQoLDA0ODw"
#define S1_HASH "Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBgY"
#define S1_HEX "4efb2bbb6d2eb58ea8deaed54417ae2fd87fd50a8a8568709363da60d4560606"
/* "secret1", salt fb ef be x5 01, 1000 iterations: both fields have '+'. */
#define S2_SALT "++++++++++++++++++++AQ"
#define S2_HASH "sQqBHebWY79R+Bc4MAMZEzeT5zGOQFAresFDCLIIUd8"
#define S2_HEX "b10a811de6d663bf51f81738300319133793e7318e40502b7ac14308b20851df"
#define S2_PASSLIB                                                                                 \
    "$pbkdf2-sha256$1000$....................AQ$sQqBHebWY79R.Bc4MAMZEzeT5zGOQFAresFDCLIIUd8"

struct parse_case {
    const char *s;
    bool ok;
    uint32_t iterations;
    size_t salt_len;
    const char *hash_hex; /* when ok */
    const char *why;      /* substring, when not ok */
};

static const struct parse_case parse_cases[] = {
    /* accepted forms */
    {"$pbkdf2-sha256$1000$" S1_SALT "==$" S1_HASH "=", true, 1000, 16, S1_HEX, NULL},
    {"$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH, true, 1000, 16, S1_HEX, NULL},
    {"$pbkdf2-sha256$1000$" S2_SALT "==$" S2_HASH "=", true, 1000, 16, S2_HEX, NULL},
    {"$pbkdf2-sha256$1000$" S2_SALT "$" S2_HASH, true, 1000, 16, S2_HEX, NULL},
    {S2_PASSLIB, true, 1000, 16, S2_HEX, NULL},
    {"$pbkdf2-sha256$10000000$" S1_SALT "$" S1_HASH, true, 10000000, 16, S1_HEX, NULL},
    {"$pbkdf2-sha256$200000$AA$" S1_HASH, true, 200000, 1, S1_HEX, NULL},
    {"$pbkdf2-sha256$200000$AA==$" S1_HASH, true, 200000, 1, S1_HEX, NULL},
    {"$pbkdf2-sha256$200000$AAA$" S1_HASH, true, 200000, 2, S1_HEX, NULL},
    /* 64-byte salt: the most the struct holds */
    {"$pbkdf2-sha256$1000$"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
     "$" S1_HASH,
     true, 1000, 64, S1_HEX, NULL},
    /* prefix */
    {"$pbkdf2-sha1$1000$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "does not start"},
    {"pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "does not start"},
    {"$PBKDF2-SHA256$1000$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "does not start"},
    {"", false, 0, 0, NULL, "does not start"},
    {"$pbkdf2-sha256$", false, 0, 0, NULL, "expected"},
    /* iterations */
    {"$pbkdf2-sha256$999$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "iteration"},
    {"$pbkdf2-sha256$10000001$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "iteration"},
    {"$pbkdf2-sha256$12a$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "iteration"},
    {"$pbkdf2-sha256$$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "iteration"},
    {"$pbkdf2-sha256$+1000$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "iteration"},
    {"$pbkdf2-sha256$ 1000$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "iteration"},
    {"$pbkdf2-sha256$99999999999999999999999$" S1_SALT "$" S1_HASH, false, 0, 0, NULL, "iteration"},
    /* fields */
    {"$pbkdf2-sha256$1000$" S1_SALT, false, 0, 0, NULL, "expected"},
    {"$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH "$", false, 0, 0, NULL, "too many"},
    {"$pbkdf2-sha256$1000$$" S1_HASH, false, 0, 0, NULL, "empty salt"},
    {"$pbkdf2-sha256$1000$==$" S1_HASH, false, 0, 0, NULL, "salt"},
    /* base64 */
    {"$pbkdf2-sha256$1000$AA*A$" S1_HASH, false, 0, 0, NULL, "salt is not base64"},
    {"$pbkdf2-sha256$1000$AAAAA$" S1_HASH, false, 0, 0, NULL, "salt is not base64"},
    {"$pbkdf2-sha256$1000$A===$" S1_HASH, false, 0, 0, NULL, "salt is not base64"},
    {"$pbkdf2-sha256$1000$AA=$" S1_HASH, false, 0, 0, NULL, "salt is not base64"},
    {"$pbkdf2-sha256$1000$A=A=$" S1_HASH, false, 0, 0, NULL, "salt is not base64"},
    {"$pbkdf2-sha256$1000$AA A$" S1_HASH, false, 0, 0, NULL, "salt is not base64"},
    {"$pbkdf2-sha256$1000$.+AA$" S1_HASH, false, 0, 0, NULL, "salt is not base64"},
    {"$pbkdf2-sha256$1000$..==$" S1_HASH, false, 0, 0, NULL, "salt is not base64"},
    {"$pbkdf2-sha256$1000$"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
     "$" S1_HASH,
     false, 0, 0, NULL, "salt is not base64 of 1 to 64 bytes"},
    {"$pbkdf2-sha256$1000$" S1_SALT "$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBg!", false, 0, 0,
     NULL, "hash is not base64"},
    {"$pbkdf2-sha256$1000$" S1_SALT "$", false, 0, 0, NULL, "hash is not base64"},
    /* hash length */
    {"$pbkdf2-sha256$1000$" S1_SALT "$Tvsru20utY6o3q7VRBeuL9h/1QqKhWhwk2PaYNRWBg", false, 0, 0,
     NULL, "not 32 bytes"},
    {"$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH "AAA", false, 0, 0, NULL, "not 32 bytes"},
    {"$pbkdf2-sha256$1000$" S1_SALT "$" S1_SALT, false, 0, 0, NULL, "not 32 bytes"},
};

START_TEST(test_parse)
{
    const struct parse_case *c = &parse_cases[_i];
    struct pol_pbkdf2 p;
    const char *why = "unset";
    bool ok;

    memset(&p, 0, sizeof(p));
    ok = pol_parse_pbkdf2(c->s, &p, &why);
    ck_assert_msg(ok == c->ok, "case %d '%s': %s", _i, c->s, why != NULL ? why : "(null)");
    if (c->ok) {
        char h[2 * DEFS_PBKDF2_HASH_LEN + 1];

        ck_assert_uint_eq(p.iterations, c->iterations);
        ck_assert_uint_eq(p.salt_len, c->salt_len);
        hex(p.hash, sizeof(p.hash), h);
        ck_assert_str_eq(h, c->hash_hex);
    } else {
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, c->why) != NULL, "case %d: '%s' lacks '%s'", _i, why, c->why);
    }
}
END_TEST

START_TEST(test_parse_salt_bytes)
{
    struct pol_pbkdf2 p;

    ck_assert(pol_parse_pbkdf2(S2_PASSLIB, &p, NULL));
    ck_assert_uint_eq(p.salt[0], 0xfb);
    ck_assert_uint_eq(p.salt[1], 0xef);
    ck_assert_uint_eq(p.salt[2], 0xbe);
    ck_assert_uint_eq(p.salt[15], 0x01);
    ck_assert(!pol_parse_pbkdf2(NULL, &p, NULL));
}
END_TEST

/* ------------------------------------------------------ pw_pbkdf2_sha256 */

START_TEST(test_vectors)
{
    const struct pbkdf2_vector *v = &pbkdf2_vectors[_i];
    unsigned char out[64];
    char got[2 * sizeof(out) + 1];
    size_t pwlen = v->pwlen != 0 ? v->pwlen : strlen(v->pw);

    ck_assert_uint_le(v->dklen, sizeof(out));
    ck_assert(pw_pbkdf2_sha256((const unsigned char *)v->pw, pwlen, (const unsigned char *)v->salt,
                               strlen(v->salt), v->iterations, out, v->dklen));
    hex(out, v->dklen, got);
    ck_assert_msg(strcmp(got, v->hex) == 0, "%s:\n got %s\nwant %s", v->name, got, v->hex);
}
END_TEST

/* A shorter output is a prefix of the longer one (same blocks). */
START_TEST(test_prefix_and_args)
{
    unsigned char a[64], b[20];

    ck_assert(pw_pbkdf2_sha256((const unsigned char *)"passwd", 6, (const unsigned char *)"salt", 4,
                               1, a, sizeof(a)));
    ck_assert(pw_pbkdf2_sha256((const unsigned char *)"passwd", 6, (const unsigned char *)"salt", 4,
                               1, b, sizeof(b)));
    ck_assert_mem_eq(a, b, sizeof(b));
    ck_assert(
        !pw_pbkdf2_sha256((const unsigned char *)"x", 1, (const unsigned char *)"s", 1, 0, a, 32));
    ck_assert(
        !pw_pbkdf2_sha256((const unsigned char *)"x", 1, (const unsigned char *)"s", 1, 1, a, 0));
    ck_assert(!pw_pbkdf2_sha256((const unsigned char *)"x", 1, (const unsigned char *)"s", 1, 1,
                                NULL, 32));
    ck_assert(!pw_pbkdf2_sha256(NULL, 1, (const unsigned char *)"s", 1, 1, a, 32));
    /* An empty salt is PBKDF2-legal (the parser refuses it, not the KDF). */
    ck_assert(pw_pbkdf2_sha256((const unsigned char *)"x", 1, NULL, 0, 1, a, 32));
}
END_TEST

/* Random passwords (empty, shorter and longer than the 64-byte block, which
 * HMAC hashes first), salts, iteration counts and output lengths (one to
 * four blocks, partial last block): bit for bit what mbed TLS's
 * mbedtls_pkcs5_pbkdf2_hmac(_ext) computes. A fixed-seed generator, so a
 * failure names a case that can be re-run. */
static uint32_t rnd_state = 0x2545F491u;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

START_TEST(test_against_mbedtls)
{
    unsigned char pw[150], salt[90], a[128], b[128];

    for (int n = 0; n < 200; n++) {
        size_t pwlen = rnd() % sizeof(pw), saltlen = rnd() % sizeof(salt);
        size_t outlen = 1 + rnd() % sizeof(a);
        uint32_t iter = 1 + rnd() % (n < 190 ? 40 : 3000);

        for (size_t i = 0; i < pwlen; i++) {
            pw[i] = (unsigned char)rnd();
        }
        for (size_t i = 0; i < saltlen; i++) {
            salt[i] = (unsigned char)rnd();
        }
        ck_assert(pw_pbkdf2_sha256(pw, pwlen, salt, saltlen, iter, a, outlen));
        ck_assert(tls_hash_pbkdf2_mbedtls(pw, pwlen, salt, saltlen, iter, b, outlen));
        ck_assert_msg(memcmp(a, b, outlen) == 0, "case %d: pw %zu salt %zu c=%u dkLen %zu", n,
                      pwlen, saltlen, (unsigned)iter, outlen);
    }
}
END_TEST

/* ------------------------------------------------------------- pw_verify */

struct verify_case {
    const char *stored;
    const char *pw;
    bool ok;
};

static const struct verify_case verify_cases[] = {
    {"$pbkdf2-sha256$1000$" S1_SALT "==$" S1_HASH "=", "secret", true},
    {"$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH, "secret", true},
    {"$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH, "Secret", false},
    {"$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH, "secret ", false},
    {"$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH, "secre", false},
    {"$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH, "", false},
    {S2_PASSLIB, "secret1", true},
    {S2_PASSLIB, "secret", false},
    {"$pbkdf2-sha256$1000$" S2_SALT "$" S2_HASH, "secret1", true},
};

START_TEST(test_verify)
{
    const struct verify_case *c = &verify_cases[_i];
    struct pol_pbkdf2 p;

    ck_assert(pol_parse_pbkdf2(c->stored, &p, NULL));
    ck_assert_int_eq(pw_verify(&p, c->pw, strlen(c->pw)), c->ok);
}
END_TEST

/* A hash that differs in any one byte, first or last, is refused. */
START_TEST(test_verify_each_byte)
{
    struct pol_pbkdf2 p;

    ck_assert(pol_parse_pbkdf2("$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH, &p, NULL));
    ck_assert(pw_verify(&p, "secret", 6));
    p.hash[_i] ^= 0x01;
    ck_assert(!pw_verify(&p, "secret", 6));
}
END_TEST

START_TEST(test_verify_args)
{
    struct pol_pbkdf2 p;

    ck_assert(pol_parse_pbkdf2("$pbkdf2-sha256$1000$" S1_SALT "$" S1_HASH, &p, NULL));
    ck_assert(!pw_verify(NULL, "secret", 6));
    ck_assert(!pw_verify(&p, NULL, 6));
    p.iterations = 0;
    ck_assert(!pw_verify(&p, "secret", 6));
    /* Never runs; must not crash. */
    pw_waste(1000, "secret", 6);
    pw_waste(1000, NULL, 6);
    pw_waste(0, "x", 1);
}
END_TEST

/* -------------------------------------------------------- pw_hash_string */

START_TEST(test_hash_roundtrip)
{
    char s1[256], s2[256];
    struct pol_pbkdf2 p1, p2;
    const char *why = NULL;

    ck_assert(pw_hash_string("hunter2", 7, 1000, s1, sizeof(s1)));
    ck_assert(pw_hash_string("hunter2", 7, 1000, s2, sizeof(s2)));
    ck_assert_msg(strncmp(s1, "$pbkdf2-sha256$1000$", 20) == 0, "%s", s1);
    /* standard padded base64: 16-byte salt = 22 chars + "==", hash 43 + "=" */
    ck_assert_uint_eq(strlen(s1), 20 + 24 + 1 + 44);
    ck_assert_int_eq(s1[20 + 22], '=');
    ck_assert_int_eq(s1[strlen(s1) - 1], '=');
    ck_assert_msg(pol_parse_pbkdf2(s1, &p1, &why), "%s: %s", s1, why);
    ck_assert(pol_parse_pbkdf2(s2, &p2, NULL));
    ck_assert_uint_eq(p1.iterations, 1000);
    ck_assert_uint_eq(p1.salt_len, 16);
    ck_assert(pw_verify(&p1, "hunter2", 7));
    ck_assert(!pw_verify(&p1, "hunter3", 7));
    ck_assert(pw_verify(&p2, "hunter2", 7));
    /* fresh salt each time */
    ck_assert_str_ne(s1, s2);
    ck_assert(memcmp(p1.salt, p2.salt, 16) != 0);
}
END_TEST

START_TEST(test_hash_refusals)
{
    char s[256];

    ck_assert(!pw_hash_string("x", 1, 999, s, sizeof(s)));
    ck_assert_str_eq(s, "");
    ck_assert(!pw_hash_string("x", 1, 10000001, s, sizeof(s)));
    ck_assert(!pw_hash_string("x", 1, 1000, s, 80)); /* needs 90 */
    ck_assert(pw_hash_string("x", 1, 1000, s, 90));
    ck_assert(!pw_hash_string("x", 1, 1000, NULL, 90));
    ck_assert(!pw_hash_string(NULL, 1, 1000, s, sizeof(s)));
    ck_assert(pw_hash_string("", 0, 1000, s, sizeof(s)));
}
END_TEST

static Suite *passwd_suite(void)
{
    Suite *s = suite_create("passwd");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, test_parse, 0, N(parse_cases));
    tcase_add_test(tc, test_parse_salt_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("pbkdf2");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_vectors, 0, N(pbkdf2_vectors));
    tcase_add_test(tc, test_prefix_and_args);
    tcase_add_test(tc, test_against_mbedtls);
    suite_add_tcase(s, tc);

    tc = tcase_create("verify");
    tcase_add_loop_test(tc, test_verify, 0, N(verify_cases));
    tcase_add_loop_test(tc, test_verify_each_byte, 0, DEFS_PBKDF2_HASH_LEN);
    tcase_add_test(tc, test_verify_args);
    tcase_add_test(tc, test_hash_roundtrip);
    tcase_add_test(tc, test_hash_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(passwd_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
