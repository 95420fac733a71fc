/*
 * quant_k.c — scalar reference rows of the type table for ggml's "K-quant"
 * super-block types: q2_k, q3_k, q4_k, q5_k, q6_k, and q8_k (the activation
 * side of their dot products).
 *
 * A super-block holds 256 elements split into sub-blocks of 16 or 32, each
 * with its own small integer scale (and min), themselves scaled by one or two
 * f16 super-block factors. Layouts (blocks.h, as ggml-common.h):
 *   q2_k  u8 scales[16] (scale | min << 4); u8 qs[64] (2 bits); f16 d, dmin
 *   q3_k  u8 hmask[32] (3rd bit); u8 qs[64] (low 2 bits); u8 scales[12]
 *         (16 six-bit signed scales, offset 32); f16 d
 *   q4_k  f16 d, dmin; u8 scales[12] (8 six-bit scales + 8 six-bit mins);
 *         u8 qs[128] (4 bits)
 *   q5_k  as q4_k, then u8 qh[32] (5th bit) before qs[128]
 *   q6_k  u8 ql[128] (low 4 bits); u8 qh[64] (high 2 bits); i8 scales[16]; f16 d
 *   q8_k  f32 d; i8 qs[256]; i16 bsums[16] (sums of 16 consecutive qs)
 *
 * Quantizers reproduce ggml's reference quantizers (quantize_row_qN_K_ref)
 * bit for bit, including their iterative scale searches; to_float is
 * ggml's dequantize_row_qN_K and the dot products follow ggml's generic
 * kernels (ggml_vec_dot_qN_K_q8_K_generic), including their float summation
 * order (eight lane sums for q3_k..q6_k). Every float expression keeps
 * ggml's operation order; none may be fused into a multiply-add (see the
 * pragma; GCC does not contract in ISO C mode). As in quant_legacy.c, blocks
 * are byte arrays at the offsets of blocks.h: GGUF data may be unaligned.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tensor/block_fields.h"
#include "tensor/blocks.h"
#include "tensor/quant_ref.h"
#include "tensor/types.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Below this a sub-block's largest magnitude counts as all zeros (ggml's
 * GROUP_MAX_EPS). */
static const float group_max_eps = 1e-15f;

