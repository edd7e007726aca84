/* checkpoint.npz writer and validating reader. The named tensors (W_in ... b_out, dense W_rec) are for
 * NumPy users and evaluation tools; `params` is the engine's own block (compressed W_rec on the sparse
 * path), restored bit for bit. Reading validates every array before the trainer is touched. */
#include "train/checkpoint.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "io/npz.h"
#include "train/search.h"
#include "util/err.h"

int lm_checkpoint_save(const LmTrainer *t, const char *config_doc, const char *path) {
    LmModel *m = t->model;
    LmNpzWriter *w = lm_npz_create(path);
    if (!w) return -1;
    int rc = 0;
    /* Buffers must stay alive until lm_npz_close. */
    float *tensors[LM_N_TENSORS] = {0};
    int64_t N = t->mask.n;
    const int dense_keys = N <= LM_CHECKPOINT_DENSE_MAX || t->search;   /* a mask search works on dense masks */
    for (int i = 0; i < LM_N_TENSORS && rc == 0; i++) {
        LmTensorInfo ti = lm_model_tensor_info(m, i);
        if (!strcmp(ti.name, "W_rec") && !dense_keys) continue;
        size_t n = 1;
        for (int k = 0; k < ti.ndim; k++) n *= (size_t)ti.shape[k];
        tensors[i] = lm_malloc(n * sizeof(float));
        lm_model_export_tensor(m, i, tensors[i]);
        rc = lm_npz_add(w, ti.name, LM_DT_F32, ti.ndim, ti.shape, tensors[i]);
    }
    /* W_rec compressed as SciPy's CSR: its structure is the mask's, explicit zeros included */
    int64_t nnz = t->mask.nnz, n1 = N + 1, sh_nn[2] = {N, N};
    float *rec = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(float));
    lm_model_export_rec_values(m, rec);
    if (rc == 0) rc = lm_npz_add(w, "W_rec_data", LM_DT_F32, 1, &nnz, rec);
    if (rc == 0) rc = lm_npz_add(w, "W_rec_indices", LM_DT_I32, 1, &nnz, t->mask.col_idx);
    if (rc == 0) rc = lm_npz_add(w, "W_rec_indptr", LM_DT_I32, 1, &n1, t->mask.row_ptr);
    int64_t two = 2;
    if (rc == 0) rc = lm_npz_add(w, "W_rec_shape", LM_DT_I64, 1, &two, sh_nn);
    uint8_t *dense_mask = NULL;
    if (dense_keys) {
        dense_mask = lm_malloc((size_t)(N * N));
        lm_mask_to_dense(&t->mask, dense_mask);
        if (rc == 0) rc = lm_npz_add(w, "mask", LM_DT_U8, 2, sh_nn, dense_mask);
    }
    int64_t P = (int64_t)lm_model_n_params(m);
    int64_t S = (int64_t)lm_stream_state_size(t->stream);
    uint8_t *stream_state = lm_malloc((size_t)S);
    lm_stream_save_state(t->stream, stream_state);
    int64_t rng_noise[4];
    memcpy(rng_noise, t->noise.s, sizeof rng_noise);
    int64_t sh_thr[2] = {LM_N_THRESHOLDS, 2}, sh4[1] = {4}, sh2[1] = {2};
    double loss_acc[2] = {t->loss_sum, (double)t->loss_n};
    int64_t adam_t = t->adam.t, step = t->step, trials = t->trials, format = LM_CHECKPOINT_FORMAT;
    double wall = t->wall;
    int32_t *ei = NULL;   /* Dale's law: +1/-1 per (presynaptic) unit, beside the signed W_rec */
    if (rc == 0 && lm_model_ei(m)) {
        ei = lm_malloc((size_t)N * sizeof(int32_t));
        for (int64_t j = 0; j < N; j++) ei[j] = lm_model_ei(m)[j];
        rc = lm_npz_add(w, "ei", LM_DT_I32, 1, &N, ei);
    }
    if (rc == 0 && t->search) rc = lm_search_checkpoint_add(t, w);
    if (rc == 0) rc = lm_npz_add(w, "params", LM_DT_F32, 1, &P, lm_model_params(m));
    if (rc == 0) rc = lm_npz_add(w, "adam_m", LM_DT_F32, 1, &P, t->adam.m);
    if (rc == 0) rc = lm_npz_add(w, "adam_v", LM_DT_F32, 1, &P, t->adam.v);
    if (rc == 0) rc = lm_npz_add(w, "adam_t", LM_DT_I64, 0, NULL, &adam_t);
    if (rc == 0) rc = lm_npz_add(w, "step", LM_DT_I64, 0, NULL, &step);
    if (rc == 0) rc = lm_npz_add(w, "trials", LM_DT_I64, 0, NULL, &trials);
    if (rc == 0) rc = lm_npz_add(w, "wall", LM_DT_F64, 0, NULL, &wall);
    if (rc == 0) rc = lm_npz_add(w, "rng_noise", LM_DT_I64, 1, sh4, rng_noise);
    if (rc == 0) rc = lm_npz_add(w, "stream_state", LM_DT_U8, 1, &S, stream_state);
    if (rc == 0) rc = lm_npz_add(w, "thresholds", LM_DT_I64, 2, sh_thr, t->threshold);
    if (rc == 0) rc = lm_npz_add(w, "loss_acc", LM_DT_F64, 1, sh2, loss_acc);
    if (rc == 0) rc = lm_npz_add(w, "format", LM_DT_I64, 0, NULL, &format);
    if (rc == 0) rc = lm_npz_add_string(w, "config", config_doc);
    if (rc == 0) rc = lm_npz_close(w);
    else lm_npz_discard(w);
    for (int i = 0; i < LM_N_TENSORS; i++) free(tensors[i]);
    free(rec);
    free(dense_mask);
    free(ei);
    free(stream_state);
    return rc;
}

