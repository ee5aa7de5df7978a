"""The data channel and the file commands: transfers in the clear and under
TLS (bytes compared by SHA-256), session reuse on data connections, active
mode and its bounce defences, passive connection theft, ABOR/STAT/QUIT during
a transfer, truncated and out-of-space uploads (atomic: no file appears),
path traversal in every form, access letters, TYPE A, IPv6, listings."""
import ftplib
import hashlib
import io
import os
import re
import socket
import ssl
import stat
import subprocess
import threading
import time

from ftpsdtest import (IS_ROOT, RUN_AS, WRAPPER, read_all, RawClient, ReusingFTP_TLS, Server, Skip, check,
                       expect_code, hash_password, insecure_context, test, which)

PW = hash_password("pw")

USERS = """
user alice    password=%(pw)s root=/alice access=rwadmn
user reader   password=%(pw)s root=/alice access=r
user writer   password=%(pw)s root=/alice access=rw
user resumer  password=%(pw)s root=/alice access=rwa
user renamer  password=%(pw)s root=/alice access=rn
""" % {"pw": PW}


def clear_policy(extra=""):
    return "tls off\nidle 30\n" + extra + "\n" + USERS


def tls_policy(extra="", rule="auth+data"):
    return "cert {cert}\nkey {key}\ntls %s\nidle 30\n%s\n%s" % (rule, extra, USERS)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def alice_dir(srv):
    return os.path.join(srv.root, "alice")


def put_host_file(srv, rel, data):
    """A file created on the host (readable by the run-as user)."""
    p = os.path.join(alice_dir(srv), rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o644)
    if IS_ROOT:
        import pwd
        pw = pwd.getpwnam(RUN_AS)
        os.chown(p, pw.pw_uid, pw.pw_gid)
    return p


def no_temporaries(path):
    return [n for n in os.listdir(path) if n.startswith(".ftpsd-")]


def login_clear(srv, user="alice"):
    f = srv.ftp()
    f.login(user, "pw")
    return f


def login_tls(srv, user="alice", reuse=True):
    f = srv.ftps(reuse=reuse)
    f.auth()
    f.login(user, "pw")
    f.prot_p()
    return f


def retr_bytes(f, name, rest=None):
    b = io.BytesIO()
    f.retrbinary("RETR " + name, b.write, rest=rest)
    return b.getvalue()


# ---- a raw client for what libraries do not send ----

class Raw(RawClient):
    def login(self, user="alice"):
        code, _ = self.reply()
        check(code == 220, "greeting %d" % code)
        check(self.cmd("USER " + user)[0] == 331)
        code, lines = self.cmd("PASS pw")
        check(code == 230, lines)

    def auth_tls(self, ctx=None):
        self.ctx = ctx or insecure_context()
        code, _ = self.reply()
        check(code == 220)
        check(self.cmd("AUTH TLS")[0] == 234)
        self.sock = self.ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.sock.settimeout(10)

    def login_after_auth(self, user="alice"):
        check(self.cmd("USER " + user)[0] == 331)
        check(self.cmd("PASS pw")[0] == 230)
        check(self.cmd("PBSZ 0")[0] == 200)
        check(self.cmd("PROT P")[0] == 200)

    def pasv(self, source=None):
        code, lines = self.cmd("PASV")
        check(code == 227, lines)
        nums = [int(x) for x in re.search(r"\((\d+,\d+,\d+,\d+,\d+,\d+)\)", lines[0]).group(1).split(",")]
        host = "%d.%d.%d.%d" % tuple(nums[:4])
        return host, nums[4] * 256 + nums[5]

    def data_connect(self, addr, source=None, tls=False):
        s = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET)
        s.settimeout(10)
        if source:
            s.bind((source, 0))
        s.connect(addr)
        if tls:
            s = self.ctx.wrap_socket(s, server_hostname="localhost", session=self.sock.session)
        return s




# ---------------------------------------------------------------------------
# Transfers
# ---------------------------------------------------------------------------

@test
def test_clear_roundtrip_binary_rest_appe():
    data = os.urandom(3 * 1024 * 1024 + 17)
    with Server(clear_policy(), tls=False, files={"alice/.keep": ""}) as srv:
        f = login_clear(srv)
        check(f.storbinary("STOR up.bin", io.BytesIO(data)).startswith("226"))
        with open(os.path.join(alice_dir(srv), "up.bin"), "rb") as h:
            check(sha(h.read()) == sha(data), "stored bytes differ")
        got = retr_bytes(f, "up.bin")
        check(sha(got) == sha(data), "retrieved bytes differ (%d vs %d)" % (len(got), len(data)))
        # REST + RETR
        check(retr_bytes(f, "up.bin", rest=1000) == data[1000:])
        check(retr_bytes(f, "up.bin", rest=len(data)) == b"")
        expect_code(554, retr_bytes, f, "up.bin", len(data) + 1)
        expect_code(501, f.sendcmd, "REST -1")
        expect_code(501, f.sendcmd, "REST 12abc")
        # APPE appends
        f.storbinary("APPE up.bin", io.BytesIO(b"tail"))
        check(retr_bytes(f, "up.bin") == data + b"tail")
        check(f.size("up.bin") == len(data) + 4)
        mdtm = f.sendcmd("MDTM up.bin")
        check(re.match(r"^213 \d{14}$", mdtm), mdtm)
        check(no_temporaries(alice_dir(srv)) == [])
        f.quit()


