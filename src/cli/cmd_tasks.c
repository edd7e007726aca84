/* lmrnn tasks list|show|dump|batch: inspect and export the task batteries.
 *
 * Trials of `show` and `dump` are single trials (no stream): task k of a dump uses its own generator
 * lm_trial_rng(seed, catalogue id) (tasks/tasks.h) for both the task RNG and the int-delay ("global")
 * RNG, trial i gets modality i % 2 for go/match tasks (like the stream's alternation) and -1 for DM
 * tasks, and the per-instance match delays (Q6) are drawn exactly as a stream with the same seed draws
 * them. `show NAME --seed S` shows trial 0 of `dump` with the same seed (or trial 1 with --modality 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/args.h"
#include "cli/commands.h"
#include "io/npz.h"
#include "plot/plot.h"
#include "stream/stream.h"
#include "tasks/battery.h"
#include "tasks/tasks.h"
#include "util/err.h"

static const char tasks_usage[] =
    "usage: lmrnn tasks SUBCOMMAND [options]\n"
    "\n"
    "subcommands:\n"
    "  list [--battery B] [--fix F]     one line per task: index, name, family, modifiers, periods (steps)\n"
    "  list --fixes                     the quirk corrections accepted by --fix\n"
    "  show NAME [--seed S] [--modality M] [--fix F] [--out trial.png]\n"
    "                                   one trial as a figure (inputs heat map with periods, labels)\n"
    "  dump --battery B --trials K --seed S --out DIR [--fix F]\n"
    "                                   one DIR/<task>.npz per task: ob float32 [K,Tmax,33], gt int32\n"
    "                                   [K,Tmax], length, modality int32 [K], period_names, period_bounds\n"
    "                                   int32 [K,P,2] (zero-padded past length)\n"
    "  batch --battery B --batch N --window T --seed S --out f.npz [--fix F] [--count C]\n"
    "                                   C consecutive training-stream windows: inputs float32 [T,N,n_in],\n"
    "                                   labels int32 [T,N], decision uint8 [T,N] (a leading [C] axis if C > 1)\n"
    "\n"
    "Batteries: yang20, modcog82, modcog126, or task names separated by commas.\n"
    "--fix: all, none (default: faithful to the reference), or corrections by Q-id or name, e.g. Q1,Q9.\n";

static int fail(void) {
    fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
    return 1;
}

static int usage_error(const char *sub, const char *msg, const char *arg) {
    fprintf(stderr, "lmrnn tasks %s: %s%s%s (see lmrnn tasks --help)\n", sub, msg, arg ? " " : "",
            arg ? arg : "");
    return 2;
}

/* ---------------------------------------------------------------- list */
static int cmd_list(int argc, char **argv) {
    const char *battery = "modcog126", *v;
    unsigned fix = 0;
    int fixes = 0;
    LmArgs a = lm_args(argc, argv, 0);
    while (lm_args_more(&a)) {
        const char *arg = lm_args_peek(&a);
        if (lm_arg_value(&a, "--battery", &v)) battery = v;
        else if (lm_arg_value(&a, "--fix", &v)) {
            if (!a.failed && lm_fix_parse(v, &fix) != 0) return fail();
        } else if (lm_arg_switch(&a, "--fixes")) fixes = 1;
        else return usage_error("list", "unexpected argument", arg);
    }
    if (a.failed) return fail();
    if (fixes) {
        printf("%-4s %-15s %s\n", "id", "name", "what the correction changes (default: faithful to the reference)");
        for (int i = 0; i < lm_fix_count; i++)
            printf("%-4s %-15s %s\n", lm_fix_table[i].q, lm_fix_table[i].name, lm_fix_table[i].what);
        printf("all  (every correction above)\n");
        return 0;
    }
    LmBattery b;
    if (lm_battery_parse(battery, &b) != 0) return fail();
    for (int k = 0; k < b.n; k++) {
        char mods[64], layout[160];
        lm_task_modifiers(b.id[k], mods, sizeof mods);
        lm_task_layout(b.id[k], fix, layout, sizeof layout);
        printf("%3d  %-17s %-5s  %-16s %s\n", k, b.name[k], lm_family_name(lm_task_def(b.id[k])->family),
               mods[0] ? mods : "-", layout);
    }
    if (!strcmp(battery, "modcog126")) {
        printf("aliases:");
        for (int i = 0; i < lm_task_alias_count(); i++) {
            int id;
            const char *al = lm_task_alias(i, &id);
            printf("%s %s=%s", i ? "," : "", al, lm_task_def(id)->name);
        }
        printf("\n");
    }
    return 0;
}