static int clamp_int(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* Round to the nearest integer, ties to even, the way ggml's nearest_int
 * does it: adding 1.5 * 2^23 leaves the rounded value in the low mantissa
 * bits. Exact for |v| < 2^22 (all the quantizers need); beyond that (or for
 * NaN) it gives the same deterministic bits as ggml. */
static int nearest_int(float v) {
    const float shifted = v + 12582912.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

/* 2-bit fields: element e of a q2_k / q3_k block is at bits 2*((e%128)/32)
 * of byte 32*(e/128) + e%32. */
static int two_bits(const uint8_t *qs, int e) {
    return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

static void pack_two_bits(const uint8_t levels[QK_K], uint8_t *qs) {
    for (int half = 0; half < QK_K; half += 128)
        for (int l = 0; l < 32; l++)
            qs[half / 4 + l] = (uint8_t)(levels[half + l] | (levels[half + l + 32] << 2) |
                                         (levels[half + l + 64] << 4) | (levels[half + l + 96] << 6));
}

/* 4-bit fields of q4_k / q5_k: element e is in byte 32*(e/64) + e%32, low
 * nibble for the first 32 of each 64. */
static int nibble(const uint8_t *qs, int e) {
    const uint8_t byte = qs[32 * (e / 64) + e % 32];
    return (e % 64) < 32 ? byte & 0x0f : byte >> 4;
}

/* ---- scale searches (ggml's make_*_quants) ------------------------------ */

/* The element of largest magnitude (the first one on ties), signed; 0 and
 * all levels zeroed when the group is too small to quantize. */
static float signed_absmax_or_clear(int n, const float *x, int8_t *levels) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < group_max_eps) {
        for (int i = 0; i < n; i++) levels[i] = 0;
        return 0.0f;
    }
    return max;
}

/* Symmetric levels in [-nmax, nmax) for n values with weights x^2: starts
 * from the scale that maps the largest magnitude to -nmax, then tries 18
 * nearby scales and keeps the one with the best weighted least-squares fit.
 * Returns the scale; levels (offset by nmax) in `levels`. (ggml's
 * make_qx_quants with rmse_type 1 and no importance weights.) */
static float search_symmetric_scale(int n, int nmax, const float *x, int8_t *levels) {
    const float max = signed_absmax_or_clear(n, x, levels);
    if (max == 0.0f) return 0.0f;
    float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        levels[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int step = -9; step <= 9; step++) {
        if (step == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)step) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                levels[i] = (int8_t)(nmax + clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* q3_k's variant: start as above, then up to 5 passes that move single
 * levels whenever that improves the weighted (x^2) least-squares fit.
 * (ggml's make_q3_quants with do_rmse.) */
static float search_q3_scale(int n, int nmax, const float *x, int8_t *levels) {
    const float max = signed_absmax_or_clear(n, x, levels);
    if (max == 0.0f) return 0.0f;
    const float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        levels[i] = (int8_t)l;
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (int pass = 0; pass < 5; pass++) {
        int n_changed = 0;
        for (int i = 0; i < n; i++) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)levels[i];
            if (!(slx > 0)) continue;
            float sl2 = suml2 - w * (float)levels[i] * (float)levels[i];
            const int new_l = clamp_int(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (new_l == levels[i]) continue;
            slx += w * x[i] * (float)new_l;
            sl2 += w * (float)new_l * (float)new_l;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                levels[i] = (int8_t)new_l;
                sumlx = slx;
                suml2 = sl2;
                n_changed++;
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; i++) levels[i] = (int8_t)(levels[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Affine levels in [0, nmax] with x ~ scale * level - min_out: starts from
 * the min/max fit, then tries nstep + 1 scales (rmin + rdelta * k + nmax
 * levels over the range), solving for scale and min by weighted least
 * squares each time, and keeps the one with the smallest weighted error
 * (absolute if use_mad, else squared). Returns the scale; *min_out >= 0.
 * (ggml's make_qkx2_quants.) */
static float search_affine_scale(int n, int nmax, const float *x, const float *weights, uint8_t *levels, float *min_out,
                                 float rmin, float rdelta, int nstep, bool use_mad) {
    uint8_t trial[32];
    assert(n <= 32);
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) levels[i] = 0;
        *min_out = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        levels[i] = (uint8_t)clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax);
        float diff = scale * (float)levels[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    for (int step = 0; step <= nstep; step++) {
        iscale = (rmin + rdelta * (float)step + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            const int l = clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax);
            trial[i] = (uint8_t)l;
            const float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        const float det = sum_w * sum_l2 - sum_l * sum_l;
        if (!(det > 0)) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float error = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * (float)trial[i] + this_min - x[i];
            diff = use_mad ? fabsf(diff) : diff * diff;
            error += weights[i] * diff;
        }
        if (error < best_error) {
            memcpy(levels, trial, (size_t)n);
            best_error = error;
            scale = this_scale;
            min = this_min;
        }
    }
    *min_out = -min;
    return scale;
}

/* ---- q2_k --------------------------------------------------------------- */

static void quantize_q2_k_block(const float *x, uint8_t *block) {
    uint8_t levels[QK_K];
    float scales[16], mins[16], weights[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; j++) {
        for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
        scales[j] = search_affine_scale(16, 3, x + 16 * j, weights, levels + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    /* Sub-block scales and mins as 4-bit multiples of d and dmin. */
    uint8_t *packed = block + Q2_K_SCALES;
    if (max_scale > 0) {
        const float iscale = 15.0f / max_scale;
        for (int j = 0; j < 16; j++) packed[j] = (uint8_t)nearest_int(iscale * scales[j]);
        tl_block_store_half(block + Q2_K_D, max_scale / 15.0f);
    } else {
        for (int j = 0; j < 16; j++) packed[j] = 0;
        tl_block_store_half(block + Q2_K_D, 0.0f);
    }
    if (max_min > 0) {
        const float iscale = 15.0f / max_min;
        for (int j = 0; j < 16; j++) packed[j] |= (uint8_t)((unsigned)nearest_int(iscale * mins[j]) << 4);
        tl_block_store_half(block + Q2_K_DMIN, max_min / 15.0f);
    } else {
        tl_block_store_half(block + Q2_K_DMIN, 0.0f);
    }
    /* Requantize against the rounded scales (a zero scale keeps the search's levels). */
    const float d_all = tl_block_load_half(block + Q2_K_D);
    const float dmin_all = tl_block_load_half(block + Q2_K_DMIN);
    for (int j = 0; j < 16; j++) {
        const float d = d_all * (float)(packed[j] & 0x0f);
        if (d == 0.0f) continue;
        const float dm = dmin_all * (float)(packed[j] >> 4);
        for (int i = 0; i < 16; i++)
            levels[16 * j + i] = (uint8_t)clamp_int(nearest_int((x[16 * j + i] + dm) / d), 0, 3);
    }
    pack_two_bits(levels, block + Q2_K_QS);
}

void tl_q2_k_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK_K == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q2_K_BYTES) quantize_q2_k_block(src + i * QK_K, block);
}

void tl_q2_k_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q2_K_BYTES, dst += QK_K) {
        const float d = tl_block_load_half(block + Q2_K_D);
        const float dmin = tl_block_load_half(block + Q2_K_DMIN);
        for (int e = 0; e < QK_K; e++) {
            const uint8_t sc = block[Q2_K_SCALES + e / 16];
            const float dl = d * (float)(sc & 0x0f), ml = dmin * (float)(sc >> 4);
            dst[e] = dl * (float)two_bits(block + Q2_K_QS, e) - ml;
        }
    }
}

/* ---- q3_k --------------------------------------------------------------- */

static void quantize_q3_k_block(const float *x, uint8_t *block) {
    int8_t levels[QK_K];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; j++) {
        scales[j] = search_q3_scale(16, 4, x + 16 * j, levels + 16 * j);
        if (fabsf(scales[j]) > amax) {
            amax = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    /* Sub-block scales as signed 6-bit multiples of d (see q3_k_scale). */
    uint8_t *packed = block + Q3_K_SCALES;
    memset(packed, 0, 12);
    if (max_scale != 0.0f) {
        const float iscale = -32.0f / max_scale;
        for (int j = 0; j < 16; j++) {
            const int l = clamp_int((int8_t)nearest_int(iscale * scales[j]), -32, 31) + 32;
            if (j < 8)
                packed[j] = (uint8_t)(l & 0x0f);
            else
                packed[j - 8] |= (uint8_t)((l & 0x0f) << 4);
            packed[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
        }
        tl_block_store_half(block + Q3_K_D, 1 / iscale);
    } else {
        tl_block_store_half(block + Q3_K_D, 0.0f);
    }
    const float d_all = tl_block_load_half(block + Q3_K_D);
    for (int j = 0; j < 16; j++) {
        const float d = d_all * (float)tl_q3_k_scale(packed, j);
        if (d == 0.0f) continue;
        for (int i = 0; i < 16; i++)
            levels[16 * j + i] = (int8_t)(clamp_int(nearest_int(x[16 * j + i] / d), -4, 3) + 4);
    }
    /* Levels 4..7 set their high bit: element e is bit e/32 of hmask[e%32]. */
    uint8_t *hmask = block + Q3_K_HMASK;
    memset(hmask, 0, 32);
    uint8_t low_bits[QK_K];
    for (int e = 0; e < QK_K; e++) {
        int l = levels[e];
        if (l > 3) {
            hmask[e % 32] |= (uint8_t)(1u << (e / 32));
            l -= 4;
        }
        low_bits[e] = (uint8_t)l;
    }
    pack_two_bits(low_bits, block + Q3_K_QS);
}

void tl_q3_k_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK_K == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q3_K_BYTES) quantize_q3_k_block(src + i * QK_K, block);
}

/* The signed level (-4..3) of element e of a q3_k block. */
static int q3_k_level(const uint8_t *block, int e) {
    const int high = (block[Q3_K_HMASK + e % 32] >> (e / 32)) & 1;
    return two_bits(block + Q3_K_QS, e) - (high ? 0 : 4);
}

void tl_q3_k_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q3_K_BYTES, dst += QK_K) {
        const float d_all = tl_block_load_half(block + Q3_K_D);
        for (int e = 0; e < QK_K; e++) {
            const float dl = d_all * (float)tl_q3_k_scale(block + Q3_K_SCALES, e / 16);
            dst[e] = dl * (float)q3_k_level(block, e);
        }
    }
}

/* ---- q4_k / q5_k -------------------------------------------------------- */

/* The shared part of q4_k and q5_k quantization: per 32-element sub-block,
 * an affine fit weighted by (rms + |x|), the scales and mins stored as 6-bit
 * multiples of the f16 d and dmin, then the levels (0..nmax) requantized
 * against the rounded values. */
static void quantize_affine_super_block(const float *x, int nmax, float rmin, int nstep, uint8_t *d_field,
                                        uint8_t *dmin_field, uint8_t *packed_scales, uint8_t levels[QK_K]) {
    float scales[8], mins[8], weights[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(xs[l]);
        scales[j] = search_affine_scale(32, nmax, xs, weights, levels + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < 8; j++) {
        /* ggml stores the rounded value in a uint8_t before clamping. */
        const uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
        const uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
        tl_q4_k_pack_scale_min(packed_scales, j, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
    }
    tl_block_store_half(d_field, max_scale / 63.0f);
    tl_block_store_half(dmin_field, max_min / 63.0f);

    const float d_all = tl_block_load_half(d_field), dmin_all = tl_block_load_half(dmin_field);
    for (int j = 0; j < 8; j++) {
        int sc, m;
        tl_q4_k_scale_min(packed_scales, j, &sc, &m);
        const float d = d_all * (float)sc;
        if (d == 0.0f) continue;
        const float dm = dmin_all * (float)m;
        for (int i = 0; i < 32; i++)
            levels[32 * j + i] = (uint8_t)clamp_int(nearest_int((x[32 * j + i] + dm) / d), 0, nmax);
    }
}

void tl_q4_k_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK_K == 0);
    uint8_t *block = dst;
    uint8_t levels[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, block += Q4_K_BYTES) {
        quantize_affine_super_block(src + i * QK_K, 15, -1.0f, 20, block + Q4_K_D, block + Q4_K_DMIN,
                                    block + Q4_K_SCALES, levels);
        uint8_t *qs = block + Q4_K_QS;
        for (int chunk = 0; chunk < 4; chunk++)
            for (int l = 0; l < 32; l++)
                qs[32 * chunk + l] = (uint8_t)(levels[64 * chunk + l] | (levels[64 * chunk + l + 32] << 4));
    }
}

void tl_q4_k_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q4_K_BYTES, dst += QK_K) {
        const float d = tl_block_load_half(block + Q4_K_D);
        const float dmin = tl_block_load_half(block + Q4_K_DMIN);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            tl_q4_k_scale_min(block + Q4_K_SCALES, j, &sc, &m);
            const float dl = d * (float)sc, ml = dmin * (float)m;
            for (int l = 0; l < 32; l++) dst[32 * j + l] = dl * (float)nibble(block + Q4_K_QS, 32 * j + l) - ml;
        }
    }
}

