/* Per-task evaluation on held-out single trials (docs/model.md §5, docs/tasks.md §4.6).
 * Trial i of battery position k is generated from its own generator lm_rng_derive(seed, k * 1000003 + i)
 * with modality i % 2 (go/match tasks), run from h = 0 (trials of one task are batched, padded at the
 * end, which cannot affect earlier steps), and scored from the argmax over the outputs. All metrics are
 * computed in the same pass. */
#ifndef LMRNN_EVAL_H
#define LMRNN_EVAL_H
#include <stdint.h>
#include "model/model.h"
#include "tasks/battery.h"

typedef enum {
    LM_METRIC_LAST_STEP = 0,       /* argmax == gt at the last step (default; the lab's public code) */
    LM_METRIC_FIRST_RESPONSE,      /* neurogym step(): first non-fixate decision action == gt there */
    LM_METRIC_FIRST_RESPONSE_NOGO, /* same, but a trial whose decision labels are all 0 counts as
                                      correct when the network never responds (corrected Q19) */
    LM_METRIC_STRICT_TRIAL,        /* fixate before decision and argmax == gt at every decision step */
    LM_METRIC_TOLERANT_LAST_STEP,  /* last step, ring responses within +-1 ring step count */
    LM_N_METRICS
} LmMetric;

int lm_metric_parse(const char *s, LmMetric *out);   /* 0 or -1 + lm_err_set listing valid names */
const char *lm_metric_name(LmMetric m);

typedef struct {
    int n_tasks;                              /* battery size */
    int n_trials[LM_MAX_BATTERY];             /* trials per task */
    int correct[LM_MAX_BATTERY][LM_N_METRICS];
} LmEvalResult;

/* Evaluate `trials` trials of every task of `battery` (positions = rule columns of the model's input).
 * `noise_rng` NULL: no recurrent noise. 0, or -1 with lm_err_set() (e.g. model n_in != 33 + tasks). */
int lm_evaluate(LmModel *m, const LmTaskEnv *env, const LmBattery *battery, int trials, uint64_t seed,
                LmRng *noise_rng, LmEvalResult *out);
/* Like lm_evaluate, but task k of `subset` uses rule column `rule_pos[k]` (evaluating a subset of the
 * training battery). */
int lm_evaluate_subset(LmModel *m, const LmTaskEnv *env, const LmBattery *subset, const int *rule_pos,
                       int n_rules, int trials, uint64_t seed, LmRng *noise_rng, LmEvalResult *out);

double lm_eval_task_perf(const LmEvalResult *r, int task, LmMetric metric);
double lm_eval_mean(const LmEvalResult *r, LmMetric metric);      /* unweighted mean over tasks */
double lm_eval_min(const LmEvalResult *r, LmMetric metric);
/* Mean over the tasks of one group (base/int/seq/int+seq); NaN if the battery has none. */
double lm_eval_group_mean(const LmEvalResult *r, const LmBattery *b, LmGroup g, LmMetric metric);
/* 95% Wilson score interval for k successes in n trials. */
void lm_wilson_interval(int k, int n, double *lo, double *hi);

/* Generate evaluation trial i of the task at rule position `rule_pos` (catalogue id `task`), exactly as
 * lm_evaluate does (for plots of example trials). */
void lm_eval_trial(const LmTaskEnv *env, int task, int rule_pos, int i, uint64_t seed, LmTrial *out);

/* The forward pass of lm_evaluate on trials [first, first+B) of the task at rule position `pos`
 * (catalogue id `task`) of a battery of n_rules tasks: the trials go to trials[B], their inputs to
 * x [T][B][33 + n_rules] (room for LM_TMAX steps), and the logits and hidden states stay in `w`
 * (lm_work_logits / lm_work_hidden, [T][B][.]); steps past a trial's length are padding. Returns T,
 * the longest trial's length. For analyses of the hidden states (src/analysis). */
int lm_eval_forward(LmModel *m, LmWork *w, const LmTaskEnv *env, int task, int pos, int n_rules, int first,
                    int B, uint64_t seed, LmRng *noise_rng, LmTrial *trials, float *x);

#endif
