"""The e2e runner itself: a hung test must fail after the per-test limit,
and the run must end, so one hung test cannot hang CI."""
import os
import subprocess
import sys
import time

from ftpsdtest import check, test

HERE = os.path.dirname(os.path.abspath(__file__))


@test
def test_runner_per_test_time_limit_fires():
    # The limit under test is the one given, not one stretched for emulation.
    env = dict(os.environ, E2E_TEST_TIMEOUT="2", E2E_TIME_SCALE="1")
    t0 = time.time()
    try:
        r = subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--dir",
                            os.path.join(HERE, "fixtures"), "--pattern", "runner_cases.py", "-j", "2"],
                           capture_output=True, text=True, env=env, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("the runner did not end: its per-test time limit never fired")
    took = time.time() - t0
    check(r.returncode == 1, "a timed-out test must fail the run: rc %d\n%s" % (r.returncode, r.stdout))
    check("FAIL runner_cases.hangs_forever" in r.stdout and "timed out after 2 s" in r.stdout, r.stdout)
    check("PASS runner_cases.quick" in r.stdout, r.stdout)
    check(r.stdout.strip().splitlines()[-1] == "1 passed, 1 failed, 0 skipped", r.stdout)
    check(took < 30, "the run took %.1f s for a 2 s limit" % took)
