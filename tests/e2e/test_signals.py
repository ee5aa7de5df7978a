"""SIGTERM/SIGHUP end a session without leaving an upload temporary."""
import os
import signal
import subprocess
import time

from ftpsdtest import ReusingFTP_TLS, Server, check, hash_password, insecure_context, test

PW = hash_password("pw")


def session_pids(srv):
    out = subprocess.run(["pgrep", "-f", "ftpsd-inetd -f " + srv.policy], capture_output=True,
                         text=True).stdout.split()
    pids = []
    for p in out:
        try:
            if not open("/proc/%s/cmdline" % p).read().startswith("systemd-socket"):
                pids.append(int(p))
        except OSError:
            pass
    return pids


def upload_then_signal(sig):
    pol = "cert {cert}\nkey {key}\ntls auth+data\nupload atomic\n" \
          "user alice password=%s root=/up access=rwadmn\n" % PW
    with Server(pol, files={"up/keep": "x"}) as srv:
        f = ReusingFTP_TLS(context=insecure_context())
        f.connect(srv.host, srv.port, timeout=10)
        f.auth()
        f.login("alice", "pw")
        f.prot_p()
        conn = f.transfercmd("STOR big.bin")
        conn.sendall(os.urandom(256 * 1024))
        updir = os.path.join(srv.root, "up")
        deadline = time.time() + 5
        while time.time() < deadline and not any(n.startswith(".ftpsd-") for n in os.listdir(updir)):
            time.sleep(0.02)
        check(any(n.startswith(".ftpsd-") for n in os.listdir(updir)), os.listdir(updir))
        pids = session_pids(srv)
        check(len(pids) == 1, pids)
        os.kill(pids[0], sig)
        deadline = time.time() + 5
        while time.time() < deadline and os.path.exists("/proc/%d" % pids[0]):
            try:
                with open("/proc/%d/stat" % pids[0]) as st:
                    if st.read().split()[2] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.02)
        names = sorted(os.listdir(updir))
        check(names == ["keep"], "left behind: %r" % names)
        conn.close()


@test
def test_sigterm_during_atomic_upload_leaves_nothing():
    upload_then_signal(signal.SIGTERM)


@test
def test_sighup_during_atomic_upload_leaves_nothing():
    upload_then_signal(signal.SIGHUP)
