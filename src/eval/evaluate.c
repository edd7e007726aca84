/* lm_evaluate: held-out single trials per task, batched into one forward pass per task (docs/model.md §5,
 * docs/tasks.md §4.6). Trials of one task have different lengths; they are padded with zero input rows at the
 * end, which cannot change any earlier step (the network is causal), and each trial is scored on its
 * own steps only. */
#include "eval/eval.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "eval/metrics.h"
#include "util/err.h"

/* Largest number of trials in one forward pass: bounds the activations kept by the work buffers
 * (T x B x N floats each) while keeping B large enough for BLAS to be efficient. */
#define LM_EVAL_CHUNK 512
#define LM_EVAL_FLOATS (1 << 24)   /* per activation buffer: N <= 512 keeps whole chunks of 512 */

void lm_eval_trial(const LmTaskEnv *env, int task, int rule_pos, int i, uint64_t seed, LmTrial *out) {
    LmRng rng = lm_rng_derive(seed, (uint64_t)rule_pos * 1000003u + (uint64_t)i);
    lm_trial_generate(env, task, i % 2, &rng, &rng, out);
}

static int decision_period(const LmTrial *t, int *start, int *end) {
    int p = lm_trial_period(t, "decision");
    if (p < 0) {
        *start = *end = -1;
        return -1;
    }
    *start = t->periods[p].start;
    *end = t->periods[p].end;
    return 0;
}

int lm_eval_forward(LmModel *m, LmWork *w, const LmTaskEnv *env, int task, int pos, int n_rules, int first,
                    int B, uint64_t seed, LmRng *noise_rng, LmTrial *trials, float *x) {
    const int n_in = LM_OBS + n_rules;
    #pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) lm_eval_trial(env, task, pos, first + b, seed, &trials[b]);
    int T = 1;
    for (int b = 0; b < B; b++)
        if (trials[b].len > T) T = trials[b].len;

    /* x [T][B][n_in]: observation columns, then the rule one-hot at every step of the trial. */
    memset(x, 0, (size_t)T * B * n_in * sizeof(float));
    for (int b = 0; b < B; b++) {
        const LmTrial *tr = &trials[b];
        for (int t = 0; t < tr->len; t++) {
            float *row = x + ((size_t)t * B + b) * n_in;
            memcpy(row, tr->ob + (size_t)t * LM_OBS, LM_OBS * sizeof(float));
            row[LM_OBS + pos] = 1.0f;
        }
    }
    lm_forward(m, w, x, NULL, NULL, NULL, T, B, noise_rng);
    return T;
}

/* Evaluate trials [first, first+B) of one task; adds the correct counts into correct[]. */
static void eval_chunk(LmModel *m, LmWork *w, const LmTaskEnv *env, int task, int pos, int n_rules,
                       int first, int B, uint64_t seed, LmRng *noise_rng, LmTrial *trials, float *x,
                       int correct[LM_N_METRICS]) {
    const int n_out = lm_model_config(m)->n_out;
    lm_eval_forward(m, w, env, task, pos, n_rules, first, B, seed, noise_rng, trials, x);
    const float *logits = lm_work_logits(w);   /* [T][B][n_out] */

    for (int b = 0; b < B; b++) {
        const LmTrial *tr = &trials[b];
        int32_t pred[LM_TMAX];
        for (int t = 0; t < tr->len; t++) pred[t] = lm_argmax(logits + ((size_t)t * B + b) * n_out, n_out);
        int ds, de, c[LM_N_METRICS];
        decision_period(tr, &ds, &de);
        lm_score_trial(pred, tr->gt, tr->len, ds, de, c);
        for (int k = 0; k < LM_N_METRICS; k++) correct[k] += c[k];
    }
}

