/*
 * avx512_kquants.c — AVX-512 VNNI kernels for the super-block weights most
 * common in downloaded models (q4_k, q6_k and iq4_xs against q8_k
 * activations; q5_k batches); compiled with the same flags as avx512.c and
 * only called when the CPU has them (the level needs VNNI). The other K and
 * i-quant types keep the AVX2 dots.
 *
 * Few tokens (generation, 1-3 tokens): a streaming kernel walks the rows one
 * after the other. Per super-block it expands the levels to unsigned bytes
 * in element order, 64 per vector, so the q8_k activations are used as
 * stored; vpdpbusd leaves one 4-element integer dot per 32-bit lane (which
 * fits in 16 bits), vpackssdw pairs two such vectors into 16-bit lanes, and
 * vpdpwssd multiplies them by the sub-block scales (permuted to match the
 * pack) and sums them: an exact integer sum per super-block. Offsets (q6_k's
 * +32) and mins (q4_k) go through q8_k's 16-element sums.
 *
 * Batches (more tokens than GEMV_LIMIT_*): see the "lanes are rows" matrix
 * kernel further down.
 */
#include "tensor/kernels.h"
#include "tensor/quant_ref.h"
#include "tensor/x86/avx512_shared.h"
#include "tensor/x86/x86_blocks.h"
#include "tensor/x86/x86_iquants.h"
#include "tensor/x86/x86_kquants.h"

#if defined(__GNUC__) && !defined(__clang__)
#define KQ_UNROLL _Pragma("GCC unroll 16")
#elif defined(__clang__)
#define KQ_UNROLL _Pragma("unroll")
#else
#define KQ_UNROLL
#endif

enum { GEMV_MAX_TOKENS = 4 };
/* Up to these many tokens the streaming kernel beats the panel one (whose
 * unpacking needs more tokens to pay off; q6_k's, with 12 transposes per
 * super-block, more so). Measured on Zen 5 at 576x1536 and 8192x2048. */
enum { GEMV_LIMIT_Q4_K = 3, GEMV_LIMIT_Q6_K = 8, GEMV_LIMIT_IQ4_XS = 3 };

/* vpackssdw(a, b) puts, in each 128-bit lane L, lanes 4L..4L+3 of a then of
 * b. When a and b each hold two sub-blocks (lanes 0-7: first, 8-15: second)
 * the 16-bit lanes of lane L belong to sub-blocks: [a(L/2) x4, b(L/2) x4]
 * (32-element sub-blocks) or, with four 16-element sub-blocks per vector,
 * [a(L) x4, b(L) x4]. These index vectors pick the matching scales from a
 * vector of int16 scales. */
X86_INLINE __m512i pack_scale_index_32(int first_a, int first_b) {
    /* lanes 0,1: a's first; 2,3: a's second (first_a + 1); same for b */
    int16_t idx[32];
    for (int lane = 0; lane < 4; lane++)
        for (int i = 0; i < 8; i++) idx[8 * lane + i] = (int16_t)((i < 4 ? first_a : first_b) + lane / 2);
    return _mm512_loadu_si512((const void *)idx);
}

X86_INLINE __m512i pack_scale_index_16(int first_a, int first_b) {
    int16_t idx[32];
    for (int lane = 0; lane < 4; lane++)
        for (int i = 0; i < 8; i++) idx[8 * lane + i] = (int16_t)((i < 4 ? first_a : first_b) + lane);
    return _mm512_loadu_si512((const void *)idx);
}

/* ---- q4_k: streaming rows ---------------------------------------------- */

/* y[t * ldy + r] for rows [r0, r1) and NT tokens. */
X86_INLINE void gemv_q4_k(int64_t n_cols, const uint8_t *w, size_t w_row_bytes, int64_t r0, int64_t r1,
                          const uint8_t *x, size_t x_row_bytes, const int NT, float *y, int64_t ldy) {
    const int64_t n_sb = n_cols / QK_K;
    const __m512i low_mask = _mm512_set1_epi8(0x0f);
    const __m512i index_a = pack_scale_index_32(0, 2), index_b = pack_scale_index_32(4, 6);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *xb = w + (size_t)r * w_row_bytes;
        __m512 acc[GEMV_MAX_TOKENS];
        __m256 acc_min[GEMV_MAX_TOKENS];
        for (int t = 0; t < NT; t++) {
            acc[t] = _mm512_setzero_ps();
            acc_min[t] = _mm256_setzero_ps();
        }
        for (int64_t sb = 0; sb < n_sb; sb++, xb += Q4_K_BYTES) {
            const __m128i sm = x86_q4_k_scales_mins(xb + Q4_K_SCALES);
            const __m512i sm16 = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(sm));
            const __m512i scale_a = _mm512_permutexvar_epi16(index_a, sm16);
            const __m512i scale_b = _mm512_permutexvar_epi16(index_b, sm16);
            const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));
            /* element order: low nibbles of 32 bytes, then their high nibbles */
            __m512i levels[4];
            KQ_UNROLL for (int c = 0; c < 4; c++) {
                const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(xb + Q4_K_QS + 32 * c)));
                levels[c] = _mm512_and_si512(_mm512_mask_srli_epi64(v, 0xF0, v, 4), low_mask);
            }
            const float d = x86_load_half(xb + Q4_K_D), dmin = x86_load_half(xb + Q4_K_DMIN);
            for (int t = 0; t < NT; t++) {
                const uint8_t *yb = x + (size_t)t * x_row_bytes + (size_t)sb * Q8_K_BYTES;
                __m512i dots[4];
                KQ_UNROLL for (int c = 0; c < 4; c++) dots[c] = _mm512_dpbusd_epi32(
                    _mm512_setzero_si512(), levels[c], _mm512_loadu_si512((const void *)(yb + Q8_K_QS + 64 * c)));
                __m512i sumi = _mm512_madd_epi16(_mm512_packs_epi32(dots[0], dots[1]), scale_a);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_packs_epi32(dots[2], dots[3]), scale_b);
                const __m256i min_sum =
                    _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(yb + Q8_K_BSUMS)), mins16);
                const float dy = x86_load_f32(yb + Q8_K_D);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_set1_ps(d * dy), acc[t]);
                acc_min[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(min_sum), _mm256_set1_ps(dmin * dy), acc_min[t]);
            }
        }
        for (int t = 0; t < NT; t++) y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]) - x86_hsum_ps256(acc_min[t]);
    }
}

