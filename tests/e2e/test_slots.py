"""max-sessions and max-per-ip (super-servers without limits, such as BusyBox
inetd): a session over a cap gets '421 Too many sessions' before anything
else and exits; a killed session's slot is free at once."""
import os
import signal
import socket
import time

from ftpsdtest import (RawClient, Server, check, hash_password, one_new_session, scaled,
                       session_pids, test)

PW = hash_password("pw")


def policy(extra):
    return ("tls off\nidle 30\nruntime-dir {dir}/run\n%s\n"
            "user alice password=%s root=/a access=r\n" % (extra, PW))


class Client(RawClient):
    def __init__(self, host, port, source=None):
        self.sock = socket.socket(socket.AF_INET)
        self.sock.settimeout(scaled(10))
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buf = b""


def greet(srv, source=None):
    before = set(session_pids(srv))
    c = Client(srv.host, srv.port, source)
    code, lines = c.reply()
    pid = one_new_session(srv, before) if code == 220 else None
    return c, code, lines, pid


@test
def test_max_sessions_cap_and_release():
    with Server(policy("max-sessions 3"), tls=False, files={"a/x": "x"}) as srv:
        held = []
        for _ in range(3):
            c, code, lines, pid = greet(srv)
            check(code == 220, lines)
            held.append((c, pid))
        c, code, lines, _ = greet(srv)
        check(code == 421 and "Too many sessions (3)" in lines[0], lines)
        check(c.closed(), "a refused session must close")
        c.close()
        # An orderly end frees its slot...
        held[0][0].cmd("QUIT")
        held[0][0].close()
        deadline = time.time() + 5
        while time.time() < deadline and os.path.exists("/proc/%d" % held[0][1]):
            time.sleep(0.05)
        c, code, lines, pid = greet(srv)
        check(code == 220, "a freed slot was not given out: %r" % lines)
        held[0] = (c, pid)
        # ... and so does kill -9: no stale slot.
        os.kill(held[1][1], signal.SIGKILL)
        deadline = time.time() + 5
        while time.time() < deadline and os.path.exists("/proc/%d" % held[1][1]):
            time.sleep(0.05)
        c, code, lines, pid = greet(srv)
        check(code == 220, "the slot of a killed session stayed taken: %r" % lines)
        for h in held:
            h[0].close()
        c.close()
        check(srv.wait_log("Too many sessions"), srv.log())


@test
def test_max_per_ip_counts_each_address():
    with Server(policy("max-per-ip 2"), tls=False, files={"a/x": "x"}) as srv:
        first = [greet(srv, "127.0.0.1") for _ in range(2)]
        check(all(code == 220 for _, code, _, _ in first), [l for _, _, l, _ in first])
        c, code, lines, _ = greet(srv, "127.0.0.1")
        check(code == 421 and "from your address (2)" in lines[0], lines)
        c.close()
        # Another address has slots of its own.
        other = greet(srv, "127.0.0.2")
        check(other[1] == 220, other[2])
        for c, _, _, _ in first + [other]:
            c.close()


@test
def test_slots_hold_under_concurrent_load():
    """40 clients at once against max-sessions 10: never more than 10 alive,
    every refusal a 421 before anything else."""
    import threading
    with Server(policy("max-sessions 10"), tls=False, files={"a/x": "x"}) as srv:
        codes, lock = [], threading.Lock()
        start = threading.Event()
        socks = []

        def one():
            start.wait()
            try:
                c = Client(srv.host, srv.port)
                code, _ = c.reply()
            except Exception:  # noqa: BLE001
                code = None
            with lock:
                codes.append(code)
                if code == 220:
                    socks.append(c)
                elif code is not None:
                    c.close()

        threads = [threading.Thread(target=one) for _ in range(40)]
        for t in threads:
            t.start()
        start.set()
        for t in threads:
            t.join(scaled(30))
        # The refused sessions exit right after their 421: give them a moment,
        # then the greeted ones must be all that is left.
        deadline = time.time() + scaled(5)
        while time.time() < deadline and len(session_pids(srv)) > 10:
            time.sleep(0.05)
        alive = len(session_pids(srv))
        for c in socks:
            c.close()
        check(codes.count(220) == 10 and codes.count(421) == 30,
              "220 x%d, 421 x%d, other %r" % (codes.count(220), codes.count(421),
                                             [c for c in codes if c not in (220, 421)]))
        check(alive <= 10, "%d sessions alive" % alive)
