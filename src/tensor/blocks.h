/*
 * blocks.h — the one declaration of ggml's block layouts: every quantized
 * type's block as a struct (as in ggml-common.h), with compile-time checks
 * of its size, and the byte offsets of its fields derived from the struct.
 *
 * The trait table (types.c), the scalar reference (quant_legacy.c,
 * quant_k.c, quant_iq.c, quant_iq4.c, quant_ternary.c) and every SIMD file (x86/, arm/) take sizes and offsets from
 * here. Code reads blocks through byte pointers at these offsets rather than
 * through struct pointers: a GGUF file may set general.alignment to 1, so a
 * mapped row can start at any address, and multi-byte fields are assembled
 * with byte or memcpy loads (block_fields.h and the per-ISA headers).
 *
 * f16 fields are uint16_t holding IEEE half bits (ggml_half); all multi-byte
 * fields are little-endian.
 */
#ifndef TL_BLOCKS_H
#define TL_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

/* Elements per block: QK for the 32-element types (ggml's QK4_0 .. QK8_1,
 * QK4_NL, QK_MXFP4, all 32), QK_K for the 256-element super-blocks. */
enum { QK = 32, QK_K = 256 };

/* Bytes of the packed six-bit scales (and mins) of q3_k, q4_k and q5_k. */
enum { K_SCALE_SIZE = 12 };

#define TL_BLOCK_SIZE_IS(type, bytes) _Static_assert(sizeof(type) == (bytes), #type " must be ggml's " #bytes " bytes")

/* ---- 32-element types ----------------------------------------------------- */

typedef struct block_q4_0 {
    uint16_t d;         /* f16 scale: x = (q - 8) * d */
    uint8_t qs[QK / 2]; /* element j in the low nibble of byte j, j + 16 in the high */
} block_q4_0;
TL_BLOCK_SIZE_IS(block_q4_0, 18);

typedef struct block_q4_1 {
    uint16_t d, m;      /* f16 scale and min: x = q * d + m */
    uint8_t qs[QK / 2]; /* as q4_0 */
} block_q4_1;
TL_BLOCK_SIZE_IS(block_q4_1, 20);

typedef struct block_q5_0 {
    uint16_t d;         /* x = (q - 16) * d */
    uint8_t qh[4];      /* bit j of this little-endian word: 5th bit of element j */
    uint8_t qs[QK / 2]; /* low 4 bits, as q4_0 */
} block_q5_0;
TL_BLOCK_SIZE_IS(block_q5_0, 22);

typedef struct block_q5_1 {
    uint16_t d, m; /* x = q * d + m */
    uint8_t qh[4];
    uint8_t qs[QK / 2];
} block_q5_1;
TL_BLOCK_SIZE_IS(block_q5_1, 24);

typedef struct block_q8_0 {
    uint16_t d; /* x = q * d */
    int8_t qs[QK];
} block_q8_0;
TL_BLOCK_SIZE_IS(block_q8_0, 34);

/* The activation side of q4_1 / q5_1 dot products. */
typedef struct block_q8_1 {
    uint16_t d, s; /* s = d * sum(qs), rounded to f16 */
    int8_t qs[QK];
} block_q8_1;
TL_BLOCK_SIZE_IS(block_q8_1, 36);

/* ---- 256-element K-quant super-blocks --------------------------------------- */

typedef struct block_q2_K {
    uint8_t scales[QK_K / 16]; /* 16 sub-blocks: scale | min << 4 */
    uint8_t qs[QK_K / 4];      /* 2-bit levels */
    uint16_t d, dmin;          /* f16 factors of the scales and mins */
} block_q2_K;
TL_BLOCK_SIZE_IS(block_q2_K, 84);

typedef struct block_q3_K {
    uint8_t hmask[QK_K / 8];      /* 3rd bit of the levels */
    uint8_t qs[QK_K / 4];         /* low 2 bits */
    uint8_t scales[K_SCALE_SIZE]; /* 16 six-bit scales, offset 32 */
    uint16_t d;
} block_q3_K;
TL_BLOCK_SIZE_IS(block_q3_K, 110);

