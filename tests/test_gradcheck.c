/* Gradient checks (issue 3 item 6). An independent straightforward BPTT in double precision, written
 * here from docs/model.md §1 and §4, is checked against central finite differences (in double); then the
 * float engine (dense and sparse paths) is checked against that reference, for every parameter, both
 * update rules, all three activations, with and without recurrent noise (the engine's own draw, read
 * back with lm_work_noise), for full, local2d, random and diag masks, and for the three loss variants. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model/model.h"
#include "util/err.h"

enum { NIN = 5, NH = 16, NOUT = 4, T = 6, B = 3 };
/* Dense parameter layout of the reference: W_in | b_in | W_rec | b_rec | W_out | b_out */
enum { O_WIN = 0, O_BIN = O_WIN + NH * NIN, O_WREC = O_BIN + NH, O_BREC = O_WREC + NH * NH,
       O_WOUT = O_BREC + NH, O_BOUT = O_WOUT + NOUT * NH, NP = O_BOUT + NOUT };
static const int tensor_off[LM_N_TENSORS + 1] = {O_WIN, O_BIN, O_WREC, O_BREC, O_WOUT, O_BOUT, NP};

typedef struct {
    int yang, act;
    double alpha;
    const uint8_t *mask;
    const float *x, *noise;     /* noise [T][B][NH] or NULL */
    const int32_t *y;
    const uint8_t *dec;
    LmLossConfig loss;
} Ref;

static double f_act(int act, double u) {
    if (act == LM_ACT_RELU) return u > 0 ? u : 0;
    if (act == LM_ACT_SOFTPLUS) return u > 0 ? u + log1p(exp(-u)) : log1p(exp(u));
    return tanh(u);
}
static double df_act(int act, double u) {
    if (act == LM_ACT_RELU) return u > 0;
    if (act == LM_ACT_SOFTPLUS) return 1 / (1 + exp(-u));
    return 1 - tanh(u) * tanh(u);
}

/* Loss and (if grad) its gradient in double. */
static double ref_loss(const Ref *r, const double *p, double *grad) {
    static double s[T][B][NH], pre[T][B][NH], h[T][B][NH], dl[T][B][NOUT], wt[T][B];
    double a = r->alpha, total = 0, wsum = 0;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < NH; i++) {
                double v = p[O_BIN + i] + p[O_BREC + i];
                for (int k = 0; k < NIN; k++) v += p[O_WIN + i * NIN + k] * r->x[(t * B + b) * NIN + k];
                if (t > 0)
                    for (int j = 0; j < NH; j++)
                        v += r->mask[i * NH + j] * p[O_WREC + i * NH + j] * h[t - 1][b][j];
                if (r->noise) v += r->noise[(t * B + b) * NH + i];
                double hp = t > 0 ? h[t - 1][b][i] : 0;
                s[t][b][i] = v;
                if (r->yang) {
                    pre[t][b][i] = v;
                    h[t][b][i] = (1 - a) * hp + a * f_act(r->act, v);
                } else {
                    pre[t][b][i] = (1 - a) * hp + a * v;
                    h[t][b][i] = f_act(r->act, pre[t][b][i]);
                }
            }
            double lg[NOUT], mx = -INFINITY, se = 0;
            for (int k = 0; k < NOUT; k++) {
                lg[k] = p[O_BOUT + k];
                for (int i = 0; i < NH; i++) lg[k] += p[O_WOUT + k * NH + i] * h[t][b][i];
                mx = fmax(mx, lg[k]);
            }
            for (int k = 0; k < NOUT; k++) se += exp(lg[k] - mx);
            int y = r->y[t * B + b];
            double w = y == 0 ? r->loss.fix_weight : 1;
            if (r->loss.decision_only && !r->dec[t * B + b]) w = 0;
            wt[t][b] = w;
            total += w * (mx + log(se) - lg[y]);
            wsum += w;
            for (int k = 0; k < NOUT; k++) dl[t][b][k] = exp(lg[k] - mx) / se - (k == y);
        }
    if (wsum == 0) wsum = 1, total = 0;
    if (!grad) return total / wsum;
    memset(grad, 0, NP * sizeof(double));
    double g[B][NH] = {{0}}, gnext[B][NH];
    for (int t = T - 1; t >= 0; t--) {
        memset(gnext, 0, sizeof gnext);
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < NOUT; k++) {
                double d = dl[t][b][k] * wt[t][b] / wsum;
                grad[O_BOUT + k] += d;
                for (int i = 0; i < NH; i++) {
                    grad[O_WOUT + k * NH + i] += d * h[t][b][i];
                    g[b][i] += d * p[O_WOUT + k * NH + i];
                }
            }
            for (int i = 0; i < NH; i++) {
                double ds;
                if (r->yang) {
                    ds = a * g[b][i] * df_act(r->act, s[t][b][i]);
                    gnext[b][i] += (1 - a) * g[b][i];
                } else {
                    double du = g[b][i] * df_act(r->act, pre[t][b][i]);
                    ds = a * du;
                    gnext[b][i] += (1 - a) * du;
                }
                grad[O_BIN + i] += ds;
                grad[O_BREC + i] += ds;
                for (int k = 0; k < NIN; k++) grad[O_WIN + i * NIN + k] += ds * r->x[(t * B + b) * NIN + k];
                if (t > 0)
                    for (int j = 0; j < NH; j++) {
                        if (!r->mask[i * NH + j]) continue;
                        grad[O_WREC + i * NH + j] += ds * h[t - 1][b][j];
                        gnext[b][j] += p[O_WREC + i * NH + j] * ds;
                    }
            }
        }
        memcpy(g, gnext, sizeof g);
    }
    return total / wsum;
}

