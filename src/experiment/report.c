/* The experiment report: tables in Markdown, one CSV row per run, and figures through src/plot
 * (density and pool size on logarithmic axes). */
#include "experiment/report.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "experiment/structure.h"
#include "io/npz.h"
#include "plot/plot.h"
#include "util/err.h"

static const char *group_label[LM_N_GROUPS] = {"base", "int", "seq", "int+seq"};

/* ---------------------------------------------------------------- per-run quantities */
typedef enum {
    Q_FINAL = 0, Q_AUC, Q_WALL, Q_STEPS, Q_TRIALS,
    Q_STEP_T,                       /* + threshold index */
    Q_TRIALS_T = Q_STEP_T + LM_N_THRESH,
    Q_WALL_T = Q_TRIALS_T + LM_N_THRESH,
    Q_GROUP = Q_WALL_T + LM_N_THRESH,   /* + group index */
    Q_COUNT = Q_GROUP + LM_N_GROUPS
} Quantity;

static double run_value(const LmRunResult *r, int q) {
    if (q == Q_FINAL) return r->final_mean;
    if (q == Q_AUC) return r->auc;
    if (q == Q_WALL) return r->has_log ? r->wall_done : NAN;
    if (q == Q_STEPS) return r->has_log ? (double)r->steps_done : NAN;
    if (q == Q_TRIALS) return r->has_log ? (double)r->trials_done : NAN;
    if (q >= Q_STEP_T && q < Q_TRIALS_T) return r->thr_step[q - Q_STEP_T] >= 0 ? (double)r->thr_step[q - Q_STEP_T] : NAN;
    if (q >= Q_TRIALS_T && q < Q_WALL_T)
        return r->thr_trials[q - Q_TRIALS_T] >= 0 ? (double)r->thr_trials[q - Q_TRIALS_T] : NAN;
    if (q >= Q_WALL_T && q < Q_GROUP) return r->thr_step[q - Q_WALL_T] >= 0 ? r->thr_wall[q - Q_WALL_T] : NAN;
    if (q >= Q_GROUP && q < Q_COUNT) return r->final_group[q - Q_GROUP];
    return NAN;
}

static LmStat cstat(const LmExpResults *r, const LmCondition *c, int q) {
    double *v = lm_malloc(sizeof(double) * (size_t)(c->n ? c->n : 1));
    for (int i = 0; i < c->n; i++) v[i] = run_value(&r->res[c->idx[i]], q);
    LmStat s = lm_stat(v, c->n);
    free(v);
    return s;
}

void lm_stat_format(const LmStat *s, int of, int digits, char *out, size_t n) {
    if (s->n == 0) {
        snprintf(out, n, "—");
        return;
    }
    int len;
    if (s->n == 1)
        len = snprintf(out, n, "%.*f", digits, s->mean);
    else
        len = snprintf(out, n, "%.*f ± %.*f", digits, s->mean, digits, s->std);
    if (len > 0 && (size_t)len < n && s->n < of) snprintf(out + len, n - (size_t)len, " (%d/%d)", s->n, of);
}

static const LmExpRun *crun(const LmExpResults *r, const LmCondition *c) { return &r->plan.runs[c->first]; }

static int cond_done(const LmExpResults *r, const LmCondition *c) {
    int k = 0;
    for (int i = 0; i < c->n; i++) k += r->res[c->idx[i]].done;
    return k;
}

/* Mean learning curve of a condition over its seeds, on the eval steps of its longest run. */
typedef struct {
    int n;
    double *x, *y;
} Curve;

static Curve mean_curve(const LmExpResults *r, const LmCondition *c, int group /* -1 = mean */) {
    Curve cv = {0, NULL, NULL};
    const LmRunResult *longest = NULL;
    for (int i = 0; i < c->n; i++) {
        const LmRunResult *rr = &r->res[c->idx[i]];
        if (!longest || rr->n_eval > longest->n_eval) longest = rr;
    }
    if (!longest || !longest->n_eval) return cv;
    cv.n = longest->n_eval;
    cv.x = lm_malloc(sizeof(double) * (size_t)cv.n);
    cv.y = lm_malloc(sizeof(double) * (size_t)cv.n);
    for (int k = 0; k < cv.n; k++) {
        cv.x[k] = (double)longest->step[k];
        double sum = 0;
        int cnt = 0;
        for (int i = 0; i < c->n; i++) {
            const LmRunResult *rr = &r->res[c->idx[i]];
            if (k < rr->n_eval && rr->step[k] == longest->step[k]) {
                double v = group < 0 ? rr->mean[k] : rr->group[k][group];
                if (isfinite(v)) {
                    sum += v;
                    cnt++;
                }
            }
        }
        cv.y[k] = cnt ? sum / cnt : NAN;
    }
    return cv;
}

