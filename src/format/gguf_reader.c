/*
 * gguf_reader.c — opening a GGUF file: map it, parse the header, metadata and
 * tensor infos, and validate every field before anything uses it.
 *
 * Layout (all little-endian; "size" is u32 in v1 and u64 in v2/v3):
 *   magic "GGUF", u32 version, size n_tensors, size n_kv
 *   n_kv x  { string key, u32 type, value }
 *            string = size len + bytes; array = u32 elem_type, size count, elements
 *   n_tensors x { string name, u32 n_dims, n_dims x dim (u32 in v1, i64 after),
 *                 u32 type, u64 offset }
 *   padding to `general.alignment` (default 32), then the tensor data; each
 *   tensor offset is relative to the data section and a multiple of the
 *   alignment.
 *
 * Every read goes through a bounds-checked cursor, counts are checked against
 * the bytes left in the file before anything is allocated for them, and all
 * size arithmetic is overflow-checked, so a corrupted file fails with a
 * one-line message naming the field and never reads outside the mapping.
 * The GGUF_MAX_* limits (gguf.h) bound the counts, name lengths and the size
 * of the metadata section, so the time and memory of opening a file are
 * linear in its size and bounded, whatever its header claims; tensor data is
 * never read here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/gguf_internal.h"
#include "tensor/types.h"
#include "util/error.h"
#include "util/buffer.h"

/* A bounds-checked cursor over the mapping. `where` names what is being read,
 * for error messages ("metadata key 3 ('general.name')"). */
typedef struct reader {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
    uint32_t size_bytes; /* 4 in v1, 8 after */
    const char *path;
    tl_error *err;
    char where[160];
    char shown[100];         /* the current key or tensor name, printable, for messages */
    uint64_t metadata_limit; /* see take(); 0 = none */
} reader;

/* A copy of a name from the file that is safe to put in a one-line message:
 * control bytes become '?', long names are cut. */
static const char *printable(const char *name, char *buf, size_t size) {
    size_t n = 0;
    for (; name[n] && n + 1 < size; n++) {
        unsigned char c = (unsigned char)name[n];
        buf[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[n] = 0;
    return buf;
}

static uint64_t remaining(const reader *r) {
    return r->size - r->pos;
}

static tl_status truncated(reader *r, uint64_t need) {
    return tl_fail(r->err, TL_ERR_FORMAT,
                   "%s: truncated while reading %s (needs %" PRIu64 " bytes at offset %" PRIu64
                   ", the file has %" PRIu64 ")",
                   r->path, r->where, need, r->pos, r->size);
}

/* While metadata is read, the bytes it may span are capped (so that a
 * hostile header cannot make the copies and indexes of a huge metadata
 * section); 0 when not reading metadata. */
static tl_status metadata_too_large(reader *r, uint64_t n) {
    return tl_fail(r->err, TL_ERR_FORMAT,
                   "%s: %s: %" PRIu64 " bytes at offset %" PRIu64
                   " run past the %u MiB tinyllm accepts for the header and metadata",
                   r->path, r->where, n, r->pos, GGUF_MAX_METADATA_BYTES >> 20);
}

static bool past_metadata_limit(const reader *r, uint64_t n) {
    return r->metadata_limit && (r->pos > r->metadata_limit || n > r->metadata_limit - r->pos);
}

/* Hand out the next n bytes, or fail if the file ends first. */
static tl_status take(reader *r, uint64_t n, const uint8_t **out) {
    if (n > remaining(r)) return truncated(r, n);
    if (past_metadata_limit(r, n)) return metadata_too_large(r, n);
    *out = r->base + r->pos;
    r->pos += n;
    return TL_OK;
}

static tl_status read_u32(reader *r, uint32_t *out) {
    const uint8_t *p = NULL;
    tl_status st = take(r, 4, &p);
    if (st == TL_OK) memcpy(out, p, 4);
    return st;
}

static tl_status read_u64(reader *r, uint64_t *out) {
    const uint8_t *p = NULL;
    tl_status st = take(r, 8, &p);
    if (st == TL_OK) memcpy(out, p, 8);
    return st;
}

/* A length or count: u32 in GGUF v1, u64 in v2 and v3. */
static tl_status read_size(reader *r, uint64_t *out) {
    if (r->size_bytes == 8) return read_u64(r, out);
    uint32_t v = 0;
    tl_status st = read_u32(r, &v);
    *out = v;
    return st;
}

/* A length-prefixed string; *s points into the mapping (not NUL-terminated). */
static tl_status read_string(reader *r, const char **s, uint64_t *len) {
    TL_TRY(read_size(r, len));
    if (*len > remaining(r)) {
        return tl_fail(r->err, TL_ERR_FORMAT,
                       "%s: %s: string length %" PRIu64 " at offset %" PRIu64 " runs past the end of the file (%" PRIu64
                       " bytes)",
                       r->path, r->where, *len, r->pos - r->size_bytes, r->size);
    }
    if (past_metadata_limit(r, *len)) return metadata_too_large(r, *len);
    *s = (const char *)r->base + r->pos;
    r->pos += *len;
    return TL_OK;
}

/* Names (keys, tensor names) must be non-empty and free of NUL bytes, since
 * they are used as C strings. Returns a heap copy. */
static tl_status read_name(reader *r, const char *what, uint64_t max_len, char **out) {
    const char *s = NULL;
    uint64_t len = 0;
    TL_TRY(read_string(r, &s, &len));
    if (len > max_len) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: %s: %s of %" PRIu64 " bytes is longer than the %" PRIu64 " allowed",
                       r->path, r->where, what, len, max_len);
    }
    if (len == 0) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: %s: empty %s", r->path, r->where, what);
    }
    if (memchr(s, 0, len)) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: %s: %s contains a NUL byte", r->path, r->where, what);
    }
    *out = malloc(len + 1);
    if (!*out) {
        return tl_fail(r->err, TL_ERR_NOMEM, "%s: out of memory reading %s", r->path, r->where);
    }
    memcpy(*out, s, len);
    (*out)[len] = 0;
    return TL_OK;
}

