/* Forward pass and backpropagation through time over one window (docs/model.md §1, §4).
 *
 * The stages of a window as forward/backward pairs (backward runs them bottom to top). r = t*B + b
 * indexes the TB = T*B rows, time-major; s is the full input sum of a unit, f the activation, R = (T-1)*B:
 *
 *   stage       forward                                     backward
 *   input       pre = X W_in^T                              dW_in = ds^T X
 *                 [TB][n_in] x [n_in][N] -> [TB][N]           [N][TB] x [TB][n_in] -> [N][n_in]
 *   recurrence  s_t = pre_t + b + noise_t + W_rec h_{t-1}   dh_t = readout + leak carry + W_rec^T ds_{t+1}
 *               h_t = f(s_t) mixed by the rule    [B][N]      ds_t = dL/ds_t [B][N]; db_in = db_rec = sum ds
 *                                                           dW_rec = ds[1:]^T H[:-1] on the mask
 *                                                             [N][R] x [R][N] -> [N][N] (or its nnz)
 *   readout     logits = H W_out^T + b_out                  dW_out = dlogits^T H, dH = dlogits W_out
 *                 [TB][N] x [N][n_out] -> [TB][n_out]         [n_out][TB] x [TB][N];  [TB][n_out] x [n_out][N]
 *   loss        softmax cross-entropy of each row [TB]      dlogits = w_r / sum(w) (softmax - onehot)
 *
 * The products that do not depend on the recurrence are sgemms over all TB rows, in blocks of units
 * (or of rows, for the readout) whose shapes do not depend on the thread count: OpenBLAS chooses its
 * kernels, and so its summation order, by the shape (differently on each CPU), so a thread count that
 * changed the shapes would change the bits. Only the recurrent product goes step by step; there each thread
 * runs its own batch rows through all the steps without any synchronisation (batch rows are independent;
 * a barrier per step would cost more than the step at N = 256). Wide sparse networks split the units
 * instead, and wide band networks go through the steps as a wavefront of unit tiles (wave_run). Sums
 * across threads are added in thread order (in the batch-row split, that order depends on the thread
 * count).
 *
 * The thread loops are compiled for several instruction sets (LM_CLONES); every stage below is inlined
 * into them so that it is too.
 *
 * W_rec is stored in one of three layouts (LmRecLayout), each with its own recurrent product, its own
 * copy of the rows the product reads, and its own gradient: dense (an N x N matrix, multiplied through
 * its transpose), band (the CSR values spread over the few diagonals of a local mask) and CSR (general
 * sparse masks, with h and ds kept transposed). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/internal.h"
#include "model/kernels.h"
#include "model/parallel.h"
#include "util/err.h"

struct LmWork {
    int T, B, N, n_out;
    LmRecLayout layout;
    int last_T, last_B, noise_drawn;
    float *pre;      /* [T][B][N] ngym: u = (1-a) h_prev + a s; yang: s */
    float *h;        /* [T][B][N] */
    float *d;        /* [T][B][N] backward: dL/dh from the readout, then dL/ds */
    float *noise;    /* [T][B][N] when sigma_rec > 0 */
    float *logits;   /* [T][B][n_out] */
    float *probs;    /* [T][B][n_out] softmax of the logits (forward with labels), then dL/dlogits */
    float *bias;     /* [N] b_in + b_rec */
    float *zeros;    /* [B][N] stands for h_0, absent noise, and the first step's recurrent term */
    float *rec;      /* [B][N] recurrent product of the current step */
    float *carry;    /* [B][N] backward: the leak term passed to the previous step */
    /* dense: W_rec^T [N][N] for the forward product */
    float *wt;
    /* band: W_rec and W_rec^T in diagonal layout, the gradient band, and h_{t-1} (forward) or ds_t
     * (backward) rows zero-padded on both sides, double-buffered [2][B][N + 2 pad] */
    float *band, *band_t, *gband, *xpad;
    /* CSR: h and ds transposed [N][T*B], written as they are produced */
    float *ht, *dt;
    /* sparse inputs: X as CSR over rows, W_in^T and dW_in^T [n_in][N] */
    int x_sparse;
    size_t x_cap;
    int32_t *x_ptr, *x_idx;
    float *x_val, *wint, *gwint;
    double *rowloss; /* [T*B] cross-entropy of each row */
    double wsum;     /* sum of the loss weights of the last forward */
    int hooked;
    LmStepHooks hooks; /* a network split across processes (model.h) */
    int wave_steps, wave_tile; /* the band wavefront's block and tile (lm_work_set_wavefront; 0: default) */
    int params_fixed;           /* lm_work_fix_params */
    const LmModel *laid_out;    /* with params_fixed: the model whose layouts the buffers hold */
    int wint_ready;             /* ... and whether they include W_in^T */
};

/* Inputs with at most this fraction of non-zeros use the sparse input products (Mod-Cog windows: ~0.11,
 * the rule one-hot and the inactive rings are zeros). A property of the data, so deterministic. */
#define LM_INPUT_SPARSE_MAX 0.3
#ifndef BAND_L1_FLOATS
/* Row blocks of the band gradient: ds and h rows filling 32 KB. Measured (docs/performance.md): at
 * N = 1024, 4 rows (32 KB) take 64 ms per step against 71 ms for 8 rows and 68 ms for 2; at N = 256,
 * 4 to 16 rows are within 2 %. */
#define BAND_L1_FLOATS 8192
#endif
#ifndef BAND_TILE_UNITS
/* Unit tiles of the band gradient for wide networks: [n_diag][1024] floats (100 KB at d = 3) stay in
 * L2 while all the rows stream past (docs/performance.md, "Scale"). */
#define BAND_TILE_UNITS 1024
#endif

/* The buffers only one layout uses. */
static void work_new_layout(LmWork *w, const LmModel *m, size_t tbn) {
    const int N = w->N, B = w->B;
    switch (m->layout) {
    case LM_LAYOUT_DENSE:
        w->wt = lm_calloc_lines((size_t)N * N * sizeof(float));
        break;
    case LM_LAYOUT_BAND: {
        size_t nb = (size_t)m->n_diag * N;
        w->band = lm_calloc_lines(nb * sizeof(float));
        w->band_t = lm_calloc_lines(nb * sizeof(float));
        w->gband = lm_calloc_lines(nb * sizeof(float));
        w->xpad = lm_calloc_lines((size_t)2 * B * (N + 2 * m->pad) * sizeof(float));   /* margins stay 0 */
        break;
    }
    case LM_LAYOUT_CSR:
        w->ht = lm_calloc_lines(tbn * sizeof(float));
        w->dt = lm_calloc_lines(tbn * sizeof(float));
        break;
    }
}

