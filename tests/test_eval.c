/* Evaluation: every metric of docs/model.md §5 on hand-built predictions, the Wilson interval, and
 * lm_evaluate on hand-built models whose outputs are known, against expectations computed directly
 * from independently generated trials. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "eval/eval.h"
#include "eval/metrics.h"
#include "tasks/battery.h"
#include "util/err.h"

#define ALL(p, g, len, ds, de, c) lm_score_trial(p, g, len, ds, de, c)

static void test_argmax(void) {
    float a[3] = {0.1f, 0.5f, 0.5f};
    CHECK(lm_argmax(a, 3) == 1, "first maximum wins ties");
    float b[3] = {NAN, 0.2f, 0.3f};
    CHECK(lm_argmax(b, 3) == 2);
    float c[2] = {NAN, NAN};
    CHECK(lm_argmax(c, 2) == 0);
    float d[17];
    for (int k = 0; k < 17; k++) d[k] = -1.0f - k;
    d[16] = 3.0f;
    CHECK(lm_argmax(d, 17) == 16);
}

static void test_metric_names(void) {
    for (int m = 0; m < LM_N_METRICS; m++) {
        LmMetric got;
        CHECK(lm_metric_parse(lm_metric_name((LmMetric)m), &got) == 0 && got == (LmMetric)m);
    }
    LmMetric got;
    CHECK(lm_metric_parse("accuracy", &got) == -1);
    CHECK(strstr(lm_err_msg(), "accuracy") && strstr(lm_err_msg(), "strict_trial"), "%s", lm_err_msg());
}

/* A respond trial: fixation 0..2, decision 3..5 with label 5. */
static void test_respond_trial(void) {
    const int32_t gt[6] = {0, 0, 0, 5, 5, 5};
    int c[LM_N_METRICS];
    /* Fixation breaks before the decision are invisible to last_step and first_response; the first
     * decision response (t=4, label 5) decides; the last step (9) is wrong. */
    const int32_t p1[6] = {7, 7, 0, 0, 5, 9};
    ALL(p1, gt, 6, 3, 6, c);
    CHECK(c[LM_METRIC_LAST_STEP] == 0);
    CHECK(c[LM_METRIC_FIRST_RESPONSE] == 1);
    CHECK(c[LM_METRIC_FIRST_RESPONSE_NOGO] == 1);
    CHECK(c[LM_METRIC_STRICT_TRIAL] == 0);
    CHECK(c[LM_METRIC_TOLERANT_LAST_STEP] == 0, "9 is 4 ring steps from 5");
    /* Wrong first response (4), right at the end. */
    const int32_t p2[6] = {0, 0, 0, 4, 5, 5};
    ALL(p2, gt, 6, 3, 6, c);
    CHECK(c[LM_METRIC_LAST_STEP] == 1);
    CHECK(c[LM_METRIC_FIRST_RESPONSE] == 0);
    CHECK(c[LM_METRIC_FIRST_RESPONSE_NOGO] == 0);
    CHECK(c[LM_METRIC_STRICT_TRIAL] == 0);
    CHECK(c[LM_METRIC_TOLERANT_LAST_STEP] == 1);
    /* Never responds. */
    const int32_t p3[6] = {0};
    ALL(p3, gt, 6, 3, 6, c);
    for (int m = 0; m < LM_N_METRICS; m++) CHECK(c[m] == 0, "metric %s", lm_metric_name((LmMetric)m));
    /* Perfect except at the first step, which strict_trial ignores (Yang's first 100 ms). */
    const int32_t p4[6] = {3, 0, 0, 5, 5, 5};
    ALL(p4, gt, 6, 3, 6, c);
    for (int m = 0; m < LM_N_METRICS; m++) CHECK(c[m] == 1, "metric %s", lm_metric_name((LmMetric)m));
    /* A fixation break at step 1 fails only strict_trial. */
    const int32_t p5[6] = {0, 2, 0, 5, 5, 5};
    ALL(p5, gt, 6, 3, 6, c);
    CHECK(c[LM_METRIC_STRICT_TRIAL] == 0);
    CHECK(c[LM_METRIC_LAST_STEP] == 1 && c[LM_METRIC_FIRST_RESPONSE] == 1);
}

