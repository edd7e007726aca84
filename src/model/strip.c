/* One process's strip of a network split by units (model.h, "strips"): the units it owns, the halo its
 * recurrent rows read, and the copies between the global parameter layout and the strip's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/internal.h"
#include "util/err.h"

void lm_strip_extent(const LmMask *mask, int u0, int u1, int *e0, int *e1) {
    int lo = u0, hi = u1;
    for (int i = u0; i < u1; i++) {
        int32_t p0 = mask->row_ptr[i], p1 = mask->row_ptr[i + 1];
        if (p1 > p0) {   /* columns ascend */
            if (mask->col_idx[p0] < lo) lo = mask->col_idx[p0];
            if (mask->col_idx[p1 - 1] + 1 > hi) hi = mask->col_idx[p1 - 1] + 1;
        }
    }
    *e0 = lo, *e1 = hi;
}

/* The global mask restricted to units [e0, e1), renumbered from 0; map[q] = the global CSR position of
 * the strip's connection q. */
static void restrict_mask(const LmMask *g, int e0, int e1, LmMask *out, int32_t **map) {
    int n = e1 - e0;
    int64_t nnz = 0;
    for (int i = e0; i < e1; i++)
        for (int32_t p = g->row_ptr[i]; p < g->row_ptr[i + 1]; p++) nnz += g->col_idx[p] >= e0 && g->col_idx[p] < e1;
    memset(out, 0, sizeof *out);
    out->n = n;
    out->nnz = nnz;
    out->row_ptr = lm_malloc(((size_t)n + 1) * sizeof(int32_t));
    out->col_idx = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(int32_t));
    *map = lm_malloc((size_t)(nnz ? nnz : 1) * sizeof(int32_t));
    int32_t q = 0;
    for (int i = e0; i < e1; i++) {
        out->row_ptr[i - e0] = q;
        for (int32_t p = g->row_ptr[i]; p < g->row_ptr[i + 1]; p++)
            if (g->col_idx[p] >= e0 && g->col_idx[p] < e1) out->col_idx[q] = g->col_idx[p] - e0, (*map)[q++] = p;
    }
    out->row_ptr[n] = q;
    out->density = (double)nnz / ((double)n * n);
    out->param = g->param;
    snprintf(out->desc, sizeof out->desc, "strip [%d, %d) of %.100s", e0, e1, g->desc);
}

int lm_strip_new(const LmModel *global, int u0, int u1, LmStrip *out) {
    memset(out, 0, sizeof *out);
    if (!global->sparse || global->ei) {
        lm_err_set("a network split into strips needs the sparse recurrent path and no Dale's law");
        return -1;
    }
    if (!(0 <= u0 && u0 < u1 && u1 <= global->cfg.n_hidden)) {
        lm_err_set("strip [%d, %d) is not a unit range of the %d-unit network", u0, u1, global->cfg.n_hidden);
        return -1;
    }
    out->u0 = u0, out->u1 = u1;
    lm_strip_extent(&global->mask, u0, u1, &out->e0, &out->e1);
    LmMask sm;
    restrict_mask(&global->mask, out->e0, out->e1, &sm, &out->rec_map);
    LmModelConfig cfg = global->cfg;
    cfg.n_hidden = sm.n;
    cfg.path = LM_PATH_SPARSE;
    out->model = lm_model_new(&cfg, &sm);
    lm_mask_free(&sm);
    if (!out->model) {
        lm_strip_free(out);
        return -1;
    }
    return 0;
}

void lm_strip_free(LmStrip *s) {
    lm_model_free(s->model);
    free(s->rec_map);
    memset(s, 0, sizeof *s);
}

void lm_strip_scatter(const LmStrip *s, const LmModel *global, const float *gblock, float *sblock) {
    const LmModel *m = s->model;
    const int N = global->cfg.n_hidden, n = m->cfg.n_hidden, n_in = m->cfg.n_in, n_out = m->cfg.n_out;
    const int e0 = s->e0;
    memcpy(sblock + m->off[T_W_IN], gblock + global->off[T_W_IN] + (size_t)e0 * n_in, (size_t)n * n_in * sizeof(float));
    memcpy(sblock + m->off[T_B_IN], gblock + global->off[T_B_IN] + e0, (size_t)n * sizeof(float));
    memcpy(sblock + m->off[T_B_REC], gblock + global->off[T_B_REC] + e0, (size_t)n * sizeof(float));
    for (int64_t q = 0; q < m->n_rec; q++) sblock[m->off[T_W_REC] + q] = gblock[global->off[T_W_REC] + s->rec_map[q]];
    /* the readout of the halo units is their owners': 0 here, so the strip's logits are its own share */
    for (int k = 0; k < n_out; k++)
        for (int i = 0; i < n; i++) {
            int gi = e0 + i;
            sblock[m->off[T_W_OUT] + (size_t)k * n + i] =
                gi >= s->u0 && gi < s->u1 ? gblock[global->off[T_W_OUT] + (size_t)k * N + gi] : 0.0f;
        }
    memcpy(sblock + m->off[T_B_OUT], gblock + global->off[T_B_OUT], (size_t)n_out * sizeof(float));
}

