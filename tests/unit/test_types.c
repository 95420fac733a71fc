/*
 * test_types.c — the type-trait table and the scalar reference conversions,
 * quantizers and dot products behind it (src/tensor/fp16.c, float_types.c,
 * quant_legacy.c).
 *
 * Checks known values (fp16/bf16 special cases, hand-derived blocks), golden
 * bytes of ggml's reference quantizers, round-trip error bounds and dot
 * products against the dot of the dequantized rows, on seeded random data.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "tinyllm.h"

#include "tensor/quant_ref.h"
#include "tensor/types.h"

/* ---- helpers ------------------------------------------------------------ */

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint16_t load_u16_le(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static const tl_type_traits *traits(tl_type type) {
    const tl_type_traits *t = tl_type_traits_of((uint32_t)type);
    assert_non_null(t);
    return t;
}

/* Quantize n floats into a fresh buffer of `type`. */
static uint8_t *quantize_new(tl_type type, const float *x, int64_t n) {
    const tl_type_traits *t = traits(type);
    uint8_t *q = malloc(tl_type_row_bytes((uint32_t)type, n));
    assert_non_null(q);
    assert_non_null(t->from_float);
    t->from_float(x, q, n);
    return q;
}

/* q8_1 has no to_float in the table (ggml has none either): d * q. */
static void dequantize_q8_1(const uint8_t *q, float *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, q += 36) {
        const float d = tl_fp16_to_fp32(load_u16_le(q));
        for (int j = 0; j < 32; j++) y[b * 32 + j] = (float)(int8_t)q[4 + j] * d;
    }
}

static void dequantize_any(tl_type type, const uint8_t *q, float *y, int64_t n) {
    if (type == TL_TYPE_Q8_1) {
        dequantize_q8_1(q, y, n);
        return;
    }
    traits(type)->to_float(q, y, n);
}

/* The types the reference implements, in table order. */
static const tl_type computable_types[] = {TL_TYPE_F32,  TL_TYPE_F16,  TL_TYPE_BF16, TL_TYPE_Q4_0,
                                           TL_TYPE_Q4_1, TL_TYPE_Q5_0, TL_TYPE_Q5_1, TL_TYPE_Q8_0};
#define N_COMPUTABLE (sizeof computable_types / sizeof computable_types[0])

/* ---- fp16 --------------------------------------------------------------- */

