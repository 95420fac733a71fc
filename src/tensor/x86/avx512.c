/*
 * avx512.c — kernels for x86-64 CPUs with AVX-512 F/BW/VL, using VNNI and
 * BF16 instructions where the CPU has them (compiled with those -m flags;
 * only called when the CPU has them; VNNI / BF16 code only when `f` says so).
 *
 * Quantized matrix product (q4_0, q4_1, q5_0, q5_1, q8_0, iq4_nl weights; VNNI):
 * weight rows are unpacked, a panel of 32 rows by up to 16 blocks at a time,
 * into unsigned bytes laid out so that one 512-bit vector holds 4 consecutive
 * elements of 16 rows ("lanes are rows"). One vpdpbusd with 4 activation
 * bytes broadcast then advances 16 row dots at once, and after the 8 steps of
 * a block each lane holds that row's exact integer block dot: no horizontal
 * sums. The levels are stored offset to be unsigned (q4_0 +8, q5_0 +16,
 * q8_0 and iq4_nl +128, the latter looked up in kvalues_iq4nl by pshufb); the offset times the activation block's sum
 * is subtracted exactly by starting the integer accumulator at -offset * sum(q). The block scales are applied in float
 * (one fma per 16 rows, token and block). A tile is 32 rows by up to 6 tokens: 12 float and 12 integer accumulators.
 *
 * With at most 3 tokens (generation) a streaming kernel walks the rows one by
 * one instead (gemv_quant; q4_1 / q5_1 use the AVX2 dot there).
 *
 * Float matrix products (f32, f16, bf16): tiles of 4 rows by 3 tokens along
 * 16-element vectors, masked loads for the tail; bf16 uses vdpbf16ps; f16
 * weights are widened to float once per tile of rows (exactly: the same
 * bits, without a conversion per token). One or two tokens use the AVX2 dot
 * row by row (streaming).
 *
 * Exact runs (decode steps, speculative verification) of the legacy types:
 * see "exact runs" below.
 */
#include <math.h>

#include "tensor/kernels.h"
#include "tensor/quant_ref.h"
#include "tensor/x86/avx512_shared.h"
#include "tensor/x86/x86_blocks.h"
#include "tensor/x86/x86_iquants.h"

/* ---- quantized weights: unpacking into the panel ------------------------ */

enum {
    PANEL_ROWS = 32,        /* two vectors of 16 rows */
    PANEL_BLOCKS = 16,      /* blocks per panel: 16 KiB of levels, stays in L1 */
    TOKEN_TILE = 6,         /* tokens per micro-kernel call */
    PREP_BYTES = 48 * 1024, /* per-token block scales and sums, on the stack */
    GEMV_MAX_TOKENS = 8,    /* up to this many tokens (a server's decode batch): the streaming kernel */
    GEMV_MAX_PAIRS = 96     /* its stack buffers: n_cols <= 6144 */
};

typedef struct weight_panel {
    _Alignas(64) uint8_t q[PANEL_BLOCKS][8][PANEL_ROWS][4]; /* block, group of 4, row, byte */
    _Alignas(64) float d[PANEL_BLOCKS][PANEL_ROWS];         /* block scales */
    _Alignas(64) float m[PANEL_BLOCKS][PANEL_ROWS];         /* block minimums (q4_1, q5_1) */
} weight_panel;

/* Where 16 rows start, as a base pointer and byte offsets from it (for
 * gathers); rows past the end of the band repeat the first row. */
typedef struct row_group {
    const uint8_t *base;
    __m512i offsets;
    const uint8_t *row[16];
    bool gather; /* scales by one gather (decode: faster) or 16 loads (prompts: faster) */
} row_group;

/* The 4-byte field at `field` of block b of each of the 16 rows. */
static inline __m512i gather_field(const row_group *rows, int64_t block_offset) {
    return _mm512_i32gather_epi32(rows->offsets, (const void *)(rows->base + block_offset), 1);
}

/* Scales (low half of the gathered dword) and minimums (high half). */
X86_INLINE void unpack_scales(const row_group *rows, int64_t block_offset, float *d, float *m) {
    __m512i field;
    if (rows->gather) {
        field = gather_field(rows, block_offset);
    } else {
        int32_t fields[16];
        for (int i = 0; i < 16; i++) fields[i] = x86_load_i32(rows->row[i] + block_offset);
        field = _mm512_loadu_si512((const void *)fields);
    }
    _mm512_store_ps(d, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(field)));
    if (m) _mm512_store_ps(m, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(field, 16))));
}

/* 4-bit levels: group g < 4 is the low nibbles of dword g, group g + 4 the
 * high nibbles. `fifth` adds 16 to the elements whose qh bit is set. */
X86_INLINE void store_nibble_groups(const __m512i dwords[4], const __m512i *qh, uint8_t *q, int stride) {
    const __m512i low_mask = _mm512_set1_epi8(0x0f);
    for (int k = 0; k < 4; k++) {
        __m512i low = _mm512_and_si512(dwords[k], low_mask);
        __m512i high = _mm512_and_si512(_mm512_srli_epi16(dwords[k], 4), low_mask);
        if (qh) {
            /* group g covers qh bits 4g..4g+3: byte g/2 of qh, nibble g%2 */
            const __m512i sixteen = _mm512_set1_epi8(16);
            const __m512i bits_even = _mm512_set1_epi32(0x08040201);
            const __m512i bits_odd = _mm512_set1_epi32((int)0x80402010u);
            const int g_low = k, g_high = k + 4;
            const __m512i pick_low = _mm512_set1_epi32(0x01010101 * (g_low / 2));
            const __m512i pick_high = _mm512_set1_epi32(0x01010101 * (g_high / 2));
            const __m512i lane_base = _mm512_set4_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0);
            const __m512i qh_low = _mm512_shuffle_epi8(*qh, _mm512_add_epi8(lane_base, pick_low));
            const __m512i qh_high = _mm512_shuffle_epi8(*qh, _mm512_add_epi8(lane_base, pick_high));
            const __mmask64 set_low = _mm512_test_epi8_mask(qh_low, (g_low & 1) ? bits_odd : bits_even);
            const __mmask64 set_high = _mm512_test_epi8_mask(qh_high, (g_high & 1) ? bits_odd : bits_even);
            low = _mm512_mask_add_epi8(low, set_low, low, sixteen);
            high = _mm512_mask_add_epi8(high, set_high, high, sixteen);
        }
        _mm512_store_si512((void *)(q + k * stride), low);
        _mm512_store_si512((void *)(q + (k + 4) * stride), high);
    }
}

