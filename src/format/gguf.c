/*
 * gguf.c — looking things up in an opened GGUF file: file properties,
 * metadata by key (typed getters that convert between integer widths when the
 * value fits), arrays, and tensors by name. Parsing and validation live in
 * gguf_reader.c; by the time these run every value has been checked.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format/gguf_internal.h"

const char *gguf_path(const gguf_file *f) {
    return f->path;
}
uint32_t gguf_version(const gguf_file *f) {
    return f->version;
}
uint64_t gguf_file_size(const gguf_file *f) {
    return f->size;
}
uint32_t gguf_alignment(const gguf_file *f) {
    return f->alignment;
}

int64_t gguf_kv_count(const gguf_file *f) {
    return f->n_kv;
}

int64_t gguf_find_key(const gguf_file *f, const char *key) {
    return gguf_name_index_find(&f->key_index, key);
}

const char *gguf_kv_key(const gguf_file *f, int64_t i) {
    return (i >= 0 && i < f->n_kv) ? f->kvs[i].key : NULL;
}

gguf_value_type gguf_kv_type(const gguf_file *f, int64_t i) {
    return (i >= 0 && i < f->n_kv) ? f->kvs[i].type : GGUF_TYPE_COUNT;
}

static const gguf_kv *find_kv(const gguf_file *f, const char *key) {
    int64_t i = gguf_find_key(f, key);
    return i >= 0 ? &f->kvs[i] : NULL;
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

uint64_t gguf_value_size(uint32_t type) {
    static const uint8_t sizes[GGUF_TYPE_COUNT] = {
        [GGUF_TYPE_UINT8] = 1,  [GGUF_TYPE_INT8] = 1,  [GGUF_TYPE_UINT16] = 2,  [GGUF_TYPE_INT16] = 2,
        [GGUF_TYPE_UINT32] = 4, [GGUF_TYPE_INT32] = 4, [GGUF_TYPE_FLOAT32] = 4, [GGUF_TYPE_BOOL] = 1,
        [GGUF_TYPE_UINT64] = 8, [GGUF_TYPE_INT64] = 8, [GGUF_TYPE_FLOAT64] = 8,
    };
    return type < GGUF_TYPE_COUNT ? sizes[type] : 0;
}

const char *gguf_value_type_name(uint32_t type) {
    static const char *const names[GGUF_TYPE_COUNT] = {
        "uint8", "int8",   "uint16", "int16",  "uint32", "int32",   "float32",
        "bool",  "string", "array",  "uint64", "int64",  "float64",
    };
    return type < GGUF_TYPE_COUNT ? names[type] : "unknown";
}

/* A numeric value of any GGUF type, widened without loss. */
typedef struct number {
    enum { NUMBER_UNSIGNED, NUMBER_SIGNED, NUMBER_FLOAT } kind;
    uint64_t u;
    int64_t i;
    double f;
} number;

/* Read one little-endian value of type t (possibly unaligned). False for
 * strings and arrays. */
static bool load_number(gguf_value_type t, const uint8_t *p, number *out) {
    union {
        uint8_t u8;
        int8_t i8;
        uint16_t u16;
        int16_t i16;
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        int64_t i64;
        float f32;
        double f64;
    } v;
    uint64_t size = gguf_value_size(t);
    if (size == 0) return false;
    memcpy(&v, p, size);
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_BOOL: out->u = v.u8; break;
    case GGUF_TYPE_UINT16: out->u = v.u16; break;
    case GGUF_TYPE_UINT32: out->u = v.u32; break;
    case GGUF_TYPE_UINT64: out->u = v.u64; break;
    case GGUF_TYPE_INT8: out->i = v.i8; break;
    case GGUF_TYPE_INT16: out->i = v.i16; break;
    case GGUF_TYPE_INT32: out->i = v.i32; break;
    case GGUF_TYPE_INT64: out->i = v.i64; break;
    case GGUF_TYPE_FLOAT32: out->f = v.f32; break;
    case GGUF_TYPE_FLOAT64: out->f = v.f64; break;
    default: return false;
    }
    bool is_signed = t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64;
    bool is_float = t == GGUF_TYPE_FLOAT32 || t == GGUF_TYPE_FLOAT64;
    out->kind = is_float ? NUMBER_FLOAT : is_signed ? NUMBER_SIGNED : NUMBER_UNSIGNED;
    return true;
}

/* The scalar number stored under key. */
static bool scalar_number(const gguf_file *f, const char *key, number *out) {
    const gguf_kv *kv = find_kv(f, key);
    return kv && kv->type != GGUF_TYPE_ARRAY && kv->data && load_number(kv->type, kv->data, out);
}

