"""Client interoperability matrix (issue 6).

Every real client Debian 12 ships (curl, lftp, wget, openssl s_client,
gnutls-cli, Python's ftplib) and a FileZilla-like client written here logs in,
lists, downloads and uploads against the real binary under the default policy
`tls auth+data` (plus `active peer` where a client uses active mode, and
`implicit on` for the ftps:// port-990 style). Files are compared byte for
byte (SHA-256), both what the client received and what landed on the server.

A client that is not installed is a Skip (CI installs them all). A client
known to be broken in the installed version is a Skip naming the client bug.

Each test runs its steps through `Steps`: a failure names the step that
failed ("[download] ...") and the steps done before it, so that
tests/e2e/interop_report.py can fill a client | mode | login | list |
download | upload table. MATRIX below says which cells a test fills.
"""
import contextlib
import ftplib
import hashlib
import io
import os
import re
import select
import socket
import ssl
import subprocess
import time

from ftpsdtest import (RawClient, Server, Skip, build_has_tls13, check, expect_code,
                       hash_password, insecure_context, test, which)

PW = hash_password("pw")
HOST = "127.0.0.1"

# The interop matrix: test name -> the row it fills in the report.
# cols: the cells this test fills, each with the text a passing run puts there.
COLS = ("login", "list", "download", "upload")
MATRIX = {}


def row(client, mode, cols=None, notes="", tool=None):
    """Declares a test and the report row it fills; `tool` names the program
    whose version the report prints (see client_version)."""
    def deco(fn):
        MATRIX[fn.__name__] = {
            "client": client, "mode": mode, "tool": tool, "notes": notes,
            "cols": cols if cols is not None else {c: "ok" for c in COLS}}
        return test(fn)
    return deco


def policy(extra=""):
    # log-level debug: the checks read the command trace ("<- EPRT") to see
    # what each client really sent.
    return ("cert {cert}\nkey {key}\ntls auth+data\nidle 30\nlog-level debug\n%s\n"
            "user alice password=%s root=/alice access=rwadmn\n" % (extra, PW))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def file_sha(path):
    with open(path, "rb") as f:
        return sha(f.read())


def alice(srv, *rel):
    return os.path.join(srv.root, "alice", *rel)


class Steps:
    """`with steps("download"): ...` — a failure inside is re-raised as
    AssertionError("[download] (done: login, list) <what failed>"), followed
    by the tail of the server's log once `steps.srv` is set."""

    def __init__(self):
        self.done = []
        self.srv = None

    @contextlib.contextmanager
    def __call__(self, name):
        try:
            yield
        except Skip:
            raise
        except Exception as e:
            msg = str(e) if isinstance(e, AssertionError) else "%s: %s" % (type(e).__name__, e)
            log = ""
            if self.srv is not None and "server log" not in msg:
                log = "\nserver log (tail):\n" + self.srv.log()[-3000:]
            raise AssertionError("[%s] (done: %s) %s%s" % (name, ", ".join(self.done) or "-",
                                                           msg, log)) from e
        self.done.append(name)


