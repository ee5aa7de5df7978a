"""Foundation: process contract, policy at start, login, control channel."""
import ftplib
import os
import socket
import subprocess
import time

from ftpsdtest import (BIN, cmd, IS_ROOT, Server, Skip, check, expect_code, hash_password, test)

PW = hash_password("s3cret")

CLEAR = """
tls off
idle 30
user alice password=%s root=/alice access=rwadmn
user anonymous root=/pub access=r tls=off
""" % PW

FILES = {"alice/hello.txt": "hello\n", "alice/sub/deep.txt": "deep\n", "pub/readme": "pub\n"}


@test
def test_clear_login_pwd_cwd_inetd():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        f = srv.ftp()
        check(f.getwelcome().startswith("220"), f.getwelcome())
        check(f.login("alice", "s3cret").startswith("230"))
        check(f.pwd() == "/", f.pwd())
        check(f.cwd("sub").startswith("250"))
        check(f.pwd() == "/sub", f.pwd())
        f.cwd("..")
        check(f.pwd() == "/")
        expect_code(550, f.cwd, "nonexistent")
        check(f.sendcmd("SYST").startswith("215"))
        check(f.sendcmd("NOOP").startswith("200"))
        check(f.sendcmd("TYPE I").startswith("200"))
        check(f.sendcmd("MODE S").startswith("200"))
        check(f.sendcmd("STRU F").startswith("200"))
        expect_code(504, f.sendcmd, "TYPE E")
        check(f.quit().startswith("221"))
        check(srv.wait_log("logged in (password)"), srv.log())
        check(srv.wait_log("session ended: QUIT"), srv.log())
        check("s3cret" not in srv.log(), "password leaked into the log")


@test
def test_clear_login_listen_fds_mode():
    with Server(CLEAR, mode="fd3", tls=False, files=FILES) as srv:
        f = srv.ftp()
        check(f.login("alice", "s3cret").startswith("230"))
        f.cwd("sub")
        check(f.pwd() == "/sub")
        f.quit()


@test
def test_anonymous_any_password():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        f = srv.ftp()
        check(f.login("anonymous", "me@example.org").startswith("230"))
        f.quit()
        f = srv.ftp()
        check(f.login("ftp", "x").startswith("230"))
        f.quit()


@test
def test_bad_password_three_times_closes():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        r = srv.raw()
        check(r.reply()[0] == 220)
        t0 = time.time()
        for i in range(1, 4):
            check(r.cmd("USER alice")[0] == 331)
            code, lines = r.cmd("PASS wrong%d" % i)
            if i < 3:
                check(code == 530 and "Login incorrect" in lines[0], lines)
            else:
                check(code == 421, lines)
        # growing delay: 1 + 2 + 3 seconds
        check(time.time() - t0 >= 5.5, "delays too short: %.2f" % (time.time() - t0))
        check(r.closed(), "connection not closed after max-tries")


@test
def test_unknown_user_same_reply():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        r = srv.raw()
        r.reply()
        c1, l1 = r.cmd("USER nosuchuser")
        check(c1 == 331 and "Password required" in l1[0], l1)
        c2, l2 = r.cmd("PASS x")
        check(c2 == 530 and l2[0] == "530 Login incorrect", l2)
        r.cmd("USER alice")
        c3, l3 = r.cmd("PASS y")
        check(l3 == l2, (l2, l3))


@test
def test_idle_timeout_421():
    pol = CLEAR.replace("idle 30", "idle 1")
    with Server(pol, tls=False, files=FILES) as srv:
        r = srv.raw()
        r.reply()
        r.cmd("USER alice")
        check(r.cmd("PASS s3cret")[0] == 230)
        t0 = time.time()
        code, lines = r.reply()
        check(code == 421 and "Timeout" in lines[0], lines)
        check(0.8 <= time.time() - t0 < 4, time.time() - t0)
        check(r.closed())


@test
def test_login_grace_421():
    pol = CLEAR + "\nlogin-grace 1\n"
    with Server(pol, tls=False, files=FILES) as srv:
        r = srv.raw()
        r.reply()
        code, lines = r.reply()
        check(code == 421 and "login" in lines[0].lower(), lines)
        check(r.closed())


