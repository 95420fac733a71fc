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
 * emulated one) — the name x86-specific oracles key on. Its tests run
 * first, then this file's own.
 */
#include <string.h>

#include "tensor/kernels.h"

/* The emulated objects' level fill functions (renamed by the shim). */
void emulated_tl_kernels_fill_avx2(tl_kernel_set *k, const tl_cpu_features *f);
void emulated_tl_kernels_fill_avx512(tl_kernel_set *k, const tl_cpu_features *f);
void emulated_tl_kernels_fill_avx2_math(tl_kernel_set *k);

static const tl_kernel_set *emulated_kernels_named(const char *name);
static const char *const *emulated_level_names(void);

#define tl_kernels_named emulated_kernels_named
#define tl_kernel_level_names emulated_level_names
#define main test_kernels_main
#include "test_kernels.c"
#undef tl_kernels_named
#undef tl_kernel_level_names
#undef main

/* As kernels.c builds a level: a copy of the scalar set, the level's
 * entries, the reference for every entry left NULL. */
static const tl_kernel_set *emulated_avx512(void) {
    static tl_kernel_set set;
    static int filled;
    if (filled) return &set;
    const tl_kernel_set *scalar = tl_kernels_named("scalar");
    tl_cpu_features all = {0};
    all.avx2 = all.fma = all.f16c = all.avx512f = all.avx512bw = all.avx512vl = 1;
    all.avx512vnni = all.avx512bf16 = all.avx_vnni = 1;
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
    if (!set.swiglu) set.swiglu = scalar->swiglu;
    /* The i-quant kernels are AVX-512 ones, not the AVX2 ones the level
     * starts from, so the checks above run the code meant. */
    tl_kernel_set avx2 = *scalar;
    emulated_tl_kernels_fill_avx2(&avx2, &all);
    static const uint32_t own_dot[] = {TL_TYPE_IQ3_S, TL_TYPE_IQ2_XS};
    for (size_t i = 0; i < sizeof own_dot / sizeof own_dot[0]; i++)
        if (set.vec_dot[own_dot[i]] == avx2.vec_dot[own_dot[i]])
            fail_msg("emulated avx512 has no %s dot of its own", tl_type_traits_of(own_dot[i])->name);
    static const uint32_t own_gemm[] = {TL_TYPE_IQ4_NL, TL_TYPE_IQ4_XS};
    for (size_t i = 0; i < sizeof own_gemm / sizeof own_gemm[0]; i++)
        if (!set.gemm[own_gemm[i]]) fail_msg("emulated avx512 has no %s gemm", tl_type_traits_of(own_gemm[i])->name);
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

/* With every block scale 1 (weights' f16 d and q8_k's d), a grid type's dot
 * is its integer sum (times 1/8 for iq2_xs), which the float steps keep
 * exact while partial sums stay below 2^24: the AVX-512 iq3_s and iq2_xs
 * dots must give the reference's bits, for activations over the whole
 * int8 range (-128 included, which no sign flip of a byte can negate). */
static void test_grid_dots_are_exact_integer_sums(void **state) {
    (void)state;
    rng_seed(45);
    const tl_kernel_set *ref = tl_kernels_named("scalar"), *k = emulated_avx512();
    static const uint32_t types[] = {TL_TYPE_IQ3_S, TL_TYPE_IQ2_XS};
    enum { BLOCKS = 3, ROWS = 300 };
    const int64_t n = BLOCKS * QK_K;
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const uint32_t type = types[ti];
        const size_t block_bytes = tl_type_traits_of(type)->block_bytes;
        uint8_t w[BLOCKS * sizeof(block_iq3_s)], x[BLOCKS * Q8_K_BYTES];
        assert_true(block_bytes * BLOCKS <= sizeof w);
        for (int r = 0; r < ROWS; r++) {
            for (size_t i = 0; i < sizeof w; i++) w[i] = (uint8_t)rng_next();
            for (size_t i = 0; i < sizeof x; i++) x[i] = (uint8_t)rng_next();
            const uint16_t one_half = 0x3c00;
            const float one = 1.0f;
            for (int b = 0; b < BLOCKS; b++) {
                memcpy(w + (size_t)b * block_bytes, &one_half, sizeof one_half);
                memcpy(x + (size_t)b * Q8_K_BYTES + Q8_K_D, &one, sizeof one);
                if (r % 7 == 0) memset(x + (size_t)b * Q8_K_BYTES + Q8_K_QS, 0x80, QK_K); /* all -128 */
            }
            float want, got;
            ref->vec_dot[type](n, &want, w, x);
            k->vec_dot[type](n, &got, w, x);
            if (memcmp(&want, &got, sizeof got) != 0)
                fail_msg("avx512 %s row %d: got %.9g, reference %.9g", tl_type_traits_of(type)->name, r, (double)got,
                         (double)want);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_dots_are_exact_integer_sums),
    };
    const int failed = test_kernels_main();
    return failed + cmocka_run_group_tests(tests, NULL, NULL);
}
