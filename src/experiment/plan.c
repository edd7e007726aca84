#include "experiment/plan.h"
#include <math.h>
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
const char *lm_experiment_name(LmExperiment e) { return e == LM_EXP_SWEEP ? "sweep" : exp_names[e]; }

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

void lm_exp_plan_free(LmExpPlan *p) {
    free(p->runs);
    p->runs = NULL;
    p->n = 0;
}

/* ---------------------------------------------------------------- plan.json */

static const char *plan_kind(const LmExpPlan *p) {
    return p->set.exp == LM_EXP_SWEEP ? "sweep" : lm_experiment_name(p->set.exp);
}

static cJSON *run_to_json(const LmExpRun *r) {
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
    cJSON *opts = cJSON_AddObjectToObject(o, "options");
    for (int a = 0; a < r->n_opts; a++) cJSON_AddStringToObject(opts, r->opts[a].key, r->opts[a].value);
    return o;
}

int lm_exp_plan_save(const LmExpPlan *p, const char *path) {
    const LmExpSettings *s = &p->set;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "experiment", plan_kind(p));
    cJSON_AddStringToObject(doc, "name", p->name);
    cJSON_AddStringToObject(doc, "scale", s->exp == LM_EXP_SWEEP ? "-" : lm_scale_name(s->scale));
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
    cJSON_AddNumberToObject(doc, "measures", p->measures);
    cJSON *axes = cJSON_AddArrayToObject(doc, "axes");
    for (int a = 0; a < p->n_axes; a++) {
        cJSON *ax = cJSON_CreateObject();
        cJSON_AddStringToObject(ax, "name", p->axes[a].name);
        cJSON *keys = cJSON_AddArrayToObject(ax, "keys");
        for (int k = 0; k < p->axes[a].n_keys; k++) cJSON_AddItemToArray(keys, cJSON_CreateString(p->axes[a].keys[k]));
        cJSON_AddItemToArray(axes, ax);
    }
    cJSON *runs = cJSON_AddArrayToObject(doc, "runs");
    for (int i = 0; i < p->n; i++) cJSON_AddItemToArray(runs, run_to_json(&p->runs[i]));
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

/* A bounded whole number (plan.json is untrusted input). */
static long whole(const cJSON *o, const char *key, double min, double max, int *bad) {
    double v = num(o, key, bad);
    if (!(v >= min && v <= max) || v != floor(v)) *bad = 1;
    return *bad ? 0 : (long)v;
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

static void load_settings(const cJSON *set, LmExpSettings *s, int *bad) {
    s->seeds = (int)whole(set, "seeds", 0, 1024, bad);
    s->hidden = (int)whole(set, "hidden", 1, 16384, bad);
    s->batch = (int)whole(set, "batch", 1, 4096, bad);
    s->steps = whole(set, "steps", 0, 1e12, bad);
    s->eval_every = (int)whole(set, "eval_every", 0, 1e9, bad);
    s->eval_trials = (int)whole(set, "eval_trials", 0, 1e6, bad);
    s->checkpoint_every = (int)whole(set, "checkpoint_every", 0, 1e9, bad);
    s->best_d = num(set, "best_d", bad);
    s->fix_all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(set, "fix_all"));
    const cJSON *pools = cJSON_GetObjectItemCaseSensitive(set, "pool_trials");
    if (cJSON_IsArray(pools)) {
        const cJSON *k;
        cJSON_ArrayForEach(k, pools) {
            if (!cJSON_IsNumber(k) || !(k->valuedouble >= 0 && k->valuedouble <= 1e12) ||
                k->valuedouble != floor(k->valuedouble))
                *bad = 1;
            else if (s->n_pool < 8)
                s->pool_trials[s->n_pool++] = (long)k->valuedouble;
        }
    }
}

static void load_axes(const cJSON *axes, LmExpPlan *p, int *bad) {
    if (!axes) return;
    if (!cJSON_IsArray(axes) || cJSON_GetArraySize(axes) > LM_EXP_MAX_AXES) {
        *bad = 1;
        return;
    }
    const cJSON *ax;
    cJSON_ArrayForEach(ax, axes) {
        LmExpAxis *a = &p->axes[p->n_axes++];
        str(ax, "name", a->name, sizeof a->name, bad);
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(ax, "keys"), *k;
        if (!cJSON_IsArray(keys) || cJSON_GetArraySize(keys) > LM_EXP_AXIS_KEYS) {
            *bad = 1;
            return;
        }
        cJSON_ArrayForEach(k, keys) {
            if (!cJSON_IsString(k) || strlen(k->valuestring) >= sizeof a->keys[0]) {
                *bad = 1;
                return;
            }
            strcpy(a->keys[a->n_keys++], k->valuestring);
        }
    }
}

