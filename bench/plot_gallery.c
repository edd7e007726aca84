/* Writes example figures of every panel kind into a directory, for people to look at:
 *   build/bench/plot_gallery [DIR] [png|svg|pdf]      (default: build/gallery, png)
 * and prints how long each took. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "io/npz.h"
#include "plot/plot.h"
#include "util/err.h"
#include "util/rng.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void done(LmFigure *f, const char *path, double t0) {
    if (lm_fig_close(f)) lm_die("%s", lm_err_msg());
    printf("%-40s %.3f s\n", path, now() - t0);
}

/* Learning curves of three models, with a NaN gap, a chance line and a log-x companion panel. */
static void learning_curves(const char *dir, const char *ext, LmRng *rng) {
    char path[512];
    snprintf(path, sizeof path, "%s/lines.%s", dir, ext);
    double t0 = now();
    LmFigure *f = lm_fig_new(path, 1200, 500, 2, 1);
    if (!f) lm_die("%s", lm_err_msg());
    enum { N = 200 };
    double x[N], a[N], b[N], c[N];
    for (int i = 0; i < N; i++) {
        x[i] = (i + 1) * 50;
        double s = i / (double)N;
        a[i] = 0.95 - 0.85 * exp(-6 * s) + 0.01 * lm_rng_normal(rng);
        b[i] = 0.80 - 0.70 * exp(-4 * s) + 0.01 * lm_rng_normal(rng);
        c[i] = 0.60 - 0.50 * exp(-2 * s) + 0.01 * lm_rng_normal(rng);
    }
    for (int i = 120; i < 130; i++) b[i] = NAN;
    const double *ys[3] = {a, b, c};
    const char *labels[3] = {"LM-RNN (local2d)", "random sparse", "diagonal"};
    lm_fig_panel(f, 0, 0, N * 50, 0, 1, "Mod-Cog: mean accuracy", "training step", "accuracy");
    lm_fig_lines(f, 3, N, x, ys, labels);
    lm_fig_hline(f, 0.1, -1);
    lm_fig_text(f, 6000, 0.13, "chance");
    double px[5] = {16, 64, 256, 1024, 4096}, py[5] = {0.31, 0.52, 0.70, 0.83, 0.90};
    double py2[5] = {0.22, 0.35, 0.51, 0.62, 0.71};
    const double *ys2[2] = {py, py2};
    const char *l2[2] = {"LM-RNN", "fully connected"};
    lm_fig_panel_logx(f, 1, 10, 8000, 0, 1, "Data efficiency", "training trials per task", "accuracy");
    lm_fig_lines(f, 2, 5, px, ys2, l2);
    lm_fig_points(f, 5, px, py, 0);
    lm_fig_points(f, 5, px, py2, 1);
    done(f, path, t0);
}

/* Activity of 64 units over one trial with epoch boundaries. */
static void activity_heatmap(const char *dir, const char *ext, LmRng *rng) {
    char path[512];
    snprintf(path, sizeof path, "%s/heatmap.%s", dir, ext);
    double t0 = now();
    LmFigure *f = lm_fig_new(path, 900, 560, 1, 1);
    if (!f) lm_die("%s", lm_err_msg());
    enum { U = 64, T = 120 };
    float *z = malloc(sizeof(float) * U * T);
    for (int u = 0; u < U; u++)
        for (int t = 0; t < T; t++)
            z[u * T + t] = (float)(0.5 + 0.5 * sin(0.08 * t + 0.3 * u) * (t > 30 ? 1.0 : 0.3) +
                                   0.05 * lm_rng_normal(rng));
    lm_fig_panel(f, 0, 0, T, 0, U, "Hidden activity, go task, trial 3", "time step", "unit");
    lm_fig_heatmap(f, z, U, T, 0, 0, 1, 0);
    double v[3] = {10, 30, 90};
    const char *vl[3] = {"stimulus", "delay", "response"};
    lm_fig_vlines(f, 3, v, vl);
    free(z);
    done(f, path, t0);
}

