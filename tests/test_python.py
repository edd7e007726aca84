"""The Python package against the real program: the stream bit-identical to `lmrnn tasks batch`, trials
to `lmrnn tasks dump`, Model.forward reproducing a trained run's own evaluation, load_run against the
run directory's files read with NumPy and json, the analyses against the update equation and the
command line's files, the docs/api.md example, and bad input arriving as exceptions with the library's
message. Run by tests/test_python.sh; prints "N passed, N failed"."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import lmrnn  # noqa: E402  (before NumPy, as docs/api.md advises: it names OpenBLAS's kernels)
import numpy as np  # noqa: E402

LMRNN = os.path.join(ROOT, "build", "lmrnn")
TMP = tempfile.mkdtemp(prefix="lmrnn_test_python_")
TINY = dict(battery="go,dm1,dms", hidden=36, d=2, batch=4, window=60, eval_every=0, eval_trials=40, seed=3)
passed = failed = 0


def run_cli(*args):
    subprocess.run([LMRNN, *args], check=True, stdout=subprocess.DEVNULL)


def expect_error(cls, needle, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except cls as e:
        assert needle in str(e), "message %r lacks %r" % (str(e), needle)
        return
    raise AssertionError("no %s raised (expected one mentioning %r)" % (cls.__name__, needle))


def test_stream_matches_tasks_batch():
    for battery, B, T, seed, fix in (("modcog82", 4, 350, 7, None), ("yang20", 3, 100, 0, "all"),
                                     ("dms,dmsintseq,dm1", 2, 45, 123456789012, "Q1,Q18")):
        path = os.path.join(TMP, "batch.npz")
        args = ["tasks", "batch", "--battery", battery, "--batch", str(B), "--window", str(T), "--seed", str(seed),
                "--count", "3", "--out", path]
        run_cli(*(args + (["--fix", fix] if fix else [])))
        ref = np.load(path)
        s = lmrnn.Stream(battery, batch=B, window=T, seed=seed, fixes=fix, decision=True)
        for c in range(3):
            x, y, d = next(s)
            assert x.dtype == np.float32 and y.dtype == np.int32 and d.dtype == np.uint8
            assert x.tobytes() == ref["inputs"][c].tobytes(), (battery, c)
            assert y.tobytes() == ref["labels"][c].tobytes() and d.tobytes() == ref["decision"][c].tobytes()
        s.rewind()
        x, y, d = s.next(count=3)
        assert x.shape == (3, T, B, lmrnn.tasks.n_inputs(battery))
        assert x.tobytes() == ref["inputs"].tobytes() and y.tobytes() == ref["labels"].tobytes()


def test_stream_iteration_and_state():
    s = lmrnn.Stream("yang20", batch=2, window=30, seed=5)
    windows = [w for _, w in zip(range(4), s)]
    assert all(len(w) == 2 and w[0].shape == (30, 2, 53) for w in windows)
    s.rewind()
    x, y = s()   # neurogym's Dataset call style
    assert np.array_equal(x, windows[0][0]) and np.array_equal(y, windows[0][1])
    state = s.state()
    a = s.next(count=2)
    s.set_state(state)
    b = s.next(count=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(a[0][0], windows[1][0]) and s.trials > 0
    other = lmrnn.Stream("yang20", batch=2, window=30, seed=6)
    expect_error(lmrnn.LmrnnValueError, "seed", other.set_state, state)
    expect_error(lmrnn.LmrnnValueError, "bytes", other.set_state, state[:-1])
    expect_error(TypeError, "bytes", other.set_state, "text")


def test_tasks_and_trial_match_dump():
    assert lmrnn.tasks.batteries() == ["yang20", "modcog82", "modcog126"]
    names = lmrnn.tasks.names("modcog82")
    assert len(names) == 82 and names[:3] == ["go", "rtgo", "dlygo"] and len(set(names)) == 82
    assert lmrnn.tasks.size("modcog126") == 126 and lmrnn.tasks.n_inputs("yang20") == 53
    info = lmrnn.tasks.info("dmsintseq")[0]
    assert info["canonical"] == "dmsintrseqr" and info["group"] == "intseq" and info["family"] == "match"
    out = os.path.join(TMP, "dump")
    run_cli("tasks", "dump", "--battery", "dlygo,dm2,dmsintl", "--trials", "5", "--seed", "9", "--fix", "Q6", "--out", out)
    for name in ("dlygo", "dm2", "dmsintl"):
        ref = np.load(os.path.join(out, name + ".npz"))
        pnames = str(ref["period_names"]).split(";")
        for i in range(5):
            t = lmrnn.tasks.trial(name, seed=9, index=i, fix="Q6")
            n = int(ref["length"][i])
            assert t.ob.shape == (n, 33) and t.ob.tobytes() == ref["ob"][i, :n].tobytes(), (name, i)
            assert t.gt.tobytes() == ref["gt"][i, :n].tobytes() and t.modality == ref["modality"][i]
            assert [t.periods[p] for p in pnames] == [tuple(b) for b in ref["period_bounds"][i].tolist()]
    ob, gt = lmrnn.tasks.trial("go", 1)
    assert ob.shape[0] == gt.shape[0]


def train_tiny(name, steps=300):
    out = os.path.join(TMP, name)
    res = lmrnn.train(out=out, steps=steps, **TINY)
    assert res["reason"] == "max_steps" and res["step"] == steps and res["out"] == out
    return out, res


def test_forward_reproduces_evaluation():
    out, res = train_tiny("run_eval")
    run = lmrnn.load_run(out)
    with open(os.path.join(out, "eval.json")) as f:
        ev = json.load(f)
    assert run.eval == ev and abs(res["mean"] - ev["mean"]) < 1e-12
    K = TINY["eval_trials"]
    total = 0
    for pos, task in enumerate(ev["tasks"]):
        # Batch the task's evaluation trials as the library does: padded with zeros at the end.
        trials = [run.model.eval_trial(pos, i) for i in range(K)]
        T = max(x.shape[0] for x, _ in trials)
        x = np.zeros((T, K, run.model.n_inputs), np.float32)
        for b, (xi, _) in enumerate(trials):
            x[:xi.shape[0], b] = xi
        hidden, logits = run.model.forward(x)
        assert hidden.shape == (T, K, 36) and logits.shape == (T, K, 17)
        correct = sum(int(np.argmax(logits[xi.shape[0] - 1, b]) == gi[-1]) for b, (xi, gi) in enumerate(trials))
        assert correct == task["correct"], (task["name"], correct, task["correct"])
        total += correct
        # One trial alone (2-D input) gives that trial's rows of the batch.
        h1, l1 = run.model.forward(trials[0][0])
        n0 = trials[0][0].shape[0]
        assert np.allclose(l1, logits[:n0, 0], atol=1e-5) and np.allclose(h1, hidden[:n0, 0], atol=1e-5)
    assert total > 0, "the tiny run learned nothing: the comparison would be vacuous"
    again = run.model.evaluate(trials=K)
    assert again["correct"] == {t["name"]: t["correct"] for t in ev["tasks"]} and abs(again["mean"] - ev["mean"]) < 1e-12


def test_load_run_round_trips():
    out, _ = train_tiny("run_load", steps=60)
    run = lmrnn.load_run(out)
    ck = np.load(os.path.join(out, "checkpoint.npz"))
    for k in ("W_in", "b_in", "W_rec", "b_rec", "W_out", "b_out"):
        assert run.weights[k].dtype == np.float32 and np.array_equal(run.weights[k], ck[k]), k
    assert np.array_equal(run.mask, ck["mask"]) and run.step == int(ck["step"]) == 60
    with open(os.path.join(out, "config.json")) as f:
        assert run.config == json.load(f)
    with open(os.path.join(out, "log.jsonl")) as f:
        assert run.log == [json.loads(line) for line in f if line.strip()]
    assert run.log[-1]["kind"] == "stop" and run.config["hidden"] == 36
    # The weights through Python into a fresh network of the same configuration: identical forward.
    opts = {k: v for k, v in run.config.items() if k not in ("derived", "inferred", "version", "out")}
    fresh = lmrnn.Model(**opts)
    assert not np.array_equal(fresh.weights()["W_out"], run.weights["W_out"])
    fresh.set_weights(run.weights)
    x, _ = next(lmrnn.Stream(TINY["battery"], batch=3, window=50, seed=1))
    assert np.array_equal(fresh.forward(x)[1], run.model.forward(x)[1])
    # A new model is step 0 of the run: its weights are the run's initial weights.
    again = lmrnn.Model(**opts)
    assert all(np.array_equal(a, b) for a, b in zip(again.weights().values(), fresh.__class__(**opts).weights().values()))
    # Resuming through train() continues the run.
    res = lmrnn.train(out=out, resume=True, steps=80)
    assert res["step"] == 80 and lmrnn.load_run(out).step == 80


def test_build_mask_brute_force():
    m, info = lmrnn.build_mask(hidden=64, mask="local2d", d=2.5)
    yy, xx = np.divmod(np.arange(64), 8)
    want = ((xx[:, None] - xx[None, :]) ** 2 + (yy[:, None] - yy[None, :]) ** 2 < 6.25).astype(np.uint8)
    assert m.dtype == np.uint8 and np.array_equal(m, want) and info["nnz"] == want.sum() and info["n"] == 64
    r, ri = lmrnn.build_mask(hidden=64, mask="random", density=0.25, seed=3)
    assert abs(ri["density"] - r.mean()) < 1e-12 and np.array_equal(r, lmrnn.build_mask(hidden=64, mask="random",
                                                                                        density=0.25, seed=3)[0])
    assert np.array_equal(lmrnn.Model(battery="go", hidden=64, mask="local2d", d=2.5).mask(), m)
    expect_error(lmrnn.LmrnnValueError, "blob", lmrnn.build_mask, hidden=64, mask="blob")


def test_bad_input_raises():
    E, V = lmrnn.LmrnnError, lmrnn.LmrnnValueError
    expect_error(V, "nosuchtask", lmrnn.Stream, "go,nosuchtask", 4, 10)
    expect_error(ValueError, "batch", lmrnn.Stream, "yang20", -4, 10)
    expect_error(V, "window", lmrnn.Stream, "yang20", 4, 0)
    expect_error(V, "Q77", lmrnn.Stream, "yang20", 4, 10, 0, "Q77")
    expect_error(TypeError, "battery", lmrnn.Stream, 20, 4, 10)
    expect_error(V, "seed", lmrnn.Stream, "yang20", 4, 10, -1)
    expect_error(V, "nosuch", lmrnn.tasks.trial, "nosuch", 0)
    expect_error(V, "index", lmrnn.tasks.trial, "go", 0, -3)
    expect_error(E, "nowhere", lmrnn.load_run, os.path.join(TMP, "nowhere"))
    empty = os.path.join(TMP, "empty_run")
    os.makedirs(empty, exist_ok=True)
    expect_error(E, "checkpoint", lmrnn.load_run, empty)
    with open(os.path.join(empty, "checkpoint.npz"), "wb") as f:
        f.write(b"PK\x03\x04 definitely not a zip archive")
    expect_error(E, "checkpoint.npz", lmrnn.load_run, empty)
    expect_error(V, "hiden", lmrnn.Model, hiden=3)
    expect_error(V, "mask", lmrnn.Model, mask="blob")
    expect_error(V, "steps", lmrnn.train, out=os.path.join(TMP, "bad_train"), steps="many")
    expect_error(V, "--out", lmrnn.train, steps=3)
    m = lmrnn.Model(battery="go,dm1", hidden=8, mask="full")
    expect_error(TypeError, "float32", m.forward, np.zeros((5, 2, 35)))
    expect_error(ValueError, "shape", m.forward, np.zeros((5, 2, 34), np.float32))
    expect_error(ValueError, "shape", m.forward, np.zeros((5,), np.float32))
    expect_error(ValueError, "at least one", m.forward, np.zeros((0, 2, 35), np.float32))
    expect_error(TypeError, "numpy array", m.forward, [[0.0] * 35])
    bad = np.zeros((3, 1, 35), np.float32)
    bad[1, 0, 4] = np.inf
    expect_error(V, "non-finite", m.forward, bad)
    expect_error(V, "W_rec", m.set_weights, {"W_rec": np.zeros((8, 9), np.float32)})
    expect_error(V, "unknown tensor", m.set_weights, {"W_hh": np.zeros((8, 8), np.float32)})
    expect_error(TypeError, "float32", m.set_weights, {"b_in": np.zeros(8)})
    expect_error(V, "best", m.evaluate, 5, None, "best")
    expect_error(V, "trials", m.evaluate, 0)
    d = lmrnn.Model(battery="go", hidden=4, mask="diag")
    w = np.eye(4, dtype=np.float32)
    w[0, 1] = 1
    expect_error(V, "W_rec", d.set_weights, {"W_rec": w})
    # Forward on a large, strided, non-contiguous view works (copied), and is the same as contiguous.
    x = np.zeros((4, 6, 35), np.float32)
    x[:, :, 33] = 1
    assert np.array_equal(m.forward(x[:, ::2])[1], m.forward(np.ascontiguousarray(x[:, ::2]))[1])


def test_analysis_against_cli_and_update_equation():
    out, _ = train_tiny("run_analysis")
    m = lmrnn.load_run(out).model
    w = {k: v.astype(np.float64) for k, v in m.weights().items()}
    cfg = m.config
    assert (cfg["rule"], cfg["act"]) == ("ngym", "relu"), "the check below is the ngym relu update"
    a = cfg["alpha"]

    def F(h, u):   # docs/model.md: h' = relu((1 - a) h + a (W_rec h + W_in u + b_in + b_rec))
        return np.maximum((1 - a) * h + a * (h @ w["W_rec"].T + w["W_in"] @ u + w["b_in"] + w["b_rec"]), 0)

    fp = lmrnn.analysis.fixed_points(m, "dms", "delay", inits=128, trials=16, max_iters=3000)
    P, q, u = fp["points"], fp["q"], fp["input"]
    assert P.dtype == np.float64 and P.shape[1] == 36 and u.shape == (m.n_inputs,) and fp["stable"].dtype == np.uint8
    r = F(P, u) - P
    assert np.allclose(0.5 * np.sum(r * r, axis=1), q, rtol=1e-7, atol=1e-15)
    fixed = q < 1e-10
    assert fixed.any() and np.max(np.abs(r[fixed])) < 1e-4, "no point satisfies F(h) = h"
    x, _ = m.eval_trial(2, fp["input_trial"])
    st = lmrnn.analysis.states(m, tasks="dms", trials=16)
    k = fp["input_trial"]
    delay = str(st["period_names"]).split(";").index("delay")
    assert np.array_equal(u, x[st["period_bounds"][k, delay, 0]].astype(np.float64))
    lam1 = np.hypot(fp["eig_re"][:, 0], fp["eig_im"][:, 0])
    assert np.array_equal(fp["stable"] == 1, lam1 < 1)
    # The same analyses through the command line write the same arrays: both run the same OpenBLAS kernels.
    d = os.path.join(TMP, "analysis_cli")
    run_cli("train", "--out", os.path.join(d, "core"), "--steps", "1", "--hidden", "16", "--battery", "go",
            "--no-plot", "--quiet", "--no-summary")
    with open(os.path.join(d, "core", "config.json")) as f:
        assert json.load(f)["derived"]["blas_core"].lower() == lmrnn.blas_core().lower()
    run_cli("analyze", "variance", out, "--trials", "32", "--no-plot", "--out", d)
    v = lmrnn.analysis.variance(m, trials=32)
    ref = np.load(os.path.join(d, "variance.npz"))
    assert sorted(ref.files) == sorted(v), (ref.files, list(v))
    for key in ref.files:
        want = str(ref[key]) if ref[key].dtype.kind == "U" else ref[key]
        assert np.array_equal(v[key], want) and (isinstance(v[key], str) or v[key].dtype == ref[key].dtype), key
    run_cli("analyze", "fixedpoints", out, "--task", "dms", "--period", "delay", "--inits", "128", "--trials", "16",
            "--max-iters", "3000", "--no-plot", "--out", os.path.join(d, "fp.npz"))
    ref = np.load(os.path.join(d, "fp.npz"))
    for key in ref.files:
        if key != "summary":   # holds the run time
            assert np.array_equal(fp[key], ref[key]), key
    # Lesions: a unit list zeroes exactly those columns; the table is the change of the evaluation.
    units = [2, 3, 17]
    les = lmrnn.analysis.lesion(m, units=units, trials=20, seed=5)
    before = m.evaluate(trials=20, seed=5)
    m.lesion(units)
    after = m.evaluate(trials=20, seed=5)
    lw = m.weights()
    keep = np.setdiff1d(np.arange(36), units)
    for name in ("W_rec", "W_out"):
        assert not np.any(lw[name][:, units]) and np.array_equal(lw[name][:, keep], w[name][:, keep].astype(np.float32))
        assert np.any(w[name][:, units]), name
    for name in ("W_in", "b_in", "b_rec", "b_out"):
        assert np.array_equal(lw[name], w[name].astype(np.float32)), name
    names = les["task_names"].split(";")
    assert np.allclose(les["intact"], [before["tasks"][t] for t in names], rtol=0, atol=1e-12)
    assert np.allclose(les["change"][0], [after["tasks"][t] - before["tasks"][t] for t in names], rtol=0, atol=1e-12)
    by_cluster = lmrnn.analysis.lesion(lmrnn.load_run(out).model, clusters=v, trials=8)
    assert by_cluster["change"].shape == (len(v["cluster_task"]), 3)
    assert by_cluster["group_units"].sum() == len(v["units"])
    s = lmrnn.analysis.summary(lmrnn.load_run(out).model)
    run_cli("analyze", "summary", out, "--no-plot", "--out", d)
    with open(os.path.join(d, "summary.json")) as f:
        ref = json.load(f)
    assert abs(s["participation_ratio"] - ref["participation_ratio"]) < 1e-12
    assert np.allclose(s["singular_values"], ref["singular_values"], rtol=0, atol=1e-12)
    assert np.allclose(s["weight_change"], [ref["weight_change"][k] for k in ("W_rec", "W_in", "W_out")], rtol=1e-12)
    assert s["dormant_ratio"].tolist() == [ref["dormant_ratio"]["tau_0"], ref["dormant_ratio"]["tau_0.025"]]


def test_analysis_bad_input_raises():
    out, _ = train_tiny("run_analysis_bad", steps=30)
    m = lmrnn.load_run(out).model
    V, A = lmrnn.LmrnnValueError, lmrnn.analysis
    expect_error(V, "nosuch", A.fixed_points, m, "nosuch", "delay")
    expect_error(V, "dlygo", A.fixed_points, m, "dlygo", "delay")          # not in the run's battery
    expect_error(V, "lunch", A.fixed_points, m, "dms", "lunch")
    expect_error(V, "stim1", A.fixed_points, m, "dms", "stim1")            # a period dms lacks
    expect_error(V, "inits", A.fixed_points, m, "dms", "delay", inits=0)
    expect_error(V, "trials", A.variance, m, trials=-3)
    expect_error(V, "method", A.variance, m, method="spectral")
    expect_error(V, "hiden", A.summary, m, hiden=4)
    expect_error(V, "outside", A.lesion, m, units=[36])
    expect_error(V, "twice", A.lesion, m, units=[1, 1])
    expect_error(V, "one of", A.lesion, m)
    expect_error(TypeError, "integers", A.lesion, m, units=np.array([1.5, 2.0]))
    expect_error(TypeError, "integers", m.lesion, [[1, 2]])
    expect_error(TypeError, "lmrnn.Model", A.summary, "runs/x")
    expect_error(V, "shape", A.lesion, m, clusters={"units": np.arange(3), "labels": np.zeros(2, np.int32),
                                                      "cluster_task": [0]})
    expect_error(V, "group 4", A.lesion, m, clusters={"units": np.arange(3), "labels": np.array([0, 4, 1]),
                                                       "cluster_task": [0, 1]})
    assert np.array_equal(m.weights()["W_rec"], lmrnn.load_run(out).weights["W_rec"]), "a failed lesion changed W"


def test_docs_python_example():
    doc = open(os.path.join(ROOT, "docs", "api.md")).read()
    blocks = re.findall(r"<!-- example: python -->\n```python\n(.*?)```", doc, re.S)
    assert len(blocks) == 1, "docs/api.md must hold exactly one marked Python example"
    script = os.path.join(TMP, "example.py")
    with open(script, "w") as f:
        f.write(blocks[0])
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    r = subprocess.run([sys.executable, script], cwd=TMP, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "inputs (350, 4, 115) float32" in r.stdout and "mean performance" in r.stdout, r.stdout
    assert re.search(r"^fixed points: [1-9]", r.stdout, re.M) and "lesion of the clusters:" in r.stdout, r.stdout


def main():
    global passed, failed
    tests = [(k, v) for k, v in globals().items() if k.startswith("test_") and callable(v)]
    for name, fn in tests:
        try:
            fn()
            passed += 1
            print("ok   " + name)
        except Exception:
            failed += 1
            print("FAIL " + name)
            traceback.print_exc()
        sys.stdout.flush()
    shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
