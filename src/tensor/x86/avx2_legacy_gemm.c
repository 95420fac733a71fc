/*
 * avx2_legacy_gemm.c — AVX2 matrix (gemm) kernels for the 32-element block
 * types q8_0, q4_0, q4_1, q5_0 and q5_1, for any number of tokens: one
 * decoded token, the few tokens of a speculative exact run, a prompt.
 * Compiled with -mavx2 -mfma -mf16c like avx2.c and only called when the CPU
 * has them.
 *
 * Batch-invariant by construction: every (row, token) result is ONE float
 * chain over the blocks in order,
 *     acc = 0; for each block b: acc = fma((float)isum_b, dw_b * dy_b, acc)
 *                                 [q4_1, q5_1: acc = fma(m_b, s_b, acc)]
 * where isum_b is the exact integer dot of the block. A SIMD lane holds one
 * weight row: eight rows of one token share a __m256, whose eight integer
 * dots end up in one register and take one conversion and one fused
 * multiply-add. No lane ever adds another lane's partial sum, so a
 * token's result does not depend on the tile, the batch or the row range it
 * is computed in, and the AVX2 vec_dot of these types (avx2.c), which runs
 * the same chain for one pair, gives the same bits: tl_kernels_gemm_exact
 * uses this kernel for speculative exact runs.
 *
 * Per group of eight rows, a segment of blocks is prepared once per chunk of
 * tokens: the eight rows' scales (and minimums) as floats, and each block's
 * 32 levels as eight vectors, vector g holding in lane r the four levels
 * 4g..4g+3 of row r (an 8 x 8 transpose of 32-bit groups), signed levels
 * with their magnitudes beside them for q8_0, q4_0 and q5_0. A token's four
 * quants 4g..4g+3, broadcast, then meet all eight rows in one maddubs, and
 * the eight vectors of a block add up lane by lane to the eight rows'
 * integer dots: no horizontal sums. Tiles of up to four tokens walk the
 * segment with their accumulators in registers. One or two tokens (decode)
 * read the rows in place instead (tile_direct: a horizontal-sum tree per
 * block, prefetching two row groups ahead), as preparing would cost more
 * than it saves. Products are |level| times the activation with the level's
 * sign, so q8_0 levels of -128 are exact; activations are within +-127, as
 * the q8 quantizers make them.
 */
#include "tensor/kernels.h"
#include "tensor/x86/x86_blocks.h"

enum {
    ROWS = 8,                /* rows per group: the lanes of a __m256 */
    SEG_BLOCKS = 32,         /* blocks prepared at a time (1024 columns) */
    TOKEN_TILE = 4,          /* tokens per tile (accumulators in registers) */
    CHUNK_MAX = 256,         /* tokens per chunk: each row group is prepared once per chunk */
    CHUNK_BYTES = 256 << 10, /* activations of a chunk, to stay in L2 */
    MIN_PANEL_TOKENS = 3     /* fewer tokens use tile_direct (no panel) */
};

typedef enum { KIND_Q8_0, KIND_Q4_0, KIND_Q4_1, KIND_Q5_0, KIND_Q5_1 } legacy_kind;

/* Per kind: weight block bytes, the activation's block bytes and the offset
 * of its quants, and how many of a block's eight maddubs results may be
 * added in 16 bits before widening (|level| . |y| pair sums: q8_0 up to
 * 32512, q4_0 2032, q5_0 4064, q4_1 3810, q5_1 7874). q8_0, q4_0 and q5_0
 * have signed levels (q4_0 and q5_0 minus their offset 8, 16); q4_1 and
 * q5_1 unsigned ones and add m * s. */
static const struct {
    size_t w_bytes, y_bytes, y_qs;
    int fold;
} kinds[] = {
    [KIND_Q8_0] = {Q8_0_BYTES, Q8_0_BYTES, Q8_0_QS, 1}, [KIND_Q4_0] = {Q4_0_BYTES, Q8_0_BYTES, Q8_0_QS, 8},
    [KIND_Q4_1] = {Q4_1_BYTES, Q8_1_BYTES, Q8_1_QS, 8}, [KIND_Q5_0] = {Q5_0_BYTES, Q8_0_BYTES, Q8_0_QS, 8},
    [KIND_Q5_1] = {Q5_1_BYTES, Q8_1_BYTES, Q8_1_QS, 4},
};

X86_INLINE int is_signed(legacy_kind kind) {
    return kind == KIND_Q8_0 || kind == KIND_Q4_0 || kind == KIND_Q5_0;
}

