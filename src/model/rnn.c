/* Forward pass and backpropagation through time over one window (model.md §1, §4).
 *
 * Shapes (r = t*B + b indexes the T*B rows, time-major):
 *   x [T][B][n_in]  pre [T][B][N]  h [T][B][N]  logits [T][B][n_out]  d [T][B][N]
 * The products that do not depend on the recurrence are hoisted out of the time loop into single
 * sgemms over all T*B rows: the input projection X W_in^T, the readout H W_out^T, and in backward
 * dW_out, the readout's gradient into h, dW_in and dW_rec. Only the recurrent product itself is done
 * step by step, inside one OpenMP region where each thread owns a fixed range of units (one barrier per
 * step, no shared sums: results depend on the thread count only through OpenBLAS). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "model/internal.h"
#include "model/kernels.h"
#include "util/err.h"

struct LmWork {
    int T, B, N, n_out, sparse;
    int last_T, last_B, noise_drawn;
    float *pre;      /* [T][B][N] ngym: u = (1-a) h_prev + a s; yang: s (s = the full input sum) */
    float *h;        /* [T][B][N] */
    float *d;        /* [T][B][N] backward: dL/dh from the readout, then dL/ds */
    float *noise;    /* [T][B][N] when sigma_rec > 0 */
    float *logits;   /* [T][B][n_out] */
    float *dlogits;  /* [T][B][n_out] */
    float *bias;     /* [N] b_in + b_rec */
    float *wt;       /* [N][N] dense: W_rec^T for the forward product */
    float *rec;      /* [B][N] recurrent product of the current step */
    float *carry;    /* [B][N] backward: the leak term passed to the previous step */
    float *xt;       /* [2][N][B] sparse: transposed h_{t-1} (forward) or ds_t (backward), double-buffered */
    float *ht;       /* [N][T*B] sparse: transposed h for dW_rec */
    double wsum;     /* sum of the loss weights of the last forward */
};

LmWork *lm_work_new(const LmModel *m, int T, int B) {
    LM_ASSERT(T > 0 && B > 0);
    LmWork *w = lm_calloc(1, sizeof *w);
    int N = m->cfg.n_hidden;
    size_t tbn = (size_t)T * B * N;
    w->T = T, w->B = B, w->N = N, w->n_out = m->cfg.n_out, w->sparse = m->sparse;
    w->pre = lm_malloc(tbn * sizeof(float));
    w->h = lm_malloc(tbn * sizeof(float));
    w->d = lm_malloc(tbn * sizeof(float));
    if (m->cfg.sigma_rec > 0) w->noise = lm_malloc(tbn * sizeof(float));
    w->logits = lm_malloc((size_t)T * B * m->cfg.n_out * sizeof(float));
    w->dlogits = lm_malloc((size_t)T * B * m->cfg.n_out * sizeof(float));
    w->bias = lm_malloc((size_t)N * sizeof(float));
    w->rec = lm_calloc((size_t)B * N, sizeof(float));
    w->carry = lm_calloc((size_t)B * N, sizeof(float));
    if (m->sparse) {
        w->xt = lm_malloc((size_t)2 * N * B * sizeof(float));
        w->ht = lm_malloc(tbn * sizeof(float));
    } else {
        w->wt = lm_malloc((size_t)N * N * sizeof(float));
    }
    return w;
}

void lm_work_free(LmWork *w) {
    if (!w) return;
    free(w->pre), free(w->h), free(w->d), free(w->noise), free(w->logits), free(w->dlogits);
    free(w->bias), free(w->wt), free(w->rec), free(w->carry), free(w->xt), free(w->ht);
    free(w);
}

const float *lm_work_logits(const LmWork *w) { return w->logits; }
const float *lm_work_hidden(const LmWork *w) { return w->h; }
const float *lm_work_noise(const LmWork *w) { return w->noise && w->noise_drawn ? w->noise : NULL; }

