/*
 * test_kernels.c — every SIMD kernel level this CPU can run, checked against
 * the "scalar" set (the reference functions of the type table) on seeded
 * random data of awkward shapes (src/tensor/kernels.c, x86/, arm/).
 *
 * - Activation quantizers must be bit-exact, including special blocks (all
 *   zero, exact .5 ties, infinities, NaN, huge and subnormal values).
 * - Dot products and matrix kernels may only differ in the order of float
 *   additions: the integer dot of each block is exact, so the difference is
 *   bounded by a few float roundings of the magnitudes summed. The bound used
 *   is |got - want| <= 1e-5 * sum_i |w_i * x_i| (in double, from the
 *   dequantized rows): a float sum of m terms is off by at most about
 *   m * 2^-24 times the sum of magnitudes, and m (blocks, or elements per
 *   lane) stays far below the ~170 that would reach 1e-5 on these sizes; the
 *   reference itself rounds the same way.
 * - KV rows are element-aligned but not vector-aligned (the scalar set reads
 *   them through typed pointers).
 * - Matrix kernels must write exactly y[t * ldy + r] for r in [r0, r1) and
 *   t < n_tokens (a sentinel checks the rest), with r0 > 0, odd ldy, odd row
 *   strides and unaligned pointers.
 * - I-quant weights (iq4_nl, iq4_xs, iq3_s, iq2_xs) are random bytes, so
 *   every index, sign pattern and sub-block scale occurs, with block scales d
 *   cycling through extreme f16 values (largest, subnormal, zero, negative);
 *   their activations include huge and tiny rows. Every SIMD level must
 *   have its own kernel for them. A matrix kernel that promises the bits of
 *   the level's vec_dot (gemm_exact) must give them whatever the batch;
 *   AVX2 must promise it for the float types and these.
 * - The K-quant scales the SIMD levels unpack four at a time agree with the
 *   reference's one-at-a-time reading (block_fields.h), and the type table's
 *   block sizes are the structs' of blocks.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "tensor/block_fields.h"
#include "tensor/blocks.h"
#include "tensor/kernels.h"
#include "tensor/quant_ref.h"
#include "tensor/types.h"

/* ---- helpers ------------------------------------------------------------ */

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static const tl_kernel_set *scalar_set(void) {
    const tl_kernel_set *k = tl_kernels_named("scalar");
    assert_non_null(k);
    return k;
}

/* Calls fn for every SIMD level compiled in that this CPU can run. */
static int for_each_simd_level(void (*fn)(const tl_kernel_set *k)) {
    int n = 0;
    for (const char *const *name = tl_kernel_level_names(); *name; name++) {
        if (strcmp(*name, "scalar") == 0) continue;
        const tl_kernel_set *k = tl_kernels_named(*name);
        if (!k) continue;
        fn(k);
        n++;
    }
    return n;
}

/* n elements of a type to float; q8_1 has no to_float in the table. */
static void to_float(uint32_t type, const uint8_t *src, float *dst, int64_t n) {
    if (type == TL_TYPE_Q8_1) {
        for (int64_t b = 0; b < n / 32; b++, src += 36) {
            const float d = tl_fp16_to_fp32((uint16_t)(src[0] | (src[1] << 8)));
            for (int j = 0; j < 32; j++) dst[b * 32 + j] = (float)(int8_t)src[4 + j] * d;
        }
        return;
    }
    tl_type_traits_of(type)->to_float(src, dst, n);
}

/* sum_i |w_i * x_i| in double: the magnitude that float rounding scales with. */
static double abs_dot(uint32_t wtype, const uint8_t *w, uint32_t xtype, const uint8_t *x, int64_t n, float *wf,
                      float *xf) {
    to_float(wtype, w, wf, n);
    to_float(xtype, x, xf, n);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += fabs((double)wf[i] * (double)xf[i]);
    return sum;
}

static void expect_close(float got, float want, double magnitude, const char *what, const char *level, const char *type,
                         int64_t n_cols) {
    const double bound = 1e-5 * magnitude + 1e-30;
    if (!(fabs((double)got - (double)want) <= bound)) {
        print_error("%s %s/%s n_cols=%lld: got %.9g want %.9g (bound %.3g)\n", what, level, type, (long long)n_cols,
                    (double)got, (double)want, bound);
        fail();
    }
}

/* ---- activation quantizers ---------------------------------------------- */

/* Blocks meant to hit every branch of the reference quantizer. */
static void fill_special_blocks(float *x, int64_t n) {
    fill_random(x, n, 1.0f);
    const int64_t blocks = n / 32;
    for (int64_t b = 0; b < blocks; b++) {
        float *v = x + b * 32;
        switch (b % 10) {
        case 0: memset(v, 0, 32 * sizeof *v); break; /* d = 0 */
        case 1:                                      /* exact .5 ties after scaling */
            for (int j = 0; j < 32; j++) v[j] = (float)(j - 16) * 0.5f;
            v[0] = 127.0f;
            break;
        case 2: v[5] = INFINITY; break;
        case 3:
            v[7] = -INFINITY;
            v[9] = INFINITY;
            break;
        case 4: v[3] = NAN; break;
        case 5: v[31] = float_of(0xffc00001u); break; /* negative NaN, odd payload */
        case 6:                                       /* huge: d overflows f16 */
            for (int j = 0; j < 32; j++) v[j] *= 1e30f;
            break;
        case 7: /* subnormal: 1/d overflows */
            for (int j = 0; j < 32; j++) v[j] = float_of(rng_next() & 0x807fffffu);
            break;
        case 8: /* one big outlier, ties to -127 */ v[11] = -1000.0f; break;
        default: break;
        }
    }
}

