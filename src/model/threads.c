/* The thread count of the model's team. Every product of a training step (the hoisted sgemms included)
 * runs inside the team, split by rows or columns, each thread calling a single-threaded OpenBLAS: so
 * OpenBLAS is set to 1 thread. Its own pool would otherwise busy-wait next to our threads and, on a
 * machine with as many cores as threads, steal the cores the per-step barriers wait for. */
#include <cblas.h>
#include <omp.h>
#include "model/model.h"

void lm_set_threads(int n) {
    if (n < 1) n = 1;
    omp_set_num_threads(n);
    openblas_set_num_threads(1);
}
