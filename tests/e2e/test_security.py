"""SPEC §4, the security properties: one test (or more) per property, named
test_s4_N_..., each of which TRIES TO BREAK the property and asserts the
specific way the server must resist (the reply code, what must not have
happened on disk or on the wire, the log line).

Each test was run against deliberately broken private builds (never in the
tree) and failed as it should: privilege drop deferred to the first command,
no setgroups, no chroot; openat2 without RESOLVE_BENEATH; STOR/APPE
following symlinks; the passive-peer check, the PORT/EPRT peer check, the
port >= 1024 check or the resumption check removed; a listing that keeps
memory per entry; the over-long-line discard removed; TLS 1.0 allowed, CBC
and static-RSA suites in the default list, renegotiation enabled, EMS off;
EHLO missing from the foreign verbs; an error reply without text; deadlines
that partial lines extend; REIN resetting the failed-login count.

Properties already tested elsewhere are not repeated here: ALPN (test_tls_ctrl
test_alpn_other_refused_ftp_accepted), max-tries delays and login grace
(test_foundation), passive theft of a clear download (test_data
test_passive_theft_refused).
"""
import hashlib
import os
import re
import socket
import ssl
import stat
import struct
import subprocess
import threading
import time

from ftpsdtest import (IS_ROOT, RUN_AS, WRAPPER, native_only, so_error_untranslated, read_all, RawClient, Server, Skip, check, hash_password,
                       insecure_context, test, which)

PW = hash_password("pw")
SECRET = b"SECRET-OUTSIDE-THE-USER-ROOT\n"
VICTIM = b"VICTIM-OUTSIDE-THE-USER-ROOT\n"

USERS = """
user alice    password=%(pw)s root=/alice access=rwadmn
""" % {"pw": PW}


def clear_policy(extra=""):
    return "tls off\nidle 30\n%s\n%s" % (extra, USERS)


def tls_policy(extra=""):
    return "cert {cert}\nkey {key}\ntls auth+data\nidle 30\n%s\n%s" % (extra, USERS)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

class Raw(RawClient):
    """A raw control connection with the few steps every test here needs."""

    ctx = None

    def greeting(self):
        code, lines = self.reply()
        check(code == 220, "greeting: %r" % lines)

    def login(self, user="alice", pw="pw"):
        check(self.cmd("USER " + user)[0] == 331, "USER")
        code, lines = self.cmd("PASS " + pw)
        check(code == 230, "PASS: %r" % lines)

    def auth_tls(self, ctx=None, server_hostname="localhost"):
        self.ctx = ctx or insecure_context()
        code, lines = self.cmd("AUTH TLS")
        check(code == 234, lines)
        self.sock = self.ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.sock.settimeout(10)

    def prot_p(self):
        check(self.cmd("PBSZ 0")[0] == 200)
        check(self.cmd("PROT P")[0] == 200)

    def pasv(self):
        code, lines = self.cmd("PASV")
        check(code == 227, lines)
        n = [int(x) for x in re.search(r"\((\d+(?:,\d+){5})\)", lines[0]).group(1).split(",")]
        return "%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5]

    def data_cmd(self, command, upload=None):
        """PASV, connect, send `command`. Returns (code, lines, bytes read).
        If the server opens the transfer (150), the data is read (or
        `upload` sent) and the final reply is what is returned, with the
        150 prepended to the lines."""
        addr = self.pasv()
        d = socket.create_connection(addr, timeout=10)
        code, lines = self.cmd(command)
        got = b""
        if code == 150:
            if self.ctx is not None:
                d = self.ctx.wrap_socket(d, server_hostname="localhost",
                                         session=self.sock.session)
            if upload is not None:
                d.sendall(upload)
            else:
                got = read_all(d)
            d.close()
            code2, lines2 = self.reply()
            return code2, lines + lines2, got
        d.close()
        return code, lines, got




def raw(srv):
    r = Raw(srv.host, srv.port)
    r.greeting()
    return r


def session_pid(srv, sock):
    """PID of the server process holding the other end of `sock`: the
    server-side socket's inode from /proc/net/tcp{,6}, then the process
    whose fd table has it."""
    cport = sock.getsockname()[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for l in lines:
            f = l.split()
            lport = int(f[1].rsplit(":", 1)[1], 16)
            rport = int(f[2].rsplit(":", 1)[1], 16)
            if lport == srv.port and rport == cport:
                inodes.add(f[9])
    check(inodes, "server socket for client port %d not found" % cport)
    want = {"socket:[%s]" % i for i in inodes}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            # Under an emulator the binary is an argument of its command.
            argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")[:len(WRAPPER) + 1]
            if not argv[-1].endswith(b"ftpsd-inetd"):
                continue
            for fd in os.listdir("/proc/%s/fd" % pid):
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) in want:
                    return int(pid)
        except OSError:
            continue
    raise AssertionError("no ftpsd-inetd process holds the connection")


def proc_status(pid):
    out = {}
    for l in open("/proc/%d/status" % pid):
        k, _, v = l.partition(":")
        out[k] = v.split()
    return out


