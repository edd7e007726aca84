/* A training run in its run directory (docs/run-directory.md): config.json, log.jsonl with train/eval/
 * threshold/stop records, periodic atomic checkpoints, evaluation on held-out trials, the stopping
 * rules, exact resume, and eval.json/eval.csv at the end. */
#ifndef LMRNN_TRAIN_H
#define LMRNN_TRAIN_H
#include <signal.h>
#include <stdio.h>
#include "train/log.h"
#include "train/trainer.h"

typedef enum {
    LM_STOP_NONE = 0,
    LM_STOP_MAX_STEPS,     /* reached cfg.steps */
    LM_STOP_TARGET,        /* mean (or min per-task) performance reached the target */
    LM_STOP_TIME_LIMIT,    /* this session ran cfg.time_limit seconds */
    LM_STOP_SIGNAL,        /* *opts.stop was set (SIGINT/SIGTERM) */
    LM_STOP_NON_FINITE,    /* loss or gradient became NaN/inf (an error: returns -1) */
    LM_STOP_ABORTED        /* tests: opts.abort_after reached, nothing saved (as if killed) */
} LmStopReason;
const char *lm_stop_reason_name(LmStopReason r);   /* "max_steps", "target", ... as in log.jsonl */

typedef struct {
    int resume;                     /* continue from <out>/checkpoint.npz (from step 0 if none yet) */
    int force;                      /* start over in a directory that already holds a run */
    volatile sig_atomic_t *stop;    /* polled before every step; may be NULL */
    int64_t abort_after;            /* tests only: return right after this step without a checkpoint
                                       or stop record, like a SIGKILL; 0 = off */
    FILE *progress;                 /* progress display (stderr), NULL = none */
    FILE *report;                   /* final summary and notices (stdout), NULL = none */
    /* Called at step 0 of a fresh run and after every evaluation: the items of the object it returns
     * (NULL: nothing) are logged as a "summary" record. It must not change the trainer's weights or
     * generators (the CLI computes the network summary here: src/cli/run_summary.c). */
    struct cJSON *(*on_eval)(void *ctx, LmTrainer *t);
    void *on_eval_ctx;
} LmRunOptions;

typedef struct {
    LmStopReason reason;
    int64_t step, trials;
    double wall;
    double mean, min;               /* at the last evaluation (NaN if none) */
    int64_t threshold[LM_N_THRESHOLDS][2];
} LmRunResult;

/* Train (or continue) the run `cfg` describes in cfg->out. Returns 0 when training stopped by one of
 * the rules (including a signal: the checkpoint is then saved), -1 with lm_err_set() on any error
 * (bad directory, corrupt checkpoint, unwritable file, non-finite loss; res->reason says which). */
int lm_train_run(const LmTrainConfig *cfg, const LmRunOptions *opts, LmRunResult *res);

/* Load <dir>/config.json (defaults first) for `lmrnn train --resume dir`. 0 or -1 + lm_err_set. */
int lm_train_config_for_resume(const char *dir, LmTrainConfig *cfg);


#endif