LmWork *lm_work_new(const LmModel *m, int T, int B) {
    LM_ASSERT(T > 0 && B > 0);
    openblas_set_num_threads(1);   /* our threads call OpenBLAS concurrently: see threads.c */
    LmWork *w = lm_calloc(1, sizeof *w);
    int N = m->cfg.n_hidden;
    size_t tbn = (size_t)T * B * N;
    w->T = T, w->B = B, w->N = N, w->n_out = m->cfg.n_out, w->layout = m->layout;
    w->pre = lm_calloc_lines(tbn * sizeof(float));
    w->h = lm_calloc_lines(tbn * sizeof(float));
    w->d = lm_calloc_lines(tbn * sizeof(float));
    if (m->cfg.sigma_rec > 0) w->noise = lm_calloc_lines(tbn * sizeof(float));
    w->logits = lm_calloc_lines((size_t)T * B * m->cfg.n_out * sizeof(float));
    w->probs = lm_calloc_lines((size_t)T * B * m->cfg.n_out * sizeof(float));
    w->bias = lm_calloc_lines((size_t)N * sizeof(float));
    w->zeros = lm_calloc_lines((size_t)B * N * sizeof(float));
    w->rec = lm_calloc_lines((size_t)B * N * sizeof(float));
    w->carry = lm_calloc_lines((size_t)B * N * sizeof(float));
    work_new_layout(w, m, tbn);
    w->x_ptr = lm_calloc_lines(((size_t)T * B + 1) * sizeof(int32_t));
    w->rowloss = lm_calloc_lines((size_t)T * B * sizeof(double));
    w->wint = lm_calloc_lines((size_t)m->cfg.n_in * N * sizeof(float));
    w->gwint = lm_calloc_lines((size_t)m->cfg.n_in * N * sizeof(float));
    return w;
}

void lm_work_free(LmWork *w) {
    if (!w) return;
    free(w->pre), free(w->h), free(w->d), free(w->noise), free(w->logits), free(w->probs), free(w->bias);
    free(w->zeros), free(w->wt), free(w->rec), free(w->carry), free(w->ht), free(w->dt);
    free(w->band), free(w->band_t), free(w->gband), free(w->xpad);
    free(w->x_ptr), free(w->x_idx), free(w->x_val), free(w->rowloss);
    free(w->wint), free(w->gwint);
    free(w);
}

void lm_work_set_hooks(LmWork *w, const LmStepHooks *hooks) {
    w->hooked = hooks != NULL;
    if (hooks) w->hooks = *hooks;
}

void lm_work_set_wavefront(LmWork *w, int steps, int tile_units) {
    w->wave_steps = steps > 0 ? steps : 0;
    w->wave_tile = tile_units > 0 ? tile_units : 0;
}

void lm_work_fix_params(LmWork *w, int fixed) {
    w->params_fixed = fixed != 0;
    w->laid_out = NULL;
}

const float *lm_work_logits(const LmWork *w) { return w->logits; }
const float *lm_work_hidden(const LmWork *w) { return w->h; }
const float *lm_work_noise(const LmWork *w) { return w->noise && w->noise_drawn ? w->noise : NULL; }
const float *lm_work_grad_s(const LmWork *w, int *T, int *B) {
    *T = w->last_T, *B = w->last_B;
    return w->d;
}

#define INLINE static inline __attribute__((always_inline))

INLINE float act_f(LmActivation a, float u) {
    switch (a) {
    case LM_ACT_RELU: return u > 0 ? u : 0.0f;
    case LM_ACT_SOFTPLUS: return u > 0 ? u + log1pf(expf(-u)) : log1pf(expf(u));   /* no overflow */
    case LM_ACT_TANH: return tanhf(u);
    }
    return 0;
}

/* act'(u); `y` = act(u) when the caller has it (ngym keeps h = act(u)), else has_y = 0. */
INLINE float act_df(LmActivation a, float u, float y, int has_y) {
    switch (a) {
    case LM_ACT_RELU: return u > 0 ? 1.0f : 0.0f;
    case LM_ACT_SOFTPLUS: return 1.0f / (1.0f + expf(-u));
    case LM_ACT_TANH: {
        float t = has_y ? y : tanhf(u);
        return 1.0f - t * t;
    }
    }
    return 0;
}

/* Loss weight of row r (docs/model.md §4): 0 outside decision steps when decision_only, fix_weight for
 * label 0 (fixation), else 1. */
static inline double row_weight(const LmLossConfig *loss, const int32_t *labels, const uint8_t *decision, size_t r) {
    if (loss && loss->decision_only && !decision[r]) return 0;
    return labels[r] == 0 ? (loss ? loss->fix_weight : 1.0) : 1.0;
}

/* Recurrent noise sqrt(2/alpha) sigma xi: one child generator per time step (seeded from one draw of
 * noise_rng), so the draw is the same whatever the thread count. */
static void draw_noise(const LmModel *m, LmWork *w, int T, int B, LmRng *noise_rng) {
    int N = w->N;
    double scale = sqrt(2.0 / m->cfg.alpha) * m->cfg.sigma_rec;
    uint64_t seed = lm_rng_u64(noise_rng);
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        LmRng r = lm_rng_derive(seed, (uint64_t)t);
        float *z = w->noise + (size_t)t * B * N;
        for (size_t k = 0; k < (size_t)B * N; k++) z[k] = (float)(scale * lm_rng_normal(&r));
    }
}

typedef struct {
    LmModel *m;
    LmWork *w;
    const float *x;
    const int32_t *labels;
    double *bpart;   /* backward: [threads][N] partial bias sums */
    int T, B, noisy;
    int lay_out;     /* forward: build the layouts derived from the parameters (else kept: lm_work_fix_params) */
} Ctx;

/* Rows [*r0, *r1) of `rows` for thread tid of nth. */
static inline void split_rows(int rows, int tid, int nth, int *r0, int *r1) {
    *r0 = (int)((int64_t)rows * tid / nth);
    *r1 = (int)((int64_t)rows * (tid + 1) / nth);
}

/* The products handed to OpenBLAS go in blocks of this many units or rows, each one call of the same
 * shape and operands whatever the thread count (the header comment). */
#define GEMM_BLOCK 64

