/*
 * neon_dotprod.c — the quantized dot products of neon_quant_dot.h and
 * neon_kquants.h built on SDOT (four int8 products summed into each int32
 * lane in one instruction).
 *
 * This file alone is compiled with -march=armv8.2-a+dotprod, and its kernels
 * are installed only when the CPU reports the extension (neon.c checks
 * tl_cpu_features.neon_dotprod), so no SDOT reaches a plain armv8-a CPU.
 */
#if !defined(__ARM_FEATURE_DOTPROD)
#error "neon_dotprod.c must be compiled with -march=armv8.2-a+dotprod"
#endif

#include "tensor/arm/neon_internal.h"

TL_NEON_INLINE int32x4_t dot_i8x32(int8x16_t a_lo, int8x16_t a_hi, int8x16_t b_lo, int8x16_t b_hi) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), a_lo, b_lo), a_hi, b_hi);
}

#include "tensor/arm/neon_quant_dot.h"
#include "tensor/arm/neon_kquants.h"

void tl_neon_fill_dotprod(tl_kernel_set *k) {
    fill_quant_kernels(k);
    fill_kquant_kernels(k);
}
