/* Training-step benchmark (issue 3 item 8): median wall time of lm_train_step (forward + BPTT + clip +
 * Adam) on one Mod-Cog batch, the FLOP rate it achieves, and the OpenBLAS sgemm rate measured in the same
 * process with the same settings. Results go to stdout and, with --out, to a TSV file that
 * bench/torch_reference.py (mode `time --compare`) reads to print the speed-up over PyTorch.
 *
 *   build/bench/bench_step [--threads 1,2] [--reps 30] [--only NAME] [--out FILE] [--crossover|--crossover-band]
 *
 * --crossover times the dense and the sparse recurrent path on random masks of increasing density, the
 * measurement behind LM_SPARSE_CROSSOVER (docs/performance.md). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model/model.h"
#include "stream/stream.h"
#include "tasks/battery.h"
#include "util/err.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* CPU time of the calling thread: with 1 thread, the step's cost without the time other processes took
 * from it (reported next to the wall time on a shared machine). */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const char *name;
    int N, B;
    LmMaskKind kind;
    double d, density;
} Config;

static const Config configs[] = {
    {"N256_B4_full", 256, 4, LM_MASK_FULL, 0, 0},
    {"N256_B4_local2d_d3", 256, 4, LM_MASK_LOCAL2D, 3, 0},
    {"N256_B4_diag", 256, 4, LM_MASK_DIAG, 0, 0},
    {"N256_B64_full", 256, 64, LM_MASK_FULL, 0, 0},
    {"N256_B64_local2d_d3", 256, 64, LM_MASK_LOCAL2D, 3, 0},
    {"N1024_B16_full", 1024, 16, LM_MASK_FULL, 0, 0},
    {"N1024_B16_local2d_4pct", 1024, 16, LM_MASK_LOCAL2D, 0, 0.04},
};
enum { N_IN = 115, N_OUT = 17, T = 350 };

/* One Mod-Cog batch [T][B] from the real training stream. */
static void make_batch(int B, float *x, int32_t *y, uint8_t *dec) {
    LmBattery bat;
    if (lm_battery_parse("modcog82", &bat)) lm_die("%s", lm_err_msg());
    LM_ASSERT(lm_battery_n_in(&bat) == N_IN);
    LmStream *s = lm_stream_new(&bat, B, T, 1, LM_FIX_ALL);
    if (!s) lm_die("%s", lm_err_msg());
    lm_stream_next(s, x, y, dec);
    lm_stream_free(s);
}

/* Floating-point operations of one step as lmrnn performs them: every product counted as 2 per
 * multiply-add, the recurrent matrix at its stored size (N^2 dense, nnz sparse), the input products over
 * the batch's non-zero inputs (x_nnz; Mod-Cog windows are ~89% zeros, which lmrnn skips); elementwise
 * work, the loss and Adam not counted. */
static double step_flops(int N, int B, double rec_nnz, double x_nnz) {
    double tb = (double)T * B, t1b = (double)(T - 1) * B;
    double fwd = 2 * x_nnz * N + 2 * t1b * rec_nnz + 2 * tb * N * N_OUT;
    double bwd = 2 * x_nnz * N + 2 * 2 * t1b * rec_nnz + 2 * 2 * tb * N * N_OUT;
    return fwd + bwd;
}