@test
def test_tls_roundtrip_and_listing():
    data = os.urandom(5 * 1024 * 1024 + 3)
    with Server(tls_policy(), files={"alice/hello.txt": "hello\n"}) as srv:
        f = login_tls(srv)
        check(f.storbinary("STOR t.bin", io.BytesIO(data)).startswith("226"))
        got = retr_bytes(f, "t.bin")
        check(sha(got) == sha(data), "TLS roundtrip differs")
        names = f.nlst()
        check(sorted(names) == ["hello.txt", "t.bin"], names)
        lines = []
        f.retrlines("LIST", lines.append)
        check(any(l.endswith(" t.bin") and l.startswith("-rw") for l in lines), lines)
        facts = dict(f.mlsd())
        check(facts["t.bin"]["size"] == str(len(data)), facts)
        f.quit()
        check(srv.wait_log("TLS data:"), srv.log())
        check("resumed" in srv.log(), "data connection did not resume")


@test
def test_curl_20mib_up_and_down():
    if not which("curl"):
        raise Skip("curl not installed")
    data = os.urandom(20 * 1024 * 1024)
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        src = os.path.join(srv.dir, "src.bin")
        dst = os.path.join(srv.dir, "dst.bin")
        with open(src, "wb") as h:
            h.write(data)
        url = "ftp://alice:pw@127.0.0.1:%d/big.bin" % srv.port
        r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k", "-T", src, url],
                           capture_output=True, text=True, timeout=100)
        check(r.returncode == 0, "curl upload: %s %s" % (r.stderr, srv.log()[-2000:]))
        with open(os.path.join(alice_dir(srv), "big.bin"), "rb") as h:
            check(sha(h.read()) == sha(data), "curl upload stored different bytes")
        r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k", "-o", dst, url],
                           capture_output=True, text=True, timeout=100)
        check(r.returncode == 0, "curl download: %s" % r.stderr)
        with open(dst, "rb") as h:
            check(sha(h.read()) == sha(data), "curl download differs")


@test
def test_data_reuse_required_and_optional():
    with Server(tls_policy(), files={"alice/a.txt": "abc\n"}) as srv:
        f = login_tls(srv, reuse=False)  # stock ftplib: no session reuse
        try:
            retr_bytes(f, "a.txt")
            raise AssertionError("RETR without session reuse succeeded")
        except ssl.SSLError:
            # TLS 1.3 (mbed TLS 3.6): a data handshake without this
            # session's ticket is refused inside the handshake; the 522
            # then waits on the control connection.
            text = f.getline()
        except ftplib.Error as e:
            text = str(e)
        check(text.startswith("522") and "resume" in text, text)
        f.quit()
        check(srv.wait_log("did not resume"), srv.log())
        g = login_tls(srv, reuse=True)
        check(retr_bytes(g, "a.txt") == b"abc\n")
        g.quit()
    with Server(tls_policy("data-reuse optional"), files={"alice/a.txt": "abc\n"}) as srv:
        f = login_tls(srv, reuse=False)
        check(retr_bytes(f, "a.txt") == b"abc\n")
        f.quit()


@test
def test_prot_c_refused_when_data_must_be_protected():
    with Server(tls_policy(), files={"alice/a.txt": "abc\n"}) as srv:
        f = srv.ftps()
        f.auth()
        f.login("alice", "pw")
        text = expect_code(521, retr_bytes, f, "a.txt")
        check("PROT P" in text, text)
        f.quit()


@test
def test_type_a_both_directions():
    with Server(clear_policy(), tls=False, files={"alice/unix.txt": b"x\ny\n\nz"}) as srv:
        f = login_clear(srv)
        f.sendcmd("TYPE A")
        conn = f.transfercmd("RETR unix.txt")
        got = read_all(conn)
        conn.close()
        check(f.voidresp().startswith("226"))
        check(got == b"x\r\ny\r\n\r\nz", repr(got))
        expect_code(550, f.sendcmd, "SIZE unix.txt")
        # upload: CRLF -> LF, a bare CR stays
        f.sendcmd("TYPE A")
        conn = f.transfercmd("STOR dos.txt")
        conn.sendall(b"a\r\nb\rc\r\n" * 5000 + b"end\r")
        conn.close()
        check(f.voidresp().startswith("226"))
        with open(os.path.join(alice_dir(srv), "dos.txt"), "rb") as h:
            check(h.read() == b"a\nb\rc\n" * 5000 + b"end\r")
        f.sendcmd("TYPE I")
        check(f.size("dos.txt") == len(b"a\nb\rc\n" * 5000 + b"end\r"))
        f.quit()


