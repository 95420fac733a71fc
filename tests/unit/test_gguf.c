/*
 * test_gguf.c — the GGUF reader and writer: the real model files (v1, v2, v3),
 * a writer round trip, every scalar type and getter conversion, and a suite
 * of corrupted files (truncations, bad magic/version/counts/lengths/types/
 * shapes/offsets, duplicates) that must each fail with a clear message that
 * names the file, and never crash.
 */
#include "test_support.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authoring/gguf_writer.h"
#include "format/gguf.h"
#include "tensor/types.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static gguf_file *open_ok(const char *path) {
    gguf_file *f = NULL;
    tl_error err = {0};
    tl_status st = gguf_open(path, &f, &err);
    if (st != TL_OK) fail_msg("gguf_open(%s) failed: %s", path, err.message);
    assert_non_null(f);
    return f;
}

/* gguf_open must fail with `want`, a message "PATH: ..." containing `needle`
 * (if given), and leave *out NULL. `what` describes the case for failures. */
static void expect_open_fails(const char *path, tl_status want, const char *needle, const char *what) {
    gguf_file *f = (gguf_file *)&f; /* must be reset to NULL */
    tl_error err;
    memset(&err, 0, sizeof err);
    tl_status st = gguf_open(path, &f, &err);
    size_t path_len = strlen(path);
    bool good = st == want && f == NULL && strncmp(err.message, path, path_len) == 0 && err.message[path_len] == ':' &&
                strlen(err.message) > path_len + 2 && !strchr(err.message, '\n') &&
                (!needle || strstr(err.message, needle));
    if (!good) {
        if (st == TL_OK && f) gguf_close(f);
        fail_msg("%s: status %d (want %d), message '%s' (want it to contain '%s')", what, st, want, err.message,
                 needle ? needle : "");
    }
}

static void put_u32_at(uint8_t *p, size_t at, uint32_t v) {
    memcpy(p + at, &v, 4);
}
static void put_u64_at(uint8_t *p, size_t at, uint64_t v) {
    memcpy(p + at, &v, 8);
}
static uint64_t get_u64_at(const uint8_t *p, size_t at) {
    uint64_t v;
    memcpy(&v, p + at, 8);
    return v;
}

/* A growing byte buffer for hand-made files. `version` picks the width of
 * lengths and counts (32-bit in v1). */
typedef struct raw {
    uint8_t *p;
    size_t len, cap;
    uint32_t version;
} raw;

static void raw_bytes(raw *r, const void *p, size_t n) {
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2 + 64;
        r->p = realloc(r->p, r->cap);
        assert_non_null(r->p);
    }
    memcpy(r->p + r->len, p, n);
    r->len += n;
}
static void raw_u32(raw *r, uint32_t v) {
    raw_bytes(r, &v, 4);
}
static void raw_u64(raw *r, uint64_t v) {
    raw_bytes(r, &v, 8);
}
static void raw_size(raw *r, uint64_t v) {
    if (r->version == 1) {
        raw_u32(r, (uint32_t)v);
    } else {
        raw_u64(r, v);
    }
}
static void raw_str(raw *r, const char *s) {
    raw_size(r, strlen(s));
    raw_bytes(r, s, strlen(s));
}
static void raw_header(raw *r, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    r->version = version;
    raw_bytes(r, "GGUF", 4);
    raw_u32(r, version);
    raw_size(r, n_tensors);
    raw_size(r, n_kv);
}
static void raw_kv(raw *r, const char *key, gguf_value_type type, const void *v, size_t n) {
    raw_str(r, key);
    raw_u32(r, type);
    raw_bytes(r, v, n);
}
static void raw_pad(raw *r, size_t alignment) {
    static const uint8_t zero[64];
    while (r->len % alignment) raw_bytes(r, zero, 1);
}

static const char *write_tmp(const char *name, const void *data, size_t len) {
    const char *path = tl_test_tmp_path(name);
    assert_true(tl_test_write_file(path, data, len));
    return path;
}

/* Where each field of a valid file sits, found by walking it, so tests can
 * corrupt one field at a time. */
#define MAP_MAX 64
typedef struct field_map {
    size_t size_bytes; /* width of lengths/counts */
    size_t n_tensors_at, n_kv_at;
    size_t n_kv, n_tensors;
    struct {
        char key[96];
        size_t key_len_at, type_at, value_at; /* arrays: value_at = element type */
    } kv[MAP_MAX];
    struct {
        char name[96];
        size_t name_len_at, n_dims_at, dims_at, type_at, offset_at;
    } t[MAP_MAX];
} field_map;

static uint64_t map_read_size(const uint8_t *p, size_t *pos, size_t size_bytes) {
    uint64_t v = 0;
    memcpy(&v, p + *pos, size_bytes);
    *pos += size_bytes;
    return v;
}

static size_t value_size(uint32_t type) {
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    assert_true(type < 13);
    return sizes[type];
}

static void map_fields(const uint8_t *p, size_t len, field_map *m) {
    memset(m, 0, sizeof *m);
    uint32_t version;
    memcpy(&version, p + 4, 4);
    m->size_bytes = version == 1 ? 4 : 8;
    size_t pos = 8;
    m->n_tensors_at = pos;
    m->n_tensors = map_read_size(p, &pos, m->size_bytes);
    m->n_kv_at = pos;
    m->n_kv = map_read_size(p, &pos, m->size_bytes);
    assert_true(m->n_kv <= MAP_MAX && m->n_tensors <= MAP_MAX);
    for (size_t i = 0; i < m->n_kv; i++) {
        m->kv[i].key_len_at = pos;
        uint64_t n = map_read_size(p, &pos, m->size_bytes);
        snprintf(m->kv[i].key, sizeof m->kv[i].key, "%.*s", (int)n, (const char *)p + pos);
        pos += n;
        m->kv[i].type_at = pos;
        uint32_t type;
        memcpy(&type, p + pos, 4);
        pos += 4;
        m->kv[i].value_at = pos;
        uint64_t count = 1;
        if (type == GGUF_TYPE_ARRAY) {
            memcpy(&type, p + pos, 4);
            pos += 4;
            count = map_read_size(p, &pos, m->size_bytes);
        }
        for (uint64_t j = 0; j < count; j++) {
            if (type == GGUF_TYPE_STRING) {
                pos += map_read_size(p, &pos, m->size_bytes);
            } else {
                pos += value_size(type);
            }
        }
        assert_true(pos <= len);
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        m->t[i].name_len_at = pos;
        uint64_t n = map_read_size(p, &pos, m->size_bytes);
        snprintf(m->t[i].name, sizeof m->t[i].name, "%.*s", (int)n, (const char *)p + pos);
        pos += n;
        m->t[i].n_dims_at = pos;
        uint32_t n_dims;
        memcpy(&n_dims, p + pos, 4);
        pos += 4;
        m->t[i].dims_at = pos;
        pos += n_dims * m->size_bytes;
        m->t[i].type_at = pos;
        pos += 4;
        m->t[i].offset_at = pos;
        pos += 8;
        assert_true(pos <= len);
    }
}

static size_t map_kv(const field_map *m, const char *key) {
    for (size_t i = 0; i < m->n_kv; i++) {
        if (strcmp(m->kv[i].key, key) == 0) return i;
    }
    fail_msg("no key %s in the map", key);
    return 0;
}

static size_t map_tensor(const field_map *m, const char *name) {
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (strcmp(m->t[i].name, name) == 0) return i;
    }
    fail_msg("no tensor %s in the map", name);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Real files                                                               */
/* ------------------------------------------------------------------------ */

static void check_stories_vocab(const gguf_file *f) {
    gguf_value_type elem;
    uint64_t count;
    assert_true(gguf_get_arr_info(f, "tokenizer.ggml.tokens", &elem, &count));
    assert_int_equal(elem, GGUF_TYPE_STRING);
    assert_int_equal(count, 512);
    uint64_t len;
    const char *s = gguf_get_arr_str(f, "tokenizer.ggml.tokens", 1, &len);
    assert_non_null(s);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "<s>", 3);
    s = gguf_get_arr_str(f, "tokenizer.ggml.tokens", 300, &len);
    assert_int_equal(len, strlen("\xe2\x96\x81ha"));
    assert_memory_equal(s, "\xe2\x96\x81ha", len);
    assert_null(gguf_get_arr_str(f, "tokenizer.ggml.tokens", 512, &len));
    double score;
    assert_true(gguf_get_arr_f64(f, "tokenizer.ggml.scores", 300, &score));
    assert_true(score == -41.0);
    int64_t type;
    assert_true(gguf_get_arr_i64(f, "tokenizer.ggml.token_type", 1, &type));
    assert_int_equal(type, 3);
    assert_true(gguf_get_arr_i64(f, "tokenizer.ggml.token_type", 10, &type));
    assert_int_equal(type, 6);
}