def sanitized(pid):
    """True under AddressSanitizer (make check-asan): its allocator keeps
    freed memory in quarantine, so memory figures mean nothing there."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def mem_kb(pid):
    st = proc_status(pid)
    return {k: int(st[k][0]) for k in ("VmHWM", "VmRSS", "RssAnon") if k in st}


def snapshot(top, skip):
    """Everything under `top` except the paths in `skip`: type, mode, owner,
    size, mtime and content (files) or target (links)."""
    out = {}
    for base, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(base, d) not in skip]
        for n in dirs + files:
            p = os.path.join(base, n)
            if p in skip:
                continue
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = "->" + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as h:
                    what = hashlib.sha256(h.read()).hexdigest()
            else:
                what = ""
            out[os.path.relpath(p, top)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                             st.st_uid, st.st_size, st.st_mtime_ns, what)
    return out


def diff(before, after):
    keys = set(before) | set(after)
    return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}


def can_bind(addr):
    try:
        s = socket.socket()
        s.bind((addr, 0))
        s.close()
        return True
    except OSError:
        return False


def openssl(args, input_text="QUIT\r\n", timeout=20):
    r = subprocess.run(["openssl"] + args, input=input_text, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout + r.stderr


# ---------------------------------------------------------------------------
# §4.1 No client byte is parsed as root; keys and chroot first, then the drop
# ---------------------------------------------------------------------------

@test
def test_s4_1_dropped_and_chrooted_when_220_arrives():
    """Connect, read the 220, send NOTHING, and look at the session process:
    by then it must already be the run-as user for good (real, effective,
    saved and fs ids; supplementary groups; no capabilities), live inside
    the chroot, and hold no file or directory from outside it except the
    connection and its log — while its private key (0600 root) was read."""
    if not IS_ROOT:
        raise Skip("needs root: run-as and chroot only apply when started as root")
    import pwd
    pw = pwd.getpwnam(RUN_AS)
    with Server(tls_policy("xferlog {dir}/xferlog"), files={"alice/a.txt": "a\n"}) as srv:
        os.chmod(srv.key, 0o600)
        check(os.stat(srv.key).st_uid == 0, "the key must be root's for this test")
        r = Raw(srv.host, srv.port)
        code, lines = r.reply()
        check(code == 220, lines)
        pid = session_pid(srv, r.sock)
        st = proc_status(pid)
        uids = [int(x) for x in st["Uid"]]
        gids = [int(x) for x in st["Gid"]]
        groups = [int(x) for x in st.get("Groups", [])]
        check(uids == [pw.pw_uid] * 4, "Uid at 220: %r" % uids)
        check(gids == [pw.pw_gid] * 4, "Gid at 220: %r" % gids)
        check(groups == [pw.pw_gid], "Groups at 220: %r (expected only %d)" % (groups, pw.pw_gid))
        for cap in ("CapPrm", "CapEff", "CapAmb"):
            if cap in st:
                check(int(st[cap][0], 16) == 0, "%s at 220: %s" % (cap, st[cap][0]))
        root = os.path.realpath(srv.root)
        check(os.readlink("/proc/%d/root" % pid) == root,
              "not chrooted at 220: root is %s" % os.readlink("/proc/%d/root" % pid))
        check(os.readlink("/proc/%d/cwd" % pid) == root,
              "cwd at 220: %s" % os.readlink("/proc/%d/cwd" % pid))
        # SECURITY: an fd to a directory outside the chroot is a way out
        # (fchdir); the policy and key must have been closed after loading.
        for fd in os.listdir("/proc/%d/fd" % pid):
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            if not link.startswith("/"):
                continue  # socket:[..], pipe:[..], anon_inode:..
            check(link not in (srv.key, srv.cert, srv.policy),
                  "fd %s still open on %s at 220" % (fd, link))
            try:
                isdir = stat.S_ISDIR(os.stat("/proc/%d/fd/%s" % (pid, fd)).st_mode)
            except OSError:
                continue
            check(not isdir or link == root or link.startswith(root + "/"),
                  "fd %s is a directory outside the chroot: %s" % (fd, link))
            check(link.startswith(root + "/") or link in (srv.errlog, "/dev/null") or
                  link == os.path.join(srv.dir, "xferlog"),
                  "fd %s open on %s at 220" % (fd, link))
        # Still the same after the first command, and the session works.
        code, lines = r.cmd("FEAT")
        check(code == 211, lines)
        check([int(x) for x in proc_status(pid)["Uid"]] == [pw.pw_uid] * 4)
        check(r.cmd("QUIT")[0] == 221)
        r.close()


# ---------------------------------------------------------------------------
# §4.2 No client path reaches outside the user's root
# ---------------------------------------------------------------------------

def confinement_server(extra=""):
    files = {"alice/in.txt": "inside\n", "alice/sub/.keep": "", "secret.txt": SECRET,
             "outside/victim.txt": VICTIM, "outside/victimdir/.keep": ""}
    return Server(clear_policy(extra), tls=False, files=files)


def plant_links(srv):
    """Symlinks inside alice's root that point outside it, every way."""
    a = os.path.join(srv.root, "alice")
    # As seen by the session: chrooted to srv.root when root, host paths else.
    top = "/" if IS_ROOT else srv.root + "/"
    with open(os.path.join(srv.dir, "hostsecret.txt"), "wb") as h:
        h.write(SECRET)
    links = {
        "flink": "../outside/victim.txt",
        "flink_abs": top + "outside/victim.txt",
        "dlink": "../outside",
        "dlink_abs": top + "outside",
        "hostlink": srv.dir,
        "dangling": "../outside/made-through-dangling.txt",
        "dangling_abs": top + "outside/made-through-dangling-abs.txt",
        "chain1": "chain2",
        "chain2": "dlink",
        "sub/up": "../..",
    }
    for name, target in links.items():
        os.symlink(target, os.path.join(a, name))
    if IS_ROOT:
        import pwd
        pw = pwd.getpwnam(RUN_AS)
        for name in links:
            os.lchown(os.path.join(a, name), pw.pw_uid, pw.pw_gid)


def outside_state(srv):
    return snapshot(srv.dir, {os.path.join(srv.root, "alice"), srv.errlog})


# Paths that, read lexically, stay inside the root but name nothing there,
# and paths that reach outside through a symlink. Every one must be refused.
ESCAPE_FILES = [
    "../secret.txt", "../../secret.txt", "/../secret.txt", "//..//secret.txt",
    "sub/../../secret.txt", "./../outside/victim.txt", "../" * 1000 + "secret.txt",
    "/etc/passwd", "..\\secret.txt", "%2e%2e/secret.txt", "...//secret.txt",
    "flink", "flink_abs", "dlink/victim.txt", "dlink_abs/victim.txt", "chain1/victim.txt",
    "sub/up/secret.txt", "sub/up/outside/victim.txt", "hostlink/hostsecret.txt",
]
ESCAPE_DIRS = ["dlink", "dlink_abs", "chain1", "sub/up", "sub/up/outside", "hostlink",
               "../outside", "/../outside", "dlink/victimdir"]
# The planted links themselves (plant_links): DELE or RNFR of one acts on
# the link inside the root, which is allowed.
LINKS = {"flink", "flink_abs", "dlink", "dlink_abs", "hostlink", "dangling", "dangling_abs",
         "chain1", "chain2", "sub/up"}
ESCAPE_NEW = [  # names to create: every parent is outside or missing inside
    "../outside/new.txt", "dlink/new.txt", "dlink_abs/new.txt", "chain1/new.txt",
    "sub/up/new.txt", "sub/up/outside/new.txt", "hostlink/new.txt", "/etc/passwd",
    "dangling", "dangling_abs", "flink", "flink_abs", "dlink/victim.txt", "sub/up/secret.txt",
]


def refused(code):
    return code in (550, 553)


