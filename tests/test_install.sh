#!/usr/bin/env bash
# make install / install-python into a temporary prefix, then as a user would: the C example of
# docs/api.md compiled with only the installed header and library (and again through pkg-config),
# the shared library's exports (only lmrnn_*), a DESTDIR-staged install, the installed Python package
# found without LMRNN_LIBRARY, and `pip install --no-build-isolation ./python`.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS LMRNN_LIBRARY
tmp=$(mktemp -d /tmp/lmrnn_test_install_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$tmp/log" ] && tail -n 20 "$tmp/log"; }
check() { local name=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$name"; else bad "$name"; fi; }

prefix=$tmp/prefix
make_install() { make -C "$root" --no-print-directory "$@"; }

check install make_install install-python PREFIX="$prefix"
check installed_files test -x "$prefix/bin/lmrnn" -a -f "$prefix/include/lmrnn.h" -a -f "$prefix/lib/liblmrnn.a" \
    -a -L "$prefix/lib/liblmrnn.so" -a -f "$prefix/lib/pkgconfig/lmrnn.pc" -a -f "$prefix/lib/python3/dist-packages/lmrnn/_install.py"

exports() {
    local all api
    all=$(nm -D --defined-only "$prefix/lib/liblmrnn.so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
    api=$(grep -o 'lmrnn_[a-z_]*(' "$root/include/lmrnn.h" | tr -d '(' | sort -u)
    [ "$(echo "$all" | sort -u)" = "$api" ] || { diff <(echo "$all" | sort -u) <(echo "$api"); return 1; }
}
check exports_only_api exports

# The docs' C example, with nothing but the installed header and library.
sed -n '/<!-- example: c -->/,/^```$/p' "$root/docs/api.md" | sed '1,2d;$d' > "$tmp/example.c"
check example_compiles cc -std=c11 -Wall -Wextra -Werror -I"$prefix/include" "$tmp/example.c" -L"$prefix/lib" -llmrnn \
    -Wl,-rpath,"$prefix/lib" -o "$tmp/example"
run_example() {
    (cd "$tmp" && OMP_NUM_THREADS=1 ./example run) > "$tmp/out" || return 1
    grep -q "^lmrnn $(sed -n 's/^Version: //p' "$prefix/lib/pkgconfig/lmrnn.pc")$" "$tmp/out" &&
        grep -q "window: inputs \[350\]\[4\]\[115\]" "$tmp/out" && grep -q "expected error: stream inputs" "$tmp/out" &&
        grep -q "trained 200 steps (max_steps)" "$tmp/out" && grep -q "mean performance" "$tmp/out" &&
        grep -q "^fixed points: [1-9]" "$tmp/out" && grep -q "^lesion of units 0-9: change go" "$tmp/out" &&
        test -f "$tmp/run/checkpoint.npz" || { cat "$tmp/out"; return 1; }
}
check example_runs run_example
pc_build() {
    local flags
    flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs lmrnn) || return 1
    cc -std=c11 "$tmp/example.c" $flags -Wl,-rpath,"$prefix/lib" -o "$tmp/example_pc" && "$tmp/example_pc" "$tmp/run_pc" >/dev/null
}
check pkg_config pc_build
static_build() {
    local flags
    flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --static --cflags --libs lmrnn) || return 1
    cc -std=c11 "$tmp/example.c" -I"$prefix/include" "$prefix/lib/liblmrnn.a" $flags -o "$tmp/example_static" &&
        ! ldd "$tmp/example_static" | grep -q liblmrnn && "$tmp/example_static" "$tmp/run_static" >/dev/null
}
check static_library static_build
check installed_program "$prefix/bin/lmrnn" tasks list --battery yang20

check destdir make_install install PREFIX=/opt/lmrnn DESTDIR="$tmp/stage"
check destdir_layout test -f "$tmp/stage/opt/lmrnn/include/lmrnn.h" -a -f "$tmp/stage/opt/lmrnn/lib/pkgconfig/lmrnn.pc"
check destdir_pc grep -q '^prefix=/opt/lmrnn$' "$tmp/stage/opt/lmrnn/lib/pkgconfig/lmrnn.pc"

# The installed package finds the installed library by itself (no LMRNN_LIBRARY).
py_installed() {
    (cd "$tmp" && PYTHONPATH="$prefix/lib/python3/dist-packages" /usr/bin/python3 -c "
import lmrnn, lmrnn._lib as L
assert L.path.startswith('$prefix/lib/'), L.path
x, y = next(lmrnn.Stream('yang20', 2, 10, 0))
assert x.shape == (10, 2, 53)
")
}
check python_installed py_installed

# pip with Debian's setuptools, no network, into a target directory.
pip_install() {
    cp -r "$root/python" "$tmp/pysrc" && rm -rf "$tmp/pysrc/lmrnn/__pycache__" &&   # pip builds in place
    PIP_ROOT_USER_ACTION=ignore /usr/bin/python3 -m pip install --no-build-isolation --no-index --no-deps --quiet \
        --disable-pip-version-check --target "$tmp/site" "$tmp/pysrc" &&
        (cd "$tmp" && LMRNN_LIBRARY="$prefix/lib/liblmrnn.so" PYTHONPATH="$tmp/site" /usr/bin/python3 -c "
import lmrnn; assert lmrnn.__file__.startswith('$tmp/site'); print(lmrnn.tasks.size('modcog126'))")
}
if /usr/bin/python3 -m pip --version >/dev/null 2>&1; then check pip_install pip_install; else bad "pip_install (python3-pip missing)"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
