/*
 * test_types_k.c — the K-quant rows of the type table (src/tensor/quant_k.c):
 * q2_k, q3_k, q4_k, q5_k, q6_k and the q8_k activation type.
 *
 * The acceptance check is tests/reference/kquants.json, written by
 * scripts/reference/kquant_vectors.sh from llama.cpp's own ggml: on the same
 * input rows, tinyllm's quantizers must give ggml's bytes, its
 * dequantization of ggml's bytes must give ggml's floats (compared through a
 * hash), and its dot products with ggml's q8_k activation must give ggml's
 * generic kernel's result. The file also holds hashes of ggml's results for
 * a "bulk" set of 4096 generated blocks (bulk_block, mirrored from
 * kquant_vectors.c), which reaches the rarely taken branches of ggml's scale
 * searches. Then properties on seeded random data: round-trip
 * error bounds, dot = dot of the dequantized rows, several blocks, unaligned
 * rows, zero blocks.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant_vectors.h"
#include "test_support.h"

#include "tensor/quant_ref.h"
#include "tensor/types.h"

/* The bulk generator below must not have its float steps fused (clang
 * contracts a * b + c on FMA targets by default). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

enum { QK_K = 256, Q8_K_BYTES = 292 };

static const tl_type k_types[] = {TL_TYPE_Q2_K, TL_TYPE_Q3_K, TL_TYPE_Q4_K, TL_TYPE_Q5_K, TL_TYPE_Q6_K};
#define N_K_TYPES (sizeof k_types / sizeof k_types[0])

/* ---- helpers ------------------------------------------------------------ */

static const tl_type_traits *traits(tl_type type) {
    const tl_type_traits *t = tl_type_traits_of((uint32_t)type);
    assert_non_null(t);
    return t;
}

static uint8_t *quantize_new(tl_type type, const float *x, int64_t n) {
    const tl_type_traits *t = traits(type);
    uint8_t *q = malloc(tl_type_row_bytes((uint32_t)type, n));
    assert_non_null(q);
    t->from_float(x, q, n);
    return q;
}

static bool hash_is(uint64_t h, const cJSON *item) {
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    return cJSON_IsString(item) && strcmp(hex, item->valuestring) == 0;
}

/* ---- the reference file ------------------------------------------------- */

