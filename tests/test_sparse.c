/* The compressed path at any N (issue: nothing N x N): local masks built from their offsets equal the
 * dense definition (open, periodic, non-square, rings, d beyond the sheet); W_rec values in mask order
 * agree between the dense and the sparse layout; a checkpoint's CSR keys load in SciPy and equal the
 * dense weights, below and above the size that still stores dense keys; a sparse-only checkpoint
 * resumes bit-exactly; a format-1 (dense) checkpoint still loads; tampered CSR keys are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "io/npz.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "train/train.h"
#include "util/err.h"

static char tmp[256];

/* i == j or dist(i, j) < d on the nx x ny sheet (torus if periodic) or on the ring (ny == 0). */
static int defined_link(int nx, int ny, int periodic, double d, int i, int j) {
    if (i == j) return 1;
    if (ny == 0) {
        int k = abs(i - j);
        if (nx - k < k) k = nx - k;
        return k < d;
    }
    int dx = abs(i % nx - j % nx), dy = abs(i / nx - j / nx);
    if (periodic) {
        if (nx - dx < dx) dx = nx - dx;
        if (ny - dy < dy) dy = ny - dy;
    }
    return sqrt((double)(dx * dx + dy * dy)) < d;
}

static void test_local_masks_equal_their_definition(void) {
    struct { int kind, nx, ny, periodic; double d; } cases[] = {
        {LM_MASK_LOCAL2D, 16, 16, 0, 3},   {LM_MASK_LOCAL2D, 16, 16, 1, 3},  {LM_MASK_LOCAL2D, 13, 5, 0, 2.5},
        {LM_MASK_LOCAL2D, 13, 5, 1, 2.5},  {LM_MASK_LOCAL2D, 4, 4, 1, 3},    {LM_MASK_LOCAL2D, 7, 3, 0, 40},
        {LM_MASK_LOCAL2D, 6, 6, 1, 0.5},   {LM_MASK_LOCAL1D, 40, 0, 1, 4.5}, {LM_MASK_LOCAL1D, 9, 0, 1, 7},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int nx = cases[k].nx, ny = cases[k].ny, n = ny ? nx * ny : nx;
        LmMaskSpec s = {.kind = cases[k].kind, .d = cases[k].d, .nx = ny ? nx : 0, .ny = ny,
                        .periodic = cases[k].periodic};
        LmMask m;
        CHECK(lm_mask_build(&s, n, &m) == 0, "case %zu: %s", k, lm_err_msg());
        int64_t nnz = 0, bad = 0;
        for (int i = 0; i < n; i++) {
            for (int32_t p = m.row_ptr[i] + 1; p < m.row_ptr[i + 1]; p++) bad += m.col_idx[p] <= m.col_idx[p - 1];
            for (int j = 0; j < n; j++) {
                int want = defined_link(nx, ny, cases[k].periodic, cases[k].d, i, j);
                nnz += want;
                bad += want != lm_mask_has(&m, i, j);
            }
        }
        CHECK(bad == 0 && m.nnz == nnz, "case %zu: %lld wrong entries, nnz %lld want %lld", k, (long long)bad,
              (long long)m.nnz, (long long)nnz);
        lm_mask_free(&m);
    }
}

