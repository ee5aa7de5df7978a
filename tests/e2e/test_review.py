"""The defects an attack review of main reproduced against the running binary
(the security issue of wave 2), one test each, named test_rN_... after the
review's numbering. Each was run against the code before its fix and failed.
"""
import os
import socket
import time

from ftpsdtest import RawClient, Server, check, hash_password, test

PW = hash_password("pw")
USERS = "user alice password=%s root=/alice access=rwadmn\n" % PW


def clear_policy(extra=""):
    return "tls off\nidle 30\n%s\n%s" % (extra, USERS)


class Raw(RawClient):
    def greeting(self):
        code, lines = self.reply()
        check(code == 220, "greeting: %r" % lines)


# ---------------------------------------------------------------------------
# r1: a password must never reach the log or a reply
# ---------------------------------------------------------------------------

@test
def test_r1_malformed_pass_line_never_logged_or_echoed():
    secret = "SuperSecret123"
    lines = [
        "PASS\t" + secret,          # the review's line: not a valid command line
        "pass\t" + secret,          # any case
        "PASS" + secret,            # no separator at all
        "PaSs\x0b" + secret,        # another control byte as separator
        "PASS\t" + secret * 200,    # long
        "PASS " + secret,           # a real PASS out of sequence
        "PASS  " + secret,          # two blanks
    ]
    # At log-level debug every command is traced: the trace must hold no
    # password either.
    with Server(clear_policy("log-level debug"), tls=False) as srv:
        c = Raw(srv.host, srv.port)
        c.greeting()
        replies = []
        for l in lines:
            code, text = c.cmd(l)
            replies.append((code, text))
            check(code in (500, 501, 503, 530), "%r: %d %r" % (l, code, text))
        c.cmd("QUIT")
        c.close()
        check(srv.wait_log("session ended"), "session end not logged")
        log = srv.log()
    for code, text in replies:
        check(all(secret[:6] not in t for t in text), "a reply echoes the password: %r" % text)
    check(secret[:6] not in log, "the log holds the password:\n" + log)
    check("malformed command line starting with 'PASS'" in log, log)


# ---------------------------------------------------------------------------
# r3: REIN before a login must not restart the login grace
# ---------------------------------------------------------------------------

@test
def test_r3_rein_does_not_extend_login_grace():
    with Server(clear_policy("login-grace 3"), tls=False) as srv:
        c = Raw(srv.host, srv.port)
        c.greeting()
        t0 = time.time()
        ended = None
        # REIN every second for up to 8 s: the grace (3 s) must still end it.
        while time.time() - t0 < 8:
            try:
                code, text = c.cmd("REIN")
            except (EOFError, ConnectionResetError, socket.timeout):
                ended = time.time() - t0
                break
            if code == 421:
                ended = time.time() - t0
                check("login" in text[0].lower(), text)
                break
            check(code == 220, text)
            time.sleep(1)
        c.close()
        check(ended is not None, "REIN every second kept the session alive past its 3 s grace")
        check(ended < 4.5, "the grace ended after %.1f s, not 3" % ended)


@test
def test_r3_rein_after_login_gives_a_new_grace():
    """After a successful login, REIN starts a new grace: the client proved it
    holds credentials once, and may log in as another user."""
    with Server(clear_policy("login-grace 2"), tls=False, files={"alice/x": "x"}) as srv:
        c = Raw(srv.host, srv.port)
        c.greeting()
        time.sleep(1.5)
        check(c.cmd("USER alice")[0] == 331)
        check(c.cmd("PASS pw")[0] == 230)
        time.sleep(1)
        check(c.cmd("REIN")[0] == 220)
        time.sleep(1)
        check(c.cmd("NOOP")[0] == 200, "REIN after a login must give a fresh grace")
        c.close()


# ---------------------------------------------------------------------------
# r6: SITE CHMOD needs what overwriting needs (w and d)
# r7: REST+STOR needs 'a', not 'w'
# ---------------------------------------------------------------------------

def access_policy(users):
    return "tls off\nidle 30\n" + users