/* q8_k super-blocks (256 elements) meant to hit every branch of its
 * reference quantizer, which picks the sign of the first element of largest
 * magnitude and rounds half to even. */
static void fill_special_super_blocks(float *x, int64_t n) {
    fill_random(x, n, 1.0f);
    for (int64_t b = 0; b < n / 256; b++) {
        float *v = x + b * 256;
        switch (b % 9) {
        case 0: memset(v, 0, 256 * sizeof *v); break; /* d = 0 */
        case 1:                                       /* iscale = -1: exact .5 ties */
            for (int j = 0; j < 256; j++) v[j] = (float)(j % 64 - 32) + 0.5f;
            v[17] = 127.0f;
            break;
        case 2: /* equal magnitudes, sign of the first */
            v[40] = -9.0f;
            v[41] = 9.0f;
            v[200] = 9.0f;
            break;
        case 3: v[100] = INFINITY; break;
        case 4: v[255] = NAN; break;
        case 5: /* subnormal: iscale overflows */
            for (int j = 0; j < 256; j++) v[j] = float_of(rng_next() & 0x807fffffu);
            break;
        case 6: /* huge values */
            for (int j = 0; j < 256; j++) v[j] *= 1e37f;
            break;
        case 7: v[3] = -1000.0f; break; /* one big outlier */
        default: break;
        }
    }
}

static void check_quantizers(const tl_kernel_set *k) {
    static const uint32_t types[] = {TL_TYPE_Q8_0, TL_TYPE_Q8_1, TL_TYPE_F16, TL_TYPE_BF16, TL_TYPE_Q8_K};
    static const int64_t sizes[] = {32, 96, 224, 320, 576, 896, 1184};
    static const int64_t k_sizes[] = {256, 768, 1536, 2304, 4864};
    const tl_kernel_set *ref = scalar_set();
    /* x86 levels quantize q8_0/q8_1 activations as ggml's x86 code (127/amax,
     * half to even); everything else as the reference. */
    const bool x86 = strcmp(k->name, "avx2") == 0 || strcmp(k->name, "avx512") == 0;
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const uint32_t type = types[ti];
        if (k->quantize[type] == ref->quantize[type]) continue;
        tl_from_float_fn oracle = ref->quantize[type];
        if (x86 && type == TL_TYPE_Q8_0) oracle = tl_q8_0_from_float_x86;
        if (x86 && type == TL_TYPE_Q8_1) oracle = tl_q8_1_from_float_x86;
        const int is_k = tl_type_traits_of(type)->block_size == 256;
        const size_t n_sizes = is_k ? sizeof k_sizes / sizeof k_sizes[0] : sizeof sizes / sizeof sizes[0];
        for (size_t si = 0; si < n_sizes; si++) {
            const int64_t n = is_k ? k_sizes[si] : sizes[si];
            const size_t bytes = tl_type_row_bytes(type, n);
            float *x = malloc((size_t)(n + 1) * sizeof *x);
            uint8_t *want = malloc(bytes), *got = malloc(bytes + 1);
            assert_true(x && want && got);
            for (int pass = 0; pass < 2; pass++) {
                float *src = x + pass; /* pass 1: unaligned source and destination */
                if (pass == 1)
                    fill_random(src, n, 3.0f);
                else if (is_k)
                    fill_special_super_blocks(src, n);
                else
                    fill_special_blocks(src, n);
                oracle(src, want, n);
                memset(got, 0xAA, bytes + 1);
                k->quantize[type](src, got + pass, n);
                if (memcmp(want, got + pass, bytes) != 0) {
                    size_t at = 0;
                    while (want[at] == got[pass + at]) at++;
                    print_error("quantize %s/%s n=%lld pass %d: byte %zu (block %zu) differs\n", k->name,
                                tl_type_traits_of(type)->name, (long long)n, pass, at,
                                at / tl_type_traits_of(type)->block_bytes);
                    fail();
                }
            }
            free(x);
            free(want);
            free(got);
        }
    }
}

static void test_quantizers_bit_exact(void **state) {
    (void)state;
    rng_seed(11);
    for_each_simd_level(check_quantizers);
}

/* ---- dot products and matrix kernels ------------------------------------ */

static const uint32_t weight_types[] = {TL_TYPE_F32,   TL_TYPE_F16,   TL_TYPE_BF16, TL_TYPE_Q4_0,   TL_TYPE_Q4_1,
                                        TL_TYPE_Q5_0,  TL_TYPE_Q5_1,  TL_TYPE_Q8_0, TL_TYPE_Q2_K,   TL_TYPE_Q3_K,
                                        TL_TYPE_Q4_K,  TL_TYPE_Q5_K,  TL_TYPE_Q6_K, TL_TYPE_IQ4_NL, TL_TYPE_IQ4_XS,
                                        TL_TYPE_IQ3_S, TL_TYPE_IQ2_XS};

