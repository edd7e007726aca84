/* Connectivity masks (docs/model.md §2). M[i][j] = 1 allows the connection from unit j to unit i. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/model.h"
#include "util/err.h"

/* A mask under construction, row by row: CSR arrays grown as columns arrive (ascending in each row). */
typedef struct {
    int n, row;
    int64_t cap, nnz;
    int32_t *row_ptr, *col_idx;
} Builder;

static void builder_init(Builder *b, int n, int64_t guess) {
    b->n = n, b->row = 0, b->nnz = 0;
    b->cap = guess > 16 ? guess : 16;
    b->row_ptr = lm_malloc(((size_t)n + 1) * sizeof(int32_t));
    b->row_ptr[0] = 0;
    b->col_idx = lm_malloc((size_t)b->cap * sizeof(int32_t));
}

/* Append column j to the current row; -1 + lm_err_set past the 32-bit index range of the kernels. */
static int builder_push(Builder *b, int32_t j) {
    if (b->nnz >= INT32_MAX) {
        lm_err_set("mask: more than %d connections (the sparse index limit)", INT32_MAX);
        return -1;
    }
    if (b->nnz == b->cap) {
        b->cap = b->cap * 2 < INT32_MAX ? b->cap * 2 : INT32_MAX;
        b->col_idx = lm_realloc(b->col_idx, (size_t)b->cap * sizeof(int32_t));
    }
    b->col_idx[b->nnz++] = j;
    return 0;
}

static void builder_end_row(Builder *b) { b->row_ptr[++b->row] = (int32_t)b->nnz; }

static void builder_free(Builder *b) {
    free(b->row_ptr), free(b->col_idx);
    b->row_ptr = b->col_idx = NULL;
}

static void finish(LmMask *out, Builder *b, double param, const char *desc) {
    /* desc is truncated to leave room for the density */
    LM_ASSERT(b->row == b->n);
    out->n = b->n;
    out->row_ptr = b->row_ptr;
    out->col_idx = b->nnz == b->cap ? b->col_idx : lm_realloc(b->col_idx, (size_t)(b->nnz ? b->nnz : 1) * sizeof(int32_t));
    out->nnz = b->nnz;
    out->density = (double)b->nnz / ((double)b->n * b->n);
    out->param = param;
    snprintf(out->desc, sizeof out->desc, "%.130s density=%.4f", desc, out->density);
}

/* A dense 0/1 matrix (any element type through `at`) as a mask; -1 + lm_err_set on a value not 0/1. */
static int from_dense(int n, double (*at)(const void *, size_t), const void *data, const char *what,
                      Builder *b) {
    builder_init(b, n, n);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double v = at(data, (size_t)i * n + j);
            if (v != 0 && v != 1) {
                lm_err_set("%s: entry [%d][%d] = %g is not 0 or 1", what, i, j, v);
                builder_free(b);
                return -1;
            }
            if (v == 1 && builder_push(b, j)) {
                builder_free(b);
                return -1;
            }
        }
        builder_end_row(b);
    }
    return 0;
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
    Builder b;
    builder_init(&b, n, 4 * (int64_t)n);
    int32_t *cols = lm_malloc((size_t)n * sizeof *cols);
    int *xs = lm_malloc((size_t)n * sizeof *xs), *ys = lm_malloc((size_t)n * sizeof *ys);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int k = local_row(&g, d, i, cols, xs, ys);
        for (int c = 0; c < k && rc == 0; c++) rc = builder_push(&b, cols[c]);
        builder_end_row(&b);
    }
    free(cols), free(xs), free(ys);
    if (rc) {
        builder_free(&b);
        return -1;
    }
    char desc[160];
    snprintf(desc, sizeof desc, "%.60s d=%.4g%.40s", geo, d, how);
    finish(out, &b, d, desc);
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

