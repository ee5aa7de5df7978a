/* Resumption, the data-reuse proof (SPEC §4.3): a data connection resumes
 * the control connection's session of the same process and nothing else;
 * with data-reuse required tls_accept refuses the rest (TLS_FAIL_NOT_RESUMED)
 * on TLS 1.2 and 1.3 alike; TLS 1.3 tickets only on the control
 * connection. Against tls_client.h's client (tls_fixture.h). */
#include "tls_fixture.h"

/* ------------------------------------------------------------ resumption */

static const enum tc_ver resume_vers[] = {TC_VER_12, TC_VER_DEFAULT};

/* A control handshake that keeps the client's session. */
static void control_session(struct tls_ctx *ctx, enum tc_ver ver, struct tc_result *keep)
{
    struct run x;
    struct tc_opts o = {.ver = ver, .want_session = true, .act = TC_ACT_CLOSE};
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert(!tls_resumed(x.c));
    run_end(&x);
    ck_assert_msg(x.r.have_session, "client kept no session");
    *keep = x.r;
    /* the struct copy owns the session now */
}

/* What a handshake_with() came to. */
enum { HS_FAILED = -1, HS_FULL = 0, HS_RESUMED = 1, HS_REFUSED = 2 /* TLS_FAIL_NOT_RESUMED */ };

/* A handshake offering `session` (and only `suites`, if given); returns an
 * HS_ value. On TLS 1.2 it also checks that the client saw the same thing
 * on the wire (ServerHello echoing its session id). */
static int handshake_with(struct tls_ctx *ctx, enum tls_role role, enum tc_ver ver,
                          const mbedtls_ssl_session *session, const int *suites, char *err,
                          size_t errsz)
{
    struct run x;
    struct tc_opts o = {.ver = ver, .resume = session, .suites = suites, .act = TC_ACT_CLOSE};
    run_start(&x, ctx, role, &o, 5000);
    int res = x.c != NULL                     ? (tls_resumed(x.c) ? HS_RESUMED : HS_FULL)
              : x.why == TLS_FAIL_NOT_RESUMED ? HS_REFUSED
                                              : HS_FAILED;
    snprintf(err, errsz, "%s", x.err);
    run_end(&x);
    if (res >= 0 && session != NULL && x.r.saw_server_hello && !x.r.is13) {
        bool wire = tc_server_resumed(&x.r, session);
        ck_assert_msg(wire == (res == 1) || role == TLS_ROLE_CONTROL,
                      "server reports resumed=%d, the wire says %d", res, wire);
        if (role == TLS_ROLE_CONTROL) {
            res = wire ? 1 : 0; /* control: what the wire says */
        }
    }
    mbedtls_ssl_session_free(&x.r.session);
    return res;
}

static int data_handshake(struct tls_ctx *ctx, enum tc_ver ver, const mbedtls_ssl_session *session,
                          char *err, size_t errsz)
{
    return handshake_with(ctx, TLS_ROLE_DATA, ver, session, NULL, err, errsz);
}

START_TEST(test_resume)
{
    enum tc_ver ver = resume_vers[_i];
    struct policy p;
    char err[512];
    static struct tc_result ctl, other;
    mkpol(&p);
    p.data_reuse_required = true;
    struct tls_ctx *ctx = mkctx(&p);
    struct tls_ctx *ctx2 = mkctx(&p); /* another session's process */
    p.data_reuse_required = false;
    struct tls_ctx *lax = mkctx(&p);

    control_session(ctx, ver, &ctl);
    /* The control session resumes, on every data connection. */
    ck_assert_msg(data_handshake(ctx, ver, &ctl.session, err, sizeof err) == 1, "%s", err);
    ck_assert_msg(data_handshake(ctx, ver, &ctl.session, err, sizeof err) == 1, "%s", err);

    /* A fresh session is not a resumption: with data-reuse required it is
     * refused, whatever the version (test_not_resumed shows how). */
    int r = data_handshake(ctx, ver, NULL, err, sizeof err);
    ck_assert_int_eq(r, HS_REFUSED);
    ck_assert_msg(strstr(err, "did not resume") != NULL, "%s", err);
    /* Another process's session does not resume here. */
    control_session(ctx2, ver, &other);
    r = data_handshake(ctx, ver, &other.session, err, sizeof err);
    ck_assert_msg(r == HS_REFUSED, "foreign session: %d %s", r, err);

    /* data-reuse optional: a fresh data session completes, not resumed;
     * the control session still resumes. */
    static struct tc_result lax_ctl;
    control_session(lax, ver, &lax_ctl);
    ck_assert_int_eq(data_handshake(lax, ver, NULL, err, sizeof err), 0);
    ck_assert_int_eq(data_handshake(lax, ver, &lax_ctl.session, err, sizeof err), 1);
    ck_assert_int_eq(data_handshake(lax, ver, &other.session, err, sizeof err), 0);

    /* A control connection never resumes, not even this process's own
     * session (a new AUTH verifies the client afresh). */
    ck_assert_int_eq(
        handshake_with(ctx, TLS_ROLE_CONTROL, ver, &ctl.session, NULL, err, sizeof err), 0);
    /* ...and that control handshake replaced the session. */
    r = data_handshake(ctx, ver, &ctl.session, err, sizeof err);
    ck_assert_msg(r == HS_REFUSED, "session of a replaced control connection: %d", r);
    mbedtls_ssl_session_free(&ctl.session);
    control_session(ctx, ver, &ctl);

    /* A new control handshake (AUTH after REIN) replaces the session: the
     * old one no longer resumes. */
    static struct tc_result ctl2;
    control_session(ctx, ver, &ctl2);
    r = data_handshake(ctx, ver, &ctl.session, err, sizeof err);
    ck_assert_msg(r == HS_REFUSED, "old session after a new control handshake: %d", r);
    ck_assert_int_eq(data_handshake(ctx, ver, &ctl2.session, err, sizeof err), 1);

    /* Even a control handshake that fails ends the earlier session. */
    struct run x;
    struct tc_opts bad = {.ver = ver, .alpn = {"http/1.1", NULL}, .act = TC_ACT_CLOSE};
    run_start(&x, ctx, TLS_ROLE_CONTROL, &bad, 5000);
    ck_assert(x.c == NULL);
    run_end(&x);
    r = data_handshake(ctx, ver, &ctl2.session, err, sizeof err);
    ck_assert_msg(r == HS_REFUSED, "session before a failed control handshake: %d", r);

    mbedtls_ssl_session_free(&ctl.session);
    mbedtls_ssl_session_free(&ctl2.session);
    mbedtls_ssl_session_free(&other.session);
    mbedtls_ssl_session_free(&lax_ctl.session);
    tls_free(lax);
    tls_free(ctx2);
    tls_free(ctx);
}
END_TEST

