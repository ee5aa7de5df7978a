# ftpsd — build, test, demo. `make` builds ./ftpsd-inetd against Debian's
# mbed TLS 2.28 (linked statically when its .a files are installed;
# `make STATIC_MBEDTLS=0` for the shared libraries); `make MBEDTLS_SRC=DIR`
# against an mbed TLS source tree (3.6, built here).

CC ?= cc
BUILD ?= build
PREFIX ?= /usr/local
sbindir ?= $(PREFIX)/sbin
mandir ?= $(PREFIX)/share/man
sysconfdir ?= /etc
DESTDIR ?=

# Every .c file at the top level is part of the program (one concern each;
# the README's design section is the map).
SRCS := $(sort $(wildcard *.c))
LIB_SRCS := $(filter-out ftpsd-inetd.c,$(SRCS))

# --- Flags. The caller's CFLAGS, CPPFLAGS and LDFLAGS (a distribution's,
# on the command line or in the environment) are used as given and never
# replace the project's own, which live in FTPSD_*: the caller's come last
# so that their -O, -g, -W and -f choices win. `make check-buildflags`
# (tests/buildflags.py) builds with OpenWrt's and Debian's flags and reads
# the hardening back from the ELF.
CFLAGS ?= -O2 -g
# -Werror is the project's own checks' (check, lint, check-asan and the
# other check targets set WERROR=-Werror) and a plain `make`'s, where it
# gives the same objects as `make check`. A build with the caller's CFLAGS
# (a distribution's compiler may warn where this one does not) gets no
# -Werror unless it asks for it with WERROR=-Werror.
ifeq ($(filter command line environment environment override,$(origin CFLAGS)),)
  WERROR ?= -Werror
else
  WERROR ?=
endif
WARN := -Wall -Wextra $(WERROR) -Wformat=2 -Wformat-security -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla -Wshadow
# Options this compiler may lack (older GCC, clang, -fcf-protection on
# non-x86): probed once, kept when accepted.
cc_has = $(shell $(CC) -Werror $(1) -x c -c -o /dev/null /dev/null 2>/dev/null && echo '$(1)')
HARDEN_PROBED := $(call cc_has,-fstack-clash-protection) $(call cc_has,-fcf-protection)
HARDEN := -fstack-protector-strong $(HARDEN_PROBED) -fPIE
# _FORTIFY_SOURCE: the caller's level if their flags set or unset it; else
# 3 where glibc (2.34) and the compiler (__builtin_dynamic_object_size, GCC
# 12) support it, else 2 (musl has no FORTIFY: harmless there). -U first: a
# compiler that predefines it (Ubuntu's) would warn about a redefinition.
# Not at -O0, where glibc warns that FORTIFY needs optimisation.
FORTIFY_PROBE := '\#include <features.h>\n\#if !defined __GLIBC__ || __GLIBC__ * 1000 + __GLIBC_MINOR__ < 2034 || !defined __has_builtin\n\#error\n\#elif !__has_builtin(__builtin_dynamic_object_size)\n\#error\n\#endif'
FORTIFY_LEVEL := $(shell printf $(FORTIFY_PROBE) | $(CC) -E -x c -o /dev/null - 2>/dev/null && echo 3 || echo 2)
ifeq ($(filter -D_FORTIFY_SOURCE% -U_FORTIFY_SOURCE -O0,$(CPPFLAGS) $(CFLAGS)),)
  FORTIFY := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=$(FORTIFY_LEVEL)
endif
FTPSD_CPPFLAGS := -Iinclude -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
FTPSD_CFLAGS = -std=c11 $(WARN) $(HARDEN) -ffunction-sections -fdata-sections
# PIE_LDFLAGS: -static for a static binary (mk/embedded.mk), -static-pie.
PIE_LDFLAGS ?= -pie
FTPSD_LDFLAGS = $(PIE_LDFLAGS) -Wl,-z,relro,-z,now -Wl,--gc-sections

# --- mbed TLS: a source tree, pkg-config, or Debian's plain -l flags ---
ifneq ($(MBEDTLS_SRC),)
  BUILD := build-mbedtls-src
  MBEDTLS_CFLAGS := -I$(abspath $(MBEDTLS_SRC))/include
  MBEDTLS_A := $(addprefix $(abspath $(MBEDTLS_SRC))/library/,libmbedtls.a libmbedx509.a libmbedcrypto.a)
  MBEDTLS_LIBS := $(MBEDTLS_A)