/* ---------------------------------------------------------------- reading
 * Loading is a sequence of checks, each on a few arrays, that only read: nothing of the trainer changes
 * until every array has passed (commit). The arrays besides the named tensors and their expected dtype
 * and shape are listed in one table (key_specs), which the shape check before a trainer is built
 * (lm_checkpoint_check_shapes) and the loader share: a new key is one line there. */

/* Prefix a message with the checkpoint path (arg is printed with fmt's %s). */
static int fail(const char *path, const char *fmt, const char *arg) {
    char msg[1024]; /* room for a 600-byte argument and the format */
    snprintf(msg, sizeof msg, fmt, arg);
    lm_err_set("%s: %s", path, msg);
    return -1;
}

/* The current error (already naming the file) with a prefix after the path. */
static int fail_with(const char *path, const char *what) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", lm_err_msg());
    lm_err_set("%s: %s: %s", path, what, msg);
    return -1;
}

/* The sizes a configuration gives a checkpoint's arrays; P < 0 = at most P_max and nnz < 0 = at most
 * N^2 (not known before the mask is built). */
typedef struct {
    int64_t N, n_in, n_out, P, P_max, S, nnz;
} Dims;

typedef struct {
    const char *name;
    LmDtype dtype;
    int ndim;
    int64_t shape[2];   /* LM_CK_P: the parameter count */
    int full_only;      /* read by a full load only (not by a weights-only load) */
    int format;         /* 0: every format; else only in that format (format 2: dense keys optional) */
} KeySpec;

enum { LM_CK_P = -2, LM_CK_NNZ = -3 };

