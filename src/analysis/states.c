/* Hidden-state trajectories of held-out trials (spec §1), collected through the evaluation's forward
 * pass (lm_eval_forward: the same trials and the same kernels as `lmrnn eval`), noise off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "eval/eval.h"
#include "io/arrays.h"
#include "util/err.h"

const char *const lm_period_names[LM_N_PERIOD_NAMES] = {"fixation", "stimulus", "delay", "decision",
                                                        "stim1",    "stim2",    "sample", "test"};

int lm_period_index(const char *name) {
    for (int p = 0; p < LM_N_PERIOD_NAMES; p++)
        if (!strcmp(name, lm_period_names[p])) return p;
    return -1;
}

int lm_tasks_positions(const LmBattery *battery, const char *list, int *pos, int *n) {
    *n = 0;
    if (!list || !strcmp(list, "all")) {
        for (int k = 0; k < battery->n; k++) pos[(*n)++] = k;
        return 0;
    }
    LmBattery sub;
    if (lm_battery_parse(list, &sub) != 0) return -1;
    for (int k = 0; k < sub.n; k++) {
        int found = -1;
        for (int j = 0; j < battery->n; j++)
            if (battery->id[j] == sub.id[k]) found = j;
        if (found < 0) {
            lm_err_set("task '%s' is not in the run's battery '%s'", sub.name[k], battery->spec);
            return -1;
        }
        pos[(*n)++] = found;
    }
    return 0;
}

void lm_states_free(LmStates *s) {
    free(s->h), free(s->x), free(s->y), free(s->gt), free(s->len), free(s->task), free(s->modality);
    free(s->bounds);
    memset(s, 0, sizeof *s);
}

static void copy_chunk(LmStates *s, const LmWork *w, const LmTrial *trials, const float *x, int T, int B,
                       int k0, int task_index) {
    const float *h = lm_work_hidden(w), *y = lm_work_logits(w);
    for (int b = 0; b < B; b++) {
        int k = k0 + b;
        const LmTrial *tr = &trials[b];
        for (int t = 0; t < tr->len && t < T; t++) {
            size_t r = (size_t)t * B + b, o = (size_t)k * s->T + t;
            memcpy(s->h + o * s->N, h + r * s->N, (size_t)s->N * sizeof(float));
            memcpy(s->x + o * s->n_in, x + r * s->n_in, (size_t)s->n_in * sizeof(float));
            memcpy(s->y + o * s->n_out, y + r * s->n_out, (size_t)s->n_out * sizeof(float));
            s->gt[o] = tr->gt[t];
        }
        s->len[k] = tr->len;
        s->task[k] = task_index;
        s->modality[k] = tr->modality;
        int32_t *bd = s->bounds + (size_t)k * LM_N_PERIOD_NAMES * 2;
        for (int p = 0; p < LM_N_PERIOD_NAMES * 2; p++) bd[p] = -1;
        for (int p = 0; p < tr->n_periods; p++) {
            int q = lm_period_index(tr->periods[p].name);
            if (q >= 0) bd[2 * q] = tr->periods[p].start, bd[2 * q + 1] = tr->periods[p].end;
        }
    }
}

int lm_states_collect(const LmNet *net, const int *pos, int n_tasks, int trials, LmStates *out) {
    memset(out, 0, sizeof *out);
    const LmModelConfig *c = lm_model_config(net->model);
    if (trials < 1) {
        lm_err_set("--trials must be at least 1 (got %d)", trials);
        return -1;
    }
    if (n_tasks < 1 || n_tasks > LM_MAX_BATTERY) {
        lm_err_set("no tasks to collect states for");
        return -1;
    }
    if (c->n_in != LM_OBS + net->battery->n) {
        lm_err_set("model has %d inputs but its battery of %d tasks needs %d", c->n_in, net->battery->n,
                   LM_OBS + net->battery->n);
        return -1;
    }
    int64_t K = (int64_t)n_tasks * trials;
    size_t bytes = (size_t)K * LM_TMAX * (c->n_hidden + c->n_in + c->n_out) * sizeof(float);
    if (K > INT32_MAX / LM_TMAX || bytes > LM_STATES_MAX_BYTES) {
        lm_err_set("%d tasks x %d trials would need %.1f GB of trajectories (limit %.0f GB): ask for fewer "
                   "trials or tasks", n_tasks, trials, bytes / 1e9, LM_STATES_MAX_BYTES / 1e9);
        return -1;
    }
    out->K = (int)K, out->N = c->n_hidden, out->n_in = c->n_in, out->n_out = c->n_out;
    out->n_tasks = n_tasks;
    memcpy(out->task_pos, pos, (size_t)n_tasks * sizeof(int));
    /* The padded length: the longest trial (trials are generated twice; generation is cheap). */
    int T = 1;
    LmTrial *one = lm_malloc(sizeof *one);
    for (int k = 0; k < n_tasks; k++)
        for (int i = 0; i < trials; i++) {
            lm_eval_trial(net->env, net->battery->id[pos[k]], pos[k], i, net->seed, one);
            if (one->len > T) T = one->len;
        }
    free(one);
    out->T = T;
    size_t kt = (size_t)K * T;
    out->h = lm_calloc(kt * out->N, sizeof(float));
    out->x = lm_calloc(kt * out->n_in, sizeof(float));
    out->y = lm_calloc(kt * out->n_out, sizeof(float));
    out->gt = lm_calloc(kt, sizeof(int32_t));
    out->len = lm_calloc((size_t)K, sizeof(int32_t));
    out->task = lm_calloc((size_t)K, sizeof(int32_t));
    out->modality = lm_calloc((size_t)K, sizeof(int32_t));
    out->bounds = lm_calloc((size_t)K * LM_N_PERIOD_NAMES * 2, sizeof(int32_t));

    const int chunk = trials < 512 ? trials : 512;
    LmWork *w = lm_work_new(net->model, LM_TMAX, chunk);
    lm_work_fix_params(w, 1);   /* every chunk runs the same weights */
    LmTrial *buf = lm_malloc((size_t)chunk * sizeof(LmTrial));
    float *x = lm_malloc((size_t)LM_TMAX * chunk * c->n_in * sizeof(float));
    for (int k = 0; k < n_tasks; k++)
        for (int first = 0; first < trials; first += chunk) {
            int B = trials - first < chunk ? trials - first : chunk;
            int Tc = lm_eval_forward(net->model, w, net->env, net->battery->id[pos[k]], pos[k], net->battery->n,
                                     first, B, net->seed, NULL, buf, x);
            copy_chunk(out, w, buf, x, Tc, B, k * trials + first, k);
        }
    free(x);
    free(buf);
    lm_work_free(w);
    return 0;
}