/* One block of 16 rows for each weight type: levels into q (group g at
 * q + g * stride), scales into d, minimums into m. */
typedef void (*unpack_fn)(const row_group *rows, int64_t block, uint8_t *q, int stride, float *d, float *m);

X86_INLINE void unpack_q4_0(const row_group *rows, int64_t block, uint8_t *q, int stride, float *d, float *m) {
    (void)m;
    const int64_t at = block * Q4_0_BYTES;
    __m512i dwords[4];
    avx512_transpose_rows(rows->row, (size_t)(at + Q4_0_QS), dwords);
    store_nibble_groups(dwords, NULL, q, stride);
    unpack_scales(rows, at, d, NULL);
}

static void unpack_q4_1(const row_group *rows, int64_t block, uint8_t *q, int stride, float *d, float *m) {
    const int64_t at = block * Q4_1_BYTES;
    __m512i dwords[4];
    avx512_transpose_rows(rows->row, (size_t)(at + Q4_1_QS), dwords);
    store_nibble_groups(dwords, NULL, q, stride);
    unpack_scales(rows, at, d, m);
}

X86_INLINE void unpack_q5_0(const row_group *rows, int64_t block, uint8_t *q, int stride, float *d, float *m) {
    (void)m;
    const int64_t at = block * Q5_0_BYTES;
    __m512i dwords[4];
    avx512_transpose_rows(rows->row, (size_t)(at + Q5_0_QS), dwords);
    const __m512i qh = gather_field(rows, at + Q5_0_QH);
    store_nibble_groups(dwords, &qh, q, stride);
    unpack_scales(rows, at, d, NULL);
}

static void unpack_q5_1(const row_group *rows, int64_t block, uint8_t *q, int stride, float *d, float *m) {
    const int64_t at = block * Q5_1_BYTES;
    __m512i dwords[4];
    avx512_transpose_rows(rows->row, (size_t)(at + Q5_1_QS), dwords);
    const __m512i qh = gather_field(rows, at + Q5_1_QH);
    store_nibble_groups(dwords, &qh, q, stride);
    unpack_scales(rows, at, d, m);
}

/* q8_0: an 8x8 dword transpose in each 256-bit half of
 * [row i | row i + 8], then the halves' 128-bit lanes put in row order. */
X86_INLINE void unpack_q8_0(const row_group *rows, int64_t block, uint8_t *q, int stride, float *d, float *m) {
    (void)m;
    const int64_t at = block * Q8_0_BYTES + Q8_0_QS;
    __m512i v[8], t[8], u[8];
    for (int i = 0; i < 8; i++) {
        const __m256i lo = _mm256_loadu_si256((const __m256i *)(rows->row[i] + at));
        const __m256i hi = _mm256_loadu_si256((const __m256i *)(rows->row[i + 8] + at));
        v[i] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
    }
    /* u[4h + k]: dword k (lane 0/2) and k + 4 (lane 1/3) of rows 4h..4h+3 */
    for (int h = 0; h < 2; h++) {
        u[4 * h + 0] = _mm512_unpacklo_epi64(t[4 * h], t[4 * h + 2]);
        u[4 * h + 1] = _mm512_unpackhi_epi64(t[4 * h], t[4 * h + 2]);
        u[4 * h + 2] = _mm512_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);
        u[4 * h + 3] = _mm512_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
    }
    const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i second = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    const __m512i flip = _mm512_set1_epi8((char)0x80); /* signed -> unsigned + 128 */
    for (int k = 0; k < 4; k++) {
        const __m512i g = _mm512_permutex2var_epi64(u[k], first, u[k + 4]);
        const __m512i g4 = _mm512_permutex2var_epi64(u[k], second, u[k + 4]);
        _mm512_store_si512((void *)(q + k * stride), _mm512_xor_si512(g, flip));
        _mm512_store_si512((void *)(q + (k + 4) * stride), _mm512_xor_si512(g4, flip));
    }
    unpack_scales(rows, block * Q8_0_BYTES, d, NULL);
}

/* kvalues_iq4nl + 128 (1..241) in every 128-bit lane: pshufb of 4-bit
 * indices gives iq4_nl's levels as unsigned bytes. */
X86_INLINE __m512i iq4nl_unsigned_table(void) {
    return _mm512_xor_si512(_mm512_broadcast_i32x4(_mm256_castsi256_si128(x86_iq4nl_table256())),
                            _mm512_set1_epi8((char)0x80));
}

X86_INLINE void unpack_iq4_nl(const row_group *rows, int64_t block, uint8_t *q, int stride, float *d, float *m) {
    (void)m;
    const int64_t at = block * IQ4_NL_BYTES;
    __m512i dwords[4];
    avx512_transpose_rows(rows->row, (size_t)(at + IQ4_NL_QS), dwords);
    const __m512i table = iq4nl_unsigned_table(), low_mask = _mm512_set1_epi8(0x0f);
    for (int k = 0; k < 4; k++) {
        const __m512i low = _mm512_and_si512(dwords[k], low_mask);
        const __m512i high = _mm512_and_si512(_mm512_srli_epi16(dwords[k], 4), low_mask);
        _mm512_store_si512((void *)(q + k * stride), _mm512_shuffle_epi8(table, low));
        _mm512_store_si512((void *)(q + (k + 4) * stride), _mm512_shuffle_epi8(table, high));
    }
    unpack_scales(rows, at + IQ4_NL_D, d, NULL);
}

/* What the matrix kernel needs to know about a quantized weight type. */
typedef struct quant_kind {
    unpack_fn unpack;
    int level_offset;  /* subtracted from the unpacked levels */
    int has_min;       /* q4_1 / q5_1: add m * s of the q8_1 activations */
    tl_vec_dot_fn dot; /* fallback when a row is too long for the stack buffers */
    /* few-token kernel (NULL: the AVX2 dot per row and token) */
    void (*gemv)(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x,
                 size_t x_row_bytes, int n_tokens, float *y, int64_t ldy);
    uint32_t type;
} quant_kind;

/* The AVX2 set's dot products, for the few-token case of types without a
 * gemv here (set once at selection, before any kernel runs). */
static tl_vec_dot_fn avx2_dot[TL_TYPE_COUNT];

/* ---- activations: per-block scales and sums ----------------------------- */

typedef struct token_prep {
    float *d;      /* [token][block] activation scale */
    int32_t *corr; /* [token][block] -offset * sum(q) */
    float *s;      /* [token][block] q8_1's s, when has_min */
} token_prep;

