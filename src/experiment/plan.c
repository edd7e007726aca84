#include "experiment/plan.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/json.h"
#include "model/model.h"
#include "stream/stream.h"
#include "tasks/battery.h"
#include "util/err.h"

static const char *const exp_names[LM_N_EXPERIMENTS] = {"autapse", "sparsity", "data-efficiency", "lottery"};
static const char *const scale_names[LM_N_SCALES] = {"tiny", "quick", "paper"};

int lm_experiment_parse(const char *s, LmExperiment *out) {
    int i = lm_name_lookup("experiment", s, exp_names, LM_N_EXPERIMENTS);
    if (i < 0) return -1;
    *out = (LmExperiment)i;
    return 0;
}
const char *lm_experiment_name(LmExperiment e) { return exp_names[e]; }

int lm_scale_parse(const char *s, LmExpScale *out) {
    int i = lm_name_lookup("--scale", s, scale_names, LM_N_SCALES);
    if (i < 0) return -1;
    *out = (LmExpScale)i;
    return 0;
}
const char *lm_scale_name(LmExpScale s) { return scale_names[s]; }

/* The numbers below are documented, with the measurements they come from, in docs/experiments.md. */
void lm_exp_settings_default(LmExperiment e, LmExpScale s, LmExpSettings *o) {
    memset(o, 0, sizeof *o);
    o->exp = e;
    o->scale = s;
    o->batch = 4;
    o->hidden = 256;
    switch (s) {
    case LM_SCALE_TINY:   /* a few steps of a 4x4 sheet: exercises the machinery, learns nothing */
        o->seeds = 1;
        o->hidden = 16;
        o->batch = 2;
        o->steps = 6;
        o->eval_every = 3;
        o->eval_trials = 2;
        o->checkpoint_every = 2;
        o->n_pool = 2;
        o->pool_trials[0] = 10;
        o->pool_trials[1] = 100;
        o->best_d = e == LM_EXP_DATA_EFFICIENCY ? 2 : 0;
        break;
    case LM_SCALE_QUICK:   /* every experiment end to end in minutes: curves are still rising */
        o->seeds = 1;
        o->steps = 4000;
        o->eval_every = 500;
        o->eval_trials = 10;
        o->checkpoint_every = 1000;
        o->n_pool = 3;
        o->pool_trials[0] = 300;
        o->pool_trials[1] = 3000;
        o->pool_trials[2] = 30000;
        if (e == LM_EXP_LOTTERY) {   /* the reduced scale of docs/results.md: 3 seeds, 6000 steps */
            o->seeds = 3;
            o->steps = 6000;
            o->eval_trials = 16;
        }
        break;
    case LM_SCALE_PAPER:
        o->seeds = 3;
        o->steps = 30000;
        o->eval_every = 500;
        o->eval_trials = 32;
        o->checkpoint_every = 2000;
        if (e == LM_EXP_AUTAPSE) {
            /* The authors' 20-Cog run length; half the runs are cheap yang20 ones, so 5 seeds fit; per-task
             * tables get more trials (95% CI half-width <= 0.12). */
            o->seeds = 5;
            o->steps = 40000;
            o->eval_every = 1000;
            o->eval_trials = 64;
        }
        if (e == LM_EXP_DATA_EFFICIENCY) o->eval_every = 1000;
        if (e == LM_EXP_LOTTERY) o->eval_trials = 16;
        o->n_pool = 5;
        o->pool_trials[0] = 300;
        o->pool_trials[1] = 1000;
        o->pool_trials[2] = 3000;
        o->pool_trials[3] = 10000;
        o->pool_trials[4] = 30000;
        break;
    default:
        break;
    }
}

int lm_exp_window(const LmExpSettings *s, const char *battery) {
    if (s->scale == LM_SCALE_TINY) return 50;
    return !strcmp(battery, "yang20") ? 100 : 350;   /* docs/model.md §4 */
}

double lm_exp_local2d_density(int n, double d) {
    LmMaskSpec spec;
    memset(&spec, 0, sizeof spec);
    spec.kind = LM_MASK_LOCAL2D;
    spec.d = d;
    LmMask m;
    if (lm_mask_build(&spec, n, &m) != 0) return -1;
    double density = m.density;
    lm_mask_free(&m);
    return density;
}

