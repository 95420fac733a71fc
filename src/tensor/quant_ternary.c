/*
 * quant_ternary.c — scalar reference rows of the type table for ggml's
 * ternary types tq1_0 and tq2_0 (BitNet b1.58-style weights -1, 0, 1 times
 * one f16 scale per 256 elements): dequantization and dot products with q8_k.
 *
 * Layouts (blocks.h, as ggml-common.h):
 *   tq1_0  u8 qs[48]: five trits per byte; u8 qh[4]: four trits per byte;
 *          f16 d. A byte holds trits t0..t4 as the fixed-point fraction
 *          byte / 256 ~ sum t_k 3^-(k+1): trit k is the integer part of
 *          3 * (byte * 3^k mod 256) / 256. Bytes 0..31 of qs hold elements
 *          32k + m (k = 0..4) of the first 160, bytes 32..47 elements
 *          160 + 16k + m; qh byte j holds elements 240 + 4k + j.
 *   tq2_0  u8 qs[64]: four 2-bit values (v + 1) per byte, element
 *          128 * (b / 32) + 32 * k + b % 32 in bits 2k of byte b; f16 d.
 * Both follow ggml's dequantize_row_tq*_0 and ggml_vec_dot_tq*_0_q8_K_generic
 * (integer sums, one float step per block), so the results are ggml's bits.
 */
#include <assert.h>
#include <stdint.h>

#include "tensor/block_fields.h"
#include "tensor/blocks.h"
#include "tensor/quant_ref.h"
#include "tensor/types.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Trit k (0..4) of a tq1_0 byte, as -1, 0 or 1. */
static int tq1_trit(uint8_t byte, int k) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t q = (uint8_t)(byte * pow3[k]);
    return (((uint16_t)q * 3) >> 8) - 1;
}

/* All 256 values of a tq1_0 block in element order. */
static void tq1_0_values(const uint8_t *block, int8_t v[QK_K]) {
    const uint8_t *qs = block + TQ1_0_QS, *qh = block + TQ1_0_QH;
    int e = 0;
    for (int k = 0; k < 5; k++)
        for (int m = 0; m < 32; m++) v[e++] = (int8_t)tq1_trit(qs[m], k);
    for (int k = 0; k < 5; k++)
        for (int m = 0; m < 16; m++) v[e++] = (int8_t)tq1_trit(qs[32 + m], k);
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++) v[e++] = (int8_t)tq1_trit(qh[j], k);
    assert(e == QK_K);
}

/* All 256 values of a tq2_0 block in element order. */
static void tq2_0_values(const uint8_t *block, int8_t v[QK_K]) {
    const uint8_t *qs = block + TQ2_0_QS;
    for (int e = 0; e < QK_K; e++) v[e] = (int8_t)(((qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3) - 1);
}

static void ternary_to_float(const uint8_t *block, size_t block_bytes, size_t d_offset,
                             void (*values)(const uint8_t *, int8_t *), float *dst, int64_t n) {
    assert(n % QK_K == 0);
    int8_t v[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, block += block_bytes, dst += QK_K) {
        const float d = tl_block_load_half(block + d_offset);
        values(block, v);
        for (int e = 0; e < QK_K; e++) dst[e] = (float)v[e] * d;
    }
}

/* Sum over blocks of (float)(integer dot) * (d_x * d_y): ggml's order for
 * tq1_0; tq2_0 multiplies d_y * d_x, the same product. */
static float ternary_dot(const uint8_t *xb, size_t block_bytes, size_t d_offset,
                         void (*values)(const uint8_t *, int8_t *), const uint8_t *yb, int64_t n) {
    assert(n % QK_K == 0);
    int8_t v[QK_K];
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, xb += block_bytes, yb += Q8_K_BYTES) {
        values(xb, v);
        const int8_t *q8 = (const int8_t *)(yb + Q8_K_QS);
        int sumi = 0;
        for (int e = 0; e < QK_K; e++) sumi += v[e] * q8[e];
        sum += (float)sumi * (tl_block_load_half(xb + d_offset) * tl_block_load_f32(yb + Q8_K_D));
    }
    return sum;
}

void tl_tq1_0_to_float(const void *src, float *dst, int64_t n) {
    ternary_to_float(src, TQ1_0_BYTES, TQ1_0_D, tq1_0_values, dst, n);
}

void tl_tq2_0_to_float(const void *src, float *dst, int64_t n) {
    ternary_to_float(src, TQ2_0_BYTES, TQ2_0_D, tq2_0_values, dst, n);
}

void tl_vec_dot_tq1_0_q8_k(int64_t n, float *out, const void *x, const void *y) {
    *out = ternary_dot(x, TQ1_0_BYTES, TQ1_0_D, tq1_0_values, y, n);
}

void tl_vec_dot_tq2_0_q8_k(int64_t n, float *out, const void *x, const void *y) {
    *out = ternary_dot(x, TQ2_0_BYTES, TQ2_0_D, tq2_0_values, y, n);
}
