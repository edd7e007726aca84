/* Hand-written products of the recurrence (the only ones not handed to OpenBLAS): per-step products with
 * few rows (B) whose cost is dominated by call overhead in a general sgemm, and the sparse products. Every
 * kernel works on a caller-given range of output columns, so OpenMP threads split the work without
 * sharing any sum: each output element is computed by one thread in a fixed order (bit-identical). */
#ifndef LMRNN_MODEL_KERNELS_H
#define LMRNN_MODEL_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* C[b][n] = sum_k A[b][k] * M[k][n] for b < B, n in [n0, n1).   A [B][lda], M [K][ldm], C [B][ldc] */
void lm_k_gemm_rows(int B, int K, const float *A, int lda, const float *M, int ldm, float *C, int ldc, int n0,
                    int n1);

/* Sparse rows: C[b][i] = sum_{p in [ptr[i], ptr[i+1])} val[pos ? pos[p] : p] * AT[idx[p]][b], for i in
 * [i0, i1). AT is the transposed input [K][ldat] so the B values of one index are contiguous. C [B][ldc]. */
void lm_k_sparse_rows(int B, const int32_t *ptr, const int32_t *idx, const int32_t *pos, const float *val,
                      const float *AT, int ldat, float *C, int ldc, int i0, int i1);

/* Sparse left operand: C[r][n] = sum_{q in [ptr[r], ptr[r+1])} val[q] * M[idx[q]][n], for r < rows and
 * n in [n0, n1): the input projection X W_in^T from the non-zeros of X.   M [cols][ldm], C [rows][ldc] */
void lm_k_sparse_left(int rows, int cols, const int32_t *ptr, const int32_t *idx, const float *val, const float *M,
                      int ldm, float *C, int ldc, int n0, int n1);

/* Sparse transposed left operand, accumulated: G[idx[q]][n] += val[q] * D[r][n] for every q in row r's
 * range, r < rows, n in [n0, n1); G has `cols` rows (every idx < cols). dW_in^T = X^T ds. */
void lm_k_sparse_left_t(int rows, int cols, const int32_t *ptr, const int32_t *idx, const float *val,
                        const float *D, int ldd, float *G, int ldg, int n0, int n1);

/* Banded (diagonal-storage) product: C[b][i] = sum_d band[d][i] * X[b][pad + i + off[d]] for i in [i0, i1).
 * band [nd][N] is zero where the diagonal leaves the matrix; X [B][ldx] holds each row with `pad` zeros
 * on both sides (pad >= max |off|), so no bounds are checked. C [B][ldc]. */
void lm_k_band(int B, int nd, const int32_t *off, const float *band, int N, const float *X, int ldx, int pad,
               float *C, int ldc, int i0, int i1);

/* Gradient of a band: G[d][i] += sum_{r < R} D[r][i] * H[r][i + off[d]] over i in [i0, i1) where
 * 0 <= i + off[d] < N.   D, H [R][N], G [nd][N] */
void lm_k_band_grad(int R, int nd, const int32_t *off, int N, const float *D, const float *H, float *G, int i0,
                    int i1);

/* Adam update of n parameters (torch.optim.Adam's single-tensor arithmetic, in float):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= step * m / (sqrt(v) / bc2s + eps) */
void lm_k_adam(size_t n, float *p, const float *g, float *m, float *v, float b1, float ob1, float b2, float ob2,
               float step, float bc2s, float eps);

/* sum_k a[k] * b[k] (vectorised, fixed order). */
float lm_k_dot(const float *a, const float *b, int n);

/* dst[c][r] = src[r][c] for r < rows, c in [c0, c1).   src [rows][lds], dst [cols][ldd] */
void lm_k_transpose(int rows, const float *src, int lds, float *dst, int ldd, int c0, int c1);

/* Split n units among nth threads in chunks of 16 (one cache line of floats): thread tid gets [*i0, *i1). */
void lm_k_split(int n, int tid, int nth, int *i0, int *i1);

/* Hot loops outside this file's kernels (the bodies of rnn.c's forward and backward passes) are cloned
 * for AVX-512, AVX2 and the baseline in a portable build and chosen at load time like the kernels;
 * elsewhere (NATIVE=1, tests) the attribute is empty. */
#if defined(LM_MULTIVERSION) && defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LM_CLONES
#endif

/* Which kernels run: "avx512", "avx2" or "base" in a portable build (chosen at load time from the CPU,
 * src/model/kernels_dispatch.c), "build flags" when kernels.c is compiled once (NATIVE=1, tests). */
const char *lm_k_variant(void);

#endif
