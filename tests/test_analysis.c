/* Known answers for src/analysis: Jacobians against their closed form and finite differences, fixed
 * points of a diagonal network against the 1-D solutions, of a linear (relu in its positive region)
 * network against the solved linear system, a constructed line attractor, the participation ratio of
 * known spectra and covariances, ranks of known matrices, and hidden states against the update
 * equation computed here. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analysis.h"
#include "check.h"
#include "eval/eval.h"
#include "util/err.h"
#include "util/rng.h"

static double dact_ref(LmActivation a, double u) {
    return a == LM_ACT_RELU ? (u > 0) : a == LM_ACT_TANH ? 1 - tanh(u) * tanh(u) : 1 / (1 + exp(-u));
}

/* Diagonal W: J is diagonal with act'(z_i)(1 - a + a w_ii) (ngym) or 1 - a + a act'(s_i) w_ii (yang). */
static void test_diag_jacobian_closed_form(void) {
    enum { N = 6 };
    float W[N * N] = {0};
    double c[N], h[N], J[N * N];
    for (int i = 0; i < N; i++) W[i * N + i] = (float)(0.3 + 0.2 * i), c[i] = 0.4 - 0.15 * i, h[i] = 0.1 * i - 0.2;
    for (int rule = 0; rule < 2; rule++)
        for (int act = 0; act < 3; act++) {
            LmMap f = {N, (LmUpdateRule)rule, (LmActivation)act, 0.5, W, c};
            lm_map_jacobian(&f, h, J);
            for (int i = 0; i < N; i++)
                for (int j = 0; j < N; j++) {
                    double w = W[i * N + i], s = w * h[i] + c[i], want = 0;
                    if (i == j)
                        want = rule == LM_RULE_NGYM ? dact_ref(f.act, 0.5 * h[i] + 0.5 * s) * (0.5 + 0.5 * w)
                                                    : 0.5 + 0.5 * dact_ref(f.act, s) * w;
                    CHECK_CLOSE(J[i * N + j], want, 1e-12);
                }
        }
}

/* Full random W: J against central finite differences of F, every rule and activation. */
static void test_jacobian_finite_differences(void) {
    enum { N = 7 };
    LmRng rng = lm_rng_derive(3, 1);
    float W[N * N];
    double c[N], h[N], J[N * N], hp[N], Fp[N], Fm[N];
    for (int k = 0; k < N * N; k++) W[k] = (float)(0.6 * lm_rng_normal(&rng));
    for (int i = 0; i < N; i++) c[i] = lm_rng_normal(&rng), h[i] = lm_rng_normal(&rng);
    for (int rule = 0; rule < 2; rule++)
        for (int act = 0; act < 3; act++) {
            LmMap f = {N, (LmUpdateRule)rule, (LmActivation)act, 0.7, W, c};
            lm_map_jacobian(&f, h, J);
            double worst = 0;
            for (int j = 0; j < N; j++) {
                memcpy(hp, h, sizeof hp);
                hp[j] += 1e-6;
                lm_map_step(&f, hp, Fp);
                hp[j] -= 2e-6;
                lm_map_step(&f, hp, Fm);
                for (int i = 0; i < N; i++) worst = fmax(worst, fabs((Fp[i] - Fm[i]) / 2e-6 - J[i * N + j]));
            }
            CHECK(worst < 1e-6, "rule %d act %d: |J - FD| = %g", rule, act, worst);
        }
}

static LmFpOptions fp_opts(int n) {
    LmFpOptions o;
    lm_fp_options_default(&o);
    o.n_inits = n, o.outlier = 0;
    return o;
}

/* A diagonal relu network (ngym, alpha 1) is N independent maps h -> relu(w h + c): with w < 1 the
 * fixed point is c / (1 - w) when c > 0, else 0; the Jacobian's eigenvalues are w [c > 0]. */