/* A no-go trial (all labels 0): the faithful first_response can never credit it (Q19). */
static void test_nogo_trial(void) {
    const int32_t gt[6] = {0};
    int c[LM_N_METRICS];
    const int32_t p1[6] = {0};
    ALL(p1, gt, 6, 3, 6, c);
    CHECK(c[LM_METRIC_LAST_STEP] == 1);
    CHECK(c[LM_METRIC_FIRST_RESPONSE] == 0);
    CHECK(c[LM_METRIC_FIRST_RESPONSE_NOGO] == 1);
    CHECK(c[LM_METRIC_STRICT_TRIAL] == 1);
    CHECK(c[LM_METRIC_TOLERANT_LAST_STEP] == 1);
    const int32_t p2[6] = {0, 0, 0, 0, 2, 0};
    ALL(p2, gt, 6, 3, 6, c);
    CHECK(c[LM_METRIC_LAST_STEP] == 1);
    CHECK(c[LM_METRIC_FIRST_RESPONSE] == 0 && c[LM_METRIC_FIRST_RESPONSE_NOGO] == 0);
    CHECK(c[LM_METRIC_STRICT_TRIAL] == 0);
    /* A response in a non-decision period is ignored by first_response (neurogym step()). */
    const int32_t p3[6] = {0, 9, 9, 0, 0, 0};
    ALL(p3, gt, 6, 3, 6, c);
    CHECK(c[LM_METRIC_FIRST_RESPONSE_NOGO] == 1 && c[LM_METRIC_STRICT_TRIAL] == 0);
}

/* A faithful seq trial passing direction 15: label 0 in mid-decision (Q1). */
static void test_seq_trial(void) {
    const int32_t gt[7] = {0, 0, 0, 2, 1, 0, 15};
    int c[LM_N_METRICS];
    const int32_t p1[7] = {0, 0, 0, 2, 1, 0, 15};
    ALL(p1, gt, 7, 3, 7, c);
    for (int m = 0; m < LM_N_METRICS; m++) CHECK(c[m] == 1, "metric %s", lm_metric_name((LmMetric)m));
    const int32_t p2[7] = {0, 0, 0, 2, 1, 16, 15};
    ALL(p2, gt, 7, 3, 7, c);
    CHECK(c[LM_METRIC_STRICT_TRIAL] == 0, "the whole trajectory counts");
    CHECK(c[LM_METRIC_LAST_STEP] == 1 && c[LM_METRIC_FIRST_RESPONSE] == 1);
    /* The first response lands on a step whose label is 0: wrong. */
    const int32_t gt2[5] = {0, 0, 0, 0, 3};
    const int32_t p3[5] = {0, 0, 0, 1, 3};
    ALL(p3, gt2, 5, 3, 5, c);
    CHECK(c[LM_METRIC_FIRST_RESPONSE] == 0 && c[LM_METRIC_LAST_STEP] == 1);
}

