/* Model allocation, parameter layout, initialisation (docs/model.md §3) and tensor import/export. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/internal.h"
#include "util/err.h"

static int check_config(const LmModelConfig *c, const LmMask *mask) {
    if (c->n_in <= 0 || c->n_hidden <= 0 || c->n_out <= 0) {
        lm_err_set("model: sizes must be positive (n_in %d, N %d, n_out %d)", c->n_in, c->n_hidden, c->n_out);
        return -1;
    }
    if ((unsigned)c->rule > LM_RULE_YANG || (unsigned)c->act > LM_ACT_TANH ||
        (unsigned)c->rec_init > LM_INIT_RANDORTHO_FANIN) {
        lm_err_set("model: invalid rule/activation/init code (%d/%d/%d)", c->rule, c->act, c->rec_init);
        return -1;
    }
    if (!(c->alpha > 0 && c->alpha <= 1)) {
        lm_err_set("model: alpha = dt/tau must be in (0, 1], got %g", c->alpha);
        return -1;
    }
    if (!(c->sigma_rec >= 0 && isfinite(c->sigma_rec))) {
        lm_err_set("model: sigma_rec must be >= 0, got %g", c->sigma_rec);
        return -1;
    }
    if (!isfinite(c->rec_gain)) {
        lm_err_set("model: rec_gain must be finite, got %g", c->rec_gain);
        return -1;
    }
    if (c->path != LM_PATH_AUTO && c->path != LM_PATH_DENSE && c->path != LM_PATH_SPARSE) {
        lm_err_set("model: invalid recurrent path %d", (int)c->path);
        return -1;
    }
    if (!mask || !mask->row_ptr || mask->n != c->n_hidden) {
        lm_err_set("model: mask has %d units but N = %d", mask ? mask->n : 0, c->n_hidden);
        return -1;
    }
    return 0;
}

/* Few distinct diagonals j - i relative to the non-zeros: the band layout applies. */
static int is_banded(int n, int64_t nnz, int64_t n_diag) { return n_diag > 0 && n_diag * n <= LM_DIA_MAX_FILL * nnz; }

const char *lm_model_layout_for(LmRecPath path, int n, int64_t nnz, int64_t n_diag) {
    double density = (double)nnz / ((double)n * n);
    double crossover = is_banded(n, nnz, n_diag) ? LM_BAND_CROSSOVER : LM_SPARSE_CROSSOVER;
    int sparse = path == LM_PATH_SPARSE || (path == LM_PATH_AUTO && density < crossover);
    return !sparse ? "dense" : is_banded(n, nnz, n_diag) ? "band" : "csr";
}

static void build_sparse_structure(LmModel *m) {
    int n = m->cfg.n_hidden;
    /* the CSR rows are the mask's own (shared, freed with it) */
    m->row_ptr = m->mask.row_ptr;
    m->col_idx = m->mask.col_idx;
    m->col_ptr = lm_calloc((size_t)n + 1, sizeof(int32_t));
    m->csc_row = lm_malloc((size_t)(m->n_rec ? m->n_rec : 1) * sizeof(int32_t));
    m->csc_pos = lm_malloc((size_t)(m->n_rec ? m->n_rec : 1) * sizeof(int32_t));
    for (int64_t p = 0; p < m->n_rec; p++) m->col_ptr[m->col_idx[p] + 1]++;
    for (int j = 0; j < n; j++) m->col_ptr[j + 1] += m->col_ptr[j];
    int32_t *fill = lm_malloc((size_t)n * sizeof(int32_t));
    memcpy(fill, m->col_ptr, (size_t)n * sizeof(int32_t));
    for (int i = 0; i < n; i++)           /* rows ascending, so each CSC column lists rows in order */
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++) {
            int32_t q = fill[m->col_idx[p]]++;
            m->csc_row[q] = i;
            m->csc_pos[q] = p;
        }
    free(fill);

    /* Distinct offsets o = j - i, in increasing order (a fixed summation order in the band kernels). */
    int32_t *slot = lm_malloc((size_t)(2 * n - 1) * sizeof(int32_t));
    for (int k = 0; k < 2 * n - 1; k++) slot[k] = -1;
    for (int i = 0; i < n; i++)
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++) slot[m->col_idx[p] - i + n - 1] = 0;
    int nd = 0;
    for (int k = 0; k < 2 * n - 1; k++)
        if (slot[k] == 0) slot[k] = nd++;
    if (is_banded(n, m->n_rec, nd)) {
        m->dia = 1;
        m->n_diag = nd;
        m->dia_off = lm_malloc((size_t)nd * sizeof(int32_t));
        m->dia_noff = lm_malloc((size_t)nd * sizeof(int32_t));
        m->dia_pos = lm_malloc((size_t)m->n_rec * sizeof(int32_t));
        m->dia_tpos = lm_malloc((size_t)m->n_rec * sizeof(int32_t));
        for (int k = 0; k < 2 * n - 1; k++)
            if (slot[k] >= 0) {
                int o = k - (n - 1);
                m->dia_off[slot[k]] = o;
                m->dia_noff[slot[k]] = -o;
                if (abs(o) > m->pad) m->pad = abs(o);
            }
        for (int i = 0; i < n; i++)
            for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++) {
                int j = m->col_idx[p], d = slot[j - i + n - 1];
                m->dia_pos[p] = d * n + i;
                m->dia_tpos[p] = d * n + j;
            }
    }
    free(slot);
}

