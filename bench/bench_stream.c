/* Stream generation throughput (modcog82, faithful and all corrections) and its cost relative to one
 * training step at the same configuration (local2d d=3, N=256).
 *   build/bench/bench_stream [--threads N] [--reps R] [--no-train]
 * --no-train skips the training-step timing (bench/bench_python_stream.py compares only the stream). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model/model.h"
#include "stream/stream.h"
#include "tasks/battery.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
static double cpu_now(void) {   /* CPU time of the process: what the stream costs, whatever else runs */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median ms per window over `reps` calls (after a warm-up); *mean gets the mean and *cpu the mean CPU
 * time, which include the cache refills every few windows (the median does not): the throughput a
 * training loop sees. */
static double time_stream(const LmBattery *b, int B, int T, unsigned fix, int reps, double *mean, double *cpu) {
    LmStream *s = lm_stream_new(b, B, T, 1, fix);
    int n_in = lm_stream_n_in(s);
    float *x = malloc(sizeof(float) * (size_t)T * B * n_in);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)T * B);
    uint8_t *d = malloc((size_t)T * B);
    double *ms = malloc(sizeof(double) * (size_t)reps);
    for (int i = 0; i < 5; i++) lm_stream_next(s, x, y, d);
    double sum = 0, c0 = cpu_now();
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        lm_stream_next(s, x, y, d);
        ms[i] = 1e3 * (now() - t0);
        sum += ms[i];
    }
    *mean = sum / reps;
    *cpu = 1e3 * (cpu_now() - c0) / reps;
    double m = median(ms, reps);
    free(ms);
    free(x);
    free(y);
    free(d);
    lm_stream_free(s);
    return m;
}

/* Median ms of lm_train_step on a stream window; -1 if the model cannot be built. */
static double time_train(const LmBattery *b, int B, int T, int reps) {
    LmModelConfig cfg;
    lm_model_config_default(&cfg, LM_OBS + b->n, 256, LM_N_ACTIONS);
    LmMaskSpec spec;
    memset(&spec, 0, sizeof spec);
    spec.kind = LM_MASK_LOCAL2D;
    spec.d = 3;
    LmMask mask;
    if (lm_mask_build(&spec, 256, &mask) != 0) return -1;
    LmModel *m = lm_model_new(&cfg, &mask);
    LmRng rng = lm_rng_derive(1, 1);
    lm_model_init(m, &rng);
    LmAdam adam;
    lm_adam_init(&adam, m, 1e-3);
    LmWork *w = lm_work_new(m, T, B);
    LmStream *s = lm_stream_new(b, B, T, 1, 0);
    int n_in = lm_stream_n_in(s);
    float *x = malloc(sizeof(float) * (size_t)T * B * n_in);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)T * B);
    uint8_t *d = malloc((size_t)T * B);
    LmLossConfig loss = {0, 1.0};
    double *ms = malloc(sizeof(double) * (size_t)reps);
    LmStepStats st;
    for (int i = 0; i < reps + 2; i++) {
        lm_stream_next(s, x, y, d);
        double t0 = now();
        lm_train_step(m, &adam, w, x, y, d, &loss, T, B, 1.0, NULL, &st);
        if (i >= 2) ms[i - 2] = 1e3 * (now() - t0);
    }
    double med = median(ms, reps);
    free(ms);
    free(x);
    free(y);
    free(d);
    lm_stream_free(s);
    lm_work_free(w);
    lm_adam_free(&adam);
    lm_model_free(m);
    lm_mask_free(&mask);
    return med;
}

int main(int argc, char **argv) {
    int threads = 1, reps = 200, train = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-train")) train = 0;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else threads = 0;
    }
    if (threads < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_stream [--threads N] [--reps R] [--no-train]\n");
        return 2;
    }
    lm_set_threads(threads);
    LmBattery b;
    lm_battery_parse("modcog82", &b);
    const int Bs[2] = {4, 64};
    printf("stream generation, modcog82, T = 350, %d thread(s), median of %d windows\n", threads, reps);
    printf("%-6s %-9s %12s %12s %14s %14s %12s %12s\n", "B", "fix", "ms/window", "windows/s", "train ms/step", "gen/train",
           "mean ms", "cpu ms");
    for (int i = 0; i < 2; i++) {
        int B = Bs[i], r = B == 64 ? reps / 4 + 1 : reps;
        double train_ms = train ? time_train(&b, B, 350, B == 64 ? 10 : 30) : -1;
        for (int f = 0; f < 2; f++) {
            unsigned fix = f ? LM_FIX_ALL : 0;
            double mean, cpu;
            double ms = time_stream(&b, B, 350, fix, r, &mean, &cpu);
            char ratio[32] = "n/a";
            if (train_ms > 0) snprintf(ratio, sizeof ratio, "%.2f%%", 100 * ms / train_ms);
            printf("%-6d %-9s %12.4f %12.0f %14.3f %14s %12.4f %12.4f\n", B, f ? "all" : "faithful", ms, 1e3 / ms, train_ms, ratio,
                   mean, cpu);
        }
    }
    printf("target: generation < 5%% of a training step (local2d d=3, N=256, same B and T)\n");
    return 0;
}
