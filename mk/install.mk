# `make install` / `make uninstall` / `make service-files` (included by the
# main Makefile, which defines PREFIX, sbindir, mandir, sysconfdir, DESTDIR
# and BIN).
#
#   make install                         # /usr/local/sbin, /usr/local/share/man, /etc/ftpsd
#   make install DESTDIR=/tmp/stage PREFIX=/usr
#   make install INSTALL_STRIP=-s        # strip the binary (cross: add
#                                        # STRIP=mipsel-linux-gnu-strip)
#   make service-files PREFIX=/usr SERVICE_FILES_DIR=out
#                                        # only the service files, into out/
#
# The policy directory is made 0755 if it does not exist (an existing one
# keeps its mode) and gets policy.example, replaced on every install; a real
# `policy` there is never created, replaced or removed.
#
# The service files go where Debian's packages put theirs. Templates
# (contrib/**/*.in) get the install's sbindir and sysconfdir.
#   systemdunitdir  ftpsd.socket, ftpsd@.service and the LISTEN_FDS pair
#                   (PREFIX=/usr: /lib/systemd/system; else PREFIX/lib/systemd/system,
#                   which systemd reads too). Not enabled.
#   fail2bandir     filter.d/ftpsd.conf and jail.d/ftpsd.conf (jails off).
#                   Replaced on every install: local changes go in *.local.
#   logrotatedir    ftpsd (the xferlog). Kept if it exists.
#   xinetddir       ftpsd, with `disable = yes`. Kept if it exists.
#   docdir          examples/: inetd.conf (never added to /etc/inetd.conf),
#                   and pristine copies of the two kept files.
# Setting one of these to nothing (`make install fail2bandir=`) skips it.
# Uninstall removes a kept file only if it is still what install wrote, and
# no directory but ftpsd's own (others may belong to packages).

INSTALL ?= install
INSTALL_STRIP ?=
STRIP ?= strip
INSTALL_MAN5 := man/ftpsd-policy.5
INSTALL_MAN8 := man/ftpsd-inetd.8

docdir ?= $(PREFIX)/share/doc/ftpsd
systemdunitdir ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
fail2bandir ?= $(sysconfdir)/fail2ban
logrotatedir ?= $(sysconfdir)/logrotate.d
xinetddir ?= $(sysconfdir)/xinetd.d
SERVICE_FILES_DIR ?= build/service-files

UNITS_PLAIN := ftpsd.socket ftpsd-listenfds.socket
UNITS_IN := ftpsd@.service ftpsd-listenfds@.service

SUBST_DIRS = sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@sysconfdir@|$(sysconfdir)|g'

# $(call subst_file,TEMPLATE,DEST): DEST from TEMPLATE with the install's
# directories, mode 0644, written whole or not at all. A placeholder left
# over (a new one nobody taught this rule) fails the install.
define subst_file
	$(SUBST_DIRS) '$(1)' > '$(2).tmp'
	@if grep -n '@[a-z_]*dir@' '$(2).tmp'; then rm -f '$(2).tmp'; \
	    echo 'install: $(1) has a placeholder this install does not know' >&2; exit 1; fi
	chmod 0644 '$(2).tmp' && mv -f '$(2).tmp' '$(2)'
endef

# $(call keep_or_put,NEW,DEST): an admin's file is theirs once it exists.
define keep_or_put
	@if [ -e '$(2)' ]; then \
	    if cmp -s '$(1)' '$(2)'; then :; else \
	    echo 'install: kept the existing $(2)$(if $(docdir),; the new one is in $(DESTDIR)$(docdir)/examples)'; fi; \
	else $(INSTALL) -m 0644 '$(1)' '$(2)' && echo '$(INSTALL) -m 0644 $(1) $(2)'; fi
endef

# $(call drop_if_ours,COMMAND,DEST): uninstall's half of keep_or_put; COMMAND
# prints what install wrote.
define drop_if_ours
	@if [ -e '$(2)' ]; then \
	    if $(1) | cmp -s - '$(2)'; then rm -f '$(2)' && echo 'rm -f $(2)'; \
	    else echo 'uninstall: kept $(2): it was changed after install'; fi; fi
endef

.PHONY: install uninstall service-files

