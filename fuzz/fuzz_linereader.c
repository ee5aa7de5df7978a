/* libFuzzer: the control-line reader on arbitrary bytes, fed in the chunk
 * sizes the first input byte chooses (split reads are where readers break). */
#include "ctrl.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct linereader lr;
    static char out[DEFS_LINE_MAX];
    size_t chunk = size ? (size_t)data[0] + 1 : 1, pos = size ? 1 : 0;
    lr_init(&lr);
    while (pos < size) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        pos += lr_feed(&lr, (const char *)data + pos, n);
        while (lr_next(&lr, out, sizeof out) != LR_NEED_MORE) {
        }
    }
    return 0;
}