static const uint32_t iquant_types[] = {TL_TYPE_IQ4_NL, TL_TYPE_IQ4_XS, TL_TYPE_IQ3_S, TL_TYPE_IQ2_XS};

static int is_iquant(uint32_t type) {
    for (size_t i = 0; i < sizeof iquant_types / sizeof iquant_types[0]; i++)
        if (iquant_types[i] == type) return 1;
    return 0;
}

/* One row of random i-quant blocks: random bytes, then every block's f16 d
 * (the first field of all four types) set to an ordinary scale or, one
 * block in five, an extreme one. */
static void fill_iquant_row(uint32_t type, uint8_t *row, int64_t n_cols, float scale) {
    static const uint16_t extreme[] = {0x7bff /* 65504 */,
                                       0x0001 /* smallest subnormal */,
                                       0x0400, /* smallest normal */
                                       0x0000,
                                       0xfbff /* -65504 */,
                                       0x83ff /* negative subnormal */};
    const size_t bytes = tl_type_row_bytes(type, n_cols), block = tl_type_traits_of(type)->block_bytes;
    for (size_t i = 0; i < bytes; i++) row[i] = (uint8_t)rng_next();
    for (size_t at = 0; at < bytes; at += block) {
        uint16_t d = tl_fp32_to_fp16(scale * rng_uniform());
        if (rng_next() % 5 == 0) d = extreme[rng_next() % (sizeof extreme / sizeof extreme[0])];
        memcpy(row + at, &d, sizeof d);
    }
}

/* Activation rows for i-quant weights: one in four huge, one in four tiny. */
static float activation_scale(int64_t r) {
    return r % 4 == 1 ? 3e3f : r % 4 == 2 ? 1e-5f : 1.0f;
}

/* A random matrix of `rows` rows quantized to `type`, rows `row_bytes` apart
 * (more than the packed size: exercises strides), at an unaligned address. */
typedef struct test_matrix {
    uint8_t *alloc, *data;
    size_t row_bytes;
} test_matrix;

/* extreme: vary the rows' scales over many orders of magnitude. */
static test_matrix make_matrix_ext(uint32_t type, int64_t rows, int64_t n_cols, size_t pad, float scale, int extreme) {
    const tl_kernel_set *ref = scalar_set();
    const size_t packed = tl_type_row_bytes(type, n_cols);
    test_matrix m;
    m.row_bytes = packed + pad;
    m.alloc = malloc(m.row_bytes * (size_t)rows + 64);
    assert_non_null(m.alloc);
    memset(m.alloc, 0x5C, m.row_bytes * (size_t)rows + 64);
    m.data = m.alloc + 3;
    float *row = malloc((size_t)n_cols * sizeof *row);
    assert_non_null(row);
    for (int64_t r = 0; r < rows; r++) {
        if (is_iquant(type)) {
            fill_iquant_row(type, m.data + (size_t)r * m.row_bytes, n_cols, scale * (1.0f + (float)(r % 5)));
            continue;
        }
        fill_random(row, n_cols, scale * (1.0f + (float)(r % 5)) * (extreme ? activation_scale(r) : 1.0f));
        ref->quantize[type](row, m.data + (size_t)r * m.row_bytes, n_cols);
    }
    free(row);
    return m;
}

static test_matrix make_matrix(uint32_t type, int64_t rows, int64_t n_cols, size_t pad, float scale) {
    return make_matrix_ext(type, rows, n_cols, pad, scale, 0);
}

/* Checks the level's gemm over rows [r0, r1) and n_tokens tokens, and its
 * vec_dot on the first token, against the reference vec_dot. */
static void check_gemm_case(const tl_kernel_set *k, uint32_t wtype, int64_t n_cols, int64_t rows, int64_t r0,
                            int64_t r1, int64_t n_tokens) {
    const tl_kernel_set *ref = scalar_set();
    const uint32_t xtype = tl_type_traits_of(wtype)->vec_dot_type;
    const char *tname = tl_type_traits_of(wtype)->name;
    test_matrix w = make_matrix(wtype, rows, n_cols, wtype == TL_TYPE_F32 ? 4 : 3, 0.05f);
    test_matrix x = make_matrix_ext(xtype, n_tokens, n_cols, xtype == TL_TYPE_F32 ? 8 : 5, 1.0f, is_iquant(wtype));
    const int64_t ldy = rows + 3;
    const size_t y_count = (size_t)(ldy * n_tokens);
    float *y = malloc(y_count * sizeof *y);
    float *wf = malloc((size_t)n_cols * sizeof *wf), *xf = malloc((size_t)n_cols * sizeof *xf);
    assert_true(y && wf && xf);
    const float sentinel = -12345.678f;
    for (size_t i = 0; i < y_count; i++) y[i] = sentinel;

    tl_kernels_gemm(k, wtype, n_cols, w.data, w.row_bytes, r0, r1, x.data, x.row_bytes, n_tokens, y, ldy);

    for (int64_t t = 0; t < n_tokens; t++) {
        const uint8_t *xrow = x.data + (size_t)t * x.row_bytes;
        for (int64_t r = 0; r < ldy; r++) {
            const float got = y[t * ldy + r];
            if (r < r0 || r >= r1) {
                if (got != sentinel) {
                    print_error("gemm %s/%s wrote outside its rows: r=%lld t=%lld\n", k->name, tname, (long long)r,
                                (long long)t);
                    fail();
                }
                continue;
            }
            const uint8_t *wrow = w.data + (size_t)r * w.row_bytes;
            float want;
            ref->vec_dot[wtype](n_cols, &want, wrow, xrow);
            const double mag = abs_dot(wtype, wrow, xtype, xrow, n_cols, wf, xf);
            expect_close(got, want, mag, "gemm", k->name, tname, n_cols);
            if (t == 0) {
                float dot;
                k->vec_dot[wtype](n_cols, &dot, wrow, xrow);
                expect_close(dot, want, mag, "vec_dot", k->name, tname, n_cols);
            }
        }
    }
    free(y);
    free(wf);
    free(xf);
    free(w.alloc);
    free(x.alloc);
}