/* An integer (or bool) within [min, max]; floats never qualify. */
static bool number_as_int(const number *n, int64_t min, uint64_t max, int64_t *as_signed, uint64_t *as_unsigned) {
    if (n->kind == NUMBER_FLOAT) return false;
    if (n->kind == NUMBER_UNSIGNED) {
        if (n->u > max) return false;
        *as_unsigned = n->u;
        *as_signed = (int64_t)(n->u <= (uint64_t)INT64_MAX ? n->u : 0);
        return true;
    }
    if (n->i < min || (n->i > 0 && (uint64_t)n->i > max)) return false;
    *as_signed = n->i;
    *as_unsigned = (uint64_t)n->i;
    return true;
}

bool gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out) {
    number n;
    int64_t s;
    uint64_t u;
    if (!scalar_number(f, key, &n) || !number_as_int(&n, 0, UINT32_MAX, &s, &u)) return false;
    *out = (uint32_t)u;
    return true;
}

bool gguf_get_i32(const gguf_file *f, const char *key, int32_t *out) {
    number n;
    int64_t s;
    uint64_t u;
    if (!scalar_number(f, key, &n) || !number_as_int(&n, INT32_MIN, INT32_MAX, &s, &u)) {
        return false;
    }
    *out = (int32_t)s;
    return true;
}

bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out) {
    number n;
    int64_t s;
    uint64_t u;
    if (!scalar_number(f, key, &n) || !number_as_int(&n, 0, UINT64_MAX, &s, &u)) return false;
    *out = u;
    return true;
}

bool gguf_get_f32(const gguf_file *f, const char *key, float *out) {
    number n;
    if (!scalar_number(f, key, &n)) return false;
    if (n.kind == NUMBER_FLOAT) {
        if (isfinite(n.f) && fabs(n.f) > FLT_MAX) return false; /* a float64 beyond float range */
        *out = (float)n.f;
    } else if (n.kind == NUMBER_SIGNED) {
        *out = (float)n.i;
    } else {
        *out = (float)n.u;
    }
    return true;
}

/* Bools, and integers that are 0 or 1. */
bool gguf_get_bool(const gguf_file *f, const char *key, bool *out) {
    number n;
    int64_t s;
    uint64_t u;
    if (!scalar_number(f, key, &n) || !number_as_int(&n, 0, 1, &s, &u)) return false;
    *out = u != 0;
    return true;
}

const char *gguf_get_str(const gguf_file *f, const char *key) {
    const gguf_kv *kv = find_kv(f, key);
    return (kv && kv->type == GGUF_TYPE_STRING) ? kv->str : NULL;
}

/* The shortest decimal form that reads back as the same float32/float64. */
static void format_float(char *buf, size_t buf_size, double v, bool is_float32) {
    char tmp[64];
    int max_digits = is_float32 ? 9 : 17;
    for (int digits = 1; digits <= max_digits; digits++) {
        snprintf(tmp, sizeof tmp, "%.*g", digits, v);
        if (is_float32 ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v) break;
    }
    snprintf(buf, buf_size, "%s", tmp);
}

