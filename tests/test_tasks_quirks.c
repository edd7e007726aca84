/* The reference's quirks and distributions: each correction switch changes exactly what it says
 * (faithful and corrected trials generated from identical generator states), and the distribution
 * facts of docs/tasks.md (fixation 200/300/400 ms, int delays, Q6 construction delays, Q9 tie rates, 50 %
 * respond trials, Q1 wrap rate, noise statistics). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "tasks/tasks.h"

static LmTaskEnv env_with(unsigned fix, uint64_t seed) {
    LmTaskEnv e;
    LmRng c = lm_rng_derive(seed, 0);
    lm_taskenv_init(&e, fix, &c);
    return e;
}

static int ob_equal_rows(const LmTrial *a, int sa, const LmTrial *b, int sb, int n) {
    return memcmp(a->ob + sa * LM_OBS, b->ob + sb * LM_OBS, sizeof(float) * LM_OBS * (size_t)n) == 0;
}
static int gt_equal(const LmTrial *a, int sa, const LmTrial *b, int sb, int n) {
    return memcmp(a->gt + sa, b->gt + sb, sizeof(int32_t) * (size_t)n) == 0;
}
static int same_trial(const LmTrial *a, const LmTrial *b) {
    return a->len == b->len && ob_equal_rows(a, 0, b, 0, LM_TMAX) && gt_equal(a, 0, b, 0, LM_TMAX) &&
           a->target == b->target && a->delay_ms == b->delay_ms &&
           memcmp(a->periods, b->periods, sizeof a->periods) == 0;
}
static const LmPeriod *period(const LmTrial *t, const char *name) { return &t->periods[lm_trial_period(t, name)]; }
static int mod16(int x) { return ((x % 16) + 16) % 16; }

/* Generate faithful and corrected trials of task `id` from identical generator states. */
typedef struct {
    LmTrial f, c;
} Pair;
static void pair(const LmTaskEnv *ef, const LmTaskEnv *ec, int id, int i, LmRng *r, LmRng *g, Pair *p) {
    int m = lm_task_def(id)->family == LM_FAM_DM ? -1 : i % 2;
    LmRng r2 = *r, g2 = *g;
    lm_trial_generate(ef, id, m, r, g, &p->f);
    lm_trial_generate(ec, id, m, &r2, &g2, &p->c);
}

/* Steps [0, a) and [b, len) equal up to a shift of the delay period. */
static int equal_around_delay(const LmTrial *f, const LmTrial *c) {
    const LmPeriod *df = period(f, "delay"), *dc = period(c, "delay");
    if (df->start != dc->start) return 0;
    int tail = f->len - df->end;
    return tail == c->len - dc->end && ob_equal_rows(f, 0, c, 0, df->start) &&
           ob_equal_rows(f, df->end, c, dc->end, tail) && gt_equal(f, df->end, c, dc->end, tail);
}

