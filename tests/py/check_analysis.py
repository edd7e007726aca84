"""Independent checks of `lmrnn analyze` outputs with NumPy (run by tests/test_analyze_cli.c).
usage: check_analysis.py RUN_DIR STATES.npz FIXEDPOINTS.npz FIXEDPOINTS.json VARIANCE.npz LESION.json
Recomputes the network's update F from checkpoint.npz alone, then checks that the states follow it,
that each reported q equals 1/2 |F(h*) - h*|^2 and that the leading Jacobian eigenvalue matches
numpy's. Prints 'ok' or the first failure and exits non-zero."""
import json, sys
import numpy as np

run, states_path, fp_path, fp_json, var_path, lesion_json = sys.argv[1:7]
ck = np.load(run + "/checkpoint.npz")
W, Win, b = (ck[k].astype(np.float64) for k in ("W_rec", "W_in", "b_in"))
b = b + ck["b_rec"].astype(np.float64)
info = json.load(open(fp_json))
a, rule, act = info["alpha"], info["rule"], info["activation"]
f = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "softplus": lambda z: np.logaddexp(0, z)}[act]
df = {"relu": lambda z: (z > 0) * 1.0, "tanh": lambda z: 1 - np.tanh(z) ** 2,
      "softplus": lambda z: 1 / (1 + np.exp(-z))}[act]

def step(h, u):
    s = W @ h + Win @ u + b
    return f((1 - a) * h + a * s) if rule == "ngym" else (1 - a) * h + a * f(s)

def jac(h, u):
    s = W @ h + Win @ u + b
    if rule == "ngym":
        return df((1 - a) * h + a * s)[:, None] * ((1 - a) * np.eye(len(h)) + a * W)
    return (1 - a) * np.eye(len(h)) + a * df(s)[:, None] * W

def fail(msg):
    print("FAIL", msg)
    sys.exit(1)

st = np.load(states_path)
h, x, L = st["h"], st["inputs"], st["lengths"]
for k in range(h.shape[0]):
    hp = np.zeros(h.shape[2])
    for t in range(L[k]):
        hp = step(hp, x[k, t].astype(np.float64))
        if np.max(np.abs(hp - h[k, t])) > 1e-4:
            fail(f"states: trial {k} step {t} differs from F by {np.max(np.abs(hp - h[k, t]))}")
    if np.any(h[k, L[k]:] != 0):
        fail("states: padding is not zero")
names = str(st["task_names"]).split(";")
if len(names) != len(st["rule_column"]) or st["period_bounds"].shape != (h.shape[0], 8, 2):
    fail("states: task names / period bounds")

fp = np.load(fp_path)
P, q, u = fp["points"], fp["q"], fp["input"]
if P.shape[0] != info["points"] or u.shape != (Win.shape[1],):
    fail("fixedpoints: shapes")
for k in range(P.shape[0]):
    r = step(P[k], u) - P[k]
    q_ref = 0.5 * r @ r
    if abs(q_ref - q[k]) > 1e-9 * max(1.0, q_ref):
        fail(f"fixedpoints: q[{k}] = {q[k]}, F gives {q_ref}")
    ev = np.linalg.eigvals(jac(P[k], u))
    lam = np.max(np.abs(ev))
    if abs(lam - np.hypot(fp["eig_re"][k, 0], fp["eig_im"][k, 0])) > 1e-8:
        fail(f"fixedpoints: |lambda_1| of point {k}: {lam} vs {fp['eig_re'][k, 0]}")
    if bool(fp["stable"][k]) != (lam < 1):
        fail(f"fixedpoints: stability of point {k}")
if not np.allclose(fp["q_over_alpha2"], q / a ** 2):
    fail("fixedpoints: q_over_alpha2")
proj = (P - fp["pc_mean"]) @ fp["pc_axes"].T
if P.shape[0] and not np.allclose(proj, fp["points_pc"]):
    fail("fixedpoints: PC projection")
va = np.load(var_path)
tv, act, units, lab = va["task_variance"], va["active"], va["units"], va["labels"]
if tv.shape != (W.shape[0], len(str(va["task_names"]).split(";"))) or act.sum() != len(units) or len(lab) != len(units):
    fail("variance: shapes")
# task variance of one (unit, task) recomputed from the states' definition is not possible here (other
# trials), but normalisation is: each active unit's row divided by its maximum
if not np.allclose(va["normalised"], tv[units] / tv[units].max(axis=1, keepdims=True)):
    fail("variance: normalisation")
if lab.max() + 1 != len(va["cluster_task"]) or len(va["silhouette"]) != len(va["k_values"]):
    fail("variance: clusters")
les = json.load(open(lesion_json))
if len(les["groups"]) != len(va["cluster_task"]) or sum(g["units"] for g in les["groups"]) != len(units):
    fail("lesion: groups")
print("ok")
