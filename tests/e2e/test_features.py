"""What FTPS users ask for and the peers have: tls-max, what -t says about
certificates and the TLS offer, the start directory (home=), MFMT, HASH with
OPTS HASH and RANG, pasv-address host names and the private-peer form. Each
test drives the real binary with a real client (ftplib, curl, lftp, openssl)
and fails without its feature. The rate limits have test_rate.py."""
import ftplib
import hashlib
import io
import os
import re
import socket
import ssl
import subprocess
import threading
import time

from ftpsdtest import (BIN, cmd, IS_ROOT, RUN_AS, Server, Skip, build_has_tls13, check, expect_code,
                       hash_password, insecure_context, make_cert, test, which)

PW = hash_password("pw")


def tls_policy(extra="", users=None):
    users = users or "user alice password=%s root=/ access=rwadmn\n" % PW
    return "cert {cert}\nkey {key}\ntls auth+data\nidle 30\n%s\n%s" % (extra, users)


def chown_run_as(path):
    if IS_ROOT:
        import pwd
        pw = pwd.getpwnam(RUN_AS)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def put(srv, rel, data, mode=0o644):
    p = os.path.join(srv.root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)
    chown_run_as(p)
    return p


def run_t(policy_path):
    return subprocess.run(cmd("-t", "-f", policy_path), capture_output=True, text=True,
                          timeout=30)


# ------------------------------------------------------------------ tls-max --

@test
def test_tls_max_12_refuses_a_tls13_only_client():
    with Server(tls_policy("tls-max 1.2")) as srv:
        # A client that can do both settles on TLS 1.2 (on a TLS 1.3 build
        # without tls-max it would get 1.3).
        f = srv.ftps()
        f.auth()
        check(f.sock.version() == "TLSv1.2", f.sock.version())
        f.login("alice", "pw")
        f.quit()
        # A TLS 1.3-only client gets the protocol_version alert, and the log
        # says why.
        ctx = insecure_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        raw = socket.create_connection((srv.host, srv.port), timeout=10)
        check(raw.recv(512).startswith(b"220"))
        raw.sendall(b"AUTH TLS\r\n")
        check(raw.recv(512).startswith(b"234"))
        try:
            ctx.wrap_socket(raw, server_hostname="localhost")
            raise AssertionError("a TLS 1.3-only handshake succeeded under tls-max 1.2")
        except ssl.SSLError as e:
            check("PROTOCOL_VERSION" in str(e).upper(), str(e))
        finally:
            raw.close()
        check(srv.wait_log("client offered only TLS 1.3"), srv.log())
        r = run_t(srv.policy)
        check(r.returncode == 0, r.stderr)
        check("\ntls-max 1.2\n" in r.stdout, r.stdout)
        check(re.search(r"^# tls-versions offered by this build \(mbed TLS [0-9.]+\): 1\.2( |$)",
                        r.stdout, re.M), r.stdout)
        check("TLS1-3-" not in r.stdout, r.stdout)


@test
def test_tls_max_13_is_the_build_maximum():
    with Server(tls_policy()) as srv:
        f = srv.ftps()
        f.auth()
        v13 = build_has_tls13()
        check(f.sock.version() == ("TLSv1.3" if v13 else "TLSv1.2"), f.sock.version())
        f.quit()
        r = run_t(srv.policy)
        check(r.returncode == 0, r.stderr)
        line = [l for l in r.stdout.splitlines() if l.startswith("# tls-versions")][0]
        if v13:
            check(line.endswith(": 1.2 1.3"), line)
            check("# tls-suites offered, in order, where mbed TLS carries the data: TLS1-3-CHACHA20"
                  in r.stdout, r.stdout)
        else:
            check("this build has no TLS 1.3, so 1.2 is its maximum" in line, line)
        # An ECDSA certificate: no ECDHE-RSA suite is offered.
        check("-ECDHE-ECDSA-WITH-" in r.stdout and "-ECDHE-RSA-" not in r.stdout, r.stdout)


# ------------------------------------------------------- -t: certificates --

def openssl_cert(directory, name, days):
    crt, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-days",
                    str(days), "-subj", "/CN=localhost"], check=True, capture_output=True,
                   timeout=30)
    os.chmod(key, 0o600)
    return crt, key


