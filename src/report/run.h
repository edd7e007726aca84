/* A trained network, loaded back from its run directory or a bare checkpoint (docs/run-directory.md)
 * for `lmrnn eval` and `lmrnn plot`. The loading itself is the trainer's (lm_trainer_new from the
 * stored configuration, then lm_checkpoint_load, which validates every array), so training, resuming
 * and evaluation all read a checkpoint the same way; this adds path handling and the derived values
 * the reports need. */
#ifndef LMRNN_REPORT_RUN_H
#define LMRNN_REPORT_RUN_H
#include <stdint.h>
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

#endif
