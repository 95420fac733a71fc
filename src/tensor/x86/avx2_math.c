/*
 * avx2_math.c — vectorized exp, softmax, SwiGLU and GELU (AVX2 + FMA).
 *
 * exp(x) = 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln2/2, r
 * computed in two parts (Cody-Waite) and exp(r) by a degree-6 polynomial:
 * about 1-2 ulp from expf over the range softmax uses (x <= 0). Inputs below
 * -87.3 give 0, as expf underflows there.
 *
 * GELU as ggml: the input rounded to f16 (F16C) indexes a table of results.
 */
#include <immintrin.h>
#include <math.h>

#include "tensor/kernels.h"
#include "tensor/ops.h"

static inline __m256 exp_avx2(__m256 x) {
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f);
    const __m256 ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, ln2_hi, x);
    r = _mm256_fnmadd_ps(n, ln2_lo, r);
    /* exp(r) ≈ 1 + r + r^2/2! + ... + r^6/6! (Horner) */
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    /* scale by 2^n through the exponent bits */
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static void softmax_avx2(float *x, int64_t n) {
    int64_t i = 0;
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    float max = hmax(vmax);
    for (; i < n; i++)
        if (x[i] > max) max = x[i];
    const __m256 m = _mm256_set1_ps(max);
    __m256 vsum = _mm256_setzero_ps();
    double sum = 0.0;
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
        _mm256_storeu_ps(x + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    sum += hsum(vsum);
    for (; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    const __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; i++) x[i] *= (float)(1.0 / sum);
}

/* x = silu(x) * y = x / (1 + exp(-x)) * y, eight at a time (exp_avx2's
 * limits keep 1 + exp(-x) finite: silu(x) -> -0 below -88, x above 87). */
static void swiglu_avx2(float *x, const float *y, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 e = exp_avx2(_mm256_xor_ps(v, sign));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_div_ps(v, _mm256_add_ps(one, e)), _mm256_loadu_ps(y + i)));
    }
    if (i < n) tl_swiglu_ref(x + i, y + i, n - i);
}

/* x = gelu(x) * y: 8 inputs → f16 bits → table gather; 0 below -10 and the
 * identity above 10, as ggml. */
static void geglu_avx2(float *x, const float *y, int64_t n) {
    const float *table = tl_gelu_table();
    const __m256 lo = _mm256_set1_ps(-10.0f), hi = _mm256_set1_ps(10.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
        __m256 g = _mm256_i32gather_ps(table, _mm256_cvtepu16_epi32(h), 4);
        g = _mm256_blendv_ps(g, v, _mm256_cmp_ps(v, hi, _CMP_GE_OQ));
        g = _mm256_blendv_ps(g, _mm256_setzero_ps(), _mm256_cmp_ps(v, lo, _CMP_LE_OQ));
        if (y) g = _mm256_mul_ps(g, _mm256_loadu_ps(y + i));
        _mm256_storeu_ps(x + i, g);
    }
    if (i < n) tl_geglu_ref(x + i, y ? y + i : NULL, n - i);
}

void tl_kernels_fill_avx2_math(tl_kernel_set *k) {
    k->softmax = softmax_avx2;
    k->geglu = geglu_avx2;
    k->swiglu = swiglu_avx2;
}
