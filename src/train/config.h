/* The configuration of one training run: every option of `lmrnn train`, with the paper's setup as the
 * defaults (docs/model.md §1-5), set from flags or a JSON config file through one setter, and written to
 * the run directory's config.json.
 *
 * Option names are the flag names without the leading dashes; in JSON, '-' and '_' are interchangeable
 * ("sigma-rec" == "sigma_rec"); config.json is written with underscores. */
#ifndef LMRNN_TRAIN_CONFIG_H
#define LMRNN_TRAIN_CONFIG_H
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "eval/eval.h"
#include "model/model.h"
#include "tasks/battery.h"
#include "util/options.h"

#define LM_PATH_MAX 1024

/* Mask search methods (docs/lottery.md). */
typedef enum { LM_PRUNE_NONE = 0, LM_PRUNE_IMP, LM_PRUNE_SET, LM_PRUNE_RIGL, LM_PRUNE_GRANET } LmPruneMethod;
const char *lm_prune_name(LmPruneMethod p);

typedef struct {
    /* data */
    char battery[256];          /* "modcog82" | "yang20" | "modcog126" | comma list */
    char fix[256];              /* task corrections, "none" | "all" | list (lm_fix_parse) */
    /* mask */
    LmMaskKind mask;            /* local2d */
    double d;                   /* 3 */
    double density;             /* 0 = not given (local: overrides d; random: p) */
    double match_density_of;    /* random: p = density of local2d with this d on the grid; 0 = off */
    int grid_nx, grid_ny;       /* 0 = square sqrt(N) x sqrt(N) */
    int periodic;               /* 0 */
    char mask_file[512];        /* LmMaskSpec.file holds 512 */
    /* network */
    int hidden;                 /* 256 */
    LmUpdateRule rule;          /* ngym */
    LmActivation act;           /* relu */
    double alpha;               /* 1 */
    double sigma_rec;           /* 0 */
    LmRecInit init;             /* half-identity */
    double init_gain;           /* 0 = the init's own default (0.5 for half-identity) */
    LmRecPath path;             /* auto */
    /* Dale's law (docs/dale.md) */
    int dale;                   /* 0 */
    double frac_exc;            /* 0.8: excitatory fraction of a seeded assignment */
    char ei_file[512];          /* "" = seeded; else a .npy of N values +1/-1 */
    int dale_readout_exc;       /* 0 = read out every unit ("all"), 1 = excitatory units only ("exc") */
    /* mask search (docs/lottery.md): the configured mask is the region searched */
    LmPruneMethod prune;        /* none */
    double prune_density;       /* target density; 0 = not given */
    double prune_density_of;    /* target = the density of local2d with this d on the grid; 0 = not given */
    int64_t prune_every;        /* steps between mask updates; 0 = the method's default */
    double prune_fraction;      /* IMP p, SET zeta, RigL alpha, GraNet r0; 0 = the method's default */
    double prune_end;           /* fraction of the steps after which masks stay fixed; 0 = default */
    int64_t prune_round_steps;  /* IMP: steps per round; 0 = steps / (rounds + 1) */
    int64_t rewind_step;        /* IMP: rewind to the weights at this step (0 = initialisation) */
    /* optimisation */
    int batch;                  /* 4 */
    int window;                 /* 350 */
    int64_t steps;              /* 40000 */
    double lr;                  /* 1e-3 */
    double clip;                /* 1.0; 0 = no clipping */
    int decision_loss;          /* 0 = loss on all steps ("all"), 1 = decision steps only */
    double fix_weight;          /* 1 */
    int64_t train_pool;         /* 0 = endless stream; K = cycle the first K batches */
    uint64_t seed;              /* 0 */
    int threads;                /* 1 */
    int distribute;             /* 0 = one process; 1 = "sheet": the network split over MPI ranks in strips
                                   of sheet rows (train/sheet.h) */
    /* evaluation and stopping */
    int64_t eval_every;         /* 500; 0 = only at the end */
    int eval_trials;            /* 64 per task */
    LmMetric eval_metric;       /* last_step */
    int eval_noise;             /* 0: evaluation without recurrent noise */
    double target_perf;         /* 0 = none */
    double target_min;          /* 0 = none */
    double time_limit;          /* seconds per invocation; 0 = none */
    /* bookkeeping */
    int64_t checkpoint_every;   /* 500; 0 = only at the end and on a signal */
    int64_t log_every;          /* 50; 0 = no train records */
    char out[LM_PATH_MAX];      /* run directory (required) */
    int no_plot;
    int no_summary;             /* no summary records, no summary.json (docs/analysis.md) */
    int quiet;
} LmTrainConfig;

void lm_train_config_default(LmTrainConfig *c);
/* The options table behind every function below (for commands and plans that parse train options). */
const LmOptTable *lm_train_config_table(void);

/* Set one option from text. `key` is the option name with or without leading dashes, '-' or '_'
 * inside; switches take "true"/"false" (or "1"/"0"). Returns 0; -1 with lm_err_set() naming the option
 * and the value for an unknown key or a bad value. */
int lm_train_config_set(LmTrainConfig *c, const char *key, const char *value);
/* 1 if `key` (same spelling rules) is an option of the configuration. */
int lm_train_config_has(const char *key);
/* 1 if the option is a switch (a flag without a value on the command line). */
int lm_train_config_is_switch(const char *key);
/* 1 if the option does not change the trained weights (schedule, display, stopping): those may be
 * changed when a run is resumed. */
int lm_train_config_is_schedule(const char *key);

/* Apply every member of a JSON object (numbers, strings, booleans) through lm_train_config_set.
 * The keys "derived", "inferred" and "version" of a written config.json are ignored. `what` names the
 * source in messages (a file name). 0 or -1 with lm_err_set(). */
int lm_train_config_apply_json(LmTrainConfig *c, const cJSON *obj, const char *what);
int lm_train_config_load_file(LmTrainConfig *c, const char *path);

/* Cross-option checks (random mask needs a density, grid matches hidden, ...). 0 or -1 + lm_err_set. */
int lm_train_config_validate(const LmTrainConfig *c);

/* Every option as a JSON object (underscore keys). Caller frees with cJSON_Delete. */
cJSON *lm_train_config_to_json(const LmTrainConfig *c);
/* Name of the first option that differs between a and b and changes training results ("" if none);
 * schedule options are ignored. */
const char *lm_train_config_diff(const LmTrainConfig *a, const LmTrainConfig *b);

/* One line per option for --help: name, default, meaning. */
void lm_train_config_print_help(FILE *f);

#endif
