/* Connectivity masks (docs/model.md §2). M[i][j] = 1 allows the connection from unit j to unit i. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/npz.h"
#include "model/model.h"
#include "util/err.h"

static void finish(LmMask *out, int n, uint8_t *m, double param, const char *desc) {
    /* desc is truncated to leave room for the density */
    int64_t nnz = 0;
    for (int64_t k = 0; k < (int64_t)n * n; k++) nnz += m[k];
    out->n = n;
    out->m = m;
    out->nnz = nnz;
    out->density = (double)nnz / ((double)n * n);
    out->param = param;
    snprintf(out->desc, sizeof out->desc, "%.130s density=%.4f", desc, out->density);
}

/* Geometry shared by the two local masks: squared distance between units i and j as an integer. */
typedef struct {
    int kind;           /* LM_MASK_LOCAL2D or LM_MASK_LOCAL1D */
    int n, nx, ny, periodic;
} Geometry;

static int64_t dist2(const Geometry *g, int i, int j) {
    if (g->kind == LM_MASK_LOCAL1D) {
        int d = i > j ? i - j : j - i;
        if (g->n - d < d) d = g->n - d;   /* a ring: always periodic */
        return (int64_t)d * d;
    }
    int dx = abs(i % g->nx - j % g->nx), dy = abs(i / g->nx - j / g->nx);
    if (g->periodic) {
        if (g->nx - dx < dx) dx = g->nx - dx;
        if (g->ny - dy < dy) dy = g->ny - dy;
    }
    return (int64_t)dx * dx + (int64_t)dy * dy;
}

/* Number of ordered pairs (i, j) at each squared distance s, count[s] for s <= maxd2, from the
 * displacements alone: O(N) instead of visiting the N^2 pairs. Open sheet: (nx-|dx|)(ny-|dy|) pairs have
 * displacement (dx, dy); on a torus or a ring every one of the N units has each displacement once. */
static int64_t *pair_counts(const Geometry *g, int64_t *maxd2) {
    int n = g->n;
    *maxd2 = g->kind == LM_MASK_LOCAL1D ? (int64_t)(n / 2) * (n / 2)
                                        : (int64_t)(g->nx - 1) * (g->nx - 1) + (int64_t)(g->ny - 1) * (g->ny - 1);
    int64_t *count = lm_calloc((size_t)*maxd2 + 1, sizeof *count);
    if (g->kind == LM_MASK_LOCAL1D) {
        for (int k = 0; k < n; k++) {
            int64_t d = k < n - k ? k : n - k;
            count[d * d] += n;
        }
        return count;
    }
    for (int dy = -(g->ny - 1); dy <= g->ny - 1; dy++)
        for (int dx = -(g->nx - 1); dx <= g->nx - 1; dx++) {
            if (g->periodic && (dx < 0 || dy < 0)) continue;   /* torus: dx, dy in [0, side) */
            int64_t ax = abs(dx), ay = abs(dy), pairs = (int64_t)(g->nx - ax) * (g->ny - ay);
            if (g->periodic) {
                if (g->nx - ax < ax) ax = g->nx - ax;
                if (g->ny - ay < ay) ay = g->ny - ay;
                pairs = n;
            }
            count[ax * ax + ay * ay] += pairs;
        }
    return count;
}

/* The distance threshold d whose mask density is closest to `target`. Distances are square roots of
 * integers, so only the distinct squared distances s_0 < s_1 < ... matter: the threshold that keeps
 * every pair with dist^2 <= s_k is reported as d = sqrt(s_{k+1}) (strict "<"). Ties go to the sparser. */
static double d_for_density(const Geometry *g, double target) {
    int n = g->n;
    int64_t maxd2;
    int64_t *count = pair_counts(g, &maxd2);
    double total = (double)n * n, best_err = INFINITY;
    int64_t cum = 0, best = 0;
    for (int64_t s = 0; s <= maxd2; s++) {
        if (!count[s]) continue;
        cum += count[s];
        double err = fabs(cum / total - target);
        if (err < best_err) best_err = err, best = s;
    }
    int64_t next = -1;
    for (int64_t s = best + 1; s <= maxd2 && next < 0; s++)
        if (count[s]) next = s;
    free(count);
    return next >= 0 ? sqrt((double)next) : sqrt((double)maxd2) + 1.0;
}

/* The candidate coordinates within r of c on an axis of `side` units (wrapped or clipped), ascending.
 * Returns their number. */