/* Median ms per step over `reps` steps (after 3 warm-up steps); *cpu_ms: median thread CPU time. */
static double time_steps(const LmMask *mask, int N, int B, LmRecPath path, int reps, int *sparse_out,
                         double *cpu_ms, double *x_nnz) {
    LmModelConfig cfg;
    lm_model_config_default(&cfg, N_IN, N, N_OUT);
    cfg.path = path;
    LmModel *m = lm_model_new(&cfg, mask);
    if (!m) lm_die("%s", lm_err_msg());
    LmRng rng;
    lm_rng_seed(&rng, 1);
    lm_model_init(m, &rng);
    LmAdam adam;
    lm_adam_init(&adam, m, 1e-3);
    LmWork *w = lm_work_new(m, T, B);
    float *x = lm_malloc(sizeof(float) * T * B * N_IN);
    int32_t *y = lm_malloc(sizeof(int32_t) * T * B);
    uint8_t *dec = lm_malloc((size_t)T * B);
    make_batch(B, x, y, dec);
    if (x_nnz) {
        *x_nnz = 0;
        for (size_t k = 0; k < (size_t)T * B * N_IN; k++) *x_nnz += x[k] != 0;
    }
    LmLossConfig loss = {0, 1.0};
    double *ms = lm_malloc(sizeof(double) * reps), *cms = lm_malloc(sizeof(double) * reps);
    for (int r = -3; r < reps; r++) {
        double t0 = now(), c0 = cpu_now();
        LmStepStats st;
        if (lm_train_step(m, &adam, w, x, y, dec, &loss, T, B, 1.0, NULL, &st)) lm_die("%s", lm_err_msg());
        if (r >= 0) ms[r] = 1e3 * (now() - t0), cms[r] = 1e3 * (cpu_now() - c0);
    }
    qsort(ms, reps, sizeof *ms, cmp_double);
    qsort(cms, reps, sizeof *cms, cmp_double);
    double med = ms[reps / 2];
    if (cpu_ms) *cpu_ms = cms[reps / 2];
    free(cms);
    if (sparse_out) *sparse_out = lm_model_is_sparse(m);
    free(ms), free(x), free(y), free(dec);
    lm_work_free(w);
    lm_adam_free(&adam);
    lm_model_free(m);
    return med;
}

/* GFLOP/s of a square sgemm of side n (best of a few). */
static double sgemm_rate(int n) {
    float *a = lm_malloc(sizeof(float) * n * n), *b = lm_malloc(sizeof(float) * n * n),
          *c = lm_malloc(sizeof(float) * n * n);
    for (int k = 0; k < n * n; k++) a[k] = (float)(k % 7) * 0.1f, b[k] = (float)(k % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < 6; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = now() - t0;
        if (r > 0 && dt < best) best = dt;
    }
    free(a), free(b), free(c);
    return 2.0 * n * n * n / best * 1e-9;
}

static void crossover(int threads, int reps, int band_only) {
    const int sizes[][2] = {{256, 4}, {256, 64}, {1024, 16}};
    const double dens[] = {0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7};
    lm_set_threads(threads);
    printf("# crossover, %d thread(s): ms per step (%s), dense path vs sparse path (CSR), random masks\n", threads,
           threads == 1 ? "thread CPU time" : "wall");
    if (!band_only) printf("%-6s %-4s %-8s %10s %10s %8s\n", "N", "B", "density", "dense_ms", "sparse_ms", "ratio");
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes && !band_only; s++)
        for (size_t k = 0; k < sizeof dens / sizeof *dens; k++) {
            LmMaskSpec spec = {.kind = LM_MASK_RANDOM, .density = dens[k], .seed = 3};
            LmMask mask;
            if (lm_mask_build(&spec, sizes[s][0], &mask)) lm_die("%s", lm_err_msg());
            double cd, cs;   /* thread CPU time with 1 thread (robust on a shared machine), else wall */
            double td = time_steps(&mask, sizes[s][0], sizes[s][1], LM_PATH_DENSE, reps, NULL, &cd, NULL);
            double ts = time_steps(&mask, sizes[s][0], sizes[s][1], LM_PATH_SPARSE, reps, NULL, &cs, NULL);
            if (threads == 1) td = cd, ts = cs;
            printf("%-6d %-4d %-8.3f %10.3f %10.3f %8.2f\n", sizes[s][0], sizes[s][1], mask.density, td, ts, td / ts);
            fflush(stdout);
            lm_mask_free(&mask);
        }
    /* the same for local2d masks, which the sparse path stores as diagonals (band layout) */
    const double dd[] = {2, 3, 4, 5, 6, 7, 8, 10};
    printf("# crossover, %d thread(s): dense path vs sparse path (band layout), local2d open masks\n", threads);
    printf("%-6s %-4s %-8s %-5s %10s %10s %8s\n", "N", "B", "density", "d", "dense_ms", "sparse_ms", "ratio");
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t k = 0; k < sizeof dd / sizeof *dd; k++) {
            LmMaskSpec spec = {.kind = LM_MASK_LOCAL2D, .d = dd[k] * (sizes[s][0] == 1024 ? 2 : 1)};
            LmMask mask;
            if (lm_mask_build(&spec, sizes[s][0], &mask)) lm_die("%s", lm_err_msg());
            double cd, cs;
            double td = time_steps(&mask, sizes[s][0], sizes[s][1], LM_PATH_DENSE, reps, NULL, &cd, NULL);
            double ts = time_steps(&mask, sizes[s][0], sizes[s][1], LM_PATH_SPARSE, reps, NULL, &cs, NULL);
            if (threads == 1) td = cd, ts = cs;
            printf("%-6d %-4d %-8.3f %-5g %10.3f %10.3f %8.2f\n", sizes[s][0], sizes[s][1], mask.density, spec.d, td,
                   ts, td / ts);
            fflush(stdout);
            lm_mask_free(&mask);
        }
}

