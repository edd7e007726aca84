/* Rebuild a trained model from checkpoint.npz (keys of docs/run-directory.md). The arrays are the
 * authority for sizes; the stored configuration gives what the arrays cannot: battery, update rule,
 * activation, alpha, corrections and the seed of the training stream (for its Q6 match delays). */
#include "report/run.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/json.h"
#include "io/npz.h"
#include "stream/stream.h"
#include "util/err.h"

const cJSON *lm_config_find(const cJSON *config, const char *key) {
    if (!config || !cJSON_IsObject(config)) return NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, config)
        if (it->string && !strcmp(it->string, key)) return it;
    cJSON_ArrayForEach(it, config) {
        const cJSON *f = lm_config_find(it, key);
        if (f) return f;
    }
    return NULL;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int resolve_paths(const char *path, LmRun *r) {
    struct stat st;
    if (stat(path, &st) != 0) {
        lm_err_set("%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(r->dir, sizeof r->dir, "%s", path);
        snprintf(r->ckpt, sizeof r->ckpt, "%s/checkpoint.npz", path);
        if (stat(r->ckpt, &st) != 0) {
            lm_err_set("%s: no checkpoint.npz in this directory", path);
            return -1;
        }
        return 0;
    }
    snprintf(r->ckpt, sizeof r->ckpt, "%s", path);
    snprintf(r->dir, sizeof r->dir, "%s", path);
    char *slash = strrchr(r->dir, '/');
    if (slash == r->dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(r->dir, sizeof r->dir, ".");
    return 0;
}

static int load_config(const LmNpz *z, LmRun *r) {
    const LmArray *a = lm_npz_find(z, "config");
    if (a) {
        if (a->dtype != LM_DT_STR) {
            lm_err_set("%s: config: expected a string, found %s", r->ckpt, lm_dtype_name(a->dtype));
            return -1;
        }
        r->config = cJSON_Parse((const char *)a->data);
        if (!r->config || !cJSON_IsObject(r->config)) {
            lm_err_set("%s: config: not a JSON object", r->ckpt);
            return -1;
        }
        return 0;
    }
    char p[1200];
    snprintf(p, sizeof p, "%s/config.json", r->dir);
    if (!is_dir(r->dir) || access(p, R_OK) != 0) {
        lm_err_set("%s: missing array 'config' (and no config.json next to it)", r->ckpt);
        return -1;
    }
    r->config = lm_json_read(p);
    if (!r->config) return -1;
    if (!cJSON_IsObject(r->config)) {
        lm_err_set("%s: not a JSON object", p);
        return -1;
    }
    return 0;
}

/* The options of the run, parsed by the trainer's own configuration code (so both read config.json
 * the same way): battery, corrections, seed, and the model settings the arrays do not carry. */
static int read_settings(LmRun *r) {
    lm_train_config_default(&r->train);
    if (lm_train_config_apply_json(&r->train, r->config, r->ckpt) != 0) return -1;
    if (lm_battery_parse(r->train.battery, &r->battery) != 0 || lm_fix_parse(r->train.fix, &r->fix) != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("%s: config: %s", r->ckpt, msg);
        return -1;
    }
    r->seed = r->train.seed;
    snprintf(r->mask_kind, sizeof r->mask_kind, "%s", lm_mask_kind_name(r->train.mask));
    return 0;
}

static void model_settings(LmRun *r, LmModelConfig *mc) {
    mc->rule = r->train.rule;
    mc->act = r->train.act;
    mc->alpha = r->train.alpha;
    mc->sigma_rec = r->train.sigma_rec;
    mc->path = r->train.path;
    if (r->train.mask == LM_MASK_LOCAL2D) {
        int n = mc->n_hidden, nx = r->train.grid_nx, ny = r->train.grid_ny;
        if (nx <= 0 || ny <= 0) {   /* default sheet: square */
            int sq = (int)lround(sqrt((double)n));
            nx = ny = sq * sq == n ? sq : 0;
        }
        if (nx * ny == n) {
            r->nx = nx;
            r->ny = ny;
        }
    }
}

/* The construction-time task state of the training stream: build the stream as training did and take
 * its environment (the Q6 delays depend only on the stream seed and the corrections). */
static int rebuild_taskenv(LmRun *r) {
    LmStream *s = lm_stream_new(&r->battery, r->train.batch, r->train.window, lm_run_stream_seed(r->seed),
                                r->fix);
    if (!s) return -1;
    r->env = *lm_stream_taskenv(s);
    lm_stream_free(s);
    return 0;
}

static int load_model(const LmNpz *z, LmRun *r, LmModelConfig *mc) {
    const int64_t any2[2] = {-1, -1};
    const LmArray *wrec = lm_npz_expect(z, "W_rec", LM_DT_F32, 2, any2);
    if (!wrec) return -1;
    const int64_t N = wrec->shape[0];
    if (N < 1 || wrec->shape[1] != N) {
        lm_err_set("%s: W_rec: expected a square matrix, found [%lld, %lld]", r->ckpt,
                   (long long)wrec->shape[0], (long long)wrec->shape[1]);
        return -1;
    }
    const int64_t n_in = LM_OBS + r->battery.n;
    const int64_t n_out = LM_N_ACTIONS;
    lm_model_config_default(mc, (int)n_in, (int)N, (int)n_out);
    model_settings(r, mc);

    const int64_t sh_win[2] = {N, n_in}, sh_n[1] = {N}, sh_nn[2] = {N, N}, sh_wout[2] = {n_out, N},
                  sh_out[1] = {n_out};
    const LmArray *mask = lm_npz_expect(z, "mask", LM_DT_U8, 2, sh_nn);
    if (!mask) return -1;
    struct { const char *name; int ndim; const int64_t *shape; } want[LM_N_TENSORS] = {
        {"W_in", 2, sh_win}, {"b_in", 1, sh_n}, {"W_rec", 2, sh_nn},
        {"b_rec", 1, sh_n},  {"W_out", 2, sh_wout}, {"b_out", 1, sh_out},
    };
    const LmArray *arr[LM_N_TENSORS];
    for (int i = 0; i < LM_N_TENSORS; i++) {
        arr[i] = lm_npz_expect(z, want[i].name, LM_DT_F32, want[i].ndim, want[i].shape);
        if (!arr[i]) {
            if (!strcmp(want[i].name, "W_in") && lm_npz_find(z, "W_in")) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", lm_err_msg());
                lm_err_set("%s (the config's battery '%s' has %d tasks)", msg, r->battery.spec,
                           r->battery.n);
            }
            return -1;
        }
        const float *d = arr[i]->data;
        for (size_t j = 0; j < arr[i]->count; j++)
            if (!isfinite(d[j])) {
                lm_err_set("%s: %s holds a non-finite value at element %zu", r->ckpt, want[i].name, j);
                return -1;
            }
    }
    LmMask m;
    if (lm_mask_from_array((int)N, mask->data, r->mask_kind[0] ? r->mask_kind : "from checkpoint", &m) != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("%s: mask: %s", r->ckpt, msg);
        return -1;
    }
    r->model = lm_model_new(mc, &m);
    lm_mask_free(&m);
    if (!r->model) return -1;
    for (int i = 0; i < LM_N_TENSORS; i++) {
        LmTensorInfo info = lm_model_tensor_info(r->model, i);
        int j = 0;
        while (j < LM_N_TENSORS && strcmp(want[j].name, info.name)) j++;
        LM_ASSERT(j < LM_N_TENSORS);
        if (lm_model_import_tensor(r->model, i, arr[j]->data) != 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", lm_err_msg());
            lm_err_set("%s: %s: %s (mask/weights mismatch)", r->ckpt, info.name, msg);
            return -1;
        }
    }
    return 0;
}

int lm_run_load(const char *path, LmRun *out) {
    memset(out, 0, sizeof *out);
    out->step = -1;
    if (resolve_paths(path, out) != 0) return -1;
    LmNpz *z = lm_npz_read(out->ckpt);
    if (!z) return -1;
    LmModelConfig mc;
    int rc = load_config(z, out);
    if (rc == 0) rc = read_settings(out);
    if (rc == 0) rc = load_model(z, out, &mc);
    if (rc == 0) {
        const LmArray *st = lm_npz_find(z, "step");
        if (st && st->dtype == LM_DT_I64 && st->count == 1) out->step = *(const int64_t *)st->data;
        rc = rebuild_taskenv(out);
    }
    lm_npz_free(z);
    if (rc != 0) {
        lm_run_free(out);
        return -1;
    }
    return 0;
}

void lm_run_free(LmRun *r) {
    if (r->model) lm_model_free(r->model);
    if (r->config) cJSON_Delete(r->config);
    r->model = NULL;
    r->config = NULL;
}

uint64_t lm_run_stream_seed(uint64_t run_seed) { return run_seed; }
