/* End-to-end: `lmrnn analyze` through the real binary (build/lmrnn-san) on a tiny trained run; the
 * outputs are loaded and checked independently with NumPy (tests/py/check_analysis.py: the update
 * equation rebuilt from checkpoint.npz); bad input gets one-line errors and the documented exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "proc.h"
#include "io/npz.h"

static char bin[1024], tmp[256], here[1024];

/* `lmrnn args...`, or `python3 args[1..]` when args[0] is "PY". */
static int run(const char *tag, char *const *args) {
    char *argv[64];
    int n = 0, py = args[0] && !strcmp(args[0], "PY");
    argv[n++] = py ? "/usr/bin/python3" : bin;
    for (int i = py; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return proc_wait(proc_spawn(tmp, tag, argv, 0), NULL);
}

static void read_text(const char *tag, const char *ext, char *buf, size_t n) { proc_read(tmp, tag, ext, buf, n); }

static void expect_ok(const char *tag, char *const *args) {
    int rc = run(tag, args);
    char err[4096], out[4096];
    read_text(tag, "err", err, sizeof err);
    read_text(tag, "out", out, sizeof out);
    CHECK(rc == 0, "%s: exit %d: %s %s", tag, rc, out, err);
}

static void expect_error(const char *tag, char *const *args, int status, const char *want) {
    proc_check_error(tmp, tag, run(tag, args), status, want);
}

static char *path(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

static void test_outputs_load_in_numpy(void) {
    char d[512];
    snprintf(d, sizeof d, "%s", path("run"));
    char *tr[] = {"train", "--battery", "go,dlygo,dm1,dms", "--hidden", "16", "--d", "2", "--batch", "4", "--window",
                  "60", "--steps", "300", "--eval-every", "300", "--eval-trials", "8", "--seed", "3", "--no-plot",
                  "--quiet", "--out", d, NULL};
    expect_ok("train", tr);
    CHECK(exists(path("run/init.npz")) && exists(path("run/summary.json")), "train writes init.npz and summary.json");
    char *st[] = {"analyze", "states", d, "--tasks", "dlygo,dms", "--trials", "5", "--out", path("states.npz"), NULL};
    expect_ok("states", st);
    char *fp[] = {"analyze", "fixedpoints", d, "--task", "dlygo", "--period", "delay", "--inits", "128",
                  "--max-iters", "400", "--trials", "16", "--noise", "0.05", "--out", path("fp.npz"), NULL};
    expect_ok("fixedpoints", fp);
    CHECK(exists(path("fp.json")) && exists(path("fp.png")), "fixedpoints writes its JSON and figure");
    char fj[1 << 16] = "";
    FILE *ff = fopen(path("fp.json"), "r");
    size_t fn = ff ? fread(fj, 1, sizeof fj - 1, ff) : 0;
    if (ff) fclose(ff);
    fj[fn] = '\0';
    CHECK(strstr(fj, "\"levenberg-marquardt") && strstr(fj, "\"converged\""), "fp.json reports the polish");
    char *sm[] = {"analyze", "summary", d, "--trials", "4", "--out", path("summary"), NULL};
    expect_ok("summary", sm);
    CHECK(exists(path("summary/summary.json")) && exists(path("summary/summary.png")) &&
              exists(path("summary/summary_history.png")),
          "summary files, and the figure over training from the run log's summary records");
    char logtext[1 << 16];
    snprintf(logtext, sizeof logtext, "%s", "");
    FILE *lf = fopen(path("run/log.jsonl"), "r");
    size_t got = lf ? fread(logtext, 1, sizeof logtext - 1, lf) : 0;
    if (lf) fclose(lf);
    logtext[got] = '\0';
    int n_summary = 0;
    for (const char *p = logtext; (p = strstr(p, "\"kind\":\"summary\"")); p++) n_summary++;
    CHECK(n_summary == 2 && strstr(logtext, "\"kind\":\"summary\",\"step\":0,"),
          "train logs a summary at step 0 and at its one evaluation (found %d)", n_summary);
    char *va[] = {"analyze", "variance", d, "--trials", "12", "--kmax", "6", "--restarts", "3", "--active", "1e-6",
                  "--pairs", "go:dlygo", "--out", path("var"), NULL};
    expect_ok("variance", va);
    CHECK(exists(path("var/variance.npz")) && exists(path("var/variance_map.png")) && exists(path("var/ftv.png")),
          "variance files");
    char *vp[] = {"analyze", "variance", d, "--trials", "12", "--kmax", "4", "--restarts", "2", "--active", "1e-6",
                  "--period", "delay", "--pairs", "go:dlygo", "--no-plot", "--out", path("var_delay"), NULL};
    expect_ok("variance_delay", vp);
    char vj[1 << 15] = "";
    FILE *vf = fopen(path("var_delay/variance.json"), "r");
    size_t vn = vf ? fread(vj, 1, sizeof vj - 1, vf) : 0;
    if (vf) fclose(vf);
    vj[vn] = '\0';
    CHECK(strstr(vj, "\"period\":\t\"delay\"") && strstr(vj, "\"tasks_without_period\":\t[\"dm1\"]"),
          "epoch variance: the period and the task without it are recorded: %.300s", vj);
    char *le[] = {"analyze", "lesion", d, "--clusters", path("var/variance.npz"), "--trials", "8", "--out",
                  path("les"), NULL};
    expect_ok("lesion", le);
    char *lu[] = {"analyze", "lesion", d, "--units", "0-3,7", "--trials", "8", "--no-plot", "--out", path("les2"), NULL};
    expect_ok("lesion_units", lu);
    CHECK(exists(path("les/lesion.csv")) && exists(path("les/lesion.png")) && exists(path("les2/lesion.json")),
          "lesion files");
    char script[1100];
    snprintf(script, sizeof script, "%s/py/check_analysis.py", here);
    char *py[] = {"PY", script, d, path("states.npz"), path("fp.npz"), path("fp.json"), path("var/variance.npz"),
                  path("les/lesion.json"), NULL};
    int rc = run("python", py);
    char out[4096];
    read_text("python", "out", out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "ok", 2), "numpy checks: %s", out);
}

/* --no-summary: the same weights, no summary records in log.jsonl and no summary.json (the option for
 * large N, where each summary costs minutes); without it both are there. */
static void test_no_summary(void) {
    char with[512], without[512];
    snprintf(with, sizeof with, "%s", path("sum_on"));
    snprintf(without, sizeof without, "%s", path("sum_off"));
    for (int k = 0; k < 2; k++) {
        char *tr[] = {"train", "--battery", "go,dm1", "--hidden", "16", "--d", "2", "--batch", "2", "--window", "40",
                      "--steps", "20", "--eval-every", "10", "--eval-trials", "4", "--seed", "3", "--no-plot",
                      "--quiet", "--out", k ? without : with, k ? "--no-summary" : NULL, NULL};
        expect_ok(k ? "train_no_summary" : "train_summary", tr);
    }
    char p[700], log[1 << 16];
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/log.jsonl", k ? without : with);
        FILE *f = fopen(p, "r");
        size_t n = f ? fread(log, 1, sizeof log - 1, f) : 0;
        if (f) fclose(f);
        log[n] = '\0';
        int has = strstr(log, "\"kind\":\"summary\"") != NULL;
        snprintf(p, sizeof p, "%s/summary.json", k ? without : with);
        CHECK(has == !k && exists(p) == !k, "%s: summary records %d, summary.json %d", k ? "--no-summary" : "default",
              has, exists(p));
    }
    LmNpz *z[2];
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/checkpoint.npz", k ? without : with);
        z[k] = lm_npz_read(p);
    }
    const LmArray *a = z[0] ? lm_npz_find(z[0], "params") : NULL, *b = z[1] ? lm_npz_find(z[1], "params") : NULL;
    CHECK(a && b && a->count == b->count && !memcmp(a->data, b->data, a->count * sizeof(float)),
          "--no-summary changed the weights");
    lm_npz_free(z[0]), lm_npz_free(z[1]);
}

