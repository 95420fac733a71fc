/*
 * avx2.c — kernels for x86-64 CPUs with AVX2, FMA and F16C (compiled with
 * those -m flags; only called when the CPU has them).
 */
#include "tensor/kernels.h"

void tl_kernels_fill_avx2(tl_kernel_set *k, const tl_cpu_features *f) {
    (void)k;
    (void)f;
}