/* The 5-bit level of element e of a q5_k block: its nibble plus bit
 * e/32 of qh[e%32] as the fifth bit. */
static int q5_k_level(const uint8_t *block, int e) {
    const int high = (block[Q5_K_QH + e % 32] >> (e / 32)) & 1;
    return nibble(block + Q5_K_QS, e) + (high ? 16 : 0);
}

void tl_q5_k_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK_K == 0);
    uint8_t *block = dst;
    uint8_t levels[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, block += Q5_K_BYTES) {
        quantize_affine_super_block(src + i * QK_K, 31, -0.5f, 15, block + Q5_K_D, block + Q5_K_DMIN,
                                    block + Q5_K_SCALES, levels);
        uint8_t *qh = block + Q5_K_QH, *qs = block + Q5_K_QS;
        memset(qh, 0, 32);
        for (int e = 0; e < QK_K; e++)
            if (levels[e] > 15) qh[e % 32] |= (uint8_t)(1u << (e / 32));
        for (int chunk = 0; chunk < 4; chunk++)
            for (int l = 0; l < 32; l++)
                qs[32 * chunk + l] =
                    (uint8_t)((levels[64 * chunk + l] & 0x0f) | ((levels[64 * chunk + l + 32] & 0x0f) << 4));
    }
}

