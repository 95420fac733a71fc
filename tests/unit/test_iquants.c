/*
 * test_iquants.c — the i-quant and ternary rows of the type table
 * (src/tensor/quant_iq.c, quant_iq4.c, quant_ternary.c): iq4_nl, iq4_xs,
 * iq3_s, iq3_xxs, iq2_s, iq2_xs, iq2_xxs, iq1_s, iq1_m, tq1_0, tq2_0.
 *
 * The acceptance check is tests/reference/iquants.json, written by
 * scripts/reference/iquant_vectors.sh from llama.cpp's own ggml:
 *   - tinyllm's dequantization of ggml's bytes gives ggml's floats bit for
 *     bit (compared through a hash), on ggml-quantized rows and on a
 *     "random" set of generated blocks (iq_random_block, shared with
 *     iquant_vectors.c) that reaches every index, sign and scale bit;
 *   - its dot products with ggml's q8_K / q8_0 activations give ggml's
 *     generic kernels' results (within 1e-6 relative, as the K-quant test;
 *     the bit-identical count is printed);
 *   - its iq4_nl / iq4_xs quantizers give quantize_row_iq4_*_ref's bytes.
 * Then properties: dot = dot of the dequantized rows, unaligned rows; and
 * end to end: a model whose matrices are of each type (random blocks) loads
 * and gives the logits of the same model with those weights dequantized to
 * f32; a `synth --type iq4_xs` model loads, generates, and its logits stay
 * close to the same model's in f32.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant_vectors.h"
#include "test_support.h"

#include "authoring/gguf_writer.h"
#include "authoring/synth.h"
#include "format/gguf.h"
#include "tensor/quant_ref.h"
#include "tensor/types.h"

enum { QK = 32, QK_K = 256, Q8_K_BYTES = 292, Q8_0_BYTES = 34 };

/* In the order of iquant_vectors.c's table (the random set is seeded by it). */
static const struct {
    tl_type type;
    int d_offset; /* of the f16 scale, for iq_random_block */
} iq_types[] = {
    {TL_TYPE_IQ4_NL, 0},  {TL_TYPE_IQ4_XS, 0}, {TL_TYPE_IQ3_S, 0},
    {TL_TYPE_IQ3_XXS, 0}, {TL_TYPE_IQ2_S, 0},  {TL_TYPE_IQ2_XS, 0},
    {TL_TYPE_IQ2_XXS, 0}, {TL_TYPE_IQ1_S, 0},  {TL_TYPE_IQ1_M, IQ_RANDOM_IQ1_M},
    {TL_TYPE_TQ1_0, 52},  {TL_TYPE_TQ2_0, 64},
};
#define N_IQ_TYPES (sizeof iq_types / sizeof iq_types[0])

/* ---- helpers ------------------------------------------------------------ */

static const tl_type_traits *traits(tl_type type) {
    const tl_type_traits *t = tl_type_traits_of((uint32_t)type);
    assert_non_null(t);
    return t;
}

static bool hash_is(uint64_t h, const cJSON *item) {
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    return cJSON_IsString(item) && strcmp(hex, item->valuestring) == 0;
}

static bool float_bits_are(float f, const cJSON *item) {
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", (unsigned)bits_of(f));
    return cJSON_IsString(item) && strcmp(hex, item->valuestring) == 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    fail_msg("bad hex digit '%c'", c);
    return 0;
}

static void decode_hex(const cJSON *item, uint8_t *out, size_t n) {
    assert_true(cJSON_IsString(item));
    const char *s = item->valuestring;
    assert_int_equal(strlen(s), 2 * n);
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(hex_digit(s[2 * i]) << 4 | hex_digit(s[2 * i + 1]));
}

static void decode_floats(const cJSON *item, float *out, size_t n) {
    uint8_t *bytes = malloc(4 * n);
    assert_non_null(bytes);
    decode_hex(item, bytes, 4 * n);
    for (size_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 | (uint32_t)bytes[4 * i + 2] << 16 |
                           (uint32_t)bytes[4 * i + 3] << 24;
        memcpy(&out[i], &u, 4);
    }
    free(bytes);
}

