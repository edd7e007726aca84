/* The explicit generators: reproducible, independent children, correct ranges and moments. */
#include <stdlib.h>
#include "check.h"
#include "util/rng.h"

static void same_seed_same_stream(void) {
    LmRng a, b;
    lm_rng_seed(&a, 42);
    lm_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) CHECK(lm_rng_u64(&a) == lm_rng_u64(&b));
    LmRng c = lm_rng_derive(42, 7), d = lm_rng_derive(42, 7), e = lm_rng_derive(42, 8);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = lm_rng_u64(&c);
        CHECK(x == lm_rng_u64(&d));
        differ += x != lm_rng_u64(&e);
    }
    CHECK(differ == 100, "derived streams 7 and 8 coincide %d times", 100 - differ);
}

static void uniform_and_below_ranges(void) {
    LmRng r;
    lm_rng_seed(&r, 1);
    int counts[12] = {0};
    const int n = 120000;
    for (int i = 0; i < n; i++) {
        double u = lm_rng_uniform(&r);
        CHECK(u >= 0.0 && u < 1.0);
        uint32_t k = lm_rng_below(&r, 12);
        CHECK(k < 12);
        counts[k < 12 ? k : 0]++;
    }
    /* Each count ~ Binomial(n, 1/12): sd ~ 96; 6 sd bound. */
    for (int k = 0; k < 12; k++) CHECK(abs(counts[k] - n / 12) < 600, "k=%d count=%d", k, counts[k]);
    CHECK(lm_rng_below(&r, 1) == 0);
}

static void normal_moments(void) {
    LmRng r;
    lm_rng_seed(&r, 3);
    const int n = 200000;
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; i++) {
        double z = lm_rng_normal(&r);
        s += z;
        s2 += z * z;
        s4 += z * z * z * z;
    }
    double mean = s / n, var = s2 / n - mean * mean, kurt = s4 / n;
    CHECK(fabs(mean) < 0.015, "mean %g", mean);   /* sd of mean 0.0022 */
    CHECK(fabs(var - 1) < 0.02, "var %g", var);
    CHECK(fabs(kurt - 3) < 0.1, "E[z^4] %g", kurt);
}

int main(void) {
    RUN(same_seed_same_stream);
    RUN(uniform_and_below_ranges);
    RUN(normal_moments);
    return CHECK_DONE();
}
