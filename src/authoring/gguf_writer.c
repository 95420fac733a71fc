/*
 * gguf_writer.c — building a GGUF v3 file: metadata and tensors are collected
 * in memory (each tensor's data copied once), then written in one go:
 * header, key/value pairs, tensor infos, padding to the alignment, and each
 * tensor's data padded to the alignment. Zero tensors (for tests of huge
 * files) are not held at all: they are written as holes.
 *
 * The metadata setters cannot fail visibly (they return void); a problem
 * (out of memory, an empty key) is remembered and reported by
 * gguf_writer_write, which then writes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authoring/gguf_writer.h"
#include "tensor/types.h"
#include "util/error.h"
#include "util/buffer.h"

/* ggml (llama.cpp) refuses tensor names of 64 bytes or more; files written
 * here should load there too. */
#define GGUF_MAX_TENSOR_NAME 64

typedef struct writer_kv {
    char *key;
    gguf_value_type type;      /* GGUF_TYPE_ARRAY for arrays */
    gguf_value_type elem_type; /* arrays */
    uint64_t count;            /* arrays */
    uint8_t scalar[8];         /* numeric scalars, little-endian */
    void *bytes;               /* string scalar (without NUL) or packed numeric array */
    uint64_t n_bytes;
    char **strs; /* string arrays */
} writer_kv;

typedef struct writer_tensor {
    char *name;
    uint32_t type;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    uint64_t offset;
    uint64_t n_bytes;
    void *data;
} writer_tensor;

struct gguf_writer {
    writer_kv *kvs;
    size_t n_kv, kv_capacity;
    writer_tensor *tensors;
    size_t n_tensors, tensor_capacity;
    tl_status deferred_status; /* first setter failure, reported by write */
    char deferred_message[256];
};

gguf_writer *gguf_writer_new(void) {
    return calloc(1, sizeof(gguf_writer));
}

static void free_kv_value(writer_kv *kv) {
    free(kv->bytes);
    if (kv->strs) {
        for (uint64_t i = 0; i < kv->count; i++) free(kv->strs[i]);
        free(kv->strs);
    }
    kv->bytes = NULL;
    kv->strs = NULL;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free_kv_value(&w->kvs[i]);
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->kvs);
    free(w->tensors);
    free(w);
}

static void defer_error(gguf_writer *w, tl_status status, const char *what, const char *key) {
    if (w->deferred_status != TL_OK) return;
    w->deferred_status = status;
    snprintf(w->deferred_message, sizeof w->deferred_message, "%s (key '%.100s')", what, key ? key : "(null)");
}

/* The entry for key with its old value cleared (replacing keeps its
 * position), or a new one; NULL after recording an error. */
static writer_kv *slot_for(gguf_writer *w, const char *key) {
    if (!key || !*key) {
        defer_error(w, TL_ERR_ARGUMENT, "empty metadata key", key);
        return NULL;
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, key) == 0) {
            free_kv_value(&w->kvs[i]);
            return &w->kvs[i];
        }
    }
    writer_kv *p = tl_grow(w->kvs, &w->kv_capacity, w->n_kv + 1, sizeof *p, 16);
    if (!p) {
        defer_error(w, TL_ERR_NOMEM, "out of memory", key);
        return NULL;
    }
    w->kvs = p;
    writer_kv *kv = &w->kvs[w->n_kv];
    memset(kv, 0, sizeof *kv);
    if (!(kv->key = strdup(key))) {
        defer_error(w, TL_ERR_NOMEM, "out of memory", key);
        return NULL;
    }
    w->n_kv++;
    return kv;
}

static void set_scalar(gguf_writer *w, const char *key, gguf_value_type type, const void *v) {
    writer_kv *kv = slot_for(w, key);
    if (!kv) return;
    kv->type = type;
    kv->count = 0;
    memcpy(kv->scalar, v, gguf_value_size(type));
}

