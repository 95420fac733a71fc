/*
 * avx2_iquants_gemm.c — AVX2 matrix (gemm) kernels for the i-quant weights
 * iq4_nl, iq4_xs, iq3_s and iq2_xs (prompt processing: many tokens against
 * the same weight rows). Compiled with -mavx2 -mfma -mf16c like avx2.c and
 * only called when the CPU has them.
 *
 * The dots of avx2_iquants.c turn every weight block into byte levels for
 * each token. Here a weight row is unpacked once per chunk of tokens into a
 * panel: per 32 elements the level magnitudes, the signed levels (whose
 * signs are moved onto the activations by psignb) and, for the super-block
 * types, the int16 sub-block scales; per block or super-block the f16 scale
 * as a float. Tiles of up to 4 tokens then walk the panel. Each (row, token)
 * result is computed with the same integer lanes, the same fused
 * multiply-adds in the same order and the same final sum as the level's
 * vec_dot, so the gemm gives the vec_dot's bits whatever the batch (a token
 * gets the same result in a full tile or among the leftovers). Single
 * tokens go to the vec_dot directly.
 */
#include "tensor/kernels.h"
#include "tensor/x86/x86_blocks.h"
#include "tensor/x86/x86_iquants.h"

enum {
    SEG_SUBS = 256,             /* 32-element sub-blocks unpacked at a time (8192 columns) */
    SEG_VECTORS = 3 * SEG_SUBS, /* magnitudes, signed levels, scales */
    TOKEN_TILE = 4,             /* tokens per tile (accumulators in registers) */
    CHUNK_MAX = 64,             /* tokens per chunk: each row is unpacked once per chunk */
    CHUNK_BYTES = 192 * 1024,   /* activations of a chunk, to stay in L2 */
    PREP_FLOATS = 8192,         /* iq4_nl: the chunk's activation scales as floats */
    MIN_TOKENS = 2              /* fewer: the vec_dot per row and token */
};

typedef enum { KIND_IQ4_NL, KIND_IQ4_XS, KIND_IQ3_S, KIND_IQ2_XS } iq_kind;

/* One segment of a weight row, unpacked. For iq4_nl two vectors per block
 * (v[2 b], v[2 b + 1]) and d per block; for the super-block types three per
 * sub-block (v[3 s], v[3 s + 1], v[3 s + 2]) and d per super-block. */
typedef struct iq_panel {
    __m256i v[SEG_VECTORS];
    float d[SEG_SUBS];
} iq_panel;

/* ---- unpacking ---------------------------------------------------------- */

static void unpack_iq4_nl(const uint8_t *row, int64_t first, int n, iq_panel *p) {
    const __m256i table = x86_iq4nl_table256();
    const uint8_t *xb = row + (size_t)first * IQ4_NL_BYTES;
    for (int b = 0; b < n; b++, xb += IQ4_NL_BYTES) {
        const __m256i levels = _mm256_shuffle_epi8(table, x86_unpack_nibbles32(xb + IQ4_NL_QS));
        p->v[2 * b] = _mm256_sign_epi8(levels, levels);
        p->v[2 * b + 1] = levels;
        p->d[b] = x86_load_half(xb + IQ4_NL_D);
    }
}

/* The three vectors of a sub-block from its signed levels (never 0 for the
 * grid types; for iq4 a 0 level gives 0 either way) and int16 scales. */
X86_INLINE void put_sub(__m256i *v, __m256i levels, __m256i scale) {
    v[0] = _mm256_sign_epi8(levels, levels);
    v[1] = levels;
    v[2] = scale;
}

