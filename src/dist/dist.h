/* Processes working together over MPI (Open MPI), in an optional build.
 *
 * build/lmrnn-mpi is built with LM_HAVE_MPI (Makefile MPI=auto|1) and calls MPI only through these
 * functions; build/lmrnn is the same program without MPI, where lm_dist_* report one process and
 * lm_dist_init refuses to run under mpirun (it would run every rank as the whole job). Messages are
 * small integer vectors: the sweep scheduler hands out run indices with them (experiment/runner.c);
 * a distributed network may use the same plumbing. */
#ifndef LMRNN_DIST_H
#define LMRNN_DIST_H

/* 1 if this binary was built with MPI. */
int lm_dist_built(void);
/* 1 if the environment says the process was started by mpirun/srun with more than one rank. */
int lm_dist_launched(void);
/* Start MPI when launched by mpirun (no-op otherwise). 0, or -1 with lm_err_set() (e.g. this binary
 * has no MPI but was started by mpirun with several ranks). */
int lm_dist_init(int *argc, char ***argv);
void lm_dist_finalize(void);
int lm_dist_rank(void);   /* 0 without MPI */
int lm_dist_size(void);   /* 1 without MPI */

/* Send n longs to rank `dest` with message tag `tag` (blocking until the buffer may be reused). 0 or -1. */
int lm_dist_send(int dest, int tag, const long *v, int n);
/* Non-blocking receive of n longs with tag `tag` from any rank (`from` < 0) or rank `from`: 1 and the
 * message (sender in *source) if one was waiting, 0 if none, -1 on error. Never spins: callers poll. */
int lm_dist_poll(int from, int tag, long *v, int n, int *source);
/* End every rank with this exit code (a rank that cannot continue). */
void lm_dist_abort(int code);

#endif