long lm_exp_pool_batches(const char *battery, int batch, int window, unsigned fix, long trials) {
    LmBattery b;
    if (lm_battery_parse(battery, &b) != 0) return -1;
    LmStream *st = lm_stream_new(&b, batch, window, 0, fix);
    if (!st) return -1;
    int n_in = lm_stream_n_in(st);
    float *x = lm_malloc(sizeof(float) * (size_t)window * batch * n_in);
    int32_t *y = lm_malloc(sizeof(int32_t) * (size_t)window * batch);
    const int windows = 64;
    for (int i = 0; i < windows; i++) lm_stream_next(st, x, y, NULL);
    double per_batch = (double)lm_stream_trials(st) / windows;
    free(x);
    free(y);
    lm_stream_free(st);
    if (per_batch <= 0) {
        lm_err_set("battery %s: no trials in %d training windows", battery, windows);
        return -1;
    }
    long k = (long)ceil((double)trials / per_batch - 1e-9);
    return k < 1 ? 1 : k;
}

/* ---------------------------------------------------------------- grid */

static void add_arg(LmExpRun *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_arg(LmExpRun *r, const char *fmt, ...) {
    LM_ASSERT(r->n_args < LM_EXP_MAX_ARGS);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->args[r->n_args], sizeof r->args[0], fmt, ap);
    va_end(ap);
    LM_ASSERT(n > 0 && (size_t)n < sizeof r->args[0]);
    r->n_args++;
}

typedef struct {
    const char *mask;   /* full | local2d | random | diag */
    double d;           /* local2d d, or the d a random mask (or a mask search) is matched to */
    const char *prune;  /* lottery: a mask search over the full matrix to local2d d's count; NULL = none */
} Cond;