/* My blocks of n, as the range [*k0, *k1) they cover; block k is [k, min(k + GEMM_BLOCK, *k1)). */
static inline void gemm_span(int n, int tid, int nth, int *k0, int *k1) {
    int j0, j1;
    split_rows((n + GEMM_BLOCK - 1) / GEMM_BLOCK, tid, nth, &j0, &j1);
    *k0 = j0 * GEMM_BLOCK < n ? j0 * GEMM_BLOCK : n;
    *k1 = j1 * GEMM_BLOCK < n ? j1 * GEMM_BLOCK : n;
}

static inline int gemm_width(int k, int k1) { return k1 - k < GEMM_BLOCK ? k1 - k : GEMM_BLOCK; }

/* What one thread of the team works on, and the constants every stage reads (the prologue of both
 * thread loops). */
typedef struct {
    const Ctx *c;
    LmModel *m;
    LmWork *w;
    int tid, nth;
    int N, T, B, TB, n_in, n_out;
    int yang;               /* the update rule is Yang's (else neurogym's) */
    float a, leak;          /* alpha, 1 - alpha */
    LmActivation act;
    const float *W;         /* W_rec in the model's layout */
    int ldx;                /* band: row stride of the padded rows */
    int i0, i1;             /* my units */
    int b0, b1, nb;         /* my batch rows */
    /* The time loops' share: batch rows [rb0, rb1) x units [ru0, ru1). Narrow networks split the batch
     * (no synchronisation inside the loop); wide sparse ones split the units, so that each thread streams
     * only its part of W_rec at every step instead of all of it, at the price of a barrier per step. */
    int by_units;
    int rb0, rb1, rnb, ru0, ru1;
    LmBarrier *bar;
} Lane;

/* From this many units on, a sparse network's time loops are split by units (measured in
 * docs/performance.md: a barrier costs ~1 us, a step's sparse product at N = 4096 ~50 us). */
#define UNIT_SPLIT_MIN_UNITS 2048

INLINE Lane lane_begin(const Ctx *c, int tid, int nth, LmBarrier *bar) {
    Lane L;
    L.c = c, L.m = c->m, L.w = c->w, L.tid = tid, L.nth = nth;
    L.N = c->w->N, L.T = c->T, L.B = c->B, L.TB = c->T * c->B, L.n_in = c->m->cfg.n_in, L.n_out = c->m->cfg.n_out;
    L.yang = c->m->cfg.rule == LM_RULE_YANG;
    L.a = (float)c->m->cfg.alpha, L.leak = (float)(1.0 - c->m->cfg.alpha);
    L.act = c->m->cfg.act;
    L.W = lm_cp(c->m, T_W_REC);
    L.ldx = L.N + 2 * c->m->pad;
    lm_k_split(L.N, tid, nth, &L.i0, &L.i1);
    split_rows(L.B, tid, nth, &L.b0, &L.b1);
    L.nb = L.b1 - L.b0;
    L.bar = bar;
    L.by_units = nth > 1 && c->m->layout != LM_LAYOUT_DENSE && !c->w->hooked && L.N >= UNIT_SPLIT_MIN_UNITS;
    L.rb0 = L.by_units ? 0 : L.b0, L.rb1 = L.by_units ? L.B : L.b1, L.rnb = L.rb1 - L.rb0;
    L.ru0 = L.by_units ? L.i0 : 0, L.ru1 = L.by_units ? L.i1 : L.N;
    return L;
}

/* ------------------------------------------------------------------ recurrent product, per layout */

/* Band: row b of the padded, double-buffered copy for step t. */
INLINE float *band_row(const Lane *L, int t, int b) {
    return L->w->xpad + (size_t)(t & 1) * L->B * L->ldx + (size_t)b * L->ldx;
}

/* Before the time loop, my part of W_rec in the form the forward product reads. */
INLINE void rec_prepare_forward(const Lane *L) {
    if (L->m->layout == LM_LAYOUT_DENSE)   /* wt[k][i] = W[i][k], rows k of mine */
        lm_k_transpose(L->N, L->W, L->N, L->w->wt, L->N, L->i0, L->i1);
}

/* out[b][i] = sum_j W[i][j] h_{t-1}[b][j] for my batch rows and units [u0, u1) (dense: all units):
 * [rnb][N] x W^T. `hp` = h_{t-1} [B][N]. */
INLINE void rec_product_forward(const Lane *L, int t, const float *hp, float *out, int u0, int u1) {
    const LmModel *m = L->m;
    LmWork *w = L->w;
    const int N = L->N;
    switch (m->layout) {
    case LM_LAYOUT_DENSE: lm_k_gemm_rows(L->nb, N, hp + (size_t)L->b0 * N, N, w->wt, N, out, N, 0, N); break;
    case LM_LAYOUT_BAND:
        lm_k_band(L->rnb, m->n_diag, m->dia_off, w->band, N, band_row(L, t - 1, L->rb0), L->ldx, m->pad, out, N, u0,
                  u1);
        break;
    case LM_LAYOUT_CSR:
        lm_k_sparse_rows(L->rnb, m->row_ptr, m->col_idx, NULL, L->W, w->ht + (size_t)(t - 1) * L->B + L->rb0, L->TB,
                         out, N, u0, u1);
        break;
    }
}

/* Keep units [u0, u1) of row b of h_t (or ds_t) where the next product reads them: the padded band rows
 * or the transposed [N][TB] copy `tr` of the CSR layout. */
INLINE void rec_stash(const Lane *L, int t, int b, const float *v, float *tr, int u0, int u1) {
    switch (L->m->layout) {
    case LM_LAYOUT_DENSE: break;   /* read in place */
    case LM_LAYOUT_BAND: memcpy(band_row(L, t, b) + L->m->pad + u0, v + u0, (size_t)(u1 - u0) * sizeof(float)); break;
    case LM_LAYOUT_CSR:
        for (int i = u0; i < u1; i++) tr[(size_t)i * L->TB + (size_t)t * L->B + b] = v[i];
        break;
    }
}

/* out[b][j] = sum_i W[i][j] ds_t[b][i] for my batch rows and units [u0, u1) (dense: all units):
 * [rnb][N] x W. */
