/* Trial machinery shared by the families (periods, bumps, add_ob/add_randn, the label rule), the
 * construction-time task environment, and the single-trial entry point. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "tasks/trial_impl.h"
#include "util/err.h"

#define TWO_PI (2.0 * M_PI)

void lm__trial_begin(LmTrial *t, int task, int modality) {
    /* Whole-struct clear: rows past `len` must read as zero and saved stream states must not carry
     * stale bytes from an earlier, longer trial. */
    memset(t, 0, sizeof *t);
    t->task = task;
    t->modality = modality;
    t->target = -1;
    t->is_match = -1;
}

int lm__trial_add_period(LmTrial *t, const char *name, int steps) {
    LM_ASSERT(t->n_periods < LM_MAX_PERIODS && steps >= 0 && t->len + steps <= LM_TMAX);
    LmPeriod *p = &t->periods[t->n_periods];
    size_t n = strlen(name);
    LM_ASSERT(n < sizeof p->name);
    memcpy(p->name, name, n + 1); /* names are literals; snprintf showed up in profiles */
    p->start = t->len;
    p->end = t->len + steps;
    t->len = p->end;
    return t->n_periods++;
}

int lm_trial_period(const LmTrial *t, const char *name) {
    for (int i = 0; i < t->n_periods; i++)
        if (!strcmp(t->periods[i].name, name)) return i;
    return -1;
}

double lm__npmod(double x, double m) {
    double r = fmod(x, m);
    if (r != 0.0) {
        if ((m < 0) != (r < 0)) r += m;
    } else {
        r = copysign(0.0, m);
    }
    return r;
}

double lm__theta(int k) { return (double)k * (TWO_PI / LM_RING); }

void lm__bump(double loc, double strength, double out[LM_RING]) {
    for (int k = 0; k < LM_RING; k++) {
        double a = fabs(loc - lm__theta(k));
        double dist = fmin(a, TWO_PI - a);
        dist /= M_PI / 8;
        out[k] = 0.8 * exp(-(dist * dist) / 2) * strength;
    }
}

void lm__add_cols(LmTrial *t, int p, int col0, const double *v, int n) {
    for (int s = t->periods[p].start; s < t->periods[p].end; s++) {
        float *row = t->ob + s * LM_OBS + col0;
        for (int k = 0; k < n; k++) row[k] = (float)((double)row[k] + v[k]);
    }
}

void lm__add_scalar(LmTrial *t, int p, int col, double v) {
    for (int s = t->periods[p].start; s < t->periods[p].end; s++) {
        float *e = t->ob + s * LM_OBS + col;
        *e = (float)((double)*e + v);
    }
}

void lm__zero_cols(LmTrial *t, int p, int col0, int n) {
    for (int s = t->periods[p].start; s < t->periods[p].end; s++)
        memset(t->ob + s * LM_OBS + col0, 0, sizeof(float) * (size_t)n);
}

/* Two independent N(0,1) values by Marsaglia's polar method: one log and one sqrt per pair and no
 * trigonometry, about four times cheaper than one lm_rng_normal() per value (noise dominates trial
 * generation). */
