/*
 * immintrin.h — the x86 intrinsics of SIMD Everywhere (SIMDe, Debian's
 * libsimde-dev) in place of the compiler's, for the emulated kernel build of
 * tests/CMakeLists.txt: the .c files of src/tensor/x86 compiled a second
 * time, without any -m flag, so their AVX-512 (and AVX2) code runs on any CPU and
 * test_kernels_avx512_emulated checks it against the scalar reference.
 *
 * That build puts this folder first on the include path, so every
 * `#include <immintrin.h>` of the kernel files lands here, and also
 * force-includes this file (-include) so the renames below come before the
 * kernel files' first line. Nothing else includes it.
 *
 * - The kernel files' global functions get an `emulated_` prefix, so the
 *   emulated objects link beside libtinyllm's native ones. A global added to
 *   an x86 kernel file needs a line here (the test's link fails without it).
 * - SIMDe 0.7.4 (Debian 12) lacks some intrinsics the kernels use; they are
 *   defined at the end, element by element, with the instructions'
 *   semantics (F16C conversions exact, masked loads read no masked-off
 *   byte, _mm512_reduce_add_ps in GCC's order of additions).
 */
#ifndef TL_TESTS_SIMDE_IMMINTRIN_H
#define TL_TESTS_SIMDE_IMMINTRIN_H

#define tl_kernels_fill_avx2 emulated_tl_kernels_fill_avx2
#define tl_kernels_fill_avx2_iquants emulated_tl_kernels_fill_avx2_iquants
#define tl_kernels_fill_avx2_iquants_gemm emulated_tl_kernels_fill_avx2_iquants_gemm
#define tl_kernels_fill_avx2_legacy_gemm emulated_tl_kernels_fill_avx2_legacy_gemm
#define tl_avx2_vec_dot_iq4_nl emulated_tl_avx2_vec_dot_iq4_nl
#define tl_avx2_vec_dot_iq4_xs emulated_tl_avx2_vec_dot_iq4_xs
#define tl_avx2_vec_dot_iq3_s emulated_tl_avx2_vec_dot_iq3_s
#define tl_avx2_vec_dot_iq2_xs emulated_tl_avx2_vec_dot_iq2_xs
#define tl_kernels_fill_avx2_float_gemm emulated_tl_kernels_fill_avx2_float_gemm
#define tl_kernels_fill_avx2_kquants emulated_tl_kernels_fill_avx2_kquants
#define tl_kernels_fill_avx2_kquants_gemm emulated_tl_kernels_fill_avx2_kquants_gemm
#define tl_kernels_fill_avx2_math emulated_tl_kernels_fill_avx2_math
#define tl_kernels_fill_avx512 emulated_tl_kernels_fill_avx512
#define tl_kernels_fill_avx512_iquants emulated_tl_kernels_fill_avx512_iquants
#define tl_kernels_fill_avx512_kquants emulated_tl_kernels_fill_avx512_kquants

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>

#include <stdint.h>
#include <string.h>

/* ---- what SIMDe 0.7.4 lacks or gets wrong ------------------------------ */

typedef simde__mmask8 __mmask8;
typedef simde__mmask16 __mmask16;
typedef simde__mmask32 __mmask32;
typedef simde__mmask64 __mmask64;
#ifndef _MM_FROUND_NO_EXC
#define _MM_FROUND_NO_EXC SIMDE_MM_FROUND_NO_EXC
#endif
#undef _mm512_madd_epi16 /* 0.7.4 aliases it with the masked form's four arguments */
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)

/* IEEE binary16 <-> binary32 as F16C converts them: exact widening (a NaN
 * made quiet), narrowing rounded to nearest even. */
