/* Forward pass and backpropagation through time over one window (docs/model.md §1, §4).
 *
 * Shapes (r = t*B + b indexes the T*B rows, time-major):
 *   x [T][B][n_in]  pre [T][B][N]  h [T][B][N]  logits, probs [T][B][n_out]  d [T][B][N]
 * The products that do not depend on the recurrence are hoisted out of the time loop into single
 * sgemms over all T*B rows: the input projection X W_in^T, the readout H W_out^T, and in backward
 * dW_out, the readout's gradient into h, dW_in and dW_rec. Only the recurrent product itself is done
 * step by step, by a team of threads that each own a fixed range of units (one barrier per step, no
 * shared sums: results depend on the thread count only through OpenBLAS). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/internal.h"
#include "model/kernels.h"
#include "model/parallel.h"
#include "util/err.h"

struct LmWork {
    int T, B, N, n_out, sparse;
    int last_T, last_B, noise_drawn;
    float *pre;      /* [T][B][N] ngym: u = (1-a) h_prev + a s; yang: s (s = the full input sum) */
    float *h;        /* [T][B][N] */
    float *d;        /* [T][B][N] backward: dL/dh from the readout, then dL/ds */
    float *noise;    /* [T][B][N] when sigma_rec > 0 */
    float *logits;   /* [T][B][n_out] */
    float *probs;    /* [T][B][n_out] softmax of the logits (forward with labels), then dL/dlogits */
    float *bias;     /* [N] b_in + b_rec */
    float *zeros;    /* [B][N] stands for h_0, absent noise, and the first step's recurrent term */
    float *wt;       /* [N][N] dense: W_rec^T for the forward product */
    float *rec;      /* [B][N] recurrent product of the current step */
    float *carry;    /* [B][N] backward: the leak term passed to the previous step */
    /* sparse, banded: W_rec and W_rec^T in diagonal layout, the gradient band, and h_{t-1} (forward) or
     * ds_t (backward) rows zero-padded on both sides, double-buffered [2][B][N + 2 pad] */
    float *band, *band_t, *gband, *xpad;
    /* sparse, general (CSR): h and ds transposed [N][T*B], written as they are produced */
    float *ht, *dt;
    /* sparse inputs: X as CSR over rows, W_in^T and dW_in^T [n_in][N] */
    int x_sparse;
    size_t x_cap;
    int32_t *x_ptr, *x_idx;
    float *x_val, *wint, *gwint;
    double *rowloss; /* [T*B] cross-entropy of each row */
    double wsum;     /* sum of the loss weights of the last forward */
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

LmWork *lm_work_new(const LmModel *m, int T, int B) {
    LM_ASSERT(T > 0 && B > 0);
    openblas_set_num_threads(1);   /* our threads call OpenBLAS concurrently: see threads.c */
    LmWork *w = lm_calloc(1, sizeof *w);
    int N = m->cfg.n_hidden;
    size_t tbn = (size_t)T * B * N;
    w->T = T, w->B = B, w->N = N, w->n_out = m->cfg.n_out, w->sparse = m->sparse;
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
    if (m->sparse && m->dia) {
        size_t nb = (size_t)m->n_diag * N;
        w->band = lm_calloc_lines(nb * sizeof(float));
        w->band_t = lm_calloc_lines(nb * sizeof(float));
        w->gband = lm_calloc_lines(nb * sizeof(float));
        w->xpad = lm_calloc_lines((size_t)2 * B * (N + 2 * m->pad) * sizeof(float));   /* margins stay 0 */
    } else if (m->sparse) {
        w->ht = lm_calloc_lines(tbn * sizeof(float));
        w->dt = lm_calloc_lines(tbn * sizeof(float));
    } else {
        w->wt = lm_calloc_lines((size_t)N * N * sizeof(float));
    }
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
} Ctx;

/* Rows [*r0, *r1) of `rows` for thread tid of nth. */
static inline void split_rows(int rows, int tid, int nth, int *r0, int *r1) {
    *r0 = (int)((int64_t)rows * tid / nth);
    *r1 = (int)((int64_t)rows * (tid + 1) / nth);
}

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