static void check_stories_hparams(const gguf_file *f) {
    uint32_t u;
    assert_true(gguf_get_u32(f, "llama.embedding_length", &u));
    assert_int_equal(u, 64);
    assert_true(gguf_get_u32(f, "llama.block_count", &u));
    assert_int_equal(u, 5);
    assert_true(gguf_get_u32(f, "llama.attention.head_count_kv", &u));
    assert_int_equal(u, 4);
    float eps;
    assert_true(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &eps));
    assert_true(eps == 1e-5f);
    assert_string_equal(gguf_get_str(f, "general.architecture"), "llama");
    assert_string_equal(gguf_get_str(f, "tokenizer.ggml.model"), "llama");
}

static void test_reads_stories260K_v3(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K.gguf")) skip();
    const char *path = tl_test_shared_path("models/stories260K.gguf");
    gguf_file *f = open_ok(path);
    assert_string_equal(gguf_path(f), path);
    assert_int_equal(gguf_version(f), 3);
    assert_int_equal(gguf_file_size(f), 1185376);
    assert_int_equal(gguf_alignment(f), 32);
    assert_int_equal(gguf_kv_count(f), 19);
    assert_int_equal(gguf_tensor_count(f), 48);
    check_stories_hparams(f);
    check_stories_vocab(f);

    /* 0xFFFFFFFF stored as uint32: fits u32 and u64, not i32. */
    uint32_t u = 7;
    int32_t i = 7;
    uint64_t u64 = 7;
    assert_true(gguf_get_u32(f, "tokenizer.ggml.padding_token_id", &u));
    assert_int_equal(u, UINT32_MAX);
    assert_false(gguf_get_i32(f, "tokenizer.ggml.padding_token_id", &i));
    assert_int_equal(i, 7);
    assert_true(gguf_get_u64(f, "tokenizer.ggml.padding_token_id", &u64));
    assert_int_equal(u64, UINT32_MAX);
    assert_true(gguf_get_i32(f, "tokenizer.ggml.bos_token_id", &i));
    assert_int_equal(i, 1);

    int64_t k = gguf_find_key(f, "llama.context_length");
    assert_true(k >= 0);
    assert_string_equal(gguf_kv_key(f, k), "llama.context_length");
    assert_int_equal(gguf_kv_type(f, k), GGUF_TYPE_UINT32);
    assert_int_equal(gguf_find_key(f, "llama.no_such_key"), -1);
    assert_null(gguf_kv_key(f, 19));
    assert_null(gguf_kv_key(f, -1));

    const gguf_tensor *t = gguf_find_tensor(f, "output_norm.weight");
    assert_non_null(t);
    assert_string_equal(t->name, "output_norm.weight");
    assert_int_equal(t->type, TL_TYPE_F32);
    assert_int_equal(t->n_dims, 1);
    assert_int_equal(t->ne[0], 64);
    assert_int_equal(t->ne[1], 1);
    assert_int_equal(t->n_elements, 64);
    assert_int_equal(t->n_bytes, 256);
    assert_true(t->offset % 32 == 0);
    assert_true((uintptr_t)t->data % 32 == 0);
    float w0;
    memcpy(&w0, t->data, 4);
    assert_true(isfinite(w0) && w0 != 0.0f);

    t = gguf_find_tensor(f, "token_embd.weight");
    assert_non_null(t);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->ne[0], 64);
    assert_int_equal(t->ne[1], 512);
    assert_ptr_equal(gguf_tensor_at(f, 0), t);
    assert_null(gguf_tensor_at(f, 48));
    assert_null(gguf_find_tensor(f, "output_norm"));

    /* Every tensor can be found by its own name. */
    for (int64_t j = 0; j < gguf_tensor_count(f); j++) {
        assert_ptr_equal(gguf_find_tensor(f, gguf_tensor_at(f, j)->name), gguf_tensor_at(f, j));
    }
    gguf_close(f);
}

/* The v1 file holds the same weights and vocabulary as the v3 one. */
static void test_reads_stories260K_v1_same_as_v3(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K-v1-f32.gguf") || !tl_test_have_shared("models/stories260K.gguf")) {
        skip();
    }
    gguf_file *v1 = open_ok(tl_test_shared_path("models/stories260K-v1-f32.gguf"));
    gguf_file *v3 = open_ok(tl_test_shared_path("models/stories260K.gguf"));
    assert_int_equal(gguf_version(v1), 1);
    assert_int_equal(gguf_kv_count(v1), 18);
    assert_int_equal(gguf_tensor_count(v1), 48);
    check_stories_hparams(v1);
    check_stories_vocab(v1);
    assert_string_equal(gguf_get_str(v1, "general.name"), "tinyllamas-stories-260k");

    for (uint64_t i = 0; i < 512; i++) {
        uint64_t len1, len3;
        const char *s1 = gguf_get_arr_str(v1, "tokenizer.ggml.tokens", i, &len1);
        const char *s3 = gguf_get_arr_str(v3, "tokenizer.ggml.tokens", i, &len3);
        assert_non_null(s1);
        assert_int_equal(len1, len3);
        assert_memory_equal(s1, s3, len1);
    }
    for (int64_t i = 0; i < gguf_tensor_count(v1); i++) {
        const gguf_tensor *a = gguf_tensor_at(v1, i);
        const gguf_tensor *b = gguf_find_tensor(v3, a->name);
        if (!b) continue; /* names may differ between converters */
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->n_dims, b->n_dims);
        assert_memory_equal(a->ne, b->ne, sizeof a->ne);
        assert_int_equal(a->n_bytes, b->n_bytes);
        assert_memory_equal(a->data, b->data, a->n_bytes);
    }
    assert_non_null(gguf_find_tensor(v1, "blk.4.ffn_down.weight"));
    gguf_close(v1);
    gguf_close(v3);
}

/* Q8_0 tensors whose rows (172) are not whole blocks, though the tensor is. */
static void test_reads_stories260K_v2_q8_0(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K-v2-q8_0.gguf")) skip();
    gguf_file *f = open_ok(tl_test_shared_path("models/stories260K-v2-q8_0.gguf"));
    assert_int_equal(gguf_version(f), 2);
    assert_int_equal(gguf_kv_count(f), 20);
    assert_int_equal(gguf_tensor_count(f), 48);
    check_stories_hparams(f);
    check_stories_vocab(f);
    uint32_t file_type;
    assert_true(gguf_get_u32(f, "general.file_type", &file_type));
    assert_int_equal(file_type, 7);

    const gguf_tensor *t = gguf_find_tensor(f, "blk.0.ffn_down.weight");
    assert_non_null(t);
    assert_int_equal(t->type, TL_TYPE_Q8_0);
    assert_int_equal(t->ne[0], 172);
    assert_int_equal(t->ne[1], 64);
    assert_int_equal(t->n_elements, 172 * 64);
    assert_int_equal(t->n_bytes, 172 * 64 / 32 * 34);
    t = gguf_find_tensor(f, "token_embd.weight");
    assert_int_equal(t->type, TL_TYPE_Q8_0);
    assert_int_equal(t->n_bytes, 64 * 512 / 32 * 34);
    gguf_close(f);
}

static void test_reads_llama2_tiny_random(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/llama2-tiny-random.gguf")) skip();
    gguf_file *f = open_ok(tl_test_shared_path("models/llama2-tiny-random.gguf"));
    assert_int_equal(gguf_version(f), 3);
    assert_int_equal(gguf_kv_count(f), 18);
    assert_int_equal(gguf_tensor_count(f), 12);
    assert_string_equal(gguf_get_str(f, "general.name"), "LLaMA v2");
    uint32_t n_embd;
    assert_true(gguf_get_u32(f, "llama.embedding_length", &n_embd));
    assert_int_equal(n_embd, 8);
    uint64_t count, len;
    assert_true(gguf_get_arr_info(f, "tokenizer.ggml.tokens", NULL, &count));
    assert_int_equal(count, 32000);
    const char *s = gguf_get_arr_str(f, "tokenizer.ggml.tokens", 13, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "<0x0A>", 6);
    s = gguf_get_arr_str(f, "tokenizer.ggml.tokens", 31999, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "\xe7\xbb\x99", 3); /* the last token is a CJK character */
    const float *scores = gguf_get_arr_data(f, "tokenizer.ggml.scores");
    assert_non_null(scores);
    float score;
    memcpy(&score, (const char *)scores + 1000 * 4, 4);
    assert_true(score == -741.0f);

    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    assert_int_equal(t->type, TL_TYPE_F16);
    assert_int_equal(t->ne[0], 8);
    assert_int_equal(t->ne[1], 32000);
    assert_int_equal(t->n_bytes, 8 * 32000 * 2);
    t = gguf_find_tensor(f, "blk.0.ffn_norm.weight");
    assert_int_equal(t->type, TL_TYPE_F32);
    assert_int_equal(t->n_bytes, 32);
    gguf_close(f);
}

