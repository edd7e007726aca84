/* The public C API (include/lmrnn.h) against independent expectations: counts and names of the
 * batteries, masks counted by brute force, a forward pass recomputed in double from the exported
 * tensors, stream rewind and state round trips, a trained run reloaded and evaluated, its fixed points
 * checked against the update equation recomputed here, lesions against the columns they zero and the
 * evaluation they change, and every kind of bad argument answered with a status and a message (never a
 * crash). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "lmrnn.h"

static char tmpdir[256];

static int has_error(const char *needle) { return strstr(lmrnn_last_error(), needle) != NULL; }

static void test_version_and_batteries(void) {
    int ma = -1, mi = -1, pa = -1;
    const char *v = lmrnn_version(&ma, &mi, &pa);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", LMRNN_VERSION_MAJOR, LMRNN_VERSION_MINOR, LMRNN_VERSION_PATCH);
    CHECK(!strcmp(v, want) && !strcmp(v, LMRNN_VERSION_STRING), "%s", v);
    CHECK(ma == LMRNN_VERSION_MAJOR && mi == LMRNN_VERSION_MINOR && pa == LMRNN_VERSION_PATCH);
    CHECK(lmrnn_battery_count() == 3);
    const int sizes[3] = {20, 82, 126};
    for (int i = 0; i < 3; i++) {
        int n = 0;
        CHECK(lmrnn_battery_size(lmrnn_battery_name(i), &n) == LMRNN_OK && n == sizes[i], "%s: %d", lmrnn_battery_name(i), n);
        CHECK(lmrnn_last_error()[0] == '\0');
    }
    CHECK(lmrnn_battery_name(3) == NULL && lmrnn_battery_name(-1) == NULL);
    lmrnn_task_info ti;
    CHECK(lmrnn_battery_task("modcog82", 0, NULL, &ti) == LMRNN_OK && !strcmp(ti.name, "go") && !strcmp(ti.family, "go"));
    CHECK(lmrnn_battery_task("dms,dmsintseq", 1, NULL, &ti) == LMRNN_OK);
    CHECK(!strcmp(ti.name, "dmsintseq") && !strcmp(ti.canonical, "dmsintrseqr") && !strcmp(ti.group, "intseq"),
          "%s %s %s", ti.name, ti.canonical, ti.group);
    CHECK(!strcmp(ti.family, "match") && strstr(ti.modifiers, "int") && strstr(ti.layout, "decision"));
    int n = 7;
    CHECK(lmrnn_battery_size("go,nosuchtask", &n) == LMRNN_ERR_ARG && has_error("nosuchtask") && n == 7);
    CHECK(lmrnn_battery_size(NULL, &n) == LMRNN_ERR_ARG && has_error("NULL"));
    CHECK(lmrnn_battery_task("yang20", 20, NULL, &ti) == LMRNN_ERR_ARG && has_error("position 20"));
    CHECK(lmrnn_battery_task("yang20", 0, "Q99", &ti) == LMRNN_ERR_ARG && has_error("Q99"));
    unsigned fix = 0;
    CHECK(lmrnn_fix_parse("all", &fix) == LMRNN_OK && fix == 0x7FFFu, "%#x", fix); /* Q1..Q23: 15 switches */
    CHECK(lmrnn_set_threads(0) == LMRNN_ERR_ARG && lmrnn_set_threads(1) == LMRNN_OK);
}

static void test_trial(void) {
    float ob[LMRNN_TMAX * LMRNN_OBS];
    int32_t gt[LMRNN_TMAX];
    lmrnn_trial_info a, b;
    CHECK(lmrnn_trial("dlygo", 3, 0, NULL, ob, LMRNN_TMAX * LMRNN_OBS, gt, LMRNN_TMAX, &a) == LMRNN_OK);
    CHECK(a.len > 0 && a.len <= LMRNN_TMAX && a.modality == 0 && a.n_periods >= 3);
    CHECK(a.period_start[0] == 0 && a.period_end[a.n_periods - 1] == a.len);
    CHECK(!strcmp(a.period_name[a.n_periods - 1], "decision"));
    /* Fixation input is on before the decision and every label before it is "fixate". */
    int ds = a.period_start[a.n_periods - 1], ok = 1;
    for (int t = 0; t < ds; t++) ok &= ob[t * LMRNN_OBS] == 1.0f && gt[t] == 0;
    for (int t = a.len; t < LMRNN_TMAX; t++) ok &= gt[t] == 0 && ob[t * LMRNN_OBS] == 0.0f;
    CHECK(ok);
    /* Trial 1 alternates the modality; the same call again is the same trial. */
    CHECK(lmrnn_trial("dlygo", 3, 1, NULL, NULL, 0, NULL, 0, &b) == LMRNN_OK && b.modality == 1);
    float ob2[LMRNN_TMAX * LMRNN_OBS];
    CHECK(lmrnn_trial("dlygo", 3, 0, NULL, ob2, LMRNN_TMAX * LMRNN_OBS, NULL, 0, NULL) == LMRNN_OK);
    CHECK(memcmp(ob, ob2, sizeof ob) == 0);
    CHECK(lmrnn_trial("dm1", 0, 0, NULL, NULL, 0, NULL, 0, &b) == LMRNN_OK && b.modality == -1);
    CHECK(lmrnn_trial("nosuch", 0, 0, NULL, ob, LMRNN_TMAX * LMRNN_OBS, gt, LMRNN_TMAX, &a) == LMRNN_ERR_ARG &&
          has_error("nosuch"));
    CHECK(lmrnn_trial("go,dm1", 0, 0, NULL, NULL, 0, NULL, 0, &a) == LMRNN_ERR_ARG && has_error("one task"));
    CHECK(lmrnn_trial("go", 0, -1, NULL, NULL, 0, NULL, 0, &a) == LMRNN_ERR_ARG && has_error("index"));
    CHECK(lmrnn_trial("go", 0, 0, NULL, ob, 10, NULL, 0, &a) == LMRNN_ERR_ARG && has_error("buffer of 10"));
}

