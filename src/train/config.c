/* Run configuration: one table drives flag parsing, config-file loading, config.json output, --help and
 * the resume compatibility check, so an option cannot exist in one of them and be missing in another. */
#include "train/config.h"
#include "train/dale.h"
#include "train/search.h"
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "io/json.h"
#include "util/err.h"
#include "util/options.h"

/* Options whose value is more than a number or a name: validated by the task and model modules. */
static int set_battery(void *obj, const char *v) {
    LmTrainConfig *c = obj;
    LmBattery b;
    if (strlen(v) >= sizeof c->battery) {
        lm_err_set("value is too long");
        return -1;
    }
    if (lm_battery_parse(v, &b) != 0) return -1;
    strcpy(c->battery, v);
    return 0;
}
static void fmt_battery(const void *obj, char *buf, size_t n) { snprintf(buf, n, "%s", ((const LmTrainConfig *)obj)->battery); }

static int set_fix(void *obj, const char *v) {
    LmTrainConfig *c = obj;
    unsigned m;
    if (strlen(v) >= sizeof c->fix) {
        lm_err_set("value is too long");
        return -1;
    }
    if (lm_fix_parse(v, &m) != 0) return -1;
    strcpy(c->fix, v);
    return 0;
}
static void fmt_fix(const void *obj, char *buf, size_t n) { snprintf(buf, n, "%s", ((const LmTrainConfig *)obj)->fix); }

static int set_mask(void *obj, const char *v) { return lm_mask_kind_parse(v, &((LmTrainConfig *)obj)->mask); }
static void fmt_mask(const void *obj, char *buf, size_t n) {
    snprintf(buf, n, "%s", lm_mask_kind_name(((const LmTrainConfig *)obj)->mask));
}
static int set_rule(void *obj, const char *v) { return lm_rule_parse(v, &((LmTrainConfig *)obj)->rule); }
static void fmt_rule(const void *obj, char *buf, size_t n) {
    snprintf(buf, n, "%s", lm_rule_name(((const LmTrainConfig *)obj)->rule));
}
static int set_act(void *obj, const char *v) { return lm_act_parse(v, &((LmTrainConfig *)obj)->act); }
static void fmt_act(const void *obj, char *buf, size_t n) {
    snprintf(buf, n, "%s", lm_act_name(((const LmTrainConfig *)obj)->act));
}
static int set_init(void *obj, const char *value) {
    char v[32]; /* accept "half-identity" for the engine's "half_identity" */
    snprintf(v, sizeof v, "%s", value);
    for (char *q = v; *q; q++)
        if (*q == '-') *q = '_';
    return lm_init_parse(v, &((LmTrainConfig *)obj)->init);
}
static void fmt_init(const void *obj, char *buf, size_t n) {
    snprintf(buf, n, "%s", lm_init_name(((const LmTrainConfig *)obj)->init));
}
static int set_metric(void *obj, const char *v) { return lm_metric_parse(v, &((LmTrainConfig *)obj)->eval_metric); }
static void fmt_metric(const void *obj, char *buf, size_t n) {
    snprintf(buf, n, "%s", lm_metric_name(((const LmTrainConfig *)obj)->eval_metric));
}

static int set_grid(void *obj, const char *v) {
    LmTrainConfig *c = obj;
    if (!strcmp(v, "auto") || !strcmp(v, "0") || !*v) {
        c->grid_nx = c->grid_ny = 0;
        return 0;
    }
    char *end;
    long a = strtol(v, &end, 10);
    if (end == v || (*end != 'x' && *end != 'X')) goto bad;
    const char *p = end + 1;
    long b = strtol(p, &end, 10);
    if (end == p || *end || a < 1 || b < 1 || a > 16384 || b > 16384) goto bad;
    c->grid_nx = (int)a;
    c->grid_ny = (int)b;
    return 0;
bad:
    lm_err_set("'%s' is not a grid NXxNY (e.g. 16x16)", v);
    return -1;
}
static void fmt_grid(const void *obj, char *buf, size_t n) {
    const LmTrainConfig *c = obj;
    if (c->grid_nx) snprintf(buf, n, "%dx%d", c->grid_nx, c->grid_ny);
    else snprintf(buf, n, "auto");
}

static const char *const path_names[] = {"auto", "dense", "sparse", NULL};
static const int path_values[] = {LM_PATH_AUTO, LM_PATH_DENSE, LM_PATH_SPARSE};
static const char *const loss_names[] = {"all", "decision", NULL};
static const char *const readout_names[] = {"all", "exc", NULL};
static const char *const prune_names[] = {"none", "imp", "set", "rigl", "granet", NULL};
const char *lm_prune_name(LmPruneMethod p) { return (unsigned)p < 5 ? prune_names[p] : "?"; }
static const char *const distribute_names[] = {"none", "sheet", NULL};