/* A prepared segment of a row group. Block b: v[16 b + g] (g < 8) the
 * transposed levels, and for the signed kinds v[16 b + 8 + g] their
 * magnitudes; d[b] and m[b] with lane r for row r. */
typedef struct legacy_panel {
    __m256i v[SEG_BLOCKS * 16];
    __m256 d[SEG_BLOCKS];
    __m256 m[SEG_BLOCKS];
} legacy_panel;

/* Eight f16 fields, one per row, as floats. */
X86_INLINE __m256 load_halves8(const uint8_t *const *rows, size_t offset) {
    uint16_t h[ROWS];
    for (int r = 0; r < ROWS; r++) memcpy(&h[r], rows[r] + offset, sizeof h[r]);
    return _mm256_cvtph_ps(_mm_setr_epi16((short)h[0], (short)h[1], (short)h[2], (short)h[3], (short)h[4], (short)h[5],
                                          (short)h[6], (short)h[7]));
}

/* The 32 levels of a block as unsigned bytes (q8_0: signed). */
X86_INLINE __m256i raw_levels(legacy_kind kind, const uint8_t *xb) {
    switch (kind) {
    case KIND_Q8_0: return _mm256_loadu_si256((const __m256i *)(xb + Q8_0_QS));
    case KIND_Q4_0: return x86_unpack_nibbles32(xb + Q4_0_QS);
    case KIND_Q4_1: return x86_unpack_nibbles32(xb + Q4_1_QS);
    case KIND_Q5_0: return _mm256_or_si256(x86_unpack_nibbles32(xb + Q5_0_QS), x86_fifth_bits32(xb + Q5_0_QH));
    default: return _mm256_or_si256(x86_unpack_nibbles32(xb + Q5_1_QS), x86_fifth_bits32(xb + Q5_1_QH));
    }
}

/* The offset of q4_0 (8) and q5_0 (16) levels. */
X86_INLINE __m256i level_offset(legacy_kind kind) {
    return _mm256_set1_epi8(kind == KIND_Q4_0 ? 8 : 16);
}

/* The 32 levels of a block as bytes (signed kinds: minus the offset). */
X86_INLINE __m256i block_levels(legacy_kind kind, const uint8_t *xb) {
    const __m256i raw = raw_levels(kind, xb);
    return kind == KIND_Q4_0 || kind == KIND_Q5_0 ? _mm256_sub_epi8(raw, level_offset(kind)) : raw;
}

/* In place: lane r of v[g] becomes 32-bit group g of v[r] (8 x 8 transpose). */
X86_INLINE void transpose8x8(__m256i *v) {
    __m256i t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(v[i], v[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int g = 0; g < 4; g++) {
        v[g] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x20);
        v[g + 4] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x31);
    }
}

/* Blocks [first, first + n) of the eight rows (rows[r] at each row's start). */
X86_INLINE void prepare(legacy_kind kind, const uint8_t *const *rows, int64_t first, int n, legacy_panel *p) {
    const size_t wb = kinds[kind].w_bytes;
    for (int b = 0; b < n; b++) {
        const size_t off = (size_t)(first + b) * wb;
        p->d[b] = load_halves8(rows, off);
        if (kind == KIND_Q4_1 || kind == KIND_Q5_1) p->m[b] = load_halves8(rows, off + Q4_1_M);
        __m256i v[ROWS];
        for (int r = 0; r < ROWS; r++) v[r] = block_levels(kind, rows[r] + off);
        transpose8x8(v);
        for (int g = 0; g < 8; g++) {
            _mm256_store_si256(p->v + 16 * b + g, v[g]);
            if (is_signed(kind)) _mm256_store_si256(p->v + 16 * b + 8 + g, _mm256_abs_epi8(v[g]));
        }
    }
}

/* NT tokens against n prepared blocks; x[t] points at token t's first
 * block of the segment. */
