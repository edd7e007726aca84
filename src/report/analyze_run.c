/* `lmrnn analyze SUB` as a library call (report/analyze_run.h): each analysis of analysis/analyze.h on a
 * loaded run, with its files (.npz, JSON, CSV) and figures, and a line on `report` per result. */
#include "report/analyze_run.h"
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "io/json.h"
#include "io/npz.h"
#include "util/err.h"
#include "util/rng.h"

#define Opts LmAnalyzeOptions

/* printf on report, when there is one. */
static void say(FILE *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *report, const char *fmt, ...) {
    if (!report) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(report, fmt, ap);
    va_end(ap);
}

/* A library status (LM_AN_*) as the exit status. */
static int exit_of(int rc) { return rc == LM_AN_OK ? 0 : rc == LM_AN_USAGE ? 2 : 1; }

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
static int run_states(LmTrained *run, const Opts *o, FILE *report) {
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
        say(report, "wrote %s: %d trials of %d tasks, %d steps, %d units (seed %llu)\n", o->out, s.K, s.n_tasks, s.T,
               s.N, (unsigned long long)net.seed);
    lm_states_free(&s);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- summary */
static int summary_of(LmTrained *run, const Opts *o, const char *dir, const char *fig_dir, FILE *report) {
    LmTrainedInit init;
    char note[1400];
    const char *source = lm_trained_initial_weights_csr(run, &init, note, sizeof note);
    if (note[0]) fprintf(stderr, "lmrnn: warning: %s\n", note);
    if (!source) fprintf(stderr, "lmrnn: warning: no initial weights (%s): weight change not reported\n", lm_err_msg());
    LmSheet g = lm_trained_sheet(run);
    LmNet net = net_of(run, o);
    LmInitWeights iw = lm_trained_init_view(&init);
    LmSummary sm;
    int trials, n_tasks;
    int rc = lm_analyze_summary_at(&net, o, source ? &iw : NULL, &g, &sm, &trials, &n_tasks);
    if (rc == LM_AN_USAGE) {
        lm_trained_init_free(&init);
        return 2;
    }
    sm.init_source = source;
    char path[1200];
    if (rc == 0 && lm_mkdir_p(dir) != 0) rc = -1;
    if (rc == 0) {
        cJSON *doc = lm_summary_json(&sm);
        cJSON_AddNumberToObject(doc, "step", (double)run->step);
        cJSON_AddNumberToObject(doc, "trials_per_task", trials);
        cJSON_AddNumberToObject(doc, "tasks", n_tasks);
        cJSON_AddNumberToObject(doc, "seed", (double)net.seed);
        snprintf(path, sizeof path, "%s/summary.json", dir);
        rc = write_json(path, doc);
        if (rc == 0 && report)
            fprintf(report, "summary: PR %.2f, dormant %.3f (tau 0) %.3f (tau 0.025), erank %.1f, stable rank %.2f, "
                            "|dW_rec|/|W_rec(0)| %.3f%s; wrote %s\n",
                    sm.pr, sm.dormant[0], sm.dormant[1], sm.erank, sm.srank, sm.change[0],
                    sm.n_skipped ? " (measures skipped above the dense size: see \"skipped\")" : "", path);
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
    lm_trained_init_free(&init);
    return rc ? 1 : 0;
}

int lm_analyze_train_summary(const char *run_dir, int figure, FILE *report) {
    LmTrained run;
    if (lm_trained_load(run_dir, &run) != 0) return -1;
    Opts o;
    lm_analyze_defaults(&o);
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

static int run_fixedpoints(LmTrained *run, const Opts *o, FILE *report) {
    if (!o->out || !o->task || !o->period) {
        lm_err_set("fixedpoints: --task, --period and --out FILE.npz are required");
        return 2;
    }
    LmNet net = net_of(run, o);
    LmFpAnalysis fa;
    int rc = lm_analyze_fixedpoints(&net, o, &fa);
    if (rc != LM_AN_OK) return exit_of(rc);
    const LmFixedPoints *fp = &fa.fp;
    char fig[1200], json[1200];
    sibling(o->out, ".png", fig, sizeof fig);
    sibling(o->out, ".json", json, sizeof json);
    cJSON *doc = lm_fp_analysis_report(&fa, &net, NULL, o->out, o->no_plot ? NULL : fig);
    if (!doc) rc = -1;
    else {
        say(report, "%s %s: %d inits -> %d points (%d stable, %d with q < tol_q), %d duplicates, %d outliers; Adam "
               "stopped by tol_q %d, tol_dq %d, max_iters %d; %d iterations in %.2f s; %d points polished in %.2f s; "
               "eigen %.2f s\n",
               run->battery->name[fa.pos], o->period, fp->n_inits, fp->K,
               (int)cJSON_GetObjectItem(doc, "stable")->valuedouble, fp->n_converged, fp->n_duplicates, fp->n_outliers,
               fp->n_stopped_q, fp->n_stopped_dq, fp->n_max_iters, fp->iterations, fp->seconds_opt, fp->n_refined,
               fp->seconds_refine, fp->seconds_eig);
        rc = write_json(json, doc);
        if (rc == 0) say(report, "wrote %s, %s%s%s\n", o->out, json, o->no_plot ? "" : ", ", o->no_plot ? "" : fig);
    }
    lm_fp_analysis_free(&fa);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- autapse */
static cJSON *num_array(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

static int run_autapse(LmTrained *run, const Opts *o, FILE *report) {
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
    int it = lm_fp_input_trial(&s, period, o->input_trial, run->battery->name[pos[0]], o->period);
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
    int *zeros = lm_calloc((size_t)N, sizeof(int));   /* every unit in group 0 */
    LmEvalResult *unused = lm_malloc(sizeof *unused);
    if (rc == 0 && nm) rc = lm_analyze_lesion(&net, mem, zeros, nm, 1, trials, unused, dm, &mm);
    if (rc == 0 && nc) rc = lm_analyze_lesion(&net, ctl, zeros, nc, 1, trials, unused, dc, &mc);
    free(zeros), free(unused);
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
        say(report, "%s %s: %d memory units (|w_eff - 1| <= %g), %d without a fixed point; lesion: memory units %+.3f, "
               "%d random units %+.3f mean performance; wrote %s/autapse.json\n",
               run->battery->name[pos[0]], o->period, au.n_memory, o->memory_tol, au.n_runaway, mm, nc, mc, o->out);
    cJSON_Delete(doc);
    lm_autapse_free(&au);
    free(mem), free(ctl), free(other), free(dm), free(dc), free(base);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- variance */
static int run_variance(LmTrained *run, const Opts *o, FILE *report) {
    if (!o->out) {
        lm_err_set("variance: --out DIR is required");
        return 2;
    }
    LmNet net = net_of(run, o);
    LmVarAnalysis va;
    int rc = lm_analyze_variance(&net, o, &va);
    if (rc == LM_AN_USAGE) return 2;
    const LmVariance v = va.v;
    const LmClusterMethod method = va.method;
    const int trials = va.trials, n_pairs = va.n_pairs;
    const char *const *names = va.names;
    const int32_t(*pairs)[2] = (const int32_t(*)[2])va.pairs;
    char path[1200];
    if (rc == 0 && (rc = lm_mkdir_p(o->out)) == 0) {
        snprintf(path, sizeof path, "%s/variance.npz", o->out);
        rc = lm_variance_write(&v, names, pairs, n_pairs, path);
    }
    if (rc == 0) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "trials",
                                "held-out evaluation trials (no stimulus grid): the variance at each step is over the "
                                "trials of the task past their initial fixation and still running at that step");
        cJSON_AddNumberToObject(doc, "trials_per_task", trials);
        cJSON_AddNumberToObject(doc, "seed", (double)net.seed);
        cJSON_AddStringToObject(doc, "period", va.period < 0 ? "all" : lm_period_names[va.period]);
        cJSON *lack = cJSON_AddArrayToObject(doc, "tasks_without_period");
        for (int r = 0; r < va.n_tasks; r++)
            if (!va.has_period[r]) cJSON_AddItemToArray(lack, cJSON_CreateString(names[r]));
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
        if (rc == 0 && !o->no_plot) rc = lm_variance_figures(&v, names, pairs, n_pairs, o->out);
        if (rc == 0)
            say(report, "%d active units of %d; %s: k = %d (silhouette %.3f); wrote %s/variance.{npz,json}%s\n", v.n_active,
                   va.N, method == LM_CLUSTER_WARD ? "ward" : "k-means++", v.k, v.silhouette[v.k - v.kmin], o->out,
                   o->no_plot ? "" : " and figures");
    }
    lm_var_analysis_free(&va);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- lesion */
static int run_lesion(LmTrained *run, const Opts *o, FILE *report) {
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
        rc = lm_parse_unit_list(o->units, N, units, &n_units) ? 2 : 0;
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
    LmNet net = net_of(run, o);
    const uint64_t seed = net.seed;
    double *delta = lm_calloc((size_t)(n_groups ? n_groups : 1) * R, sizeof(double));
    double *mean_change = lm_calloc((size_t)(n_groups ? n_groups : 1), sizeof(double));
    LmEvalResult *base = lm_malloc(sizeof *base);
    if (rc == 0 && lm_analyze_lesion(&net, units, group, n_units, n_groups, trials, base, delta, mean_change) != 0)
        rc = 1;
    cJSON *doc = cJSON_CreateObject(), *groups = cJSON_AddArrayToObject(doc, "groups");
    for (int g = 0; rc == 0 && g < n_groups; g++) {
        int ns = 0;
        for (int k = 0; k < n_units; k++) ns += group[k] == g;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", gname[g]);
        cJSON_AddNumberToObject(e, "units", ns);
        cJSON_AddNumberToObject(e, "mean_change", mean_change[g]);
        cJSON *d = cJSON_AddObjectToObject(e, "change");
        for (int r = 0; r < R; r++) cJSON_AddNumberToObject(d, run->battery->name[r], delta[(size_t)g * R + r]);
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
        say(report, "lesioned %d group(s) of %d units in all; mean change per group written to %s/lesion.{json,csv}\n",
               n_groups, n_units, o->out);
    cJSON_Delete(doc);
    free(units), free(group), free(gname), free(delta), free(mean_change), free(base);
    return rc;
}

/* ---------------------------------------------------------------- dispatch */
int lm_analyze_run(int sub, LmTrained *run, const LmAnalyzeOptions *o, FILE *report) {
    lm_err_set("%s", "");
    int rc;
    switch (sub) {
    case LM_AN_STATES: rc = run_states(run, o, report); break;
    case LM_AN_SUMMARY: {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s", o->out ? o->out : run->dir);
        rc = summary_of(run, o, dir, dir, report);
        break;
    }
    case LM_AN_FIXEDPOINTS: rc = run_fixedpoints(run, o, report); break;
    case LM_AN_VARIANCE: rc = run_variance(run, o, report); break;
    case LM_AN_AUTAPSE: rc = run_autapse(run, o, report); break;
    case LM_AN_LESION: rc = run_lesion(run, o, report); break;
    default: lm_err_set("unknown analysis %d", sub), rc = 2; break;
    }
    return rc == 0 ? LM_AN_OK : rc == 2 ? LM_AN_USAGE : LM_AN_FAILED;
}
