/*
 * rng.c — xoshiro256** (Blackman & Vigna) with splitmix64 seeding, and a
 * source of fresh seeds for TL_SEED_RANDOM.
 */
#include "sampling/rng.h"

#include <stdio.h>
#include <time.h>

/* One step of splitmix64: spreads a 64-bit seed over well-mixed words, which
 * is how the xoshiro authors recommend filling the state. */
static uint64_t splitmix64_next(uint64_t *x) {
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t rotate_left(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void tl_rng_seed(tl_rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        rng->state[i] = splitmix64_next(&x);
    }
    /* splitmix64 never yields four zero words, but keep the invariant
     * (xoshiro's state must not be all zero) explicit. */
    if ((rng->state[0] | rng->state[1] | rng->state[2] | rng->state[3]) == 0) {
        rng->state[0] = 1;
    }
}

uint64_t tl_rng_next_u64(tl_rng *rng) {
    uint64_t *s = rng->state;
    const uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}

double tl_rng_uniform(tl_rng *rng) {
    /* 53 bits fill a double's mantissa exactly: k / 2^53, k in [0, 2^53). */
    return (double)(tl_rng_next_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t tl_rng_entropy_seed(void) {
    uint64_t seed = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        size_t got = fread(&seed, sizeof seed, 1, f);
        fclose(f);
        if (got == 1) {
            return seed;
        }
    }
    /* No urandom: mix the wall clock, the process clock and an address. */
    struct timespec now;
    timespec_get(&now, TIME_UTC);
    uint64_t x = (uint64_t)now.tv_sec * UINT64_C(1000000000) + (uint64_t)now.tv_nsec;
    x ^= (uint64_t)clock() << 32;
    x ^= (uint64_t)(uintptr_t)&now;
    return splitmix64_next(&x);
}
