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

/* The distance threshold d whose mask density is closest to `target`. Distances are square roots of
 * integers, so only the distinct squared distances s_0 < s_1 < ... matter: the threshold that keeps
 * every pair with dist^2 <= s_k is reported as d = sqrt(s_{k+1}) (strict "<"). Ties go to the sparser. */
static double d_for_density(const Geometry *g, double target) {
    int n = g->n;
    int64_t maxd2 = g->kind == LM_MASK_LOCAL1D ? (int64_t)(n / 2) * (n / 2)
                                               : (int64_t)(g->nx - 1) * (g->nx - 1) + (int64_t)(g->ny - 1) * (g->ny - 1);
    int64_t *count = lm_calloc((size_t)maxd2 + 1, sizeof *count);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) count[dist2(g, i, j)]++;
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

static int build_local(const LmMaskSpec *s, int n, LmMask *out) {
    Geometry g = {(int)s->kind, n, 0, 1, 1};
    const char *kind = lm_mask_kind_name(s->kind);
    if (check_d_or_density(s, kind)) return -1;
    char geo[64];
    if (s->kind == LM_MASK_LOCAL2D) {
        g.periodic = s->periodic != 0;
        g.nx = s->nx;
        g.ny = s->ny;
        if (g.nx < 0 || g.ny < 0) {
            lm_err_set("local2d mask: grid %d x %d has a negative side", g.nx, g.ny);
            return -1;
        }
        if (g.nx == 0 && g.ny == 0) {
            int r = (int)lround(sqrt((double)n));
            if (r * r != n) {
                lm_err_set("local2d mask: N = %d is not a perfect square; give the grid as nx x ny", n);
                return -1;
            }
            g.nx = g.ny = r;
        } else if (g.nx == 0 || g.ny == 0) {
            int side = g.nx ? g.nx : g.ny;
            if (n % side) {
                lm_err_set("local2d mask: grid side %d does not divide N = %d", side, n);
                return -1;
            }
            if (g.nx == 0) g.nx = n / side; else g.ny = n / side;
        }
        if ((int64_t)g.nx * g.ny != n) {
            lm_err_set("local2d mask: grid %d x %d = %lld units but N = %d", g.nx, g.ny,
                       (long long)g.nx * g.ny, n);
            return -1;
        }
        snprintf(geo, sizeof geo, "local2d %dx%d %s", g.nx, g.ny, g.periodic ? "periodic" : "open");
    } else {
        snprintf(geo, sizeof geo, "local1d ring %d", n);
    }
    double d = s->d;
    char how[64] = "";
    if (d == 0) {
        d = d_for_density(&g, s->density);
        snprintf(how, sizeof how, " (target density %.4f)", s->density);
    }
    uint8_t *m = lm_malloc((size_t)n * n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) m[(size_t)i * n + j] = i == j || sqrt((double)dist2(&g, i, j)) < d;
    char desc[160];
    snprintf(desc, sizeof desc, "%.60s d=%.4g%.40s", geo, d, how);
    finish(out, n, m, d, desc);
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
    if (lm_npy_read(s->file, &a)) return -1;
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

void lm_mask_free(LmMask *m) {
    if (!m) return;
    free(m->m);
    m->m = NULL;
}
