/* Dale's law (docs/dale.md): the chain rule to W~ against finite differences of the loss as a function
 * of W~, on every mask kind, both update rules, dense and sparse paths; the optimiser updating W~ (an
 * explicit unconstrained W~ run next to the engine's folded one, bit for bit); signs that never flip;
 * the balanced initialisation; the excitatory-only readout; the E/I file and option checks; a run's
 * checkpoint (signed W_rec, ei) and its bit-identical resume. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "io/npz.h"
#include "model/model.h"
#include "train/dale.h"
#include "train/train.h"
#include "util/err.h"

enum { NIN = 5, NH = 16, NOUT = 4, T = 6, B = 3 };

static float X[T * B * NIN];
static int32_t Y[T * B];

static void make_data(void) {
    LmRng r = lm_rng_derive(7, 1);
    for (int k = 0; k < T * B * NIN; k++) X[k] = (float)lm_rng_range(&r, -1, 1);
    for (int k = 0; k < T * B; k++) Y[k] = (int32_t)lm_rng_below(&r, NOUT);
}

static LmMask make_mask(LmMaskKind kind) {
    LmMaskSpec s = {0};
    s.kind = kind;
    if (kind == LM_MASK_LOCAL2D) s.d = 2;
    if (kind == LM_MASK_RANDOM) s.density = 0.3;
    s.seed = 3;
    LmMask m;
    LM_ASSERT(lm_mask_build(&s, NH, &m) == 0);
    return m;
}

static int8_t EI[NH];

static LmModel *dale_model(LmMaskKind kind, int yang, LmRecPath path, int readout_exc) {
    LmModelConfig c;
    lm_model_config_default(&c, NIN, NH, NOUT);
    c.rule = yang ? LM_RULE_YANG : LM_RULE_NGYM;
    c.act = LM_ACT_TANH;   /* smooth: central differences are accurate */
    c.alpha = 0.5;
    c.rec_gain = 1.0;
    c.path = path;
    LmMask mk = make_mask(kind);
    LmModel *m = lm_model_new(&c, &mk);
    lm_mask_free(&mk);
    LmRng r = lm_rng_derive(5, 2);
    lm_dale_assign(NH, 0.75, &r, EI);
    LM_ASSERT(lm_model_set_dale(m, EI, readout_exc) == 0);
    LmRng init = lm_rng_derive(9, 1);
    lm_model_init(m, &init);
    return m;
}

static double loss_of(LmModel *m, LmWork *w) { return lm_forward(m, w, X, Y, NULL, NULL, T, B, NULL); }

/* Loss with W_rec = D |wt| (wt dense, masked). */
static double loss_at(LmModel *m, LmWork *w, const float *wt) {
    float we[NH * NH];
    for (int k = 0; k < NH * NH; k++) we[k] = wt[k] == 0 ? 0.0f : (float)EI[k % NH] * fabsf(wt[k]);
    LM_ASSERT(lm_model_import_tensor(m, 2, we) == 0);
    return loss_of(m, w);
}

static void test_chain_rule_matches_finite_differences(void) {
    const LmMaskKind kinds[] = {LM_MASK_FULL, LM_MASK_LOCAL2D, LM_MASK_RANDOM, LM_MASK_DIAG};
    for (int ki = 0; ki < 4; ki++)
        for (int yang = 0; yang < 2; yang++)
            for (int path = 0; path < 2; path++) {
                LmModel *m = dale_model(kinds[ki], yang, path ? LM_PATH_SPARSE : LM_PATH_DENSE, 0);
                LmWork *w = lm_work_new(m, T, B);
                loss_of(m, w);
                lm_backward(m, w, X, Y, NULL, NULL, T, B);
                lm_dale_chain_grad(m);
                float g[NH * NH], we[NH * NH], wt[NH * NH];
                lm_model_export_grad(m, 2, g);
                lm_model_export_tensor(m, 2, we);
                for (int k = 0; k < NH * NH; k++) {
                    CHECK(we[k] * EI[k % NH] >= 0, "initial sign of W_rec[%d][%d]", k / NH, k % NH);
                    wt[k] = fabsf(we[k]);   /* W~ >= 0 */
                }
                uint8_t mk[NH * NH];
                lm_mask_to_dense(lm_model_mask(m), mk);
                double worst = 0;
                for (int k = 0; k < NH * NH; k++) {
                    if (!mk[k]) {
                        CHECK(g[k] == 0, "gradient outside the mask");
                        continue;
                    }
                    const float h = fminf(1e-2f, 0.5f * wt[k]);   /* never across |.|'s kink */
                    float save = wt[k];
                    wt[k] = save + h;
                    double lp = loss_at(m, w, wt);
                    wt[k] = save - h;
                    double lmn = loss_at(m, w, wt);
                    wt[k] = save;
                    double fd = (lp - lmn) / (2 * h);
                    double err = fabs(fd - g[k]) / fmax(1e-2, fabs(fd));
                    if (err > worst) worst = err;
                }
                CHECK(worst < 2e-2, "mask %d yang %d path %d: worst relative error %g", ki, yang, path, worst);
                lm_work_free(w);
                lm_model_free(m);
            }
}