static void unpack_iq4_xs(const uint8_t *row, int64_t first, int n, iq_panel *p) {
    const __m256i table = x86_iq4nl_table256();
    const uint8_t *xb = row + (size_t)first * IQ4_XS_BYTES;
    for (int sb = 0; sb < n; sb++, xb += IQ4_XS_BYTES) {
        int32_t scales[8];
        x86_iq4_xs_scales(xb, scales);
        for (int ib = 0; ib < 8; ib++) {
            const __m256i levels = _mm256_shuffle_epi8(table, x86_unpack_nibbles32(xb + IQ4_XS_QS + 16 * ib));
            put_sub(p->v + 3 * (8 * sb + ib), levels, _mm256_set1_epi16((short)scales[ib]));
        }
        p->d[sb] = x86_load_half(xb + IQ4_XS_D);
    }
}

static void unpack_iq3_s(const uint8_t *row, int64_t first, int n, iq_panel *p) {
    const uint8_t *xb = row + (size_t)first * IQ3_S_BYTES;
    for (int sb = 0; sb < n; sb++, xb += IQ3_S_BYTES) {
        for (int ib = 0; ib < 8; ib++) {
            const __m256i negative = x86_sign_bits32(xb + IQ3_S_SIGNS + 4 * ib);
            put_sub(p->v + 3 * (8 * sb + ib), x86_apply_signs(x86_iq3_s_grid32(xb, ib), negative),
                    x86_iq3_s_scale16(xb, ib));
        }
        p->d[sb] = x86_load_half(xb + IQ3_S_D);
    }
}

static void unpack_iq2_xs(const uint8_t *row, int64_t first, int n, iq_panel *p) {
    const uint8_t *xb = row + (size_t)first * IQ2_XS_BYTES;
    for (int sb = 0; sb < n; sb++, xb += IQ2_XS_BYTES) {
        for (int ib = 0; ib < 8; ib++) {
            __m256i grid, negative;
            x86_iq2_xs_grid32(xb, ib, &grid, &negative);
            put_sub(p->v + 3 * (8 * sb + ib), x86_apply_signs(grid, negative), x86_iq2_xs_scale16(xb, ib));
        }
        p->d[sb] = x86_load_half(xb + IQ2_XS_D);
    }
}

/* ---- tiles -------------------------------------------------------------- */

/* NT tokens against n iq4_nl blocks of the panel: x[t] points at the
 * tokens' first q8_0 block, dx[t] at their scales as floats. */
X86_INLINE void tile_iq4_nl(const iq_panel *p, int n, const uint8_t *const *x, const float *const *dx, __m256 *acc,
                            const int NT) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 a[TOKEN_TILE];
    for (int t = 0; t < NT; t++) a[t] = acc[t];
    for (int b = 0; b < n; b++) {
        const __m256i mag = _mm256_load_si256(p->v + 2 * b), levels = _mm256_load_si256(p->v + 2 * b + 1);
        const __m256 dw = _mm256_set1_ps(p->d[b]);
        for (int t = 0; t < NT; t++) {
            const __m256i q8 = _mm256_loadu_si256((const __m256i *)(x[t] + (size_t)b * Q8_0_BYTES + Q8_0_QS));
            const __m256i sum = _mm256_madd_epi16(_mm256_maddubs_epi16(mag, _mm256_sign_epi8(q8, levels)), ones);
            const __m256 d = _mm256_mul_ps(dw, _mm256_broadcast_ss(dx[t] + b));
            a[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), d, a[t]);
        }
    }
    for (int t = 0; t < NT; t++) acc[t] = a[t];
}

/* NT tokens against n super-blocks of the panel: x[t] points at the
 * tokens' first q8_k block. */