static int axis_window(int c, int r, int side, int wrap, int *out) {
    int k = 0;
    if (2 * (int64_t)r + 1 >= side) {
        for (int v = 0; v < side; v++) out[k++] = v;
        return k;
    }
    if (!wrap) {
        for (int v = c - r < 0 ? 0 : c - r; v <= c + r && v < side; v++) out[k++] = v;
        return k;
    }
    int lo = c - r, hi = c + r;   /* the wrapped part below 0 lands at the top: emit low, mid, high */
    for (int v = 0; v <= hi - side; v++) out[k++] = v;
    for (int v = lo < 0 ? 0 : lo; v <= (hi < side ? hi : side - 1); v++) out[k++] = v;
    for (int v = lo + side; v < side && lo < 0; v++) out[k++] = v;
    return k;
}

/* Row i of a local mask: the columns j (ascending) with i == j or dist(i, j) < d. `xs`, `ys` are
 * scratch of nx and ny ints (1-d: n). Cost O(d^2) per row, never O(N). */
static int local_row(const Geometry *g, double d, int i, int32_t *cols, int *xs, int *ys) {
    double rd = ceil(d) - 1;
    int r = rd < 0 ? 0 : rd > g->n ? g->n : (int)rd;
    int k = 0;
    if (g->kind == LM_MASK_LOCAL1D) {
        int nc = axis_window(i, r, g->n, 1, xs);
        for (int c = 0; c < nc; c++)
            if (xs[c] == i || sqrt((double)dist2(g, i, xs[c])) < d) cols[k++] = xs[c];
        return k;
    }
    int nxs = axis_window(i % g->nx, r, g->nx, g->periodic, xs);
    int nys = axis_window(i / g->nx, r, g->ny, g->periodic, ys);
    for (int a = 0; a < nys; a++)
        for (int b = 0; b < nxs; b++) {
            int j = ys[a] * g->nx + xs[b];
            if (j == i || sqrt((double)dist2(g, i, j)) < d) cols[k++] = j;
        }
    return k;
}

static int check_d_or_density(const LmMaskSpec *s, const char *kind) {
    if (s->d != 0 && s->density != 0) {
        lm_err_set("%s mask: give either d (%g) or a target density (%g), not both", kind, s->d, s->density);
        return -1;
    }
    if (s->d == 0 && s->density == 0) {
        lm_err_set("%s mask needs a distance d or a target density", kind);
        return -1;
    }
    if (s->d != 0 && !(s->d > 0 && isfinite(s->d))) {
        lm_err_set("%s mask: d must be > 0, got %g", kind, s->d);
        return -1;
    }
    if (s->density != 0 && !(s->density > 0 && s->density <= 1)) {
        lm_err_set("%s mask: density must be in (0, 1], got %g", kind, s->density);
        return -1;
    }
    return 0;
}

/* The sheet or ring of a local mask and its threshold d (from the spec's d or target density); `geo`
 * and `how` describe them for the mask's desc. */
static int local_setup(const LmMaskSpec *s, int n, Geometry *g, double *d, char *geo, size_t geolen, char *how,
                       size_t howlen) {
    *g = (Geometry){(int)s->kind, n, 0, 1, 1};
    const char *kind = lm_mask_kind_name(s->kind);
    if (check_d_or_density(s, kind)) return -1;
    if (s->kind == LM_MASK_LOCAL2D) {
        g->periodic = s->periodic != 0;
        g->nx = s->nx;
        g->ny = s->ny;
        if (g->nx < 0 || g->ny < 0) {
            lm_err_set("local2d mask: grid %d x %d has a negative side", g->nx, g->ny);
            return -1;
        }
        if (g->nx == 0 && g->ny == 0) {
            int r = (int)lround(sqrt((double)n));
            if (r * r != n) {
                lm_err_set("local2d mask: N = %d is not a perfect square; give the grid as nx x ny", n);
                return -1;
            }
            g->nx = g->ny = r;
        } else if (g->nx == 0 || g->ny == 0) {
            int side = g->nx ? g->nx : g->ny;
            if (n % side) {
                lm_err_set("local2d mask: grid side %d does not divide N = %d", side, n);
                return -1;
            }
            if (g->nx == 0) g->nx = n / side; else g->ny = n / side;
        }
        if ((int64_t)g->nx * g->ny != n) {
            lm_err_set("local2d mask: grid %d x %d = %lld units but N = %d", g->nx, g->ny,
                       (long long)g->nx * g->ny, n);
            return -1;
        }
        snprintf(geo, geolen, "local2d %dx%d %s", g->nx, g->ny, g->periodic ? "periodic" : "open");
    } else {
        snprintf(geo, geolen, "local1d ring %d", n);
    }
    *d = s->d;
    how[0] = '\0';
    if (*d == 0) {
        *d = d_for_density(g, s->density);
        snprintf(how, howlen, " (target density %.4f)", s->density);
    }
    return 0;
}

