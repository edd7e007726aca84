/* Kernels of the recurrence. The vector width follows the build's -march: AVX-512 (16 floats), AVX2+FMA
 * (8) or scalar fmaf. Explicit FMA intrinsics because -std=c11 turns off floating-point contraction. */
#include "model/kernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util/err.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#define VW 16
typedef __m512 vf;
#define vzero() _mm512_setzero_ps()
#define vload(p) _mm512_loadu_ps(p)
#define vstore(p, v) _mm512_storeu_ps((p), (v))
#define vfma(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define vadd(a, b) _mm512_add_ps((a), (b))
#define vbcast(x) _mm512_set1_ps(x)
#define vsum(v) _mm512_reduce_add_ps(v)
#define vmul(a, b) _mm512_mul_ps((a), (b))
#define vdiv(a, b) _mm512_div_ps((a), (b))
#define vsub(a, b) _mm512_sub_ps((a), (b))
#define vsqrt(a) _mm512_sqrt_ps(a)
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define VW 8
typedef __m256 vf;
#define vzero() _mm256_setzero_ps()
#define vload(p) _mm256_loadu_ps(p)
#define vstore(p, v) _mm256_storeu_ps((p), (v))
#define vfma(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define vadd(a, b) _mm256_add_ps((a), (b))
#define vbcast(x) _mm256_set1_ps(x)
#define vmul(a, b) _mm256_mul_ps((a), (b))
#define vdiv(a, b) _mm256_div_ps((a), (b))
#define vsub(a, b) _mm256_sub_ps((a), (b))
#define vsqrt(a) _mm256_sqrt_ps(a)
static inline float vsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#else
#define VW 1
typedef float vf;
#define vzero() 0.0f
#define vload(p) (*(p))
#define vstore(p, v) (*(p) = (v))
#define vfma(a, b, c) fmaf((a), (b), (c))
#define vadd(a, b) ((a) + (b))
#define vbcast(x) (x)
#define vsum(v) (v)
#define vmul(a, b) ((a) * (b))
#define vdiv(a, b) ((a) / (b))
#define vsub(a, b) ((a) - (b))
#define vsqrt(a) sqrtf(a)
#endif

/* Load each vector of M once per k: without this GCC folds the loads into the 16 FMAs (4 loads of the
 * same line per k), which halves the kernel's speed. */
#if VW > 1 && defined(__GNUC__)
#define KEEP_IN_REGS(a, b, c, d) __asm__("" : "+v"(a), "+v"(b), "+v"(c), "+v"(d))
#else
#define KEEP_IN_REGS(a, b, c, d) ((void)0)
#endif

void lm_k_split(int n, int tid, int nth, int *i0, int *i1) {
    int chunks = (n + 15) / 16;
    int c0 = (int)((int64_t)chunks * tid / nth), c1 = (int)((int64_t)chunks * (tid + 1) / nth);
    *i0 = c0 * 16 < n ? c0 * 16 : n;
    *i1 = c1 * 16 < n ? c1 * 16 : n;
}

/* 4 rows x 4 vectors of C: 16 accumulators, per k 4 loads of M and 4 broadcasts of A. */
static void block_4x4(int K, const float *A, int lda, const float *M, int ldm, float *C, int ldc) {
    vf c00 = vzero(), c01 = vzero(), c02 = vzero(), c03 = vzero();
    vf c10 = vzero(), c11 = vzero(), c12 = vzero(), c13 = vzero();
    vf c20 = vzero(), c21 = vzero(), c22 = vzero(), c23 = vzero();
    vf c30 = vzero(), c31 = vzero(), c32 = vzero(), c33 = vzero();
    const float *a0 = A, *a1 = A + lda, *a2 = A + 2 * lda, *a3 = A + 3 * lda;
    for (int k = 0; k < K; k++) {
        const float *m = M + (size_t)k * ldm;
        vf m0 = vload(m), m1 = vload(m + VW), m2 = vload(m + 2 * VW), m3 = vload(m + 3 * VW);
        KEEP_IN_REGS(m0, m1, m2, m3);
        vf b;
        b = vbcast(a0[k]);
        c00 = vfma(b, m0, c00), c01 = vfma(b, m1, c01), c02 = vfma(b, m2, c02), c03 = vfma(b, m3, c03);
        b = vbcast(a1[k]);
        c10 = vfma(b, m0, c10), c11 = vfma(b, m1, c11), c12 = vfma(b, m2, c12), c13 = vfma(b, m3, c13);
        b = vbcast(a2[k]);
        c20 = vfma(b, m0, c20), c21 = vfma(b, m1, c21), c22 = vfma(b, m2, c22), c23 = vfma(b, m3, c23);
        b = vbcast(a3[k]);
        c30 = vfma(b, m0, c30), c31 = vfma(b, m1, c31), c32 = vfma(b, m2, c32), c33 = vfma(b, m3, c33);
    }
    float *r = C;
    vstore(r, c00), vstore(r + VW, c01), vstore(r + 2 * VW, c02), vstore(r + 3 * VW, c03);
    r += ldc;
    vstore(r, c10), vstore(r + VW, c11), vstore(r + 2 * VW, c12), vstore(r + 3 * VW, c13);
    r += ldc;
    vstore(r, c20), vstore(r + VW, c21), vstore(r + 2 * VW, c22), vstore(r + 3 * VW, c23);
    r += ldc;
    vstore(r, c30), vstore(r + VW, c31), vstore(r + 2 * VW, c32), vstore(r + 3 * VW, c33);
}