LmModel *lm_model_new(const LmModelConfig *cfg, const LmMask *mask) {
    if (check_config(cfg, mask)) return NULL;
    LmModel *m = lm_calloc(1, sizeof *m);
    m->cfg = *cfg;
    lm_mask_copy(mask, &m->mask);
    int n = cfg->n_hidden;
    m->sparse = strcmp(lm_model_layout_for(cfg->path, n, mask->nnz, lm_mask_n_diag(mask)), "dense") != 0;
    if (!m->sparse && mask->nnz < (int64_t)n * n) {   /* the dense path re-masks N x N arrays */
        m->dense_mask = lm_malloc((size_t)n * n);
        lm_mask_to_dense(mask, m->dense_mask);
    }
    m->n_rec = m->sparse ? mask->nnz : (int64_t)n * n;
    size_t sizes[LM_N_TENSORS] = {(size_t)n * cfg->n_in, (size_t)n, (size_t)m->n_rec, (size_t)n,
                                  (size_t)cfg->n_out * n, (size_t)cfg->n_out};
    m->off[0] = 0;
    for (int i = 0; i < LM_N_TENSORS; i++) m->off[i + 1] = m->off[i] + sizes[i];
    m->n_params = m->off[LM_N_TENSORS];
    m->params = lm_calloc(m->n_params, sizeof(float));
    m->grads = lm_calloc(m->n_params, sizeof(float));
    if (m->sparse) build_sparse_structure(m);
    m->layout = !m->sparse ? LM_LAYOUT_DENSE : m->dia ? LM_LAYOUT_BAND : LM_LAYOUT_CSR;
    return m;
}

void lm_model_free(LmModel *m) {
    if (!m) return;
    lm_mask_free(&m->mask);   /* also row_ptr, col_idx */
    free(m->dense_mask);
    free(m->params);
    free(m->grads);
    free(m->col_ptr);
    free(m->csc_row);
    free(m->csc_pos);
    free(m->dia_off);
    free(m->dia_noff);
    free(m->dia_pos);
    free(m->dia_tpos);
    free(m->ei);
    free(m);
}

const LmModelConfig *lm_model_config(const LmModel *m) { return &m->cfg; }
const LmMask *lm_model_mask(const LmModel *m) { return &m->mask; }
int lm_model_is_sparse(const LmModel *m) { return m->sparse; }
const char *lm_model_rec_layout(const LmModel *m) { return !m->sparse ? "dense" : m->dia ? "band" : "csr"; }
size_t lm_model_n_params(const LmModel *m) { return m->n_params; }
float *lm_model_params(LmModel *m) { return m->params; }
float *lm_model_grads(LmModel *m) { return m->grads; }