@test
def test_long_line_500_and_discarded():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        r = srv.raw()
        r.reply()
        # 4097 bytes with CRLF: one over the limit; its tail must not run.
        r.send("NOOP " + "A" * 4090 + "QUIT\r\n")
        code, lines = r.reply()
        check(code == 500 and "too long" in lines[0].lower(), lines)
        check(r.cmd("NOOP")[0] == 200)
        # exactly 4096 bytes including CRLF is fine
        line = "NOOP " + "B" * (4096 - 7)
        check(len(line) + 2 == 4096)
        check(r.cmd(line)[0] == 200)


@test
def test_pipelined_commands():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        r = srv.raw()
        r.reply()
        r.send("USER alice\r\nPASS s3cret\r\nPWD\r\nNOOP\r\n")
        check(r.reply()[0] == 331)
        check(r.reply()[0] == 230)
        code, lines = r.reply()
        check(code == 257 and '"/"' in lines[0], lines)
        check(r.reply()[0] == 200)


@test
def test_nul_and_bare_cr_rejected():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        r = srv.raw()
        r.reply()
        r.send(b"NOOP\x00QUIT\r\n")
        code, lines = r.reply()
        check(code == 500, lines)
        r.send(b"NOOP\rQUIT\r\n")
        code, lines = r.reply()
        check(code == 500, lines)
        check(r.cmd("NOOP")[0] == 200, "session must go on")


@test
def test_unknown_and_cross_protocol():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        r = srv.raw()
        r.reply()
        code, lines = r.cmd("XYZZY foo")
        check(code == 500 and "XYZZY" in lines[0], lines)
        code, lines = r.cmd("GET / HTTP/1.1")
        check(code == 421, lines)
        check(r.closed(), "HTTP verb before login must end the session")
        check(srv.wait_log("another protocol"), srv.log())


@test
def test_path_confinement_cwd():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        os.symlink("/etc", os.path.join(srv.root, "alice", "escape"))
        f = srv.ftp()
        f.login("alice", "s3cret")
        for p in ["../../..", "/../../etc", "../pub", "//..//..", "sub/../../.."]:
            try:
                f.cwd(p)
            except ftplib.error_perm:
                pass
            check(f.pwd() in ("/", "/sub"), "escaped to %s via %s" % (f.pwd(), p))
            f.cwd("/")
        expect_code(550, f.cwd, "escape")
        check(srv.wait_log("outside the user's root"), srv.log())
        expect_code(553, f.cwd, "x" * 300)
        deep = "/".join(["y" * 250] * 15)
        os.makedirs(os.path.join(srv.root, "alice", deep))
        f.cwd(deep)
        # cwd + argument exceed PATH_MAX although the line itself fits
        expect_code(553, f.cwd, "z" * 250 + "/" + "z" * 250)
        f.cwd("/")
        check(f.pwd() == "/")


@test
def test_misc_commands():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        f = srv.ftp()
        feat = f.sendcmd("FEAT")
        check("UTF8" in feat and "EPSV" in feat, feat)
        check("AUTH TLS" not in feat, "tls off must not list AUTH: " + feat)
        expect_code(504, f.sendcmd, "AUTH TLS")
        check(f.sendcmd("HOST localhost").startswith("220"))
        f.login("alice", "s3cret")
        expect_code(503, f.sendcmd, "HOST localhost")
        check(f.sendcmd("OPTS UTF8 ON").startswith("200"))
        check(f.sendcmd("HELP").startswith("214"))
        check(f.sendcmd("SITE HELP").startswith("214"))
        check(f.sendcmd("STAT").startswith("211"))
        check(f.sendcmd("ALLO 100").startswith("202"))
        check(f.sendcmd("ACCT x").startswith("202"))
        check(f.sendcmd("REIN").startswith("220"))
        expect_code(530, f.pwd)
        f.login("alice", "s3cret")
        f.quit()


@test
def test_not_a_socket_exit_2():
    d = subprocess.run(cmd("-f", "/nonexistent"), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=10)
    check(d.returncode == 2, d)
    check("not a connected TCP socket" in d.stderr and d.stderr.count("\n") == 1, d.stderr)
    d = subprocess.run(cmd("--bogus"), capture_output=True, text=True, timeout=10)
    check(d.returncode == 2, d)


@test
def test_broken_policy_421():
    with Server(CLEAR + "\nfrobnicate yes\n", tls=False, files=FILES) as srv:
        r = srv.raw()
        code, lines = r.reply()
        check(code == 421, lines)
        check(r.closed())
        check(srv.wait_log(":%d:" % (len(CLEAR.splitlines()) + 2 + (2 if IS_ROOT else 1))) or
              srv.wait_log("frobnicate"), srv.log())