/* The same weights through both layouts: values in mask order, dense exports, round trip. */
static void test_rec_values_agree_between_layouts(void) {
    const int n = 36;
    LmMaskSpec s = {.kind = LM_MASK_LOCAL2D, .d = 2};
    LmMask mask;
    CHECK(lm_mask_build(&s, n, &mask) == 0);
    LmModelConfig c;
    lm_model_config_default(&c, 5, n, 3);
    c.rec_init = LM_INIT_GAUSSIAN;
    c.rec_gain = 1;
    c.path = LM_PATH_DENSE;
    LmModel *md = lm_model_new(&c, &mask);
    c.path = LM_PATH_SPARSE;
    LmModel *ms = lm_model_new(&c, &mask);
    LmRng r1, r2;
    lm_rng_seed(&r1, 4), lm_rng_seed(&r2, 4);
    lm_model_init(md, &r1), lm_model_init(ms, &r2);
    CHECK(!lm_model_is_sparse(md) && lm_model_is_sparse(ms));
    float *vd = malloc(mask.nnz * sizeof(float)), *vs = malloc(mask.nnz * sizeof(float));
    lm_model_export_rec_values(md, vd);
    lm_model_export_rec_values(ms, vs);
    CHECK(!memcmp(vd, vs, mask.nnz * sizeof(float)), "the layouts disagree on W_rec");
    float *dd = malloc((size_t)n * n * sizeof(float)), *ds = malloc((size_t)n * n * sizeof(float));
    lm_model_export_tensor(md, 2, dd);
    lm_model_export_tensor(ms, 2, ds);
    CHECK(!memcmp(dd, ds, (size_t)n * n * sizeof(float)));
    for (int64_t p = 0; p < mask.nnz; p++) vs[p] = (float)p * 0.5f;
    lm_model_import_rec_values(md, vs);
    lm_model_export_tensor(md, 2, dd);
    int ok = 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            float want = 0;
            for (int32_t p = mask.row_ptr[i]; p < mask.row_ptr[i + 1]; p++)
                if (mask.col_idx[p] == j) want = (float)p * 0.5f;
            ok &= dd[i * n + j] == want;
        }
    CHECK(ok, "import of mask-order values into the dense layout");
    free(vd), free(vs), free(dd), free(ds);
    lm_model_free(md), lm_model_free(ms);
    lm_mask_free(&mask);
}

/* The band gradient on a sheet wide enough to be worked in unit tiles (5184 units: tiles of 1024 and a
 * partial one) equals its definition dL/dW_ij = sum_{t >= 1, b} ds_t[b][i] h_{t-1}[b][j], summed in double
 * from the window's own ds and h, for every connection; and 2 threads give the same bits as 1. */
static void test_band_gradient_tiles_equal_definition(void) {
    const int side = 72, N = side * side, n_in = 3, n_out = 2, T = 6, B = 2;
    LmMaskSpec s = {.kind = LM_MASK_LOCAL2D, .d = 2};
    LmMask mask;
    CHECK(lm_mask_build(&s, N, &mask) == 0);
    LmModelConfig c;
    lm_model_config_default(&c, n_in, N, n_out);
    c.rec_init = LM_INIT_GAUSSIAN;
    c.rec_gain = 1;
    c.path = LM_PATH_SPARSE;
    LmModel *m = lm_model_new(&c, &mask);
    CHECK(m && !strcmp(lm_model_rec_layout(m), "band"));
    LmRng r;
    lm_rng_seed(&r, 9);
    lm_model_init(m, &r);
    float *x = malloc((size_t)T * B * n_in * sizeof(float));
    int32_t labels[T * B];
    for (int k = 0; k < T * B * n_in; k++) x[k] = (float)lm_rng_range(&r, -1, 1);
    for (int k = 0; k < T * B; k++) labels[k] = k % n_out;
    LmWork *w = lm_work_new(m, T, B);
    size_t rec_off = (size_t)N * n_in + N;   /* [W_in | b_in | W_rec ...] (model.h) */
    float *g1 = malloc(mask.nnz * sizeof(float));
    for (int threads = 1; threads <= 2; threads++) {
        lm_set_threads(threads);
        lm_forward(m, w, x, labels, NULL, NULL, T, B, NULL);
        lm_backward(m, w, x, labels, NULL, NULL, T, B);
        const float *g = lm_model_grads(m) + rec_off;
        if (threads == 2) {
            CHECK(!memcmp(g, g1, mask.nnz * sizeof(float)), "2 threads change the W_rec gradient");
            break;
        }
        memcpy(g1, g, mask.nnz * sizeof(float));
        int tt, tb;
        const float *ds = lm_work_grad_s(w, &tt, &tb), *h = lm_work_hidden(w);
        int64_t bad = 0;
        double worst = 0;
        for (int i = 0; i < N; i++)
            for (int32_t p = mask.row_ptr[i]; p < mask.row_ptr[i + 1]; p++) {
                int j = mask.col_idx[p];
                double want = 0, mag = 0;
                for (int t = 1; t < T; t++)
                    for (int b = 0; b < B; b++) {
                        double term = (double)ds[((size_t)t * B + b) * N + i] * h[((size_t)(t - 1) * B + b) * N + j];
                        want += term, mag += fabs(term);
                    }
                double err = fabs(g[p] - want);
                if (err > 1e-5 * mag + 1e-30) bad++;
                if (mag > 0 && err / mag > worst) worst = err / mag;
            }
        CHECK(bad == 0, "%lld of %lld gradient entries off their definition (worst %g)", (long long)bad,
              (long long)mask.nnz, worst);
    }
    lm_set_threads(1);
    free(x), free(g1);
    lm_work_free(w);
    lm_model_free(m);
    lm_mask_free(&mask);
}