/* Per-task accuracy, two models side by side with error bars. */
static void grouped_bars(const char *dir, const char *ext, LmRng *rng) {
    char path[512];
    snprintf(path, sizeof path, "%s/bars.%s", dir, ext);
    double t0 = now();
    LmFigure *f = lm_fig_new(path, 1200, 600, 1, 1);
    if (!f) lm_die("%s", lm_err_msg());
    const char *tasks[8] = {"go", "rtgo", "dlygo", "anti", "rtanti", "dlyanti", "dm1", "ctxdm1"};
    enum { K = 8 };
    /* grouped bars: two bars per task, the label on the first of each pair */
    double v[2 * K + K - 1], e[2 * K + K - 1];
    const char *lab[2 * K + K - 1];
    int col[2 * K + K - 1];
    int n = 0;
    for (int k = 0; k < K; k++) {
        for (int m = 0; m < 2; m++) {
            v[n] = 0.5 + 0.4 * lm_rng_uniform(rng) - 0.15 * m;
            e[n] = 0.02 + 0.05 * lm_rng_uniform(rng);
            lab[n] = m == 0 ? tasks[k] : NULL;
            col[n] = m;
            n++;
        }
        if (k < K - 1) {
            v[n] = NAN;
            e[n] = NAN;
            lab[n] = NULL;
            col[n] = 0;
            n++;
        }
    }
    lm_fig_panel(f, 0, -0.7, n - 0.3, 0, 1, "Per-task accuracy (blue: LM-RNN, orange: random)", NULL,
                 "accuracy");
    lm_fig_bars(f, n, v, e, lab, col);
    lm_fig_hline(f, 0.5, -1);
    done(f, path, t0);
}

/* A 256x256 recurrent weight matrix with local structure, diverging colours. */
static void weight_matrix(const char *dir, const char *ext, LmRng *rng) {
    char path[512];
    snprintf(path, sizeof path, "%s/weights.%s", dir, ext);
    double t0 = now();
    LmFigure *f = lm_fig_new(path, 1100, 520, 2, 1);
    if (!f) lm_die("%s", lm_err_msg());
    enum { N = 256 };
    float *w = malloc(sizeof(float) * N * N);
    float *m = malloc(sizeof(float) * N * N);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            int xi = i % 16, yi = i / 16, xj = j % 16, yj = j / 16;
            int local = abs(xi - xj) <= 2 && abs(yi - yj) <= 2;
            m[i * N + j] = (float)local;
            w[i * N + j] = local ? (float)(0.3 * lm_rng_normal(rng)) : 0.0f;
        }
    lm_fig_panel(f, 0, 0, N, N, 0, "W_rec (local2d, radius 2)", "presynaptic unit", "postsynaptic unit");
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, w, N, N, 0, 0, 1, 1);
    lm_fig_panel(f, 1, 0, 64, 64, 0, "mask, first 64 units", "presynaptic unit", NULL);
    float *corner = malloc(sizeof(float) * 64 * 64);
    for (int i = 0; i < 64; i++) memcpy(corner + i * 64, m + i * N, 64 * sizeof(float));
    lm_fig_equal_aspect(f);
    lm_fig_heatmap(f, corner, 64, 64, 0, 1, 1, 0);
    free(corner);
    free(w);
    free(m);
    done(f, path, t0);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "build/gallery";
    const char *ext = argc > 2 ? argv[2] : "png";
    if (lm_mkdir_p(dir)) lm_die("%s", lm_err_msg());
    LmRng rng;
    lm_rng_seed(&rng, 7);
    learning_curves(dir, ext, &rng);
    activity_heatmap(dir, ext, &rng);
    grouped_bars(dir, ext, &rng);
    weight_matrix(dir, ext, &rng);
    return 0;
}
