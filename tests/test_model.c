/* Model engine behaviour (issue 3 items 1-5): initialisation, masked weights staying exactly zero under
 * Adam, loss decreasing on a fixed batch, sparse == dense, Adam and clipping against hand computation,
 * non-finite handling, determinism, and input validation. Gradients: test_gradcheck.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model/kernels.h"
#include "model/model.h"
#include "util/err.h"

enum { NIN = 7, NOUT = 5 };

typedef struct {
    int T, B, n_in;
    float *x;
    int32_t *y;
    uint8_t *dec;
} Batch;

/* A batch with a learnable rule: the label is the argmax of the first n_out - 1 inputs, shifted, or 0. */
static Batch make_batch_sparse(int T, int B, uint64_t seed, double zero_frac);
static Batch make_batch(int T, int B, uint64_t seed) { return make_batch_sparse(T, B, seed, 0); }
/* zero_frac of the inputs set to 0 (Mod-Cog inputs are ~90% zeros: the sparse input path) */
static Batch make_batch_sparse(int T, int B, uint64_t seed, double zero_frac) {
    Batch b = {T, B, NIN, malloc(sizeof(float) * T * B * NIN), malloc(sizeof(int32_t) * T * B), malloc(T * B)};
    LmRng r;
    lm_rng_seed(&r, seed);
    for (int k = 0; k < T * B; k++) {
        int best = 0;
        for (int j = 0; j < NIN; j++) {
            b.x[k * NIN + j] = (float)lm_rng_normal(&r);
            if (lm_rng_uniform(&r) < zero_frac) b.x[k * NIN + j] = 0;
            if (j < NOUT - 1 && b.x[k * NIN + j] > b.x[k * NIN + best]) best = j;
        }
        b.y[k] = b.x[k * NIN + NIN - 1] > 0 ? 1 + best : 0;
        b.dec[k] = (k / B) % 2;
    }
    return b;
}
static void free_batch(Batch *b) { free(b->x), free(b->y), free(b->dec); }

static LmModel *make_model(int n, LmMaskSpec spec, LmRecPath path, LmRecInit init, uint64_t seed, LmMask *mask_out) {
    LmMask mask;
    if (lm_mask_build(&spec, n, &mask)) {
        CHECK(0, "%s", lm_err_msg());
        return NULL;
    }
    LmModelConfig c;
    lm_model_config_default(&c, NIN, n, NOUT);
    c.path = path;
    c.rec_init = init;
    if (init == LM_INIT_GAUSSIAN) c.rec_gain = 1.0;
    if (init == LM_INIT_RANDORTHO) c.rec_gain = 0.9;
    LmModel *m = lm_model_new(&c, &mask);
    LmRng r;
    lm_rng_seed(&r, seed);
    lm_model_init(m, &r);
    if (mask_out) *mask_out = mask; else lm_mask_free(&mask);
    return m;
}