INLINE void rec_product_backward(const Lane *L, int t, float *out, int u0, int u1) {
    const LmModel *m = L->m;
    LmWork *w = L->w;
    const int N = L->N;
    switch (m->layout) {
    case LM_LAYOUT_DENSE:
        lm_k_gemm_rows(L->nb, N, w->d + ((size_t)t * L->B + L->b0) * N, N, L->W, N, out, N, 0, N);
        break;
    case LM_LAYOUT_BAND:
        lm_k_band(L->rnb, m->n_diag, m->dia_noff, w->band_t, N, band_row(L, t, L->rb0), L->ldx, m->pad, out, N, u0,
                  u1);
        break;
    case LM_LAYOUT_CSR:
        lm_k_sparse_rows(L->rnb, m->col_ptr, m->csc_row, m->csc_pos, L->W, w->dt + (size_t)t * L->B + L->rb0, L->TB,
                         out, N, u0, u1);
        break;
    }
}


/* dW_rec[mine] = ds[1:][mine]^T H[:-1]: [mine][R] x [R][N] (R = (T-1)*B pairs (ds_t, h_{t-1}), t >= 1:
 * h_0 = 0 contributes nothing), then masked. */
INLINE void rec_grad_dense(const Lane *L, float *gw, int R) {
    const LmModel *m = L->m;
    const int N = L->N, i0 = L->i0, i1 = L->i1;
    if (i1 <= i0) return;
    if (R > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1 - i0, N, R, 1.0f, L->w->d + (size_t)L->B * N + i0, N,
                    L->w->h, N, 0.0f, gw + (size_t)i0 * N, N);
    else
        memset(gw + (size_t)i0 * N, 0, (size_t)(i1 - i0) * N * sizeof(float));
    if (m->mask.nnz < (int64_t)N * N) {
        const uint8_t *mk = m->dense_mask;
        for (size_t k = (size_t)i0 * N; k < (size_t)i1 * N; k++)
            if (!mk[k]) gw[k] = 0.0f;
    }
}

/* The same per diagonal, in blocks of rows of ds and h that stay in L1 across all the diagonals; then
 * gathered back into CSR order. Wide networks go in tiles of units, each walking all the rows, so that
 * the tile's part of the gradient band ([n_diag][tile]) stays in L2 instead of being streamed from
 * memory once per row block. Every element still adds its rows in order: the same bits either way. */
INLINE void rec_grad_band(const Lane *L, float *gw, int R) {
    const LmModel *m = L->m;
    LmWork *w = L->w;
    const int N = L->N, i0 = L->i0, i1 = L->i1;
    for (int d = 0; d < m->n_diag; d++) memset(w->gband + (size_t)d * N + i0, 0, (size_t)(i1 - i0) * sizeof(float));
    const int tile = i1 - i0 > 2 * BAND_TILE_UNITS ? BAND_TILE_UNITS : i1 - i0;
    const int width = tile > 0 ? tile : 1, span = tile < i1 - i0 ? width : N;   /* row length in a block */
    const int br = span <= BAND_L1_FLOATS / 2 ? BAND_L1_FLOATS / (2 * span) : 1;
    for (int u0 = i0; u0 < i1; u0 += width) {
        int u1 = u0 + width < i1 ? u0 + width : i1;
        for (int r0 = 0; r0 < R; r0 += br)
            lm_k_band_grad(R - r0 < br ? R - r0 : br, m->n_diag, m->dia_off, N, w->d + (size_t)(L->B + r0) * N,
                           w->h + (size_t)r0 * N, w->gband, u0, u1);
    }
    for (int32_t p = m->row_ptr[i0]; p < m->row_ptr[i1]; p++) gw[p] = w->gband[m->dia_pos[p]];
}

/* Each non-zero (i, j): the dot of ds[.][i] and h[.][j] over the R rows, both transposed. */
INLINE void rec_grad_csr(const Lane *L, float *gw, int R) {
    const LmModel *m = L->m;
    const LmWork *w = L->w;
    const int TB = L->TB, B = L->B;
    for (int i = L->i0; i < L->i1; i++)
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++)
            gw[p] = R > 0 ? lm_k_dot(w->dt + (size_t)i * TB + B, w->ht + (size_t)m->col_idx[p] * TB, R) : 0.0f;
}

INLINE void rec_grad(const Lane *L) {
    float *gw = lm_g(L->m, T_W_REC);
    const int R = (L->T - 1) * L->B;
    switch (L->m->layout) {
    case LM_LAYOUT_DENSE: rec_grad_dense(L, gw, R); break;
    case LM_LAYOUT_BAND: rec_grad_band(L, gw, R); break;
    case LM_LAYOUT_CSR: rec_grad_csr(L, gw, R); break;
    }
}

/* My units' part of W_rec in diagonal layout (the CSR values of my rows) and transposed (those of my
 * columns, through the CSC index), before the recurrence reads them. Each thread writes only positions
 * d*N + i of its own units. (Serially, this took 80 ms of each forward at N = 262 144.) */
INLINE void band_fill(const Lane *L) {
    const LmModel *m = L->m;
    LmWork *w = L->w;
    const int N = L->N, i0 = L->i0, i1 = L->i1;
    if (m->layout != LM_LAYOUT_BAND || i1 <= i0) return;
    for (int d = 0; d < m->n_diag; d++) {
        memset(w->band + (size_t)d * N + i0, 0, (size_t)(i1 - i0) * sizeof(float));
        memset(w->band_t + (size_t)d * N + i0, 0, (size_t)(i1 - i0) * sizeof(float));
    }
    const float *v = L->W;
    for (int32_t p = m->row_ptr[i0]; p < m->row_ptr[i1]; p++) w->band[m->dia_pos[p]] = v[p];
    for (int32_t q = m->col_ptr[i0]; q < m->col_ptr[i1]; q++) {
        int32_t p = m->csc_pos[q];
        w->band_t[m->dia_tpos[p]] = v[p];
    }
}

/* ------------------------------------------------------------------ input stage */

/* pre[.][mine] = X W_in[mine]^T: [TB][n_in] x [n_in][mine], from X's non-zeros when X is sparse. */
INLINE void input_forward(const Lane *L) {
    const LmModel *m = L->m;
    LmWork *w = L->w;
    const int N = L->N, n_in = L->n_in, i0 = L->i0, i1 = L->i1;
    if (w->x_sparse) {
        if (L->c->lay_out) lm_k_transpose(i1 - i0, lm_cp(m, T_W_IN) + (size_t)i0 * n_in, n_in, w->wint + i0, N, 0, n_in);
        lm_k_sparse_left(L->TB, n_in, w->x_ptr, w->x_idx, w->x_val, w->wint, N, w->pre, N, i0, i1);
    } else {
        int k0, k1;
        gemm_span(N, L->tid, L->nth, &k0, &k1);
        for (int k = k0; k < k1; k += GEMM_BLOCK)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L->TB, gemm_width(k, k1), n_in, 1.0f, L->c->x, n_in,
                        lm_cp(m, T_W_IN) + (size_t)k * n_in, n_in, 0.0f, w->pre + k, N);
    }
}