/* The number of connections of a random_diag mask of density p on n units: round(p n^2), at least n. */
static int random_diag_count(double p, int n, int64_t *nnz) {
    if (!(p > 0 && p <= 1)) {
        lm_err_set("random_diag mask: density p must be in (0, 1], got %g", p);
        return -1;
    }
    int64_t k = (int64_t)llround(p * (double)n * (double)n);
    if (k < n) {
        lm_err_set("random_diag mask: density p = %g is below the diagonal's 1/N = %g", p, 1.0 / n);
        return -1;
    }
    *nnz = k;
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
    case LM_MASK_RANDOM_DIAG:
        *n_diag = 2 * (int64_t)n - 1;
        return random_diag_count(spec->density, n, nnz);
    case LM_MASK_FILE: break;
    }
    lm_err_set("mask: a file mask is counted with lm_train_mask_count (train/mask_file.h)");
    return -1;
}

/* One uniform per pair in row-major order: the mask of a seed never changes (every network up to
 * LM_RANDOM_MASK_PAIRWISE_MAX units, the size of every run before the gap sampler existed). O(N^2). */
static int random_pairwise(Builder *b, LmRng *r, int n, double p) {
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++)
            if (lm_rng_uniform(r) < p && builder_push(b, j)) return -1;
        builder_end_row(b);
    }
    return 0;
}

/* The same Bernoulli(p) law per pair in O(nnz): the gap to the next connection in row-major order is
 * geometric, floor(log(U) / log(1 - p)) pairs skipped (U uniform in (0, 1]). */
static int random_gaps(Builder *b, LmRng *r, int n, double p) {
    const double log_q = p < 1 ? log1p(-p) : 0;
    int64_t total = (int64_t)n * n, pos = -1;
    int row = 0;
    for (;;) {
        double skip = p < 1 ? floor(log(1.0 - lm_rng_uniform(r)) / log_q) : 0;
        if (skip >= (double)(total - pos)) break;
        pos += (int64_t)skip + 1;
        if (pos >= total) break;
        for (; row < pos / n; row++) builder_end_row(b);
        if (builder_push(b, (int)(pos % n))) return -1;
    }
    for (; row < n; row++) builder_end_row(b);
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
    Builder b;
    builder_init(&b, n, (int64_t)(p * n * (double)n * 1.01) + n);
    int rc = n <= LM_RANDOM_MASK_PAIRWISE_MAX ? random_pairwise(&b, &r, n, p) : random_gaps(&b, &r, n, p);
    if (rc != 0) {
        builder_free(&b);
        return -1;
    }
    char desc[96];
    snprintf(desc, sizeof desc, "random p=%.4g seed=%llu", p, (unsigned long long)s->seed);
    finish(out, &b, p, desc);
    return 0;
}

/* Every autapse plus an exact number of off-diagonal connections, chosen uniformly without replacement
 * by selection sampling (Knuth's algorithm S: each position in turn is taken with probability
 * still-needed / still-left), in one pass over the matrix. */
static int build_random_diag(const LmMaskSpec *s, int n, LmMask *out) {
    if (s->d != 0) {
        lm_err_set("random_diag mask takes a density p, not a distance (d = %g)", s->d);
        return -1;
    }
    int64_t nnz;
    if (random_diag_count(s->density, n, &nnz) != 0) return -1;
    LmRng r;
    lm_rng_seed(&r, s->seed);
    Builder b;
    builder_init(&b, n, nnz);
    int64_t need = nnz - n, left = (int64_t)n * n - n;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            int take = i == j;
            if (i != j) {
                take = (double)left * lm_rng_uniform(&r) < (double)need;
                need -= take;
                left--;
            }
            if (take && builder_push(&b, j)) {
                builder_free(&b);
                return -1;
            }
        }
        builder_end_row(&b);
    }
    char desc[96];
    snprintf(desc, sizeof desc, "random_diag p=%.4g seed=%llu", s->density, (unsigned long long)s->seed);
    finish(out, &b, s->density, desc);
    return 0;
}