void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v) {
    set_scalar(w, key, GGUF_TYPE_UINT32, &v);
}
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v) {
    set_scalar(w, key, GGUF_TYPE_INT32, &v);
}
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v) {
    set_scalar(w, key, GGUF_TYPE_UINT64, &v);
}
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v) {
    set_scalar(w, key, GGUF_TYPE_FLOAT32, &v);
}
void gguf_writer_set_bool(gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    set_scalar(w, key, GGUF_TYPE_BOOL, &b);
}

void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v) {
    if (!v) {
        defer_error(w, TL_ERR_ARGUMENT, "NULL string value", key);
        return;
    }
    writer_kv *kv = slot_for(w, key);
    if (!kv) return;
    kv->type = GGUF_TYPE_STRING;
    kv->count = 0;
    kv->n_bytes = strlen(v);
    if (!(kv->bytes = malloc(kv->n_bytes ? kv->n_bytes : 1))) {
        defer_error(w, TL_ERR_NOMEM, "out of memory", key);
        return;
    }
    memcpy(kv->bytes, v, kv->n_bytes);
}

void gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_value_type elem_type, const void *data, uint64_t count) {
    uint64_t size = gguf_value_size(elem_type);
    if (size == 0) {
        defer_error(w, TL_ERR_ARGUMENT, "numeric array of a non-numeric element type", key);
        return;
    }
    if (count > SIZE_MAX / size || (count > 0 && !data)) {
        defer_error(w, TL_ERR_ARGUMENT, "bad array data or count", key);
        return;
    }
    writer_kv *kv = slot_for(w, key);
    if (!kv) return;
    kv->type = GGUF_TYPE_ARRAY;
    kv->elem_type = elem_type;
    kv->count = 0; /* stays 0 (nothing to free) until the copy exists */
    kv->n_bytes = count * size;
    if (!(kv->bytes = malloc(kv->n_bytes ? kv->n_bytes : 1))) {
        defer_error(w, TL_ERR_NOMEM, "out of memory", key);
        return;
    }
    if (count) memcpy(kv->bytes, data, kv->n_bytes);
    kv->count = count;
}

void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t count) {
    if (count > SIZE_MAX / sizeof(char *) || (count > 0 && !strs)) {
        defer_error(w, TL_ERR_ARGUMENT, "bad string array or count", key);
        return;
    }
    writer_kv *kv = slot_for(w, key);
    if (!kv) return;
    kv->type = GGUF_TYPE_ARRAY;
    kv->elem_type = GGUF_TYPE_STRING;
    kv->count = 0;
    if (!(kv->strs = calloc(count ? count : 1, sizeof *kv->strs))) {
        defer_error(w, TL_ERR_NOMEM, "out of memory", key);
        return;
    }
    kv->count = count; /* calloc'd: free_kv_value may free a partial copy */
    for (uint64_t i = 0; i < count; i++) {
        if (!(kv->strs[i] = strdup(strs[i] ? strs[i] : ""))) {
            defer_error(w, TL_ERR_NOMEM, "out of memory", key);
            return;
        }
    }
}

/* Adds a tensor with a copy of `data`, or, when `zeros`, one whose data is
 * all zeros and is written as a hole in the file. */
