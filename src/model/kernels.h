/* Hand-written products of the recurrence (the only ones not handed to OpenBLAS): per-step products with
 * few rows (B) whose cost is dominated by call overhead in a general sgemm, and the sparse products. Every
 * kernel works on a caller-given range of output columns, so OpenMP threads split the work without
 * sharing any sum: each output element is computed by one thread in a fixed order (bit-identical). */
#ifndef LMRNN_MODEL_KERNELS_H
#define LMRNN_MODEL_KERNELS_H
#include <stdint.h>

/* C[b][n] = sum_k A[b][k] * M[k][n] for b < B, n in [n0, n1).   A [B][lda], M [K][ldm], C [B][ldc] */
void lm_k_gemm_rows(int B, int K, const float *A, int lda, const float *M, int ldm, float *C, int ldc, int n0,
                    int n1);

/* Sparse rows: C[b][i] = sum_{p in [ptr[i], ptr[i+1])} val[pos ? pos[p] : p] * AT[idx[p]][b], for i in
 * [i0, i1). AT is the transposed input [K][B] so the B values of one index are contiguous. C [B][ldc]. */
void lm_k_sparse_rows(int B, const int32_t *ptr, const int32_t *idx, const int32_t *pos, const float *val,
                      const float *AT, float *C, int ldc, int i0, int i1);

/* sum_k a[k] * b[k] (vectorised, fixed order). */
float lm_k_dot(const float *a, const float *b, int n);

/* dst[c][r] = src[r][c] for r < rows, c in [c0, c1).   src [rows][lds], dst [cols][ldd] */
void lm_k_transpose(int rows, const float *src, int lds, float *dst, int ldd, int c0, int c1);

/* Split n units among nth threads in chunks of 16 (one cache line of floats): thread tid gets [*i0, *i1). */
void lm_k_split(int n, int tid, int nth, int *i0, int *i1);

#endif
