/* Task variance, active units, normalisation and clusters (spec §3; Yang et al. 2019): k-means with
 * k-means++ seeding and restarts, or Ward's agglomerative clustering, k chosen by the mean silhouette
 * score; fractional task variance of task pairs. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "util/err.h"
#include "util/rng.h"

/* The step of trial k that aligned step tau maps to, or -1: with period < 0 the trial's own step tau
 * after its fixation period; else step tau after the start of that period, inside it. */
static int aligned_step(const LmStates *s, int k, int period, int tau) {
    if (period < 0) {
        int fix_end = s->bounds[((size_t)k * LM_N_PERIOD_NAMES + lm_period_index("fixation")) * 2 + 1];
        return tau < s->len[k] && tau >= fix_end ? tau : -1;
    }
    const int32_t *b = s->bounds + ((size_t)k * LM_N_PERIOD_NAMES + period) * 2;
    int t = b[0] + tau;
    return b[0] >= 0 && t < b[1] && t < s->len[k] ? t : -1;
}

/* Whether trial k has the period (always, for the whole trial). */
static int has_period_of(const LmStates *s, int k, int period) {
    if (period < 0) return 1;
    const int32_t *b = s->bounds + ((size_t)k * LM_N_PERIOD_NAMES + period) * 2;
    return b[0] >= 0 && b[1] > b[0];
}

/* tv[i][r]: unit i's variance across task r's trials at each aligned step, averaged over the steps with
 * at least 2 trials; returns how many tasks have the period. */
static int variance_aligned(const LmStates *s, int period, double *tv, uint8_t *has_period) {
    int N = s->N, with = 0;
    double *sum = lm_malloc((size_t)N * sizeof(double)), *sq = lm_malloc((size_t)N * sizeof(double));
    memset(tv, 0, (size_t)N * s->n_tasks * sizeof(double));
    for (int r = 0; r < s->n_tasks; r++) {
        double *acc = lm_calloc((size_t)N, sizeof(double));
        int steps = 0, seen = 0;
        for (int tau = 0; tau < s->T; tau++) {
            int n = 0;
            memset(sum, 0, (size_t)N * sizeof(double));
            memset(sq, 0, (size_t)N * sizeof(double));
            for (int k = 0; k < s->K; k++) {
                if (s->task[k] != r || !has_period_of(s, k, period)) continue;
                seen = 1;
                int t = aligned_step(s, k, period, tau);
                if (t < 0) continue;
                const float *h = s->h + ((size_t)k * s->T + t) * N;
                for (int i = 0; i < N; i++) sum[i] += h[i], sq[i] += (double)h[i] * h[i];
                n++;
            }
            if (n < 2) continue;
            for (int i = 0; i < N; i++) {
                double m = sum[i] / n;
                acc[i] += fmax(sq[i] / n - m * m, 0.0);
            }
            steps++;
        }
        for (int i = 0; i < N; i++) tv[(size_t)i * s->n_tasks + r] = steps ? acc[i] / steps : 0;
        if (has_period) has_period[r] = (uint8_t)seen;
        with += seen;
        free(acc);
    }
    free(sum), free(sq);
    return with;
}

void lm_task_variance(const LmStates *s, double *tv) { variance_aligned(s, -1, tv, NULL); }

int lm_task_variance_period(const LmStates *s, int period, double *tv, uint8_t *has_period) {
    int with = variance_aligned(s, period, tv, has_period);
    if (period < 0) {   /* every task has the whole trial */
        for (int r = 0; has_period && r < s->n_tasks; r++) has_period[r] = 1;
        return s->n_tasks;
    }
    return with;
}

static double d2(const double *a, const double *b, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
}

/* One k-means run from k-means++ seeds; returns the inertia. */
static double kmeans_once(const double *X, int n, int d, int k, LmRng *rng, int *lab, double *C) {
    double *dist = lm_malloc((size_t)n * sizeof(double));
    int first = (int)lm_rng_below(rng, (uint32_t)n);
    memcpy(C, X + (size_t)first * d, (size_t)d * sizeof(double));
    for (int i = 0; i < n; i++) dist[i] = d2(X + (size_t)i * d, C, d);
    for (int c = 1; c < k; c++) {
        double tot = 0;
        for (int i = 0; i < n; i++) tot += dist[i];
        int pick = n - 1;
        if (tot > 0) {
            double u = lm_rng_uniform(rng) * tot, cum = 0;
            for (int i = 0; i < n; i++)
                if ((cum += dist[i]) > u) {
                    pick = i;
                    break;
                }
        } else pick = (int)lm_rng_below(rng, (uint32_t)n);
        memcpy(C + (size_t)c * d, X + (size_t)pick * d, (size_t)d * sizeof(double));
        for (int i = 0; i < n; i++) dist[i] = fmin(dist[i], d2(X + (size_t)i * d, C + (size_t)c * d, d));
    }
    int *cnt = lm_malloc((size_t)k * sizeof(int));
    double inertia = 0;
    for (int it = 0; it < 300; it++) {
        int changed = 0;
        inertia = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            double bd = DBL_MAX;
            for (int c = 0; c < k; c++) {
                double v = d2(X + (size_t)i * d, C + (size_t)c * d, d);
                if (v < bd) bd = v, best = c;
            }
            if (it == 0 || lab[i] != best) changed = 1;
            lab[i] = best;
            inertia += bd;
        }
        if (!changed) break;
        memset(C, 0, (size_t)k * d * sizeof(double));
        memset(cnt, 0, (size_t)k * sizeof(int));
        for (int i = 0; i < n; i++) {
            cnt[lab[i]]++;
            for (int j = 0; j < d; j++) C[(size_t)lab[i] * d + j] += X[(size_t)i * d + j];
        }
        for (int c = 0; c < k; c++)
            for (int j = 0; j < d && cnt[c]; j++) C[(size_t)c * d + j] /= cnt[c];
        for (int c = 0; c < k; c++) {
            if (cnt[c]) continue;   /* an empty cluster restarts at the point farthest from its centre */
            int far = 0;
            double fd = -1;
            for (int i = 0; i < n; i++) {
                double v = d2(X + (size_t)i * d, C + (size_t)lab[i] * d, d);
                if (v > fd) fd = v, far = i;
            }
            memcpy(C + (size_t)c * d, X + (size_t)far * d, (size_t)d * sizeof(double));
            lab[far] = c, cnt[c] = 1;
        }
    }
    free(cnt), free(dist);
    return inertia;
}

