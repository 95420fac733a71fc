/*
 * string_map.c — open-addressing hash tables for token texts and BPE merges
 * (see string_map.h). Linear probing, load factor at most 1/2.
 */
#include "tokenizer/string_map.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64-bit: simple, and good enough for short token texts. */
uint64_t tl_hash_bytes(const void *data, size_t len, uint64_t seed) {
    const unsigned char *p = data;
    uint64_t h = seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL

/* Final mix so that the low bits (the slot index) depend on every input bit. */
static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static size_t capacity_for(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n + 1) {
        cap *= 2;
    }
    return cap;
}

bool tl_token_map_init(tl_token_map *m, const tl_str *keys, size_t n) {
    size_t cap = capacity_for(n);
    m->slots = malloc(cap * sizeof *m->slots);
    if (!m->slots) {
        return false;
    }
    memset(m->slots, 0xFF, cap * sizeof *m->slots); /* all -1 */
    m->mask = cap - 1;
    m->keys = keys;
    return true;
}

void tl_token_map_free(tl_token_map *m) {
    free(m->slots);
    m->slots = NULL;
}

static bool key_equals(const tl_str *key, const char *text, size_t len) {
    return key->len == len && memcmp(key->ptr, text, len) == 0;
}

int32_t tl_token_map_insert(tl_token_map *m, int32_t id) {
    const tl_str *key = &m->keys[id];
    size_t i = mix(tl_hash_bytes(key->ptr, key->len, FNV_OFFSET)) & m->mask;
    while (m->slots[i] >= 0) {
        if (key_equals(&m->keys[m->slots[i]], key->ptr, key->len)) {
            return m->slots[i];
        }
        i = (i + 1) & m->mask;
    }
    m->slots[i] = id;
    return -1;
}

int32_t tl_token_map_find(const tl_token_map *m, const char *text, size_t len) {
    size_t i = mix(tl_hash_bytes(text, len, FNV_OFFSET)) & m->mask;
    while (m->slots[i] >= 0) {
        if (key_equals(&m->keys[m->slots[i]], text, len)) {
            return m->slots[i];
        }
        i = (i + 1) & m->mask;
    }
    return -1;
}

bool tl_merge_map_init(tl_merge_map *m, const char *pool, size_t n) {
    size_t cap = capacity_for(n);
    m->slots = malloc(cap * sizeof *m->slots);
    if (!m->slots) {
        return false;
    }
    for (size_t i = 0; i < cap; i++) {
        m->slots[i].rank = -1;
    }
    m->mask = cap - 1;
    m->pool = pool;
    return true;
}

void tl_merge_map_free(tl_merge_map *m) {
    free(m->slots);
    m->slots = NULL;
}

/* The hash of a pair: left, a separator byte, right. */
static uint64_t pair_hash(const char *left, size_t left_len, const char *right, size_t right_len) {
    uint64_t h = tl_hash_bytes(left, left_len, FNV_OFFSET);
    h = tl_hash_bytes("\x01", 1, h);
    return mix(tl_hash_bytes(right, right_len, h));
}

static bool pair_equals(const tl_merge_map *m, const tl_merge_entry *e, uint32_t hash, const char *left,
                        size_t left_len, const char *right, size_t right_len) {
    if (e->hash != hash || e->left_len != left_len || e->right_len != right_len) {
        return false;
    }
    const char *text = m->pool + e->offset;
    return memcmp(text, left, left_len) == 0 && memcmp(text + left_len + 1, right, right_len) == 0;
}

bool tl_merge_map_insert(tl_merge_map *m, uint32_t offset, size_t left_len, size_t right_len, int32_t rank) {
    if (left_len > UINT16_MAX || right_len > UINT16_MAX) {
        return false;
    }
    const char *left = m->pool + offset, *right = left + left_len + 1;
    uint64_t h = pair_hash(left, left_len, right, right_len);
    uint32_t hash = (uint32_t)(h >> 32);
    size_t i = h & m->mask;
    while (m->slots[i].rank >= 0) {
        if (pair_equals(m, &m->slots[i], hash, left, left_len, right, right_len)) {
            return true;
        }
        i = (i + 1) & m->mask;
    }
    m->slots[i] = (tl_merge_entry){hash, rank, offset, (uint16_t)left_len, (uint16_t)right_len};
    return true;
}

int32_t tl_merge_map_find(const tl_merge_map *m, const char *left, size_t left_len, const char *right,
                          size_t right_len) {
    uint64_t h = pair_hash(left, left_len, right, right_len);
    uint32_t hash = (uint32_t)(h >> 32);
    size_t i = h & m->mask;
    while (m->slots[i].rank >= 0) {
        if (pair_equals(m, &m->slots[i], hash, left, left_len, right, right_len)) {
            return m->slots[i].rank;
        }
        i = (i + 1) & m->mask;
    }
    return -1;
}
