/*
 * quant_iq.c — scalar reference rows of the type table for ggml's i-quant
 * types: dequantization (to_float) and dot products with the activation
 * type ggml pairs them with (iq4_nl · q8_0; iq4_xs, iq3_s, iq3_xxs, iq2_s,
 * iq2_xs, iq2_xxs, iq1_s, iq1_m · q8_k). Quantizers of iq4_nl / iq4_xs are
 * in quant_iq4.c; the other i-quants are read-only (ggml builds them with an
 * importance matrix and lattice searches tinyllm does not reproduce).
 *
 * Layouts (blocks.h, as ggml-common.h), 256-element super-blocks except iq4_nl:
 *   iq4_nl   f16 d; u8 qs[16]: 4-bit indices into kvalues_iq4nl (element j
 *            low nibble of byte j, j + 16 the high nibble)
 *   iq4_xs   f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]: per 32-element
 *            sub-block a 6-bit scale (low 4 bits in scales_l, high 2 in
 *            scales_h) offset 32, and iq4_nl-style nibbles
 *   iq3_s    f16 d; u8 qs[64], qh[8]: 9-bit indices into iq3s_grid (4
 *            magnitudes each); u8 signs[32]: one bit per element; u8
 *            scales[4]: 4-bit odd scales 1 + 2s of 32-element sub-blocks
 *   iq3_xxs  f16 d; u8 qs[64]: indices into iq3xxs_grid; then per
 *            sub-block a u32: four 7-bit sign indices and a 4-bit scale
 *   iq2_s    f16 d; u8 qs[32] indices (low 8 bits) then signs[32]; u8
 *            qh[8] (2 high index bits each); u8 scales[8] (two 4-bit)
 *   iq2_xs   f16 d; u16 qs[32]: 9-bit index into iq2xs_grid | 7-bit sign
 *            index << 9; u8 scales[8] (two 4-bit per 32 elements)
 *   iq2_xxs  f16 d; u16 qs[32] read as 8 u32 pairs per sub-block: four
 *            8-bit grid indices, then four 7-bit sign indices and a scale
 *   iq1_s    f16 d; u8 qs[32]; u16 qh[8]: 11-bit indices into iq1s_grid,
 *            a 3-bit scale and the sign of a ±1/8 shift per sub-block
 *   iq1_m    u8 qs[32]; u8 qh[16]; u8 scales[8]: as iq1_s with 3-bit
 *            scales per 16 elements; the f16 d is spread over the top
 *            nibbles of the four u16 scale words
 * Signs come in 7 bits; the 8th is implied by even parity (ksigns_iq2xs).
 *
 * to_float follows ggml's dequantize_row_* and the dots follow ggml's
 * generic kernels (ggml_vec_dot_*_generic) including their float operation
 * order, so both give ggml's bits (tests/unit/test_iquants.c). Blocks are
 * byte arrays at the offsets of blocks.h: GGUF data may be unaligned.
 */
#include <assert.h>
#include <stdint.h>

#include "tensor/block_fields.h"
#include "tensor/blocks.h"
#include "tensor/iq_tables.h"
#include "tensor/quant_ref.h"
#include "tensor/types.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static unsigned load_u16(const uint8_t *p) {
    return (unsigned)p[0] | ((unsigned)p[1] << 8);
}

/* Byte j of a grid entry (ggml reads entries as bytes, little-endian). */
static int grid_byte(uint64_t entry, int j) {
    return (int)((entry >> (8 * j)) & 0xff);
}

/* Eight elements of a grid entry with sign bits (bit j: element j negative),
 * scaled: y[j] = scale * grid[j] * (±1), in ggml's order. */
static void grid8_to_float(float scale, uint64_t entry, unsigned signs, float *y) {
    for (int j = 0; j < 8; j++) y[j] = scale * (float)grid_byte(entry, j) * ((signs >> j) & 1 ? -1.0f : 1.0f);
}

/* Sum over eight elements of grid[j] * q8[j] * (±1). */
static int grid8_dot(uint64_t entry, unsigned signs, const int8_t *q8) {
    int sum = 0;
    for (int j = 0; j < 8; j++) sum += grid_byte(entry, j) * q8[j] * ((signs >> j) & 1 ? -1 : 1);
    return sum;
}

/* Two 4-magnitude entries (iq3 grids) as one 8-magnitude entry. */
static uint64_t grid_pair(uint32_t first, uint32_t second) {
    return (uint64_t)first | ((uint64_t)second << 32);
}

