/*
 * neon_test.c — checks every NEON kernel against the scalar reference set.
 *
 * A plain C program (no cmocka: it is cross-compiled for aarch64 and run
 * under qemu-user, where only the C library is at hand). It links
 * the sources in src/tensor, src/tensor/arm and src/util/error.c, and checks:
 *   - quantize[Q8_0], quantize[Q8_1], quantize[Q8_K]: bit-exact, including
 *     NaN, infinite, huge, subnormal, tied-sign and round-half blocks;
 *   - vec_dot and gemm for every weight type, on awkward sizes (n_cols 32*1,
 *     32*3, 32*7, 32*37, 576, and odd lengths for float types; 256, 768,
 *     1536 for the K-quant types, whose blocks hold 256; n_tokens
 *     1, 2, 3, 5, 8; row ranges starting past 0; unaligned row strides; odd
 *     ldy), within 1e-5 relative, and that gemm leaves other outputs alone;
 *   - the i-quant weights (iq4_nl, iq4_xs, iq3_s, iq2_xs) likewise, as
 *     random bytes (every index, sign and scale) with block scales cycling
 *     through extreme f16 values, against activations of very different
 *     sizes;
 *   - kv_dot and kv_axpy over F32 and F16 rows.
 * The set the CPU selects is checked, and so are the paths it does not
 * take, built by calling the fill function with extensions masked off:
 * "neon-i8mm" (SMMLA gemm), "neon-dotprod" (SDOT), "neon-baseline" (plain
 * armv8-a).
 * Exit status: 0 all passed, 1 a check failed, 77 no NEON set in this build.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/kernels.h"
#include "tensor/types.h"

static int failures;
static double worst_relative_error;

#define MAX_FAILURES_SHOWN 20

static void fail(const char *set, const char *what, const char *type, int64_t a, int64_t b, double got, double want) {
    failures++;
    if (failures <= MAX_FAILURES_SHOWN)
        printf("FAIL [%s] %s %s (%lld, %lld): got %.9g want %.9g\n", set, what, type, (long long)a, (long long)b, got,
               want);
}

/* ---- random data ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Uniform in [-scale, scale). */
static float random_float(float scale) {
    return scale * ((float)(next_random() >> 40) / (float)(1 << 24) * 2.0f - 1.0f);
}

static void fill_random(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = random_float(scale);
}

static void *checked_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- comparing dot products ----------------------------------------------- */

/* Sums of many terms differ by rounding of the accumulation order, which is
 * relative to the size of the terms, not of the (possibly cancelled) result:
 * the scale is |want| or, if larger, the typical size of a random sum of the
 * n terms, sum|terms| / sqrt(n). */
static int close_enough(double got, double want, double sum_abs_terms, int64_t n_terms) {
    double scale = fabs(want);
    const double typical = sum_abs_terms / sqrt((double)(n_terms > 0 ? n_terms : 1));
    if (typical > scale) scale = typical;
    const double err = fabs(got - want);
    if (scale == 0.0) return err == 0.0;
    const double rel = err / scale;
    if (rel > worst_relative_error) worst_relative_error = rel;
    return rel <= 1e-5;
}

static double sum_abs_products(const float *a, const float *b, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += fabs((double)a[i] * (double)b[i]);
    return sum;
}

/* ---- the sets under test ---------------------------------------------------- */

typedef struct named_set {
    const char *name;
    const tl_kernel_set *set;
} named_set;

static const tl_kernel_set *scalar;

/* The NEON set as tl_kernels_named builds it, with the optional extensions
 * masked off as asked, so each code path can be checked on one CPU. */
static void build_masked_set(tl_kernel_set *k, const char *name, int keep_dotprod) {
    tl_cpu_features features = *tl_cpu_get_features();
    features.neon_dotprod = keep_dotprod && features.neon_dotprod;
    features.neon_i8mm = 0;
    *k = *scalar;
    tl_kernels_fill_neon(k, &features);
    k->name = name;
    for (uint32_t t = 0; t < TL_TYPE_COUNT; t++) {
        if (!k->vec_dot[t]) k->vec_dot[t] = scalar->vec_dot[t];
        if (!k->quantize[t]) k->quantize[t] = scalar->quantize[t];
        if (!k->kv_dot[t]) k->kv_dot[t] = scalar->kv_dot[t];
        if (!k->kv_axpy[t]) k->kv_axpy[t] = scalar->kv_axpy[t];
    }
}

