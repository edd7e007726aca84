/* MPI plumbing; everything MPI-specific is inside LM_HAVE_MPI. */
#include "dist/dist.h"
#include <stdlib.h>
#include <time.h>
#include "util/err.h"
#ifdef LM_HAVE_MPI
#include <mpi.h>
#endif

static int started;

int lm_dist_built(void) {
#ifdef LM_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

/* Open MPI, MPICH/Hydra, PMIx and Slurm's srun each export the world size. */
static int launched_size(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 0) return atoi(v);
    }
    return 0;
}

int lm_dist_launched(void) { return launched_size() > 1; }

int lm_dist_init(int *argc, char ***argv) {
    if (!launched_size()) return 0;
#ifdef LM_HAVE_MPI
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        lm_err_set("MPI_Init failed");
        return -1;
    }
    started = 1;
    return 0;
#else
    (void)argc;
    (void)argv;
    if (launched_size() > 1) {
        lm_err_set("this lmrnn was built without MPI but was started by mpirun with %d ranks; run build/lmrnn-mpi "
                   "(built by `make` when mpicc is installed: Debian openmpi-bin libopenmpi-dev)", launched_size());
        return -1;
    }
    return 0;
#endif
}

void lm_dist_finalize(void) {
#ifdef LM_HAVE_MPI
    if (started) MPI_Finalize();
#endif
    started = 0;
}

int lm_dist_rank(void) {
#ifdef LM_HAVE_MPI
    int r = 0;
    if (started) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
#else
    return 0;
#endif
}

int lm_dist_size(void) {
#ifdef LM_HAVE_MPI
    int n = 1;
    if (started) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
#else
    return 1;
#endif
}

int lm_dist_send(int dest, int tag, const long *v, int n) {
#ifdef LM_HAVE_MPI
    if (started && MPI_Send(v, n, MPI_LONG, dest, tag, MPI_COMM_WORLD) == MPI_SUCCESS) return 0;
#else
    (void)dest, (void)tag, (void)v, (void)n;
#endif
    lm_err_set("MPI send to rank %d failed", dest);
    return -1;
}

