/* Report of a user's sweep: a table with one column per axis and per chosen measure, the task groups if
 * asked, learning curves of every condition, and one figure per axis (each measure against the axis's
 * values: bars = mean over the conditions with that value, dots = each condition's mean over seeds). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "experiment/report_internal.h"
#include "experiment/sweep.h"
#include "util/err.h"

typedef struct {
    unsigned bit;
    int q;
    const char *name, *title;
    int digits;
} Measure;

static const Measure measures[] = {
    {LM_MEASURE_FINAL, Q_FINAL, "final perf", "final held-out perf", 3},
    {LM_MEASURE_AUC, Q_AUC, "AUC", "learning-curve AUC", 3},
    {LM_MEASURE_STEPS << 0, Q_STEP_T + 0, "steps to 0.5", "steps to mean perf 0.5", 0},
    {LM_MEASURE_STEPS << 1, Q_STEP_T + 1, "steps to 0.8", "steps to mean perf 0.8", 0},
    {LM_MEASURE_STEPS << 2, Q_STEP_T + 2, "steps to 0.9", "steps to mean perf 0.9", 0},
    {LM_MEASURE_TRIALS << 0, Q_TRIALS_T + 0, "trials to 0.5", "training trials to mean perf 0.5", 0},
    {LM_MEASURE_TRIALS << 1, Q_TRIALS_T + 1, "trials to 0.8", "training trials to mean perf 0.8", 0},
    {LM_MEASURE_TRIALS << 2, Q_TRIALS_T + 2, "trials to 0.9", "training trials to mean perf 0.9", 0},
    {LM_MEASURE_WALL << 0, Q_WALL_T + 0, "wall s to 0.5", "wall seconds to mean perf 0.5", 1},
    {LM_MEASURE_WALL << 1, Q_WALL_T + 1, "wall s to 0.8", "wall seconds to mean perf 0.8", 1},
    {LM_MEASURE_WALL << 2, Q_WALL_T + 2, "wall s to 0.9", "wall seconds to mean perf 0.9", 1},
};
#define N_MEASURES ((int)(sizeof measures / sizeof measures[0]))

static void sweep_table(FILE *md, const LmExpResults *r) {
    const LmExpPlan *p = &r->plan;
    char buf[96], val[160];
    fprintf(md, "## Conditions\n\nMean ± std over seeds; (n/N): only n of the N seeds reached the threshold (the "
                "mean is over those n).\n\n| condition |");
    for (int a = 0; a < p->n_axes; a++) fprintf(md, " %s |", p->axes[a].name);
    fprintf(md, " runs done |");
    for (int m = 0; m < N_MEASURES; m++)
        if (p->measures & measures[m].bit) fprintf(md, " %s |", measures[m].name);
    fprintf(md, "\n|---|");
    for (int a = 0; a < p->n_axes; a++) fprintf(md, "---|");
    fprintf(md, "---|");
    for (int m = 0; m < N_MEASURES; m++)
        if (p->measures & measures[m].bit) fprintf(md, "---|");
    fputc('\n', md);
    for (int c = 0; c < r->n_cond; c++) {
        const LmCondition *cd = &r->cond[c];
        const LmExpRun *run = lm_rep_crun(r, cd);
        fprintf(md, "| %s |", run->cond);
        for (int a = 0; a < p->n_axes; a++) {
            lm_exp_axis_value(&p->axes[a], run, val, sizeof val);
            fprintf(md, " %s |", val);
        }
        fprintf(md, " %d/%d |", lm_rep_cond_done(r, cd), cd->n);
        for (int m = 0; m < N_MEASURES; m++)
            if (p->measures & measures[m].bit) {
                LmStat s = lm_rep_cstat(r, cd, measures[m].q);
                lm_stat_format(&s, cd->n, measures[m].digits, buf, sizeof buf);
                fprintf(md, " %s |", buf);
            }
        fputc('\n', md);
    }
    if (!(p->measures & LM_MEASURE_GROUPS)) return;
    fprintf(md, "\n## Final performance per task group\n\n| condition | base | int | seq | int+seq |\n"
                "|---|---|---|---|---|\n");
    for (int c = 0; c < r->n_cond; c++) {
        const LmCondition *cd = &r->cond[c];
        fprintf(md, "| %s |", lm_rep_crun(r, cd)->cond);
        for (int g = 0; g < LM_N_GROUPS; g++) {
            LmStat s = lm_rep_cstat(r, cd, Q_GROUP + g);
            lm_stat_format(&s, cd->n, 3, buf, sizeof buf);
            fprintf(md, " %s |", buf);
        }
        fputc('\n', md);
    }
}

static void draw_all_curves(LmFigure *f, const LmExpResults *r, const void *ctx) {
    CurveSel s = {NULL, NULL, NULL, -1, -1, "mean held-out performance per condition (mean over seeds)"};
    lm_rep_curve_panel(f, 0, r, &s);
}

typedef struct {
    int axis;
    int n_panels;
    int panel_measure[N_MEASURES];
} AxisCtx;

/* The distinct values of an axis, in plan order. */
static int axis_values(const LmExpResults *r, int a, char (*vals)[160], int max) {
    int n = 0;
    for (int c = 0; c < r->n_cond; c++) {
        char v[160];
        lm_exp_axis_value(&r->plan.axes[a], lm_rep_crun(r, &r->cond[c]), v, sizeof v);
        int k = 0;
        while (k < n && strcmp(vals[k], v)) k++;
        if (k == n && n < max) strcpy(vals[n++], v);
    }
    return n;
}

