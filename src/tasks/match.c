/* Match family (_DelayMatch1DResponse): dms, dnms, dmc, dnmc and their int/seq variants (docs/tasks.md §2.3).
 * Draw order: match/non-match, int delay (global RNG), sample, category test index, noise over sample
 * then test; Q11's redraw of the non-match test comes after, so it changes only the test location. */
#include <math.h>
#include "tasks/trial_impl.h"

void lm__match_trial(const LmTaskEnv *env, const LmTaskDef *d, int task, int modality, LmRng *rng,
                     LmRng *global, LmTrial *t) {
    const unsigned fix = env->fix;
    int match = lm_rng_below(rng, 2) == 0;
    int delay;
    if (d->integ) delay = 100 * (int)lm_rng_below(global, 12);
    else if (fix & LM_FIX_Q6_MATCH_DELAY) delay = LM_DT_MS * lm__steps(lm_rng_range(global, 200, 1200));
    else delay = env->match_delay_ms[task][modality];

    int is = (int)lm_rng_below(rng, LM_RING), it;
    if (d->match_category) {
        /* Q10: the reference puts sample index 8 in category 0 (is > 8) but test index 8 in 1. */
        int cs = (fix & LM_FIX_Q10_CATEGORY) ? is >= LM_RING / 2 : is > LM_RING / 2;
        int ct = match ? cs : 1 - cs;
        it = (int)lm_rng_below(rng, LM_RING / 2) + (LM_RING / 2) * ct;
    } else {
        it = match ? is : (is + LM_RING / 2) % LM_RING;
    }

    lm__trial_begin(t, task, modality);
    lm__trial_add_period(t, "fixation", 3);
    int p_sample = lm__trial_add_period(t, "sample", 5);
    lm__trial_add_period(t, "delay", delay / LM_DT_MS);
    int p_test = lm__trial_add_period(t, "test", 5);
    int p_dec = lm__trial_add_period(t, "decision", lm__decision_steps(d, fix));

    /* Faithful noise: the bound ring only; Q14: all 33 columns. */
    const int ring = 1 + LM_RING * modality;
    int ncol = (fix & LM_FIX_Q14_NOISE) ? LM_OBS : LM_RING, col0 = (fix & LM_FIX_Q14_NOISE) ? 0 : ring;
    double z[2 * 5 * LM_OBS];
    int nz = lm__draw_noise(rng, t, p_sample, ncol, z);
    lm__draw_noise(rng, t, p_test, ncol, z + nz);

    if ((fix & LM_FIX_Q11_NONMATCH) && !d->match_category && !match)
        it = (is + 1 + (int)lm_rng_below(rng, LM_RING - 1)) % LM_RING;

    for (int s = 0; s < t->len; s++) t->ob[s * LM_OBS] = 1.0f;
    lm__zero_cols(t, p_dec, 0, 1);
    lm__add_cols(t, p_sample, ring, env->grid_bump[is], LM_RING);
    lm__add_cols(t, p_test, ring, env->grid_bump[it], LM_RING);
    lm__add_noise(t, p_sample, col0, ncol, z);
    lm__add_noise(t, p_test, col0, ncol, z + nz);

    t->is_match = match;
    t->loc[0] = is;
    t->loc[1] = it;
    t->delay_ms = delay;
    if (match == d->matchgo) {
        int resp = d->integ ? lm__int_shift(it, d->integ, delay) : it;
        lm__set_response(t, fix, resp, d->seq);
        t->target = resp;
    }
}