static void defaults_and_names(void) {
    LmModelConfig c;
    lm_model_config_default(&c, 115, 256, 17);
    CHECK(c.rule == LM_RULE_NGYM && c.act == LM_ACT_RELU && c.alpha == 1.0 && c.sigma_rec == 0);
    CHECK(c.rec_init == LM_INIT_HALF_IDENTITY && c.rec_gain == 0.5 && c.path == LM_PATH_AUTO);
    LmUpdateRule r;
    LmActivation a;
    LmRecInit i;
    CHECK(lm_rule_parse("yang", &r) == 0 && r == LM_RULE_YANG);
    CHECK(lm_act_parse("softplus", &a) == 0 && a == LM_ACT_SOFTPLUS);
    CHECK(lm_init_parse("randortho", &i) == 0 && i == LM_INIT_RANDORTHO);
    CHECK(lm_act_parse("sigmoid", &a) == -1 && strstr(lm_err_msg(), "'sigmoid'") && strstr(lm_err_msg(), "tanh"));
    CHECK(lm_rule_parse("", &r) == -1);
    CHECK(strcmp(lm_rule_name(LM_RULE_NGYM), "ngym") == 0 && strcmp(lm_act_name(LM_ACT_TANH), "tanh") == 0);
    CHECK(strcmp(lm_init_name(LM_INIT_GAUSSIAN), "gaussian") == 0);
    LmMaskSpec full = {.kind = LM_MASK_FULL};
    LmMask mask;
    CHECK(lm_mask_build(&full, 8, &mask) == 0);
    c = (LmModelConfig){0};
    lm_model_config_default(&c, 3, 8, 2);
    c.alpha = 0;
    CHECK(lm_model_new(&c, &mask) == NULL && strstr(lm_err_msg(), "alpha"));
    c.alpha = 1, c.sigma_rec = -1;
    CHECK(lm_model_new(&c, &mask) == NULL && strstr(lm_err_msg(), "sigma_rec must be >= 0, got -1"));
    c.sigma_rec = 0;
    c.n_hidden = 9;
    CHECK(lm_model_new(&c, &mask) == NULL && strstr(lm_err_msg(), "mask has 8 units but N = 9"));
    lm_mask_free(&mask);
}

/* LM_PATH_AUTO: a fixed function of the mask (density, banded or not), never of timing. */
static void auto_path(void) {
    struct { LmMaskSpec spec; const char *layout; } cases[] = {
        {{.kind = LM_MASK_FULL}, "dense"},
        {{.kind = LM_MASK_LOCAL2D, .d = 3}, "band"},
        {{.kind = LM_MASK_LOCAL2D, .d = 7}, "dense"},   /* density 0.38 > LM_BAND_CROSSOVER */
        {{.kind = LM_MASK_DIAG}, "band"},
        {{.kind = LM_MASK_LOCAL1D, .d = 5}, "band"},
        {{.kind = LM_MASK_RANDOM, .density = 0.04, .seed = 1}, "csr"},
        {{.kind = LM_MASK_RANDOM, .density = 0.12, .seed = 1}, "dense"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        LmModel *m = make_model(256, cases[k].spec, LM_PATH_AUTO, LM_INIT_HALF_IDENTITY, 1, NULL);
        CHECK(m && !strcmp(lm_model_rec_layout(m), cases[k].layout), "case %zu: %s, want %s", k,
              m ? lm_model_rec_layout(m) : "-", cases[k].layout);
        lm_model_free(m);
    }
}

/* The inits of docs/model.md §3: 0.5 I masked, nn.Linear bounds, randortho orthogonal, gaussian g/sqrt(N). */
static void initialisation(void) {
    const int n = 64;
    LmMaskSpec full = {.kind = LM_MASK_FULL};
    LmModel *m = make_model(n, full, LM_PATH_AUTO, LM_INIT_HALF_IDENTITY, 1, NULL);
    float *w = malloc(sizeof(float) * n * n), *win = malloc(sizeof(float) * n * NIN);
    lm_model_export_tensor(m, 2, w);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) CHECK(w[i * n + j] == (i == j ? 0.5f : 0.0f));
    lm_model_export_tensor(m, 0, win);
    double bound = 1 / sqrt(NIN), mx = 0;
    for (int k = 0; k < n * NIN; k++) mx = fmax(mx, fabs(win[k]));
    CHECK(mx <= bound && mx > 0.9 * bound, "W_in max %g bound %g", mx, bound);
    float bo[NOUT];
    lm_model_export_tensor(m, 5, bo);
    for (int k = 0; k < NOUT; k++) CHECK(fabs(bo[k]) <= 1 / sqrt(n));
    CHECK(lm_model_n_params(m) == (size_t)(n * NIN + n + n * n + n + NOUT * n + NOUT));
    LmTensorInfo ti = lm_model_tensor_info(m, 4);
    CHECK(strcmp(ti.name, "W_out") == 0 && ti.ndim == 2 && ti.shape[0] == NOUT && ti.shape[1] == n);
    lm_model_free(m);

    m = make_model(n, full, LM_PATH_DENSE, LM_INIT_RANDORTHO, 2, NULL);
    lm_model_export_tensor(m, 2, w);
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += (double)w[i * n + k] * w[j * n + k];
            worst = fmax(worst, fabs(s - (i == j ? 0.81 : 0.0)));
        }
    CHECK(worst < 1e-5, "W W^T - 0.81 I: %g", worst);
    lm_model_free(m);

    m = make_model(n, full, LM_PATH_DENSE, LM_INIT_GAUSSIAN, 3, NULL);
    lm_model_export_tensor(m, 2, w);
    double s2 = 0;
    for (int k = 0; k < n * n; k++) s2 += (double)w[k] * w[k];
    double sd = sqrt(s2 / (n * n));
    CHECK(fabs(sd - 1 / sqrt(n)) < 0.05 / sqrt(n), "sd %g want %g", sd, 1 / sqrt(n));
    lm_model_free(m);

    /* masked inits: only masked-in entries survive, and the sparse path stores exactly those */
    LmMaskSpec loc = {.kind = LM_MASK_LOCAL2D, .d = 2};
    LmMask mask;
    m = make_model(n, loc, LM_PATH_SPARSE, LM_INIT_GAUSSIAN, 3, &mask);
    CHECK(lm_model_is_sparse(m));
    CHECK(lm_model_n_params(m) == (size_t)(n * NIN + n + mask.nnz + n + NOUT * n + NOUT));
    float *ws = malloc(sizeof(float) * n * n);
    lm_model_export_tensor(m, 2, ws);
    for (int k = 0; k < n * n; k++)   /* same seed, same draws */
        CHECK(ws[k] == (lm_mask_has(&mask, k / n, k % n) ? w[k] : 0.0f));
    /* import refuses weights outside the mask */
    ws[1 * n + 40] = 0.25f;
    CHECK(!lm_mask_has(&mask, 1, 40));
    CHECK(lm_model_import_tensor(m, 2, ws) == -1 && strstr(lm_err_msg(), "W_rec[1][40] = 0.25"));
    lm_model_free(m);
    lm_mask_free(&mask);
    free(w), free(win), free(ws);
}

