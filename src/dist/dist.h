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

/* Collectives of one network split across the ranks (train/sheet.c). Every rank of the world calls
 * each one in the same order; without MPI (one process) they copy or do nothing. 0 or -1 +
 * lm_err_set. The bytes each rank sends and the seconds it spends inside these calls are counted
 * (lm_dist_traffic) so that a run can report its communication. */
int lm_dist_bcast(void *buf, long bytes, int root);
/* In place, elementwise sum over the ranks, added in rank order in double on rank 0 and broadcast:
 * every rank gets the same bits, and the same rank count always the same result. */
int lm_dist_allreduce_sum_f32(float *v, long n);
int lm_dist_allreduce_sum_f64(double *v, long n);
/* Point-to-point exchange of float blocks: for k < n, send[k] (send_n[k] floats) goes to peer[k] and
 * recv[k] (recv_n[k] floats) is filled from peer[k], all at once (no ordering deadlock). */
int lm_dist_exchange(int n, const int *peer, float *const *send, const long *send_n, float *const *recv,
                     const long *recv_n);
/* Rank 0 receives `n` floats from rank `from` (from > 0 sends them); tag separates the messages. */
int lm_dist_send_f32(int dest, int tag, const float *v, long n);
int lm_dist_recv_f32(int from, int tag, float *v, long n);

typedef struct {
    double p2p_bytes;         /* sent in lm_dist_exchange (halos) */
    double coll_bytes;        /* contributed to broadcasts and reductions */
    double gather_bytes;      /* sent to rank 0 with lm_dist_send_f32 */
    double seconds;           /* wall time inside these calls (waiting included) */
    long calls;
} LmDistTraffic;
void lm_dist_traffic(LmDistTraffic *out);

#endif