/* ------------------------------------------------------------------------ */
/* Name index                                                               */
/* ------------------------------------------------------------------------ */

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static bool name_index_init(gguf_name_index *index, uint64_t capacity) {
    index->slots = calloc(capacity, sizeof *index->slots);
    index->mask = capacity - 1;
    index->used = 0;
    return index->slots != NULL;
}

/* Double the table when it is half full, so lookups stay short. */
static bool name_index_reserve(gguf_name_index *index) {
    if (index->slots && (index->used + 1) * 2 <= index->mask + 1) return true;
    gguf_name_index bigger;
    if (!name_index_init(&bigger, index->slots ? (index->mask + 1) * 2 : 16)) return false;
    for (uint64_t i = 0; index->slots && i <= index->mask; i++) {
        if (!index->slots[i].name) continue;
        uint64_t j = hash_name(index->slots[i].name) & bigger.mask;
        while (bigger.slots[j].name) j = (j + 1) & bigger.mask;
        bigger.slots[j] = index->slots[i];
    }
    bigger.used = index->used;
    free(index->slots);
    *index = bigger;
    return true;
}

/* Insert name -> pos; returns the earlier position if the name is already
 * there (and inserts nothing), else -1. The table must have room
 * (name_index_reserve). */
static int64_t name_index_insert(gguf_name_index *index, const char *name, int64_t pos) {
    uint64_t i = hash_name(name) & index->mask;
    while (index->slots[i].name) {
        if (strcmp(index->slots[i].name, name) == 0) return index->slots[i].pos;
        i = (i + 1) & index->mask;
    }
    index->slots[i].name = name;
    index->slots[i].pos = pos;
    index->used++;
    return -1;
}

