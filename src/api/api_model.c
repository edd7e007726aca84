/* The public C API: masks, models (new, loaded from a run), forward passes and evaluation. A model
 * handle holds the trainer the network was built by (lm_trainer_new for a new one, lm_trained_load for
 * a run's), so a new model is exactly step 0 of the run its options describe, and a loaded one is
 * validated like `lmrnn eval` validates it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "api/api_internal.h"
#include "eval/eval.h"
#include "model/model.h"
#include "report/run.h"
#include "train/trainer.h"
#include "util/err.h"

/* Largest forward pass: T x B x N floats per activation buffer (the work keeps several). */
#define MAX_FORWARD_TBN ((size_t)1 << 28)
#define MAX_EVAL_TRIALS 1000000

/* ---------------------------------------------------------------- masks */
int lmrnn_mask_build(const char *const *keys, const char *const *values, int n, uint8_t *out, size_t n_out,
                     lmrnn_mask_info *info) {
    LmTrainConfig *c = lm_malloc(sizeof *c);
    int rc = lm_api_config(c, keys, values, n);
    if (rc == LMRNN_OK && lm_train_config_validate(c) != 0) rc = LMRNN_ERR_ARG;
    LmMask mask;
    memset(&mask, 0, sizeof mask);
    if (rc == LMRNN_OK && lm_train_build_mask(c, &mask) != 0) rc = LMRNN_ERR_ARG;
    free(c);
    if (rc != LMRNN_OK) return rc;
    const size_t nn = (size_t)mask.n * (size_t)mask.n;
    if (out && (rc = lm_api_check_len("mask", n_out, nn, 0)) != LMRNN_OK) {
        lm_mask_free(&mask);
        return rc;
    }
    if (out) lm_mask_to_dense(&mask, out);
    if (info) {
        memset(info, 0, sizeof *info);
        info->n = mask.n;
        info->nnz = mask.nnz;
        info->density = mask.density;
        info->param = mask.param;
        snprintf(info->desc, sizeof info->desc, "%s", mask.desc);
    }
    lm_mask_free(&mask);
    return lm_api_ok();
}

/* ---------------------------------------------------------------- models */
int lmrnn_model_create(lmrnn_model **out, const char *const *keys, const char *const *values, int n) {
    if (!out) return lm_api_arg("model: NULL output handle");
    *out = NULL;
    LmTrainConfig *c = lm_malloc(sizeof *c);
    int rc = lm_api_config(c, keys, values, n);
    if (rc == LMRNN_OK && lm_train_config_validate(c) != 0) rc = LMRNN_ERR_ARG;
    LmTrainer *t = rc == LMRNN_OK ? lm_trainer_new(c) : NULL;
    free(c);
    if (rc != LMRNN_OK) return rc;
    if (!t) return LMRNN_ERR_ARG;
    lmrnn_model *m = lm_calloc(1, sizeof *m);
    lm_trained_adopt(t, &m->run);
    *out = m;
    return lm_api_ok();
}

int lmrnn_model_load(lmrnn_model **out, const char *path) {
    if (!out) return lm_api_arg("model: NULL output handle");
    *out = NULL;
    if (!path || !*path) return lm_api_arg("model: empty run directory");
    lmrnn_model *m = lm_calloc(1, sizeof *m);
    if (lm_trained_load(path, &m->run) != 0) {
        free(m);
        return LMRNN_ERR_FAILED;
    }
    *out = m;
    return lm_api_ok();
}

void lmrnn_model_free(lmrnn_model *m) {
    if (!m) return;
    if (m->work) lm_work_free(m->work);
    lm_trained_free(&m->run);
    free(m);
}

int lmrnn_model_info_get(const lmrnn_model *m, lmrnn_model_info *out) {
    if (!m || !out) return lm_api_arg("model info: NULL argument");
    const LmModelConfig *c = lm_model_config(m->run.model);
    memset(out, 0, sizeof *out);
    out->n_in = c->n_in;
    out->n_hidden = c->n_hidden;
    out->n_out = c->n_out;
    out->n_tasks = m->run.battery->n;
    out->n_params = (int64_t)lm_model_n_params(m->run.model);
    out->step = m->run.trainer->step;
    out->seed = m->run.trainer->cfg.seed;
    out->eval_seed = m->run.trainer->eval_seed;
    snprintf(out->layout, sizeof out->layout, "%s", lm_model_rec_layout(m->run.model));
    snprintf(out->battery, sizeof out->battery, "%s", m->run.trainer->cfg.battery);
    return lm_api_ok();
}

