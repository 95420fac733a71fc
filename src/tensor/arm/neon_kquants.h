/*
 * neon_kquants.h — vec_dot and tiled gemm for ggml's 256-element
 * super-block weight types against q8_k activations: the K-quants (q2_k,
 * q3_k, q4_k, q5_k, q6_k) and the i-quants iq4_xs, iq3_s and iq2_xs,
 * written once for two instruction sets.
 *
 * Included by neon.c (plain armv8-a: int8 products by widening multiplies)
 * and neon_dotprod.c (SDOT); which one is used is decided by the
 * __ARM_FEATURE_DOTPROD macro of the including file's target flags.
 * Everything here is static, so each file gets its own copy.
 *
 * Every type is handled the same way: a super-block is decoded into 256
 * signed levels (sixteen groups of 16, in element order), one integer scale
 * per group (a 32-element sub-block's scale serves its two groups) and, for
 * the affine types, one integer min per group. The i-quants decode through
 * their tables (iq_tables.h): iq4_xs's 4-bit indices by TBL into
 * kvalues_iq4nl, iq3_s / iq2_xs's grid magnitudes with their sign bits
 * applied; iq2_xs's factor 1/8 is folded into d (exact). Its dot with a q8_k block is
 *     d_w * d_x * sum_g scale_g * dot(levels_g, q_x,g)
 *   - dmin_w * d_x * sum_g min_g * bsum_x,g
 * where both sums are exact in int32 (at most ~2^27 for any type) and the
 * float terms are applied as the reference does, so results differ from it
 * only by the order of the float additions.
 */
#ifndef TL_NEON_KQUANTS_H
#define TL_NEON_KQUANTS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tensor/arm/neon_internal.h"
#include "tensor/block_fields.h"
#include "tensor/iq_tables.h"

typedef enum { KQ_Q2_K, KQ_Q3_K, KQ_Q4_K, KQ_Q5_K, KQ_Q6_K, KQ_IQ4_XS, KQ_IQ3_S, KQ_IQ2_XS } kq_kind;

TL_NEON_INLINE size_t kq_block_bytes(kq_kind kind) {
    static const size_t bytes[] = {Q2_K_BYTES, Q3_K_BYTES,   Q4_K_BYTES,  Q5_K_BYTES,
                                   Q6_K_BYTES, IQ4_XS_BYTES, IQ3_S_BYTES, IQ2_XS_BYTES};
    return bytes[kind];
}

/* q2_k, q4_k and q5_k subtract a per-group min times the activation sums. */
TL_NEON_INLINE int kq_is_affine(kq_kind kind) {
    return kind == KQ_Q2_K || kind == KQ_Q4_K || kind == KQ_Q5_K;
}

/* Four int32 partial sums of the 16 products a[j] * b[j]. Without SDOT the
 * products are widened to int16 (|a * b| <= 2^14) and pairs added into
 * int32, so nothing overflows. */
TL_NEON_INLINE int32x4_t kq_dot_i8x16(int8x16_t a, int8x16_t b) {
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(vdupq_n_s32(0), a, b);
#else
    const int32x4_t sums = vpaddlq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(sums, vmull_high_s8(a, b));
#endif
}

/* A decoded weight super-block (see the top of the file). */
typedef struct kq_block {
    int8x16_t levels[16]; /* group g: elements 16g .. 16g + 15 */
    int32x4_t scales[4];  /* scales[i] lane j: scale of group 4i + j */
    int16x8_t mins[2];    /* mins[i] lane j: min of group 8i + j (affine types) */
    float d, dmin;        /* dmin: affine types */
} kq_block;

/* Sixteen int8 group scales as four int32 vectors. */
TL_NEON_INLINE void kq_widen_scales(int8x16_t s, int32x4_t out[4]) {
    const int16x8_t lo = vmovl_s8(vget_low_s8(s)), hi = vmovl_high_s8(s);
    out[0] = vmovl_s16(vget_low_s16(lo));
    out[1] = vmovl_high_s16(lo);
    out[2] = vmovl_s16(vget_low_s16(hi));
    out[3] = vmovl_high_s16(hi);
}

/* Eight per-sub-block values (bytes of v) repeated for the two groups of
 * each 32-element sub-block. */
