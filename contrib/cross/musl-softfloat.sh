#!/bin/sh
# Builds a soft-float musl for MIPS from Debian's source package and writes a
# compiler wrapper for it. Debian's musl-dev:mipsel is hard-float (it dies
# with SIGILL on an FPU-less 24Kc, the core of most MIPS routers) and there
# is no big-endian MIPS musl in Debian at all; OpenWrt builds MIPS
# soft-float.
#
#   sh contrib/cross/musl-softfloat.sh ARCH DIR
#
# ARCH is mipsel-sf or mips-sf; DIR (build-toolchain/ARCH) receives the
# source, the installed musl and DIR/bin/ARCH-musl-gcc. Needs deb-src and
# gcc-ARCH-linux-gnu (contrib/cross/install-toolchains.sh).
#
# A soft-float libc is not enough: Debian's cross libgcc is hard-float, its
# __adddf3 is one add.d instruction, and musl's printf calls it. So the
# soft-fp routines (the same sources libgcc uses on soft-float targets) are
# built from Debian's gcc-N-source package into libsoftfp.a, which the
# wrapper links before libgcc.
set -eu
# Called from `make cross ARCH=...`: the caller's command-line variables
# travel in MAKEFLAGS and would override musl's own ARCH (arch/mips-sf does
# not exist; musl's is mips with a -sf subarch).
unset MAKEFLAGS MFLAGS MAKELEVEL ARCH
arch=${1:?usage: musl-softfloat.sh mipsel-sf|mips-sf DIR}
dir=${2:?usage: musl-softfloat.sh mipsel-sf|mips-sf DIR}
case "$arch" in
mipsel-sf) triple=mipsel-linux-gnu ;;
mips-sf) triple=mips-linux-gnu ;;
*) echo "musl-softfloat: unknown ARCH $arch" >&2; exit 2 ;;
esac
command -v "$triple-gcc" >/dev/null ||
    { echo "musl-softfloat: $triple-gcc missing (sh contrib/cross/install-toolchains.sh)" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
prefix=$dir/musl
wrapper=$dir/bin/$arch-musl-gcc
[ -x "$wrapper" ] && [ -f "$prefix/lib/libc.a" ] && [ -f "$prefix/lib/libsoftfp.a" ] && exit 0

src=$(find "$dir/src" -maxdepth 1 -type d -name 'musl-*' 2>/dev/null | head -n 1)
if [ -z "$src" ]; then
    rm -rf "$dir/src" && mkdir -p "$dir/src"
    # apt-get source runs as whoever calls it and only needs the deb-src
    # index; it verifies the .dsc signature.
    (cd "$dir/src" && apt-get source -qq musl >/dev/null) ||
        { echo "musl-softfloat: apt-get source musl failed (deb-src enabled?)" >&2; exit 1; }
    src=$(find "$dir/src" -maxdepth 1 -type d -name 'musl-*' | head -n 1)
fi
if [ ! -f "$prefix/lib/libc.a" ]; then (
cd "$src"
# -msoft-float on CC selects musl's mips-sf subarch (its configure tests
# for __mips_soft_float), so the library has no FPU instruction either.
CC="$triple-gcc -msoft-float" CROSS_COMPILE="$triple-" ./configure --target="$triple" \
    --prefix="$prefix" --syslibdir="$prefix/lib" --disable-shared --enable-wrapper=gcc >/dev/null
make -s -j2 >/dev/null
make -s install >/dev/null
) fi

# The soft-fp sources: from the gcc-N-source package matching the cross
# compiler (83 MB download, once for both MIPS variants).
if [ ! -f "$prefix/lib/libsoftfp.a" ]; then
    v=$("$triple-gcc" -dumpversion | cut -d. -f1)
    fp=$(dirname "$dir")/gcc-$v-softfp
    if [ ! -f "$fp/include/longlong.h" ]; then
        rm -rf "$fp.tmp" && mkdir -p "$fp.tmp"
        (cd "$fp.tmp" && apt-get download -qq "gcc-$v-source" >/dev/null) ||
            { echo "musl-softfloat: apt-get download gcc-$v-source failed" >&2; exit 1; }
        # Only the soft-fp directory, the MIPS machine header and longlong.h.
        dpkg-deb --fsys-tarfile "$fp.tmp"/gcc-"$v"-source_*.deb |
            tar -xO --wildcards "./usr/src/gcc-$v/gcc-*.tar.xz" |
            tar -xJ -C "$fp.tmp" --strip-components=1 --wildcards '*/libgcc/soft-fp/*' \
                '*/libgcc/config/mips/sfp-machine.h' '*/include/longlong.h'
        rm -f "$fp.tmp"/*.deb
        rm -rf "$fp" && mv "$fp.tmp" "$fp"
    fi
    obj=$dir/softfp-obj
    rm -rf "$obj" && mkdir -p "$obj"
    # libgcc's t-softfp list for modes sf df and integer modes si di.
    funcs="extendsfdf2 truncdfsf2"
    for m in sf df; do
        for f in add div mul sub; do funcs="$funcs $f${m}3"; done
        for f in eq ge le neg unord; do funcs="$funcs $f${m}2"; done
        for i in si di; do funcs="$funcs fix$m$i fixuns$m$i float$i$m floatun$i$m"; done
    done
    for f in $funcs; do
        "$triple-gcc" -msoft-float -O2 -fPIE -fno-stack-protector -ffunction-sections \
            -I "$fp/libgcc/soft-fp" -I "$fp/libgcc/config/mips" -I "$fp/include" \
            -c -o "$obj/$f.o" "$fp/libgcc/soft-fp/$f.c"
    done
    "$triple-ar" rcs "$prefix/lib/libsoftfp.a" "$obj"/*.o
    # Before libgcc.a: the first archive that defines __adddf3 wins.
    sed -i "/^\*libgcc:/{n;s|^|$prefix/lib/libsoftfp.a |}" "$prefix/lib/musl-gcc.specs"
fi
mkdir -p "$dir/bin"
# --no-warn-mismatch: ld warns that crtbegin and libgcc's integer helpers
# (__divdi3) are tagged hard-float; they hold no FPU instruction, and
# `make cross` checks the linked binary for any (objdump).
cat >"$wrapper.tmp" <<EOW
#!/bin/sh
exec $triple-gcc -msoft-float "\$@" -Wl,--no-warn-mismatch -specs "$prefix/lib/musl-gcc.specs"
EOW
chmod 755 "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"
echo "musl-softfloat: $wrapper"
