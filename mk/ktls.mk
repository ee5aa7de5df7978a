# Kernel TLS (tls_ktls.c) on a real kernel TLS: the data-channel e2e tests
# inside Debian's user-mode Linux (tests/ktls/uml_run.py), which has tls.ko,
# with FTPSD_EXPECT_KTLS=1: every accepted protected data connection must be
# carried by the kernel (the log line, /proc/net/tls_stat), with the seccomp
# sandbox on as in production. Both builds: 2.28 (TLS 1.2) and 3.6 (TLS 1.2
# and 1.3).
#
#   make check-ktls        (as root; apt-get install -y user-mode-linux kmod iproute2)

KTLS_TESTS ?= test_data.|test_ktls.|test_interop.test_interop_curl|test_interop.test_interop_lftp|test_interop.test_interop_python|test_interop.test_interop_gnutls|test_sandbox.
KTLS_MBEDTLS36 := build/mbedtls-3.6.6

.PHONY: check-ktls

check-ktls: deps
	$(MAKE) all
	@[ -d $(KTLS_MBEDTLS36) ] || { mkdir -p build && tar -xzf $(MBEDTLS36_TGZ) -C build/; }
	$(MAKE) MBEDTLS_SRC=$(KTLS_MBEDTLS36) all
	@command -v linux.uml >/dev/null || \
	    { echo "check-ktls: linux.uml not found; apt-get install -y user-mode-linux kmod iproute2"; exit 1; }
	python3 tests/ktls/uml_run.py sh tests/ktls/inside.sh "$(KTLS_TESTS)" \
	    $(abspath ftpsd-inetd) $(abspath build-mbedtls-src/ftpsd-inetd)

# The server's CPU and system calls per GiB with and without kernel TLS
# (bench/ktls_cpu), inside user-mode Linux: not a clock, a breakdown.
.PHONY: bench-ktls
bench-ktls: all
	python3 tests/ktls/uml_run.py -m 2048M python3 bench/ktls_cpu $(abspath ftpsd-inetd) 128
