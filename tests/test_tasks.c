/* Task catalogue and single trials against independent expectations: the README order typed in from
 * docs/tasks.md §4.1, its worked examples (§7), and an oracle written directly from its text
 * (§1-3) that derives every task's parameters from its *name* and rebuilds each trial
 * (periods, observation, labels) from copies of the generators, for all 126 names and every
 * correction switch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "tasks/battery.h"
#include "tasks/tasks.h"
#include "util/err.h"

static const char *readme82[82] = {
    "go", "rtgo", "dlygo", "anti", "rtanti", "dlyanti", "dm1", "dm2", "ctxdm1", "ctxdm2", "multidm",
    "dlydm1", "dlydm2", "ctxdlydm1", "ctxdlydm2", "multidlydm", "dms", "dnms", "dmc", "dnmc",
    "dlygointr", "dlygointl", "dlyantiintr", "dlyantiintl", "dlydm1intr", "dlydm1intl", "dlydm2intr",
    "dlydm2intl", "ctxdlydm1intr", "ctxdlydm1intl", "ctxdlydm2intr", "ctxdlydm2intl", "multidlydmintr",
    "multidlydmintl", "dmsintr", "dmsintl", "dnmsintr", "dnmsintl", "dmcintr", "dmcintl", "dnmcintr",
    "dnmcintl", "goseqr", "rtgoseqr", "dlygoseqr", "antiseqr", "rtantiseqr", "dlyantiseqr", "dm1seqr",
    "dm2seqr", "ctxdm1seqr", "ctxdm2seqr", "multidmseqr", "dlydm1seqr", "dlydm2seqr", "ctxdlydm1seqr",
    "ctxdlydm2seqr", "multidlydmseqr", "dmsseqr", "dnmsseqr", "dmcseqr", "dnmcseqr", "goseql", "rtgoseql",
    "dlygoseql", "antiseql", "rtantiseql", "dlyantiseql", "dm1seql", "dm2seql", "ctxdm1seql", "ctxdm2seql",
    "multidmseql", "dlydm1seql", "dlydm2seql", "ctxdlydm1seql", "ctxdlydm2seql", "multidlydmseql",
    "dmsseql", "dnmsseql", "dmcseql", "dnmcseql"};
static const char *delay11[11] = {"dlygo", "dlyanti", "dlydm1", "dlydm2", "ctxdlydm1", "ctxdlydm2",
                                  "multidlydm", "dms", "dnms", "dmc", "dnmc"};

static LmTaskEnv env_with(unsigned fix, uint64_t seed) {
    LmTaskEnv e;
    LmRng c = lm_rng_derive(seed, 0);
    lm_taskenv_init(&e, fix, &c);
    return e;
}

/* ------------------------------------------------------------------ catalogue and parsing */
static void catalogue_order_and_names(void) {
    for (int i = 0; i < 82; i++) {
        CHECK(!strcmp(lm_task_def(i)->name, readme82[i]), "id %d is %s, README has %s", i,
              lm_task_def(i)->name, readme82[i]);
        CHECK(lm_task_lookup(readme82[i]) == i);
    }
    const char *sfx[4] = {"intrseqr", "intrseql", "intlseqr", "intlseql"};
    for (int b = 0; b < 11; b++)
        for (int k = 0; k < 4; k++) {
            char name[40];
            snprintf(name, sizeof name, "%s%s", delay11[b], sfx[k]);
            int id = 82 + 4 * b + k;
            CHECK(!strcmp(lm_task_def(id)->name, name), "id %d is %s, expected %s", id, lm_task_def(id)->name, name);
            char alias[40];
            snprintf(alias, sizeof alias, "%sintseq", delay11[b]);
            if (k == 0) CHECK(lm_task_lookup(alias) == id, "%s", alias);
        }
    for (int i = 0; i < LM_N_CATALOGUE; i++)
        for (int j = i + 1; j < LM_N_CATALOGUE; j++) CHECK(strcmp(lm_task_def(i)->name, lm_task_def(j)->name));
    CHECK(lm_task_lookup("gogo") == -1);
    CHECK(lm_task_def(126) == NULL && lm_task_def(-1) == NULL);
    const char *sug[3];
    int n = lm_task_suggest("dnsm", sug, 3);
    CHECK(n == 3);
    int found = 0;
    for (int i = 0; i < n; i++) found |= !strcmp(sug[i], "dnms") || !strcmp(sug[i], "dms");
    CHECK(found);
}

