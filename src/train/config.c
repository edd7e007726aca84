/* Run configuration: one table drives flag parsing, config-file loading, config.json output, --help and
 * the resume compatibility check, so an option cannot exist in one of them and be missing in another. */
#include "train/config.h"
#include "train/dale.h"
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "cli/args.h"
#include "io/json.h"
#include "util/err.h"

typedef enum {
    T_STR, T_BATTERY, T_FIX, T_INT, T_I64, T_U64, T_DBL, T_BOOL, T_MASK, T_RULE, T_ACT, T_INIT, T_PATH,
    T_LOSS, T_METRIC, T_GRID, T_READOUT
} OptType;

typedef struct {
    const char *name;    /* underscore spelling */
    OptType type;
    size_t off;
    double min, max;     /* numbers: inclusive range */
    int positive;        /* numbers: must also be > 0 (0 allowed only if min says so) */
    int schedule;        /* does not change the trained weights */
    const char *help;
} Opt;

#define OFF(f) offsetof(LmTrainConfig, f)
static const Opt opts[] = {
    {"battery", T_BATTERY, OFF(battery), 0, 0, 0, 0,
     "task battery: modcog82, yang20, modcog126 or a comma list of task names"},
    {"fix", T_FIX, OFF(fix), 0, 0, 0, 0, "task corrections: none, all, or a comma list (see `lmrnn tasks`)"},
    {"mask", T_MASK, OFF(mask), 0, 0, 0, 0, "connectivity: full, local2d, local1d, random, diag, file"},
    {"d", T_DBL, OFF(d), 0, 1e6, 1, 0, "local masks: connect iff distance < d"},
    {"density", T_DBL, OFF(density), 0, 1, 0, 0,
     "local masks: target density (overrides d); random: connection probability"},
    {"match_density_of", T_DBL, OFF(match_density_of), 0, 1e6, 0, 0,
     "random: use the density of local2d with this d on the same grid"},
    {"grid", T_GRID, 0, 0, 0, 0, 0, "local2d sheet NXxNY (auto = square)"},
    {"periodic", T_BOOL, OFF(periodic), 0, 0, 0, 0, "local masks: torus distances"},
    {"mask_file", T_STR, OFF(mask_file), 0, 0, 0, 0, "file mask: a 0/1 .npy of shape [N, N]"},
    {"hidden", T_INT, OFF(hidden), 1, 16384, 0, 0, "number of recurrent units N"},
    {"rule", T_RULE, OFF(rule), 0, 0, 0, 0, "update rule: ngym or yang"},
    {"act", T_ACT, OFF(act), 0, 0, 0, 0, "activation: relu, softplus, tanh"},
    {"alpha", T_DBL, OFF(alpha), 0, 1, 1, 0, "dt/tau"},
    {"sigma_rec", T_DBL, OFF(sigma_rec), 0, 100, 0, 0, "recurrent noise (training only)"},
    {"init", T_INIT, OFF(init), 0, 0, 0, 0, "W_rec init: half_identity (0.5 I), randortho, gaussian"},
    {"init_gain", T_DBL, OFF(init_gain), 0, 1e3, 0, 0, "W_rec init scale (0 = the init's default)"},
    {"path", T_PATH, OFF(path), 0, 0, 0, 0, "recurrent kernel: auto, dense, sparse"},
    {"dale", T_BOOL, OFF(dale), 0, 0, 0, 0, "Dale's law: each unit excitatory or inhibitory (docs/dale.md)"},
    {"frac_exc", T_DBL, OFF(frac_exc), 0, 1, 0, 0, "Dale: fraction of excitatory units (seeded assignment)"},
    {"ei_file", T_STR, OFF(ei_file), 0, 0, 0, 0, "Dale: E/I per unit from a .npy of N values +1/-1"},
    {"dale_readout", T_READOUT, OFF(dale_readout_exc), 0, 0, 0, 0,
     "Dale: read out all units or exc (excitatory only)"},
    {"batch", T_INT, OFF(batch), 1, 4096, 0, 0, "rows per batch"},
    {"window", T_INT, OFF(window), 1, 100000, 0, 0, "steps per window (BPTT length)"},
    {"steps", T_I64, OFF(steps), 1, 1e12, 0, 1, "optimiser steps in total"},
    {"lr", T_DBL, OFF(lr), 0, 1e3, 1, 0, "Adam learning rate"},
    {"clip", T_DBL, OFF(clip), 0, 1e12, 0, 0, "global gradient-norm clip (0 = none)"},
    {"loss", T_LOSS, OFF(decision_loss), 0, 0, 0, 0, "cross-entropy on all steps or decision steps only"},
    {"fix_weight", T_DBL, OFF(fix_weight), 0, 1e6, 0, 0, "loss weight of fixate (label 0) steps"},
    {"train_pool", T_I64, OFF(train_pool), 0, 1e12, 0, 0,
     "cycle the first K batches of the stream (0 = endless stream)"},
    {"seed", T_U64, OFF(seed), 0, 0, 0, 0, "run seed (init, stream, noise, mask, eval derive from it)"},
    {"threads", T_INT, OFF(threads), 1, 1024, 0, 1, "threads (results are bit-identical per count)"},
    {"eval_every", T_I64, OFF(eval_every), 0, 1e12, 0, 1, "evaluate every K steps (0 = only at the end)"},
    {"eval_trials", T_INT, OFF(eval_trials), 1, 1000000, 0, 1, "held-out trials per task per evaluation"},
    {"eval_metric", T_METRIC, OFF(eval_metric), 0, 0, 0, 1,
     "metric for mean/min/targets: last_step, first_response, ..."},
    {"eval_noise", T_BOOL, OFF(eval_noise), 0, 0, 0, 1, "apply recurrent noise during evaluation"},
    {"target_perf", T_DBL, OFF(target_perf), 0, 1, 0, 1, "stop when mean eval performance >= this (0 = off)"},
    {"target_min", T_DBL, OFF(target_min), 0, 1, 0, 1, "stop when every task's performance >= this (0 = off)"},
    {"time_limit", T_DBL, OFF(time_limit), 0, 1e9, 0, 1, "stop after this many seconds (0 = off)"},
    {"checkpoint_every", T_I64, OFF(checkpoint_every), 0, 1e12, 0, 1,
     "checkpoint every K steps (0 = only at the end)"},
    {"log_every", T_I64, OFF(log_every), 0, 1e12, 0, 1, "train-loss log record every K steps (0 = none)"},
    {"out", T_STR, OFF(out), 0, 0, 0, 1, "run directory (required)"},
    {"no_plot", T_BOOL, OFF(no_plot), 0, 0, 0, 1, "do not draw figures at the end"},
    {"quiet", T_BOOL, OFF(quiet), 0, 0, 0, 1, "no progress output"},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

void lm_train_config_default(LmTrainConfig *c) {
    memset(c, 0, sizeof *c);
    strcpy(c->battery, "modcog82");
    strcpy(c->fix, "none");
    c->mask = LM_MASK_LOCAL2D;
    c->d = 3.0;
    c->hidden = 256;
    c->rule = LM_RULE_NGYM;
    c->act = LM_ACT_RELU;
    c->alpha = 1.0;
    c->init = LM_INIT_HALF_IDENTITY;
    c->path = LM_PATH_AUTO;
    c->frac_exc = 0.8;
    c->batch = 4;
    c->window = 350;
    c->steps = 40000;
    c->lr = 1e-3;
    c->clip = 1.0;
    c->fix_weight = 1.0;
    c->threads = 1;
    c->eval_every = 500;
    c->eval_trials = 64;
    c->eval_metric = LM_METRIC_LAST_STEP;
    c->checkpoint_every = 500;
    c->log_every = 50;
}

/* "--sigma-rec" / "sigma_rec" -> "sigma_rec" */
static void normalise_key(const char *key, char *out, size_t n) {
    while (*key == '-') key++;
    size_t i = 0;
    for (; key[i] && i + 1 < n; i++) out[i] = key[i] == '-' ? '_' : key[i];
    out[i] = '\0';
}

static const Opt *find_opt(const char *key) {
    char k[64];
    normalise_key(key, k, sizeof k);
    for (int i = 0; i < N_OPTS; i++)
        if (!strcmp(opts[i].name, k)) return &opts[i];
    return NULL;
}

int lm_train_config_has(const char *key) { return find_opt(key) != NULL; }

int lm_train_config_is_switch(const char *key) {
    const Opt *o = find_opt(key);
    return o && o->type == T_BOOL;
}

int lm_train_config_is_schedule(const char *key) {
    const Opt *o = find_opt(key);
    return o && o->schedule;
}

static const char *path_name(LmRecPath p) {
    return p == LM_PATH_DENSE ? "dense" : p == LM_PATH_SPARSE ? "sparse" : "auto";
}

static int parse_bool(const char *flag, const char *v, int *out) {
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) *out = 0;
    else {
        lm_err_set("%s: '%s' is not true or false", flag, v);
        return -1;
    }
    return 0;
}