static void curve_free(Curve *c) {
    free(c->x);
    free(c->y);
}

/* ---------------------------------------------------------------- output */
typedef struct {
    char dir[LM_EXP_PATH];
    FILE *list;
} Out;

typedef void (*DrawFn)(LmFigure *f, const LmExpResults *r, const void *ctx);

/* One figure as PNG and SVG. */
static int figure(Out *o, const char *name, int w, int h, int cols, int rows, DrawFn draw, const LmExpResults *r,
                  const void *ctx) {
    static const char *ext[2] = {"png", "svg"};
    for (int e = 0; e < 2; e++) {
        char file[128], path[LM_EXP_PATH];
        snprintf(file, sizeof file, "%s.%s", name, ext[e]);
        lm_exp_path(path, o->dir, file);
        LmFigure *f = lm_fig_new(path, w, h, cols, rows);
        if (!f) return -1;
        draw(f, r, ctx);
        if (lm_fig_close(f) != 0) return -1;
        if (o->list) fprintf(o->list, "wrote %s\n", path);
    }
    return 0;
}

static double positive_or_nan(double v) { return v > 0 ? v : NAN; }

/* ---------------------------------------------------------------- learning curves */
typedef struct {
    const char *battery;     /* only conditions of this battery (NULL: all) */
    const char *mask;        /* only this mask kind (NULL: all) */
    const char *also_mask;   /* ...plus this one */
    long pool;               /* -1: any */
    int group;               /* -1: mean over tasks */
    const char *title;
} CurveSel;

static int selected(const LmExpRun *run, const CurveSel *s) {
    if (s->battery && strcmp(run->battery, s->battery)) return 0;
    if (s->pool >= 0 && run->pool_trials != s->pool) return 0;
    if (s->mask && strcmp(run->mask, s->mask) && !(s->also_mask && !strcmp(run->mask, s->also_mask))) return 0;
    return 1;
}

static void draw_curve_panel(LmFigure *f, int panel, const LmExpResults *r, const CurveSel *s) {
    int nc = 0;
    Curve *cv = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof(Curve));
    const char **labels = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof(char *));
    char (*lab)[96] = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof *lab);
    double xmax = 1;
    for (int c = 0; c < r->n_cond; c++) {
        const LmExpRun *run = crun(r, &r->cond[c]);
        if (!selected(run, s)) continue;
        Curve k = mean_curve(r, &r->cond[c], s->group);
        if (!k.n) continue;
        cv[nc] = k;
        if (run->pool_trials > 0)
            snprintf(lab[nc], sizeof lab[nc], "K = %ld trials", run->pool_trials);   /* the title names the mask */
        else
            snprintf(lab[nc], sizeof lab[nc], "%s", run->label);
        labels[nc] = lab[nc];
        if (k.x[k.n - 1] > xmax) xmax = k.x[k.n - 1];
        nc++;
    }
    lm_fig_panel(f, panel, 0, xmax, 0, 1, s->title, "optimiser steps",
                 s->group < 0 ? "mean held-out perf" : "group perf");
    if (nc == 0) lm_fig_text(f, 0.4 * xmax, 0.5, "no runs");
    /* lm_fig_lines shares x across series: draw each condition on its own x grid. */
    for (int k = 0; k < nc; k++) {
        /* Series k keeps colour k and its legend entry by padding the others with NaN. */
        const double **ys = lm_calloc((size_t)nc, sizeof(double *));
        double *nan = lm_malloc(sizeof(double) * (size_t)cv[k].n);
        for (int i = 0; i < cv[k].n; i++) nan[i] = NAN;
        for (int j = 0; j < nc; j++) ys[j] = j == k ? cv[k].y : nan;
        lm_fig_lines(f, nc, cv[k].n, cv[k].x, ys, k == 0 ? labels : NULL);
        free(nan);
        free(ys);
    }
    for (int k = 0; k < nc; k++) curve_free(&cv[k]);
    free(cv);
    free(labels);
    free(lab);
}

