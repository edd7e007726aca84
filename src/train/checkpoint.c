/* checkpoint.npz writer and validating reader. The named tensors (W_in ... b_out, dense W_rec) are for
 * NumPy users and evaluation tools; `params` is the engine's own block (compressed W_rec on the sparse
 * path), restored bit for bit. Reading validates every array before the trainer is touched. */
#include "train/checkpoint.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "io/npz.h"
#include "util/err.h"

int lm_checkpoint_save(const LmTrainer *t, const char *config_doc, const char *path) {
    LmModel *m = t->model;
    LmNpzWriter *w = lm_npz_create(path);
    if (!w) return -1;
    int rc = 0;
    /* Buffers must stay alive until lm_npz_close. */
    float *tensors[LM_N_TENSORS] = {0};
    for (int i = 0; i < LM_N_TENSORS && rc == 0; i++) {
        LmTensorInfo ti = lm_model_tensor_info(m, i);
        size_t n = 1;
        for (int k = 0; k < ti.ndim; k++) n *= (size_t)ti.shape[k];
        tensors[i] = lm_malloc(n * sizeof(float));
        lm_model_export_tensor(m, i, tensors[i]);
        rc = lm_npz_add(w, ti.name, LM_DT_F32, ti.ndim, ti.shape, tensors[i]);
    }
    int64_t N = t->mask.n;
    int64_t sh_nn[2] = {N, N};
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
    if (rc == 0) rc = lm_npz_add(w, "mask", LM_DT_U8, 2, sh_nn, t->mask.m);
    int32_t *ei = NULL;   /* Dale's law: +1/-1 per (presynaptic) unit, beside the signed W_rec */
    if (rc == 0 && lm_model_ei(m)) {
        ei = lm_malloc((size_t)N * sizeof(int32_t));
        for (int64_t j = 0; j < N; j++) ei[j] = lm_model_ei(m)[j];
        rc = lm_npz_add(w, "ei", LM_DT_I32, 1, &N, ei);
    }
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
    free(ei);
    free(stream_state);
    return rc;
}

/* Prefix the current error with the checkpoint path unless the io layer already named it. */
static int fail(const char *path, const char *fmt, const char *arg) {
    char msg[1024]; /* room for a 600-byte argument and the format */
    snprintf(msg, sizeof msg, fmt, arg);
    lm_err_set("%s: %s", path, msg);
    return -1;
}

