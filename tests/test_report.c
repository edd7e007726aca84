/* lmrnn eval / lmrnn plot end to end on a checkpoint written here by the trainer's own writer, and
 * every bad input of issue 4 item 10 that concerns them: one-line error, exit status 1 (2 for usage). */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "cli/commands.h"
#include "eval/eval.h"
#include "io/json.h"
#include "io/npz.h"
#include "eval/table.h"
#include "report/figures.h"
#include "report/run.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/trainer.h"
#include "util/err.h"

static char root[256];      /* temporary directory of this test */
static char run_dir[512];   /* a run directory with checkpoint, config and log */
static const char *const battery_spec = "go,dm1,dms,goseqr,dlygointr";

static int call(int (*cmd)(int, char **), int n, ...) {
    char *argv[32];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[n] = NULL;
    fflush(stdout);
    return cmd(n, argv);
}

static int file_size(const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0 ? (int)st.st_size : -1;
}

static void copy_prefix(const char *from, const char *to, long n) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[4096];
    long done = 0;
    size_t k;
    while (done < n && (k = fread(buf, 1, sizeof buf, a)) > 0) {
        if ((long)k > n - done) k = (size_t)(n - done);
        fwrite(buf, 1, k, b);
        done += (long)k;
    }
    fclose(a);
    fclose(b);
}

static LmTrainer *trainer;   /* the state the checkpoint was written from */