int lmrnn_model_config_json(const lmrnn_model *m, char *buf, size_t n, size_t *need) {
    if (!m) return lm_api_arg("model config: NULL handle");
    cJSON *doc = lm_trainer_config_doc(m->run.trainer);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    LM_ASSERT(text != NULL);
    const size_t len = strlen(text);
    if (need) *need = len + 1;
    int rc = LMRNN_OK;
    if (buf) {
        rc = lm_api_check_len("model config", n, len + 1, 1);
        if (rc == LMRNN_OK) memcpy(buf, text, len + 1);
    }
    free(text);
    return rc == LMRNN_OK ? lm_api_ok() : rc;
}

static int tensor_index(const lmrnn_model *m, int i) {
    if (!m) return lm_api_arg("model: NULL handle");
    if (i < 0 || i >= LM_N_TENSORS) return lm_api_arg("model: tensor index %d outside 0..%d", i, LM_N_TENSORS - 1);
    return LMRNN_OK;
}

static size_t tensor_len(const LmTensorInfo *ti) {
    return (size_t)ti->shape[0] * (size_t)(ti->ndim > 1 ? ti->shape[1] : 1);
}

int lmrnn_model_tensor_shape(const lmrnn_model *m, int i, const char **name, int *ndim, int64_t shape[2]) {
    int rc = tensor_index(m, i);
    if (rc != LMRNN_OK) return rc;
    LmTensorInfo ti = lm_model_tensor_info(m->run.model, i);
    if (name) *name = ti.name;
    if (ndim) *ndim = ti.ndim;
    if (shape) {
        shape[0] = ti.shape[0];
        shape[1] = ti.ndim > 1 ? ti.shape[1] : 1;
    }
    return lm_api_ok();
}

int lmrnn_model_get_tensor(const lmrnn_model *m, int i, float *out, size_t n) {
    int rc = tensor_index(m, i);
    if (rc != LMRNN_OK) return rc;
    LmTensorInfo ti = lm_model_tensor_info(m->run.model, i);
    if (!out) return lm_api_arg("tensor %s: NULL buffer", ti.name);
    char what[32];
    snprintf(what, sizeof what, "tensor %s", ti.name);
    if ((rc = lm_api_check_len(what, n, tensor_len(&ti), 0)) != LMRNN_OK) return rc;
    lm_model_export_tensor(m->run.model, i, out);
    return lm_api_ok();
}

int lmrnn_model_set_tensor(lmrnn_model *m, int i, const float *in, size_t n) {
    int rc = tensor_index(m, i);
    if (rc != LMRNN_OK) return rc;
    LmTensorInfo ti = lm_model_tensor_info(m->run.model, i);
    if (!in) return lm_api_arg("tensor %s: NULL buffer", ti.name);
    char what[32];
    snprintf(what, sizeof what, "tensor %s", ti.name);
    const size_t len = tensor_len(&ti);
    if ((rc = lm_api_check_len(what, n, len, 0)) != LMRNN_OK) return rc;
    for (size_t k = 0; k < len; k++)
        if (!isfinite(in[k])) return lm_api_arg("tensor %s: non-finite value at element %zu", ti.name, k);
    if (lm_model_import_tensor(m->run.model, i, in) != 0) return LMRNN_ERR_ARG;
    return lm_api_ok();
}

int lmrnn_model_mask(const lmrnn_model *m, uint8_t *out, size_t n) {
    if (!m || !out) return lm_api_arg("model mask: NULL argument");
    const LmMask *mask = lm_model_mask(m->run.model);
    const size_t nn = (size_t)mask->n * (size_t)mask->n;
    int rc = lm_api_check_len("model mask", n, nn, 0);
    if (rc != LMRNN_OK) return rc;
    lm_mask_to_dense(mask, out);
    return lm_api_ok();
}

/* ---------------------------------------------------------------- forward */
static void ensure_work(lmrnn_model *m, int T, int B) {
    if (m->work && T <= m->work_T && B <= m->work_B) return;
    if (m->work) lm_work_free(m->work);
    m->work_T = T > m->work_T ? T : m->work_T;
    m->work_B = B > m->work_B ? B : m->work_B;
    m->work = lm_work_new(m->run.model, m->work_T, m->work_B);
}

