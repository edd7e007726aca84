/* lmrnn plot DIR: figures of a run directory into DIR/plots/ (the work is lm_plot_run, report/figures.h;
 * this file parses the command line). */
#include <stdio.h>
#include <stdlib.h>
#include "cli/commands.h"
#include "model/model.h"
#include "report/figures.h"
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

int lm_cmd_plot(int argc, char **argv) {
    LmPlotOptions o;
    lm_plot_options_default(&o);
    LmOptScan *scan = lm_malloc(sizeof *scan);
    int rc = lm_opts_parse(lm_plot_options_table(), &o, argc, argv, 1, scan);
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
    lm_set_threads(o.threads);
    lm_opts_warn_threads("plot", o.threads);
    if (lm_plot_run(dir, &o) != 0) return lm_opts_fail("plot", LM_EXIT_FAILED);
    return LM_EXIT_OK;
}