/* A vocab-only file with 128k tokens and 280k merges opens quickly. */
static void test_reads_large_vocab_quickly(void **state) {
    (void)state;
    const char *rel = "tokenizers/llama.cpp-vocab/ggml-vocab-llama-bpe.gguf";
    if (!tl_test_have_shared(rel)) skip();
    double best_ms = 1e9;
    for (int round = 0; round < 3; round++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        gguf_file *f = open_ok(tl_test_shared_path(rel));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms < best_ms) best_ms = ms;
        assert_int_equal(gguf_tensor_count(f), 0);
        uint64_t count, len;
        assert_true(gguf_get_arr_info(f, "tokenizer.ggml.tokens", NULL, &count));
        assert_int_equal(count, 128256);
        assert_true(gguf_get_arr_info(f, "tokenizer.ggml.merges", NULL, &count));
        assert_int_equal(count, 280147);
        const char *s = gguf_get_arr_str(f, "tokenizer.ggml.tokens", 128000, &len);
        assert_int_equal(len, strlen("<|begin_of_text|>"));
        assert_memory_equal(s, "<|begin_of_text|>", len);
        s = gguf_get_arr_str(f, "tokenizer.ggml.merges", 0, &len);
        assert_int_equal(len, 5);
        assert_memory_equal(s, "\xc4\xa0 \xc4\xa0", 5);
        assert_string_equal(gguf_get_str(f, "tokenizer.ggml.pre"), "llama-bpe");
        gguf_close(f);
    }
    /* Generous bound (sanitizers, loaded CI machines); typically a few ms. */
    print_message("  opened ggml-vocab-llama-bpe.gguf in %.2f ms\n", best_ms);
    assert_true(best_ms < 500.0 * tl_test_time_scale());
}

/* Writes r's bytes followed by zeros up to `size` (a sparse file), and
 * expects gguf_open to refuse it with `needle` within a second. */
static void expect_sparse_fails(raw *r, uint64_t size, const char *needle, const char *what) {
    const char *path = tl_test_tmp_path("hostile.gguf");
    assert_true(tl_test_write_sparse(path, r->p, r->len, size));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect_open_fails(path, TL_ERR_FORMAT, needle, what);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (ms > 1000) fail_msg("%s: refused only after %.0f ms", what, ms);
    remove(path);
    free(r->p);
    memset(r, 0, sizeof *r);
}

/* Headers that are consistent with the size of the file but claim more
 * than any real model has: counts, name lengths, string-array lengths and
 * metadata bytes are capped (GGUF_MAX_*), so opening them stays bounded. */
static void test_hostile_counts_and_sizes_are_refused(void **state) {
    (void)state;
    raw r = {0};
    raw_header(&r, 3, 0, GGUF_MAX_KV + 1);
    expect_sparse_fails(&r, 64ull * GGUF_MAX_KV, "metadata count 65537 is more than the 65536", "too many keys");
    raw_header(&r, 3, GGUF_MAX_TENSORS + 1, 0);
    expect_sparse_fails(&r, 64ull * GGUF_MAX_TENSORS, "tensor count 65537 is more than the 65536", "too many tensors");

    raw_header(&r, 3, 0, 1);
    raw_size(&r, GGUF_MAX_KEY_LEN + 1);
    expect_sparse_fails(&r, 1u << 20, "key of 65536 bytes is longer than the 65535 allowed", "long key");

    raw_header(&r, 3, 1, 0);
    raw_size(&r, GGUF_MAX_TENSOR_NAME_LEN + 1);
    expect_sparse_fails(&r, 1u << 20, "tensor name of 257 bytes is longer than the 256 allowed", "long tensor name");

    /* 2^24 + 1 empty strings: 128 MiB of zeros */
    raw_header(&r, 3, 0, 1);
    raw_str(&r, "tokenizer.ggml.merges");
    raw_u32(&r, GGUF_TYPE_ARRAY);
    raw_u32(&r, GGUF_TYPE_STRING);
    raw_u64(&r, GGUF_MAX_STRING_ARRAY + 1ull);
    expect_sparse_fails(&r, 8ull * (GGUF_MAX_STRING_ARRAY + 2ull),
                        "'tokenizer.ggml.merges'): array of 16777217 strings is more than", "long string array");

    /* 300 MiB of metadata: one string, one numeric array */
    const uint64_t big = 300ull << 20;
    raw_header(&r, 3, 0, 1);
    raw_str(&r, "tokenizer.chat_template");
    raw_u32(&r, GGUF_TYPE_STRING);
    raw_u64(&r, big);
    expect_sparse_fails(&r, big + 4096, "'tokenizer.chat_template'): 314572800 bytes at offset", "huge string");
    raw_header(&r, 3, 0, 2);
    raw_str(&r, "general.name");
    raw_u32(&r, GGUF_TYPE_STRING);
    raw_str(&r, "hostile");
    raw_str(&r, "tokenizer.ggml.scores");
    raw_u32(&r, GGUF_TYPE_ARRAY);
    raw_u32(&r, GGUF_TYPE_UINT8);
    raw_u64(&r, big);
    expect_sparse_fails(&r, big + 4096, "the 256 MiB tinyllm accepts for the header and metadata",
                        "huge numeric array");
}

static void test_open_rejects_missing_directory_and_empty(void **state) {
    (void)state;
    expect_open_fails("/nonexistent/dir/model.gguf", TL_ERR_IO, "cannot open", "nonexistent path");
    const char *dir = tl_test_tmp_path("gguf-dir");
    mkdir(dir, 0777);
    expect_open_fails(dir, TL_ERR_IO, "directory", "directory");
    rmdir(dir);
    const char *empty = write_tmp("gguf-empty.gguf", "", 0);
    expect_open_fails(empty, TL_ERR_FORMAT, "empty", "empty file");
    const char *tiny = write_tmp("gguf-tiny.gguf", "GG", 2);
    expect_open_fails(tiny, TL_ERR_FORMAT, "bad magic", "2-byte file");
    const char *magic_only = write_tmp("gguf-magic.gguf", "GGUF", 4);
    expect_open_fails(magic_only, TL_ERR_FORMAT, "truncated", "magic only");
    unlink(empty);
    unlink(tiny);
    unlink(magic_only);
}

/* llama.cpp's formats before GGUF: a u32 magic (little-endian, as
 * llama.cpp wrote it) and, but for GGML, a u32 version. The error names the
 * format and its version and how to convert it. */
static void test_open_names_legacy_ggml_formats(void **state) {
    (void)state;
    static const struct {
        const char *bytes; /* magic and version as they lie in the file */
        size_t len;
        const char *needle;
    } cases[] = {
        {"lmgg\x01\x00\x00\x00", 8,
         ": legacy GGML file (pre-GGUF llama.cpp format); convert it to GGUF with "
         "'tinyllm convert --from ggml "},
        {"fmgg\x01\x00\x00\x00", 8, ": legacy GGMF v1 file (pre-GGUF"},
        {"tjgg\x01\x00\x00\x00", 8, ": legacy GGJT v1 file (pre-GGUF"},
        {"tjgg\x02\x00\x00\x00", 8, ": legacy GGJT v2 file (pre-GGUF"},
        {"tjgg\x03\x00\x00\x00\x00\x7d\x00\x00", 12, ": legacy GGJT v3 file (pre-GGUF"},
        {"tjgg", 4, ": legacy GGJT file (pre-GGUF"}, /* cut before its version */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_tmp("gguf-legacy.bin", cases[i].bytes, cases[i].len);
        expect_open_fails(path, TL_ERR_FORMAT, cases[i].needle, cases[i].needle);
        unlink(path);
    }
    /* The magic written big-endian ("ggjt") is no llama.cpp file. */
    const char *path = write_tmp("gguf-legacy.bin", "ggjt\x03\x00\x00\x00", 8);
    expect_open_fails(path, TL_ERR_FORMAT, "not a GGUF file (bad magic)", "ggjt big-endian");
    unlink(path);
}

/* ------------------------------------------------------------------------ */
/* Scalars and getters (hand-made files, all three versions)                */
/* ------------------------------------------------------------------------ */

