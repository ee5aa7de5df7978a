#!/bin/sh
# Builds BusyBox's inetd applet alone from Debian's source package, for the
# end-to-end suite under the super-server routers run (Debian's busybox
# binary package has no inetd). Leaves OUT/busybox; run it as
# `OUT/busybox inetd`. Idempotent: an existing OUT/busybox is kept.
#
#   sh tests/busybox/build.sh OUT
#
# Needs deb-src in the apt sources (this script adds it, as root) and
# dpkg-dev. About a minute on 2 cores, most of it Kconfig and the build.
set -eu
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -x "$out/busybox" ] && exit 0

if ! ls "$out"/busybox_*.dsc >/dev/null 2>&1; then
    src=/etc/apt/sources.list.d/debian.sources
    if [ -f "$src" ] && ! grep -q '^Types:.*deb-src' "$src"; then
        [ "$(id -u)" = 0 ] || { echo "build.sh: add deb-src to $src (needs root)" >&2; exit 1; }
        sed -i 's/^Types: deb$/Types: deb deb-src/' "$src"
        apt-get -o DPkg::Lock::Timeout=600 update -qq
    fi
    command -v dpkg-source >/dev/null || \
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends dpkg-dev >/dev/null
    (cd "$out" && apt-get source --download-only busybox >/dev/null 2>&1) || \
        (cd "$out" && apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get source --download-only busybox)
fi
rm -rf "$out/src"
(cd "$out" && dpkg-source -x busybox_*.dsc src >/dev/null)
cd "$out/src"
make -s allnoconfig >/dev/null
# Only inetd (and IPv6, for the [::1] tests), none of its built-in toy
# services: the suite tests ftpsd, not BusyBox.
for opt in INETD FEATURE_IPV6 LFS; do
    sed -i "s/^# CONFIG_$opt is not set\$/CONFIG_$opt=y/" .config
done
yes '' | make -s oldconfig >/dev/null 2>&1
for opt in FEATURE_INETD_SUPPORT_BUILTIN_ECHO FEATURE_INETD_SUPPORT_BUILTIN_DISCARD \
    FEATURE_INETD_SUPPORT_BUILTIN_TIME FEATURE_INETD_SUPPORT_BUILTIN_DAYTIME \
    FEATURE_INETD_SUPPORT_BUILTIN_CHARGEN FEATURE_INETD_RPC; do
    sed -i "s/^CONFIG_$opt=y\$/# CONFIG_$opt is not set/" .config
done
# allnoconfig still picks ash for the "sh is" choice: none.
sed -i -e 's/^CONFIG_SH_IS_ASH=y$/# CONFIG_SH_IS_ASH is not set/' \
    -e 's/^# CONFIG_SH_IS_NONE is not set$/CONFIG_SH_IS_NONE=y/' \
    -e 's/^CONFIG_SHELL_ASH=y$/# CONFIG_SHELL_ASH is not set/' .config
yes '' | make -s oldconfig >/dev/null 2>&1
grep -q '^CONFIG_INETD=y' .config || { echo "build.sh: CONFIG_INETD did not stick" >&2; exit 1; }
nice -n 10 make -s -j2 busybox >/dev/null 2>make.log || { tail -20 make.log >&2; exit 1; }
# Without the usage texts `inetd --help` only says "invalid option"; an
# applet that is not there says "applet not found".
if ./busybox inetd --help 2>&1 | grep -q 'applet not found'; then
    echo "build.sh: no inetd applet in the build" >&2
    exit 1
fi
cp busybox "$out/busybox.tmp" && mv "$out/busybox.tmp" "$out/busybox"
# Called as `busybox inetd` this configuration (no busybox applet) would take
# "inetd" for its config file: the applet is run through its own name.
ln -sf busybox "$out/inetd"
