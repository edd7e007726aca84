/* lmrnn tasks list|show|dump|batch: inspect and export the task batteries.
 *
 * Trials of `show` and `dump` are single trials (no stream): task k of a dump uses its own generator
 * lm_trial_rng(seed, catalogue id) (tasks/tasks.h) for both the task RNG and the int-delay ("global")
 * RNG, trial i gets modality i % 2 for go/match tasks (like the stream's alternation) and -1 for DM
 * tasks, and the per-instance match delays (Q6) are drawn exactly as a stream with the same seed draws
 * them. `show NAME --seed S` shows trial 0 of `dump` with the same seed (or trial 1 with --modality 1). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "io/npz.h"
#include "plot/plot.h"
#include "stream/stream.h"
#include "tasks/battery.h"
#include "tasks/tasks.h"
#include "util/err.h"
#include "util/options.h"

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
    fprintf(stderr, "lmrnn: tasks %s: %s%s%s (see lmrnn tasks --help)\n", sub, msg, arg ? " " : "",
            arg ? arg : "");
    return LM_EXIT_USAGE;
}

/* ---------------------------------------------------------------- options of every subcommand */
typedef struct {
    char battery[256];
    const char *out;
    unsigned fix;
    int fixes, modality, trials, batch, window, count;
    uint64_t seed;
} TasksOptions;

static int set_battery(void *obj, const char *v) {
    TasksOptions *o = obj;
    LmBattery b;
    if (strlen(v) >= sizeof o->battery) {
        lm_err_set("value is too long");
        return -1;
    }
    if (lm_battery_parse(v, &b) != 0) return -1;
    strcpy(o->battery, v);
    return 0;
}
static void fmt_battery(const void *obj, char *buf, size_t n) { snprintf(buf, n, "%s", ((const TasksOptions *)obj)->battery); }
static int set_fix(void *obj, const char *v) { return lm_fix_parse(v, &((TasksOptions *)obj)->fix); }
static void fmt_fix(const void *obj, char *buf, size_t n) {
    lm_fix_describe(((const TasksOptions *)obj)->fix, buf, (int)n);
}

#define OPT(name, type, field, lo, hi, def, help) \
    {name, type, offsetof(TasksOptions, field), 0, lo, hi, 0, def, help, NULL, NULL, NULL, NULL, 0}
#define BATTERY(def) {"battery", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, def, "task battery", NULL, NULL, set_battery, fmt_battery, 0}
#define FIX {"fix", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, "none", "task corrections", NULL, NULL, set_fix, fmt_fix, 0}
#define SEED OPT("seed", LM_OPT_UINT64, seed, 0, 0, "0", "seed")
#define OUT(help) OPT("out", LM_OPT_STRING, out, 0, 0, NULL, help)
static const LmOption list_opts[] = {
    BATTERY("modcog126"), FIX, OPT("fixes", LM_OPT_BOOL, fixes, 0, 0, "false", "list the corrections"),
};
static const LmOption show_opts[] = {
    SEED, OPT("modality", LM_OPT_INT, modality, 0, 1, "0", "modality of a go/match trial"), FIX, OUT("figure file"),
};
static const LmOption dump_opts[] = {
    BATTERY(NULL), OPT("trials", LM_OPT_INT, trials, 1, 10000000, NULL, "trials per task"), SEED, FIX,
    OUT("directory"),
};
static const LmOption batch_opts[] = {
    BATTERY(NULL), OPT("batch", LM_OPT_INT, batch, 1, 65536, NULL, "rows"),
    OPT("window", LM_OPT_INT, window, 1, 10000000, NULL, "steps per window"),
    OPT("count", LM_OPT_INT, count, 1, 1000000, "1", "windows"), SEED, FIX, OUT("npz file"),
};
static const LmOptTable list_table = {"tasks list", list_opts, LM_OPTS_COUNT(list_opts)};
static const LmOptTable show_table = {"tasks show", show_opts, LM_OPTS_COUNT(show_opts)};
static const LmOptTable dump_table = {"tasks dump", dump_opts, LM_OPTS_COUNT(dump_opts)};
static const LmOptTable batch_table = {"tasks batch", batch_opts, LM_OPTS_COUNT(batch_opts)};