/* ---------------------------------------------------------------- autapse */
static const char *autapse_bats[2] = {"yang20", "modcog82"};

static void draw_autapse_curves(LmFigure *f, const LmExpResults *r, const void *ctx) {
    for (int b = 0; b < 2; b++) {
        char title[64];
        snprintf(title, sizeof title, "%s: learning curves (mean over seeds)", autapse_bats[b]);
        CurveSel s = {autapse_bats[b], NULL, NULL, -1, -1, title};
        draw_curve_panel(f, b, r, &s);
    }
}

/* Group bars: for each battery, the groups it has x masks, value = mean over seeds, error = std. */
static void draw_autapse_groups(LmFigure *f, const LmExpResults *r, const void *ctx) {
    for (int b = 0; b < 2; b++) {
        double val[64], err[64];
        int col[64];
        char lab[64][80];
        const char *labels[64];
        int n = 0;
        for (int g = 0; g < LM_N_GROUPS; g++)
            for (int c = 0; c < r->n_cond && n < 64; c++) {
                const LmExpRun *run = crun(r, &r->cond[c]);
                if (strcmp(run->battery, autapse_bats[b])) continue;
                LmStat s = cstat(r, &r->cond[c], Q_GROUP + g);
                if (!s.n) continue;
                val[n] = s.mean;
                err[n] = s.n > 1 ? s.std : 0;
                col[n] = !strcmp(run->mask, "diag") ? 0 : !strcmp(run->mask, "local2d") ? 1 : 2;
                snprintf(lab[n], sizeof lab[n], "%s: %s", group_label[g], run->label);
                labels[n] = lab[n];
                n++;
            }
        char title[96];
        snprintf(title, sizeof title, "%s: final perf by task group (bars: mean, whiskers: std over seeds)",
                 autapse_bats[b]);
        lm_fig_panel(f, b, -0.7, n > 0 ? n - 0.3 : 1, 0, 1.05, title, NULL, "held-out perf");
        if (n)
            lm_fig_bars(f, n, val, err, labels, col);
        else
            lm_fig_text(f, 0, 0.5, "no runs");
    }
}

