/*
 * gguf.h — reading GGUF files (versions 1, 2 and 3).
 *
 * The reader maps the file with mmap and validates everything before anything
 * else looks at it: magic, version, counts, string lengths, value types,
 * tensor dimensions, type ids, offsets and sizes against the file size,
 * overflow in size arithmetic, duplicate keys and tensor names. Tensor data is
 * used in place (pointers into the mapping); nothing is copied.
 *
 * Metadata keys and scalar string values are copied into NUL-terminated heap
 * strings at open time (they are small). String arrays (vocabularies of up to
 * ~256k entries) stay in the mapping and are reached through an index of
 * offsets built at open time.
 *
 * Writing GGUF files is authoring, not the runtime's business: see
 * src/authoring/gguf_writer.h.
 */
#ifndef TL_GGUF_H
#define TL_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

typedef enum gguf_value_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
} gguf_value_type;

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

/* Bytes per element of a fixed-size value type; 0 for string, array and
 * unknown ids. */
uint64_t gguf_value_size(uint32_t type);

/* Limits that keep the work and memory of opening a file bounded whatever
 * its header claims (each far above any real model's): */
#define GGUF_MAX_KV (1u << 16)               /* metadata entries (real files: ~20-60) */
#define GGUF_MAX_TENSORS (1u << 16)          /* tensors (real files: up to a few thousand) */
#define GGUF_MAX_KEY_LEN 65535u              /* bytes of a key (the GGUF spec's limit) */
#define GGUF_MAX_TENSOR_NAME_LEN 256u        /* bytes of a tensor name (llama.cpp: 63) */
#define GGUF_MAX_STRING_ARRAY (1u << 24)     /* elements of a string array (vocabularies, merges) */
#define GGUF_MAX_METADATA_BYTES (256u << 20) /* the header and metadata section (real: < 20 MB) */

typedef struct gguf_file gguf_file;

typedef struct gguf_tensor {
    const char *name; /* NUL-terminated copy */
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* elements per dimension; unused dims are 1 */
    uint32_t type;             /* ggml type id, validated against the type table */
    uint64_t offset;           /* relative to the start of the data section */
    uint64_t n_elements;
    uint64_t n_bytes;
    const void *data; /* points into the mapping */
} gguf_tensor;

/* Open and validate. On failure returns non-OK and fills err with
 * "PATH: what is wrong". */
tl_status gguf_open(const char *path, gguf_file **out, tl_error *err);
void gguf_close(gguf_file *f);

/* Bring the data of the tensors marked in `used` (one flag per tensor, in
 * file order) into memory now, page tables populated, so that the first use
 * of the weights does not pay a page fault per page. Tensors the model does
 * not use, of whatever size, and bytes outside tensors are never touched. A
 * hint: failure is harmless. */
void gguf_prefetch_tensors(const gguf_file *f, const bool *used);

const char *gguf_path(const gguf_file *f);
uint32_t gguf_version(const gguf_file *f);
uint64_t gguf_file_size(const gguf_file *f);
uint32_t gguf_alignment(const gguf_file *f);

/* --- metadata --- */
int64_t gguf_kv_count(const gguf_file *f);
int64_t gguf_find_key(const gguf_file *f, const char *key); /* -1 if absent */
const char *gguf_kv_key(const gguf_file *f, int64_t i);
gguf_value_type gguf_kv_type(const gguf_file *f, int64_t i);

/* Typed getters by key. They return false when the key is absent or its value
 * cannot be represented in the requested type (wrong kind, out of range); the
 * output is untouched then. Integer getters accept any integer value type
 * (and bool) whose value fits; float getters accept float32/float64 and
 * integers. */
bool gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
bool gguf_get_i32(const gguf_file *f, const char *key, int32_t *out);
bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out);
bool gguf_get_f32(const gguf_file *f, const char *key, float *out);
bool gguf_get_bool(const gguf_file *f, const char *key, bool *out);
/* NUL-terminated copy owned by the file; NULL if absent or not a string. */
const char *gguf_get_str(const gguf_file *f, const char *key);
/* Scalar value formatted as text (for `info`); false for arrays/absent. */
bool gguf_format_value(const gguf_file *f, int64_t i, char *buf, size_t buf_size);

/* Arrays: element type and count; false if absent or not an array. */
bool gguf_get_arr_info(const gguf_file *f, const char *key, gguf_value_type *elem_type, uint64_t *count);
/* Raw pointer to the elements of a numeric array (little-endian, packed,
 * possibly unaligned: read with memcpy). NULL if absent/not numeric. */
const void *gguf_get_arr_data(const gguf_file *f, const char *key);
/* Element i of a string array (not NUL-terminated); NULL if out of range. */
const char *gguf_get_arr_str(const gguf_file *f, const char *key, uint64_t i, uint64_t *len);
/* Numeric array element i converted to double/int64; false if not numeric or
 * out of range. */
bool gguf_get_arr_f64(const gguf_file *f, const char *key, uint64_t i, double *out);
bool gguf_get_arr_i64(const gguf_file *f, const char *key, uint64_t i, int64_t *out);

/* --- tensors --- */
int64_t gguf_tensor_count(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, int64_t i);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name); /* NULL if absent */

#endif /* TL_GGUF_H */