static int parse_grid(const char *flag, const char *v, int *nx, int *ny) {
    if (!strcmp(v, "auto") || !strcmp(v, "0") || !*v) {
        *nx = *ny = 0;
        return 0;
    }
    char *end;
    long a = strtol(v, &end, 10);
    if (end == v || (*end != 'x' && *end != 'X')) goto bad;
    const char *p = end + 1;
    long b = strtol(p, &end, 10);
    if (end == p || *end || a < 1 || b < 1 || a > 16384 || b > 16384) goto bad;
    *nx = (int)a;
    *ny = (int)b;
    return 0;
bad:
    lm_err_set("%s: '%s' is not a grid NXxNY (e.g. 16x16)", flag, v);
    return -1;
}

/* Prefix the current message with the flag (copied first: lm_err_set reuses the buffer). */
static int wrap_err(const char *flag) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", lm_err_msg());
    if (!strncmp(msg, flag, strlen(flag))) return -1;   /* already named */
    lm_err_set("%s: %s", flag, msg);
    return -1;
}

int lm_train_config_set(LmTrainConfig *c, const char *key, const char *value) {
    const Opt *o = find_opt(key);
    char flag[80];
    char k[64];
    normalise_key(key, k, sizeof k);
    if (!o) {
        lm_err_set("unknown option '%s'", key);
        return -1;
    }
    snprintf(flag, sizeof flag, "--%s", o->name);
    for (char *p = flag + 2; *p; p++)
        if (*p == '_') *p = '-';
    char *base = (char *)c;
    void *field = base + o->off;
    switch (o->type) {
    case T_STR: {
        size_t cap = o->off == OFF(out) ? sizeof c->out : sizeof c->mask_file;
        if (strlen(value) >= cap) {
            lm_err_set("%s: value is too long (%zu characters, at most %zu)", flag, strlen(value), cap - 1);
            return -1;
        }
        strcpy((char *)field, value);
        return 0;
    }
    case T_BATTERY: {
        LmBattery b;
        if (strlen(value) >= sizeof c->battery) {
            lm_err_set("%s: value is too long", flag);
            return -1;
        }
        if (lm_battery_parse(value, &b) != 0) {
            return wrap_err(flag);
        }
        strcpy(c->battery, value);
        return 0;
    }
    case T_FIX: {
        unsigned m;
        if (strlen(value) >= sizeof c->fix) {
            lm_err_set("%s: value is too long", flag);
            return -1;
        }
        if (lm_fix_parse(value, &m) != 0) {
            return wrap_err(flag);
        }
        strcpy(c->fix, value);
        return 0;
    }
    case T_INT:
    case T_I64: {
        long v;
        if (lm_parse_long(flag, value, (long)o->min, (long)o->max, &v) != 0) return -1;
        if (o->type == T_INT) *(int *)field = (int)v;
        else *(int64_t *)field = v;
        return 0;
    }
    case T_U64:
        return lm_parse_u64(flag, value, (uint64_t *)field);
    case T_DBL: {
        double v;
        if (lm_parse_double(flag, value, o->min, o->max, &v) != 0) return -1;
        if (o->positive && !(v > 0)) {
            lm_err_set("%s: %g must be greater than 0", flag, v);
            return -1;
        }
        *(double *)field = v;
        return 0;
    }
    case T_BOOL:
        return parse_bool(flag, value, (int *)field);
    case T_MASK:
        if (lm_mask_kind_parse(value, &c->mask) != 0) {
            return wrap_err(flag);
        }
        return 0;
    case T_RULE:
        if (lm_rule_parse(value, &c->rule) != 0) {
            return wrap_err(flag);
        }
        return 0;
    case T_ACT:
        if (lm_act_parse(value, &c->act) != 0) {
            return wrap_err(flag);
        }
        return 0;
    case T_INIT: {
        char v[32]; /* accept "half-identity" for the engine's "half_identity" */
        snprintf(v, sizeof v, "%s", value);
        for (char *q = v; *q; q++)
            if (*q == '-') *q = '_';
        if (lm_init_parse(v, &c->init) != 0) {
            return wrap_err(flag);
        }
        return 0;
    }
    case T_PATH:
        if (!strcmp(value, "auto")) c->path = LM_PATH_AUTO;
        else if (!strcmp(value, "dense")) c->path = LM_PATH_DENSE;
        else if (!strcmp(value, "sparse")) c->path = LM_PATH_SPARSE;
        else {
            lm_err_set("%s: unknown path '%s' (expected auto, dense or sparse)", flag, value);
            return -1;
        }
        return 0;
    case T_LOSS:
        if (!strcmp(value, "all")) c->decision_loss = 0;
        else if (!strcmp(value, "decision")) c->decision_loss = 1;
        else {
            lm_err_set("%s: unknown loss '%s' (expected all or decision)", flag, value);
            return -1;
        }
        return 0;
    case T_METRIC:
        if (lm_metric_parse(value, &c->eval_metric) != 0) {
            return wrap_err(flag);
        }
        return 0;
    case T_GRID:
        return parse_grid(flag, value, &c->grid_nx, &c->grid_ny);
    case T_READOUT:
        if (!strcmp(value, "all")) c->dale_readout_exc = 0;
        else if (!strcmp(value, "exc")) c->dale_readout_exc = 1;
        else {
            lm_err_set("%s: unknown readout '%s' (expected all or exc)", flag, value);
            return -1;
        }
        return 0;
    }
    lm_err_set("%s: internal error (option type)", flag);
    return -1;
}

