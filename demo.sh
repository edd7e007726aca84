#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install the dependencies, build lmrnn, train the paper's
# LM-RNN (local2d d=3 mask, N=256 on a 16x16 sheet, all other settings the built-in defaults) on the 82
# Mod-Cog tasks for 40000 steps (capped at 8 minutes), evaluate it on 200 held-out trials per task and
# draw its figures. Timings: README.md, "Two commands".
#   ./demo.sh [--out DIR] [--force] [extra lmrnn train flags, e.g. --battery yang20 --window 100]
#   --out DIR   run directory (default runs/demo)
#   --force     replace DIR if it already exists (without it an existing DIR is left alone)
set -euo pipefail
cd "$(dirname "$0")"

out=runs/demo
force=0
train_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || { echo "demo.sh: --out needs a directory" >&2; exit 2; }; out=$2; shift 2 ;;
        --out=*) out=${1#--out=}; shift ;;
        --force) force=1; shift ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) train_args+=("$1"); shift ;;
    esac
done
if [ -e "$out" ]; then
    if [ "$force" -ne 1 ]; then
        echo "demo.sh: $out already exists; remove it, pass --force to replace it, or pick another --out DIR" >&2
        exit 2
    fi
    echo "demo.sh: --force: removing the previous run in $out"
    rm -rf -- "$out"
fi

scripts/install-deps.sh
make build/lmrnn
mkdir -p "$(dirname "$out")"
echo
echo "training (progress below; at most 8 minutes); the training log goes to $out/train.txt"
# The final evaluation table of `train` goes to train.txt: the table shown is the held-out one below.
build/lmrnn train --steps 40000 --eval-every 1000 --time-limit 480 --seed 1 --out "$out" --no-plot \
    ${train_args[@]+"${train_args[@]}"} > "$out.train.txt"
mv "$out.train.txt" "$out/train.txt"
sed -n '/^stopped at/,$p' "$out/train.txt"
echo
echo "held-out evaluation (200 trials per task):"
build/lmrnn eval "$out" --trials 200
echo
build/lmrnn plot "$out" > /dev/null
echo "results:  $out/eval.json, $out/eval.csv (per task), $out/log.jsonl (training log), $out/checkpoint.npz"
echo "figures:  $out/plots/ ($(cd "$out/plots" && ls *.png | tr '\n' ' ')and the same as .svg)"
