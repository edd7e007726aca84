/* DM family (_DMFamily): dm1, dm2, ctxdm1, ctxdm2, multidm, their delayed (dlydm) versions and the
 * int/seq variants (docs/tasks.md §2.2). All randomness is drawn before the observation is written, in the
 * reference's order (i1, i2, fixation, noise, strengths mod1 then mod2, tie jitter); draws that only
 * a correction needs (Q9 redraw, Q22 redraw) come after, so a trial that the correction does not touch
 * is bit-identical to the faithful one. */
#include <math.h>
#include "tasks/trial_impl.h"

static const double cohs_dm[4] = {0.08, 0.16, 0.32, 0.64};
static const double cohs_dly[3] = {0.3, 0.6, 1.0};

/* Strengths of the first and second stimulus in one modality. */
static void draw_strengths(const LmTaskDef *d, LmRng *rng, double *s1, double *s2) {
    if (d->delaycomparison) {
        /* rng.choice(cohs, 2, replace=False): uniform over the 6 ordered pairs of distinct values. */
        int a = (int)lm_rng_below(rng, 3);
        int b = (int)lm_rng_below(rng, 2);
        if (b >= a) b++;
        *s1 = cohs_dly[a];
        *s2 = cohs_dly[b];
    } else {
        double c = cohs_dm[lm_rng_below(rng, 4)];
        c *= lm_rng_below(rng, 2) ? 1.0 : -1.0;
        *s1 = 0.5 + c / 2;
        *s2 = 0.5 - c / 2;
    }
}

static void draw_all(const LmTaskDef *d, LmRng *rng, double s1[2], double s2[2], double *c1, double *c2) {
    *c1 = 0;
    *c2 = 0;
    for (int m = 0; m < 2; m++) {
        if (!d->stim_mod[m]) continue;
        draw_strengths(d, rng, &s1[m], &s2[m]);
        *c1 += d->w_mod[m] * s1[m];
        *c2 += d->w_mod[m] * s2[m];
    }
}

static int circ_dist(int a, int b) {
    int x = a > b ? a - b : b - a;
    return x < LM_RING - x ? x : LM_RING - x;
}

void lm__dm_trial(const LmTaskEnv *env, const LmTaskDef *d, int task, LmRng *rng, LmRng *global,
                  LmTrial *t) {
    const unsigned fix = env->fix;
    int delay = d->delaycomparison ? 500 : 0;
    if (d->integ && (fix & LM_FIX_Q7_DM_INT_DELAY)) delay = 100 * (int)lm_rng_below(global, 12);

    int i1 = (int)lm_rng_below(rng, LM_RING), i2;
    do i2 = (int)lm_rng_below(rng, LM_RING);
    while (i2 == i1);
    int fix_steps = lm__steps(lm_rng_range(rng, 200, 500));

    lm__trial_begin(t, task, -1);
    int p_fix = lm__trial_add_period(t, "fixation", fix_steps);
    int p1, p2, p_dec;
    if (d->delaycomparison) {
        p1 = lm__trial_add_period(t, "stim1", 5);
        lm__trial_add_period(t, "delay", delay / LM_DT_MS);
        p2 = lm__trial_add_period(t, "stim2", 5);
    } else {
        p1 = p2 = lm__trial_add_period(t, "stimulus", 5);
    }
    p_dec = lm__trial_add_period(t, "decision", lm__decision_steps(d, fix));
    (void)p_fix;

    /* Noise on all 33 columns: stimulus, or stim1 then stim2. */
    double z[2 * 5 * LM_OBS];
    int nz1 = lm__draw_noise(rng, t, p1, LM_OBS, z), nz2 = 0;
    if (p2 != p1) nz2 = lm__draw_noise(rng, t, p2, LM_OBS, z + nz1);
    (void)nz2;

    double s1[2] = {0, 0}, s2[2] = {0, 0}, c1, c2;
    draw_all(d, rng, s1, s2, &c1, &c2);
    double jitter = lm_rng_range(rng, -1e-6, 1e-6);
    if (fix & LM_FIX_Q9_TIES)
        while (c1 == c2) draw_all(d, rng, s1, s2, &c1, &c2);
    if (fix & LM_FIX_Q22_SEPARATION)
        while (circ_dist(i1, i2) < 4) i2 = (int)lm_rng_below(rng, LM_RING);

    /* add_ob(1, fixation) on every step; set_ob(0, 'decision') on all columns; noise; stimuli. */
    for (int s = 0; s < t->len; s++) t->ob[s * LM_OBS] = 1.0f;
    lm__zero_cols(t, p_dec, 0, LM_OBS);
    lm__add_noise(t, p1, 0, LM_OBS, z);
    if (p2 != p1) lm__add_noise(t, p2, 0, LM_OBS, z + nz1);
    for (int m = 0; m < 2; m++) {
        if (!d->stim_mod[m]) continue;
        double b[LM_RING];
        const int ring = 1 + LM_RING * m;
        for (int k = 0; k < LM_RING; k++) b[k] = env->grid_bump[i1][k] * s1[m];
        lm__add_cols(t, p1, ring, b, LM_RING);
        for (int k = 0; k < LM_RING; k++) b[k] = env->grid_bump[i2][k] * s2[m];
        lm__add_cols(t, p2, ring, b, LM_RING);
    }

    int target = c1 + jitter > c2 ? i1 : i2;
    /* Faithful int: the delay is forced to 500 ms, so the shift is always +-5 ring steps (Q7). */
    if (d->integ) target = lm__int_shift(target, d->integ, delay);
    lm__set_response(t, fix, target, d->seq);
    t->target = target;
    t->delay_ms = delay;
    t->loc[0] = i1;
    t->loc[1] = i2;
    for (int m = 0; m < 2; m++) t->strength[m][0] = s1[m], t->strength[m][1] = s2[m];
}
