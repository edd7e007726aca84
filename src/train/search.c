/* Mask search during a run: IMP (lottery tickets), SET, RigL, GraNet (docs/lottery.md). */
#include "train/search.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/err.h"

struct LmSearch {
    LmPruneMethod method;
    int n;
    uint8_t *region;          /* [N][N] the configured mask: where connections may be */
    int64_t target_nnz, start_nnz;
    int64_t plan_steps;       /* --steps the schedule was made for (kept when a resume extends the run) */
    int64_t every, rounds, round_steps;
    double fraction, end;
    float *rewind;            /* IMP: dense tensors at the rewind step */
    size_t rewind_n;
    int have_rewind;
    /* history: entry u is the mask from step h_step[u] on */
    int64_t n_hist, cap_hist, idx_len, idx_cap;
    int64_t *h_step, *h_nnz;
    int32_t *h_ptr, *h_idx;
};

/* ------------------------------------------------------------------ configuration */

static void method_defaults(const LmTrainConfig *c, int64_t *every, double *frac, double *end) {
    LmPruneMethod p = c->prune;
    *every = c->prune_every ? c->prune_every : p == LM_PRUNE_SET ? 1000 : 100;
    *frac = c->prune_fraction > 0 ? c->prune_fraction
                                  : p == LM_PRUNE_IMP ? 0.2 : p == LM_PRUNE_GRANET ? 0.5 : 0.3;
    *end = c->prune_end > 0 ? c->prune_end : p == LM_PRUNE_SET ? 1.0 : 0.75;
}

int lm_search_target_nnz(const LmTrainConfig *c, int64_t *nnz) {
    int64_t nn = (int64_t)c->hidden * c->hidden;
    if (c->prune_density > 0) {
        *nnz = llround(c->prune_density * (double)nn);
        if (*nnz < 1) *nnz = 1;
        return 0;
    }
    LmMaskSpec s;
    memset(&s, 0, sizeof s);
    s.kind = LM_MASK_LOCAL2D;
    s.d = c->prune_density_of;
    s.nx = c->grid_nx, s.ny = c->grid_ny, s.periodic = c->periodic;
    int64_t nd;
    if (lm_mask_count(&s, c->hidden, nnz, &nd) != 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", lm_err_msg());
        lm_err_set("--prune-density-of: %s", msg);
        return -1;
    }
    return 0;
}

/* IMP: n rounds with (1-p)^n closest to target/start, each round_steps long, the last one followed by
 * the final training. */
static void imp_plan(const LmTrainConfig *c, int64_t start, int64_t target, int64_t steps, int64_t *rounds,
                     int64_t *round_steps) {
    int64_t every;
    double p, end;
    method_defaults(c, &every, &p, &end);
    double n = log((double)target / (double)start) / log(1.0 - p);
    *rounds = n < 1 ? 1 : llround(n);
    *round_steps = c->prune_round_steps ? c->prune_round_steps : steps / (*rounds + 1);
}