static void test_diag_fixed_points(void) {
    enum { N = 5, n = 16 };
    float W[N * N] = {0}, inits[n * N];
    double c[N], want[N];
    double w[N] = {0.2, 0.5, -0.4, 0.8, 0.1}, cc[N] = {0.3, -0.2, 0.5, 0.1, -0.6};
    for (int i = 0; i < N; i++) {
        W[i * N + i] = (float)w[i], c[i] = cc[i];
        want[i] = cc[i] > 0 ? cc[i] / (1 - w[i]) : 0;
    }
    LmRng rng = lm_rng_derive(4, 1);
    for (int k = 0; k < n * N; k++) inits[k] = (float)(0.5 + 0.3 * lm_rng_normal(&rng));
    LmMap f = {N, LM_RULE_NGYM, LM_ACT_RELU, 1.0, W, c};
    LmFpOptions o = fp_opts(n);
    o.tol_unique = 1e-2;
    LmFixedPoints fp;
    CHECK(lm_fp_find(&f, inits, &o, &fp) == 0, "%s", lm_err_msg());
    CHECK(fp.K == 1, "%d unique points, expected 1", fp.K);
    for (int i = 0; i < N && fp.K; i++) CHECK_CLOSE(fp.points[i], want[i], 1e-5);
    CHECK(fp.K && fp.q[0] < 1e-10, "q = %g", fp.K ? fp.q[0] : -1);
    /* w (as stored, float) for the units with c > 0 (units 0, 2, 3), by modulus; 0 for the others */
    double lam[N] = {(float)0.8, (float)-0.4, (float)0.2, 0, 0};
    for (int i = 0; i < N && fp.K; i++) CHECK_CLOSE(fp.eig_re[i], lam[i], 1e-12);
    CHECK(fp.K && fp.stable[0], "the point is stable");
    lm_fp_free(&fp);
}

/* relu with every pre-activation positive at the answer is linear: h* = (I - W)^-1 c. */
static void test_linear_fixed_point(void) {
    enum { N = 8, n = 8 };
    LmRng rng = lm_rng_derive(5, 1);
    float W[N * N], inits[n * N];
    double c[N], A[N * N], b[N];
    for (int k = 0; k < N * N; k++) W[k] = (float)(0.25 * lm_rng_normal(&rng) / sqrt((double)N));
    for (int i = 0; i < N; i++) c[i] = 1.0 + 0.2 * lm_rng_uniform(&rng);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) A[i * N + j] = (i == j) - (double)W[i * N + j];
        b[i] = c[i];
    }
    lapack_int piv[N];
    CHECK(LAPACKE_dgesv(LAPACK_ROW_MAJOR, N, 1, A, N, piv, b, 1) == 0, "dgesv");
    for (int i = 0; i < N; i++) CHECK(b[i] > 0, "the solution lies in relu's linear region");
    for (int k = 0; k < n * N; k++) inits[k] = (float)(1.0 + 0.5 * lm_rng_normal(&rng));
    LmMap f = {N, LM_RULE_NGYM, LM_ACT_RELU, 1.0, W, c};
    LmFpOptions o = fp_opts(n);
    o.tol_unique = 1e-2;
    LmFixedPoints fp;
    CHECK(lm_fp_find(&f, inits, &o, &fp) == 0, "%s", lm_err_msg());
    CHECK(fp.K >= 1, "no point");
    double err = 0;
    for (int i = 0; i < N && fp.K; i++) err = fmax(err, fabs(fp.points[i] - b[i]));
    CHECK(err < 1e-5, "|h* - (I - W)^-1 c| = %g", err);
    lm_fp_free(&fp);
}

/* Units 0, 1 with W = [[.5 .5] [.5 .5]] and no input hold any h0 = h1 = t >= 0: a line of fixed points
 * with eigenvalue 1 along (1, 1); units 2, 3 decay to 0 (w = 0.3). */