int64_t gguf_name_index_find(const gguf_name_index *index, const char *name) {
    if (!index->slots || !name) return -1;
    uint64_t i = hash_name(name) & index->mask;
    while (index->slots[i].name) {
        if (strcmp(index->slots[i].name, name) == 0) return index->slots[i].pos;
        i = (i + 1) & index->mask;
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Metadata                                                                 */
/* ------------------------------------------------------------------------ */

/* A string array: validate every element in a first walk (so a bogus count
 * fails before anything is allocated for it), then record where each element
 * starts. */
static tl_status read_string_array(reader *r, gguf_kv *kv) {
    if (kv->count > GGUF_MAX_STRING_ARRAY) {
        return tl_fail(r->err, TL_ERR_FORMAT,
                       "%s: %s: array of %" PRIu64 " strings is more than the %u tinyllm accepts", r->path, r->where,
                       kv->count, GGUF_MAX_STRING_ARRAY);
    }
    if (kv->count > remaining(r) / r->size_bytes) {
        return tl_fail(r->err, TL_ERR_FORMAT,
                       "%s: %s: array of %" PRIu64 " strings cannot fit in the %" PRIu64 " bytes left in the file",
                       r->path, r->where, kv->count, remaining(r));
    }
    uint64_t start = r->pos;
    for (uint64_t i = 0; i < kv->count; i++) {
        const char *s = NULL;
        uint64_t len = 0;
        TL_TRY(read_string(r, &s, &len));
    }
    if (r->pos - start > UINT32_MAX) {
        return tl_fail(r->err, TL_ERR_UNSUPPORTED, "%s: %s: string arrays over 4 GiB are not supported", r->path,
                       r->where);
    }
    kv->str_base = r->base + start;
    if (kv->count == 0) return TL_OK;
    kv->str_offsets = malloc(kv->count * sizeof *kv->str_offsets);
    if (!kv->str_offsets) {
        return tl_fail(r->err, TL_ERR_NOMEM, "%s: out of memory reading %s", r->path, r->where);
    }
    uint64_t pos = 0;
    for (uint64_t i = 0; i < kv->count; i++) {
        kv->str_offsets[i] = (uint32_t)pos;
        uint64_t len = 0;
        memcpy(&len, kv->str_base + pos, r->size_bytes); /* little-endian: the low bytes */
        pos += r->size_bytes + len;
    }
    return TL_OK;
}

/* Bools are stored as one byte that must be 0 or 1. */
static tl_status check_bools(reader *r, const uint8_t *p, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        if (p[i] > 1) {
            return tl_fail(r->err, TL_ERR_FORMAT, "%s: %s: bool value %u is neither 0 nor 1", r->path, r->where, p[i]);
        }
    }
    return TL_OK;
}

static tl_status read_value(reader *r, gguf_kv *kv) {
    tl_status st;
    if (kv->type == GGUF_TYPE_STRING) {
        const char *s = NULL;
        st = read_string(r, &s, &kv->str_len);
        if (st != TL_OK) return st;
        kv->str = malloc(kv->str_len + 1);
        if (!kv->str) {
            return tl_fail(r->err, TL_ERR_NOMEM, "%s: out of memory reading %s", r->path, r->where);
        }
        memcpy(kv->str, s, kv->str_len);
        kv->str[kv->str_len] = 0;
        return TL_OK;
    }
    if (kv->type != GGUF_TYPE_ARRAY) {
        uint64_t size = gguf_value_size(kv->type);
        st = take(r, size, &kv->data);
        if (st == TL_OK && kv->type == GGUF_TYPE_BOOL) st = check_bools(r, kv->data, 1);
        return st;
    }

    uint32_t elem_type = 0;
    TL_TRY(read_u32(r, &elem_type));
    if (elem_type >= GGUF_TYPE_COUNT) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: %s: unknown array element type id %" PRIu32, r->path, r->where,
                       elem_type);
    }
    if (elem_type == GGUF_TYPE_ARRAY) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: %s: arrays of arrays are not supported", r->path, r->where);
    }
    kv->elem_type = (gguf_value_type)elem_type;
    TL_TRY(read_size(r, &kv->count));
    if (kv->elem_type == GGUF_TYPE_STRING) return read_string_array(r, kv);

    uint64_t elem_size = gguf_value_size(kv->elem_type);
    if (kv->count > remaining(r) / elem_size) {
        return tl_fail(r->err, TL_ERR_FORMAT,
                       "%s: %s: array of %" PRIu64 " %s values runs past the end of the file (%" PRIu64 " bytes left)",
                       r->path, r->where, kv->count, gguf_value_type_name(elem_type), remaining(r));
    }
    st = take(r, kv->count * elem_size, &kv->data);
    if (st == TL_OK && kv->elem_type == GGUF_TYPE_BOOL) st = check_bools(r, kv->data, kv->count);
    return st;
}