static void battery_parsing(void) {
    LmBattery b;
    CHECK(lm_battery_parse("yang20", &b) == 0 && b.n == 20 && lm_battery_n_in(&b) == 53);
    CHECK(lm_battery_parse("modcog82", &b) == 0 && b.n == 82 && lm_battery_n_in(&b) == 115);
    for (int i = 0; i < 82; i++) CHECK(b.id[i] == i && !strcmp(b.name[i], readme82[i]));
    CHECK(lm_battery_parse("modcog126", &b) == 0 && b.n == 126 && lm_battery_n_in(&b) == 159);
    CHECK(lm_battery_parse("dmsintseq,go,dmsintrseqr", &b) == 0 && b.n == 3);
    CHECK(!strcmp(b.name[0], "dmsintseq") && b.id[0] == b.id[2] && b.id[1] == 0);
    CHECK(lm_battery_parse("go,dnsm", &b) == -1 && strstr(lm_err_msg(), "dnsm") && strstr(lm_err_msg(), "dnms"));
    CHECK(lm_battery_parse("modcog", &b) == -1 && strstr(lm_err_msg(), "modcog82"));
    CHECK(lm_battery_parse("go,,dms", &b) == -1);
    CHECK(lm_battery_parse("", &b) == -1);
    CHECK(lm_task_group(0) == LM_GROUP_BASE && lm_task_group(20) == LM_GROUP_INT &&
          lm_task_group(42) == LM_GROUP_SEQ && lm_task_group(82) == LM_GROUP_INTSEQ);
}

static void fix_parsing(void) {
    unsigned f = 123;
    CHECK(lm_fix_parse("none", &f) == 0 && f == 0);
    CHECK(lm_fix_parse("all", &f) == 0 && f == LM_FIX_ALL);
    CHECK(lm_fix_parse("Q1,dm-ties", &f) == 0 && f == (LM_FIX_Q1_LABEL_WRAP | LM_FIX_Q9_TIES));
    CHECK(lm_fix_parse("q18", &f) == 0 && f == LM_FIX_Q18_WINDOW);
    CHECK(lm_fix_parse("Q2", &f) == -1 && strstr(lm_err_msg(), "Q2"));
    CHECK(lm_fix_parse("", &f) == -1);
    unsigned all = 0;
    for (int i = 0; i < lm_fix_count; i++) {
        CHECK(lm_fix_parse(lm_fix_table[i].q, &f) == 0 && f == lm_fix_table[i].bit);
        CHECK(lm_fix_parse(lm_fix_table[i].name, &f) == 0 && f == lm_fix_table[i].bit);
        CHECK(strlen(lm_fix_table[i].what) > 20);
        CHECK(!(all & lm_fix_table[i].bit));
        all |= lm_fix_table[i].bit;
    }
    CHECK(all == LM_FIX_ALL && lm_fix_count == 15);
}

/* ------------------------------------------------------------------ worked examples (docs/tasks.md §7) */
/* Draw trials of `name` with successive seeds until `want` accepts one. */
typedef int (*Want)(const LmTrial *t);
static int find_trial(const char *name, int modality, unsigned fix, Want want, LmTrial *t) {
    LmTaskEnv e = env_with(fix, 5);
    int id = lm_task_lookup(name);
    for (uint64_t s = 0; s < 200000; s++) {
        LmRng r = lm_rng_derive(77, s), g = lm_rng_derive(78, s);
        lm_trial_generate(&e, id, modality, &r, &g, t);
        if (want(t)) return 1;
    }
    return 0;
}
static int want_target3(const LmTrial *t) { return t->target == 3; }
static int want_target14(const LmTrial *t) { return t->target == 14; }
static int want_target15(const LmTrial *t) { return t->target == 15; }
static int want_target2(const LmTrial *t) { return t->target == 2; }
static int want_dmsintl(const LmTrial *t) { return t->target == 13 && t->delay_ms == 700 && t->is_match == 1; }
static int want_dlyantiintl(const LmTrial *t) { return t->target == 9 && t->delay_ms == 700; }

