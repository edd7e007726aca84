/* Scale benchmark (issue 14): the real program (build/lmrnn) trains local2d d = 3 networks on square
 * sheets, a few steps each with an evaluation and a checkpoint, and for each N this prints ms per step,
 * peak RSS (wait4), checkpoint size and the log-log slope of each against the number of connections
 * (least squares over the sizes with N > 4096). Optionally a log-log figure.
 *
 *   build/bench/bench_scale [--sides 16,32,64,128,256,512] [--window 350] [--big 1024] [--big-window 100]
 *                           [--steps 3] [--reps 3] [--threads 1] [--dir /tmp/lmrnn_scale] [--figure FILE.png]
 *   build/bench/bench_scale --from TABLE.txt [--figure FILE.png]
 *   build/bench/bench_scale --step-only --sides 256,512 [--threads 2] [--reps 3]   (the in-process step only)
 *
 * --from reads a table this program printed (e.g. rows measured in separate sessions, one size at a time
 * on a shared machine, concatenated) and prints its slopes and figure without running anything.
 *
 * Wall ms/step comes from the run's own log (log-every 1): the wall clock between the first and the last
 * step's record over steps - 1, so start-up, evaluation and the checkpoint are not in it. CPU ms/step is
 * the median over --reps steps of the same training step timed in this process (CPU time per thread, after
 * a warm-up step): on a shared machine it is the figure to compare, and the slopes use it. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "model/model.h"
#include "plot/plot.h"
#include "train/progress.h"
#include "train/trainer.h"
#include "util/err.h"

#define MAX_SIZES 16

typedef struct {
    int side, window;
    double nnz, ms, cpu_ms, rss, ckpt;
} Point;

static char bin[1024];

static int run_train(const char *dir, int side, int window, int steps, int threads, double *rss, double *cpu) {
    char n[32], w[32], s[32], th[32];
    snprintf(n, sizeof n, "%d", side * side);
    snprintf(w, sizeof w, "%d", window);
    snprintf(s, sizeof s, "%d", steps);
    snprintf(th, sizeof th, "%d", threads);
    char *argv[] = {bin, "train", "--out", (char *)dir, "--force", "--hidden", n, "--d", "3", "--batch", "4",
                    "--window", w, "--steps", s, "--threads", th, "--eval-trials", "1", "--eval-every", "0",
                    "--checkpoint-every", "0", "--log-every", "1", "--no-plot", "--quiet", NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execv(bin, argv);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR) {}
    *rss = (double)ru.ru_maxrss * 1024;
    *cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* First and last train record's wall clock, and the mask's nnz from config.json. */
static int read_run(const char *dir, int steps, double *ms, double *nnz) {
    char p[1200], line[4096];
    snprintf(p, sizeof p, "%s/log.jsonl", dir);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    double w0 = NAN, w1 = NAN;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *r = cJSON_Parse(line);
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "kind"), *w = cJSON_GetObjectItemCaseSensitive(r, "wall");
        if (cJSON_IsString(k) && !strcmp(k->valuestring, "train") && cJSON_IsNumber(w)) {
            if (n++ == 0) w0 = w->valuedouble;
            w1 = w->valuedouble;
        }
        cJSON_Delete(r);
    }
    fclose(f);
    if (n != steps || n < 2) return -1;
    *ms = 1000 * (w1 - w0) / (n - 1);
    snprintf(p, sizeof p, "%s/config.json", dir);
    f = fopen(p, "r");
    if (!f) return -1;
    static char doc[1 << 16];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    doc[len] = '\0';
    fclose(f);
    cJSON *c = cJSON_Parse(doc);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "derived");
    const cJSON *z = cJSON_GetObjectItemCaseSensitive(d, "mask_nnz");
    *nnz = cJSON_IsNumber(z) ? z->valuedouble : NAN;
    cJSON_Delete(c);
    return isfinite(*nnz) ? 0 : -1;
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The same training step in this process: median CPU ms (1 thread: CPU time is the step's own time,
 * however loaded the machine) and median wall ms of `reps` steps after one warm-up step. */