size_t lm_strip_owned_count(const LmModel *global, int u0, int u1) {
    size_t nu = (size_t)(u1 - u0);
    const LmModelConfig *c = &global->cfg;
    return nu * (size_t)c->n_in + 2 * nu + (size_t)(global->mask.row_ptr[u1] - global->mask.row_ptr[u0]) +
           (size_t)c->n_out * nu + (size_t)c->n_out;
}

/* The owned parts in the canonical order [W_in rows | b_in | W_rec values of the rows (global CSR order)
 * | b_rec | W_out columns, by output | b_out]; `to_buf` copies strip -> buffer, else buffer -> global. */
static void owned_walk(const LmModel *m, int u0, int u1, int base, float *block, float *buf, int to_buf) {
    const int n = m->cfg.n_hidden, n_in = m->cfg.n_in, n_out = m->cfg.n_out, nu = u1 - u0;
    size_t k = 0;
#define MOVE(dst_off, len)                                                                       \
    do {                                                                                       \
        if (to_buf) memcpy(buf + k, block + (dst_off), (size_t)(len) * sizeof(float));         \
        else memcpy(block + (dst_off), buf + k, (size_t)(len) * sizeof(float));                \
        k += (size_t)(len);                                                                    \
    } while (0)
    int a = u0 - base;   /* first owned unit in this block's numbering */
    MOVE(m->off[T_W_IN] + (size_t)a * n_in, (size_t)nu * n_in);
    MOVE(m->off[T_B_IN] + a, nu);
    MOVE(m->off[T_W_REC] + m->mask.row_ptr[a], m->mask.row_ptr[a + nu] - m->mask.row_ptr[a]);
    MOVE(m->off[T_B_REC] + a, nu);
    for (int o = 0; o < n_out; o++) MOVE(m->off[T_W_OUT] + (size_t)o * n + a, nu);
    MOVE(m->off[T_B_OUT], n_out);
#undef MOVE
}

void lm_strip_pack(const LmStrip *s, const float *sblock, float *buf) {
    owned_walk(s->model, s->u0, s->u1, s->e0, (float *)sblock, buf, 1);
}

void lm_strip_unpack(const LmModel *global, int u0, int u1, const float *buf, float *gblock) {
    owned_walk(global, u0, u1, 0, gblock, (float *)buf, 0);
}

void lm_strip_clear_halo_grads(LmStrip *s) {
    LmModel *m = s->model;
    const int n = m->cfg.n_hidden, n_in = m->cfg.n_in, n_out = m->cfg.n_out;
    const int a = s->u0 - s->e0, b = s->u1 - s->e0;   /* owned [a, b) */
    float *g = m->grads;
    /* W_rec keeps every row: a halo row's entries within the strip are the exact gradient (the halo's
     * ds and h are the owners' values), so Adam moves the copy exactly as the owner moves the original */
    for (int i = 0; i < n; i++) {
        if (i >= a && i < b) continue;
        memset(g + m->off[T_W_IN] + (size_t)i * n_in, 0, (size_t)n_in * sizeof(float));
        g[m->off[T_B_IN] + i] = g[m->off[T_B_REC] + i] = 0.0f;
        for (int k = 0; k < n_out; k++) g[m->off[T_W_OUT] + (size_t)k * n + i] = 0.0f;
    }
}

double lm_strip_owned_sumsq(const LmStrip *s, int with_b_out) {
    size_t count = lm_strip_owned_count(s->model, s->u0 - s->e0, s->u1 - s->e0);
    float *buf = lm_malloc(count * sizeof(float));
    lm_strip_pack(s, s->model->grads, buf);
    size_t end = with_b_out ? count : count - (size_t)s->model->cfg.n_out;
    double sum = 0;
    for (size_t k = 0; k < end; k++) sum += (double)buf[k] * buf[k];
    free(buf);
    return sum;
}