TL_NEON_INLINE uint8x16_t kq_repeat_pairs(uint8x8_t v) {
    return vcombine_u8(vzip1_u8(v, v), vzip2_u8(v, v));
}

/* The 2-bit field p (0..3) of 32 bytes, for q2_k and q3_k: bytes a and b
 * hold elements 32p + 0..15 and 32p + 16..31 of a 128-element half. */
TL_NEON_INLINE uint8x16_t kq_two_bits(uint8x16_t bytes, int p) {
    const uint8x16_t mask = vdupq_n_u8(3);
    switch (p) {
    case 0: return vandq_u8(bytes, mask);
    case 1: return vandq_u8(vshrq_n_u8(bytes, 2), mask);
    case 2: return vandq_u8(vshrq_n_u8(bytes, 4), mask);
    default: return vshrq_n_u8(bytes, 6);
    }
}

/* q2_k: u8 scales[16] (scale | min << 4); u8 qs[64]; f16 d, dmin. Element
 * e = 128h + 32p + l is bits 2p of qs[32h + l]. */
TL_NEON_INLINE void kq_decode_q2_k(const uint8_t *block, kq_block *out) {
    const uint8x16_t packed = vld1q_u8(block + Q2_K_SCALES);
    const uint8x16_t scales = vandq_u8(packed, vdupq_n_u8(0x0f));
    const uint8x16_t mins = vshrq_n_u8(packed, 4);
    kq_widen_scales(vreinterpretq_s8_u8(scales), out->scales);
    out->mins[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mins)));
    out->mins[1] = vreinterpretq_s16_u16(vmovl_high_u8(mins));
    TL_NEON_UNROLL
    for (int h = 0; h < 2; h++) {
        const uint8_t *qs = block + Q2_K_QS + 32 * h;
        const uint8x16_t a = vld1q_u8(qs), b = vld1q_u8(qs + 16);
        TL_NEON_UNROLL
        for (int p = 0; p < 4; p++) {
            out->levels[8 * h + 2 * p] = vreinterpretq_s8_u8(kq_two_bits(a, p));
            out->levels[8 * h + 2 * p + 1] = vreinterpretq_s8_u8(kq_two_bits(b, p));
        }
    }
    out->d = tl_neon_load_half(block + Q2_K_D);
    out->dmin = tl_neon_load_half(block + Q2_K_DMIN);
}

/* q3_k: u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d. Levels as q2_k's
 * minus 4 where bit e/32 of hmask[e % 32] is clear. Sixteen 6-bit scales,
 * offset 32 (unpacked by tl_q3_k_scale_words, block_fields.h). */
TL_NEON_INLINE void kq_decode_q3_k(const uint8_t *block, kq_block *out) {
    uint32_t words[4];
    tl_q3_k_scale_words(block + Q3_K_SCALES, words);
    const uint8x16_t biased = vreinterpretq_u8_u32(vld1q_u32(words));
    kq_widen_scales(vsubq_s8(vreinterpretq_s8_u8(biased), vdupq_n_s8(32)), out->scales);

    const uint8_t *hmask = block + Q3_K_HMASK;
    const uint8x16_t hmask_a = vld1q_u8(hmask), hmask_b = vld1q_u8(hmask + 16);
    const uint8x16_t four = vdupq_n_u8(4);
    TL_NEON_UNROLL
    for (int h = 0; h < 2; h++) {
        const uint8_t *qs = block + Q3_K_QS + 32 * h;
        const uint8x16_t a = vld1q_u8(qs), b = vld1q_u8(qs + 16);
        TL_NEON_UNROLL
        for (int p = 0; p < 4; p++) {
            const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << (4 * h + p)));
            /* the level plus 4 when the bit is set, then minus 4 */
            const uint8x16_t ha = vandq_u8(vtstq_u8(hmask_a, bit), four);
            const uint8x16_t hb = vandq_u8(vtstq_u8(hmask_b, bit), four);
            out->levels[8 * h + 2 * p] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(kq_two_bits(a, p), ha)), vdupq_n_s8(4));
            out->levels[8 * h + 2 * p + 1] =
                vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(kq_two_bits(b, p), hb)), vdupq_n_s8(4));
        }
    }
    out->d = tl_neon_load_half(block + Q3_K_D);
    out->dmin = 0.0f;
}