static void check_gemm_shapes(const tl_kernel_set *k) {
    static const int64_t block_cols[] = {32, 96, 224, 576, 896, 1184};
    static const int64_t float_cols[] = {1, 7, 33, 100, 576};
    static const int64_t k_cols[] = {256, 768, 1536, 4864}; /* 1, 3, 6, 19 super-blocks */
    static const int64_t token_counts[] = {1, 2, 3, 5, 8, 13};
    for (size_t ti = 0; ti < sizeof weight_types / sizeof weight_types[0]; ti++) {
        const uint32_t wtype = weight_types[ti];
        const int64_t block_size = tl_type_traits_of(wtype)->block_size;
        const int is_float = block_size == 1;
        const int64_t *cols = is_float ? float_cols : block_size == 256 ? k_cols : block_cols;
        const size_t n_cols_count = is_float            ? sizeof float_cols / sizeof float_cols[0]
                                    : block_size == 256 ? sizeof k_cols / sizeof k_cols[0]
                                                        : sizeof block_cols / sizeof block_cols[0];
        for (size_t ci = 0; ci < n_cols_count; ci++) {
            for (size_t tk = 0; tk < sizeof token_counts / sizeof token_counts[0]; tk++) {
                /* row ranges: a partial tile at an odd start, and a band of a
                 * full tile plus one a row short of full */
                check_gemm_case(k, wtype, cols[ci], 21, 3, 20, token_counts[tk]);
                if (tk % 2 == 0) check_gemm_case(k, wtype, cols[ci], 71, 1, 64, token_counts[tk]);
            }
        }
        /* a larger batch that goes through the tiled path with full tiles */
        check_gemm_case(k, wtype, is_float ? 160 : block_size == 256 ? 1536 : 320, 80, 5, 80, 64);
        /* float weights over many tokens, odd column counts and row ranges */
        if (is_float) {
            static const int64_t many_cols[] = {1, 9, 255, 257, 600};
            static const int64_t many_tokens[] = {16, 23, 300};
            for (size_t ci = 0; ci < sizeof many_cols / sizeof many_cols[0]; ci++)
                for (size_t tk = 0; tk < sizeof many_tokens / sizeof many_tokens[0]; tk++)
                    check_gemm_case(k, wtype, many_cols[ci], 40, tk == 1 ? 0 : 3, tk == 2 ? 22 : 37, many_tokens[tk]);
        }
    }
}

static void test_gemm_and_vec_dot_match_reference(void **state) {
    (void)state;
    rng_seed(22);
    for_each_simd_level(check_gemm_shapes);
}

/* Many random i-quant rows (2000 blocks per type) against the reference
 * dot, and each SIMD level has a kernel of its own for them. */
static void check_iquant_dots(const tl_kernel_set *k) {
    const tl_kernel_set *ref = scalar_set();
    enum { ROWS = 250 };
    for (size_t ti = 0; ti < sizeof iquant_types / sizeof iquant_types[0]; ti++) {
        const uint32_t wtype = iquant_types[ti];
        const tl_type_traits *tt = tl_type_traits_of(wtype);
        if (k->vec_dot[wtype] == ref->vec_dot[wtype]) fail_msg("%s has no %s kernel", k->name, tt->name);
        const int64_t n_cols = 8 * tt->block_size;
        test_matrix w = make_matrix(wtype, ROWS, n_cols, 1, 0.05f);
        test_matrix x = make_matrix_ext(tt->vec_dot_type, ROWS, n_cols, 7, 1.0f, 1);
        float *wf = malloc((size_t)n_cols * sizeof *wf), *xf = malloc((size_t)n_cols * sizeof *xf);
        assert_true(wf && xf);
        for (int64_t r = 0; r < ROWS; r++) {
            const uint8_t *wrow = w.data + (size_t)r * w.row_bytes, *xrow = x.data + (size_t)r * x.row_bytes;
            float want, got;
            ref->vec_dot[wtype](n_cols, &want, wrow, xrow);
            k->vec_dot[wtype](n_cols, &got, wrow, xrow);
            expect_close(got, want, abs_dot(wtype, wrow, tt->vec_dot_type, xrow, n_cols, wf, xf), "vec_dot", k->name,
                         tt->name, n_cols);
        }
        free(wf);
        free(xf);
        free(w.alloc);
        free(x.alloc);
    }
}

static void test_iquant_dots_match_reference(void **state) {
    (void)state;
    rng_seed(23);
    for_each_simd_level(check_iquant_dots);
}

/* Types whose AVX2 matrix kernel must promise the bits of the level's
 * vec_dot (tl_kernels_gemm_exact then uses it for exact runs). */