static int key_specs(const Dims *d, KeySpec *out) {
    const KeySpec k[] = {
        {"format", LM_DT_I64, 0, {0, 0}, 0, 0},
        {"mask", LM_DT_U8, 2, {d->N, d->N}, 0, LM_CHECKPOINT_FORMAT_DENSE},
        {"W_rec_data", LM_DT_F32, 1, {LM_CK_NNZ, 0}, 0, LM_CHECKPOINT_FORMAT},
        {"W_rec_indices", LM_DT_I32, 1, {LM_CK_NNZ, 0}, 0, LM_CHECKPOINT_FORMAT},
        {"W_rec_indptr", LM_DT_I32, 1, {d->N + 1, 0}, 0, LM_CHECKPOINT_FORMAT},
        {"W_rec_shape", LM_DT_I64, 1, {2, 0}, 0, LM_CHECKPOINT_FORMAT},
        {"params", LM_DT_F32, 1, {LM_CK_P, 0}, 0, 0},
        {"adam_m", LM_DT_F32, 1, {LM_CK_P, 0}, 1, 0},
        {"adam_v", LM_DT_F32, 1, {LM_CK_P, 0}, 1, 0},
        {"adam_t", LM_DT_I64, 0, {0, 0}, 1, 0},
        {"step", LM_DT_I64, 0, {0, 0}, 0, 0},
        {"trials", LM_DT_I64, 0, {0, 0}, 1, 0},
        {"wall", LM_DT_F64, 0, {0, 0}, 1, 0},
        {"rng_noise", LM_DT_I64, 1, {4, 0}, 1, 0},
        {"stream_state", LM_DT_U8, 1, {d->S, 0}, 1, 0},
        {"thresholds", LM_DT_I64, 2, {LM_N_THRESHOLDS, 2}, 1, 0},
        {"loss_acc", LM_DT_F64, 1, {2, 0}, 1, 0},
        {"W_in", LM_DT_F32, 2, {d->N, d->n_in}, 0, 0},
        {"b_in", LM_DT_F32, 1, {d->N, 0}, 0, 0},
        {"W_rec", LM_DT_F32, 2, {d->N, d->N}, 0, LM_CHECKPOINT_FORMAT_DENSE},
        {"b_rec", LM_DT_F32, 1, {d->N, 0}, 0, 0},
        {"W_out", LM_DT_F32, 2, {d->n_out, d->N}, 0, 0},
        {"b_out", LM_DT_F32, 1, {d->n_out, 0}, 0, 0},
    };
    int n = (int)(sizeof k / sizeof k[0]);
    memcpy(out, k, sizeof k);
    return n;
}
#define MAX_KEYS 32

/* Does the member's header match the spec (before its payload is read)? */
static int key_fits(const Dims *d, const KeySpec *k, const LmArray *a) {
    if (a->dtype != k->dtype || a->ndim != k->ndim) return 0;
    for (int i = 0; i < k->ndim; i++) {
        if (k->shape[i] == LM_CK_NNZ) {
            if (d->nnz >= 0 ? a->shape[i] != d->nnz : a->shape[i] > d->N * d->N) return 0;
        } else if (k->shape[i] != LM_CK_P) {
            if (a->shape[i] != k->shape[i]) return 0;
        } else if (d->P >= 0 ? a->shape[i] != d->P : a->shape[i] > d->P_max) {
            return 0;
        }
    }
    return 1;
}

/* Every listed key present with its dtype and shape (full: the training-state keys too). */
static const int64_t *scalar_i64(LmNpz *z, const char *name) {
    const LmArray *a = lm_npz_expect(z, name, LM_DT_I64, 0, NULL);
    return a ? a->data : NULL;
}

/* The stored format (0 if absent or not a scalar: the key check reports it). */
static int64_t stored_format(LmNpz *z) {
    const LmArray *a = lm_npz_info(z, "format");
    if (!a || a->dtype != LM_DT_I64 || a->ndim != 0) return 0;
    const int64_t *f = scalar_i64(z, "format");
    return f ? *f : 0;
}