static void test_stream(void) {
    lmrnn_stream *s = NULL;
    const int T = 50, B = 3;
    CHECK(lmrnn_stream_create(&s, "yang20", B, T, 11, NULL) == LMRNN_OK && s);
    int w, bb, n_in;
    CHECK(lmrnn_stream_shape(s, &w, &bb, &n_in) == LMRNN_OK && w == T && bb == B && n_in == 53);
    const size_t ni = (size_t)T * B * n_in, nl = (size_t)T * B;
    float *x = malloc(3 * ni * sizeof(float)), *y = malloc(3 * ni * sizeof(float));
    int32_t *l = malloc(3 * nl * sizeof(int32_t)), *m = malloc(3 * nl * sizeof(int32_t));
    uint8_t *d = malloc(3 * nl);
    CHECK(lmrnn_stream_next(s, 3, x, 3 * ni, l, 3 * nl, d, 3 * nl) == LMRNN_OK);
    /* Every step has exactly one rule column set, and labels are actions. */
    int ok = 1;
    for (size_t r = 0; r < 3 * nl; r++) {
        int ones = 0;
        for (int k = 33; k < n_in; k++) ones += x[r * n_in + k] == 1.0f;
        ok &= ones == 1 && l[r] >= 0 && l[r] < LMRNN_ACTIONS && d[r] <= 1;
    }
    CHECK(ok);
    /* Rewind replays the same windows; one window at a time equals three at once. */
    CHECK(lmrnn_stream_rewind(s) == LMRNN_OK);
    for (int c = 0; c < 3; c++) CHECK(lmrnn_stream_next(s, 1, y + c * ni, ni, m + c * nl, nl, NULL, 0) == LMRNN_OK);
    CHECK(memcmp(x, y, 3 * ni * sizeof(float)) == 0 && memcmp(l, m, 3 * nl * sizeof(int32_t)) == 0);
    /* Save after window 1, read 2 and 3, restore: windows 2 and 3 again. */
    size_t sn = lmrnn_stream_state_size(s);
    uint8_t *st = malloc(sn);
    CHECK(lmrnn_stream_rewind(s) == LMRNN_OK && lmrnn_stream_next(s, 1, y, ni, m, nl, NULL, 0) == LMRNN_OK);
    CHECK(lmrnn_stream_save_state(s, st, sn) == LMRNN_OK);
    CHECK(lmrnn_stream_next(s, 2, y, 2 * ni, m, 2 * nl, NULL, 0) == LMRNN_OK);
    CHECK(lmrnn_stream_load_state(s, st, sn) == LMRNN_OK);
    CHECK(lmrnn_stream_next(s, 2, y, 2 * ni, m, 2 * nl, NULL, 0) == LMRNN_OK);
    CHECK(memcmp(x + ni, y, 2 * ni * sizeof(float)) == 0 && memcmp(l + nl, m, 2 * nl * sizeof(int32_t)) == 0);
    CHECK(lmrnn_stream_trials(s) > 0);
    /* A state of another configuration is refused and leaves the stream alone. */
    lmrnn_stream *o = NULL;
    CHECK(lmrnn_stream_create(&o, "yang20", B, T, 12, NULL) == LMRNN_OK);
    CHECK(lmrnn_stream_load_state(o, st, sn) == LMRNN_ERR_ARG && has_error("seed"));
    CHECK(lmrnn_stream_load_state(o, st, sn - 1) == LMRNN_ERR_ARG);
    lmrnn_stream_free(o);
    /* Bad arguments. */
    CHECK(lmrnn_stream_next(s, 1, y, ni - 1, m, nl, NULL, 0) == LMRNN_ERR_ARG && has_error("stream inputs"));
    CHECK(lmrnn_stream_next(s, 1, y, ni, m, nl + 1, NULL, 0) == LMRNN_ERR_ARG && has_error("stream labels"));
    CHECK(lmrnn_stream_next(s, 0, y, ni, m, nl, NULL, 0) == LMRNN_ERR_ARG && has_error("count"));
    CHECK(lmrnn_stream_save_state(s, st, sn + 1) == LMRNN_ERR_ARG);
    lmrnn_stream *bad = (lmrnn_stream *)1;
    CHECK(lmrnn_stream_create(&bad, "yang20", -4, T, 0, NULL) == LMRNN_ERR_ARG && has_error("batch") && !bad);
    CHECK(lmrnn_stream_create(&bad, "yang20", 4, 0, 0, NULL) == LMRNN_ERR_ARG && has_error("window"));
    CHECK(lmrnn_stream_create(&bad, "yang21", 4, 10, 0, NULL) == LMRNN_ERR_ARG && has_error("yang21"));
    CHECK(lmrnn_stream_create(&bad, "yang20", 4, 10, 0, "Q0") == LMRNN_ERR_ARG && has_error("Q0"));
    lmrnn_stream_free(s);
    lmrnn_stream_free(NULL);
    free(x), free(y), free(l), free(m), free(d), free(st);
}