static const uint32_t avx2_exact_types[] = {TL_TYPE_F32,   TL_TYPE_F16,    TL_TYPE_BF16, TL_TYPE_IQ4_NL, TL_TYPE_IQ4_XS,
                                            TL_TYPE_IQ3_S, TL_TYPE_IQ2_XS, TL_TYPE_Q8_0, TL_TYPE_Q4_0,   TL_TYPE_Q4_1,
                                            TL_TYPE_Q5_0,  TL_TYPE_Q5_1,   TL_TYPE_Q2_K, TL_TYPE_Q3_K,   TL_TYPE_Q4_K,
                                            TL_TYPE_Q5_K,  TL_TYPE_Q6_K};

/* Every matrix kernel that promises the bits of its level's vec_dot (the
 * AVX2 ones of avx2_exact_types must) is held to it for every (row, token):
 * odd token counts (tiles plus leftovers, a single token), row ranges
 * starting inside the matrix that are shorter than one group of rows or a
 * few groups plus leftovers, and rows longer than one prepared segment with
 * more tokens than one tile (there also against the reference dot). */
static void check_gemm_exact_bits(const tl_kernel_set *k) {
    const bool avx2 = strcmp(k->name, "avx2") == 0;
    const tl_kernel_set *ref = scalar_set();
    static const int64_t tokens[] = {1, 2, 3, 5, 7, 13};
    if (avx2)
        for (size_t i = 0; i < sizeof avx2_exact_types / sizeof avx2_exact_types[0]; i++) {
            const uint32_t t = avx2_exact_types[i];
            if (!tl_kernels_exact_gemm(k, t))
                fail_msg("%s: the %s matrix kernel does not promise vec_dot's bits", k->name,
                         tl_type_traits_of(t)->name);
        }
    /* AVX-512 has batch-invariant kernels for these: AVX2's where it keeps
     * AVX2's dot (f32, f16, q5_k), its own streaming ones for the rest. */
    static const uint32_t avx512_kept[] = {TL_TYPE_F32,  TL_TYPE_F16,  TL_TYPE_Q8_0, TL_TYPE_Q4_0,   TL_TYPE_Q5_0,
                                           TL_TYPE_Q5_K, TL_TYPE_Q4_K, TL_TYPE_Q6_K, TL_TYPE_IQ4_XS, TL_TYPE_IQ4_NL};
    if (strcmp(k->name, "avx512") == 0)
        for (size_t i = 0; i < sizeof avx512_kept / sizeof avx512_kept[0]; i++)
            if (!tl_kernels_exact_gemm(k, avx512_kept[i]))
                fail_msg("avx512: exact runs of %s have no batch-invariant kernel",
                         tl_type_traits_of(avx512_kept[i])->name);
    for (size_t ti = 0; ti < sizeof weight_types / sizeof weight_types[0]; ti++) {
        const uint32_t wtype = weight_types[ti];
        const tl_type_traits *tt = tl_type_traits_of(wtype);
        if (!tl_kernels_exact_gemm(k, wtype)) continue;
        const int64_t bs = tt->block_size, large = 8448 / bs * bs;
        const int64_t block_cols[] = {bs, 3 * bs, 7 * bs, large}, float_cols[] = {1, 7, 100, 576, large};
        const int64_t *cols = bs == 1 ? float_cols : block_cols;
        const size_t n_cols =
            bs == 1 ? sizeof float_cols / sizeof float_cols[0] : sizeof block_cols / sizeof block_cols[0];
        for (size_t ci = 0; ci < n_cols; ci++) {
            const int is_large = cols[ci] == large;
            const size_t n_shapes = is_large ? 2 : sizeof tokens / sizeof tokens[0];
            for (size_t tk = 0; tk < n_shapes; tk++) {
                const int64_t n_tokens = is_large ? (tk ? 1 : 37) : tokens[tk];
                /* 7 rows from row 2, or 19 (two groups of 8 and 3) from row 1 */
                const int64_t rows = tk % 2 ? 21 : 11, r0 = tk % 2 ? 1 : 2, r1 = tk % 2 ? 20 : 9;
                test_matrix w = make_matrix(wtype, rows, cols[ci], 3, 0.05f);
                test_matrix x = make_matrix_ext(tt->vec_dot_type, n_tokens, cols[ci], 5, 1.0f, is_iquant(wtype));
                float *y = malloc((size_t)(rows * n_tokens) * sizeof *y);
                float *wf = malloc((size_t)cols[ci] * sizeof *wf), *xf = malloc((size_t)cols[ci] * sizeof *xf);
                assert_true(y && wf && xf);
                tl_kernels_gemm_exact(k, wtype, cols[ci], w.data, w.row_bytes, r0, r1, x.data, x.row_bytes, n_tokens, y,
                                      rows);
                for (int64_t t = 0; t < n_tokens; t++)
                    for (int64_t r = r0; r < r1; r++) {
                        const uint8_t *wrow = w.data + (size_t)r * w.row_bytes;
                        const uint8_t *xrow = x.data + (size_t)t * x.row_bytes;
                        float dot, want;
                        k->vec_dot[wtype](cols[ci], &dot, wrow, xrow);
                        if (memcmp(&dot, &y[t * rows + r], sizeof dot)) {
                            print_error("gemm %s/%s n_cols=%lld tokens=%lld row %lld token %lld: %.9g, vec_dot %.9g\n",
                                        k->name, tt->name, (long long)cols[ci], (long long)n_tokens, (long long)r,
                                        (long long)t, (double)y[t * rows + r], (double)dot);
                            fail();
                        }
                        if (is_large) {
                            ref->vec_dot[wtype](cols[ci], &want, wrow, xrow);
                            expect_close(dot, want, abs_dot(wtype, wrow, tt->vec_dot_type, xrow, cols[ci], wf, xf),
                                         "gemm", k->name, tt->name, cols[ci]);
                        }
                    }
                free(y);
                free(wf);
                free(xf);
                free(w.alloc);
                free(x.alloc);
            }
        }
    }
}

