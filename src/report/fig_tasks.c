/* plots/tasks: performance per task with its 95 % Wilson interval, one row per family (go, DM, match)
 * so that 82 names stay readable at slide size; bars coloured by task group (base, int, seq, int+seq).
 * Each bar carries its chance level: the performance of the best constant answer (one class at every
 * step) on the same kind of held-out trials under the same metric, e.g. 0.5 for a match task whose
 * no-go trials are half of all (always fixate), 1/16 for a go task. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eval/eval.h"
#include "eval/metrics.h"
#include "eval/table.h"
#include "report/fig_common.h"
#include "util/err.h"

struct LmTaskTable {
    int n;
    char name[LM_MAX_BATTERY][32];
    int id[LM_MAX_BATTERY];
    double perf[LM_MAX_BATTERY], lo[LM_MAX_BATTERY], hi[LM_MAX_BATTERY], chance[LM_MAX_BATTERY];
    char metric[32];
    int trials;
    double mean;
};

/* eval.json of this run through the one reader of it (eval/table.h): 1 if present and read, 0 if absent
 * or without tasks (then the table is computed), -1 if unusable. */
static int table_from_json(const char *dir, LmTaskTable *t) {
    char path[1200];
    snprintf(path, sizeof path, "%s/eval.json", dir);
    LmEvalFile *e = lm_malloc(sizeof *e);
    int rc = lm_eval_file_read(path, e);
    if (rc == 0) {
        snprintf(t->metric, sizeof t->metric, "%s", e->metric);
        t->trials = e->trials;
        t->mean = e->mean;
        t->n = e->n;
        for (int k = 0; k < e->n; k++) {
            snprintf(t->name[k], sizeof t->name[k], "%s", e->task[k].name);
            t->id[k] = e->task[k].id;
            t->perf[k] = e->task[k].perf;
            t->lo[k] = e->task[k].ci_low;
            t->hi[k] = e->task[k].ci_high;
        }
    }
    free(e);
    return rc < 0 ? -1 : rc == 0 && t->n > 0;
}

static int table_compute(LmTrained *run, int trials, LmTaskTable *t) {
    LmEvalResult *r = lm_malloc(sizeof *r);
    int rc = lm_evaluate(run->model, run->env, run->battery, trials, run->eval_seed, NULL, r);
    if (rc == 0) {
        t->n = run->battery->n;
        snprintf(t->metric, sizeof t->metric, "%s", lm_metric_name(LM_METRIC_LAST_STEP));
        t->trials = trials;
        t->mean = lm_eval_mean(r, LM_METRIC_LAST_STEP);
        for (int k = 0; k < t->n; k++) {
            snprintf(t->name[k], sizeof t->name[0], "%s", run->battery->name[k]);
            t->id[k] = run->battery->id[k];
            t->perf[k] = lm_eval_task_perf(r, k, LM_METRIC_LAST_STEP);
            lm_wilson_interval(r->correct[k][LM_METRIC_LAST_STEP], r->n_trials[k], &t->lo[k], &t->hi[k]);
        }
    }
    free(r);
    return rc;
}

/* The best constant answer's performance on `trials` held-out trials of each task. */
static void chance_levels(const LmTrained *run, LmTaskTable *t) {
    LmMetric metric;
    int ok = lm_metric_parse(t->metric, &metric) == 0;
    int trials = t->trials > 0 ? (t->trials < 400 ? t->trials : 400) : 200;
    LmTrial tr;
    int32_t pred[LM_TMAX];
    for (int k = 0; k < t->n; k++) {
        t->chance[k] = NAN;
        int pos = -1;
        for (int j = 0; j < run->battery->n && pos < 0; j++)
            if (run->battery->id[j] == t->id[k]) pos = j;
        if (!ok || pos < 0) continue;
        int hits[LM_N_ACTIONS] = {0};
        for (int i = 0; i < trials; i++) {
            lm_eval_trial(run->env, t->id[k], pos, i, run->eval_seed, &tr);
            int pd = lm_trial_period(&tr, "decision");
            int d0 = pd >= 0 ? tr.periods[pd].start : -1, d1 = pd >= 0 ? tr.periods[pd].end : -1;
            for (int a = 0; a < LM_N_ACTIONS; a++) {
                for (int s = 0; s < tr.len; s++) pred[s] = a;
                hits[a] += lm_metric_correct(metric, pred, tr.gt, tr.len, d0, d1);
            }
        }
        int best = 0;
        for (int a = 0; a < LM_N_ACTIONS; a++)
            if (hits[a] > best) best = hits[a];
        t->chance[k] = (double)best / trials;
    }
}