/* Train on one fixed batch: loss must fall; masked entries must stay exactly 0 forever. */
static void masked_stay_zero_and_loss_falls(void) {
    const int n = 36, T = 12, B = 4;
    Batch bt = make_batch(T, B, 4);
    LmMaskSpec specs[3] = {{.kind = LM_MASK_LOCAL2D, .d = 1.5}, {.kind = LM_MASK_RANDOM, .density = 0.2, .seed = 3},
                           {.kind = LM_MASK_DIAG}};
    for (int s = 0; s < 3; s++)
        for (int path = 0; path < 2; path++) {
            LmMask mask;
            LmModel *m = make_model(n, specs[s], path ? LM_PATH_SPARSE : LM_PATH_DENSE, LM_INIT_GAUSSIAN, 5, &mask);
            LmAdam adam;
            lm_adam_init(&adam, m, 1e-2);
            LmWork *w = lm_work_new(m, T, B);
            LmLossConfig loss = {0, 1.0};
            LmStepStats st;
            double first = 0, last = 0;
            for (int k = 0; k < 300; k++) {
                CHECK(lm_train_step(m, &adam, w, bt.x, bt.y, bt.dec, &loss, T, B, 1.0, NULL, &st) == 0);
                if (k == 0) first = st.loss;
                last = st.loss;
            }
            CHECK(last < 0.5 * first, "mask %d path %d: loss %g -> %g", s, path, first, last);
            float *wr = malloc(sizeof(float) * n * n);
            lm_model_export_tensor(m, 2, wr);
            int64_t nonzero_in = 0;
            uint8_t *dm = malloc((size_t)n * n);
            lm_mask_to_dense(&mask, dm);
            for (int k = 0; k < n * n; k++) {
                if (!dm[k]) CHECK(wr[k] == 0.0f, "masked entry %d = %g", k, wr[k]);
                nonzero_in += dm[k] && wr[k] != 0;
            }
            CHECK(nonzero_in == mask.nnz);
            if (!path) {   /* the dense block itself, not just its export */
                const float *p = lm_model_params(m) + n * NIN + n;
                for (int k = 0; k < n * n; k++)
                    if (!dm[k]) CHECK(p[k] == 0.0f);
            }
            free(dm);
            free(wr);
            lm_work_free(w);
            lm_adam_free(&adam);
            lm_model_free(m);
            lm_mask_free(&mask);
        }
    free_batch(&bt);
}