static bool close_enough(double got, double expected, double magnitude) {
    return fabs(got - expected) <= 1e-6 * magnitude + 1e-12;
}

/* ---- the reference file --------------------------------------------------- */

typedef struct iquant_reference {
    cJSON *root;
    int n_rows, n_cols;
    float *input;
    uint8_t *activation_q8_k, *activation_q8_0;
} iquant_reference;

static void load_reference(iquant_reference *ref) {
    size_t len;
    char *text = tl_test_read_file(tl_test_source_path("tests/reference/iquants.json"), &len);
    assert_non_null(text);
    ref->root = cJSON_Parse(text);
    free(text);
    assert_non_null(ref->root);
    ref->n_rows = cJSON_GetObjectItem(ref->root, "n_rows")->valueint;
    ref->n_cols = cJSON_GetObjectItem(ref->root, "n_cols")->valueint;
    const size_t n = (size_t)ref->n_cols;
    ref->input = malloc(sizeof(float) * n * (size_t)ref->n_rows);
    ref->activation_q8_k = malloc(n / QK_K * Q8_K_BYTES);
    ref->activation_q8_0 = malloc(n / QK * Q8_0_BYTES);
    assert_true(ref->input && ref->activation_q8_k && ref->activation_q8_0);
    const cJSON *rows = cJSON_GetObjectItem(ref->root, "input");
    assert_int_equal(cJSON_GetArraySize(rows), ref->n_rows);
    for (int r = 0; r < ref->n_rows; r++) decode_floats(cJSON_GetArrayItem(rows, r), ref->input + r * n, n);
    decode_hex(cJSON_GetObjectItem(ref->root, "activation_q8_k"), ref->activation_q8_k, n / QK_K * Q8_K_BYTES);
    decode_hex(cJSON_GetObjectItem(ref->root, "activation_q8_0"), ref->activation_q8_0, n / QK * Q8_0_BYTES);
}

static void free_reference(iquant_reference *ref) {
    cJSON_Delete(ref->root);
    free(ref->input);
    free(ref->activation_q8_k);
    free(ref->activation_q8_0);
}

/* The entry of a type, and its rows of `key` ("bytes" or "ref_bytes") decoded. */
static const cJSON *reference_type(const iquant_reference *ref, tl_type type, const char *key, uint8_t **bytes_out) {
    const char *name = traits(type)->name;
    const size_t row_bytes = tl_type_row_bytes((uint32_t)type, ref->n_cols);
    const cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItem(ref->root, "types")) {
        if (strcmp(cJSON_GetObjectItem(entry, "name")->valuestring, name) != 0) continue;
        const cJSON *rows = cJSON_GetObjectItem(entry, key);
        assert_int_equal(cJSON_GetArraySize(rows), ref->n_rows);
        uint8_t *bytes = malloc(row_bytes * (size_t)ref->n_rows);
        assert_non_null(bytes);
        for (int r = 0; r < ref->n_rows; r++) decode_hex(cJSON_GetArrayItem(rows, r), bytes + r * row_bytes, row_bytes);
        *bytes_out = bytes;
        return entry;
    }
    fail_msg("type %s missing from iquants.json", name);
    return NULL;
}

static const uint8_t *activation_for(const iquant_reference *ref, tl_type type) {
    return traits(type)->vec_dot_type == TL_TYPE_Q8_0 ? ref->activation_q8_0 : ref->activation_q8_k;
}

/* ---- the random set (tests/support/quant_vectors.h, as iquant_vectors.c) ------ */

enum { RANDOM_BLOCKS = 512 };

/* ---- tests ---------------------------------------------------------------- */