static void test_fp16_known_values(void **state) {
    (void)state;
    assert_int_equal(tl_fp32_to_fp16(0.0f), 0x0000);
    assert_int_equal(tl_fp32_to_fp16(-0.0f), 0x8000);
    assert_int_equal(tl_fp32_to_fp16(1.0f), 0x3c00);
    assert_int_equal(tl_fp32_to_fp16(-2.5f), 0xc100);
    assert_int_equal(tl_fp32_to_fp16(0.1f), 0x2e66);
    assert_int_equal(tl_fp32_to_fp16(1.0f / 3.0f), 0x3555);
    assert_int_equal(tl_fp32_to_fp16(65504.0f), 0x7bff);   /* largest half */
    assert_int_equal(tl_fp32_to_fp16(65519.996f), 0x7bff); /* just under the tie */
    assert_int_equal(tl_fp32_to_fp16(65520.0f), 0x7c00);   /* tie, to even = inf */
    assert_int_equal(tl_fp32_to_fp16(1e6f), 0x7c00);
    assert_int_equal(tl_fp32_to_fp16(-1e6f), 0xfc00);
    assert_int_equal(tl_fp32_to_fp16(INFINITY), 0x7c00);
    assert_int_equal(tl_fp32_to_fp16(-INFINITY), 0xfc00);
    assert_int_equal(tl_fp32_to_fp16(NAN), 0x7e00);
    assert_int_equal(tl_fp32_to_fp16(float_of(0xffc00001u)), 0xfe00); /* -NaN keeps its sign */
    assert_int_equal(tl_fp32_to_fp16(float_of(0x7f800001u)), 0x7e00); /* signalling -> quiet */
    /* Subnormal halves: steps of 2^-24. */
    assert_int_equal(tl_fp32_to_fp16(6e-5f), 0x03ef); /* 6e-5 / 2^-24 = 1006.6 */
    assert_int_equal(tl_fp32_to_fp16(ldexpf(1.0f, -24)), 0x0001);
    assert_int_equal(tl_fp32_to_fp16(ldexpf(1.0f, -25)), 0x0000); /* tie, to even = 0 */
    assert_int_equal(tl_fp32_to_fp16(ldexpf(1.0f, -25) * 1.0000001f), 0x0001);
    assert_int_equal(tl_fp32_to_fp16(ldexpf(3.0f, -25)), 0x0002);    /* 1.5 ulp: tie, to 2 */
    assert_int_equal(tl_fp32_to_fp16(ldexpf(1023.5f, -24)), 0x0400); /* rounds up to normal */
    assert_int_equal(tl_fp32_to_fp16(1e-8f), 0x0000);
    assert_int_equal(tl_fp32_to_fp16(-1e-8f), 0x8000);
    assert_int_equal(tl_fp32_to_fp16(float_of(0x00000001u)), 0x0000); /* float subnormal */
    /* Ties between normal halves go to the even mantissa. */
    assert_int_equal(tl_fp32_to_fp16(1.0f + ldexpf(1.0f, -11)), 0x3c00);
    assert_int_equal(tl_fp32_to_fp16(1.0f + ldexpf(3.0f, -11)), 0x3c02);
    assert_int_equal(tl_fp32_to_fp16(1.0f + ldexpf(1.0f, -11) + ldexpf(1.0f, -20)), 0x3c01);

    assert_true(tl_fp16_to_fp32(0x0000) == 0.0f && !signbit(tl_fp16_to_fp32(0x0000)));
    assert_true(tl_fp16_to_fp32(0x8000) == 0.0f && signbit(tl_fp16_to_fp32(0x8000)));
    assert_true(tl_fp16_to_fp32(0x3c00) == 1.0f);
    assert_true(tl_fp16_to_fp32(0x3555) == 0.333251953125f);
    assert_true(tl_fp16_to_fp32(0x7bff) == 65504.0f);
    assert_true(tl_fp16_to_fp32(0x0001) == ldexpf(1.0f, -24));
    assert_true(tl_fp16_to_fp32(0x03ff) == ldexpf(1023.0f, -24));
    assert_true(tl_fp16_to_fp32(0x0400) == ldexpf(1.0f, -14));
    assert_true(isinf(tl_fp16_to_fp32(0x7c00)) && tl_fp16_to_fp32(0x7c00) > 0);
    assert_true(isinf(tl_fp16_to_fp32(0xfc00)) && tl_fp16_to_fp32(0xfc00) < 0);
    assert_true(isnan(tl_fp16_to_fp32(0x7e00)));
    assert_int_equal(bits_of(tl_fp16_to_fp32(0x7c01)), 0x7fc02000u); /* sNaN comes back quiet */
}

/* Every half converts to float and back to itself (NaNs to a NaN). */
static void test_fp16_round_trips_every_half(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        const float f = tl_fp16_to_fp32((uint16_t)h);
        const uint16_t back = tl_fp32_to_fp16(f);
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0) {
            assert_true(isnan(f));
            assert_int_equal(back, (h & 0x8000u) | 0x7e00u);
        } else {
            assert_int_equal(back, h);
        }
    }
}

/* For every pair of neighbouring finite halves, the float midpoint rounds to
 * the even one and the floats just either side of it round to their side:
 * round-to-nearest-even over the whole range, subnormals included. */
static void test_fp16_rounds_to_nearest_even_everywhere(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 0x7bffu; h++) {
        for (uint32_t sign = 0; sign <= 0x8000u; sign += 0x8000u) {
            const float lo = tl_fp16_to_fp32((uint16_t)(h | sign));
            const float hi = tl_fp16_to_fp32((uint16_t)((h + 1) | sign));
            const float mid = (lo + hi) / 2; /* exact: 13 spare mantissa bits */
            const uint32_t even = (h & 1u) ? h + 1 : h;
            assert_int_equal(tl_fp32_to_fp16(mid), even | sign);
            assert_int_equal(tl_fp32_to_fp16(nextafterf(mid, lo)), h | sign);
            assert_int_equal(tl_fp32_to_fp16(nextafterf(mid, hi)), (h + 1) | sign);
        }
    }
}

