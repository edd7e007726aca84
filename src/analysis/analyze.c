/* The analyses of `lmrnn analyze` from options to results (analysis/analyze.h): the options table of
 * every subcommand, and the steps from a trained network to fixed points, task variance and clusters,
 * lesion tables and the summary, without writing anything. */
#include "analysis/analyze.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/err.h"
#include "util/number.h"

const LmAnalysisInfo lm_analyses[] = {
    {"states", LM_AN_STATES, "hidden-state trajectories of held-out trials (noise off) -> .npz"},
    {"summary", LM_AN_SUMMARY, "participation ratio, dormant units, ranks, weight change, |w| vs distance"},
    {"fixedpoints", LM_AN_FIXEDPOINTS, "fixed and slow points for one task period's constant input"},
    {"variance", LM_AN_VARIANCE, "task variance, active units, clusters (k-means/Ward + silhouette), FTV"},
    {"lesion", LM_AN_LESION, "zero a cluster's (or units') outgoing weights; per-task performance change"},
    {"autapse", LM_AN_AUTAPSE, "diagonal networks: analytic 1-D fixed points per unit, memory units, their lesion"},
};
const int lm_n_analyses = (int)(sizeof lm_analyses / sizeof lm_analyses[0]);

int lm_analysis_bit(const char *name) {
    for (int s = 0; s < lm_n_analyses; s++)
        if (!strcmp(name, lm_analyses[s].name)) return lm_analyses[s].bit;
    return 0;
}

/* One table for every subcommand; `user` says which subcommands take the option. */
#define STR(name, field, subs, help) \
    {name, LM_OPT_STRING, offsetof(LmAnalyzeOptions, field), 0, 0, 0, 0, NULL, help, NULL, NULL, NULL, NULL, subs}
#define NUM(name, type, field, lo, hi, def, subs, help) \
    {name, type, offsetof(LmAnalyzeOptions, field), 0, lo, hi, 0, def, help, NULL, NULL, NULL, NULL, subs}
