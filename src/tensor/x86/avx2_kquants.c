/*
 * avx2_kquants.c — AVX2 kernels for the K-quant super-block types (q2_k,
 * q3_k, q4_k, q5_k, q6_k weights against q8_k activations), compiled with
 * -mavx2 -mfma -mf16c like avx2.c and only called when the CPU has them.
 *
 * Provides the q8_k activation quantizer (bit-exact with tl_q8_k_from_float)
 * and one dot product per weight type. A dot walks whole super-blocks: the
 * packed sub-block scales are unpacked once per super-block, the levels are
 * expanded to unsigned bytes and multiplied with the activations by
 * maddubs (pairs to int16), then madd against the sub-block scale (to
 * int32), so each super-block's integer sum is exact; the level offsets
 * (q3_k: -4, q6_k: -32) and the mins (q2_k, q4_k, q5_k) are applied once per
 * super-block through q8_k's 16-element sums (bsums). Only the float
 * summation order differs from the reference.
 */
#include <math.h>

#include "tensor/kernels.h"
#include "tensor/quant_ref.h"
#include "tensor/x86/x86_blocks.h"
#include "tensor/x86/x86_kquants.h"

/* ---- q8_k activations --------------------------------------------------- */

/* One super-block as the reference does it: max = the first element of
 * largest magnitude (with its sign), iscale = -127 / max, q = x * iscale
 * rounded half to even (the reference's nearest_int), bsums = sums of 16.
 * Returns 0 when the block holds an infinity or NaN, or iscale overflows
 * (tiny max): the caller then runs the reference, whose results there
 * depend on NaN payloads. */
static int quantize_q8_k_block(const float *x, uint8_t *block) {
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    const __m256 inf = _mm256_set1_ps(INFINITY);
    __m256 amax = _mm256_setzero_ps(), finite = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (int i = 0; i < 32; i++) {
        const __m256 a = _mm256_andnot_ps(sign_mask, _mm256_loadu_ps(x + 8 * i));
        finite = _mm256_and_ps(finite, _mm256_cmp_ps(a, inf, _CMP_LT_OQ));
        amax = _mm256_max_ps(amax, a);
    }
    if (_mm256_movemask_ps(finite) != 0xff) return 0;
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float amax_s = _mm_cvtss_f32(m);
    if (amax_s == 0.0f) {
        memset(block, 0, Q8_K_BYTES);
        return 1;
    }
    /* the first element whose magnitude is amax gives the sign */
    const __m256 target = _mm256_set1_ps(amax_s);
    float max = amax_s;
    for (int i = 0; i < 32; i++) {
        const __m256 v = _mm256_loadu_ps(x + 8 * i);
        const int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign_mask, v), target, _CMP_EQ_OQ));
        if (hits) {
            int lane = 0;
            while (!(hits & (1 << lane))) lane++;
            max = x[8 * i + lane];
            break;
        }
    }
    const float iscale = -127.0f / max;
    if (!isfinite(iscale)) return 0;
    const __m256 vscale = _mm256_set1_ps(iscale);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    __m256i sums4[8]; /* per 32 elements: 8 sums of 4 */
    for (int i = 0; i < 8; i++) {
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            const __m256 scaled = _mm256_mul_ps(_mm256_loadu_ps(x + 32 * i + 8 * k), vscale);
            q[k] = _mm256_cvtps_epi32(_mm256_round_ps(scaled, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        }
        /* |q| <= 127 here (|x| <= |max|), so the saturating packs are exact */
        const __m256i q8 = _mm256_permutevar8x32_epi32(
            _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3])), order);
        _mm256_storeu_si256((__m256i *)(block + Q8_K_QS + 32 * i), q8);
        sums4[i] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q8), ones16);
    }
    /* two hadds turn 4 vectors of sums of 4 into [s0 s2 s4 s6 | s1 s3 s5 s7]
     * (s: sums of 16 over those 128 elements) */
    const __m256i lo = _mm256_hadd_epi32(_mm256_hadd_epi32(sums4[0], sums4[1]), _mm256_hadd_epi32(sums4[2], sums4[3]));
    const __m256i hi = _mm256_hadd_epi32(_mm256_hadd_epi32(sums4[4], sums4[5]), _mm256_hadd_epi32(sums4[6], sums4[7]));
    const __m256i packed = _mm256_packs_epi32(lo, hi); /* [even sums | odd sums] */
    const __m128i even = _mm256_castsi256_si128(packed), odd = _mm256_extracti128_si256(packed, 1);
    _mm_storeu_si128((__m128i *)(block + Q8_K_BSUMS), _mm_unpacklo_epi16(even, odd));
    _mm_storeu_si128((__m128i *)(block + Q8_K_BSUMS + 16), _mm_unpackhi_epi16(even, odd));
    const float d = 1 / iscale;
    memcpy(block + Q8_K_D, &d, sizeof d);
    return 1;
}

