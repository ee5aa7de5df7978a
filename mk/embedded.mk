# The embedded build: musl libc and mbed TLS 3.6 (TLS 1.3), both linked
# statically into one self-contained binary. OpenWrt-class routers run musl,
# and a static binary needs nothing on the device but the kernel.
#
#   make embedded          # build-musl/ftpsd-inetd (Debian: apt-get install musl-tools)
#   make check-embedded    # the end-to-end suite against that binary
#
# Why it exists beside STATIC_MBEDTLS=1: a glibc process maps much more of
# its C library than it uses (on this machine `sleep` alone has a VmHWM of
# 1.8 MB, all file pages), so a glibc build cannot go below that. With musl a
# session downloading 512 MiB peaks at about 0.85 MB (bench/throughput).
#
# The unit tests are not run here: Check is built for glibc. They run on the
# same sources in `make check` and `make check-mbedtls36`.

MUSL_CC ?= musl-gcc
EMBEDDED_DIR ?= build-musl
EMBEDDED_MBEDTLS := $(EMBEDDED_DIR)/mbedtls-3.6.6
EMBEDDED_BIN := $(EMBEDDED_DIR)/obj/ftpsd-inetd

.PHONY: embedded check-embedded

embedded:
	@command -v $(MUSL_CC) >/dev/null || \
	    { echo "embedded: $(MUSL_CC) not found (Debian: apt-get install musl-tools)"; exit 1; }
	@[ -d $(EMBEDDED_MBEDTLS) ] || { mkdir -p $(EMBEDDED_DIR) && tar -xzf $(MBEDTLS36_TGZ) -C $(EMBEDDED_DIR)/; }
	@# Command-line variables reach the mbed TLS sub-make too (CC);
	@# PIE_LDFLAGS replaces the glibc build's -pie link. Function sections
	@# let the linker drop the parts of mbed TLS the server never calls.
	$(MAKE) CC=$(MUSL_CC) MBEDTLS_SRC=$(EMBEDDED_MBEDTLS) BUILD=$(EMBEDDED_DIR)/obj \
	    MBEDTLS_SRC_CFLAGS='-O2 -fPIE -ffunction-sections -fdata-sections' \
	    PIE_LDFLAGS=-static $(EMBEDDED_BIN)
	-@size $(EMBEDDED_BIN)

check-embedded: embedded
	FTPSD_BIN=$(abspath $(EMBEDDED_BIN)) python3 tests/e2e/run.py