@test
def test_check_warns_of_a_certificate_expiring_within_30_days():
    if not which("openssl"):
        raise Skip("openssl needed to make a short-lived certificate")
    with Server(tls_policy()) as srv:
        base = open(srv.policy).read()
        for days, warned in ((10, True), (29, True), (40, False)):
            crt, key = openssl_cert(srv.dir, "d%d" % days, days)
            text = base.replace(srv.cert, crt).replace(srv.key, key)
            p = os.path.join(srv.dir, "policy-%d" % days)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o600)
            r = run_t(p)
            check(r.returncode == 0, "%d days: a warning is not an error: %s" % (days, r.stderr))
            said = re.search(r"certificate %s expires in (\d+) days? \(" % re.escape(crt),
                             r.stderr)
            check(bool(said) == warned, "%d days: %r" % (days, r.stderr))
            check(not said or int(said.group(1)) in (days - 1, days), r.stderr)
            check(("expires in" in r.stderr) == warned, "%d days: %r" % (days, r.stderr))


# ------------------------------------------------------------------- home= --

HOME_USERS = """
group staff access=rwadmn home=/staff
user bob    password=%(pw)s root=/ home=/in/box access=r
user carol  password=%(pw)s root=/ group=staff
user dave   password=%(pw)s root=/ home=/missing access=r
user eve    password=%(pw)s root=/ home=/out access=r
""" % {"pw": PW}


@test
def test_home_is_where_the_session_starts():
    with Server("tls off\nidle 30\n" + HOME_USERS, tls=False,
                files={"in/box/note.txt": "hello", "staff/x": "s", "top.txt": "t"}) as srv:
        os.symlink("/etc", os.path.join(srv.root, "out"))
        f = srv.ftp()
        f.login("bob", "pw")
        check(f.pwd() == "/in/box", f.pwd())
        # Relative names are relative to the start directory...
        b = io.BytesIO()
        f.retrbinary("RETR note.txt", b.write)
        check(b.getvalue() == b"hello", b.getvalue())
        # ...which is a start, not a wall: the root stays reachable.
        f.cwd("/")
        check("top.txt" in f.nlst(), f.nlst())
        f.cwd("..")
        check(f.pwd() == "/", f.pwd())
        # REIN and a new login start there again.
        f.sendcmd("REIN")
        f.login("bob", "pw")
        check(f.pwd() == "/in/box", f.pwd())
        f.quit()
        # From the group.
        f = srv.ftp()
        f.login("carol", "pw")
        check(f.pwd() == "/staff", f.pwd())
        f.quit()
        # A missing home: the session starts at the root, and the log says so.
        f = srv.ftp()
        f.login("dave", "pw")
        check(f.pwd() == "/", f.pwd())
        f.quit()
        check(srv.wait_log("home /missing of dave: No such file or directory"), srv.log())
        # SECURITY: a home that is a symlink out of the root is not entered.
        f = srv.ftp()
        f.login("eve", "pw")
        check(f.pwd() == "/", f.pwd())
        expect_code(550, f.sendcmd, "CWD /out")
        f.quit()
        check(srv.wait_log("home /out of eve: leads outside the root"), srv.log())
        r = run_t(srv.policy)
        check("user bob root=/ access=r tls=off login=password home=/in/box" in r.stdout
              or re.search(r"^user bob root=\S+ access=r tls=off login=password home=/in/box ",
                           r.stdout, re.M), r.stdout)


# -------------------------------------------------------------------- MFMT --

MFMT_USERS = """
user alice  password=%(pw)s root=/ access=rwadmn
user writer password=%(pw)s root=/ access=rw
user reader password=%(pw)s root=/ access=r
""" % {"pw": PW}


