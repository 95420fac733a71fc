/*
 * float_types.c — scalar reference rows of the type table for the plain
 * float types: f32, f16 and bf16 (conversion and dot product).
 *
 * Rows may come straight from a mapped GGUF file, so elements are read and
 * written with memcpy rather than through a typed pointer that might be
 * misaligned. Dot products sum in double, like ggml's scalar path
 * (ggml_float), and round once at the end.
 */
#include <stdint.h>
#include <string.h>

#include "tensor/quant_ref.h"
#include "tensor/types.h"

static float load_f32(const uint8_t *p) {
    float value;
    memcpy(&value, p, sizeof value);
    return value;
}

static uint16_t load_u16(const uint8_t *p) {
    uint16_t value;
    memcpy(&value, p, sizeof value);
    return value;
}

static void store_u16(uint8_t *p, uint16_t value) {
    memcpy(p, &value, sizeof value);
}

/* ---- f32 ---------------------------------------------------------------- */

void tl_f32_to_float(const void *src, float *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void tl_f32_from_float(const float *src, void *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void tl_vec_dot_f32(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(load_f32(xb + 4 * i) * load_f32(yb + 4 * i));
    *out = (float)sum;
}

/* ---- f16 ---------------------------------------------------------------- */

void tl_f16_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = tl_fp16_to_fp32(load_u16(s + 2 * i));
}

void tl_f16_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *d = dst;
    for (int64_t i = 0; i < n; i++) store_u16(d + 2 * i, tl_fp32_to_fp16(src[i]));
}

void tl_vec_dot_f16(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float product = tl_fp16_to_fp32(load_u16(xb + 2 * i)) * tl_fp16_to_fp32(load_u16(yb + 2 * i));
        sum += (double)product;
    }
    *out = (float)sum;
}

/* ---- bf16 --------------------------------------------------------------- */

void tl_bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = tl_bf16_to_fp32(load_u16(s + 2 * i));
}

void tl_bf16_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *d = dst;
    for (int64_t i = 0; i < n; i++) store_u16(d + 2 * i, tl_fp32_to_bf16(src[i]));
}

void tl_vec_dot_bf16(int64_t n, float *out, const void *x, const void *y) {
    const uint8_t *xb = x, *yb = y;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float product = tl_bf16_to_fp32(load_u16(xb + 2 * i)) * tl_bf16_to_fp32(load_u16(yb + 2 * i));
        sum += (double)product;
    }
    *out = (float)sum;
}