static void quantize_q8_k_avx2(const float *src, void *dst, int64_t n) {
    uint8_t *block = dst;
    for (int64_t i = 0; i < n / QK_K; i++, block += Q8_K_BYTES)
        if (!quantize_q8_k_block(src + i * QK_K, block)) tl_q8_k_from_float(src + i * QK_K, block, QK_K);
}

/* ---- shared helpers ----------------------------------------------------- */

/* The int16 vector [s[2k] x8 | s[2k+1] x8] from 16 signed byte scales s:
 * the madd factor for 32 elements spanning two 16-element sub-blocks. */
X86_INLINE __m256i scale_pair16(__m128i scales8, int k) {
    const __m128i pick = _mm_set_epi64x((int64_t)(0x0101010101010101ull * (uint64_t)(2 * k + 1)),
                                        (int64_t)(0x0101010101010101ull * (uint64_t)(2 * k)));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, pick));
}

/* int16 lanes all set to byte k of v (an unsigned 6-bit scale). */
X86_INLINE __m256i scale_bcast16(__m128i scales8, int k) {
    return _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scales8, _mm_set1_epi8((char)k)));
}

/* 32 unsigned levels (u < 128) times 32 signed bytes, in int16 pairs, then
 * times the int16 factors and summed to int32 pairs of pairs. */
X86_INLINE __m256i dot32_scaled(__m256i levels, const uint8_t *q8, __m256i scale16) {
    const __m256i y = _mm256_loadu_si256((const __m256i *)q8);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(levels, y), scale16);
}

/* ---- q4_k / q5_k -------------------------------------------------------- */

/* d * sum_j scale_j * (levels . y)_j - dmin * sum_j min_j * (sum y)_j, with
 * levels 4 bits (q4_k) or 4 bits plus qh's fifth bit (q5_k). */
X86_INLINE float dot_affine_k(int64_t n, const uint8_t *xb, const uint8_t *yb, const int fifth) {
    const size_t x_bytes = fifth ? Q5_K_BYTES : Q4_K_BYTES;
    const int qs_at = fifth ? Q5_K_QS : Q4_K_QS;
    const __m256i low_mask = _mm256_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, xb += x_bytes, yb += Q8_K_BYTES) {
        const float dy = x86_load_f32(yb + Q8_K_D);
        const __m256 d = _mm256_set1_ps(x86_load_half(xb + Q4_K_D) * dy);
        const __m256 dmin = _mm256_set1_ps(x86_load_half(xb + Q4_K_DMIN) * dy);
        const __m128i sm = x86_q4_k_scales_mins(xb + Q4_K_SCALES);
        /* mins: m_j * (bsum_2j + bsum_2j+1), pairs of int16 by madd */
        const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));
        const __m256i bsums = _mm256_loadu_si256((const __m256i *)(yb + Q8_K_BSUMS));
        const __m256i min_sum = _mm256_madd_epi16(bsums, mins16);
        const uint8_t *q8 = yb + Q8_K_QS;
        __m256i hbits = fifth ? _mm256_loadu_si256((const __m256i *)(xb + Q5_K_QH)) : _mm256_setzero_si256();
        __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(xb + qs_at + 32 * c));
            __m256i lo = _mm256_and_si256(packed, low_mask);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
            if (fifth) {
                const __m256i one = _mm256_set1_epi8(1), two = _mm256_set1_epi8(2);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hbits, one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(hbits, two), 3));
                hbits = _mm256_srli_epi16(hbits, 2);
            }
            sum0 = _mm256_add_epi32(sum0, dot32_scaled(lo, q8 + 64 * c, scale_bcast16(sm, 2 * c)));
            sum1 = _mm256_add_epi32(sum1, dot32_scaled(hi, q8 + 64 * c + 32, scale_bcast16(sm, 2 * c + 1)));
        }
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sum0, sum1)), d, acc);
        acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(min_sum), dmin, acc);
    }
    return x86_hsum_ps256(acc);
}

