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
#include "stream/export.h"
#include "tasks/battery.h"
#include "tasks/export.h"
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

    int rc = lm_task_figure(id, name, seed, (int)modality, fix, path);
    if (rc != 0) return fail();
    printf("wrote %s\n", path);
    return 0;
}

/* ---------------------------------------------------------------- dump */
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
    int rc = lm_task_dump(dir, &b, (int)K, seed, fix);
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
    size_t n_in = (size_t)lm_battery_n_in(&b);
    int cache_len = 0;
    int rc = lm_stream_write_windows(&b, (int)B, (int)T, (int)count, seed, fix, out, &cache_len);
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
