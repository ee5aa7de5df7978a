/* text_sanitize (text.h): what of a client's bytes may be shown in a reply,
 * a listing or a log line. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct text_case {
    const char *in;
    size_t inlen;
    const char *lax;    /* replies and listings */
    const char *strict; /* log lines */
};

#define C(s) s, sizeof(s) - 1

static const struct text_case cases[] = {
    {C("plain name.txt"), "plain name.txt", "plain name.txt"},
    {C("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    /* C0, DEL */
    {C("a\x1b[31mb\x07\x08\x7f\r\n\t"), "a?[31mb??????", "a?[31mb??????"},
    /* C1 as UTF-8 (NEL, CSI) and as raw bytes */
    {C("x\xc2\x85"
       "y\xc2\x9b"
       "z"),
     "x?y?z", "x?y?z"},
    {C("x\x85"
       "y\x9b"
       "z"),
     "x?y?z", "x?y?z"},
    /* bidi controls, marks and line separators: one '?' each */
    {C("a\xe2\x80\xae"
       "b\xe2\x81\xa6"
       "c\xe2\x80\x8e"
       "d\xe2\x80\xa8"
       "e\xd8\x9c"),
     "a?b?c?d?e?", "a?b?c?d?e?"},
    /* Latin-1 letters (not UTF-8): kept for listings, not in the log */
    {C("caf\xe9"
       " \xff"),
     "caf\xe9"
     " \xff",
     "caf? ?"},
    /* invalid UTF-8: overlong, surrogate, past U+10FFFF, truncated */
    {C("\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x80"), "\xc0\xaf|\xed\xa0?|\xf4???|\xe2?",
     "??|???|????|??"},
    {C(""), "", ""},
};

START_TEST(test_cases)
{
    const struct text_case *c = &cases[_i];
    for (int strict = 0; strict <= 1; strict++) {
        char buf[128];
        ck_assert_uint_lt(c->inlen, sizeof buf);
        memcpy(buf, c->in, c->inlen);
        buf[c->inlen] = '\0';
        size_t n = text_sanitize(buf, c->inlen, strict);
        const char *want = strict ? c->strict : c->lax;
        ck_assert_msg(n == strlen(want) && memcmp(buf, want, n) == 0, "case %d strict %d: got %.*s",
                      _i, strict, (int)n, buf);
        ck_assert_uint_le(n, c->inlen);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_cases, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