static void make_run(void) {
    snprintf(root, sizeof root, "/tmp/lmrnn_test_report_XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    snprintf(run_dir, sizeof run_dir, "%s/run", root);
    CHECK(lm_mkdir_p(run_dir) == 0);
    LmTrainConfig c;
    lm_train_config_default(&c);
    CHECK(lm_train_config_set(&c, "battery", battery_spec) == 0, "%s", lm_err_msg());
    CHECK(lm_train_config_set(&c, "hidden", "16") == 0);
    CHECK(lm_train_config_set(&c, "d", "2") == 0);
    CHECK(lm_train_config_set(&c, "batch", "2") == 0);
    CHECK(lm_train_config_set(&c, "window", "60") == 0);
    CHECK(lm_train_config_set(&c, "seed", "11") == 0);
    CHECK(lm_train_config_set(&c, "out", run_dir) == 0);
    CHECK(lm_train_config_validate(&c) == 0, "%s", lm_err_msg());
    trainer = lm_trainer_new(&c);
    CHECK(trainer != NULL, "%s", lm_err_msg());
    if (!trainer) return;
    /* A few real steps so the weights are not the initial ones (W_rec moves off 0.5 I). */
    for (int s = 0; s < 3; s++) {
        LmStepStats st;
        CHECK(lm_trainer_step(trainer, &st) == 0, "%s", lm_err_msg());
    }
    cJSON *doc = lm_trainer_config_doc(trainer);
    char *text = cJSON_PrintUnformatted(doc);
    char p[1024];
    snprintf(p, sizeof p, "%s/checkpoint.npz", run_dir);
    CHECK(lm_checkpoint_save(trainer, text, p) == 0, "%s", lm_err_msg());
    snprintf(p, sizeof p, "%s/config.json", run_dir);
    CHECK(lm_json_write(p, doc) == 0);
    free(text);
    cJSON_Delete(doc);
    /* A log as the trainer writes it (docs/run-directory.md). */
    snprintf(p, sizeof p, "%s/log.jsonl", run_dir);
    FILE *f = fopen(p, "w");
    for (int s = 1; s <= 40; s++)
        fprintf(f, "{\"kind\":\"train\",\"step\":%d,\"trials\":%d,\"wall\":%g,\"loss\":%g,\"grad_norm\":1}\n", s * 10,
                s * 30, s * 0.1, 2.8 * exp(-s / 10.0) + 0.05);
    for (int s = 1; s <= 4; s++)
        fprintf(f, "{\"kind\":\"eval\",\"step\":%d,\"trials\":%d,\"wall\":%g,\"loss\":%g,\"metric\":\"last_step\","
                   "\"mean\":%g,\"min\":0.1,\"perf\":{},\"groups\":{\"base\":%g,\"int\":%g,\"seq\":%g,\"intseq\":null}}\n",
                s * 100, s * 300, s * 1.0, 1.0 / s, 0.2 * s, 0.22 * s, 0.15 * s, 0.18 * s);
    fclose(f);
}

static void test_load(void) {
    LmTrained r;
    CHECK(lm_trained_load(run_dir, &r) == 0, "%s", lm_err_msg());
    if (!trainer || !r.model) return;
    CHECK(r.step == 3);
    CHECK(r.battery->n == 5 && !strcmp(r.battery->name[2], "dms"));
    CHECK(r.nx == 4 && r.ny == 4, "local2d sheet 4x4 for N = 16");
    CHECK(r.eval_seed == trainer->eval_seed);
    size_t P = lm_model_n_params(trainer->model);
    CHECK(lm_model_n_params(r.model) == P);
    CHECK(!memcmp(lm_model_params(r.model), lm_model_params(trainer->model), P * sizeof(float)), "weights restored");
    CHECK(!memcmp(r.env, lm_stream_taskenv(trainer->stream), sizeof(LmTaskEnv)), "training task env (Q6 delays)");
    lm_trained_free(&r);
    /* A bare checkpoint path works the same. */
    char p[1024];
    snprintf(p, sizeof p, "%s/checkpoint.npz", run_dir);
    CHECK(lm_trained_load(p, &r) == 0, "%s", lm_err_msg());
    CHECK(!strcmp(r.dir, run_dir));
    lm_trained_free(&r);
}

static cJSON *read_eval(const char *dir) {
    char p[1024];
    snprintf(p, sizeof p, "%s/eval.json", dir);
    return lm_json_read(p);
}

static double jnum(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_eval_cli(void) {
    if (!trainer) return;
    CHECK(call(lm_cmd_eval, 3, run_dir, "--trials", "50") == 0, "%s", lm_err_msg());
    cJSON *doc = read_eval(run_dir);
    CHECK(doc != NULL, "%s", lm_err_msg());
    if (!doc) return;
    /* Same numbers as evaluating the trainer's own model with the training's evaluation seed. */
    LmEvalResult r;
    CHECK(lm_evaluate(trainer->model, lm_stream_taskenv(trainer->stream), &trainer->battery, 50,
                      trainer->eval_seed, NULL, &r) == 0);
    CHECK_CLOSE(jnum(doc, "mean"), lm_eval_mean(&r, LM_METRIC_LAST_STEP), 1e-12);
    CHECK_CLOSE(jnum(doc, "min"), lm_eval_min(&r, LM_METRIC_LAST_STEP), 1e-12);
    CHECK(jnum(doc, "trials_per_task") == 50);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "metric");
    CHECK(cJSON_IsString(m) && !strcmp(m->valuestring, "last_step"));
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(doc, "tasks");
    CHECK(cJSON_GetArraySize(tasks) == 5);
    const cJSON *t2 = cJSON_GetArrayItem(tasks, 2);
    CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(t2, "name")->valuestring, "dms"));
    CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(t2, "family")->valuestring, "match"));
    CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(t2, "group")->valuestring, "base"));
    CHECK(jnum(t2, "n") == 50 && jnum(t2, "correct") == r.correct[2][0]);
    double lo, hi;
    lm_wilson_interval(r.correct[2][0], 50, &lo, &hi);
    CHECK_CLOSE(jnum(t2, "ci_low"), lo, 1e-12);
    CHECK_CLOSE(jnum(t2, "ci_high"), hi, 1e-12);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(doc, "groups");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(g, "intseq")), "no int+seq task in the battery");
    CHECK_CLOSE(jnum(g, "int"), lm_eval_task_perf(&r, 4, 0), 1e-12);
    double dms_perf = jnum(t2, "perf");
    cJSON_Delete(doc);
    /* CSV: header + one line per task. */
    char p[1024];
    snprintf(p, sizeof p, "%s/eval.csv", run_dir);
    FILE *f = fopen(p, "r");
    int lines = 0, ch;
    while (f && (ch = fgetc(f)) != EOF) lines += ch == '\n';
    if (f) fclose(f);
    CHECK(lines == 6, "eval.csv has %d lines", lines);

    /* A subset keeps each task's training rule column: dms scores exactly as in the full battery. */
    char out[512];
    snprintf(out, sizeof out, "%s/sub", root);
    CHECK(call(lm_cmd_eval, 7, run_dir, "--trials", "50", "--battery", "dms,go", "--out", out) == 0, "%s",
          lm_err_msg());
    doc = read_eval(out);
    CHECK(doc != NULL);
    if (doc) {
        tasks = cJSON_GetObjectItemCaseSensitive(doc, "tasks");
        CHECK(cJSON_GetArraySize(tasks) == 2);
        CHECK_CLOSE(jnum(cJSON_GetArrayItem(tasks, 0), "perf"), dms_perf, 1e-12);
        cJSON_Delete(doc);
    }
    /* Another metric; the table of every metric is stored too. */
    CHECK(call(lm_cmd_eval, 7, run_dir, "--trials", "20", "--metric", "strict_trial", "--out", out) == 0);
    doc = read_eval(out);
    if (doc) {
        m = cJSON_GetObjectItemCaseSensitive(doc, "metric");
        CHECK(cJSON_IsString(m) && !strcmp(m->valuestring, "strict_trial"));
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(doc, "metrics");
        CHECK(cJSON_GetArraySize(all) == LM_N_METRICS);
        CHECK_CLOSE(jnum(all, "strict_trial"), jnum(doc, "mean"), 1e-12);
        cJSON_Delete(doc);
    }
    /* A subset or another metric does not replace the run's own eval.json unless asked. */
    CHECK(call(lm_cmd_eval, 5, run_dir, "--trials", "20", "--battery", "dms,go") == 0, "%s", lm_err_msg());
    CHECK(call(lm_cmd_eval, 5, run_dir, "--trials", "20", "--metric", "strict_trial") == 0, "%s", lm_err_msg());
    doc = read_eval(run_dir);
    CHECK(doc && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "tasks")) == 5);
    CHECK(doc && !strcmp(cJSON_GetObjectItemCaseSensitive(doc, "metric")->valuestring, "last_step"));
    CHECK(doc && jnum(doc, "trials_per_task") == 50, "the run's evaluation is untouched");
    cJSON_Delete(doc);
    CHECK(call(lm_cmd_eval, 6, run_dir, "--trials", "20", "--battery", "dms,go", "--overwrite") == 0);
    doc = read_eval(run_dir);
    CHECK(doc && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "tasks")) == 2, "--overwrite writes");
    cJSON_Delete(doc);
    CHECK(call(lm_cmd_eval, 3, run_dir, "--trials", "50") == 0, "the full evaluation writes again");
    doc = read_eval(run_dir);
    CHECK(doc && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "tasks")) == 5);
    cJSON_Delete(doc);
    /* Thread count does not change the result. */
    CHECK(call(lm_cmd_eval, 7, run_dir, "--trials", "20", "--threads", "2", "--out", out) == 0);
    cJSON *d2 = read_eval(out);
    CHECK(call(lm_cmd_eval, 5, run_dir, "--trials", "20", "--out", out) == 0);
    cJSON *d1 = read_eval(out);
    if (d1 && d2) CHECK(jnum(d1, "mean") == jnum(d2, "mean"));
    cJSON_Delete(d1);
    cJSON_Delete(d2);
    CHECK(call(lm_cmd_eval, 1, "--help") == 0);
}

