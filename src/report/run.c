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
    if (strlen(path) >= sizeof r->dir) {
        lm_err_set("path too long (at most %zu characters): %s", sizeof r->dir - 1, path);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(r->dir, sizeof r->dir, "%s", path);
        if (lm_path_join(r->ckpt, sizeof r->ckpt, path, "checkpoint.npz") != 0) return -1;
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

