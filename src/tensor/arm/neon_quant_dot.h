/*
 * neon_quant_dot.h — vec_dot and tiled gemm for ggml's 32-element block
 * types (q4_0, q4_1, q5_0, q5_1, q8_0, iq4_nl weights against q8_0 / q8_1
 * activations), written once for two instruction sets.
 *
 * Included by neon.c, neon_dotprod.c and neon_i8mm.c, which first define
 *     TL_NEON_INLINE int32x4_t dot_i8x32(int8x16_t a_lo, int8x16_t a_hi,
 *                                        int8x16_t b_lo, int8x16_t b_hi);
 * returning four int32 partial sums of the 32 products a[j] * b[j] (plain
 * armv8-a widening multiplies, or SDOT). Everything here is static, so each
 * file gets its own copy compiled with its own target flags.
 *
 * A weight block is decoded into 32 signed levels (the offset of symmetric
 * types already subtracted; iq4_nl's 4-bit indices looked up in
 * kvalues_iq4nl by TBL), the integer dot with the activation block is
 * exact, and the block's float scales are applied as in the reference:
 *     symmetric: sum += dot * d_w * d_x
 *     affine:    sum += dot * d_w * d_x + m_w * s_x   (s_x = d_x * sum(q_x))
 * Only the order of the float additions differs from the reference.
 */
#ifndef TL_NEON_QUANT_DOT_H
#define TL_NEON_QUANT_DOT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/arm/neon_internal.h"
#include "tensor/iq_tables.h"

typedef enum { KIND_Q4_0, KIND_Q4_1, KIND_Q5_0, KIND_Q5_1, KIND_Q8_0, KIND_IQ4_NL } quant_kind;

TL_NEON_INLINE size_t weight_block_bytes(quant_kind kind) {
    static const size_t bytes[] = {Q4_0_BYTES, Q4_1_BYTES, Q5_0_BYTES, Q5_1_BYTES, Q8_0_BYTES, IQ4_NL_BYTES};
    return bytes[kind];
}

/* Affine types carry a minimum m and dot against q8_1, which carries s. */
TL_NEON_INLINE int is_affine(quant_kind kind) {
    return kind == KIND_Q4_1 || kind == KIND_Q5_1;
}

TL_NEON_INLINE size_t activation_block_bytes(quant_kind kind) {
    return is_affine(kind) ? Q8_1_BYTES : Q8_0_BYTES;
}

/* Offset of the int8 levels in a q8_0 (after d) or q8_1 (after d, s) block. */
TL_NEON_INLINE size_t activation_levels_offset(quant_kind kind) {
    return is_affine(kind) ? Q8_1_QS : Q8_0_QS;
}

/* Where an affine weight block keeps m (q4_1 and q5_1 alike, blocks.h) and
 * a q8_1 block s. */
enum { MIN_AT = Q4_1_M, SUM_AT = Q8_1_S };

typedef struct block_levels {
    int8x16_t lo; /* elements 0..15 */
    int8x16_t hi; /* elements 16..31 */
} block_levels;

/* The fifth bits of a q5 block as 0x10 / 0x00 bytes: bit j of the 32-bit
 * little-endian qh belongs to element j. Each qh byte is spread over eight
 * lanes, then every lane tests its own bit. Reads 8 bytes from qh, which
 * stay inside the block (qh is followed by the 16 bytes of qs). */
TL_NEON_INLINE void fifth_bits(const uint8_t *qh, uint8x16_t *lo, uint8x16_t *hi) {
    static const uint8_t spread_lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t spread_hi[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    static const uint8_t lane_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bytes = vcombine_u8(vld1_u8(qh), vdup_n_u8(0));
    const uint8x16_t bit = vld1q_u8(lane_bit), fifth = vdupq_n_u8(0x10);
    *lo = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(spread_lo)), bit), fifth);
    *hi = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(spread_hi)), bit), fifth);
}

