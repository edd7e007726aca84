/* lmrnn plot DIR: figures of a run directory into DIR/plots/. */
#include <stdio.h>
#include <string.h>
#include "cli/args.h"
#include "cli/commands.h"
#include "model/model.h"
#include "report/figures.h"
#include "util/err.h"

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
    "  --threads N        threads (default 1)\n";

int lm_cmd_plot(int argc, char **argv) {
    LmPlotOptions o;
    lm_plot_options_default(&o);
    const char *dir = NULL, *v;
    long threads = 1, trials = 100;
    LmArgs a = lm_args(argc, argv, 0);
    while (lm_args_more(&a)) {
        const char *arg = lm_args_peek(&a);
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(plot_usage, stdout);
            return 0;
        } else if (lm_arg_value(&a, "--tasks", &v)) {
            o.tasks = v;
        } else if (lm_arg_value(&a, "--format", &v)) {
            o.formats = v;
        } else if (lm_arg_value(&a, "--eval-trials", &v)) {
            if (!a.failed && lm_parse_long("--eval-trials", v, 1, 1000000, &trials) != 0) goto fail;
        } else if (lm_arg_value(&a, "--threads", &v)) {
            if (!a.failed && lm_parse_long("--threads", v, 1, 1024, &threads) != 0) goto fail;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "lmrnn plot: unknown option '%s' (see lmrnn plot --help)\n", arg);
            return 2;
        } else if (!dir) {
            dir = arg;
            a.i++;
        } else {
            fprintf(stderr, "lmrnn plot: unexpected argument '%s' (one DIR expected)\n", arg);
            return 2;
        }
    }
    if (a.failed) goto fail;
    if (!dir) {
        fputs(plot_usage, stderr);
        return 2;
    }
    o.eval_trials = (int)trials;
    lm_set_threads((int)threads);
    if (lm_plot_run(dir, &o) != 0) goto fail;
    return 0;
fail:
    fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
    return 1;
}
