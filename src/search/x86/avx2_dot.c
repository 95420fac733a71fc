/*
 * avx2_dot.c — the int8 dot product with AVX2 (compiled with -mavx2, called
 * by dot.c only when the CPU has AVX2). Values are in [-127, 127], so the
 * pairwise int16 sums of _mm256_maddubs_epi16 never saturate.
 */
#include <immintrin.h>
#include <stdint.h>

int32_t tl_dot_i8_avx2(const int8_t *a, const int8_t *b, uint32_t n);

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
