/* Dimensionality and connectivity summary of a trained network (spec §4): participation ratio of the
 * hidden states, dormant units, effective and stable rank of W_rec, weight change from initialisation,
 * and |w| against sheet distance. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "io/json.h"
#include "plot/plot.h"
#include "tasks/tasks.h"
#include "util/err.h"
#include "util/rng.h"

enum { W_REC = 2, W_IN = 0, W_OUT = 4 };   /* lm_model_export_tensor indices */

double lm_sheet_distance(const LmSheet *g, int i, int j) {
    double dx = fabs((double)(i % g->nx - j % g->nx)), dy = fabs((double)(i / g->nx - j / g->nx));
    if (g->periodic) {
        dx = fmin(dx, g->nx - dx);
        dy = fmin(dy, g->ny - dy);
    }
    return sqrt(dx * dx + dy * dy);
}

void lm_summary_options_default(LmSummaryOptions *o) {
    o->trials = 16;
    o->dense_max_n = LM_SUMMARY_DENSE_MAX_N;
    o->sample_rows = 1024;
    o->seed = 0x73756d6dULL;
    o->power_iters = 2000;
    o->power_tol = 1e-9;
}

/* A measure not computed above the dense size, with why (N and the size are appended). */
static void skip(LmSummary *o, const char *name, const char *why, int dense_max_n) {
    if (o->n_skipped >= 4) return;
    o->skipped[o->n_skipped] = name;
    snprintf(o->skipped_why[o->n_skipped++], sizeof o->skipped_why[0], "%s (N = %d > %d)", why, o->N, dense_max_n);
}

/* ---------------------------------------------------------------- hidden-state statistics, streamed */
/* Rows arrive one LmStates at a time. Dense: sums of (x - shift) and (x - shift)(x - shift)^T with the
 * shift the first chunk's mean (as exact as centring when the shift is near the mean; the covariance
 * is then corrected by the mean of x - shift). Otherwise a uniform reservoir sample of rows. */
#define COV_ROWS 2048
typedef struct {
    int N, dense, dense_max_n, cap, n_sample, have_shift;
    int64_t rows;
    double *abs_sum, *shift, *dsum, *cov;
    float *buf, *c, *sample;
    LmRng rng;
} HiddenAcc;

static void acc_init(HiddenAcc *a, int N, const LmSummaryOptions *o) {
    memset(a, 0, sizeof *a);
    size_t by_bytes = LM_SUMMARY_SAMPLE_BYTES / ((size_t)N * sizeof(float));
    int cap = (int)((size_t)o->sample_rows < by_bytes ? (size_t)o->sample_rows : by_bytes);
    uint64_t seed = o->seed;
    a->N = N, a->dense = N <= o->dense_max_n, a->dense_max_n = o->dense_max_n, a->cap = cap;
    a->abs_sum = lm_calloc((size_t)N, sizeof(double));
    a->rng = lm_rng_derive(seed, 0x726f7773u);
    if (a->dense) {
        a->shift = lm_calloc((size_t)N, sizeof(double));
        a->dsum = lm_calloc((size_t)N, sizeof(double));
        a->cov = lm_calloc((size_t)N * N, sizeof(double));
        a->buf = lm_malloc((size_t)COV_ROWS * N * sizeof(float));
        a->c = lm_malloc((size_t)N * N * sizeof(float));
    } else {
        a->sample = lm_malloc((size_t)(cap > 0 ? cap : 1) * N * sizeof(float));
    }
}

static void acc_free(HiddenAcc *a) {
    free(a->abs_sum), free(a->shift), free(a->dsum), free(a->cov), free(a->buf), free(a->c), free(a->sample);
    memset(a, 0, sizeof *a);
}

static void acc_flush(HiddenAcc *a, int rows) {
    int N = a->N;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, N, rows, 1.0f, a->buf, N, 0.0f, a->c, N);
    for (int i = 0; i < N; i++)
        for (int j = i; j < N; j++) a->cov[(size_t)i * N + j] += a->c[(size_t)i * N + j];
}