int lm_mask_build(const LmMaskSpec *spec, int n, LmMask *out) {
    memset(out, 0, sizeof *out);
    if (n <= 0) {
        lm_err_set("mask: number of units must be positive, got %d", n);
        return -1;
    }
    Builder b;
    switch (spec->kind) {
    case LM_MASK_FULL:
        if ((int64_t)n * n > INT32_MAX) {
            lm_err_set("mask: a full mask of %d units has more than %d connections (the sparse index limit)", n,
                       INT32_MAX);
            return -1;
        }
        builder_init(&b, n, (int64_t)n * n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) builder_push(&b, j);
            builder_end_row(&b);
        }
        finish(out, &b, 0, "full");
        return 0;
    case LM_MASK_DIAG:
        builder_init(&b, n, n);
        for (int i = 0; i < n; i++) {
            builder_push(&b, i);
            builder_end_row(&b);
        }
        finish(out, &b, 0, "diag");
        return 0;
    case LM_MASK_LOCAL2D:
    case LM_MASK_LOCAL1D: return build_local(spec, n, out);
    case LM_MASK_RANDOM: return build_random(spec, n, out);
    case LM_MASK_FILE: break;
    case LM_MASK_RANDOM_DIAG: return build_random_diag(spec, n, out);
    }
    if (spec->kind == LM_MASK_FILE) {   /* the model does not read files: see train/mask_file.h */
        lm_err_set("mask: a file mask is read with lm_mask_file_read (train/mask_file.h), not built from a spec");
        return -1;
    }
    lm_err_set("mask: unknown kind %d", (int)spec->kind);
    return -1;
}

static double at_u8(const void *d, size_t k) { return ((const uint8_t *)d)[k]; }

int lm_mask_from_array(int n, const uint8_t *m, const char *desc, LmMask *out) {
    memset(out, 0, sizeof *out);
    if (n <= 0) {
        lm_err_set("mask: number of units must be positive, got %d", n);
        return -1;
    }
    Builder b;
    if (from_dense(n, at_u8, m, "mask", &b)) return -1;
    finish(out, &b, 0, desc ? desc : "array");
    return 0;
}

int lm_mask_copy(const LmMask *src, LmMask *out) {
    *out = *src;
    out->row_ptr = lm_malloc(((size_t)src->n + 1) * sizeof(int32_t));
    out->col_idx = lm_malloc((size_t)(src->nnz ? src->nnz : 1) * sizeof(int32_t));
    memcpy(out->row_ptr, src->row_ptr, ((size_t)src->n + 1) * sizeof(int32_t));
    memcpy(out->col_idx, src->col_idx, (size_t)src->nnz * sizeof(int32_t));
    return 0;
}

int lm_mask_equal(const LmMask *a, const LmMask *b) {
    return a->n == b->n && a->nnz == b->nnz &&
           !memcmp(a->row_ptr, b->row_ptr, ((size_t)a->n + 1) * sizeof(int32_t)) &&
           !memcmp(a->col_idx, b->col_idx, (size_t)a->nnz * sizeof(int32_t));
}

int lm_mask_has(const LmMask *m, int i, int j) {
    int32_t lo = m->row_ptr[i], hi = m->row_ptr[i + 1];
    while (lo < hi) {   /* columns ascend within a row */
        int32_t mid = lo + (hi - lo) / 2;
        if (m->col_idx[mid] < j) lo = mid + 1;
        else hi = mid;
    }
    return lo < m->row_ptr[i + 1] && m->col_idx[lo] == j;
}

void lm_mask_to_dense(const LmMask *m, uint8_t *out) {
    memset(out, 0, (size_t)m->n * m->n);
    for (int i = 0; i < m->n; i++)
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++) out[(size_t)i * m->n + m->col_idx[p]] = 1;
}

int64_t lm_mask_n_diag(const LmMask *m) {
    int n = m->n;
    uint8_t *seen = lm_calloc((size_t)2 * n, 1);
    int64_t nd = 0;
    for (int i = 0; i < n; i++)
        for (int32_t p = m->row_ptr[i]; p < m->row_ptr[i + 1]; p++) {
            int32_t k = m->col_idx[p] - i + n - 1;
            if (!seen[k]) seen[k] = 1, nd++;
        }
    free(seen);
    return nd;
}

void lm_mask_free(LmMask *m) {
    if (!m) return;
    free(m->row_ptr);
    free(m->col_idx);
    m->row_ptr = m->col_idx = NULL;
}