static void write_every_scalar(raw *r, uint32_t version) {
    raw_header(r, version, 0, 14);
    uint8_t u8 = 200;
    int8_t i8 = -5;
    uint16_t u16 = 60000;
    int16_t i16 = -30000;
    uint32_t u32 = 4000000000u;
    int32_t i32 = -2;
    float f32 = 0.1f;
    uint8_t b = 1;
    uint64_t u64 = 1ull << 40;
    int64_t i64 = -(1ll << 40);
    double f64 = 1e300, half = 0.5;
    int32_t one = 1;
    raw_kv(r, "k.u8", GGUF_TYPE_UINT8, &u8, 1);
    raw_kv(r, "k.i8", GGUF_TYPE_INT8, &i8, 1);
    raw_kv(r, "k.u16", GGUF_TYPE_UINT16, &u16, 2);
    raw_kv(r, "k.i16", GGUF_TYPE_INT16, &i16, 2);
    raw_kv(r, "k.u32", GGUF_TYPE_UINT32, &u32, 4);
    raw_kv(r, "k.i32", GGUF_TYPE_INT32, &i32, 4);
    raw_kv(r, "k.f32", GGUF_TYPE_FLOAT32, &f32, 4);
    raw_kv(r, "k.bool", GGUF_TYPE_BOOL, &b, 1);
    raw_str(r, "k.str");
    raw_u32(r, GGUF_TYPE_STRING);
    raw_str(r, "hello");
    raw_kv(r, "k.u64", GGUF_TYPE_UINT64, &u64, 8);
    raw_kv(r, "k.i64", GGUF_TYPE_INT64, &i64, 8);
    raw_kv(r, "k.f64", GGUF_TYPE_FLOAT64, &f64, 8);
    raw_kv(r, "k.half", GGUF_TYPE_FLOAT64, &half, 8);
    raw_kv(r, "k.one", GGUF_TYPE_INT32, &one, 4);
}

static void check_every_scalar(const gguf_file *f) {
    uint32_t u32 = 99;
    int32_t i32 = 99;
    uint64_t u64 = 99;
    float f32 = 99;
    bool b = false;
    assert_true(gguf_get_u32(f, "k.u8", &u32) && u32 == 200);
    assert_true(gguf_get_i32(f, "k.u8", &i32) && i32 == 200);
    assert_true(gguf_get_i32(f, "k.i8", &i32) && i32 == -5);
    assert_true(gguf_get_u32(f, "k.u16", &u32) && u32 == 60000);
    assert_true(gguf_get_i32(f, "k.i16", &i32) && i32 == -30000);
    assert_true(gguf_get_u32(f, "k.u32", &u32) && u32 == 4000000000u);
    assert_true(gguf_get_i32(f, "k.i32", &i32) && i32 == -2);
    assert_true(gguf_get_u64(f, "k.u64", &u64) && u64 == (1ull << 40));
    assert_true(gguf_get_f32(f, "k.f32", &f32) && f32 == 0.1f);
    assert_true(gguf_get_f32(f, "k.half", &f32) && f32 == 0.5f);
    assert_true(gguf_get_f32(f, "k.i16", &f32) && f32 == -30000.0f);
    assert_true(gguf_get_bool(f, "k.bool", &b) && b);
    assert_true(gguf_get_u32(f, "k.bool", &u32) && u32 == 1);
    b = false;
    assert_true(gguf_get_bool(f, "k.one", &b) && b);
    assert_string_equal(gguf_get_str(f, "k.str"), "hello");

    /* Values that do not fit, or are of the wrong kind, leave the output alone. */
    u32 = 99, i32 = 99, u64 = 99, f32 = 99, b = false;
    assert_false(gguf_get_u32(f, "k.i8", &u32));
    assert_false(gguf_get_u32(f, "k.u64", &u32));
    assert_false(gguf_get_i32(f, "k.u32", &i32));
    assert_false(gguf_get_i32(f, "k.i64", &i32));
    assert_false(gguf_get_u64(f, "k.i64", &u64));
    assert_false(gguf_get_u32(f, "k.f32", &u32));
    assert_false(gguf_get_u32(f, "k.str", &u32));
    assert_false(gguf_get_f32(f, "k.f64", &f32)); /* 1e300 is beyond float */
    assert_false(gguf_get_f32(f, "k.str", &f32));
    assert_false(gguf_get_bool(f, "k.u8", &b));
    assert_false(gguf_get_u32(f, "k.absent", &u32));
    assert_null(gguf_get_str(f, "k.u8"));
    assert_null(gguf_get_str(f, "k.absent"));
    assert_true(u32 == 99 && i32 == 99 && u64 == 99 && f32 == 99 && !b);

    char buf[64];
    struct {
        const char *key;
        const char *text;
    } formatted[] = {
        {"k.u8", "200"},
        {"k.i8", "-5"},
        {"k.u16", "60000"},
        {"k.i16", "-30000"},
        {"k.u32", "4000000000"},
        {"k.i32", "-2"},
        {"k.f32", "0.1"},
        {"k.bool", "true"},
        {"k.str", "hello"},
        {"k.u64", "1099511627776"},
        {"k.i64", "-1099511627776"},
        {"k.f64", "1e+300"},
        {"k.half", "0.5"},
    };
    for (size_t i = 0; i < sizeof formatted / sizeof formatted[0]; i++) {
        int64_t k = gguf_find_key(f, formatted[i].key);
        assert_true(k >= 0);
        assert_true(gguf_format_value(f, k, buf, sizeof buf));
        assert_string_equal(buf, formatted[i].text);
    }
    assert_true(gguf_format_value(f, gguf_find_key(f, "k.str"), buf, 3));
    assert_string_equal(buf, "he"); /* cut short, still terminated */
    assert_false(gguf_format_value(f, gguf_kv_count(f), buf, sizeof buf));
    assert_int_equal(gguf_kv_type(f, gguf_find_key(f, "k.f64")), GGUF_TYPE_FLOAT64);
}

static void test_every_scalar_type_in_v1_v2_v3(void **state) {
    (void)state;
    for (uint32_t version = 1; version <= 3; version++) {
        raw r = {0};
        write_every_scalar(&r, version);
        const char *path = write_tmp("gguf-scalars.gguf", r.p, r.len);
        gguf_file *f = open_ok(path);
        assert_int_equal(gguf_version(f), version);
        assert_int_equal(gguf_kv_count(f), 14);
        assert_int_equal(gguf_tensor_count(f), 0);
        check_every_scalar(f);
        gguf_close(f);
        unlink(path);
        free(r.p);
    }
}

/* A hand-made v1 file with a tensor: 32-bit dimensions, u64 offset. */
static void test_v1_tensor_info(void **state) {
    (void)state;
    raw r = {0};
    raw_header(&r, 1, 1, 1);
    raw_str(&r, "general.architecture");
    raw_u32(&r, GGUF_TYPE_STRING);
    raw_str(&r, "llama");
    raw_str(&r, "w");
    raw_u32(&r, 2);
    raw_u32(&r, 4);
    raw_u32(&r, 3);
    raw_u32(&r, TL_TYPE_F32);
    raw_u64(&r, 0);
    raw_pad(&r, 32);
    float data[12];
    for (int i = 0; i < 12; i++) data[i] = (float)i;
    raw_bytes(&r, data, sizeof data);
    const char *path = write_tmp("gguf-v1.gguf", r.p, r.len);
    gguf_file *f = open_ok(path);
    const gguf_tensor *t = gguf_find_tensor(f, "w");
    assert_non_null(t);
    assert_int_equal(t->ne[0], 4);
    assert_int_equal(t->ne[1], 3);
    assert_int_equal(t->n_bytes, sizeof data);
    assert_memory_equal(t->data, data, sizeof data);
    gguf_close(f);
    unlink(path);
    free(r.p);
}

/* A header with no metadata and no tensors is a valid (if useless) file. */
static void test_header_only_file(void **state) {
    (void)state;
    raw r = {0};
    raw_header(&r, 3, 0, 0);
    const char *path = write_tmp("gguf-header.gguf", r.p, r.len);
    gguf_file *f = open_ok(path);
    assert_int_equal(gguf_kv_count(f), 0);
    assert_int_equal(gguf_tensor_count(f), 0);
    assert_int_equal(gguf_find_key(f, "general.architecture"), -1);
    assert_null(gguf_find_tensor(f, "x"));
    gguf_close(f);
    unlink(path);
    free(r.p);
}

/* ------------------------------------------------------------------------ */
/* Writer round trip                                                        */
/* ------------------------------------------------------------------------ */