static void test_line_attractor(void) {
    enum { N = 4, n = 64 };
    float W[N * N] = {0}, inits[n * N];
    double c[N] = {0, 0, 0, 0};
    W[0] = W[1] = W[4] = W[5] = 0.5f, W[10] = W[15] = 0.3f;
    LmRng rng = lm_rng_derive(6, 1);
    for (int k = 0; k < n; k++) {
        double t = 0.2 + 2.0 * lm_rng_uniform(&rng);
        for (int i = 0; i < N; i++) inits[k * N + i] = (float)(i < 2 ? t + 0.1 * lm_rng_normal(&rng) : 0.5 * lm_rng_uniform(&rng));
    }
    LmMap f = {N, LM_RULE_NGYM, LM_ACT_RELU, 1.0, W, c};
    LmFpOptions o = fp_opts(n);
    LmFixedPoints fp;
    CHECK(lm_fp_find(&f, inits, &o, &fp) == 0, "%s", lm_err_msg());
    CHECK(fp.K >= 10, "only %d distinct points along the line", fp.K);
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < fp.K; k++) {
        const double *p = fp.points + (size_t)k * N;
        CHECK(fabs(p[0] - p[1]) < 1e-4 && fabs(p[2]) < 1e-4 && fabs(p[3]) < 1e-4, "point %d off the line", k);
        CHECK(fp.q[k] < 1e-10, "q = %g", fp.q[k]);
        CHECK_CLOSE(fp.eig_re[(size_t)k * N], 1.0, 1e-9);
        CHECK(fabs(fp.eig_im[(size_t)k * N]) < 1e-12, "real leading eigenvalue");
        CHECK(!fp.stable[k], "|lambda_1| = 1 is not < 1");
        lo = fmin(lo, p[0]), hi = fmax(hi, p[0]);
    }
    CHECK(hi - lo > 1.0, "points span %g along the line", hi - lo);
    CHECK(fp.slow_pr > 0.99 && fp.slow_pr < 1.01, "slow-point dimensionality %g, expected 1", fp.slow_pr);
    lm_fp_free(&fp);
}

static void test_participation_ratio(void) {
    double e4[4] = {2, 2, 2, 2}, e1[3] = {5, 0, 0}, e2[3] = {1, 1, -1e-17};
    CHECK_CLOSE(lm_participation_ratio(e4, 4), 4.0, 1e-12);
    CHECK_CLOSE(lm_participation_ratio(e1, 3), 1.0, 1e-12);
    CHECK_CLOSE(lm_participation_ratio(e2, 3), 2.0, 1e-12);
    /* Data with covariance diag(4, 1, 0): rows (+-2, +-1, 3) in all four sign combinations. */
    float X[8 * 3];
    for (int r = 0; r < 8; r++) X[r * 3] = (r & 1) ? 2 : -2, X[r * 3 + 1] = (r & 2) ? 1 : -1, X[r * 3 + 2] = 3;
    double mean[3], axes[3 * 3], var[3], eig[3];
    CHECK(lm_pca(X, 8, 3, 3, mean, axes, var, eig) == 0, "pca");
    CHECK_CLOSE(var[0], 4.0 * 8 / 7, 1e-6);
    CHECK_CLOSE(var[1], 1.0 * 8 / 7, 1e-6);
    CHECK_CLOSE(mean[2], 3.0, 1e-12);
    CHECK_CLOSE(fabs(axes[0]), 1.0, 1e-9);
    CHECK_CLOSE(lm_participation_ratio(eig, 3), 25.0 / 17.0, 1e-6);
}

static void test_ranks_and_eigenvalues(void) {
    double a[9] = {3, 0, 0, 0, -2, 0, 0, 0, 1}, s[3];
    CHECK(lm_singular_values(3, 3, a, s) == 0, "svd");
    CHECK_CLOSE(s[0], 3, 1e-12);
    CHECK_CLOSE(s[1], 2, 1e-12);
    CHECK_CLOSE(s[2], 1, 1e-12);
    double r[4] = {0, -1, 1, 0}, re[2], im[2];   /* rotation by 90 degrees: +-i */
    CHECK(lm_eigvals(2, r, re, im) == 0, "eig");
    CHECK(fabs(re[0]) < 1e-12 && fabs(fabs(im[0]) - 1) < 1e-12, "eigenvalue %g%+gi", re[0], im[0]);
    double d[9] = {0.5, 0, 0, 0, -2, 0, 0, 0, 1}, dr[3], di[3];
    CHECK(lm_eigvals(3, d, dr, di) == 0, "eig");
    CHECK(dr[0] == -2 && dr[1] == 1 && dr[2] == 0.5, "sorted by modulus: %g %g %g", dr[0], dr[1], dr[2]);
}

