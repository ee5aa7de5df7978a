"""The OpenWrt package (contrib/openwrt/ftpsd) without the SDK.

The SDK cannot be fetched here, so what it would run is replayed from the
package Makefile itself: its `define ... endef` blocks are expanded with
OpenWrt's definitions of the variables they use (rules.mk: INSTALL_DIR,
INSTALL_BIN, INSTALL_DATA, INSTALL_CONF, CP) and any other variable fails
the test, so a block that needs something the replay does not know cannot
pass unnoticed. Build/Prepare and Build/Compile run as a dry run (make -n)
with an SDK-like environment; Package/ftpsd/install runs for real into a
DESTDIR with this tree's binary; the first-boot script (uci-defaults) then
runs against that DESTDIR (IPKG_INSTROOT), as opkg's postinst would.
"""
import os
import re
import shutil
import subprocess
import tempfile

from ftpsdtest import (BIN, IS_ROOT, RUN_AS, SUPERSERVER, BUSYBOX_INETD, WRAPPER, Skip, check,
                       cmd, free_port, hash_password, native_only, insecure_context, ReusingFTP_TLS, test, which)
from svcfiles import REPO, service_files

PKG = os.path.join(REPO, "contrib", "openwrt", "ftpsd")
# OpenWrt's rules.mk.
OPENWRT_VARS = {
    "INSTALL_DIR": "install -d -m0755",
    "INSTALL_BIN": "install -m0755",
    "INSTALL_DATA": "install -m0644",
    "INSTALL_CONF": "install -m0600",
    "CP": "cp -fpR",
}


def makefile():
    with open(os.path.join(PKG, "Makefile")) as f:
        return f.read()


def blocks(text):
    """{name: [lines]} of the `define NAME ... endef` blocks."""
    out = {}
    for m in re.finditer(r"^define (\S+)\n(.*?)^endef$", text, re.S | re.M):
        out[m.group(1)] = m.group(2).splitlines()
    return out


def assignments(text):
    return dict(re.findall(r"^([A-Z_]+)\s*:=\s*(.*)$", text, re.M))


def recipe(lines, values):
    """Shell commands of a make recipe block, variables expanded from
    values; a variable not in values is an error."""
    joined = "\n".join(lines).replace("\\\n", " ")
    cmds = []
    for line in joined.splitlines():
        line = line.strip()
        if not line:
            continue
        line = line.lstrip("+@-").strip()

        def sub(m):
            name = m.group(1)
            check(name in values, "the recipe uses $(%s), which the replay does not know: %r"
                  % (name, line))
            return values[name]
        cmds.append(re.sub(r"\$\(([^)]+)\)", sub, line))
    return cmds


