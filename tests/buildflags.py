#!/usr/bin/env python3
"""Distribution builds keep the project's flags and the binary's hardening.

Builds the tree into temporary directories the way packagers call make, and
reads each result back:
  openwrt-cmdline  make CFLAGS="-Os -pipe -D_FORTIFY_SOURCE=1" (OpenWrt's
                   package builds pass their flags on the command line)
  openwrt-env      the same CFLAGS through the environment
  debian           CFLAGS/CPPFLAGS/LDFLAGS from `dpkg-buildflags --get`, in
                   the environment as debhelper exports them, hardening=+all,
                   STATIC_MBEDTLS=0 as a Debian package links mbed TLS
  project          plain `make`: the project's own flags and FORTIFY level
From the compile and link commands make printed: -std=c11, the warnings,
-D_GNU_SOURCE, the hardening options, -fPIE/-pie and --gc-sections are
there; -Werror only where the project's own build asked for it; exactly one
_FORTIFY_SOURCE definition, the caller's when they set one. From the ELF
(readelf): a PIE (type DYN, FLAGS_1 PIE), full RELRO (GNU_RELRO and
BIND_NOW), __stack_chk_fail and *_chk (FORTIFY) calls, and in every object
of ours the CET property (IBT, SHSTK) when -fcf-protection was probed in.
Then two one-object compiles with -Werror: a compiler that predefines
_FORTIFY_SOURCE (as Ubuntu's does) and -O0 (where glibc warns that FORTIFY
needs optimisation) must not fail.

  python3 tests/buildflags.py          (make check-buildflags)

Exit status 1 on any finding. About 2-4 minutes on 2 cores (four builds).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FINDINGS = []
CET_LINKABLE = False
MAKE = ["nice", "-n", "10", "make", "--no-print-directory", "-C", ROOT, "-j2"]
OPENWRT_CFLAGS = "-Os -pipe -D_FORTIFY_SOURCE=1"
OWN_CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wformat=2", "-Wshadow", "-D_GNU_SOURCE",
              "-D_FILE_OFFSET_BITS=64", "-fstack-protector-strong", "-fPIE", "-ffunction-sections"]
OWN_LDFLAGS = ["-pie", "-Wl,-z,relro,-z,now", "-Wl,--gc-sections"]
CC = os.environ.get("CC", "cc")


def finding(build, text):
    FINDINGS.append("%s: %s" % (build, text))
    print("buildflags: FAIL %s: %s" % (build, text), flush=True)


def run(cmd, env=None):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


def clean_env(**extra):
    """The caller's environment without any flags of its own: each case
    says exactly what the packager passes."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CFLAGS", "CPPFLAGS", "LDFLAGS", "WERROR", "MAKEFLAGS", "MFLAGS",
                        "MAKEOVERRIDES", "MAKELEVEL")}
    env.update(extra)
    return env


def probed(option):
    r = run(CC.split() + ["-Werror", option, "-x", "c", "-c", "-o", os.devnull, os.devnull])
    return r.returncode == 0


def fortify3_expected():
    """glibc >= 2.34 and a compiler with __builtin_dynamic_object_size."""
    src = ("#include <features.h>\n#if !defined __GLIBC__ || "
           "__GLIBC__ * 1000 + __GLIBC_MINOR__ < 2034 || !defined __has_builtin\n#error\n"
           "#elif !__has_builtin(__builtin_dynamic_object_size)\n#error\n#endif\n")
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, "-E", "-x", "c", "-o", os.devnull, "-"], input=src, text=True,
                       capture_output=True, timeout=60)
    return r.returncode == 0


def cet_linkable(tmp):
    """True if this toolchain can mark a linked program IBT/SHSTK at all:
    Debian 12's own crt1.o, crti.o and crtn.o lack the property, so no
    program linked here has it whatever its objects have."""
    cc = os.environ.get("CC", "cc")
    src = os.path.join(tmp, "cet.c")
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    exe = os.path.join(tmp, "cet")
    r = run([cc, "-fcf-protection", "-o", exe, src])
    return r.returncode == 0 and "IBT, SHSTK" in readelf("-n", exe)


def check_flags(name, output, want_werror, fortify):
    """The compile and link commands make printed for this build."""
    lines = [l.split() for l in output.splitlines() if l.startswith(CC.split()[0] + " ")]
    compiles = [w for w in lines if "-c" in w]
    links = [w for w in lines if "-c" not in w and "-o" in w and
             w[w.index("-o") + 1].endswith("/ftpsd-inetd")]
    if not compiles or len(links) != 1:
        finding(name, "no compile or link command in make's output")
        return
    for words in compiles:
        obj = words[words.index("-o") + 1]
        for w in OWN_CFLAGS:
            if w not in words:
                finding(name, "%s: the project's %s is missing" % (obj, w))
        for opt in ("-fstack-clash-protection", "-fcf-protection"):
            if probed(opt) and opt not in words:
                finding(name, "%s: %s is supported by the compiler but missing" % (obj, opt))
        if ("-Werror" in words) != want_werror:
            finding(name, "%s: -Werror %s" % (obj, "missing" if want_werror
                                              else "present in a packager's build"))
        defs = [w for w in words if w.startswith("-D_FORTIFY_SOURCE")]
        if defs != [fortify]:
            finding(name, "%s: _FORTIFY_SOURCE definitions %s, expected exactly [%s]"
                    % (obj, defs, fortify))
    for w in OWN_LDFLAGS:
        if w not in links[0]:
            finding(name, "link: the project's %s is missing" % w)


