"""Networks: new ones from the options of `lmrnn train`, or a run's trained network.

    m = lmrnn.Model(battery="yang20", hidden=64, mask="local2d", d=2, seed=1)   # step 0 of that run
    m = lmrnn.Model.load("runs/lm3")                                          # a run's weights
    hidden, logits = m.forward(inputs)   # inputs float32 [T, B, n_in] -> [T, B, N], [T, B, 17]
"""
import ctypes
import json

import numpy as np

from . import _lib
from ._lib import lib, check, text

TENSORS = ("W_in", "b_in", "W_rec", "b_rec", "W_out", "b_out")


def build_mask(**options):
    """The recurrent mask the options of `lmrnn train` describe (hidden, mask, d, density, grid, periodic,
    match_density_of, mask_file, seed): (uint8 [N, N], {"n", "nnz", "density", "param", "desc"})."""
    kv = _lib.options(options)
    info = _lib.MaskInfo()
    check(lib.lmrnn_mask_build(*kv, None, 0, ctypes.byref(info)))
    m = np.empty((info.n, info.n), np.uint8)
    check(lib.lmrnn_mask_build(*kv, m.ctypes.data, m.size, ctypes.byref(info)))
    return m, {"n": info.n, "nnz": info.nnz, "density": info.density, "param": info.param,
               "desc": info.desc.decode()}