def run_escapes(srv, r, cases):
    """Runs (command, data?) cases; each must be refused with 550/553,
    leak nothing and change nothing outside alice's root."""
    before = outside_state(srv)
    bad = []
    for command, kind in cases:
        if kind == "data":
            code, lines, got = r.data_cmd(command)
        elif kind == "upload":
            code, lines, got = r.data_cmd(command, upload=b"PLANTED BY THE CLIENT\n")
        else:
            code, lines = r.cmd(command)
            got = b""
        text = "\n".join(lines)
        leak = (SECRET.strip().decode() in text or VICTIM.strip().decode() in text or
                SECRET.strip() in got or VICTIM.strip() in got or b"victim.txt" in got or
                b"hostsecret" in got or b"secret.txt" in got)
        if not refused(code) or leak:
            bad.append("%s -> %r%s" % (command[:80], lines[:3], " LEAK %r" % got[:80]
                                       if leak else ""))
        changed = diff(before, outside_state(srv))
        if changed:
            bad.append("%s changed outside the root: %r" % (command[:80], changed))
            before = outside_state(srv)
    check(not bad, "escapes not refused:\n  " + "\n  ".join(bad))


@test
def test_s4_2_read_commands_cannot_escape():
    with confinement_server() as srv:
        plant_links(srv)
        r = raw(srv)
        r.login()
        r.cmd("TYPE I")
        cases = []
        for p in ESCAPE_FILES:
            cases += [("RETR " + p, "data"), ("SIZE " + p, "cmd"), ("MDTM " + p, "cmd"),
                      ("MLST " + p, "cmd"), ("STAT " + p, "cmd"), ("LIST " + p, "data"),
                      ("NLST " + p, "data"), ("MLSD " + p, "data")]
        for p in ESCAPE_DIRS:
            cases += [("CWD " + p, "cmd"), ("LIST " + p, "data"), ("NLST " + p, "data"),
                      ("MLSD " + p, "data"), ("STAT " + p, "cmd"), ("MLST " + p, "cmd")]
        run_escapes(srv, r, cases)
        # ".." above the root clamps to the root: it lists alice's root and
        # nothing of what is beside it.
        for command, same in (("LIST ..", "LIST /"), ("NLST ../..", "NLST /"),
                              ("MLSD /..", "MLSD /"), ("LIST -la ../../", "LIST -la /")):
            code, lines, got = r.data_cmd(command)
            check(code == 226, (command, lines))
            code, lines, want = r.data_cmd(same)
            check(code == 226 and b"in.txt" in want, (same, lines))
            check(got == want, "%s lists something else than %s:\n%r\n%r" %
                  (command, same, got[:300], want[:300]))
        check(r.cmd("CWD ../../..")[0] == 250)
        code, lines = r.cmd("PWD")
        check(lines[0].startswith('257 "/"'), lines)
        check(r.cmd("CDUP")[0] == 250)
        code, lines = r.cmd("PWD")
        check(lines[0].startswith('257 "/"'), lines)
        r.close()
        check(srv.wait_log("SECURITY:"), "escape attempts must be logged: " + srv.log()[-2000:])


@test
def test_s4_2_write_commands_cannot_escape():
    for extra in ("upload atomic", "upload direct"):
        with confinement_server(extra) as srv:
            plant_links(srv)
            r = raw(srv)
            r.login()
            r.cmd("TYPE I")
            cases = []
            for p in ESCAPE_NEW:
                cases += [("STOR " + p, "upload"), ("APPE " + p, "upload"), ("MKD " + p, "cmd")]
            for p in ESCAPE_FILES + ESCAPE_DIRS:
                cases += [("RMD " + p, "cmd"), ("SITE CHMOD 777 " + p, "cmd")]
                if p not in LINKS:  # DELE of a link removes the link: below
                    cases.append(("DELE " + p, "cmd"))
            cases += [("STOU dlink/x", "upload"), ("STOU sub/up/x", "upload"),
                      ("STOU hostlink/x", "upload")]
            run_escapes(srv, r, cases)
            # RNFR of something outside (to pull it in): refused.
            rn = [("RNFR " + p, "cmd") for p in ESCAPE_FILES + ESCAPE_DIRS if p not in LINKS]
            run_escapes(srv, r, rn)
            # RNTO to somewhere outside (to push a file out): refused, and
            # the file stays where it was.
            before = outside_state(srv)
            for p in ESCAPE_NEW + ["../outside/moved.txt", "dlink/victimdir/moved.txt"]:
                if p in ("dangling", "dangling_abs", "flink", "flink_abs"):
                    continue  # replacing a link inside the root: checked below
                check(r.cmd("RNFR in.txt")[0] == 350)
                code, lines = r.cmd("RNTO " + p)
                check(refused(code), ("RNTO " + p, lines))
                check(os.path.exists(os.path.join(srv.root, "alice", "in.txt")), p)
            check(not diff(before, outside_state(srv)), diff(before, outside_state(srv)))
            # Operating on a link itself is allowed and never touches its
            # target: DELE removes the link, RNTO over it replaces the link.
            a = os.path.join(srv.root, "alice")
            check(r.cmd("DELE flink")[0] == 250)
            check(not os.path.lexists(os.path.join(a, "flink")))
            check(r.cmd("RNFR in.txt")[0] == 350)
            check(r.cmd("RNTO dangling")[0] == 250)
            check(os.path.isfile(os.path.join(a, "dangling")) and
                  not os.path.islink(os.path.join(a, "dangling")))
            check(not diff(before, outside_state(srv)), diff(before, outside_state(srv)))
            with open(os.path.join(srv.root, "outside", "victim.txt"), "rb") as h:
                check(h.read() == VICTIM)
            check(not os.path.exists(os.path.join(srv.root, "outside",
                                                  "made-through-dangling.txt")))
            r.close()


@test
def test_s4_2_long_paths_refused_553():
    """A path longer than PATH_MAX once joined to a deep cwd: 553 from every
    path-taking command, never a truncated path that means something else."""
    with confinement_server() as srv:
        a = os.path.join(srv.root, "alice")
        deep = "/".join(["d" * 200] * 15)  # ~3000 bytes
        os.makedirs(os.path.join(a, deep))
        if IS_ROOT:
            import pwd
            pw = pwd.getpwnam(RUN_AS)
            for base, dirs, _ in os.walk(a):
                os.chown(base, pw.pw_uid, pw.pw_gid)
        r = raw(srv)
        r.login()
        check(r.cmd("CWD /" + deep)[0] == 250)
        long_arg = "/".join(["e" * 250] * 5)  # ~1250 bytes: fits a line, not a path
        before = outside_state(srv)
        bad = []
        for verb in ("RETR", "STOR", "APPE", "LIST", "NLST", "MLSD", "MLST", "SIZE", "MDTM",
                     "DELE", "MKD", "RMD", "RNFR", "CWD", "STAT", "SITE CHMOD 644"):
            command = "%s %s" % (verb, long_arg)
            if verb in ("RETR", "STOR", "APPE", "LIST", "NLST", "MLSD"):
                code, lines, _ = r.data_cmd(command, upload=b"x" if verb in ("STOR", "APPE")
                                            else None)
            else:
                code, lines = r.cmd(command)
            if code != 553:
                bad.append("%s -> %r" % (verb, lines))
        check(r.cmd("RNFR /in.txt")[0] == 350)
        code, lines = r.cmd("RNTO " + long_arg)
        if code != 553:
            bad.append("RNTO -> %r" % lines)
        check(not bad, "long paths not answered 553:\n  " + "\n  ".join(bad))
        check(not diff(before, outside_state(srv)))
        r.close()