/* Q of a Gaussian matrix's QR decomposition (modified Gram-Schmidt in double, so R has a positive
 * diagonal: Q is Haar-distributed, as scipy's ortho_group). Column-major [n][n] in q. */
static void random_orthogonal(int n, LmRng *rng, double *q) {
    for (size_t k = 0; k < (size_t)n * n; k++) q[k] = lm_rng_normal(rng);
    for (int j = 0; j < n; j++) {
        double *v = q + (size_t)j * n;
        for (int pass = 0; pass < 2; pass++)     /* re-orthogonalise once: orthogonal to ~1e-15 */
            for (int k = 0; k < j; k++) {
                const double *u = q + (size_t)k * n;
                double dot = 0;
                for (int i = 0; i < n; i++) dot += u[i] * v[i];
                for (int i = 0; i < n; i++) v[i] -= dot * u[i];
            }
        double nrm = 0;
        for (int i = 0; i < n; i++) nrm += v[i] * v[i];
        nrm = sqrt(nrm);
        for (int i = 0; i < n; i++) v[i] /= nrm;
    }
}

static void fill_uniform(float *p, size_t n, double bound, LmRng *rng) {
    for (size_t k = 0; k < n; k++) p[k] = (float)lm_rng_range(rng, -bound, bound);
}

/* Row i of a dense recurrent matrix into the parameter block, keeping only masked-in entries. */
static void set_rec_row(LmModel *m, int i, const float *row) {
    int n = m->cfg.n_hidden;
    float *rec = lm_p(m, T_W_REC);
    if (m->sparse) {
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++) rec[p] = row[m->col_idx[p]];
        return;
    }
    const uint8_t *mk = m->dense_mask ? m->dense_mask + (size_t)i * n : NULL;
    for (int j = 0; j < n; j++) rec[(size_t)i * n + j] = !mk || mk[j] ? row[j] : 0.0f;
}

/* in[j] = 1 iff W_rec[i][j] is a connection of the mask; returns the row's fan-in. */
static int64_t mask_row(const LmModel *m, int i, uint8_t *in) {
    int n = m->cfg.n_hidden;
    int64_t k = 0;
    memset(in, 0, (size_t)n);
    for (int32_t p = m->mask.row_ptr[i]; p < m->mask.row_ptr[i + 1]; p++) in[m->mask.col_idx[p]] = 1, k++;
    return k;
}

/* The fan-in-scaled inits (model.h): gaussian N(0, g^2/fan_in) or a masked orthogonal Q with rows
 * rescaled to norm g, row by row through set_rec_row. Rows without connections stay 0. */
static void init_fanin(LmModel *m, LmRng *rng, float *row) {
    int n = m->cfg.n_hidden;
    double g = m->cfg.rec_gain;
    int ortho = m->cfg.rec_init == LM_INIT_RANDORTHO_FANIN;
    double *q = NULL, *v = lm_malloc((size_t)n * sizeof(double));
    uint8_t *in = lm_malloc((size_t)n);
    if (ortho) {
        q = lm_malloc((size_t)n * n * sizeof(double));
        random_orthogonal(n, rng, q);   /* column-major: row i of Q is q[j * n + i] */
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) v[j] = ortho ? q[(size_t)j * n + i] : lm_rng_normal(rng);
        int64_t fan_in = mask_row(m, i, in);
        double scale = 0;
        if (!ortho) {
            scale = fan_in > 0 ? g / sqrt((double)fan_in) : 0;
        } else {
            double ss = 0;   /* squared norm of the masked-in part of the row */
            for (int j = 0; j < n; j++) ss += in[j] ? v[j] * v[j] : 0;
            scale = ss > 0 ? g / sqrt(ss) : 0;
        }
        for (int j = 0; j < n; j++) row[j] = in[j] ? (float)(scale * v[j]) : 0.0f;
        set_rec_row(m, i, row);
    }
    free(in);
    free(v);
    free(q);
}

/* Draw order (fixed, so a seed always gives the same network): W_in, b_in, W_rec (random inits draw
 * all N*N entries whatever the mask, so masks sharing a seed share their weights), b_rec, W_out, b_out.
 * W_rec is produced row by row: nothing N x N except randortho's orthogonal matrix. */