def run(cmd, timeout=60, cwd=None, input=None):
    """Runs a client; a hang is a failure that shows what the client printed."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        def text(b):
            return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
        out, err = text(e.stdout), text(e.stderr)
        raise AssertionError("%s timed out after %ds; output: %s %s"
                             % (cmd[0], timeout, out[-1500:], err[-1500:]))


def ok(r, what, srv=None):
    check(r.returncode == 0, "%s: exit %d\nstdout: %s\nstderr: %s%s"
          % (what, r.returncode, r.stdout[-2000:], r.stderr[-2000:],
             ("\nserver log: " + srv.log()[-2500:]) if srv else ""))


def need(tool):
    if not which(tool):
        raise Skip("%s not installed" % tool)


def client_version(tool):
    """'curl 7.88.1', 'lftp 4.9.2', ... (for the report and skip messages)."""
    try:
        if tool == "python":
            import sys
            return "Python %s, %s" % (sys.version.split()[0],
                                      " ".join(ssl.OPENSSL_VERSION.split()[:2]))
        if not which(tool):
            return tool + " (not installed)"
        if tool == "openssl":
            return "openssl " + run(["openssl", "version"], 10).stdout.split()[1]
        out = run([tool, "--version"], 10).stdout
        first = out.splitlines()[0] if out else tool
        if tool == "lftp":
            m = re.search(r"Version (\S+)", first)
            return "lftp " + (m.group(1) if m else "?")
        if tool == "wget":
            return "wget " + first.split()[2]
        if tool == "gnutls-cli":
            return "gnutls-cli " + first.split()[-1]
        if tool == "curl":
            return "curl " + first.split()[1]
        return first
    except Exception:
        return tool


def curl_version():
    out = run(["curl", "--version"], 10).stdout.split()
    return tuple(int(x) for x in re.findall(r"\d+", out[1])[:3])


def tree_digest(top):
    """{relative path: sha256 or 'dir'} of a local tree."""
    out = {}
    for base, dirs, files in os.walk(top):
        rel = os.path.relpath(base, top)
        for d in dirs:
            out[os.path.normpath(os.path.join(rel, d))] = "dir"
        for n in files:
            out[os.path.normpath(os.path.join(rel, n))] = file_sha(os.path.join(base, n))
    return out


# Server-side content every test starts with.
HELLO = os.urandom(300000) + b"end"
TREE = {
    "tree/a.bin": os.urandom(70000),
    "tree/sub1/b.txt": b"b text\n" * 100,
    "tree/sub1/sub2/c.bin": os.urandom(200001),
    "tree/sub1/sub2/deep/d.txt": b"deep\n",
}


def files():
    f = {"alice/hello.bin": HELLO}
    f.update({"alice/" + k: v for k, v in TREE.items()})
    return f


def local_upload_file(srv, name="local.bin", size=500000):
    data = os.urandom(size)
    p = os.path.join(srv.dir, name)
    with open(p, "wb") as f:
        f.write(data)
    return p, data


def check_resumed(srv):
    """Every protected data connection resumed the control session."""
    log = srv.log()
    check("TLS data:" in log, "no protected data connection in the log:\n" + log[-2000:])
    check("did not resume" not in log, "a data connection did not resume:\n" + log[-2000:])


# ---------------------------------------------------------------------------
# curl
# ---------------------------------------------------------------------------

def curl_round(srv, steps, scheme, extra=()):
    base = ["curl", "-sS", "-k", "--max-time", "30", "-u", "alice:pw"] + list(extra)
    if scheme == "ftp":
        base.insert(1, "--ssl-reqd")
    url = "%s://%s:%d/" % (scheme, HOST, srv.port)
    with steps("login"):
        r = run(base + ["-v", "-I", url])
        ok(r, "curl login", srv)
        check(re.search(r"^< 230 ", r.stderr, re.M), r.stderr[-2000:])
        if scheme == "ftp":
            check(re.search(r"^< 234 ", r.stderr, re.M), "no 234 to AUTH: " + r.stderr[-2000:])
        bad = run([a if a != "alice:pw" else "alice:wrong" for a in base] + [url])
        check(bad.returncode == 67, "wrong password: curl exit %d (want 67 login denied): %s"
              % (bad.returncode, bad.stderr))
    with steps("list"):
        r = run(base + [url])
        ok(r, "curl LIST", srv)
        lines = r.stdout.splitlines()
        check(any(l.startswith("-") and l.endswith(" hello.bin") and " %d " % len(HELLO) in l
                  for l in lines), lines)
        check(any(l.startswith("d") and l.endswith(" tree") for l in lines), lines)
        r = run(base + ["--list-only", url + "tree/"])
        ok(r, "curl NLST", srv)
        check(sorted(r.stdout.split()) == ["a.bin", "sub1"], r.stdout)
    with steps("download"):
        dst = os.path.join(srv.dir, "dl.bin")
        r = run(base + ["-o", dst, url + "hello.bin"])
        ok(r, "curl download", srv)
        check(file_sha(dst) == sha(HELLO), "downloaded bytes differ")
        r = run(base + ["-o", dst, url + "tree/sub1/sub2/c.bin"])
        ok(r, "curl download (subdirectory)", srv)
        check(file_sha(dst) == sha(TREE["tree/sub1/sub2/c.bin"]), "downloaded bytes differ")
    with steps("upload"):
        src, data = local_upload_file(srv)
        r = run(base + ["-T", src, url + "up.bin"])
        ok(r, "curl upload", srv)
        check(file_sha(alice(srv, "up.bin")) == sha(data), "uploaded bytes differ on the server")
        r = run(base + ["--ftp-create-dirs", "-T", src, url + "new/dir/up2.bin"])
        ok(r, "curl upload --ftp-create-dirs", srv)
        check(file_sha(alice(srv, "new", "dir", "up2.bin")) == sha(data), "bytes differ")
        back = os.path.join(srv.dir, "back.bin")
        r = run(base + ["-o", back, url + "new/dir/up2.bin"])
        ok(r, "curl download of the upload", srv)
        check(file_sha(back) == sha(data), "round trip differs")
    with steps("reuse"):
        check_resumed(srv)


@row("curl", "explicit (`--ssl-reqd`), passive", tool="curl")
def test_interop_curl_explicit():
    need("curl")
    steps = Steps()
    with Server(policy(), files=files()) as srv:
        steps.srv = srv
        curl_round(srv, steps, "ftp")
        with steps("mode"):
            check("AUTH SSL" in srv.log(), "curl sends AUTH SSL first")


@row("curl", "implicit (`ftps://`, `implicit on`)", tool="curl")
def test_interop_curl_implicit():
    need("curl")
    steps = Steps()
    with Server(policy("implicit on"), files=files()) as srv:
        steps.srv = srv
        curl_round(srv, steps, "ftps")
        with steps("mode"):
            check("<- AUTH" not in srv.log(), "implicit mode must see no AUTH")
            check("connected (implicit" in srv.log(), "the session was not implicit TLS")


@row("curl", "explicit, active (`-P`, `active peer`)", tool="curl")
def test_interop_curl_active():
    need("curl")
    v = curl_version()
    if (7, 87, 0) <= v < (8, 0, 0):
        raise Skip("curl %d.%d.%d: active-mode FTPS is broken in the client (it accepts the data "
                   "connection but never starts TLS on it; curl issue #10666, fixed in 8.0.0)" % v)
    steps = Steps()
    with Server(policy("active peer"), files=files()) as srv:
        steps.srv = srv
        curl_round(srv, steps, "ftp", extra=("-P", HOST))
        with steps("mode"):
            log = srv.log()
            check("<- EPRT" in log or "<- PORT" in log, "curl did not use active mode")


@row("curl", "CCC after login (`--ftp-ssl-ccc --ftp-ssl-ccc-mode active`)", tool="curl",
     notes="in curl's default passive CCC mode OpenSSL drops the session: needs `data-reuse optional`")
def test_interop_curl_ccc():
    need("curl")
    steps = Steps()
    with Server(policy(), files=files()) as srv:
        steps.srv = srv
        curl_round(srv, steps, "ftp", extra=("--ftp-ssl-ccc", "--ftp-ssl-ccc-mode", "active"))
        with steps("ccc"):
            check(srv.wait_log("CCC: control channel is now clear"), "curl sent no CCC")
            check_resumed(srv)


# ---------------------------------------------------------------------------
# lftp
# ---------------------------------------------------------------------------

LFTP_SET = ("set cmd:fail-exit true; set net:max-retries 1; set net:timeout 10; "
            "set net:reconnect-interval-base 1; set ftp:ssl-force true; "
            "set ftp:ssl-protect-data true; set ssl:verify-certificate no; ")


def lftp(srv, script, extra_set="", user="alice,pw", timeout=60):
    need("lftp")
    full = LFTP_SET + extra_set + "open -u %s ftp://%s:%d; %s" % (user, HOST, srv.port, script)
    return run(["lftp", "-c", full], timeout=timeout, cwd=srv.dir)


def lftp_round(srv, steps, extra_set=""):
    with steps("login"):
        r = lftp(srv, "quote PWD", extra_set)
        ok(r, "lftp login", srv)
        check('257 "/"' in r.stdout, r.stdout)
        bad = lftp(srv, "quote PWD", extra_set, user="alice,wrong", timeout=30)
        check(bad.returncode != 0 and "530" in bad.stderr, "wrong password: %r %r"
              % (bad.returncode, bad.stderr))
    with steps("list"):
        r = lftp(srv, "cls -1", extra_set)
        ok(r, "lftp cls", srv)
        check(sorted(r.stdout.split()) == ["hello.bin", "tree/"], r.stdout)
        r = lftp(srv, "ls tree/sub1", extra_set)
        ok(r, "lftp ls", srv)
        lines = r.stdout.splitlines()
        check(any(l.startswith("-") and l.endswith(" b.txt") for l in lines), lines)
        check(any(l.startswith("d") and l.endswith(" sub2") for l in lines), lines)
    with steps("download"):
        r = lftp(srv, "get hello.bin -o dl.bin", extra_set)
        ok(r, "lftp get", srv)
        check(file_sha(os.path.join(srv.dir, "dl.bin")) == sha(HELLO), "downloaded bytes differ")
    with steps("upload"):
        src, data = local_upload_file(srv)
        r = lftp(srv, "put %s -o up.bin" % src, extra_set)
        ok(r, "lftp put", srv)
        check(file_sha(alice(srv, "up.bin")) == sha(data), "uploaded bytes differ on the server")
        r = lftp(srv, "get up.bin -o back.bin", extra_set)
        ok(r, "lftp get of the upload", srv)
        check(file_sha(os.path.join(srv.dir, "back.bin")) == sha(data), "round trip differs")


@row("lftp", "explicit, passive; `mirror`, `mirror -R`",
     notes="`set ftp:ssl-force true; set ssl:verify-certificate no`", tool="lftp")
def test_interop_lftp_passive():
    steps = Steps()
    need("lftp")
    with Server(policy(), files=files()) as srv:
        steps.srv = srv
        os.makedirs(alice(srv, "tree", "empty"))
        lftp_round(srv, steps)
        with steps("mirror"):
            want = tree_digest(alice(srv, "tree"))
            r = lftp(srv, "mirror tree %s" % os.path.join(srv.dir, "mirrored"))
            ok(r, "lftp mirror", srv)
            got = tree_digest(os.path.join(srv.dir, "mirrored"))
            check(got == want, "mirror differs:\n%s\n%s" % (sorted(got.items()),
                                                            sorted(want.items())))
        with steps("mirror -R"):
            local = os.path.join(srv.dir, "localtree")
            for rel, data in {"x.bin": os.urandom(123457), "s/y.txt": b"y\n",
                              "s/t/z.bin": os.urandom(99999), "s/t/u/w.txt": b"w"}.items():
                os.makedirs(os.path.dirname(os.path.join(local, rel)), exist_ok=True)
                with open(os.path.join(local, rel), "wb") as f:
                    f.write(data)
            os.makedirs(os.path.join(local, "s", "emptydir"))
            r = lftp(srv, "mirror -R %s up_tree" % local)
            ok(r, "lftp mirror -R", srv)
            got = tree_digest(alice(srv, "up_tree"))
            want = tree_digest(local)
            check(got == want, "mirror -R differs:\n%s\n%s" % (sorted(got.items()),
                                                               sorted(want.items())))
            check([n for n in os.listdir(alice(srv)) if n.startswith(".ftpsd-")] == [],
                  "temporaries left behind")
        with steps("reuse"):
            check_resumed(srv)


@row("lftp", "explicit, active (`ftp:passive-mode false`, `active peer`)", tool="lftp")
def test_interop_lftp_active():
    steps = Steps()
    need("lftp")
    with Server(policy("active peer"), files=files()) as srv:
        steps.srv = srv
        lftp_round(srv, steps, "set ftp:passive-mode false; ")
        with steps("mode"):
            log = srv.log()
            check("<- EPRT" in log or "<- PORT" in log, "lftp did not use active mode")
            check("<- PASV" not in log and "<- EPSV" not in log,
                  "lftp fell back to passive mode")
            check_resumed(srv)


@row("lftp", "CCC after login (`ftp:ssl-use-ccc yes`), `data-reuse optional`",
     notes="after CCC lftp has no TLS session left to resume: needs `data-reuse optional`",
     tool="lftp")
def test_interop_lftp_ccc():
    steps = Steps()
    need("lftp")
    with Server(policy("data-reuse optional"), files=files()) as srv:
        steps.srv = srv
        lftp_round(srv, steps, "set ftp:ssl-use-ccc yes; ")
        with steps("ccc"):
            check(srv.wait_log("CCC: control channel is now clear"), "lftp sent no CCC")
    # Under the default `data-reuse required` the data connection is refused
    # and the log tells the admin why and what to change.
    with Server(policy(), files=files()) as srv:
        r = lftp(srv, "cls -1", "set ftp:ssl-use-ccc yes; ", timeout=30)
        check(r.returncode != 0 and "522" in r.stderr, (r.returncode, r.stderr[-300:]))
        check(srv.wait_log("After CCC"), srv.log())


# ---------------------------------------------------------------------------
# Python ftplib
# ---------------------------------------------------------------------------

def ftplib_round(srv, steps, reuse):
    with steps("login"):
        f = srv.ftps(reuse=reuse)
        check(f.auth().startswith("234"))
        check(f.login("alice", "pw").startswith("230"))
        check(f.prot_p().startswith("200"))
    with steps("list"):
        check(sorted(f.nlst()) == ["hello.bin", "tree"], f.nlst())
        facts = dict(f.mlsd("tree/sub1/sub2"))
        check(facts["c.bin"]["type"] == "file" and
              facts["c.bin"]["size"] == str(len(TREE["tree/sub1/sub2/c.bin"])), facts)
        check(facts["deep"]["type"] == "dir", facts)
        lines = []
        f.retrlines("LIST", lines.append)
        check(any(l.endswith(" hello.bin") and " %d " % len(HELLO) in l for l in lines), lines)
    with steps("download"):
        b = io.BytesIO()
        check(f.retrbinary("RETR hello.bin", b.write).startswith("226"))
        check(sha(b.getvalue()) == sha(HELLO), "downloaded bytes differ")
    with steps("upload"):
        data = os.urandom(1 << 20)
        check(f.storbinary("STOR up.bin", io.BytesIO(data)).startswith("226"))
        check(file_sha(alice(srv, "up.bin")) == sha(data), "uploaded bytes differ on the server")
        b = io.BytesIO()
        f.retrbinary("RETR up.bin", b.write)
        check(sha(b.getvalue()) == sha(data), "round trip differs")
    with steps("quit"):
        check(f.quit().startswith("221"))
        check_resumed(srv)


@row("Python ftplib", "`ReusingFTP_TLS` (session reuse), passive", tool="python")
def test_interop_python_ftplib_reusing():
    steps = Steps()
    with Server(policy(), files=files()) as srv:
        steps.srv = srv
        ftplib_round(srv, steps, reuse=True)


def expect_refused_522(f, fn, *args):
    """A data command whose TLS connection does not resume the control
    session must end in 522. Under TLS 1.2 the server finishes the handshake,
    sees no resumption, closes and replies 522; under TLS 1.3 (mbed TLS 3.6)
    it refuses the handshake itself (alert), and ftplib raises an SSL error
    with the 522 still waiting on the control connection. An upload that fits
    in the socket buffers gets the 522 as its final reply."""
    try:
        r = fn(*args)
    except (ftplib.error_perm, ftplib.error_temp) as e:
        text = str(e)
    except (ssl.SSLError, OSError):
        text = expect_code(522, f.getresp)
    else:
        raise AssertionError("a data connection that does not resume succeeded: %r" % (r,))
    check(text.startswith("522"), text)
    return text


@row("Python ftplib", "stock `FTP_TLS`, `data-reuse required` (default)",
     cols={"login": "ok", "list": "522 (expected)", "download": "522 (expected)",
           "upload": "522 (expected)"},
     notes="stock ftplib does not resume the TLS session on data connections: refused "
           "with 522 as SPEC §4.3 demands; use the README's `ReusingFTP_TLS`", tool="python")
def test_interop_python_ftplib_stock_required():
    steps = Steps()
    with Server(policy(), files=files()) as srv:
        steps.srv = srv
        with steps("login"):
            f = srv.ftps(reuse=False)
            f.auth()
            check(f.login("alice", "pw").startswith("230"))
            f.prot_p()
        with steps("list"):
            text = expect_refused_522(f, f.nlst)
            check("resum" in text, text)
            check(f.sendcmd("NOOP").startswith("200"), "session must go on after 522")
        with steps("download"):
            b = io.BytesIO()
            expect_refused_522(f, f.retrbinary, "RETR hello.bin", b.write)
            check(b.getvalue() == b"", "%d bytes leaked over an unresumed connection"
                  % len(b.getvalue()))
            check(f.sendcmd("NOOP").startswith("200"), "session must go on after 522")
        with steps("upload"):
            expect_refused_522(f, f.storbinary, "STOR refused.bin",
                               io.BytesIO(os.urandom(200000)))
            check(not os.path.exists(alice(srv, "refused.bin")), "a refused upload left a file")
            # The temporary must go. (It may outlive the 522 by a few ms: the
            # server replies before it unlinks; reported, not what this
            # client-compatibility row is about.)
            deadline = time.time() + 2
            while True:
                tmps = [n for n in os.listdir(alice(srv)) if n.startswith(".ftpsd-")]
                if not tmps or time.time() > deadline:
                    break
                time.sleep(0.02)
            check(tmps == [], "a refused upload left a temporary: %s" % tmps)
        with steps("quit"):
            check(f.quit().startswith("221"))
            check(srv.wait_log("did not resume"), srv.log()[-2000:])


@row("Python ftplib", "stock `FTP_TLS`, `data-reuse optional`", tool="python")
def test_interop_python_ftplib_stock_optional():
    steps = Steps()
    with Server(policy("data-reuse optional"), files=files()) as srv:
        steps.srv = srv
        with steps("login"):
            f = srv.ftps(reuse=False)
            f.auth()
            check(f.login("alice", "pw").startswith("230"))
            f.prot_p()
        with steps("list"):
            check(sorted(f.nlst()) == ["hello.bin", "tree"], f.nlst())
        with steps("download"):
            b = io.BytesIO()
            check(f.retrbinary("RETR hello.bin", b.write).startswith("226"))
            check(sha(b.getvalue()) == sha(HELLO), "downloaded bytes differ")
        with steps("upload"):
            data = os.urandom(700001)
            check(f.storbinary("STOR up.bin", io.BytesIO(data)).startswith("226"))
            check(file_sha(alice(srv, "up.bin")) == sha(data), "uploaded bytes differ")
        with steps("quit"):
            check(f.quit().startswith("221"))


# ---------------------------------------------------------------------------
# Control-only TLS clients
# ---------------------------------------------------------------------------

CONTROL_SCRIPT = "USER alice\r\nPASS pw\r\nPWD\r\nFEAT\r\nQUIT\r\n"
CONTROL_ONLY = {"login": "ok", "list": "n/a", "download": "n/a", "upload": "n/a"}


def check_control_transcript(out):
    check(re.search(r"^331 ", out, re.M), out[-2000:])
    check(re.search(r"^230 ", out, re.M), out[-2000:])
    check(re.search(r'^257 "/"', out, re.M), out[-2000:])
    feat = out[out.find("211-"):out.find("211 End")]
    for f in ("AUTH TLS", "PBSZ", "PROT", "EPSV", "MLST", "UTF8", "REST STREAM", "SIZE"):
        check(re.search(r"^ %s" % re.escape(f), feat, re.M), "FEAT lacks %s: %r" % (f, feat))
    check(re.search(r"^221 ", out, re.M), out[-2000:])


@row("openssl s_client", "`-starttls ftp` (control only)", cols=CONTROL_ONLY, tool="openssl")
def test_interop_openssl_s_client():
    need("openssl")
    steps = Steps()
    with Server(policy(), files=files()) as srv:
        steps.srv = srv
        with steps("login"):
            r = run(["openssl", "s_client", "-starttls", "ftp", "-connect",
                     "%s:%d" % (HOST, srv.port), "-ign_eof"], timeout=30, input=CONTROL_SCRIPT)
            out = r.stdout + r.stderr
            check("Verify return code" in out or "Cipher is" in out, out[-2000:])
            m = re.search(r"Cipher is (\S+)", out)
            # TLS 1.2: ECDHE + AEAD; TLS 1.3 (mbed TLS 3.6 builds): its AEAD suites
            check(m and re.match(r"^(ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA\d+|CHACHA20-POLY1305)"
                                 r"|TLS_(AES_(128|256)_GCM_SHA\d+|CHACHA20_POLY1305_SHA256))$",
                                 m.group(1)), "cipher: %s" % (m.group(1) if m else out[-2000:]))
            check_control_transcript(out)
            check(srv.wait_log("session ended: QUIT"), srv.log()[-2000:])


@row("gnutls-cli", "`--starttls-proto=ftp` (control only)", cols=CONTROL_ONLY, tool="gnutls-cli")
def test_interop_gnutls_cli():
    need("gnutls-cli")
    steps = Steps()
    with Server(policy(), files=files()) as srv:
        steps.srv = srv
        with steps("login"):
            r = run(["gnutls-cli", "--insecure", "--starttls-proto=ftp", "-p", str(srv.port), HOST],
                    timeout=30, input=CONTROL_SCRIPT)
            out = r.stdout + r.stderr
            check("Handshake was completed" in out, out[-2000:])
            check(re.search(r"\(ECDHE-[^)]*\).*\((CHACHA20-POLY1305|AES-(128|256)-GCM)\)", out),
                  out[-2000:])
            check_control_transcript(out)
            check(srv.wait_log("session ended: QUIT"), srv.log()[-2000:])


# ---------------------------------------------------------------------------
# wget
# ---------------------------------------------------------------------------

def wget_ftps_support():
    need("wget")
    h = run(["wget", "--help"], 10).stdout
    if "ftps" not in h.lower():
        raise Skip("%s has no FTPS support (`wget --help` lists no ftps option)"
                   % client_version("wget"))


def wget_round(srv, steps, extra=()):
    base = ["wget", "-nv", "--tries=1", "--timeout=10", "--no-check-certificate"] + list(extra)
    if build_has_tls13():
        # wget 1.21 (GnuTLS) takes the control session's data right after
        # the handshake, and under TLS 1.3 the ticket that resumption needs
        # may arrive a moment later: then its data connections offer no
        # ticket and `data-reuse required` refuses them (seen about 1 run in
        # 15 on a loaded machine). No server can send the ticket earlier (it
        # follows the client's Finished, RFC 8446 §4.6.1): with TLS 1.3
        # servers wget needs TLS 1.2 (README, client notes).
        base.append("--secure-protocol=TLSv1_2")
    url = "ftps://alice:pw@%s:%d/" % (HOST, srv.port)
    work = os.path.join(srv.dir, "wget")
    os.mkdir(work)
    with steps("login"):
        # (`--spider` is no login probe: wget 1.21 exits 8 on every FTP
        # --spider, even against a plain FTP server.)
        r = run(base + ["--no-remove-listing", "-O", "index.html", url], cwd=work)
        ok(r, "wget login + listing", srv)
        bad = run(base + ["-O", "bad.bin", url.replace(":pw@", ":wrong@") + "hello.bin"],
                  cwd=work)
        check(bad.returncode == 6, "wrong password: wget exit %d (want 6): %s"
              % (bad.returncode, bad.stderr[-1000:]))
    with steps("list"):
        listing = open(os.path.join(work, ".listing"), encoding="utf-8").read().splitlines()
        check(any(l.startswith("-") and l.endswith(" hello.bin") for l in listing), listing)
        check(any(l.startswith("d") and l.endswith(" tree") for l in listing), listing)
        html = open(os.path.join(work, "index.html"), encoding="utf-8").read()
        check("hello.bin</a>" in html and "(%d bytes)" % len(HELLO) in html, html)
    with steps("download"):
        r = run(base + ["-O", "dl.bin", url + "hello.bin"], cwd=work)
        ok(r, "wget download", srv)
        check(file_sha(os.path.join(work, "dl.bin")) == sha(HELLO), "downloaded bytes differ")
        r = run(base + ["-r", "-nH", "-P", "rec", url + "tree/"], cwd=work)
        ok(r, "wget -r", srv)
        got = {k: v for k, v in tree_digest(os.path.join(work, "rec", "tree")).items()
               if not k.endswith(".listing")}
        check(got == tree_digest(alice(srv, "tree")), "recursive download differs: %s" % got)
    with steps("reuse"):
        check_resumed(srv)


@row("wget", "explicit (`ftps://`), passive",
     cols={"login": "ok", "list": "ok", "download": "ok (also `-r`)", "upload": "n/a"},
     notes="wget cannot upload; it resumes the TLS session on data connections by default",
     tool="wget")
def test_interop_wget_explicit():
    wget_ftps_support()
    steps = Steps()
    with Server(policy(), files=files()) as srv:
        steps.srv = srv
        wget_round(srv, steps)
        with steps("mode"):
            check("<- AUTH TLS" in srv.log(), "wget's ftps:// is explicit FTPS (AUTH TLS)")


@row("wget", "implicit (`--ftps-implicit`, `implicit on`)",
     cols={"login": "ok", "list": "ok", "download": "ok (also `-r`)", "upload": "n/a"},
     notes="wget cannot upload", tool="wget")
def test_interop_wget_implicit():
    wget_ftps_support()
    steps = Steps()
    with Server(policy("implicit on"), files=files()) as srv:
        steps.srv = srv
        wget_round(srv, steps, extra=("--ftps-implicit",))


# ---------------------------------------------------------------------------
# A FileZilla-like client
# ---------------------------------------------------------------------------

class FzClient(RawClient):
    """Speaks the way FileZilla does: AUTH TLS, USER, PASS, SYST, FEAT,
    OPTS UTF8 ON, PBSZ 0, PROT P, OPTS MLST, PWD, TYPE I, EPSV + MLSD/RETR/
    STOR over TLS that resumes the control session, NOOP keep-alives."""

    def start(self):
        self.ctx = insecure_context()
        code, lines = self.reply()
        check(code == 220, lines)
        check(self.cmd("AUTH TLS")[0] == 234)
        self.sock = self.ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.sock.settimeout(15)

    def expect(self, cmd, code):
        c, lines = self.cmd(cmd)
        check(c == code, "%s: want %d, got %s" % (cmd, code, lines))
        return lines

    def epsv(self):
        lines = self.expect("EPSV", 229)
        m = re.search(r"\(\|\|\|(\d+)\|\)", lines[0])
        check(m, lines)
        return int(m.group(1))

    def data(self, port):
        s = socket.create_connection((HOST, port), timeout=15)
        return s

    def secure(self, s):
        t = self.ctx.wrap_socket(s, server_hostname="localhost", session=self.sock.session)
        t.settimeout(15)
        check(t.session_reused, "the data connection did not resume the control session")
        return t

    def transfer_in(self, cmd):
        """LIST/MLSD/RETR: returns the bytes; checks 150 and 226."""
        s = self.data(self.epsv())
        self.send(cmd + "\r\n")
        code, lines = self.reply()
        check(code == 150, "%s: %s" % (cmd, lines))
        t = self.secure(s)
        got = read_to_eof(t)
        t.close()
        code, lines = self.reply()
        check(code == 226, "%s: %s" % (cmd, lines))
        return got

    def transfer_out(self, cmd, data):
        s = self.data(self.epsv())
        self.send(cmd + "\r\n")
        code, lines = self.reply()
        check(code == 150, "%s: %s" % (cmd, lines))
        t = self.secure(s)
        t.sendall(data)
        t.unwrap().close()  # close_notify, as FileZilla sends
        code, lines = self.reply()
        check(code == 226, "%s: %s" % (cmd, lines))


def read_to_eof(t, limit=1 << 30):
    out = bytearray()
    while len(out) < limit:
        try:
            d = t.recv(1 << 16)
        except ssl.SSLZeroReturnError:
            break
        if not d:
            break
        out += d
    return bytes(out)


def mlsd_parse(raw):
    facts = {}
    for line in raw.decode("utf-8").split("\r\n"):
        if not line:
            continue
        f, _, name = line.partition(" ")
        facts[name] = dict(kv.split("=", 1) for kv in f.rstrip(";").split(";") if "=" in kv)
    return facts


def retr_with_keepalives(c, name, want, every=1 << 20, gap=0.004):
    """RETR `name` reading slowly, a NOOP on the control connection every
    `every` bytes. Returns (bytes, [(code, bytes received when it came)])."""
    s = c.data(c.epsv())
    c.send("RETR %s\r\n" % name)
    code, lines = c.reply()
    check(code == 150, lines)
    t = c.secure(s)
    got = bytearray()
    replies = []
    sent = 0
    nxt = every
    pending, c.buf = c.buf, b""
    deadline = time.time() + 60
    eof = False
    while not eof:
        check(time.time() < deadline, "RETR with keep-alives did not finish in 60 s")
        try:
            d = t.recv(1 << 16)
        except ssl.SSLZeroReturnError:
            d = b""
        if not d:
            eof = True
        got += d
        if len(got) >= nxt and not eof:
            c.send("NOOP\r\n")
            sent += 1
            nxt += every
        # Collect whatever the control connection has, without blocking.
        while c.sock.pending() or select.select([c.sock], [], [], 0)[0]:
            try:
                chunk = c.sock.recv(4096)
            except ssl.SSLWantReadError:
                break
            if not chunk:
                break
            pending += chunk
        while b"\r\n" in pending:
            line, pending = pending.split(b"\r\n", 1)
            replies.append((line.decode(errors="replace"), len(got), eof))
        time.sleep(gap)
    t.close()
    c.buf = pending + c.buf
    # The rest of the replies: one per NOOP and the 226 (each read bounded).
    while len(replies) < sent + 1:
        replies.append((c.line(), len(got), True))
    return bytes(got), replies, sent


@row("FileZilla-like (Python)", "FEAT, OPTS UTF8, PBSZ/PROT, EPSV, MLSD, MLST; NOOP during RETR",
     notes="UTF-8 names up and down (`Grüße €.txt`)", tool="python")
def test_interop_filezilla_like():
    big = os.urandom(8 * 1024 * 1024 + 5)
    utf_name = "Grüße €.txt"
    host_utf = "naïve 日本.bin"
    host_utf_data = os.urandom(4097)
    steps = Steps()
    fl = files()
    fl["alice/big.bin"] = big
    fl["alice/" + host_utf] = host_utf_data
    with Server(policy(), files=fl) as srv:
        steps.srv = srv
        c = FzClient(HOST, srv.port, timeout=15)
        with steps("login"):
            c.start()
            c.expect("USER alice", 331)
            c.expect("PASS pw", 230)
            check(c.expect("SYST", 215)[0].startswith("215 UNIX"), "SYST")
            feat = c.expect("FEAT", 211)
            fs = [l.strip() for l in feat[1:-1]]
            for f in ("UTF8", "EPSV", "MDTM", "SIZE", "REST STREAM", "PBSZ", "PROT"):
                check(f in fs, "FEAT lacks %s: %s" % (f, fs))
            check(any(f.startswith("MLST ") and "size*" in f and "modify*" in f for f in fs), fs)
            c.expect("OPTS UTF8 ON", 200)
            check(c.expect("PBSZ 0", 200)[0].startswith("200 PBSZ=0"), "PBSZ")
            c.expect("PROT P", 200)
            c.expect("OPTS MLST type;size;modify;perm;", 200)
            check(c.expect("PWD", 257)[0].startswith('257 "/"'), "PWD")
            c.expect("TYPE I", 200)
        with steps("list"):
            facts = mlsd_parse(c.transfer_in("MLSD"))
            check(facts.get("big.bin", {}).get("size") == str(len(big)), facts)
            check(facts.get("tree", {}).get("type") == "dir", facts)
            check(facts.get(host_utf, {}).get("size") == str(len(host_utf_data)),
                  "UTF-8 name not listed as stored: %s" % list(facts))
            check(re.match(r"^\d{14}$", facts["big.bin"].get("modify", "")), facts["big.bin"])
            check(facts.get(".", {}).get("type") == "cdir", facts.get("."))
        with steps("download"):
            got, replies, sent = retr_with_keepalives(c, "big.bin", big)
            check(sha(got) == sha(big), "RETR with keep-alives: %d bytes, differ" % len(got))
            codes = [r[0][:3] for r in replies]
            check(sent >= 4, "only %d NOOPs sent" % sent)
            check(codes.count("200") == sent and codes.count("226") == 1 and
                  set(codes) <= {"200", "226"}, "replies: %s" % [r[0] for r in replies])
            early = [r for r in replies if r[0][:3] == "200" and not r[2]]
            check(early, "no NOOP was answered while the transfer ran (replies came after "
                  "the data ended): %s" % replies)
            print("interop: FileZilla-like RETR of %d bytes: %d NOOP keep-alives, %d answered "
                  "while the data still flowed" % (len(big), sent, len(early)))
            check(c.expect("NOOP", 200), "after the transfer")
            got = c.transfer_in("RETR " + host_utf)
            check(got == host_utf_data, "UTF-8 named download differs")
        with steps("upload"):
            data = os.urandom(3 * 1024 * 1024 + 1)
            c.transfer_out("STOR " + utf_name, data)
            p = alice(srv, utf_name)
            check(os.path.exists(p), "no %r on the server: %s" % (utf_name, os.listdir(alice(srv))))
            check(file_sha(p) == sha(data), "UTF-8 named upload differs")
            check(c.transfer_in("RETR " + utf_name) == data, "UTF-8 named download differs")
        with steps("utf8"):
            code, lines = c.cmd("MLST " + utf_name)
            check(code == 250 and len(lines) == 3, lines)
            check(lines[1].startswith(" ") and "size=%d;" % len(data) in lines[1] and
                  lines[1].endswith("; /" + utf_name), lines)
            check(c.expect("SIZE " + utf_name, 213)[0] == "213 %d" % len(data), "SIZE")
            check(re.match(r"^213 \d{14}$", c.expect("MDTM " + utf_name, 213)[0]), "MDTM")
            dirn = "Ordner ñ"
            check(c.expect("MKD " + dirn, 257)[0].startswith('257 "/%s"' % dirn), "MKD")
            c.expect("CWD " + dirn, 250)
            check(c.expect("PWD", 257)[0].startswith('257 "/%s"' % dirn), "PWD")
            c.expect("CDUP", 250)
            c.expect("RNFR " + utf_name, 350)
            c.expect("RNTO %s/%s" % (dirn, utf_name), 250)
            check(os.path.exists(alice(srv, dirn, utf_name)), os.listdir(alice(srv)))
            facts = mlsd_parse(c.transfer_in("MLSD " + dirn))
            check(facts.get(utf_name, {}).get("size") == str(len(data)), facts)
        with steps("quit"):
            check(c.cmd("QUIT")[0] == 221)
            c.close()
            check_resumed(srv)
