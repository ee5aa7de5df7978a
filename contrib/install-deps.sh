#!/bin/sh
# Installs the Debian 12 packages ftpsd needs to build, test and demo, if
# any are missing. Idempotent and quick when everything is there. As a
# non-root user it only says what to install.
set -eu
# fail2ban, logrotate, python3-systemd and systemd-journal-remote: the tests
# of contrib/fail2ban (fail2ban-regex, a fail2ban-server with a dummy action,
# a journal file read through fail2ban's systemd backend) and
# contrib/logrotate.d. fail2ban is a test tool here, not a service: when this
# script installs it, it stops and disables the fail2ban service that the
# package enables, so that `make check` never starts banning on a machine.
PKGS="build-essential pkg-config libmbedtls-dev check python3 ca-certificates curl lftp openssl
gnutls-bin wget xinetd systemd procps iproute2 groff-base man-db clang-format
fail2ban logrotate python3-systemd systemd-journal-remote"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "ftpsd: missing Debian packages:$missing" >&2
    echo "ftpsd: run: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "ftpsd: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Other apt users on the machine (parallel builds) hold the lock for a while.
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
case " $missing " in
*" fail2ban "*)
    echo "ftpsd: fail2ban is for the tests: its service is stopped and disabled" >&2
    fail2ban-client stop >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then
        systemctl stop fail2ban.service >/dev/null 2>&1 || true
    fi
    # Both the init script and the unit (systemctl works offline for this).
    update-rc.d fail2ban disable >/dev/null 2>&1 || true
    ;;
esac
