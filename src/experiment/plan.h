/* The paper's experiments (docs/model.md §6, claims C1-C4) as grids of independent training runs.
 *
 * A plan is the list of every run of one experiment at one scale: which mask, battery, training-pool
 * size and seed, and the exact `lmrnn train` options. It is saved as DIR/plan.json so that a resumed or
 * re-reported experiment uses exactly the runs it started with. */
#ifndef LMRNN_EXP_PLAN_H
#define LMRNN_EXP_PLAN_H
#include <stdint.h>
#include <cjson/cJSON.h>

/* LM_EXP_SWEEP: a user's plan file (lmrnn sweep); the others are the built-in experiments, which are
 * plans of the same kind generated from their settings (experiment/builtin.c). */
typedef enum { LM_EXP_AUTAPSE = 0, LM_EXP_SPARSITY, LM_EXP_DATA_EFFICIENCY, LM_EXP_LOTTERY, LM_N_EXPERIMENTS,
               LM_EXP_SWEEP = LM_N_EXPERIMENTS } LmExperiment;
typedef enum { LM_SCALE_TINY = 0, LM_SCALE_QUICK, LM_SCALE_PAPER, LM_N_SCALES } LmExpScale;

int lm_experiment_parse(const char *s, LmExperiment *out);   /* 0 or -1 + lm_err_set */
const char *lm_experiment_name(LmExperiment e);
int lm_scale_parse(const char *s, LmExpScale *out);
const char *lm_scale_name(LmExpScale s);

/* Everything that sets the size of an experiment. lm_exp_settings_default fills the scale's values;
 * the command line may then override seeds, steps and d. */
typedef struct {
    LmExperiment exp;
    LmExpScale scale;
    int seeds;             /* seeds 1..seeds per condition */
    int hidden, batch;
    long steps;            /* optimiser steps per run (every run of the experiment) */
    int eval_every, eval_trials, checkpoint_every;
    unsigned fix_all;      /* pass --fix all to every run */
    /* data-efficiency only */
    double best_d;         /* local2d d of the LM-RNN; 0 = not chosen yet */
    int n_pool;
    long pool_trials[8];   /* K values, in training trials */
} LmExpSettings;

void lm_exp_settings_default(LmExperiment e, LmExpScale s, LmExpSettings *out);
/* Window length used for a battery (yang20: 100 steps, Mod-Cog: 350; tiny scale: 50). */
int lm_exp_window(const LmExpSettings *s, const char *battery);

/* A run's `lmrnn train` options as an option set: option names (underscore spelling, as in the train
 * options table) with their values as text, validated through lm_train_config_set when the plan is
 * built. The runner turns them into flags only when it starts the child. */
#define LM_EXP_MAX_OPTS 48
typedef struct {
    char key[32];
    char value[256];
} LmExpOption;

typedef struct {
    char id[128];          /* run directory name under DIR/runs/, e.g. "modcog82-local2d-d3-s2" */
    char cond[112];        /* condition (everything but the seed), e.g. "local2d-d3", "random-d3", "full" */
    char label[128];       /* human-readable condition, e.g. "local2d d=3" */
    char battery[64];
    char mask[16];         /* full | local2d | random | random_diag | diag | ... */
    char prune[8];         /* lottery: the mask search (imp, set, rigl, granet) over the full matrix; "" = none */
    double d;              /* local2d: the d; random: the local2d d it is density-matched to; else 0 */
    double density;        /* mask density nnz/N^2 (computed with the engine's mask code) */
    long pool_trials;      /* training pool in trials; 0 = unlimited stream */
    long pool_batches;     /* pool_trials converted to --train-pool batches; 0 = unlimited */
    uint64_t seed;
    long steps;
    int window;
    int n_opts;
    LmExpOption opts[LM_EXP_MAX_OPTS];   /* without out/resume/quiet/no_plot */
} LmExpRun;

/* The value of option `key` of a run (underscore spelling), or NULL if the run does not set it. */
const char *lm_exp_run_option(const LmExpRun *r, const char *key);

/* An axis of a sweep: one grid key, or one zip group (several keys varied together). */
#define LM_EXP_MAX_AXES 8
#define LM_EXP_AXIS_KEYS 8
typedef struct {
    char name[200];                         /* "lr", or "mask+d" for a zip group */
    int n_keys;
    char keys[LM_EXP_AXIS_KEYS][32];
} LmExpAxis;

/* Measures a sweep report shows (bit set). */
enum {
    LM_MEASURE_FINAL = 1 << 0, LM_MEASURE_AUC = 1 << 1,
    LM_MEASURE_STEPS = 1 << 2,      /* << threshold index: steps_to_0.5/0.8/0.9 */
    LM_MEASURE_TRIALS = 1 << 5,     /* << threshold index */
    LM_MEASURE_WALL = 1 << 8,       /* << threshold index */
    LM_MEASURE_GROUPS = 1 << 11,    /* final performance per task group */
};
#define LM_MEASURE_DEFAULT (LM_MEASURE_FINAL | LM_MEASURE_AUC | (LM_MEASURE_STEPS << 1) | \
                            (LM_MEASURE_TRIALS << 1) | (LM_MEASURE_WALL << 1))

typedef struct {
    LmExpSettings set;     /* built-in experiments: their settings; sweeps: filled from the base options */
    char name[64];         /* the experiment's or the sweep's name */
    int n_axes;
    LmExpAxis axes[LM_EXP_MAX_AXES];
    unsigned measures;
    int n;
    LmExpRun *runs;
} LmExpPlan;

/* Build a built-in experiment's grid: its plan document (lm_exp_builtin_doc) expanded like any sweep.
 * 0, or -1 with lm_err_set() (e.g. the engine cannot build a mask). */
int lm_exp_plan_build(const LmExpSettings *s, LmExpPlan *out);
/* The plan document (docs/sweeps.md format) of a built-in experiment. Caller frees. NULL + lm_err_set. */
cJSON *lm_exp_builtin_doc(const LmExpSettings *s);
void lm_exp_plan_free(LmExpPlan *p);

/* Density nnz/N^2 of the local2d mask with distance d on the default open sheet of n units, from the
 * engine's own mask code. -1 with lm_err_set() on failure. */
double lm_exp_local2d_density(int n, double d);

/* Convert K training trials into a number of pool batches: the mean number of trials started per batch
 * is measured on the battery's own training stream (seed 0, 64 windows), and the pool holds
 * ceil(K / mean) batches (at least 1). -1 with lm_err_set() on failure. */
long lm_exp_pool_batches(const char *battery, int batch, int window, unsigned fix, long trials);

/* plan.json round trip. */
int lm_exp_plan_save(const LmExpPlan *p, const char *path);
int lm_exp_plan_load(const char *path, LmExpPlan *out);

#endif
