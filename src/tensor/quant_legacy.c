/*
 * quant_legacy.c — scalar reference rows of the type table for ggml's
 * 32-element block types: q4_0, q4_1, q5_0, q5_1, q8_0 (and q8_1, which only
 * exists as the activation side of q4_1 / q5_1 dot products).
 *
 * Quantizers reproduce ggml's round-to-nearest reference quantizers
 * (quantize_row_*_ref) bit for bit, so a row quantized here is byte-identical
 * to one written by llama.cpp; dot products follow ggml's scalar ("generic")
 * kernels: an integer dot per block, scaled by the block scales in float.
 *
 * Blocks are handled as byte arrays at the field offsets of blocks.h:
 * multi-byte fields are little-endian and may be unaligned in a mapped GGUF
 * file, so they are assembled from bytes (block_fields.h) instead of read
 * through struct pointers.
 * The float expressions keep ggml's operation order and must not be fused
 * into multiply-adds (which would change roundings on FMA targets): the
 * pragma below stops clang; GCC does not contract in ISO C mode (-std=c11).
 * Blocks containing NaN have no single ggml answer (its max loops are
 * vectorised differently per build); here they give deterministic bytes.
 */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "tensor/block_fields.h"
#include "tensor/blocks.h"
#include "tensor/quant_ref.h"
#include "tensor/types.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

enum { HALF_QK = QK / 2 };

/* ---- shared quantizer pieces -------------------------------------------- */

/* The element with the largest magnitude, keeping its sign (first one wins
 * on ties), as ggml picks the scale of symmetric types. */
static float signed_absmax(const float *x) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static float absmax(const float *x) {
    float amax = 0.0f;
    for (int j = 0; j < QK; j++) {
        const float a = fabsf(x[j]);
        amax = amax > a ? amax : a; /* ggml's MAX(amax, a) */
    }
    return amax;
}

static void min_max(const float *x, float *min_out, float *max_out) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < QK; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    *min_out = min;
    *max_out = max;
}

/* ggml turns a scaled value into a level with a plain cast, clamping the
 * top: MIN(top, (int8_t)v), v being offset so that truncation rounds. For
 * NaN or infinite v (a block so tiny that 1/d overflows) the cast is
 * undefined in C; x86 yields the "integer indefinite" 0x80000000, whose low
 * byte is 0, so ggml writes 0 there: do the same, without the undefined cast. */
static int truncate_to_level(float v, int top) {
    if (!(v > 0.0f) || v >= 2147483648.0f) return 0;
    if (v >= (float)top) return top;
    return (int)v;
}

/* roundf (half away from zero) into an int8, as ggml's q8 quantizers; NaN
 * and infinities give 0 as in ggml on x86 (see truncate_to_level). */
static int8_t round_to_int8(float v) {
    if (!(fabsf(v) < 2147483648.0f)) return 0;
    const float r = roundf(v);
    if (r > 127.0f) return 127;
    if (r < -127.0f) return -127;
    return (int8_t)r;
}

/* Symmetric 4/5-bit block: d = max / -(levels/2) where max is the signed
 * element of largest magnitude, q = trunc(x/d + levels/2 + 0.5). */
static float quantize_symmetric(const float *x, int levels, uint8_t q[QK]) {
    const float half_levels = (float)(levels / 2);
    const float d = signed_absmax(x) / -half_levels;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < QK; j++) {
        const float scaled = x[j] * id;
        q[j] = (uint8_t)truncate_to_level(scaled + (half_levels + 0.5f), levels - 1);
    }
    return d;
}

/* Affine 4/5-bit block: d = (max - min) / (levels - 1), q = trunc((x - min)/d + 0.5). */
static float quantize_affine(const float *x, int levels, uint8_t q[QK], float *min_out) {
    float min, max;
    min_max(x, &min, &max);
    const float d = (max - min) / (float)(levels - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < QK; j++) {
        const float scaled = (x[j] - min) * id;
        q[j] = (uint8_t)truncate_to_level(scaled + 0.5f, levels - 1);
    }
    *min_out = min;
    return d;
}