/* Sparse and dense paths agree to float tolerance on a larger model, over several Adam steps. */
static void sparse_equals_dense(void) {
    for (int n = 64; n <= 100; n += 36) {   /* 100: thread ranges that are not whole vector blocks */
    const int T = 20, B = 5;
    LmMaskSpec specs[4] = {{.kind = LM_MASK_LOCAL2D, .d = 2.5}, {.kind = LM_MASK_RANDOM, .density = 0.1, .seed = 1},
                           {.kind = LM_MASK_DIAG}, {.kind = LM_MASK_LOCAL2D, .d = 2.5, .periodic = 1}};
    for (int s = 0; s < 4; s++) {
        Batch bt = make_batch_sparse(T, B, 8, s % 2 ? 0.85 : 0.0);
        LmModel *md = make_model(n, specs[s], LM_PATH_DENSE, LM_INIT_GAUSSIAN, 6, NULL);
        LmModel *ms = make_model(n, specs[s], LM_PATH_SPARSE, LM_INIT_GAUSSIAN, 6, NULL);
        CHECK(!lm_model_is_sparse(md) && lm_model_is_sparse(ms));
        LmAdam ad, as;
        lm_adam_init(&ad, md, 1e-3);
        lm_adam_init(&as, ms, 1e-3);
        LmWork *wd = lm_work_new(md, T, B), *ws = lm_work_new(ms, T, B);
        LmStepStats sd, ss;
        for (int k = 0; k < 5; k++) {
            CHECK(lm_train_step(md, &ad, wd, bt.x, bt.y, NULL, NULL, T, B, 1.0, NULL, &sd) == 0);
            CHECK(lm_train_step(ms, &as, ws, bt.x, bt.y, NULL, NULL, T, B, 1.0, NULL, &ss) == 0);
            CHECK_CLOSE(sd.loss, ss.loss, 1e-5);
            CHECK_CLOSE(sd.grad_norm, ss.grad_norm, 1e-4);
        }
        float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n);
        for (int t = 0; t < LM_N_TENSORS; t++) {
            lm_model_export_tensor(md, t, a);
            lm_model_export_tensor(ms, t, b);
            LmTensorInfo ti = lm_model_tensor_info(md, t);
            size_t cnt = (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1);
            double worst = 0;
            for (size_t k = 0; k < cnt; k++) worst = fmax(worst, fabs(a[k] - b[k]));
            CHECK(worst < 1e-5, "mask %d %s differs by %g", s, ti.name, worst);
        }
        const float *h1 = lm_work_hidden(wd), *h2 = lm_work_hidden(ws);
        double worst = 0;
        for (int k = 0; k < T * B * n; k++) worst = fmax(worst, fabs(h1[k] - h2[k]));
        CHECK(worst < 1e-4, "hidden states differ by %g", worst);
        free(a), free(b);
        lm_work_free(wd), lm_work_free(ws);
        lm_adam_free(&ad), lm_adam_free(&as);
        lm_model_free(md), lm_model_free(ms);
        free_batch(&bt);
    }
    }
}