#define S_FSV (LM_AN_STATES | LM_AN_SUMMARY | LM_AN_VARIANCE | LM_AN_LESION)
#define S_PLOT (LM_AN_SUMMARY | LM_AN_FIXEDPOINTS | LM_AN_VARIANCE | LM_AN_LESION | LM_AN_AUTAPSE)
static const LmOption all_opts[] = {
    STR("out", out, LM_AN_ALL, "output file (states, fixedpoints: .npz) or directory"),
    STR("tasks", tasks, S_FSV, "comma-separated tasks of the run's battery, or all (default all)"),
    NUM("trials", LM_OPT_INT, trials, 1, 100000, NULL, LM_AN_ALL,
        "held-out trials per task (default: states, summary 16; fixedpoints, variance, lesion, autapse 64)"),
    NUM("seed", LM_OPT_UINT64, seed, 0, 0, NULL, LM_AN_ALL,
        "trial seed (default: the run's held-out evaluation seed); fixedpoints: also the init draw"),
    NUM("threads", LM_OPT_INT, threads, 1, 1024, "1", LM_AN_ALL, "threads; results do not depend on it"),
    NUM("no_plot", LM_OPT_BOOL, no_plot, 0, 0, NULL, S_PLOT, "do not draw figures"),
    STR("task", task, LM_AN_FIXEDPOINTS | LM_AN_AUTAPSE, "the task whose input (and trajectories) are used (required)"),
    STR("period", period, LM_AN_FIXEDPOINTS | LM_AN_AUTAPSE,
        "period of the task: fixation, stimulus, delay, decision, stim1, stim2, sample, test (required)"),
    STR("period", period, LM_AN_VARIANCE,
        "task variance in one period only (epoch variance: fixation, stimulus, delay, decision, stim1, stim2, "
        "sample, test), or all (default: every period after the initial fixation)"),
    NUM("input_trial", LM_OPT_INT, input_trial, 0, 100000, NULL, LM_AN_FIXEDPOINTS | LM_AN_AUTAPSE,
        "u is the input at the period's first step in this trial (default: the first trial that has the period)"),
    NUM("memory_tol", LM_OPT_DOUBLE, memory_tol, 0, 10, "0.05", LM_AN_AUTAPSE,
        "memory unit: |w_eff - 1| <= this (a time constant of at least 1/tol steps)"),
    NUM("inits", LM_OPT_INT, inits, 1, 1000000, "1024", LM_AN_FIXEDPOINTS, "initial states"),
    NUM("noise", LM_OPT_DOUBLE, noise, 0, 1e6, "0.5", LM_AN_FIXEDPOINTS,
        "std of the Gaussian noise added to the initial states (0.05 as Driscoll et al.)"),
    STR("optimizer", optimizer, LM_AN_FIXEDPOINTS, "adam (default; the only one offered)"),
    STR("refine", refine, LM_AN_FIXEDPOINTS,
        "newton (default): polish the kept points by Levenberg-Marquardt on the analytic Jacobian; none: Adam only"),
    NUM("refine_iters", LM_OPT_INT, refine_iters, 1, 1000000, "20", LM_AN_FIXEDPOINTS,
        "Levenberg-Marquardt iterations per point at most"),
    NUM("lr", LM_OPT_DOUBLE, lr, 1e-12, 1e6, "1", LM_AN_FIXEDPOINTS, "Adam's initial learning rate"),
    NUM("lr_decay", LM_OPT_DOUBLE, lr_decay, 1e-6, 1, "0.95", LM_AN_FIXEDPOINTS, "adaptive rate factor"),
    NUM("patience", LM_OPT_INT, patience, 1, 1000000, "5", LM_AN_FIXEDPOINTS,
        "iterations per rate change (FixedPointFinder's adaptive rate)"),
    NUM("max_iters", LM_OPT_INT, max_iters, 1, 100000000, "5000", LM_AN_FIXEDPOINTS, "iterations at most"),
    NUM("tol_q", LM_OPT_DOUBLE, tol_q, 0, 1e6, "1e-12", LM_AN_FIXEDPOINTS, "stop a state when q < tol-q"),
    NUM("tol_dq", LM_OPT_DOUBLE, tol_dq, 0, 1e6, "1e-20", LM_AN_FIXEDPOINTS,
        "stop a state when |dq| per iteration < tol-dq x learning rate"),
    NUM("tol_unique", LM_OPT_DOUBLE, tol_unique, 0, 1e6, "1e-3", LM_AN_FIXEDPOINTS,
        "points closer than this (2-norm) are one point"),
    NUM("outlier", LM_OPT_DOUBLE, outlier, 0, 1e12, "10", LM_AN_FIXEDPOINTS,
        "drop points farther from the inits' centroid than this x their mean distance (0 = keep all)"),
    NUM("active", LM_OPT_DOUBLE, active, 0, 1e6, "1e-3", LM_AN_VARIANCE,
        "active unit: summed task variance above this (1e-6 as neurogym's port)"),
    STR("method", method, LM_AN_VARIANCE, "kmeans (default, k = 2..29) or ward (k = 2..19)"),
    NUM("kmin", LM_OPT_INT, kmin, 2, 1000, "2", LM_AN_VARIANCE, "smallest k"),
    NUM("kmax", LM_OPT_INT, kmax, 2, 1000, NULL, LM_AN_VARIANCE, "largest k (default 29 kmeans, 19 ward)"),
    NUM("restarts", LM_OPT_INT, restarts, 1, 10000, "20", LM_AN_VARIANCE, "k-means++ restarts per k"),
    STR("pairs", pairs, LM_AN_VARIANCE,
        "task pairs for fractional task variance, a:b,c:d (default: Yang's pairs present)"),
    STR("clusters", clusters, LM_AN_LESION, "variance.npz of `analyze variance`: lesion each cluster"),
    STR("units", units, LM_AN_LESION, "lesion this unit list instead (e.g. 3,17,40-45)"),
};
_Static_assert(LM_OPTS_COUNT(all_opts) <= LM_AN_MAX_OPTS, "LM_AN_MAX_OPTS is too small");