static void autapse_tables(FILE *md, const LmExpResults *r) {
    fprintf(md, "## Task-group performance (C1, C2)\n\n"
                "Final held-out `last_step` performance, mean over the tasks of each group, then mean ± std over "
                "seeds.\n\n| battery | mask | runs done | mean | base | int | seq | int+seq |\n|---|---|---|---|---|---|---|---|\n");
    char buf[64];
    for (int c = 0; c < r->n_cond; c++) {
        const LmCondition *cd = &r->cond[c];
        const LmExpRun *run = crun(r, cd);
        fprintf(md, "| %s | %s | %d/%d |", run->battery, run->label, cond_done(r, cd), cd->n);
        LmStat s = cstat(r, cd, Q_FINAL);
        lm_stat_format(&s, cd->n, 3, buf, sizeof buf);
        fprintf(md, " %s |", buf);
        for (int g = 0; g < LM_N_GROUPS; g++) {
            s = cstat(r, cd, Q_GROUP + g);
            lm_stat_format(&s, cd->n, 3, buf, sizeof buf);
            fprintf(md, " %s |", buf);
        }
        fputc('\n', md);
    }
    /* Per-task tables, one per battery: tasks in eval.json order, one column per mask. */
    for (int b = 0; b < 2; b++) {
        int cols[16], nc = 0;
        for (int c = 0; c < r->n_cond && nc < 16; c++)
            if (!strcmp(crun(r, &r->cond[c])->battery, autapse_bats[b])) cols[nc++] = c;
        const LmRunResult *ref = NULL;
        for (int k = 0; k < nc && !ref; k++)
            for (int i = 0; i < r->cond[cols[k]].n; i++)
                if (r->res[r->cond[cols[k]].idx[i]].n_tasks) {
                    ref = &r->res[r->cond[cols[k]].idx[i]];
                    break;
                }
        if (!ref) continue;
        fprintf(md, "\n## Per-task performance on %s\n\nMean ± std over seeds of the final held-out performance.\n\n"
                    "| task | group |", autapse_bats[b]);
        for (int k = 0; k < nc; k++) fprintf(md, " %s |", crun(r, &r->cond[cols[k]])->label);
        fprintf(md, "\n|---|---|");
        for (int k = 0; k < nc; k++) fprintf(md, "---|");
        fputc('\n', md);
        for (int t = 0; t < ref->n_tasks; t++) {
            int g = ref->task_group[t];
            fprintf(md, "| %s | %s |", ref->task[t], g >= 0 ? group_label[g] : "?");
            for (int k = 0; k < nc; k++) {
                const LmCondition *cd = &r->cond[cols[k]];
                double v[64];
                int n = 0;
                for (int i = 0; i < cd->n && n < 64; i++) {
                    const LmRunResult *rr = &r->res[cd->idx[i]];
                    v[n++] = t < rr->n_tasks && !strcmp(rr->task[t], ref->task[t]) ? rr->task_perf[t] : NAN;
                }
                LmStat s = lm_stat(v, n);
                lm_stat_format(&s, cd->n, 2, buf, sizeof buf);
                fprintf(md, " %s |", buf);
            }
            fputc('\n', md);
        }
    }
}

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
            const LmExpRun *run = crun(r, cd);
            LmStat s = cstat(r, cd, mt->q);
            s.mean *= mt->scale;
            s.max *= mt->scale;
            double x = positive_or_nan(run->density);
            int kind = !strcmp(run->mask, "random") ? 1 : !strcmp(run->mask, "full") ? 2 : 0;
            if (kind == 0 && nl < 32) { xl[nl] = x; yl[nl++] = s.n ? s.mean : NAN; }
            if (kind == 1 && nr < 32) { xr[nr] = x; yr[nr++] = s.n ? s.mean : NAN; }
            if (kind == 2 && nf < 1) yf[nf++] = s.n ? s.mean : NAN;
            if (s.n && s.max > ymax) ymax = s.max;
            for (int i = 0; i < cd->n && np < 256; i++) {
                double v = mt->scale * run_value(&r->res[cd->idx[i]], mt->q);
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
                const LmExpRun *run = crun(r, &r->cond[c]);
                if (!strcmp(run->mask, "local2d") && run->d == ctx->best_d) bx = positive_or_nan(run->density);
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
    draw_curve_panel(f, 0, r, &a);
    draw_curve_panel(f, 1, r, &b);
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
        const LmExpRun *run = crun(r, &r->cond[c]);
        if (strcmp(run->mask, "local2d")) continue;
        const LmCondition *rc = NULL;
        for (int k = 0; k < r->n_cond; k++) {
            const LmExpRun *o = crun(r, &r->cond[k]);
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
                LmStat s = cstat(r, cd, qs[q]);
                lm_stat_format(&s, cd->n, q == 2 ? 0 : 3, buf, sizeof buf);
                fprintf(md, " %s |", buf);
            }
        fputc('\n', md);
    }
}

/* ---------------------------------------------------------------- data efficiency */
static void draw_data_efficiency(LmFigure *f, const LmExpResults *r, const void *ctx) {
    static const char *masks[3] = {"local2d", "random", "full"};
    const LmExpSettings *set = &r->plan.set;
    int nk = set->n_pool;
    double x[8], y[3][8];
    const char *labels[3] = {"local2d (no runs)", "random (no runs)", "full (no runs)"};
    char lab[3][64];
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < nk; k++) {
        x[k] = positive_or_nan((double)set->pool_trials[k]);
        lo = fmin(lo, x[k]);
        hi = fmax(hi, x[k]);
    }
    if (!(lo < hi)) {
        lo = isfinite(lo) ? lo / 3 : 1;
        hi = lo * 10;
    }
    for (int panel = 0; panel < 2; panel++) {
        int q = panel == 0 ? Q_FINAL : Q_AUC;
        lm_fig_panel_logx(f, panel, lo / 1.6, hi * 1.6, 0, 1.05,
                     panel == 0 ? "final held-out perf vs training-pool size" : "learning-curve AUC vs pool size",
                     "training pool (trials)", panel == 0 ? "mean perf" : "AUC");
        for (int m = 0; m < 3; m++)
            for (int k = 0; k < nk; k++) y[m][k] = NAN;
        for (int c = 0; c < r->n_cond; c++) {
            const LmCondition *cd = &r->cond[c];
            const LmExpRun *run = crun(r, cd);
            int m = !strcmp(run->mask, "local2d") ? 0 : !strcmp(run->mask, "random") ? 1 : 2;
            snprintf(lab[m], sizeof lab[m], "%s", run->label);
            labels[m] = lab[m];
            (void)masks;
            for (int k = 0; k < nk; k++)
                if (run->pool_trials == set->pool_trials[k]) {
                    LmStat s = cstat(r, cd, q);
                    y[m][k] = s.n ? s.mean : NAN;
                    double px[64], py[64];
                    int np = 0;
                    for (int i = 0; i < cd->n && np < 64; i++) {
                        double v = run_value(&r->res[cd->idx[i]], q);
                        if (isfinite(v)) {
                            px[np] = x[k] + 0.02 * (m - 1);
                            py[np++] = v;
                        }
                    }
                    if (np) lm_fig_points(f, np, px, py, m);
                }
        }
        /* Only the masks that have runs get a series (and a legend entry); colours stay per mask. */
        int last = -1;
        for (int m = 0; m < 3; m++)
            for (int k = 0; k < nk; k++)
                if (isfinite(y[m][k])) last = m;
        const double *ys[3] = {y[0], y[1], y[2]};
        if (nk && last >= 0) lm_fig_lines(f, last + 1, nk, x, ys, labels);
    }
}