/* Each bad input: status 1 for a bad run, 2 for a bad option or value, a one-line message naming the problem. */
static void expect_fail(int status, const char *needle, int n, char **argv) {
    fflush(stdout);
    int rc = lm_cmd_eval(n, argv);
    CHECK(rc == status, "status %d for %s ... (%s)", rc, argv[0], lm_err_msg());
    if (needle) CHECK(strstr(lm_err_msg(), needle) != NULL, "message '%s' lacks '%s'", lm_err_msg(), needle);
    CHECK(strchr(lm_err_msg(), '\n') == NULL, "one line");
}

/* A copy of the checkpoint with one array replaced (or dropped when data is NULL). */
static void write_variant(const char *path, const char *replace, LmDtype dt, int ndim, const int64_t *shape,
                          const void *data) {
    char src[1024];
    snprintf(src, sizeof src, "%s/checkpoint.npz", run_dir);
    LmNpz *z = lm_npz_read(src);
    LmNpzWriter *w = lm_npz_create(path);
    for (int i = 0; i < lm_npz_count(z); i++) {
        const LmArray *a = lm_npz_at(z, i);
        if (!strcmp(a->name, replace)) {
            if (data) lm_npz_add(w, replace, dt, ndim, shape, data);
        } else if (a->dtype == LM_DT_STR) {
            lm_npz_add_string(w, a->name, a->data);
        } else {
            lm_npz_add(w, a->name, a->dtype, a->ndim, a->shape, a->data);
        }
    }
    CHECK(lm_npz_close(w) == 0, "%s", lm_err_msg());
    lm_npz_free(z);
}

