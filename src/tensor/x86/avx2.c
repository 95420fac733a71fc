/*
 * avx2.c — kernels for x86-64 CPUs with AVX2, FMA and F16C (compiled with
 * those -m flags; only called when the CPU has them).
 *
 * Provides: the q8_0 / q8_1 activation quantizers (bit-exact with the
 * reference in quant_legacy.c), dot products for every 32-block type and for
 * f32 / f16 / bf16, and the KV-cache helpers. Quantized dots take an exact
 * integer dot per block (maddubs + madd), converted to float and scaled by
 * the two block scales; for the 32-element types the blocks are summed in
 * one scalar chain of fused multiply-adds, the one the matrix kernels of
 * avx2_legacy_gemm.c run per lane, so those give these dots' bits. The float
 * dots follow x86_float.h to give the bits of avx2_float_gemm.c's kernels;
 * avx2_kquants_gemm.c and avx2_iquants_gemm.c have the K-quant and i-quant
 * ones, avx512.c its own tiled kernels.
 */
#include <math.h>

#include "tensor/kernels.h"
#include "tensor/quant_ref.h"
#include "tensor/x86/x86_blocks.h"
#include "tensor/x86/x86_float.h"

/* ---- activation quantizers ---------------------------------------------- */

/* Quantize one block of 32 floats to q8 levels as ggml's x86 code does for
 * activations (tl_q8_0_from_float_x86): d = absmax / 127, q = x * (127 /
 * absmax) rounded half to even, clamped to +-127, inf -> 0. Returns 0 if the
 * block holds a NaN (the caller then uses the scalar version). */
static int quantize_q8_block_avx2(const float *x, int8_t *qs, float *d_out, int *sum_out) {
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    __m256 v[4];
    for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(x + 8 * i);
    const __m256 nan01 = _mm256_cmp_ps(v[0], v[1], _CMP_UNORD_Q);
    const __m256 nan23 = _mm256_cmp_ps(v[2], v[3], _CMP_UNORD_Q);
    if (_mm256_movemask_ps(_mm256_or_ps(nan01, nan23))) return 0;

    __m256 amax = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign_mask, v[0]), _mm256_andnot_ps(sign_mask, v[1])),
                                _mm256_max_ps(_mm256_andnot_ps(sign_mask, v[2]), _mm256_andnot_ps(sign_mask, v[3])));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float amax_scalar = _mm_cvtss_f32(m);
    const float d = amax_scalar / 127.0f;
    const float id = amax_scalar != 0.0f ? 127.0f / amax_scalar : 0.0f;
    const __m256 vid = _mm256_set1_ps(id);

    const __m256 top = _mm256_set1_ps(127.0f), bottom = _mm256_set1_ps(-127.0f);
    const __m256 int_limit = _mm256_set1_ps(2147483648.0f);
    __m256i q[4];
    __m256i sum = _mm256_setzero_si256();
    for (int i = 0; i < 4; i++) {
        const __m256 scaled = _mm256_mul_ps(v[i], vid);
        __m256 rounded = _mm256_round_ps(scaled, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        rounded = _mm256_min_ps(_mm256_max_ps(rounded, bottom), top);
        const __m256 finite = _mm256_cmp_ps(_mm256_andnot_ps(sign_mask, scaled), int_limit, _CMP_LT_OQ);
        rounded = _mm256_and_ps(rounded, finite);
        q[i] = _mm256_cvtps_epi32(rounded);
        sum = _mm256_add_epi32(sum, q[i]);
    }
    const __m256i q16_lo = _mm256_packs_epi32(q[0], q[1]);
    const __m256i q16_hi = _mm256_packs_epi32(q[2], q[3]);
    const __m256i q8 = _mm256_packs_epi16(q16_lo, q16_hi);
    /* the packs work per 128-bit lane: put the dwords back in order */
    const __m256i ordered = _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, ordered);

    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    *sum_out = _mm_cvtsi128_si32(s);
    *d_out = d;
    return 1;
}

/* float -> f16 bits as tl_fp32_to_fp16 (F16C agrees except for NaN). */
static void store_half(uint8_t *p, float value) {
    const uint16_t h = isnan(value) ? tl_fp32_to_fp16(value) : (uint16_t)_cvtss_sh(value, 0);
    memcpy(p, &h, sizeof h);
}

static void quantize_q8_0_avx2(const float *src, void *dst, int64_t n) {
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK; i++, block += Q8_0_BYTES) {
        float d;
        int sum;
        if (!quantize_q8_block_avx2(src + i * QK, (int8_t *)(block + Q8_0_QS), &d, &sum)) {
            tl_q8_0_from_float_x86(src + i * QK, block, QK);
            continue;
        }
        store_half(block, d);
    }
}

