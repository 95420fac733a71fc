/*
 * gguf_join.c — joining the parts of a split GGUF ("-00001-of-0000N", made by
 * llama.cpp's gguf-split) into one GGUF v3 file, as `gguf-split --merge`
 * does: the first part's metadata without the split.* keys, every part's
 * tensors in part order, each tensor's data at an offset aligned to the
 * file's alignment (general.alignment, else 32) and padded to it. The data
 * is streamed from the parts' mappings; nothing is held in memory.
 *
 * The parts are read with src/format (which validates them first); the raw
 * metadata values come from its in-memory form (format/gguf_internal.h) so
 * that every value is written back bit for bit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/gguf.h"
#include "format/gguf_internal.h"
#include "store/store_internal.h"
#include "util/error.h"

static tl_status put_u32(store_out *o, uint32_t v, tl_error *err) {
    return store_out_write(o, &v, sizeof v, err);
}

static tl_status put_u64(store_out *o, uint64_t v, tl_error *err) {
    return store_out_write(o, &v, sizeof v, err);
}

static tl_status put_string(store_out *o, const char *s, uint64_t len, tl_error *err) {
    TL_TRY(put_u64(o, len, err));
    return store_out_write(o, s, (size_t)len, err);
}

static bool is_split_key(const char *key) {
    return strncmp(key, "split.", 6) == 0;
}

/* One metadata entry, as GGUF v3 writes it. */
static tl_status put_kv(store_out *o, const gguf_file *f, const gguf_kv *kv, tl_error *err) {
    TL_TRY(put_string(o, kv->key, strlen(kv->key), err));
    TL_TRY(put_u32(o, (uint32_t)kv->type, err));
    if (kv->type == GGUF_TYPE_STRING) return put_string(o, kv->str, kv->str_len, err);
    if (kv->type != GGUF_TYPE_ARRAY) return store_out_write(o, kv->data, (size_t)gguf_value_size(kv->type), err);
    TL_TRY(put_u32(o, (uint32_t)kv->elem_type, err));
    TL_TRY(put_u64(o, kv->count, err));
    if (kv->elem_type != GGUF_TYPE_STRING)
        return store_out_write(o, kv->data, (size_t)(kv->count * gguf_value_size(kv->elem_type)), err);
    for (uint64_t i = 0; i < kv->count; i++) {
        uint64_t len = 0;
        const char *s = gguf_get_arr_str(f, kv->key, i, &len);
        TL_TRY(put_string(o, s, len, err));
    }
    return TL_OK;
}

static uint64_t align_up(uint64_t n, uint64_t alignment) {
    return (n + alignment - 1) / alignment * alignment;
}

/* Orders the opened parts by split.no and checks they are one whole split. */
static tl_status order_parts(gguf_file **opened, int n_parts, gguf_file **ordered, tl_error *err) {
    for (int i = 0; i < n_parts; i++) ordered[i] = NULL;
    for (int i = 0; i < n_parts; i++) {
        const gguf_file *f = opened[i];
        uint32_t no = 0, count = 0;
        if (!gguf_get_u32(f, "split.count", &count) || !gguf_get_u32(f, "split.no", &no))
            return tl_fail(err, TL_ERR_FORMAT, "%s: not a part of a split GGUF (no split.count/split.no)",
                           gguf_path(f));
        if (count != (uint32_t)n_parts)
            return tl_fail(err, TL_ERR_FORMAT, "%s: split.count is %u but %d parts were given", gguf_path(f), count,
                           n_parts);
        if (no >= count || ordered[no])
            return tl_fail(err, TL_ERR_FORMAT, "%s: split.no %u is out of range or given twice", gguf_path(f), no);
        if (gguf_version(f) < 2) return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: GGUF v1 cannot be joined", gguf_path(f));
        ordered[no] = opened[i];
    }
    uint64_t total = 0, expected = 0;
    for (int i = 0; i < n_parts; i++) total += (uint64_t)gguf_tensor_count(ordered[i]);
    if (gguf_get_u64(ordered[0], "split.tensors.count", &expected) && expected != total)
        return tl_fail(err, TL_ERR_FORMAT, "%s: split.tensors.count is %llu but the parts hold %llu tensors",
                       gguf_path(ordered[0]), (unsigned long long)expected, (unsigned long long)total);
    return TL_OK;
}

