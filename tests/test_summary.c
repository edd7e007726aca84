/* The network summary at any size (src/analysis/summary.c) and over training (the `summary` records of
 * `lmrnn train`, src/cli/run_summary.c): the power iteration against LAPACK's singular values, the
 * sparse path against the dense path on the same network (every measure both compute agrees, the rest
 * is skipped by name), streamed task-by-task statistics against one collection, the weight change over
 * differing masks against its dense definition, and training with the summary hook bit-identical to
 * training without it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "analysis/analysis.h"
#include "check.h"
#include "cli/run_summary.h"
#include "io/json.h"
#include "io/npz.h"
#include "tasks/tasks.h"
#include "train/train.h"
#include "util/err.h"
#include "util/rng.h"

static char tmp_root[256];

/* sigma_1 of sparse random matrices and a diagonal one, against dgesdd on the dense matrix. */
static void test_power_iteration_matches_lapack(void) {
    enum { N = 40 };
    LmRng rng = lm_rng_derive(5, 1);
    int32_t rp[N + 1], ci[N * N];
    float v[N * N];
    double dense[N * N], s[N];
    for (int trial = 0; trial < 3; trial++) {
        int64_t q = 0;
        memset(dense, 0, sizeof dense);
        for (int i = 0; i < N; i++) {
            rp[i] = (int32_t)q;
            for (int j = 0; j < N; j++)
                if (trial == 2 ? i == j : lm_rng_uniform(&rng) < 0.2) {
                    v[q] = trial == 2 ? (float)(i == 7 ? -3.0 : 0.01 * i) : (float)lm_rng_normal(&rng);
                    ci[q] = j, dense[i * N + j] = v[q++];
                }
        }
        rp[N] = (int32_t)q;
        int iters;
        double rel, s1 = lm_sparse_spectral_norm(N, rp, ci, v, 9, 5000, 1e-13, &iters, &rel);
        CHECK(lm_singular_values(N, N, dense, s) == 0, "svd");
        CHECK_CLOSE(s1, s[0], 1e-6);
        CHECK(rel < 1e-13 && iters < 5000, "trial %d: not converged after %d iterations (%g)", trial, iters, rel);
        if (trial == 2) CHECK_CLOSE(s1, 3.0, 1e-9);
    }
    int32_t zp[3] = {0, 0, 0};
    CHECK(lm_sparse_spectral_norm(2, zp, NULL, NULL, 1, 10, 1e-9, NULL, NULL) == 0, "zero matrix");
}

typedef struct {
    LmBattery b;
    LmMask mask;
    LmModel *m;
    LmTaskEnv env;
} Net;

static void net_new(Net *n, const char *tasks, int side, uint64_t seed) {
    LM_ASSERT(lm_battery_parse(tasks, &n->b) == 0);
    LmMaskSpec ms = {.kind = LM_MASK_LOCAL2D, .d = 2, .nx = side, .ny = side};
    LM_ASSERT(lm_mask_build(&ms, side * side, &n->mask) == 0);
    LmModelConfig mc;
    lm_model_config_default(&mc, LM_OBS + n->b.n, side * side, LM_N_ACTIONS);
    mc.act = LM_ACT_TANH, mc.rec_init = LM_INIT_GAUSSIAN, mc.rec_gain = 1.2;
    n->m = lm_model_new(&mc, &n->mask);
    LmRng rng = lm_rng_derive(seed, 1), cr = lm_rng_derive(seed, 2);
    lm_model_init(n->m, &rng);
    lm_taskenv_init(&n->env, 0, &cr);
}

static void net_free(Net *n) {
    lm_model_free(n->m);
    lm_mask_free(&n->mask);
}

static int skipped(const LmSummary *s, const char *name) {
    for (int k = 0; k < s->n_skipped; k++)
        if (!strcmp(s->skipped[k], name) && strstr(s->skipped_why[k], "N = 36 > 0")) return 1;
    return 0;
}

/* One network through the dense path (dense_max_n = 1024) and the sparse path (0) with a sample large
 * enough to hold every row: what both compute agrees; the sparse path names what it skipped. */
