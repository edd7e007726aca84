/* lmrnn: train and analyse connectivity-constrained RNNs on the 20-Cog and Mod-Cog batteries. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "model/model.h"
#include "util/options.h"
#include "lmrnn.h"   /* LMRNN_VERSION_STRING: the one version of the library, the program and config.json */

static const char usage[] =
    "usage: lmrnn COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  tasks list|show|dump|batch   inspect and export the task batteries\n"
    "  train                        train an RNN (writes a run directory)\n"
    "  eval DIR|CKPT                per-task performance table of a trained network\n"
    "  plot DIR                     figures of a run directory\n"
    "  experiment NAME              the paper's experiments (autapse, sparsity, data-efficiency)\n"
    "  analyze SUB RUN              look inside a trained network (states, summary, fixedpoints,\n"
    "                               variance, lesion)\n"
    "  sweep PLAN.json              a user's sweep over any train options (local, MPI, Slurm)\n"
    "\n"
    "Run `lmrnn COMMAND --help` for the options of a command; `lmrnn --version` prints the version.\n"
    "Exit status: 0 ok, 1 failed work (bad run, I/O), 2 bad usage (bad option or value).\n";

int main(int argc, char **argv) {
    lm_blas_restart(argv);   /* OpenBLAS's right kernels on a CPU newer than it (model.h) */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? LM_EXIT_USAGE : LM_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lmrnn %s\n", LMRNN_VERSION_STRING);
        return LM_EXIT_OK;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "tasks")) return lm_cmd_tasks(argc - 2, argv + 2);
    if (!strcmp(cmd, "train")) return lm_cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval")) return lm_cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "plot")) return lm_cmd_plot(argc - 2, argv + 2);
    if (!strcmp(cmd, "experiment")) return lm_cmd_experiment(argc - 2, argv + 2);
    if (!strcmp(cmd, "analyze")) return lm_cmd_analyze(argc - 2, argv + 2);
    if (!strcmp(cmd, "sweep")) return lm_cmd_sweep(argc - 2, argv + 2);
    fprintf(stderr, "lmrnn: unknown command '%s' (expected tasks, train, eval, plot, experiment, analyze or sweep)\n", cmd);
    return LM_EXIT_USAGE;
}