/* ---- bf16 --------------------------------------------------------------- */

static void test_bf16_known_values(void **state) {
    (void)state;
    assert_int_equal(tl_fp32_to_bf16(0.0f), 0x0000);
    assert_int_equal(tl_fp32_to_bf16(-0.0f), 0x8000);
    assert_int_equal(tl_fp32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(tl_fp32_to_bf16(-2.5f), 0xc020);
    assert_int_equal(tl_fp32_to_bf16(0.1f), 0x3dcd);
    assert_int_equal(tl_fp32_to_bf16(1.0f / 3.0f), 0x3eab);
    assert_int_equal(tl_fp32_to_bf16(65504.0f), 0x4780);
    /* Ties to even, and just above a tie. */
    assert_int_equal(tl_fp32_to_bf16(float_of(0x3f808000u)), 0x3f80);
    assert_int_equal(tl_fp32_to_bf16(float_of(0x3f818000u)), 0x3f82);
    assert_int_equal(tl_fp32_to_bf16(float_of(0x3f808001u)), 0x3f81);
    assert_int_equal(tl_fp32_to_bf16(float_of(0x3f807fffu)), 0x3f80);
    /* Overflow rounds to infinity; infinities stay. */
    assert_int_equal(tl_fp32_to_bf16(3.4028235e38f), 0x7f80);
    assert_int_equal(tl_fp32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(tl_fp32_to_bf16(-INFINITY), 0xff80);
    /* Subnormals are kept (and rounded), not flushed. */
    assert_int_equal(tl_fp32_to_bf16(float_of(0x00010000u)), 0x0001);
    assert_int_equal(tl_fp32_to_bf16(float_of(0x00008000u)), 0x0000);
    assert_int_equal(tl_fp32_to_bf16(float_of(0x00018000u)), 0x0002);
    /* NaN: top bits kept, forced quiet. */
    assert_int_equal(tl_fp32_to_bf16(NAN), 0x7fc0);
    assert_int_equal(tl_fp32_to_bf16(float_of(0x7f800001u)), 0x7fc0);
    assert_int_equal(tl_fp32_to_bf16(float_of(0xff810000u)), 0xffc1);

    assert_true(tl_bf16_to_fp32(0x3f80) == 1.0f);
    assert_true(tl_bf16_to_fp32(0xc020) == -2.5f);
    assert_int_equal(bits_of(tl_bf16_to_fp32(0x7fc1)), 0x7fc10000u);
    for (uint32_t h = 0; h < 0x10000u; h++) {
        if ((h & 0x7f80u) == 0x7f80u && (h & 0x7fu) != 0) continue; /* NaN */
        assert_int_equal(tl_fp32_to_bf16(tl_bf16_to_fp32((uint16_t)h)), h);
    }
}

/* ---- hand-derived blocks ------------------------------------------------ */

/* x = j - 16 for j = 0..31. q4_0: the largest magnitude is -16, so
 * d = -16 / -8 = 2 (f16 0x4000), q = trunc(x/2 + 8.5) = floor((j + 1) / 2),
 * the last one (16) clamped to 15. Byte j holds q[j] | q[j + 16] << 4. */
static void test_q4_0_hand_block(void **state) {
    (void)state;
    float x[32], y[32];
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    static const uint8_t expected[18] = {0x00, 0x40, 0x80, 0x91, 0x91, 0xa2, 0xa2, 0xb3, 0xb3,
                                         0xc4, 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7, 0xf8};
    uint8_t q[18];
    tl_q4_0_from_float(x, q, 32);
    assert_memory_equal(q, expected, sizeof expected);
    /* Dequantized: (q - 8) * 2, i.e. x rounded to an even number (ties up),
     * except the clamped last value 15 -> 14. */
    tl_q4_0_to_float(q, y, 32);
    for (int j = 0; j < 32; j++) {
        const int level = j == 31 ? 15 : (j + 1) / 2;
        assert_true(y[j] == (float)((level - 8) * 2));
    }
    assert_true(y[0] == -16.0f && y[1] == -14.0f && y[2] == -14.0f && y[31] == 14.0f);
}

/* x = floor(j/2) - 8 (-8..7): q4_1 has min -8 (f16 0xc800), d = 15/15 = 1
 * (0x3c00), q = floor(j/2), exactly representable. */
static void test_q4_1_hand_block(void **state) {
    (void)state;
    float x[32], y[32];
    for (int j = 0; j < 32; j++) x[j] = (float)(j / 2 - 8);
    static const uint8_t expected[20] = {0x00, 0x3c, 0x00, 0xc8, 0x80, 0x80, 0x91, 0x91, 0xa2, 0xa2,
                                         0xb3, 0xb3, 0xc4, 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7};
    uint8_t q[20];
    tl_q4_1_from_float(x, q, 32);
    assert_memory_equal(q, expected, sizeof expected);
    tl_q4_1_to_float(q, y, 32);
    assert_memory_equal(y, x, sizeof x);
}

/* x = j - 16: q5_0 has d = -16 / -16 = 1, q = j; the fifth bits of j >= 16
 * fill the top half of qh (0xffff0000, little-endian), low nibbles j | j<<4. */
static void test_q5_hand_blocks(void **state) {
    (void)state;
    float x[32], y[32];
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    uint8_t expected0[22] = {0x00, 0x3c, 0x00, 0x00, 0xff, 0xff};
    uint8_t expected1[24] = {0x00, 0x3c, 0x00, 0xcc, 0x00, 0x00, 0xff, 0xff}; /* m = -16 */
    for (int j = 0; j < 16; j++) expected0[6 + j] = expected1[8 + j] = (uint8_t)(j | (j << 4));

    uint8_t q0[22], q1[24];
    tl_q5_0_from_float(x, q0, 32);
    assert_memory_equal(q0, expected0, sizeof expected0);
    tl_q5_0_to_float(q0, y, 32);
    assert_memory_equal(y, x, sizeof x);

    tl_q5_1_from_float(x, q1, 32); /* d = 31/31 = 1, q = j */
    assert_memory_equal(q1, expected1, sizeof expected1);
    tl_q5_1_to_float(q1, y, 32);
    assert_memory_equal(y, x, sizeof x);
}

/* x = j - 16 = k: q8 has d = 16/127 (f16 0x3008 = 0.1259765625) and
 * q = roundf(k * 127/16) = 8k - k/16 rounded: 8k for |k| < 8, ties at
 * k = +-8 away from zero (+-64), 8k+1 below, 8k-1 above, -127 for k = -16.
 * q8_1 adds s = d * sum(q) = 0.12598 * -127 = -16 (0xcc00). */
static void test_q8_hand_blocks(void **state) {
    (void)state;
    float x[32], y[32];
    int8_t levels[32];
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        const int k = j - 16;
        x[j] = (float)k;
        levels[j] = (int8_t)(k == -16 ? -127 : k < -8 ? 8 * k + 1 : k > 8 ? 8 * k - 1 : 8 * k);
        sum += levels[j];
    }
    assert_int_equal(sum, -127);
    uint8_t expected0[34] = {0x08, 0x30}, expected1[36] = {0x08, 0x30, 0x00, 0xcc};
    memcpy(expected0 + 2, levels, 32);
    memcpy(expected1 + 4, levels, 32);

    uint8_t q0[34], q1[36];
    tl_q8_0_from_float(x, q0, 32);
    assert_memory_equal(q0, expected0, sizeof expected0);
    tl_q8_1_from_float(x, q1, 32);
    assert_memory_equal(q1, expected1, sizeof expected1);
    tl_q8_0_to_float(q0, y, 32);
    for (int j = 0; j < 32; j++) assert_true(y[j] == (float)levels[j] * 0.1259765625f);

    /* With amax = 127 the scale is exactly 1, so x = k + 0.5 are exact ties:
     * roundf goes away from zero (not to even): 0.5 -> 1, 2.5 -> 3, -2.5 -> -3. */
    for (int j = 0; j < 32; j++) x[j] = j == 0 ? 127.0f : (float)(j - 16) + 0.5f;
    tl_q8_0_from_float(x, q0, 32);
    assert_int_equal(load_u16_le(q0), 0x3c00);
    assert_int_equal((int8_t)q0[2], 127);
    for (int j = 1; j < 32; j++) {
        const int k = j - 16;
        assert_int_equal((int8_t)q0[2 + j], k >= 0 ? k + 1 : k);
    }
}

/* ---- golden bytes from llama.cpp ---------------------------------------- */

/* x_j = ((37 j) mod 61 - 30) / 16: every type's block for this input, as
 * written by llama.cpp's ggml (quantize_row_*_ref in libggml-base, the build
 * that node-llama-cpp ships), byte for byte. */
static void test_quantizers_match_llama_cpp_golden_bytes(void **state) {
    (void)state;
    static const uint8_t golden_q4_0[18] = {0x80, 0x33, 0xb0, 0x5a, 0xf3, 0x9d, 0x27, 0xc1, 0x6a,
                                            0xf4, 0x9e, 0x37, 0xd1, 0x6b, 0xf5, 0xae, 0x38, 0xd2};
    static const uint8_t golden_q4_1[20] = {0x00, 0x34, 0x80, 0xbf, 0xb0, 0x59, 0xe3, 0x8d, 0x27, 0xb1,
                                            0x5a, 0xf4, 0x9d, 0x37, 0xc1, 0x6a, 0xf4, 0x9e, 0x38, 0xc2};
    static const uint8_t golden_q5_0[22] = {0x80, 0x2f, 0x4a, 0x69, 0xad, 0xb5, 0x70, 0xa4, 0xe7, 0x1b, 0x4e,
                                            0x81, 0xb5, 0xf8, 0x2c, 0x5f, 0x92, 0xc6, 0xf9, 0x3d, 0x60, 0xa3};
    static const uint8_t golden_q5_1[24] = {0xbe, 0x2f, 0x80, 0xbf, 0x4a, 0x69, 0xad, 0xb5, 0x60, 0xa3, 0xd7, 0x1a,
                                            0x4d, 0x71, 0xb4, 0xe8, 0x2b, 0x5e, 0x82, 0xc5, 0xf9, 0x3c, 0x60, 0x93};
    static const uint8_t golden_q8_0[34] = {0x8f, 0x23, 0x81, 0x1e, 0xb8, 0x55, 0xef, 0x89, 0x26, 0xc1, 0x5d, 0xf8,
                                            0x92, 0x2f, 0xc9, 0x66, 0x00, 0x9a, 0x37, 0xd1, 0x6e, 0x08, 0xa3, 0x3f,
                                            0xda, 0x77, 0x11, 0xab, 0x48, 0xe2, 0x7f, 0x19, 0xb4, 0x50};
    static const uint8_t golden_q8_1[36] = {0x8f, 0x23, 0xda, 0x36, 0x81, 0x1e, 0xb8, 0x55, 0xef, 0x89, 0x26, 0xc1,
                                            0x5d, 0xf8, 0x92, 0x2f, 0xc9, 0x66, 0x00, 0x9a, 0x37, 0xd1, 0x6e, 0x08,
                                            0xa3, 0x3f, 0xda, 0x77, 0x11, 0xab, 0x48, 0xe2, 0x7f, 0x19, 0xb4, 0x50};
    static const struct {
        tl_type type;
        const uint8_t *bytes;
        size_t size;
    } golden[] = {
        {TL_TYPE_Q4_0, golden_q4_0, sizeof golden_q4_0}, {TL_TYPE_Q4_1, golden_q4_1, sizeof golden_q4_1},
        {TL_TYPE_Q5_0, golden_q5_0, sizeof golden_q5_0}, {TL_TYPE_Q5_1, golden_q5_1, sizeof golden_q5_1},
        {TL_TYPE_Q8_0, golden_q8_0, sizeof golden_q8_0}, {TL_TYPE_Q8_1, golden_q8_1, sizeof golden_q8_1},
    };

    float x[32];
    for (int j = 0; j < 32; j++) x[j] = (float)((j * 37) % 61 - 30) / 16.0f;
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        assert_int_equal(traits(golden[i].type)->block_bytes, golden[i].size);
        uint8_t *q = quantize_new(golden[i].type, x, 32);
        assert_memory_equal(q, golden[i].bytes, golden[i].size);
        free(q);
    }

    /* The plain float types: per-element f16 / bf16 bytes, little-endian. */
    uint8_t row16[64];
    tl_f16_from_float(x, row16, 32);
    for (int j = 0; j < 32; j++) assert_int_equal(load_u16_le(row16 + 2 * j), tl_fp32_to_fp16(x[j]));
    assert_int_equal(load_u16_le(row16), 0xbf80); /* -1.875 */
    tl_bf16_from_float(x, row16, 32);
    assert_int_equal(load_u16_le(row16), 0xbff0);
}

