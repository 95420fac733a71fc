/*
 * neon_i8mm.c — gemm for the 32-element block types built on SMMLA (the
 * int8 matrix-multiply extension): one instruction multiplies a 2×8 block of
 * two weight rows by an 8×2 block of two tokens into a 2×2 int32 tile, so a
 * 4×4 tile of (row, token) dots takes half the instructions of SDOT.
 *
 * Compiled with -march=armv8.2-a+dotprod+i8mm; installed only when the CPU
 * has both extensions. vec_dot, and the rows and tokens left over by the
 * 4×4 tiles, use the SDOT kernels of neon_quant_dot.h.
 */
#if !defined(__ARM_FEATURE_MATMUL_INT8) || !defined(__ARM_FEATURE_DOTPROD)
#error "neon_i8mm.c must be compiled with -march=armv8.2-a+dotprod+i8mm"
#endif

#include "tensor/arm/neon_internal.h"

TL_NEON_INLINE int32x4_t dot_i8x32(int8x16_t a_lo, int8x16_t a_hi, int8x16_t b_lo, int8x16_t b_hi) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), a_lo, b_lo), a_hi, b_hi);
}

#include "tensor/arm/neon_quant_dot.h"

/* The 32 levels of two rows as four 2×8 matrices for SMMLA: matrix k holds
 * elements 8k..8k+7 of row a, then the same of row b. */
TL_NEON_INLINE void pair_rows(block_levels a, block_levels b, int8x16_t m[4]) {
    const int64x2_t a_lo = vreinterpretq_s64_s8(a.lo), b_lo = vreinterpretq_s64_s8(b.lo);
    const int64x2_t a_hi = vreinterpretq_s64_s8(a.hi), b_hi = vreinterpretq_s64_s8(b.hi);
    m[0] = vreinterpretq_s8_s64(vzip1q_s64(a_lo, b_lo));
    m[1] = vreinterpretq_s8_s64(vzip2q_s64(a_lo, b_lo));
    m[2] = vreinterpretq_s8_s64(vzip1q_s64(a_hi, b_hi));
    m[3] = vreinterpretq_s8_s64(vzip2q_s64(a_hi, b_hi));
}

TL_NEON_INLINE block_levels load_levels(const uint8_t *levels) {
    block_levels q = {vld1q_s8((const int8_t *)levels), vld1q_s8((const int8_t *)(levels + 16))};
    return q;
}

/* Per-lane factors of a 2×2 tile [a·x, a·y, b·x, b·y] for rows (a, b) =
 * rows 2i, 2i+1 of a 4-vector and tokens (x, y) = tokens 2j, 2j+1. */
TL_NEON_INLINE float32x4_t row_pair_lanes(float32x4_t rows, int i) {
    return i == 0 ? vzip1q_f32(rows, rows) : vzip2q_f32(rows, rows);
}
TL_NEON_INLINE float32x4_t token_pair_lanes(float32x4_t tokens, int j) {
    return j == 0 ? vcombine_f32(vget_low_f32(tokens), vget_low_f32(tokens))
                  : vcombine_f32(vget_high_f32(tokens), vget_high_f32(tokens));
}

/* Four weight rows × four tokens as four 2×2 SMMLA tiles; acc[i][j] holds
 * rows 2i, 2i+1 × tokens 2j, 2j+1 in the lane order of row_pair_lanes. */
