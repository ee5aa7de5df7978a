/* Kernel TLS keys (tls_ktls.c): the derivations against published vectors
 * (RFC 8448 §3 for TLS 1.3), 2.28's exported TLS 1.2 key block against
 * the one derived from the master secret with mbed TLS's PRF, and, for
 * every suite the kernel carries, the keys, IVs and sequence numbers
 * tls_ktls_keys would hand the kernel against the records mbed TLS itself
 * sends and receives: a record built with them through mbed TLS's cipher
 * API must be byte for byte one that went over the socketpair. Then the
 * server's suite order in TLS 1.3, per data path. */
#include <mbedtls/cipher.h>

#include "tls_fixture.h"
#include "tls_ktls.h"
#include "tls_priv.h"

static size_t unhex(const char *h, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (; *h != '\0'; h++) {
        if (*h == ' ') {
            continue;
        }
        unsigned v = 0;
        ck_assert(sscanf(h, "%2x", &v) == 1 && n < cap);
        out[n++] = (unsigned char)v;
        h++;
    }
    return n;
}

/* ------------------------------------------------------------ RFC 8448 §3 */

static const struct {
    const char *what, *secret, *key, *iv;
} rfc8448[] = {
    {"server handshake",
     "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad "
     "38",
     "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc", "5d 31 3e b2 67 12 76 ee 13 00 0b 30"},
    {"client handshake",
     "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a "
     "21",
     "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01", "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f"},
    {"server application",
     "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 "
     "43",
     "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56", "cf 78 2b 88 dd 83 54 9a ad f1 e9 84"},
    {"client application",
     "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 "
     "a5",
     "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51", "5b 78 92 3d ee 08 57 90 33 e5 23 d9"},
};

START_TEST(test_rfc8448_traffic_keys)
{
    unsigned char secret[48], key[16], iv[12], want_key[16], want_iv[12], got_key[16], got_iv[12];
    size_t slen = unhex(rfc8448[_i].secret, secret, sizeof secret);
    ck_assert_uint_eq(unhex(rfc8448[_i].key, want_key, sizeof want_key), 16);
    ck_assert_uint_eq(unhex(rfc8448[_i].iv, want_iv, sizeof want_iv), 12);
    ck_assert(tls_ktls_derive13(false, secret, slen, 16, got_key, got_iv));
    ck_assert_msg(memcmp(got_key, want_key, 16) == 0, "%s key", rfc8448[_i].what);
    ck_assert_msg(memcmp(got_iv, want_iv, 12) == 0, "%s iv", rfc8448[_i].what);
    /* The pieces on their own: HKDF-Expand-Label "key" and "iv". */
    ck_assert(tls_ktls_expand_label(false, secret, slen, "key", NULL, 0, key, 16));
    ck_assert(tls_ktls_expand_label(false, secret, slen, "iv", NULL, 0, iv, 12));
    ck_assert(memcmp(key, want_key, 16) == 0 && memcmp(iv, want_iv, 12) == 0);
    /* Another label or hash gives other bytes. */
    ck_assert(tls_ktls_expand_label(false, secret, slen, "kez", NULL, 0, key, 16));
    ck_assert(memcmp(key, want_key, 16) != 0);
    ck_assert(tls_ktls_expand_label(true, secret, slen, "key", NULL, 0, key, 16));
    ck_assert(memcmp(key, want_key, 16) != 0);
}
END_TEST

START_TEST(test_expand_label_limits)
{
    unsigned char s[32] = {1}, out[300];
    ck_assert(!tls_ktls_expand_label(false, s, sizeof s, "key", NULL, 0, out, 256));
    ck_assert(tls_ktls_expand_label(false, s, sizeof s, "key", NULL, 0, out, 255));
    ck_assert(tls_ktls_expand_label(true, s, sizeof s, "iv", s, sizeof s, out, 48));
}
END_TEST

START_TEST(test_suite_table)
{
    struct tls_ktls_suite s;
    ck_assert(tls_ktls_suite_info(0x1303, &s) && s.v13 && !s.sha384 &&
              s.cipher == SYS_KTLS_CHACHA20_POLY1305);
    ck_assert(tls_ktls_suite_info(0x1302, &s) && s.v13 && s.sha384 &&
              s.cipher == SYS_KTLS_AES_256_GCM);
    ck_assert(tls_ktls_suite_info(0xC02B, &s) && !s.v13 && !s.sha384 &&
              s.cipher == SYS_KTLS_AES_128_GCM);
    ck_assert(tls_ktls_suite_info(0xC030, &s) && !s.v13 && s.sha384);
    /* CBC and CCM suites stay in mbed TLS. */
    ck_assert(!tls_ktls_suite_info(0xC023, &s));
    ck_assert(!tls_ktls_suite_info(0xC0AC, &s));
    ck_assert_uint_eq(tls_ktls_iv12_len(SYS_KTLS_AES_256_GCM), 4);
    ck_assert_uint_eq(tls_ktls_iv12_len(SYS_KTLS_CHACHA20_POLY1305), 12);
}
END_TEST

