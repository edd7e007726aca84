/* A trained run, loaded back from its run directory or a bare checkpoint (docs/run-directory.md):
 * the model rebuilt from the checkpoint's arrays, the training battery and the task environment of the
 * training stream (Q6 match delays), from the configuration stored in the checkpoint. Used by
 * `lmrnn eval` and `lmrnn plot`. */
#ifndef LMRNN_REPORT_RUN_H
#define LMRNN_REPORT_RUN_H
#include <stdint.h>
#include <cjson/cJSON.h>
#include "model/model.h"
#include "tasks/battery.h"
#include "train/config.h"

typedef struct {
    char dir[1024];        /* directory holding the checkpoint (the run directory) */
    char ckpt[1100];       /* checkpoint path */
    cJSON *config;         /* the configuration (checkpoint's `config` string, else DIR/config.json) */
    LmTrainConfig train;   /* the same, parsed */
    LmBattery battery;     /* training battery: position = rule column */
    unsigned fix;          /* corrections in force during training */
    uint64_t seed;         /* the run's seed */
    LmTaskEnv env;         /* construction-time task state of the training stream */
    LmModel *model;
    int64_t step;          /* optimiser steps done (-1 if the checkpoint has no `step`) */
    char mask_kind[16];    /* "local2d", "full", ... ("" if the config does not say) */
    int nx, ny;            /* local2d sheet (0 if not local2d) */
} LmRun;

/* Load DIR (DIR/checkpoint.npz) or a checkpoint file. 0, or -1 with lm_err_set() naming the problem
 * (missing directory or file, corrupt archive, missing key, wrong dtype or shape, mask/weights
 * mismatch, non-finite weights, unparseable or inconsistent config). */
int lm_run_load(const char *path, LmRun *out);
void lm_run_free(LmRun *r);

/* The seed of the training stream of a run with seed `run_seed` (what lm_stream_new received).
 * TODO(train): must match the trainer's derivation. */
uint64_t lm_run_stream_seed(uint64_t run_seed);

/* Depth-first search of a JSON object tree for the first member called `key` (configs may nest their
 * options in sections). NULL if absent. */
const cJSON *lm_config_find(const cJSON *config, const char *key);

#endif
