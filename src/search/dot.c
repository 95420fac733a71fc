/*
 * dot.c — the dot products of the vector scan: float32 with AVX2 + FMA
 * (x86/avx2_dot.c) where the CPU has them, else through src/tensor's
 * kernels (the F32 vec_dot of the level chosen for this CPU); int8 with a
 * scalar reference, AVX2 (x86/avx2_dot.c, used when the CPU has it) and
 * NEON (baseline on aarch64). tests/unit/test_search_dot.c checks each
 * against the reference.
 */
#include <pthread.h>
#include <stdint.h>

#include "search_internal.h"
#include "tensor/kernels.h"
#include "tensor/types.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#if defined(TL_SEARCH_AVX2)
int32_t tl_dot_i8_avx2(const int8_t *a, const int8_t *b, uint32_t n);
float tl_dot_f32_avx2(const float *a, const float *b, uint32_t n);
#endif

float tl_dot_f32_scalar(const float *a, const float *b, uint32_t n) {
    float sum = 0;
    for (uint32_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

int32_t tl_dot_i8_scalar(const int8_t *a, const int8_t *b, uint32_t n) {
    int32_t sum = 0;
    for (uint32_t i = 0; i < n; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}

#if defined(__aarch64__)
static int32_t dot_i8_neon(const int8_t *a, const int8_t *b, uint32_t n) {
    int32x4_t acc = vdupq_n_s32(0);
    uint32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
        acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
        acc = vpadalq_s16(acc, vmull_s8(vget_high_s8(x), vget_high_s8(y)));
    }
    int32_t sum = vaddvq_s32(acc);
    for (; i < n; i++) sum += (int32_t)a[i] * b[i];
    return sum;
}
#endif

/* The kernels for this CPU, chosen once (pthread_once: the scan's threads
 * may be the first callers). */
static pthread_once_t chosen = PTHREAD_ONCE_INIT;
static tl_vec_dot_fn dot_f32;
static float (*dot_f32_direct)(const float *a, const float *b, uint32_t n); /* when set, used instead */
static int32_t (*dot_i8)(const int8_t *a, const int8_t *b, uint32_t n) = tl_dot_i8_scalar;

static void choose(void) {
    dot_f32 = tl_kernels()->vec_dot[TL_TYPE_F32];
#if defined(TL_SEARCH_AVX2)
    if (tl_cpu_get_features()->avx2) dot_i8 = tl_dot_i8_avx2;
    if (tl_cpu_get_features()->avx2 && tl_cpu_get_features()->fma) dot_f32_direct = tl_dot_f32_avx2;
#elif defined(__aarch64__)
    dot_i8 = dot_i8_neon;
#endif
}

float tl_dot_f32(const float *a, const float *b, uint32_t n) {
    pthread_once(&chosen, choose);
    if (dot_f32_direct) return dot_f32_direct(a, b, n);
    float out;
    dot_f32(n, &out, a, b);
    return out;
}

int32_t tl_dot_i8(const int8_t *a, const int8_t *b, uint32_t n) {
    pthread_once(&chosen, choose);
    return dot_i8(a, b, n);
}