static tl_status add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                            const void *data, bool zeros, tl_error *err) {
    if (!name || !*name) return tl_fail(err, TL_ERR_ARGUMENT, "gguf writer: empty tensor name");
    if (strlen(name) >= GGUF_MAX_TENSOR_NAME) {
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "gguf writer: tensor name '%.80s...' is longer than %d bytes (ggml's limit)", name,
                       GGUF_MAX_TENSOR_NAME - 1);
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        if (strcmp(w->tensors[i].name, name) == 0) {
            return tl_fail(err, TL_ERR_ARGUMENT, "gguf writer: tensor '%s' added twice", name);
        }
    }
    const tl_type_traits *traits = tl_type_traits_of(type);
    if (!traits) {
        return tl_fail(err, TL_ERR_ARGUMENT, "gguf writer: tensor '%s' has unknown type id %" PRIu32, name, type);
    }
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS || !ne) {
        return tl_fail(err, TL_ERR_ARGUMENT, "gguf writer: tensor '%s' has %" PRIu32 " dimensions (must be 1 to %d)",
                       name, n_dims, GGUF_MAX_DIMS);
    }
    writer_tensor t = {.type = type, .n_dims = n_dims};
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 1) {
            return tl_fail(err, TL_ERR_ARGUMENT, "gguf writer: tensor '%s' dimension %" PRIu32 " is %" PRId64, name, d,
                           t.ne[d]);
        }
        if (n_elements > (uint64_t)INT64_MAX / (uint64_t)t.ne[d]) {
            return tl_fail(err, TL_ERR_ARGUMENT, "gguf writer: tensor '%s' is too large", name);
        }
        n_elements *= (uint64_t)t.ne[d];
    }
    if (t.ne[0] % traits->block_size != 0) {
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "gguf writer: tensor '%s' of type %s has rows of %" PRId64
                       " elements, not a multiple of the block size %" PRId64,
                       name, traits->name, t.ne[0], traits->block_size);
    }
    uint64_t n_blocks = n_elements / (uint64_t)traits->block_size;
    if (n_blocks > (zeros ? UINT64_MAX : SIZE_MAX) / traits->block_bytes) {
        return tl_fail(err, TL_ERR_ARGUMENT, "gguf writer: tensor '%s' is too large", name);
    }
    t.n_bytes = n_blocks * traits->block_bytes;
    if (!data && !zeros) return tl_fail(err, TL_ERR_ARGUMENT, "gguf writer: tensor '%s' has no data", name);

    writer_tensor *p = tl_grow(w->tensors, &w->tensor_capacity, w->n_tensors + 1, sizeof *p, 16);
    if (!p) return tl_fail(err, TL_ERR_NOMEM, "gguf writer: out of memory");
    w->tensors = p;
    t.name = strdup(name);
    t.data = zeros ? NULL : malloc((size_t)t.n_bytes);
    if (!t.name || (!zeros && !t.data)) {
        free(t.name);
        free(t.data);
        return tl_fail(err, TL_ERR_NOMEM, "gguf writer: out of memory copying tensor '%s' (%" PRIu64 " bytes)", name,
                       t.n_bytes);
    }
    if (!zeros) memcpy(t.data, data, (size_t)t.n_bytes);
    w->tensors[w->n_tensors++] = t;
    return TL_OK;
}

tl_status gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                                 const void *data, tl_error *err) {
    return add_tensor(w, name, type, n_dims, ne, data, false, err);
}

tl_status gguf_writer_add_zero_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                      const int64_t *ne, tl_error *err) {
    return add_tensor(w, name, type, n_dims, ne, NULL, true, err);
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

static bool put(FILE *fp, const void *p, size_t n) {
    return n == 0 || fwrite(p, 1, n, fp) == n;
}
static bool put_u32(FILE *fp, uint32_t v) {
    return put(fp, &v, 4);
}
static bool put_u64(FILE *fp, uint64_t v) {
    return put(fp, &v, 8);
}
static bool put_str(FILE *fp, const char *s, uint64_t len) {
    return put_u64(fp, len) && put(fp, s, (size_t)len);
}
/* Zero bytes from `pos` up to the next multiple of the alignment. */
static bool pad_to(FILE *fp, uint64_t pos, uint32_t alignment) {
    static const uint8_t zeros[256];
    uint64_t pad = (alignment - pos % alignment) % alignment;
    while (pad > 0) {
        uint64_t n = pad < sizeof zeros ? pad : sizeof zeros;
        if (!put(fp, zeros, (size_t)n)) return false;
        pad -= n;
    }
    return true;
}

static bool put_kv(FILE *fp, const writer_kv *kv, uint64_t *pos) {
    uint64_t key_len = strlen(kv->key);
    bool ok = put_str(fp, kv->key, key_len) && put_u32(fp, (uint32_t)kv->type);
    *pos += 8 + key_len + 4;
    if (kv->type == GGUF_TYPE_STRING) {
        ok = ok && put_str(fp, kv->bytes, kv->n_bytes);
        *pos += 8 + kv->n_bytes;
    } else if (kv->type != GGUF_TYPE_ARRAY) {
        ok = ok && put(fp, kv->scalar, (size_t)gguf_value_size(kv->type));
        *pos += gguf_value_size(kv->type);
    } else {
        ok = ok && put_u32(fp, (uint32_t)kv->elem_type) && put_u64(fp, kv->count);
        *pos += 4 + 8;
        if (kv->elem_type == GGUF_TYPE_STRING) {
            for (uint64_t i = 0; ok && i < kv->count; i++) {
                uint64_t len = strlen(kv->strs[i]);
                ok = put_str(fp, kv->strs[i], len);
                *pos += 8 + len;
            }
        } else {
            ok = ok && put(fp, kv->bytes, (size_t)kv->n_bytes);
            *pos += kv->n_bytes;
        }
    }
    return ok;
}

/* general.alignment if set (it must be a u32 power of two), else 32. */
static tl_status writer_alignment(const gguf_writer *w, uint32_t *alignment, tl_error *err) {
    *alignment = GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        const writer_kv *kv = &w->kvs[i];
        if (strcmp(kv->key, "general.alignment") != 0) continue;
        uint32_t a = 0;
        if (kv->type == GGUF_TYPE_UINT32) memcpy(&a, kv->scalar, 4);
        if (a == 0 || (a & (a - 1)) != 0) {
            return tl_fail(err, TL_ERR_ARGUMENT, "gguf writer: general.alignment must be a uint32 power of two");
        }
        *alignment = a;
    }
    return TL_OK;
}