@test
def test_mfmt_sets_the_modification_time():
    with Server("tls off\nidle 30\n" + MFMT_USERS, tls=False,
                files={"up/a.bin": "data", "up/b.bin": "b"}) as srv:
        a = os.path.join(srv.root, "up", "a.bin")
        outside = os.path.join(srv.dir, "outside.txt")
        with open(outside, "w") as fh:
            fh.write("not yours")
        os.utime(outside, (1000000000, 1000000000))
        os.symlink(outside, os.path.join(srv.root, "up", "link"))
        f = srv.ftp()
        f.login("alice", "pw")
        check("MFMT" in f.sendcmd("FEAT"), "FEAT lists MFMT")
        r = f.sendcmd("MFMT 20200102030405 up/a.bin")
        check(r == "213 Modify=20200102030405; up/a.bin", r)
        check(os.stat(a).st_mtime == 1577934245, os.stat(a).st_mtime)
        check(f.sendcmd("MDTM up/a.bin") == "213 20200102030405")
        # Fractions of a second, and names with blanks.
        f.storbinary("STOR up/with blank.txt", io.BytesIO(b"x"))
        r = f.sendcmd("MFMT 19991231235958.25 up/with blank.txt")
        check(r == "213 Modify=19991231235958; up/with blank.txt", r)
        st = os.stat(os.path.join(srv.root, "up", "with blank.txt"))
        check(st.st_mtime_ns == 946684798250000000, st.st_mtime_ns)
        # Bad times and bad paths: a reply that says what is wrong.
        for bad in ("MFMT 20201301000000 up/a.bin", "MFMT 2020 up/a.bin",
                    "MFMT 20200102030405", "MFMT up/a.bin"):
            expect_code(501, f.sendcmd, bad)
        expect_code(550, f.sendcmd, "MFMT 20200102030405 up/nope.bin")
        # SECURITY: never through a symlink, never outside the root.
        expect_code(550, f.sendcmd, "MFMT 20200102030405 up/link")
        check(os.stat(outside).st_mtime == 1000000000, "the file outside was changed")
        expect_code(550, f.sendcmd, "MFMT 20200102030405 ../outside.txt")
        check(os.stat(outside).st_mtime == 1000000000, "the file outside was changed")
        # MDTM stays read-only: a time argument is not a way to set it.
        before = os.stat(a).st_mtime
        expect_code(550, f.sendcmd, "MDTM 20100101000000 up/a.bin")
        check(os.stat(a).st_mtime == before)
        f.quit()
        # What overwriting needs: 'w' and 'd'.
        for user in ("writer", "reader"):
            f = srv.ftp()
            f.login(user, "pw")
            text = expect_code(550, f.sendcmd, "MFMT 20100101000000 up/b.bin")
            check("'w' and 'd'" in text, text)
            f.quit()
        check(os.stat(os.path.join(srv.root, "up", "b.bin")).st_mtime != 1262304000)


@test
def test_mfmt_lftp_mirror_keeps_times():
    if not which("lftp"):
        raise Skip("lftp not installed")
    with Server(tls_policy(users=MFMT_USERS)) as srv:
        local = os.path.join(srv.dir, "local")
        os.makedirs(local)
        for name, when in (("old.txt", 1262304000), ("older.txt", 946684800)):
            p = os.path.join(local, name)
            with open(p, "w") as fh:
                fh.write(name)
            os.utime(p, (when, when))
        script = ("set ftp:ssl-force true; set ssl:verify-certificate no; "
                  "set net:max-retries 1; set net:timeout 10; "
                  "open -u alice,pw ftp://%s:%d; mirror -R %s /dst; quit"
                  % (srv.host, srv.port, local))
        r = subprocess.run(["lftp", "-c", script], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, r.stdout + r.stderr + srv.log())
        for name, when in (("old.txt", 1262304000), ("older.txt", 946684800)):
            st = os.stat(os.path.join(srv.root, "dst", name))
            check(int(st.st_mtime) == when, "%s: %s, want %s" % (name, st.st_mtime, when))
        check(srv.wait_log("MFMT 20100101000000 /dst/old.txt"), srv.log())


# ------------------------------------------------------------ pasv-address --

CLEAR_USERS = "user alice password=%s root=/ access=rwadmn\n" % PW


