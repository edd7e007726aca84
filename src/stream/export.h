/* Windows of the training stream to an .npz (`lmrnn tasks batch`, docs/tasks.md): what `lmrnn train`
 * trains on for the same battery, batch, window, seed and corrections. */
#ifndef LMRNN_STREAM_EXPORT_H
#define LMRNN_STREAM_EXPORT_H
#include <stdint.h>
#include "tasks/battery.h"

/* The first `count` windows into path: inputs float32 [count, T, B, n_in], labels int32 [count, T, B],
 * decision uint8 [count, T, B] (without the count axis when count is 1). cache_len (may be NULL) gets
 * the stream's cache length. Refuses more than 8 GB of inputs. 0 or -1 + lm_err_set. */
int lm_stream_write_windows(const LmBattery *b, int batch, int window, int count, uint64_t seed, unsigned fix,
                            const char *path, int *cache_len);

#endif
