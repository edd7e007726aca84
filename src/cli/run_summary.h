/* The `summary` records `lmrnn train` logs into log.jsonl at step 0 and after every evaluation
 * (src/cli/run_summary.c; definitions in docs/analysis.md). */
#ifndef LMRNN_CLI_RUN_SUMMARY_H
#define LMRNN_CLI_RUN_SUMMARY_H
#include "report/run.h"

/* Held-out trials per task of each summary during training (the final summary.json uses 16): half the
 * cost, ~0.5 s of CPU per evaluation at paper scale. */
#define LM_TRAIN_SUMMARY_TRIALS 8

typedef struct {
    int loaded, warned;
    const char *source;     /* where the initial weights came from, NULL: none */
    LmTrainedInit init;
    LmSheet sheet;
} LmTrainSummaryHook;
/* LmRunOptions.on_eval for `lmrnn train` (ctx: a zeroed LmTrainSummaryHook). Never changes the trainer. */
cJSON *lm_train_summary_hook(void *ctx, LmTrainer *t);
void lm_train_summary_hook_free(LmTrainSummaryHook *h);

#endif
