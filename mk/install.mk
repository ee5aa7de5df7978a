# `make install` / `make uninstall` (included by the main Makefile, which
# defines PREFIX, sbindir, mandir, sysconfdir, DESTDIR and BIN).
#
#   make install                         # /usr/local/sbin, /usr/local/share/man, /etc/ftpsd
#   make install DESTDIR=/tmp/stage PREFIX=/usr
#   make install INSTALL_STRIP=-s        # strip the binary (cross: add
#                                        # STRIP=mipsel-linux-gnu-strip)
#
# The policy directory is made 0755 if it does not exist (an existing one
# keeps its mode) and gets policy.example, replaced on every install; a real
# `policy` there is never created, replaced or removed.

INSTALL ?= install
INSTALL_STRIP ?=
STRIP ?= strip
INSTALL_MAN5 := man/ftpsd-policy.5
INSTALL_MAN8 := man/ftpsd-inetd.8

.PHONY: install uninstall

install: $(BIN)
	$(INSTALL) -d -m 0755 '$(DESTDIR)$(sbindir)' '$(DESTDIR)$(mandir)/man5' \
	    '$(DESTDIR)$(mandir)/man8'
	@# install -d would also chmod an existing directory: an admin who made
	@# /etc/ftpsd 0750 to hide the keys keeps that mode.
	[ -d '$(DESTDIR)$(sysconfdir)/ftpsd' ] || $(INSTALL) -d -m 0755 '$(DESTDIR)$(sysconfdir)/ftpsd'
	$(INSTALL) -m 0755 $(INSTALL_STRIP) $(if $(INSTALL_STRIP),--strip-program='$(STRIP)') \
	    '$(BIN)' '$(DESTDIR)$(sbindir)/ftpsd-inetd'
	$(INSTALL) -m 0644 $(INSTALL_MAN5) '$(DESTDIR)$(mandir)/man5/'
	$(INSTALL) -m 0644 $(INSTALL_MAN8) '$(DESTDIR)$(mandir)/man8/'
	$(INSTALL) -m 0644 contrib/policy.example '$(DESTDIR)$(sysconfdir)/ftpsd/policy.example'
	@if [ -e '$(DESTDIR)$(sysconfdir)/ftpsd/policy' ]; then \
	    echo 'install: kept the existing $(DESTDIR)$(sysconfdir)/ftpsd/policy'; \
	else \
	    echo 'install: no $(DESTDIR)$(sysconfdir)/ftpsd/policy yet: copy policy.example, edit it, check it with ftpsd-inetd -t'; \
	fi

uninstall:
	rm -f '$(DESTDIR)$(sbindir)/ftpsd-inetd' \
	    '$(DESTDIR)$(mandir)/man5/$(notdir $(INSTALL_MAN5))' \
	    '$(DESTDIR)$(mandir)/man8/$(notdir $(INSTALL_MAN8))' \
	    '$(DESTDIR)$(sysconfdir)/ftpsd/policy.example'
	@# The directory goes only if nothing of the admin's is left in it.
	-rmdir '$(DESTDIR)$(sysconfdir)/ftpsd' 2>/dev/null || true
