/* Fixed-point search speed (docs/analysis.md): n_inits states of an N-unit network with a random
 * recurrent matrix (Gaussian, gain g / sqrt(N), relu, ngym, alpha 1), the default optimiser settings,
 * a fixed number of iterations (no state stops early: tol_q = tol_dq = 0, no polish), plus the
 * eigen-decomposition of every point's Jacobian. Then the default settings (tolerances, at most `iters`
 * iterations) with Adam only and with the Levenberg-Marquardt polish: points, how many reach tol_q, the
 * largest q, seconds.
 *   build/bench/bench_fixedpoints [N] [n_inits] [iters] [threads] [gain]   (default 256 1024 5000 1 0.9) */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include "analysis/analysis.h"
#include "util/rng.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
    int N = argc > 1 ? atoi(argv[1]) : 256, n = argc > 2 ? atoi(argv[2]) : 1024;
    int iters = argc > 3 ? atoi(argv[3]) : 5000, threads = argc > 4 ? atoi(argv[4]) : 1;
    double gain = argc > 5 ? atof(argv[5]) : 0.9;
    if (N < 2 || n < 1 || iters < 1 || threads < 1 || !(gain > 0)) {
        fprintf(stderr, "usage: bench_fixedpoints [N] [n_inits] [iters] [threads] [gain]\n");
        return 2;
    }
    LmRng rng = lm_rng_derive(1, 7);
    float *W = malloc((size_t)N * N * sizeof(float)), *inits = malloc((size_t)n * N * sizeof(float));
    double *c = malloc((size_t)N * sizeof(double));
    for (size_t k = 0; k < (size_t)N * N; k++) W[k] = (float)(gain * lm_rng_normal(&rng) / sqrt((double)N));
    for (int i = 0; i < N; i++) c[i] = 0.1 * lm_rng_normal(&rng);
    for (size_t k = 0; k < (size_t)n * N; k++) inits[k] = (float)(0.5 + 0.5 * lm_rng_normal(&rng));
    LmMap map = {N, LM_RULE_NGYM, LM_ACT_RELU, 1.0, W, c};
    LmFpOptions o;
    lm_fp_options_default(&o);
    o.n_inits = n, o.max_iters = iters, o.tol_q = 0, o.tol_dq = 0, o.threads = threads, o.refine = 0;
    LmFixedPoints fp;
    double t0 = cpu_now();
    if (lm_fp_find(&map, inits, &o, &fp) != 0) return 1;
    double cpu = cpu_now() - t0;
    printf("N %d, %d inits, %d iterations: optimisation %.2f s wall (%.2f ms/iteration), %d unique points, eigen "
           "%.2f s wall; %.2f s CPU in all\n", N, n, fp.iterations, fp.seconds_opt, 1e3 * fp.seconds_opt / fp.iterations,
           fp.K, fp.seconds_eig, cpu);
    lm_fp_free(&fp);
    for (int refine = 0; refine < 2; refine++) {
        lm_fp_options_default(&o);
        o.n_inits = n, o.max_iters = iters, o.threads = threads, o.refine = refine;
        t0 = cpu_now();
        if (lm_fp_find(&map, inits, &o, &fp) != 0) return 1;
        cpu = cpu_now() - t0;
        double qmax = 0;
        for (int j = 0; j < fp.K; j++) qmax = fmax(qmax, fp.q[j]);
        printf("defaults, %s: %d Adam iterations %.2f s wall, polish of %d points %.2f s wall; %d unique points, %d "
               "with q < %g, largest q %.2e; %.2f s CPU in all\n", refine ? "Adam + Levenberg-Marquardt" : "Adam only",
               fp.iterations, fp.seconds_opt, fp.n_refined, fp.seconds_refine, fp.K, fp.n_converged, o.tol_q, qmax, cpu);
        lm_fp_free(&fp);
    }
    free(W), free(inits), free(c);
    return 0;
}