static void switch_changes_only_its_quirk(void) {
    static Pair p;
    const int N = 200;
    for (int q = 0; q < lm_fix_count; q++) {
        const unsigned bit = lm_fix_table[q].bit;
        if (bit == LM_FIX_Q17_SCHEDULE || bit == LM_FIX_Q18_WINDOW) continue; /* stream-level: test_stream */
        LmTaskEnv ef = env_with(0, 3), ec = env_with(bit, 3);
        for (int id = 0; id < LM_N_CATALOGUE; id++) {
            const LmTaskDef *d = lm_task_def(id);
            LmRng r = lm_rng_derive(11, (uint64_t)id), g = lm_rng_derive(12, (uint64_t)id);
            int changed = 0, total = 0, opposite = 0, nonmatch = 0;
            for (int i = 0; i < N; i++) {
                pair(&ef, &ec, id, i, &r, &g, &p);
                const LmTrial *f = &p.f, *c = &p.c;
                int same = same_trial(f, c);
                changed += !same;
                total++;
                switch (bit) {
                case LM_FIX_Q1_LABEL_WRAP:
                    CHECK(ob_equal_rows(f, 0, c, 0, LM_TMAX) && f->len == c->len);
                    for (int s = 0; s < f->len; s++) {
                        int in_dec = s >= period(f, "decision")->start && f->target >= 0;
                        CHECK(c->gt[s] == (in_dec && f->gt[s] == 0 ? 16 : f->gt[s]), "%s step %d", d->name, s);
                    }
                    break;
                case LM_FIX_Q3_DLY: {
                    int affected = d->family == LM_FAM_GO && !d->dly && !d->rt && !d->integ;
                    CHECK(affected ? (c->len == f->len - 5 && period(c, "delay")->end == period(c, "delay")->start &&
                                      equal_around_delay(f, c))
                                   : same, "%s", d->name);
                    break;
                }
                case LM_FIX_Q6_MATCH_DELAY:
                    if (d->family == LM_FAM_MATCH && !d->integ) CHECK(equal_around_delay(f, c), "%s", d->name);
                    else CHECK(same, "%s", d->name);
                    break;
                case LM_FIX_Q7_DM_INT_DELAY:
                    if (d->family == LM_FAM_DM && d->integ) {
                        const LmPeriod *dc = period(c, "delay");
                        int D = (dc->end - dc->start) * 100;
                        CHECK(c->delay_ms == D && f->delay_ms == 500);
                        /* same winner: faithful shifts by 5, corrected by D/100 */
                        CHECK(c->target == mod16(f->target - 5 * d->integ + d->integ * D / 100), "%s", d->name);
                        const LmPeriod *df = period(f, "delay");
                        CHECK(ob_equal_rows(f, 0, c, 0, df->start) &&
                              ob_equal_rows(f, df->end, c, dc->end, f->len - df->end));
                    } else {
                        CHECK(same, "%s", d->name);
                    }
                    break;
                case LM_FIX_Q8_INT_CONVENTION:
                    if (d->family == LM_FAM_GO && d->integ) {
                        int g0 = f->target, D = f->delay_ms;
                        CHECK(c->len == f->len && c->delay_ms == D && c->target == mod16(g0 + d->integ * D / 100));
                        /* corrected stimulus is on the grid at g (go) or g+8 (anti) */
                        int peak = mod16(g0 + 8 * d->anti);
                        CHECK(fabsf(c->ob[5 * LM_OBS + 1 + 16 * c->modality + peak] - 0.8f) < 1e-7f, "%s", d->name);
                        CHECK(ob_equal_rows(f, 0, c, 0, 5) && ob_equal_rows(f, 10, c, 10, f->len - 10));
                    } else {
                        CHECK(same, "%s", d->name);
                    }
                    break;
                case LM_FIX_Q9_TIES:
                    if (d->family == LM_FAM_DM && d->stim_mod[0] && d->stim_mod[1] && d->w_mod[0] && d->w_mod[1]) {
                        double c1 = f->strength[0][0] + f->strength[1][0], c2 = f->strength[0][1] + f->strength[1][1];
                        if (c1 != c2) CHECK(same, "%s: non-tie trial changed", d->name);
                        double k1 = c->strength[0][0] + c->strength[1][0], k2 = c->strength[0][1] + c->strength[1][1];
                        CHECK(k1 != k2, "%s: corrected trial ties", d->name);
                        CHECK(c->target == (k1 > k2 ? c->loc[0] : c->loc[1]) ||
                              d->integ /* int shift applies on top */);
                        for (int s = 0; s < f->len; s++) CHECK(f->ob[s * LM_OBS] == c->ob[s * LM_OBS]);
                    } else {
                        CHECK(same, "%s", d->name);
                    }
                    break;
                case LM_FIX_Q10_CATEGORY:
                    if (d->match_category && f->loc[0] == 8) {
                        /* sample 8 changes category: match <-> test category flips */
                        CHECK((f->loc[1] >= 8) != (c->loc[1] >= 8));
                        CHECK(ob_equal_rows(f, 0, c, 0, period(f, "test")->start));
                    } else {
                        CHECK(same, "%s", d->name);
                    }
                    break;
                case LM_FIX_Q11_NONMATCH:
                    if (!d->match_category && d->family == LM_FAM_MATCH && f->is_match == 0) {
                        nonmatch++;
                        CHECK(f->loc[1] == mod16(f->loc[0] + 8));
                        CHECK(c->loc[1] != c->loc[0] && c->loc[0] == f->loc[0]);
                        opposite += c->loc[1] == f->loc[1];
                        CHECK(ob_equal_rows(f, 0, c, 0, period(f, "test")->start) && c->len == f->len);
                    } else {
                        CHECK(same, "%s", d->name);
                    }
                    break;
                case LM_FIX_Q13_RT_FIXATION:
                    if (d->rt) {
                        const LmPeriod *dd = period(f, "decision");
                        for (int s = 0; s < f->len; s++)
                            for (int k = 0; k < LM_OBS; k++) {
                                float want = (k == 0 && s >= dd->start) ? 1.0f : f->ob[s * LM_OBS + k];
                                CHECK(c->ob[s * LM_OBS + k] == want);
                            }
                        CHECK(gt_equal(f, 0, c, 0, LM_TMAX));
                    } else {
                        CHECK(same, "%s", d->name);
                    }
                    break;
                case LM_FIX_Q14_NOISE:
                    if (d->family == LM_FAM_DM) {
                        CHECK(same, "%s", d->name);
                    } else {
                        CHECK(gt_equal(f, 0, c, 0, LM_TMAX) && c->len == f->len && c->target == f->target);
                        const char *np = d->family == LM_FAM_GO ? (d->rt ? "decision" : "stimulus") : "sample";
                        const LmPeriod *a = period(f, np), *b = d->family == LM_FAM_MATCH ? period(f, "test") : a;
                        for (int s = 0; s < f->len; s++) {
                            int noisy = (s >= a->start && s < a->end) || (s >= b->start && s < b->end);
                            if (!noisy) CHECK(ob_equal_rows(f, s, c, s, 1), "%s step %d", d->name, s);
                            else CHECK(c->ob[s * LM_OBS] != f->ob[s * LM_OBS]); /* fixation now noisy */
                        }
                    }
                    break;
                case LM_FIX_Q16_RT_SEQ:
                    if (d->rt && d->seq) {
                        CHECK(c->len == 15 && f->len == 10 && ob_equal_rows(f, 0, c, 0, 10));
                        for (int s = 0; s < 10; s++) {
                            int want = mod16(c->target + 1 + d->seq * s);
                            CHECK(c->gt[5 + s] == want);
                            if (s < 5) CHECK(f->gt[5 + s] == want);
                        }
                    } else {
                        CHECK(same, "%s", d->name);
                    }
                    break;
                case LM_FIX_Q22_SEPARATION:
                    if (d->family == LM_FAM_DM) {
                        int sep = abs(f->loc[0] - f->loc[1]);
                        sep = sep < 16 - sep ? sep : 16 - sep;
                        int csep = abs(c->loc[0] - c->loc[1]);
                        csep = csep < 16 - csep ? csep : 16 - csep;
                        CHECK(csep >= 4 && c->loc[0] == f->loc[0]);
                        if (sep >= 4) CHECK(same, "%s", d->name);
                        else CHECK(c->len == f->len && memcmp(f->strength, c->strength, sizeof f->strength) == 0);
                    } else {
                        CHECK(same, "%s", d->name);
                    }
                    break;
                }
            }
            if (bit == LM_FIX_Q11_NONMATCH && nonmatch > 0) CHECK(opposite < nonmatch / 4, "%s", d->name);
            (void)changed;
            (void)total;
        }
    }
}

