# The end-to-end suite under BusyBox inetd, the super-server of routers
# (included by the main Makefile). Debian's busybox package has no inetd:
# tests/busybox/build.sh builds the applet alone from Debian's source
# package (`apt-get source busybox`, 1.35.0; it adds deb-src to the apt
# sources) into build-busybox/, once.
#
#   make check-busybox        # build-busybox/inetd, then the whole suite under it
#
# FTPSD_SUPERSERVER=busybox makes tests/e2e/ftpsdtest.py start each test's
# server as `inetd -f -e CONF` with a private inetd.conf on a loopback port;
# tests/e2e/test_busybox.py checks the fds 0, 1 and 2 layout it gives.

BUSYBOX_DIR ?= build-busybox

.PHONY: busybox-inetd check-busybox

busybox-inetd:
	sh tests/busybox/build.sh $(BUSYBOX_DIR)

check-busybox: deps busybox-inetd
	$(MAKE) WERROR=-Werror all
	FTPSD_SUPERSERVER=busybox FTPSD_BUSYBOX_INETD=$(abspath $(BUSYBOX_DIR))/inetd \
	    FTPSD_BIN=$(abspath $(BIN)) python3 tests/e2e/run.py
