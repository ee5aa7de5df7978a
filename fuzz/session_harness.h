/* The whole-session harness (fuzz/session_harness.c): one clear-text FTP
 * session of the real command engine per input, on in-memory sockets. */
#ifndef FTPSD_FUZZ_SESSION_HARNESS_H
#define FTPSD_FUZZ_SESSION_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* Serves one session on data (first byte: login prefix, address family,
 * fault rate; see session_harness.c); aborts on a leak or a bad reply. */
int session_harness_run(const uint8_t *data, size_t size);

#endif
