"""Deployment: the shipped service files, policy example, man pages and
`make install`, each checked with the real tool that consumes it.

The service files are checked as `make service-files` / `make install`
write them from the templates in contrib/ (tests/e2e/svcfiles.py):
- the xinetd service drives a real `xinetd -dontfork` (port, binary and
  policy rewritten, switched on, bound to 127.0.0.1) through whole
  sessions: clear text, then TLS when the build has it; as installed it is
  off, and xinetd serves nothing.
- the systemd units pass `systemd-analyze verify` (with ExecStart= pointed
  at the binary under test and MANPATH at our man pages) and
  `systemd-analyze security --offline`. Without a running systemd, their
  sandbox is checked piecewise: CapabilityBoundingSet= + NoNewPrivileges=
  applied with setpriv (enough, and each capability needed), and a whole
  session traced with strace against SystemCallFilter= and
  RestrictAddressFamilies=.
- the inetd.conf lines have the inetd field layout, and their argv
  serves a session under the inetd contract (fd 0/1).
- contrib/policy.example passes `-t`, sets only defaults on its active lines,
  and shows every directive the binary knows.
- man/*.{5,8} are silent under `groff -ww` and document every option,
  exit code and directive.
- `make install DESTDIR=...` installs the expected files with the expected
  modes and never overwrites a real policy.

Every check has a negative control or a specific expected value, so a
broken tool or a vacuous comparison fails instead of passing.
"""
import ftplib
import io
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

from ftpsdtest import (BIN, IS_ROOT, WRAPPER, cmd, exec_line, native_only, scaled, RUN_AS, ReusingFTP_TLS, Skip, check, expect_code, free_port,
                       hash_password, insecure_context, make_cert, test, which)
from ftpsdtest import read_file as read, write_file as write
from svcfiles import service_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONTRIB = os.path.join(REPO, "contrib")
MAN8 = os.path.join(REPO, "man", "ftpsd-inetd.8")
MAN5 = os.path.join(REPO, "man", "ftpsd-policy.5")

# SPEC §2: every policy directive. The binary's `-t` output adds any
# directive the implementation grew since (see policy_directives()).
SPEC_DIRECTIVES = [
    "cert", "key", "client-ca", "client-cert", "tls", "tls-min", "ciphers", "implicit",
    "data-reuse", "renegotiate", "keylog", "run-as", "chroot", "pasv-ports", "pasv-address",
    "active", "fxp", "idle", "login-grace", "max-tries", "umask", "upload", "log", "xferlog",
    "banner", "tls-max", "ktls", "sandbox", "log-level", "max-sessions", "max-per-ip", "hash",
]
USER_KEYS = ["password", "cert", "root", "access", "tls", "group", "home", "rate"]


