/*
 * avx512_iquants.c — AVX-512 dot products for the grid i-quants iq3_s and
 * iq2_xs against q8_k activations (the iq4 ones are in avx512.c and
 * avx512_kquants.c). Compiled with the AVX-512 flags like avx512.c and only
 * called when the CPU has them (VNNI included: the level needs it).
 *
 * A 512-bit vector holds 64 elements, two 32-element sub-blocks: their grid
 * magnitudes (unsigned: iq3_s 0..15, iq2_xs 8..43) read from the tables
 * into one vector, and their 64 sign bits as a mask. The signs are not
 * applied to the activations (q8_k may hold -128, whose negation does not
 * fit a byte): vpdpbusd takes the magnitudes of the positive elements and,
 * separately, of the negative ones, against the same activations, and the
 * second dot is subtracted. Each dword lane then holds 4 elements' exact
 * sum, multiplied by its (half) sub-block's odd scale 2s + 1. The integer
 * sum of a super-block is exact, as the reference's (quant_iq.c); only the
 * float summation order differs.
 */
#include "tensor/iq_tables.h"
#include "tensor/kernels.h"
#include "tensor/x86/avx512_shared.h"
#include "tensor/x86/x86_blocks.h"

/* sum of magnitude * (-1 if negative) * q over each dword's 4 elements. */
X86_INLINE __m512i signed_dot(__m512i magnitudes, __mmask64 negative, __m512i q) {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i pos = _mm512_dpbusd_epi32(zero, _mm512_maskz_mov_epi8(~negative, magnitudes), q);
    const __m512i neg = _mm512_dpbusd_epi32(zero, _mm512_maskz_mov_epi8(negative, magnitudes), q);
    return _mm512_sub_epi32(pos, neg);
}

/* iq3_s sub-blocks ib, ib + 1 (ib even): entry k (4 elements) is
 * iq3s_grid[qs[8 ib + k] | (bit k of qh[ib], qh[ib + 1]) << 8]; signs are
 * the 64 bits from signs[4 ib]; scales the nibbles of scales[ib / 2]. */
X86_INLINE __m512i iq3_s_pair(const uint8_t *block, int ib, __m512i q) {
    const uint8_t *qs = block + IQ3_S_QS + 8 * ib;
    const unsigned qh = (unsigned)block[IQ3_S_QH + ib] | ((unsigned)block[IQ3_S_QH + ib + 1] << 8);
    _Alignas(64) uint32_t entries[16];
    for (int k = 0; k < 16; k++) entries[k] = tl_iq3s_grid[qs[k] | (((qh >> k) & 1) << 8)];
    uint64_t signs;
    memcpy(&signs, block + IQ3_S_SIGNS + 4 * ib, sizeof signs);
    const __m512i dot = signed_dot(_mm512_load_si512((const void *)entries), _cvtu64_mask64(signs), q);
    const __m512i nibbles =
        _mm512_and_si512(_mm512_srlv_epi32(_mm512_set1_epi32(block[IQ3_S_SCALES + ib / 2]),
                                           _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4)),
                         _mm512_set1_epi32(0x0f));
    const __m512i scale = _mm512_add_epi32(_mm512_slli_epi32(nibbles, 1), _mm512_set1_epi32(1));
    return _mm512_mullo_epi32(dot, scale);
}

/* iq2_xs sub-blocks ib, ib + 1: u16 word k (8 elements) picks
 * iq2xs_grid[w & 511] and the sign byte ksigns_iq2xs[w >> 9]; scale
 * nibbles: low for a sub-block's first 16 elements, high for the rest. */
X86_INLINE __m512i iq2_xs_pair(const uint8_t *block, int ib, __m512i q) {
    const uint8_t *qs = block + IQ2_XS_QS + 8 * ib;
    _Alignas(64) uint64_t entries[8];
    uint64_t signs = 0;
    for (int k = 0; k < 8; k++) {
        const unsigned w = (unsigned)qs[2 * k] | ((unsigned)qs[2 * k + 1] << 8);
        entries[k] = tl_iq2xs_grid[w & 511];
        signs |= (uint64_t)tl_ksigns_iq2xs[w >> 9] << (8 * k);
    }
    const __m512i dot = signed_dot(_mm512_load_si512((const void *)entries), _cvtu64_mask64(signs), q);
    const unsigned scale_bytes = (unsigned)block[IQ2_XS_SCALES + ib] | ((unsigned)block[IQ2_XS_SCALES + ib + 1] << 8);
    const __m512i nibbles =
        _mm512_and_si512(_mm512_srlv_epi32(_mm512_set1_epi32((int)scale_bytes),
                                           _mm512_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12)),
                         _mm512_set1_epi32(0x0f));
    const __m512i scale = _mm512_add_epi32(_mm512_slli_epi32(nibbles, 1), _mm512_set1_epi32(1));
    return _mm512_mullo_epi32(dot, scale);
}

/* d * dy * (integer sum) per super-block, summed (IQ2 selects iq2_xs). */
X86_INLINE float dot_grid(int64_t n, const uint8_t *xb, const uint8_t *yb, const int IQ2) {
    const size_t x_bytes = IQ2 ? IQ2_XS_BYTES : IQ3_S_BYTES;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, xb += x_bytes, yb += Q8_K_BYTES) {
        const uint8_t *q8 = yb + Q8_K_QS;
        __m512i sum = _mm512_setzero_si512();
        for (int ib = 0; ib < 8; ib += 2) {
            const __m512i q = _mm512_loadu_si512((const void *)(q8 + 32 * ib));
            sum = _mm512_add_epi32(sum, IQ2 ? iq2_xs_pair(xb, ib, q) : iq3_s_pair(xb, ib, q));
        }
        _Static_assert(IQ2_XS_D == 0 && IQ3_S_D == 0, "d first");
        const __m512 d = _mm512_set1_ps(x86_load_half(xb) * x86_load_f32(yb + Q8_K_D));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), d, acc);
    }
    return _mm512_reduce_add_ps(acc);
}

static void vec_dot_iq3_s_avx512(int64_t n, float *out, const void *x, const void *y) {
    *out = dot_grid(n, x, y, 0);
}

/* ggml's iq2_xs dot carries a factor 1/8. */
static void vec_dot_iq2_xs_avx512(int64_t n, float *out, const void *x, const void *y) {
    *out = 0.125f * dot_grid(n, x, y, 1);
}

void tl_kernels_fill_avx512_iquants(tl_kernel_set *k, const tl_cpu_features *f) {
    if (!f->avx512vnni) return;
    k->vec_dot[TL_TYPE_IQ3_S] = vec_dot_iq3_s_avx512;
    k->vec_dot[TL_TYPE_IQ2_XS] = vec_dot_iq2_xs_avx512;
}
