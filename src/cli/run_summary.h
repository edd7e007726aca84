/* The summary of a run for the command line (src/cli/run_summary.c): initial weights, sheet, and the
 * hook through which `lmrnn train` logs a `summary` record at step 0 and after every evaluation. */
#ifndef LMRNN_CLI_RUN_SUMMARY_H
#define LMRNN_CLI_RUN_SUMMARY_H
#include "analysis/analysis.h"
#include "train/trainer.h"

/* Held-out trials per task of each summary during training (the final summary.json uses 16): half the
 * cost, ~0.5 s of CPU per evaluation at paper scale. */
#define LM_TRAIN_SUMMARY_TRIALS 8

/* Initial weights owned by the caller: W_rec as CSR over its step-0 mask, W_in and W_out dense. */
typedef struct {
    int32_t *row_ptr, *col_idx;
    float *rec, *W_in, *W_out;
} LmRunInit;
void lm_run_init_free(LmRunInit *w);
LmInitWeights lm_run_init_view(const LmRunInit *w);
/* DIR/init.npz (written by `lmrnn train` at step 0), else rebuilt from the configuration (the
 * initialisation is a function of the seed alone). Returns "init.npz", "reconstructed from the run's
 * seed", or NULL + lm_err_set. */
const char *lm_run_initial_weights(const char *dir, const LmTrainConfig *cfg, const LmModel *model, LmRunInit *out);
/* The sheet distances are measured on: the local2d grid, a ring for local1d, else the square default
 * sheet (a ring when N is not square). */
LmSheet lm_run_sheet(const LmTrainConfig *c);

typedef struct {
    int loaded, warned;
    const char *source;
    LmRunInit init;
    LmSheet sheet;
} LmTrainSummaryHook;
/* LmRunOptions.on_eval for `lmrnn train` (ctx: a zeroed LmTrainSummaryHook). */
cJSON *lm_train_summary_hook(void *ctx, LmTrainer *t);
void lm_train_summary_hook_free(LmTrainSummaryHook *h);

#endif