/* Append the runs of one condition (all seeds). */
static int add_condition(LmExpPlan *p, int *cap, const char *battery, Cond c, long pool_trials) {
    const LmExpSettings *s = &p->set;
    int window = lm_exp_window(s, battery);
    double density = 1.0;
    if (!strcmp(c.mask, "diag")) density = 1.0 / s->hidden;
    if (!strcmp(c.mask, "local2d") || !strcmp(c.mask, "random") || c.prune) {
        density = lm_exp_local2d_density(s->hidden, c.d);
        if (density < 0) return -1;
    }
    long pool_batches = 0;
    if (pool_trials > 0) {
        pool_batches = lm_exp_pool_batches(battery, s->batch, window, s->fix_all ? LM_FIX_ALL : 0,
                                           pool_trials);
        if (pool_batches < 0) return -1;
    }
    char cond[48], label[64];
    if (!strcmp(c.mask, "local2d") || !strcmp(c.mask, "random")) {
        snprintf(cond, sizeof cond, "%s-d%g", c.mask, c.d);
        if (!strcmp(c.mask, "local2d"))
            snprintf(label, sizeof label, "local2d d=%g", c.d);
        else
            snprintf(label, sizeof label, "random p=%.4f (=d%g)", density, c.d);
    } else {
        snprintf(cond, sizeof cond, "%s", c.mask);
        snprintf(label, sizeof label, "%s", c.mask);
    }
    if (c.prune) {
        static const char *const names[][2] = {{"imp", "IMP ticket"}, {"set", "SET"}, {"rigl", "RigL"},
                                               {"granet", "GraNet"}};
        const char *nice = c.prune;
        for (int k = 0; k < 4; k++)
            if (!strcmp(names[k][0], c.prune)) nice = names[k][1];
        snprintf(cond, sizeof cond, "%s-d%g", c.prune, c.d);
        snprintf(label, sizeof label, "%s (=d%g)", nice, c.d);
    }
    if (pool_trials > 0) {
        size_t n = strlen(cond);
        snprintf(cond + n, sizeof cond - n, "-K%ld", pool_trials);
    }
    for (int seed = 1; seed <= s->seeds; seed++) {
        if (p->n == *cap) {
            *cap = *cap ? 2 * *cap : 32;
            p->runs = lm_realloc(p->runs, sizeof(LmExpRun) * (size_t)*cap);
        }
        LmExpRun *r = &p->runs[p->n++];
        memset(r, 0, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s-%s-s%d", battery, cond, seed);
        snprintf(r->cond, sizeof r->cond, "%s", cond);
        snprintf(r->label, sizeof r->label, "%s", label);
        snprintf(r->battery, sizeof r->battery, "%s", battery);
        snprintf(r->mask, sizeof r->mask, "%s", c.mask);
        snprintf(r->prune, sizeof r->prune, "%s", c.prune ? c.prune : "");
        r->d = c.d;
        r->density = density;
        r->pool_trials = pool_trials;
        r->pool_batches = pool_batches;
        r->seed = (uint64_t)seed;
        r->steps = s->steps;
        r->window = window;
        add_arg(r, "--battery");
        add_arg(r, "%s", battery);
        add_arg(r, "--mask");
        add_arg(r, "%s", c.mask);
        if (!strcmp(c.mask, "local2d")) {
            add_arg(r, "--d");
            add_arg(r, "%.10g", c.d);
        }
        if (!strcmp(c.mask, "random") && s->exp == LM_EXP_LOTTERY) {   /* the exact count, as the searches */
            add_arg(r, "--match-density-of");
            add_arg(r, "%.10g", c.d);
        } else if (!strcmp(c.mask, "random")) {
            add_arg(r, "--density");
            add_arg(r, "%.10g", density);
        }
        if (c.prune) {
            add_arg(r, "--prune");
            add_arg(r, "%s", c.prune);
            add_arg(r, "--prune-density-of");
            add_arg(r, "%.10g", c.d);
            if (!strcmp(c.prune, "imp")) {   /* 4 rounds to 8.4 % instead of 11 at p = 0.2 (docs/lottery.md) */
                add_arg(r, "--prune-fraction");
                add_arg(r, "0.5");
            }
        }
        add_arg(r, "--hidden");
        add_arg(r, "%d", s->hidden);
        add_arg(r, "--batch");
        add_arg(r, "%d", s->batch);
        add_arg(r, "--window");
        add_arg(r, "%d", window);
        add_arg(r, "--steps");
        add_arg(r, "%ld", s->steps);
        add_arg(r, "--seed");
        add_arg(r, "%d", seed);
        add_arg(r, "--eval-every");
        add_arg(r, "%d", s->eval_every);
        add_arg(r, "--eval-trials");
        add_arg(r, "%d", s->eval_trials);
        add_arg(r, "--checkpoint-every");
        add_arg(r, "%d", s->checkpoint_every);
        if (pool_batches > 0) {
            add_arg(r, "--train-pool");
            add_arg(r, "%ld", pool_batches);
        }
        if (s->fix_all) {
            add_arg(r, "--fix");
            add_arg(r, "all");
        }
        add_arg(r, "--threads");
        add_arg(r, "1");
    }
    return 0;
}

int lm_exp_plan_build(const LmExpSettings *s, LmExpPlan *p) {
    memset(p, 0, sizeof *p);
    p->set = *s;
    int cap = 0, rc = 0;
    const int tiny = s->scale == LM_SCALE_TINY;
    const char *mod = tiny ? "yang20" : "modcog82";
    switch (s->exp) {
    case LM_EXP_AUTAPSE: {
        /* C1/C2: autapses vs an LM-RNN vs full on both batteries. */
        const char *bats[2] = {"yang20", "modcog82"};
        Cond conds[3] = {{"diag", 0, NULL}, {"local2d", 3, NULL}, {"full", 0, NULL}};
        for (int b = 0; b < (tiny ? 1 : 2) && !rc; b++)
            for (int c = 0; c < 3 && !rc; c++) {
                if (tiny && c == 1) continue;
                rc = add_condition(p, &cap, bats[b], conds[c], 0);
            }
        break;
    }
    case LM_EXP_SPARSITY: {
        /* C3/C4: the d sweep (d=1 is the autapse mask), a density-matched random mask for every d, and
         * the fully connected network. */
        static const double ds[] = {1, 2, 3, 4, 5, 6, 8};
        int nd = tiny ? 1 : (int)(sizeof ds / sizeof ds[0]);
        for (int i = 0; i < nd && !rc; i++) {
            double d = tiny ? 2 : ds[i];
            rc = add_condition(p, &cap, mod, (Cond){"local2d", d, NULL}, 0);
            if (!rc) rc = add_condition(p, &cap, mod, (Cond){"random", d, NULL}, 0);
        }
        if (!tiny && !rc) rc = add_condition(p, &cap, mod, (Cond){"full", 0, NULL}, 0);
        break;
    }
    case LM_EXP_DATA_EFFICIENCY: {
        if (s->best_d <= 0) {
            lm_err_set("data-efficiency needs the LM-RNN's d (--d, or --from a finished sparsity experiment)");
            rc = -1;
            break;
        }
        Cond conds[3] = {{"local2d", s->best_d, NULL}, {"random", s->best_d, NULL}, {"full", 0, NULL}};
        for (int k = 0; k < s->n_pool && !rc; k++)
            for (int c = 0; c < (tiny ? 1 : 3) && !rc; c++)
                rc = add_condition(p, &cap, mod, conds[c], s->pool_trials[k]);
        break;
    }
    case LM_EXP_LOTTERY: {
        /* C7: the LM-RNN at d = 3 and at the sweep's best d = 8 against masks found by search at d = 3's
         * density, and the density-matched random mask. */
        const double d = tiny ? 2 : 3;
        Cond conds[] = {{"local2d", d, NULL}, {"local2d", 8, NULL}, {"full", d, "imp"}, {"full", d, "set"},
                        {"full", d, "rigl"}, {"full", d, "granet"}, {"random", d, NULL}};
        for (size_t c = 0; c < sizeof conds / sizeof conds[0] && !rc; c++) {
            if (tiny && c == 1) continue;   /* d = 8 does not fit a 4x4 sheet's distinctions */
            rc = add_condition(p, &cap, mod, conds[c], 0);
        }
        break;
    }
    default:
        lm_err_set("unknown experiment");
        rc = -1;
    }
    if (rc) lm_exp_plan_free(p);
    return rc;
}

void lm_exp_plan_free(LmExpPlan *p) {
    free(p->runs);
    p->runs = NULL;
    p->n = 0;
}

/* ---------------------------------------------------------------- plan.json */

int lm_exp_plan_save(const LmExpPlan *p, const char *path) {
    const LmExpSettings *s = &p->set;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "experiment", lm_experiment_name(s->exp));
    cJSON_AddStringToObject(doc, "scale", lm_scale_name(s->scale));
    cJSON *set = cJSON_AddObjectToObject(doc, "settings");
    cJSON_AddNumberToObject(set, "seeds", s->seeds);
    cJSON_AddNumberToObject(set, "hidden", s->hidden);
    cJSON_AddNumberToObject(set, "batch", s->batch);
    cJSON_AddNumberToObject(set, "steps", (double)s->steps);
    cJSON_AddNumberToObject(set, "eval_every", s->eval_every);
    cJSON_AddNumberToObject(set, "eval_trials", s->eval_trials);
    cJSON_AddNumberToObject(set, "checkpoint_every", s->checkpoint_every);
    cJSON_AddBoolToObject(set, "fix_all", s->fix_all != 0);
    cJSON_AddNumberToObject(set, "best_d", s->best_d);
    cJSON *pools = cJSON_AddArrayToObject(set, "pool_trials");
    for (int k = 0; k < s->n_pool; k++) cJSON_AddItemToArray(pools, cJSON_CreateNumber((double)s->pool_trials[k]));
    cJSON *runs = cJSON_AddArrayToObject(doc, "runs");
    for (int i = 0; i < p->n; i++) {
        const LmExpRun *r = &p->runs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", r->id);
        cJSON_AddStringToObject(o, "condition", r->cond);
        cJSON_AddStringToObject(o, "label", r->label);
        cJSON_AddStringToObject(o, "battery", r->battery);
        cJSON_AddStringToObject(o, "mask", r->mask);
        if (r->prune[0]) cJSON_AddStringToObject(o, "prune", r->prune);
        cJSON_AddNumberToObject(o, "d", r->d);
        cJSON_AddNumberToObject(o, "density", r->density);
        cJSON_AddNumberToObject(o, "pool_trials", (double)r->pool_trials);
        cJSON_AddNumberToObject(o, "pool_batches", (double)r->pool_batches);
        cJSON_AddNumberToObject(o, "seed", (double)r->seed);
        cJSON_AddNumberToObject(o, "steps", (double)r->steps);
        cJSON_AddNumberToObject(o, "window", r->window);
        cJSON *args = cJSON_AddArrayToObject(o, "train_args");
        for (int a = 0; a < r->n_args; a++) cJSON_AddItemToArray(args, cJSON_CreateString(r->args[a]));
        cJSON_AddItemToArray(runs, o);
    }
    int rc = lm_json_write(path, doc);
    cJSON_Delete(doc);
    return rc;
}