static const uint8_t arr_u8[] = {0, 1, 255};
static const int8_t arr_i8[] = {-128, 0, 127};
static const uint16_t arr_u16[] = {1, 65535};
static const int16_t arr_i16[] = {-32768, 32767};
static const uint32_t arr_u32[] = {0, 4294967295u, 7};
static const int32_t arr_i32[] = {-2147483647 - 1, 5};
static const float arr_f32[] = {1.5f, -0.25f, 3e38f};
static const uint8_t arr_bool[] = {1, 0, 1, 1};
static const uint64_t arr_u64[] = {UINT64_MAX, 1};
static const int64_t arr_i64[] = {INT64_MIN, INT64_MAX, -1};
static const double arr_f64[] = {1e-300, -2.5};
static const char *const arr_str[] = {"a", "", "\xe2\x96\x81the", "<|im_end|>"};

static uint8_t q8_data[2 * 34];
static uint16_t f16_data[8];
static float f32_data[4 * 3];

static void fill_tensor_data(void) {
    for (size_t i = 0; i < sizeof q8_data; i++) q8_data[i] = (uint8_t)(i * 7 + 3);
    for (size_t i = 0; i < 8; i++) f16_data[i] = (uint16_t)(0x3c00 + i);
    for (size_t i = 0; i < 12; i++) f32_data[i] = (float)i * 0.5f - 1.0f;
}

static gguf_writer *make_writer(uint32_t alignment) {
    gguf_writer *w = gguf_writer_new();
    assert_non_null(w);
    gguf_writer_set_str(w, "general.architecture", "llama");
    if (alignment) gguf_writer_set_u32(w, "general.alignment", alignment);
    gguf_writer_set_u32(w, "w.u32", 4000000000u);
    gguf_writer_set_i32(w, "w.i32", -12345);
    gguf_writer_set_u64(w, "w.u64", UINT64_MAX);
    gguf_writer_set_f32(w, "w.f32", 1e-5f);
    gguf_writer_set_bool(w, "w.bool", true);
    gguf_writer_set_bool(w, "w.false", false);
    gguf_writer_set_str(w, "w.str", "to be replaced");
    gguf_writer_set_str(w, "w.empty", "");
    gguf_writer_set_arr(w, "a.u8", GGUF_TYPE_UINT8, arr_u8, 3);
    gguf_writer_set_arr(w, "a.i8", GGUF_TYPE_INT8, arr_i8, 3);
    gguf_writer_set_arr(w, "a.u16", GGUF_TYPE_UINT16, arr_u16, 2);
    gguf_writer_set_arr(w, "a.i16", GGUF_TYPE_INT16, arr_i16, 2);
    gguf_writer_set_arr(w, "a.u32", GGUF_TYPE_UINT32, arr_u32, 3);
    gguf_writer_set_arr(w, "a.i32", GGUF_TYPE_INT32, arr_i32, 2);
    gguf_writer_set_arr(w, "a.f32", GGUF_TYPE_FLOAT32, arr_f32, 3);
    gguf_writer_set_arr(w, "a.bool", GGUF_TYPE_BOOL, arr_bool, 4);
    gguf_writer_set_arr(w, "a.u64", GGUF_TYPE_UINT64, arr_u64, 2);
    gguf_writer_set_arr(w, "a.i64", GGUF_TYPE_INT64, arr_i64, 3);
    gguf_writer_set_arr(w, "a.f64", GGUF_TYPE_FLOAT64, arr_f64, 2);
    gguf_writer_set_arr(w, "a.empty", GGUF_TYPE_INT32, NULL, 0);
    gguf_writer_set_arr_str(w, "a.str", arr_str, 4);
    gguf_writer_set_str(w, "w.str", "replaced"); /* same key: replaced in place */
    gguf_writer_set_u32(w, "dup.a", 1);
    gguf_writer_set_u32(w, "dup.b", 2);

    fill_tensor_data();
    tl_error err;
    int64_t ne_f32[2] = {4, 3}, ne_q8[2] = {32, 2}, ne_f16[1] = {8};
    assert_int_equal(gguf_writer_add_tensor(w, "t.a", TL_TYPE_F32, 2, ne_f32, f32_data, &err), TL_OK);
    assert_int_equal(gguf_writer_add_tensor(w, "t.b", TL_TYPE_Q8_0, 2, ne_q8, q8_data, &err), TL_OK);
    assert_int_equal(gguf_writer_add_tensor(w, "t.c", TL_TYPE_F16, 1, ne_f16, f16_data, &err), TL_OK);
    return w;
}

static void check_numeric_array(const gguf_file *f, const char *key, gguf_value_type type, const void *data,
                                uint64_t count, size_t elem_size) {
    gguf_value_type got_type;
    uint64_t got_count;
    assert_true(gguf_get_arr_info(f, key, &got_type, &got_count));
    assert_int_equal(got_type, type);
    assert_int_equal(got_count, count);
    const void *p = gguf_get_arr_data(f, key);
    assert_non_null(p);
    if (count) assert_memory_equal(p, data, count * elem_size);
    assert_null(gguf_get_arr_str(f, key, 0, NULL));
    double d;
    assert_false(gguf_get_arr_f64(f, key, count, &d));
}

static void check_written_file(const gguf_file *f, uint32_t alignment) {
    assert_int_equal(gguf_version(f), 3);
    assert_int_equal(gguf_alignment(f), alignment);
    assert_int_equal(gguf_kv_count(f), 24 + (alignment != GGUF_DEFAULT_ALIGNMENT));
    /* Replacing a key keeps its position (after architecture [and alignment]). */
    assert_string_equal(gguf_kv_key(f, 0), "general.architecture");
    assert_int_equal(gguf_find_key(f, "w.str"), alignment != GGUF_DEFAULT_ALIGNMENT ? 8 : 7);

    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    float f32;
    bool b;
    assert_true(gguf_get_u32(f, "w.u32", &u32) && u32 == 4000000000u);
    assert_int_equal(gguf_kv_type(f, gguf_find_key(f, "w.u32")), GGUF_TYPE_UINT32);
    assert_true(gguf_get_i32(f, "w.i32", &i32) && i32 == -12345);
    assert_int_equal(gguf_kv_type(f, gguf_find_key(f, "w.i32")), GGUF_TYPE_INT32);
    assert_true(gguf_get_u64(f, "w.u64", &u64) && u64 == UINT64_MAX);
    assert_true(gguf_get_f32(f, "w.f32", &f32) && f32 == 1e-5f);
    assert_true(gguf_get_bool(f, "w.bool", &b) && b);
    assert_true(gguf_get_bool(f, "w.false", &b) && !b);
    assert_string_equal(gguf_get_str(f, "w.str"), "replaced");
    assert_string_equal(gguf_get_str(f, "w.empty"), "");
    char buf[32];
    assert_true(gguf_format_value(f, gguf_find_key(f, "w.f32"), buf, sizeof buf));
    assert_string_equal(buf, "1e-05");

    check_numeric_array(f, "a.u8", GGUF_TYPE_UINT8, arr_u8, 3, 1);
    check_numeric_array(f, "a.i8", GGUF_TYPE_INT8, arr_i8, 3, 1);
    check_numeric_array(f, "a.u16", GGUF_TYPE_UINT16, arr_u16, 2, 2);
    check_numeric_array(f, "a.i16", GGUF_TYPE_INT16, arr_i16, 2, 2);
    check_numeric_array(f, "a.u32", GGUF_TYPE_UINT32, arr_u32, 3, 4);
    check_numeric_array(f, "a.i32", GGUF_TYPE_INT32, arr_i32, 2, 4);
    check_numeric_array(f, "a.f32", GGUF_TYPE_FLOAT32, arr_f32, 3, 4);
    check_numeric_array(f, "a.bool", GGUF_TYPE_BOOL, arr_bool, 4, 1);
    check_numeric_array(f, "a.u64", GGUF_TYPE_UINT64, arr_u64, 2, 8);
    check_numeric_array(f, "a.i64", GGUF_TYPE_INT64, arr_i64, 3, 8);
    check_numeric_array(f, "a.f64", GGUF_TYPE_FLOAT64, arr_f64, 2, 8);
    check_numeric_array(f, "a.empty", GGUF_TYPE_INT32, NULL, 0, 4);

    /* Element access with conversions. */
    int64_t v;
    double d;
    assert_true(gguf_get_arr_i64(f, "a.i8", 0, &v) && v == -128);
    assert_true(gguf_get_arr_i64(f, "a.u32", 1, &v) && v == 4294967295ll);
    assert_true(gguf_get_arr_i64(f, "a.i64", 0, &v) && v == INT64_MIN);
    assert_false(gguf_get_arr_i64(f, "a.u64", 0, &v)); /* UINT64_MAX does not fit */
    assert_true(gguf_get_arr_i64(f, "a.u64", 1, &v) && v == 1);
    assert_false(gguf_get_arr_i64(f, "a.f32", 0, &v)); /* floats are not integers */
    assert_true(gguf_get_arr_i64(f, "a.bool", 1, &v) && v == 0);
    assert_true(gguf_get_arr_f64(f, "a.f32", 1, &d) && d == -0.25);
    assert_true(gguf_get_arr_f64(f, "a.f64", 0, &d) && d == 1e-300);
    assert_true(gguf_get_arr_f64(f, "a.i16", 0, &d) && d == -32768.0);
    assert_false(gguf_get_arr_f64(f, "a.str", 0, &d));
    assert_false(gguf_get_arr_f64(f, "w.u32", 0, &d)); /* not an array */
    assert_false(gguf_get_arr_info(f, "w.u32", NULL, NULL));
    assert_false(gguf_format_value(f, gguf_find_key(f, "a.u8"), buf, sizeof buf));

    gguf_value_type elem;
    uint64_t count;
    assert_true(gguf_get_arr_info(f, "a.str", &elem, &count));
    assert_int_equal(elem, GGUF_TYPE_STRING);
    assert_int_equal(count, 4);
    assert_null(gguf_get_arr_data(f, "a.str"));
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t len = 99;
        const char *s = gguf_get_arr_str(f, "a.str", i, &len);
        assert_non_null(s);
        assert_int_equal(len, strlen(arr_str[i]));
        assert_memory_equal(s, arr_str[i], len);
    }
    assert_null(gguf_get_arr_str(f, "a.str", 4, NULL));

    assert_int_equal(gguf_tensor_count(f), 3);
    const gguf_tensor *t = gguf_tensor_at(f, 0);
    assert_string_equal(t->name, "t.a");
    assert_int_equal(t->type, TL_TYPE_F32);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->ne[0], 4);
    assert_int_equal(t->ne[1], 3);
    assert_int_equal(t->ne[2], 1);
    assert_int_equal(t->ne[3], 1);
    assert_int_equal(t->n_elements, 12);
    assert_int_equal(t->n_bytes, sizeof f32_data);
    assert_memory_equal(t->data, f32_data, sizeof f32_data);
    t = gguf_find_tensor(f, "t.b");
    assert_int_equal(t->type, TL_TYPE_Q8_0);
    assert_int_equal(t->n_bytes, sizeof q8_data);
    assert_memory_equal(t->data, q8_data, sizeof q8_data);
    t = gguf_find_tensor(f, "t.c");
    assert_int_equal(t->type, TL_TYPE_F16);
    assert_int_equal(t->n_dims, 1);
    assert_int_equal(t->n_bytes, sizeof f16_data);
    assert_memory_equal(t->data, f16_data, sizeof f16_data);
    for (int64_t i = 0; i < 3; i++) {
        t = gguf_tensor_at(f, i);
        assert_int_equal(t->offset % alignment, 0);
        assert_int_equal((uintptr_t)t->data % alignment, 0);
    }
}

