/* Dale's law options of a run (docs/dale.md): the E/I assignment from the configuration (seeded, or
 * read and validated from an --ei-file) and the cross-option checks. */
#ifndef LMRNN_TRAIN_DALE_H
#define LMRNN_TRAIN_DALE_H
#include <stdint.h>
#include "train/config.h"

/* Read an E/I vector: a .npy of n numbers (1-d, or [n, 1] / [1, n]), each exactly +1 or -1, into ei.
 * 0, or -1 with lm_err_set() naming the file and the problem. */
int lm_train_read_ei(const char *path, int n, int8_t *ei);
/* The run's assignment: the file's, or round(frac_exc N) excitatory units drawn from `seed`. */
int lm_train_build_ei(const LmTrainConfig *c, uint64_t seed, int8_t *ei);
/* Dale options used without --dale, an --init other than the balanced one, an unreadable E/I file. */
int lm_train_config_validate_dale(const LmTrainConfig *c);

#endif
