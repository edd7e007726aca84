/* Windows of the training stream to an .npz (stream/export.h). */
#include "stream/export.h"
#include <stdlib.h>
#include "io/npz.h"
#include "stream/stream.h"
#include "util/err.h"

int lm_stream_write_windows(const LmBattery *b, int batch, int window, int count, uint64_t seed, unsigned fix,
                            const char *path, int *cache_len) {
    const long B = batch, T = window;
    size_t per = (size_t)T * (size_t)B, n_in = (size_t)lm_battery_n_in(b);
    if ((double)count * (double)per * (double)n_in * 4 > 8e9) {
        lm_err_set("batch: %d windows of %ld x %ld x %zu floats is too large", count, T, B, n_in);
        return -1;
    }
    LmStream *s = lm_stream_new(b, batch, window, seed, fix);
    if (!s) return -1;
    float *in = lm_malloc(sizeof(float) * per * n_in * (size_t)count);
    int32_t *lab = lm_malloc(sizeof(int32_t) * per * (size_t)count);
    uint8_t *dec = lm_malloc(per * (size_t)count);
    for (long c = 0; c < count; c++)
        lm_stream_next(s, in + (size_t)c * per * n_in, lab + (size_t)c * per, dec + (size_t)c * per);
    int rc = 0;
    LmNpzWriter *w = lm_npz_create(path);
    if (!w) rc = -1;
    if (rc == 0) {
        int lead = count > 1;
        int64_t si[4] = {count, T, B, (int64_t)n_in}, sl[3] = {count, T, B};
        if (lm_npz_add(w, "inputs", LM_DT_F32, 3 + lead, si + !lead, in) ||
            lm_npz_add(w, "labels", LM_DT_I32, 2 + lead, sl + !lead, lab) ||
            lm_npz_add(w, "decision", LM_DT_U8, 2 + lead, sl + !lead, dec)) {
            lm_npz_discard(w);
            rc = -1;
        } else {
            rc = lm_npz_close(w);
        }
    }
    if (cache_len) *cache_len = lm_stream_cache_len(s);
    lm_stream_free(s);
    free(in);
    free(lab);
    free(dec);
    return rc;
}
