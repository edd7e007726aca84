/* Linear algebra of the analyses: covariances (OpenBLAS ssyrk), and every eigen-decomposition and SVD
 * through LAPACK (LAPACKE_dsyev, dgeev, dgesdd): nothing of that kind is hand-written. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "util/err.h"
#include "util/rng.h"

static int lapack_failed(const char *routine, lapack_int info) {
    lm_err_set("LAPACK %s failed (info %d)", routine, (int)info);
    return -1;
}

int lm_sym_eigvals(int n, double *a, double *w) {
    lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', n, a, n, w);
    return info ? lapack_failed("dsyev", info) : 0;
}

int lm_sym_eig(int n, double *a, double *w) {
    lapack_int info = LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'U', n, a, n, w);
    return info ? lapack_failed("dsyev", info) : 0;
}

typedef struct { double re, im, mod; } Eig;

static int by_modulus_desc(const void *pa, const void *pb) {
    const Eig *a = pa, *b = pb;
    if (a->mod != b->mod) return a->mod < b->mod ? 1 : -1;
    if (a->re != b->re) return a->re < b->re ? 1 : -1;
    return a->im < b->im ? 1 : a->im > b->im ? -1 : 0;
}

int lm_eigvals(int n, double *a, double *re, double *im) {
    lapack_int info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', n, a, n, re, im, NULL, n, NULL, n);
    if (info) return lapack_failed("dgeev", info);
    Eig *e = lm_malloc((size_t)n * sizeof *e);
    for (int i = 0; i < n; i++) e[i] = (Eig){re[i], im[i], hypot(re[i], im[i])};
    qsort(e, (size_t)n, sizeof *e, by_modulus_desc);
    for (int i = 0; i < n; i++) re[i] = e[i].re, im[i] = e[i].im;
    free(e);
    return 0;
}

int lm_singular_values(int rows, int cols, double *a, double *s) {
    lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', rows, cols, a, cols, s, NULL, rows, NULL, cols);
    return info ? lapack_failed("dgesdd", info) : 0;
}

/* Rows per ssyrk call: the centred chunk is converted to float for the product and summed in double. */
#define COV_CHUNK 2048

void lm_covariance(const float *X, int64_t n_rows, int n, double *mean, double *cov) {
    LM_ASSERT(n_rows >= 2 && n > 0);
    memset(mean, 0, (size_t)n * sizeof(double));
    for (int64_t r = 0; r < n_rows; r++)
        for (int i = 0; i < n; i++) mean[i] += X[r * n + i];
    for (int i = 0; i < n; i++) mean[i] /= (double)n_rows;
    memset(cov, 0, (size_t)n * n * sizeof(double));
    float *buf = lm_malloc((size_t)COV_CHUNK * n * sizeof(float));
    float *c = lm_malloc((size_t)n * n * sizeof(float));
    for (int64_t r0 = 0; r0 < n_rows; r0 += COV_CHUNK) {
        int rows = (int)(n_rows - r0 < COV_CHUNK ? n_rows - r0 : COV_CHUNK);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++) buf[(size_t)r * n + i] = (float)(X[(r0 + r) * n + i] - mean[i]);
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, rows, 1.0f, buf, n, 0.0f, c, n);
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++) cov[(size_t)i * n + j] += c[(size_t)i * n + j];
    }
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            double v = cov[(size_t)i * n + j] / (double)(n_rows - 1);
            cov[(size_t)i * n + j] = cov[(size_t)j * n + i] = v;
        }
    free(c);
    free(buf);
}

double lm_participation_ratio(const double *eig, int n) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++)
        if (eig[i] > 0) s += eig[i], s2 += eig[i] * eig[i];
    return s2 > 0 ? s * s / s2 : 0.0;
}

int lm_pca(const float *X, int64_t n_rows, int n, int k, double *mean, double *axes, double *var,
           double *eig_all) {
    if (n_rows < 2) {
        lm_err_set("PCA needs at least 2 samples (got %lld)", (long long)n_rows);
        return -1;
    }
    double *cov = lm_malloc((size_t)n * n * sizeof(double));
    double *w = lm_malloc((size_t)n * sizeof(double));
    lm_covariance(X, n_rows, n, mean, cov);
    int rc = lm_sym_eig(n, cov, w);
    if (rc == 0) {
        for (int c = 0; c < k && c < n; c++) {
            int j = n - 1 - c;   /* ascending order: the largest last */
            var[c] = w[j];
            const double *v = cov + (size_t)j * n;
            /* Sign convention: the largest-magnitude component is positive (a deterministic choice). */
            int big = 0;
            for (int i = 1; i < n; i++)
                if (fabs(v[i]) > fabs(v[big])) big = i;
            double sg = v[big] < 0 ? -1.0 : 1.0;
            for (int i = 0; i < n; i++) axes[(size_t)c * n + i] = sg * v[i];
        }
        if (eig_all)
            for (int i = 0; i < n; i++) eig_all[i] = w[n - 1 - i];
    }
    free(w);
    free(cov);
    return rc;
}