void lm_model_init(LmModel *m, LmRng *rng) {
    const LmModelConfig *c = &m->cfg;
    int n = c->n_hidden;
    double b_in = 1.0 / sqrt((double)c->n_in), b_hid = 1.0 / sqrt((double)n);
    fill_uniform(lm_p(m, T_W_IN), (size_t)n * c->n_in, b_in, rng);
    fill_uniform(lm_p(m, T_B_IN), (size_t)n, b_in, rng);
    float *row = lm_malloc((size_t)n * sizeof(float));
    if (m->ei) {   /* Dale's law: the balanced init replaces rec_init */
        for (int i = 0; i < n; i++) {
            lm_dale_init_rec_row(m, rng, i, row);
            set_rec_row(m, i, row);
        }
    } else switch (c->rec_init) {
    case LM_INIT_HALF_IDENTITY: {   /* the diagonal only: O(nnz), no row of zeros written per unit */
        float *rec = lm_p(m, T_W_REC);
        memset(rec, 0, (size_t)m->n_rec * sizeof(float));
        for (int i = 0; i < n; i++) {
            if (m->sparse) {
                for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++)
                    if (m->col_idx[p] == i) rec[p] = (float)c->rec_gain;
            } else if (!m->dense_mask || m->dense_mask[(size_t)i * n + i]) {
                rec[(size_t)i * n + i] = (float)c->rec_gain;
            }
        }
        break;
    }
    case LM_INIT_RANDORTHO: {
        double *q = lm_malloc((size_t)n * n * sizeof(double));
        random_orthogonal(n, rng, q);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) row[j] = (float)(c->rec_gain * q[(size_t)j * n + i]);
            set_rec_row(m, i, row);
        }
        free(q);
        break;
    }
    case LM_INIT_GAUSSIAN:
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) row[j] = (float)(c->rec_gain * b_hid * lm_rng_normal(rng));
            set_rec_row(m, i, row);
        }
        break;
    case LM_INIT_GAUSSIAN_FANIN:
    case LM_INIT_RANDORTHO_FANIN:
        init_fanin(m, rng, row);
        break;
    }
    free(row);
    fill_uniform(lm_p(m, T_B_REC), (size_t)n, b_hid, rng);
    fill_uniform(lm_p(m, T_W_OUT), (size_t)c->n_out * n, b_hid, rng);
    fill_uniform(lm_p(m, T_B_OUT), (size_t)c->n_out, b_hid, rng);
    lm_dale_to_effective(m, NULL);   /* Dale: inhibitory readout columns 0 (W_rec is already signed) */
}

static const char *const tensor_names[LM_N_TENSORS] = {"W_in", "b_in", "W_rec", "b_rec", "W_out", "b_out"};

LmTensorInfo lm_model_tensor_info(const LmModel *m, int i) {
    const LmModelConfig *c = &m->cfg;
    int n = c->n_hidden;
    LmTensorInfo t = {tensor_names[i], 1, {0, 0}};
    switch (i) {
    case T_W_IN: t.ndim = 2, t.shape[0] = n, t.shape[1] = c->n_in; break;
    case T_W_REC: t.ndim = 2, t.shape[0] = n, t.shape[1] = n; break;
    case T_W_OUT: t.ndim = 2, t.shape[0] = c->n_out, t.shape[1] = n; break;
    case T_B_OUT: t.shape[0] = c->n_out; break;
    default: t.shape[0] = n; break;
    }
    return t;
}

static void export_block(const LmModel *m, const float *block, int i, float *out) {
    LM_ASSERT(i >= 0 && i < LM_N_TENSORS);
    if (i == T_W_REC && m->sparse) {
        int n = m->cfg.n_hidden;
        const float *rec = block + m->off[T_W_REC];
        memset(out, 0, (size_t)n * n * sizeof(float));
        for (int r = 0; r < n; r++)
            for (int32_t p = m->row_ptr[r]; p < m->row_ptr[r + 1]; p++) out[(size_t)r * n + m->col_idx[p]] = rec[p];
        return;
    }
    memcpy(out, block + m->off[i], (m->off[i + 1] - m->off[i]) * sizeof(float));
}

