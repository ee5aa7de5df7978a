"""Packaging: the fail2ban filter and jails, the logrotate snippet, and
where `make install` puts them, each checked with the real tool that
consumes it, fed by the real binary.

- fail2ban: real clients (ftplib, raw sockets) fail logins, send HTTP to
  the FTP port, try user names that look like addresses, and log in well,
  from distinct loopback addresses, over IPv4, IPv6 and IPv4-mapped IPv6.
  The lines the server wrote go to `fail2ban-regex` as they are (`log
  stderr`), as rsyslog writes syslog lines (both of its time formats), and
  as journal entries (a journal file made by systemd-journal-remote, read
  through fail2ban's systemd backend and the filter's journalmatch). The
  addresses found must be exactly the failing clients', as many times as
  they failed. Real syslog datagrams (the binary in a mount namespace with
  its own /dev/log) are checked the same way, and a real fail2ban-server
  with the installed jail bans a client that keeps failing.
- logrotate: the installed snippet (logrotate -f) rotates the xferlog
  under sessions that stay open across rotations and under clients that
  keep transferring; every transfer's line is in one of the files, and
  the same with `compress` loses lines (negative control).
- make install: the file list, modes and substituted paths for PREFIX
  /usr/local and /usr, what a reinstall keeps and replaces, what
  uninstall leaves, and the directory variables.
"""
import collections
import ftplib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from ftpsdtest import (BIN, IS_ROOT, ReusingFTP_TLS, Server, Skip, check, hash_password,
                       insecure_context, test, which)
from ftpsdtest import read_file as read, write_file as write
from svcfiles import REPO

PW = hash_password("r1ght-one")


def run(cmd, timeout=60, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def make_install(destdir, *extra):
    """`make install` into destdir, the binary under test as it is."""
    r = run(["make", "-s", "-C", REPO, "install", "DESTDIR=" + destdir, "BIN=" + BIN, "-o", BIN]
            + list(extra), timeout=120)
    check(r.returncode == 0, "make install failed:\n" + r.stdout + r.stderr)
    return r


def make_uninstall(destdir, *extra):
    r = run(["make", "-s", "-C", REPO, "uninstall", "DESTDIR=" + destdir, "BIN=" + BIN, "-o", BIN]
            + list(extra), timeout=120)
    check(r.returncode == 0, "make uninstall failed:\n" + r.stdout + r.stderr)
    return r


def files_under(root):
    out = set()
    for base, dirs, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(base, n), root))
    return out


# ----------------------------------------------------------------- clients --

def ftp_from(srv, src, cls=ftplib.FTP, **kw):
    """An ftplib client whose connections come from the address src."""
    f = cls(**kw)
    f.connect(srv.host, srv.port, timeout=20, source_address=(src, 0))
    return f


def raw_from(srv, src):
    """A plain socket from src: (socket, file for reading lines)."""
    s = socket.create_connection((srv.host, srv.port), timeout=20, source_address=(src, 0))
    return s, s.makefile("rb")


def raw_reply(rf):
    line = rf.readline().decode(errors="replace")
    while len(line) >= 4 and line[3] == "-":
        line = rf.readline().decode(errors="replace")
    return line


def raw_login_attempts(srv, src, names):
    """USER/PASS with a wrong password for each name; the replies' codes."""
    s, rf = raw_from(srv, src)
    codes = []
    try:
        check(raw_reply(rf).startswith("220"), "no greeting")
        for name in names:
            s.sendall(b"USER " + name.encode() + b"\r\n")
            raw_reply(rf)
            s.sendall(b"PASS wrong\r\n")
            codes.append(raw_reply(rf)[:3])
            if codes[-1] == "421":
                break
        if codes[-1] != "421":
            s.sendall(b"QUIT\r\n")
            raw_reply(rf)
    finally:
        rf.close()
        s.close()
    return codes


def in_parallel(*calls):
    """Runs the (function, args...) calls at once (the server makes each
    failed login wait); returns their results, re-raising a failure."""
    results = [None] * len(calls)
    errors = []

    def one(i, fn, args):
        try:
            results[i] = fn(*args)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i, c[0], c[1:]), daemon=True)
               for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        check(not t.is_alive(), "a client did not finish within 60 s")
    if errors:
        raise errors[0]
    return results


def wait_sessions_logged(srv, count, timeout=20):
    """Until srv's log has `count` session ends (every line is written)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if srv.log().count("session ended: ") >= count:
            return
        time.sleep(0.05)
    raise AssertionError("expected %d session ends in the log:\n%s" % (count, srv.log()))


# --------------------------------------------------------------- log forms --

STDERR_LINE = re.compile(r"^ftpsd\[(\d+)\]: (\S+ (?:\[\S+\] )?)(?:error|warning|info|debug): (.*)$")


def syslog_messages(stderr_text):
    """(pid, message) as syslog(3) gets them from log.c: the same peer and
    user prefix and text, without the level word (the priority says it)."""
    out = []
    for line in stderr_text.splitlines():
        m = STDERR_LINE.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2) + m.group(3)))
    return out


def rsyslog_file(messages, rfc3339, host="ftp-host"):
    """The lines rsyslog writes for them: Debian 12's default (RFC 3339,
    microseconds) or the traditional format."""
    now = time.time()
    lines = []
    for pid, msg in messages:
        if rfc3339:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%06d+00:00" % (
                int(now * 1e6) % 1000000)
        else:
            stamp = time.strftime("%b %e %H:%M:%S", time.localtime(now))
        lines.append("%s %s ftpsd[%d]: %s" % (stamp, host, pid, msg))
    return "\n".join(lines) + "\n"


def journal_export(entries):
    """systemd's journal export format for entries (dicts of fields)."""
    out = bytearray()
    now = int(time.time() * 1e6)
    for i, fields in enumerate(entries):
        base = {"__REALTIME_TIMESTAMP": str(now + i), "__MONOTONIC_TIMESTAMP": str(1000 + i),
                "_BOOT_ID": "5e1f0a2c3b4d4e6f8a9b0c1d2e3f4a5b", "_HOSTNAME": "ftp-host"}
        base.update(fields)
        for k, v in base.items():
            v = v.encode()
            check(b"\n" not in v, "a newline in a journal field: %r" % v)
            out += k.encode() + b"=" + v + b"\n"
        out += b"\n"
    return bytes(out)


