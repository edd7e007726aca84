/* `lmrnn eval` as a library call: a run's network evaluated on held-out trials, the table printed and
 * written as eval.json / eval.csv (docs/run-directory.md), driven by its options table. */
#ifndef LMRNN_REPORT_EVALUATE_RUN_H
#define LMRNN_REPORT_EVALUATE_RUN_H
#include <stdint.h>
#include <stdio.h>
#include "eval/eval.h"
#include "util/options.h"

typedef struct {
    const char *battery;   /* tasks to evaluate (NULL = the training battery) */
    const char *out;       /* where to write eval.json/eval.csv (NULL = the checkpoint's directory) */
    int trials, threads, noise, overwrite;
    LmMetric metric;
    uint64_t seed;
    int have_seed;         /* seed given (else the run's held-out evaluation seed) */
} LmEvalOptions;

/* The options of `lmrnn eval` (battery, trials, metric, seed, noise, threads, out, overwrite). */
const LmOptTable *lm_eval_options_table(void);
void lm_eval_options_default(LmEvalOptions *o);

/* Evaluate the run in path (a run directory or a checkpoint) as `lmrnn eval`: the table on `report`
 * (may be NULL), eval.json and eval.csv into o->out or the run's directory — a task subset or another
 * metric than the run's replaces the run's own eval.json only with o->overwrite. Returns 0, -1 for failed
 * work (a bad run directory, I/O) or -2 for a bad option (a task outside the training battery), with
 * lm_err_set. Sets no threads (the caller's lm_set_threads). */
int lm_eval_run(const char *path, const LmEvalOptions *o, FILE *report);

#endif
