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

/* ---- iq4_nl --------------------------------------------------------------- */

void tl_iq4_nl_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK; i++, block += IQ4_NL_BYTES, dst += QK) {
        const float d = tl_block_load_half(block + IQ4_NL_D);
        const uint8_t *qs = block + IQ4_NL_QS;
        for (int j = 0; j < QK / 2; j++) {
            dst[j] = d * (float)tl_kvalues_iq4nl[qs[j] & 0x0f];
            dst[j + QK / 2] = d * (float)tl_kvalues_iq4nl[qs[j] >> 4];
        }
    }
}

void tl_vec_dot_iq4_nl_q8_0(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += IQ4_NL_BYTES, yb += Q8_0_BYTES) {
        const float d = tl_block_load_half(yb + Q8_0_D) * tl_block_load_half(xb + IQ4_NL_D);
        const uint8_t *qs = xb + IQ4_NL_QS;
        const int8_t *q8 = (const int8_t *)(yb + Q8_0_QS);
        int sum1 = 0, sum2 = 0;
        for (int j = 0; j < QK / 2; j++) {
            sum1 += q8[j] * tl_kvalues_iq4nl[qs[j] & 0x0f];
            sum2 += q8[j + QK / 2] * tl_kvalues_iq4nl[qs[j] >> 4];
        }
        sum += d * (float)(sum1 + sum2);
    }
    *out = sum;
}

/* ---- iq4_xs --------------------------------------------------------------- */

/* The 6-bit scale (0..63, offset 32) of sub-block ib (0..7). */
static int iq4_xs_scale(const uint8_t *block, int ib) {
    const unsigned high = load_u16(block + IQ4_XS_SCALES_H);
    return ((block[IQ4_XS_SCALES_L + ib / 2] >> (4 * (ib % 2))) & 0x0f) | (int)(((high >> (2 * ib)) & 3) << 4);
}

void tl_iq4_xs_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ4_XS_BYTES) {
        const float d = tl_block_load_half(block + IQ4_XS_D);
        const uint8_t *qs = block + IQ4_XS_QS;
        for (int ib = 0; ib < QK_K / 32; ib++, qs += 16, dst += 32) {
            const float dl = d * (float)(iq4_xs_scale(block, ib) - 32);
            for (int j = 0; j < 16; j++) {
                dst[j] = dl * (float)tl_kvalues_iq4nl[qs[j] & 0x0f];
                dst[j + 16] = dl * (float)tl_kvalues_iq4nl[qs[j] >> 4];
            }
        }
    }
}

void tl_vec_dot_iq4_xs_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ4_XS_BYTES, yb += Q8_K_BYTES) {
        const float d4d8 = tl_block_load_half(xb + IQ4_XS_D) * tl_block_load_f32(yb + Q8_K_D);
        const uint8_t *qs = xb + IQ4_XS_QS;
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        for (int ib = 0; ib < QK_K / 32; ib++, qs += 16, q8 += 32) {
            const float dl = d4d8 * (float)(iq4_xs_scale(xb, ib) - 32);
            int sum1 = 0, sum2 = 0;
            for (int j = 0; j < 16; j++) {
                sum1 += q8[j] * tl_kvalues_iq4nl[qs[j] & 0x0f];
                sum2 += q8[j + 16] * tl_kvalues_iq4nl[qs[j] >> 4];
            }
            sum += dl * (float)(sum1 + sum2);
        }
    }
    *out = sum;
}

/* ---- iq3_s ---------------------------------------------------------------- */

/* The grid entry pair of group l (0..7, 8 elements) of sub-block ib. */
static uint64_t iq3_s_entry(const uint8_t *block, int ib, int l) {
    const uint8_t *qs = block + IQ3_S_QS + 8 * ib;
    const unsigned qh = block[IQ3_S_QH + ib];
    const unsigned i1 = qs[2 * l] | ((qh << (8 - 2 * l)) & 256);
    const unsigned i2 = qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256);
    return grid_pair(tl_iq3s_grid[i1], tl_iq3s_grid[i2]);
}

/* The odd scale 1 + 2s of sub-block ib. */
static int iq3_s_scale(const uint8_t *block, int ib) {
    return 1 + 2 * ((block[IQ3_S_SCALES + ib / 2] >> (4 * (ib % 2))) & 0x0f);
}