/* q4_k / q5_k header: f16 d, dmin; u8 scales[12] holding eight 6-bit scales
 * and mins (unpacked by tl_q4_k_scale_words, block_fields.h). */
TL_NEON_INLINE void kq_decode_affine_header(const uint8_t *block, kq_block *out) {
    uint32_t words[4]; /* scales 0..7, then mins 0..7 */
    tl_q4_k_scale_words(block + Q4_K_SCALES, words);
    const uint8x16_t scales = kq_repeat_pairs(vreinterpret_u8_u32(vld1_u32(words)));
    const uint8x16_t mins = kq_repeat_pairs(vreinterpret_u8_u32(vld1_u32(words + 2)));
    kq_widen_scales(vreinterpretq_s8_u8(scales), out->scales); /* <= 63: int8 is fine */
    out->mins[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mins)));
    out->mins[1] = vreinterpretq_s16_u16(vmovl_high_u8(mins));
    out->d = tl_neon_load_half(block + Q4_K_D);
    out->dmin = tl_neon_load_half(block + Q4_K_DMIN);
}

/* q4_k: header; u8 qs[128]. Elements 64c + l (l < 32) are the low nibbles
 * of qs[32c + l], elements 64c + 32 + l the high nibbles. */
TL_NEON_INLINE void kq_decode_q4_k(const uint8_t *block, kq_block *out) {
    kq_decode_affine_header(block, out);
    const uint8x16_t low_mask = vdupq_n_u8(0x0f);
    TL_NEON_UNROLL
    for (int c = 0; c < 4; c++) {
        const uint8_t *qs = block + Q4_K_QS + 32 * c;
        const uint8x16_t a = vld1q_u8(qs), b = vld1q_u8(qs + 16);
        out->levels[4 * c] = vreinterpretq_s8_u8(vandq_u8(a, low_mask));
        out->levels[4 * c + 1] = vreinterpretq_s8_u8(vandq_u8(b, low_mask));
        out->levels[4 * c + 2] = vreinterpretq_s8_u8(vshrq_n_u8(a, 4));
        out->levels[4 * c + 3] = vreinterpretq_s8_u8(vshrq_n_u8(b, 4));
    }
}

/* q5_k: header; u8 qh[32]; u8 qs[128] as q4_k. Element e also has bit
 * e / 32 of qh[e % 32] as its fifth bit. */
TL_NEON_INLINE void kq_decode_q5_k(const uint8_t *block, kq_block *out) {
    kq_decode_affine_header(block, out);
    const uint8x16_t low_mask = vdupq_n_u8(0x0f), fifth = vdupq_n_u8(0x10);
    const uint8x16_t qh_a = vld1q_u8(block + Q5_K_QH), qh_b = vld1q_u8(block + Q5_K_QH + 16);
    TL_NEON_UNROLL
    for (int c = 0; c < 4; c++) {
        const uint8_t *qs = block + Q5_K_QS + 32 * c;
        const uint8x16_t a = vld1q_u8(qs), b = vld1q_u8(qs + 16);
        const uint8x16_t bit_lo = vdupq_n_u8((uint8_t)(1u << (2 * c)));
        const uint8x16_t bit_hi = vdupq_n_u8((uint8_t)(2u << (2 * c)));
        out->levels[4 * c] =
            vreinterpretq_s8_u8(vorrq_u8(vandq_u8(a, low_mask), vandq_u8(vtstq_u8(qh_a, bit_lo), fifth)));
        out->levels[4 * c + 1] =
            vreinterpretq_s8_u8(vorrq_u8(vandq_u8(b, low_mask), vandq_u8(vtstq_u8(qh_b, bit_lo), fifth)));
        out->levels[4 * c + 2] =
            vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(a, 4), vandq_u8(vtstq_u8(qh_a, bit_hi), fifth)));
        out->levels[4 * c + 3] =
            vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(b, 4), vandq_u8(vtstq_u8(qh_b, bit_hi), fifth)));
    }
}

/* q6_k: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d. Element
 * e = 128h + 32p + l: low 4 bits from ql[64h + 32(p % 2) + l] (low nibble
 * for p < 2, else high), top 2 bits at bit 2p of qh[32h + l]; minus 32. */
