/* plots/weights: the learned recurrent weights. Every network starts from W_rec = 0.5 I, so the
 * diagonal (self-weights) is an order of magnitude larger than the lateral weights that learning grows;
 * on one colour scale it would hide them. The diagonal is therefore shown on its own, and the lateral
 * weights on a colour scale clipped at the 99th percentile of their magnitude (a few outliers cannot
 * wash out the local structure). Entries outside the mask and the diagonal are left blank. */
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

/* The q-quantile of |w| over the in-mask off-diagonal entries of the rows listed (all rows if NULL);
 * 0 when there are none. */
static double lateral_quantile(const float *w, const LmMask *m, const int *rows, int n_rows, double q) {
    int N = m->n;
    double *a = lm_malloc((size_t)(m->nnz ? m->nnz : 1) * sizeof(double));
    size_t n = 0;
    for (int r = 0; r < (rows ? n_rows : N); r++) {
        int i = rows ? rows[r] : r;
        for (int j = 0; j < N; j++)
            if (j != i && m->m[(size_t)i * N + j]) a[n++] = fabs(w[(size_t)i * N + j]);
    }
    double v = 0;
    if (n) {
        qsort(a, n, sizeof *a, cmp_double);
        v = a[(size_t)fmin((double)n - 1, floor(q * (double)(n - 1) + 0.5))];
    }
    free(a);
    return v;
}

static void distance_profile(LmFigure *f, int panel, const float *w, const LmMask *m, int nx, int ny) {
    int N = m->n, nb = (int)ceil(sqrt((double)nx * nx + ny * ny)) + 1;
    double *sum = lm_calloc((size_t)nb, sizeof(double)), *cnt = lm_calloc((size_t)nb, sizeof(double));
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            if (i == j || !m->m[(size_t)i * N + j]) continue; /* lateral only: the diagonal has its panel */
            double dx = i % nx - j % nx, dy = i / nx - j / nx;
            int b = (int)lround(sqrt(dx * dx + dy * dy));
            sum[b] += fabs(w[(size_t)i * N + j]);
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

int lm_fig_weights(LmFigOut *o, const LmTrained *run, int fi) {
    const LmMask *m = lm_model_mask(run->model);
    int N = m->n, sheet = run->nx > 0;
    int irec = -1;
    for (int i = 0; i < LM_N_TENSORS; i++)
        if (!strcmp(lm_model_tensor_info(run->model, i).name, "W_rec")) irec = i;
    LM_ASSERT(irec >= 0);
    float *w = lm_malloc((size_t)N * N * sizeof(float));
    lm_model_export_tensor(run->model, irec, w);
    double clip = lateral_quantile(w, m, NULL, 0, 0.99);
    float *lat = lm_malloc((size_t)N * N * sizeof(float));
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            lat[(size_t)i * N + j] = i != j && m->m[(size_t)i * N + j] ? w[(size_t)i * N + j] : NAN;
    LmFigure *f = lm_fig_out_open(o, "weights", fi, sheet ? 1650 : 1400, sheet ? 1050 : 720, sheet ? 3 : 2,
                                  sheet ? 2 : 1, N > 64);
    if (!f) {
        free(w);
        free(lat);
        return -1;
    }
    char title[240];
    snprintf(title, sizeof title, "W_rec, j != i (clip p99 %.3g)", clip);
    if (lm_model_ei(run->model)) { /* Dale's law: a column's sign is its presynaptic unit's E/I type */
        int ne = 0;
        for (int j = 0; j < N; j++) ne += lm_model_ei(run->model)[j] > 0;
        snprintf(title, sizeof title, "W_rec, j != i (clip %.3g); Dale: %d E, %d I columns", clip, ne, N - ne);
    }
    lm_fig_panel(f, 0, 0, N, 0, N, title, "pre-synaptic unit j", "post-synaptic unit i");
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, lat, N, N, -(clip > 0 ? clip : 1), clip > 0 ? clip : 1, 1, 1);
    /* The self-weights: on the sheet as an image, else against the unit index. */
    float *diag = lm_malloc((size_t)N * sizeof(float));
    double dmin = INFINITY, dmax = -INFINITY;
    for (int i = 0; i < N; i++) {
        diag[i] = m->m[(size_t)i * N + i] ? w[(size_t)i * N + i] : NAN;
        if (isfinite(diag[i])) dmin = fmin(dmin, diag[i]), dmax = fmax(dmax, diag[i]);
    }
    if (!isfinite(dmin)) dmin = 0, dmax = 1;
    snprintf(title, sizeof title, "self-weights w_ii: %.3g to %.3g", dmin, dmax);
    if (sheet) {
        lm_fig_panel(f, 1, 0, run->nx, 0, run->ny, title, "sheet x", "sheet y");
        lm_fig_equal_aspect(f);
        lm_fig_heatmap(f, diag, run->ny, run->nx, dmin, dmax > dmin ? dmax : dmin + 1e-6, 1, 0);
        distance_profile(f, 2, w, m, run->nx, run->ny);
        int nx = run->nx, ny = run->ny;
        /* Incoming lateral weights of three units: the centre, a corner, an edge. */
        int units[3] = {(ny / 2) * nx + nx / 2, 0, (ny / 2) * nx};
        float *img = lm_malloc((size_t)N * sizeof(float));
        for (int u = 0; u < 3; u++) {
            int c = units[u];
            double umax = lateral_quantile(w, m, &c, 1, 1.0);
            for (int j = 0; j < N; j++) img[j] = j != c && m->m[(size_t)c * N + j] ? w[(size_t)c * N + j] : NAN;
            snprintf(title, sizeof title, "into unit %d (%d,%d); w_ii %.3g", c, c % nx, c / nx, w[(size_t)c * N + c]);
            lm_fig_panel(f, 3 + u, 0, nx, 0, ny, title, "sheet x", "sheet y");
            lm_fig_equal_aspect(f);
            lm_fig_heatmap(f, img, ny, nx, -(umax > 0 ? umax : 1), umax > 0 ? umax : 1, 1, 1);
        }
        free(img);
    } else {
        double *xs = lm_malloc((size_t)N * sizeof(double)), *ys = lm_malloc((size_t)N * sizeof(double));
        for (int i = 0; i < N; i++) xs[i] = i, ys[i] = diag[i];
        double pad = 0.05 * (dmax - dmin) + 1e-3;
        lm_fig_panel(f, 1, 0, N - 1, dmin - pad, dmax + pad, title, "unit i", "w_ii");
        lm_fig_points(f, N, xs, ys, 0);
        free(xs);
        free(ys);
    }
    free(diag);
    free(lat);
    free(w);
    return lm_fig_out_close(o, f, "weights", fi);
}