int lm_train_config_validate_search(const LmTrainConfig *c) {
    if (c->prune == LM_PRUNE_NONE) {
        if (c->prune_density > 0 || c->prune_density_of > 0 || c->prune_every || c->prune_fraction > 0 ||
            c->prune_end > 0 || c->prune_round_steps || c->rewind_step) {
            lm_err_set("--prune-* and --rewind-step options are only used with --prune METHOD");
            return -1;
        }
        return 0;
    }
    const char *name = lm_prune_name(c->prune);
    if ((c->prune_density > 0) == (c->prune_density_of > 0)) {
        lm_err_set("--prune %s needs the target density: --prune-density S in (0, 1] or --prune-density-of D "
                   "(not both)", name);
        return -1;
    }
    if (c->prune != LM_PRUNE_IMP && (c->prune_round_steps || c->rewind_step)) {
        lm_err_set("--prune-round-steps and --rewind-step are only used with --prune imp");
        return -1;
    }
    if (c->prune == LM_PRUNE_IMP && (c->prune_every || c->prune_end > 0)) {
        lm_err_set("--prune imp works in rounds (--prune-round-steps), not --prune-every/--prune-end");
        return -1;
    }
    if (c->prune == LM_PRUNE_IMP && c->prune_fraction >= 1) {
        lm_err_set("--prune-fraction: IMP prunes a fraction in (0, 1) per round, got %g", c->prune_fraction);
        return -1;
    }
    int64_t target;
    if (lm_search_target_nnz(c, &target) != 0) return -1;
    if (c->mask == LM_MASK_FILE) return 0;   /* the file is read when the run starts */
    LmMaskSpec s;
    int64_t start, nd;
    if (lm_train_mask_spec(c, &s) != 0 || lm_mask_count(&s, c->hidden, &start, &nd) != 0) return -1;
    if (c->mask == LM_MASK_RANDOM) return 0;   /* a count is an expectation: checked when built */
    int grows = c->prune == LM_PRUNE_SET || c->prune == LM_PRUNE_RIGL;
    if (grows ? target > start : target >= start) {
        lm_err_set("--prune %s: the target of %lld connections %s the %lld of the searched --mask %s (use --mask "
                   "full for an unconstrained search)", name, (long long)target, grows ? "exceeds" : "is not below",
                   (long long)start, lm_mask_kind_name(c->mask));
        return -1;
    }
    if (c->prune == LM_PRUNE_IMP) {
        int64_t rounds, k;
        imp_plan(c, start, target, c->steps, &rounds, &k);
        if (k < 1 || rounds * k >= c->steps) {
            lm_err_set("--prune imp: %lld rounds of %lld steps leave no final training within --steps %lld",
                       (long long)rounds, (long long)k, (long long)c->steps);
            return -1;
        }
        if (c->rewind_step >= k) {
            lm_err_set("--rewind-step %lld must lie within the first round (%lld steps)", (long long)c->rewind_step,
                       (long long)k);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ masks and history */

int64_t lm_search_updates(const LmTrainer *t) { return t->search ? t->search->n_hist : 0; }
int lm_search_restarts(const LmTrainer *t) { return t->search && t->search->method == LM_PRUNE_IMP; }

const uint8_t *lm_search_region(const LmTrainer *t) { return t->search ? t->search->region : NULL; }

/* The trainer's (compressed) mask as a fresh dense [N][N] array: the search works on dense masks. */
static uint8_t *dense_mask(const LmTrainer *t) {
    uint8_t *m = lm_malloc((size_t)t->mask.n * t->mask.n);
    lm_mask_to_dense(&t->mask, m);
    return m;
}

static void push_history(LmSearch *s, int64_t step, const uint8_t *m);

static void push_current(LmSearch *s, int64_t step, const LmTrainer *t) {
    uint8_t *m = dense_mask(t);
    push_history(s, step, m);
    free(m);
}

void lm_trainer_set_mask(LmTrainer *t, const uint8_t *mask, const char *desc) {
    LmMask nm;
    LM_ASSERT(lm_mask_from_array(t->mask.n, mask, desc, &nm) == 0);
    lm_model_set_mask(t->model, &nm, &t->adam);
    lm_mask_free(&t->mask);
    t->mask = nm;
    lm_work_free(t->work);
    t->work = lm_work_new(t->model, t->cfg.window, t->cfg.batch);
}

static void *grow(void *p, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap) return p;
    int64_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    *cap = c;
    return lm_realloc(p, (size_t)c * elem);
}

static void push_history(LmSearch *s, int64_t step, const uint8_t *m) {
    int n = s->n;
    if (s->n_hist + 1 > s->cap_hist) {
        int64_t c = s->cap_hist ? 2 * s->cap_hist : 16;
        s->h_step = lm_realloc(s->h_step, (size_t)c * sizeof(int64_t));
        s->h_nnz = lm_realloc(s->h_nnz, (size_t)c * sizeof(int64_t));
        s->h_ptr = lm_realloc(s->h_ptr, (size_t)c * (n + 1) * sizeof(int32_t));
        s->cap_hist = c;
    }
    int32_t *ptr = s->h_ptr + (size_t)s->n_hist * (n + 1);
    int64_t nnz = 0;
    for (int64_t k = 0; k < (int64_t)n * n; k++) nnz += m[k];
    s->h_idx = grow(s->h_idx, &s->idx_cap, s->idx_len + nnz, sizeof(int32_t));
    int32_t *idx = s->h_idx + s->idx_len, q = 0;
    for (int i = 0; i < n; i++) {
        ptr[i] = q;
        for (int j = 0; j < n; j++)
            if (m[(size_t)i * n + j]) idx[q++] = j;
    }
    ptr[n] = q;
    s->h_step[s->n_hist] = step, s->h_nnz[s->n_hist] = nnz;
    s->n_hist++, s->idx_len += nnz;
}

static void update_mask(LmTrainer *t, const uint8_t *m) {
    char desc[160];
    int64_t nnz = 0, nn = (int64_t)t->mask.n * t->mask.n;
    for (int64_t k = 0; k < nn; k++) nnz += m[k];
    snprintf(desc, sizeof desc, "%s search at step %lld density=%.4f", lm_prune_name(t->search->method),
             (long long)t->step, (double)nnz / (double)nn);
    lm_trainer_set_mask(t, m, desc);
}

/* ------------------------------------------------------------------ the methods */

static size_t dense_size(const LmModel *m) {
    size_t n = 0;
    for (int i = 0; i < LM_N_TENSORS; i++) {
        LmTensorInfo ti = lm_model_tensor_info(m, i);
        n += (size_t)ti.shape[0] * (ti.ndim == 2 ? (size_t)ti.shape[1] : 1);
    }
    return n;
}

static void snapshot(LmTrainer *t) {
    LmSearch *s = t->search;
    size_t o = 0;
    for (int i = 0; i < LM_N_TENSORS; i++) {
        LmTensorInfo ti = lm_model_tensor_info(t->model, i);
        lm_model_export_tensor(t->model, i, s->rewind + o);
        o += (size_t)ti.shape[0] * (ti.ndim == 2 ? (size_t)ti.shape[1] : 1);
    }
    s->have_rewind = 1;
}

/* The saved weights, W_rec restricted to the current mask; a fresh optimiser (open_lth's rounds). */
static void rewind_weights(LmTrainer *t) {
    LmSearch *s = t->search;
    float *buf = lm_malloc(s->rewind_n * sizeof(float));
    memcpy(buf, s->rewind, s->rewind_n * sizeof(float));
    size_t o = 0;
    for (int i = 0; i < LM_N_TENSORS; i++) {
        LmTensorInfo ti = lm_model_tensor_info(t->model, i);
        size_t cnt = (size_t)ti.shape[0] * (ti.ndim == 2 ? (size_t)ti.shape[1] : 1);
        if (!strcmp(ti.name, "W_rec"))
            for (size_t k = 0; k < cnt; k++)
                if (!lm_mask_has(&t->mask, (int)(k / t->mask.n), (int)(k % t->mask.n))) buf[o + k] = 0.0f;
        LM_ASSERT(lm_model_import_tensor(t->model, i, buf + o) == 0);
        o += cnt;
    }
    free(buf);
    memset(t->adam.m, 0, t->adam.n * sizeof(float));
    memset(t->adam.v, 0, t->adam.n * sizeof(float));
    t->adam.t = 0;
    for (int i = 0; i < LM_N_THRESHOLDS; i++) t->threshold[i][0] = t->threshold[i][1] = -1;
}

void lm_search_before_step(LmTrainer *t) {
    LmSearch *s = t->search;
    if (!s || s->method != LM_PRUNE_IMP) return;
    int64_t st = t->step;
    if (st == t->cfg.rewind_step && !s->have_rewind) snapshot(t);
    if (st == 0 || st % s->round_steps != 0 || st / s->round_steps > s->rounds) return;
    int64_t r = st / s->round_steps;
    int64_t target = r == s->rounds ? s->target_nnz
                                    : llround((double)s->start_nnz *
                                              pow((double)s->target_nnz / (double)s->start_nnz, (double)r / s->rounds));
    size_t nn = (size_t)t->mask.n * t->mask.n;
    uint8_t *m = lm_malloc(nn);
    lm_mask_to_dense(&t->mask, m);
    lm_prune_smallest(t->model, t->mask.nnz - target, m);
    update_mask(t, m);
    free(m);
    rewind_weights(t);
    push_current(s, st, t);
}

void lm_search_after_step(LmTrainer *t) {
    LmSearch *s = t->search;
    if (!s || s->method == LM_PRUNE_IMP) return;
    int64_t st = t->step;
    double tend = s->end * (double)s->plan_steps;
    if (st % s->every != 0 || (double)st > tend) return;
    int64_t nnz = t->mask.nnz, n_prune = 0, n_grow = 0;
    const double pi = 3.14159265358979323846;
    if (s->method == LM_PRUNE_SET) {
        n_prune = n_grow = llround(s->fraction * (double)nnz);
    } else if (s->method == LM_PRUNE_RIGL) {
        n_prune = n_grow = llround(s->fraction / 2 * (1 + cos(pi * (double)st / tend)) * (double)nnz);
    } else {   /* GraNet: cubic schedule from the start density to the target over [every, last update] */
        int64_t t0 = s->every, last = (int64_t)floor(tend / (double)s->every) * s->every;
        double u = last > t0 ? (double)(st - t0) / (double)(last - t0) : 1.0;
        int64_t target = st >= last ? s->target_nnz
                                    : s->target_nnz + llround((double)(s->start_nnz - s->target_nnz) * pow(1 - u, 3));
        double r = s->fraction / 2 * (1 + cos(pi * u));
        n_grow = llround(r * (double)target);
        n_prune = nnz - target + n_grow;
    }
    if (n_prune <= 0 && n_grow <= 0) return;
    size_t nn = (size_t)t->mask.n * t->mask.n;
    uint8_t *dropped = lm_malloc(nn), *grown = lm_malloc(nn);
    lm_mask_to_dense(&t->mask, dropped);
    lm_prune_smallest(t->model, n_prune, dropped);
    memcpy(grown, dropped, nn);
    if (s->method == LM_PRUNE_SET) {
        LmRng rng = lm_rng_derive(lm_train_subseed(t->cfg.seed, LM_SEED_PRUNE), (uint64_t)st);
        lm_grow_random(t->mask.n, s->region, grown, n_grow, &rng);
    } else {   /* this step's dL/ds and h, before the work is rebuilt */
        lm_grow_by_gradient(t->model, t->work, s->region, grown, n_grow);
    }
    update_mask(t, dropped);   /* regrown positions, just-dropped ones too, restart at 0 with zero moments */
    update_mask(t, grown);
    free(dropped), free(grown);
    push_current(s, st, t);
}

int lm_search_start(LmTrainer *t) {
    const LmTrainConfig *c = &t->cfg;
    LmSearch *s = lm_calloc(1, sizeof *s);
    t->search = s;
    s->method = c->prune;
    s->n = t->mask.n;
    size_t nn = (size_t)s->n * s->n;
    s->region = lm_malloc(nn);
    lm_mask_to_dense(&t->mask, s->region);
    s->plan_steps = c->steps;
    method_defaults(c, &s->every, &s->fraction, &s->end);
    if (lm_search_target_nnz(c, &s->target_nnz) != 0) return -1;
    s->start_nnz = t->mask.nnz;
    int grows = s->method == LM_PRUNE_SET || s->method == LM_PRUNE_RIGL;
    if (grows ? s->target_nnz > s->start_nnz : s->target_nnz >= s->start_nnz) {
        lm_err_set("--prune %s: the target of %lld connections %s the %lld of the searched mask %s",
                   lm_prune_name(s->method), (long long)s->target_nnz, grows ? "exceeds" : "is not below",
                   (long long)s->start_nnz, t->mask.desc);
        return -1;
    }
    if (s->method == LM_PRUNE_IMP) {
        imp_plan(c, s->start_nnz, s->target_nnz, c->steps, &s->rounds, &s->round_steps);
        if (s->round_steps < 1 || s->rounds * s->round_steps >= c->steps || c->rewind_step >= s->round_steps) {
            lm_err_set("--prune imp: %lld rounds of %lld steps (rewind step %lld) do not fit in --steps %lld",
                       (long long)s->rounds, (long long)s->round_steps, (long long)c->rewind_step,
                       (long long)c->steps);
            return -1;
        }
        s->rewind_n = dense_size(t->model);
        s->rewind = lm_malloc(s->rewind_n * sizeof(float));
        if (c->rewind_step == 0) snapshot(t);
    } else if (grows) {   /* a uniformly random start inside the region, with exactly the target count */
        uint8_t *m = lm_calloc(nn, 1);
        LmRng rng = lm_rng_derive(lm_train_subseed(c->seed, LM_SEED_PRUNE), 0);
        lm_grow_random(s->n, s->region, m, s->target_nnz, &rng);
        update_mask(t, m);
        free(m);
    }
    push_current(s, 0, t);
    return 0;
}

void lm_search_free(LmSearch *s) {
    if (!s) return;
    free(s->region), free(s->rewind);
    free(s->h_step), free(s->h_nnz), free(s->h_ptr), free(s->h_idx);
    free(s);
}

/* ------------------------------------------------------------------ files */

int lm_search_write_history(const LmTrainer *t, const char *path) {
    const LmSearch *s = t->search;
    LmNpzWriter *w = lm_npz_create(path);
    if (!w) return -1;
    lm_npz_set_deflate(w);   /* sorted column indices compress several-fold */
    int64_t U = s->n_hist, sp[2] = {U, s->n + 1}, L = s->idx_len, n = s->n;
    int rc = lm_npz_add(w, "step", LM_DT_I64, 1, &U, s->h_step);
    if (rc == 0) rc = lm_npz_add(w, "nnz", LM_DT_I64, 1, &U, s->h_nnz);
    if (rc == 0) rc = lm_npz_add(w, "row_ptr", LM_DT_I32, 2, sp, s->h_ptr);
    if (rc == 0) rc = lm_npz_add(w, "col_idx", LM_DT_I32, 1, &L, s->h_idx);
    if (rc == 0) rc = lm_npz_add(w, "n", LM_DT_I64, 0, NULL, &n);
    if (rc == 0) rc = lm_npz_close(w);
    else lm_npz_discard(w);
    return rc;
}

int lm_search_load_history(LmTrainer *t, const char *path) {
    LmSearch *s = t->search;
    int64_t want = s->n_hist;   /* set from the checkpoint */
    LmNpz *z = lm_npz_read(path);
    if (!z) return -1;
    int rc = -1, n = s->n;
    const LmArray *st = lm_npz_find(z, "step"), *nz = lm_npz_find(z, "nnz"), *rp = lm_npz_find(z, "row_ptr"),
                  *ci = lm_npz_find(z, "col_idx");
    if (!st || !nz || !rp || !ci || st->dtype != LM_DT_I64 || nz->dtype != LM_DT_I64 || rp->dtype != LM_DT_I32 ||
        ci->dtype != LM_DT_I32 || st->ndim != 1 || nz->count != st->count || rp->ndim != 2 ||
        rp->shape[0] != (int64_t)st->count || rp->shape[1] != n + 1 || (int64_t)st->count < want) {
        lm_err_set("%s: not the mask history of this run (%lld entries needed)", path, (long long)want);
        goto out;
    }
    s->n_hist = s->idx_len = 0;
    uint8_t *m = lm_calloc((size_t)n * n, 1);
    const int32_t *ptr = rp->data, *idx = ci->data;
    int64_t off = 0;
    for (int64_t u = 0; u < want; u++, ptr += n + 1) {
        int64_t cnt = ((const int64_t *)nz->data)[u];
        int ok = ptr[0] == 0 && ptr[n] == cnt && cnt >= 0 && off + cnt <= (int64_t)ci->count;
        for (int i = 0; ok && i < n; i++) ok = ptr[i] <= ptr[i + 1];
        for (int64_t q = 0; ok && q < cnt; q++) ok = idx[off + q] >= 0 && idx[off + q] < n;
        if (!ok) {
            free(m);
            lm_err_set("%s: entry %lld is not a valid CSR mask", path, (long long)u);
            goto out;
        }
        memset(m, 0, (size_t)n * n);
        for (int i = 0; i < n; i++)
            for (int32_t q = ptr[i]; q < ptr[i + 1]; q++) m[(size_t)i * n + idx[off + q]] = 1;
        push_history(s, ((const int64_t *)st->data)[u], m);
        off += cnt;
    }
    uint8_t *cur = dense_mask(t);
    int differs = memcmp(m, cur, (size_t)n * n) != 0;
    free(cur);
    if (differs) {
        free(m);
        lm_err_set("%s: its entry %lld is not the checkpoint's mask", path, (long long)want - 1);
        goto out;
    }
    free(m);
    rc = 0;
out:
    lm_npz_free(z);
    return rc;
}

int lm_search_checkpoint_add(const LmTrainer *t, LmNpzWriter *w) {
    const LmSearch *s = t->search;
    static int64_t state[3];   /* kept alive until the writer closes; one checkpoint at a time */
    state[0] = s->n_hist, state[1] = s->plan_steps, state[2] = s->have_rewind;
    int64_t three = 3, rn = (int64_t)s->rewind_n;
    int rc = lm_npz_add(w, "search_state", LM_DT_I64, 1, &three, state);
    if (rc == 0 && s->have_rewind) rc = lm_npz_add(w, "rewind", LM_DT_F32, 1, &rn, s->rewind);
    return rc;
}

int lm_search_checkpoint_read(LmTrainer *t, LmNpz *z, int commit) {
    LmSearch *s = t->search;
    int64_t three = 3;
    const LmArray *a = lm_npz_expect(z, "search_state", LM_DT_I64, 1, &three);
    if (!a) return -1;
    const int64_t *v = a->data;
    if (v[0] < 1 || v[1] < 1 || (v[2] != 0 && v[2] != 1) || (v[2] && s->method != LM_PRUNE_IMP)) {
        lm_err_set("search_state holds impossible values");
        return -1;
    }
    const LmArray *rw = NULL;
    if (v[2]) {
        int64_t rn = (int64_t)s->rewind_n;
        rw = lm_npz_expect(z, "rewind", LM_DT_F32, 1, &rn);
        if (!rw) return -1;
        for (size_t k = 0; k < rw->count; k++)
            if (!isfinite(((const float *)rw->data)[k])) {
                lm_err_set("rewind holds non-finite values");
                return -1;
            }
    }
    if (!commit) return 0;
    s->n_hist = v[0];
    s->plan_steps = v[1];
    s->have_rewind = (int)v[2];
    if (rw) memcpy(s->rewind, rw->data, s->rewind_n * sizeof(float));
    if (s->method == LM_PRUNE_IMP)   /* the plan follows the steps it was made for */
        imp_plan(&t->cfg, s->start_nnz, s->target_nnz, s->plan_steps, &s->rounds, &s->round_steps);
    return 0;
}