/* Element j's low nibble goes to byte j (j < 16) or to the high nibble of
 * byte j - 16: the first half of the block in low nibbles. */
static void pack_nibbles(const uint8_t q[QK], uint8_t *qs) {
    for (int j = 0; j < HALF_QK; j++) qs[j] = (uint8_t)((q[j] & 0x0f) | ((q[j + HALF_QK] & 0x0f) << 4));
}

/* Bit 4 of element j goes to bit j of qh. */
static uint32_t pack_fifth_bits(const uint8_t q[QK]) {
    uint32_t qh = 0;
    for (int j = 0; j < QK; j++) qh |= (uint32_t)((q[j] >> 4) & 1u) << j;
    return qh;
}

/* The 4/5-bit levels of elements j and j + 16 of a block (j < 16): the two
 * nibbles of byte j, plus bits j and j + 16 of qh as fifth bits (qh = 0 for
 * 4-bit types). Loops visit the block in these pairs, as ggml does; a loop
 * over all 32 elements that picks the half with `j < 16 ? ... : ...` was
 * miscompiled by GCC 12 at -O3 with -march=icelake-server / znver3. */
static int low_level(const uint8_t *qs, uint32_t qh, int j) {
    return (qs[j] & 0x0f) | (int)(((qh >> j) & 1u) << 4);
}

static int high_level(const uint8_t *qs, uint32_t qh, int j) {
    return (qs[j] >> 4) | (int)(((qh >> (j + HALF_QK)) & 1u) << 4);
}

/* ---- q4_0 --------------------------------------------------------------- */

void tl_q4_0_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    uint8_t q[QK];
    for (int64_t i = 0; i < n / QK; i++, block += Q4_0_BYTES) {
        const float d = quantize_symmetric(src + i * QK, 16, q);
        tl_block_store_half(block, d);
        pack_nibbles(q, block + Q4_0_QS);
    }
}

void tl_q4_0_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK; i++, block += Q4_0_BYTES) {
        const float d = tl_block_load_half(block);
        for (int j = 0; j < HALF_QK; j++) {
            dst[i * QK + j] = (float)(low_level(block + Q4_0_QS, 0, j) - 8) * d;
            dst[i * QK + j + HALF_QK] = (float)(high_level(block + Q4_0_QS, 0, j) - 8) * d;
        }
    }
}

/* ---- q4_1 --------------------------------------------------------------- */

void tl_q4_1_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    uint8_t q[QK];
    for (int64_t i = 0; i < n / QK; i++, block += Q4_1_BYTES) {
        float min;
        const float d = quantize_affine(src + i * QK, 16, q, &min);
        tl_block_store_half(block, d);
        tl_block_store_half(block + Q4_1_M, min);
        pack_nibbles(q, block + Q4_1_QS);
    }
}

void tl_q4_1_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK; i++, block += Q4_1_BYTES) {
        const float d = tl_block_load_half(block), m = tl_block_load_half(block + Q4_1_M);
        for (int j = 0; j < HALF_QK; j++) {
            const float low = (float)low_level(block + Q4_1_QS, 0, j) * d;
            const float high = (float)high_level(block + Q4_1_QS, 0, j) * d;
            dst[i * QK + j] = low + m;
            dst[i * QK + j + HALF_QK] = high + m;
        }
    }
}

/* ---- q5_0 --------------------------------------------------------------- */

void tl_q5_0_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    uint8_t q[QK];
    for (int64_t i = 0; i < n / QK; i++, block += Q5_0_BYTES) {
        const float d = quantize_symmetric(src + i * QK, 32, q);
        tl_block_store_half(block, d);
        tl_block_store_u32(block + Q5_0_QH, pack_fifth_bits(q));
        pack_nibbles(q, block + Q5_0_QS);
    }
}

