/* End-to-end: the real `lmrnn` binary (build/lmrnn-san, next to this test's directory) on a tiny run.
 * An uninterrupted run is compared bit for bit with a run stopped by SIGINT and resumed, one stopped by
 * SIGTERM and resumed, and one killed with SIGKILL between checkpoints and resumed; then the CLI's
 * answers to bad input (exit status and a one-line message). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "proc.h"
#include <cjson/cJSON.h>
#include "io/npz.h"
#include "model/model.h"

static char bin[1024], tmp[256];

#define TINY "--battery", "go,dm1,dms", "--hidden", "16", "--d", "2", "--batch", "3", "--window", "60", \
             "--eval-every", "200", "--eval-trials", "8", "--checkpoint-every", "50", "--log-every", "25", \
             "--no-plot", "--seed", "5"
#define STEPS "1500"

/* Start `lmrnn args...` with stdout/stderr in <tmp>/<tag>.out/.err. */
static pid_t spawn(const char *tag, char *const *args) {
    char *argv[64] = {bin};
    int n = 1;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return proc_spawn(tmp, tag, argv, 0);
}

/* Exit status, or 128 + signal. */
static int wait_status(pid_t pid) { return proc_wait(pid, NULL); }

static int run(const char *tag, char *const *args) { return wait_status(spawn(tag, args)); }

static void read_text(const char *tag, const char *ext, char *buf, size_t n) { proc_read(tmp, tag, ext, buf, n); }

/* The command failed with `status`, saying one line on stderr that contains `want`. */
static void expect_error(const char *tag, char *const *args, int status, const char *want) {
    proc_check_error(tmp, tag, run(tag, args), status, want);
}

static int64_t ckpt_step(const char *dir) {
    char p[512];
    snprintf(p, sizeof p, "%s/checkpoint.npz", dir);
    LmNpz *z = lm_npz_read(p);
    if (!z) return -1;
    const LmArray *s = lm_npz_find(z, "step");
    int64_t v = s ? *(const int64_t *)s->data : -1;
    lm_npz_free(z);
    return v;
}

static int same_arrays(const char *da, const char *db) {
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/checkpoint.npz", da);
    snprintf(pb, sizeof pb, "%s/checkpoint.npz", db);
    LmNpz *a = lm_npz_read(pa), *b = lm_npz_read(pb);
    int eq = a && b;
    const char *names[] = {"params", "W_rec", "W_in", "W_out", "adam_m", "adam_v", "adam_t", "step", "trials",
                           "stream_state", "rng_noise", "thresholds"};
    for (int i = 0; eq && i < 12; i++) {
        const LmArray *x = lm_npz_find(a, names[i]), *y = lm_npz_find(b, names[i]);
        eq = x && y && x->count == y->count && !memcmp(x->data, y->data, x->count * lm_dtype_size(x->dtype));
        if (!eq) fprintf(stderr, "  %s differs between %s and %s\n", names[i], da, db);
    }
    lm_npz_free(a);
    lm_npz_free(b);
    return eq;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait until the run in `dir` has a checkpoint at step >= min_step (or the process ended). */
static void wait_checkpoint(pid_t pid, const char *dir, int64_t min_step) {
    for (int i = 0; i < 6000; i++) {
        if (ckpt_step(dir) >= min_step) return;
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        sleep_ms(10);
    }
}

static char *dirpath(const char *name) {
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, 512, "%s/%s", tmp, name);
    return b;
}