@test
def test_check_mode_output():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        r = subprocess.run(cmd("-t", "-f", srv.policy), capture_output=True, text=True, timeout=10)
        check(r.returncode == 0, r)
        out = r.stdout
        check("\ntls off\n" in "\n" + out, out)
        check("idle 30" in out and "max-tries 3" in out and "umask 022" in out, out)
        check("user alice root=/alice access=rwadmn tls=off login=password" in out, out)
        check("user anonymous root=/pub access=r tls=off login=anonymous" in out, out)
        with open(srv.policy, "a") as f:
            f.write("idle nope\nmax-tries 0\n")
        r = subprocess.run(cmd("-t", "-f", srv.policy), capture_output=True, text=True, timeout=10)
        check(r.returncode == 1, r)
        n = len(open(srv.policy).read().splitlines())
        check("%s:%d:" % (srv.policy, n - 1) in r.stderr and "%s:%d:" % (srv.policy, n) in r.stderr,
              r.stderr)
        os.chmod(srv.policy, 0o666)
        r = subprocess.run(cmd("-t", "-f", srv.policy), capture_output=True, text=True, timeout=10)
        check(r.returncode == 1 and "writable" in r.stderr, r)


@test
def test_hash_password_and_version():
    r = subprocess.run(cmd("--hash-password", "-i", "1000"), input="pw\n", capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.startswith("$pbkdf2-sha256$1000$"), r)
    check("costs" in r.stderr, r.stderr)
    r = subprocess.run(cmd("-V"), capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and "mbed TLS" in r.stdout, r)


@test
def test_hashed_password_from_binary_logs_in():
    r = subprocess.run(cmd("--hash-password", "-i", "1000"), input="p4ss\n", capture_output=True,
                       text=True, timeout=30)
    h = r.stdout.strip()
    pol = "tls off\nuser bob password=%s root=/ access=r\n" % h
    with Server(pol, tls=False) as srv:
        f = srv.ftp()
        check(f.login("bob", "p4ss").startswith("230"))
        f.quit()


@test
def test_root_privileges_dropped():
    if not IS_ROOT:
        raise Skip("needs root to test run-as")
    pol = "tls off\nchroot {root}\nuser alice password=%s root=/alice access=r\n" % PW
    with Server(pol, tls=False, files=FILES) as srv:
        f = srv.ftp()
        f.login("alice", "s3cret")
        # find the session process and check its credentials
        pids = subprocess.run(["pgrep", "-f", srv.policy], capture_output=True, text=True).stdout.split()
        found = False
        for pid in pids:
            try:
                status = open("/proc/%s/status" % pid).read()
                root = os.readlink("/proc/%s/root" % pid)
            except OSError:
                continue
            if "ftpsd-inetd" not in open("/proc/%s/cmdline" % pid).read():
                continue
            uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0]
            gid_line = [l for l in status.splitlines() if l.startswith("Groups:")][0]
            if root == srv.root:
                found = True
                check(all(x != "0" for x in uid_line.split()[1:]), uid_line)
                check("0" not in gid_line.split()[1:], gid_line)
        check(found, "session process not found in its chroot")
        f.quit()


@test
def test_root_without_run_as_refused():
    if not IS_ROOT:
        raise Skip("needs root")
    with Server("tls off\nuser a password=%s\n" % PW, tls=False, auto_run_as=False) as srv:
        r = srv.raw()
        code, lines = r.reply()
        check(code == 421, lines)
        check(r.closed())
        check(srv.wait_log("without run-as"), srv.log())
    with Server("tls off\nrun-as root\nuser a password=%s\n" % PW, tls=False) as srv:
        r = srv.raw()
        check(r.reply()[0] == 421)
        check(srv.wait_log("must not be root"), srv.log())


@test
def test_quotes_doubled_in_257():
    with Server(CLEAR, tls=False, files=FILES) as srv:
        r = srv.raw()
        r.reply()
        r.cmd("USER alice")
        r.cmd("PASS s3cret")
        code, lines = r.cmd('MKD say "hi"')
        check(code == 257 and lines[0] == '257 "/say ""hi""" created', lines)
        check(r.cmd('CWD say "hi"')[0] == 250)
        code, lines = r.cmd("PWD")
        check(lines[0] == '257 "/say ""hi""" is the current directory', lines)