static void no_step(void *ctx, int t, float *v, int B, int N) { (void)ctx, (void)t, (void)v, (void)B, (void)N; }
static void no_sum(void *ctx, float *logits, int TB, int n_out) { (void)ctx, (void)logits, (void)TB, (void)n_out; }

/* One forward and backward pass (with noise if the model has any); the loss, and a copy of every
 * gradient. `hooked`: through hooks that change nothing, which take the time loops step by step (the
 * order of the definition); else the given wavefront schedule (0, 0: the default). */
static double pass(LmModel *m, int T, int B, const float *x, const int32_t *labels, int hooked, int steps, int tile,
                   float *grads) {
    LmWork *w = lm_work_new(m, T, B);
    LmStepHooks none = {NULL, no_step, no_step, no_sum};
    if (hooked) lm_work_set_hooks(w, &none);
    lm_work_set_wavefront(w, steps, tile);
    LmRng noise;
    lm_rng_seed(&noise, 21);
    double loss = lm_forward(m, w, x, labels, NULL, NULL, T, B, &noise);
    lm_backward(m, w, x, labels, NULL, NULL, T, B);
    memcpy(grads, lm_model_grads(m), lm_model_n_params(m) * sizeof(float));
    lm_work_free(w);
    return loss;
}

/* Wide sparse networks split their time loops by units across threads (a barrier per step) instead of
 * by batch rows. Band (local2d) and CSR (random) layouts, batch 4 and 3: 2 and 3 threads give the same
 * loss and gradients as 1, and the sparse layouts agree with the dense one (loss, input and bias
 * gradients: all of them flow through the whole recurrence) to float rounding. */
static void test_unit_split_equals_one_thread(void) {
    const int side = 50, N = side * side, n_in = 4, n_out = 3, T = 9;
    LmMaskSpec specs[2] = {{.kind = LM_MASK_LOCAL2D, .d = 2.5}, {.kind = LM_MASK_RANDOM, .density = 0.004, .seed = 5}};
    const char *layouts[2] = {"band", "csr"};
    for (int k = 0; k < 2; k++)
        for (int B = 3; B <= 4; B++) {
            LmMask mask;
            CHECK(lm_mask_build(&specs[k], N, &mask) == 0, "%s", lm_err_msg());
            LmModelConfig c;
            lm_model_config_default(&c, n_in, N, n_out);
            c.rec_init = LM_INIT_GAUSSIAN;
            c.rec_gain = 1.2;
            c.path = LM_PATH_SPARSE;
            LmModel *ms = lm_model_new(&c, &mask);
            c.path = LM_PATH_DENSE;
            LmModel *md = lm_model_new(&c, &mask);
            CHECK(ms && md && !strcmp(lm_model_rec_layout(ms), layouts[k]), "layout %s", lm_model_rec_layout(ms));
            LmRng r;
            lm_rng_seed(&r, 11), lm_model_init(ms, &r);
            lm_rng_seed(&r, 11), lm_model_init(md, &r);
            float *x = malloc((size_t)T * B * n_in * sizeof(float));
            int32_t labels[T * 4];
            for (int q = 0; q < T * B * n_in; q++) x[q] = (float)lm_rng_range(&r, 0, 1);
            for (int q = 0; q < T * B; q++) labels[q] = q % n_out;
            size_t np = lm_model_n_params(ms), nd = lm_model_n_params(md);
            float *g1 = malloc(np * sizeof(float)), *g = malloc(np * sizeof(float)), *gd = malloc(nd * sizeof(float));
            lm_set_threads(1);
            double l1 = pass(ms, T, B, x, labels, 0, 0, 0, g1), ld = pass(md, T, B, x, labels, 0, 0, 0, gd);
            for (int threads = 2; threads <= 3; threads++) {
                lm_set_threads(threads);
                double l = pass(ms, T, B, x, labels, 0, 0, 0, g);
                size_t diff = 0;
                for (size_t q = 0; q < np; q++) diff += g[q] != g1[q];
                CHECK(l == l1 && diff == 0, "%s B=%d: %d threads: loss %.9g vs %.9g, %zu of %zu gradients differ",
                      layouts[k], B, threads, l, l1, diff, np);
            }
            lm_set_threads(1);
            size_t n_inb = (size_t)N * n_in + N, bad = 0;   /* [W_in | b_in | ...] (model.h) */
            double mag = 0;
            for (size_t q = 0; q < n_inb; q++) mag = fmax(mag, fabs(gd[q]));
            for (size_t q = 0; q < n_inb; q++) bad += fabs(g1[q] - gd[q]) > 1e-4 * mag;
            CHECK(fabs(l1 - ld) <= 1e-5 * fabs(ld) && bad == 0, "%s B=%d vs dense: loss %.9g vs %.9g, %zu of %zu off",
                  layouts[k], B, l1, ld, bad, n_inb);
            free(x), free(g1), free(g), free(gd);
            lm_model_free(ms), lm_model_free(md);
            lm_mask_free(&mask);
        }
}

