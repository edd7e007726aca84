/* Report of the lottery experiment (C7): the final masks' structure (within sheet distance 3 / 8,
 * autapses, |w| against distance) and its figure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "experiment/report_internal.h"
#include "experiment/structure.h"
#include "util/err.h"

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
            if (!r->res[r->cond[c].idx[k]].has_eval || lm_run_structure(path, 3, 8, &st) != 0) continue;
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
                "random mask has the share of all unit pairs: 0.084 within 3 and 0.469 within 8 on 16x16); "
                "*autapses* = fraction of the N self-connections "
                "present; then the mean |w| of the surviving connections at sheet distance 0, 1, 2, 3, 5, 8, 12.\n\n"
                "| condition | runs | density | within 3 | within 8 | autapses | abs w @0 | @1 | @2 | @3 | @5 | @8 | "
                "@12 |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    static const int at[] = {0, 1, 2, 3, 5, 8, 12};
    for (int c = 0; c < r->n_cond; c++) {
        const LotteryStruct *o = &ls[c];
        fprintf(md, "| %s | %d |", lm_rep_crun(r, &r->cond[c])->label, o->n);
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
    lm_rep_curve_panel(f, 0, r, &a);
    double x[LM_STRUCT_BINS], ymax = 0;
    for (int b = 0; b < LM_STRUCT_BINS; b++) x[b] = b;
    const double **ys = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof(double *));
    const char **labels = lm_calloc((size_t)(r->n_cond ? r->n_cond : 1), sizeof(char *));
    for (int c = 0; c < r->n_cond; c++) {
        ys[c] = ls[c].wdist;
        labels[c] = lm_rep_crun(r, &r->cond[c])->label;
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

int lm_report_lottery(FILE *md, Out *o, const LmExpResults *r) {
    fprintf(md, "C7: the LM-RNN (local2d d = 3, and d = 8, the sweep's best) against masks found by search at "
                "d = 3's density over the full matrix (IMP ticket with rewinding to the initialisation, SET, RigL, "
                "GraNet) and the density-matched random mask. Steps, trials and wall time to a threshold count "
                "the whole run, so IMP pays for its search rounds; its AUC too (docs/lottery.md).\n\n");
    LotteryStruct *ls = lottery_structures(r, o->exp_dir);
    lottery_tables(md, r, ls);
    int rc = lm_rep_figure(o, "lottery", 1700, 650, 2, 1, draw_lottery, r, ls);
    free(ls);
    fprintf(md, "Figure: `lottery.png` (learning curves; |w| against sheet distance of the final masks).\n\n");
    return rc;
}