def journal_entries(stderr_text):
    """The journal entries of these sessions: each syslog(3) line as journald
    stores a /dev/log datagram of ftpsd-inetd (ident ftpsd, facility daemon),
    and each `log stderr` line as ftpsd@.service's StandardError=journal
    stores it (ident ftpsd-inetd, transport stdout)."""
    entries = []
    for pid, msg in syslog_messages(stderr_text):
        entries.append({"_TRANSPORT": "syslog", "_PID": str(pid), "_COMM": "ftpsd-inetd",
                        "SYSLOG_IDENTIFIER": "ftpsd", "SYSLOG_PID": str(pid),
                        "SYSLOG_FACILITY": "3", "PRIORITY": "6", "MESSAGE": msg})
    for line in stderr_text.splitlines():
        m = STDERR_LINE.match(line)
        if m:
            entries.append({"_TRANSPORT": "stdout", "_PID": m.group(1), "_COMM": "ftpsd-inetd",
                            "SYSLOG_IDENTIFIER": "ftpsd-inetd", "PRIORITY": "6", "MESSAGE": line})
    return entries


# ------------------------------------------------------------------ fail2ban --

def need_fail2ban():
    for tool in ("fail2ban-regex", "fail2ban-client"):
        if not which(tool):
            raise Skip("%s not installed (apt-get install fail2ban)" % tool)
    if not os.path.isfile("/etc/fail2ban/filter.d/common.conf"):
        raise Skip("no /etc/fail2ban/filter.d/common.conf (the fail2ban package's)")


def fail2ban_confdir(d):
    """The fail2ban package's configuration (/etc/fail2ban) with ftpsd's
    filter and jails as `make install` installs them: d/fail2ban."""
    stage = os.path.join(d, "stage")
    make_install(stage)
    conf = os.path.join(d, "fail2ban")
    shutil.copytree("/etc/fail2ban", conf, symlinks=True)
    for rel in ("filter.d/ftpsd.conf", "jail.d/ftpsd.conf"):
        shutil.copy(os.path.join(stage, "etc/fail2ban", rel), os.path.join(conf, rel))
    return conf


def f2b_ips(conf, log, filt="ftpsd", extra=()):
    """The addresses fail2ban-regex finds, one per failure, as a Counter."""
    r = run(["fail2ban-regex", "-c", conf, "-o", "ip"] + list(extra) + [log, filt], timeout=120)
    check(r.returncode == 0, "fail2ban-regex %s %s (rc %d):\n%s%s" % (log, filt, r.returncode,
                                                                     r.stdout, r.stderr))
    ips = [l.strip() for l in r.stdout.splitlines() if l.strip()]
    for ip in ips:
        check(re.fullmatch(r"[0-9a-f.:]+", ip), "fail2ban-regex -o ip printed %r:\n%s" % (ip, r.stdout))
    return collections.Counter(ips)


# Addresses that only appear inside user names: no filter may ban them.
FORGED = {"127.0.0.8", "127.0.0.9", "1.2.3.4", "::ffff:127.0.0.8"}
CRAFTED_NAMES_A = ["127.0.0.9:21", "[::ffff:127.0.0.8]:1"]
CRAFTED_NAMES_B = ["x]:1"]
CRAFTED_NAMES_C = ["1.2.3.4"]


