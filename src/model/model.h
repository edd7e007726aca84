/* The masked leaky RNN (docs/model.md §1-4).
 *
 *   ngym (default): h_t = act((1-a) h_{t-1} + a (W_in x_t + b_in + (W_rec∘M) h_{t-1} + b_rec + noise_t))
 *   yang:           h_t = (1-a) h_{t-1} + a act(W_in x_t + b_in + (W_rec∘M) h_{t-1} + b_rec + noise_t)
 *   y_t = W_out h_t + b_out (logits, every step); h_0 = 0; noise_t = sqrt(2/a) sigma_rec xi_t.
 *
 * Weights follow PyTorch nn.Linear: W_in [N][n_in], W_rec [N][N] (row i = post-synaptic unit i, column
 * j = pre-synaptic unit j), W_out [n_out][N]. All parameters live in one contiguous float block, and so
 * do their gradients and the Adam moments. Below a density crossover the recurrent weights are stored
 * compressed (CSR over the mask's non-zeros) and only those are parameters. */
#ifndef LMRNN_MODEL_H
#define LMRNN_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "util/rng.h"

/* ---------------------------------------------------------------- masks (docs/model.md §2) */
/* LM_MASK_RANDOM_DIAG: the diagonal (every autapse) plus round(p N^2) - N off-diagonal connections
 * drawn uniformly without replacement, so the total density is p (exactly, up to rounding) and only
 * the off-diagonal part is random: the control of a local mask, which keeps every autapse. */
typedef enum { LM_MASK_FULL = 0, LM_MASK_LOCAL2D, LM_MASK_LOCAL1D, LM_MASK_RANDOM, LM_MASK_DIAG,
               LM_MASK_FILE, LM_MASK_RANDOM_DIAG } LmMaskKind;

typedef struct {
    LmMaskKind kind;
    double d;            /* local2d/local1d: connect iff distance < d (strict). 0 = not given */
    double density;      /* local2d/local1d: target density -> nearest d; random: p. 0 = not given */
    int nx, ny;          /* local2d grid; 0 = square sqrt(N) x sqrt(N) */
    int periodic;        /* local2d/local1d: torus distances */
    char file[512];      /* file: a 0/1 .npy of shape [N][N], read by train/ (lm_mask_file_read) */
    uint64_t seed;       /* random */
} LmMaskSpec;

/* Stored compressed whatever N (nothing N x N): CSR over rows, row i (post-synaptic) allowing the
 * connections from the pre-synaptic units col_idx[row_ptr[i] .. row_ptr[i+1]), ascending. Local masks
 * are built row by row from their offsets (O(nnz)); random masks up to LM_RANDOM_MASK_PAIRWISE_MAX units
 * draw one uniform per pair (O(N^2) time, so a seed's mask is the one it always was), wider ones draw
 * the geometric gaps between connections (the same Bernoulli(p) law, O(nnz) time); random_diag masks
 * are O(N^2) time. Memory is O(nnz) for all. At most INT32_MAX connections. */
#define LM_RANDOM_MASK_PAIRWISE_MAX 16384
typedef struct {
    int n;
    int32_t *row_ptr;    /* [n + 1] */
    int32_t *col_idx;    /* [nnz] */
    int64_t nnz;
    double density;      /* nnz / n^2 */
    double param;        /* the d used (local) or p (random); 0 otherwise */
    char desc[160];      /* e.g. "local2d 16x16 open d=3 density=0.0836" */
} LmMask;

int lm_mask_kind_parse(const char *s, LmMaskKind *out);   /* 0 or -1 + lm_err_set */
const char *lm_mask_kind_name(LmMaskKind k);
/* Build the mask for n units. 0, or -1 with lm_err_set() naming the bad value (n not matching the grid,
 * d <= 0, density outside (0,1], file of the wrong shape or not 0/1, ...). */
