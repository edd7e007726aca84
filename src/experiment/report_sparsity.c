/* Report of the sparsity experiment (C3, C4): local vs density-matched random per d, the optimum. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "experiment/report_internal.h"
#include "util/err.h"

/* ---------------------------------------------------------------- sparsity */
typedef struct {
    int q;
    const char *title, *ylabel;
    double ymax;   /* 0: from the data */
    double scale;  /* plotted value = scale * value (keeps axis labels short) */
} Metric;

static const Metric sparsity_metrics[6] = {
    {Q_FINAL, "final held-out perf", "mean perf", 1.0, 1},
    {Q_AUC, "learning-curve AUC (mean perf over training)", "AUC", 1.0, 1},
    {Q_TRIALS_T + 1, "training trials to mean perf 0.8", "trials (thousands)", 0, 1e-3},
    {Q_STEP_T + 0, "steps to mean perf 0.5", "steps (thousands)", 0, 1e-3},
    {Q_STEP_T + 1, "steps to mean perf 0.8", "steps (thousands)", 0, 1e-3},
    {Q_STEP_T + 2, "steps to mean perf 0.9", "steps (thousands)", 0, 1e-3},
};

typedef struct {
    double best_d;
} SparsityCtx;

static void draw_sparsity(LmFigure *f, const LmExpResults *r, const void *vctx) {
    const SparsityCtx *ctx = vctx;
    /* x: density (log axis). Series 0: local2d, 1: random (matched), 2: full (a single point). */
    double xl[32], yl[32], xr[32], yr[32], yf[1];
    for (int m = 0; m < 6; m++) {
        const Metric *mt = &sparsity_metrics[m];
        int nl = 0, nr = 0, nf = 0;
        double ymax = 0;
        double px[256], py[256];
        int pc[256], np = 0;
        for (int c = 0; c < r->n_cond; c++) {
            const LmCondition *cd = &r->cond[c];
            const LmExpRun *run = lm_rep_crun(r, cd);
            LmStat s = lm_rep_cstat(r, cd, mt->q);
            s.mean *= mt->scale;
            s.max *= mt->scale;
            double x = lm_rep_positive_or_nan(run->density);
            int kind = !strcmp(run->mask, "random") ? 1 : !strcmp(run->mask, "full") ? 2 : 0;
            if (kind == 0 && nl < 32) { xl[nl] = x; yl[nl++] = s.n ? s.mean : NAN; }
            if (kind == 1 && nr < 32) { xr[nr] = x; yr[nr++] = s.n ? s.mean : NAN; }
            if (kind == 2 && nf < 1) yf[nf++] = s.n ? s.mean : NAN;
            if (s.n && s.max > ymax) ymax = s.max;
            for (int i = 0; i < cd->n && np < 256; i++) {
                double v = mt->scale * lm_rep_value(&r->res[cd->idx[i]], mt->q);
                if (!isfinite(v)) continue;
                px[np] = x * (kind == 1 ? 1.035 : kind == 0 ? 1 / 1.035 : 1);   /* side by side */
                py[np] = v;
                pc[np++] = kind;
            }
        }
        double top = mt->ymax > 0 ? mt->ymax * 1.05 : (ymax > 0 ? ymax * 1.1 : 1);
        lm_fig_panel_logx(f, m, 0.0025, 2.2, 0, top, mt->title, "mask density", mt->ylabel);
        /* Means as lines (NaN where no seed has a value), each seed as a point of its series' colour;
         * full is one more point at density 1 (series 2), drawn as a dashed level across the panel. */
        const char *labels[3] = {"local2d (LM-RNN)", "random, matched density", "full (dashed level)"};
        int n = nl > nr ? nl : nr;
        if (n > 0 || nf) {
            int np1 = n + 1;
            double *x = lm_malloc(sizeof(double) * (size_t)np1), *a = lm_malloc(sizeof(double) * (size_t)np1),
                   *b = lm_malloc(sizeof(double) * (size_t)np1), *c3 = lm_malloc(sizeof(double) * (size_t)np1);
            /* local and random conditions come in matched pairs: both on the local mask's density. */
            for (int i = 0; i < n; i++) {
                x[i] = i < nl ? xl[i] : xr[i];
                a[i] = i < nl ? yl[i] : NAN;
                b[i] = i < nr ? yr[i] : NAN;
                c3[i] = NAN;
            }
            x[n] = 1;
            a[n] = b[n] = NAN;
            c3[n] = nf ? yf[0] : NAN;
            const double *ys[3] = {a, b, c3};
            lm_fig_lines(f, nf ? 3 : 2, np1, x, ys, labels);
            free(x);
            free(a);
            free(b);
            free(c3);
        }
        if (np == 0) lm_fig_text(f, 0.005, 0.5 * top, "no run reached this");
        for (int k = 0; k < 3; k++) {
            double qx[256], qy[256];
            int nq = 0;
            for (int i = 0; i < np; i++)
                if (pc[i] == k) {
                    qx[nq] = px[i];
                    qy[nq++] = py[i];
                }
            if (nq) lm_fig_points(f, nq, qx, qy, k);
        }
        if (nf && isfinite(yf[0])) lm_fig_hline(f, yf[0], 2);
        if (ctx->best_d > 0) {
            double bx = NAN;
            for (int c = 0; c < r->n_cond; c++) {
                const LmExpRun *run = lm_rep_crun(r, &r->cond[c]);
                if (!strcmp(run->mask, "local2d") && run->d == ctx->best_d) bx = lm_rep_positive_or_nan(run->density);
            }
            char lab[48];
            snprintf(lab, sizeof lab, "optimum d=%g", ctx->best_d);
            const char *ls[1] = {lab};
            if (isfinite(bx)) lm_fig_vlines(f, 1, &bx, ls);
        }
    }
}