void tl_q5_0_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK; i++, block += Q5_0_BYTES) {
        const float d = tl_block_load_half(block);
        const uint32_t qh = tl_block_load_u32(block + Q5_0_QH);
        for (int j = 0; j < HALF_QK; j++) {
            dst[i * QK + j] = (float)(low_level(block + Q5_0_QS, qh, j) - 16) * d;
            dst[i * QK + j + HALF_QK] = (float)(high_level(block + Q5_0_QS, qh, j) - 16) * d;
        }
    }
}

/* ---- q5_1 --------------------------------------------------------------- */

void tl_q5_1_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    uint8_t q[QK];
    for (int64_t i = 0; i < n / QK; i++, block += Q5_1_BYTES) {
        float min;
        const float d = quantize_affine(src + i * QK, 32, q, &min);
        tl_block_store_half(block, d);
        tl_block_store_half(block + Q5_1_M, min);
        tl_block_store_u32(block + Q5_1_QH, pack_fifth_bits(q));
        pack_nibbles(q, block + Q5_1_QS);
    }
}

void tl_q5_1_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK; i++, block += Q5_1_BYTES) {
        const float d = tl_block_load_half(block), m = tl_block_load_half(block + Q5_1_M);
        const uint32_t qh = tl_block_load_u32(block + Q5_1_QH);
        for (int j = 0; j < HALF_QK; j++) {
            const float low = (float)low_level(block + Q5_1_QS, qh, j) * d;
            const float high = (float)high_level(block + Q5_1_QS, qh, j) * d;
            dst[i * QK + j] = low + m;
            dst[i * QK + j + HALF_QK] = high + m;
        }
    }
}

/* ---- q8_0 / q8_1 -------------------------------------------------------- */

/* d = absmax / 127, q = round(x / d); returns d and the sum of the q. */
static float quantize_q8_block(const float *x, int8_t *qs, int *sum_out) {
    const float d = absmax(x) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < QK; j++) {
        qs[j] = round_to_int8(x[j] * id);
        sum += qs[j];
    }
    *sum_out = sum;
    return d;
}

void tl_q8_0_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK; i++, block += Q8_0_BYTES) {
        int sum;
        const float d = quantize_q8_block(src + i * QK, (int8_t *)(block + Q8_0_QS), &sum);
        tl_block_store_half(block, d);
    }
}

void tl_q8_0_to_float(const void *src, float *dst, int64_t n) {
    assert(n % QK == 0);
    const uint8_t *block = src;
    for (int64_t i = 0; i < n / QK; i++, block += Q8_0_BYTES) {
        const float d = tl_block_load_half(block);
        const int8_t *qs = (const int8_t *)(block + Q8_0_QS);
        for (int j = 0; j < QK; j++) dst[i * QK + j] = (float)qs[j] * d;
    }
}

/* q8_1 also stores s = d * sum(q), rounded to f16, so the q4_1 / q5_1 dot
 * can add the min term (m * s) without summing the activations again. */
void tl_q8_1_from_float(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK; i++, block += Q8_1_BYTES) {
        int sum;
        const float d = quantize_q8_block(src + i * QK, (int8_t *)(block + Q8_1_QS), &sum);
        tl_block_store_half(block, d);
        tl_block_store_half(block + Q8_1_S, (float)sum * d);
    }
}

/* ggml's x86 (AVX/AVX2) activation quantizer, which llama.cpp runs on every
 * x86 CPU: scale 127/amax instead of 1/d, and round half to even. The x86
 * kernel levels use these semantics for activations, so their products
 * match llama.cpp's bit for bit; weights keep the reference quantizer. */
static float quantize_q8_block_x86(const float *x, int8_t *qs, int *sum_out) {
    const float amax = absmax(x);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (int j = 0; j < QK; j++) {
        const float v = nearbyintf(x[j] * id); /* the default rounding: half to even */
        qs[j] = (int8_t)(fabsf(v) < 2147483648.0f ? (v > 127.0f ? 127 : v < -127.0f ? -127 : v) : 0);
        sum += qs[j];
    }
    *sum_out = sum;
    return amax / 127.0f;
}

