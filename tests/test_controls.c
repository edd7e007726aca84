/* The controls of the C3/C4 study: the random mask that keeps every autapse (random_diag: density
 * exact, diagonal kept, off-diagonal uniform), and the fan-in-scaled initialisations (gaussian_fanin:
 * variance g^2 / fan_in per row; randortho_fanin: rows of norm g; both zero outside the mask), on the
 * dense and the sparse paths, and the names through the train options. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model/model.h"
#include "train/config.h"
#include "train/trainer.h"
#include "util/err.h"

static void random_diag_mask(void) {
    const int n = 100;
    const double ps[3] = {0.05, 0.3, 1.0};
    for (int t = 0; t < 3; t++) {
        LmMaskSpec s;
        memset(&s, 0, sizeof s);
        s.kind = LM_MASK_RANDOM_DIAG;
        s.density = ps[t];
        s.seed = 7;
        LmMask m;
        CHECK(lm_mask_build(&s, n, &m) == 0, "%s", lm_err_msg());
        int64_t want = (int64_t)llround(ps[t] * n * n), nnz = 0, diag = 0, upper = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                int on = lm_mask_has(&m, i, j);
                nnz += on;
                if (i == j) diag += on;
                if (j > i) upper += on;
            }
        CHECK(nnz == want && m.nnz == want, "p %g: %lld connections, want %lld", ps[t], (long long)nnz, (long long)want);
        CHECK(diag == n, "diagonal: %lld of %d", (long long)diag, n);
        CHECK(fabs(m.density - (double)want / (n * n)) < 1e-12);
        /* Off-diagonal entries are uniform: half above the diagonal, within 5 standard deviations. */
        double off = (double)(nnz - n);
        if (off > 0 && ps[t] < 1) CHECK(fabs(upper - off / 2) < 5 * sqrt(off / 4), "upper %lld of %g", (long long)upper, off);
        int64_t cnt, nd;
        CHECK(lm_mask_count(&s, n, &cnt, &nd) == 0 && cnt == want);
        /* Another seed, another mask of the same size. */
        LmMask m2;
        s.seed = 8;
        CHECK(lm_mask_build(&s, n, &m2) == 0 && m2.nnz == want);
        if (ps[t] < 1) CHECK(memcmp(m.col_idx, m2.col_idx, sizeof(int32_t) * (size_t)want) != 0);
        lm_mask_free(&m);
        lm_mask_free(&m2);
    }
    LmMaskSpec s;
    memset(&s, 0, sizeof s);
    s.kind = LM_MASK_RANDOM_DIAG;
    s.density = 0.005;   /* below 1/N = 0.01 */
    LmMask m;
    CHECK(lm_mask_build(&s, n, &m) == -1 && strstr(lm_err_msg(), "below the diagonal"), "%s", lm_err_msg());
    LmMaskKind k;
    CHECK(lm_mask_kind_parse("random_diag", &k) == 0 && k == LM_MASK_RANDOM_DIAG);
    CHECK(!strcmp(lm_mask_kind_name(LM_MASK_RANDOM_DIAG), "random_diag"));
}

/* W_rec of a freshly initialised model of n units on mask `spec`. */
static float *init_rec(int n, LmMaskSpec spec, LmRecInit init, double gain, LmRecPath path, LmMask *mask) {
    if (lm_mask_build(&spec, n, mask) != 0) return NULL;
    LmModelConfig c;
    lm_model_config_default(&c, 5, n, 3);
    c.rec_init = init;
    c.rec_gain = gain;
    c.path = path;
    LmModel *m = lm_model_new(&c, mask);
    if (!m) return NULL;
    LmRng r;
    lm_rng_seed(&r, 11);
    lm_model_init(m, &r);
    float *w = malloc(sizeof(float) * (size_t)n * n);
    lm_model_export_tensor(m, 2, w);
    lm_model_free(m);
    return w;
}