/* 1 row x 4 vectors (leftover rows of B). */
static void block_1x4(int K, const float *a, const float *M, int ldm, float *c) {
    vf c0 = vzero(), c1 = vzero(), c2 = vzero(), c3 = vzero();
    for (int k = 0; k < K; k++) {
        const float *m = M + (size_t)k * ldm;
        vf b = vbcast(a[k]);
        c0 = vfma(b, vload(m), c0), c1 = vfma(b, vload(m + VW), c1);
        c2 = vfma(b, vload(m + 2 * VW), c2), c3 = vfma(b, vload(m + 3 * VW), c3);
    }
    vstore(c, c0), vstore(c + VW, c1), vstore(c + 2 * VW, c2), vstore(c + 3 * VW, c3);
}

void lm_k_gemm_rows(int B, int K, const float *A, int lda, const float *M, int ldm, float *C, int ldc, int n0,
                    int n1) {
    int n = n0;
    for (; n + 4 * VW <= n1; n += 4 * VW) {
        int b = 0;
        for (; b + 4 <= B; b += 4) block_4x4(K, A + (size_t)b * lda, lda, M + n, ldm, C + (size_t)b * ldc + n, ldc);
        for (; b < B; b++) block_1x4(K, A + (size_t)b * lda, M + n, ldm, C + (size_t)b * ldc + n);
    }
    for (; n + VW <= n1; n += VW)
        for (int b = 0; b < B; b++) {
            const float *a = A + (size_t)b * lda;
            vf c = vzero();
            for (int k = 0; k < K; k++) c = vfma(vbcast(a[k]), vload(M + (size_t)k * ldm + n), c);
            vstore(C + (size_t)b * ldc + n, c);
        }
    for (; n < n1; n++)
        for (int b = 0; b < B; b++) {
            const float *a = A + (size_t)b * lda;
            float c = 0;
            for (int k = 0; k < K; k++) c = fmaf(a[k], M[(size_t)k * ldm + n], c);
            C[(size_t)b * ldc + n] = c;
        }
}

void lm_k_sparse_rows(int B, const int32_t *ptr, const int32_t *idx, const int32_t *pos, const float *val,
                      const float *AT, int ldat, float *C, int ldc, int i0, int i1) {
#if defined(__FMA__)
    if (B == 4) {   /* the paper's batch: one 4-wide FMA per non-zero, 4 chains to hide the FMA latency */
        for (int i = i0; i < i1; i++) {
            __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            int32_t p = ptr[i], pe = ptr[i + 1];
#define NZ(k) _mm_set1_ps(val[pos ? pos[p + k] : p + k]), _mm_loadu_ps(AT + (size_t)idx[p + k] * ldat)
            for (; p + 4 <= pe; p += 4) {
                s0 = _mm_fmadd_ps(NZ(0), s0), s1 = _mm_fmadd_ps(NZ(1), s1);
                s2 = _mm_fmadd_ps(NZ(2), s2), s3 = _mm_fmadd_ps(NZ(3), s3);
            }
            for (; p < pe; p++) s0 = _mm_fmadd_ps(NZ(0), s0);
#undef NZ
            float r[4];
            _mm_storeu_ps(r, _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)));
            C[i] = r[0], C[ldc + i] = r[1], C[2 * (size_t)ldc + i] = r[2], C[3 * (size_t)ldc + i] = r[3];
        }
        return;
    }