static tl_status read_kv(reader *r, gguf_file *f, int64_t i) {
    gguf_kv *kv = &f->kvs[i];
    snprintf(r->where, sizeof r->where, "metadata key %" PRId64, i);
    TL_TRY(read_name(r, "key", GGUF_MAX_KEY_LEN, &kv->key));
    f->n_kv = i + 1; /* from here on gguf_close frees this entry */
    printable(kv->key, r->shown, sizeof r->shown);
    snprintf(r->where, sizeof r->where, "metadata key %" PRId64 " ('%s')", i, r->shown);

    int64_t earlier = name_index_insert(&f->key_index, kv->key, i);
    if (earlier >= 0) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: duplicate metadata key '%s' (entries %" PRId64 " and %" PRId64 ")",
                       r->path, r->shown, earlier, i);
    }
    uint32_t type = 0;
    TL_TRY(read_u32(r, &type));
    if (type >= GGUF_TYPE_COUNT) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: %s: unknown value type id %" PRIu32, r->path, r->where, type);
    }
    kv->type = (gguf_value_type)type;
    return read_value(r, kv);
}

/* general.alignment, when present, must be a u32 power of two. */
static tl_status read_alignment(reader *r, gguf_file *f) {
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t i = gguf_name_index_find(&f->key_index, "general.alignment");
    if (i < 0) return TL_OK;
    const gguf_kv *kv = &f->kvs[i];
    if (kv->type != GGUF_TYPE_UINT32) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: general.alignment is a %s, expected uint32", r->path,
                       gguf_value_type_name(kv->type));
    }
    uint32_t a;
    memcpy(&a, kv->data, 4);
    if (a == 0 || (a & (a - 1)) != 0) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: general.alignment is %" PRIu32 ", not a non-zero power of two",
                       r->path, a);
    }
    f->alignment = a;
    return TL_OK;
}

/* ------------------------------------------------------------------------ */
/* Tensor infos                                                             */
/* ------------------------------------------------------------------------ */

static tl_status read_tensor_shape(reader *r, gguf_tensor *t) {
    tl_status st;
    TL_TRY(read_u32(r, &t->n_dims));
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: tensor '%s' has %" PRIu32 " dimensions (must be 1 to %d)", r->path,
                       r->shown, t->n_dims, GGUF_MAX_DIMS);
    }
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t dim = 1;
        if (d < t->n_dims) {
            if (r->size_bytes == 8) {
                st = read_u64(r, &dim);
            } else {
                uint32_t dim32 = 0;
                st = read_u32(r, &dim32);
                dim = dim32;
            }
            if (st != TL_OK) return st;
        }
        if (dim > (uint64_t)INT64_MAX) {
            int64_t as_signed = -(int64_t)(UINT64_MAX - dim) - 1; /* two's complement */
            return tl_fail(r->err, TL_ERR_FORMAT, "%s: tensor '%s' dimension %" PRIu32 " is negative (%" PRId64 ")",
                           r->path, r->shown, d, as_signed);
        }
        if (dim == 0) {
            return tl_fail(r->err, TL_ERR_FORMAT, "%s: tensor '%s' dimension %" PRIu32 " is 0", r->path, r->shown, d);
        }
        t->ne[d] = (int64_t)dim;
        if (n_elements > (uint64_t)INT64_MAX / dim) {
            return tl_fail(r->err, TL_ERR_FORMAT,
                           "%s: tensor '%s' has too many elements (the product of its dimensions"
                           " overflows 64 bits)",
                           r->path, r->shown);
        }
        n_elements *= dim;
    }
    t->n_elements = n_elements;
    return TL_OK;
}