/* Two Adam steps against the formula computed by hand in double (torch.optim.Adam). */
static void adam_by_hand(void) {
    LmMaskSpec full = {.kind = LM_MASK_FULL};
    LmModel *m = make_model(4, full, LM_PATH_DENSE, LM_INIT_GAUSSIAN, 7, NULL);
    size_t n = lm_model_n_params(m);
    float *p = lm_model_params(m), *g = lm_model_grads(m);
    double *p0 = malloc(sizeof(double) * n), *mm = calloc(n, sizeof(double)), *vv = calloc(n, sizeof(double));
    for (size_t k = 0; k < n; k++) p0[k] = p[k];
    LmAdam a;
    lm_adam_init(&a, m, 0.01);
    CHECK(a.beta1 == 0.9 && a.beta2 == 0.999 && a.eps == 1e-8);
    for (int step = 1; step <= 2; step++) {
        for (size_t k = 0; k < n; k++) g[k] = (float)(0.1 * sin(k + 3.0 * step));
        g[3] = 0;   /* zero gradient: no move (eps after the square root) */
        lm_adam_step(&a, m);
        double bc1 = 1 - pow(0.9, step), bc2 = 1 - pow(0.999, step);
        for (size_t k = 0; k < n; k++) {
            double gk = g[k];
            mm[k] = 0.9 * mm[k] + 0.1 * gk;
            vv[k] = 0.999 * vv[k] + 0.001 * gk * gk;
            p0[k] -= 0.01 * (mm[k] / bc1) / (sqrt(vv[k] / bc2) + 1e-8);
            CHECK(fabs(p[k] - p0[k]) < 1e-6, "step %d param %zu: %.9g vs %.9g", step, k, p[k], p0[k]);
        }
    }
    CHECK(a.t == 2);
    lm_adam_free(&a);
    free(p0), free(mm), free(vv);
    lm_model_free(m);
}

static void clipping(void) {
    LmMaskSpec full = {.kind = LM_MASK_FULL};
    LmModel *m = make_model(3, full, LM_PATH_DENSE, LM_INIT_GAUSSIAN, 7, NULL);
    size_t n = lm_model_n_params(m);
    float *g = lm_model_grads(m);
    double ss = 0;
    for (size_t k = 0; k < n; k++) g[k] = (float)(k % 5) - 2.0f, ss += (double)g[k] * g[k];
    double norm = lm_clip_grad_norm(m, 1.0);
    CHECK_CLOSE(norm, sqrt(ss), 1e-12);
    double after = 0;
    for (size_t k = 0; k < n; k++) after += (double)g[k] * g[k];
    CHECK(fabs(sqrt(after) - 1.0) < 1e-5, "clipped norm %g", sqrt(after));
    float keep = g[1];
    CHECK_CLOSE(lm_clip_grad_norm(m, 5.0), sqrt(after), 1e-9);   /* below the limit: untouched */
    CHECK(g[1] == keep);
    lm_model_free(m);
}

/* A non-finite loss or gradient: -1, a message naming it, parameters and optimiser state unchanged.
 * Bad labels: an error naming the label. */
