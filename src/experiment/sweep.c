/* Plan documents -> runs: validation through the train options table, grid x zip expansion, and the
 * names, labels and mask densities the report needs. */
#include "experiment/sweep.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "experiment/results.h"
#include "io/json.h"
#include "model/model.h"
#include "tasks/tasks.h"
#include "train/config.h"
#include "train/trainer.h"
#include "util/err.h"

/* Keys the sweep itself sets (run directory, output) or takes from its own keys (seeds). */
static const char *const reserved[] = {"out", "resume", "quiet", "no_plot", "seed", "config"};
/* A pseudo-option of plans: the training pool in trials, converted to train_pool batches. */
#define POOL_KEY "pool_trials"

static void normalise(const char *key, char *out, size_t n) {
    while (*key == '-') key++;
    size_t i = 0;
    for (; key[i] && i + 1 < n; i++) out[i] = key[i] == '-' ? '_' : key[i];
    out[i] = '\0';
}

/* ---------------------------------------------------------------- values */

/* JSON value -> option text. 1 for null (= leave the option unset), 0 for a value, -1 on error. */
static int value_text(const cJSON *v, char *out, size_t n, const char *where) {
    if (cJSON_IsNull(v)) return 1;
    int len = -1;
    if (cJSON_IsBool(v)) len = snprintf(out, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsString(v)) len = snprintf(out, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        /* The shortest text that reads back as the same double. */
        for (int digits = 6; digits <= 17; digits++) {
            len = snprintf(out, n, "%.*g", digits, x);
            if (strtod(out, NULL) == x) break;
        }
    } else {
        lm_err_set("%s: expected a number, string, true/false or null", where);
        return -1;
    }
    if (len < 0 || (size_t)len >= n) {
        lm_err_set("%s: value longer than %zu characters", where, n - 1);
        return -1;
    }
    return 0;
}

/* Check one key = value alone (known option, value in range) and name the plan key on error. */
static int check_option(const char *key, const char *text, const char *where) {
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (!strcmp(key, reserved[i])) {
            lm_err_set("%s: '%s' is set by the sweep itself (use \"seeds\" for seeds)", where, key);
            return -1;
        }
    if (!strcmp(key, POOL_KEY)) {
        char *end;
        double k = strtod(text, &end);
        if (*end || !(k >= 0 && k <= 1e12) || k != floor(k)) {
            lm_err_set("%s: pool_trials must be a whole number of trials >= 0 (got '%s')", where, text);
            return -1;
        }
        return 0;
    }
    if (!lm_train_config_has(key)) {
        lm_err_set("%s: unknown option '%s' (see lmrnn train --help)", where, key);
        return -1;
    }
    LmTrainConfig c;
    lm_train_config_default(&c);
    if (lm_train_config_set(&c, key, text) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("%s: %s", where, msg);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- the document */

typedef struct {
    char key[32];
    int n;                   /* values */
    char (*text)[256];
    int *unset;              /* null in the plan */
} Column;

typedef struct {
    LmExpAxis axis;
    int n;                   /* values of the axis (rows) */
    Column cols[LM_EXP_AXIS_KEYS];
} Axis;

typedef struct {
    const char *what;
    int n_base;
    LmExpOption base[LM_EXP_MAX_OPTS];
    int n_axes;
    Axis axes[LM_EXP_MAX_AXES];
    int n_seeds;
    uint64_t seeds[1024];
    unsigned measures;
    char name[64];
} Spec;

static void spec_free(Spec *s) {
    for (int a = 0; a < s->n_axes; a++)
        for (int k = 0; k < s->axes[a].axis.n_keys; k++) {
            free(s->axes[a].cols[k].text);
            free(s->axes[a].cols[k].unset);
        }
}

static int parse_base(Spec *s, const cJSON *base) {
    if (!base) return 0;
    if (!cJSON_IsObject(base)) {
        lm_err_set("%s: base: expected an object of train options", s->what);
        return -1;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, base) {
        char key[32], where[128], text[256];
        normalise(v->string, key, sizeof key);
        snprintf(where, sizeof where, "%s: base.%s", s->what, v->string);
        if (s->n_base == LM_EXP_MAX_OPTS) {
            lm_err_set("%s: more than %d options", where, LM_EXP_MAX_OPTS);
            return -1;
        }
        int rc = value_text(v, text, sizeof text, where);
        if (rc < 0) return -1;
        if (rc == 1) continue;
        if (check_option(key, text, where) != 0) return -1;
        LmExpOption *o = &s->base[s->n_base++];
        snprintf(o->key, sizeof o->key, "%s", key);
        snprintf(o->value, sizeof o->value, "%s", text);
    }
    return 0;
}

/* One key's list of values, under `section` ("grid" or "zip[1]"). */
static int parse_column(Spec *s, const cJSON *list, const char *section, Column *c) {
    char where[160];
    normalise(list->string, c->key, sizeof c->key);
    snprintf(where, sizeof where, "%s: %s.%s", s->what, section, list->string);
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1 || cJSON_GetArraySize(list) > 4096) {
        lm_err_set("%s: expected a list of 1 to 4096 values", where);
        return -1;
    }
    if (!strcmp(c->key, "seeds") || !strcmp(c->key, "steps")) {
        /* steps may vary; seeds may not (they are the innermost loop of every condition). */
        if (!strcmp(c->key, "seeds")) {
            lm_err_set("%s: seeds are the plan's \"seeds\" key, not an axis", where);
            return -1;
        }
    }
    c->n = cJSON_GetArraySize(list);
    c->text = lm_calloc((size_t)c->n, sizeof *c->text);
    c->unset = lm_calloc((size_t)c->n, sizeof *c->unset);
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, list) {
        char w[200];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        int rc = value_text(v, c->text[i], sizeof c->text[i], w);
        if (rc < 0) return -1;
        c->unset[i] = rc == 1;
        if (rc == 0 && check_option(c->key, c->text[i], w) != 0) return -1;
        i++;
    }
    return 0;
}

