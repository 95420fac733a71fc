/*
 * buffer.c — see buffer.h.
 */
#include "util/buffer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool tl_grow_capacity(size_t capacity, size_t need, size_t initial, size_t max, size_t *out) {
    if (need > max) return false;
    size_t grown = capacity ? capacity : (initial ? initial : 1);
    while (grown < need) {
        if (grown > max / 2) { /* doubling would pass max: stop at it */
            grown = max;
            break;
        }
        grown *= 2;
    }
    if (grown > max) grown = max; /* an `initial` above max */
    *out = grown;
    return true;
}

void *tl_grow(void *items, size_t *capacity, size_t need, size_t elem_size, size_t initial) {
    if (items && need <= *capacity) return items;
    if (elem_size == 0) return NULL;
    size_t grown;
    if (!tl_grow_capacity(*capacity, need, initial, (size_t)PTRDIFF_MAX / elem_size, &grown)) return NULL;
    void *p = realloc(items, grown * elem_size);
    if (!p) return NULL;
    *capacity = grown;
    return p;
}

bool tl_buf_reserve(tl_buf *b, size_t extra) {
    const size_t max = b->max ? b->max : (size_t)PTRDIFF_MAX - 1;
    if (extra > max - b->len) return false;
    size_t cap = b->cap;
    char *data = tl_grow(b->data, &cap, b->len + extra + 1, 1, 256);
    if (!data) return false;
    if (!b->data) data[0] = 0;
    b->data = data;
    b->cap = cap;
    return true;
}

bool tl_buf_append(tl_buf *b, const void *bytes, size_t n) {
    if (!tl_buf_reserve(b, n)) return false;
    if (n) memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = 0;
    return true;
}

char *tl_buf_take(tl_buf *b) {
    char *data = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return data;
}

void tl_buf_free(tl_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