/* ---- q6_k: streaming rows ---------------------------------------------- */

X86_INLINE void gemv_q6_k(int64_t n_cols, const uint8_t *w, size_t w_row_bytes, int64_t r0, int64_t r1,
                          const uint8_t *x, size_t x_row_bytes, const int NT, float *y, int64_t ldy) {
    const int64_t n_sb = n_cols / QK_K;
    const __m512i m4 = _mm512_set1_epi8(0x0f), m2_4 = _mm512_set1_epi8(0x30);
    const __m512i index_lo = pack_scale_index_16(0, 4), index_hi = pack_scale_index_16(8, 12);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *xb = w + (size_t)r * w_row_bytes;
        __m512 acc[GEMV_MAX_TOKENS];
        for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
        for (int64_t sb = 0; sb < n_sb; sb++, xb += Q6_K_BYTES) {
            const __m128i scales8 = _mm_loadu_si128((const __m128i *)(xb + Q6_K_SCALES));
            const __m256i scales16 = _mm256_cvtepi8_epi16(scales8);
            const __m512i scale_lo = _mm512_permutexvar_epi16(index_lo, _mm512_castsi256_si512(scales16));
            const __m512i scale_hi = _mm512_permutexvar_epi16(index_hi, _mm512_castsi256_si512(scales16));
            /* per half h: [quarter 0 | quarter 1] and [quarter 2 | quarter 3] */
            __m512i levels[4];
            KQ_UNROLL for (int h = 0; h < 2; h++) {
                const __m512i ql = _mm512_loadu_si512((const void *)(xb + Q6_K_QL + 64 * h));
                const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(xb + Q6_K_QH + 32 * h)));
                /* bits 0-1 (lower half) and 2-3 (upper half) of qh to bits 4-5 */
                const __m512i high01 =
                    _mm512_and_si512(_mm512_mask_slli_epi64(_mm512_slli_epi64(qh, 2), 0x0F, qh, 4), m2_4);
                /* bits 4-5 (lower half) and 6-7 (upper half) to bits 4-5 */
                const __m512i high23 = _mm512_and_si512(_mm512_mask_srli_epi64(qh, 0xF0, qh, 2), m2_4);
                levels[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), high01);
                levels[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(ql, 4), m4), high23);
            }
            const float d = x86_load_half(xb + Q6_K_D);
            for (int t = 0; t < NT; t++) {
                const uint8_t *yb = x + (size_t)t * x_row_bytes + (size_t)sb * Q8_K_BYTES;
                __m512i dots[4];
                KQ_UNROLL for (int c = 0; c < 4; c++) dots[c] = _mm512_dpbusd_epi32(
                    _mm512_setzero_si512(), levels[c], _mm512_loadu_si512((const void *)(yb + Q8_K_QS + 64 * c)));
                __m512i sumi = _mm512_madd_epi16(_mm512_packs_epi32(dots[0], dots[1]), scale_lo);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_packs_epi32(dots[2], dots[3]), scale_hi);
                /* levels are stored + 32: remove 32 * sum_j scale_j * bsum_j */
                const __m256i offset =
                    _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(yb + Q8_K_BSUMS)), scales16);
                sumi = _mm512_sub_epi32(sumi, _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 5)));
                const float dy = x86_load_f32(yb + Q8_K_D);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_set1_ps(d * dy), acc[t]);
            }
        }
        for (int t = 0; t < NT; t++) y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]);
    }
}

/* ---- iq4_xs: streaming rows --------------------------------------------- */

/* kvalues_iq4nl + 128 (1..241) in every 128-bit lane, for pshufb. */
X86_INLINE __m512i iq4_unsigned_table(void) {
    return _mm512_xor_si512(_mm512_broadcast_i32x4(_mm256_castsi256_si128(x86_iq4nl_table256())),
                            _mm512_set1_epi8((char)0x80));
}

/* Levels are looked up as kvalues + 128 so that vpdpbusd takes them as
 * unsigned; the +128 is removed with 128 * sum_j scale_j * bsums of
 * sub-block j. A lane's 4-product dot (<= 4 * 241 * 127) does not fit the
 * 16 bits q4_k's pack uses, so the sub-block scales multiply int32 lanes. */