static void draw_de_curves(LmFigure *f, const LmExpResults *r, const void *ctx) {
    static const char *masks[3] = {"local2d", "random", "full"};
    for (int m = 0; m < 3; m++) {
        char title[128];
        const char *label = masks[m];
        for (int c = 0; c < r->n_cond; c++)
            if (!strcmp(crun(r, &r->cond[c])->mask, masks[m])) label = crun(r, &r->cond[c])->label;
        snprintf(title, sizeof title, "%s: learning curves per pool", label);
        CurveSel s = {NULL, masks[m], NULL, -1, -1, title};
        draw_curve_panel(f, m, r, &s);
    }
}

static void de_tables(FILE *md, const LmExpResults *r) {
    const LmExpSettings *set = &r->plan.set;
    static const char *masks[3] = {"local2d", "random", "full"};
    char buf[64];
    fprintf(md, "## Final held-out performance vs training-pool size (C3)\n\n"
                "K = distinct training trials in the pool (converted to `--train-pool` batches, cycled).\n\n"
                "| K trials | pool batches | local2d | random | full |\n|---|---|---|---|---|\n");
    for (int k = 0; k < set->n_pool; k++) {
        long batches = 0;
        for (int i = 0; i < r->plan.n; i++)
            if (r->plan.runs[i].pool_trials == set->pool_trials[k]) batches = r->plan.runs[i].pool_batches;
        fprintf(md, "| %ld | %ld |", set->pool_trials[k], batches);
        for (int m = 0; m < 3; m++) {
            const LmCondition *cd = NULL;
            for (int c = 0; c < r->n_cond; c++) {
                const LmExpRun *run = crun(r, &r->cond[c]);
                if (!strcmp(run->mask, masks[m]) && run->pool_trials == set->pool_trials[k]) cd = &r->cond[c];
            }
            if (!cd) {
                fprintf(md, " — |");
                continue;
            }
            LmStat s = cstat(r, cd, Q_FINAL);
            lm_stat_format(&s, cd->n, 3, buf, sizeof buf);
            fprintf(md, " %s |", buf);
        }
        fputc('\n', md);
    }
}

