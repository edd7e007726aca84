/* The dimensionality and connectivity summary of a run (docs/analysis.md, `summary`) where the command
 * line needs it: the initial weights it compares against (DIR/init.npz, or rebuilt from the seed), the
 * sheet its distances use, and the `summary` records `lmrnn train` writes into log.jsonl at step 0 and
 * after every evaluation. */
#include "cli/run_summary.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "io/npz.h"
#include "train/progress.h"
#include "util/err.h"

void lm_run_init_free(LmRunInit *w) {
    free(w->row_ptr), free(w->col_idx), free(w->rec), free(w->W_in), free(w->W_out);
    memset(w, 0, sizeof *w);
}

LmInitWeights lm_run_init_view(const LmRunInit *w) {
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
static int read_rec(LmNpz *z, const char *p, int N, LmRunInit *w) {
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
    int64_t nnz = 0;
    for (size_t k = 0; k < (size_t)N * N; k++) nnz += W[k] != 0;
    w->row_ptr = lm_malloc((size_t)(N + 1) * sizeof(int32_t));
    w->col_idx = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(int32_t));
    w->rec = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(float));
    int64_t q = 0;
    for (int i = 0; i < N; i++) {
        w->row_ptr[i] = (int32_t)q;
        for (int j = 0; j < N; j++)
            if (W[(size_t)i * N + j] != 0) w->col_idx[q] = j, w->rec[q++] = W[(size_t)i * N + j];
    }
    w->row_ptr[N] = (int32_t)q;
    free(W);
    return 0;
}

static int read_init(const char *p, const LmModelConfig *mc, LmRunInit *w) {
    LmNpz *z = lm_npz_read(p);
    int N = mc->n_hidden, rc = z ? read_rec(z, p, N, w) : -1;
    const LmArray *a;
    if (rc == 0) rc = (a = lm_npz_expect(z, "W_in", LM_DT_F32, 2, (int64_t[]){N, mc->n_in})) && (w->W_in = copy_floats(a, p)) ? 0 : -1;
    if (rc == 0) rc = (a = lm_npz_expect(z, "W_out", LM_DT_F32, 2, (int64_t[]){mc->n_out, N})) && (w->W_out = copy_floats(a, p)) ? 0 : -1;
    lm_npz_free(z);
    if (rc) lm_run_init_free(w);
    return rc;
}

const char *lm_run_initial_weights(const char *dir, const LmTrainConfig *cfg, const LmModel *model, LmRunInit *out) {
    memset(out, 0, sizeof *out);
    const LmModelConfig *mc = lm_model_config(model);
    char p[LM_PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/init.npz", dir);
    struct stat st;
    if (stat(p, &st) == 0) {
        if (read_init(p, mc, out) == 0) return "init.npz";
        fprintf(stderr, "lmrnn: warning: ignoring %s (%s); rebuilding the initial weights\n", p, lm_err_msg());
    }
    LmTrainConfig c = *cfg;
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

LmSheet lm_run_sheet(const LmTrainConfig *c) {
    int N = c->hidden, sq = (int)lround(sqrt((double)N));
    if (c->mask == LM_MASK_LOCAL1D) return (LmSheet){N, 1, 1};
    if (c->mask == LM_MASK_LOCAL2D) {
        if (c->grid_nx > 0 && c->grid_ny > 0 && c->grid_nx * c->grid_ny == N)
            return (LmSheet){c->grid_nx, c->grid_ny, c->periodic};
        if (sq * sq == N) return (LmSheet){sq, sq, c->periodic};
    }
    if (sq * sq == N) return (LmSheet){sq, sq, 0};   /* the default sheet the local masks would use */
    return (LmSheet){N, 1, 1};                        /* no sheet: a ring of N (the local1d geometry) */
}

/* ---------------------------------------------------------------- during training */
cJSON *lm_train_summary_hook(void *ctx, LmTrainer *t) {
    LmTrainSummaryHook *h = ctx;
    if (!h->loaded) {   /* init.npz is written before the first call (step 0 of a fresh run) */
        h->source = lm_run_initial_weights(t->cfg.out, &t->cfg, t->model, &h->init);
        if (!h->source) fprintf(stderr, "lmrnn: warning: no initial weights (%s): weight change not logged\n", lm_err_msg());
        h->sheet = lm_run_sheet(&t->cfg);
        h->loaded = 1;
    }
    int pos[LM_MAX_BATTERY];
    for (int k = 0; k < t->battery.n; k++) pos[k] = k;
    LmNet net = {t->model, &t->battery, lm_stream_taskenv(t->stream), t->eval_seed};
    LmSummaryOptions o;
    lm_summary_options_default(&o);
    o.trials = LM_TRAIN_SUMMARY_TRIALS;
    LmInitWeights iw = lm_run_init_view(&h->init);
    LmSummary s;
    double t0 = lm_now();
    cJSON *rec = NULL;
    if (lm_summary_of_net(&net, pos, t->battery.n, &o, h->source ? &iw : NULL, &h->sheet, &s) == 0) {
        s.init_source = h->source;
        rec = lm_summary_record(&s);
        cJSON_AddNumberToObject(rec, "seconds", lm_now() - t0);
    } else if (!h->warned) {
        fprintf(stderr, "lmrnn: warning: the summary at step %lld failed (%s); training goes on\n",
                (long long)t->step, lm_err_msg());
        h->warned = 1;
    }
    lm_summary_free(&s);
    return rec;
}

void lm_train_summary_hook_free(LmTrainSummaryHook *h) {
    lm_run_init_free(&h->init);
    memset(h, 0, sizeof *h);
}