# ---------------------------------------------------------------------------
# §4.3 Data connections: only the control peer; resumption; no bounce
# ---------------------------------------------------------------------------

@test
def test_s4_3_passive_connection_from_other_address_closed_unread():
    if not can_bind("127.0.0.2"):
        raise Skip("127.0.0.2 not usable here")
    data = os.urandom(200000)
    with Server(tls_policy(), files={"alice/d.bin": data, "alice/.keep": ""}) as srv:
        r = raw(srv)
        r.auth_tls()
        r.login()
        r.prot_p()
        r.cmd("TYPE I")
        def thief_connects():
            addr = r.pasv()
            thief = socket.socket()
            thief.bind(("127.0.0.2", 0))
            thief.settimeout(10)
            thief.connect(addr)
            return addr, thief

        def real_connects(addr):
            real = socket.create_connection(addr, timeout=10)
            return r.ctx.wrap_socket(real, server_hostname="localhost", session=r.sock.session)

        # Download: the thief connects first and even starts a handshake.
        addr, thief = thief_connects()
        r.send("RETR d.bin\r\n")
        check(r.reply()[0] == 150)
        try:
            tctx = insecure_context()
            t = tctx.wrap_socket(thief, server_hostname="localhost")
            stolen = read_all(t)
            raise AssertionError("the thief completed a TLS handshake (%d bytes)" % len(stolen))
        except (ssl.SSLError, OSError):
            pass  # closed under its feet: nothing was read, nothing sent
        real = real_connects(addr)
        got = read_all(real)
        real.close()
        code, lines = r.reply()
        check(code == 226 and got == data, (lines, len(got)))
        # Upload: bytes the thief sends never reach the file.
        addr, thief = thief_connects()
        r.send("STOR up.bin\r\n")
        check(r.reply()[0] == 150)
        try:
            thief.sendall(b"\x16\x03\x01\x00\x05" + b"STOLEN" * 1000)
        except OSError:
            pass
        leftover = read_all(thief)
        thief.close()
        check(leftover == b"", "the server answered the thief: %r" % leftover[:40])
        real = real_connects(addr)
        real.sendall(b"from the real client\n")
        real.unwrap().close()
        check(r.reply()[0] == 226)
        with open(os.path.join(srv.root, "alice", "up.bin"), "rb") as h:
            check(h.read() == b"from the real client\n")
        r.close()
        check(srv.wait_log("SECURITY: passive data connection from 127.0.0.2"), srv.log())


@test
def test_s4_3_port_eprt_bounce_refused():
    if not can_bind("127.0.0.2"):
        raise Skip("127.0.0.2 not usable here")
    with Server(clear_policy("active peer"), tls=False, files={"alice/a.txt": "a\n"}) as srv:
        # A listener on the third host: it must never be connected to.
        trap = socket.socket()
        trap.bind(("127.0.0.2", 0))
        trap.listen(5)
        tport = trap.getsockname()[1]
        r = raw(srv)
        r.login()
        refusals = [
            "PORT 127,0,0,2,%d,%d" % (tport >> 8, tport & 255),
            "PORT 127,000,000,002,%d,%d" % (tport >> 8, tport & 255),
            "EPRT |1|127.0.0.2|%d|" % tport,
            "EPRT |2|::ffff:127.0.0.2|%d|" % tport,
            "PORT 10,0,0,1,%d,%d" % (tport >> 8, tport & 255),
            "PORT 127,0,0,1,0,80",
            "PORT 127,0,0,1,3,255",    # 1023
            "PORT 127,0,0,1,0,21",
            "PORT 127,0,0,1,0,0",
            "EPRT |1|127.0.0.1|80|",
            "EPRT |1|127.0.0.1|1023|",
            "EPRT |2|::ffff:127.0.0.1|25|",
        ]
        bad = []
        for c in refusals:
            code, lines = r.cmd(c)
            if code not in (504, 522):
                bad.append("%s -> %r" % (c, lines))
                continue
            # Nothing was prepared: a transfer now has no target.
            code, lines = r.cmd("RETR a.txt")
            if code != 425:
                bad.append("RETR after %s -> %r" % (c, lines))
        check(not bad, "bounce targets accepted:\n  " + "\n  ".join(bad))
        trap.settimeout(1)
        try:
            c, peer = trap.accept()
            c.close()
            raise AssertionError("the server connected to the third host from %r" % (peer,))
        except socket.timeout:
            pass
        trap.close()
        # The boundary: the peer's own address at port 1024 is fine.
        check(r.cmd("PORT 127,0,0,1,4,0")[0] == 200)
        r.close()
        check(srv.wait_log("SECURITY: PORT to 127.0.0.2"), srv.log())
        check(srv.wait_log("privileged port"), srv.log())
    # fxp allows third hosts, never privileged ports.
    with Server(clear_policy("active peer\nfxp on"), tls=False, files={"alice/a": "a"}) as srv:
        r = raw(srv)
        r.login()
        for c in ("PORT 127,0,0,2,0,80", "PORT 127,0,0,1,3,255", "EPRT |1|127.0.0.2|25|"):
            code, lines = r.cmd(c)
            check(code == 504, (c, lines))
        check(r.cmd("PORT 127,0,0,2,4,0")[0] == 200)
        r.close()


@test
def test_s4_3_data_connection_without_resumption_refused_522():
    data = b"protected file\n"
    with Server(tls_policy(), files={"alice/d.txt": data}) as srv:
        ctx = insecure_context()  # one context: Python resumes only within it
        a = raw(srv)
        a.auth_tls(ctx)
        a.login()
        a.prot_p()
        b = raw(srv)
        b.auth_tls(ctx)
        b.login()
        for label, session in (("a full handshake", None),
                               ("another control connection's session", b.sock.session)):
            addr = a.pasv()
            a.send("RETR d.txt\r\n")
            d = socket.create_connection(addr, timeout=10)
            got = b""
            try:
                d = ctx.wrap_socket(d, server_hostname="localhost", session=session)
                check(not d.session_reused, "%s: the client resumed?" % label)
                got = read_all(d)
            except (ssl.SSLError, OSError):
                pass
            d.close()
            code, lines = a.reply()
            if code == 150:
                code, lines2 = a.reply()
                lines += lines2
            check(code == 522 and "resume" in lines[-1], (label, lines))
            check(data not in got, "%s: the file was sent" % label)
        # The client's own session works.
        code, lines, got = a.data_cmd("RETR d.txt")
        check(code == 226 and got == data, lines)
        a.close()
        b.close()
        check(srv.wait_log("did not resume"), srv.log())