/* A plain dense model holding an explicit, unconstrained W~ (it may go negative), stepped by Adam with
 * the chain-ruled gradient, must give exactly the engine's D|W~| after every step (to rounding on the
 * sparse path, whose products sum in another order). */
static void test_optimiser_updates_w_tilde(void) {
    for (int path = 0; path < 2; path++) {
        LmModel *d = dale_model(LM_MASK_LOCAL2D, 0, path ? LM_PATH_SPARSE : LM_PATH_DENSE, 0);
        LmModelConfig c = *lm_model_config(d);
        c.path = LM_PATH_DENSE;
        LmModel *r = lm_model_new(&c, lm_model_mask(d));
        float buf[NH * NH > NOUT * NH ? NH * NH : NOUT * NH];
        for (int i = 0; i < LM_N_TENSORS; i++) {
            lm_model_export_tensor(d, i, buf);
            LM_ASSERT(lm_model_import_tensor(r, i, buf) == 0);
        }
        float wt[NH * NH];   /* W~ of the reference, signed freely */
        lm_model_export_tensor(d, 2, wt);
        for (int k = 0; k < NH * NH; k++) wt[k] = fabsf(wt[k]);
        LmAdam ad, ar;
        lm_adam_init(&ad, d, 0.05);   /* a large rate: many W~ cross zero */
        lm_adam_init(&ar, r, 0.05);
        LmWork *wd = lm_work_new(d, T, B), *wr = lm_work_new(r, T, B);
        size_t off = (size_t)NH * NIN + NH;   /* W_rec in the dense parameter block */
        int crossed = 0, same = 1;
        for (int s = 0; s < 40; s++) {
            LM_ASSERT(lm_train_step(d, &ad, wd, X, Y, NULL, NULL, T, B, 0, NULL, NULL) == 0);
            float we[NH * NH];
            for (int k = 0; k < NH * NH; k++) we[k] = wt[k] == 0 ? 0.0f : (float)EI[k % NH] * fabsf(wt[k]);
            LM_ASSERT(lm_model_import_tensor(r, 2, we) == 0);
            loss_of(r, wr);
            lm_backward(r, wr, X, Y, NULL, NULL, T, B);
            float *g = lm_model_grads(r) + off;
            for (int k = 0; k < NH * NH; k++) g[k] *= wt[k] > 0 ? EI[k % NH] : wt[k] < 0 ? -EI[k % NH] : 0;
            memcpy(lm_model_params(r) + off, wt, sizeof wt);
            lm_adam_step(&ar, r);
            memcpy(wt, lm_model_params(r) + off, sizeof wt);
            float got[NH * NH];
            lm_model_export_tensor(d, 2, got);
            for (int k = 0; k < NH * NH; k++) {
                float want = wt[k] == 0 ? 0.0f : (float)EI[k % NH] * fabsf(wt[k]);
                /* dense: bit for bit; the sparse path sums in another order than the dense reference */
                if (path ? fabsf(got[k] - want) > 1e-5f * (1 + fabsf(want)) : got[k] != want) same = 0;
                if (wt[k] < 0) crossed++;
                CHECK(got[k] * EI[k % NH] >= 0, "step %d: W_rec[%d][%d] = %g flipped sign", s, k / NH, k % NH,
                      (double)got[k]);
            }
            for (int i = 0; i < LM_N_TENSORS; i++) {
                if (i == 2) continue;
                float a[NH * NH > NOUT * NH ? NH * NH : NOUT * NH], b2[sizeof a / sizeof a[0]];
                lm_model_export_tensor(d, i, a);
                lm_model_export_tensor(r, i, b2);
                LmTensorInfo ti = lm_model_tensor_info(d, i);
                size_t n = (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1);
                for (size_t q = 0; q < n; q++)
                    if (path ? fabsf(a[q] - b2[q]) > 1e-5f * (1 + fabsf(b2[q])) : a[q] != b2[q]) same = 0;
            }
        }
        CHECK(same, "path %d: the folded W~ and the explicit W~ trajectories differ", path);
        CHECK(crossed > 0, "path %d: no W~ crossed zero; the test would not exercise the fold", path);
        lm_work_free(wd), lm_work_free(wr);
        lm_adam_free(&ad), lm_adam_free(&ar);
        lm_model_free(d), lm_model_free(r);
    }
}

