/* plots/loss: the training loss against the optimiser step, as logged. A train record holds the loss
 * of the one step it was written at (every --log-every steps), so the legend gives the interval read
 * from the log itself; a running mean over the records shows the trend through the step-to-step noise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "report/fig_common.h"
#include "util/err.h"

/* The spacing of the logged steps: the common gap, or -1 if the gaps differ (e.g. a resumed run with
 * another --log-every); 0 for fewer than two records. */
static long log_interval(const LmSeries *steps) {
    long gap = 0;
    for (int i = 1; i < steps->n; i++) {
        long g = lround(steps->v[i] - steps->v[i - 1]);
        if (i == 1) gap = g;
        else if (g != gap) return -1;
    }
    return gap;
}

int lm_fig_loss(LmFigOut *o, const LmCurves *log, int fi) {
    const int from_train = log->train_step.n > 0;
    const LmSeries *xs = from_train ? &log->train_step : &log->eval_step;
    const LmSeries *ys = from_train ? &log->train_loss : &log->eval_loss;
    int n = xs->n;
    double *ly = lm_malloc((size_t)(n ? n : 1) * sizeof(double));
    double *smooth = lm_malloc((size_t)(n ? n : 1) * sizeof(double));
    /* Cross-entropy spans decades (2.8 at chance to ~0.01): plot log10. */
    int win = n / 50 > 1 ? n / 50 : 1;
    double acc = 0;
    int cnt = 0;
    for (int i = 0; i < n; i++) {
        ly[i] = ys->v[i] > 0 ? log10(ys->v[i]) : NAN;
        if (isfinite(ly[i])) acc += ly[i], cnt++;
        if (i >= win && isfinite(ly[i - win])) acc -= ly[i - win], cnt--;
        smooth[i] = cnt ? acc / cnt : NAN;
    }
    double ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(ly[i])) ymin = fmin(ymin, ly[i]), ymax = fmax(ymax, ly[i]);
    if (!(ymin < ymax)) {
        ymin = (isfinite(ymin) ? ymin : 0) - 0.5;
        ymax = ymin + 1;
    }
    double pad = 0.05 * (ymax - ymin), xmax = n ? xs->v[n - 1] : 1;
    LmFigure *f = lm_fig_out_open(o, "loss", fi, 1000, 600, 1, 1, 0);
    if (!f) {
        free(ly);
        free(smooth);
        return -1;
    }
    lm_fig_panel(f, 0, 0, xmax > 0 ? xmax : 1, ymin - pad, ymax + pad,
                 from_train ? "training loss" : "held-out loss (no training records)", "optimiser step",
                 "log10 cross-entropy");
    char raw[96], mean[96];
    long every = log_interval(xs);
    if (!from_train) snprintf(raw, sizeof raw, "at each evaluation");
    else if (every > 1) snprintf(raw, sizeof raw, "loss of one step, every %ld steps", every);
    else if (every == 1) snprintf(raw, sizeof raw, "loss of every step");
    else snprintf(raw, sizeof raw, "loss of one step per record");
    if (every > 0) snprintf(mean, sizeof mean, "running mean of %d records (%ld steps)", win, win * every);
    else snprintf(mean, sizeof mean, "running mean of %d records", win);
    const double *yy[2] = {ly, smooth};
    const char *labels[2] = {raw, win > 1 ? mean : NULL};
    lm_fig_lines(f, win > 1 ? 2 : 1, n, xs->v, yy, labels);
    free(ly);
    free(smooth);
    return lm_fig_out_close(o, f, "loss", fi);
}
