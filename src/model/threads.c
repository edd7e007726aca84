/* The thread count of the model's team. Every product of a training step (the hoisted sgemms included)
 * runs inside the team, split by rows or columns, each thread calling a single-threaded OpenBLAS: so
 * OpenBLAS is set to 1 thread. Its own pool would otherwise busy-wait next to our threads and, on a
 * machine with as many cores as threads, steal the cores the per-step barriers wait for. */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#include "model/model.h"

void lm_set_threads(int n) {
    if (n < 1) n = 1;
    omp_set_num_threads(n);
    openblas_set_num_threads(1);
}

const char *lm_blas_core(void) { return openblas_get_corename(); }

void lm_blas_restart(char **argv) {
    const char *core = lm_blas_better_core();
    if (core && !setenv("OPENBLAS_CORETYPE", core, 1)) execv("/proc/self/exe", argv);
}

/* OpenBLAS picks its kernels from the CPU model when it loads. On a CPU newer than the library (Debian
 * 12's 0.3.21 on Intel Emerald Rapids, model 207) it falls back to a generic SSE core ("Prescott"), whose
 * sgemm runs at a third of the AVX-512 kernels' rate (docs/performance.md, "OpenBLAS's kernels"). The
 * core to ask for through OPENBLAS_CORETYPE: the one the CPU's instruction sets can run, when OpenBLAS
 * fell back and the user set nothing; NULL otherwise. */
const char *lm_blas_better_core(void) {
    static const char *generic[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Opteron",
                                    "Opteron_SSE3", "Barcelona", "Bobcat"};
    const char *core = openblas_get_corename();
    if (getenv("OPENBLAS_CORETYPE") || !core) return NULL;
    int fallback = 0;
    for (size_t k = 0; k < sizeof generic / sizeof *generic; k++) fallback |= !strcasecmp(core, generic[k]);
    if (!fallback) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}