static LmMask make_mask(int kind) {
    LmMaskSpec spec = {0};
    spec.kind = (LmMaskKind)kind;
    if (kind == LM_MASK_LOCAL2D) spec.d = 1.5;
    if (kind == LM_MASK_RANDOM) spec.density = 0.3, spec.seed = 11;
    LmMask m;
    CHECK(lm_mask_build(&spec, NH, &m) == 0, "%s", lm_err_msg());
    return m;
}

static int n_cases, worst_case, seen_dense, seen_band, seen_csr;
static double worst_fd, worst_float;

static void check_case(int rule, int act, int noise_mode, int mask_kind, int loss_mode) {
    LmRng rng;
    lm_rng_seed(&rng, 1000 + 97 * rule + 31 * act + 7 * noise_mode + mask_kind * 3 + loss_mode);
    float x[T * B * NIN];
    int32_t y[T * B];
    uint8_t dec[T * B];
    /* half the cases with mostly-zero inputs (like Mod-Cog's), which take the sparse input products */
    int sparse_x = (rule + act + noise_mode + mask_kind) % 2;
    for (int k = 0; k < T * B * NIN; k++) {
        x[k] = (float)lm_rng_normal(&rng);
        if (sparse_x && lm_rng_uniform(&rng) < 0.8) x[k] = 0;
    }
    for (int k = 0; k < T * B; k++) y[k] = (int32_t)lm_rng_below(&rng, NOUT), dec[k] = lm_rng_below(&rng, 2);
    dec[0] = 1;
    LmLossConfig loss = {loss_mode == 2, loss_mode == 1 ? 0.3 : 1.0};
    LmMask mask = make_mask(mask_kind);
    uint8_t dense_mask[NH * NH];   /* the reference works on the dense 0/1 matrix */
    lm_mask_to_dense(&mask, dense_mask);
    LmModelConfig cfg;
    lm_model_config_default(&cfg, NIN, NH, NOUT);
    cfg.rule = (LmUpdateRule)rule;
    cfg.act = (LmActivation)act;
    cfg.alpha = noise_mode == 2 ? 0.4 : 1.0;
    cfg.sigma_rec = noise_mode ? 0.1 : 0.0;
    cfg.rec_init = LM_INIT_GAUSSIAN;
    cfg.rec_gain = 1.5;
    for (int path = 0; path < 2; path++) {
        cfg.path = path ? LM_PATH_SPARSE : LM_PATH_DENSE;
        LmModel *m = lm_model_new(&cfg, &mask);
        CHECK(m && lm_model_is_sparse(m) == path);
        const char *layout = lm_model_rec_layout(m);
        seen_dense += !strcmp(layout, "dense"), seen_band += !strcmp(layout, "band"), seen_csr += !strcmp(layout, "csr");
        LmRng init;
        lm_rng_seed(&init, 5);   /* the same weights on both paths */
        lm_model_init(m, &init);
        LmWork *w = lm_work_new(m, T, B);
        LmRng noise;
        lm_rng_seed(&noise, 77);
        double lf = lm_forward(m, w, x, y, dec, &loss, T, B, &noise);
        lm_backward(m, w, x, y, dec, &loss, T, B);
        static double p[NP], gref[NP], gfd[NP];
        static double gf[NP];
        for (int i = 0; i < LM_N_TENSORS; i++) {
            float buf[NH * NH];
            lm_model_export_tensor(m, i, buf);
            for (int k = tensor_off[i]; k < tensor_off[i + 1]; k++) p[k] = buf[k - tensor_off[i]];
            lm_model_export_grad(m, i, buf);
            for (int k = tensor_off[i]; k < tensor_off[i + 1]; k++) gf[k] = buf[k - tensor_off[i]];
        }
        const float *nz = lm_work_noise(w);
        CHECK((nz != NULL) == (noise_mode != 0));
        Ref r = {rule == LM_RULE_YANG, act, cfg.alpha, dense_mask, x, nz, y, dec, loss};
        double lr = ref_loss(&r, p, gref);
        CHECK(fabs(lf - lr) <= 1e-5 * fmax(1, fabs(lr)), "loss float %.9g ref %.9g", lf, lr);
        double gmax = 0;
        for (int k = 0; k < NP; k++) gmax = fmax(gmax, fabs(gref[k]));
        if (path == 0) {   /* the reference against finite differences (once per case) */
            const double eps = 1e-6;
            for (int k = 0; k < NP; k++) {
                double keep = p[k];
                p[k] = keep + eps;
                double lp = ref_loss(&r, p, NULL);
                p[k] = keep - eps;
                double lm = ref_loss(&r, p, NULL);
                p[k] = keep;
                gfd[k] = (lp - lm) / (2 * eps);
                double err = fabs(gfd[k] - gref[k]) / (gmax + 1e-12);
                if (err > worst_fd) worst_fd = err;
                CHECK(fabs(gfd[k] - gref[k]) <= 1e-6 * gmax + 1e-8, "param %d: fd %.10g bptt %.10g", k, gfd[k],
                      gref[k]);
            }
        }
        for (int k = 0; k < NP; k++) {
            double err = fabs(gf[k] - gref[k]) / (gmax + 1e-12);
            if (err > worst_float) worst_float = err, worst_case = n_cases;
            CHECK(fabs(gf[k] - gref[k]) <= 1e-5 * gmax, "path %d param %d: float %.9g ref %.9g", path, k, gf[k],
                  gref[k]);
        }
        /* masked-out recurrent gradients are exactly 0 */
        for (int k = 0; k < NH * NH; k++)
            if (!dense_mask[k]) CHECK(gf[O_WREC + k] == 0.0);
        lm_work_free(w);
        lm_model_free(m);
    }
    n_cases++;
    lm_mask_free(&mask);
}

static void gradcheck_all(void) {
    const int masks[4] = {LM_MASK_FULL, LM_MASK_LOCAL2D, LM_MASK_RANDOM, LM_MASK_DIAG};
    int k = 0;
    for (int rule = 0; rule < 2; rule++)
        for (int act = 0; act < 3; act++)
            for (int noise = 0; noise < 3; noise++)
                for (int mk = 0; mk < 4; mk++, k++) check_case(rule, act, noise, masks[mk], k % 3);
    /* sparse path: full (31 diagonals of 16: band), local2d, diag -> band; random -> csr */
    CHECK(seen_dense == 72 && seen_band == 54 && seen_csr == 18, "layouts %d %d %d", seen_dense, seen_band, seen_csr);
    printf("  %d cases; worst |fd - bptt| / max|g| = %.2e; worst |float - double| / max|g| = %.2e (case %d)\n",
           n_cases, worst_fd, worst_float, worst_case);
}

int main(void) {
    RUN(gradcheck_all);
    return CHECK_DONE();
}