static inline float emulated_half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    uint32_t bits;
    if (e == 0) {
        float f = (float)m * 5.9604644775390625e-08f; /* m * 2^-24, exact */
        memcpy(&bits, &f, sizeof bits);
        bits |= sign;
    } else if (e == 31) {
        bits = sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u);
    } else {
        bits = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t emulated_float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);                       /* 65520 and up: inf */
    if (a < 0x38800000u) {                                                         /* half subnormal or 0 */
        const uint32_t e = a >> 23;
        if (e < 102) return sign;
        const uint32_t m = (a & 0x7fffffu) | 0x800000u, shift = 126 - e;
        uint32_t q = m >> shift;
        const uint32_t rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t h = (((a >> 23) - 112) << 10) | ((a >> 13) & 0x3ffu);
    const uint32_t rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

#undef _cvtsh_ss
#define _cvtsh_ss(h) emulated_half_to_float((uint16_t)(h))
#undef _cvtss_sh
#define _cvtss_sh(f, rounding) ((void)(rounding), emulated_float_to_half(f))
#undef _cvtu64_mask64
#define _cvtu64_mask64(m) ((simde__mmask64)(m))

/* Lanes of a vector as an array and back. */
#define EMULATED_LANES(type, name, n, v)                                                                               \
    type name[n];                                                                                                      \
    memcpy(name, &(v), sizeof name)
#define EMULATED_RETURN(vtype, lanes)                                                                                  \
    do {                                                                                                               \
        vtype r_;                                                                                                      \
        memcpy(&r_, lanes, sizeof r_);                                                                                 \
        return r_;                                                                                                     \
    } while (0)

/* A lane by lane conversion of 16 lanes: out[i] = expr of in[i]. */
#define EMULATED_CONVERT16(name, out_vector, in_vector, in_type, out_type, expr)                                       \
    static inline out_vector emulated_##name(in_vector a) {                                                            \
        EMULATED_LANES(in_type, in, 16, a);                                                                            \
        out_type out[16];                                                                                              \
        for (int i = 0; i < 16; i++) out[i] = (expr);                                                                  \
        EMULATED_RETURN(out_vector, out);                                                                              \
    }
EMULATED_CONVERT16(mm512_cvtph_ps, simde__m512, simde__m256i, uint16_t, float, emulated_half_to_float(in[i]))
EMULATED_CONVERT16(mm512_cvtepi32_epi16, simde__m256i, simde__m512i, int32_t, int16_t,
                   (int16_t)(uint16_t)(uint32_t)in[i])
/* rounded to nearest, as MXCSR's default */
EMULATED_CONVERT16(mm512_cvtepi32_ps, simde__m512, simde__m512i, int32_t, float, (float)in[i])
EMULATED_CONVERT16(mm512_cvtepu16_epi32, simde__m512i, simde__m256i, uint16_t, int32_t, in[i])
#undef _mm512_cvtph_ps
#define _mm512_cvtph_ps emulated_mm512_cvtph_ps
#undef _mm512_cvtepi32_epi16
#define _mm512_cvtepi32_epi16 emulated_mm512_cvtepi32_epi16
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps emulated_mm512_cvtepi32_ps
#undef _mm512_cvtepu16_epi32
#define _mm512_cvtepu16_epi32 emulated_mm512_cvtepu16_epi32

static inline simde__m512i emulated_mm512_i32gather_epi32(simde__m512i index, const void *base, int scale) {
    EMULATED_LANES(int32_t, at, 16, index);
    int32_t out[16];
    for (int i = 0; i < 16; i++) memcpy(&out[i], (const char *)base + (int64_t)at[i] * scale, sizeof out[i]);
    EMULATED_RETURN(simde__m512i, out);
}
#undef _mm512_i32gather_epi32
#define _mm512_i32gather_epi32 emulated_mm512_i32gather_epi32

