/* Mask search (docs/lottery.md): magnitude pruning removes exactly the smallest entries (ties by index);
 * gradient regrowth picks exactly the largest-gradient empty positions (against the gradient a full-mask
 * copy of the network computes); random regrowth stays inside the region; replacing the mask keeps
 * values and moments; every method holds the target density after every update, zero weights outside
 * the mask at every step, and resumes bit-identically; IMP rewinds exactly to the saved weights; bad
 * options are named. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "io/npz.h"
#include "model/model.h"
#include "train/search.h"
#include "train/train.h"
#include "util/err.h"

enum { NIN = 4, NH = 12, NOUT = 3, T = 5, B = 2 };

static LmModel *model_with(LmMaskKind kind, LmRecPath path, double density) {
    LmModelConfig c;
    lm_model_config_default(&c, NIN, NH, NOUT);
    c.rec_init = LM_INIT_GAUSSIAN;
    c.rec_gain = 1.0;
    c.path = path;
    LmMaskSpec s = {0};
    s.kind = kind;
    s.density = density;
    s.seed = 4;
    LmMask mk;
    LM_ASSERT(lm_mask_build(&s, NH, &mk) == 0);
    LmModel *m = lm_model_new(&c, &mk);
    lm_mask_free(&mk);
    LmRng r = lm_rng_derive(3, 1);
    lm_model_init(m, &r);
    return m;
}

static void test_pruning_removes_exactly_the_smallest(void) {
    for (int path = 0; path < 2; path++) {
        LmModel *m = model_with(LM_MASK_RANDOM, path ? LM_PATH_SPARSE : LM_PATH_DENSE, 0.6);
        float w[NH * NH];
        lm_model_export_tensor(m, 2, w);
        uint8_t mk[NH * NH];
        lm_mask_to_dense(lm_model_mask(m), mk);
        /* plant ties: a run of equal magnitudes (both signs) that the cut goes through */
        int planted = 0;
        for (int k = 0; k < NH * NH && planted < 12; k++)
            if (mk[k]) w[k] = (planted++ % 2 ? 0.01f : -0.01f);
        LM_ASSERT(lm_model_import_tensor(m, 2, w) == 0);
        int64_t nnz = lm_model_mask(m)->nnz, n_drop = 7;   /* cuts through the 12 tied entries */
        uint8_t got[NH * NH], want[NH * NH];
        memcpy(got, mk, sizeof got);
        memcpy(want, mk, sizeof want);
        lm_prune_smallest(m, n_drop, got);
        for (int64_t r = 0; r < n_drop; r++) {   /* selection by hand: smallest |w|, then lowest index */
            int best = -1;
            for (int k = 0; k < NH * NH; k++)
                if (want[k] && (best < 0 || fabsf(w[k]) < fabsf(w[best]))) best = k;
            want[best] = 0;
        }
        CHECK(!memcmp(got, want, sizeof got), "path %d: pruned set differs from the n smallest", path);
        int64_t left = 0;
        for (int k = 0; k < NH * NH; k++) left += got[k];
        CHECK(left == nnz - n_drop);
        lm_model_free(m);
    }
}

static float X[T * B * NIN];
static int32_t Y[T * B];