static int build_local(const LmMaskSpec *s, int n, LmMask *out) {
    Geometry g;
    double d;
    char geo[64], how[64];
    if (local_setup(s, n, &g, &d, geo, sizeof geo, how, sizeof how)) return -1;
    uint8_t *m = lm_calloc((size_t)n * n, 1);
    int32_t *cols = lm_malloc((size_t)n * sizeof *cols);
    int *xs = lm_malloc((size_t)n * sizeof *xs), *ys = lm_malloc((size_t)n * sizeof *ys);
    for (int i = 0; i < n; i++) {
        int k = local_row(&g, d, i, cols, xs, ys);
        for (int c = 0; c < k; c++) m[(size_t)i * n + cols[c]] = 1;
    }
    free(cols), free(xs), free(ys);
    char desc[160];
    snprintf(desc, sizeof desc, "%.60s d=%.4g%.40s", geo, d, how);
    finish(out, n, m, d, desc);
    return 0;
}

/* Connections and distinct diagonals j - i of a local mask, row by row (O(nnz) time, O(N) memory). */
static int count_local(const LmMaskSpec *s, int n, int64_t *nnz, int64_t *n_diag) {
    Geometry g;
    double d;
    char geo[64], how[64];
    if (local_setup(s, n, &g, &d, geo, sizeof geo, how, sizeof how)) return -1;
    int32_t *cols = lm_malloc((size_t)n * sizeof *cols);
    int *xs = lm_malloc((size_t)n * sizeof *xs), *ys = lm_malloc((size_t)n * sizeof *ys);
    uint8_t *seen = lm_calloc((size_t)2 * n, 1);
    *nnz = *n_diag = 0;
    for (int i = 0; i < n; i++) {
        int k = local_row(&g, d, i, cols, xs, ys);
        *nnz += k;
        for (int c = 0; c < k; c++)
            if (!seen[cols[c] - i + n - 1]) seen[cols[c] - i + n - 1] = 1, ++*n_diag;
    }
    free(cols), free(xs), free(ys), free(seen);
    return 0;
}

int lm_mask_count(const LmMaskSpec *spec, int n, int64_t *nnz, int64_t *n_diag) {
    if (n <= 0) {
        lm_err_set("mask: number of units must be positive, got %d", n);
        return -1;
    }
    switch (spec->kind) {
    case LM_MASK_FULL: *nnz = (int64_t)n * n, *n_diag = 2 * (int64_t)n - 1; return 0;
    case LM_MASK_DIAG: *nnz = n, *n_diag = 1; return 0;
    case LM_MASK_LOCAL2D:
    case LM_MASK_LOCAL1D: return count_local(spec, n, nnz, n_diag);
    case LM_MASK_RANDOM:
        if (!(spec->density > 0 && spec->density <= 1)) {
            lm_err_set("random mask: density p must be in (0, 1], got %g", spec->density);
            return -1;
        }
        *nnz = (int64_t)ceil(spec->density * n * (double)n);
        *n_diag = 2 * (int64_t)n - 1;
        return 0;
    case LM_MASK_FILE: break;
    }
    LmMask m;   /* a file mask: its count is in the file, which is read anyway */
    if (lm_mask_build(spec, n, &m) != 0) return -1;
    *nnz = m.nnz;
    *n_diag = lm_mask_n_diag(&m);
    lm_mask_free(&m);
    return 0;
}

static int build_random(const LmMaskSpec *s, int n, LmMask *out) {
    if (s->d != 0) {
        lm_err_set("random mask takes a density p, not a distance (d = %g)", s->d);
        return -1;
    }
    double p = s->density;
    if (!(p > 0 && p <= 1)) {
        lm_err_set("random mask: density p must be in (0, 1], got %g", p);
        return -1;
    }
    LmRng r;
    lm_rng_seed(&r, s->seed);
    uint8_t *m = lm_malloc((size_t)n * n);
    for (size_t k = 0; k < (size_t)n * n; k++) m[k] = lm_rng_uniform(&r) < p;
    char desc[96];
    snprintf(desc, sizeof desc, "random p=%.4g seed=%llu", p, (unsigned long long)s->seed);
    finish(out, n, m, p, desc);
    return 0;
}

