/*
 * x86_iquants.h — i-quant helpers shared by the x86 kernel files
 * (avx2_iquants.c, avx2_iquants_gemm.c, avx512.c, avx512_kquants.c): the iq4
 * level table as a pshufb operand, iq4_xs's sub-block scales, and one
 * 32-element sub-block of iq3_s and iq2_xs as grid magnitudes, sign masks and
 * int16 scales. Layouts are blocks.h's and the tables iq_tables.h's; see
 * quant_iq.c for the reference reading. Also the AVX2 i-quant dots, which
 * the AVX2 matrix kernels use for single tokens. Included only by files
 * compiled with at least -mavx2 -mfma -mf16c.
 */
#ifndef TL_X86_IQUANTS_H
#define TL_X86_IQUANTS_H

#include <immintrin.h>
#include <stdint.h>

#include "tensor/iq_tables.h"
#include "tensor/x86/x86_blocks.h"

/* avx2_iquants.c: the dots (their fill function calls the one of the
 * matrix kernels, avx2_iquants_gemm.c, which give the same bits). */
void tl_avx2_vec_dot_iq4_nl(int64_t n, float *out, const void *x, const void *y);
void tl_avx2_vec_dot_iq4_xs(int64_t n, float *out, const void *x, const void *y);
void tl_avx2_vec_dot_iq3_s(int64_t n, float *out, const void *x, const void *y);
void tl_avx2_vec_dot_iq2_xs(int64_t n, float *out, const void *x, const void *y);
void tl_kernels_fill_avx2_iquants_gemm(struct tl_kernel_set *k);

/* kvalues_iq4nl in both 128-bit lanes: pshufb of 4-bit indices gives the
 * signed levels (-127..113). */
X86_INLINE __m256i x86_iq4nl_table256(void) {
    const __m128i t = _mm_loadu_si128((const __m128i *)(const void *)tl_kvalues_iq4nl);
    return _mm256_set_m128i(t, t);
}

/* The 8 sub-block scales of an iq4_xs super-block, offset removed
 * (-32..31): low 4 bits in scales_l (nibble ib % 2 of byte ib / 2), high 2
 * bits at bit 2 ib of scales_h. */
X86_INLINE void x86_iq4_xs_scales(const uint8_t *block, int32_t scales[8]) {
    const uint32_t low = x86_load_u32(block + IQ4_XS_SCALES_L);
    const uint32_t high = (uint32_t)block[IQ4_XS_SCALES_H] | ((uint32_t)block[IQ4_XS_SCALES_H + 1] << 8);
    for (int ib = 0; ib < 8; ib++)
        scales[ib] = (int32_t)(((low >> (4 * ib)) & 0x0f) | (((high >> (2 * ib)) & 3) << 4)) - 32;
}

/* 0xff in byte j where bit j of the 32 bits at p is set (element j is
 * negative). */
X86_INLINE __m256i x86_sign_bits32(const uint8_t *p) {
    const __m256i bits = _mm256_set1_epi32(x86_load_i32(p));
    const __m256i spread =
        _mm256_shuffle_epi8(bits, _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201ull);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

/* The magnitudes of iq3_s sub-block ib (32 elements): entry k (4 elements)
 * is iq3s_grid[qs[8 ib + k] | (bit k of qh[ib]) << 8]. */
X86_INLINE __m256i x86_iq3_s_grid32(const uint8_t *block, int ib) {
    const uint8_t *qs = block + IQ3_S_QS + 8 * ib;
    const unsigned qh = block[IQ3_S_QH + ib];
    int32_t e[8];
    for (int k = 0; k < 8; k++) e[k] = (int32_t)tl_iq3s_grid[qs[k] | (((qh >> k) & 1) << 8)];
    return _mm256_setr_epi32(e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]);
}

/* The magnitudes and sign masks of iq2_xs sub-block ib (32 elements): word
 * k (8 elements) picks iq2xs_grid[w & 511] and ksigns64[w >> 9]. */
X86_INLINE void x86_iq2_xs_grid32(const uint8_t *block, int ib, __m256i *grid, __m256i *negative) {
    const uint8_t *qs = block + IQ2_XS_QS + 8 * ib;
    unsigned w[4];
    for (int k = 0; k < 4; k++) w[k] = (unsigned)qs[2 * k] | ((unsigned)qs[2 * k + 1] << 8);
    *grid = _mm256_setr_epi64x((int64_t)tl_iq2xs_grid[w[0] & 511], (int64_t)tl_iq2xs_grid[w[1] & 511],
                               (int64_t)tl_iq2xs_grid[w[2] & 511], (int64_t)tl_iq2xs_grid[w[3] & 511]);
    *negative = _mm256_setr_epi64x((int64_t)tl_ksigns64[w[0] >> 9], (int64_t)tl_ksigns64[w[1] >> 9],
                                   (int64_t)tl_ksigns64[w[2] >> 9], (int64_t)tl_ksigns64[w[3] >> 9]);
}

/* y with the sign of each byte flipped where the byte of `negative` is
 * 0xff: (y ^ m) - m. */
X86_INLINE __m256i x86_apply_signs(__m256i y, __m256i negative) {
    return _mm256_sub_epi8(_mm256_xor_si256(y, negative), negative);
}

/* The int16 madd factor of iq3_s sub-block ib: its odd scale 1 + 2 s (4-bit
 * s, nibble ib % 2 of scales[ib / 2]) in every lane. */
X86_INLINE __m256i x86_iq3_s_scale16(const uint8_t *block, int ib) {
    return _mm256_set1_epi16((short)(1 + 2 * ((block[IQ3_S_SCALES + ib / 2] >> (4 * (ib % 2))) & 0x0f)));
}

/* The int16 madd factor of iq2_xs sub-block ib: two odd scales, the low
 * nibble's for elements 0..15, the high one's for 16..31. */
X86_INLINE __m256i x86_iq2_xs_scale16(const uint8_t *block, int ib) {
    const int s = block[IQ2_XS_SCALES + ib];
    return _mm256_set_m128i(_mm_set1_epi16((short)(2 * (s >> 4) + 1)), _mm_set1_epi16((short)(2 * (s & 15) + 1)));
}

#endif /* TL_X86_IQUANTS_H */
