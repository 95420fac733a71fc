/*
 * kernels.h — run-time selected compute kernels.
 *
 * The type-trait table (types.h) holds the scalar reference of every type;
 * it is always correct and is the test oracle. A kernel set is what one CPU
 * feature level (scalar, avx2, avx512, neon) provides on top of it: for each
 * weight type, a tiled matrix kernel and a dot product, and for each
 * activation type, a fast quantizer. Any NULL entry falls back to the
 * reference. The best set the CPU can run is chosen once at start-up
 * (TINYLLM_CPU=scalar|avx2|avx512|neon overrides, for tests and comparisons).
 *
 * Files: kernels.c (selection, CPU feature detection, generic fallbacks),
 * x86/avx2.c and x86/avx512.c (compiled with their own -m flags), arm/neon.c
 * (aarch64 only).
 */
#ifndef TL_KERNELS_H
#define TL_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/types.h"

/*
 * The matrix kernel: for weight rows r in [r0, r1) and tokens t in
 * [0, n_tokens):
 *     y[t * ldy + r] = dot(row r of w, row t of x)
 * w: rows of n_cols elements of the weight type, w_row_bytes apart.
 * x: n_tokens rows already converted to the type's vec_dot_type,
 *    x_row_bytes apart.
 * A kernel is free to tile rows × tokens for register and cache reuse; it
 * must give the same result as vec_dot per (row, token) up to float
 * rounding of the accumulation order.
 */
typedef void (*tl_gemm_fn)(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x,
                           size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy);

/* Attention helpers over the KV cache, whose rows are F32, F16 or Q8_0 and
 * start at addresses aligned for their element type:
 * dot of an F32 query with n elements of a cache row, and
 * out[i] += a * row[i]. */
typedef float (*tl_kv_dot_fn)(int64_t n, const float *q, const void *row);
/* In-place softmax of n floats. */
typedef void (*tl_softmax_fn)(float *x, int64_t n);
typedef void (*tl_kv_axpy_fn)(int64_t n, float a, const void *row, float *out);
/* x[i] = gelu(x[i]) * y[i] (y NULL: gelu alone), with ggml's f16 rounding. */
typedef void (*tl_geglu_fn)(float *x, const float *y, int64_t n);
/* x[i] = silu(x[i]) * y[i] = x[i] / (1 + exp(-x[i])) * y[i]. */
typedef void (*tl_swiglu_fn)(float *x, const float *y, int64_t n);

typedef struct tl_kernel_set {
    const char *name;               /* "scalar", "avx2", "avx512", "neon" */
    tl_gemm_fn gemm[TL_TYPE_COUNT]; /* by weight type; NULL: tl_gemm_generic */
    /* A gemm that gives the bits of a vec_dot for every (row, token), and
     * that vec_dot: while the dot is still the set's entry for the type,
     * tl_kernels_gemm_exact uses this gemm, even where the set's own gemm
     * is another (AVX-512 keeps AVX2's legacy, float and some K-quant dots
     * but has faster gemms that are not batch-invariant: prompts use those,
     * exact runs these). A level that replaces the dot drops the promise
     * without a word. */
    struct {
        tl_gemm_fn gemm;
        tl_vec_dot_fn vec_dot;
    } gemm_exact[TL_TYPE_COUNT];
    tl_vec_dot_fn vec_dot[TL_TYPE_COUNT];     /* by weight type */
    tl_from_float_fn quantize[TL_TYPE_COUNT]; /* by activation (vec_dot) type */
    tl_kv_dot_fn kv_dot[TL_TYPE_COUNT];       /* by cache type: F32, F16 */
    tl_kv_axpy_fn kv_axpy[TL_TYPE_COUNT];
    tl_softmax_fn softmax;
    tl_geglu_fn geglu;
    tl_swiglu_fn swiglu;
} tl_kernel_set;

/* The kernel set in use (chosen on first call; thread-safe). Every entry but
 * gemm is filled: missing SIMD entries are the reference ones. */
const tl_kernel_set *tl_kernels(void);

/* A named set with every entry filled, or NULL if unknown or the CPU cannot
 * run it. Tests use it to check each level against "scalar". */
const tl_kernel_set *tl_kernels_named(const char *name);

/* Names of all levels compiled into this build, NULL-terminated. */
const char *const *tl_kernel_level_names(void);

/* CPU features seen at run time. */
typedef struct tl_cpu_features {
    int avx2, fma, f16c;
    int avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16, avx_vnni;
    int neon, neon_dotprod, neon_i8mm, neon_fp16;
} tl_cpu_features;
const tl_cpu_features *tl_cpu_get_features(void);

/* The SIMD levels fill a set (which starts as a copy of the scalar one);
 * entries they set to NULL are completed with the reference ones by
 * kernels.c. `f` tells which optional extensions (VNNI, BF16, dotprod...)
 * the CPU has. Defined only where compiled in; called once, at selection. */
void tl_kernels_fill_avx2(tl_kernel_set *k, const tl_cpu_features *f);
void tl_kernels_fill_avx512(tl_kernel_set *k, const tl_cpu_features *f);
void tl_kernels_fill_neon(tl_kernel_set *k, const tl_cpu_features *f);
/* Vectorized math (softmax, GELU) for the AVX2 and AVX-512 levels: avx2_math.c. */
void tl_kernels_fill_avx2_math(tl_kernel_set *k);

/* The matrix kernel of a set for a weight type: its gemm entry, else the
 * generic one (vec_dot per row and token, with the set's vec_dot). */
void tl_kernels_gemm(const tl_kernel_set *k, uint32_t type, int64_t n_cols, const void *w, size_t w_row_bytes,
                     int64_t r0, int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y,
                     int64_t ldy);
/* The same for products whose every (row, token) must have the bits of the
 * set's vec_dot (tokens that must not depend on the rest of the batch: see
 * tl_token_span in src/model/steps.h): tl_kernels_exact_gemm's kernel, else
 * the generic one. */
void tl_kernels_gemm_exact(const tl_kernel_set *k, uint32_t type, int64_t n_cols, const void *w, size_t w_row_bytes,
                           int64_t r0, int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y,
                           int64_t ldy);
/* Records that `gemm` gives the bits of `vec_dot` for every (row, token) of
 * a type (the gemm_exact entry; fill functions only). */
static inline void tl_kernels_promise_exact(tl_kernel_set *k, uint32_t type, tl_gemm_fn gemm, tl_vec_dot_fn vec_dot) {
    k->gemm_exact[type].gemm = gemm;
    k->gemm_exact[type].vec_dot = vec_dot;
}
/* The gemm_exact kernel of a type while its dot is the set's vec_dot, else
 * NULL (exact runs then take one vec_dot per row and token). */
tl_gemm_fn tl_kernels_exact_gemm(const tl_kernel_set *k, uint32_t type);
void tl_gemm_generic(const tl_kernel_set *k, uint32_t type, int64_t n_cols, const void *w, size_t w_row_bytes,
                     int64_t r0, int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y,
                     int64_t ldy);

#endif /* TL_KERNELS_H */
