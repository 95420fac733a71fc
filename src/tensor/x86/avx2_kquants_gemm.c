/*
 * avx2_kquants_gemm.c — AVX2 matrix (gemm) kernels for the K-quant
 * weights (q2_k, q3_k, q4_k, q5_k, q6_k) against q8_k activations, for
 * prompts, speculative verification runs and single-token decoding alike.
 * Compiled with -mavx2 -mfma -mf16c like avx2.c and only called when the
 * CPU has them.
 *
 * Each (row, token) result is the float chain of avx2_kquants.h, the same
 * as the level's dot (avx2_kquants.c), so the gemm gives the dot's bits for
 * any batch. The 8 lanes of a float register hold 8 weight rows of one
 * token. A tile of up to 4 tokens against 8 rows walks the super-blocks by
 * segments: each row's segment is read in one run (its levels unpacked once
 * for the tile's tokens) and its integer sums kept; then, per super-block
 * and token, a tree of horizontal adds turns the 8 rows' sums into one
 * int32 vector, and a multiply and an fma (two of each with mins) move the
 * 8 chains on. Single tokens (decoding) take the same path. A group of
 * fewer than 8 rows repeats its last row in the spare lanes and stores only
 * its own. Tokens are taken in chunks whose activations stay in L2 while
 * every row group walks them.
 */
#include "tensor/x86/avx2_kquants.h"

enum {
    ROWS = 8,                 /* weight rows per float register */
    CHUNK_MAX = 64,           /* tokens per chunk */
    CHUNK_BYTES = 192 * 1024, /* activations of a chunk, to stay in L2 */
    SEG_PAIRS = 16,           /* (super-block, token) sums of a row kept per segment */
};

/* Lane r = the sum of v[r]'s 8 lanes (exact int32 adds). */
X86_INLINE __m256i sum_rows(const __m256i *v) {
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    /* a: [rows 0..3 over lanes 0..3 | rows 0..3 over lanes 4..7], b likewise */
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

/* NT tokens (tok[t]: their first q8_k super-block) against the 8 rows
 * rows[r], n_sb super-blocks: acc[t] lane r = the chain of (row r, token t).
 * Super-blocks go by segments: each row's segment is read in one run (one
 * memory stream at a time), its integer sums kept, then the segment's
 * steps of the 8 chains are taken. */
X86_INLINE void tile(const kq_kind kind, const uint8_t *const *rows, int64_t n_sb, const uint8_t *const *tok,
                     __m256 *acc, const int NT) {
    const size_t w_bytes = kq_bytes(kind);
    const int seg = SEG_PAIRS / NT; /* super-blocks per segment */
    _Alignas(32) __m256i isum[SEG_PAIRS][ROWS], msum[SEG_PAIRS][ROWS];
    float dw[SEG_PAIRS][ROWS], dmw[SEG_PAIRS][ROWS];
    __m256 a[KQ_TOKENS_MAX];
    for (int t = 0; t < NT; t++) a[t] = _mm256_setzero_ps();
    for (int64_t s0 = 0; s0 < n_sb; s0 += seg) {
        const int n = (int)(n_sb - s0 < seg ? n_sb - s0 : seg);
        for (int r = 0; r < ROWS; r++) {
            for (int s = 0; s < n; s++) {
                const uint8_t *xb = rows[r] + (size_t)(s0 + s) * w_bytes;
                const uint8_t *y[KQ_TOKENS_MAX];
                for (int t = 0; t < NT; t++) y[t] = tok[t] + (size_t)(s0 + s) * Q8_K_BYTES;
                __m256i is[KQ_TOKENS_MAX], ms[KQ_TOKENS_MAX];
                kq_sums(kind, xb, y, NT, is, ms);
                if (kq_has_min(kind)) {
                    dmw[s][r] = x86_load_half(xb + kq_dmin_at(kind));
                    for (int t = 0; t < NT; t++) msum[s * NT + t][r] = ms[t];
                }
                dw[s][r] = x86_load_half(xb + kq_d_at(kind));
                for (int t = 0; t < NT; t++) isum[s * NT + t][r] = is[t];
            }
        }
        for (int s = 0; s < n; s++) {
            const __m256 vdw = _mm256_loadu_ps(dw[s]);
            for (int t = 0; t < NT; t++) {
                const __m256 dy = _mm256_set1_ps(x86_load_f32(tok[t] + (size_t)(s0 + s) * Q8_K_BYTES + Q8_K_D));
                a[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum_rows(isum[s * NT + t])), _mm256_mul_ps(vdw, dy), a[t]);
                if (kq_has_min(kind))
                    a[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(sum_rows(msum[s * NT + t])),
                                            _mm256_mul_ps(_mm256_loadu_ps(dmw[s]), dy), a[t]);
            }
        }
    }
    for (int t = 0; t < NT; t++) acc[t] = a[t];
}