typedef struct block_q4_K {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE]; /* 8 six-bit scales and 8 six-bit mins */
    uint8_t qs[QK_K / 2];         /* 4-bit levels */
} block_q4_K;
TL_BLOCK_SIZE_IS(block_q4_K, 144);

typedef struct block_q5_K {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE]; /* as q4_k */
    uint8_t qh[QK_K / 8];         /* 5th bit of the levels */
    uint8_t qs[QK_K / 2];         /* low 4 bits */
} block_q5_K;
TL_BLOCK_SIZE_IS(block_q5_K, 176);

typedef struct block_q6_K {
    uint8_t ql[QK_K / 2];     /* low 4 bits */
    uint8_t qh[QK_K / 4];     /* high 2 bits */
    int8_t scales[QK_K / 16]; /* 16 eight-bit scales */
    uint16_t d;
} block_q6_K;
TL_BLOCK_SIZE_IS(block_q6_K, 210);

/* The activation side of K-quant dot products. */
typedef struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16]; /* sums of each 16 consecutive qs */
} block_q8_K;
TL_BLOCK_SIZE_IS(block_q8_K, 292);

/* ---- i-quant and ternary types (quant_iq.c, quant_ternary.c) -------------- */

typedef struct block_iq2_xxs {
    uint16_t d;
    uint16_t qs[QK_K / 8];
} block_iq2_xxs;
TL_BLOCK_SIZE_IS(block_iq2_xxs, 66);
typedef struct block_iq2_xs {
    uint16_t d;
    uint16_t qs[QK_K / 8];
    uint8_t scales[QK_K / 32];
} block_iq2_xs;
TL_BLOCK_SIZE_IS(block_iq2_xs, 74);
typedef struct block_iq2_s {
    uint16_t d;
    uint8_t qs[QK_K / 4];
    uint8_t qh[QK_K / 32];
    uint8_t scales[QK_K / 32];
} block_iq2_s;
TL_BLOCK_SIZE_IS(block_iq2_s, 82);
typedef struct block_iq3_xxs {
    uint16_t d;
    uint8_t qs[3 * QK_K / 8];
} block_iq3_xxs;
TL_BLOCK_SIZE_IS(block_iq3_xxs, 98);
typedef struct block_iq3_s {
    uint16_t d;
    uint8_t qs[QK_K / 4];
    uint8_t qh[QK_K / 32];
    uint8_t signs[QK_K / 8];
    uint8_t scales[QK_K / 64];
} block_iq3_s;
TL_BLOCK_SIZE_IS(block_iq3_s, 110);
typedef struct block_iq1_s {
    uint16_t d;
    uint8_t qs[QK_K / 8];
    uint16_t qh[QK_K / 32];
} block_iq1_s;
TL_BLOCK_SIZE_IS(block_iq1_s, 50);
typedef struct block_iq1_m {
    uint8_t qs[QK_K / 8];
    uint8_t qh[QK_K / 16];
    uint8_t scales[QK_K / 32];
} block_iq1_m;
TL_BLOCK_SIZE_IS(block_iq1_m, 56);
typedef struct block_iq4_nl {
    uint16_t d;
    uint8_t qs[QK / 2];
} block_iq4_nl;
TL_BLOCK_SIZE_IS(block_iq4_nl, 18);
typedef struct block_iq4_xs {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[QK_K / 64];
    uint8_t qs[QK_K / 2];
} block_iq4_xs;
TL_BLOCK_SIZE_IS(block_iq4_xs, 136);
typedef struct block_tq1_0 {
    uint8_t qs[(QK_K - 4 * QK_K / 64) / 5];
    uint8_t qh[QK_K / 64];
    uint16_t d;
} block_tq1_0;
TL_BLOCK_SIZE_IS(block_tq1_0, 54);
typedef struct block_tq2_0 {
    uint8_t qs[QK_K / 4];
    uint16_t d;
} block_tq2_0;
TL_BLOCK_SIZE_IS(block_tq2_0, 66);
typedef struct block_mxfp4 {
    uint8_t e;
    uint8_t qs[QK / 2];
} block_mxfp4;
TL_BLOCK_SIZE_IS(block_mxfp4, 17);

