/* Looking inside a trained network (docs/analysis.md): hidden-state trajectories, fixed and slow points,
 * task variance and clusters, lesions, dimensionality and connectivity summaries. Each analysis lives in
 * its own file; they share the network handle below and the linear algebra of linalg.c (LAPACK for
 * every eigen-decomposition and SVD, OpenBLAS for the products).
 *
 * Every trial here is a held-out evaluation trial (eval/eval.h: lm_eval_trial), run from h = 0 with
 * recurrent noise off, through the evaluation's own forward pass (lm_eval_forward). */
#ifndef LMRNN_ANALYSIS_H
#define LMRNN_ANALYSIS_H
#include <stdint.h>
#include <cjson/cJSON.h>
#include "io/arrays.h"
#include "model/model.h"
#include "tasks/battery.h"
#include "train/memory.h"

/* A trained network as the analyses see it. */
typedef struct {
    LmModel *model;
    const LmBattery *battery;   /* the training battery: task k has rule column 33 + k */
    const LmTaskEnv *env;       /* construction-time task state of the training stream */
    uint64_t seed;              /* trial seed (the run's held-out evaluation seed by default) */
} LmNet;

/* ---------------------------------------------------------------- states.c (spec §1) */
#define LM_N_PERIOD_NAMES 8
extern const char *const lm_period_names[LM_N_PERIOD_NAMES];   /* fixation, stimulus, delay, ... */
int lm_period_index(const char *name);                          /* -1 if not a period name */

typedef struct {
    int K, T, N, n_in, n_out;   /* trials, padded steps, units, inputs, outputs */
    int n_tasks;
    int task_pos[LM_MAX_BATTERY];      /* battery position (rule column) of each analysed task */
    float *h;                   /* [K][T][N] hidden states (zero past a trial's length) */
    float *x;                   /* [K][T][n_in] inputs */
    float *y;                   /* [K][T][n_out] output logits */
    int32_t *gt;                /* [K][T] labels */
    int32_t *len;               /* [K] steps */
    int32_t *task;              /* [K] index into task_pos (0..n_tasks-1) */
    int32_t *modality;          /* [K] 0/1 (go, match), -1 (DM) */
    int32_t *bounds;            /* [K][LM_N_PERIOD_NAMES][2] start, end (exclusive); -1, -1 if absent */
} LmStates;

/* Refuse to collect more than this many bytes of trajectories (h + x + y). */
#define LM_STATES_MAX_BYTES ((size_t)4 << 30)
/* `trials` held-out trials of each of the n_tasks battery positions pos[]. 0, or -1 + lm_err_set. */
int lm_states_collect(const LmNet *net, const int *pos, int n_tasks, int trials, LmStates *out);
void lm_states_free(LmStates *s);
/* The arrays of the .npz with the keys of docs/analysis.md (h, inputs, outputs, labels, lengths, ...);
 * caller frees. lm_states_write writes them. */
LmArrays *lm_states_arrays(const LmStates *s, const LmBattery *battery);
int lm_states_write(const LmStates *s, const LmBattery *battery, const char *path);
/* Parse a comma-separated task list (or "all") into battery positions. 0 or -1 + lm_err_set. */
int lm_tasks_positions(const LmBattery *battery, const char *list, int *pos, int *n);

/* ---------------------------------------------------------------- linalg.c */
/* Eigenvalues (ascending) of the symmetric n x n matrix a (row-major, destroyed). LAPACK dsyev. */
int lm_sym_eigvals(int n, double *a, double *w);
/* The same with eigenvectors: on return row k of a... column-major: a[j * n + i] = component i of
 * eigenvector j (ascending eigenvalues). LAPACK dsyev. */
int lm_sym_eig(int n, double *a, double *w);
/* Eigenvalues of the general n x n matrix a (row-major, destroyed), sorted by modulus, largest first.
 * LAPACK dgeev. */
int lm_eigvals(int n, double *a, double *re, double *im);
/* Singular values (descending) of the rows x cols matrix a (row-major, destroyed). LAPACK dgesdd. */
int lm_singular_values(int rows, int cols, double *a, double *s);
/* Covariance [n][n] of the rows of X (n_rows x n, float) about their mean (written to mean[n]);
 * divides by n_rows - 1 (n_rows >= 2). */
void lm_covariance(const float *X, int64_t n_rows, int n, double *mean, double *cov);
/* Participation ratio (sum l)^2 / sum l^2 of the eigenvalues (negatives, round-off, count as 0). */
double lm_participation_ratio(const double *eig, int n);