# ---------------------------------------------------------------------------
# Active mode, passive theft
# ---------------------------------------------------------------------------

@test
def test_active_port_and_eprt():
    data = os.urandom(300000)
    with Server(clear_policy("active peer"), tls=False, files={"alice/d.bin": data}) as srv:
        f = login_clear(srv)
        f.set_pasv(False)  # ftplib sends PORT on IPv4
        check(retr_bytes(f, "d.bin") == data)
        check(f.storbinary("STOR up.bin", io.BytesIO(data)).startswith("226"))
        # EPRT |1| by hand
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        ls.settimeout(10)
        check(f.sendcmd("EPRT |1|127.0.0.1|%d|" % ls.getsockname()[1]).startswith("200"))
        f.putcmd("RETR d.bin")
        check(f.getresp().startswith("150"))
        c, peer = ls.accept()
        got = read_all(c)
        c.close()
        ls.close()
        check(f.voidresp().startswith("226"))
        check(got == data)
        # The server connected from its own address, not port 20.
        check(peer[0] == "127.0.0.1" and peer[1] != 20, peer)
        # bounce defences
        expect_code(504, f.sendcmd, "PORT 127,0,0,1,0,25")
        expect_code(504, f.sendcmd, "PORT 10,1,2,3,200,10")
        expect_code(504, f.sendcmd, "EPRT |1|192.0.2.1|5000|")
        expect_code(522, f.sendcmd, "EPRT |2|::1|5000|")
        expect_code(522, f.sendcmd, "EPRT |7|x|5000|")
        expect_code(501, f.sendcmd, "PORT 127,0,0,1,300,1")
        expect_code(501, f.sendcmd, "PORT 127,0,0,1,4")
        expect_code(501, f.sendcmd, "EPRT |1|127.0.0.1|99999|")
        f.quit()
        check(srv.wait_log("SECURITY: PORT to 10.1.2.3"), srv.log())


@test
def test_active_off_and_epsv_all():
    with Server(clear_policy(), tls=False, files={"alice/a": "a"}) as srv:
        f = login_clear(srv)
        text = expect_code(502, f.sendcmd, "PORT 127,0,0,1,100,100")
        check("passive" in text, text)
        expect_code(502, f.sendcmd, "EPRT |1|127.0.0.1|5000|")
        check(f.sendcmd("EPSV ALL").startswith("200"))
        expect_code(503, f.sendcmd, "PASV")
        check(f.sendcmd("EPSV").startswith("229"))
        expect_code(522, f.sendcmd, "EPSV 2")
        expect_code(501, f.sendcmd, "EPSV x")
        f.quit()
        # No PASV before RETR: 425 and no 150.
        r = Raw("127.0.0.1", srv.port)
        r.login()
        code, lines = r.cmd("RETR a")
        check(code == 425, lines)
        r.close()


@test
def test_passive_theft_refused():
    data = os.urandom(100000)
    with Server(clear_policy(), tls=False, files={"alice/d.bin": data}) as srv:
        try:
            probe = socket.socket()
            probe.bind(("127.0.0.2", 0))
            probe.close()
        except OSError:
            raise Skip("127.0.0.2 not usable here")
        r = Raw("127.0.0.1", srv.port)
        r.login()
        r.cmd("TYPE I")
        addr = r.pasv()
        thief = r.data_connect(addr, source="127.0.0.2")
        r.send("RETR d.bin\r\n")
        check(r.reply()[0] == 150)
        stolen = read_all(thief)
        thief.close()
        check(stolen == b"", "the thief got %d bytes" % len(stolen))
        real = r.data_connect(addr)
        got = read_all(real)
        real.close()
        check(r.reply()[0] == 226)
        check(got == data)
        r.close()
        check(srv.wait_log("SECURITY: passive data connection from 127.0.0.2"), srv.log())


# ---------------------------------------------------------------------------
# During a transfer: ABOR, STAT, QUIT, idle
# ---------------------------------------------------------------------------

def big_file(srv, size=64 * 1024 * 1024):
    block = os.urandom(1 << 20)
    p = put_host_file(srv, "big.bin", b"")
    with open(p, "wb") as h:
        for _ in range(size >> 20):
            h.write(block)
    return p


@test
def test_abor_retr_64mib_clear():
    with Server(clear_policy(), tls=False, files={"alice/.keep": ""}) as srv:
        big_file(srv)
        r = Raw("127.0.0.1", srv.port)
        r.login()
        r.cmd("TYPE I")
        addr = r.pasv()
        d = r.data_connect(addr)
        r.send("RETR big.bin\r\n")
        check(r.reply()[0] == 150)
        got = read_all(d, limit=1 << 20)
        check(len(got) >= 1 << 20)
        r.send("ABOR\r\n")
        c1, l1 = r.reply()
        c2, l2 = r.reply()
        check((c1, c2) == (426, 226), (l1, l2))
        rest = read_all(d)
        d.close()
        check(len(got) + len(rest) < 64 * 1024 * 1024, "the whole file was sent despite ABOR")
        # The session goes on.
        check(r.cmd("NOOP")[0] == 200)
        check(r.cmd("ABOR")[0] == 225)
        r.close()