int lm_mask_build(const LmMaskSpec *spec, int n, LmMask *out);
/* Wrap an existing dense 0/1 matrix [n][n] (compressed), validating it. */
int lm_mask_from_array(int n, const uint8_t *m, const char *desc, LmMask *out);
int lm_mask_copy(const LmMask *src, LmMask *out);   /* deep copy; 0 */
int lm_mask_equal(const LmMask *a, const LmMask *b);   /* same units and connections */
int lm_mask_has(const LmMask *m, int i, int j);   /* connection j -> i allowed (binary search) */
/* The dense [n][n] 0/1 matrix (for small n: tests, exports). */
void lm_mask_to_dense(const LmMask *m, uint8_t *out);
void lm_mask_free(LmMask *m);
/* Distinct diagonals j - i holding a connection. */
int64_t lm_mask_n_diag(const LmMask *m);
/* The number of connections and of distinct diagonals the mask lm_mask_build would build, without
 * building it (local masks: O(nnz) time, O(N) memory; random: the expected count p N^2; file masks are
 * read). For memory estimates before anything large is allocated. 0 or -1 + lm_err_set. */
int lm_mask_count(const LmMaskSpec *spec, int n, int64_t *nnz, int64_t *n_diag);

/* ---------------------------------------------------------------- model */
typedef enum { LM_RULE_NGYM = 0, LM_RULE_YANG } LmUpdateRule;
typedef enum { LM_ACT_RELU = 0, LM_ACT_SOFTPLUS, LM_ACT_TANH } LmActivation;
/* Fan-in-scaled inits (every mask starts at the same gain per unit): GAUSSIAN_FANIN draws W_rec[i][j]
 * ~ N(0, g^2 / fan_in(i)), fan_in(i) = connections of row i under the mask; RANDORTHO_FANIN takes a
 * Haar orthogonal Q, keeps the masked-in entries and scales each row to norm g (an unmasked Q has unit
 * rows). Both draw all N*N values whatever the mask, like the other random inits. */
typedef enum { LM_INIT_HALF_IDENTITY = 0, LM_INIT_RANDORTHO, LM_INIT_GAUSSIAN, LM_INIT_GAUSSIAN_FANIN,
               LM_INIT_RANDORTHO_FANIN } LmRecInit;
typedef enum { LM_PATH_AUTO = -1, LM_PATH_DENSE = 0, LM_PATH_SPARSE = 1 } LmRecPath;

/* LM_PATH_AUTO takes the sparse path iff the mask density is below a crossover: LM_BAND_CROSSOVER for
 * banded masks (local2d, local1d, diag: few distinct diagonals j - i, stored as diagonals), else
 * LM_SPARSE_CROSSOVER (general masks, stored as CSR). Constants measured with bench/bench_step
 * --crossover / --crossover-band (docs/performance.md), never a run-time timing: a resumed run must take
 * the same path, and the path decides the parameter layout. */
#define LM_SPARSE_CROSSOVER 0.08
#define LM_BAND_CROSSOVER 0.30

typedef struct {
    int n_in, n_hidden, n_out;
    LmUpdateRule rule;
    LmActivation act;
    double alpha;        /* dt / tau, default 1 */
    double sigma_rec;    /* default 0 */
    LmRecInit rec_init;  /* default 0.5 I */
    double rec_gain;     /* 0.5 for half-identity; randortho scale; g for gaussian g/sqrt(N) */
    LmRecPath path;      /* auto: sparse below the crossover density (see above) */
} LmModelConfig;

void lm_model_config_default(LmModelConfig *c, int n_in, int n_hidden, int n_out);
int lm_rule_parse(const char *s, LmUpdateRule *out);
int lm_act_parse(const char *s, LmActivation *out);
int lm_init_parse(const char *s, LmRecInit *out);
const char *lm_rule_name(LmUpdateRule r);
const char *lm_act_name(LmActivation a);
const char *lm_init_name(LmRecInit i);

typedef struct LmModel LmModel;

/* Allocate a model with the given mask (copied). Parameters are zero until lm_model_init(). */
LmModel *lm_model_new(const LmModelConfig *cfg, const LmMask *mask);
void lm_model_free(LmModel *m);
const LmModelConfig *lm_model_config(const LmModel *m);
const LmMask *lm_model_mask(const LmModel *m);
int lm_model_is_sparse(const LmModel *m);
/* How W_rec is stored and multiplied: "dense", "band" (sparse, diagonals) or "csr" (sparse, general). */
const char *lm_model_rec_layout(const LmModel *m);
/* The layout lm_model_new chooses ("dense", "band" or "csr", as lm_model_rec_layout) for n units and a
 * mask of nnz connections on n_diag distinct diagonals (lm_mask_count): for estimates before building. */
const char *lm_model_layout_for(LmRecPath path, int n, int64_t nnz, int64_t n_diag);
/* Initialise every parameter from `rng` (docs/model.md §3); masked W_rec entries are exactly 0. */
void lm_model_init(LmModel *m, LmRng *rng);

