/* Training: configuration (defaults, JSON round trip, flags over file, bad values), checkpoints (bit-exact
 * round trip, every corrupt-input case, atomic saves under a full disk), exact resume after a simulated
 * SIGKILL, log truncation, the training pool, non-finite loss, and the stopping rules. Small problems
 * (3 tasks, N = 16, window 40) so the whole file runs in seconds under the sanitizers. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "io/json.h"
#include "io/npz.h"
#include "train/checkpoint.h"
#include "train/train.h"
#include "util/err.h"

static char tmp_root[256];

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmp_root, name); }

static void small_cfg(LmTrainConfig *c, const char *dir_name) {
    lm_train_config_default(c);
    LM_ASSERT(lm_train_config_set(c, "battery", "go,dm1,dms") == 0);
    c->hidden = 16;
    c->d = 2;
    c->batch = 3;
    c->window = 40;
    c->steps = 30;
    c->eval_every = 10;
    c->eval_trials = 6;
    c->checkpoint_every = 7;
    c->log_every = 5;
    c->no_plot = 1;
    c->quiet = 1;
    c->seed = 11;
    path_in(c->out, sizeof c->out, dir_name);
}

static LmRunOptions quiet_opts(void) {
    LmRunOptions o;
    memset(&o, 0, sizeof o);
    return o;
}

static int files_equal(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int eq = fa && fb;
    while (eq) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) eq = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return eq;
}

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    LM_ASSERT(a && b);
    int ch;
    while ((ch = fgetc(a)) != EOF) fputc(ch, b);
    fclose(a);
    fclose(b);
}

/* Arrays `name` of two checkpoints are bit-identical. */
static int same_array(const char *ca, const char *cb, const char *name) {
    LmNpz *a = lm_npz_read(ca), *b = lm_npz_read(cb);
    int eq = 0;
    if (a && b) {
        const LmArray *x = lm_npz_find(a, name), *y = lm_npz_find(b, name);
        eq = x && y && x->dtype == y->dtype && x->count == y->count &&
             !memcmp(x->data, y->data, x->count * lm_dtype_size(x->dtype));
    }
    lm_npz_free(a);
    lm_npz_free(b);
    return eq;
}

static int64_t ckpt_step(const char *path) {
    LmNpz *z = lm_npz_read(path);
    if (!z) return -1;
    const LmArray *s = lm_npz_find(z, "step");
    int64_t v = s ? *(const int64_t *)s->data : -1;
    lm_npz_free(z);
    return v;
}

/* ------------------------------------------------------------------ configuration */

static void test_defaults_are_the_papers_setup(void) {
    LmTrainConfig c;
    lm_train_config_default(&c);
    CHECK(!strcmp(c.battery, "modcog82"));
    CHECK(c.mask == LM_MASK_LOCAL2D && c.d == 3.0 && c.density == 0 && c.grid_nx == 0 && !c.periodic);
    CHECK(c.hidden == 256 && c.rule == LM_RULE_NGYM && c.act == LM_ACT_RELU && c.alpha == 1.0);
    CHECK(c.sigma_rec == 0 && c.init == LM_INIT_HALF_IDENTITY && c.path == LM_PATH_AUTO);
    CHECK(c.lr == 1e-3 && c.clip == 1.0 && c.decision_loss == 0 && c.fix_weight == 1.0);
    CHECK(c.batch == 4 && c.window == 350 && c.steps == 40000 && c.train_pool == 0);
    CHECK(c.eval_metric == LM_METRIC_LAST_STEP && c.eval_every == 500 && c.eval_trials == 64);
    CHECK(c.checkpoint_every == 500 && c.log_every == 50 && c.threads == 1 && c.seed == 0);
    CHECK(!strcmp(c.fix, "none") && c.target_perf == 0 && c.time_limit == 0);
}