static void test_interrupt_resume_bit_identical(void) {
    char *ref = dirpath("ref");
    char *a_ref[] = {"train", TINY, "--steps", STEPS, "--out", ref, NULL};
    CHECK(run("ref", a_ref) == 0, "uninterrupted run failed");
    CHECK(ckpt_step(ref) == atoi(STEPS));

    int sigs[2] = {SIGINT, SIGTERM};
    const char *names[2] = {"sigint", "sigterm"};
    for (int k = 0; k < 2; k++) {
        char *d = dirpath(names[k]);
        char *a[] = {"train", TINY, "--steps", STEPS, "--out", d, NULL};
        pid_t pid = spawn(names[k], a);
        wait_checkpoint(pid, d, 100);
        kill(pid, sigs[k]);
        int rc = wait_status(pid);
        char out[8192];
        read_text(names[k], "out", out, sizeof out);
        int64_t s = ckpt_step(d);
        CHECK(rc == 0, "%s: exit %d", names[k], rc);
        CHECK(s >= 100 && s < atoi(STEPS), "%s: checkpoint at step %lld: the signal did not interrupt the run",
              names[k], (long long)s);
        CHECK(strstr(out, "interrupted at step") && strstr(out, "--resume"), "%s: stdout: %s", names[k], out);
        char *r[] = {"train", "--resume", d, NULL};
        char tag[64];
        snprintf(tag, sizeof tag, "%s_resume", names[k]);
        CHECK(run(tag, r) == 0, "%s: resume failed", names[k]);
        CHECK(ckpt_step(d) == atoi(STEPS) && same_arrays(ref, d), "%s: resumed run differs", names[k]);
    }

    /* SIGKILL between checkpoints: the run restarts from the last one. */
    char *d = dirpath("sigkill");
    char *a[] = {"train", TINY, "--steps", STEPS, "--out", d, NULL};
    pid_t pid = spawn("sigkill", a);
    wait_checkpoint(pid, d, 150);
    sleep_ms(5);
    kill(pid, SIGKILL);
    CHECK(wait_status(pid) == 128 + SIGKILL);
    int64_t s = ckpt_step(d);
    CHECK(s >= 150 && s < atoi(STEPS), "sigkill: checkpoint at step %lld", (long long)s);
    char *r[] = {"train", "--resume", d, "--quiet", NULL};
    CHECK(run("sigkill_resume", r) == 0, "sigkill: resume failed");
    CHECK(ckpt_step(d) == atoi(STEPS) && same_arrays(ref, d), "sigkill: resumed run differs");

    /* extending a finished run: 1000 + 500 == 1500 */
    char *e = dirpath("extend");
    char *a1[] = {"train", TINY, "--steps", "1000", "--out", e, "--quiet", NULL};
    CHECK(run("extend1", a1) == 0);
    char *a2[] = {"train", "--resume", e, "--steps", STEPS, "--quiet", NULL};
    CHECK(run("extend2", a2) == 0);
    CHECK(same_arrays(ref, e), "a finished run extended to the same total differs");
}

