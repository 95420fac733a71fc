/*
 * merge_queue.c — a binary max-heap of merge candidates (see merge_queue.h).
 */
#include "tokenizer/merge_queue.h"
#include "util/buffer.h"

#include <stdlib.h>

void tl_merge_queue_init(tl_merge_queue *q) {
    q->items = NULL;
    q->count = q->capacity = 0;
    q->out_of_memory = false;
}

void tl_merge_queue_free(tl_merge_queue *q) {
    free(q->items);
    tl_merge_queue_init(q);
}

void tl_merge_queue_clear(tl_merge_queue *q) {
    q->count = 0;
}

/* True if a should come out before b. */
static bool comes_first(const tl_merge_candidate *a, const tl_merge_candidate *b) {
    return a->priority > b->priority || (a->priority == b->priority && a->left < b->left);
}

void tl_merge_queue_push(tl_merge_queue *q, tl_merge_candidate c) {
    tl_merge_candidate *items = tl_grow(q->items, &q->capacity, q->count + 1, sizeof *items, 64);
    if (!items) {
        q->out_of_memory = true;
        return;
    }
    q->items = items;
    size_t i = q->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!comes_first(&c, &q->items[parent])) {
            break;
        }
        q->items[i] = q->items[parent];
        i = parent;
    }
    q->items[i] = c;
}

bool tl_merge_queue_pop(tl_merge_queue *q, tl_merge_candidate *out) {
    if (q->count == 0) {
        return false;
    }
    *out = q->items[0];
    tl_merge_candidate last = q->items[--q->count];
    size_t i = 0, n = q->count;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) {
            break;
        }
        if (child + 1 < n && comes_first(&q->items[child + 1], &q->items[child])) {
            child++;
        }
        if (!comes_first(&q->items[child], &last)) {
            break;
        }
        q->items[i] = q->items[child];
        i = child;
    }
    if (n > 0) {
        q->items[i] = last;
    }
    return true;
}