int lmrnn_model_forward(lmrnn_model *m, int T, int B, const float *inputs, size_t n_inputs, float *hidden,
                        size_t n_hidden, float *logits, size_t n_logits) {
    if (!m) return lm_api_arg("forward: NULL model");
    if (T < 1 || B < 1) return lm_api_arg("forward: T and B must be >= 1 (got T=%d, B=%d)", T, B);
    if (!inputs) return lm_api_arg("forward: NULL inputs");
    const LmModelConfig *c = lm_model_config(m->run.model);
    const size_t tb = (size_t)T * (size_t)B;
    if (tb * (size_t)(c->n_hidden > c->n_in ? c->n_hidden : c->n_in) > MAX_FORWARD_TBN)
        return lm_api_arg("forward: T=%d x B=%d is too large for one pass (split the batch)", T, B);
    int rc;
    if ((rc = lm_api_check_len("forward inputs", n_inputs, tb * (size_t)c->n_in, 0)) != LMRNN_OK ||
        (hidden && (rc = lm_api_check_len("forward hidden", n_hidden, tb * (size_t)c->n_hidden, 0)) != LMRNN_OK) ||
        (logits && (rc = lm_api_check_len("forward logits", n_logits, tb * (size_t)c->n_out, 0)) != LMRNN_OK))
        return rc;
    for (size_t k = 0; k < tb * (size_t)c->n_in; k++)
        if (!isfinite(inputs[k])) return lm_api_arg("forward: non-finite input at element %zu", k);
    ensure_work(m, T, B);
    lm_forward(m->run.model, m->work, inputs, NULL, NULL, NULL, T, B, NULL);
    if (hidden) memcpy(hidden, lm_work_hidden(m->work), tb * (size_t)c->n_hidden * sizeof(float));
    if (logits) memcpy(logits, lm_work_logits(m->work), tb * (size_t)c->n_out * sizeof(float));
    return lm_api_ok();
}

/* ---------------------------------------------------------------- evaluation */
int lmrnn_model_evaluate(lmrnn_model *m, int trials, const uint64_t *seed, const char *metric, double *perf,
                         int32_t *correct, size_t n, double *mean) {
    if (!m) return lm_api_arg("evaluate: NULL model");
    if (trials < 1 || trials > MAX_EVAL_TRIALS)
        return lm_api_arg("evaluate: trials must be 1..%d (got %d)", MAX_EVAL_TRIALS, trials);
    LmMetric mt = LM_METRIC_LAST_STEP;
    if (metric && lm_metric_parse(metric, &mt) != 0) return LMRNN_ERR_ARG;
    const int nt = m->run.battery->n;
    int rc;
    if ((perf || correct) && (rc = lm_api_check_len("evaluate results", n, (size_t)nt, 1)) != LMRNN_OK) return rc;
    LmEvalResult *r = lm_malloc(sizeof *r);
    if (lm_evaluate(m->run.model, m->run.env, m->run.battery, trials, seed ? *seed : m->run.eval_seed, NULL, r) != 0) {
        free(r);
        return LMRNN_ERR_FAILED;
    }
    for (int k = 0; k < nt; k++) {
        if (perf) perf[k] = lm_eval_task_perf(r, k, mt);
        if (correct) correct[k] = r->correct[k][mt];
    }
    if (mean) *mean = lm_eval_mean(r, mt);
    free(r);
    return lm_api_ok();
}

int lmrnn_model_eval_trial(const lmrnn_model *m, int pos, int i, const uint64_t *seed, float *inputs,
                           size_t n_inputs, int32_t *gt, size_t n_gt, lmrnn_trial_info *info) {
    if (!m) return lm_api_arg("eval trial: NULL model");
    const LmBattery *b = m->run.battery;
    if (pos < 0 || pos >= b->n) return lm_api_arg("eval trial: position %d outside the battery's %d tasks", pos, b->n);
    if (i < 0) return lm_api_arg("eval trial: negative trial index %d", i);
    const int n_in = LM_OBS + b->n;
    int rc;
    if ((inputs && (rc = lm_api_check_len("eval trial inputs", n_inputs, (size_t)LM_TMAX * n_in, 0)) != LMRNN_OK) ||
        (gt && (rc = lm_api_check_len("eval trial labels", n_gt, LM_TMAX, 0)) != LMRNN_OK))
        return rc;
    LmTrial *t = lm_malloc(sizeof *t);
    lm_eval_trial(m->run.env, b->id[pos], pos, i, seed ? *seed : m->run.eval_seed, t);
    if (inputs) {
        memset(inputs, 0, (size_t)LM_TMAX * n_in * sizeof(float));
        for (int s = 0; s < t->len; s++) {
            memcpy(inputs + (size_t)s * n_in, t->ob + (size_t)s * LM_OBS, LM_OBS * sizeof(float));
            inputs[(size_t)s * n_in + LM_OBS + pos] = 1.0f;
        }
    }
    if (gt) memcpy(gt, t->gt, sizeof t->gt);
    if (info) lm_api_trial_info(t, info);
    free(t);
    return lm_api_ok();
}
