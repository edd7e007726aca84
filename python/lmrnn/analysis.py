"""The analyses of `lmrnn analyze` on a Model (docs/analysis.md), as dicts of NumPy arrays.

    m = lmrnn.load_run("runs/x").model
    fp = lmrnn.analysis.fixed_points(m, "dlygo", "delay", inits=256)   # fp["points"], fp["eig_re"], ...
    v = lmrnn.analysis.variance(m, trials=64)                           # v["task_variance"], v["labels"]
    les = lmrnn.analysis.lesion(m, clusters=v)                          # les["change"] [clusters, tasks]
    s = lmrnn.analysis.summary(m)                                       # s["participation_ratio"], ...
    st = lmrnn.analysis.states(m, tasks="dlygo,dms", trials=16)         # st["h"] [K, T, N]

Keys, dtypes and shapes are those of the .npz files `lmrnn analyze` writes (scalars as Python numbers,
strings as str); options are the subcommand's (`lmrnn analyze SUB --help`), '-' or '_'. Every trial is a
held-out evaluation trial, run without recurrent noise; seed=None is the run's held-out seed.
"""
import ctypes

import numpy as np

from . import _lib
from ._lib import lib, check, text

_DTYPES = {_lib.FLOAT32: np.float32, _lib.FLOAT64: np.float64, _lib.INT32: np.int32, _lib.INT64: np.int64,
           _lib.UINT8: np.uint8}


def _take(handle):
    """The arrays of a result handle as a dict (copied), then the handle freed."""
    out = {}
    try:
        a = _lib.Array()
        for i in range(lib.lmrnn_result_count(handle)):
            check(lib.lmrnn_result_get(handle, i, ctypes.byref(a)))
            name = a.name.decode()
            if a.dtype == _lib.TEXT:
                out[name] = ctypes.string_at(a.data, a.count).decode()
                continue
            dt = np.dtype(_DTYPES[a.dtype])
            raw = (ctypes.c_char * (a.count * dt.itemsize)).from_address(a.data) if a.count else b""
            v = np.frombuffer(raw, dt).reshape(tuple(a.shape[:a.ndim])).copy()
            out[name] = v.item() if a.ndim == 0 else v
    finally:
        lib.lmrnn_result_free(handle)
    return out


def _model_handle(model):
    from .model import Model
    if not isinstance(model, Model):
        raise TypeError("model must be an lmrnn.Model (lmrnn.load_run(dir).model), got %s" % type(model).__name__)
    return model._h


def _run(model, analysis, options):
    h = ctypes.c_void_p()
    check(lib.lmrnn_analyze(_model_handle(model), analysis.encode(), *_lib.options(options), ctypes.byref(h)))
    return _take(h)


def states(model, tasks=None, trials=None, seed=None):
    """Hidden-state trajectories: h float32 [K, T, N], inputs, outputs, labels, lengths, task, modality,
    period_bounds [K, 8, 2], ... (K = tasks x trials; trials default 16)."""
    return _run(model, "states", dict(tasks=tasks, trials=trials, seed=seed))


def fixed_points(model, task, period, **options):
    """Fixed and slow points of the network for the constant input of `task`'s `period`: points float64
    [P, N], q [P], eig_re / eig_im [P, N], stable uint8 [P], input float64 [n_in], inits, ...
    Options: trials, seed, input_trial, inits (1024), noise (0.5), lr, lr_decay, patience, max_iters,
    tol_q, tol_dq, tol_unique, outlier."""
    return _run(model, "fixedpoints", dict(options, task=task, period=period))


def variance(model, **options):
    """Task variance and clusters: task_variance float64 [N, n_tasks], active, units, labels (cluster of
    each active unit), silhouette per k in k_values, cluster_task, ftv, ... Options: tasks, trials (64),
    seed, method (kmeans|ward), kmin, kmax, restarts, active, pairs."""
    return _run(model, "variance", options)


def summary(model, **options):
    """Participation ratio, dormant ratios (tau 0, 0.025), effective and stable rank, weight change from
    initialisation (W_rec, W_in, W_out), spectra and |w| against distance. Options: tasks, trials (16), seed."""
    return _run(model, "summary", options)


def _int32_vector(v, what):
    a = np.asarray(v)
    if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
        raise TypeError("%s must be a 1-D sequence of integers, got %s %s" % (what, a.dtype, a.shape))
    return np.ascontiguousarray(a, np.int32)


def lesion(model, units=None, clusters=None, trials=None, seed=None):
    """Per-task performance with units lesioned (their outgoing weights zeroed), the model restored
    afterwards: `units` (one group) or `clusters` (a variance() result: each cluster a group).
    Returns intact float64 [n_tasks], change [groups, n_tasks], mean_change [groups], group_units, task_names."""
    if (units is None) == (clusters is None):
        raise _lib.LmrnnValueError("lesion: give one of units= or clusters=")
    if clusters is not None:
        u = _int32_vector(clusters["units"], "clusters['units']")
        g = _int32_vector(clusters["labels"], "clusters['labels']")
        if g.shape != u.shape:
            raise _lib.LmrnnValueError("lesion: clusters['labels'] must have the shape of clusters['units']")
        n_groups = len(clusters["cluster_task"])
        gp = g.ctypes.data
    else:
        u = _int32_vector(units, "units")
        n_groups, gp, g = 1, None, None
    h = ctypes.c_void_p()
    check(lib.lmrnn_analyze_lesion(_model_handle(model), u.ctypes.data, gp, u.size, n_groups,
                                   *_lib.options(dict(trials=trials, seed=seed)), ctypes.byref(h)))
    return _take(h)