static void worked_examples(void) {
    static LmTrial t;
    const double bump[9] = {0.8, 0.4852245, 0.1082682, 0.0088872, 2.6837e-4, 2.98e-6, 1.2e-8, 1.8e-11, 1.0e-14};
    /* go, g = 3, modality 0 */
    CHECK(find_trial("go", 0, 0, want_target3, &t));
    CHECK(t.len == 20);
    for (int s = 0; s < 20; s++) {
        CHECK(t.ob[s * LM_OBS] == (s < 15 ? 1.0f : 0.0f));
        for (int k = 0; k < 16; k++) {
            int j = abs(k - 3);
            if (j > 8) j = 16 - j;
            double want = (s >= 5 && s < 10) ? bump[j] : 0.0;
            CHECK(fabs(t.ob[s * LM_OBS + 1 + k] - want) <= 1e-6 * fmax(1, want) + 1e-9, "step %d unit %d", s, k);
            CHECK(t.ob[s * LM_OBS + 17 + k] == 0.0f);
        }
        CHECK(t.gt[s] == (s < 15 ? 0 : 4));
    }
    /* goseql, g = 3 */
    CHECK(find_trial("goseql", 1, 0, want_target3, &t));
    const int goseql[10] = {4, 3, 2, 1, 0, 15, 14, 13, 12, 11};
    CHECK(t.len == 25);
    for (int s = 0; s < 10; s++) CHECK(t.gt[15 + s] == goseql[s]);
    /* rtantiseqr, g = 14: stimulus at index 6 during the decision; labels 0 x5 then 15, 0, 1, 2, 3 */
    CHECK(find_trial("rtantiseqr", 0, 0, want_target14, &t));
    const int rt[10] = {0, 0, 0, 0, 0, 15, 0, 1, 2, 3};
    CHECK(t.len == 10);
    for (int s = 0; s < 10; s++) {
        CHECK(t.gt[s] == rt[s]);
        CHECK(t.ob[s * LM_OBS] == (s < 5 ? 1.0f : 0.0f));
        CHECK_CLOSE(t.ob[s * LM_OBS + 1 + 6], s < 5 ? 0.0 : 0.8, 1e-7);
    }
    /* go, g = 15: all labels 0 (Q1) */
    CHECK(find_trial("go", 1, 0, want_target15, &t));
    for (int s = 0; s < 20; s++) CHECK(t.gt[s] == 0);
    /* ... and 16 with the correction */
    CHECK(find_trial("go", 1, LM_FIX_Q1_LABEL_WRAP, want_target15, &t));
    for (int s = 15; s < 20; s++) CHECK(t.gt[s] == 16);
    /* dlydm1intr with winning index 13: response 2, labels 3, 3. The winner is the stimulus period
     * with the larger bump: find it from the observation (peak of the period mean, noise std 0.045). */
    CHECK(find_trial("dlydm1intr", -1, 0, want_target2, &t));
    int p1 = lm_trial_period(&t, "stim1"), p2 = lm_trial_period(&t, "stim2");
    double peak[2] = {0, 0};
    int arg[2] = {0, 0};
    for (int q = 0; q < 2; q++) {
        const LmPeriod *p = &t.periods[q ? p2 : p1];
        for (int k = 0; k < 16; k++) {
            double m = 0;
            for (int s = p->start; s < p->end; s++) m += t.ob[s * LM_OBS + 1 + k] / 5.0;
            if (m > peak[q]) peak[q] = m, arg[q] = k;
        }
    }
    CHECK(arg[peak[1] > peak[0]] == 13, "winner %d", arg[peak[1] > peak[0]]);
    CHECK(t.gt[t.len - 2] == 3 && t.gt[t.len - 1] == 3);
    /* dmsintl, test index 4, D = 700: response 13, labels 14 x 9 */
    CHECK(find_trial("dmsintl", 0, 0, want_dmsintl, &t));
    int pt = lm_trial_period(&t, "test"), best = -1;
    double bm = -1;
    for (int k = 0; k < 16; k++) {
        double m = 0;
        for (int s = t.periods[pt].start; s < t.periods[pt].end; s++) m += t.ob[s * LM_OBS + 1 + k];
        if (m > bm) bm = m, best = k;
    }
    CHECK(best == 4);
    CHECK(t.len == 29);
    for (int s = 0; s < 29; s++) CHECK(t.gt[s] == (s < 20 ? 0 : 14));
    /* dlyantiintl, g = 9, D = 700: stimulus at mod(9pi/8 - 7 + pi, 2pi) ~ 5.959 rad */
    CHECK(find_trial("dlyantiintl", 0, 0, want_dlyantiintl, &t));
    CHECK(t.len == 22);
    double phi = fmod(9 * M_PI / 8 - 7 + M_PI + 4 * M_PI, 2 * M_PI);
    CHECK(fabs(phi - 5.959) < 1e-3);
    for (int k = 0; k < 16; k++) {
        double d = fabs(phi - k * M_PI / 8);
        d = fmin(d, 2 * M_PI - d) / (M_PI / 8);
        CHECK_CLOSE(t.ob[5 * LM_OBS + 1 + k], 0.8 * exp(-d * d / 2), 1e-6);
    }
    CHECK(fabs(t.ob[5 * LM_OBS + 16] - 0.79) < 0.01 && fabs(t.ob[5 * LM_OBS + 1] - 0.57) < 0.01);
    for (int s = 17; s < 22; s++) CHECK(t.gt[s] == 10);
}