@test
def test_r6_site_chmod_needs_w_and_d():
    users = ("user up password=%s root=/u access=w\n"
             "user rw password=%s root=/u access=rw\n"
             "user rwd password=%s root=/u access=rwd\n") % (PW, PW, PW)
    with Server(access_policy(users), tls=False, files={"u/report.pdf": "x"}) as srv:
        path = os.path.join(srv.root, "u", "report.pdf")
        before = os.stat(path).st_mode & 0o777
        for user in ("up", "rw"):
            c = srv.ftp()
            c.login(user, "pw")
            try:
                c.sendcmd("SITE CHMOD 666 report.pdf")
                raise AssertionError("SITE CHMOD by %s (no 'd') was accepted" % user)
            except Exception as e:  # noqa: BLE001 - ftplib raises error_perm
                text = str(e)
                check(text.startswith("550") and "'d'" in text, "%s: %s" % (user, text))
            c.quit()
            check(os.stat(path).st_mode & 0o777 == before, "the mode changed for %s" % user)
        c = srv.ftp()
        c.login("rwd", "pw")
        check(c.sendcmd("SITE CHMOD 640 report.pdf").startswith("200"))
        c.quit()
        check(os.stat(path).st_mode & 0o777 == 0o640)


@test
def test_r7_rest_stor_with_a_but_no_w_resumes():
    import io
    users = "user ra password=%s root=/u access=ra\n" % PW
    with Server(access_policy(users), tls=False, files={"u/part.bin": "0123456789"}) as srv:
        c = srv.ftp()
        c.login("ra", "pw")
        r = c.storbinary("STOR part.bin", io.BytesIO(b"ABCDEF"), rest=10)
        check(r.startswith("226"), r)
        with open(os.path.join(srv.root, "u", "part.bin"), "rb") as f:
            check(f.read() == b"0123456789ABCDEF", "resume did not append")
        # A new file still needs 'w', and the refusal says so.
        try:
            c.storbinary("STOR new.bin", io.BytesIO(b"x"))
            raise AssertionError("STOR of a new file without 'w' was accepted")
        except Exception as e:  # noqa: BLE001
            check(str(e).startswith("550") and "'w'" in str(e), str(e))
        c.quit()
        check(not os.path.exists(os.path.join(srv.root, "u", "new.bin")))


# ---------------------------------------------------------------------------
# r5: a stricter per-user tls= must not tell a real name from an unknown one
# ---------------------------------------------------------------------------

@test
def test_r5_unknown_user_looks_like_a_user_whose_rule_demands_tls():
    policy = ("cert {cert}\nkey {key}\ntls optional\nidle 30\n"
              "user alice password=%s root=/a tls=auth\n"
              "user bob password=%s root=/b\n") % (PW, PW)
    with Server(policy, files={"a/x": "x", "b/x": "x"}) as srv:
        c = Raw(srv.host, srv.port)
        c.greeting()
        alice = c.cmd("USER alice")
        unknown = c.cmd("USER nosuchuser")
        c.close()
        check(alice[0] == 530, "alice in the clear: %r" % (alice,))
        check(unknown == alice, "an unknown name is told apart from alice: %r vs %r"
              % (unknown, alice))
        # Never a password prompt in the clear for either.
        check(unknown[0] != 331)
        # Under TLS an unknown name is asked for a password like anybody.
        f = srv.ftps()
        f.auth()
        check(f.sendcmd("USER nosuchuser").startswith("331"))
        f.close()


# ---------------------------------------------------------------------------
# r10: control bytes and bidi overrides in names reach no terminal and no log
# ---------------------------------------------------------------------------

# Each must be neutralised wherever a name is shown: C0 (ESC, BEL, BS), DEL,
# C1 as a raw byte (0x9b is an 8-bit CSI) and as UTF-8 (U+0085 NEL), and the
# bidi overrides that make a log line read differently (U+202E, U+2066).
BAD_PARTS = [b"\x1b[31m", b"\x07", b"\x08", b"\x7f", b"\x9b", b"\xc2\x85", b"\xe2\x80\xae",
             b"\xe2\x81\xa6"]


