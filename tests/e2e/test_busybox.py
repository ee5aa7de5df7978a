"""BusyBox inetd as routers run it: the accepted socket on fds 0, 1 AND 2.

Run with FTPSD_SUPERSERVER=busybox (`make check-busybox`); skipped otherwise.
The rest of the suite runs under BusyBox inetd too, but with `log stderr`
(the harness's default) fd 2 goes to the test's log file. These tests log to
syslog, so the session keeps the layout BusyBox gives it, and they check
that nothing but FTP replies ever reaches the client through fd 2.
"""
import io
import os
import re

from ftpsdtest import (IS_ROOT, SUPERSERVER, ReusingFTP_TLS, Server, Skip, check, hash_password,
                       insecure_context, one_new_session, read_all, session_pids, test)

PW = hash_password("bb0x")
POLICY = """
log syslog
cert {cert}
key {key}
idle 30
user alice password=%s root=/alice access=rwadmn
""" % PW
CLEAR = """
log syslog
tls off
idle 30
user alice password=%s root=/alice access=rwadmn
""" % PW
FILES = {"alice/hello.txt": "hello from busybox inetd\n"}
REPLY = re.compile(rb"^\d{3}[ -]")


def need_busybox():
    if SUPERSERVER != "busybox":
        raise Skip("BusyBox inetd only (FTPSD_SUPERSERVER=busybox, make check-busybox)")


def fd_targets(pid):
    return [os.readlink("/proc/%d/fd/%d" % (pid, fd)) for fd in (0, 1, 2)]


def only_replies(data):
    lines = [l for l in data.split(b"\r\n") if l]
    bad = [l for l in lines if not REPLY.match(l) and not l.startswith(b" ")]
    return not bad, bad


@test
def test_busybox_socket_on_fds_0_1_2_full_tls_session():
    need_busybox()
    with Server(POLICY, files=FILES) as srv:
        before = set(session_pids(srv))
        f = ReusingFTP_TLS(context=insecure_context())
        f.connect(srv.host, srv.port, timeout=10)
        pid = one_new_session(srv, before)
        fds = fd_targets(pid)
        check(fds[0].startswith("socket:") and fds[0] == fds[1] == fds[2],
              "BusyBox inetd should give the session its socket on 0, 1 and 2: %s" % fds)
        check(os.getsid(pid) == pid, "BusyBox inetd runs each session in a session of its own")
        f.auth()
        f.login("alice", "bb0x")
        f.prot_p()
        got = bytearray()
        f.retrbinary("RETR hello.txt", got.extend)
        check(bytes(got) == FILES["alice/hello.txt"].encode(), got)
        f.storbinary("STOR up.txt", io.BytesIO(b"uploaded\n"))
        check("up.txt" in f.nlst(), "upload not listed")
        if IS_ROOT:
            st = os.stat(os.path.join(srv.root, "alice", "up.txt"))
            check(st.st_uid != 0, "the upload was written as root")
        check(f.quit().startswith("221"))


@test
def test_busybox_clear_replies_only_on_the_socket():
    """Everything the session writes before TLS: replies, nothing else (a
    log line or a diagnostic on fd 2 would land here)."""
    need_busybox()
    with Server(CLEAR, tls=False, files=FILES) as srv:
        r = srv.raw()
        r.send("USER nobody-here\r\nPASS wrong\r\nNOOP\r\nFROB\r\nPASS\tsecret\r\nQUIT\r\n")
        data = r.buf + read_all(r.sock)
        r.close()
        ok, bad = only_replies(data)
        check(ok, "not a reply on the control connection: %r" % bad)
        check(b"221" in data, data)
        check(b"secret" not in data, data)


@test
def test_busybox_broken_policy_one_421_and_nothing_else():
    """A policy that breaks after the super-server started: the client gets
    one 421 line; the diagnostic goes to syslog, not to fd 2 (the socket)."""
    need_busybox()
    with Server(CLEAR, tls=False, files=FILES) as srv:
        with open(srv.policy, "a") as f:
            f.write("frobnicate yes\n")
        r = srv.raw()
        data = read_all(r.sock)
        r.close()
        lines = [l for l in data.split(b"\r\n") if l]
        check(len(lines) == 1 and lines[0].startswith(b"421 "), data)
