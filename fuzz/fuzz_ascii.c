/* libFuzzer: TYPE A conversion across arbitrary buffer splits. Whatever
 * the bytes and however they are cut, the output never overruns, and text
 * without bare CRs survives a download (LF -> CRLF) followed by an upload
 * (CRLF -> LF) unchanged. The first input byte picks the buffer sizes. */
#include "xfer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Runs one direction over in[0..n) in input chunks of `step` bytes and
 * output buffers of `cap` bytes; the result goes to out (room: 2n + 1). */
static size_t convert(bool to_crlf, const unsigned char *in, size_t n, size_t step, size_t cap,
                      unsigned char *out)
{
    struct xfer_ascii st = {0};
    unsigned char *buf = malloc(cap);
    if (!buf) {
        abort();
    }
    size_t o = 0;
    size_t i = 0;
    while (i < n) {
        size_t chunk = n - i < step ? n - i : step;
        size_t done = 0;
        while (done < chunk) {
            size_t used = 0;
            size_t w = to_crlf ? xfer_to_crlf(&st, in + i + done, chunk - done, &used, buf, cap)
                               : xfer_from_crlf(&st, in + i + done, chunk - done, &used, buf, cap);
            if (w > cap || used > chunk - done || (w == 0 && used == 0)) {
                abort(); /* overrun, overread, or no progress */
            }
            memcpy(out + o, buf, w);
            o += w;
            done += used;
        }
        i += chunk;
    }
    if (!to_crlf) {
        size_t w = xfer_from_crlf_flush(&st, buf, cap);
        if (w > 1) {
            abort();
        }
        memcpy(out + o, buf, w);
        o += w;
    }
    free(buf);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) {
        return 0;
    }
    size_t step = (size_t)(data[0] & 0x0f) + 1;
    size_t cap = (size_t)(data[0] >> 4) + 2;
    const unsigned char *in = data + 1;
    size_t n = size - 1;
    unsigned char *down = malloc(2 * n + 1);
    unsigned char *up = malloc(2 * (2 * n) + 1);
    if (!down || !up) {
        abort();
    }
    size_t dn = convert(true, in, n, step, cap, down);
    size_t un = convert(false, down, dn, step, cap, up);
    if (dn > 2 * n || un > dn) {
        abort();
    }
    if (!memchr(in, '\r', n) && (un != n || memcmp(up, in, n) != 0)) {
        abort();
    }
    /* An upload alone never grows the data. */
    if (convert(false, in, n, step, cap, up) > n) {
        abort();
    }
    free(down);
    free(up);
    return 0;
}