static void test_writer_round_trip(void **state) {
    (void)state;
    uint32_t alignments[] = {GGUF_DEFAULT_ALIGNMENT, 64, 256};
    for (size_t a = 0; a < 3; a++) {
        uint32_t alignment = alignments[a];
        gguf_writer *w = make_writer(alignment == GGUF_DEFAULT_ALIGNMENT ? 0 : alignment);
        const char *path = tl_test_tmp_path("gguf-roundtrip.gguf");
        tl_error err;
        assert_int_equal(gguf_writer_write(w, path, &err), TL_OK);
        gguf_writer_free(w);
        gguf_file *f = open_ok(path);
        check_written_file(f, alignment);
        gguf_close(f);
        unlink(path);
    }
}

static void test_writer_rejects_bad_tensors(void **state) {
    (void)state;
    gguf_writer *w = gguf_writer_new();
    tl_error err;
    float data[64] = {0};
    int64_t ne[4] = {4, 2, 1, 1};
    assert_int_equal(gguf_writer_add_tensor(w, "x", 999, 2, ne, data, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "unknown type id 999"));
    assert_int_equal(gguf_writer_add_tensor(w, "x", TL_TYPE_Q8_0, 2, ne, data, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "block size"));
    assert_int_equal(gguf_writer_add_tensor(w, "x", TL_TYPE_F32, 2, ne, NULL, &err), TL_ERR_ARGUMENT);
    assert_int_equal(gguf_writer_add_tensor(w, "x", TL_TYPE_F32, 0, ne, data, &err), TL_ERR_ARGUMENT);
    assert_int_equal(gguf_writer_add_tensor(w, "x", TL_TYPE_F32, 5, ne, data, &err), TL_ERR_ARGUMENT);
    assert_int_equal(gguf_writer_add_tensor(w, "", TL_TYPE_F32, 2, ne, data, &err), TL_ERR_ARGUMENT);
    char long_name[80];
    memset(long_name, 'x', 64);
    long_name[64] = 0;
    assert_int_equal(gguf_writer_add_tensor(w, long_name, TL_TYPE_F32, 2, ne, data, &err), TL_ERR_ARGUMENT);
    long_name[63] = 0; /* 63 bytes is fine */
    assert_int_equal(gguf_writer_add_tensor(w, long_name, TL_TYPE_F32, 2, ne, data, &err), TL_OK);
    int64_t bad_ne[2] = {4, 0};
    assert_int_equal(gguf_writer_add_tensor(w, "x", TL_TYPE_F32, 2, bad_ne, data, &err), TL_ERR_ARGUMENT);
    int64_t huge_ne[4] = {1ll << 32, 1ll << 32, 1, 1};
    assert_int_equal(gguf_writer_add_tensor(w, "x", TL_TYPE_F32, 2, huge_ne, data, &err), TL_ERR_ARGUMENT);
    assert_int_equal(gguf_writer_add_tensor(w, "x", TL_TYPE_F32, 2, ne, data, &err), TL_OK);
    assert_int_equal(gguf_writer_add_tensor(w, "x", TL_TYPE_F32, 2, ne, data, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "twice"));
    gguf_writer_free(w);
}

