#!/usr/bin/env python3
"""Client compatibility table from the interop tests.

usage: interop_report.py [--out FILE] [--from-log FILE]

Runs `python3 tests/e2e/run.py -k interop` (FTPSD_BIN selects the binary, as
for run.py), turns its PASS/FAIL/SKIP lines into a Markdown table

    client | mode | login | list | download | upload | notes

and writes it to stdout and to FILE (default build/interop.md). Which cells a
test fills comes from MATRIX in test_interop.py; a failing test names its
failed step ("[download] (done: login, list) ..."), so the cells before it
read ok, its own FAIL, and the ones after it "not reached". --from-log
builds the table from a saved run.py output instead of running the tests.
Exit status: 0 when no interop test failed.
"""
import argparse
import datetime
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

LINE = re.compile(r"^(PASS|FAIL|SKIP) test_interop\.(\w+) \([\d.]+s\)(?:: (.*))?$")
STEP = re.compile(r"AssertionError: \[([^\]]+)\] \(done: ([^)]*)\) ?(.*)")


def parse(output):
    """{test name: (status, detail)}; detail is the skip reason or, for a
    failure, (failed step, [steps done], first line of the message)."""
    results = {}
    cur = None
    for line in output.splitlines():
        m = LINE.match(line)
        if m:
            status, name, reason = m.groups()
            cur = name if status == "FAIL" else None
            results[name] = [status, (reason or "") if status == "SKIP" else None]
            continue
        if cur and line.startswith("  "):
            s = STEP.search(line)
            if s:  # the last (outermost) one wins
                done = [d.strip() for d in s.group(2).split(",") if d.strip() not in ("", "-")]
                results[cur][1] = (s.group(1), done, s.group(3).strip())
            elif results[cur][1] is None and line.strip().startswith(
                    ("AssertionError", "TimeoutError", "OSError", "ConnectionError")):
                results[cur][1] = (None, [], line.strip())
        elif not line.startswith("  "):
            cur = None
    return {k: tuple(v) for k, v in results.items()}


def md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def shorten(text, n=160):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n - 1] + "…"


def table(results, matrix, versions):
    from test_interop import COLS
    out = ["| client | mode | %s | notes |" % " | ".join(COLS),
           "|---|---|%s---|" % ("---|" * len(COLS))]
    for name, meta in matrix.items():
        cols = meta["cols"]
        notes = [meta["notes"]] if meta["notes"] else []
        status, detail = results.get(name, ("MISSING", None))
        cells = []
        for c in COLS:
            if cols.get(c, "n/a") == "n/a":
                cells.append("n/a")
            elif status == "PASS":
                cells.append(cols[c])
            elif status == "SKIP":
                cells.append("skip")
            elif status == "FAIL":
                step, done, _ = detail if detail else (None, [], "")
                if c in done:
                    cells.append(cols[c])
                elif c == step:
                    cells.append("**FAIL**")
                elif step is None:
                    cells.append("**FAIL**")
                else:
                    cells.append("not reached")
            else:
                cells.append("not run")
        if status == "SKIP":
            notes.append("skipped: " + shorten(detail, 220))
        elif status == "FAIL":
            step, done, msg = detail if detail else (None, [], "see the test output")
            where = (" in step `%s`" % step) if step else ""
            notes.append("**FAIL**%s: %s" % (where, shorten(msg)))
        elif status == "MISSING":
            notes.append("the test did not report (runner crashed or was filtered out)")
        if meta["tool"] == "python":  # the client is Python code: name it, then Python's
            client = "%s (%s)" % (meta["client"], versions.get("python", "?"))
        else:
            client = versions.get(meta["tool"] or "", meta["client"])
        out.append("| %s | %s | %s | %s |" % (md(client), md(meta["mode"]),
                                            " | ".join(md(x) for x in cells),
                                            md("; ".join(notes))))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "interop.md"))
    ap.add_argument("--from-log", help="parse this saved run.py output instead of running")
    args = ap.parse_args()

    if args.from_log:
        with open(args.from_log, encoding="utf-8", errors="replace") as f:
            output = f.read()
        rc = 0
    else:
        env = dict(os.environ)
        r = subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "-k", "interop"],
                           capture_output=True, text=True, env=env, timeout=1200)
        output = r.stdout + r.stderr
        rc = r.returncode
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(os.path.splitext(args.out)[0] + ".log", "w") as f:
            f.write(output)

    import ftpsdtest
    from test_interop import MATRIX, client_version
    results = parse(output)
    versions = {t: client_version(t) for t in
                sorted({m["tool"] for m in MATRIX.values() if m["tool"]})}
    try:
        v = subprocess.run([ftpsdtest.BIN, "-V"], capture_output=True, text=True,
                           timeout=10).stdout.strip().splitlines()
        server = v[0] if v else ftpsdtest.BIN
    except OSError:
        server = ftpsdtest.BIN + " (not built)"
    summary = [l for l in output.splitlines() if re.match(r"^\d+ passed, \d+ failed", l)]

    lines = ["## Client compatibility", "",
             "Measured by `make interop-report` (tests/e2e/test_interop.py) on %s against `%s`. "
             "Default policy `tls auth+data`, `data-reuse required`; `active peer` for active "
             "mode and `implicit on` for implicit FTPS where the mode says so. Every download "
             "and upload is compared byte for byte (SHA-256) on both ends."
             % (datetime.date.today().isoformat(), md(server)), ""]
    lines += table(results, MATRIX, versions)
    lines += ["", "Result of the run: %s." % (summary[-1] if summary else "no summary line")]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    failed = any(s == "FAIL" for s, _ in results.values())
    return 1 if (failed or rc != 0) else 0


if __name__ == "__main__":
    sys.exit(main())
