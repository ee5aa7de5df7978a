# Cross builds for routers: static, musl, mbed TLS 3.6, one binary each.
#
#   make cross-toolchains                   Debian's cross compilers, musl wrappers, qemu-user (root)
#   make cross ARCH=mipsel-sf|mips-sf|armhf|aarch64    build-ARCH/ftpsd-inetd (stripped)
#   make check-cross ARCH=...               the end-to-end suite against it under qemu-user
#   make clean-cross                        the build-ARCH directories (the toolchains stay)
#
# The build is `make embedded` with another compiler and directory, so
# whatever mk/embedded.mk passes to mbed TLS (MBEDTLS_SRC_CFLAGS, its
# configuration) holds here too. MIPS is soft-float, as OpenWrt builds it:
# most MIPS routers have no FPU (the 24Kc of ath79, the 1004Kc of MT7621),
# and Debian's musl for mipsel is hard-float (SIGILL there) while big-endian
# MIPS has no musl in Debian at all; contrib/cross/musl-softfloat.sh builds
# one from Debian's source package into build-toolchain/ARCH.
#
# binfmt_misc may be missing (containers, CI), so the emulator is named on
# the command line: the e2e harness puts FTPSD_WRAPPER before the binary
# everywhere it runs it. E2E_TIME_SCALE stretches the harness's waits, never
# what a test asserts.

CROSS_ARCHS := mipsel-sf mips-sf armhf aarch64
CROSS_TC ?= build-toolchain
CROSS_DIR = build-$(ARCH)
CROSS_BIN = $(CROSS_DIR)/ftpsd-inetd
# The GNU triple (binutils: strip, objdump) and the musl compiler wrapper.
cross_triple_mipsel-sf := mipsel-linux-gnu
cross_triple_mips-sf := mips-linux-gnu
cross_triple_armhf := arm-linux-gnueabihf
cross_triple_aarch64 := aarch64-linux-gnu
cross_cc_mipsel-sf := $(abspath $(CROSS_TC))/mipsel-sf/bin/mipsel-sf-musl-gcc
cross_cc_mips-sf := $(abspath $(CROSS_TC))/mips-sf/bin/mips-sf-musl-gcc
cross_cc_armhf := arm-linux-musleabihf-gcc
cross_cc_aarch64 := aarch64-linux-musl-gcc
# The emulated CPU is the router's: a MIPS32 24Kc has no FPU.
cross_qemu_mipsel-sf := qemu-mipsel-static -cpu 24Kc
cross_qemu_mips-sf := qemu-mips-static -cpu 24Kc
cross_qemu_armhf := qemu-arm-static
cross_qemu_aarch64 := qemu-aarch64-static
CROSS_CC = $(cross_cc_$(ARCH))
CROSS_QEMU = $(cross_qemu_$(ARCH))
CROSS_TRIPLE = $(cross_triple_$(ARCH))
# Measured: the slowest tests take about three times as long under qemu.
CROSS_TIME_SCALE ?= 4
# An mbed TLS tree given as MBEDTLS_SRC is copied: mbed TLS builds in its
# source tree, and each architecture needs its own objects.
CROSS_MBEDTLS_SRC := $(MBEDTLS_SRC)

.PHONY: cross check-cross cross-toolchains cross-check-arch clean-cross

cross-check-arch:
	@case " $(CROSS_ARCHS) " in *" $(ARCH) "*) ;; \
	    *) echo "cross: ARCH must be one of: $(CROSS_ARCHS)"; exit 2;; esac

cross-toolchains:
	@sh contrib/cross/install-toolchains.sh

cross: cross-check-arch
	@sh contrib/cross/install-toolchains.sh
	@case "$(ARCH)" in *-sf) sh contrib/cross/musl-softfloat.sh $(ARCH) $(CROSS_TC)/$(ARCH);; esac
	@if [ -n "$(CROSS_MBEDTLS_SRC)" ] && [ ! -d $(CROSS_DIR)/mbedtls-3.6.6 ]; then \
	    mkdir -p $(CROSS_DIR) && cp -R $(CROSS_MBEDTLS_SRC) $(CROSS_DIR)/mbedtls-3.6.6; fi
	$(MAKE) embedded MUSL_CC=$(CROSS_CC) EMBEDDED_DIR=$(CROSS_DIR)
	$(CROSS_TRIPLE)-strip -o $(CROSS_BIN) $(CROSS_DIR)/obj/ftpsd-inetd
	@# The proof that a soft-float build is soft-float: no FPU instruction
	@# (arithmetic, conversion, compare, move to or from coprocessor 1).
	@case "$(ARCH)" in *-sf) \
	    if $(CROSS_TRIPLE)-objdump -d $(CROSS_BIN) | grep -qE \
	        '[[:space:]]((add|sub|mul|div|abs|neg|mov|sqrt|cvt\.[a-z]+|c\.[a-z]+)\.[sd]|[ml][tf]h?c1|[ls][wd]c1|[ct]fc1|ctc1|bc1[ft])[[:space:]]'; then \
	        echo "cross: $(CROSS_BIN) has FPU instructions (hard-float libgcc or libc?)"; exit 1; fi;; esac
	@ls -l $(CROSS_BIN)

check-cross: cross
	FTPSD_BIN=$(abspath $(CROSS_BIN)) FTPSD_WRAPPER="$(CROSS_QEMU)" \
	    E2E_TIME_SCALE=$(CROSS_TIME_SCALE) python3 tests/e2e/run.py

clean-cross:
	rm -rf $(addprefix build-,$(CROSS_ARCHS))