static void load_run(const cJSON *o, LmExpRun *r, int *bad) {
    str(o, "id", r->id, sizeof r->id, bad);
    str(o, "condition", r->cond, sizeof r->cond, bad);
    str(o, "label", r->label, sizeof r->label, bad);
    str(o, "battery", r->battery, sizeof r->battery, bad);
    str(o, "mask", r->mask, sizeof r->mask, bad);
    if (cJSON_GetObjectItemCaseSensitive(o, "prune")) str(o, "prune", r->prune, sizeof r->prune, bad);
    r->d = num(o, "d", bad);
    r->density = num(o, "density", bad);
    r->pool_trials = whole(o, "pool_trials", 0, 1e12, bad);
    r->pool_batches = whole(o, "pool_batches", 0, 1e12, bad);
    r->seed = (uint64_t)whole(o, "seed", 0, 9007199254740992.0, bad);
    r->steps = whole(o, "steps", 1, 1e12, bad);
    r->window = (int)whole(o, "window", 1, 100000, bad);
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(o, "options"), *a;
    if (!cJSON_IsObject(opts) || cJSON_GetArraySize(opts) > LM_EXP_MAX_OPTS) {
        *bad = 1;
        return;
    }
    cJSON_ArrayForEach(a, opts) {
        if (!cJSON_IsString(a) || strlen(a->string) >= sizeof r->opts[0].key ||
            strlen(a->valuestring) >= sizeof r->opts[0].value) {
            *bad = 1;
            return;
        }
        strcpy(r->opts[r->n_opts].key, a->string);
        strcpy(r->opts[r->n_opts++].value, a->valuestring);
    }
    /* A run id becomes a directory name: never let a plan escape DIR/runs/. */
    if (!r->id[0] || strchr(r->id, '/') || r->id[0] == '.') *bad = 1;
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
    int sweep = cJSON_IsString(e) && !strcmp(e->valuestring, "sweep");
    if (sweep) s->exp = LM_EXP_SWEEP;
    if (!cJSON_IsString(e) || (!sweep && lm_experiment_parse(e->valuestring, &s->exp) != 0) || !cJSON_IsString(sc) ||
        (!sweep && lm_scale_parse(sc->valuestring, &s->scale) != 0) || !cJSON_IsObject(set) || !cJSON_IsArray(runs)) {
        lm_err_set("%s: not an lmrnn experiment plan (experiment, scale, settings or runs missing)", path);
        cJSON_Delete(doc);
        return -1;
    }
    const cJSON *first = cJSON_GetArrayItem(runs, 0);
    if (first && cJSON_GetObjectItemCaseSensitive(first, "train_args")) {
        lm_err_set("%s: written by an older lmrnn (train_args); re-run the experiment in a new --out", path);
        cJSON_Delete(doc);
        return -1;
    }
    load_settings(set, s, &bad);
    if (!str(doc, "name", p->name, sizeof p->name, &bad) && !sweep && strcmp(p->name, e->valuestring)) bad = 1;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "measures");
    p->measures = cJSON_IsNumber(m) && m->valuedouble >= 0 && m->valuedouble <= 0xfff ? (unsigned)m->valuedouble : 0;
    load_axes(cJSON_GetObjectItemCaseSensitive(doc, "axes"), p, &bad);
    int n = cJSON_GetArraySize(runs);
    if (n > 100000) bad = 1;
    p->runs = lm_calloc(n > 0 ? (size_t)n : 1, sizeof(LmExpRun));
    const cJSON *o;
    if (!bad) cJSON_ArrayForEach(o, runs) {
        load_run(o, &p->runs[p->n++], &bad);
        if (bad) break;
    }
    cJSON_Delete(doc);
    if (bad) {
        lm_err_set("%s: malformed plan (run %d)", path, p->n);
        lm_exp_plan_free(p);
        return -1;
    }
    return 0;
}
