/* libFuzzer: text_sanitize on arbitrary bytes, both modes: never longer,
 * and what it returns holds no C0 control, no DEL, and (strict) is valid
 * UTF-8 without C1 or bidi controls — checked by a second pass that must
 * change nothing. */
#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) {
        return 0;
    }
    for (int strict = 0; strict <= 1; strict++) {
        char *buf = malloc(size + 1);
        char *again = malloc(size + 1);
        if (!buf || !again) {
            abort();
        }
        memcpy(buf, data, size);
        buf[size] = '\0';
        size_t n = text_sanitize(buf, size, strict);
        if (n > size) {
            abort();
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)buf[i];
            if (c < 0x20 || c == 0x7f) {
                abort();
            }
        }
        memcpy(again, buf, n);
        if (text_sanitize(again, n, strict) != n || memcmp(again, buf, n) != 0) {
            abort(); /* the output is already safe: idempotent */
        }
        free(buf);
        free(again);
    }
    return 0;
}
