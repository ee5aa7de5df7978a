/* libFuzzer: the ClientHello parser reads hostile bytes before any
 * authentication; whatever they are, it stays inside them (ASan, UBSan). */
#include "tls_hello.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tls_hello h;
    tls_hello_parse(data, size, &h);
    return 0;
}
