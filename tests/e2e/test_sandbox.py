"""The seccomp sandbox (SPEC §4): a session runs under PR_SET_NO_NEW_PRIVS and
a seccomp filter (/proc/PID/status: NoNewPrivs 1, Seccomp 2) from before its
greeting to its end, and does its work there: TLS login, passive and active
TLS transfers both ways, listings, rename, mkdir, delete. With `sandbox off`
it has neither.

The main proof that the filter refuses nothing a session needs is that the
whole e2e suite runs with it on (the default) on every build. The unit test
tests/unit/check_sandbox.c shows a refused call killed by SIGSYS, with the
log line that names it.

Where the kernel refuses seccomp (qemu-user, old kernels) the session logs
one warning and goes on: strace's fault injection makes prctl(PR_SET_SECCOMP)
fail with EINVAL here, as qemu-user does.
"""
import io

from ftpsdtest import (ReusingFTP_TLS, Server, native_only, Skip, check, hash_password, insecure_context,
                       one_new_session, proc_status, session_pids, test, which)

PW = hash_password("pw")
POLICY = ("cert {cert}\nkey {key}\ntls auth+data\nidle 30\nactive peer\n"
          "user alice password=%s root=/alice access=rwadmn\n" % PW)


def confined(pid, where):
    st = proc_status(pid)
    check(st.get("NoNewPrivs") == "1", "%s: NoNewPrivs %r" % (where, st.get("NoNewPrivs")))
    check(st.get("Seccomp") == "2", "%s: Seccomp %r (2 is filter mode)" % (where, st.get("Seccomp")))
    if "Seccomp_filters" in st:  # Linux 5.9 and later
        check(st["Seccomp_filters"] == "1", "%s: %s filters" % (where, st["Seccomp_filters"]))


@test
def test_sandbox_on_from_greeting_to_quit():
    native_only("qemu-user refuses PR_SET_SECCOMP (EINVAL) so that a guest cannot filter the "
                "emulator's own system calls; the session's warning is what runs there")
    with Server(POLICY, files={"alice/old.txt": "old\n"}) as srv:
        before = set(session_pids(srv))
        f = ReusingFTP_TLS(context=insecure_context())
        f.connect(srv.host, srv.port, timeout=10)  # reads the 220
        pid = one_new_session(srv, before)
        confined(pid, "at the greeting")
        f.auth()
        f.login("alice", "pw")
        f.prot_p()
        confined(pid, "logged in")
        data = bytes(range(256)) * 1024
        f.storbinary("STOR up.bin", io.BytesIO(data))
        got = bytearray()
        f.retrbinary("RETR up.bin", got.extend)
        check(bytes(got) == data, "passive TLS round trip")
        f.set_pasv(False)  # PORT: the server connects
        got = bytearray()
        f.retrbinary("RETR up.bin", got.extend)
        check(bytes(got) == data, "active TLS download")
        f.storbinary("STOR active.bin", io.BytesIO(data[:1000]))
        f.set_pasv(True)
        names = f.nlst()
        check(sorted(names) == ["active.bin", "old.txt", "up.bin"], names)
        lines = []
        f.retrlines("LIST", lines.append)
        check(len(lines) == 3, lines)
        f.mkd("d")
        f.rename("old.txt", "d/new.txt")
        f.delete("d/new.txt")
        f.rmd("d")
        f.delete("active.bin")
        confined(pid, "after the transfers")
        f.quit()
        log = srv.log()
        check("seccomp" not in log, log[-2000:])


@test
def test_sandbox_off_neither_no_new_privs_nor_seccomp():
    with Server(POLICY + "sandbox off\n", files={"alice/x.txt": "x\n"}) as srv:
        before = set(session_pids(srv))
        f = ReusingFTP_TLS(context=insecure_context())
        f.connect(srv.host, srv.port, timeout=10)
        pid = one_new_session(srv, before)
        f.auth()
        f.login("alice", "pw")
        f.prot_p()
        st = proc_status(pid)
        check(st.get("NoNewPrivs") == "0" and st.get("Seccomp") == "0",
              "NoNewPrivs %r Seccomp %r" % (st.get("NoNewPrivs"), st.get("Seccomp")))
        got = bytearray()
        f.retrbinary("RETR x.txt", got.extend)
        check(bytes(got) == b"x\n", got)
        f.quit()


@test
def test_sandbox_refused_by_the_kernel_one_warning_and_the_session_goes_on():
    if not which("strace"):
        raise Skip("strace not installed")
    # The session's prctl calls are PR_SET_NO_NEW_PRIVS, then PR_SET_SECCOMP.
    inject = ["strace", "-qq", "-o", "/dev/null", "-e", "trace=prctl",
              "-e", "inject=prctl:error=EINVAL:when=2"]
    with Server(POLICY, files={"alice/x.txt": "x\n"}, wrapper=inject) as srv:
        f = ReusingFTP_TLS(context=insecure_context())
        f.connect(srv.host, srv.port, timeout=10)
        f.auth()
        f.login("alice", "pw")
        f.prot_p()
        got = bytearray()
        f.retrbinary("RETR x.txt", got.extend)
        check(bytes(got) == b"x\n", got)
        f.quit()
        check(srv.wait_log("session ended"), srv.log()[-2000:])
        log = srv.log()
        want = ("warning: seccomp sandbox not available: prctl(PR_SET_SECCOMP): Invalid argument; "
                "the session goes on without it")
        check(log.count(want) == 1, log[-2000:])
