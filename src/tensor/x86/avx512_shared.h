/*
 * avx512_shared.h — AVX-512 helpers used by more than one avx512*.c file
 * (include only from files compiled with the AVX-512 flags).
 */
#ifndef TL_AVX512_SHARED_H
#define TL_AVX512_SHARED_H

#include <immintrin.h>
#include <stdint.h>

#include "tensor/x86/x86_blocks.h"

/* The iq3_s and iq2_xs dots of avx512_iquants.c; tl_kernels_fill_avx512
 * calls it. */
void tl_kernels_fill_avx512_iquants(struct tl_kernel_set *k, const struct tl_cpu_features *f);

/* Dwords 0..3 of the 16 bytes at `at` in each of 16 rows, as four vectors
 * in row order ("lanes are rows"): a 4x4 dword transpose inside each 128-bit
 * lane of [rows i, i+4, i+8, i+12]. */
X86_INLINE void avx512_transpose_rows(const uint8_t *const row[16], size_t at, __m512i out[4]) {
    __m512i v[4];
    for (int i = 0; i < 4; i++) {
        __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(row[i] + at)));
        z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(row[i + 4] + at)), 1);
        z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(row[i + 8] + at)), 2);
        z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(row[i + 12] + at)), 3);
        v[i] = z;
    }
    const __m512i t0 = _mm512_unpacklo_epi32(v[0], v[1]), t1 = _mm512_unpackhi_epi32(v[0], v[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(v[2], v[3]), t3 = _mm512_unpackhi_epi32(v[2], v[3]);
    out[0] = _mm512_unpacklo_epi64(t0, t2);
    out[1] = _mm512_unpackhi_epi64(t0, t2);
    out[2] = _mm512_unpacklo_epi64(t1, t3);
    out[3] = _mm512_unpackhi_epi64(t1, t3);
}

#endif /* TL_AVX512_SHARED_H */