/* Hidden states of a small trained-shape network against the update equation evaluated here. */
static void test_states_follow_the_update_equation(void) {
    LmBattery b;
    CHECK(lm_battery_parse("go,dms", &b) == 0, "battery");
    for (int rule = 0; rule < 2; rule++) {
        LmMaskSpec ms = {.kind = LM_MASK_FULL};
        LmMask mask;
        CHECK(lm_mask_build(&ms, 9, &mask) == 0, "mask");
        LmModelConfig mc;
        lm_model_config_default(&mc, LM_OBS + b.n, 9, LM_N_ACTIONS);
        mc.rule = (LmUpdateRule)rule, mc.act = LM_ACT_TANH, mc.alpha = 0.6, mc.rec_init = LM_INIT_GAUSSIAN;
        mc.rec_gain = 1.0;
        LmModel *m = lm_model_new(&mc, &mask);
        LmRng rng = lm_rng_derive(8, 1);
        lm_model_init(m, &rng);
        LmTaskEnv env;
        LmRng cr = lm_rng_derive(8, 2);
        lm_taskenv_init(&env, 0, &cr);
        LmNet net = {m, &b, &env, 99};
        int pos[2] = {0, 1};
        LmStates s;
        CHECK(lm_states_collect(&net, pos, 2, 3, &s) == 0, "%s", lm_err_msg());
        float W[81];
        lm_model_export_tensor(m, 2, W);
        double h[9] = {0}, c[9], F[9], worst = 0;
        for (int k = 0; k < s.K; k++) {
            memset(h, 0, sizeof h);
            for (int t = 0; t < s.len[k]; t++) {
                lm_map_input(m, s.x + ((size_t)k * s.T + t) * s.n_in, c);
                LmMap f = {9, mc.rule, mc.act, mc.alpha, W, c};
                lm_map_step(&f, h, F);
                for (int i = 0; i < 9; i++) {
                    worst = fmax(worst, fabs(F[i] - s.h[((size_t)k * s.T + t) * 9 + i]));
                    h[i] = F[i];
                }
            }
            CHECK(s.task[k] == k / 3, "task index");
        }
        CHECK(worst < 1e-5, "rule %d: states differ from the update equation by %g", rule, worst);
        CHECK(s.bounds[2 * lm_period_index("fixation")] == 0, "fixation starts at 0");
        lm_states_free(&s);
        lm_model_free(m);
        lm_mask_free(&mask);
    }
}

/* Epoch variance on planted trajectories: unit 0 carries a trial-specific value only in stim1, unit 1 only
 * in the delay, whose start differs between trials (aligned at the period's start, the variance is
 * exactly that of the planted values); unit 2 is the same ramp in every trial, so aligned at the delay's
 * start it varies by the start's shift alone. Task 1 has no delay. */
