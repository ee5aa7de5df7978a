#!/usr/bin/env python3
"""Runs every @test in tests/e2e/test_*.py against the real binary.

usage: run.py [-k SUBSTRING] [-j N]   (FTPSD_BIN selects the binary)

Each test runs in its own thread pool slot with a hard time limit; the last
line is 'N passed, M failed, K skipped' (the form CI reads). Exit 0 only
when nothing failed.
"""
import argparse
import concurrent.futures
import glob
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ftpsdtest  # noqa: E402

TEST_TIMEOUT = 120


def load_modules():
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
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
    args = ap.parse_args()
    if not os.access(ftpsdtest.BIN, os.X_OK):
        print("e2e: binary %s not found; run make" % ftpsdtest.BIN)
        print("0 passed, 1 failed")
        return 1
    load_modules()
    tests = [t for t in ftpsdtest.TESTS if args.k in "%s.%s" % (t.__module__, t.__name__)]
    counts = {"pass": 0, "fail": 0, "skip": 0}
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        futs = {pool.submit(run_one, t): t for t in tests}
        for fut in concurrent.futures.as_completed(futs):
            t = futs[fut]
            name = "%s.%s" % (t.__module__, t.__name__)
            try:
                status, detail, secs = fut.result(timeout=TEST_TIMEOUT)
            except concurrent.futures.TimeoutError:
                status, detail, secs = "fail", "timed out", TEST_TIMEOUT
            counts[status] += 1
            tag = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[status]
            print("%s %s (%.2fs)%s" % (tag, name, secs, (": " + detail.splitlines()[-1]) if status == "skip" else ""))
            if status == "fail":
                print("  " + detail.replace("\n", "\n  "))
            sys.stdout.flush()
    print("e2e: %d tests in %.1fs" % (len(tests), time.time() - t0))
    print("%d passed, %d failed, %d skipped" % (counts["pass"], counts["fail"], counts["skip"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
