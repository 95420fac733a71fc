/*
 * dot.c — the dot products of the vector scan: float32 with AVX2 + FMA
 * (x86/avx2_dot.c) where the CPU has them, else through src/tensor's
 * kernels (the F32 vec_dot of the level chosen for this CPU); the scan's
 * int16 query x int8 rows with a scalar reference, AVX2
 * (x86/avx2_dot.c, used when the CPU has it) and NEON (baseline on
 * aarch64). tests/unit/test_search_query.c checks each against the
 * reference.
 *
 * int16 x int8 sums go by blocks of TL_DOT_BLOCK products: |q| <= 32767
 * and |x| <= 127, so a block's sum stays below 2^31 in any order, and the
 * blocks are added in 64 bits: exact for every dimension.
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
float tl_dot_f32_avx2(const float *a, const float *b, uint32_t n);
void tl_dot_i16_i8_rows_avx2(const int16_t *q, const int8_t *rows, uint32_t dim, uint32_t n_rows, int64_t *out);
#endif

float tl_dot_f32_scalar(const float *a, const float *b, uint32_t n) {
    float sum = 0;
    for (uint32_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

void tl_dot_i16_i8_rows_scalar(const int16_t *q, const int8_t *rows, uint32_t dim, uint32_t n_rows, int64_t *out) {
    for (uint32_t r = 0; r < n_rows; r++) {
        const int8_t *x = rows + (size_t)r * dim;
        int64_t sum = 0;
        for (uint32_t i = 0; i < dim; i++) sum += (int32_t)q[i] * x[i];
        out[r] = sum;
    }
}

#if defined(__aarch64__)
static void dot_i16_i8_rows_neon(const int16_t *q, const int8_t *rows, uint32_t dim, uint32_t n_rows, int64_t *out) {
    for (uint32_t r = 0; r < n_rows; r++) {
        const int8_t *x = rows + (size_t)r * dim;
        int64_t total = 0;
        uint32_t i = 0;
        while (i + 16 <= dim) {
            const uint32_t end = i + TL_DOT_BLOCK < dim ? i + TL_DOT_BLOCK : dim;
            int32x4_t acc0 = vdupq_n_s32(0), acc1 = vdupq_n_s32(0);
            for (; i + 16 <= end; i += 16) {
                const int8x16_t v = vld1q_s8(x + i);
                const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_s8(vget_high_s8(v));
                const int16x8_t q0 = vld1q_s16(q + i), q1 = vld1q_s16(q + i + 8);
                acc0 = vmlal_s16(acc0, vget_low_s16(lo), vget_low_s16(q0));
                acc1 = vmlal_s16(acc1, vget_high_s16(lo), vget_high_s16(q0));
                acc0 = vmlal_s16(acc0, vget_low_s16(hi), vget_low_s16(q1));
                acc1 = vmlal_s16(acc1, vget_high_s16(hi), vget_high_s16(q1));
            }
            total += vaddvq_s32(vaddq_s32(acc0, acc1));
        }
        for (; i < dim; i++) total += (int32_t)q[i] * x[i];
        out[r] = total;
    }
}

#endif

/* The kernels for this CPU, chosen once (pthread_once: the scan's threads
 * may be the first callers). */
static pthread_once_t chosen = PTHREAD_ONCE_INIT;
static tl_vec_dot_fn dot_f32;
static float (*dot_f32_direct)(const float *a, const float *b, uint32_t n); /* when set, used instead */
static void (*dot_i16_i8_rows)(const int16_t *q, const int8_t *rows, uint32_t dim, uint32_t n_rows,
                               int64_t *out) = tl_dot_i16_i8_rows_scalar;

static void choose(void) {
    dot_f32 = tl_kernels()->vec_dot[TL_TYPE_F32];
#if defined(TL_SEARCH_AVX2)
    if (tl_cpu_get_features()->avx2) dot_i16_i8_rows = tl_dot_i16_i8_rows_avx2;
    if (tl_cpu_get_features()->avx2 && tl_cpu_get_features()->fma) dot_f32_direct = tl_dot_f32_avx2;
#elif defined(__aarch64__)
    dot_i16_i8_rows = dot_i16_i8_rows_neon;
#endif
}

float tl_dot_f32(const float *a, const float *b, uint32_t n) {
    pthread_once(&chosen, choose);
    if (dot_f32_direct) return dot_f32_direct(a, b, n);
    float out;
    dot_f32(n, &out, a, b);
    return out;
}

void tl_dot_i16_i8_rows(const int16_t *q, const int8_t *rows, uint32_t dim, uint32_t n_rows, int64_t *out) {
    pthread_once(&chosen, choose);
    dot_i16_i8_rows(q, rows, dim, n_rows, out);
}
