"""rate=DOWN/UP, per user and per group: measured from the client side.

Four sessions run at once, each limited to 512 KiB/s: a download in the
clear (the sendfile path), a download under TLS, an upload in the clear and
one under TLS. Each client timestamps the bytes it moves and the rate over
a 10 s window must be within 5 % of the limit. Uploads are measured once
the socket buffers have filled (the client's send buffer is kept small),
since bytes sitting in buffers have not been taken by the server yet. The
sessions' CPU time shows that holding bytes back costs nothing (no busy
waiting), and ABOR and STAT are answered at once while a transfer is held
back."""
import ftplib
import hashlib
import os
import socket
import threading
import time

from ftpsdtest import (ReusingFTP_TLS, Server, check, hash_password, insecure_context,
                       session_pids, test)

PW = hash_password("pw")
RATE = 512 * 1024
TOLERANCE = 0.05

USERS = """
group limited rate=512K/512K
user alice password=%(pw)s root=/ access=rwadmn rate=512K/512K
user bob   password=%(pw)s root=/ access=rwadmn group=limited
user carol password=%(pw)s root=/ access=rwadmn group=limited rate=0/0
""" % {"pw": PW}


def policy():
    return "cert {cert}\nkey {key}\ntls optional\nidle 60\n" + USERS


def login(srv, user, tls):
    if tls:
        f = srv.ftps(timeout=60)
        f.auth()
        f.login(user, "pw")
        f.prot_p()
    else:
        f = srv.ftp(timeout=60)
        f.login(user, "pw")
    f.voidcmd("TYPE I")
    return f


def bytes_at(marks, t):
    """Bytes moved by time t (marks: (seconds, total) in time order)."""
    n = 0
    for when, total in marks:
        if when > t:
            break
        n = total
    return n


def window_rate(marks, t1, t2):
    return (bytes_at(marks, t2) - bytes_at(marks, t1)) / (t2 - t1)


def download(srv, user, tls, name, out):
    f = login(srv, user, tls)
    conn = f.transfercmd("RETR " + name)
    t0 = time.monotonic()
    marks, n, h = [], 0, hashlib.sha256()
    while True:
        b = conn.recv(65536)
        if not b:
            break
        n += len(b)
        h.update(b)
        marks.append((time.monotonic() - t0, n))
    if tls:
        conn.unwrap()
    conn.close()
    out["reply"] = f.voidresp()
    out.update(marks=marks, n=n, sha=h.hexdigest(), f=f)


def upload(srv, user, tls, name, data, out):
    f = login(srv, user, tls)
    conn = f.transfercmd("STOR " + name)
    # A small send buffer: what the server has not read piles up here,
    # and the timestamps below should be those of the server's reads.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
    t0 = time.monotonic()
    marks, sent = [], 0
    for off in range(0, len(data), 16384):
        conn.sendall(data[off:off + 16384])
        sent = min(off + 16384, len(data))
        marks.append((time.monotonic() - t0, sent))
    if tls:
        conn.unwrap()
    conn.close()
    out["reply"] = f.voidresp()
    out.update(marks=marks, n=sent, f=f)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@test
def test_rate_limits_downloads_and_uploads_within_5_percent():
    down = os.urandom(int(6.5 * 1024 * 1024))
    up = os.urandom(7 * 1024 * 1024)
    with Server(policy(), files={"down.bin": down}) as srv:
        results = {k: {} for k in ("down-clear", "down-tls", "up-clear", "up-tls")}
        jobs = [
            threading.Thread(target=download, args=(srv, "alice", False, "down.bin",
                                                    results["down-clear"])),
            threading.Thread(target=download, args=(srv, "bob", True, "down.bin",
                                                    results["down-tls"])),
            threading.Thread(target=upload, args=(srv, "alice", False, "up1.bin", up,
                                                  results["up-clear"])),
            threading.Thread(target=upload, args=(srv, "bob", True, "up2.bin", up,
                                                  results["up-tls"])),
        ]
        t0 = time.monotonic()
        for j in jobs:
            j.start()
        for j in jobs:
            j.join(timeout=60)
        took = time.monotonic() - t0
        check(not any(j.is_alive() for j in jobs), "a transfer did not end within 60 s")
        pids = session_pids(srv)
        cpu = sum(cpu_seconds(p) for p in pids)
        report = []
        for name, r in results.items():
            check("reply" in r, "%s did not finish: %r" % (name, r))
            check(r["reply"].startswith("226"), "%s: %s" % (name, r["reply"]))
            # Downloads from 1 s, uploads from 2 s (their buffers fill
            # first), over 10 s.
            t1 = 1.0 if name.startswith("down") else 2.0
            rate = window_rate(r["marks"], t1, t1 + 10)
            report.append("%s %.1f KiB/s (%+.2f %%)" % (name, rate / 1024,
                                                       (rate / RATE - 1) * 100))
            check(abs(rate / RATE - 1) <= TOLERANCE,
                  "%s: %.0f B/s over 10 s, limit %d B/s (%s)" % (name, rate, RATE, report))
        print("rate: " + ", ".join(report) + "; %d sessions used %.2f s CPU in %.1f s"
              % (len(pids), cpu, took))
        check(results["down-clear"]["sha"] == hashlib.sha256(down).hexdigest())
        check(results["down-tls"]["sha"] == hashlib.sha256(down).hexdigest())
        for rel in ("up1.bin", "up2.bin"):
            with open(os.path.join(srv.root, rel), "rb") as fh:
                check(fh.read() == up, rel + " differs")
        # Held back, the sessions sleep: a spinning one would use ~13 s.
        check(len(pids) == 4 and cpu < 2.0, "%d sessions, %.2f s CPU" % (len(pids), cpu))
        for r in results.values():
            r["f"].quit()


@test
def test_rate_limit_serves_abor_and_stat_and_is_per_user():
    data = os.urandom(2 * 1024 * 1024)
    pol = "tls off\nidle 60\n" + USERS.replace("512K/512K", "64K/64K")
    with Server(pol, tls=False, files={"f.bin": data}) as srv:
        f = login(srv, "alice", False)
        conn = f.transfercmd("RETR f.bin")
        got = conn.recv(65536)
        time.sleep(0.5)
        t = time.monotonic()
        f.putcmd("STAT")
        line = f.getline()
        check(time.monotonic() - t < 1.0, "STAT waited for the pace")
        check(line.startswith("211 Sending /f.bin:"), line)
        sent = int(line.split(":")[1].split()[0])
        check(sent <= 64 * 1024 * 1.5 + 65536, "%d bytes after 0.5 s at 64 KiB/s" % sent)
        t = time.monotonic()
        f.putcmd("ABOR")
        first = f.getline()
        second = f.getline() if first.startswith("426") else ""
        check(time.monotonic() - t < 1.0, "ABOR waited for the pace")
        check(first.startswith("426") and second.startswith("226"), (first, second))
        conn.close()
        check(len(got) > 0)
        # carol's own rate=0/0 beats her group's limit: no limit at all.
        g = login(srv, "carol", False)
        t = time.monotonic()
        check(g.retrbinary("RETR f.bin", lambda b: None).startswith("226"))
        took = time.monotonic() - t
        check(took < 2.0, "an unlimited user took %.1f s for 2 MiB (64 KiB/s: 32 s)" % took)
        g.quit()
        f.quit()