/* The 32 signed levels of a weight block. */
TL_NEON_INLINE block_levels decode_weights(quant_kind kind, const uint8_t *block) {
    block_levels q;
    if (kind == KIND_Q8_0) {
        q.lo = vld1q_s8((const int8_t *)(block + Q8_0_QS));
        q.hi = vld1q_s8((const int8_t *)(block + Q8_0_QS + 16));
        return q;
    }
    static const size_t qs_offset[] = {Q4_0_QS, Q4_1_QS, Q5_0_QS, Q5_1_QS, 0, IQ4_NL_QS};
    const uint8x16_t packed = vld1q_u8(block + qs_offset[kind]);
    uint8x16_t lo = vandq_u8(packed, vdupq_n_u8(0x0f)); /* first 16 in low nibbles */
    uint8x16_t hi = vshrq_n_u8(packed, 4);
    if (kind == KIND_IQ4_NL) {
        const int8x16_t table = vld1q_s8(tl_kvalues_iq4nl);
        q.lo = vqtbl1q_s8(table, lo);
        q.hi = vqtbl1q_s8(table, hi);
        return q;
    }
    if (kind == KIND_Q5_0 || kind == KIND_Q5_1) {
        uint8x16_t bits_lo, bits_hi;
        fifth_bits(block + (kind == KIND_Q5_0 ? Q5_0_QH : Q5_1_QH), &bits_lo, &bits_hi);
        lo = vorrq_u8(lo, bits_lo);
        hi = vorrq_u8(hi, bits_hi);
    }
    const int8_t offset = kind == KIND_Q4_0 ? 8 : kind == KIND_Q5_0 ? 16 : 0;
    q.lo = vsubq_s8(vreinterpretq_s8_u8(lo), vdupq_n_s8(offset));
    q.hi = vsubq_s8(vreinterpretq_s8_u8(hi), vdupq_n_s8(offset));
    return q;
}

TL_NEON_INLINE int32x4_t dot_block(block_levels w, const uint8_t *levels) {
    const int8x16_t lo = vld1q_s8((const int8_t *)levels);
    const int8x16_t hi = vld1q_s8((const int8_t *)(levels + 16));
    return dot_i8x32(w.lo, w.hi, lo, hi);
}

/* One weight row against one activation row, computed exactly as one
 * (row, token) lane of the 4x4 tiles (quant_tile_4x4 here, mmla_tile_4x4 in
 * neon_i8mm.c): each block's integer dot is summed exactly, then
 *     acc = fma(dot, d_w * d_x, acc)   (affine: acc = fma(m_w, s_x, acc))
 * block after block. The gemm uses this for the rows and tokens its tiles
 * leave over, so a token's result must not depend on whether it fell in a
 * tile (a batch of 40 tokens) or in the leftovers (a batch of 15): a model
 * replaying part of a prompt must get the same logits bit for bit. */
TL_NEON_INLINE void quant_vec_dot(quant_kind kind, int64_t n, float *out, const void *w, const void *x) {
    const size_t w_bytes = weight_block_bytes(kind), x_bytes = activation_block_bytes(kind);
    const size_t x_levels = activation_levels_offset(kind);
    const int64_t n_blocks = n / QK;
    const uint8_t *wb = w, *xb = x;
    float acc = 0.0f;
    for (int64_t b = 0; b < n_blocks; b++, wb += w_bytes, xb += x_bytes) {
        const int32_t dot = vaddvq_s32(dot_block(decode_weights(kind, wb), xb + x_levels));
        acc = fmaf((float)dot, tl_neon_load_half(wb) * tl_neon_load_half(xb), acc);
        if (is_affine(kind)) acc = fmaf(tl_neon_load_half(wb + MIN_AT), tl_neon_load_half(xb + SUM_AT), acc);
    }
    *out = acc;
}

/* Four weight rows × four activation rows: each weight block is decoded
 * once for four tokens and each activation block loaded once for four rows.
 * acc[r] holds row r's sums, one token per lane, so the block scales of the
 * four tokens are applied with one vector multiply-add. */
