/* The configuration of the seed run tests/fuzz/make_seeds.sh trains (keep the two in step). */
#ifndef LMRNN_FUZZ_RUN_H
#define LMRNN_FUZZ_RUN_H
#include <stdlib.h>
#include "train/config.h"

static inline void fuzz_seed_config(LmTrainConfig *c) {
    static const char *const opts[][2] = {
        {"battery", "modcog82"}, {"hidden", "16"}, {"d", "2"}, {"batch", "2"}, {"window", "40"},
        {"steps", "20"}, {"eval_every", "10"}, {"eval_trials", "2"}, {"checkpoint_every", "10"},
        {"seed", "3"}, {"out", "/tmp/lmrnn_fuzz_seed_run"}, {"no_plot", "true"}, {"quiet", "true"},
    };
    lm_train_config_default(c);
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (lm_train_config_set(c, opts[i][0], opts[i][1]) != 0) abort();
}

#endif
