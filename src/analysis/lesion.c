/* Lesions (spec §3): silence units by zeroing their outgoing weights, the columns of W_rec (their input
 * to every unit, themselves included) and of W_out (their contribution to the readout). Their incoming
 * weights are kept, so a lesioned unit still computes but no longer influences anything. */
#include <stdlib.h>
#include "analysis/analysis.h"
#include "util/err.h"

enum { W_REC = 2, W_OUT = 4 };

static void zero_columns(LmModel *m, int tensor, const int *units, int n) {
    LmTensorInfo ti = lm_model_tensor_info(m, tensor);
    int rows = (int)ti.shape[0], cols = (int)ti.shape[1];
    float *w = lm_malloc((size_t)rows * cols * sizeof(float));
    lm_model_export_tensor(m, tensor, w);
    for (int k = 0; k < n; k++)
        for (int r = 0; r < rows; r++) w[(size_t)r * cols + units[k]] = 0.0f;
    LM_ASSERT(lm_model_import_tensor(m, tensor, w) == 0);   /* zeros never leave the mask */
    free(w);
}

void lm_lesion_apply(LmModel *m, const int *units, int n) {
    zero_columns(m, W_REC, units, n);
    zero_columns(m, W_OUT, units, n);
}
