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
/* eval.json read back (the one reader of it: plot, experiments): the table's metric, trials per task,
 * mean and, per task, its name, catalogue id, group, performance and 95% interval (NaN if absent). */
typedef struct {
    char metric[32];
    int trials;
    double mean;
    int n;
    struct {
        char name[32];
        int id, group;
        double perf, ci_low, ci_high;
    } task[LM_MAX_BATTERY];
} LmEvalFile;
/* 0; 1 when the file does not exist; -1 with lm_err_set() for a file that is not an evaluation table
 * (not JSON, no "tasks" array, a task that is not in the catalogue, too many tasks). */
int lm_eval_file_read(const char *path, LmEvalFile *out);

/* Text table: task, family, group, trials, correct, perf, 95% Wilson CI; then battery and group means. */
void lm_eval_print(FILE *f, const LmEvalResult *r, const LmBattery *b, LmMetric metric);

#endif