def sh(cmd, cwd, env=None, timeout=120):
    r = subprocess.run(["sh", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    check(r.returncode == 0, "%s failed:\n%s%s" % (cmd, r.stdout, r.stderr))
    return r.stdout


@test
def test_openwrt_package_makefile_conventions():
    text = makefile()
    code = [l for l in text.splitlines() if l.strip() and not l.startswith("#")]
    check(code[0] == "include $(TOPDIR)/rules.mk", code[0])
    check(code[-1] == "$(eval $(call BuildPackage,ftpsd))", code[-1])
    check("include $(INCLUDE_DIR)/package.mk" in code, "no package.mk")
    a = assignments(text)
    check(a.get("PKG_NAME") == "ftpsd", a)
    check(a.get("PKG_RELEASE", "").isdigit(), a)
    v = subprocess.run(cmd("-V"), capture_output=True, text=True, timeout=30).stdout
    check(v.split()[1] == a.get("PKG_VERSION"), "PKG_VERSION %r, the binary says %r"
          % (a.get("PKG_VERSION"), v))
    b = blocks(text)
    pkg = dict(re.findall(r"^\s+([A-Z]+):=(.*)$", "\n".join(b["Package/ftpsd"]), re.M))
    check(pkg.get("SECTION") == "net" and pkg.get("CATEGORY") == "Network" and
          pkg.get("SUBMENU") == "File Transfer", pkg)
    check("+libmbedtls" in pkg.get("DEPENDS", "").split(), pkg)
    conf = [l.strip() for l in b["Package/ftpsd/conffiles"] if l.strip()]
    check("/etc/ftpsd/" in conf, conf)
    for name in ("Package/ftpsd/description", "Build/Compile", "Package/ftpsd/install"):
        check(name in b, "no %s block" % name)
    compile_text = " ".join(b["Build/Compile"])
    for want in ("$(MAKE_VARS)", "$(MAKE_FLAGS)", "STATIC_MBEDTLS=0", "service-files",
                 "PREFIX=/usr"):
        check(want in compile_text, "Build/Compile lacks %s" % want)


def sdk_env():
    """The environment an SDK build has: under `make check` (or `make
    check-mbedtls36`) the parent make's command-line variables (WERROR,
    MBEDTLS_SRC, ...) are in ours, and not in an SDK's."""
    drop = ("CFLAGS", "CPPFLAGS", "LDFLAGS", "WERROR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL",
            "MAKEOVERRIDES", "MBEDTLS_SRC", "MBEDTLS_CONFIG", "SANITIZE", "BUILD", "STATIC_MBEDTLS")
    return {k: v for k, v in os.environ.items() if k not in drop}


@test
def test_openwrt_build_steps_dry_run():
    """Build/Prepare copies what the tree's Makefile needs; Build/Compile's
    make, with OpenWrt's kind of flags in the environment, keeps the
    project's flags, has no -Werror, the caller's FORTIFY level only, and
    links mbed TLS as shared libraries."""
    b = blocks(makefile())
    d = tempfile.mkdtemp(prefix="ftpsd-openwrt-build-")
    try:
        build = os.path.join(d, "ftpsd-0.1.0")
        values = {"PKG_BUILD_DIR": build, "FTPSD_SRC": REPO, "CP": OPENWRT_VARS["CP"]}
        for cmd in recipe(b["Build/Prepare"], values):
            sh(cmd, PKG)
        out = subprocess.run(["make", "-s", "-C", build, "-n", "all"], capture_output=True,
                             text=True, timeout=60, env=sdk_env())
        check(out.returncode == 0 and "ftpsd-inetd" in out.stdout,
              "the prepared tree does not build: %s" % out.stderr[-2000:])
        values.update({
            "MAKE_VARS": 'CFLAGS="-Os -pipe -fno-caller-saves -fhonour-copts '
                         '-D_FORTIFY_SOURCE=1" CXXFLAGS="-Os" '
                         'LDFLAGS="-L/staging/usr/lib -znow -zrelro"',
            "TARGET_CPPFLAGS": "-I/staging/usr/include", "EXTRA_CPPFLAGS": "",
            "MAKE": "make -n", "PKG_JOBS": "-j1",
            "MAKE_FLAGS": 'CC="cc" CROSS="" ARCH="x86_64"',
        })
        printed = "".join(sh(cmd, PKG, env=sdk_env()) for cmd in recipe(b["Build/Compile"], values))
        cc = [l for l in printed.splitlines() if l.startswith("cc ") and " -c " in l]
        link = [l for l in printed.splitlines() if l.startswith("cc ") and "-o " in l
                and l.rstrip().endswith(("-lmbedcrypto", "-lmbedcrypto -Wl,-Bdynamic"))]
        check(cc and link, "no compile or link line in:\n" + printed[-3000:])
        for line in cc:
            w = line.split()
            for flag in ("-std=c11", "-Wall", "-Wextra", "-fstack-protector-strong", "-fPIE",
                         "-Os", "-fhonour-copts", "-I/staging/usr/include", "-D_GNU_SOURCE"):
                check(flag in w, "%s missing: %s" % (flag, line))
            check("-Werror" not in w, "-Werror in a packager's build: " + line)
            check([x for x in w if x.startswith("-D_FORTIFY_SOURCE")] == ["-D_FORTIFY_SOURCE=1"],
                  line)
            check(w.index("-Os") > w.index("-std=c11"), "the SDK's -O must come last: " + line)
        check("-Bstatic" not in link[0] and "-pie" in link[0].split() and
              "-L/staging/usr/lib" in link[0], link[0])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def install_package(destdir):
    """Package/ftpsd/install into destdir, from a build directory holding
    this tree's binary and `make service-files PREFIX=/usr`."""
    b = blocks(makefile())
    build = os.path.join(destdir + ".build")
    os.makedirs(os.path.join(build, "contrib"))
    shutil.copy(BIN, os.path.join(build, "ftpsd-inetd"))
    shutil.copy(os.path.join(REPO, "contrib", "policy.example"), os.path.join(build, "contrib"))
    shutil.copytree(service_files("/usr", "/etc"), os.path.join(build, "service-files"))
    values = dict(OPENWRT_VARS, PKG_BUILD_DIR=build)
    values["1"] = destdir
    for cmd in recipe(b["Package/ftpsd/install"], values):
        sh(cmd, PKG)


def tree(root):
    out = {}
    for base, dirs, files in os.walk(root):
        for n in files:
            p = os.path.join(base, n)
            out["/" + os.path.relpath(p, root)] = os.stat(p).st_mode & 0o7777
    return out


@test
def test_openwrt_install_step_into_destdir():
    d = tempfile.mkdtemp(prefix="ftpsd-openwrt-")
    try:
        dest = os.path.join(d, "root")
        install_package(dest)
        got = tree(dest)
        want = {"/usr/sbin/ftpsd-inetd": 0o755, "/usr/sbin/ftpsd-keygen": 0o755,
                "/etc/ftpsd/policy.example": 0o644, "/etc/xinetd.d/ftpsd": 0o644,
                "/etc/uci-defaults/90-ftpsd": 0o755, "/usr/share/ftpsd/inetd.conf": 0o644}
        check(got == want, "installed %s, expected %s"
              % (sorted(got.items()), sorted(want.items())))
        conf = [l.strip() for l in blocks(makefile())["Package/ftpsd/conffiles"] if l.strip()]
        for path in got:
            if path.startswith("/etc/") and not path.startswith("/etc/uci-defaults/"):
                check(any(path == c or (c.endswith("/") and path.startswith(c)) for c in conf),
                      "%s is not a conffile: an upgrade would replace the admin's copy" % path)
        with open(os.path.join(dest, "etc/xinetd.d/ftpsd")) as f:
            x = f.read()
        for want_line in (r"disable\s*=\s*yes", r"server\s*=\s*/usr/sbin/ftpsd-inetd\n",
                          r"server_args\s*=\s*-f /etc/ftpsd/policy\n"):
            check(re.search(want_line, x), "xinetd service lacks %s" % want_line)
        with open(os.path.join(dest, "usr/share/ftpsd/inetd.conf")) as f:
            lines = [l.split() for l in f if l.strip() and not l.startswith("#")]
        check(lines == [["ftp", "stream", "tcp", "nowait", "root", "/usr/sbin/ftpsd-inetd",
                         "ftpsd-inetd", "-f", "/etc/ftpsd/policy"]], lines)
        r = subprocess.run(WRAPPER + [os.path.join(dest, "usr/sbin/ftpsd-inetd"), "-V"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and r.stdout.startswith("ftpsd-inetd "), r)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def first_boot(dest):
    """The uci-defaults script as OpenWrt runs it, rooted at dest."""
    env = dict(os.environ, IPKG_INSTROOT=dest, PATH=os.environ.get("PATH", "/usr/bin:/bin"))
    return subprocess.run(["sh", os.path.join(dest, "etc/uci-defaults/90-ftpsd")], env=env,
                          capture_output=True, text=True, timeout=60)


def keygen(dest, *args):
    env = dict(os.environ, IPKG_INSTROOT=dest)
    return subprocess.run(["sh", os.path.join(dest, "usr/sbin/ftpsd-keygen")] + list(args),
                          env=env, capture_output=True, text=True, timeout=60)


@test
def test_openwrt_first_boot_makes_the_key_once():
    native_only("the first-boot script runs the installed binary itself (no binfmt_misc here)")
    d = tempfile.mkdtemp(prefix="ftpsd-openwrt-key-")
    try:
        dest = os.path.join(d, "root")
        install_package(dest)
        key = os.path.join(dest, "etc/ftpsd/server.key")
        crt = os.path.join(dest, "etc/ftpsd/server.crt")
        r = first_boot(dest)
        check(r.returncode == 0 and os.path.exists(key) and os.path.exists(crt), r)
        st = os.stat(key)
        check(st.st_mode & 0o777 == 0o600, "key mode %o" % (st.st_mode & 0o777))
        check(st.st_uid == os.geteuid(), "key owner %d" % st.st_uid)
        check("fingerprint sha256:" in r.stderr, r.stderr)
        check(sorted(os.listdir(os.path.dirname(key))) ==
              ["policy.example", "server.crt", "server.key"],
              "temporary files left: %s" % os.listdir(os.path.dirname(key)))
        # The pair works: -t accepts a policy that uses it.
        policy = os.path.join(dest, "etc/ftpsd/policy")
        with open(policy, "w") as f:
            f.write("cert %s\nkey %s\nuser alice password=%s root=/ access=r\n%s"
                    % (crt, key, hash_password("pw"), "run-as %s\n" % RUN_AS if IS_ROOT else ""))
        os.chmod(policy, 0o600)
        t = subprocess.run(cmd("-t", "-f", policy), capture_output=True, text=True, timeout=30)
        check(t.returncode == 0, t.stderr)
        # Twice: nothing regenerated.
        with open(key, "rb") as f:
            before = f.read()
        mtime = os.stat(key).st_mtime_ns
        r2 = first_boot(dest)
        check(r2.returncode == 0, r2)
        with open(key, "rb") as f:
            check(f.read() == before and os.stat(key).st_mtime_ns == mtime,
                  "the second run replaced the key")
        # A key left readable by others is made 0600, not replaced.
        os.chmod(key, 0o644)
        check(keygen(dest).returncode == 0)
        check(os.stat(key).st_mode & 0o777 == 0o600, "mode not repaired")
        with open(key, "rb") as f:
            check(f.read() == before, "a mode repair replaced the key")
        # An empty key counts as missing (an interrupted first boot).
        open(key, "w").close()
        r3 = keygen(dest, "router.lan")
        check(r3.returncode == 0 and os.path.getsize(key) > 0 and "router.lan" in r3.stderr, r3)
        check(os.path.exists(crt + ".old"), "the previous certificate was not kept")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def test_openwrt_keygen_refuses_what_is_not_roots():
    if not IS_ROOT:
        raise Skip("needs root (a key owned by another account)")
    import pwd
    nobody = pwd.getpwnam(RUN_AS)
    d = tempfile.mkdtemp(prefix="ftpsd-openwrt-own-")
    try:
        dest = os.path.join(d, "root")
        install_package(dest)
        key = os.path.join(dest, "etc/ftpsd/server.key")
        # Another account's key: not used, not changed, not replaced.
        with open(key, "w") as f:
            f.write("not a key of root's\n")
        os.chown(key, nobody.pw_uid, nobody.pw_gid)
        os.chmod(key, 0o644)
        r = keygen(dest)
        check(r.returncode == 1 and "belongs to uid" in r.stderr, r)
        st = os.stat(key)
        check(st.st_uid == nobody.pw_uid and st.st_mode & 0o777 == 0o644, "the key was changed")
        os.unlink(key)
        # A symbolic link planted as the key.
        os.symlink("/etc/shadow", key)
        r = keygen(dest)
        check(r.returncode == 1 and "symbolic link" in r.stderr, r)
        os.unlink(key)
        # A directory others can write (temporary names could be planted).
        os.chmod(os.path.dirname(key), 0o777)
        r = keygen(dest)
        check(r.returncode == 1 and not os.path.exists(key), r)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def test_openwrt_inetd_line_serves_under_busybox():
    """The package's inetd.conf line, with only the port and the paths
    rewritten to the DESTDIR, run by BusyBox inetd: a TLS login with the
    certificate the first boot made."""
    native_only("the first-boot script and the package's inetd line run the installed binary "
                "itself (no binfmt_misc here)")
    if not os.access(BUSYBOX_INETD, os.X_OK):
        raise Skip("BusyBox inetd not built (make check-busybox builds it)")
    d = tempfile.mkdtemp(prefix="ftpsd-openwrt-bb-")
    os.chmod(d, 0o755)
    proc = None
    try:
        dest = os.path.join(d, "root")
        install_package(dest)
        check(first_boot(dest).returncode == 0)
        etc = os.path.join(dest, "etc/ftpsd")
        pub = os.path.join(d, "pub")
        os.mkdir(pub)
        with open(os.path.join(pub, "hello.txt"), "w") as f:
            f.write("hello router\n")
        policy = os.path.join(etc, "policy")
        with open(policy, "w") as f:
            f.write("log syslog\ncert %s/server.crt\nkey %s/server.key\n" % (etc, etc))
            if IS_ROOT:
                f.write("run-as %s\nchroot %s\n" % (RUN_AS, pub))
                f.write("user alice password=%s root=/ access=r\n" % hash_password("pw"))
            else:
                f.write("user alice password=%s root=%s access=r\n" % (hash_password("pw"), pub))
        os.chmod(policy, 0o600)
        with open(os.path.join(dest, "usr/share/ftpsd/inetd.conf")) as f:
            line = [l for l in f if l.strip() and not l.startswith("#")][0]
        port = free_port()
        line = line.replace("/usr/sbin/", dest + "/usr/sbin/").replace("/etc/ftpsd/", etc + "/")
        fields = line.split()
        fields[0] = "127.0.0.1:%d" % port
        if not IS_ROOT:
            import pwd
            fields[4] = pwd.getpwuid(os.geteuid()).pw_name
        conf = os.path.join(d, "inetd.conf")
        with open(conf, "w") as f:
            f.write(" ".join(fields) + "\n")
        log = open(os.path.join(d, "inetd.log"), "ab")
        proc = subprocess.Popen([BUSYBOX_INETD, "-f", "-e", conf], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True)
        log.close()
        import time
        deadline = time.time() + 5
        f = None
        while time.time() < deadline:
            try:
                f = ReusingFTP_TLS(context=insecure_context())
                f.connect("127.0.0.1", port, timeout=10)
                break
            except OSError:
                f = None
                time.sleep(0.05)
        check(f is not None, "BusyBox inetd did not listen")
        f.auth()
        f.login("alice", "pw")
        f.prot_p()
        got = bytearray()
        f.retrbinary("RETR hello.txt", got.extend)
        check(bytes(got) == b"hello router\n", got)
        f.quit()
    finally:
        if proc is not None:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=5)
        shutil.rmtree(d, ignore_errors=True)