static void test_cli_bad_input(void) {
    char *ref = dirpath("ref");
    char *d = dirpath("bad");
    { char *a[] = {"train", "--hiden", "3", "--out", d, NULL}; expect_error("unknown_flag", a, 2, "--hiden"); }
    { char *a[] = {"train", "--hidden", "x", "--out", d, NULL}; expect_error("non_numeric", a, 2, "--hidden"); }
    { char *a[] = {"train", "--window", "0", "--out", d, NULL}; expect_error("range", a, 2, "--window"); }
    { char *a[] = {"train", "--battery", "go,nosuch", "--out", d, NULL}; expect_error("task", a, 2, "nosuch"); }
    { char *a[] = {"train", "--mask", "blob", "--out", d, NULL}; expect_error("mask", a, 2, "--mask"); }
    { char *a[] = {"train", "--hidden", "16", NULL}; expect_error("no_out", a, 2, "--out"); }
    { char *a[] = {"train", "--prune", "lottery", "--out", d, NULL}; expect_error("prune", a, 2, "lottery"); }
    { char *a[] = {"train", "--mask", "full", "--prune", "set", "--prune-density", "1.5", "--out", d, NULL};
      expect_error("prune_density", a, 2, "--prune-density"); }
    { char *a[] = {"train", "--mask", "full", "--prune", "rigl", "--out", d, NULL};
      expect_error("prune_no_density", a, 2, "target density"); }
    {   /* an E/I vector of the wrong length, and one with a value other than +1/-1 */
        int64_t n = 15;
        int32_t v[16] = {1, 1, -1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        CHECK(lm_npy_write(dirpath("ei15.npy"), LM_DT_I32, 1, &n, v) == 0);
        n = 16, v[4] = 0;
        CHECK(lm_npy_write(dirpath("ei0.npy"), LM_DT_I32, 1, &n, v) == 0);
        char *a[] = {"train", "--hidden", "16", "--dale", "--ei-file", dirpath("ei15.npy"), "--out", d, NULL};
        expect_error("ei_length", a, 2, "expected 16 values");
        char *b[] = {"train", "--hidden", "16", "--dale", "--ei-file", dirpath("ei0.npy"), "--out", d, NULL};
        expect_error("ei_value", b, 2, "entry 4");
    }
    { char *a[] = {"train", "--steps", NULL}; expect_error("no_value", a, 2, "--steps"); }
    { char *a[] = {"train", "--config", dirpath("nope.json"), "--out", d, NULL};
      expect_error("no_config", a, 2, "nope.json"); }
    { char *a[] = {"train", TINY, "--steps", "5", "--out", ref, NULL}; expect_error("exists", a, 1, "--resume"); }
    { char *a[] = {"train", "--resume", ref, "--hidden", "32", NULL}; expect_error("resume_change", a, 2, "--hidden"); }
    { char *a[] = {"train", "--resume", dirpath("nowhere"), NULL}; expect_error("resume_missing", a, 1, "nowhere"); }
    { char *a[] = {"train", TINY, "--out", "/proc/version/run", NULL}; expect_error("unwritable", a, 1, "/proc/version"); }
    { char *a[] = {"eval", ref, "--trials", "-3", NULL}; expect_error("eval_value", a, 2, "--trials"); }
    { char *a[] = {"plot", ref, "--threads", "many", NULL}; expect_error("plot_value", a, 2, "--threads"); }
    { char *a[] = {"tasks", "list", "--battery", "nosuch", NULL}; expect_error("tasks_value", a, 2, "nosuch"); }
    { char *a[] = {"experiment", "autapse", "--seeds", "0", "--plan", NULL}; expect_error("exp_value", a, 2, "--seeds"); }
    {   /* a mask without a single connection is refused */
        float zeros[16 * 16] = {0};
        int64_t shape[2] = {16, 16};
        char *mf = dirpath("zero_mask.npy");
        CHECK(lm_npy_write(mf, LM_DT_F32, 2, shape, zeros) == 0);
        char *a[] = {"train", "--battery", "go", "--hidden", "16", "--steps", "5", "--no-plot", "--mask", "file",
                     "--mask-file", mf, "--out", d, NULL};
        expect_error("zero_mask", a, 1, "no connections");
    }
    {   /* warnings, not silence: more threads than cores, --d with a mask that has no distance */
        char *a[] = {"train", "--hidden", "16", "--threads", "1024", "--mask", "diag", "--d", "2", "--dry-run",
                     "--out", d, NULL}, err[2000];
        CHECK(run("warnings", a) == 0);
        read_text("warnings", "err", err, sizeof err);
        CHECK(strstr(err, "warning: --threads 1024 is more than"), "%s", err);
        CHECK(strstr(err, "warning: --d is used only by local masks; --mask diag ignores it"), "%s", err);
        char *b[] = {"train", "--hidden", "16", "--mask", "local2d", "--d", "2", "--dry-run", "--out", d, NULL};
        CHECK(run("no_warnings", b) == 0);
        read_text("no_warnings", "err", err, sizeof err);
        CHECK(!strstr(err, "warning"), "%s", err);
    }
    {
        char *a[] = {"--version", NULL}, out[200];
        CHECK(run("version", a) == 0);
        read_text("version", "out", out, sizeof out);
        CHECK(!strncmp(out, "lmrnn ", 6) && strchr(out, '.'), "%s", out);
    }

    /* a corrupt checkpoint: resume refuses, the file is left as it was */
    char *c = dirpath("corrupt");
    char *a1[] = {"train", TINY, "--steps", "60", "--out", c, "--quiet", NULL};
    CHECK(run("corrupt1", a1) == 0);
    char p[600];
    snprintf(p, sizeof p, "%s/checkpoint.npz", c);
    CHECK(truncate(p, 1000) == 0);
    struct stat st0, st1;
    stat(p, &st0);
    char *a2[] = {"train", "--resume", c, "--steps", "100", NULL};
    expect_error("corrupt_resume", a2, 1, "checkpoint.npz");
    stat(p, &st1);
    CHECK(st1.st_size == 1000 && st1.st_mtime == st0.st_mtime);

    /* flags override the config file; the run's config.json records the result */
    char *cf = dirpath("cfg.json");
    FILE *f = fopen(cf, "w");
    fputs("{\"battery\":\"go,dm1\",\"hidden\":16,\"d\":3,\"window\":30,\"batch\":2,\"steps\":4,"
          "\"eval_trials\":4,\"no_plot\":true}\n", f);
    fclose(f);
    char *o = dirpath("fromfile");
    char *a3[] = {"train", "--config", cf, "--d", "2", "--out", o, NULL};
    CHECK(run("fromfile", a3) == 0);
    snprintf(p, sizeof p, "%s/config.json", o);
    f = fopen(p, "r");
    char text[16384] = "";
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    CHECK(strstr(text, "\"d\":\t2") || strstr(text, "\"d\": 2") || strstr(text, "\"d\":2"), "config.json: %s", text);
    CHECK(strstr(text, "go,dm1") && strstr(text, "\"window\""), "config.json lacks the file's options");
    char out[16384];
    read_text("fromfile", "out", out, sizeof out);
    CHECK(strstr(out, "run directory") != NULL, "no final summary on stdout: %s", out);
}

/* The program runs the OpenBLAS core this CPU should have: the one named in the environment if any (the
 * child inherits it), else the one lm_blas_better_core names when OpenBLAS fell back to a generic core
 * (the program starts again with it), else the one OpenBLAS chose. config.json says which. */
static void test_blas_core_chosen(void) {
    const char *better = getenv("OPENBLAS_CORETYPE") ? NULL : lm_blas_better_core();
    const char *want = better ? better : lm_blas_core();
    char *dir = dirpath("blas"), cfg[600], text[1 << 16];
    char *args[] = {"train", "--out", dir, TINY, "--steps", "2", "--quiet", NULL};
    CHECK(run("blas", args) == 0, "train failed");
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    FILE *f = fopen(cfg, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f) fclose(f);
    cJSON *doc = cJSON_Parse(text);
    const cJSON *core = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "derived"), "blas_core");
    CHECK(cJSON_IsString(core) && !strcasecmp(core->valuestring, want), "blas_core %s, expected %s",
          cJSON_IsString(core) ? core->valuestring : "(missing)", want);
    cJSON_Delete(doc);
}

int main(int argc, char **argv) {
    const char *env = getenv("LMRNN_BIN");
    if (env) {
        snprintf(bin, sizeof bin, "%s", env);
    } else {
        char self[900];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        snprintf(bin, sizeof bin, "%s/../lmrnn-san", dirname(self));
    }
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "FAIL: %s not found (make build/lmrnn-san)\n", bin);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    snprintf(tmp, sizeof tmp, "/tmp/lmrnn_e2e_train_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    RUN(test_interrupt_resume_bit_identical);
    RUN(test_cli_bad_input);
    RUN(test_blas_core_chosen);
    int failed = check_tests_failed;
    if (!failed) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    } else {
        fprintf(stderr, "run directories kept in %s\n", tmp);
    }
    (void)argc;
    (void)argv;
    return CHECK_DONE();
}
