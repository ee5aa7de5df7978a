/* slots_ip_offset (slots.h): where an address's slots are in the lock file. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "defs.h"
#include "slots.h"

START_TEST(test_ip_offsets)
{
    const unsigned char a[4] = {192, 0, 2, 1}, b[4] = {192, 0, 2, 2};
    const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    for (unsigned max = 1; max <= DEFS_SESSIONS_MAX; max *= 10) {
        uint64_t base = slots_ip_offset(a, 4, max, 0);
        /* Past every max-sessions slot, and an address's slots side by side. */
        ck_assert_uint_ge(base, DEFS_SLOTS_IP_BASE);
        ck_assert_uint_gt(DEFS_SLOTS_IP_BASE, DEFS_SESSIONS_MAX);
        ck_assert_uint_eq(slots_ip_offset(a, 4, max, max - 1), base + max - 1);
        /* Every bucket's range stays below the last one's end. */
        ck_assert_uint_lt(base + max,
                          DEFS_SLOTS_IP_BASE + (uint64_t)DEFS_SLOTS_IP_BUCKETS * max + 1);
        /* The same address, the same slots; another, (almost surely) others. */
        ck_assert_uint_eq(slots_ip_offset(a, 4, max, 0), base);
        ck_assert_uint_ne(slots_ip_offset(b, 4, max, 0), base);
        ck_assert_uint_ne(slots_ip_offset(v6, 16, max, 0), base);
        ck_assert_uint_eq((slots_ip_offset(b, 4, max, 0) - DEFS_SLOTS_IP_BASE) % max, 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("slots");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ip_offsets);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
