#include "experiment/results.h"
#include "eval/table.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "io/json.h"
#include "tasks/battery.h"
#include "util/err.h"

const double lm_thresholds[LM_N_THRESH] = {0.5, 0.8, 0.9};

void lm_exp_path(char *out, const char *dir, const char *name) {
    int n = snprintf(out, LM_EXP_PATH, "%s/%s", dir, name);
    LM_ASSERT(n > 0 && n < LM_EXP_PATH);
}

int lm_run_read_stop(const char *run_dir, LmStopInfo *out) {
    char path[LM_EXP_PATH];
    lm_exp_path(path, run_dir, "log.jsonl");
    return lm_log_read_stop(path, out);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

double lm_run_read_eval_mean(const char *run_dir) {
    char path[LM_EXP_PATH];
    lm_exp_path(path, run_dir, "eval.json");
    LmEvalFile *e = lm_malloc(sizeof *e);
    double m = lm_eval_file_read(path, e) == 0 ? e->mean : NAN;
    free(e);
    return m;
}

/* ---------------------------------------------------------------- one run */

/* One record of the run log into the result (cap: the eval arrays' capacity). */
static void add_record(LmExpRunResult *r, int *cap, const LmLogRecord *rec) {
    long step = (long)rec->step, trials = (long)rec->trials;
    double wall = rec->wall;
    if (step >= 0 && step >= r->steps_done) {
        r->steps_done = step;
        r->trials_done = trials;
        r->wall_done = wall;
    }
    if (!strcmp(rec->kind, "eval")) {
        if (r->n_eval == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            r->step = lm_realloc(r->step, sizeof(long) * (size_t)*cap);
            r->trials = lm_realloc(r->trials, sizeof(long) * (size_t)*cap);
            r->wall = lm_realloc(r->wall, sizeof(double) * (size_t)*cap);
            r->mean = lm_realloc(r->mean, sizeof(double) * (size_t)*cap);
            r->group = lm_realloc(r->group, sizeof(double[LM_N_GROUPS]) * (size_t)*cap);
        }
        int i = r->n_eval++;
        r->step[i] = step;
        r->trials[i] = trials;
        r->wall[i] = wall;
        r->mean[i] = rec->mean;
        for (int g = 0; g < LM_N_GROUPS; g++) r->group[i][g] = rec->group[g];
    } else if (!strcmp(rec->kind, "threshold")) {
        for (int k = 0; k < LM_N_THRESH; k++)
            if (fabs(rec->threshold - lm_thresholds[k]) < 1e-9 && r->thr_step[k] < 0) {
                r->thr_step[k] = step;
                r->thr_trials[k] = trials;
                r->thr_wall[k] = wall;
            }
    } else if (!strcmp(rec->kind, "mask") && rec->restart) {
        /* an IMP round rewound the network: thresholds count from the new ticket (docs/lottery.md) */
        r->restart_step = step;
        for (int k = 0; k < LM_N_THRESH; k++) r->thr_step[k] = -1, r->thr_trials[k] = -1, r->thr_wall[k] = NAN;
    }
}

/* eval.json (eval/table.h reads it) into the final numbers: the mean, each task, each group's mean. */
static int load_eval(const char *path, LmExpRunResult *r) {
    LmEvalFile *e = lm_malloc(sizeof *e);
    if (lm_eval_file_read(path, e) != 0) {
        free(e);
        return -1;
    }
    r->final_mean = e->mean;
    int n = e->n;
    r->task = lm_calloc((size_t)(n ? n : 1), sizeof *r->task);
    r->task_perf = lm_calloc((size_t)(n ? n : 1), sizeof(double));
    r->task_group = lm_calloc((size_t)(n ? n : 1), sizeof(int));
    double gsum[LM_N_GROUPS] = {0};
    int gn[LM_N_GROUPS] = {0};
    for (int k = 0; k < n; k++) {
        int i = r->n_tasks++, g = e->task[k].group;
        snprintf(r->task[i], sizeof r->task[i], "%s", e->task[k].name);
        r->task_perf[i] = e->task[k].perf;
        r->task_group[i] = g;
        if (isfinite(r->task_perf[i])) {
            gsum[g] += r->task_perf[i];
            gn[g]++;
        }
    }
    for (int g = 0; g < LM_N_GROUPS; g++) r->final_group[g] = gn[g] ? gsum[g] / gn[g] : NAN;
    free(e);
    return 0;
}

int lm_run_load(const char *run_dir, const LmExpRun *run, LmExpRunResult *r) {
    memset(r, 0, sizeof *r);
    r->run = run;
    r->final_mean = NAN;
    r->wall_done = NAN;
    r->auc = NAN;
    r->restart_step = -1;
    for (int g = 0; g < LM_N_GROUPS; g++) r->final_group[g] = NAN;
    for (int k = 0; k < LM_N_THRESH; k++) {
        r->thr_step[k] = r->thr_trials[k] = -1;
        r->thr_wall[k] = NAN;
    }
    char path[LM_EXP_PATH];
    lm_exp_path(path, run_dir, "DONE");
    r->done = exists(path);
    lm_exp_path(path, run_dir, "log.jsonl");
    LmRunLog log;
    if (lm_run_log_read(path, &log) != 0) return -1;
    r->has_log = !log.missing;
    int cap = 0;
    for (int i = 0; i < log.n; i++) add_record(r, &cap, &log.rec[i]);
    lm_run_log_free(&log);
    /* Logs without threshold records: derive them from the eval curve (after the last IMP restart). */
    for (int k = 0; k < LM_N_THRESH; k++)
        if (r->thr_step[k] < 0)
            for (int i = 0; i < r->n_eval; i++)
                if (r->step[i] > r->restart_step && r->mean[i] >= lm_thresholds[k]) {
                    r->thr_step[k] = r->step[i];
                    r->thr_trials[k] = r->trials[i];
                    r->thr_wall[k] = r->wall[i];
                    break;
                }
    if (r->n_eval >= 2 && r->step[r->n_eval - 1] > r->step[0]) {
        double area = 0;
        for (int i = 1; i < r->n_eval; i++)
            area += 0.5 * (r->mean[i] + r->mean[i - 1]) * (double)(r->step[i] - r->step[i - 1]);
        r->auc = area / (double)(r->step[r->n_eval - 1] - r->step[0]);
    }
    lm_exp_path(path, run_dir, "eval.json");
    if (exists(path)) {
        if (load_eval(path, r) != 0) return -1;
        r->has_eval = 1;
    }
    return 0;
}

void lm_run_result_free(LmExpRunResult *r) {
    free(r->step);
    free(r->trials);
    free(r->wall);
    free(r->mean);
    free(r->group);
    free(r->task);
    free(r->task_perf);
    free(r->task_group);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- statistics */

LmStat lm_stat(const double *v, int n) {
    LmStat s = {0, NAN, NAN, NAN, NAN};
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (s.n == 0 || v[i] < s.min) s.min = v[i];
            if (s.n == 0 || v[i] > s.max) s.max = v[i];
            sum += v[i];
            s.n++;
        }
    if (!s.n) return s;
    s.mean = sum / s.n;
    double ss = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.std = s.n > 1 ? sqrt(ss / (s.n - 1)) : 0;
    return s;
}

int lm_exp_conditions(const LmExpPlan *p, LmCondition **out) {
    LmCondition *c = lm_calloc((size_t)(p->n ? p->n : 1), sizeof *c);
    int nc = 0;
    for (int i = 0; i < p->n; i++) {
        const LmExpRun *r = &p->runs[i];
        int k = 0;
        while (k < nc && !(strcmp(p->runs[c[k].first].cond, r->cond) == 0 &&
                           strcmp(p->runs[c[k].first].battery, r->battery) == 0))
            k++;
        if (k == nc) {
            c[nc].first = i;
            c[nc].idx = lm_malloc(sizeof(int) * (size_t)p->n);
            nc++;
        }
        c[k].idx[c[k].n++] = i;
    }
    *out = c;
    return nc;
}

void lm_exp_conditions_free(LmCondition *c, int n) {
    if (!c) return;
    for (int i = 0; i < n; i++) free(c[i].idx);
    free(c);
}

LmStat lm_cond_stat(const LmCondition *c, const double *values) {
    double *v = lm_malloc(sizeof(double) * (size_t)(c->n ? c->n : 1));
    for (int i = 0; i < c->n; i++) v[i] = values[c->idx[i]];
    LmStat s = lm_stat(v, c->n);
    free(v);
    return s;
}

int lm_exp_results_load(const char *dir, LmExpResults *out) {
    memset(out, 0, sizeof *out);
    char path[LM_EXP_PATH];
    lm_exp_path(path, dir, "plan.json");
    if (!exists(path)) {
        lm_err_set("%s: no plan.json (not an experiment directory)", dir);
        return -1;
    }
    if (lm_exp_plan_load(path, &out->plan) != 0) return -1;
    out->res = lm_calloc((size_t)(out->plan.n ? out->plan.n : 1), sizeof(LmExpRunResult));
    for (int i = 0; i < out->plan.n; i++) {
        char runs[LM_EXP_PATH];
        lm_exp_path(runs, dir, "runs");
        lm_exp_path(path, runs, out->plan.runs[i].id);
        if (lm_run_load(path, &out->plan.runs[i], &out->res[i]) != 0) {
            lm_exp_results_free(out);
            return -1;
        }
    }
    out->n_cond = lm_exp_conditions(&out->plan, &out->cond);
    return 0;
}

void lm_exp_results_free(LmExpResults *r) {
    if (r->res)
        for (int i = 0; i < r->plan.n; i++) lm_run_result_free(&r->res[i]);
    free(r->res);
    lm_exp_conditions_free(r->cond, r->n_cond);
    lm_exp_plan_free(&r->plan);
    memset(r, 0, sizeof *r);
}

double lm_exp_best_d(const LmExpResults *r) {
    double best_d = 0, best = -1;
    double *auc = lm_malloc(sizeof(double) * (size_t)(r->plan.n ? r->plan.n : 1));
    for (int i = 0; i < r->plan.n; i++) auc[i] = r->res[i].auc;
    for (int c = 0; c < r->n_cond; c++) {
        const LmExpRun *run = &r->plan.runs[r->cond[c].first];
        if (strcmp(run->mask, "local2d") != 0) continue;
        LmStat s = lm_cond_stat(&r->cond[c], auc);
        if (s.n && (s.mean > best + 1e-12 || (fabs(s.mean - best) <= 1e-12 && run->d < best_d))) {
            best = s.mean;
            best_d = run->d;
        }
    }
    free(auc);
    return best_d;
}
