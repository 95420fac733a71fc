/*
 * block_fields.h — portable (scalar) access to the fields of the blocks in
 * blocks.h: little-endian loads and stores that work at any address, and the
 * unpacking of the K-quants' packed six-bit scales.
 *
 * The scalar reference (quant_legacy.c, quant_k.c) uses all of it; the SIMD
 * files (x86/, arm/) have their own loads but unpack the scales with the
 * functions here, so each packing is written once.
 */
#ifndef TL_BLOCK_FIELDS_H
#define TL_BLOCK_FIELDS_H

#include <stdint.h>
#include <string.h>

#include "tensor/blocks.h"
#include "tensor/types.h"

/* ---- loads and stores ------------------------------------------------------ */

static inline float tl_block_load_half(const uint8_t *p) {
    return tl_fp16_to_fp32((uint16_t)(p[0] | (p[1] << 8)));
}

static inline void tl_block_store_half(uint8_t *p, float value) {
    const uint16_t h = tl_fp32_to_fp16(value);
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

static inline uint32_t tl_block_load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void tl_block_store_u32(uint8_t *p, uint32_t value) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(value >> (8 * i));
}

static inline float tl_block_load_f32(const uint8_t *p) {
    const uint32_t u = tl_block_load_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline void tl_block_store_f32(uint8_t *p, float value) {
    uint32_t u;
    memcpy(&u, &value, sizeof u);
    tl_block_store_u32(p, u);
}

static inline int tl_block_load_i16(const uint8_t *p) {
    return (int16_t)(uint16_t)(p[0] | (p[1] << 8));
}

static inline void tl_block_store_i16(uint8_t *p, int value) {
    const uint16_t u = (uint16_t)value;
    p[0] = (uint8_t)(u & 0xff);
    p[1] = (uint8_t)(u >> 8);
}

/* ---- K-quant scales --------------------------------------------------------- */

/* The 6-bit scale and min of sub-block j (0..7) of a q4_k / q5_k block
 * (ggml's get_scale_min_k4): j < 4 sit in the low 6 bits of bytes j and
 * j + 4; j >= 4 have their low 4 bits in byte j + 4 and their top 2 bits in
 * the top bits of bytes j - 4 and j. */
static inline void tl_q4_k_scale_min(const uint8_t *scales, int j, int *scale, int *min) {
    if (j < 4) {
        *scale = scales[j] & 63;
        *min = scales[j + 4] & 63;
    } else {
        *scale = (scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4);
        *min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
    }
}

/* The inverse of tl_q4_k_scale_min for one sub-block; the bytes of
 * sub-blocks j >= 4 are or-ed in, so `scales` starts zeroed and j < 4 are
 * written first. */
static inline void tl_q4_k_pack_scale_min(uint8_t *scales, int j, int scale, int min) {
    if (j < 4) {
        scales[j] = (uint8_t)scale;
        scales[j + 4] = (uint8_t)min;
    } else {
        scales[j + 4] = (uint8_t)((scale & 0x0f) | ((min & 0x0f) << 4));
        scales[j - 4] |= (uint8_t)((scale >> 4) << 6);
        scales[j] |= (uint8_t)((min >> 4) << 6);
    }
}

/* All eight scales and mins of a q4_k / q5_k block at once, as the bytes of
 * four little-endian words: words 0, 1 hold scales 0..3, 4..7 and words 2, 3
 * mins 0..3, 4..7 (the byte of sub-block j is what tl_q4_k_scale_min
 * gives). The SIMD kernels load these words into vectors. */
static inline void tl_q4_k_scale_words(const uint8_t *scales, uint32_t words[4]) {
    uint32_t w0, w1, w2;
    memcpy(&w0, scales, 4); /* the targets are little-endian, as the format */
    memcpy(&w1, scales + 4, 4);
    memcpy(&w2, scales + 8, 4);
    words[0] = w0 & 0x3f3f3f3fu;
    words[1] = (w2 & 0x0f0f0f0fu) | (((w0 >> 6) & 0x03030303u) << 4);
    words[2] = w1 & 0x3f3f3f3fu;
    words[3] = ((w2 >> 4) & 0x0f0f0f0fu) | (((w1 >> 6) & 0x03030303u) << 4);
}

/* The signed 6-bit scale (-32..31) of sub-block j (of 16) of a q3_k block:
 * low 4 bits in byte j (j < 8) or the high nibble of byte j - 8, top 2 bits
 * in bits 2*(j/4) of byte 8 + j%4. */
static inline int tl_q3_k_scale(const uint8_t *scales, int j) {
    const int low = j < 8 ? scales[j] & 0x0f : scales[j - 8] >> 4;
    const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

/* All sixteen q3_k scales at once, still offset by 32 (0..63), as the bytes
 * of four little-endian words (byte j: scale j + 32). */
static inline void tl_q3_k_scale_words(const uint8_t *scales, uint32_t words[4]) {
    uint32_t low0, low1, high;
    memcpy(&low0, scales, 4);
    memcpy(&low1, scales + 4, 4);
    memcpy(&high, scales + 8, 4);
    const uint32_t nibbles = 0x0f0f0f0fu, pairs = 0x03030303u;
    words[0] = (low0 & nibbles) | ((high & pairs) << 4);
    words[1] = (low1 & nibbles) | (((high >> 2) & pairs) << 4);
    words[2] = ((low0 >> 4) & nibbles) | (((high >> 4) & pairs) << 4);
    words[3] = ((low1 >> 4) & nibbles) | (((high >> 6) & pairs) << 4);
}

#endif /* TL_BLOCK_FIELDS_H */
