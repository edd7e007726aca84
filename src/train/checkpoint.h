/* checkpoint.npz: everything needed to continue a run bit-exactly (keys: docs/run-directory.md). */
#ifndef LMRNN_CHECKPOINT_H
#define LMRNN_CHECKPOINT_H
#include "train/trainer.h"

/* Format 2: W_rec compressed (W_rec_data, W_rec_indices, W_rec_indptr, W_rec_shape: SciPy CSR over the
 * mask); the dense W_rec and mask keys only up to LM_CHECKPOINT_DENSE_MAX units. Format 1 (dense W_rec
 * and mask only) still loads. */
#define LM_CHECKPOINT_FORMAT 2
#define LM_CHECKPOINT_FORMAT_DENSE 1
#define LM_CHECKPOINT_DENSE_MAX 4096

/* Write atomically (temp file + rename): on failure the previous file at `path` is intact.
 * `config_doc` is the config.json text stored under "config". 0 or -1 with lm_err_set(). */
int lm_checkpoint_save(const LmTrainer *t, const char *config_doc, const char *path);

/* Restore a trainer freshly built (lm_trainer_new) from the run's configuration. Every array is
 * validated (presence, dtype, shape, finite values, mask equal to the one the configuration builds,
 * W_rec zero outside it, the named tensors consistent with the parameter block, the stored
 * configuration compatible with t->cfg) before anything is changed; on error t is unchanged and the
 * message names the file and the problem. */
int lm_checkpoint_load(LmTrainer *t, const char *path);
/* The same checks for the network only (configuration, mask, named tensors, params), then the weights
 * and `step` are set; Adam, stream, generators and counters are neither read nor changed. For
 * evaluation and plots, which then also accept checkpoints whose stream state has another layout.
 * The trainer may be built with train_pool = 0 (building a pool costs K stream windows). */
int lm_checkpoint_load_weights(LmTrainer *t, const char *path);

/* The configuration stored in a checkpoint (its "config" string, over the defaults). 0 or -1. */
int lm_checkpoint_read_config(const char *path, LmTrainConfig *out);
/* Before a trainer is built from `cfg`: every array the loader reads is present with the dtype and shape
 * `cfg` gives it (full: the training state too), judged from the members' headers without reading a
 * payload. 0, or -1 with lm_err_set() naming the file and the array. */
int lm_checkpoint_check_shapes(const char *path, const LmTrainConfig *cfg, int full);

#endif
