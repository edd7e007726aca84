/* plots/weights: the learned recurrent weights. Every network starts from W_rec = 0.5 I, so the
 * diagonal (self-weights) is an order of magnitude larger than the lateral weights that learning grows;
 * on one colour scale it would hide them. The diagonal is therefore shown on its own, and the lateral
 * weights on a colour scale clipped at the 99th percentile of their magnitude (a few outliers cannot
 * wash out the local structure). Entries outside the mask and the diagonal are left blank. W_rec is
 * read as its mask's non-zeros (CSR), so nothing here is N x N. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report/fig_common.h"
#include "util/err.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of |w| over the lateral (j != i) connections of rows [r0, r1); 0 if there are none. */
static double lateral_quantile(const LmMask *m, const float *vals, int r0, int r1, double q) {
    size_t cap = (size_t)(m->row_ptr[r1] - m->row_ptr[r0]), n = 0;
    double *a = lm_malloc((cap ? cap : 1) * sizeof(double));
    for (int i = r0; i < r1; i++)
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++)
            if (m->col_idx[p] != i) a[n++] = fabs(vals[p]);
    double v = 0;
    if (n) {
        qsort(a, n, sizeof *a, cmp_double);
        v = a[(size_t)fmin((double)n - 1, floor(q * (double)(n - 1) + 0.5))];
    }
    free(a);
    return v;
}

/* w_ii of unit i, NaN when the mask has no self-connection. */
static float self_weight(const LmMask *m, const float *vals, int i) {
    for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++)
        if (m->col_idx[p] == i) return vals[p];
    return NAN;
}

static void distance_profile(LmFigure *f, int panel, const LmMask *m, const float *vals, int nx, int ny) {
    int N = m->n, nb = (int)ceil(sqrt((double)nx * nx + ny * ny)) + 1;
    double *sum = lm_calloc((size_t)nb, sizeof(double)), *cnt = lm_calloc((size_t)nb, sizeof(double));
    for (int i = 0; i < N; i++)
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++) {
            int j = m->col_idx[p];
            if (j == i) continue; /* lateral only: the diagonal has its own panel */
            double dx = i % nx - j % nx, dy = i / nx - j / nx;
            int b = (int)lround(sqrt(dx * dx + dy * dy));
            sum[b] += fabs(vals[p]);
            cnt[b] += 1;
        }
    double *xs = lm_malloc((size_t)nb * sizeof(double)), *ys = lm_malloc((size_t)nb * sizeof(double));
    int nn = 0;
    double ymax = 0;
    for (int b = 0; b < nb; b++)
        if (cnt[b] > 0) {
            xs[nn] = b;
            ys[nn] = sum[b] / cnt[b];
            ymax = fmax(ymax, ys[nn]);
            nn++;
        }
    lm_fig_panel(f, panel, nn ? xs[0] - 0.2 : 0, nn ? xs[nn - 1] + 0.2 : 1, 0, ymax > 0 ? 1.1 * ymax : 1,
                 "lateral |w| against sheet distance", "distance (rounded)", "mean |w_ij| over the mask");
    const double *yy[1] = {ys};
    lm_fig_lines(f, 1, nn, xs, yy, NULL);
    lm_fig_points(f, nn, xs, ys, 0);
    free(sum);
    free(cnt);
    free(xs);
    free(ys);
}

/* Unit c's incoming lateral weights as a sheet image of its window (NaN where there is no connection
 * and at c itself). */
static void unit_panel(LmFigure *f, int panel, const LmMask *m, const float *vals, int nx, int ny, int c) {
    int x0, y0, wx, wy;
    lm_fig_sheet_window(nx, ny, c, &x0, &y0, &wx, &wy);
    float *img = lm_malloc((size_t)wx * wy * sizeof(float));
    for (size_t q = 0; q < (size_t)wx * wy; q++) img[q] = NAN;
    for (int32_t p = m->row_ptr[c]; p < m->row_ptr[c + 1]; p++) {
        int j = m->col_idx[p], x = j % nx - x0, y = j / nx - y0;
        if (j != c && x >= 0 && x < wx && y >= 0 && y < wy) img[(size_t)y * wx + x] = vals[p];
    }
    double umax = lateral_quantile(m, vals, c, c + 1, 1.0);
    char title[160];
    snprintf(title, sizeof title, "into unit %d (%d,%d); w_ii %.3g", c, c % nx, c / nx, self_weight(m, vals, c));
    lm_fig_panel(f, panel, x0, x0 + wx, y0, y0 + wy, title, "sheet x", "sheet y");
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, img, wy, wx, -(umax > 0 ? umax : 1), umax > 0 ? umax : 1, 1, 1);
    free(img);
}

