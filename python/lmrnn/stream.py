"""The training stream, as an iterator of (inputs, labels) windows like neurogym's Dataset.

    stream = lmrnn.Stream("modcog82", batch=4, window=350, seed=0)
    for step, (inputs, labels) in zip(range(1000), stream):
        ...   # inputs float32 [window, batch, 33 + n_tasks], labels int32 [window, batch], time-major

The windows are bit-identical to `lmrnn tasks batch` and to the stream `lmrnn train` trains on with the
same seed. Each window is generated in C straight into new NumPy arrays (no per-step Python work).
"""
import ctypes

import numpy as np

from . import _lib
from ._lib import lib, check, text


class Stream:
    def __init__(self, battery="modcog82", batch=4, window=350, seed=0, fixes=None, decision=False):
        """battery: yang20, modcog82, modcog126 or task names separated by commas; fixes: the quirk
        corrections ("all", "Q1,Q9", ...; None = faithful to the reference); decision=True makes every
        window a triple (inputs, labels, decision uint8 [T, B], 1 in a decision period)."""
        self._h = None
        h = ctypes.c_void_p()
        check(lib.lmrnn_stream_create(ctypes.byref(h), text(battery, "battery"),
                                      _lib.int_arg(batch, "batch", 1, 65536), _lib.int_arg(window, "window", 1, 10**7),
                                      _lib.seed_arg(seed), text(fixes, "fixes")))
        self._h = h
        self.battery, self.batch, self.window, self.seed, self.fixes = battery, batch, window, seed, fixes
        self.decision = decision
        n_in = ctypes.c_int()
        check(lib.lmrnn_stream_shape(h, None, None, ctypes.byref(n_in)))
        self.n_inputs = n_in.value

    def __del__(self):
        if getattr(self, "_h", None):
            lib.lmrnn_stream_free(self._h)
            self._h = None

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def __call__(self):
        """neurogym's Dataset is called for the next batch: dataset() -> (inputs, target)."""
        return self.next()

    def next(self, count=None):
        """The next window, or the next `count` windows stacked on a leading axis (one C call)."""
        lead = () if count is None else (_lib.int_arg(count, "count", 1, 2**31 - 1),)
        c = 1 if count is None else lead[0]
        T, B = self.window, self.batch
        x = np.empty(lead + (T, B, self.n_inputs), np.float32)
        y = np.empty(lead + (T, B), np.int32)
        d = np.empty(lead + (T, B), np.uint8) if self.decision else None
        check(lib.lmrnn_stream_next(self._h, c, x.ctypes.data, x.size, y.ctypes.data, y.size,
                                    None if d is None else d.ctypes.data, 0 if d is None else d.size))
        return (x, y, d) if self.decision else (x, y)

    def rewind(self):
        """Back to the first window."""
        check(lib.lmrnn_stream_rewind(self._h))

    @property
    def trials(self):
        """Trials started so far, summed over rows."""
        return int(lib.lmrnn_stream_trials(self._h))

    def state(self):
        """The complete stream state as bytes (set_state continues from it exactly)."""
        n = lib.lmrnn_stream_state_size(self._h)
        buf = ctypes.create_string_buffer(n)
        check(lib.lmrnn_stream_save_state(self._h, ctypes.addressof(buf), n))
        return buf.raw

    def set_state(self, state):
        if not isinstance(state, (bytes, bytearray)):
            raise TypeError("stream state must be bytes, got %s" % type(state).__name__)
        state = bytes(state)
        check(lib.lmrnn_stream_load_state(self._h, state, len(state)))

    def __repr__(self):
        return "Stream(%r, batch=%d, window=%d, seed=%d, fixes=%r)" % (self.battery, self.batch, self.window,
                                                                         self.seed, self.fixes)