void lm_model_export_tensor(const LmModel *m, int i, float *out) { export_block(m, m->params, i, out); }
void lm_model_export_grad(const LmModel *m, int i, float *out) { export_block(m, m->grads, i, out); }

int lm_model_import_tensor(LmModel *m, int i, const float *in) {
    LM_ASSERT(i >= 0 && i < LM_N_TENSORS);
    if (i == T_W_REC) {
        int n = m->cfg.n_hidden;
        for (int r = 0; r < n; r++) {
            const float *row = in + (size_t)r * n;
            int32_t p = m->mask.row_ptr[r], end = m->mask.row_ptr[r + 1];
            for (int j = 0; j < n; j++) {   /* walk the row's mask columns alongside j */
                while (p < end && m->mask.col_idx[p] < j) p++;
                if (row[j] != 0.0f && !(p < end && m->mask.col_idx[p] == j)) {
                    lm_err_set("W_rec[%d][%d] = %g lies outside the mask (%s) and must be 0", r, j, (double)row[j],
                               m->mask.desc);
                    return -1;
                }
                if (m->ei && row[j] * m->ei[j] < 0) {
                    lm_err_set("W_rec[%d][%d] = %g has the wrong sign for %s unit %d (Dale's law)", r, j,
                               (double)row[j], m->ei[j] > 0 ? "excitatory" : "inhibitory", j);
                    return -1;
                }
            }
            set_rec_row(m, r, row);
        }
        return 0;
    }
    if (i == T_W_OUT && lm_model_readout_exc(m)) {
        int n = m->cfg.n_hidden;
        for (size_t k = 0; k < (size_t)m->cfg.n_out * n; k++)
            if (m->ei[k % n] < 0 && in[k] != 0.0f) {
                lm_err_set("W_out[%zu][%zu] = %g reads inhibitory unit %zu (excitatory-only readout)", k / n,
                           k % n, (double)in[k], k % n);
                return -1;
            }
    }
    memcpy(lm_p(m, i), in, (m->off[i + 1] - m->off[i]) * sizeof(float));
    return 0;
}

/* W_rec values in the mask's CSR order (both layouts). */
static void rec_values(const LmModel *m, const float *block, float *vals) {
    const float *rec = block + m->off[T_W_REC];
    if (m->sparse) {
        memcpy(vals, rec, (size_t)m->n_rec * sizeof(float));
        return;
    }
    int n = m->cfg.n_hidden;
    for (int i = 0; i < n; i++)
        for (int32_t p = m->mask.row_ptr[i]; p < m->mask.row_ptr[i + 1]; p++)
            vals[p] = rec[(size_t)i * n + m->mask.col_idx[p]];
}

void lm_model_export_rec_values(const LmModel *m, float *vals) { rec_values(m, m->params, vals); }

int lm_model_import_rec_values(LmModel *m, const float *vals) {
    if (m->ei)
        for (int i = 0; i < m->cfg.n_hidden; i++)
            for (int32_t p = m->mask.row_ptr[i]; p < m->mask.row_ptr[i + 1]; p++)
                if (vals[p] * m->ei[m->mask.col_idx[p]] < 0) {
                    lm_err_set("W_rec[%d][%d] = %g has the wrong sign for %s unit %d (Dale's law)", i,
                               m->mask.col_idx[p], (double)vals[p],
                               m->ei[m->mask.col_idx[p]] > 0 ? "excitatory" : "inhibitory", m->mask.col_idx[p]);
                    return -1;
                }
    float *rec = lm_p(m, T_W_REC);
    if (m->sparse) {
        memcpy(rec, vals, (size_t)m->n_rec * sizeof(float));
        return 0;
    }
    int n = m->cfg.n_hidden;
    memset(rec, 0, (size_t)n * n * sizeof(float));
    for (int i = 0; i < n; i++)
        for (int32_t p = m->mask.row_ptr[i]; p < m->mask.row_ptr[i + 1]; p++)
            rec[(size_t)i * n + m->mask.col_idx[p]] = vals[p];
    return 0;
}
