/* lmrnn analyze: look inside a trained network (docs/analysis.md). Subcommands states, summary,
 * fixedpoints, variance, lesion; the analyses themselves live in src/analysis/. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "analysis/analysis.h"
#include "cli/commands.h"
#include "cli/run_summary.h"
#include "io/json.h"
#include "io/npz.h"
#include "report/run.h"
#include "util/err.h"
#include "util/number.h"
#include "util/options.h"
#include "util/rng.h"

enum { SUB_STATES = 1, SUB_SUMMARY = 2, SUB_FIXEDPOINTS = 4, SUB_VARIANCE = 8, SUB_LESION = 16, SUB_AUTAPSE = 32,
       SUB_ALL = 63 };

typedef struct {
    const char *out, *tasks, *task, *period, *units, *clusters, *pairs, *method, *optimizer;
    int trials, inits, max_iters, threads, input_trial, kmin, kmax, restarts, patience;
    double noise, tol_q, tol_dq, tol_unique, lr, outlier, active, lr_decay, memory_tol;
    uint64_t seed;
    int have_seed, no_plot;
} Opts;

/* One table for every subcommand; `user` says which subcommands take the option. */
#define STR(name, field, subs, help) {name, LM_OPT_STRING, offsetof(Opts, field), 0, 0, 0, 0, NULL, help, NULL, NULL, NULL, NULL, subs}
#define NUM(name, type, field, lo, hi, def, subs, help) \
    {name, type, offsetof(Opts, field), 0, lo, hi, 0, def, help, NULL, NULL, NULL, NULL, subs}
#define S_FSV (SUB_STATES | SUB_SUMMARY | SUB_VARIANCE | SUB_LESION)
#define S_PLOT (SUB_SUMMARY | SUB_FIXEDPOINTS | SUB_VARIANCE | SUB_LESION | SUB_AUTAPSE)
static const LmOption all_opts[] = {
    STR("out", out, SUB_ALL, "output file (states, fixedpoints: .npz) or directory"),
    STR("tasks", tasks, S_FSV, "comma-separated tasks of the run's battery, or all (default all)"),
    NUM("trials", LM_OPT_INT, trials, 1, 100000, NULL, SUB_ALL,
        "held-out trials per task (default: states, summary 16; fixedpoints, variance, lesion, autapse 64)"),
    NUM("seed", LM_OPT_UINT64, seed, 0, 0, NULL, SUB_ALL,
        "trial seed (default: the run's held-out evaluation seed); fixedpoints: also the init draw"),
    NUM("threads", LM_OPT_INT, threads, 1, 1024, "1", SUB_ALL, "threads; results do not depend on it"),
    NUM("no_plot", LM_OPT_BOOL, no_plot, 0, 0, NULL, S_PLOT, "do not draw figures"),
    STR("task", task, SUB_FIXEDPOINTS | SUB_AUTAPSE, "the task whose input (and trajectories) are used (required)"),
    STR("period", period, SUB_FIXEDPOINTS | SUB_AUTAPSE,
        "period of the task: fixation, stimulus, delay, decision, stim1, stim2, sample, test (required)"),
    STR("period", period, SUB_VARIANCE,
        "task variance in one period only (epoch variance: fixation, stimulus, delay, decision, stim1, stim2, "
        "sample, test), or all (default: every period after the initial fixation)"),
    NUM("input_trial", LM_OPT_INT, input_trial, 0, 100000, NULL, SUB_FIXEDPOINTS | SUB_AUTAPSE,
        "u is the input at the period's first step in this trial (default: the first trial that has the period)"),
    NUM("memory_tol", LM_OPT_DOUBLE, memory_tol, 0, 10, "0.05", SUB_AUTAPSE,
        "memory unit: |w_eff - 1| <= this (a time constant of at least 1/tol steps)"),
    NUM("inits", LM_OPT_INT, inits, 1, 1000000, "1024", SUB_FIXEDPOINTS, "initial states"),
    NUM("noise", LM_OPT_DOUBLE, noise, 0, 1e6, "0.5", SUB_FIXEDPOINTS,
        "std of the Gaussian noise added to the initial states (0.05 as Driscoll et al.)"),
    STR("optimizer", optimizer, SUB_FIXEDPOINTS, "adam (default; the only one offered)"),
    NUM("lr", LM_OPT_DOUBLE, lr, 1e-12, 1e6, "1", SUB_FIXEDPOINTS, "Adam's initial learning rate"),
    NUM("lr_decay", LM_OPT_DOUBLE, lr_decay, 1e-6, 1, "0.95", SUB_FIXEDPOINTS, "adaptive rate factor"),
    NUM("patience", LM_OPT_INT, patience, 1, 1000000, "5", SUB_FIXEDPOINTS,
        "iterations per rate change (FixedPointFinder's adaptive rate)"),
    NUM("max_iters", LM_OPT_INT, max_iters, 1, 100000000, "5000", SUB_FIXEDPOINTS, "iterations at most"),
    NUM("tol_q", LM_OPT_DOUBLE, tol_q, 0, 1e6, "1e-12", SUB_FIXEDPOINTS, "stop a state when q < tol-q"),
    NUM("tol_dq", LM_OPT_DOUBLE, tol_dq, 0, 1e6, "1e-20", SUB_FIXEDPOINTS,
        "stop a state when |dq| per iteration < tol-dq x learning rate"),
    NUM("tol_unique", LM_OPT_DOUBLE, tol_unique, 0, 1e6, "1e-3", SUB_FIXEDPOINTS,
        "points closer than this (2-norm) are one point"),
    NUM("outlier", LM_OPT_DOUBLE, outlier, 0, 1e12, "10", SUB_FIXEDPOINTS,
        "drop points farther from the inits' centroid than this x their mean distance (0 = keep all)"),
    NUM("active", LM_OPT_DOUBLE, active, 0, 1e6, "1e-3", SUB_VARIANCE,
        "active unit: summed task variance above this (1e-6 as neurogym's port)"),
    STR("method", method, SUB_VARIANCE, "kmeans (default, k = 2..29) or ward (k = 2..19)"),
    NUM("kmin", LM_OPT_INT, kmin, 2, 1000, "2", SUB_VARIANCE, "smallest k"),
    NUM("kmax", LM_OPT_INT, kmax, 2, 1000, NULL, SUB_VARIANCE, "largest k (default 29 kmeans, 19 ward)"),
    NUM("restarts", LM_OPT_INT, restarts, 1, 10000, "20", SUB_VARIANCE, "k-means++ restarts per k"),
    STR("pairs", pairs, SUB_VARIANCE, "task pairs for fractional task variance, a:b,c:d (default: Yang's pairs present)"),
    STR("clusters", clusters, SUB_LESION, "variance.npz of `analyze variance`: lesion each cluster"),
    STR("units", units, SUB_LESION, "lesion this unit list instead (e.g. 3,17,40-45)"),
};