static void prepare_tokens(const quant_kind *kind, const uint8_t *x, size_t x_row_bytes, int64_t n_tokens,
                           int64_t n_blocks, const token_prep *prep) {
    const size_t block_bytes = kind->has_min ? Q8_1_BYTES : Q8_0_BYTES;
    const int qs = kind->has_min ? Q8_1_QS : Q8_0_QS;
    for (int64_t t = 0; t < n_tokens; t++) {
        const uint8_t *block = x + (size_t)t * x_row_bytes;
        for (int64_t b = 0; b < n_blocks; b++, block += block_bytes) {
            const int64_t at = t * n_blocks + b;
            prep->d[at] = x86_load_half(block);
            if (kind->has_min) prep->s[at] = x86_load_half(block + Q8_1_S);
            if (kind->level_offset) {
                /* sum of (q + 128) by sad against zero, then remove the bias */
                const __m256i q =
                    _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(block + qs)), _mm256_set1_epi8((char)0x80));
                const __m256i sums = _mm256_sad_epu8(q, _mm256_setzero_si256());
                const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
                const int sum = (int)(_mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1)) - 32 * 128;
                prep->corr[at] = -kind->level_offset * sum;
            }
        }
    }
}

/* ---- the micro-kernel --------------------------------------------------- */

typedef struct tile_args {
    const weight_panel *panel;
    int n_panel_blocks;           /* blocks in the panel */
    int64_t first_block;          /* block index of the panel's first block */
    const uint8_t *x[TOKEN_TILE]; /* activation rows */
    size_t x_block_bytes;
    int x_qs;
    int64_t prep_at[TOKEN_TILE]; /* index of (token, first_block) in the prep arrays */
    const token_prep *prep;
    float *y[TOKEN_TILE]; /* where row 0 of the panel goes, per token */
    __mmask16 mask[2];    /* valid rows of each 16-row vector */
    int accumulate;       /* add to y (not the panel's first blocks) */
} tile_args;

/* y[t][rows] (+)= sum over the panel's blocks, for NT tokens and NV vectors
 * of 16 rows. Inlined with constant NT/NV so the accumulators stay in
 * registers. */
X86_INLINE void quant_tile(const tile_args *a, const int NT, const int NV, const int use_corr, const int has_min) {
    __m512 acc[TOKEN_TILE][2];
    X86_UNROLL for (int t = 0; t < NT; t++) X86_UNROLL for (int v = 0; v < NV; v++) acc[t][v] =
        a->accumulate ? _mm512_maskz_loadu_ps(a->mask[v], a->y[t] + 16 * v) : _mm512_setzero_ps();

    const uint8_t *xq[TOKEN_TILE];
    X86_UNROLL for (int t = 0; t < NT; t++) xq[t] =
        a->x[t] + (size_t)a->first_block * a->x_block_bytes + (size_t)a->x_qs;

    for (int i = 0; i < a->n_panel_blocks; i++) {
        __m512i dot[TOKEN_TILE][2];
        X86_UNROLL for (int t = 0; t < NT; t++) {
            const __m512i start =
                use_corr ? _mm512_set1_epi32(a->prep->corr[a->prep_at[t] + i]) : _mm512_setzero_si512();
            X86_UNROLL for (int v = 0; v < NV; v++) dot[t][v] = start;
        }
        const uint8_t *q = &a->panel->q[i][0][0][0];
        X86_UNROLL for (int g = 0; g < 8; g++) {
            __m512i w[2];
            X86_UNROLL for (int v = 0; v < NV; v++) w[v] =
                _mm512_load_si512((const void *)(q + g * PANEL_ROWS * 4 + 64 * v));
            X86_UNROLL for (int t = 0; t < NT; t++) {
                const __m512i xb = _mm512_set1_epi32(x86_load_i32(xq[t] + 4 * g));
                X86_UNROLL for (int v = 0; v < NV; v++) dot[t][v] = _mm512_dpbusd_epi32(dot[t][v], w[v], xb);
            }
        }
        X86_UNROLL for (int t = 0; t < NT; t++) {
            const __m512 dx = _mm512_set1_ps(a->prep->d[a->prep_at[t] + i]);
            X86_UNROLL for (int v = 0; v < NV; v++) {
                const __m512 scale = _mm512_mul_ps(_mm512_load_ps(a->panel->d[i] + 16 * v), dx);
                acc[t][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[t][v]), scale, acc[t][v]);
            }
            if (has_min) {
                const __m512 sx = _mm512_set1_ps(a->prep->s[a->prep_at[t] + i]);
                X86_UNROLL for (int v = 0; v < NV; v++) acc[t][v] =
                    _mm512_fmadd_ps(_mm512_load_ps(a->panel->m[i] + 16 * v), sx, acc[t][v]);
            }
            xq[t] += a->x_block_bytes;
        }
    }
    X86_UNROLL for (int t = 0; t < NT; t++) X86_UNROLL for (int v = 0; v < NV; v++)
        _mm512_mask_storeu_ps(a->y[t] + 16 * v, a->mask[v], acc[t][v]);
}

/* One instance per (tokens, vectors, offset?, minimum?) */
#define DEFINE_TILE(nt, nv, corr, min)                                                                                 \
    static void quant_tile_##nt##_##nv##_##corr##_##min(const tile_args *a) {                                          \
        quant_tile(a, nt, nv, corr, min);                                                                              \
    }
#define DEFINE_TILES_NT(nt)                                                                                            \
    DEFINE_TILE(nt, 1, 1, 0) DEFINE_TILE(nt, 2, 1, 0) DEFINE_TILE(nt, 1, 0, 1) DEFINE_TILE(nt, 2, 0, 1)
DEFINE_TILES_NT(1)
DEFINE_TILES_NT(2)
DEFINE_TILES_NT(3)
DEFINE_TILES_NT(4)
DEFINE_TILES_NT(5)
DEFINE_TILES_NT(6)

typedef void (*tile_fn)(const tile_args *a);
#define TILE_ROW(nt)                                                                                                   \
    {                                                                                                                  \
        {quant_tile_##nt##_1_1_0, quant_tile_##nt##_2_1_0}, {                                                          \
            quant_tile_##nt##_1_0_1, quant_tile_##nt##_2_0_1                                                           \
        }                                                                                                              \
    }
/* [tokens - 1][has_min][vectors - 1] */
static const tile_fn tile_table[TOKEN_TILE][2][2] = {TILE_ROW(1), TILE_ROW(2), TILE_ROW(3),
                                                     TILE_ROW(4), TILE_ROW(5), TILE_ROW(6)};

/* ---- the quantized matrix kernel ---------------------------------------- */

