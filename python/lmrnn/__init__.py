"""lmrnn: seeded Mod-Cog / 20-Cog task streams and connectivity-constrained RNNs, over liblmrnn.

    import lmrnn
    lmrnn.tasks.names("yang20"); lmrnn.tasks.trial("dmsintl", seed=3)
    for inputs, labels in lmrnn.Stream("modcog82", batch=4, window=350, seed=0): ...
    lmrnn.train(out="runs/x", battery="yang20", steps=2000)
    run = lmrnn.load_run("runs/x"); hidden, logits = run.model.forward(inputs)
    lmrnn.analysis.fixed_points(run.model, "dlygo", "delay"); lmrnn.analysis.variance(run.model)

Errors from the library arrive as LmrnnError (LmrnnValueError, also a ValueError, for bad arguments)
with the library's message. See docs/api.md.
"""
from . import _lib  # first: it names OpenBLAS's kernels before NumPy loads OpenBLAS
from . import analysis, tasks
from ._lib import LmrnnError, LmrnnValueError, lib as _clib
from .model import Model, build_mask
from .run import Run, load_run
from .stream import Stream
from .train import train

__version__ = _clib.lmrnn_version(None, None, None).decode()


def set_threads(n):
    """Threads of the forward, training and evaluation team (results are bit-identical for a fixed count)."""
    from ._lib import check, int_arg
    check(_clib.lmrnn_set_threads(int_arg(n, "threads", 1, 1024)))


def blas_core():
    """The OpenBLAS core (kernels) this process runs: the same as the `lmrnn` program's, config.json's
    derived.blas_core, unless OpenBLAS was loaded before lmrnn (docs/performance.md)."""
    return _clib.lmrnn_blas_core(None).decode()


__all__ = ["analysis", "tasks", "Stream", "Model", "build_mask", "Run", "load_run", "train", "set_threads",
           "blas_core", "LmrnnError", "LmrnnValueError"]