void tl_q8_0_from_float_x86(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK; i++, block += Q8_0_BYTES) {
        int sum;
        const float d = quantize_q8_block_x86(src + i * QK, (int8_t *)(block + Q8_0_QS), &sum);
        tl_block_store_half(block, d);
    }
}

void tl_q8_1_from_float_x86(const float *src, void *dst, int64_t n) {
    assert(n % QK == 0);
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK; i++, block += Q8_1_BYTES) {
        int sum;
        const float d = quantize_q8_block_x86(src + i * QK, (int8_t *)(block + Q8_1_QS), &sum);
        tl_block_store_half(block, d);
        tl_block_store_half(block + Q8_1_S, (float)sum * d);
    }
}

/* ---- dot products ------------------------------------------------------- */

/* Sum over a block of (level_j + offset) * y_j, with levels from 4 or 5 bits. */
static int dot_levels_q8(const uint8_t *qs, const uint8_t *qh_bytes, int offset, const int8_t *y) {
    const uint32_t qh = qh_bytes ? tl_block_load_u32(qh_bytes) : 0;
    int sum = 0;
    for (int j = 0; j < HALF_QK; j++) {
        sum += (low_level(qs, qh, j) + offset) * y[j];
        sum += (high_level(qs, qh, j) + offset) * y[j + HALF_QK];
    }
    return sum;
}

void tl_vec_dot_q4_0_q8_0(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q4_0_BYTES, yb += Q8_0_BYTES) {
        const int sumi = dot_levels_q8(xb + Q4_0_QS, NULL, -8, (const int8_t *)(yb + Q8_0_QS));
        sum += (float)sumi * tl_block_load_half(xb) * tl_block_load_half(yb);
    }
    *out = sum;
}

void tl_vec_dot_q4_1_q8_1(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q4_1_BYTES, yb += Q8_1_BYTES) {
        const int sumi = dot_levels_q8(xb + Q4_1_QS, NULL, 0, (const int8_t *)(yb + Q8_1_QS));
        const float scaled = (tl_block_load_half(xb) * tl_block_load_half(yb)) * (float)sumi;
        const float min_term = tl_block_load_half(xb + Q4_1_M) * tl_block_load_half(yb + Q8_1_S);
        sum += scaled + min_term;
    }
    *out = sum;
}

void tl_vec_dot_q5_0_q8_0(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q5_0_BYTES, yb += Q8_0_BYTES) {
        const int sumi = dot_levels_q8(xb + Q5_0_QS, xb + Q5_0_QH, -16, (const int8_t *)(yb + Q8_0_QS));
        sum += (tl_block_load_half(xb) * tl_block_load_half(yb)) * (float)sumi;
    }
    *out = sum;
}

void tl_vec_dot_q5_1_q8_1(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q5_1_BYTES, yb += Q8_1_BYTES) {
        const int sumi = dot_levels_q8(xb + Q5_1_QS, xb + Q5_1_QH, 0, (const int8_t *)(yb + Q8_1_QS));
        const float scaled = (tl_block_load_half(xb) * tl_block_load_half(yb)) * (float)sumi;
        const float min_term = tl_block_load_half(xb + Q5_1_M) * tl_block_load_half(yb + Q8_1_S);
        sum += scaled + min_term;
    }
    *out = sum;
}

void tl_vec_dot_q8_0_q8_0(int64_t n, float *out, const void *x, const void *y) {
    assert(n % QK == 0);
    const uint8_t *xb = x, *yb = y;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q8_0_BYTES, yb += Q8_0_BYTES) {
        const int8_t *xq = (const int8_t *)(xb + Q8_0_QS), *yq = (const int8_t *)(yb + Q8_0_QS);
        int sumi = 0;
        for (int j = 0; j < QK; j++) sumi += xq[j] * yq[j];
        sum += (float)sumi * (tl_block_load_half(xb) * tl_block_load_half(yb));
    }
    *out = sum;
}