/* ------------------------------------------------------------ records */

#if defined(MBEDTLS_SSL_CID_TLS1_3_PADDING_GRANULARITY)
#define TLS13_PAD MBEDTLS_SSL_CID_TLS1_3_PADDING_GRANULARITY
#else
#define TLS13_PAD 1
#endif

/* One record as the peer would put it on the wire, protected with k:
 * TLS 1.2 AES-GCM (explicit nonce = sequence number, as mbed TLS sends it),
 * TLS 1.2 ChaCha20-Poly1305 and TLS 1.3 (nonce = IV xor sequence). */
static size_t build_record(const struct sys_ktls_key *k, const unsigned char *pt, size_t n,
                           unsigned char *out, size_t cap)
{
    static const mbedtls_cipher_type_t types[] = {
        [SYS_KTLS_AES_128_GCM] = MBEDTLS_CIPHER_AES_128_GCM,
        [SYS_KTLS_AES_256_GCM] = MBEDTLS_CIPHER_AES_256_GCM,
        [SYS_KTLS_CHACHA20_POLY1305] = MBEDTLS_CIPHER_CHACHA20_POLY1305,
    };
    bool v13 = k->version == SYS_KTLS_TLS13,
         explicit_iv = !v13 && k->cipher != SYS_KTLS_CHACHA20_POLY1305;
    unsigned char nonce[12], aad[13], in[2048];
    size_t aadlen, inlen = n, hdr = 5 + (explicit_iv ? 8 : 0), olen = 0;
    ck_assert(n + 1 + TLS13_PAD <= sizeof in && cap >= hdr + n + 1 + TLS13_PAD + 16);
    memcpy(in, pt, n);
    if (explicit_iv) {
        memcpy(nonce, k->iv, 4);
        memcpy(nonce + 4, k->seq, 8);
    } else {
        memcpy(nonce, k->iv, 12);
        for (int i = 0; i < 8; i++) {
            nonce[4 + i] ^= k->seq[i];
        }
    }
    if (v13) {
        in[inlen++] = 23; /* TLSInnerPlaintext's content type */
        /* mbed TLS 3.6 pads it to a multiple of 16 bytes by default. */
        while (inlen % TLS13_PAD != 0) {
            in[inlen++] = 0;
        }
        size_t len = inlen + 16;
        unsigned char h[5] = {23, 3, 3, (unsigned char)(len >> 8), (unsigned char)len};
        memcpy(aad, h, 5);
        aadlen = 5;
    } else {
        memcpy(aad, k->seq, 8);
        aad[8] = 23;
        aad[9] = 3;
        aad[10] = 3;
        aad[11] = (unsigned char)(n >> 8);
        aad[12] = (unsigned char)n;
        aadlen = 13;
    }
    mbedtls_cipher_context_t cc;
    mbedtls_cipher_init(&cc);
    ck_assert_int_eq(mbedtls_cipher_setup(&cc, mbedtls_cipher_info_from_type(types[k->cipher])), 0);
    ck_assert_int_eq(
        mbedtls_cipher_setkey(&cc, k->key, (int)tls_ktls_key_len(k->cipher) * 8, MBEDTLS_ENCRYPT),
        0);
    ck_assert_int_eq(mbedtls_cipher_auth_encrypt_ext(&cc, nonce, 12, aad, aadlen, in, inlen,
                                                     out + hdr, cap - hdr, &olen, 16),
                     0);
    mbedtls_cipher_free(&cc);
    size_t body = olen + (explicit_iv ? 8 : 0);
    out[0] = 23;
    out[1] = 3;
    out[2] = 3;
    out[3] = (unsigned char)(body >> 8);
    out[4] = (unsigned char)body;
    if (explicit_iv) {
        memcpy(out + 5, k->seq, 8);
    }
    return hdr + olen;
}

static bool contains(const unsigned char *hay, size_t n, const unsigned char *needle, size_t m)
{
    return m <= n && memmem(hay, n, needle, m) != NULL;
}