static void acc_add(HiddenAcc *a, const LmStates *s) {
    int N = a->N;
    if (a->dense && !a->have_shift) {
        int64_t n = 0;
        for (int k = 0; k < s->K; k++)
            for (int t = 0; t < s->len[k]; t++, n++)
                for (int i = 0; i < N; i++) a->shift[i] += s->h[((size_t)k * s->T + t) * N + i];
        for (int i = 0; i < N && n > 0; i++) a->shift[i] /= (double)n;
        a->have_shift = n > 0;
    }
    int in_buf = 0;
    for (int k = 0; k < s->K; k++)
        for (int t = 0; t < s->len[k]; t++) {
            const float *x = s->h + ((size_t)k * s->T + t) * N;
            for (int i = 0; i < N; i++) a->abs_sum[i] += fabsf(x[i]);
            if (a->dense) {
                float *b = a->buf + (size_t)in_buf * N;
                for (int i = 0; i < N; i++) {
                    b[i] = (float)(x[i] - a->shift[i]);
                    a->dsum[i] += b[i];
                }
                if (++in_buf == COV_ROWS) acc_flush(a, in_buf), in_buf = 0;
            } else if (a->n_sample < a->cap) {
                memcpy(a->sample + (size_t)a->n_sample++ * N, x, (size_t)N * sizeof(float));
            } else if (a->cap > 0) {   /* reservoir: row number a->rows replaces a kept one with p = cap / (rows + 1) */
                uint64_t j = lm_rng_u64(&a->rng) % (uint64_t)(a->rows + 1);
                if (j < (uint64_t)a->cap) memcpy(a->sample + (size_t)j * N, x, (size_t)N * sizeof(float));
            }
            a->rows++;
        }
    if (a->dense && in_buf) acc_flush(a, in_buf);
}

/* Participation ratio (tr G)^2 / |G|_F^2 of the sample's centred Gram matrix G = Xc Xc^T: the non-zero
 * eigenvalues of Xc Xc^T and Xc^T Xc (the covariance, up to a factor) coincide. */
static double sample_pr(float *X, int m, int N) {
    if (m < 2) return 0;
    double *mean = lm_calloc((size_t)N, sizeof(double));
    for (int r = 0; r < m; r++)
        for (int i = 0; i < N; i++) mean[i] += X[(size_t)r * N + i];
    for (int r = 0; r < m; r++)
        for (int i = 0; i < N; i++) X[(size_t)r * N + i] = (float)(X[(size_t)r * N + i] - mean[i] / m);
    float *G = lm_malloc((size_t)m * m * sizeof(float));
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, m, N, 1.0f, X, N, 0.0f, G, m);
    double tr = 0, fro2 = 0;
    for (int i = 0; i < m; i++)
        for (int j = i; j < m; j++) {
            double g = G[(size_t)i * m + j];
            if (i == j) tr += g, fro2 += g * g;
            else fro2 += 2 * g * g;
        }
    free(G), free(mean);
    return fro2 > 0 ? tr * tr / fro2 : 0;
}

static void acc_finish(HiddenAcc *a, LmSummary *o) {
    int N = a->N;
    int64_t rows = a->rows;
    o->n_samples = rows;
    o->activity = lm_calloc((size_t)N, sizeof(double));
    double mean_act = 0;
    for (int i = 0; i < N; i++) mean_act += (o->activity[i] = a->abs_sum[i] / (double)(rows ? rows : 1));
    mean_act /= N;
    o->tau[0] = 0, o->tau[1] = 0.025;
    for (int t = 0; t < 2; t++) {
        int d = 0;
        for (int i = 0; i < N; i++) d += mean_act > 0 ? o->activity[i] / mean_act <= o->tau[t] : 1;
        o->dormant[t] = (double)d / N;
    }
    if (!a->dense) {
        int m = a->n_sample;
        o->pr_rows = m;
        o->pr = sample_pr(a->sample, m, N);
        skip(o, "covariance_eigenvalues", "needs the N x N covariance: computed only up to the dense size",
             a->dense_max_n);
        return;
    }
    o->pr_rows = rows;
    o->cov_eig = lm_calloc((size_t)N, sizeof(double));
    if (rows < 2) return;
    double *d = lm_malloc((size_t)N * sizeof(double)), *w = lm_malloc((size_t)N * sizeof(double));
    for (int i = 0; i < N; i++) d[i] = a->dsum[i] / (double)rows;
    for (int i = 0; i < N; i++)
        for (int j = i; j < N; j++) {
            double v = (a->cov[(size_t)i * N + j] - (double)rows * d[i] * d[j]) / (double)(rows - 1);
            a->cov[(size_t)i * N + j] = a->cov[(size_t)j * N + i] = v;
        }
    if (lm_sym_eigvals(N, a->cov, w) == 0)
        for (int i = 0; i < N; i++) o->cov_eig[i] = w[N - 1 - i];
    o->pr = lm_participation_ratio(o->cov_eig, N);
    free(d), free(w);
}

