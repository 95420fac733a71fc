/*
 * x86_float.h — the AVX2 float-weight (f32, f16, bf16) dot, as shared by the
 * level's vec_dot (avx2.c) and its matrix kernel (avx2_float_gemm.c).
 * Included only by files compiled with at least -mavx2 -mfma -mf16c.
 *
 * One (row, token) result is defined as one fixed sequence, so that the
 * matrix kernel gives the vec_dot's bits whatever the batch or tile:
 *     acc = 0 (8 lanes);
 *     for each chunk of 8 elements, the last one padded with zeros:
 *         acc = fma(w_chunk, x_chunk, acc);
 *     result = x86_hsum_ps256(acc).
 * Both operands are the weight type (the activations were converted to it);
 * products of two f16 or two bf16 values are exact in float.
 */
#ifndef TL_X86_FLOAT_H
#define TL_X86_FLOAT_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "tensor/types.h"
#include "tensor/x86/x86_blocks.h"

/* avx2_float_gemm.c: the matrix kernels, registered by tl_kernels_fill_avx2
 * with the dots they agree with. */
void tl_kernels_fill_avx2_float_gemm(struct tl_kernel_set *k, tl_vec_dot_fn f32, tl_vec_dot_fn f16, tl_vec_dot_fn bf16);

/* Bytes per element of a float type (TL_TYPE_F32, _F16 or _BF16). */
#define X86_FLOAT_BYTES(type) ((type) == TL_TYPE_F32 ? 4 : 2)

/* Eight elements of a float type widened to float (unaligned source). */
X86_INLINE __m256 x86_load8_f32(const uint8_t *p) {
    return _mm256_loadu_ps((const float *)(const void *)p);
}

X86_INLINE __m256 x86_load8_f16(const uint8_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

X86_INLINE __m256 x86_load8_bf16(const uint8_t *p) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

X86_INLINE __m256 x86_load8_float(uint32_t type, const uint8_t *p) {
    return type == TL_TYPE_F32 ? x86_load8_f32(p) : type == TL_TYPE_F16 ? x86_load8_f16(p) : x86_load8_bf16(p);
}

/* The last n (< 8) elements at p, zero-padded to eight (reads only them).
 * No call to memcpy: a call would make the tiles of avx2_float_gemm.c keep
 * their accumulators on the stack around it. */
X86_INLINE __m256 x86_load_tail_float(uint32_t type, const uint8_t *p, int64_t n) {
    if (type == TL_TYPE_F32) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), lane);
        return _mm256_maskload_ps((const float *)(const void *)p, mask);
    }
    /* 16-bit elements: n * 2 < 16 bytes, gathered into two words */
    uint64_t word[2] = {0, 0};
    for (int64_t i = 0; i < n; i++) {
        uint16_t e;
        memcpy(&e, p + 2 * i, sizeof e); /* fixed size: inlined */
        word[i / 4] |= (uint64_t)e << (16 * (i % 4));
    }
    const __m128i h = _mm_set_epi64x((long long)word[1], (long long)word[0]);
    if (type == TL_TYPE_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The dot of n elements of one row and one token, as defined above. */
X86_INLINE float x86_float_dot(uint32_t type, int64_t n, const uint8_t *w, const uint8_t *x) {
    const size_t eb = X86_FLOAT_BYTES(type);
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        acc = _mm256_fmadd_ps(x86_load8_float(type, w + i * eb), x86_load8_float(type, x + i * eb), acc);
    if (i < n)
        acc = _mm256_fmadd_ps(x86_load_tail_float(type, w + i * eb, n - i),
                              x86_load_tail_float(type, x + i * eb, n - i), acc);
    return x86_hsum_ps256(acc);
}

#endif /* TL_X86_FLOAT_H */
