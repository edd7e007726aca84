/* Mask search during a run (docs/lottery.md): iterative magnitude pruning with rewinding (lottery
 * tickets), SET, RigL and GraNet, each toward a target density, inside the configured mask (the region
 * searched: `--mask full` for an unconstrained search). Masks change only at update steps; weights outside
 * the current mask are exactly 0 at every step; every mask the run used is kept (masks.npz). */
#ifndef LMRNN_TRAIN_SEARCH_H
#define LMRNN_TRAIN_SEARCH_H
#include "io/npz.h"
#include "train/trainer.h"

/* Cross-option checks (target density in (0, 1], method-only options, Dale with regrowth, IMP's rounds
 * fitting in --steps). 0 or -1 + lm_err_set. */
int lm_train_config_validate_search(const LmTrainConfig *c);
/* Target number of connections of the configuration's search. 0 or -1 + lm_err_set. */
int lm_search_target_nnz(const LmTrainConfig *c, int64_t *nnz);

/* Right after the trainer's model is initialised (step 0): the start mask, IMP's snapshot at step 0,
 * the first history entry. 0 or -1 + lm_err_set. */
int lm_search_start(LmTrainer *t);
void lm_search_free(LmSearch *s);
/* Hooks of lm_trainer_step: before the step (IMP: snapshot at the rewind step; prune, rewind and a fresh
 * optimiser at the end of each round) and after it (SET, RigL, GraNet updates, with that step's
 * gradient terms for regrowth). */
void lm_search_before_step(LmTrainer *t);
void lm_search_after_step(LmTrainer *t);
/* Masks the run has had so far (history entries), and whether an update restarts training (IMP). */
int64_t lm_search_updates(const LmTrainer *t);
int lm_search_restarts(const LmTrainer *t);
/* The region searched (the configured mask), [N][N]; NULL without a search. */
const uint8_t *lm_search_region(const LmTrainer *t);

/* Replace the trainer's mask (model structure, Adam moments, work buffers, t->mask). */
void lm_trainer_set_mask(LmTrainer *t, const uint8_t *mask, const char *desc);

/* masks.npz: every mask of the run as CSR indices (step [U], nnz [U], row_ptr [U][N+1], col_idx [sum nnz]).
 * Written atomically. 0 or -1 + lm_err_set. */
int lm_search_write_history(const LmTrainer *t, const char *path);
/* On resume, after the checkpoint: the file's first entries up to the checkpoint's count, the last of
 * which must be the checkpoint's mask. 0 or -1 + lm_err_set. */
int lm_search_load_history(LmTrainer *t, const char *path);
/* Checkpoint members: search_state i64 [3] (history entries, planned steps, rewind saved) and rewind
 * f32 (dense tensors W_in..b_out concatenated) once saved. */
int lm_search_checkpoint_add(const LmTrainer *t, LmNpzWriter *w);
/* Validate those members of z; commit them only if `commit`. 0 or -1 + lm_err_set. */
int lm_search_checkpoint_read(LmTrainer *t, LmNpz *z, int commit);

#endif