static void vec_dot_q4_k_avx2(int64_t n, float *out, const void *x, const void *y) {
    *out = dot_affine_k(n, x, y, 0);
}

static void vec_dot_q5_k_avx2(int64_t n, float *out, const void *x, const void *y) {
    *out = dot_affine_k(n, x, y, 1);
}

/* ---- q6_k --------------------------------------------------------------- */

/* Levels 0..63 (true level + 32) from 4 low bits in ql and 2 high bits in
 * qh; 16 signed 8-bit sub-block scales; the +32 is removed with
 * 32 * sum_j scale_j * bsum_j. */
static void vec_dot_q6_k_avx2(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
    const __m256i m2_2 = _mm256_set1_epi8(0x0c), m2_4 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, xb += Q6_K_BYTES, yb += Q8_K_BYTES) {
        const __m256 d = _mm256_set1_ps(x86_load_half(xb + Q6_K_D) * x86_load_f32(yb + Q8_K_D));
        const __m128i scales8 = _mm_loadu_si128((const __m128i *)(xb + Q6_K_SCALES));
        const __m256i bsums = _mm256_loadu_si256((const __m256i *)(yb + Q8_K_BSUMS));
        const __m256i offset_sum = _mm256_madd_epi16(bsums, _mm256_cvtepi8_epi16(scales8));
        const uint8_t *q8 = yb + Q8_K_QS;
        __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(xb + Q6_K_QL + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(xb + Q6_K_QL + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(xb + Q6_K_QH + 32 * h));
            const __m256i q0 =
                _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
            const __m256i q1 =
                _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2_2), 2));
            const __m256i q2 =
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m2_4));
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                               _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2_4));
            const uint8_t *y8 = q8 + 128 * h;
            sum0 = _mm256_add_epi32(sum0, dot32_scaled(q0, y8, scale_pair16(scales8, 4 * h + 0)));
            sum1 = _mm256_add_epi32(sum1, dot32_scaled(q1, y8 + 32, scale_pair16(scales8, 4 * h + 1)));
            sum0 = _mm256_add_epi32(sum0, dot32_scaled(q2, y8 + 64, scale_pair16(scales8, 4 * h + 2)));
            sum1 = _mm256_add_epi32(sum1, dot32_scaled(q3, y8 + 96, scale_pair16(scales8, 4 * h + 3)));
        }
        const __m256i sumi = _mm256_sub_epi32(_mm256_add_epi32(sum0, sum1), _mm256_slli_epi32(offset_sum, 5));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), d, acc);
    }
    *out = x86_hsum_ps256(acc);
}

/* ---- q3_k / q2_k -------------------------------------------------------- */

/* 2-bit fields of q2_k / q3_k: the 32 levels of quarter p of half h are bits
 * 2p of the 32 bytes of that half. */
X86_INLINE __m256i two_bit_levels(__m256i packed, int p) {
    return _mm256_and_si256(_mm256_srli_epi16(packed, 2 * p), _mm256_set1_epi8(3));
}

/* q3_k: unsigned levels 0..7 = 2 low bits + 4 * (hmask bit); the true level
 * is that minus 4, removed with 4 * sum_j scale_j * bsum_j. */
