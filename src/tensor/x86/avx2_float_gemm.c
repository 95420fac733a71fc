/*
 * avx2_float_gemm.c — AVX2 matrix (gemm) kernels for f32, f16 and bf16
 * weights, whose activations are of the same type. Compiled with -mavx2
 * -mfma -mf16c like avx2.c and only called when the CPU has them.
 *
 * A tile of up to 4 rows × 4 tokens loads each 8-element chunk of its
 * weight rows and of its tokens once and keeps one 8-lane accumulator per
 * (row, token); every pair runs the sequence x86_float.h defines, the one
 * the level's vec_dot runs, so each result has the vec_dot's bits whatever
 * the batch size, the tile it falls in or the rows a thread was given.
 * Tokens are taken in chunks whose activations stay in L2 while all the
 * rows go over them.
 */
#include "tensor/kernels.h"
#include "tensor/x86/x86_float.h"

enum {
    TILE_MAX = 4,           /* rows or tokens per tile */
    CHUNK_BYTES = 96 * 1024 /* activations of a chunk of tokens, to stay in L2 */
};

/* The sums of eight accumulators, each as x86_hsum_ps256 gives it (the same
 * additions in the same order, eight pairs at a time). By value: the
 * accumulators stay in registers. */
X86_INLINE __m256 hsum8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6, __m256 a7) {
    /* h = [s of a(2i) | s of a(2i+1)], s = lo + hi; then s0 + s2, s1 + s3: */
    const __m256 h0 = _mm256_add_ps(_mm256_permute2f128_ps(a0, a1, 0x20), _mm256_permute2f128_ps(a0, a1, 0x31));
    const __m256 h1 = _mm256_add_ps(_mm256_permute2f128_ps(a2, a3, 0x20), _mm256_permute2f128_ps(a2, a3, 0x31));
    const __m256 h2 = _mm256_add_ps(_mm256_permute2f128_ps(a4, a5, 0x20), _mm256_permute2f128_ps(a4, a5, 0x31));
    const __m256 h3 = _mm256_add_ps(_mm256_permute2f128_ps(a6, a7, 0x20), _mm256_permute2f128_ps(a6, a7, 0x31));
    const __m256 q0 = _mm256_add_ps(_mm256_shuffle_ps(h0, h1, 0x44), _mm256_shuffle_ps(h0, h1, 0xEE));
    const __m256 q1 = _mm256_add_ps(_mm256_shuffle_ps(h2, h3, 0x44), _mm256_shuffle_ps(h2, h3, 0xEE));
    /* q0 = [a0's two, a2's two | a1's two, a3's two], q1 likewise: their sums */
    const __m256 s = _mm256_add_ps(_mm256_shuffle_ps(q0, q1, 0x88), _mm256_shuffle_ps(q0, q1, 0xDD));
    /* s = [a0 a2 a4 a6 | a1 a3 a5 a7] */
    return _mm256_permutevar8x32_ps(s, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* R rows × T tokens: w at the first row, x at the first token, y at the
 * first row's result for the first token. */
X86_INLINE void tile(uint32_t type, int64_t n, const uint8_t *w, size_t w_row_bytes, const uint8_t *x,
                     size_t x_row_bytes, float *y, int64_t ldy, const int R, const int T) {
    const size_t eb = X86_FLOAT_BYTES(type);
    __m256 acc[TILE_MAX][TILE_MAX];
    X86_UNROLL for (int r = 0; r < R; r++) X86_UNROLL for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 wv[TILE_MAX];
        X86_UNROLL for (int r = 0; r < R; r++) wv[r] = x86_load8_float(type, w + r * w_row_bytes + i * eb);
        X86_UNROLL for (int t = 0; t < T; t++) {
            const __m256 xv = x86_load8_float(type, x + t * x_row_bytes + i * eb);
            X86_UNROLL for (int r = 0; r < R; r++) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
        }
    }
    if (i < n) {
        __m256 wv[TILE_MAX];
        X86_UNROLL for (int r = 0; r < R; r++) wv[r] = x86_load_tail_float(type, w + r * w_row_bytes + i * eb, n - i);
        X86_UNROLL for (int t = 0; t < T; t++) {
            const __m256 xv = x86_load_tail_float(type, x + t * x_row_bytes + i * eb, n - i);
            X86_UNROLL for (int r = 0; r < R; r++) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
        }
    }
    /* The sums, eight at a time, token by token (acc p = t * R + r; a last
     * group padded with zeros); a token's R results are consecutive in y. */
#define ACC(p) ((p) < R * T ? acc[(p) % R][(p) / R] : _mm256_setzero_ps())
    _Alignas(32) float sums[2 * 8];
    _mm256_store_ps(sums, hsum8(ACC(0), ACC(1), ACC(2), ACC(3), ACC(4), ACC(5), ACC(6), ACC(7)));
    if (R * T > 8)
        _mm256_store_ps(sums + 8, hsum8(ACC(8), ACC(9), ACC(10), ACC(11), ACC(12), ACC(13), ACC(14), ACC(15)));
#undef ACC
    X86_UNROLL for (int t = 0; t < T; t++) {
        if (R == 4)
            _mm_storeu_ps(y + t * ldy, _mm_load_ps(sums + 4 * t));
        else
            for (int r = 0; r < R; r++) y[t * ldy + r] = sums[t * R + r];
    }
}

typedef void (*tile_fn)(int64_t n, const uint8_t *w, size_t w_row_bytes, const uint8_t *x, size_t x_row_bytes, float *y,
                        int64_t ldy);

#define DEFINE_TILE(name, type, R, T)                                                                                  \
    static void name##_##R##x##T(int64_t n, const uint8_t *w, size_t w_row_bytes, const uint8_t *x,                    \
                                 size_t x_row_bytes, float *y, int64_t ldy) {                                          \
        tile(type, n, w, w_row_bytes, x, x_row_bytes, y, ldy, R, T);                                                   \
    }