static const uint32_t weight_types[] = {TL_TYPE_Q8_0,  TL_TYPE_Q4_0,  TL_TYPE_F16,  TL_TYPE_F32,    TL_TYPE_Q4_1,
                                        TL_TYPE_Q5_0,  TL_TYPE_Q5_1,  TL_TYPE_BF16, TL_TYPE_Q4_K,   TL_TYPE_Q6_K,
                                        TL_TYPE_Q5_K,  TL_TYPE_Q3_K,  TL_TYPE_Q2_K, TL_TYPE_IQ4_NL, TL_TYPE_IQ4_XS,
                                        TL_TYPE_IQ3_S, TL_TYPE_IQ2_XS};

static int is_iquant(uint32_t type) {
    return type == TL_TYPE_IQ4_NL || type == TL_TYPE_IQ4_XS || type == TL_TYPE_IQ3_S || type == TL_TYPE_IQ2_XS;
}

/* A row of random i-quant blocks whose f16 d (their first field) is an
 * ordinary scale or, one block in five, an extreme one. */
static void fill_iquant_row(uint32_t type, uint8_t *row, int64_t n_cols) {
    static const uint16_t extreme[] = {0x7bff, 0x0001, 0x0400, 0x0000, 0xfbff, 0x83ff};
    const size_t bytes = tl_type_row_bytes(type, n_cols), block = tl_type_traits_of(type)->block_bytes;
    for (size_t i = 0; i < bytes; i++) row[i] = (uint8_t)next_random();
    for (size_t at = 0; at < bytes; at += block) {
        uint16_t d = tl_fp32_to_fp16(random_float(0.05f));
        if (next_random() % 5 == 0) d = extreme[next_random() % (sizeof extreme / sizeof extreme[0])];
        memcpy(row + at, &d, sizeof d);
    }
}
enum { N_WEIGHT_TYPES = sizeof weight_types / sizeof weight_types[0] };

static const int64_t block_sizes[] = {32 * 1, 32 * 3, 32 * 7, 32 * 37, 576};
static const int64_t k_block_sizes[] = {256 * 1, 256 * 3, 256 * 6};
enum {
    N_BLOCK_SIZES = sizeof block_sizes / sizeof block_sizes[0],
    N_K_BLOCK_SIZES = sizeof k_block_sizes / sizeof k_block_sizes[0]
};

/* The row lengths to test a type on: multiples of its block size. */
static const int64_t *sizes_for(uint32_t type, size_t *count) {
    const int is_k = tl_type_traits_of(type)->block_size == 256;
    *count = is_k ? N_K_BLOCK_SIZES : N_BLOCK_SIZES;
    return is_k ? k_block_sizes : block_sizes;
}
static const int64_t odd_sizes[] = {1, 3, 7, 33, 65, 100};
static const int64_t token_counts[] = {1, 2, 3, 5, 8};

/* The entries the NEON set is expected to replace, so that a kernel that
 * silently fell back to the reference is noticed. */
static void check_entries_replaced(const named_set *s) {
    for (int i = 0; i < N_WEIGHT_TYPES; i++) {
        const uint32_t t = weight_types[i];
        const char *name = tl_type_traits_of(t)->name;
        if (s->set->vec_dot[t] == scalar->vec_dot[t]) fail(s->name, "vec_dot not replaced", name, 0, 0, 0, 0);
        if (!s->set->gemm[t]) fail(s->name, "gemm missing", name, 0, 0, 0, 0);
    }
    if (s->set->quantize[TL_TYPE_Q8_0] == scalar->quantize[TL_TYPE_Q8_0] ||
        s->set->quantize[TL_TYPE_Q8_1] == scalar->quantize[TL_TYPE_Q8_1] ||
        s->set->quantize[TL_TYPE_Q8_K] == scalar->quantize[TL_TYPE_Q8_K])
        fail(s->name, "quantize not replaced", "q8", 0, 0, 0, 0);
    if (s->set->kv_dot[TL_TYPE_F16] == scalar->kv_dot[TL_TYPE_F16] ||
        s->set->kv_axpy[TL_TYPE_F16] == scalar->kv_axpy[TL_TYPE_F16] ||
        s->set->kv_dot[TL_TYPE_F32] == scalar->kv_dot[TL_TYPE_F32] ||
        s->set->kv_axpy[TL_TYPE_F32] == scalar->kv_axpy[TL_TYPE_F32])
        fail(s->name, "kv helpers not replaced", "f16/f32", 0, 0, 0, 0);
}

