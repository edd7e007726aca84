/* Figures of a run directory (docs/run-directory.md, plots/): loss and performance curves from
 * log.jsonl, per-task bars from eval.json, the mask and the learned recurrent weights (on the sheet for
 * local2d), and example trials with the network's outputs. */
#ifndef LMRNN_FIGURES_H
#define LMRNN_FIGURES_H
#include "util/options.h"

typedef struct {
    const char *tasks;     /* comma-separated tasks for trial_<task> figures; NULL = a default choice
                              (one go, one dm, one match task, plus an int and a seq one if present) */
    const char *formats;   /* comma-separated subset of png,svg,pdf; NULL = "png,svg" */
    int eval_trials;       /* trials per task when eval.json is missing (0 = 100) */
    int quiet;             /* do not list the files written */
    int threads;           /* for the caller's lm_set_threads (the `lmrnn plot --threads` option) */
} LmPlotOptions;

/* The options of `lmrnn plot` (tasks, format, eval_trials, threads): the values are checked as they are
 * set (unknown formats, task names). */
const LmOptTable *lm_plot_options_table(void);
void lm_plot_options_default(LmPlotOptions *o);   /* the table's defaults */

/* Write DIR/plots/{loss,perf,tasks,mask,weights,trial_<task>}.<fmt>. loss/perf are skipped (with a
 * note on stderr) when DIR has no log.jsonl records to plot. 0, or -1 with lm_err_set(). */
int lm_plot_run(const char *dir, const LmPlotOptions *opt);

#endif