/* ---------------------------------------------------------------- show */
static int cmd_show(int argc, char **argv) {
    const char *name = NULL, *out = NULL, *v;
    uint64_t seed = 0;
    long modality = 0;
    int have_modality = 0;
    unsigned fix = 0;
    LmArgs a = lm_args(argc, argv, 0);
    while (lm_args_more(&a)) {
        const char *arg = lm_args_peek(&a);
        if (lm_arg_value(&a, "--seed", &v)) {
            if (!a.failed && lm_parse_u64("--seed", v, &seed) != 0) return fail();
        } else if (lm_arg_value(&a, "--modality", &v)) {
            if (!a.failed && lm_parse_long("--modality", v, 0, 1, &modality) != 0) return fail();
            have_modality = 1;
        } else if (lm_arg_value(&a, "--fix", &v)) {
            if (!a.failed && lm_fix_parse(v, &fix) != 0) return fail();
        } else if (lm_arg_value(&a, "--out", &v)) {
            out = v;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("show", "unknown option", arg);
        } else if (!name) {
            name = arg;
            a.i++;
        } else {
            return usage_error("show", "unexpected argument", arg);
        }
    }
    if (a.failed) return fail();
    if (!name) return usage_error("show", "missing task NAME", NULL);
    LmBattery b;
    if (lm_battery_parse(name, &b) != 0) return fail();
    if (b.n != 1) return usage_error("show", "expected one task name, got", name);
    const int id = b.id[0];
    const LmTaskDef *d = lm_task_def(id);
    if (have_modality && d->family == LM_FAM_DM)
        fprintf(stderr, "lmrnn tasks show: note: DM tasks use both rings; --modality ignored\n");
    char path[1024];
    if (out) snprintf(path, sizeof path, "%s", out);
    else snprintf(path, sizeof path, "%s.png", name);

    LmTaskEnv *env = lm_malloc(sizeof *env);
    lm_trial_env(env, seed, fix);
    LmRng rng = lm_trial_rng(seed, id);
    LmTrial *t = lm_malloc(sizeof *t);
    /* Trial 0 of a dump is modality 0; for modality 1 show trial 1 (the dump's first modality-1 trial). */
    int skip = d->family != LM_FAM_DM && modality == 1;
    for (int i = 0; i <= skip; i++) lm_trial_generate(env, id, lm_trial_modality(id, i), &rng, &rng, t);

    /* Heat map: rows = the 33 input columns, columns = time steps. */
    const int T = t->len;
    float *z = lm_malloc(sizeof(float) * LM_OBS * (size_t)T);
    for (int c = 0; c < LM_OBS; c++)
        for (int s = 0; s < T; s++) z[c * T + s] = t->ob[s * LM_OBS + c];
    double xs[LM_MAX_PERIODS + 1], lx[LM_TMAX], ly[LM_TMAX];
    const char *pl[LM_MAX_PERIODS + 1];
    int nv = 0;
    for (int p = 0; p < t->n_periods; p++) {
        if (t->periods[p].end == t->periods[p].start) continue; /* empty int delay */
        xs[nv] = t->periods[p].start;
        pl[nv++] = t->periods[p].name;
    }
    for (int s = 0; s < T; s++) {
        lx[s] = s + 0.5;
        ly[s] = t->gt[s];
    }
    char title[256], fixs[96], mods[64];
    lm_fix_describe(fix, fixs, sizeof fixs);
    lm_task_modifiers(id, mods, sizeof mods);
    char tgt[32];
    if (t->target >= 0) snprintf(tgt, sizeof tgt, "target %d", t->target);
    else snprintf(tgt, sizeof tgt, "no-go");
    char mod[32];
    if (t->modality >= 0) snprintf(mod, sizeof mod, "modality %d", t->modality);
    else snprintf(mod, sizeof mod, "both rings");
    char modp[80] = "";
    if (mods[0]) snprintf(modp, sizeof modp, " (%s)", mods);
    snprintf(title, sizeof title, "%s: %s family%s, %s, %s", name, lm_family_name(d->family), modp, mod, tgt);
    char sub[200];
    snprintf(sub, sizeof sub, "labels (0 = fixate, k+1 = respond at k); seed %llu, fix %s",
             (unsigned long long)seed, fixs);
    int rc = 0;
    LmFigure *f = lm_fig_new(path, 1100, 800, 1, 2);
    if (!f) rc = -1;
    if (rc == 0) {
        lm_fig_panel(f, 0, 0, T, 0, LM_OBS, title, NULL, "input: 0 fix, 1-16 ring1, 17-32 ring2");
        lm_fig_heatmap(f, z, LM_OBS, T, 0, 0, 1, 0);
        lm_fig_hline(f, 1, 15);
        lm_fig_hline(f, 17, 15);
        lm_fig_vlines(f, nv, xs, pl);
        lm_fig_panel(f, 1, 0, T, -0.5, 16.5, sub, "time step (100 ms)", "label");
        const double *ys[1] = {ly};
        lm_fig_lines(f, 1, T, lx, ys, NULL);
        lm_fig_points(f, T, lx, ly, 0);
        lm_fig_vlines(f, nv, xs, NULL);
        rc = lm_fig_close(f);
    }
    free(z);
    free(t);
    free(env);
    if (rc != 0) return fail();
    printf("wrote %s\n", path);
    return 0;
}

