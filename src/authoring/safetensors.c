/*
 * safetensors.c — mapping and validating a .safetensors file (see
 * safetensors.h). Nothing of the header is trusted: the length is checked
 * against the file and the cap before the JSON is parsed, every number is
 * checked to be a non-negative integer that a double holds exactly, and all
 * size arithmetic is overflow-checked, so a corrupted file fails with a
 * one-line message and never reads outside the mapping.
 */
#include "authoring/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor/types.h"
#include "util/error.h"

/* Largest integer a double holds exactly; JSON numbers beyond it are
 * refused rather than rounded. */
#define MAX_EXACT_INTEGER 9007199254740992.0

/* dtypes of the safetensors format that tinyllm does not convert, named so
 * the message can say "unsupported" rather than "unknown". */
static const char *const other_dtypes[] = {"F64", "I64",  "I32",     "I16",     "I8",      "U64",     "U32",     "U16",
                                           "U8",  "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4"};

const char *tl_st_dtype_name(tl_st_dtype dtype) {
    return dtype == TL_ST_F32 ? "F32" : dtype == TL_ST_F16 ? "F16" : "BF16";
}

static size_t dtype_size(tl_st_dtype dtype) {
    return dtype == TL_ST_F32 ? 4 : 2;
}

/* A name safe to put in a one-line message: control bytes become '?', long
 * names are cut. */
static const char *printable(const char *name, char *buf, size_t size) {
    size_t n = 0;
    for (; name[n] && n + 1 < size; n++) {
        unsigned char c = (unsigned char)name[n];
        buf[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[n] = 0;
    return buf;
}

/* A JSON number that is an integer in [0, 2^53]. */
static int as_count(const cJSON *item, uint64_t *out) {
    if (!cJSON_IsNumber(item)) return 0;
    const double v = item->valuedouble;
    if (!(v >= 0.0 && v <= MAX_EXACT_INTEGER) || v != (double)(uint64_t)v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static int compare_names(const void *a, const void *b) {
    return strcmp((*(const tl_st_tensor *const *)a)->name, (*(const tl_st_tensor *const *)b)->name);
}

static int compare_offsets(const void *a, const void *b) {
    const tl_st_tensor *x = *(const tl_st_tensor *const *)a, *y = *(const tl_st_tensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data ? 1 : (x->n_bytes < y->n_bytes ? -1 : x->n_bytes > y->n_bytes);
}

/* Fills t from one header entry; data is the start of the data section of
 * data_size bytes. */
static tl_status parse_entry(const cJSON *entry, const uint8_t *data, uint64_t data_size, const char *path,
                             tl_st_tensor *t, tl_error *err) {
    char shown[100];
    printable(t->name, shown, sizeof shown);
    if (!cJSON_IsObject(entry))
        return tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s': header entry is not an object", path, shown);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    if (!cJSON_IsString(dtype)) return tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s': no \"dtype\" string", path, shown);
    if (strcmp(dtype->valuestring, "F32") == 0) {
        t->dtype = TL_ST_F32;
    } else if (strcmp(dtype->valuestring, "F16") == 0) {
        t->dtype = TL_ST_F16;
    } else if (strcmp(dtype->valuestring, "BF16") == 0) {
        t->dtype = TL_ST_BF16;
    } else {
        char dt[40];
        printable(dtype->valuestring, dt, sizeof dt);
        for (size_t i = 0; i < sizeof other_dtypes / sizeof other_dtypes[0]; i++)
            if (strcmp(dtype->valuestring, other_dtypes[i]) == 0)
                return tl_fail(err, TL_ERR_UNSUPPORTED,
                               "%s: tensor '%s': dtype %s is not supported (F32, F16 and BF16 are)", path, shown, dt);
        return tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%s'", path, shown, dt);
    }
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    if (!cJSON_IsArray(shape)) return tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s': no \"shape\" array", path, shown);
    const int n_dims = cJSON_GetArraySize(shape);
    if (n_dims > TL_ST_MAX_DIMS)
        return tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s': %d dimensions (at most %d)", path, shown, n_dims,
                       TL_ST_MAX_DIMS);
    t->n_dims = (uint32_t)n_dims;
    uint64_t n_elements = 1;
    int i = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, i++) {
        uint64_t d;
        if (!as_count(dim, &d) || d > (uint64_t)INT64_MAX)
            return tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s': dimension %d is not a non-negative integer", path,
                           shown, i);
        if (d && n_elements > UINT64_MAX / d / 4)
            return tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s': element count overflows", path, shown);
        n_elements *= d;
        t->shape[i] = (int64_t)d;
    }
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    uint64_t begin, end;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 || !as_count(offsets->child, &begin) ||
        !as_count(offsets->child->next, &end))
        return tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" is not [begin, end]", path, shown);
    if (begin > end || end > data_size)
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] outside the %" PRIu64 " bytes of data",
                       path, shown, begin, end, data_size);
    const uint64_t want = n_elements * dtype_size(t->dtype);
    if (end - begin != want)
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: tensor '%s': %" PRIu64 " bytes of data, its shape and dtype need %" PRIu64, path, shown,
                       end - begin, want);
    t->n_elements = (int64_t)n_elements;
    t->n_bytes = want;
    t->data = data + begin;
    return TL_OK;
}

