/* Dimensionality and connectivity summary of a trained network (spec §4): participation ratio of the
 * hidden states, dormant units, effective and stable rank of W_rec, weight change from initialisation,
 * and |w| against sheet distance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "plot/plot.h"
#include "util/err.h"

enum { W_REC = 2, W_IN = 0, W_OUT = 4 };   /* lm_model_export_tensor indices */

double lm_sheet_distance(const LmSheet *g, int i, int j) {
    double dx = fabs((double)(i % g->nx - j % g->nx)), dy = fabs((double)(i / g->nx - j / g->nx));
    if (g->periodic) {
        dx = fmin(dx, g->nx - dx);
        dy = fmin(dy, g->ny - dy);
    }
    return sqrt(dx * dx + dy * dy);
}

static void hidden_stats(const LmStates *s, LmSummary *o) {
    int N = s->N;
    int64_t rows;
    float *X = lm_states_rows(s, &rows);
    o->n_samples = rows;
    o->activity = lm_calloc((size_t)N, sizeof(double));
    for (int64_t r = 0; r < rows; r++)
        for (int i = 0; i < N; i++) o->activity[i] += fabsf(X[r * N + i]);
    double mean_act = 0;
    for (int i = 0; i < N; i++) mean_act += (o->activity[i] /= (double)(rows ? rows : 1));
    mean_act /= N;
    o->tau[0] = 0, o->tau[1] = 0.025;
    for (int t = 0; t < 2; t++) {
        int d = 0;
        for (int i = 0; i < N; i++) d += mean_act > 0 ? o->activity[i] / mean_act <= o->tau[t] : 1;
        o->dormant[t] = (double)d / N;
    }
    o->cov_eig = lm_calloc((size_t)N, sizeof(double));
    if (rows >= 2) {
        double *mean = lm_malloc((size_t)N * sizeof(double)), *cov = lm_malloc((size_t)N * N * sizeof(double));
        lm_covariance(X, rows, N, mean, cov);
        double *w = lm_malloc((size_t)N * sizeof(double));
        if (lm_sym_eigvals(N, cov, w) == 0)
            for (int i = 0; i < N; i++) o->cov_eig[i] = w[N - 1 - i];
        o->pr = lm_participation_ratio(o->cov_eig, N);
        free(w), free(mean), free(cov);
    }
    free(X);
}

static int rank_stats(const float *W, int N, LmSummary *o) {
    double *a = lm_malloc((size_t)N * N * sizeof(double));
    double fro2 = 0;
    for (size_t k = 0; k < (size_t)N * N; k++) {
        a[k] = W[k];
        fro2 += a[k] * a[k];
    }
    o->sv = lm_calloc((size_t)N, sizeof(double));
    int rc = lm_singular_values(N, N, a, o->sv);
    free(a);
    if (rc) return -1;
    double sum = 0, ent = 0;
    for (int i = 0; i < N; i++) sum += o->sv[i];
    for (int i = 0; i < N && sum > 0; i++) {
        double p = o->sv[i] / sum;
        if (p > 0) ent -= p * log(p);
    }
    o->erank = sum > 0 ? exp(ent) : 0;
    o->srank = o->sv[0] > 0 ? fro2 / (o->sv[0] * o->sv[0]) : 0;
    return 0;
}

static double rel_change(const float *w, const float *w0, size_t n) {
    if (!w0) return NAN;
    double d = 0, z = 0;
    for (size_t k = 0; k < n; k++) {
        double e = (double)w[k] - w0[k];
        d += e * e;
        z += (double)w0[k] * w0[k];
    }
    return z > 0 ? sqrt(d / z) : NAN;
}