TL_NEON_INLINE void kq_decode_q6_k(const uint8_t *block, kq_block *out) {
    kq_widen_scales(vld1q_s8((const int8_t *)(block + Q6_K_SCALES)), out->scales);
    const uint8x16_t low_mask = vdupq_n_u8(0x0f), high_mask = vdupq_n_u8(0x30);
    const int8x16_t offset = vdupq_n_s8(32);
    TL_NEON_UNROLL
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = block + Q6_K_QL + 64 * h, *qh = block + Q6_K_QH + 32 * h;
        TL_NEON_UNROLL
        for (int i = 0; i < 2; i++) { /* elements l = 16i .. 16i + 15 */
            const uint8x16_t low02 = vld1q_u8(ql + 16 * i), low13 = vld1q_u8(ql + 32 + 16 * i);
            const uint8x16_t top = vld1q_u8(qh + 16 * i);
            const uint8x16_t q[4] = {
                vorrq_u8(vandq_u8(low02, low_mask), vandq_u8(vshlq_n_u8(top, 4), high_mask)),
                vorrq_u8(vandq_u8(low13, low_mask), vandq_u8(vshlq_n_u8(top, 2), high_mask)),
                vorrq_u8(vshrq_n_u8(low02, 4), vandq_u8(top, high_mask)),
                vorrq_u8(vshrq_n_u8(low13, 4), vandq_u8(vshrq_n_u8(top, 2), high_mask)),
            };
            TL_NEON_UNROLL
            for (int p = 0; p < 4; p++) out->levels[8 * h + 2 * p + i] = vsubq_s8(vreinterpretq_s8_u8(q[p]), offset);
        }
    }
    out->d = tl_neon_load_half(block + Q6_K_D);
    out->dmin = 0.0f;
}

/* iq4_xs: f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]. Sub-block ib:
 * nibbles of qs[16 ib ..] (low: first 16 elements), 6-bit scale minus 32. */
TL_NEON_INLINE void kq_decode_iq4_xs(const uint8_t *block, kq_block *out) {
    const int8x16_t table = vld1q_s8(tl_kvalues_iq4nl);
    const unsigned high = (unsigned)block[IQ4_XS_SCALES_H] | ((unsigned)block[IQ4_XS_SCALES_H + 1] << 8);
    int8_t scales[16];
    TL_NEON_UNROLL
    for (int ib = 0; ib < 8; ib++) {
        const uint8x16_t packed = vld1q_u8(block + IQ4_XS_QS + 16 * ib);
        out->levels[2 * ib] = vqtbl1q_s8(table, vandq_u8(packed, vdupq_n_u8(0x0f)));
        out->levels[2 * ib + 1] = vqtbl1q_s8(table, vshrq_n_u8(packed, 4));
        const int low = (block[IQ4_XS_SCALES_L + ib / 2] >> (4 * (ib % 2))) & 0x0f;
        scales[2 * ib] = scales[2 * ib + 1] = (int8_t)((low | (int)(((high >> (2 * ib)) & 3) << 4)) - 32);
    }
    kq_widen_scales(vld1q_s8(scales), out->scales);
    out->d = tl_neon_load_half(block + IQ4_XS_D);
    out->dmin = 0.0f;
}

/* Sixteen magnitudes with the signs of 16 bits (two bytes at `signs`, bit j
 * of byte j / 8 for element j) applied. */
TL_NEON_INLINE int8x16_t kq_signed16(uint8x16_t magnitudes, const uint8_t *signs) {
    static const uint8_t spread[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t lane_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bytes = vreinterpretq_u8_u16(vdupq_n_u16((uint16_t)(signs[0] | (signs[1] << 8))));
    const int8x16_t negative = vreinterpretq_s8_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(spread)), vld1q_u8(lane_bit)));
    return vsubq_s8(veorq_s8(vreinterpretq_s8_u8(magnitudes), negative), negative);
}

/* iq3_s: f16 d; u8 qs[64]; u8 qh[8]; u8 signs[32]; u8 scales[4]. Entry k
 * (4 elements) of sub-block ib is iq3s_grid[qs[8 ib + k] | (bit k of
 * qh[ib]) << 8]; scales 1 + 2s per 32 elements. */