class Resolver:
    """A private /etc/hosts and /etc/resolv.conf for the sessions of one
    test: the binary runs under `unshare -m` with both bind-mounted over
    the host's (as root only). The DNS server named is a UDP socket on a
    random 127.x address that this object holds and never answers, so a
    name not in the hosts file hangs the resolver as an unreachable DNS
    server would."""

    def __init__(self, hosts):
        if not IS_ROOT or not which("unshare"):
            raise Skip("needs root and unshare(1) to give the sessions their own /etc/hosts")
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="ftpsd-dns-")
        os.chmod(self.dir, 0o755)
        self.ns = "127.%d.%d.%d" % tuple(os.urandom(3)[i] % 200 + 20 for i in range(3))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.ns, 53))
        self.hosts = os.path.join(self.dir, "hosts")
        self.resolv = os.path.join(self.dir, "resolv.conf")
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n" + hosts)
        with open(self.resolv, "w") as f:
            f.write("nameserver %s\noptions timeout:5 attempts:3\n" % self.ns)
        for p in (self.hosts, self.resolv):
            os.chmod(p, 0o644)
        r = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind %s /etc/hosts" % self.hosts],
                           capture_output=True, timeout=10)
        if r.returncode != 0:
            self.close()
            raise Skip("cannot bind-mount in a mount namespace here: %r" % r.stderr)

    def wrapper(self):
        return ["unshare", "-m", "sh", "-c",
                'mount --bind %s /etc/hosts && mount --bind %s /etc/resolv.conf && exec "$@"'
                % (self.hosts, self.resolv), "sh"]

    def close(self):
        import shutil
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def pasv_reply(f):
    r = f.sendcmd("PASV")
    m = re.search(r"\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", r)
    check(m, r)
    return "%s.%s.%s.%s" % m.groups()[:4]


@test
def test_pasv_address_host_names():
    dns = Resolver("127.0.0.7 ftp.example.test\n127.0.0.8 nas.lan\n")
    try:
        # A name alone: every client gets its address (looked up at session
        # start: the hosts file is changed between sessions to prove it).
        with Server("tls off\nidle 30\npasv-address ftp.example.test\n" + CLEAR_USERS, tls=False,
                    wrapper=dns.wrapper()) as srv:
            f = srv.ftp()
            f.login("alice", "pw")
            check(pasv_reply(f) == "127.0.0.7")
            check(re.match(r"229 .*\(\|\|\|\d+\|\)", f.sendcmd("EPSV")), "EPSV unchanged")
            f.quit()
            with open(dns.hosts, "w") as fh:
                fh.write("127.0.0.1 localhost\n127.0.0.17 ftp.example.test\n")
            f = srv.ftp()
            f.login("alice", "pw")
            check(pasv_reply(f) == "127.0.0.17", "a dynamic DNS name follows its address")
            f.quit()
        # The private form: this client (127.0.0.1) is in a private range,
        # so it gets the second value: a name, a literal, or `local`.
        for second, want in (("nas.lan", "127.0.0.8"), ("127.0.0.9", "127.0.0.9"),
                             ("local", "127.0.0.1")):
            with open(dns.hosts, "w") as fh:
                fh.write("127.0.0.1 localhost\n127.0.0.8 nas.lan\n")
            with Server("tls off\nidle 30\npasv-address 192.0.2.7 %s\n" % second + CLEAR_USERS,
                        tls=False, wrapper=dns.wrapper()) as srv:
                f = srv.ftp()
                f.login("alice", "pw")
                check(pasv_reply(f) == want, "%s: %s" % (second, want))
                if second == "local":
                    # A real transfer through the address the reply named.
                    f.storbinary("STOR x.bin", io.BytesIO(b"x" * 1000))
                    b = io.BytesIO()
                    f.retrbinary("RETR x.bin", b.write)
                    check(b.getvalue() == b"x" * 1000)
                f.quit()
                r = subprocess.run(dns.wrapper() + cmd("-t", "-f", srv.policy),
                                   capture_output=True, text=True, timeout=30)
                check(r.returncode == 0, r.stderr)
                if second == "nas.lan":
                    check("# pasv-address nas.lan resolves to 127.0.0.8 now" in r.stdout, r.stdout)
    finally:
        dns.close()