def readelf(*args):
    r = run(["readelf", "-W"] + list(args))
    return r.stdout if r.returncode == 0 else ""


def check_elf(name, binary, objdir, want_cet_binary):
    if not os.path.exists(binary):
        finding(name, "no binary at %s" % binary)
        return
    if "DYN (Position-Independent Executable" not in readelf("-h", binary):
        finding(name, "not a PIE (ELF type is not DYN)")
    dyn = readelf("-d", binary)
    if not re.search(r"\(FLAGS_1\)\s+Flags:.*\bPIE\b", dyn):
        finding(name, "FLAGS_1 has no PIE")
    if not re.search(r"\(FLAGS\)\s+.*BIND_NOW", dyn) and not re.search(r"FLAGS_1.*\bNOW\b", dyn):
        finding(name, "no BIND_NOW: RELRO is partial")
    if "GNU_RELRO" not in readelf("-l", binary):
        finding(name, "no GNU_RELRO segment")
    syms = readelf("--dyn-syms", binary)
    if "__stack_chk_fail" not in syms:
        finding(name, "no __stack_chk_fail: no stack protector")
    chk = sorted(set(re.findall(r"\b(__\w+_chk)\b", syms)) - {"__stack_chk_fail"})
    if len(chk) < 3:
        finding(name, "FORTIFY: only %s among the dynamic symbols" % chk)
    if probed("-fcf-protection"):
        ours = sorted(f for f in os.listdir(objdir) if f.endswith(".o"))
        bare = [f for f in ours if "IBT, SHSTK" not in readelf("-n", os.path.join(objdir, f))]
        if not ours or bare:
            finding(name, "objects without the CET property (-fcf-protection): %s" % bare[:5])
        if want_cet_binary and CET_LINKABLE and "IBT, SHSTK" not in readelf("-n", binary):
            finding(name, "the linked binary lost the CET property")
    print("buildflags: %s: %d *_chk symbols (%s...)" % (name, len(chk), " ".join(chk[:4])),
          flush=True)


def build(name, tmp, args, env, want_werror, fortify, want_cet_binary=False):
    out = os.path.join(tmp, name)
    t0 = time.time()
    r = run(MAKE + ["BUILD=" + out] + args + ["all"], env=env)
    print("buildflags: %s built in %.0f s" % (name, time.time() - t0), flush=True)
    if r.returncode != 0:
        finding(name, "the build failed:\n" + (r.stdout + r.stderr)[-3000:])
        return
    check_flags(name, r.stdout, want_werror, fortify)
    check_elf(name, os.path.join(out, "ftpsd-inetd"), out, want_cet_binary)


def one_object(name, tmp, args):
    """One object compiled with -Werror under unusual FORTIFY conditions."""
    out = os.path.join(tmp, name)
    r = run(MAKE + ["BUILD=" + out, "WERROR=-Werror"] + args + [os.path.join(out, "log.o")],
            env=clean_env())
    if r.returncode != 0:
        finding(name, "the compile failed:\n" + (r.stdout + r.stderr)[-2000:])


def dpkg_flags():
    env = clean_env(DEB_BUILD_MAINT_OPTIONS="hardening=+all")
    flags = {}
    for var in ("CFLAGS", "CPPFLAGS", "LDFLAGS"):
        r = run(["dpkg-buildflags", "--get", var], env=env)
        if r.returncode != 0:
            return None
        flags[var] = r.stdout.strip()
    return flags


def main():
    for tool in ("readelf", "make"):
        if not shutil.which(tool):
            print("buildflags: %s not found" % tool)
            return 1
    own_level = "-D_FORTIFY_SOURCE=%d" % (3 if fortify3_expected() else 2)
    tmp = tempfile.mkdtemp(prefix="ftpsd-buildflags-")
    global CET_LINKABLE
    try:
        CET_LINKABLE = cet_linkable(tmp)
        if not CET_LINKABLE:
            print("buildflags: this C library's start files have no CET property: "
                  "the linked binary's is not checked (the objects' are)", flush=True)
        build("openwrt-cmdline", tmp, ["CFLAGS=" + OPENWRT_CFLAGS], clean_env(), False,
              "-D_FORTIFY_SOURCE=1")
        build("openwrt-env", tmp, [], clean_env(CFLAGS=OPENWRT_CFLAGS), False,
              "-D_FORTIFY_SOURCE=1")
        deb = dpkg_flags()
        if deb is None:
            finding("debian", "dpkg-buildflags failed (apt-get install dpkg-dev)")
        else:
            print("buildflags: dpkg-buildflags: %s" % deb, flush=True)
            m = re.findall(r"-D_FORTIFY_SOURCE=\d", deb["CPPFLAGS"] + " " + deb["CFLAGS"])
            build("debian", tmp, ["STATIC_MBEDTLS=0"], clean_env(**deb), False,
                  m[-1] if m else own_level, want_cet_binary=True)
        build("project", tmp, [], clean_env(), True, own_level)
        one_object("cc-predefines-fortify", tmp, ["CC=cc -D_FORTIFY_SOURCE=2"])
        one_object("O0", tmp, ["CFLAGS=-O0 -g"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FINDINGS:
        print("buildflags: %d finding(s)" % len(FINDINGS))
        return 1
    print("buildflags: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