static void test_iq_rows_are_computable(void **state) {
    (void)state;
    static const size_t block_bytes[N_IQ_TYPES] = {18, 136, 110, 98, 82, 74, 66, 50, 56, 54, 66};
    for (size_t t = 0; t < N_IQ_TYPES; t++) {
        const tl_type_traits *tr = traits(iq_types[t].type);
        assert_int_equal(tr->block_bytes, block_bytes[t]);
        assert_int_equal(tr->block_size, iq_types[t].type == TL_TYPE_IQ4_NL ? QK : QK_K);
        assert_int_equal(tr->vec_dot_type, iq_types[t].type == TL_TYPE_IQ4_NL ? TL_TYPE_Q8_0 : TL_TYPE_Q8_K);
        assert_true(tr->is_quantized);
        assert_true(tl_type_is_supported((uint32_t)iq_types[t].type));
        const bool writable = iq_types[t].type == TL_TYPE_IQ4_NL || iq_types[t].type == TL_TYPE_IQ4_XS;
        assert_int_equal(tr->from_float != NULL, writable);
    }
}

static void test_iq_dequantization_matches_llama_cpp(void **state) {
    (void)state;
    iquant_reference ref;
    load_reference(&ref);
    float *y = malloc((size_t)ref.n_cols * sizeof *y);
    assert_non_null(y);
    for (size_t t = 0; t < N_IQ_TYPES; t++) {
        const tl_type type = iq_types[t].type;
        uint8_t *bytes;
        const cJSON *entry = reference_type(&ref, type, "bytes", &bytes);
        const cJSON *hashes = cJSON_GetObjectItem(entry, "dequant_fnv1a64");
        const size_t row_bytes = tl_type_row_bytes((uint32_t)type, ref.n_cols);
        for (int r = 0; r < ref.n_rows; r++) {
            traits(type)->to_float(bytes + r * row_bytes, y, ref.n_cols);
            if (!hash_is(hash_floats_from(fnv_start, y, (size_t)ref.n_cols), cJSON_GetArrayItem(hashes, r)))
                fail_msg("%s row %d: dequantized floats differ from llama.cpp's", traits(type)->name, r);
        }
        free(bytes);
    }
    free(y);
    free_reference(&ref);
}

static void test_iq_vec_dot_matches_llama_cpp(void **state) {
    (void)state;
    iquant_reference ref;
    load_reference(&ref);
    int bit_exact = 0, total = 0;
    for (size_t t = 0; t < N_IQ_TYPES; t++) {
        const tl_type type = iq_types[t].type;
        uint8_t *bytes;
        const cJSON *entry = reference_type(&ref, type, "bytes", &bytes);
        const cJSON *values = cJSON_GetObjectItem(entry, "vec_dot");
        const cJSON *value_bits = cJSON_GetObjectItem(entry, "vec_dot_bits");
        const size_t row_bytes = tl_type_row_bytes((uint32_t)type, ref.n_cols);
        for (int r = 0; r < ref.n_rows; r++) {
            float got = NAN;
            traits(type)->vec_dot(ref.n_cols, &got, bytes + r * row_bytes, activation_for(&ref, type));
            const double expected = cJSON_GetArrayItem(values, r)->valuedouble;
            if (!close_enough(got, expected, fabs(expected)))
                fail_msg("%s row %d: vec_dot %.9g, llama.cpp %.9g", traits(type)->name, r, got, expected);
            bit_exact += float_bits_are(got, cJSON_GetArrayItem(value_bits, r));
            total++;
        }
        free(bytes);
    }
    print_message("vec_dot: %d of %d results bit-identical to llama.cpp's\n", bit_exact, total);
    free_reference(&ref);
}

/* tinyllm's iq4_nl / iq4_xs quantizers against ggml's reference quantizers
 * (quantize_row_iq4_*_ref, no importance matrix), byte for byte. */
static void test_iq4_quantizers_give_llama_cpp_bytes(void **state) {
    (void)state;
    iquant_reference ref;
    load_reference(&ref);
    static const tl_type writable[] = {TL_TYPE_IQ4_NL, TL_TYPE_IQ4_XS};
    for (size_t t = 0; t < 2; t++) {
        uint8_t *expected;
        reference_type(&ref, writable[t], "ref_bytes", &expected);
        const size_t row_bytes = tl_type_row_bytes((uint32_t)writable[t], ref.n_cols);
        uint8_t *got = malloc(row_bytes);
        assert_non_null(got);
        for (int r = 0; r < ref.n_rows; r++) {
            traits(writable[t])->from_float(ref.input + (size_t)r * (size_t)ref.n_cols, got, ref.n_cols);
            for (size_t i = 0; i < row_bytes; i++)
                if (got[i] != expected[r * row_bytes + i])
                    fail_msg("%s row %d: byte %zu is %02x, llama.cpp's %02x", traits(writable[t])->name, r, i, got[i],
                             expected[r * row_bytes + i]);
        }
        free(got);
        free(expected);
    }
    free_reference(&ref);
}