/* Principal components of the rows of X: mean[n], axes[k][n] (unit vectors, largest variance first),
 * var[k] (their variances), eig_all[n] (every covariance eigenvalue, descending; may be NULL). */
int lm_pca(const float *X, int64_t n_rows, int n, int k, double *mean, double *axes, double *var,
           double *eig_all);

/* The rows (trial, step < length) of a states' h as one [rows][N] matrix; *rows set. Caller frees. */
float *lm_states_rows(const LmStates *s, int64_t *rows);

/* ---------------------------------------------------------------- summary.c (spec §4) */
#define LM_SUMMARY_MAX_BINS 64
typedef struct {
    int N;
    int64_t n_samples;          /* hidden-state vectors (trial steps) used */
    double pr;                  /* participation ratio of their covariance */
    double *cov_eig;            /* [N] covariance eigenvalues, descending */
    double tau[2], dormant[2];  /* dormant-unit ratio at tau = 0 and 0.025 */
    double *activity;           /* [N] mean |h_i| over the samples */
    double erank, srank;        /* effective (Roy & Vetterli) and stable rank of W_rec */
    double *sv;                 /* [N] singular values of W_rec, descending */
    double change[3];           /* ||W - W(0)||_F / ||W(0)||_F for W_rec, W_in, W_out; NaN if unknown */
    const char *init_source;    /* "init.npz", "reconstructed from the run's seed", or NULL */
    /* |w| against sheet distance over the mask's connections, integer bins (round(dist)) */
    int n_bins;
    double bin_count[LM_SUMMARY_MAX_BINS], bin_abs[LM_SUMMARY_MAX_BINS], bin_mean[LM_SUMMARY_MAX_BINS];
    double bin_pos[LM_SUMMARY_MAX_BINS], mass_within[LM_SUMMARY_MAX_BINS];
    char geometry[64];          /* "open 16x16 sheet", "ring of 256", ... */
    /* how the measures were obtained (lm_summary_of_net; lm_summary_compute fills them too) */
    int trials;                 /* per task */
    int dense;                  /* N <= dense_max_n: every measure computed densely */
    int64_t pr_rows;            /* rows behind the participation ratio (all, or the sample) */
    double sv1;                 /* spectral norm of W_rec (SVD or power iteration) */
    int power_iters;            /* iterations of the power iteration (0: from the SVD) */
    double power_rel;           /* its last relative change */
    int n_skipped;              /* measures not computed: NaN / NULL */
    const char *skipped[4];
    char skipped_why[4][200];
} LmSummary;

/* Geometry for distances: units on an nx x ny sheet (unit i at (i mod nx, i div nx)), torus distances
 * when periodic. A ring of N is nx = N, ny = 1, periodic = 1. */
typedef struct { int nx, ny, periodic; } LmSheet;
double lm_sheet_distance(const LmSheet *g, int i, int j);

/* init: the initial W_rec, W_in, W_out (any may be NULL: change NaN), dense. Uses every row of s, with
 * the default options below (dense measures up to LM_SUMMARY_DENSE_MAX_N units). */
int lm_summary_compute(const LmStates *s, const LmModel *m, const float *const init[3], const LmSheet *g,
                       LmSummary *out);
void lm_summary_free(LmSummary *s);
cJSON *lm_summary_json(const LmSummary *s);
int lm_summary_figure(const LmSummary *s, const char *path);

/* The summary at any N (docs/analysis.md, "summary at any size"). Up to dense_max_n units: the
 * covariance of every hidden-state row and its eigenvalues (LAPACK dsyev), every singular value of
 * W_rec (dgesdd). Above: the participation ratio of a uniform seeded sample of at most sample_rows rows
 * (exact when the sample holds every row), the spectral norm by power iteration on the sparse W_rec, and
 * the measures that need a full spectrum (effective rank, the spectra) skipped: NaN / NULL, named with
 * the reason in `skipped`. */
