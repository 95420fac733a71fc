/*
 * kquant_vectors.c — writes tests/reference/kquants.json: llama.cpp's (ggml's)
 * own results for the K-quant types on a fixed input, the reference that
 * tests/unit/test_types_k.c checks tinyllm's quant_k.c against.
 *
 * Built and run by kquant_vectors.sh against the prebuilt ggml libraries of
 * node-llama-cpp (libggml-base.so for the quantizers and dequantizers,
 * libggml-cpu-x64.so, the build without SIMD, for the generic dot products).
 * The ggml functions are declared here by hand (blocks passed as bytes), so
 * no ggml header is needed.
 *
 * For 8 rows of 512 floats (each row a different awkward distribution: mixed
 * magnitudes per sub-block, all-positive, zero and constant sub-blocks, exact
 * rounding ties, heavy tails...) and one activation row, it records:
 *   - the input floats and the activation (f32 bits, little-endian hex),
 *   - for q2_K..q6_K and q8_K: quantize_row_*_ref bytes of each row (hex) and
 *     an FNV-1a 64 hash of dequantize_row_* of those bytes,
 *   - the activation's quantize_row_q8_K_ref bytes,
 *   - for q2_K..q6_K, each row's ggml_vec_dot_*_q8_K_generic with it
 *     (f32 bits, plus the value for reading).
 * and, to reach rarely taken branches of ggml's scale searches, a "bulk"
 * set of 4096 one-block rows made by bulk_block() below, which uses only
 * integer arithmetic and exact float steps so that the test can regenerate
 * it anywhere (its hash is recorded to prove it did): for each type, hashes
 * of all the rows' bytes and dequantized floats, and of the dot products
 * (with the q8_K of a generated activation block) as f32 bits, plus their
 * sum and the sum of their magnitudes.
 * The float expressions below that must be exact are one operation per
 * statement, so no compiler can fuse them.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant_vectors.h" /* tests/support: hashes, hex output */

/* ggml's functions (libggml-base.so, libggml-cpu-*.so). */
void quantize_row_q2_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q3_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q4_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q5_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q6_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q8_K_ref(const float *x, void *y, int64_t k);
void dequantize_row_q2_K(const void *x, float *y, int64_t k);
void dequantize_row_q3_K(const void *x, float *y, int64_t k);
void dequantize_row_q4_K(const void *x, float *y, int64_t k);
void dequantize_row_q5_K(const void *x, float *y, int64_t k);
void dequantize_row_q6_K(const void *x, float *y, int64_t k);
void dequantize_row_q8_K(const void *x, float *y, int64_t k);
typedef void (*vec_dot_fn)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by, int nrc);
void ggml_vec_dot_q2_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q3_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q4_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q5_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_vec_dot_q6_K_q8_K_generic(int, float *, size_t, const void *, size_t, const void *, size_t, int);
void ggml_cpu_init(void);

enum { N_ROWS = 8, N_COLS = 512, QK_K = 256, Q8_K_BYTES = 292 };

static const struct {
    const char *name;
    size_t block_bytes;
    void (*quantize)(const float *, void *, int64_t);
    void (*dequantize)(const void *, float *, int64_t);
    vec_dot_fn vec_dot; /* NULL for q8_k */
} types[] = {
    {"q2_k", 84, quantize_row_q2_K_ref, dequantize_row_q2_K, ggml_vec_dot_q2_K_q8_K_generic},
    {"q3_k", 110, quantize_row_q3_K_ref, dequantize_row_q3_K, ggml_vec_dot_q3_K_q8_K_generic},
    {"q4_k", 144, quantize_row_q4_K_ref, dequantize_row_q4_K, ggml_vec_dot_q4_K_q8_K_generic},
    {"q5_k", 176, quantize_row_q5_K_ref, dequantize_row_q5_K, ggml_vec_dot_q5_K_q8_K_generic},
    {"q6_k", 210, quantize_row_q6_K_ref, dequantize_row_q6_K, ggml_vec_dot_q6_K_q8_K_generic},
    {"q8_k", Q8_K_BYTES, quantize_row_q8_K_ref, dequantize_row_q8_K, NULL},
};

/* ---- deterministic input ------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_next(void) { /* xorshift64* */
    return iq_random_next(&rng_state);
}

static float uniform(void) {
    return (float)((double)rng_next() / 2147483648.0 - 1.0);
} /* [-1, 1) */

static float normalish(void) {
    return uniform() + uniform() + uniform();
}

