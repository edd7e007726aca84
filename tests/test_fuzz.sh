#!/usr/bin/env bash
# A short bounded fuzzing run of every harness (make check, when clang is installed): first the inputs of
# past findings (tests/data/fuzz/<harness>/, each must pass), then FUZZ_SMOKE_TIME seconds (default 5)
# from the seeds, in a scratch corpus. Prints "N passed, N failed" (two tests per harness).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
t=${FUZZ_SMOKE_TIME:-5}
passed=0; failed=0
if ! command -v clang > /dev/null || ! ls build/fuzz/fuzz_* > /dev/null 2>&1; then
    echo "fuzz: clang or the harnesses are missing (scripts/install-deps.sh installs clang; make fuzz-build)"
    echo "0 passed, 1 failed"
    exit 1
fi
scratch=$(mktemp -d /tmp/lmrnn_fuzz_smoke.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
for bin in build/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    h=${bin#build/fuzz/fuzz_}
    if [ -d "tests/data/fuzz/$h" ] && ls "tests/data/fuzz/$h"/* > /dev/null 2>&1; then
        if "$bin" -rss_limit_mb=2048 -timeout=20 "tests/data/fuzz/$h"/* > "$scratch/$h.replay" 2>&1; then
            echo "ok   fuzz_$h: past findings replayed"; passed=$((passed + 1))
        else
            echo "FAIL fuzz_$h: a past finding fails again"; tail -n 30 "$scratch/$h.replay"; failed=$((failed + 1))
        fi
    else
        echo "ok   fuzz_$h: no past findings"; passed=$((passed + 1))
    fi
    mkdir -p "$scratch/corpus/$h" "$scratch/findings/$h"
    if "$bin" -max_total_time="$t" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -artifact_prefix="$scratch/findings/$h/" \
        "$scratch/corpus/$h" "build/fuzz/seeds/$h" > "$scratch/$h.log" 2>&1; then
        echo "ok   fuzz_$h: ${t} s, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$scratch/$h.log" | grep -o '[0-9]*$' || echo '?') runs"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz_$h: finding (kept in build/fuzz/findings/$h/)"; tail -n 40 "$scratch/$h.log"
        mkdir -p "build/fuzz/findings/$h" && cp "$scratch/findings/$h"/* "build/fuzz/findings/$h/" 2>/dev/null
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
