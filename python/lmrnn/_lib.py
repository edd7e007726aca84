"""Loading liblmrnn.so and declaring the C API (include/lmrnn.h) for ctypes.

Every C call returns a status; check() turns a failure into an exception carrying the library's
one-line message: LmrnnValueError (also a ValueError) for a bad argument, LmrnnError otherwise.
"""
import ctypes
import ctypes.util
import os
import subprocess
import sys
import warnings

OK, ERR_FAILED, ERR_ARG = 0, -1, -2
OBS, ACTIONS, TMAX, MAX_PERIODS, N_TENSORS = 33, 17, 64, 5, 6
FLOAT32, FLOAT64, INT32, INT64, UINT8, TEXT = range(6)   # lmrnn_array.dtype


class LmrnnError(RuntimeError):
    """Failed work in the library (a missing or corrupt file, an unwritable directory, ...)."""


class LmrnnValueError(LmrnnError, ValueError):
    """A bad argument (unknown task, bad size, wrong buffer shape or dtype, bad option)."""


def _candidates():
    env = os.environ.get("LMRNN_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "liblmrnn.so")
    try:
        from . import _install  # written by `make install-python`
        yield os.path.join(_install.LIBDIR, "liblmrnn.so")
    except ImportError:
        pass
    found = ctypes.util.find_library("lmrnn")
    if found:
        yield found
    for prefix in ("/usr/local/lib", "/usr/lib"):
        yield os.path.join(prefix, "liblmrnn.so")
    yield os.path.join(here, "..", "..", "build", "liblmrnn.so")  # the source tree


def _better_blas_core(path):
    """The OpenBLAS core the `lmrnn` program would name in OPENBLAS_CORETYPE on this CPU (when OpenBLAS
    falls back to a generic one; lmrnn_blas_core), asked of the library in a child process, since
    OpenBLAS reads the variable only when it loads; "" if none."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return ""
    probe = ("import ctypes, sys\n"
             "l = ctypes.CDLL(sys.argv[1]); l.lmrnn_blas_core.restype = ctypes.c_char_p\n"
             "b = ctypes.c_char_p(); l.lmrnn_blas_core(ctypes.byref(b)); print((b.value or b'').decode())\n")
    try:
        out = subprocess.run([sys.executable, "-c", probe, path], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            better = _better_blas_core(path) if os.path.exists(path) else ""
            if better:
                os.environ["OPENBLAS_CORETYPE"] = better
            return ctypes.CDLL(path), path, better
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("lmrnn: cannot find liblmrnn.so (set LMRNN_LIBRARY to its path); tried: " + ", ".join(tried))


lib, path, _better = _load()
# NumPy only now: it loads OpenBLAS too, and OpenBLAS reads OPENBLAS_CORETYPE only then.
import numpy as np  # noqa: E402

c_int, c_int64, c_uint64, c_size_t, c_double = (ctypes.c_int, ctypes.c_int64, ctypes.c_uint64, ctypes.c_size_t,
                                                ctypes.c_double)
c_char_p, c_void_p, P = ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER


class TaskInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 32), ("canonical", ctypes.c_char * 32), ("id", c_int),
                ("family", ctypes.c_char * 8), ("group", ctypes.c_char * 8), ("modifiers", ctypes.c_char * 64),
                ("layout", ctypes.c_char * 160)]


class TrialInfo(ctypes.Structure):
    _fields_ = [("id", c_int), ("modality", c_int), ("len", c_int), ("target", c_int), ("n_periods", c_int),
                ("period_name", (ctypes.c_char * 12) * MAX_PERIODS), ("period_start", c_int * MAX_PERIODS),
                ("period_end", c_int * MAX_PERIODS)]

    def periods(self):
        return {self.period_name[p].value.decode(): (self.period_start[p], self.period_end[p])
                for p in range(self.n_periods)}


class MaskInfo(ctypes.Structure):
    _fields_ = [("n", c_int), ("nnz", c_int64), ("density", c_double), ("param", c_double),
                ("desc", ctypes.c_char * 160)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("n_in", c_int), ("n_hidden", c_int), ("n_out", c_int), ("n_tasks", c_int), ("n_params", c_int64),
                ("step", c_int64), ("seed", c_uint64), ("eval_seed", c_uint64), ("layout", ctypes.c_char * 8),
                ("battery", ctypes.c_char * 256)]


class TrainResult(ctypes.Structure):
    _fields_ = [("reason", ctypes.c_char * 16), ("step", c_int64), ("trials", c_int64), ("wall", c_double),
                ("mean", c_double), ("min", c_double)]


class Array(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("dtype", c_int), ("ndim", c_int), ("shape", c_int64 * 4), ("count", c_size_t),
                ("data", c_void_p)]


def _declare(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_KV = (P(c_char_p), P(c_char_p), c_int)
_declare("lmrnn_last_error", c_char_p)
_declare("lmrnn_version", c_char_p, P(c_int), P(c_int), P(c_int))
_declare("lmrnn_set_threads", c_int, c_int)
_declare("lmrnn_blas_core", c_char_p, P(c_char_p))
_running = lib.lmrnn_blas_core(None).decode()
if _better and _running.lower() != _better.lower():
    warnings.warn("lmrnn: OpenBLAS was loaded before lmrnn and runs its generic %r kernels on this CPU (slower, "
                  "and other bits than the lmrnn program's): import lmrnn before numpy, or set "
                  "OPENBLAS_CORETYPE=%s" % (_running, _better), stacklevel=2)
_declare("lmrnn_battery_count", c_int)
_declare("lmrnn_battery_name", c_char_p, c_int)
_declare("lmrnn_battery_size", c_int, c_char_p, P(c_int))
_declare("lmrnn_battery_task", c_int, c_char_p, c_int, c_char_p, P(TaskInfo))
_declare("lmrnn_fix_parse", c_int, c_char_p, P(ctypes.c_uint))
_declare("lmrnn_trial", c_int, c_char_p, c_uint64, c_int, c_char_p, c_void_p, c_size_t, c_void_p, c_size_t,
         P(TrialInfo))
_declare("lmrnn_stream_create", c_int, P(c_void_p), c_char_p, c_int, c_int, c_uint64, c_char_p)
_declare("lmrnn_stream_free", None, c_void_p)
_declare("lmrnn_stream_shape", c_int, c_void_p, P(c_int), P(c_int), P(c_int))
_declare("lmrnn_stream_next", c_int, c_void_p, c_int, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t)
_declare("lmrnn_stream_rewind", c_int, c_void_p)
_declare("lmrnn_stream_trials", c_int64, c_void_p)
_declare("lmrnn_stream_state_size", c_size_t, c_void_p)
_declare("lmrnn_stream_save_state", c_int, c_void_p, c_void_p, c_size_t)
_declare("lmrnn_stream_load_state", c_int, c_void_p, c_char_p, c_size_t)
_declare("lmrnn_mask_build", c_int, *_KV, c_void_p, c_size_t, P(MaskInfo))
_declare("lmrnn_model_create", c_int, P(c_void_p), *_KV)
_declare("lmrnn_model_load", c_int, P(c_void_p), c_char_p)
_declare("lmrnn_model_free", None, c_void_p)
_declare("lmrnn_model_info_get", c_int, c_void_p, P(ModelInfo))
_declare("lmrnn_model_config_json", c_int, c_void_p, c_void_p, c_size_t, P(c_size_t))
_declare("lmrnn_model_tensor_shape", c_int, c_void_p, c_int, P(c_char_p), P(c_int), P(c_int64 * 2))
_declare("lmrnn_model_get_tensor", c_int, c_void_p, c_int, c_void_p, c_size_t)
_declare("lmrnn_model_set_tensor", c_int, c_void_p, c_int, c_void_p, c_size_t)
_declare("lmrnn_model_mask", c_int, c_void_p, c_void_p, c_size_t)
_declare("lmrnn_model_forward", c_int, c_void_p, c_int, c_int, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p,
         c_size_t)
_declare("lmrnn_model_evaluate", c_int, c_void_p, c_int, P(c_uint64), c_char_p, c_void_p, c_void_p, c_size_t,
         P(c_double))
_declare("lmrnn_model_eval_trial", c_int, c_void_p, c_int, c_int, P(c_uint64), c_void_p, c_size_t, c_void_p,
         c_size_t, P(TrialInfo))
_declare("lmrnn_train", c_int, *_KV, P(TrainResult))
_declare("lmrnn_result_count", c_int, c_void_p)
_declare("lmrnn_result_get", c_int, c_void_p, c_int, P(Array))
_declare("lmrnn_result_free", None, c_void_p)
_declare("lmrnn_analyze", c_int, c_void_p, c_char_p, *_KV, P(c_void_p))
_declare("lmrnn_model_lesion", c_int, c_void_p, c_void_p, c_size_t)
_declare("lmrnn_analyze_lesion", c_int, c_void_p, c_void_p, c_void_p, c_size_t, c_int, *_KV, P(c_void_p))


def check(rc):
    """Raise the library's message when a call failed."""
    if rc == OK:
        return
    msg = lib.lmrnn_last_error().decode(errors="replace")
    raise (LmrnnValueError if rc == ERR_ARG else LmrnnError)(msg)


def text(s, what):
    """A str argument as bytes for C (None stays None)."""
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError("%s must be a str, got %s" % (what, type(s).__name__))
    return s.encode()


def int_arg(v, what, lo=None, hi=None):
    """An integer argument, range-checked before it reaches C (ctypes would wrap it silently)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError("%s must be an int, got %s" % (what, type(v).__name__))
    v = int(v)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise LmrnnValueError("%s must be in %s..%s (got %d)" % (what, lo, hi, v))
    return v


def seed_arg(v, what="seed"):
    return int_arg(v, what, 0, 2**64 - 1)


def options(opts):
    """A dict of options -> the (keys, values, n) triple of the C API; booleans as true/false."""
    keys, values = [], []
    for k, v in opts.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            v = ",".join(str(x) for x in v)
        keys.append(str(k).encode())
        values.append(str(v).encode())
    n = len(keys)
    return (c_char_p * max(n, 1))(*keys), (c_char_p * max(n, 1))(*values), n


def buffer(a, dtype, shape, what):
    """Check that `a` is an array of exactly `dtype` and `shape`; return it C-contiguous."""
    if not isinstance(a, np.ndarray):
        raise TypeError("%s must be a numpy array, got %s" % (what, type(a).__name__))
    if a.dtype != dtype:
        raise TypeError("%s must have dtype %s, got %s (convert with .astype(np.%s))"
                        % (what, np.dtype(dtype).name, a.dtype, np.dtype(dtype).name))
    if tuple(a.shape) != tuple(shape):
        raise LmrnnValueError("%s must have shape %s, got %s" % (what, tuple(shape), tuple(a.shape)))
    return np.ascontiguousarray(a)


def ptr(a):
    return a.ctypes.data
