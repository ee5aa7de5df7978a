/* libFuzzer: whole clear-text sessions, before and after a login, through
 * the real dispatcher, with EINTR and short reads and writes injected
 * (fuzz/session_harness.c on the in-memory sockets of fuzz/wrapfd.c). */
#include "session_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return session_harness_run(data, size);
}