static void test_eval_bad_input(void) {
    if (!trainer) return;
    char p[1024], q[1024], ckpt[1024];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.npz", run_dir);
    snprintf(p, sizeof p, "%s/nonexistent", root);
    expect_fail(1, "nonexistent", 1, (char *[]){p});
    snprintf(p, sizeof p, "%s/empty", root);
    lm_mkdir_p(p);
    expect_fail(1, "no checkpoint.npz", 1, (char *[]){p});
    /* Truncated archive and a file that is not a zip at all. */
    snprintf(p, sizeof p, "%s/truncated.npz", root);
    copy_prefix(ckpt, p, file_size(run_dir, "checkpoint.npz") / 2);
    expect_fail(1, "truncated.npz", 1, (char *[]){p});
    snprintf(p, sizeof p, "%s/garbage.npz", root);
    FILE *f = fopen(p, "w");
    fputs("this is not a zip archive\n", f);
    fclose(f);
    expect_fail(1, "garbage.npz", 1, (char *[]){p});
    /* Wrong shape, wrong dtype, missing array. */
    snprintf(p, sizeof p, "%s/shape.npz", root);
    float junk[16 * 10] = {0};
    int64_t sh[2] = {16, 10};
    write_variant(p, "W_in", LM_DT_F32, 2, sh, junk);
    expect_fail(1, "W_in", 1, (char *[]){p});
    snprintf(p, sizeof p, "%s/dtype.npz", root);
    double bd[17] = {0};
    int64_t sh17[1] = {17};
    write_variant(p, "b_out", LM_DT_F64, 1, sh17, bd);
    expect_fail(1, "b_out", 1, (char *[]){p});
    snprintf(p, sizeof p, "%s/missing.npz", root);
    write_variant(p, "W_rec_data", LM_DT_F32, 0, NULL, NULL);   /* the compressed W_rec is required */
    expect_fail(1, "W_rec_data", 1, (char *[]){p});
    snprintf(p, sizeof p, "%s/noconfig.npz", root);
    write_variant(p, "config", LM_DT_STR, 0, NULL, NULL);
    expect_fail(1, "config", 1, (char *[]){p});
    /* Weights outside the mask (mask/weights mismatch) and a non-finite weight. */
    float wrec[16 * 16];
    {
        LmTrained r;
        CHECK(lm_trained_load(run_dir, &r) == 0);
        int i_rec = 2;
        CHECK(!strcmp(lm_model_tensor_info(r.model, i_rec).name, "W_rec"));
        lm_model_export_tensor(r.model, i_rec, wrec);
        lm_trained_free(&r);
    }
    wrec[0 * 16 + 15] = 0.25f;   /* units 0 and 15 are far apart on the 4x4 sheet with d = 2 */
    int64_t shr[2] = {16, 16};
    snprintf(p, sizeof p, "%s/outside.npz", root);
    write_variant(p, "W_rec", LM_DT_F32, 2, shr, wrec);
    expect_fail(1, "W_rec", 1, (char *[]){p});
    wrec[0 * 16 + 15] = 0;
    wrec[5 * 16 + 5] = NAN;
    snprintf(p, sizeof p, "%s/nan.npz", root);
    write_variant(p, "W_rec", LM_DT_F32, 2, shr, wrec);
    expect_fail(1, "non-finite", 1, (char *[]){p});
    /* Options. */
    expect_fail(2, "accuracy", 3, (char *[]){run_dir, "--metric", "accuracy"});
    expect_fail(2, "gox", 3, (char *[]){run_dir, "--battery", "gox"});
    expect_fail(2, "not in the training battery", 3, (char *[]){run_dir, "--battery", "go,anti"});
    expect_fail(2, "--trials", 3, (char *[]){run_dir, "--trials", "0"});
    expect_fail(2, "--trials", 3, (char *[]){run_dir, "--trials", "ten"});
    expect_fail(2, "--seed", 3, (char *[]){run_dir, "--seed", "-4"});
    expect_fail(2, "--trials needs a value", 2, (char *[]){run_dir, "--trials"});
    expect_fail(2, NULL, 2, (char *[]){run_dir, "--bogus"});
    expect_fail(2, NULL, 0, (char *[]){NULL});
    /* Unwritable output: a regular file where the directory should be. */
    snprintf(q, sizeof q, "%s/afile", root);
    f = fopen(q, "w");
    fclose(f);
    snprintf(p, sizeof p, "%s/afile/sub", root);
    expect_fail(1, "afile", 5, (char *[]){run_dir, "--trials", "2", "--out", p});
    /* The run's own files were never touched by the failures. */
    LmTrained r;
    CHECK(lm_trained_load(run_dir, &r) == 0);
    lm_trained_free(&r);
}