int lm_train_config_apply_json(LmTrainConfig *c, const cJSON *obj, const char *what) {
    if (!cJSON_IsObject(obj)) {
        lm_err_set("%s: expected a JSON object of options", what);
        return -1;
    }
    for (const cJSON *it = obj->child; it; it = it->next) {
        const char *k = it->string;
        if (!strcmp(k, "derived") || !strcmp(k, "inferred") || !strcmp(k, "version")) continue;
        char text[64];
        const char *v;
        if (cJSON_IsString(it)) {
            v = it->valuestring;
        } else if (cJSON_IsBool(it)) {
            v = cJSON_IsTrue(it) ? "true" : "false";
        } else if (cJSON_IsNumber(it)) {
            double x = it->valuedouble;
            /* Integral values are printed without an exponent so integer options parse. */
            if (x == floor(x) && fabs(x) < 1e15) snprintf(text, sizeof text, "%.0f", x);
            else snprintf(text, sizeof text, "%.17g", x);
            v = text;
        } else if (cJSON_IsNull(it) && find_opt(k) && find_opt(k)->type == T_GRID) {
            v = "auto";
        } else {
            lm_err_set("%s: option '%s' must be a number, string or boolean", what, k);
            return -1;
        }
        if (lm_train_config_set(c, k, v) != 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", lm_err_msg());
            lm_err_set("%s: %s", what, msg);
            return -1;
        }
    }
    return 0;
}