int lm_dist_poll(int from, int tag, long *v, int n, int *source) {
#ifdef LM_HAVE_MPI
    if (!started) return 0;
    int flag = 0;
    MPI_Status st;
    int src = from < 0 ? MPI_ANY_SOURCE : from;
    if (MPI_Iprobe(src, tag, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) {
        lm_err_set("MPI probe failed");
        return -1;
    }
    if (!flag) return 0;
    if (MPI_Recv(v, n, MPI_LONG, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        lm_err_set("MPI receive failed");
        return -1;
    }
    if (source) *source = st.MPI_SOURCE;
    return 1;
#else
    (void)from, (void)tag, (void)v, (void)n, (void)source;
    return 0;
#endif
}

void lm_dist_abort(int code) {
#ifdef LM_HAVE_MPI
    if (started) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    exit(code);
}

/* ---------------------------------------------------------------- collectives of a split network */

static LmDistTraffic traffic;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void lm_dist_traffic(LmDistTraffic *out) { *out = traffic; }

#ifdef LM_HAVE_MPI
/* MPI counts are ints: large buffers go in chunks of at most 2^30 elements. */
#define CHUNK (1L << 30)
static int mpi_fail(const char *what) {
    lm_err_set("MPI %s failed", what);
    return -1;
}
#endif

int lm_dist_bcast(void *buf, long bytes, int root) {
    double t0 = now_s();
    traffic.calls++;
    if (lm_dist_rank() == root) traffic.coll_bytes += (double)bytes;
#ifdef LM_HAVE_MPI
    if (started)
        for (long k = 0; k < bytes; k += CHUNK)
            if (MPI_Bcast((char *)buf + k, (int)(bytes - k < CHUNK ? bytes - k : CHUNK), MPI_BYTE, root,
                          MPI_COMM_WORLD) != MPI_SUCCESS)
                return mpi_fail("broadcast");
#else
    (void)buf;
#endif
    traffic.seconds += now_s() - t0;
    return 0;
}

#ifdef LM_HAVE_MPI
/* Sums in rank order (rank 0's value first, accumulated in double) on rank 0, then broadcast: every
 * rank gets the same bits, and the same rank count always adds the same way (MPI_Allreduce leaves the
 * order to the implementation). */
static int ordered_sum(void *v, long n, int f32) {
    int size = lm_dist_size(), rank = lm_dist_rank();
    MPI_Datatype type = f32 ? MPI_FLOAT : MPI_DOUBLE;
    size_t elem = f32 ? sizeof(float) : sizeof(double);
    long step = CHUNK / size;
    for (long k0 = 0; k0 < n; k0 += step) {
        int m = (int)(n - k0 < step ? n - k0 : step);
        char *part = (char *)v + (size_t)k0 * elem;
        void *all = rank == 0 ? malloc((size_t)m * size * elem) : NULL;
        if (rank == 0 && !all) return mpi_fail("reduction (out of memory)");
        int ok = MPI_Gather(part, m, type, all, m, type, 0, MPI_COMM_WORLD) == MPI_SUCCESS;
        if (ok && rank == 0)
            for (int k = 0; k < m; k++) {
                double acc = 0;
                for (int q = 0; q < size; q++)
                    acc += f32 ? (double)((float *)all)[(size_t)q * m + k] : ((double *)all)[(size_t)q * m + k];
                if (f32) ((float *)part)[k] = (float)acc;
                else ((double *)part)[k] = acc;
            }
        free(all);
        if (!ok || MPI_Bcast(part, m, type, 0, MPI_COMM_WORLD) != MPI_SUCCESS) return mpi_fail("reduction");
    }
    return 0;
}
#endif

static int allreduce(void *v, long n, int f32) {
    double t0 = now_s();
    traffic.calls++;
    traffic.coll_bytes += (f32 ? 4.0 : 8.0) * (double)n;
    int rc = 0;
#ifdef LM_HAVE_MPI
    if (started && lm_dist_size() > 1) rc = ordered_sum(v, n, f32);
#else
    (void)v, (void)f32;
#endif
    traffic.seconds += now_s() - t0;
    return rc;
}

int lm_dist_allreduce_sum_f32(float *v, long n) { return allreduce(v, n, 1); }
int lm_dist_allreduce_sum_f64(double *v, long n) { return allreduce(v, n, 0); }

int lm_dist_exchange(int n, const int *peer, float *const *send, const long *send_n, float *const *recv,
                     const long *recv_n) {
    double t0 = now_s();
    traffic.calls++;
    for (int k = 0; k < n; k++) traffic.p2p_bytes += 4.0 * (double)send_n[k];
#ifdef LM_HAVE_MPI
    if (started && n > 0) {
        MPI_Request *req = malloc((size_t)(2 * n) * sizeof *req);
        int nreq = 0, ok = req != NULL;
        for (int k = 0; ok && k < n; k++) {
            if (recv_n[k] >= CHUNK || send_n[k] >= CHUNK) ok = 0;
            else if (recv_n[k] > 0)
                ok = MPI_Irecv(recv[k], (int)recv_n[k], MPI_FLOAT, peer[k], 7, MPI_COMM_WORLD, &req[nreq++]) ==
                     MPI_SUCCESS;
        }
        for (int k = 0; ok && k < n; k++)
            if (send_n[k] > 0)
                ok = MPI_Isend(send[k], (int)send_n[k], MPI_FLOAT, peer[k], 7, MPI_COMM_WORLD, &req[nreq++]) ==
                     MPI_SUCCESS;
        if (ok) ok = MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE) == MPI_SUCCESS;
        free(req);
        if (!ok) return mpi_fail("halo exchange");
    }
#else
    (void)peer, (void)send, (void)recv, (void)recv_n;
#endif
    traffic.seconds += now_s() - t0;
    return 0;
}

int lm_dist_send_f32(int dest, int tag, const float *v, long n) {
    double t0 = now_s();
    traffic.calls++;
    traffic.gather_bytes += 4.0 * (double)n;
#ifdef LM_HAVE_MPI
    if (started)
        for (long k = 0; k < n; k += CHUNK)
            if (MPI_Send(v + k, (int)(n - k < CHUNK ? n - k : CHUNK), MPI_FLOAT, dest, tag, MPI_COMM_WORLD) !=
                MPI_SUCCESS)
                return mpi_fail("send");
#else
    (void)dest, (void)tag, (void)v;
#endif
    traffic.seconds += now_s() - t0;
    return 0;
}

int lm_dist_recv_f32(int from, int tag, float *v, long n) {
    double t0 = now_s();
    traffic.calls++;
#ifdef LM_HAVE_MPI
    if (started)
        for (long k = 0; k < n; k += CHUNK)
            if (MPI_Recv(v + k, (int)(n - k < CHUNK ? n - k : CHUNK), MPI_FLOAT, from, tag, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE) != MPI_SUCCESS)
                return mpi_fail("receive");
#else
    (void)from, (void)tag, (void)v, (void)n;
#endif
    traffic.seconds += now_s() - t0;
    return 0;
}