static Axis *new_axis(Spec *s, const char *where) {
    if (s->n_axes == LM_EXP_MAX_AXES) {
        lm_err_set("%s: more than %d axes", where, LM_EXP_MAX_AXES);
        return NULL;
    }
    Axis *a = &s->axes[s->n_axes++];
    memset(a, 0, sizeof *a);
    return a;
}

static int parse_grid(Spec *s, const cJSON *grid) {
    if (!grid) return 0;
    if (!cJSON_IsObject(grid)) {
        lm_err_set("%s: grid: expected an object {\"option\": [values...]}", s->what);
        return -1;
    }
    const cJSON *list;
    cJSON_ArrayForEach(list, grid) {
        Axis *a = new_axis(s, s->what);
        if (!a) return -1;
        a->axis.n_keys = 1;
        if (parse_column(s, list, "grid", &a->cols[0]) != 0) return -1;
        a->n = a->cols[0].n;
        strcpy(a->axis.keys[0], a->cols[0].key);   /* same size */
        strcpy(a->axis.name, a->cols[0].key);
    }
    return 0;
}

static int parse_zip_group(Spec *s, const cJSON *group, int index) {
    char section[32];
    snprintf(section, sizeof section, index < 0 ? "zip" : "zip[%d]", index);
    if (!cJSON_IsObject(group) || cJSON_GetArraySize(group) < 1) {
        lm_err_set("%s: %s: expected an object {\"option\": [values...], ...}", s->what, section);
        return -1;
    }
    if (cJSON_GetArraySize(group) > LM_EXP_AXIS_KEYS) {
        lm_err_set("%s: %s: at most %d keys in one zip group", s->what, section, LM_EXP_AXIS_KEYS);
        return -1;
    }
    Axis *a = new_axis(s, s->what);
    if (!a) return -1;
    const cJSON *list;
    cJSON_ArrayForEach(list, group) {
        Column *c = &a->cols[a->axis.n_keys++];
        if (parse_column(s, list, section, c) != 0) return -1;
        strcpy(a->axis.keys[a->axis.n_keys - 1], c->key);
        if (a->axis.n_keys == 1) a->n = c->n;
        if (c->n != a->n) {
            lm_err_set("%s: %s.%s: %d values, but %s has %d (zipped lists vary together: same length)", s->what,
                       section, list->string, c->n, a->cols[0].key, a->n);
            return -1;
        }
        /* at most 6 keys of 31 characters + separators: fits the 200 of the name */
        char name[sizeof a->axis.name + sizeof c->key + 2];
        snprintf(name, sizeof name, "%s%s%s", a->axis.name, a->axis.name[0] ? "+" : "", c->key);
        memcpy(a->axis.name, name, sizeof a->axis.name - 1);
        a->axis.name[sizeof a->axis.name - 1] = '\0';
    }
    return 0;
}