static int check_keys(LmNpz *z, const char *path, const Dims *d, int full) {
    KeySpec k[MAX_KEYS];
    int n = key_specs(d, k);
    int64_t format = stored_format(z);
    for (int i = 0; i < n; i++) {
        if (k[i].full_only && !full) continue;
        const LmArray *a = lm_npz_info(z, k[i].name);
        /* format 2 stores the dense W_rec and mask only for small N: checked when present */
        if (!a && k[i].format == LM_CHECKPOINT_FORMAT_DENSE && format == LM_CHECKPOINT_FORMAT) continue;
        if (k[i].format && k[i].format != format && !(a && k[i].format == LM_CHECKPOINT_FORMAT_DENSE)) continue;
        if (!a) return fail(path, "missing array '%s'", k[i].name);
        if (key_fits(d, &k[i], a)) continue;
        int64_t want[2] = {k[i].shape[0] == LM_CK_P ? d->P : k[i].shape[0] == LM_CK_NNZ ? d->nnz : k[i].shape[0],
                           k[i].shape[1]};
        /* lm_npz_expect formats "expected <dtype> <shape>, found ..." */
        if (lm_npz_expect(z, k[i].name, k[i].dtype, k[i].ndim, want)) {
            char msg[64];
            snprintf(msg, sizeof msg, "%s has more than %lld entries", k[i].name, (long long)d->P_max);
            return fail(path, "%s", msg);
        }
        return -1;
    }
    return 0;
}

static Dims dims_of_config(const LmTrainConfig *cfg, const LmBattery *b) {
    Dims d;
    d.N = cfg->hidden;
    d.n_in = lm_battery_n_in(b);
    d.n_out = LM_N_ACTIONS;
    d.P = -1;
    d.P_max = d.N * d.n_in + d.N + d.N * d.N + d.N + d.n_out * d.N + d.n_out;
    d.S = (int64_t)lm_stream_state_size_for(b->n, cfg->batch, cfg->window);
    d.nnz = -1;
    return d;
}

static Dims dims_of_trainer(const LmTrainer *t) {
    Dims d = dims_of_config(&t->cfg, &t->battery);
    d.P = t->search ? -1 : (int64_t)lm_model_n_params(t->model);   /* a search may have changed the mask */
    d.S = (int64_t)lm_stream_state_size(t->stream);
    d.nnz = t->search ? -1 : t->mask.nnz;
    return d;
}

/* The stored configuration (a string of at most 1 MB), parsed over the defaults. */
static int read_config(LmNpz *z, const char *path, LmTrainConfig *out) {
    const LmArray *cfg = lm_npz_info(z, "config");
    if (!cfg || cfg->dtype != LM_DT_STR) return fail(path, "%s", cfg ? "'config' is not a string" : "missing array 'config'");
    if (!(cfg = lm_npz_find_max(z, "config", (size_t)4 << 20))) return -1;
    cJSON *doc = cJSON_Parse((const char *)cfg->data);
    lm_train_config_default(out);
    int rc = doc && cJSON_IsObject(doc) ? lm_train_config_apply_json(out, doc, "config") : -1;
    if (rc != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", doc && cJSON_IsObject(doc) ? lm_err_msg() : "not a JSON object");
        fail(path, "stored configuration: %s", msg);
    }
    cJSON_Delete(doc);
    return rc;
}

int lm_checkpoint_read_config(const char *path, LmTrainConfig *out) {
    LmNpz *z = lm_npz_read(path);
    if (!z) return -1;
    int rc = read_config(z, path, out);
    lm_npz_free(z);
    return rc;
}

int lm_checkpoint_check_shapes(const char *path, const LmTrainConfig *cfg, int full) {
    LmBattery b;
    if (lm_battery_parse(cfg->battery, &b) != 0) return fail_with(path, "stored configuration");
    LmNpz *z = lm_npz_read(path);
    if (!z) return -1;
    Dims d = dims_of_config(cfg, &b);
    int rc = check_keys(z, path, &d, full);
    lm_npz_free(z);
    return rc;
}

/* The stored configuration trains the same network as the trainer's. */
static int check_config(LmNpz *z, const char *path, const LmTrainer *t, int full) {
    LmTrainConfig stored;
    if (read_config(z, path, &stored)) return -1;
    /* The pool does not shape the network: a weights-only loader may build its trainer without one. */
    if (!full) stored.train_pool = t->cfg.train_pool;
    const char *d = lm_train_config_diff(&stored, &t->cfg);
    if (*d) return fail(path, "was written by a run with a different '%s' than this configuration", d);
    return 0;
}

