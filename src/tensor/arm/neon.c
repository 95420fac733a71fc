/*
 * neon.c — kernels for AArch64 Advanced SIMD (NEON), with the dot-product
 * extension where the CPU has it.
 */
#include "tensor/kernels.h"

void tl_kernels_fill_neon(tl_kernel_set *k, const tl_cpu_features *f) {
    (void)k;
    (void)f;
}
