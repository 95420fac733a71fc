/*
 * string_map.h — the two hash tables behind the tokenizers: token text → id
 * and BPE merge pair → rank.
 *
 * Both are open-addressing tables that store only small integers; the keys
 * themselves live elsewhere (the vocabulary's token texts, the merge
 * strings), so a table is a single allocation and lookups never allocate.
 * They are filled once at load and then only read, so any number of threads
 * may look up concurrently.
 */
#ifndef TL_TOKENIZER_STRING_MAP_H
#define TL_TOKENIZER_STRING_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A byte string that is not necessarily NUL-terminated. */
typedef struct tl_str {
    const char *ptr;
    size_t len;
} tl_str;

uint64_t tl_hash_bytes(const void *data, size_t len, uint64_t seed);

/* Text → id. Keys are looked up through the caller's key table. */
typedef struct tl_token_map {
    int32_t *slots;     /* token id, or -1 for empty */
    size_t mask;        /* capacity - 1 (capacity is a power of two) */
    const tl_str *keys; /* keys[id]: the text of id (owned by the caller) */
} tl_token_map;

/* Allocate for n keys; false on out-of-memory. */
bool tl_token_map_init(tl_token_map *m, const tl_str *keys, size_t n);
void tl_token_map_free(tl_token_map *m);
/* Insert id (its key is keys[id]); returns the id already holding an equal
 * key, or -1 if it was inserted. */
int32_t tl_token_map_insert(tl_token_map *m, int32_t id);
/* Find a text; -1 if absent. */
int32_t tl_token_map_find(const tl_token_map *m, const char *text, size_t len);

/* (left, right) → rank. Each merge is a string "left right" in the
 * caller's pool; a slot keeps its offset, the split and the pair's hash (so
 * that a probe rarely has to look at the text). Sides longer than 65535
 * bytes cannot be stored (no real token is that long). */
typedef struct tl_merge_entry {
    uint32_t hash;
    int32_t rank; /* -1 for an empty slot */
    uint32_t offset;
    uint16_t left_len, right_len;
} tl_merge_entry;

typedef struct tl_merge_map {
    tl_merge_entry *slots;
    size_t mask;
    const char *pool; /* the merge strings (owned by the caller) */
} tl_merge_map;

bool tl_merge_map_init(tl_merge_map *m, const char *pool, size_t n);
void tl_merge_map_free(tl_merge_map *m);
/* Insert the merge pool[offset..] = "left right" unless the pair is already
 * present (the first rank wins, as with llama.cpp's emplace). Returns false
 * if a side is too long to store. */
bool tl_merge_map_insert(tl_merge_map *m, uint32_t offset, size_t left_len, size_t right_len, int32_t rank);
/* Rank of merging left+right, or -1 if there is no such merge. */
int32_t tl_merge_map_find(const tl_merge_map *m, const char *left, size_t left_len, const char *right,
                          size_t right_len);

#endif /* TL_TOKENIZER_STRING_MAP_H */
