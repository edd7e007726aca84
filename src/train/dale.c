/* Dale's law options: E/I assignment and validation (docs/dale.md). */
#include "train/dale.h"
#include <stdlib.h>
#include <string.h>
#include "io/npz.h"
#include "util/err.h"

int lm_train_read_ei(const char *path, int n, int8_t *ei) {
    LmArray a;
    if (lm_npy_read(path, &a) != 0) return -1;
    int rc = -1;
    int vector = a.ndim == 1 || (a.ndim == 2 && (a.shape[0] == 1 || a.shape[1] == 1));
    if (!vector || (int64_t)a.count != n) {
        lm_err_set("E/I file %s: expected %d values (one per unit), found a %d-d array of %zu", path, n, a.ndim,
                   a.count);
        goto done;
    }
    for (size_t k = 0; k < a.count; k++) {
        double v;
        switch (a.dtype) {
        case LM_DT_F32: v = ((const float *)a.data)[k]; break;
        case LM_DT_F64: v = ((const double *)a.data)[k]; break;
        case LM_DT_I32: v = ((const int32_t *)a.data)[k]; break;
        case LM_DT_I64: v = (double)((const int64_t *)a.data)[k]; break;
        default:
            lm_err_set("E/I file %s: dtype %s cannot hold +1/-1", path, lm_dtype_name(a.dtype));
            goto done;
        }
        if (v != 1 && v != -1) {
            lm_err_set("E/I file %s: entry %zu is %g (must be +1 or -1)", path, k, v);
            goto done;
        }
        ei[k] = v > 0 ? 1 : -1;
    }
    rc = 0;
done:
    lm_array_free(&a);
    return rc;
}

int lm_train_build_ei(const LmTrainConfig *c, uint64_t seed, int8_t *ei) {
    if (c->ei_file[0]) return lm_train_read_ei(c->ei_file, c->hidden, ei);
    LmRng r = lm_rng_derive(seed, 0);
    lm_dale_assign(c->hidden, c->frac_exc, &r, ei);
    return 0;
}

int lm_train_config_validate_dale(const LmTrainConfig *c) {
    if (!c->dale) {
        if (c->ei_file[0] || c->dale_readout_exc) {
            lm_err_set("%s is only used with --dale", c->ei_file[0] ? "--ei-file" : "--dale-readout exc");
            return -1;
        }
        return 0;
    }
    if (c->init != LM_INIT_HALF_IDENTITY) {
        lm_err_set("--dale draws its own balanced W_rec initialisation (scale --init-gain); --init %s is not "
                   "used with it", lm_init_name(c->init));
        return -1;
    }
    if (c->ei_file[0]) {
        int8_t *ei = lm_malloc((size_t)c->hidden);
        int rc = lm_train_read_ei(c->ei_file, c->hidden, ei);
        free(ei);
        return rc;
    }
    return 0;
}