X86_INLINE void tile_super(const iq_panel *p, int n, const uint8_t *const *x, __m256 *acc, const int NT) {
    __m256 a[TOKEN_TILE];
    for (int t = 0; t < NT; t++) a[t] = acc[t];
    for (int sb = 0; sb < n; sb++) {
        __m256i sum[TOKEN_TILE];
        for (int t = 0; t < NT; t++) sum[t] = _mm256_setzero_si256();
        const __m256i *v = p->v + 24 * sb;
        for (int ib = 0; ib < 8; ib++) {
            const __m256i mag = _mm256_load_si256(v + 3 * ib), levels = _mm256_load_si256(v + 3 * ib + 1);
            const __m256i scale = _mm256_load_si256(v + 3 * ib + 2);
            for (int t = 0; t < NT; t++) {
                const __m256i q8 =
                    _mm256_loadu_si256((const __m256i *)(x[t] + (size_t)sb * Q8_K_BYTES + Q8_K_QS + 32 * ib));
                const __m256i pairs = _mm256_maddubs_epi16(mag, _mm256_sign_epi8(q8, levels));
                sum[t] = _mm256_add_epi32(sum[t], _mm256_madd_epi16(pairs, scale));
            }
        }
        const __m256 dw = _mm256_set1_ps(p->d[sb]);
        for (int t = 0; t < NT; t++) {
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(x86_load_f32(x[t] + (size_t)sb * Q8_K_BYTES + Q8_K_D)));
            a[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t]), d, a[t]);
        }
    }
    for (int t = 0; t < NT; t++) acc[t] = a[t];
}

static void run_tile(iq_kind kind, const iq_panel *p, int n, const uint8_t *const *x, const float *const *dx,
                     __m256 *acc, int nt) {
    if (kind == KIND_IQ4_NL) {
        switch (nt) {
        case 1: tile_iq4_nl(p, n, x, dx, acc, 1); break;
        case 2: tile_iq4_nl(p, n, x, dx, acc, 2); break;
        case 3: tile_iq4_nl(p, n, x, dx, acc, 3); break;
        default: tile_iq4_nl(p, n, x, dx, acc, 4); break;
        }
        return;
    }
    switch (nt) {
    case 1: tile_super(p, n, x, acc, 1); break;
    case 2: tile_super(p, n, x, acc, 2); break;
    case 3: tile_super(p, n, x, acc, 3); break;
    default: tile_super(p, n, x, acc, 4); break;
    }
}

/* ---- the matrix kernel -------------------------------------------------- */

typedef void (*unpack_fn)(const uint8_t *row, int64_t first, int n, iq_panel *p);

static const struct {
    unpack_fn unpack;
    tl_vec_dot_fn dot;
    int elements;   /* per block or super-block */
    size_t x_bytes; /* activation bytes per block or super-block */
    float factor;   /* applied to the final sum, as the vec_dot does */
} kinds[] = {
    [KIND_IQ4_NL] = {unpack_iq4_nl, tl_avx2_vec_dot_iq4_nl, QK, Q8_0_BYTES, 1.0f},
    [KIND_IQ4_XS] = {unpack_iq4_xs, tl_avx2_vec_dot_iq4_xs, QK_K, Q8_K_BYTES, 1.0f},
    [KIND_IQ3_S] = {unpack_iq3_s, tl_avx2_vec_dot_iq3_s, QK_K, Q8_K_BYTES, 1.0f},
    [KIND_IQ2_XS] = {unpack_iq2_xs, tl_avx2_vec_dot_iq2_xs, QK_K, Q8_K_BYTES, 0.125f},
};

