"""A run directory read back: configuration, weights, mask, log and evaluation (docs/run-directory.md).

    run = lmrnn.load_run("runs/lm3")
    run.config["hidden"], run.weights["W_rec"], run.mask, run.log[-1], run.eval["mean"], run.model
"""
import json
import os
from dataclasses import dataclass, field

import numpy as np

from ._lib import LmrnnError
from .model import Model


@dataclass
class Run:
    dir: str
    model: Model
    config: dict
    weights: dict
    mask: np.ndarray
    log: list = field(default_factory=list)
    eval: dict = None

    @property
    def step(self):
        return self.model.step


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise LmrnnError("%s: %s" % (path, e)) from None


def _read_log(path):
    """The records of log.jsonl; a last line cut by a crash is dropped (as the library does)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise LmrnnError("%s: %s" % (path, e)) from None
    records = []
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as e:
            if k == len(lines) - 1:
                break
            raise LmrnnError("%s:%d: %s" % (path, k + 1, e)) from None
    return records


def load_run(path):
    """The run in directory `path`. The network is loaded and validated by the library (LmrnnError with
    the problem otherwise); config is the directory's config.json, log its log.jsonl records (list of
    dicts, [] if absent), eval its eval.json (None if absent)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise LmrnnError("%s: not a run directory" % path)
    model = Model.load(path)
    cfg_path = os.path.join(path, "config.json")
    config = _read_json(cfg_path) if os.path.exists(cfg_path) else model.config
    log_path = os.path.join(path, "log.jsonl")
    log = _read_log(log_path) if os.path.exists(log_path) else []
    eval_path = os.path.join(path, "eval.json")
    ev = _read_json(eval_path) if os.path.exists(eval_path) else None
    return Run(path, model, config, model.weights(), model.mask(), log, ev)