/* dW_in[mine] = ds[.][mine]^T X: [mine][TB] x [TB][n_in]; from X's non-zeros when X is sparse (into
 * dW_in^T [n_in][mine], then transposed). */
INLINE void input_backward(const Lane *L) {
    LmModel *m = L->m;
    LmWork *w = L->w;
    const int N = L->N, n_in = L->n_in, i0 = L->i0, i1 = L->i1;
    if (w->x_sparse) {
        for (int k = 0; k < n_in; k++) memset(w->gwint + (size_t)k * N + i0, 0, (size_t)(i1 - i0) * sizeof(float));
        lm_k_sparse_left_t(L->TB, n_in, w->x_ptr, w->x_idx, w->x_val, w->d, N, w->gwint, N, i0, i1);
        lm_k_transpose(n_in, w->gwint, N, lm_g(m, T_W_IN), n_in, i0, i1);
    } else {
        int k0, k1;
        gemm_span(N, L->tid, L->nth, &k0, &k1);
        for (int k = k0; k < k1; k += GEMM_BLOCK)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, gemm_width(k, k1), n_in, L->TB, 1.0f, w->d + k, N,
                        L->c->x, n_in, 0.0f, lm_g(m, T_W_IN) + (size_t)k * n_in, n_in);
    }
}

/* ------------------------------------------------------------------ recurrence stage */

/* One step's update of units [i0, i1) of row b. s = pre (= x W_in^T on entry) + bias + noise + rec. */
INLINE void forward_units(LmActivation act, int yang, float a, float leak, float *restrict pre, float *restrict h,
                          const float *restrict hp, const float *restrict bias, const float *restrict nz,
                          const float *restrict rec, int i0, int i1) {
#pragma omp simd
    for (int i = i0; i < i1; i++) {
        float s = pre[i] + bias[i] + nz[i] + rec[i];
        if (yang) {
            pre[i] = s;
            h[i] = leak * hp[i] + a * act_f(act, s);
        } else {
            float u = leak * hp[i] + a * s;
            pre[i] = u;
            h[i] = act_f(act, u);
        }
    }
}

/* h_t for my batch rows and units [u0, u1): [rnb][u1 - u0]. */
INLINE void forward_span(const Lane *L, int t, int u0, int u1) {
    LmWork *w = L->w;
    const int N = L->N, B = L->B;
    const float *hp = t > 0 ? w->h + (size_t)(t - 1) * B * N : w->zeros;   /* h_{t-1} [B][N] */
    const float *rec = w->zeros;
    if (t > 0) {
        rec_product_forward(L, t, hp, w->rec + (size_t)L->rb0 * N, u0, u1);
        rec = w->rec;
    }
    for (int b = L->rb0; b < L->rb1; b++) {
        size_t r = ((size_t)t * B + b) * N, o = (size_t)b * N;
        const float *nz = L->c->noisy ? w->noise + r : w->zeros + o;
        float *pre = w->pre + r, *h = w->h + r;
#define FWD(ACT, YANG) forward_units(ACT, YANG, L->a, L->leak, pre, h, hp + o, w->bias, nz, rec + o, u0, u1)
        switch (L->act * 2 + L->yang) {   /* each combination compiled with its constants */
        case 0: FWD(LM_ACT_RELU, 0); break;
        case 1: FWD(LM_ACT_RELU, 1); break;
        case 2: FWD(LM_ACT_SOFTPLUS, 0); break;
        case 3: FWD(LM_ACT_SOFTPLUS, 1); break;
        case 4: FWD(LM_ACT_TANH, 0); break;
        default: FWD(LM_ACT_TANH, 1); break;
        }
#undef FWD
        if (!w->hooked) rec_stash(L, t, b, h, w->ht, u0, u1);
    }
}

/* One step of BPTT for units [i0, i1) of row b: g = dL/dh_t (readout + leak carry + W^T ds_{t+1}). */
INLINE void backward_units(LmActivation act, int yang, float a, float leak, float *restrict d,
                           float *restrict carry, const float *restrict rec, const float *restrict pre,
                           const float *restrict h, int i0, int i1) {
#pragma omp simd
    for (int i = i0; i < i1; i++) {
        float g = d[i] + carry[i] + rec[i];
        if (yang) {
            d[i] = g * a * act_df(act, pre[i], 0, 0);
            carry[i] = leak * g;
        } else {
            float du = g * act_df(act, pre[i], h[i], 1);
            d[i] = a * du;
            carry[i] = leak * du;
        }
    }
}

/* From this many units on, when my share is every batch row, the readout's gradient into h is taken for
 * all steps before the recurrence, each block of W_out's columns staying in L1 while all rows pass; step
 * by step, the whole W_out ([n_out][N], 18 MB at N = 262 144) would stream from memory at every step.
 * The same kernel computes each element the same way either way: the same bits. */
INLINE int wide_readout(const Lane *L) { return L->N >= UNIT_SPLIT_MIN_UNITS && L->rnb == L->B; }

/* bsum[i] += ds_t[b][i] for my batch rows b in order, units [u0, u1), vectorised across the units. */
INLINE void bias_sum(const Lane *L, int t, int u0, int u1, double *restrict bsum) {
    for (int b = L->rb0; b < L->rb1; b++) {
        const float *restrict d = L->w->d + ((size_t)t * L->B + b) * L->N;
#pragma omp simd
        for (int i = u0; i < u1; i++) bsum[i] += d[i];
    }
}

/* ds_t for my batch rows and units [u0, u1): [rnb][u1 - u0], from the readout's part d_t, the carry and
 * W^T ds_{t+1}; adds ds_t into bsum [N] (step by step, every unit's sum goes in time order). */