TL_NEON_INLINE void kq_decode_iq3_s(const uint8_t *block, kq_block *out) {
    int8_t scales[16];
    TL_NEON_UNROLL
    for (int ib = 0; ib < 8; ib++) {
        const uint8_t *qs = block + IQ3_S_QS + 8 * ib;
        const unsigned qh = block[IQ3_S_QH + ib];
        uint32_t e[8];
        for (int k = 0; k < 8; k++) e[k] = tl_iq3s_grid[qs[k] | (((qh >> k) & 1) << 8)];
        const uint8_t *signs = block + IQ3_S_SIGNS + 4 * ib;
        out->levels[2 * ib] = kq_signed16(vreinterpretq_u8_u32(vld1q_u32(e)), signs);
        out->levels[2 * ib + 1] = kq_signed16(vreinterpretq_u8_u32(vld1q_u32(e + 4)), signs + 2);
        scales[2 * ib] = scales[2 * ib + 1] = (int8_t)(1 + 2 * ((block[IQ3_S_SCALES + ib / 2] >> (4 * (ib % 2))) & 15));
    }
    kq_widen_scales(vld1q_s8(scales), out->scales);
    out->d = tl_neon_load_half(block + IQ3_S_D);
    out->dmin = 0.0f;
}

/* iq2_xs: f16 d; u16 qs[32]; u8 scales[8]. Word w (8 elements): magnitudes
 * iq2xs_grid[w & 511], signs ksigns64[w >> 9]; scales 1 + 2s per 16
 * elements (low nibble first). */
TL_NEON_INLINE void kq_decode_iq2_xs(const uint8_t *block, kq_block *out) {
    int8_t scales[16];
    TL_NEON_UNROLL
    for (int g = 0; g < 16; g++) {
        const uint8_t *qs = block + IQ2_XS_QS + 4 * g;
        const unsigned w0 = (unsigned)qs[0] | ((unsigned)qs[1] << 8), w1 = (unsigned)qs[2] | ((unsigned)qs[3] << 8);
        const uint8x16_t magnitudes =
            vcombine_u8(vcreate_u8(tl_iq2xs_grid[w0 & 511]), vcreate_u8(tl_iq2xs_grid[w1 & 511]));
        const int8x16_t negative = vcombine_s8(vcreate_s8(tl_ksigns64[w0 >> 9]), vcreate_s8(tl_ksigns64[w1 >> 9]));
        out->levels[g] = vsubq_s8(veorq_s8(vreinterpretq_s8_u8(magnitudes), negative), negative);
        const unsigned s = block[IQ2_XS_SCALES + g / 2];
        scales[g] = (int8_t)(1 + 2 * (g % 2 ? s >> 4 : s & 15));
    }
    kq_widen_scales(vld1q_s8(scales), out->scales);
    out->d = 0.125f * tl_neon_load_half(block + IQ2_XS_D);
    out->dmin = 0.0f;
}

TL_NEON_INLINE void kq_decode(kq_kind kind, const uint8_t *block, kq_block *out) {
    switch (kind) {
    case KQ_Q2_K: kq_decode_q2_k(block, out); break;
    case KQ_Q3_K: kq_decode_q3_k(block, out); break;
    case KQ_Q4_K: kq_decode_q4_k(block, out); break;
    case KQ_Q5_K: kq_decode_q5_k(block, out); break;
    case KQ_Q6_K: kq_decode_q6_k(block, out); break;
    case KQ_IQ4_XS: kq_decode_iq4_xs(block, out); break;
    case KQ_IQ3_S: kq_decode_iq3_s(block, out); break;
    case KQ_IQ2_XS: kq_decode_iq2_xs(block, out); break;
    }
}

/* The q8_k block's d (an unaligned little-endian f32). */
TL_NEON_INLINE float kq_q8_k_scale(const uint8_t *q8_block) {
    float d;
    memcpy(&d, q8_block + Q8_K_D, sizeof d);
    return d;
}

/* sum_g scale_g * dot(levels_g, q_x,g) as four int32 partial sums. */
TL_NEON_INLINE int32x4_t kq_level_sums(const kq_block *w, const uint8_t *q8_block) {
    const int8_t *q8 = (const int8_t *)(q8_block + Q8_K_QS);
    int32x4_t total = vdupq_n_s32(0);
    TL_NEON_UNROLL
    for (int i = 0; i < 4; i++) {
        int32x4_t p[4];
        TL_NEON_UNROLL
        for (int j = 0; j < 4; j++) p[j] = kq_dot_i8x16(w->levels[4 * i + j], vld1q_s8(q8 + 64 * i + 16 * j));
        /* lane j: the whole dot of group 4i + j */
        const int32x4_t groups = vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));
        total = vmlaq_s32(total, groups, w->scales[i]);
    }
    return total;
}