@test
def test_pasv_address_lookup_is_bounded_and_never_refuses():
    dns = Resolver("")
    try:
        with Server("tls off\nidle 30\npasv-address ftp.nowhere.test\n" + CLEAR_USERS, tls=False,
                    wrapper=dns.wrapper()) as srv:
            t0 = time.time()
            f = srv.ftp(timeout=30)
            took = time.time() - t0
            # The resolver alone would wait 3 x 5 s; the session waits 3 s.
            check(2.5 <= took < 10, "greeting after %.1f s" % took)
            f.login("alice", "pw")
            check(pasv_reply(f) == "127.0.0.1", "the local address, not a refused session")
            # No lookup child is left behind.
            from ftpsdtest import session_pids, _stat
            for pid in session_pids(srv):
                kids = []
                for d in os.listdir("/proc"):
                    if d.isdigit():
                        try:
                            if _stat(int(d))[1] == pid:
                                kids.append(int(d))
                        except (OSError, ValueError, IndexError):
                            pass
                check(not kids, "children of session %d: %s" % (pid, kids))
            f.quit()
            check(srv.wait_log("pasv-address ftp.nowhere.test: no answer from the resolver in "
                               "time"), srv.log())
            r = subprocess.run(dns.wrapper() + cmd("-t", "-f", srv.policy), capture_output=True,
                               text=True, timeout=30)
            check(r.returncode == 0 and "warning: pasv-address ftp.nowhere.test" in r.stderr,
                  r.stderr)
    finally:
        dns.close()


@test
def test_pasv_address_literal_for_every_peer():
    with Server("tls off\nidle 30\npasv-address 192.0.2.7\n" + CLEAR_USERS, tls=False) as srv:
        f = srv.ftp()
        f.login("alice", "pw")
        # Without a second value, clients in private ranges (127.0.0.1
        # here) get the public address too.
        check(pasv_reply(f) == "192.0.2.7")
        f.quit()
    with Server("tls off\nidle 30\n" + CLEAR_USERS, tls=False) as srv:
        f = srv.ftp()
        f.login("alice", "pw")
        check(pasv_reply(f) == "127.0.0.1")
        f.quit()


# -------------------------------------------------------------------- HASH --

HASH_USERS = """
user alice  password=%(pw)s root=/ access=rwadmn
user nor    password=%(pw)s root=/ access=w
""" % {"pw": PW}

PY_HASH = {"SHA-256": hashlib.sha256, "SHA-512": hashlib.sha512, "SHA-1": hashlib.sha1,
           "MD5": hashlib.md5}


def parse_hash(reply):
    m = re.fullmatch(r"213 (\S+) (\d+)-(\d+) ([0-9a-f]+) (.+)", reply)
    check(m, reply)
    return m.group(1), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)


@test
def test_hash_is_off_by_default():
    with Server(tls_policy(users=HASH_USERS), files={"f.bin": "x"}) as srv:
        f = srv.ftps()
        f.auth()
        f.login("alice", "pw")
        check("HASH" not in f.sendcmd("FEAT"), "FEAT lists HASH while it is off")
        expect_code(502, f.sendcmd, "HASH f.bin")
        expect_code(501, f.sendcmd, "OPTS HASH")
        expect_code(502, f.sendcmd, "RANG 0 1")
        f.quit()


@test
def test_hash_algorithms_opts_and_files():
    data = os.urandom(3 * 1024 * 1024 + 12345)
    files = {"big.bin": data, "sub/a b.txt": b"hello world\n", "empty": b""}
    with Server(tls_policy("hash SHA-256 SHA-512 SHA-1 MD5", HASH_USERS), files=files) as srv:
        os.symlink("/etc/passwd", os.path.join(srv.root, "out"))
        f = srv.ftps()
        f.auth()
        f.login("alice", "pw")
        feat = f.sendcmd("FEAT")
        check(" HASH SHA-256*;SHA-512;SHA-1;MD5" in feat, feat)
        check("RANG STREAM" not in feat, "ranged RETR/STOR are not offered")
        check(f.sendcmd("OPTS HASH") == "200 SHA-256")
        # Every algorithm, checked against Python's own digest of the file.
        for name, fn in PY_HASH.items():
            check(f.sendcmd("OPTS HASH " + name.lower()) == "200 " + name)
            algo, start, end, hexd, path = parse_hash(f.sendcmd("HASH big.bin"))
            check((algo, start, end, path) == (name, 0, len(data) - 1, "big.bin"),
                  (algo, start, end, path))
            check(hexd == fn(data).hexdigest(), name)
        check(" HASH SHA-256;SHA-512;SHA-1;MD5*" in f.sendcmd("FEAT"))
        text = expect_code(501, f.sendcmd, "OPTS HASH CRC32")
        check("current selection not changed" in text, text)
        check(f.sendcmd("OPTS HASH") == "200 MD5")
        f.sendcmd("OPTS HASH SHA-256")
        # Names with blanks, relative to the directory; an empty file.
        f.cwd("sub")
        r = parse_hash(f.sendcmd("HASH a b.txt"))
        check(r == ("SHA-256", 0, 11, hashlib.sha256(b"hello world\n").hexdigest(), "a b.txt"), r)
        r = parse_hash(f.sendcmd("HASH /empty"))
        check(r[1:4] == (0, 0, hashlib.sha256(b"").hexdigest()), r)
        # The draft's errors: 553 for a directory, 550 for what is not there.
        expect_code(553, f.sendcmd, "HASH /sub")
        expect_code(550, f.sendcmd, "HASH /nope")
        # SECURITY: a symlink out of the root is not followed.
        expect_code(550, f.sendcmd, "HASH /out")
        f.quit()
        f = srv.ftps()
        f.auth()
        f.login("nor", "pw")
        text = expect_code(550, f.sendcmd, "HASH /big.bin")
        check("'r'" in text, text)
        f.quit()


