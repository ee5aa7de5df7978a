# The TLS files' extra targets (included by the Makefile).
#   make check-tls                      only the TLS unit tests (tests/unit/check_tls*.c)
#   make check-tls MBEDTLS_SRC=DIR      the same against an mbed TLS source tree (3.6)
#   make bench-tools                    the helpers bench/handshake runs

BENCH_BINS := $(BUILD)/bench/hs_bench $(BUILD)/bench/aead_speed $(BUILD)/bench/pbkdf2_speed

.PHONY: check-tls bench-tools

TLS_UNIT_BINS := $(filter $(BUILD)/tests/check_tls%,$(UNIT_BINS))

check-tls: $(TLS_UNIT_BINS)
	@rc=0; for t in $(TLS_UNIT_BINS); do CK_DEFAULT_TIMEOUT=60 $$t || rc=1; done; exit $$rc

bench-tools: $(BENCH_BINS)

$(BUILD)/bench:
	mkdir -p $@

$(BUILD)/bench/hs_bench: bench/hs_bench.c tests/unit/tls_client.h $(LIBFTPSD) | $(BUILD)/bench
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes -Itests/unit $(ALL_LDFLAGS) -o $@ $< \
	    $(LIBFTPSD) $(MBEDTLS_LIBS) -lpthread

$(BUILD)/bench/aead_speed: bench/aead_speed.c $(MBEDTLS_A) | $(BUILD)/bench
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes $(ALL_LDFLAGS) -o $@ $< $(MBEDTLS_LIBS)

$(BUILD)/bench/pbkdf2_speed: bench/pbkdf2_speed.c $(LIBFTPSD) | $(BUILD)/bench
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes $(ALL_LDFLAGS) -o $@ $< $(LIBFTPSD) \
	    $(MBEDTLS_LIBS)