struct rec_case {
    const char *name;
    int suite;
    enum tc_ver ver;
};

static const struct rec_case rec_cases[] = {
    {"TLS 1.2 ECDHE-ECDSA AES-128-GCM", 0xC02B, TC_VER_12},
    {"TLS 1.2 ECDHE-ECDSA AES-256-GCM", 0xC02C, TC_VER_12},
    {"TLS 1.2 ECDHE-ECDSA ChaCha20-Poly1305", 0xCCA9, TC_VER_12},
#if TC_HAVE_13
    {"TLS 1.3 AES-128-GCM", 0x1301, TC_VER_DEFAULT},
    {"TLS 1.3 AES-256-GCM", 0x1302, TC_VER_DEFAULT},
    {"TLS 1.3 ChaCha20-Poly1305", 0x1303, TC_VER_DEFAULT},
#endif
};

/* A data connection's handshake with only rc's suite offered; the keys
 * tls_ktls_keys would give the kernel. */
static void data_hs(struct run *x, struct tls_ctx *ctx, const struct rec_case *rc,
                    const int *suites, struct tc_opts *o, struct sys_ktls_key *tx,
                    struct sys_ktls_key *rx)
{
    char why[128] = "";
    o->ver = rc->ver;
    o->suites = suites;
    run_start(x, ctx, TLS_ROLE_DATA, o, 5000);
    ck_assert_msg(x->c != NULL, "%s: %s", rc->name, x->err);
    ck_assert_int_eq(tls_conn_suite(x->c), rc->suite);
    ck_assert_msg(tls_ktls_keys(x->c, tx, rx, why, sizeof why), "%s: %s", rc->name, why);
    /* No kernel TLS on the machine the unit tests run on, or none for a
     * socketpair: mbed TLS keeps the records, and the log says why. */
    ck_assert(!tls_kernel_tx(x->c));
}

START_TEST(test_records_match_mbedtls)
{
    const struct rec_case *rc = &rec_cases[_i];
    const int suites[] = {rc->suite, 0};
    struct policy p;
    mkpol(&p);
    p.data_reuse_required = false; /* a full handshake on a data connection */
    struct tls_ctx *ctx = mkctx(&p);
    static unsigned char payload[1000], want[1200];
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (unsigned char)(i * 7u);
    }

    /* What we send: the client reads it, and keeps every byte it got. */
    struct run x;
    struct sys_ktls_key tx, rx;
    struct tc_opts o = {.act = TC_ACT_READ, .read_expect = sizeof payload};
    data_hs(&x, ctx, rc, suites, &o, &tx, &rx);
    static const unsigned char seq12[8] = {0, 0, 0, 0, 0, 0, 0, 1}, seq13[8] = {0};
    const unsigned char *seq = rc->ver == TC_VER_12 ? seq12 : seq13;
    ck_assert_msg(memcmp(tx.seq, seq, 8) == 0 && memcmp(rx.seq, seq, 8) == 0,
                  "%s: sequence numbers", rc->name);
    ck_assert_int_eq(tls_write(x.c, payload, sizeof payload, -1), (ssize_t)sizeof payload);
    run_end(&x);
    ck_assert_msg(x.r.read_ok, "%s: the client did not read the payload", rc->name);
    size_t wl = build_record(&tx, payload, sizeof payload, want, sizeof want);
    ck_assert_msg(contains(x.r.cap, x.r.ncap, want, wl),
                  "%s: no record sent matches the derived server keys", rc->name);
    /* One byte off in the key, and it matches nothing. */
    tx.key[0] ^= 1;
    wl = build_record(&tx, payload, sizeof payload, want, sizeof want);
    ck_assert(!contains(x.r.cap, x.r.ncap, want, wl));

    /* What we receive: the client's record, read raw off the socket. */
    static const char text[] = "STOR through the kernel, one record";
    struct tc_opts o2 = {.act = TC_ACT_WRITE_CLOSE, .payload = text};
    data_hs(&x, ctx, rc, suites, &o2, &tx, &rx);
    static unsigned char raw[4096];
    size_t nraw = 0;
    wl = build_record(&rx, (const unsigned char *)text, sizeof text - 1, want, sizeof want);
    while (nraw < sizeof raw && !contains(raw, nraw, want, wl)) {
        struct pollfd pfd = {.fd = x.sv[0], .events = POLLIN};
        if (poll(&pfd, 1, TC_WAIT_MS) <= 0) {
            break;
        }
        ssize_t r = read(x.sv[0], raw + nraw, sizeof raw - nraw);
        if (r <= 0) {
            break;
        }
        nraw += (size_t)r;
    }
    ck_assert_msg(contains(raw, nraw, want, wl),
                  "%s: the client's record does not match the derived client keys", rc->name);
    tls_discard(x.c);
    x.c = NULL;
    run_end(&x);
    tls_free(ctx);
}
END_TEST