static tl_status read_tensor_info(reader *r, gguf_file *f, int64_t i) {
    gguf_tensor *t = &f->tensors[i];
    snprintf(r->where, sizeof r->where, "tensor info %" PRId64, i);
    char *name = NULL;
    TL_TRY(read_name(r, "tensor name", GGUF_MAX_TENSOR_NAME_LEN, &name));
    t->name = name;
    f->n_tensors = i + 1; /* from here on gguf_close frees this entry */
    printable(name, r->shown, sizeof r->shown);
    snprintf(r->where, sizeof r->where, "tensor info %" PRId64 " ('%s')", i, r->shown);

    int64_t earlier = name_index_insert(&f->tensor_index, name, i);
    if (earlier >= 0) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: duplicate tensor name '%s' (tensors %" PRId64 " and %" PRId64 ")",
                       r->path, r->shown, earlier, i);
    }
    TL_TRY(read_tensor_shape(r, t));
    TL_TRY(read_u32(r, &t->type));

    const tl_type_traits *traits = tl_type_traits_of(t->type);
    if (!traits) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: tensor '%s' has unknown type id %" PRIu32, r->path, r->shown,
                       t->type);
    }
    /* Rows need not be whole blocks (see stories260K-v2-q8_0.gguf), but the
     * tensor as a whole must be. */
    uint64_t block_size = (uint64_t)traits->block_size;
    if (t->n_elements % block_size != 0) {
        return tl_fail(r->err, TL_ERR_FORMAT,
                       "%s: tensor '%s' of type %s has %" PRIu64 " elements, not a multiple of the block size %" PRIu64,
                       r->path, r->shown, traits->name, t->n_elements, block_size);
    }
    uint64_t n_blocks = t->n_elements / block_size;
    if (n_blocks > UINT64_MAX / traits->block_bytes) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: tensor '%s' byte size overflows 64 bits", r->path, r->shown);
    }
    t->n_bytes = n_blocks * traits->block_bytes;

    TL_TRY(read_u64(r, &t->offset));
    if (t->offset % f->alignment != 0) {
        return tl_fail(r->err, TL_ERR_FORMAT,
                       "%s: tensor '%s' offset %" PRIu64 " is not a multiple of the alignment %" PRIu32, r->path,
                       r->shown, t->offset, f->alignment);
    }
    return TL_OK;
}