static void non_finite_and_bad_labels(void) {
    const int n = 16, T = 5, B = 2;
    Batch bt = make_batch(T, B, 9);
    LmMaskSpec full = {.kind = LM_MASK_FULL};
    LmModel *m = make_model(n, full, LM_PATH_DENSE, LM_INIT_GAUSSIAN, 7, NULL);
    LmAdam a;
    lm_adam_init(&a, m, 1e-3);
    LmWork *w = lm_work_new(m, T, B);
    size_t np = lm_model_n_params(m);
    float *p = lm_model_params(m);
    p[np - 1] = INFINITY;   /* b_out[last]: logits infinite */
    float *copy = malloc(sizeof(float) * np);
    memcpy(copy, p, sizeof(float) * np);
    LmStepStats st;
    CHECK(lm_train_step(m, &a, w, bt.x, bt.y, NULL, NULL, T, B, 1.0, NULL, &st) == -1);
    CHECK(strstr(lm_err_msg(), "non-finite loss") != NULL, "%s", lm_err_msg());
    CHECK(memcmp(copy, p, sizeof(float) * np) == 0 && a.t == 0);
    p[np - 1] = 0;
    bt.x[3] = NAN;   /* a NaN input poisons the loss too */
    CHECK(lm_train_step(m, &a, w, bt.x, bt.y, NULL, NULL, T, B, 1.0, NULL, &st) == -1);
    CHECK(strstr(lm_err_msg(), "non-finite") != NULL);
    bt.x[3] = 0;
    bt.y[7] = NOUT;
    CHECK(lm_train_step(m, &a, w, bt.x, bt.y, NULL, NULL, T, B, 1.0, NULL, &st) == -1);
    CHECK(strstr(lm_err_msg(), "label 5 at step 3 row 1 is outside [0, 5)") != NULL, "%s", lm_err_msg());
    bt.y[7] = 0;
    LmLossConfig dec = {1, 1.0};
    CHECK(lm_train_step(m, &a, w, bt.x, bt.y, NULL, &dec, T, B, 1.0, NULL, &st) == -1);
    CHECK(strstr(lm_err_msg(), "decision") != NULL);
    CHECK(lm_train_step(m, &a, w, bt.x, bt.y, NULL, NULL, T, B, 1.0, NULL, &st) == 0 && isfinite(st.loss));
    free(copy);
    lm_work_free(w);
    lm_adam_free(&a);
    lm_model_free(m);
    free_batch(&bt);
}

/* Loss variants: forward without labels returns 0 and fills logits; the weighted mean matches a
 * direct computation from the logits; decision_only with no flagged step gives loss 0, zero grads. */
static void loss_variants(void) {
    const int n = 16, T = 6, B = 3;
    Batch bt = make_batch(T, B, 10);
    LmMaskSpec full = {.kind = LM_MASK_FULL};
    LmModel *m = make_model(n, full, LM_PATH_DENSE, LM_INIT_GAUSSIAN, 7, NULL);
    LmWork *w = lm_work_new(m, T, B);
    CHECK(lm_forward(m, w, bt.x, NULL, NULL, NULL, T, B, NULL) == 0);
    const float *lg = lm_work_logits(w);
    LmLossConfig cfgs[3] = {{0, 1.0}, {0, 0.25}, {1, 1.0}};
    for (int c = 0; c < 3; c++) {
        double tot = 0, ws = 0;
        for (int r = 0; r < T * B; r++) {
            double wr = cfgs[c].decision_only && !bt.dec[r] ? 0 : bt.y[r] == 0 ? cfgs[c].fix_weight : 1;
            double mx = -INFINITY, se = 0;
            for (int k = 0; k < NOUT; k++) mx = fmax(mx, lg[r * NOUT + k]);
            for (int k = 0; k < NOUT; k++) se += exp(lg[r * NOUT + k] - mx);
            tot += wr * (mx + log(se) - lg[r * NOUT + bt.y[r]]);
            ws += wr;
        }
        double l = lm_forward(m, w, bt.x, bt.y, bt.dec, &cfgs[c], T, B, NULL);
        CHECK_CLOSE(l, tot / ws, 1e-6);
    }
    memset(bt.dec, 0, T * B);
    double l = lm_forward(m, w, bt.x, bt.y, bt.dec, &cfgs[2], T, B, NULL);
    CHECK(l == 0);
    lm_backward(m, w, bt.x, bt.y, bt.dec, &cfgs[2], T, B);
    const float *g = lm_model_grads(m);
    for (size_t k = 0; k < lm_model_n_params(m); k++) CHECK(g[k] == 0);
    /* a shorter window than the work's capacity */
    Batch small = make_batch(3, 2, 11);
    double ls = lm_forward(m, w, small.x, small.y, NULL, NULL, 3, 2, NULL);
    CHECK(isfinite(ls) && ls > 0);
    lm_backward(m, w, small.x, small.y, NULL, NULL, 3, 2);
    free_batch(&small);
    lm_work_free(w);
    lm_model_free(m);
    free_batch(&bt);
}