static const struct { const char *name; int bit; const char *what; } subs[] = {
    {"states", SUB_STATES, "hidden-state trajectories of held-out trials (noise off) -> .npz"},
    {"summary", SUB_SUMMARY, "participation ratio, dormant units, ranks, weight change, |w| vs distance"},
    {"fixedpoints", SUB_FIXEDPOINTS, "fixed and slow points for one task period's constant input"},
    {"variance", SUB_VARIANCE, "task variance, active units, clusters (k-means/Ward + silhouette), FTV"},
    {"lesion", SUB_LESION, "zero a cluster's (or units') outgoing weights; per-task performance change"},
    {"autapse", SUB_AUTAPSE, "diagonal networks: analytic 1-D fixed points per unit, memory units, their lesion"},
};
#define N_SUBS (int)(sizeof subs / sizeof subs[0])

/* The options of one subcommand as a table of their own. */
static LmOptTable sub_table(int sub, const char *name, LmOption *buf, char *command, size_t n) {
    int k = 0;
    for (int i = 0; i < LM_OPTS_COUNT(all_opts); i++)
        if (all_opts[i].user & (unsigned)sub) buf[k++] = all_opts[i];
    snprintf(command, n, "analyze %s", name);
    return (LmOptTable){command, buf, k};
}

static void usage(FILE *f) {
    fputs("usage: lmrnn analyze SUBCOMMAND RUN [options]   (RUN: a run directory or checkpoint)\n\n", f);
    for (int s = 0; s < N_SUBS; s++) fprintf(f, "  %-12s %s\n", subs[s].name, subs[s].what);
    fputs("\nRun `lmrnn analyze SUBCOMMAND --help` for its options; definitions in docs/analysis.md.\n", f);
}

static void opts_default(Opts *o) {
    memset(o, 0, sizeof *o);
    LmOptTable all = {"analyze", all_opts, LM_OPTS_COUNT(all_opts)};
    lm_opts_defaults(&all, o);
    o->trials = -1, o->kmax = -1, o->input_trial = -1;
}

/* The trial whose input at the period's start is u: --input-trial, or the first trial with a non-empty
 * period (delays can be 0 steps long). -1 + lm_err_set if there is none. */
static int input_trial_of(const LmStates *s, int period, int asked, const char *task, const char *pname) {
    for (int k = asked >= 0 ? asked : 0; k < s->K && k <= (asked >= 0 ? asked : s->K - 1); k++) {
        const int32_t *b = s->bounds + ((size_t)k * LM_N_PERIOD_NAMES + period) * 2;
        if (b[0] >= 0 && b[1] > b[0]) return k;
    }
    if (asked >= 0) lm_err_set("task '%s' has no '%s' period in trial %d (its periods: see lmrnn tasks list)", task, pname, asked);
    else lm_err_set("task '%s' has no '%s' period in any of its %d trials (its periods: see lmrnn tasks list)", task, pname, s->K);
    return -1;
}

/* ---------------------------------------------------------------- shared steps */
static LmNet net_of(const LmTrained *run, const Opts *o) {
    LmNet n = {run->model, run->battery, run->env, o->have_seed ? o->seed : run->eval_seed};
    return n;
}

static int write_json(const char *path, cJSON *doc) {
    int rc = lm_json_write(path, doc);
    cJSON_Delete(doc);
    return rc;
}

