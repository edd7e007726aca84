/* Outputs of a fixed-point analysis: principal-component projections, the .npz, the JSON summary
 * (counts, q, slow-point dimensionality, the leading eigenvalue's distribution) and the figure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "io/arrays.h"
#include "plot/plot.h"
#include "util/err.h"

#define N_PC 3

static void project(const double *mean, const double *axes, int N, const double *x, double *out) {
    for (int c = 0; c < N_PC; c++) {
        double s = 0;
        for (int i = 0; i < N; i++) s += (x[i] - mean[i]) * axes[(size_t)c * N + i];
        out[c] = s;
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, int n, double p) {
    if (n <= 0) return NAN;
    double r = p * (n - 1);
    int lo = (int)floor(r), hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (r - lo) * (sorted[hi] - sorted[lo]);
}

static cJSON *summary_json(const LmFixedPoints *fp, const LmFpContext *ctx, const double *lam1) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", ctx->task);
    cJSON_AddStringToObject(o, "period", ctx->period);
    cJSON_AddStringToObject(o, "rule", ctx->rule);
    cJSON_AddStringToObject(o, "activation", ctx->act);
    cJSON_AddNumberToObject(o, "alpha", ctx->alpha);
    cJSON_AddStringToObject(o, "mask", ctx->mask);
    cJSON_AddNumberToObject(o, "inits", fp->n_inits);
    cJSON_AddNumberToObject(o, "iterations", fp->iterations);
    cJSON_AddNumberToObject(o, "final_learning_rate", fp->final_lr);
    cJSON *st = cJSON_AddObjectToObject(o, "stopped");
    cJSON_AddNumberToObject(st, "tol_q", fp->n_stopped_q);
    cJSON_AddNumberToObject(st, "tol_dq", fp->n_stopped_dq);
    cJSON_AddNumberToObject(st, "max_iters", fp->n_max_iters);
    cJSON *rf = cJSON_AddObjectToObject(o, "refine");
    cJSON_AddStringToObject(rf, "method", fp->refine ? "levenberg-marquardt (analytic Jacobian, LAPACK dposv)" : "none");
    cJSON_AddNumberToObject(rf, "polished", fp->n_refined);
    cJSON_AddNumberToObject(rf, "merged", fp->n_refine_merged);
    cJSON_AddNumberToObject(rf, "outliers", fp->n_refine_outliers);
    cJSON_AddNumberToObject(o, "converged", fp->n_converged);
    cJSON_AddNumberToObject(o, "duplicates", fp->n_duplicates);
    cJSON_AddNumberToObject(o, "outliers", fp->n_outliers);
    cJSON_AddNumberToObject(o, "points", fp->K);
    int ns = 0;
    for (int k = 0; k < fp->K; k++) ns += fp->stable[k];
    cJSON_AddNumberToObject(o, "stable", ns);
    cJSON_AddNumberToObject(o, "slow_point_participation_ratio", fp->slow_pr);
    double *qs = lm_malloc((size_t)(fp->K ? fp->K : 1) * sizeof(double));
    memcpy(qs, fp->q, (size_t)fp->K * sizeof(double));
    qsort(qs, (size_t)fp->K, sizeof(double), cmp_double);
    cJSON *q = cJSON_AddObjectToObject(o, "q");
    if (fp->K) {
        cJSON_AddNumberToObject(q, "min", qs[0]);
        cJSON_AddNumberToObject(q, "median", quantile(qs, fp->K, 0.5));
        cJSON_AddNumberToObject(q, "max", qs[fp->K - 1]);
        cJSON_AddNumberToObject(q, "median_over_alpha2", quantile(qs, fp->K, 0.5) / (ctx->alpha * ctx->alpha));
    }
    memcpy(qs, lam1, (size_t)fp->K * sizeof(double));
    qsort(qs, (size_t)fp->K, sizeof(double), cmp_double);
    cJSON *l = cJSON_AddObjectToObject(o, "leading_eigenvalue_modulus");
    if (fp->K) {
        cJSON_AddNumberToObject(l, "min", qs[0]);
        cJSON_AddNumberToObject(l, "q25", quantile(qs, fp->K, 0.25));
        cJSON_AddNumberToObject(l, "median", quantile(qs, fp->K, 0.5));
        cJSON_AddNumberToObject(l, "q75", quantile(qs, fp->K, 0.75));
        cJSON_AddNumberToObject(l, "max", qs[fp->K - 1]);
        int near = 0;
        for (int k = 0; k < fp->K; k++) near += fabs(lam1[k] - 1.0) <= 0.05;
        cJSON_AddNumberToObject(l, "within_0.05_of_1", near);
        cJSON *h = cJSON_AddArrayToObject(l, "histogram_0_to_2_by_0.1");
        int counts[21] = {0};
        for (int k = 0; k < fp->K; k++) counts[lam1[k] >= 2.0 ? 20 : (int)(lam1[k] / 0.1)]++;
        for (int b = 0; b < 21; b++) cJSON_AddItemToArray(h, cJSON_CreateNumber(counts[b]));
    }
    cJSON *t = cJSON_AddObjectToObject(o, "seconds");
    cJSON_AddNumberToObject(t, "optimisation", fp->seconds_opt);
    cJSON_AddNumberToObject(t, "refine", fp->seconds_refine);
    cJSON_AddNumberToObject(t, "eigen", fp->seconds_eig);
    free(qs);
    return o;
}

static int figure(const LmFixedPoints *fp, const LmStates *s, const double *traj, const double *pts,
                  const double *lam1, const LmFpContext *ctx, const char *path) {
    LmFigure *f = lm_fig_new(path, 1800, 600, 3, 1);
    if (!f) return -1;
    int N = fp->N, K = fp->K;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int k = 0; k < s->K; k++)
        for (int t = 0; t < s->len[k]; t++)
            for (int c = 0; c < 2; c++) {
                double v = traj[((size_t)k * s->T + t) * N_PC + c];
                lo[c] = fmin(lo[c], v), hi[c] = fmax(hi[c], v);
            }
    for (int k = 0; k < K; k++)
        for (int c = 0; c < 2; c++) lo[c] = fmin(lo[c], pts[k * N_PC + c]), hi[c] = fmax(hi[c], pts[k * N_PC + c]);
    for (int c = 0; c < 2; c++) {
        double pad = 0.05 * (hi[c] - lo[c] + 1e-9);
        lo[c] -= pad, hi[c] += pad;
    }
    char title[200];
    snprintf(title, sizeof title, "%s %s: %d points (filled = stable)", ctx->task, ctx->period, K);
    lm_fig_panel(f, 0, lo[0], hi[0], lo[1], hi[1], title, "PC 1", "PC 2");
    double *x = lm_malloc((size_t)(s->T + K + 1) * sizeof(double)), *y = lm_malloc((size_t)(s->T + K + 1) * sizeof(double));
    for (int k = 0; k < s->K; k++) {
        for (int t = 0; t < s->len[k]; t++) {
            x[t] = traj[((size_t)k * s->T + t) * N_PC];
            y[t] = traj[((size_t)k * s->T + t) * N_PC + 1];
        }
        const double *ys[1] = {y};
        lm_fig_lines(f, 1, s->len[k], x, ys, NULL);
    }
    int nst = 0, nun = 0;
    double *ux = lm_malloc((size_t)(K + 1) * sizeof(double)), *uy = lm_malloc((size_t)(K + 1) * sizeof(double));
    for (int k = 0; k < K; k++) {
        if (fp->stable[k]) x[nst] = pts[k * N_PC], y[nst++] = pts[k * N_PC + 1];
        else ux[nun] = pts[k * N_PC], uy[nun++] = pts[k * N_PC + 1];
    }
    lm_fig_points(f, nst, x, y, 3);
    lm_fig_points_open(f, nun, ux, uy, 3);
    /* eigenvalue spectra of every point, with the unit circle */
    double r = 1.05;
    for (size_t k = 0; k < (size_t)K * N; k++) r = fmax(r, 1.05 * hypot(fp->eig_re[k], fp->eig_im[k]));
    lm_fig_panel(f, 1, -r, r, -r, r, "Jacobian eigenvalues (unit circle)", "Re", "Im");
    lm_fig_equal_aspect(f);
    double cx[129], cy[129];
    for (int i = 0; i <= 128; i++) cx[i] = cos(2 * M_PI * i / 128), cy[i] = sin(2 * M_PI * i / 128);
    const double *cys[1] = {cy};
    lm_fig_lines(f, 1, 129, cx, cys, NULL);
    for (int k = 0; k < K; k++)
        (fp->stable[k] ? lm_fig_points : lm_fig_points_open)(f, N, fp->eig_re + (size_t)k * N, fp->eig_im + (size_t)k * N,
                                                             fp->stable[k] ? 2 : 3);
    /* leading eigenvalue modulus against q */
    double qlo = INFINITY, qhi = -INFINITY, lmax = 1.1;
    for (int k = 0; k < K; k++) {
        x[k] = log10(fmax(fp->q[k], 1e-300));
        qlo = fmin(qlo, x[k]), qhi = fmax(qhi, x[k]), lmax = fmax(lmax, 1.05 * lam1[k]);
    }
    if (!(qhi > qlo)) qlo -= 1, qhi += 1;
    lm_fig_panel(f, 2, qlo - 0.5, qhi + 0.5, 0, lmax, "leading eigenvalue vs q", "log10 q", "|lambda_1|");
    lm_fig_points(f, K, x, lam1, 0);
    lm_fig_hline(f, 1.0, -1);
    free(x), free(y), free(ux), free(uy);
    return lm_fig_close(f);
}