def run_attack_sessions(d):
    """The sessions every fail2ban check reads, against three real servers
    (clear IPv4, TLS on IPv6 loopback, clear on an IPv4-mapped address).
    Returns (stderr text of all three, {address: failures in normal mode},
    {address: extra failures in aggressive mode})."""
    clear = "tls off\nmax-tries 2\nuser alice password=%s root=/ access=r\n" % PW
    tls = "cert {cert}\nkey {key}\ntls auth\nmax-tries 2\nuser alice password=%s root=/ access=r\n" % PW
    with Server(clear, tls=False, files={"pub.txt": "x\n"}) as a, Server(tls, host="::1") as b, \
            Server(clear, tls=False, host="::ffff:127.0.0.1") as c:
        if b.cert is None:
            raise Skip("--gen-cert failed: this build has no TLS")

        def bad_password():
            f = ftp_from(a, "127.0.0.2")
            try:
                f.login("alice", "guess1")
            except ftplib.error_perm as e:
                check(str(e).startswith("530"), str(e))
            try:
                f.login("alice", "guess2")
                raise AssertionError("a wrong password was accepted")
            except ftplib.error_temp as e:
                check(str(e).startswith("421"), "after max-tries: %s" % e)
            f.close()

        def http_client():
            s, rf = raw_from(a, "127.0.0.4")
            raw_reply(rf)
            s.sendall(b"GET / HTTP/1.1\r\nHost: ftp.example\r\n\r\n")
            check(raw_reply(rf).startswith("421"), "GET before login must end the session")
            rf.close()
            s.close()

        def good_login():
            f = ftp_from(a, "127.0.0.6")
            check(f.login("alice", "r1ght-one").startswith("230"))
            check(f.nlst() == ["pub.txt"], "listing after a good login")
            got = io.BytesIO()
            f.retrbinary("RETR pub.txt", got.write)
            f.quit()

        def tls_bad():
            f = ftp_from(b, "::1", ReusingFTP_TLS, context=insecure_context())
            f.auth()
            try:
                f.login("alice", "nope")
                raise AssertionError("a wrong password was accepted")
            except ftplib.error_perm as e:
                check(str(e).startswith("530"), str(e))
            f.quit()

        def clear_user_refused():
            s, rf = raw_from(b, "::1")
            raw_reply(rf)
            s.sendall(b"USER alice\r\n")
            check(raw_reply(rf).startswith("530"), "USER in the clear under `tls auth`")
            s.sendall(b"QUIT\r\n")
            raw_reply(rf)
            rf.close()
            s.close()

        def attempts(srv, src, names, codes):
            check(raw_login_attempts(srv, src, names) == codes, "%s %r" % (src, names))

        in_parallel((bad_password,), (http_client,), (good_login,),
                    (attempts, a, "127.0.0.3", ["nosuchuser"], ["530"]),
                    (attempts, a, "127.0.0.5", CRAFTED_NAMES_A, ["530", "421"]),
                    (attempts, a, "127.0.0.5", CRAFTED_NAMES_B, ["530"]),
                    (attempts, a, "127.0.0.5", CRAFTED_NAMES_C, ["530"]),
                    (tls_bad,), (clear_user_refused,),
                    (attempts, c, "::ffff:127.0.0.7", ["alice"], ["530"]))
        wait_sessions_logged(a, 7)
        wait_sessions_logged(b, 2)
        wait_sessions_logged(c, 1)
        logs = [a.log(), b.log(), c.log()]
    text = "\n".join(logs)
    # The server's view, checked here so that a change in what it logs shows
    # up as such and not as a filter failure.
    for needle in ("127.0.0.2:", "[::1]:", "[::ffff:127.0.0.7]:", "failed login #1 for 127.0.0.9:21",
                   "(unknown user)", "too many failed logins", "GET before login",
                   "refused USER in the clear", "[alice] info: logged in"):
        check(needle in text, "the server did not log %r:\n%s" % (needle, text))
    normal = {"127.0.0.2": 3, "127.0.0.3": 1, "127.0.0.4": 1, "127.0.0.5": 5, "::1": 1,
              "127.0.0.7": 1}
    aggressive_extra = {"::1": 1}
    return text, normal, aggressive_extra


def expect_ips(got, want, what):
    check(not (set(got) & FORGED), "%s: banned an address from a user name: %r" % (what, got))
    check("127.0.0.6" not in got, "%s: the good login was counted: %r" % (what, got))
    check(got == collections.Counter(want), "%s: found %r, expected %r" % (what, dict(got), want))


@test
def test_fail2ban_filter_on_real_log_lines():
    """The installed filter, in each log form, finds exactly the failures."""
    need_fail2ban()
    d = tempfile.mkdtemp(prefix="ftpsd-f2b-")
    try:
        conf = fail2ban_confdir(d)
        text, normal, extra = run_attack_sessions(d)
        times = lambda want, k: {ip: n * k for ip, n in want.items()}
        plus = lambda a, b: {ip: a.get(ip, 0) + b.get(ip, 0) for ip in set(a) | set(b)}

        raw = os.path.join(d, "stderr.log")
        write(raw, text)
        expect_ips(f2b_ips(conf, raw, extra=["-d", "{NONE}"]), normal, "log stderr lines")
        expect_ips(f2b_ips(conf, raw, "ftpsd[mode=aggressive]", ["-d", "{NONE}"]), plus(normal, extra),
                   "log stderr lines, mode=aggressive")
        logins = {ip: n for ip, n in normal.items() if ip != "127.0.0.4"}
        expect_ips(f2b_ips(conf, raw, "ftpsd[mode=logins]", ["-d", "{NONE}"]), logins,
                   "log stderr lines, mode=logins")

        msgs = syslog_messages(text)
        check(len(msgs) > 20, "too few log lines: %r" % msgs)
        for rfc in (True, False):
            p = os.path.join(d, "syslog-%s" % ("rfc3339" if rfc else "traditional"))
            write(p, rsyslog_file(msgs, rfc))
            expect_ips(f2b_ips(conf, p), normal, "rsyslog file (%s)" % p)

        # A naive filter that takes "an address somewhere after 'failed
        # login'" bans the address in a user name: the checks above would
        # catch a filter that did so.
        naive = os.path.join(conf, "filter.d", "ftpsd-naive.conf")
        write(naive, "[INCLUDES]\nbefore = common.conf\n[Definition]\n"
                     "failregex = ^%(__prefix_line)s.*failed login.*<ADDR>\n")
        got = f2b_ips(conf, p, "ftpsd-naive")
        check(set(got) & FORGED, "negative control: the naive filter should be fooled: %r" % got)

        if not os.path.exists("/lib/systemd/systemd-journal-remote"):
            raise Skip("systemd-journal-remote not installed: the journal form was not checked")
        r = run(["/usr/bin/python3", "-c", "import systemd.journal"])
        if r.returncode != 0:
            raise Skip("python3-systemd not installed: the journal form was not checked")
        entries = journal_entries(text)
        # Lines in ftpsd's name from another program (`logger -t ftpsd`):
        # journalmatch keeps them out.
        entries.append({"_TRANSPORT": "syslog", "_PID": "4242", "_COMM": "logger",
                        "SYSLOG_IDENTIFIER": "ftpsd", "PRIORITY": "6",
                        "MESSAGE": "127.0.0.8:1 failed login #1 for x"})
        export = os.path.join(d, "ftpsd.export")
        write(export, journal_export(entries))
        jfile = os.path.join(d, "ftpsd.journal")
        r = run(["/lib/systemd/systemd-journal-remote", "--output=" + jfile, export])
        check(r.returncode == 0 and os.path.exists(jfile), "systemd-journal-remote: " + r.stderr)
        got = f2b_ips(conf, "systemd-journal[journalfiles=%s]" % jfile)
        expect_ips(got, times(normal, 2), "journal (syslog and stdout entries)")
    finally:
        shutil.rmtree(d, ignore_errors=True)


