/* Subcommands of the lmrnn program. Each takes the arguments after its own name and returns the
 * process exit status (0 success; 1 after printing a one-line "lmrnn: ..." error; 2 for usage errors). */
#ifndef LMRNN_COMMANDS_H
#define LMRNN_COMMANDS_H
int lm_cmd_tasks(int argc, char **argv);       /* src/cli/cmd_tasks.c */
int lm_cmd_train(int argc, char **argv);       /* src/cli/cmd_train.c */
int lm_cmd_eval(int argc, char **argv);        /* src/cli/cmd_eval.c */
int lm_cmd_plot(int argc, char **argv);        /* src/cli/cmd_plot.c */
int lm_cmd_experiment(int argc, char **argv);  /* src/cli/cmd_experiment.c */
int lm_cmd_analyze(int argc, char **argv);     /* src/cli/cmd_analyze.c */
int lm_cmd_sweep(int argc, char **argv);       /* src/cli/cmd_sweep.c */
#endif
