/*
 * avx2_kquants.h — the exact integer part of the AVX2 K-quant products,
 * shared by the dots (avx2_kquants.c) and the matrix kernels
 * (avx2_kquants_gemm.c) so both compute the same thing. Included only by
 * files compiled with -mavx2 -mfma -mf16c.
 *
 * Every (row, token) result of both files is one scalar float chain over
 * the super-blocks in order:
 *     acc = fma((float)isum, d_w * d_y, acc)
 *     acc = fma(-(float)msum, dmin_w * d_y, acc)   (types with mins)
 * where isum and msum are the super-block's exact integer sums (computed
 * here in 8 int32 lanes to be added up, in any order) and d_w * d_y is one
 * float product. No float is ever summed across lanes, so a SIMD lane
 * holding a row or a token runs the same operations and the bits do not
 * depend on the batch.
 */
#ifndef TL_AVX2_KQUANTS_H
#define TL_AVX2_KQUANTS_H

#include "tensor/kernels.h"
#include "tensor/x86/x86_blocks.h"
#include "tensor/x86/x86_kquants.h"

/* Sets the matrix kernels (gemm and gemm_exact.gemm) of the K-quant types
 * whose dots avx2_kquants.c has set: avx2_kquants_gemm.c. */
void tl_kernels_fill_avx2_kquants_gemm(tl_kernel_set *k);

/* The most tokens one call of the sums below serves. */
enum { KQ_TOKENS_MAX = 4 };

/* int16 lanes all set to int16 lane k (0..7) of the 128-bit half of v,
 * which holds the same 8 int16 scales in both halves. */
X86_INLINE __m256i kq_scale_bcast16(__m256i scales16, int k) {
    return _mm256_shuffle_epi8(scales16, _mm256_set1_epi16((short)((2 * k + 1) << 8 | 2 * k)));
}

/* The int16 vector [s[2k] x8 | s[2k+1] x8] from 8 int16 scales s[0..7] in
 * each half of v: the madd factor for 32 elements spanning two 16-element
 * sub-blocks. */
X86_INLINE __m256i kq_scale_pair16(__m256i scales16, int k) {
    const short lo = (short)((4 * k + 1) << 8 | 4 * k), hi = (short)((4 * k + 3) << 8 | (4 * k + 2));
    return _mm256_shuffle_epi8(scales16,
                               _mm256_setr_epi16(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi));
}

/* The 8 signed byte scales at bytes [8 half, 8 half + 8) of v as int16 in
 * both 128-bit halves. */
X86_INLINE __m256i kq_scales16(__m128i scales8, int half) {
    const __m128i s = half ? _mm_unpackhi_epi64(scales8, scales8) : scales8;
    return _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(s));
}

/* 32 unsigned levels (u < 128) times 32 signed bytes, in int16 pairs, then
 * times the int16 factors and summed to int32 pairs of pairs. */
X86_INLINE __m256i kq_dot32(__m256i levels, const uint8_t *q8, __m256i scale16) {
    const __m256i y = _mm256_loadu_si256((const __m256i *)q8);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(levels, y), scale16);
}

/* q4_k (fifth 0) or q5_k (fifth 1) super-block xb against the q8_k
 * super-blocks y[0..nt): isum[t] = sum_j scale_j (levels . y[t])_j and
 * msum[t] = sum_j min_j (sum of y[t])_j, each as 8 int32 lanes. */
X86_INLINE void kq_affine_sums(const uint8_t *xb, const uint8_t *const *y, const int nt, const int fifth, __m256i *isum,
                               __m256i *msum) {
    const int qs_at = fifth ? Q5_K_QS : Q4_K_QS;
    const __m256i low_mask = _mm256_set1_epi8(0x0f);
    const __m128i sm = x86_q4_k_scales_mins(xb + Q4_K_SCALES);
    /* mins: m_j * (bsum_2j + bsum_2j+1), pairs of int16 by madd */
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));
    const __m256i scales16 = kq_scales16(sm, 0); /* 6-bit: signed or not alike */
    for (int t = 0; t < nt; t++) {
        msum[t] = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(y[t] + Q8_K_BSUMS)), mins16);
        isum[t] = _mm256_setzero_si256();
    }
    __m256i hbits = fifth ? _mm256_loadu_si256((const __m256i *)(xb + Q5_K_QH)) : _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        const __m256i packed = _mm256_loadu_si256((const __m256i *)(xb + qs_at + 32 * c));
        __m256i lo = _mm256_and_si256(packed, low_mask);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
        if (fifth) {
            const __m256i one = _mm256_set1_epi8(1), two = _mm256_set1_epi8(2);
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hbits, one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(hbits, two), 3));
            hbits = _mm256_srli_epi16(hbits, 2);
        }
        const __m256i s_lo = kq_scale_bcast16(scales16, 2 * c);
        const __m256i s_hi = kq_scale_bcast16(scales16, 2 * c + 1);
        for (int t = 0; t < nt; t++) {
            const uint8_t *q8 = y[t] + Q8_K_QS + 64 * c;
            isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(kq_dot32(lo, q8, s_lo), kq_dot32(hi, q8 + 32, s_hi)));
        }
    }
}

