#!/usr/bin/env bash
# The Python package (python/lmrnn) over the release build's build/liblmrnn.so, with Debian's
# /usr/bin/python3 and NumPy: tests/test_python.py prints the "N passed, N failed" line.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
export LMRNN_LIBRARY="$root/build/liblmrnn.so"
# The sanitizer settings of tests/run.sh are for the ASan binaries, not for python3.
unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
exec /usr/bin/python3 "$root/tests/test_python.py"
