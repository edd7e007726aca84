/* plots/perf: held-out performance against the optimiser step, the battery mean and each task group,
 * with the 0.5 / 0.8 / 0.9 thresholds whose first crossing the log records. */
#include <math.h>
#include <stdio.h>
#include "report/fig_common.h"

int lm_fig_perf(LmFigOut *o, const LmCurves *log, int fi) {
    int n = log->eval_step.n, ns = 0;
    const double *ys[5];
    const char *labels[5];
    ys[ns] = log->eval_mean.v;
    labels[ns++] = "mean";
    static const char *const group_label[4] = {"base", "int", "seq", "int+seq"};
    for (int g = 0; g < 4; g++)
        if (isfinite(lm_series_max(&log->eval_group[g]))) {
            ys[ns] = log->eval_group[g].v;
            labels[ns++] = group_label[g];
        }
    if (ns == 2) ns = 1; /* a single-group battery: the group curve is the mean */
    double xmax = n ? log->eval_step.v[n - 1] : 1;
    LmFigure *f = lm_fig_out_open(o, "perf", fi, 1000, 600, 1, 1, 0);
    if (!f) return -1;
    char title[96];
    snprintf(title, sizeof title, "held-out performance (%s)", log->metric[0] ? log->metric : "last_step");
    lm_fig_panel(f, 0, 0, xmax > 0 ? xmax : 1, 0, 1.02, title, "optimiser step", "mean performance");
    lm_fig_hline(f, 0.5, -1); /* -1: the reference grey */
    lm_fig_hline(f, 0.8, -1);
    lm_fig_hline(f, 0.9, -1);
    lm_fig_lines(f, ns, n, log->eval_step.v, ys, labels);
    if (n <= 30) lm_fig_points(f, n, log->eval_step.v, log->eval_mean.v, 0);
    return lm_fig_out_close(o, f, "perf", fi);
}
