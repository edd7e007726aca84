"""The task batteries and single trials.

    lmrnn.tasks.batteries()             -> ['yang20', 'modcog82', 'modcog126']
    lmrnn.tasks.names('yang20')         -> ['go', 'rtgo', ...]  (position = rule input column 33 + k)
    lmrnn.tasks.info('modcog82')        -> one dict per task (family, group, modifiers, period layout)
    lmrnn.tasks.trial('dmsintl', seed)  -> Trial(ob float32 [len, 33], gt int32 [len], periods, ...)
"""
import ctypes
from dataclasses import dataclass

import numpy as np

from . import _lib
from ._lib import lib, check, text

OBS, ACTIONS, TMAX = _lib.OBS, _lib.ACTIONS, _lib.TMAX


def batteries():
    """The named batteries."""
    return [lib.lmrnn_battery_name(i).decode() for i in range(lib.lmrnn_battery_count())]


def size(battery="modcog82"):
    """Number of tasks (rule inputs) of a battery: a named one or task names separated by commas."""
    n = ctypes.c_int()
    check(lib.lmrnn_battery_size(text(battery, "battery"), ctypes.byref(n)))
    return n.value


def n_inputs(battery="modcog82"):
    """Input width of a network on this battery: 33 observation columns + one rule column per task."""
    return OBS + size(battery)


def info(battery="modcog82", fix=None):
    """One dict per task: name, canonical, id, family, group, modifiers, layout (periods in steps)."""
    out, ti = [], _lib.TaskInfo()
    b, f = text(battery, "battery"), text(fix, "fix")
    for pos in range(size(battery)):
        check(lib.lmrnn_battery_task(b, pos, f, ctypes.byref(ti)))
        out.append({k: (getattr(ti, k).decode() if isinstance(getattr(ti, k), bytes) else getattr(ti, k))
                    for k, _ in _lib.TaskInfo._fields_})
    return out


def names(battery="modcog82"):
    """Task names in battery order (the rule one-hot order)."""
    return [t["name"] for t in info(battery)]


@dataclass
class Trial:
    """One trial: ob float32 [len, 33] (fixation, ring 1, ring 2), gt int32 [len] (0 fixate, k+1 respond
    at ring direction k), modality (0/1, -1 for DM tasks), target direction (-1 on no-go trials) and the
    periods {name: (start, end)} in steps (end exclusive)."""
    name: str
    ob: np.ndarray
    gt: np.ndarray
    modality: int
    target: int
    periods: dict

    def __iter__(self):   # ob, gt = trial(...)
        return iter((self.ob, self.gt))


def trial(name, seed=0, index=0, fix=None):
    """Trial `index` of task `name` under `seed`: row `index` of what `lmrnn tasks dump --seed S` writes."""
    ob = np.zeros((TMAX, OBS), np.float32)
    gt = np.zeros(TMAX, np.int32)
    ti = _lib.TrialInfo()
    check(lib.lmrnn_trial(text(name, "task name"), _lib.seed_arg(seed), _lib.int_arg(index, "index", 0, 2**31 - 1),
                          text(fix, "fix"), ob.ctypes.data, ob.size, gt.ctypes.data, gt.size, ctypes.byref(ti)))
    n = ti.len
    return Trial(name, ob[:n].copy(), gt[:n].copy(), ti.modality, ti.target, ti.periods())