static void test_config_json_round_trip(void) {
    LmTrainConfig a, b;
    lm_train_config_default(&a);
    const char *kv[][2] = {
        {"battery", "yang20"}, {"mask", "random"}, {"density", "0.0836"}, {"hidden", "64"},
        {"rule", "yang"}, {"act", "tanh"}, {"alpha", "0.2"}, {"sigma-rec", "0.05"}, {"init", "randortho"},
        {"init_gain", "1.5"}, {"path", "dense"}, {"batch", "8"}, {"window", "100"}, {"steps", "1234"},
        {"lr", "0.0003"}, {"clip", "0"}, {"loss", "decision"}, {"fix-weight", "0.25"}, {"train-pool", "17"},
        {"seed", "18446744073709551557"}, {"threads", "2"}, {"eval-every", "100"}, {"eval-trials", "32"},
        {"eval-metric", "strict_trial"}, {"eval-noise", "true"}, {"target-perf", "0.9"},
        {"target-min", "0.5"}, {"time-limit", "3600.5"}, {"checkpoint-every", "250"}, {"log-every", "10"},
        {"out", "/tmp/somewhere"}, {"no-plot", "true"}, {"quiet", "1"}, {"fix", "Q1,Q9"},
        {"periodic", "true"}, {"grid", "8x8"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        CHECK(lm_train_config_set(&a, kv[i][0], kv[i][1]) == 0, "%s=%s: %s", kv[i][0], kv[i][1], lm_err_msg());
    cJSON *j = lm_train_config_to_json(&a);
    char *text = cJSON_Print(j);
    cJSON *back = cJSON_Parse(text);
    lm_train_config_default(&b);
    CHECK(lm_train_config_apply_json(&b, back, "round trip") == 0, "%s", lm_err_msg());
    CHECK(memcmp(&a, &b, sizeof a) == 0, "configs differ after the JSON round trip (first: %s)",
          lm_train_config_diff(&a, &b));
    CHECK(b.seed == 18446744073709551557ull && b.alpha == 0.2 && b.density == 0.0836 && b.grid_nx == 8);
    free(text);
    cJSON_Delete(j);
    cJSON_Delete(back);
}

static void test_flags_override_config_file(void) {
    char p[512];
    path_in(p, sizeof p, "cfg.json");
    FILE *f = fopen(p, "w");
    fputs("{\"battery\":\"yang20\",\"mask\":\"local2d\",\"d\":2,\"hidden\":64,\"sigma-rec\":0.1,"
          "\"periodic\":true}\n", f);
    fclose(f);
    LmTrainConfig c;
    lm_train_config_default(&c);
    CHECK(lm_train_config_load_file(&c, p) == 0, "%s", lm_err_msg());
    CHECK(!strcmp(c.battery, "yang20") && c.d == 2 && c.hidden == 64 && c.sigma_rec == 0.1 && c.periodic);
    CHECK(c.window == 350 && c.lr == 1e-3);   /* untouched options keep their defaults */
    CHECK(lm_train_config_set(&c, "--d", "4") == 0 && c.d == 4 && c.hidden == 64);
}

static void test_bad_values_are_named(void) {
    LmTrainConfig c;
    lm_train_config_default(&c);
    struct { const char *k, *v, *want; } bad[] = {
        {"--hiden", "3", "hiden"},          {"--hidden", "abc", "--hidden"},
        {"--hidden", "0", "--hidden"},      {"--d", "-1", "--d"},
        {"--d", "0", "--d"},                {"--lr", "nan", "--lr"},
        {"--battery", "nosuchtask", "nosuchtask"}, {"--mask", "hexagonal", "--mask"},
        {"--grid", "16by16", "--grid"},     {"--loss", "some", "--loss"},
        {"--eval-metric", "best", "--eval-metric"}, {"--seed", "-4", "--seed"},
        {"--quiet", "maybe", "--quiet"},    {"--fix", "Q99", "--fix"},
        {"--density", "1.5", "--density"},  {"--batch", "1e3", "--batch"},
    };
    LmTrainConfig before = c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(lm_train_config_set(&c, bad[i].k, bad[i].v) == -1, "%s %s accepted", bad[i].k, bad[i].v);
        CHECK(strstr(lm_err_msg(), bad[i].want) != NULL, "'%s' does not name %s", lm_err_msg(), bad[i].want);
        CHECK(!strchr(lm_err_msg(), '\n'));
    }
    CHECK(memcmp(&before, &c, sizeof c) == 0, "a rejected value changed the configuration");

    /* cross-option checks */
    strcpy(c.out, "x");
    c.mask = LM_MASK_RANDOM;
    CHECK(lm_train_config_validate(&c) == -1 && strstr(lm_err_msg(), "--density"));
    c.density = 0.1;
    CHECK(lm_train_config_validate(&c) == 0, "%s", lm_err_msg());
    c.mask = LM_MASK_LOCAL2D;
    c.density = 0;
    c.hidden = 200;
    CHECK(lm_train_config_validate(&c) == -1 && strstr(lm_err_msg(), "--grid"));
    c.grid_nx = 20;
    c.grid_ny = 10;
    CHECK(lm_train_config_validate(&c) == 0, "%s", lm_err_msg());
    c.grid_ny = 11;
    CHECK(lm_train_config_validate(&c) == -1 && strstr(lm_err_msg(), "--grid"));
    lm_train_config_default(&c);
    CHECK(lm_train_config_validate(&c) == -1 && strstr(lm_err_msg(), "--out"));
    c.mask = LM_MASK_FILE;
    strcpy(c.out, "x");
    CHECK(lm_train_config_validate(&c) == -1 && strstr(lm_err_msg(), "--mask-file"));

    /* config files: unknown key, bad syntax, wrong type */
    char p[512];
    path_in(p, sizeof p, "bad.json");
    const char *docs[][2] = {{"{\"hiddn\": 3}", "hiddn"}, {"{\"hidden\": 3,", "bad.json"},
                             {"{\"hidden\": [3]}", "hidden"}, {"{\"hidden\": 2.5}", "--hidden"}};
    for (int i = 0; i < 4; i++) {
        FILE *f = fopen(p, "w");
        fputs(docs[i][0], f);
        fclose(f);
        lm_train_config_default(&c);
        CHECK(lm_train_config_load_file(&c, p) == -1, "%s accepted", docs[i][0]);
        CHECK(strstr(lm_err_msg(), docs[i][1]) != NULL, "'%s' does not name %s", lm_err_msg(), docs[i][1]);
    }
}

static void test_masks_from_the_configuration(void) {
    LmTrainConfig c;
    lm_train_config_default(&c);
    c.hidden = 64;
    LmMask local, rnd, rnd2;
    CHECK(lm_train_build_mask(&c, &local) == 0, "%s", lm_err_msg());   /* local2d d=3 on 8x8 */
    c.mask = LM_MASK_RANDOM;
    c.match_density_of = 3;
    CHECK(lm_train_build_mask(&c, &rnd) == 0, "%s", lm_err_msg());
    CHECK(rnd.param == local.density, "random p %g, local2d density %g", rnd.param, local.density);
    CHECK(lm_train_build_mask(&c, &rnd2) == 0);
    CHECK(lm_mask_equal(&rnd, &rnd2), "the random mask is not a function of the seed");
    lm_mask_free(&rnd2);
    c.seed = 1;
    CHECK(lm_train_build_mask(&c, &rnd2) == 0);
    CHECK(!lm_mask_equal(&rnd, &rnd2), "the random mask ignores the seed");
    lm_mask_free(&rnd2);
    lm_mask_free(&rnd);
    lm_mask_free(&local);
    /* derived generators differ from each other */
    CHECK(lm_train_subseed(7, LM_SEED_STREAM) != lm_train_subseed(7, LM_SEED_EVAL));
    CHECK(lm_train_subseed(7, LM_SEED_STREAM) != lm_train_subseed(8, LM_SEED_STREAM));
}

/* ------------------------------------------------------------------ checkpoints */

static void test_checkpoint_round_trip_is_exact(void) {
    LmTrainConfig c;
    small_cfg(&c, "rt");
    c.sigma_rec = 0.1;   /* the noise generator must be restored too */
    mkdir(c.out, 0755);
    LmTrainer *a = lm_trainer_new(&c), *b = lm_trainer_new(&c);
    LM_ASSERT(a && b);
    for (int i = 0; i < 5; i++) CHECK(lm_trainer_step(a, NULL) == 0, "%s", lm_err_msg());
    char p[1100];
    snprintf(p, sizeof p, "%s/checkpoint.npz", c.out);
    CHECK(lm_checkpoint_save(a, "{\"battery\":\"go,dm1,dms\",\"hidden\":16,\"d\":2,\"batch\":3,\"window\":40,"
                                "\"seed\":11,\"sigma_rec\":0.1}", p) == 0, "%s", lm_err_msg());
    CHECK(lm_checkpoint_load(b, p) == 0, "%s", lm_err_msg());
    size_t P = lm_model_n_params(a->model);
    CHECK(b->step == 5 && b->trials == a->trials && b->adam.t == 5 && b->trials > 0);
    CHECK(!memcmp(lm_model_params(a->model), lm_model_params(b->model), P * sizeof(float)));
    CHECK(!memcmp(a->adam.m, b->adam.m, P * sizeof(float)) && !memcmp(a->adam.v, b->adam.v, P * sizeof(float)));
    CHECK(!memcmp(&a->noise, &b->noise, sizeof a->noise));
    for (int i = 0; i < 4; i++) {
        CHECK(lm_trainer_step(a, NULL) == 0);
        CHECK(lm_trainer_step(b, NULL) == 0);
    }
    CHECK(!memcmp(lm_model_params(a->model), lm_model_params(b->model), P * sizeof(float)),
          "training diverged after restoring the checkpoint");
    CHECK(!memcmp(a->x, b->x, (size_t)c.window * c.batch * lm_stream_n_in(a->stream) * sizeof(float)));
    lm_trainer_free(a);
    lm_trainer_free(b);
}

/* Copy checkpoint `src` to `dst`, replacing member `name` (data NULL: leave it out). */
static void rewrite(const char *src, const char *dst, const char *name, LmDtype dt, int ndim,
                    const int64_t *shape, const void *data) {
    LmNpz *z = lm_npz_read(src);
    LM_ASSERT(z);
    LmNpzWriter *w = lm_npz_create(dst);
    LM_ASSERT(w);
    for (int i = 0; i < lm_npz_count(z); i++) {
        const LmArray *a = lm_npz_at(z, i);
        if (!strcmp(a->name, name)) {
            if (!data) continue;
            if (dt == LM_DT_STR) LM_ASSERT(lm_npz_add_string(w, name, data) == 0);
            else LM_ASSERT(lm_npz_add(w, name, dt, ndim, shape, data) == 0);
        } else if (a->dtype == LM_DT_STR) {
            LM_ASSERT(lm_npz_add_string(w, a->name, a->data) == 0);
        } else {
            LM_ASSERT(lm_npz_add(w, a->name, a->dtype, a->ndim, a->shape, a->data) == 0);
        }
    }
    LM_ASSERT(lm_npz_close(w) == 0);
    lm_npz_free(z);
}

static void expect_load_fails(LmTrainer *t, const char *path, const char *want, const char *what) {
    size_t P = lm_model_n_params(t->model);
    float *before = malloc(P * sizeof(float));
    memcpy(before, lm_model_params(t->model), P * sizeof(float));
    int64_t step = t->step;
    CHECK(lm_checkpoint_load(t, path) == -1, "%s: accepted", what);
    CHECK(strstr(lm_err_msg(), want) != NULL, "%s: message '%s' does not mention '%s'", what, lm_err_msg(), want);
    CHECK(!strchr(lm_err_msg(), '\n'), "%s: message spans lines", what);
    CHECK(t->step == step && !memcmp(before, lm_model_params(t->model), P * sizeof(float)),
          "%s: the trainer changed", what);
    free(before);
}

static void test_corrupt_checkpoints_are_rejected(void) {
    LmTrainConfig c;
    small_cfg(&c, "corrupt");
    c.steps = 7;
    LmRunOptions o = quiet_opts();
    CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
    char good[1100], bad[1100];
    snprintf(good, sizeof good, "%s/checkpoint.npz", c.out);
    snprintf(bad, sizeof bad, "%s/bad.npz", c.out);
    LmTrainer *t = lm_trainer_new(&c);
    LM_ASSERT(t);
    CHECK(lm_checkpoint_load(t, good) == 0, "%s", lm_err_msg());
    CHECK(t->step == 7);
    LmTrainer *fresh = lm_trainer_new(&c);   /* the trainer the bad files must leave alone */
    LmNpz *z = lm_npz_read(good);
    LM_ASSERT(z);

    /* truncated */
    FILE *in = fopen(good, "rb"), *out = fopen(bad, "wb");
    fseek(in, 0, SEEK_END);
    long len = ftell(in);
    fseek(in, 0, SEEK_SET);
    for (long i = 0; i < len / 2; i++) fputc(fgetc(in), out);
    fclose(in);
    fclose(out);
    expect_load_fails(fresh, bad, "bad.npz", "truncated");
    /* not a zip */
    out = fopen(bad, "wb");
    fputs("this is not a zip archive\n", out);
    fclose(out);
    expect_load_fails(fresh, bad, "bad.npz", "not a zip");
    /* missing file */
    snprintf(bad, sizeof bad, "%s/none.npz", c.out);
    expect_load_fails(fresh, bad, "none.npz", "missing");
    snprintf(bad, sizeof bad, "%s/bad.npz", c.out);

    const LmArray *wrec = lm_npz_find(z, "W_rec"), *mask = lm_npz_find(z, "mask"), *par = lm_npz_find(z, "params");
    int64_t N = wrec->shape[0];
    /* wrong shape */
    int64_t sh[2] = {N - 1, N};
    rewrite(good, bad, "W_rec", LM_DT_F32, 2, sh, wrec->data);
    expect_load_fails(fresh, bad, "W_rec", "wrong shape");
    /* wrong dtype */
    double *pd = malloc(par->count * sizeof(double));
    for (size_t i = 0; i < par->count; i++) pd[i] = ((const float *)par->data)[i];
    int64_t pn = (int64_t)par->count;
    rewrite(good, bad, "params", LM_DT_F64, 1, &pn, pd);
    expect_load_fails(fresh, bad, "params", "wrong dtype");
    free(pd);
    /* missing key */
    rewrite(good, bad, "adam_v", LM_DT_F32, 0, NULL, NULL);
    expect_load_fails(fresh, bad, "adam_v", "missing key");
    /* a weight outside the mask */
    float *w = malloc(wrec->count * sizeof(float));
    memcpy(w, wrec->data, wrec->count * sizeof(float));
    size_t off = 0;
    while (((const uint8_t *)mask->data)[off]) off++;
    w[off] = 0.25f;
    rewrite(good, bad, "W_rec", LM_DT_F32, 2, wrec->shape, w);
    expect_load_fails(fresh, bad, "W_rec", "weight outside the mask");
    /* a mask that is not the configuration's */
    uint8_t *m = malloc(mask->count);
    memcpy(m, mask->data, mask->count);
    m[off] = 1;
    rewrite(good, bad, "mask", LM_DT_U8, 2, mask->shape, m);
    expect_load_fails(fresh, bad, "mask", "different mask");
    m[off] = 7;
    rewrite(good, bad, "mask", LM_DT_U8, 2, mask->shape, m);
    expect_load_fails(fresh, bad, "mask", "mask not 0/1");
    free(m);
    /* a NaN weight */
    memcpy(w, wrec->data, wrec->count * sizeof(float));
    w[0] = NAN;
    rewrite(good, bad, "W_rec", LM_DT_F32, 2, wrec->shape, w);
    expect_load_fails(fresh, bad, "non-finite", "NaN weight");
    free(w);
    /* params that disagree with the named tensors */
    float *p2 = malloc(par->count * sizeof(float));
    memcpy(p2, par->data, par->count * sizeof(float));
    p2[par->count - 1] += 1.0f;
    rewrite(good, bad, "params", LM_DT_F32, 1, &pn, p2);
    expect_load_fails(fresh, bad, "params", "params mismatch");
    free(p2);
    /* a checkpoint of another configuration */
    rewrite(good, bad, "config", LM_DT_STR, 0, NULL,
            "{\"battery\":\"go,dm1,dms\",\"hidden\":16,\"d\":2,\"batch\":3,\"window\":40,\"seed\":12}");
    expect_load_fails(fresh, bad, "seed", "other config");
    /* a stream state of the wrong size */
    const LmArray *ss = lm_npz_find(z, "stream_state");
    int64_t sn = (int64_t)ss->count - 3;
    rewrite(good, bad, "stream_state", LM_DT_U8, 1, &sn, ss->data);
    expect_load_fails(fresh, bad, "stream_state", "stream state");
    /* ... which a weights-only load (evaluation) does not need */
    LmTrainer *ev = lm_trainer_new(&c);
    CHECK(lm_checkpoint_load_weights(ev, bad) == 0, "%s", lm_err_msg());
    CHECK(ev->step == 7 && ev->adam.t == 0 && !memcmp(lm_model_params(ev->model), par->data, par->count * 4));
    rewrite(good, bad, "W_rec", LM_DT_F32, 2, sh, wrec->data);
    CHECK(lm_checkpoint_load_weights(ev, bad) == -1 && strstr(lm_err_msg(), "W_rec"));
    lm_trainer_free(ev);
    /* inconsistent counters */
    int64_t neg = -5;
    rewrite(good, bad, "step", LM_DT_I64, 0, NULL, &neg);
    expect_load_fails(fresh, bad, "step", "negative step");

    lm_npz_free(z);
    lm_trainer_free(fresh);
    lm_trainer_free(t);
}

static void test_failed_saves_keep_the_old_checkpoint(void) {
    LmTrainConfig c;
    small_cfg(&c, "atomic");
    c.steps = 3;
    LmRunOptions o = quiet_opts();
    CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
    char ck[1100], copy[1100];
    snprintf(ck, sizeof ck, "%s/checkpoint.npz", c.out);
    snprintf(copy, sizeof copy, "%s/copy.npz", c.out);
    copy_file(ck, copy);
    LmTrainer *t = lm_trainer_new(&c);
    CHECK(lm_checkpoint_load(t, ck) == 0, "%s", lm_err_msg());
    CHECK(lm_trainer_step(t, NULL) == 0);
    /* unwritable place: a path through a regular file */
    char p[1200];
    snprintf(p, sizeof p, "%s/copy.npz/checkpoint.npz", c.out);
    CHECK(lm_checkpoint_save(t, "{}", p) == -1 && !strchr(lm_err_msg(), '\n'));
    /* a full disk, simulated by a file-size limit in a child process */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {2048, 2048};
        setrlimit(RLIMIT_FSIZE, &rl);
        int rc = lm_checkpoint_save(t, "{}", ck);
        fprintf(stderr, "  (expected) disk-full save: %s\n", rc ? lm_err_msg() : "succeeded?!");
        _exit(rc == -1 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the save under a full disk did not fail cleanly");
    CHECK(files_equal(ck, copy), "a failed save damaged the previous checkpoint");
    CHECK(ckpt_step(ck) == 3);
    /* no temp files left behind */
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp > /dev/null", c.out);
    CHECK(system(cmd) != 0, "a temporary file was left in the run directory");
    lm_trainer_free(t);
}

/* ------------------------------------------------------------------ exact resume */

static void test_resume_after_kill_is_bit_identical(void) {
    for (int threads = 1; threads <= 2; threads++) {
        LmTrainConfig u, k;
        small_cfg(&u, threads == 1 ? "uninterrupted1" : "uninterrupted2");
        small_cfg(&k, threads == 1 ? "killed1" : "killed2");
        u.threads = k.threads = threads;
        u.sigma_rec = k.sigma_rec = 0.05;
        LmRunOptions o = quiet_opts();
        LmRunResult ru, rk;
        CHECK(lm_train_run(&u, &o, &ru) == 0, "%s", lm_err_msg());
        CHECK(ru.reason == LM_STOP_MAX_STEPS && ru.step == 30);
        /* "SIGKILL" after step 17: the last checkpoint is the one of step 14 */
        o.abort_after = 17;
        CHECK(lm_train_run(&k, &o, &rk) == 0, "%s", lm_err_msg());
        CHECK(rk.reason == LM_STOP_ABORTED && rk.step == 17);
        char ck[1100], cu[1100], lk[1100], lu[1100];
        snprintf(ck, sizeof ck, "%s/checkpoint.npz", k.out);
        snprintf(cu, sizeof cu, "%s/checkpoint.npz", u.out);
        snprintf(lk, sizeof lk, "%s/log.jsonl", k.out);
        snprintf(lu, sizeof lu, "%s/log.jsonl", u.out);
        CHECK(ckpt_step(ck) == 14);
        /* resume, as `lmrnn train --resume DIR` does */
        LmTrainConfig r;
        CHECK(lm_train_config_for_resume(k.out, &r) == 0, "%s", lm_err_msg());
        CHECK(!*lm_train_config_diff(&r, &k) && r.steps == 30);
        o = quiet_opts();
        o.resume = 1;
        CHECK(lm_train_run(&r, &o, &rk) == 0, "%s", lm_err_msg());
        CHECK(rk.step == 30 && rk.trials == ru.trials, "trials %lld vs %lld", (long long)rk.trials,
              (long long)ru.trials);
        const char *names[] = {"params", "W_rec", "W_in", "adam_m", "adam_v", "stream_state", "rng_noise",
                               "thresholds", "loss_acc"};
        for (int i = 0; i < 9; i++)
            CHECK(same_array(ck, cu, names[i]), "threads %d: %s differs from the uninterrupted run", threads,
                  names[i]);
        /* The log reads as if uninterrupted: the same train/eval records (wall aside), one resume record. */
        FILE *fk = fopen(lk, "r"), *fu = fopen(lu, "r");
        char a[8192], b[8192];
        int n_resume = 0, n_cmp = 0, mismatch = 0;
        while (fgets(a, sizeof a, fk)) {
            cJSON *ja = cJSON_Parse(a);
            const char *kind = cJSON_GetObjectItem(ja, "kind")->valuestring;
            if (!strcmp(kind, "resume")) {
                n_resume++;
                cJSON_Delete(ja);
                continue;
            }
            if (!fgets(b, sizeof b, fu)) {
                mismatch = 1;
                cJSON_Delete(ja);
                break;
            }
            cJSON *jb = cJSON_Parse(b);
            cJSON_DeleteItemFromObject(ja, "wall");
            cJSON_DeleteItemFromObject(jb, "wall");
            if (!cJSON_Compare(ja, jb, 1)) mismatch = 1;
            n_cmp++;
            cJSON_Delete(ja);
            cJSON_Delete(jb);
        }
        CHECK(!fgets(b, sizeof b, fu), "the resumed log is shorter");
        fclose(fk);
        fclose(fu);
        CHECK(n_resume == 1 && !mismatch && n_cmp >= 10, "resume records %d, compared %d, mismatch %d", n_resume,
              n_cmp, mismatch);
    }
}

static void test_resume_before_first_checkpoint_and_extension(void) {
    LmTrainConfig c, u;
    small_cfg(&c, "early");
    small_cfg(&u, "early_u");
    c.checkpoint_every = u.checkpoint_every = 0;
    c.steps = u.steps = 12;
    LmRunOptions o = quiet_opts();
    o.abort_after = 4;   /* killed before any checkpoint */
    CHECK(lm_train_run(&c, &o, NULL) == 0);
    char ck[1100], cu[1100];
    snprintf(ck, sizeof ck, "%s/checkpoint.npz", c.out);
    snprintf(cu, sizeof cu, "%s/checkpoint.npz", u.out);
    CHECK(access(ck, F_OK) != 0);
    o = quiet_opts();
    o.resume = 1;
    CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
    /* finished run + more steps (--resume DIR --steps 20) == a 20-step run */
    o = quiet_opts();
    CHECK(lm_train_run(&u, &o, NULL) == 0);
    CHECK(same_array(ck, cu, "params"));
    c.steps = 20;
    o.resume = 1;
    CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
    LmTrainConfig v;
    small_cfg(&v, "early_v");
    v.checkpoint_every = 0;
    v.steps = 20;
    o = quiet_opts();
    CHECK(lm_train_run(&v, &o, NULL) == 0);
    snprintf(cu, sizeof cu, "%s/checkpoint.npz", v.out);
    CHECK(ckpt_step(ck) == 20 && same_array(ck, cu, "params") && same_array(ck, cu, "adam_v"));
}

/* Killed after the final checkpoint but before the stop record and eval.json: --resume writes them, the
 * same eval.json as the uninterrupted run, and a second --resume changes nothing. */
static void test_resume_at_the_final_step_finishes_the_run(void) {
    LmTrainConfig c;
    small_cfg(&c, "final");
    c.steps = 14;
    LmRunOptions o = quiet_opts();
    CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
    char ev[1100], ev0[1100], log[1100], log1[1100];
    snprintf(ev, sizeof ev, "%s/eval.json", c.out);
    snprintf(ev0, sizeof ev0, "%s/eval0.json", c.out);
    snprintf(log, sizeof log, "%s/log.jsonl", c.out);
    snprintf(log1, sizeof log1, "%s/log1.jsonl", c.out);
    copy_file(ev, ev0);
    /* cut the log before its stop record, drop eval.json */
    FILE *f = fopen(log, "rb");
    char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *stop = strstr(text, "{\"kind\":\"stop\"");
    CHECK(stop != NULL);
    if (!stop) return;
    *stop = '\0';
    f = fopen(log, "wb");
    fputs(text, f);
    fclose(f);
    CHECK(unlink(ev) == 0);

    o = quiet_opts();
    o.resume = 1;
    LmRunResult res;
    CHECK(lm_train_run(&c, &o, &res) == 0, "%s", lm_err_msg());
    CHECK(res.reason == LM_STOP_MAX_STEPS && res.step == 14 && isfinite(res.mean));
    CHECK(files_equal(ev, ev0), "eval.json differs from the uninterrupted run's");
    f = fopen(log, "rb");
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    stop = strstr(text, "{\"kind\":\"stop\"");
    CHECK(stop && strstr(stop, "\"reason\":\"max_steps\"") && !strstr(stop + 1, "{\"kind\":\"stop\""));

    copy_file(log, log1);
    CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
    CHECK(files_equal(log, log1) && files_equal(ev, ev0), "a finished run was changed by --resume");
}

static void test_log_truncation(void) {
    char p[512];
    path_in(p, sizeof p, "trunc.jsonl");
    FILE *f = fopen(p, "w");
    for (int s = 1; s <= 10; s++) fprintf(f, "{\"kind\":\"train\",\"step\":%d}\n", s);
    fputs("{\"kind\":\"eval\",\"st", f);   /* cut by a crash */
    fclose(f);
    CHECK(lm_log_truncate(p, 6) == 0, "%s", lm_err_msg());
    f = fopen(p, "r");
    char line[256];
    int n = 0, last = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        CHECK(j != NULL);
        last = cJSON_GetObjectItem(j, "step")->valueint;
        cJSON_Delete(j);
        n++;
    }
    fclose(f);
    CHECK(n == 6 && last == 6, "%d records, last step %d", n, last);
    path_in(p, sizeof p, "no-such-log.jsonl");
    CHECK(lm_log_truncate(p, 3) == 0);
}

/* ------------------------------------------------------------------ run directory, pool, stopping */

static void test_existing_run_is_not_overwritten(void) {
    LmTrainConfig c;
    small_cfg(&c, "twice");
    c.steps = 2;
    LmRunOptions o = quiet_opts();
    CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
    char ck[1100];
    snprintf(ck, sizeof ck, "%s/checkpoint.npz", c.out);
    c.seed = 99;
    CHECK(lm_train_run(&c, &o, NULL) == -1 && strstr(lm_err_msg(), "--resume"), "%s", lm_err_msg());
    CHECK(ckpt_step(ck) == 2);
    o.force = 1;
    c.steps = 3;
    CHECK(lm_train_run(&c, &o, NULL) == 0, "%s", lm_err_msg());
    CHECK(ckpt_step(ck) == 3);
    /* an --out through a regular file cannot be created */
    path_in(c.out, sizeof c.out, "twice/checkpoint.npz/sub");
    o = quiet_opts();
    CHECK(lm_train_run(&c, &o, NULL) == -1 && !strchr(lm_err_msg(), '\n'));
    /* --resume of a directory that is not a run */
    LmTrainConfig r;
    CHECK(lm_train_config_for_resume(tmp_root, &r) == -1 && strstr(lm_err_msg(), "config.json"));
}

static void test_train_pool_cycles(void) {
    LmTrainConfig c;
    small_cfg(&c, "pool");
    c.train_pool = 3;
    c.batch = 64;   /* cache_len == window here, so every window generates fresh trials */
    c.window = 50;
    LmTrainer *t = lm_trainer_new(&c);
    LM_ASSERT(t);
    size_t nx = (size_t)c.window * c.batch * lm_stream_n_in(t->stream);
    float *seen[7];
    int64_t trials[8] = {t->trials};
    for (int s = 0; s < 7; s++) {
        CHECK(lm_trainer_step(t, NULL) == 0);
        seen[s] = malloc(nx * sizeof(float));
        memcpy(seen[s], t->x, nx * sizeof(float));
        trials[s + 1] = t->trials;
    }
    CHECK(memcmp(seen[0], seen[1], nx * sizeof(float)) != 0 && memcmp(seen[1], seen[2], nx * sizeof(float)) != 0);
    for (int s = 0; s + 3 < 7; s++) {
        CHECK(!memcmp(seen[s], seen[s + 3], nx * sizeof(float)), "batch %d != batch %d", s, s + 3);
        CHECK(trials[s + 4] - trials[s + 3] == trials[s + 1] - trials[s]);
    }
    CHECK(t->pool_trials == trials[3] && trials[1] > trials[0] && trials[2] > trials[1]);
    /* the pool's batches are the endless stream's first batches */
    c.train_pool = 0;
    LmTrainer *e = lm_trainer_new(&c);
    CHECK(lm_trainer_step(e, NULL) == 0);
    CHECK(!memcmp(e->x, seen[0], nx * sizeof(float)));
    for (int s = 0; s < 7; s++) free(seen[s]);
    lm_trainer_free(t);
    lm_trainer_free(e);
}

static void test_non_finite_loss_stops_with_an_error(void) {
    /* trainer level: a NaN weight */
    LmTrainConfig c;
    small_cfg(&c, "nan");
    LmTrainer *t = lm_trainer_new(&c);
    size_t P = lm_model_n_params(t->model);
    for (size_t i = 0; i < P; i++) lm_model_params(t->model)[i] = NAN;
    LmStepStats st;
    CHECK(lm_trainer_step(t, &st) == -1 && strstr(lm_err_msg(), "step 1"), "%s", lm_err_msg());
    CHECK(t->step == 0);
    lm_trainer_free(t);
    /* run level: a learning rate that blows the network up */
    c.lr = 1000;
    c.checkpoint_every = 1;
    c.steps = 50;
    LmRunOptions o = quiet_opts();
    LmRunResult r;
    CHECK(lm_train_run(&c, &o, &r) == -1 && r.reason == LM_STOP_NON_FINITE, "reason %s",
          lm_stop_reason_name(r.reason));
    CHECK(strstr(lm_err_msg(), "non-finite") && strstr(lm_err_msg(), "at step"), "%s", lm_err_msg());
    char ck[1100];
    snprintf(ck, sizeof ck, "%s/checkpoint.npz", c.out);
    /* the last good checkpoint is there and loads */
    LmTrainer *u = lm_trainer_new(&c);
    if (r.step > 0) {
        CHECK(lm_checkpoint_load(u, ck) == 0, "%s", lm_err_msg());
        CHECK(u->step == r.step);
    }
    lm_trainer_free(u);
}

static int64_t first_eval_step_with_mean(const char *log, double *mean_out) {
    FILE *f = fopen(log, "r");
    char line[8192];
    int64_t step = -1;
    while (step < 0 && fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        if (!strcmp(cJSON_GetObjectItem(j, "kind")->valuestring, "eval")) {
            double m = cJSON_GetObjectItem(j, "mean")->valuedouble;
            if (m > 0) {
                step = (int64_t)cJSON_GetObjectItem(j, "step")->valuedouble;
                *mean_out = m;
            }
        }
        cJSON_Delete(j);
    }
    fclose(f);
    return step;
}

static void test_stopping_rules(void) {
    LmTrainConfig c;
    small_cfg(&c, "stop_ref");
    c.eval_every = 3;
    c.steps = 60;
    LmRunOptions o = quiet_opts();
    LmRunResult r;
    CHECK(lm_train_run(&c, &o, &r) == 0 && r.reason == LM_STOP_MAX_STEPS);
    /* thresholds agree with the eval records */
    char log[1100];
    snprintf(log, sizeof log, "%s/log.jsonl", c.out);
    for (int i = 0; i < LM_N_THRESHOLDS; i++) {
        FILE *f = fopen(log, "r");
        char line[8192];
        int64_t first = -1;
        while (first < 0 && fgets(line, sizeof line, f)) {
            cJSON *j = cJSON_Parse(line);
            if (!strcmp(cJSON_GetObjectItem(j, "kind")->valuestring, "eval") &&
                cJSON_GetObjectItem(j, "mean")->valuedouble >= lm_train_thresholds[i])
                first = (int64_t)cJSON_GetObjectItem(j, "step")->valuedouble;
            cJSON_Delete(j);
        }
        fclose(f);
        CHECK(r.threshold[i][0] == first, "threshold %g: %lld vs log %lld", lm_train_thresholds[i],
              (long long)r.threshold[i][0], (long long)first);
    }
    /* target: the first evaluation with a positive mean, reached again, stops the run there */
    double m = 0;
    int64_t s = first_eval_step_with_mean(log, &m);
    CHECK(s > 0, "no evaluation scored above 0 in 60 steps");
    if (s > 0) {
        small_cfg(&c, "stop_target");
        c.eval_every = 3;
        c.steps = 60;
        c.target_perf = m;
        CHECK(lm_train_run(&c, &o, &r) == 0);
        CHECK(r.reason == LM_STOP_TARGET && r.step == s, "reason %s at %lld, expected target at %lld",
              lm_stop_reason_name(r.reason), (long long)r.step, (long long)s);
    }
    /* time limit */
    small_cfg(&c, "stop_time");
    c.steps = 100000000;
    c.time_limit = 0.5;
    c.eval_every = 0;
    CHECK(lm_train_run(&c, &o, &r) == 0);
    CHECK(r.reason == LM_STOP_TIME_LIMIT && r.step > 0 && r.step < c.steps && r.wall >= 0.5);
    /* a stop request (what the SIGINT handler sets): checkpoint and stop record, exit status 0 */
    small_cfg(&c, "stop_signal");
    volatile sig_atomic_t flag = SIGINT;
    o.stop = &flag;
    CHECK(lm_train_run(&c, &o, &r) == 0 && r.reason == LM_STOP_SIGNAL && r.step == 0);
    char ck[1100];
    snprintf(ck, sizeof ck, "%s/checkpoint.npz", c.out);
    CHECK(ckpt_step(ck) == 0);
    snprintf(log, sizeof log, "%s/log.jsonl", c.out);
    FILE *f = fopen(log, "r");
    char line[512] = "";
    while (fgets(line, sizeof line, f)) {}
    fclose(f);
    CHECK(strstr(line, "\"signal\"") != NULL, "last log record: %s", line);
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "/tmp/lmrnn_test_train_XXXXXX");
    if (!mkdtemp(tmp_root)) return 1;
    RUN(test_defaults_are_the_papers_setup);
    RUN(test_config_json_round_trip);
    RUN(test_flags_override_config_file);
    RUN(test_bad_values_are_named);
    RUN(test_masks_from_the_configuration);
    RUN(test_checkpoint_round_trip_is_exact);
    RUN(test_corrupt_checkpoints_are_rejected);
    RUN(test_failed_saves_keep_the_old_checkpoint);
    RUN(test_resume_after_kill_is_bit_identical);
    RUN(test_resume_before_first_checkpoint_and_extension);
    RUN(test_resume_at_the_final_step_finishes_the_run);
    RUN(test_log_truncation);
    RUN(test_existing_run_is_not_overwritten);
    RUN(test_train_pool_cycles);
    RUN(test_non_finite_loss_stops_with_an_error);
    RUN(test_stopping_rules);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return CHECK_DONE();
}
