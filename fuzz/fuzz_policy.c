/* libFuzzer: the policy parser on arbitrary bytes must stay bounded and
 * free of undefined behaviour, and pol_free must release all it built. */
#include "policy.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct policy pol;
    pol_parse_buf(&pol, "fuzz", (const char *)data, size, NULL, NULL);
    pol_free(&pol);
    return 0;
}