static int parse_zip(Spec *s, const cJSON *zip) {
    if (!zip) return 0;
    if (cJSON_IsObject(zip)) return parse_zip_group(s, zip, -1);
    if (!cJSON_IsArray(zip)) {
        lm_err_set("%s: zip: expected an object or a list of objects", s->what);
        return -1;
    }
    int i = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, zip) {
        if (parse_zip_group(s, g, i++) != 0) return -1;
    }
    return 0;
}

static int parse_seeds(Spec *s, const cJSON *seeds, int override) {
    s->n_seeds = 0;
    if (override > 0 || !seeds || cJSON_IsNumber(seeds)) {
        double k = override > 0 ? override : seeds ? seeds->valuedouble : 1;
        if (!(k >= 1 && k <= 1024) || k != floor(k)) {
            lm_err_set("%s: seeds: expected a count 1..1024 or a list of seeds", s->what);
            return -1;
        }
        for (int i = 0; i < (int)k; i++) s->seeds[s->n_seeds++] = (uint64_t)i + 1;
        return 0;
    }
    if (!cJSON_IsArray(seeds) || cJSON_GetArraySize(seeds) < 1 || cJSON_GetArraySize(seeds) > 1024) {
        lm_err_set("%s: seeds: expected a count 1..1024 or a list of 1 to 1024 seeds", s->what);
        return -1;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, seeds) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
            v->valuedouble != floor(v->valuedouble)) {
            lm_err_set("%s: seeds[%d]: expected a whole number >= 0", s->what, s->n_seeds);
            return -1;
        }
        for (int j = 0; j < s->n_seeds; j++)
            if (s->seeds[j] == (uint64_t)v->valuedouble) {
                lm_err_set("%s: seeds[%d]: seed %.0f given twice", s->what, s->n_seeds, v->valuedouble);
                return -1;
            }
        s->seeds[s->n_seeds++] = (uint64_t)v->valuedouble;
    }
    return 0;
}

int lm_measure_parse(const char *name, unsigned *bits) {
    static const char *const kinds[3] = {"steps_to_", "trials_to_", "wall_to_"};
    static const unsigned base[3] = {LM_MEASURE_STEPS, LM_MEASURE_TRIALS, LM_MEASURE_WALL};
    if (!strcmp(name, "final")) *bits |= LM_MEASURE_FINAL;
    else if (!strcmp(name, "auc")) *bits |= LM_MEASURE_AUC;
    else if (!strcmp(name, "groups")) *bits |= LM_MEASURE_GROUPS;
    else if (!strcmp(name, "all")) *bits |= 0xfffu;
    else {
        for (int k = 0; k < 3; k++) {
            size_t n = strlen(kinds[k]);
            if (strncmp(name, kinds[k], n)) continue;
            for (int t = 0; t < LM_N_THRESH; t++) {
                char thr[16];
                snprintf(thr, sizeof thr, "%g", lm_thresholds[t]);
                if (!strcmp(name + n, thr)) {
                    *bits |= base[k] << t;
                    return 0;
                }
            }
        }
        lm_err_set("unknown measure '%s' (final, auc, steps_to_T, trials_to_T, wall_to_T with T = 0.5, 0.8 or 0.9, "
                   "groups, all)", name);
        return -1;
    }
    return 0;
}

static int parse_measures(Spec *s, const cJSON *m) {
    s->measures = 0;
    if (!m) {
        s->measures = LM_MEASURE_DEFAULT;
        return 0;
    }
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) < 1) {
        lm_err_set("%s: measures: expected a non-empty list of measure names", s->what);
        return -1;
    }
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, m) {
        if (!cJSON_IsString(v) || lm_measure_parse(v->valuestring, &s->measures) != 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", cJSON_IsString(v) ? lm_err_msg() : "expected a measure name");
            lm_err_set("%s: measures[%d]: %s", s->what, i, msg);
            return -1;
        }
        i++;
    }
    return 0;
}