/* ---------------------------------------------------------------- states */
static int run_states(LmTrained *run, const Opts *o) {
    if (!o->out) {
        lm_err_set("states: --out FILE.npz is required");
        return 2;
    }
    int pos[LM_MAX_BATTERY], n;
    if (lm_tasks_positions(run->battery, o->tasks, pos, &n) != 0) return 2;
    LmNet net = net_of(run, o);
    LmStates s;
    if (lm_states_collect(&net, pos, n, o->trials > 0 ? (int)o->trials : 16, &s) != 0) return 1;
    int rc = lm_states_write(&s, run->battery, o->out);
    if (rc == 0)
        printf("wrote %s: %d trials of %d tasks, %d steps, %d units (seed %llu)\n", o->out, s.K, s.n_tasks, s.T,
               s.N, (unsigned long long)net.seed);
    lm_states_free(&s);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- summary */
static int summary_of(LmTrained *run, const Opts *o, const char *dir, const char *fig_dir, FILE *report) {
    int pos[LM_MAX_BATTERY], n;
    if (lm_tasks_positions(run->battery, o->tasks, pos, &n) != 0) return 2;
    LmNet net = net_of(run, o);
    LmRunInit init;
    const char *source = lm_run_initial_weights(run->dir, &run->trainer->cfg, run->model, &init);
    if (!source) fprintf(stderr, "lmrnn: warning: no initial weights (%s): weight change not reported\n", lm_err_msg());
    LmSheet g = lm_run_sheet(&run->trainer->cfg);
    LmSummaryOptions so;
    lm_summary_options_default(&so);
    if (o->trials > 0) so.trials = (int)o->trials;
    LmInitWeights iw = lm_run_init_view(&init);
    LmSummary sm;
    int rc = lm_summary_of_net(&net, pos, n, &so, source ? &iw : NULL, &g, &sm);
    sm.init_source = source;
    char path[1200];
    if (rc == 0 && lm_mkdir_p(dir) != 0) rc = -1;
    if (rc == 0) {
        cJSON *doc = lm_summary_json(&sm);
        cJSON_AddNumberToObject(doc, "step", (double)run->step);
        cJSON_AddNumberToObject(doc, "trials_per_task", sm.trials);
        cJSON_AddNumberToObject(doc, "tasks", n);
        cJSON_AddNumberToObject(doc, "seed", (double)net.seed);
        snprintf(path, sizeof path, "%s/summary.json", dir);
        rc = write_json(path, doc);
        if (rc == 0 && report)
            fprintf(report, "summary: PR %.2f, dormant %.3f (tau 0) %.3f (tau 0.025), erank %.1f, stable rank %.2f, "
                            "|dW_rec|/|W_rec(0)| %.3f%s; wrote %s\n",
                    sm.pr, sm.dormant[0], sm.dormant[1], sm.erank, sm.srank, sm.change[0],
                    sm.n_skipped ? " (some measures skipped above the dense size: see \"skipped\")" : "", path);
    }
    if (rc == 0 && !o->no_plot) {
        snprintf(path, sizeof path, "%s/summary.png", fig_dir);
        rc = lm_mkdir_p(fig_dir);
        if (rc == 0) rc = lm_summary_figure(&sm, path);
        if (rc == 0 && report) fprintf(report, "wrote %s\n", path);
        /* over training: the run log's summary records, if it has any */
        char log[1200];
        snprintf(log, sizeof log, "%s/log.jsonl", run->dir);
        snprintf(path, sizeof path, "%s/summary_history.png", fig_dir);
        int h = rc == 0 ? lm_summary_history_figure(log, path) : 0;
        if (h < 0) rc = -1;
        if (h == 0 && rc == 0 && report) fprintf(report, "wrote %s\n", path);
    }
    lm_summary_free(&sm);
    lm_run_init_free(&init);
    return rc ? 1 : 0;
}

int lm_analyze_train_summary(const char *run_dir, int figure, FILE *report) {
    LmTrained run;
    if (lm_trained_load(run_dir, &run) != 0) return -1;
    Opts o;
    opts_default(&o);
    o.no_plot = !figure;
    char plots[1100];
    snprintf(plots, sizeof plots, "%s/plots", run.dir);
    int rc = summary_of(&run, &o, run.dir, plots, report);
    lm_trained_free(&run);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- fixedpoints */
/* "x.npz" -> "x" + suffix */
static void sibling(const char *npz, const char *suffix, char *out, size_t n) {
    size_t len = strlen(npz);
    if (len > 4 && !strcmp(npz + len - 4, ".npz")) len -= 4;
    snprintf(out, n, "%.*s%s", (int)len, npz, suffix);
}

static int run_fixedpoints(LmTrained *run, const Opts *o) {
    if (!o->out || !o->task || !o->period) {
        lm_err_set("fixedpoints: --task, --period and --out FILE.npz are required");
        return 2;
    }
    if (o->optimizer && strcmp(o->optimizer, "adam") != 0) {
        lm_err_set("fixedpoints: --optimizer '%s' is not offered (adam)", o->optimizer);
        return 2;
    }
    int pos[LM_MAX_BATTERY], n;
    if (lm_tasks_positions(run->battery, o->task, pos, &n) != 0) return 2;
    if (n != 1) {
        lm_err_set("fixedpoints: --task takes one task (got %d)", n);
        return 2;
    }
    int period = lm_period_index(o->period);
    if (period < 0) {
        lm_err_set("fixedpoints: unknown period '%s' (fixation, stimulus, delay, decision, stim1, stim2, sample, test)",
                   o->period);
        return 2;
    }
    LmNet net = net_of(run, o);
    LmStates s;
    int trials = o->trials > 0 ? (int)o->trials : 64;
    if (o->input_trial >= trials) {
        lm_err_set("fixedpoints: --input-trial %d needs --trials above it (got %d)", o->input_trial, trials);
        return 2;
    }
    if (lm_states_collect(&net, pos, 1, trials, &s) != 0) return 1;
    int it = input_trial_of(&s, period, o->input_trial, run->battery->name[pos[0]], o->period);
    if (it < 0) {
        lm_states_free(&s);
        return 2;
    }
    const int32_t *b = s.bounds + ((size_t)it * LM_N_PERIOD_NAMES + period) * 2;
    const LmModelConfig *mc = lm_model_config(run->model);
    int N = mc->n_hidden;
    const float *u = s.x + ((size_t)it * s.T + b[0]) * s.n_in;
    float *W = lm_malloc((size_t)N * N * sizeof(float));
    double *c = lm_malloc((size_t)N * sizeof(double));
    lm_model_export_tensor(run->model, 2, W);
    lm_map_input(run->model, u, c);
    LmMap map = {N, mc->rule, mc->act, mc->alpha, W, c};
    LmFpOptions fo;
    lm_fp_options_default(&fo);
    fo.n_inits = (int)o->inits, fo.noise = o->noise, fo.seed = net.seed;
    fo.lr = o->lr, fo.lr_decay = o->lr_decay, fo.patience = (int)o->patience, fo.max_iters = (int)o->max_iters;
    fo.tol_q = o->tol_q, fo.tol_dq = o->tol_dq, fo.tol_unique = o->tol_unique, fo.outlier = o->outlier;
    fo.threads = (int)o->threads;
    float *inits = lm_malloc((size_t)fo.n_inits * N * sizeof(float));
    LmFixedPoints fp;
    int rc = lm_fp_sample_inits(&s, period, &fo, inits);
    if (rc == 0) rc = lm_fp_find(&map, inits, &fo, &fp);
    if (rc == 0) {
        char fig[1200], json[1200];
        sibling(o->out, ".png", fig, sizeof fig);
        sibling(o->out, ".json", json, sizeof json);
        LmFpContext ctx = {run->battery->name[pos[0]], o->period, u, s.n_in, mc->alpha, lm_rule_name(mc->rule),
                           lm_act_name(mc->act), lm_model_mask(run->model)->desc};
        cJSON *doc = lm_fp_report(&fp, &s, &ctx, o->out, o->no_plot ? NULL : fig);
        if (!doc) rc = -1;
        else {
            printf("%s %s: %d inits -> %d points (%d stable), %d duplicates, %d outliers; stopped by tol_q %d, "
                   "tol_dq %d, max_iters %d; %d iterations in %.2f s, eigen %.2f s\n",
                   ctx.task, ctx.period, fp.n_inits, fp.K, (int)cJSON_GetObjectItem(doc, "stable")->valuedouble,
                   fp.n_duplicates, fp.n_outliers, fp.n_stopped_q, fp.n_stopped_dq, fp.n_max_iters, fp.iterations,
                   fp.seconds_opt, fp.seconds_eig);
            rc = write_json(json, doc);
            if (rc == 0) printf("wrote %s, %s%s%s\n", o->out, json, o->no_plot ? "" : ", ", o->no_plot ? "" : fig);
        }
        lm_fp_free(&fp);
    }
    free(inits), free(W), free(c);
    lm_states_free(&s);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- autapse */
static cJSON *num_array(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

/* Per-task change of performance when `units` are lesioned (the network is restored afterwards). */
static int lesion_delta(LmTrained *run, const int *units, int n, int trials, uint64_t seed, const LmEvalResult *base,
                        double *delta, double *mean) {
    size_t np = lm_model_n_params(run->model);
    float *saved = lm_malloc(np * sizeof(float));
    memcpy(saved, lm_model_params(run->model), np * sizeof(float));
    lm_lesion_apply(run->model, units, n);
    LmEvalResult *r = lm_malloc(sizeof *r);
    int rc = lm_evaluate(run->model, run->env, run->battery, trials, seed, NULL, r);
    memcpy(lm_model_params(run->model), saved, np * sizeof(float));
    if (rc == 0) {
        for (int k = 0; k < run->battery->n; k++)
            delta[k] = lm_eval_task_perf(r, k, LM_METRIC_LAST_STEP) - lm_eval_task_perf(base, k, LM_METRIC_LAST_STEP);
        *mean = lm_eval_mean(r, LM_METRIC_LAST_STEP) - lm_eval_mean(base, LM_METRIC_LAST_STEP);
    }
    free(r), free(saved);
    return rc;
}

static int run_autapse(LmTrained *run, const Opts *o) {
    if (!o->out || !o->task || !o->period) {
        lm_err_set("autapse: --task, --period and --out DIR are required");
        return 2;
    }
    int pos[LM_MAX_BATTERY], n, period = lm_period_index(o->period);
    if (lm_tasks_positions(run->battery, o->task, pos, &n) != 0) return 2;
    if (n != 1 || period < 0) {
        lm_err_set("autapse: --task takes one task and --period a period name (got '%s', '%s')", o->task, o->period);
        return 2;
    }
    LmNet net = net_of(run, o);
    LmStates s;
    int trials_in = o->input_trial >= 0 ? o->input_trial + 1 : 64;
    if (lm_states_collect(&net, pos, 1, trials_in, &s) != 0) return 1;
    int it = input_trial_of(&s, period, o->input_trial, run->battery->name[pos[0]], o->period);
    if (it < 0) {
        lm_states_free(&s);
        return 2;
    }
    const int32_t *b = s.bounds + ((size_t)it * LM_N_PERIOD_NAMES + period) * 2;
    int N = s.N, R = run->battery->n, trials = o->trials > 0 ? (int)o->trials : 64;
    double *c = lm_malloc((size_t)N * sizeof(double));
    lm_map_input(run->model, s.x + ((size_t)it * s.T + b[0]) * s.n_in, c);
    lm_states_free(&s);
    LmAutapse au;
    int rc = lm_autapse_analyse(run->model, c, o->memory_tol, &au);
    free(c);
    if (rc) return 1;
    /* lesion the memory units, and as a control as many other units drawn at random (seeded) */
    int *mem = lm_malloc((size_t)N * sizeof(int)), *ctl = lm_malloc((size_t)N * sizeof(int)), nm = 0, nc = 0;
    int *other = lm_malloc((size_t)N * sizeof(int)), no = 0;
    for (int i = 0; i < N; i++)
        if (au.memory[i]) mem[nm++] = i;
        else other[no++] = i;
    LmRng rng = lm_rng_derive(net.seed, 0x6175u);
    for (int k = 0; k < nm && no > 0; k++) {   /* partial Fisher-Yates */
        int j = k + (int)lm_rng_below(&rng, (uint32_t)(no - k));
        int t = other[k];
        other[k] = other[j], other[j] = t;
        ctl[nc++] = other[k];
        if (nc == no) break;
    }
    double *dm = lm_calloc((size_t)R, sizeof(double)), *dc = lm_calloc((size_t)R, sizeof(double)), mm = 0, mc = 0;
    LmEvalResult *base = lm_malloc(sizeof *base);
    rc = lm_evaluate(run->model, run->env, run->battery, trials, net.seed, NULL, base);
    if (rc == 0 && nm) rc = lesion_delta(run, mem, nm, trials, net.seed, base, dm, &mm);
    if (rc == 0 && nc) rc = lesion_delta(run, ctl, nc, trials, net.seed, base, dc, &mc);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "task", run->battery->name[pos[0]]);
    cJSON_AddStringToObject(doc, "period", o->period);
    cJSON_AddNumberToObject(doc, "memory_tol", o->memory_tol);
    cJSON_AddNumberToObject(doc, "units", N);
    cJSON_AddNumberToObject(doc, "memory_units", au.n_memory);
    cJSON_AddNumberToObject(doc, "units_without_fixed_point", au.n_runaway);
    int two = 0, line = 0;
    for (int i = 0; i < N; i++) two += au.n_fixed[i] == 2, line += au.n_fixed[i] == -1;
    cJSON_AddNumberToObject(doc, "units_with_two_fixed_points", two);
    cJSON_AddNumberToObject(doc, "units_with_a_line_of_fixed_points", line);
    cJSON *ml = cJSON_AddArrayToObject(doc, "memory_unit_list");
    for (int k = 0; k < nm; k++) cJSON_AddItemToArray(ml, cJSON_CreateNumber(mem[k]));
    cJSON_AddItemToObject(doc, "w_ii", num_array(au.w, N));
    cJSON_AddItemToObject(doc, "w_eff", num_array(au.w_eff, N));
    cJSON_AddItemToObject(doc, "input_term", num_array(au.c, N));
    cJSON *les = cJSON_AddObjectToObject(doc, "lesion");
    cJSON_AddNumberToObject(les, "trials_per_task", trials);
    cJSON_AddNumberToObject(les, "intact_mean", lm_eval_mean(base, LM_METRIC_LAST_STEP));
    cJSON_AddNumberToObject(les, "memory_units_mean_change", mm);
    cJSON_AddNumberToObject(les, "random_units_mean_change", mc);
    cJSON *pm = cJSON_AddObjectToObject(les, "memory_units_change"), *pc = cJSON_AddObjectToObject(les, "random_units_change");
    for (int k = 0; k < R; k++) {
        cJSON_AddNumberToObject(pm, run->battery->name[k], dm[k]);
        cJSON_AddNumberToObject(pc, run->battery->name[k], dc[k]);
    }
    char path[1200];
    if (rc == 0 && (rc = lm_mkdir_p(o->out)) == 0) {
        snprintf(path, sizeof path, "%s/autapse.json", o->out);
        rc = lm_json_write(path, doc);
    }
    if (rc == 0 && !o->no_plot) {
        snprintf(path, sizeof path, "%s/autapse.png", o->out);
        rc = lm_autapse_figure(&au, dm, dc, R, run->battery, path);
    }
    if (rc == 0)
        printf("%s %s: %d memory units (|w_eff - 1| <= %g), %d without a fixed point; lesion: memory units %+.3f, "
               "%d random units %+.3f mean performance; wrote %s/autapse.json\n",
               run->battery->name[pos[0]], o->period, au.n_memory, o->memory_tol, au.n_runaway, mm, nc, mc, o->out);
    cJSON_Delete(doc);
    lm_autapse_free(&au);
    free(mem), free(ctl), free(other), free(dm), free(dc), free(base);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- variance */
static const char *const yang_pairs[][2] = {{"ctxdm1", "ctxdm2"}, {"ctxdlydm1", "ctxdlydm2"}, {"dms", "dnms"},
                                            {"dmc", "dnmc"}, {"go", "anti"}, {"dlygo", "dlyanti"}};

static int find_task(const LmStates *s, const LmBattery *b, const char *name) {
    int id = lm_task_lookup(name);
    for (int r = 0; r < s->n_tasks; r++)
        if (id >= 0 && b->id[s->task_pos[r]] == id) return r;
    return -1;
}

/* "a:b,c:d" (or the Yang pairs present) into task indices of s. */
static int parse_pairs(const char *spec, const LmStates *s, const LmBattery *b, int32_t (*pairs)[2], int *n) {
    *n = 0;
    if (!spec) {
        for (size_t p = 0; p < sizeof yang_pairs / sizeof yang_pairs[0]; p++) {
            int x = find_task(s, b, yang_pairs[p][0]), y = find_task(s, b, yang_pairs[p][1]);
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
        int x = find_task(s, b, tok), y = find_task(s, b, colon + 1);
        if (x < 0 || y < 0) {
            lm_err_set("--pairs: task '%s' is not among the analysed tasks", x < 0 ? tok : colon + 1);
            return -1;
        }
        pairs[*n][0] = x, pairs[*n][1] = y, (*n)++;
    }
    return 0;
}

static int run_variance(LmTrained *run, const Opts *o) {
    if (!o->out) {
        lm_err_set("variance: --out DIR is required");
        return 2;
    }
    LmClusterMethod method = LM_CLUSTER_KMEANS;
    if (o->method && !strcmp(o->method, "ward")) method = LM_CLUSTER_WARD;
    else if (o->method && strcmp(o->method, "kmeans") != 0) {
        lm_err_set("variance: unknown --method '%s' (kmeans or ward)", o->method);
        return 2;
    }
    int kmax = o->kmax > 0 ? (int)o->kmax : method == LM_CLUSTER_WARD ? 19 : 29;
    if (kmax < o->kmin) {
        lm_err_set("variance: --kmax %d is below --kmin %d", kmax, o->kmin);
        return 2;
    }
    int pos[LM_MAX_BATTERY], n;
    if (lm_tasks_positions(run->battery, o->tasks, pos, &n) != 0) return 2;
    if (n < 2) {
        lm_err_set("variance: needs at least 2 tasks");
        return 2;
    }
    int period = -1;
    if (o->period && strcmp(o->period, "all") != 0 && (period = lm_period_index(o->period)) < 0) {
        lm_err_set("variance: unknown --period '%s' (all, fixation, stimulus, delay, decision, stim1, stim2, sample, "
                   "test)", o->period);
        return 2;
    }
    LmNet net = net_of(run, o);
    int trials = o->trials > 0 ? (int)o->trials : 64;
    LmStates s;
    if (lm_states_collect(&net, pos, n, trials, &s) != 0) return 1;
    int32_t pairs[32][2];
    int n_pairs;
    if (parse_pairs(o->pairs, &s, run->battery, pairs, &n_pairs) != 0) {
        lm_states_free(&s);
        return 2;
    }
    double *tv = lm_malloc((size_t)s.N * n * sizeof(double));
    uint8_t has_period[LM_MAX_BATTERY];
    if (lm_task_variance_period(&s, period, tv, has_period) == 0) {
        lm_err_set("variance: none of the analysed tasks has a '%s' period", o->period);
        free(tv);
        lm_states_free(&s);
        return 2;
    }
    LmVariance v;
    int rc = lm_variance_cluster(tv, s.N, n, o->active, method, (int)o->kmin, kmax, (int)o->restarts, net.seed, &v);
    free(tv);
    const char *names[LM_MAX_BATTERY];
    for (int r = 0; r < n; r++) names[r] = run->battery->name[pos[r]];
    char path[1200];
    if (rc == 0 && (rc = lm_mkdir_p(o->out)) == 0) {
        snprintf(path, sizeof path, "%s/variance.npz", o->out);
        rc = lm_variance_write(&v, names, (const int32_t(*)[2])pairs, n_pairs, path);
    }
    if (rc == 0) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "trials",
                                "held-out evaluation trials (no stimulus grid): the variance at each step is over the "
                                "trials of the task past their initial fixation and still running at that step");
        cJSON_AddNumberToObject(doc, "trials_per_task", trials);
        cJSON_AddNumberToObject(doc, "seed", (double)net.seed);
        cJSON_AddStringToObject(doc, "period", period < 0 ? "all" : lm_period_names[period]);
        cJSON *lack = cJSON_AddArrayToObject(doc, "tasks_without_period");
        for (int r = 0; r < n; r++)
            if (!has_period[r]) cJSON_AddItemToArray(lack, cJSON_CreateString(names[r]));
        cJSON_AddNumberToObject(doc, "active_threshold", o->active);
        cJSON_AddNumberToObject(doc, "active_units", v.n_active);
        cJSON_AddStringToObject(doc, "method", method == LM_CLUSTER_WARD ? "ward" : "kmeans++");
        cJSON_AddNumberToObject(doc, "restarts", method == LM_CLUSTER_WARD ? 0 : (double)o->restarts);
        cJSON_AddNumberToObject(doc, "k", v.k);
        cJSON *sil = cJSON_AddObjectToObject(doc, "silhouette");
        for (int k = v.kmin; k <= v.kmax; k++) {
            char key[16];
            snprintf(key, sizeof key, "%d", k);
            cJSON_AddNumberToObject(sil, key, v.silhouette[k - v.kmin]);
        }
        cJSON *cl = cJSON_AddArrayToObject(doc, "clusters");
        for (int c = 0; c < v.k; c++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "id", c);
            cJSON_AddStringToObject(e, "task", names[v.cluster_task[c]]);
            cJSON *u = cJSON_AddArrayToObject(e, "units");
            for (int a = 0; a < v.n_active; a++)
                if (v.labels[a] == c) cJSON_AddItemToArray(u, cJSON_CreateNumber(v.units[a]));
            cJSON_AddItemToArray(cl, e);
        }
        snprintf(path, sizeof path, "%s/variance.json", o->out);
        rc = write_json(path, doc);
        if (rc == 0 && !o->no_plot) rc = lm_variance_figures(&v, names, (const int32_t(*)[2])pairs, n_pairs, o->out);
        if (rc == 0)
            printf("%d active units of %d; %s: k = %d (silhouette %.3f); wrote %s/variance.{npz,json}%s\n", v.n_active,
                   s.N, method == LM_CLUSTER_WARD ? "ward" : "k-means++", v.k, v.silhouette[v.k - v.kmin], o->out,
                   o->no_plot ? "" : " and figures");
    }
    if (v.N) lm_variance_free(&v);
    lm_states_free(&s);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- lesion */
/* "3,17,40-45" into units (each < N, no repeats). */
static int parse_units(const char *spec, int N, int *units, int *n) {
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

static int run_lesion(LmTrained *run, const Opts *o) {
    const LmModelConfig *mc = lm_model_config(run->model);
    int N = mc->n_hidden;
    if (!o->out || (!o->clusters == !o->units)) {
        lm_err_set("lesion: --out DIR and one of --clusters variance.npz or --units LIST are required");
        return 2;
    }
    int *units = lm_malloc((size_t)N * sizeof(int)), *group = lm_malloc((size_t)N * sizeof(int));
    int n_units = 0, n_groups = 0;
    char (*gname)[40] = lm_calloc(64, 40);
    int rc = 0;
    if (o->units) {
        rc = parse_units(o->units, N, units, &n_units) ? 2 : 0;
        for (int k = 0; k < n_units; k++) group[k] = 0;
        n_groups = 1;
        snprintf(gname[0], 40, "units");
    } else {
        LmNpz *z = lm_npz_read(o->clusters);
        const LmArray *u = z ? lm_npz_expect(z, "units", LM_DT_I32, 1, (int64_t[]){-1}) : NULL;
        const LmArray *l = u ? lm_npz_expect(z, "labels", LM_DT_I32, 1, u->shape) : NULL;
        const LmArray *t = l ? lm_npz_expect(z, "cluster_task", LM_DT_I32, 1, (int64_t[]){-1}) : NULL;
        const LmArray *names = t ? lm_npz_find(z, "task_names") : NULL;
        if (!t) rc = 1;
        else if ((int64_t)u->count > N || t->count < 1 || t->count > 64 || !names || names->dtype != LM_DT_STR) {
            lm_err_set("%s: not a variance.npz of a network with %d units", o->clusters, N);
            rc = 1;
        }
        for (size_t k = 0; rc == 0 && k < u->count; k++) {
            int uu = ((int32_t *)u->data)[k], g = ((int32_t *)l->data)[k];
            if (uu < 0 || uu >= N || g < 0 || g >= (int)t->count) {
                lm_err_set("%s: unit %d or cluster %d out of range", o->clusters, uu, g);
                rc = 1;
            }
            units[n_units] = uu, group[n_units++] = g;
        }
        if (rc == 0) {
            n_groups = (int)t->count;
            char list[LM_MAX_BATTERY * 33 + 1];
            snprintf(list, sizeof list, "%s", (const char *)names->data);
            const char *tn[LM_MAX_BATTERY];
            int nt = 0;
            for (char *save = NULL, *tok = strtok_r(list, ";", &save); tok && nt < LM_MAX_BATTERY;
                 tok = strtok_r(NULL, ";", &save))
                tn[nt++] = tok;
            for (int g = 0; g < n_groups; g++) {
                int ti = ((int32_t *)t->data)[g];
                snprintf(gname[g], 40, "%d:%s", g, ti >= 0 && ti < nt ? tn[ti] : "?");
            }
        }
        lm_npz_free(z);
    }
    int R = run->battery->n, trials = o->trials > 0 ? (int)o->trials : 64;
    uint64_t seed = o->have_seed ? o->seed : run->eval_seed;
    double *delta = lm_calloc((size_t)(n_groups ? n_groups : 1) * R, sizeof(double));
    LmEvalResult *base = lm_malloc(sizeof *base), *les = lm_malloc(sizeof *les);
    float *saved = lm_malloc(lm_model_n_params(run->model) * sizeof(float));
    memcpy(saved, lm_model_params(run->model), lm_model_n_params(run->model) * sizeof(float));
    if (rc == 0 && lm_evaluate(run->model, run->env, run->battery, trials, seed, NULL, base) != 0) rc = 1;
    cJSON *doc = cJSON_CreateObject(), *groups = cJSON_AddArrayToObject(doc, "groups");
    for (int g = 0; rc == 0 && g < n_groups; g++) {
        int sel[4096], ns = 0;
        for (int k = 0; k < n_units; k++)
            if (group[k] == g) sel[ns++] = units[k];
        lm_lesion_apply(run->model, sel, ns);
        if (lm_evaluate(run->model, run->env, run->battery, trials, seed, NULL, les) != 0) rc = 1;
        memcpy(lm_model_params(run->model), saved, lm_model_n_params(run->model) * sizeof(float));
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", gname[g]);
        cJSON_AddNumberToObject(e, "units", ns);
        cJSON_AddNumberToObject(e, "mean_change", lm_eval_mean(les, LM_METRIC_LAST_STEP) - lm_eval_mean(base, LM_METRIC_LAST_STEP));
        cJSON *d = cJSON_AddObjectToObject(e, "change");
        for (int r = 0; r < R; r++) {
            delta[(size_t)g * R + r] = lm_eval_task_perf(les, r, LM_METRIC_LAST_STEP) - lm_eval_task_perf(base, r, LM_METRIC_LAST_STEP);
            cJSON_AddNumberToObject(d, run->battery->name[r], delta[(size_t)g * R + r]);
        }
        cJSON_AddItemToArray(groups, e);
    }
    char path[1200];
    if (rc == 0 && lm_mkdir_p(o->out) != 0) rc = 1;
    if (rc == 0) {
        cJSON_AddStringToObject(doc, "metric", "last_step");
        cJSON_AddNumberToObject(doc, "trials_per_task", trials);
        cJSON_AddNumberToObject(doc, "seed", (double)seed);
        cJSON *b = cJSON_AddObjectToObject(doc, "intact");
        for (int r = 0; r < R; r++) cJSON_AddNumberToObject(b, run->battery->name[r], lm_eval_task_perf(base, r, LM_METRIC_LAST_STEP));
        snprintf(path, sizeof path, "%s/lesion.json", o->out);
        rc = lm_json_write(path, doc) ? 1 : 0;
    }
    if (rc == 0) {   /* CSV: one row per group, one column per task */
        size_t cap = (size_t)(n_groups + 1) * (R + 1) * 48 + 64, used = 0;
        char *csv = lm_malloc(cap);
        used += snprintf(csv + used, cap - used, "group");
        for (int r = 0; r < R; r++) used += snprintf(csv + used, cap - used, ",%s", run->battery->name[r]);
        used += snprintf(csv + used, cap - used, "\n");
        for (int g = 0; g < n_groups; g++) {
            used += snprintf(csv + used, cap - used, "%s", gname[g]);
            for (int r = 0; r < R; r++) used += snprintf(csv + used, cap - used, ",%.4f", delta[(size_t)g * R + r]);
            used += snprintf(csv + used, cap - used, "\n");
        }
        snprintf(path, sizeof path, "%s/lesion.csv", o->out);
        rc = lm_write_file_atomic(path, csv, used) ? 1 : 0;
        free(csv);
    }
    if (rc == 0 && !o->no_plot) {
        const char *gn[64], *tn[LM_MAX_BATTERY];
        for (int g = 0; g < n_groups; g++) gn[g] = gname[g];
        for (int r = 0; r < R; r++) tn[r] = run->battery->name[r];
        snprintf(path, sizeof path, "%s/lesion.png", o->out);
        rc = lm_lesion_figure(delta, n_groups, R, gn, tn, path) ? 1 : 0;
    }
    if (rc == 0)
        printf("lesioned %d group(s) of %d units in all; mean change per group written to %s/lesion.{json,csv}\n",
               n_groups, n_units, o->out);
    cJSON_Delete(doc);
    free(units), free(group), free(gname), free(delta), free(base), free(les), free(saved);
    return rc;
}

/* ---------------------------------------------------------------- dispatch */
int lm_cmd_analyze(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? LM_EXIT_USAGE : LM_EXIT_OK;
    }
    int sub = 0;
    for (int s = 0; s < N_SUBS; s++)
        if (!strcmp(argv[0], subs[s].name)) sub = subs[s].bit;
    if (!sub) {
        fprintf(stderr, "lmrnn: analyze: unknown subcommand '%s' (expected states, summary, fixedpoints, variance, "
                        "lesion or autapse)\n", argv[0]);
        return LM_EXIT_USAGE;
    }
    LmOption buf[LM_OPTS_COUNT(all_opts)];
    char command[64];
    LmOptTable table = sub_table(sub, argv[0], buf, command, sizeof command);
    Opts o;
    opts_default(&o);
    LmOptScan scan;
    if (lm_opts_parse(&table, &o, argc - 1, argv + 1, 1, &scan) != 0) return lm_opts_fail(command, LM_EXIT_USAGE);
    if (scan.help) {
        for (int s = 0; s < N_SUBS; s++)
            if (subs[s].bit == sub) printf("usage: lmrnn analyze %s RUN [options]\n%s\n\noptions:\n", subs[s].name, subs[s].what);
        lm_opts_print_help(stdout, &table);
        return LM_EXIT_OK;
    }
    if (scan.n_pos != 1) {
        fprintf(stderr, "lmrnn: %s: a run directory or checkpoint is required (see --help)\n", command);
        return LM_EXIT_USAGE;
    }
    o.have_seed = lm_opts_given(&scan, "seed");
    const char *path = scan.pos[0];
    int rc;
    lm_set_threads((int)o.threads);
    LmTrained run;
    if (lm_trained_load(path, &run) != 0) {
        fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
        return 1;
    }
    lm_err_set("%s", "");
    switch (sub) {
    case SUB_STATES: rc = run_states(&run, &o); break;
    case SUB_SUMMARY: {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s", o.out ? o.out : run.dir);
        rc = summary_of(&run, &o, dir, dir, stdout);
        break;
    }
    case SUB_FIXEDPOINTS: rc = run_fixedpoints(&run, &o); break;
    case SUB_VARIANCE: rc = run_variance(&run, &o); break;
    case SUB_AUTAPSE: rc = run_autapse(&run, &o); break;
    default: rc = run_lesion(&run, &o); break;
    }
    if (rc) fprintf(stderr, "lmrnn: analyze %s: %s\n", argv[0], lm_err_msg());
    lm_trained_free(&run);
    return rc;
}
