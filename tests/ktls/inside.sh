#!/bin/sh
# make check-ktls, inside user-mode Linux (uml_run.py): the selected e2e
# tests against each binary with kernel TLS expected, then what the kernel
# counted, then one closing line for both runs. usage: inside.sh TESTS BIN...
set -u
tests=$1
shift
[ -r /proc/net/tls_stat ] || { echo "check-ktls: no kernel TLS in this kernel"; exit 1; }
rc=0 pass=0 fail=0 skip=0
out=/tmp/check-ktls.out
for bin in "$@"; do
    echo "== check-ktls: $("$bin" --version 2>&1 | head -n 1)"
    FTPSD_BIN=$bin FTPSD_EXPECT_KTLS=1 E2E_JOBS=2 python3 tests/e2e/run.py -k "$tests" > $out 2>&1 || rc=1
    sed '$d' $out
    set -- $(tail -n 1 $out)
    # run.py's last line: "N passed, N failed, N skipped".
    case "${2:-}" in passed*) ;; *) rc=1 fail=$((fail + 1)); continue ;; esac
    pass=$((pass + $1)) fail=$((fail + $3)) skip=$((skip + $5))
done
echo "== /proc/net/tls_stat (sockets whose records the kernel carried)"
grep -E 'TlsTxSw|TlsRxSw|TlsDecryptError' /proc/net/tls_stat
echo "check-ktls: $pass passed, $fail failed, $skip skipped"
exit $rc