static int parse_spec(const cJSON *doc, const char *what, const LmSweepOverrides *ov, Spec *s) {
    memset(s, 0, sizeof *s);
    s->what = what;
    if (!cJSON_IsObject(doc)) {
        lm_err_set("%s: a sweep plan is a JSON object (base, grid, zip, seeds, measures)", what);
        return -1;
    }
    static const char *const known[] = {"name", "description", "base", "grid", "zip", "seeds", "measures"};
    const cJSON *v;
    cJSON_ArrayForEach(v, doc) {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(v->string, known[i])) i++;
        if (i == sizeof known / sizeof known[0]) {
            lm_err_set("%s: unknown plan key '%s' (expected name, description, base, grid, zip, seeds, measures)",
                       what, v->string);
            return -1;
        }
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    if (name && (!cJSON_IsString(name) || strlen(name->valuestring) >= sizeof s->name)) {
        lm_err_set("%s: name: expected a string of at most %zu characters", what, sizeof s->name - 1);
        return -1;
    }
    snprintf(s->name, sizeof s->name, "%s", name ? name->valuestring : "sweep");
    if (parse_base(s, cJSON_GetObjectItemCaseSensitive(doc, "base")) != 0 ||
        parse_grid(s, cJSON_GetObjectItemCaseSensitive(doc, "grid")) != 0 ||
        parse_zip(s, cJSON_GetObjectItemCaseSensitive(doc, "zip")) != 0 ||
        parse_seeds(s, cJSON_GetObjectItemCaseSensitive(doc, "seeds"), ov ? ov->seeds : 0) != 0 ||
        parse_measures(s, cJSON_GetObjectItemCaseSensitive(doc, "measures")) != 0)
        return -1;
    for (int a = 0; a < s->n_axes; a++)
        for (int b = 0; b <= a; b++)
            for (int i = 0; i < s->axes[a].axis.n_keys; i++)
                for (int j = 0; j < s->axes[b].axis.n_keys; j++)
                    if ((a != b || i > j) && !strcmp(s->axes[a].axis.keys[i], s->axes[b].axis.keys[j])) {
                        lm_err_set("%s: option '%s' is on two axes", what, s->axes[a].axis.keys[i]);
                        return -1;
                    }
    if (ov && ov->steps > 0) {
        char text[32];
        snprintf(text, sizeof text, "%ld", ov->steps);
        int i = 0;
        while (i < s->n_base && strcmp(s->base[i].key, "steps")) i++;
        if (i == s->n_base) {
            if (s->n_base == LM_EXP_MAX_OPTS) {
                lm_err_set("%s: more than %d options", what, LM_EXP_MAX_OPTS);
                return -1;
            }
            s->n_base++;
            snprintf(s->base[i].key, sizeof s->base[i].key, "steps");
        }
        snprintf(s->base[i].value, sizeof s->base[i].value, "%s", text);
        for (int a = 0; a < s->n_axes; a++)
            for (int k = 0; k < s->axes[a].axis.n_keys; k++)
                if (!strcmp(s->axes[a].axis.keys[k], "steps")) {
                    lm_err_set("%s: --steps cannot override 'steps', which is an axis of the plan", what);
                    return -1;
                }
    }
    return 0;
}

/* ---------------------------------------------------------------- one condition */

static void set_opt(LmExpOption *opts, int *n, const char *key, const char *value) {
    int i = 0;
    while (i < *n && strcmp(opts[i].key, key)) i++;
    if (value == NULL) {   /* unset: remove */
        if (i < *n) {
            memmove(&opts[i], &opts[i + 1], sizeof *opts * (size_t)(*n - i - 1));
            (*n)--;
        }
        return;
    }
    if (i == *n) {
        LM_ASSERT(*n < LM_EXP_MAX_OPTS);
        (*n)++;
        snprintf(opts[i].key, sizeof opts[i].key, "%s", key);
    }
    snprintf(opts[i].value, sizeof opts[i].value, "%s", value);
}