static void test_regrowth_picks_the_largest_gradients(void) {
    LmRng r = lm_rng_derive(8, 1);
    for (int k = 0; k < T * B * NIN; k++) X[k] = (float)lm_rng_range(&r, -1, 1);
    for (int k = 0; k < T * B; k++) Y[k] = (int32_t)lm_rng_below(&r, NOUT);
    for (int path = 0; path < 2; path++) {
        LmModel *m = model_with(LM_MASK_RANDOM, path ? LM_PATH_SPARSE : LM_PATH_DENSE, 0.3);
        LmWork *w = lm_work_new(m, T, B);
        lm_forward(m, w, X, Y, NULL, NULL, T, B, NULL);
        lm_backward(m, w, X, Y, NULL, NULL, T, B);
        /* the independent dense gradient: the same network with a full mask (zeros where masked) */
        LmModel *f = model_with(LM_MASK_FULL, LM_PATH_DENSE, 0);
        float buf[NH * NH];
        for (int i = 0; i < LM_N_TENSORS; i++) {
            lm_model_export_tensor(m, i, buf);
            LM_ASSERT(lm_model_import_tensor(f, i, buf) == 0);
        }
        LmWork *wf = lm_work_new(f, T, B);
        lm_forward(f, wf, X, Y, NULL, NULL, T, B, NULL);
        lm_backward(f, wf, X, Y, NULL, NULL, T, B);
        float g[NH * NH];
        lm_model_export_grad(f, 2, g);
        uint8_t mk[NH * NH];
        lm_mask_to_dense(lm_model_mask(m), mk);
        uint8_t region[NH * NH];
        for (int k = 0; k < NH * NH; k++) region[k] = k % 5 != 0;   /* a region excluding some positions */
        /* rank the candidates; grow a count where the ranking has a clear gap (float noise cannot swap) */
        int cand[NH * NH], nc = 0;
        for (int k = 0; k < NH * NH; k++)
            if (region[k] && !mk[k]) cand[nc++] = k;
        for (int a = 0; a < nc; a++)
            for (int b2 = a + 1; b2 < nc; b2++)
                if (fabsf(g[cand[b2]]) > fabsf(g[cand[a]])) {
                    int t = cand[a];
                    cand[a] = cand[b2], cand[b2] = t;
                }
        int n_grow = -1;
        for (int q = nc / 4; q < nc - 1 && n_grow < 0; q++)
            if (fabsf(g[cand[q]]) - fabsf(g[cand[q + 1]]) > 1e-4f * fabsf(g[cand[q]])) n_grow = q + 1;
        CHECK(n_grow > 0, "no gap in the gradient ranking");
        uint8_t got[NH * NH];
        memcpy(got, mk, sizeof got);
        CHECK(lm_grow_by_gradient(m, w, region, got, n_grow) == n_grow);
        for (int q = 0; q < nc; q++)
            CHECK(got[cand[q]] == (q < n_grow), "path %d: candidate %d (rank %d, |g| %g) %s", path, cand[q], q,
                  (double)fabsf(g[cand[q]]), got[cand[q]] ? "grown" : "not grown");
        for (int k = 0; k < NH * NH; k++)
            if (mk[k]) CHECK(got[k], "an active position was cleared");
        /* Dale: only the descent towards the presynaptic unit's sign counts, max(0, -g D_j) */
        int8_t ei[NH];
        for (int j = 0; j < NH; j++) ei[j] = j % 3 == 2 ? -1 : 1;
        LM_ASSERT(lm_model_set_dale(m, ei, 0) == 0);
        float key[NH * NH];
        int nd = 0;
        for (int k = 0; k < NH * NH; k++) key[k] = fmaxf(0.0f, ei[k % NH] > 0 ? -g[k] : g[k]);
        for (int a = 0; a < nc; a++)
            for (int b2 = a + 1; b2 < nc; b2++)
                if (key[cand[b2]] > key[cand[a]]) {
                    int t = cand[a];
                    cand[a] = cand[b2], cand[b2] = t;
                }
        for (int q = 1; q < nc - 1 && !nd; q++)
            if (key[cand[q]] - key[cand[q + 1]] > 1e-4f * key[cand[q]] && key[cand[q + 1]] > 0) nd = q + 1;
        CHECK(nd > 0, "no gap in the Dale ranking");
        memcpy(got, mk, sizeof got);
        CHECK(lm_grow_by_gradient(m, w, region, got, nd) == nd);
        int wrong_way = 0;
        for (int q = 0; q < nc; q++) {
            CHECK(got[cand[q]] == (q < nd), "Dale, path %d: candidate %d (rank %d, key %g) %s", path, cand[q], q,
                  (double)key[cand[q]], got[cand[q]] ? "grown" : "not grown");
            wrong_way += q < nd && (ei[cand[q] % NH] > 0 ? g[cand[q]] > 0 : g[cand[q]] < 0);
        }
        CHECK(wrong_way == 0, "%d grown where descent points against the unit's sign", wrong_way);
        /* random regrowth: exactly n, only free positions of the region, reproducible per seed */
        uint8_t a1[NH * NH], a2[NH * NH], a3[NH * NH];
        memcpy(a1, mk, sizeof a1), memcpy(a2, mk, sizeof a2), memcpy(a3, mk, sizeof a3);
        LmRng r1 = lm_rng_derive(1, 1), r2 = lm_rng_derive(1, 1), r3 = lm_rng_derive(2, 1);
        CHECK(lm_grow_random(NH, region, a1, 20, &r1) == 20);
        lm_grow_random(NH, region, a2, 20, &r2);
        lm_grow_random(NH, region, a3, 20, &r3);
        int added = 0, outside = 0;
        for (int k = 0; k < NH * NH; k++) added += a1[k] && !mk[k], outside += a1[k] && !mk[k] && !region[k];
        CHECK(added == 20 && outside == 0, "added %d, outside the region %d", added, outside);
        CHECK(!memcmp(a1, a2, sizeof a1) && memcmp(a1, a3, sizeof a1), "random regrowth is not seeded");
        lm_work_free(w), lm_work_free(wf);
        lm_model_free(m), lm_model_free(f);
    }
}