/* Same seeds and thread count: bit-identical parameters after training, with noise; the noise is
 * independent of the thread count as well. */
static void deterministic(void) {
    const int n = 64, T = 15, B = 4;
    Batch bt = make_batch(T, B, 12);
    LmMaskSpec specs[2] = {{.kind = LM_MASK_FULL}, {.kind = LM_MASK_LOCAL2D, .d = 2}};
    for (int s = 0; s < 2; s++) {
        float *res[3];
        const int threads[3] = {2, 2, 1};
        for (int run = 0; run < 3; run++) {
            lm_set_threads(threads[run]);
            LmMask mask;
            CHECK(lm_mask_build(&specs[s], n, &mask) == 0);
            LmModelConfig c;
            lm_model_config_default(&c, NIN, n, NOUT);
            c.sigma_rec = 0.05;
            c.alpha = 0.5;
            LmModel *m = lm_model_new(&c, &mask);
            LmRng init, noise;
            lm_rng_seed(&init, 1);
            lm_rng_seed(&noise, 2);
            lm_model_init(m, &init);
            LmAdam a;
            lm_adam_init(&a, m, 1e-2);
            LmWork *w = lm_work_new(m, T, B);
            for (int k = 0; k < 10; k++)
                CHECK(lm_train_step(m, &a, w, bt.x, bt.y, NULL, NULL, T, B, 1.0, &noise, NULL) == 0);
            size_t np = lm_model_n_params(m);
            res[run] = malloc(sizeof(float) * np);
            memcpy(res[run], lm_model_params(m), sizeof(float) * np);
            if (run == 2) {
                CHECK(memcmp(res[0], res[1], sizeof(float) * np) == 0, "mask %d: two runs differ", s);
                double worst = 0;
                for (size_t k = 0; k < np; k++) worst = fmax(worst, fabs(res[0][k] - res[2][k]));
                CHECK(worst < 1e-4, "1 vs 2 threads differ by %g", worst);
            }
            lm_work_free(w);
            lm_adam_free(&a);
            lm_model_free(m);
            lm_mask_free(&mask);
        }
        for (int run = 0; run < 3; run++) free(res[run]);
    }
    lm_set_threads(2);
    free_batch(&bt);
}

/* The band gradient kernel (diagonals in pairs, vector blocks, scalar tails) against the definition
 * summed row by row with fmaf: every element must come out bit-identical, for odd and even numbers of
 * diagonals, offsets reaching past either edge, N not a multiple of the vector width and unit ranges
 * as the threads split them. */
static void band_grad_kernel(void) {
    const int N = 83, R = 7;
    const int32_t offs[] = {0, 1, -1, 9, -9, 10, -10, 40, -75, 82, -82};
    LmRng g;
    lm_rng_seed(&g, 5);
    float *D = malloc(sizeof(float) * R * N), *H = malloc(sizeof(float) * R * N);
    for (int k = 0; k < R * N; k++) D[k] = (float)lm_rng_normal(&g), H[k] = (float)lm_rng_normal(&g);
    const int ranges[3][2] = {{0, N}, {0, 48}, {48, N}};
    for (int nd = 1; nd <= 11; nd++)
        for (int q = 0; q < 3; q++) {
            int i0 = ranges[q][0], i1 = ranges[q][1];
            float *G = malloc(sizeof(float) * nd * N), *ref = malloc(sizeof(float) * nd * N);
            for (int k = 0; k < nd * N; k++) G[k] = ref[k] = (float)lm_rng_normal(&g);
            lm_k_band_grad(R, nd, offs, N, D, H, G, i0, i1);
            for (int d = 0; d < nd; d++)
                for (int i = i0; i < i1; i++) {
                    if (i + offs[d] < 0 || i + offs[d] >= N) continue;
                    float c = ref[d * N + i];
                    for (int r = 0; r < R; r++) c = fmaf(D[r * N + i], H[r * N + i + offs[d]], c);
                    ref[d * N + i] = c;
                }
            CHECK(memcmp(G, ref, sizeof(float) * nd * N) == 0, "nd %d, units [%d, %d)", nd, i0, i1);
            free(G);
            free(ref);
        }
    free(D);
    free(H);
}

