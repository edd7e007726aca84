/* lmrnn plot DIR: figures of a run directory into DIR/plots/. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "model/model.h"
#include "report/figures.h"
#include "tasks/battery.h"
#include "util/err.h"
#include "util/options.h"

static const char plot_usage[] =
    "usage: lmrnn plot DIR [options]\n"
    "\n"
    "Draws the figures of a run directory (or of a bare checkpoint's directory) into DIR/plots/:\n"
    "  loss        training loss vs optimiser step (log10), from log.jsonl\n"
    "  perf        held-out mean performance vs step, per task group, with 0.5/0.8/0.9 lines\n"
    "  tasks       per-task performance bars with 95% CIs, grouped by family and modifier, coloured\n"
    "              by group (from eval.json; evaluated on 100 trials per task if it is missing)\n"
    "  mask        the connectivity mask (and, for local2d, one unit's neighbourhood on the sheet)\n"
    "  weights     the learned W_rec (and, for local2d, incoming weights on the sheet, |w| vs distance)\n"
    "  trial_TASK  one held-out trial: inputs, softmax outputs, labels and argmax over time\n"
    "\n"
    "options:\n"
    "  --tasks a,b,c      tasks for trial_* figures (default: one go, one dm, one match task, plus an\n"
    "                     int and a seq task if the battery has them)\n"
    "  --format png,svg   output formats among png, svg, pdf (default png,svg)\n"
    "  --eval-trials K    trials per task when eval.json is missing (default 100)\n"
    "  --threads N        threads (default 1)\n"
    "\n"
    "Exit status 0, 1 for a run that cannot be read or drawn, 2 for bad options.\n";

typedef struct {
    const char *tasks, *formats;
    int eval_trials, threads;
} PlotCommand;

/* A comma list of png, svg and pdf (checked here so that a typo is a usage error). */
static int check_formats(const char *v) {
    if (!*v) {
        lm_err_set("no format given (png, svg, pdf)");
        return -1;
    }
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ",");
        if (!((n == 3 && (!strncmp(p, "png", 3) || !strncmp(p, "svg", 3) || !strncmp(p, "pdf", 3))))) {
            lm_err_set("unknown format '%.*s' (expected png, svg or pdf)", (int)n, p);
            return -1;
        }
        p += n + (p[n] == ',');
    }
    return 0;
}
static int set_formats(void *obj, const char *v) {
    if (check_formats(v) != 0) return -1;
    ((PlotCommand *)obj)->formats = v;
    return 0;
}
static void fmt_formats(const void *obj, char *buf, size_t n) {
    snprintf(buf, n, "%s", ((const PlotCommand *)obj)->formats);
}
static int set_tasks(void *obj, const char *v) {
    LmBattery b;
    if (lm_battery_parse(v, &b) != 0) return -1;
    ((PlotCommand *)obj)->tasks = v;
    return 0;
}
static void fmt_tasks(const void *obj, char *buf, size_t n) {
    const char *t = ((const PlotCommand *)obj)->tasks;
    snprintf(buf, n, "%s", t ? t : "");
}

#define OPT(name, type, field, lo, hi, def, help) \
    {name, type, offsetof(PlotCommand, field), 0, lo, hi, 0, def, help, NULL, NULL, NULL, NULL, 0}
static const LmOption plot_opts[] = {
    {"tasks", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, NULL, "tasks for trial_* figures", NULL, NULL, set_tasks, fmt_tasks, 0},
    {"format", LM_OPT_CUSTOM, 0, 0, 0, 0, 0, "png,svg", "output formats", NULL, NULL, set_formats, fmt_formats, 0},
    OPT("eval_trials", LM_OPT_INT, eval_trials, 1, 1000000, "100", "trials per task when eval.json is missing"),
    OPT("threads", LM_OPT_INT, threads, 1, 1024, "1", "threads"),
};
static const LmOptTable plot_table = {"plot", plot_opts, LM_OPTS_COUNT(plot_opts)};

int lm_cmd_plot(int argc, char **argv) {
    PlotCommand pc = {0};
    LmOptScan *scan = lm_malloc(sizeof *scan);
    int rc = lm_opts_parse(&plot_table, &pc, argc, argv, 1, scan);
    const char *dir = scan->n_pos ? scan->pos[0] : NULL;
    int help = scan->help;
    free(scan);
    if (rc != 0) return lm_opts_fail("plot", LM_EXIT_USAGE);
    if (help) {
        fputs(plot_usage, stdout);
        return LM_EXIT_OK;
    }
    if (!dir) {
        fputs(plot_usage, stderr);
        return LM_EXIT_USAGE;
    }
    LmPlotOptions o;
    lm_plot_options_default(&o);
    o.tasks = pc.tasks;
    o.formats = pc.formats;
    o.eval_trials = pc.eval_trials;
    lm_set_threads(pc.threads);
    if (lm_plot_run(dir, &o) != 0) return lm_opts_fail("plot", LM_EXIT_FAILED);
    return LM_EXIT_OK;
}
