#include "report/run.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "io/npz.h"
#include "train/checkpoint.h"
#include "train/memory.h"
#include "util/err.h"

static int resolve_paths(const char *path, LmTrained *r) {
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

int lm_trained_load(const char *path, LmTrained *out) {
    memset(out, 0, sizeof *out);
    if (resolve_paths(path, out) != 0) return -1;
    LmTrainConfig cfg;
    if (lm_checkpoint_read_config(out->ckpt, &cfg) != 0) return -1;
    /* Evaluation and plots need the network only: no pool (building one costs K stream windows). */
    cfg.train_pool = 0;
    if (!cfg.out[0]) snprintf(cfg.out, sizeof cfg.out, "%s", out->dir);
    if (lm_train_config_validate(&cfg) != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("%s: stored configuration: %s", out->ckpt, msg);
        return -1;
    }
    /* Every array must fit the stored configuration before a trainer of that size is built. */
    if (lm_memory_check(&cfg, 1) != 0 || lm_checkpoint_check_shapes(out->ckpt, &cfg, 0) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        if (strncmp(msg, out->ckpt, strlen(out->ckpt)) != 0) lm_err_set("%s: stored configuration: %s", out->ckpt, msg);
        return -1;
    }
    out->trainer = lm_trainer_new(&cfg);
    if (!out->trainer) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("%s: stored configuration: %s", out->ckpt, msg);
        return -1;
    }
    if (lm_checkpoint_load_weights(out->trainer, out->ckpt) != 0) {
        lm_trained_free(out);
        return -1;
    }
    lm_trained_adopt(out->trainer, out);
    return 0;
}

void lm_trained_adopt(LmTrainer *t, LmTrained *out) {
    const LmTrainConfig *cfg = &t->cfg;
    out->trainer = t;
    out->model = t->model;
    out->battery = &t->battery;
    out->env = lm_stream_taskenv(t->stream);
    out->seed = cfg->seed;
    out->eval_seed = t->eval_seed;
    out->step = t->step;
    out->nx = out->ny = 0;
    if (cfg->mask == LM_MASK_LOCAL2D) {
        int n = cfg->hidden, nx = cfg->grid_nx, ny = cfg->grid_ny;
        if (nx <= 0 || ny <= 0) {   /* default sheet: square */
            int sq = (int)lround(sqrt((double)n));
            nx = ny = sq * sq == n ? sq : 0;
        }
        if (nx > 0 && nx * ny == n) {
            out->nx = nx;
            out->ny = ny;
        }
    }
}

void lm_trained_free(LmTrained *r) {
    if (r->trainer) lm_trainer_free(r->trainer);
    memset(r, 0, sizeof *r);
}

LmSheet lm_trained_sheet(const LmTrained *run) {
    const LmTrainConfig *c = &run->trainer->cfg;
    int N = c->hidden;
    LmSheet g = {N, 1, 1};   /* no sheet: a ring of N (the local1d geometry) */
    if (c->mask == LM_MASK_LOCAL1D) return g;
    if (run->nx > 0) return (LmSheet){run->nx, run->ny, c->periodic};
    int sq = (int)lround(sqrt((double)N));
    if (sq * sq == N) g = (LmSheet){sq, sq, 0};   /* the default sheet the local masks would use */
    return g;
}

/* DIR/init.npz's W_rec, W_in, W_out into init (allocated); 0, 1 if absent, -1 + lm_err_set if unusable. */
static int read_init(const LmTrained *run, float *init[3]) {
    const LmModelConfig *mc = lm_model_config(run->model);
    const int N = mc->n_hidden;
    const int64_t shp[3][2] = {{N, N}, {N, mc->n_in}, {mc->n_out, N}};
    const char *names[3] = {"W_rec", "W_in", "W_out"};
    char p[1200];
    snprintf(p, sizeof p, "%s/init.npz", run->dir);
    struct stat st;
    if (!run->dir[0] || stat(p, &st) != 0) return 1;
    LmNpz *z = lm_npz_read(p);
    int ok = z != NULL;
    for (int k = 0; k < 3 && ok; k++) {
        const LmArray *a = lm_npz_expect(z, names[k], LM_DT_F32, 2, shp[k]);
        if (!a) ok = 0;
        for (size_t i = 0; ok && i < a->count; i++)
            if (!isfinite(((float *)a->data)[i])) {
                lm_err_set("%s: %s has non-finite values", p, names[k]);
                ok = 0;
            }
        if (ok) {
            init[k] = lm_malloc(a->count * sizeof(float));
            memcpy(init[k], a->data, a->count * sizeof(float));
        }
    }
    lm_npz_free(z);
    if (ok) return 0;
    for (int k = 0; k < 3; k++) free(init[k]), init[k] = NULL;
    return -1;
}

const char *lm_trained_initial_weights(const LmTrained *run, float *init[3], char *note, size_t n_note) {
    init[0] = init[1] = init[2] = NULL;
    if (note && n_note) note[0] = '\0';
    const int rc = read_init(run, init);
    if (rc == 0) return "init.npz";
    if (rc < 0 && note) snprintf(note, n_note, "ignoring %s/init.npz (%s); rebuilding the initial weights", run->dir, lm_err_msg());
    const LmModelConfig *mc = lm_model_config(run->model);
    const int64_t count[3] = {(int64_t)mc->n_hidden * mc->n_hidden, (int64_t)mc->n_hidden * mc->n_in,
                              (int64_t)mc->n_out * mc->n_hidden};
    LmTrainConfig cfg = run->trainer->cfg;
    cfg.train_pool = 0;
    LmTrainer *t = lm_trainer_new(&cfg);
    if (!t) return NULL;
    const int idx[3] = {2, 0, 4};
    for (int k = 0; k < 3; k++) {
        init[k] = lm_malloc((size_t)count[k] * sizeof(float));
        lm_model_export_tensor(t->model, idx[k], init[k]);
    }
    lm_trainer_free(t);
    return "reconstructed from the run's seed";
}
