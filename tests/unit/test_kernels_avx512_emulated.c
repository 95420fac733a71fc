/*
 * test_kernels_avx512_emulated.c — the AVX-512 kernel set checked on any
 * CPU: test_kernels.c's checks (every vec_dot, gemm, activation quantizer,
 * KV and GELU entry against the scalar reference, on odd sizes) run on the
 * set that the x86 kernel files give when compiled against SIMD Everywhere
 * (tests/simde/immintrin.h, the tl_x86_emulated objects of
 * tests/CMakeLists.txt), with every optional extension (VNNI, BF16) on.
 *
 * test_kernels.c is included whole; its two ways of finding levels are
 * redirected to the levels "scalar" (libtinyllm's) and "avx512" (the
 * emulated one) — the name x86-specific oracles key on.
 */
#include <string.h>

#include "tensor/kernels.h"

/* The emulated objects' level fill functions (renamed by the shim). */
void emulated_tl_kernels_fill_avx512(tl_kernel_set *k, const tl_cpu_features *f);
void emulated_tl_kernels_fill_avx2_math(tl_kernel_set *k);

static const tl_kernel_set *emulated_kernels_named(const char *name);
static const char *const *emulated_level_names(void);

#define tl_kernels_named emulated_kernels_named
#define tl_kernel_level_names emulated_level_names
#include "test_kernels.c"
#undef tl_kernels_named
#undef tl_kernel_level_names

/* As kernels.c builds a level: a copy of the scalar set, the level's
 * entries, the reference for every entry left NULL. */
static const tl_kernel_set *emulated_avx512(void) {
    static tl_kernel_set set;
    static int filled;
    if (filled) return &set;
    const tl_kernel_set *scalar = tl_kernels_named("scalar");
    const tl_cpu_features all = {.avx2 = 1,
                                 .fma = 1,
                                 .f16c = 1,
                                 .avx512f = 1,
                                 .avx512bw = 1,
                                 .avx512vl = 1,
                                 .avx512vnni = 1,
                                 .avx512bf16 = 1,
                                 .avx_vnni = 1};
    set = *scalar;
    emulated_tl_kernels_fill_avx512(&set, &all);
    emulated_tl_kernels_fill_avx2_math(&set);
    set.name = "avx512";
    for (uint32_t t = 0; t < TL_TYPE_COUNT; t++) {
        if (!set.vec_dot[t]) set.vec_dot[t] = scalar->vec_dot[t];
        if (!set.quantize[t]) set.quantize[t] = scalar->quantize[t];
        if (!set.kv_dot[t]) set.kv_dot[t] = scalar->kv_dot[t];
        if (!set.kv_axpy[t]) set.kv_axpy[t] = scalar->kv_axpy[t];
    }
    if (!set.softmax) set.softmax = scalar->softmax;
    if (!set.geglu) set.geglu = scalar->geglu;
    filled = 1;
    return &set;
}

static const tl_kernel_set *emulated_kernels_named(const char *name) {
    if (strcmp(name, "avx512") == 0) return emulated_avx512();
    return strcmp(name, "scalar") == 0 ? tl_kernels_named(name) : NULL;
}

static const char *const *emulated_level_names(void) {
    static const char *const names[] = {"scalar", "avx512", NULL};
    return names;
}
