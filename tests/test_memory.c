/* The memory estimate (train/memory.c) against the real program: within 20 % of the peak resident set
 * of `lmrnn train` (the optimised build/lmrnn, whose memory is the user's) at two sizes; the refusal
 * under a lowered address-space limit; --dry-run; and the mask counts the estimate is built on, against
 * the masks themselves. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "proc.h"
#include "model/model.h"
#include "train/memory.h"
#include "util/err.h"

static char bin[1024], tmp[256];

/* Run `lmrnn train args` (stdout/stderr to <tmp>/<tag>.out/.err) with an optional address-space limit;
 * returns the exit status and the child's peak RSS in bytes. */
static int run(const char *tag, char *const *args, long as_limit, double *maxrss) {
    char *argv[64] = {bin, "train"};
    int n = 2;
    for (int k = 0; args[k] && n < 63; k++) argv[n++] = args[k];
    argv[n] = NULL;
    long kb = 0;
    int rc = proc_wait(proc_spawn(tmp, tag, argv, as_limit), &kb);
    if (maxrss) *maxrss = (double)kb * 1024;
    return rc;
}

static void read_text(const char *tag, const char *ext, char *buf, size_t n) { proc_read(tmp, tag, ext, buf, n); }

/* The configuration the command line below describes, for the in-process estimate. */
static LmMemoryEstimate estimate_for(const char *hidden, const char *window) {
    LmTrainConfig c;
    lm_train_config_default(&c);
    lm_train_config_set(&c, "hidden", hidden);
    lm_train_config_set(&c, "window", window);
    lm_train_config_set(&c, "eval-trials", "1");
    lm_train_config_set(&c, "no-plot", "true");
    LmMemoryEstimate e;
    CHECK(lm_memory_estimate(&c, 0, &e) == 0, "%s", lm_err_msg());
    return e;
}

/* One step, an evaluation and a checkpoint: every phase the estimate covers. */
static void test_estimate_within_20_percent_of_peak_rss(void) {
    const char *sizes[2][2] = {{"1024", "350"}, {"4096", "350"}};
    for (int k = 0; k < 2; k++) {
        char out[300];
        snprintf(out, sizeof out, "%s/rss%s", tmp, sizes[k][0]);
        char *args[] = {"--out", out, "--hidden", (char *)sizes[k][0], "--window", (char *)sizes[k][1], "--steps",
                        "1", "--eval-trials", "1", "--eval-every", "0", "--no-plot", "--quiet", NULL};
        double rss = 0;
        int rc = run("rss", args, 0, &rss);
        CHECK(rc == 0, "N=%s: exit %d", sizes[k][0], rc);
        LmMemoryEstimate e = estimate_for(sizes[k][0], sizes[k][1]);
        printf("     N=%s: estimate %.1f MB, peak RSS %.1f MB\n", sizes[k][0], e.total / 1048576, rss / 1048576);
        CHECK(e.total >= 0.8 * rss && e.total <= 1.2 * rss, "N=%s: estimate %.1f MB vs peak RSS %.1f MB",
              sizes[k][0], e.total / 1048576, rss / 1048576);
    }
}

/* Under an address-space limit far below the need: one line naming the need and the limit, exit 1,
 * nothing trained (no log). */
static void test_refusal_under_lowered_limit(void) {
    char out[300], err[4096], logp[400];
    snprintf(out, sizeof out, "%s/refused", tmp);
    char *args[] = {"--out", out, "--hidden", "16384", "--steps", "1", "--quiet", NULL};
    int rc = run("refused", args, 320L << 20, NULL);
    read_text("refused", "err", err, sizeof err);
    int lines = 0;
    for (char *p = err; *p; p++) lines += *p == '\n';
    CHECK(rc == 1, "exit %d (stderr: %s)", rc, err);
    CHECK(lines == 1 && !strncmp(err, "lmrnn: ", 7), "not one 'lmrnn: ' line: %s", err);
    CHECK(strstr(err, "needs about") && strstr(err, "RLIMIT_AS") && strstr(err, "available"), "%s", err);
    snprintf(logp, sizeof logp, "%s/log.jsonl", out);
    CHECK(access(logp, F_OK) != 0, "a refused run wrote %s", logp);

    /* the same run without the limit is only sized by --dry-run: the table, exit 0, no directory */
    char *dry[] = {"--out", out, "--hidden", "16384", "--dry-run", NULL};
    rc = run("dry", dry, 0, NULL);
    char txt[4096];
    read_text("dry", "out", txt, sizeof txt);
    CHECK(rc == 0 && strstr(txt, "peak") && strstr(txt, "work") && strstr(txt, "available"), "exit %d: %s", rc, txt);
    CHECK(access(out, F_OK) != 0, "--dry-run created %s", out);
}

/* lm_mask_count (what the estimate sizes) equals the built masks' counts. */
static void test_mask_count_matches_built_masks(void) {
    struct { LmMaskSpec s; int n; } cases[] = {
        {{.kind = LM_MASK_LOCAL2D, .d = 3}, 256},
        {{.kind = LM_MASK_LOCAL2D, .d = 2.5, .periodic = 1}, 144},
        {{.kind = LM_MASK_LOCAL2D, .d = 4, .nx = 20, .ny = 6}, 120},
        {{.kind = LM_MASK_LOCAL2D, .d = 3, .nx = 5, .ny = 5, .periodic = 1}, 25},
        {{.kind = LM_MASK_LOCAL2D, .density = 0.1}, 400},
        {{.kind = LM_MASK_LOCAL1D, .d = 5}, 64},
        {{.kind = LM_MASK_LOCAL1D, .density = 0.3}, 50},
        {{.kind = LM_MASK_DIAG}, 33},
        {{.kind = LM_MASK_FULL}, 17},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        LmMask m;
        int64_t nnz = -1, nd = -1;
        CHECK(lm_mask_build(&cases[k].s, cases[k].n, &m) == 0, "%s", lm_err_msg());
        CHECK(lm_mask_count(&cases[k].s, cases[k].n, &nnz, &nd) == 0, "%s", lm_err_msg());
        CHECK(nnz == m.nnz && nd == lm_mask_n_diag(&m), "case %zu: count %lld/%lld, mask %lld/%lld", k,
              (long long)nnz, (long long)nd, (long long)m.nnz, (long long)lm_mask_n_diag(&m));
        lm_mask_free(&m);
    }
    LmMaskSpec r = {.kind = LM_MASK_RANDOM, .density = 0.2, .seed = 3};
    LmMask m;
    int64_t nnz, nd;
    CHECK(lm_mask_build(&r, 200, &m) == 0 && lm_mask_count(&r, 200, &nnz, &nd) == 0);
    CHECK(llabs(nnz - m.nnz) < 400, "random: expected %lld, drawn %lld", (long long)nnz, (long long)m.nnz);  /* sd 80 */
    lm_mask_free(&m);
}

int main(void) {
    char self[900];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(bin, sizeof bin, "%s/../lmrnn", dirname(self));
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "FAIL: %s not found (make build/lmrnn)\n", bin);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    snprintf(tmp, sizeof tmp, "/tmp/lmrnn_memory_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    RUN(test_mask_count_matches_built_masks);
    RUN(test_estimate_within_20_percent_of_peak_rss);
    RUN(test_refusal_under_lowered_limit);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return CHECK_DONE();
}
