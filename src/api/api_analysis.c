/* The public C API: the analyses of `lmrnn analyze` (analysis/analyze.h) on a model handle, returning
 * their arrays (the keys of the .npz files the command writes) as a result handle. Options go through
 * the command's own table, so names, ranges and defaults are the command's. */
#include <stdlib.h>
#include <string.h>
#include "analysis/analyze.h"
#include "api/api_internal.h"
#include "io/arrays.h"
#include "util/err.h"

struct lmrnn_result {
    LmArrays *arrays;
};

/* ---------------------------------------------------------------- results */
int lmrnn_result_count(const lmrnn_result *r) { return r ? lm_arrays_count(r->arrays) : 0; }

static int describe(const LmArray *a, lmrnn_array *out) {
    static const int dtype_of[] = {[LM_DT_F32] = LMRNN_FLOAT32, [LM_DT_F64] = LMRNN_FLOAT64, [LM_DT_I32] = LMRNN_INT32,
                                   [LM_DT_I64] = LMRNN_INT64,   [LM_DT_U8] = LMRNN_UINT8,    [LM_DT_STR] = LMRNN_TEXT};
    memset(out, 0, sizeof *out);
    out->name = a->name;
    out->dtype = dtype_of[a->dtype];
    out->ndim = a->ndim;
    for (int d = 0; d < a->ndim; d++) out->shape[d] = a->shape[d];
    out->count = a->count;
    out->data = a->data;
    return lm_api_ok();
}

int lmrnn_result_get(const lmrnn_result *r, int i, lmrnn_array *out) {
    if (!r || !out) return lm_api_arg("result: NULL argument");
    const LmArray *a = lm_arrays_at(r->arrays, i);
    if (!a) return lm_api_arg("result: index %d outside 0..%d", i, lm_arrays_count(r->arrays) - 1);
    return describe(a, out);
}

int lmrnn_result_find(const lmrnn_result *r, const char *name, lmrnn_array *out) {
    if (!r || !name || !out) return lm_api_arg("result: NULL argument");
    const LmArray *a = lm_arrays_find(r->arrays, name);
    if (!a) return lm_api_arg("result: no array '%s'", name);
    return describe(a, out);
}

void lmrnn_result_free(lmrnn_result *r) {
    if (!r) return;
    lm_arrays_free(r->arrays);
    free(r);
}

static int give(LmArrays *a, lmrnn_result **out) {
    lmrnn_result *r = lm_malloc(sizeof *r);
    r->arrays = a;
    *out = r;
    return lm_api_ok();
}

static int status_of(int an) { return an == LM_AN_OK ? LMRNN_OK : an == LM_AN_USAGE ? LMRNN_ERR_ARG : LMRNN_ERR_FAILED; }

/* ---------------------------------------------------------------- options */
/* Defaults, then keys[i] = values[i] through the table of subcommand `sub`; the command line's
 * file options are refused (results come back as arrays). */
static int analysis_options(int sub, const char *const *keys, const char *const *values, int n, LmAnalyzeOptions *o) {
    static const char *const cli_only[] = {"out", "no_plot", "units", "clusters"};
    LmOption buf[LM_AN_MAX_OPTS];
    char command[64];
    LmOptTable t = lm_analyze_table(sub, buf, command, sizeof command);
    lm_analyze_defaults(o);
    if (n < 0) return lm_api_arg("%s: negative option count %d", command, n);
    if (n > 0 && (!keys || !values)) return lm_api_arg("%s: keys and values must not be NULL", command);
    for (int i = 0; i < n; i++) {
        if (!keys[i] || !values[i]) return lm_api_arg("%s: option %d: NULL key or value", command, i);
        const LmOption *opt = lm_opts_find(&t, keys[i]);
        for (size_t c = 0; opt && c < sizeof cli_only / sizeof cli_only[0]; c++)
            if (!strcmp(opt->name, cli_only[c]))
                return lm_api_arg("%s: option '%s' is the command line's (the API returns the arrays)", command, keys[i]);
        if (!opt) return lm_api_arg("%s: unknown option '%s' (see lmrnn %s --help)", command, keys[i], command);
        if (lm_opts_set_opt(opt, o, values[i]) != 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", lm_err_msg());
            return lm_api_arg("%s: %s", command, msg);
        }
        if (!strcmp(opt->name, "seed")) o->have_seed = 1;
    }
    return LMRNN_OK;
}

static LmNet net_of(lmrnn_model *m) {
    LmNet net = {m->run.model, m->run.battery, m->run.env, m->run.eval_seed};
    return net;
}

/* ---------------------------------------------------------------- the analyses */
static int states(const LmNet *net, const LmAnalyzeOptions *o, LmArrays **out) {
    int pos[LM_MAX_BATTERY], n;
    if (lm_tasks_positions(net->battery, o->tasks, pos, &n) != 0) return LM_AN_USAGE;
    LmNet with_seed = *net;
    with_seed.seed = lm_analyze_seed(net, o);
    LmStates s;
    if (lm_states_collect(&with_seed, pos, n, o->trials > 0 ? o->trials : 16, &s) != 0) return LM_AN_FAILED;
    *out = lm_states_arrays(&s, net->battery);
    lm_states_free(&s);
    return LM_AN_OK;
}