tl_status gguf_writer_write(gguf_writer *w, const char *path, tl_error *err) {
    if (w->deferred_status != TL_OK) {
        return tl_fail(err, w->deferred_status, "%s: %s", path, w->deferred_message);
    }
    uint32_t alignment;
    tl_status st = writer_alignment(w, &alignment, err);
    if (st != TL_OK) return st;

    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        w->tensors[i].offset = offset;
        uint64_t padded = w->tensors[i].n_bytes + (alignment - w->tensors[i].n_bytes % alignment) % alignment;
        offset += padded;
    }

    FILE *fp = fopen(path, "wb");
    if (!fp) return tl_fail(err, TL_ERR_IO, "%s: cannot create: %s", path, strerror(errno));

    uint64_t pos = 4 + 4 + 8 + 8;
    bool ok = put(fp, "GGUF", 4) && put_u32(fp, 3) && put_u64(fp, w->n_tensors) && put_u64(fp, w->n_kv);
    for (size_t i = 0; ok && i < w->n_kv; i++) ok = put_kv(fp, &w->kvs[i], &pos);
    for (size_t i = 0; ok && i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensors[i];
        uint64_t name_len = strlen(t->name);
        ok = put_str(fp, t->name, name_len) && put_u32(fp, t->n_dims);
        for (uint32_t d = 0; ok && d < t->n_dims; d++) ok = put_u64(fp, (uint64_t)t->ne[d]);
        ok = ok && put_u32(fp, t->type) && put_u64(fp, t->offset);
        pos += 8 + name_len + 4 + 8ull * t->n_dims + 4 + 8;
    }
    ok = ok && pad_to(fp, pos, alignment);
    bool ends_in_hole = false;
    for (size_t i = 0; ok && i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensors[i];
        if (t->data) {
            ok = put(fp, t->data, (size_t)t->n_bytes) && pad_to(fp, t->n_bytes, alignment);
        } else { /* zeros: skip over them, leaving a hole */
            uint64_t padded = t->n_bytes + (alignment - t->n_bytes % alignment) % alignment;
            ok = padded <= (uint64_t)INT64_MAX && fseeko(fp, (off_t)padded, SEEK_CUR) == 0;
        }
        ends_in_hole = !t->data;
    }
    /* A hole at the end exists only once the file is extended over it. */
    if (ok && ends_in_hole) ok = fflush(fp) == 0 && ftruncate(fileno(fp), ftello(fp)) == 0;
    int saved_errno = errno;
    if (fclose(fp) != 0 && ok) {
        ok = false;
        saved_errno = errno;
    }
    if (!ok) {
        unlink(path);
        return tl_fail(err, TL_ERR_IO, "%s: write failed: %s", path, strerror(saved_errno));
    }
    return TL_OK;
}
