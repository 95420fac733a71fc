/*
 * quant_vectors.h — what the reference-vector generators
 * (scripts/reference/kquant_vectors.c, iquant_vectors.c, built against
 * ggml) and the tests that check tinyllm against their JSON
 * (tests/unit/test_types_k.c, test_iquants.c) must compute identically:
 * the FNV-1a 64 hashes of bytes and floats, hex output, and the generated
 * blocks of the i-quant "random" set. Header-only (static functions), so
 * the generators need nothing else from the test support library.
 */
#ifndef TL_TEST_QUANT_VECTORS_H
#define TL_TEST_QUANT_VECTORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* ---- FNV-1a 64 ---------------------------------------------------------- */

static const uint64_t fnv_start = 0xcbf29ce484222325ull;

/* Continued from h, over bytes. */
static inline uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Continued from h, over the floats' little-endian bytes. */
static inline uint64_t hash_floats_from(uint64_t h, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const uint32_t u = bits_of(x[i]);
        const uint8_t le[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
        h = hash_bytes(h, le, 4);
    }
    return h;
}

static inline uint64_t hash_floats(const float *x, size_t n) {
    return hash_floats_from(fnv_start, x, n);
}

/* ---- JSON output of the generators ----------------------------------------- */

/* Bytes as a quoted hex string. */
static inline void print_hex(const uint8_t *p, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
    putchar('"');
}

/* Floats as their little-endian bytes in hex. */
static inline void print_floats_hex(const float *x, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        const uint32_t u = bits_of(x[i]);
        for (int b = 0; b < 4; b++) printf("%02x", (unsigned)((u >> (8 * b)) & 0xff));
    }
    putchar('"');
}

/* n_rows rows of row_bytes bytes, one hex string per line after `indent`,
 * comma-separated (the inside of a JSON array). */
static inline void print_hex_rows(const uint8_t *rows, int n_rows, size_t row_bytes, const char *indent) {
    for (int r = 0; r < n_rows; r++) {
        fputs(indent, stdout);
        print_hex(rows + (size_t)r * row_bytes, row_bytes);
        printf("%s\n", r + 1 < n_rows ? "," : "");
    }
}

/* n_rows rows of n floats, as print_hex_rows. */
static inline void print_float_rows(const float *rows, int n_rows, size_t n, const char *indent) {
    for (int r = 0; r < n_rows; r++) {
        fputs(indent, stdout);
        print_floats_hex(rows + (size_t)r * n, n);
        printf("%s\n", r + 1 < n_rows ? "," : "");
    }
}

/* `"key": [...]` of hashes (hex strings), of float bits, of float values. */
static inline void print_hash_list(const char *key, const uint64_t *hashes, int n) {
    printf("\"%s\": [", key);
    for (int r = 0; r < n; r++) printf("%s\"%016llx\"", r ? ", " : "", (unsigned long long)hashes[r]);
    printf("]");
}

static inline void print_dot_lists(const float *dots, int n) {
    printf("\"vec_dot_bits\": [");
    for (int r = 0; r < n; r++) printf("%s\"%08x\"", r ? ", " : "", (unsigned)bits_of(dots[r]));
    printf("],\n   \"vec_dot\": [");
    for (int r = 0; r < n; r++) printf("%s%.9g", r ? ", " : "", (double)dots[r]);
    printf("]");
}

/* ---- the i-quant random set --------------------------------------------------- */

/* xorshift64*, as 32-bit values. */
static inline uint32_t iq_random_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (uint32_t)((*s * 0x2545F4914F6CDD1Dull) >> 32);
}

static inline uint64_t iq_random_state(int type_index, int block) {
    const uint64_t s = 0x6a09e667f3bcc909ull ^ ((uint64_t)(type_index * 4099 + block + 1) * 0x9e3779b97f4a7c15ull);
    return s ? s : 1;
}

/* Where a block keeps its f16 scale d: a byte offset, or IQ_RANDOM_IQ1_M
 * (iq1_m spreads d over the top nibbles of its four u16 scale words). */
enum { IQ_RANDOM_IQ1_M = -1, IQ_RANDOM_IQ1_M_SCALES = 48 };

/* Writes the f16 bits d as a block's scale. */
static inline void iq_block_set_d(uint8_t *block, int d_offset, uint16_t d) {
    if (d_offset == IQ_RANDOM_IQ1_M) {
        for (int k = 0; k < 4; k++) {
            uint8_t *high = block + IQ_RANDOM_IQ1_M_SCALES + 2 * k + 1;
            *high = (uint8_t)((*high & 0x0f) | (((d >> (4 * k)) & 0xf) << 4));
        }
    } else {
        block[d_offset] = (uint8_t)(d & 0xff);
        block[d_offset + 1] = (uint8_t)(d >> 8);
    }
}

/* Block `block` of the random set of the type at `type_index` (of
 * block_bytes bytes): random bytes, then a finite f16 d in [2^-4, 2^-3)
 * written over the scale field. */
static inline void iq_random_block(int type_index, int block, size_t block_bytes, int d_offset, uint8_t *out) {
    uint64_t s = iq_random_state(type_index, block);
    for (size_t i = 0; i < block_bytes; i++) out[i] = (uint8_t)(iq_random_next(&s) >> 24);
    iq_block_set_d(out, d_offset, (uint16_t)(0x2c00 | (iq_random_next(&s) & 0x3ff)));
}

/* A random activation block: q8_0 (f16 d = 2^-6, 32 random i8) or q8_K
 * (f32 d = 2^-7, 256 random i8 and their 16-element sums). */
static inline void iq_random_activation(int block, int q8_0, uint8_t *out) {
    uint64_t s = iq_random_state(99, block);
    if (q8_0) {
        out[0] = 0x00;
        out[1] = 0x24;
        for (int i = 0; i < 32; i++) out[2 + i] = (uint8_t)(iq_random_next(&s) >> 24);
        return;
    }
    const float d = 0x1p-7f;
    memcpy(out, &d, 4);
    for (int i = 0; i < 256; i++) out[4 + i] = (uint8_t)(iq_random_next(&s) >> 24);
    for (int j = 0; j < 16; j++) {
        int sum = 0;
        for (int l = 0; l < 16; l++) sum += (int8_t)out[4 + 16 * j + l];
        out[260 + 2 * j] = (uint8_t)((uint16_t)sum & 0xff);
        out[260 + 2 * j + 1] = (uint8_t)((uint16_t)sum >> 8);
    }
}

#endif /* TL_TEST_QUANT_VECTORS_H */