double lm_kmeans(const double *X, int n, int d, int k, int restarts, uint64_t seed, int *labels) {
    LmRng rng = lm_rng_derive(seed, 0x6b6du + (uint64_t)k);   /* "km" + k */
    int *lab = lm_malloc((size_t)n * sizeof(int));
    double *C = lm_malloc((size_t)k * d * sizeof(double)), best = DBL_MAX;
    for (int r = 0; r < restarts; r++) {
        double in = kmeans_once(X, n, d, k, &rng, lab, C);
        if (in < best) best = in, memcpy(labels, lab, (size_t)n * sizeof(int));
    }
    free(lab), free(C);
    return best;
}

/* Ward linkage by the Lance-Williams update on squared Euclidean distances, merged until k remain. */
void lm_ward(const double *X, int n, int d, int k, int *labels) {
    double *D = lm_malloc((size_t)n * n * sizeof(double));
    int *size = lm_malloc((size_t)n * sizeof(int)), *root = lm_malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) {
        size[i] = 1, root[i] = i;
        for (int j = 0; j < n; j++) D[(size_t)i * n + j] = d2(X + (size_t)i * d, X + (size_t)j * d, d);
    }
    for (int left = n; left > k; left--) {
        int bi = -1, bj = -1;
        double bd = DBL_MAX;
        for (int i = 0; i < n; i++)
            if (size[i])
                for (int j = i + 1; j < n; j++)
                    if (size[j] && D[(size_t)i * n + j] < bd) bd = D[(size_t)i * n + j], bi = i, bj = j;
        for (int m = 0; m < n; m++) {
            if (!size[m] || m == bi || m == bj) continue;
            double ni = size[bi], nj = size[bj], nm = size[m];
            double v = ((ni + nm) * D[(size_t)bi * n + m] + (nj + nm) * D[(size_t)bj * n + m] - nm * bd) / (ni + nj + nm);
            D[(size_t)bi * n + m] = D[(size_t)m * n + bi] = v;
        }
        size[bi] += size[bj], size[bj] = 0;
        for (int i = 0; i < n; i++)
            if (root[i] == bj) root[i] = bi;
    }
    int next = 0;
    int *id = lm_malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) id[i] = -1;
    for (int i = 0; i < n; i++) {
        if (id[root[i]] < 0) id[root[i]] = next++;
        labels[i] = id[root[i]];
    }
    free(id), free(D), free(size), free(root);
}

double lm_silhouette(const double *X, int n, int d, const int *labels, int k) {
    if (k < 2 || k >= n) return 0;
    double *mean = lm_malloc((size_t)k * sizeof(double)), total = 0;
    int *cnt = lm_calloc((size_t)k, sizeof(int));
    for (int i = 0; i < n; i++) cnt[labels[i]]++;
    for (int i = 0; i < n; i++) {
        memset(mean, 0, (size_t)k * sizeof(double));
        for (int j = 0; j < n; j++)
            if (j != i) mean[labels[j]] += sqrt(d2(X + (size_t)i * d, X + (size_t)j * d, d));
        int own = labels[i];
        if (cnt[own] <= 1) continue;   /* a singleton's silhouette is 0 (as scikit-learn) */
        double a = mean[own] / (cnt[own] - 1), b = DBL_MAX;
        for (int c = 0; c < k; c++)
            if (c != own && cnt[c] > 0) b = fmin(b, mean[c] / cnt[c]);
        double m = fmax(a, b);
        total += m > 0 ? (b - a) / m : 0;
    }
    free(mean), free(cnt);
    return total / n;
}

void lm_variance_free(LmVariance *v) {
    free(v->tv), free(v->active), free(v->units), free(v->tvn), free(v->silhouette), free(v->labels);
    free(v->cluster_task), free(v->order);
    memset(v, 0, sizeof *v);
}