static void make_row(int r, float *x) {
    for (int i = 0; i < N_COLS; i++) {
        const int group = i / 16; /* 16-element sub-block */
        float v = 0;
        switch (r) {
        case 0: /* weight-like, with outliers */
            v = normalish() * 0.05f;
            if (rng_next() % 61 == 0) v *= 9.0f;
            break;
        case 1: /* magnitudes 1e-6 .. 1e3 varying per 16-group */
            v = normalish() * powf(10.0f, (float)((group * 7) % 10) - 6.0f);
            break;
        case 2: /* first super-block all positive, second all negative */
            v = i < QK_K ? 0.5f + 1.5f * fabsf(uniform()) : -0.1f - 0.3f * fabsf(uniform());
            break;
        case 3: /* zeros, constant groups, a lone spike; second super-block all zero */
            if (i < QK_K) {
                if (group % 4 == 1)
                    v = 0.25f;
                else if (group % 4 == 2)
                    v = -0.75f;
                else if (i == 7 || i == 200)
                    v = 3.0f;
            }
            break;
        case 4: /* multiples of 1/4: exact ties when a scale is a power of two */
            v = (float)((int)(rng_next() % 25) - 12) / 4.0f;
            break;
        case 5: { /* heavy tails */
            const float u = uniform();
            v = u * u * u * 50.0f;
            break;
        }
        case 6: /* smooth ramp plus tiny noise */ v = 3.0f * sinf((float)i * 0.05f) + uniform() * 1e-3f; break;
        default: /* small positive offset: mins clamp to zero */
            v = 0.01f + uniform() * 0.002f * (float)(1 + group % 3);
            if (group % 8 == 5) v = 0.0125f; /* a constant positive group */
            break;
        }
        x[i] = v;
    }
}

/* ---- the bulk set: exactly reproducible input --------------------------- */

enum { BULK_BLOCKS = 4096 };

/* Uniform in [-1, 1): a 32-bit integer times 2^-31 (both steps exact or
 * correctly rounded, so identical on every IEEE machine). */