static void quantize_q8_1_avx2(const float *src, void *dst, int64_t n) {
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK; i++, block += Q8_1_BYTES) {
        float d;
        int sum;
        if (!quantize_q8_block_avx2(src + i * QK, (int8_t *)(block + Q8_1_QS), &d, &sum)) {
            tl_q8_1_from_float_x86(src + i * QK, block, QK);
            continue;
        }
        store_half(block, d);
        store_half(block + Q8_1_S, (float)sum * d);
    }
}

/* f32 -> f16 activations with F16C (round to nearest even, as
 * tl_fp32_to_fp16); groups of 8 holding a NaN use the reference, whose NaN
 * bits differ from the instruction's. */
static void quantize_f16_f16c(const float *src, void *dst, int64_t n) {
    uint8_t *out = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(src + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))) {
            tl_f16_from_float(src + i, out + 2 * i, 8);
            continue;
        }
        _mm_storeu_si128((__m128i *)(out + 2 * i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    }
    if (i < n) tl_f16_from_float(src + i, out + 2 * i, n - i);
}

/* ---- quantized dot products --------------------------------------------- */

/* Per-lane sums of u[i] * s[i] over groups of 4 bytes (u unsigned, s signed;
 * pairs must not overflow int16: u <= 128 or |s| small enough). */
static inline __m256i dot_u8_s8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* As dot_u8_s8 for (levels - offset) . y, with levels unsigned < 32: the
 * offset is subtracted in 16 bits before widening, so the sum is exact. */
static inline __m256i dot_levels_offset(__m256i levels, __m256i y, __m256i offset) {
    const __m256i products = _mm256_sub_epi16(_mm256_maddubs_epi16(levels, y), _mm256_maddubs_epi16(offset, y));
    return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

/* The legacy dots give the bits of the matrix kernels of
 * avx2_legacy_gemm.c: one float chain over the blocks in order,
 * acc = fma((float)isum, dx * dy, acc) with the block's exact integer dot
 * isum (then acc = fma(m, s, acc) for q4_1 / q5_1). */
X86_INLINE float fma1(float a, float b, float c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

X86_INLINE float block_step(__m256i sumi, const uint8_t *xb, const uint8_t *yb, float acc) {
    return fma1((float)x86_hsum_epi32(sumi), x86_load_half(xb) * x86_load_half(yb), acc);
}

static void vec_dot_q8_0_avx2(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q8_0_BYTES, yb += Q8_0_BYTES) {
        const __m256i qx = _mm256_loadu_si256((const __m256i *)(xb + Q8_0_QS));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)(yb + Q8_0_QS));
        /* |x| . (y with x's sign): a u8 x s8 product that cannot saturate */
        acc = block_step(dot_u8_s8(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(qy, qx)), xb, yb, acc);
    }
    *out = acc;
}

static void vec_dot_q4_0_avx2(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    const __m256i eight = _mm256_set1_epi8(8);
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q4_0_BYTES, yb += Q8_0_BYTES) {
        const __m256i levels = x86_unpack_nibbles32(xb + Q4_0_QS);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)(yb + Q8_0_QS));
        acc = block_step(dot_levels_offset(levels, qy, eight), xb, yb, acc);
    }
    *out = acc;
}

static void vec_dot_q5_0_avx2(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    const __m256i sixteen = _mm256_set1_epi8(16);
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q5_0_BYTES, yb += Q8_0_BYTES) {
        const __m256i levels = _mm256_or_si256(x86_unpack_nibbles32(xb + Q5_0_QS), x86_fifth_bits32(xb + Q5_0_QH));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)(yb + Q8_0_QS));
        acc = block_step(dot_levels_offset(levels, qy, sixteen), xb, yb, acc);
    }
    *out = acc;
}

/* q4_1 / q5_1: levels . y scaled, then the block minimum m times y's s. */
static void vec_dot_q4_1_avx2(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q4_1_BYTES, yb += Q8_1_BYTES) {
        const __m256i levels = x86_unpack_nibbles32(xb + Q4_1_QS);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)(yb + Q8_1_QS));
        acc = block_step(dot_u8_s8(levels, qy), xb, yb, acc);
        acc = fma1(x86_load_half(xb + Q4_1_M), x86_load_half(yb + Q8_1_S), acc);
    }
    *out = acc;
}

static void vec_dot_q5_1_avx2(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++, xb += Q5_1_BYTES, yb += Q8_1_BYTES) {
        const __m256i levels = _mm256_or_si256(x86_unpack_nibbles32(xb + Q5_1_QS), x86_fifth_bits32(xb + Q5_1_QH));
        const __m256i qy = _mm256_loadu_si256((const __m256i *)(yb + Q8_1_QS));
        acc = block_step(dot_u8_s8(levels, qy), xb, yb, acc);
        acc = fma1(x86_load_half(xb + Q5_1_M), x86_load_half(yb + Q8_1_S), acc);
    }
    *out = acc;
}

