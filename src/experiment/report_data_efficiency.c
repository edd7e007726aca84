/* Report of the data-efficiency experiment (C3): performance vs training-pool size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "experiment/report_internal.h"
#include "util/err.h"

/* ---------------------------------------------------------------- data efficiency */
static void draw_data_efficiency(LmFigure *f, const LmExpResults *r, const void *ctx) {
    static const char *masks[3] = {"local2d", "random", "full"};
    const LmExpSettings *set = &r->plan.set;
    int nk = set->n_pool;
    double x[8], y[3][8];
    const char *labels[3] = {"local2d (no runs)", "random (no runs)", "full (no runs)"};
    char lab[3][160];
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < nk; k++) {
        x[k] = lm_rep_positive_or_nan((double)set->pool_trials[k]);
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
            const LmExpRun *run = lm_rep_crun(r, cd);
            int m = !strcmp(run->mask, "local2d") ? 0 : !strcmp(run->mask, "random") ? 1 : 2;
            snprintf(lab[m], sizeof lab[m], "%s", run->label);
            labels[m] = lab[m];
            (void)masks;
            for (int k = 0; k < nk; k++)
                if (run->pool_trials == set->pool_trials[k]) {
                    LmStat s = lm_rep_cstat(r, cd, q);
                    y[m][k] = s.n ? s.mean : NAN;
                    double px[64], py[64];
                    int np = 0;
                    for (int i = 0; i < cd->n && np < 64; i++) {
                        double v = lm_rep_value(&r->res[cd->idx[i]], q);
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
        char title[192];
        const char *label = masks[m];
        for (int c = 0; c < r->n_cond; c++)
            if (!strcmp(lm_rep_crun(r, &r->cond[c])->mask, masks[m])) label = lm_rep_crun(r, &r->cond[c])->label;
        snprintf(title, sizeof title, "%s: learning curves per pool", label);
        CurveSel s = {NULL, masks[m], NULL, -1, -1, title};
        lm_rep_curve_panel(f, m, r, &s);
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
                const LmExpRun *run = lm_rep_crun(r, &r->cond[c]);
                if (!strcmp(run->mask, masks[m]) && run->pool_trials == set->pool_trials[k]) cd = &r->cond[c];
            }
            if (!cd) {
                fprintf(md, " — |");
                continue;
            }
            LmStat s = lm_rep_cstat(r, cd, Q_FINAL);
            lm_stat_format(&s, cd->n, 3, buf, sizeof buf);
            fprintf(md, " %s |", buf);
        }
        fputc('\n', md);
    }
}

int lm_report_data_efficiency(FILE *md, Out *o, const LmExpResults *r) {
    fprintf(md, "LM-RNN: local2d d = %g; random: density-matched to it.\n\n", r->plan.set.best_d);
    de_tables(md, r);
    fputc('\n', md);
    int rc = lm_rep_figure(o, "data_efficiency", 1400, 600, 2, 1, draw_data_efficiency, r, NULL);
    if (!rc) rc = lm_rep_figure(o, "learning_curves", 1800, 600, 3, 1, draw_de_curves, r, NULL);
    fprintf(md, "Figures: `data_efficiency.png` (lines = mean over seeds, points = single seeds), "
                "`learning_curves.png`.\n\n");
    return rc;
}
