/* lmrnn: the public C API (docs/api.md).
 *
 * One header, plain C types and opaque handles only. Every function that can fail returns an int status
 * (LMRNN_OK = 0, else LMRNN_ERR_ARG for a bad argument or LMRNN_ERR_FAILED for failed work such as a
 * missing or corrupt file) and records a one-line message that lmrnn_last_error() returns; the message
 * is thread-local. No function prints, exits or aborts on bad input (only an exhausted machine or an
 * internal bug ends the process, with a message on stderr).
 *
 * Arrays are row-major and time-major like the command line's .npz files: stream inputs float32
 * [T][B][n_in], labels int32 [T][B]; hidden states [T][B][N], logits [T][B][17]. Every buffer comes with
 * its length in elements, which the call checks against what it will write or read.
 *
 * A handle may be used by one thread at a time; different handles are independent. */
#ifndef LMRNN_H
#define LMRNN_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LMRNN_VERSION_MAJOR 0
#define LMRNN_VERSION_MINOR 2
#define LMRNN_VERSION_PATCH 0
#define LMRNN_VERSION_STR_(a, b, c) #a "." #b "." #c
#define LMRNN_VERSION_STR(a, b, c) LMRNN_VERSION_STR_(a, b, c)
#define LMRNN_VERSION_STRING LMRNN_VERSION_STR(LMRNN_VERSION_MAJOR, LMRNN_VERSION_MINOR, LMRNN_VERSION_PATCH)

#if defined(LMRNN_BUILDING_LIBRARY) && defined(__GNUC__)
#define LMRNN_API __attribute__((visibility("default")))
#else
#define LMRNN_API
#endif

/* ---------------------------------------------------------------- status, version, threads */
enum { LMRNN_OK = 0, LMRNN_ERR_FAILED = -1, LMRNN_ERR_ARG = -2 };

LMRNN_API const char *lmrnn_last_error(void);          /* "" after a success, never NULL */
LMRNN_API const char *lmrnn_version(int *major, int *minor, int *patch);   /* of the library; any may be NULL */
/* Threads of the OpenMP team used by forward passes, training and evaluation (results are bit-identical
 * for a fixed count). n >= 1. */
LMRNN_API int lmrnn_set_threads(int n);
/* The OpenBLAS core that runs (its kernels fix the bits of every dense product), and in *better (if not
 * NULL) the core this CPU should run instead when OpenBLAS fell back to a generic SSE core and
 * OPENBLAS_CORETYPE is unset, else NULL: set OPENBLAS_CORETYPE to it before the library is loaded (the
 * `lmrnn` program starts itself again with it; the Python package sets it before loading). */
LMRNN_API const char *lmrnn_blas_core(const char **better);

/* ---------------------------------------------------------------- tasks and batteries */
#define LMRNN_OBS 33        /* observation columns: fixation, two 16-unit rings */
#define LMRNN_ACTIONS 17    /* labels and outputs: 0 fixate, 1..16 respond at ring direction 0..15 */
#define LMRNN_TMAX 64       /* no single trial is longer (steps of 100 ms) */
#define LMRNN_MAX_PERIODS 5

/* The named batteries ("yang20", "modcog82", "modcog126"): i in [0, lmrnn_battery_count()). */
LMRNN_API int lmrnn_battery_count(void);
LMRNN_API const char *lmrnn_battery_name(int i);        /* NULL outside the range */
/* A battery is a named one or a comma-separated list of task names; its size (number of rule inputs;
 * the model input has LMRNN_OBS + n_tasks columns). */
LMRNN_API int lmrnn_battery_size(const char *battery, int *n_tasks);

typedef struct {
    char name[32];          /* as listed in the battery (an alias stays an alias) */
    char canonical[32];     /* catalogue name */
    int id;                 /* catalogue id (0..125) */
    char family[8];         /* "go", "dm", "match" */
    char group[8];          /* "base", "int", "seq", "intseq" */
    char modifiers[64];     /* "anti,rt", "int-r,seq-l", "" */
    char layout[160];       /* period layout in steps under the corrections, e.g. "fixation 5 | ..." */
} lmrnn_task_info;
/* Task `pos` (0-based rule position) of a battery, with the period layout under `fix` (NULL = none). */
LMRNN_API int lmrnn_battery_task(const char *battery, int pos, const char *fix, lmrnn_task_info *out);