/* LM_SUMMARY_DENSE_MAX_N: in train/memory.h, whose estimate counts the dense summary's transient. */
#define LM_SUMMARY_CHUNK_BYTES ((size_t)256 << 20)    /* trajectories held at once (one task's trials) */
#define LM_SUMMARY_SAMPLE_BYTES ((size_t)128 << 20)   /* the row sample above the dense size */
typedef struct {
    int trials;             /* held-out trials per task (16), fewer when one task's would pass the chunk */
    int dense_max_n;        /* LM_SUMMARY_DENSE_MAX_N */
    int sample_rows;        /* 1024 */
    uint64_t seed;          /* the row sample and the power iteration's start */
    int power_iters;        /* 2000 */
    double power_tol;       /* 1e-9: relative change of sigma_1^2 per iteration */
} LmSummaryOptions;
void lm_summary_options_default(LmSummaryOptions *o);

/* Initial weights at any N: W_rec as CSR over the mask it had at step 0 (row_ptr [N + 1]; col_idx, rec
 * [nnz]), W_in [N][n_in] and W_out [n_out][N] dense. NULL pointers: that change is NaN. */
typedef struct {
    const int32_t *row_ptr, *col_idx;
    const float *rec, *W_in, *W_out;
} LmInitWeights;

/* The non-zeros of a dense [N][N] matrix as CSR, allocated into *row_ptr [N + 1], *col_idx, *vals
 * (caller frees). */
void lm_dense_to_csr(int N, const float *W, int32_t **row_ptr, int32_t **col_idx, float **vals);

/* Hidden states of `trials` held-out trials of each task pos[0..n_tasks), collected one task at a time
 * (at most LM_SUMMARY_CHUNK_BYTES of trajectories at once), and the weights of net->model. init may be
 * NULL. 0, or -1 + lm_err_set. */
int lm_summary_of_net(const LmNet *net, const int *pos, int n_tasks, const LmSummaryOptions *o,
                      const LmInitWeights *init, const LmSheet *g, LmSummary *out);
/* The compact record of one summary for log.jsonl (the scalars, methods and skipped measures). */
cJSON *lm_summary_record(const LmSummary *s);
/* The summary records of a run log (kind "summary") against step: participation ratio, dormant ratios,
 * effective and stable rank, weight change. 0; 1 when the log has fewer than 1 summary record (nothing
 * drawn); -1 + lm_err_set. */
int lm_summary_history_figure(const char *log_path, const char *png_path);

/* The largest singular value of the sparse n x n matrix (CSR) by power iteration on W^T W from a seeded
 * Gaussian start, until sigma^2 changes by less than tol (relative) or max_iters; *iters and *rel (the
 * last relative change) report how it ended. 0 for an all-zero matrix. */
double lm_sparse_spectral_norm(int n, const int32_t *row_ptr, const int32_t *col_idx, const float *vals,
                               uint64_t seed, int max_iters, double tol, int *iters, double *rel);

/* ---------------------------------------------------------------- fixedpoints.c (spec §2) */
/* One step of the network's update rule for a constant input: h -> F(h) (model.md §1, noise off),
 * ngym F(h) = act((1-a) h + a (W h + c)), yang F(h) = (1-a) h + a act(W h + c), with
 * c = W_in u + b_in + b_rec. W is the dense [N][N] W_rec (zeros outside the mask, any mask kind). */
typedef struct {
    int N;
    LmUpdateRule rule;
    LmActivation act;
    double alpha;
    const float *W;        /* [N][N] */
    const double *c;       /* [N] */
} LmMap;

/* c = W_in u + b_in + b_rec for the model and input u [n_in] (in double). */
void lm_map_input(const LmModel *m, const float *u, double *c);
void lm_map_step(const LmMap *f, const double *h, double *out);   /* F(h) in double */
double lm_map_q(const LmMap *f, const double *h);                  /* 1/2 |F(h) - h|^2 in double */
void lm_map_jacobian(const LmMap *f, const double *h, double *J);  /* dF/dh [N][N] row-major */

typedef struct {
    int n_inits;
    double noise;           /* std of the Gaussian added to the sampled states */
    uint64_t seed;
    double lr, lr_decay;    /* Adam's initial rate and the plateau factor */
    double adam_eps;        /* Adam's epsilon (0.01, FixedPointFinder's default) */
    int patience;           /* iterations without improvement of the mean q that make a plateau */
    int max_iters;
    double tol_q, tol_dq, tol_unique, outlier;
    int threads;            /* eigen-decompositions and refinements in parallel */
    int refine;             /* polish the kept points with Levenberg-Marquardt (1, default) or not (0) */
    int refine_iters;       /* its iterations per point at most (20) */
} LmFpOptions;
void lm_fp_options_default(LmFpOptions *o);

