/*
 * neon_float.c — NEON kernels for weights stored as f32, f16 or bf16 (whose
 * activations are converted to the same type), and the attention helpers
 * over F32 / F16 KV-cache rows.
 *
 * Half and bfloat16 values are widened to f32 exactly and everything is
 * multiplied and summed in f32 with fused multiply-adds; the reference sums
 * in double, so results differ from it only by f32 rounding of the sums.
 */
#include <string.h>

#include "tensor/arm/neon_internal.h"

typedef enum { FLOAT_F32, FLOAT_F16, FLOAT_BF16 } float_kind;

TL_NEON_INLINE size_t element_bytes(float_kind kind) {
    return kind == FLOAT_F32 ? 4 : 2;
}

/* Four consecutive elements, widened to f32. */
TL_NEON_INLINE float32x4_t load4(float_kind kind, const uint8_t *p) {
    switch (kind) {
    case FLOAT_F16: return tl_neon_load4_f16(p);
    case FLOAT_BF16: return tl_neon_load4_bf16(p);
    default: return tl_neon_load4_f32(p);
    }
}

/* One element, for the ends of rows whose length is not a multiple of 4. */
TL_NEON_INLINE float load1(float_kind kind, const uint8_t *p) {
    uint16_t bits;
    float value;
    switch (kind) {
    case FLOAT_F16: memcpy(&bits, p, sizeof bits); return tl_fp16_to_fp32(bits);
    case FLOAT_BF16: memcpy(&bits, p, sizeof bits); return tl_bf16_to_fp32(bits);
    default: memcpy(&value, p, sizeof value); return value;
    }
}

/* Dot product of n elements of a (type a_kind) and b (type b_kind), with
 * four independent accumulators. */
TL_NEON_INLINE float float_dot(float_kind a_kind, float_kind b_kind, int64_t n, const uint8_t *a, const uint8_t *b) {
    const size_t a_size = element_bytes(a_kind), b_size = element_bytes(b_kind);
    float32x4_t acc[4];
    for (int j = 0; j < 4; j++) acc[j] = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) TL_NEON_UNROLL
    for (int j = 0; j < 4; j++)
        acc[j] = vfmaq_f32(acc[j], load4(a_kind, a + (size_t)(i + 4 * j) * a_size),
                           load4(b_kind, b + (size_t)(i + 4 * j) * b_size));
    for (; i + 4 <= n; i += 4)
        acc[0] = vfmaq_f32(acc[0], load4(a_kind, a + (size_t)i * a_size), load4(b_kind, b + (size_t)i * b_size));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
    for (; i < n; i++) sum += load1(a_kind, a + (size_t)i * a_size) * load1(b_kind, b + (size_t)i * b_size);
    return sum;
}

/* Four weight rows × four activation rows: every loaded vector is used four
 * times. acc[r][t] collects row r · token t in four lanes. */
TL_NEON_INLINE void float_tile_4x4(float_kind kind, int64_t n, const uint8_t *w, size_t w_row_bytes, const uint8_t *x,
                                   size_t x_row_bytes, float *y, int64_t ldy) {
    const size_t size = element_bytes(kind);
    float32x4_t acc[4][4];
    TL_NEON_UNROLL
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < 4; t++) acc[r][t] = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t xv[4];
        TL_NEON_UNROLL
        for (int t = 0; t < 4; t++) xv[t] = load4(kind, x + (size_t)t * x_row_bytes + (size_t)i * size);
        TL_NEON_UNROLL
        for (int r = 0; r < 4; r++) {
            const float32x4_t wv = load4(kind, w + (size_t)r * w_row_bytes + (size_t)i * size);
            TL_NEON_UNROLL
            for (int t = 0; t < 4; t++) acc[r][t] = vfmaq_f32(acc[r][t], wv, xv[t]);
        }
    }
    for (int r = 0; r < 4; r++) {
        float sums[4];
        vst1q_f32(sums, vpaddq_f32(vpaddq_f32(acc[r][0], acc[r][1]), vpaddq_f32(acc[r][2], acc[r][3])));
        for (int t = 0; t < 4; t++) {
            for (int64_t j = i; j < n; j++)
                sums[t] += load1(kind, w + (size_t)r * w_row_bytes + (size_t)j * size) *
                           load1(kind, x + (size_t)t * x_row_bytes + (size_t)j * size);
            y[t * ldy + r] = sums[t];
        }
    }
}

/* The gemm of kernels.h: 4×4 tiles, then leftover rows and tokens one
 * (row, token) pair at a time. */