class SyslogSink:
    """A private /dev/log for the sessions of one test: the binary runs under
    `unshare -m` with a /dev of its own bind-mounted over the host's (the
    host's nodes as symlinks, and log, a datagram socket this object reads).
    As root only; the host's /dev is not touched."""

    def __init__(self):
        if not IS_ROOT or not which("unshare"):
            raise Skip("needs root and unshare(1) to give the sessions their own /dev/log")
        self.dir = tempfile.mkdtemp(prefix="ftpsd-syslog-")
        os.chmod(self.dir, 0o755)
        self.dev = os.path.join(self.dir, "dev")
        self.old = os.path.join(self.dir, "olddev")
        os.mkdir(self.dev)
        os.mkdir(self.old)
        for name in os.listdir("/dev"):
            if name == "log":
                continue
            p = os.path.join("/dev", name)
            target = os.readlink(p) if os.path.islink(p) else os.path.join(self.old, name)
            os.symlink(target, os.path.join(self.dev, name))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(os.path.join(self.dev, "log"))
        os.chmod(os.path.join(self.dev, "log"), 0o666)
        self.sock.setblocking(False)
        self.datagrams = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.reader = None
        r = subprocess.run(self.wrapper() + ["true"], capture_output=True, timeout=10)
        if r.returncode != 0:
            self.close()
            raise Skip("cannot bind-mount in a mount namespace here: %r" % r.stderr)
        # Read as the datagrams come, as a syslog daemon does: the socket
        # queues only net.unix.max_dgram_qlen (10) of them, and past that a
        # session's syslog(3) blocks (three sessions that each log a
        # warning more, as under qemu-user, fill it).
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        while not self.done.wait(0.02):
            self.read()

    def wrapper(self):
        return ["unshare", "-m", "sh", "-c",
                'mount --rbind /dev %s && mount --bind %s /dev && exec "$@"' % (self.old, self.dev),
                "sh"]

    def read(self):
        with self.lock:
            while True:
                try:
                    self.datagrams.append(self.sock.recv(65536).decode(errors="replace"))
                except (BlockingIOError, OSError):
                    return list(self.datagrams)

    def wait(self, needle, count, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if sum(needle in m for m in self.read()) >= count:
                return
            time.sleep(0.05)
        raise AssertionError("expected %d syslog lines with %r:\n%s" % (count, needle,
                                                                       "\n".join(self.datagrams)))

    def close(self):
        self.done.set()
        if self.reader:
            self.reader.join(5)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


DATAGRAM = re.compile(r"^<(\d+)>(\w{3} [ \d]\d \d\d:\d\d:\d\d) ftpsd\[(\d+)\]: (.*)$")


@test
def test_fail2ban_real_syslog_lines():
    """`log syslog` as syslog(3) really sends it (ident ftpsd, facility
    daemon, LOG_PID), written to a file as rsyslog does: the filter finds
    the failures and nothing else; and the messages are the `log stderr`
    lines without the level word, which the other test relies on."""
    need_fail2ban()
    sink = SyslogSink()
    d = tempfile.mkdtemp(prefix="ftpsd-f2b-syslog-")
    try:
        conf = fail2ban_confdir(d)
        policy = "tls off\nlog syslog\nmax-tries 2\nuser alice password=%s root=/ access=r\n" % PW
        with Server(policy, tls=False, wrapper=sink.wrapper()) as srv:
            def good():
                f = ftp_from(srv, "127.0.0.6")
                check(f.login("alice", "r1ght-one").startswith("230"))
                f.quit()

            def http():
                s, rf = raw_from(srv, "127.0.0.4")
                raw_reply(rf)
                s.sendall(b"POST /login HTTP/1.1\r\n")
                check(raw_reply(rf).startswith("421"), "POST before login")
                rf.close()
                s.close()

            in_parallel((raw_login_attempts, srv, "127.0.0.2", ["alice", "127.0.0.9"]), (good,), (http,))
            sink.wait("session ended: ", 3)
        msgs = []
        for dg in sink.read():
            m = DATAGRAM.match(dg)
            check(m, "not a syslog(3) datagram of ident ftpsd with a pid: %r" % dg)
            check(int(m.group(1)) >> 3 == 3, "facility is not daemon: %r" % dg)
            msgs.append((int(m.group(3)), m.group(4)))
        texts = [t for _, t in msgs]
        for want in (r"^127\.0\.0\.2:\d+ failed login #1 for alice$",
                     r"^127\.0\.0\.2:\d+ failed login #2 for 127\.0\.0\.9 \(unknown user\)$",
                     r"^127\.0\.0\.2:\d+ session ended: too many failed logins$",
                     r"^127\.0\.0\.4:\d+ POST before login: another protocol's client is talking",
                     r"^127\.0\.0\.6:\d+ \[alice\] logged in \(password\)"):
            check(any(re.search(want, t) for t in texts), "no syslog line %s in:\n%s" % (want, "\n".join(texts)))
        for rfc in (True, False):
            p = os.path.join(d, "syslog")
            write(p, rsyslog_file(msgs, rfc))
            expect_ips(f2b_ips(conf, p), {"127.0.0.2": 3, "127.0.0.4": 1}, "real syslog lines")
    finally:
        sink.close()
        shutil.rmtree(d, ignore_errors=True)


class Fail2banServer:
    """A real fail2ban-server in the foreground on a private socket, with the
    configuration directory given (its own pid file, log and an in-memory
    database); stopped by `fail2ban-client stop`, then by its pid."""

    def __init__(self, conf, d):
        self.conf = conf
        self.d = d
        write(os.path.join(conf, "fail2ban.local"),
              "[Definition]\nsocket = %s/f2b.sock\npidfile = %s/f2b.pid\ndbfile = :memory:\n"
              "logtarget = %s/f2b.log\nloglevel = INFO\n" % (d, d, d))
        self.proc = None

    def client(self, *args, timeout=30):
        return run(["fail2ban-client", "-c", self.conf] + list(args), timeout=timeout)

    def __enter__(self):
        with open(os.path.join(self.d, "f2b.out"), "ab") as out:
            self.proc = subprocess.Popen(["fail2ban-client", "-c", self.conf, "-x", "-f", "start"],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                         start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline and self.proc.poll() is None:
            if self.client("ping", timeout=10).returncode == 0:
                return self
            time.sleep(0.2)
        self.__exit__()
        raise AssertionError("fail2ban did not start:\n" + read(os.path.join(self.d, "f2b.out")))

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.client("stop", timeout=30)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        return False

    def banned(self, jail):
        r = self.client("status", jail)
        check(r.returncode == 0, "fail2ban-client status %s: %s%s" % (jail, r.stdout, r.stderr))
        m = re.search(r"Banned IP list:\s*(.*)$", r.stdout, re.M)
        check(m, r.stdout)
        return set(m.group(1).split())


@test
def test_fail2ban_server_bans_a_client():
    """The installed [ftpsd-syslog] jail (switched on in a .local file, with
    fail2ban's dummy action instead of the firewall) in a real fail2ban,
    reading the syslog file of real sessions: the client that keeps failing
    is banned (twice max-tries 2 is 6 failures, maxretry 5); a client that
    logs in, one that fails once, and an address in a user name are not."""
    need_fail2ban()
    d = tempfile.mkdtemp(prefix="ftpsd-f2b-live-")
    try:
        os.chmod(d, 0o755)
        conf = fail2ban_confdir(d)
        syslog = os.path.join(d, "syslog")
        bans = os.path.join(d, "bans")
        write(syslog, "")
        # ignoreself: the test's clients are this machine's own addresses.
        write(os.path.join(conf, "jail.d", "ftpsd.local"),
              "[DEFAULT]\nignoreself = false\nignoreip =\n\n[sshd]\nenabled = false\n\n"
              "[ftpsd-syslog]\nenabled = true\nlogpath = %s\nbackend = polling\n"
              "action = dummy[target=\"%s\"]\n" % (syslog, bans))
        with Fail2banServer(conf, d) as f2b:
            check(f2b.banned("ftpsd-syslog") == set(), "banned before any session")
            policy = "tls off\nmax-tries 2\nuser alice password=%s root=/ access=r\n" % PW
            with Server(policy, tls=False) as srv:
                def good():
                    f = ftp_from(srv, "127.0.0.6")
                    check(f.login("alice", "r1ght-one").startswith("230"))
                    f.quit()

                in_parallel((raw_login_attempts, srv, "127.0.0.2", ["alice", "root"]),
                            (raw_login_attempts, srv, "127.0.0.2", ["admin", "alice"]),
                            (raw_login_attempts, srv, "127.0.0.3", ["alice"]),
                            (raw_login_attempts, srv, "127.0.0.5", ["127.0.0.9"]),
                            (good,))
                wait_sessions_logged(srv, 5)
                text = srv.log()
            with open(syslog, "a") as f:
                f.write(rsyslog_file(syslog_messages(text), rfc3339=True))
            deadline = time.time() + 30
            while time.time() < deadline and not f2b.banned("ftpsd-syslog"):
                time.sleep(0.3)
            check(f2b.banned("ftpsd-syslog") == {"127.0.0.2"},
                  "banned %r, expected 127.0.0.2 alone:\n%s" % (f2b.banned("ftpsd-syslog"),
                                                               read(os.path.join(d, "f2b.log"))))
            check("+127.0.0.2" in read(bans).split(), "the ban action did not run: %r" % read(bans))
            r = f2b.client("status", "ftpsd-syslog")
            # 127.0.0.2: 2 sessions of 2 failed logins and the used-up end;
            # 127.0.0.3 and 127.0.0.5: one failed login each.
            check(re.search(r"Total failed:\s*8$", r.stdout, re.M), "expected 8 failures:\n" + r.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def test_fail2ban_jails_configuration():
    """Both installed jails are off; switched on in a .local file they pass
    `fail2ban-client -t`, the journal jail with the systemd backend, the
    journalmatch and the journal line prefix, the other on the syslog file.
    A jail naming a missing filter fails the same check (negative control).
    No journald runs here: the journal jail's reading of real entries is
    test_fail2ban_filter_on_real_log_lines' journal file."""
    need_fail2ban()
    d = tempfile.mkdtemp(prefix="ftpsd-f2b-conf-")
    try:
        conf = fail2ban_confdir(d)
        write(os.path.join(conf, "jail.d", "zz-off.local"), "[sshd]\nenabled = false\n")
        r = run(["fail2ban-client", "-c", conf, "-d"])
        check(r.returncode == 0, r.stdout + r.stderr)
        check("'ftpsd'" not in r.stdout and "'ftpsd-syslog'" not in r.stdout,
              "a jail is on as installed:\n" + r.stdout)
        write(os.path.join(conf, "jail.d", "ftpsd.local"),
              "[ftpsd]\nenabled = true\n\n[ftpsd-syslog]\nenabled = true\nlogpath = %s\n"
              % os.path.join(d, "syslog"))
        write(os.path.join(d, "syslog"), "")
        r = run(["fail2ban-client", "-c", conf, "-t"])
        check(r.returncode == 0 and "OK" in r.stdout, "fail2ban-client -t:\n" + r.stdout + r.stderr)
        r = run(["fail2ban-client", "-c", conf, "-d"])
        dump = r.stdout
        check("['add', 'ftpsd', 'systemd']" in dump, "[ftpsd] is not a systemd jail:\n" + dump)
        check("['set', 'ftpsd', 'addjournalmatch', '_COMM=ftpsd-inetd']" in dump, dump)
        check("['add', 'ftpsd-syslog', 'auto']" in dump, dump)
        check("['set', 'ftpsd-syslog', 'addlogpath', '%s', 'head']" % os.path.join(d, "syslog") in dump,
              dump)
        for jail in ("ftpsd", "ftpsd-syslog"):
            check(re.search(r"\['set', '%s', 'maxretry', 5\]" % jail, dump), "%s maxretry" % jail)
            check("--dports ftp,ftp-data,ftps,ftps-data" in dump, "ports of %s" % jail)
        write(os.path.join(conf, "jail.d", "ftpsd.local"), "[ftpsd]\nenabled = true\nfilter = ftpsd-nope\n")
        r = run(["fail2ban-client", "-c", conf, "-t"])
        check(r.returncode != 0, "negative control: -t accepted a missing filter:\n" + r.stdout + r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ----------------------------------------------------------------- logrotate --

def need_logrotate():
    if not which("logrotate"):
        raise Skip("logrotate not installed (apt-get install logrotate)")


def logrotate_conf(d, xferlog, extra=""):
    """The installed snippet, pointed at xferlog (plus extra directives)."""
    stage = os.path.join(d, "stage")
    if not os.path.isdir(stage):
        make_install(stage)
    text = read(os.path.join(stage, "etc/logrotate.d/ftpsd"))
    check(text.count("/var/log/ftpsd/xferlog") == 1, "the snippet's path moved:\n" + text)
    text = text.replace("/var/log/ftpsd/xferlog", xferlog)
    if extra:
        check(text.rstrip().endswith("}"), text)
        text = text.rstrip()[:-1] + extra + "}\n"
    conf = os.path.join(d, "logrotate-%d.conf" % len(os.listdir(d)))
    write(conf, text)
    return conf


def rotate(conf, state):
    r = run(["logrotate", "-f", "-s", state, conf])
    check(r.returncode == 0 and r.stderr == "", "logrotate -f (rc %d): %s" % (r.returncode, r.stderr))


def xferlog_lines(logdir):
    """{file name: [lines]} of the xferlog and its rotations."""
    import gzip
    out = {}
    for n in sorted(os.listdir(logdir)):
        if n.startswith("xferlog"):
            p = os.path.join(logdir, n)
            data = gzip.open(p).read() if n.endswith(".gz") else read(p, "rb")
            out[n] = data.decode().splitlines()
    return out


def retr(f):
    got = io.BytesIO()
    check(f.retrbinary("RETR f.bin", got.write).startswith("226"), "RETR")
    check(got.getvalue() == b"rotate me\n", got.getvalue())


XFER_POLICY = "tls off\nxferlog {dir}/log/xferlog\nuser alice password=%s root=/ access=r\n" % PW


def rotation_under_open_sessions(d, extra):
    """Sessions that stay open across two rotations, and new ones after them.
    Returns {file: [peer of each line]} once every session has ended."""
    with Server(XFER_POLICY, tls=False, files={"f.bin": "rotate me\n"}) as srv:
        logdir = os.path.join(srv.dir, "log")
        os.mkdir(logdir, 0o755)
        conf = logrotate_conf(d, os.path.join(logdir, "xferlog"), extra)
        state = os.path.join(d, "state-%d" % len(os.listdir(d)))
        login = lambda src: (lambda f: (f.login("alice", "r1ght-one"), f)[1])(ftp_from(srv, src))
        s1 = login("127.0.0.2")
        retr(s1)                 # xferlog (A)
        rotate(conf, state)      # A -> xferlog.1; no xferlog until a session makes one
        retr(s1)                 # still A
        s2 = login("127.0.0.3")
        retr(s2)                 # a new xferlog (B), made by s2
        rotate(conf, state)      # B -> .1, A -> .2
        retr(s1)                 # A
        retr(s2)                 # B
        s3 = login("127.0.0.4")
        retr(s3)                 # a new xferlog (C)
        for f in (s1, s2, s3):
            f.quit()
        wait_sessions_logged(srv, 3)
        st = os.stat(os.path.join(logdir, "xferlog"))
        check(st.st_uid == os.geteuid() and st.st_mode & 0o777 == 0o640,
              "the session-made xferlog: uid %d mode %o" % (st.st_uid, st.st_mode & 0o777))
        return {n: [l.split()[6] for l in lines] for n, lines in xferlog_lines(logdir).items()}


@test
def test_logrotate_keeps_lines_of_open_sessions():
    """The installed snippet (nocreate, no compression, no postrotate):
    a session open across two rotations writes on into the file it opened,
    new sessions make a new xferlog, and all 6 lines are there. The same
    with `compress` loses lines (negative control: this test would see it)."""
    need_logrotate()
    d = tempfile.mkdtemp(prefix="ftpsd-logrotate-")
    try:
        os.chmod(d, 0o755)
        got = rotation_under_open_sessions(d, "")
        want = {"xferlog": ["127.0.0.4"], "xferlog.1": ["127.0.0.3"] * 2,
                "xferlog.2": ["127.0.0.2"] * 3}
        check(got == want, "xferlog files %r, expected %r" % (got, want))
        bad = rotation_under_open_sessions(d, "\tcompress\n")
        check(sum(len(v) for v in bad.values()) < 6,
              "negative control: with compress, lines of open sessions should be lost: %r" % bad)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def test_logrotate_under_load_loses_no_line():
    """Three clients transfer while logrotate -f rotates the xferlog again and
    again (fewer times than `rotate` keeps). Each round, every client has a
    session open with a transfer done when the rotation starts, and goes on
    at once: more transfers in that session, then a new session, racing the
    rename. The lines across all the files are the transfers done, one each,
    and every rotation took lines with it."""
    need_logrotate()
    d = tempfile.mkdtemp(prefix="ftpsd-logrotate-load-")
    try:
        os.chmod(d, 0o755)
        with Server(XFER_POLICY, tls=False, files={"f.bin": "rotate me\n"}) as srv:
            logdir = os.path.join(srv.dir, "log")
            os.mkdir(logdir, 0o755)
            conf = logrotate_conf(d, os.path.join(logdir, "xferlog"))
            rounds = int(re.search(r"^\s*rotate (\d+)$", read(conf), re.M).group(1)) - 2
            state = os.path.join(d, "state")
            clients = ["127.0.0.%d" % (10 + i) for i in range(3)]
            barrier = threading.Barrier(len(clients) + 1, timeout=60)
            done = collections.Counter()

            def login(src):
                f = ftp_from(srv, src)
                f.login("alice", "r1ght-one")
                return f

            def client(src):
                for _ in range(rounds):
                    f = login(src)
                    retr(f)
                    done[src] += 1
                    barrier.wait()
                    for _ in range(2):
                        retr(f)
                        done[src] += 1
                    f.quit()
                    f = login(src)
                    retr(f)
                    done[src] += 1
                    f.quit()

            def rotator():
                for _ in range(rounds):
                    barrier.wait()
                    rotate(conf, state)

            try:
                in_parallel(*([(client, src) for src in clients] + [(rotator,)]))
            except threading.BrokenBarrierError:
                raise AssertionError("a client or the rotator did not reach its round")
            wait_sessions_logged(srv, 2 * rounds * len(clients))
            files = xferlog_lines(logdir)
        total = sum(done.values())
        lines = [l for v in files.values() for l in v]
        check(total == 4 * rounds * len(clients), "transfers done: %d" % total)
        check(len(lines) == total, "%d xferlog lines for %d transfers: %r"
              % (len(lines), total, {k: len(v) for k, v in files.items()}))
        for src, n in done.items():
            check(sum(l.split()[6] == src for l in lines) == n, "lines of %s" % src)
        # Only rotation's files, and rotations did happen with lines in them.
        # Not every round's: on a loaded machine all of a round's new
        # sessions may open the file just before the previous rename, and
        # logrotate (missingok) then rightly finds no xferlog to rotate.
        names = ["xferlog"] + ["xferlog.%d" % i for i in range(1, rounds + 1)]
        rotated = [n for n in names[1:] if files.get(n)]
        check(set(files) <= set(names) and len(rotated) >= 2,
              "files other than rotation's, or no rotation took lines: %r"
              % {k: len(v) for k, v in files.items()})
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------- install --

def unit_exec(path):
    m = re.search(r"^ExecStart=(.*)$", read(path), re.M)
    return m.group(1) if m else None


@test
def test_make_install_service_files():
    """`make install` puts every service file where Debian's packages put
    theirs, with the install's paths; files an admin edits survive a
    reinstall and an uninstall; nothing else is left behind."""
    if not which("make"):
        raise Skip("make not installed")
    d = tempfile.mkdtemp(prefix="ftpsd-install-svc-")
    try:
        contrib = os.path.join(REPO, "contrib")
        for prefix, sbin, units, doc in (
                ("/usr/local", "/usr/local/sbin", "usr/local/lib/systemd/system", "usr/local/share/doc"),
                ("/usr", "/usr/sbin", "lib/systemd/system", "usr/share/doc")):
            stage = os.path.join(d, prefix.strip("/").replace("/", "-"))
            make_install(stage, "PREFIX=" + prefix)
            man = prefix.lstrip("/") + "/share/man"
            want = {sbin.lstrip("/") + "/ftpsd-inetd", man + "/man5/ftpsd-policy.5",
                    man + "/man8/ftpsd-inetd.8", "etc/ftpsd/policy.example",
                    units + "/ftpsd.socket", units + "/ftpsd@.service",
                    units + "/ftpsd-listenfds.socket", units + "/ftpsd-listenfds@.service",
                    "etc/fail2ban/filter.d/ftpsd.conf", "etc/fail2ban/jail.d/ftpsd.conf",
                    "etc/logrotate.d/ftpsd", "etc/xinetd.d/ftpsd",
                    doc + "/ftpsd/examples/inetd.conf", doc + "/ftpsd/examples/xinetd.d/ftpsd",
                    doc + "/ftpsd/examples/logrotate.d/ftpsd"}
            got = files_under(stage)
            check(got == want, "PREFIX=%s installed %r, expected %r"
                  % (prefix, sorted(got - want), sorted(want - got)))
            for rel in want - {sbin.lstrip("/") + "/ftpsd-inetd"}:
                p = os.path.join(stage, rel)
                check(os.stat(p).st_mode & 0o7777 == 0o644, "%s mode %o" % (rel, os.stat(p).st_mode))
                check(not re.search(r"@[a-z_]+dir@", read(p)), "%s has a placeholder left" % rel)
            for u in ("ftpsd@.service", "ftpsd-listenfds@.service"):
                check(unit_exec(os.path.join(stage, units, u)) == sbin + "/ftpsd-inetd -f /etc/ftpsd/policy",
                      "%s ExecStart=%r" % (u, unit_exec(os.path.join(stage, units, u))))
            xin = read(os.path.join(stage, "etc/xinetd.d/ftpsd"))
            check(re.search(r"^\s*server\s*=\s*%s/ftpsd-inetd$" % re.escape(sbin), xin, re.M), xin)
            check(re.search(r"^\s*disable\s*=\s*yes$", xin, re.M), "xinetd service installed on")
            check(xin == read(os.path.join(stage, doc, "ftpsd/examples/xinetd.d/ftpsd")), "xinetd example")
            inetd = read(os.path.join(stage, doc, "ftpsd/examples/inetd.conf"))
            check(re.search(r"^ftp\s.*\s%s/ftpsd-inetd\s+ftpsd-inetd -f /etc/ftpsd/policy$"
                            % re.escape(sbin), inetd, re.M), inetd)
            for rel, src in (("etc/fail2ban/filter.d/ftpsd.conf", "fail2ban/filter.d/ftpsd.conf"),
                             ("etc/fail2ban/jail.d/ftpsd.conf", "fail2ban/jail.d/ftpsd.conf"),
                             ("etc/logrotate.d/ftpsd", "logrotate.d/ftpsd"),
                             (doc + "/ftpsd/examples/logrotate.d/ftpsd", "logrotate.d/ftpsd")):
                check(read(os.path.join(stage, rel)) == read(os.path.join(contrib, src)), rel)
            jail = read(os.path.join(stage, "etc/fail2ban/jail.d/ftpsd.conf"))
            check(re.findall(r"^enabled\s*=\s*(\S+)$", jail, re.M) == ["false", "false"],
                  "both jails must be off as installed")

        # Reinstall over an admin's changes: the xinetd service switched on
        # and a logrotate path of theirs stay; the fail2ban files (whose
        # local changes go in *.local) and the units are replaced.
        stage = os.path.join(d, "usr")
        xin = os.path.join(stage, "etc/xinetd.d/ftpsd")
        mine = read(xin).replace("disable\t\t= yes", "disable\t\t= no")
        check(mine != read(xin), "no disable line to switch")
        write(xin, mine)
        lr = os.path.join(stage, "etc/logrotate.d/ftpsd")
        write(lr, read(lr).replace("/var/log/ftpsd/xferlog", "/srv/log/xferlog"))
        jail = os.path.join(stage, "etc/fail2ban/jail.d/ftpsd.conf")
        write(jail, "stale\n")
        unit = os.path.join(stage, "lib/systemd/system/ftpsd@.service")
        write(unit, "stale\n")
        r = make_install(stage, "PREFIX=/usr")
        check(read(xin) == mine and "/srv/log/xferlog" in read(lr), "install replaced an admin's file")
        check("kept the existing %s" % xin in r.stdout and "kept the existing %s" % lr in r.stdout,
              "install should say what it kept:\n" + r.stdout)
        check(read(jail) == read(os.path.join(contrib, "fail2ban/jail.d/ftpsd.conf")), "jail not replaced")
        check(unit_exec(unit) == "/usr/sbin/ftpsd-inetd -f /etc/ftpsd/policy", "unit not replaced")

        # Uninstall: everything but the two changed files goes.
        r = make_uninstall(stage, "PREFIX=/usr")
        check(files_under(stage) == {"etc/xinetd.d/ftpsd", "etc/logrotate.d/ftpsd"},
              "uninstall left %r" % sorted(files_under(stage)))
        check("kept %s" % xin in r.stdout, "uninstall should say what it kept:\n" + r.stdout)
        # Unchanged, they go too.
        local = os.path.join(d, "usr-local")
        make_uninstall(local, "PREFIX=/usr/local")
        check(files_under(local) == set(), "uninstall left %r" % sorted(files_under(local)))

        # An empty directory variable skips that group; sysconfdir moves the rest.
        skip = os.path.join(d, "skip")
        make_install(skip, "PREFIX=/usr", "sysconfdir=/opt/etc", "fail2bandir=", "xinetddir=",
                     "logrotatedir=", "systemdunitdir=", "docdir=")
        check(files_under(skip) == {"usr/sbin/ftpsd-inetd", "usr/share/man/man5/ftpsd-policy.5",
                                    "usr/share/man/man8/ftpsd-inetd.8", "opt/etc/ftpsd/policy.example"},
              "with every service directory empty: %r" % sorted(files_under(skip)))
        etc = os.path.join(d, "etc")
        make_install(etc, "PREFIX=/usr", "sysconfdir=/opt/etc")
        check(os.path.isfile(os.path.join(etc, "opt/etc/fail2ban/jail.d/ftpsd.conf")), "fail2bandir")
        check(unit_exec(os.path.join(etc, "lib/systemd/system/ftpsd@.service"))
              == "/usr/sbin/ftpsd-inetd -f /opt/etc/ftpsd/policy", "sysconfdir in the unit")
    finally:
        shutil.rmtree(d, ignore_errors=True)