X86_INLINE void tile(legacy_kind kind, const legacy_panel *p, int n, const uint8_t *const *x, __m256 *acc,
                     const int NT) {
    const __m256i ones = _mm256_set1_epi16(1);
    const size_t yb = kinds[kind].y_bytes, yqs = kinds[kind].y_qs;
    const int fold = kinds[kind].fold;
    __m256 a[TOKEN_TILE];
    for (int t = 0; t < NT; t++) a[t] = acc[t];
    for (int b = 0; b < n; b++) {
        __m256i isum[TOKEN_TILE], part[TOKEN_TILE];
        for (int t = 0; t < NT; t++) isum[t] = part[t] = _mm256_setzero_si256();
        for (int g = 0; g < 8; g++) {
            const __m256i levels = _mm256_load_si256(p->v + 16 * b + g);
            const __m256i mag = is_signed(kind) ? _mm256_load_si256(p->v + 16 * b + 8 + g) : levels;
            for (int t = 0; t < NT; t++) {
                const __m256i y = _mm256_set1_epi32(x86_load_i32(x[t] + (size_t)b * yb + yqs + 4 * g));
                /* |level| . (y with the level's sign): cannot saturate */
                const __m256i pairs = _mm256_maddubs_epi16(mag, is_signed(kind) ? _mm256_sign_epi8(y, levels) : y);
                part[t] = _mm256_add_epi16(part[t], pairs);
                if ((g + 1) % fold == 0) {
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(part[t], ones));
                    part[t] = _mm256_setzero_si256();
                }
            }
        }
        const __m256 dw = _mm256_load_ps((const float *)(p->d + b));
        for (int t = 0; t < NT; t++) {
            const uint8_t *yblock = x[t] + (size_t)b * yb;
            const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(x86_load_half(yblock)));
            a[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), scale, a[t]);
            if (kind == KIND_Q4_1 || kind == KIND_Q5_1)
                a[t] = _mm256_fmadd_ps(_mm256_load_ps((const float *)(p->m + b)),
                                       _mm256_set1_ps(x86_load_half(yblock + Q8_1_S)), a[t]);
        }
    }
    for (int t = 0; t < NT; t++) acc[t] = a[t];
}

/* Lane r of the result: the sum of the eight int32 lanes of m[r]. */
X86_INLINE __m256i sum_lanes8(const __m256i *m) {
    const __m256i h01 = _mm256_hadd_epi32(m[0], m[1]), h23 = _mm256_hadd_epi32(m[2], m[3]);
    const __m256i h45 = _mm256_hadd_epi32(m[4], m[5]), h67 = _mm256_hadd_epi32(m[6], m[7]);
    const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
    /* h0123: row r's low-half sum in lane r, its high-half sum in lane 4 + r */
    return _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                            _mm256_permute2x128_si256(h0123, h4567, 0x31));
}

/* Few tokens (decode): NT tokens against all n blocks of the rows, read in
 * place, without a panel; each (row, token) block dot is reduced by a
 * horizontal sum tree. The same integers and the same float chain as tile. */
X86_INLINE void tile_direct(legacy_kind kind, const uint8_t *const *rows, size_t ahead, int64_t n,
                            const uint8_t *const *x, __m256 *acc, const int NT) {
    const __m256i ones = _mm256_set1_epi16(1);
    const size_t wb = kinds[kind].w_bytes, yb = kinds[kind].y_bytes, yqs = kinds[kind].y_qs;
    __m256 a[MIN_PANEL_TOKENS];
    for (int t = 0; t < NT; t++) a[t] = acc[t];
    for (int64_t b = 0; b < n; b++) {
        const size_t off = (size_t)b * wb;
        /* the next row group, which follows in memory: eight row streams
         * are more than the hardware prefetcher follows well */
        for (int r = 0; r < ROWS; r++) _mm_prefetch((const char *)(rows[r] + off + ahead), _MM_HINT_T0);
        const __m256 dw = load_halves8(rows, off);
        for (int t = 0; t < NT; t++) {
            const uint8_t *yblock = x[t] + (size_t)b * yb;
            const __m256i y = _mm256_loadu_si256((const __m256i *)(yblock + yqs));
            /* q4_0, q5_0: (levels - offset) . y, exact in 16 bits */
            const __m256i offset_y = _mm256_maddubs_epi16(level_offset(kind), y);
            __m256i m[ROWS];
            for (int r = 0; r < ROWS; r++) {
                const __m256i levels = raw_levels(kind, rows[r] + off);
                __m256i pairs;
                if (kind == KIND_Q8_0)
                    pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(levels), _mm256_sign_epi8(y, levels));
                else if (kind == KIND_Q4_0 || kind == KIND_Q5_0)
                    pairs = _mm256_sub_epi16(_mm256_maddubs_epi16(levels, y), offset_y);
                else
                    pairs = _mm256_maddubs_epi16(levels, y);
                m[r] = _mm256_madd_epi16(pairs, ones);
            }
            const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(x86_load_half(yblock)));
            a[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum_lanes8(m)), scale, a[t]);
            if (kind == KIND_Q4_1 || kind == KIND_Q5_1)
                a[t] = _mm256_fmadd_ps(load_halves8(rows, off + Q4_1_M), _mm256_set1_ps(x86_load_half(yblock + Q8_1_S)),
                                       a[t]);
        }
    }
    for (int t = 0; t < NT; t++) acc[t] = a[t];
}