static void fanin_inits(void) {
    const int n = 256;   /* local2d d=3 on the 16x16 sheet: fan-in 29 inside, fewer at edges and corners */
    LmMaskSpec spec;
    memset(&spec, 0, sizeof spec);
    spec.kind = LM_MASK_LOCAL2D;
    spec.d = 3;
    const double g = 1.3;
    for (int path = 0; path < 2; path++) {
        LmMask mask;
        float *w = init_rec(n, spec, LM_INIT_GAUSSIAN_FANIN, g, path ? LM_PATH_SPARSE : LM_PATH_DENSE, &mask);
        CHECK(w != NULL, "%s", lm_err_msg());
        if (!w) return;
        /* Pooled over rows: E[w_ij^2 fan_in(i) / g^2] = 1 for every masked-in entry. */
        double sum = 0, outside = 0;
        int64_t cnt = 0, fan_min = n, fan_max = 0;
        for (int i = 0; i < n; i++) {
            int64_t fan_in = 0;
            fan_in = mask.row_ptr[i + 1] - mask.row_ptr[i];
            if (fan_in < fan_min) fan_min = fan_in;
            if (fan_in > fan_max) fan_max = fan_in;
            for (int j = 0; j < n; j++) {
                double v = w[(size_t)i * n + j];
                if (!lm_mask_has(&mask, i, j)) outside += fabs(v);
                else sum += v * v * (double)fan_in / (g * g), cnt++;
            }
        }
        CHECK(fan_min < fan_max, "fan-ins vary (%lld..%lld)", (long long)fan_min, (long long)fan_max);
        CHECK(outside == 0);
        /* Sum of cnt ~ chi^2 / dof terms: mean 1, sd sqrt(2 / cnt) ~ 0.016 for 7000 entries. */
        CHECK(fabs(sum / cnt - 1) < 5 * sqrt(2.0 / cnt), "pooled variance ratio %g over %lld", sum / cnt, (long long)cnt);
        free(w);
        lm_mask_free(&mask);

        w = init_rec(n, spec, LM_INIT_RANDORTHO_FANIN, g, path ? LM_PATH_SPARSE : LM_PATH_DENSE, &mask);
        CHECK(w != NULL);
        if (!w) return;
        double worst = 0;
        outside = 0;
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int j = 0; j < n; j++) {
                double v = w[(size_t)i * n + j];
                if (!lm_mask_has(&mask, i, j)) outside += fabs(v);
                ss += v * v;
            }
            worst = fmax(worst, fabs(sqrt(ss) - g));
        }
        CHECK(outside == 0 && worst < 1e-5, "row norms off by %g", worst);
        free(w);
        lm_mask_free(&mask);
    }
    /* On the full mask randortho_fanin is g Q: W W^T = g^2 I. */
    spec.kind = LM_MASK_FULL;
    LmMask mask;
    float *w = init_rec(64, spec, LM_INIT_RANDORTHO_FANIN, g, LM_PATH_DENSE, &mask);
    CHECK(w != NULL);
    if (!w) return;
    double worst = 0;
    for (int i = 0; i < 64; i++)
        for (int k = 0; k < 64; k++) {
            double dot = 0;
            for (int j = 0; j < 64; j++) dot += (double)w[i * 64 + j] * w[k * 64 + j];
            worst = fmax(worst, fabs(dot - (i == k ? g * g : 0)));
        }
    CHECK(worst < 1e-5, "W W^T - g^2 I: %g", worst);
    free(w);
    lm_mask_free(&mask);
}

