#!/usr/bin/python3
"""Independent PyTorch reference for lmrnn's engine (issue 3 items 7 and 8). Not a dependency of lmrnn.

check DIR...   Rebuild the case exported by build/bench/export_case in torch (float64 and float32) from
               the same initial weights, mask and batch; compare the loss, every gradient and the
               parameters after the same Adam steps (clip 1.0) with the C results. Pass criterion: the
               relative error ||c - torch|| / ||torch|| of every tensor below 1e-4 (against float64).
time           Time one training step (forward + backward + clip + Adam) of the same network written the
               usual way (neurogym-style Python loop over time, plain autograd) for the benchmark's
               configurations; with --compare FILE (bench_step --out FILE) print lmrnn's speed-up.

Run with /usr/bin/python3 (numpy + torch). Example:
  build/bench/export_case --out /tmp/case1 && /usr/bin/python3 bench/torch_reference.py check /tmp/case1
  build/bench/export_case --from-run runs/dale-rigl --out /tmp/case2 && /usr/bin/python3 bench/torch_reference.py check /tmp/case2
  build/bench/bench_step --out /tmp/c.tsv && /usr/bin/python3 bench/torch_reference.py time --threads 1,2 --compare /tmp/c.tsv
"""
import argparse
import math
import os
import subprocess
import sys
import time


def _threads_from_argv():
    """The thread count, read before numpy loads OpenBLAS (which fixes its pool size at load time)."""
    a = sys.argv
    for i, v in enumerate(a):
        if v == "--threads" and i + 1 < len(a) and "," not in a[i + 1]:
            return a[i + 1]
        if v.startswith("--threads=") and "," not in v:
            return v.split("=", 1)[1]
    return "1"


for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _threads_from_argv()

import numpy as np  # noqa: E402  (after the thread environment)

torch = None   # imported in main()


def import_torch(threads):
    """Load torch with every thread pool (intra-op, OpenMP, OpenBLAS: set from argv at the top) at `threads`."""
    global torch
    import torch as t
    torch = t
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)

NAMES = ["W_in", "b_in", "W_rec", "b_rec", "W_out", "b_out"]


def read_case(d):
    cfg = {}
    with open(os.path.join(d, "case.txt")) as f:
        for line in f:
            k, v = line.rstrip("\n").split(" ", 1)
            cfg[k] = v
    load = lambda n: np.load(os.path.join(d, n + ".npy"))
    data = {n: load(n) for n in ["x", "labels", "decision", "mask", "losses"]}
    data["ei"] = load("ei") if int(cfg.get("dale", "0")) else None
    for pre in ["init", "grad", "final"]:
        data[pre] = {n: load(pre + "_" + n) for n in NAMES}
    return cfg, data


def dale_abs(w):
    """|W~| with lmrnn's rule at exactly 0 (docs/dale.md): torch.abs's gradient elsewhere; at W~ = 0 the
    one-sided derivative towards W~ > 0 when descent leads there (dL/d|W~| < 0), else 0. Only weights a
    mask search regrew sit at exactly 0; a fresh initialisation has none."""

    class DaleAbs(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.abs()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return torch.where(x == 0, torch.clamp(g, max=0), g * torch.sign(x))

    return DaleAbs.apply(w)


def act_fn(name):
    return {"relu": torch.relu, "softplus": torch.nn.functional.softplus, "tanh": torch.tanh}[name]


def forward_loss(p, mask, x, labels, decision, cfg):
    """docs/model.md §1 and §4, written directly: W_rec ∘ M in the forward pass, h0 = 0."""
    T, B, _ = x.shape
    alpha = float(cfg["alpha"])
    act = act_fn(cfg["act"])
    yang = cfg["rule"] == "yang"
    if "ei" in p:   # Dale's law: W_rec = |W~| D ∘ M, D = diag(ei) by column (presynaptic unit)
        w_rec = dale_abs(p["W_rec"]) * p["ei"] * mask
    else:
        w_rec = p["W_rec"] * mask
    w_out = p["W_out"] * p["exc_cols"] if "exc_cols" in p else p["W_out"]
    h = torch.zeros(B, p["W_rec"].shape[0], dtype=x.dtype)
    hs = []
    for t in range(T):
        s = x[t] @ p["W_in"].T + p["b_in"] + h @ w_rec.T + p["b_rec"]
        if yang:
            h = (1 - alpha) * h + alpha * act(s)
        else:
            h = act((1 - alpha) * h + alpha * s)
        hs.append(h)
    H = torch.stack(hs)                                   # [T][B][N]
    logits = H @ w_out.T + p["b_out"]                     # [T][B][n_out]
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, labels.long().unsqueeze(-1)).squeeze(-1)
    w = torch.where(labels == 0, float(cfg["fix_weight"]), 1.0).to(x.dtype)
    if int(cfg["decision_only"]):
        w = w * decision.to(x.dtype)
    return (w * nll).sum() / w.sum()