/* ------------------------------------------------------------------ distributions */
static void dm_fixation_thirds_and_int_delays(void) {
    static LmTrial t;
    LmTaskEnv e = env_with(0, 1);
    LmRng r = lm_rng_derive(5, 0);
    int cnt[5] = {0};
    const int N = 30000;
    for (int i = 0; i < N; i++) {
        lm_trial_generate(&e, lm_task_lookup("dm1"), -1, &r, &r, &t);
        cnt[t.periods[0].end]++;
    }
    for (int f = 2; f <= 4; f++) CHECK(fabs(cnt[f] / (double)N - 1.0 / 3) < 0.015, "fixation %d: %d", f, cnt[f]);
    CHECK(cnt[0] + cnt[1] == 0);
    /* int delays: uniform over 0..1100 for go and match int tasks (drawn from the global generator) */
    const char *names[2] = {"dlyantiintl", "dnmcintr"};
    for (int k = 0; k < 2; k++) {
        int bins[12] = {0};
        LmRng g = lm_rng_derive(6, (uint64_t)k);
        for (int i = 0; i < 24000; i++) {
            lm_trial_generate(&e, lm_task_lookup(names[k]), i % 2, &r, &g, &t);
            CHECK(t.delay_ms % 100 == 0 && t.delay_ms >= 0 && t.delay_ms <= 1100);
            bins[t.delay_ms / 100]++;
        }
        for (int b = 0; b < 12; b++) CHECK(abs(bins[b] - 2000) < 200, "%s delay %d: %d", names[k], b * 100, bins[b]);
    }
    /* Q6: construction delays uniform over 200..1100, identical for identical construction seeds */
    int bins[12] = {0}, n = 0;
    for (uint64_t s = 0; s < 400; s++) {
        LmTaskEnv a = env_with(0, s);
        for (int id = 0; id < LM_N_CATALOGUE; id++)
            if (lm_task_def(id)->family == LM_FAM_MATCH && !lm_task_def(id)->integ)
                for (int m = 0; m < 2; m++) bins[a.match_delay_ms[id][m] / 100]++, n++;
    }
    CHECK(bins[0] == 0 && bins[1] == 0);
    for (int b = 2; b < 12; b++) CHECK(fabs(bins[b] / (double)n - 0.1) < 0.01, "construction delay %d", b * 100);
    LmTaskEnv a = env_with(0, 42), b2 = env_with(LM_FIX_ALL, 42);
    CHECK(memcmp(a.match_delay_ms, b2.match_delay_ms, sizeof a.match_delay_ms) == 0);
}