/* ---- iq4_nl and iq4_xs --------------------------------------------------------- */

/* 32 elements of 4-bit indices into kvalues_iq4nl (element j in the low
 * nibble of byte j, j + 16 in the high one), times scale. */
static void iq4_group_to_float(float scale, const uint8_t *qs, float *y) {
    for (int j = 0; j < 16; j++) {
        y[j] = scale * (float)tl_kvalues_iq4nl[qs[j] & 0x0f];
        y[j + 16] = scale * (float)tl_kvalues_iq4nl[qs[j] >> 4];
    }
}

/* Their integer dot with 32 q8 values. */
static int iq4_group_dot(const uint8_t *qs, const int8_t *q8) {
    int sum1 = 0, sum2 = 0;
    for (int j = 0; j < 16; j++) {
        sum1 += q8[j] * tl_kvalues_iq4nl[qs[j] & 0x0f];
        sum2 += q8[j + 16] * tl_kvalues_iq4nl[qs[j] >> 4];
    }
    return sum1 + sum2;
}

void tl_iq4_nl_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK; i++, block += IQ4_NL_BYTES, dst += QK)
        iq4_group_to_float(tl_block_load_half(block + IQ4_NL_D), block + IQ4_NL_QS, dst);
}

void tl_vec_dot_iq4_nl_q8_0(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += IQ4_NL_BYTES, yb += Q8_0_BYTES) {
        const float d = tl_block_load_half(yb + Q8_0_D) * tl_block_load_half(xb + IQ4_NL_D);
        sum += d * (float)iq4_group_dot(xb + IQ4_NL_QS, (const int8_t *)(yb + Q8_0_QS));
    }
    *out = sum;
}

/* The 6-bit scale (0..63, offset 32) of sub-block ib (0..7) of iq4_xs. */
static int iq4_xs_scale(const uint8_t *block, int ib) {
    const unsigned high = load_u16(block + IQ4_XS_SCALES_H);
    return ((block[IQ4_XS_SCALES_L + ib / 2] >> (4 * (ib % 2))) & 0x0f) | (int)(((high >> (2 * ib)) & 3) << 4);
}

void tl_iq4_xs_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ4_XS_BYTES) {
        const float d = tl_block_load_half(block + IQ4_XS_D);
        for (int ib = 0; ib < QK_K / 32; ib++, dst += 32)
            iq4_group_to_float(d * (float)(iq4_xs_scale(block, ib) - 32), block + IQ4_XS_QS + 16 * ib, dst);
    }
}

void tl_vec_dot_iq4_xs_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ4_XS_BYTES, yb += Q8_K_BYTES) {
        const float d4d8 = tl_block_load_half(xb + IQ4_XS_D) * tl_block_load_f32(yb + Q8_K_D);
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const float dl = d4d8 * (float)(iq4_xs_scale(xb, ib) - 32);
            sum += dl * (float)iq4_group_dot(xb + IQ4_XS_QS + 16 * ib, q8 + 32 * ib);
        }
    }
    *out = sum;
}

/* ---- the grid types: iq3_s, iq3_xxs, iq2_s, iq2_xs, iq2_xxs ------------------ */

/* Each of these stores a super-block as 32 groups of 8 elements: a grid
 * entry of magnitudes, 8 sign bits and a 4-bit scale s of the group's
 * sub-block (or half sub-block). They differ in where those sit (the
 * `group` functions below), in how s scales to float for dequantization
 * and in the factor of the dot product; the dot's integer sum is
 * sum over groups of (2s + 1) * sum of grid * sign * q8, as ggml's. */
typedef struct grid_group {
    uint64_t entry;
    unsigned signs;
    int scale; /* 0..15 */
} grid_group;

typedef enum grid_scale {
    SCALE_QUARTER, /* d * (0.5 + s) * 0.25 (iq2_*) */
    SCALE_HALF,    /* d * (0.5 + s) * 0.5 (iq3_xxs) */
    SCALE_ODD,     /* d * (1 + 2s) (iq3_s) */
} grid_scale;

typedef struct grid_type {
    size_t block_bytes;
    grid_group (*group)(const uint8_t *block, int ib, int l); /* group l (0..3) of sub-block ib (0..7) */
    grid_scale dequant_scale;
    float dot_factor;
} grid_type;