static inline simde__m512i emulated_mm512_mask_shift_epi64(simde__m512i src, simde__mmask8 k, simde__m512i a,
                                                           unsigned count, int left) {
    EMULATED_LANES(uint64_t, out, 8, src);
    EMULATED_LANES(uint64_t, in, 8, a);
    for (int i = 0; i < 8; i++)
        if ((k >> i) & 1) out[i] = count > 63 ? 0 : left ? in[i] << count : in[i] >> count;
    EMULATED_RETURN(simde__m512i, out);
}
#undef _mm512_mask_slli_epi64
#define _mm512_mask_slli_epi64(src, k, a, n) emulated_mm512_mask_shift_epi64(src, k, a, (unsigned)(n), 1)
#undef _mm512_mask_srli_epi64
#define _mm512_mask_srli_epi64(src, k, a, n) emulated_mm512_mask_shift_epi64(src, k, a, (unsigned)(n), 0)

static inline simde__m512i emulated_mm512_srai_epi32(simde__m512i a, unsigned count) {
    EMULATED_LANES(int32_t, in, 16, a);
    int32_t out[16];
    const unsigned n = count > 31 ? 31 : count;
    for (int i = 0; i < 16; i++) out[i] = in[i] < 0 ? ~(~in[i] >> n) : in[i] >> n; /* arithmetic shift */
    EMULATED_RETURN(simde__m512i, out);
}
#undef _mm512_srai_epi32
#define _mm512_srai_epi32(a, n) emulated_mm512_srai_epi32(a, (unsigned)(n))

/* Masked loads and stores touch only the selected elements' bytes. */
static inline void emulated_masked_copy(void *dst, const void *src, uint64_t k, int n, size_t size) {
    for (int i = 0; i < n; i++)
        if ((k >> i) & 1) memcpy((char *)dst + (size_t)i * size, (const char *)src + (size_t)i * size, size);
}

/* A zero-masked load of n lanes of elem_type as vtype. */
#define EMULATED_MASKZ_LOAD(name, vtype, mask_type, elem_type, n)                                                      \
    static inline vtype emulated_##name(mask_type k, const void *p) {                                                  \
        elem_type out[n] = {0};                                                                                        \
        emulated_masked_copy(out, p, k, n, sizeof out[0]);                                                             \
        EMULATED_RETURN(vtype, out);                                                                                   \
    }
EMULATED_MASKZ_LOAD(mm512_maskz_loadu_ps, simde__m512, simde__mmask16, float, 16)
EMULATED_MASKZ_LOAD(mm512_maskz_loadu_epi16, simde__m512i, simde__mmask32, uint16_t, 32)
EMULATED_MASKZ_LOAD(mm256_maskz_loadu_epi16, simde__m256i, simde__mmask16, uint16_t, 16)
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps emulated_mm512_maskz_loadu_ps
#undef _mm512_maskz_loadu_epi16
#define _mm512_maskz_loadu_epi16 emulated_mm512_maskz_loadu_epi16
#undef _mm256_maskz_loadu_epi16
#define _mm256_maskz_loadu_epi16 emulated_mm256_maskz_loadu_epi16

static inline void emulated_mm512_mask_storeu_ps(void *p, simde__mmask16 k, simde__m512 v) {
    EMULATED_LANES(float, in, 16, v);
    emulated_masked_copy(p, in, k, 16, sizeof in[0]);
}
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps emulated_mm512_mask_storeu_ps

/* GCC's order: halves, then quarters, then pairs. */
static inline float emulated_mm512_reduce_add_ps(simde__m512 v) {
    EMULATED_LANES(float, x, 16, v);
    float s8[8], s4[4];
    for (int i = 0; i < 8; i++) s8[i] = x[i + 8] + x[i];
    for (int i = 0; i < 4; i++) s4[i] = s8[i + 4] + s8[i];
    const float s0 = s4[0] + s4[2], s1 = s4[1] + s4[3];
    return s0 + s1;
}
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps emulated_mm512_reduce_add_ps

static inline simde__m512i emulated_mm512_zextsi256_si512(simde__m256i a) {
    int32_t out[16] = {0};
    memcpy(out, &a, sizeof a);
    EMULATED_RETURN(simde__m512i, out);
}
#undef _mm512_zextsi256_si512
#define _mm512_zextsi256_si512 emulated_mm512_zextsi256_si512

#endif /* TL_TESTS_SIMDE_IMMINTRIN_H */