void tl_q5_k_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q5_K_BYTES, dst += QK_K) {
        const float d = tl_block_load_half(block + Q5_K_D);
        const float dmin = tl_block_load_half(block + Q5_K_DMIN);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            tl_q4_k_scale_min(block + Q5_K_SCALES, j, &sc, &m);
            const float dl = d * (float)sc, ml = dmin * (float)m;
            for (int l = 0; l < 32; l++) dst[32 * j + l] = dl * (float)q5_k_level(block, 32 * j + l) - ml;
        }
    }
}

/* ---- q6_k --------------------------------------------------------------- */

/* Element e of a q6_k block, in its 128-element half h: quarter p = (e%128)/32
 * and l = e%32 take the low nibble (p < 2) or high nibble of ql[64h + l + 32*(p%2)]
 * and bits 2p of qh[32h + l]. Returns the signed level (-32..31). */
static int q6_k_level(const uint8_t *block, int e) {
    const int half = e / 128, quarter = (e % 128) / 32, l = e % 32;
    const uint8_t low_byte = block[Q6_K_QL + 64 * half + l + 32 * (quarter % 2)];
    const int low = quarter < 2 ? low_byte & 0x0f : low_byte >> 4;
    const int high = (block[Q6_K_QH + 32 * half + l] >> (2 * quarter)) & 3;
    return (low | (high << 4)) - 32;
}