LmTaskTable *lm_task_table_load(LmTrained *run, int trials_if_missing) {
    LmTaskTable *t = lm_calloc(1, sizeof *t);
    int have = table_from_json(run->dir, t);
    if (have == 0) {
        memset(t, 0, sizeof *t);
        have = table_compute(run, trials_if_missing, t) == 0 ? 1 : -1;
    }
    if (have < 0) {
        free(t);
        return NULL;
    }
    chance_levels(run, t);
    return t;
}

void lm_task_table_free(LmTaskTable *t) { free(t); }

static const char *const family_title[3] = {"go family", "DM family", "match family"};
static const char *const group_label[4] = {"base", "int", "seq", "int+seq"};

/* One family's row: its tasks by group (base, int, seq, int+seq), then battery order. */
static void family_row(LmFigure *f, int row, const LmTaskTable *t, int fam) {
    int order[LM_MAX_BATTERY], n = 0, present[4] = {0, 0, 0, 0};
    for (int g = 0; g < 4; g++)
        for (int k = 0; k < t->n; k++)
            if ((int)lm_task_def(t->id[k])->family == fam && (int)lm_task_group(t->id[k]) == g)
                order[n++] = k, present[g] = 1;
    double v[LM_MAX_BATTERY], lo[LM_MAX_BATTERY], hi[LM_MAX_BATTERY], ch[LM_MAX_BATTERY], sum = 0;
    const char *names[LM_MAX_BATTERY];
    int colour[LM_MAX_BATTERY];
    for (int i = 0; i < n; i++) {
        int k = order[i];
        v[i] = t->perf[k], lo[i] = t->lo[k], hi[i] = t->hi[k], ch[i] = t->chance[k];
        names[i] = t->name[k];
        colour[i] = (int)lm_task_group(t->id[k]);
        sum += v[i];
    }
    char title[128];
    snprintf(title, sizeof title, "%s: %d task%s, mean %.3f", family_title[fam], n, n == 1 ? "" : "s", sum / n);
    char ylabel[96];
    snprintf(ylabel, sizeof ylabel, "%s (%d trials, 95%% CI)", t->metric, t->trials);
    lm_fig_panel(f, row, -0.6, n - 0.4, 0, 1, title, NULL, ylabel);
    for (int g = 0; g < 4; g++)
        if (present[g]) lm_fig_legend_box(f, g, group_label[g]);
    lm_fig_legend_outside(f);
    lm_fig_bars(f, n, v, NULL, names, colour);
    lm_fig_bar_intervals(f, n, lo, hi);
    lm_fig_bar_marks(f, n, ch, -1, "chance");
}

int lm_fig_tasks(LmFigOut *o, const LmTaskTable *t, int fi) {
    int fams[3], nf = 0, most = 1;
    for (int fam = 0; fam < 3; fam++) {
        int c = 0;
        for (int k = 0; k < t->n; k++) c += (int)lm_task_def(t->id[k])->family == fam;
        if (c) fams[nf++] = fam;
        if (c > most) most = c;
    }
    int width = 700 + 22 * most;
    if (width < 1200) width = 1200;
    LmFigure *f = lm_fig_out_open(o, "tasks", fi, width, 120 + 430 * nf, 1, nf, 0);
    if (!f) return -1;
    for (int r = 0; r < nf; r++) family_row(f, r, t, fams[r]);
    return lm_fig_out_close(o, f, "tasks", fi);
}
