#!/usr/bin/env bash
# The layering rule, checked by `make check`: a module (src/<module>/) may include only its own headers
# and those of the modules BELOW it in this list; data flows from the top of the list to the bottom.
# A new module gets its line here, at the height it belongs.
#
#   util        errors, generators, numbers, options tables (no project includes)
#   io          files: .npy/.npz, JSON, atomic writes
#   plot        drawing (the only user of PLplot)
#   tasks       the task definitions and batteries
#   stream      the training stream of trials
#   model       masks, the network, its kernels and optimiser (pure computation: never reads files)
#   eval        held-out evaluation and the per-task table
#   train       training runs and their run directories (config.json, log.jsonl, checkpoint, mask files)
#   analysis    analyses of trained networks
#   report      figures of a run
#   experiment  experiments as grids of runs
#   api         the public C API (include/lmrnn.h)
#   cli         the command line (not part of the library)
set -u
cd "${1:-$(dirname "$0")/..}"   # the tree to check (default: this one)
layers=(util dist io plot tasks stream model eval train analysis report experiment api cli)
# Extra rules: modules that must not include a lower one all the same.
forbidden=("model io")   # the model computes; files are read by train/

rank() {
    local i
    for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done
    echo -1
}

fail=0
for dir in src/*/; do
    mod=$(basename "$dir")
    r=$(rank "$mod")
    if [ "$r" -lt 0 ]; then
        echo "check-layers: src/$mod/ is not in the layer list of scripts/check-layers.sh (add it where it belongs)"
        fail=1
        continue
    fi
    for f in "$dir"*.c "$dir"*.h; do
        [ -e "$f" ] || continue
        while IFS=: read -r line inc; do
            dep=${inc%%/*}
            d=$(rank "$dep")
            [ "$d" -lt 0 ] && continue   # not a module of src/ (e.g. "lmrnn.h")
            if [ "$d" -gt "$r" ]; then
                echo "check-layers: $f:$line includes $inc: $mod must not depend on $dep (a higher layer)"
                fail=1
            fi
            for rule in "${forbidden[@]}"; do
                if [ "$rule" = "$mod $dep" ]; then
                    echo "check-layers: $f:$line includes $inc: $mod must not depend on $dep"
                    fail=1
                fi
            done
        done < <(grep -n '^#include "[a-z_]*/' "$f" | sed 's/^\([0-9]*\):#include "\([^"]*\)".*/\1:\2/')
        if [ "$mod" != plot ] && grep -q '^#include <plplot' "$f"; then
            echo "check-layers: $f includes PLplot: only src/plot/ draws (use plot/plot.h)"
            fail=1
        fi
    done
done
if [ "$fail" -ne 0 ]; then
    echo "check-layers: include rule broken (layers, lowest first: ${layers[*]})"
    exit 1
fi
echo "check-layers: ok (layers, lowest first: ${layers[*]})"