# ---------------------------------------------------------------------------
# §4.4 Bounded lines and buffers; listings streamed
# ---------------------------------------------------------------------------

@test
def test_s4_4_long_lines_bounded():
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        r = raw(srv)
        pid = session_pid(srv, r.sock)
        measure = not sanitized(pid)
        m0 = mem_kb(pid)
        # 1 MiB without a line end, then a real command: one 500, the rest of
        # the long line is never executed, memory does not follow the input.
        chunk = b"USER " + b"A" * 65531
        r.send(chunk * 16 + b"QUIT\r\nNOOP\r\n")
        code, lines = r.reply()
        check(code == 500 and "too long" in lines[0].lower(), lines)
        code, lines = r.reply()
        check(code == 200, "after the long line: %r" % lines)
        m1 = mem_kb(pid)
        check(not measure or m1["RssAnon"] - m0["RssAnon"] <= 64,
              "1 MiB of input grew the session by %d kB" % (m1["RssAnon"] - m0["RssAnon"]))
        # Pipelined: the long line sits between two good ones.
        r.send(b"NOOP\r\n" + b"X" * 5000 + b"\r\nNOOP\r\n")
        codes = [r.reply()[0] for _ in range(3)]
        check(codes == [200, 500, 200], codes)
        # The same under TLS, and for a password (never logged).
        r.auth_tls()
        check(r.cmd("USER alice")[0] == 331)
        r.send(b"PASS " + b"p" * 8000 + b"\r\n")
        code, lines = r.reply()
        check(code == 500, lines)
        r.login()
        m1 = mem_kb(pid)  # after the TLS handshake and the login
        r.send(b"CWD " + b"/" * (1 << 20) + b"\r\nPWD\r\n")
        check(r.reply()[0] == 500)
        code, lines = r.reply()
        check(code == 257 and lines[0].startswith('257 "/"'), lines)
        m2 = mem_kb(pid)
        check(not measure or m2["RssAnon"] - m1["RssAnon"] <= 64,
              "1 MiB under TLS grew the session by %d kB" % (m2["RssAnon"] - m1["RssAnon"]))
        r.close()
        check("p" * 100 not in srv.log(), "a password reached the log")


def make_dir(srv, name, n):
    p = os.path.join(srv.root, "alice", name)
    os.mkdir(p)
    for i in range(n):
        os.close(os.open(os.path.join(p, "entry-%06d-%s" % (i, "n" * 40)),
                         os.O_CREAT | os.O_WRONLY, 0o644))


@test
def test_s4_4_listing_20000_entries_streamed_memory_flat():
    """VmHWM and anonymous memory of a session around one listing of 100 and
    of 20,000 entries (LIST, NLST, MLSD under TLS, STAT on the control
    connection): the big one may not cost more than a page or two (glibc's
    32 KiB getdents buffer fills up only for the bigger directory)."""
    native_only("VmHWM and anonymous memory would be the emulator's, its translation cache "
                "included, not the session's")
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        make_dir(srv, "small", 100)
        make_dir(srv, "big", 20000)
        growth = {}
        for cmd in ("LIST", "NLST", "MLSD", "STAT"):
            for d, n in (("small", 100), ("big", 20000)):
                r = raw(srv)
                r.auth_tls()
                r.login()
                r.prot_p()
                pid = session_pid(srv, r.sock)
                measure = not sanitized(pid)
                before = mem_kb(pid)
                if cmd == "STAT":
                    code, lines = r.cmd("STAT " + d)
                    count = len(lines) - 2
                else:
                    code, lines, got = r.data_cmd("%s %s" % (cmd, d))
                    count = got.count(b"\r\n")
                check(code in (213, 226), (cmd, d, lines[:3]))
                want = n + (2 if cmd == "MLSD" else 0)  # cdir and pdir
                check(count == want, "%s %s: %d lines, expected %d" % (cmd, d, count, want))
                after = mem_kb(pid)
                growth[(cmd, d)] = (after["VmHWM"] - before["VmHWM"], after["RssAnon"])
                r.cmd("QUIT")
                r.close()
        bad = []
        for cmd in ("LIST", "NLST", "MLSD", "STAT"):
            (hs, anon_s), (hb, anon_b) = growth[(cmd, "small")], growth[(cmd, "big")]
            if hb - hs > 128 or anon_b - anon_s > 64:
                bad.append("%s: VmHWM +%d kB vs +%d kB, RssAnon %d vs %d kB" %
                           (cmd, hb, hs, anon_b, anon_s))
        check(not measure or not bad, "memory grows with the directory:\n  " + "\n  ".join(bad))


# ---------------------------------------------------------------------------
# §4.5 TLS: 1.2+, ECDHE+AEAD, no compression, no renegotiation, EMS
# ---------------------------------------------------------------------------

def need_openssl():
    if not which("openssl"):
        raise Skip("openssl not installed")


@test
def test_s4_5_tls10_tls11_refused():
    need_openssl()
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        # Control: these exact client options DO complete a TLS 1.0 / 1.1
        # handshake against a server that allows it (openssl s_server), so a
        # failure against ftpsd is ftpsd's refusal, not the client's.
        for flag, name in (("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1")):
            port = socket.socket()
            port.bind(("127.0.0.1", 0))
            p = port.getsockname()[1]
            port.close()
            s = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % p, "-cert",
                                  srv.cert, "-key", srv.key, flag, "-cipher",
                                  "DEFAULT@SECLEVEL=0", "-naccept", "1", "-quiet"],
                                 stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            try:
                out = ""
                for _ in range(50):
                    rc, out = openssl(["s_client", flag, "-cipher", "DEFAULT@SECLEVEL=0",
                                       "-connect", "127.0.0.1:%d" % p], input_text="")
                    if "Protocol  : " + name + "\n" in out and "Cipher is (NONE)" not in out:
                        break
                    time.sleep(0.1)
                else:
                    raise Skip("this openssl cannot speak %s even to s_server: %s" %
                               (name, out[-300:]))
            finally:
                s.kill()
                s.wait(timeout=5)
            rc, out = openssl(["s_client", flag, "-cipher", "DEFAULT@SECLEVEL=0", "-starttls",
                               "ftp", "-connect", "127.0.0.1:%d" % srv.port])
            check("Cipher is (NONE)" in out and "Protocol  : " + name in out,
                  "%s handshake was not refused:\n%s" % (name, out[-1500:]))
            check("alert protocol version" in out or "alert number 70" in out,
                  "%s: expected a protocol_version alert:\n%s" % (name, out[-1500:]))
        check(srv.wait_log("TLS 1.2 is the minimum"), srv.log()[-2000:])
        # The data connection has the same floor.
        r = raw(srv)
        r.auth_tls()
        r.login()
        r.prot_p()
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        try:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                old.set_ciphers("DEFAULT@SECLEVEL=0")
                old.minimum_version = ssl.TLSVersion.TLSv1
                old.maximum_version = ssl.TLSVersion.TLSv1_1
        except (ValueError, ssl.SSLError):
            old = None
        if old is not None:
            addr = r.pasv()
            r.send("NLST\r\n")
            d = socket.create_connection(addr, timeout=10)
            try:
                d = old.wrap_socket(d, server_hostname="localhost")
                raise AssertionError("TLS %s accepted on the data connection" % d.version())
            except (ssl.SSLError, OSError):
                pass
            d.close()
            code, lines = r.reply()
            if code == 150:
                code, lines = r.reply()
            check(code == 425 and "TLS 1.2 is the minimum" in lines[0], lines)
            check(srv.wait_log("TLS data handshake failed: client offered only TLS 1.0/1.1"),
                  srv.log()[-1500:])
        check(r.cmd("NOOP")[0] == 200)
        r.close()


