/*
 * gguf_internal.h — the in-memory form of an opened GGUF file, shared by the
 * parser (gguf_reader.c) and the accessors (gguf.c). Not part of any API.
 *
 * Everything here has been validated by the parser: pointers into the mapping
 * are in bounds, array counts match the bytes behind them, string array
 * offsets point at a length prefix followed by that many bytes.
 */
#ifndef TL_GGUF_INTERNAL_H
#define TL_GGUF_INTERNAL_H

#include <stdint.h>

#include "format/gguf.h"

/* GGUF stores everything little-endian and tinyllm reads it in place. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tinyllm's GGUF reader assumes a little-endian host"
#endif
#endif

typedef struct gguf_kv {
    char *key;                 /* NUL-terminated copy, non-empty, no embedded NUL */
    gguf_value_type type;      /* GGUF_TYPE_ARRAY for arrays */
    gguf_value_type elem_type; /* arrays: element type (never ARRAY) */
    uint64_t count;            /* arrays: number of elements */
    const uint8_t *data;       /* numeric scalar or numeric array: packed bytes in the mapping */
    char *str;                 /* string scalar: NUL-terminated copy */
    uint64_t str_len;          /* string scalar: length without the NUL */
    const uint8_t *str_base;   /* string array: the first element's length prefix */
    uint32_t *str_offsets;     /* string array: each element's length prefix, from str_base
                                   (32 bits keep a 256k-token vocabulary's index at 1 MB) */
} gguf_kv;

/* Open-addressing hash table from a name to its position in an array. */
typedef struct gguf_name_index {
    struct gguf_name_slot {
        const char *name; /* NULL = empty slot */
        int64_t pos;
    } * slots;
    uint64_t mask; /* capacity - 1 (capacity is a power of two) */
    uint64_t used;
} gguf_name_index;

struct gguf_file {
    char *path;
    const uint8_t *map; /* the whole file, read-only */
    uint64_t size;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset; /* start of the tensor data section */
    uint32_t size_bytes;  /* width of string lengths / counts: 4 in v1, 8 after */

    gguf_kv *kvs;
    int64_t n_kv;
    gguf_tensor *tensors;
    int64_t n_tensors;

    gguf_name_index key_index;
    gguf_name_index tensor_index;
};

/* "uint32", "string", ...; "unknown" for ids out of range. */
const char *gguf_value_type_name(uint32_t type);

/* Position of `name` in the indexed array, or -1. */
int64_t gguf_name_index_find(const gguf_name_index *index, const char *name);

#endif /* TL_GGUF_INTERNAL_H */