void lm__normal_pair(LmRng *r, double *z0, double *z1) {
    double u, v, s;
    do {
        u = 2.0 * lm_rng_uniform(r) - 1.0;
        v = 2.0 * lm_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    *z0 = u * f;
    *z1 = v * f;
}

int lm__draw_noise(LmRng *r, const LmTrial *t, int p, int n, double *z) {
    int count = (t->periods[p].end - t->periods[p].start) * n;
    for (int i = 0; i < count; i += 2) {
        double a, b;
        lm__normal_pair(r, &a, &b);
        z[i] = 0.0 + a * LM_NOISE_SIGMA;
        if (i + 1 < count) z[i + 1] = 0.0 + b * LM_NOISE_SIGMA; /* odd count: the last b is unused */
    }
    return count;
}

void lm__add_noise(LmTrial *t, int p, int col0, int n, const double *z) {
    for (int s = t->periods[p].start; s < t->periods[p].end; s++) {
        float *row = t->ob + s * LM_OBS + col0;
        for (int k = 0; k < n; k++) row[k] = (float)((double)row[k] + *z++);
    }
}

void lm__set_response(LmTrial *t, unsigned fix, int target, int seq) {
    int p = lm_trial_period(t, "decision");
    LM_ASSERT(p >= 0);
    const LmPeriod *d = &t->periods[p];
    for (int s = 0; s < d->end - d->start; s++) {
        /* int(seq * t * omega * dt), evaluated left to right in double and truncated as Python does. */
        long shift = (long)((double)(seq * s) * 0.01 * LM_DT_MS);
        long label;
        if (fix & LM_FIX_Q1_LABEL_WRAP) {
            long k = (target + shift) % LM_RING;
            label = 1 + (k < 0 ? k + LM_RING : k);
        } else {
            long a = (target + 1 + shift) % LM_RING;
            label = a < 0 ? a + LM_RING : a;
        }
        t->gt[d->start + s] = (int32_t)label;
    }
}

int lm__int_shift(int index, int integ, int delay_ms) {
    double x = integ > 0 ? (double)index + 0.01 * delay_ms : (double)index - 0.01 * delay_ms;
    return (int)lm__npmod(x, LM_RING);
}

int lm__steps(double ms) { return (int)floor(ms / LM_DT_MS); }

int lm__decision_steps(const LmTaskDef *d, unsigned fix) {
    switch (d->family) {
    case LM_FAM_GO:
        if (!d->seq) return 5;
        return d->rt && !(fix & LM_FIX_Q16_RT_SEQ) ? 5 : 10;
    case LM_FAM_DM: return d->seq ? 10 : 2;
    case LM_FAM_MATCH: return d->seq ? 10 : 9;
    }
    return 0;
}

void lm_taskenv_init(LmTaskEnv *env, unsigned fix, LmRng *construction) {
    memset(env, 0, sizeof *env);
    env->fix = fix;
    /* Q6: every match-family instance (both modality copies) draws U(200,1200) once when built. */
    for (int id = 0; id < LM_N_CATALOGUE; id++) {
        if (lm_task_def(id)->family != LM_FAM_MATCH) continue;
        for (int m = 0; m < 2; m++)
            env->match_delay_ms[id][m] = LM_DT_MS * lm__steps(lm_rng_range(construction, 200, 1200));
    }
    for (int i = 0; i < LM_RING; i++) lm__bump(lm__theta(i), 1.0, env->grid_bump[i]);
}

void lm_trial_generate(const LmTaskEnv *env, int task, int modality, LmRng *task_rng,
                       LmRng *global_rng, LmTrial *out) {
    const LmTaskDef *d = lm_task_def(task);
    LM_ASSERT(d != NULL);
    switch (d->family) {
    case LM_FAM_GO:
        LM_ASSERT(modality == 0 || modality == 1);
        lm__go_trial(env, d, task, modality, task_rng, global_rng, out);
        break;
    case LM_FAM_DM: lm__dm_trial(env, d, task, task_rng, global_rng, out); break;
    case LM_FAM_MATCH:
        LM_ASSERT(modality == 0 || modality == 1);
        lm__match_trial(env, d, task, modality, task_rng, global_rng, out);
        break;
    }
}

/* ---- layout description for `lmrnn tasks list` ---- */

static int put(char *buf, int n, int used, const char *name, int lo, int hi) {
    if (used >= n) return used;
    const char *sep = used ? " | " : "";
    if (lo == hi) return used + snprintf(buf + used, (size_t)(n - used), "%s%s %d", sep, name, lo);
    return used + snprintf(buf + used, (size_t)(n - used), "%s%s %d-%d", sep, name, lo, hi);
}

void lm_task_layout(int id, unsigned fix, char *buf, int n) {
    const LmTaskDef *d = lm_task_def(id);
    if (n <= 0) return;
    buf[0] = '\0';
    if (!d) return;
    int dec = lm__decision_steps(d, fix), u = 0;
    switch (d->family) {
    case LM_FAM_GO:
        u = put(buf, n, u, "fixation", 5, 5);
        if (!d->rt) {
            u = put(buf, n, u, "stimulus", 5, 5);
            if (d->integ) u = put(buf, n, u, "delay", 0, 11);
            else if ((fix & LM_FIX_Q3_DLY) && !d->dly) u = put(buf, n, u, "delay", 0, 0);
            else u = put(buf, n, u, "delay", 5, 5);
        }
        put(buf, n, u, "decision", dec, dec);
        break;
    case LM_FAM_DM:
        u = put(buf, n, u, "fixation", 2, 4);
        if (d->delaycomparison) {
            u = put(buf, n, u, "stim1", 5, 5);
            if (d->integ && (fix & LM_FIX_Q7_DM_INT_DELAY)) u = put(buf, n, u, "delay", 0, 11);
            else u = put(buf, n, u, "delay", 5, 5);
            u = put(buf, n, u, "stim2", 5, 5);
        } else {
            u = put(buf, n, u, "stimulus", 5, 5);
        }
        put(buf, n, u, "decision", dec, dec);
        break;
    case LM_FAM_MATCH:
        u = put(buf, n, u, "fixation", 3, 3);
        u = put(buf, n, u, "sample", 5, 5);
        if (d->integ) u = put(buf, n, u, "delay", 0, 11);
        else u = put(buf, n, u, "delay", 2, 11);
        u = put(buf, n, u, "test", 5, 5);
        put(buf, n, u, "decision", dec, dec);
        break;
    }
}

#define TRIAL_STREAM 0x747269616C0000ULL  /* "trial" */

void lm_trial_env(LmTaskEnv *env, uint64_t seed, unsigned fix) {
    LmRng construction = lm_rng_derive(seed, 0);   /* lm_stream_new's construction generator */
    lm_taskenv_init(env, fix, &construction);
}

LmRng lm_trial_rng(uint64_t seed, int id) { return lm_rng_derive(seed, TRIAL_STREAM + (uint64_t)id); }

int lm_trial_modality(int id, int i) { return lm_task_def(id)->family == LM_FAM_DM ? -1 : i % 2; }
