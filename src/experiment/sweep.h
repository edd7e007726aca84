/* User-defined sweeps: a plan document (JSON, docs/sweeps.md) expanded into the runs of an LmExpPlan.
 *
 * A plan names a base option set (any `lmrnn train` option), axes over options — `grid` keys form a
 * cartesian product, each `zip` group varies its keys together — seeds, and the measures its report
 * shows. Every value is validated through the train options table when the plan is expanded, and an
 * error names the plan key ("plan.json: grid.lr[2]: ..."). The built-in experiments are plans of this
 * kind (experiment/builtin.c). */
#ifndef LMRNN_EXP_SWEEP_H
#define LMRNN_EXP_SWEEP_H
#include <cjson/cJSON.h>
#include "experiment/plan.h"

/* Command-line overrides of a plan: 0 keeps the plan's value. */
typedef struct {
    int seeds;      /* seeds 1..seeds */
    long steps;     /* optimiser steps of every run */
} LmSweepOverrides;

/* Expand a plan document; `what` names its source in messages. 0, or -1 with lm_err_set(). */
int lm_sweep_expand(const cJSON *doc, const char *what, const LmSweepOverrides *ov, LmExpPlan *out);
/* lm_sweep_expand of a plan file. */
int lm_sweep_load(const char *path, const LmSweepOverrides *ov, LmExpPlan *out);

/* Measure names ("final", "auc", "steps_to_0.8", "trials_to_0.5", "wall_to_0.9", "groups", "all"). */
int lm_measure_parse(const char *name, unsigned *bits);   /* 0 or -1 + lm_err_set */

/* The value of axis `a` for run r: its keys' values joined by ", " ("-" where a key is unset). */
void lm_exp_axis_value(const LmExpAxis *a, const LmExpRun *r, char *out, size_t n);

#endif