/* q6_k super-block xb against y[0..nt): levels 0..63 (true level + 32)
 * from 4 low bits in ql and 2 high bits in qh, 16 signed 8-bit sub-block
 * scales; the +32 is removed with 32 * sum_j scale_j * bsum_j. */
X86_INLINE void kq_q6_sums(const uint8_t *xb, const uint8_t *const *y, const int nt, __m256i *isum) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
    const __m256i m2_2 = _mm256_set1_epi8(0x0c), m2_4 = _mm256_set1_epi8(0x30);
    const __m128i scales8 = _mm_loadu_si128((const __m128i *)(xb + Q6_K_SCALES));
    const __m256i all16 = _mm256_cvtepi8_epi16(scales8);
    for (int t = 0; t < nt; t++) {
        const __m256i offset = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(y[t] + Q8_K_BSUMS)), all16);
        isum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5));
    }
    for (int h = 0; h < 2; h++) {
        const __m256i scales16 = kq_scales16(scales8, h);
        const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(xb + Q6_K_QL + 64 * h));
        const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(xb + Q6_K_QL + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(xb + Q6_K_QH + 32 * h));
        const __m256i q0 = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
        const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2_2), 2));
        const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m2_4));
        const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2_4));
        const __m256i s0 = kq_scale_pair16(scales16, 0), s1 = kq_scale_pair16(scales16, 1);
        const __m256i s2 = kq_scale_pair16(scales16, 2), s3 = kq_scale_pair16(scales16, 3);
        for (int t = 0; t < nt; t++) {
            const uint8_t *y8 = y[t] + Q8_K_QS + 128 * h;
            const __m256i a = _mm256_add_epi32(kq_dot32(q0, y8, s0), kq_dot32(q1, y8 + 32, s1));
            const __m256i b = _mm256_add_epi32(kq_dot32(q2, y8 + 64, s2), kq_dot32(q3, y8 + 96, s3));
            isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(a, b));
        }
    }
}

/* 2-bit fields of q2_k / q3_k: the 32 levels of quarter p of half h are bits
 * 2p of the 32 bytes of that half. */
X86_INLINE __m256i kq_two_bit_levels(__m256i packed, int p) {
    return _mm256_and_si256(_mm256_srli_epi16(packed, 2 * p), _mm256_set1_epi8(3));
}

/* q3_k super-block xb against y[0..nt): unsigned levels 0..7 = 2 low bits
 * + 4 * (hmask bit), 16 signed 6-bit scales; the true level is that minus
 * 4, removed with 4 * sum_j scale_j * bsum_j. */
X86_INLINE void kq_q3_sums(const uint8_t *xb, const uint8_t *const *y, const int nt, __m256i *isum) {
    const __m256i one = _mm256_set1_epi8(1);
    const __m128i scales8 = x86_q3_k_scales(xb + Q3_K_SCALES);
    const __m256i all16 = _mm256_cvtepi8_epi16(scales8);
    for (int t = 0; t < nt; t++) {
        const __m256i offset = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(y[t] + Q8_K_BSUMS)), all16);
        isum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 2));
    }
    __m256i hmask = _mm256_loadu_si256((const __m256i *)(xb + Q3_K_HMASK));
    for (int h = 0; h < 2; h++) {
        const __m256i packed = _mm256_loadu_si256((const __m256i *)(xb + Q3_K_QS + 32 * h));
        const __m256i scales16 = kq_scales16(scales8, h);
        for (int p = 0; p < 4; p++) {
            const __m256i high = _mm256_slli_epi16(_mm256_and_si256(hmask, one), 2);
            hmask = _mm256_srli_epi16(hmask, 1);
            const __m256i levels = _mm256_or_si256(kq_two_bit_levels(packed, p), high);
            const __m256i scale = kq_scale_pair16(scales16, p);
            for (int t = 0; t < nt; t++)
                isum[t] = _mm256_add_epi32(isum[t], kq_dot32(levels, y[t] + Q8_K_QS + 128 * h + 32 * p, scale));
        }
    }
}