@test
def test_abor_retr_tls():
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        big_file(srv, 32 * 1024 * 1024)
        r = Raw("127.0.0.1", srv.port)
        r.auth_tls()
        r.login_after_auth()
        r.cmd("TYPE I")
        addr = r.pasv()
        r.send("RETR big.bin\r\n")
        d = r.data_connect(addr, tls=True)
        check(r.reply()[0] == 150)
        got = read_all(d, limit=1 << 20)
        check(len(got) >= 1 << 20)
        r.send("ABOR\r\n")
        c1, l1 = r.reply()
        c2, l2 = r.reply()
        check((c1, c2) == (426, 226), (l1, l2))
        d.close()
        check(r.cmd("NOOP")[0] == 200)
        r.close()


@test
def test_stat_and_quit_during_transfer():
    with Server(clear_policy(), tls=False, files={"alice/.keep": ""}) as srv:
        big_file(srv, 16 * 1024 * 1024)
        with open(os.path.join(alice_dir(srv), "big.bin"), "rb") as h:
            want = sha(h.read())
        r = Raw("127.0.0.1", srv.port)
        r.login()
        r.cmd("TYPE I")
        addr = r.pasv()
        d = r.data_connect(addr)
        r.send("RETR big.bin\r\n")
        check(r.reply()[0] == 150)
        got = read_all(d, limit=2 << 20)
        code, lines = r.cmd("STAT")
        check(code == 211 and "big.bin" in lines[0] and "bytes" in lines[0], lines)
        n = int(re.search(r"(\d+) bytes", lines[0]).group(1))
        check(n >= 2 << 20, lines)
        code, lines = r.cmd("NOOP")
        check(code == 200, lines)
        code, lines = r.cmd("LIST")
        check(code == 503, lines)
        r.send("QUIT\r\n")
        got += read_all(d)
        d.close()
        check(sha(got) == want, "the transfer did not finish intact after QUIT")
        c1, l1 = r.reply()
        c2, l2 = r.reply()
        check((c1, c2) == (226, 221), (l1, l2))
        check(r.closed())


@test
def test_idle_data_connection_times_out():
    with Server("tls off\nidle 2\n" + USERS, tls=False, files={"alice/.keep": ""}) as srv:
        big_file(srv, 64 * 1024 * 1024)
        r = Raw("127.0.0.1", srv.port)
        r.login()
        r.cmd("TYPE I")
        addr = r.pasv()
        d = r.data_connect(addr)
        d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        r.send("RETR big.bin\r\n")
        check(r.reply()[0] == 150)
        t0 = time.time()
        code, lines = r.reply()  # we never read the data
        check(code == 426 and "timed out" in lines[0], lines)
        check(time.time() - t0 < 15)
        d.close()
        # an upload that never sends a byte
        addr = r.pasv()
        d = r.data_connect(addr)
        r.send("STOR stalled.bin\r\n")
        check(r.reply()[0] == 150)
        code, lines = r.reply()
        check(code == 426, lines)
        d.close()
        check(not os.path.exists(os.path.join(alice_dir(srv), "stalled.bin")))
        check(no_temporaries(alice_dir(srv)) == [])
        r.close()


# ---------------------------------------------------------------------------
# Uploads that must not look complete
# ---------------------------------------------------------------------------

@test
def test_truncated_tls_upload_leaves_nothing():
    with Server(tls_policy(), files={"alice/.keep": ""}) as srv:
        r = Raw("127.0.0.1", srv.port)
        r.auth_tls()
        r.login_after_auth()
        r.cmd("TYPE I")
        addr = r.pasv()
        r.send("STOR cut.bin\r\n")
        d = r.data_connect(addr, tls=True)
        check(r.reply()[0] == 150)
        d.sendall(os.urandom(300000))
        # Close the TCP connection without TLS close_notify.
        fd = d.detach()
        os.close(fd)
        code, lines = r.reply()
        check(code == 426 and "close_notify" in lines[0], lines)
        check(not os.path.exists(os.path.join(alice_dir(srv), "cut.bin")), "truncated file stored")
        check(no_temporaries(alice_dir(srv)) == [], no_temporaries(alice_dir(srv)))
        # A clean one works.
        addr = r.pasv()
        r.send("STOR ok.bin\r\n")
        d = r.data_connect(addr, tls=True)
        check(r.reply()[0] == 150)
        d.sendall(b"x" * 1000)
        d.unwrap().close()
        check(r.reply()[0] == 226)
        with open(os.path.join(alice_dir(srv), "ok.bin"), "rb") as h:
            check(h.read() == b"x" * 1000)
        r.close()