/* Rows × tokens: 4 × 1 and 4 × 2 for one or two tokens, up to 3 × 4 else
 * (12 accumulators, 3 weight chunks and a token chunk: 16 registers). */
#define DEFINE_TILES(name, type)                                                                                       \
    DEFINE_TILE(name, type, 1, 1)                                                                                      \
    DEFINE_TILE(name, type, 2, 1)                                                                                      \
    DEFINE_TILE(name, type, 3, 1)                                                                                      \
    DEFINE_TILE(name, type, 4, 1)                                                                                      \
    DEFINE_TILE(name, type, 1, 2)                                                                                      \
    DEFINE_TILE(name, type, 2, 2)                                                                                      \
    DEFINE_TILE(name, type, 3, 2)                                                                                      \
    DEFINE_TILE(name, type, 4, 2)                                                                                      \
    DEFINE_TILE(name, type, 1, 3)                                                                                      \
    DEFINE_TILE(name, type, 2, 3)                                                                                      \
    DEFINE_TILE(name, type, 3, 3)                                                                                      \
    DEFINE_TILE(name, type, 1, 4)                                                                                      \
    DEFINE_TILE(name, type, 2, 4)                                                                                      \
    DEFINE_TILE(name, type, 3, 4)                                                                                      \
    static const tile_fn name[TILE_MAX + 1][TILE_MAX + 1] = {                                                          \
        [1] = {NULL, name##_1x1, name##_1x2, name##_1x3, name##_1x4},                                                  \
        [2] = {NULL, name##_2x1, name##_2x2, name##_2x3, name##_2x4},                                                  \
        [3] = {NULL, name##_3x1, name##_3x2, name##_3x3, name##_3x4},                                                  \
        [4] = {NULL, name##_4x1, name##_4x2, NULL, NULL},                                                              \
    };
DEFINE_TILES(tiles_f32, TL_TYPE_F32)
DEFINE_TILES(tiles_f16, TL_TYPE_F16)
DEFINE_TILES(tiles_bf16, TL_TYPE_BF16)

static void gemm_float(const tile_fn (*tiles)[TILE_MAX + 1], int64_t n_cols, const void *w, size_t w_row_bytes,
                       int64_t r0, int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y,
                       int64_t ldy) {
    const int row_tile = n_tokens <= 2 ? 4 : 3;
    int64_t chunk = (int64_t)(CHUNK_BYTES / (x_row_bytes ? x_row_bytes : 1)) / TILE_MAX * TILE_MAX;
    if (chunk < TILE_MAX) chunk = TILE_MAX;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += chunk) {
        const int64_t t1 = n_tokens - t0 < chunk ? n_tokens : t0 + chunk;
        for (int64_t r = r0; r < r1; r += row_tile) {
            const int nr = (int)(r1 - r < row_tile ? r1 - r : row_tile);
            const uint8_t *wr = (const uint8_t *)w + (size_t)r * w_row_bytes;
            for (int64_t t = t0; t < t1; t += TILE_MAX) {
                const int nt = (int)(t1 - t < TILE_MAX ? t1 - t : TILE_MAX);
                tiles[nr][nt](n_cols, wr, w_row_bytes, (const uint8_t *)x + (size_t)t * x_row_bytes, x_row_bytes,
                              y + t * ldy + r, ldy);
            }
        }
    }
}

#define DEFINE_GEMM(name, tiles)                                                                                       \
    static void name(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x,         \
                     size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {                                    \
        gemm_float(tiles, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);                           \
    }
DEFINE_GEMM(gemm_f32_avx2, tiles_f32)
DEFINE_GEMM(gemm_f16_avx2, tiles_f16)
DEFINE_GEMM(gemm_bf16_avx2, tiles_bf16)

static void promise(tl_kernel_set *k, uint32_t type, tl_gemm_fn gemm, tl_vec_dot_fn dot) {
    k->gemm[type] = gemm;
    tl_kernels_promise_exact(k, type, gemm, dot);
}

/* The dots given are the level's, which run x86_float_dot: each (row,
 * token) of these kernels has their bits (test_kernels checks it). */
void tl_kernels_fill_avx2_float_gemm(tl_kernel_set *k, tl_vec_dot_fn f32, tl_vec_dot_fn f16, tl_vec_dot_fn bf16) {
    promise(k, TL_TYPE_F32, gemm_f32_avx2, f32);
    promise(k, TL_TYPE_F16, gemm_f16_avx2, f16);
    promise(k, TL_TYPE_BF16, gemm_bf16_avx2, bf16);
}