/* ---------------------------------------------------------------- weights */
/* Effective and stable rank: every singular value (dense, LAPACK) or sigma_1 by power iteration. */
static int rank_stats(const LmMask *mask, const float *vals, const LmSummaryOptions *opt, LmSummary *o) {
    int N = mask->n;
    double fro2 = 0;
    for (int64_t p = 0; p < mask->row_ptr[N]; p++) fro2 += (double)vals[p] * vals[p];
    if (!o->dense) {
        double s1 = lm_sparse_spectral_norm(N, mask->row_ptr, mask->col_idx, vals, opt->seed, opt->power_iters,
                                            opt->power_tol, &o->power_iters, &o->power_rel);
        o->srank = s1 > 0 ? fro2 / (s1 * s1) : 0;
        o->erank = NAN;
        o->sv1 = s1;
        skip(o, "effective_rank", "needs every singular value of W_rec: dense SVD only up to the dense size",
             opt->dense_max_n);
        skip(o, "singular_values", "dense SVD only up to the dense size; spectral_norm is from power iteration",
             opt->dense_max_n);
        return 0;
    }
    double *a = lm_calloc((size_t)N * N, sizeof(double));
    for (int i = 0; i < N; i++)
        for (int32_t p = mask->row_ptr[i]; p < mask->row_ptr[i + 1]; p++) a[(size_t)i * N + mask->col_idx[p]] = vals[p];
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
    o->sv1 = o->sv[0];
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

/* |W - W0|_F / |W0|_F with both in CSR (sorted columns; the masks may differ, e.g. after pruning). */
static double rel_change_csr(const LmMask *m, const float *w, const LmInitWeights *init) {
    if (!init || !init->row_ptr || !init->col_idx || !init->rec) return NAN;
    double d = 0, z = 0;
    for (int i = 0; i < m->n; i++) {
        int32_t p = m->row_ptr[i], pe = m->row_ptr[i + 1], q = init->row_ptr[i], qe = init->row_ptr[i + 1];
        while (p < pe || q < qe) {
            int cp = p < pe ? m->col_idx[p] : INT32_MAX, cq = q < qe ? init->col_idx[q] : INT32_MAX;
            double a = cp <= cq ? w[p] : 0, b = cq <= cp ? init->rec[q] : 0;
            if (cp <= cq) p++;
            if (cq <= cp) q++;
            d += (a - b) * (a - b), z += b * b;
        }
    }
    return z > 0 ? sqrt(d / z) : NAN;
}

static void distance_bins(const float *vals, const LmMask *mask, const LmSheet *g, LmSummary *o) {
    int N = mask->n;
    double total = 0;
    memset(o->bin_count, 0, sizeof o->bin_count);
    memset(o->bin_abs, 0, sizeof o->bin_abs);
    memset(o->bin_mean, 0, sizeof o->bin_mean);
    memset(o->bin_pos, 0, sizeof o->bin_pos);
    o->n_bins = 0;
    for (int i = 0; i < N; i++)
        for (int32_t p = mask->row_ptr[i]; p < mask->row_ptr[i + 1]; p++) {
            int b = (int)lround(lm_sheet_distance(g, i, mask->col_idx[p]));
            if (b >= LM_SUMMARY_MAX_BINS) b = LM_SUMMARY_MAX_BINS - 1;
            double w = vals[p];
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

/* Everything but the hidden states: ranks, weight change, |w| against distance. */
static int weight_stats(const LmModel *m, const LmInitWeights *init, const LmSheet *g, const LmSummaryOptions *opt,
                        LmSummary *out) {
    const LmModelConfig *c = lm_model_config(m);
    const LmMask *mask = lm_model_mask(m);
    int N = c->n_hidden;
    float *vals = lm_malloc((size_t)(mask->row_ptr[N] ? mask->row_ptr[N] : 1) * sizeof(float));
    float *Win = lm_malloc((size_t)N * c->n_in * sizeof(float));
    float *Wout = lm_malloc((size_t)N * c->n_out * sizeof(float));
    lm_model_export_rec_values(m, vals);
    lm_model_export_tensor(m, W_IN, Win);
    lm_model_export_tensor(m, W_OUT, Wout);
    int rc = rank_stats(mask, vals, opt, out);
    out->change[0] = rel_change_csr(mask, vals, init);
    out->change[1] = rel_change(Win, init ? init->W_in : NULL, (size_t)N * c->n_in);
    out->change[2] = rel_change(Wout, init ? init->W_out : NULL, (size_t)N * c->n_out);
    distance_bins(vals, mask, g, out);
    if (g->ny == 1 && g->periodic) snprintf(out->geometry, sizeof out->geometry, "ring of %d", g->nx);
    else snprintf(out->geometry, sizeof out->geometry, "%s %dx%d sheet", g->periodic ? "periodic" : "open",
                  g->nx, g->ny);
    free(vals), free(Win), free(Wout);
    return rc;
}

void lm_dense_to_csr(int N, const float *W, int32_t **row_ptr, int32_t **col_idx, float **vals) {
    int64_t nnz = 0;
    for (size_t k = 0; k < (size_t)N * N; k++) nnz += W[k] != 0;
    int32_t *rp = lm_malloc((size_t)(N + 1) * sizeof(int32_t)), *ci = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(int32_t));
    float *rv = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(float));
    int64_t q = 0;
    for (int i = 0; i < N; i++) {
        rp[i] = (int32_t)q;
        for (int j = 0; j < N; j++)
            if (W[(size_t)i * N + j] != 0) ci[q] = j, rv[q++] = W[(size_t)i * N + j];
    }
    rp[N] = (int32_t)q;
    *row_ptr = rp, *col_idx = ci, *vals = rv;
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
    LmSummaryOptions opt;
    lm_summary_options_default(&opt);
    out->dense = N <= opt.dense_max_n;
    out->trials = s->n_tasks ? s->K / s->n_tasks : 0;
    HiddenAcc a;
    acc_init(&a, N, &opt);
    acc_add(&a, s);
    acc_finish(&a, out);
    acc_free(&a);
    /* the dense initial W_rec as CSR over its non-zeros (entries outside any mask are 0 in both) */
    LmInitWeights iw = {NULL, NULL, NULL, init ? init[1] : NULL, init ? init[2] : NULL};
    int32_t *rp = NULL, *ci = NULL;
    float *rv = NULL;
    if (init && init[0]) {
        lm_dense_to_csr(N, init[0], &rp, &ci, &rv);
        iw.row_ptr = rp, iw.col_idx = ci, iw.rec = rv;
    }
    int rc = weight_stats(m, init ? &iw : NULL, g, &opt, out);
    free(rp), free(ci), free(rv);
    return rc;
}

int lm_summary_of_net(const LmNet *net, const int *pos, int n_tasks, const LmSummaryOptions *o,
                      const LmInitWeights *init, const LmSheet *g, LmSummary *out) {
    memset(out, 0, sizeof *out);
    const LmModelConfig *c = lm_model_config(net->model);
    int N = c->n_hidden;
    out->N = N;
    if (o->trials < 1 || n_tasks < 1) {
        lm_err_set("summary: needs at least 1 trial and 1 task (got %d, %d)", o->trials, n_tasks);
        return -1;
    }
    /* one task's trials at a time, each trial at most LM_TMAX steps of h, x and y */
    size_t per_trial = (size_t)LM_TMAX * (N + c->n_in + c->n_out) * sizeof(float);
    size_t fit = LM_SUMMARY_CHUNK_BYTES / per_trial;
    int trials = (size_t)o->trials < fit ? o->trials : fit > 0 ? (int)fit : 1;
    out->dense = N <= o->dense_max_n;
    out->trials = trials;
    HiddenAcc a;
    acc_init(&a, N, o);
    for (int r = 0; r < n_tasks; r++) {
        LmStates s;
        if (lm_states_collect(net, pos + r, 1, trials, &s) != 0) {
            acc_free(&a);
            return -1;
        }
        acc_add(&a, &s);
        lm_states_free(&s);
    }
    acc_finish(&a, out);
    acc_free(&a);
    return weight_stats(net->model, init, g, o, out);
}

void lm_summary_free(LmSummary *s) {
    free(s->cov_eig), free(s->activity), free(s->sv);
    memset(s, 0, sizeof *s);
}

static cJSON *num(double x) { return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

static cJSON *array(const double *v, int n) {
    if (!v) return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, num(v[i]));
    return a;
}

/* The scalars, how they were obtained and what was skipped: shared by summary.json and log records. */
static void add_scalars(cJSON *o, const LmSummary *s) {
    cJSON_AddNumberToObject(o, "units", s->N);
    cJSON_AddNumberToObject(o, "samples", (double)s->n_samples);
    cJSON_AddItemToObject(o, "participation_ratio", num(s->pr));
    cJSON *d = cJSON_AddObjectToObject(o, "dormant_ratio");
    cJSON_AddItemToObject(d, "tau_0", num(s->dormant[0]));
    cJSON_AddItemToObject(d, "tau_0.025", num(s->dormant[1]));
    cJSON_AddItemToObject(o, "effective_rank", num(s->erank));
    cJSON_AddItemToObject(o, "stable_rank", num(s->srank));
    cJSON_AddItemToObject(o, "spectral_norm", num(s->sv1));
    cJSON *w = cJSON_AddObjectToObject(o, "weight_change");
    cJSON_AddItemToObject(w, "W_rec", num(s->change[0]));
    cJSON_AddItemToObject(w, "W_in", num(s->change[1]));
    cJSON_AddItemToObject(w, "W_out", num(s->change[2]));
    if (s->init_source) cJSON_AddStringToObject(w, "initial_weights", s->init_source);
    else cJSON_AddNullToObject(w, "initial_weights");
    cJSON *m = cJSON_AddObjectToObject(o, "methods");
    char buf[200];
    if (s->dense) snprintf(buf, sizeof buf, "covariance of all %lld hidden-state rows (LAPACK dsyev)", (long long)s->pr_rows);
    else snprintf(buf, sizeof buf, "covariance of a uniform sample of %lld of the %lld rows (Gram matrix)",
                  (long long)s->pr_rows, (long long)s->n_samples);
    cJSON_AddStringToObject(m, "participation_ratio", buf);
    if (s->dense) snprintf(buf, sizeof buf, "every singular value of the dense W_rec (LAPACK dgesdd)");
    else snprintf(buf, sizeof buf, "power iteration on W_rec^T W_rec over the sparse W_rec (%d iterations, last "
                                   "relative change %.1e)", s->power_iters, s->power_rel);
    cJSON_AddStringToObject(m, "spectral_norm", buf);
    cJSON *sk = cJSON_AddObjectToObject(o, "skipped");
    for (int k = 0; k < s->n_skipped; k++) cJSON_AddStringToObject(sk, s->skipped[k], s->skipped_why[k]);
}

cJSON *lm_summary_record(const LmSummary *s) {
    cJSON *o = cJSON_CreateObject();
    add_scalars(o, s);
    cJSON_AddNumberToObject(o, "trials_per_task", s->trials);
    /* the locality of |W_rec|: fraction of its mass on the self-connections, and at distance <= 1 */
    cJSON_AddItemToObject(o, "abs_mass_self", num(s->n_bins ? s->mass_within[0] : NAN));
    cJSON_AddItemToObject(o, "abs_mass_within_1", num(s->n_bins > 1 ? s->mass_within[1] : s->n_bins ? 1 : NAN));
    return o;
}

cJSON *lm_summary_json(const LmSummary *s) {
    cJSON *o = cJSON_CreateObject();
    add_scalars(o, s);
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

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int lm_summary_figure(const LmSummary *s, const char *path) {
    LmFigure *f = lm_fig_new(path, 1500, 1000, 2, 2);
    if (!f) return -1;
    int N = s->N;
    double *x = lm_malloc((size_t)N * sizeof(double)), *y = lm_malloc((size_t)N * sizeof(double));
    char title[160];
    /* 1: cumulative explained variance of the hidden states */
    const double *ys[1] = {y};
    snprintf(title, sizeof title, "hidden states: participation ratio %.2f", s->pr);
    lm_fig_panel(f, 0, 0, N + 1, 0, 1.05, title, "principal components", "cumulative explained variance");
    if (s->cov_eig) {
        double tot = 0, cum = 0;
        for (int i = 0; i < N; i++) tot += fmax(s->cov_eig[i], 0);
        for (int i = 0; i < N; i++) {
            cum += fmax(s->cov_eig[i], 0);
            x[i] = i + 1, y[i] = tot > 0 ? cum / tot : 0;
        }
        lm_fig_lines(f, 1, N, x, ys, NULL);
    } else {
        lm_fig_text(f, 0.05 * N, 0.5, "spectrum skipped above the dense size (summary.json: skipped)");
    }
    /* 2: singular values of W_rec */
    snprintf(title, sizeof title, "W_rec: eff. rank %.1f, stable rank %.2f", s->erank, s->srank);
    if (s->sv) {
        double smax = 0;
        for (int i = 0; i < N; i++) x[i] = i + 1, y[i] = s->sv[i], smax = fmax(smax, y[i]);
        lm_fig_panel(f, 1, 0, N + 1, 0, smax > 0 ? 1.05 * smax : 1, title, "index", "singular value");
        lm_fig_lines(f, 1, N, x, ys, NULL);
    } else {
        lm_fig_panel(f, 1, 0, N + 1, 0, 1, title, "index", "singular value");
        lm_fig_text(f, 0.05 * N, 0.5, "singular values skipped above the dense size");
    }
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
    qsort(y, (size_t)N, sizeof *y, by_value);
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

/* ---------------------------------------------------------------- over training */
#define HIST_SERIES 8
typedef struct { int n, cap; double *v[1 + HIST_SERIES]; } History;   /* v[0]: step */

static double item(const cJSON *o, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static int collect_summary(const cJSON *rec, void *ctx) {
    History *h = ctx;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(rec, "kind");
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "summary") != 0) return 0;
    double step = item(rec, "step", NULL);
    if (!isfinite(step)) return 0;
    /* a resumed run repeats the steps after its checkpoint: a record replaces those at or after its step */
    while (h->n > 0 && h->v[0][h->n - 1] >= step) h->n--;
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        for (int k = 0; k <= HIST_SERIES; k++) h->v[k] = lm_realloc(h->v[k], (size_t)h->cap * sizeof(double));
    }
    double v[1 + HIST_SERIES] = {step,
                                 item(rec, "participation_ratio", NULL),
                                 item(rec, "dormant_ratio", "tau_0"),
                                 item(rec, "dormant_ratio", "tau_0.025"),
                                 item(rec, "effective_rank", NULL),
                                 item(rec, "stable_rank", NULL),
                                 item(rec, "weight_change", "W_rec"),
                                 item(rec, "weight_change", "W_in"),
                                 item(rec, "weight_change", "W_out")};
    for (int k = 0; k <= HIST_SERIES; k++) h->v[k][h->n] = v[k];
    h->n++;
    return 0;
}

static double series_max(const History *h, int k0, int k1) {
    double m = 0;
    for (int k = k0; k <= k1; k++)
        for (int i = 0; i < h->n; i++)
            if (isfinite(h->v[k][i])) m = fmax(m, h->v[k][i]);
    return m > 0 ? 1.1 * m : 1;
}

int lm_summary_history_figure(const char *log_path, const char *png_path) {
    History h;
    memset(&h, 0, sizeof h);
    if (lm_jsonl_foreach(log_path, collect_summary, &h) != 0) {
        lm_err_set("%s: cannot read the run log", log_path);
        return -1;
    }
    int rc = 1;
    if (h.n >= 1) {
        LmFigure *f = lm_fig_new(png_path, 1500, 1000, 2, 2);
        rc = f ? 0 : -1;
        if (f) {
            double x1 = h.v[0][h.n - 1] > 0 ? 1.02 * h.v[0][h.n - 1] : 1;
            static const char *const labels[1 + HIST_SERIES] = {
                "", "PR", "tau 0", "tau 0.025", "effective rank", "stable rank", "W_rec", "W_in", "W_out"};
            static const struct { int k0, k1; const char *title, *ylabel; } panels[4] = {
                {1, 1, "participation ratio of the hidden states", "PR"},
                {2, 3, "dormant units", "fraction of units"},
                {4, 5, "W_rec ranks (skipped measures are not drawn)", "rank"},
                {6, 8, "weight change |W - W(0)| / |W(0)|", "relative change"}};
            for (int p = 0; p < 4; p++) {
                int k0 = panels[p].k0, n = panels[p].k1 - k0 + 1;
                lm_fig_panel(f, p, 0, x1, 0, series_max(&h, k0, panels[p].k1), panels[p].title, "optimiser step",
                             panels[p].ylabel);
                lm_fig_lines(f, n, h.n, h.v[0], (const double *const *)(h.v + k0), labels + k0);
            }
            rc = lm_fig_close(f);
        }
    }
    for (int k = 0; k <= HIST_SERIES; k++) free(h.v[k]);
    return rc;
}