#endif
    enum { BC = 32 };
    for (int i = i0; i < i1; i++)
        for (int b0 = 0; b0 < B; b0 += BC) {
            int nb = B - b0 < BC ? B - b0 : BC;
            float acc[BC];
            for (int bb = 0; bb < nb; bb++) acc[bb] = 0;
            for (int32_t p = ptr[i]; p < ptr[i + 1]; p++) {
                float v = val[pos ? pos[p] : p];
                const float *x = AT + (size_t)idx[p] * ldat + b0;
#pragma omp simd
                for (int bb = 0; bb < nb; bb++) acc[bb] = fmaf(v, x[bb], acc[bb]);
            }
            for (int bb = 0; bb < nb; bb++) C[(size_t)(b0 + bb) * ldc + i] = acc[bb];
        }
}

void lm_k_sparse_left(int rows, int cols, const int32_t *ptr, const int32_t *idx, const float *val, const float *M,
                      int ldm, float *C, int ldc, int n0, int n1) {
    /* M's block for 4 vectors of columns is copied to a contiguous tile first: in place its rows are ldm
     * apart (4 KB at N = 1024) and would all compete for the same L1 sets. */
    float *tile = n1 - n0 >= 4 * VW ? lm_calloc_lines((size_t)cols * 4 * VW * sizeof(float)) : NULL;
    int n = n0;
    for (; n + 4 * VW <= n1; n += 4 * VW) {
        for (int k = 0; k < cols; k++) memcpy(tile + (size_t)k * 4 * VW, M + (size_t)k * ldm + n, 4 * VW * sizeof(float));
        for (int r = 0; r < rows; r++) {
            vf c0 = vzero(), c1 = vzero(), c2 = vzero(), c3 = vzero();
            for (int32_t q = ptr[r]; q < ptr[r + 1]; q++) {
                const float *m = tile + (size_t)idx[q] * 4 * VW;
                vf b = vbcast(val[q]);
                c0 = vfma(b, vload(m), c0), c1 = vfma(b, vload(m + VW), c1);
                c2 = vfma(b, vload(m + 2 * VW), c2), c3 = vfma(b, vload(m + 3 * VW), c3);
            }
            float *c = C + (size_t)r * ldc + n;
            vstore(c, c0), vstore(c + VW, c1), vstore(c + 2 * VW, c2), vstore(c + 3 * VW, c3);
        }
    }
    free(tile);
    for (; n + VW <= n1; n += VW)
        for (int r = 0; r < rows; r++) {
            vf c0 = vzero();
            for (int32_t q = ptr[r]; q < ptr[r + 1]; q++)
                c0 = vfma(vbcast(val[q]), vload(M + (size_t)idx[q] * ldm + n), c0);
            vstore(C + (size_t)r * ldc + n, c0);
        }
    for (; n < n1; n++)
        for (int r = 0; r < rows; r++) {
            float c0 = 0;
            for (int32_t q = ptr[r]; q < ptr[r + 1]; q++) c0 = fmaf(val[q], M[(size_t)idx[q] * ldm + n], c0);
            C[(size_t)r * ldc + n] = c0;
        }
}

void lm_k_sparse_left_t(int rows, int cols, const int32_t *ptr, const int32_t *idx, const float *val,
                        const float *D, int ldd, float *G, int ldg, int n0, int n1) {
    /* Blocks of 4 vectors of columns, each G block copied to a contiguous [cols][4 vectors] tile (in L1)
     * while every row adds to it: G's rows are ldg apart (4 KB at N = 1024), so in place they would all
     * fall in the same L1 sets. One tile, not one per block: at N = 262 144 those would be all of G
     * (120 MB), allocated and page-faulted at every call. Each element still sums its rows in order, as
     * the plain loop at the end does. */
    enum { BW = 4 * VW };
    const int nblk = (n1 - n0) / BW, nv = n0 + nblk * BW;
    if (nblk > 0) {
        float *t = lm_calloc_lines((size_t)cols * BW * sizeof(float));
        for (int j = 0; j < nblk; j++) {
            const int c0 = n0 + j * BW;
            for (int k = 0; k < cols; k++) memcpy(t + (size_t)k * BW, G + (size_t)k * ldg + c0, BW * sizeof(float));
            for (int r = 0; r < rows; r++) {
                const float *d = D + (size_t)r * ldd + c0;
                vf d0 = vload(d), d1 = vload(d + VW), d2 = vload(d + 2 * VW), d3 = vload(d + 3 * VW);
                for (int32_t q = ptr[r]; q < ptr[r + 1]; q++) {
                    float *g = t + (size_t)idx[q] * BW;
                    vf b = vbcast(val[q]);
                    vstore(g, vfma(b, d0, vload(g))), vstore(g + VW, vfma(b, d1, vload(g + VW)));
                    vstore(g + 2 * VW, vfma(b, d2, vload(g + 2 * VW)));
                    vstore(g + 3 * VW, vfma(b, d3, vload(g + 3 * VW)));
                }
            }
            for (int k = 0; k < cols; k++) memcpy(G + (size_t)k * ldg + c0, t + (size_t)k * BW, BW * sizeof(float));
        }
        free(t);
    }
    if (nv == n1) return;
    for (int r = 0; r < rows; r++) {
        const float *d = D + (size_t)r * ldd;
        for (int32_t q = ptr[r]; q < ptr[r + 1]; q++) {
            float *g = G + (size_t)idx[q] * ldg;
            vf b = vbcast(val[q]);
            int m = nv;
            for (; m + VW <= n1; m += VW) vstore(g + m, vfma(b, vload(d + m), vload(g + m)));
            for (; m < n1; m++) g[m] = fmaf(val[q], d[m], g[m]);
        }
    }
}