static void test_writer_reports_bad_metadata_and_io(void **state) {
    (void)state;
    tl_error err;
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_u32(w, "general.alignment", 3);
    const char *path = tl_test_tmp_path("gguf-bad-writer.gguf");
    assert_int_equal(gguf_writer_write(w, path, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "alignment"));
    assert_int_not_equal(access(path, F_OK), 0);
    gguf_writer_set_u32(w, "general.alignment", 16);
    assert_int_equal(gguf_writer_write(w, "/nonexistent/dir/x.gguf", &err), TL_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/dir/x.gguf"));
    gguf_writer_set_u32(w, "", 1);
    assert_int_equal(gguf_writer_write(w, path, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "empty metadata key"));
    gguf_writer_free(w);
}

/* ------------------------------------------------------------------------ */
/* Corrupted files                                                          */
/* ------------------------------------------------------------------------ */

/* The small corruption base: written by the writer with alignment 64 and a
 * bool, so every kind of field is present. */
static uint8_t *small_file(size_t *len) {
    gguf_writer *w = make_writer(64);
    const char *path = tl_test_tmp_path("gguf-small.gguf");
    tl_error err;
    assert_int_equal(gguf_writer_write(w, path, &err), TL_OK);
    gguf_writer_free(w);
    uint8_t *bytes = (uint8_t *)tl_test_read_file(path, len);
    assert_non_null(bytes);
    unlink(path);
    return bytes;
}

/* File offset where the last tensor's data ends: every shorter prefix must
 * fail, longer ones (cutting only the final padding) still open. */
static size_t tensor_data_end(const uint8_t *bytes, size_t len) {
    field_map m;
    map_fields(bytes, len, &m);
    const char *path = write_tmp("gguf-measure.gguf", bytes, len);
    gguf_file *f = open_ok(path);
    size_t alignment = gguf_alignment(f);
    size_t infos_end = m.t[m.n_tensors - 1].offset_at + 8;
    uint64_t data_end = 0;
    for (int64_t i = 0; i < gguf_tensor_count(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (t->offset + t->n_bytes > data_end) data_end = t->offset + t->n_bytes;
    }
    gguf_close(f);
    unlink(path);
    return (infos_end + alignment - 1) / alignment * alignment + (size_t)data_end;
}

typedef struct corruption_case {
    const char *what;
    const uint8_t *orig;
    size_t len;
    const field_map *m;
} corruption_case;

/* Apply one patch (a u32 or u64 at an offset) to a copy and expect failure. */
static void expect_patched_fails(const corruption_case *c, size_t at, int width, uint64_t value, const char *needle,
                                 const char *what) {
    uint8_t *copy = malloc(c->len);
    assert_non_null(copy);
    memcpy(copy, c->orig, c->len);
    if (width == 4) {
        put_u32_at(copy, at, (uint32_t)value);
    } else if (width == 8) {
        put_u64_at(copy, at, value);
    } else {
        copy[at] = (uint8_t)value;
    }
    const char *path = write_tmp("gguf-corrupt.gguf", copy, c->len);
    char label[256];
    snprintf(label, sizeof label, "%s: %s", c->what, what);
    expect_open_fails(path, TL_ERR_FORMAT, needle, label);
    unlink(path);
    free(copy);
}

/* Truncate a copy to each length in [from, to) with step, expecting failure. */
static void expect_truncations_fail(const uint8_t *bytes, size_t from, size_t to, size_t step) {
    const char *path = write_tmp("gguf-truncated.gguf", bytes, to);
    for (size_t n = to; n-- > from;) {
        if ((n - from) % step != 0) continue;
        assert_int_equal(truncate(path, (off_t)n), 0);
        char label[64];
        snprintf(label, sizeof label, "truncated to %zu bytes", n);
        expect_open_fails(path, TL_ERR_FORMAT, n == 0 ? "empty" : NULL, label);
    }
    unlink(path);
}

static void test_truncated_small_file_fails_at_every_offset(void **state) {
    (void)state;
    size_t len;
    uint8_t *bytes = small_file(&len);
    size_t end = tensor_data_end(bytes, len);
    assert_true(end <= len && end + 64 > len);
    expect_truncations_fail(bytes, 0, end, 1);
    for (size_t n = end; n <= len; n++) {
        const char *path = write_tmp("gguf-small-pad.gguf", bytes, n);
        gguf_close(open_ok(path));
        unlink(path);
    }
    free(bytes);
}

static void test_truncated_real_file_fails(void **state) {
    (void)state;
    const char *rel = "models/stories260K.gguf";
    if (!tl_test_have_shared(rel)) skip();
    size_t len;
    uint8_t *bytes = (uint8_t *)tl_test_read_file(tl_test_shared_path(rel), &len);
    assert_non_null(bytes);
    field_map m;
    map_fields(bytes, len, &m);
    size_t infos_end = m.t[m.n_tensors - 1].offset_at + 8;
    /* Every offset in the header and metadata (the first ~2 KB step 1, then
     * step 7), then a spread over the tensor data. */
    expect_truncations_fail(bytes, 0, 2048, 1);
    expect_truncations_fail(bytes, 2048, infos_end + 40, 7);
    expect_truncations_fail(bytes, infos_end + 40, tensor_data_end(bytes, len), 4099);
    free(bytes);
}

static void corrupt_header(const corruption_case *c) {
    const field_map *m = c->m;
    expect_patched_fails(c, 0, 4, 0x58554747 /* "GGUX" */, "not a GGUF file (bad magic)", "magic");
    expect_patched_fails(c, 0, 4, 0x46554767 /* "gGUF" */, "bad magic", "magic case");
    expect_patched_fails(c, 4, 4, 0, "unsupported GGUF version 0", "version 0");
    expect_patched_fails(c, 4, 4, 4, "unsupported GGUF version 4", "version 4");
    expect_patched_fails(c, 4, 4, 99, "unsupported GGUF version 99", "version 99");
    expect_patched_fails(c, 4, 4, 0x03000000, "unsupported GGUF version", "big-endian version");
    uint64_t huge[] = {1ull << 63, 1ull << 60, UINT32_MAX, UINT64_MAX, 100000};
    for (size_t i = 0; i < 5; i++) {
        expect_patched_fails(c, m->n_tensors_at, 8, huge[i], "tensor count", "huge n_tensors");
        expect_patched_fails(c, m->n_kv_at, 8, huge[i], "metadata count", "huge n_kv");
    }
    /* One more tensor/kv than there are: the next read runs off the end or
     * into data that does not parse. */
    expect_patched_fails(c, m->n_tensors_at, 8, m->n_tensors + 1, NULL, "n_tensors + 1");
    expect_patched_fails(c, m->n_kv_at, 8, m->n_kv + 1, NULL, "n_kv + 1");
}

static void corrupt_metadata(const corruption_case *c, const char *string_key, const char *array_key,
                             const char *string_array_key) {
    const field_map *m = c->m;
    size_t k = map_kv(m, string_key);
    uint64_t lengths[] = {1ull << 63, UINT32_MAX, UINT64_MAX, c->len};
    for (size_t i = 0; i < 4; i++) {
        expect_patched_fails(c, m->kv[0].key_len_at, 8, lengths[i], "runs past the end", "key length");
        expect_patched_fails(c, m->kv[k].value_at, 8, lengths[i], "runs past the end", "string length");
    }
    expect_patched_fails(c, m->kv[0].key_len_at, 8, 0, "empty key", "empty key");
    expect_patched_fails(c, m->kv[0].key_len_at + 8 + 2, 1, 0, "NUL", "NUL in key");

    uint64_t types[] = {13, 100, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "unknown value type id %" PRIu64, types[i]);
        expect_patched_fails(c, m->kv[k].type_at, 4, types[i], needle, "value type");
    }
    size_t a = map_kv(m, array_key);
    expect_patched_fails(c, m->kv[a].value_at, 4, 13, "unknown array element type id 13", "elem type");
    expect_patched_fails(c, m->kv[a].value_at, 4, GGUF_TYPE_ARRAY, "arrays of arrays", "nested array");
    uint64_t counts[] = {1ull << 63, 1ull << 60, UINT32_MAX, UINT64_MAX};
    size_t sa = map_kv(m, string_array_key);
    for (size_t i = 0; i < 4; i++) {
        expect_patched_fails(c, m->kv[a].value_at + 4, 8, counts[i], "array of", "array count");
        expect_patched_fails(c, m->kv[sa].value_at + 4, 8, counts[i], "array of", "string array count");
    }
    /* The first string of the string array claims more bytes than exist. */
    expect_patched_fails(c, m->kv[sa].value_at + 12, 8, 1ull << 62, "runs past the end", "string array element length");
}

static void corrupt_tensors(const corruption_case *c, const char *two_dim_tensor, uint32_t alignment) {
    const field_map *m = c->m;
    size_t t = map_tensor(m, two_dim_tensor);
    size_t last = m->n_tensors - 1;
    char needle[128];

    expect_patched_fails(c, m->t[t].n_dims_at, 4, 0, "has 0 dimensions", "n_dims 0");
    expect_patched_fails(c, m->t[t].n_dims_at, 4, 5, "has 5 dimensions", "n_dims 5");
    expect_patched_fails(c, m->t[t].n_dims_at, 4, UINT32_MAX, "dimensions", "n_dims huge");
    expect_patched_fails(c, m->t[t].dims_at, 8, 0, "dimension 0 is 0", "zero dimension");
    expect_patched_fails(c, m->t[t].dims_at + 8, 8, UINT64_MAX, "dimension 1 is negative (-1)", "negative dimension");
    {
        uint8_t *copy = malloc(c->len);
        memcpy(copy, c->orig, c->len);
        put_u64_at(copy, m->t[t].dims_at, 1ull << 32);
        put_u64_at(copy, m->t[t].dims_at + 8, 1ull << 32);
        corruption_case c2 = *c;
        c2.orig = copy;
        expect_patched_fails(&c2, m->t[t].dims_at + 8, 8, 1ull << 32, "too many elements",
                             "dimension product overflow");
        put_u64_at(copy, m->t[t].dims_at, 1ull << 62);
        expect_patched_fails(&c2, m->t[t].dims_at + 8, 8, 3, "too many elements", "dimension product > INT64_MAX");
        free(copy);
    }
    /* Ids ggml retired (4, 5, 31-33) or never had; skip any the type table
     * has since learned. */
    uint64_t type_ids[] = {4, 5, 31, 33, TL_TYPE_COUNT, 1000, UINT32_MAX};
    int n_unknown = 0;
    for (size_t i = 0; i < sizeof type_ids / sizeof type_ids[0]; i++) {
        if (tl_type_traits_of((uint32_t)type_ids[i])) continue;
        n_unknown++;
        snprintf(needle, sizeof needle, "tensor '%s' has unknown type id %" PRIu64, m->t[t].name, type_ids[i]);
        expect_patched_fails(c, m->t[t].type_at, 4, type_ids[i], needle, "tensor type");
    }
    assert_true(n_unknown >= 3);
    /* An F32 tensor turned into Q8_0: the element count is not whole blocks. */
    if (get_u64_at(c->orig, m->t[t].dims_at) * get_u64_at(c->orig, m->t[t].dims_at + 8) % 32 != 0) {
        expect_patched_fails(c, m->t[t].type_at, 4, TL_TYPE_Q8_0, "not a multiple of the block size", "partial block");
    }

    uint64_t offset = get_u64_at(c->orig, m->t[last].offset_at);
    uint64_t out_of_range[] = {1ull << 40, UINT64_MAX - (alignment - 1), offset + c->len / alignment * alignment};
    for (size_t i = 0; i < 3; i++) {
        snprintf(needle, sizeof needle, "tensor '%s' data (offset %" PRIu64, m->t[last].name, out_of_range[i]);
        expect_patched_fails(c, m->t[last].offset_at, 8, out_of_range[i], needle, "offset out of range");
    }
    snprintf(needle, sizeof needle, "is not a multiple of the alignment %" PRIu32, alignment);
    expect_patched_fails(c, m->t[last].offset_at, 8, offset + alignment / 2, needle, "misaligned offset");
    expect_patched_fails(c, m->t[last].offset_at, 8, offset + 4, needle, "offset + 4");
    /* Two tensors on the same bytes. */
    expect_patched_fails(c, m->t[last].offset_at, 8, get_u64_at(c->orig, m->t[0].offset_at), "overlap",
                         "overlapping tensors");
}

static void test_corrupted_small_file(void **state) {
    (void)state;
    size_t len;
    uint8_t *bytes = small_file(&len);
    field_map m;
    map_fields(bytes, len, &m);
    corruption_case c = {"small file", bytes, len, &m};
    corrupt_header(&c);
    corrupt_metadata(&c, "w.str", "a.f32", "a.str");
    corrupt_tensors(&c, "t.a", 64);

    /* Duplicates: "dup.b" -> "dup.a", "t.b" -> "t.a". */
    size_t d = map_kv(&m, "dup.b");
    expect_patched_fails(&c, m.kv[d].key_len_at + 8 + 4, 1, 'a', "duplicate metadata key 'dup.a'", "duplicate key");
    size_t t = map_tensor(&m, "t.b");
    expect_patched_fails(&c, m.t[t].name_len_at + 8 + 2, 1, 'a', "duplicate tensor name 't.a'", "duplicate tensor");
    /* Alignment must be a non-zero power of two, stored as uint32. */
    size_t al = map_kv(&m, "general.alignment");
    expect_patched_fails(&c, m.kv[al].value_at, 4, 0, "general.alignment is 0", "alignment 0");
    expect_patched_fails(&c, m.kv[al].value_at, 4, 3, "general.alignment is 3", "alignment 3");
    expect_patched_fails(&c, m.kv[al].value_at, 4, 96, "not a non-zero power of two", "alignment 96");
    expect_patched_fails(&c, m.kv[al].type_at, 4, GGUF_TYPE_INT32, "expected uint32", "alignment type");
    /* Bools are 0 or 1. */
    size_t b = map_kv(&m, "w.bool");
    expect_patched_fails(&c, m.kv[b].value_at, 1, 2, "bool value 2", "bool 2");
    size_t ba = map_kv(&m, "a.bool");
    expect_patched_fails(&c, m.kv[ba].value_at + 12 + 1, 1, 0xff, "bool value 255", "bool array");
    /* A name with a newline is shown with '?', keeping the message one line. */
    {
        uint8_t *named = malloc(len);
        memcpy(named, bytes, len);
        named[m.t[0].name_len_at + 8 + 1] = '\n';
        corruption_case c2 = c;
        c2.orig = named;
        expect_patched_fails(&c2, m.t[0].type_at, 4, 1000, "tensor 't?a' has unknown type id 1000",
                             "control byte in name");
        free(named);
    }
    /* Empty tensor name. */
    expect_patched_fails(&c, m.t[0].name_len_at, 8, 0, "empty tensor name", "empty tensor name");

    /* Rows need not be whole blocks if the tensor is: Q8_0 [16, 4] opens. */
    uint8_t *copy = malloc(len);
    memcpy(copy, bytes, len);
    put_u64_at(copy, m.t[t].dims_at, 16);
    put_u64_at(copy, m.t[t].dims_at + 8, 4);
    const char *path = write_tmp("gguf-partial-rows.gguf", copy, len);
    gguf_file *f = open_ok(path);
    assert_int_equal(gguf_find_tensor(f, "t.b")->n_bytes, 68);
    gguf_close(f);
    unlink(path);
    /* ... but Q8_0 [16, 3] is not whole blocks. */
    put_u64_at(copy, m.t[t].dims_at + 8, 3);
    path = write_tmp("gguf-partial-block.gguf", copy, len);
    expect_open_fails(path, TL_ERR_FORMAT, "has 48 elements, not a multiple of the block size 32", "partial block");
    unlink(path);
    free(copy);
    free(bytes);
}

static void test_corrupted_real_file(void **state) {
    (void)state;
    const char *rel = "models/stories260K.gguf";
    if (!tl_test_have_shared(rel)) skip();
    size_t len;
    uint8_t *bytes = (uint8_t *)tl_test_read_file(tl_test_shared_path(rel), &len);
    assert_non_null(bytes);
    field_map m;
    map_fields(bytes, len, &m);
    corruption_case c = {"stories260K.gguf", bytes, len, &m};
    corrupt_header(&c);
    corrupt_metadata(&c, "general.architecture", "tokenizer.ggml.scores", "tokenizer.ggml.tokens");
    corrupt_tensors(&c, "blk.0.ffn_down.weight", 32);
    /* "tokenizer.ggml.eos_token_id" -> "tokenizer.ggml.bos_token_id" */
    size_t k = map_kv(&m, "tokenizer.ggml.eos_token_id");
    expect_patched_fails(&c, m.kv[k].key_len_at + 8 + strlen("tokenizer.ggml."), 1, 'b',
                         "duplicate metadata key 'tokenizer.ggml.bos_token_id'", "duplicate key");
    /* "blk.1.attn_q.weight" -> "blk.0.attn_q.weight" */
    size_t t = map_tensor(&m, "blk.1.attn_q.weight");
    expect_patched_fails(&c, m.t[t].name_len_at + 8 + 4, 1, '0', "duplicate tensor name 'blk.0.attn_q.weight'",
                         "duplicate tensor");
    free(bytes);
}

/* The v1 header and string lengths are 32-bit. */
static void test_corrupted_v1_file(void **state) {
    (void)state;
    const char *rel = "models/stories260K-v1-f32.gguf";
    if (!tl_test_have_shared(rel)) skip();
    size_t len;
    uint8_t *bytes = (uint8_t *)tl_test_read_file(tl_test_shared_path(rel), &len);
    assert_non_null(bytes);
    field_map m;
    map_fields(bytes, len, &m);
    corruption_case c = {"stories260K-v1-f32.gguf", bytes, len, &m};
    expect_patched_fails(&c, m.n_tensors_at, 4, UINT32_MAX, "tensor count", "v1 n_tensors");
    expect_patched_fails(&c, m.n_kv_at, 4, UINT32_MAX, "metadata count", "v1 n_kv");
    expect_patched_fails(&c, m.kv[0].key_len_at, 4, UINT32_MAX, "runs past the end", "v1 key length");
    size_t tok = map_kv(&m, "tokenizer.ggml.tokens");
    expect_patched_fails(&c, m.kv[tok].value_at + 4, 4, UINT32_MAX, "array of", "v1 array count");
    expect_patched_fails(&c, m.t[1].dims_at, 4, 0, "dimension 0 is 0", "v1 zero dim");
    expect_patched_fails(&c, m.t[1].type_at, 4, 77, "unknown type id 77", "v1 type");
    expect_truncations_fail(bytes, 0, 1500, 1);
    expect_truncations_fail(bytes, 1500, tensor_data_end(bytes, len), 2999);
    free(bytes);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_names_legacy_ggml_formats),
        cmocka_unit_test(test_reads_stories260K_v3),
        cmocka_unit_test(test_reads_stories260K_v1_same_as_v3),
        cmocka_unit_test(test_reads_stories260K_v2_q8_0),
        cmocka_unit_test(test_reads_llama2_tiny_random),
        cmocka_unit_test(test_reads_large_vocab_quickly),
        cmocka_unit_test(test_open_rejects_missing_directory_and_empty),
        cmocka_unit_test(test_hostile_counts_and_sizes_are_refused),
        cmocka_unit_test(test_every_scalar_type_in_v1_v2_v3),
        cmocka_unit_test(test_v1_tensor_info),
        cmocka_unit_test(test_header_only_file),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_writer_rejects_bad_tensors),
        cmocka_unit_test(test_writer_reports_bad_metadata_and_io),
        cmocka_unit_test(test_truncated_small_file_fails_at_every_offset),
        cmocka_unit_test(test_truncated_real_file_fails),
        cmocka_unit_test(test_corrupted_small_file),
        cmocka_unit_test(test_corrupted_real_file),
        cmocka_unit_test(test_corrupted_v1_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