static float grid_dequant_scale(grid_scale kind, float d, int s) {
    switch (kind) {
    case SCALE_QUARTER: return d * (0.5f + (float)s) * 0.25f;
    case SCALE_HALF: return d * (0.5f + (float)s) * 0.5f;
    default: return d * (float)(1 + 2 * s);
    }
}

/* Every grid type keeps its f16 d in the first two bytes. */
_Static_assert(IQ3_S_D == 0 && IQ3_XXS_D == 0 && IQ2_S_D == 0 && IQ2_XS_D == 0 && IQ2_XXS_D == 0, "d comes first");

static void grid_to_float(const grid_type *type, const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += type->block_bytes) {
        const float d = tl_block_load_half(block);
        for (int ib = 0; ib < QK_K / 32; ib++)
            for (int l = 0; l < 4; l++, dst += 8) {
                const grid_group g = type->group(block, ib, l);
                grid8_to_float(grid_dequant_scale(type->dequant_scale, d, g.scale), g.entry, g.signs, dst);
            }
    }
}

static void grid_dot(const grid_type *type, int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += type->block_bytes, yb += Q8_K_BYTES) {
        const float d = tl_block_load_half(xb) * tl_block_load_f32(yb + Q8_K_D);
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ib++)
            for (int l = 0; l < 4; l++, q8 += 8) {
                const grid_group g = type->group(xb, ib, l);
                bsum += (2 * g.scale + 1) * grid8_dot(g.entry, g.signs, q8);
            }
        sum += d * (float)bsum;
    }
    *out = type->dot_factor * sum;
}

/* The scale nibble of group l of sub-block ib when each sub-block has a
 * byte of two (low: groups 0, 1). */
static int scale_nibble(const uint8_t *scales, int ib, int l) {
    return l < 2 ? scales[ib] & 0x0f : scales[ib] >> 4;
}

/* iq3_s: 9-bit indices (qs + one qh bit) of two 4-magnitude entries, a sign
 * byte, and a nibble per sub-block. */
static grid_group iq3_s_group(const uint8_t *block, int ib, int l) {
    const uint8_t *qs = block + IQ3_S_QS + 8 * ib;
    const unsigned qh = block[IQ3_S_QH + ib];
    const unsigned i1 = qs[2 * l] | ((qh << (8 - 2 * l)) & 256);
    const unsigned i2 = qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256);
    return (grid_group){grid_pair(tl_iq3s_grid[i1], tl_iq3s_grid[i2]), block[IQ3_S_SIGNS + 4 * ib + l],
                        (block[IQ3_S_SCALES + ib / 2] >> (4 * (ib % 2))) & 0x0f};
}

/* iq3_xxs and iq2_xxs: after (iq3_xxs) or within (iq2_xxs) the indices, a
 * u32 per sub-block of four 7-bit sign indices and the scale (top 4 bits). */
static grid_group iq3_xxs_group(const uint8_t *block, int ib, int l) {
    const uint8_t *qs = block + IQ3_XXS_QS + 8 * ib;
    const uint32_t aux = tl_block_load_u32(block + IQ3_XXS_QS + QK_K / 4 + 4 * ib);
    return (grid_group){grid_pair(tl_iq3xxs_grid[qs[2 * l]], tl_iq3xxs_grid[qs[2 * l + 1]]),
                        tl_ksigns_iq2xs[(aux >> (7 * l)) & 127], (int)(aux >> 28)};
}

static grid_group iq2_xxs_group(const uint8_t *block, int ib, int l) {
    const uint32_t aux = tl_block_load_u32(block + IQ2_XXS_QS + 8 * ib + 4);
    return (grid_group){tl_iq2xxs_grid[block[IQ2_XXS_QS + 8 * ib + l]], tl_ksigns_iq2xs[(aux >> (7 * l)) & 127],
                        (int)(aux >> 28)};
}

/* iq2_s: 10-bit indices (qs + two qh bits), sign bytes after the indices. */
static grid_group iq2_s_group(const uint8_t *block, int ib, int l) {
    const unsigned qh = block[IQ2_S_QH + ib];
    return (grid_group){tl_iq2s_grid[block[IQ2_S_QS + 4 * ib + l] | ((qh << (8 - 2 * l)) & 0x300)],
                        block[IQ2_S_QS + QK_K / 8 + 4 * ib + l], scale_nibble(block + IQ2_S_SCALES, ib, l)};
}

