/* lmrnn train: train an RNN into a run directory, or continue one (--resume). */
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/run_summary.h"
#include "dist/dist.h"
#include "report/analyze_run.h"
#include "report/figures.h"
#include "train/memory.h"
#include "train/sheet.h"
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
    "                   target-*, time-limit, checkpoint-every, log-every, no-plot, no-summary, quiet).\n"
    "                   With the same --threads the final weights are bit-identical to an uninterrupted run.\n"
    "  --force          start over in a DIR that already holds a run (its files are replaced)\n"
    "  --dry-run        print the memory the run needs (and what is available) and exit; a run that\n"
    "                   does not fit is refused before its first step (docs/performance.md)\n"
    "\n"
    "Ctrl-C or SIGTERM: the current step finishes, a checkpoint is saved, exit status 0; if that takes more\n"
    "than a second (a large network), the work in progress is abandoned and the last checkpoint kept (a\n"
    "second Ctrl-C kills at once). A non-finite loss stops with exit status 1 and keeps the last checkpoint.\n"
    "--train-pool K replays the stream's first K windows (no extra memory: the stream is rewound).\n"
    "--threads defaults to 1 so that runs are reproducible on any machine with the same count.\n"
    "\n"
    "options (default in the second column):\n";

static volatile sig_atomic_t stop_signal;

/* A stop request takes effect within a second. The loop stops after the current step and saves a
 * checkpoint, which is quick for most networks; when a step, an evaluation or the checkpoint write of a
 * large one takes longer, the watchdog abandons that work and exits: the last checkpoint on disk is intact
 * (writes are atomic; a temp file left behind is removed when the directory is next opened), and resuming
 * from it gives the same result. */
#define STOP_GRACE_US 900000

static void on_watchdog(int sig) {
    (void)sig;
    static const char msg[] = "lmrnn: interrupted; the work in progress was abandoned and the last checkpoint "
                              "is kept (continue with lmrnn train --resume)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(LM_EXIT_OK);
}

static void on_signal(int sig) {
    if (stop_signal) { /* second signal: the user insists */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
    struct itimerval grace = {{0, 0}, {0, STOP_GRACE_US}};
    setitimer(ITIMER_REAL, &grace, NULL);
}

static void set_stop_handlers(int on) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_watchdog : SIG_DFL;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!on) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
    }
}

/* The options of the command itself; the training options are the run configuration's table. */
typedef struct {
    const char *config, *resume;
    int force, dry_run;
} TrainCommand;

#define CMD(name, type, field, help) \
    {name, type, offsetof(TrainCommand, field), 0, 0, 0, 0, NULL, help, NULL, NULL, NULL, NULL, 0}
static const LmOption command_opts[] = {
    CMD("config", LM_OPT_STRING, config, "options from a JSON file"),
    CMD("resume", LM_OPT_STRING, resume, "continue a run directory"),
    CMD("force", LM_OPT_BOOL, force, "start over in a directory that holds a run"),
    CMD("dry_run", LM_OPT_BOOL, dry_run, "print the memory the run needs and exit"),
};
static const LmOptTable command_table = {"train", command_opts, LM_OPTS_COUNT(command_opts)};

/* The configuration of a resumed run: the stored one, with only schedule options changed. */
static int resume_config(const char *dir, const LmOptScan *s, LmTrainConfig *cfg) {
    const LmOptTable *t = lm_train_config_table();
    if (lm_train_config_for_resume(dir, cfg) != 0) return LM_EXIT_FAILED;
    int stored_threads = cfg->threads;
    for (int k = 0; k < s->n; k++) {
        const char *name = s->args[k].opt->name;
        if (s->args[k].table != t) continue;
        if (!lm_train_config_is_schedule(name) || !strcmp(name, "out")) {
            char flag[80];
            lm_opts_flag(s->args[k].opt, flag, sizeof flag);
            lm_err_set("%s cannot be changed when resuming (it would change the training); start a new run "
                       "instead", flag);
            return LM_EXIT_USAGE;
        }
    }
    if (lm_opts_apply(t, cfg, s) != 0) return LM_EXIT_USAGE;
    if (cfg->threads != stored_threads)
        fprintf(stderr, "lmrnn: note: resuming with --threads %d (the run used %d): the result will not be "
                        "bit-identical to an uninterrupted run\n", cfg->threads, stored_threads);
    return LM_EXIT_OK;
}