X86_INLINE void gemv_iq4_xs(int64_t n_cols, const uint8_t *w, size_t w_row_bytes, int64_t r0, int64_t r1,
                            const uint8_t *x, size_t x_row_bytes, const int NT, float *y, int64_t ldy) {
    const int64_t n_sb = n_cols / QK_K;
    const __m512i low_mask = _mm512_set1_epi8(0x0f), table = iq4_unsigned_table();
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *xb = w + (size_t)r * w_row_bytes;
        __m512 acc[GEMV_MAX_TOKENS];
        for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
        for (int64_t sb = 0; sb < n_sb; sb++, xb += IQ4_XS_BYTES) {
            int32_t scales[8];
            x86_iq4_xs_scales(xb, scales);
            const __m256i sv = _mm256_loadu_si256((const __m256i *)(const void *)scales);
            /* (s_j, s_j) int16 pairs against the pairs of 16-element bsums */
            const __m256i pairs =
                _mm256_or_si256(_mm256_and_si256(sv, _mm256_set1_epi32(0xffff)), _mm256_slli_epi32(sv, 16));
            /* chunk c: sub-blocks 2c (lanes 0-7) and 2c + 1 (lanes 8-15) */
            __m512i levels[4], scale[4];
            KQ_UNROLL for (int c = 0; c < 4; c++) {
                const __m512i v = _mm512_permutexvar_epi64(
                    _mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3),
                    _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(xb + IQ4_XS_QS + 32 * c))));
                levels[c] =
                    _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_mask_srli_epi64(v, 0xCC, v, 4), low_mask));
                scale[c] = _mm512_permutexvar_epi32(_mm512_setr_epi32(2 * c, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c,
                                                                      2 * c, 2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1,
                                                                      2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1),
                                                    _mm512_castsi256_si512(sv));
            }
            const float d = x86_load_half(xb + IQ4_XS_D);
            for (int t = 0; t < NT; t++) {
                const uint8_t *yb = x + (size_t)t * x_row_bytes + (size_t)sb * Q8_K_BYTES;
                __m512i sumi = _mm512_setzero_si512();
                KQ_UNROLL for (int c = 0; c < 4; c++) {
                    const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), levels[c],
                                                            _mm512_loadu_si512((const void *)(yb + Q8_K_QS + 64 * c)));
                    sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(dot, scale[c]));
                }
                const __m256i offset = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(yb + Q8_K_BSUMS)), pairs);
                sumi = _mm512_sub_epi32(sumi, _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 7)));
                const float dy = x86_load_f32(yb + Q8_K_D);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_set1_ps(d * dy), acc[t]);
            }
        }
        for (int t = 0; t < NT; t++) y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]);
    }
}

/* ---- batches: the "lanes are rows" matrix kernel ---------------------- */

/*
 * As avx512.c's legacy kernel: a panel of 32 weight rows by PANEL_SB
 * super-blocks is unpacked into unsigned levels laid out so that one vector
 * holds 4 consecutive elements of 16 rows; vpdpbusd with 4 activation bytes
 * broadcast advances 16 row dots at once. Each sub-block's dot (one vector
 * per 16 rows) is multiplied by the rows' sub-block scales (vpmulld) into a
 * super-block integer sum, converted once per super-block and scaled by
 * d * dy. The q4_k mins and the offsets of q6_k (+32) and iq4_xs (+128)
 * are sums over the activations' bsums weighted per row (vpdpwssd of int16
 * pairs: (m_j, m_j) or (s_j, s_j) against (bsum_2j, bsum_2j+1) for q4_k and
 * iq4_xs, (s_2k, s_2k+1) against (bsum_2k, bsum_2k+1) for q6_k), read
 * straight from the q8_k blocks. A tile is 32 rows by up to
 * TOKEN_TILE tokens.
 */

enum {
    PANEL_ROWS = 32,
    PANEL_SB = 2, /* 16 KiB of levels: stays in L1 */
    TOKEN_TILE = 4,
    GROUPS = QK_K / 4,              /* groups of 4 elements per super-block */
    TOKEN_CHUNK_BYTES = 384 * 1024, /* activations kept in L2 while panels reuse them */
};

typedef struct kpanel {
    _Alignas(64) uint8_t q[PANEL_SB][GROUPS][PANEL_ROWS][4];
    _Alignas(64) int32_t scale[PANEL_SB][16][PANEL_ROWS]; /* per sub-block (q4_k: 8) */
    _Alignas(64) int32_t pair[PANEL_SB][8][PANEL_ROWS];   /* int16 pairs for the bsums */
    _Alignas(64) float d[PANEL_SB][PANEL_ROWS];
    _Alignas(64) float dmin[PANEL_SB][PANEL_ROWS];
} kpanel;

typedef struct krows {
    const uint8_t *row[16]; /* rows past the band repeat the first */
    __m512i offsets;        /* byte offsets of the rows from row[0] */
} krows;

static void fill_krows(krows *g, const uint8_t *first, size_t w_row_bytes, int64_t count) {
    int32_t offsets[16];
    for (int i = 0; i < 16; i++) {
        const int64_t r = i < count ? i : 0;
        offsets[i] = (int32_t)(r * (int64_t)w_row_bytes);
        g->row[i] = first + (size_t)offsets[i];
    }
    g->offsets = _mm512_loadu_si512((const void *)offsets);
}

