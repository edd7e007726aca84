/* Runs the training runs of a plan as independent child processes (`lmrnn train`), J at a time, each in
 * its own directory DIR/runs/<id>/ with its output in DIR/runs/<id>/stdout.log.
 *
 * A run is finished when DIR/runs/<id>/DONE exists: the driver writes it atomically after the child
 * exited 0 and left an eval.json. Restarting the driver skips finished runs, resumes unfinished runs
 * that have a checkpoint (`lmrnn train --resume`), and starts the others afresh. A finished run whose
 * plan now asks for more steps is resumed to the new step count. */
#ifndef LMRNN_EXP_RUNNER_H
#define LMRNN_EXP_RUNNER_H
#include "experiment/plan.h"

/* NEW: start afresh. RESUME: continue from the checkpoint. EXTEND: a finished run, resumed to more steps.
 * EVALUATE: the checkpoint already holds every step but the final eval.json is missing (the child was
 * stopped between its last checkpoint and writing eval.json): `lmrnn eval` writes it. DONE: skip. */
typedef enum { LM_RUN_NEW = 0, LM_RUN_RESUME, LM_RUN_EXTEND, LM_RUN_DONE, LM_N_RUN_STATES } LmRunState;
const char *lm_run_state_name(LmRunState s);

/* What the driver would do with this run directory for a run of `steps` steps. A directory whose child
 * finished (eval.json and a final "stop" log record) but whose DONE marker was never written (driver
 * killed at that moment) counts as done; the marker is then written. */
LmRunState lm_exp_run_state(const char *run_dir, long steps);

/* Write the DONE marker (JSON: requested steps, wall seconds of the child, exit status). 0 or -1. */
int lm_exp_mark_done(const char *run_dir, long steps, double wall_seconds);

typedef struct {
    int jobs;              /* concurrent children, >= 1 */
    const char *exe;       /* the lmrnn binary; NULL = /proc/self/exe */
    int verbose;           /* one line per started / finished run on stdout */
    int one_run;           /* run only the run with index `index` (0-based plan order; --index) */
    int index;
} LmRunnerOptions;

/* The `lmrnn train` flags of a run's option set (switches only when true), in argv[0..n); flags[i]
 * holds the text of option i's flag. Returns n. */
int lm_exp_train_argv(const LmExpRun *r, char flags[][40], const char **argv, int max);

/* Remove everything a run left in its directory (a run whose options changed, --force). 0. */
int lm_exp_run_discard(const char *run_dir);

/* Run every unfinished run of `plan` under `dir` (DIR/runs/ is created). Returns the number of failed
 * runs (each reported on stderr with its exit status and the last line of its stdout.log), or -1 with
 * lm_err_set() if the driver itself could not work (e.g. DIR not writable). SIGINT/SIGTERM stop the
 * driver: the children are sent SIGTERM (they checkpoint and exit) and waited for; returns -1 with
 * "interrupted" then. Children die with the driver (SIGTERM through PR_SET_PDEATHSIG). */
int lm_exp_execute(const LmExpPlan *plan, const char *dir, const LmRunnerOptions *opt);
/* Under MPI (build/lmrnn-mpi started by mpirun) every rank calls lm_exp_execute: rank 0 schedules
 * (its own `jobs` children plus one run at a time on every other rank, handing out the next run to
 * whichever finishes first) and writes every DONE marker; the other ranks run what they are sent. The
 * run directories must be on a file system every rank sees. */

/* Rank 0: tell every other rank that there is no (more) work, so they return from lm_exp_execute. */
void lm_exp_release_ranks(void);

/* Number of online processors (the default for --jobs). */
int lm_exp_default_jobs(void);

#endif