/* Train in this process (rank 0 of a distributed run too), then the summary and the figures. */
static int run(const LmTrainConfig *cfg, const char *resume, int force) {
    set_stop_handlers(1);

    LmRunOptions o;
    memset(&o, 0, sizeof o);
    o.resume = resume != NULL;
    o.force = force;
    o.stop = &stop_signal;
    o.progress = stderr;
    o.report = stdout;
    LmTrainSummaryHook hook;
    memset(&hook, 0, sizeof hook);
    o.on_eval = cfg->no_summary ? NULL : lm_train_summary_hook;
    o.on_eval_ctx = &hook;
    LmRunResult res;
    int rc = lm_train_run(cfg, &o, &res);
    lm_train_summary_hook_free(&hook);
    set_stop_handlers(0);
    if (rc != 0) goto fail;
    if (res.reason == LM_STOP_SIGNAL) return 0;
    fflush(stdout);
    /* The final summary.json (and plots/summary.png, plots/summary_history.png): any N, a task's
     * trajectories at a time (analysis/summary.c), so its memory stays below the training's own. */
    if (!cfg->no_summary && lm_analyze_train_summary(cfg->out, !cfg->no_plot, cfg->quiet ? NULL : stdout) != 0)
        fprintf(stderr, "lmrnn: warning: training finished but the summary failed: %s\n", lm_err_msg());
    if (cfg->no_plot) return 0;
    LmPlotOptions po;
    lm_plot_options_default(&po);
    po.quiet = cfg->quiet;
    fflush(stdout);
    if (lm_plot_run(cfg->out, &po) != 0)
        fprintf(stderr, "lmrnn: warning: training finished but the plots failed: %s\n", lm_err_msg());
    return 0;
fail:
    return lm_opts_fail("train", LM_EXIT_FAILED);
}

/* --distribute sheet: every rank of mpirun runs this command; rank 0 trains, the others follow it. */
static int distributed(const LmTrainConfig *cfg, const char *resume, int force, int argc, char **argv) {
    if (!lm_dist_built()) {
        lm_err_set("--distribute sheet needs the MPI build under mpirun: mpirun -np K build/lmrnn-mpi train ... "
                   "(this lmrnn was built without MPI)");
        return lm_opts_fail("train", LM_EXIT_USAGE);
    }
    if (lm_dist_init(&argc, &argv) != 0) return lm_opts_fail("train", LM_EXIT_FAILED);
    if (lm_dist_size() < 2) {
        lm_err_set("--distribute sheet needs at least 2 MPI ranks: run it as mpirun -np K lmrnn-mpi train ...");
        lm_dist_finalize();
        return lm_opts_fail("train", LM_EXIT_USAGE);
    }
    if (lm_sheet_check_ranks(cfg, lm_dist_size()) != 0) {   /* every rank alike: one message */
        /* said before finalizing, which waits for every rank: mpirun ends the job at the first rank that
         * exits non-zero, and rank 0 may not have spoken yet */
        int status = lm_dist_rank() == 0 ? lm_opts_fail("train", LM_EXIT_USAGE) : LM_EXIT_USAGE;
        lm_dist_finalize();
        return status;
    }
    int status;
    if (lm_dist_rank() == 0) {
        status = run(cfg, resume, force);
    } else {
        signal(SIGINT, SIG_IGN);   /* rank 0 stops the run (it saves a checkpoint first) */
        signal(SIGTERM, SIG_IGN);
        status = lm_sheet_follow(cfg, resume != NULL);
    }
    lm_dist_finalize();
    return status;
}

int lm_cmd_train(int argc, char **argv) {
    const LmOptTable *t = lm_train_config_table();
    const LmOptTable *tables[2] = {&command_table, t};
    LmOptScan *scan = lm_malloc(sizeof *scan);
    TrainCommand cmd = {0};
    LmTrainConfig cfg;
    int status = LM_EXIT_OK;
    if (lm_opts_scan(tables, 2, argc, argv, 0, scan) != 0 || lm_opts_apply(&command_table, &cmd, scan) != 0) {
        status = LM_EXIT_USAGE;
    } else if (scan->help) {
        fputs(train_usage, stdout);
        lm_train_config_print_help(stdout);
        free(scan);
        return LM_EXIT_OK;
    } else if (cmd.resume && cmd.config) {
        lm_err_set("--config cannot be combined with --resume (the run has its config)");
        status = LM_EXIT_USAGE;
    } else if (cmd.resume) {
        status = resume_config(cmd.resume, scan, &cfg);
    } else {
        lm_train_config_default(&cfg);
        if ((cmd.config && lm_train_config_load_file(&cfg, cmd.config) != 0) || lm_opts_apply(t, &cfg, scan) != 0)
            status = LM_EXIT_USAGE;
    }
    if (status == LM_EXIT_OK && lm_train_config_validate(&cfg) != 0) status = LM_EXIT_USAGE;
    if (status != LM_EXIT_OK) {
        free(scan);
        return lm_opts_fail("train", status);
    }
    const char *resume = cmd.resume;
    int force = cmd.force;
    lm_opts_warn_threads("train", cfg.threads);
    if (!resume && lm_opts_given(scan, "d") && cfg.mask != LM_MASK_LOCAL2D && cfg.mask != LM_MASK_LOCAL1D)
        fprintf(stderr, "lmrnn: train: warning: --d is used only by local masks; --mask %s ignores it\n",
                lm_mask_kind_name(cfg.mask));
    free(scan);
    if (cmd.dry_run) {
        LmMemoryEstimate est;
        if (lm_memory_estimate(&cfg, resume != NULL, &est) != 0) goto fail;
        lm_memory_print(stdout, &cfg, &est);
        return LM_EXIT_OK;
    }

    if (cfg.distribute) return distributed(&cfg, resume, force, argc, argv);
    return run(&cfg, resume, force);
fail:
    return lm_opts_fail("train", LM_EXIT_FAILED);
}