/* ---- float dot products ------------------------------------------------- */

/* One chain of 8-lane fused multiply-adds, summed at the end: the sequence
 * the matrix kernels of avx2_float_gemm.c run for each (row, token), so
 * that they give these bits (x86_float.h). */
#define DEFINE_FLOAT_DOT(name, type)                                                                                   \
    static void name(int64_t n, float *out, const void *x, const void *y) {                                            \
        *out = x86_float_dot(type, n, x, y);                                                                           \
    }
DEFINE_FLOAT_DOT(vec_dot_f32_avx2, TL_TYPE_F32)
DEFINE_FLOAT_DOT(vec_dot_f16_avx2, TL_TYPE_F16)
DEFINE_FLOAT_DOT(vec_dot_bf16_avx2, TL_TYPE_BF16)

/* ---- KV cache helpers --------------------------------------------------- */

/* q is f32, the row f32 or f16 (widened); two accumulators to hide the
 * latency of the adds on head-sized rows. */
#define DEFINE_KV_DOT(name, elem_bytes, load8, load1)                                                                  \
    static float name(int64_t n, const float *q, const void *row) {                                                    \
        const uint8_t *k = row;                                                                                        \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;                                                                \
        int64_t i = 0;                                                                                                 \
        for (; i + 16 <= n; i += 16) {                                                                                 \
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(k + (elem_bytes)*i), acc0);                           \
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load8(k + (elem_bytes) * (i + 8)), acc1);               \
        }                                                                                                              \
        for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(k + (elem_bytes)*i), acc0);    \
        float sum = x86_hsum_ps256(_mm256_add_ps(acc0, acc1));                                                         \
        for (; i < n; i++) sum += q[i] * load1(k + (elem_bytes)*i);                                                    \
        return sum;                                                                                                    \
    }
DEFINE_KV_DOT(kv_dot_f32_avx2, 4, x86_load8_f32, x86_load_f32)
DEFINE_KV_DOT(kv_dot_f16_avx2, 2, x86_load8_f16, x86_load_half)

static void kv_axpy_f32_avx2(int64_t n, float a, const void *row, float *out) {
    const uint8_t *v = row;
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(va, x86_load8_f32(v + 4 * i), _mm256_loadu_ps(out + i)));
    for (; i < n; i++) out[i] += a * x86_load_f32(v + 4 * i);
}

static void kv_axpy_f16_avx2(int64_t n, float a, const void *row, float *out) {
    const uint8_t *v = row;
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(va, x86_load8_f16(v + 2 * i), _mm256_loadu_ps(out + i)));
    for (; i < n; i++) out[i] += a * x86_load_half(v + 2 * i);
}

void tl_kernels_fill_avx2(tl_kernel_set *k, const tl_cpu_features *f) {
    (void)f;
    k->quantize[TL_TYPE_Q8_0] = quantize_q8_0_avx2;
    k->quantize[TL_TYPE_Q8_1] = quantize_q8_1_avx2;
    k->quantize[TL_TYPE_F16] = quantize_f16_f16c;
    k->vec_dot[TL_TYPE_Q8_0] = vec_dot_q8_0_avx2;
    k->vec_dot[TL_TYPE_Q4_0] = vec_dot_q4_0_avx2;
    k->vec_dot[TL_TYPE_Q4_1] = vec_dot_q4_1_avx2;
    k->vec_dot[TL_TYPE_Q5_0] = vec_dot_q5_0_avx2;
    k->vec_dot[TL_TYPE_Q5_1] = vec_dot_q5_1_avx2;
    k->vec_dot[TL_TYPE_F32] = vec_dot_f32_avx2;
    k->vec_dot[TL_TYPE_F16] = vec_dot_f16_avx2;
    k->vec_dot[TL_TYPE_BF16] = vec_dot_bf16_avx2;
    k->kv_dot[TL_TYPE_F32] = kv_dot_f32_avx2;
    k->kv_dot[TL_TYPE_F16] = kv_dot_f16_avx2;
    k->kv_axpy[TL_TYPE_F32] = kv_axpy_f32_avx2;
    k->kv_axpy[TL_TYPE_F16] = kv_axpy_f16_avx2;
    tl_kernels_fill_avx2_float_gemm(k, vec_dot_f32_avx2, vec_dot_f16_avx2, vec_dot_bf16_avx2);
    tl_kernels_fill_avx2_legacy_gemm(k);
    tl_kernels_fill_avx2_kquants(k, f);
    tl_kernels_fill_avx2_iquants(k, f);
}