/* ---- the table ---------------------------------------------------------- */

static void test_table_rows_match_ggml_layouts(void **state) {
    (void)state;
    static const struct {
        tl_type type;
        int64_t block_size;
        size_t block_bytes;
        tl_type vec_dot_type;
    } layout[] = {
        {TL_TYPE_F32, 1, 4, TL_TYPE_F32},
        {TL_TYPE_F16, 1, 2, TL_TYPE_F16},
        {TL_TYPE_BF16, 1, 2, TL_TYPE_BF16},
        {TL_TYPE_Q4_0, 32, 2 + 16, TL_TYPE_Q8_0},
        {TL_TYPE_Q4_1, 32, 2 + 2 + 16, TL_TYPE_Q8_1},
        {TL_TYPE_Q5_0, 32, 2 + 4 + 16, TL_TYPE_Q8_0},
        {TL_TYPE_Q5_1, 32, 2 + 2 + 4 + 16, TL_TYPE_Q8_1},
        {TL_TYPE_Q8_0, 32, 2 + 32, TL_TYPE_Q8_0},
        {TL_TYPE_Q8_1, 32, 2 + 2 + 32, TL_TYPE_Q8_1},
    };
    for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
        const tl_type_traits *t = traits(layout[i].type);
        assert_int_equal(t->block_size, layout[i].block_size);
        assert_int_equal(t->block_bytes, layout[i].block_bytes);
        assert_int_equal(t->vec_dot_type, layout[i].vec_dot_type);
        assert_int_equal(t->is_quantized, layout[i].block_size > 1);
        assert_non_null(t->from_float);
        assert_int_equal(tl_type_row_bytes((uint32_t)layout[i].type, 32 * 13),
                         (size_t)(32 * 13 / layout[i].block_size) * layout[i].block_bytes);
    }
    for (size_t i = 0; i < N_COMPUTABLE; i++) assert_true(tl_type_is_supported((uint32_t)computable_types[i]));
    assert_false(tl_type_is_supported(TL_TYPE_Q8_1));  /* activation-only type */
    assert_false(tl_type_is_supported(TL_TYPE_MXFP4)); /* recognised, not computed with */
    assert_null(tl_type_traits_of(4));
    assert_null(tl_type_traits_of(31));
    assert_null(tl_type_traits_of(TL_TYPE_COUNT));
    assert_null(tl_type_traits_of(1000));
}

