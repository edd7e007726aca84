#!/usr/bin/env bash
# Seed corpora for the fuzz harnesses, from real files the release build writes: a tiny run (its
# config.json, log.jsonl, eval.json, checkpoint.npz and the checkpoint's stream_state bytes), a
# `tasks dump` archive and its members as lone .npy files, and an experiment plan.
# usage: tests/fuzz/make_seeds.sh BUILD/lmrnn OUTDIR     (OUTDIR/<harness>/ gets the seeds)
set -eu
bin=$1; out=$2
work=$(mktemp -d /tmp/lmrnn_seeds.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"/{npy,npz,config,checkpoint,stream_state,log,eval,plan}
# keep in step with tests/fuzz/fuzz_run.h
"$bin" train --out "$work/run" --battery modcog82 --hidden 16 --d 2 --batch 2 --window 40 --steps 20 \
    --eval-every 10 --eval-trials 2 --checkpoint-every 10 --seed 3 --no-plot --quiet > /dev/null
cp "$work/run/config.json" "$out/config/run_config.json"
cp "$work/run/log.jsonl" "$out/log/run_log.jsonl"
cp "$work/run/eval.json" "$out/eval/run_eval.json"
cp "$work/run/checkpoint.npz" "$out/checkpoint/run_checkpoint.npz"
printf '{"battery": "yang20", "mask": "random", "density": 0.1, "steps": 100, "seed": 7, "out": "x"}\n' \
    > "$out/config/small.json"
"$bin" tasks dump --battery go,dm1,dms --trials 2 --seed 1 --out "$work/dump" > /dev/null
cp "$work/dump/go.npz" "$out/npz/go.npz"
"$bin" tasks batch --battery go,dm1 --batch 2 --window 20 --seed 1 --out "$out/npz/batch.npz" > /dev/null
/usr/bin/python3 - "$work" "$out" <<'PY'
import sys, zipfile, io
work, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(work + "/dump/go.npz") as z:
    for name in z.namelist():
        open(out + "/npy/" + name, "wb").write(z.read(name))
with zipfile.ZipFile(work + "/run/checkpoint.npz") as z:
    img = z.read("stream_state.npy")
    hlen = img[8] | img[9] << 8          # version 1.0 header
    open(out + "/stream_state/run_state.bin", "wb").write(img[10 + hlen:])
PY
# the plan.json a sweep writes (--emit slurm writes the plan and a batch script, and runs nothing)
here=$(cd "$(dirname "$0")/../.." && pwd)
"$bin" sweep "$here/examples/sweep-lr-mask.json" --out "$work/sweep" --emit slurm > /dev/null
cp "$work/sweep/plan.json" "$out/plan/sweep_plan.json"
printf '{"experiment": "autapse", "scale": "quick", "settings": {"seeds": 1}, "runs": []}\n' > "$out/plan/min.json"