@test
def test_atomic_upload_invisible_until_complete():
    with Server(clear_policy(), tls=False, files={"alice/old.txt": "old\n"}) as srv:
        r = Raw("127.0.0.1", srv.port)
        r.login()
        r.cmd("TYPE I")
        addr = r.pasv()
        d = r.data_connect(addr)
        r.send("STOR old.txt\r\n")
        check(r.reply()[0] == 150)
        d.sendall(b"new content, part 1\n")
        deadline = time.time() + 5
        while not no_temporaries(alice_dir(srv)) and time.time() < deadline:
            time.sleep(0.05)
        temps = no_temporaries(alice_dir(srv))
        check(len(temps) == 1, os.listdir(alice_dir(srv)))
        # Meanwhile another session sees the old file and no temporary.
        g = login_clear(srv)
        check(retr_bytes(g, "old.txt") == b"old\n")
        check(".ftpsd" not in " ".join(g.nlst()), g.nlst())
        lines = []
        g.retrlines("LIST -la", lines.append)
        check(not any(".ftpsd" in l for l in lines), lines)
        check(not any(".ftpsd" in n for n, _ in g.mlsd()))
        expect_code(550, retr_bytes, g, temps[0])
        expect_code(550, g.delete, temps[0])
        expect_code(550, g.rename, temps[0], "stolen")
        expect_code(553, g.storbinary, "STOR .ftpsd-planted", io.BytesIO(b"x"))
        g.quit()
        d.sendall(b"part 2\n")
        d.close()
        check(r.reply()[0] == 226)
        with open(os.path.join(alice_dir(srv), "old.txt"), "rb") as h:
            check(h.read() == b"new content, part 1\npart 2\n")
        check(no_temporaries(alice_dir(srv)) == [])
        r.close()


@test
def test_enospc_452_and_no_partial_file():
    if not IS_ROOT:
        raise Skip("mounting a small tmpfs needs root")
    with Server(clear_policy(), tls=False, files={"alice/small/.keep": ""}) as srv:
        small = os.path.join(alice_dir(srv), "small")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise Skip("mount -t tmpfs failed: " + r.stderr.strip())
        try:
            import pwd
            pw = pwd.getpwnam(RUN_AS)
            os.chown(small, pw.pw_uid, pw.pw_gid)
            f = login_clear(srv)
            data = os.urandom(3 * 1024 * 1024)
            try:
                f.storbinary("STOR small/full.bin", io.BytesIO(data))
                raise AssertionError("upload to a full file system succeeded")
            except ftplib.error_temp as e:
                check(str(e).startswith("452"), str(e))
            except OSError:
                resp = None
                try:
                    f.getresp()
                except ftplib.error_temp as e:
                    resp = str(e)
                check(resp and resp.startswith("452"), resp)
            check(os.listdir(small) == [], os.listdir(small))
            # The session goes on and a small file fits.
            check(f.storbinary("STOR small/ok.bin", io.BytesIO(b"ok")).startswith("226"))
            f.quit()
        finally:
            subprocess.run(["umount", "-l", small], capture_output=True)


@test
def test_upload_direct_and_stou():
    with Server(clear_policy("upload direct"), tls=False, files={"alice/.keep": ""}) as srv:
        f = login_clear(srv)
        data = os.urandom(100000)
        check(f.storbinary("STOR d.bin", io.BytesIO(data)).startswith("226"))
        check(retr_bytes(f, "d.bin") == data)
        f.quit()
    with Server(clear_policy(), tls=False, files={"alice/.keep": ""}) as srv:
        r = Raw("127.0.0.1", srv.port)
        r.login()
        names = []
        for _ in range(2):
            addr = r.pasv()
            d = r.data_connect(addr)
            code, lines = r.cmd("STOU report")
            check(code == 150 and lines[0].startswith("150 FILE: "), lines)
            names.append(lines[0][len("150 FILE: "):])
            d.sendall(b"unique")
            d.close()
            check(r.reply()[0] == 226)
        check(names == ["report", "report.1"], names)
        for n in names:
            with open(os.path.join(alice_dir(srv), n), "rb") as h:
                check(h.read() == b"unique")
        r.close()


# ---------------------------------------------------------------------------
# Confinement (SPEC §4.2)
# ---------------------------------------------------------------------------

SECRET = b"root:x:0:0:SECRET-OUTSIDE-THE-ROOT\n"