@test
def test_r10_control_bytes_in_names_are_escaped_everywhere():
    import ftplib
    names = [b"n" + bad + b"x.txt" for bad in BAD_PARTS] + [b"caf\xc3\xa9.txt"]
    with Server(clear_policy(), tls=False, files={"alice/.keep": ""}) as srv:
        for n in names:
            with open(os.path.join(srv.root.encode(), b"alice", n), "wb") as f:
                f.write(b"x")
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("nobody")
            for n in names:
                os.chown(os.path.join(srv.root.encode(), b"alice", n), pw.pw_uid, pw.pw_gid)
        f = ftplib.FTP(encoding="latin-1")
        f.connect(srv.host, srv.port, timeout=10)
        f.login("alice", "pw")
        shown = []
        for cmd in ("LIST", "NLST", "MLSD"):
            lines = []
            f.retrlines(cmd, lines.append)
            shown += [l.encode("latin-1") for l in lines]
        # Replies that echo a name, and a log line that names one.
        for bad in BAD_PARTS:
            for cmd in ("MDTM", "MKD"):
                try:
                    shown.append(f.sendcmd(cmd + " d" + bad.decode("latin-1") + "y")
                                 .encode("latin-1"))
                except ftplib.all_errors as e:
                    shown.append(str(e).encode("latin-1"))
        f.quit()
        check(srv.wait_log("session ended"), "no session end")
        with open(srv.errlog, "rb") as lf:
            log = lf.read()
    for text in shown:
        for bad in BAD_PARTS:
            check(bad not in text, "%r reached the client in %r" % (bad, text))
    check(any(b"caf\xc3\xa9.txt" in t for t in shown), "UTF-8 names must stay as they are")
    for bad in BAD_PARTS:
        check(bad not in log, "%r reached the log" % bad)
    check(b"created directory /alice" not in log and b"created directory /d" in log, log[-2000:])


# ---------------------------------------------------------------------------
# r9: log flooding; log-level
# ---------------------------------------------------------------------------

def session_lines(log):
    return [l for l in log.splitlines() if l.startswith("ftpsd[")]


@test
def test_r9_noop_flood_before_login_writes_no_lines_at_info():
    with Server(clear_policy(), tls=False) as srv:
        c = Raw(srv.host, srv.port)
        c.greeting()
        c.send("NOOP\r\n" * 20000)
        for _ in range(20000):
            check(c.reply()[0] == 200)
        c.cmd("QUIT")
        c.close()
        check(srv.wait_log("session ended"), "no session end")
        lines = session_lines(srv.log())
    check(len(lines) < 20, "%d log lines for 20,000 NOOPs at log-level info:\n%s"
          % (len(lines), "\n".join(lines[:5])))


@test
def test_r9_lines_per_session_are_capped_and_the_cap_is_said_once():
    with Server(clear_policy("log-level debug"), tls=False) as srv:
        c = Raw(srv.host, srv.port)
        c.greeting()
        t0 = time.time()
        c.send("XYZZ\r\n" * 5000)
        for _ in range(5000):
            check(c.reply()[0] == 500)
        took = time.time() - t0
        c.cmd("QUIT")
        c.close()
        check(srv.wait_log("session ended"), "no session end")
        lines = session_lines(srv.log())
    capped = [l for l in lines if "lines a second" in l]
    check(len(capped) == 1, "the cap must be said exactly once: %r" % capped[:3])
    # 5,000 unknown commands log 10,000 lines at debug; the cap lets through
    # a burst and a steady rate, whatever the client does.
    check(len(lines) < 200 + 20 * took, "%d lines in %.1f s" % (len(lines), took))
    check(any("session ended" in l for l in lines), "the session's end must always be logged")
    check(any("dropped" in l for l in lines if "session ended" in l or "lines a second" in l),
          "the number of dropped lines is not said")