static void time_in_process(int side, int window, int threads, int reps, double *cpu_ms, double *wall_ms) {
    LmTrainConfig c;
    lm_train_config_default(&c);
    char n[32], w[32];
    snprintf(n, sizeof n, "%d", side * side);
    snprintf(w, sizeof w, "%d", window);
    if (lm_train_config_set(&c, "hidden", n) || lm_train_config_set(&c, "window", w)) lm_die("%s", lm_err_msg());
    c.threads = threads;
    lm_set_threads(threads);
    LmTrainer *t = lm_trainer_new(&c);
    if (!t) lm_die("%s", lm_err_msg());
    double cpu[64], wall[64];
    if (reps > 64) reps = 64;
    if (lm_trainer_step(t, NULL) != 0) lm_die("%s", lm_err_msg());
    for (int r = 0; r < reps; r++) {
        double c0 = cpu_now(), w0 = lm_now();
        if (lm_trainer_step(t, NULL) != 0) lm_die("%s", lm_err_msg());
        cpu[r] = 1000 * (cpu_now() - c0) / threads;
        wall[r] = 1000 * (lm_now() - w0);
    }
    lm_trainer_free(t);
    qsort(cpu, (size_t)reps, sizeof *cpu, cmp_double);
    qsort(wall, (size_t)reps, sizeof *wall, cmp_double);
    *cpu_ms = cpu[reps / 2];
    *wall_ms = wall[reps / 2];
}

/* Least-squares slope of log y against log x over points with N > 4096 (NAN if fewer than 2). */
static double slope(const Point *p, int n, int which) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (p[i].side * p[i].side <= 4096) continue;
        double y = which == 0 ? p[i].cpu_ms : which == 1 ? p[i].rss : p[i].ckpt;
        if (which == 0) y *= (double)p[0].window / p[i].window;   /* time per step is linear in T */
        double x = log(p[i].nnz), ly = log(y);
        sx += x, sy += ly, sxx += x * x, sxy += x * ly, k++;
    }
    if (k < 2) return NAN;
    return (k * sxy - sx * sy) / (k * sxx - sx * sx);
}

/* Rows of a table printed by this program; header and slope lines are skipped. */
static int read_table(const char *path, Point *pts, int max) {
    FILE *f = fopen(path, "r");
    if (!f) lm_die("bench_scale: %s: cannot open", path);
    char line[512];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        int N, nx, ny, T;
        Point p;
        if (sscanf(line, "%d %dx%d %d %lf %lf %lf %lf %lf", &N, &nx, &ny, &T, &p.nnz, &p.ms, &p.cpu_ms, &p.rss,
                   &p.ckpt) != 9 || nx != ny || nx * ny != N)
            continue;
        p.side = nx, p.window = T, p.rss *= 1048576, p.ckpt *= 1048576;
        pts[n++] = p;
    }
    fclose(f);
    return n;
}

static int parse_list(const char *s, int *out, int max) {
    int n = 0;
    while (*s && n < max) {
        out[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c) break;
        s = c + 1;
    }
    return n;
}