/* Every row that can be read can also be written, and reading back what was
 * written stays within the type's error bound (per block, from its scale). */
static void test_every_row_round_trips_within_its_bound(void **state) {
    (void)state;
    static const int64_t sizes[] = {32, 32 * 7, 32 * 13};
    rng_seed(20240501);
    for (uint32_t id = 0; id < TL_TYPE_COUNT; id++) {
        const tl_type_traits *t = tl_type_traits_of(id);
        if (!t || !t->to_float || (t->block_size != 32 && t->block_size != 1)) continue; /* K types: test_types_k.c */
        assert_non_null(t->from_float);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const int64_t n = sizes[s];
            float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
            assert_true(x && y);
            fill_random(x, n, 0.7f);
            uint8_t *q = quantize_new((tl_type)id, x, n);
            t->to_float(q, y, n);
            for (int64_t b = 0; b < n / 32; b++) {
                float amax = 0, min = x[b * 32], max = x[b * 32];
                for (int j = 0; j < 32; j++) {
                    const float v = x[b * 32 + j];
                    amax = fmaxf(amax, fabsf(v));
                    min = fminf(min, v);
                    max = fmaxf(max, v);
                }
                /* The scale is stored as f16 (relative error 2^-11), which
                 * moves the top level by up to levels * d * 2^-11. */
                const float f16_eps = 1.0f / 2048;
                float bound;
                switch (id) {
                case TL_TYPE_Q4_0: bound = amax / 8 * (1 + 8 * f16_eps); break; /* clamp: one step */
                case TL_TYPE_Q5_0: bound = amax / 16 * (1 + 16 * f16_eps); break;
                case TL_TYPE_Q8_0: bound = amax / 127 * (0.5f + 127 * f16_eps); break;
                /* non-linear levels: gaps up to 24 steps of amax / 127, and
                 * the far side ends at 113 (the refit scale moves both) */
                case TL_TYPE_IQ4_NL: bound = amax / 127 * 16; break;
                case TL_TYPE_Q4_1: bound = (max - min) / 15 * (0.5f + 15 * f16_eps) + fabsf(min) * f16_eps; break;
                case TL_TYPE_Q5_1: bound = (max - min) / 31 * (0.5f + 31 * f16_eps) + fabsf(min) * f16_eps; break;
                default: bound = 0; break; /* plain types: per element below */
                }
                for (int j = 0; j < 32; j++) {
                    const int64_t i = b * 32 + j;
                    const float err = fabsf(x[i] - y[i]);
                    if (id == TL_TYPE_F32)
                        assert_true(err == 0);
                    else if (id == TL_TYPE_F16)
                        assert_true(err <= fabsf(x[i]) / 2048);
                    else if (id == TL_TYPE_BF16)
                        assert_true(err <= fabsf(x[i]) / 256);
                    else
                        assert_true(err <= bound * 1.0001f + 1e-7f);
                }
            }
            free(q);
            free(x);
            free(y);
        }
    }
}