else ifeq ($(shell pkg-config --exists mbedtls 2>/dev/null && echo y),y)
  MBEDTLS_CFLAGS := $(shell pkg-config --cflags mbedtls mbedx509 mbedcrypto)
  MBEDTLS_LIBS := $(shell pkg-config --libs mbedtls mbedx509 mbedcrypto)
else
  MBEDTLS_CFLAGS :=
  MBEDTLS_LIBS := -lmbedtls -lmbedx509 -lmbedcrypto
endif
# Static by default where the .a files are (Debian's libmbedtls-dev ships
# them): every session is a new process, and mapping and relocating three
# shared objects cost it 0.2 ms of CPU and 16 page faults more (bench/cost,
# README "What a session costs"). A distribution package that wants mbed
# TLS's security updates to reach ftpsd without a rebuild sets
# STATIC_MBEDTLS=0.
ifeq ($(STATIC_MBEDTLS),)
  STATIC_MBEDTLS := $(if $(wildcard $(shell $(CC) -print-file-name=libmbedcrypto.a)),1,0)
endif
ifeq ($(STATIC_MBEDTLS),1)
  ifeq ($(MBEDTLS_SRC),)
    MBEDTLS_LIBS := -Wl,-Bstatic -lmbedtls -lmbedx509 -lmbedcrypto -Wl,-Bdynamic
  endif
endif
ifneq ($(SANITIZE),)
  BUILD := build-san
  # ASan replaces the checks FORTIFY makes (and the two conflict).
  FORTIFY :=
  FTPSD_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  FTPSD_LDFLAGS += -fsanitize=address,undefined
endif
# An mbed TLS configuration header instead of the library's own (the router
# build's include/mbedtls_config_router.h, mk/embedded.mk). mbed TLS and
# ftpsd are compiled against the same one: structure layouts depend on it.
# The second form survives one more shell (the mbed TLS sub-make's CFLAGS).
ifneq ($(MBEDTLS_CONFIG),)
  MBEDTLS_CONFIG_DEF := -DMBEDTLS_CONFIG_FILE='"$(abspath $(MBEDTLS_CONFIG))"'
  MBEDTLS_CONFIG_DEF_SUB := -DMBEDTLS_CONFIG_FILE='\"$(abspath $(MBEDTLS_CONFIG))\"'
