/* The analytic fixed points of a pool of autapses (spec §5, claim C5): see analysis.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "plot/plot.h"
#include "util/err.h"

void lm_autapse_free(LmAutapse *a) {
    free(a->w), free(a->c), free(a->w_eff), free(a->n_fixed), free(a->fixed), free(a->stable), free(a->memory);
    memset(a, 0, sizeof *a);
}

int lm_autapse_analyse(const LmModel *m, const double *c, double tol, LmAutapse *out) {
    memset(out, 0, sizeof *out);
    const LmModelConfig *cfg = lm_model_config(m);
    const LmMask *mask = lm_model_mask(m);
    int N = cfg->n_hidden;
    for (int i = 0; i < N; i++)
        for (int32_t p = mask->row_ptr[i]; p < mask->row_ptr[i + 1]; p++)
            if (mask->col_idx[p] != i) {
                lm_err_set("autapse: the mask (%s) is not diagonal", mask->desc);
                return -1;
            }
    if (cfg->act != LM_ACT_RELU) {
        lm_err_set("autapse: the analytic fixed points are for relu (the run uses %s)", lm_act_name(cfg->act));
        return -1;
    }
    float *W = lm_malloc((size_t)N * N * sizeof(float));
    lm_model_export_tensor(m, 2, W);
    double a = cfg->alpha;
    int yang = cfg->rule == LM_RULE_YANG;
    out->N = N;
    out->w = lm_malloc((size_t)N * sizeof(double)), out->c = lm_malloc((size_t)N * sizeof(double));
    out->w_eff = lm_malloc((size_t)N * sizeof(double)), out->n_fixed = lm_calloc((size_t)N, sizeof(int32_t));
    out->fixed = lm_calloc((size_t)N * 2, sizeof(double)), out->stable = lm_calloc((size_t)N * 2, 1);
    out->memory = lm_calloc((size_t)N, 1);
    for (int i = 0; i < N; i++) {
        double w = W[(size_t)i * N + i], ci = c[i], we = 1 - a + a * w;
        out->w[i] = w, out->c[i] = ci, out->w_eff[i] = we;
        double *fp = out->fixed + 2 * i;
        uint8_t *st = out->stable + 2 * i;
        int k = 0;
        if (w == 1 && ci == 0) k = -1;
        else if (ci > 0) {
            if (w < 1) fp[0] = ci / (1 - w), st[0] = fabs(we) < 1, k = 1;
        } else {
            fp[0] = 0, st[0] = !yang || fabs(1 - a) < 1 || ci < 0, k = 1;
            if (w > 1) fp[1] = -ci / (w - 1), st[1] = 0, k = 2;
        }
        out->n_fixed[i] = k;
        out->n_runaway += k == 0;
        out->memory[i] = fabs(we - 1) <= tol;
        out->n_memory += out->memory[i];
    }
    free(W);
    return 0;
}

int lm_autapse_figure(const LmAutapse *a, const double *d_memory, const double *d_random, int n_tasks,
                      const LmBattery *battery, const char *path) {
    LmFigure *f = lm_fig_new(path, 1900, 600, 3, 1);
    if (!f) return -1;
    int N = a->N;
    /* histogram of w_ii in bins of 0.05 over [lo, hi] */
    double lo = 0, hi = 1.2;
    for (int i = 0; i < N; i++) lo = fmin(lo, floor(a->w[i] * 10) / 10), hi = fmax(hi, ceil(a->w[i] * 10) / 10);
    int nb = (int)lround((hi - lo) / 0.05);
    if (nb > 200) nb = 200;
    double cnt[200] = {0}, hmax = 1;
    for (int i = 0; i < N; i++) {
        int b = (int)((a->w[i] - lo) / 0.05);
        cnt[b < 0 ? 0 : b >= nb ? nb - 1 : b] += 1;
    }
    for (int b = 0; b < nb; b++) hmax = fmax(hmax, cnt[b]);
    char title[200];
    snprintf(title, sizeof title, "learned w_ii: %d memory units, bins of 0.05 from %.1f", a->n_memory, lo);
    lm_fig_panel(f, 0, -0.5, nb - 0.5, 0, 1.1 * hmax, title, "w_ii bin", "units");
    lm_fig_bars(f, nb, cnt, NULL, NULL, NULL);
    double one = (1.0 - lo) / 0.05 - 0.5;
    lm_fig_vlines(f, 1, &one, NULL);
    /* w_eff against the input term */
    double *x = lm_malloc((size_t)N * sizeof(double)), *y = lm_malloc((size_t)N * sizeof(double));
    double *mx = lm_malloc((size_t)N * sizeof(double)), *my = lm_malloc((size_t)N * sizeof(double));
    double xl = -0.1, xh = 0.1, yl = 0, yh = 1.1;
    int n = 0, m = 0;
    for (int i = 0; i < N; i++) {
        xl = fmin(xl, a->c[i]), xh = fmax(xh, a->c[i]), yl = fmin(yl, a->w_eff[i]), yh = fmax(yh, a->w_eff[i]);
        if (a->memory[i]) mx[m] = a->c[i], my[m++] = a->w_eff[i];
        else x[n] = a->c[i], y[n++] = a->w_eff[i];
    }
    lm_fig_panel(f, 1, xl, xh, yl - 0.05, yh + 0.05, "units: slope w_eff vs input term (memory units red)",
                 "input term c_i = (W_in u + b)_i", "w_eff = 1 - alpha + alpha w_ii");
    lm_fig_points(f, n, x, y, 0);
    lm_fig_points(f, m, mx, my, 3);
    lm_fig_hline(f, 1.0, -1);
    /* lesion effects per task */
    double dl = -0.1;
    for (int k = 0; k < n_tasks; k++) dl = fmin(dl, fmin(d_memory[k], d_random[k]));
    lm_fig_panel(f, 2, -0.5, n_tasks - 0.5, 1.1 * dl, 0.05, "lesion: memory units (red) vs random (blue)",
                 "task (battery order)", "change in performance");
    double *xs = lm_malloc((size_t)n_tasks * sizeof(double));
    for (int k = 0; k < n_tasks; k++) xs[k] = k;
    lm_fig_points(f, n_tasks, xs, d_random, 0);
    lm_fig_points(f, n_tasks, xs, d_memory, 3);
    lm_fig_hline(f, 0.0, -1);
    (void)battery;
    free(x), free(y), free(mx), free(my), free(xs);
    return lm_fig_close(f);
}
