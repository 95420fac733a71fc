/*
 * kernels.c — CPU feature detection and choosing the kernel set (see
 * kernels.h). The scalar set is built from the type-trait table; SIMD sets
 * start as a copy of it and the level's fill function overrides entries.
 */
#include "tensor/kernels.h"

#include "tensor/ops.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TL_X86 1
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

/* ---- CPU features ------------------------------------------------------ */

static tl_cpu_features features;

#ifdef TL_X86
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

static void detect_features(void) {
#ifdef TL_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    const int osxsave = (c >> 27) & 1;
    const int avx = (c >> 28) & 1;
    const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const int os_avx = (xcr0 & 0x6) == 0x6;                /* XMM and YMM state */
    const int os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0; /* opmask, ZMM */
    features.fma = os_avx && ((c >> 12) & 1);
    features.f16c = os_avx && ((c >> 29) & 1);
    if (!avx || !os_avx) return;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        features.avx2 = (b >> 5) & 1;
        if (os_avx512) {
            features.avx512f = (b >> 16) & 1;
            features.avx512bw = (b >> 30) & 1;
            features.avx512vl = (b >> 31) & 1;
            features.avx512vnni = (c >> 11) & 1;
        }
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        features.avx_vnni = (a >> 4) & 1;
        if (os_avx512) features.avx512bf16 = (a >> 5) & 1;
    }
#elif defined(__aarch64__)
    features.neon = 1;
#if defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    features.neon_dotprod = (hw >> 20) & 1; /* HWCAP_ASIMDDP */
    features.neon_fp16 = (hw >> 10) & 1;    /* HWCAP_ASIMDHP */
    features.neon_i8mm = (hw2 >> 13) & 1;   /* HWCAP2_I8MM */
#endif
#endif
}

/* ---- kernel sets ------------------------------------------------------- */

static float kv_dot_f32(int64_t n, const float *q, const void *row) {
    const float *k = row;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += q[i] * k[i];
    return sum;
}

static void kv_axpy_f32(int64_t n, float a, const void *row, float *out) {
    const float *v = row;
    for (int64_t i = 0; i < n; i++) out[i] += a * v[i];
}

static float kv_dot_f16(int64_t n, const float *q, const void *row) {
    const uint16_t *k = row;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += q[i] * tl_fp16_to_fp32(k[i]);
    return sum;
}

static void kv_axpy_f16(int64_t n, float a, const void *row, float *out) {
    const uint16_t *v = row;
    for (int64_t i = 0; i < n; i++) out[i] += a * tl_fp16_to_fp32(v[i]);
}

/* Q8_0 cache rows: blocks of {f16 d; int8 q[32]}; n is a multiple of 32. */
static float kv_dot_q8_0(int64_t n, const float *q, const void *row) {
    const uint8_t *b = row;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i += 32, b += 34) {
        uint16_t dh;
        memcpy(&dh, b, 2);
        const int8_t *qs = (const int8_t *)(b + 2);
        float block = 0.0f;
        for (int j = 0; j < 32; j++) block += q[i + j] * (float)qs[j];
        sum += block * tl_fp16_to_fp32(dh);
    }
    return sum;
}

static void kv_axpy_q8_0(int64_t n, float a, const void *row, float *out) {
    const uint8_t *b = row;
    for (int64_t i = 0; i < n; i += 32, b += 34) {
        uint16_t dh;
        memcpy(&dh, b, 2);
        const float ad = a * tl_fp16_to_fp32(dh);
        const int8_t *qs = (const int8_t *)(b + 2);
        for (int j = 0; j < 32; j++) out[i + j] += ad * (float)qs[j];
    }
}

static void fill_scalar(tl_kernel_set *k) {
    memset(k, 0, sizeof *k);
    k->name = "scalar";
    for (uint32_t t = 0; t < TL_TYPE_COUNT; t++) {
        const tl_type_traits *tt = tl_type_traits_of(t);
        if (!tt) continue;
        k->vec_dot[t] = tt->vec_dot;
        k->quantize[t] = tt->from_float;
    }
    k->kv_dot[TL_TYPE_F32] = kv_dot_f32;
    k->kv_axpy[TL_TYPE_F32] = kv_axpy_f32;
    k->kv_dot[TL_TYPE_F16] = kv_dot_f16;
    k->kv_axpy[TL_TYPE_F16] = kv_axpy_f16;
    k->softmax = tl_softmax;
    k->geglu = tl_geglu_ref;
    k->swiglu = tl_swiglu_ref;
    k->kv_dot[TL_TYPE_Q8_0] = kv_dot_q8_0;
    k->kv_axpy[TL_TYPE_Q8_0] = kv_axpy_q8_0;
}

#if defined(TL_HAVE_X86_KERNELS) || defined(TL_HAVE_NEON_KERNELS)
/* Start from the scalar set, let the level override, and fill its gaps. */
static void fill_level(tl_kernel_set *k, const char *name, void (*fill)(tl_kernel_set *, const tl_cpu_features *)) {
    tl_kernel_set scalar;
    fill_scalar(&scalar);
    *k = scalar;
    fill(k, &features);
    k->name = name;
    for (uint32_t t = 0; t < TL_TYPE_COUNT; t++) {
        if (!k->vec_dot[t]) k->vec_dot[t] = scalar.vec_dot[t];
        if (!k->quantize[t]) k->quantize[t] = scalar.quantize[t];
        if (!k->kv_dot[t]) k->kv_dot[t] = scalar.kv_dot[t];
        if (!k->kv_axpy[t]) k->kv_axpy[t] = scalar.kv_axpy[t];
    }
    if (!k->softmax) k->softmax = scalar.softmax;
    if (!k->geglu) k->geglu = scalar.geglu;
    if (!k->swiglu) k->swiglu = scalar.swiglu;
}
#endif

