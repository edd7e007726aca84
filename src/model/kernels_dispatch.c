/* Run-time choice of the recurrent kernels for portable builds. kernels.c picks its vector width at
 * compile time, so a portable build (the default; `make NATIVE=1` compiles for the build machine
 * instead) compiles it three times, renaming each lm_k_* function with a suffix (Makefile
 * KERNEL_VARIANTS): _base (the build's own flags), _avx2 (-mavx2 -mfma) and _avx512 (AVX-512
 * F/BW/DQ/VL). Here every lm_k_* is a GNU indirect function whose resolver, run once when the program or
 * library is loaded, returns the widest variant the CPU supports. A given machine therefore always runs
 * the same variant, so results stay bit-identical from run to run on it. */
#ifdef LM_KERNEL_DISPATCH
#include "model/kernels.h"

#define VARIANTS(name) extern __typeof__(name) name##_base, name##_avx2, name##_avx512;
#define EACH_KERNEL(X)                                                                             \
    X(lm_k_split) X(lm_k_gemm_rows) X(lm_k_sparse_rows) X(lm_k_sparse_left) X(lm_k_sparse_left_t) \
    X(lm_k_band) X(lm_k_band_grad) X(lm_k_adam) X(lm_k_dot) X(lm_k_transpose)
EACH_KERNEL(VARIANTS)

/* 2 = AVX-512, 1 = AVX2 + FMA, 0 = neither. */
static int cpu_level(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    return 0;
}

#define DISPATCH(name)                                                                             \
    static __typeof__(name) *resolve_##name(void) {                                                \
        int level = cpu_level();                                                                   \
        return level == 2 ? name##_avx512 : level == 1 ? name##_avx2 : name##_base;                \
    }                                                                                              \
    __typeof__(name) name __attribute__((ifunc("resolve_" #name)));
EACH_KERNEL(DISPATCH)

/* The variant in use, for benchmarks and docs: "avx512", "avx2" or "base". */
const char *lm_k_variant(void) {
    static const char *const names[3] = {"base", "avx2", "avx512"};
    return names[cpu_level()];
}
#else
const char *lm_k_variant(void) { return "build flags"; }
#endif