size_t lm_model_n_params(const LmModel *m);
float *lm_model_params(LmModel *m);
float *lm_model_grads(LmModel *m);

/* Named tensors for export (checkpoints, plots, numpy users). W_rec is always exported dense [N][N]
 * (zeros outside the mask). Names: W_in, b_in, W_rec, b_rec, W_out, b_out. */
#define LM_N_TENSORS 6
typedef struct { const char *name; int ndim; int64_t shape[2]; } LmTensorInfo;
LmTensorInfo lm_model_tensor_info(const LmModel *m, int i);
void lm_model_export_tensor(const LmModel *m, int i, float *out);
/* Set a tensor from dense data (W_rec: entries outside the mask must be 0, else -1 + lm_err_set). */
int lm_model_import_tensor(LmModel *m, int i, const float *in);
/* W_rec as its mask's non-zeros: nnz values in the order of the mask's CSR (row_ptr, col_idx), whatever
 * the layout. For compressed checkpoints and any-N exports (SciPy csr_matrix((vals, col_idx, row_ptr))). */
void lm_model_export_rec_values(const LmModel *m, float *vals);
/* Import: 0, or -1 + lm_err_set for a value of the wrong sign under Dale's law. */
int lm_model_import_rec_values(LmModel *m, const float *vals);
/* The gradient of tensor i in the same dense shape as lm_model_export_tensor (W_rec: zeros outside the
 * mask). Valid after lm_backward(); after lm_train_step() it holds the clipped gradient. */
void lm_model_export_grad(const LmModel *m, int i, float *out);

/* ---------------------------------------------------------------- Dale's law (docs/dale.md) */
/* Each unit j is excitatory (ei[j] = +1) or inhibitory (-1); the network uses W_rec = |W~| D ∘ M with
 * D = diag(ei) by column (presynaptic unit), and the optimiser updates W~. The parameter block holds the
 * effective, signed W_rec (what the kernels, exports and checkpoints see); W~ = |W_rec| is kept >= 0,
 * which is exact: the loss is symmetric under W~_ij -> -W~_ij, so a step that takes W~_ij below 0 is
 * reflected together with its Adam first moment. d|w|/dw at 0 is 0, as in torch.abs.
 * Call before lm_model_init (which then draws the balanced initialisation). ei: [N] of +1/-1 only;
 * readout_exc: W_out reads excitatory units only. 0, or -1 + lm_err_set naming the bad entry. */
int lm_model_set_dale(LmModel *m, const int8_t *ei, int readout_exc);
const int8_t *lm_model_ei(const LmModel *m);   /* NULL without Dale's law */
int lm_model_readout_exc(const LmModel *m);
/* After lm_backward: dL/dW_rec -> dL/dW~ (times D_j sign W~_ij) and, with readout_exc, the gradient of
 * the inhibitory units' readout columns set to 0. No-op without Dale. lm_train_step calls it. */
void lm_dale_chain_grad(LmModel *m);
/* A seeded E/I assignment: exactly round(frac_exc * n) excitatory units at positions drawn from rng. */
void lm_dale_assign(int n, double frac_exc, LmRng *rng, int8_t *ei);

/* ---------------------------------------------------------------- forward / backward */
typedef struct {
    int decision_only;   /* only steps flagged in `decision` enter the loss */
    double fix_weight;   /* weight of steps whose label is 0 (fixate); default 1 */
} LmLossConfig;

/* Buffers for one window of T steps x B rows (activations kept for BPTT). */
typedef struct LmWork LmWork;
LmWork *lm_work_new(const LmModel *m, int T, int B);
void lm_work_free(LmWork *w);
/* Logits of the last forward, [T][B][n_out]. */
const float *lm_work_logits(const LmWork *w);
/* Hidden states of the last forward, [T][B][N]. */
const float *lm_work_hidden(const LmWork *w);
/* The recurrent noise of the last forward, already scaled (sqrt(2/alpha) sigma_rec xi), [T][B][N], or
 * NULL when none was drawn. */
const float *lm_work_noise(const LmWork *w);
/* After lm_backward: dL/ds (s = the full input sum of each unit), [T][B][N], and the window's T, B. */
const float *lm_work_grad_s(const LmWork *w, int *T, int *B);