/* The checks on the whole: every name once, the data covered exactly. */
static tl_status check_layout(tl_safetensors *st, const uint8_t *data, uint64_t data_size, tl_error *err) {
    if (st->n_tensors == 0) return data_size == 0 ? TL_OK : tl_fail(err, TL_ERR_FORMAT, "%s: no tensors", st->path);
    const tl_st_tensor **order = malloc(st->n_tensors * sizeof *order);
    if (!order) return tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", st->path);
    for (size_t i = 0; i < st->n_tensors; i++) order[i] = &st->tensors[i];
    tl_status status = TL_OK;
    char shown[100];
    qsort(order, st->n_tensors, sizeof *order, compare_names);
    for (size_t i = 1; i < st->n_tensors && status == TL_OK; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0)
            status = tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s' appears twice", st->path,
                             printable(order[i]->name, shown, sizeof shown));
    qsort(order, st->n_tensors, sizeof *order, compare_offsets);
    const uint8_t *expected = data;
    for (size_t i = 0; i < st->n_tensors && status == TL_OK; i++) {
        if (order[i]->data < expected)
            status = tl_fail(err, TL_ERR_FORMAT, "%s: tensor '%s': its data overlaps another tensor's", st->path,
                             printable(order[i]->name, shown, sizeof shown));
        else if (order[i]->data > expected)
            status =
                tl_fail(err, TL_ERR_FORMAT,
                        "%s: tensor '%s': a hole of %zu bytes before its data (tensors must cover the data)", st->path,
                        printable(order[i]->name, shown, sizeof shown), (size_t)(order[i]->data - expected));
        else
            expected = order[i]->data + order[i]->n_bytes;
    }
    if (status == TL_OK && (uint64_t)(expected - data) != data_size)
        status = tl_fail(err, TL_ERR_FORMAT, "%s: %" PRIu64 " bytes after the last tensor's data", st->path,
                         data_size - (uint64_t)(expected - data));
    free(order);
    return status;
}