static double num(const cJSON *o, const char *key, int *bad) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) {
        *bad = 1;
        return 0;
    }
    return v->valuedouble;
}

static int str(const cJSON *o, const char *key, char *dst, size_t n, int *bad) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= n) {
        *bad = 1;
        return -1;
    }
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

int lm_exp_plan_load(const char *path, LmExpPlan *p) {
    memset(p, 0, sizeof *p);
    cJSON *doc = lm_json_read(path);
    if (!doc) return -1;
    int bad = 0;
    LmExpSettings *s = &p->set;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "experiment");
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(doc, "scale");
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(doc, "settings");
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(doc, "runs");
    if (!cJSON_IsString(e) || lm_experiment_parse(e->valuestring, &s->exp) != 0 || !cJSON_IsString(sc) ||
        lm_scale_parse(sc->valuestring, &s->scale) != 0 || !cJSON_IsObject(set) || !cJSON_IsArray(runs)) {
        lm_err_set("%s: not an lmrnn experiment plan (experiment, scale, settings or runs missing)", path);
        cJSON_Delete(doc);
        return -1;
    }
    s->seeds = (int)num(set, "seeds", &bad);
    s->hidden = (int)num(set, "hidden", &bad);
    s->batch = (int)num(set, "batch", &bad);
    s->steps = (long)num(set, "steps", &bad);
    s->eval_every = (int)num(set, "eval_every", &bad);
    s->eval_trials = (int)num(set, "eval_trials", &bad);
    s->checkpoint_every = (int)num(set, "checkpoint_every", &bad);
    s->best_d = num(set, "best_d", &bad);
    s->fix_all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(set, "fix_all"));
    const cJSON *pools = cJSON_GetObjectItemCaseSensitive(set, "pool_trials");
    if (cJSON_IsArray(pools)) {
        const cJSON *k;
        cJSON_ArrayForEach(k, pools) {
            if (s->n_pool < 8 && cJSON_IsNumber(k)) s->pool_trials[s->n_pool++] = (long)k->valuedouble;
        }
    }
    int n = cJSON_GetArraySize(runs);
    p->runs = lm_calloc(n > 0 ? (size_t)n : 1, sizeof(LmExpRun));
    const cJSON *o;
    cJSON_ArrayForEach(o, runs) {
        LmExpRun *r = &p->runs[p->n++];
        str(o, "id", r->id, sizeof r->id, &bad);
        str(o, "condition", r->cond, sizeof r->cond, &bad);
        str(o, "label", r->label, sizeof r->label, &bad);
        str(o, "battery", r->battery, sizeof r->battery, &bad);
        str(o, "mask", r->mask, sizeof r->mask, &bad);
        if (cJSON_GetObjectItemCaseSensitive(o, "prune")) str(o, "prune", r->prune, sizeof r->prune, &bad);
        r->d = num(o, "d", &bad);
        r->density = num(o, "density", &bad);
        r->pool_trials = (long)num(o, "pool_trials", &bad);
        r->pool_batches = (long)num(o, "pool_batches", &bad);
        r->seed = (uint64_t)num(o, "seed", &bad);
        r->steps = (long)num(o, "steps", &bad);
        r->window = (int)num(o, "window", &bad);
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, "train_args");
        const cJSON *a;
        if (!cJSON_IsArray(args) || cJSON_GetArraySize(args) > LM_EXP_MAX_ARGS) bad = 1;
        else
            cJSON_ArrayForEach(a, args) {
                if (!cJSON_IsString(a) || strlen(a->valuestring) >= sizeof r->args[0]) {
                    bad = 1;
                    break;
                }
                strcpy(r->args[r->n_args++], a->valuestring);
            }
        if (bad) break;
        /* A run id becomes a directory name: never let a plan escape DIR/runs/. */
        if (!r->id[0] || strchr(r->id, '/') || r->id[0] == '.') bad = 1;
    }
    cJSON_Delete(doc);
    if (bad) {
        lm_err_set("%s: malformed plan (run %d)", path, p->n);
        lm_exp_plan_free(p);
        return -1;
    }
    return 0;
}
