/*
 * x86_kquants.h — K-quant helpers shared by the x86 kernel files
 * (avx2_kquants.c, avx512_kquants.c): the packed sub-block scales of a
 * super-block as one byte vector. The unpacking itself is written once, in
 * block_fields.h; this only moves its words into a register. Included only
 * by files compiled with at least -mavx2 -mfma -mf16c.
 */
#ifndef TL_X86_KQUANTS_H
#define TL_X86_KQUANTS_H

#include <immintrin.h>
#include <stdint.h>

#include "tensor/block_fields.h"
#include "tensor/x86/x86_blocks.h"

/* The 8 six-bit scales (bytes 0..7) and 8 mins (bytes 8..15) of a q4_k /
 * q5_k block from its 12 packed bytes. */
X86_INLINE __m128i x86_q4_k_scales_mins(const uint8_t *packed) {
    uint32_t words[4];
    tl_q4_k_scale_words(packed, words);
    return _mm_setr_epi32((int)words[0], (int)words[1], (int)words[2], (int)words[3]);
}

/* The 16 signed 6-bit scales of a q3_k block as bytes (-32..31). */
X86_INLINE __m128i x86_q3_k_scales(const uint8_t *packed) {
    uint32_t w[4];
    tl_q3_k_scale_words(packed, w);
    const __m128i biased = _mm_setr_epi32((int)w[0], (int)w[1], (int)w[2], (int)w[3]);
    return _mm_sub_epi8(biased, _mm_set1_epi8(32));
}

#endif /* TL_X86_KQUANTS_H */
