#include "util/rng.h"
#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void lm_rng_seed(LmRng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

LmRng lm_rng_derive(uint64_t seed, uint64_t stream_id) {
    /* Mix the id through splitmix64 twice so neighbouring ids give unrelated states. */
    uint64_t x = seed ^ 0x6A09E667F3BCC909ULL;
    uint64_t a = splitmix64(&x);
    uint64_t y = stream_id + 0xBB67AE8584CAA73BULL;
    uint64_t b = splitmix64(&y);
    LmRng r;
    lm_rng_seed(&r, a ^ (b * 0x9E3779B97F4A7C15ULL) ^ (b >> 29));
    return r;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t lm_rng_u64(LmRng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double lm_rng_uniform(LmRng *r) { return (double)(lm_rng_u64(r) >> 11) * 0x1.0p-53; }

double lm_rng_range(LmRng *r, double a, double b) { return a + (b - a) * lm_rng_uniform(r); }

uint32_t lm_rng_below(LmRng *r, uint32_t n) {
    if (n <= 1) return 0;
    /* Lemire's multiply-and-reject: unbiased without a division in the common case. */
    uint64_t m = (uint64_t)(uint32_t)(lm_rng_u64(r) >> 32) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        /* Each retry happens with probability < n / 2^32 <= 1/2, so 64 retries are never all needed by a
         * working generator; the bound keeps an all-zero state (which never advances) from spinning. */
        uint32_t threshold = (uint32_t)(-n) % n;
        for (int tries = 0; lo < threshold && tries < 64; tries++) {
            m = (uint64_t)(uint32_t)(lm_rng_u64(r) >> 32) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double lm_rng_normal(LmRng *r) {
    double u1 = 1.0 - lm_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = lm_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
