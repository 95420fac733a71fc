/*
 * byte_trie.h — a trie over the bytes of token texts, for the Unigram
 * tokenizer, which at every position of the text needs all the tokens that
 * start there (llama.cpp's naive_trie).
 *
 * Nodes are numbered from 0 (the root); the edge (node, byte) → child lives
 * in one open-addressing hash table, so the trie is three flat allocations
 * however many tokens it holds. It is filled once at load and then only
 * read, so any number of threads may walk it at once.
 */
#ifndef TL_TOKENIZER_BYTE_TRIE_H
#define TL_TOKENIZER_BYTE_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tl_byte_trie {
    uint64_t *edge_keys;   /* (node << 8 | byte) + 1, or 0 for an empty slot */
    int32_t *edge_targets; /* the child node */
    size_t mask;           /* edge table capacity - 1 */
    int32_t *values;       /* values[node]: the id stored there, or -1 */
    int32_t n_nodes, max_nodes;
} tl_byte_trie;

/* Room for keys totalling `total_key_bytes` bytes; false on out-of-memory. */
bool tl_byte_trie_init(tl_byte_trie *t, size_t total_key_bytes);
void tl_byte_trie_free(tl_byte_trie *t);
/* Store `value` at the key (replacing an earlier value); false if the key
 * does not fit in the room given at init. */
bool tl_byte_trie_insert(tl_byte_trie *t, const char *key, size_t len, int32_t value);
/* The child of `node` along `byte`, or -1. */
int32_t tl_byte_trie_child(const tl_byte_trie *t, int32_t node, unsigned char byte);

static inline int32_t tl_byte_trie_value(const tl_byte_trie *t, int32_t node) {
    return t->values[node];
}

/* How many bytes of text[0..len) can be followed from the root, whether or
 * not a key ends there (llama.cpp's get_longest_prefix). */
size_t tl_byte_trie_walk_length(const tl_byte_trie *t, const char *text, size_t len);

#endif /* TL_TOKENIZER_BYTE_TRIE_H */