static void test_set_mask_keeps_values_and_moments(void) {
    LmModel *m = model_with(LM_MASK_FULL, LM_PATH_AUTO, 0);
    LmAdam a;
    lm_adam_init(&a, m, 1e-3);
    for (size_t k = 0; k < a.n; k++) a.m[k] = (float)k, a.v[k] = (float)(2 * k);
    float before[NH * NH], after[NH * NH];
    lm_model_export_tensor(m, 2, before);
    const LmMaskKind kinds[] = {LM_MASK_RANDOM, LM_MASK_DIAG, LM_MASK_FULL};
    uint8_t prev[NH * NH];
    lm_mask_to_dense(lm_model_mask(m), prev);
    for (int s = 0; s < 3; s++) {
        LmMaskSpec sp = {0};
        sp.kind = kinds[s], sp.density = 0.05, sp.seed = 9;
        LmMask mk;
        LM_ASSERT(lm_mask_build(&sp, NH, &mk) == 0);
        lm_model_set_mask(m, &mk, &a);
        CHECK(a.n == lm_model_n_params(m));
        lm_model_export_tensor(m, 2, after);
        for (int k = 0; k < NH * NH; k++) {
            float want = lm_mask_has(&mk, k / NH, k % NH) && prev[k] ? before[k] : 0.0f;
            CHECK(after[k] == want, "step %d entry %d: %g, want %g", s, k, (double)after[k], (double)want);
            before[k] = after[k];
        }
        CHECK(a.m[0] == 0.0f && a.v[1] == 2.0f, "W_in moments not kept");
        lm_mask_to_dense(&mk, prev);
        lm_mask_free(&mk);
    }
    lm_adam_free(&a);
    lm_model_free(m);
}

static char tmp[200];

static void small_cfg(LmTrainConfig *c, LmPruneMethod method, const char *name) {
    lm_train_config_default(c);
    LM_ASSERT(lm_train_config_set(c, "battery", "go,dm1") == 0);
    c->hidden = 16, c->mask = LM_MASK_FULL, c->batch = 2, c->window = 30, c->steps = 60;
    c->eval_every = 30, c->eval_trials = 4, c->checkpoint_every = 7, c->no_plot = 1, c->quiet = 1, c->seed = 2;
    c->prune = method, c->prune_density_of = 2;   /* local2d d=2 on 4x4: 100 connections */
    if (method == LM_PRUNE_IMP) c->prune_fraction = 0.3;   /* 3 rounds: 0.7^3 ~ 100/256 */
    else c->prune_every = 10;
    snprintf(c->out, sizeof c->out, "%s/%s", tmp, name);
}

