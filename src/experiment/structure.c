/* Structure of a run's final mask on the sheet (docs/lottery.md). */
#include "experiment/structure.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "experiment/results.h"
#include "io/npz.h"
#include "util/err.h"

/* A CSR row index over n rows and nnz entries, with every column in [0, n): the file is untrusted. */
static int csr_valid(const int32_t *ptr, const int32_t *idx, int64_t n, int64_t nnz) {
    if (ptr[0] != 0 || ptr[n] != nnz) return 0;
    for (int64_t i = 0; i < n; i++)
        if (ptr[i + 1] < ptr[i]) return 0;
    for (int64_t q = 0; q < nnz; q++)
        if (idx[q] < 0 || idx[q] >= n) return 0;
    return 1;
}

int lm_run_structure(const char *run_dir, double d_near, double d_far, LmMaskStructure *out) {
    char path[LM_EXP_PATH];
    lm_exp_path(path, run_dir, "checkpoint.npz");
    LmNpz *z = lm_npz_read(path);
    if (!z) return -1;
    int rc = -1;
    /* W_rec as CSR (W_rec_data / _indices / _indptr: the mask is its structure) or dense with `mask` */
    const LmArray *m = lm_npz_find(z, "mask"), *w = lm_npz_find(z, "W_rec");
    const LmArray *cd = lm_npz_find(z, "W_rec_data"), *ci = lm_npz_find(z, "W_rec_indices"),
                  *cp = lm_npz_find(z, "W_rec_indptr");
    int csr = cd && ci && cp && cd->dtype == LM_DT_F32 && ci->dtype == LM_DT_I32 && cp->dtype == LM_DT_I32 &&
              cp->ndim == 1 && cd->count == ci->count;
    int64_t n = csr ? (int64_t)cp->count - 1 : m && m->ndim == 2 ? m->shape[0] : 0;
    int64_t s = (int64_t)llround(sqrt((double)(n > 0 ? n : 0)));
    int dense_ok = !csr && m && w && m->dtype == LM_DT_U8 && w->dtype == LM_DT_F32 && m->shape[1] == n &&
                   w->ndim == 2 && w->shape[0] == n && w->shape[1] == n;
    if (n < 1 || s * s != n || !(csr || dense_ok)) {
        lm_err_set("%s: no recurrent weights on a square sheet", path);
        goto out;
    }
    double sum[LM_STRUCT_BINS] = {0}, cnt[LM_STRUCT_BINS] = {0}, near = 0, far = 0, nnz = 0, diag = 0;
    const int32_t *ptr = csr ? cp->data : NULL, *idx = csr ? ci->data : NULL;
    if (csr && !csr_valid(ptr, idx, n, (int64_t)ci->count)) {
        lm_err_set("%s: W_rec_indptr / W_rec_indices are not a CSR matrix of %lld rows", path, (long long)n);
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t q0 = csr ? ptr[i] : 0, q1 = csr ? ptr[i + 1] : n;
        for (int64_t q = q0; q < q1; q++) {
            int64_t j = csr ? idx[q] : q;
            if (!csr && !((const uint8_t *)m->data)[i * n + j]) continue;
            double wij = csr ? ((const float *)cd->data)[q] : ((const float *)w->data)[i * n + j];
            double dx = (double)(i % s - j % s), dy = (double)(i / s - j / s), dist = sqrt(dx * dx + dy * dy);
            int b = (int)lround(dist);
            if (b >= LM_STRUCT_BINS) b = LM_STRUCT_BINS - 1;
            sum[b] += fabs(wij);
            cnt[b] += 1;
            nnz += 1;
            near += dist < d_near;
            far += dist < d_far;
            diag += i == j;
        }
    }
    out->within_near = nnz > 0 ? near / nnz : NAN;
    out->within_far = nnz > 0 ? far / nnz : NAN;
    out->diag = diag / (double)n;
    out->density = nnz / ((double)n * (double)n);
    for (int b = 0; b < LM_STRUCT_BINS; b++) out->wdist[b] = cnt[b] > 0 ? sum[b] / cnt[b] : NAN;
    rc = 0;
out:
    lm_npz_free(z);
    return rc;
}
