/* Uploads: STOR, APPE and STOU (SPEC §3, §5). Under `upload atomic` a STOR
 * or STOU goes to a hidden temporary ".ftpsd-XXXXXX" beside the target and
 * is renamed over it only after the last byte, the client's TLS
 * close_notify and a successful fsync; any failure removes the temporary,
 * so an interrupted upload never looks complete. APPE and REST+STOR append
 * in place. The handlers are in cmds.h. */
#ifndef FTPSD_UPLOAD_H
#define FTPSD_UPLOAD_H

#include <stddef.h>

/* Fills name (>= 14 bytes) with ".ftpsd-XXXXXX" from 6 random bytes. Pure
 * (unit-tested). */
void upload_temp_name(char *name, size_t cap, const unsigned char rnd[6]);

#endif
