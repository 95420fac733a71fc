/*
 * neon_internal.h — what the AArch64 NEON kernel files share: loading the
 * pieces of ggml's blocks into vectors, and the entry points each file gives
 * to neon.c, which assembles the kernel set.
 *
 * Files: neon.c (the set; int8 dot products with plain armv8-a
 * instructions), neon_dotprod.c (the same dot products with SDOT, compiled
 * with +dotprod and installed only when the CPU has it), neon_i8mm.c (gemm
 * on SMMLA, with +dotprod+i8mm, likewise), neon_quantize.c
 * (q8_0 / q8_1 / q8_k activation quantizers), neon_float.c (f32, f16, bf16
 * weights and the KV-cache helpers), neon_quant_dot.h (the int8 kernels of
 * the 32-element block types) and neon_kquants.h (those of the K-quant
 * types), each written once and included by neon.c and neon_dotprod.c.
 *
 * Block sizes and field offsets are blocks.h's. Every load goes through
 * byte pointers: rows come from a mapped GGUF file and blocks are 18..292
 * bytes long, so nothing is aligned, which NEON loads do not need.
 */
#ifndef TL_NEON_INTERNAL_H
#define TL_NEON_INTERNAL_H

#include <arm_neon.h>
#include <stdint.h>

#include "tensor/blocks.h"
#include "tensor/kernels.h"

/* Small helpers that must be inlined so that tile loops over constant sizes
 * are unrolled and their accumulators stay in registers. */
#if defined(__GNUC__)
#define TL_NEON_INLINE static inline __attribute__((always_inline))
#else
#define TL_NEON_INLINE static inline
#endif

/* Fully unroll the short loops over the rows and tokens of a tile, which
 * GCC does by itself only at -O3. */
#if defined(__GNUC__)
#define TL_NEON_UNROLL _Pragma("GCC unroll 4")
#else
#define TL_NEON_UNROLL
#endif

/* ---- entry points of the other files (installed by neon.c) ------------- */

void tl_neon_quantize_q8_0(const float *src, void *dst, int64_t n);
void tl_neon_quantize_q8_1(const float *src, void *dst, int64_t n);
void tl_neon_quantize_q8_k(const float *src, void *dst, int64_t n);

/* Installs the f32 / f16 / bf16 vec_dot and gemm and the KV-cache helpers. */
void tl_neon_fill_float(tl_kernel_set *k);

/* Installs the SDOT versions of the quantized vec_dot and gemm. Call only
 * when the CPU has the dot-product extension. */
void tl_neon_fill_dotprod(tl_kernel_set *k);

/* Installs the SDOT vec_dot and the SMMLA gemm of the quantized types. Call
 * only when the CPU has both the dot-product and int8 matrix extensions. */
void tl_neon_fill_i8mm(tl_kernel_set *k);

/* ---- half-precision scales ---------------------------------------------- */

/* An f16 stored little-endian at p, widened exactly (the FP16 conversion
 * instructions are part of armv8-a). */
TL_NEON_INLINE float tl_neon_load_half(const uint8_t *p) {
    const uint16_t bits = (uint16_t)(p[0] | (p[1] << 8));
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(bits))), 0);
}

/* Four f16 values, each at p + i * stride, as a vector. Lanes i >= count are
 * zero. */
TL_NEON_INLINE float32x4_t tl_neon_load_halves(const uint8_t *p, size_t stride, int count) {
    uint16_t bits[4] = {0, 0, 0, 0};
    for (int i = 0; i < count; i++) {
        const uint8_t *h = p + (size_t)i * stride;
        bits[i] = (uint16_t)(h[0] | (h[1] << 8));
    }
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(bits)));
}

/* Round a float to f16 bits, to nearest even, as tl_fp32_to_fp16 does for
 * every non-NaN value. */
TL_NEON_INLINE uint16_t tl_neon_half_bits(float value) {
    return vget_lane_u16(vreinterpret_u16_f16(vcvt_f16_f32(vdupq_n_f32(value))), 0);
}

TL_NEON_INLINE void tl_neon_store_half(uint8_t *p, float value) {
    const uint16_t bits = tl_neon_half_bits(value);
    p[0] = (uint8_t)(bits & 0xff);
    p[1] = (uint8_t)(bits >> 8);
}

/* ---- float loads ---------------------------------------------------------- */

TL_NEON_INLINE float32x4_t tl_neon_load4_f32(const uint8_t *p) {
    return vreinterpretq_f32_u8(vld1q_u8(p));
}

TL_NEON_INLINE float32x4_t tl_neon_load4_f16(const uint8_t *p) {
    return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(p)));
}

/* bf16 is the top half of an f32: widening by 16 bits is exact. */
TL_NEON_INLINE float32x4_t tl_neon_load4_bf16(const uint8_t *p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vreinterpret_u16_u8(vld1_u8(p)), 16));
}

#endif /* TL_NEON_INTERNAL_H */