int lm_train_config_load_file(LmTrainConfig *c, const char *path) {
    cJSON *doc = lm_json_read(path);
    if (!doc) return -1;
    int rc = lm_train_config_apply_json(c, doc, path);
    cJSON_Delete(doc);
    return rc;
}

static int is_local(LmMaskKind k) { return k == LM_MASK_LOCAL2D || k == LM_MASK_LOCAL1D; }

int lm_train_config_validate(const LmTrainConfig *c) {
    if (!c->out[0]) {
        lm_err_set("--out DIR is required (the run directory)");
        return -1;
    }
    if (c->mask == LM_MASK_FILE && !c->mask_file[0]) {
        lm_err_set("--mask file needs --mask-file FILE.npy");
        return -1;
    }
    if (c->mask != LM_MASK_FILE && c->mask_file[0]) {
        lm_err_set("--mask-file is only used with --mask file (mask is %s)", lm_mask_kind_name(c->mask));
        return -1;
    }
    if (c->mask == LM_MASK_RANDOM) {
        if (c->density > 0 && c->match_density_of > 0) {
            lm_err_set("--mask random: give --density or --match-density-of, not both");
            return -1;
        }
        if (!(c->density > 0) && !(c->match_density_of > 0)) {
            lm_err_set("--mask random needs --density P or --match-density-of D");
            return -1;
        }
    } else if (c->match_density_of > 0) {
        lm_err_set("--match-density-of is only used with --mask random (mask is %s)",
                   lm_mask_kind_name(c->mask));
        return -1;
    }
    int uses_grid = c->mask == LM_MASK_LOCAL2D || (c->mask == LM_MASK_RANDOM && c->match_density_of > 0);
    if (c->grid_nx && !uses_grid) {
        lm_err_set("--grid is only used by --mask local2d (and random with --match-density-of)");
        return -1;
    }
    if (c->periodic && !uses_grid && !is_local(c->mask)) {
        lm_err_set("--periodic is only used by local masks (mask is %s)", lm_mask_kind_name(c->mask));
        return -1;
    }
    if (uses_grid) {
        if (c->grid_nx) {
            if ((long)c->grid_nx * c->grid_ny != c->hidden) {
                lm_err_set("--grid %dx%d has %ld units but --hidden is %d", c->grid_nx, c->grid_ny,
                           (long)c->grid_nx * c->grid_ny, c->hidden);
                return -1;
            }
        } else {
            int s = (int)lround(sqrt((double)c->hidden));
            if (s * s != c->hidden) {
                lm_err_set("--hidden %d is not a square number: give the sheet with --grid NXxNY", c->hidden);
                return -1;
            }
        }
    }
    if (lm_train_config_validate_dale(c) != 0) return -1;
    if (c->density > 0 && c->density > 1) {
        lm_err_set("--density: %g must be at most 1", c->density);
        return -1;
    }
    return 0;
}