static void test_sparse_path_agrees_with_dense(void) {
    Net n;
    net_new(&n, "go,dlygo,dms", 6, 4);
    LmNet net = {n.m, &n.b, &n.env, 77};
    int pos[3] = {0, 1, 2};
    LmSummaryOptions o;
    lm_summary_options_default(&o);
    o.trials = 5;
    o.sample_rows = 100000;
    o.power_tol = 1e-14;
    LmSheet g = {6, 6, 0};
    LmSummary d, s;
    CHECK(lm_summary_of_net(&net, pos, 3, &o, NULL, &g, &d) == 0, "%s", lm_err_msg());
    o.dense_max_n = 0;
    CHECK(lm_summary_of_net(&net, pos, 3, &o, NULL, &g, &s) == 0, "%s", lm_err_msg());
    CHECK(d.dense && !s.dense && d.n_skipped == 0 && s.n_skipped == 3, "skipped %d, %d", d.n_skipped, s.n_skipped);
    CHECK(skipped(&s, "effective_rank") && skipped(&s, "singular_values") && skipped(&s, "covariance_eigenvalues"),
          "the skipped measures are named with N and the dense size");
    CHECK(s.pr_rows == s.n_samples && d.n_samples == s.n_samples && s.n_samples > 100, "rows %lld",
          (long long)s.n_samples);
    CHECK_CLOSE(s.pr, d.pr, 1e-4);
    CHECK(d.pr > 1.5, "a non-trivial participation ratio (%g)", d.pr);
    CHECK_CLOSE(s.sv1, d.sv1, 1e-7);
    CHECK_CLOSE(s.srank, d.srank, 1e-6);
    CHECK(isnan(s.erank) && isfinite(d.erank) && !s.sv && !s.cov_eig && d.sv && d.cov_eig, "sparse path leaves gaps");
    CHECK(s.dormant[0] == d.dormant[0] && s.dormant[1] == d.dormant[1], "dormant ratios");
    CHECK(!memcmp(s.mass_within, d.mass_within, sizeof s.mass_within), "|w| against distance");
    cJSON *j = lm_summary_json(&s);
    cJSON *sk = cJSON_GetObjectItem(j, "skipped");
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "effective_rank")) && cJSON_GetArraySize(sk) == 3 &&
              cJSON_IsNull(cJSON_GetObjectItem(j, "singular_values")),
          "JSON: null values and their reasons");
    cJSON_Delete(j);
    /* a sample of a third of the rows: a seeded estimate, the same for the same seed */
    o.sample_rows = (int)(s.n_samples / 3);
    LmSummary a, b;
    CHECK(lm_summary_of_net(&net, pos, 3, &o, NULL, &g, &a) == 0 && lm_summary_of_net(&net, pos, 3, &o, NULL, &g, &b) == 0);
    CHECK(a.pr_rows == o.sample_rows && a.pr == b.pr, "deterministic sample");
    CHECK(fabs(a.pr - d.pr) < 0.25 * d.pr, "sampled PR %g far from %g", a.pr, d.pr);
    lm_summary_free(&a), lm_summary_free(&b);
    /* streamed per task = one collection of every task */
    LmStates st;
    CHECK(lm_states_collect(&net, pos, 3, 5, &st) == 0, "%s", lm_err_msg());
    LmSummary one;
    CHECK(lm_summary_compute(&st, n.m, NULL, &g, &one) == 0, "%s", lm_err_msg());
    CHECK(one.n_samples == d.n_samples, "same rows");
    CHECK_CLOSE(one.pr, d.pr, 1e-6);
    for (int i = 0; i < 36; i++) CHECK_CLOSE(one.cov_eig[i], d.cov_eig[i], 1e-5);
    lm_summary_free(&one), lm_states_free(&st);
    lm_summary_free(&d), lm_summary_free(&s);
    net_free(&n);
}

/* |W - W0| / |W0| with W0 on another mask (a pruned or regrown run): the CSR merge against the dense
 * definition computed here. */
