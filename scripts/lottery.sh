#!/bin/sh
# C7 at a chosen scale (docs/lottery.md): a fixed local mask against the searched masks of the same
# density. Runs `lmrnn train` for every condition x seed (JOBS at a time, niced), skipping finished runs,
# so re-running resumes; then `scripts/lottery_report.py OUT` aggregates.
#   scripts/lottery.sh OUT [STEPS=6000] [SEEDS=3] [JOBS=2]
# Conditions: local2d d=3, local2d d=8, IMP ticket, SET, RigL, GraNet (all at local2d d=3's 5480
# connections, searched over the full matrix), random density-matched to d=3 with and without the
# diagonal forced (the latter from a mask file: 256 autapses + 5224 random off-diagonal connections).
set -eu
OUT=${1:?usage: scripts/lottery.sh OUT [STEPS] [SEEDS] [JOBS]}
STEPS=${2:-6000}
SEEDS=${3:-3}
JOBS=${4:-2}
BIN=${LMRNN:-build/lmrnn}
mkdir -p "$OUT/runs" "$OUT/masks"
COMMON="--battery modcog82 --steps $STEPS --eval-every 500 --eval-trials 16 --checkpoint-every 1000 --no-plot --quiet"
: > "$OUT/jobs.txt"
for s in $(seq 1 "$SEEDS"); do
    /usr/bin/python3 - "$OUT/masks/random_diag_s$s.npy" "$s" <<'PY'
import sys, numpy as np
n, nnz = 256, 5480                      # local2d d=3 on the open 16x16 sheet
rng = np.random.default_rng(1000 + int(sys.argv[2]))
m = np.eye(n, dtype=np.uint8)
off = np.flatnonzero(~np.eye(n, dtype=bool))
m.flat[rng.choice(off, nnz - n, replace=False)] = 1
np.save(sys.argv[1], m)
PY
    cat >> "$OUT/jobs.txt" <<JOBS
lm3-s$s --mask local2d --d 3 --seed $s
lm8-s$s --mask local2d --d 8 --seed $s
imp-s$s --mask full --prune imp --prune-density-of 3 --prune-fraction 0.5 --seed $s
set-s$s --mask full --prune set --prune-density-of 3 --seed $s
rigl-s$s --mask full --prune rigl --prune-density-of 3 --seed $s
granet-s$s --mask full --prune granet --prune-density-of 3 --seed $s
random-s$s --mask random --match-density-of 3 --seed $s
randomdiag-s$s --mask file --mask-file $OUT/masks/random_diag_s$s.npy --seed $s
JOBS
done
xargs -P "$JOBS" -I{} sh -c 'OUT="$0"; BIN="$1"; COMMON="$2"; set -- {}; id=$1; shift; dir="$OUT/runs/$id";
        [ -f "$dir/eval.json" ] && exit 0;
        if [ -f "$dir/config.json" ]; then nice -n 15 "$BIN" train --resume "$dir" --quiet --no-plot > "$dir.out" 2>&1;
        else nice -n 15 "$BIN" train $COMMON "$@" --out "$dir" > "$dir.out" 2>&1; fi || echo "$id failed: see $dir.out"' \
        "$OUT" "$BIN" "$COMMON" < "$OUT/jobs.txt"
echo "done: $OUT/runs"
