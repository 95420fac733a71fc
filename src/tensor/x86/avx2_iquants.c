/*
 * avx2_iquants.c — AVX2 dot products for ggml's i-quant weights: iq4_nl
 * against q8_0 activations, iq4_xs, iq3_s and iq2_xs against q8_k.
 * Compiled with -mavx2 -mfma -mf16c like avx2.c and only called when the
 * CPU has them.
 *
 * Every kernel turns a block into signed byte levels (iq4: the 4-bit
 * indices looked up in kvalues_iq4nl by pshufb; iq3_s / iq2_xs: grid
 * magnitudes, whose signs are moved onto the activations), multiplies them
 * with the activations by maddubs (|level| <= 127 against |q8| <= 127: an
 * int16 pair cannot saturate) and madd against the sub-block scale, so each
 * block's or super-block's integer sum is exact; only the float summation
 * order differs from the reference (quant_iq.c). The matrix kernels, which
 * unpack each weight row once for many tokens, are in avx2_iquants_gemm.c.
 */
#include "tensor/iq_tables.h"
#include "tensor/kernels.h"
#include "tensor/x86/x86_blocks.h"
#include "tensor/x86/x86_iquants.h"

/* sum over pairs of x[i] * y[i] for signed x and y (|x|, |y| <= 127), as
 * int32 lanes of 4 products: |x| times y with x's sign. */
X86_INLINE __m256i dot_s8_pairs(__m256i x, __m256i y) {
    return _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* ---- iq4_nl ------------------------------------------------------------- */

void tl_avx2_vec_dot_iq4_nl(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    const __m256i table = x86_iq4nl_table256();
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK; i++, xb += IQ4_NL_BYTES, yb += Q8_0_BYTES) {
        const __m256i levels = _mm256_shuffle_epi8(table, x86_unpack_nibbles32(xb + IQ4_NL_QS));
        const __m256i q8 = _mm256_loadu_si256((const __m256i *)(yb + Q8_0_QS));
        const __m256i sum = _mm256_madd_epi16(dot_s8_pairs(levels, q8), ones);
        const __m256 d = _mm256_set1_ps(x86_load_half(xb + IQ4_NL_D) * x86_load_half(yb + Q8_0_D));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), d, acc);
    }
    *out = x86_hsum_ps256(acc);
}

/* ---- iq4_xs ------------------------------------------------------------- */

void tl_avx2_vec_dot_iq4_xs(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    const __m256i table = x86_iq4nl_table256();
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, xb += IQ4_XS_BYTES, yb += Q8_K_BYTES) {
        int32_t scales[8];
        x86_iq4_xs_scales(xb, scales);
        const uint8_t *q8 = yb + Q8_K_QS;
        __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib += 2) {
            const __m256i l0 = _mm256_shuffle_epi8(table, x86_unpack_nibbles32(xb + IQ4_XS_QS + 16 * ib));
            const __m256i l1 = _mm256_shuffle_epi8(table, x86_unpack_nibbles32(xb + IQ4_XS_QS + 16 * ib + 16));
            const __m256i p0 = dot_s8_pairs(l0, _mm256_loadu_si256((const __m256i *)(q8 + 32 * ib)));
            const __m256i p1 = dot_s8_pairs(l1, _mm256_loadu_si256((const __m256i *)(q8 + 32 * ib + 32)));
            sum0 = _mm256_add_epi32(sum0, _mm256_madd_epi16(p0, _mm256_set1_epi16((short)scales[ib])));
            sum1 = _mm256_add_epi32(sum1, _mm256_madd_epi16(p1, _mm256_set1_epi16((short)scales[ib + 1])));
        }
        const __m256 d = _mm256_set1_ps(x86_load_half(xb + IQ4_XS_D) * x86_load_f32(yb + Q8_K_D));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sum0, sum1)), d, acc);
    }
    *out = x86_hsum_ps256(acc);
}

/* ---- iq3_s / iq2_xs ----------------------------------------------------- */

/* The grid types, as d * dy * sum_j scale_j * (magnitudes . signed y)_j per
 * super-block (IQ2 selects iq2_xs over iq3_s):
 * iq3_s: per 32-element sub-block 8 grid entries of 4 magnitudes (1..15),
 * 32 sign bits and an odd scale 1 + 2s (<= 31);
 * iq2_xs: per 32-element sub-block 4 u16 words (9-bit grid index of 8
 * magnitudes 8..43, 7-bit sign index) and two odd 4-bit scales of 16
 * elements each. */
X86_INLINE float dot_grid(int64_t n, const uint8_t *xb, const uint8_t *yb, const int IQ2) {
    const size_t x_bytes = IQ2 ? IQ2_XS_BYTES : IQ3_S_BYTES;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, xb += x_bytes, yb += Q8_K_BYTES) {
        const uint8_t *q8 = yb + Q8_K_QS;
        __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            __m256i grid, negative, scale;
            if (IQ2) {
                x86_iq2_xs_grid32(xb, ib, &grid, &negative);
                scale = x86_iq2_xs_scale16(xb, ib);
            } else {
                grid = x86_iq3_s_grid32(xb, ib);
                negative = x86_sign_bits32(xb + IQ3_S_SIGNS + 4 * ib);
                scale = x86_iq3_s_scale16(xb, ib);
            }
            const __m256i q = x86_apply_signs(_mm256_loadu_si256((const __m256i *)(q8 + 32 * ib)), negative);
            const __m256i part = _mm256_madd_epi16(_mm256_maddubs_epi16(grid, q), scale);
            if (ib & 1)
                sum1 = _mm256_add_epi32(sum1, part);
            else
                sum0 = _mm256_add_epi32(sum0, part);
        }
        _Static_assert(IQ2_XS_D == 0 && IQ3_S_D == 0, "d first");
        const __m256 d = _mm256_set1_ps(x86_load_half(xb) * x86_load_f32(yb + Q8_K_D));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sum0, sum1)), d, acc);
    }
    return x86_hsum_ps256(acc);
}

void tl_avx2_vec_dot_iq3_s(int64_t n, float *out, const void *x, const void *y) {
    *out = dot_grid(n, x, y, 0);
}

/* ggml's iq2_xs dot carries a factor 1/8. */
void tl_avx2_vec_dot_iq2_xs(int64_t n, float *out, const void *x, const void *y) {
    *out = 0.125f * dot_grid(n, x, y, 1);
}

void tl_kernels_fill_avx2_iquants(tl_kernel_set *k, const tl_cpu_features *f) {
    (void)f;
    k->vec_dot[TL_TYPE_IQ4_NL] = tl_avx2_vec_dot_iq4_nl;
    k->vec_dot[TL_TYPE_IQ4_XS] = tl_avx2_vec_dot_iq4_xs;
    k->vec_dot[TL_TYPE_IQ3_S] = tl_avx2_vec_dot_iq3_s;
    k->vec_dot[TL_TYPE_IQ2_XS] = tl_avx2_vec_dot_iq2_xs;
    tl_kernels_fill_avx2_iquants_gemm(k);
}
