/* One network across MPI ranks (built only when mpicc is found): `mpirun -np K build/lmrnn-mpi train
 * --distribute sheet` trains the same network as one process. Compared with the same binary run alone:
 * the loss and gradient norm of every step and the final checkpoint (weights, Adam moments) agree to
 * float rounding, the stream and counters exactly, for 2, 3 and 4 ranks, uneven strips, halos that span
 * two ranks, local1d and diag masks; a resume on another rank count continues the same run; the halo
 * traffic is the closed form; the unsupported cases fail with one line.
 *
 * Tolerance: the split changes only the order of two sums, the readout's H W_out^T (partial sums over
 * each strip's units, added across ranks in double) and the squared gradient norm; everything else is
 * computed by the same kernels in the same order (tests check the halo rows' redundant copies too,
 * through the final weights). One reordering is a few float ulps of a logit (~1e-7 relative); over the
 * short runs here Adam carries it to at most ~1e-7 absolute in the weights (max |w| ~ 0.5). We allow
 * 2e-6 absolute for weights and moments, 1e-6 relative for losses and norms: 10x the observed worst
 * case, 1000x below the change of one optimiser step (lr 1e-3). */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "proc.h"
#include "run_helpers.h"
#include "io/npz.h"

static char mpi_bin[PATH_MAX];
static char logs[256];   /* tmp_root, for the captured output of every child (tests/proc.h) */
#define T_WINDOW 40
#define B_BATCH 2

/* argv of one training run: the binary (or mpirun -np K binary), then the common options, then extra. */
static int train(const char *tag, int ranks, const char *out, const char *const *extra) {
    char *argv[64];
    int n = 0;
    char np[16];
    snprintf(np, sizeof np, "%d", ranks);
    if (ranks > 0) {
        argv[n++] = "mpirun", argv[n++] = "--oversubscribe", argv[n++] = "--allow-run-as-root";
        argv[n++] = "-np", argv[n++] = np;
    }
    argv[n++] = mpi_bin, argv[n++] = "train";
    const char *common[] = {"--battery", "yang20", "--batch", "2", "--window", "40", "--eval-every", "4",
                            "--eval-trials", "2", "--log-every", "1", "--checkpoint-every", "4", "--no-plot",
                            "--quiet", "--out", out, NULL};
    for (int k = 0; common[k]; k++) argv[n++] = (char *)common[k];
    for (int k = 0; extra && extra[k]; k++) argv[n++] = (char *)extra[k];
    argv[n] = NULL;
    int rc = proc_wait(proc_spawn(logs, tag, argv, 0), NULL);
    if (rc != 0) {
        char err[4096];
        proc_read(logs, tag, "err", err, sizeof err);
        fprintf(stderr, "  %s exited %d: %s\n", tag, rc, err);
    }
    return rc;
}

/* The "loss" and "grad_norm" of every train record of a run's log. */
static int train_curve(const char *dir, double *loss, double *norm, int max) {
    char path[PATH_MAX];
    pathf(path, "%s/log.jsonl", dir);
    char *text = read_text(path);
    int n = 0;
    for (char *line = text ? strtok(text, "\n") : NULL; line && n < max; line = strtok(NULL, "\n")) {
        if (!strstr(line, "\"kind\":\"train\"")) continue;
        char *l = strstr(line, "\"loss\":"), *g = strstr(line, "\"grad_norm\":");
        if (!l || !g) continue;
        loss[n] = strtod(l + 7, NULL), norm[n] = strtod(g + 12, NULL);
        n++;
    }
    free(text);
    return n;
}

static const LmArray *member(LmNpz *z, const char *name) {
    const LmArray *a = z ? lm_npz_find(z, name) : NULL;
    CHECK(a != NULL, "checkpoint member %s", name);
    return a;
}

/* Largest |a - b| over a float member; -1 if the shapes differ. */
static double max_diff(LmNpz *a, LmNpz *b, const char *name) {
    const LmArray *x = member(a, name), *y = member(b, name);
    if (!x || !y || x->count != y->count || x->dtype != LM_DT_F32) return -1;
    double d = 0;
    for (size_t k = 0; k < x->count; k++) {
        double e = fabs((double)((const float *)x->data)[k] - ((const float *)y->data)[k]);
        if (!(e <= d)) d = e;   /* NaN propagates */
    }
    return d;
}

static int same_bytes(LmNpz *a, LmNpz *b, const char *name) {
    const LmArray *x = member(a, name), *y = member(b, name);
    return x && y && x->count == y->count && x->dtype == y->dtype &&
           !memcmp(x->data, y->data, x->count * lm_dtype_size(x->dtype));
}