/* iq2_xs: a u16 per group, 9-bit index | 7-bit sign index << 9. */
static grid_group iq2_xs_group(const uint8_t *block, int ib, int l) {
    const unsigned q = load_u16(block + IQ2_XS_QS + 2 * (4 * ib + l));
    return (grid_group){tl_iq2xs_grid[q & 511], tl_ksigns_iq2xs[q >> 9], scale_nibble(block + IQ2_XS_SCALES, ib, l)};
}

static const grid_type iq3_s = {IQ3_S_BYTES, iq3_s_group, SCALE_ODD, 1.0f};
static const grid_type iq3_xxs = {IQ3_XXS_BYTES, iq3_xxs_group, SCALE_HALF, 0.25f};
static const grid_type iq2_s = {IQ2_S_BYTES, iq2_s_group, SCALE_QUARTER, 0.125f};
static const grid_type iq2_xs = {IQ2_XS_BYTES, iq2_xs_group, SCALE_QUARTER, 0.125f};
static const grid_type iq2_xxs = {IQ2_XXS_BYTES, iq2_xxs_group, SCALE_QUARTER, 0.125f};

void tl_iq3_s_to_float(const void *src, float *dst, int64_t n) {
    grid_to_float(&iq3_s, src, dst, n);
}
void tl_iq3_xxs_to_float(const void *src, float *dst, int64_t n) {
    grid_to_float(&iq3_xxs, src, dst, n);
}
void tl_iq2_s_to_float(const void *src, float *dst, int64_t n) {
    grid_to_float(&iq2_s, src, dst, n);
}
void tl_iq2_xs_to_float(const void *src, float *dst, int64_t n) {
    grid_to_float(&iq2_xs, src, dst, n);
}
void tl_iq2_xxs_to_float(const void *src, float *dst, int64_t n) {
    grid_to_float(&iq2_xxs, src, dst, n);
}

void tl_vec_dot_iq3_s_q8_k(int64_t n, float *out, const void *x, const void *y) {
    grid_dot(&iq3_s, n, out, x, y);
}
void tl_vec_dot_iq3_xxs_q8_k(int64_t n, float *out, const void *x, const void *y) {
    grid_dot(&iq3_xxs, n, out, x, y);
}
void tl_vec_dot_iq2_s_q8_k(int64_t n, float *out, const void *x, const void *y) {
    grid_dot(&iq2_s, n, out, x, y);
}
void tl_vec_dot_iq2_xs_q8_k(int64_t n, float *out, const void *x, const void *y) {
    grid_dot(&iq2_xs, n, out, x, y);
}
void tl_vec_dot_iq2_xxs_q8_k(int64_t n, float *out, const void *x, const void *y) {
    grid_dot(&iq2_xxs, n, out, x, y);
}

/* ---- iq1_s and iq1_m -------------------------------------------------------- */

/* Element j (0..7) of an iq1s_grid entry: -1, 0 or 1. */
static int grid_signed_byte(uint64_t entry, int j) {
    return (int8_t)(uint8_t)(entry >> (8 * j));
}

/* y[j] = scale * (grid[j] + delta) for the 8 elements of an entry. */
static void iq1_group_to_float(float scale, uint64_t entry, float delta, float *y) {
    for (int j = 0; j < 8; j++) y[j] = scale * ((float)grid_signed_byte(entry, j) + delta);
}

/* Sums over 8 elements of grid[j] * q8[j] and of q8[j]. */
static int iq1_group_dot(uint64_t entry, const int8_t *q8, int *q8_sum) {
    int sum = 0, plain = 0;
    for (int j = 0; j < 8; j++) {
        sum += q8[j] * grid_signed_byte(entry, j);
        plain += q8[j];
    }
    *q8_sum = plain;
    return sum;
}

/* Group l of sub-block ib of an iq1_s block; qh is the sub-block's u16. */
static uint64_t iq1_s_entry(const uint8_t *block, int ib, int l, unsigned qh) {
    return tl_iq1s_grid[block[IQ1_S_QS + 4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)];
}