/* Train step by step: weights outside the mask are 0 after every step; the density is the target after
 * every update of SET/RigL, falls monotonically to it for IMP/GraNet. */
static void test_density_and_zeros_at_every_step(void) {
    const LmPruneMethod ms[] = {LM_PRUNE_IMP, LM_PRUNE_SET, LM_PRUNE_RIGL, LM_PRUNE_GRANET};
    for (int i = 0; i < 4; i++) {
        LmTrainConfig c;
        small_cfg(&c, ms[i], "steps");
        CHECK(lm_train_config_validate(&c) == 0, "%s", lm_err_msg());
        int64_t target;
        LM_ASSERT(lm_search_target_nnz(&c, &target) == 0);
        LmTrainer *t = lm_trainer_new(&c);
        CHECK(t != NULL, "%s", lm_err_msg());
        if (!t) continue;
        int64_t prev = t->mask.nnz, changes = 0, zeros_bad = 0, density_bad = 0;
        float w[16 * 16];
        for (int s = 0; s < 60; s++) {
            const uint8_t *before = NULL;
            uint8_t old[256];
            lm_mask_to_dense(&t->mask, old);
            before = old;
            LM_ASSERT(lm_trainer_step(t, NULL) == 0);
            lm_model_export_tensor(t->model, 2, w);
            uint8_t now_mask[256];
            lm_mask_to_dense(&t->mask, now_mask);
            for (int k = 0; k < 256; k++) zeros_bad += !now_mask[k] && w[k] != 0.0f;
            if (memcmp(before, now_mask, sizeof old)) {
                changes++;
                if (ms[i] == LM_PRUNE_SET || ms[i] == LM_PRUNE_RIGL) density_bad += t->mask.nnz != target;
                else density_bad += t->mask.nnz > prev || t->mask.nnz < target;
            }
            prev = t->mask.nnz;
        }
        CHECK(changes >= 2 && zeros_bad == 0 && density_bad == 0 && t->mask.nnz == target,
              "%s: %lld mask changes, %lld non-zero outside, %lld off-target, final %lld of %lld",
              lm_prune_name(ms[i]), (long long)changes, (long long)zeros_bad, (long long)density_bad,
              (long long)t->mask.nnz, (long long)target);
        lm_trainer_free(t);
    }
}

/* Dale's law with every search, dense and sparse kernels, both update rules: after every step each
 * stored non-zero W_rec entry has its presynaptic unit's sign, zeros outside the mask; weights regrown by
 * SET/RigL/GraNet leave 0 (so they train) with that sign. A learning rate large enough that many W~
 * reach and cross zero. */
