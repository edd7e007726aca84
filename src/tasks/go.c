/* Go family (_Reach): go, rtgo, dlygo, anti, rtanti, dlyanti and their int/seq variants (docs/tasks.md §2.1).
 * Draw order: target (task RNG), then the int delay (global RNG, Q5), then Q14's optional noise. */
#include <math.h>
#include "tasks/trial_impl.h"

void lm__go_trial(const LmTaskEnv *env, const LmTaskDef *d, int task, int modality, LmRng *rng,
                  LmRng *global, LmTrial *t) {
    const unsigned fix = env->fix;
    int g = (int)lm_rng_below(rng, LM_RING);
    int delay = 500;
    if (d->integ) delay = 100 * (int)lm_rng_below(global, 12);
    else if ((fix & LM_FIX_Q3_DLY) && !d->dly) delay = 0;

    /* Faithful: the int shift moves the *stimulus* by I*0.01*D radians and the response stays at g.
     * Q8: the stimulus stays on the grid and the response moves by I*D/100 ring steps. */
    int target = g;
    double int_rad = (double)d->integ * 0.01 * delay;
    if (d->integ && (fix & LM_FIX_Q8_INT_CONVENTION)) {
        int_rad = 0.0;
        target = lm__int_shift(g, d->integ, delay);
    }
    double phi = lm__npmod(lm__theta(g) + int_rad + (d->anti ? M_PI : 0.0), 2.0 * M_PI);
    double stim[LM_RING];
    lm__bump(phi, 1.0, stim);

    lm__trial_begin(t, task, modality);
    int n_dec = lm__decision_steps(d, fix);
    int p_fix = lm__trial_add_period(t, "fixation", 5), p_stim, p_dec;
    const int ring = 1 + LM_RING * modality;
    if (!d->rt) {
        p_stim = lm__trial_add_period(t, "stimulus", 5);
        int p_delay = lm__trial_add_period(t, "delay", delay / LM_DT_MS);
        p_dec = lm__trial_add_period(t, "decision", n_dec);
        lm__add_scalar(t, p_fix, 0, 1.0);
        lm__add_scalar(t, p_stim, 0, 1.0);
        lm__add_scalar(t, p_delay, 0, 1.0);
        lm__add_cols(t, p_stim, ring, stim, LM_RING);
        t->delay_ms = delay;
    } else {
        /* rt: the stimulus appears at fixation offset and stays on through the decision. */
        p_dec = lm__trial_add_period(t, "decision", n_dec);
        p_stim = p_dec;
        lm__add_scalar(t, p_fix, 0, 1.0);
        if (fix & LM_FIX_Q13_RT_FIXATION) lm__add_scalar(t, p_dec, 0, 1.0);
        lm__add_cols(t, p_dec, ring, stim, LM_RING);
        t->delay_ms = 0;
    }
    if (fix & LM_FIX_Q14_NOISE) {
        double z[LM_TMAX * LM_OBS];
        lm__draw_noise(rng, t, p_stim, LM_OBS, z);
        lm__add_noise(t, p_stim, 0, LM_OBS, z);
    }
    lm__set_response(t, fix, target, d->seq);
    t->target = target;
    t->loc[0] = g;
    t->loc[1] = -1;
}