static double tie_rate(const char *name, unsigned fix, int N) {
    static LmTrial t;
    LmTaskEnv e = env_with(fix, 1);
    LmRng r = lm_rng_derive(8, (uint64_t)fix);
    int ties = 0;
    const LmTaskDef *d = lm_task_def(lm_task_lookup(name));
    for (int i = 0; i < N; i++) {
        lm_trial_generate(&e, lm_task_lookup(name), -1, &r, &r, &t);
        double c1 = 0, c2 = 0;
        for (int m = 0; m < 2; m++) c1 += d->w_mod[m] * t.strength[m][0], c2 += d->w_mod[m] * t.strength[m][1];
        ties += c1 == c2;
    }
    return ties / (double)N;
}

static void q9_tie_rates(void) {
    CHECK(fabs(tie_rate("multidm", 0, 20000) - 0.125) < 0.01);
    CHECK(fabs(tie_rate("multidlydm", 0, 20000) - 1.0 / 6) < 0.01);
    CHECK(fabs(tie_rate("multidlydmseql", 0, 20000) - 1.0 / 6) < 0.01);
    CHECK(tie_rate("multidm", LM_FIX_Q9_TIES, 5000) == 0);
    CHECK(tie_rate("multidlydmintr", LM_FIX_Q9_TIES, 5000) == 0);
    CHECK(tie_rate("dm1", 0, 5000) == 0 && tie_rate("ctxdlydm2", 0, 5000) == 0);
    /* On faithful ties the target is a coin flip between the two locations. */
    static LmTrial t;
    LmTaskEnv e = env_with(0, 1);
    LmRng r = lm_rng_derive(9, 0);
    int first = 0, ties = 0;
    for (int i = 0; i < 20000; i++) {
        lm_trial_generate(&e, lm_task_lookup("multidm"), -1, &r, &r, &t);
        if (t.strength[0][0] + t.strength[1][0] != t.strength[0][1] + t.strength[1][1]) continue;
        ties++;
        first += t.target == t.loc[0];
        CHECK(t.target == t.loc[0] || t.target == t.loc[1]);
    }
    CHECK(fabs(first / (double)ties - 0.5) < 0.05, "%d of %d", first, ties);
}

