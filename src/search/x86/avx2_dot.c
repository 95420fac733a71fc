/*
 * avx2_dot.c — the dot products of the vector scan with AVX2 (compiled with
 * -mavx2 -mfma, called by dot.c only when the CPU has AVX2 and FMA).
 * int8: values are in [-127, 127], so the pairwise int16 sums of
 * _mm256_maddubs_epi16 never saturate. float32: four independent FMA
 * chains of 8 lanes (a 384-dim row is 12 steps of 32), then the tail.
 */
#include <immintrin.h>
#include <stdint.h>

int32_t tl_dot_i8_avx2(const int8_t *a, const int8_t *b, uint32_t n);
float tl_dot_f32_avx2(const float *a, const float *b, uint32_t n);

int32_t tl_dot_i8_avx2(const int8_t *a, const int8_t *b, uint32_t n) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    uint32_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(a + i));
        const __m256i y = _mm256_loadu_si256((const __m256i *)(b + i));
        /* |x| * (y with x's sign) = x * y, as unsigned * signed bytes */
        const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(products, ones));
    }
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0x4E));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0xB1));
    int32_t total = _mm_cvtsi128_si32(sum);
    for (; i < n; i++) total += (int32_t)a[i] * b[i];
    return total;
}

float tl_dot_f32_avx2(const float *a, const float *b, uint32_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(),
           acc3 = _mm256_setzero_ps();
    uint32_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    const __m256 acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    float total = _mm_cvtss_f32(sum);
    for (; i < n; i++) total += a[i] * b[i];
    return total;
}