const char *lm_exp_run_option(const LmExpRun *r, const char *key) {
    for (int i = 0; i < r->n_opts; i++)
        if (!strcmp(r->opts[i].key, key)) return r->opts[i].value;
    return NULL;
}

void lm_exp_axis_value(const LmExpAxis *a, const LmExpRun *r, char *out, size_t n) {
    out[0] = '\0';
    size_t len = 0;
    for (int k = 0; k < a->n_keys && len < n; k++) {
        const char *v = lm_exp_run_option(r, a->keys[k]);
        if (!v && !strcmp(a->keys[k], POOL_KEY) && r->pool_trials > 0) {
            snprintf(out + len, n - len, "%s%ld", k ? ", " : "", r->pool_trials);
        } else
            snprintf(out + len, n - len, "%s%s", k ? ", " : "", v ? v : "-");
        len = strlen(out);
    }
}

/* Keys that the mask part of a condition's name already shows. */
static int named_by_mask(const char *key) {
    static const char *const k[] = {"battery", "window", "mask", "d", "density", "match_density_of", POOL_KEY,
                                    "prune", "prune_density_of", "prune_fraction", "dale"};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(key, k[i])) return 1;
    return 0;
}

static void append_clean(char *dst, size_t n, const char *text) {
    size_t len = strlen(dst);
    for (; *text && len + 1 < n; text++) {
        char c = *text;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                 c == '+' || c == '-';
        dst[len++] = ok ? c : '_';
    }
    dst[len] = '\0';
}

/* cond, label, battery, mask, d, density of a resolved condition (run r, config c). */
static int describe(const Spec *s, const LmTrainConfig *c, LmExpRun *r) {
    /* A random mask's density is its target p (the realised one varies with the seed), so that a
     * density-matched control sits at its local mask's density. */
    LmTrainConfig dc = *c;
    int random_kind = c->mask == LM_MASK_RANDOM || c->mask == LM_MASK_RANDOM_DIAG;
    if (random_kind && c->match_density_of > 0) {
        dc.mask = LM_MASK_LOCAL2D;
        dc.d = c->match_density_of;
        dc.density = 0;
    }
    LmMask m;
    if (lm_train_build_mask(&dc, &m) != 0) return -1;
    r->density = random_kind && !(c->match_density_of > 0) ? c->density : m.density;
    lm_mask_free(&m);
    snprintf(r->mask, sizeof r->mask, "%s", lm_mask_kind_name(c->mask));
    char cond[256] = "", label[256] = "";
    int local = !strcmp(r->mask, "local2d") || !strcmp(r->mask, "local1d");
    int random = !strncmp(r->mask, "random", 6);
    if (local && !(c->density > 0)) {
        r->d = c->d;
        snprintf(cond, sizeof cond, "%s-d%g", r->mask, c->d);
        snprintf(label, sizeof label, "%s d=%g", r->mask, c->d);
    } else if (local) {
        snprintf(cond, sizeof cond, "%s-p%g", r->mask, c->density);
        snprintf(label, sizeof label, "%s p=%.4f", r->mask, r->density);
    } else if (random && c->match_density_of > 0) {
        r->d = c->match_density_of;
        snprintf(cond, sizeof cond, "%s-d%g", r->mask, c->match_density_of);
        snprintf(label, sizeof label, "%s p=%.4f (=d%g)", r->mask, r->density, c->match_density_of);
    } else if (random) {
        snprintf(cond, sizeof cond, "%s-p%g", r->mask, c->density);
        snprintf(label, sizeof label, "%s p=%.4f", r->mask, r->density);
    } else {
        snprintf(cond, sizeof cond, "%s", r->mask);
        snprintf(label, sizeof label, "%s", r->mask);
    }
    const char *prune = lm_exp_run_option(r, "prune");
    const char *prune_of = lm_exp_run_option(r, "prune_density_of");
    if (prune && strcmp(prune, "none")) {
        /* A mask search (lottery): named by the search and the local2d d whose count it reaches. */
        static const char *const names[][2] = {{"imp", "IMP ticket"}, {"set", "SET"}, {"rigl", "RigL"},
                                               {"granet", "GraNet"}};
        const char *nice = prune;
        for (int k = 0; k < 4; k++)
            if (!strcmp(names[k][0], prune)) nice = names[k][1];
        double of = prune_of ? atof(prune_of) : 0;
        snprintf(r->prune, sizeof r->prune, "%s", prune);
        snprintf(cond, sizeof cond, "%s-d%g", prune, of);
        snprintf(label, sizeof label, "%s (=d%g)", nice, of);
        if (of > 0) {
            r->d = of;
            double dens = lm_exp_local2d_density(c->hidden, of);
            if (dens > 0) r->density = dens;
        }
    }
    if (c->dale) {   /* Dale's law: named after the mask it constrains */
        snprintf(cond + strlen(cond), sizeof cond - strlen(cond), "-dale");
        snprintf(label + strlen(label), sizeof label - strlen(label), " Dale");
    }
    if (r->pool_trials > 0) snprintf(cond + strlen(cond), sizeof cond - strlen(cond), "-K%ld", r->pool_trials);
    for (int a = 0; a < s->n_axes; a++)
        for (int k = 0; k < s->axes[a].axis.n_keys; k++) {
            const char *key = s->axes[a].axis.keys[k];
            if (named_by_mask(key)) continue;
            const char *v = lm_exp_run_option(r, key);
            append_clean(cond, sizeof cond, "-");
            append_clean(cond, sizeof cond, key);
            append_clean(cond, sizeof cond, v ? v : "default");
            snprintf(label + strlen(label), sizeof label - strlen(label), " %s=%s", key, v ? v : "default");
        }
    if (strlen(cond) >= sizeof r->cond || strlen(label) >= sizeof r->label) {
        lm_err_set("%s: condition name '%s' is longer than %zu characters (fewer or shorter axes)", s->what, cond,
                   sizeof r->cond - 1);
        return -1;
    }
    memcpy(r->cond, cond, strlen(cond) + 1);
    memcpy(r->label, label, strlen(label) + 1);
    char bat[64] = "";
    append_clean(bat, 40, c->battery);
    snprintf(r->battery, sizeof r->battery, "%s", bat);
    return 0;
}

