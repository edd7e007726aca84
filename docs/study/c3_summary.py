#!/usr/bin/env python3
"""Condenses the C3 study's sweeps into one table and per-setting verdicts (docs/results.md, "The C3 study").

Usage: docs/study/c3_summary.py STUDY_DIR > docs/study/c3-summary.md
STUDY_DIR holds one directory per plan (c3-baseline, c3-init, ...), each written by
`lmrnn sweep docs/study/c3-<name>.json --out STUDY_DIR/c3-<name>` and reported with `--report`.
Reads every plan's report/runs.csv (finished runs only) and compares, within each setting:
  C3: the best local2d d (by AUC, the mean held-out performance over training) against full;
  C4: local2d d = 3 against random (and random_diag) at the density of d = 3.
A comparison is called only when both sides have a finished run; with one seed it is a screen result,
not a verdict (the table says how many seeds each mean has).
"""
import csv
import math
import os
import sys

MEASURES = ["final_mean", "auc", "steps_to_0.5", "steps_to_0.8", "trials_to_0.8"]


def number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def setting_of(row, plan):
    """The non-mask part of a condition name: what the plan varies besides the mask."""
    tokens = row["condition"].split("-")
    mask_tokens = {row["mask"], f"d{row['d']}"}
    rest = "-".join(t for t in tokens if t not in mask_tokens)
    plan = plan[: -len("-confirm")] if plan.endswith("-confirm") else plan  # seeds added to a screened plan
    return plan + (f" ({rest})" if rest else "")


def mask_of(row):
    if row["mask"] == "local2d" and row["d"] not in ("", "0"):
        return f"local2d d={row['d']}"
    return row["mask"]


def load(study):
    groups = {}  # setting -> mask -> [rows]
    seen = set()  # (setting, run id): a confirmation plan may hold copies of the screen's seed-1 runs
    for plan in sorted(os.listdir(study)):
        path = os.path.join(study, plan, "report", "runs.csv")
        if not os.path.isfile(path):
            continue
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("done") != "1" or number(row.get("final_mean")) is None:
                    continue
                key = (setting_of(row, plan), row["id"])
                if key in seen:
                    continue
                seen.add(key)
                groups.setdefault(key[0], {}).setdefault(mask_of(row), []).append(row)
    return groups


def mean(rows, key):
    """Mean over the seeds that have the value, and how many of them do."""
    values = [number(r.get(key)) for r in rows]
    got = [v for v in values if v is not None]
    return (sum(got) / len(got) if got else None), len(got), len(values)


def cell(rows, key):
    m, n, total = mean(rows, key)
    if m is None:
        return "—"
    text = f"{m:.3f}" if m < 10 else f"{m:.0f}"
    return text if n == total else f"{text} ({n}/{total})"


def better(a_rows, b_rows, key):
    """+1 if a is better than b on key, -1 if worse, 0 if undecided. Higher is better for performance;
    fewer is better for steps/trials, and never reaching a threshold is worse than reaching it."""
    a, na, ta = mean(a_rows, key)
    b, nb, tb = mean(b_rows, key)
    if key.startswith(("steps", "trials")):
        if na == ta and nb < tb:
            return 1
        if nb == tb and na < ta:
            return -1
        if a is None or b is None or na < ta or nb < tb:
            return 0
        return 1 if a < b else -1 if a > b else 0
    if a is None or b is None:
        return 0
    return 1 if a > b else -1 if a < b else 0


def verdict(a_rows, b_rows):
    votes = [better(a_rows, b_rows, k) for k in ("auc", "final_mean", "steps_to_0.8")]
    if all(v > 0 for v in votes if v != 0) and any(v > 0 for v in votes):
        return "holds"
    if all(v < 0 for v in votes if v != 0) and any(v < 0 for v in votes):
        return "fails"
    return "mixed"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: c3_summary.py STUDY_DIR")
    groups = load(sys.argv[1])
    if not groups:
        sys.exit(f"c3_summary.py: no finished runs under {sys.argv[1]}")
    print("| setting | mask | seeds | final perf | AUC | steps to 0.5 | steps to 0.8 | trials to 0.8 |")
    print("|---|---|---|---|---|---|---|---|")
    for setting, masks in groups.items():
        for mask in sorted(masks):
            rows = masks[mask]
            cells = " | ".join(cell(rows, k) for k in MEASURES)
            print(f"| {setting} | {mask} | {len(rows)} | {cells} |")
    print()
    print("| setting | best local2d (by AUC) | C3: best local2d vs full | C4: d=3 vs random | d=3 vs random_diag |")
    print("|---|---|---|---|---|")
    for setting, masks in groups.items():
        local = {m: r for m, r in masks.items() if m.startswith("local2d")}
        best = max(local, key=lambda m: mean(local[m], "auc")[0]) if local else None
        c3 = verdict(local[best], masks["full"]) if best and "full" in masks else "—"
        d3 = masks.get("local2d d=3")
        c4 = verdict(d3, masks["random"]) if d3 and "random" in masks else "—"
        c4d = verdict(d3, masks["random_diag"]) if d3 and "random_diag" in masks else "—"
        print(f"| {setting} | {best or '—'} | {c3} | {c4} | {c4d} |")


if __name__ == "__main__":
    main()