static void quantize_q6_k_block(const float *x, uint8_t *block) {
    int8_t levels[QK_K];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int j = 0; j < 16; j++) {
        scales[j] = search_symmetric_scale(16, 32, x + 16 * j, levels + 16 * j);
        if (fabsf(scales[j]) > max_abs_scale) {
            max_abs_scale = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    if (max_abs_scale < group_max_eps) {
        memset(block, 0, Q6_K_BYTES);
        return;
    }
    const float iscale = -128.0f / max_scale;
    tl_block_store_half(block + Q6_K_D, 1 / iscale);
    int8_t *packed = (int8_t *)(block + Q6_K_SCALES);
    for (int j = 0; j < 16; j++) {
        const int s = nearest_int(iscale * scales[j]);
        packed[j] = (int8_t)(s < 127 ? s : 127);
    }
    const float d_all = tl_block_load_half(block + Q6_K_D);
    for (int j = 0; j < 16; j++) {
        const float d = d_all * (float)packed[j];
        if (d == 0.0f) continue;
        for (int i = 0; i < 16; i++)
            levels[16 * j + i] = (int8_t)(clamp_int(nearest_int(x[16 * j + i] / d), -32, 31) + 32);
    }
    uint8_t *ql = block + Q6_K_QL, *qh = block + Q6_K_QH;
    for (int half = 0; half < 2; half++) {
        const int8_t *lv = levels + 128 * half;
        for (int l = 0; l < 32; l++) {
            ql[64 * half + l] = (uint8_t)((lv[l] & 0x0f) | ((lv[l + 64] & 0x0f) << 4));
            ql[64 * half + l + 32] = (uint8_t)((lv[l + 32] & 0x0f) | ((lv[l + 96] & 0x0f) << 4));
            qh[32 * half + l] = (uint8_t)((lv[l] >> 4) | ((lv[l + 32] >> 4) << 2) | ((lv[l + 64] >> 4) << 4) |
                                          ((lv[l + 96] >> 4) << 6));
        }
    }
}

void tl_q6_k_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK_K == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q6_K_BYTES) quantize_q6_k_block(src + i * QK_K, block);
}

