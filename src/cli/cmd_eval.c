/* lmrnn eval DIR|CKPT: per-task performance of a trained network on held-out trials (the work is
 * lm_eval_run, report/evaluate_run.h; this file parses the command line). */
#include <stdio.h>
#include <stdlib.h>
#include "cli/commands.h"
#include "model/model.h"
#include "report/evaluate_run.h"
#include "util/err.h"
#include "util/options.h"

static const char eval_usage[] =
    "usage: lmrnn eval DIR|CKPT [options]\n"
    "\n"
    "Evaluates a trained network (DIR/checkpoint.npz, or a checkpoint file) on held-out single trials,\n"
    "run from h = 0 and scored from the argmax over the 17 outputs; prints a per-task table with a 95%\n"
    "Wilson confidence interval and the means over the battery and the groups base/int/seq/intseq, and\n"
    "writes eval.json and eval.csv.\n"
    "\n"
    "options:\n"
    "  --battery B    tasks to evaluate (default: the training battery); a battery name or a comma-\n"
    "                 separated list, all of which must be in the training battery (each task keeps\n"
    "                 its training rule input)\n"
    "  --trials K     trials per task (default 200: a 95% CI half-width of at most 0.07)\n"
    "  --metric M     last_step (default), first_response, first_response_nogo, strict_trial,\n"
    "                 tolerant_last_step (docs/model.md §5; every metric is also stored in eval.json)\n"
    "  --seed S       trial seed (default: the run's held-out evaluation seed, the one used during\n"
    "                 training, derived from the run seed)\n"
    "  --noise        draw recurrent noise (sigma_rec of the run) during evaluation\n"
    "  --threads N    threads (default 1); results do not depend on it\n"
    "  --out DIR      where to write eval.json/eval.csv (default: the checkpoint's directory)\n"
    "  --overwrite    replace the run's own eval.json even when evaluating a task subset or another\n"
    "                 metric (without it such an evaluation is printed, not written, unless --out)\n"
    "\n"
    "Exit status 0, 1 for a bad run directory or checkpoint, 2 for bad options.\n";

int lm_cmd_eval(int argc, char **argv) {
    LmEvalOptions eo;
    lm_eval_options_default(&eo);
    LmOptScan *scan = lm_malloc(sizeof *scan);
    int rc = lm_opts_parse(lm_eval_options_table(), &eo, argc, argv, 1, scan);
    const char *path = scan->n_pos ? scan->pos[0] : NULL;
    int help = scan->help;
    eo.have_seed = lm_opts_given(scan, "seed");
    free(scan);
    if (rc != 0) return lm_opts_fail("eval", LM_EXIT_USAGE);
    if (help) {
        fputs(eval_usage, stdout);
        return LM_EXIT_OK;
    }
    if (!path) {
        fputs(eval_usage, stderr);
        return LM_EXIT_USAGE;
    }
    lm_set_threads(eo.threads);
    lm_opts_warn_threads("eval", eo.threads);
    rc = lm_eval_run(path, &eo, stdout);
    if (rc != 0) return lm_opts_fail("eval", rc == -2 ? LM_EXIT_USAGE : LM_EXIT_FAILED);
    return LM_EXIT_OK;
}