#define DEFINE_DIRECT(name, kind)                                                                                      \
    static void name(const uint8_t *const *rows, size_t ahead, int64_t n, const uint8_t *const *x, __m256 *acc,        \
                     int nt) {                                                                                         \
        switch (nt) {                                                                                                  \
        case 1: tile_direct(kind, rows, ahead, n, x, acc, 1); break;                                                   \
        case 2: tile_direct(kind, rows, ahead, n, x, acc, 2); break;                                                   \
        default: tile_direct(kind, rows, ahead, n, x, acc, 3); break;                                                  \
        }                                                                                                              \
    }
DEFINE_DIRECT(direct_q8_0, KIND_Q8_0)
DEFINE_DIRECT(direct_q4_0, KIND_Q4_0)
DEFINE_DIRECT(direct_q4_1, KIND_Q4_1)
DEFINE_DIRECT(direct_q5_0, KIND_Q5_0)
DEFINE_DIRECT(direct_q5_1, KIND_Q5_1)

typedef void (*direct_fn)(const uint8_t *const *rows, size_t ahead, int64_t n, const uint8_t *const *x, __m256 *acc,
                          int nt);
static const direct_fn directs[] = {
    [KIND_Q8_0] = direct_q8_0, [KIND_Q4_0] = direct_q4_0, [KIND_Q4_1] = direct_q4_1,
    [KIND_Q5_0] = direct_q5_0, [KIND_Q5_1] = direct_q5_1,
};

#define DEFINE_TILES(name, kind)                                                                                       \
    static void name(const legacy_panel *p, int n, const uint8_t *const *x, __m256 *acc, int nt) {                     \
        switch (nt) {                                                                                                  \
        case 1: tile(kind, p, n, x, acc, 1); break;                                                                    \
        case 2: tile(kind, p, n, x, acc, 2); break;                                                                    \
        case 3: tile(kind, p, n, x, acc, 3); break;                                                                    \
        default: tile(kind, p, n, x, acc, 4); break;                                                                   \
        }                                                                                                              \
    }
#define DEFINE_PREPARE(name, kind)                                                                                     \
    static void name(const uint8_t *const *rows, int64_t first, int n, legacy_panel *p) {                              \
        prepare(kind, rows, first, n, p);                                                                              \
    }
DEFINE_PREPARE(prepare_q8_0, KIND_Q8_0)
DEFINE_PREPARE(prepare_q4_0, KIND_Q4_0)
DEFINE_PREPARE(prepare_q4_1, KIND_Q4_1)
DEFINE_PREPARE(prepare_q5_0, KIND_Q5_0)
DEFINE_PREPARE(prepare_q5_1, KIND_Q5_1)

typedef void (*prepare_fn)(const uint8_t *const *rows, int64_t first, int n, legacy_panel *p);
static const prepare_fn prepares[] = {
    [KIND_Q8_0] = prepare_q8_0, [KIND_Q4_0] = prepare_q4_0, [KIND_Q4_1] = prepare_q4_1,
    [KIND_Q5_0] = prepare_q5_0, [KIND_Q5_1] = prepare_q5_1,
};

DEFINE_TILES(tiles_q8_0, KIND_Q8_0)
DEFINE_TILES(tiles_q4_0, KIND_Q4_0)
DEFINE_TILES(tiles_q4_1, KIND_Q4_1)
DEFINE_TILES(tiles_q5_0, KIND_Q5_0)
DEFINE_TILES(tiles_q5_1, KIND_Q5_1)

typedef void (*tiles_fn)(const legacy_panel *p, int n, const uint8_t *const *x, __m256 *acc, int nt);
static const tiles_fn tiles[] = {
    [KIND_Q8_0] = tiles_q8_0, [KIND_Q4_0] = tiles_q4_0, [KIND_Q4_1] = tiles_q4_1,
    [KIND_Q5_0] = tiles_q5_0, [KIND_Q5_1] = tiles_q5_1,
};

