/* Mask search primitives (docs/lottery.md): replacing the model's mask, magnitude pruning, random and
 * gradient regrowth. They run at mask-update steps only; the training step itself is unchanged. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model/internal.h"
#include "util/err.h"

/* Position of W[i][j] in the recurrent storage, -1 if not stored. */
static int64_t rec_pos(const LmModel *m, int i, int j) {
    int n = m->cfg.n_hidden;
    if (!m->sparse) return (int64_t)i * n + j;
    int32_t lo = m->row_ptr[i], hi = m->row_ptr[i + 1];   /* columns ascend within a row */
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (m->col_idx[mid] < j) lo = mid + 1;
        else hi = mid;
    }
    return lo < m->row_ptr[i + 1] && m->col_idx[lo] == j ? lo : -1;
}

/* dst's W_rec slot from src's, entry by entry over dst's mask (0 where src's mask lacks it). */
static void copy_rec(const LmModel *src, const float *sblock, const LmModel *dst, float *dblock) {
    int n = dst->cfg.n_hidden;
    const float *s = sblock + src->off[T_W_REC];
    float *d = dblock + dst->off[T_W_REC];
    for (int i = 0; i < n; i++)
        for (int32_t c = dst->mask.row_ptr[i]; c < dst->mask.row_ptr[i + 1]; c++) {
            int j = dst->mask.col_idx[c];
            int64_t q = rec_pos(dst, i, j), p = lm_mask_has(&src->mask, i, j) ? rec_pos(src, i, j) : -1;
            d[q] = p >= 0 ? s[p] : 0.0f;
        }
}

static void copy_block(const LmModel *src, const float *sblock, const LmModel *dst, float *dblock) {
    for (int t = 0; t < LM_N_TENSORS; t++)
        if (t != T_W_REC)
            memcpy(dblock + dst->off[t], sblock + src->off[t], (src->off[t + 1] - src->off[t]) * sizeof(float));
    copy_rec(src, sblock, dst, dblock);
}

void lm_model_set_mask(LmModel *m, const LmMask *mask, LmAdam *a) {
    LmModel *nm = lm_model_new(&m->cfg, mask);
    LM_ASSERT(nm != NULL);
    copy_block(m, m->params, nm, nm->params);
    if (a) {
        float *am = lm_calloc(nm->n_params, sizeof(float)), *av = lm_calloc(nm->n_params, sizeof(float));
        copy_block(m, a->m, nm, am);
        copy_block(m, a->v, nm, av);
        free(a->m), free(a->v);
        a->m = am, a->v = av, a->n = nm->n_params;
    }
    nm->ei = m->ei, nm->readout_exc = m->readout_exc;
    m->ei = NULL;
    LmModel old = *m;
    *m = *nm;
    *nm = old;
    lm_model_free(nm);   /* the old contents */
}

typedef struct { float key; int64_t k; } Entry;

/* Ascending key, then ascending index. */
static int by_key_then_index(const void *pa, const void *pb) {
    const Entry *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->k > b->k) - (a->k < b->k);
}

void lm_prune_smallest(const LmModel *m, int64_t n_drop, uint8_t *mask) {
    int n = m->cfg.n_hidden;
    if (n_drop <= 0) return;
    Entry *e = lm_malloc((size_t)(m->mask.nnz ? m->mask.nnz : 1) * sizeof(Entry));
    int64_t c = 0;
    const float *w = lm_cp(m, T_W_REC);
    for (int i = 0; i < n; i++)
        for (int32_t p = m->mask.row_ptr[i]; p < m->mask.row_ptr[i + 1]; p++) {
            int j = m->mask.col_idx[p];
            e[c].key = fabsf(w[rec_pos(m, i, j)]);
            e[c].k = (int64_t)i * n + j;
            c++;
        }
    qsort(e, (size_t)c, sizeof *e, by_key_then_index);
    for (int64_t r = 0; r < n_drop && r < c; r++) mask[e[r].k] = 0;
    free(e);
}