static void fill_row_group(row_group *g, const uint8_t *w, size_t w_row_bytes, int64_t first, int64_t count) {
    g->base = w + (size_t)first * w_row_bytes;
    int32_t offsets[16];
    for (int i = 0; i < 16; i++) {
        const int64_t r = i < count ? i : 0;
        offsets[i] = (int32_t)(r * (int64_t)w_row_bytes);
        g->row[i] = g->base + (size_t)offsets[i];
    }
    g->offsets = _mm512_loadu_si512((const void *)offsets);
    g->gather = false;
}

static void gemm_quant(const quant_kind *kind, int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0,
                       int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    const int64_t n_blocks = n_cols / QK;
    if (n_tokens <= GEMV_MAX_TOKENS) {
        if (kind->gemv && n_blocks / 2 <= GEMV_MAX_PAIRS) {
            kind->gemv(n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, (int)n_tokens, y, ldy);
            return;
        }
        const tl_vec_dot_fn dot = avx2_dot[kind->type] ? avx2_dot[kind->type] : kind->dot;
        for (int64_t r = r0; r < r1; r++)
            for (int64_t t = 0; t < n_tokens; t++)
                dot(n_cols, &y[t * ldy + r], (const uint8_t *)w + (size_t)r * w_row_bytes,
                    (const uint8_t *)x + (size_t)t * x_row_bytes);
        return;
    }
    const size_t prep_per_token = (size_t)n_blocks * (kind->has_min ? 12 : 8);
    int64_t token_chunk = (int64_t)(PREP_BYTES / prep_per_token);
    /* rows longer than the buffers allow (n_cols > ~180k) or a band whose
     * gather offsets would overflow: the plain dot per row and token */
    if (token_chunk < 1 || w_row_bytes * 16 > (size_t)INT32_MAX) {
        for (int64_t r = r0; r < r1; r++)
            for (int64_t t = 0; t < n_tokens; t++)
                kind->dot(n_cols, &y[t * ldy + r], (const uint8_t *)w + (size_t)r * w_row_bytes,
                          (const uint8_t *)x + (size_t)t * x_row_bytes);
        return;
    }
    _Alignas(64) uint8_t prep_buffer[PREP_BYTES];
    weight_panel panel;
    const uint8_t *xb = x;

    tile_args a;
    a.panel = &panel;
    a.x_block_bytes = kind->has_min ? Q8_1_BYTES : Q8_0_BYTES;
    a.x_qs = kind->has_min ? Q8_1_QS : Q8_0_QS;

    for (int64_t t0 = 0; t0 < n_tokens; t0 += token_chunk) {
        const int64_t chunk = n_tokens - t0 < token_chunk ? n_tokens - t0 : token_chunk;
        token_prep prep;
        prep.d = (float *)(void *)prep_buffer;
        prep.corr = (int32_t *)(void *)(prep_buffer + (size_t)(chunk * n_blocks) * 4);
        prep.s = (float *)(void *)(prep_buffer + (size_t)(chunk * n_blocks) * 8);
        prepare_tokens(kind, xb + (size_t)t0 * x_row_bytes, x_row_bytes, chunk, n_blocks, &prep);
        a.prep = &prep;

        for (int64_t rp = r0; rp < r1; rp += PANEL_ROWS) {
            const int64_t n_rows = r1 - rp < PANEL_ROWS ? r1 - rp : PANEL_ROWS;
            const int n_vectors = n_rows > 16 ? 2 : 1;
            row_group groups[2];
            fill_row_group(&groups[0], w, w_row_bytes, rp, n_rows < 16 ? n_rows : 16);
            if (n_vectors == 2) fill_row_group(&groups[1], w, w_row_bytes, rp + 16, n_rows - 16);
            a.mask[0] = n_rows >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n_rows) - 1);
            a.mask[1] = n_rows >= 32 ? (__mmask16)0xffff : n_rows > 16 ? (__mmask16)((1u << (n_rows - 16)) - 1) : 0;

            for (int64_t kb = 0; kb < n_blocks; kb += PANEL_BLOCKS) {
                const int n_panel = (int)(n_blocks - kb < PANEL_BLOCKS ? n_blocks - kb : PANEL_BLOCKS);
                for (int i = 0; i < n_panel; i++)
                    for (int v = 0; v < n_vectors; v++)
                        kind->unpack(&groups[v], kb + i, &panel.q[i][0][16 * v][0], PANEL_ROWS * 4, panel.d[i] + 16 * v,
                                     panel.m[i] + 16 * v);
                a.n_panel_blocks = n_panel;
                a.first_block = kb;
                a.accumulate = kb > 0;
                for (int64_t tt = 0; tt < chunk; tt += TOKEN_TILE) {
                    const int nt = (int)(chunk - tt < TOKEN_TILE ? chunk - tt : TOKEN_TILE);
                    for (int t = 0; t < nt; t++) {
                        const int64_t token = t0 + tt + t;
                        a.x[t] = xb + (size_t)token * x_row_bytes;
                        a.prep_at[t] = (tt + t) * n_blocks + kb;
                        a.y[t] = y + token * ldy + rp;
                    }
                    tile_table[nt - 1][kind->has_min][n_vectors - 1](&a);
                }
            }
        }
    }
}

/* ---- few tokens: streaming matrix-vector kernel -------------------------- */

/*
 * With one to three tokens the weights are read once from memory and the
 * panel's transposes do not pay off (and its 32 concurrent row streams defeat
 * the prefetchers): rows are walked one after the other, two blocks per
 * 512-bit vector (lanes are groups of 4 elements), with the activations of
 * each block pair prepared once: the 64 bytes of levels, the -offset*sum
 * start vector (lanes 0 and 8) and the scales [dx0 x8 | dx1 x8].
 */

typedef struct gemv_pair {
    __m512i y;     /* activation levels of blocks 2p, 2p+1 */
    __m512i start; /* -offset * sum(y) of each block in lanes 0 and 8 */
    __m512 dx;     /* activation scales, 8 lanes each */
} gemv_pair;