/* The band wavefront (time blocks x skewed unit tiles; with threads, trapezoids then triangles) gives
 * the same loss and gradients, bit for bit, as the step-by-step loop: 1, 2 and 3 threads, blocks of 2 to
 * 16 steps (the last one partial), tiles wider and narrower than the skew and not multiples of 16, both
 * update rules with noise, batch 4 and 3. */
static void test_wavefront_equals_step_by_step(void) {
    const int side = 50, N = side * side, n_in = 4, n_out = 3, T = 11;
    const int sched[4][2] = {{0, 0}, {3, 256}, {5, 100}, {2, 1500}};
    LmMaskSpec spec = {.kind = LM_MASK_LOCAL2D, .d = 2.5};
    LmMask mask;
    CHECK(lm_mask_build(&spec, N, &mask) == 0, "%s", lm_err_msg());
    for (int variant = 0; variant < 2; variant++) {
        const int B = 4 - variant;
        LmModelConfig c;
        lm_model_config_default(&c, n_in, N, n_out);
        c.rec_init = LM_INIT_GAUSSIAN;
        c.rec_gain = 1.2;
        c.sigma_rec = 0.05;
        c.path = LM_PATH_SPARSE;
        if (variant) c.rule = LM_RULE_YANG, c.act = LM_ACT_SOFTPLUS;
        LmModel *m = lm_model_new(&c, &mask);
        CHECK(m && !strcmp(lm_model_rec_layout(m), "band"));
        LmRng r;
        lm_rng_seed(&r, 13), lm_model_init(m, &r);
        float *x = malloc((size_t)T * B * n_in * sizeof(float));
        int32_t labels[T * 4];
        for (int q = 0; q < T * B * n_in; q++) x[q] = (float)lm_rng_range(&r, 0, 1);
        for (int q = 0; q < T * B; q++) labels[q] = (q * 7) % n_out;
        size_t np = lm_model_n_params(m);
        float *g0 = malloc(np * sizeof(float)), *g = malloc(np * sizeof(float));
        lm_set_threads(1);
        double l0 = pass(m, T, B, x, labels, 1, 0, 0, g0);
        for (int threads = 1; threads <= 3; threads++)
            for (int k = 0; k < 4; k++) {
                lm_set_threads(threads);
                double l = pass(m, T, B, x, labels, 0, sched[k][0], sched[k][1], g);
                size_t diff = 0;
                for (size_t q = 0; q < np; q++) diff += g[q] != g0[q];
                CHECK(l == l0 && diff == 0, "B=%d, %d threads, blocks %d, tiles %d: loss %.9g vs %.9g, %zu of %zu differ",
                      B, threads, sched[k][0], sched[k][1], l, l0, diff, np);
            }
        lm_set_threads(1);
        free(x), free(g0), free(g);
        lm_model_free(m);
    }
    lm_mask_free(&mask);
}

/* Logits of one forward over x on a fresh work (every layout built from the current parameters). */
static void fresh_logits(LmModel *m, int T, int B, const float *x, float *out) {
    LmWork *w = lm_work_new(m, T, B);
    lm_forward(m, w, x, NULL, NULL, NULL, T, B, NULL);
    memcpy(out, lm_work_logits(w), (size_t)T * B * lm_model_config(m)->n_out * sizeof(float));
    lm_work_free(w);
}