static void names_through_train_options(void) {
    LmTrainConfig c;
    lm_train_config_default(&c);
    CHECK(lm_train_config_set(&c, "init", "gaussian_fanin") == 0 && c.init == LM_INIT_GAUSSIAN_FANIN);
    CHECK(lm_train_config_set(&c, "init", "randortho_fanin") == 0 && c.init == LM_INIT_RANDORTHO_FANIN);
    CHECK(lm_train_config_set(&c, "mask", "random_diag") == 0 && c.mask == LM_MASK_RANDOM_DIAG);
    snprintf(c.out, sizeof c.out, "x");
    CHECK(lm_train_config_validate(&c) == -1 && strstr(lm_err_msg(), "random_diag needs --density"), "%s",
          lm_err_msg());
    CHECK(lm_train_config_set(&c, "match_density_of", "3") == 0 && lm_train_config_validate(&c) == 0, "%s",
          lm_err_msg());
    /* density-matched to local2d d=3 on the default sheet, with every autapse */
    LmMask m;
    CHECK(lm_train_build_mask(&c, &m) == 0, "%s", lm_err_msg());
    LmMaskSpec ls;
    memset(&ls, 0, sizeof ls);
    ls.kind = LM_MASK_LOCAL2D;
    ls.d = 3;
    LmMask local;
    CHECK(lm_mask_build(&ls, 256, &local) == 0);
    CHECK(m.nnz == local.nnz, "random_diag %lld vs local2d %lld", (long long)m.nnz, (long long)local.nnz);
    for (int i = 0; i < 256; i++) CHECK(lm_mask_has(&m, i, i));
    lm_mask_free(&m);
    lm_mask_free(&local);
}

/* Random masks wider than LM_RANDOM_MASK_PAIRWISE_MAX draw geometric gaps (O(nnz)): the same law as one
 * Bernoulli(p) per pair. At N = 20 000, p = 2e-4 (80 000 expected): the count within 5 sigma of p N^2,
 * columns ascending in every row, the upper and lower triangles and the left and right halves of the
 * columns within 5 sigma of half each, the diagonal's count within 5 sigma of p N, and the same seed gives
 * the same mask. */
static void random_mask_gap_sampling(void) {
    const int n = 20000;
    const double p = 2e-4;
    LmMaskSpec s = {.kind = LM_MASK_RANDOM, .density = p, .seed = 7};
    LmMask m, again;
    CHECK(n > LM_RANDOM_MASK_PAIRWISE_MAX);
    CHECK(lm_mask_build(&s, n, &m) == 0 && lm_mask_build(&s, n, &again) == 0, "%s", lm_err_msg());
    double mean = p * n * (double)n, sd = sqrt(mean * (1 - p));
    CHECK(fabs(m.nnz - mean) < 5 * sd, "nnz %lld, expected %.0f +- %.0f", (long long)m.nnz, mean, sd);
    int64_t upper = 0, left = 0, diag = 0, unsorted = 0;
    for (int i = 0; i < n; i++)
        for (int32_t q = m.row_ptr[i]; q < m.row_ptr[i + 1]; q++) {
            int j = m.col_idx[q];
            upper += j > i, left += j < n / 2, diag += j == i;
            unsorted += q > m.row_ptr[i] && j <= m.col_idx[q - 1];
        }
    double half_sd = 0.5 * sqrt((double)m.nnz);
    CHECK(unsorted == 0, "%lld columns out of order", (long long)unsorted);
    CHECK(fabs(upper - (m.nnz - diag) / 2.0) < 5 * half_sd, "upper triangle %lld of %lld", (long long)upper,
          (long long)m.nnz);
    CHECK(fabs(left - m.nnz / 2.0) < 5 * half_sd, "left half %lld of %lld", (long long)left, (long long)m.nnz);
    CHECK(fabs(diag - p * n) < 5 * sqrt(p * n) + 1, "diagonal %lld, expected %.1f", (long long)diag, p * n);
    CHECK(again.nnz == m.nnz && !memcmp(again.col_idx, m.col_idx, (size_t)m.nnz * sizeof(int32_t)) &&
              !memcmp(again.row_ptr, m.row_ptr, (size_t)(n + 1) * sizeof(int32_t)),
          "the same seed gave another mask");
    lm_mask_free(&m), lm_mask_free(&again);
}

int main(void) {
    RUN(random_diag_mask);
    RUN(random_mask_gap_sampling);
    RUN(fanin_inits);
    RUN(names_through_train_options);
    return CHECK_DONE();
}