/* Four rows of the band product over 2 vectors of units: each band vector is loaded once for 4 rows. */
static void band_4rows(int nd, const int32_t *off, const float *band, int N, const float *X, int ldx, float *C,
                       int ldc, int i) {
    vf a00 = vzero(), a01 = vzero(), a10 = vzero(), a11 = vzero();
    vf a20 = vzero(), a21 = vzero(), a30 = vzero(), a31 = vzero();
    const float *x0 = X + i, *x1 = X + ldx + i, *x2 = X + 2 * (size_t)ldx + i, *x3 = X + 3 * (size_t)ldx + i;
    for (int d = 0; d < nd; d++) {
        const float *w = band + (size_t)d * N + i;
        vf w0 = vload(w), w1 = vload(w + VW);
        int o = off[d];
        a00 = vfma(w0, vload(x0 + o), a00), a01 = vfma(w1, vload(x0 + o + VW), a01);
        a10 = vfma(w0, vload(x1 + o), a10), a11 = vfma(w1, vload(x1 + o + VW), a11);
        a20 = vfma(w0, vload(x2 + o), a20), a21 = vfma(w1, vload(x2 + o + VW), a21);
        a30 = vfma(w0, vload(x3 + o), a30), a31 = vfma(w1, vload(x3 + o + VW), a31);
    }
    vstore(C + i, a00), vstore(C + i + VW, a01);
    vstore(C + ldc + i, a10), vstore(C + ldc + i + VW, a11);
    vstore(C + 2 * (size_t)ldc + i, a20), vstore(C + 2 * (size_t)ldc + i + VW, a21);
    vstore(C + 3 * (size_t)ldc + i, a30), vstore(C + 3 * (size_t)ldc + i + VW, a31);
}

void lm_k_band(int B, int nd, const int32_t *off, const float *band, int N, const float *X, int ldx, int pad,
               float *C, int ldc, int i0, int i1) {
    int b4 = 0;
    if (VW > 1) {
        int span = (i1 - i0) / (2 * VW) * (2 * VW);
        for (; b4 + 4 <= B; b4 += 4)
            for (int i = i0; i < i0 + span; i += 2 * VW)
                band_4rows(nd, off, band, N, X + (size_t)b4 * ldx + pad, ldx, C + (size_t)b4 * ldc, ldc, i);
        if (b4 > 0 && span < i1 - i0) {   /* units left over by the 2-vector blocks */
            for (int b = 0; b < b4; b++) {
                const float *x = X + (size_t)b * ldx + pad;
                for (int i = i0 + span; i < i1; i++) {
                    float c0 = 0;
                    for (int d = 0; d < nd; d++) c0 = fmaf(band[(size_t)d * N + i], x[i + off[d]], c0);
                    C[(size_t)b * ldc + i] = c0;
                }
            }
        }
    }
    for (int b = b4; b < B; b++) {
        const float *x = X + (size_t)b * ldx + pad;
        float *c = C + (size_t)b * ldc;
        int i = i0;
        for (; i + 4 * VW <= i1; i += 4 * VW) {
            vf c0 = vzero(), c1 = vzero(), c2 = vzero(), c3 = vzero();
            for (int d = 0; d < nd; d++) {
                const float *w = band + (size_t)d * N + i, *h = x + i + off[d];
                c0 = vfma(vload(w), vload(h), c0), c1 = vfma(vload(w + VW), vload(h + VW), c1);
                c2 = vfma(vload(w + 2 * VW), vload(h + 2 * VW), c2), c3 = vfma(vload(w + 3 * VW), vload(h + 3 * VW), c3);
            }
            vstore(c + i, c0), vstore(c + i + VW, c1), vstore(c + i + 2 * VW, c2), vstore(c + i + 3 * VW, c3);
        }
        for (; i + VW <= i1; i += VW) {
            vf c0 = vzero();
            for (int d = 0; d < nd; d++) c0 = vfma(vload(band + (size_t)d * N + i), vload(x + i + off[d]), c0);
            vstore(c + i, c0);
        }
        for (; i < i1; i++) {
            float c0 = 0;
            for (int d = 0; d < nd; d++) c0 = fmaf(band[(size_t)d * N + i], x[i + off[d]], c0);
            c[i] = c0;
        }
    }
}

