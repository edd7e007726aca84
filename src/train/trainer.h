/* The training state of one run and its step: model, Adam, the training stream (or a finite pool cut
 * from it), the generators, and the counters a checkpoint must carry to continue bit-exactly.
 *
 * Randomness: every generator is derived from the run seed with lm_rng_derive and a fixed id below, so
 * the model init, the training stream, the recurrent noise, a random mask and the evaluation trials are
 * independent of each other, and evaluation or checkpointing never touches a generator that training
 * uses. */
#ifndef LMRNN_TRAINER_H
#define LMRNN_TRAINER_H
#include <stdint.h>
#include "eval/eval.h"
#include "model/model.h"
#include "stream/stream.h"
#include "train/config.h"

enum { LM_SEED_INIT = 1, LM_SEED_STREAM = 2, LM_SEED_NOISE = 3, LM_SEED_EVAL = 4, LM_SEED_MASK = 5,
       LM_SEED_EVAL_NOISE = 6, LM_SEED_EI = 7, LM_SEED_PRUNE = 8 };

/* Thresholds of mean evaluation performance whose first crossing is recorded. */
#define LM_N_THRESHOLDS 3
extern const double lm_train_thresholds[LM_N_THRESHOLDS];   /* 0.5, 0.8, 0.9 */

typedef struct LmSearch LmSearch;   /* train/search.h */
typedef struct LmStrips LmStrips;   /* train/sheet.h */

typedef struct {
    LmTrainConfig cfg;
    LmBattery battery;
    unsigned fix;
    LmMask mask;
    LmModel *model;
    LmAdam adam;
    LmWork *work;
    LmLossConfig loss;
    LmStream *stream;
    uint8_t *pool_start;      /* stream state at step 0, replayed every train_pool steps (NULL: no pool) */
    int64_t pool_trials;      /* distinct trials in the pool, as the stream counts them (0: no pool) */
    LmRng noise;              /* recurrent noise during training */
    uint64_t stream_seed, eval_seed, mask_seed;
    /* counters carried by checkpoints */
    int64_t step;             /* optimiser steps done */
    int64_t trials;           /* training trials so far, as lm_stream_trials counts them (generated into
                                 the stream's cache); a pool's trials count on every pass */
    double wall;              /* seconds of training before this session */
    int64_t threshold[LM_N_THRESHOLDS][2];   /* step, trials of the first crossing; -1 = not yet */
    double loss_sum;          /* training loss summed since the last evaluation */
    int64_t loss_n;
    /* one window */
    float *x;                 /* [T][B][n_in] */
    int32_t *labels;          /* [T][B] */
    uint8_t *decision;        /* [T][B] */
    LmSearch *search;         /* mask search state (--prune), NULL without */
    LmStrips *sheet;           /* --distribute sheet: this rank's strip (then work is NULL), else NULL */
} LmTrainer;

/* Build everything for step 0 (mask, initialised model, stream, optimiser). The config must have
 * passed lm_train_config_validate. NULL with lm_err_set() naming the problem. */
LmTrainer *lm_trainer_new(const LmTrainConfig *cfg);
void lm_trainer_free(LmTrainer *t);

/* One optimiser step on the next training window. 0, or -1 with lm_err_set() naming the non-finite
 * quantity and the step (the parameters are then unchanged, but the stream has advanced). */
int lm_trainer_step(LmTrainer *t, LmStepStats *stats);

/* Held-out evaluation of the current network (cfg.eval_trials per task, the training task env, a
 * fixed evaluation seed, so every evaluation of a run sees the same trials). */
int lm_trainer_evaluate(LmTrainer *t, LmEvalResult *out);

/* The values derived from the configuration (n_in, mask density and d used, path, parameter count,
 * seeds, tasks) for config.json. Caller frees. */
cJSON *lm_trainer_derived_json(const LmTrainer *t);
/* The whole config.json document: options, "derived", "inferred" (options whose default is our own
 * reading, not the paper's), "version". Caller frees. */
cJSON *lm_trainer_config_doc(const LmTrainer *t);

/* Build the mask the configuration describes (shared with evaluation tools). 0 or -1 + lm_err_set. */
int lm_train_build_mask(const LmTrainConfig *cfg, LmMask *out);
/* The mask specification behind it (for lm_mask_count). 0 or -1 + lm_err_set. */
int lm_train_mask_spec(const LmTrainConfig *cfg, LmMaskSpec *out);
/* The sub-seed for a derived purpose (LM_SEED_*). */
uint64_t lm_train_subseed(uint64_t seed, uint64_t id);

#endif