static void draw_axis(LmFigure *f, const LmExpResults *r, const void *vctx) {
    const AxisCtx *ctx = vctx;
    const LmExpAxis *ax = &r->plan.axes[ctx->axis];
    char (*vals)[160] = lm_calloc(64, sizeof *vals);
    int nv = axis_values(r, ctx->axis, vals, 64);
    for (int p = 0; p < ctx->n_panels; p++) {
        const Measure *m = &measures[ctx->panel_measure[p]];
        double mean[64], err[64], top = 0;
        const char *labels[64];
        double *px = lm_malloc(sizeof(double) * (size_t)(r->n_cond + 1)), *py = lm_malloc(sizeof(double) * (size_t)(r->n_cond + 1));
        int np = 0;
        for (int k = 0; k < nv; k++) {
            double *cm = lm_malloc(sizeof(double) * (size_t)(r->n_cond + 1));
            int nc = 0;
            for (int c = 0; c < r->n_cond; c++) {
                char v[160];
                lm_exp_axis_value(ax, lm_rep_crun(r, &r->cond[c]), v, sizeof v);
                if (strcmp(v, vals[k])) continue;
                LmStat s = lm_rep_cstat(r, &r->cond[c], m->q);
                if (!s.n) continue;
                cm[nc++] = s.mean;
                px[np] = k;
                py[np++] = s.mean;
                if (s.mean > top) top = s.mean;
            }
            LmStat s = lm_stat(cm, nc);
            mean[k] = s.n ? s.mean : 0;
            err[k] = s.n > 1 ? s.std : 0;
            if (s.n && s.mean + err[k] > top) top = s.mean + err[k];
            labels[k] = vals[k];
            free(cm);
        }
        if (m->q == Q_FINAL || m->q == Q_AUC) top = 1;
        lm_fig_panel(f, p, -0.7, nv - 0.3, 0, top > 0 ? top * 1.08 : 1, m->title, ax->name, m->name);
        if (nv) lm_fig_bars(f, nv, mean, err, labels, NULL);
        if (np) lm_fig_points(f, np, px, py, 1);
        else lm_fig_text(f, 0, 0.5 * (top > 0 ? top : 1), "no run reached this");
        free(px);
        free(py);
    }
    free(vals);
}

int lm_report_sweep(FILE *md, Out *o, const LmExpResults *r) {
    const LmExpPlan *p = &r->plan;
    sweep_table(md, r);
    fputc('\n', md);
    int rc = lm_rep_figure(o, "learning_curves", 1400, 700, 1, 1, draw_all_curves, r, NULL);
    fprintf(md, "Figures: `learning_curves.png` (every condition, mean over seeds)");
    AxisCtx ctx = {0, 0, {0}};
    for (int m = 0; m < N_MEASURES; m++)
        if (p->measures & measures[m].bit) ctx.panel_measure[ctx.n_panels++] = m;
    for (int a = 0; a < p->n_axes && !rc && ctx.n_panels; a++) {
        ctx.axis = a;
        char name[128] = "axis_";
        size_t len = strlen(name);
        for (const char *c = p->axes[a].name; *c && len + 1 < sizeof name; c++) name[len++] = *c == '+' ? '-' : *c;
        name[len] = '\0';
        int cols = ctx.n_panels < 3 ? ctx.n_panels : 3, rows = (ctx.n_panels + cols - 1) / cols;
        rc = lm_rep_figure(o, name, 600 * cols, 450 * rows, cols, rows, draw_axis, r, &ctx);
        fprintf(md, ", `%s.png` (every measure vs %s: bars = mean over the conditions with that value, whiskers = "
                    "std over them, dots = each condition)", name, p->axes[a].name);
    }
    fprintf(md, ".\n\n");
    return rc;
}