typedef struct kquant_reference {
    cJSON *root;
    int n_rows, n_cols;
    float *input;      /* n_rows * n_cols */
    float *activation; /* n_cols */
    uint8_t *activation_q8_k;
} kquant_reference;

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes a hex string of exactly n bytes into out. */
static void decode_hex(const cJSON *item, uint8_t *out, size_t n) {
    assert_true(cJSON_IsString(item));
    const char *s = item->valuestring;
    assert_int_equal(strlen(s), 2 * n);
    for (size_t i = 0; i < n; i++) {
        const int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

static void decode_floats(const cJSON *item, float *out, size_t n) {
    uint8_t *bytes = malloc(4 * n);
    assert_non_null(bytes);
    decode_hex(item, bytes, 4 * n);
    for (size_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)bytes[4 * i] | ((uint32_t)bytes[4 * i + 1] << 8) |
                           ((uint32_t)bytes[4 * i + 2] << 16) | ((uint32_t)bytes[4 * i + 3] << 24);
        memcpy(&out[i], &u, sizeof u);
    }
    free(bytes);
}

static void load_reference(kquant_reference *ref) {
    size_t len = 0;
    char *text = tl_test_read_file(tl_test_source_path("tests/reference/kquants.json"), &len);
    assert_non_null(text);
    ref->root = cJSON_Parse(text);
    free(text);
    assert_non_null(ref->root);
    ref->n_rows = cJSON_GetObjectItem(ref->root, "n_rows")->valueint;
    ref->n_cols = cJSON_GetObjectItem(ref->root, "n_cols")->valueint;
    assert_true(ref->n_rows > 0 && ref->n_cols > 0 && ref->n_cols % QK_K == 0);
    const size_t n = (size_t)ref->n_cols;
    ref->input = malloc((size_t)ref->n_rows * n * sizeof(float));
    ref->activation = malloc(n * sizeof(float));
    ref->activation_q8_k = malloc(n / QK_K * Q8_K_BYTES);
    assert_true(ref->input && ref->activation && ref->activation_q8_k);
    const cJSON *rows = cJSON_GetObjectItem(ref->root, "input");
    assert_int_equal(cJSON_GetArraySize(rows), ref->n_rows);
    for (int r = 0; r < ref->n_rows; r++) decode_floats(cJSON_GetArrayItem(rows, r), ref->input + r * n, n);
    decode_floats(cJSON_GetObjectItem(ref->root, "activation"), ref->activation, n);
    decode_hex(cJSON_GetObjectItem(ref->root, "activation_q8_k"), ref->activation_q8_k, n / QK_K * Q8_K_BYTES);
}

static void free_reference(kquant_reference *ref) {
    cJSON_Delete(ref->root);
    free(ref->input);
    free(ref->activation);
    free(ref->activation_q8_k);
}

/* The entry of "types" for a type (named as in the table), with ggml's
 * bytes of every row decoded into a fresh buffer (row r at r * row_bytes). */
static const cJSON *reference_type(const kquant_reference *ref, tl_type type, uint8_t **bytes_out) {
    const char *name = traits(type)->name;
    const size_t row_bytes = tl_type_row_bytes((uint32_t)type, ref->n_cols);
    const cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItem(ref->root, "types")) {
        if (strcmp(cJSON_GetObjectItem(entry, "name")->valuestring, name) != 0) continue;
        const cJSON *rows = cJSON_GetObjectItem(entry, "bytes");
        assert_int_equal(cJSON_GetArraySize(rows), ref->n_rows);
        uint8_t *bytes = malloc((size_t)ref->n_rows * row_bytes);
        assert_non_null(bytes);
        for (int r = 0; r < ref->n_rows; r++) decode_hex(cJSON_GetArrayItem(rows, r), bytes + r * row_bytes, row_bytes);
        *bytes_out = bytes;
        return entry;
    }
    fail_msg("type %s missing from kquants.json", name);
    return NULL;
}

/* ---- the table ---------------------------------------------------------- */

static void test_k_rows_match_ggml_layouts(void **state) {
    (void)state;
    static const struct {
        tl_type type;
        size_t block_bytes;
    } layout[] = {
        {TL_TYPE_Q2_K, 16 + 64 + 2 + 2},       {TL_TYPE_Q3_K, 32 + 64 + 12 + 2},  {TL_TYPE_Q4_K, 2 + 2 + 12 + 128},
        {TL_TYPE_Q5_K, 2 + 2 + 12 + 32 + 128}, {TL_TYPE_Q6_K, 128 + 64 + 16 + 2}, {TL_TYPE_Q8_K, 4 + 256 + 2 * 16},
    };
    for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
        const tl_type_traits *t = traits(layout[i].type);
        assert_int_equal(t->block_size, QK_K);
        assert_int_equal(t->block_bytes, layout[i].block_bytes);
        assert_true(t->is_quantized);
        assert_int_equal(t->vec_dot_type, TL_TYPE_Q8_K);
        assert_non_null(t->to_float);
        assert_non_null(t->from_float);
        assert_int_equal(tl_type_row_bytes((uint32_t)layout[i].type, 3 * QK_K), 3 * layout[i].block_bytes);
        /* Weight types are computable; q8_k is activation-only (no vec_dot). */
        assert_int_equal(tl_type_is_supported((uint32_t)layout[i].type), layout[i].type != TL_TYPE_Q8_K);
    }
}

/* ---- against llama.cpp -------------------------------------------------- */