TL_NEON_INLINE void mmla_tile_4x4(quant_kind kind, int64_t n_blocks, const uint8_t *w, size_t w_row_bytes,
                                  const uint8_t *x, size_t x_row_bytes, float *y, int64_t ldy) {
    const size_t w_bytes = weight_block_bytes(kind), x_bytes = activation_block_bytes(kind);
    const size_t x_levels = activation_levels_offset(kind);
    float32x4_t acc[2][2];
    TL_NEON_UNROLL
    for (int i = 0; i < 2; i++) acc[i][0] = acc[i][1] = vdupq_n_f32(0.0f);

    for (int64_t b = 0; b < n_blocks; b++) {
        const uint8_t *wb = w + (size_t)b * w_bytes, *xb = x + (size_t)b * x_bytes;
        int8x16_t rows[2][4], tokens[2][4];
        TL_NEON_UNROLL
        for (int i = 0; i < 2; i++) {
            pair_rows(decode_weights(kind, wb + (size_t)(2 * i) * w_row_bytes),
                      decode_weights(kind, wb + (size_t)(2 * i + 1) * w_row_bytes), rows[i]);
            pair_rows(load_levels(xb + (size_t)(2 * i) * x_row_bytes + x_levels),
                      load_levels(xb + (size_t)(2 * i + 1) * x_row_bytes + x_levels), tokens[i]);
        }
        const float32x4_t w_scale = tl_neon_load_halves(wb, w_row_bytes, 4);
        const float32x4_t x_scale = tl_neon_load_halves(xb, x_row_bytes, 4);
        const float32x4_t w_min =
            is_affine(kind) ? tl_neon_load_halves(wb + MIN_AT, w_row_bytes, 4) : vdupq_n_f32(0.0f);
        const float32x4_t x_sum =
            is_affine(kind) ? tl_neon_load_halves(xb + SUM_AT, x_row_bytes, 4) : vdupq_n_f32(0.0f);
        TL_NEON_UNROLL
        for (int i = 0; i < 2; i++) {
            TL_NEON_UNROLL
            for (int j = 0; j < 2; j++) {
                int32x4_t dots = vdupq_n_s32(0);
                TL_NEON_UNROLL
                for (int k = 0; k < 4; k++) dots = vmmlaq_s32(dots, rows[i][k], tokens[j][k]);
                const float32x4_t scale = vmulq_f32(row_pair_lanes(w_scale, i), token_pair_lanes(x_scale, j));
                acc[i][j] = vfmaq_f32(acc[i][j], vcvtq_f32_s32(dots), scale);
                if (is_affine(kind))
                    acc[i][j] = vfmaq_f32(acc[i][j], row_pair_lanes(w_min, i), token_pair_lanes(x_sum, j));
            }
        }
    }
    TL_NEON_UNROLL
    for (int i = 0; i < 2; i++) {
        TL_NEON_UNROLL
        for (int j = 0; j < 2; j++) {
            float lanes[4];
            vst1q_f32(lanes, acc[i][j]);
            y[(2 * j) * ldy + 2 * i] = lanes[0];
            y[(2 * j + 1) * ldy + 2 * i] = lanes[1];
            y[(2 * j) * ldy + 2 * i + 1] = lanes[2];
            y[(2 * j + 1) * ldy + 2 * i + 1] = lanes[3];
        }
    }
}

/* As quant_gemm, with SMMLA tiles. */
TL_NEON_DEFINE_TILED_GEMM(mmla_gemm, mmla_tile_4x4)

#define GEMM_ARGS                                                                                                      \
    int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x, size_t x_row_bytes,      \
        int64_t n_tokens, float *y, int64_t ldy
#define GEMM_PASS n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy
static void mmla_gemm_q4_0(GEMM_ARGS) {
    mmla_gemm(KIND_Q4_0, GEMM_PASS);
}
static void mmla_gemm_q4_1(GEMM_ARGS) {
    mmla_gemm(KIND_Q4_1, GEMM_PASS);
}
static void mmla_gemm_q5_0(GEMM_ARGS) {
    mmla_gemm(KIND_Q5_0, GEMM_PASS);
}
static void mmla_gemm_q5_1(GEMM_ARGS) {
    mmla_gemm(KIND_Q5_1, GEMM_PASS);
}
static void mmla_gemm_q8_0(GEMM_ARGS) {
    mmla_gemm(KIND_Q8_0, GEMM_PASS);
}
static void mmla_gemm_iq4_nl(GEMM_ARGS) {
    mmla_gemm(KIND_IQ4_NL, GEMM_PASS);
}

void tl_neon_fill_i8mm(tl_kernel_set *k) {
    fill_quant_kernels(k); /* the SDOT vec_dot */
    k->gemm[TL_TYPE_Q4_0] = mmla_gemm_q4_0;
    k->gemm[TL_TYPE_Q4_1] = mmla_gemm_q4_1;
    k->gemm[TL_TYPE_Q5_0] = mmla_gemm_q5_0;
    k->gemm[TL_TYPE_Q5_1] = mmla_gemm_q5_1;
    k->gemm[TL_TYPE_Q8_0] = mmla_gemm_q8_0;
    k->gemm[TL_TYPE_IQ4_NL] = mmla_gemm_iq4_nl;
}
