/*
 * rng.h — the sampler's pseudo-random generator.
 *
 * xoshiro256** seeded through splitmix64: small, fast, well studied, and
 * defined purely by 64-bit integer arithmetic, so the same seed yields the
 * same stream on every platform and compiler.
 */
#ifndef TL_SAMPLING_RNG_H
#define TL_SAMPLING_RNG_H

#include <stdint.h>

typedef struct tl_rng {
    uint64_t state[4];
} tl_rng;

/* Start the stream for `seed` (every seed, including 0, is valid). */
void tl_rng_seed(tl_rng *rng, uint64_t seed);
uint64_t tl_rng_next_u64(tl_rng *rng);
/* A uniform double in [0, 1) built from the top 53 bits of one draw. */
double tl_rng_uniform(tl_rng *rng);
/* A seed nobody chose: from /dev/urandom, else from the clock. */
uint64_t tl_rng_entropy_seed(void);

#endif /* TL_SAMPLING_RNG_H */
