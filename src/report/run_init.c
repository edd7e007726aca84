/* The initial weights of a run at any N (report/run.h): DIR/init.npz's W_rec as CSR (W_rec_data,
 * _indices, _indptr; or the non-zeros of a dense W_rec from runs written before), W_in and W_out;
 * rebuilt from the stored configuration when the file is missing or unusable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "io/npz.h"
#include "report/run.h"
#include "util/err.h"

void lm_trained_init_free(LmTrainedInit *w) {
    free(w->row_ptr), free(w->col_idx), free(w->rec), free(w->W_in), free(w->W_out);
    memset(w, 0, sizeof *w);
}

LmInitWeights lm_trained_init_view(const LmTrainedInit *w) {
    return (LmInitWeights){w->row_ptr, w->col_idx, w->rec, w->W_in, w->W_out};
}

static float *copy_floats(const LmArray *a, const char *path) {
    for (size_t i = 0; i < a->count; i++)
        if (!isfinite(((const float *)a->data)[i])) {
            lm_err_set("%s: %s has non-finite values", path, a->name);
            return NULL;
        }
    float *out = lm_malloc((a->count ? a->count : 1) * sizeof(float));
    memcpy(out, a->data, a->count * sizeof(float));
    return out;
}

/* W_rec of init.npz as CSR: W_rec_data / _indices / _indptr (any N), else the dense W_rec's non-zeros. */
static int read_rec(LmNpz *z, const char *p, int N, LmTrainedInit *w) {
    if (lm_npz_info(z, "W_rec_indptr")) {
        const LmArray *ip = lm_npz_expect(z, "W_rec_indptr", LM_DT_I32, 1, (int64_t[]){N + 1});
        if (!ip) return -1;
        const int32_t *rp = ip->data;
        int64_t nnz = rp[N];
        int ok = rp[0] == 0 && nnz >= 0 && nnz <= (int64_t)N * N;
        for (int i = 0; ok && i < N; i++) ok = rp[i + 1] >= rp[i];
        if (!ok) {
            lm_err_set("%s: W_rec_indptr is not a CSR row pointer of %d rows", p, N);
            return -1;
        }
        w->row_ptr = lm_malloc((size_t)(N + 1) * sizeof(int32_t));
        memcpy(w->row_ptr, rp, (size_t)(N + 1) * sizeof(int32_t));
        const LmArray *ci = lm_npz_expect(z, "W_rec_indices", LM_DT_I32, 1, (int64_t[]){nnz});
        const LmArray *va = ci ? lm_npz_expect(z, "W_rec_data", LM_DT_F32, 1, (int64_t[]){nnz}) : NULL;
        if (!va) return -1;
        const int32_t *c = ci->data;
        for (int i = 0; i < N; i++)
            for (int32_t q = w->row_ptr[i]; q < w->row_ptr[i + 1]; q++)
                if (c[q] < 0 || c[q] >= N || (q > w->row_ptr[i] && c[q] <= c[q - 1])) {
                    lm_err_set("%s: W_rec_indices are not ascending columns in [0, %d) in row %d", p, N, i);
                    return -1;
                }
        w->col_idx = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(int32_t));
        memcpy(w->col_idx, c, (size_t)nnz * sizeof(int32_t));
        return (w->rec = copy_floats(va, p)) ? 0 : -1;
    }
    const LmArray *a = lm_npz_expect(z, "W_rec", LM_DT_F32, 2, (int64_t[]){N, N});
    float *W = a ? copy_floats(a, p) : NULL;
    if (!W) return -1;
    lm_dense_to_csr(N, W, &w->row_ptr, &w->col_idx, &w->rec);
    free(W);
    return 0;
}

static int read_init(const char *p, const LmModelConfig *mc, LmTrainedInit *w) {
    LmNpz *z = lm_npz_read(p);
    int N = mc->n_hidden, rc = z ? read_rec(z, p, N, w) : -1;
    const LmArray *a;
    if (rc == 0) rc = (a = lm_npz_expect(z, "W_in", LM_DT_F32, 2, (int64_t[]){N, mc->n_in})) && (w->W_in = copy_floats(a, p)) ? 0 : -1;
    if (rc == 0) rc = (a = lm_npz_expect(z, "W_out", LM_DT_F32, 2, (int64_t[]){mc->n_out, N})) && (w->W_out = copy_floats(a, p)) ? 0 : -1;
    lm_npz_free(z);
    if (rc) lm_trained_init_free(w);
    return rc;
}

const char *lm_trained_initial_weights_csr(const LmTrained *run, LmTrainedInit *out, char *note, size_t n_note) {
    memset(out, 0, sizeof *out);
    if (note && n_note) note[0] = '\0';
    const LmModelConfig *mc = lm_model_config(run->model);
    char p[1200];
    snprintf(p, sizeof p, "%s/init.npz", run->dir);
    struct stat st;
    if (run->dir[0] && stat(p, &st) == 0) {
        if (read_init(p, mc, out) == 0) return "init.npz";
        if (note) snprintf(note, n_note, "ignoring %s (%s); rebuilding the initial weights", p, lm_err_msg());
    }
    LmTrainConfig c = run->trainer->cfg;
    c.train_pool = 0;
    LmTrainer *t = lm_trainer_new(&c);
    if (!t) return NULL;
    const LmMask *m = lm_model_mask(t->model);
    int N = m->n;
    int64_t nnz = m->row_ptr[N];
    out->row_ptr = lm_malloc((size_t)(N + 1) * sizeof(int32_t));
    out->col_idx = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(int32_t));
    out->rec = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(float));
    memcpy(out->row_ptr, m->row_ptr, (size_t)(N + 1) * sizeof(int32_t));
    memcpy(out->col_idx, m->col_idx, (size_t)nnz * sizeof(int32_t));
    lm_model_export_rec_values(t->model, out->rec);
    out->W_in = lm_malloc((size_t)N * mc->n_in * sizeof(float));
    out->W_out = lm_malloc((size_t)N * mc->n_out * sizeof(float));
    lm_model_export_tensor(t->model, 0, out->W_in);
    lm_model_export_tensor(t->model, 4, out->W_out);
    lm_trainer_free(t);
    return "reconstructed from the run's seed";
}