/* sum_g min_g * bsum_x,g as four int32 partial sums (affine types). */
TL_NEON_INLINE int32x4_t kq_min_sums(const kq_block *w, const uint8_t *q8_block) {
    const uint8_t *bsums = q8_block + Q8_K_BSUMS;
    const int16x8_t s0 = vreinterpretq_s16_u8(vld1q_u8(bsums));
    const int16x8_t s1 = vreinterpretq_s16_u8(vld1q_u8(bsums + 16));
    int32x4_t total = vmull_s16(vget_low_s16(s0), vget_low_s16(w->mins[0]));
    total = vmlal_high_s16(total, s0, w->mins[0]);
    total = vmlal_s16(total, vget_low_s16(s1), vget_low_s16(w->mins[1]));
    return vmlal_high_s16(total, s1, w->mins[1]);
}

/* One weight row against one q8_k row. */
TL_NEON_INLINE void kq_vec_dot(kq_kind kind, int64_t n, float *out, const void *w, const void *x) {
    const size_t w_bytes = kq_block_bytes(kind);
    const uint8_t *wb = w, *xb = x;
    float32x4_t acc = vdupq_n_f32(0.0f), min_acc = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < n / QK_K; b++, wb += w_bytes, xb += Q8_K_BYTES) {
        kq_block q;
        kq_decode(kind, wb, &q);
        const float dx = kq_q8_k_scale(xb);
        acc = vfmaq_n_f32(acc, vcvtq_f32_s32(kq_level_sums(&q, xb)), q.d * dx);
        if (kq_is_affine(kind)) min_acc = vfmaq_n_f32(min_acc, vcvtq_f32_s32(kq_min_sums(&q, xb)), q.dmin * dx);
    }
    *out = vaddvq_f32(acc) - vaddvq_f32(min_acc);
}

/* Four int32x4 partial sums folded into one vector, lane t = sum of p[t]. */
TL_NEON_INLINE int32x4_t kq_fold4(const int32x4_t p[4]) {
    return vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));
}

/* One weight row × four tokens: each super-block is decoded once for four
 * tokens; y[t * ldy] gets token t. (Unlike the 32-element types there is
 * no 4-row tile: decoding dominates, the four tokens' activation blocks
 * stay in L1 for the next row, and a 4×4 tile's live registers outnumber
 * the 32 NEON ones.) */
TL_NEON_INLINE void kq_row_x4(kq_kind kind, int64_t n_blocks, const uint8_t *w, const uint8_t *x, size_t x_row_bytes,
                              float *y, int64_t ldy) {
    const size_t w_bytes = kq_block_bytes(kind);
    float32x4_t acc = vdupq_n_f32(0.0f), min_acc = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < n_blocks; b++) {
        const uint8_t *xb = x + (size_t)b * Q8_K_BYTES;
        kq_block q;
        kq_decode(kind, w + (size_t)b * w_bytes, &q);
        float dx_lanes[4];
        int32x4_t p[4];
        TL_NEON_UNROLL
        for (int t = 0; t < 4; t++) {
            dx_lanes[t] = kq_q8_k_scale(xb + (size_t)t * x_row_bytes);
            p[t] = kq_level_sums(&q, xb + (size_t)t * x_row_bytes);
        }
        const float32x4_t dx = vld1q_f32(dx_lanes);
        acc = vfmaq_f32(acc, vcvtq_f32_s32(kq_fold4(p)), vmulq_n_f32(dx, q.d));
        if (kq_is_affine(kind)) {
            TL_NEON_UNROLL
            for (int t = 0; t < 4; t++) p[t] = kq_min_sums(&q, xb + (size_t)t * x_row_bytes);
            min_acc = vfmaq_f32(min_acc, vcvtq_f32_s32(kq_fold4(p)), vmulq_n_f32(dx, q.dmin));
        }
    }
    float sums[4];
    vst1q_f32(sums, vsubq_f32(acc, min_acc));
    TL_NEON_UNROLL
    for (int t = 0; t < 4; t++) y[t * ldy] = sums[t];
}