static void test_weight_change_over_different_masks(void) {
    Net n, z;
    net_new(&n, "go,dms", 5, 1);
    net_new(&z, "go,dms", 5, 2);
    float W[625], W0[625], Win[25 * 35], Wout[17 * 25];
    lm_model_export_tensor(n.m, 2, W);
    LmRng rng = lm_rng_derive(3, 3);
    double d2 = 0, z2 = 0;
    for (int k = 0; k < 625; k++) {
        W0[k] = lm_rng_uniform(&rng) < 0.5 ? (float)lm_rng_normal(&rng) : 0;   /* another sparsity pattern */
        d2 += ((double)W[k] - W0[k]) * ((double)W[k] - W0[k]), z2 += (double)W0[k] * W0[k];
    }
    lm_model_export_tensor(z.m, 0, Win);
    lm_model_export_tensor(z.m, 4, Wout);
    LmNet net = {n.m, &n.b, &n.env, 5};
    LmStates st;
    CHECK(lm_states_collect(&net, (int[]){0, 1}, 2, 2, &st) == 0, "%s", lm_err_msg());
    const float *init[3] = {W0, Win, Wout};
    LmSheet g = {5, 5, 0};
    LmSummary s;
    CHECK(lm_summary_compute(&st, n.m, init, &g, &s) == 0, "%s", lm_err_msg());
    CHECK_CLOSE(s.change[0], sqrt(d2 / z2), 1e-9);
    CHECK(s.change[1] > 0 && isfinite(s.change[2]), "W_in, W_out change");
    lm_summary_free(&s), lm_states_free(&st);
    net_free(&n), net_free(&z);
}

static int count_summaries(const cJSON *rec, void *ctx) {
    const cJSON *k = cJSON_GetObjectItem(rec, "kind");
    if (cJSON_IsString(k) && !strcmp(k->valuestring, "summary")) ((int *)ctx)[0]++;
    return 0;
}

/* `lmrnn train`'s hook logs a summary at step 0 and at every evaluation and never changes the training:
 * the checkpoint's parameters are bit-identical to a run without it. The history figure draws them. */
static void test_training_with_summaries_is_unchanged(void) {
    LmTrainConfig c[2];
    float *params[2];
    size_t np = 0;
    for (int k = 0; k < 2; k++) {
        lm_train_config_default(&c[k]);
        LM_ASSERT(lm_train_config_set(&c[k], "battery", "go,dlygo") == 0);
        c[k].hidden = 16, c[k].d = 2, c[k].batch = 3, c[k].window = 40, c[k].steps = 20, c[k].eval_every = 10;
        c[k].eval_trials = 4, c[k].checkpoint_every = 20, c[k].no_plot = 1, c[k].quiet = 1, c[k].seed = 5;
        snprintf(c[k].out, sizeof c[k].out, "%s/run%d", tmp_root, k);
        LmRunOptions o;
        memset(&o, 0, sizeof o);
        LmTrainSummaryHook hook;
        memset(&hook, 0, sizeof hook);
        if (k == 1) o.on_eval = lm_train_summary_hook, o.on_eval_ctx = &hook;
        CHECK(lm_train_run(&c[k], &o, NULL) == 0, "%s", lm_err_msg());
        lm_train_summary_hook_free(&hook);
        char p[1200];
        snprintf(p, sizeof p, "%s/checkpoint.npz", c[k].out);
        LmNpz *z = lm_npz_read(p);
        const LmArray *a = z ? lm_npz_find(z, "params") : NULL;
        CHECK(a != NULL, "%s", lm_err_msg());
        np = a ? a->count : 0;
        params[k] = lm_malloc((np ? np : 1) * sizeof(float));
        if (a) memcpy(params[k], a->data, np * sizeof(float));
        lm_npz_free(z);
    }
    CHECK(np > 0 && !memcmp(params[0], params[1], np * sizeof(float)), "the summary hook changed the weights");
    free(params[0]), free(params[1]);
    char log[1200], png[1200];
    int n[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        snprintf(log, sizeof log, "%s/log.jsonl", c[k].out);
        CHECK(lm_jsonl_foreach(log, count_summaries, &n[k]) == 0);
    }
    CHECK(n[0] == 0 && n[1] == 3, "summary records: %d without the hook, %d with (want 0, 3: steps 0, 10, 20)", n[0],
          n[1]);
    snprintf(png, sizeof png, "%s/history.png", tmp_root);
    CHECK(lm_summary_history_figure(log, png) == 0 && access(png, F_OK) == 0, "%s", lm_err_msg());
    snprintf(log, sizeof log, "%s/log.jsonl", c[0].out);
    CHECK(lm_summary_history_figure(log, png) == 1, "no summary records: nothing drawn");
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "/tmp/lmrnn_summary_XXXXXX");
    if (!mkdtemp(tmp_root)) return 1;
    RUN(test_power_iteration_matches_lapack);
    RUN(test_sparse_path_agrees_with_dense);
    RUN(test_weight_change_over_different_masks);
    RUN(test_training_with_summaries_is_unchanged);
    int rc = CHECK_DONE();
    if (rc == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    }
    return rc;
}