/* The dword at `at` of each row's super-block `sb`, in row order. */
X86_INLINE __m512i gather_dword(const krows *g, size_t at) {
    return _mm512_i32gather_epi32(g->offsets, (const void *)(g->row[0] + at), 1);
}

/* Byte k (0..3) of each dword, as int32. */
X86_INLINE __m512i byte_of(__m512i v, int k) {
    return _mm512_and_si512(_mm512_srli_epi32(v, 8 * k), _mm512_set1_epi32(0xff));
}

/* d, dmin (at `d_at`) and the packed six-bit scales and mins (at
 * `scales_at`) of 16 rows' q4_k / q5_k super-blocks into the panel: the
 * word arithmetic of tl_q4_k_scale_words (block_fields.h), one row per lane. */
static void unpack_q4_k_scales_mins(const krows *g, size_t d_at, size_t scales_at, kpanel *p, int ps, int v) {
    const __m512i dd = gather_dword(g, d_at);
    _mm512_store_ps(p->d[ps] + 16 * v, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dd)));
    _mm512_store_ps(p->dmin[ps] + 16 * v, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16))));
    const __m512i w0 = gather_dword(g, scales_at);
    const __m512i w1 = gather_dword(g, scales_at + 4);
    const __m512i w2 = gather_dword(g, scales_at + 8);
    const __m512i m6 = _mm512_set1_epi32(0x3f3f3f3f), m4 = _mm512_set1_epi32(0x0f0f0f0f);
    const __m512i m2 = _mm512_set1_epi32(0x03030303);
    const __m512i scales_lo = _mm512_and_si512(w0, m6), mins_lo = _mm512_and_si512(w1, m6);
    const __m512i scales_hi =
        _mm512_or_si512(_mm512_and_si512(w2, m4), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(w0, 6), m2), 4));
    const __m512i mins_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 4), m4),
                                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(w1, 6), m2), 4));
    for (int j = 0; j < 4; j++) {
        _mm512_store_si512((void *)(p->scale[ps][j] + 16 * v), byte_of(scales_lo, j));
        _mm512_store_si512((void *)(p->scale[ps][j + 4] + 16 * v), byte_of(scales_hi, j));
        /* (m_j, m_j) as two int16 */
        const __m512i mlo = byte_of(mins_lo, j), mhi = byte_of(mins_hi, j);
        _mm512_store_si512((void *)(p->pair[ps][j] + 16 * v), _mm512_or_si512(mlo, _mm512_slli_epi32(mlo, 16)));
        _mm512_store_si512((void *)(p->pair[ps][j + 4] + 16 * v), _mm512_or_si512(mhi, _mm512_slli_epi32(mhi, 16)));
    }
}

/* q4_k super-block sb of 16 rows into the panel (rows 16v..16v+15). */
static void unpack_q4_k(const krows *g, int64_t sb, kpanel *p, int ps, int v) {
    const size_t base = (size_t)sb * Q4_K_BYTES;
    const __m512i low_mask = _mm512_set1_epi8(0x0f);
    for (int c = 0; c < 4; c++) {
        for (int half = 0; half < 2; half++) {
            __m512i dw[4];
            avx512_transpose_rows(g->row, base + Q4_K_QS + 32 * c + 16 * half, dw);
            for (int k = 0; k < 4; k++) {
                const int group = 4 * half + k;
                _mm512_store_si512((void *)p->q[ps][16 * c + group][16 * v], _mm512_and_si512(dw[k], low_mask));
                _mm512_store_si512((void *)p->q[ps][16 * c + 8 + group][16 * v],
                                   _mm512_and_si512(_mm512_srli_epi32(dw[k], 4), low_mask));
            }
        }
    }
    unpack_q4_k_scales_mins(g, base + Q4_K_D, base + Q4_K_SCALES, p, ps, v);
}

/* q6_k super-block sb of 16 rows into the panel. Element 128h + 32p + l:
 * low nibble (p < 2) or high nibble of ql[64h + 32(p%2) + l], bits 2p of
 * qh[32h + l]; panel group 32h + 8p + l/4. */