int main(int argc, char **argv) {
    lm_blas_restart(argv);   /* the kernels lmrnn itself runs (model.h) */
    int sides[MAX_SIZES] = {16, 32, 64, 128, 256, 512}, n_sides = 6, window = 350, big = 0, big_window = 100;
    int steps = 3, threads = 1, reps = 3, step_only = 0;
    const char *dir = "/tmp/lmrnn_scale", *figure = NULL, *from = NULL;
    for (int i = 1; i < argc; i++) step_only |= !strcmp(argv[i], "--step-only");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--sides")) n_sides = parse_list(argv[i + 1], sides, MAX_SIZES - 1);
        else if (!strcmp(argv[i], "--window")) window = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--big")) big = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--big-window")) big_window = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
        else if (!strcmp(argv[i], "--figure")) figure = argv[i + 1];
        else if (!strcmp(argv[i], "--from")) from = argv[i + 1];
        else if (!strcmp(argv[i], "--step-only")) i--;   /* a flag: found by the scan above */
        else lm_die("bench_scale: unknown option %s", argv[i]);
    }
    if (steps < 2) lm_die("bench_scale: --steps must be at least 2");
    if (step_only) {   /* the in-process step alone: no run directory, no evaluation, no checkpoint */
        for (int s = 0; s < n_sides; s++) {
            double cpu_ms, wall_ms;
            time_in_process(sides[s], window, threads, reps, &cpu_ms, &wall_ms);
            printf("N %d (%dx%d) T %d, %d thread(s): median wall %.1f ms/step, CPU %.1f ms/step per thread\n",
                   sides[s] * sides[s], sides[s], sides[s], window, threads, wall_ms, cpu_ms);
            fflush(stdout);
        }
        return 0;
    }
    Point pts[MAX_SIZES] = {{0}};
    int n = 0;
    if (from) {
        n = read_table(from, pts, MAX_SIZES);
        if (n < 1) lm_die("bench_scale: %s: no table rows", from);
        window = pts[0].window;
        n_sides = 0, big = 0;   /* nothing to run */
    }
    char self[900];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    snprintf(bin, sizeof bin, "%s/../lmrnn", dirname(self));
    if (!from && access(bin, X_OK) != 0) lm_die("bench_scale: %s not found (make build/lmrnn)", bin);
    mkdir(dir, 0755);
    if (big > 0) sides[n_sides++] = big;
    printf("%8s %9s %7s %10s %12s %12s %12s %14s\n", "N", "sheet", "T", "nnz", "wall ms/step", "CPU ms/step",
           "peak RSS MB", "checkpoint MB");
    for (int s = 0; s < n_sides; s++) {
        Point p = {sides[s], sides[s] == big ? big_window : window, 0, 0, 0, 0, 0};
        char run[1100];
        snprintf(run, sizeof run, "%s/side%d", dir, p.side);
        double cpu;
        int rc = run_train(run, p.side, p.window, steps, threads, &p.rss, &cpu);
        double wall_in;
        if (rc == 0) time_in_process(p.side, p.window, threads, reps, &p.cpu_ms, &wall_in);
        if (rc != 0) {
            fprintf(stderr, "bench_scale: N=%d: lmrnn train exited %d\n", p.side * p.side, rc);
            continue;
        }
        char ck[1200];
        snprintf(ck, sizeof ck, "%s/checkpoint.npz", run);
        struct stat sb;
        if (read_run(run, steps, &p.ms, &p.nnz) != 0 || stat(ck, &sb) != 0) {
            fprintf(stderr, "bench_scale: N=%d: incomplete run directory %s\n", p.side * p.side, run);
            continue;
        }
        p.ckpt = (double)sb.st_size;
        pts[n++] = p;
        printf("%8d %4dx%-4d %7d %10.0f %12.1f %12.1f %12.1f %14.1f\n", p.side * p.side, p.side, p.side, p.window,
               p.nnz, p.ms, p.cpu_ms, p.rss / 1048576, p.ckpt / 1048576);
        fflush(stdout);
    }
    printf("log-log slope against nnz (N > 4096; CPU ms/step scaled to T = %d): time %.3f, peak RSS %.3f, "
           "checkpoint %.3f\n", window, slope(pts, n, 0), slope(pts, n, 1), slope(pts, n, 2));
    if (figure && n > 1) {
        LmFigure *f = lm_fig_new(figure, 900, 600, 1, 1);
        if (!f) lm_die("%s", lm_err_msg());
        double x[MAX_SIZES], y0[MAX_SIZES], y1[MAX_SIZES], y2[MAX_SIZES], lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < n; i++) {
            x[i] = log10(pts[i].nnz);
            y0[i] = log10(pts[i].cpu_ms * window / pts[i].window);
            y1[i] = log10(pts[i].rss / 1048576);
            y2[i] = log10(pts[i].ckpt / 1048576);
            lo = fmin(lo, fmin(y0[i], fmin(y1[i], y2[i])));
            hi = fmax(hi, fmax(y0[i], fmax(y1[i], y2[i])));
        }
        const double *ys[3] = {y0, y1, y2};
        const char *labels[3] = {"CPU ms per step (T = 350)", "peak RSS (MB)", "checkpoint (MB)"};
        lm_fig_panel(f, 0, x[0] - 0.2, x[n - 1] + 0.2, lo - 0.3, hi + 0.3,
                     "local2d d=3, batch 4: cost against connections (log10-log10)", "log10 connections (nnz)",
                     "log10 value");
        lm_fig_lines(f, 3, n, x, ys, labels);
        for (int k = 0; k < 3; k++) lm_fig_points(f, n, x, ys[k], k);
        if (lm_fig_close(f) != 0) lm_die("%s", lm_err_msg());
    }
    return 0;
}