void tl_iq3_s_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ3_S_BYTES) {
        const float d = tl_block_load_half(block + IQ3_S_D);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const float db = d * (float)iq3_s_scale(block, ib);
            for (int l = 0; l < 4; l++, dst += 8)
                grid8_to_float(db, iq3_s_entry(block, ib, l), block[IQ3_S_SIGNS + 4 * ib + l], dst);
        }
    }
}

void tl_vec_dot_iq3_s_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ3_S_BYTES, yb += Q8_K_BYTES) {
        const float d = tl_block_load_half(xb + IQ3_S_D) * tl_block_load_f32(yb + Q8_K_D);
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            int sumi = 0;
            for (int l = 0; l < 4; l++, q8 += 8)
                sumi += grid8_dot(iq3_s_entry(xb, ib, l), xb[IQ3_S_SIGNS + 4 * ib + l], q8);
            bsum += sumi * iq3_s_scale(xb, ib);
        }
        sum += d * (float)bsum;
    }
    *out = sum;
}

/* ---- iq2_xs --------------------------------------------------------------- */

/* The 4-bit scale of group l (0..3) of sub-block ib: low nibble for l < 2. */
static int iq2_scale_nibble(const uint8_t *scales, int ib, int l) {
    return l < 2 ? scales[ib] & 0x0f : scales[ib] >> 4;
}

void tl_iq2_xs_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ2_XS_BYTES) {
        const float d = tl_block_load_half(block + IQ2_XS_D);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            for (int l = 0; l < 4; l++, dst += 8) {
                const float db = d * (0.5f + (float)iq2_scale_nibble(block + IQ2_XS_SCALES, ib, l)) * 0.25f;
                const unsigned q = load_u16(block + IQ2_XS_QS + 2 * (4 * ib + l));
                grid8_to_float(db, tl_iq2xs_grid[q & 511], tl_ksigns_iq2xs[q >> 9], dst);
            }
        }
    }
}

void tl_vec_dot_iq2_xs_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ2_XS_BYTES, yb += Q8_K_BYTES) {
        const float d = tl_block_load_half(xb + IQ2_XS_D) * tl_block_load_f32(yb + Q8_K_D);
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            for (int half = 0; half < 2; half++) {
                int sumi = 0;
                for (int l = 2 * half; l < 2 * half + 2; l++, q8 += 8) {
                    const unsigned q = load_u16(xb + IQ2_XS_QS + 2 * (4 * ib + l));
                    sumi += grid8_dot(tl_iq2xs_grid[q & 511], tl_ksigns_iq2xs[q >> 9], q8);
                }
                bsum += sumi * (2 * iq2_scale_nibble(xb + IQ2_XS_SCALES, ib, 2 * half) + 1);
            }
        }
        sum += d * (float)bsum;
    }
    *out = 0.125f * sum;
}

/* ---- iq3_xxs -------------------------------------------------------------- */

/* Sub-block ib's u32 of four 7-bit sign indices and a 4-bit scale (top). */
static uint32_t iq3_xxs_aux(const uint8_t *block, int ib) {
    return tl_block_load_u32(block + IQ3_XXS_QS + QK_K / 4 + 4 * ib);
}

static uint64_t iq3_xxs_entry(const uint8_t *block, int ib, int l) {
    const uint8_t *qs = block + IQ3_XXS_QS + 8 * ib;
    return grid_pair(tl_iq3xxs_grid[qs[2 * l]], tl_iq3xxs_grid[qs[2 * l + 1]]);
}

void tl_iq3_xxs_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ3_XXS_BYTES) {
        const float d = tl_block_load_half(block + IQ3_XXS_D);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const uint32_t aux = iq3_xxs_aux(block, ib);
            const float db = d * (0.5f + (float)(aux >> 28)) * 0.5f;
            for (int l = 0; l < 4; l++, dst += 8)
                grid8_to_float(db, iq3_xxs_entry(block, ib, l), tl_ksigns_iq2xs[(aux >> (7 * l)) & 127], dst);
        }
    }
}