static void test_tolerance(void) {
    CHECK(lm_ring_label_distance(16, 1) == 1);
    CHECK(lm_ring_label_distance(1, 16) == 1);
    CHECK(lm_ring_label_distance(8, 10) == 2);
    CHECK(lm_ring_label_distance(1, 9) == 8);
    CHECK(lm_ring_label_distance(3, 3) == 0);
    struct { int p, g, ok; } cases[] = {
        {1, 16, 1}, {16, 1, 1}, {15, 16, 1}, {4, 5, 1}, {6, 5, 1}, {7, 5, 0}, {10, 8, 0},
        {0, 1, 0},  {1, 0, 0},  {0, 0, 1},   {16, 0, 0}, {9, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t g[2] = {0, cases[i].g}, p[2] = {0, cases[i].p};
        CHECK(lm_metric_correct(LM_METRIC_TOLERANT_LAST_STEP, p, g, 2, 1, 2) == cases[i].ok, "pred %d gt %d",
              cases[i].p, cases[i].g);
        CHECK(lm_metric_correct(LM_METRIC_LAST_STEP, p, g, 2, 1, 2) == (cases[i].p == cases[i].g));
    }
}

/* Predictions from hand-made logits [T][17]. */
static void test_from_logits(void) {
    float lg[4][17];
    memset(lg, 0, sizeof lg);
    lg[0][0] = 2;  /* fixate */
    lg[1][0] = 2;
    lg[2][12] = 1.5f; lg[2][0] = 1.4f;   /* respond 12 */
    lg[3][13] = 0.9f; lg[3][12] = 0.8f;  /* respond 13: one step off 12 */
    int32_t pred[4], gt[4] = {0, 0, 12, 12};
    for (int t = 0; t < 4; t++) pred[t] = lm_argmax(lg[t], 17);
    CHECK(pred[0] == 0 && pred[1] == 0 && pred[2] == 12 && pred[3] == 13);
    int c[LM_N_METRICS];
    lm_score_trial(pred, gt, 4, 2, 4, c);
    CHECK(c[LM_METRIC_LAST_STEP] == 0 && c[LM_METRIC_TOLERANT_LAST_STEP] == 1);
    CHECK(c[LM_METRIC_FIRST_RESPONSE] == 1 && c[LM_METRIC_STRICT_TRIAL] == 0);
}

static void test_wilson(void) {
    double lo, hi;
    lm_wilson_interval(8, 10, &lo, &hi);   /* textbook: 0.4902, 0.9433 */
    CHECK_CLOSE(lo, 0.490162, 1e-5);
    CHECK_CLOSE(hi, 0.943318, 1e-5);
    lm_wilson_interval(0, 10, &lo, &hi);
    CHECK(lo == 0);
    CHECK_CLOSE(hi, 0.277533, 1e-5);
    lm_wilson_interval(10, 10, &lo, &hi);
    CHECK(hi == 1);
    CHECK_CLOSE(lo, 1 - 0.277533, 1e-5);
    lm_wilson_interval(100, 200, &lo, &hi);
    CHECK_CLOSE(0.5 - lo, hi - 0.5, 1e-12);
    CHECK(hi - lo < 0.14 && hi - lo > 0.13, "n=200 half-width about 0.069");
}

/* ---------------------------------------------------------------- lm_evaluate on known models */
enum { N = 8 };
static const char *const battery_spec = "go,dm1,dms,goseqr,dlydm1intr";

static LmModel *make_model(int n_in) {
    LmMaskSpec ms;
    memset(&ms, 0, sizeof ms);
    ms.kind = LM_MASK_DIAG;
    LmMask mask;
    if (lm_mask_build(&ms, N, &mask) != 0) return NULL;
    LmModelConfig c;
    lm_model_config_default(&c, n_in, N, LM_N_ACTIONS);
    LmModel *m = lm_model_new(&c, &mask);
    lm_mask_free(&mask);
    return m;
}

static void set_tensor(LmModel *m, const char *name, const float *data) {
    for (int i = 0; i < LM_N_TENSORS; i++)
        if (!strcmp(lm_model_tensor_info(m, i).name, name)) {
            CHECK(lm_model_import_tensor(m, i, data) == 0, "%s", lm_err_msg());
            return;
        }
    CHECK(0, "no tensor %s", name);
}

/* Expected counts for a model that outputs `label` at every step of every trial, computed from
 * trials generated here directly (trial i of position k from lm_rng_derive(seed, k*1000003+i),
 * modality i % 2). */
static void expected_const(const LmTaskEnv *env, int task, int pos, int trials, uint64_t seed, int label,
                           int exp[LM_N_METRICS]) {
    memset(exp, 0, LM_N_METRICS * sizeof(int));
    LmTrial *tr = malloc(sizeof *tr);
    for (int i = 0; i < trials; i++) {
        LmRng r = lm_rng_derive(seed, (uint64_t)pos * 1000003u + (uint64_t)i);
        lm_trial_generate(env, task, i % 2, &r, &r, tr);
        int p = lm_trial_period(tr, "decision");
        int ds = tr->periods[p].start, de = tr->periods[p].end, L = tr->len;
        int last = tr->gt[L - 1];
        exp[LM_METRIC_LAST_STEP] += last == label;
        int tol = label == 0 ? last == 0 : (last != 0 && (abs(last - label) <= 1 || abs(last - label) == 15));
        exp[LM_METRIC_TOLERANT_LAST_STEP] += tol;
        int all_zero = 1, all_label = 1;
        for (int t = ds; t < de; t++) {
            all_zero &= tr->gt[t] == 0;
            all_label &= tr->gt[t] == label;
        }
        /* A constant non-zero output responds at decision onset; a constant 0 never responds. */
        exp[LM_METRIC_FIRST_RESPONSE] += label != 0 && tr->gt[ds] == label;
        exp[LM_METRIC_FIRST_RESPONSE_NOGO] += label != 0 ? tr->gt[ds] == label : all_zero;
        exp[LM_METRIC_STRICT_TRIAL] += (label == 0 || ds <= 1) && all_label && de == L;
    }
    free(tr);
}

static void test_evaluate_constant(void) {
    LmBattery b;
    CHECK(lm_battery_parse(battery_spec, &b) == 0, "%s", lm_err_msg());
    LmRng cons;
    lm_rng_seed(&cons, 7);
    LmTaskEnv env;
    lm_taskenv_init(&env, 0, &cons);
    LmModel *m = make_model(LM_OBS + b.n);
    CHECK(m != NULL, "%s", lm_err_msg());
    if (!m) return;
    const int trials = 150;
    const uint64_t seed = 12345;
    for (int label = 0; label <= 5; label += 5) {
        float bout[LM_N_ACTIONS] = {0};
        bout[label] = 1.0f;   /* W_out = 0: the logits are b_out at every step */
        set_tensor(m, "b_out", bout);
        LmEvalResult r;
        CHECK(lm_evaluate(m, &env, &b, trials, seed, NULL, &r) == 0, "%s", lm_err_msg());
        CHECK(r.n_tasks == b.n);
        int some_zero_last = 0;
        for (int k = 0; k < b.n; k++) {
            int exp[LM_N_METRICS];
            expected_const(&env, b.id[k], k, trials, seed, label, exp);
            CHECK(r.n_trials[k] == trials);
            for (int mt = 0; mt < LM_N_METRICS; mt++)
                CHECK(r.correct[k][mt] == exp[mt], "label %d task %s metric %s: %d vs expected %d", label,
                      b.name[k], lm_metric_name((LmMetric)mt), r.correct[k][mt], exp[mt]);
            if (label == 0) some_zero_last += exp[LM_METRIC_LAST_STEP];
        }
        if (label == 0) CHECK(some_zero_last > 0, "dms no-go and Q1 trials end with label 0");
        /* Summaries agree with the counts. */
        double mean = 0, mn = 1;
        for (int k = 0; k < b.n; k++) {
            double p = (double)r.correct[k][LM_METRIC_LAST_STEP] / trials;
            mean += p / b.n;
            mn = fmin(mn, p);
        }
        CHECK_CLOSE(lm_eval_mean(&r, LM_METRIC_LAST_STEP), mean, 1e-12);
        CHECK_CLOSE(lm_eval_min(&r, LM_METRIC_LAST_STEP), mn, 1e-12);
        /* Groups: go, dm1, dms are base; goseqr seq; dlydm1intr int; no int+seq. */
        double base = (lm_eval_task_perf(&r, 0, 0) + lm_eval_task_perf(&r, 1, 0) + lm_eval_task_perf(&r, 2, 0)) / 3;
        CHECK_CLOSE(lm_eval_group_mean(&r, &b, LM_GROUP_BASE, LM_METRIC_LAST_STEP), base, 1e-12);
        CHECK_CLOSE(lm_eval_group_mean(&r, &b, LM_GROUP_SEQ, LM_METRIC_LAST_STEP), lm_eval_task_perf(&r, 3, 0), 1e-12);
        CHECK_CLOSE(lm_eval_group_mean(&r, &b, LM_GROUP_INT, LM_METRIC_LAST_STEP), lm_eval_task_perf(&r, 4, 0), 1e-12);
        CHECK(isnan(lm_eval_group_mean(&r, &b, LM_GROUP_INTSEQ, LM_METRIC_LAST_STEP)));
        /* Deterministic. */
        LmEvalResult r2;
        lm_evaluate(m, &env, &b, trials, seed, NULL, &r2);
        CHECK(!memcmp(&r, &r2, sizeof r));
    }
    lm_model_free(m);
}

/* A model that answers 5 only when rule column 33+2 is on, else fixates: checks that each task gets
 * its own rule column, also when evaluating a subset of the battery. */
static void test_evaluate_rule_columns(void) {
    LmBattery b;
    CHECK(lm_battery_parse(battery_spec, &b) == 0, "%s", lm_err_msg());
    LmRng cons;
    lm_rng_seed(&cons, 3);
    LmTaskEnv env;
    lm_taskenv_init(&env, 0, &cons);
    const int n_in = LM_OBS + b.n;
    LmModel *m = make_model(n_in);
    if (!m) return;
    float *win = calloc((size_t)N * n_in, sizeof(float));
    win[0 * n_in + LM_OBS + 2] = 1.0f;              /* unit 0 = rule 2 (relu(1) = 1) */
    float wout[LM_N_ACTIONS * N];
    memset(wout, 0, sizeof wout);
    wout[5 * N + 0] = 10.0f;
    float bout[LM_N_ACTIONS] = {1.0f};
    set_tensor(m, "W_in", win);
    set_tensor(m, "W_out", wout);
    set_tensor(m, "b_out", bout);
    const int trials = 64;
    const uint64_t seed = 99;
    LmEvalResult r;
    CHECK(lm_evaluate(m, &env, &b, trials, seed, NULL, &r) == 0, "%s", lm_err_msg());
    for (int k = 0; k < b.n; k++) {
        int exp[LM_N_METRICS];
        expected_const(&env, b.id[k], k, trials, seed, k == 2 ? 5 : 0, exp);
        for (int mt = 0; mt < LM_N_METRICS; mt++)
            CHECK(r.correct[k][mt] == exp[mt], "task %s metric %s", b.name[k], lm_metric_name((LmMetric)mt));
    }
    /* Subset {dms} keeps rule column 2 and reproduces the full battery's numbers exactly. */
    LmBattery sub;
    CHECK(lm_battery_parse("dms", &sub) == 0);
    int pos = 2;
    LmEvalResult rs;
    CHECK(lm_evaluate_subset(m, &env, &sub, &pos, b.n, trials, seed, NULL, &rs) == 0, "%s", lm_err_msg());
    CHECK(rs.n_tasks == 1 && !memcmp(rs.correct[0], r.correct[2], sizeof rs.correct[0]));
    /* Under another rule column the same task gets the fixating answer (and other trials). */
    pos = 0;
    CHECK(lm_evaluate_subset(m, &env, &sub, &pos, b.n, trials, seed, NULL, &rs) == 0);
    int exp[LM_N_METRICS];
    expected_const(&env, sub.id[0], 0, trials, seed, 0, exp);
    CHECK(rs.correct[0][LM_METRIC_LAST_STEP] == exp[LM_METRIC_LAST_STEP]);
    /* Bad input. */
    pos = b.n;
    CHECK(lm_evaluate_subset(m, &env, &sub, &pos, b.n, trials, seed, NULL, &rs) == -1);
    CHECK(strstr(lm_err_msg(), "rule position"), "%s", lm_err_msg());
    CHECK(lm_evaluate(m, &env, &b, 0, seed, NULL, &rs) == -1);
    LmBattery big;
    CHECK(lm_battery_parse("yang20", &big) == 0);
    CHECK(lm_evaluate(m, &env, &big, trials, seed, NULL, &rs) == -1);
    CHECK(strstr(lm_err_msg(), "inputs"), "%s", lm_err_msg());
    free(win);
    lm_model_free(m);
}

/* More trials than one forward pass holds: chunks must give the same counts as the direct loop. */
static void test_evaluate_chunks(void) {
    LmBattery b;
    CHECK(lm_battery_parse("go", &b) == 0);
    LmRng cons;
    lm_rng_seed(&cons, 1);
    LmTaskEnv env;
    lm_taskenv_init(&env, 0, &cons);
    LmModel *m = make_model(LM_OBS + 1);
    if (!m) return;
    float bout[LM_N_ACTIONS] = {0};
    bout[0] = 1;
    set_tensor(m, "b_out", bout);
    LmEvalResult r;
    CHECK(lm_evaluate(m, &env, &b, 1100, 5, NULL, &r) == 0);
    int exp[LM_N_METRICS];
    expected_const(&env, b.id[0], 0, 1100, 5, 0, exp);
    CHECK(r.correct[0][LM_METRIC_LAST_STEP] == exp[LM_METRIC_LAST_STEP]);
    /* faithful go: about 1/16 of trials (direction 15) end with label 0 */
    double frac = (double)exp[LM_METRIC_LAST_STEP] / 1100;
    CHECK(frac > 0.03 && frac < 0.10, "fraction of Q1 trials %g", frac);
    lm_model_free(m);
}

int main(void) {
    RUN(test_argmax);
    RUN(test_metric_names);
    RUN(test_respond_trial);
    RUN(test_nogo_trial);
    RUN(test_seq_trial);
    RUN(test_tolerance);
    RUN(test_from_logits);
    RUN(test_wilson);
    RUN(test_evaluate_constant);
    RUN(test_evaluate_rule_columns);
    RUN(test_evaluate_chunks);
    return CHECK_DONE();
}