@test
def test_traversal_every_form_refused():
    files = {"alice/in.txt": "inside\n", "secret.txt": SECRET, "alice/sub/.keep": ""}
    with Server(clear_policy(), tls=False, files=files) as srv:
        a = alice_dir(srv)
        os.symlink("/secret.txt", os.path.join(a, "abs_link"))
        os.symlink("../secret.txt", os.path.join(a, "rel_link"))
        os.symlink("../../../../../../../../etc", os.path.join(a, "etc_link"))
        os.symlink("/", os.path.join(a, "sub", "root_link"))
        os.symlink("../in.txt", os.path.join(a, "sub", "ok_link"))
        f = login_clear(srv)
        for p in ["../secret.txt", "../../secret.txt", "/../../secret.txt", "sub/../../secret.txt",
                  "abs_link", "rel_link", "etc_link/passwd", "sub/root_link/secret.txt",
                  "/../../etc/passwd", "..\\secret.txt", "%2e%2e/secret.txt"]:
            try:
                got = retr_bytes(f, p)
                raise AssertionError("RETR %s succeeded: %r" % (p, got[:40]))
            except ftplib.error_perm as e:
                check(str(e).startswith("550"), "RETR %s: %s" % (p, e))
        # Listing through a link outside: refused, nothing leaks.
        for p in ["etc_link", "sub/root_link", "rel_link"]:
            try:
                lines = []
                f.retrlines("LIST " + p, lines.append)
                check(not any("SECRET" in l or "secret.txt" in l or "passwd" in l for l in lines),
                      (p, lines))
            except ftplib.error_perm as e:
                check(str(e).startswith("550"), str(e))
        expect_code(550, f.cwd, "etc_link")
        f.sendcmd("TYPE I")
        expect_code(550, f.size, "abs_link")
        expect_code(550, f.size, "rel_link")
        # Writes through links are refused, the target is untouched.
        expect_code(550, f.storbinary, "STOR rel_link", io.BytesIO(b"overwritten"))
        expect_code(550, f.sendcmd, "SITE CHMOD 777 rel_link")
        with open(os.path.join(srv.root, "secret.txt"), "rb") as h:
            check(h.read() == SECRET)
        # A link inside the root works where the kernel has openat2. Without
        # it (Linux < 5.6; qemu-user 7.2, whose openat2 is ENOSYS) the walk
        # refuses every link, stricter by design (path.h).
        if WRAPPER:
            try:
                check(retr_bytes(f, "sub/ok_link") == b"inside\n")
            except ftplib.error_perm as e:
                check("symbolic link" in str(e), str(e))
        else:
            check(retr_bytes(f, "sub/ok_link") == b"inside\n")
        # ".." never rises above the root.
        f.cwd("/../../..")
        check(f.pwd() == "/")
        check(sorted(f.nlst("../..")) == sorted(["in.txt", "sub", "abs_link", "rel_link",
                                                 "etc_link"]), f.nlst("../.."))
        # A path longer than PATH_MAX (deep cwd + long argument): 553.
        deep = "/".join(["d" * 200] * 15)
        os.makedirs(os.path.join(a, deep))
        f.cwd(deep)
        f.sendcmd("TYPE I")
        expect_code(553, f.size, "/".join(["e" * 250] * 5))
        f.cwd("/")
        f.quit()
        # NUL and CR inside a path, sent raw
        r = Raw("127.0.0.1", srv.port)
        r.login()
        code, _ = r.cmd("SIZE in.txt\x00../secret.txt")
        check(code == 500, code)
        code, _ = r.cmd("SIZE " + "b" * 5000)
        check(code == 500, code)  # longer than a control line
        check(r.cmd("SIZE in.txt")[0] == 213)
        r.close()


# ---------------------------------------------------------------------------
# Access letters (SPEC §5)
# ---------------------------------------------------------------------------

