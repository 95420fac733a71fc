/*
 * charsmap_build.c — writing a precompiled normalization map (format in
 * charsmap.h) from a list of "text → replacement" rules, for the vocabularies
 * the project builds itself (synth_vocab.c).
 *
 * The rules' texts form a byte trie that is laid out as a darts-clone double
 * array: each node gets a "base" such that its children sit at base ^ label
 * and, when a key ends at the node, its value unit sits at base ^ 0. Bases
 * are chosen greedily (the first free one, in breadth-first order) and are
 * all distinct, which is what makes the label check of a lookup exact: a
 * unit at index i with label c can only be the child of the node whose base
 * is i ^ c. The array is padded to whole blocks of 256 units, so a lookup
 * from any node stays inside it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/charsmap_build.h"
#include "util/error.h"
#include "util/buffer.h"

typedef struct trie_node {
    int32_t first_child, next_sibling;
    uint8_t label;
    bool has_value;
    uint32_t value; /* offset of the replacement string */
    uint32_t index; /* position in the double array */
} trie_node;

typedef struct builder {
    trie_node *nodes;
    size_t n_nodes;
    uint32_t *units;
    uint8_t *unit_used, *base_used;
    size_t capacity; /* of units / unit_used / base_used */
    size_t n_units;  /* array size so far (whole blocks) */
} builder;

static bool grow(builder *b, size_t need) {
    if (need <= b->capacity) {
        return true;
    }
    size_t capacity;
    if (!tl_grow_capacity(b->capacity, need, 1024, SIZE_MAX / sizeof *b->units, &capacity)) {
        return false;
    }
    uint32_t *units = realloc(b->units, capacity * sizeof *units);
    if (units) b->units = units;
    uint8_t *unit_used = realloc(b->unit_used, capacity);
    if (unit_used) b->unit_used = unit_used;
    uint8_t *base_used = realloc(b->base_used, capacity);
    if (base_used) b->base_used = base_used;
    if (!units || !unit_used || !base_used) {
        return false;
    }
    memset(b->units + b->capacity, 0, (capacity - b->capacity) * sizeof *units);
    memset(b->unit_used + b->capacity, 0, capacity - b->capacity);
    memset(b->base_used + b->capacity, 0, capacity - b->capacity);
    b->capacity = capacity;
    return true;
}

/* The child of `parent` with `label`, created if missing (children stay
 * sorted because keys are inserted in sorted order). */
static int32_t child_of(builder *b, int32_t parent, uint8_t label) {
    int32_t last = -1;
    for (int32_t c = b->nodes[parent].first_child; c >= 0; c = b->nodes[c].next_sibling) {
        if (b->nodes[c].label == label) {
            return c;
        }
        last = c;
    }
    int32_t id = (int32_t)b->n_nodes++;
    b->nodes[id] = (trie_node){.first_child = -1, .next_sibling = -1, .label = label};
    if (last < 0) {
        b->nodes[parent].first_child = id;
    } else {
        b->nodes[last].next_sibling = id;
    }
    return id;
}

/* The first unused base whose slots for the node's labels are all free. */
static bool place(builder *b, const trie_node *node, uint32_t *base_out) {
    for (uint32_t base = 1;; base++) {
        if (!grow(b, (base | 0xFFu) + 1)) {
            return false;
        }
        if (b->base_used[base]) {
            continue;
        }
        bool fits = !(node->has_value && b->unit_used[base]);
        for (int32_t c = node->first_child; c >= 0 && fits; c = b->nodes[c].next_sibling) {
            uint32_t slot = base ^ b->nodes[c].label;
            fits = slot != 0 && !b->unit_used[slot];
        }
        if (fits) {
            *base_out = base;
            return true;
        }
    }
}

typedef struct rule_ref {
    const char *from;
    size_t index;
} rule_ref;

static int compare_rules(const void *a, const void *b) {
    return strcmp(((const rule_ref *)a)->from, ((const rule_ref *)b)->from);
}

static void free_builder(builder *b) {
    free(b->nodes);
    free(b->units);
    free(b->unit_used);
    free(b->base_used);
}