/* Unsigned levels of 2 consecutive blocks (64 elements). */
X86_INLINE __m512i gemv_levels2(uint32_t type, const uint8_t *b0, const uint8_t *b1) {
    if (type == TL_TYPE_Q8_0) {
        const __m512i v =
            _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b0 + Q8_0_QS))),
                               _mm256_loadu_si256((const __m256i *)(b1 + Q8_0_QS)), 1);
        return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
    }
    const int qs = type == TL_TYPE_Q4_0 ? Q4_0_QS : type == TL_TYPE_IQ4_NL ? IQ4_NL_QS : Q5_0_QS;
    const __m256i packed =
        _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(b1 + qs)), _mm_loadu_si128((const __m128i *)(b0 + qs)));
    /* lanes [b0 qs, b0 qs, b1 qs, b1 qs], high nibbles in lanes 1 and 3 */
    __m512i z = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(packed));
    z = _mm512_and_si512(_mm512_mask_srli_epi64(z, 0xCC, z, 4), _mm512_set1_epi8(0x0f));
    if (type == TL_TYPE_Q5_0) {
        const uint64_t qh = (uint64_t)x86_load_u32(b0 + Q5_0_QH) | ((uint64_t)x86_load_u32(b1 + Q5_0_QH) << 32);
        z = _mm512_mask_add_epi8(z, _cvtu64_mask64(qh), z, _mm512_set1_epi8(16));
    }
    if (type == TL_TYPE_IQ4_NL) z = _mm512_shuffle_epi8(iq4nl_unsigned_table(), z);
    return z;
}

X86_INLINE __m256i gemv_levels1(uint32_t type, const uint8_t *b0) {
    if (type == TL_TYPE_Q8_0)
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(b0 + Q8_0_QS)), _mm256_set1_epi8((char)0x80));
    if (type == TL_TYPE_Q4_0) return x86_unpack_nibbles32(b0 + Q4_0_QS);
    if (type == TL_TYPE_IQ4_NL)
        return _mm256_shuffle_epi8(_mm512_castsi512_si256(iq4nl_unsigned_table()),
                                   x86_unpack_nibbles32(b0 + IQ4_NL_QS));
    return _mm256_or_si256(x86_unpack_nibbles32(b0 + Q5_0_QS), x86_fifth_bits32(b0 + Q5_0_QH));
}

static int32_t block_sum_q8(const uint8_t *qs) {
    const __m256i q = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)qs), _mm256_set1_epi8((char)0x80));
    const __m256i sums = _mm256_sad_epu8(q, _mm256_setzero_si256());
    const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
    return (int32_t)(_mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1)) - 32 * 128;
}

X86_INLINE void gemv_quant(uint32_t type, int offset, size_t block_bytes, int64_t n_cols, const uint8_t *w,
                           size_t w_row_bytes, int64_t r0, int64_t r1, const uint8_t *x, size_t x_row_bytes,
                           const int NT, float *y, int64_t ldy) {
    const int64_t n_blocks = n_cols / QK, n_pairs = n_blocks / 2;
    gemv_pair pairs[GEMV_MAX_TOKENS][GEMV_MAX_PAIRS];
    float tail_dx[GEMV_MAX_TOKENS];
    int32_t tail_start[GEMV_MAX_TOKENS];
    for (int t = 0; t < NT; t++) {
        const uint8_t *xb = x + (size_t)t * x_row_bytes;
        for (int64_t p = 0; p < n_pairs; p++) {
            const uint8_t *b0 = xb + (size_t)(2 * p) * Q8_0_BYTES, *b1 = b0 + Q8_0_BYTES;
            pairs[t][p].y =
                _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b0 + Q8_0_QS))),
                                   _mm256_loadu_si256((const __m256i *)(b1 + Q8_0_QS)), 1);
            const int32_t s0 = -offset * block_sum_q8(b0 + Q8_0_QS);
            const int32_t s1 = -offset * block_sum_q8(b1 + Q8_0_QS);
            pairs[t][p].start = _mm512_maskz_set1_epi32(0x0001, s0);
            pairs[t][p].start = _mm512_mask_set1_epi32(pairs[t][p].start, 0x0100, s1);
            pairs[t][p].dx = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(x86_load_half(b0))),
                                                                 _mm256_castps_pd(_mm256_set1_ps(x86_load_half(b1))),
                                                                 1)); /* AVX512F only */
        }
        if (n_blocks & 1) {
            const uint8_t *b0 = xb + (size_t)(n_blocks - 1) * Q8_0_BYTES;
            tail_dx[t] = x86_load_half(b0);
            tail_start[t] = -offset * block_sum_q8(b0 + Q8_0_QS);
        }
    }
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * w_row_bytes;
        __m512 acc[GEMV_MAX_TOKENS];
        for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
        for (int64_t p = 0; p < n_pairs; p++) {
            const uint8_t *b0 = row + (size_t)(2 * p) * block_bytes, *b1 = b0 + block_bytes;
            const __m512i levels = gemv_levels2(type, b0, b1);
            uint16_t d0, d1;
            memcpy(&d0, b0, 2);
            memcpy(&d1, b1, 2);
            const __m512 dw = _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16((short)d1), _mm_set1_epi16((short)d0)));
            for (int t = 0; t < NT; t++) {
                const __m512i dot = _mm512_dpbusd_epi32(pairs[t][p].start, levels, pairs[t][p].y);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, pairs[t][p].dx), acc[t]);
            }
        }
        for (int t = 0; t < NT; t++) {
            float sum = _mm512_reduce_add_ps(acc[t]);
            if (n_blocks & 1) {
                const uint8_t *b0 = row + (size_t)(n_blocks - 1) * block_bytes;
                const uint8_t *xq = x + (size_t)t * x_row_bytes + (size_t)(n_blocks - 1) * Q8_0_BYTES;
                const __m256i dot =
                    _mm256_dpbusd_epi32(_mm256_setr_epi32(tail_start[t], 0, 0, 0, 0, 0, 0, 0), gemv_levels1(type, b0),
                                        _mm256_loadu_si256((const __m256i *)(xq + Q8_0_QS)));
                __m128i s = _mm_add_epi32(_mm256_castsi256_si128(dot), _mm256_extracti128_si256(dot, 1));
                s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
                s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
                sum += (float)_mm_cvtsi128_si32(s) * (x86_load_half(b0) * tail_dx[t]);
            }
            y[t * ldy + r] = sum;
        }
    }
}

#define DEFINE_GEMV(name, type, offset, bytes)                                                                         \
    static void gemv_##name(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x,  \
                            size_t x_row_bytes, int nt, float *y, int64_t ldy) {                                       \
        switch (nt) { /* a constant token count per call unrolls the inner loops */                                    \
        case 1: gemv_quant(type, offset, bytes, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, 1, y, ldy); break;     \
        case 2: gemv_quant(type, offset, bytes, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, 2, y, ldy); break;     \
        case 3: gemv_quant(type, offset, bytes, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, 3, y, ldy); break;     \
        case 4: gemv_quant(type, offset, bytes, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, 4, y, ldy); break;     \
        case 5: gemv_quant(type, offset, bytes, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, 5, y, ldy); break;     \
        case 6: gemv_quant(type, offset, bytes, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, 6, y, ldy); break;     \
        case 7: gemv_quant(type, offset, bytes, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, 7, y, ldy); break;     \
        default: gemv_quant(type, offset, bytes, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, 8, y, ldy);           \
        }                                                                                                              \
    }
