#!/bin/sh
# Installs the Debian 12 packages `make cross` and `make check-cross` need:
# the GNU cross compilers (the soft-float musl for MIPS is built with them),
# Debian's musl wrappers for armhf and arm64, qemu-user, and the deb-src
# entries `apt-get source musl` needs. Idempotent and quick when everything
# is there; as a non-root user it only says what to run.
set -eu
ARCHS="mipsel armhf arm64"
PKGS="gcc-mipsel-linux-gnu gcc-mips-linux-gnu gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu
libc6-dev-mipsel-cross libc6-dev-mips-cross libc6-dev-armhf-cross libc6-dev-arm64-cross
musl-dev:mipsel musl-dev:armhf musl-dev:arm64 qemu-user-static musl-tools dpkg-dev make"
SOURCES=/etc/apt/sources.list.d/debian.sources

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
# apt-get source needs deb-src; Debian 12's default deb822 file lacks it.
need_src=0
if [ -f "$SOURCES" ] && ! grep -q '^Types:.*deb-src' "$SOURCES"; then
    need_src=1
fi
[ -z "$missing" ] && [ "$need_src" = 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "ftpsd: cross toolchains missing:$missing" >&2
    echo "ftpsd: run as root: sh contrib/cross/install-toolchains.sh" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
for a in $ARCHS; do
    dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
done
if [ "$need_src" = 1 ]; then
    sed -i 's/^Types: deb$/Types: deb deb-src/' "$SOURCES"
fi
echo "ftpsd: installing$missing" >&2
# Other apt users on the machine (parallel builds) hold the lock for a while.
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
[ -z "$missing" ] || apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