/* Scalars only; text that does not fit is cut short (still NUL-terminated). */
bool gguf_format_value(const gguf_file *f, int64_t i, char *buf, size_t buf_size) {
    if (i < 0 || i >= f->n_kv || !buf || buf_size == 0) return false;
    const gguf_kv *kv = &f->kvs[i];
    if (kv->type == GGUF_TYPE_ARRAY) return false;
    if (kv->type == GGUF_TYPE_STRING) {
        snprintf(buf, buf_size, "%s", kv->str);
        return true;
    }
    number n;
    if (!load_number(kv->type, kv->data, &n)) return false;
    if (kv->type == GGUF_TYPE_BOOL) {
        snprintf(buf, buf_size, "%s", n.u ? "true" : "false");
    } else if (n.kind == NUMBER_FLOAT) {
        format_float(buf, buf_size, n.f, kv->type == GGUF_TYPE_FLOAT32);
    } else if (n.kind == NUMBER_SIGNED) {
        snprintf(buf, buf_size, "%" PRId64, n.i);
    } else {
        snprintf(buf, buf_size, "%" PRIu64, n.u);
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Arrays                                                                   */
/* ------------------------------------------------------------------------ */

static const gguf_kv *find_array(const gguf_file *f, const char *key) {
    const gguf_kv *kv = find_kv(f, key);
    return (kv && kv->type == GGUF_TYPE_ARRAY) ? kv : NULL;
}

bool gguf_get_arr_info(const gguf_file *f, const char *key, gguf_value_type *elem_type, uint64_t *count) {
    const gguf_kv *kv = find_array(f, key);
    if (!kv) return false;
    if (elem_type) *elem_type = kv->elem_type;
    if (count) *count = kv->count;
    return true;
}

const void *gguf_get_arr_data(const gguf_file *f, const char *key) {
    const gguf_kv *kv = find_array(f, key);
    return (kv && kv->elem_type != GGUF_TYPE_STRING) ? kv->data : NULL;
}

const char *gguf_get_arr_str(const gguf_file *f, const char *key, uint64_t i, uint64_t *len) {
    const gguf_kv *kv = find_array(f, key);
    if (!kv || kv->elem_type != GGUF_TYPE_STRING || i >= kv->count) return NULL;
    const uint8_t *p = kv->str_base + kv->str_offsets[i];
    uint64_t n = 0;
    memcpy(&n, p, f->size_bytes); /* little-endian: a u32 fills the low bytes */
    if (len) *len = n;
    return (const char *)p + f->size_bytes;
}

static bool array_number(const gguf_file *f, const char *key, uint64_t i, number *out) {
    const gguf_kv *kv = find_array(f, key);
    if (!kv || i >= kv->count || !kv->data) return false;
    return load_number(kv->elem_type, kv->data + i * gguf_value_size(kv->elem_type), out);
}

bool gguf_get_arr_f64(const gguf_file *f, const char *key, uint64_t i, double *out) {
    number n;
    if (!array_number(f, key, i, &n)) return false;
    *out = n.kind == NUMBER_FLOAT ? n.f : n.kind == NUMBER_SIGNED ? (double)n.i : (double)n.u;
    return true;
}

bool gguf_get_arr_i64(const gguf_file *f, const char *key, uint64_t i, int64_t *out) {
    number n;
    int64_t s;
    uint64_t u;
    if (!array_number(f, key, i, &n) || !number_as_int(&n, INT64_MIN, INT64_MAX, &s, &u)) {
        return false;
    }
    *out = s;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Tensors                                                                  */
/* ------------------------------------------------------------------------ */

int64_t gguf_tensor_count(const gguf_file *f) {
    return f->n_tensors;
}

const gguf_tensor *gguf_tensor_at(const gguf_file *f, int64_t i) {
    return (i >= 0 && i < f->n_tensors) ? &f->tensors[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    int64_t i = gguf_name_index_find(&f->tensor_index, name);
    return i >= 0 ? &f->tensors[i] : NULL;
}

/* Faults in [start, end) of the mapping, widened to whole pages, in one
 * system call (what llama.cpp's MAP_POPULATE does, but for these bytes only). */
static void prefetch_range(const gguf_file *f, uint64_t start, uint64_t end) {
    static uint64_t page;
    if (!page) {
        long p = sysconf(_SC_PAGESIZE);
        page = p > 0 ? (uint64_t)p : 4096;
    }
    start -= start % page;
    if (end > f->size) end = f->size;
    if (end <= start) return;
    void *addr = (void *)(f->map + start);
    size_t len = (size_t)(end - start);
#if defined(MADV_POPULATE_READ)
    if (madvise(addr, len, MADV_POPULATE_READ) == 0) return;
#endif
    madvise(addr, len, MADV_WILLNEED);
}

/* Neighbouring used tensors (usually all of them, in file order) are
 * fetched as one range; a gap of unused data ends the range. Tensors that
 * would fill more than half of the machine's memory are left to be faulted
 * in as they are used, rather than pushing everything else out. */
void gguf_prefetch_tensors(const gguf_file *f, const bool *used) {
    uint64_t total = 0;
    for (int64_t i = 0; i < f->n_tensors; i++) total += used[i] ? f->tensors[i].n_bytes : 0;
    const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0 && total > (uint64_t)pages * (uint64_t)page_size / 2) return;
    uint64_t start = 0, end = 0;
    for (int64_t i = 0; i < f->n_tensors; i++) {
        if (!used[i]) continue;
        const uint64_t t_start = f->data_offset + f->tensors[i].offset;
        const uint64_t t_end = t_start + f->tensors[i].n_bytes;
        if (end > start && t_start >= start && t_start <= end + f->alignment) {
            if (t_end > end) end = t_end;
            continue;
        }
        if (end > start) prefetch_range(f, start, end);
        start = t_start;
        end = t_end;
    }
    if (end > start) prefetch_range(f, start, end);
}