static void gemm_iq(iq_kind kind, int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,
                    const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    const int64_t n_blocks = n_cols / kinds[kind].elements;
    /* blocks per segment: the panel's sub-blocks */
    const int seg_blocks = kind == KIND_IQ4_NL ? SEG_SUBS : SEG_SUBS / 8;
    int64_t chunk = (int64_t)(CHUNK_BYTES / (x_row_bytes ? x_row_bytes : 1));
    if (chunk > CHUNK_MAX) chunk = CHUNK_MAX;
    if (chunk < TOKEN_TILE) chunk = TOKEN_TILE;
    if (kind == KIND_IQ4_NL && chunk * n_blocks > PREP_FLOATS) chunk = PREP_FLOATS / (n_blocks ? n_blocks : 1);
    if (n_tokens < MIN_TOKENS || chunk < 1) {
        for (int64_t r = r0; r < r1; r++)
            for (int64_t t = 0; t < n_tokens; t++)
                kinds[kind].dot(n_cols, &y[t * ldy + r], (const uint8_t *)w + (size_t)r * w_row_bytes,
                                (const uint8_t *)x + (size_t)t * x_row_bytes);
        return;
    }
    _Alignas(32) iq_panel panel;
    _Alignas(32) __m256 acc[CHUNK_MAX];
    float prep[PREP_FLOATS];
    for (int64_t t0 = 0; t0 < n_tokens; t0 += chunk) {
        const int64_t nc = n_tokens - t0 < chunk ? n_tokens - t0 : chunk;
        const uint8_t *xc = (const uint8_t *)x + (size_t)t0 * x_row_bytes;
        if (kind == KIND_IQ4_NL)
            for (int64_t t = 0; t < nc; t++)
                for (int64_t b = 0; b < n_blocks; b++)
                    prep[t * n_blocks + b] = x86_load_half(xc + (size_t)t * x_row_bytes + (size_t)b * Q8_0_BYTES);
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)w + (size_t)r * w_row_bytes;
            for (int64_t t = 0; t < nc; t++) acc[t] = _mm256_setzero_ps();
            for (int64_t first = 0; first < n_blocks; first += seg_blocks) {
                const int n = (int)(n_blocks - first < seg_blocks ? n_blocks - first : seg_blocks);
                kinds[kind].unpack(row, first, n, &panel);
                for (int64_t tt = 0; tt < nc; tt += TOKEN_TILE) {
                    const int nt = (int)(nc - tt < TOKEN_TILE ? nc - tt : TOKEN_TILE);
                    const uint8_t *xt[TOKEN_TILE];
                    const float *dx[TOKEN_TILE] = {NULL};
                    for (int t = 0; t < nt; t++) {
                        xt[t] = xc + (size_t)(tt + t) * x_row_bytes + (size_t)first * kinds[kind].x_bytes;
                        if (kind == KIND_IQ4_NL) dx[t] = prep + (tt + t) * n_blocks + first;
                    }
                    run_tile(kind, &panel, n, xt, dx, acc + tt, nt);
                }
            }
            for (int64_t t = 0; t < nc; t++) y[(t0 + t) * ldy + r] = kinds[kind].factor * x86_hsum_ps256(acc[t]);
        }
    }
}

#define DEFINE_GEMM(type, kind)                                                                                        \
    static void gemm_##type##_avx2(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,          \
                                   const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {       \
        gemm_iq(kind, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);                               \
    }
DEFINE_GEMM(iq4_nl, KIND_IQ4_NL)
DEFINE_GEMM(iq4_xs, KIND_IQ4_XS)
DEFINE_GEMM(iq3_s, KIND_IQ3_S)
DEFINE_GEMM(iq2_xs, KIND_IQ2_XS)

void tl_kernels_fill_avx2_iquants_gemm(tl_kernel_set *k) {
    k->gemm[TL_TYPE_IQ4_NL] = gemm_iq4_nl_avx2;
    k->gemm[TL_TYPE_IQ4_XS] = gemm_iq4_xs_avx2;
    k->gemm[TL_TYPE_IQ3_S] = gemm_iq3_s_avx2;
    k->gemm[TL_TYPE_IQ2_XS] = gemm_iq2_xs_avx2;
    /* Each (row, token) has the bits of the AVX2 dot (test_kernels checks it). */
    tl_kernels_promise_exact(k, TL_TYPE_IQ4_NL, gemm_iq4_nl_avx2, tl_avx2_vec_dot_iq4_nl);
    tl_kernels_promise_exact(k, TL_TYPE_IQ4_XS, gemm_iq4_xs_avx2, tl_avx2_vec_dot_iq4_xs);
    tl_kernels_promise_exact(k, TL_TYPE_IQ3_S, gemm_iq3_s_avx2, tl_avx2_vec_dot_iq3_s);
    tl_kernels_promise_exact(k, TL_TYPE_IQ2_XS, gemm_iq2_xs_avx2, tl_avx2_vec_dot_iq2_xs);
}