/* ---- quantizers ------------------------------------------------------------- */

/* Blocks the reference treats specially, one per 32 floats. */
static void fill_special_blocks(float *x, int n_blocks) {
    for (int b = 0; b < n_blocks; b++) {
        float *block = x + 32 * b;
        fill_random(block, 32, 1.0f);
        switch (b % 10) {
        case 0: memset(block, 0, 32 * sizeof(float)); break;
        case 1: /* amax 127: d = 1, so halves are exact ties for roundf */
            for (int j = 0; j < 32; j++) block[j] = (float)(j - 16) + 0.5f;
            block[5] = 127.0f;
            break;
        case 2: block[7] = 3.0e38f; break; /* d overflows f16 */
        case 3:
            for (int j = 0; j < 32; j++) block[j] *= 1.0e-40f;
            break; /* 1/d overflows */
        case 4: block[9] = NAN; break;
        case 5: block[0] = INFINITY; break;
        case 6: block[31] = -INFINITY; break;
        case 7:
            memset(block, 0, 32 * sizeof(float));
            block[17] = -2.5e-3f;
            break;
        case 8:
            for (int j = 0; j < 32; j++) block[j] *= 1.0e-6f;
            break;                                     /* d below f16 normals */
        case 9: block[3] = -block[3] * 1000.0f; break; /* one dominant negative */
        }
    }
}

/* The same for 256-element q8_k blocks, one case per block, plus the cases
 * of its own scan: the largest magnitude present with both signs (the
 * first one decides d's sign) and -127 / max overflowing. */
static void fill_special_k_blocks(float *x, int n_blocks) {
    static int next_case;
    for (int b = 0; b < n_blocks; b++) {
        float *block = x + 256 * b;
        fill_random(block, 256, 1.0f);
        switch (next_case++ % 13) {
        case 0: memset(block, 0, 256 * sizeof(float)); break;
        case 1: /* max 127: iscale -1, so halves are exact ties */
            for (int j = 0; j < 256; j++) block[j] = (float)(j % 200 - 100) + 0.5f;
            block[77] = 127.0f;
            break;
        case 2: block[100] = 3.0e38f; break;
        case 3:
            for (int j = 0; j < 256; j++) block[j] *= 1.0e-40f;
            break; /* iscale overflows */
        case 4: block[9] = NAN; break;
        case 5: block[200] = INFINITY; break;
        case 6: block[255] = -INFINITY; break;
        case 7:
            block[40] = 2.0f;
            block[41] = -2.0f;
            break; /* tie, positive first */
        case 8:
            block[3] = -2.0f;
            block[250] = 2.0f;
            break; /* tie, negative first */
        case 9:
            block[130] = -5.0f;
            block[131] = -5.0f;
            break; /* negative, twice */
        case 10:
            memset(block, 0, 256 * sizeof(float));
            block[17] = -2.5e-3f;
            break;
        case 11:
            for (int j = 0; j < 256; j++) block[j] *= 1.0e-6f;
            break;
        case 12:
            for (int j = 0; j < 256; j++) block[j] *= 1.0e-36f;
            break; /* near the edge */
        }
    }
}