/* G[d][i] += sum_r D[r][i] H[r][i + o] for one diagonal over units [lo, hi). */
static void band_grad_range(int R, int o, int N, const float *D, const float *H, float *g, int lo, int hi) {
    int i = lo;
    for (; i + 4 * VW <= hi; i += 4 * VW) {
        vf c0 = vload(g + i), c1 = vload(g + i + VW), c2 = vload(g + i + 2 * VW), c3 = vload(g + i + 3 * VW);
        for (int r = 0; r < R; r++) {
            const float *dr = D + (size_t)r * N + i, *hr = H + (size_t)r * N + i + o;
            c0 = vfma(vload(dr), vload(hr), c0), c1 = vfma(vload(dr + VW), vload(hr + VW), c1);
            c2 = vfma(vload(dr + 2 * VW), vload(hr + 2 * VW), c2);
            c3 = vfma(vload(dr + 3 * VW), vload(hr + 3 * VW), c3);
        }
        vstore(g + i, c0), vstore(g + i + VW, c1), vstore(g + i + 2 * VW, c2), vstore(g + i + 3 * VW, c3);
    }
    for (; i + VW <= hi; i += VW) {
        vf c0 = vload(g + i);
        for (int r = 0; r < R; r++) c0 = vfma(vload(D + (size_t)r * N + i), vload(H + (size_t)r * N + i + o), c0);
        vstore(g + i, c0);
    }
    for (; i < hi; i++) {
        float c0 = g[i];
        for (int r = 0; r < R; r++) c0 = fmaf(D[(size_t)r * N + i], H[(size_t)r * N + i + o], c0);
        g[i] = c0;
    }
}

/* Two diagonals at once over [lo, hi): each D vector is loaded once for both (1.5 loads per FMA
 * instead of 2). Every element still sums its rows in order, so the result is bit-identical to
 * band_grad_range. */
static void band_grad_pair(int R, int oa, int ob, int N, const float *D, const float *H, float *ga, float *gb,
                           int lo, int hi) {
    int i = lo;
    for (; i + 2 * VW <= hi; i += 2 * VW) {
        vf a0 = vload(ga + i), a1 = vload(ga + i + VW), b0 = vload(gb + i), b1 = vload(gb + i + VW);
        for (int r = 0; r < R; r++) {
            const float *dr = D + (size_t)r * N + i, *hr = H + (size_t)r * N + i;
            vf d0 = vload(dr), d1 = vload(dr + VW);
            a0 = vfma(d0, vload(hr + oa), a0), a1 = vfma(d1, vload(hr + oa + VW), a1);
            b0 = vfma(d0, vload(hr + ob), b0), b1 = vfma(d1, vload(hr + ob + VW), b1);
        }
        vstore(ga + i, a0), vstore(ga + i + VW, a1), vstore(gb + i, b0), vstore(gb + i + VW, b1);
    }
    band_grad_range(R, oa, N, D, H, ga, i, hi);
    band_grad_range(R, ob, N, D, H, gb, i, hi);
}

