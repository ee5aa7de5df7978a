# tls.c's extra targets (included by the Makefile).
#   make check-tls                      only the TLS unit tests
#   make check-tls MBEDTLS_SRC=DIR      the same against an mbed TLS source tree (3.6)
#   make bench-tools                    the helpers bench/handshake runs

BENCH_BINS := $(BUILD)/bench/hs_bench $(BUILD)/bench/aead_speed

.PHONY: check-tls bench-tools

check-tls: $(BUILD)/tests/check_tls
	CK_DEFAULT_TIMEOUT=60 $(BUILD)/tests/check_tls

bench-tools: $(BENCH_BINS)

$(BUILD)/bench:
	mkdir -p $@

$(BUILD)/bench/hs_bench: bench/hs_bench.c tests/unit/tls_client.h $(LIBFTPSD) | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -Itests/unit $(LDFLAGS) -o $@ $< \
	    $(LIBFTPSD) $(MBEDTLS_LIBS) -lpthread

$(BUILD)/bench/aead_speed: bench/aead_speed.c $(MBEDTLS_A) | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(MBEDTLS_LIBS)
