# The embedded build: musl libc and mbed TLS 3.6 (TLS 1.3), both linked
# statically into one self-contained binary. OpenWrt-class routers run musl,
# and a static binary needs nothing on the device but the kernel.
#
#   make embedded          # build-musl/obj/ftpsd-inetd (Debian: apt-get install musl-tools)
#   make check-embedded    # the end-to-end suite against that binary
#   make embedded SHARED_MBEDTLS=1   # linked against mbed TLS's shared libraries
#                          # (OpenWrt's libmbedtls): build-musl/shared/obj/ftpsd-inetd
#
# mbed TLS is compiled with include/mbedtls_config_router.h, only what ftpsd
# uses (README "A router-sized build"); EMBEDDED_MBEDTLS_CONFIG= (empty)
# takes mbed TLS's default, full configuration instead. Each configuration
# has its own mbed TLS tree and object directory, so one is never linked
# with objects compiled for the other (structure layouts differ).
#
# Why it exists beside STATIC_MBEDTLS=1: a glibc process maps much more of
# its C library than it uses (on this machine `sleep` alone has a VmHWM of
# 1.8 MB, all file pages), so a glibc build cannot go below that. With musl a
# session downloading 512 MiB peaks at about 0.85 MB (bench/throughput).
#
# The unit tests are not run here: Check is built for glibc. They run on the
# same sources in `make check` and `make check-mbedtls36`.
#
# Cross builds reuse EMBEDDED_MAKE_ARGS with their own compiler and
# directory: $(MAKE) CC=... $(EMBEDDED_MAKE_ARGS) (after setting
# EMBEDDED_DIR); the configuration comes with it.

MUSL_CC ?= musl-gcc
EMBEDDED_DIR ?= build-musl
EMBEDDED_MBEDTLS_CONFIG ?= include/mbedtls_config_router.h
# -Os as OpenWrt builds its packages; no unwind tables: C needs none, and
# they were 57 KB of the binary.
EMBEDDED_OPT ?= -Os -g -fno-asynchronous-unwind-tables -fno-unwind-tables
EMBEDDED_MBEDTLS_CFLAGS ?= $(EMBEDDED_OPT) $(EMBEDDED_PIC) -ffunction-sections -fdata-sections
EMBEDDED_PIC := -fPIE
# -Os halves ChaCha20-Poly1305's speed (481 -> 226 MB/s here), the bulk
# cipher where the kernel has no TLS: the record ciphers and SHA-256
# (PBKDF2 logins) stay at -O2, for 3.4 KB.
EMBEDDED_FAST_OBJS ?= chacha20.o poly1305.o chachapoly.o aes.o gcm.o sha256.o
EMBEDDED_FAST_CFLAGS ?= $(patsubst -Os,-O2,$(EMBEDDED_MBEDTLS_CFLAGS))

ifeq ($(SHARED_MBEDTLS),1)
  # Against the shared libraries the device already has, compiled with
  # their own configuration (a binary must see the library's structure
  # layouts); OpenWrt's libmbedtls is built with its own, not ours.
  EMBEDDED_MBEDTLS_CONFIG :=
  EMBEDDED_PIC := -fPIC
  EMBEDDED_TREE := $(EMBEDDED_DIR)/shared
else ifeq ($(EMBEDDED_MBEDTLS_CONFIG),)
  EMBEDDED_TREE := $(EMBEDDED_DIR)/default
else ifeq ($(EMBEDDED_MBEDTLS_CONFIG),include/mbedtls_config_router.h)
  EMBEDDED_TREE := $(EMBEDDED_DIR)
else
  EMBEDDED_TREE := $(EMBEDDED_DIR)/$(basename $(notdir $(EMBEDDED_MBEDTLS_CONFIG)))
endif
EMBEDDED_MBEDTLS := $(EMBEDDED_TREE)/mbedtls-3.6.6
EMBEDDED_BIN := $(EMBEDDED_TREE)/obj/ftpsd-inetd
EMBEDDED_MBEDTLS_LIB := $(abspath $(EMBEDDED_MBEDTLS))/library

# What every build of this family passes to the Makefile (a cross build
# adds CC). Command-line variables reach the mbed TLS sub-make too (CC,
# SHARED); PIE_LDFLAGS replaces the glibc build's -pie link, and function
# sections let the linker drop the parts of mbed TLS the server never calls.
EMBEDDED_MAKE_ARGS = MBEDTLS_SRC=$(EMBEDDED_MBEDTLS) BUILD=$(EMBEDDED_TREE)/obj \
    MBEDTLS_CONFIG=$(EMBEDDED_MBEDTLS_CONFIG) CFLAGS="$(EMBEDDED_OPT)" WERROR=-Werror \
    MBEDTLS_SRC_CFLAGS="$(EMBEDDED_MBEDTLS_CFLAGS)" \
    MBEDTLS_SRC_FAST_OBJS="$(EMBEDDED_FAST_OBJS)" MBEDTLS_SRC_FAST_CFLAGS="$(EMBEDDED_FAST_CFLAGS)"
ifeq ($(SHARED_MBEDTLS),1)
  EMBEDDED_MAKE_ARGS += SHARED=1 \
      MBEDTLS_LIBS="-L$(EMBEDDED_MBEDTLS_LIB) -lmbedtls -lmbedx509 -lmbedcrypto \
      -Wl,-rpath,$(EMBEDDED_MBEDTLS_LIB)"
else
  EMBEDDED_MAKE_ARGS += PIE_LDFLAGS=-static
endif

.PHONY: embedded check-embedded embedded-mbedtls-tree

# The mbed TLS tree of this configuration, rebuilt from clean when the
# configuration file changed since its last build.
embedded-mbedtls-tree:
	@[ -d $(EMBEDDED_MBEDTLS) ] || { mkdir -p $(EMBEDDED_TREE) && tar -xzf $(MBEDTLS36_TGZ) -C $(EMBEDDED_TREE)/; }
	@stamp=$(EMBEDDED_MBEDTLS)/ftpsd-config.h; \
	if [ -n "$(EMBEDDED_MBEDTLS_CONFIG)" ] && ! cmp -s $(EMBEDDED_MBEDTLS_CONFIG) $$stamp; then \
	    $(MAKE) -s -C $(EMBEDDED_MBEDTLS)/library clean >/dev/null && cp $(EMBEDDED_MBEDTLS_CONFIG) $$stamp; \
	fi

embedded: embedded-mbedtls-tree
	@command -v $(MUSL_CC) >/dev/null || \
	    { echo "embedded: $(MUSL_CC) not found (Debian: apt-get install musl-tools)"; exit 1; }
	$(MAKE) CC=$(MUSL_CC) $(EMBEDDED_MAKE_ARGS) $(EMBEDDED_BIN)
	-@size $(EMBEDDED_BIN)

check-embedded: embedded
	FTPSD_BIN=$(abspath $(EMBEDDED_BIN)) python3 tests/e2e/run.py