cJSON *lm_fp_report(const LmFixedPoints *fp, const LmStates *s, const LmFpContext *ctx, LmArrays *arrays,
                    const char *npz_path, const char *fig_path) {
    int N = fp->N, K = fp->K;
    double var[N_PC] = {0, 0, 0};
    double *mean = lm_malloc((size_t)N * sizeof(double)), *axes = lm_calloc((size_t)N_PC * N, sizeof(double));
    int64_t rows;
    float *X = lm_states_rows(s, &rows);
    int rc = lm_pca(X, rows, N, N_PC, mean, axes, var, NULL);
    free(X);
    if (rc) {
        free(axes), free(mean);
        return NULL;
    }
    double *pts = lm_calloc((size_t)(K ? K : 1) * N_PC, sizeof(double));
    double *traj = lm_calloc((size_t)s->K * s->T * N_PC, sizeof(double));
    double *h = lm_malloc((size_t)N * sizeof(double));
    for (int k = 0; k < K; k++) project(mean, axes, N, fp->points + (size_t)k * N, pts + (size_t)k * N_PC);
    for (int k = 0; k < s->K; k++)
        for (int t = 0; t < s->len[k]; t++) {
            const float *src = s->h + ((size_t)k * s->T + t) * N;
            for (int i = 0; i < N; i++) h[i] = src[i];
            project(mean, axes, N, h, traj + ((size_t)k * s->T + t) * N_PC);
        }
    free(h);
    double *lam1 = lm_malloc((size_t)(K ? K : 1) * sizeof(double)), *qa = lm_malloc((size_t)(K ? K : 1) * sizeof(double));
    double *u = lm_malloc((size_t)ctx->n_in * sizeof(double));
    for (int k = 0; k < K; k++) {
        lam1[k] = hypot(fp->eig_re[(size_t)k * N], fp->eig_im[(size_t)k * N]);
        qa[k] = fp->q[k] / (ctx->alpha * ctx->alpha);
    }
    for (int i = 0; i < ctx->n_in; i++) u[i] = ctx->u[i];
    cJSON *doc = summary_json(fp, ctx, lam1);

    int64_t kn[2] = {K, N}, k1[1] = {K}, in[1] = {ctx->n_in}, kp[2] = {K, N_PC}, pn[2] = {N_PC, N};
    int64_t p1[1] = {N_PC}, n1[1] = {N}, tr[3] = {s->K, s->T, N_PC}, t1[1] = {s->K}, ini[2] = {fp->n_inits, N};
    char *info = cJSON_PrintUnformatted(doc);
    LmArrays *a = arrays ? arrays : lm_arrays_new();
    lm_arrays_add(a, "points", LM_DT_F64, 2, kn, fp->points);
    lm_arrays_add(a, "q", LM_DT_F64, 1, k1, fp->q);
    lm_arrays_add(a, "q_over_alpha2", LM_DT_F64, 1, k1, qa);
    lm_arrays_add(a, "eig_re", LM_DT_F64, 2, kn, fp->eig_re);
    lm_arrays_add(a, "eig_im", LM_DT_F64, 2, kn, fp->eig_im);
    lm_arrays_add(a, "lambda1_abs", LM_DT_F64, 1, k1, lam1);
    lm_arrays_add(a, "stable", LM_DT_U8, 1, k1, fp->stable);
    lm_arrays_add(a, "iterations", LM_DT_I32, 1, k1, fp->iters);
    lm_arrays_add(a, "input", LM_DT_F64, 1, in, u);
    lm_arrays_add(a, "inits", LM_DT_F32, 2, ini, fp->inits);
    lm_arrays_add(a, "pc_mean", LM_DT_F64, 1, n1, mean);
    lm_arrays_add(a, "pc_axes", LM_DT_F64, 2, pn, axes);
    lm_arrays_add(a, "pc_variance", LM_DT_F64, 1, p1, var);
    lm_arrays_add(a, "points_pc", LM_DT_F64, 2, kp, pts);
    lm_arrays_add(a, "traj_pc", LM_DT_F64, 3, tr, traj);
    lm_arrays_add(a, "traj_lengths", LM_DT_I32, 1, t1, s->len);
    lm_arrays_add_string(a, "summary", info ? info : "{}");
    free(info);
    rc = npz_path ? lm_arrays_write_npz(a, npz_path) : 0;
    if (a != arrays) lm_arrays_free(a);
    if (rc == 0 && fig_path) rc = figure(fp, s, traj, pts, lam1, ctx, fig_path);
    free(axes), free(mean), free(pts), free(traj), free(lam1), free(qa), free(u);
    if (rc) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}