/* ---------------------------------------------------------------- common tables */
static void condition_table(FILE *md, const LmExpResults *r) {
    char buf[64];
    fprintf(md, "## All conditions\n\nMean ± std over seeds; a threshold column shows (n/N) when only n of the N "
                "seeds reached it (the mean is then over those n). AUC = mean held-out performance over the "
                "training run (area under the learning curve / its length).\n\n"
                "| battery | condition | density | K trials | runs done | final perf | AUC | steps to 0.5 | steps to "
                "0.8 | steps to 0.9 | trials to 0.8 | wall s to 0.8 | steps | wall s |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < r->n_cond; c++) {
        const LmCondition *cd = &r->cond[c];
        const LmExpRun *run = crun(r, cd);
        fprintf(md, "| %s | %s | %.4f | ", run->battery, run->label, run->density);
        if (run->pool_trials > 0)
            fprintf(md, "%ld |", run->pool_trials);
        else
            fprintf(md, "∞ |");
        fprintf(md, " %d/%d |", cond_done(r, cd), cd->n);
        static const int qs[] = {Q_FINAL, Q_AUC, Q_STEP_T, Q_STEP_T + 1, Q_STEP_T + 2, Q_TRIALS_T + 1, Q_WALL_T + 1,
                                 Q_STEPS, Q_WALL};
        static const int dg[] = {3, 3, 0, 0, 0, 0, 0, 0, 0};
        for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
            LmStat s = cstat(r, cd, qs[q]);
            lm_stat_format(&s, cd->n, dg[q], buf, sizeof buf);
            fprintf(md, " %s |", buf);
        }
        fputc('\n', md);
    }
}

static int write_runs_csv(const char *path, const LmExpResults *r) {
    size_t cap = 1 << 16, len = 0;
    char *text = lm_malloc(cap);
#define EMIT(...)                                                                                  \
    do {                                                                                           \
        int n_ = snprintf(text + len, cap - len, __VA_ARGS__);                                     \
        if ((size_t)n_ >= cap - len) {                                                             \
            cap = 2 * cap + (size_t)n_;                                                            \
            text = lm_realloc(text, cap);                                                          \
            n_ = snprintf(text + len, cap - len, __VA_ARGS__);                                     \
        }                                                                                          \
        len += (size_t)n_;                                                                         \
    } while (0)
    EMIT("id,condition,battery,mask,d,density,pool_trials,pool_batches,seed,done,steps,trials,wall,final_mean,"
         "base,int,seq,intseq,auc,steps_to_0.5,steps_to_0.8,steps_to_0.9,trials_to_0.5,trials_to_0.8,"
         "trials_to_0.9,wall_to_0.5,wall_to_0.8,wall_to_0.9\n");
    for (int i = 0; i < r->plan.n; i++) {
        const LmExpRun *run = &r->plan.runs[i];
        const LmRunResult *rr = &r->res[i];
        EMIT("%s,%s,%s,%s,%g,%.6g,%ld,%ld,%llu,%d", run->id, run->cond, run->battery, run->mask, run->d,
             run->density, run->pool_trials, run->pool_batches, (unsigned long long)run->seed, rr->done);
        static const int qs[] = {Q_STEPS, Q_TRIALS, Q_WALL, Q_FINAL, Q_GROUP, Q_GROUP + 1, Q_GROUP + 2, Q_GROUP + 3,
                                 Q_AUC, Q_STEP_T, Q_STEP_T + 1, Q_STEP_T + 2, Q_TRIALS_T, Q_TRIALS_T + 1,
                                 Q_TRIALS_T + 2, Q_WALL_T, Q_WALL_T + 1, Q_WALL_T + 2};
        for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
            double v = run_value(rr, qs[q]);
            if (isfinite(v))
                EMIT(",%.6g", v);
            else
                EMIT(",");
        }
        EMIT("\n");
    }
#undef EMIT
    int rc = lm_write_file_atomic(path, text, len);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- lottery (C7) */
/* Per condition: the mean over its finished runs of their final masks' structure. */
typedef struct {
    int n;
    double within3, within8, diag, density;
    double wdist[LM_STRUCT_BINS];
} LotteryStruct;

static LotteryStruct *lottery_structures(const LmExpResults *r, const char *dir) {
    LotteryStruct *ls = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof *ls);
    for (int c = 0; c < r->n_cond; c++) {
        LotteryStruct *o = &ls[c];
        double wn[LM_STRUCT_BINS] = {0};
        for (int k = 0; k < r->cond[c].n; k++) {
            const LmExpRun *run = &r->plan.runs[r->cond[c].idx[k]];
            char runs[LM_EXP_PATH], path[LM_EXP_PATH];
            lm_exp_path(runs, dir, "runs");
            lm_exp_path(path, runs, run->id);
            LmMaskStructure st;
            if (!r->res[r->cond[c].idx[k]].done || lm_run_structure(path, 3, 8, &st) != 0) continue;
            o->n++;
            o->within3 += st.within_near, o->within8 += st.within_far, o->diag += st.diag, o->density += st.density;
            for (int b = 0; b < LM_STRUCT_BINS; b++)
                if (isfinite(st.wdist[b])) o->wdist[b] += st.wdist[b], wn[b] += 1;
        }
        if (o->n) o->within3 /= o->n, o->within8 /= o->n, o->diag /= o->n, o->density /= o->n;
        for (int b = 0; b < LM_STRUCT_BINS; b++) o->wdist[b] = wn[b] > 0 ? o->wdist[b] / wn[b] : NAN;
    }
    return ls;
}

