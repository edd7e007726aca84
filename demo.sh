#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install the dependencies, build lmrnn, train the paper's
# LM-RNN (local2d d=3 mask, N=256 on a 16x16 sheet, all other settings the built-in defaults) on the 82
# Mod-Cog tasks for 40000 steps, then print its per-task table and draw its figures. About 4-5 minutes
# on 2 cores (training is capped at 8 minutes). Output: runs/demo/.
#   ./demo.sh [extra lmrnn train flags, e.g. --battery yang20 --window 100 --steps 10000]
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
make build/lmrnn
out=runs/demo
rm -rf "$out"
build/lmrnn train --steps 40000 --eval-every 1000 --time-limit 480 --seed 1 --out "$out" --no-plot "$@"
echo
build/lmrnn eval "$out" --trials 200
echo
build/lmrnn plot "$out"
echo
echo "figures: $(ls "$out"/plots/*.png | tr '\n' ' ')"