static void distance_bins(const float *W, const LmMask *mask, const LmSheet *g, LmSummary *o) {
    int N = mask->n;
    double total = 0;
    memset(o->bin_count, 0, sizeof o->bin_count);
    memset(o->bin_abs, 0, sizeof o->bin_abs);
    memset(o->bin_mean, 0, sizeof o->bin_mean);
    memset(o->bin_pos, 0, sizeof o->bin_pos);
    o->n_bins = 0;
    for (int i = 0; i < N; i++)
        for (int32_t p = mask->row_ptr[i]; p < mask->row_ptr[i + 1]; p++) {
            int j = mask->col_idx[p];
            int b = (int)lround(lm_sheet_distance(g, i, j));
            if (b >= LM_SUMMARY_MAX_BINS) b = LM_SUMMARY_MAX_BINS - 1;
            double w = W[(size_t)i * N + j];
            o->bin_count[b] += 1, o->bin_abs[b] += fabs(w), o->bin_mean[b] += w, o->bin_pos[b] += w > 0;
            total += fabs(w);
            if (b + 1 > o->n_bins) o->n_bins = b + 1;
        }
    double cum = 0;
    for (int b = 0; b < o->n_bins; b++) {
        cum += o->bin_abs[b];
        o->mass_within[b] = total > 0 ? cum / total : NAN;
        if (o->bin_count[b] > 0) {
            o->bin_abs[b] /= o->bin_count[b];
            o->bin_mean[b] /= o->bin_count[b];
            o->bin_pos[b] /= o->bin_count[b];
        }
    }
}

int lm_summary_compute(const LmStates *s, const LmModel *m, const float *const init[3], const LmSheet *g,
                       LmSummary *out) {
    memset(out, 0, sizeof *out);
    const LmModelConfig *c = lm_model_config(m);
    int N = c->n_hidden;
    out->N = N;
    if (s->N != N) {
        lm_err_set("states have %d units, the network %d", s->N, N);
        return -1;
    }
    hidden_stats(s, out);
    float *W = lm_malloc((size_t)N * N * sizeof(float));
    float *Win = lm_malloc((size_t)N * c->n_in * sizeof(float));
    float *Wout = lm_malloc((size_t)N * c->n_out * sizeof(float));
    lm_model_export_tensor(m, W_REC, W);
    lm_model_export_tensor(m, W_IN, Win);
    lm_model_export_tensor(m, W_OUT, Wout);
    int rc = rank_stats(W, N, out);
    out->change[0] = rel_change(W, init ? init[0] : NULL, (size_t)N * N);
    out->change[1] = rel_change(Win, init ? init[1] : NULL, (size_t)N * c->n_in);
    out->change[2] = rel_change(Wout, init ? init[2] : NULL, (size_t)N * c->n_out);
    distance_bins(W, lm_model_mask(m), g, out);
    if (g->ny == 1 && g->periodic) snprintf(out->geometry, sizeof out->geometry, "ring of %d", g->nx);
    else snprintf(out->geometry, sizeof out->geometry, "%s %dx%d sheet", g->periodic ? "periodic" : "open",
                  g->nx, g->ny);
    free(W), free(Win), free(Wout);
    return rc;
}

void lm_summary_free(LmSummary *s) {
    free(s->cov_eig), free(s->activity), free(s->sv);
    memset(s, 0, sizeof *s);
}

static cJSON *num(double x) { return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

static cJSON *array(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, num(v[i]));
    return a;
}

cJSON *lm_summary_json(const LmSummary *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "units", s->N);
    cJSON_AddNumberToObject(o, "samples", (double)s->n_samples);
    cJSON_AddItemToObject(o, "participation_ratio", num(s->pr));
    cJSON *d = cJSON_AddObjectToObject(o, "dormant_ratio");
    cJSON_AddItemToObject(d, "tau_0", num(s->dormant[0]));
    cJSON_AddItemToObject(d, "tau_0.025", num(s->dormant[1]));
    cJSON_AddItemToObject(o, "effective_rank", num(s->erank));
    cJSON_AddItemToObject(o, "stable_rank", num(s->srank));
    cJSON_AddItemToObject(o, "spectral_norm", num(s->sv ? s->sv[0] : NAN));
    cJSON *w = cJSON_AddObjectToObject(o, "weight_change");
    cJSON_AddItemToObject(w, "W_rec", num(s->change[0]));
    cJSON_AddItemToObject(w, "W_in", num(s->change[1]));
    cJSON_AddItemToObject(w, "W_out", num(s->change[2]));
    if (s->init_source) cJSON_AddStringToObject(w, "initial_weights", s->init_source);
    else cJSON_AddNullToObject(w, "initial_weights");
    cJSON *g = cJSON_AddObjectToObject(o, "weights_vs_distance");
    cJSON_AddStringToObject(g, "geometry", s->geometry);
    double bins[LM_SUMMARY_MAX_BINS];
    for (int b = 0; b < s->n_bins; b++) bins[b] = b;
    cJSON_AddItemToObject(g, "distance", array(bins, s->n_bins));
    cJSON_AddItemToObject(g, "connections", array(s->bin_count, s->n_bins));
    cJSON_AddItemToObject(g, "mean_abs_w", array(s->bin_abs, s->n_bins));
    cJSON_AddItemToObject(g, "mean_w", array(s->bin_mean, s->n_bins));
    cJSON_AddItemToObject(g, "fraction_positive", array(s->bin_pos, s->n_bins));
    cJSON_AddItemToObject(g, "abs_mass_within", array(s->mass_within, s->n_bins));
    cJSON_AddItemToObject(o, "covariance_eigenvalues", array(s->cov_eig, s->N));
    cJSON_AddItemToObject(o, "singular_values", array(s->sv, s->N));
    cJSON_AddItemToObject(o, "unit_activity", array(s->activity, s->N));
    return o;
}

