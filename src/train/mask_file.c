#include "train/mask_file.h"
#include <stdlib.h>
#include "io/npz.h"
#include "train/trainer.h"
#include "util/err.h"

int lm_mask_file_read(const char *path, int n, LmMask *out) {
    LmArray a;
    /* at most float64 [n, n] plus a header: a larger file (or /dev/zero) is refused unread */
    if (lm_npy_read_max(path, (size_t)n * n * 8 + 65536, &a)) return -1;
    int rc = -1;
    uint8_t *m = NULL;
    if (a.ndim != 2 || a.shape[0] != n || a.shape[1] != n) {
        lm_err_set("mask file %s: expected shape [%d, %d], found %d-d array%s%lld x %lld", path, n, n, a.ndim,
                   a.ndim == 2 ? " " : "", a.ndim >= 1 ? (long long)a.shape[0] : 0LL,
                   a.ndim >= 2 ? (long long)a.shape[1] : 0LL);
        goto done;
    }
    m = lm_malloc((size_t)n * n);
    for (size_t k = 0; k < (size_t)n * n; k++) {
        double v;
        switch (a.dtype) {
        case LM_DT_F32: v = ((const float *)a.data)[k]; break;
        case LM_DT_F64: v = ((const double *)a.data)[k]; break;
        case LM_DT_I32: v = ((const int32_t *)a.data)[k]; break;
        case LM_DT_I64: v = (double)((const int64_t *)a.data)[k]; break;
        case LM_DT_U8: v = ((const uint8_t *)a.data)[k]; break;
        default:
            lm_err_set("mask file %s: dtype %s is not a numeric 0/1 matrix", path, lm_dtype_name(a.dtype));
            goto done;
        }
        if (v != 0 && v != 1) {
            lm_err_set("mask file %s: entry [%zu][%zu] = %g is not 0 or 1", path, k / n, k % n, v);
            goto done;
        }
        m[k] = v == 1;
    }
    char desc[128];
    snprintf(desc, sizeof desc, "file %.100s", path);
    rc = lm_mask_from_array(n, m, desc, out);
done:
    free(m);
    lm_array_free(&a);
    return rc;
}

int lm_train_mask_count(const LmTrainConfig *c, int64_t *nnz, int64_t *n_diag) {
    if (c->mask != LM_MASK_FILE) {
        LmMaskSpec spec;
        if (lm_train_mask_spec(c, &spec) != 0) return -1;
        return lm_mask_count(&spec, c->hidden, nnz, n_diag);
    }
    LmMask m;   /* a file mask: its count is in the file */
    if (lm_mask_file_read(c->mask_file, c->hidden, &m) != 0) return -1;
    *nnz = m.nnz;
    *n_diag = lm_mask_n_diag(&m);
    lm_mask_free(&m);
    return 0;
}