static int check_format(LmNpz *z, const char *path) {
    const int64_t *f = scalar_i64(z, "format");
    if (!f) return -1;
    if (*f == LM_CHECKPOINT_FORMAT || *f == LM_CHECKPOINT_FORMAT_DENSE) return 0;
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)*f);
    return fail(path, "unsupported checkpoint format %s", v);
}

/* The dense mask (format 1, small format-2 files, mask searches) is the mask the configuration builds,
 * or under a mask search lies inside the searched region. */
static int check_mask(LmNpz *z, const char *path, const LmTrainer *t) {
    int64_t N = t->mask.n, sh[2] = {N, N};
    if (stored_format(z) != LM_CHECKPOINT_FORMAT_DENSE && !lm_npz_info(z, "mask")) return 0;
    const LmArray *mask = lm_npz_expect(z, "mask", LM_DT_U8, 2, sh);
    if (!mask) return -1;
    const uint8_t *m = mask->data;
    uint8_t *want = lm_malloc((size_t)(N * N));
    lm_mask_to_dense(&t->mask, want);
    const uint8_t *region = t->search ? lm_search_region(t) : want;
    int rc = 0;
    for (int64_t i = 0; i < N * N && rc == 0; i++) {
        if (m[i] > 1) rc = fail(path, "%s", "mask holds values other than 0 and 1");
        else if (t->search ? m[i] && !region[i] : m[i] != want[i]) {
            char msg[300];
            snprintf(msg, sizeof msg, "mask %s the %s mask this configuration builds (entry %lld)",
                     t->search ? "leaves the region searched by" : "differs from", t->mask.desc, (long long)i);
            rc = fail(path, "%s", msg);
        }
    }
    free(want);
    return rc;
}

/* Format 2: W_rec's CSR structure is the trainer's mask (after a search's mask is applied). */
static int check_rec_structure(LmNpz *z, const char *path, const LmTrainer *t) {
    int64_t N = t->mask.n, nnz = t->mask.nnz, n1 = N + 1, two = 2;
    const LmArray *shape = lm_npz_expect(z, "W_rec_shape", LM_DT_I64, 1, &two);
    if (!shape) return -1;
    if (((const int64_t *)shape->data)[0] != N || ((const int64_t *)shape->data)[1] != N)
        return fail(path, "%s", "W_rec_shape is not [N, N] of this configuration");
    const LmArray *indptr = lm_npz_expect(z, "W_rec_indptr", LM_DT_I32, 1, &n1);
    if (!indptr) return -1;
    if (memcmp(indptr->data, t->mask.row_ptr, (size_t)n1 * sizeof(int32_t)) != 0)
        return fail(path, "W_rec_indptr differs from the %s mask this configuration builds", t->mask.desc);
    const LmArray *indices = lm_npz_expect(z, "W_rec_indices", LM_DT_I32, 1, &nnz);
    if (!indices) return -1;
    if (memcmp(indices->data, t->mask.col_idx, (size_t)nnz * sizeof(int32_t)) != 0)
        return fail(path, "W_rec_indices differs from the %s mask this configuration builds", t->mask.desc);
    return 0;
}

/* The dense [n][n] matrix is the CSR (mask structure, values) expanded: equal on the mask, 0 elsewhere. */
static int rec_matches_dense(const LmMask *mask, const float *vals, const float *dense) {
    int n = mask->n;
    for (int i = 0; i < n; i++) {
        const float *row = dense + (size_t)i * n;
        int32_t p = mask->row_ptr[i], end = mask->row_ptr[i + 1];
        for (int j = 0; j < n; j++) {
            int on = p < end && mask->col_idx[p] == j;
            if (on ? memcmp(&row[j], &vals[p], sizeof(float)) != 0 : row[j] != 0.0f) return 0;
            p += on;
        }
    }
    return 1;
}

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Dale's law: the stored E/I assignment is the one the configuration gives. */
static int check_ei(LmNpz *z, const char *path, const LmModel *m) {
    if (!lm_model_ei(m)) return 0;
    int64_t N = lm_model_config(m)->n_hidden;
    const LmArray *ei = lm_npz_expect(z, "ei", LM_DT_I32, 1, &N);
    if (!ei) return -1;
    for (int64_t j = 0; j < N; j++)
        if (((const int32_t *)ei->data)[j] != lm_model_ei(m)[j]) {
            char msg[100];
            snprintf(msg, sizeof msg, "ei[%lld] differs from the E/I assignment of this configuration", (long long)j);
            return fail(path, "%s", msg);
        }
    return 0;
}

