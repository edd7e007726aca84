/* Shared pieces of the experiment reports: per-run quantities, statistics per condition, mean learning
#include "tasks/battery.h"
 * curves, figure output. Each report (report_<experiment>.c) adds its own tables and figures. */
#include "tasks/battery.h"
#ifndef LMRNN_EXP_REPORT_INTERNAL_H
#include "tasks/battery.h"
#define LMRNN_EXP_REPORT_INTERNAL_H
#include "tasks/battery.h"
#include <stdio.h>
#include "tasks/battery.h"
#include "experiment/report.h"
#include "tasks/battery.h"
#include "experiment/results.h"
#include "plot/plot.h"


/* Per-run quantities. */
typedef enum {
    Q_FINAL = 0, Q_AUC, Q_WALL, Q_STEPS, Q_TRIALS,
    Q_STEP_T,                       /* + threshold index */
    Q_TRIALS_T = Q_STEP_T + LM_N_THRESH,
    Q_WALL_T = Q_TRIALS_T + LM_N_THRESH,
    Q_GROUP = Q_WALL_T + LM_N_THRESH,   /* + group index */
    Q_COUNT = Q_GROUP + LM_N_GROUPS
} Quantity;
double lm_rep_value(const LmExpRunResult *r, int q);   /* NaN where the run has no value */
LmStat lm_rep_cstat(const LmExpResults *r, const LmCondition *c, int q);
const LmExpRun *lm_rep_crun(const LmExpResults *r, const LmCondition *c);   /* the condition's first run */
int lm_rep_cond_done(const LmExpResults *r, const LmCondition *c);          /* finished runs */

/* Mean learning curve of a condition over its seeds, on the eval steps of its longest run. */
typedef struct {
    int n;
    double *x, *y;
} Curve;
Curve lm_rep_mean_curve(const LmExpResults *r, const LmCondition *c, int group /* -1 = mean */);
void lm_rep_curve_free(Curve *c);

typedef struct {
    char dir[LM_EXP_PATH];
    FILE *list;
    const char *exp_dir;   /* the experiment directory (DIR/runs/ is under it) */
} Out;

typedef void (*DrawFn)(LmFigure *f, const LmExpResults *r, const void *ctx);
/* One figure as PNG and SVG in o->dir. 0 or -1. */
int lm_rep_figure(Out *o, const char *name, int w, int h, int cols, int rows, DrawFn draw, const LmExpResults *r,
                  const void *ctx);
double lm_rep_positive_or_nan(double v);

/* Learning curves of the selected conditions in one panel. */
typedef struct {
    const char *battery;     /* only conditions of this battery (NULL: all) */
    const char *mask;        /* only this mask kind (NULL: all) */
    const char *also_mask;   /* ...plus this one */
    long pool;               /* -1: any */
    int group;               /* -1: mean over tasks */
    const char *title;
} CurveSel;
void lm_rep_curve_panel(LmFigure *f, int panel, const LmExpResults *r, const CurveSel *s);

/* The experiment-specific parts: tables into md, figures into o; 0 or -1. */
int lm_report_autapse(FILE *md, Out *o, const LmExpResults *r);
int lm_report_sparsity(FILE *md, Out *o, const LmExpResults *r);
int lm_report_data_efficiency(FILE *md, Out *o, const LmExpResults *r);
int lm_report_sweep(FILE *md, Out *o, const LmExpResults *r);
int lm_report_lottery(FILE *md, Out *o, const LmExpResults *r);

#endif
