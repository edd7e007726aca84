/* What the run figures (src/report/fig_*.c) share: the output files of one `lmrnn plot` call, the
 * caption saying which run a figure shows, and the run's log as series. Internal to src/report. */
#ifndef LMRNN_REPORT_FIG_COMMON_H
#define LMRNN_REPORT_FIG_COMMON_H
#include "plot/plot.h"
#include "report/run.h"

/* Where and in which formats the figures go. */
typedef struct {
    char plots[1200];      /* DIR/plots */
    char caption[1024];    /* "run DIR | step N, seed S, ..." on every figure */
    const char *fmt[3];
    int n_fmt;
    int quiet;
    int written;
} LmFigOut;

/* Fill o->caption from the run (its directory, step, seed, battery, mask and corrections). */
void lm_fig_out_caption(LmFigOut *o, const LmTrained *run);
/* Open plots/<name>.<fmt[fi]> with the run caption; NULL + lm_err_set() on failure. `large_images`:
 * the figure holds heat maps of many cells (see lm_fig_new_images). */
LmFigure *lm_fig_out_open(LmFigOut *o, const char *name, int fi, int w, int h, int cols, int rows,
                          int large_images);
/* Close and report the file. 0, or -1 with lm_err_set(). */
int lm_fig_out_close(LmFigOut *o, LmFigure *f, const char *name, int fi);

/* Matrices are drawn whole up to LM_FIG_MATRIX_MAX units; larger networks show their first units (rows
 * and columns), and sheet images a window around a unit, so no figure is N x N. */
#define LM_FIG_MATRIX_MAX 1024
#define LM_FIG_SHEET_MAX 64
/* The top-left k x k block of W_rec (vals in the mask's CSR order) or of the mask (vals NULL: 1 per
 * connection), `empty` elsewhere; with skip_diagonal the diagonal is `empty` too. */
float *lm_fig_matrix_block(const LmMask *m, const float *vals, int k, float empty, int skip_diagonal);
/* The window of a sheet image around unit c: at most LM_FIG_SHEET_MAX units per side, inside the sheet. */
void lm_fig_sheet_window(int nx, int ny, int c, int *x0, int *y0, int *wx, int *wy);
/* "what" or "what (units 0-(k-1) of N)". */
void lm_fig_matrix_title(char *buf, size_t n, const char *what, int N, int k);

/* A growable series of doubles. */
typedef struct { int n, cap; double *v; } LmSeries;
void lm_series_push(LmSeries *s, double v);
void lm_series_free(LmSeries *s);
double lm_series_max(const LmSeries *s);   /* -inf when empty or all NaN */

/* The records of log.jsonl the curves need. */
typedef struct {
    LmSeries train_step, train_loss;          /* kind = train: the loss of that one step */
    LmSeries eval_step, eval_mean, eval_loss; /* kind = eval */
    LmSeries eval_group[4];                   /* base, int, seq, int+seq; NaN where absent */
    char metric[32];
} LmCurves;
/* A missing file gives 0 and an empty log; a corrupt line (other than a torn last one) -1. */
int lm_fig_curves_read(const char *dir, LmCurves *log);
void lm_fig_curves_free(LmCurves *log);

/* The figures, one file each (fig_<name>.c); fi indexes o->fmt. 0, or -1 with lm_err_set(). */
int lm_fig_loss(LmFigOut *o, const LmCurves *log, int fi);
int lm_fig_perf(LmFigOut *o, const LmCurves *log, int fi);
int lm_fig_mask(LmFigOut *o, const LmTrained *run, int fi);
int lm_fig_weights(LmFigOut *o, const LmTrained *run, int fi);
int lm_fig_trial(LmFigOut *o, LmTrained *run, int pos, int fi);

/* Per-task performance: from eval.json when present, else evaluated here (last_step). */
typedef struct LmTaskTable LmTaskTable;
LmTaskTable *lm_task_table_load(LmTrained *run, int trials_if_missing);   /* NULL + lm_err_set() */
void lm_task_table_free(LmTaskTable *t);
int lm_fig_tasks(LmFigOut *o, const LmTaskTable *t, int fi);

#endif