static void lottery_tables(FILE *md, const LmExpResults *r, const LotteryStruct *ls) {
    fprintf(md, "## Structure of the final masks\n\nMean over the finished seeds. *Within d* = fraction of the mask's "
                "connections between units closer than d on the sheet (local2d d = 3 has 1.0 within 3; a uniformly "
                "random mask on 16x16 has about 0.11 within 3); *autapses* = fraction of the N self-connections "
                "present; then the mean |w| of the surviving connections at sheet distance 0, 1, 2, 3, 5, 8, 12.\n\n"
                "| condition | runs | density | within 3 | within 8 | autapses | abs w @0 | @1 | @2 | @3 | @5 | @8 | "
                "@12 |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    static const int at[] = {0, 1, 2, 3, 5, 8, 12};
    for (int c = 0; c < r->n_cond; c++) {
        const LotteryStruct *o = &ls[c];
        fprintf(md, "| %s | %d |", crun(r, &r->cond[c])->label, o->n);
        if (!o->n) {
            fprintf(md, " – | – | – | – | – | – | – | – | – | – | – |\n");
            continue;
        }
        fprintf(md, " %.4f | %.3f | %.3f | %.3f |", o->density, o->within3, o->within8, o->diag);
        for (int k = 0; k < 7; k++) {
            if (isfinite(o->wdist[at[k]])) fprintf(md, " %.3f |", o->wdist[at[k]]);
            else fprintf(md, " – |");
        }
        fputc('\n', md);
    }
    fputc('\n', md);
}

static void draw_lottery(LmFigure *f, const LmExpResults *r, const void *ctx) {
    const LotteryStruct *ls = ctx;
    CurveSel a = {NULL, NULL, NULL, -1, -1, "mean held-out perf over seeds (IMP: its search rounds included)"};
    draw_curve_panel(f, 0, r, &a);
    double x[LM_STRUCT_BINS], ymax = 0;
    for (int b = 0; b < LM_STRUCT_BINS; b++) x[b] = b;
    const double **ys = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof(double *));
    const char **labels = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof(char *));
    for (int c = 0; c < r->n_cond; c++) {
        ys[c] = ls[c].wdist;
        labels[c] = crun(r, &r->cond[c])->label;
        for (int b = 0; b < LM_STRUCT_BINS; b++)
            if (isfinite(ls[c].wdist[b]) && ls[c].wdist[b] > ymax) ymax = ls[c].wdist[b];
    }
    lm_fig_panel(f, 1, 0, LM_STRUCT_BINS - 1, 0, ymax > 0 ? 1.1 * ymax : 1,
                 "final mean |w| of surviving connections vs sheet distance", "distance on the sheet (rounded)",
                 "mean |w_ij|");
    if (r->n_cond) lm_fig_lines(f, r->n_cond, LM_STRUCT_BINS, x, ys, labels);
    free(ys);
    free(labels);
}

