/* MPI plumbing; everything MPI-specific is inside LM_HAVE_MPI. */
#include "dist/dist.h"
#include <stdlib.h>
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