static int fixed_points(const LmNet *net, const LmAnalyzeOptions *o, LmArrays **out) {
    LmFpAnalysis fa;
    int rc = lm_analyze_fixedpoints(net, o, &fa);
    if (rc != LM_AN_OK) return rc;
    LmArrays *a = lm_arrays_new();
    cJSON *doc = lm_fp_analysis_report(&fa, net, a, NULL, NULL);
    lm_arrays_add_int(a, "input_trial", fa.trial);
    lm_fp_analysis_free(&fa);
    if (!doc) {
        lm_arrays_free(a);
        return LM_AN_FAILED;
    }
    cJSON_Delete(doc);
    *out = a;
    return LM_AN_OK;
}

static int variance(const LmNet *net, const LmAnalyzeOptions *o, LmArrays **out) {
    LmVarAnalysis va;
    int rc = lm_analyze_variance(net, o, &va);
    if (rc == LM_AN_OK) *out = lm_variance_arrays(&va.v, va.names, (const int32_t(*)[2])va.pairs, va.n_pairs);
    lm_var_analysis_free(&va);
    return rc;
}

static void add_vec(LmArrays *a, const char *name, const double *v, int n) {
    lm_arrays_add(a, name, LM_DT_F64, 1, (int64_t[]){n}, v);
}

static LmArrays *summary_arrays(const LmSummary *s) {
    LmArrays *a = lm_arrays_new();
    lm_arrays_add_double(a, "participation_ratio", s->pr);
    add_vec(a, "dormant_ratio", s->dormant, 2);
    lm_arrays_add_double(a, "effective_rank", s->erank);
    lm_arrays_add_double(a, "stable_rank", s->srank);
    lm_arrays_add_double(a, "spectral_norm", s->sv[0]);
    add_vec(a, "weight_change", s->change, 3);
    lm_arrays_add_string(a, "initial_weights", s->init_source ? s->init_source : "");
    add_vec(a, "covariance_eigenvalues", s->cov_eig, s->N);
    add_vec(a, "singular_values", s->sv, s->N);
    add_vec(a, "unit_activity", s->activity, s->N);
    double bins[LM_SUMMARY_MAX_BINS];
    for (int b = 0; b < s->n_bins; b++) bins[b] = b;
    add_vec(a, "distance", bins, s->n_bins);
    add_vec(a, "connections", s->bin_count, s->n_bins);
    add_vec(a, "mean_abs_w", s->bin_abs, s->n_bins);
    add_vec(a, "mean_w", s->bin_mean, s->n_bins);
    add_vec(a, "fraction_positive", s->bin_pos, s->n_bins);
    add_vec(a, "abs_mass_within", s->mass_within, s->n_bins);
    lm_arrays_add_string(a, "geometry", s->geometry);
    int64_t samples = s->n_samples;
    lm_arrays_add(a, "samples", LM_DT_I64, 0, NULL, &samples);
    return a;
}

static int summary(lmrnn_model *m, const LmNet *net, const LmAnalyzeOptions *o, LmArrays **out) {
    LmTrainedInit init;
    const char *source = lm_trained_initial_weights_csr(&m->run, &init, NULL, 0);
    LmSheet g = lm_trained_sheet(&m->run);
    LmInitWeights iw = lm_trained_init_view(&init);
    LmSummary sm;
    int rc = lm_analyze_summary_at(net, o, source ? &iw : NULL, &g, &sm, NULL, NULL);
    sm.init_source = source;
    if (rc == LM_AN_OK) *out = summary_arrays(&sm);
    lm_summary_free(&sm);
    lm_trained_init_free(&init);
    return rc;
}

int lmrnn_analyze(lmrnn_model *m, const char *analysis, const char *const *keys, const char *const *values, int n,
                  lmrnn_result **out) {
    if (!out) return lm_api_arg("analyze: NULL output handle");
    *out = NULL;
    if (!m || !analysis) return lm_api_arg("analyze: NULL model or analysis");
    const int sub = lm_analysis_bit(analysis);
    if (sub != LM_AN_STATES && sub != LM_AN_SUMMARY && sub != LM_AN_FIXEDPOINTS && sub != LM_AN_VARIANCE)
        return lm_api_arg("analyze: unknown analysis '%s' (states, summary, fixedpoints or variance; lesions: "
                          "lmrnn_analyze_lesion)", analysis);
    LmAnalyzeOptions o;
    int rc = analysis_options(sub, keys, values, n, &o);
    if (rc != LMRNN_OK) return rc;
    LmNet net = net_of(m);
    LmArrays *a = NULL;
    switch (sub) {
    case LM_AN_STATES: rc = states(&net, &o, &a); break;
    case LM_AN_SUMMARY: rc = summary(m, &net, &o, &a); break;
    case LM_AN_FIXEDPOINTS: rc = fixed_points(&net, &o, &a); break;
    default: rc = variance(&net, &o, &a); break;
    }
    if (rc != LM_AN_OK) return status_of(rc);
    return give(a, out);
}