LmOptTable lm_analyze_table(int sub, LmOption *buf, char *command, size_t n) {
    int k = 0;
    const char *name = "?";
    for (int i = 0; i < LM_OPTS_COUNT(all_opts); i++)
        if (all_opts[i].user & (unsigned)sub) buf[k++] = all_opts[i];
    for (int s = 0; s < lm_n_analyses; s++)
        if (lm_analyses[s].bit == sub) name = lm_analyses[s].name;
    snprintf(command, n, "analyze %s", name);
    return (LmOptTable){command, buf, k};
}

void lm_analyze_defaults(LmAnalyzeOptions *o) {
    memset(o, 0, sizeof *o);
    LmOptTable all = {"analyze", all_opts, LM_OPTS_COUNT(all_opts)};
    lm_opts_defaults(&all, o);
    o->trials = -1, o->kmax = -1, o->input_trial = -1;
}

uint64_t lm_analyze_seed(const LmNet *net, const LmAnalyzeOptions *o) { return o->have_seed ? o->seed : net->seed; }

static LmNet net_with_seed(const LmNet *net, const LmAnalyzeOptions *o) {
    LmNet n = *net;
    n.seed = lm_analyze_seed(net, o);
    return n;
}

/* ---------------------------------------------------------------- fixedpoints */
/* The trial whose input at the period's start is u: --input-trial, or the first trial with a non-empty
 * period (delays can be 0 steps long). -1 + lm_err_set if there is none. */
int lm_fp_input_trial(const LmStates *s, int period, int asked, const char *task, const char *pname) {
    for (int k = asked >= 0 ? asked : 0; k < s->K && k <= (asked >= 0 ? asked : s->K - 1); k++) {
        const int32_t *b = s->bounds + ((size_t)k * LM_N_PERIOD_NAMES + period) * 2;
        if (b[0] >= 0 && b[1] > b[0]) return k;
    }
    if (asked >= 0) lm_err_set("task '%s' has no '%s' period in trial %d (its periods: see lmrnn tasks list)", task, pname, asked);
    else lm_err_set("task '%s' has no '%s' period in any of its %d trials (its periods: see lmrnn tasks list)", task, pname, s->K);
    return -1;
}

static int fp_request(const LmNet *net, const LmAnalyzeOptions *o, int *pos, int *period) {
    if (!o->task || !o->period) {
        lm_err_set("fixedpoints: --task and --period are required");
        return LM_AN_USAGE;
    }
    if (o->refine && strcmp(o->refine, "newton") != 0 && strcmp(o->refine, "none") != 0) {
        lm_err_set("fixedpoints: unknown --refine '%s' (newton or none)", o->refine);
        return LM_AN_USAGE;
    }
    if (o->optimizer && strcmp(o->optimizer, "adam") != 0) {
        lm_err_set("fixedpoints: --optimizer '%s' is not offered (adam)", o->optimizer);
        return LM_AN_USAGE;
    }
    int n, p[LM_MAX_BATTERY];
    if (lm_tasks_positions(net->battery, o->task, p, &n) != 0) return LM_AN_USAGE;
    if (n != 1) {
        lm_err_set("fixedpoints: --task takes one task (got %d)", n);
        return LM_AN_USAGE;
    }
    *pos = p[0];
    if ((*period = lm_period_index(o->period)) < 0) {
        lm_err_set("fixedpoints: unknown period '%s' (fixation, stimulus, delay, decision, stim1, stim2, sample, test)",
                   o->period);
        return LM_AN_USAGE;
    }
    return LM_AN_OK;
}