static void test_balanced_init_and_exc_readout(void) {
    enum { N = 400 };
    LmModelConfig c;
    lm_model_config_default(&c, NIN, N, NOUT);
    LmMaskSpec s = {0};
    s.kind = LM_MASK_FULL;
    LmMask mk;
    LM_ASSERT(lm_mask_build(&s, N, &mk) == 0);
    LmModel *m = lm_model_new(&c, &mk);
    int8_t ei[N];
    LmRng r = lm_rng_derive(1, 1);
    lm_dale_assign(N, 0.8, &r, ei);
    int ne = 0;
    for (int j = 0; j < N; j++) ne += ei[j] > 0;
    CHECK(ne == 320, "%d excitatory of 400 at 0.8", ne);
    LM_ASSERT(lm_model_set_dale(m, ei, 1) == 0);
    LmRng init = lm_rng_derive(2, 1);
    lm_model_init(m, &init);
    float *w = malloc(sizeof(float) * N * N), *wo = malloc(sizeof(float) * NOUT * N);
    lm_model_export_tensor(m, 2, w);
    lm_model_export_tensor(m, 4, wo);
    double se = 0, si = 0, worst_row = 0;
    for (int i = 0; i < N; i++) {
        double re = 0, ri = 0;
        for (int j = 0; j < N; j++) {
            float v = w[i * N + j];
            CHECK(v * ei[j] > 0, "W_rec[%d][%d] = %g: sign or zero", i, j, (double)v);
            if (ei[j] > 0) re += v; else ri += v;
        }
        se += re, si += ri;
        worst_row = fmax(worst_row, fabs(re + ri) / re);
    }
    /* expected E and I input equal: the totals agree to sampling error (400^2 draws) */
    CHECK(fabs(se + si) / se < 0.02, "E total %g, I total %g", se, si);
    CHECK(worst_row < 0.5, "a row's E and I input differ by %g of E", worst_row);
    for (int k = 0; k < NOUT; k++)
        for (int j = 0; j < N; j++)
            if (ei[j] < 0) CHECK(wo[k * N + j] == 0, "readout of inhibitory unit %d", j);
    /* importing a wrong sign or an inhibitory readout is refused */
    w[5] = -w[5] * ei[5] * ei[5];
    if (ei[5] < 0) w[5] = fabsf(w[5]);
    CHECK(lm_model_import_tensor(m, 2, w) != 0 && strstr(lm_err_msg(), "Dale"), "%s", lm_err_msg());
    int inh = 0;
    while (ei[inh] > 0) inh++;
    wo[inh] = 0.5f;
    CHECK(lm_model_import_tensor(m, 4, wo) != 0 && strstr(lm_err_msg(), "inhibitory"), "%s", lm_err_msg());
    int8_t bad[N];
    memcpy(bad, ei, N);
    bad[7] = 0;
    CHECK(lm_model_set_dale(m, bad, 0) != 0 && strstr(lm_err_msg(), "entry 7"), "%s", lm_err_msg());
    free(w), free(wo);
    lm_model_free(m);
    lm_mask_free(&mk);
}

static char tmp[200];

static void write_ei(const char *name, LmDtype dt, int64_t n, const void *data) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    LM_ASSERT(lm_npy_write(p, dt, 1, &n, data) == 0);
}

