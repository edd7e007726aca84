/* A trained network, loaded back from its run directory or a bare checkpoint (docs/run-directory.md)
 * for `lmrnn eval` and `lmrnn plot`. The loading itself is the trainer's (lm_trainer_new from the
 * stored configuration, then lm_checkpoint_load, which validates every array), so training, resuming
 * and evaluation all read a checkpoint the same way; this adds path handling and the derived values
 * the reports need. */
#ifndef LMRNN_REPORT_RUN_H
#define LMRNN_REPORT_RUN_H
#include <stdint.h>
#include <stddef.h>
#include "analysis/analysis.h"
#include "model/model.h"
#include "tasks/battery.h"
#include "train/trainer.h"

typedef struct {
    char dir[1024];        /* directory holding the checkpoint (the run directory) */
    char ckpt[1100];       /* checkpoint path */
    LmTrainer *trainer;    /* the restored training state */
    LmModel *model;        /* = trainer->model */
    const LmBattery *battery;   /* training battery: position = rule column */
    const LmTaskEnv *env;  /* construction-time task state of the training stream (Q6 delays) */
    uint64_t seed;         /* the run's seed */
    uint64_t eval_seed;    /* held-out evaluation seed used during training */
    int64_t step;          /* optimiser steps done */
    int nx, ny;            /* local2d sheet (0 if the mask is not local2d) */
} LmTrained;

/* Load DIR (DIR/checkpoint.npz) or a checkpoint file. 0, or -1 with lm_err_set() naming the problem
 * (missing directory or file, corrupt archive, missing key, wrong dtype or shape, mask/weights
 * mismatch, non-finite weights, unparseable or inconsistent configuration). */
int lm_trained_load(const char *path, LmTrained *out);
void lm_trained_free(LmTrained *r);
/* Fill out from a trainer (which out then owns): model, battery, env, seeds, step, local2d sheet. */
void lm_trained_adopt(LmTrainer *t, LmTrained *out);

/* The geometry the summary measures distances on: the run's local2d sheet; for other masks the square
 * default sheet when N is a square; local1d (and non-square N) a ring of N. */
LmSheet lm_trained_sheet(const LmTrained *run);

/* The initial W_rec (as CSR over its step-0 mask), W_in and W_out at any N (run_init.c): from
 * DIR/init.npz (written by `lmrnn train` at step 0: W_rec_data / _indices / _indptr, or a dense W_rec in
 * runs written before), else rebuilt from the stored configuration (the initialisation is a function of
 * the seed alone). Returns where they came from ("init.npz", "reconstructed from the run's seed"), or NULL
 * + lm_err_set; note (may be NULL) gets a warning when an init.npz was there but unusable. Free with
 * lm_trained_init_free. */
typedef struct {
    int32_t *row_ptr, *col_idx;
    float *rec, *W_in, *W_out;
} LmTrainedInit;
const char *lm_trained_initial_weights_csr(const LmTrained *run, LmTrainedInit *out, char *note, size_t n_note);
void lm_trained_init_free(LmTrainedInit *w);
LmInitWeights lm_trained_init_view(const LmTrainedInit *w);   /* the analyses' view of it */

#endif