/* Generated blocks: bytes (proving the generator), dequantization bit for
 * bit, one-block dots summed within 1e-6 of their total magnitude, and the
 * whole set as one row (several blocks: the accumulation across blocks). */
static void test_iq_random_blocks_match_llama_cpp(void **state) {
    (void)state;
    iquant_reference ref;
    load_reference(&ref);
    const cJSON *random = cJSON_GetObjectItem(ref.root, "random");
    assert_int_equal(cJSON_GetObjectItem(random, "blocks")->valueint, RANDOM_BLOCKS);
    int dots_bit_exact = 0;
    for (size_t t = 0; t < N_IQ_TYPES; t++) {
        const tl_type_traits *tr = traits(iq_types[t].type);
        const cJSON *entry = cJSON_GetArrayItem(cJSON_GetObjectItem(random, "types"), (int)t);
        assert_string_equal(cJSON_GetObjectItem(entry, "name")->valuestring, tr->name);
        const bool q8_0 = tr->vec_dot_type == TL_TYPE_Q8_0;
        const size_t xb = tr->block_bytes, yb = q8_0 ? Q8_0_BYTES : Q8_K_BYTES;
        const int64_t n = tr->block_size * RANDOM_BLOCKS;
        uint8_t *x = malloc(xb * RANDOM_BLOCKS), *y = malloc(yb * RANDOM_BLOCKS);
        float *dequant = malloc(sizeof(float) * (size_t)n);
        assert_true(x && y && dequant);
        uint64_t byte_hash = fnv_start, dot_hash = fnv_start;
        double dot_sum = 0;
        for (int b = 0; b < RANDOM_BLOCKS; b++) {
            iq_random_block((int)t, b, xb, iq_types[t].d_offset, x + b * xb);
            iq_random_activation(b, q8_0, y + b * yb);
            byte_hash = hash_bytes(byte_hash, x + b * xb, xb);
            float dot;
            tr->vec_dot(tr->block_size, &dot, x + b * xb, y + b * yb);
            dot_hash = hash_floats_from(dot_hash, &dot, 1);
            dot_sum += dot;
        }
        if (!hash_is(byte_hash, cJSON_GetObjectItem(entry, "bytes_fnv1a64")))
            fail_msg("%s: the random blocks no longer match iquant_vectors.c", tr->name);
        tr->to_float(x, dequant, n);
        if (!hash_is(hash_floats_from(fnv_start, dequant, (size_t)n), cJSON_GetObjectItem(entry, "dequant_fnv1a64")))
            fail_msg("%s: dequantized random blocks differ from llama.cpp's", tr->name);
        const double expected = cJSON_GetObjectItem(entry, "vec_dot_sum")->valuedouble;
        const double magnitude = cJSON_GetObjectItem(entry, "vec_dot_magnitude")->valuedouble;
        if (!close_enough(dot_sum, expected, magnitude))
            fail_msg("%s: random-block dots sum to %.17g, llama.cpp's to %.17g", tr->name, dot_sum, expected);
        dots_bit_exact += hash_is(dot_hash, cJSON_GetObjectItem(entry, "vec_dot_bits_fnv1a64"));
        float row_dot = NAN;
        tr->vec_dot(n, &row_dot, x, y);
        const double row_expected = cJSON_GetObjectItem(entry, "row_vec_dot")->valuedouble;
        if (!close_enough(row_dot, row_expected, magnitude))
            fail_msg("%s: random row dot %.9g, llama.cpp %.9g", tr->name, row_dot, row_expected);
        free(x);
        free(y);
        free(dequant);
    }
    print_message("random blocks: dot products of %d of %zu types bit-identical to llama.cpp's\n", dots_bit_exact,
                  N_IQ_TYPES);
    free_reference(&ref);
}