static void unpack_q6_k(const krows *g, int64_t sb, kpanel *p, int ps, int v) {
    const size_t base = (size_t)sb * Q6_K_BYTES;
    const __m512i m4 = _mm512_set1_epi8(0x0f), m2_4 = _mm512_set1_epi8(0x30);
    for (int h = 0; h < 2; h++) {
        __m512i ql[16], qh[8];
        for (int m = 0; m < 4; m++) avx512_transpose_rows(g->row, base + Q6_K_QL + 64 * h + 16 * m, ql + 4 * m);
        for (int m = 0; m < 2; m++) avx512_transpose_rows(g->row, base + Q6_K_QH + 32 * h + 16 * m, qh + 4 * m);
        for (int gi = 0; gi < 8; gi++) {
            const __m512i hb = qh[gi];
            const __m512i high[4] = {_mm512_and_si512(_mm512_slli_epi32(hb, 4), m2_4),
                                     _mm512_and_si512(_mm512_slli_epi32(hb, 2), m2_4), _mm512_and_si512(hb, m2_4),
                                     _mm512_and_si512(_mm512_srli_epi32(hb, 2), m2_4)};
            for (int q = 0; q < 4; q++) {
                const __m512i lowsrc = ql[8 * (q % 2) + gi];
                const __m512i nib =
                    q < 2 ? _mm512_and_si512(lowsrc, m4) : _mm512_and_si512(_mm512_srli_epi32(lowsrc, 4), m4);
                _mm512_store_si512((void *)p->q[ps][32 * h + 8 * q + gi][16 * v], _mm512_or_si512(nib, high[q]));
            }
        }
    }
    /* d: the high half of the dword at D - 2 (stays inside the block) */
    const __m512i dd = gather_dword(g, base + Q6_K_D - 2);
    _mm512_store_ps(p->d[ps] + 16 * v, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16))));
    for (int k = 0; k < 4; k++) {
        const __m512i w = gather_dword(g, base + Q6_K_SCALES + 4 * (size_t)k);
        for (int b = 0; b < 4; b++) /* sign-extend byte b */
            _mm512_store_si512((void *)(p->scale[ps][4 * k + b] + 16 * v),
                               _mm512_srai_epi32(_mm512_slli_epi32(w, 24 - 8 * b), 24));
        /* int16 pairs (s_4k, s_4k+1) and (s_4k+2, s_4k+3) */
        const __m512i lo = _mm512_srai_epi16(_mm512_slli_epi16(w, 8), 8); /* bytes 0, 2 as int16 */
        const __m512i hi = _mm512_srai_epi16(w, 8);                       /* bytes 1, 3 */
        /* pair 2k: (byte0, byte1); pair 2k+1: (byte2, byte3) */
        const __m512i pair0 =
            _mm512_or_si512(_mm512_and_si512(lo, _mm512_set1_epi32(0xffff)), _mm512_slli_epi32(hi, 16));
        const __m512i pair1 =
            _mm512_or_si512(_mm512_srli_epi32(lo, 16), _mm512_andnot_si512(_mm512_set1_epi32(0xffff), hi));
        _mm512_store_si512((void *)(p->pair[ps][2 * k] + 16 * v), pair0);
        _mm512_store_si512((void *)(p->pair[ps][2 * k + 1] + 16 * v), pair1);
    }
}

/* q5_k super-block sb of 16 rows into the panel: q4_k's nibbles (same
 * layout) plus a fifth bit per element: for the 64 elements of chunk c,
 * bit 2c (low nibbles) or 2c+1 (high nibbles) of qh[l], l = 0..31. Scales
 * and mins are packed as q4_k's. */
static void unpack_q5_k(const krows *g, int64_t sb, kpanel *p, int ps, int v) {
    const size_t base = (size_t)sb * Q5_K_BYTES;
    const __m512i low_mask = _mm512_set1_epi8(0x0f), bit = _mm512_set1_epi8(0x01);
    __m512i qh[8];
    for (int half = 0; half < 2; half++) avx512_transpose_rows(g->row, base + Q5_K_QH + 16 * half, qh + 4 * half);
    for (int c = 0; c < 4; c++) {
        for (int half = 0; half < 2; half++) {
            __m512i dw[4];
            avx512_transpose_rows(g->row, base + Q5_K_QS + 32 * c + 16 * half, dw);
            for (int k = 0; k < 4; k++) {
                const int group = 4 * half + k;
                const __m512i h = qh[4 * half + k];
                const __m512i h_lo = _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 2 * c), bit), 4);
                const __m512i h_hi = _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 2 * c + 1), bit), 4);
                _mm512_store_si512((void *)p->q[ps][16 * c + group][16 * v],
                                   _mm512_or_si512(_mm512_and_si512(dw[k], low_mask), h_lo));
                _mm512_store_si512((void *)p->q[ps][16 * c + 8 + group][16 * v],
                                   _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(dw[k], 4), low_mask), h_hi));
            }
        }
    }
    unpack_q4_k_scales_mins(g, base + Q5_K_D, base + Q5_K_SCALES, p, ps, v);
}

/* iq4_xs super-block sb of 16 rows into the panel: sub-block ib is 16
 * bytes of nibbles (low: elements 32 ib + 0..15, high: + 16..31) looked up
 * as kvalues + 128; scales s_j - 32 with (s_j, s_j) pairs for the offset. */
