# libFuzzer targets (included by the main Makefile, which defines LIB_SRCS,
# MBEDTLS_CFLAGS, MBEDTLS_LIBS and CPPFLAGS).
#
#   make fuzz-build                  # build-fuzz/fuzz_* (clang, ASan + UBSan)
#   make fuzz-smoke                  # run each for FUZZ_TIME seconds (20)
#   make fuzz-long FUZZ_TIME=1200    # each for FUZZ_TIME s, FUZZ_JOBS at a time
#                                    # (1), niced; a table of executions, cov,
#                                    # ft, corpus and crashes (mk/fuzz_long.sh)
#   make fuzz-long FUZZ_TARGETS="policy args"   # only these
#   make fuzz-long FUZZ_FLAGS=-max_len=4096      # more libFuzzer options
#   build-fuzz/fuzz_policy build-fuzz/corpus-policy   # a longer run by hand
#
# The library sources are compiled once into build-fuzz/obj with coverage
# instrumentation (-fsanitize=fuzzer-no-link); each fuzz/fuzz_NAME.c is
# linked against them. A seed directory fuzz/seed-NAME/ and a dictionary
# fuzz/NAME.dict are used when present; new inputs go to build-fuzz/corpus-NAME.

FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 20
FUZZ_JOBS ?= 1
comma := ,
FUZZ_TARGETS ?= $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# -Werror stays off: clang's warning set differs from the project compiler's.
FUZZ_CFLAGS := -std=c11 -g -O1 -Wall -Wextra $(FUZZ_SAN)
FUZZ_CPPFLAGS := $(MBEDTLS_CFLAGS) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Iinclude

FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))
FUZZ_OBJS := $(addprefix $(FUZZ_BUILD)/obj/,$(LIB_SRCS:.c=.o))

.PHONY: fuzz-build fuzz-smoke fuzz-long
# Pattern-built objects would otherwise be deleted as intermediates.
.SECONDARY: $(FUZZ_OBJS)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/obj:
	mkdir -p $@

$(FUZZ_BUILD)/obj/%.o: %.c $(wildcard include/*.h) | $(FUZZ_BUILD)/obj
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(MBEDTLS_LIBS)

# Whole sessions: the harness and its in-memory sockets (fuzz/wrapfd.c) take
# the place of these C library calls in every object by `ld --wrap`, so the
# program's sources are compiled exactly as for the other targets.
FUZZ_WRAPPED := read write send recv poll nanosleep getrandom socket bind listen accept4 \
    connect getsockopt setsockopt getsockname getpeername shutdown sendfile64 close
FUZZ_SESSION_SRCS := fuzz/session_harness.c fuzz/wrapfd.c
$(FUZZ_BUILD)/fuzz_session: fuzz/fuzz_session.c $(FUZZ_SESSION_SRCS) $(wildcard fuzz/*.h) $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -Ifuzz -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_SESSION_SRCS) $(FUZZ_OBJS) $(MBEDTLS_LIBS) $(addprefix -Wl$(comma)--wrap=,$(FUZZ_WRAPPED))

fuzz-smoke: fuzz-build
	@set -e; for f in $(FUZZ_BINS); do \
	    name=$${f##*/fuzz_}; corpus=$(FUZZ_BUILD)/corpus-$$name; mkdir -p $$corpus; \
	    seeds=; [ -d fuzz/seed-$$name ] && seeds=fuzz/seed-$$name; \
	    dict=; [ -f fuzz/$$name.dict ] && dict=-dict=fuzz/$$name.dict; \
	    echo "fuzz-smoke: $$f for $(FUZZ_TIME) s"; \
	    $$f -max_total_time=$(FUZZ_TIME) -print_final_stats=0 $$dict $$corpus $$seeds; \
	done

fuzz-long: $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TIME=$(FUZZ_TIME) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_FLAGS="$(FUZZ_FLAGS)" \
	    sh mk/fuzz_long.sh $^
