/*
 * types.h — the tensor type-trait table.
 *
 * Every weight type tinyllm knows is one row of a table (as in ggml): its
 * name, block size, bytes per block, how to turn a row into floats, how to
 * quantize floats into it (round-to-nearest, as ggml's reference quantizers),
 * which type activations are converted to before a dot product (vec_dot_type)
 * and the dot product itself. Adding a type means adding a row, not editing
 * switch statements elsewhere.
 *
 * Layouts are exactly ggml's (blocks.h), so GGUF tensor data is used in
 * place. Type ids are ggml's (they are what GGUF files store).
 *
 * The functions in the table are the scalar reference implementations; faster
 * SIMD versions (a later stage) are tested against them.
 */
#ifndef TL_TYPES_H
#define TL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tl_type {
    TL_TYPE_F32 = 0,
    TL_TYPE_F16 = 1,
    TL_TYPE_Q4_0 = 2,
    TL_TYPE_Q4_1 = 3,
    /* 4 and 5 were Q4_2 / Q4_3, removed from ggml */
    TL_TYPE_Q5_0 = 6,
    TL_TYPE_Q5_1 = 7,
    TL_TYPE_Q8_0 = 8,
    TL_TYPE_Q8_1 = 9,
    TL_TYPE_Q2_K = 10,
    TL_TYPE_Q3_K = 11,
    TL_TYPE_Q4_K = 12,
    TL_TYPE_Q5_K = 13,
    TL_TYPE_Q6_K = 14,
    TL_TYPE_Q8_K = 15,
    TL_TYPE_IQ2_XXS = 16,
    TL_TYPE_IQ2_XS = 17,
    TL_TYPE_IQ3_XXS = 18,
    TL_TYPE_IQ1_S = 19,
    TL_TYPE_IQ4_NL = 20,
    TL_TYPE_IQ3_S = 21,
    TL_TYPE_IQ2_S = 22,
    TL_TYPE_IQ4_XS = 23,
    TL_TYPE_I8 = 24,
    TL_TYPE_I16 = 25,
    TL_TYPE_I32 = 26,
    TL_TYPE_I64 = 27,
    TL_TYPE_F64 = 28,
    TL_TYPE_IQ1_M = 29,
    TL_TYPE_BF16 = 30,
    /* 31-33 were Q4_0_4_4 etc., removed from ggml */
    TL_TYPE_TQ1_0 = 34,
    TL_TYPE_TQ2_0 = 35,
    /* 36-38 were IQ4_NL_4_4 etc., removed from ggml */
    TL_TYPE_MXFP4 = 39,
    TL_TYPE_COUNT = 40 /* table size; ids >= this are unknown */
} tl_type;

/* Convert n values of this type (a whole number of blocks) to float. */
typedef void (*tl_to_float_fn)(const void *src, float *dst, int64_t n);
/* Quantize n floats (a whole number of blocks) into this type. */
typedef void (*tl_from_float_fn)(const float *src, void *dst, int64_t n);
/* *out = dot product of n elements: x is of this type, y of vec_dot_type. */
typedef void (*tl_vec_dot_fn)(int64_t n, float *out, const void *x, const void *y);

typedef struct tl_type_traits {
    const char *name;   /* "q4_0": lower case as llama.cpp prints it; NULL = unknown id */
    int64_t block_size; /* elements per block (1 for plain types) */
    size_t block_bytes; /* bytes per block */
    bool is_quantized;
    tl_to_float_fn to_float;     /* NULL: tinyllm cannot compute with this type yet */
    tl_from_float_fn from_float; /* NULL: cannot write this type */
    tl_type vec_dot_type;        /* activations are converted to this before vec_dot */
    tl_vec_dot_fn vec_dot;
} tl_type_traits;

/* The row for a type id, or NULL if the id is not a known ggml type. A known
 * type may still have NULL functions (e.g. MXFP4: recognised, not run). */
const tl_type_traits *tl_type_traits_of(uint32_t type_id);

/* True when tinyllm can dequantize and multiply with this type. */
bool tl_type_is_supported(uint32_t type_id);

/* Bytes taken by n elements (n must be a multiple of the block size). */
size_t tl_type_row_bytes(uint32_t type_id, int64_t n);

/* IEEE half and bfloat16 conversions (round-to-nearest-even, as ggml). */
float tl_fp16_to_fp32(uint16_t h);
uint16_t tl_fp32_to_fp16(float f);
float tl_bf16_to_fp32(uint16_t h);
uint16_t tl_fp32_to_bf16(float f);

#endif /* TL_TYPES_H */
