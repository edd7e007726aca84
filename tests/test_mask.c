/* Connectivity masks (docs/model.md §2): densities against hand counts and the table of docs/model.md §2, the d <->
 * density search, seeded random masks, .npy masks, and errors that name the bad value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "train/mask_file.h"
#include "io/npz.h"
#include "model/model.h"
#include "util/err.h"

static LmMask build_ok(LmMaskSpec s, int n) {
    LmMask m;
    int rc = lm_mask_build(&s, n, &m);
    CHECK(rc == 0, "%s", lm_err_msg());
    return m;
}

static int build_fails(LmMaskSpec s, int n, const char *needle) {
    LmMask m;
    int rc = lm_mask_build(&s, n, &m);
    if (rc == 0) {
        lm_mask_free(&m);
        return 0;
    }
    if (!strstr(lm_err_msg(), needle)) {
        fprintf(stderr, "  error '%s' does not mention '%s'\n", lm_err_msg(), needle);
        return 0;
    }
    return 1;
}

/* Open 16x16 sheet: the densities of docs/model.md §2. d=2 by hand: per axis 3 neighbours (2 at the 2 edges), so
 * (14*3 + 2*2)^2 = 2116 pairs. */
static void local2d_spec_densities(void) {
    const double d[4] = {2, 3, 4, 5}, want[4] = {0.0323, 0.0836, 0.1423, 0.2068};
    for (int k = 0; k < 4; k++) {
        LmMaskSpec s = {.kind = LM_MASK_LOCAL2D, .d = d[k]};
        LmMask m = build_ok(s, 256);
        CHECK(fabs(m.density - want[k]) < 5e-5, "d=%g density %.5f want %.4f", d[k], m.density, want[k]);
        CHECK(m.param == d[k]);
        if (k == 0) CHECK(m.nnz == 2116, "nnz %lld", (long long)m.nnz);
        /* symmetric, self included, strictly inside the radius */
        for (int i = 0; i < 256; i++) {
            CHECK(lm_mask_has(&m, i, i));
            for (int j = 0; j < 256; j++) {
                CHECK(lm_mask_has(&m, i, j) == lm_mask_has(&m, j, i));
                double dx = i % 16 - j % 16, dy = i / 16 - j / 16;
                CHECK(lm_mask_has(&m, i, j) == (sqrt(dx * dx + dy * dy) < d[k]));
            }
        }
        CHECK(strstr(m.desc, "local2d 16x16 open") != NULL, "%s", m.desc);
        lm_mask_free(&m);
    }
}

/* A target density picks the nearest achievable d and reports both. */
static void local2d_density_target(void) {
    LmMaskSpec s = {.kind = LM_MASK_LOCAL2D, .density = 0.08};
    LmMask m = build_ok(s, 256);
    CHECK(m.param == 3.0, "d %g", m.param);
    CHECK(fabs(m.density - 0.0836) < 5e-5);
    lm_mask_free(&m);
    s.density = 0.033;
    m = build_ok(s, 256);
    CHECK(m.param == 2.0 && m.nnz == 2116, "d %g nnz %lld", m.param, (long long)m.nnz);
    lm_mask_free(&m);
    s.density = 1.0;   /* everything: d beyond the largest distance */
    m = build_ok(s, 256);
    CHECK(m.nnz == 256 * 256);
    lm_mask_free(&m);
    s.density = 1e-9;  /* only the self connections */
    m = build_ok(s, 256);
    CHECK(m.nnz == 256 && m.param == 1.0, "nnz %lld d %g", (long long)m.nnz, m.param);
    lm_mask_free(&m);
}

/* Periodic sheet: every unit has the same neighbourhood. d=2 on a torus: 9 per unit. A non-square
 * grid given as nx. */
static void local2d_periodic_and_grid(void) {
    LmMaskSpec s = {.kind = LM_MASK_LOCAL2D, .d = 2, .periodic = 1};
    LmMask m = build_ok(s, 256);
    CHECK(m.nnz == 256 * 9, "nnz %lld", (long long)m.nnz);
    CHECK(lm_mask_has(&m, 0, 15) && lm_mask_has(&m, 0, 240) && lm_mask_has(&m, 0, 255));   /* wrap-arounds */
    lm_mask_free(&m);
    LmMaskSpec g = {.kind = LM_MASK_LOCAL2D, .d = 1.1, .nx = 8};   /* 8 x 4 grid, 4-neighbourhood */
    m = build_ok(g, 32);
    /* open 8x4: horizontal pairs 7*4*2, vertical 8*3*2, self 32 */
    CHECK(m.nnz == 56 + 48 + 32, "nnz %lld", (long long)m.nnz);
    CHECK(lm_mask_has(&m, 0, 8) && !lm_mask_has(&m, 0, 7));
    lm_mask_free(&m);
}

