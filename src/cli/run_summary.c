/* The network summary during training: `lmrnn train` passes lm_train_summary_hook as the training loop's
 * on_eval hook, which computes the summary of the current network (analysis/summary.c) on the run's
 * held-out trials and returns the record the loop appends to log.jsonl. */
#include "cli/run_summary.h"
#include <stdio.h>
#include <string.h>
#include "train/progress.h"
#include "util/err.h"

cJSON *lm_train_summary_hook(void *ctx, LmTrainer *t) {
    LmTrainSummaryHook *h = ctx;
    LmTrained view;   /* the trainer seen as a run (not owned: never lm_trained_free'd) */
    memset(&view, 0, sizeof view);
    lm_trained_adopt(t, &view);
    snprintf(view.dir, sizeof view.dir, "%s", t->cfg.out);
    if (!h->loaded) {   /* init.npz is written before the first call (step 0 of a fresh run) */
        char note[1400];
        h->source = lm_trained_initial_weights_csr(&view, &h->init, note, sizeof note);
        if (note[0]) fprintf(stderr, "lmrnn: warning: %s\n", note);
        if (!h->source) fprintf(stderr, "lmrnn: warning: no initial weights (%s): weight change not logged\n", lm_err_msg());
        h->sheet = lm_trained_sheet(&view);
        h->loaded = 1;
    }
    int pos[LM_MAX_BATTERY];
    for (int k = 0; k < t->battery.n; k++) pos[k] = k;
    LmNet net = {view.model, view.battery, view.env, view.eval_seed};
    LmSummaryOptions o;
    lm_summary_options_default(&o);
    o.trials = LM_TRAIN_SUMMARY_TRIALS;
    LmInitWeights iw = lm_trained_init_view(&h->init);
    LmSummary s;
    double t0 = lm_now();
    cJSON *rec = NULL;
    if (lm_summary_of_net(&net, pos, t->battery.n, &o, h->source ? &iw : NULL, &h->sheet, &s) == 0) {
        s.init_source = h->source;
        rec = lm_summary_record(&s);
        cJSON_AddNumberToObject(rec, "seconds", lm_now() - t0);
    } else if (!h->warned) {
        fprintf(stderr, "lmrnn: warning: the summary at step %lld failed (%s); training goes on\n",
                (long long)t->step, lm_err_msg());
        h->warned = 1;
    }
    lm_summary_free(&s);
    return rec;
}

void lm_train_summary_hook_free(LmTrainSummaryHook *h) {
    lm_trained_init_free(&h->init);
    memset(h, 0, sizeof *h);
}
