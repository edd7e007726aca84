/* Single trials to files (`lmrnn tasks show` and `lmrnn tasks dump`, docs/tasks.md). Trials are single
 * trials (no stream): task k uses its own generator lm_trial_rng(seed, catalogue id) for both the task
 * RNG and the int-delay ("global") RNG, trial i gets modality i % 2 for go/match tasks and -1 for DM
 * tasks, and the per-instance match delays (Q6) are drawn as a stream with the same seed draws them. */
#ifndef LMRNN_TASKS_EXPORT_H
#define LMRNN_TASKS_EXPORT_H
#include <stdint.h>
#include "tasks/battery.h"

/* The figure of trial 0 of `dump` with the same seed (trial 1 for modality 1 of a go/match task): the
 * 33 input columns over time with the periods marked, and the labels. `name` as the user spelled it
 * (the title). 0 or -1 + lm_err_set. */
int lm_task_figure(int id, const char *name, uint64_t seed, int modality, unsigned fix, const char *path);
/* DIR/<task>.npz for every task of the battery: ob float32 [K, Tmax, 33], gt int32 [K, Tmax], length,
 * modality, period_names, period_bounds [K, P, 2]. dir is created. 0 or -1 + lm_err_set. */
int lm_task_dump(const char *dir, const LmBattery *b, int trials, uint64_t seed, unsigned fix);

#endif