/* q2_k super-block xb against y[0..nt): levels 0..3, byte scales
 * (scale | min << 4) per 16 elements. */
X86_INLINE void kq_q2_sums(const uint8_t *xb, const uint8_t *const *y, const int nt, __m256i *isum, __m256i *msum) {
    const __m128i m4 = _mm_set1_epi8(0x0f);
    const __m128i packed_scales = _mm_loadu_si128((const __m128i *)(xb + Q2_K_SCALES));
    const __m128i scales8 = _mm_and_si128(packed_scales, m4);
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed_scales, 4), m4));
    for (int t = 0; t < nt; t++) {
        msum[t] = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(y[t] + Q8_K_BSUMS)), mins16);
        isum[t] = _mm256_setzero_si256();
    }
    for (int h = 0; h < 2; h++) {
        const __m256i packed = _mm256_loadu_si256((const __m256i *)(xb + Q2_K_QS + 32 * h));
        const __m256i scales16 = kq_scales16(scales8, h);
        for (int p = 0; p < 4; p++) {
            const __m256i levels = kq_two_bit_levels(packed, p), scale = kq_scale_pair16(scales16, p);
            for (int t = 0; t < nt; t++)
                isum[t] = _mm256_add_epi32(isum[t], kq_dot32(levels, y[t] + Q8_K_QS + 128 * h + 32 * p, scale));
        }
    }
}

/* The five types by one switch (the dots and gemm inline it with a
 * constant kind). */
typedef enum { KQ_Q2_K, KQ_Q3_K, KQ_Q4_K, KQ_Q5_K, KQ_Q6_K } kq_kind;

X86_INLINE size_t kq_bytes(const kq_kind kind) {
    switch (kind) {
    case KQ_Q2_K: return Q2_K_BYTES;
    case KQ_Q3_K: return Q3_K_BYTES;
    case KQ_Q4_K: return Q4_K_BYTES;
    case KQ_Q5_K: return Q5_K_BYTES;
    default: return Q6_K_BYTES;
    }
}

/* Offset of the f16 super-block scale d. */
X86_INLINE int kq_d_at(const kq_kind kind) {
    return kind == KQ_Q2_K ? Q2_K_D : kind == KQ_Q3_K ? Q3_K_D : kind == KQ_Q6_K ? Q6_K_D : Q4_K_D;
}

/* Whether the type has mins, and the offset of their f16 scale dmin. */
X86_INLINE int kq_has_min(const kq_kind kind) {
    return kind == KQ_Q2_K || kind == KQ_Q4_K || kind == KQ_Q5_K;
}
X86_INLINE int kq_dmin_at(const kq_kind kind) {
    return kind == KQ_Q2_K ? Q2_K_DMIN : Q4_K_DMIN;
}

/* isum[t] (and msum[t] for types with mins) of super-block xb against
 * y[0..nt), each as 8 int32 lanes to be summed. */
X86_INLINE void kq_sums(const kq_kind kind, const uint8_t *xb, const uint8_t *const *y, const int nt, __m256i *isum,
                        __m256i *msum) {
    switch (kind) {
    case KQ_Q2_K: kq_q2_sums(xb, y, nt, isum, msum); break;
    case KQ_Q3_K: kq_q3_sums(xb, y, nt, isum); break;
    case KQ_Q4_K: kq_affine_sums(xb, y, nt, 0, isum, msum); break;
    case KQ_Q5_K: kq_affine_sums(xb, y, nt, 1, isum, msum); break;
    default: kq_q6_sums(xb, y, nt, isum); break;
    }
}

/* One step of the chain for one (row, token): acc + (float)isum * d. */
X86_INLINE __m128 kq_step(__m128 acc, int32_t isum, float d) {
    return _mm_fmadd_ss(_mm_cvtsi32_ss(_mm_setzero_ps(), isum), _mm_set_ss(d), acc);
}

/* acc - (float)msum * d, the mins' step. */
X86_INLINE __m128 kq_step_min(__m128 acc, int32_t msum, float d) {
    return _mm_fnmadd_ss(_mm_cvtsi32_ss(_mm_setzero_ps(), msum), _mm_set_ss(d), acc);
}

#endif /* TL_AVX2_KQUANTS_H */