typedef struct {
    int N, K;               /* units, points kept */
    double *points;         /* [K][N] */
    double *q;              /* [K] 1/2 |F - h|^2, evaluated in double at the point */
    double *eig_re, *eig_im;/* [K][N] Jacobian eigenvalues, by modulus, largest first */
    uint8_t *stable;        /* [K] |lambda_1| < 1 */
    int32_t *iters;         /* [K] iterations the point's optimisation ran */
    float *inits;           /* [n_inits][N] the initial states */
    int n_inits, n_stopped_q, n_stopped_dq, n_max_iters, n_duplicates, n_outliers;
    int iterations;         /* iterations of the joint optimisation */
    double final_lr;
    double slow_pr;         /* participation ratio of the kept points' spread (0 if K < 2) */
    double seconds_opt, seconds_eig;
    int refine;             /* the polish ran (LmFpOptions.refine) */
    int n_refined;          /* kept points polished (those Adam left at q >= tol_q) */
    int n_refine_merged;    /* polished points that became duplicates of others */
    int n_refine_outliers;  /* polished points that moved past the outlier distance */
    int n_converged;        /* kept points with q < tol_q in the end */
    double seconds_refine;
} LmFixedPoints;

/* n_inits states drawn uniformly with replacement from the rows (trial, step in [start, end) of
 * period p) of s, plus i.i.d. N(0, noise^2). 0, or -1 + lm_err_set when no trial has the period. */
int lm_fp_sample_inits(const LmStates *s, int period, const LmFpOptions *o, float *inits);
/* Minimise q jointly from the inits (Adam, plateau rule, per-state stopping), keep unique points, drop
 * outliers, then (o->refine) polish each kept point with q >= tol_q by Levenberg-Marquardt on the
 * analytic Jacobian (LAPACK dposv) and select unique points and outliers again; eigen-decompose each
 * Jacobian (LAPACK). 0 or -1 + lm_err_set. */
int lm_fp_find(const LmMap *f, const float *inits, const LmFpOptions *o, LmFixedPoints *out);
void lm_fp_free(LmFixedPoints *fp);

/* ---------------------------------------------------------------- variance.c (spec §3) */
/* Task variance tv[i][r] (N x n_tasks): for each task's trials, the variance of h_i across trials at
 * each step (over the trials past their initial fixation period and not yet ended at that step, at
 * least 2), averaged over those steps. */
void lm_task_variance(const LmStates *s, double *tv);
/* The same for one period ("epoch variance", spec §3): the variance across the task's trials at each
 * step tau since the start of `period` in each trial (over the trials whose period is longer than tau,
 * at least 2), averaged over tau. A task none of whose trials has the period gets 0 and has_period[r] = 0
 * (has_period may be NULL). period -1: lm_task_variance. Returns the number of tasks with the period. */
int lm_task_variance_period(const LmStates *s, int period, double *tv, uint8_t *has_period);

typedef enum { LM_CLUSTER_KMEANS = 0, LM_CLUSTER_WARD } LmClusterMethod;
/* k-means with k-means++ seeding: the best of `restarts` runs (lowest inertia); labels[n]. */
double lm_kmeans(const double *X, int n, int d, int k, int restarts, uint64_t seed, int *labels);
/* Ward agglomerative clustering cut at k clusters; labels[n]. */
void lm_ward(const double *X, int n, int d, int k, int *labels);
/* Mean silhouette score (Euclidean) of a labelling with k clusters (0 if k < 2 or k >= n). */
double lm_silhouette(const double *X, int n, int d, const int *labels, int k);

typedef struct {
    int N, n_tasks, n_active;
    double *tv;             /* [N][n_tasks] */
    uint8_t *active;        /* [N] summed task variance > threshold */
    int32_t *units;         /* [n_active] the active units */
    double *tvn;            /* [n_active][n_tasks] each unit's vector divided by its maximum */
    int kmin, kmax, k;      /* the k range tried and the chosen k (highest mean silhouette) */
    double *silhouette;     /* [kmax - kmin + 1] */
    int32_t *labels;        /* [n_active] cluster of each active unit, clusters ordered by their task */
    int32_t *cluster_task;  /* [k] the task with the largest summed normalised variance */
    int32_t *order;         /* [n_active] indices into units, sorted by cluster (then unit) */
} LmVariance;