static void check_quantizer(const named_set *s, uint32_t type) {
    const char *name = tl_type_traits_of(type)->name;
    static const float scales[] = {1.0f, 1.0e-3f, 3.0e4f};
    const int is_k = type == TL_TYPE_Q8_K;
    size_t n_sizes;
    const int64_t *sizes = sizes_for(type, &n_sizes);
    for (int special = 0; special < 2; special++) {
        for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
            for (size_t ni = 0; ni < n_sizes; ni++) {
                /* exact sizes, so a sanitizer sees any overrun; the source
                 * starts at an odd float in half of the cases */
                const int64_t n = sizes[ni], shift = (int64_t)(ni & 1);
                const size_t bytes = tl_type_row_bytes(type, n);
                float *x = checked_malloc((size_t)(n + shift) * sizeof(float));
                uint8_t *want = checked_malloc(bytes), *got = checked_malloc(bytes);
                float *src = x + shift;
                if (special && is_k)
                    fill_special_k_blocks(src, (int)(n / 256));
                else if (special)
                    fill_special_blocks(src, (int)(n / 32));
                else
                    fill_random(src, n, scales[si]);
                memset(want, 0xAA, bytes);
                memset(got, 0x55, bytes);
                scalar->quantize[type](src, want, n);
                s->set->quantize[type](src, got, n);
                if (memcmp(want, got, bytes) != 0) {
                    size_t at = 0;
                    while (want[at] == got[at]) at++;
                    fail(s->name, "quantize differs at byte", name, n, (int64_t)at, got[at], want[at]);
                }
                free(x);
                free(want);
                free(got);
            }
        }
    }
}

/* ---- vec_dot and gemm ---------------------------------------------------------- */

/* A weight matrix, activations converted to vec_dot_type, and the floats
 * they came from (for the size of the terms). */
typedef struct problem {
    uint32_t type, act_type;
    int64_t n_cols, n_rows, n_tokens;
    size_t w_row_bytes, x_row_bytes; /* padded: rows start at unaligned addresses */
    uint8_t *w, *x;
    float *w_float, *x_float;
} problem;

static void make_problem(problem *p, uint32_t type, int64_t n_cols, int64_t n_rows, int64_t n_tokens) {
    const tl_type_traits *traits = tl_type_traits_of(type);
    p->type = type;
    p->act_type = traits->vec_dot_type;
    p->n_cols = n_cols;
    p->n_rows = n_rows;
    p->n_tokens = n_tokens;
    p->w_row_bytes = tl_type_row_bytes(type, n_cols) + 6;
    p->x_row_bytes = tl_type_row_bytes(p->act_type, n_cols) + 10;
    /* exact sizes (after the odd start), so a sanitizer sees any overread */
    p->w = checked_malloc(1 + p->w_row_bytes * (size_t)(n_rows - 1) + tl_type_row_bytes(type, n_cols));
    p->x = checked_malloc(3 + p->x_row_bytes * (size_t)(n_tokens - 1) + tl_type_row_bytes(p->act_type, n_cols));
    p->w_float = checked_malloc(sizeof(float) * (size_t)(n_cols * n_rows));
    p->x_float = checked_malloc(sizeof(float) * (size_t)(n_cols * n_tokens));
    uint8_t *w = p->w + 1, *x = p->x + 3; /* odd base addresses too */
    for (int64_t r = 0; r < n_rows; r++) {
        float *row = p->w_float + r * n_cols;
        if (is_iquant(type)) {
            fill_iquant_row(type, w + (size_t)r * p->w_row_bytes, n_cols);
            traits->to_float(w + (size_t)r * p->w_row_bytes, row, n_cols);
            continue;
        }
        fill_random(row, n_cols, r % 3 == 0 ? 0.05f : 1.0f);
        if (r % 4 == 1) /* a row with offset values, where q4_1 / q5_1 minimums matter */
            for (int64_t i = 0; i < n_cols; i++) row[i] += 0.7f;
        traits->from_float(row, w + (size_t)r * p->w_row_bytes, n_cols);
        if (type == TL_TYPE_Q8_0 && r == 2) /* -128 is a valid stored level */
            for (int64_t b = 0; b < n_cols / 32; b++)
                w[(size_t)r * p->w_row_bytes + (size_t)b * 34 + 2 + (size_t)(b % 32)] = 0x80;
    }
    for (int64_t t = 0; t < n_tokens; t++) {
        float *row = p->x_float + t * n_cols;
        fill_random(row, n_cols, t % 2 ? 3.0f : 1.0f);
        if (is_iquant(type) && t % 4 >= 2) /* huge and tiny activations */
            for (int64_t i = 0; i < n_cols; i++) row[i] *= t % 4 == 2 ? 3e3f : 1e-5f;
        scalar->quantize[p->act_type](row, x + (size_t)t * p->x_row_bytes, n_cols);
    }
    p->w = w; /* keep the odd pointers; the allocations started one / three bytes before */
    p->x = x;
}