static void test_epoch_variance_planted(void) {
    enum { K = 8, T = 12, N = 3 };
    LmStates s;
    memset(&s, 0, sizeof s);
    s.K = K, s.T = T, s.N = N, s.n_tasks = 2;
    s.h = calloc((size_t)K * T * N, sizeof(float));
    s.len = calloc(K, sizeof(int32_t)), s.task = calloc(K, sizeof(int32_t));
    s.bounds = calloc((size_t)K * LM_N_PERIOD_NAMES * 2, sizeof(int32_t));
    int fix = lm_period_index("fixation"), st1 = lm_period_index("stim1"), dly = lm_period_index("delay");
    double a[K], b[K], va[2] = {0}, vb = 0, ma[2] = {0}, mb = 0;
    for (int k = 0; k < K; k++) {
        int task = k >= 5, shift = k % 2;   /* task 0: trials 0-4, task 1: 5-7 */
        a[k] = 0.3 * k - 0.1 * k * k, b[k] = k % 3 - 0.5 * k;
        s.task[k] = task, s.len[k] = T;
        int32_t *bd = s.bounds + (size_t)k * LM_N_PERIOD_NAMES * 2;
        for (int p = 0; p < LM_N_PERIOD_NAMES * 2; p++) bd[p] = -1;
        bd[2 * fix] = 0, bd[2 * fix + 1] = 2;
        bd[2 * st1] = 2, bd[2 * st1 + 1] = 5 + shift;
        if (!task) bd[2 * dly] = 5 + shift, bd[2 * dly + 1] = 9 + shift;
        for (int t = 0; t < T; t++) {
            float *h = s.h + ((size_t)k * T + t) * N;
            h[0] = t >= 2 && t < 5 ? (float)a[k] : 0.25f;        /* the first 3 steps of stim1 */
            h[1] = !task && t >= 5 + shift && t < 9 + shift ? (float)b[k] : -1.0f;
            h[2] = (float)(0.1 * t);
        }
        ma[task] += a[k], va[task] += a[k] * a[k];
        if (!task) mb += b[k], vb += b[k] * b[k];
    }
    int n0 = 5, n1 = 3;
    double var_a0 = va[0] / n0 - (ma[0] / n0) * (ma[0] / n0), var_a1 = va[1] / n1 - (ma[1] / n1) * (ma[1] / n1);
    double var_b = vb / n0 - (mb / n0) * (mb / n0);
    double tv[N * 2];
    uint8_t has[2];
    CHECK(lm_task_variance_period(&s, dly, tv, has) == 1 && has[0] && !has[1], "task 1 lacks the delay");
    CHECK_CLOSE(tv[1 * 2 + 0], var_b, 1e-6);   /* every step of the delay carries b_k */
    CHECK_CLOSE(tv[2 * 2 + 0], 0.01 * 0.4 * 0.6, 1e-7);   /* 0.1 x a shift of 1 in 2 of the 5 trials */
    CHECK(tv[0 * 2 + 0] == 0 && tv[1 * 2 + 1] == 0, "no variance elsewhere in the delay");
    CHECK(lm_task_variance_period(&s, st1, tv, has) == 2 && has[0] && has[1], "both tasks have stim1");
    /* stim1 lasts 3 or 4 steps: tau = 0..2 carry a_k (all trials), tau = 3 only the odd trials' 0.25 */
    CHECK_CLOSE(tv[0 * 2 + 0], 3 * var_a0 / 4, 1e-6);
    CHECK_CLOSE(tv[0 * 2 + 1], 3 * var_a1 / 4, 1e-6);
    CHECK(tv[1 * 2 + 0] == 0 && tv[2 * 2 + 0] == 0, "stim1 starts at step 2 in every trial: units 1, 2 do not vary");
    double all[N * 2];
    CHECK(lm_task_variance_period(&s, -1, all, has) == 2, "all periods");
    lm_task_variance(&s, tv);
    CHECK(!memcmp(all, tv, sizeof all), "period -1 is the task variance over all periods");
    free(s.h), free(s.len), free(s.task), free(s.bounds);
}

/* A planted network where Adam stalls: linear regime (relu, all pre-activations positive), W = Q diag(l) Q^T
 * with l down to 0.999 along a rotated direction, so q's curvature spans 0.25 .. 1e-6; the fixed point h*
 * is planted through c = (I - W) h*. Adam alone stays above q = 1e-10; the Levenberg-Marquardt polish
 * reaches it (and h*). */
static void test_refine_converges_where_adam_stalls(void) {
    enum { N = 20, n = 16 };
    LmRng rng = lm_rng_derive(21, 1);
    double Q[N * N], hstar[N], lam[N];
    for (int k = 0; k < N * N; k++) Q[k] = lm_rng_normal(&rng);
    for (int j = 0; j < N; j++) {   /* Gram-Schmidt on the columns */
        for (int p = 0; p < j; p++) {
            double d = 0;
            for (int i = 0; i < N; i++) d += Q[i * N + j] * Q[i * N + p];
            for (int i = 0; i < N; i++) Q[i * N + j] -= d * Q[i * N + p];
        }
        double nn = 0;
        for (int i = 0; i < N; i++) nn += Q[i * N + j] * Q[i * N + j];
        for (int i = 0; i < N; i++) Q[i * N + j] /= sqrt(nn);
        lam[j] = 1 - 0.5 * pow(10, -3.0 * j / (N - 1));   /* 0.5 ... 0.9995 */
    }
    float W[N * N];
    double c[N];
    for (int i = 0; i < N; i++) {
        hstar[i] = 1 + 0.3 * lm_rng_normal(&rng);
        for (int j = 0; j < N; j++) {
            double w = 0;
            for (int k = 0; k < N; k++) w += Q[i * N + k] * lam[k] * Q[j * N + k];
            W[i * N + j] = (float)w;
        }
    }
    for (int i = 0; i < N; i++) {   /* c = (I - W) h*, with W as the map sees it (float) */
        double s = hstar[i];
        for (int j = 0; j < N; j++) s -= (double)W[i * N + j] * hstar[j];
        c[i] = s;
    }
    float inits[n * N];
    for (int k = 0; k < n * N; k++) inits[k] = (float)(hstar[k % N] + 0.2 * lm_rng_normal(&rng));
    LmMap f = {N, LM_RULE_NGYM, LM_ACT_RELU, 1.0, W, c};
    LmFpOptions o;
    lm_fp_options_default(&o);
    o.n_inits = n, o.tol_unique = 1e-6;
    for (int refine = 0; refine < 2; refine++) {
        o.refine = refine;
        LmFixedPoints fp;
        CHECK(lm_fp_find(&f, inits, &o, &fp) == 0, "%s", lm_err_msg());
        double qmin = INFINITY, qmax = 0, err = 0;
        for (int j = 0; j < fp.K; j++) {
            qmin = fmin(qmin, fp.q[j]), qmax = fmax(qmax, fp.q[j]);
            for (int i = 0; i < N; i++) err = fmax(err, fabs(fp.points[(size_t)j * N + i] - hstar[i]));
        }
        if (!refine) CHECK(qmin > 1e-10 && fp.n_converged == 0, "Adam alone should stall above 1e-10 (q %g .. %g)", qmin, qmax);
        else {
            CHECK(qmax < 1e-10 && fp.n_converged == fp.K && fp.n_refined > 0, "polished q %g .. %g", qmin, qmax);
            CHECK(fp.K == 1 && err < 1e-5, "%d points, |h - h*| %g: the polished points merge into h*", fp.K, err);
            CHECK(fp.stable[0], "h* is stable (|lambda_1| = 0.9995)");
        }
        lm_fp_free(&fp);
    }
}