/* TLS 1.2: a client that offers the control session's id but cannot use
 * its suite gets a full handshake (mbed TLS drops the cached session), and
 * that is not a resumption: data-reuse required refuses it. */
START_TEST(test_resume_other_suite)
{
    static const int aes_only[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0};
    struct policy p;
    char err[512];
    static struct tc_result ctl;
    mkpol(&p);
    p.data_reuse_required = true;
    struct tls_ctx *ctx = mkctx(&p);
    control_session(ctx, TC_VER_12, &ctl); /* ChaCha20 */
    ck_assert_int_eq(
        handshake_with(ctx, TLS_ROLE_DATA, TC_VER_12, &ctl.session, aes_only, err, sizeof err),
        HS_REFUSED);
    ck_assert_int_eq(data_handshake(ctx, TC_VER_12, &ctl.session, err, sizeof err), HS_RESUMED);
    mbedtls_ssl_session_free(&ctl.session);
    tls_free(ctx);
}
END_TEST

/* data-reuse required, a data connection with a fresh session: TLS 1.3
 * refuses it in the handshake; a TLS 1.2 handshake completes and is ended
 * with close_notify, so the client sees a clean end (and then the 522).
 * tls_accept gives TLS_FAIL_NOT_RESUMED for both. */
START_TEST(test_not_resumed)
{
    enum tc_ver ver = resume_vers[_i];
    struct policy p;
    struct run x;
    static struct tc_result ctl;
    struct tc_opts o = {.ver = ver, .act = TC_ACT_WAIT_CLOSE};
    mkpol(&p);
    p.data_reuse_required = true;
    struct tls_ctx *ctx = mkctx(&p);
    control_session(ctx, ver, &ctl);
    run_start(&x, ctx, TLS_ROLE_DATA, &o, 5000);
    ck_assert(x.c == NULL);
    ck_assert_int_eq(x.why, TLS_FAIL_NOT_RESUMED);
    ck_assert_str_eq(x.err, "data connection did not resume the control connection's TLS session "
                            "(data-reuse required)");
    run_end(&x);
    if (ctl.is13) {
        ck_assert_int_ne(x.r.hs_ret, 0);
    } else {
        ck_assert_int_eq(x.r.hs_ret, 0);
        ck_assert_msg(x.r.peer_close_seen, "no close_notify before the refusal (-0x%04x)",
                      (unsigned)-x.r.post_ret);
    }
    mbedtls_ssl_session_free(&ctl.session);
    tls_free(ctx);
}
END_TEST

#if TC_HAVE_13
/* TLS 1.3: one ticket on the control connection, none on data ones. */
START_TEST(test_tickets)
{
    struct policy p;
    struct run x;
    static struct tc_result ctl;
    mkpol(&p);
    struct tls_ctx *ctx = mkctx(&p);
    struct tc_opts o = {.ver = TC_VER_DEFAULT, .act = TC_ACT_READ, .read_expect = 5};
    run_start(&x, ctx, TLS_ROLE_CONTROL, &o, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert_int_eq(tls_write(x.c, "\x00\x07\x0e\x15\x1c", 5, -1), 5);
    run_end(&x);
    ck_assert(x.r.is13);
    ck_assert_int_eq(x.r.tickets, 1);

    control_session(ctx, TC_VER_DEFAULT, &ctl);
    struct tc_opts d = {
        .ver = TC_VER_DEFAULT, .resume = &ctl.session, .act = TC_ACT_READ, .read_expect = 5};
    run_start(&x, ctx, TLS_ROLE_DATA, &d, 5000);
    ck_assert_msg(x.c != NULL, "%s", x.err);
    ck_assert(tls_resumed(x.c));
    ck_assert_int_eq(tls_write(x.c, "\x00\x07\x0e\x15\x1c", 5, -1), 5);
    run_end(&x);
    ck_assert(x.r.read_ok);
    ck_assert_int_eq(x.r.tickets, 0);
    mbedtls_ssl_session_free(&ctl.session);
    tls_free(ctx);
}
END_TEST
#endif

int main(void)
{
    const struct tls_test tests[] = {
        {"resumption", test_resume, N(resume_vers)},
        {"resumption", test_resume_other_suite, 1},
        {"resumption", test_not_resumed, N(resume_vers)},
#if TC_HAVE_13
        {"resumption", test_tickets, 1},
#endif
    };
    return tls_fixture_main("tls_resume", tests, N(tests));
}