TL_NEON_INLINE void quant_tile_4x4(quant_kind kind, int64_t n_blocks, const uint8_t *w, size_t w_row_bytes,
                                   const uint8_t *x, size_t x_row_bytes, float *y, int64_t ldy) {
    const size_t w_bytes = weight_block_bytes(kind), x_bytes = activation_block_bytes(kind);
    const size_t x_levels = activation_levels_offset(kind);
    float32x4_t acc[4];
    TL_NEON_UNROLL
    for (int r = 0; r < 4; r++) acc[r] = vdupq_n_f32(0.0f);

    for (int64_t b = 0; b < n_blocks; b++) {
        const uint8_t *wb = w + (size_t)b * w_bytes, *xb = x + (size_t)b * x_bytes;
        const float32x4_t x_scale = tl_neon_load_halves(xb, x_row_bytes, 4);
        const float32x4_t x_sum =
            is_affine(kind) ? tl_neon_load_halves(xb + SUM_AT, x_row_bytes, 4) : vdupq_n_f32(0.0f);
        float w_scale[4], w_min[4];
        vst1q_f32(w_scale, tl_neon_load_halves(wb, w_row_bytes, 4));
        if (is_affine(kind)) vst1q_f32(w_min, tl_neon_load_halves(wb + MIN_AT, w_row_bytes, 4));

        TL_NEON_UNROLL
        for (int r = 0; r < 4; r++) {
            const block_levels q = decode_weights(kind, wb + (size_t)r * w_row_bytes);
            int32x4_t p[4];
            TL_NEON_UNROLL
            for (int t = 0; t < 4; t++) p[t] = dot_block(q, xb + (size_t)t * x_row_bytes + x_levels);
            /* pairwise adds fold each token's partial sums into lane t */
            const int32x4_t dots = vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));
            acc[r] = vfmaq_f32(acc[r], vcvtq_f32_s32(dots), vmulq_n_f32(x_scale, w_scale[r]));
            if (is_affine(kind)) acc[r] = vfmaq_n_f32(acc[r], x_sum, w_min[r]);
        }
    }
    TL_NEON_UNROLL
    for (int r = 0; r < 4; r++) {
        float sums[4];
        vst1q_f32(sums, acc[r]);
        TL_NEON_UNROLL
        for (int t = 0; t < 4; t++) y[t * ldy + r] = sums[t];
    }
}

/* A gemm of kernels.h built on a 4x4 tile function: 4x4 tiles, then rows
 * and tokens left over one (row, token) pair at a time with quant_vec_dot.
 * Decoding a single token (n_tokens == 1) is one vec_dot per row, which is
 * already bound by reading the weights. Defined as a macro so each tile kind
 * (SDOT/plain here, SMMLA in neon_i8mm.c) gets its own fully inlined copy. */
#define TL_NEON_DEFINE_TILED_GEMM(name, tile)                                                                          \
    TL_NEON_INLINE void name(quant_kind kind, int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0,           \
                             int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) { \
        const uint8_t *wrows = w, *xrows = x;                                                                          \
        const int64_t n_blocks = n_cols / QK;                                                                          \
        int64_t t = 0;                                                                                                 \
        for (; t + 4 <= n_tokens; t += 4) {                                                                            \
            const uint8_t *xt = xrows + (size_t)t * x_row_bytes;                                                       \
            float *yt = y + t * ldy;                                                                                   \
            int64_t r = r0;                                                                                            \
            for (; r + 4 <= r1; r += 4)                                                                                \
                tile(kind, n_blocks, wrows + (size_t)r * w_row_bytes, w_row_bytes, xt, x_row_bytes, yt + r, ldy);      \
            for (; r < r1; r++)                                                                                        \
                for (int64_t k = 0; k < 4; k++)                                                                        \
                    quant_vec_dot(kind, n_cols, &yt[k * ldy + r], wrows + (size_t)r * w_row_bytes,                     \
                                  xt + (size_t)k * x_row_bytes);                                                       \
        }                                                                                                              \
        for (; t < n_tokens; t++)                                                                                      \
            for (int64_t r = r0; r < r1; r++)                                                                          \
                quant_vec_dot(kind, n_cols, &y[t * ldy + r], wrows + (size_t)r * w_row_bytes,                          \
                              xrows + (size_t)t * x_row_bytes);                                                        \
    }