INLINE void backward_span(const Lane *L, int t, int u0, int u1, double *bsum) {
    LmModel *m = L->m;
    LmWork *w = L->w;
    const int N = L->N, B = L->B, n_out = L->n_out, b0 = L->rb0;
    /* d_t = dlogits_t W_out ([rnb][n_out] x [n_out][N]): the readout's gradient into h_t (wide networks:
     * all steps at once, readout_into_hidden) */
    if (!wide_readout(L))
        lm_k_gemm_rows(L->rnb, n_out, w->probs + ((size_t)t * B + b0) * n_out, n_out, lm_cp(m, T_W_OUT), N,
                       w->d + ((size_t)t * B + b0) * N, N, u0, u1);
    const float *rec = w->zeros;   /* nothing flows back from beyond the window */
    if (t < L->T - 1) {
        rec_product_backward(L, t + 1, w->rec + (size_t)b0 * N, u0, u1);
        rec = w->rec;
    }
    for (int b = b0; b < L->rb1; b++) {
        size_t r = ((size_t)t * B + b) * N, o = (size_t)b * N;
        float *d = w->d + r;
#define BWD(ACT, YANG) backward_units(ACT, YANG, L->a, L->leak, d, w->carry + o, rec + o, w->pre + r, w->h + r, u0, u1)
        switch (L->act * 2 + L->yang) {
        case 0: BWD(LM_ACT_RELU, 0); break;
        case 1: BWD(LM_ACT_RELU, 1); break;
        case 2: BWD(LM_ACT_SOFTPLUS, 0); break;
        case 3: BWD(LM_ACT_SOFTPLUS, 1); break;
        case 4: BWD(LM_ACT_TANH, 0); break;
        default: BWD(LM_ACT_TANH, 1); break;
        }
#undef BWD
        if (!w->hooked) rec_stash(L, t, b, d, w->dt, u0, u1);
    }
    if (!w->hooked) bias_sum(L, t, u0, u1, bsum);
}

/* ------------------------------------------------------------------ the band wavefront */

/* Wide band networks go through the time loop in blocks of `steps` steps and each block in tiles of
 * `tile` units: a tile goes through all the block's steps before the next tile starts, shifted `skew`
 * units to the left at each step, so that its part of the band and of the padded rows stays in cache for
 * the block instead of streaming from memory at every step (docs/performance.md, "The band wavefront").
 * With skew >= pad the order is valid: a tile's step reads the previous step's units up to `pad` to its
 * right, which the same tile has just computed, and it overwrites (in the double-buffered padded rows) only
 * values that the tiles still to come no longer read. With threads, each first works the trapezoid of its
 * own units (an edge shared with a neighbour moves in by `skew` per step), then, after a barrier, the
 * triangle over its right edge: two barriers per block instead of one per step. Every unit goes through
 * the same kernel calls as step by step, in the same time order: the same bits. */
typedef struct {
    int steps, skew, tile;   /* steps = 0: step by step */
} Wave;

/* Measured at N = 65 536 and 262 144 (docs/performance.md, "The band wavefront"): one thread, blocks of 8
 * to 32 steps are within the noise, tiles of 4 096 units lose to 16 384 and more. With threads, each
 * block's triangles are done by one thread of each pair while the other waits (k steps: (k - 1) skew
 * units per step against a thread's share), while longer blocks reuse the band more: blocks are as long
 * as keeps the triangles within 1/WAVE_TRIANGLE_SHARE of a share, from WAVE_STEPS_THREADS to WAVE_STEPS
 * steps (N = 65 536: 4 steps; 262 144: 8, 8 % faster than 4; 1M: 11, the same as 4 to 16). */
#ifndef WAVE_STEPS
#define WAVE_STEPS 16
#endif
#ifndef WAVE_STEPS_THREADS
#define WAVE_STEPS_THREADS 4
#endif
#ifndef WAVE_TRIANGLE_SHARE
#define WAVE_TRIANGLE_SHARE 16
#endif
#ifndef WAVE_TILE_UNITS
#define WAVE_TILE_UNITS 32768
#endif

INLINE Wave wave_plan(const Lane *L) {
    Wave v = {0, 0, 0};
    const LmWork *w = L->w;
    if (L->m->layout != LM_LAYOUT_BAND || w->hooked || !wide_readout(L) || (L->nth > 1 && !L->by_units)) return v;
    v.skew = (L->m->pad + 15) / 16 * 16;   /* multiples of 16 keep the kernels' vector blocks aligned */
    v.tile = w->wave_tile ? w->wave_tile : WAVE_TILE_UNITS;
    int steps = WAVE_STEPS;
    if (L->nth > 1 && v.skew > 0) {   /* (skew 0: autapses only, no triangles) */
        int share = L->N / L->nth, k = 1 + share / (WAVE_TRIANGLE_SHARE * v.skew);
        steps = k < WAVE_STEPS_THREADS ? WAVE_STEPS_THREADS : k < WAVE_STEPS ? k : WAVE_STEPS;
    }
    if (w->wave_steps) steps = w->wave_steps;
    for (int k = 0; k < L->nth && v.skew > 0; k++) {   /* the triangles of two edges keep clear of each other */
        int i0, i1;
        lm_k_split(L->N, k, L->nth, &i0, &i1);
        int fit = (i1 - i0 - v.skew) / (2 * v.skew);
        steps = fit < steps ? fit : steps;
    }
    steps = steps < L->T ? steps : L->T;   /* with the tile at most N, no index passes N + T pad */
    v.tile = v.tile < L->N ? v.tile : L->N;
    v.steps = steps >= 2 ? steps : 0;
    return v;
}

/* Step s of the block's own direction: forward t = s, backward t = T-1-s. */
INLINE void wave_span(const Lane *L, int backward, int s, int u0, int u1, double *bsum) {
    if (u0 >= u1) return;
    if (backward)
        backward_span(L, L->T - 1 - s, u0, u1, bsum);
    else
        forward_span(L, s, u0, u1);
}

/* The whole time loop of my units [i0, i1); bsum and bsum_next: my and my right neighbour's bias sums. */
INLINE void wave_run(const Lane *L, Wave v, int backward, double *bsum, double *bsum_next) {
    const int S = v.skew, U = v.tile, A = L->i0, E = L->i1;
    const int lo = L->tid > 0, hi = L->tid < L->nth - 1;   /* edges shared with a neighbour */
    for (int s0 = 0; s0 < L->T; s0 += v.steps) {
        const int k = L->T - s0 < v.steps ? L->T - s0 : v.steps;
        for (int x = A; x < E + (k - 1) * S; x += U)   /* the tiles, left to right, each through the block */
            for (int s = 0; s < k; s++) {
                int u0 = x - s * S, u1 = x + U - s * S, a = A + lo * s * S, e = E - hi * s * S;
                wave_span(L, backward, s0 + s, u0 > a ? u0 : a, u1 < e ? u1 : e, bsum);
            }
        if (L->nth == 1) continue;
        lm_barrier_wait(L->bar);   /* every trapezoid is done */
        for (int s = 1; s < k && hi; s++) {
            wave_span(L, backward, s0 + s, E - s * S, E, bsum);
            wave_span(L, backward, s0 + s, E, E + s * S, bsum_next);
        }
        lm_barrier_wait(L->bar);   /* the block is done */
    }
}