/* ---------------------------------------------------------------- entry point */
int lm_exp_report(const char *dir, FILE *list) {
    LmExpResults r;
    if (lm_exp_results_load(dir, &r) != 0) return -1;
    Out o;
    o.list = list;
    lm_exp_path(o.dir, dir, "report");
    int rc = lm_mkdir_p(o.dir);
    const LmExpSettings *set = &r.plan.set;

    /* summary.md is built in memory and written atomically. */
    char *md_text = NULL;
    size_t md_len = 0;
    FILE *md = open_memstream(&md_text, &md_len);
    if (!md) {
        lm_err_set("out of memory building summary.md");
        lm_exp_results_free(&r);
        return -1;
    }
    int n_done = 0, n_eval = 0;
    for (int i = 0; i < r.plan.n; i++) {
        n_done += r.res[i].done;
        n_eval += r.res[i].has_eval;
    }
    fprintf(md, "# Experiment `%s` (%s scale)\n\n", lm_experiment_name(set->exp), lm_scale_name(set->scale));
    fprintf(md, "%d runs in %d conditions; %d finished, %d with a final evaluation. Every run: N = %d hidden units, "
                "batch %d, %ld optimiser steps, held-out evaluation every %d steps on %d trials per task "
                "(`last_step` metric), seeds 1..%d%s.\n\n",
            r.plan.n, r.n_cond, n_done, n_eval, set->hidden, set->batch, set->steps, set->eval_every,
            set->eval_trials, set->seeds, set->fix_all ? ", task corrections `--fix all`" : "");
    if (n_done < r.plan.n)
        fprintf(md, "**Incomplete:** %d runs have not finished; their columns use whatever they logged so far.\n\n",
                r.plan.n - n_done);
    fprintf(md, "Per-run numbers: `runs.csv`. Run directories: `../runs/<id>/`.\n\n");

    double best_d = 0;
    if (!rc) switch (set->exp) {
    case LM_EXP_AUTAPSE:
        autapse_tables(md, &r);
        fputc('\n', md);
        rc = figure(&o, "autapse_groups", 1400, 1000, 1, 2, draw_autapse_groups, &r, NULL);
        if (!rc) rc = figure(&o, "learning_curves", 1400, 600, 2, 1, draw_autapse_curves, &r, NULL);
        fprintf(md, "Figures: `autapse_groups.png` (group bars), `learning_curves.png`.\n\n");
        break;
    case LM_EXP_SPARSITY: {
        best_d = lm_exp_best_d(&r);
        sparsity_tables(md, &r, best_d);
        fputc('\n', md);
        SparsityCtx ctx = {best_d};
        rc = figure(&o, "sparsity", 1800, 1000, 3, 2, draw_sparsity, &r, &ctx);
        if (!rc) rc = figure(&o, "learning_curves", 1600, 600, 2, 1, draw_sparsity_curves, &r, NULL);
        fprintf(md, "Figures: `sparsity.png` (performance, AUC and steps to threshold vs density; lines = mean over "
                    "seeds, points = single seeds; the vertical line marks the optimum), `learning_curves.png`.\n\n");
        break;
    }
    case LM_EXP_DATA_EFFICIENCY:
        fprintf(md, "LM-RNN: local2d d = %g; random: density-matched to it.\n\n", set->best_d);
        de_tables(md, &r);
        fputc('\n', md);
        rc = figure(&o, "data_efficiency", 1400, 600, 2, 1, draw_data_efficiency, &r, NULL);
        if (!rc) rc = figure(&o, "learning_curves", 1800, 600, 3, 1, draw_de_curves, &r, NULL);
        fprintf(md, "Figures: `data_efficiency.png` (lines = mean over seeds, points = single seeds), "
                    "`learning_curves.png`.\n\n");
        break;
    case LM_EXP_LOTTERY: {
        fprintf(md, "C7: the LM-RNN (local2d d = 3, and d = 8, the sweep's best) against masks found by search at "
                    "d = 3's density over the full matrix (IMP ticket with rewinding to the initialisation, SET, RigL, "
                    "GraNet) and the density-matched random mask. Steps, trials and wall time to a threshold count "
                    "the whole run, so IMP pays for its search rounds; its AUC too (docs/lottery.md).\n\n");
        LotteryStruct *ls = lottery_structures(&r, dir);
        lottery_tables(md, &r, ls);
        rc = figure(&o, "lottery", 1700, 650, 2, 1, draw_lottery, &r, ls);
        free(ls);
        fprintf(md, "Figure: `lottery.png` (learning curves; |w| against sheet distance of the final masks).\n\n");
        break;
    }
    default:
        break;
    }
    condition_table(md, &r);
    fclose(md);
    if (!rc) {
        char path[LM_EXP_PATH];
        lm_exp_path(path, o.dir, "summary.md");
        rc = lm_write_file_atomic(path, md_text, md_len);
        if (!rc && list) fprintf(list, "wrote %s\n", path);
        lm_exp_path(path, o.dir, "runs.csv");
        if (!rc) rc = write_runs_csv(path, &r);
        if (!rc && list) fprintf(list, "wrote %s\n", path);
    }
    free(md_text);
    lm_exp_results_free(&r);
    return rc ? -1 : 0;
}