int lm_fig_weights(LmFigOut *o, const LmTrained *run, int fi) {
    const LmMask *m = lm_model_mask(run->model);
    int N = m->n, sheet = run->nx > 0, k = N < LM_FIG_MATRIX_MAX ? N : LM_FIG_MATRIX_MAX;
    float *vals = lm_malloc((size_t)(m->nnz ? m->nnz : 1) * sizeof(float));
    lm_model_export_rec_values(run->model, vals);
    double clip = lateral_quantile(m, vals, 0, N, 0.99);
    float *lat = lm_fig_matrix_block(m, vals, k, NAN, 1);
    LmFigure *f = lm_fig_out_open(o, "weights", fi, sheet ? 1650 : 1400, sheet ? 1050 : 720, sheet ? 3 : 2,
                                  sheet ? 2 : 1, k > 64);
    if (!f) {
        free(vals);
        free(lat);
        return -1;
    }
    char title[240], what[190];
    snprintf(what, sizeof what, "W_rec, j != i (clip p99 %.3g)", clip);
    if (lm_model_ei(run->model)) { /* Dale's law: a column's sign is its presynaptic unit's E/I type */
        int ne = 0;
        for (int j = 0; j < N; j++) ne += lm_model_ei(run->model)[j] > 0;
        snprintf(what, sizeof what, "W_rec, j != i (clip %.3g); Dale: %d E, %d I columns", clip, ne, N - ne);
    }
    lm_fig_matrix_title(title, sizeof title, what, N, k);
    lm_fig_panel(f, 0, 0, k, 0, k, title, "pre-synaptic unit j", "post-synaptic unit i");
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, lat, k, k, -(clip > 0 ? clip : 1), clip > 0 ? clip : 1, 1, 1);
    /* The self-weights: on the sheet (a window around the centre) as an image, else the first k units. */
    double dmin = INFINITY, dmax = -INFINITY;
    for (int i = 0; i < N; i++) {
        float d = self_weight(m, vals, i);
        if (isfinite(d)) dmin = fmin(dmin, d), dmax = fmax(dmax, d);
    }
    if (!isfinite(dmin)) dmin = 0, dmax = 1;
    snprintf(title, sizeof title, "self-weights w_ii: %.3g to %.3g", dmin, dmax);
    if (sheet) {
        int nx = run->nx, ny = run->ny, x0, y0, wx, wy;
        lm_fig_sheet_window(nx, ny, (ny / 2) * nx + nx / 2, &x0, &y0, &wx, &wy);
        float *img = lm_malloc((size_t)wx * wy * sizeof(float));
        for (int y = 0; y < wy; y++)
            for (int x = 0; x < wx; x++) img[(size_t)y * wx + x] = self_weight(m, vals, (y0 + y) * nx + x0 + x);
        lm_fig_panel(f, 1, x0, x0 + wx, y0, y0 + wy, title, "sheet x", "sheet y");
        lm_fig_equal_aspect(f);
        lm_fig_heatmap(f, img, wy, wx, dmin, dmax > dmin ? dmax : dmin + 1e-6, 1, 0);
        free(img);
        distance_profile(f, 2, m, vals, nx, ny);
        /* Incoming lateral weights of three units: the centre, a corner, an edge. */
        int units[3] = {(ny / 2) * nx + nx / 2, 0, (ny / 2) * nx};
        for (int u = 0; u < 3; u++) unit_panel(f, 3 + u, m, vals, nx, ny, units[u]);
    } else {
        double *xs = lm_malloc((size_t)k * sizeof(double)), *ys = lm_malloc((size_t)k * sizeof(double));
        for (int i = 0; i < k; i++) xs[i] = i, ys[i] = self_weight(m, vals, i);
        double pad = 0.05 * (dmax - dmin) + 1e-3;
        lm_fig_panel(f, 1, 0, k - 1, dmin - pad, dmax + pad, title, "unit i", "w_ii");
        lm_fig_points(f, k, xs, ys, 0);
        free(xs);
        free(ys);
    }
    free(lat);
    free(vals);
    return lm_fig_out_close(o, f, "weights", fi);
}