@test
def test_access_letters_per_user():
    files = {"alice/f.txt": "0123456789", "alice/d/.keep": ""}
    with Server(clear_policy(), tls=False, files=files) as srv:
        # r only
        f = login_clear(srv, "reader")
        check(retr_bytes(f, "f.txt") == b"0123456789")
        expect_code(550, f.storbinary, "STOR new.txt", io.BytesIO(b"x"))
        expect_code(550, f.storbinary, "APPE f.txt", io.BytesIO(b"x"))
        expect_code(550, f.delete, "f.txt")
        expect_code(550, f.mkd, "nd")
        expect_code(550, f.rmd, "d")
        expect_code(550, f.rename, "f.txt", "g.txt")
        expect_code(550, f.sendcmd, "SITE CHMOD 600 f.txt")
        perm = dict(f.mlsd())["f.txt"]["perm"]
        check(perm == "r", perm)
        f.quit()
        # w without d: new files yes, overwrite no; no a: no APPE, no resume
        f = login_clear(srv, "writer")
        check(f.storbinary("STOR new.txt", io.BytesIO(b"new")).startswith("226"))
        text = expect_code(550, f.storbinary, "STOR new.txt", io.BytesIO(b"again"))
        check("'d'" in text, text)
        expect_code(550, f.storbinary, "APPE new.txt", io.BytesIO(b"x"))
        expect_code(550, f.storbinary, "STOR f.txt", io.BytesIO(b"x"), 8192, None, 5)
        # SPEC §5: changing a mode needs what overwriting needs (w and d)
        text = expect_code(550, f.sendcmd, "SITE CHMOD 4640 new.txt")
        check("'d'" in text, text)
        f.quit()
        f = login_clear(srv, "alice")
        check(f.sendcmd("SITE CHMOD 4640 new.txt").startswith("200"))
        st = os.stat(os.path.join(alice_dir(srv), "new.txt"))
        check(stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode))  # setuid dropped
        f.quit()
        with open(os.path.join(alice_dir(srv), "new.txt"), "rb") as h:
            check(h.read() == b"new")
        # w+a: resume at the end and APPE
        f = login_clear(srv, "resumer")
        check(f.storbinary("STOR f.txt", io.BytesIO(b"ABC"), 8192, None, 10).startswith("226"))
        check(f.storbinary("APPE f.txt", io.BytesIO(b"DEF")).startswith("226"))
        # before the end would overwrite: needs d too
        expect_code(550, f.storbinary, "STOR f.txt", io.BytesIO(b"x"), 8192, None, 3)
        f.quit()
        with open(os.path.join(alice_dir(srv), "f.txt"), "rb") as h:
            check(h.read() == b"0123456789ABCDEF")
        # n without d: rename yes, replacing an existing name no
        f = login_clear(srv, "renamer")
        check(f.rename("f.txt", "g.txt").startswith("250"))
        text = expect_code(550, f.rename, "g.txt", "new.txt")
        check("exists" in text, text)
        f.quit()
        # everything
        f = login_clear(srv, "alice")
        check(f.storbinary("STOR new.txt", io.BytesIO(b"over")).startswith("226"))
        check(f.storbinary("STOR g.txt", io.BytesIO(b"xy"), 8192, None, 3).startswith("226"))
        check(retr_bytes(f, "g.txt") == b"012xy")
        f.quit()


# ---------------------------------------------------------------------------
# File commands and listings
# ---------------------------------------------------------------------------

@test
def test_file_commands():
    with Server(clear_policy(), tls=False, files={"alice/f.txt": "f", "alice/full/x": "x"}) as srv:
        r = Raw("127.0.0.1", srv.port)
        r.login()
        code, lines = r.cmd('MKD a"b')
        check(code == 257 and lines[0] == '257 "/a""b" created', lines)
        check(os.path.isdir(os.path.join(alice_dir(srv), 'a"b')))
        check(r.cmd("RMD a\"b")[0] == 250)
        check(r.cmd("MKD sub")[0] == 257)
        check(r.cmd("MKD sub")[0] == 550)
        code, lines = r.cmd("RMD full")
        check(code == 550 and "not empty" in lines[0], lines)
        code, lines = r.cmd("DELE full")
        check(code == 550 and "RMD" in lines[0], lines)
        code, lines = r.cmd("DELE nothere.txt")
        check(code == 550 and lines[0] == "550 nothere.txt: No such file or directory", lines)
        check(r.cmd("RNTO x")[0] == 503)
        check(r.cmd("RNFR f.txt")[0] == 350)
        check(r.cmd("RNTO sub/g.txt")[0] == 250)
        check(os.path.exists(os.path.join(alice_dir(srv), "sub", "g.txt")))
        check(r.cmd("RNFR sub/g.txt")[0] == 350)
        check(r.cmd("NOOP")[0] == 200)
        check(r.cmd("RNTO f.txt")[0] == 503)  # RNTO must follow RNFR at once
        check(r.cmd("DELE sub/g.txt")[0] == 250)
        code, lines = r.cmd("RMD /")
        check(code == 550, lines)
        code, lines = r.cmd("MLST full/x")
        check(code == 250 and len(lines) == 3 and lines[1].startswith(" type=file;size=1;"), lines)
        check(lines[1].endswith("; /full/x"), lines)
        code, lines = r.cmd("STAT full")
        check(code == 213 and any(l.endswith(" x") for l in lines), lines)
        code, lines = r.cmd("MDTM full/x")
        check(code == 213 and re.match(r"^213 \d{14}$", lines[0]), lines)
        check(r.cmd("ABOR")[0] == 225)
        code, lines = r.cmd("SITE CHMOD 99 full/x")
        check(code == 501, lines)
        r.close()