static void local1d_ring(void) {
    LmMaskSpec s = {.kind = LM_MASK_LOCAL1D, .d = 2.5};   /* |i-j| <= 2 around the ring */
    LmMask m = build_ok(s, 20);
    CHECK(m.nnz == 20 * 5);
    CHECK(lm_mask_has(&m, 0, 19) && lm_mask_has(&m, 0, 18) && !lm_mask_has(&m, 0, 17));
    lm_mask_free(&m);
    LmMaskSpec t = {.kind = LM_MASK_LOCAL1D, .density = 0.3};   /* 100 units: 2k+1 = 30 -> 29 or 31 */
    m = build_ok(t, 100);
    CHECK(m.nnz == 100 * 29 || m.nnz == 100 * 31, "nnz %lld", (long long)m.nnz);
    lm_mask_free(&m);
}

static void random_diag_full(void) {
    LmMaskSpec s = {.kind = LM_MASK_RANDOM, .density = 0.0836, .seed = 9};
    LmMask a = build_ok(s, 256), b = build_ok(s, 256);
    CHECK(lm_mask_equal(&a, &b), "same seed, same mask");
    /* binomial sd of the density: sqrt(p(1-p)/65536) = 0.0011 */
    CHECK(fabs(a.density - 0.0836) < 0.0045, "density %.4f", a.density);
    s.seed = 10;
    LmMask c = build_ok(s, 256);
    CHECK(!lm_mask_equal(&a, &c));
    lm_mask_free(&a), lm_mask_free(&b), lm_mask_free(&c);
    s.density = 1;
    a = build_ok(s, 16);
    CHECK(a.nnz == 256);
    lm_mask_free(&a);
    LmMaskSpec d = {.kind = LM_MASK_DIAG};
    a = build_ok(d, 10);
    CHECK(a.nnz == 10 && fabs(a.density - 0.1) < 1e-12);
    for (int i = 0; i < 10; i++) CHECK(lm_mask_has(&a, i, i));
    lm_mask_free(&a);
    LmMaskSpec f = {.kind = LM_MASK_FULL};
    a = build_ok(f, 7);
    CHECK(a.nnz == 49 && a.density == 1.0);
    lm_mask_free(&a);
}

/* File masks are read by the training layer (the model does not read files). */
static LmMask file_ok(LmMaskSpec s, int n) {
    LmMask m;
    int rc = lm_mask_file_read(s.file, n, &m);
    CHECK(rc == 0, "%s", lm_err_msg());
    return m;
}

static int file_fails(LmMaskSpec s, int n, const char *needle) {
    LmMask m;
    if (lm_mask_file_read(s.file, n, &m) == 0) {
        lm_mask_free(&m);
        return 0;
    }
    if (!strstr(lm_err_msg(), needle)) {
        fprintf(stderr, "  error '%s' does not mention '%s'\n", lm_err_msg(), needle);
        return 0;
    }
    return 1;
}