@test
def test_hash_rang_ranges():
    data = bytes(range(100))
    with Server(tls_policy("hash SHA-1 SHA-256", HASH_USERS), files={"f.bin": data}) as srv:
        f = srv.ftps(reuse=True)
        f.auth()
        f.login("alice", "pw")
        f.prot_p()
        sha1 = lambda b: hashlib.sha1(b).hexdigest()
        check(f.sendcmd("RANG 0 49").startswith("350 "))
        check(parse_hash(f.sendcmd("HASH f.bin"))[:4] == ("SHA-1", 0, 49, sha1(data[:50])))
        # Reset after a HASH: the next covers the whole file.
        check(parse_hash(f.sendcmd("HASH f.bin"))[:4] == ("SHA-1", 0, 99, sha1(data)))
        # An end past the file is cut at its end; the reply says so.
        f.sendcmd("RANG 10 1000000")
        check(parse_hash(f.sendcmd("HASH f.bin"))[:4] == ("SHA-1", 10, 99, sha1(data[10:])))
        f.sendcmd("RANG 99 99")
        check(parse_hash(f.sendcmd("HASH f.bin"))[:4] == ("SHA-1", 99, 99, sha1(data[99:])))
        f.sendcmd("RANG 100 200")
        expect_code(554, f.sendcmd, "HASH f.bin")
        expect_code(501, f.sendcmd, "RANG 5 2")
        expect_code(501, f.sendcmd, "RANG 5")
        # RANG 1 0 resets.
        f.sendcmd("RANG 0 9")
        check(f.sendcmd("RANG 1 0").startswith("350 "))
        check(parse_hash(f.sendcmd("HASH f.bin"))[1:3] == (0, 99))
        # RANG is for HASH only: a transfer after it is refused, not sent
        # whole; the range is gone and the next RETR is whole.
        f.sendcmd("RANG 0 9")
        text = expect_code(504, f.retrbinary, "RETR f.bin", lambda b: None)
        check("HASH only" in text, text)
        b = io.BytesIO()
        f.retrbinary("RETR f.bin", b.write)
        check(b.getvalue() == data)
        f.quit()


@test
def test_hash_limit_caps_a_session():
    with Server("tls off\nidle 30\nhash SHA-256 MD5\nhash-limit 1K\n" + HASH_USERS, tls=False,
                files={"f.bin": b"x" * 600}) as srv:
        f = srv.ftp()
        f.login("alice", "pw")
        f.sendcmd("OPTS HASH MD5")
        parse_hash(f.sendcmd("HASH f.bin"))
        # 424 bytes left: the whole file no more, refused before reading.
        text = expect_code(556, f.sendcmd, "HASH f.bin")
        check("424 bytes of hash-limit 1024" in text, text)
        f.sendcmd("RANG 0 99")
        check(parse_hash(f.sendcmd("HASH f.bin"))[:4] ==
              ("MD5", 0, 99, hashlib.md5(b"x" * 100).hexdigest()))
        # REIN resets the algorithm, not the budget: it is no new session.
        f.sendcmd("REIN")
        f.login("alice", "pw")
        check(f.sendcmd("OPTS HASH") == "200 SHA-256")
        text = expect_code(556, f.sendcmd, "HASH f.bin")
        check("324 bytes of hash-limit 1024" in text, text)
        f.quit()
        r = run_t(srv.policy)
        check("\nhash SHA-256 MD5\nhash-limit 1K\n" in r.stdout, r.stdout)
