#!/usr/bin/env bash
# scripts/check-layers.sh: the tree passes; an include that points up, a file read in model/, and PLplot
# outside plot/ are each refused with a message naming the file.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/lmrnn_test_layers_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; cat "$tmp/out"; }
# planted: a fresh copy of src/ with one line added to `file`; the check must fail naming `want`
planted() {
    local name=$1 file=$2 line=$3 want=$4
    rm -rf "$tmp/tree" && mkdir -p "$tmp/tree" && cp -r "$root/src" "$tmp/tree/"
    echo "$line" >> "$tmp/tree/src/$file"
    if "$root/scripts/check-layers.sh" "$tmp/tree" > "$tmp/out" 2>&1; then bad "$name (not refused)"
    elif grep -q "$want" "$tmp/out"; then ok "$name"
    else bad "$name (message lacks $want)"; fi
}
if "$root/scripts/check-layers.sh" "$root" > "$tmp/out" 2>&1; then ok tree_is_layered; else bad tree_is_layered; fi
planted points_up model/rnn.c '#include "train/trainer.h"' "src/model/rnn.c:.*train/trainer.h"
planted cli_from_library eval/table.h '#include "cli/commands.h"' "eval/table.h"
planted model_reads_files model/mask.c '#include "io/npz.h"' "model must not depend on io"
planted plplot_outside_plot report/run.c '#include <plplot.h>' "report/run.c includes PLplot"
mkdir -p "$tmp/tree/src/newthing" && echo 'int x;' > "$tmp/tree/src/newthing/a.c"
rm -rf "$tmp/tree/src/model"
if "$root/scripts/check-layers.sh" "$tmp/tree" > "$tmp/out" 2>&1; then bad unknown_module
elif grep -q "src/newthing/ is not in the layer list" "$tmp/out"; then ok unknown_module; else bad unknown_module; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