static void file_masks(void) {
    char dir[] = "/tmp/lmrnn_mask_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    int64_t shape[2] = {4, 4};
    /* float32 0/1 */
    float f[16] = {0};
    for (int i = 0; i < 4; i++) f[i * 4 + i] = 1, f[i * 4 + (i + 1) % 4] = 1;
    snprintf(path, sizeof path, "%s/ok_f32.npy", dir);
    CHECK(lm_npy_write(path, LM_DT_F32, 2, shape, f) == 0, "%s", lm_err_msg());
    LmMaskSpec s = {.kind = LM_MASK_FILE};
    snprintf(s.file, sizeof s.file, "%s", path);
    LmMask m = file_ok(s, 4);
    CHECK(m.nnz == 8 && lm_mask_has(&m, 0, 1) && lm_mask_has(&m, 3, 0) && !lm_mask_has(&m, 1, 0));
    lm_mask_free(&m);
    /* uint8 and int64 */
    uint8_t u[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1};
    snprintf(path, sizeof path, "%s/ok_u8.npy", dir);
    CHECK(lm_npy_write(path, LM_DT_U8, 2, shape, u) == 0);
    snprintf(s.file, sizeof s.file, "%s", path);
    m = file_ok(s, 4);
    CHECK(m.nnz == 7);
    lm_mask_free(&m);
    int64_t l[16] = {0};
    l[5] = 1;
    snprintf(path, sizeof path, "%s/ok_i64.npy", dir);
    CHECK(lm_npy_write(path, LM_DT_I64, 2, shape, l) == 0);
    snprintf(s.file, sizeof s.file, "%s", path);
    m = file_ok(s, 4);
    CHECK(m.nnz == 1 && lm_mask_has(&m, 1, 1));
    lm_mask_free(&m);
    /* not 0/1 */
    f[6] = 0.5f;
    snprintf(path, sizeof path, "%s/bad_val.npy", dir);
    CHECK(lm_npy_write(path, LM_DT_F32, 2, shape, f) == 0);
    snprintf(s.file, sizeof s.file, "%s", path);
    CHECK(file_fails(s, 4, "[1][2] = 0.5 is not 0 or 1"));
    /* wrong shape */
    CHECK(file_fails(s, 5, "expected shape [5, 5]"));
    int64_t shape1[1] = {16};
    snprintf(path, sizeof path, "%s/bad_dim.npy", dir);
    CHECK(lm_npy_write(path, LM_DT_U8, 1, shape1, u) == 0);
    snprintf(s.file, sizeof s.file, "%s", path);
    CHECK(file_fails(s, 4, "expected shape [4, 4]"));
    /* missing file: the io layer's message names the path */
    snprintf(s.file, sizeof s.file, "%s/none.npy", dir);
    CHECK(file_fails(s, 4, "none.npy"));
    /* the model itself refuses to read a file */
    CHECK(build_fails(s, 4, "lm_mask_file_read"));
    const char *names[] = {"ok_f32", "ok_u8", "ok_i64", "bad_val", "bad_dim"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s.npy", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void invalid_configs(void) {
    LmMaskSpec s = {.kind = LM_MASK_LOCAL2D, .d = 3};
    CHECK(build_fails(s, 250, "N = 250 is not a perfect square"));
    s.nx = 10, s.ny = 20;
    CHECK(build_fails(s, 256, "grid 10 x 20 = 200 units but N = 256"));
    s.nx = 7, s.ny = 0;
    CHECK(build_fails(s, 256, "grid side 7 does not divide N = 256"));
    LmMaskSpec z = {.kind = LM_MASK_LOCAL2D, .d = -1};
    CHECK(build_fails(z, 256, "d must be > 0, got -1"));
    LmMaskSpec dn = {.kind = LM_MASK_LOCAL2D, .density = 1.5};
    CHECK(build_fails(dn, 256, "density must be in (0, 1], got 1.5"));
    LmMaskSpec both = {.kind = LM_MASK_LOCAL1D, .d = 2, .density = 0.1};
    CHECK(build_fails(both, 256, "not both"));
    LmMaskSpec none = {.kind = LM_MASK_LOCAL2D};
    CHECK(build_fails(none, 256, "needs a distance d or a target density"));
    LmMaskSpec r0 = {.kind = LM_MASK_RANDOM, .density = 0};
    CHECK(build_fails(r0, 256, "got 0"));
    LmMaskSpec rn = {.kind = LM_MASK_RANDOM, .density = NAN};
    CHECK(build_fails(rn, 256, "density p must be in (0, 1]"));
    LmMaskSpec rd = {.kind = LM_MASK_RANDOM, .d = 3, .density = 0.1};
    CHECK(build_fails(rd, 256, "not a distance"));
    LmMaskSpec full = {.kind = LM_MASK_FULL};
    CHECK(build_fails(full, 0, "got 0"));
    LmMaskKind k;
    CHECK(lm_mask_kind_parse("local2d", &k) == 0 && k == LM_MASK_LOCAL2D);
    CHECK(lm_mask_kind_parse("locl2d", &k) == -1 && strstr(lm_err_msg(), "'locl2d'"));
    CHECK(strcmp(lm_mask_kind_name(LM_MASK_DIAG), "diag") == 0);
    uint8_t bad[4] = {0, 1, 2, 0};
    LmMask m;
    CHECK(lm_mask_from_array(2, bad, "x", &m) == -1 && strstr(lm_err_msg(), "[1][0] = 2"));
    uint8_t good[4] = {1, 0, 1, 1};
    CHECK(lm_mask_from_array(2, good, "tri", &m) == 0 && m.nnz == 3);
    lm_mask_free(&m);
}

int main(void) {
    RUN(local2d_spec_densities);
    RUN(local2d_density_target);
    RUN(local2d_periodic_and_grid);
    RUN(local1d_ring);
    RUN(random_diag_full);
    RUN(file_masks);
    RUN(invalid_configs);
    return CHECK_DONE();
}
