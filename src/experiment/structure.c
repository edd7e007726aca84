/* Structure of a run's final mask on the sheet (docs/lottery.md). */
#include "experiment/structure.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "experiment/results.h"
#include "io/npz.h"
#include "util/err.h"

int lm_run_structure(const char *run_dir, double d_near, double d_far, LmMaskStructure *out) {
    char path[LM_EXP_PATH];
    lm_exp_path(path, run_dir, "checkpoint.npz");
    LmNpz *z = lm_npz_read(path);
    if (!z) return -1;
    int rc = -1;
    const LmArray *m = lm_npz_find(z, "mask"), *w = lm_npz_find(z, "W_rec");
    int64_t n = m && m->ndim == 2 ? m->shape[0] : 0, s = (int64_t)llround(sqrt((double)n));
    if (!m || !w || m->dtype != LM_DT_U8 || w->dtype != LM_DT_F32 || n < 1 || m->shape[1] != n ||
        w->ndim != 2 || w->shape[0] != n || w->shape[1] != n || s * s != n) {
        lm_err_set("%s: no square [N, N] mask and W_rec on a square sheet", path);
        goto out;
    }
    const uint8_t *mk = m->data;
    const float *wv = w->data;
    double sum[LM_STRUCT_BINS] = {0}, cnt[LM_STRUCT_BINS] = {0}, near = 0, far = 0, nnz = 0, diag = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            if (!mk[i * n + j]) continue;
            double dx = (double)(i % s - j % s), dy = (double)(i / s - j / s), dist = sqrt(dx * dx + dy * dy);
            int b = (int)lround(dist);
            if (b >= LM_STRUCT_BINS) b = LM_STRUCT_BINS - 1;
            sum[b] += fabs(wv[i * n + j]);
            cnt[b] += 1;
            nnz += 1;
            near += dist < d_near;
            far += dist < d_far;
            diag += i == j;
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