class Model:
    def __init__(self, **options):
        """A new network, exactly as step 0 of `lmrnn train` with these options (same mask and initial
        weights); option names as in `lmrnn train --help`, '-' or '_'."""
        self._h = None
        h = ctypes.c_void_p()
        if options.pop("_load", None) is not None:
            raise TypeError("use Model.load(path)")
        check(lib.lmrnn_model_create(ctypes.byref(h), *_lib.options(options)))
        self._adopt(h)

    @classmethod
    def load(cls, path):
        """The network of a run directory (its checkpoint.npz) or of a checkpoint file, validated."""
        m = cls.__new__(cls)
        m._h = None
        h = ctypes.c_void_p()
        check(lib.lmrnn_model_load(ctypes.byref(h), text(str(path), "run directory")))
        m._adopt(h)
        return m

    def _adopt(self, h):
        self._h = h
        info = _lib.ModelInfo()
        check(lib.lmrnn_model_info_get(h, ctypes.byref(info)))
        self.n_inputs, self.n_hidden, self.n_outputs = info.n_in, info.n_hidden, info.n_out
        self.n_tasks, self.n_params, self.step = info.n_tasks, info.n_params, info.step
        self.seed, self.eval_seed = info.seed, info.eval_seed
        self.layout, self.battery = info.layout.decode(), info.battery.decode()

    def __del__(self):
        if getattr(self, "_h", None):
            lib.lmrnn_model_free(self._h)
            self._h = None

    @property
    def config(self):
        """The run's configuration as config.json has it (options, derived values, version)."""
        need = ctypes.c_size_t()
        check(lib.lmrnn_model_config_json(self._h, None, 0, ctypes.byref(need)))
        buf = ctypes.create_string_buffer(need.value)
        check(lib.lmrnn_model_config_json(self._h, ctypes.addressof(buf), need.value, None))
        return json.loads(buf.value.decode())

    def _shape(self, i):
        name, nd, shape = ctypes.c_char_p(), ctypes.c_int(), (ctypes.c_int64 * 2)()
        check(lib.lmrnn_model_tensor_shape(self._h, i, ctypes.byref(name), ctypes.byref(nd), ctypes.byref(shape)))
        return name.value.decode(), tuple(shape[:nd.value])

    def weights(self):
        """{name: float32 array}: W_in [N, n_in], b_in [N], W_rec [N, N] (zeros outside the mask), b_rec [N],
        W_out [17, N], b_out [17] (PyTorch nn.Linear layout)."""
        out = {}
        for i in range(_lib.N_TENSORS):
            name, shape = self._shape(i)
            a = np.empty(shape, np.float32)
            check(lib.lmrnn_model_get_tensor(self._h, i, a.ctypes.data, a.size))
            out[name] = a
        return out

    def set_weights(self, weights):
        """Set any of the named tensors (float32, same shapes as weights(); W_rec zero outside the mask)."""
        for name, value in weights.items():
            if name not in TENSORS:
                raise _lib.LmrnnValueError("unknown tensor '%s' (expected one of: %s)" % (name, ", ".join(TENSORS)))
            i = TENSORS.index(name)
            a = _lib.buffer(value, np.float32, self._shape(i)[1], name)
            check(lib.lmrnn_model_set_tensor(self._h, i, a.ctypes.data, a.size))

    def mask(self):
        """The recurrent mask, uint8 [N, N] (row = post-synaptic unit, 1 = connection allowed)."""
        m = np.empty((self.n_hidden, self.n_hidden), np.uint8)
        check(lib.lmrnn_model_mask(self._h, m.ctypes.data, m.size))
        return m

    def forward(self, inputs):
        """Run from h = 0 over inputs float32 [T, B, n_in] (or [T, n_in] for one trial); no recurrent noise.
        Returns (hidden [T, B, N], logits [T, B, 17]) (without the B axis for 2-D inputs)."""
        if not isinstance(inputs, np.ndarray):
            raise TypeError("inputs must be a numpy array, got %s" % type(inputs).__name__)
        squeeze = inputs.ndim == 2
        x = inputs[:, None, :] if squeeze else inputs
        if x.ndim != 3:
            raise _lib.LmrnnValueError("inputs must be [T, B, %d] (or [T, %d]), got shape %s"
                                       % (self.n_inputs, self.n_inputs, inputs.shape))
        T, B = x.shape[0], x.shape[1]
        x = _lib.buffer(x, np.float32, (T, B, self.n_inputs), "inputs")
        if T < 1 or B < 1:
            raise _lib.LmrnnValueError("inputs must have at least one step and one row, got shape %s" % (inputs.shape,))
        h = np.empty((T, B, self.n_hidden), np.float32)
        y = np.empty((T, B, self.n_outputs), np.float32)
        check(lib.lmrnn_model_forward(self._h, _lib.int_arg(T, "T", 1, 2**31 - 1), _lib.int_arg(B, "B", 1, 2**31 - 1),
                                      x.ctypes.data, x.size, h.ctypes.data, h.size, y.ctypes.data, y.size))
        return (h[:, 0], y[:, 0]) if squeeze else (h, y)

    def evaluate(self, trials=200, seed=None, metric=None):
        """Held-out evaluation as `lmrnn eval`: {"mean": m, "tasks": {name: perf}, "correct": {name: k}}.
        seed None = the run's held-out evaluation seed; metric None = last_step."""
        from .tasks import names
        n = self.n_tasks
        perf, correct, mean = np.empty(n), np.empty(n, np.int32), ctypes.c_double()
        sp = None if seed is None else ctypes.byref(ctypes.c_uint64(_lib.seed_arg(seed)))
        check(lib.lmrnn_model_evaluate(self._h, _lib.int_arg(trials, "trials", 1, 10**6), sp, text(metric, "metric"),
                                       perf.ctypes.data, correct.ctypes.data, n, ctypes.byref(mean)))
        tn = names(self.battery)
        return {"mean": mean.value, "tasks": dict(zip(tn, perf.tolist())), "correct": dict(zip(tn, correct.tolist()))}

    def eval_trial(self, pos, i, seed=None):
        """Evaluation trial i of the task at rule position pos, as evaluate() draws it:
        (inputs float32 [len, n_in] with the rule one-hot, gt int32 [len])."""
        x = np.empty((_lib.TMAX, self.n_inputs), np.float32)
        gt = np.empty(_lib.TMAX, np.int32)
        ti = _lib.TrialInfo()
        sp = None if seed is None else ctypes.byref(ctypes.c_uint64(_lib.seed_arg(seed)))
        check(lib.lmrnn_model_eval_trial(self._h, _lib.int_arg(pos, "pos", 0, 2**31 - 1), _lib.int_arg(i, "i", 0, 2**31 - 1),
                                         sp, x.ctypes.data, x.size, gt.ctypes.data, gt.size, ctypes.byref(ti)))
        return x[:ti.len].copy(), gt[:ti.len].copy()

    def lesion(self, units):
        """Zero the outgoing weights (columns of W_rec and W_out) of `units` for good
        (lmrnn.analysis.lesion measures a lesion and restores the network)."""
        from .analysis import _int32_vector
        u = _int32_vector(units, "units")
        check(lib.lmrnn_model_lesion(self._h, u.ctypes.data, u.size))

    def __repr__(self):
        return "Model(%s, n_in=%d, N=%d, step=%d, %s)" % (self.battery, self.n_inputs, self.n_hidden, self.step,
                                                         self.layout)
