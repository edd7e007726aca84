/* Reading run directories (docs/run-directory.md) back into numbers, and statistics over seeds. */
#ifndef LMRNN_EXP_RESULTS_H
#define LMRNN_EXP_RESULTS_H
#include <cjson/cJSON.h>
#include "experiment/plan.h"
#include "tasks/battery.h"
#include "train/log.h"

#define LM_N_THRESH 3
extern const double lm_thresholds[LM_N_THRESH];   /* 0.5, 0.8, 0.9 */

/* out = dir + "/" + name; aborts if the path does not fit (the CLI limits DIR to LM_EXP_MAX_DIR). */
#define LM_EXP_MAX_DIR 3000
#define LM_EXP_PATH 4096
void lm_exp_path(char *out, const char *dir, const char *name);

/* lm_log_read_stop of the run directory's log.jsonl. */
int lm_run_read_stop(const char *run_dir, LmStopInfo *out);
/* Top-level "mean" of the run's eval.json; NaN if absent. */
double lm_run_read_eval_mean(const char *run_dir);

typedef struct {
    const LmExpRun *run;        /* the plan's entry */
    int done;                   /* DONE marker present */
    int has_log, has_eval;
    /* eval records of log.jsonl, in order */
    int n_eval;
    long *step, *trials;
    double *wall, *mean;
    double (*group)[LM_N_GROUPS];   /* NaN where the record has no such group */
    /* first step / trials / wall at which mean perf reached lm_thresholds[k]; -1 / NaN if never */
    long thr_step[LM_N_THRESH], thr_trials[LM_N_THRESH];
    double thr_wall[LM_N_THRESH];
    long restart_step;          /* the last mask record that restarted training (an IMP round); -1: none */
    /* eval.json (final held-out evaluation); NaN if missing */
    double final_mean;
    double final_group[LM_N_GROUPS];
    int n_tasks;
    char (*task)[32];
    double *task_perf;
    int *task_group;
    /* end of training */
    long steps_done, trials_done;
    double wall_done;
    double auc;                 /* mean of the eval curve over steps (trapezoid / span), NaN if < 2 points */
} LmExpRunResult;

/* Load whatever the run directory holds (a missing directory gives an empty result, not an error). 0, or
 * -1 with lm_err_set() on a file that exists but is corrupt. */
int lm_run_load(const char *run_dir, const LmExpRun *run, LmExpRunResult *out);
void lm_run_result_free(LmExpRunResult *r);


/* Statistics over seeds of the finite values among v[0..n). */
typedef struct {
    int n;               /* finite values */
    double mean, std, min, max;   /* std: sample standard deviation (0 for n = 1); all NaN for n = 0 */
} LmStat;
LmStat lm_stat(const double *v, int n);

/* Conditions of a plan: runs grouped by battery + condition, in plan order. */
typedef struct {
    int first;          /* index of the first run (its LmExpRun describes the condition) */
    int n;              /* runs (seeds) */
    int *idx;           /* run indices */
} LmCondition;
int lm_exp_conditions(const LmExpPlan *p, LmCondition **out);   /* returns the count */
void lm_exp_conditions_free(LmCondition *c, int n);

/* Everything the report needs: the plan, every run's results, the conditions. */
typedef struct {
    LmExpPlan plan;
    LmExpRunResult *res;      /* plan.n */
    int n_cond;
    LmCondition *cond;
} LmExpResults;
/* Load DIR/plan.json and every run directory under DIR/runs/. 0 or -1 with lm_err_set(). */
int lm_exp_results_load(const char *dir, LmExpResults *out);
void lm_exp_results_free(LmExpResults *r);

/* Per condition statistics of a per-run quantity: values[i] for run i. */
LmStat lm_cond_stat(const LmCondition *c, const double *values);

/* The local2d d with the best mean learning-curve AUC in a sparsity experiment (the "optimal
 * sparsity"); ties go to the smaller d. 0 if no local2d run has results. */
double lm_exp_best_d(const LmExpResults *r);

#endif
