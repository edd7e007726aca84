/* Output files, captions and the run log shared by the run figures. */
#include "report/fig_common.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/json.h"
#include "train/log.h"
#include "util/err.h"

void lm_fig_out_caption(LmFigOut *o, const LmTrained *run) {
    const LmTrainConfig *c = &run->trainer->cfg;
    snprintf(o->caption, sizeof o->caption, "run %.300s  |  step %lld, seed %llu, %.80s, %.160s, fix %.200s", run->dir,
             (long long)run->step, (unsigned long long)run->seed, run->battery->spec,
             lm_model_mask(run->model)->desc, c->fix);
}

LmFigure *lm_fig_out_open(LmFigOut *o, const char *name, int fi, int w, int h, int cols, int rows,
                          int large_images) {
    char path[1400];
    snprintf(path, sizeof path, "%s/%s.%s", o->plots, name, o->fmt[fi]);
    LmFigure *f = large_images ? lm_fig_new_images(path, w, h, cols, rows) : lm_fig_new(path, w, h, cols, rows);
    if (f && o->caption[0]) lm_fig_caption(f, o->caption);
    return f;
}

int lm_fig_out_close(LmFigOut *o, LmFigure *f, const char *name, int fi) {
    if (lm_fig_close(f) != 0) return -1;
    o->written++;
    if (!o->quiet) printf("wrote %s/%s.%s\n", o->plots, name, o->fmt[fi]);
    return 0;
}

float *lm_fig_matrix_block(const LmMask *m, const float *vals, int k, float empty, int skip_diagonal) {
    float *z = lm_malloc((size_t)k * k * sizeof(float));
    for (size_t q = 0; q < (size_t)k * k; q++) z[q] = empty;
    for (int i = 0; i < k; i++)
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1] && m->col_idx[p] < k; p++)
            if (!skip_diagonal || m->col_idx[p] != i) z[(size_t)i * k + m->col_idx[p]] = vals ? vals[p] : 1.0f;
    return z;
}

void lm_fig_sheet_window(int nx, int ny, int c, int *x0, int *y0, int *wx, int *wy) {
    *wx = nx < LM_FIG_SHEET_MAX ? nx : LM_FIG_SHEET_MAX;
    *wy = ny < LM_FIG_SHEET_MAX ? ny : LM_FIG_SHEET_MAX;
    *x0 = c % nx - *wx / 2, *y0 = c / nx - *wy / 2;
    *x0 = *x0 < 0 ? 0 : *x0 + *wx > nx ? nx - *wx : *x0;
    *y0 = *y0 < 0 ? 0 : *y0 + *wy > ny ? ny - *wy : *y0;
}

void lm_fig_matrix_title(char *buf, size_t n, const char *what, int N, int k) {
    if (k == N) snprintf(buf, n, "%s", what);
    else snprintf(buf, n, "%s (units 0-%d of %d)", what, k - 1, N);
}

void lm_series_push(LmSeries *s, double v) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = lm_realloc(s->v, (size_t)s->cap * sizeof(double));
    }
    s->v[s->n++] = v;
}

void lm_series_free(LmSeries *s) { free(s->v); }

double lm_series_max(const LmSeries *s) {
    double m = -INFINITY;
    for (int i = 0; i < s->n; i++)
        if (isfinite(s->v[i])) m = fmax(m, s->v[i]);
    return m;
}

/* The curves from the run log: train/log.h reads it (one rule for torn lines and resumed steps). */
int lm_fig_curves_read(const char *dir, LmCurves *log) {
    memset(log, 0, sizeof *log);
    char path[1200];
    if (snprintf(path, sizeof path, "%s/log.jsonl", dir) >= (int)sizeof path) {
        lm_err_set("%s: path too long", dir);
        return -1;
    }
    LmRunLog rl;
    if (lm_run_log_read(path, &rl) != 0) return -1;
    for (int i = 0; i < rl.n; i++) {
        const LmLogRecord *r = &rl.rec[i];
        if (!strcmp(r->kind, "train")) {
            lm_series_push(&log->train_step, (double)r->step);
            lm_series_push(&log->train_loss, r->loss);
        } else if (!strcmp(r->kind, "eval")) {
            lm_series_push(&log->eval_step, (double)r->step);
            lm_series_push(&log->eval_mean, r->mean);
            lm_series_push(&log->eval_loss, r->loss);
            for (int k = 0; k < 4; k++) lm_series_push(&log->eval_group[k], r->group[k]);
            if (r->metric[0]) snprintf(log->metric, sizeof log->metric, "%s", r->metric);
        }
    }
    lm_run_log_free(&rl);
    return 0;
}

void lm_fig_curves_free(LmCurves *log) {
    lm_series_free(&log->train_step);
    lm_series_free(&log->train_loss);
    lm_series_free(&log->eval_step);
    lm_series_free(&log->eval_mean);
    lm_series_free(&log->eval_loss);
    for (int k = 0; k < 4; k++) lm_series_free(&log->eval_group[k]);
}