/* Parse a subcommand's options; 0, or the exit status after printing the message. */
static int parse(const LmOptTable *t, int argc, char **argv, int max_pos, TasksOptions *o, LmOptScan *s) {
    memset(o, 0, sizeof *o);
    if (lm_opts_parse(t, o, argc, argv, max_pos, s) != 0) return lm_opts_fail(t->command, LM_EXIT_USAGE);
    return 0;
}

/* A required option that was not given. */
static int missing(const LmOptTable *t, const LmOptScan *s, const char *const *names) {
    for (int i = 0; names[i]; i++)
        if (!lm_opts_given(s, names[i])) {
            lm_err_set("missing --%s", names[i]);
            return lm_opts_fail(t->command, LM_EXIT_USAGE);
        }
    return 0;
}

/* ---------------------------------------------------------------- list */
static int cmd_list(int argc, char **argv) {
    TasksOptions o;
    LmOptScan s;
    int st = parse(&list_table, argc, argv, 0, &o, &s);
    if (st) return st;
    const char *battery = o.battery;
    unsigned fix = o.fix;
    int fixes = o.fixes;
    if (fixes) {
        printf("%-4s %-15s %s\n", "id", "name", "what the correction changes (default: faithful to the reference)");
        for (int i = 0; i < lm_fix_count; i++)
            printf("%-4s %-15s %s\n", lm_fix_table[i].q, lm_fix_table[i].name, lm_fix_table[i].what);
        printf("all  (every correction above)\n");
        return 0;
    }
    LmBattery b;
    if (lm_battery_parse(battery, &b) != 0) return fail();
    char fixs[96];
    lm_fix_describe(fix, fixs, sizeof fixs);
    printf("# battery %s: %d tasks, fix %s\n", battery, b.n, fixs);
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
    TasksOptions o;
    LmOptScan s;
    int st = parse(&show_table, argc, argv, 1, &o, &s);
    if (st) return st;
    const char *name = s.n_pos ? s.pos[0] : NULL, *out = o.out;
    uint64_t seed = o.seed;
    long modality = o.modality;
    int have_modality = lm_opts_given(&s, "modality");
    unsigned fix = o.fix;
    if (!name) return usage_error("show", "missing task NAME", NULL);
    LmBattery b;
    if (lm_battery_parse(name, &b) != 0) return lm_opts_fail("tasks show", LM_EXIT_USAGE);
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
    char path[1200], file[80];
    snprintf(file, sizeof file, "%s.npz", name);
    int rc = 0;
    LmNpzWriter *w = lm_path_join(path, sizeof path, dir, file) == 0 ? lm_npz_create(path) : NULL;
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
    static const char *const required[] = {"battery", "trials", "seed", "out", NULL};
    TasksOptions o;
    LmOptScan s;
    int st = parse(&dump_table, argc, argv, 0, &o, &s);
    if (!st) st = missing(&dump_table, &s, required);
    if (st) return st;
    const char *battery = o.battery, *dir = o.out;
    long K = o.trials;
    uint64_t seed = o.seed;
    unsigned fix = o.fix;
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
    static const char *const required[] = {"battery", "batch", "window", "seed", "out", NULL};
    TasksOptions o;
    LmOptScan sc;
    int st = parse(&batch_table, argc, argv, 0, &o, &sc);
    if (!st) st = missing(&batch_table, &sc, required);
    if (st) return st;
    const char *battery = o.battery, *out = o.out;
    long B = o.batch, T = o.window, count = o.count;
    uint64_t seed = o.seed;
    unsigned fix = o.fix;
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
    fprintf(stderr, "lmrnn: tasks: unknown subcommand '%s' (expected list, show, dump or batch)\n", sub);
    return 2;
}