/* Corrections of the reference's quirks ("none", "all", Q-ids or names, comma-separated) -> bit mask. */
LMRNN_API int lmrnn_fix_parse(const char *fix, unsigned *out);

typedef struct {
    int id;                 /* catalogue id */
    int modality;           /* 0/1 (go, match), -1 for DM tasks (both rings) */
    int len;                /* steps */
    int target;             /* response direction before the label mapping, -1 on no-go trials */
    int n_periods;
    char period_name[LMRNN_MAX_PERIODS][12];
    int period_start[LMRNN_MAX_PERIODS], period_end[LMRNN_MAX_PERIODS];   /* end exclusive */
} lmrnn_trial_info;
/* Single trial `index` of task `task` under `seed`: the trial `lmrnn tasks dump --seed S` writes as row
 * `index` of <task>.npz (and `tasks show` draws). ob float32 [LMRNN_TMAX][LMRNN_OBS] and gt int32
 * [LMRNN_TMAX] (n_ob, n_gt elements) get the trial's len steps then zeros. index >= 0. */
LMRNN_API int lmrnn_trial(const char *task, uint64_t seed, int index, const char *fix, float *ob, size_t n_ob,
                          int32_t *gt, size_t n_gt, lmrnn_trial_info *info);

/* ---------------------------------------------------------------- the training stream */
typedef struct lmrnn_stream lmrnn_stream;
/* The stream `lmrnn train` and `lmrnn tasks batch` use: batch rows of back-to-back trials cut into
 * windows of `window` steps. fix NULL = faithful. */
LMRNN_API int lmrnn_stream_create(lmrnn_stream **out, const char *battery, int batch, int window, uint64_t seed,
                                  const char *fix);
LMRNN_API void lmrnn_stream_free(lmrnn_stream *s);                  /* NULL is fine */
LMRNN_API int lmrnn_stream_shape(const lmrnn_stream *s, int *window, int *batch, int *n_in);
/* The next `count` (>= 1) windows back to back: inputs [count][T][B][n_in], labels [count][T][B],
 * decision [count][T][B] (1 in a decision period; may be NULL). */
LMRNN_API int lmrnn_stream_next(lmrnn_stream *s, int count, float *inputs, size_t n_inputs, int32_t *labels,
                                size_t n_labels, uint8_t *decision, size_t n_decision);
LMRNN_API int lmrnn_stream_rewind(lmrnn_stream *s);                 /* back to the first window */
LMRNN_API int64_t lmrnn_stream_trials(const lmrnn_stream *s);       /* trials started, summed over rows */
/* The complete state as bytes (for exact resumption); load rejects a state of another configuration. */
LMRNN_API size_t lmrnn_stream_state_size(const lmrnn_stream *s);
LMRNN_API int lmrnn_stream_save_state(const lmrnn_stream *s, uint8_t *buf, size_t n);
LMRNN_API int lmrnn_stream_load_state(lmrnn_stream *s, const uint8_t *buf, size_t n);

/* ---------------------------------------------------------------- options of a run
 * Models, masks and training take the options of `lmrnn train` (`lmrnn train --help`) as key/value
 * strings: keys[i] = values[i], keys with or without dashes ("hidden", "--mask", "sigma_rec"); switches
 * take "true"/"false". n may be 0 (the paper's defaults). */

typedef struct {
    int n;                  /* units */
    int64_t nnz;            /* allowed connections */
    double density;         /* nnz / n^2 */
    double param;           /* the d used (local masks) or p (random), else 0 */
    char desc[160];         /* e.g. "local2d 16x16 open d=3 density=0.0836" */
} lmrnn_mask_info;
/* The recurrent mask the options describe (mask, d, density, grid, periodic, hidden, seed, ...), as
 * uint8 [n][n] (row = post-synaptic unit) into out (n_out elements; out may be NULL to ask the size). */
LMRNN_API int lmrnn_mask_build(const char *const *keys, const char *const *values, int n, uint8_t *out,
                               size_t n_out, lmrnn_mask_info *info);