/* A block of zeros quantizes to zeros (d = 0, no division by zero). */
static void test_zero_blocks_quantize_to_zero(void **state) {
    (void)state;
    float x[64] = {0}, y[64];
    for (size_t i = 0; i < N_COMPUTABLE; i++) {
        uint8_t *q = quantize_new(computable_types[i], x, 64);
        traits(computable_types[i])->to_float(q, y, 64);
        for (int j = 0; j < 64; j++) assert_true(y[j] == 0.0f);
        free(q);
    }
}

/* ---- dot products ------------------------------------------------------- */

/* Dot of x (quantized to `type`) with y (quantized to its vec_dot_type)
 * equals the dot of the dequantized rows, summed in double. For q4_1/q5_1
 * the reference, like ggml, uses the stored f16 s = d * sum(q) of each q8_1
 * block in place of d * sum(q): the min term is m * s. */
static void check_dot(tl_type type, int64_t n) {
    const tl_type_traits *t = traits(type);
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    float *xd = malloc((size_t)n * sizeof *xd), *yd = malloc((size_t)n * sizeof *yd);
    assert_true(x && y && xd && yd);
    fill_random(x, n, 1.0f);
    fill_random(y, n, 0.5f);
    uint8_t *xq = quantize_new(type, x, n);
    uint8_t *yq = quantize_new(t->vec_dot_type, y, n);
    t->to_float(xq, xd, n);
    dequantize_any(t->vec_dot_type, yq, yd, n);

    double reference = 0, magnitude = 0;
    for (int64_t i = 0; i < n; i++) {
        reference += (double)xd[i] * yd[i];
        magnitude += fabs((double)xd[i] * yd[i]);
    }
    if (type == TL_TYPE_Q4_1 || type == TL_TYPE_Q5_1) {
        for (int64_t b = 0; b < n / 32; b++) {
            const uint8_t *xb = xq + b * t->block_bytes, *yb = yq + b * 36;
            const double m = tl_fp16_to_fp32(load_u16_le(xb + 2));
            const double d = tl_fp16_to_fp32(load_u16_le(yb)), s = tl_fp16_to_fp32(load_u16_le(yb + 2));
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += (int8_t)yb[4 + j];
            reference += m * (s - d * sum);
        }
    }
    float result = NAN;
    t->vec_dot(n, &result, xq, yq);
    assert_true(fabs(result - reference) <= 1e-5 * magnitude + 1e-6);

    /* The same rows at an odd address (GGUF data need not be aligned). */
    uint8_t *shifted_x = malloc(tl_type_row_bytes((uint32_t)type, n) + 1);
    uint8_t *shifted_y = malloc(tl_type_row_bytes((uint32_t)t->vec_dot_type, n) + 3);
    assert_true(shifted_x && shifted_y);
    memcpy(shifted_x + 1, xq, tl_type_row_bytes((uint32_t)type, n));
    memcpy(shifted_y + 3, yq, tl_type_row_bytes((uint32_t)t->vec_dot_type, n));
    float shifted_result = NAN;
    t->vec_dot(n, &shifted_result, shifted_x + 1, shifted_y + 3);
    assert_int_equal(bits_of(shifted_result), bits_of(result));
    t->to_float(shifted_x + 1, yd, n);
    assert_memory_equal(yd, xd, (size_t)n * sizeof *xd);

    free(shifted_x);
    free(shifted_y);
    free(xq);
    free(yq);
    free(x);
    free(y);
    free(xd);
    free(yd);
}