static void match_respond_half_and_q1_wrap(void) {
    static LmTrial t;
    LmTaskEnv e = env_with(0, 1);
    LmRng r = lm_rng_derive(10, 0);
    for (int id = 0; id < LM_N_CATALOGUE; id++) {
        if (lm_task_def(id)->family != LM_FAM_MATCH) continue;
        int respond = 0;
        for (int i = 0; i < 2000; i++) {
            lm_trial_generate(&e, id, i % 2, &r, &r, &t);
            respond += t.target >= 0;
            CHECK((t.target >= 0) == (t.is_match == lm_task_def(id)->matchgo));
        }
        CHECK(fabs(respond / 2000.0 - 0.5) < 0.05, "%s: %d", lm_task_def(id)->name, respond);
    }
    /* Q1: 1/16 of go/DM trials have an all-zero label sequence (non-seq tasks) */
    const char *names[2] = {"anti", "ctxdm2"};
    for (int k = 0; k < 2; k++) {
        int zero = 0;
        for (int i = 0; i < 16000; i++) {
            lm_trial_generate(&e, lm_task_lookup(names[k]), i % 2, &r, &r, &t);
            int any = 0;
            for (int s = 0; s < t.len; s++) any |= t.gt[s] != 0;
            zero += !any;
            CHECK(!any == (t.target == 15));
        }
        CHECK(abs(zero - 1000) < 120, "%s: %d", names[k], zero);
    }
}

/* Mean and std of a sample. */
typedef struct { double s, ss; long n; } Acc;
static void acc(Acc *a, double x) { a->s += x, a->ss += x * x, a->n++; }
static double mean(const Acc *a) { return a->s / a->n; }
static double sd(const Acc *a) { return sqrt(a->ss / a->n - mean(a) * mean(a)); }

static void noise_statistics(void) {
    static LmTrial t;
    for (int corrected = 0; corrected < 2; corrected++) {
        unsigned fix = corrected ? LM_FIX_Q14_NOISE : 0;
        LmTaskEnv e = env_with(fix, 1);
        LmRng r = lm_rng_derive(13, (uint64_t)corrected);
        /* DM (dm1): ring 2 and fixation carry N(0, 0.1) during the stimulus, exactly 0/1 elsewhere. */
        Acc ring2 = {0}, fixa = {0};
        int exact = 1;
        for (int i = 0; i < 4000; i++) {
            lm_trial_generate(&e, lm_task_lookup("dm1"), -1, &r, &r, &t);
            const LmPeriod *p = period(&t, "stimulus");
            for (int s = 0; s < t.len; s++) {
                int in = s >= p->start && s < p->end;
                for (int k = 17; k < 33; k++) {
                    if (in) acc(&ring2, t.ob[s * LM_OBS + k]);
                    else exact &= t.ob[s * LM_OBS + k] == 0.0f;
                }
                if (in) acc(&fixa, t.ob[s * LM_OBS] - 1.0);
                else exact &= t.ob[s * LM_OBS] == (s < p->start ? 1.0f : 0.0f);
            }
        }
        CHECK(exact);
        CHECK(fabs(mean(&ring2)) < 0.002 && fabs(sd(&ring2) - 0.1) < 0.002, "%g %g", mean(&ring2), sd(&ring2));
        CHECK(fabs(mean(&fixa)) < 0.005 && fabs(sd(&fixa) - 0.1) < 0.005);
        /* Match (dmc): the bound ring minus the bump is N(0, 0.1) in sample/test; the unbound ring and
         * the fixation column are noise-free unless Q14. */
        Acc bound = {0}, unbound = {0};
        exact = 1;
        for (int i = 0; i < 4000; i++) {
            int m = i % 2;
            lm_trial_generate(&e, lm_task_lookup("dmc"), m, &r, &r, &t);
            const LmPeriod *ps = period(&t, "sample"), *pt = period(&t, "test");
            for (int s = 0; s < t.len; s++) {
                int in_s = s >= ps->start && s < ps->end, in_t = s >= pt->start && s < pt->end;
                for (int k = 0; k < 16; k++) {
                    double b = 0;
                    if (in_s || in_t) {
                        int j = abs(k - t.loc[in_s ? 0 : 1]);
                        j = j < 16 - j ? j : 16 - j;
                        b = 0.8 * exp(-(double)j * j / 2);
                    }
                    float vb = t.ob[s * LM_OBS + 1 + 16 * m + k], vu = t.ob[s * LM_OBS + 1 + 16 * (1 - m) + k];
                    if (in_s || in_t) {
                        acc(&bound, vb - b);
                        if (corrected) acc(&unbound, vu);
                        else exact &= vu == 0.0f;
                    } else {
                        exact &= vb == 0.0f && vu == 0.0f;
                    }
                }
                if (!corrected || !(in_s || in_t)) exact &= t.ob[s * LM_OBS] == (s < period(&t, "decision")->start);
            }
        }
        CHECK(exact, "match noise outside its periods (corrected=%d)", corrected);
        CHECK(fabs(mean(&bound)) < 0.002 && fabs(sd(&bound) - 0.1) < 0.002, "%g %g", mean(&bound), sd(&bound));
        if (corrected) CHECK(fabs(mean(&unbound)) < 0.002 && fabs(sd(&unbound) - 0.1) < 0.002);
        /* Go (rtanti): no noise at all unless Q14 (then 0.1 in the decision period). */
        Acc gfix = {0};
        exact = 1;
        for (int i = 0; i < 4000; i++) {
            lm_trial_generate(&e, lm_task_lookup("rtanti"), i % 2, &r, &r, &t);
            for (int s = 0; s < t.len; s++) {
                if (s >= 5) acc(&gfix, t.ob[s * LM_OBS]);
                else exact &= t.ob[s * LM_OBS] == 1.0f;
                for (int k = 1; k < 33; k++)
                    if (s < 5) exact &= t.ob[s * LM_OBS + k] == 0.0f;
            }
        }
        CHECK(exact);
        if (corrected) CHECK(fabs(mean(&gfix)) < 0.004 && fabs(sd(&gfix) - 0.1) < 0.004);
        else CHECK(gfix.ss == 0.0);
    }
}