static void draw_sparsity_curves(LmFigure *f, const LmExpResults *r, const void *ctx) {
    CurveSel a = {NULL, "local2d", "full", -1, -1, "local2d (LM-RNN) and full: mean perf over seeds"};
    CurveSel b = {NULL, "random", "full", -1, -1, "density-matched random and full: mean perf over seeds"};
    lm_rep_curve_panel(f, 0, r, &a);
    lm_rep_curve_panel(f, 1, r, &b);
}

static void sparsity_tables(FILE *md, const LmExpResults *r, double best_d) {
    char buf[64];
    if (best_d > 0)
        fprintf(md, "## Optimal sparsity\n\nThe local2d d with the highest learning-curve AUC (mean over seeds): "
                    "**d = %g**.\n\n", best_d);
    fprintf(md, "## Local vs density-matched random (C3, C4)\n\n"
                "| d | density | local2d perf | random perf | local2d AUC | random AUC | local2d steps to 0.8 | "
                "random steps to 0.8 |\n|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < r->n_cond; c++) {
        const LmExpRun *run = lm_rep_crun(r, &r->cond[c]);
        if (strcmp(run->mask, "local2d")) continue;
        const LmCondition *rc = NULL;
        for (int k = 0; k < r->n_cond; k++) {
            const LmExpRun *o = lm_rep_crun(r, &r->cond[k]);
            if (!strcmp(o->mask, "random") && o->d == run->d && o->pool_trials == run->pool_trials &&
                !strcmp(o->battery, run->battery))
                rc = &r->cond[k];
        }
        fprintf(md, "| %g | %.4f |", run->d, run->density);
        static const int qs[3] = {Q_FINAL, Q_AUC, Q_STEP_T + 1};
        for (int q = 0; q < 3; q++)
            for (int side = 0; side < 2; side++) {
                const LmCondition *cd = side ? rc : &r->cond[c];
                if (!cd) {
                    fprintf(md, " — |");
                    continue;
                }
                LmStat s = lm_rep_cstat(r, cd, qs[q]);
                lm_stat_format(&s, cd->n, q == 2 ? 0 : 3, buf, sizeof buf);
                fprintf(md, " %s |", buf);
            }
        fputc('\n', md);
    }
}

int lm_report_sparsity(FILE *md, Out *o, const LmExpResults *r) {
    double best_d = lm_exp_best_d(r);
    sparsity_tables(md, r, best_d);
    fputc('\n', md);
    SparsityCtx ctx = {best_d};
    int rc = lm_rep_figure(o, "sparsity", 1800, 1000, 3, 2, draw_sparsity, r, &ctx);
    if (!rc) rc = lm_rep_figure(o, "learning_curves", 1600, 600, 2, 1, draw_sparsity_curves, r, NULL);
    fprintf(md, "Figures: `sparsity.png` (performance, AUC and steps to threshold vs density; lines = mean over "
                "seeds, points = single seeds; the vertical line marks the optimum), `learning_curves.png`.\n\n");
    return rc;
}
