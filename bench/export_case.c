/* Export one training case for the PyTorch cross-check (bench/torch_reference.py check DIR):
 * initial weights, mask, a Mod-Cog batch from the real stream, the C loss and gradients at the initial
 * weights, and the parameters and losses over 10 Adam steps (clip 1.0).
 *
 *   build/bench/export_case --out DIR [--N 256] [--B 4] [--T 100] [--mask local2d] [--d 3]
 *       [--density P] [--rule ngym|yang] [--act relu|softplus|tanh] [--alpha 1] [--path auto|dense|sparse]
 *       [--fix-weight 1] [--decision-only] [--lr 1e-3] [--steps 10] [--seed 1] [--dale FRAC_EXC]
 *       [--dale-readout-exc] [--from-run RUN_DIR]
 *
 * --dale: Dale's law with a seeded E/I assignment (also ei.npy, int32 +1/-1); the gradients are then those
 * of W~ (W_rec = |W~| D ∘ M), the init/final W_rec the effective signed matrices.
 * --from-run: the network of a run directory (its checkpoint: weights, mask, E/I assignment, rule,
 * activation, alpha) instead of a new one, on a batch of the run's battery; the mask and model options
 * above are then ignored, the loss options and the Adam steps (from a fresh Adam) still apply. *
 * DIR gets .npy files: x [T][B][n_in] f32, labels [T][B] i32, decision [T][B] u8, mask [N][N] u8,
 * init_<name>, grad_<name> (unclipped, at the initial weights), final_<name> (after the steps) for the six
 * tensors, losses [steps] f64 (loss before each step), and case.txt with the settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/npz.h"
#include "model/model.h"
#include "report/run.h"
#include "stream/stream.h"
#include "tasks/battery.h"
#include "util/err.h"

static void save_tensors(const LmModel *m, const char *dir, const char *prefix, int grads) {
    for (int i = 0; i < LM_N_TENSORS; i++) {
        LmTensorInfo ti = lm_model_tensor_info(m, i);
        size_t n = (size_t)ti.shape[0] * (ti.ndim == 2 ? ti.shape[1] : 1);
        float *buf = lm_malloc(n * sizeof(float));
        if (grads) lm_model_export_grad(m, i, buf); else lm_model_export_tensor(m, i, buf);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s_%s.npy", dir, prefix, ti.name);
        if (lm_npy_write(path, LM_DT_F32, ti.ndim, ti.shape, buf)) lm_die("%s", lm_err_msg());
        free(buf);
    }
}

/* A new network as the options describe it, initialised from the seed (Dale: a seeded E/I assignment,
 * returned in *ei32 as int32 for ei.npy). */
static LmModel *build_model(const char *mask_kind, double d, double density, unsigned long long seed, int N,
                            int n_in, int n_out, const char *rule, const char *act, double alpha, const char *path,
                            double frac_exc, int readout_exc, LmMask *mask, int32_t **ei32) {
    LmMaskSpec ms = {0};
    if (lm_mask_kind_parse(mask_kind, &ms.kind)) lm_die("%s", lm_err_msg());
    if (ms.kind == LM_MASK_LOCAL2D || ms.kind == LM_MASK_LOCAL1D) ms.d = d, ms.density = density;
    if (ms.kind == LM_MASK_RANDOM) ms.density = density > 0 ? density : 0.1, ms.seed = seed;
    if (lm_mask_build(&ms, N, mask)) lm_die("%s", lm_err_msg());
    LmModelConfig c;
    lm_model_config_default(&c, n_in, N, n_out);
    if (lm_rule_parse(rule, &c.rule) || lm_act_parse(act, &c.act)) lm_die("%s", lm_err_msg());
    c.alpha = alpha;
    c.path = !strcmp(path, "dense") ? LM_PATH_DENSE : !strcmp(path, "sparse") ? LM_PATH_SPARSE : LM_PATH_AUTO;
    LmModel *m = lm_model_new(&c, mask);
    if (!m) lm_die("%s", lm_err_msg());
    LmRng rng;
    lm_rng_seed(&rng, seed);
    if (frac_exc > 0) {
        int8_t *ei = lm_malloc((size_t)N);
        LmRng er = lm_rng_derive(seed, 99);
        lm_dale_assign(N, frac_exc, &er, ei);
        if (lm_model_set_dale(m, ei, readout_exc)) lm_die("%s", lm_err_msg());
        *ei32 = lm_malloc((size_t)N * sizeof(int32_t));
        for (int j = 0; j < N; j++) (*ei32)[j] = ei[j];
        free(ei);
    }
    lm_model_init(m, &rng);
    return m;
}

