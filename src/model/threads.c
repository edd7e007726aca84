/* One thread count for both OpenMP (the recurrence) and OpenBLAS (the hoisted products). */
#include <cblas.h>
#include <omp.h>
#include "model/model.h"

void lm_set_threads(int n) {
    if (n < 1) n = 1;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}
