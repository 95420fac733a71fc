/*
 * neon_quantize.c — NEON q8_0 / q8_1 / q8_k quantizers for activations.
 *
 * q8_0 / q8_1 are bit-exact with the references in quant_legacy.c: the
 * same absmax, the same d = amax / 127 and id = 1 / d in float, x * id
 * rounded half away from zero (FCVTAS is roundf), and d (and q8_1's s)
 * rounded to f16 to nearest even. q8_k is bit-exact with quant_k.c (see
 * tl_neon_quantize_q8_k). A block holding NaN or infinity, or so tiny that
 * its inverse scale overflows, is handed to the reference, whose
 * conventions for those cases NEON does not share.
 */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "tensor/arm/neon_internal.h"
#include "tensor/quant_ref.h"

/* Quantize one block of 32 floats into 32 int8 levels and return its scale
 * d and the sum of the levels; false (nothing written) if the block is for
 * the reference. */
static bool quantize_block(const float *src, int8_t *levels, float *d_out, int *sum_out) {
    float32x4_t v[8];
    for (int i = 0; i < 8; i++) v[i] = vld1q_f32(src + 4 * i);
    float32x4_t largest = vabsq_f32(v[0]);
    for (int i = 1; i < 8; i++) largest = vmaxq_f32(largest, vabsq_f32(v[i])); /* NaN wins */
    const float amax = vmaxvq_f32(largest);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (!(amax <= FLT_MAX) || !(id <= FLT_MAX)) return false;

    int8x16_t halves[2];
    for (int h = 0; h < 2; h++) {
        int16x8_t narrow[2];
        for (int i = 0; i < 2; i++) {
            const int32x4_t q0 = vcvtaq_s32_f32(vmulq_n_f32(v[4 * h + 2 * i], id));
            const int32x4_t q1 = vcvtaq_s32_f32(vmulq_n_f32(v[4 * h + 2 * i + 1], id));
            narrow[i] = vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1));
        }
        const int8x16_t q = vcombine_s8(vqmovn_s16(narrow[0]), vqmovn_s16(narrow[1]));
        halves[h] = vmaxq_s8(q, vdupq_n_s8(-127)); /* the reference's range is ±127 */
        vst1q_s8(levels + 16 * h, halves[h]);
    }
    *d_out = d;
    *sum_out = vaddlvq_s8(halves[0]) + vaddlvq_s8(halves[1]);
    return true;
}

void tl_neon_quantize_q8_0(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK; i++, block += Q8_0_BYTES) {
        const float *x = src + i * QK;
        float d;
        int sum;
        if (quantize_block(x, (int8_t *)(block + Q8_0_QS), &d, &sum))
            tl_neon_store_half(block, d);
        else
            tl_q8_0_from_float(x, block, QK);
    }
}

void tl_neon_quantize_q8_1(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK; i++, block += Q8_1_BYTES) {
        const float *x = src + i * QK;
        float d;
        int sum;
        if (quantize_block(x, (int8_t *)(block + Q8_1_QS), &d, &sum)) {
            tl_neon_store_half(block, d);
            tl_neon_store_half(block + Q8_1_S, (float)sum * d);
        } else {
            tl_q8_1_from_float(x, block, QK);
        }
    }
}

/* ---- q8_k ------------------------------------------------------------------ */

/* The element of largest magnitude with its sign, the first one if several
 * share it (as the reference's scan keeps it); amax > 0. Only when both
 * +amax and -amax occur does the order matter. */
static float signed_max(const float *x, const float32x4_t v[64], float amax) {
    uint32x4_t pos = vdupq_n_u32(0), neg = vdupq_n_u32(0);
    for (int i = 0; i < 64; i++) {
        pos = vorrq_u32(pos, vceqq_f32(v[i], vdupq_n_f32(amax)));
        neg = vorrq_u32(neg, vceqq_f32(v[i], vdupq_n_f32(-amax)));
    }
    const bool has_pos = vmaxvq_u32(pos) != 0, has_neg = vmaxvq_u32(neg) != 0;
    if (has_pos != has_neg) return has_pos ? amax : -amax;
    int j = 0;
    while (x[j] != amax && x[j] != -amax) j++;
    return x[j];
}

/* Bit-exact with tl_q8_k_from_float: d = max / -127 (max: the element of
 * largest magnitude, with its sign), q = x * (-127 / max) rounded to nearest
 * even (FCVTNS, as the reference's nearest_int for these magnitudes), and
 * the 16-element sums. Blocks holding NaN or infinity, or so tiny that
 * -127 / max overflows, are handed to the reference. */
void tl_neon_quantize_q8_k(const float *src, void *dst, int64_t n) {
    assert(n % QK_K == 0);
    uint8_t *block = dst;
    for (int64_t b = 0; b < n / QK_K; b++, block += Q8_K_BYTES) {
        const float *x = src + b * QK_K;
        float32x4_t v[64];
        float32x4_t largest = vdupq_n_f32(0.0f);
        for (int i = 0; i < 64; i++) {
            v[i] = vld1q_f32(x + 4 * i);
            largest = vmaxq_f32(largest, vabsq_f32(v[i])); /* NaN wins */
        }
        const float amax = vmaxvq_f32(largest);
        if (amax == 0.0f) {
            memset(block, 0, Q8_K_BYTES);
            continue;
        }
        const float iscale = amax <= FLT_MAX ? -127.0f / signed_max(x, v, amax) : NAN;
        if (!(fabsf(iscale) <= FLT_MAX)) {
            tl_q8_k_from_float(x, block, QK_K);
            continue;
        }
        int8_t *levels = (int8_t *)(block + Q8_K_QS);
        int16_t sums[16];
        for (int g = 0; g < 16; g++) { /* 16 levels per group, as bsums */
            int16x8_t narrow[2];
            for (int i = 0; i < 2; i++) {
                const int32x4_t q0 = vcvtnq_s32_f32(vmulq_n_f32(v[4 * g + 2 * i], iscale));
                const int32x4_t q1 = vcvtnq_s32_f32(vmulq_n_f32(v[4 * g + 2 * i + 1], iscale));
                narrow[i] = vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1));
            }
            /* |q| <= 127 but for rounding of iscale * max; saturating keeps
             * the reference's min(q, 127) */
            const int8x16_t q = vcombine_s8(vqmovn_s16(narrow[0]), vqmovn_s16(narrow[1]));
            vst1q_s8(levels + 16 * g, q);
            sums[g] = (int16_t)vaddlvq_s8(q);
        }
        memcpy(block + Q8_K_BSUMS, sums, sizeof sums); /* little-endian, as the format */
        const float d = 1 / iscale;
        memcpy(block + Q8_K_D, &d, sizeof d);
    }
}