tl_status tl_charsmap_build(const tl_charsmap_rule *rules, size_t n_rules, uint8_t **blob, size_t *size,
                            tl_error *err) {
    *blob = NULL;
    *size = 0;
    if (n_rules == 0) {
        return tl_fail(err, TL_ERR_ARGUMENT, "a charsmap needs at least one rule");
    }
    builder b = {0};
    size_t key_bytes = 0, string_bytes = 0;
    for (size_t i = 0; i < n_rules; i++) {
        if (!rules[i].from || !rules[i].to || !rules[i].from[0]) {
            return tl_fail(err, TL_ERR_ARGUMENT, "charsmap rule %zu has an empty text", i);
        }
        key_bytes += strlen(rules[i].from);
        string_bytes += strlen(rules[i].to) + 1;
    }
    rule_ref *sorted = malloc(n_rules * sizeof *sorted);
    b.nodes = malloc((key_bytes + 1) * sizeof *b.nodes);
    if (!sorted || !b.nodes) {
        free(sorted);
        free_builder(&b);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory building a charsmap");
    }
    for (size_t i = 0; i < n_rules; i++) {
        sorted[i] = (rule_ref){rules[i].from, i};
    }
    qsort(sorted, n_rules, sizeof *sorted, compare_rules);

    /* The trie; values are offsets into the strings, in rule order. */
    b.nodes[0] = (trie_node){.first_child = -1, .next_sibling = -1};
    b.n_nodes = 1;
    uint32_t *string_offset = malloc(n_rules * sizeof *string_offset);
    if (!string_offset) {
        free(sorted);
        free_builder(&b);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory building a charsmap");
    }
    for (size_t i = 0, offset = 0; i < n_rules; i++) {
        string_offset[i] = (uint32_t)offset;
        offset += strlen(rules[i].to) + 1;
    }
    tl_status st = TL_OK;
    for (size_t k = 0; k < n_rules && st == TL_OK; k++) {
        if (k > 0 && strcmp(sorted[k].from, sorted[k - 1].from) == 0) {
            st = tl_fail(err, TL_ERR_ARGUMENT, "charsmap rule %zu repeats the text of rule %zu", sorted[k].index,
                         sorted[k - 1].index);
            break;
        }
        int32_t node = 0;
        for (const char *p = sorted[k].from; *p; p++) {
            node = child_of(&b, node, (uint8_t)*p);
        }
        b.nodes[node].has_value = true;
        b.nodes[node].value = string_offset[sorted[k].index];
    }
    free(sorted);

    /* Lay the nodes out breadth first: the node list is filled in insertion
     * order, so walk a queue of node ids instead. */
    int32_t *queue = malloc(b.n_nodes * sizeof *queue);
    if (st == TL_OK && (!queue || !grow(&b, 256))) {
        st = tl_fail(err, TL_ERR_NOMEM, "out of memory building a charsmap");
    }
    size_t head = 0, tail = 0;
    if (st == TL_OK) {
        queue[tail++] = 0;
        b.unit_used[0] = 1;
        b.nodes[0].index = 0;
    }
    while (st == TL_OK && head < tail) {
        trie_node *node = &b.nodes[queue[head++]];
        uint32_t base;
        if (!place(&b, node, &base)) {
            st = tl_fail(err, TL_ERR_NOMEM, "out of memory building a charsmap");
            break;
        }
        uint32_t offset = node->index ^ base;
        if (offset >= (1u << 21)) {
            st = tl_fail(err, TL_ERR_ARGUMENT, "charsmap too large to encode");
            break;
        }
        b.base_used[base] = 1;
        b.units[node->index] = offset << 10 | (node->has_value ? 1u << 8 : 0) | (node == b.nodes ? 0 : node->label);
        if (node->has_value) {
            b.unit_used[base] = 1;
            b.units[base] = 1u << 31 | node->value;
        }
        for (int32_t c = node->first_child; c >= 0; c = b.nodes[c].next_sibling) {
            uint32_t slot = base ^ b.nodes[c].label;
            b.unit_used[slot] = 1;
            b.nodes[c].index = slot;
            queue[tail++] = c;
        }
        if ((size_t)(base | 0xFFu) + 1 > b.n_units) {
            b.n_units = (size_t)(base | 0xFFu) + 1;
        }
    }
    free(queue);

    if (st == TL_OK) {
        *size = 4 + 4 * b.n_units + string_bytes;
        *blob = malloc(*size);
        if (!*blob) {
            st = tl_fail(err, TL_ERR_NOMEM, "out of memory building a charsmap");
        }
    }
    if (st == TL_OK) {
        uint8_t *p = *blob;
        uint32_t array_bytes = (uint32_t)(4 * b.n_units);
        for (size_t i = 0; i <= b.n_units; i++) {
            uint32_t w = i == 0 ? array_bytes : b.units[i - 1];
            p[0] = (uint8_t)w;
            p[1] = (uint8_t)(w >> 8);
            p[2] = (uint8_t)(w >> 16);
            p[3] = (uint8_t)(w >> 24);
            p += 4;
        }
        for (size_t i = 0; i < n_rules; i++) {
            size_t n = strlen(rules[i].to) + 1;
            memcpy(p, rules[i].to, n);
            p += n;
        }
    } else {
        free(*blob);
        *blob = NULL;
        *size = 0;
    }
    free(string_offset);
    free_builder(&b);
    return st;
}