endif
# What the rules use: the project's flags, then the caller's.
ALL_CPPFLAGS = $(FTPSD_CPPFLAGS) $(FORTIFY) $(MBEDTLS_CFLAGS) $(MBEDTLS_CONFIG_DEF) $(CPPFLAGS)
ALL_CFLAGS = $(FTPSD_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(FTPSD_LDFLAGS) $(LDFLAGS)

# The flags an object was built with: a change (WERROR, CFLAGS, SANITIZE's
# own directory aside) rebuilds, so `make check` never passes on objects a
# build without -Werror left behind.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_LINE = $(strip $(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(MBEDTLS_LIBS))
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
  ifneq ($(FLAGS_LINE),$(strip $(file <$(FLAGS_STAMP))))
    $(shell mkdir -p $(BUILD))
    $(file >$(FLAGS_STAMP),$(FLAGS_LINE))
  endif
endif

ifeq ($(BUILD),build)
  BIN := ftpsd-inetd
else
  BIN := $(BUILD)/ftpsd-inetd
endif

OBJS := $(addprefix $(BUILD)/,$(SRCS:.c=.o))
LIB_OBJS := $(addprefix $(BUILD)/,$(LIB_SRCS:.c=.o))
LIBFTPSD := $(BUILD)/libftpsd.a

UNIT_SRCS := $(wildcard tests/unit/check_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

.PHONY: check-buildflags bench-vs-vsftpd tls-scan bench-quick all deps clean check check-unit check-e2e check-asan check-mbedtls36 lint demo install \
        fuzz bench interop-report

all: $(BIN)

$(BIN): $(OBJS) $(MBEDTLS_A) $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(OBJS) $(MBEDTLS_LIBS)

$(BUILD)/%.o: %.c $(wildcard include/*.h) $(MBEDTLS_A) $(FLAGS_STAMP) | $(BUILD)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBFTPSD): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD) $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIBFTPSD) | $(BUILD)/tests
	$(CC) $(ALL_CPPFLAGS) $(CHECK_CFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes -Itests/unit $(ALL_LDFLAGS) \
	    -o $@ $< $(LIBFTPSD) $(MBEDTLS_LIBS) $(CHECK_LIBS)

# mbed TLS from source (3.6 LTS): `make check MBEDTLS_SRC=build/mbedtls-3.6.6`
MBEDTLS_SRC_CFLAGS ?= -O2 -fPIE
# Objects compiled with other flags first (the router build: the bulk
# ciphers and SHA-256 at -O2 in an -Os library); `lib` then keeps them.
MBEDTLS_SRC_FAST_OBJS ?=
MBEDTLS_SRC_FAST_CFLAGS ?= -O2 -fPIE
ifneq ($(MBEDTLS_SRC),)
$(MBEDTLS_A):
	$(if $(MBEDTLS_SRC_FAST_OBJS),$(MAKE) -C $(MBEDTLS_SRC)/library $(MBEDTLS_SRC_FAST_OBJS) \
	    CFLAGS="$(MBEDTLS_SRC_FAST_CFLAGS) $(MBEDTLS_CONFIG_DEF_SUB)")
	$(MAKE) -C $(MBEDTLS_SRC) -j2 lib CFLAGS="$(MBEDTLS_SRC_CFLAGS) $(MBEDTLS_CONFIG_DEF_SUB)"
endif

# The house rules a compiler does not check (mk/lint.py): no unbounded
# string call, system calls only in the sys family, no cycle in the include
# or call graph, file and function lengths, the .clang-format style.
lint: $(OBJS)
	python3 mk/lint.py $(BUILD)

check-unit: $(UNIT_BINS)
	@rc=0; for t in $(UNIT_BINS); do CK_DEFAULT_TIMEOUT=60 $$t || rc=1; done; exit $$rc

check-e2e: $(BIN)
	FTPSD_BIN=$(abspath $(BIN)) python3 tests/e2e/run.py

deps:
	@sh contrib/install-deps.sh

# The project's own checks build with -Werror whatever the caller's flags.
check: deps
	$(MAKE) WERROR=-Werror lint all
	$(MAKE) WERROR=-Werror check-unit check-e2e

check-asan: deps
	$(MAKE) WERROR=-Werror SANITIZE=1 all
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 $(MAKE) WERROR=-Werror SANITIZE=1 check-unit check-e2e

# Packagers' flags (OpenWrt's, Debian's dpkg-buildflags) keep the project's
# flags and the binary's hardening (tests/buildflags.py reads the ELF). Four
# builds in temporary directories: a few minutes, so not part of `check`.
check-buildflags:
	python3 tests/buildflags.py

# 3.6 LTS from the tarball in ../shared/third_party
MBEDTLS36_TGZ ?= ../shared/third_party/mbedtls-3.6.6-src.tar.gz
check-mbedtls36:
	mkdir -p build && tar -xzf $(MBEDTLS36_TGZ) -C build/
	$(MAKE) check MBEDTLS_SRC=build/mbedtls-3.6.6

-include mk/*.mk

demo: deps
	$(MAKE) all
	sh contrib/demo.sh

# The server's TLS judged by testssl.sh and sslscan (tests/tls_scan.py): fails on
# any finding of severity medium or worse. About 3 minutes.
tls-scan: $(BIN)
	@command -v testssl >/dev/null && command -v sslscan >/dev/null || \
	    { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq testssl.sh sslscan >/dev/null; }
	FTPSD_BIN=$(abspath $(BIN)) python3 tests/tls_scan.py

# Figures, not tests: binary size, session memory and latency, TLS costs,
# bulk transfer speed. bench-quick skips the 2-4 minute throughput run.
bench: bench-quick
	python3 bench/throughput ./ftpsd-inetd

bench-quick: all
	python3 bench/session ./ftpsd-inetd
	python3 bench/cost ftpsd=./ftpsd-inetd
	sh bench/handshake

# What a short session costs the server, against vsftpd in the same run
# (apt-get install vsftpd; it is run under systemd-socket-activate, never
# enabled). About a minute; the table is the README's "What a session costs".
bench-vs-vsftpd: all
	python3 bench/cost --vs-vsftpd ftpsd=./ftpsd-inetd

clean:
	rm -rf build build-san build-mbedtls-src ftpsd-inetd