int64_t lm_grow_random(int n, const uint8_t *allowed, uint8_t *mask, int64_t n_grow, LmRng *rng) {
    int64_t nn = (int64_t)n * n, free_n = 0;
    for (int64_t k = 0; k < nn; k++) free_n += allowed[k] && !mask[k];
    if (n_grow > free_n) n_grow = free_n;
    /* Selection sampling (Knuth's algorithm S) over the free positions in index order: each subset of
     * n_grow equally likely, one uniform draw per free position, no list of N^2 entries. */
    int64_t need = n_grow, left = free_n;
    for (int64_t k = 0; k < nn && need > 0; k++) {
        if (!allowed[k] || mask[k]) continue;
        if (lm_rng_uniform(rng) * (double)left < (double)need) mask[k] = 1, need--;
        left--;
    }
    return n_grow;
}

/* A min-heap of the n best (largest key, then lowest index) candidates: the root is the worst kept. */
static int worse(const Entry *a, const Entry *b) { return a->key < b->key || (a->key == b->key && a->k > b->k); }

static void sift_down(Entry *h, int64_t n, int64_t i) {
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < n && worse(&h[l], &h[s])) s = l;
        if (r < n && worse(&h[r], &h[s])) s = r;
        if (s == i) return;
        Entry t = h[i];
        h[i] = h[s], h[s] = t;
        i = s;
    }
}

static void heap_offer(Entry *h, int64_t *len, int64_t cap, Entry e) {
    if (*len < cap) {   /* sift up */
        int64_t i = (*len)++;
        h[i] = e;
        while (i > 0 && worse(&h[i], &h[(i - 1) / 2])) {
            Entry t = h[i];
            h[i] = h[(i - 1) / 2], h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (worse(&h[0], &e)) {
        h[0] = e;
        sift_down(h, *len, 0);
    }
}

#define GROW_BLOCK 16

int64_t lm_grow_by_gradient(const LmModel *m, const LmWork *w, const uint8_t *allowed, uint8_t *mask,
                            int64_t n_grow) {
    int n = m->cfg.n_hidden, T, B;
    const float *ds = lm_work_grad_s(w, &T, &B), *h = lm_work_hidden(w);
    const int R = (T - 1) * B;   /* pairs (ds_t, h_{t-1}), t >= 1 */
    if (n_grow <= 0) return 0;
    Entry *heap = lm_malloc((size_t)n_grow * sizeof(Entry));
    float *g = lm_malloc((size_t)GROW_BLOCK * n * sizeof(float));
    int64_t len = 0;
    for (int i0 = 0; i0 < n; i0 += GROW_BLOCK) {
        int bs = n - i0 < GROW_BLOCK ? n - i0 : GROW_BLOCK;
        if (R > 0)   /* g = ds[1:][i0:i0+bs]^T H[:-1]: [bs][R] x [R][N] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, bs, n, R, 1.0f, ds + (size_t)B * n + i0, n, h, n,
                        0.0f, g, n);
        else
            memset(g, 0, (size_t)bs * n * sizeof(float));
        for (int r = 0; r < bs; r++)
            for (int j = 0; j < n; j++) {
                int64_t k = (int64_t)(i0 + r) * n + j;
                if (!allowed[k] || mask[k]) continue;
                float gk = g[(size_t)r * n + j];
                /* Dale: a regrown weight starts at 0 and may only move to its unit's sign; score the
                 * descent that direction offers, max(0, -g D_j) (dale.c) */
                Entry e = {m->ei ? fmaxf(0.0f, m->ei[j] > 0 ? -gk : gk) : fabsf(gk), k};
                heap_offer(heap, &len, n_grow, e);
            }
    }
    for (int64_t q = 0; q < len; q++) mask[heap[q].k] = 1;
    free(heap), free(g);
    return len;
}