/* ------------------------------------------------------------------ the oracle */
typedef struct {
    int family;             /* 0 go, 1 dm, 2 match */
    int anti, rt, dly;      /* go */
    int delaycmp;           /* dm */
    double w[2];
    int on[2];
    int category, matchgo;  /* match */
    int integ, seq;
} Params;

/* Task parameters from the name alone (docs/tasks.md §3). */
static int params_from_name(const char *name, Params *p) {
    memset(p, 0, sizeof *p);
    char base[40];
    snprintf(base, sizeof base, "%s", name);
    size_t n = strlen(base);
    if (n > 6 && !strcmp(base + n - 6, "intseq")) { /* reference alias: int-r + seq-r */
        p->integ = 1, p->seq = 1, base[n - 6] = 0;
    } else {
        if (n > 4 && (!strcmp(base + n - 4, "seqr") || !strcmp(base + n - 4, "seql"))) {
            p->seq = base[n - 1] == 'r' ? 1 : -1;
            base[n -= 4] = 0;
        }
        if (n > 4 && (!strcmp(base + n - 4, "intr") || !strcmp(base + n - 4, "intl"))) {
            p->integ = base[n - 1] == 'r' ? 1 : -1;
            base[n -= 4] = 0;
        }
    }
    static const struct { const char *b; int fam, anti, rt, dly, dlycmp, w1, w2, on1, on2, cat, go; } bases[20] = {
        {"go", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},       {"rtgo", 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {"dlygo", 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},    {"anti", 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"rtanti", 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0},   {"dlyanti", 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0},
        {"dm1", 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0},      {"dm2", 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0},
        {"ctxdm1", 1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0},   {"ctxdm2", 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0},
        {"multidm", 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0},  {"dlydm1", 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0},
        {"dlydm2", 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0},   {"ctxdlydm1", 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0},
        {"ctxdlydm2", 1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0}, {"multidlydm", 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0},
        {"dms", 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},      {"dnms", 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"dmc", 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1},      {"dnmc", 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}};
    for (int i = 0; i < 20; i++)
        if (!strcmp(bases[i].b, base)) {
            p->family = bases[i].fam, p->anti = bases[i].anti, p->rt = bases[i].rt, p->dly = bases[i].dly;
            p->delaycmp = bases[i].dlycmp, p->w[0] = bases[i].w1, p->w[1] = bases[i].w2;
            p->on[0] = bases[i].on1, p->on[1] = bases[i].on2, p->category = bases[i].cat, p->matchgo = bases[i].go;
            return 0;
        }
    return -1;
}

typedef struct {
    int len, np, target, delay_ms;
    const char *pname[5];
    int plen[5];
    double ob[LM_TMAX][LM_OBS];
    int gt[LM_TMAX];
} Expect;

static int pstart(const Expect *e, int p) {
    int s = 0;
    for (int i = 0; i < p; i++) s += e->plen[i];
    return s;
}
static void add_period(Expect *e, const char *name, int steps) {
    e->pname[e->np] = name;
    e->plen[e->np++] = steps;
    e->len += steps;
}
static double bump_at(double loc, int k) {
    double d = fabs(loc - k * M_PI / 8);
    d = fmin(d, 2 * M_PI - d) / (M_PI / 8);
    return 0.8 * exp(-d * d / 2);
}
static int mod16(int x) { return ((x % 16) + 16) % 16; }
static void labels(Expect *e, unsigned fix, int target, int seq) {
    int d0 = pstart(e, e->np - 1);
    for (int s = 0; s < e->plen[e->np - 1]; s++)
        e->gt[d0 + s] = (fix & LM_FIX_Q1_LABEL_WRAP) ? 1 + mod16(target + seq * s) : mod16(target + 1 + seq * s);
}
/* N(0,1) by the polar method, values used in pairs per period (the documented noise scheme). */
static void noise(Expect *e, LmRng *r, int p, int col0, int ncol) {
    double pair[2];
    int i = 0;
    for (int s = pstart(e, p); s < pstart(e, p) + e->plen[p]; s++)
        for (int c = 0; c < ncol; c++, i++) {
            if (i % 2 == 0) {
                double u, v, q;
                do {
                    u = 2 * lm_rng_uniform(r) - 1, v = 2 * lm_rng_uniform(r) - 1, q = u * u + v * v;
                } while (q >= 1 || q == 0);
                pair[0] = u * sqrt(-2 * log(q) / q), pair[1] = v * sqrt(-2 * log(q) / q);
            }
            e->ob[s][col0 + c] += 0.1 * pair[i % 2];
        }
}

static void oracle(const Params *P, const LmTaskEnv *env, int id, int m, unsigned fix, LmRng *r, LmRng *glob,
                   Expect *e) {
    memset(e, 0, sizeof *e);
    if (P->family == 0) {
        int g = (int)lm_rng_below(r, 16);
        int D = P->integ ? 100 * (int)lm_rng_below(glob, 12) : ((fix & LM_FIX_Q3_DLY) && !P->dly && !P->rt) ? 0 : 500;
        int ndec = P->seq ? ((P->rt && !(fix & LM_FIX_Q16_RT_SEQ)) ? 5 : 10) : 5;
        add_period(e, "fixation", 5);
        if (!P->rt) {
            add_period(e, "stimulus", 5);
            add_period(e, "delay", D / 100);
        }
        add_period(e, "decision", ndec);
        int q8 = P->integ && (fix & LM_FIX_Q8_INT_CONVENTION);
        double phi = g * M_PI / 8 + (q8 ? 0 : P->integ * D / 100.0) + P->anti * M_PI;
        while (phi >= 2 * M_PI) phi -= 2 * M_PI;
        while (phi < 0) phi += 2 * M_PI;
        int target = q8 ? mod16(g + P->integ * D / 100) : g;
        int stim_p = P->rt ? 1 : 1; /* stimulus (non-rt) or decision (rt) are both period 1 */
        int dec0 = pstart(e, e->np - 1);
        for (int s = 0; s < e->len; s++) {
            e->ob[s][0] = s < dec0 || (P->rt && (fix & LM_FIX_Q13_RT_FIXATION)) ? 1 : 0;
            int on = s >= pstart(e, stim_p) && s < pstart(e, stim_p) + e->plen[stim_p];
            for (int k = 0; k < 16; k++) e->ob[s][1 + 16 * m + k] = on ? bump_at(phi, k) : 0;
        }
        if (fix & LM_FIX_Q14_NOISE) noise(e, r, stim_p, 0, 33);
        labels(e, fix, target, P->seq);
        e->target = target;
        e->delay_ms = P->rt ? 0 : D;
    } else if (P->family == 1) {
        int D = P->delaycmp ? 500 : 0;
        if (P->integ && (fix & LM_FIX_Q7_DM_INT_DELAY)) D = 100 * (int)lm_rng_below(glob, 12);
        int i1 = (int)lm_rng_below(r, 16), i2;
        do i2 = (int)lm_rng_below(r, 16);
        while (i2 == i1);
        int f = (int)floor(lm_rng_range(r, 200, 500) / 100);
        add_period(e, "fixation", f);
        if (P->delaycmp) {
            add_period(e, "stim1", 5);
            add_period(e, "delay", D / 100);
            add_period(e, "stim2", 5);
        } else {
            add_period(e, "stimulus", 5);
        }
        add_period(e, "decision", P->seq ? 10 : 2);
        int pa = 1, pb = P->delaycmp ? 3 : 1;
        noise(e, r, pa, 0, 33);
        if (pb != pa) noise(e, r, pb, 0, 33);
        double s1[2] = {0, 0}, s2[2] = {0, 0}, c1, c2;
        static const double cd[4] = {0.08, 0.16, 0.32, 0.64}, cl[3] = {0.3, 0.6, 1.0};
        for (int round = 0;; round++) {
            c1 = c2 = 0;
            for (int q = 0; q < 2; q++) {
                if (!P->on[q]) continue;
                if (P->delaycmp) {
                    int a = (int)lm_rng_below(r, 3), b = (int)lm_rng_below(r, 2);
                    b += b >= a;
                    s1[q] = cl[a], s2[q] = cl[b];
                } else {
                    double c = cd[lm_rng_below(r, 4)];
                    c = lm_rng_below(r, 2) ? c : -c;
                    s1[q] = 0.5 + c / 2, s2[q] = 0.5 - c / 2;
                }
                c1 += P->w[q] * s1[q], c2 += P->w[q] * s2[q];
            }
            if (round == 0) {
                double jitter = lm_rng_range(r, -1e-6, 1e-6);
                e->target = c1 + jitter > c2 ? 1 : 2; /* provisional: which stimulus wins */
                if (c1 == c2 && (fix & LM_FIX_Q9_TIES)) continue;
                break;
            }
            e->target = c1 > c2 ? 1 : 2;
            if (c1 != c2) break;
        }
        if (fix & LM_FIX_Q22_SEPARATION)
            while (abs(i1 - i2) < 4 || abs(i1 - i2) > 12) i2 = (int)lm_rng_below(r, 16);
        int win = e->target == 1 ? i1 : i2;
        int target = P->integ ? mod16(win + P->integ * D / 100) : win;
        int dec0 = pstart(e, e->np - 1);
        for (int s = 0; s < e->len; s++) {
            if (s >= dec0) {
                for (int c = 0; c < 33; c++) e->ob[s][c] = 0;
                continue;
            }
            e->ob[s][0] += 1;
            for (int q = 0; q < 2; q++) {
                if (!P->on[q]) continue;
                for (int k = 0; k < 16; k++) {
                    if (s >= pstart(e, pa) && s < pstart(e, pa) + 5) e->ob[s][1 + 16 * q + k] += s1[q] * bump_at(i1 * M_PI / 8, k);
                    if (s >= pstart(e, pb) && s < pstart(e, pb) + 5) e->ob[s][1 + 16 * q + k] += s2[q] * bump_at(i2 * M_PI / 8, k);
                }
            }
        }
        labels(e, fix, target, P->seq);
        e->target = target;
        e->delay_ms = D;
    } else {
        int match = lm_rng_below(r, 2) == 0;
        int D = P->integ ? 100 * (int)lm_rng_below(glob, 12)
                : (fix & LM_FIX_Q6_MATCH_DELAY) ? 100 * (int)floor(lm_rng_range(glob, 200, 1200) / 100)
                                                : env->match_delay_ms[id][m];
        int is = (int)lm_rng_below(r, 16), it;
        if (P->category) {
            int cs = (fix & LM_FIX_Q10_CATEGORY) ? is >= 8 : is > 8;
            int ct = match ? cs : 1 - cs;
            it = (int)lm_rng_below(r, 8) + 8 * ct;
        } else {
            it = match ? is : (is + 8) % 16;
        }
        add_period(e, "fixation", 3);
        add_period(e, "sample", 5);
        add_period(e, "delay", D / 100);
        add_period(e, "test", 5);
        add_period(e, "decision", P->seq ? 10 : 9);
        int all = fix & LM_FIX_Q14_NOISE;
        Expect nz; /* noise drawn first (reference order), added after the stimuli */
        memset(&nz, 0, sizeof nz);
        memcpy(nz.plen, e->plen, sizeof e->plen);
        nz.np = e->np;
        noise(&nz, r, 1, all ? 0 : 1 + 16 * m, all ? 33 : 16);
        noise(&nz, r, 3, all ? 0 : 1 + 16 * m, all ? 33 : 16);
        if ((fix & LM_FIX_Q11_NONMATCH) && !P->category && !match) it = (is + 1 + (int)lm_rng_below(r, 15)) % 16;
        int dec0 = pstart(e, 4);
        for (int s = 0; s < e->len; s++) {
            e->ob[s][0] = s < dec0;
            for (int k = 0; k < 16; k++) {
                if (s >= 3 && s < 8) e->ob[s][1 + 16 * m + k] = bump_at(is * M_PI / 8, k);
                if (s >= pstart(e, 3) && s < dec0) e->ob[s][1 + 16 * m + k] = bump_at(it * M_PI / 8, k);
            }
            for (int c = 0; c < 33; c++) e->ob[s][c] += nz.ob[s][c];
        }
        e->target = -1;
        if (match == P->matchgo) {
            e->target = P->integ ? mod16(it + P->integ * D / 100) : it;
            labels(e, fix, e->target, P->seq);
        }
        e->delay_ms = D;
    }
}

static int compare(const Expect *e, const LmTrial *t, const char *name, unsigned fix) {
    int bad = 0;
    if (t->len != e->len || t->n_periods != e->np || t->target != e->target || t->delay_ms != e->delay_ms) {
        CHECK(0, "%s fix %#x: len %d/%d periods %d/%d target %d/%d delay %d/%d", name, fix, t->len, e->len,
              t->n_periods, e->np, t->target, e->target, t->delay_ms, e->delay_ms);
        return 1;
    }
    for (int p = 0; p < e->np; p++) {
        int ok = !strcmp(t->periods[p].name, e->pname[p]) && t->periods[p].start == pstart(e, p) &&
                 t->periods[p].end == pstart(e, p) + e->plen[p];
        if (!ok) {
            CHECK(0, "%s fix %#x: period %d is %s [%d,%d), expected %s length %d", name, fix, p, t->periods[p].name,
                  t->periods[p].start, t->periods[p].end, e->pname[p], e->plen[p]);
            bad++;
        }
    }
    for (int s = 0; s < LM_TMAX && !bad; s++) {
        int want = s < e->len ? e->gt[s] : 0;
        if (t->gt[s] != want) {
            CHECK(0, "%s fix %#x: label at step %d is %d, expected %d", name, fix, s, t->gt[s], want);
            bad++;
        }
        for (int c = 0; c < LM_OBS && !bad; c++) {
            double w = s < e->len ? e->ob[s][c] : 0;
            if (fabs(t->ob[s * LM_OBS + c] - w) > 2e-6) {
                CHECK(0, "%s fix %#x: ob[%d][%d] = %.8g, expected %.8g", name, fix, s, c, t->ob[s * LM_OBS + c], w);
                bad++;
            }
        }
    }
    return bad;
}

static void run_oracle(const char *name, unsigned fix, int trials, uint64_t seed) {
    Params P;
    CHECK(params_from_name(name, &P) == 0, "%s", name);
    int id = lm_task_lookup(name);
    LmTaskEnv env = env_with(fix, seed);
    static LmTrial t;
    Expect *e = malloc(sizeof *e);
    LmRng r = lm_rng_derive(seed, 1), g = lm_rng_derive(seed, 2);
    for (int i = 0; i < trials; i++) {
        int m = P.family == 1 ? -1 : i % 2;
        LmRng r2 = r, g2 = g;
        lm_trial_generate(&env, id, m, &r, &g, &t);
        oracle(&P, &env, id, m, fix, &r2, &g2, e);
        CHECK(t.modality == m);
        if (compare(e, &t, name, fix)) break;
        CHECK(memcmp(&r, &r2, sizeof r) == 0 && memcmp(&g, &g2, sizeof g) == 0, "%s: generator use differs", name);
    }
    free(e);
}

static void every_task_matches_oracle_faithful(void) {
    for (int id = 0; id < LM_N_CATALOGUE; id++) run_oracle(lm_task_def(id)->name, 0, 300, 100 + id);
    for (int i = 0; i < lm_task_alias_count(); i++) run_oracle(lm_task_alias(i, NULL), 0, 50, 7);
}

static void every_task_matches_oracle_corrected(void) {
    for (int id = 0; id < LM_N_CATALOGUE; id++) {
        run_oracle(lm_task_def(id)->name, LM_FIX_ALL, 60, 200 + id);
        for (int f = 0; f < lm_fix_count; f++) run_oracle(lm_task_def(id)->name, lm_fix_table[f].bit, 30, 300 + id);
    }
}

/* ------------------------------------------------------------------ trial-length table (docs/tasks.md §6) */
static void trial_length_table(void) {
    static LmTrial t;
    LmTaskEnv env = env_with(0, 9);
    for (int id = 0; id < LM_N_CATALOGUE; id++) {
        const char *name = lm_task_def(id)->name;
        Params P;
        params_from_name(name, &P);
        int lo, hi, dec;
        if (P.family == 0) {
            dec = P.seq && !P.rt ? 10 : 5;
            if (P.rt) lo = hi = 10;
            else if (P.integ) lo = (P.seq ? 20 : 15), hi = lo + 11;
            else lo = hi = P.seq ? 25 : 20;
        } else if (P.family == 1) {
            dec = P.seq ? 10 : 2;
            if (!P.delaycmp) lo = P.seq ? 17 : 9, hi = lo + 2;
            else lo = P.seq ? 27 : 19, hi = lo + 2;
        } else {
            dec = P.seq ? 10 : 9;
            if (P.integ) lo = P.seq ? 23 : 22, hi = lo + 11;
            else lo = P.seq ? 25 : 24, hi = lo + 9;
        }
        int seen_lo = 99, seen_hi = 0;
        LmRng r = lm_rng_derive(1, (uint64_t)id);
        for (int i = 0; i < 400; i++) {
            lm_trial_generate(&env, id, i % 2, &r, &r, &t);
            int p = lm_trial_period(&t, "decision");
            CHECK(p == t.n_periods - 1 && t.periods[p].end - t.periods[p].start == dec, "%s", name);
            if (t.len < seen_lo) seen_lo = t.len;
            if (t.len > seen_hi) seen_hi = t.len;
        }
        CHECK(seen_lo >= lo && seen_hi <= hi, "%s lengths %d..%d, table %d..%d", name, seen_lo, seen_hi, lo, hi);
        /* Ranges that vary per trial must be covered (match non-int: fixed per instance). */
        if (!(P.family == 2 && !P.integ)) CHECK(seen_lo == lo && seen_hi == hi, "%s %d..%d vs %d..%d", name, seen_lo, seen_hi, lo, hi);
        else CHECK(seen_hi - seen_lo == abs(env.match_delay_ms[id][0] - env.match_delay_ms[id][1]) / 100);
    }
}

int main(void) {
    RUN(catalogue_order_and_names);
    RUN(battery_parsing);
    RUN(fix_parsing);
    RUN(worked_examples);
    RUN(every_task_matches_oracle_faithful);
    RUN(every_task_matches_oracle_corrected);
    RUN(trial_length_table);
    return CHECK_DONE();
}