static int compare_tensor_offsets(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Place the data section, check each tensor lies inside the file and that no
 * two tensors share bytes, and point `data` into the mapping. */
static tl_status place_tensor_data(reader *r, gguf_file *f) {
    uint64_t pad = (f->alignment - r->pos % f->alignment) % f->alignment;
    f->data_offset = r->pos + pad;
    if (f->n_tensors == 0) return TL_OK; /* vocab-only files may end before the padding */

    for (int64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        if (f->data_offset > f->size || t->offset > f->size - f->data_offset ||
            t->n_bytes > f->size - f->data_offset - t->offset) {
            return tl_fail(r->err, TL_ERR_FORMAT,
                           "%s: tensor '%s' data (offset %" PRIu64 ", %" PRIu64
                           " bytes) runs past the end of the file (%" PRIu64 " bytes)",
                           r->path, printable(t->name, r->shown, sizeof r->shown), t->offset, t->n_bytes, f->size);
        }
        t->data = f->map + f->data_offset + t->offset;
    }

    gguf_tensor **sorted = malloc((size_t)f->n_tensors * sizeof *sorted);
    if (!sorted) return tl_fail(r->err, TL_ERR_NOMEM, "%s: out of memory", r->path);
    for (int64_t i = 0; i < f->n_tensors; i++) sorted[i] = &f->tensors[i];
    qsort(sorted, (size_t)f->n_tensors, sizeof *sorted, compare_tensor_offsets);
    tl_status st = TL_OK;
    for (int64_t i = 1; i < f->n_tensors && st == TL_OK; i++) {
        const gguf_tensor *a = sorted[i - 1], *b = sorted[i];
        if (a->offset + a->n_bytes > b->offset) {
            char other[100];
            st = tl_fail(r->err, TL_ERR_FORMAT,
                         "%s: tensors '%s' (offset %" PRIu64 ", %" PRIu64 " bytes) and '%s' (offset %" PRIu64
                         ") overlap",
                         r->path, printable(a->name, r->shown, sizeof r->shown), a->offset, a->n_bytes,
                         printable(b->name, other, sizeof other), b->offset);
        }
    }
    free(sorted);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Whole file                                                               */
/* ------------------------------------------------------------------------ */

/* Smallest encodings, used to reject counts no file of this size could hold
 * before allocating anything for them. */
static uint64_t min_kv_bytes(uint32_t size_bytes) {
    return size_bytes + 1 + 4 + 1;
}
static uint64_t min_tensor_info_bytes(uint32_t size_bytes) {
    return size_bytes + 1 + 4 + (size_bytes == 8 ? 8 : 4) + 4 + 8;
}

static uint32_t little_endian_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The formats llama.cpp wrote before GGUF (August 2023) begin with a u32
 * magic, little-endian, so the bytes read "lmgg", "fmgg", "tjgg"; all but
 * unversioned GGML follow it with a u32 version. Such a file gets an error
 * that says what it is and how to convert it, not just "bad magic". */
static tl_status bad_magic(const reader *r) {
    static const struct {
        uint32_t magic;
        const char *name;
        bool versioned;
    } legacy[] = {
        {0x67676d6c, "GGML", false}, /* 'ggml' */
        {0x67676d66, "GGMF", true},  /* 'ggmf' */
        {0x67676a74, "GGJT", true},  /* 'ggjt' v1..v3 */
    };
    const uint32_t magic = r->size >= 4 ? little_endian_u32(r->base) : 0;
    for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++) {
        if (magic != legacy[i].magic) continue;
        char version[24] = "";
        if (legacy[i].versioned && r->size >= 8)
            snprintf(version, sizeof version, " v%" PRIu32, little_endian_u32(r->base + 4));
        return tl_fail(r->err, TL_ERR_FORMAT,
                       "%s: legacy %s%s file (pre-GGUF llama.cpp format); convert it to GGUF with "
                       "'tinyllm convert --from ggml %s OUT.gguf'",
                       r->path, legacy[i].name, version, r->path);
    }
    return tl_fail(r->err, TL_ERR_FORMAT, "%s: not a GGUF file (bad magic)", r->path);
}

static tl_status parse_header(reader *r, gguf_file *f, uint64_t *n_tensors, uint64_t *n_kv) {
    snprintf(r->where, sizeof r->where, "the header");
    if (r->size < 4 || memcmp(r->base, "GGUF", 4) != 0) return bad_magic(r);
    r->pos = 4;
    TL_TRY(read_u32(r, &f->version));
    if (f->version < 1 || f->version > 3) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: unsupported GGUF version %" PRIu32, r->path, f->version);
    }
    f->size_bytes = r->size_bytes = f->version == 1 ? 4 : 8;
    TL_TRY(read_size(r, n_tensors));
    TL_TRY(read_size(r, n_kv));
    if (*n_kv > GGUF_MAX_KV) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: metadata count %" PRIu64 " is more than the %u tinyllm accepts",
                       r->path, *n_kv, GGUF_MAX_KV);
    }
    if (*n_tensors > GGUF_MAX_TENSORS) {
        return tl_fail(r->err, TL_ERR_FORMAT, "%s: tensor count %" PRIu64 " is more than the %u tinyllm accepts",
                       r->path, *n_tensors, GGUF_MAX_TENSORS);
    }
    if (*n_kv > remaining(r) / min_kv_bytes(r->size_bytes)) {
        return tl_fail(r->err, TL_ERR_FORMAT,
                       "%s: metadata count %" PRIu64 " is impossible for a file of %" PRIu64 " bytes", r->path, *n_kv,
                       r->size);
    }
    if (*n_tensors > remaining(r) / min_tensor_info_bytes(r->size_bytes)) {
        return tl_fail(r->err, TL_ERR_FORMAT,
                       "%s: tensor count %" PRIu64 " is impossible for a file of %" PRIu64 " bytes", r->path,
                       *n_tensors, r->size);
    }
    return TL_OK;
}

