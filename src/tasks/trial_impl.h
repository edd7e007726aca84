/* Machinery shared by the three task families (internal to src/tasks). It mirrors the old neurogym
 * TrialEnv primitives that Mod-Cog uses: periods laid out back to back (add_period), add_ob on a
 * period's steps (float32 entry + double value, one rounding per add), add_randn, and Mod-Cog's
 * my_set_groundtruth label rule. */
#ifndef LMRNN_TRIAL_IMPL_H
#define LMRNN_TRIAL_IMPL_H
#include "tasks/tasks.h"

#define LM_NOISE_SIGMA 0.1   /* sigma / sqrt(dt) = 1 / sqrt(100) */

/* Clear the trial and record what it is. */
void lm__trial_begin(LmTrial *t, int task, int modality);
/* Append a period of `steps` steps; returns its index. */
int lm__trial_add_period(LmTrial *t, const char *name, int steps);

/* numpy's float mod: result in [0, m) for m > 0, also for negative x. */
double lm__npmod(double x, double m);
/* theta_k = k * 2pi/16 exactly as numpy's arange/linspace produce it. */
double lm__theta(int k);
/* Mod-Cog's _gaussianbump for an arbitrary angle: out[k] = 0.8 exp(-d_k^2/2) * strength. */
void lm__bump(double loc, double strength, double out[LM_RING]);

/* add_ob: for every step of period p, ob[step][col0 + k] += v[k], k < n (double add, float store). */
void lm__add_cols(LmTrial *t, int p, int col0, const double *v, int n);
/* add_ob of a scalar to one column over period p. */
void lm__add_scalar(LmTrial *t, int p, int col, double v);
/* set_ob(0) over period p on columns [col0, col0 + n). */
void lm__zero_cols(LmTrial *t, int p, int col0, int n);

/* Two independent standard normals (polar method). Noise values are drawn in pairs, row-major over
 * each period's selected columns; an odd count leaves the last pair's second value unused. */
void lm__normal_pair(LmRng *r, double *z0, double *z1);
/* add_randn(0, 0.1): draw the noise of period p, columns [col0, col0+n), row-major, into `z`
 * (so the caller can make all its random draws before writing the observation); returns the count. */
int lm__draw_noise(LmRng *r, const LmTrial *t, int p, int n, double *z);
/* Add previously drawn noise (same period/column selection as the draw). */
void lm__add_noise(LmTrial *t, int p, int col0, int n, const double *z);

/* my_set_groundtruth(target, 'decision', seq): decision step s gets mod(target+1 + shift(s), 16)
 * (faithful, Q1) or 1 + mod(target + shift(s), 16) (corrected); shift(s) = trunc(seq*s*0.01*100). */
void lm__set_response(LmTrial *t, unsigned fix, int target, int seq);
/* The integrate shift of DM and match: int(mod(i + I * 0.01 * D, 16)) (index units). */
int lm__int_shift(int index, int integ, int delay_ms);
/* floor(t / dt) for a duration in ms (the neurogym rounding rule), in steps. */
int lm__steps(double ms);

void lm__go_trial(const LmTaskEnv *env, const LmTaskDef *d, int task, int modality, LmRng *rng,
                  LmRng *global, LmTrial *t);
void lm__dm_trial(const LmTaskEnv *env, const LmTaskDef *d, int task, LmRng *rng, LmRng *global,
                  LmTrial *t);
void lm__match_trial(const LmTaskEnv *env, const LmTaskDef *d, int task, int modality, LmRng *rng,
                     LmRng *global, LmTrial *t);

/* Decision length in steps per family/modifier (docs/tasks.md §2, §6), under the corrections. */
int lm__decision_steps(const LmTaskDef *d, unsigned fix);

#endif