/* Names the first differing byte, to make a mismatch readable. */
static void assert_bytes_equal(const uint8_t *got, const uint8_t *expected, size_t n, const char *what, int row) {
    for (size_t i = 0; i < n; i++)
        if (got[i] != expected[i])
            fail_msg("%s row %d: byte %zu is %02x, llama.cpp wrote %02x", what, row, i, got[i], expected[i]);
}

static void test_k_quantizers_give_llama_cpp_bytes(void **state) {
    (void)state;
    kquant_reference ref;
    load_reference(&ref);
    static const tl_type all[] = {TL_TYPE_Q2_K, TL_TYPE_Q3_K, TL_TYPE_Q4_K, TL_TYPE_Q5_K, TL_TYPE_Q6_K, TL_TYPE_Q8_K};
    for (size_t t = 0; t < sizeof all / sizeof all[0]; t++) {
        uint8_t *expected;
        reference_type(&ref, all[t], &expected);
        const size_t row_bytes = tl_type_row_bytes((uint32_t)all[t], ref.n_cols);
        uint8_t *got = malloc(row_bytes);
        assert_non_null(got);
        for (int r = 0; r < ref.n_rows; r++) {
            memset(got, 0xa5, row_bytes); /* every byte must be written */
            traits(all[t])->from_float(ref.input + (size_t)r * ref.n_cols, got, ref.n_cols);
            assert_bytes_equal(got, expected + r * row_bytes, row_bytes, traits(all[t])->name, r);
        }
        free(got);
        free(expected);
    }
    /* The activation row too (the q8_k quantizer used before every K dot). */
    uint8_t *act = quantize_new(TL_TYPE_Q8_K, ref.activation, ref.n_cols);
    assert_bytes_equal(act, ref.activation_q8_k, (size_t)ref.n_cols / QK_K * Q8_K_BYTES, "activation q8_k", 0);
    free(act);
    free_reference(&ref);
}

static void test_k_dequantization_matches_llama_cpp(void **state) {
    (void)state;
    kquant_reference ref;
    load_reference(&ref);
    static const tl_type all[] = {TL_TYPE_Q2_K, TL_TYPE_Q3_K, TL_TYPE_Q4_K, TL_TYPE_Q5_K, TL_TYPE_Q6_K, TL_TYPE_Q8_K};
    float *y = malloc((size_t)ref.n_cols * sizeof *y);
    assert_non_null(y);
    for (size_t t = 0; t < sizeof all / sizeof all[0]; t++) {
        uint8_t *bytes;
        const cJSON *entry = reference_type(&ref, all[t], &bytes);
        const cJSON *hashes = cJSON_GetObjectItem(entry, "dequant_fnv1a64");
        const size_t row_bytes = tl_type_row_bytes((uint32_t)all[t], ref.n_cols);
        for (int r = 0; r < ref.n_rows; r++) {
            traits(all[t])->to_float(bytes + r * row_bytes, y, ref.n_cols);
            char hex[17];
            snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hash_floats(y, (size_t)ref.n_cols));
            if (strcmp(hex, cJSON_GetArrayItem(hashes, r)->valuestring) != 0)
                fail_msg("%s row %d: dequantized floats differ from llama.cpp's", traits(all[t])->name, r);
        }
        free(bytes);
    }
    free(y);
    free_reference(&ref);
}

/* vec_dot of ggml's weight bytes with ggml's q8_k activation, against
 * ggml's generic kernel: the same formula and summation order, so equal to
 * within 1e-6 relative (in practice bit for bit). */