void tl_vec_dot_iq3_xxs_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ3_XXS_BYTES, yb += Q8_K_BYTES) {
        const float d = tl_block_load_half(xb + IQ3_XXS_D) * tl_block_load_f32(yb + Q8_K_D);
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const uint32_t aux = iq3_xxs_aux(xb, ib);
            int sumi = 0;
            for (int l = 0; l < 4; l++, q8 += 8)
                sumi += grid8_dot(iq3_xxs_entry(xb, ib, l), tl_ksigns_iq2xs[(aux >> (7 * l)) & 127], q8);
            bsum += sumi * (int)(2 * (aux >> 28) + 1);
        }
        sum += d * (float)bsum;
    }
    *out = 0.25f * sum;
}

/* ---- iq2_s ---------------------------------------------------------------- */

/* Group l (0..3) of sub-block ib: its grid entry and its 8 sign bits. */
static uint64_t iq2_s_entry(const uint8_t *block, int ib, int l) {
    const unsigned qh = block[IQ2_S_QH + ib];
    return tl_iq2s_grid[block[IQ2_S_QS + 4 * ib + l] | ((qh << (8 - 2 * l)) & 0x300)];
}

static unsigned iq2_s_signs(const uint8_t *block, int ib, int l) {
    return block[IQ2_S_QS + QK_K / 8 + 4 * ib + l];
}

void tl_iq2_s_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ2_S_BYTES) {
        const float d = tl_block_load_half(block + IQ2_S_D);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            for (int l = 0; l < 4; l++, dst += 8) {
                const float db = d * (0.5f + (float)iq2_scale_nibble(block + IQ2_S_SCALES, ib, l)) * 0.25f;
                grid8_to_float(db, iq2_s_entry(block, ib, l), iq2_s_signs(block, ib, l), dst);
            }
        }
    }
}

void tl_vec_dot_iq2_s_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ2_S_BYTES, yb += Q8_K_BYTES) {
        const float d = tl_block_load_half(xb + IQ2_S_D) * tl_block_load_f32(yb + Q8_K_D);
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            int sumi[2] = {0, 0};
            for (int l = 0; l < 4; l++, q8 += 8)
                sumi[l / 2] += grid8_dot(iq2_s_entry(xb, ib, l), iq2_s_signs(xb, ib, l), q8);
            bsum += (1 + 2 * iq2_scale_nibble(xb + IQ2_S_SCALES, ib, 0)) * sumi[0] +
                    (1 + 2 * iq2_scale_nibble(xb + IQ2_S_SCALES, ib, 2)) * sumi[1];
        }
        sum += d * (float)bsum;
    }
    *out = 0.125f * sum;
}

/* ---- iq2_xxs -------------------------------------------------------------- */

/* Sub-block ib: four 8-bit grid indices (a byte each of the first u32), then
 * a u32 of four 7-bit sign indices and a 4-bit scale. */
static uint64_t iq2_xxs_entry(const uint8_t *block, int ib, int l) {
    return tl_iq2xxs_grid[block[IQ2_XXS_QS + 8 * ib + l]];
}

static uint32_t iq2_xxs_aux(const uint8_t *block, int ib) {
    return tl_block_load_u32(block + IQ2_XXS_QS + 8 * ib + 4);
}

void tl_iq2_xxs_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ2_XXS_BYTES) {
        const float d = tl_block_load_half(block + IQ2_XXS_D);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const uint32_t aux = iq2_xxs_aux(block, ib);
            const float db = d * (0.5f + (float)(aux >> 28)) * 0.25f;
            for (int l = 0; l < 4; l++, dst += 8)
                grid8_to_float(db, iq2_xxs_entry(block, ib, l), tl_ksigns_iq2xs[(aux >> (7 * l)) & 127], dst);
        }
    }
}

void tl_vec_dot_iq2_xxs_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ2_XXS_BYTES, yb += Q8_K_BYTES) {
        const float d = tl_block_load_half(xb + IQ2_XXS_D) * tl_block_load_f32(yb + Q8_K_D);
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const uint32_t aux = iq2_xxs_aux(xb, ib);
            int sumi = 0;
            for (int l = 0; l < 4; l++, q8 += 8)
                sumi += grid8_dot(iq2_xxs_entry(xb, ib, l), tl_ksigns_iq2xs[(aux >> (7 * l)) & 127], q8);
            bsum += sumi * (int)(2 * (aux >> 28) + 1);
        }
        sum += d * (float)bsum;
    }
    *out = 0.125f * sum;
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