def rel(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    nb = np.linalg.norm(b)
    return np.linalg.norm(a - b) / (nb if nb > 0 else 1.0)


def run_torch(cfg, data, dtype):
    p = {n: torch.tensor(data["init"][n], dtype=dtype, requires_grad=True) for n in NAMES}
    consts = {}
    if data["ei"] is not None:   # the optimiser's W~ starts at |W_rec|; signs and readout columns fixed
        p["W_rec"] = torch.tensor(np.abs(data["init"]["W_rec"]), dtype=dtype, requires_grad=True)
        consts["ei"] = torch.tensor(data["ei"], dtype=dtype)
        if int(cfg.get("readout_exc", "0")):
            consts["exc_cols"] = torch.tensor((data["ei"] > 0).astype(np.float64), dtype=dtype)
    fl = lambda: forward_loss({**p, **consts}, mask, x, labels, decision, cfg)
    mask = torch.tensor(data["mask"], dtype=dtype)
    x = torch.tensor(data["x"], dtype=dtype)
    labels = torch.tensor(data["labels"])
    decision = torch.tensor(data["decision"])
    loss = fl()
    loss.backward()
    loss0 = loss.item()
    grads = {n: p[n].grad.detach().numpy().copy() for n in NAMES}
    opt = torch.optim.Adam(list(p.values()), lr=float(cfg["lr"]), betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for _ in range(int(cfg["steps"])):
        opt.zero_grad()
        l = fl()
        l.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), float(cfg["clip"]))
        opt.step()
        losses.append(l.item())
    final = {n: p[n].detach().numpy().copy() for n in NAMES}
    if data["ei"] is not None:   # compare what the network uses: the effective W_rec, the masked readout
        final["W_rec"] = np.abs(final["W_rec"]) * data["ei"][None, :] * data["mask"]
        if "exc_cols" in consts:
            final["W_out"] = final["W_out"] * (data["ei"] > 0)[None, :]
            grads["W_out"] = grads["W_out"] * (data["ei"] > 0)[None, :]
    return loss0, grads, final, losses