static inline float act_f(LmActivation a, float u) {
    switch (a) {
    case LM_ACT_RELU: return u > 0 ? u : 0.0f;
    case LM_ACT_SOFTPLUS: return u > 0 ? u + log1pf(expf(-u)) : log1pf(expf(u));   /* no overflow */
    case LM_ACT_TANH: return tanhf(u);
    }
    return 0;
}

/* act'(u) given u and, when the activation's output is at hand, y = act(u) (else NAN). */
static inline float act_df(LmActivation a, float u, float y) {
    switch (a) {
    case LM_ACT_RELU: return u > 0 ? 1.0f : 0.0f;
    case LM_ACT_SOFTPLUS: return 1.0f / (1.0f + expf(-u));
    case LM_ACT_TANH: {
        float t = isnan(y) ? tanhf(u) : y;
        return 1.0f - t * t;
    }
    }
    return 0;
}

/* Loss weight of row r (model.md §4): 0 outside decision steps when decision_only, fix_weight for
 * label 0 (fixation), else 1. */
static inline double row_weight(const LmLossConfig *loss, const int32_t *labels, const uint8_t *decision, size_t r) {
    double fw = loss ? loss->fix_weight : 1.0;
    if (loss && loss->decision_only && !decision[r]) return 0;
    return labels[r] == 0 ? fw : 1.0;
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

double lm_forward(LmModel *m, LmWork *w, const float *x, const int32_t *labels, const uint8_t *decision,
                  const LmLossConfig *loss, int T, int B, LmRng *noise_rng) {
    const LmModelConfig *c = &m->cfg;
    LM_ASSERT(T > 0 && B > 0 && T <= w->T && B <= w->B && w->N == c->n_hidden && w->sparse == m->sparse);
    const int N = c->n_hidden, n_in = c->n_in, n_out = c->n_out, TB = T * B;
    const float a = (float)c->alpha, leak = (float)(1.0 - c->alpha);
    const LmActivation act = c->act;
    const int yang = c->rule == LM_RULE_YANG;
    const int noisy = noise_rng && c->sigma_rec > 0 && w->noise;
    w->last_T = T, w->last_B = B, w->noise_drawn = noisy;

    /* pre = X W_in^T: [TB][n_in] x [n_in][N] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, TB, N, n_in, 1.0f, x, n_in, lm_cp(m, T_W_IN), n_in,
                0.0f, w->pre, N);
    if (noisy) draw_noise(m, w, T, B, noise_rng);
    for (int i = 0; i < N; i++) w->bias[i] = lm_cp(m, T_B_IN)[i] + lm_cp(m, T_B_REC)[i];
    const float *W = lm_cp(m, T_W_REC);

#pragma omp parallel
    {
        int i0, i1;
        lm_k_split(N, omp_get_thread_num(), omp_get_num_threads(), &i0, &i1);
        if (!m->sparse) {
            lm_k_transpose(N, W, N, w->wt, N, i0, i1);   /* wt[k][i] = W[i][k] for my i... */
        }
#pragma omp barrier
        for (int t = 0; t < T; t++) {
            const float *hp = w->h + (size_t)(t - 1) * B * N;   /* h_{t-1}, unused at t = 0 */
            if (t > 0) {
                if (m->sparse)
                    lm_k_sparse_rows(B, m->row_ptr, m->col_idx, NULL, W, w->xt + (size_t)((t - 1) & 1) * N * B,
                                     w->rec, N, i0, i1);
                else
                    lm_k_gemm_rows(B, N, hp, N, w->wt, N, w->rec, N, i0, i1);
            }
            for (int b = 0; b < B; b++) {
                size_t r = ((size_t)t * B + b) * N;
                const float *rec = w->rec + (size_t)b * N;
                const float *nz = noisy ? w->noise + r : NULL;
                float *pre = w->pre + r, *h = w->h + r;
                for (int i = i0; i < i1; i++) {
                    float s = pre[i] + w->bias[i];
                    if (nz) s += nz[i];
                    float hprev = 0;
                    if (t > 0) s += rec[i], hprev = hp[(size_t)b * N + i];
                    if (yang) {
                        pre[i] = s;
                        h[i] = leak * hprev + a * act_f(act, s);
                    } else {
                        float u = leak * hprev + a * s;
                        pre[i] = u;
                        h[i] = act_f(act, u);
                    }
                }
                if (m->sparse) {
                    float *xt = w->xt + (size_t)(t & 1) * N * B;
                    for (int i = i0; i < i1; i++) xt[(size_t)i * B + b] = h[i];
                }
            }
#pragma omp barrier
        }
    }

    /* logits = H W_out^T + b_out: [TB][N] x [N][n_out] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, TB, n_out, N, 1.0f, w->h, N, lm_cp(m, T_W_OUT), N, 0.0f,
                w->logits, n_out);
    const float *bo = lm_cp(m, T_B_OUT);
    for (int r = 0; r < TB; r++)
        for (int k = 0; k < n_out; k++) w->logits[(size_t)r * n_out + k] += bo[k];
    if (!labels) return 0;
    if (loss && loss->decision_only && !decision) {
        lm_err_set("decision-only loss needs the decision flags");
        return NAN;
    }

    /* Mean softmax cross-entropy, weighted; sums in double. */
    double total = 0, wsum = 0;
    for (int r = 0; r < TB; r++) {
        int y = labels[r];
        if (y < 0 || y >= n_out) {
            lm_err_set("label %d at step %d row %d is outside [0, %d)", y, r / B, r % B, n_out);
            return NAN;
        }
        double wr = row_weight(loss, labels, decision, (size_t)r);
        if (wr == 0) continue;
        const float *l = w->logits + (size_t)r * n_out;
        float mx = l[0];
        for (int k = 1; k < n_out; k++) mx = l[k] > mx ? l[k] : mx;
        double se = 0;
        for (int k = 0; k < n_out; k++) se += exp((double)l[k] - mx);
        total += wr * (mx + log(se) - l[y]);
        wsum += wr;
    }
    w->wsum = wsum;
    return wsum > 0 ? total / wsum : 0.0;
}

