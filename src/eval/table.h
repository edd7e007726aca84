/* The per-task evaluation table: on screen, eval.json and eval.csv (docs/run-directory.md). */
#ifndef LMRNN_EVAL_TABLE_H
#define LMRNN_EVAL_TABLE_H
#include <stdio.h>
#include <cjson/cJSON.h>
#include "eval/eval.h"

/* The eval.json document: {"metric", "mean", "min", "trials_per_task", "groups":{base,int,seq,intseq}
 * (null for a group the battery lacks), "metrics":{every metric's mean}, "tasks":[{"name","family",
 * "group","modifiers","n","correct","perf","ci_low","ci_high","all":{metric: perf}}]}. The caller may
 * add members (e.g. "step", "checkpoint") before writing. */
cJSON *lm_eval_json(const LmEvalResult *r, const LmBattery *b, LmMetric metric);
/* Write <dir>/eval.json (the document) and <dir>/eval.csv (one row per task). 0 or -1 + lm_err_set(). */
int lm_eval_write_files(const char *dir, const cJSON *doc);
/* Text table: task, family, group, trials, correct, perf, 95% Wilson CI; then battery and group means. */
void lm_eval_print(FILE *f, const LmEvalResult *r, const LmBattery *b, LmMetric metric);

#endif