/* lm_work_fix_params: forwards on one work, with sparse and dense inputs in turn, give the same logits as
 * fresh works (dense, band and CSR layouts, 1 and 2 threads); after the parameters change, the kept
 * layouts are really reused until the promise is renewed (the logits are then the old network's for the
 * recurrent and input weights), and renewing it lays them out again. */
static void test_fixed_params_keep_layouts(void) {
    const int side = 48, N = side * side, n_in = 12, n_out = 3, T = 7, B = 2;
    LmMaskSpec specs[3] = {{.kind = LM_MASK_LOCAL2D, .d = 2.5}, {.kind = LM_MASK_LOCAL2D, .d = 2.5},
                           {.kind = LM_MASK_RANDOM, .density = 0.004, .seed = 5}};
    const LmRecPath paths[3] = {LM_PATH_DENSE, LM_PATH_SPARSE, LM_PATH_SPARSE};
    const char *layouts[3] = {"dense", "band", "csr"};
    const size_t nl = (size_t)T * B * n_out;
    float *xs = calloc((size_t)T * B * n_in, sizeof(float)), *xd = malloc((size_t)T * B * n_in * sizeof(float));
    float *want = malloc(nl * sizeof(float)), *got = malloc(nl * sizeof(float));
    LmRng r;
    lm_rng_seed(&r, 17);
    for (int q = 0; q < T * B * n_in; q++) xd[q] = (float)lm_rng_range(&r, 0.1, 1);
    for (int q = 0; q < T * B; q++) xs[(size_t)q * n_in + q % n_in] = 1.0f;   /* one-hot: the sparse input path */
    for (int k = 0; k < 3; k++)
        for (int threads = 1; threads <= 2; threads++) {
            lm_set_threads(threads);
            LmMask mask;
            CHECK(lm_mask_build(&specs[k], N, &mask) == 0, "%s", lm_err_msg());
            LmModelConfig c;
            lm_model_config_default(&c, n_in, N, n_out);
            c.rec_init = LM_INIT_GAUSSIAN;
            c.rec_gain = 1.2;
            c.path = paths[k];
            LmModel *m = lm_model_new(&c, &mask);
            CHECK(m && !strcmp(lm_model_rec_layout(m), layouts[k]), "layout %s", lm_model_rec_layout(m));
            lm_rng_seed(&r, 3), lm_model_init(m, &r);
            LmWork *w = lm_work_new(m, T, B);
            lm_work_fix_params(w, 1);
            const float *xin[3] = {xs, xd, xs};
            for (int pass_k = 0; pass_k < 3; pass_k++) {
                fresh_logits(m, T, B, xin[pass_k], want);
                lm_forward(m, w, xin[pass_k], NULL, NULL, NULL, T, B, NULL);
                CHECK(!memcmp(lm_work_logits(w), want, nl * sizeof(float)), "%s, %d threads, forward %d differs",
                      layouts[k], threads, pass_k);
            }
            float *p = lm_model_params(m);
            for (size_t q = 0; q < lm_model_n_params(m); q++) p[q] *= 1.5f;
            fresh_logits(m, T, B, xs, want);
            lm_forward(m, w, xs, NULL, NULL, NULL, T, B, NULL);
            CHECK(memcmp(lm_work_logits(w), want, nl * sizeof(float)) != 0, "%s: the layouts were not kept", layouts[k]);
            lm_work_fix_params(w, 1);
            lm_forward(m, w, xs, NULL, NULL, NULL, T, B, NULL);
            memcpy(got, lm_work_logits(w), nl * sizeof(float));
            CHECK(!memcmp(got, want, nl * sizeof(float)), "%s: renewed promise, stale layouts", layouts[k]);
            lm_work_free(w);
            lm_model_free(m);
            lm_mask_free(&mask);
        }
    lm_set_threads(1);
    free(xs), free(xd), free(want), free(got);
}