void lm_backward(LmModel *m, LmWork *w, const float *x, const int32_t *labels, const uint8_t *decision,
                 const LmLossConfig *loss, int T, int B) {
    const LmModelConfig *c = &m->cfg;
    LM_ASSERT(T == w->last_T && B == w->last_B && labels);
    const int N = c->n_hidden, n_in = c->n_in, n_out = c->n_out, TB = T * B;
    const float a = (float)c->alpha, leak = (float)(1.0 - c->alpha);
    const LmActivation act = c->act;
    const int yang = c->rule == LM_RULE_YANG;

    /* dlogits = w_r / sum(w) (softmax - onehot) */
    double inv = w->wsum > 0 ? 1.0 / w->wsum : 0.0;
    for (int r = 0; r < TB; r++) {
        const float *l = w->logits + (size_t)r * n_out;
        float *dl = w->dlogits + (size_t)r * n_out;
        double wr = inv * row_weight(loss, labels, decision, (size_t)r);
        if (wr == 0) {
            memset(dl, 0, (size_t)n_out * sizeof(float));
            continue;
        }
        float mx = l[0];
        for (int k = 1; k < n_out; k++) mx = l[k] > mx ? l[k] : mx;
        double se = 0;
        for (int k = 0; k < n_out; k++) se += exp((double)l[k] - mx);
        for (int k = 0; k < n_out; k++) dl[k] = (float)(wr * (exp((double)l[k] - mx) / se - (k == labels[r])));
    }
    /* dW_out = dlogits^T H: [n_out][TB] x [TB][N];  d = dlogits W_out: [TB][n_out] x [n_out][N] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_out, N, TB, 1.0f, w->dlogits, n_out, w->h, N, 0.0f,
                lm_g(m, T_W_OUT), N);
    float *gbo = lm_g(m, T_B_OUT);
    for (int k = 0; k < n_out; k++) {
        double s = 0;
        for (int r = 0; r < TB; r++) s += w->dlogits[(size_t)r * n_out + k];
        gbo[k] = (float)s;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, TB, N, n_out, 1.0f, w->dlogits, n_out,
                lm_cp(m, T_W_OUT), N, 0.0f, w->d, N);

    const float *W = lm_cp(m, T_W_REC);
    float *gbi = lm_g(m, T_B_IN), *gbr = lm_g(m, T_B_REC);
#pragma omp parallel
    {
        int i0, i1;
        lm_k_split(N, omp_get_thread_num(), omp_get_num_threads(), &i0, &i1);
        for (int t = T - 1; t >= 0; t--) {
            for (int b = 0; b < B; b++) {
                size_t r = ((size_t)t * B + b) * N;
                const float *pre = w->pre + r, *h = w->h + r;
                float *d = w->d + r, *carry = w->carry + (size_t)b * N;
                const float *rec = w->rec + (size_t)b * N;
                for (int i = i0; i < i1; i++) {
                    float g = d[i];
                    if (t < T - 1) g += carry[i] + rec[i];
                    float ds;
                    if (yang) {
                        ds = g * a * act_df(act, pre[i], NAN);
                        carry[i] = leak * g;
                    } else {
                        float du = g * act_df(act, pre[i], h[i]);
                        ds = a * du;
                        carry[i] = leak * du;
                    }
                    d[i] = ds;
                }
                if (m->sparse) {
                    float *xt = w->xt + (size_t)(t & 1) * N * B;
                    for (int i = i0; i < i1; i++) xt[(size_t)i * B + b] = d[i];
                }
            }
#pragma omp barrier
            if (t > 0) {   /* rec = W^T ds_t, for my pre-synaptic units */
                if (m->sparse)
                    lm_k_sparse_rows(B, m->col_ptr, m->csc_row, m->csc_pos, W, w->xt + (size_t)(t & 1) * N * B,
                                     w->rec, N, i0, i1);
                else
                    lm_k_gemm_rows(B, N, w->d + (size_t)t * B * N, N, W, N, w->rec, N, i0, i1);
            }
        }
        for (int i = i0; i < i1; i++) {
            double s = 0;
            for (int r = 0; r < TB; r++) s += w->d[(size_t)r * N + i];
            gbi[i] = gbr[i] = (float)s;
        }
    }

    /* dW_in = ds^T X: [N][TB] x [TB][n_in] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, n_in, TB, 1.0f, w->d, N, x, n_in, 0.0f,
                lm_g(m, T_W_IN), n_in);
    float *gw = lm_g(m, T_W_REC);
    const int R = (T - 1) * B;   /* pairs (ds_t, h_{t-1}) for t >= 1; h_0 = 0 contributes nothing */
    if (!m->sparse) {
        /* dW_rec = ds[1:]^T H[:-1]: [N][R] x [R][N], then masked */
        if (R > 0)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, R, 1.0f, w->d + (size_t)B * N, N, w->h, N,
                        0.0f, gw, N);
        else
            memset(gw, 0, (size_t)N * N * sizeof(float));
        const uint8_t *mk = m->mask.m;
#pragma omp parallel for schedule(static)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                if (!mk[(size_t)i * N + j]) gw[(size_t)i * N + j] = 0.0f;
    } else {
        /* Each non-zero (i, j): dot of ds[.][i] and h[.][j] over R rows, on transposed copies (the ds
         * transpose goes into `pre`, no longer needed). */
        float *dt = w->pre, *ht = w->ht;
#pragma omp parallel
        {
            int i0, i1;
            lm_k_split(N, omp_get_thread_num(), omp_get_num_threads(), &i0, &i1);
            if (R > 0) {
                lm_k_transpose(R, w->d + (size_t)B * N, N, dt, R, i0, i1);
                lm_k_transpose(R, w->h, N, ht, R, i0, i1);
            }
#pragma omp barrier
            for (int i = i0; i < i1; i++)
                for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++)
                    gw[p] = R > 0 ? lm_k_dot(dt + (size_t)i * R, ht + (size_t)m->col_idx[p] * R, R) : 0.0f;
        }
    }
}
