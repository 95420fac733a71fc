/*
 * byte_trie.c — the token trie of the Unigram tokenizer (see byte_trie.h).
 * Linear probing, load factor at most 1/2.
 */
#include "tokenizer/byte_trie.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(uint64_t key, size_t mask) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & mask;
}

bool tl_byte_trie_init(tl_byte_trie *t, size_t total_key_bytes) {
    memset(t, 0, sizeof *t);
    if (total_key_bytes >= INT32_MAX - 1) {
        return false;
    }
    size_t capacity = 16;
    while (capacity < 2 * total_key_bytes + 1) {
        capacity *= 2;
    }
    t->max_nodes = (int32_t)total_key_bytes + 1;
    t->edge_keys = calloc(capacity, sizeof *t->edge_keys);
    t->edge_targets = malloc(capacity * sizeof *t->edge_targets);
    t->values = malloc((size_t)t->max_nodes * sizeof *t->values);
    if (!t->edge_keys || !t->edge_targets || !t->values) {
        tl_byte_trie_free(t);
        return false;
    }
    t->mask = capacity - 1;
    t->values[0] = -1;
    t->n_nodes = 1;
    return true;
}

void tl_byte_trie_free(tl_byte_trie *t) {
    free(t->edge_keys);
    free(t->edge_targets);
    free(t->values);
    memset(t, 0, sizeof *t);
}

int32_t tl_byte_trie_child(const tl_byte_trie *t, int32_t node, unsigned char byte) {
    uint64_t key = ((uint64_t)node << 8 | byte) + 1;
    for (size_t i = slot_of(key, t->mask);; i = (i + 1) & t->mask) {
        if (t->edge_keys[i] == key) {
            return t->edge_targets[i];
        }
        if (t->edge_keys[i] == 0) {
            return -1;
        }
    }
}

bool tl_byte_trie_insert(tl_byte_trie *t, const char *key, size_t len, int32_t value) {
    int32_t node = 0;
    for (size_t k = 0; k < len; k++) {
        uint64_t edge = ((uint64_t)node << 8 | (unsigned char)key[k]) + 1;
        size_t i = slot_of(edge, t->mask);
        while (t->edge_keys[i] != 0 && t->edge_keys[i] != edge) {
            i = (i + 1) & t->mask;
        }
        if (t->edge_keys[i] == edge) {
            node = t->edge_targets[i];
            continue;
        }
        if (t->n_nodes >= t->max_nodes) {
            return false;
        }
        int32_t child = t->n_nodes++;
        t->values[child] = -1;
        t->edge_keys[i] = edge;
        t->edge_targets[i] = child;
        node = child;
    }
    t->values[node] = value;
    return true;
}

size_t tl_byte_trie_walk_length(const tl_byte_trie *t, const char *text, size_t len) {
    int32_t node = 0;
    size_t n = 0;
    while (n < len && (node = tl_byte_trie_child(t, node, (unsigned char)text[n])) >= 0) {
        n++;
    }
    return n;
}