/* Three planted clusters in 4-D (centres far apart, small spread): k-means++ and Ward both recover
 * them exactly, and the silhouette is highest at k = 3. */
static void test_planted_clusters(void) {
    enum { n = 60, d = 4 };
    double X[n * d];
    int truth[n];
    const double centre[3][d] = {{0, 0, 0, 0}, {3, 0, 1, 0}, {0, 3, 0, 2}};
    LmRng rng = lm_rng_derive(9, 1);
    for (int i = 0; i < n; i++) {
        truth[i] = (i * 7) % 3;
        for (int j = 0; j < d; j++) X[i * d + j] = centre[truth[i]][j] + 0.2 * lm_rng_normal(&rng);
    }
    for (int method = 0; method < 2; method++) {
        int lab[n], best_k = 0;
        double best = -2;
        for (int k = 2; k <= 8; k++) {
            if (method == 0) lm_kmeans(X, n, d, k, 20, 5, lab);
            else lm_ward(X, n, d, k, lab);
            double sc = lm_silhouette(X, n, d, lab, k);
            if (sc > best) best = sc, best_k = k;
        }
        CHECK(best_k == 3, "method %d: silhouette chose k = %d", method, best_k);
        if (method == 0) lm_kmeans(X, n, d, 3, 20, 5, lab);
        else lm_ward(X, n, d, 3, lab);
        int map[3] = {-1, -1, -1}, ok = 1;   /* one label per planted cluster, one-to-one */
        for (int i = 0; i < n; i++) {
            if (map[truth[i]] < 0) map[truth[i]] = lab[i];
            ok &= map[truth[i]] == lab[i];
        }
        CHECK(ok && map[0] != map[1] && map[1] != map[2] && map[0] != map[2], "method %d: clusters not recovered", method);
        CHECK(best > 0.8, "silhouette %g of well separated clusters", best);
    }
    /* silhouette by hand: two pairs at distance 1 inside, 10 apart -> s_i = (b - a) / b */
    double Y[4] = {0, 1, 10, 11};
    int l2[4] = {0, 0, 1, 1};
    double a = 1, b0 = (10 + 11) / 2.0, b1 = (9 + 10) / 2.0;
    CHECK_CLOSE(lm_silhouette(Y, 4, 1, l2, 2), ((b0 - a) / b0 + (b1 - a) / b1) / 2, 1e-12);
}

/* The clustering pipeline on a planted task-variance table: units specialised for one of three task
 * groups; inactive units dropped at the threshold; clusters labelled by their task. */