int main(int argc, char **argv) {
    const char *out = NULL, *from = NULL, *mask_kind = "local2d", *rule = "ngym", *act = "relu", *path = "auto";
    int N = 256, B = 4, T = 100, steps = 10, decision_only = 0, readout_exc = 0;
    double frac_exc = 0, d = 3, density = 0, alpha = 1, fix_weight = 1, lr = 1e-3;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--decision-only")) { decision_only = 1; continue; }
        if (!strcmp(a, "--dale-readout-exc")) { readout_exc = 1; continue; }
        if (!v) lm_die("export_case: %s needs a value", a);
        i++;
        if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--N")) N = atoi(v);
        else if (!strcmp(a, "--B")) B = atoi(v);
        else if (!strcmp(a, "--T")) T = atoi(v);
        else if (!strcmp(a, "--mask")) mask_kind = v;
        else if (!strcmp(a, "--d")) d = atof(v), density = 0;
        else if (!strcmp(a, "--density")) density = atof(v), d = 0;
        else if (!strcmp(a, "--rule")) rule = v;
        else if (!strcmp(a, "--act")) act = v;
        else if (!strcmp(a, "--alpha")) alpha = atof(v);
        else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--fix-weight")) fix_weight = atof(v);
        else if (!strcmp(a, "--lr")) lr = atof(v);
        else if (!strcmp(a, "--steps")) steps = atoi(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--dale")) frac_exc = atof(v);
        else if (!strcmp(a, "--from-run")) from = v;
        else lm_die("export_case: unknown option %s", a);
    }
    if (!out) lm_die("export_case: --out DIR is required");
    if (lm_mkdir_p(out)) lm_die("%s", lm_err_msg());

    LmTrained run;
    memset(&run, 0, sizeof run);
    if (from && lm_trained_load(from, &run)) lm_die("%s", lm_err_msg());
    LmBattery bat;
    if (!from && lm_battery_parse("modcog82", &bat)) lm_die("%s", lm_err_msg());
    const LmBattery *bp = from ? run.battery : &bat;
    int n_in = lm_battery_n_in(bp), n_out = from ? lm_model_config(run.model)->n_out : 17;
    LmStream *s = lm_stream_new(bp, B, T, seed, LM_FIX_ALL);
    if (!s) lm_die("%s", lm_err_msg());
    float *x = lm_malloc(sizeof(float) * T * B * n_in);
    int32_t *y = lm_malloc(sizeof(int32_t) * T * B);
    uint8_t *dec = lm_malloc((size_t)T * B);
    lm_stream_next(s, x, y, dec);
    lm_stream_free(s);

    LmModel *m = from ? run.model : NULL;
    LmMask mask;
    memset(&mask, 0, sizeof mask);
    int32_t *ei32 = NULL;
    if (from) {   /* the run's network as it is: rule, activation, alpha, mask, E/I from its checkpoint */
        const LmModelConfig *mc = lm_model_config(m);
        N = mc->n_hidden, alpha = mc->alpha, rule = lm_rule_name(mc->rule), act = lm_act_name(mc->act);
        readout_exc = lm_model_readout_exc(m), frac_exc = lm_model_ei(m) ? 1 : 0;
        if (lm_model_ei(m)) {
            ei32 = lm_malloc((size_t)N * sizeof(int32_t));
            for (int j = 0; j < N; j++) ei32[j] = lm_model_ei(m)[j];
        }
    } else
        m = build_model(mask_kind, d, density, seed, N, n_in, n_out, rule, act, alpha, path, frac_exc, readout_exc,
                        &mask, &ei32);
    const LmMask *mk = lm_model_mask(m);

    char p[1024];
    int64_t sx[3] = {T, B, n_in}, sy[2] = {T, B}, sm[2] = {N, N}, sl[1] = {steps};
    snprintf(p, sizeof p, "%s/x.npy", out);
    if (lm_npy_write(p, LM_DT_F32, 3, sx, x)) lm_die("%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/labels.npy", out);
    if (lm_npy_write(p, LM_DT_I32, 2, sy, y)) lm_die("%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/decision.npy", out);
    if (lm_npy_write(p, LM_DT_U8, 2, sy, dec)) lm_die("%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/mask.npy", out);
    uint8_t *dm = lm_malloc((size_t)N * N);
    lm_mask_to_dense(mk, dm);
    if (lm_npy_write(p, LM_DT_U8, 2, sm, dm)) lm_die("%s", lm_err_msg());
    free(dm);
    save_tensors(m, out, "init", 0);
    if (ei32) {
        int64_t se[1] = {N};
        snprintf(p, sizeof p, "%s/ei.npy", out);
        if (lm_npy_write(p, LM_DT_I32, 1, se, ei32)) lm_die("%s", lm_err_msg());
        free(ei32);
    }

    LmLossConfig loss = {decision_only, fix_weight};
    LmWork *w = lm_work_new(m, T, B);
    LmAdam adam;
    lm_adam_init(&adam, m, lr);
    double *losses = lm_malloc(sizeof(double) * steps);
    double l0 = lm_forward(m, w, x, y, dec, &loss, T, B, NULL);
    lm_backward(m, w, x, y, dec, &loss, T, B);
    lm_dale_chain_grad(m);   /* Dale: the gradient of W~ (no-op without) */
    save_tensors(m, out, "grad", 1);
    for (int k = 0; k < steps; k++) {
        LmStepStats st;
        if (lm_train_step(m, &adam, w, x, y, dec, &loss, T, B, 1.0, NULL, &st)) lm_die("%s", lm_err_msg());
        losses[k] = st.loss;
    }
    save_tensors(m, out, "final", 0);
    snprintf(p, sizeof p, "%s/losses.npy", out);
    if (lm_npy_write(p, LM_DT_F64, 1, sl, losses)) lm_die("%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/case.txt", out);
    FILE *f = fopen(p, "w");
    if (!f) lm_die("cannot write %s", p);
    fprintf(f, "n_in %d\nN %d\nn_out %d\nT %d\nB %d\nrule %s\nact %s\nalpha %.17g\nlr %.17g\nclip 1.0\n"
               "steps %d\nfix_weight %.17g\ndecision_only %d\nsparse %d\nloss0 %.17g\nmask %s\ndale %d\nreadout_exc %d\n",
            n_in, N, n_out, T, B, rule, act, alpha, lr, steps, fix_weight, decision_only, lm_model_is_sparse(m), l0,
            mk->desc, frac_exc > 0, readout_exc);
    fclose(f);
    printf("%s: %s, %s/%s alpha %g, %s path, loss %.6f -> %.6f after %d steps\n", out, mk->desc, rule, act, alpha,
           lm_model_is_sparse(m) ? "sparse" : "dense", l0, losses[steps - 1], steps);
    free(losses), free(x), free(y), free(dec);
    lm_adam_free(&adam);
    lm_work_free(w);
    if (from) lm_trained_free(&run);
    else lm_model_free(m), lm_mask_free(&mask);
    return 0;
}