/* The gemm of kernels.h: every row against four tokens at a time, then the
 * tokens left over one (row, token) pair at a time. */
TL_NEON_INLINE void kq_gemm(kq_kind kind, int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,
                            const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    const uint8_t *wrows = w, *xrows = x;
    const int64_t n_blocks = n_cols / QK_K;
    int64_t t = 0;
    for (; t + 4 <= n_tokens; t += 4)
        for (int64_t r = r0; r < r1; r++)
            kq_row_x4(kind, n_blocks, wrows + (size_t)r * w_row_bytes, xrows + (size_t)t * x_row_bytes, x_row_bytes,
                      y + t * ldy + r, ldy);
    for (; t < n_tokens; t++)
        for (int64_t r = r0; r < r1; r++)
            kq_vec_dot(kind, n_cols, &y[t * ldy + r], wrows + (size_t)r * w_row_bytes, xrows + (size_t)t * x_row_bytes);
}

/* ---- the kernel entries, one pair per weight type ------------------------ */

#define TL_KQ_GEMM_ARGS                                                                                                \
    int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x, size_t x_row_bytes,      \
        int64_t n_tokens, float *y, int64_t ldy
#define TL_KQ_GEMM_PASS n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy
#define TL_KQ_ENTRIES(name, kind)                                                                                      \
    static void kq_vec_dot_##name(int64_t n, float *out, const void *w, const void *x) {                               \
        kq_vec_dot(kind, n, out, w, x);                                                                                \
    }                                                                                                                  \
    static void kq_gemm_##name(TL_KQ_GEMM_ARGS) {                                                                      \
        kq_gemm(kind, TL_KQ_GEMM_PASS);                                                                                \
    }

TL_KQ_ENTRIES(q2_k, KQ_Q2_K)
TL_KQ_ENTRIES(q3_k, KQ_Q3_K)
TL_KQ_ENTRIES(q4_k, KQ_Q4_K)
TL_KQ_ENTRIES(q5_k, KQ_Q5_K)
TL_KQ_ENTRIES(q6_k, KQ_Q6_K)
TL_KQ_ENTRIES(iq4_xs, KQ_IQ4_XS)
TL_KQ_ENTRIES(iq3_s, KQ_IQ3_S)
TL_KQ_ENTRIES(iq2_xs, KQ_IQ2_XS)

#undef TL_KQ_ENTRIES
#undef TL_KQ_GEMM_ARGS
#undef TL_KQ_GEMM_PASS

/* Install this file's K-quant kernels into a set. */
static void fill_kquant_kernels(tl_kernel_set *k) {
    k->vec_dot[TL_TYPE_Q2_K] = kq_vec_dot_q2_k;
    k->vec_dot[TL_TYPE_Q3_K] = kq_vec_dot_q3_k;
    k->vec_dot[TL_TYPE_Q4_K] = kq_vec_dot_q4_k;
    k->vec_dot[TL_TYPE_Q5_K] = kq_vec_dot_q5_k;
    k->vec_dot[TL_TYPE_Q6_K] = kq_vec_dot_q6_k;
    k->gemm[TL_TYPE_Q2_K] = kq_gemm_q2_k;
    k->gemm[TL_TYPE_Q3_K] = kq_gemm_q3_k;
    k->gemm[TL_TYPE_Q4_K] = kq_gemm_q4_k;
    k->gemm[TL_TYPE_Q5_K] = kq_gemm_q5_k;
    k->gemm[TL_TYPE_Q6_K] = kq_gemm_q6_k;
    k->vec_dot[TL_TYPE_IQ4_XS] = kq_vec_dot_iq4_xs;
    k->vec_dot[TL_TYPE_IQ3_S] = kq_vec_dot_iq3_s;
    k->vec_dot[TL_TYPE_IQ2_XS] = kq_vec_dot_iq2_xs;
    k->gemm[TL_TYPE_IQ4_XS] = kq_gemm_iq4_xs;
    k->gemm[TL_TYPE_IQ3_S] = kq_gemm_iq3_s;
    k->gemm[TL_TYPE_IQ2_XS] = kq_gemm_iq2_xs;
}

#endif /* TL_NEON_KQUANTS_H */