LM_CLONES static void forward_loop(void *vc, int tid, int nth, LmBarrier *bar) {
    Ctx *c = vc;
    LmModel *m = c->m;
    LmWork *w = c->w;
    const int N = w->N, T = c->T, B = c->B, TB = T * B, n_in = m->cfg.n_in, yang = m->cfg.rule == LM_RULE_YANG;
    const float a = (float)m->cfg.alpha, leak = (float)(1.0 - m->cfg.alpha);
    const LmActivation act = m->cfg.act;
    const float *W = lm_cp(m, T_W_REC);
    const int ldx = N + 2 * m->pad;
    int i0, i1;
    lm_k_split(N, tid, nth, &i0, &i1);
    if (w->x_sparse) {   /* pre[.][mine] = X W_in^T from X's non-zeros */
        lm_k_transpose(i1 - i0, lm_cp(m, T_W_IN) + (size_t)i0 * n_in, n_in, w->wint + i0, N, 0, n_in);
        lm_k_sparse_left(TB, n_in, w->x_ptr, w->x_idx, w->x_val, w->wint, N, w->pre, N, i0, i1);
    } else if (i1 > i0) {   /* pre[.][mine] = X W_in[mine]^T: [TB][n_in] x [n_in][mine] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, TB, i1 - i0, n_in, 1.0f, c->x, n_in,
                    lm_cp(m, T_W_IN) + (size_t)i0 * n_in, n_in, 0.0f, w->pre + i0, N);
    }
    if (!m->sparse) lm_k_transpose(N, W, N, w->wt, N, i0, i1);   /* wt[k][i] = W[i][k], rows k of mine */
    lm_barrier_wait(bar);
    /* The time loop: batch rows are independent, so each thread runs its own rows through all the steps
     * with no synchronisation at all (a barrier per step would cost more than the step at N = 256). */
    int b0, b1;
    split_rows(B, tid, nth, &b0, &b1);
    const int nb = b1 - b0;
    for (int t = 0; t < T && nb > 0; t++) {
        const float *hp = t > 0 ? w->h + (size_t)(t - 1) * B * N : w->zeros;   /* h_{t-1} [B][N] */
        const float *rec = w->zeros;
        if (t > 0) {
            float *out = w->rec + (size_t)b0 * N;
            if (!m->sparse)
                lm_k_gemm_rows(nb, N, hp + (size_t)b0 * N, N, w->wt, N, out, N, 0, N);
            else if (m->dia)
                lm_k_band(nb, m->n_diag, m->dia_off, w->band, N, w->xpad + (size_t)((t - 1) & 1) * B * ldx + (size_t)b0 * ldx,
                          ldx, m->pad, out, N, 0, N);
            else
                lm_k_sparse_rows(nb, m->row_ptr, m->col_idx, NULL, W, w->ht + (size_t)(t - 1) * B + b0, TB, out, N, 0, N);
            rec = w->rec;
        }
        for (int b = b0; b < b1; b++) {
            size_t r = ((size_t)t * B + b) * N, o = (size_t)b * N;
            const float *nz = c->noisy ? w->noise + r : w->zeros + o;
            float *pre = w->pre + r, *h = w->h + r;
#define FWD(ACT, YANG) forward_units(ACT, YANG, a, leak, pre, h, hp + o, w->bias, nz, rec + o, 0, N)
            switch (act * 2 + yang) {
            case 0: FWD(LM_ACT_RELU, 0); break;
            case 1: FWD(LM_ACT_RELU, 1); break;
            case 2: FWD(LM_ACT_SOFTPLUS, 0); break;
            case 3: FWD(LM_ACT_SOFTPLUS, 1); break;
            case 4: FWD(LM_ACT_TANH, 0); break;
            default: FWD(LM_ACT_TANH, 1); break;
            }
#undef FWD
            if (m->sparse && m->dia)
                memcpy(w->xpad + (size_t)(t & 1) * B * ldx + (size_t)b * ldx + m->pad, h, (size_t)N * sizeof(float));
            else if (m->sparse)
                for (int i = 0; i < N; i++) w->ht[(size_t)i * TB + (size_t)t * B + b] = h[i];
        }
    }
    lm_barrier_wait(bar);
    /* logits[my rows] = H W_out^T + b_out: [rows][N] x [N][n_out] */
    const int n_out = m->cfg.n_out;
    int r0, r1;
    split_rows(TB, tid, nth, &r0, &r1);
    if (r1 > r0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, n_out, N, 1.0f, w->h + (size_t)r0 * N, N,
                    lm_cp(m, T_W_OUT), N, 0.0f, w->logits + (size_t)r0 * n_out, n_out);
    const float *bo = lm_cp(m, T_B_OUT);
    for (int r = r0; r < r1; r++) {
        float *l = w->logits + (size_t)r * n_out;
        for (int k = 0; k < n_out; k++) l[k] += bo[k];
        if (!c->labels) continue;
        /* softmax kept for backward; the row's cross-entropy in double */
        float *p = w->probs + (size_t)r * n_out;
        float mx = l[0];
        for (int k = 1; k < n_out; k++) mx = l[k] > mx ? l[k] : mx;
        float se = 0;
        for (int k = 0; k < n_out; k++) se += p[k] = expf(l[k] - mx);
        float inv = 1.0f / se;
        for (int k = 0; k < n_out; k++) p[k] *= inv;
        w->rowloss[r] = (double)mx + log((double)se) - l[c->labels[r]];
    }
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
    LM_ASSERT(T > 0 && B > 0 && T <= w->T && B <= w->B && w->N == c->n_hidden && w->sparse == m->sparse);
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
    /* pre = X W_in^T (in the threads' loop: from X's non-zeros when X is sparse, else sgemm by columns) */
    w->x_sparse = index_inputs(w, x, TB, n_in);
    if (noisy) draw_noise(m, w, T, B, noise_rng);
    if (m->sparse && m->dia) {   /* the CSR values in diagonal layout, and transposed */
        size_t nb = (size_t)m->n_diag * N;
        memset(w->band, 0, nb * sizeof(float));
        memset(w->band_t, 0, nb * sizeof(float));
        const float *v = lm_cp(m, T_W_REC);
        for (int64_t p = 0; p < m->n_rec; p++) w->band[m->dia_pos[p]] = w->band_t[m->dia_tpos[p]] = v[p];
    }
    for (int i = 0; i < N; i++) w->bias[i] = lm_cp(m, T_B_IN)[i] + lm_cp(m, T_B_REC)[i];
    Ctx ctx = {m, w, x, labels, NULL, T, B, noisy};
    lm_parallel(forward_loop, &ctx);
    if (!labels) return 0;

    /* Weighted mean of the rows' cross-entropies, summed in row order (the same for any thread count). */
    double total = 0, wsum = 0;
    for (int r = 0; r < TB; r++) {
        double wr = row_weight(loss, labels, decision, (size_t)r);
        total += wr * w->rowloss[r];
        wsum += wr;
    }
    w->wsum = wsum;
    return wsum > 0 ? total / wsum : 0.0;
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

LM_CLONES static void backward_loop(void *vc, int tid, int nth, LmBarrier *bar) {
    Ctx *c = vc;
    LmModel *m = c->m;
    LmWork *w = c->w;
    const int N = w->N, T = c->T, B = c->B, TB = T * B, n_in = m->cfg.n_in, yang = m->cfg.rule == LM_RULE_YANG;
    const float a = (float)m->cfg.alpha, leak = (float)(1.0 - m->cfg.alpha);
    const LmActivation act = m->cfg.act;
    const float *W = lm_cp(m, T_W_REC);
    const int ldx = N + 2 * m->pad;
    int i0, i1;
    lm_k_split(N, tid, nth, &i0, &i1);
    const int n_out = m->cfg.n_out;
    {   /* nothing flows back from beyond the window (my batch rows) */
        int r0, r1;
        split_rows(B, tid, nth, &r0, &r1);
        memset(w->carry + (size_t)r0 * N, 0, (size_t)(r1 - r0) * N * sizeof(float));
        memset(w->rec + (size_t)r0 * N, 0, (size_t)(r1 - r0) * N * sizeof(float));
    }
    /* dW_out[.][mine] = dlogits^T H[.][mine]: [n_out][TB] x [TB][mine] */
    if (i1 > i0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_out, i1 - i0, TB, 1.0f, w->probs, n_out, w->h + i0, N,
                    0.0f, lm_g(m, T_W_OUT) + i0, N);
    /* BPTT: each thread its own batch rows, no synchronisation (see forward_loop) */
    int b0, b1;
    split_rows(B, tid, nth, &b0, &b1);
    const int nb = b1 - b0;
    double *bsum = c->bpart + (size_t)tid * N;   /* my rows' sum of ds: db_in = db_rec */
    for (int i = 0; i < N; i++) bsum[i] = 0;
    for (int t = T - 1; t >= 0 && nb > 0; t--) {
        /* d_t = dlogits_t W_out ([nb][n_out] x [n_out][N]): the readout's gradient into h_t */
        lm_k_gemm_rows(nb, n_out, w->probs + ((size_t)t * B + b0) * n_out, n_out, lm_cp(m, T_W_OUT), N,
                       w->d + ((size_t)t * B + b0) * N, N, 0, N);
        for (int b = b0; b < b1; b++) {
            size_t r = ((size_t)t * B + b) * N, o = (size_t)b * N;
            float *d = w->d + r;
#define BWD(ACT, YANG) backward_units(ACT, YANG, a, leak, d, w->carry + o, w->rec + o, w->pre + r, w->h + r, 0, N)
            switch (act * 2 + yang) {
            case 0: BWD(LM_ACT_RELU, 0); break;
            case 1: BWD(LM_ACT_RELU, 1); break;
            case 2: BWD(LM_ACT_SOFTPLUS, 0); break;
            case 3: BWD(LM_ACT_SOFTPLUS, 1); break;
            case 4: BWD(LM_ACT_TANH, 0); break;
            default: BWD(LM_ACT_TANH, 1); break;
            }
#undef BWD
            for (int i = 0; i < N; i++) bsum[i] += d[i];
            if (m->sparse && m->dia)
                memcpy(w->xpad + (size_t)(t & 1) * B * ldx + (size_t)b * ldx + m->pad, d, (size_t)N * sizeof(float));
            else if (m->sparse)
                for (int i = 0; i < N; i++) w->dt[(size_t)i * TB + (size_t)t * B + b] = d[i];
        }
        if (t > 0) {   /* rec = W^T ds_t for my rows */
            float *out = w->rec + (size_t)b0 * N;
            if (!m->sparse)
                lm_k_gemm_rows(nb, N, w->d + ((size_t)t * B + b0) * N, N, W, N, out, N, 0, N);
            else if (m->dia)
                lm_k_band(nb, m->n_diag, m->dia_noff, w->band_t, N, w->xpad + (size_t)(t & 1) * B * ldx + (size_t)b0 * ldx,
                          ldx, m->pad, out, N, 0, N);
            else
                lm_k_sparse_rows(nb, m->col_ptr, m->csc_row, m->csc_pos, W, w->dt + (size_t)t * B + b0, TB, out, N, 0, N);
        }
    }
    lm_barrier_wait(bar);   /* every ds row is final */
    float *gbi = lm_g(m, T_B_IN), *gbr = lm_g(m, T_B_REC);
    for (int i = i0; i < i1; i++) {   /* threads' partial sums added in thread order */
        double sum = 0;
        for (int k = 0; k < nth; k++) sum += c->bpart[(size_t)k * N + i];
        gbi[i] = gbr[i] = (float)sum;
    }

    if (w->x_sparse) {   /* dW_in^T[k][mine] = sum over X's non-zeros in column k of x ds, then transposed */
        for (int k = 0; k < n_in; k++) memset(w->gwint + (size_t)k * N + i0, 0, (size_t)(i1 - i0) * sizeof(float));
        lm_k_sparse_left_t(TB, n_in, w->x_ptr, w->x_idx, w->x_val, w->d, N, w->gwint, N, i0, i1);
        lm_k_transpose(n_in, w->gwint, N, lm_g(m, T_W_IN), n_in, i0, i1);
    } else if (i1 > i0) {   /* dW_in[mine] = ds[.][mine]^T X: [mine][TB] x [TB][n_in] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1 - i0, n_in, TB, 1.0f, w->d + i0, N, c->x, n_in, 0.0f,
                    lm_g(m, T_W_IN) + (size_t)i0 * n_in, n_in);
    }
    float *gw = lm_g(m, T_W_REC);
    const int R = (T - 1) * B;   /* pairs (ds_t, h_{t-1}), t >= 1: h_0 = 0 contributes nothing */
    if (!m->sparse) {   /* dW_rec[mine] = ds[1:][mine]^T H[:-1]: [mine][R] x [R][N], then masked */
        if (i1 <= i0) return;
        if (R > 0)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1 - i0, N, R, 1.0f, w->d + (size_t)B * N + i0, N,
                        w->h, N, 0.0f, gw + (size_t)i0 * N, N);
        else
            memset(gw + (size_t)i0 * N, 0, (size_t)(i1 - i0) * N * sizeof(float));
        if (m->mask.nnz < (int64_t)N * N) {
            const uint8_t *mk = m->dense_mask;
            for (size_t k = (size_t)i0 * N; k < (size_t)i1 * N; k++)
                if (!mk[k]) gw[k] = 0.0f;
        }
        return;
    }
    if (m->dia) {
        for (int d = 0; d < m->n_diag; d++) memset(w->gband + (size_t)d * N + i0, 0, (size_t)(i1 - i0) * sizeof(float));
        /* blocks of rows of ds and h that stay in L1 across all the diagonals */
        const int br = N <= BAND_L1_FLOATS / 2 ? BAND_L1_FLOATS / (2 * N) : 1;
        for (int r0 = 0; r0 < R; r0 += br)
            lm_k_band_grad(R - r0 < br ? R - r0 : br, m->n_diag, m->dia_off, N, w->d + (size_t)(B + r0) * N,
                           w->h + (size_t)r0 * N, w->gband, i0, i1);
        for (int32_t p = m->row_ptr[i0]; p < m->row_ptr[i1]; p++) gw[p] = w->gband[m->dia_pos[p]];
    } else {   /* each non-zero (i, j): dot of ds[.][i] and h[.][j] over the R rows, both transposed */
        for (int i = i0; i < i1; i++)
            for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++)
                gw[p] = R > 0 ? lm_k_dot(w->dt + (size_t)i * TB + B, w->ht + (size_t)m->col_idx[p] * TB, R) : 0.0f;
    }
}

void lm_backward(LmModel *m, LmWork *w, const float *x, const int32_t *labels, const uint8_t *decision,
                 const LmLossConfig *loss, int T, int B) {
    const LmModelConfig *c = &m->cfg;
    LM_ASSERT(T == w->last_T && B == w->last_B && labels);
    const int n_out = c->n_out, TB = T * B;

    /* dlogits = w_r / sum(w) (softmax - onehot), in place over the stored softmax */
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
    /* dW_out, the readout's gradient into h, BPTT, dW_in and dW_rec: all in the threads' loop */
    int nth_max = omp_get_max_threads();
    Ctx ctx = {m, w, x, labels, NULL, T, B, 0};
    ctx.bpart = lm_malloc((size_t)(nth_max > 0 ? nth_max : 1) * c->n_hidden * sizeof(double));
    lm_parallel(backward_loop, &ctx);
    free(ctx.bpart);
}