/* Active units, normalisation and clustering of tv. 0 or -1 + lm_err_set (fewer than 3 active units). */
int lm_variance_cluster(const double *tv, int N, int n_tasks, double threshold, LmClusterMethod method, int kmin,
                        int kmax, int restarts, uint64_t seed, LmVariance *out);
void lm_variance_free(LmVariance *v);
/* Fractional task variance (v1 - v2) / (v1 + v2) of tasks r1, r2 over the active units (ftv[n_active]),
 * and its 20-bin histogram on [-1, 1]. */
void lm_ftv(const LmVariance *v, int r1, int r2, double *ftv, int32_t hist[20]);

/* variance_report.c: variance.npz (keys in docs/analysis.md) and the figures variance_map.png,
 * silhouette.png, ftv.png in dir; pairs are task indices. 0 or -1 + lm_err_set. */
int lm_variance_write(const LmVariance *v, const char *const *task_names, const int32_t (*pairs)[2], int n_pairs,
                      const char *npz_path);
/* The arrays lm_variance_write writes (caller frees). */
LmArrays *lm_variance_arrays(const LmVariance *v, const char *const *task_names, const int32_t (*pairs)[2],
                             int n_pairs);
int lm_variance_figures(const LmVariance *v, const char *const *task_names, const int32_t (*pairs)[2], int n_pairs,
                        const char *dir);
/* The groups x tasks heat map of performance changes delta[g][r]. */
int lm_lesion_figure(const double *delta, int n_groups, int n_tasks, const char *const *group_names,
                     const char *const *task_names, const char *path);

/* ---------------------------------------------------------------- lesion.c (spec §3) */
/* Zero the outgoing weights of the units: columns of W_rec and of W_out. */
void lm_lesion_apply(LmModel *m, const int *units, int n);

/* ---------------------------------------------------------------- autapse.c (spec §5, C5) */
/* A diagonal (autapse) relu network is N independent 1-D maps for a constant input: unit i follows
 * h -> relu(w_eff h + a c_i) (ngym) or h -> (1-a) h + a relu(w h + c_i) (yang), w_eff = 1 - a + a w_ii.
 * Its fixed points are analytic: with c_i > 0, h* = c_i / (1 - w_ii) if w_ii < 1 (stable iff
 * |w_eff| < 1), none if w_ii >= 1 (h grows without bound); with c_i <= 0, h* = 0 (stable: relu is
 * flat there; the slope is 1 - a for yang) and, if w_ii > 1, also h* = -c_i / (w_ii - 1) (unstable);
 * w_ii = 1 with c_i = 0 is a line of fixed points. Memory units: |w_eff - 1| <= tol (a time constant
 * of at least 1/tol steps). */
typedef struct {
    int N;
    double *w, *c, *w_eff;      /* [N] */
    int32_t *n_fixed;           /* [N] 0, 1, 2, or -1 (a line) */
    double *fixed;              /* [N][2] the fixed points */
    uint8_t *stable;            /* [N][2] */
    uint8_t *memory;            /* [N] */
    int n_memory, n_runaway;    /* memory units; units with no fixed point */
} LmAutapse;
/* 0, or -1 + lm_err_set if the network is not diagonal relu. */
int lm_autapse_analyse(const LmModel *m, const double *c, double tol, LmAutapse *out);
void lm_autapse_free(LmAutapse *a);
/* Histogram of w_ii (memory units marked), w_eff against the input term, and the per-task change of
 * performance when the memory units / as many random units are lesioned. */
int lm_autapse_figure(const LmAutapse *a, const double *d_memory, const double *d_random, int n_tasks,
                      const LmBattery *battery, const char *path);

/* ---------------------------------------------------------------- fp_report.c */
/* What a fixed-point analysis was run on, for its outputs. */
typedef struct {
    const char *task, *period;
    const float *u;           /* [n_in] the constant input */
    int n_in;
    double alpha;
    const char *rule, *act, *mask;
} LmFpContext;
/* The arrays of the .npz (keys in docs/analysis.md; added to `arrays` when non-NULL, written to npz_path
 * when non-NULL), the JSON summary and (fig_path non-NULL) the figure, with the points and the
 * trajectories of s projected on the first 3 principal components of s's hidden states.
 * Returns the JSON summary (caller frees) or NULL + lm_err_set. */
cJSON *lm_fp_report(const LmFixedPoints *fp, const LmStates *s, const LmFpContext *ctx, LmArrays *arrays,
                    const char *npz_path, const char *fig_path);

#endif