int main(int argc, char **argv) {
    lm_blas_restart(argv);   /* the kernels lmrnn itself runs (model.h) */
    int threads[4] = {1, 2}, n_threads = 2, reps = 30, do_cross = 0;
    const char *only = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            n_threads = 0;
            for (char *p = strtok(argv[++i], ","); p && n_threads < 4; p = strtok(NULL, ",")) threads[n_threads++] = atoi(p);
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--crossover")) do_cross = 1;
        else if (!strcmp(argv[i], "--crossover-band")) do_cross = 2;
        else lm_die("bench_step: unknown argument '%s'", argv[i]);
    }
    if (reps < 1) lm_die("bench_step: --reps must be >= 1");
    if (do_cross) {
        for (int t = 0; t < n_threads; t++) crossover(threads[t], reps, do_cross == 2);
        return 0;
    }
    FILE *f = out ? fopen(out, "w") : NULL;
    if (out && !f) lm_die("cannot write %s", out);
    if (f) fprintf(f, "config\tthreads\tms\tgflops\tsgemm_gflops\tpath\tdensity\tcpu_ms\n");
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("# lmrnn training step, n_in %d, n_out %d, T %d; OPENBLAS_CORETYPE=%s; median of %d steps\n", N_IN,
           N_OUT, T, ct ? ct : "(unset)", reps);
    for (int ti = 0; ti < n_threads; ti++) {
        lm_set_threads(threads[ti]);
        double sg = sgemm_rate(1024);
        printf("\n## %d thread(s): sgemm 1024^3 %.1f GFLOP/s\n", threads[ti], sg);
        printf("%-24s %-7s %-8s %9s %9s %8s %9s\n", "config", "path", "density", "ms/step", "GFLOP/s", "%sgemm",
               threads[ti] == 1 ? "cpu_ms" : "");
        for (size_t c = 0; c < sizeof configs / sizeof *configs; c++) {
            const Config *cf = &configs[c];
            if (only && !strstr(cf->name, only)) continue;
            LmMaskSpec spec = {.kind = cf->kind, .d = cf->d, .density = cf->density};
            LmMask mask;
            if (lm_mask_build(&spec, cf->N, &mask)) lm_die("%s", lm_err_msg());
            int sparse = 0;
            double cpu = 0, x_nnz = 0;
            double ms = time_steps(&mask, cf->N, cf->B, LM_PATH_AUTO, reps, &sparse, &cpu, &x_nnz);
            double nnz = sparse ? (double)mask.nnz : (double)cf->N * cf->N;
            double gf = step_flops(cf->N, cf->B, nnz, x_nnz) / (ms * 1e-3) * 1e-9;
            printf("%-24s %-7s %-8.4f %9.3f %9.1f %7.0f%%", cf->name, sparse ? "sparse" : "dense", mask.density, ms,
                   gf, 100 * gf / sg);
            if (threads[ti] == 1) printf(" %9.3f", cpu);
            printf("\n");
            fflush(stdout);
            if (f)
                fprintf(f, "%s\t%d\t%.4f\t%.2f\t%.2f\t%s\t%.5f\t%.4f\n", cf->name, threads[ti], ms, gf, sg,
                        sparse ? "sparse" : "dense", mask.density, threads[ti] == 1 ? cpu : ms);
            lm_mask_free(&mask);
        }
    }
    if (f) fclose(f);
    return 0;
}