static void test_mask(void) {
    const char *k[] = {"hidden", "mask", "d"}, *v[] = {"64", "local2d", "2.5"};
    lmrnn_mask_info info;
    CHECK(lmrnn_mask_build(k, v, 3, NULL, 0, &info) == LMRNN_OK && info.n == 64);
    uint8_t *m = malloc(64 * 64);
    CHECK(lmrnn_mask_build(k, v, 3, m, 64 * 64, &info) == LMRNN_OK);
    /* Brute force on the open 8x8 sheet: i and j connect iff their distance is below 2.5. */
    int ok = 1;
    int64_t nnz = 0;
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 64; j++) {
            int dx = i % 8 - j % 8, dy = i / 8 - j / 8;
            int want = dx * dx + dy * dy < 6.25;
            ok &= m[i * 64 + j] == want;
            nnz += want;
        }
    CHECK(ok && info.nnz == nnz && fabs(info.density - nnz / 4096.0) < 1e-12, "%lld", (long long)info.nnz);
    const char *bk[] = {"hidden", "mask"}, *bv[] = {"64", "blob"};
    CHECK(lmrnn_mask_build(bk, bv, 2, NULL, 0, &info) == LMRNN_ERR_ARG && has_error("blob"));
    CHECK(lmrnn_mask_build(k, v, 3, m, 100, &info) == LMRNN_ERR_ARG && has_error("mask"));
    CHECK(lmrnn_mask_build(k, v, -1, m, 64 * 64, &info) == LMRNN_ERR_ARG);
    free(m);
}

/* h_t = relu(W_in x_t + b_in + W_rec h_{t-1} + b_rec), y_t = W_out h_t + b_out in double. */
static void reference_forward(int T, int B, int n_in, int N, int n_out, float *const w[6], const float *x,
                              double *h, double *y) {
    double *prev = calloc((size_t)B * N, sizeof(double));
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const float *xt = x + ((size_t)t * B + b) * n_in;
            double *ht = h + ((size_t)t * B + b) * N;
            for (int i = 0; i < N; i++) {
                double a = w[1][i] + w[3][i];
                for (int k = 0; k < n_in; k++) a += (double)w[0][i * n_in + k] * xt[k];
                for (int j = 0; j < N; j++) a += (double)w[2][i * N + j] * prev[b * N + j];
                ht[i] = a > 0 ? a : 0;
            }
            for (int o = 0; o < n_out; o++) {
                double a = w[5][o];
                for (int i = 0; i < N; i++) a += (double)w[4][o * N + i] * ht[i];
                y[((size_t)t * B + b) * n_out + o] = a;
            }
            memcpy(prev + b * N, ht, N * sizeof(double));
        }
    free(prev);
}