#define DEFINE_TILES(name, kind)                                                                                       \
    static void name(const uint8_t *const *rows, int64_t n_sb, const uint8_t *const *tok, __m256 *acc, int nt) {       \
        switch (nt) {                                                                                                  \
        case 1: tile(kind, rows, n_sb, tok, acc, 1); break;                                                            \
        case 2: tile(kind, rows, n_sb, tok, acc, 2); break;                                                            \
        case 3: tile(kind, rows, n_sb, tok, acc, 3); break;                                                            \
        default: tile(kind, rows, n_sb, tok, acc, 4); break;                                                           \
        }                                                                                                              \
    }
DEFINE_TILES(tiles_q2_k, KQ_Q2_K)
DEFINE_TILES(tiles_q3_k, KQ_Q3_K)
DEFINE_TILES(tiles_q4_k, KQ_Q4_K)
DEFINE_TILES(tiles_q5_k, KQ_Q5_K)
DEFINE_TILES(tiles_q6_k, KQ_Q6_K)

typedef void (*tiles_fn)(const uint8_t *const *rows, int64_t n_sb, const uint8_t *const *tok, __m256 *acc, int nt);

static void gemm_k(tiles_fn tiles, int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,
                   const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    const int64_t n_sb = n_cols / QK_K;
    int64_t chunk = (int64_t)(CHUNK_BYTES / (x_row_bytes ? x_row_bytes : 1));
    if (chunk > CHUNK_MAX) chunk = CHUNK_MAX;
    if (chunk < KQ_TOKENS_MAX) chunk = KQ_TOKENS_MAX;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += chunk) {
        const int64_t nc = n_tokens - t0 < chunk ? n_tokens - t0 : chunk;
        for (int64_t rb = r0; rb < r1; rb += ROWS) {
            const int nr = (int)(r1 - rb < ROWS ? r1 - rb : ROWS);
            const uint8_t *rows[ROWS];
            for (int r = 0; r < ROWS; r++)
                rows[r] = (const uint8_t *)w + (size_t)(r < nr ? rb + r : r1 - 1) * w_row_bytes;
            for (int64_t tt = 0; tt < nc; tt += KQ_TOKENS_MAX) {
                const int nt = (int)(nc - tt < KQ_TOKENS_MAX ? nc - tt : KQ_TOKENS_MAX);
                const uint8_t *tok[KQ_TOKENS_MAX];
                for (int t = 0; t < nt; t++) tok[t] = (const uint8_t *)x + (size_t)(t0 + tt + t) * x_row_bytes;
                __m256 acc[KQ_TOKENS_MAX];
                tiles(rows, n_sb, tok, acc, nt);
                for (int t = 0; t < nt; t++) {
                    float *out = y + (t0 + tt + t) * ldy + rb;
                    if (nr == ROWS) {
                        _mm256_storeu_ps(out, acc[t]);
                    } else {
                        float lanes[ROWS];
                        _mm256_storeu_ps(lanes, acc[t]);
                        memcpy(out, lanes, (size_t)nr * sizeof *out);
                    }
                }
            }
        }
    }
}

#define DEFINE_GEMM(type)                                                                                              \
    static void gemm_##type##_avx2(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,          \
                                   const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {       \
        gemm_k(tiles_##type, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);                        \
    }
DEFINE_GEMM(q2_k)
DEFINE_GEMM(q3_k)
DEFINE_GEMM(q4_k)
DEFINE_GEMM(q5_k)
DEFINE_GEMM(q6_k)

void tl_kernels_fill_avx2_kquants_gemm(tl_kernel_set *k) {
    k->gemm[TL_TYPE_Q2_K] = k->gemm_exact[TL_TYPE_Q2_K].gemm = gemm_q2_k_avx2;
    k->gemm[TL_TYPE_Q3_K] = k->gemm_exact[TL_TYPE_Q3_K].gemm = gemm_q3_k_avx2;
    k->gemm[TL_TYPE_Q4_K] = k->gemm_exact[TL_TYPE_Q4_K].gemm = gemm_q4_k_avx2;
    k->gemm[TL_TYPE_Q5_K] = k->gemm_exact[TL_TYPE_Q5_K].gemm = gemm_q5_k_avx2;
    k->gemm[TL_TYPE_Q6_K] = k->gemm_exact[TL_TYPE_Q6_K].gemm = gemm_q6_k_avx2;
}