/* ---- sizes and field offsets, from the structs ---------------------------- */

/* NAME_BYTES is the block size; NAME_FIELD the byte offset of a field. */
#define TL_FIELD(name, field) offsetof(block_##name, field)
enum {
    Q4_0_BYTES = sizeof(block_q4_0),
    Q4_0_D = TL_FIELD(q4_0, d),
    Q4_0_QS = TL_FIELD(q4_0, qs),
    Q4_1_BYTES = sizeof(block_q4_1),
    Q4_1_D = TL_FIELD(q4_1, d),
    Q4_1_M = TL_FIELD(q4_1, m),
    Q4_1_QS = TL_FIELD(q4_1, qs),
    Q5_0_BYTES = sizeof(block_q5_0),
    Q5_0_D = TL_FIELD(q5_0, d),
    Q5_0_QH = TL_FIELD(q5_0, qh),
    Q5_0_QS = TL_FIELD(q5_0, qs),
    Q5_1_BYTES = sizeof(block_q5_1),
    Q5_1_D = TL_FIELD(q5_1, d),
    Q5_1_M = TL_FIELD(q5_1, m),
    Q5_1_QH = TL_FIELD(q5_1, qh),
    Q5_1_QS = TL_FIELD(q5_1, qs),
    Q8_0_BYTES = sizeof(block_q8_0),
    Q8_0_D = TL_FIELD(q8_0, d),
    Q8_0_QS = TL_FIELD(q8_0, qs),
    Q8_1_BYTES = sizeof(block_q8_1),
    Q8_1_D = TL_FIELD(q8_1, d),
    Q8_1_S = TL_FIELD(q8_1, s),
    Q8_1_QS = TL_FIELD(q8_1, qs),
    Q2_K_BYTES = sizeof(block_q2_K),
    Q2_K_SCALES = TL_FIELD(q2_K, scales),
    Q2_K_QS = TL_FIELD(q2_K, qs),
    Q2_K_D = TL_FIELD(q2_K, d),
    Q2_K_DMIN = TL_FIELD(q2_K, dmin),
    Q3_K_BYTES = sizeof(block_q3_K),
    Q3_K_HMASK = TL_FIELD(q3_K, hmask),
    Q3_K_QS = TL_FIELD(q3_K, qs),
    Q3_K_SCALES = TL_FIELD(q3_K, scales),
    Q3_K_D = TL_FIELD(q3_K, d),
    Q4_K_BYTES = sizeof(block_q4_K),
    Q4_K_D = TL_FIELD(q4_K, d),
    Q4_K_DMIN = TL_FIELD(q4_K, dmin),
    Q4_K_SCALES = TL_FIELD(q4_K, scales),
    Q4_K_QS = TL_FIELD(q4_K, qs),
    Q5_K_BYTES = sizeof(block_q5_K),
    Q5_K_D = TL_FIELD(q5_K, d),
    Q5_K_DMIN = TL_FIELD(q5_K, dmin),
    Q5_K_SCALES = TL_FIELD(q5_K, scales),
    Q5_K_QH = TL_FIELD(q5_K, qh),
    Q5_K_QS = TL_FIELD(q5_K, qs),
    Q6_K_BYTES = sizeof(block_q6_K),
    Q6_K_QL = TL_FIELD(q6_K, ql),
    Q6_K_QH = TL_FIELD(q6_K, qh),
    Q6_K_SCALES = TL_FIELD(q6_K, scales),
    Q6_K_D = TL_FIELD(q6_K, d),
    Q8_K_BYTES = sizeof(block_q8_K),
    Q8_K_D = TL_FIELD(q8_K, d),
    Q8_K_QS = TL_FIELD(q8_K, qs),
    Q8_K_BSUMS = TL_FIELD(q8_K, bsums),
    IQ2_XXS_BYTES = sizeof(block_iq2_xxs),
    IQ2_XXS_D = TL_FIELD(iq2_xxs, d),
    IQ2_XXS_QS = TL_FIELD(iq2_xxs, qs),
    IQ2_XS_BYTES = sizeof(block_iq2_xs),
    IQ2_XS_D = TL_FIELD(iq2_xs, d),
    IQ2_XS_QS = TL_FIELD(iq2_xs, qs),
    IQ2_XS_SCALES = TL_FIELD(iq2_xs, scales),
    IQ2_S_BYTES = sizeof(block_iq2_s),
    IQ2_S_D = TL_FIELD(iq2_s, d),
    IQ2_S_QS = TL_FIELD(iq2_s, qs),
    IQ2_S_QH = TL_FIELD(iq2_s, qh),
    IQ2_S_SCALES = TL_FIELD(iq2_s, scales),
    IQ3_XXS_BYTES = sizeof(block_iq3_xxs),
    IQ3_XXS_D = TL_FIELD(iq3_xxs, d),
    IQ3_XXS_QS = TL_FIELD(iq3_xxs, qs),
    IQ3_S_BYTES = sizeof(block_iq3_s),
    IQ3_S_D = TL_FIELD(iq3_s, d),
    IQ3_S_QS = TL_FIELD(iq3_s, qs),
    IQ3_S_QH = TL_FIELD(iq3_s, qh),
    IQ3_S_SIGNS = TL_FIELD(iq3_s, signs),
    IQ3_S_SCALES = TL_FIELD(iq3_s, scales),
    IQ1_S_BYTES = sizeof(block_iq1_s),
    IQ1_S_D = TL_FIELD(iq1_s, d),
    IQ1_S_QS = TL_FIELD(iq1_s, qs),
    IQ1_S_QH = TL_FIELD(iq1_s, qh),
    IQ1_M_BYTES = sizeof(block_iq1_m),
    IQ1_M_QS = TL_FIELD(iq1_m, qs),
    IQ1_M_QH = TL_FIELD(iq1_m, qh),
    IQ1_M_SCALES = TL_FIELD(iq1_m, scales),
    IQ4_NL_BYTES = sizeof(block_iq4_nl),
    IQ4_NL_D = TL_FIELD(iq4_nl, d),
    IQ4_NL_QS = TL_FIELD(iq4_nl, qs),
    IQ4_XS_BYTES = sizeof(block_iq4_xs),
    IQ4_XS_D = TL_FIELD(iq4_xs, d),
    IQ4_XS_SCALES_H = TL_FIELD(iq4_xs, scales_h),
    IQ4_XS_SCALES_L = TL_FIELD(iq4_xs, scales_l),
    IQ4_XS_QS = TL_FIELD(iq4_xs, qs),
    TQ1_0_BYTES = sizeof(block_tq1_0),
    TQ1_0_QS = TL_FIELD(tq1_0, qs),
    TQ1_0_QH = TL_FIELD(tq1_0, qh),
    TQ1_0_D = TL_FIELD(tq1_0, d),
    TQ2_0_BYTES = sizeof(block_tq2_0),
    TQ2_0_QS = TL_FIELD(tq2_0, qs),
    TQ2_0_D = TL_FIELD(tq2_0, d),
};
#undef TL_FIELD

/* Kernels rely on these: the affine types' min (and q8_1's s) sit right
 * after d; q4_k and q5_k share their header (d, dmin, scales). */
_Static_assert(Q4_1_M == 2 && Q5_1_M == 2 && Q8_1_S == 2, "m / s follow d");
_Static_assert(Q4_K_D == Q5_K_D && Q4_K_DMIN == Q5_K_DMIN && Q4_K_SCALES == Q5_K_SCALES,
               "q4_k and q5_k share their header");

#endif /* TL_BLOCKS_H */