/* The input kernels (column tiles, row chunks, tails), the gradient X^T D and the product X M, against
 * their definitions: bit-identical for rows beyond one chunk, unit ranges as the threads split them and
 * widths below one tile. */
static void sparse_input_kernels(void) {
    const int rows = 150, cols = 7, N = 83;
    LmRng g;
    lm_rng_seed(&g, 9);
    int32_t ptr[151], idx[150 * 7];
    float val[150 * 7];
    int nnz = 0;
    ptr[0] = 0;
    for (int r = 0; r < rows; r++) {
        for (int k = 0; k < cols; k++)
            if (lm_rng_uniform(&g) < 0.5) idx[nnz] = k, val[nnz++] = (float)lm_rng_normal(&g);
        ptr[r + 1] = nnz;
    }
    float *D = malloc(sizeof(float) * rows * N);
    for (int k = 0; k < rows * N; k++) D[k] = (float)lm_rng_normal(&g);
    const int ranges[4][2] = {{0, N}, {0, 48}, {48, N}, {64, 80}};
    for (int q = 0; q < 4; q++) {
        int n0 = ranges[q][0], n1 = ranges[q][1];
        float G[7 * 83], ref[7 * 83];
        for (int k = 0; k < cols * N; k++) G[k] = ref[k] = (float)lm_rng_normal(&g);
        lm_k_sparse_left_t(rows, cols, ptr, idx, val, D, N, G, N, n0, n1);
        for (int r = 0; r < rows; r++)
            for (int32_t p = ptr[r]; p < ptr[r + 1]; p++)
                for (int n = n0; n < n1; n++) ref[idx[p] * N + n] = fmaf(val[p], D[r * N + n], ref[idx[p] * N + n]);
        CHECK(memcmp(G, ref, sizeof G) == 0, "units [%d, %d)", n0, n1);
        /* the forward product through the same non-zeros, C = X M with M = the G above */
        float *C = malloc(sizeof(float) * rows * N), *Cref = malloc(sizeof(float) * rows * N);
        for (int k = 0; k < rows * N; k++) C[k] = Cref[k] = -1.0f;
        lm_k_sparse_left(rows, cols, ptr, idx, val, G, N, C, N, n0, n1);
        for (int r = 0; r < rows; r++)
            for (int n = n0; n < n1; n++) {
                float c = 0;
                for (int32_t p = ptr[r]; p < ptr[r + 1]; p++) c = fmaf(val[p], G[idx[p] * N + n], c);
                Cref[r * N + n] = c;
            }
        CHECK(memcmp(C, Cref, sizeof(float) * rows * N) == 0, "forward, units [%d, %d)", n0, n1);
        free(C);
        free(Cref);
    }
    free(D);
}

int main(void) {
    RUN(defaults_and_names);
    RUN(auto_path);
    RUN(initialisation);
    RUN(masked_stay_zero_and_loss_falls);
    RUN(sparse_equals_dense);
    RUN(band_grad_kernel);
    RUN(sparse_input_kernels);
    RUN(adam_by_hand);
    RUN(clipping);
    RUN(non_finite_and_bad_labels);
    RUN(loss_variants);
    RUN(deterministic);
    return CHECK_DONE();
}