static void unpack_iq4_xs(const krows *g, int64_t sb, kpanel *p, int ps, int v) {
    const size_t base = (size_t)sb * IQ4_XS_BYTES;
    const __m512i low_mask = _mm512_set1_epi8(0x0f), table = iq4_unsigned_table();
    for (int ib = 0; ib < 8; ib++) {
        __m512i dw[4];
        avx512_transpose_rows(g->row, base + IQ4_XS_QS + 16 * (size_t)ib, dw);
        for (int k = 0; k < 4; k++) {
            _mm512_store_si512((void *)p->q[ps][8 * ib + k][16 * v],
                               _mm512_shuffle_epi8(table, _mm512_and_si512(dw[k], low_mask)));
            _mm512_store_si512((void *)p->q[ps][8 * ib + 4 + k][16 * v],
                               _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi32(dw[k], 4), low_mask)));
        }
    }
    _Static_assert(IQ4_XS_D == 0 && IQ4_XS_SCALES_H == 2 && IQ4_XS_SCALES_L == 4, "iq4_xs header");
    const __m512i head = gather_dword(g, base + IQ4_XS_D); /* d | scales_h << 16 */
    const __m512i low = gather_dword(g, base + IQ4_XS_SCALES_L);
    const __m512i high = _mm512_srli_epi32(head, 16);
    _mm512_store_ps(p->d[ps] + 16 * v, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(head)));
    for (int j = 0; j < 8; j++) {
        const __m512i lo4 = _mm512_and_si512(_mm512_srli_epi32(low, 4 * j), _mm512_set1_epi32(0x0f));
        const __m512i hi2 = _mm512_and_si512(_mm512_srli_epi32(high, 2 * j), _mm512_set1_epi32(3));
        const __m512i s = _mm512_sub_epi32(_mm512_or_si512(lo4, _mm512_slli_epi32(hi2, 4)), _mm512_set1_epi32(32));
        _mm512_store_si512((void *)(p->scale[ps][j] + 16 * v), s);
        _mm512_store_si512((void *)(p->pair[ps][j] + 16 * v),
                           _mm512_or_si512(_mm512_and_si512(s, _mm512_set1_epi32(0xffff)), _mm512_slli_epi32(s, 16)));
    }
}

typedef struct ktile {
    const kpanel *panel;
    int n_sb;                     /* super-blocks in the panel */
    const uint8_t *x[TOKEN_TILE]; /* q8_k block of the panel's first super-block */
    float *y[TOKEN_TILE];         /* where row 0 of the panel goes */
    __mmask16 mask[2];
    int accumulate;
} ktile;

/* What a panel's bsum-weighted term is: q4_k's mins (times dmin), or an
 * offset of the levels (q6_k: 32, iq4_xs: 128) removed in integers. */
enum { MODE_Q4_K, MODE_Q6_K, MODE_IQ4_XS, MODE_COUNT };

/* y[t][rows] (+)= the panel's super-blocks for NT tokens, NV vectors of 16
 * rows; MODE_Q6_K has 16 sub-blocks of 16, the others 8 of 32. */
X86_INLINE void ktile_run(const ktile *a, const int NT, const int NV, const int mode) {
    const int Q6 = mode == MODE_Q6_K;
    __m512 acc[TOKEN_TILE][2];
    KQ_UNROLL for (int t = 0; t < NT; t++) KQ_UNROLL for (int v = 0; v < NV; v++) acc[t][v] =
        a->accumulate ? _mm512_maskz_loadu_ps(a->mask[v], a->y[t] + 16 * v) : _mm512_setzero_ps();
    const int n_sub = Q6 ? 16 : 8, group_per_sub = Q6 ? 4 : 8;
    for (int ps = 0; ps < a->n_sb; ps++) {
        const uint8_t *xq[TOKEN_TILE];
        KQ_UNROLL for (int t = 0; t < NT; t++) xq[t] = a->x[t] + (size_t)ps * Q8_K_BYTES;
        __m512i sumi[TOKEN_TILE][2];
        KQ_UNROLL for (int t = 0; t < NT; t++) KQ_UNROLL for (int v = 0; v < NV; v++) sumi[t][v] =
            _mm512_setzero_si512();
        for (int j = 0; j < n_sub; j++) {
            __m512i dot[TOKEN_TILE][2];
            KQ_UNROLL for (int t = 0; t < NT; t++) KQ_UNROLL for (int v = 0; v < NV; v++) dot[t][v] =
                _mm512_setzero_si512();
            KQ_UNROLL for (int gi = 0; gi < group_per_sub; gi++) {
                const int group = j * group_per_sub + gi;
                __m512i w[2];
                KQ_UNROLL for (int v = 0; v < NV; v++) w[v] =
                    _mm512_load_si512((const void *)a->panel->q[ps][group][16 * v]);
                KQ_UNROLL for (int t = 0; t < NT; t++) {
                    const __m512i xb = _mm512_set1_epi32(x86_load_i32(xq[t] + Q8_K_QS + 4 * group));
                    KQ_UNROLL for (int v = 0; v < NV; v++) dot[t][v] = _mm512_dpbusd_epi32(dot[t][v], w[v], xb);
                }
            }
            KQ_UNROLL for (int v = 0; v < NV; v++) {
                const __m512i sc = _mm512_load_si512((const void *)(a->panel->scale[ps][j] + 16 * v));
                KQ_UNROLL for (int t = 0; t < NT; t++) sumi[t][v] =
                    _mm512_add_epi32(sumi[t][v], _mm512_mullo_epi32(dot[t][v], sc));
            }
        }
        KQ_UNROLL for (int t = 0; t < NT; t++) {
            const float dy = x86_load_f32(xq[t] + Q8_K_D);
            const __m512 vdy = _mm512_set1_ps(dy);
            KQ_UNROLL for (int v = 0; v < NV; v++) {
                /* bsum-weighted term: q4_k mins, q6_k's offset */
                __m512i bs = _mm512_setzero_si512();
                KQ_UNROLL for (int k = 0; k < 8; k++) bs =
                    _mm512_dpwssd_epi32(bs, _mm512_load_si512((const void *)(a->panel->pair[ps][k] + 16 * v)),
                                        _mm512_set1_epi32(x86_load_i32(xq[t] + Q8_K_BSUMS + 4 * k)));
                const __m512 d = _mm512_mul_ps(_mm512_load_ps(a->panel->d[ps] + 16 * v), vdy);
                if (mode != MODE_Q4_K) {
                    const __m512i total = _mm512_sub_epi32(sumi[t][v], _mm512_slli_epi32(bs, Q6 ? 5 : 7));
                    acc[t][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), d, acc[t][v]);
                } else {
                    const __m512 dmin = _mm512_mul_ps(_mm512_load_ps(a->panel->dmin[ps] + 16 * v), vdy);
                    acc[t][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t][v]), d, acc[t][v]);
                    acc[t][v] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(bs), dmin, acc[t][v]);
                }
            }
        }
    }
    KQ_UNROLL for (int t = 0; t < NT; t++) KQ_UNROLL for (int v = 0; v < NV; v++)
        _mm512_mask_storeu_ps(a->y[t] + 16 * v, a->mask[v], acc[t][v]);
}