/* ---------------------------------------------------------------- dump */
static int dump_task(const char *dir, const char *name, int id, const LmTaskEnv *env, long K,
                     uint64_t seed, LmTrial *t) {
    LmRng rng = lm_trial_rng(seed, id);
    /* Generate twice: first pass sizes Tmax, second fills (cheaper than storing K trials). */
    LmRng first = rng;
    int tmax = 0, P = 0;
    for (long i = 0; i < K; i++) {
        lm_trial_generate(env, id, lm_trial_modality(id, (int)i), &first, &first, t);
        if (t->len > tmax) tmax = t->len;
        P = t->n_periods;
    }
    float *ob = lm_calloc((size_t)K * (size_t)tmax * LM_OBS, sizeof(float));
    int32_t *gt = lm_calloc((size_t)K * (size_t)tmax, sizeof(int32_t));
    int32_t *len = lm_calloc((size_t)K, sizeof(int32_t));
    int32_t *mod = lm_calloc((size_t)K, sizeof(int32_t));
    int32_t *bounds = lm_calloc((size_t)K * (size_t)P * 2, sizeof(int32_t));
    char names[128] = "";
    for (long i = 0; i < K; i++) {
        lm_trial_generate(env, id, lm_trial_modality(id, (int)i), &rng, &rng, t);
        memcpy(ob + (size_t)i * tmax * LM_OBS, t->ob, sizeof(float) * LM_OBS * (size_t)t->len);
        memcpy(gt + (size_t)i * tmax, t->gt, sizeof(int32_t) * (size_t)t->len);
        len[i] = t->len;
        mod[i] = t->modality;
        for (int p = 0; p < P; p++) {
            bounds[((size_t)i * P + p) * 2] = t->periods[p].start;
            bounds[((size_t)i * P + p) * 2 + 1] = t->periods[p].end;
        }
        if (i == 0)
            for (int p = 0, u = 0; p < P; p++)
                u += snprintf(names + u, sizeof names - (size_t)u, "%s%s", p ? ";" : "", t->periods[p].name);
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.npz", dir, name);
    int rc = 0;
    LmNpzWriter *w = lm_npz_create(path);
    if (!w) rc = -1;
    if (rc == 0) {
        int64_t s_ob[3] = {K, tmax, LM_OBS}, s_gt[2] = {K, tmax}, s_k[1] = {K}, s_b[3] = {K, P, 2};
        if (lm_npz_add(w, "ob", LM_DT_F32, 3, s_ob, ob) || lm_npz_add(w, "gt", LM_DT_I32, 2, s_gt, gt) ||
            lm_npz_add(w, "length", LM_DT_I32, 1, s_k, len) || lm_npz_add(w, "modality", LM_DT_I32, 1, s_k, mod) ||
            lm_npz_add_string(w, "period_names", names) ||
            lm_npz_add(w, "period_bounds", LM_DT_I32, 3, s_b, bounds)) {
            lm_npz_discard(w);
            rc = -1;
        } else {
            rc = lm_npz_close(w);
        }
    }
    free(ob);
    free(gt);
    free(len);
    free(mod);
    free(bounds);
    return rc;
}

static int cmd_dump(int argc, char **argv) {
    const char *battery = NULL, *dir = NULL, *v;
    long K = 0;
    uint64_t seed = 0;
    int have_seed = 0, have_k = 0;
    unsigned fix = 0;
    LmArgs a = lm_args(argc, argv, 0);
    while (lm_args_more(&a)) {
        const char *arg = lm_args_peek(&a);
        if (lm_arg_value(&a, "--battery", &v)) battery = v;
        else if (lm_arg_value(&a, "--trials", &v)) {
            if (!a.failed && lm_parse_long("--trials", v, 1, 10000000, &K) != 0) return fail();
            have_k = 1;
        } else if (lm_arg_value(&a, "--seed", &v)) {
            if (!a.failed && lm_parse_u64("--seed", v, &seed) != 0) return fail();
            have_seed = 1;
        } else if (lm_arg_value(&a, "--fix", &v)) {
            if (!a.failed && lm_fix_parse(v, &fix) != 0) return fail();
        } else if (lm_arg_value(&a, "--out", &v)) dir = v;
        else return usage_error("dump", "unexpected argument", arg);
    }
    if (a.failed) return fail();
    if (!battery) return usage_error("dump", "missing --battery", NULL);
    if (!have_k) return usage_error("dump", "missing --trials", NULL);
    if (!have_seed) return usage_error("dump", "missing --seed", NULL);
    if (!dir) return usage_error("dump", "missing --out DIR", NULL);
    LmBattery b;
    if (lm_battery_parse(battery, &b) != 0) return fail();
    if (lm_mkdir_p(dir) != 0) return fail();
    LmTaskEnv *env = lm_malloc(sizeof *env);
    lm_trial_env(env, seed, fix);
    LmTrial *t = lm_malloc(sizeof *t);
    int rc = 0;
    for (int k = 0; k < b.n && rc == 0; k++) rc = dump_task(dir, b.name[k], b.id[k], env, K, seed, t);
    free(t);
    free(env);
    if (rc != 0) return fail();
    printf("wrote %d files (%ld trials each) to %s\n", b.n, K, dir);
    return 0;
}

/* ---------------------------------------------------------------- batch */
static int cmd_batch(int argc, char **argv) {
    const char *battery = NULL, *out = NULL, *v;
    long B = 0, T = 0, count = 1;
    uint64_t seed = 0;
    int have_seed = 0;
    unsigned fix = 0;
    LmArgs a = lm_args(argc, argv, 0);
    while (lm_args_more(&a)) {
        const char *arg = lm_args_peek(&a);
        if (lm_arg_value(&a, "--battery", &v)) battery = v;
        else if (lm_arg_value(&a, "--batch", &v)) {
            if (!a.failed && lm_parse_long("--batch", v, 1, 65536, &B) != 0) return fail();
        } else if (lm_arg_value(&a, "--window", &v)) {
            if (!a.failed && lm_parse_long("--window", v, 1, 10000000, &T) != 0) return fail();
        } else if (lm_arg_value(&a, "--count", &v)) {
            if (!a.failed && lm_parse_long("--count", v, 1, 1000000, &count) != 0) return fail();
        } else if (lm_arg_value(&a, "--seed", &v)) {
            if (!a.failed && lm_parse_u64("--seed", v, &seed) != 0) return fail();
            have_seed = 1;
        } else if (lm_arg_value(&a, "--fix", &v)) {
            if (!a.failed && lm_fix_parse(v, &fix) != 0) return fail();
        } else if (lm_arg_value(&a, "--out", &v)) out = v;
        else return usage_error("batch", "unexpected argument", arg);
    }
    if (a.failed) return fail();
    if (!battery) return usage_error("batch", "missing --battery", NULL);
    if (!B) return usage_error("batch", "missing --batch", NULL);
    if (!T) return usage_error("batch", "missing --window", NULL);
    if (!have_seed) return usage_error("batch", "missing --seed", NULL);
    if (!out) return usage_error("batch", "missing --out FILE", NULL);
    LmBattery b;
    if (lm_battery_parse(battery, &b) != 0) return fail();
    size_t per = (size_t)T * (size_t)B, n_in = (size_t)lm_battery_n_in(&b);
    if ((double)count * (double)per * (double)n_in * 4 > 8e9) {
        lm_err_set("batch: %ld windows of %ld x %ld x %zu floats is too large", count, T, B, n_in);
        return fail();
    }
    LmStream *s = lm_stream_new(&b, (int)B, (int)T, seed, fix);
    if (!s) return fail();
    float *in = lm_malloc(sizeof(float) * per * n_in * (size_t)count);
    int32_t *lab = lm_malloc(sizeof(int32_t) * per * (size_t)count);
    uint8_t *dec = lm_malloc(per * (size_t)count);
    for (long c = 0; c < count; c++)
        lm_stream_next(s, in + (size_t)c * per * n_in, lab + (size_t)c * per, dec + (size_t)c * per);
    int rc = 0;
    LmNpzWriter *w = lm_npz_create(out);
    if (!w) rc = -1;
    if (rc == 0) {
        int lead = count > 1;
        int64_t si[4] = {count, T, B, (int64_t)n_in}, sl[3] = {count, T, B};
        if (lm_npz_add(w, "inputs", LM_DT_F32, 3 + lead, si + !lead, in) ||
            lm_npz_add(w, "labels", LM_DT_I32, 2 + lead, sl + !lead, lab) ||
            lm_npz_add(w, "decision", LM_DT_U8, 2 + lead, sl + !lead, dec)) {
            lm_npz_discard(w);
            rc = -1;
        } else {
            rc = lm_npz_close(w);
        }
    }
    int cache_len = lm_stream_cache_len(s);
    lm_stream_free(s);
    free(in);
    free(lab);
    free(dec);
    if (rc != 0) return fail();
    printf("wrote %s: %ld window(s) of inputs [%ld, %ld, %zu], labels [%ld, %ld] (cache_len %d)\n", out, count,
           T, B, n_in, T, B, cache_len);
    return 0;
}

int lm_cmd_tasks(int argc, char **argv) {
    if (argc < 1) {
        fputs(tasks_usage, stderr);
        return 2;
    }
    const char *sub = argv[0];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        fputs(tasks_usage, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(tasks_usage, stdout);
            return 0;
        }
    if (!strcmp(sub, "list")) return cmd_list(argc - 1, argv + 1);
    if (!strcmp(sub, "show")) return cmd_show(argc - 1, argv + 1);
    if (!strcmp(sub, "dump")) return cmd_dump(argc - 1, argv + 1);
    if (!strcmp(sub, "batch")) return cmd_batch(argc - 1, argv + 1);
    fprintf(stderr, "lmrnn tasks: unknown subcommand '%s' (expected list, show, dump or batch)\n", sub);
    return 2;
}
