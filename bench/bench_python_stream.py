"""Throughput of the Python stream (lmrnn.Stream) against the C stream (build/bench/bench_stream) at the
paper's configuration: modcog82, B = 4, T = 350, faithful and with every correction, 1 thread.

    make bench lib && /usr/bin/python3 bench/bench_python_stream.py [--reps 200] [--rounds 3]

Both sides read `reps` windows after 5 warm-up windows (seed 1, the same windows) and report the mean
CPU time of the process per window (so that other processes on a shared machine do not count), which
includes the stream's cache refills every few windows (the throughput a training
loop sees; the target compares these), and the median window (a copy out of the cache, where a fixed
per-call cost weighs most). Rounds alternate C and Python because the machine is shared; the summary
takes the median over rounds."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("LMRNN_LIBRARY", os.path.join(ROOT, "build", "liblmrnn.so"))
import lmrnn  # noqa: E402


def c_stream_ms(reps):
    out = subprocess.run([os.path.join(ROOT, "build", "bench", "bench_stream"), "--threads", "1", "--reps", str(reps),
                          "--no-train"],
                         check=True, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1")).stdout
    ms = {}
    for line in out.splitlines():
        m = re.match(r"^4\s+(faithful|all)\s+([0-9.]+)\s.*\s([0-9.]+)\s+([0-9.]+)$", line)
        if m:
            ms[m.group(1)] = (float(m.group(4)), float(m.group(2)))   # mean CPU, median wall
    return ms


def python_stream_ms(fixes, reps, count=None):
    s = lmrnn.Stream("modcog82", batch=4, window=350, seed=1, fixes=fixes)
    for _ in range(5):
        s.next()
    per = []
    t_all = time.process_time()
    for _ in range(reps):
        t0 = time.perf_counter()
        s.next(count)
        per.append(1e3 * (time.perf_counter() - t0) / (count or 1))
    mean = 1e3 * (time.process_time() - t_all) / (reps * (count or 1))
    return mean, statistics.median(per)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    lmrnn.set_threads(1)
    rows = {"faithful": [], "all": []}
    for r in range(a.rounds):
        c = c_stream_ms(a.reps)
        for fix in rows:
            p_mean, p_med = python_stream_ms(None if fix == "faithful" else "all", a.reps)
            p10_mean, _ = python_stream_ms(None if fix == "faithful" else "all", max(1, a.reps // 10), count=10)
            rows[fix].append((c[fix][0], p_mean, c[fix][1], p_med, p10_mean))
            print("round %d %-8s CPU mean C %.4f  Python %.4f  next(count=10) %.4f ms/window (Py/C %.3f); "
                  "median C %.4f  Python %.4f" % (r + 1, fix, c[fix][0], p_mean, p10_mean, p_mean / c[fix][0],
                                                  c[fix][1], p_med))
    print("\nmodcog82, B = 4, T = 350, 1 thread, %d windows per round, median over %d rounds" % (a.reps, a.rounds))
    print("%-9s %10s %10s %8s %12s %12s %12s" % ("fix", "C mean", "Py mean", "Py / C", "Py windows/s",
                                                 "C median", "Py median"))
    for fix, v in rows.items():
        med = [statistics.median(x[k] for x in v) for k in range(5)]
        print("%-9s %10.4f %10.4f %8.3f %12.0f %12.4f %12.4f" % (fix, med[0], med[1], med[1] / med[0], 1e3 / med[1],
                                                                  med[2], med[3]))
    print("(ms per window; mean = CPU time, median = wall time) target: Python within 10 % of C (Py / C <= 1.10)")


if __name__ == "__main__":
    main()