/* The run in `dir` is the run in `ref` up to float rounding (see the tolerance above). */
static void check_same_run(const char *ref, const char *dir) {
    double la[64], ga[64], lb[64], gb[64];
    int na = train_curve(ref, la, ga, 64), nb = train_curve(dir, lb, gb, 64);
    CHECK(na > 0 && na == nb, "%s: %d train records, %s: %d", ref, na, dir, nb);
    for (int k = 0; k < na && k < nb; k++) {
        CHECK(fabs(la[k] - lb[k]) <= 1e-6 * fabs(la[k]), "step %d loss %.9g vs %.9g", k + 1, la[k], lb[k]);
        CHECK(fabs(ga[k] - gb[k]) <= 1e-6 * fabs(ga[k]), "step %d grad_norm %.9g vs %.9g", k + 1, ga[k], gb[k]);
    }
    char pa[PATH_MAX], pb[PATH_MAX];
    pathf(pa, "%s/checkpoint.npz", ref);
    pathf(pb, "%s/checkpoint.npz", dir);
    LmNpz *a = lm_npz_read(pa), *b = lm_npz_read(pb);
    CHECK(a && b, "%s / %s unreadable", pa, pb);
    const char *floats[] = {"params", "W_in", "W_rec_data", "W_out", "b_out", "adam_m", "adam_v"};
    for (size_t k = 0; a && b && k < sizeof floats / sizeof floats[0]; k++) {
        double d = max_diff(a, b, floats[k]);
        CHECK(d >= 0 && d <= 2e-6, "%s: %s differs by %g", dir, floats[k], d);
    }
    const char *exact[] = {"adam_t", "step", "trials", "stream_state", "W_rec_indices", "W_rec_indptr"};
    for (size_t k = 0; a && b && k < sizeof exact / sizeof exact[0]; k++)
        CHECK(same_bytes(a, b, exact[k]), "%s: %s differs", dir, exact[k]);
    lm_npz_free(a);
    lm_npz_free(b);
    char ev[PATH_MAX];
    pathf(ev, "%s/eval.json", dir);
    CHECK(exists(ev), "%s: no eval.json", dir);
}

/* Every split of one configuration against the single-process run. */
static void check_splits(const char *name, const char *const *opts, const int *ranks, int n_ranks) {
    char ref[PATH_MAX], tag[64];
    pathf(ref, "%s/%s-1", tmp_root, name);
    snprintf(tag, sizeof tag, "%s-1", name);
    CHECK(train(tag, 0, ref, opts) == 0);
    for (int k = 0; k < n_ranks; k++) {
        char dir[PATH_MAX];
        const char *extra[32];
        int n = 0;
        for (; opts[n]; n++) extra[n] = opts[n];
        extra[n++] = "--distribute", extra[n++] = "sheet", extra[n] = NULL;
        pathf(dir, "%s/%s-np%d", tmp_root, name, ranks[k]);
        snprintf(tag, sizeof tag, "%s-np%d", name, ranks[k]);
        CHECK(train(tag, ranks[k], dir, extra) == 0, "%s on %d ranks", name, ranks[k]);
        check_same_run(ref, dir);
    }
}

static void test_local2d_square(void) {
    const char *opts[] = {"--hidden", "256", "--steps", "8", NULL};
    const int ranks[] = {2, 4};
    check_splits("sq", opts, ranks, 2);
}

/* 10 rows over 3 and 4 ranks (strips of 3-4 and 2-3 rows), d = 3 (halo 2 rows); 8 ranks: 1-row strips
 * whose halo comes from two ranks on each side. */
static void test_local2d_uneven(void) {
    const char *opts[] = {"--hidden", "120", "--grid", "12x10", "--steps", "6", NULL};
    const int ranks[] = {3, 8};
    check_splits("uneven", opts, ranks, 2);
}

static void test_local1d_and_diag(void) {
    const char *o1[] = {"--hidden", "64", "--mask", "local1d", "--d", "4", "--steps", "6", NULL};
    const int r1[] = {4};
    check_splits("l1d", o1, r1, 1);
    const char *o2[] = {"--hidden", "64", "--mask", "diag", "--steps", "6", NULL};
    const int r2[] = {2};
    check_splits("diag", o2, r2, 1);
}

/* Same rank count, same bits; and the halo traffic of the log's distribute record is the closed form:
 * rank 0 of 2 on a 16 x 16 sheet with d = 3 sends its last 2 rows (32 units) of every batch row at every
 * time step, forward (h_t) and backward (ds_t). */