/* ---------------------------------------------------------------- models */
typedef struct lmrnn_model lmrnn_model;
typedef struct {
    int n_in, n_hidden, n_out;
    int n_tasks;            /* battery size (n_in = LMRNN_OBS + n_tasks) */
    int64_t n_params;
    int64_t step;           /* optimiser steps behind the weights (0 for a new model) */
    uint64_t seed, eval_seed;   /* the run's seed and its held-out evaluation seed */
    char layout[8];         /* how W_rec is stored: "dense", "band", "csr" */
    char battery[256];
} lmrnn_model_info;
/* A new network as step 0 of the run the options describe (same mask and initial weights). */
LMRNN_API int lmrnn_model_create(lmrnn_model **out, const char *const *keys, const char *const *values, int n);
/* The network of a run directory (DIR/checkpoint.npz) or a checkpoint file, validated. */
LMRNN_API int lmrnn_model_load(lmrnn_model **out, const char *path);
LMRNN_API void lmrnn_model_free(lmrnn_model *m);                    /* NULL is fine */
LMRNN_API int lmrnn_model_info_get(const lmrnn_model *m, lmrnn_model_info *out);
/* The run's configuration as config.json text (options, derived values); need = length + 1. */
LMRNN_API int lmrnn_model_config_json(const lmrnn_model *m, char *buf, size_t n, size_t *need);

/* Named tensors i in [0, 6): W_in [N][n_in], b_in [N], W_rec [N][N] (dense, zeros outside the mask),
 * b_rec [N], W_out [n_out][N], b_out [n_out]. */
#define LMRNN_N_TENSORS 6
LMRNN_API int lmrnn_model_tensor_shape(const lmrnn_model *m, int i, const char **name, int *ndim,
                                       int64_t shape[2]);
LMRNN_API int lmrnn_model_get_tensor(const lmrnn_model *m, int i, float *out, size_t n);
/* W_rec entries outside the mask must be 0. */
LMRNN_API int lmrnn_model_set_tensor(lmrnn_model *m, int i, const float *in, size_t n);
LMRNN_API int lmrnn_model_mask(const lmrnn_model *m, uint8_t *out, size_t n);   /* [N][N] */

/* Forward from h = 0 over inputs [T][B][n_in] (no recurrent noise): hidden [T][B][N] and logits
 * [T][B][n_out]; either may be NULL. */
LMRNN_API int lmrnn_model_forward(lmrnn_model *m, int T, int B, const float *inputs, size_t n_inputs,
                                  float *hidden, size_t n_hidden, float *logits, size_t n_logits);

/* ---------------------------------------------------------------- evaluation */
/* Held-out evaluation as `lmrnn eval`: `trials` trials per task of the model's battery, trial i of task
 * k from its own generator under `seed` (NULL = the run's held-out seed, the trials of its evaluations
 * during training). metric NULL = "last_step". perf and correct get one value per task (n elements
 * each, n >= n_tasks; either may be NULL); mean the unweighted mean. */
LMRNN_API int lmrnn_model_evaluate(lmrnn_model *m, int trials, const uint64_t *seed, const char *metric,
                                   double *perf, int32_t *correct, size_t n, double *mean);
/* Evaluation trial i of the task at rule position pos, as lmrnn_model_evaluate generates it: inputs
 * [LMRNN_TMAX][n_in] (observation and rule one-hot, zero past len) and gt [LMRNN_TMAX]. */
LMRNN_API int lmrnn_model_eval_trial(const lmrnn_model *m, int pos, int i, const uint64_t *seed, float *inputs,
                                     size_t n_inputs, int32_t *gt, size_t n_gt, lmrnn_trial_info *info);

/* ---------------------------------------------------------------- analyses (docs/analysis.md)
 * The analyses of `lmrnn analyze` on a model's held-out evaluation trials (run from h = 0, no recurrent
 * noise). Each returns a result: named arrays with the keys (and dtypes, shapes) of the .npz the command
 * writes, valid until lmrnn_result_free. */