def check(dirs):
    import_torch(1)
    ok = True
    for d in dirs:
        cfg, data = read_case(d)
        print(f"== {d}: {cfg['mask']}, {cfg['rule']}/{cfg['act']} alpha {cfg['alpha']}, T {cfg['T']} B {cfg['B']}"
              f" N {cfg['N']}, {'sparse' if int(cfg['sparse']) else 'dense'} path,"
              f" fix_weight {cfg['fix_weight']} decision_only {cfg['decision_only']}")
        res = {dt: run_torch(cfg, data, dt) for dt in (torch.float64, torch.float32)}
        l64, g64, f64, ls64 = res[torch.float64]
        l32, g32, f32, ls32 = res[torch.float32]
        lc = float(cfg["loss0"])
        row = lambda what, c, t64, t32: print(f"  {what:<16} rel err vs torch64 {rel(c, t64):9.2e}   "
                                             f"torch32 vs torch64 {rel(t32, t64):9.2e}")
        print(f"  loss: C {lc:.9f}  torch64 {l64:.9f}  torch32 {l32:.9f}")
        errs = [abs(lc - l64) / abs(l64)]
        row("loss", [lc], [l64], [l32])
        for n in NAMES:
            row("grad " + n, data["grad"][n], g64[n], g32[n])
            errs.append(rel(data["grad"][n], g64[n]))
        row("losses x10", data["losses"], ls64, ls32)
        errs.append(rel(data["losses"], ls64))
        for n in NAMES:
            row("final " + n, data["final"][n], f64[n], f32[n])
            errs.append(rel(data["final"][n], f64[n]))
        outside = np.abs(data["final"]["W_rec"][data["mask"] == 0]).max() if (data["mask"] == 0).any() else 0.0
        print(f"  max |W_rec| outside the mask after the steps: {outside}")
        if data["ei"] is not None:
            w0, fin = data["init"]["W_rec"], data["final"]["W_rec"]
            on = data["mask"] != 0
            flips = int((on & (fin != 0) & (np.sign(fin) != data["ei"][None, :])).sum())
            zeros = int((on & (w0 == 0)).sum())
            print(f"  Dale: {zeros} weights at exactly 0 in the mask at the start, {flips} of the final weights "
                  f"against their unit's sign")
            outside = max(outside, float(flips))
        worst = max(errs)
        passed = worst < 1e-4 and outside == 0
        ok &= passed
        print(f"  worst relative error {worst:.2e}: {'PASS' if passed else 'FAIL'} (criterion < 1e-4)")
    return 0 if ok else 1


# ---------------------------------------------------------------- timing
CONFIGS = [  # name, N, B, mask kind, d or density
    ("N256_B4_full", 256, 4, "full", None),
    ("N256_B4_local2d_d3", 256, 4, "local2d", 3.0),
    ("N256_B4_diag", 256, 4, "diag", None),
    ("N256_B64_full", 256, 64, "full", None),
    ("N256_B64_local2d_d3", 256, 64, "local2d", 3.0),
    ("N1024_B16_full", 1024, 16, "full", None),
    ("N1024_B16_local2d_4pct", 1024, 16, "local2d", 4.0),   # density 0.0397, as lmrnn's nearest to 0.04
]