/* The named tensors go into a scratch model (importing checks W_rec against the mask); its parameter
 * block must then equal the stored `params` exactly. Returns `params`' data or NULL. */
static const float *check_network(LmNpz *z, const char *path, const LmTrainer *t) {
    const LmModel *m = t->model;
    int64_t P = (int64_t)lm_model_n_params(m);
    if (check_ei(z, path, m)) return NULL;
    LmModel *scratch = lm_model_new(lm_model_config(m), &t->mask);
    if (!scratch) return NULL;
    const float *out = NULL;
    if (lm_model_ei(m) && lm_model_set_dale(scratch, lm_model_ei(m), lm_model_readout_exc(m)) != 0) goto done;
    const LmArray *rec = NULL;   /* format 2: W_rec's values in mask order */
    if (stored_format(z) == LM_CHECKPOINT_FORMAT) {
        int64_t nnz = t->mask.nnz;
        if (check_rec_structure(z, path, t)) goto done;
        if (!(rec = lm_npz_expect(z, "W_rec_data", LM_DT_F32, 1, &nnz))) goto done;
        if (!all_finite(rec->data, rec->count)) {
            fail(path, "%s", "W_rec_data holds non-finite values");
            goto done;
        }
        if (lm_model_import_rec_values(scratch, rec->data) != 0) {
            fail_with(path, "W_rec_data");
            goto done;
        }
    }
    for (int i = 0; i < LM_N_TENSORS; i++) {
        LmTensorInfo ti = lm_model_tensor_info(m, i);
        int is_rec = !strcmp(ti.name, "W_rec");
        if (is_rec && rec && !lm_npz_info(z, "W_rec")) continue;   /* dense copy absent (large N) */
        const LmArray *a = lm_npz_expect(z, ti.name, LM_DT_F32, ti.ndim, ti.shape);
        if (!a) goto done;
        if (!all_finite(a->data, a->count)) {
            fail(path, "%s holds non-finite values", ti.name);
            goto done;
        }
        if (is_rec && rec) {   /* a dense copy must agree with the CSR */
            if (!rec_matches_dense(&t->mask, rec->data, a->data)) {
                fail(path, "%s", "W_rec (dense) disagrees with W_rec_data");
                goto done;
            }
            continue;
        }
        if (lm_model_import_tensor(scratch, i, a->data) != 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s: %s (weights and mask disagree)", ti.name, lm_err_msg());
            fail(path, "%s", msg);
            goto done;
        }
    }
    const LmArray *params = lm_npz_expect(z, "params", LM_DT_F32, 1, &P);
    if (!params) goto done;
    if (memcmp(params->data, lm_model_params(scratch), (size_t)P * sizeof(float)) != 0)
        fail(path, "%s", "params disagrees with the named tensors W_in..b_out");
    else out = params->data;
done:
    lm_model_free(scratch);
    return out;
}

/* What a full load restores besides the weights, validated. */
typedef struct {
    const float *adam_m, *adam_v;
    int64_t adam_t, step, trials, loss_n;
    double wall, loss_sum;
    uint64_t noise[4];
    int64_t threshold[LM_N_THRESHOLDS][2];
    const uint8_t *stream_state;
} TrainState;

