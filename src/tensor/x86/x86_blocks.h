/*
 * x86_blocks.h — the x86 kernel files' loads and stores of block fields and
 * other small helpers they share (avx2*.c, avx512*.c). Included only by
 * files compiled with at least -mavx2 -mfma -mf16c; everything here is
 * static inline.
 *
 * Block layouts and field offsets are blocks.h's. Blocks may sit at any
 * address in a mapped GGUF file, so every multi-byte field is read with
 * memcpy (which compiles to a plain unaligned load).
 */
#ifndef TL_X86_BLOCKS_H
#define TL_X86_BLOCKS_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "tensor/blocks.h"

/* The K-quant kernels live in their own files (avx2_kquants.c,
 * avx512_kquants.c); the level fill functions call these. */
struct tl_kernel_set;
struct tl_cpu_features;
void tl_kernels_fill_avx2_kquants(struct tl_kernel_set *k, const struct tl_cpu_features *f);
void tl_kernels_fill_avx512_kquants(struct tl_kernel_set *k, const struct tl_cpu_features *f);
/* Likewise the i-quant dots of avx2_iquants.c (the AVX-512 ones of iq4_nl
 * and iq4_xs are in avx512.c and avx512_kquants.c). */
void tl_kernels_fill_avx2_iquants(struct tl_kernel_set *k, const struct tl_cpu_features *f);
/* The matrix kernels of q8_0, q4_0, q4_1, q5_0 and q5_1 (avx2_legacy_gemm.c),
 * which give the bits of the set's vec_dot (avx2.c's, filled before). */
void tl_kernels_fill_avx2_legacy_gemm(struct tl_kernel_set *k);

#if defined(__GNUC__) || defined(__clang__)
#define X86_INLINE static inline __attribute__((always_inline))
#else
#define X86_INLINE static inline
#endif

/* Fully unrolls the loop that follows (over tile rows or tokens, whose
 * arrays of vectors then stay in registers). */
#if defined(__GNUC__) && !defined(__clang__)
#define X86_UNROLL _Pragma("GCC unroll 8")
#elif defined(__clang__)
#define X86_UNROLL _Pragma("unroll")
#else
#define X86_UNROLL
#endif

/* An f16 field (F16C conversion: exact, as tl_fp16_to_fp32 for non-NaN). */
X86_INLINE float x86_load_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

X86_INLINE uint32_t x86_load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

X86_INLINE int32_t x86_load_i32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

X86_INLINE float x86_load_f32(const uint8_t *p) {
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

X86_INLINE float x86_hsum_ps256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The sum of the 8 int32 lanes of v (exact). */
X86_INLINE int32_t x86_hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* The 32 4-bit levels of a block as bytes 0..15: low nibbles are elements
 * 0..15, high nibbles 16..31. */
X86_INLINE __m256i x86_unpack_nibbles32(const uint8_t *qs) {
    const __m128i packed = _mm_loadu_si128((const __m128i *)qs);
    const __m128i low_mask = _mm_set1_epi8(0x0f);
    const __m128i low = _mm_and_si128(packed, low_mask);
    const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), low_mask);
    return _mm256_set_m128i(high, low);
}

/* 0x10 in byte j where bit j of qh is set (the fifth bit of element j). */
X86_INLINE __m256i x86_fifth_bits32(const uint8_t *qh_bytes) {
    const __m256i qh = _mm256_set1_epi32(x86_load_i32(qh_bytes));
    /* byte j takes byte j/8 of qh, then tests bit j%8 */
    const __m256i spread =
        _mm256_shuffle_epi8(qh, _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201ull);
    const __m256i is_set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(is_set, _mm256_set1_epi8(0x10));
}

#endif /* TL_X86_BLOCKS_H */
