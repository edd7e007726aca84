/* Dale's law as a parameter transform around the existing kernels (docs/dale.md).
 *
 * The kernels multiply by the parameter block's W_rec whatever its storage (dense [N][N], or the CSR
 * values over the mask), so that block holds the effective weights W = D_j |W~_ij|. Only the optimiser
 * sees W~: the gradient is chained to it after backward (dL/dW~ = dL/dW D_j sign W~; at W~ = 0, a
 * weight a mask search has just regrown, the one-sided derivative towards W~ > 0 when descent leads
 * there, else 0: the projected gradient of the constraint sign W_ij = D_j), the block is
 * turned into W~ for the Adam step and back into W after it. W~ is kept >= 0: the loss depends on W~
 * through |W~| only, so the trajectory from (W~, m) and from (-W~, -m) are mirror images, and folding a
 * negative W~_ij (and its first moment) back to the positive side changes nothing but the sign bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/internal.h"
#include "util/err.h"

int lm_model_set_dale(LmModel *m, const int8_t *ei, int readout_exc) {
    int n = m->cfg.n_hidden;
    for (int j = 0; j < n; j++)
        if (ei[j] != 1 && ei[j] != -1) {
            lm_err_set("E/I vector: entry %d is %d (must be +1 or -1)", j, (int)ei[j]);
            return -1;
        }
    if (!m->ei) m->ei = lm_malloc((size_t)n);
    memcpy(m->ei, ei, (size_t)n);
    m->readout_exc = readout_exc != 0;
    return 0;
}

const int8_t *lm_model_ei(const LmModel *m) { return m->ei; }
int lm_model_readout_exc(const LmModel *m) { return m->ei && m->readout_exc; }

void lm_dale_assign(int n, double frac_exc, LmRng *rng, int8_t *ei) {
    int n_exc = (int)lround(frac_exc * n);
    int *perm = lm_malloc((size_t)n * sizeof(int));
    for (int j = 0; j < n; j++) perm[j] = j;
    for (int j = n - 1; j > 0; j--) {   /* Fisher-Yates */
        int k = (int)lm_rng_below(rng, (uint32_t)j + 1), tmp = perm[j];
        perm[j] = perm[k], perm[k] = tmp;
    }
    for (int r = 0; r < n; r++) ei[perm[r]] = r < n_exc ? 1 : -1;
    free(perm);
}

/* Balanced initialisation of row i into row[N] (masked later): |W~_ij| = g |xi_ij| / sqrt(k_i) for an
 * excitatory j, times k_E(i) / k_I(i) for an inhibitory j, where k_i counts unit i's allowed inputs and
 * k_E, k_I its excitatory and inhibitory ones: each unit's expected E and I input are equal (a unit with
 * inputs of one sign only keeps the plain scale). xi ~ N(0,1) is drawn for all N^2 entries in row order
 * whatever the mask. */
void lm_dale_init_rec_row(const LmModel *m, LmRng *rng, int i, float *row) {
    int n = m->cfg.n_hidden;
    double g = m->cfg.rec_gain;
    int ke = 0, ki = 0;
    for (int32_t p = m->mask.row_ptr[i]; p < m->mask.row_ptr[i + 1]; p++)
        ke += m->ei[m->mask.col_idx[p]] > 0, ki += m->ei[m->mask.col_idx[p]] < 0;
    double s = ke + ki > 0 ? g / sqrt((double)(ke + ki)) : 0;
    double s_inh = ke > 0 && ki > 0 ? s * ke / ki : s;
    for (int j = 0; j < n; j++) {
        double mag = fabs(lm_rng_normal(rng));
        row[j] = (float)(m->ei[j] > 0 ? s * mag : -s_inh * mag);
    }
}

/* Apply f to every stored W_rec entry (value pointer, its column j). */
#define FOR_REC(m, VAL, J, BODY)                                                                    \
    do {                                                                                            \
        int n_ = (m)->cfg.n_hidden;                                                                 \
        if ((m)->sparse) {                                                                          \
            for (int64_t p_ = 0; p_ < (m)->n_rec; p_++) {                                           \
                int64_t VAL = p_;                                                                   \
                int J = (m)->col_idx[p_];                                                           \
                BODY;                                                                               \
            }                                                                                       \
        } else {                                                                                    \
            for (int i_ = 0; i_ < n_; i_++)                                                         \
                for (int J = 0; J < n_; J++) {                                                      \
                    int64_t VAL = (int64_t)i_ * n_ + J;                                             \
                    BODY;                                                                           \
                }                                                                                   \
        }                                                                                           \
    } while (0)

static void zero_inhibitory_readout(LmModel *m, float *block) {
    if (!m->readout_exc) return;
    int n = m->cfg.n_hidden;
    float *wo = block + m->off[T_W_OUT];
    for (int k = 0; k < m->cfg.n_out; k++)
        for (int j = 0; j < n; j++)
            if (m->ei[j] < 0) wo[(size_t)k * n + j] = 0.0f;
}

void lm_dale_chain_grad(LmModel *m) {
    if (!m->ei) return;
    const float *w = lm_cp(m, T_W_REC);
    float *g = lm_g(m, T_W_REC);
    const int8_t *ei = m->ei;
    /* W~ = |W| >= 0, so sign W~ is 1 where W != 0. At W == 0 (masked-out entries of dense storage have
     * g = 0 already) a weight may only leave zero with its unit's sign: keep the gradient if a step
     * makes W~ positive, else 0, so a regrown weight grows only the way Dale's law allows. */
    FOR_REC(m, k, j, {
        float gt = ei[j] > 0 ? g[k] : -g[k];
        g[k] = w[k] != 0.0f || gt < 0.0f ? gt : 0.0f;
    });
    zero_inhibitory_readout(m, m->grads);
}

void lm_dale_to_free(LmModel *m) {
    if (!m->ei) return;
    float *w = lm_p(m, T_W_REC);
    const int8_t *ei = m->ei;
    FOR_REC(m, k, j, if (ei[j] < 0) w[k] = -w[k]);
}

void lm_dale_to_effective(LmModel *m, float *adam_m) {
    if (!m->ei) return;
    float *w = lm_p(m, T_W_REC);
    float *mo = adam_m ? adam_m + m->off[T_W_REC] : NULL;
    const int8_t *ei = m->ei;
    FOR_REC(m, k, j, {
        if (w[k] < 0) {   /* fold: (W~, m) -> (-W~, -m), the mirror trajectory */
            w[k] = -w[k];
            if (mo) mo[k] = -mo[k];
        }
        w[k] = w[k] == 0.0f ? 0.0f : ei[j] > 0 ? w[k] : -w[k];   /* never -0: exports compare bitwise */
    });
    zero_inhibitory_readout(m, m->params);
}
