/* libFuzzer: path normalisation must never produce a path with a ".."
 * component or without a leading '/', whatever the client sends. */
#include "path.h"
#include "defs.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char arg[DEFS_PATH_MAX + 64], out[DEFS_PATH_MAX];
    size_t n = size < sizeof arg - 1 ? size : sizeof arg - 1;
    memcpy(arg, data, n);
    arg[n] = '\0';
    if (path_normalize("/home/x", arg, out, sizeof out) == 0) {
        if (out[0] != '/' || strstr(out, "/../") || strstr(out, "//") ||
            (strlen(out) >= 3 && strcmp(out + strlen(out) - 3, "/..") == 0)) {
            abort();
        }
    }
    return 0;
}
