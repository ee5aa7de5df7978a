"""End-to-end test harness: the real ftpsd-inetd under a real super-server.

A test is a function decorated with @test in a tests/e2e/test_*.py module.
It builds a Server from a policy text (placeholders {dir} {root} {cert} {key}
{fp} are filled in), which starts `systemd-socket-activate --inetd` (or the
native LISTEN_FDS mode) on a free 127.0.0.1 port, and talks to it with real
clients. Raise Skip("why") to skip (the runner reports it; the run never
silently passes a skipped test as passed). Every process is started here and
stopped here, by pid; every wait is bounded.
"""
import base64
import ftplib
import hashlib
import os
import pwd
import random
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

BIN = os.environ.get("FTPSD_BIN") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "ftpsd-inetd"))
# The command the binary runs under, before it everywhere a test starts it
# (`make check-cross`: "qemu-mips-static -cpu 24Kc", since binfmt_misc may
# be missing). Sessions then are emulator processes by that name.
WRAPPER = shlex.split(os.environ.get("FTPSD_WRAPPER", ""))
# Under emulation the harness waits longer (startup, --gen-cert, the
# runner's limit); what a test asserts stays as it is.
TIME_SCALE = float(os.environ.get("E2E_TIME_SCALE", "1"))
SESSION_COMMS = {"ftpsd-inetd"} | ({os.path.basename(WRAPPER[0])[:15]} if WRAPPER else set())
TESTS = []
# Servers started and not yet stopped, for the runner to stop when a test
# hangs past its time limit.
LIVE_SERVERS = set()
IS_ROOT = os.geteuid() == 0
RUN_AS = "nobody"


class Skip(Exception):
    pass


def test(fn):
    TESTS.append(fn)
    return fn


def cmd(*args):
    """The argv that runs the binary under test with args."""
    return WRAPPER + [BIN] + list(args)


def exec_line():
    """The binary under test as one command line for a super-server or unit
    file (the emulator named by its full path): (program, its arguments)."""
    if not WRAPPER:
        return BIN, ""
    return shutil.which(WRAPPER[0]) or WRAPPER[0], " ".join(WRAPPER[1:] + [BIN])


def so_error_untranslated():
    """True under Debian 12's qemu-user for MIPS: it passes getsockopt
    (SO_ERROR) through with the host's errno number, and MIPS numbers differ
    (ECONNREFUSED is 146 there, 111 on the host), so the cause of a failed
    non-blocking connect reads "No error information". Shown by a four-line
    C probe; the server's own errno handling is the same as natively."""
    return bool(WRAPPER) and os.path.basename(WRAPPER[0]).startswith("qemu-mips")


def scaled(seconds):
    """A harness wait stretched for emulation (E2E_TIME_SCALE)."""
    return seconds * TIME_SCALE


def native_only(why):
    """Skips the calling test when the binary runs under an emulator: for
    what qemu-user cannot show (the guest's seccomp filter, its memory, its
    system calls as strace sees them)."""
    if WRAPPER:
        raise Skip("under %s: %s" % (os.path.basename(WRAPPER[0]), why))



def read_file(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write_file(path, data, mode=0o644):
    """Writes data (text or bytes) and sets the file's mode."""
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.chmod(path, mode)


def hash_password(pw, iterations=1000, salt=None):
    """A policy password string, computed independently of the server."""
    salt = salt or os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, iterations)
    b64 = lambda b: base64.b64encode(b).decode()
    return "$pbkdf2-sha256$%d$%s$%s" % (iterations, b64(salt), b64(dk))


_CERT_CACHE = {}


def make_cert(directory, name="localhost"):
    """A throw-away ECDSA certificate made by the binary itself (--gen-cert).
    Returns (cert, key, fingerprint)."""
    cert = os.path.join(directory, "server.crt")
    key = os.path.join(directory, "server.key")
    r = subprocess.run(cmd("--gen-cert", cert, key, name), capture_output=True, text=True,
                       timeout=scaled(30))
    if r.returncode != 0:
        return None, None, None
    return cert, key, r.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_all(sock, limit=None):
    """Everything a (TLS) socket yields until EOF, a reset, a TLS error or
    its timeout; at most about `limit` bytes when given."""
    out = bytearray()
    while True:
        try:
            b = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, socket.timeout):
            break
        if not b:
            break
        out += b
        if limit and len(out) >= limit:
            break
    return bytes(out)