@test
def test_s4_5_cbc_ccm_static_rsa_only_clients_refused():
    """Clients that offer only CBC, CCM, static-RSA or finite-field DHE
    suites are refused. The server has an ECDSA and an RSA certificate, so
    static RSA and DHE-RSA would be possible if the server allowed them."""
    need_openssl()
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        rsa_crt, rsa_key = os.path.join(srv.dir, "rsa.crt"), os.path.join(srv.dir, "rsa.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        rsa_key, "-out", rsa_crt, "-days", "2", "-subj", "/CN=localhost"],
                       check=True, capture_output=True, timeout=60)
        os.chmod(rsa_key, 0o600)
        with open(srv.policy, "a") as h:
            h.write("cert %s\nkey %s\n" % (rsa_crt, rsa_key))
        port = "127.0.0.1:%d" % srv.port
        # Controls: ECDHE + AEAD works with either certificate.
        for good in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"):
            rc, out = openssl(["s_client", "-tls1_2", "-cipher", good, "-starttls", "ftp",
                               "-connect", port])
            check("Cipher is " + good in out, "control %s failed:\n%s" % (good, out[-1500:]))
        for suites in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                       "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384",
                       "ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-AES128-CCM8",
                       "AES128-GCM-SHA256:AES256-GCM-SHA384", "AES128-SHA:AES256-SHA256",
                       "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-CHACHA20-POLY1305"):
            rc, out = openssl(["s_client", "-tls1_2", "-cipher", suites, "-starttls", "ftp",
                               "-connect", port])
            check("Cipher is (NONE)" in out and "handshake failure" in out,
                  "%s was not refused:\n%s" % (suites, out[-1500:]))
        # The default choice is forward-secret AEAD.
        rc, out = openssl(["s_client", "-tls1_2", "-starttls", "ftp", "-connect",
                           "127.0.0.1:%d" % srv.port])
        m = re.search(r"Cipher is (\S+)", out)
        check(m and m.group(1).startswith("ECDHE-") and
              ("GCM" in m.group(1) or "CHACHA20-POLY1305" in m.group(1)), out[-1500:])
        check(srv.wait_log("no shared cipher"), srv.log()[-2000:])


class SClient:
    """openssl s_client driven line by line (for the interactive R)."""

    def __init__(self, port):
        self.p = subprocess.Popen(["openssl", "s_client", "-tls1_2", "-starttls", "ftp",
                                   "-connect", "127.0.0.1:%d" % port],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.out = b""
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        while True:
            b = self.p.stdout.read1(4096)
            if not b:
                return
            self.out += b

    def wait_for(self, needle, count=1, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.out.count(needle) >= count:
                return True
            time.sleep(0.05)
        return False

    def send(self, line):
        try:
            self.p.stdin.write(line)
            self.p.stdin.flush()
        except OSError:
            pass

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=5)
        self.t.join(timeout=5)
        return self.out.decode(errors="replace")


def renegotiation_answered(srv):
    """NOOP, then R (s_client renegotiates), then NOOP: True if the second
    NOOP was answered (the renegotiation completed)."""
    c = SClient(srv.port)
    try:
        check(c.wait_for(b"---\n", 1, 10), "no handshake: " + c.out.decode(errors="replace"))
        c.send(b"NOOP\n")
        check(c.wait_for(b"200 NOOP ok", 1, 10), c.out.decode(errors="replace")[-1500:])
        c.send(b"R\n")
        c.wait_for(b"RENEGOTIATING", 1, 5)
        time.sleep(1)
        c.send(b"NOOP\n")
        answered = c.wait_for(b"200 NOOP ok", 2, 3)
    finally:
        out = c.close()
    check("RENEGOTIATING" in out, "s_client did not try to renegotiate:\n" + out[-1500:])
    return answered, out


@test
def test_s4_5_client_renegotiation_refused():
    need_openssl()
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        answered, out = renegotiation_answered(srv)
        check(not answered, "renegotiation was accepted under `renegotiate off`:\n" + out[-1500:])
        check("no renegotiation" in out or "alert" in out, out[-1500:])
    # Control: with `renegotiate client` the same client renegotiates, so the
    # refusal above is the server's and this test can see an acceptance.
    with Server(tls_policy("renegotiate client"), files={"alice/.keep": ""}) as srv:
        answered, out = renegotiation_answered(srv)
        check(answered, "renegotiate client: the client could not renegotiate:\n" + out[-1500:])


def _ext(t, data):
    return struct.pack(">HH", t, len(data)) + data


def client_hello(compressions=(1, 0), ems=True, suites=(0xcca9, 0xc02b, 0xc02c)):
    """A TLS 1.2 ClientHello written by hand (clients no longer offer
    compression): X25519/P-256, ECDSA/RSA signatures."""
    exts = _ext(0x000a, struct.pack(">HHH", 4, 0x001d, 0x0017)) + _ext(0x000b, b"\x01\x00")
    sig = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0601]
    exts += _ext(0x000d, struct.pack(">H", 2 * len(sig)) +
                 b"".join(struct.pack(">H", s) for s in sig))
    if ems:
        exts += _ext(0x0017, b"")
    body = (struct.pack(">H", 0x0303) + os.urandom(32) + b"\x00" +
            struct.pack(">H", 2 * len(suites)) + b"".join(struct.pack(">H", s) for s in suites) +
            bytes([len(compressions)]) + bytes(compressions) + struct.pack(">H", len(exts)) + exts)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def server_hello(srv, hello):
    """Sends `hello` after AUTH TLS; returns the parsed ServerHello
    (version, suite, compression, extension types) or ("alert", desc)."""
    r = raw(srv)
    check(r.cmd("AUTH TLS")[0] == 234)
    r.sock.sendall(hello)
    buf = b""
    r.sock.settimeout(10)
    while len(buf) < 5 or len(buf) < 5 + struct.unpack(">H", buf[3:5])[0]:
        b = r.sock.recv(65536)
        if not b:
            break
        buf += b
    r.close()
    check(len(buf) >= 7, "no answer to the ClientHello: %r" % buf)
    if buf[0] == 0x15:
        return ("alert", buf[6])
    check(buf[0] == 0x16 and buf[5] == 2, "not a ServerHello: %r" % buf[:16])
    p = 9
    version = struct.unpack(">H", buf[p:p + 2])[0]
    p += 2 + 32
    p += 1 + buf[p]
    suite = struct.unpack(">H", buf[p:p + 2])[0]
    comp = buf[p + 2]
    p += 3
    exts = []
    if p + 2 <= len(buf):
        end = p + 2 + struct.unpack(">H", buf[p:p + 2])[0]
        p += 2
        while p + 4 <= end:
            t, n = struct.unpack(">HH", buf[p:p + 4])
            exts.append(t)
            p += 4 + n
    return (version, suite, comp, exts)


