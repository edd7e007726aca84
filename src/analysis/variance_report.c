/* Outputs of the task-variance analysis and of lesions: .npz, JSON and figures (Yang et al. 2019's
 * units x tasks map sorted by cluster, the silhouette curve, FTV histograms, the lesion table). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "io/arrays.h"
#include "plot/plot.h"
#include "util/err.h"

LmArrays *lm_variance_arrays(const LmVariance *v, const char *const *task_names, const int32_t (*pairs)[2],
                             int n_pairs) {
    int n = v->n_active, R = v->n_tasks, nk = v->kmax - v->kmin + 1;
    double *ftv = lm_calloc((size_t)(n_pairs ? n_pairs : 1) * n, sizeof(double));
    int32_t *hist = lm_calloc((size_t)(n_pairs ? n_pairs : 1) * 20, sizeof(int32_t));
    int32_t *pr = lm_calloc((size_t)(n_pairs ? n_pairs : 1) * 2, sizeof(int32_t));
    for (int p = 0; p < n_pairs; p++) {
        lm_ftv(v, pairs[p][0], pairs[p][1], ftv + (size_t)p * n, hist + (size_t)p * 20);
        pr[2 * p] = pairs[p][0], pr[2 * p + 1] = pairs[p][1];
    }
    int32_t *kv = lm_malloc((size_t)nk * sizeof(int32_t));
    for (int k = 0; k < nk; k++) kv[k] = v->kmin + k;
    char *names = lm_malloc((size_t)R * 33 + 1);
    names[0] = '\0';
    for (int r = 0; r < R; r++) strcat(strcat(names, r ? ";" : ""), task_names[r]);
    int64_t nr[2] = {v->N, R}, ar[2] = {n, R}, N1[1] = {v->N}, a1[1] = {n}, k1[1] = {nk}, c1[1] = {v->k};
    int64_t pn[2] = {n_pairs, n}, ph[2] = {n_pairs, 20}, p2[2] = {n_pairs, 2};
    LmArrays *a = lm_arrays_new();
    lm_arrays_add(a, "task_variance", LM_DT_F64, 2, nr, v->tv);
    lm_arrays_add(a, "active", LM_DT_U8, 1, N1, v->active);
    lm_arrays_add(a, "units", LM_DT_I32, 1, a1, v->units);
    lm_arrays_add(a, "normalised", LM_DT_F64, 2, ar, v->tvn);
    lm_arrays_add(a, "labels", LM_DT_I32, 1, a1, v->labels);
    lm_arrays_add(a, "order", LM_DT_I32, 1, a1, v->order);
    lm_arrays_add(a, "cluster_task", LM_DT_I32, 1, c1, v->cluster_task);
    lm_arrays_add(a, "k_values", LM_DT_I32, 1, k1, kv);
    lm_arrays_add(a, "silhouette", LM_DT_F64, 1, k1, v->silhouette);
    lm_arrays_add(a, "ftv_pairs", LM_DT_I32, 2, p2, pr);
    lm_arrays_add(a, "ftv", LM_DT_F64, 2, pn, ftv);
    lm_arrays_add(a, "ftv_hist", LM_DT_I32, 2, ph, hist);
    lm_arrays_add_string(a, "task_names", names);
    free(ftv), free(hist), free(pr), free(kv), free(names);
    return a;
}

int lm_variance_write(const LmVariance *v, const char *const *task_names, const int32_t (*pairs)[2], int n_pairs,
                      const char *npz_path) {
    LmArrays *a = lm_variance_arrays(v, task_names, pairs, n_pairs);
    int rc = lm_arrays_write_npz(a, npz_path);
    lm_arrays_free(a);
    return rc;
}

int lm_variance_figures(const LmVariance *v, const char *const *task_names, const int32_t (*pairs)[2], int n_pairs,
                        const char *dir) {
    char path[1200], title[200];
    int n = v->n_active, R = v->n_tasks;
    /* units (sorted by cluster) x tasks map */
    snprintf(path, sizeof path, "%s/variance_map.png", dir);
    LmFigure *f = lm_fig_new(path, 1400, 300 + 22 * R, 1, 1);
    if (!f) return -1;
    float *z = lm_malloc((size_t)n * R * sizeof(float));
    for (int r = 0; r < R; r++)
        for (int u = 0; u < n; u++) z[(size_t)(R - 1 - r) * n + u] = (float)v->tvn[(size_t)v->order[u] * R + r];
    snprintf(title, sizeof title, "normalised task variance, %d active units in %d clusters (top row: %s)", n, v->k,
             task_names[0]);
    lm_fig_panel(f, 0, 0, n, 0, R, title, "active units, sorted by cluster", "tasks (top = first)");
    lm_fig_heatmap(f, z, R, n, 0, 1, 1, 0);
    double *bx = lm_malloc((size_t)(v->k + 1) * sizeof(double));
    const char **bl = lm_malloc((size_t)(v->k + 1) * sizeof(char *));
    int nb = 0;
    for (int u = 0; u < n; u++)
        if (u == 0 || v->labels[v->order[u]] != v->labels[v->order[u - 1]])
            bx[nb] = u, bl[nb] = task_names[v->cluster_task[v->labels[v->order[u]]]], nb++;
    lm_fig_vlines(f, nb, bx, bl);
    free(z), free(bx), free(bl);
    if (lm_fig_close(f)) return -1;
    /* silhouette curve */
    snprintf(path, sizeof path, "%s/silhouette.png", dir);
    if (!(f = lm_fig_new(path, 800, 550, 1, 1))) return -1;
    int nk = v->kmax - v->kmin + 1;
    double *x = lm_malloc((size_t)nk * sizeof(double)), lo = 0, hi = 0;
    for (int k = 0; k < nk; k++) x[k] = v->kmin + k, lo = fmin(lo, v->silhouette[k]), hi = fmax(hi, v->silhouette[k]);
    snprintf(title, sizeof title, "mean silhouette score: best k = %d", v->k);
    lm_fig_panel(f, 0, v->kmin - 0.5, v->kmax + 0.5, lo, hi > lo ? 1.1 * hi : 1, title, "k", "silhouette");
    const double *ys[1] = {v->silhouette};
    lm_fig_lines(f, 1, nk, x, ys, NULL);
    lm_fig_points(f, nk, x, v->silhouette, 0);
    double kx = v->k;
    lm_fig_vlines(f, 1, &kx, NULL);
    free(x);
    if (lm_fig_close(f)) return -1;
    if (n_pairs == 0) return 0;
    /* FTV histograms */
    snprintf(path, sizeof path, "%s/ftv.png", dir);
    if (!(f = lm_fig_new(path, 450 * (n_pairs < 4 ? n_pairs : 4), 420 * ((n_pairs + 3) / 4), n_pairs < 4 ? n_pairs : 4,
                         (n_pairs + 3) / 4)))
        return -1;
    double *ftv = lm_malloc((size_t)n * sizeof(double)), hv[20];
    int32_t hist[20];
    for (int p = 0; p < n_pairs; p++) {
        lm_ftv(v, pairs[p][0], pairs[p][1], ftv, hist);
        double hmax = 1;
        for (int b = 0; b < 20; b++) hv[b] = hist[b], hmax = fmax(hmax, hv[b]);
        snprintf(title, sizeof title, "FTV(%s, %s)", task_names[pairs[p][0]], task_names[pairs[p][1]]);
        lm_fig_panel(f, p, -0.5, 19.5, 0, 1.1 * hmax, title, "bins of 0.1 from -1 (left) to 1 (right)", "units");
        lm_fig_bars(f, 20, hv, NULL, NULL, NULL);
    }
    free(ftv);
    return lm_fig_close(f);
}

int lm_lesion_figure(const double *delta, int n_groups, int n_tasks, const char *const *group_names,
                     const char *const *task_names, const char *path) {
    LmFigure *f = lm_fig_new(path, 300 + 16 * n_tasks, 250 + 22 * n_groups, 1, 1);
    if (!f) return -1;
    float *z = lm_malloc((size_t)n_groups * n_tasks * sizeof(float));
    double amax = 0.05;
    for (int g = 0; g < n_groups; g++)
        for (int r = 0; r < n_tasks; r++) {
            z[(size_t)(n_groups - 1 - g) * n_tasks + r] = (float)delta[(size_t)g * n_tasks + r];
            amax = fmax(amax, fabs(delta[(size_t)g * n_tasks + r]));
        }
    char title[200];
    snprintf(title, sizeof title, "performance change after lesion (rows: %s first; columns: %s first)", group_names[0],
             task_names[0]);
    lm_fig_panel(f, 0, 0, n_tasks, 0, n_groups, title, "tasks (battery order)", "lesioned group");
    lm_fig_heatmap(f, z, n_groups, n_tasks, -amax, amax, 1, 1);
    free(z);
    return lm_fig_close(f);
}