/* A network split across processes (train/sheet.c) runs its part of every window through these
 * hooks, called with one thread in the middle of lm_forward and lm_backward: after h_t (forward) or
 * ds_t (backward) of every batch row is computed ([B][N], before the next step reads it), the halo
 * units' values are replaced by their owners'; and the logits [TB][n_out], which hold this process's
 * partial sums H W_out^T (before b_out), are replaced by the sum over the processes. */
typedef struct {
    void *ctx;
    void (*forward_step)(void *ctx, int t, float *h_t, int B, int N);
    void (*backward_step)(void *ctx, int t, float *ds_t, int B, int N);
    void (*logits)(void *ctx, float *logits, int TB, int n_out);
} LmStepHooks;
/* Install hooks (copied; NULL removes them). The model must then run on one thread. */
void lm_work_set_hooks(LmWork *w, const LmStepHooks *hooks);
/* The band wavefront's time blocks and unit tiles (docs/performance.md, "The band wavefront"); 0 keeps
 * the default of each. A schedule only: results are the same bits for any values. */
void lm_work_set_wavefront(LmWork *w, int steps, int tile_units);
/* A promise that the model's parameters do not change while `fixed` is set: the forward then builds the
 * layouts it derives from them (W_in^T for sparse inputs, W_rec's band or transpose) once, at its first
 * call, and reuses them. For evaluations and analyses, which run many forwards of one network (at
 * N = 262 144 with Mod-Cog inputs, re-laying W_in took 0.1 s of every single-trial forward). Clearing it,
 * or a forward with another model, lays them out again. */
void lm_work_fix_params(LmWork *w, int fixed);

/* Forward from h0 = 0 over x [T][B][n_in] (T, B <= the work's sizes). If noise_rng is non-NULL and
 * sigma_rec > 0, recurrent noise is drawn (and kept for backward). If labels [T][B] is non-NULL, returns
 * the mean softmax cross-entropy (weighted per loss config; `decision` [T][B] may be NULL unless
 * decision_only); otherwise returns 0. */
double lm_forward(LmModel *m, LmWork *w, const float *x, const int32_t *labels, const uint8_t *decision,
                  const LmLossConfig *loss, int T, int B, LmRng *noise_rng);
/* Gradients of that loss w.r.t. every parameter into lm_model_grads() (overwritten, not accumulated).
 * Must follow lm_forward() with labels on the same work. */
void lm_backward(LmModel *m, LmWork *w, const float *x, const int32_t *labels, const uint8_t *decision,
                 const LmLossConfig *loss, int T, int B);

/* ---------------------------------------------------------------- optimiser */
typedef struct {
    double lr, beta1, beta2, eps;  /* PyTorch Adam defaults: 1e-3, 0.9, 0.999, 1e-8 */
    int64_t t;                     /* steps taken */
    size_t n;
    float *m, *v;                  /* moments, one per parameter */
} LmAdam;
void lm_adam_init(LmAdam *a, const LmModel *m, double lr);
void lm_adam_free(LmAdam *a);
/* Scale gradients so their global L2 norm is at most max_norm (max_norm <= 0: no clipping).
 * Returns the norm before clipping. */
double lm_clip_grad_norm(LmModel *m, double max_norm);
/* One Adam step (bias-corrected, eps after sqrt, as torch.optim.Adam); masked weights stay exactly 0. */
void lm_adam_step(LmAdam *a, LmModel *m);

typedef struct { double loss, grad_norm; } LmStepStats;
/* forward + backward + clip + Adam. Returns 0, or -1 with lm_err_set() naming the non-finite quantity
 * (loss or gradient norm); parameters are then left unchanged. */
int lm_train_step(LmModel *m, LmAdam *a, LmWork *w, const float *x, const int32_t *labels,
                  const uint8_t *decision, const LmLossConfig *loss, int T, int B, double clip,
                  LmRng *noise_rng, LmStepStats *stats);

/* ---------------------------------------------------------------- strips (a network across processes) */
/* One process's part of a network split by units (train/sheet.c, docs/performance.md): it owns units
 * [u0, u1) and holds the halo [e0, u0) and [u1, e1) that its recurrent rows read. The strip model has
 * e1 - e0 units; its mask is the global mask restricted to [e0, e1) (owned rows complete, halo rows
 * cut at the strip's edge), and its readout columns of halo units are 0, so its logits are its own
 * share of the sum. Only the sparse path without Dale's law. */
