/*
 * avx2_kquants.c — AVX2 kernels for the K-quant super-block types (q2_k,
 * q3_k, q4_k, q5_k, q6_k weights against q8_k activations), compiled with
 * -mavx2 -mfma -mf16c like avx2.c and only called when the CPU has them.
 *
 * Provides the q8_k activation quantizer (bit-exact with tl_q8_k_from_float)
 * and one dot product per weight type. A dot walks whole super-blocks; the
 * integer part of each (unpacking the sub-block scales and levels, maddubs
 * and madd, level offsets and mins through q8_k's 16-element sums) is
 * avx2_kquants.h's, shared with the matrix kernels of avx2_kquants_gemm.c,
 * and so is the float chain: one fma per super-block (two with mins), the
 * same as the gemm's for every (row, token), so the gemm gives these dots'
 * bits. Only the float summation order differs from the reference.
 */
#include <math.h>

#include "tensor/kernels.h"
#include "tensor/quant_ref.h"
#include "tensor/x86/avx2_kquants.h"

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

/* ---- dots --------------------------------------------------------------- */

/* The chain of avx2_kquants.h for one (row, token): the integer sums in 8
 * lanes, added up exactly, then one fma per super-block (two with mins). */
X86_INLINE float dot_k(const kq_kind kind, int64_t n, const uint8_t *xb, const uint8_t *yb) {
    __m128 acc = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, xb += kq_bytes(kind), yb += Q8_K_BYTES) {
        __m256i isum, msum;
        kq_sums(kind, xb, &yb, 1, &isum, &msum);
        const float dy = x86_load_f32(yb + Q8_K_D);
        acc = kq_step(acc, x86_hsum_epi32(isum), x86_load_half(xb + kq_d_at(kind)) * dy);
        if (kq_has_min(kind)) acc = kq_step_min(acc, x86_hsum_epi32(msum), x86_load_half(xb + kq_dmin_at(kind)) * dy);
    }
    return _mm_cvtss_f32(acc);
}

#define DEFINE_DOT(type, kind)                                                                                         \
    static void vec_dot_##type##_avx2(int64_t n, float *out, const void *x, const void *y) {                           \
        *out = dot_k(kind, n, x, y);                                                                                   \
    }
DEFINE_DOT(q2_k, KQ_Q2_K)
DEFINE_DOT(q3_k, KQ_Q3_K)
DEFINE_DOT(q4_k, KQ_Q4_K)
DEFINE_DOT(q5_k, KQ_Q5_K)
DEFINE_DOT(q6_k, KQ_Q6_K)

void tl_kernels_fill_avx2_kquants(tl_kernel_set *k, const tl_cpu_features *f) {
    (void)f;
    k->quantize[TL_TYPE_Q8_K] = quantize_q8_k_avx2;
    k->vec_dot[TL_TYPE_Q2_K] = vec_dot_q2_k_avx2;
    k->vec_dot[TL_TYPE_Q3_K] = vec_dot_q3_k_avx2;
    k->vec_dot[TL_TYPE_Q4_K] = vec_dot_q4_k_avx2;
    k->vec_dot[TL_TYPE_Q5_K] = vec_dot_q5_k_avx2;
    k->vec_dot[TL_TYPE_Q6_K] = vec_dot_q6_k_avx2;
    /* the matrix kernels give these dots' bits */
    k->gemm_exact[TL_TYPE_Q2_K].vec_dot = vec_dot_q2_k_avx2;
    k->gemm_exact[TL_TYPE_Q3_K].vec_dot = vec_dot_q3_k_avx2;
    k->gemm_exact[TL_TYPE_Q4_K].vec_dot = vec_dot_q4_k_avx2;
    k->gemm_exact[TL_TYPE_Q5_K].vec_dot = vec_dot_q5_k_avx2;
    k->gemm_exact[TL_TYPE_Q6_K].vec_dot = vec_dot_q6_k_avx2;
    tl_kernels_fill_avx2_kquants_gemm(k);
}