static void test_dale_signs_never_flip_under_search(void) {
    const LmPruneMethod ms[] = {LM_PRUNE_IMP, LM_PRUNE_SET, LM_PRUNE_RIGL, LM_PRUNE_GRANET};
    for (int i = 0; i < 4; i++)
        for (int sparse = 0; sparse < 2; sparse++) {
            LmTrainConfig c;
            small_cfg(&c, ms[i], "dale");
            c.dale = 1, c.lr = 0.05;
            LM_ASSERT(lm_train_config_set(&c, "path", sparse ? "sparse" : "dense") == 0);
            LM_ASSERT(lm_train_config_set(&c, "rule", sparse ? "yang" : "ngym") == 0);
            if (sparse) c.mask = LM_MASK_LOCAL2D, c.d = 3;   /* a searched region smaller than full */
            CHECK(lm_train_config_validate(&c) == 0, "%s", lm_err_msg());
            LmTrainer *t = lm_trainer_new(&c);
            CHECK(t != NULL, "%s", lm_err_msg());
            if (!t) continue;
            const int8_t *ei = lm_model_ei(t->model);
            CHECK(ei != NULL && lm_model_is_sparse(t->model) == sparse, "Dale off or wrong kernel");
            if (!ei) {
                lm_trainer_free(t);
                continue;
            }
            int64_t flips = 0, outside = 0, regrown = 0, regrown_moved = 0, nonzero = 0;
            uint8_t fresh[256] = {0}, before[256], now[256];
            float w[256];
            for (int s = 0; s < 60; s++) {
                lm_mask_to_dense(&t->mask, before);
                LM_ASSERT(lm_trainer_step(t, NULL) == 0);
                lm_mask_to_dense(&t->mask, now);
                lm_model_export_tensor(t->model, 2, w);
                int updated = memcmp(before, now, sizeof now) != 0;
                for (int k = 0; k < 256; k++) {
                    if (!now[k]) {
                        outside += w[k] != 0.0f;
                        fresh[k] = 0;
                        continue;
                    }
                    if (w[k] != 0.0f) nonzero++, flips += (w[k] > 0) != (ei[k % 16] > 0);
                    /* regrown at this update (GraNet may regrow what it just dropped): it restarts at 0 */
                    if (updated && w[k] == 0.0f) fresh[k] = 1, regrown++;
                    else if (fresh[k] && w[k] != 0.0f) regrown_moved++, fresh[k] = 0;
                }
            }
            int grows = ms[i] != LM_PRUNE_IMP;
            CHECK(flips == 0 && outside == 0 && nonzero > 0, "%s %s: %lld sign flips, %lld non-zero outside the mask",
                  lm_prune_name(ms[i]), sparse ? "sparse" : "dense", (long long)flips, (long long)outside);
            CHECK(!grows || (regrown > 0 && regrown_moved > 0), "%s %s: %lld regrown, %lld of them left 0",
                  lm_prune_name(ms[i]), sparse ? "sparse" : "dense", (long long)regrown, (long long)regrown_moved);
            lm_trainer_free(t);
        }
}

static void test_rewinding_restores_the_saved_weights(void) {
    for (int k = 0; k <= 3; k += 3) {   /* rewind to the initialisation and to step 3 */
        LmTrainConfig c;
        small_cfg(&c, LM_PRUNE_IMP, "rewind");
        c.rewind_step = k;
        LmTrainer *t = lm_trainer_new(&c);
        CHECK(t != NULL, "%s", lm_err_msg());
        if (!t) return;
        float saved[LM_N_TENSORS][17 * 64];
        int64_t round_steps = c.steps / 4;   /* three rounds, then the final training */
        for (int s = 0; s < round_steps; s++) {
            if (t->step == k)
                for (int i = 0; i < LM_N_TENSORS; i++) lm_model_export_tensor(t->model, i, saved[i]);
            LM_ASSERT(lm_trainer_step(t, NULL) == 0);
        }
        lm_search_before_step(t);   /* the end of round 1: prune and rewind */
        int64_t want_nnz = llround(256 * pow(100.0 / 256, 1.0 / 3));   /* (target/start)^(1/rounds) */
        CHECK(t->mask.nnz == want_nnz, "after round 1: %lld connections, want %lld", (long long)t->mask.nnz,
              (long long)want_nnz);
        float now[17 * 64];
        int same = 1;
        for (int i = 0; i < LM_N_TENSORS; i++) {
            LmTensorInfo ti = lm_model_tensor_info(t->model, i);
            size_t n = (size_t)ti.shape[0] * (ti.ndim == 2 ? (size_t)ti.shape[1] : 1);
            lm_model_export_tensor(t->model, i, now);
            for (size_t q = 0; q < n; q++) {
                int n_ = (int)ti.shape[1];
                float want = i == 2 && !lm_mask_has(&t->mask, (int)(q / n_), (int)(q % n_)) ? 0.0f : saved[i][q];
                if (now[q] != want) same = 0;
            }
        }
        int zero_moments = t->adam.t == 0;
        for (size_t q = 0; q < t->adam.n; q++) zero_moments &= t->adam.m[q] == 0 && t->adam.v[q] == 0;
        CHECK(same && zero_moments, "rewind to step %d: weights %s, optimiser %s", k, same ? "ok" : "differ",
              zero_moments ? "fresh" : "not reset");
        lm_trainer_free(t);
    }
}

