/* `lmrnn analyze SUB` as a library call: the analyses of analysis/analyze.h on a loaded run, written as
 * the files and figures docs/analysis.md describes (the C API returns the same arrays instead). */
#ifndef LMRNN_REPORT_ANALYZE_RUN_H
#define LMRNN_REPORT_ANALYZE_RUN_H
#include <stdio.h>
#include "analysis/analyze.h"
#include "report/run.h"

/* Analysis `sub` (an LM_AN_* bit) of the run with options o (--out required where the command needs it);
 * a line per result on report (may be NULL). LM_AN_OK, LM_AN_FAILED or LM_AN_USAGE with lm_err_set. */
int lm_analyze_run(int sub, LmTrained *run, const LmAnalyzeOptions *o, FILE *report);
/* The summary of `lmrnn analyze summary` for a finished run: DIR/summary.json and, with `figure`,
 * DIR/plots/summary.png. 0 or -1 + lm_err_set. */
int lm_analyze_train_summary(const char *run_dir, int figure, FILE *report);

#endif