/* ---- the matrix kernel -------------------------------------------------- */

static void gemm_legacy(legacy_kind kind, int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,
                        const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    const int64_t n_blocks = n_cols / QK;
    const size_t yb = kinds[kind].y_bytes;
    int64_t chunk = (int64_t)(CHUNK_BYTES / (x_row_bytes ? x_row_bytes : 1));
    if (chunk > CHUNK_MAX) chunk = CHUNK_MAX;
    if (chunk < 1) chunk = 1;
    _Alignas(32) legacy_panel panel;
    _Alignas(32) __m256 acc[CHUNK_MAX];
    for (int64_t t0 = 0; t0 < n_tokens; t0 += chunk) {
        const int64_t nc = n_tokens - t0 < chunk ? n_tokens - t0 : chunk;
        const uint8_t *xc = (const uint8_t *)x + (size_t)t0 * x_row_bytes;
        for (int64_t rg = r0; rg < r1; rg += ROWS) {
            const int nr = (int)(r1 - rg < ROWS ? r1 - rg : ROWS);
            /* rows past r1 repeat the last one; their lanes are not stored */
            const uint8_t *rows[ROWS];
            for (int r = 0; r < ROWS; r++)
                rows[r] = (const uint8_t *)w + (size_t)(rg + (r < nr ? r : nr - 1)) * w_row_bytes;
            for (int64_t t = 0; t < nc; t++) acc[t] = _mm256_setzero_ps();
            if (nc < MIN_PANEL_TOKENS) {
                const uint8_t *xt[MIN_PANEL_TOKENS];
                for (int t = 0; t < nc; t++) xt[t] = xc + (size_t)t * x_row_bytes;
                directs[kind](rows, 2 * ROWS * w_row_bytes, n_blocks, xt, acc, (int)nc);
            }
            for (int64_t first = 0; nc >= MIN_PANEL_TOKENS && first < n_blocks; first += SEG_BLOCKS) {
                const int n = (int)(n_blocks - first < SEG_BLOCKS ? n_blocks - first : SEG_BLOCKS);
                prepares[kind](rows, first, n, &panel);
                for (int64_t tt = 0; tt < nc; tt += TOKEN_TILE) {
                    const int nt = (int)(nc - tt < TOKEN_TILE ? nc - tt : TOKEN_TILE);
                    const uint8_t *xt[TOKEN_TILE];
                    for (int t = 0; t < nt; t++) xt[t] = xc + (size_t)(tt + t) * x_row_bytes + (size_t)first * yb;
                    tiles[kind](&panel, n, xt, acc + tt, nt);
                }
            }
            for (int64_t t = 0; t < nc; t++) {
                float *out = y + (t0 + t) * ldy + rg;
                if (nr == ROWS) {
                    _mm256_storeu_ps(out, acc[t]);
                    continue;
                }
                _Alignas(32) float lanes[ROWS];
                _mm256_store_ps(lanes, acc[t]);
                memcpy(out, lanes, (size_t)nr * sizeof *out);
            }
        }
    }
}

#define DEFINE_GEMM(type, kind)                                                                                        \
    static void gemm_##type##_avx2(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,          \
                                   const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {       \
        gemm_legacy(kind, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);                           \
    }
DEFINE_GEMM(q8_0, KIND_Q8_0)
DEFINE_GEMM(q4_0, KIND_Q4_0)
DEFINE_GEMM(q4_1, KIND_Q4_1)
DEFINE_GEMM(q5_0, KIND_Q5_0)
DEFINE_GEMM(q5_1, KIND_Q5_1)

void tl_kernels_fill_avx2_legacy_gemm(tl_kernel_set *k) {
    static const struct {
        uint32_t type;
        tl_gemm_fn gemm;
    } entries[] = {
        {TL_TYPE_Q8_0, gemm_q8_0_avx2}, {TL_TYPE_Q4_0, gemm_q4_0_avx2}, {TL_TYPE_Q4_1, gemm_q4_1_avx2},
        {TL_TYPE_Q5_0, gemm_q5_0_avx2}, {TL_TYPE_Q5_1, gemm_q5_1_avx2},
    };
    /* Each (row, token) has the bits of the AVX2 dot of avx2.c, filled
     * before this (test_kernels checks it). */
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        k->gemm[entries[i].type] = entries[i].gemm;
        tl_kernels_promise_exact(k, entries[i].type, entries[i].gemm, k->vec_dot[entries[i].type]);
    }
}