static int same_member(const char *a, const char *b, const char *name) {
    LmNpz *x = lm_npz_read(a), *y = lm_npz_read(b);
    const LmArray *p = x ? lm_npz_find(x, name) : NULL, *q = y ? lm_npz_find(y, name) : NULL;
    int eq = p && q && p->count == q->count && !memcmp(p->data, q->data, p->count * lm_dtype_size(p->dtype));
    lm_npz_free(x), lm_npz_free(y);
    return eq;
}

static void test_resume_is_bit_identical(void) {
    const LmPruneMethod ms[] = {LM_PRUNE_IMP, LM_PRUNE_SET, LM_PRUNE_RIGL, LM_PRUNE_GRANET};
    for (int i = 0; i < 8; i++) {   /* each method, then each with Dale's law */
        LmTrainConfig u, k;
        small_cfg(&u, ms[i % 4], "u");
        small_cfg(&k, ms[i % 4], "k");
        u.dale = k.dale = i >= 4;
        LmRunOptions o;
        memset(&o, 0, sizeof o);
        o.force = 1;
        CHECK(lm_train_run(&u, &o, NULL) == 0, "%s", lm_err_msg());
        o.abort_after = 33;   /* "killed" after step 33: resumes from the checkpoint of step 28 */
        CHECK(lm_train_run(&k, &o, NULL) == 0, "%s", lm_err_msg());
        memset(&o, 0, sizeof o);
        o.resume = 1;
        CHECK(lm_train_run(&k, &o, NULL) == 0, "%s: %s", lm_prune_name(ms[i % 4]), lm_err_msg());
        char cu[1100], ck[1100], mu[1100], mk[1100];
        snprintf(cu, sizeof cu, "%s/checkpoint.npz", u.out);
        snprintf(ck, sizeof ck, "%s/checkpoint.npz", k.out);
        snprintf(mu, sizeof mu, "%s/masks.npz", u.out);
        snprintf(mk, sizeof mk, "%s/masks.npz", k.out);
        const char *names[] = {"params", "adam_m", "adam_v", "mask", "W_rec", "search_state", "thresholds"};
        for (int q = 0; q < 7; q++)
            CHECK(same_member(cu, ck, names[q]), "%s: %s differs after resume", lm_prune_name(ms[i % 4]), names[q]);
        const char *hist[] = {"step", "nnz", "row_ptr", "col_idx"};
        for (int q = 0; q < 4; q++)
            CHECK(same_member(mu, mk, hist[q]), "%s: masks.npz %s differs after resume", lm_prune_name(ms[i % 4]),
                  hist[q]);
    }
}

/* IMP logs a restarting "mask" record at each round (test_experiment: the reader then counts thresholds
 * from the last restart on). */