enum { LEVEL_SCALAR, LEVEL_AVX2, LEVEL_AVX512, LEVEL_NEON, LEVEL_COUNT };
static const char *const level_names[LEVEL_COUNT] = {"scalar", "avx2", "avx512", "neon"};
static tl_kernel_set sets[LEVEL_COUNT];
static int usable[LEVEL_COUNT];
static int chosen = LEVEL_SCALAR;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_kernels(void) {
    detect_features();
    fill_scalar(&sets[LEVEL_SCALAR]);
    usable[LEVEL_SCALAR] = 1;
#ifdef TL_HAVE_X86_KERNELS
    if (features.avx2 && features.fma && features.f16c) {
        fill_level(&sets[LEVEL_AVX2], "avx2", tl_kernels_fill_avx2);
        tl_kernels_fill_avx2_math(&sets[LEVEL_AVX2]);
        usable[LEVEL_AVX2] = 1;
    }
    /* avx512.c is compiled with VNNI and BF16 enabled, so the compiler may use
     * them anywhere in it: the level needs both (Zen 4/5, Sapphire Rapids,
     * Cooper Lake). Other AVX-512 CPUs run the AVX2 level. */
    if (usable[LEVEL_AVX2] && features.avx512f && features.avx512bw && features.avx512vl && features.avx512vnni &&
        features.avx512bf16) {
        fill_level(&sets[LEVEL_AVX512], "avx512", tl_kernels_fill_avx512);
        tl_kernels_fill_avx2_math(&sets[LEVEL_AVX512]);
        usable[LEVEL_AVX512] = 1;
    }
#endif
#ifdef TL_HAVE_NEON_KERNELS
    if (features.neon) {
        fill_level(&sets[LEVEL_NEON], "neon", tl_kernels_fill_neon);
        usable[LEVEL_NEON] = 1;
    }
#endif
    for (int i = 0; i < LEVEL_COUNT; i++)
        if (usable[i]) chosen = i; /* levels are listed from weakest to strongest */
    const char *want = getenv("TINYLLM_CPU");
    if (want && *want) {
        for (int i = 0; i < LEVEL_COUNT; i++)
            if (usable[i] && strcmp(want, level_names[i]) == 0) chosen = i;
    }
}

const tl_kernel_set *tl_kernels(void) {
    pthread_once(&init_once, init_kernels);
    return &sets[chosen];
}

const tl_kernel_set *tl_kernels_named(const char *name) {
    pthread_once(&init_once, init_kernels);
    for (int i = 0; i < LEVEL_COUNT; i++)
        if (usable[i] && strcmp(name, level_names[i]) == 0) return &sets[i];
    return NULL;
}

const char *const *tl_kernel_level_names(void) {
    static const char *const names[] = {"scalar",
#ifdef TL_HAVE_X86_KERNELS
                                        "avx2", "avx512",
#endif
#ifdef TL_HAVE_NEON_KERNELS
                                        "neon",
#endif
                                        NULL};
    return names;
}

const tl_cpu_features *tl_cpu_get_features(void) {
    pthread_once(&init_once, init_kernels);
    return &features;
}

/* ---- generic matrix kernel -------------------------------------------- */

void tl_gemm_generic(const tl_kernel_set *k, uint32_t type, int64_t n_cols, const void *w, size_t w_row_bytes,
                     int64_t r0, int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y,
                     int64_t ldy) {
    const tl_vec_dot_fn dot = k->vec_dot[type];
    for (int64_t r = r0; r < r1; r++) {
        const void *wrow = (const uint8_t *)w + (size_t)r * w_row_bytes;
        for (int64_t t = 0; t < n_tokens; t++)
            dot(n_cols, &y[t * ldy + r], wrow, (const uint8_t *)x + (size_t)t * x_row_bytes);
    }
}

tl_gemm_fn tl_kernels_exact_gemm(const tl_kernel_set *k, uint32_t type) {
    return k->gemm_exact[type].vec_dot == k->vec_dot[type] ? k->gemm_exact[type].gemm : NULL;
}

void tl_kernels_gemm_exact(const tl_kernel_set *k, uint32_t type, int64_t n_cols, const void *w, size_t w_row_bytes,
                           int64_t r0, int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y,
                           int64_t ldy) {
    const tl_gemm_fn exact = tl_kernels_exact_gemm(k, type);
    if (exact)
        exact(n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);
    else
        tl_gemm_generic(k, type, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);
}

void tl_kernels_gemm(const tl_kernel_set *k, uint32_t type, int64_t n_cols, const void *w, size_t w_row_bytes,
                     int64_t r0, int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y,
                     int64_t ldy) {
    if (k->gemm[type])
        k->gemm[type](n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);
    else
        tl_gemm_generic(k, type, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);
}