static void test_vec_dot_equals_dot_of_dequantized_rows(void **state) {
    (void)state;
    static const int64_t sizes[] = {32, 32 * 7, 32 * 13, 4096};
    rng_seed(7);
    for (size_t i = 0; i < N_COMPUTABLE; i++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) check_dot(computable_types[i], sizes[s]);
    /* Plain types also take lengths that are not multiples of 32. */
    check_dot(TL_TYPE_F32, 1);
    check_dot(TL_TYPE_F16, 45);
    check_dot(TL_TYPE_BF16, 77);
}

/* A hand-checked dot: q8_0 of the ramp x = j - 16 with itself is
 * sum(q^2) * d^2, with q and d from test_q8_hand_blocks. */
static void test_q8_0_dot_hand_value(void **state) {
    (void)state;
    float x[32];
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    uint8_t q[34];
    tl_q8_0_from_float(x, q, 32);
    int sum_squares = 0;
    for (int j = 0; j < 32; j++) sum_squares += (int8_t)q[2 + j] * (int8_t)q[2 + j];
    float result;
    tl_vec_dot_q8_0_q8_0(32, &result, q, q);
    assert_true(result == (float)sum_squares * (0.1259765625f * 0.1259765625f));
    assert_true(fabsf(result - 2736.0f) < 2736.0f * 2e-3f); /* sum (j-16)^2 = 2736 */
}