#if !TC_V3
/* 2.28 exports the key block itself: the one derived from the master
 * secret with mbed TLS's PRF must be the same bytes. */
START_TEST(test_key_block_228)
{
    const struct rec_case *rc = &rec_cases[_i];
    const int suites[] = {rc->suite, 0};
    struct policy p;
    mkpol(&p);
    p.data_reuse_required = false;
    struct tls_ctx *ctx = mkctx(&p);
    struct run x;
    struct sys_ktls_key tx, rx;
    struct tc_opts o = {.act = TC_ACT_CLOSE};
    data_hs(&x, ctx, rc, suites, &o, &tx, &rx);
    const struct tls_ktls_secrets *ks = &x.c->ks;
    ck_assert(ks->have_kb && ks->have_ms);
    struct tls_ktls_suite s;
    ck_assert(tls_ktls_suite_info(rc->suite, &s));
    size_t len = 2 * ks->kb_keylen + 2 * ks->kb_ivlen;
    unsigned char kb[88];
    ck_assert(tls_ktls_key_block12(s.sha384, ks->ms, ks->cr, ks->sr, kb, len));
    ck_assert_msg(memcmp(kb, ks->kb, len) == 0, "%s: key block differs", rc->name);
    run_end(&x);
    tls_free(ctx);
}
END_TEST
#endif

/* ------------------------------------------------------------ suite order */

START_TEST(test_default_order_per_path)
{
    struct policy p;
    int mb[DEFS_TLS_SUITES_MAX], kn[DEFS_TLS_SUITES_MAX];
    size_t nmb = 0, nkn = 0;
    bool h13, h12;
    char msg[256];
    mkpol(&p);
    ck_assert(tls_build_suites(&p, false, mb, &nmb, &h13, &h12, msg, sizeof msg));
    ck_assert(tls_build_suites(&p, true, kn, &nkn, &h13, &h12, msg, sizeof msg));
    ck_assert_uint_eq(nmb, nkn);
    /* mbed TLS: ChaCha20 first; the kernel: AES-128-GCM first. */
    ck_assert_int_eq(mb[0], TC_HAVE_13 ? 0x1303 : 0xCCA9);
    ck_assert_int_eq(kn[0], TC_HAVE_13 ? 0x1301 : 0xC02B);
    /* An admin's list keeps its order on both paths. */
    static char *mine[] = {(char *)"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"};
    p.ciphers = mine;
    p.nciphers = 1;
    ck_assert(tls_build_suites(&p, false, mb, &nmb, &h13, &h12, msg, sizeof msg));
    ck_assert(nmb == 1 && mb[0] == 0xC02C);
}
END_TEST

#if TC_HAVE_13
/* mbed TLS 3.6 takes the client's order in TLS 1.3; ours must win: curl
 * offers AES-256-GCM first, and the mbed TLS path is fastest with ChaCha20. */
START_TEST(test_tls13_server_order)
{
    static const int curl_order[] = {0x1302, 0x1303, 0x1301, 0};
    static const int no_chacha[] = {0x1302, 0x1301, 0};
    const int *offer = _i == 0 ? curl_order : no_chacha;
    struct policy p;
    mkpol(&p);
    struct tls_ctx *ctx = mkctx(&p);
    struct run x;
    struct tc_opts o = {.suites = offer, .act = TC_ACT_CLOSE};
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert_int_eq(tls_conn_suite(x.c), _i == 0 ? 0x1303 : 0x1301);
    run_end(&x);
    tls_free(ctx);
}
END_TEST
#endif

int main(void)
{
    const struct tls_test tests[] = {
        {"derivation", test_rfc8448_traffic_keys, N(rfc8448)},
        {"derivation", test_expand_label_limits, 1},
        {"derivation", test_suite_table, 1},
        {"records", test_records_match_mbedtls, N(rec_cases)},
#if !TC_V3
        {"records", test_key_block_228, 3},
#endif
        {"order", test_default_order_per_path, 1},
#if TC_HAVE_13
        {"order", test_tls13_server_order, 2},
#endif
    };
    return tls_fixture_main("tls_ktls", tests, N(tests));
}