#define DEFINE_KTILE(nt, nv, mode)                                                                                     \
    static void ktile_##nt##_##nv##_##mode(const ktile *a) {                                                           \
        ktile_run(a, nt, nv, mode);                                                                                    \
    }
#define DEFINE_KTILES(nt)                                                                                              \
    DEFINE_KTILE(nt, 1, 0)                                                                                             \
    DEFINE_KTILE(nt, 2, 0) DEFINE_KTILE(nt, 1, 1) DEFINE_KTILE(nt, 2, 1) DEFINE_KTILE(nt, 1, 2) DEFINE_KTILE(nt, 2, 2)
DEFINE_KTILES(1)
DEFINE_KTILES(2)
DEFINE_KTILES(3)
DEFINE_KTILES(4)

typedef void (*ktile_fn)(const ktile *a);
#define KTILE_ROW(nt)                                                                                                  \
    {                                                                                                                  \
        {ktile_##nt##_1_0, ktile_##nt##_2_0}, {ktile_##nt##_1_1, ktile_##nt##_2_1}, {                                  \
            ktile_##nt##_1_2, ktile_##nt##_2_2                                                                         \
        }                                                                                                              \
    }
/* [tokens - 1][mode][vectors - 1] */
static const ktile_fn ktile_table[TOKEN_TILE][MODE_COUNT][2] = {KTILE_ROW(1), KTILE_ROW(2), KTILE_ROW(3), KTILE_ROW(4)};

typedef void (*kunpack_fn)(const krows *g, int64_t sb, kpanel *p, int ps, int v);

static void gemm_kquant(int mode, kunpack_fn unpack, int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0,
                        int64_t r1, const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    const int64_t n_sb = n_cols / QK_K;
    const size_t token_chunk_max = TOKEN_CHUNK_BYTES / x_row_bytes > 16 ? TOKEN_CHUNK_BYTES / x_row_bytes : 16;
    kpanel panel;
    ktile a;
    a.panel = &panel;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += (int64_t)token_chunk_max) {
        const int64_t chunk = n_tokens - t0 < (int64_t)token_chunk_max ? n_tokens - t0 : (int64_t)token_chunk_max;
        for (int64_t rp = r0; rp < r1; rp += PANEL_ROWS) {
            const int64_t n_rows = r1 - rp < PANEL_ROWS ? r1 - rp : PANEL_ROWS;
            const int n_vectors = n_rows > 16 ? 2 : 1;
            krows groups[2];
            const uint8_t *first = (const uint8_t *)w + (size_t)rp * w_row_bytes;
            fill_krows(&groups[0], first, w_row_bytes, n_rows < 16 ? n_rows : 16);
            if (n_vectors == 2) fill_krows(&groups[1], first + 16 * w_row_bytes, w_row_bytes, n_rows - 16);
            a.mask[0] = n_rows >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n_rows) - 1);
            a.mask[1] = n_rows >= 32 ? (__mmask16)0xffff : n_rows > 16 ? (__mmask16)((1u << (n_rows - 16)) - 1) : 0;
            for (int64_t kb = 0; kb < n_sb; kb += PANEL_SB) {
                const int n_panel = (int)(n_sb - kb < PANEL_SB ? n_sb - kb : PANEL_SB);
                for (int i = 0; i < n_panel; i++)
                    for (int v = 0; v < n_vectors; v++) unpack(&groups[v], kb + i, &panel, i, v);
                a.n_sb = n_panel;
                a.accumulate = kb > 0;
                for (int64_t tt = 0; tt < chunk; tt += TOKEN_TILE) {
                    const int nt = (int)(chunk - tt < TOKEN_TILE ? chunk - tt : TOKEN_TILE);
                    for (int t = 0; t < nt; t++) {
                        const int64_t token = t0 + tt + t;
                        a.x[t] = (const uint8_t *)x + (size_t)token * x_row_bytes + (size_t)kb * Q8_K_BYTES;
                        a.y[t] = y + token * ldy + rp;
                    }
                    ktile_table[nt - 1][mode][n_vectors - 1](&a);
                }
            }
        }
    }
}

/* ---- entry points ------------------------------------------------------- */