typedef struct lmrnn_result lmrnn_result;
enum { LMRNN_FLOAT32 = 0, LMRNN_FLOAT64 = 1, LMRNN_INT32 = 2, LMRNN_INT64 = 3, LMRNN_UINT8 = 4, LMRNN_TEXT = 5 };
typedef struct {
    const char *name;
    int dtype;              /* LMRNN_FLOAT32 ... LMRNN_TEXT */
    int ndim;               /* 0 for a scalar (one element) */
    int64_t shape[4];
    size_t count;           /* elements (LMRNN_TEXT: bytes, without the terminating NUL) */
    const void *data;       /* row-major; LMRNN_TEXT: NUL-terminated UTF-8 */
} lmrnn_array;
LMRNN_API int lmrnn_result_count(const lmrnn_result *r);
LMRNN_API int lmrnn_result_get(const lmrnn_result *r, int i, lmrnn_array *out);   /* i in [0, count) */
LMRNN_API int lmrnn_result_find(const lmrnn_result *r, const char *name, lmrnn_array *out);
LMRNN_API void lmrnn_result_free(lmrnn_result *r);                 /* NULL is fine */

/* analysis = "states", "summary", "fixedpoints" or "variance", with the options of that subcommand
 * (`lmrnn analyze SUB --help`) as key/value strings: "tasks", "trials", "seed" (default: the run's
 * held-out evaluation seed), fixedpoints "task", "period" (both required), "input_trial", "inits",
 * "noise", "lr", "lr_decay", "patience", "max_iters", "tol_q", "tol_dq", "tol_unique", "outlier",
 * "threads"; variance "method", "kmin", "kmax", "restarts", "active", "pairs". The command line's
 * "out" and "no_plot" are refused. Results:
 *   states       h [K][T][N], inputs, outputs, labels, lengths, task, modality, period_bounds,
 *                rule_column, task_names, period_names
 *   fixedpoints  points float64 [P][N], q [P], eig_re, eig_im [P][N] (by modulus, largest first),
 *                stable uint8 [P], input float64 [n_in] (the constant input u), inits, iterations,
 *                lambda1_abs, q_over_alpha2, pc_*, points_pc, traj_pc, traj_lengths, summary (JSON
 *                text), input_trial (int32 scalar: the trial u was taken from)
 *   variance     task_variance float64 [N][n_tasks], active, units, normalised, labels, order,
 *                cluster_task, k_values, silhouette, ftv_pairs, ftv, ftv_hist, task_names
 *   summary      participation_ratio, dormant_ratio [2] (tau 0, 0.025), effective_rank, stable_rank,
 *                spectral_norm, weight_change [3] (W_rec, W_in, W_out; NaN if unknown),
 *                initial_weights (text), covariance_eigenvalues [N], singular_values [N],
 *                unit_activity [N], distance, connections, mean_abs_w, mean_w, fraction_positive,
 *                abs_mass_within [bins], geometry (text), samples (int64 scalar) */
LMRNN_API int lmrnn_analyze(lmrnn_model *m, const char *analysis, const char *const *keys,
                            const char *const *values, int n, lmrnn_result **out);

/* Lesions: zero the outgoing weights of units (their columns of W_rec and W_out). lmrnn_model_lesion
 * changes the model for good; lmrnn_analyze_lesion evaluates the intact model and, for each group g
 * (0..n_groups-1), the model with the units[k] of group[k] == g lesioned (group NULL: all units form
 * group 0), then restores it. Units are distinct, in [0, N). Options "trials" (64) and "seed".
 * Result: intact float64 [n_tasks] and change [n_groups][n_tasks] (last_step performance),
 * mean_change [n_groups], group_units int32 [n_groups], task_names. */
LMRNN_API int lmrnn_model_lesion(lmrnn_model *m, const int32_t *units, size_t n_units);
LMRNN_API int lmrnn_analyze_lesion(lmrnn_model *m, const int32_t *units, const int32_t *group, size_t n_units,
                                   int n_groups, const char *const *keys, const char *const *values, int n,
                                   lmrnn_result **out);

/* ---------------------------------------------------------------- training */
typedef struct {
    char reason[16];        /* "max_steps", "target", "time_limit", ... as in log.jsonl */
    int64_t step, trials;
    double wall;            /* seconds of training, all sessions */
    double mean, min;       /* performance at the last evaluation (NaN if none) */
} lmrnn_train_result;
/* Train a run into the directory given by the "out" option (required), exactly as `lmrnn train` does
 * (config.json, log.jsonl, checkpoint.npz, eval.json, eval.csv; no plots, nothing printed). Extra
 * keys: "resume" (continue the run in out), "force" (start over in a directory holding a run). */
LMRNN_API int lmrnn_train(const char *const *keys, const char *const *values, int n, lmrnn_train_result *res);

#ifdef __cplusplus
}
#endif
#endif