static void test_variance_clusters_on_planted_table(void) {
    enum { N = 30, R = 6 };
    double tv[N * R];
    LmRng rng = lm_rng_derive(10, 1);
    for (int i = 0; i < N; i++)
        for (int r = 0; r < R; r++) {
            int g = i % 3, active = i < 27;
            tv[i * R + r] = active ? (r / 2 == g ? 1.0 : 0.05) * (1 + 0.05 * lm_rng_uniform(&rng)) : 1e-5;
        }
    LmVariance v;
    CHECK(lm_variance_cluster(tv, N, R, 1e-3, LM_CLUSTER_KMEANS, 2, 10, 20, 3, &v) == 0, "%s", lm_err_msg());
    CHECK(v.n_active == 27, "%d active units", v.n_active);
    CHECK(v.k == 3, "k = %d", v.k);
    for (int u = 0; u < v.n_active && v.k == 3; u++) {
        int g = v.units[u] % 3, t = v.cluster_task[v.labels[u]];
        CHECK(t / 2 == g, "unit %d (group %d) in a cluster labelled by task %d", v.units[u], g, t);
        CHECK_CLOSE(v.tvn[u * R + 2 * g] > v.tvn[u * R + 2 * g + 1] ? v.tvn[u * R + 2 * g] : v.tvn[u * R + 2 * g + 1], 1.0, 1e-12);
    }
    for (int u = 1; u < v.n_active; u++) CHECK(v.labels[v.order[u - 1]] <= v.labels[v.order[u]], "order sorted by cluster");
    double ftv[27];
    int32_t hist[20];
    lm_ftv(&v, 0, 2, ftv, hist);
    int total = 0;
    for (int b = 0; b < 20; b++) total += hist[b];
    CHECK(total == 27, "histogram counts every active unit");
    CHECK(hist[19] + hist[18] >= 9 && hist[0] + hist[1] >= 9, "units of task 0 at FTV ~ +1, of task 2 at ~ -1");
    lm_variance_free(&v);
}

/* Lesioning units zeroes exactly their columns of W_rec and W_out; nothing else changes (sparse and
 * dense storage alike). */
static void test_lesion_changes_only_its_columns(void) {
    for (int kind = 0; kind < 2; kind++) {
        LmMaskSpec ms = {.kind = kind ? LM_MASK_LOCAL2D : LM_MASK_FULL, .d = 2};
        LmMask mask;
        CHECK(lm_mask_build(&ms, 16, &mask) == 0, "mask");
        LmModelConfig mc;
        lm_model_config_default(&mc, 40, 16, 17);
        mc.rec_init = LM_INIT_GAUSSIAN, mc.rec_gain = 1;
        LmModel *m = lm_model_new(&mc, &mask);
        LmRng rng = lm_rng_derive(11, 1);
        lm_model_init(m, &rng);
        float before[6][16 * 40], after[6][16 * 40];
        for (int t = 0; t < 6; t++) lm_model_export_tensor(m, t, before[t]);
        int units[2] = {3, 9};
        lm_lesion_apply(m, units, 2);
        for (int t = 0; t < 6; t++) lm_model_export_tensor(m, t, after[t]);
        for (int t = 0; t < 6; t++) {
            LmTensorInfo ti = lm_model_tensor_info(m, t);
            int rows = (int)ti.shape[0], cols = ti.ndim > 1 ? (int)ti.shape[1] : 1, bad = 0;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    float b = before[t][r * cols + c], a = after[t][r * cols + c];
                    int hit = (t == 2 || t == 4) && (c == 3 || c == 9);
                    bad += hit ? a != 0 : a != b;
                }
            CHECK(bad == 0, "mask %d tensor %s: %d wrong entries", kind, ti.name, bad);
        }
        CHECK(before[2][5 * 16 + 3] != 0 || kind, "the lesioned column held weights");
        lm_model_free(m);
        lm_mask_free(&mask);
    }
}

int main(void) {
    RUN(test_epoch_variance_planted);
    RUN(test_refine_converges_where_adam_stalls);
    RUN(test_planted_clusters);
    RUN(test_variance_clusters_on_planted_table);
    RUN(test_lesion_changes_only_its_columns);
    RUN(test_diag_jacobian_closed_form);
    RUN(test_jacobian_finite_differences);
    RUN(test_diag_fixed_points);
    RUN(test_linear_fixed_point);
    RUN(test_line_attractor);
    RUN(test_participation_ratio);
    RUN(test_ranks_and_eigenvalues);
    RUN(test_states_follow_the_update_equation);
    return CHECK_DONE();
}