static void test_gemm_exact_gives_vec_dot_bits(void **state) {
    (void)state;
    rng_seed(45);
    for_each_simd_level(check_gemm_exact_bits);
}

/* A token's result must not depend on the batch it is in: a token that
 * falls in a full 4-token tile in one batch and among the tokens left over
 * in another must get the same bits, or a model replaying part of a prompt
 * (KV cache truncation, test_kv_cache) gets other logits. The NEON gemm of
 * the 32-element block types once computed its leftovers with a vec_dot
 * summing in another order than its tiles (SDOT / SMMLA levels; odd block
 * counts such as 96 columns showed it most). Checked for the NEON level,
 * and for AVX2, whose kernels are batch-invariant by construction
 * (avx2_legacy_gemm.c, avx2_float_gemm.c, avx2_kquants_gemm.c,
 * avx2_iquants_gemm.c; K-quants: 8-row groups, 9 rows leave one over). */
static void check_batch_independence(const tl_kernel_set *k) {
    static const uint32_t neon_types[] = {TL_TYPE_Q4_0, TL_TYPE_Q4_1, TL_TYPE_Q5_0,
                                          TL_TYPE_Q5_1, TL_TYPE_Q8_0, TL_TYPE_IQ4_NL};
    static const uint32_t avx2_types[] = {TL_TYPE_Q4_0,   TL_TYPE_Q4_1, TL_TYPE_Q5_0, TL_TYPE_Q5_1, TL_TYPE_Q8_0,
                                          TL_TYPE_IQ4_NL, TL_TYPE_F32,  TL_TYPE_F16,  TL_TYPE_BF16, TL_TYPE_Q2_K,
                                          TL_TYPE_Q3_K,   TL_TYPE_Q4_K, TL_TYPE_Q5_K, TL_TYPE_Q6_K};
    static const int64_t block_cols[] = {32, 96, 160, 256}, k_cols[] = {256, 768, 1280, 2304};
    const bool avx2 = strcmp(k->name, "avx2") == 0;
    if (!avx2 && strcmp(k->name, "neon") != 0) return;
    const uint32_t *types = avx2 ? avx2_types : neon_types;
    const size_t n_types = avx2 ? sizeof avx2_types / sizeof avx2_types[0] : sizeof neon_types / sizeof neon_types[0];
    /* tokens 0..7 as two tiles; the last 5, 2 or 1 of them as one tile and
     * a leftover, or as the few tokens of a decode */
    static const int shifts[] = {3, 6, 7};
    enum { ROWS = 9, TOKENS = 8, N_COLS = 4 };
    for (size_t ti = 0; ti < n_types; ti++)
        for (size_t ci = 0; ci < N_COLS; ci++) {
            const uint32_t wtype = types[ti];
            const int64_t *cols = tl_type_traits_of(wtype)->block_size == 256 ? k_cols : block_cols;
            const uint32_t xtype = tl_type_traits_of(wtype)->vec_dot_type;
            test_matrix w = make_matrix(wtype, ROWS, cols[ci], 3, 0.05f);
            test_matrix x = make_matrix(xtype, TOKENS, cols[ci], 5, 1.0f);
            float all[TOKENS * ROWS], tail[TOKENS * ROWS];
            tl_kernels_gemm(k, wtype, cols[ci], w.data, w.row_bytes, 0, ROWS, x.data, x.row_bytes, TOKENS, all, ROWS);
            for (size_t si = 0; si < sizeof shifts / sizeof shifts[0]; si++) {
                const int shift = shifts[si];
                tl_kernels_gemm(k, wtype, cols[ci], w.data, w.row_bytes, 0, ROWS, x.data + shift * x.row_bytes,
                                x.row_bytes, TOKENS - shift, tail, ROWS);
                for (int t = shift; t < TOKENS; t++)
                    for (int r = 0; r < ROWS; r++)
                        if (memcmp(&all[t * ROWS + r], &tail[(t - shift) * ROWS + r], sizeof(float))) {
                            print_error("gemm %s/%s n_cols=%lld row %d token %d: %.9g in a batch of %d, "
                                        "%.9g in a batch of %d\n",
                                        k->name, tl_type_traits_of(wtype)->name, (long long)cols[ci], r, t,
                                        (double)all[t * ROWS + r], TOKENS, (double)tail[(t - shift) * ROWS + r],
                                        TOKENS - shift);
                            fail();
                        }
            }
            free(w.alloc);
            free(x.alloc);
        }
}

