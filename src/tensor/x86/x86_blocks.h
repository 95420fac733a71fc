/*
 * x86_blocks.h — block layouts and small load helpers shared by the x86
 * kernel files (avx2.c, avx512.c). Included only by files compiled with at
 * least -mavx2 -mfma -mf16c; everything here is static inline.
 *
 * Blocks are ggml's (see quant_ref.h) and may sit at any address in a mapped
 * GGUF file, so every multi-byte field is read with memcpy (which compiles to
 * a plain unaligned load).
 */
#ifndef TL_X86_BLOCKS_H
#define TL_X86_BLOCKS_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* Elements per block and the byte offsets of each block field. */
enum {
    X86_QK = 32,
    X86_Q4_0_BYTES = 18, X86_Q4_0_QS = 2,
    X86_Q4_1_BYTES = 20, X86_Q4_1_M = 2, X86_Q4_1_QS = 4,
    X86_Q5_0_BYTES = 22, X86_Q5_0_QH = 2, X86_Q5_0_QS = 6,
    X86_Q5_1_BYTES = 24, X86_Q5_1_M = 2, X86_Q5_1_QH = 4, X86_Q5_1_QS = 8,
    X86_Q8_0_BYTES = 34, X86_Q8_0_QS = 2,
    X86_Q8_1_BYTES = 36, X86_Q8_1_S = 2, X86_Q8_1_QS = 4,
};

/* The 256-element K-quant super-blocks (layouts in quant_k.c): sizes and
 * field offsets. */
enum {
    X86_QK_K = 256,
    X86_Q2_K_SCALES = 0, X86_Q2_K_QS = 16, X86_Q2_K_D = 80, X86_Q2_K_DMIN = 82, X86_Q2_K_BYTES = 84,
    X86_Q3_K_HMASK = 0, X86_Q3_K_QS = 32, X86_Q3_K_SCALES = 96, X86_Q3_K_D = 108, X86_Q3_K_BYTES = 110,
    X86_Q4_K_D = 0, X86_Q4_K_DMIN = 2, X86_Q4_K_SCALES = 4, X86_Q4_K_QS = 16, X86_Q4_K_BYTES = 144,
    X86_Q5_K_D = 0, X86_Q5_K_DMIN = 2, X86_Q5_K_SCALES = 4, X86_Q5_K_QH = 16, X86_Q5_K_QS = 48,
    X86_Q5_K_BYTES = 176,
    X86_Q6_K_QL = 0, X86_Q6_K_QH = 128, X86_Q6_K_SCALES = 192, X86_Q6_K_D = 208, X86_Q6_K_BYTES = 210,
    X86_Q8_K_D = 0, X86_Q8_K_QS = 4, X86_Q8_K_BSUMS = 260, X86_Q8_K_BYTES = 292,
};

/* The K-quant kernels live in their own files (avx2_kquants.c,
 * avx512_kquants.c); the level fill functions call these. */
struct tl_kernel_set;
struct tl_cpu_features;
void tl_kernels_fill_avx2_kquants(struct tl_kernel_set *k, const struct tl_cpu_features *f);
void tl_kernels_fill_avx512_kquants(struct tl_kernel_set *k, const struct tl_cpu_features *f);

#if defined(__GNUC__) || defined(__clang__)
#define X86_INLINE static inline __attribute__((always_inline))
#else
#define X86_INLINE static inline
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

X86_INLINE float x86_hsum_ps256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
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
    const __m256i spread = _mm256_shuffle_epi8(
        qh, _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201ull);
    const __m256i is_set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(is_set, _mm256_set1_epi8(0x10));
}

#endif /* TL_X86_BLOCKS_H */