static void vec_dot_q3_k_avx2(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    const __m256i one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, xb += Q3_K_BYTES, yb += Q8_K_BYTES) {
        const __m256 d = _mm256_set1_ps(x86_load_half(xb + Q3_K_D) * x86_load_f32(yb + Q8_K_D));
        const __m128i scales8 = x86_q3_k_scales(xb + Q3_K_SCALES);
        const __m256i bsums = _mm256_loadu_si256((const __m256i *)(yb + Q8_K_BSUMS));
        const __m256i offset_sum = _mm256_madd_epi16(bsums, _mm256_cvtepi8_epi16(scales8));
        __m256i hmask = _mm256_loadu_si256((const __m256i *)(xb + Q3_K_HMASK));
        const uint8_t *q8 = yb + Q8_K_QS;
        __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(xb + Q3_K_QS + 32 * h));
            for (int p = 0; p < 4; p++) {
                const __m256i high = _mm256_slli_epi16(_mm256_and_si256(hmask, one), 2);
                hmask = _mm256_srli_epi16(hmask, 1);
                const __m256i levels = _mm256_or_si256(two_bit_levels(packed, p), high);
                const __m256i part = dot32_scaled(levels, q8 + 128 * h + 32 * p, scale_pair16(scales8, 4 * h + p));
                if (p & 1)
                    sum1 = _mm256_add_epi32(sum1, part);
                else
                    sum0 = _mm256_add_epi32(sum0, part);
            }
        }
        const __m256i sumi = _mm256_sub_epi32(_mm256_add_epi32(sum0, sum1), _mm256_slli_epi32(offset_sum, 2));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), d, acc);
    }
    *out = x86_hsum_ps256(acc);
}

/* q2_k: levels 0..3, byte scales (scale | min << 4) per 16 elements. */
static void vec_dot_q2_k_avx2(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    const __m128i m4 = _mm_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, xb += Q2_K_BYTES, yb += Q8_K_BYTES) {
        const float dy = x86_load_f32(yb + Q8_K_D);
        const __m256 d = _mm256_set1_ps(x86_load_half(xb + Q2_K_D) * dy);
        const __m256 dmin = _mm256_set1_ps(x86_load_half(xb + Q2_K_DMIN) * dy);
        const __m128i packed_scales = _mm_loadu_si128((const __m128i *)(xb + Q2_K_SCALES));
        const __m128i scales8 = _mm_and_si128(packed_scales, m4);
        const __m128i mins8 = _mm_and_si128(_mm_srli_epi16(packed_scales, 4), m4);
        const __m256i bsums = _mm256_loadu_si256((const __m256i *)(yb + Q8_K_BSUMS));
        const __m256i min_sum = _mm256_madd_epi16(bsums, _mm256_cvtepu8_epi16(mins8));
        const uint8_t *q8 = yb + Q8_K_QS;
        __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(xb + Q2_K_QS + 32 * h));
            for (int p = 0; p < 4; p++) {
                const __m256i part =
                    dot32_scaled(two_bit_levels(packed, p), q8 + 128 * h + 32 * p, scale_pair16(scales8, 4 * h + p));
                if (p & 1)
                    sum1 = _mm256_add_epi32(sum1, part);
                else
                    sum0 = _mm256_add_epi32(sum0, part);
            }
        }
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sum0, sum1)), d, acc);
        acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(min_sum), dmin, acc);
    }
    *out = x86_hsum_ps256(acc);
}

void tl_kernels_fill_avx2_kquants(tl_kernel_set *k, const tl_cpu_features *f) {
    (void)f;
    k->quantize[TL_TYPE_Q8_K] = quantize_q8_k_avx2;
    k->vec_dot[TL_TYPE_Q2_K] = vec_dot_q2_k_avx2;
    k->vec_dot[TL_TYPE_Q3_K] = vec_dot_q3_k_avx2;
    k->vec_dot[TL_TYPE_Q4_K] = vec_dot_q4_k_avx2;
    k->vec_dot[TL_TYPE_Q5_K] = vec_dot_q5_k_avx2;
    k->vec_dot[TL_TYPE_Q6_K] = vec_dot_q6_k_avx2;
}