static void test_model_forward(void) {
    const char *k[] = {"battery", "hidden", "mask", "init", "seed"}, *v[] = {"go,dm1", "16", "full", "gaussian", "3"};
    lmrnn_model *m = NULL;
    CHECK(lmrnn_model_create(&m, k, v, 5) == LMRNN_OK && m);
    lmrnn_model_info info;
    CHECK(lmrnn_model_info_get(m, &info) == LMRNN_OK);
    CHECK(info.n_in == 35 && info.n_hidden == 16 && info.n_out == 17 && info.n_tasks == 2 && info.step == 0);
    float *w[6];
    size_t total = 0;
    for (int i = 0; i < 6; i++) {
        const char *name;
        int nd;
        int64_t sh[2];
        CHECK(lmrnn_model_tensor_shape(m, i, &name, &nd, sh) == LMRNN_OK);
        w[i] = malloc((size_t)(sh[0] * sh[1]) * sizeof(float));
        CHECK(lmrnn_model_get_tensor(m, i, w[i], (size_t)(sh[0] * sh[1])) == LMRNN_OK);
        total += (size_t)(sh[0] * sh[1]);
    }
    CHECK(total == (size_t)info.n_params, "%zu vs %lld", total, (long long)info.n_params);
    const int T = 7, B = 2;
    float x[7 * 2 * 35];
    for (int i = 0; i < T * B * 35; i++) x[i] = (float)sin(0.37 * i);
    float hid[7 * 2 * 16], lg[7 * 2 * 17];
    double rh[7 * 2 * 16], ry[7 * 2 * 17];
    CHECK(lmrnn_model_forward(m, T, B, x, sizeof x / 4, hid, sizeof hid / 4, lg, sizeof lg / 4) == LMRNN_OK);
    reference_forward(T, B, 35, 16, 17, w, x, rh, ry);
    double err = 0;
    for (int i = 0; i < T * B * 16; i++) err = fmax(err, fabs(hid[i] - rh[i]));
    for (int i = 0; i < T * B * 17; i++) err = fmax(err, fabs(lg[i] - ry[i]));
    CHECK(err < 1e-4, "max error %g", err);
    /* set_tensor round trip changes the forward as the reference says. */
    for (int i = 0; i < 17 * 16; i++) w[4][i] *= 0.5f;
    CHECK(lmrnn_model_set_tensor(m, 4, w[4], 17 * 16) == LMRNN_OK);
    CHECK(lmrnn_model_forward(m, T, B, x, sizeof x / 4, NULL, 0, lg, sizeof lg / 4) == LMRNN_OK);
    reference_forward(T, B, 35, 16, 17, w, x, rh, ry);
    err = 0;
    for (int i = 0; i < T * B * 17; i++) err = fmax(err, fabs(lg[i] - ry[i]));
    CHECK(err < 1e-4, "max error %g", err);
    /* Bad arguments. */
    CHECK(lmrnn_model_forward(m, T, B, x, sizeof x / 4 - 1, NULL, 0, lg, sizeof lg / 4) == LMRNN_ERR_ARG &&
          has_error("forward inputs"));
    CHECK(lmrnn_model_forward(m, -1, B, x, sizeof x / 4, NULL, 0, NULL, 0) == LMRNN_ERR_ARG && has_error("T and B"));
    x[3] = NAN;
    CHECK(lmrnn_model_forward(m, T, B, x, sizeof x / 4, NULL, 0, NULL, 0) == LMRNN_ERR_ARG && has_error("non-finite"));
    CHECK(lmrnn_model_get_tensor(m, 6, w[0], 1) == LMRNN_ERR_ARG && has_error("tensor index"));
    CHECK(lmrnn_model_set_tensor(m, 0, w[0], 3) == LMRNN_ERR_ARG && has_error("W_in"));
    lmrnn_model_free(m);
    /* W_rec outside a diagonal mask must stay zero. */
    const char *dk[] = {"battery", "hidden", "mask"}, *dv[] = {"go", "4", "diag"};
    CHECK(lmrnn_model_create(&m, dk, dv, 3) == LMRNN_OK);
    float rec[16] = {0};
    rec[1] = 0.5f;
    CHECK(lmrnn_model_set_tensor(m, 2, rec, 16) == LMRNN_ERR_ARG && lmrnn_last_error()[0]);
    uint8_t mk[16];
    CHECK(lmrnn_model_mask(m, mk, 16) == LMRNN_OK && mk[0] == 1 && mk[1] == 0 && mk[5] == 1);
    lmrnn_model_free(m);
    const char *ek[] = {"hiden"}, *ev[] = {"3"};
    CHECK(lmrnn_model_create(&m, ek, ev, 1) == LMRNN_ERR_ARG && has_error("hiden") && !m);
    for (int i = 0; i < 6; i++) free(w[i]);
}

