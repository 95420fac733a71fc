/*
 * quant_iq4.c — the quantizers (from_float) of iq4_nl and iq4_xs: ggml's
 * reference algorithm without an importance matrix (quantize_row_iq4_nl_ref,
 * quantize_row_iq4_xs_ref), reproduced bit for bit
 * (tests/unit/test_iquants.c checks the bytes against ggml's).
 *
 * Both share ggml's quantize_row_iq4_nl_impl: per 32-element block, the
 * levels are the nearest of the 16 non-linear values kvalues_iq4nl to x / d,
 * and d is the weighted (x^2) least-squares scale for those levels, found
 * from the scale that maps the largest magnitude to the end value -127 and,
 * when ntry > 0, 2 * ntry + 1 trial scales around it. iq4_nl stores d as
 * f16 per block; ggml's reference for it uses ntry = -1 (no trials, and the
 * levels of the first pass). iq4_xs (ntry = 7) stores the blocks' scales as
 * 6-bit integers times one f16 super-block scale, and re-picks each level
 * against its block's final scale.
 *
 * Every float expression keeps ggml's operation order; none may be fused
 * into a multiply-add (see the pragma; GCC does not contract in ISO C mode).
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tensor/block_fields.h"
#include "tensor/blocks.h"
#include "tensor/iq_tables.h"
#include "tensor/quant_ref.h"
#include "tensor/types.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Below this a block's largest magnitude counts as all zeros (GROUP_MAX_EPS). */
static const float group_max_eps = 1e-15f;

/* ggml's nearest_int: round to nearest, ties to even, via 1.5 * 2^23. */
static int round_nearest(float v) {
    const float shifted = v + 12582912.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

/* The index of the value of tl_kvalues_iq4nl nearest to x (the upper one
 * on ties), by bisection as ggml's best_index_int8. */
static int nearest_level(float x) {
    const int8_t *values = tl_kvalues_iq4nl;
    if (x <= values[0]) return 0;
    if (x >= values[15]) return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (x < values[mid])
            hi = mid;
        else
            lo = mid;
    }
    return x - values[hi - 1] < values[hi] - x ? hi - 1 : hi;
}

/* Sums of w * q * x and w * q * q (w = x^2) over a block for the levels of
 * x * iscale. */
static void level_sums(const float *x, float iscale, float *sumqx, float *sumq2) {
    float sqx = 0, sq2 = 0;
    for (int j = 0; j < QK; j++) {
        const float q = tl_kvalues_iq4nl[nearest_level(iscale * x[j])];
        const float w = x[j] * x[j];
        sqx += w * q * x[j];
        sq2 += w * q * q;
    }
    *sumqx = sqx;
    *sumq2 = sq2;
}

/* The scale of one 32-element block and its levels for the first-pass
 * scale (ggml's per-block step). 0 (levels untouched) for an all-zero block. */
static float block_scale(const float *x, int ntry, uint8_t levels[QK]) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK; j++) {
        const float ax = fabsf(x[j]);
        if (ax > amax) {
            amax = ax;
            max = x[j];
        }
    }
    if (amax < group_max_eps) return 0.0f;
    const float end = tl_kvalues_iq4nl[0];
    float d = ntry > 0 ? -max / end : max / end;
    const float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < QK; j++) {
        const int l = nearest_level(id * x[j]);
        levels[j] = (uint8_t)l;
        const float q = tl_kvalues_iq4nl[l];
        const float w = x[j] * x[j];
        sumqx += w * q * x[j];
        sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
    float best = d * sumqx;
    for (int itry = -ntry; itry <= ntry; itry++) {
        level_sums(x, (float)(itry + tl_kvalues_iq4nl[0]) / max, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

/* Levels L[32 * i + j] and L[32 * i + 16 + j] into byte 16 * i + j. */
static void pack_nibbles(const uint8_t *levels, int n, uint8_t *qs) {
    for (int i = 0; i < n / 32; i++)
        for (int j = 0; j < 16; j++) qs[16 * i + j] = (uint8_t)(levels[32 * i + j] | (levels[32 * i + 16 + j] << 4));
}

void tl_iq4_nl_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    /* ggml keeps the levels buffer across the blocks of a row: an all-zero
     * block (d = 0) packs the previous block's levels. Start at the level
     * nearest zero. */
    uint8_t levels[QK];
    memset(levels, 8, sizeof levels);
    for (int64_t i = 0; i < n / QK; i++, block += IQ4_NL_BYTES, src += QK) {
        const float d = block_scale(src, -1, levels);
        tl_block_store_half(block + IQ4_NL_D, d);
        pack_nibbles(levels, QK, block + IQ4_NL_QS);
    }
}

void tl_iq4_xs_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK_K == 0);
    enum { N_SUB = QK_K / QK };
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK_K; i++, block += IQ4_XS_BYTES, src += QK_K) {
        float scales[N_SUB];
        uint8_t levels[QK_K];
        float max_scale = 0, amax_scale = 0;
        for (int ib = 0; ib < N_SUB; ib++) {
            scales[ib] = block_scale(src + QK * ib, 7, levels + QK * ib);
            if (fabsf(scales[ib]) > amax_scale) {
                amax_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        const float d = -max_scale / 32;
        tl_block_store_half(block + IQ4_XS_D, d);
        const float id = d != 0.0f ? 1 / d : 0.0f;
        unsigned scales_h = 0;
        memset(block + IQ4_XS_SCALES_L, 0, QK_K / 64);
        for (int ib = 0; ib < N_SUB; ib++) {
            int l = round_nearest(id * scales[ib]);
            l = l < -32 ? -32 : l > 31 ? 31 : l;
            const float dl = d * (float)l;
            const float idl = dl != 0.0f ? 1 / dl : 0.0f;
            for (int j = 0; j < QK; j++) levels[QK * ib + j] = (uint8_t)nearest_level(idl * src[QK * ib + j]);
            l += 32;
            block[IQ4_XS_SCALES_L + ib / 2] |= (uint8_t)((l & 0x0f) << (4 * (ib % 2)));
            scales_h |= (unsigned)(l >> 4) << (2 * ib);
        }
        block[IQ4_XS_SCALES_H] = (uint8_t)(scales_h & 0xff);
        block[IQ4_XS_SCALES_H + 1] = (uint8_t)(scales_h >> 8);
        pack_nibbles(levels, QK_K, block + IQ4_XS_QS);
    }
}