static int check_adam(LmNpz *z, const char *path, int64_t P, TrainState *s) {
    const LmArray *am = lm_npz_expect(z, "adam_m", LM_DT_F32, 1, &P);
    const LmArray *av = am ? lm_npz_expect(z, "adam_v", LM_DT_F32, 1, &P) : NULL;
    if (!av) return -1;
    if (!all_finite(am->data, am->count) || !all_finite(av->data, av->count))
        return fail(path, "%s", "Adam moments hold non-finite values");
    const float *v = av->data;
    for (int64_t i = 0; i < P; i++)
        if (v[i] < 0) return fail(path, "%s", "adam_v holds negative values");
    s->adam_m = am->data;
    s->adam_v = av->data;
    return 0;
}

/* step, adam_t, trials, wall and loss_acc: in range and consistent with each other. */
static int check_counters(LmNpz *z, const char *path, int search, TrainState *s) {
    const int64_t *at = scalar_i64(z, "adam_t"), *st = at ? scalar_i64(z, "step") : NULL;
    const int64_t *tr = st ? scalar_i64(z, "trials") : NULL;
    const LmArray *wall = tr ? lm_npz_expect(z, "wall", LM_DT_F64, 0, NULL) : NULL;
    const LmArray *lacc = wall ? lm_npz_expect(z, "loss_acc", LM_DT_F64, 1, (int64_t[]){2}) : NULL;
    if (!lacc) return -1;
    double wl = *(const double *)wall->data;
    const double *la = lacc->data;
    /* loss_acc[1] counts steps: an integer in [0, step] (checked before it is converted) */
    /* a search's IMP rounds start a fresh optimiser: adam_t <= step */
    if (*st < 0 || (search ? *at < 0 || *at > *st : *at != *st) || *tr < 0 || !(wl >= 0) || !isfinite(wl) || !isfinite(la[0]) || !(la[1] >= 0) ||
        la[1] > (double)*st || la[1] != floor(la[1]))
        return fail(path, "%s", "inconsistent counters (step, adam_t, trials, wall or loss_acc)");
    s->adam_t = *at;
    s->step = *st;
    s->trials = *tr;
    s->wall = wl;
    s->loss_sum = la[0];
    s->loss_n = (int64_t)la[1];
    return 0;
}

/* Each threshold: not crossed (-1, -1), or crossed at a step in 0..step with a trial count >= 0, and a
 * higher threshold never before a lower one. */
static int check_thresholds(LmNpz *z, const char *path, TrainState *s) {
    const LmArray *thr = lm_npz_expect(z, "thresholds", LM_DT_I64, 2, (int64_t[]){LM_N_THRESHOLDS, 2});
    if (!thr) return -1;
    const int64_t *th = thr->data;
    for (int i = 0; i < LM_N_THRESHOLDS; i++) {
        int64_t step = th[2 * i], trials = th[2 * i + 1];
        int unset = step == -1 && trials == -1;
        if (!unset && (step < 0 || step > s->step || trials < 0 || trials > s->trials))
            return fail(path, "%s", "thresholds hold a step outside 0..step");
        if (i > 0 && !unset && (th[2 * i - 2] < 0 || th[2 * i - 2] > step))
            return fail(path, "%s", "thresholds crossed out of order");
        s->threshold[i][0] = step;
        s->threshold[i][1] = trials;
    }
    return 0;
}

static int check_generators(LmNpz *z, const char *path, const LmTrainer *t, TrainState *s) {
    const LmArray *rng = lm_npz_expect(z, "rng_noise", LM_DT_I64, 1, (int64_t[]){4});
    if (!rng) return -1;
    memcpy(s->noise, rng->data, sizeof s->noise);
    if (!(s->noise[0] | s->noise[1] | s->noise[2] | s->noise[3]))
        return fail(path, "%s", "rng_noise is the all-zero state");
    int64_t S = (int64_t)lm_stream_state_size(t->stream);
    const LmArray *ss = lm_npz_expect(z, "stream_state", LM_DT_U8, 1, &S);
    if (!ss) return -1;
    s->stream_state = ss->data;
    return 0;
}