@test
def test_r9_log_level_error_keeps_only_errors():
    with Server(clear_policy("log-level error"), tls=False) as srv:
        c = Raw(srv.host, srv.port)
        c.greeting()
        c.cmd("USER alice")
        c.cmd("PASS wrong")
        c.cmd("GET / HTTP/1.1")  # an error: another protocol, the session ends
        c.close()
        check(srv.wait_log("GET before login"), "the error line is missing:\n" + srv.log())
        lines = session_lines(srv.log())
    check(not any("failed login" in l for l in lines), "an info line at log-level error")


# ---------------------------------------------------------------------------
# r4: user names must not be probed by timing
# ---------------------------------------------------------------------------

def cpu_ms(pid):
    """User + system CPU time of a process, in ms (load on the machine does
    not change it, unlike wall time)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


@test
def test_r4_unknown_name_costs_what_a_wrong_password_costs():
    fast = hash_password("pw", iterations=1000)
    slow = hash_password("pw", iterations=300000)
    policy = ("tls off\nidle 30\nmax-tries 10\n"
              "user alice password=%s root=/a\nuser bob password=%s root=/a\n") % (fast, slow)
    # Each name is timed three times, once in each of three sessions with the
    # order rotated, and judged by its cheapest try. Sessions rather than
    # more tries in one: the failed-login delay grows by a second a try.
    # The bound is a factor of two either way, not a close match: in this
    # virtual machine a process's CPU time also counts time the host took
    # the CPU away, and CI saw the same 300,000 iterations cost 140 to
    # 280 ms within one run. The defects this guards against are a factor
    # of three or more (no padding hash: 0 ms against 100; unknown names
    # hashed with a fixed 100,000: 40 ms against 130).
    # A correct server fails a round only when the host's noise lands on
    # one name's three tries; it must then pass a second round. A defect
    # fails both.
    rounds = []
    for _ in range(2):
        cost, costs = r4_costs(policy)
        rounds.append(costs)
        # 300,000 iterations cost tens of ms here; 1,000 well under one.
        check(cost["bob"] > 20, "the slow hash is not measurable: %r" % costs)
        if all(0.5 * cost["bob"] <= cost[name] <= 2 * cost["bob"]
               for name in ("alice", "nosuchuser")):
            return
    raise AssertionError("a wrong password costs differently for alice, an unknown name and bob, "
                         "so the names can be told apart by timing (ms, per round: %r)" % rounds)


def r4_costs(policy):
    """CPU ms of a wrong password per name, each the cheapest of three tries
    (one in each of three sessions, the order rotated)."""
    from ftpsdtest import one_new_session, session_pids
    names = ["alice", "nosuchuser", "bob"]
    costs = {}
    with Server(policy, tls=False, files={"a/x": "x"}) as srv:
        for rotation in range(len(names)):
            before = set(session_pids(srv))
            c = Raw(srv.host, srv.port)
            c.greeting()
            pid = one_new_session(srv, before)
            for name in names[rotation:] + names[:rotation]:
                check(c.cmd("USER " + name)[0] == 331)
                t0 = cpu_ms(pid)
                check(c.cmd("PASS wrong")[0] == 530)
                costs.setdefault(name, []).append(cpu_ms(pid) - t0)
            c.close()
    return {k: min(v) for k, v in costs.items()}, costs


@test
def test_r4_r5_check_mode_warns_about_costs_and_clear_text_mix():
    import subprocess
    from ftpsdtest import BIN, cmd
    fast = hash_password("pw", iterations=1000)
    slow = hash_password("pw", iterations=2000)
    policy = ("cert {cert}\nkey {key}\ntls optional\n"
              "user alice password=%s root=/a tls=auth\nuser bob password=%s root=/a\n"
              % (fast, slow))
    with Server(policy, files={"a/x": "x"}) as srv:
        r = subprocess.run(cmd("-t", "-f", srv.policy), capture_output=True, text=True,
                           timeout=30)
    check(r.returncode == 0, r.stderr)
    check("different iteration counts (1000 to 2000)" in r.stderr, r.stderr)
    check("user 'bob' may log in without TLS while the rule of user 'alice'" in r.stderr,
          r.stderr)


# ---------------------------------------------------------------------------
# r2: a client that never reads must not hold a session past its deadline
# ---------------------------------------------------------------------------

def flood_without_reading(srv, seconds, login=False):
    """Sends HELP lines and reads nothing, through a tiny receive window.
    Returns (session pid, seconds until the session process was gone or
    None)."""
    import threading
    from ftpsdtest import one_new_session, session_pids
    before = set(session_pids(srv))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.connect((srv.host, srv.port))
    pid = one_new_session(srv, before)
    if login:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"USER alice\r\n")
        f.readline()
        s.sendall(b"PASS pw\r\n")
        f.readline()
    stop = threading.Event()

    def sender():
        s.setblocking(False)
        while not stop.is_set():
            try:
                s.send(b"HELP\r\n" * 64)
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                return

    t = threading.Thread(target=sender, daemon=True)
    t0 = time.time()
    t.start()
    gone = None
    while time.time() - t0 < seconds:
        if not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split(")")[1].split()[0] == "Z":
            gone = time.time() - t0
            break
        time.sleep(0.1)
    stop.set()
    s.close()
    return pid, gone


@test
def test_r2_client_that_never_reads_cannot_outlive_the_login_grace():
    with Server(clear_policy("login-grace 3"), tls=False) as srv:
        pid, gone = flood_without_reading(srv, 12)
        check(gone is not None, "the session %d still blocks in write after 12 s "
              "(login grace 3 s)" % pid)
        check(gone < 6, "it took %.1f s" % gone)
        check(srv.wait_log("did not read"), "no log line says why:\n" + srv.log()[-1500:])


@test
def test_r2_client_that_never_reads_cannot_outlive_the_idle_limit():
    with Server(clear_policy().replace("idle 30", "idle 3"), tls=False,
                files={"alice/x": "x"}) as srv:
        pid, gone = flood_without_reading(srv, 12, login=True)
        check(gone is not None, "the session %d still blocks in write after 12 s (idle 3 s)" % pid)
        check(gone < 6, "it took %.1f s" % gone)


# ---------------------------------------------------------------------------
# r8: -t predicts session start on every refusal path
# r11: files created before the drop follow one rule
# r12: run-as with root's group is refused
# ---------------------------------------------------------------------------

class TempAccount:
    """A system account for one test (root only), removed afterwards."""

    def __init__(self, name, gid):
        self.name, self.gid = name, gid

    def __enter__(self):
        import subprocess
        subprocess.run(["userdel", self.name], capture_output=True)
        r = subprocess.run(["useradd", "--system", "--no-create-home", "--gid", str(self.gid),
                            "--shell", "/usr/sbin/nologin", self.name], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, "useradd: " + r.stderr)
        return self

    def __exit__(self, *exc):
        import subprocess
        subprocess.run(["userdel", self.name], capture_output=True, timeout=30)
        return False


def check_and_session_agree(policy_text, setup=None, expect_refused=True, why=None, **kw):
    """Runs -t on the policy and starts one session with it: both must
    refuse (or both accept), and -t must say why."""
    import subprocess
    from ftpsdtest import BIN, Skip, cmd
    if os.geteuid() != 0:
        raise Skip("needs root: the refusal paths are about privileges and ownership")
    with Server(policy_text, **kw) as srv:
        if setup:
            setup(srv)
        r = subprocess.run(cmd("-t", "-f", srv.policy), capture_output=True, text=True,
                           timeout=30)
        c = RawClient(srv.host, srv.port)
        code, lines = c.reply()
        c.close()
        refused = code == 421
        check(refused == expect_refused, "session %s: %r\n%s" % (
            "started" if not refused else "refused", lines, srv.log()[-1500:]))
        check((r.returncode != 0) == expect_refused,
              "-t says %s (rc %d) but a session %s:\n%s" % (
                  "unusable" if r.returncode else "usable", r.returncode,
                  "is refused" if refused else "starts", r.stderr))
        if why:
            check(why in r.stderr, "-t does not say why (%r):\n%s" % (why, r.stderr))
            check(srv.wait_log(why), "the session's log does not say why (%r):\n%s"
                  % (why, srv.log()[-1500:]))


def chown_nobody(path):
    import pwd
    pw = pwd.getpwnam("nobody")
    os.chown(path, pw.pw_uid, pw.pw_gid)


@test
def test_r8_check_predicts_refusal_root_without_run_as():
    check_and_session_agree("tls off\n" + USERS.replace("root=/", "root={root}/"),
                            auto_run_as=False, tls=False, why="without run-as")


@test
def test_r8_check_predicts_refusal_run_as_unknown_or_root():
    check_and_session_agree(clear_policy("run-as nosuchaccount-ftpsd"), tls=False,
                            why="no such account")
    check_and_session_agree(clear_policy("run-as root"), tls=False, why="must not be root")


@test
def test_r12_run_as_with_root_group_refused_by_check_and_session():
    with TempAccount("ftpsd-r12-test", 0):
        check_and_session_agree(clear_policy("run-as ftpsd-r12-test"), tls=False,
                                why="gid 0")


@test
def test_r8_r11_keylog_owned_by_another_account():
    def plant(srv):
        path = os.path.join(srv.dir, "keylog")
        with open(path, "w"):
            pass
        chown_nobody(path)
    check_and_session_agree("cert {cert}\nkey {key}\ntls auth+data\nkeylog {dir}/keylog\n" + USERS,
                            setup=plant, why="keylog")


@test
def test_r8_r11_xferlog_owned_by_another_account_or_linked():
    def plant_owned(srv):
        path = os.path.join(srv.dir, "xferlog")
        with open(path, "w"):
            pass
        chown_nobody(path)

    def plant_link(srv):
        victim = os.path.join(srv.dir, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.link(victim, os.path.join(srv.dir, "xferlog"))
    policy = clear_policy("xferlog {dir}/xferlog")
    check_and_session_agree(policy, setup=plant_owned, tls=False, why="xferlog")
    check_and_session_agree(policy, setup=plant_link, tls=False, why="hard links")
    # and a fresh path is created and used as before
    check_and_session_agree(policy, tls=False, expect_refused=False)


@test
def test_r8_check_predicts_refusal_bad_chroot_and_missing_cert():
    check_and_session_agree(clear_policy("chroot {dir}/policy"), tls=False,
                            why="not a directory")
    check_and_session_agree("cert {dir}/none.crt\nkey {key}\ntls auth+data\n" + USERS,
                            why="none.crt")


@test
def test_r11_gen_cert_never_writes_into_a_file_it_does_not_own():
    import subprocess
    import tempfile
    from ftpsdtest import BIN, Skip, cmd
    if os.geteuid() != 0:
        raise Skip("needs root")
    d = tempfile.mkdtemp(prefix="ftpsd-r11-")
    try:
        other = os.path.join(d, "other.key")
        with open(other, "w") as f:
            f.write("somebody else's\n")
        chown_nobody(other)
        victim = os.path.join(d, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        linked = os.path.join(d, "linked.key")
        os.link(victim, linked)
        for key in (other, linked):
            r = subprocess.run(cmd("--gen-cert", os.path.join(d, "c.crt"), key, "x.test"),
                               capture_output=True, text=True, timeout=30)
            check(r.returncode != 0, "--gen-cert wrote %s" % key)
        with open(other) as f:
            check(f.read() == "somebody else's\n", "the other account's file was changed")
        with open(victim) as f:
            check(f.read() == "precious\n", "a hard-linked file was truncated")
        # A fresh key is made 0600.
        fresh = os.path.join(d, "fresh.key")
        r = subprocess.run(cmd("--gen-cert", os.path.join(d, "c.crt"), fresh, "x.test"),
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, r.stderr)
        check(os.stat(fresh).st_mode & 0o777 == 0o600)
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)