def run(cmd, timeout=60, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def binary_is_sanitized():
    """ASan reserves terabytes of address space: xinetd's rlimit_as would
    stop such a binary before main()."""
    with open(BIN, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"libasan" in data


def chown_tree(root):
    pw = pwd.getpwnam(RUN_AS)
    for base, dirs, files in os.walk(root):
        os.chown(base, pw.pw_uid, pw.pw_gid)
        for n in files:
            os.chown(os.path.join(base, n), pw.pw_uid, pw.pw_gid)


def policy_directives():
    """SPEC §2's directives plus every key the binary's `-t` prints."""
    names = list(SPEC_DIRECTIVES)
    d = tempfile.mkdtemp(prefix="ftpsd-deploy-")
    try:
        p = os.path.join(d, "policy")
        write(p, "tls off\nlog none\n", 0o600)
        r = run(cmd("-t", "-f", p))
        for line in r.stdout.splitlines():
            word = line.split(" ", 1)[0]
            if word and word != "user" and re.fullmatch(r"[a-z][a-z0-9-]*", word) and word not in names:
                names.append(word)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return names


# ------------------------------------------------------------------ xinetd --

def parse_xinetd_service(text):
    """The first service block that is not commented out:
    (name, [(attribute, operator, value)])."""
    name, attrs, inside = None, [], False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if name is None:
            m = re.fullmatch(r"service\s+(\S+)", line)
            if m:
                name = m.group(1)
            continue
        if line == "{":
            inside = True
            continue
        if line == "}":
            break
        m = re.fullmatch(r"(\S+)\s*(\+=|-=|=)\s*(.*)", line)
        check(inside and m is not None, "unparsable xinetd line: %r" % raw)
        attrs.append((m.group(1), m.group(2), m.group(3).strip()))
    check(name is not None and attrs, "no service block in the xinetd service file")
    return name, attrs


class Xinetd:
    """A real xinetd in the foreground, running the generated xinetd
    service with the port, binary and policy rewritten for this test, and
    switched on (it is installed off)."""

    def __init__(self, policy_text, files, want_tls):
        self.policy_text = policy_text
        self.files = files
        self.want_tls = want_tls
        self.proc = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ftpsd-xinetd-")
        os.chmod(self.dir, 0o755)
        self.root = os.path.join(self.dir, "root")
        for rel, data in self.files.items():
            p = os.path.join(self.root, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            write(p, data)
        self.cert = self.key = None
        if self.want_tls:
            self.cert, self.key, _ = make_cert(self.dir)
            if self.cert is None:
                self.__exit__()
                raise Skip("--gen-cert failed: this build has no TLS yet")
        text = self.policy_text.format(cert=self.cert, key=self.key)
        if IS_ROOT:
            # xinetd starts the server as root (user = root): the policy must
            # drop privileges and confine the session.
            head = "run-as %s\nchroot %s\n" % (RUN_AS, self.root)
            chown_tree(self.root)
        else:
            head = "# not root: no run-as, no chroot; user roots are host paths\n"
            text = text.replace(" root=/", " root=%s/" % self.root)
        self.policy = os.path.join(self.dir, "policy")
        write(self.policy, head + text, 0o600)
        self.svclog = os.path.join(self.dir, "service.log")
        self.xlog = os.path.join(self.dir, "xinetd.log")
        try:
            self._start()
        except BaseException:
            self.__exit__()  # `with` does not call it when __enter__ fails
            raise
        return self

    def config(self, port):
        name, attrs = parse_xinetd_service(service_file("xinetd.d/ftpsd"))
        rewrite = {
            "disable": "no",
            "port": str(port),
            "server": exec_line()[0],
            "server_args": (exec_line()[1] + " -f " + self.policy).strip(),
            "log_type": "FILE " + self.svclog,
        }
        extra = []
        if binary_is_sanitized() or WRAPPER:
            # qemu-user reserves 128 MiB for its translation cache alone:
            # the limit would be the emulator's, not the session's.
            rewrite["rlimit_as"] = "UNLIMITED"
            # LeakSanitizer reads /proc at exit, which a chrooted session has
            # not: it would turn every clean exit into status 1.
            extra.append("\tenv = ASAN_OPTIONS=detect_leaks=0")
        out = ["defaults", "{", "\tinstances = 20", "\tcps = 50 10", "}", "",
               "service " + name, "{"]
        for key, op, value in attrs:
            if key == "user" and not IS_ROOT:
                # A non-root xinetd cannot setuid to root (every start fails
                # with "setuid failed") and disables a service without user.
                value = pwd.getpwuid(os.geteuid()).pw_name
            if key == "bind":
                continue
            out.append("\t%s %s %s" % (key, op, rewrite.get(key, value)))
        out += extra + ["\tbind = 127.0.0.1", "}", ""]
        return "\n".join(out)

    def _start(self):
        for attempt in range(5):
            self.port = free_port()
            conf = os.path.join(self.dir, "xinetd.conf")
            write(conf, self.config(self.port), 0o644)
            for p in (self.xlog, self.svclog):
                if os.path.exists(p):
                    os.unlink(p)
            self.out = open(os.path.join(self.dir, "xinetd.out"), "ab")
            self.proc = subprocess.Popen(
                ["xinetd", "-dontfork", "-filelog", self.xlog, "-f", conf, "-pidfile",
                 os.path.join(self.dir, "xinetd.pid")],
                stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.out, start_new_session=True)
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                log = self.xlog_text()
                if "Started working: 1 available service" in log:
                    return
                if "Started working: 0 available services" in log:
                    break  # the port was taken meanwhile: try another
                time.sleep(0.05)
            self._stop()
        raise AssertionError("xinetd did not start the service:\n" + self.xlog_text()
                             + read(os.path.join(self.dir, "xinetd.out")))

    def xlog_text(self):
        try:
            return read(self.xlog)
        except OSError:
            return ""

    def svclog_text(self):
        try:
            return read(self.svclog)
        except OSError:
            return ""

    def wait_exits(self, n, timeout=10):
        """The xinetd EXIT lines once n sessions have ended."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            exits = re.findall(r"EXIT: ftpsd status=(-?\d+)", self.svclog_text())
            if len(exits) >= n:
                return exits
            time.sleep(0.05)
        raise AssertionError("expected %d session exits in the xinetd log:\n%s" % (n, self.svclog_text()))

    def _stop(self):
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
        if getattr(self, "out", None):
            self.out.close()
            self.out = None

    def __exit__(self, *exc):
        self._stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def connect(self, cls=ftplib.FTP, **kw):
        f = cls(**kw)
        f.connect("127.0.0.1", self.port, timeout=10)
        return f


PW = hash_password("xin3td")
XINETD_FILES = {"alice/hello.txt": "hello via xinetd\n", "pub/readme": "public\n"}


def need_xinetd():
    if not which("xinetd"):
        raise Skip("xinetd not installed (apt-get install xinetd)")


@test
def test_xinetd_contrib_service_shape():
    """The generated xinetd service says what the docs say it says, with the
    install's paths, switched off."""
    for prefix, sbin in (("/usr/local", "/usr/local/sbin"), ("/usr", "/usr/sbin")):
        text = service_file("xinetd.d/ftpsd", prefix)
        name, attrs = parse_xinetd_service(text)
        a = {k: v for k, op, v in attrs}
        expected = {
            "socket_type": "stream", "protocol": "tcp", "wait": "no", "user": "root",
            "server": sbin + "/ftpsd-inetd", "server_args": "-f /etc/ftpsd/policy",
            "type": "UNLISTED", "port": "21", "disable": "yes",
        }
        for k, v in expected.items():
            check(a.get(k) == v, "xinetd %s = %r, expected %r (PREFIX=%s)" % (k, a.get(k), v, prefix))
        check("IPv6" in a.get("flags", "").split(), "flags lacks IPv6: %r" % a.get("flags"))
        for k in ("instances", "per_source"):
            check(re.fullmatch(r"[1-9]\d*", a.get(k, "")), "%s must be a positive limit: %r" % (k, a.get(k)))
        check(re.fullmatch(r"\d+ \d+", a.get("cps", "")), "cps must be 'RATE WAIT': %r" % a.get("cps"))
        check(re.search(r"^#\s*port\s*=\s*990$", text, re.M), "the commented port 990 alternative is gone")
        check(re.search(r"^#\s*server\s*=\s*%s/ftpsd-inetd$" % re.escape(sbin), text, re.M),
              "the implicit-FTPS block does not name %s" % sbin)
    a = {k: v for k, op, v in parse_xinetd_service(service_file("xinetd.d/ftpsd", "/usr", "/opt/etc"))[1]}
    check(a.get("server_args") == "-f /opt/etc/ftpsd/policy", "sysconfdir not applied: %r" % a)


def xinetd_start_count(service_text, d):
    """How many services a real xinetd starts from service_text, given with
    the port, the server and its policy made runnable here (and the user
    ours when not root: a non-root xinetd cannot start a root service)."""
    name, attrs = parse_xinetd_service(service_text)
    pol = os.path.join(d, "policy")
    write(pol, "tls off\nlog none\n", 0o600)
    new = {"port": str(free_port()), "server": exec_line()[0],
           "server_args": (exec_line()[1] + " -f " + pol).strip(),
           "user": "root" if IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name}
    out = ["service " + name, "{"]
    out += ["\t%s %s %s" % (k, op, new.get(k, v)) for k, op, v in attrs if k != "bind"]
    out += ["\tbind = 127.0.0.1", "}", ""]
    conf = os.path.join(d, "xinetd.conf")
    write(conf, "\n".join(out))
    xlog = os.path.join(d, "xinetd.log")
    if os.path.exists(xlog):
        os.unlink(xlog)
    with open(os.path.join(d, "xinetd.out"), "ab") as o:
        proc = subprocess.Popen(["xinetd", "-dontfork", "-filelog", xlog, "-f", conf, "-pidfile",
                                 os.path.join(d, "xinetd.pid")], stdin=subprocess.DEVNULL,
                                stdout=o, stderr=o, start_new_session=True)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            text = read(xlog) if os.path.exists(xlog) else ""
            m = re.search(r"Started working: (\d+) available service", text)
            if m:
                return int(m.group(1)), text
            time.sleep(0.05)
        raise AssertionError("xinetd did not start:\n" + text)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)


@test
def test_xinetd_installed_service_is_off():
    """As installed (disable = yes), a real xinetd serves nothing: installing
    opens no port before there is a policy. The same file with `disable =
    no` is served, so that one line is the difference."""
    need_xinetd()
    d = tempfile.mkdtemp(prefix="ftpsd-xinetd-off-")
    try:
        text = service_file("xinetd.d/ftpsd")
        n, log = xinetd_start_count(text, d)
        check(n == 0, "the installed xinetd service is served:\n" + log)
        on = re.sub(r"^(\s*disable\s*=\s*)yes$", r"\1no", text, count=1, flags=re.M)
        check(on != text, "no `disable = yes` line to switch")
        n, log = xinetd_start_count(on, d)
        check(n == 1, "switched on, the service should be served:\n" + log)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def test_xinetd_clear_session():
    need_xinetd()
    policy = ("tls off\nlog syslog\n"
              "user alice password=%s root=/alice access=rwadmn\n"
              "user anonymous root=/pub access=r\n" % PW)
    with Xinetd(policy, XINETD_FILES, want_tls=False) as x:
        f = x.connect()
        check(f.getwelcome().startswith("220 "), f.getwelcome())
        check(f.login("alice", "xin3td").startswith("230"))
        check(f.pwd() == "/", f.pwd())
        # PASV through xinetd's AF_INET6 socket: the server sees ::ffff:127.0.0.1
        # and must still answer 227 with 127,0,0,1.
        check(sorted(f.nlst()) == ["hello.txt"], f.nlst())
        got = io.BytesIO()
        check(f.retrbinary("RETR hello.txt", got.write).startswith("226"))
        check(got.getvalue() == b"hello via xinetd\n", got.getvalue())
        blob = os.urandom(100 * 1024)
        check(f.storbinary("STOR up.bin", io.BytesIO(blob)).startswith("226"))
        check(f.quit().startswith("221"))
        up = os.path.join(x.root, "alice", "up.bin")
        check(read(up, "rb") == blob, "uploaded file differs")
        if IS_ROOT:
            # Started as root by xinetd (user = root), the session wrote as run-as.
            check(os.stat(up).st_uid == pwd.getpwnam(RUN_AS).pw_uid,
                  "upload owned by uid %d, not %s" % (os.stat(up).st_uid, RUN_AS))

        a = x.connect()
        check(a.login("anonymous", "guest@").startswith("230"))
        got = io.BytesIO()
        a.retrbinary("RETR readme", got.write)
        check(got.getvalue() == b"public\n", got.getvalue())
        expect_code(550, a.storbinary, "STOR nope", io.BytesIO(b"x"))
        a.quit()
        check(not os.path.exists(os.path.join(x.root, "pub", "nope")), "read-only user wrote a file")

        exits = x.wait_exits(2)
        check(exits == ["0", "0"], "session exit statuses %r, expected two 0s:\n%s" % (exits, x.svclog_text()))
        check(re.search(r"START: ftpsd .*from=(::ffff:)?127\.0\.0\.1", x.svclog_text()),
              "xinetd did not log the session start:\n" + x.svclog_text())


@test
def test_xinetd_tls_session():
    need_xinetd()
    policy = ("cert {cert}\nkey {key}\ntls auth+data\nlog syslog\n"
              "user alice password=%s root=/alice access=rwadmn\n" % PW)
    with Xinetd(policy, XINETD_FILES, want_tls=True) as x:
        # The policy demands TLS before login: a clear USER is refused.
        c = x.connect()
        text = expect_code(530, c.login, "alice", "xin3td")
        check("TLS" in text, "the 530 should name the TLS rule: %r" % text)
        c.close()

        f = x.connect(ReusingFTP_TLS, context=insecure_context())
        try:
            reply = f.auth()
        except ftplib.error_perm as e:
            if str(e).startswith("504"):
                f.close()
                raise Skip("server answers 504 to AUTH TLS: TLS not built yet")
            raise
        check(reply.startswith("234"), "AUTH TLS: %r" % reply)
        check(f.login("alice", "xin3td").startswith("230"))
        check(f.prot_p().startswith("200"))
        got = io.BytesIO()
        check(f.retrbinary("RETR hello.txt", got.write).startswith("226"))
        check(got.getvalue() == b"hello via xinetd\n", got.getvalue())
        blob = os.urandom(300 * 1024)
        check(f.storbinary("STOR tls.bin", io.BytesIO(blob)).startswith("226"))
        check(f.quit().startswith("221"))
        check(read(os.path.join(x.root, "alice", "tls.bin"), "rb") == blob, "TLS upload differs")
        # The refused clear session ended by the client closing, the TLS one
        # by QUIT: both are normal ends (exit 0).
        exits = x.wait_exits(2)
        check(exits == ["0", "0"], "exit statuses %r:\n%s" % (exits, x.svclog_text()))


# ----------------------------------------------------------------- systemd --

UNITS = ["ftpsd.socket", "ftpsd@.service", "ftpsd-listenfds.socket", "ftpsd-listenfds@.service"]


def unit_settings(text):
    """[(section, key, value)] of a unit file."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            section = m.group(1)
            continue
        k, _, v = line.partition("=")
        out.append((section, k.strip(), v.strip()))
    return out


def get1(settings, section, key):
    vals = [v for s, k, v in settings if s == section and k == key]
    return vals[-1] if vals else None


@test
def test_systemd_units_contents():
    for sock in ("ftpsd.socket", "ftpsd-listenfds.socket"):
        st = unit_settings(service_file("systemd/" + sock))
        check(get1(st, "Socket", "Accept") == "yes", sock + ": Accept=yes missing")
        check(get1(st, "Socket", "ListenStream") == "21", sock + ": ListenStream=21 missing")
        for k in ("MaxConnections", "MaxConnectionsPerSource"):
            check(re.fullmatch(r"[1-9]\d*", get1(st, "Socket", k) or ""), "%s: %s not set" % (sock, k))
    for svc, inetd in (("ftpsd@.service", True), ("ftpsd-listenfds@.service", False)):
        st = unit_settings(service_file("systemd/" + svc))
        g = lambda k: get1(st, "Service", k)
        check(g("ExecStart") == "/usr/local/sbin/ftpsd-inetd -f /etc/ftpsd/policy",
              "%s ExecStart=%r" % (svc, g("ExecStart")))
        usr = unit_settings(service_file("systemd/" + svc, "/usr", "/opt/etc"))
        check(get1(usr, "Service", "ExecStart") == "/usr/sbin/ftpsd-inetd -f /opt/etc/ftpsd/policy",
              "%s with PREFIX=/usr sysconfdir=/opt/etc: ExecStart=%r"
              % (svc, get1(usr, "Service", "ExecStart")))
        # Sessions that end with status 1 or 3 must not stay behind as
        # failed instances (one per refused connection).
        check(get1(st, "Unit", "CollectMode") == "inactive-or-failed",
              "%s: CollectMode=%r" % (svc, get1(st, "Unit", "CollectMode")))
        if inetd:
            check(g("StandardInput") == "socket" and g("StandardOutput") == "socket",
                  svc + ": the inetd variant needs StandardInput/Output=socket")
        else:
            # The native path: the connection must arrive as fd 3, not stdin.
            check(g("StandardInput") != "socket" and g("StandardOutput") != "socket",
                  svc + ": the LISTEN_FDS variant must not put the socket on stdin/stdout")
        check(g("StandardError") == "journal", svc + ": StandardError=journal")
        caps = set((g("CapabilityBoundingSet") or "").split())
        check(caps == {"CAP_SYS_CHROOT", "CAP_SETUID", "CAP_SETGID"},
              "%s capabilities %r" % (svc, sorted(caps)))
        for k, v in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                     ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX")):
            check(g(k) == v, "%s: %s=%r, expected %r" % (svc, k, g(k), v))
        filt = (g("SystemCallFilter") or "").split()
        check("@system-service" in filt and "chroot" in filt,
              "%s: SystemCallFilter must allow @system-service and chroot: %r" % (svc, filt))
        check(re.fullmatch(r"\d+[KMG]", g("MemoryMax") or ""), svc + ": MemoryMax missing")


def staged_units(d, exec_path):
    """Copies the units into d with ExecStart= pointed at exec_path, and our
    man pages where `man` finds them (Documentation= is checked too)."""
    for u in UNITS:
        text = service_file("systemd/" + u)
        check("/usr/local/sbin/ftpsd-inetd" in text or not u.endswith(".service"), u)
        write(os.path.join(d, u), text.replace("/usr/local/sbin/ftpsd-inetd", exec_path))
    for sec, page in (("5", MAN5), ("8", MAN8)):
        os.makedirs(os.path.join(d, "man", "man" + sec), exist_ok=True)
        shutil.copy(page, os.path.join(d, "man", "man" + sec))


@test
def test_systemd_analyze_verify():
    if not which("systemd-analyze"):
        raise Skip("systemd-analyze not installed")
    d = tempfile.mkdtemp(prefix="ftpsd-units-")
    try:
        staged_units(d, BIN)
        env = dict(os.environ, MANPATH=os.path.join(d, "man"), SYSTEMD_LOG_COLOR="0")
        r = run(["systemd-analyze", "verify"] + UNITS, cwd=d, env=env)
        check(r.returncode == 0 and r.stdout + r.stderr == "",
              "systemd-analyze verify (rc %d):\n%s%s" % (r.returncode, r.stdout, r.stderr))

        # Negative controls: the same check fails on a missing binary and on
        # a misspelt setting, so the silence above means something.
        bad = os.path.join(d, "bad")
        os.mkdir(bad)
        staged_units(bad, "/nonexistent/ftpsd-inetd")
        r = run(["systemd-analyze", "verify", "ftpsd.socket", "ftpsd@.service"], cwd=bad, env=env)
        check(r.returncode != 0 and "not executable" in r.stdout + r.stderr,
              "a missing ExecStart binary went unnoticed: rc %d %s" % (r.returncode, r.stderr))
        staged_units(bad, BIN)
        svc = os.path.join(bad, "ftpsd@.service")
        write(svc, read(svc).replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"))
        r = run(["systemd-analyze", "verify", "ftpsd.socket", "ftpsd@.service"], cwd=bad, env=env)
        check("NoNewPrivilege" in r.stdout + r.stderr, "a misspelt setting went unnoticed: " + r.stderr)

        # Hardening does not silently regress: systemd's own exposure score.
        for u in ("ftpsd@.service", "ftpsd-listenfds@.service"):
            inst = u.replace("@.", "@x.")
            shutil.copy(os.path.join(d, u), os.path.join(d, inst))
            r = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", "./" + inst],
                    cwd=d, env=env)
            m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
            check(m is not None, "no exposure score: %s %s" % (r.stdout[-500:], r.stderr))
            check(float(m.group(1)) <= 3.0, "%s exposure %s > 3.0" % (u, m.group(1)))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def session_under_setpriv(setpriv_args):
    """One TLS session (or clear, without TLS in the build) of the real binary
    started as root under `setpriv setpriv_args`. Returns (ok, detail)."""
    d = tempfile.mkdtemp(prefix="ftpsd-caps-")
    proc = None
    try:
        os.chmod(d, 0o755)
        root = os.path.join(d, "root")
        os.makedirs(os.path.join(root, "alice"))
        write(os.path.join(root, "alice", "f.txt"), "caps\n")
        chown_tree(root)
        cert, key, _ = make_cert(d)  # key: 0600, owned by root
        tls = "cert %s\nkey %s\ntls auth+data\n" % (cert, key) if cert else "tls off\n"
        pol = os.path.join(d, "policy")
        write(pol, tls + "log stderr\nrun-as %s\nchroot %s\nuser alice password=%s root=/alice access=r\n"
              % (RUN_AS, root, PW), 0o600)
        errlog = os.path.join(d, "err.log")
        for attempt in range(5):
            port = free_port()
            with open(errlog, "ab") as ef:
                # systemd-socket-activate passes no environment unless told:
                # a sanitizer build's options must reach it (no LSan at exit).
                env = []
                for v in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
                    if v in os.environ:
                        env += ["-E", "%s=%s" % (v, os.environ[v])]
                proc = subprocess.Popen(
                    ["systemd-socket-activate", "--accept", "--inetd", "-l", "127.0.0.1:%d" % port]
                    + env + ["setpriv"] + setpriv_args + cmd("-f", pol),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=ef, start_new_session=True)
            deadline = time.time() + 5
            while time.time() < deadline and proc.poll() is None:
                if b"Listening on" in read(errlog, "rb"):
                    break
                time.sleep(0.02)
            if proc.poll() is None:
                break
        try:
            if cert:
                f = ReusingFTP_TLS(context=insecure_context())
                f.connect("127.0.0.1", port, timeout=10)
                f.login("alice", "xin3td")
                f.prot_p()
            else:
                f = ftplib.FTP()
                f.connect("127.0.0.1", port, timeout=10)
                f.login("alice", "xin3td")
            got = io.BytesIO()
            f.retrbinary("RETR f.txt", got.write)
            f.quit()
            return got.getvalue() == b"caps\n", read(errlog)
        except (ftplib.all_errors + (EOFError,)) as e:
            return False, "%s\n%s" % (e, read(errlog))
    finally:
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        shutil.rmtree(d, ignore_errors=True)


@test
def test_systemd_capability_set_suffices():
    """The units' CapabilityBoundingSet + NoNewPrivileges, applied with
    setpriv (no systemd needed): a root-started session can still read its
    root-only key, chroot and drop to run-as; and one capability less breaks
    it, so the set is also minimal."""
    if not IS_ROOT:
        raise Skip("needs root (the unit starts the server as root)")
    if not (which("setpriv") and which("systemd-socket-activate")):
        raise Skip("setpriv or systemd-socket-activate not installed")
    st = unit_settings(service_file("systemd/ftpsd@.service"))
    caps = (get1(st, "Service", "CapabilityBoundingSet") or "").split()
    check(caps, "no CapabilityBoundingSet in ftpsd@.service")
    bset = lambda cs: ["--bounding-set", ",".join(["-all"] + ["+" + c[4:].lower() for c in cs])]
    nnp = ["--no-new-privs"] if get1(st, "Service", "NoNewPrivileges") == "yes" else []
    ok, detail = session_under_setpriv(bset(caps) + nnp)
    check(ok, "a session under the unit's capabilities failed:\n" + detail)
    # Each capability is needed (chroot; setgroups/setgid; setuid): without
    # it the server refuses the session and says why in its log.
    for missing in caps:
        ok, detail = session_under_setpriv(bset([c for c in caps if c != missing]) + nnp)
        check(not ok, "the session worked without %s: drop it from the units" % missing)
        check(re.search(r"error: .*(chroot|setgroups|setgid|setuid)", detail),
              "without %s the session failed for another reason:\n%s" % (missing, detail))


def syscall_set(group, seen=None):
    """The system calls of a systemd filter group, nested groups expanded."""
    seen = set() if seen is None else seen
    if group in seen:
        return set()
    seen.add(group)
    r = run(["systemd-analyze", "syscall-filter", group])
    check(r.returncode == 0, "systemd-analyze syscall-filter %s: %s" % (group, r.stderr))
    out = set()
    for line in r.stdout.splitlines()[1:]:
        w = line.strip()
        if not w or w.startswith("#"):
            continue
        out |= syscall_set(w, seen) if w.startswith("@") else {w}
    return out


@test
def test_systemd_syscall_filter_covers_session():
    """Every system call of a whole session (TLS login, listing, download,
    atomic upload, mkdir, rename, delete, quit; chroot and the privilege drop
    when root) is allowed by the units' SystemCallFilter=, traced with strace.
    Under the filter a missing call fails with EPERM: this is where it would
    show."""
    native_only("strace would see the emulator's host system calls, not the guest's")
    for tool in ("strace", "systemd-analyze", "systemd-socket-activate"):
        if not which(tool):
            raise Skip(tool + " not installed")
    if binary_is_sanitized():
        raise Skip("a sanitizer runtime makes system calls the product does not")
    for u in ("ftpsd@.service", "ftpsd-listenfds@.service"):
        st = unit_settings(service_file("systemd/" + u))
        filt = [v for sec, k, v in st if sec == "Service" and k == "SystemCallFilter"]
        check(filt, u + ": no SystemCallFilter=")
        allowed = set()
        for v in filt:
            for w in v.split():
                check(not w.startswith("~"), u + ": a deny-list entry in SystemCallFilter: " + w)
                allowed |= syscall_set(w) if w.startswith("@") else {w}
        if u == "ftpsd@.service":
            first = allowed
        else:
            check(allowed == first, "the two services allow different system calls")
    check("chroot" in first and "setresuid" in first and "getrandom" in first, sorted(first)[:10])

    d = tempfile.mkdtemp(prefix="ftpsd-seccomp-")
    proc = None
    try:
        os.chmod(d, 0o755)
        root = os.path.join(d, "root")
        os.makedirs(os.path.join(root, "alice"))
        write(os.path.join(root, "alice", "f.txt"), "trace\n")
        cert, key, _ = make_cert(d)
        tls = "cert %s\nkey %s\ntls auth+data\n" % (cert, key) if cert else "tls off\n"
        if IS_ROOT:
            chown_tree(root)
            head, uroot = "run-as %s\nchroot %s\n" % (RUN_AS, root), "/alice"
        else:
            head, uroot = "", os.path.join(root, "alice")
        pol = os.path.join(d, "policy")
        write(pol, head + tls + "log syslog\nuser alice password=%s root=%s access=rwadmn\n"
              % (PW, uroot), 0o600)
        trace = os.path.join(d, "trace")
        errlog = os.path.join(d, "err.log")
        for attempt in range(5):
            port = free_port()
            with open(errlog, "ab") as ef:
                proc = subprocess.Popen(
                    ["systemd-socket-activate", "--accept", "--inetd", "-l", "127.0.0.1:%d" % port,
                     "strace", "-f", "-q", "-o", trace, BIN, "-f", pol],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=ef, start_new_session=True)
            deadline = time.time() + 5
            while time.time() < deadline and proc.poll() is None:
                if b"Listening on" in read(errlog, "rb"):
                    break
                time.sleep(0.02)
            if proc.poll() is None:
                break
        if cert:
            f = ReusingFTP_TLS(context=insecure_context())
            f.connect("127.0.0.1", port, timeout=20)
            f.login("alice", "xin3td")
            f.prot_p()
        else:
            f = ftplib.FTP()
            f.connect("127.0.0.1", port, timeout=20)
            f.login("alice", "xin3td")
        check(f.nlst() == ["f.txt"], "listing under strace")
        got = io.BytesIO()
        f.retrbinary("RETR f.txt", got.write)
        check(got.getvalue() == b"trace\n", got.getvalue())
        f.storbinary("STOR up.bin", io.BytesIO(os.urandom(50000)))
        f.mkd("dir")
        f.rename("up.bin", "dir/up2.bin")
        f.delete("dir/up2.bin")
        f.rmd("dir")
        check(f.quit().startswith("221"))
        deadline = time.time() + 10
        calls = set()
        while time.time() < deadline:
            text = read(trace) if os.path.exists(trace) else ""
            if "+++ exited with" in text:
                calls = set(re.findall(r"^(?:\d+\s+)?([a-z_][a-z0-9_]*)\(", text, re.M))
                families = set(re.findall(r"\bsocket\((AF_\w+)", text))
                break
            time.sleep(0.05)
        check(calls, "no complete strace output:\n" + (read(trace) if os.path.exists(trace) else ""))
        check({"execve", "read", "write"} <= calls, "the trace looks empty: %r" % sorted(calls))
        if IS_ROOT:
            check("chroot" in calls, "the traced session did not chroot: %r" % sorted(calls))
        missing = sorted(calls - first)
        check(not missing, "system calls outside SystemCallFilter= (EPERM under the unit): %r" % missing)
        st = unit_settings(service_file("systemd/ftpsd@.service"))
        af = set((get1(st, "Service", "RestrictAddressFamilies") or "").split())
        check(families and families <= af, "socket families %r outside RestrictAddressFamilies=%r"
              % (sorted(families), sorted(af)))
    finally:
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------- inetd --

def inetd_lines(text, commented=False):
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if commented and line.startswith("#"):
            line = line[1:].strip()
        elif line.startswith("#") or not line:
            continue
        f = line.split()
        if len(f) >= 7 and f[1] == "stream" and f[0] in ("ftp", "ftps", "990", "2121"):
            out.append(f)
    return out


@test
def test_inetd_conf_lines():
    # Written for PREFIX=/usr, where distribution and router packages put
    # the binary; the default PREFIX gives /usr/local/sbin.
    local = inetd_lines(service_file("inetd.conf"))
    check(local and local[0][5] == "/usr/local/sbin/ftpsd-inetd", "default PREFIX: %r" % local)
    text = service_file("inetd.conf", "/usr")
    active = inetd_lines(text)
    check(len(active) == 1, "exactly one active line expected: %r" % active)
    f = active[0]
    check(f[:6] == ["ftp", "stream", "tcp", "nowait", "root", "/usr/sbin/ftpsd-inetd"], f)
    check(f[6:] == ["ftpsd-inetd", "-f", "/etc/ftpsd/policy"], f[6:])
    implicit = [l for l in inetd_lines(text, commented=True) if l[0] == "ftps"]
    check(implicit and implicit[0][6:] == ["ftpsd-inetd", "-f", "/etc/ftpsd/policy-implicit"],
          "the ftps/990 line is missing: %r" % implicit)
    if not which("systemd-socket-activate"):
        raise Skip("systemd-socket-activate not installed")
    # The line's argv under the inetd contract (fd 0/1 = the connection), with
    # the policy path pointed at a test policy.
    d = tempfile.mkdtemp(prefix="ftpsd-inetd-")
    proc = None
    try:
        os.chmod(d, 0o755)
        os.makedirs(os.path.join(d, "root", "pub"))
        write(os.path.join(d, "root", "pub", "f"), "inetd\n")
        pol = os.path.join(d, "policy")
        head = "run-as %s\nchroot %s\n" % (RUN_AS, os.path.join(d, "root")) if IS_ROOT else ""
        root = "/pub" if IS_ROOT else os.path.join(d, "root", "pub")
        write(pol, head + "tls off\nlog none\nuser anonymous root=%s access=r\n" % root, 0o600)
        if IS_ROOT:
            chown_tree(os.path.join(d, "root"))
        argv = cmd(*[pol if a == "/etc/ftpsd/policy" else a for a in f[7:]])
        for attempt in range(5):
            port = free_port()
            errlog = open(os.path.join(d, "ssa.log"), "wb")
            proc = subprocess.Popen(["systemd-socket-activate", "--accept", "--inetd", "-l",
                                     "127.0.0.1:%d" % port] + argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=errlog, start_new_session=True)
            errlog.close()
            deadline = time.time() + 5
            while time.time() < deadline and proc.poll() is None:
                if b"Listening on" in read(os.path.join(d, "ssa.log"), "rb"):
                    break
                time.sleep(0.02)
            if proc.poll() is None:
                break
        c = ftplib.FTP()
        c.connect("127.0.0.1", port, timeout=10)
        check(c.login().startswith("230"))
        got = io.BytesIO()
        c.retrbinary("RETR f", got.write)
        check(got.getvalue() == b"inetd\n", got.getvalue())
        c.quit()
    finally:
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------- policy.example --

@test
def test_policy_example():
    example = read(os.path.join(CONTRIB, "policy.example"))
    for kw in policy_directives():
        check(re.search(r"^#?%s\s" % re.escape(kw), example, re.M),
              "policy.example does not show the directive %r" % kw)
    check("--hash-password" in example, "policy.example must say how to make a hash")
    check(re.search(r"^user anonymous .*\btls=off\b", example, re.M), "anonymous tls=off example gone")
    check("ProFTPD" in example and "clear" in example, "the per-user exemption warning is gone")

    d = tempfile.mkdtemp(prefix="ftpsd-example-")
    try:
        cert, key, _ = make_cert(d)
        if cert is None:
            raise Skip("--gen-cert failed: this build has no TLS yet")
        chroot = os.path.join(d, "srv")
        for sub in ("alice", "carol", "pub"):
            os.makedirs(os.path.join(chroot, sub))
        text = example.replace("/etc/ftpsd/server.crt", cert).replace("/etc/ftpsd/server.key", key)
        text = re.sub(r"^chroot\s+/srv/ftp$", "chroot " + chroot, text, flags=re.M)
        if IS_ROOT:
            text = re.sub(r"^run-as\s+ftp$", "run-as " + RUN_AS, text, flags=re.M)
        else:
            text = re.sub(r"^(run-as|chroot)\s.*$", "", text, flags=re.M)
            text = text.replace(" root=/", " root=%s/" % chroot)
        pol = os.path.join(d, "policy")
        write(pol, text, 0o600)
        r = run(cmd("-t", "-f", pol))
        check(r.returncode == 0, "policy.example fails -t:\n" + r.stdout + r.stderr)
        users = {l.split()[1]: l for l in r.stdout.splitlines() if l.startswith("user ")}
        check(set(users) == {"alice", "carol", "anonymous"}, sorted(users))
        check("access=rwadmn" in users["carol"] and "tls=on" in users["carol"],
              "carol should get rwadmn and tls=on from group staff: " + users["carol"])
        check("access=r " in users["anonymous"] + " " and "tls=off" in users["anonymous"]
              and "login=anonymous" in users["anonymous"], users["anonymous"])
        check("login=password" in users["alice"], users["alice"])

        # Every active line outside certificates, privileges and users sets
        # the default: -t of the example and of a policy without those lines
        # print the same settings.
        keep = ("cert", "key", "run-as", "chroot")
        bare = "\n".join(l for l in text.splitlines() if l.split()[:1] and l.split()[0] in keep)
        pol2 = os.path.join(d, "bare")
        write(pol2, bare + "\n", 0o600)
        r2 = run(cmd("-t", "-f", pol2))
        check(r2.returncode == 0, r2.stdout + r2.stderr)
        settings = lambda out: [l for l in out.splitlines() if not l.startswith("user ")]
        check(settings(r.stdout) == settings(r2.stdout),
              "an active line of policy.example is not the default:\n%s\n---\n%s"
              % ("\n".join(settings(r.stdout)), "\n".join(settings(r2.stdout))))
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------- man pages --

def tp_tags(path):
    """First words of the .TP/.TQ tags of a man page, escapes removed."""
    lines = read(path).splitlines()
    tags = []
    for i, line in enumerate(lines[:-1]):
        if line.startswith((".TP", ".TQ")):
            tag = lines[i + 1]
            tag = re.sub(r"^\.(B|I|BI|BR|IR|RB)\s+", "", tag)
            tag = re.sub(r"\\f[BIRP]", "", tag).replace("\\-", "-").replace('"', "")
            if tag.split():
                tags.append(tag.split()[0])
    return tags


@test
def test_man_pages_groff_clean():
    if not which("groff"):
        raise Skip("groff not installed (apt-get install groff-base)")
    for page in (MAN8, MAN5):
        for args in (["-man"], ["-t", "-man"]):
            r = run(["groff"] + args + ["-ww", "-z", page])
            check(r.returncode == 0 and r.stdout + r.stderr == "",
                  "groff %s -ww -z %s:\n%s" % (" ".join(args), page, r.stdout + r.stderr))
    # Negative control: groff -ww does report a bad request here.
    d = tempfile.mkdtemp(prefix="ftpsd-man-")
    try:
        bad = os.path.join(d, "bad.8")
        write(bad, read(MAN8) + ".XYZZY oops\n")
        r = run(["groff", "-man", "-ww", "-z", bad])
        check("XYZZY" in r.stderr, "groff -ww missed an undefined macro: %r" % r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if which("man"):
        for page, title in ((MAN8, "FTPSD-INETD(8)"), (MAN5, "FTPSD-POLICY(5)")):
            r = run(["man", "-l", page], env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="",
                                                  PAGER="cat", MANPAGER="cat"))
            check(r.returncode == 0, "man -l %s: %s" % (page, r.stderr))
            text = re.sub(r".\x08", "", r.stdout)
            check(text.startswith(title) and "\nNAME\n" in text, text[:200])
            # tbl reports tables that do not fit into the rendered text itself.
            check("warning" not in r.stderr and "table wider" not in text,
                  "man -l %s complains:\n%s" % (page, r.stderr))


@test
def test_man_pages_cover_the_contract():
    tags8 = tp_tags(MAN8)
    for opt in ("-f", "-t", "--hash-password", "-i", "--gen-cert", "-V"):
        check(opt in tags8, "ftpsd-inetd.8 does not document %s (tags: %r)" % (opt, tags8))
    for code in ("0", "1", "2", "3", "70"):
        check(code in tags8, "ftpsd-inetd.8 lacks exit status %s" % code)
    for word in ("SIGTERM", "SIGPIPE", "LISTEN_FDS", "LISTEN_PID"):
        check(word in tags8, "ftpsd-inetd.8 lacks %s" % word)
    src8 = read(MAN8)
    check("SIGHUP" in src8 and "session=self.sock.session" in src8 and "ssl\\-force true" in src8,
          "ftpsd-inetd.8 lost the SIGHUP, Python ftplib or lftp notes")
    tags5 = tp_tags(MAN5)
    for kw in policy_directives():
        check(kw in tags5, "ftpsd-policy.5 does not document the directive %r" % kw)
    for k in USER_KEYS:
        check(any(t.startswith(k + "=") for t in tags5), "ftpsd-policy.5 lacks the user key %s=" % k)
    src5 = read(MAN5)
    for section in ("ACCESS LETTERS", "TLS POLICY", "SECURITY NOTES"):
        check(".SH %s" % section in src5, "ftpsd-policy.5 lacks the section " + section)
    for tls in ("off", "optional", "auth", "ctrl", "data", "on", "auth+data"):
        check(re.search(r"^%s\t" % re.escape(tls), src5, re.M), "TLS table lacks the row " + tls)


# ----------------------------------------------------------------- install --

def make_install(destdir, *extra):
    return run(["make", "-s", "-C", REPO, "install", "DESTDIR=" + destdir, "BIN=" + BIN, "-o", BIN]
               + list(extra), timeout=120)


def make_uninstall(destdir, *extra):
    return run(["make", "-s", "-C", REPO, "uninstall", "DESTDIR=" + destdir, "BIN=" + BIN, "-o", BIN]
               + list(extra), timeout=120)


def mode(path):
    return os.stat(path).st_mode & 0o7777


@test
def test_make_install_destdir():
    if not which("make"):
        raise Skip("make not installed")
    d = tempfile.mkdtemp(prefix="ftpsd-install-")
    try:
        r = make_install(d)
        check(r.returncode == 0, "make install failed:\n" + r.stdout + r.stderr)
        sbin = os.path.join(d, "usr/local/sbin/ftpsd-inetd")
        man8 = os.path.join(d, "usr/local/share/man/man8/ftpsd-inetd.8")
        man5 = os.path.join(d, "usr/local/share/man/man5/ftpsd-policy.5")
        etc = os.path.join(d, "etc/ftpsd")
        example = os.path.join(etc, "policy.example")
        expected = {sbin: (0o755, read(BIN, "rb")), man8: (0o644, read(MAN8, "rb")),
                    man5: (0o644, read(MAN5, "rb")),
                    example: (0o644, read(os.path.join(CONTRIB, "policy.example"), "rb"))}
        for path, (m, data) in expected.items():
            check(os.path.isfile(path), "not installed: " + path)
            check(mode(path) == m, "%s mode %o, expected %o" % (path, mode(path), m))
            check(read(path, "rb") == data, "%s differs from its source" % path)
        check(mode(etc) == 0o755, "%s mode %o" % (etc, mode(etc)))
        check(sorted(os.listdir(etc)) == ["policy.example"], "install made more than the example: %r"
              % os.listdir(etc))
        r = run(WRAPPER + [sbin, "-V"])
        check(r.returncode == 0 and r.stdout.startswith("ftpsd-inetd"), "installed -V: %r" % r.stdout)

        # An admin's policy and directory mode survive a reinstall; the
        # example is refreshed.
        policy = os.path.join(etc, "policy")
        write(policy, "# the admin's own policy\ntls off\n", 0o600)
        os.chmod(etc, 0o750)
        write(example, "stale\n", 0o644)
        r = make_install(d)
        check(r.returncode == 0, r.stdout + r.stderr)
        check(read(policy) == "# the admin's own policy\ntls off\n", "make install overwrote the policy")
        check(mode(policy) == 0o600, "policy mode changed to %o" % mode(policy))
        check(mode(etc) == 0o750, "make install changed %s to %o" % (etc, mode(etc)))
        check(read(example, "rb") == expected[example][1], "policy.example not refreshed")
        check("kept the existing" in r.stdout, "install should say it kept the policy: %r" % r.stdout)

        # Uninstall removes what install put there, and nothing of the admin's.
        r = make_uninstall(d)
        check(r.returncode == 0, r.stdout + r.stderr)
        for path in (sbin, man8, man5, example):
            check(not os.path.exists(path), "uninstall left " + path)
        check(read(policy) == "# the admin's own policy\ntls off\n", "uninstall touched the policy")

        # Variables: PREFIX and sysconfdir move everything; without a policy
        # the directory goes on uninstall.
        d2 = os.path.join(d, "stage2")
        r = make_install(d2, "PREFIX=/usr", "sysconfdir=/opt/etc")
        check(r.returncode == 0, r.stdout + r.stderr)
        for rel in ("usr/sbin/ftpsd-inetd", "usr/share/man/man8/ftpsd-inetd.8",
                    "usr/share/man/man5/ftpsd-policy.5", "opt/etc/ftpsd/policy.example"):
            check(os.path.isfile(os.path.join(d2, rel)), "PREFIX/sysconfdir install lacks " + rel)
        check(not os.path.exists(os.path.join(d2, "usr/local")), "PREFIX=/usr still used /usr/local")
        r = make_uninstall(d2, "PREFIX=/usr", "sysconfdir=/opt/etc")
        check(r.returncode == 0, r.stdout + r.stderr)
        check(not os.path.exists(os.path.join(d2, "opt/etc/ftpsd")), "empty policy dir left behind")
    finally:
        shutil.rmtree(d, ignore_errors=True)
