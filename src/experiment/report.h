/* The aggregate of an experiment: DIR/report/summary.md (Markdown tables), DIR/report/runs.csv (one row
 * per run) and figures DIR/report/<name>.png + .svg. */
#ifndef LMRNN_EXP_REPORT_H
#define LMRNN_EXP_REPORT_H
#include <stdio.h>
#include "experiment/results.h"

/* Write the whole report of the experiment in DIR (DIR/plan.json and DIR/runs/). Runs without results
 * are listed as missing, not an error. If `list` is non-NULL, the files written are listed there.
 * 0, or -1 with lm_err_set(). */
int lm_exp_report(const char *dir, FILE *list);

/* "0.812 ± 0.031" style text of a statistic over `of` seeds ("n/of reached" when some lack a value);
 * "—" when no seed has a value. `digits` decimals; `integer` prints rounded whole numbers. */
void lm_stat_format(const LmStat *s, int of, int digits, char *out, size_t n);

#endif
