#!/bin/sh
# make fuzz-long: runs each libFuzzer target given as an argument
# (build-fuzz/fuzz_NAME) for FUZZ_TIME seconds on its corpus
# (FUZZ_BUILD/corpus-NAME) and seed directory (fuzz/seed-NAME), FUZZ_JOBS at
# a time under `nice -n FUZZ_NICE`, then prints one table: executions,
# coverage (cov: edges, ft: features) and the corpus (corp:) from
# libFuzzer's final line, the files in the corpus directory, and whether
# it crashed. Each run's whole output stays in FUZZ_BUILD/long-NAME.log, a
# crashing input in FUZZ_BUILD/artifacts-NAME/; `fuzz_long.sh --row NAME
# LOG` prints the row of a past run.
# The table is also written to FUZZ_BUILD/fuzz-long.md (for docs/fuzzing.md).
set -u
: "${FUZZ_BUILD:=build-fuzz}" "${FUZZ_TIME:=60}" "${FUZZ_JOBS:=1}" "${FUZZ_NICE:=15}"
# FUZZ_FLAGS: more libFuzzer options for every run (-max_len=4096, ...).
: "${FUZZ_FLAGS:=}"
export FUZZ_BUILD FUZZ_TIME FUZZ_NICE FUZZ_FLAGS

# One target: its whole run, its log, and one summary line in long-NAME.row.
run_one() {
    bin=$1
    name=${bin##*/fuzz_}
    corpus=$FUZZ_BUILD/corpus-$name
    art=$FUZZ_BUILD/artifacts-$name
    log=$FUZZ_BUILD/long-$name.log
    mkdir -p "$corpus" "$art"
    seeds=
    [ -d "fuzz/seed-$name" ] && seeds=fuzz/seed-$name
    dict=
    [ -f "fuzz/$name.dict" ] && dict=-dict=fuzz/$name.dict
    echo "fuzz-long: $bin for $FUZZ_TIME s (log: $log)"
    # -timeout: one input that takes this long is a hang, and a finding.
    # shellcheck disable=SC2086
    nice -n "$FUZZ_NICE" "$bin" -max_total_time="$FUZZ_TIME" -print_final_stats=1 -timeout=30 \
        -artifact_prefix="$art/" $FUZZ_FLAGS $dict "$corpus" $seeds >"$log" 2>&1
    rc=$?
    crash=none
    if [ "$rc" -ne 0 ]; then
        crash=$(ls "$art" 2>/dev/null | head -n 1)
        crash="exit $rc ${crash:-(no artifact)}"
    fi
    row "$name" "$log" "$crash" >"$FUZZ_BUILD/long-$name.row"
    return "$rc"
}

# The table row of one run from its log: executions (final stats), cov,
# ft and corp (units/bytes: the corpus libFuzzer kept) from the last
# status line, and the files in the corpus directory.
row() {
    name=$1 log=$2 crash=$3
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    final=$(grep -E '^#[0-9]+' "$log" | grep ' cov: ' | tail -n 1)
    cov=$(echo "$final" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$final" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$final" | sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
    files=$(find "$FUZZ_BUILD/corpus-$name" -type f 2>/dev/null | wc -l)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$FUZZ_TIME" "${execs:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$files" "$crash"
}

if [ "${1:-}" = --one ]; then
    run_one "$2"
    exit $?
fi
if [ "${1:-}" = --row ]; then
    row "$2" "$3" "${4:-none}"
    exit 0
fi

[ $# -gt 0 ] || { echo "usage: fuzz_long.sh build-fuzz/fuzz_NAME..." >&2; exit 2; }
for bin in "$@"; do
    rm -f "$FUZZ_BUILD/long-${bin##*/fuzz_}.row"
done
# xargs -P: at most FUZZ_JOBS runs at once, all of them even if one fails.
printf '%s\n' "$@" | xargs -P "$FUZZ_JOBS" -n 1 sh "$0" --one
rc=$?

table=$FUZZ_BUILD/fuzz-long.md
{
    echo '| target | seconds | executions | cov | ft | corp (units/size) | corpus files | crash |'
    echo '|---|---|---|---|---|---|---|---|'
    for bin in "$@"; do
        cat "$FUZZ_BUILD/long-${bin##*/fuzz_}.row" 2>/dev/null ||
            echo "| ${bin##*/fuzz_} | $FUZZ_TIME | ? | ? | ? | ? | ? | no result |"
    done
} >"$table"
echo
cat "$table"
exit "$rc"
