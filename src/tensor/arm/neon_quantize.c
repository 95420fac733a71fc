/*
 * neon_quantize.c — NEON q8_0 / q8_1 quantizers for activations.
 *
 * Bit-exact with the references in quant_legacy.c: the same absmax, the same
 * d = amax / 127 and id = 1 / d in float, x * id rounded half away from zero
 * (FCVTAS is roundf), and d (and q8_1's s) rounded to f16 to nearest even.
 * A block holding NaN or infinity, or so tiny that 1 / d overflows, is handed
 * to the reference, whose conventions for those cases NEON does not share.
 */
#include <assert.h>
#include <float.h>
#include <stdbool.h>

#include "tensor/arm/neon_internal.h"
#include "tensor/quant_ref.h"

enum { Q8_0_BYTES = 34, Q8_1_BYTES = 36 };

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
    assert(n % TL_NEON_QK == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / TL_NEON_QK; i++, block += Q8_0_BYTES) {
        const float *x = src + i * TL_NEON_QK;
        float d;
        int sum;
        if (quantize_block(x, (int8_t *)(block + 2), &d, &sum))
            tl_neon_store_half(block, d);
        else
            tl_q8_0_from_float(x, block, TL_NEON_QK);
    }
}

void tl_neon_quantize_q8_1(const float *src, void *dst, int64_t n) {
    assert(n % TL_NEON_QK == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / TL_NEON_QK; i++, block += Q8_1_BYTES) {
        const float *x = src + i * TL_NEON_QK;
        float d;
        int sum;
        if (quantize_block(x, (int8_t *)(block + 4), &d, &sum)) {
            tl_neon_store_half(block, d);
            tl_neon_store_half(block + 2, (float)sum * d);
        } else {
            tl_q8_1_from_float(x, block, TL_NEON_QK);
        }
    }
}