void lm_k_band_grad(int R, int nd, const int32_t *off, int N, const float *D, const float *H, float *G, int i0,
                    int i1) {
    int d = 0;
    for (; d + 1 < nd; d += 2) {
        int oa = off[d], ob = off[d + 1];
        int loa = i0 > -oa ? i0 : -oa, hia = i1 < N - oa ? i1 : N - oa;
        int lob = i0 > -ob ? i0 : -ob, hib = i1 < N - ob ? i1 : N - ob;
        int lo = loa > lob ? loa : lob, hi = hia < hib ? hia : hib;
        float *ga = G + (size_t)d * N, *gb = ga + N;
        if (hi <= lo) {
            band_grad_range(R, oa, N, D, H, ga, loa, hia);
            band_grad_range(R, ob, N, D, H, gb, lob, hib);
            continue;
        }
        /* each diagonal's units outside the common range, then the common range in pairs */
        band_grad_range(R, oa, N, D, H, ga, loa, lo), band_grad_range(R, oa, N, D, H, ga, hi, hia);
        band_grad_range(R, ob, N, D, H, gb, lob, lo), band_grad_range(R, ob, N, D, H, gb, hi, hib);
        band_grad_pair(R, oa, ob, N, D, H, ga, gb, lo, hi);
    }
    if (d < nd) {
        int o = off[d];
        band_grad_range(R, o, N, D, H, G + (size_t)d * N, i0 > -o ? i0 : -o, i1 < N - o ? i1 : N - o);
    }
}

/* Vector and scalar lanes do the same IEEE operations in the same order (mul, add, sqrt, div: all
 * correctly rounded, no FMA), so every parameter gets the same bits whichever lane it falls in. */
void lm_k_adam(size_t n, float *p, const float *g, float *m, float *v, float b1, float ob1, float b2, float ob2,
               float step, float bc2s, float eps) {
    size_t k = 0;
#if VW > 1
    vf vb1 = vbcast(b1), vob1 = vbcast(ob1), vb2 = vbcast(b2), vob2 = vbcast(ob2), vstep = vbcast(step),
       vbc = vbcast(bc2s), veps = vbcast(eps);
    for (; k + VW <= n; k += VW) {
        vf gk = vload(g + k);
        vf mk = vadd(vmul(vload(m + k), vb1), vmul(gk, vob1));
        vf vk = vadd(vmul(vload(v + k), vb2), vmul(vmul(gk, gk), vob2));
        vstore(m + k, mk), vstore(v + k, vk);
        vf upd = vmul(vstep, vdiv(mk, vadd(vdiv(vsqrt(vk), vbc), veps)));
        vstore(p + k, vsub(vload(p + k), upd));
    }
#endif
    for (; k < n; k++) {
        float gk = g[k];
        float mk = m[k] * b1 + gk * ob1;
        float vk = v[k] * b2 + gk * gk * ob2;
        m[k] = mk, v[k] = vk;
        p[k] -= step * (mk / (sqrtf(vk) / bc2s + eps));
    }
}

float lm_k_dot(const float *a, const float *b, int n) {
    vf s0 = vzero(), s1 = vzero(), s2 = vzero(), s3 = vzero();
    int k = 0;
    for (; k + 4 * VW <= n; k += 4 * VW) {
        s0 = vfma(vload(a + k), vload(b + k), s0);
        s1 = vfma(vload(a + k + VW), vload(b + k + VW), s1);
        s2 = vfma(vload(a + k + 2 * VW), vload(b + k + 2 * VW), s2);
        s3 = vfma(vload(a + k + 3 * VW), vload(b + k + 3 * VW), s3);
    }
    for (; k + VW <= n; k += VW) s0 = vfma(vload(a + k), vload(b + k), s0);
    float s = vsum(vadd(vadd(s0, s1), vadd(s2, s3)));
    for (; k < n; k++) s = fmaf(a[k], b[k], s);
    return s;
}

void lm_k_transpose(int rows, const float *src, int lds, float *dst, int ldd, int c0, int c1) {
    /* Tiles of 16 rows x 8 columns keep both sides in cache lines. Only 8 columns: when ldd is a power of
     * two (a sheet of 2^k units: W_in^T [n_in][N]), the tile's destination rows all fall in one cache set,
     * and 16 of them overflow its ways (N = 262 144, n_in = 53: 43 ms with 16 x 16, 15 ms with 16 x 8). */
    for (int r0 = 0; r0 < rows; r0 += 16) {
        int r1 = r0 + 16 < rows ? r0 + 16 : rows;
        for (int cc = c0; cc < c1; cc += 8) {
            int ce = cc + 8 < c1 ? cc + 8 : c1;
            for (int r = r0; r < r1; r++)
                for (int c = cc; c < ce; c++) dst[(size_t)c * ldd + r] = src[(size_t)r * lds + c];
        }
    }
}