/* ---------------------------------------------------------------- lesions */
/* units[0..n) distinct and in [0, N) (group, when given, in [0, n_groups)), copied into int arrays. */
static int lesion_units(const lmrnn_model *m, const int32_t *units, const int32_t *group, size_t n, int n_groups,
                        int **u_out, int **g_out) {
    const int N = lm_model_config(m->run.model)->n_hidden;
    if (n > 0 && !units) return lm_api_arg("lesion: NULL unit list");
    if (n > (size_t)N) return lm_api_arg("lesion: %zu units, the network has %d", n, N);
    uint8_t *seen = lm_calloc((size_t)N, 1);
    int *u = lm_malloc((n ? n : 1) * sizeof(int)), *g = lm_malloc((n ? n : 1) * sizeof(int));
    int rc = LMRNN_OK;
    for (size_t k = 0; k < n && rc == LMRNN_OK; k++) {
        if (units[k] < 0 || units[k] >= N) rc = lm_api_arg("lesion: unit %d outside 0..%d", units[k], N - 1);
        else if (seen[units[k]]) rc = lm_api_arg("lesion: unit %d given twice", units[k]);
        else if (group && (group[k] < 0 || group[k] >= n_groups))
            rc = lm_api_arg("lesion: group %d of unit %d outside 0..%d", group[k], units[k], n_groups - 1);
        else seen[units[k]] = 1, u[k] = units[k], g[k] = group ? group[k] : 0;
    }
    free(seen);
    if (rc != LMRNN_OK) {
        free(u), free(g);
        return rc;
    }
    *u_out = u, *g_out = g;
    return LMRNN_OK;
}

int lmrnn_model_lesion(lmrnn_model *m, const int32_t *units, size_t n_units) {
    if (!m) return lm_api_arg("lesion: NULL model");
    int *u, *g;
    int rc = lesion_units(m, units, NULL, n_units, 1, &u, &g);
    if (rc != LMRNN_OK) return rc;
    lm_lesion_apply(m->run.model, u, (int)n_units);
    free(u), free(g);
    return lm_api_ok();
}

int lmrnn_analyze_lesion(lmrnn_model *m, const int32_t *units, const int32_t *group, size_t n_units, int n_groups,
                         const char *const *keys, const char *const *values, int n, lmrnn_result **out) {
    if (!out) return lm_api_arg("lesion: NULL output handle");
    *out = NULL;
    if (!m) return lm_api_arg("lesion: NULL model");
    if (!group) n_groups = 1;
    if (n_groups < 1 || n_groups > 4096) return lm_api_arg("lesion: n_groups must be 1..4096 (got %d)", n_groups);
    LmAnalyzeOptions o;
    int rc = analysis_options(LM_AN_LESION, keys, values, n, &o);
    if (rc != LMRNN_OK) return rc;
    int *u, *g;
    if ((rc = lesion_units(m, units, group, n_units, n_groups, &u, &g)) != LMRNN_OK) return rc;
    LmNet net = net_of(m);
    net.seed = lm_analyze_seed(&net, &o);
    const int R = net.battery->n, trials = o.trials > 0 ? o.trials : 64;
    double *delta = lm_calloc((size_t)n_groups * R, sizeof(double)), *mean = lm_calloc((size_t)n_groups, sizeof(double));
    LmEvalResult *base = lm_malloc(sizeof *base);
    int an = lm_analyze_lesion(&net, u, g, (int)n_units, n_groups, trials, base, delta, mean);
    LmArrays *a = NULL;
    if (an == LM_AN_OK) {
        a = lm_arrays_new();
        double intact[LM_MAX_BATTERY];
        for (int r = 0; r < R; r++) intact[r] = lm_eval_task_perf(base, r, LM_METRIC_LAST_STEP);
        add_vec(a, "intact", intact, R);
        lm_arrays_add(a, "change", LM_DT_F64, 2, (int64_t[]){n_groups, R}, delta);
        add_vec(a, "mean_change", mean, n_groups);
        int32_t *count = lm_calloc((size_t)n_groups, sizeof(int32_t));
        for (size_t k = 0; k < n_units; k++) count[g[k]]++;
        lm_arrays_add(a, "group_units", LM_DT_I32, 1, (int64_t[]){n_groups}, count);
        free(count);
        char *names = lm_malloc((size_t)R * 33 + 1);
        names[0] = '\0';
        for (int r = 0; r < R; r++) strcat(strcat(names, r ? ";" : ""), net.battery->name[r]);
        lm_arrays_add_string(a, "task_names", names);
        free(names);
    }
    free(u), free(g), free(delta), free(mean), free(base);
    if (an != LM_AN_OK) return status_of(an);
    return give(a, out);
}