DEFINE_GEMV(q4_0, TL_TYPE_Q4_0, 8, Q4_0_BYTES)
DEFINE_GEMV(q5_0, TL_TYPE_Q5_0, 16, Q5_0_BYTES)
DEFINE_GEMV(q8_0, TL_TYPE_Q8_0, 128, Q8_0_BYTES)
DEFINE_GEMV(iq4_nl, TL_TYPE_IQ4_NL, 128, IQ4_NL_BYTES)

static const quant_kind kind_q4_0 = {unpack_q4_0, 8, 0, tl_vec_dot_q4_0_q8_0, gemv_q4_0, TL_TYPE_Q4_0};
static const quant_kind kind_q4_1 = {unpack_q4_1, 0, 1, tl_vec_dot_q4_1_q8_1, NULL, TL_TYPE_Q4_1};
static const quant_kind kind_q5_0 = {unpack_q5_0, 16, 0, tl_vec_dot_q5_0_q8_0, gemv_q5_0, TL_TYPE_Q5_0};
static const quant_kind kind_q5_1 = {unpack_q5_1, 0, 1, tl_vec_dot_q5_1_q8_1, NULL, TL_TYPE_Q5_1};
static const quant_kind kind_q8_0 = {unpack_q8_0, 128, 0, tl_vec_dot_q8_0_q8_0, gemv_q8_0, TL_TYPE_Q8_0};
static const quant_kind kind_iq4_nl = {unpack_iq4_nl, 128, 0, tl_vec_dot_iq4_nl_q8_0, gemv_iq4_nl, TL_TYPE_IQ4_NL};

#define DEFINE_QUANT_GEMM(type)                                                                                        \
    static void gemm_##type##_vnni(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,          \
                                   const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {       \
        gemm_quant(&kind_##type, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);                    \
    }
DEFINE_QUANT_GEMM(q4_0)
DEFINE_QUANT_GEMM(q4_1)
DEFINE_QUANT_GEMM(q5_0)
DEFINE_QUANT_GEMM(q5_1)
DEFINE_QUANT_GEMM(q8_0)
DEFINE_QUANT_GEMM(iq4_nl)

/* ---- exact runs: 16 rows at a time, every token per block ---------------- */

/*
 * Decode steps and speculative verification need each token's result to be
 * the one it gets alone (tl_kernels_gemm_exact), and verifying k tokens
 * should cost little more than one. Here each block of 16 rows is unpacked
 * as for the panels ("lanes are rows", 512 bytes that stay in L1) and
 * multiplied with every token of the group before the next block: the
 * weights are read once for up to EXACT_TOKENS tokens, and each token costs
 * 8 vpdpbusd, a conversion and two float operations per 16 rows and block.
 * Every (row, token) gets the panel kernel's arithmetic: per block the exact
 * integer dot, then acc = fma(float(dot), d_w * d_x, acc), blocks in order;
 * the same kernel on one row and one token is the level's vec_dot.
 */
enum { EXACT_TOKENS = 16 };

X86_INLINE void exact_rows(const quant_kind *kind, size_t block_bytes, int64_t n_blocks, const row_group *g,
                           __mmask16 mask, const uint8_t *next, const uint8_t *x, size_t x_row_bytes,
                           const token_prep *prep, const int NT, float *y, int64_t ldy) {
    __m512 acc[EXACT_TOKENS];
    X86_UNROLL for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    _Alignas(64) uint8_t q[8][64];
    _Alignas(64) float d[16];
    const uint8_t *xq = x + Q8_0_QS;
    /* The 16 rows are read side by side, which the hardware prefetchers do
     * not follow: each block step fetches its share of the next 16 rows
     * (contiguous) into L2. */
    const size_t step_bytes = 16 * block_bytes;
    for (int64_t b = 0; b < n_blocks; b++, xq += Q8_0_BYTES) {
        if (next)
            for (size_t at = 0; at < step_bytes; at += 64)
                _mm_prefetch((const char *)next + b * step_bytes + at, _MM_HINT_T0);
        kind->unpack(g, b, &q[0][0], 64, d, NULL);
        const __m512 dw = _mm512_load_ps(d);
        X86_UNROLL for (int t = 0; t < NT; t++) {
            const uint8_t *xt = xq + (size_t)t * x_row_bytes;
            __m512i dot = _mm512_set1_epi32(prep->corr[t * n_blocks + b]);
            X86_UNROLL for (int gi = 0; gi < 8; gi++) dot = _mm512_dpbusd_epi32(
                dot, _mm512_load_si512((const void *)q[gi]), _mm512_set1_epi32(x86_load_i32(xt + 4 * gi)));
            const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(prep->d[t * n_blocks + b]));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[t]);
        }
    }
    X86_UNROLL for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(y + t * ldy, mask, acc[t]);
}

/* The integer level of element j of a block (what the panels hold, minus
 * the offset). */
static int exact_level(uint32_t type, const uint8_t *b, int j) {
    switch (type) {
    case TL_TYPE_Q8_0: return (int8_t)b[Q8_0_QS + j];
    case TL_TYPE_Q4_0: return ((b[Q4_0_QS + j % 16] >> (j / 16 * 4)) & 15) - 8;
    case TL_TYPE_Q5_0: {
        const int high = (int)((x86_load_u32(b + Q5_0_QH) >> j) & 1) << 4;
        return (((b[Q5_0_QS + j % 16] >> (j / 16 * 4)) & 15) | high) - 16;
    }
    default: return tl_kvalues_iq4nl[(b[IQ4_NL_QS + j % 16] >> (j / 16 * 4)) & 15];
    }
}

/* The same arithmetic in scalar code, for rows too long for the buffers. */
static float exact_dot_row(uint32_t type, size_t block_bytes, int64_t n, const uint8_t *w, const uint8_t *x) {
    float acc = 0.0f;
    for (int64_t b = 0; b < n / QK; b++, w += block_bytes, x += Q8_0_BYTES) {
        int32_t dot = 0;
        for (int j = 0; j < QK; j++) dot += exact_level(type, w, j) * (int8_t)x[Q8_0_QS + j];
        acc = fmaf((float)dot, x86_load_half(w) * x86_load_half(x), acc);
    }
    return acc;
}

/* Rows [r0, r1) for tokens in groups of `group` (their prepared scales and
 * sums fit the buffer). */