float *lm_states_rows(const LmStates *s, int64_t *rows) {
    int64_t n = 0;
    for (int k = 0; k < s->K; k++) n += s->len[k];
    float *X = lm_malloc((size_t)(n ? n : 1) * s->N * sizeof(float));
    int64_t r = 0;
    for (int k = 0; k < s->K; k++) {
        memcpy(X + (size_t)r * s->N, s->h + (size_t)k * s->T * s->N, (size_t)s->len[k] * s->N * sizeof(float));
        r += s->len[k];
    }
    *rows = n;
    return X;
}

/* ';'-joined names into buf (truncated at n). */
static void join(char *buf, size_t n, int count, const char *(*name)(int, const void *), const void *ctx) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && used + 1 < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ";" : "", name(i, ctx));
        if (w < 0) break;
        used += (size_t)w;
    }
}

typedef struct { const LmStates *s; const LmBattery *b; } NameCtx;
static const char *task_name(int i, const void *ctx) {
    const NameCtx *c = ctx;
    return c->b->name[c->s->task_pos[i]];
}
static const char *period_name(int i, const void *ctx) { return (void)ctx, lm_period_names[i]; }

LmArrays *lm_states_arrays(const LmStates *s, const LmBattery *battery) {
    int64_t sh_h[3] = {s->K, s->T, s->N}, sh_x[3] = {s->K, s->T, s->n_in}, sh_y[3] = {s->K, s->T, s->n_out};
    int64_t sh_kt[2] = {s->K, s->T}, sh_k[1] = {s->K}, sh_b[3] = {s->K, LM_N_PERIOD_NAMES, 2};
    int64_t sh_t[1] = {s->n_tasks};
    int32_t rule[LM_MAX_BATTERY];
    for (int k = 0; k < s->n_tasks; k++) rule[k] = s->task_pos[k];
    char *names = lm_malloc(LM_MAX_BATTERY * 33 + 1);
    NameCtx ctx = {s, battery};
    join(names, LM_MAX_BATTERY * 33 + 1, s->n_tasks, task_name, &ctx);
    char periods[128];
    join(periods, sizeof periods, LM_N_PERIOD_NAMES, period_name, NULL);
    LmArrays *a = lm_arrays_new();
    lm_arrays_add(a, "h", LM_DT_F32, 3, sh_h, s->h);
    lm_arrays_add(a, "inputs", LM_DT_F32, 3, sh_x, s->x);
    lm_arrays_add(a, "outputs", LM_DT_F32, 3, sh_y, s->y);
    lm_arrays_add(a, "labels", LM_DT_I32, 2, sh_kt, s->gt);
    lm_arrays_add(a, "lengths", LM_DT_I32, 1, sh_k, s->len);
    lm_arrays_add(a, "task", LM_DT_I32, 1, sh_k, s->task);
    lm_arrays_add(a, "modality", LM_DT_I32, 1, sh_k, s->modality);
    lm_arrays_add(a, "period_bounds", LM_DT_I32, 3, sh_b, s->bounds);
    lm_arrays_add(a, "rule_column", LM_DT_I32, 1, sh_t, rule);
    lm_arrays_add_string(a, "task_names", names);
    lm_arrays_add_string(a, "period_names", periods);
    free(names);
    return a;
}

int lm_states_write(const LmStates *s, const LmBattery *battery, const char *path) {
    LmArrays *a = lm_states_arrays(s, battery);
    int rc = lm_arrays_write_npz(a, path);
    lm_arrays_free(a);
    return rc;
}