@test
def test_s4_5_no_compression_and_extended_master_secret():
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        # Offering DEFLATE first: the server must pick null anyway.
        sh = server_hello(srv, client_hello(compressions=(1, 0), ems=True))
        check(sh[0] == 0x0303, "ServerHello: %r" % (sh,))
        check(sh[2] == 0, "compression method %d chosen" % sh[2])
        check(0x0017 in sh[3], "no extended_master_secret in the ServerHello: %r" % (sh[3],))
        check(sh[1] in (0xcca9, 0xc02b, 0xc02c), "suite 0x%04x" % sh[1])
        # Offering DEFLATE only: whatever the answer, never compression.
        sh = server_hello(srv, client_hello(compressions=(1,), ems=True))
        check(sh[0] == "alert" or sh[2] == 0, "compression negotiated: %r" % (sh,))
        # Real clients agree: openssl says so.
        if which("openssl"):
            rc, out = openssl(["s_client", "-tls1_2", "-comp", "-starttls", "ftp", "-connect",
                               "127.0.0.1:%d" % srv.port])
            check("Compression: NONE" in out, out[-1500:])
            check("Extended master secret: yes" in out, out[-1500:])


# ---------------------------------------------------------------------------
# §4.6 Timeouts, tries, and other protocols before login
# ---------------------------------------------------------------------------

FOREIGN = [
    "GET / HTTP/1.1", "POST /login HTTP/1.1", "HEAD / HTTP/1.0", "PUT /x HTTP/1.1",
    "CONNECT example.org:443 HTTP/1.1", "OPTIONS * HTTP/1.1", "DELETE /x HTTP/1.1",
    "TRACE / HTTP/1.1", "PATCH /x HTTP/1.1", "HELO mail.example.org", "EHLO mail.example.org",
    "get / HTTP/1.1", "Ehlo x", "post /", "CONNECT",
]


@test
def test_s4_6_other_protocols_before_login_end_session():
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        bad = []
        for line in FOREIGN:
            for stage in ("greeting", "after USER", "under TLS"):
                r = raw(srv)
                if stage == "after USER":
                    r.cmd("USER alice")  # 530 (TLS first) or 331: still not logged in
                elif stage == "under TLS":
                    r.auth_tls()
                # What a browser or mail client sends next must not be read.
                r.send(line + "\r\nHost: ftp.example.org\r\nUSER alice\r\nNOOP\r\n\r\n")
                code, lines = r.reply()
                closed = r.closed(timeout=5)
                extra = r.buf
                r.close()
                if code != 421 or not closed or extra.strip():
                    bad.append("%s (%s): %r closed=%s then %r" % (line, stage, lines, closed,
                                                                 extra[:60]))
        check(not bad, "foreign protocol lines not refused:\n  " + "\n  ".join(bad))
        check(srv.log().count("another protocol") >= len(FOREIGN) * 3, srv.log()[-2000:])


@test
def test_s4_6_login_grace_not_extended_by_trickling():
    """A client that sends a byte now and then but never a whole line (the
    slowloris pattern) still runs into login-grace."""
    with Server(clear_policy("login-grace 2"), tls=False, files={"alice/.keep": ""}) as srv:
        r = raw(srv)
        t0 = time.time()
        r.sock.settimeout(0.3)
        code = None
        while time.time() - t0 < 8:
            try:
                r.sock.sendall(b"U")
            except OSError:
                break
            try:
                d = r.sock.recv(4096)
                if not d:
                    break
                r.buf += d
                if b"\n" in r.buf:
                    code = int(r.buf[:3])
                    break
            except socket.timeout:
                pass
        elapsed = time.time() - t0
        check(code == 421 and b"login" in r.buf.lower(), r.buf)
        check(elapsed < 4, "login-grace 2 ended the session after %.1f s" % elapsed)
        r.close()
        check(srv.wait_log("session ended: login grace expired"), srv.log())


@test
def test_s4_6_idle_not_extended_by_trickling_and_rein_keeps_tries():
    with Server(clear_policy().replace("idle 30", "idle 2"), tls=False,
                files={"alice/.keep": ""}) as srv:
        r = raw(srv)
        r.login()
        t0 = time.time()
        r.sock.settimeout(0.3)
        while time.time() - t0 < 8 and b"\n" not in r.buf:
            try:
                r.sock.sendall(b"N")
                d = r.sock.recv(4096)
                if not d:
                    break
                r.buf += d
            except socket.timeout:
                pass
            except OSError:
                break
        check(r.buf.startswith(b"421") and time.time() - t0 < 4, (r.buf, time.time() - t0))
        r.close()
        # max-tries counts every failure of the connection: REIN does not
        # give a guesser a fresh set (3 tries: 2 before REIN, 1 after).
        r = raw(srv)
        r.sock.settimeout(15)
        for _ in range(2):
            r.cmd("USER alice")
            check(r.cmd("PASS wrong")[0] == 530)
        check(r.cmd("REIN")[0] == 220)
        r.cmd("USER alice")
        code, lines = r.cmd("PASS wrong")
        check(code == 421, "REIN reset the failed-login count: %r" % lines)
        check(r.closed())
        check(srv.wait_log("too many failed logins"), srv.log())