X86_INLINE void exact_band(const quant_kind *kind, size_t block_bytes, int64_t n_blocks, const uint8_t *w,
                           size_t w_row_bytes, int64_t r0, int64_t r1, const uint8_t *x, size_t x_row_bytes,
                           int64_t n_tokens, int64_t group, float *y, int64_t ldy) {
    _Alignas(64) uint8_t prep_buffer[PREP_BYTES];
    for (int64_t t0 = 0; t0 < n_tokens; t0 += group) {
        const int nt = (int)(n_tokens - t0 < group ? n_tokens - t0 : group);
        const uint8_t *xt = x + (size_t)t0 * x_row_bytes;
        token_prep prep = {.d = (float *)(void *)prep_buffer,
                           .corr = (int32_t *)(void *)(prep_buffer + (size_t)(nt * n_blocks) * 4)};
        prepare_tokens(kind, xt, x_row_bytes, nt, n_blocks, &prep);
        for (int64_t r = r0; r < r1; r += 16) {
            const int64_t n_rows = r1 - r < 16 ? r1 - r : 16;
            row_group g;
            fill_row_group(&g, w, w_row_bytes, r, n_rows);
            g.gather = true;
            const __mmask16 mask = (__mmask16)((1u << n_rows) - 1);
            float *yr = y + t0 * ldy + r;
            const uint8_t *next = r + 16 < r1 ? w + (size_t)(r + 16) * w_row_bytes : NULL;
#define EXACT_CASE(NT)                                                                                                 \
    case NT: exact_rows(kind, block_bytes, n_blocks, &g, mask, next, xt, x_row_bytes, &prep, NT, yr, ldy); break;
            // clang-format off
            switch (nt) { /* a constant token count keeps the accumulators in registers */
            EXACT_CASE(1) EXACT_CASE(2) EXACT_CASE(3) EXACT_CASE(4) EXACT_CASE(5) EXACT_CASE(6) EXACT_CASE(7)
            EXACT_CASE(8) EXACT_CASE(9) EXACT_CASE(10) EXACT_CASE(11) EXACT_CASE(12) EXACT_CASE(13) EXACT_CASE(14)
            EXACT_CASE(15) EXACT_CASE(16)
            }
            // clang-format on
#undef EXACT_CASE
        }
    }
}

/* The exact kernel, and (one row, one token) the level's vec_dot. */
X86_INLINE void gemm_exact_rows(const quant_kind *kind, size_t block_bytes, int64_t n_cols, const void *w,
                                size_t w_row_bytes, int64_t r0, int64_t r1, const void *x, size_t x_row_bytes,
                                int64_t n_tokens, float *y, int64_t ldy) {
    const int64_t n_blocks = n_cols / QK;
    int64_t group = PREP_BYTES / (n_blocks * 8);
    if (group > EXACT_TOKENS) group = EXACT_TOKENS;
    if (group < 1) { /* rows of over 190,000 columns: too long for the buffers */
        for (int64_t r = r0; r < r1; r++)
            for (int64_t t = 0; t < n_tokens; t++)
                y[t * ldy + r] =
                    exact_dot_row(kind->type, block_bytes, n_cols, (const uint8_t *)w + (size_t)r * w_row_bytes,
                                  (const uint8_t *)x + (size_t)t * x_row_bytes);
        return;
    }
    if (w_row_bytes * 16 <= (size_t)INT32_MAX) {
        exact_band(kind, block_bytes, n_blocks, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, group, y, ldy);
        return;
    }
    /* gather offsets across 16 rows would overflow: one row at a time */
    for (int64_t r = r0; r < r1; r++)
        exact_band(kind, block_bytes, n_blocks, (const uint8_t *)w + (size_t)r * w_row_bytes, 0, 0, 1, x, x_row_bytes,
                   n_tokens, group, y + r, ldy);
}

#define DEFINE_EXACT(name, type, bytes)                                                                                \
    static void gemm_exact_##name(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,           \
                                  const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {        \
        gemm_exact_rows(&kind_##name, bytes, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);        \
    }                                                                                                                  \
    static void vec_dot_##name##_exact(int64_t n, float *out, const void *w, const void *x) {                          \
        gemm_exact_##name(n, w, 0, 0, 1, x, 0, 1, out, 0);                                                             \
    }
DEFINE_EXACT(q4_0, TL_TYPE_Q4_0, Q4_0_BYTES)
DEFINE_EXACT(q5_0, TL_TYPE_Q5_0, Q5_0_BYTES)
DEFINE_EXACT(q8_0, TL_TYPE_Q8_0, Q8_0_BYTES)
DEFINE_EXACT(iq4_nl, TL_TYPE_IQ4_NL, IQ4_NL_BYTES)

/* ---- float weights: f32, f16, bf16 --------------------------------------- */

/* Sixteen elements from position i of a float-type row as floats (masked
 * for the tail: lanes past n read nothing and give 0). */
X86_INLINE __m512 load16_float(uint32_t type, const uint8_t *row, int64_t i, __mmask16 m) {
    if (type == TL_TYPE_F32) return _mm512_maskz_loadu_ps(m, (const float *)(const void *)row + i);
    const __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)(const void *)row + i);
    if (type == TL_TYPE_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* A tile of NR rows by NT tokens: NR*NT 16-lane accumulators, each loaded
 * vector used NT or NR times. bf16 with the BF16 extension uses vdpbf16ps
 * (32 products per instruction). */
X86_INLINE void float_tile(uint32_t type, uint32_t x_type, int use_dpbf16, int64_t n, const uint8_t *const *w,
                           const uint8_t *const *x, const int NR, const int NT, float *y, int64_t ldy) {
    __m512 acc[4][3];
    X86_UNROLL for (int r = 0; r < NR; r++) X86_UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm512_setzero_ps();
    if (use_dpbf16) {
        for (int64_t i = 0; i < n; i += 32) {
            const __mmask32 m = n - i >= 32 ? 0xffffffffu : (__mmask32)((1u << (n - i)) - 1);
            __m512bh wv[4], xv[3];
            X86_UNROLL for (int r = 0; r < NR; r++) wv[r] =
                (__m512bh)_mm512_maskz_loadu_epi16(m, (const uint16_t *)(const void *)w[r] + i);
            X86_UNROLL for (int t = 0; t < NT; t++) xv[t] =
                (__m512bh)_mm512_maskz_loadu_epi16(m, (const uint16_t *)(const void *)x[t] + i);
            X86_UNROLL for (int r = 0; r < NR; r++) X86_UNROLL for (int t = 0; t < NT; t++) acc[r][t] =
                _mm512_dpbf16_ps(acc[r][t], wv[r], xv[t]);
        }
    } else {
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
            __m512 wv[4], xv[3];
            X86_UNROLL for (int r = 0; r < NR; r++) wv[r] = load16_float(type, w[r], i, m);
            X86_UNROLL for (int t = 0; t < NT; t++) xv[t] = load16_float(x_type, x[t], i, m);
            X86_UNROLL for (int r = 0; r < NR; r++) X86_UNROLL for (int t = 0; t < NT; t++) acc[r][t] =
                _mm512_fmadd_ps(wv[r], xv[t], acc[r][t]);
        }
    }
    X86_UNROLL for (int r = 0; r < NR; r++) X86_UNROLL for (int t = 0; t < NT; t++) y[t * ldy + r] =
        _mm512_reduce_add_ps(acc[r][t]);
}

