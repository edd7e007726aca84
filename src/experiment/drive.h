/* What `lmrnn experiment` and `lmrnn sweep` share after building their plan: check it against the plan
 * an existing directory holds, save it, run it (locally, over MPI ranks, or one --index), report. */
#ifndef LMRNN_EXP_DRIVE_H
#define LMRNN_EXP_DRIVE_H
#include <stdio.h>
#include "experiment/plan.h"

typedef struct {
    int jobs;       /* local training processes (0 = number of cores; 1 per rank under MPI) */
    int quiet;
    int force;      /* runs whose options changed are discarded and started afresh instead of refused */
    int one_run;    /* run only plan run `index` (Slurm array task); no report */
    int index;
} LmDriveOptions;

/* The plan in `dir` may be extended by `now` (more seeds, more steps, new conditions), nothing else:
 * every run id present in both must have the same options apart from steps. Otherwise -1 with
 * lm_err_set naming the run and option, unless `force`: then the changed runs' directories are
 * emptied (they start afresh) and their ids listed on `log`. 0 or -1. */
int lm_exp_plan_reconcile(const LmExpPlan *old, const LmExpPlan *now, const char *dir, int force, FILE *log);

/* Print every run and its `lmrnn train` command. */
void lm_exp_print_plan(const LmExpPlan *p, const char *dir, FILE *f);

/* Save, run and report `plan` in `dir`. Returns the process exit status (0; 1 after printing a one-line
 * "lmrnn: ..." error or failed runs). Under MPI every rank calls it with the same plan. */
int lm_exp_drive(const LmExpPlan *plan, const char *dir, const LmDriveOptions *o);

#endif