static const LmArray *scalar(const LmNpz *z, const char *name, LmDtype dt) {
    return lm_npz_expect(z, name, dt, 0, NULL);
}

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static int load(LmTrainer *t, const char *path, int full) {
    LmNpz *z = lm_npz_read(path);
    if (!z) return -1;
    int rc = -1;
    LmModel *scratch = NULL;
    LmTrainConfig stored;
    cJSON *doc = NULL;
    char msg[600];

    /* The stored configuration must describe the same training. */
    const LmArray *cfg = lm_npz_find(z, "config");
    if (!cfg || cfg->dtype != LM_DT_STR) {
        fail(path, "%s", cfg ? "'config' is not a string" : "missing array 'config'");
        goto out;
    }
    doc = cJSON_Parse((const char *)cfg->data);
    lm_train_config_default(&stored);
    if (!doc || lm_train_config_apply_json(&stored, doc, "config") != 0) {
        snprintf(msg, sizeof msg, "%s", doc ? lm_err_msg() : "not valid JSON");
        fail(path, "stored configuration: %s", msg);
        goto out;
    }
    /* The pool does not shape the network: a weights-only loader may build its trainer without one. */
    if (!full) stored.train_pool = t->cfg.train_pool;
    const char *d = lm_train_config_diff(&stored, &t->cfg);
    if (*d) {
        fail(path, "was written by a run with a different '%s' than this configuration", d);
        goto out;
    }

    LmModel *m = t->model;
    const LmModelConfig *mc = lm_model_config(m);
    int64_t N = mc->n_hidden, P = (int64_t)lm_model_n_params(m);
    int64_t S = (int64_t)lm_stream_state_size(t->stream);
    int64_t sh_nn[2] = {N, N}, sh4[1] = {4}, sh2[1] = {2}, sh_thr[2] = {LM_N_THRESHOLDS, 2};

    const LmArray *fmt = scalar(z, "format", LM_DT_I64);
    if (!fmt) goto out;
    if (*(const int64_t *)fmt->data != LM_CHECKPOINT_FORMAT) {
        snprintf(msg, sizeof msg, "%lld", (long long)*(const int64_t *)fmt->data);
        fail(path, "unsupported checkpoint format %s", msg);
        goto out;
    }
    const LmArray *mask = lm_npz_expect(z, "mask", LM_DT_U8, 2, sh_nn);
    if (!mask) goto out;
    for (int64_t i = 0; i < N * N; i++) {
        uint8_t v = ((const uint8_t *)mask->data)[i];
        if (v > 1) {
            fail(path, "%s", "mask holds values other than 0 and 1");
            goto out;
        }
        if (v != t->mask.m[i]) {
            snprintf(msg, sizeof msg, "mask differs from the %s mask this configuration builds (entry %lld)",
                     t->mask.desc, (long long)i);
            fail(path, "%s", msg);
            goto out;
        }
    }

    /* Named tensors go into a scratch model: importing checks W_rec against the mask, and the
     * scratch parameter block must then equal the stored `params` exactly. */
    if (lm_model_ei(m)) {   /* Dale's law: the stored assignment is the one the configuration gives */
        const LmArray *ei = lm_npz_expect(z, "ei", LM_DT_I32, 1, &N);
        if (!ei) goto out;
        for (int64_t j = 0; j < N; j++)
            if (((const int32_t *)ei->data)[j] != lm_model_ei(m)[j]) {
                snprintf(msg, sizeof msg, "ei[%lld] differs from the E/I assignment of this configuration",
                         (long long)j);
                fail(path, "%s", msg);
                goto out;
            }
    }
    scratch = lm_model_new(mc, &t->mask);
    if (!scratch) goto out;
    if (lm_model_ei(m) && lm_model_set_dale(scratch, lm_model_ei(m), lm_model_readout_exc(m)) != 0) goto out;
    for (int i = 0; i < LM_N_TENSORS; i++) {
        LmTensorInfo ti = lm_model_tensor_info(m, i);
        const LmArray *a = lm_npz_expect(z, ti.name, LM_DT_F32, ti.ndim, ti.shape);
        if (!a) goto out;
        if (!all_finite(a->data, a->count)) {
            fail(path, "%s holds non-finite values", ti.name);
            goto out;
        }
        if (lm_model_import_tensor(scratch, i, a->data) != 0) {
            snprintf(msg, sizeof msg, "%s: %s (weights and mask disagree)", ti.name, lm_err_msg());
            fail(path, "%s", msg);
            goto out;
        }
    }
    const LmArray *params = lm_npz_expect(z, "params", LM_DT_F32, 1, &P);
    if (!params) goto out;
    if (memcmp(params->data, lm_model_params(scratch), (size_t)P * sizeof(float)) != 0) {
        fail(path, "%s", "params disagrees with the named tensors W_in..b_out");
        goto out;
    }
    if (!full) {
        /* Weights only (evaluation, plots): the optimiser and stream state are not needed. */
        const LmArray *st = lm_npz_find(z, "step");
        memcpy(lm_model_params(m), params->data, (size_t)P * sizeof(float));
        if (st && st->dtype == LM_DT_I64 && st->count == 1) t->step = *(const int64_t *)st->data;
        rc = 0;
        goto out;
    }
    const LmArray *am = lm_npz_expect(z, "adam_m", LM_DT_F32, 1, &P);
    const LmArray *av = am ? lm_npz_expect(z, "adam_v", LM_DT_F32, 1, &P) : NULL;
    if (!av) goto out;
    if (!all_finite(am->data, am->count) || !all_finite(av->data, av->count)) {
        fail(path, "%s", "Adam moments hold non-finite values");
        goto out;
    }
    const float *vv = av->data;
    for (int64_t i = 0; i < P; i++)
        if (vv[i] < 0) {
            fail(path, "%s", "adam_v holds negative values");
            goto out;
        }
    const LmArray *adam_t = scalar(z, "adam_t", LM_DT_I64), *step = NULL, *trials = NULL, *wall = NULL;
    if (adam_t) step = scalar(z, "step", LM_DT_I64);
    if (step) trials = scalar(z, "trials", LM_DT_I64);
    if (trials) wall = scalar(z, "wall", LM_DT_F64);
    const LmArray *rng = wall ? lm_npz_expect(z, "rng_noise", LM_DT_I64, 1, sh4) : NULL;
    const LmArray *ss = rng ? lm_npz_expect(z, "stream_state", LM_DT_U8, 1, &S) : NULL;
    const LmArray *thr = ss ? lm_npz_expect(z, "thresholds", LM_DT_I64, 2, sh_thr) : NULL;
    const LmArray *lacc = thr ? lm_npz_expect(z, "loss_acc", LM_DT_F64, 1, sh2) : NULL;
    if (!lacc) goto out;
    int64_t st = *(const int64_t *)step->data, at = *(const int64_t *)adam_t->data;
    int64_t tr = *(const int64_t *)trials->data;
    double wl = *(const double *)wall->data;
    const double *la = lacc->data;
    if (st < 0 || at != st || tr < 0 || !(wl >= 0) || !isfinite(wl) || !isfinite(la[0]) || !(la[1] >= 0) ||
        la[1] > (double)st) {
        fail(path, "%s", "inconsistent counters (step, adam_t, trials, wall or loss_acc)");
        goto out;
    }
    const int64_t *th = thr->data;
    for (int i = 0; i < LM_N_THRESHOLDS; i++)
        if (th[2 * i] < -1 || th[2 * i] > st) {
            fail(path, "%s", "thresholds hold a step outside 0..step");
            goto out;
        }
    const uint64_t *rs = rng->data;
    if (!(rs[0] | rs[1] | rs[2] | rs[3])) {
        fail(path, "%s", "rng_noise is the all-zero state");
        goto out;
    }
    if (lm_stream_load_state(t->stream, ss->data, (size_t)S) != 0) {
        snprintf(msg, sizeof msg, "stream_state: %s", lm_err_msg());
        fail(path, "%s", msg);
        goto out;
    }

    /* Everything is valid: commit. */
    memcpy(lm_model_params(m), params->data, (size_t)P * sizeof(float));
    memcpy(t->adam.m, am->data, (size_t)P * sizeof(float));
    memcpy(t->adam.v, av->data, (size_t)P * sizeof(float));
    t->adam.t = at;
    t->step = st;
    t->trials = tr;
    t->wall = wl;
    memcpy(t->noise.s, rng->data, sizeof t->noise.s);
    memcpy(t->threshold, th, sizeof t->threshold);
    t->loss_sum = la[0];
    t->loss_n = (int64_t)la[1];
    rc = 0;
out:
    if (scratch) lm_model_free(scratch);
    if (doc) cJSON_Delete(doc);
    lm_npz_free(z);
    return rc;
}

int lm_checkpoint_load(LmTrainer *t, const char *path) { return load(t, path, 1); }
int lm_checkpoint_load_weights(LmTrainer *t, const char *path) { return load(t, path, 0); }