/* vec_dot equals the dot of the dequantized weights with the dequantized
 * activation (up to float rounding), also for rows at odd addresses. */
static void test_iq_vec_dot_equals_dequantized_dot(void **state) {
    (void)state;
    iquant_reference ref;
    load_reference(&ref);
    const int64_t n = ref.n_cols;
    float *w = malloc(sizeof(float) * (size_t)n), *a = malloc(sizeof(float) * (size_t)n);
    assert_true(w && a);
    for (size_t t = 0; t < N_IQ_TYPES; t++) {
        const tl_type type = iq_types[t].type;
        const tl_type_traits *tr = traits(type);
        uint8_t *bytes;
        reference_type(&ref, type, "bytes", &bytes);
        const size_t row_bytes = tl_type_row_bytes((uint32_t)type, n);
        traits(tr->vec_dot_type)->to_float(activation_for(&ref, type), a, n);
        uint8_t *odd = malloc(row_bytes + 1);
        assert_non_null(odd);
        for (int r = 0; r < ref.n_rows; r++) {
            tr->to_float(bytes + r * row_bytes, w, n);
            double expected = 0, magnitude = 0;
            for (int64_t i = 0; i < n; i++) {
                expected += (double)w[i] * a[i];
                magnitude += fabs((double)w[i] * a[i]);
            }
            memcpy(odd + 1, bytes + r * row_bytes, row_bytes);
            float got = NAN, got_odd = NAN;
            tr->vec_dot(n, &got, bytes + r * row_bytes, activation_for(&ref, type));
            tr->vec_dot(n, &got_odd, odd + 1, activation_for(&ref, type));
            if (!(fabs(got - expected) <= 1e-5 * magnitude + 1e-9))
                fail_msg("%s row %d: vec_dot %.9g, dequantized dot %.9g", tr->name, r, got, expected);
            assert_true(bits_of(got) == bits_of(got_odd));
        }
        free(odd);
        free(bytes);
    }
    free(w);
    free(a);
    free_reference(&ref);
}

/* ---- whole models of every type ------------------------------------------- */

/* Copies every metadata entry of f into w. */
static void copy_metadata(gguf_writer *w, const gguf_file *f) {
    for (int64_t i = 0; i < gguf_kv_count(f); i++) {
        const char *key = gguf_kv_key(f, i);
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        float f32;
        bool b;
        gguf_value_type elem;
        uint64_t count;
        switch (gguf_kv_type(f, i)) {
        case GGUF_TYPE_STRING: gguf_writer_set_str(w, key, gguf_get_str(f, key)); break;
        case GGUF_TYPE_UINT32: assert_true(gguf_get_u32(f, key, &u32)), gguf_writer_set_u32(w, key, u32); break;
        case GGUF_TYPE_INT32: assert_true(gguf_get_i32(f, key, &i32)), gguf_writer_set_i32(w, key, i32); break;
        case GGUF_TYPE_UINT64: assert_true(gguf_get_u64(f, key, &u64)), gguf_writer_set_u64(w, key, u64); break;
        case GGUF_TYPE_FLOAT32: assert_true(gguf_get_f32(f, key, &f32)), gguf_writer_set_f32(w, key, f32); break;
        case GGUF_TYPE_BOOL: assert_true(gguf_get_bool(f, key, &b)), gguf_writer_set_bool(w, key, b); break;
        case GGUF_TYPE_ARRAY:
            assert_true(gguf_get_arr_info(f, key, &elem, &count));
            if (elem != GGUF_TYPE_STRING) {
                gguf_writer_set_arr(w, key, elem, gguf_get_arr_data(f, key), count);
                break;
            }
            char **strs = calloc(count ? count : 1, sizeof *strs);
            assert_non_null(strs);
            for (uint64_t k = 0; k < count; k++) {
                uint64_t len;
                const char *str = gguf_get_arr_str(f, key, k, &len);
                strs[k] = strndup(str, len);
                assert_non_null(strs[k]);
            }
            gguf_writer_set_arr_str(w, key, (const char *const *)strs, count);
            for (uint64_t k = 0; k < count; k++) free(strs[k]);
            free(strs);
            break;
        default: fail_msg("metadata '%s' has a type this test does not copy", key);
        }
    }
}