static void cfg_for(LmTrainConfig *c, int side, const char *dir, int64_t steps) {
    lm_train_config_default(c);
    LM_ASSERT(lm_train_config_set(c, "battery", "go,dm1") == 0);
    c->hidden = side * side;
    c->batch = 2;
    c->window = 12;
    c->steps = steps;
    c->eval_every = 0;
    c->eval_trials = 1;
    c->checkpoint_every = 0;
    c->log_every = 0;
    c->no_plot = 1;
    c->quiet = 1;
    c->seed = 3;
    snprintf(c->out, sizeof c->out, "%s/%s", tmp, dir);
}

/* SciPy's csr_matrix of the CSR keys equals the model's dense W_rec (written by the trainer as .npy). */
static int scipy_equals(const char *ckpt, const char *dense_npy, int expect_dense_keys) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import sys, numpy as np, scipy.sparse as sp\n"
             "z = np.load('%s'); W = sp.csr_matrix((z['W_rec_data'], z['W_rec_indices'], z['W_rec_indptr']), "
             "shape=tuple(z['W_rec_shape']))\n"
             "D = np.load('%s'); ok = W.shape == D.shape and np.array_equal(W.toarray(), D)\n"
             "ok = ok and (('W_rec' in z.files) == %s) and (('mask' in z.files) == %s)\n"
             "ok = ok and (not %s or np.array_equal(z['W_rec'], D))\n"
             "sys.exit(0 if ok else 1)\"",
             ckpt, dense_npy, expect_dense_keys ? "True" : "False", expect_dense_keys ? "True" : "False",
             expect_dense_keys ? "True" : "False");
    return system(cmd);
}

static void dense_export(const LmTrainConfig *c, const char *ckpt, const char *npy) {
    LmTrainer *t = lm_trainer_new(c);
    LM_ASSERT(t);
    CHECK(lm_checkpoint_load_weights(t, ckpt) == 0, "%s", lm_err_msg());
    int64_t N = c->hidden, sh[2] = {N, N};
    float *w = malloc((size_t)N * N * sizeof(float));
    lm_model_export_tensor(t->model, 2, w);
    CHECK(lm_npy_write(npy, LM_DT_F32, 2, sh, w) == 0, "%s", lm_err_msg());
    free(w);
    lm_trainer_free(t);
}

static void test_checkpoint_csr_loads_in_scipy(void) {
    if (access("/usr/bin/python3", X_OK) != 0) {
        CHECK(0, "/usr/bin/python3 (with numpy, scipy: scripts/install-deps.sh) is needed");
        return;
    }
    const int sides[2] = {8, 66};   /* N = 64 keeps the dense keys; N = 4356 > LM_CHECKPOINT_DENSE_MAX does not */
    for (int k = 0; k < 2; k++) {
        LmTrainConfig c;
        char dir[32], ckpt[1200], npy[1200];
        snprintf(dir, sizeof dir, "scipy%d", sides[k]);
        cfg_for(&c, sides[k], dir, 2);
        LmRunOptions o = {0};
        CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
        snprintf(ckpt, sizeof ckpt, "%s/checkpoint.npz", c.out);
        snprintf(npy, sizeof npy, "%s/W_rec_dense.npy", c.out);
        dense_export(&c, ckpt, npy);
        CHECK(scipy_equals(ckpt, npy, c.hidden <= LM_CHECKPOINT_DENSE_MAX) == 0, "N=%d: SciPy's CSR differs",
              c.hidden);
    }
}