static void test_train_load_evaluate(void) {
    char out[300];
    snprintf(out, sizeof out, "%s/run", tmpdir);
    const char *k[] = {"battery", "hidden", "d", "batch", "window", "steps", "eval-every", "eval-trials", "seed", "out"};
    const char *v[] = {"go,dm1,dms", "16", "2", "2", "40", "30", "0", "6", "4", out};
    lmrnn_train_result r;
    CHECK(lmrnn_train(k, v, 10, &r) == LMRNN_OK, "%s", lmrnn_last_error());
    CHECK(!strcmp(r.reason, "max_steps") && r.step == 30 && r.trials > 0 && isfinite(r.mean), "%s", r.reason);
    /* Again into the same directory: refused (a run is there), unless resumed further. */
    CHECK(lmrnn_train(k, v, 10, &r) == LMRNN_ERR_FAILED && has_error("resume"));
    const char *rk[] = {"resume", "steps"}, *rv[] = {out, "40"};
    CHECK(lmrnn_train(rk, rv, 2, &r) == LMRNN_OK && r.step == 40, "%s", lmrnn_last_error());
    const char *bk[] = {"resume", "hidden"}, *bv[] = {out, "32"};
    CHECK(lmrnn_train(bk, bv, 2, &r) == LMRNN_ERR_ARG && has_error("hidden"));

    lmrnn_model *m = NULL;
    CHECK(lmrnn_model_load(&m, out) == LMRNN_OK, "%s", lmrnn_last_error());
    lmrnn_model_info info;
    CHECK(lmrnn_model_info_get(m, &info) == LMRNN_OK && info.step == 40 && info.n_tasks == 3 && info.seed == 4);
    size_t need = 0;
    CHECK(lmrnn_model_config_json(m, NULL, 0, &need) == LMRNN_OK && need > 10);
    char *doc = malloc(need);
    CHECK(lmrnn_model_config_json(m, doc, need, NULL) == LMRNN_OK && strstr(doc, "\"hidden\":16"));
    CHECK(lmrnn_model_config_json(m, doc, need - 1, NULL) == LMRNN_ERR_ARG);
    free(doc);
    /* Evaluation = the argmax at the last step of each evaluation trial through forward. */
    double perf[3], mean;
    int32_t correct[3];
    CHECK(lmrnn_model_evaluate(m, 6, NULL, NULL, perf, correct, 3, &mean) == LMRNN_OK);
    int n_in = info.n_in;
    float *x = calloc((size_t)LMRNN_TMAX * n_in, sizeof(float)), lg[LMRNN_TMAX * 17];
    int32_t gt[LMRNN_TMAX];
    for (int pos = 0; pos < 3; pos++) {
        int c = 0;
        for (int i = 0; i < 6; i++) {
            lmrnn_trial_info ti;
            CHECK(lmrnn_model_eval_trial(m, pos, i, NULL, x, (size_t)LMRNN_TMAX * n_in, gt, LMRNN_TMAX, &ti) == LMRNN_OK);
            CHECK(lmrnn_model_forward(m, ti.len, 1, x, (size_t)ti.len * n_in, NULL, 0, lg, (size_t)ti.len * 17) == LMRNN_OK);
            const float *last = lg + (size_t)(ti.len - 1) * 17;
            int am = 0;
            for (int o = 1; o < 17; o++) if (last[o] > last[am]) am = o;
            c += am == gt[ti.len - 1];
        }
        CHECK(c == correct[pos] && fabs(perf[pos] - c / 6.0) < 1e-12, "task %d: %d vs %d", pos, c, correct[pos]);
    }
    free(x);
    CHECK(lmrnn_model_evaluate(m, 0, NULL, NULL, perf, NULL, 3, NULL) == LMRNN_ERR_ARG && has_error("trials"));
    CHECK(lmrnn_model_evaluate(m, 5, NULL, "best", perf, NULL, 3, NULL) == LMRNN_ERR_ARG && has_error("best"));
    CHECK(lmrnn_model_evaluate(m, 5, NULL, NULL, perf, NULL, 2, NULL) == LMRNN_ERR_ARG && has_error("at least 3"));
    CHECK(lmrnn_model_eval_trial(m, 3, 0, NULL, NULL, 0, NULL, 0, NULL) == LMRNN_ERR_ARG);
    lmrnn_model_free(m);
    /* Bad run directories. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/nowhere", tmpdir);
    CHECK(lmrnn_model_load(&m, bad) == LMRNN_ERR_FAILED && has_error("nowhere") && !m);
    CHECK(lmrnn_model_load(&m, tmpdir) == LMRNN_ERR_FAILED && has_error("checkpoint"));
    snprintf(bad, sizeof bad, "%s/junk.npz", tmpdir);
    FILE *f = fopen(bad, "w");
    fputs("not a zip", f);
    fclose(f);
    CHECK(lmrnn_model_load(&m, bad) == LMRNN_ERR_FAILED && has_error("junk.npz"));
    const char *nk[] = {"steps"}, *nv[] = {"5"};
    CHECK(lmrnn_train(nk, nv, 1, &r) == LMRNN_ERR_ARG && has_error("--out"));
}

/* The array `name` of a result, checked for dtype and element count. */
static const void *result_data(const lmrnn_result *r, const char *name, int dtype, size_t count) {
    lmrnn_array a;
    CHECK(lmrnn_result_find(r, name, &a) == LMRNN_OK, "%s: %s", name, lmrnn_last_error());
    CHECK(a.dtype == dtype && a.count == count, "%s: dtype %d count %zu (want %d, %zu)", name, a.dtype, a.count,
          dtype, count);
    return a.dtype == dtype && a.count == count ? a.data : NULL;
}

/* Fixed points of the run of test_train_load_evaluate: each reported q is 1/2 |F(h) - h|^2 with F the
 * network's update (ngym rule, relu, alpha = 1: F(h) = relu(W_rec h + W_in u + b_in + b_rec)) computed
 * here in double from the exported tensors, u is the evaluation trial's input at the period's start,
 * and a point is stable exactly when its leading eigenvalue is inside the unit circle. */
static void check_fixed_points(lmrnn_model *m, int N, int n_in) {
    const char *k[] = {"task", "period", "inits", "trials", "max_iters"}, *v[] = {"dms", "delay", "64", "8", "2000"};
    lmrnn_result *r = NULL;
    CHECK(lmrnn_analyze(m, "fixedpoints", k, v, 5, &r) == LMRNN_OK && r, "%s", lmrnn_last_error());
    if (!r) return;
    lmrnn_array pa;
    CHECK(lmrnn_result_find(r, "points", &pa) == LMRNN_OK && pa.ndim == 2 && pa.shape[1] == N && pa.shape[0] >= 1);
    const int P = (int)pa.shape[0];
    const double *pts = pa.data, *q = result_data(r, "q", LMRNN_FLOAT64, P);
    const double *u = result_data(r, "input", LMRNN_FLOAT64, n_in);
    const double *re = result_data(r, "eig_re", LMRNN_FLOAT64, (size_t)P * N);
    const double *im = result_data(r, "eig_im", LMRNN_FLOAT64, (size_t)P * N);
    const uint8_t *stable = result_data(r, "stable", LMRNN_UINT8, P);
    const int32_t *trial = result_data(r, "input_trial", LMRNN_INT32, 1);
    float *w[6];
    for (int i = 0; i < 6; i++) {
        int64_t shape[2];
        lmrnn_model_tensor_shape(m, i, NULL, NULL, shape);
        w[i] = malloc(sizeof(float) * shape[0] * shape[1]);
        lmrnn_model_get_tensor(m, i, w[i], (size_t)(shape[0] * shape[1]));
    }
    if (q && u && re && im && stable && trial) {
        float *x = calloc((size_t)LMRNN_TMAX * n_in, sizeof(float));
        lmrnn_trial_info ti;
        CHECK(lmrnn_model_eval_trial(m, 2, *trial, NULL, x, (size_t)LMRNN_TMAX * n_in, NULL, 0, &ti) == LMRNN_OK);
        int start = -1;
        for (int p = 0; p < ti.n_periods; p++)
            if (!strcmp(ti.period_name[p], "delay")) start = ti.period_start[p];
        int same = start >= 0;
        for (int i = 0; same && i < n_in; i++) same = u[i] == x[(size_t)start * n_in + i];
        CHECK(same, "the input is not trial %d's at the delay's start %d", *trial, start);
        free(x);
        for (int p = 0; p < P; p++) {
            double q_ref = 0;
            for (int i = 0; i < N; i++) {
                double s = w[1][i] + w[3][i];
                for (int j = 0; j < n_in; j++) s += (double)w[0][(size_t)i * n_in + j] * u[j];
                for (int j = 0; j < N; j++) s += (double)w[2][(size_t)i * N + j] * pts[(size_t)p * N + j];
                const double d = (s > 0 ? s : 0) - pts[(size_t)p * N + i];
                q_ref += 0.5 * d * d;
            }
            CHECK(fabs(q_ref - q[p]) <= 1e-9 * fmax(1.0, q_ref), "point %d: q %g, F gives %g", p, q[p], q_ref);
            const double lam1 = hypot(re[(size_t)p * N], im[(size_t)p * N]);
            CHECK(stable[p] == (lam1 < 1), "point %d: stable %d, |lambda_1| %g", p, stable[p], lam1);
            for (int i = 1; i < N; i++)
                CHECK(hypot(re[(size_t)p * N + i], im[(size_t)p * N + i]) <= hypot(re[(size_t)p * N + i - 1], im[(size_t)p * N + i - 1]) + 1e-12);
        }
        CHECK(q[0] < 1e-6, "the best point is not a fixed point: q = %g", q[0]);
    }
    for (int i = 0; i < 6; i++) free(w[i]);
    lmrnn_array a;
    CHECK(lmrnn_result_get(r, lmrnn_result_count(r), &a) == LMRNN_ERR_ARG && has_error("outside"));
    CHECK(lmrnn_result_find(r, "nosuch", &a) == LMRNN_ERR_ARG && has_error("nosuch"));
    lmrnn_result_free(r);
}

/* Lesions: lmrnn_model_lesion zeroes exactly the units' columns of W_rec and W_out; the lesion table's
 * change is the evaluation of that lesioned model minus the intact one's. */
static void check_lesion(lmrnn_model *m, const char *run, int N) {
    const int32_t units[] = {1, 5, 6};
    const char *k[] = {"trials", "seed"}, *v[] = {"12", "77"};
    lmrnn_result *r = NULL;
    CHECK(lmrnn_analyze_lesion(m, units, NULL, 3, 0, k, v, 2, &r) == LMRNN_OK, "%s", lmrnn_last_error());
    const double *intact = r ? result_data(r, "intact", LMRNN_FLOAT64, 3) : NULL;
    const double *change = r ? result_data(r, "change", LMRNN_FLOAT64, 3) : NULL;
    const int32_t *count = r ? result_data(r, "group_units", LMRNN_INT32, 1) : NULL;
    CHECK(count && *count == 3);
    const uint64_t seed = 77;
    double before[3], after[3];
    CHECK(lmrnn_model_evaluate(m, 12, &seed, NULL, before, NULL, 3, NULL) == LMRNN_OK);
    float *rec0 = malloc(sizeof(float) * N * N), *out0 = malloc(sizeof(float) * 17 * N);
    float *rec1 = malloc(sizeof(float) * N * N), *out1 = malloc(sizeof(float) * 17 * N);
    lmrnn_model_get_tensor(m, 2, rec0, (size_t)N * N);
    lmrnn_model_get_tensor(m, 4, out0, (size_t)17 * N);
    CHECK(lmrnn_model_lesion(m, units, 3) == LMRNN_OK);
    lmrnn_model_get_tensor(m, 2, rec1, (size_t)N * N);
    lmrnn_model_get_tensor(m, 4, out1, (size_t)17 * N);
    int exact = 1, some_nonzero = 0;
    for (int j = 0; j < N; j++) {
        const int lesioned = j == 1 || j == 5 || j == 6;
        for (int i = 0; i < N; i++) {
            exact &= rec1[(size_t)i * N + j] == (lesioned ? 0.0f : rec0[(size_t)i * N + j]);
            some_nonzero |= lesioned && rec0[(size_t)i * N + j] != 0;
        }
        for (int o = 0; o < 17; o++) exact &= out1[(size_t)o * N + j] == (lesioned ? 0.0f : out0[(size_t)o * N + j]);
    }
    CHECK(exact && some_nonzero);
    CHECK(lmrnn_model_evaluate(m, 12, &seed, NULL, after, NULL, 3, NULL) == LMRNN_OK);
    for (int t = 0; intact && change && t < 3; t++)
        CHECK(intact[t] == before[t] && fabs(change[t] - (after[t] - before[t])) < 1e-12, "task %d", t);
    lmrnn_result_free(r);
    free(rec0), free(out0), free(rec1), free(out1);
    /* Bad lesions: nothing changes. */
    const int32_t twice[] = {2, 2}, outside[] = {N}, groups[] = {0, 3};
    CHECK(lmrnn_model_lesion(m, twice, 2) == LMRNN_ERR_ARG && has_error("twice"));
    CHECK(lmrnn_model_lesion(m, outside, 1) == LMRNN_ERR_ARG && has_error("outside"));
    CHECK(lmrnn_analyze_lesion(m, units, groups, 2, 2, NULL, NULL, 0, &r) == LMRNN_ERR_ARG && has_error("group 3") && !r);
    CHECK(lmrnn_analyze_lesion(m, units, NULL, 3, 0, k, v, -1, &r) == LMRNN_ERR_ARG);
    lmrnn_model_free(m);
    CHECK(lmrnn_model_load(&m, run) == LMRNN_OK);   /* the lesion was in the handle only */
    float *again = malloc(sizeof(float) * N * N);
    lmrnn_model_get_tensor(m, 2, again, (size_t)N * N);
    CHECK(again[1] != 0.0f || again[N + 1] != 0.0f || again[2 * N + 1] != 0.0f);
    free(again);
    lmrnn_model_free(m);
}

static void test_analyses(void) {
    char run[300];
    snprintf(run, sizeof run, "%s/run", tmpdir);
    lmrnn_model *m = NULL;
    CHECK(lmrnn_model_load(&m, run) == LMRNN_OK, "%s", lmrnn_last_error());
    if (!m) return;
    lmrnn_model_info info;
    lmrnn_model_info_get(m, &info);
    size_t need;
    lmrnn_model_config_json(m, NULL, 0, &need);
    char *cfg = malloc(need);
    lmrnn_model_config_json(m, cfg, need, NULL);
    CHECK(strstr(cfg, "\"rule\":\"ngym\"") && strstr(cfg, "\"act\":\"relu\"") && strstr(cfg, "\"alpha\":1,"),
          "the fixed-point check assumes the default update rule");
    free(cfg);
    check_fixed_points(m, info.n_hidden, info.n_in);
    /* States: K = tasks x trials, each trial's states are forward's on its evaluation inputs. */
    const char *sk[] = {"tasks", "trials"}, *sv[] = {"dms,go", "3"};
    lmrnn_result *r = NULL;
    CHECK(lmrnn_analyze(m, "states", sk, sv, 2, &r) == LMRNN_OK, "%s", lmrnn_last_error());
    lmrnn_array h;
    CHECK(r && lmrnn_result_find(r, "h", &h) == LMRNN_OK && h.ndim == 3 && h.shape[0] == 6 && h.shape[2] == info.n_hidden);
    lmrnn_array names;
    CHECK(r && lmrnn_result_find(r, "task_names", &names) == LMRNN_OK && names.dtype == LMRNN_TEXT &&
          !strcmp(names.data, "dms;go"));
    if (r && h.ndim == 3) {
        float *x = calloc((size_t)LMRNN_TMAX * info.n_in, sizeof(float));
        float *hid = malloc(sizeof(float) * LMRNN_TMAX * info.n_hidden);
        lmrnn_trial_info ti;
        lmrnn_model_eval_trial(m, 0, 1, NULL, x, (size_t)LMRNN_TMAX * info.n_in, NULL, 0, &ti);   /* go, trial 1 */
        lmrnn_model_forward(m, ti.len, 1, x, (size_t)ti.len * info.n_in, hid, (size_t)ti.len * info.n_hidden, NULL, 0);
        const float *hk = (const float *)h.data + (size_t)4 * h.shape[1] * info.n_hidden;
        double err = 0;
        for (size_t e = 0; e < (size_t)ti.len * info.n_hidden; e++) err = fmax(err, fabs(hk[e] - hid[e]));
        CHECK(err < 1e-5, "states differ from forward by %g", err);
        free(x), free(hid);
    }
    lmrnn_result_free(r);
    /* Summary: a new model (step 0 of the same run) has not changed from its initial weights. */
    CHECK(lmrnn_analyze(m, "summary", NULL, NULL, 0, &r) == LMRNN_OK, "%s", lmrnn_last_error());
    const double *pr = r ? result_data(r, "participation_ratio", LMRNN_FLOAT64, 1) : NULL;
    const double *change = r ? result_data(r, "weight_change", LMRNN_FLOAT64, 3) : NULL;
    CHECK(pr && *pr >= 1 && *pr <= info.n_hidden && change && change[0] > 0);
    lmrnn_result_free(r);
    /* Bad input: a status, a message, no result. */
    const char *bk[][2] = {{"task", "nosuch"}, {"period", "lunch"}, {"trials", "0"}, {"out", "x.npz"}, {"hiden", "3"}};
    const char *want[] = {"nosuch", "lunch", "trials", "command line", "hiden"};
    for (int i = 0; i < 5; i++) {
        const char *k[] = {"task", "period", bk[i][0]}, *v[] = {"dms", "delay", bk[i][1]};
        r = (lmrnn_result *)&r;   /* a later key replaces an earlier one */
        CHECK(lmrnn_analyze(m, "fixedpoints", k, v, 3, &r) == LMRNN_ERR_ARG && has_error(want[i]) && !r, "%d: %s", i,
              lmrnn_last_error());
        lmrnn_result_free(r);
    }
    const char *pk[] = {"task", "period"}, *pv[] = {"dms", "stim1"};
    CHECK(lmrnn_analyze(m, "fixedpoints", pk, pv, 2, &r) == LMRNN_ERR_ARG && has_error("no 'stim1' period"),
          "%s", lmrnn_last_error());
    CHECK(lmrnn_analyze(m, "lesion", NULL, NULL, 0, &r) == LMRNN_ERR_ARG && has_error("lmrnn_analyze_lesion"));
    CHECK(lmrnn_analyze(m, "variance", pk, pv, -1, &r) == LMRNN_ERR_ARG);
    CHECK(lmrnn_analyze(NULL, "states", NULL, NULL, 0, &r) == LMRNN_ERR_ARG && has_error("NULL"));
    lmrnn_result_free(NULL);
    check_lesion(m, run, info.n_hidden);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lmrnn_test_api_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_version_and_batteries);
    RUN(test_trial);
    RUN(test_stream);
    RUN(test_mask);
    RUN(test_model_forward);
    RUN(test_train_load_evaluate);
    RUN(test_analyses);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return CHECK_DONE();
}