/* Power iteration: hand-written (a dozen lines) because LAPACK has no sparse routines and only sigma_1 is
 * needed; ARPACK would add a Fortran dependency for it. v <- W^T W v / |W^T W v| converges to the top
 * right singular vector at the rate (sigma_2 / sigma_1)^2; a seeded Gaussian start has a non-zero
 * component along it with probability 1. */
/* W^T as CSR (W's columns, each listing its rows in ascending order). */
static void transpose_csr(int n, const int32_t *row_ptr, const int32_t *col_idx, const float *vals, int32_t *t_ptr,
                          int32_t *t_idx, float *t_val) {
    memset(t_ptr, 0, (size_t)(n + 1) * sizeof(int32_t));
    for (int32_t p = 0; p < row_ptr[n]; p++) t_ptr[col_idx[p] + 1]++;
    for (int j = 0; j < n; j++) t_ptr[j + 1] += t_ptr[j];
    int32_t *fill = lm_malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    memcpy(fill, t_ptr, (size_t)n * sizeof(int32_t));
    for (int i = 0; i < n; i++)
        for (int32_t p = row_ptr[i]; p < row_ptr[i + 1]; p++) {
            int32_t q = fill[col_idx[p]]++;
            t_idx[q] = i, t_val[q] = vals[p];
        }
    free(fill);
}

/* out = A v for A in CSR, rows in parallel (each row's sum in its own order: any thread count, the same
 * bits). */
static void csr_product(int n, const int32_t *ptr, const int32_t *idx, const float *val, const double *v, double *out) {
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int32_t p = ptr[i]; p < ptr[i + 1]; p++) s += val[p] * v[idx[p]];
        out[i] = s;
    }
}

double lm_sparse_spectral_norm(int n, const int32_t *row_ptr, const int32_t *col_idx, const float *vals,
                               uint64_t seed, int max_iters, double tol, int *iters, double *rel) {
    double *v = lm_malloc((size_t)n * sizeof(double)), *u = lm_malloc((size_t)n * sizeof(double));
    double *w = lm_malloc((size_t)n * sizeof(double));
    size_t nnz = (size_t)row_ptr[n];
    int32_t *t_ptr = lm_malloc((size_t)(n + 1) * sizeof(int32_t)), *t_idx = lm_malloc((nnz ? nnz : 1) * sizeof(int32_t));
    float *t_val = lm_malloc((nnz ? nnz : 1) * sizeof(float));
    transpose_csr(n, row_ptr, col_idx, vals, t_ptr, t_idx, t_val);
    LmRng rng = lm_rng_derive(seed, 0x706f776572ULL);
    double norm = 0, lambda = 0, change = 1;
    for (int i = 0; i < n; i++) v[i] = lm_rng_normal(&rng), norm += v[i] * v[i];
    for (int i = 0; i < n; i++) v[i] /= sqrt(norm);
    int it = 0;
    while (it < max_iters) {
        it++;
        csr_product(n, row_ptr, col_idx, vals, v, u);   /* u = W v */
        csr_product(n, t_ptr, t_idx, t_val, u, w);      /* w = W^T u */
        norm = 0;
        for (int i = 0; i < n; i++) norm += w[i] * w[i];   /* in order: the same bits for any thread count */
        norm = sqrt(norm);   /* = sigma_1^2 once v is the top singular vector */
        if (norm == 0) {
            lambda = 0, change = 0;
            break;
        }
        change = fabs(norm - lambda) / norm;
        lambda = norm;
        for (int i = 0; i < n; i++) v[i] = w[i] / norm;
        if (change < tol) break;
    }
    free(v), free(u), free(w), free(t_ptr), free(t_idx), free(t_val);
    if (iters) *iters = it;
    if (rel) *rel = change;
    return sqrt(lambda);
}