static float *params_of(const LmTrainConfig *c) {
    char ckpt[1200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.npz", c->out);
    LmNpz *z = lm_npz_read(ckpt);
    if (!z) return NULL;
    const LmArray *a = lm_npz_find(z, "params");
    float *p = a ? malloc(a->count * sizeof(float)) : NULL;
    if (p) memcpy(p, a->data, a->count * sizeof(float));
    lm_npz_free(z);
    return p;
}

/* A sparse-only checkpoint (N > LM_CHECKPOINT_DENSE_MAX) resumes to the uninterrupted run's weights;
 * tampered CSR keys are refused; a format-1 checkpoint (dense keys only) still loads. */
static void test_sparse_resume_and_old_format(void) {
    LmTrainConfig a, b;
    cfg_for(&a, 66, "straight", 3);
    cfg_for(&b, 66, "resumed", 1);
    LmRunOptions o = {0};
    CHECK(lm_train_run(&a, &o, NULL) == 0, "%s", lm_err_msg());
    CHECK(lm_train_run(&b, &o, NULL) == 0, "%s", lm_err_msg());
    b.steps = 3;
    o.resume = 1;
    CHECK(lm_train_run(&b, &o, NULL) == 0, "%s", lm_err_msg());
    float *pa = params_of(&a), *pb = params_of(&b);
    CHECK(pa && pb);
    LmTrainer *t = lm_trainer_new(&a);
    size_t P = lm_model_n_params(t->model);
    if (pa && pb) CHECK(!memcmp(pa, pb, P * sizeof(float)), "resumed from a sparse checkpoint: weights differ");
    free(pa), free(pb);

    /* tampering */
    char good[1200], bad[1200];
    snprintf(good, sizeof good, "%s/checkpoint.npz", a.out);
    snprintf(bad, sizeof bad, "%s/bad.npz", a.out);
    struct { const char *key, *want; } cases[] = {{"W_rec_indices", "W_rec_indices"}, {"W_rec_data", "non-finite"},
                                                  {"W_rec_indptr", "W_rec_indptr"}};
    for (int k = 0; k < 3; k++) {
        LmNpz *z = lm_npz_read(good);
        LmNpzWriter *w = lm_npz_create(bad);
        for (int i = 0; i < lm_npz_count(z); i++) {
            LmArray *arr = (LmArray *)lm_npz_at(z, i);
            if (!strcmp(arr->name, cases[k].key)) {
                if (arr->dtype == LM_DT_F32) ((float *)arr->data)[5] = NAN;
                else ((int32_t *)arr->data)[arr->count / 2] += 1;
            }
            if (arr->dtype == LM_DT_STR) lm_npz_add_string(w, arr->name, arr->data);
            else lm_npz_add(w, arr->name, arr->dtype, arr->ndim, arr->shape, arr->data);
        }
        CHECK(lm_npz_close(w) == 0);
        lm_npz_free(z);
        CHECK(lm_checkpoint_load(t, bad) == -1 && strstr(lm_err_msg(), cases[k].want), "%s: %s", cases[k].key,
              lm_err_msg());
    }
    lm_trainer_free(t);

    /* format 1: dense W_rec and mask, no CSR keys (N = 64) */
    LmTrainConfig s;
    cfg_for(&s, 8, "scipy8", 2);
    snprintf(good, sizeof good, "%s/checkpoint.npz", s.out);
    snprintf(bad, sizeof bad, "%s/format1.npz", s.out);
    LmNpz *z = lm_npz_read(good);
    LmNpzWriter *w = lm_npz_create(bad);
    int64_t one = LM_CHECKPOINT_FORMAT_DENSE;
    for (int i = 0; z && i < lm_npz_count(z); i++) {
        const LmArray *arr = lm_npz_at(z, i);
        if (!strncmp(arr->name, "W_rec_", 6)) continue;
        if (!strcmp(arr->name, "format")) lm_npz_add(w, "format", LM_DT_I64, 0, NULL, &one);
        else if (arr->dtype == LM_DT_STR) lm_npz_add_string(w, arr->name, arr->data);
        else lm_npz_add(w, arr->name, arr->dtype, arr->ndim, arr->shape, arr->data);
    }
    CHECK(lm_npz_close(w) == 0);
    lm_npz_free(z);
    LmTrainer *t1 = lm_trainer_new(&s), *t2 = lm_trainer_new(&s);
    CHECK(lm_checkpoint_load(t1, bad) == 0, "format 1: %s", lm_err_msg());
    CHECK(lm_checkpoint_load(t2, good) == 0, "%s", lm_err_msg());
    CHECK(t1->step == 2 && !memcmp(lm_model_params(t1->model), lm_model_params(t2->model),
                                   lm_model_n_params(t1->model) * sizeof(float)));
    lm_trainer_free(t1), lm_trainer_free(t2);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/lmrnn_sparse_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    RUN(test_local_masks_equal_their_definition);
    RUN(test_rec_values_agree_between_layouts);
    RUN(test_band_gradient_tiles_equal_definition);
    RUN(test_unit_split_equals_one_thread);
    RUN(test_wavefront_equals_step_by_step);
    RUN(test_fixed_params_keep_layouts);
    RUN(test_checkpoint_csr_loads_in_scipy);
    RUN(test_sparse_resume_and_old_format);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return CHECK_DONE();
}
