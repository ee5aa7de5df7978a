#!/bin/sh
# Installs the Debian 12 packages ftpsd needs to build, test and demo, if
# any are missing. Idempotent and quick when everything is there. As a
# non-root user it only says what to install.
set -eu
PKGS="build-essential pkg-config libmbedtls-dev check python3 ca-certificates curl lftp openssl
gnutls-bin wget xinetd systemd procps iproute2 groff-base man-db clang-format"
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
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