int lm_analyze_fixedpoints(const LmNet *net_in, const LmAnalyzeOptions *o, LmFpAnalysis *out) {
    memset(out, 0, sizeof *out);
    int rc = fp_request(net_in, o, &out->pos, &out->period);
    if (rc != LM_AN_OK) return rc;
    LmNet net = net_with_seed(net_in, o);
    int trials = o->trials > 0 ? o->trials : 64;
    if (o->input_trial >= trials) {
        lm_err_set("fixedpoints: --input-trial %d needs --trials above it (got %d)", o->input_trial, trials);
        return LM_AN_USAGE;
    }
    if (lm_states_collect(&net, &out->pos, 1, trials, &out->states) != 0) return LM_AN_FAILED;
    const LmStates *s = &out->states;
    out->trial = lm_fp_input_trial(s, out->period, o->input_trial, net.battery->name[out->pos], o->period);
    if (out->trial < 0) {
        lm_fp_analysis_free(out);
        return LM_AN_USAGE;
    }
    const int32_t *b = s->bounds + ((size_t)out->trial * LM_N_PERIOD_NAMES + out->period) * 2;
    out->u = s->x + ((size_t)out->trial * s->T + b[0]) * s->n_in;
    const LmModelConfig *mc = lm_model_config(net.model);
    const int N = mc->n_hidden;
    float *W = lm_malloc((size_t)N * N * sizeof(float));
    double *c = lm_malloc((size_t)N * sizeof(double));
    lm_model_export_tensor(net.model, 2, W);
    lm_map_input(net.model, out->u, c);
    LmMap map = {N, mc->rule, mc->act, mc->alpha, W, c};
    LmFpOptions fo;
    lm_fp_options_default(&fo);
    fo.n_inits = o->inits, fo.noise = o->noise, fo.seed = net.seed;
    fo.lr = o->lr, fo.lr_decay = o->lr_decay, fo.patience = o->patience, fo.max_iters = o->max_iters;
    fo.tol_q = o->tol_q, fo.tol_dq = o->tol_dq, fo.tol_unique = o->tol_unique, fo.outlier = o->outlier;
    fo.threads = o->threads;
    fo.refine = !o->refine || strcmp(o->refine, "none") != 0, fo.refine_iters = o->refine_iters;
    float *inits = lm_malloc((size_t)fo.n_inits * N * sizeof(float));
    rc = lm_fp_sample_inits(s, out->period, &fo, inits);
    if (rc == 0) rc = lm_fp_find(&map, inits, &fo, &out->fp);
    free(inits), free(W), free(c);
    if (rc != 0) {
        lm_states_free(&out->states);
        return LM_AN_FAILED;
    }
    return LM_AN_OK;
}

void lm_fp_analysis_free(LmFpAnalysis *a) {
    if (a->fp.N) lm_fp_free(&a->fp);
    lm_states_free(&a->states);
    memset(a, 0, sizeof *a);
}

cJSON *lm_fp_analysis_report(const LmFpAnalysis *a, const LmNet *net, LmArrays *arrays, const char *npz_path,
                             const char *fig_path) {
    const LmModelConfig *mc = lm_model_config(net->model);
    LmFpContext ctx = {net->battery->name[a->pos], lm_period_names[a->period], a->u, a->states.n_in, mc->alpha,
                       lm_rule_name(mc->rule), lm_act_name(mc->act), lm_model_mask(net->model)->desc};
    return lm_fp_report(&a->fp, &a->states, &ctx, arrays, npz_path, fig_path);
}

/* ---------------------------------------------------------------- variance */
static const char *const yang_pairs[][2] = {{"ctxdm1", "ctxdm2"}, {"ctxdlydm1", "ctxdlydm2"}, {"dms", "dnms"},
                                            {"dmc", "dnmc"}, {"go", "anti"}, {"dlygo", "dlyanti"}};