# The super-server Server runs the binary under: systemd-socket-activate
# (default) or "busybox" (BusyBox inetd, built by tests/busybox/build.sh;
# FTPSD_BUSYBOX_INETD says where its inetd is).
SUPERSERVER = os.environ.get("FTPSD_SUPERSERVER", "systemd")
BUSYBOX_INETD = os.environ.get("FTPSD_BUSYBOX_INETD") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build-busybox", "inetd"))


def _children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if _stat(int(d))[1] == ppid:
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def _listens(pid, port, v6):
    """True if process pid holds the socket listening on port (not some
    other process that took the port first)."""
    inodes = set()
    try:
        with open("/proc/net/tcp6" if v6 else "/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                p = line.split()
                if p[3] == "0A" and int(p[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add("socket:[%s]" % p[9])
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes:
                return True
        except OSError:
            pass
    return False


class Server:
    """Context manager running the binary under a super-server.

    policy: text; `log stderr` is added unless the text has a `log` line,
    and `run-as nobody` when the tests run as root.
    mode: "inetd" (systemd-socket-activate --inetd) or "fd3" (LISTEN_FDS).
    wrapper: a command the binary runs under (["strace", ...]); sessions are
    then not found by session_pids().
    """

    def __init__(self, policy, mode="inetd", tls=True, host="127.0.0.1", extra_args=(),
                 files=None, auto_run_as=True, wrapper=()):
        self.policy_text = policy
        self.mode = mode
        self.want_tls = tls
        self.host = host
        self.extra_args = list(extra_args)
        self.files = files or {}
        self.proc = None
        self.auto_run_as = auto_run_as
        self.wrapper = list(wrapper)

    def __enter__(self):
        if SUPERSERVER == "busybox" and self.mode != "inetd":
            raise Skip("mode %s is systemd's LISTEN_FDS; BusyBox inetd has only the inetd "
                       "convention (FTPSD_SUPERSERVER=busybox)" % self.mode)
        self.dir = tempfile.mkdtemp(prefix="ftpsd-e2e-")
        os.chmod(self.dir, 0o755)
        self.root = os.path.join(self.dir, "root")
        os.mkdir(self.root)
        for rel, data in self.files.items():
            p = os.path.join(self.root, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode())
        self.cert = self.key = self.fp = None
        if self.want_tls:
            self.cert, self.key, self.fp = make_cert(self.dir)
        text = self.policy_text.format(dir=self.dir, root=self.root, cert=self.cert,
                                       key=self.key, fp=self.fp)
        lines = [l.split("#")[0].split() for l in text.splitlines()]
        keys = {l[0] for l in lines if l}
        head = []
        if "log" not in keys:
            head.append("log stderr")
        if IS_ROOT and self.auto_run_as and "run-as" not in keys:
            head.append("run-as " + RUN_AS)
        if "chroot" not in keys:
            if IS_ROOT and self.auto_run_as:
                head.append("chroot " + self.root)
            else:
                # Without chroot, user roots are host paths.
                text = text.replace(" root=/", " root=%s/" % self.root)
        self.policy = os.path.join(self.dir, "policy")
        with open(self.policy, "w") as f:
            f.write("\n".join(head + [text]) + "\n")
        os.chmod(self.policy, 0o600)
        if IS_ROOT:
            pw = pwd.getpwnam(RUN_AS)
            for base, dirs, files in os.walk(self.root):
                os.chown(base, pw.pw_uid, pw.pw_gid)
                for n in files:
                    os.chown(os.path.join(base, n), pw.pw_uid, pw.pw_gid)
        self.errlog = os.path.join(self.dir, "stderr.log")
        self._start()
        LIVE_SERVERS.add(self)
        return self

    def _start(self):
        if SUPERSERVER == "busybox":
            return self._start_busybox()
        for attempt in range(5):
            self.port = free_port()
            addr = "%s:%d" % (self.host if ":" not in self.host else "[%s]" % self.host, self.port)
            argv = ["systemd-socket-activate", "--accept", "-l", addr]
            if self.mode == "inetd":
                argv.append("--inetd")
            # systemd-socket-activate passes no environment unless told.
            # The CPU feature masks are tests/ktls/uml_run.py's (user-mode
            # Linux keeps no AVX state on some hosts).
            for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "GLIBC_TUNABLES", "OPENSSL_ia32cap",
                        "GNUTLS_CPUID_OVERRIDE"):
                if var in os.environ:
                    argv += ["-E", "%s=%s" % (var, os.environ[var])]
            argv += self.wrapper + cmd("-f", self.policy) + self.extra_args
            self.errf = open(self.errlog, "ab")
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=self.errf, start_new_session=True)
            deadline = time.time() + scaled(5)
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                with open(self.errlog, "rb") as f:
                    if b"Listening on" in f.read():
                        return
                time.sleep(0.02)
            self._stop_proc()
        raise RuntimeError("systemd-socket-activate did not start: " + self.log())

    def _start_busybox(self):
        """BusyBox inetd in the foreground with a private inetd.conf: the
        accepted socket on fds 0, 1 and 2 of a child in a session of its
        own. Under `log stderr` (the harness's default) a launcher script
        sends fd 2 to stderr.log instead, as systemd-socket-activate
        --inetd leaves it, so that the tests can read the log; a policy
        that logs elsewhere gets the socket on fd 2 as a router has it."""
        argv = self.wrapper + cmd("-f", self.policy) + self.extra_args
        with open(self.policy) as f:
            to_stderr = any(l.split()[:2] == ["log", "stderr"] for l in f)
        if to_stderr or any(not a or any(c in a for c in " \t#") for a in argv):
            # inetd.conf has no quoting: anything but plain words goes
            # through a script.
            launcher = os.path.join(self.dir, "launch")
            with open(launcher, "w") as f:
                redirect = " 2>>" + shlex.quote(self.errlog) if to_stderr else ""
                f.write("#!/bin/sh\nexec %s%s\n" % (" ".join(shlex.quote(a) for a in argv),
                                                     redirect))
            os.chmod(launcher, 0o755)
            argv = [launcher]
        v6 = ":" in self.host
        user = "root" if IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name
        self.bb_log = os.path.join(self.dir, "inetd.log")
        for attempt in range(5):
            self.port = free_port()
            conf = os.path.join(self.dir, "inetd.conf")
            with open(conf, "w") as f:
                f.write("%s:%d stream tcp%s nowait %s %s %s\n" % (
                    self.host, self.port, "6" if v6 else "", user, argv[0],
                    " ".join([os.path.basename(argv[0])] + argv[1:])))
            self.errf = open(self.bb_log, "ab")
            self.proc = subprocess.Popen([BUSYBOX_INETD, "-f", "-e", conf],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=self.errf, start_new_session=True)
            deadline = time.time() + 5
            while time.time() < deadline and self.proc.poll() is None:
                if _listens(self.proc.pid, self.port, v6):
                    return
                time.sleep(0.02)
            self._stop_proc()
        with open(self.bb_log, errors="replace") as f:
            raise RuntimeError("busybox inetd did not start: " + f.read())

    def _stop_proc(self):
        if SUPERSERVER == "busybox" and self.proc and self.proc.poll() is None:
            # BusyBox inetd puts every session in a session of its own
            # (setsid): they are not in its process group.
            for pid in _children(self.proc.pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if getattr(self, "errf", None):
            self.errf.close()

    def __exit__(self, *exc):
        LIVE_SERVERS.discard(self)
        self._stop_proc()
        log = self.log()
        # Under `make check-asan` a sanitizer report fails the test that
        # provoked it, even if every reply looked right.
        if exc[0] is None and ("Sanitizer" in log or "runtime error:" in log):
            shutil.rmtree(self.dir, ignore_errors=True)
            raise AssertionError("sanitizer report in the server log:\n" + log[-4000:])
        # Under `make check-ktls` (a kernel with TLS) the kernel must carry
        # every protected data connection that was accepted.
        if exc[0] is None and os.environ.get("FTPSD_EXPECT_KTLS") == "1":
            missed = [l for l in log.splitlines()
                      if "TLS data:" in l and "records in" in l and "records in kernel TLS" not in l]
            if missed:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise AssertionError("data connection not carried by kernel TLS:\n" +
                                     "\n".join(missed[:5]))
        # Sessions are children of the super-server's process group; kill any
        # that outlived it (we started them, by their group id).
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def log(self):
        try:
            with open(self.errlog, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_log(self, needle, timeout=5.0):
        deadline = time.time() + scaled(timeout)
        while time.time() < deadline:
            if needle in self.log():
                return True
            time.sleep(0.05)
        return False

    # ---- clients ----
    def ftp(self, timeout=10):
        f = ftplib.FTP()
        f.connect(self.host, self.port, timeout=timeout)
        return f

    def ftps(self, reuse=True, timeout=10, context=None):
        ctx = context or insecure_context()
        cls = ReusingFTP_TLS if reuse else ftplib.FTP_TLS
        f = cls(context=ctx)
        f.connect(self.host, self.port, timeout=timeout)
        return f

    def raw(self, timeout=10):
        return RawClient(self.host, self.port, timeout)


def stop_all_servers():
    """Stops the super-servers of tests that did not end (the runner's
    time limit): their process groups are ours."""
    for srv in list(LIVE_SERVERS):
        LIVE_SERVERS.discard(srv)
        try:
            srv._stop_proc()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def insecure_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control session, as
    ftpsd requires by default (stock ftplib does not)."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


class RawClient:
    """A plain socket speaking FTP lines, for inputs no client library sends."""

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; got %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def reply(self):
        """A whole (possibly multi-line) reply: (code, [lines])."""
        first = self.line()
        lines = [first]
        if len(first) >= 4 and first[3] == "-":
            code = first[:3]
            while True:
                l = self.line()
                lines.append(l)
                if l.startswith(code + " "):
                    break
        return int(first[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True if the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def check(cond, msg=""):
    if not cond:
        raise AssertionError(msg)


def expect_code(code, fn, *args):
    """Runs an ftplib call that must fail with `code`; returns the text."""
    try:
        r = fn(*args)
    except ftplib.all_errors as e:
        text = str(e)
        check(text.startswith(str(code)), "expected %d, got %r" % (code, text))
        return text
    raise AssertionError("expected %d, got success %r" % (code, r))


# ---- session processes: children of the super-server a test started ----

def _stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    comm = st[st.index("(") + 1:st.rindex(")")]
    rest = st[st.rindex(")") + 2:].split()
    return comm, int(rest[1])  # comm, ppid


def session_pids(srv):
    """Pids of the ftpsd-inetd processes whose parent is srv's super-server."""
    parent = srv.proc.pid
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            comm, ppid = _stat(int(d))
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and comm in SESSION_COMMS:
            out.append(int(d))
    return out


def one_new_session(srv, before, timeout=5):
    """The one session pid that appeared since `before` (a set)."""
    deadline = time.time() + scaled(timeout)
    while time.time() < deadline:
        new = [p for p in session_pids(srv) if p not in before]
        if len(new) == 1:
            return new[0]
        check(len(new) <= 1, "more than one new session: %s" % new)
        time.sleep(0.02)
    raise AssertionError("no session process appeared")


def proc_status(pid):
    """/proc/PID/status as a dict of its fields (text values); {} if gone."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        pass
    return out


def build_has_tls13():
    """True if the binary under test is built with mbed TLS 3 (TLS 1.3)."""
    r = subprocess.run(cmd("-V"), capture_output=True, text=True, timeout=scaled(30))
    return "mbed TLS 3." in r.stdout


def which(name):
    return shutil.which(name)
