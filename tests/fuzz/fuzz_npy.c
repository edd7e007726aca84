/* .npy images (lm_npy_decode: header dict, dtype, shape, payload size, strings). */
#include "fuzz.h"
#include "io/npy_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    LmArray a;
    char why[256];
    if (lm_npy_decode(data, size, &a, why, sizeof why) == 0) {
        size_t c = 1;
        for (int d = 0; d < a.ndim; d++) c *= (size_t)a.shape[d];
        if (a.dtype != LM_DT_STR && c != a.count) abort();
        lm_array_free(&a);
    } else if (!why[0]) {
        abort();
    }
    return 0;
}