/* Random blocks of type t for a rows x cols matrix, their scale set so the
 * weights have an rms of about 1 / sqrt(cols) (the network stays in range). */
static uint8_t *random_matrix(size_t t, int64_t cols, int64_t rows, int salt) {
    const tl_type_traits *tr = traits(iq_types[t].type);
    const size_t bytes = tl_type_row_bytes((uint32_t)iq_types[t].type, cols) * (size_t)rows;
    const int64_t n_blocks = cols / tr->block_size * rows;
    uint8_t *q = malloc(bytes);
    float *y = malloc(sizeof(float) * (size_t)(cols * rows));
    assert_true(q && y);
    for (int64_t b = 0; b < n_blocks; b++) {
        uint8_t *block = q + (size_t)b * tr->block_bytes;
        iq_random_block((int)t, (int)b + 7919 * salt, tr->block_bytes, iq_types[t].d_offset, block);
        iq_block_set_d(block, iq_types[t].d_offset, 0x3c00); /* d = 1, to measure */
    }
    tr->to_float(q, y, cols * rows);
    double sum2 = 0;
    for (int64_t i = 0; i < cols * rows; i++) sum2 += (double)y[i] * y[i];
    const float d = (float)(1.0 / sqrt((double)cols) / sqrt(sum2 / (double)(cols * rows)));
    for (int64_t b = 0; b < n_blocks; b++)
        iq_block_set_d(q + (size_t)b * tr->block_bytes, iq_types[t].d_offset, tl_fp32_to_fp16(d));
    free(y);
    return q;
}

typedef struct run_result {
    float *logits;         /* of the prompt's last token, n_vocab */
    tl_token generated[8]; /* greedy continuation */
    int32_t n_vocab;
} run_result;

/* Loads a model, evaluates the prompt, keeps the last token's logits and
 * generates n_generate (up to 8) tokens greedily. */
static run_result run_model(const char *path, const tl_token *prompt, int32_t n_prompt, int n_generate) {
    tl_model *m = NULL;
    tl_error err = {0};
    if (tl_model_load(path, NULL, &m, &err) != TL_OK) fail_msg("%s", err.message);
    tl_context_params cp = tl_context_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 2;
    tl_context *ctx = NULL;
    if (tl_context_new(m, &cp, &ctx, &err) != TL_OK) fail_msg("%s", err.message);
    run_result r = {.n_vocab = tl_vocab_size(m)};
    r.logits = malloc(sizeof(float) * (size_t)r.n_vocab);
    assert_non_null(r.logits);
    if (tl_decode(ctx, prompt, n_prompt, 0, false, &err) != TL_OK) fail_msg("%s", err.message);
    memcpy(r.logits, tl_get_logits(ctx, -1), sizeof(float) * (size_t)r.n_vocab);
    uint32_t pos = (uint32_t)n_prompt;
    for (int i = 0; i < n_generate; i++) {
        const float *l = tl_get_logits(ctx, -1);
        tl_token best = 0;
        for (tl_token t = 1; t < r.n_vocab; t++)
            if (l[t] > l[best]) best = t;
        r.generated[i] = best;
        if (tl_decode(ctx, &best, 1, pos++, false, &err) != TL_OK) fail_msg("%s", err.message);
    }
    tl_context_free(ctx);
    tl_model_free(m);
    return r;
}

/* The rms difference of two logit vectors relative to the spread (std) of
 * the first. */
static double logits_error(const float *want, const float *got, int32_t n) {
    double mean = 0, var = 0, err2 = 0;
    for (int32_t k = 0; k < n; k++) mean += want[k];
    mean /= n;
    for (int32_t k = 0; k < n; k++) {
        var += (want[k] - mean) * (want[k] - mean);
        err2 += (double)(got[k] - want[k]) * (got[k] - want[k]);
    }
    return sqrt(err2 / var);
}