typedef struct {
    int u0, u1, e0, e1;
    LmModel *model;
    int32_t *rec_map;    /* [strip nnz]: the global CSR position of each strip W_rec value */
} LmStrip;
/* [*e0, *e1): the smallest unit range holding [u0, u1) and every column its rows connect to. */
void lm_strip_extent(const LmMask *mask, int u0, int u1, int *e0, int *e1);
int lm_strip_new(const LmModel *global, int u0, int u1, LmStrip *out);   /* 0 or -1 + lm_err_set */
void lm_strip_free(LmStrip *s);
/* A parameter-shaped block (parameters or an Adam moment) from the global layout into the strip's. */
void lm_strip_scatter(const LmStrip *s, const LmModel *global, const float *gblock, float *sblock);
/* The owned parameters of units [u0, u1) in a canonical packed order (the same from the strip and the
 * global layout): how many, strip -> buffer, and buffer -> global block. */
size_t lm_strip_owned_count(const LmModel *global, int u0, int u1);
void lm_strip_pack(const LmStrip *s, const float *sblock, float *buf);
void lm_strip_unpack(const LmModel *global, int u0, int u1, const float *buf, float *gblock);
/* After lm_backward: the gradients of the halo units' own parameters (W_in rows, biases, readout
 * columns) set to 0, so Adam leaves them; halo W_rec rows keep theirs (exact, see strip.c). */
void lm_strip_clear_halo_grads(LmStrip *s);
/* Sum of squares (double) of the owned gradients, b_out included iff with_b_out (one rank counts it). */
double lm_strip_owned_sumsq(const LmStrip *s, int with_b_out);
/* Scale the gradients by max_norm / (norm + 1e-6) when that is below 1 (lm_clip_grad_norm with the
 * norm given: a split network's global norm). */
void lm_clip_grads_to(LmModel *m, double norm, double max_norm);

/* ---------------------------------------------------------------- mask search (docs/lottery.md) */
/* Replace the mask: the recurrent storage is rebuilt for the path the new mask gets (dense, band or CSR;
 * cfg.path decides as in lm_model_new). Every parameter and Adam moment (a may be NULL) is kept, W_rec
 * and its moments at positions in both masks too; positions new to the mask start at exactly 0 with zero
 * moments. Any LmWork of the model must be rebuilt (lm_work_new). */
void lm_model_set_mask(LmModel *m, const LmMask *mask, LmAdam *a);
/* Clear in mask [N][N] (a copy of the model's) the n_drop active W_rec entries of smallest |w|, ties
 * broken by the lower index i*N + j. */
void lm_prune_smallest(const LmModel *m, int64_t n_drop, uint8_t *mask);
/* Set n_grow positions that `allowed` permits and mask lacks, uniformly at random. Returns how many
 * (fewer only when there are not enough free positions). */
int64_t lm_grow_random(int n, const uint8_t *allowed, uint8_t *mask, int64_t n_grow, LmRng *rng);
/* Set the n_grow positions that `allowed` permits and mask lacks with the largest |dL/dW_ij| of the last
 * backward on w (ties: lower index first); under Dale's law the largest max(0, -dL/dW_ij D_j), the descent
 * a weight leaving 0 with its unit's sign offers. The dense gradient is formed a block of 16 rows at a time
 * from the BPTT terms (sum over steps of ds_t h_{t-1}^T), never as an N x N matrix. */
int64_t lm_grow_by_gradient(const LmModel *m, const LmWork *w, const uint8_t *allowed, uint8_t *mask,
                            int64_t n_grow);

/* Thread count of the model's OpenMP team (every product of a step runs inside it, each thread calling a
 * single-threaded OpenBLAS, so OpenBLAS is set to 1 thread). Results are bit-identical for a fixed count. */
void lm_set_threads(int n);

/* The OpenBLAS core (OPENBLAS_CORETYPE) this CPU should use when OpenBLAS fell back to a generic one at
 * load and the environment names none, else NULL (src/model/threads.c). */
const char *lm_blas_better_core(void);
/* At the top of a program's main: if lm_blas_better_core names a core, start the program again (exec,
 * same process id) with OPENBLAS_CORETYPE set to it; the environment carries it to child processes. If
 * exec fails the program goes on with the generic kernels: the same results, only slower. */
void lm_blas_restart(char **argv);
/* The core OpenBLAS runs (its kernels, and so the bits of every sgemm). */
const char *lm_blas_core(void);

#endif