static void test_bad_input(void) {
    char d[512];
    snprintf(d, sizeof d, "%s", path("run"));
    { char *a[] = {"analyze", "states", path("nowhere"), "--out", path("x.npz"), NULL}; expect_error("no_run", a, 1, "nowhere"); }
    { char *a[] = {"analyze", "states", tmp, "--out", path("x.npz"), NULL}; expect_error("no_ckpt", a, 1, "checkpoint"); }
    { char *a[] = {"analyze", "states", d, "--tasks", "gogo", "--out", path("x.npz"), NULL}; expect_error("bad_task", a, 2, "gogo"); }
    { char *a[] = {"analyze", "states", d, "--tasks", "anti", "--out", path("x.npz"), NULL}; expect_error("task_not_in_run", a, 2, "anti"); }
    { char *a[] = {"analyze", "states", d, "--trials", "0", "--out", path("x.npz"), NULL}; expect_error("zero_trials", a, 2, "--trials"); }
    { char *a[] = {"analyze", "fixedpoints", d, "--task", "go", "--period", "dealy", "--out", path("x.npz"), NULL}; expect_error("bad_period", a, 2, "dealy"); }
    { char *a[] = {"analyze", "fixedpoints", d, "--task", "dm1", "--period", "delay", "--out", path("x.npz"), NULL}; expect_error("period_missing", a, 2, "delay"); }
    { char *a[] = {"analyze", "fixedpoints", d, "--task", "go", "--period", "delay", "--inits", "-3", "--out", path("x.npz"), NULL}; expect_error("neg_inits", a, 2, "--inits"); }
    { char *a[] = {"analyze", "fixedpoints", d, "--period", "delay", "--out", path("x.npz"), NULL}; expect_error("no_task", a, 2, "--task"); }
    { char *a[] = {"analyze", "wobble", d, NULL}; expect_error("bad_sub", a, 2, "wobble"); }
    { char *a[] = {"analyze", "variance", d, "--method", "single", "--out", path("x.npz"), NULL}; expect_error("bad_method", a, 2, "single"); }
    { char *a[] = {"analyze", "lesion", d, "--units", "99", "--out", path("x.npz"), NULL}; expect_error("bad_unit", a, 2, "--units"); }
    { char *a[] = {"analyze", "lesion", d, "--clusters", path("fp.npz"), "--out", path("x.npz"), NULL}; expect_error("bad_clusters", a, 1, "units"); }
    { char *a[] = {"analyze", "fixedpoints", d, "--task", "dlygo", "--period", "delay", "--refine", "bfgs", "--out", path("x.npz"), NULL}; expect_error("bad_refine", a, 2, "bfgs"); }
    { char *a[] = {"analyze", "variance", d, "--period", "dealy", "--out", path("x.npz"), NULL}; expect_error("var_bad_period", a, 2, "dealy"); }
    { char *a[] = {"analyze", "variance", d, "--tasks", "go,dm1", "--period", "sample", "--out", path("x.npz"), NULL}; expect_error("var_no_period", a, 2, "sample"); }
    { char *a[] = {"analyze", "summary", d, "--trials", "-1", NULL}; expect_error("neg_trials", a, 2, "--trials"); }
    { char *a[] = {"analyze", "states", d, "--frobnicate", NULL}; expect_error("bad_opt", a, 2, "--frobnicate"); }
    CHECK(!exists(path("x.npz")), "no output after an error");
}

int main(int argc, char **argv) {
    (void)argc;
    char self[1024];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(bin, sizeof bin, "%s/../lmrnn-san", dirname(self));
    snprintf(self, sizeof self, "%s", __FILE__);
    snprintf(here, sizeof here, "%s", dirname(self));
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "FAIL: %s not found (make build/lmrnn-san)\n", bin);
        return 1;
    }
    snprintf(tmp, sizeof tmp, "/tmp/lmrnn_analyze_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    RUN(test_outputs_load_in_numpy);
    RUN(test_no_summary);
    RUN(test_bad_input);
    int rc = CHECK_DONE();
    if (rc == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    } else fprintf(stderr, "files kept in %s\n", tmp);
    return rc;
}