@test
def test_listings_stream_and_options():
    files = {"alice/.hidden": "h", "alice/f.txt": "12345", "alice/dir/inner": "i"}
    with Server(clear_policy(), tls=False, files=files) as srv:
        many = os.path.join(alice_dir(srv), "many")
        os.mkdir(many)
        for i in range(3000):
            open(os.path.join(many, "file-%04d-%s" % (i, "x" * 40)), "w").close()
        open(os.path.join(alice_dir(srv), ".ftpsd-AbCdEf"), "w").close()
        f = login_clear(srv)
        names = f.nlst()
        check(sorted(names) == ["dir", "f.txt", "many"], names)
        names = f.nlst("-a")
        check(".hidden" in names and ".ftpsd-AbCdEf" not in names, names)
        check(len(f.nlst("many")) == 3000)
        lines = []
        f.retrlines("LIST -la", lines.append)
        check(any(re.match(r"^-rw-r--r-- +\d+ ftp +ftp +5 \w{3} [ \d]\d [\d:]{4,5} +f\.txt$", l)
                  for l in lines), lines)
        check(any(l.startswith("d") and l.endswith(" dir") for l in lines), lines)
        lines = []
        f.retrlines("LIST f.txt", lines.append)
        check(len(lines) == 1 and lines[0].endswith(" f.txt"), lines)
        lines = []
        f.retrlines("LIST many", lines.append)
        check(len(lines) == 3000, len(lines))
        facts = dict(f.mlsd())
        check(facts["."]["type"] == "cdir" and ".." not in facts, facts.keys())
        check(facts["f.txt"]["type"] == "file" and facts["f.txt"]["size"] == "5", facts)
        check(re.match(r"^\d{14}$", facts["f.txt"]["modify"]), facts)
        check(facts["dir"]["type"] == "dir" and ".ftpsd-AbCdEf" not in facts)
        sub = dict(f.mlsd("dir"))
        check(sub[".."]["type"] == "pdir" and sub["inner"]["size"] == "1", sub)
        expect_code(501, lambda: list(f.mlsd("f.txt")))
        expect_code(550, f.nlst, "nothere")
        f.quit()


@test
def test_xferlog_lines():
    with Server(clear_policy("xferlog {dir}/xferlog"), tls=False,
                files={"alice/a.bin": b"12345"}) as srv:
        f = login_clear(srv)
        retr_bytes(f, "a.bin")
        f.storbinary("STOR up.bin", io.BytesIO(b"abc"))
        f.quit()
        time.sleep(0.2)
        with open(os.path.join(srv.dir, "xferlog")) as h:
            lines = h.read().splitlines()
        check(len(lines) == 2, lines)
        pat = (r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \d+ 127\.0\.0\.1 %d \S*/alice/%s b _ %s r "
               r"alice ftp 0 \* c$")
        check(re.match(pat % (5, "a.bin", "o"), lines[0]), lines[0])
        check(re.match(pat % (3, "up.bin", "i"), lines[1]), lines[1])


@test
def test_ipv6_epsv_and_eprt():
    if not socket.has_ipv6:
        raise Skip("no IPv6")
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        raise Skip("::1 unavailable")
    data = os.urandom(200000)
    with Server(clear_policy("active peer"), tls=False, host="::1",
                files={"alice/d.bin": data}) as srv:
        f = srv.ftp()
        f.login("alice", "pw")
        check(f.sendcmd("EPSV").startswith("229"))
        expect_code(425, f.sendcmd, "PASV")
        expect_code(522, f.sendcmd, "EPSV 1")
        check(retr_bytes(f, "d.bin") == data)  # ftplib uses EPSV on IPv6
        f.set_pasv(False)  # EPRT |2|
        check(retr_bytes(f, "d.bin") == data)
        check(f.storbinary("STOR v6.bin", io.BytesIO(data)).startswith("226"))
        expect_code(522, f.sendcmd, "EPRT |1|127.0.0.1|5000|")
        f.quit()


@test
def test_idle_tls_download_times_out():
    with Server(tls_policy().replace("idle 30", "idle 2"), files={"alice/.keep": ""}) as srv:
        big_file(srv, 64 * 1024 * 1024)
        r = Raw("127.0.0.1", srv.port)
        r.auth_tls()
        r.login_after_auth()
        r.cmd("TYPE I")
        addr = r.pasv()
        r.send("RETR big.bin\r\n")
        d = r.data_connect(addr, tls=True)
        check(r.reply()[0] == 150)
        t0 = time.time()
        code, lines = r.reply()  # the client never reads
        check(code == 426 and "timed out" in lines[0], lines)
        check(time.time() - t0 < 15)
        d.close()
        check(r.cmd("NOOP")[0] == 200)
        r.close()


@test
def test_offsets_beyond_4gib():
    with Server(clear_policy(), tls=False, files={"alice/.keep": ""}) as srv:
        p = put_host_file(srv, "huge.bin", b"")
        size = 5 * 1024 * 1024 * 1024 + 7  # sparse: costs no disk
        with open(p, "r+b") as h:
            h.truncate(size)
            h.seek(size - 7)
            h.write(b"THE END")
        f = login_clear(srv)
        f.sendcmd("TYPE I")
        check(f.size("huge.bin") == size)
        check(retr_bytes(f, "huge.bin", rest=size - 10) == b"\0\0\0THE END")
        # resume an upload past 4 GiB
        g = login_clear(srv, "alice")
        check(g.storbinary("STOR huge.bin", io.BytesIO(b"+MORE"), 8192, None, size)
              .startswith("226"))
        check(os.path.getsize(p) == size + 5)
        check(retr_bytes(g, "huge.bin", rest=size - 3) == b"END+MORE")
        g.quit()
        f.quit()
