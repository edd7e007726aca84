"""Training a run: lmrnn.train(out="runs/x", battery="yang20", steps=2000, ...) trains exactly as
`lmrnn train` with the same options (config.json, log.jsonl, checkpoint.npz, eval.json in `out`), without
printing. resume=True continues the run in `out` (then only schedule options such as steps may change)."""
import ctypes

from . import _lib
from ._lib import lib, check


def train(**options):
    """Returns {"reason", "step", "trials", "wall", "mean", "min", "out"}; raises on a bad option or a
    failed run (the message says which)."""
    if options.get("resume") is True:
        if "out" not in options:
            raise _lib.LmrnnValueError("resume=True needs out=DIR")
        options = dict(options)
        options["resume"] = options.pop("out")
    elif options.get("resume") is False:
        options = dict(options)
        del options["resume"]
    res = _lib.TrainResult()
    check(lib.lmrnn_train(*_lib.options(options), ctypes.byref(res)))
    return {"reason": res.reason.decode(), "step": res.step, "trials": res.trials, "wall": res.wall,
            "mean": res.mean, "min": res.min, "out": options.get("out", options.get("resume"))}