TL_NEON_INLINE void float_gemm(float_kind kind, int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0,
                               int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    const uint8_t *wrows = w, *xrows = x;
    int64_t t = 0;
    for (; t + 4 <= n_tokens; t += 4) {
        const uint8_t *xt = xrows + (size_t)t * x_row_bytes;
        float *yt = y + t * ldy;
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4)
            float_tile_4x4(kind, n_cols, wrows + (size_t)r * w_row_bytes, w_row_bytes, xt, x_row_bytes, yt + r, ldy);
        for (; r < r1; r++)
            for (int64_t k = 0; k < 4; k++)
                yt[k * ldy + r] =
                    float_dot(kind, kind, n_cols, wrows + (size_t)r * w_row_bytes, xt + (size_t)k * x_row_bytes);
    }
    for (; t < n_tokens; t++)
        for (int64_t r = r0; r < r1; r++)
            y[t * ldy + r] =
                float_dot(kind, kind, n_cols, wrows + (size_t)r * w_row_bytes, xrows + (size_t)t * x_row_bytes);
}

/* out[i] += a * row[i] */
TL_NEON_INLINE void float_axpy(float_kind kind, int64_t n, float a, const uint8_t *row, float *out) {
    const size_t size = element_bytes(kind);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t v0 = load4(kind, row + (size_t)i * size);
        const float32x4_t v1 = load4(kind, row + (size_t)(i + 4) * size);
        vst1q_f32(out + i, vfmaq_n_f32(vld1q_f32(out + i), v0, a));
        vst1q_f32(out + i + 4, vfmaq_n_f32(vld1q_f32(out + i + 4), v1, a));
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, vfmaq_n_f32(vld1q_f32(out + i), load4(kind, row + (size_t)i * size), a));
    for (; i < n; i++) out[i] += a * load1(kind, row + (size_t)i * size);
}

/* ---- the kernel entries -------------------------------------------------- */

static void vec_dot_f32(int64_t n, float *out, const void *w, const void *x) {
    *out = float_dot(FLOAT_F32, FLOAT_F32, n, w, x);
}
static void vec_dot_f16(int64_t n, float *out, const void *w, const void *x) {
    *out = float_dot(FLOAT_F16, FLOAT_F16, n, w, x);
}
static void vec_dot_bf16(int64_t n, float *out, const void *w, const void *x) {
    *out = float_dot(FLOAT_BF16, FLOAT_BF16, n, w, x);
}

#define GEMM_ARGS                                                                                                      \
    int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x, size_t x_row_bytes,      \
        int64_t n_tokens, float *y, int64_t ldy
#define GEMM_PASS n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy

static void gemm_f32(GEMM_ARGS) {
    float_gemm(FLOAT_F32, GEMM_PASS);
}
static void gemm_f16(GEMM_ARGS) {
    float_gemm(FLOAT_F16, GEMM_PASS);
}
static void gemm_bf16(GEMM_ARGS) {
    float_gemm(FLOAT_BF16, GEMM_PASS);
}

static float kv_dot_f32(int64_t n, const float *q, const void *row) {
    return float_dot(FLOAT_F32, FLOAT_F32, n, row, (const uint8_t *)q);
}
static float kv_dot_f16(int64_t n, const float *q, const void *row) {
    return float_dot(FLOAT_F16, FLOAT_F32, n, row, (const uint8_t *)q);
}
static void kv_axpy_f32(int64_t n, float a, const void *row, float *out) {
    float_axpy(FLOAT_F32, n, a, row, out);
}
static void kv_axpy_f16(int64_t n, float a, const void *row, float *out) {
    float_axpy(FLOAT_F16, n, a, row, out);
}

void tl_neon_fill_float(tl_kernel_set *k) {
    k->vec_dot[TL_TYPE_F32] = vec_dot_f32;
    k->vec_dot[TL_TYPE_F16] = vec_dot_f16;
    k->vec_dot[TL_TYPE_BF16] = vec_dot_bf16;
    k->gemm[TL_TYPE_F32] = gemm_f32;
    k->gemm[TL_TYPE_F16] = gemm_f16;
    k->gemm[TL_TYPE_BF16] = gemm_bf16;
    k->kv_dot[TL_TYPE_F32] = kv_dot_f32;
    k->kv_dot[TL_TYPE_F16] = kv_dot_f16;
    k->kv_axpy[TL_TYPE_F32] = kv_axpy_f32;
    k->kv_axpy[TL_TYPE_F16] = kv_axpy_f16;
}