static void test_gemm_is_batch_independent(void **state) {
    (void)state;
    rng_seed(44);
    for_each_simd_level(check_batch_independence);
}

/* ---- KV cache helpers --------------------------------------------------- */

static void check_kv(const tl_kernel_set *k) {
    static const int64_t sizes[] = {1, 7, 64, 80, 128, 131};
    static const uint32_t types[] = {TL_TYPE_F32, TL_TYPE_F16};
    const tl_kernel_set *ref = scalar_set();
    for (size_t ti = 0; ti < 2; ti++) {
        const uint32_t type = types[ti];
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            const int64_t n = sizes[si];
            float *q = malloc((size_t)(n + 1) * sizeof *q), *v = malloc((size_t)n * sizeof *v);
            float *out_ref = malloc((size_t)n * sizeof *out_ref);
            float *out = malloc((size_t)(n + 1) * sizeof *out);
            uint8_t *row = malloc(tl_type_row_bytes(type, n) + 4);
            assert_true(q && v && out_ref && out && row);
            fill_random(q + 1, n, 1.0f);
            fill_random(v, n, 1.0f);
            tl_type_traits_of(type)->from_float(v, row + 4, n);
            to_float(type, row + 4, v, n);
            double mag = 0.0;
            for (int64_t i = 0; i < n; i++) mag += fabs((double)q[i + 1] * v[i]);
            const float want = ref->kv_dot[type](n, q + 1, row + 4);
            const float got = k->kv_dot[type](n, q + 1, row + 4);
            expect_close(got, want, mag, "kv_dot", k->name, tl_type_traits_of(type)->name, n);

            fill_random(out_ref, n, 1.0f);
            memcpy(out + 1, out_ref, (size_t)n * sizeof *out);
            ref->kv_axpy[type](n, 0.37f, row + 4, out_ref);
            k->kv_axpy[type](n, 0.37f, row + 4, out + 1);
            for (int64_t i = 0; i < n; i++) /* one multiply-add: at most one extra rounding */
                expect_close(out[i + 1], out_ref[i], fabs((double)out_ref[i]) + fabs(v[i]) * 0.37, "kv_axpy", k->name,
                             tl_type_traits_of(type)->name, n);
            free(q);
            free(v);
            free(out_ref);
            free(out);
            free(row);
        }
    }
}

static void test_kv_helpers_match_reference(void **state) {
    (void)state;
    rng_seed(33);
    for_each_simd_level(check_kv);
}

/* GELU (gated and plain) bit-exact with the scalar reference, including the
 * ±10 limits, values that round to the same f16 and awkward lengths. */
static void check_geglu(const tl_kernel_set *k) {
    const tl_kernel_set *ref = scalar_set();
    static const int64_t sizes[] = {1, 7, 8, 33, 1000};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        const int64_t n = sizes[si];
        float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
        float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
        assert_true(x && y && a && b);
        fill_random(x, n, 14.0f);
        fill_random(y, n, 2.0f);
        if (n > 4) x[0] = -10.0f, x[1] = 10.0f, x[2] = -9.999f, x[3] = 65504.0f;
        for (int gated = 0; gated < 2; gated++) {
            memcpy(a, x, (size_t)n * sizeof *a);
            memcpy(b, x, (size_t)n * sizeof *b);
            ref->geglu(a, gated ? y : NULL, n);
            k->geglu(b, gated ? y : NULL, n);
            for (int64_t i = 0; i < n; i++)
                if (a[i] != b[i])
                    fail_msg("%s geglu (gated %d, n %lld): x %g gives %g, reference %g", k->name, gated, (long long)n,
                             x[i], b[i], a[i]);
        }
        free(x);
        free(y);
        free(a);
        free(b);
    }
}

static void test_geglu_matches_reference(void **state) {
    (void)state;
    rng_seed(34);
    for_each_simd_level(check_geglu);
}

/* SwiGLU within a few ulp of the reference (libm's expf), at the limits of
 * exp's range too, on awkward lengths. */
static void check_swiglu(const tl_kernel_set *k) {
    const tl_kernel_set *ref = scalar_set();
    static const int64_t sizes[] = {1, 7, 8, 33, 1000};
    static const float edges[] = {-100.0f, 100.0f, -88.5f, 88.5f, 0.0f, -1e-3f, 1e-3f, -20.0f};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        const int64_t n = sizes[si];
        float *y = malloc((size_t)n * sizeof *y), *a = malloc((size_t)n * sizeof *a),
              *b = malloc((size_t)n * sizeof *b);
        assert_true(y && a && b);
        fill_random(a, n, 12.0f);
        fill_random(y, n, 2.0f);
        for (int64_t i = 0; i < n && i < (int64_t)(sizeof edges / sizeof *edges); i++) a[i] = edges[i];
        memcpy(b, a, (size_t)n * sizeof *b);
        ref->swiglu(a, y, n);
        k->swiglu(b, y, n);
        for (int64_t i = 0; i < n; i++)
            if (!(fabsf(a[i] - b[i]) <= 1e-6f * fabsf(a[i]) + 1e-30f))
                fail_msg("%s swiglu (n %lld) element %lld gives %g, reference %g", k->name, (long long)n, (long long)i,
                         b[i], a[i]);
        free(y);
        free(a);
        free(b);
    }
}