/* For each type: a llama model (n_embd 256, n_ff 512, so every matrix fits
 * 256-element blocks) whose matrices are random blocks of the type, and the
 * same model with those weights dequantized to f32. The forward pass of the
 * first (the type's vec_dot with q8_k / q8_0 activations) must give the
 * logits of the second up to the activations' 8-bit rounding (0.004 to 0.031
 * of their std here). This checks the model path (loader, activation types,
 * kernel dispatch) for each type; the kernels' exactness is checked above. */
static void test_models_of_every_type_match_their_f32_twin(void **state) {
    (void)state;
    static const char vocab_rel[] = "models/stories260K.gguf"; /* a 512-token vocabulary */
    if (!tl_test_have_shared(vocab_rel)) {
        print_message("skipped: %s is absent\n", vocab_rel);
        skip();
    }
    char *vocab = strdup(tl_test_shared_path(vocab_rel));
    char *base_path = strdup(tl_test_tmp_path("iquants-base.gguf"));
    char *typed_path = strdup(tl_test_tmp_path("iquants-typed.gguf"));
    char *twin_path = strdup(tl_test_tmp_path("iquants-twin.gguf"));
    assert_true(vocab && base_path && typed_path && twin_path);
    tl_synth_preset p = *tl_synth_find_preset("llama-test-hd32");
    p.n_embd = 256;
    p.n_ff = 512;
    p.head_dim = 0;
    p.n_vocab = 0;
    const tl_synth_options opts = {.type_name = "f32", .seed = 3, .vocab_path = vocab};
    tl_error err = {0};
    if (tl_synth_write(&p, &opts, base_path, &err) != TL_OK) fail_msg("%s", err.message);
    gguf_file *base = NULL;
    if (gguf_open(base_path, &base, &err) != TL_OK) fail_msg("%s", err.message);
    for (size_t t = 0; t < N_IQ_TYPES; t++) {
        const tl_type_traits *tr = traits(iq_types[t].type);
        gguf_writer *typed = gguf_writer_new(), *twin = gguf_writer_new();
        assert_true(typed && twin);
        copy_metadata(typed, base);
        copy_metadata(twin, base);
        int n_typed = 0;
        for (int64_t i = 0; i < gguf_tensor_count(base); i++) {
            const gguf_tensor *bt = gguf_tensor_at(base, i);
            if (bt->n_dims != 2) {
                assert_int_equal(gguf_writer_add_tensor(typed, bt->name, bt->type, bt->n_dims, bt->ne, bt->data, &err),
                                 TL_OK);
                assert_int_equal(gguf_writer_add_tensor(twin, bt->name, bt->type, bt->n_dims, bt->ne, bt->data, &err),
                                 TL_OK);
                continue;
            }
            assert_int_equal(bt->ne[0] % tr->block_size, 0);
            uint8_t *q = random_matrix(t, bt->ne[0], bt->ne[1], (int)i);
            float *y = malloc(sizeof(float) * (size_t)bt->n_elements);
            assert_non_null(y);
            tr->to_float(q, y, (int64_t)bt->n_elements);
            assert_int_equal(gguf_writer_add_tensor(typed, bt->name, (uint32_t)iq_types[t].type, 2, bt->ne, q, &err),
                             TL_OK);
            assert_int_equal(gguf_writer_add_tensor(twin, bt->name, TL_TYPE_F32, 2, bt->ne, y, &err), TL_OK);
            free(q);
            free(y);
            n_typed++;
        }
        assert_true(n_typed >= 15); /* embedding, 7 per layer, output */
        if (gguf_writer_write(typed, typed_path, &err) != TL_OK || gguf_writer_write(twin, twin_path, &err) != TL_OK)
            fail_msg("%s", err.message);
        gguf_writer_free(typed);
        gguf_writer_free(twin);
        static const tl_token prompt[] = {1, 15, 300, 42, 77, 200};
        run_result got = run_model(typed_path, prompt, 6, 0), want = run_model(twin_path, prompt, 6, 0);
        assert_int_equal(got.n_vocab, want.n_vocab);
        const double relative = logits_error(want.logits, got.logits, got.n_vocab);
        print_message("%-8s model: logits within %.4f of the f32 twin's std\n", tr->name, relative);
        if (!(relative < 0.05))
            fail_msg("%s: logits differ from the f32 twin's by %.4f of their std", tr->name, relative);
        free(got.logits);
        free(want.logits);
    }
    gguf_close(base);
    free(vocab);
    free(base_path);
    free(typed_path);
    free(twin_path);
}