/* Type names in any case: "F32", "Q8_0" as llama.cpp's tools print them. */
static void test_type_names_are_case_insensitive(void **state) {
    (void)state;
    assert_int_equal(tl_type_from_name("f32"), TL_TYPE_F32);
    assert_int_equal(tl_type_from_name("F32"), TL_TYPE_F32);
    assert_int_equal(tl_type_from_name("Q8_0"), TL_TYPE_Q8_0);
    assert_int_equal(tl_type_from_name("q4_K"), TL_TYPE_Q4_K);
    assert_int_equal(tl_type_from_name("BF16"), TL_TYPE_BF16);
    assert_int_equal(tl_type_from_name("Q4_K_M"), -1); /* a file type, not a tensor type */
    assert_int_equal(tl_type_from_name("f3"), -1);
    assert_string_equal(tl_type_name(TL_TYPE_Q8_0), "q8_0");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16_known_values),
        cmocka_unit_test(test_fp16_round_trips_every_half),
        cmocka_unit_test(test_fp16_rounds_to_nearest_even_everywhere),
        cmocka_unit_test(test_bf16_known_values),
        cmocka_unit_test(test_q4_0_hand_block),
        cmocka_unit_test(test_q4_1_hand_block),
        cmocka_unit_test(test_q5_hand_blocks),
        cmocka_unit_test(test_q8_hand_blocks),
        cmocka_unit_test(test_quantizers_match_llama_cpp_golden_bytes),
        cmocka_unit_test(test_table_rows_match_ggml_layouts),
        cmocka_unit_test(test_every_row_round_trips_within_its_bound),
        cmocka_unit_test(test_zero_blocks_quantize_to_zero),
        cmocka_unit_test(test_vec_dot_equals_dot_of_dequantized_rows),
        cmocka_unit_test(test_q8_0_dot_hand_value),
        cmocka_unit_test(test_type_names_are_case_insensitive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