void tl_q6_k_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q6_K_BYTES, dst += QK_K) {
        const float d = tl_block_load_half(block + Q6_K_D);
        const int8_t *scales = (const int8_t *)(block + Q6_K_SCALES);
        for (int e = 0; e < QK_K; e++) dst[e] = d * (float)scales[e / 16] * (float)q6_k_level(block, e);
    }
}

/* ---- q8_k --------------------------------------------------------------- */

/* d = max / -127 (max: the element of largest magnitude, with its sign),
 * q = round-half-even(x / d), and the sums of each 16 q for the min terms
 * of the dot products. ggml leaves bsums unwritten for an all-zero block;
 * here they are zeros. */
void tl_q8_k_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK_K == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q8_K_BYTES) {
        const float *x = src + i * QK_K;
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(block, 0, Q8_K_BYTES);
            continue;
        }
        const float iscale = -127.0f / max;
        int8_t *qs = (int8_t *)(block + Q8_K_QS);
        for (int j = 0; j < QK_K; j++) {
            const int v = nearest_int(iscale * x[j]);
            qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += qs[16 * j + l];
            tl_block_store_i16(block + Q8_K_BSUMS + 2 * j, sum);
        }
        tl_block_store_f32(block + Q8_K_D, 1 / iscale);
    }
}

void tl_q8_k_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK_K == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q8_K_BYTES, dst += QK_K) {
        const float d = tl_block_load_f32(block + Q8_K_D);
        const int8_t *qs = (const int8_t *)(block + Q8_K_QS);
        for (int j = 0; j < QK_K; j++) dst[j] = d * (float)qs[j];
    }
}

/* ---- dot products with q8_k --------------------------------------------- */

/* ggml's generic q3_k..q6_k kernels keep eight float lane sums across the
 * whole row (lane l: elements e with e % 8 == l, an integer sum per block
 * scaled by d_x * d_y) and add them up at the end; reproducing that order
 * gives the same float result. */
typedef struct lane_sums {
    float sums[8];
} lane_sums;

static void lanes_add_block(lane_sums *lanes, float d, const int32_t block_lanes[8]) {
    for (int l = 0; l < 8; l++) lanes->sums[l] += d * (float)block_lanes[l];
}

static float lanes_total(const lane_sums *lanes, float start) {
    float total = start;
    for (int l = 0; l < 8; l++) total += lanes->sums[l];
    return total;
}

void tl_vec_dot_q2_k_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += Q2_K_BYTES, yb += Q8_K_BYTES) {
        const uint8_t *scales = xb + Q2_K_SCALES;
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int min_sum = 0;
        for (int j = 0; j < 16; j++) min_sum += tl_block_load_i16(yb + Q8_K_BSUMS + 2 * j) * (scales[j] >> 4);
        int level_sum = 0;
        for (int j = 0; j < 16; j++) {
            int sub = 0;
            for (int l = 0; l < 16; l++) sub += q8[16 * j + l] * two_bits(xb + Q2_K_QS, 16 * j + l);
            level_sum += (scales[j] & 0x0f) * sub;
        }
        const float dy = tl_block_load_f32(yb + Q8_K_D);
        const float dall = dy * tl_block_load_half(xb + Q2_K_D);
        const float dmin = dy * tl_block_load_half(xb + Q2_K_DMIN);
        sum += dall * (float)level_sum - dmin * (float)min_sum;
    }
    *out = sum;
}

