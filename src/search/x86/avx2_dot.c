/*
 * avx2_dot.c — the dot products of the vector scan with AVX2 (compiled with
 * -mavx2 -mfma, called by dot.c only when the CPU has AVX2 (and FMA for
 * float32)). float32: four independent FMA
 * chains of 8 lanes (a 384-dim row is 12 steps of 32), then the tail.
 * int16 query x int8 rows: rows sign-extended to int16, _mm256_madd_epi16
 * with the query, summed in int32 by blocks of TL_DOT_BLOCK (dot.c says
 * why that cannot overflow), the blocks in int64; each row's cache lines
 * PREFETCH_AHEAD bytes ahead are prefetched.
 */
#include <immintrin.h>
#include <stdint.h>

#include "search/search_internal.h"

/* The scan streams rows from memory: fetching 8 KB ahead took a thread from
 * ~9 to ~13 GB/s on a 1M x 384 matrix (a prefetch past the end is harmless). */
#define PREFETCH_AHEAD 8192

float tl_dot_f32_avx2(const float *a, const float *b, uint32_t n);
void tl_dot_i16_i8_rows_avx2(const int16_t *q, const int8_t *rows, uint32_t dim, uint32_t n_rows, int64_t *out);

static int32_t hsum_i32(__m256i v) {
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0x4E));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0xB1));
    return _mm_cvtsi128_si32(sum);
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

void tl_dot_i16_i8_rows_avx2(const int16_t *q, const int8_t *rows, uint32_t dim, uint32_t n_rows, int64_t *out) {
    for (uint32_t r = 0; r < n_rows; r++) {
        const int8_t *x = rows + (size_t)r * dim;
        for (uint32_t line = 0; line < dim; line += 64)
            _mm_prefetch((const char *)x + PREFETCH_AHEAD + line, _MM_HINT_T0);
        int64_t total = 0;
        uint32_t i = 0;
        while (i + 16 <= dim) {
            const uint32_t end = i + TL_DOT_BLOCK < dim ? i + TL_DOT_BLOCK : dim;
            __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
            for (; i + 32 <= end; i += 32) {
                const __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + i)));
                const __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + i + 16)));
                acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x0, _mm256_loadu_si256((const __m256i *)(q + i))));
                acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(x1, _mm256_loadu_si256((const __m256i *)(q + i + 16))));
            }
            if (i + 16 <= end) {
                const __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + i)));
                acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x0, _mm256_loadu_si256((const __m256i *)(q + i))));
                i += 16;
            }
            total += hsum_i32(_mm256_add_epi32(acc0, acc1));
        }
        for (; i < dim; i++) total += (int32_t)q[i] * x[i];
        out[r] = total;
    }
}