static void test_thresholds_restart_with_imp_rounds(void) {
    LmTrainConfig c;
    small_cfg(&c, LM_PRUNE_IMP, "imp_log");
    LmRunOptions o;
    memset(&o, 0, sizeof o);
    o.force = 1;
    CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
    char p[1100];
    snprintf(p, sizeof p, "%s/log.jsonl", c.out);
    FILE *f = fopen(p, "r");
    char line[4096];
    int restarts = 0;
    while (f && fgets(line, sizeof line, f)) restarts += strstr(line, "\"kind\":\"mask\"") && strstr(line, "\"restart\":true");
    if (f) fclose(f);
    CHECK(restarts == 3, "%d restarting mask records for 3 rounds", restarts);
    /* the mask history: the start and one entry per round, CSR, deflated (smaller than its arrays) */
    snprintf(p, sizeof p, "%s/masks.npz", c.out);
    LmNpz *z = lm_npz_read(p);
    CHECK(z != NULL, "%s", lm_err_msg());
    if (!z) return;
    const LmArray *nz = lm_npz_find(z, "nnz");
    size_t payload = 0;
    for (int i = 0; i < lm_npz_count(z); i++) {
        const LmArray *a = lm_npz_at(z, i);
        if (a) payload += a->count * lm_dtype_size(a->dtype);
    }
    int64_t target;
    LM_ASSERT(lm_search_target_nnz(&c, &target) == 0);
    CHECK(nz && nz->count == 4 && ((const int64_t *)nz->data)[0] == 256 && ((const int64_t *)nz->data)[3] == target,
          "history of %zu entries", nz ? nz->count : 0);
    FILE *mf = fopen(p, "rb");
    long size = -1;
    if (mf && fseek(mf, 0, SEEK_END) == 0) size = ftell(mf);
    if (mf) fclose(mf);
    CHECK(size > 0 && (size_t)size < payload, "masks.npz is %ld bytes for %zu bytes of arrays", size, payload);
    lm_npz_free(z);
}

static void test_bad_options_are_named(void) {
    LmTrainConfig c;
    small_cfg(&c, LM_PRUNE_SET, "bad");
    CHECK(lm_train_config_set(&c, "prune", "lottery") != 0 && strstr(lm_err_msg(), "lottery"), "%s", lm_err_msg());
    CHECK(lm_train_config_set(&c, "prune-density", "1.5") != 0 && strstr(lm_err_msg(), "--prune-density"), "%s",
          lm_err_msg());
    CHECK(lm_train_config_set(&c, "prune-density", "-0.1") != 0);
    c.prune_density_of = 0;
    CHECK(lm_train_config_validate(&c) != 0 && strstr(lm_err_msg(), "target density"), "%s", lm_err_msg());
    c.prune_density = 0.5, c.prune_density_of = 2;
    CHECK(lm_train_config_validate(&c) != 0 && strstr(lm_err_msg(), "not both"), "%s", lm_err_msg());
    c.prune_density = 0, c.prune = LM_PRUNE_NONE;
    CHECK(lm_train_config_validate(&c) != 0 && strstr(lm_err_msg(), "only used with --prune"), "%s", lm_err_msg());
    small_cfg(&c, LM_PRUNE_IMP, "bad");
    c.mask = LM_MASK_DIAG;
    CHECK(lm_train_config_validate(&c) != 0 && strstr(lm_err_msg(), "--mask full"), "%s", lm_err_msg());
    small_cfg(&c, LM_PRUNE_IMP, "bad");
    c.steps = 3;
    CHECK(lm_train_config_validate(&c) != 0 && strstr(lm_err_msg(), "rounds"), "%s", lm_err_msg());
    small_cfg(&c, LM_PRUNE_RIGL, "bad");
    c.dale = 1;   /* Dale combines with every search */
    CHECK(lm_train_config_validate(&c) == 0, "%s", lm_err_msg());
    c.frac_exc = 1.5;
    CHECK(lm_train_config_set(&c, "frac-exc", "1.5") != 0 && strstr(lm_err_msg(), "--frac-exc"), "%s", lm_err_msg());
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/lmrnn_prune_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    RUN(test_pruning_removes_exactly_the_smallest);
    RUN(test_regrowth_picks_the_largest_gradients);
    RUN(test_set_mask_keeps_values_and_moments);
    RUN(test_density_and_zeros_at_every_step);
    RUN(test_dale_signs_never_flip_under_search);
    RUN(test_rewinding_restores_the_saved_weights);
    RUN(test_resume_is_bit_identical);
    RUN(test_thresholds_restart_with_imp_rounds);
    RUN(test_bad_options_are_named);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return CHECK_DONE();
}