void tl_vec_dot_q3_k_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    lane_sums lanes = {{0}};
    for (int64_t i = 0; i < n / QK_K; i++, xb += Q3_K_BYTES, yb += Q8_K_BYTES) {
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int32_t block_lanes[8] = {0};
        for (int e = 0; e < QK_K; e++)
            block_lanes[e % 8] += tl_q3_k_scale(xb + Q3_K_SCALES, e / 16) * (q8[e] * q3_k_level(xb, e));
        const float d = tl_block_load_half(xb + Q3_K_D) * tl_block_load_f32(yb + Q8_K_D);
        lanes_add_block(&lanes, d, block_lanes);
    }
    *out = lanes_total(&lanes, 0.0f);
}

/* q4_k and q5_k: levels times 6-bit scales in eight lanes, and the mins
 * against the q8_k block sums (two 16-sums per 32-element sub-block). */
static float dot_affine_k(int64_t n, const uint8_t *xb, size_t x_bytes, const uint8_t *yb,
                          int (*level)(const uint8_t *block, int e), int scales_at, int dmin_at) {
    lane_sums lanes = {{0}};
    float min_terms = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += x_bytes, yb += Q8_K_BYTES) {
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int scale[8], min[8];
        for (int j = 0; j < 8; j++) tl_q4_k_scale_min(xb + scales_at, j, &scale[j], &min[j]);
        int min_sum = 0;
        for (int j = 0; j < 16; j++) min_sum += tl_block_load_i16(yb + Q8_K_BSUMS + 2 * j) * min[j / 2];
        int32_t block_lanes[8] = {0};
        for (int e = 0; e < QK_K; e++) block_lanes[e % 8] += scale[e / 32] * (q8[e] * level(xb, e));
        const float dy = tl_block_load_f32(yb + Q8_K_D);
        lanes_add_block(&lanes, tl_block_load_half(xb) * dy, block_lanes); /* d is at offset 0 */
        min_terms -= tl_block_load_half(xb + dmin_at) * dy * (float)min_sum;
    }
    return lanes_total(&lanes, min_terms);
}

static int q4_k_level(const uint8_t *block, int e) {
    return nibble(block + Q4_K_QS, e);
}

void tl_vec_dot_q4_k_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    *out = dot_affine_k(n, x, Q4_K_BYTES, y, q4_k_level, Q4_K_SCALES, Q4_K_DMIN);
}

void tl_vec_dot_q5_k_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    *out = dot_affine_k(n, x, Q5_K_BYTES, y, q5_k_level, Q5_K_SCALES, Q5_K_DMIN);
}

void tl_vec_dot_q6_k_q8_k(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK_K == 0);
    const uint8_t *xb = x, *yb = y;
    lane_sums lanes = {{0}};
    for (int64_t i = 0; i < n / QK_K; i++, xb += Q6_K_BYTES, yb += Q8_K_BYTES) {
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        const int8_t *scales = (const int8_t *)(xb + Q6_K_SCALES);
        int32_t block_lanes[8] = {0};
        for (int e = 0; e < QK_K; e++) block_lanes[e % 8] += scales[e / 16] * (q8[e] * q6_k_level(xb, e));
        const float d = tl_block_load_half(xb + Q6_K_D) * tl_block_load_f32(yb + Q8_K_D);
        lanes_add_block(&lanes, d, block_lanes);
    }
    *out = lanes_total(&lanes, 0.0f);
}