int lm_evaluate_subset(LmModel *m, const LmTaskEnv *env, const LmBattery *subset, const int *rule_pos,
                       int n_rules, int trials, uint64_t seed, LmRng *noise_rng, LmEvalResult *out) {
    const LmModelConfig *cfg = lm_model_config(m);
    if (trials < 1) {
        lm_err_set("evaluation needs at least 1 trial per task (got %d)", trials);
        return -1;
    }
    if (subset->n < 1 || subset->n > LM_MAX_BATTERY) {
        lm_err_set("evaluation battery has %d tasks (must be 1..%d)", subset->n, LM_MAX_BATTERY);
        return -1;
    }
    if (cfg->n_in != LM_OBS + n_rules) {
        lm_err_set("model has %d inputs but a battery of %d tasks needs %d", cfg->n_in, n_rules,
                   LM_OBS + n_rules);
        return -1;
    }
    if (cfg->n_out != LM_N_ACTIONS) {
        lm_err_set("model has %d outputs, the tasks need %d", cfg->n_out, LM_N_ACTIONS);
        return -1;
    }
    for (int k = 0; k < subset->n; k++) {
        if (rule_pos[k] < 0 || rule_pos[k] >= n_rules) {
            lm_err_set("task '%s': rule position %d outside the model's %d rule inputs", subset->name[k],
                       rule_pos[k], n_rules);
            return -1;
        }
        if (subset->id[k] < 0 || subset->id[k] >= LM_N_CATALOGUE) {
            lm_err_set("task '%s': invalid catalogue id %d", subset->name[k], subset->id[k]);
            return -1;
        }
    }

    memset(out, 0, sizeof *out);
    out->n_tasks = subset->n;
    int chunk = trials < LM_EVAL_CHUNK ? trials : LM_EVAL_CHUNK;
    /* large networks: chunks whose activations (LM_TMAX x chunk x N floats each) stay bounded */
    int64_t fit = LM_EVAL_FLOATS / ((int64_t)LM_TMAX * cfg->n_hidden);
    if (chunk > fit) chunk = fit > 0 ? (int)fit : 1;
    LmWork *w = lm_work_new(m, LM_TMAX, chunk);
    if (!w) return -1;
    lm_work_fix_params(w, 1);   /* every chunk runs the same weights */
    LmTrial *buf = lm_malloc((size_t)chunk * sizeof(LmTrial));
    float *x = lm_malloc((size_t)LM_TMAX * chunk * cfg->n_in * sizeof(float));
    for (int k = 0; k < subset->n; k++) {
        out->n_trials[k] = trials;
        for (int first = 0; first < trials; first += chunk) {
            int B = trials - first < chunk ? trials - first : chunk;
            eval_chunk(m, w, env, subset->id[k], rule_pos[k], n_rules, first, B, seed, noise_rng, buf, x,
                       out->correct[k]);
        }
    }
    free(x);
    free(buf);
    lm_work_free(w);
    return 0;
}

int lm_evaluate(LmModel *m, const LmTaskEnv *env, const LmBattery *battery, int trials, uint64_t seed,
                LmRng *noise_rng, LmEvalResult *out) {
    int pos[LM_MAX_BATTERY];
    for (int k = 0; k < battery->n && k < LM_MAX_BATTERY; k++) pos[k] = k;
    return lm_evaluate_subset(m, env, battery, pos, battery->n, trials, seed, noise_rng, out);
}

/* ---------------------------------------------------------------- summaries */
double lm_eval_task_perf(const LmEvalResult *r, int task, LmMetric metric) {
    if (task < 0 || task >= r->n_tasks || r->n_trials[task] <= 0) return NAN;
    return (double)r->correct[task][metric] / r->n_trials[task];
}

double lm_eval_mean(const LmEvalResult *r, LmMetric metric) {
    if (r->n_tasks <= 0) return NAN;
    double s = 0;
    for (int k = 0; k < r->n_tasks; k++) s += lm_eval_task_perf(r, k, metric);
    return s / r->n_tasks;
}

double lm_eval_min(const LmEvalResult *r, LmMetric metric) {
    if (r->n_tasks <= 0) return NAN;
    double mn = INFINITY;
    for (int k = 0; k < r->n_tasks; k++) mn = fmin(mn, lm_eval_task_perf(r, k, metric));
    return mn;
}

double lm_eval_group_mean(const LmEvalResult *r, const LmBattery *b, LmGroup g, LmMetric metric) {
    double s = 0;
    int n = 0;
    for (int k = 0; k < r->n_tasks && k < b->n; k++)
        if (lm_task_group(b->id[k]) == g) {
            s += lm_eval_task_perf(r, k, metric);
            n++;
        }
    return n ? s / n : NAN;
}

void lm_wilson_interval(int k, int n, double *lo, double *hi) {
    if (n <= 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    const double z = 1.959963984540054;   /* two-sided 95% normal quantile */
    double p = (double)k / n, z2n = z * z / n;
    double centre = (p + z2n / 2) / (1 + z2n);
    double half = z / (1 + z2n) * sqrt(p * (1 - p) / n + z2n / (4.0 * n));
    *lo = fmax(0.0, centre - half);
    *hi = fmin(1.0, centre + half);
    if (k == 0) *lo = 0;
    if (k == n) *hi = 1;
}