/* Header, metadata and tensor table of the joined file. */
static tl_status put_header(store_out *o, gguf_file *const *parts, int n_parts, uint32_t alignment, tl_error *err) {
    const gguf_file *first = parts[0];
    uint64_t n_tensors = 0, n_kv = 0;
    for (int i = 0; i < n_parts; i++) n_tensors += (uint64_t)gguf_tensor_count(parts[i]);
    for (int64_t k = 0; k < first->n_kv; k++) n_kv += !is_split_key(first->kvs[k].key);
    TL_TRY(store_out_write(o, "GGUF", 4, err));
    TL_TRY(put_u32(o, 3, err));
    TL_TRY(put_u64(o, n_tensors, err));
    TL_TRY(put_u64(o, n_kv, err));
    for (int64_t k = 0; k < first->n_kv; k++)
        if (!is_split_key(first->kvs[k].key)) TL_TRY(put_kv(o, first, &first->kvs[k], err));
    uint64_t offset = 0;
    for (int i = 0; i < n_parts; i++) {
        for (int64_t t = 0; t < gguf_tensor_count(parts[i]); t++) {
            const gguf_tensor *tensor = gguf_tensor_at(parts[i], t);
            TL_TRY(put_string(o, tensor->name, strlen(tensor->name), err));
            TL_TRY(put_u32(o, tensor->n_dims, err));
            for (uint32_t d = 0; d < tensor->n_dims; d++) TL_TRY(put_u64(o, (uint64_t)tensor->ne[d], err));
            TL_TRY(put_u32(o, tensor->type, err));
            TL_TRY(put_u64(o, offset, err));
            offset += align_up(tensor->n_bytes, alignment);
        }
    }
    return store_out_zeros(o, (size_t)(align_up(o->written, alignment) - o->written), err);
}

static tl_status put_data(store_out *o, gguf_file *const *parts, int n_parts, uint32_t alignment, tl_error *err) {
    for (int i = 0; i < n_parts; i++) {
        for (int64_t t = 0; t < gguf_tensor_count(parts[i]); t++) {
            const gguf_tensor *tensor = gguf_tensor_at(parts[i], t);
            const unsigned char *data = tensor->data;
            for (uint64_t done = 0; done < tensor->n_bytes;) {
                const uint64_t left = tensor->n_bytes - done;
                const size_t chunk = left < (1u << 20) ? (size_t)left : (1u << 20);
                TL_TRY(store_out_write(o, data + done, chunk, err));
                done += chunk;
            }
            TL_TRY(store_out_zeros(o, (size_t)(align_up(tensor->n_bytes, alignment) - tensor->n_bytes), err));
        }
    }
    return TL_OK;
}

tl_status store_join_split(const char *const *part_paths, int n_parts, const char *out_path, char hex[65],
                           int64_t *size, tl_error *err) {
    gguf_file **opened = calloc((size_t)n_parts, sizeof *opened);
    gguf_file **ordered = calloc((size_t)n_parts, sizeof *ordered);
    store_out o = {.path = out_path};
    tl_status st = opened && ordered ? TL_OK : tl_fail(err, TL_ERR_NOMEM, "out of memory");
    for (int i = 0; st == TL_OK && i < n_parts; i++) st = gguf_open(part_paths[i], &opened[i], err);
    if (st == TL_OK) st = order_parts(opened, n_parts, ordered, err);
    if (st == TL_OK && !(o.fp = fopen(out_path, "wb")))
        st = tl_fail(err, TL_ERR_IO, "%s: %s", out_path, strerror(errno));
    if (st == TL_OK && !(o.hash = tl_sha256_new())) st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    const uint32_t alignment = st == TL_OK ? gguf_alignment(ordered[0]) : GGUF_DEFAULT_ALIGNMENT;
    if (st == TL_OK) st = put_header(&o, ordered, n_parts, alignment, err);
    if (st == TL_OK) st = put_data(&o, ordered, n_parts, alignment, err);
    if (st == TL_OK && (fflush(o.fp) != 0 || fsync(fileno(o.fp)) != 0))
        st = tl_fail(err, TL_ERR_IO, "%s: %s", out_path, strerror(errno));
    if (o.fp && fclose(o.fp) != 0 && st == TL_OK) st = tl_fail(err, TL_ERR_IO, "%s: %s", out_path, strerror(errno));
    char discard[65];
    if (o.hash) tl_sha256_final(o.hash, st == TL_OK ? hex : discard);
    *size = (int64_t)o.written;
    for (int i = 0; opened && i < n_parts; i++) gguf_close(opened[i]);
    free(opened);
    free(ordered);
    /* The joined file is read back as any model would be. */
    gguf_file *check = NULL;
    if (st == TL_OK && (st = gguf_open(out_path, &check, err)) == TL_OK) gguf_close(check);
    if (st != TL_OK && o.fp) unlink(out_path);
    return st;
}