/* Resolve one combination of axis rows: options, config check, pool conversion, names. */
static int make_condition(const Spec *s, const int *row, LmExpRun *r) {
    memset(r, 0, sizeof *r);
    memcpy(r->opts, s->base, sizeof s->base[0] * (size_t)s->n_base);
    r->n_opts = s->n_base;
    for (int a = 0; a < s->n_axes; a++)
        for (int k = 0; k < s->axes[a].axis.n_keys; k++) {
            const Column *col = &s->axes[a].cols[k];
            set_opt(r->opts, &r->n_opts, col->key, col->unset[row[a]] ? NULL : col->text[row[a]]);
        }
    const char *pool = lm_exp_run_option(r, POOL_KEY);
    r->pool_trials = pool ? atol(pool) : 0;
    LmTrainConfig c;
    lm_train_config_default(&c);
    for (int i = 0; i < r->n_opts; i++)
        if (strcmp(r->opts[i].key, POOL_KEY) && lm_train_config_set(&c, r->opts[i].key, r->opts[i].value) != 0)
            return -1;   /* checked one by one already */
    char where[400] = "";
    for (int a = 0; a < s->n_axes; a++) {
        char v[160];
        lm_exp_axis_value(&s->axes[a].axis, r, v, sizeof v);
        snprintf(where + strlen(where), sizeof where - strlen(where), "%s%s=%s", a ? ", " : "", s->axes[a].axis.name, v);
    }
    snprintf(c.out, sizeof c.out, "DIR/runs/id");   /* set by the runner */
    if (lm_train_config_validate(&c) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("%s: condition %s: %s", s->what, where[0] ? where : "(base)", msg);
        return -1;
    }
    if (r->pool_trials > 0) {
        if (c.train_pool > 0) {
            lm_err_set("%s: condition %s: give pool_trials or train_pool, not both", s->what, where[0] ? where : "(base)");
            return -1;
        }
        unsigned fix = 0;
        if (lm_fix_parse(c.fix, &fix) != 0) return -1;
        r->pool_batches = lm_exp_pool_batches(c.battery, c.batch, c.window, fix, r->pool_trials);
        if (r->pool_batches < 0) return -1;
        char text[32];
        snprintf(text, sizeof text, "%ld", r->pool_batches);
        set_opt(r->opts, &r->n_opts, POOL_KEY, NULL);
        set_opt(r->opts, &r->n_opts, "train_pool", text);
    } else {
        set_opt(r->opts, &r->n_opts, POOL_KEY, NULL);
    }
    r->steps = (long)c.steps;
    r->window = c.window;
    if (describe(s, &c, r) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("%s: condition %s: %s", s->what, where[0] ? where : "(base)", msg);
        return -1;
    }
    return 0;
}