/* ---- a synthesized iq4_xs model ------------------------------------------ */

/* Writes the tiny smollm2-135m with weights of `type` to a temporary file;
 * returns its path (malloc'd). */
static char *synth_model(const char *type, const char *vocab) {
    char name[64];
    snprintf(name, sizeof name, "iquants-%s.gguf", type);
    char *path = strdup(tl_test_tmp_path(name));
    assert_non_null(path);
    const tl_synth_options opts = {.type_name = type, .seed = 7, .vocab_path = vocab, .tiny = true};
    tl_error err = {0};
    if (tl_synth_write(tl_synth_find_preset("smollm2-135m"), &opts, path, &err) != TL_OK)
        fail_msg("synth %s: %s", type, err.message);
    return path;
}

/* Number of the file's tensors of `type`. */
static int tensors_of_type(const char *path, uint32_t type) {
    gguf_file *f = NULL;
    tl_error err = {0};
    if (gguf_open(path, &f, &err) != TL_OK) fail_msg("%s", err.message);
    int count = 0;
    for (int64_t i = 0; i < gguf_tensor_count(f); i++) count += gguf_tensor_at(f, i)->type == type;
    gguf_close(f);
    return count;
}

static void test_synth_iq4_xs_model_runs_close_to_f32(void **state) {
    (void)state;
    static const char vocab_rel[] = "tokenizers/llama.cpp-vocab/ggml-vocab-smollm.gguf";
    if (!tl_test_have_shared(vocab_rel)) {
        print_message("skipped: %s is absent\n", vocab_rel);
        skip();
    }
    const char *vocab = tl_test_shared_path(vocab_rel);
    char *vocab_copy = strdup(vocab);
    char *f32_path = synth_model("f32", vocab_copy), *iq4_path = synth_model("iq4_xs", vocab_copy);
    assert_true(tensors_of_type(iq4_path, TL_TYPE_IQ4_XS) > 0); /* rows of 256k elements */
    assert_true(tensors_of_type(iq4_path, TL_TYPE_IQ4_NL) > 0); /* the other rows */
    const tl_token prompt[] = {1, 504, 3237, 253, 1155, 30, 2177};
    const int32_t n_prompt = (int32_t)(sizeof prompt / sizeof prompt[0]);
    run_result f32 = run_model(f32_path, prompt, n_prompt, 8), iq4 = run_model(iq4_path, prompt, n_prompt, 8);
    assert_int_equal(f32.n_vocab, iq4.n_vocab);
    /* The logits' error relative to their spread. For this model (seed 7):
     * iq4_xs 0.150, q4_0 0.208, q5_0 0.094, q8_0 0.020. */
    const double relative = logits_error(f32.logits, iq4.logits, f32.n_vocab);
    print_message("iq4_xs logits: rms error %.4f of the f32 logits' std\n", relative);
    assert_true(isfinite(relative) && relative < 0.18);
    for (int i = 0; i < 8; i++) assert_true(iq4.generated[i] >= 0 && iq4.generated[i] < iq4.n_vocab);
    free(f32.logits);
    free(iq4.logits);
    free(f32_path);
    free(iq4_path);
    free(vocab_copy);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iq_rows_are_computable),

        cmocka_unit_test(test_iq_dequantization_matches_llama_cpp),
        cmocka_unit_test(test_iq_vec_dot_matches_llama_cpp),
        cmocka_unit_test(test_iq_random_blocks_match_llama_cpp),
        cmocka_unit_test(test_iq4_quantizers_give_llama_cpp_bytes),
        cmocka_unit_test(test_iq_vec_dot_equals_dequantized_dot),
        cmocka_unit_test(test_models_of_every_type_match_their_f32_twin),
        cmocka_unit_test(test_synth_iq4_xs_model_runs_close_to_f32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