static void test_deterministic_and_traffic(void) {
    char a[PATH_MAX], b[PATH_MAX];
    pathf(a, "%s/sq-np2", tmp_root);
    pathf(b, "%s/sq-np2-again", tmp_root);
    const char *extra[] = {"--hidden", "256", "--steps", "8", "--distribute", "sheet", NULL};
    CHECK(train("sq-np2-again", 2, b, extra) == 0);
    char pa[PATH_MAX], pb[PATH_MAX];
    pathf(pa, "%s/checkpoint.npz", a);
    pathf(pb, "%s/checkpoint.npz", b);
    LmNpz *x = lm_npz_read(pa), *y = lm_npz_read(pb);
    CHECK(x && y && same_bytes(x, y, "params") && same_bytes(x, y, "adam_m") && same_bytes(x, y, "adam_v"));
    lm_npz_free(x);
    lm_npz_free(y);
    char path[PATH_MAX];
    pathf(path, "%s/log.jsonl", b);
    char *text = read_text(path);
    char *rec = text ? strstr(text, "\"kind\":\"distribute\"") : NULL;
    CHECK(rec != NULL, "no distribute record");
    char *hb = rec ? strstr(rec, "\"halo_bytes\":[") : NULL;
    double bytes = hb ? strtod(hb + 14, NULL) : -1;
    double want = 8.0 * 2 * T_WINDOW * B_BATCH * 32 * sizeof(float);
    CHECK(bytes == want, "halo bytes of rank 0: %g, want %g", bytes, want);
    CHECK(rec && strstr(rec, "\"halo_units\":[32,32]"), "halo units");
    free(text);
}

/* 4 steps on 2 ranks, resumed to 8 on 4 ranks: the 8-step single-process run. */
static void test_resume_other_rank_count(void) {
    char ref[PATH_MAX], dir[PATH_MAX];
    pathf(ref, "%s/sq-1", tmp_root);
    pathf(dir, "%s/resumed", tmp_root);
    const char *first[] = {"--hidden", "256", "--steps", "4", "--distribute", "sheet", NULL};
    CHECK(train("resume-a", 2, dir, first) == 0);
    char *argv[] = {"mpirun", "--oversubscribe", "--allow-run-as-root", "-np", "4", mpi_bin, "train", "--resume",
                    dir, "--steps", "8", "--quiet", "--no-plot", NULL};
    CHECK(proc_wait(proc_spawn(logs, "resume-b", argv, 0), NULL) == 0);
    check_same_run(ref, dir);
}

static void test_errors(void) {
    char out[PATH_MAX];
    pathf(out, "%s/err", tmp_root);
    char san[PATH_MAX];
    snprintf(san, sizeof san, "%s", lmrnn_bin);
    char *no_mpi[] = {san, "train", "--out", out, "--distribute", "sheet", NULL};
    proc_check_error(logs, "e1", proc_wait(proc_spawn(logs, "e1", no_mpi, 0), NULL), 2, "without MPI");
    char *alone[] = {mpi_bin, "train", "--out", out, "--distribute", "sheet", NULL};
    proc_check_error(logs, "e2", proc_wait(proc_spawn(logs, "e2", alone, 0), NULL), 2,
                     "needs at least 2 MPI ranks");
    char *random[] = {mpi_bin, "train", "--out", out, "--mask", "random", "--density", "0.1", "--distribute", "sheet",
                      NULL};
    proc_check_error(logs, "e3", proc_wait(proc_spawn(logs, "e3", random, 0), NULL), 2,
                     "only local2d, local1d and diag masks");
    char *many[] = {"mpirun", "--oversubscribe", "--allow-run-as-root", "-np", "5", mpi_bin, "train", "--out", out,
                    "--hidden", "16", "--distribute", "sheet", NULL};
    int rc = proc_wait(proc_spawn(logs, "e4", many, 0), NULL);
    char err[4096];
    proc_read(logs, "e4", "err", err, sizeof err);
    CHECK(rc != 0 && strstr(err, "5 ranks but the sheet has only 4 rows"), "exit %d: %s", rc, err);
    char *first = strstr(err, "5 ranks but");
    CHECK(first && !strstr(first + 1, "5 ranks but"), "one message (rank 0's), not one per rank: %s", err);
}

static void test_binary(void) {
    CHECK(access(mpi_bin, X_OK) == 0, "%s missing (make builds it when mpicc is found)", mpi_bin);
}

int main(int argc, char **argv) {
    (void)argc;
    char self[PATH_MAX];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(mpi_bin, sizeof mpi_bin, "%s/../lmrnn-mpi", dirname(self));
    char real[PATH_MAX];
    if (realpath(mpi_bin, real)) snprintf(mpi_bin, sizeof mpi_bin, "%s", real);
    find_binary(argv[0]);
    RUN(test_binary);
    if (system("command -v mpirun > /dev/null 2>&1") != 0) {
        printf("skipped the MPI runs: mpirun is not installed (Debian: openmpi-bin)\n");
        return CHECK_DONE();
    }
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_btl", "self,vader", 1);   /* one machine: shared memory only */
    snprintf(tmp_root, sizeof tmp_root, "/tmp/lmrnn-test-train-mpi-XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(logs, sizeof logs, "%.200s", tmp_root);   /* mkdtemp above: a short /tmp path */
    RUN(test_local2d_square);
    RUN(test_local2d_uneven);
    RUN(test_local1d_and_diag);
    RUN(test_deterministic_and_traffic);
    RUN(test_resume_other_rank_count);
    RUN(test_errors);
    if (getenv("LMRNN_TEST_KEEP"))
        printf("kept %s\n", tmp_root);
    else
        rm_rf(tmp_root);
    return CHECK_DONE();
}
