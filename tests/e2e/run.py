#!/usr/bin/env python3
"""Runs every @test in tests/e2e/test_*.py against the real binary.

usage: run.py [-k SUBSTRING[|SUBSTRING...]] [-j N]   (FTPSD_BIN selects the binary,
FTPSD_WRAPPER an emulator to run it under, E2E_TIME_SCALE stretches the limits)

Up to -j tests run at once, each in a thread of its own with a hard time
limit (E2E_TEST_TIMEOUT seconds, 120 by default): a test still running at
its limit is reported failed, its slot goes to the next test, and at the end
the servers it left running are stopped and the run exits without waiting
for it, so one hung test cannot hang CI. The last line is 'N passed, M
failed, K skipped' (the form CI reads). Exit 0 only when nothing failed.
"""
import argparse
import queue
import threading
import glob
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ftpsdtest  # noqa: E402

TEST_TIMEOUT = float(os.environ.get("E2E_TEST_TIMEOUT", "120")) * ftpsdtest.TIME_SCALE


def load_modules(directory, pattern):
    if directory not in sys.path:
        sys.path.insert(0, directory)
    for path in sorted(glob.glob(os.path.join(directory, pattern))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)


def run_one(fn):
    t0 = time.time()
    try:
        fn()
        return ("pass", "", time.time() - t0)
    except ftpsdtest.Skip as e:
        return ("skip", str(e), time.time() - t0)
    except Exception:
        return ("fail", traceback.format_exc(), time.time() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="")
    ap.add_argument("-j", type=int, default=int(os.environ.get("E2E_JOBS", "4")))
    ap.add_argument("--dir", default=HERE, help="where the test modules are")
    ap.add_argument("--pattern", default="test_*.py", help="which modules to load")
    args = ap.parse_args()
    if not os.access(ftpsdtest.BIN, os.X_OK):
        print("e2e: binary %s not found; run make" % ftpsdtest.BIN)
        print("0 passed, 1 failed")
        return 1
    if ftpsdtest.WRAPPER:
        print("e2e: %s under %s (time scale %g)" % (ftpsdtest.BIN, " ".join(ftpsdtest.WRAPPER),
                                                    ftpsdtest.TIME_SCALE))
    load_modules(args.dir, args.pattern)
    keys = args.k.split("|")
    tests = [t for t in ftpsdtest.TESTS
             if any(k in "%s.%s" % (t.__module__, t.__name__) for k in keys)]
    counts = {"pass": 0, "fail": 0, "skip": 0}
    t0 = time.time()
    pending = list(tests)
    running = {}  # test -> start time
    done = queue.Queue()

    def worker(t):
        done.put((t, run_one(t)))

    def show(t, status, detail, secs):
        counts[status] += 1
        name = "%s.%s" % (t.__module__, t.__name__)
        tag = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[status]
        print("%s %s (%.2fs)%s" % (tag, name, secs,
                                   (": " + detail.splitlines()[-1]) if status == "skip" else ""))
        if status == "fail":
            print("  " + detail.replace("\n", "\n  "))
        sys.stdout.flush()

    hung = 0
    while pending or running:
        while pending and len(running) < max(1, args.j):
            t = pending.pop(0)
            running[t] = time.time()
            threading.Thread(target=worker, args=(t,), daemon=True).start()
        try:
            t, (status, detail, secs) = done.get(timeout=0.25)
            if t in running:
                del running[t]
                show(t, status, detail, secs)
        except queue.Empty:
            pass
        now = time.time()
        for t, started in list(running.items()):
            if now - started > TEST_TIMEOUT:
                del running[t]
                hung += 1
                show(t, "fail", "timed out after %g s (still running; abandoned)" % TEST_TIMEOUT,
                     now - started)
    print("e2e: %d tests in %.1fs" % (len(tests), time.time() - t0))
    print("%d passed, %d failed, %d skipped" % (counts["pass"], counts["fail"], counts["skip"]))
    rc = 1 if counts["fail"] else 0
    if hung:
        # The hung tests' threads cannot be stopped; their servers can.
        ftpsdtest.stop_all_servers()
        sys.stdout.flush()
        os._exit(rc)
    return rc


if __name__ == "__main__":
    sys.exit(main())
