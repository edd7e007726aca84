/* Gradient clipping, Adam (torch.optim.Adam semantics) and the whole training step (docs/model.md §4). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "model/internal.h"
#include "model/kernels.h"
#include "util/err.h"

void lm_adam_init(LmAdam *a, const LmModel *m, double lr) {
    memset(a, 0, sizeof *a);
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
    a->n = m->n_params;
    a->m = lm_calloc(a->n, sizeof(float));
    a->v = lm_calloc(a->n, sizeof(float));
}

void lm_adam_free(LmAdam *a) {
    if (!a) return;
    free(a->m);
    free(a->v);
    a->m = a->v = NULL;
}

/* Sum of squares in double, split into a fixed number of chunks added in order: the same result for
 * any thread count. */
#define NORM_CHUNKS 64
static double grad_sumsq(const float *g, size_t n) {
    double part[NORM_CHUNKS];
#pragma omp parallel for schedule(static)
    for (int c = 0; c < NORM_CHUNKS; c++) {
        size_t k0 = n * c / NORM_CHUNKS, k1 = n * (c + 1) / NORM_CHUNKS;
        double s = 0;
        for (size_t k = k0; k < k1; k++) s += (double)g[k] * g[k];
        part[c] = s;
    }
    double s = 0;
    for (int c = 0; c < NORM_CHUNKS; c++) s += part[c];
    return s;
}

/* As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1. */
double lm_clip_grad_norm(LmModel *m, double max_norm) {
    double norm = sqrt(grad_sumsq(m->grads, m->n_params));
    lm_clip_grads_to(m, norm, max_norm);
    return norm;
}

void lm_clip_grads_to(LmModel *m, double norm, double max_norm) {
    if (max_norm > 0 && isfinite(norm)) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1) {
            float cf = (float)coef;
            float *g = m->grads;
            size_t n = m->n_params;
#pragma omp parallel for schedule(static)
            for (size_t k = 0; k < n; k++) g[k] *= cf;
        }
    }
}

/* torch.optim.Adam (single-tensor path):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps) */
void lm_adam_step(LmAdam *a, LmModel *m) {
    LM_ASSERT(a->n == m->n_params);
    a->t++;
    double bc1 = 1.0 - pow(a->beta1, (double)a->t), bc2 = 1.0 - pow(a->beta2, (double)a->t);
    const float step = (float)(a->lr / bc1), bc2s = (float)sqrt(bc2), eps = (float)a->eps;
    const float b1 = (float)a->beta1, b2 = (float)a->beta2, ob1 = (float)(1.0 - a->beta1),
                ob2 = (float)(1.0 - a->beta2);
    size_t n = a->n;
    /* fixed chunks of whole vectors: the same split for any thread count */
#pragma omp parallel for schedule(static)
    for (int c = 0; c < 16; c++) {
        size_t k0 = (n * c / 16) & ~(size_t)63, k1 = c == 15 ? n : (n * (c + 1) / 16) & ~(size_t)63;
        if (k1 > k0)
            lm_k_adam(k1 - k0, m->params + k0, m->grads + k0, a->m + k0, a->v + k0, b1, ob1, b2, ob2, step, bc2s, eps);
    }
    if (m->dense_mask) {   /* masked weights have zero gradient, hence zero moments; re-mask anyway */
        float *w = m->params + m->off[T_W_REC];
        const uint8_t *mk = m->dense_mask;
        size_t nn = (size_t)m->cfg.n_hidden * m->cfg.n_hidden;
        for (size_t k = 0; k < nn; k++)
            if (!mk[k]) w[k] = 0.0f;
    }
}

int lm_train_step(LmModel *m, LmAdam *a, LmWork *w, const float *x, const int32_t *labels,
                  const uint8_t *decision, const LmLossConfig *loss, int T, int B, double clip,
                  LmRng *noise_rng, LmStepStats *stats) {
    lm_err_set("%s", "");   /* forward sets a message only for invalid labels */
    double l = lm_forward(m, w, x, labels, decision, loss, T, B, noise_rng);
    if (stats) stats->loss = l, stats->grad_norm = NAN;
    if (!isfinite(l)) {
        if (!lm_err_msg()[0]) lm_err_set("non-finite loss (%g)", l);
        return -1;
    }
    lm_backward(m, w, x, labels, decision, loss, T, B);
    lm_dale_chain_grad(m);
    double norm = lm_clip_grad_norm(m, clip);
    if (stats) stats->grad_norm = norm;
    if (!isfinite(norm)) {
        lm_err_set("non-finite gradient norm (%g) at loss %g", norm, l);
        return -1;
    }
    lm_dale_to_free(m);   /* Dale's law: Adam updates W~ (no-ops without) */
    lm_adam_step(a, m);
    lm_dale_to_effective(m, a->m);
    return 0;
}
