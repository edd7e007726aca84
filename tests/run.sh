#!/usr/bin/env bash
# Runs every test program given on the command line, adds up their "N passed, N failed" lines and
# prints the suite total as the last line. A program that crashes or prints no summary counts as one
# failed test.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
passed=0; failed=0
for t in "$@"; do
    echo "== $t"
    out=$(mktemp)
    "$t" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    rm -f "$out"
    if [ -n "$line" ]; then
        p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
        passed=$((passed + p)); failed=$((failed + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); echo "FAIL $t exited $rc"; fi
    else
        failed=$((failed + 1)); echo "FAIL $t (exit $rc, no summary)"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