/* ------------------------------------------------------------------ the time loops */

/* h_t for my share, t = 0 .. T-1. */
INLINE void recurrence_forward(const Lane *L) {
    LmWork *w = L->w;
    const int N = L->N, B = L->B;
    const Wave v = wave_plan(L);
    if (v.steps) {
        wave_run(L, v, 0, NULL, NULL);
        return;
    }
    for (int t = 0; t < L->T && L->rnb > 0; t++) {
        forward_span(L, t, L->ru0, L->ru1);
        if (w->hooked) {   /* the halo units' h_t from their owners, then kept for the next step */
            w->hooks.forward_step(w->hooks.ctx, t, w->h + (size_t)t * B * N, B, N);
            for (int b = L->rb0; b < L->rb1; b++)
                rec_stash(L, t, b, w->h + ((size_t)t * B + b) * N, w->ht, L->ru0, L->ru1);
        }
        if (L->by_units) lm_barrier_wait(L->bar);   /* every unit's h_t is kept before step t + 1 reads it */
    }
}

/* ds_t for my share, t = T-1 .. 0; the bias gradient's partial sums into bpart [threads][N]. */
INLINE void recurrence_backward(const Lane *L, double *bpart) {
    LmWork *w = L->w;
    const int N = L->N, B = L->B, u0 = L->ru0, u1 = L->ru1;
    double *bsum = bpart + (size_t)L->tid * N;
    for (int b = L->rb0; b < L->rb1; b++) memset(w->carry + (size_t)b * N + u0, 0, (size_t)(u1 - u0) * sizeof(float));
    for (int i = 0; i < N; i++) bsum[i] = 0;
    const Wave v = wave_plan(L);
    if (v.steps) {
        if (L->nth > 1) lm_barrier_wait(L->bar);   /* a triangle adds into its neighbour's sums and carry */
        wave_run(L, v, 1, bsum, bsum + N);
        return;
    }
    for (int t = L->T - 1; t >= 0 && L->rnb > 0; t--) {
        backward_span(L, t, u0, u1, bsum);
        if (w->hooked) {   /* the halo units' ds_t from their owners */
            w->hooks.backward_step(w->hooks.ctx, t, w->d + (size_t)t * B * N, B, N);
            for (int b = L->rb0; b < L->rb1; b++) {
                const float *d = w->d + ((size_t)t * B + b) * N;
                for (int i = 0; i < N; i++) bsum[i] += d[i];
                rec_stash(L, t, b, d, w->dt, u0, u1);
            }
        }
        if (L->by_units) lm_barrier_wait(L->bar);   /* every unit's ds_t is kept before step t - 1 reads it */
    }
}
/* db_in = db_rec = the threads' partial sums of ds, added in thread order; my units. */
INLINE void bias_backward(const Lane *L) {
    const double *bpart = L->c->bpart;
    float *gbi = lm_g(L->m, T_B_IN), *gbr = lm_g(L->m, T_B_REC);
    for (int i = L->i0; i < L->i1; i++) {
        double sum = 0;
        for (int k = 0; k < L->nth; k++) sum += bpart[(size_t)k * L->N + i];
        gbi[i] = gbr[i] = (float)sum;
    }
}

/* ------------------------------------------------------------------ readout and loss stages */

/* logits[my rows] = H W_out^T: [rows][N] x [N][n_out], in blocks of GEMM_BLOCK rows from r0. */
INLINE void readout_product(const Lane *L, int r0, int r1) {
    LmWork *w = L->w;
    const int N = L->N, n_out = L->n_out;
    for (int r = r0; r < r1; r += GEMM_BLOCK)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, gemm_width(r, r1), n_out, N, 1.0f, w->h + (size_t)r * N,
                    N, lm_cp(L->m, T_W_OUT), N, 0.0f, w->logits + (size_t)r * n_out, n_out);
}

/* logits[r0, r1) += b_out; with labels, the softmax (kept for backward) and each row's cross-entropy
 * in double. */
INLINE void readout_loss(const Lane *L, int r0, int r1) {
    LmWork *w = L->w;
    const int n_out = L->n_out;
    const int32_t *labels = L->c->labels;
    const float *bo = lm_cp(L->m, T_B_OUT);
    for (int r = r0; r < r1; r++) {
        float *l = w->logits + (size_t)r * n_out;
        for (int k = 0; k < n_out; k++) l[k] += bo[k];
        if (!labels) continue;
        float *p = w->probs + (size_t)r * n_out;
        float mx = l[0];
        for (int k = 1; k < n_out; k++) mx = l[k] > mx ? l[k] : mx;
        float se = 0;
        for (int k = 0; k < n_out; k++) se += p[k] = expf(l[k] - mx);
        float inv = 1.0f / se;
        for (int k = 0; k < n_out; k++) p[k] *= inv;
        w->rowloss[r] = (double)mx + log((double)se) - l[labels[r]];
    }
}

/* The readout of my rows; a split network sums the partial products across processes in between
 * (lm_forward). */
INLINE void readout_forward(const Lane *L) {
    int r0, r1;
    gemm_span(L->TB, L->tid, L->nth, &r0, &r1);
    readout_product(L, r0, r1);
    if (!L->w->hooked) readout_loss(L, r0, r1);
}

/* d = dlogits W_out for every row and my share's units: [TB][n_out] x [n_out][ru1 - ru0]. */
INLINE void readout_into_hidden(const Lane *L) {
    lm_k_gemm_rows(L->TB, L->n_out, L->w->probs, L->n_out, lm_cp(L->m, T_W_OUT), L->N, L->w->d, L->N, L->ru0, L->ru1);
}

/* dW_out[.][my blocks] = dlogits^T H[.][my blocks]: [n_out][TB] x [TB][units]. (The readout's gradient
 * into h is taken step by step in recurrence_backward, where it is needed, or for wide networks all at
 * once by readout_into_hidden.) */