def local2d_mask(n, d):
    side = int(round(math.sqrt(n)))
    ix = np.arange(n)
    x, y = ix % side, ix // side
    dist = np.sqrt((x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2)
    return (dist < d).astype(np.float32)


def ctrnn_class():
    """Defined once torch is loaded."""

    class CTRNN(torch.nn.Module):
        """The usual way (neurogym's example, the authors' notebook): a Python loop over time, nn.Linear layers,
        the mask applied to the recurrent weight in the forward pass, plain autograd."""

        def __init__(self, n_in, n, n_out, mask, style="hoisted"):
            super().__init__()
            self.style = style
            self.input2h = torch.nn.Linear(n_in, n)
            self.h2h = torch.nn.Linear(n, n)
            self.fc = torch.nn.Linear(n, n_out)
            self.register_buffer("mask", mask)
            with torch.no_grad():
                self.h2h.weight.copy_(0.5 * torch.eye(n) * mask)

        def forward(self, x):
            # The input projection is hoisted out of the loop (one matmul over all steps), as lmrnn does: a
            # fairer, faster baseline than neurogym's per-step input2h call.
            h = torch.zeros(x.shape[1], self.h2h.weight.shape[0])
            w = (self.h2h.weight * self.mask).T
            if self.style == "neurogym":   # neurogym's example: input2h called inside the loop
                out = []
                for t in range(x.shape[0]):
                    h = torch.relu(self.input2h(x[t]) + h @ w + self.h2h.bias)
                    out.append(h)
                return self.fc(torch.stack(out))
            u = (self.input2h(x) + self.h2h.bias).unbind(0)   # unbind: cheap backward, unlike u[t]
            out = []
            for ut in u:
                h = torch.relu(ut + h @ w)
                out.append(h)
            return self.fc(torch.stack(out))

    return CTRNN


def time_config(n, b, kind, param, threads, reps, style, T=350, n_in=115, n_out=17):
    torch.manual_seed(0)
    if kind == "full":
        mask = np.ones((n, n), np.float32)
    elif kind == "diag":
        mask = np.eye(n, dtype=np.float32)
    else:
        mask = local2d_mask(n, param)
    net = ctrnn_class()(n_in, n, n_out, torch.tensor(mask), style)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.zeros(T, b, n_in)
    x[:, :, 0] = 1
    x[:, :, 1:33] = torch.rand(T, b, 32)
    x[:, :, 33 + torch.randint(0, 82, (1,)).item()] = 1
    y = torch.randint(0, n_out, (T, b))
    lossf = torch.nn.CrossEntropyLoss()
    ms, cpu = [], []
    for r in range(reps + 2):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        loss = lossf(net(x).reshape(-1, n_out), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if r >= 2:
            ms.append(1e3 * (time.perf_counter() - t0))
            cpu.append(1e3 * (time.process_time() - c0))
    return float(np.median(ms)), float(np.median(cpu)), float(mask.mean())


def timing(args):
    threads = [int(t) for t in args.threads.split(",")]
    if len(threads) > 1:   # one process per thread count: the thread pools are fixed when torch loads
        rc = 0
        for th in threads:
            cmd = [sys.executable, os.path.abspath(__file__), "time", "--threads", str(th), "--reps", str(args.reps),
                   "--style", args.style] + (["--only", args.only] if args.only else []) + \
                  (["--compare", args.compare] if args.compare else [])
            rc |= subprocess.call(cmd)
        return rc
    import_torch(threads[0])
    c_res = {}
    if args.compare:
        with open(args.compare) as f:
            head = f.readline().rstrip("\n").split("\t")
            for line in f:
                r = dict(zip(head, line.rstrip("\n").split("\t")))
                c_res[(r["config"], int(r["threads"]))] = r
    print(f"# torch {torch.__version__} ({args.style} model), OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"MKL {'on' if torch.backends.mkl.is_available() else 'off'}; median ms per training step")
    print(f"{'config':<24} {'thr':>3} {'density':>8} {'torch_ms':>9} {'lmrnn_ms':>9} {'speedup':>8}"
          f" {'torch_cpu':>9} {'lmrnn_cpu':>9} {'cpu_ratio':>9}")
    for th in threads:
        for name, n, b, kind, param in CONFIGS:
            if args.only and args.only not in name:
                continue
            reps = args.reps if n * b <= 4096 else max(3, args.reps // 3)
            tms, tcpu, dens = time_config(n, b, kind, param, th, reps, args.style)
            c = c_res.get((name, th))
            cm = float(c["ms"]) if c else float("nan")
            cc = float(c["cpu_ms"]) if c else float("nan")
            line = f"{name:<24} {th:>3} {dens:>8.4f} {tms:>9.2f} {cm:>9.3f} {tms / cm:>7.1f}x"
            if th == 1:   # process CPU time (all threads): the step's cost without other processes' time
                line += f" {tcpu:>9.2f} {cc:>9.3f} {tcpu / cc:>8.1f}x"
            print(line, flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("check")
    c.add_argument("dirs", nargs="+")
    t = sub.add_parser("time")
    t.add_argument("--threads", default="1,2")
    t.add_argument("--reps", type=int, default=15)
    t.add_argument("--only", default=None)
    t.add_argument("--compare", default=None)
    t.add_argument("--style", choices=["hoisted", "neurogym"], default="hoisted",
                   help="hoisted: input projection outside the time loop (default, the stronger baseline)")
    a = ap.parse_args()
    return check(a.dirs) if a.mode == "check" else timing(a)


if __name__ == "__main__":
    sys.exit(main())