service-files:
	$(INSTALL) -d -m 0755 '$(SERVICE_FILES_DIR)/systemd' '$(SERVICE_FILES_DIR)/xinetd.d' \
	    '$(SERVICE_FILES_DIR)/fail2ban/filter.d' '$(SERVICE_FILES_DIR)/fail2ban/jail.d' \
	    '$(SERVICE_FILES_DIR)/logrotate.d'
	$(call subst_file,contrib/systemd/ftpsd@.service.in,$(SERVICE_FILES_DIR)/systemd/ftpsd@.service)
	$(call subst_file,contrib/systemd/ftpsd-listenfds@.service.in,$(SERVICE_FILES_DIR)/systemd/ftpsd-listenfds@.service)
	$(INSTALL) -m 0644 $(addprefix contrib/systemd/,$(UNITS_PLAIN)) '$(SERVICE_FILES_DIR)/systemd/'
	$(call subst_file,contrib/xinetd.d/ftpsd.in,$(SERVICE_FILES_DIR)/xinetd.d/ftpsd)
	$(call subst_file,contrib/inetd.conf.in,$(SERVICE_FILES_DIR)/inetd.conf)
	$(INSTALL) -m 0644 contrib/fail2ban/filter.d/ftpsd.conf '$(SERVICE_FILES_DIR)/fail2ban/filter.d/'
	$(INSTALL) -m 0644 contrib/fail2ban/jail.d/ftpsd.conf '$(SERVICE_FILES_DIR)/fail2ban/jail.d/'
	$(INSTALL) -m 0644 contrib/logrotate.d/ftpsd '$(SERVICE_FILES_DIR)/logrotate.d/'

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
ifneq ($(systemdunitdir),)
	$(INSTALL) -d -m 0755 '$(DESTDIR)$(systemdunitdir)'
	$(INSTALL) -m 0644 $(addprefix contrib/systemd/,$(UNITS_PLAIN)) '$(DESTDIR)$(systemdunitdir)/'
	$(call subst_file,contrib/systemd/ftpsd@.service.in,$(DESTDIR)$(systemdunitdir)/ftpsd@.service)
	$(call subst_file,contrib/systemd/ftpsd-listenfds@.service.in,$(DESTDIR)$(systemdunitdir)/ftpsd-listenfds@.service)
endif
ifneq ($(fail2bandir),)
	$(INSTALL) -d -m 0755 '$(DESTDIR)$(fail2bandir)/filter.d' '$(DESTDIR)$(fail2bandir)/jail.d'
	$(INSTALL) -m 0644 contrib/fail2ban/filter.d/ftpsd.conf '$(DESTDIR)$(fail2bandir)/filter.d/'
	$(INSTALL) -m 0644 contrib/fail2ban/jail.d/ftpsd.conf '$(DESTDIR)$(fail2bandir)/jail.d/'
endif
ifneq ($(docdir),)
	$(INSTALL) -d -m 0755 '$(DESTDIR)$(docdir)/examples/xinetd.d' \
	    '$(DESTDIR)$(docdir)/examples/logrotate.d'
	$(call subst_file,contrib/inetd.conf.in,$(DESTDIR)$(docdir)/examples/inetd.conf)
	$(call subst_file,contrib/xinetd.d/ftpsd.in,$(DESTDIR)$(docdir)/examples/xinetd.d/ftpsd)
	$(INSTALL) -m 0644 contrib/logrotate.d/ftpsd '$(DESTDIR)$(docdir)/examples/logrotate.d/ftpsd'
endif
ifneq ($(logrotatedir),)
	$(INSTALL) -d -m 0755 '$(DESTDIR)$(logrotatedir)'
	$(call keep_or_put,contrib/logrotate.d/ftpsd,$(DESTDIR)$(logrotatedir)/ftpsd)
endif
ifneq ($(xinetddir),)
	$(INSTALL) -d -m 0755 '$(DESTDIR)$(xinetddir)'
	$(call subst_file,contrib/xinetd.d/ftpsd.in,$(DESTDIR)$(xinetddir)/.ftpsd.new)
	$(call keep_or_put,$(DESTDIR)$(xinetddir)/.ftpsd.new,$(DESTDIR)$(xinetddir)/ftpsd)
	rm -f '$(DESTDIR)$(xinetddir)/.ftpsd.new'
endif

uninstall:
	rm -f '$(DESTDIR)$(sbindir)/ftpsd-inetd' \
	    '$(DESTDIR)$(mandir)/man5/$(notdir $(INSTALL_MAN5))' \
	    '$(DESTDIR)$(mandir)/man8/$(notdir $(INSTALL_MAN8))' \
	    '$(DESTDIR)$(sysconfdir)/ftpsd/policy.example'
	@# The directory goes only if nothing of the admin's is left in it.
	-rmdir '$(DESTDIR)$(sysconfdir)/ftpsd' 2>/dev/null || true
ifneq ($(systemdunitdir),)
	rm -f $(foreach u,$(UNITS_PLAIN) $(UNITS_IN),'$(DESTDIR)$(systemdunitdir)/$(u)')
endif
ifneq ($(fail2bandir),)
	rm -f '$(DESTDIR)$(fail2bandir)/filter.d/ftpsd.conf' '$(DESTDIR)$(fail2bandir)/jail.d/ftpsd.conf'
endif
ifneq ($(docdir),)
	rm -f '$(DESTDIR)$(docdir)/examples/inetd.conf' '$(DESTDIR)$(docdir)/examples/xinetd.d/ftpsd' \
	    '$(DESTDIR)$(docdir)/examples/logrotate.d/ftpsd'
	-rmdir '$(DESTDIR)$(docdir)/examples/xinetd.d' '$(DESTDIR)$(docdir)/examples/logrotate.d' \
	    '$(DESTDIR)$(docdir)/examples' '$(DESTDIR)$(docdir)' 2>/dev/null || true
endif
ifneq ($(logrotatedir),)
	$(call drop_if_ours,cat contrib/logrotate.d/ftpsd,$(DESTDIR)$(logrotatedir)/ftpsd)
endif
ifneq ($(xinetddir),)
	$(call drop_if_ours,$(SUBST_DIRS) contrib/xinetd.d/ftpsd.in,$(DESTDIR)$(xinetddir)/ftpsd)
endif
