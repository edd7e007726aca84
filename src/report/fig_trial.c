/* plots/trial_<task>: held-out trial 0 of a task (the first trial its evaluation scores): the inputs,
 * the network's softmax output and the label against the network's argmax, on one shared time axis
 * with the periods named over their spans, and whether the network answered it correctly under the
 * run's evaluation metric. Modalities are numbered 0 and 1, as in `lmrnn tasks show` and `dump`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eval/eval.h"
#include "eval/metrics.h"
#include "report/fig_common.h"
#include "util/err.h"

/* The network's softmax [17][T] and argmax [T] on the trial, from h = 0. */
static int run_network(LmTrained *run, const LmTrial *tr, int pos, float *prob, int32_t *arg) {
    const int n_in = LM_OBS + run->battery->n, T = tr->len;
    float *x = lm_calloc((size_t)T * n_in, sizeof(float));
    for (int t = 0; t < T; t++) {
        memcpy(x + (size_t)t * n_in, tr->ob + (size_t)t * LM_OBS, LM_OBS * sizeof(float));
        x[(size_t)t * n_in + LM_OBS + pos] = 1.0f;
    }
    LmWork *w = lm_work_new(run->model, T, 1);
    if (!w) {
        free(x);
        return -1;
    }
    lm_forward(run->model, w, x, NULL, NULL, NULL, T, 1, NULL);
    const float *lg = lm_work_logits(w); /* [T][1][17] */
    for (int t = 0; t < T; t++) {
        const float *l = lg + (size_t)t * LM_N_ACTIONS;
        double mx = -INFINITY, s = 0;
        for (int k = 0; k < LM_N_ACTIONS; k++) mx = fmax(mx, l[k]);
        for (int k = 0; k < LM_N_ACTIONS; k++) s += exp(l[k] - mx);
        for (int k = 0; k < LM_N_ACTIONS; k++) prob[(size_t)k * T + t] = (float)(exp(l[k] - mx) / s);
        arg[t] = lm_argmax(l, LM_N_ACTIONS);
    }
    lm_work_free(w);
    free(x);
    return 0;
}

int lm_fig_trial(LmFigOut *o, LmTrained *run, int pos, int fi) {
    int task = run->battery->id[pos];
    LmTrial tr;
    lm_eval_trial(run->env, task, pos, 0, run->eval_seed, &tr);
    const int T = tr.len, rin = LM_OBS + 1;
    float *zin = lm_malloc((size_t)rin * T * sizeof(float)), *prob = lm_malloc((size_t)LM_N_ACTIONS * T * sizeof(float));
    int32_t *arg = lm_malloc((size_t)T * sizeof(int32_t));
    if (run_network(run, &tr, pos, prob, arg) != 0) {
        free(zin), free(prob), free(arg);
        return -1;
    }
    /* Images are [rows = channel][cols = time]: the 33 task columns and this task's rule column. */
    double zmin = 0, zmax = 0;
    for (int t = 0; t < T; t++) {
        for (int r = 0; r < LM_OBS; r++) {
            float v = tr.ob[(size_t)t * LM_OBS + r];
            zin[(size_t)r * T + t] = v;
            zmin = fmin(zmin, v), zmax = fmax(zmax, v);
        }
        zin[(size_t)LM_OBS * T + t] = 1.0f;
    }
    int pd = lm_trial_period(&tr, "decision");
    int d0 = pd >= 0 ? tr.periods[pd].start : -1, d1 = pd >= 0 ? tr.periods[pd].end : -1;
    LmMetric metric = run->trainer->cfg.eval_metric;
    int correct = lm_metric_correct(metric, arg, tr.gt, T, d0, d1);

    double starts[LM_MAX_PERIODS], ends[LM_MAX_PERIODS];
    const char *pn[LM_MAX_PERIODS];
    for (int p = 0; p < tr.n_periods; p++) starts[p] = tr.periods[p].start, ends[p] = tr.periods[p].end, pn[p] = tr.periods[p].name;
    char title[240], mods[64], name[64], mod[32] = "";
    lm_task_modifiers(task, mods, sizeof mods);
    snprintf(name, sizeof name, "trial_%s", run->battery->name[pos]);
    if (tr.modality >= 0) snprintf(mod, sizeof mod, ", modality %d", tr.modality);
    else snprintf(mod, sizeof mod, ", both rings");
    LmFigure *f = lm_fig_out_open(o, name, fi, 1100, 1200, 1, 3, 0);
    int rc = f ? 0 : -1;
    if (f) {
        snprintf(title, sizeof title, "%s (%s%s%s%s), trial 0: inputs; 1-16 mod 0, 17-32 mod 1, 33 rule",
                 run->battery->name[pos], lm_family_name(lm_task_def(task)->family), mods[0] ? ", " : "", mods, mod);
        lm_fig_panel(f, 0, 0, T, 0, rin, title, NULL, "input column");
        lm_fig_spans(f, tr.n_periods, starts, ends, pn);
        lm_fig_heatmap(f, zin, rin, T, zmin, zmax > zmin ? zmax : zmin + 1, 1, 0);
        lm_fig_panel(f, 1, 0, T, 0, LM_N_ACTIONS, "network softmax output (class 0 fixate, k direction k-1)",
                     NULL, "output class");
        lm_fig_spans(f, tr.n_periods, starts, ends, NULL);
        lm_fig_heatmap(f, prob, LM_N_ACTIONS, T, 0, 1, 1, 0);
        snprintf(title, sizeof title, "label and network argmax: %s under %s", correct ? "correct" : "WRONG",
                 lm_metric_name(metric));
        lm_fig_panel(f, 2, 0, T, -0.5, 16.5, title, "step (100 ms)", "class");
        lm_fig_reserve_colorbar(f); /* the same box width as the heat maps above: one time axis */
        lm_fig_spans(f, tr.n_periods, starts, ends, NULL);
        /* Labels are per step: a staircase over each step's [t, t+1); the argmax as dots at step
         * centres on top (a second line would hide the first where they agree). The all-NaN series
         * only puts the dots' colour into the legend. */
        double *sx = lm_malloc((size_t)2 * T * sizeof(double)), *sy = lm_malloc((size_t)2 * T * sizeof(double));
        double *none = lm_malloc((size_t)2 * T * sizeof(double)), *ts = lm_malloc((size_t)T * sizeof(double)),
               *av = lm_malloc((size_t)T * sizeof(double));
        for (int t = 0; t < T; t++) {
            sx[2 * t] = t, sx[2 * t + 1] = t + 1;
            sy[2 * t] = sy[2 * t + 1] = tr.gt[t];
            none[2 * t] = none[2 * t + 1] = NAN;
            ts[t] = t + 0.5, av[t] = arg[t];
        }
        const double *yy[2] = {sy, none};
        const char *ll[2] = {"label", "network argmax"};
        lm_fig_lines(f, 2, 2 * T, sx, yy, ll);
        lm_fig_points(f, T, ts, av, 1);
        free(sx), free(sy), free(none), free(ts), free(av);
        rc = lm_fig_out_close(o, f, name, fi);
    }
    free(zin), free(prob), free(arg);
    return rc;
}