/* Index among the analysed tasks (positions pos[0..n)) of the task called name, or -1. */
static int find_task(const int *pos, int n, const LmBattery *b, const char *name) {
    int id = lm_task_lookup(name);
    for (int r = 0; r < n; r++)
        if (id >= 0 && b->id[pos[r]] == id) return r;
    return -1;
}

/* "a:b,c:d" (or the Yang pairs present) into task indices. */
static int parse_pairs(const char *spec, const int *pos, int n_tasks, const LmBattery *b, int32_t (*pairs)[2],
                       int *n) {
    *n = 0;
    if (!spec) {
        for (size_t p = 0; p < sizeof yang_pairs / sizeof yang_pairs[0]; p++) {
            int x = find_task(pos, n_tasks, b, yang_pairs[p][0]), y = find_task(pos, n_tasks, b, yang_pairs[p][1]);
            if (x >= 0 && y >= 0) pairs[*n][0] = x, pairs[*n][1] = y, (*n)++;
        }
        return 0;
    }
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon || *n >= 32) {
            lm_err_set("--pairs: '%s' is not task:task (at most 32 pairs)", tok);
            return -1;
        }
        *colon = '\0';
        int x = find_task(pos, n_tasks, b, tok), y = find_task(pos, n_tasks, b, colon + 1);
        if (x < 0 || y < 0) {
            lm_err_set("--pairs: task '%s' is not among the analysed tasks", x < 0 ? tok : colon + 1);
            return -1;
        }
        pairs[*n][0] = x, pairs[*n][1] = y, (*n)++;
    }
    return 0;
}

int lm_analyze_variance(const LmNet *net_in, const LmAnalyzeOptions *o, LmVarAnalysis *out) {
    memset(out, 0, sizeof *out);
    out->method = LM_CLUSTER_KMEANS;
    if (o->method && !strcmp(o->method, "ward")) out->method = LM_CLUSTER_WARD;
    else if (o->method && strcmp(o->method, "kmeans") != 0) {
        lm_err_set("variance: unknown --method '%s' (kmeans or ward)", o->method);
        return LM_AN_USAGE;
    }
    int kmax = o->kmax > 0 ? o->kmax : out->method == LM_CLUSTER_WARD ? 19 : 29;
    if (kmax < o->kmin) {
        lm_err_set("variance: --kmax %d is below --kmin %d", kmax, o->kmin);
        return LM_AN_USAGE;
    }
    int pos[LM_MAX_BATTERY], n;
    if (lm_tasks_positions(net_in->battery, o->tasks, pos, &n) != 0) return LM_AN_USAGE;
    if (n < 2) {
        lm_err_set("variance: needs at least 2 tasks");
        return LM_AN_USAGE;
    }
    if (parse_pairs(o->pairs, pos, n, net_in->battery, out->pairs, &out->n_pairs) != 0) return LM_AN_USAGE;
    out->period = -1;
    if (o->period && strcmp(o->period, "all") != 0 && (out->period = lm_period_index(o->period)) < 0) {
        lm_err_set("variance: unknown --period '%s' (all, fixation, stimulus, delay, decision, stim1, stim2, sample, "
                   "test)", o->period);
        return LM_AN_USAGE;
    }
    LmNet net = net_with_seed(net_in, o);
    out->trials = o->trials > 0 ? o->trials : 64;
    out->n_tasks = n;
    for (int r = 0; r < n; r++) out->names[r] = net.battery->name[pos[r]];
    LmStates s;
    if (lm_states_collect(&net, pos, n, out->trials, &s) != 0) return LM_AN_FAILED;
    out->N = s.N;
    double *tv = lm_malloc((size_t)s.N * n * sizeof(double));
    int with = lm_task_variance_period(&s, out->period, tv, out->has_period);
    lm_states_free(&s);
    if (with == 0) {
        lm_err_set("variance: none of the analysed tasks has a '%s' period", o->period);
        free(tv);
        return LM_AN_USAGE;
    }
    int rc = lm_variance_cluster(tv, out->N, n, o->active, out->method, o->kmin, kmax, o->restarts, net.seed, &out->v);
    free(tv);
    return rc == 0 ? LM_AN_OK : LM_AN_FAILED;
}

