#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install the dependencies, build lmrnn, train an LM-RNN
# (local2d d=3 mask, N=256 on a 16x16 sheet) on Yang et al.'s 20 tasks, then print its per-task table
# and draw its figures. About 5-10 minutes on 2 cores. Output: runs/demo/.
#   ./demo.sh [extra lmrnn train flags, e.g. --battery modcog82 --steps 20000]
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
make build/lmrnn
out=runs/demo
threads=$(nproc 2>/dev/null || echo 2)
[ "$threads" -gt 2 ] && threads=2
rm -rf "$out"
build/lmrnn train --battery yang20 --mask local2d --d 3 --window 100 --steps 6000 --time-limit 420 \
    --eval-every 500 --eval-trials 64 --threads "$threads" --seed 1 --out "$out" --no-plot "$@"
echo
build/lmrnn eval "$out" --trials 200 --threads "$threads"
echo
build/lmrnn plot "$out" --threads "$threads"
echo
echo "figures: $(ls "$out"/plots/*.png | tr '\n' ' ')"