static void test_swiglu_matches_reference(void **state) {
    (void)state;
    rng_seed(35);
    for_each_simd_level(check_swiglu);
}

/* ---- selection ---------------------------------------------------------- */

/* The SIMD kernels unpack the packed K-quant scales four at a time
 * (tl_q4_k_scale_words, tl_q3_k_scale_words), the reference one sub-block
 * at a time: on any bytes both must read the same values. */
static void test_scale_unpacking_agrees(void **state) {
    (void)state;
    rng_seed(13);
    uint8_t packed[K_SCALE_SIZE];
    for (int trial = 0; trial < 2000; trial++) {
        for (int i = 0; i < K_SCALE_SIZE; i++) packed[i] = (uint8_t)rng_next();
        if (trial == 0) memset(packed, 0xff, sizeof packed);
        uint32_t words[4];
        uint8_t bytes[16];
        tl_q4_k_scale_words(packed, words);
        memcpy(bytes, words, sizeof bytes);
        for (int j = 0; j < 8; j++) {
            int scale, min;
            tl_q4_k_scale_min(packed, j, &scale, &min);
            assert_int_equal(bytes[j], scale);
            assert_int_equal(bytes[8 + j], min);
        }
        tl_q3_k_scale_words(packed, words);
        memcpy(bytes, words, sizeof bytes);
        for (int j = 0; j < 16; j++) assert_int_equal(bytes[j] - 32, tl_q3_k_scale(packed, j));
    }
    /* packing then unpacking a q4_k sub-block's scale and min is exact */
    for (int scale = 0; scale < 64; scale += 9)
        for (int min = 0; min < 64; min += 7) {
            uint8_t scales[K_SCALE_SIZE] = {0};
            for (int j = 0; j < 8; j++) tl_q4_k_pack_scale_min(scales, j, (scale + j) % 64, (min + 3 * j) % 64);
            for (int j = 0; j < 8; j++) {
                int got_scale, got_min;
                tl_q4_k_scale_min(scales, j, &got_scale, &got_min);
                assert_int_equal(got_scale, (scale + j) % 64);
                assert_int_equal(got_min, (min + 3 * j) % 64);
            }
        }
}

/* The trait table's block sizes are the structs' of blocks.h, which the
 * kernels take their offsets from. */
static void test_trait_sizes_are_the_block_structs(void **state) {
    (void)state;
    const struct {
        tl_type type;
        size_t bytes;
    } sizes[] = {
        {TL_TYPE_Q4_0, sizeof(block_q4_0)},     {TL_TYPE_Q4_1, sizeof(block_q4_1)},
        {TL_TYPE_Q5_0, sizeof(block_q5_0)},     {TL_TYPE_Q5_1, sizeof(block_q5_1)},
        {TL_TYPE_Q8_0, sizeof(block_q8_0)},     {TL_TYPE_Q8_1, sizeof(block_q8_1)},
        {TL_TYPE_Q2_K, sizeof(block_q2_K)},     {TL_TYPE_Q3_K, sizeof(block_q3_K)},
        {TL_TYPE_Q4_K, sizeof(block_q4_K)},     {TL_TYPE_Q5_K, sizeof(block_q5_K)},
        {TL_TYPE_Q6_K, sizeof(block_q6_K)},     {TL_TYPE_Q8_K, sizeof(block_q8_K)},
        {TL_TYPE_IQ4_NL, sizeof(block_iq4_nl)}, {TL_TYPE_IQ4_XS, sizeof(block_iq4_xs)},
        {TL_TYPE_IQ3_S, sizeof(block_iq3_s)},   {TL_TYPE_IQ2_XS, sizeof(block_iq2_xs)},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        assert_int_equal(tl_type_traits_of(sizes[i].type)->block_bytes, sizes[i].bytes);
}

static void test_every_level_is_complete(void **state) {
    (void)state;
    assert_non_null(tl_kernels());
    assert_non_null(tl_kernels_named("scalar"));
    assert_null(tl_kernels_named("no-such-level"));
    for (const char *const *name = tl_kernel_level_names(); *name; name++) {
        const tl_kernel_set *k = tl_kernels_named(*name);
        if (!k) continue;
        for (size_t ti = 0; ti < sizeof weight_types / sizeof weight_types[0]; ti++) {
            assert_non_null(k->vec_dot[weight_types[ti]]);
            assert_non_null(k->quantize[tl_type_traits_of(weight_types[ti])->vec_dot_type]);
        }
        assert_non_null(k->kv_dot[TL_TYPE_F16]);
        assert_non_null(k->kv_axpy[TL_TYPE_F32]);
        assert_non_null(k->geglu);
        assert_non_null(k->swiglu);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_level_is_complete),
        cmocka_unit_test(test_quantizers_bit_exact),
        cmocka_unit_test(test_gemm_and_vec_dot_match_reference),
        cmocka_unit_test(test_iquant_dots_match_reference),
        cmocka_unit_test(test_gemm_is_batch_independent),
        cmocka_unit_test(test_kv_helpers_match_reference),
        cmocka_unit_test(test_geglu_matches_reference),
        cmocka_unit_test(test_swiglu_matches_reference),
        cmocka_unit_test(test_scale_unpacking_agrees),
        cmocka_unit_test(test_trait_sizes_are_the_block_structs),
        cmocka_unit_test(test_gemm_exact_gives_vec_dot_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