static const LmVariance *sort_v;
static int by_cluster(const void *a, const void *b) {
    int x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (sort_v->labels[x] != sort_v->labels[y]) return sort_v->labels[x] - sort_v->labels[y];
    return x - y;
}

/* Name each cluster by its task and renumber clusters in the order of those tasks. */
static void label_clusters(LmVariance *v) {
    int k = v->k, R = v->n_tasks;
    int32_t *task = lm_malloc((size_t)k * sizeof(int32_t));
    for (int c = 0; c < k; c++) {
        double best = -1;
        task[c] = 0;
        for (int r = 0; r < R; r++) {
            double s = 0;
            for (int u = 0; u < v->n_active; u++)
                if (v->labels[u] == c) s += v->tvn[(size_t)u * R + r];
            if (s > best) best = s, task[c] = r;
        }
    }
    int *rank = lm_malloc((size_t)k * sizeof(int));   /* new id of cluster c */
    for (int c = 0; c < k; c++) {
        rank[c] = 0;
        for (int e = 0; e < k; e++) rank[c] += task[e] < task[c] || (task[e] == task[c] && e < c);
    }
    for (int u = 0; u < v->n_active; u++) v->labels[u] = rank[v->labels[u]];
    for (int c = 0; c < k; c++) v->cluster_task[rank[c]] = task[c];
    free(task), free(rank);
    for (int u = 0; u < v->n_active; u++) v->order[u] = u;
    sort_v = v;
    qsort(v->order, (size_t)v->n_active, sizeof(int32_t), by_cluster);
}

int lm_variance_cluster(const double *tv, int N, int n_tasks, double threshold, LmClusterMethod method, int kmin,
                        int kmax, int restarts, uint64_t seed, LmVariance *v) {
    memset(v, 0, sizeof *v);
    v->N = N, v->n_tasks = n_tasks;
    v->tv = lm_malloc((size_t)N * n_tasks * sizeof(double));
    memcpy(v->tv, tv, (size_t)N * n_tasks * sizeof(double));
    v->active = lm_calloc((size_t)N, 1);
    v->units = lm_malloc((size_t)N * sizeof(int32_t));
    for (int i = 0; i < N; i++) {
        double s = 0, mx = 0;
        for (int r = 0; r < n_tasks; r++) s += tv[(size_t)i * n_tasks + r], mx = fmax(mx, tv[(size_t)i * n_tasks + r]);
        if (s > threshold && mx > 0) v->active[i] = 1, v->units[v->n_active++] = i;
    }
    int n = v->n_active;
    if (kmax > n - 1) kmax = n - 1;
    if (n < 3 || kmax < kmin) {
        lm_err_set("variance: %d active units (summed task variance > %g): too few to cluster with k >= %d", n,
                   threshold, kmin);
        lm_variance_free(v);
        return -1;
    }
    v->tvn = lm_malloc((size_t)n * n_tasks * sizeof(double));
    for (int u = 0; u < n; u++) {
        const double *row = tv + (size_t)v->units[u] * n_tasks;
        double mx = 0;
        for (int r = 0; r < n_tasks; r++) mx = fmax(mx, row[r]);
        for (int r = 0; r < n_tasks; r++) v->tvn[(size_t)u * n_tasks + r] = row[r] / mx;
    }
    v->kmin = kmin, v->kmax = kmax;
    v->silhouette = lm_calloc((size_t)(kmax - kmin + 1), sizeof(double));
    int *lab = lm_malloc((size_t)n * sizeof(int)), *best = lm_malloc((size_t)n * sizeof(int));
    double bs = -2;
    for (int k = kmin; k <= kmax; k++) {
        if (method == LM_CLUSTER_WARD) lm_ward(v->tvn, n, n_tasks, k, lab);
        else lm_kmeans(v->tvn, n, n_tasks, k, restarts, seed, lab);
        double sc = v->silhouette[k - kmin] = lm_silhouette(v->tvn, n, n_tasks, lab, k);
        if (sc > bs) bs = sc, v->k = k, memcpy(best, lab, (size_t)n * sizeof(int));
    }
    v->labels = lm_malloc((size_t)n * sizeof(int32_t));
    for (int u = 0; u < n; u++) v->labels[u] = best[u];
    v->cluster_task = lm_malloc((size_t)v->k * sizeof(int32_t));
    v->order = lm_malloc((size_t)n * sizeof(int32_t));
    label_clusters(v);
    free(lab), free(best);
    return 0;
}

void lm_ftv(const LmVariance *v, int r1, int r2, double *ftv, int32_t hist[20]) {
    memset(hist, 0, 20 * sizeof(int32_t));
    for (int u = 0; u < v->n_active; u++) {
        const double *row = v->tv + (size_t)v->units[u] * v->n_tasks;
        double a = row[r1], b = row[r2];
        ftv[u] = a + b > 0 ? (a - b) / (a + b) : 0;
        int bin = (int)floor((ftv[u] + 1) / 0.1);
        hist[bin < 0 ? 0 : bin > 19 ? 19 : bin]++;
    }
}