int lm_summary_figure(const LmSummary *s, const char *path) {
    LmFigure *f = lm_fig_new(path, 1500, 1000, 2, 2);
    if (!f) return -1;
    int N = s->N;
    double *x = lm_malloc((size_t)N * sizeof(double)), *y = lm_malloc((size_t)N * sizeof(double));
    char title[160];
    /* 1: cumulative explained variance of the hidden states */
    double tot = 0, cum = 0;
    for (int i = 0; i < N; i++) tot += fmax(s->cov_eig[i], 0);
    for (int i = 0; i < N; i++) {
        cum += fmax(s->cov_eig[i], 0);
        x[i] = i + 1, y[i] = tot > 0 ? cum / tot : 0;
    }
    snprintf(title, sizeof title, "hidden states: participation ratio %.2f", s->pr);
    lm_fig_panel(f, 0, 0, N + 1, 0, 1.05, title, "principal components", "cumulative explained variance");
    const double *ys[1] = {y};
    lm_fig_lines(f, 1, N, x, ys, NULL);
    /* 2: singular values of W_rec */
    double smax = 0;
    for (int i = 0; i < N; i++) x[i] = i + 1, y[i] = s->sv[i], smax = fmax(smax, y[i]);
    snprintf(title, sizeof title, "W_rec: eff. rank %.1f, stable rank %.2f", s->erank,
             s->srank);
    lm_fig_panel(f, 1, 0, N + 1, 0, smax > 0 ? 1.05 * smax : 1, title, "index", "singular value");
    lm_fig_lines(f, 1, N, x, ys, NULL);
    /* 3: mean |w| against distance */
    double amax = 0;
    int nb = 0;
    for (int b = 0; b < s->n_bins; b++)
        if (s->bin_count[b] > 0) x[nb] = b, y[nb] = s->bin_abs[b], amax = fmax(amax, y[nb]), nb++;
    snprintf(title, sizeof title, "|w| vs distance (%s)", s->geometry);
    lm_fig_panel(f, 2, -0.5, nb ? x[nb - 1] + 0.5 : 1, 0, amax > 0 ? 1.1 * amax : 1, title,
                 "distance (rounded; 0 = self)", "mean |w_ij| over the mask");
    lm_fig_lines(f, 1, nb, x, ys, NULL);
    lm_fig_points(f, nb, x, y, 0);
    /* 4: sorted unit activity relative to the mean (dormant units at the left) */
    double mean = 0, vmax = 0;
    for (int i = 0; i < N; i++) mean += s->activity[i] / N;
    for (int i = 0; i < N; i++) y[i] = mean > 0 ? s->activity[i] / mean : 0;
    for (int i = 1; i < N; i++)   /* insertion sort: N is small */
        for (int j = i; j > 0 && y[j] < y[j - 1]; j--) {
            double t = y[j];
            y[j] = y[j - 1], y[j - 1] = t;
        }
    for (int i = 0; i < N; i++) x[i] = i, vmax = fmax(vmax, y[i]);
    snprintf(title, sizeof title, "dormant: %.1f %% (tau 0), %.1f %% (0.025)",
             100 * s->dormant[0], 100 * s->dormant[1]);
    lm_fig_panel(f, 3, 0, N, 0, vmax > 0 ? 1.05 * vmax : 1, title, "units, sorted",
                 "mean |h_i| / mean over units");
    lm_fig_lines(f, 1, N, x, ys, NULL);
    lm_fig_hline(f, 0.025, -1);
    free(x), free(y);
    return lm_fig_close(f);
}