cJSON *lm_train_config_to_json(const LmTrainConfig *c) {
    cJSON *o = cJSON_CreateObject();
    const char *base = (const char *)c;
    for (int i = 0; i < N_OPTS; i++) {
        const Opt *p = &opts[i];
        const void *f = base + p->off;
        switch (p->type) {
        case T_STR:
        case T_BATTERY:
        case T_FIX: cJSON_AddStringToObject(o, p->name, (const char *)f); break;
        case T_INT: cJSON_AddNumberToObject(o, p->name, *(const int *)f); break;
        case T_I64: cJSON_AddNumberToObject(o, p->name, (double)*(const int64_t *)f); break;
        case T_U64: {
            uint64_t v = *(const uint64_t *)f;
            if (v <= (1ull << 53)) {
                cJSON_AddNumberToObject(o, p->name, (double)v);
            } else { /* beyond a double's integers: keep it exact as text */
                char t[32];
                snprintf(t, sizeof t, "%llu", (unsigned long long)v);
                cJSON_AddStringToObject(o, p->name, t);
            }
            break;
        }
        case T_DBL: cJSON_AddNumberToObject(o, p->name, *(const double *)f); break;
        case T_BOOL: cJSON_AddBoolToObject(o, p->name, *(const int *)f); break;
        case T_MASK: cJSON_AddStringToObject(o, p->name, lm_mask_kind_name(c->mask)); break;
        case T_RULE: cJSON_AddStringToObject(o, p->name, lm_rule_name(c->rule)); break;
        case T_ACT: cJSON_AddStringToObject(o, p->name, lm_act_name(c->act)); break;
        case T_INIT: cJSON_AddStringToObject(o, p->name, lm_init_name(c->init)); break;
        case T_PATH: cJSON_AddStringToObject(o, p->name, path_name(c->path)); break;
        case T_LOSS: cJSON_AddStringToObject(o, p->name, c->decision_loss ? "decision" : "all"); break;
        case T_METRIC: cJSON_AddStringToObject(o, p->name, lm_metric_name(c->eval_metric)); break;
        case T_READOUT: cJSON_AddStringToObject(o, p->name, c->dale_readout_exc ? "exc" : "all"); break;
        case T_GRID: {
            char t[48] = "auto";
            if (c->grid_nx) snprintf(t, sizeof t, "%dx%d", c->grid_nx, c->grid_ny);
            cJSON_AddStringToObject(o, p->name, t);
            break;
        }
        }
    }
    return o;
}

