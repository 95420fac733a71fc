/*
 * iq_tables.h — the constant tables that define ggml's i-quant formats:
 * the non-linear 4-bit levels of iq4_nl / iq4_xs, the sign patterns of the
 * iq2 / iq3 types and the lattice grids their indices select from. They are
 * format facts (ggml-common.h), not tuning: a block's bytes mean nothing
 * without them. Defined in iq_tables.c.
 *
 * Grid entries pack 8 (u64) or 4 (u32) unsigned byte magnitudes, element 0
 * in the lowest byte; iq1s_grid bytes are signed (-1, 0, 1).
 */
#ifndef TL_IQ_TABLES_H
#define TL_IQ_TABLES_H

#include <stdint.h>

/* The 16 levels of iq4_nl and iq4_xs (ggml's kvalues_iq4nl). */
extern const int8_t tl_kvalues_iq4nl[16];

/* kmask_iq2xs[j] = 1 << j; ksigns_iq2xs[i]: 7 sign bits i plus an 8th bit
 * making the count of set bits even; ksigns64[i]: the same as 8 bytes of
 * 0x00 / 0xff (for SIMD sign masks). */
extern const uint8_t tl_kmask_iq2xs[8];
extern const uint8_t tl_ksigns_iq2xs[128];
extern const uint64_t tl_ksigns64[128];

/* Grids: iq2_xxs (256), iq2_xs (512), iq2_s (1024) of 8 magnitudes each;
 * iq3_xxs (256) and iq3_s (512) of 4; iq1_s / iq1_m (2048) of 8 signed. */
extern const uint64_t tl_iq2xxs_grid[256];
extern const uint64_t tl_iq2xs_grid[512];
extern const uint64_t tl_iq2s_grid[1024];
extern const uint32_t tl_iq3xxs_grid[256];
extern const uint32_t tl_iq3s_grid[512];
extern const uint64_t tl_iq1s_grid[2048];

/* iq1_s / iq1_m: the shift of the grid values (ggml's IQ1S_DELTA, IQ1M_DELTA). */
#define TL_IQ1S_DELTA 0.125f
#define TL_IQ1M_DELTA 0.125f

#endif /* TL_IQ_TABLES_H */