TL_NEON_DEFINE_TILED_GEMM(quant_gemm, quant_tile_4x4)

static void vec_dot_q4_0(int64_t n, float *out, const void *w, const void *x) {
    quant_vec_dot(KIND_Q4_0, n, out, w, x);
}
static void vec_dot_q4_1(int64_t n, float *out, const void *w, const void *x) {
    quant_vec_dot(KIND_Q4_1, n, out, w, x);
}
static void vec_dot_q5_0(int64_t n, float *out, const void *w, const void *x) {
    quant_vec_dot(KIND_Q5_0, n, out, w, x);
}
static void vec_dot_q5_1(int64_t n, float *out, const void *w, const void *x) {
    quant_vec_dot(KIND_Q5_1, n, out, w, x);
}
static void vec_dot_q8_0(int64_t n, float *out, const void *w, const void *x) {
    quant_vec_dot(KIND_Q8_0, n, out, w, x);
}
static void vec_dot_iq4_nl(int64_t n, float *out, const void *w, const void *x) {
    quant_vec_dot(KIND_IQ4_NL, n, out, w, x);
}
#define TL_NEON_GEMM_ARGS                                                                                              \
    int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x, size_t x_row_bytes,      \
        int64_t n_tokens, float *y, int64_t ldy
#define TL_NEON_GEMM_PASS n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy
static void gemm_q4_0(TL_NEON_GEMM_ARGS) {
    quant_gemm(KIND_Q4_0, TL_NEON_GEMM_PASS);
}
static void gemm_q4_1(TL_NEON_GEMM_ARGS) {
    quant_gemm(KIND_Q4_1, TL_NEON_GEMM_PASS);
}
static void gemm_q5_0(TL_NEON_GEMM_ARGS) {
    quant_gemm(KIND_Q5_0, TL_NEON_GEMM_PASS);
}
static void gemm_q5_1(TL_NEON_GEMM_ARGS) {
    quant_gemm(KIND_Q5_1, TL_NEON_GEMM_PASS);
}
static void gemm_q8_0(TL_NEON_GEMM_ARGS) {
    quant_gemm(KIND_Q8_0, TL_NEON_GEMM_PASS);
}
static void gemm_iq4_nl(TL_NEON_GEMM_ARGS) {
    quant_gemm(KIND_IQ4_NL, TL_NEON_GEMM_PASS);
}

#undef TL_NEON_GEMM_ARGS
#undef TL_NEON_GEMM_PASS

/* Install this file's quantized kernels into a set. */
static void fill_quant_kernels(tl_kernel_set *k) {
    k->vec_dot[TL_TYPE_Q4_0] = vec_dot_q4_0;
    k->vec_dot[TL_TYPE_Q4_1] = vec_dot_q4_1;
    k->vec_dot[TL_TYPE_Q5_0] = vec_dot_q5_0;
    k->vec_dot[TL_TYPE_Q5_1] = vec_dot_q5_1;
    k->vec_dot[TL_TYPE_Q8_0] = vec_dot_q8_0;
    k->vec_dot[TL_TYPE_IQ4_NL] = vec_dot_iq4_nl;
    k->gemm[TL_TYPE_Q4_0] = gemm_q4_0;
    k->gemm[TL_TYPE_Q4_1] = gemm_q4_1;
    k->gemm[TL_TYPE_Q5_0] = gemm_q5_0;
    k->gemm[TL_TYPE_Q5_1] = gemm_q5_1;
    k->gemm[TL_TYPE_Q8_0] = gemm_q8_0;
    k->gemm[TL_TYPE_IQ4_NL] = gemm_iq4_nl;
}

#endif /* TL_NEON_QUANT_DOT_H */