static int opt_equal(const Opt *p, const LmTrainConfig *a, const LmTrainConfig *b) {
    const char *fa = (const char *)a + p->off, *fb = (const char *)b + p->off;
    switch (p->type) {
    case T_STR:
    case T_BATTERY:
    case T_FIX: return strcmp(fa, fb) == 0;
    case T_I64: return *(const int64_t *)fa == *(const int64_t *)fb;
    case T_U64: return *(const uint64_t *)fa == *(const uint64_t *)fb;
    case T_DBL: return *(const double *)fa == *(const double *)fb;
    case T_GRID: return a->grid_nx == b->grid_nx && a->grid_ny == b->grid_ny;
    default: return *(const int *)fa == *(const int *)fb; /* ints, booleans and enums */
    }
}

const char *lm_train_config_diff(const LmTrainConfig *a, const LmTrainConfig *b) {
    for (int i = 0; i < N_OPTS; i++)
        if (!opts[i].schedule && !opt_equal(&opts[i], a, b)) return opts[i].name;
    return "";
}

void lm_train_config_print_help(FILE *f) {
    LmTrainConfig def;
    lm_train_config_default(&def);
    cJSON *j = lm_train_config_to_json(&def);
    for (int i = 0; i < N_OPTS; i++) {
        char flag[64], dv[64] = "";
        snprintf(flag, sizeof flag, "--%s", opts[i].name);
        for (char *p = flag + 2; *p; p++)
            if (*p == '_') *p = '-';
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, opts[i].name);
        if (cJSON_IsString(v)) snprintf(dv, sizeof dv, "%s", v->valuestring[0] ? v->valuestring : "-");
        else if (cJSON_IsBool(v)) snprintf(dv, sizeof dv, "%s", cJSON_IsTrue(v) ? "on" : "off");
        else if (cJSON_IsNumber(v)) snprintf(dv, sizeof dv, "%g", v->valuedouble);
        fprintf(f, "  %-20s %-10s %s\n", flag, dv, opts[i].help);
    }
    cJSON_Delete(j);
}
