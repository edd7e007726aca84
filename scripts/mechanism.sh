#!/usr/bin/env bash
# The mechanism claims C5 and C6 (docs/results.md): runs `lmrnn analyze` over trained runs and prints
# Markdown tables. Usage: scripts/mechanism.sh RUNS_DIR OUT_DIR
#   RUNS_DIR holds run directories named like the autapse experiment's: yang20-diag-s<seed>,
#   modcog82-{diag,local2d-d3,full}-s<seed> (e.g. exp/autapse/runs). Missing runs are skipped.
# C5: per yang20 diag run, `analyze autapse` for the delay periods of dlygo and dms (analytic 1-D fixed
#     points, memory units, lesion of the memory units vs as many random units) and `analyze fixedpoints`.
# C6: per modcog82 run, `analyze fixedpoints` in the delay of dlygo, the delay of dlygointr (int) and
#     the decision period of dlygoseqr (seq): slow-point count, fixed points reached by the polish,
#     dimensionality and |lambda_1|; then the same per mask over the seeds.
# Existing outputs are kept (re-running continues). The tables are assembled from the JSON outputs with /usr/bin/python3 (standard library only).
set -euo pipefail
runs=${1:?usage: mechanism.sh RUNS_DIR OUT_DIR}
out=${2:?usage: mechanism.sh RUNS_DIR OUT_DIR}
lmrnn=${LMRNN:-build/lmrnn}
inits=${INITS:-512}            # C5 fixed points (yang20 diag runs)
inits6=${INITS6:-256}          # C6 fixed points (modcog82 runs, 9 analyses per seed)
iters6=${MAX_ITERS6:-2000}
mkdir -p "$out"
t0=$(date +%s)
for r in "$runs"/yang20-diag-s*; do
    [ -f "$r/checkpoint.npz" ] || continue
    id=$(basename "$r")
    mkdir -p "$out/$id"
    for tp in dlygo:delay dms:delay; do
        t=${tp%%:*}; p=${tp##*:}
        [ -f "$out/$id/autapse_$t/autapse.json" ] ||
            "$lmrnn" analyze autapse "$r" --task "$t" --period "$p" --out "$out/$id/autapse_$t" >/dev/null
        [ -f "$out/$id/fp_${t}_$p.json" ] ||
            "$lmrnn" analyze fixedpoints "$r" --task "$t" --period "$p" --inits "$inits" --out "$out/$id/fp_${t}_$p.npz" >/dev/null
    done
done
for r in "$runs"/modcog82-*-s*; do
    [ -f "$r/checkpoint.npz" ] || continue
    id=$(basename "$r")
    mkdir -p "$out/$id"
    for tp in dlygo:delay dlygointr:delay dlygoseqr:decision; do
        t=${tp%%:*}; p=${tp##*:}
        [ -f "$out/$id/fp_${t}_$p.json" ] ||
            "$lmrnn" analyze fixedpoints "$r" --task "$t" --period "$p" --inits "$inits6" --max-iters "$iters6" \
                --out "$out/$id/fp_${t}_$p.npz" >/dev/null
    done
done
echo "analyses: $(( $(date +%s) - t0 )) s wall" >&2
/usr/bin/python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
def load(p):
    return json.load(open(p)) if os.path.exists(p) else None
print("### C5: autapse runs on yang20\n")
print("| run | task / period | memory units | no fixed point | lesion memory units | lesion as many random units | slow points (stable) | median abs(lambda_1) | within 0.05 of 1 |")
print("|---|---|---|---|---|---|---|---|---|")
for d in sorted(glob.glob(out + "/yang20-diag-s*")):
    for t, p in (("dlygo", "delay"), ("dms", "delay")):
        a, f = load(f"{d}/autapse_{t}/autapse.json"), load(f"{d}/fp_{t}_{p}.json")
        if not a or not f: continue
        l = a["lesion"]; le = f["leading_eigenvalue_modulus"]
        print(f"| {os.path.basename(d)} | {t} {p} | {a['memory_units']} | {a['units_without_fixed_point']} | "
              f"{l['memory_units_mean_change']:+.3f} | {l['random_units_mean_change']:+.3f} | {f['points']} ({f['stable']}) | "
              f"{le.get('median', float('nan')):.3f} | {le.get('within_0.05_of_1', 0)} |")
runs = [json.load(open(p)) for p in sorted(glob.glob(out + "/yang20-diag-s*/autapse_dlygo/autapse.json"))]
if runs:
    tasks = list(runs[0]["lesion"]["memory_units_change"].keys())
    print(f"\nPer task, mean over the {len(runs)} yang20 diag runs (memory units: abs(w_eff - 1) <= 0.05):\n")
    print("| task | lesion memory units | lesion as many random units |")
    print("|---|---|---|")
    for t in tasks:
        m = sum(r["lesion"]["memory_units_change"][t] for r in runs) / len(runs)
        c = sum(r["lesion"]["random_units_change"][t] for r in runs) / len(runs)
        print(f"| {t} | {m:+.3f} | {c:+.3f} |")
print("\n### C6: slow points on modcog82\n")
print("| run | task / period | slow points (stable) | fixed points (q < 1e-12) | slow-point PR | median abs(lambda_1) | within 0.05 of 1 | median q | seconds (Adam + polish) |")
print("|---|---|---|---|---|---|---|---|---|")
groups = {}
for d in sorted(glob.glob(out + "/modcog82-*")):
    mask = os.path.basename(d).rsplit("-s", 1)[0].replace("modcog82-", "")
    for t, p in (("dlygo", "delay"), ("dlygointr", "delay"), ("dlygoseqr", "decision")):
        f = load(f"{d}/fp_{t}_{p}.json")
        if not f: continue
        le, q = f["leading_eigenvalue_modulus"], f["q"]
        conv = f.get("converged", "-")
        sec = f["seconds"]["optimisation"] + f["seconds"].get("refine", 0)
        print(f"| {os.path.basename(d)} | {t} {p} | {f['points']} ({f['stable']}) | {conv} | {f['slow_point_participation_ratio']:.2f} | "
              f"{le.get('median', float('nan')):.3f} | {le.get('within_0.05_of_1', 0)} | {q.get('median', float('nan')):.2e} | {sec:.1f} |")
        groups.setdefault((mask, t, p), []).append(f)
if groups:
    print("\nPer mask and task, over the seeds (mean, and min-max across seeds):\n")
    print("| mask | task / period | seeds | slow points | fixed points (q < 1e-12) | stable | slow-point PR | median abs(lambda_1) | within 0.05 of 1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    def agg(vals):
        return f"{sum(vals) / len(vals):.2f} ({min(vals):.2f}-{max(vals):.2f})"
    for (mask, t, p), fs in sorted(groups.items()):
        print(f"| {mask} | {t} {p} | {len(fs)} | {agg([f['points'] for f in fs])} | {agg([f.get('converged', 0) for f in fs])} | "
              f"{agg([f['stable'] for f in fs])} | {agg([f['slow_point_participation_ratio'] for f in fs])} | "
              f"{agg([f['leading_eigenvalue_modulus'].get('median', float('nan')) for f in fs])} | "
              f"{agg([f['leading_eigenvalue_modulus'].get('within_0.05_of_1', 0) for f in fs])} |")
PY