static void free_problem(problem *p) {
    free(p->w - 1);
    free(p->x - 3);
    free(p->w_float);
    free(p->x_float);
}

static const uint8_t *weight_row(const problem *p, int64_t r) {
    return p->w + (size_t)r * p->w_row_bytes;
}

static const uint8_t *token_row(const problem *p, int64_t t) {
    return p->x + (size_t)t * p->x_row_bytes;
}

static void check_vec_dot(const named_set *s, const problem *p) {
    const char *name = tl_type_traits_of(p->type)->name;
    for (int64_t r = 0; r < p->n_rows; r++) {
        for (int64_t t = 0; t < p->n_tokens; t++) {
            float want = 0.0f, got = 0.0f;
            scalar->vec_dot[p->type](p->n_cols, &want, weight_row(p, r), token_row(p, t));
            s->set->vec_dot[p->type](p->n_cols, &got, weight_row(p, r), token_row(p, t));
            const double mag = sum_abs_products(p->w_float + r * p->n_cols, p->x_float + t * p->n_cols, p->n_cols);
            if (!close_enough(got, want, mag, p->n_cols)) fail(s->name, "vec_dot", name, p->n_cols, r, got, want);
        }
    }
}

/* gemm over rows [r0, r1) into y with an odd ldy; every other y must keep
 * its sentinel value. */
static void check_gemm(const named_set *s, const problem *p, int64_t r0, int64_t r1) {
    const char *name = tl_type_traits_of(p->type)->name;
    const int64_t ldy = p->n_rows + 3;
    const size_t y_count = (size_t)(ldy * p->n_tokens);
    float *y = checked_malloc(y_count * sizeof(float));
    const float sentinel = -12345.5f;
    for (size_t i = 0; i < y_count; i++) y[i] = sentinel;
    tl_kernels_gemm(s->set, p->type, p->n_cols, p->w, p->w_row_bytes, r0, r1, p->x, p->x_row_bytes, p->n_tokens, y,
                    ldy);
    for (int64_t t = 0; t < p->n_tokens; t++) {
        for (int64_t r = 0; r < ldy; r++) {
            const float got = y[t * ldy + r];
            if (r < r0 || r >= r1) {
                if (got != sentinel) fail(s->name, "gemm wrote outside rows", name, t, r, got, sentinel);
                continue;
            }
            float want = 0.0f;
            scalar->vec_dot[p->type](p->n_cols, &want, weight_row(p, r), token_row(p, t));
            const double mag = sum_abs_products(p->w_float + r * p->n_cols, p->x_float + t * p->n_cols, p->n_cols);
            if (!close_enough(got, want, mag, p->n_cols)) {
                char what[128];
                snprintf(what, sizeof what, "gemm n_cols=%lld tokens=%lld rows=[%lld,%lld)", (long long)p->n_cols,
                         (long long)p->n_tokens, (long long)r0, (long long)r1);
                fail(s->name, what, name, t, r, got, want);
            }
        }
    }
    free(y);
}

static void check_matrix_kernels(const named_set *s, uint32_t type) {
    static const int64_t ranges[][2] = {{0, 13}, {3, 11}, {5, 6}, {1, 10}, {9, 13}};
    const int is_float = !tl_type_traits_of(type)->is_quantized;
    size_t n_block;
    const int64_t *sizes = sizes_for(type, &n_block);
    const size_t n_odd = is_float ? sizeof odd_sizes / sizeof odd_sizes[0] : 0;
    for (size_t ci = 0; ci < n_block + n_odd; ci++) {
        const int64_t n_cols = ci < n_block ? sizes[ci] : odd_sizes[ci - n_block];
        for (size_t ti = 0; ti < sizeof token_counts / sizeof token_counts[0]; ti++) {
            problem p;
            make_problem(&p, type, n_cols, 13, token_counts[ti]);
            if (ti == 0) check_vec_dot(s, &p);
            for (size_t ri = 0; ri < sizeof ranges / sizeof ranges[0]; ri++)
                check_gemm(s, &p, ranges[ri][0], ranges[ri][1]);
            free_problem(&p);
        }
    }
}