/* Tokens in groups of up to GEMV_MAX_TOKENS, each group streaming the rows. */
#define DEFINE_GEMV_ENTRY(name)                                                                                        \
    static void name##_tokens(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,               \
                              const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {            \
        for (int64_t t = 0; t < n_tokens; t += GEMV_MAX_TOKENS) {                                                      \
            const int64_t nt = n_tokens - t < GEMV_MAX_TOKENS ? n_tokens - t : GEMV_MAX_TOKENS;                        \
            const uint8_t *xt = (const uint8_t *)x + (size_t)t * x_row_bytes;                                          \
            float *yt = y + t * ldy;                                                                                   \
            if (nt == 1)                                                                                               \
                name(n_cols, w, w_row_bytes, r0, r1, xt, x_row_bytes, 1, yt, ldy);                                     \
            else if (nt == 2)                                                                                          \
                name(n_cols, w, w_row_bytes, r0, r1, xt, x_row_bytes, 2, yt, ldy);                                     \
            else if (nt == 3)                                                                                          \
                name(n_cols, w, w_row_bytes, r0, r1, xt, x_row_bytes, 3, yt, ldy);                                     \
            else                                                                                                       \
                name(n_cols, w, w_row_bytes, r0, r1, xt, x_row_bytes, 4, yt, ldy);                                     \
        }                                                                                                              \
    }
/* vec_dot and the gemm entry of a type: streaming rows up to `limit` tokens
 * (or when the panel's gather offsets would overflow), panels beyond. */
#define DEFINE_KQUANT_ENTRIES(type, limit, mode)                                                                       \
    DEFINE_GEMV_ENTRY(gemv_##type)                                                                                     \
    static void vec_dot_##type##_vnni(int64_t n, float *out, const void *x, const void *y) {                           \
        gemv_##type(n, x, 0, 0, 1, y, 0, 1, out, 0);                                                                   \
    }                                                                                                                  \
    static void gemm_##type##_vnni(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1,          \
                                   const void *x, size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {       \
        if (n_tokens <= (limit) || w_row_bytes * 16 > (size_t)INT32_MAX)                                               \
            gemv_##type##_tokens(n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);                    \
        else                                                                                                           \
            gemm_kquant(mode, unpack_##type, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);        \
    }
DEFINE_KQUANT_ENTRIES(q4_k, GEMV_LIMIT_Q4_K, MODE_Q4_K)
DEFINE_KQUANT_ENTRIES(q6_k, GEMV_LIMIT_Q6_K, MODE_Q6_K)
DEFINE_KQUANT_ENTRIES(iq4_xs, GEMV_LIMIT_IQ4_XS, MODE_IQ4_XS)

/* The level's q5_k row dot (AVX2), for batches too small for the panels. */
static tl_vec_dot_fn q5_k_row_dot;

static void gemm_q5_k_vnni(int64_t n_cols, const void *w, size_t w_row_bytes, int64_t r0, int64_t r1, const void *x,
                           size_t x_row_bytes, int64_t n_tokens, float *y, int64_t ldy) {
    if (n_tokens <= GEMV_LIMIT_Q4_K || w_row_bytes * 16 > (size_t)INT32_MAX) {
        for (int64_t t = 0; t < n_tokens; t++)
            for (int64_t r = r0; r < r1; r++)
                q5_k_row_dot(n_cols, y + t * ldy + r, (const uint8_t *)w + (size_t)r * w_row_bytes,
                             (const uint8_t *)x + (size_t)t * x_row_bytes);
    } else {
        gemm_kquant(MODE_Q4_K, unpack_q5_k, n_cols, w, w_row_bytes, r0, r1, x, x_row_bytes, n_tokens, y, ldy);
    }
}

void tl_kernels_fill_avx512_kquants(tl_kernel_set *k, const tl_cpu_features *f) {
    if (!f->avx512vnni) return;
    k->vec_dot[TL_TYPE_Q4_K] = vec_dot_q4_k_vnni;
    k->vec_dot[TL_TYPE_Q6_K] = vec_dot_q6_k_vnni;
    k->gemm[TL_TYPE_Q4_K] = gemm_q4_k_vnni;
    k->gemm[TL_TYPE_Q6_K] = gemm_q6_k_vnni;
    k->vec_dot[TL_TYPE_IQ4_XS] = vec_dot_iq4_xs_vnni;
    k->gemm[TL_TYPE_IQ4_XS] = gemm_iq4_xs_vnni;
    /* The streaming kernels give each token the bits it gets alone: exact
     * runs (decode steps, speculative verification) use them whatever the
     * batch, each group of tokens reading the rows once. */
    tl_kernels_promise_exact(k, TL_TYPE_Q4_K, gemv_q4_k_tokens, vec_dot_q4_k_vnni);
    tl_kernels_promise_exact(k, TL_TYPE_Q6_K, gemv_q6_k_tokens, vec_dot_q6_k_vnni);
    tl_kernels_promise_exact(k, TL_TYPE_IQ4_XS, gemv_iq4_xs_tokens, vec_dot_iq4_xs_vnni);
    if (k->vec_dot[TL_TYPE_Q5_K]) { /* the AVX2 dot, filled before this */
        q5_k_row_dot = k->vec_dot[TL_TYPE_Q5_K];
        k->gemm[TL_TYPE_Q5_K] = gemm_q5_k_vnni;
    }
}