/* Does the SVG hold `text` as text? PLplot's svg driver writes each character as &#xNN;. */
static int svg_has_text(const char *dir, const char *name, const char *text) {
    char p[1200], want[512] = "";
    snprintf(p, sizeof p, "%s/%s", dir, name);
    for (const char *c = text; *c && strlen(want) + 8 < sizeof want; c++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "&#x%x;", (unsigned char)*c);
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = 0;
    fclose(f);
    int found = strstr(b, want) != NULL;
    free(b);
    return found;
}

static void test_plot(void) {
    if (!trainer) return;
    CHECK(call(lm_cmd_plot, 1, run_dir) == 0, "%s", lm_err_msg());
    char plots[1024];
    snprintf(plots, sizeof plots, "%s/plots", run_dir);
    const char *names[] = {"loss", "perf", "tasks", "mask", "weights", "trial_go", "trial_dm1", "trial_dms",
                           "trial_dlygointr", "trial_goseqr"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (int k = 0; k < 2; k++) {
            char n[64];
            snprintf(n, sizeof n, "%s.%s", names[i], k ? "svg" : "png");
            CHECK(file_size(plots, n) > 1000, "%s/%s", plots, n);
        }
    /* What the figures say, read back from their SVG text. The trial figure shows held-out trial 0 and
     * says whether the network answered it correctly: the same verdict as the evaluation's own scoring
     * of that trial (lm_evaluate, one trial per task). */
    LmEvalResult *r = malloc(sizeof *r);
    CHECK(lm_evaluate(trainer->model, lm_stream_taskenv(trainer->stream), &trainer->battery, 1, trainer->eval_seed,
                      NULL, r) == 0);
    const int dms = 2; /* position of dms in the battery */
    const char *verdict = r->correct[dms][LM_METRIC_LAST_STEP] ? "correct under last_step" : "WRONG under last_step";
    CHECK(svg_has_text(plots, "trial_dms.svg", verdict), "trial_dms.svg does not say '%s'", verdict);
    free(r);
    CHECK(svg_has_text(plots, "trial_dms.svg", "modality 0") && svg_has_text(plots, "trial_dms.svg", "decision") &&
          svg_has_text(plots, "trial_dms.svg", "sample"), "trial 0 of dms: modality 0 and its periods named");
    CHECK(svg_has_text(plots, "tasks.svg", "match family") && svg_has_text(plots, "tasks.svg", "chance"));
    /* the log above has a train record every 10 steps (the config's log_every of 50 is not what it holds) */
    CHECK(svg_has_text(plots, "loss.svg", "loss of one step, every 10 steps"), "loss legend names the logging interval");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char n[64];
        snprintf(n, sizeof n, "%s.svg", names[i]);
        if (strcmp(names[i], "mask") && strcmp(names[i], "weights")) /* rasters: text as outlines */
            CHECK(svg_has_text(plots, n, run_dir), "%s does not name its run", n);
    }
    /* Chosen tasks and a PDF; a bare checkpoint without log or eval.json (bars are evaluated). */
    char dir2[700], src[1024], dst[1024];
    snprintf(dir2, sizeof dir2, "%s/bare", root);
    lm_mkdir_p(dir2);
    snprintf(src, sizeof src, "%s/checkpoint.npz", run_dir);
    snprintf(dst, sizeof dst, "%s/checkpoint.npz", dir2);
    copy_prefix(src, dst, 1L << 30);
    CHECK(call(lm_cmd_plot, 7, dst, "--tasks", "dms", "--format", "pdf", "--eval-trials", "10") == 0, "%s",
          lm_err_msg());
    snprintf(plots, sizeof plots, "%s/plots", dir2);
    CHECK(file_size(plots, "tasks.pdf") > 1000);
    CHECK(file_size(plots, "trial_dms.pdf") > 1000);
    CHECK(file_size(plots, "loss.pdf") < 0, "no log, no loss figure");
    CHECK(file_size(plots, "trial_go.pdf") < 0);
    /* Bad input. */
    CHECK(call(lm_cmd_plot, 3, run_dir, "--format", "gif") == 2);
    CHECK(strstr(lm_err_msg(), "gif"), "%s", lm_err_msg());
    CHECK(call(lm_cmd_plot, 3, run_dir, "--tasks", "anti") == 1);
    CHECK(strstr(lm_err_msg(), "anti"), "%s", lm_err_msg());
    char p[1024];
    snprintf(p, sizeof p, "%s/nonexistent", root);
    CHECK(call(lm_cmd_plot, 1, p) == 1);
    CHECK(call(lm_cmd_plot, 2, run_dir, "--what") == 2);
    /* plots/ cannot be created: a file is in the way. */
    snprintf(p, sizeof p, "%s/plots", dir2);
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && touch '%s'", p, p);
    CHECK(system(cmd) == 0);
    CHECK(call(lm_cmd_plot, 1, dir2) == 1);
    CHECK(strstr(lm_err_msg(), "plots"), "%s", lm_err_msg());
}

int main(void) {
    make_run();
    RUN(test_load);
    RUN(test_eval_cli);
    RUN(test_eval_bad_input);
    RUN(test_plot);
    if (trainer) lm_trainer_free(trainer);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (root[0] && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return CHECK_DONE();
}