static void test_k_vec_dot_matches_llama_cpp(void **state) {
    (void)state;
    kquant_reference ref;
    load_reference(&ref);
    int bit_exact = 0, total = 0;
    for (size_t t = 0; t < N_K_TYPES; t++) {
        uint8_t *bytes;
        const cJSON *entry = reference_type(&ref, k_types[t], &bytes);
        const cJSON *values = cJSON_GetObjectItem(entry, "vec_dot");
        const cJSON *value_bits = cJSON_GetObjectItem(entry, "vec_dot_bits");
        const size_t row_bytes = tl_type_row_bytes((uint32_t)k_types[t], ref.n_cols);
        for (int r = 0; r < ref.n_rows; r++) {
            float got = NAN;
            traits(k_types[t])->vec_dot(ref.n_cols, &got, bytes + r * row_bytes, ref.activation_q8_k);
            const double expected = cJSON_GetArrayItem(values, r)->valuedouble;
            if (!(fabs(got - expected) <= 1e-6 * fabs(expected) + 1e-12))
                fail_msg("%s row %d: vec_dot %.9g, llama.cpp %.9g", traits(k_types[t])->name, r, got, expected);
            char hex[9];
            snprintf(hex, sizeof hex, "%08x", (unsigned)bits_of(got));
            bit_exact += strcmp(hex, cJSON_GetArrayItem(value_bits, r)->valuestring) == 0;
            total++;
        }
        free(bytes);
    }
    print_message("vec_dot: %d of %d results bit-identical to llama.cpp's\n", bit_exact, total);
    free_reference(&ref);
}

/* ---- the bulk set ------------------------------------------------------- */

enum { BULK_BLOCKS = 4096 };

/* The generator of scripts/reference/kquant_vectors.c, step for step: only
 * integer arithmetic and exact (or correctly rounded, one per statement)
 * float operations, so it gives the same floats on every IEEE machine. */