enum { WIDE_MAX_COLS = 4096 }; /* f16 rows widened on the stack: 64 KiB */

/* Rows in tiles of 4, tokens in tiles of 3 (tails with smaller tiles); f16
 * rows of up to WIDE_MAX_COLS are widened to float first. */
X86_INLINE void gemm_float(uint32_t type, int use_dpbf16, int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0,
                           int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    if (n_tokens <= 2 && avx2_dot[type]) {
        /* streaming: one row at a time keeps the prefetchers on one stream */
        for (int64_t r = r0; r < r1; r++)
            for (int64_t t = 0; t < n_tokens; t++)
                avx2_dot[type](n_cols, &y[t * ldy + r], (const uint8_t *)w + (size_t)r * w_row_bytes,
                               (const uint8_t *)x + (size_t)t * x_row_bytes);
        return;
    }
    /* f16 weights: each tile's rows are widened to float once (exactly), so
     * that the token loop converts only the activations */
    _Alignas(64) float wide[4 * WIDE_MAX_COLS];
    const bool widen = type == TL_TYPE_F16 && n_cols <= WIDE_MAX_COLS;
    for (int64_t r = r0; r < r1; r += 4) {
        const int nr = (int)(r1 - r < 4 ? r1 - r : 4);
        const uint8_t *wr[4];
        for (int i = 0; i < 4; i++) wr[i] = (const uint8_t *)w + (size_t)(r + (i < nr ? i : 0)) * w_row_bytes;
        const uint32_t w_type = widen ? TL_TYPE_F32 : type;
        if (widen)
            for (int i = 0; i < 4; i++) {
                float *row = wide + (size_t)i * (size_t)n_cols;
                for (int64_t c = 0; c < n_cols; c += 16) {
                    const __mmask16 m = n_cols - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n_cols - c)) - 1);
                    _mm512_mask_storeu_ps(row + c, m, load16_float(TL_TYPE_F16, wr[i], c, m));
                }
                wr[i] = (const uint8_t *)(const void *)row;
            }
        for (int64_t t = 0; t < n_tokens; t += 3) {
            const int nt = (int)(n_tokens - t < 3 ? n_tokens - t : 3);
            const uint8_t *xr[3];
            for (int i = 0; i < 3; i++) xr[i] = (const uint8_t *)x + (size_t)(t + (i < nt ? i : 0)) * x_row_bytes;
            float *yt = y + t * ldy + r;
#define FLOAT_TILE_CASE(NR, NT)                                                                                        \
    if (nr == NR && nt == NT) {                                                                                        \
        float_tile(w_type, type, use_dpbf16, n_cols, wr, xr, NR, NT, yt, ldy);                                         \
        continue;                                                                                                      \
    }
            // clang-format off
            FLOAT_TILE_CASE(4, 3)
            FLOAT_TILE_CASE(4, 2)
            FLOAT_TILE_CASE(4, 1)
            FLOAT_TILE_CASE(3, 3)
            FLOAT_TILE_CASE(3, 2)
            FLOAT_TILE_CASE(3, 1)
            FLOAT_TILE_CASE(2, 3)
            FLOAT_TILE_CASE(2, 2)
            FLOAT_TILE_CASE(2, 1)
            FLOAT_TILE_CASE(1, 3)
            FLOAT_TILE_CASE(1, 2)
            FLOAT_TILE_CASE(1, 1)
            // clang-format on
#undef FLOAT_TILE_CASE
        }
    }
}

static void gemm_f32_avx512(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x,
                            size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    gemm_float(TL_TYPE_F32, 0, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);
}

static void gemm_f16_avx512(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x,
                            size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    gemm_float(TL_TYPE_F16, 0, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);
}

static void gemm_bf16_avx512(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x,
                             size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    gemm_float(TL_TYPE_BF16, 0, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);
}

static void gemm_bf16_dpbf16(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x,
                             size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    gemm_float(TL_TYPE_BF16, 1, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);
}

void tl_kernels_fill_avx512(tl_kernel_set *k, const tl_cpu_features *f) {
    tl_kernels_fill_avx2(k, f);
    for (int t = 0; t < TL_TYPE_COUNT; t++) avx2_dot[t] = k->vec_dot[t];
    k->gemm[TL_TYPE_F32] = gemm_f32_avx512;
    k->gemm[TL_TYPE_F16] = gemm_f16_avx512;
    k->gemm[TL_TYPE_BF16] = f->avx512bf16 ? gemm_bf16_dpbf16 : gemm_bf16_avx512;
    if (f->avx512vnni) {
        k->gemm[TL_TYPE_Q4_0] = gemm_q4_0_vnni;
        k->gemm[TL_TYPE_Q4_1] = gemm_q4_1_vnni;
        k->gemm[TL_TYPE_Q5_0] = gemm_q5_0_vnni;
        k->gemm[TL_TYPE_Q5_1] = gemm_q5_1_vnni;
        k->gemm[TL_TYPE_Q8_0] = gemm_q8_0_vnni;
        k->gemm[TL_TYPE_IQ4_NL] = gemm_iq4_nl_vnni;
        const struct {
            uint32_t type;
            tl_vec_dot_fn dot;
            tl_gemm_fn exact;
        } exact[] = {{TL_TYPE_Q4_0, vec_dot_q4_0_exact, gemm_exact_q4_0},
                     {TL_TYPE_Q5_0, vec_dot_q5_0_exact, gemm_exact_q5_0},
                     {TL_TYPE_Q8_0, vec_dot_q8_0_exact, gemm_exact_q8_0},
                     {TL_TYPE_IQ4_NL, vec_dot_iq4_nl_exact, gemm_exact_iq4_nl}};
        for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
            k->vec_dot[exact[i].type] = exact[i].dot;
            tl_kernels_promise_exact(k, exact[i].type, exact[i].exact, exact[i].dot);
        }
    }
    tl_kernels_fill_avx512_kquants(k, f);
    tl_kernels_fill_avx512_iquants(k, f);
}