/* ------------------------------------------------------------------ float32 rounding order (docs/tasks.md §1.2) */
/* The reference adds each term into the float32 buffer in double and rounds once per add, in the
 * order of docs/tasks.md §2; the result is bit-exact, so it is checked with ==. Noise values are replayed
 * from a copy of the task generator (Appendix A order, N(0,1) in polar pairs per period). */
static void replay_noise(LmRng *r, int count, double *z) {
    for (int i = 0; i < count; i += 2) {
        double u, v, q;
        do u = 2 * lm_rng_uniform(r) - 1, v = 2 * lm_rng_uniform(r) - 1, q = u * u + v * v;
        while (q >= 1 || q == 0);
        z[i] = 0.1 * (u * sqrt(-2 * log(q) / q));
        if (i + 1 < count) z[i + 1] = 0.1 * (v * sqrt(-2 * log(q) / q));
    }
}
static float add32(float a, double v) { return (float)((double)a + v); }
static double bump32(double loc, int k) {
    double a = fabs(loc - k * (2 * M_PI / 16)), d = fmin(a, 2 * M_PI - a) / (M_PI / 8);
    return 0.8 * exp(-(d * d) / 2);
}

static void float32_rounding_follows_reference_order(void) {
    static LmTrial t;
    static float want[LM_TMAX][LM_OBS];
    LmTaskEnv e = env_with(0, 4);
    const char *names[5] = {"multidlydm", "ctxdm1", "dms", "dnmcintl", "dlyantiintr"};
    int mismatches = 0, trials = 0;
    for (int n = 0; n < 5; n++) {
        const int id = lm_task_lookup(names[n]);
        const LmTaskDef *d = lm_task_def(id);
        for (int i = 0; i < 200; i++) {
            LmRng r = lm_rng_derive(21, (uint64_t)(n * 1000 + i)), g = lm_rng_derive(22, (uint64_t)i), rr = r;
            const int m = d->family == LM_FAM_DM ? -1 : i % 2;
            lm_trial_generate(&e, id, m, &r, &g, &t);
            memset(want, 0, sizeof want);
            const int dec = period(&t, "decision")->start;
            double z[2 * 5 * LM_OBS];
            if (d->family == LM_FAM_DM) {
                /* fixation 1; decision zeroed; noise on all 33 columns; bumps ring 1 then ring 2 */
                lm_rng_below(&rr, 16);
                for (int i2 = (int)lm_rng_below(&rr, 16); i2 == t.loc[0]; i2 = (int)lm_rng_below(&rr, 16)) {}
                lm_rng_uniform(&rr);
                const char *ps[2] = {d->delaycomparison ? "stim1" : "stimulus", d->delaycomparison ? "stim2" : NULL};
                for (int s = 0; s < dec; s++) want[s][0] = add32(0.0f, 1.0);
                for (int q = 0; q < 2 && ps[q]; q++) {
                    const LmPeriod *p = period(&t, ps[q]);
                    replay_noise(&rr, 5 * LM_OBS, z);
                    for (int s = p->start, j = 0; s < p->end; s++)
                        for (int c = 0; c < LM_OBS; c++) want[s][c] = add32(want[s][c], z[j++]);
                }
                const LmPeriod *p1 = period(&t, ps[0]), *p2 = period(&t, ps[1] ? ps[1] : ps[0]);
                for (int ring = 0; ring < 2; ring++) {
                    if (!d->stim_mod[ring]) continue;
                    for (int k = 0; k < 16; k++) {
                        double b1 = bump32(t.loc[0] * (2 * M_PI / 16), k) * t.strength[ring][0];
                        double b2 = bump32(t.loc[1] * (2 * M_PI / 16), k) * t.strength[ring][1];
                        for (int s = p1->start; s < p1->end; s++) want[s][1 + 16 * ring + k] = add32(want[s][1 + 16 * ring + k], b1);
                        for (int s = p2->start; s < p2->end; s++) want[s][1 + 16 * ring + k] = add32(want[s][1 + 16 * ring + k], b2);
                    }
                }
            } else if (d->family == LM_FAM_MATCH) {
                /* fixation 1 until decision; sample bump, test bump; noise on the bound ring */
                lm_rng_below(&rr, 2);
                lm_rng_below(&rr, 16);
                if (d->match_category) lm_rng_below(&rr, 8);
                const LmPeriod *ps = period(&t, "sample"), *pt = period(&t, "test");
                for (int s = 0; s < dec; s++) want[s][0] = 1.0f;
                for (int k = 0; k < 16; k++) {
                    for (int s = ps->start; s < ps->end; s++) want[s][1 + 16 * m + k] = add32(0.0f, bump32(t.loc[0] * (2 * M_PI / 16), k));
                    for (int s = pt->start; s < pt->end; s++) want[s][1 + 16 * m + k] = add32(0.0f, bump32(t.loc[1] * (2 * M_PI / 16), k));
                }
                const LmPeriod *pp[2] = {ps, pt};
                for (int q = 0; q < 2; q++) {
                    replay_noise(&rr, 5 * 16, z);
                    for (int s = pp[q]->start, j = 0; s < pp[q]->end; s++)
                        for (int k = 0; k < 16; k++) want[s][1 + 16 * m + k] = add32(want[s][1 + 16 * m + k], z[j++]);
                }
            } else {
                /* go int: off-grid stimulus at mod(theta_g + I*0.01*D + A*pi, 2pi), no noise */
                double phi = fmod(t.loc[0] * (2 * M_PI / 16) + d->integ * 0.01 * t.delay_ms + d->anti * M_PI, 2 * M_PI);
                if (phi < 0) phi += 2 * M_PI;
                const LmPeriod *p = period(&t, "stimulus");
                for (int s = 0; s < dec; s++) want[s][0] = 1.0f;
                for (int s = p->start; s < p->end; s++)
                    for (int k = 0; k < 16; k++) want[s][1 + 16 * m + k] = add32(0.0f, bump32(phi, k));
            }
            trials++;
            mismatches += memcmp(want, t.ob, sizeof(float) * LM_OBS * (size_t)t.len) != 0;
        }
    }
    CHECK(mismatches == 0, "%d of %d trials differ from the reference's float32 add order", mismatches, trials);
}

int main(void) {
    RUN(switch_changes_only_its_quirk);
    RUN(dm_fixation_thirds_and_int_delays);
    RUN(q9_tie_rates);
    RUN(match_respond_half_and_q1_wrap);
    RUN(noise_statistics);
    RUN(float32_rounding_follows_reference_order);
    return CHECK_DONE();
}