static int check_train_state(LmNpz *z, const char *path, const LmTrainer *t, TrainState *s) {
    int64_t P = (int64_t)lm_model_n_params(t->model);
    if (check_adam(z, path, P, s) || check_counters(z, path, t->search != NULL, s) || check_thresholds(z, path, s)) return -1;
    return check_generators(z, path, t, s);
}

static void commit(LmTrainer *t, const float *params, const TrainState *s) {
    size_t P = lm_model_n_params(t->model);
    memcpy(lm_model_params(t->model), params, P * sizeof(float));
    memcpy(t->adam.m, s->adam_m, P * sizeof(float));
    memcpy(t->adam.v, s->adam_v, P * sizeof(float));
    t->adam.t = s->adam_t;
    t->step = s->step;
    t->trials = s->trials;
    t->wall = s->wall;
    memcpy(t->noise.s, s->noise, sizeof t->noise.s);
    memcpy(t->threshold, s->threshold, sizeof t->threshold);
    t->loss_sum = s->loss_sum;
    t->loss_n = s->loss_n;
}

/* Mask search: the stored mask replaces the configuration's start mask before the network is checked
 * (the one exception to "nothing changes before commit": *orig keeps the old mask to undo it). */
static int apply_search_mask(LmNpz *z, const char *path, LmTrainer *t, uint8_t **orig) {
    size_t nn = (size_t)t->mask.n * t->mask.n;
    const LmArray *mask = t->search ? lm_npz_find(z, "mask") : NULL;
    if (!mask) return 0;
    *orig = lm_malloc(nn);
    lm_mask_to_dense(&t->mask, *orig);
    if (!memcmp(mask->data, *orig, nn)) {
        free(*orig);
        *orig = NULL;
        return 0;
    }
    lm_trainer_set_mask(t, mask->data, "mask search (from the checkpoint)");
    if (lm_search_checkpoint_read(t, z, 0) != 0) return fail_with(path, "search state");
    return 0;
}

static int load(LmTrainer *t, const char *path, int full) {
    LmNpz *z = lm_npz_read(path);
    if (!z) return -1;
    int rc = -1;
    Dims d = dims_of_trainer(t);
    const float *params = NULL;
    uint8_t *orig_mask = NULL;
    char orig_desc[160];
    snprintf(orig_desc, sizeof orig_desc, "%s", t->mask.desc);
    if (check_keys(z, path, &d, full) || check_config(z, path, t, full) || check_format(z, path) ||
        check_mask(z, path, t) || apply_search_mask(z, path, t, &orig_mask) ||
        !(params = check_network(z, path, t)))
        goto out;
    if (t->search && full && lm_search_checkpoint_read(t, z, 0) != 0) {
        fail_with(path, "search state");
        goto out;
    }
    if (!full) {
        /* Weights only (evaluation, plots): the optimiser and stream state are not needed. */
        const int64_t *st = scalar_i64(z, "step");
        if (!st) goto out;
        if (*st < 0) {
            fail(path, "%s", "step is negative");
            goto out;
        }
        memcpy(lm_model_params(t->model), params, lm_model_n_params(t->model) * sizeof(float));
        t->step = *st;
        rc = 0;
        goto out;
    }
    TrainState s;
    memset(&s, 0, sizeof s);
    if (check_train_state(z, path, t, &s)) goto out;
    /* The stream validates its whole state before taking any of it: the last check, then commit. */
    if (lm_stream_load_state(t->stream, s.stream_state, lm_stream_state_size(t->stream)) != 0) {
        fail_with(path, "stream_state");
        goto out;
    }
    commit(t, params, &s);
    if (t->search) lm_search_checkpoint_read(t, z, 1);
    rc = 0;
out:
    if (rc != 0 && orig_mask) lm_trainer_set_mask(t, orig_mask, orig_desc);
    free(orig_mask);
    lm_npz_free(z);
    return rc;
}

int lm_checkpoint_load(LmTrainer *t, const char *path) { return load(t, path, 1); }
int lm_checkpoint_load_weights(LmTrainer *t, const char *path) { return load(t, path, 0); }