#define SCHEDULE 1u /* LmOption.user: the option does not change the trained weights */
#define OFF(f) offsetof(LmTrainConfig, f)
#define NUM(name, type, field, lo, hi, flags, def, sched, help) \
    {name, type, OFF(field), 0, lo, hi, flags, def, help, NULL, NULL, NULL, NULL, sched}
#define STR(name, field, def, sched, help) \
    {name, LM_OPT_STRING, OFF(field), sizeof(((LmTrainConfig *)0)->field), 0, 0, 0, def, help, NULL, NULL, NULL, NULL, sched}
#define CUSTOM(name, fn, def, sched, help) \
    {name, LM_OPT_CUSTOM, 0, 0, 0, 0, 0, def, help, NULL, NULL, set_##fn, fmt_##fn, sched}
#define ENUM(name, field, names, values, def, help) \
    {name, LM_OPT_ENUM, OFF(field), 0, 0, 0, 0, def, help, names, values, NULL, NULL, 0}
#define BOOL(name, field, sched, help) NUM(name, LM_OPT_BOOL, field, 0, 0, 0, "false", sched, help)
static const LmOption opts[] = {
    CUSTOM("battery", battery, "modcog82", 0, "task battery: modcog82, yang20, modcog126 or a comma list of task names"),
    CUSTOM("fix", fix, "none", 0, "task corrections: none, all, or a comma list (see `lmrnn tasks`)"),
    CUSTOM("mask", mask, "local2d", 0, "connectivity: full, local2d, local1d, random, random_diag (diagonal kept), diag, file"),
    NUM("d", LM_OPT_DOUBLE, d, 0, 1e6, LM_OPT_POSITIVE, "3", 0, "local masks: connect iff distance < d"),
    NUM("density", LM_OPT_DOUBLE, density, 0, 1, 0, "0", 0,
        "local masks: target density (overrides d); random: connection probability"),
    NUM("match_density_of", LM_OPT_DOUBLE, match_density_of, 0, 1e6, 0, "0", 0,
        "random: use the density of local2d with this d on the same grid"),
    CUSTOM("grid", grid, "auto", 0, "local2d sheet NXxNY (auto = square)"),
    BOOL("periodic", periodic, 0, "local masks: torus distances"),
    STR("mask_file", mask_file, "", 0, "file mask: a 0/1 .npy of shape [N, N]"),
    NUM("hidden", LM_OPT_INT, hidden, 1, 4194304, 0, "256", 0, "number of recurrent units N (bounded by the memory estimate)"),
    CUSTOM("rule", rule, "ngym", 0, "update rule: ngym or yang"),
    CUSTOM("act", act, "relu", 0, "activation: relu, softplus, tanh"),
    NUM("alpha", LM_OPT_DOUBLE, alpha, 0, 1, LM_OPT_POSITIVE, "1", 0, "dt/tau"),
    NUM("sigma_rec", LM_OPT_DOUBLE, sigma_rec, 0, 100, 0, "0", 0, "recurrent noise (training only)"),
    CUSTOM("init", init, "half_identity", 0, "W_rec init: half_identity (0.5 I), randortho, gaussian, gaussian_fanin, randortho_fanin"),
    NUM("init_gain", LM_OPT_DOUBLE, init_gain, 0, 1e3, 0, "0", 0, "W_rec init scale (0 = the init's default)"),
    ENUM("path", path, path_names, path_values, "auto", "recurrent kernel: auto, dense, sparse"),
    BOOL("dale", dale, 0, "Dale's law: each unit excitatory or inhibitory (docs/dale.md)"),
    NUM("frac_exc", LM_OPT_DOUBLE, frac_exc, 0, 1, 0, "0.8", 0, "Dale: fraction of excitatory units (seeded assignment)"),
    STR("ei_file", ei_file, "", 0, "Dale: E/I per unit from a .npy of N values +1/-1"),
    ENUM("dale_readout", dale_readout_exc, readout_names, NULL, "all", "Dale: read out all units or exc (excitatory only)"),
    ENUM("prune", prune, prune_names, NULL, "none",
         "mask search: none, imp (lottery ticket), set, rigl, granet (docs/lottery.md)"),
    NUM("prune_density", LM_OPT_DOUBLE, prune_density, 0, 1, 0, "0", 0, "mask search: target density in (0, 1]"),
    NUM("prune_density_of", LM_OPT_DOUBLE, prune_density_of, 0, 1e6, 0, "0", 0,
        "mask search: target = density of local2d with this d"),
    NUM("prune_every", LM_OPT_INT64, prune_every, 0, 1e12, 0, "0", 0,
        "mask search: steps between updates (0 = set 1000, rigl/granet 100)"),
    NUM("prune_fraction", LM_OPT_DOUBLE, prune_fraction, 0, 1, 0, "0", 0,
        "imp p / set zeta / rigl alpha / granet r0 (0 = 0.2/0.3/0.3/0.5)"),
    NUM("prune_end", LM_OPT_DOUBLE, prune_end, 0, 1, 0, "0", 0,
        "mask search: masks fixed after this fraction of steps (0 = set 1, rigl/granet 0.75)"),
    NUM("prune_round_steps", LM_OPT_INT64, prune_round_steps, 0, 1e12, 0, "0", 0,
        "imp: steps per round (0 = steps / (rounds + 1))"),
    NUM("rewind_step", LM_OPT_INT64, rewind_step, 0, 1e12, 0, "0", 0,
        "imp: rewind to the weights at this step (0 = init)"),
    NUM("batch", LM_OPT_INT, batch, 1, 4096, 0, "4", 0, "rows per batch"),
    NUM("window", LM_OPT_INT, window, 1, 100000, 0, "350", 0, "steps per window (BPTT length)"),
    NUM("steps", LM_OPT_INT64, steps, 1, 1e12, 0, "40000", SCHEDULE, "optimiser steps in total"),
    NUM("lr", LM_OPT_DOUBLE, lr, 0, 1e3, LM_OPT_POSITIVE, "1e-3", 0, "Adam learning rate"),
    NUM("clip", LM_OPT_DOUBLE, clip, 0, 1e12, 0, "1", 0, "global gradient-norm clip (0 = none)"),
    ENUM("loss", decision_loss, loss_names, NULL, "all", "cross-entropy on all steps or decision steps only"),
    NUM("fix_weight", LM_OPT_DOUBLE, fix_weight, 0, 1e6, 0, "1", 0, "loss weight of fixate (label 0) steps"),
    NUM("train_pool", LM_OPT_INT64, train_pool, 0, 1e12, 0, "0", 0,
        "cycle the first K batches of the stream (0 = endless stream)"),
    NUM("seed", LM_OPT_UINT64, seed, 0, 0, 0, "0", 0, "run seed (init, stream, noise, mask, eval derive from it)"),
    NUM("threads", LM_OPT_INT, threads, 1, 1024, 0, "1", SCHEDULE, "threads (results are bit-identical per count)"),
    {"distribute", LM_OPT_ENUM, OFF(distribute), 0, 0, 0, 0, "none",
     "none, or sheet: one network split over the ranks of `mpirun -np K lmrnn-mpi train` (docs/performance.md)",
     distribute_names, NULL, NULL, NULL, SCHEDULE},
    NUM("eval_every", LM_OPT_INT64, eval_every, 0, 1e12, 0, "500", SCHEDULE,
        "evaluate every K steps (0 = only at the end)"),
    NUM("eval_trials", LM_OPT_INT, eval_trials, 1, 1000000, 0, "64", SCHEDULE,
        "held-out trials per task per evaluation"),
    CUSTOM("eval_metric", metric, "last_step", SCHEDULE, "metric for mean/min/targets: last_step, first_response, ..."),
    BOOL("eval_noise", eval_noise, SCHEDULE, "apply recurrent noise during evaluation"),
    NUM("target_perf", LM_OPT_DOUBLE, target_perf, 0, 1, 0, "0", SCHEDULE,
        "stop when mean eval performance >= this (0 = off)"),
    NUM("target_min", LM_OPT_DOUBLE, target_min, 0, 1, 0, "0", SCHEDULE,
        "stop when every task's performance >= this (0 = off)"),
    NUM("time_limit", LM_OPT_DOUBLE, time_limit, 0, 1e9, 0, "0", SCHEDULE, "stop after this many seconds (0 = off)"),
    NUM("checkpoint_every", LM_OPT_INT64, checkpoint_every, 0, 1e12, 0, "500", SCHEDULE,
        "checkpoint every K steps (0 = only at the end)"),
    NUM("log_every", LM_OPT_INT64, log_every, 0, 1e12, 0, "50", SCHEDULE,
        "train-loss log record every K steps (0 = none)"),
    STR("out", out, "", SCHEDULE, "run directory (required)"),
    BOOL("no_plot", no_plot, SCHEDULE, "do not draw figures at the end"),
    BOOL("no_summary", no_summary, SCHEDULE,
         "no training summary (summary records after each evaluation, summary.json at the end; at N = 65536 "
         "each costs minutes)"),
    BOOL("quiet", quiet, SCHEDULE, "no progress output"),
};
static const LmOptTable table = {"train", opts, LM_OPTS_COUNT(opts)};

const LmOptTable *lm_train_config_table(void) { return &table; }

void lm_train_config_default(LmTrainConfig *c) {
    memset(c, 0, sizeof *c);
    lm_opts_defaults(&table, c);
}

int lm_train_config_has(const char *key) { return lm_opts_find(&table, key) != NULL; }

int lm_train_config_is_switch(const char *key) {
    const LmOption *o = lm_opts_find(&table, key);
    return o && o->type == LM_OPT_BOOL;
}

int lm_train_config_is_schedule(const char *key) {
    const LmOption *o = lm_opts_find(&table, key);
    return o && (o->user & SCHEDULE);
}

int lm_train_config_set(LmTrainConfig *c, const char *key, const char *value) {
    return lm_opts_set(&table, c, key, value);
}

int lm_train_config_apply_json(LmTrainConfig *c, const cJSON *obj, const char *what) {
    static const char *const written_not_options[] = {"derived", "inferred", "version", NULL};
    return lm_opts_apply_json(&table, c, obj, what, written_not_options);
}

int lm_train_config_load_file(LmTrainConfig *c, const char *path) {
    cJSON *doc = lm_json_read(path);
    if (!doc) return -1;
    int rc = lm_train_config_apply_json(c, doc, path);
    cJSON_Delete(doc);
    return rc;
}

static int is_local(LmMaskKind k) { return k == LM_MASK_LOCAL2D || k == LM_MASK_LOCAL1D; }

/* What a network split into strips supports (train/sheet.c): masks whose connections stay near the
 * diagonal of the unit order (open local masks, diag), the sparse path, one thread per rank. */
static int validate_distribute(const LmTrainConfig *c) {
    const char *why = NULL;
    if (c->mask != LM_MASK_LOCAL2D && c->mask != LM_MASK_LOCAL1D && c->mask != LM_MASK_DIAG)
        why = "only local2d, local1d and diag masks are split (every other mask connects the whole network)";
    else if (c->periodic) why = "--periodic sheets are not split (their halo wraps around)";
    else if (c->path == LM_PATH_DENSE) why = "--path dense is not split (the strips use the sparse path)";
    else if (c->sigma_rec > 0) why = "--sigma-rec > 0 is not supported yet";
    else if (c->dale) why = "--dale is not supported";
    else if (c->prune != LM_PRUNE_NONE) why = "--prune (mask search) is not supported";
    else if (c->threads != 1) why = "one thread per rank: use more ranks instead of --threads";
    if (!why) return 0;
    lm_err_set("--distribute sheet: %s", why);
    return -1;
}

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
    int random = c->mask == LM_MASK_RANDOM || c->mask == LM_MASK_RANDOM_DIAG;
    if (random) {
        if (c->density > 0 && c->match_density_of > 0) {
            lm_err_set("--mask %s: give --density or --match-density-of, not both", lm_mask_kind_name(c->mask));
            return -1;
        }
        if (!(c->density > 0) && !(c->match_density_of > 0)) {
            lm_err_set("--mask %s needs --density P or --match-density-of D", lm_mask_kind_name(c->mask));
            return -1;
        }
    } else if (c->match_density_of > 0) {
        lm_err_set("--match-density-of is only used with --mask random (mask is %s)",
                   lm_mask_kind_name(c->mask));
        return -1;
    }
    int uses_grid = c->mask == LM_MASK_LOCAL2D || (random && c->match_density_of > 0);
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
    if (lm_train_config_validate_dale(c) != 0 || lm_train_config_validate_search(c) != 0) return -1;
    if (c->distribute && validate_distribute(c) != 0) return -1;
    if (c->density > 0 && c->density > 1) {
        lm_err_set("--density: %g must be at most 1", c->density);
        return -1;
    }
    return 0;
}

cJSON *lm_train_config_to_json(const LmTrainConfig *c) { return lm_opts_to_json(&table, c); }

const char *lm_train_config_diff(const LmTrainConfig *a, const LmTrainConfig *b) {
    for (int i = 0; i < table.n; i++)
        if (!(opts[i].user & SCHEDULE) && !lm_opts_equal(&opts[i], a, b)) return opts[i].name;
    return "";
}

void lm_train_config_print_help(FILE *f) { lm_opts_print_help(f, &table); }