/* ---- KV-cache helpers ------------------------------------------------------------ */

static void check_kv(const named_set *s, uint32_t type) {
    static const int64_t lengths[] = {1, 3, 4, 7, 8, 16, 31, 64, 100, 128, 129};
    const char *name = tl_type_traits_of(type)->name;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const int64_t n = lengths[li];
        float *q = checked_malloc(sizeof(float) * (size_t)n);
        float *row_float = checked_malloc(sizeof(float) * (size_t)n);
        float *out_want = checked_malloc(sizeof(float) * (size_t)n);
        float *out_got = checked_malloc(sizeof(float) * (size_t)n);
        void *row = checked_malloc(tl_type_row_bytes(type, n));
        fill_random(q, n, 2.0f);
        fill_random(row_float, n, 1.0f);
        tl_type_traits_of(type)->from_float(row_float, row, n);
        tl_type_traits_of(type)->to_float(row, row_float, n);

        const float want = scalar->kv_dot[type](n, q, row), got = s->set->kv_dot[type](n, q, row);
        if (!close_enough(got, want, sum_abs_products(q, row_float, n), n))
            fail(s->name, "kv_dot", name, n, 0, got, want);

        fill_random(out_want, n, 1.0f);
        memcpy(out_got, out_want, sizeof(float) * (size_t)n);
        const float a = random_float(1.5f);
        scalar->kv_axpy[type](n, a, row, out_want);
        s->set->kv_axpy[type](n, a, row, out_got);
        for (int64_t i = 0; i < n; i++) {
            /* one rounding of a * row[i] may be skipped by a fused multiply-add */
            const double size = fabs(out_want[i]) + fabs((double)a * row_float[i]);
            if (fabs((double)out_got[i] - out_want[i]) > 1e-6 * size)
                fail(s->name, "kv_axpy", name, n, i, out_got[i], out_want[i]);
        }
        free(q);
        free(row_float);
        free(out_want);
        free(out_got);
        free(row);
    }
}

/* ---- main ------------------------------------------------------------------------ */

static void check_set(const named_set *s) {
    const int before = failures;
    worst_relative_error = 0.0;
    check_entries_replaced(s);
    check_quantizer(s, TL_TYPE_Q8_0);
    check_quantizer(s, TL_TYPE_Q8_1);
    check_quantizer(s, TL_TYPE_Q8_K);
    for (int i = 0; i < N_WEIGHT_TYPES; i++) check_matrix_kernels(s, weight_types[i]);
    check_kv(s, TL_TYPE_F32);
    check_kv(s, TL_TYPE_F16);
    printf("%-14s %s (worst relative error %.2e)\n", s->name, failures == before ? "ok" : "FAILED",
           worst_relative_error);
}

int main(void) {
    scalar = tl_kernels_named("scalar");
    const tl_kernel_set *neon = tl_kernels_named("neon");
    if (!scalar || !neon) {
        printf("no NEON kernel set in this build (was TL_HAVE_NEON_KERNELS defined?)\n");
        return 77;
    }
    const tl_cpu_features *f = tl_cpu_get_features();
    printf("cpu: neon %d, dotprod %d, i8mm %d, fp16 %d; default set: %s\n", f->neon, f->neon_dotprod, f->neon_i8mm,
           f->neon_fp16, tl_kernels()->name);

    /* The selected set uses every extension the CPU has; the masked ones
     * cover the paths it does not take here. */
    tl_kernel_set dotprod_only, baseline;
    build_masked_set(&dotprod_only, "neon-dotprod", 1);
    build_masked_set(&baseline, "neon-baseline", 0);
    const char *selected = f->neon_i8mm && f->neon_dotprod ? "neon-i8mm"
                           : f->neon_dotprod               ? "neon-dotprod"
                                                           : "neon-baseline";
    check_set(&(named_set){selected, neon});
    if (f->neon_i8mm && f->neon_dotprod) check_set(&(named_set){"neon-dotprod", &dotprod_only});
    if (f->neon_dotprod) check_set(&(named_set){"neon-baseline", &baseline});

    if (failures) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("all NEON kernels match the reference\n");
    return 0;
}