/* Settings of a sweep, for the report's header: from the base configuration. */
static void sweep_settings(const Spec *s, LmExpSettings *set) {
    LmTrainConfig c;
    lm_train_config_default(&c);
    for (int i = 0; i < s->n_base; i++)
        if (strcmp(s->base[i].key, POOL_KEY)) lm_train_config_set(&c, s->base[i].key, s->base[i].value);
    memset(set, 0, sizeof *set);
    set->exp = LM_EXP_SWEEP;
    set->seeds = s->n_seeds;
    set->hidden = c.hidden;
    set->batch = c.batch;
    set->steps = (long)c.steps;
    set->eval_every = (int)c.eval_every;
    set->eval_trials = c.eval_trials;
    set->checkpoint_every = (int)c.checkpoint_every;
    set->fix_all = !strcmp(c.fix, "all");
}

static int expand(const Spec *s, LmExpPlan *p) {
    long total = (long)s->n_seeds;
    for (int a = 0; a < s->n_axes; a++) {
        total *= s->axes[a].n;
        if (total > 100000) {
            lm_err_set("%s: more than 100000 runs", s->what);
            return -1;
        }
    }
    p->runs = lm_calloc((size_t)total, sizeof(LmExpRun));
    int row[LM_EXP_MAX_AXES] = {0};
    for (;;) {
        LmExpRun cond;
        if (make_condition(s, row, &cond) != 0) return -1;
        for (int k = 0; k < s->n_seeds; k++) {
            LmExpRun *r = &p->runs[p->n++];
            *r = cond;
            r->seed = s->seeds[k];
            char seed[32];
            snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
            set_opt(r->opts, &r->n_opts, "seed", seed);
            int len = snprintf(r->id, sizeof r->id, "%s-%s-s%s", r->battery, r->cond, seed);
            if (len < 0 || (size_t)len >= sizeof r->id) {
                lm_err_set("%s: run id of condition %s is too long", s->what, r->cond);
                return -1;
            }
            for (int j = 0; j < p->n - 1; j++)
                if (!strcmp(p->runs[j].id, r->id)) {
                    lm_err_set("%s: two runs get the same id %s (axis values that differ only in characters "
                               "a directory name cannot hold?)", s->what, r->id);
                    return -1;
                }
        }
        int a = s->n_axes - 1;   /* the last axis varies fastest */
        while (a >= 0 && ++row[a] == s->axes[a].n) row[a--] = 0;
        if (a < 0) break;
    }
    return 0;
}

int lm_sweep_expand(const cJSON *doc, const char *what, const LmSweepOverrides *ov, LmExpPlan *out) {
    memset(out, 0, sizeof *out);
    Spec *s = lm_calloc(1, sizeof *s);
    int rc = parse_spec(doc, what, ov, s);
    if (!rc) rc = expand(s, out);
    if (!rc) {
        sweep_settings(s, &out->set);
        snprintf(out->name, sizeof out->name, "%s", s->name);
        out->measures = s->measures;
        out->n_axes = s->n_axes;
        for (int a = 0; a < s->n_axes; a++) out->axes[a] = s->axes[a].axis;
    }
    spec_free(s);
    free(s);
    if (rc) lm_exp_plan_free(out);
    return rc;
}

int lm_sweep_load(const char *path, const LmSweepOverrides *ov, LmExpPlan *out) {
    memset(out, 0, sizeof *out);
    cJSON *doc = lm_json_read(path);
    if (!doc) return -1;
    int rc = lm_sweep_expand(doc, path, ov, out);
    cJSON_Delete(doc);
    return rc;
}
