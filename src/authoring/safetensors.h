/*
 * safetensors.h — reading Hugging Face .safetensors files, for `tinyllm
 * convert`: map the file, parse and validate its JSON header, and give the
 * converter each tensor's name, dtype, shape and bytes.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON (an object:
 * "__metadata__" → {string: string}, and name → {"dtype", "shape",
 * "data_offsets": [begin, end]}), then the data; offsets are relative to the
 * end of the header. Validated as strictly as the GGUF reader: header
 * length capped and inside the file, JSON an object, known dtypes (only F32,
 * F16 and BF16 accepted), integer shapes whose element count times the
 * dtype's size is the tensor's byte length, offsets inside the data, the
 * tensors covering the data without overlap or hole (as the safetensors
 * library requires), no name twice. Errors name the file and the tensor.
 */
#ifndef TL_AUTHORING_SAFETENSORS_H
#define TL_AUTHORING_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

#define TL_ST_MAX_DIMS 8
/* Headers larger than this are refused (the safetensors library's cap). */
#define TL_ST_MAX_HEADER (100u * 1000u * 1000u)

typedef enum { TL_ST_F32, TL_ST_F16, TL_ST_BF16 } tl_st_dtype;

typedef struct tl_st_tensor {
    char *name;
    tl_st_dtype dtype;
    uint32_t n_dims;
    int64_t shape[TL_ST_MAX_DIMS]; /* outermost first, as PyTorch */
    int64_t n_elements;
    uint64_t n_bytes;
    const uint8_t *data; /* inside the mapping; not aligned */
} tl_st_tensor;

typedef struct tl_safetensors {
    char *path;
    void *map; /* NULL when parsing a caller's buffer */
    size_t map_size;
    tl_st_tensor *tensors; /* in file order */
    size_t n_tensors;
} tl_safetensors;

/* Maps and validates the file at `path`. */
tl_status tl_safetensors_open(const char *path, tl_safetensors **out, tl_error *err);
/* Validates a file already in memory (which must outlive the result);
 * `path` is only used in messages. For tests and the fuzz target. */
tl_status tl_safetensors_parse(const void *data, size_t size, const char *path, tl_safetensors **out, tl_error *err);
void tl_safetensors_close(tl_safetensors *st);
/* The tensor of that name, or NULL. */
const tl_st_tensor *tl_safetensors_find(const tl_safetensors *st, const char *name);
/* "F32", "F16", "BF16". */
const char *tl_st_dtype_name(tl_st_dtype dtype);
/* Converts the whole tensor (n_elements values) to float. */
void tl_st_to_float(const tl_st_tensor *t, float *dst);

#endif /* TL_AUTHORING_SAFETENSORS_H */