void tl_iq1_s_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ1_S_BYTES) {
        const float d = tl_block_load_half(block + IQ1_S_D);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const unsigned qh = load_u16(block + IQ1_S_QH + 2 * ib);
            const float dl = d * (float)(2 * ((qh >> 12) & 7) + 1);
            const float delta = qh & 0x8000 ? -TL_IQ1S_DELTA : TL_IQ1S_DELTA;
            for (int l = 0; l < 4; l++, dst += 8) iq1_group_to_float(dl, iq1_s_entry(block, ib, l, qh), delta, dst);
        }
    }
}

void tl_vec_dot_iq1_s_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ1_S_BYTES, yb += Q8_K_BYTES) {
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int sumi = 0, sumi_delta = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const unsigned qh = load_u16(xb + IQ1_S_QH + 2 * ib);
            const int ls = 2 * (int)((qh >> 12) & 7) + 1;
            const int delta = qh & 0x8000 ? -1 : 1;
            int lsum = 0, unused;
            for (int l = 0; l < 4; l++, q8 += 8) lsum += iq1_group_dot(iq1_s_entry(xb, ib, l, qh), q8, &unused);
            const int bsums =
                tl_block_load_i16(yb + Q8_K_BSUMS + 4 * ib) + tl_block_load_i16(yb + Q8_K_BSUMS + 4 * ib + 2);
            sumi += ls * lsum;
            sumi_delta += ls * delta * bsums;
        }
        sum += tl_block_load_half(xb + IQ1_S_D) * tl_block_load_f32(yb + Q8_K_D) *
               ((float)sumi + TL_IQ1S_DELTA * (float)sumi_delta);
    }
    *out = sum;
}

/* iq1_m's f16 super-block scale: the top nibbles of its four u16 scale words. */
static float iq1_m_scale(const uint8_t *block, unsigned sc[4]) {
    for (int k = 0; k < 4; k++) sc[k] = load_u16(block + IQ1_M_SCALES + 2 * k);
    const unsigned bits = (sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000);
    return tl_fp16_to_fp32((uint16_t)bits);
}

/* Group l (0..3) of sub-block ib of an iq1_m block: grid entry and the sign
 * of its ±delta shift. */
static uint64_t iq1_m_entry(const uint8_t *block, int ib, int l, int *negative) {
    const unsigned qh = block[IQ1_M_QH + 2 * ib + l / 2];
    *negative = (qh & (l % 2 ? 0x80 : 0x08)) != 0;
    return tl_iq1s_grid[block[IQ1_M_QS + 4 * ib + l] | ((qh << (8 - 4 * (l % 2))) & 0x700)];
}

/* The odd 3-bit scale of the half h (0, 1) of sub-block ib. */
static int iq1_m_sub_scale(const unsigned sc[4], int ib, int h) {
    return 2 * (int)((sc[ib / 2] >> (6 * (ib % 2) + 3 * h)) & 0x7) + 1;
}

void tl_iq1_m_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ1_M_BYTES) {
        unsigned sc[4];
        const float d = iq1_m_scale(block, sc);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const float dl[2] = {d * (float)iq1_m_sub_scale(sc, ib, 0), d * (float)iq1_m_sub_scale(sc, ib, 1)};
            for (int l = 0; l < 4; l++, dst += 8) {
                int negative;
                const uint64_t entry = iq1_m_entry(block, ib, l, &negative);
                iq1_group_to_float(dl[l / 2], entry, negative ? -TL_IQ1S_DELTA : TL_IQ1S_DELTA, dst);
            }
        }
    }
}

void tl_vec_dot_iq1_m_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ1_M_BYTES, yb += Q8_K_BYTES) {
        unsigned sc[4];
        const float d = iq1_m_scale(xb, sc);
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int sumi = 0, sumi_delta = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            int sum1[2] = {0, 0}, sum2[2] = {0, 0};
            for (int l = 0; l < 4; l++, q8 += 8) {
                int negative, q8_sum;
                sum1[l / 2] += iq1_group_dot(iq1_m_entry(xb, ib, l, &negative), q8, &q8_sum);
                sum2[l / 2] += q8_sum * (negative ? -1 : 1);
            }
            const int ls1 = iq1_m_sub_scale(sc, ib, 0), ls2 = iq1_m_sub_scale(sc, ib, 1);
            sumi += sum1[0] * ls1 + sum1[1] * ls2;
            sumi_delta += sum2[0] * ls1 + sum2[1] * ls2;
        }
        sum += d * tl_block_load_f32(yb + Q8_K_D) * ((float)sumi + TL_IQ1M_DELTA * (float)sumi_delta);
    }
    *out = sum;
}