static float exact_uniform(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    const uint32_t r = (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
    return (float)(int32_t)r * 0x1p-31f;
}

/* Block b of the bulk set (256 floats) and its activation block; the kind
 * of data cycles with b. Mirrored in tests/unit/test_types_k.c. */
static void bulk_block(int b, float *x, float *activation) {
    uint64_t state = 0x51ed270b27a3c4d5ull ^ ((uint64_t)b * 0x9e3779b97f4a7c15ull);
    if (!state) state = 1;
    for (int i = 0; i < QK_K; i++) {
        const int group = i / 16;
        const float u = exact_uniform(&state);
        const float u2 = exact_uniform(&state);
        const float u3 = exact_uniform(&state);
        const uint32_t r = (uint32_t)(exact_uniform(&state) * 0x1p30f + 0x1p30f); /* 0 .. 2^31 */
        float v;
        switch (b % 8) {
        case 0: /* weight-like, with outliers */
            v = u + u2;
            v = v + u3;
            v = v * 0x1p-5f;
            if (r % 61 == 0) v = v * 8.0f;
            break;
        case 1: /* magnitudes 2^-30 .. 2^5, per 16-group */ v = ldexpf(u, (group * 7 + b) % 36 - 30); break;
        case 2: /* multiples of 1/8: ties */ v = (float)((int)(r % 17) - 8) * 0.125f; break;
        case 3: /* sparse */ v = r % 4 == 0 ? 0.0f : u; break;
        case 4: /* narrow and positive */
            v = u * 0.01f;
            v = v + 0.3f;
            break;
        case 5: /* heavy tails */
            v = u * u;
            v = v * u;
            v = v * u;
            v = v * u;
            v = v * 100.0f;
            break;
        case 6: /* constant, noisy and zero groups */
            v = group % 3 == 0 ? 1.5f : group % 3 == 1 ? u * -0.5f : 0.0f;
            break;
        default: /* small integers */ v = (float)((int)(r % 81) - 40); break;
        }
        x[i] = v;
        float a = u2 + u3;
        a = a * 0.5f;
        activation[i] = a;
    }
}

/* ---- output ------------------------------------------------------------- */

/* The bulk section: see the file comment. */
static void print_bulk(void) {
    static float x[QK_K], activation[QK_K], dequant[QK_K];
    static uint8_t q[Q8_K_BYTES], activation_q8_k[Q8_K_BYTES];
    const size_t n_types = sizeof types / sizeof types[0];
    uint64_t input_hash = fnv_start, byte_hash[8], dequant_hash[8], dot_hash[8];
    double dot_sum[8] = {0}, dot_magnitude[8] = {0};
    for (size_t t = 0; t < n_types; t++) byte_hash[t] = dequant_hash[t] = dot_hash[t] = fnv_start;
    for (int b = 0; b < BULK_BLOCKS; b++) {
        bulk_block(b, x, activation);
        input_hash = hash_floats_from(input_hash, x, QK_K);
        input_hash = hash_floats_from(input_hash, activation, QK_K);
        memset(activation_q8_k, 0, sizeof activation_q8_k);
        quantize_row_q8_K_ref(activation, activation_q8_k, QK_K);
        for (size_t t = 0; t < n_types; t++) {
            memset(q, 0, sizeof q);
            types[t].quantize(x, q, QK_K);
            byte_hash[t] = hash_bytes(byte_hash[t], q, types[t].block_bytes);
            types[t].dequantize(q, dequant, QK_K);
            dequant_hash[t] = hash_floats_from(dequant_hash[t], dequant, QK_K);
            if (types[t].vec_dot) {
                float dot;
                types[t].vec_dot(QK_K, &dot, 0, q, 0, activation_q8_k, 0, 1);
                dot_hash[t] = hash_floats_from(dot_hash[t], &dot, 1);
                dot_sum[t] += dot;
                dot_magnitude[t] += fabs(dot);
            }
        }
    }
    printf(" \"bulk\": {\"blocks\": %d, \"input_fnv1a64\": \"%016llx\", \"types\": [\n", BULK_BLOCKS,
           (unsigned long long)input_hash);
    for (size_t t = 0; t < n_types; t++) {
        printf("  {\"name\": \"%s\", \"bytes_fnv1a64\": \"%016llx\", \"dequant_fnv1a64\": \"%016llx\"", types[t].name,
               (unsigned long long)byte_hash[t], (unsigned long long)dequant_hash[t]);
        if (types[t].vec_dot)
            printf(", \"vec_dot_bits_fnv1a64\": \"%016llx\", \"vec_dot_sum\": %.17g, \"vec_dot_magnitude\": %.17g",
                   (unsigned long long)dot_hash[t], dot_sum[t], dot_magnitude[t]);
        printf("}%s\n", t + 1 < n_types ? "," : "");
    }
    printf(" ]},\n");
}

int main(void) {
    ggml_cpu_init();
    static float input[N_ROWS][N_COLS], activation[N_COLS], dequant[N_COLS];
    static uint8_t activation_q8_k[N_COLS / QK_K * Q8_K_BYTES];
    for (int r = 0; r < N_ROWS; r++) make_row(r, input[r]);
    for (int i = 0; i < N_COLS; i++) {
        activation[i] = normalish() * 0.5f;
        if (i == 300) activation[i] = -6.0f;
        if (i >= 400 && i < 416) activation[i] *= 1e-4f; /* a near-zero group */
    }
    /* ggml leaves bsums unwritten for an all-zero q8_k block: start from zeros. */
    memset(activation_q8_k, 0, sizeof activation_q8_k);
    quantize_row_q8_K_ref(activation, activation_q8_k, N_COLS);

    printf("{\n \"source\": \"scripts/reference/kquant_vectors.sh: ggml of node-llama-cpp 3.22.1 "
           "(llama.cpp v0.5.0), quantize_row_*_ref / dequantize_row_* from libggml-base.so, "
           "ggml_vec_dot_*_q8_K_generic from libggml-cpu-x64.so\",\n");
    print_bulk();
    printf(" \"n_rows\": %d,\n \"n_cols\": %d,\n", N_ROWS, N_COLS);
    printf(" \"input\": [\n");
    print_float_rows(&input[0][0], N_ROWS, N_COLS, "  ");
    printf(" ],\n \"activation\": ");
    print_floats_hex(activation, N_COLS);
    printf(",\n \"activation_q8_k\": ");
    print_hex(activation_q8_k, sizeof activation_q8_k);
    printf(",\n \"types\": [\n");
    const size_t n_types = sizeof types / sizeof types[0];
    for (size_t t = 0; t < n_types; t++) {
        const size_t row_bytes = N_COLS / QK_K * types[t].block_bytes;
        uint8_t *q = calloc(N_ROWS, row_bytes);
        if (!q) return 1;
        uint64_t hashes[N_ROWS];
        float dots[N_ROWS];
        for (int r = 0; r < N_ROWS; r++) {
            uint8_t *row = q + (size_t)r * row_bytes;
            types[t].quantize(input[r], row, N_COLS);
            types[t].dequantize(row, dequant, N_COLS);
            hashes[r] = hash_floats(dequant, N_COLS);
            if (types[t].vec_dot) types[t].vec_dot(N_COLS, &dots[r], 0, row, 0, activation_q8_k, 0, 1);
        }
        printf("  {\"name\": \"%s\",\n   \"bytes\": [\n", types[t].name);
        print_hex_rows(q, N_ROWS, row_bytes, "    ");
        printf("   ],\n   ");
        print_hash_list("dequant_fnv1a64", hashes, N_ROWS);
        if (types[t].vec_dot) {
            printf(",\n   ");
            print_dot_lists(dots, N_ROWS);
        }
        printf("}%s\n", t + 1 < n_types ? "," : "");
        free(q);
    }
    printf(" ]\n}\n");
    return 0;
}