static void test_ei_file_and_options(void) {
    LmTrainConfig c;
    lm_train_config_default(&c);
    snprintf(c.out, sizeof c.out, "%s/x", tmp);
    c.hidden = 16;
    int32_t good[16], wrong_value[16], short_vec[15];
    for (int j = 0; j < 16; j++) good[j] = wrong_value[j] = j % 4 ? 1 : -1;
    for (int j = 0; j < 15; j++) short_vec[j] = 1;
    wrong_value[3] = 2;
    write_ei("good.npy", LM_DT_I32, 16, good);
    write_ei("value.npy", LM_DT_I32, 16, wrong_value);
    write_ei("short.npy", LM_DT_I32, 15, short_vec);
    int8_t ei[16];
    char p[512];
    snprintf(p, sizeof p, "%s/good.npy", tmp);
    CHECK(lm_train_read_ei(p, 16, ei) == 0 && ei[0] == -1 && ei[1] == 1, "%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/value.npy", tmp);
    CHECK(lm_train_read_ei(p, 16, ei) != 0 && strstr(lm_err_msg(), "entry 3"), "%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/short.npy", tmp);
    CHECK(lm_train_read_ei(p, 16, ei) != 0 && strstr(lm_err_msg(), "expected 16"), "%s", lm_err_msg());
    /* through the options: validation names the problem */
    c.grid_nx = 4, c.grid_ny = 4;
    CHECK(lm_train_config_set(&c, "ei-file", p) == 0);
    CHECK(lm_train_config_validate(&c) != 0 && strstr(lm_err_msg(), "--dale"), "%s", lm_err_msg());
    CHECK(lm_train_config_set(&c, "dale", "true") == 0);
    CHECK(lm_train_config_validate(&c) != 0 && strstr(lm_err_msg(), "expected 16"), "%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/good.npy", tmp);
    CHECK(lm_train_config_set(&c, "ei-file", p) == 0);
    CHECK(lm_train_config_validate(&c) == 0, "%s", lm_err_msg());
    CHECK(lm_train_config_set(&c, "dale-readout", "inh") != 0 && strstr(lm_err_msg(), "exc"), "%s", lm_err_msg());
    CHECK(lm_train_config_set(&c, "frac-exc", "1.5") != 0);
    CHECK(lm_train_config_set(&c, "init", "gaussian") == 0);
    CHECK(lm_train_config_validate(&c) != 0 && strstr(lm_err_msg(), "--init"), "%s", lm_err_msg());
}

/* A Dale run: the checkpoint holds the signed W_rec and ei; resuming is bit-identical; signs held. */
static void test_run_checkpoint_and_resume(void) {
    LmTrainConfig c;
    lm_train_config_default(&c);
    LM_ASSERT(lm_train_config_set(&c, "battery", "go,dm1") == 0);
    c.hidden = 16, c.d = 2, c.batch = 2, c.window = 30, c.steps = 40, c.eval_every = 20, c.eval_trials = 4;
    c.checkpoint_every = 10, c.no_plot = 1, c.quiet = 1, c.seed = 3, c.dale = 1, c.dale_readout_exc = 1;
    c.lr = 0.02;
    LmTrainConfig u = c, k = c;
    snprintf(u.out, sizeof u.out, "%s/u", tmp);
    snprintf(k.out, sizeof k.out, "%s/k", tmp);
    k.steps = 17;
    LmRunOptions o;
    memset(&o, 0, sizeof o);
    CHECK(lm_train_run(&u, &o, NULL) == 0, "%s", lm_err_msg());
    CHECK(lm_train_run(&k, &o, NULL) == 0, "%s", lm_err_msg());
    k.steps = 40;
    o.resume = 1;
    CHECK(lm_train_run(&k, &o, NULL) == 0, "%s", lm_err_msg());
    char pu[1100], pk[1100];
    snprintf(pu, sizeof pu, "%s/checkpoint.npz", u.out);
    snprintf(pk, sizeof pk, "%s/checkpoint.npz", k.out);
    LmNpz *a = lm_npz_read(pu), *b = lm_npz_read(pk);
    CHECK(a && b);
    if (!a || !b) return;
    const char *names[] = {"params", "adam_m", "adam_v", "W_rec", "W_out", "ei"};
    for (int i = 0; i < 6; i++) {
        const LmArray *x = lm_npz_find(a, names[i]), *y = lm_npz_find(b, names[i]);
        CHECK(x && y && x->count == y->count && !memcmp(x->data, y->data, x->count * lm_dtype_size(x->dtype)),
              "%s differs after resume", names[i]);
    }
    const LmArray *w = lm_npz_find(a, "W_rec"), *ei = lm_npz_find(a, "ei"), *wo = lm_npz_find(a, "W_out");
    CHECK(ei && ei->dtype == LM_DT_I32 && ei->count == 16);
    if (w && ei && wo) {
        const float *wv = w->data, *ov = wo->data;
        const int32_t *e = ei->data;
        int wrong = 0, nonzero = 0;
        for (int k2 = 0; k2 < 256; k2++) wrong += wv[k2] * e[k2 % 16] < 0, nonzero += wv[k2] != 0;
        for (size_t k2 = 0; k2 < wo->count; k2++) wrong += e[k2 % 16] < 0 && ov[k2] != 0;
        CHECK(wrong == 0 && nonzero > 16, "%d entries break Dale's law (%d non-zero)", wrong, nonzero);
    }
    lm_npz_free(a), lm_npz_free(b);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/lmrnn_dale_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    make_data();
    RUN(test_chain_rule_matches_finite_differences);
    RUN(test_optimiser_updates_w_tilde);
    RUN(test_balanced_init_and_exc_readout);
    RUN(test_ei_file_and_options);
    RUN(test_run_checkpoint_and_resume);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return CHECK_DONE();
}
