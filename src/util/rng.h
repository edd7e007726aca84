/* Explicit, seedable random generators. There is no global RNG in lmrnn: every draw comes from an
 * LmRng owned by its caller, so the same seed gives bit-identical results whatever the thread count.
 * Algorithm: xoshiro256** (Blackman & Vigna), seeded through splitmix64. The whole state is the four
 * 64-bit words, so a checkpoint saves and restores a generator exactly. */
#ifndef LMRNN_RNG_H
#define LMRNN_RNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t s[4]; } LmRng;

/* Seed from one 64-bit value. */
void lm_rng_seed(LmRng *r, uint64_t seed);
/* An independent child generator for (seed, stream id): use it to give each row, task or evaluation
 * trial its own generator without any shared state. */
LmRng lm_rng_derive(uint64_t seed, uint64_t stream_id);
uint64_t lm_rng_u64(LmRng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double lm_rng_uniform(LmRng *r);
/* Uniform double in [a, b). */
double lm_rng_range(LmRng *r, double a, double b);
/* Uniform integer in {0, ..., n-1}, unbiased (n >= 1). */
uint32_t lm_rng_below(LmRng *r, uint32_t n);
/* Standard normal N(0,1) (Box-Muller, one value per call; no cached spare, so the state stays 4 words). */
double lm_rng_normal(LmRng *r);

#endif