# ---------------------------------------------------------------------------
# §4.7 Every error: a reply with a text, and the cause in the log
# ---------------------------------------------------------------------------

BAD_INPUTS = [
    "XYZZY", "XYZZY with args", "RETR", "RETR nothere.txt", "STOR", "CWD nothere", "MKD in.txt",
    "RMD nothere", "DELE nothere", "RNTO x", "RNFR nothere", "SIZE nothere", "MDTM nothere",
    "TYPE X", "MODE B", "STRU R", "PORT 1,2,3", "PORT 127,0,0,1,0,80", "EPRT |9|x|1|",
    "EPRT garbage", "EPSV 9", "REST -5", "REST abc", "PBSZ 0", "PROT P", "AUTH TLS", "CCC",
    "SITE FOO", "SITE CHMOD", "SITE CHMOD 999 in.txt", "OPTS FOO", "ADAT x", "HOST x",
    "USER alice", "MLSD in.txt", "LIST nothere", "RETR in.txt", "STAT nothere", "APPE",
    "RETR " + "a" * 300, "CWD " + "b/" * 1900, "ABOR x",
]
# Lines whose first word is not a verb at all (digits, punctuation, non-ASCII).
MALFORMED = ["123 abc", "!!", "R\xe9TR x", "ABCDEFGHIJKLMNOPQRSTU x"]


@test
def test_s4_7_every_error_reply_has_text_and_log_line():
    # At log-level debug the command trace records every command; at the
    # default level a client's per-command mistakes write no line (a flood
    # of them must not flood the log: test_review r9).
    with Server(clear_policy("log-level debug"), tls=False, files={"alice/in.txt": "in\n"}) as srv:
        r = raw(srv)
        r.login()
        bad = []
        for line in BAD_INPUTS + ["\x00NOOP", "NOOP\rQUIT", "NOOP " + "z" * 5000]:
            r.send(line.encode() + b"\r\n")
            code, lines = r.reply()
            for l in lines:
                if l[:3].isdigit() and not re.match(r"^\d{3}[ -]\S.*\S", l):
                    bad.append("%r -> reply line without text: %r" % (line[:40], l))
            if code >= 400:
                text = lines[-1][4:].strip()
                if len(text) < 8:
                    bad.append("%r -> %r: no clear text" % (line[:40], lines[-1]))
        check(not bad, "\n  ".join(bad))
        check(r.cmd("NOOP")[0] == 200, "the session did not survive the bad inputs")
        r.close()
        log = srv.log()
        missing = []
        for line in BAD_INPUTS:
            verb = line.split(" ")[0]
            if ("<- " + line[:60]) not in log and not re.search(r"\b%s\b" % re.escape(verb), log):
                missing.append(line[:40])
        if "line longer than" not in log:
            missing.append("the over-long line")
        if "NUL or bare CR" not in log:
            missing.append("the NUL / bare CR lines")
        check(not missing, "no log line for: %r" % missing)


@test
def test_s4_7_malformed_verbs_answered_and_logged():
    """A line that does not even start with a verb is still an error the
    client gets a text for and the log records."""
    with Server(clear_policy(), tls=False, files={"alice/in.txt": "in\n"}) as srv:
        r = raw(srv)
        r.login()
        for line in MALFORMED:
            code, lines = r.cmd(line)
            check(code == 500 and re.match(r"^500 \S.{6,}", lines[0]), (line, lines))
        check(r.cmd("NOOP")[0] == 200)
        r.close()
        log = srv.log().splitlines()
        # The first word only, bounded, anything but printable ASCII as '?'.
        shown = lambda l: "".join(c if 0x21 <= ord(c) < 0x7f else "?" * len(c.encode())
                                  for c in l.split(" ")[0])[:16]
        missing = [l for l in MALFORMED
                   if not any(shown(l) in g and ("<-" in g or "ommand" in g) for g in log)]
        check(not missing, "no log line for the malformed lines %r:\n%s" %
              (missing, "\n".join(log[-12:])))


@test
def test_s4_7_session_ending_errors_reply_and_log_cause():
    """Every way a session ends on an error: the client gets a 4xx reply with
    a text saying why, and the log names the cause."""
    with Server(clear_policy("active peer\nmax-tries 1\nlogin-grace 2").replace(
            "idle 30", "idle 2"), tls=False, files={"alice/in.txt": "in\n"}) as srv:
        # idle timeout
        r = raw(srv)
        r.login()
        r.sock.settimeout(10)
        code, lines = r.reply()
        check(code == 421 and "idle" in lines[0].lower(), lines)
        r.close()
        check(srv.wait_log("session ended: idle timeout"), srv.log())
        # login grace
        r = raw(srv)
        r.sock.settimeout(10)
        code, lines = r.reply()
        check(code == 421 and "login" in lines[0].lower(), lines)
        r.close()
        check(srv.wait_log("session ended: login grace expired"), srv.log())
        # max tries
        r = raw(srv)
        r.cmd("USER alice")
        code, lines = r.cmd("PASS nope")
        check(code == 421 and "failed login" in lines[0].lower(), lines)
        r.close()
        check(srv.wait_log("session ended: too many failed logins"), srv.log())
        # cross-protocol
        r = raw(srv)
        code, lines = r.cmd("GET / HTTP/1.1")
        check(code == 421 and lines[0][4:].strip(), lines)
        r.close()
        check(srv.wait_log("session ended: cross-protocol command"), srv.log())
        # a data connection that cannot be made: 425 with the reason, logged
        r = raw(srv)
        r.login()
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        port = dead.getsockname()[1]
        dead.close()  # nothing listens there now
        check(r.cmd("PORT 127,0,0,1,%d,%d" % (port >> 8, port & 255))[0] == 200)
        r.send("RETR in.txt\r\n")
        check(r.reply()[0] == 150)
        code, lines = r.reply()
        check(code == 425, lines)
        if not so_error_untranslated():
            check("refused" in lines[0].lower(), lines)
        check(r.cmd("NOOP")[0] == 200, "the session must go on after a failed data connection")
        r.close()
        check(srv.wait_log("data connection failed: connect to 127.0.0.1:%d" % port), srv.log())
    # TLS failure on the control connection: no reply is possible inside a
    # broken handshake, but the log must say what happened.
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        r = raw(srv)
        check(r.cmd("AUTH TLS")[0] == 234)
        r.send(b"this is not a ClientHello\r\n")
        r.closed(timeout=5)
        r.close()
        check(srv.wait_log("session ended: TLS handshake failed"), srv.log())
        check(re.search(r"TLS handshake on the control connection failed: \S", srv.log()),
              srv.log())