static float exact_uniform(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    const uint32_t r = (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
    return (float)(int32_t)r * 0x1p-31f;
}

static void bulk_block(int b, float *x, float *activation) {
    uint64_t state = 0x51ed270b27a3c4d5ull ^ ((uint64_t)b * 0x9e3779b97f4a7c15ull);
    if (!state) state = 1;
    for (int i = 0; i < QK_K; i++) {
        const int group = i / 16;
        const float u = exact_uniform(&state);
        const float u2 = exact_uniform(&state);
        const float u3 = exact_uniform(&state);
        const uint32_t r = (uint32_t)(exact_uniform(&state) * 0x1p30f + 0x1p30f);
        float v;
        switch (b % 8) {
        case 0:
            v = u + u2;
            v = v + u3;
            v = v * 0x1p-5f;
            if (r % 61 == 0) v = v * 8.0f;
            break;
        case 1: v = ldexpf(u, (group * 7 + b) % 36 - 30); break;
        case 2: v = (float)((int)(r % 17) - 8) * 0.125f; break;
        case 3: v = r % 4 == 0 ? 0.0f : u; break;
        case 4:
            v = u * 0.01f;
            v = v + 0.3f;
            break;
        case 5:
            v = u * u;
            v = v * u;
            v = v * u;
            v = v * u;
            v = v * 100.0f;
            break;
        case 6: v = group % 3 == 0 ? 1.5f : group % 3 == 1 ? u * -0.5f : 0.0f; break;
        default: v = (float)((int)(r % 81) - 40); break;
        }
        x[i] = v;
        float a = u2 + u3;
        a = a * 0.5f;
        activation[i] = a;
    }
}

/* Every type on 4096 generated blocks (mixed distributions: ties, sparse,
 * constant groups, tiny and huge groups, heavy tails) against ggml's hashes:
 * quantized bytes and dequantized floats bit for bit, dot products summed to
 * within 1e-6 of their total magnitude. */
static void test_k_bulk_blocks_match_llama_cpp(void **state) {
    (void)state;
    kquant_reference ref;
    load_reference(&ref);
    const cJSON *bulk = cJSON_GetObjectItem(ref.root, "bulk");
    assert_int_equal(cJSON_GetObjectItem(bulk, "blocks")->valueint, BULK_BLOCKS);
    static const tl_type all[] = {TL_TYPE_Q2_K, TL_TYPE_Q3_K, TL_TYPE_Q4_K, TL_TYPE_Q5_K, TL_TYPE_Q6_K, TL_TYPE_Q8_K};
    enum { N_ALL = sizeof all / sizeof all[0] };
    uint64_t input_hash = fnv_start, byte_hash[N_ALL], dequant_hash[N_ALL], dot_hash[N_ALL];
    double dot_sum[N_ALL] = {0};
    for (int t = 0; t < N_ALL; t++) byte_hash[t] = dequant_hash[t] = dot_hash[t] = fnv_start;
    static float x[QK_K], activation[QK_K], y[QK_K];
    static uint8_t q[Q8_K_BYTES], activation_q8_k[Q8_K_BYTES];
    for (int b = 0; b < BULK_BLOCKS; b++) {
        bulk_block(b, x, activation);
        input_hash = hash_floats_from(input_hash, x, QK_K);
        input_hash = hash_floats_from(input_hash, activation, QK_K);
        tl_q8_k_from_float(activation, activation_q8_k, QK_K);
        for (int t = 0; t < N_ALL; t++) {
            const tl_type_traits *tr = traits(all[t]);
            tr->from_float(x, q, QK_K);
            byte_hash[t] = hash_bytes(byte_hash[t], q, tr->block_bytes);
            tr->to_float(q, y, QK_K);
            dequant_hash[t] = hash_floats_from(dequant_hash[t], y, QK_K);
            if (tr->vec_dot) {
                float dot;
                tr->vec_dot(QK_K, &dot, q, activation_q8_k);
                dot_hash[t] = hash_floats_from(dot_hash[t], &dot, 1);
                dot_sum[t] += dot;
            }
        }
    }
    if (!hash_is(input_hash, cJSON_GetObjectItem(bulk, "input_fnv1a64")))
        fail_msg("the bulk generator no longer matches kquant_vectors.c");
    int dots_bit_exact = 0;
    for (int t = 0; t < N_ALL; t++) {
        const char *name = traits(all[t])->name;
        const cJSON *entry = cJSON_GetArrayItem(cJSON_GetObjectItem(bulk, "types"), t);
        assert_string_equal(cJSON_GetObjectItem(entry, "name")->valuestring, name);
        if (!hash_is(byte_hash[t], cJSON_GetObjectItem(entry, "bytes_fnv1a64")))
            fail_msg("%s: quantized bulk blocks differ from llama.cpp's", name);
        if (!hash_is(dequant_hash[t], cJSON_GetObjectItem(entry, "dequant_fnv1a64")))
            fail_msg("%s: dequantized bulk blocks differ from llama.cpp's", name);
        if (all[t] == TL_TYPE_Q8_K) continue;
        const double expected = cJSON_GetObjectItem(entry, "vec_dot_sum")->valuedouble;
        const double magnitude = cJSON_GetObjectItem(entry, "vec_dot_magnitude")->valuedouble;
        if (!(fabs(dot_sum[t] - expected) <= 1e-6 * magnitude))
            fail_msg("%s: bulk dot products sum to %.17g, llama.cpp's to %.17g", name, dot_sum[t], expected);
        dots_bit_exact += hash_is(dot_hash[t], cJSON_GetObjectItem(entry, "vec_dot_bits_fnv1a64"));
    }
    print_message("bulk: dot products of %d of %d types bit-identical to llama.cpp's\n", dots_bit_exact, N_ALL - 1);
    free_reference(&ref);
}

/* ---- hand-checked blocks ------------------------------------------------ */

/* x = (j mod 255) - 127: the largest magnitude is x_0 = -127, so q8_k has
 * iscale = -127 / -127 = 1, d = 1, q = x exactly and bsums the group sums. */
static void test_q8_k_hand_block(void **state) {
    (void)state;
    float x[QK_K], y[QK_K];
    for (int j = 0; j < QK_K; j++) x[j] = (float)(j % 255 - 127);
    uint8_t q[Q8_K_BYTES];
    tl_q8_k_from_float(x, q, QK_K);
    assert_memory_equal(q, "\x00\x00\x80\x3f", 4); /* 1.0f */
    for (int j = 0; j < QK_K; j++) assert_int_equal((int8_t)q[4 + j], j % 255 - 127);
    for (int g = 0; g < 16; g++) {
        int sum = 0;
        for (int j = 16 * g; j < 16 * g + 16; j++) sum += j % 255 - 127;
        assert_int_equal((int16_t)(q[260 + 2 * g] | (q[261 + 2 * g] << 8)), sum);
    }
    tl_q8_k_to_float(q, y, QK_K);
    assert_memory_equal(y, x, sizeof x);

    /* The scale takes the sign that maps the largest element to -127:
     * x_3 = 2 gives iscale = -63.5, d = -2/127, and the 0.5s become
     * round(-31.75) = -32. */
    for (int j = 0; j < QK_K; j++) x[j] = j == 3 ? 2.0f : 0.5f;
    tl_q8_k_from_float(x, q, QK_K);
    float d;
    memcpy(&d, q, sizeof d);
    assert_true(d == 2.0f / -127.0f);
    assert_int_equal((int8_t)q[4], -32);
    assert_int_equal((int8_t)q[4 + 3], -127);
}

/* A block of ones: every q6_k sub-block's search settles on scale -1/32
 * (level -32), so the super-block scale is 1/4096 (f16 0x0c00), each
 * sub-block scale -128 and every 6-bit level 0: ones come back exactly. */
static void test_q6_k_hand_block(void **state) {
    (void)state;
    float x[QK_K], y[QK_K];
    for (int j = 0; j < QK_K; j++) x[j] = 1.0f;
    uint8_t expected[210] = {0};
    memset(expected + 192, 0x80, 16);
    expected[208] = 0x00;
    expected[209] = 0x0c;
    uint8_t q[210];
    tl_q6_k_from_float(x, q, QK_K);
    assert_memory_equal(q, expected, sizeof expected);
    tl_q6_k_to_float(q, y, QK_K);
    assert_memory_equal(y, x, sizeof x);
}

/* An all-zero super-block quantizes to all-zero bytes (no division by a
 * zero scale) and comes back as zeros, next to a non-zero block. */
static void test_zero_blocks_quantize_to_zero(void **state) {
    (void)state;
    float x[2 * QK_K] = {0}, y[2 * QK_K];
    x[QK_K + 5] = 0.5f; /* the second block is not zero */
    static const tl_type all[] = {TL_TYPE_Q2_K, TL_TYPE_Q3_K, TL_TYPE_Q4_K, TL_TYPE_Q5_K, TL_TYPE_Q6_K, TL_TYPE_Q8_K};
    for (size_t t = 0; t < sizeof all / sizeof all[0]; t++) {
        const tl_type_traits *tr = traits(all[t]);
        uint8_t *q = quantize_new(all[t], x, 2 * QK_K);
        tr->to_float(q, y, 2 * QK_K);
        for (int j = 0; j < QK_K; j++) assert_true(y[j] == 0.0f);
        for (size_t i = 0; i < tr->block_bytes; i++) assert_int_equal(q[i], 0);
        assert_true(y[QK_K + 5] > 0.4f && y[QK_K + 5] < 0.6f);
        free(q);
    }
}

/* ---- properties on random data ------------------------------------------ */

/* The largest error of any element, relative to the largest magnitude of
 * its super-block, seen over many seeded rows. q8_k's bound is exact (half
 * a step of d = amax/127); the others are measured worst cases with margin
 * (2-bit and 3-bit types trade large errors for small size). */
static double round_trip_bound(tl_type type) {
    switch (type) {
    case TL_TYPE_Q2_K: return 0.5;
    case TL_TYPE_Q3_K: return 0.3;
    case TL_TYPE_Q4_K: return 0.1;
    case TL_TYPE_Q5_K: return 0.06;
    case TL_TYPE_Q6_K: return 0.07;
    default: return 0.5 / 127 * 1.0001;
    }
}

static void test_round_trips_within_bounds(void **state) {
    (void)state;
    static const tl_type all[] = {TL_TYPE_Q2_K, TL_TYPE_Q3_K, TL_TYPE_Q4_K, TL_TYPE_Q5_K, TL_TYPE_Q6_K, TL_TYPE_Q8_K};
    double previous_squared_error = INFINITY;
    for (size_t t = 0; t < sizeof all / sizeof all[0]; t++) {
        const tl_type_traits *tr = traits(all[t]);
        double squared_error = 0;
        rng_seed(424242); /* the same rows for every type */
        for (int trial = 0; trial < 40; trial++) {
            const int64_t n = QK_K * (1 + trial % 4);
            float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
            assert_true(x && y);
            const float scale = powf(10.0f, (float)(trial % 7) - 3.0f);
            fill_random(x, n, scale);
            if (trial % 5 == 1)
                for (int64_t i = 0; i < n; i++) x[i] = fabsf(x[i]) + 0.3f * scale; /* all positive */
            uint8_t *q = quantize_new(all[t], x, n);
            tr->to_float(q, y, n);
            for (int64_t b = 0; b < n / QK_K; b++) {
                double amax = 0;
                for (int j = 0; j < QK_K; j++) amax = fmax(amax, fabs(x[b * QK_K + j]));
                for (int j = 0; j < QK_K; j++) {
                    const double err = fabs((double)x[b * QK_K + j] - y[b * QK_K + j]);
                    if (err > round_trip_bound(all[t]) * amax)
                        fail_msg("%s: error %g at element %d of a block with amax %g", tr->name, err, j, amax);
                    squared_error += (err / amax) * (err / amax);
                }
            }
            free(q);
            free(x);
            free(y);
        }
        /* More bits, smaller error: q2_k > q3_k > ... > q6_k > q8_k. */
        assert_true(squared_error < previous_squared_error);
        previous_squared_error = squared_error;
    }
}

/* vec_dot of x (quantized to `type`) with y (q8_k) equals the dot of the
 * dequantized rows summed in double, and does not depend on the rows'
 * alignment (GGUF data need not be aligned). */
static void check_dot(tl_type type, int64_t n) {
    const tl_type_traits *t = traits(type);
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    float *xd = malloc((size_t)n * sizeof *xd), *yd = malloc((size_t)n * sizeof *yd);
    assert_true(x && y && xd && yd);
    fill_random(x, n, 1.0f);
    fill_random(y, n, 0.5f);
    uint8_t *xq = quantize_new(type, x, n);
    uint8_t *yq = quantize_new(TL_TYPE_Q8_K, y, n);
    t->to_float(xq, xd, n);
    tl_q8_k_to_float(yq, yd, n);
    double reference = 0, magnitude = 0;
    for (int64_t i = 0; i < n; i++) {
        reference += (double)xd[i] * yd[i];
        magnitude += fabs((double)xd[i] * yd[i]);
    }
    float result = NAN;
    t->vec_dot(n, &result, xq, yq);
    if (!(fabs(result - reference) <= 1e-5 * magnitude + 1e-6))
        fail_msg("%s n=%lld: vec_dot %.9g, dequantized dot %.9g", t->name, (long long)n, result, reference);

    const size_t x_bytes = tl_type_row_bytes((uint32_t)type, n), y_bytes = tl_type_row_bytes(TL_TYPE_Q8_K, n);
    uint8_t *shifted_x = malloc(x_bytes + 1), *shifted_y = malloc(y_bytes + 3);
    assert_true(shifted_x && shifted_y);
    memcpy(shifted_x + 1, xq, x_bytes);
    memcpy(shifted_y + 3, yq, y_bytes);
    float shifted_result = NAN;
    t->vec_dot(n, &shifted_result, shifted_x + 1, shifted_y + 3);
    assert_int_equal(bits_of(shifted_result), bits_of(result));
    t->to_float(shifted_x + 1, yd, n);
    assert_memory_equal(yd, xd, (size_t)n * sizeof *xd);
    /* Quantizing from an unaligned source into an unaligned row is the same too. */
    float *shifted_src = malloc((size_t)n * sizeof *x + sizeof(float));
    assert_non_null(shifted_src);
    memcpy(shifted_src + 1, x, (size_t)n * sizeof *x);
    t->from_float(shifted_src + 1, shifted_x + 1, n);
    assert_memory_equal(shifted_x + 1, xq, x_bytes);

    free(shifted_src);
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
    static const int64_t sizes[] = {QK_K, 3 * QK_K, 16 * QK_K};
    rng_seed(7);
    for (size_t t = 0; t < N_K_TYPES; t++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) check_dot(k_types[t], sizes[s]);
}

/* The dot of several blocks is the sum of the per-block dots, up to float
 * rounding (ggml sums blocks in lanes, not block by block). */
static void test_vec_dot_adds_up_over_blocks(void **state) {
    (void)state;
    enum { N_BLOCKS = 5 };
    float x[N_BLOCKS * QK_K], y[N_BLOCKS * QK_K];
    rng_seed(99);
    fill_random(x, N_BLOCKS * QK_K, 0.3f);
    fill_random(y, N_BLOCKS * QK_K, 2.0f);
    uint8_t *yq = quantize_new(TL_TYPE_Q8_K, y, N_BLOCKS * QK_K);
    for (size_t t = 0; t < N_K_TYPES; t++) {
        const tl_type_traits *tr = traits(k_types[t]);
        uint8_t *xq = quantize_new(k_types[t], x, N_BLOCKS * QK_K);
        float whole;
        tr->vec_dot(N_BLOCKS * QK_K, &whole, xq, yq);
        double sum = 0, magnitude = 0;
        for (int b = 0; b < N_BLOCKS; b++) {
            float part;
            tr->vec_dot(QK_K, &part, xq + b * tr->block_bytes, yq + b * Q8_K_BYTES);
            sum += part;
            magnitude += fabs(part);
        }
        assert_true(fabs(whole - sum) <= 1e-6 * magnitude + 1e-6);
        free(xq);
    }
    free(yq);
}

/* q8_k's block sums are the sums of its 16-element groups, and its d has
 * the opposite sign of the largest-magnitude element. */
static void test_q8_k_block_sums(void **state) {
    (void)state;
    float x[4 * QK_K];
    rng_seed(5);
    fill_random(x, 4 * QK_K, 3.0f);
    uint8_t *q = quantize_new(TL_TYPE_Q8_K, x, 4 * QK_K);
    for (int b = 0; b < 4; b++) {
        const uint8_t *block = q + b * Q8_K_BYTES;
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += (int8_t)block[4 + 16 * g + j];
            assert_int_equal((int16_t)(block[260 + 2 * g] | (block[261 + 2 * g] << 8)), sum);
        }
    }
    free(q);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_k_rows_match_ggml_layouts),
        cmocka_unit_test(test_k_quantizers_give_llama_cpp_bytes),
        cmocka_unit_test(test_k_dequantization_matches_llama_cpp),
        cmocka_unit_test(test_k_vec_dot_matches_llama_cpp),
        cmocka_unit_test(test_k_bulk_blocks_match_llama_cpp),
        cmocka_unit_test(test_q8_k_hand_block),
        cmocka_unit_test(test_q6_k_hand_block),
        cmocka_unit_test(test_zero_blocks_quantize_to_zero),
        cmocka_unit_test(test_round_trips_within_bounds),
        cmocka_unit_test(test_vec_dot_equals_dot_of_dequantized_rows),
        cmocka_unit_test(test_vec_dot_adds_up_over_blocks),
        cmocka_unit_test(test_q8_k_block_sums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
