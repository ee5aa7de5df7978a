#!/bin/sh
# make check-ktls, inside user-mode Linux (uml_run.py): the selected e2e
# tests against each binary with kernel TLS expected, then what the kernel
# counted. usage: inside.sh TESTS BIN...
set -u
tests=$1
shift
[ -r /proc/net/tls_stat ] || { echo "check-ktls: no kernel TLS in this kernel"; exit 1; }
rc=0
for bin in "$@"; do
    echo "== check-ktls: $("$bin" --version 2>&1 | head -n 1)"
    FTPSD_BIN=$bin FTPSD_EXPECT_KTLS=1 E2E_JOBS=2 python3 tests/e2e/run.py -k "$tests" || rc=1
done
echo "== /proc/net/tls_stat"
cat /proc/net/tls_stat
exit $rc
