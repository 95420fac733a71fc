/*
 * gguf_writer.h — building a GGUF v3 file (the format that
 * src/format/gguf.h reads): add metadata, add tensors, then write. Used by
 * `tinyllm synth`, the tests that build files by hand, and the commands that
 * will convert and quantize models.
 */
#ifndef TL_AUTHORING_GGUF_WRITER_H
#define TL_AUTHORING_GGUF_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "format/gguf.h"
#include "tinyllm.h"

typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);
/* Metadata; keys and strings are copied. Adding a key twice replaces it. */
void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
void gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
/* Arrays of numbers: `data` holds count packed elements of elem_type. */
void gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_value_type elem_type, const void *data, uint64_t count);
void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t count);
/* Tensors: `data` (n_bytes as the type and shape imply) is copied. */
tl_status gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                                 const void *data, tl_error *err);
/* A tensor whose data is all zeros, written as a hole in the file (no
 * memory, no disk): for tests of files that claim terabytes. */
tl_status gguf_writer_add_zero_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                      const int64_t *ne, tl_error *err);
tl_status gguf_writer_write(gguf_writer *w, const char *path, tl_error *err);

#endif /* TL_AUTHORING_GGUF_WRITER_H */