void lm_var_analysis_free(LmVarAnalysis *a) {
    if (a->v.N) lm_variance_free(&a->v);
    memset(a, 0, sizeof *a);
}

/* ---------------------------------------------------------------- lesion */
int lm_analyze_lesion(const LmNet *net, const int *units, const int *group, int n_units, int n_groups, int trials,
                      LmEvalResult *base, double *delta, double *mean_change) {
    const int R = net->battery->n;
    const size_t np = lm_model_n_params(net->model);
    float *saved = lm_malloc(np * sizeof(float));
    memcpy(saved, lm_model_params(net->model), np * sizeof(float));
    int *sel = lm_malloc((size_t)(n_units ? n_units : 1) * sizeof(int));
    LmEvalResult *les = lm_malloc(sizeof *les);
    int rc = lm_evaluate(net->model, net->env, net->battery, trials, net->seed, NULL, base);
    for (int g = 0; rc == 0 && g < n_groups; g++) {
        int ns = 0;
        for (int k = 0; k < n_units; k++)
            if (group[k] == g) sel[ns++] = units[k];
        lm_lesion_apply(net->model, sel, ns);
        rc = lm_evaluate(net->model, net->env, net->battery, trials, net->seed, NULL, les);
        memcpy(lm_model_params(net->model), saved, np * sizeof(float));
        for (int r = 0; rc == 0 && r < R; r++)
            delta[(size_t)g * R + r] =
                lm_eval_task_perf(les, r, LM_METRIC_LAST_STEP) - lm_eval_task_perf(base, r, LM_METRIC_LAST_STEP);
        if (rc == 0 && mean_change)
            mean_change[g] = lm_eval_mean(les, LM_METRIC_LAST_STEP) - lm_eval_mean(base, LM_METRIC_LAST_STEP);
    }
    free(saved), free(sel), free(les);
    return rc == 0 ? LM_AN_OK : LM_AN_FAILED;
}

int lm_parse_unit_list(const char *spec, int N, int *units, int *n) {
    uint8_t *seen = lm_calloc((size_t)N, 1);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", spec);
    *n = 0;
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(tok, '-');
        long a, b;
        if (dash) *dash = '\0';
        rc = lm_parse_long("--units", tok, 0, N - 1, &a);
        b = a;
        if (!rc && dash) rc = lm_parse_long("--units", dash + 1, a, N - 1, &b);
        for (long u = a; !rc && u <= b; u++) {
            if (seen[u]) {
                lm_err_set("--units: unit %ld given twice", u);
                rc = -1;
            }
            seen[u] = 1, units[(*n)++] = (int)u;
        }
    }
    free(seen);
    if (!rc && *n == 0) lm_err_set("--units: no units given"), rc = -1;
    return rc;
}

/* ---------------------------------------------------------------- summary */
int lm_analyze_summary_at(const LmNet *net_in, const LmAnalyzeOptions *o, const LmInitWeights *init,
                          const LmSheet *g, LmSummary *out, int *trials_per_task, int *n_tasks) {
    memset(out, 0, sizeof *out);
    int pos[LM_MAX_BATTERY], n;
    if (lm_tasks_positions(net_in->battery, o->tasks, pos, &n) != 0) return LM_AN_USAGE;
    LmNet net = net_with_seed(net_in, o);
    LmSummaryOptions so;
    lm_summary_options_default(&so);
    if (o->trials > 0) so.trials = o->trials;
    int rc = lm_summary_of_net(&net, pos, n, &so, init, g, out);
    if (trials_per_task) *trials_per_task = out->trials;
    if (n_tasks) *n_tasks = n;
    return rc == 0 ? LM_AN_OK : LM_AN_FAILED;
}