/* Make room for `need` zeroed entries, doubling; returns the (possibly moved)
 * array, or NULL (the old one still valid) when out of memory. Arrays grow as
 * entries are actually parsed, so a corrupted count runs into the end of the
 * file long before it can cause a large allocation. */
static void *grow_array(void *array, uint64_t *capacity, uint64_t need, size_t elem_size) {
    if (need <= *capacity) return array;
    if (need != (size_t)need) return NULL;
    size_t new_capacity = (size_t)*capacity;
    char *p = tl_grow(array, &new_capacity, (size_t)need, elem_size, 16);
    if (!p) return NULL;
    memset(p + *capacity * elem_size, 0, (new_capacity - *capacity) * elem_size);
    *capacity = new_capacity;
    return p;
}

static tl_status parse(reader *r, gguf_file *f) {
    uint64_t n_tensors = 0, n_kv = 0;
    TL_TRY(parse_header(r, f, &n_tensors, &n_kv));

    uint64_t kv_capacity = 0, tensor_capacity = 0;
    r->metadata_limit = GGUF_MAX_METADATA_BYTES;
    for (uint64_t i = 0; i < n_kv; i++) {
        gguf_kv *kvs = grow_array(f->kvs, &kv_capacity, i + 1, sizeof *f->kvs);
        if (!kvs || !name_index_reserve(&f->key_index)) {
            return tl_fail(r->err, TL_ERR_NOMEM, "%s: out of memory", r->path);
        }
        f->kvs = kvs;
        TL_TRY(read_kv(r, f, (int64_t)i));
    }
    r->metadata_limit = 0;
    TL_TRY(read_alignment(r, f));
    for (uint64_t i = 0; i < n_tensors; i++) {
        gguf_tensor *tensors = grow_array(f->tensors, &tensor_capacity, i + 1, sizeof *f->tensors);
        if (!tensors || !name_index_reserve(&f->tensor_index)) {
            return tl_fail(r->err, TL_ERR_NOMEM, "%s: out of memory", r->path);
        }
        f->tensors = tensors;
        TL_TRY(read_tensor_info(r, f, (int64_t)i));
    }
    return place_tensor_data(r, f);
}

/* Map the whole file read-only. Empty files are reported here, since they
 * cannot be mapped. */
static tl_status map_file(const char *path, gguf_file *f, tl_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tl_fail(err, TL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return tl_fail(err, TL_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return tl_fail(err, TL_ERR_IO, "%s: is a directory, not a GGUF file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tl_fail(err, TL_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return tl_fail(err, TL_ERR_FORMAT, "%s: not a GGUF file (the file is empty)", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return tl_fail(err, TL_ERR_IO, "%s: too large to map", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return tl_fail(err, TL_ERR_IO, "%s: cannot map: %s", path, strerror(e));
    f->map = map;
    f->size = (uint64_t)st.st_size;
    return TL_OK;
}

tl_status gguf_open(const char *path, gguf_file **out, tl_error *err) {
    *out = NULL;
    gguf_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", path);
    }
    tl_status st = map_file(path, f, err);
    if (st == TL_OK) {
        reader r = {.base = f->map, .size = f->size, .path = path, .err = err, .size_bytes = 4};
        st = parse(&r, f);
    }
    if (st != TL_OK) {
        gguf_close(f);
        return st;
    }
    *out = f;
    return TL_OK;
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    for (int64_t i = 0; i < f->n_kv; i++) {
        free(f->kvs[i].key);
        free(f->kvs[i].str);
        free(f->kvs[i].str_offsets);
    }
    for (int64_t i = 0; i < f->n_tensors; i++) free((char *)f->tensors[i].name);
    free(f->kvs);
    free(f->tensors);
    free(f->key_index.slots);
    free(f->tensor_index.slots);
    if (f->map) munmap((void *)f->map, (size_t)f->size);
    free(f->path);
    free(f);
}