static tl_status parse_header(tl_safetensors *st, const uint8_t *base, size_t size, tl_error *err) {
    if (size < 8)
        return tl_fail(err, TL_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors header", st->path, size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | base[i];
    if (header_len > TL_ST_MAX_HEADER)
        return tl_fail(err, TL_ERR_FORMAT, "%s: header of %" PRIu64 " bytes (at most %u)", st->path, header_len,
                       TL_ST_MAX_HEADER);
    if (header_len > size - 8)
        return tl_fail(err, TL_ERR_FORMAT, "%s: header of %" PRIu64 " bytes but the file has %zu after its length",
                       st->path, header_len, size - 8);
    if (header_len < 2 || base[8] != '{')
        return tl_fail(err, TL_ERR_FORMAT, "%s: the header is not a JSON object", st->path);
    cJSON *json = cJSON_ParseWithLength((const char *)base + 8, (size_t)header_len);
    if (!json || !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return tl_fail(err, TL_ERR_FORMAT, "%s: the header is not valid JSON", st->path);
    }
    const uint8_t *data = base + 8 + header_len;
    const uint64_t data_size = size - 8 - header_len;
    const int n_items = cJSON_GetArraySize(json);
    st->tensors = calloc(n_items ? (size_t)n_items : 1, sizeof *st->tensors);
    tl_status status = st->tensors ? TL_OK : tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", st->path);
    for (const cJSON *item = json->child; item && status == TL_OK; item = item->next) {
        char shown[100];
        if (strcmp(item->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(item)) {
                status = tl_fail(err, TL_ERR_FORMAT, "%s: __metadata__ is not an object", st->path);
                break;
            }
            for (const cJSON *m = item->child; m; m = m->next)
                if (!cJSON_IsString(m)) {
                    status = tl_fail(err, TL_ERR_FORMAT, "%s: __metadata__ '%s' is not a string", st->path,
                                     printable(m->string, shown, sizeof shown));
                    break;
                }
            continue;
        }
        if (item->string[0] == '\0') {
            status = tl_fail(err, TL_ERR_FORMAT, "%s: a tensor with an empty name", st->path);
            break;
        }
        tl_st_tensor *t = &st->tensors[st->n_tensors];
        if (!(t->name = strdup(item->string))) {
            status = tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", st->path);
            break;
        }
        st->n_tensors++;
        status = parse_entry(item, data, data_size, st->path, t, err);
    }
    cJSON_Delete(json);
    return status == TL_OK ? check_layout(st, data, data_size, err) : status;
}

tl_status tl_safetensors_parse(const void *data, size_t size, const char *path, tl_safetensors **out, tl_error *err) {
    *out = NULL;
    tl_safetensors *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", path);
    }
    const tl_status status = parse_header(st, data, size, err);
    if (status != TL_OK) {
        tl_safetensors_close(st);
        return status;
    }
    *out = st;
    return TL_OK;
}

tl_status tl_safetensors_open(const char *path, tl_safetensors **out, tl_error *err) {
    *out = NULL;
    const int fd = open(path, O_RDONLY);
    if (fd < 0) return tl_fail(err, TL_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return tl_fail(err, TL_ERR_IO, "%s: not a regular file", path);
    }
    const size_t size = (size_t)sb.st_size;
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (size && map == MAP_FAILED) return tl_fail(err, TL_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
    static const uint8_t empty[1];
    const tl_status status = tl_safetensors_parse(size ? map : empty, size, path, out, err);
    if (status != TL_OK) {
        if (size) munmap(map, size);
        return status;
    }
    (*out)->map = size ? map : NULL;
    (*out)->map_size = size;
    return TL_OK;
}

void tl_safetensors_close(tl_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    if (st->map) munmap(st->map, st->map_size);
    free(st->path);
    free(st);
}

const tl_st_tensor *tl_safetensors_find(const tl_safetensors *st, const char *name) {
    for (size_t i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

void tl_st_to_float(const tl_st_tensor *t, float *dst) {
    const uint8_t *p = t->data;
    for (int64_t i = 0; i < t->n_elements; i++) {
        if (t->dtype == TL_ST_F32) {
            uint32_t bits = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                            (uint32_t)p[4 * i + 3] << 24;
            memcpy(&dst[i], &bits, 4);
        } else {
            const uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            dst[i] = t->dtype == TL_ST_F16 ? tl_fp16_to_fp32(h) : tl_bf16_to_fp32(h);
        }
    }
}