INLINE void readout_backward(const Lane *L) {
    LmWork *w = L->w;
    int k0, k1;
    gemm_span(L->N, L->tid, L->nth, &k0, &k1);
    for (int k = k0; k < k1; k += GEMM_BLOCK)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->n_out, gemm_width(k, k1), L->TB, 1.0f, w->probs,
                    L->n_out, w->h + k, L->N, 0.0f, lm_g(L->m, T_W_OUT) + k, L->N);
}

/* ------------------------------------------------------------------ the thread loops */

LM_CLONES static void forward_loop(void *vc, int tid, int nth, LmBarrier *bar) {
    const Lane L = lane_begin(vc, tid, nth, bar);
    input_forward(&L);
    if (L.c->lay_out) rec_prepare_forward(&L), band_fill(&L);
    lm_barrier_wait(bar);   /* every pre column and W_rec^T row (or diagonal slice) is ready */
    recurrence_forward(&L);
    lm_barrier_wait(bar);   /* every h row is final */
    readout_forward(&L);
}

LM_CLONES static void backward_loop(void *vc, int tid, int nth, LmBarrier *bar) {
    const Lane L = lane_begin(vc, tid, nth, bar);
    readout_backward(&L);
    if (wide_readout(&L)) readout_into_hidden(&L);
    recurrence_backward(&L, L.c->bpart);
    lm_barrier_wait(bar);   /* every ds row and partial bias sum is final */
    bias_backward(&L);
    input_backward(&L);
    rec_grad(&L);
}

/* X as CSR over rows if sparse enough; returns whether it is. */
static int index_inputs(LmWork *w, const float *x, int TB, int n_in) {
    size_t nnz = 0, total = (size_t)TB * n_in;
    for (size_t k = 0; k < total; k++) nnz += x[k] != 0.0f;
    if (nnz > LM_INPUT_SPARSE_MAX * (double)total) return 0;
    if (nnz > w->x_cap || !w->x_idx) {
        w->x_cap = nnz + nnz / 4 + 16;
        free(w->x_idx), free(w->x_val);
        w->x_idx = lm_malloc(w->x_cap * sizeof(int32_t));
        w->x_val = lm_malloc(w->x_cap * sizeof(float));
    }
    int32_t q = 0;
    for (int r = 0; r < TB; r++) {
        w->x_ptr[r] = q;
        const float *xr = x + (size_t)r * n_in;
        for (int k = 0; k < n_in; k++)
            if (xr[k] != 0.0f) w->x_idx[q] = k, w->x_val[q++] = xr[k];
    }
    w->x_ptr[TB] = q;
    return 1;
}

double lm_forward(LmModel *m, LmWork *w, const float *x, const int32_t *labels, const uint8_t *decision,
                  const LmLossConfig *loss, int T, int B, LmRng *noise_rng) {
    const LmModelConfig *c = &m->cfg;
    LM_ASSERT(T > 0 && B > 0 && T <= w->T && B <= w->B && w->N == c->n_hidden && w->layout == m->layout);
    const int N = c->n_hidden, n_in = c->n_in, n_out = c->n_out, TB = T * B;
    const int noisy = noise_rng && c->sigma_rec > 0 && w->noise;
    w->last_T = T, w->last_B = B, w->noise_drawn = noisy;

    if (labels) {
        if (loss && loss->decision_only && !decision) {
            lm_err_set("decision-only loss needs the decision flags");
            return NAN;
        }
        for (int r = 0; r < TB; r++)
            if (labels[r] < 0 || labels[r] >= n_out) {
                lm_err_set("label %d at step %d row %d is outside [0, %d)", labels[r], r / B, r % B, n_out);
                return NAN;
            }
    }
    w->x_sparse = index_inputs(w, x, TB, n_in);
    if (noisy) draw_noise(m, w, T, B, noise_rng);
    for (int i = 0; i < N; i++) w->bias[i] = lm_cp(m, T_B_IN)[i] + lm_cp(m, T_B_REC)[i];
    /* W_in^T is laid out only when X is sparse: a kept one may date from a dense window */
    int kept = w->params_fixed && w->laid_out == m && w->wint_ready >= w->x_sparse;
    Ctx ctx = {m, w, x, labels, NULL, T, B, noisy, !kept};
    LM_ASSERT(!w->hooked || omp_get_max_threads() == 1);
    lm_parallel(forward_loop, &ctx);
    if (!kept) w->laid_out = w->params_fixed ? m : NULL, w->wint_ready = w->x_sparse;
    if (w->hooked) {
        w->hooks.logits(w->hooks.ctx, w->logits, TB, n_out);
        const Lane L = lane_begin(&ctx, 0, 1, NULL);
        readout_loss(&L, 0, TB);
    }
    if (!labels) return 0;

    /* loss: the weighted mean of the rows' cross-entropies, summed in row order (the same for any
     * thread count) */
    double total = 0, wsum = 0;
    for (int r = 0; r < TB; r++) {
        double wr = row_weight(loss, labels, decision, (size_t)r);
        total += wr * w->rowloss[r];
        wsum += wr;
    }
    w->wsum = wsum;
    return wsum > 0 ? total / wsum : 0.0;
}

void lm_backward(LmModel *m, LmWork *w, const float *x, const int32_t *labels, const uint8_t *decision,
                 const LmLossConfig *loss, int T, int B) {
    const LmModelConfig *c = &m->cfg;
    LM_ASSERT(T == w->last_T && B == w->last_B && labels);
    const int n_out = c->n_out, TB = T * B;

    /* loss: dlogits = w_r / sum(w) (softmax - onehot), in place over the stored softmax; db_out */
    double inv = w->wsum > 0 ? 1.0 / w->wsum : 0.0;
    float *gbo = lm_g(m, T_B_OUT);
    double sbo[n_out];
    for (int k = 0; k < n_out; k++) sbo[k] = 0;
    for (int r = 0; r < TB; r++) {
        float *p = w->probs + (size_t)r * n_out;
        float wr = (float)(inv * row_weight(loss, labels, decision, (size_t)r));
        p[labels[r]] -= 1.0f;
        for (int k = 0; k < n_out; k++) sbo[k] += p[k] *= wr;
    }
    for (int k = 0; k < n_out; k++) gbo[k] = (float)sbo[k];
    /* the other stages, backward, in the threads' loop */
    int nth_max = omp_get_max_threads();
    Ctx ctx = {m, w, x, labels, NULL, T, B, 0, 0};
    ctx.bpart = lm_malloc((size_t)(nth_max > 0 ? nth_max : 1) * c->n_hidden * sizeof(double));
    lm_parallel(backward_loop, &ctx);
    free(ctx.bpart);
}