/* A 0/1 matrix from a .npy file; float, integer or uint8/bool data accepted, values exactly 0 or 1. */
static int build_file(const LmMaskSpec *s, int n, LmMask *out) {
    LmArray a;
    /* at most float64 [n, n] plus a header: a larger file (or /dev/zero) is refused unread */
    if (lm_npy_read_max(s->file, (size_t)n * n * 8 + 65536, &a)) return -1;
    int rc = -1;
    if (a.ndim != 2 || a.shape[0] != n || a.shape[1] != n) {
        lm_err_set("mask file %s: expected shape [%d, %d], found %d-d array%s%lld x %lld", s->file, n, n,
                   a.ndim, a.ndim == 2 ? " " : "", a.ndim >= 1 ? (long long)a.shape[0] : 0LL,
                   a.ndim >= 2 ? (long long)a.shape[1] : 0LL);
        goto done;
    }
    uint8_t *m = lm_malloc((size_t)n * n);
    for (size_t k = 0; k < (size_t)n * n; k++) {
        double v;
        switch (a.dtype) {
        case LM_DT_F32: v = ((const float *)a.data)[k]; break;
        case LM_DT_F64: v = ((const double *)a.data)[k]; break;
        case LM_DT_I32: v = ((const int32_t *)a.data)[k]; break;
        case LM_DT_I64: v = (double)((const int64_t *)a.data)[k]; break;
        case LM_DT_U8: v = ((const uint8_t *)a.data)[k]; break;
        default:
            lm_err_set("mask file %s: dtype %s is not a numeric 0/1 matrix", s->file, lm_dtype_name(a.dtype));
            free(m);
            goto done;
        }
        if (v != 0 && v != 1) {
            lm_err_set("mask file %s: entry [%zu][%zu] = %g is not 0 or 1", s->file, k / n, k % n, v);
            free(m);
            goto done;
        }
        m[k] = v == 1;
    }
    char desc[128];
    snprintf(desc, sizeof desc, "file %.100s", s->file);
    finish(out, n, m, 0, desc);
    rc = 0;
done:
    lm_array_free(&a);
    return rc;
}

int lm_mask_build(const LmMaskSpec *spec, int n, LmMask *out) {
    memset(out, 0, sizeof *out);
    if (n <= 0) {
        lm_err_set("mask: number of units must be positive, got %d", n);
        return -1;
    }
    switch (spec->kind) {
    case LM_MASK_FULL: {
        uint8_t *m = lm_malloc((size_t)n * n);
        memset(m, 1, (size_t)n * n);
        finish(out, n, m, 0, "full");
        return 0;
    }
    case LM_MASK_DIAG: {
        uint8_t *m = lm_calloc((size_t)n * n, 1);
        for (int i = 0; i < n; i++) m[(size_t)i * n + i] = 1;
        finish(out, n, m, 0, "diag");
        return 0;
    }
    case LM_MASK_LOCAL2D:
    case LM_MASK_LOCAL1D: return build_local(spec, n, out);
    case LM_MASK_RANDOM: return build_random(spec, n, out);
    case LM_MASK_FILE: return build_file(spec, n, out);
    }
    lm_err_set("mask: unknown kind %d", (int)spec->kind);
    return -1;
}

int lm_mask_from_array(int n, const uint8_t *m, const char *desc, LmMask *out) {
    memset(out, 0, sizeof *out);
    if (n <= 0) {
        lm_err_set("mask: number of units must be positive, got %d", n);
        return -1;
    }
    for (size_t k = 0; k < (size_t)n * n; k++)
        if (m[k] > 1) {
            lm_err_set("mask: entry [%zu][%zu] = %d is not 0 or 1", k / n, k % n, m[k]);
            return -1;
        }
    uint8_t *c = lm_malloc((size_t)n * n);
    memcpy(c, m, (size_t)n * n);
    finish(out, n, c, 0, desc ? desc : "array");
    return 0;
}

int64_t lm_mask_n_diag(const LmMask *m) {
    int n = m->n;
    uint8_t *seen = lm_calloc((size_t)2 * n, 1);
    int64_t nd = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (m->m[(size_t)i * n + j] && !seen[j - i + n - 1]) seen[j - i + n - 1] = 1, nd++;
    free(seen);
    return nd;
}

void lm_mask_free(LmMask *m) {
    if (!m) return;
    free(m->m);
    m->m = NULL;
}
