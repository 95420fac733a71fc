/*
 * neon.c — the AArch64 Advanced SIMD (NEON) kernel set.
 *
 * Everything compiled here runs on any armv8-a CPU. The quantized dot
 * products come from neon_quant_dot.h with int8 products formed by widening
 * multiplies (SMULL, then pairwise-accumulated into int32); when the CPU has
 * the dot-product extension, neon_dotprod.c replaces them with SDOT versions,
 * and with the int8 matrix extension too, neon_i8mm.c also replaces the
 * gemm tiles of the 32-element types with SMMLA ones. The K-quant types
 * (neon_kquants.h) get plain and SDOT versions the same way. F16 weights
 * are widened to f32 (FCVTL, part of armv8-a) rather than multiplied in
 * half precision, which would lose accuracy against the reference, so the
 * fp16 extension is not used.
 */
#include "tensor/arm/neon_internal.h"

/* Four int32 partial sums of the 32 products a[j] * b[j]. Each product is
 * widened to int16 (|a * b| <= 2^14) and pairs are added straight into int32,
 * so no intermediate can overflow even for -128 * -128. */
TL_NEON_INLINE int32x4_t dot_i8x32(int8x16_t a_lo, int8x16_t a_hi, int8x16_t b_lo, int8x16_t b_hi) {
    int32x4_t sums = vpaddlq_s16(vmull_s8(vget_low_s8(a_lo), vget_low_s8(b_lo)));
    sums = vpadalq_s16(sums, vmull_high_s8(a_lo, b_lo));
    sums = vpadalq_s16(sums, vmull_s8(vget_low_s8(a_hi), vget_low_s8(b_hi)));
    return vpadalq_s16(sums, vmull_high_s8(a_hi, b_hi));
}

#include "tensor/arm/neon_quant_dot.h"
#include "tensor/arm/neon_kquants.h"

void tl_kernels_fill_neon(tl_kernel_set *k, const tl_cpu_features *f) {
    k->quantize[TL_TYPE_Q8_0] = tl_neon_quantize_q8_0;
    k->quantize[TL_TYPE_Q8_1] = tl_neon_quantize_q8_1;
    k->quantize[TL_TYPE_Q8_K] = tl_neon_quantize_q8_k;
    fill_quant_kernels(k);
    fill_kquant_kernels(k);
    tl_neon_fill_float(k);
    /* The SDOT kernels (K-quants included); with i8mm, the SMMLA gemm of the
     * 32-element types replaces theirs. */
    if (f->neon_dotprod) tl_neon_fill_dotprod(k);
    if (f->neon_dotprod && f->neon_i8mm) tl_neon_fill_i8mm(k);
}
