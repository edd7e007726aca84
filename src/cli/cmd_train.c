/* lmrnn train: train an RNN into a run directory, or continue one (--resume). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "report/figures.h"
#include "train/memory.h"
#include "train/train.h"
#include "util/err.h"

static const char train_usage[] =
    "usage: lmrnn train --out DIR [--config FILE.json] [options]\n"
    "       lmrnn train --resume DIR [--steps N] [--threads N] [--time-limit S] ...\n"
    "\n"
    "Trains a masked RNN on a task battery (defaults: the paper's setup, an LM-RNN with N=256 on a 16x16\n"
    "sheet, local2d d=3, on the 82 Mod-Cog tasks) and writes DIR/config.json, log.jsonl, checkpoint.npz,\n"
    "eval.json, eval.csv and plots/ (docs/run-directory.md).\n"
    "\n"
    "  --config FILE    options from a JSON object ({\"battery\":\"yang20\",\"d\":3}); flags override it\n"
    "  --resume DIR     continue DIR from its checkpoint; --steps N then means N steps in total. Only\n"
    "                   options that do not change the weights may be given (steps, threads, eval-*,\n"
    "                   target-*, time-limit, checkpoint-every, log-every, no-plot, quiet). With the same\n"
    "                   --threads the final weights are bit-identical to an uninterrupted run.\n"
    "  --force          start over in a DIR that already holds a run (its files are replaced)\n"
    "  --dry-run        print the memory the run needs (and what is available) and exit; a run that\n"
    "                   does not fit is refused before its first step (docs/performance.md)\n"
    "\n"
    "Ctrl-C or SIGTERM: the current step finishes, a checkpoint is saved, exit status 0 (a second Ctrl-C\n"
    "kills at once). A non-finite loss stops with exit status 1 and keeps the last checkpoint.\n"
    "--train-pool K replays the stream's first K windows (no extra memory: the stream is rewound).\n"
    "--threads defaults to 1 so that runs are reproducible on any machine with the same count.\n"
    "\n"
    "options (default in the second column):\n";

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
    if (stop_signal) { /* second signal: the user insists */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
}

#define MAX_PAIRS 128

int lm_cmd_train(int argc, char **argv) {
    static char keys[MAX_PAIRS][64];
    const char *vals[MAX_PAIRS];
    int n = 0, force = 0, dry_run = 0;
    const char *config_file = NULL, *resume = NULL;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(train_usage, stdout);
            lm_train_config_print_help(stdout);
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "lmrnn: train: unexpected argument '%s' (options start with --; see --help)\n", arg);
            return 2;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, arg, len);
        name[len] = '\0';
        if (!strcmp(name, "--force")) {
            force = 1;
            continue;
        }
        if (!strcmp(name, "--dry-run")) {
            dry_run = 1;
            continue;
        }
        int takes_value = strcmp(name, "--config") == 0 || strcmp(name, "--resume") == 0 ||
                          (lm_train_config_has(name) && !lm_train_config_is_switch(name));
        if (!takes_value && !lm_train_config_has(name)) {
            fprintf(stderr, "lmrnn: train: unknown option '%s' (see lmrnn train --help)\n", name);
            return 2;
        }
        const char *value;
        if (eq) value = eq + 1;
        else if (!takes_value) value = "true";
        else if (i + 1 < argc) value = argv[++i];
        else {
            fprintf(stderr, "lmrnn: train: %s needs a value\n", name);
            return 2;
        }
        if (!strcmp(name, "--config")) config_file = value;
        else if (!strcmp(name, "--resume")) resume = value;
        else if (n < MAX_PAIRS) {
            memcpy(keys[n], name, sizeof name);
            vals[n++] = value;
        } else {
            fprintf(stderr, "lmrnn: train: too many options\n");
            return 2;
        }
    }

    LmTrainConfig cfg;
    if (resume) {
        if (config_file) {
            fprintf(stderr, "lmrnn: train: --config cannot be combined with --resume (the run has its config)\n");
            return 2;
        }
        if (lm_train_config_for_resume(resume, &cfg) != 0) goto fail;
        int stored_threads = cfg.threads;
        for (int k = 0; k < n; k++) {
            if (!lm_train_config_is_schedule(keys[k]) || !strcmp(keys[k], "--out")) {
                fprintf(stderr,
                        "lmrnn: train: %s cannot be changed when resuming (it would change the training); "
                        "start a new run instead\n", keys[k]);
                return 2;
            }
            if (lm_train_config_set(&cfg, keys[k], vals[k]) != 0) {
                fprintf(stderr, "lmrnn: train: %s\n", lm_err_msg());
                return 2;
            }
        }
        if (cfg.threads != stored_threads)
            fprintf(stderr, "lmrnn: note: resuming with --threads %d (the run used %d): the result will not be "
                            "bit-identical to an uninterrupted run\n", cfg.threads, stored_threads);
    } else {
        lm_train_config_default(&cfg);
        if (config_file && lm_train_config_load_file(&cfg, config_file) != 0) {
            fprintf(stderr, "lmrnn: train: %s\n", lm_err_msg());
            return 2;
        }
        for (int k = 0; k < n; k++)
            if (lm_train_config_set(&cfg, keys[k], vals[k]) != 0) {
                fprintf(stderr, "lmrnn: train: %s\n", lm_err_msg());
                return 2;
            }
    }
    if (lm_train_config_validate(&cfg) != 0) {
        fprintf(stderr, "lmrnn: train: %s\n", lm_err_msg());
        return 2;
    }
    if (dry_run) {
        LmMemoryEstimate est;
        if (lm_memory_estimate(&cfg, resume != NULL, &est) != 0) goto fail;
        lm_memory_print(stdout, &cfg, &est);
        return 0;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    LmRunOptions o;
    memset(&o, 0, sizeof o);
    o.resume = resume != NULL;
    o.force = force;
    o.stop = &stop_signal;
    o.progress = stderr;
    o.report = stdout;
    LmRunResult res;
    int rc = lm_train_run(&cfg, &o, &res);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc != 0) goto fail;
    if (res.reason == LM_STOP_SIGNAL || cfg.no_plot) return 0;
    LmPlotOptions po;
    lm_plot_options_default(&po);
    po.quiet = cfg.quiet;
    fflush(stdout);
    if (lm_plot_run(cfg.out, &po) != 0)
        fprintf(stderr, "lmrnn: warning: training finished but the plots failed: %s\n", lm_err_msg());
    return 0;
fail:
    fprintf(stderr, "lmrnn: %s\n", lm_err_msg());
    return 1;
}
