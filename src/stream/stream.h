/* The training stream (docs/tasks.md §4): B independent rows, each a back-to-back sequence of trials
 * from the battery (next task uniform over the other tasks; each go/match task alternates its modality,
 * Q17), cut into windows of T steps exactly as neurogym's Dataset does (cache_len rule, `>=` edge, Q18),
 * with the rule one-hot appended. Rows own their generators, so rows may be generated in parallel and
 * the output depends only on the seed. */
#ifndef LMRNN_STREAM_H
#define LMRNN_STREAM_H
#include <stddef.h>
#include <stdint.h>
#include "tasks/battery.h"

typedef struct LmStream LmStream;

/* Generators under the stream seed S (documented so a stream can be re-derived independently):
 * lm_rng_derive(S, 0) builds the task environment (lm_taskenv_init); row b owns lm_rng_derive(S, 1+3b)
 * (task RNG), lm_rng_derive(S, 2+3b) (the "global" RNG of int delays) and lm_rng_derive(S, 3+3b)
 * (schedule RNG: first the initial next task, uniform over the battery, then one parity bit per go/match
 * battery position in order, used only with Q23 (faithful parities start at 0, modality 0 first), then
 * one draw per trial for the next task; with Q17 also the modality). */

/* Returns NULL with lm_err_set() on invalid arguments (batch <= 0, window <= 0). */
LmStream *lm_stream_new(const LmBattery *battery, int batch, int window, uint64_t seed, unsigned fix);
void lm_stream_free(LmStream *s);

int lm_stream_n_in(const LmStream *s);           /* 33 + battery size */
const LmTaskEnv *lm_stream_taskenv(const LmStream *s);
int lm_stream_cache_len(const LmStream *s);
int lm_stream_batch(const LmStream *s);
int lm_stream_window(const LmStream *s);

/* Next window: inputs float32 [T][B][n_in] (time-major), labels int32 [T][B]; `decision` (may be NULL)
 * gets 1 where the step lies in a trial's decision period, else 0, [T][B] (for the decision-only loss). */
void lm_stream_next(LmStream *s, float *inputs, int32_t *labels, uint8_t *decision);

/* Number of trials started so far, summed over rows (the "trials seen" of a training log). */
int64_t lm_stream_trials(const LmStream *s);

/* The stream's complete mutable state (row generators, schedulers, modality parities, cache, read
 * position) as an opaque byte string, so a checkpoint can resume the stream exactly. */
size_t lm_stream_state_size(const LmStream *s);
/* The same for a stream not built yet (a battery of n_tasks, batch rows, windows of `window` steps):
 * lets a checkpoint's stream state be checked before anything is allocated. */
size_t lm_stream_state_size_for(int n_tasks, int batch, int window);
void lm_stream_save_state(const LmStream *s, uint8_t *buf);
/* Returns 0, or -1 with lm_err_set() if the buffer does not fit this stream's configuration (seed,
 * corrections, batch, window, battery) or is corrupt; the stream is then left unchanged. */
int lm_stream_load_state(LmStream *s, const uint8_t *buf, size_t n);

/* Write the battery's rule one-hot for position `pos` into cols [33, 33+n) of a trial's rows. */
void lm_append_rule(const LmTrial *t, int pos, int n_tasks, float *out /* [t->len][33+n_tasks] */);

#endif
