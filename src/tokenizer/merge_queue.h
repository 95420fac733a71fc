/*
 * merge_queue.h — the priority queue of candidate merges shared by the
 * SentencePiece and BPE tokenizers.
 *
 * A candidate joins symbol `left` with its right neighbour `right`. The best
 * candidate comes out first: highest `priority`, ties broken by the leftmost
 * position. SentencePiece uses the merged token's score as priority, BPE the
 * negated merge rank. The symbol lengths at the time the candidate was made
 * are kept so that a candidate made stale by an earlier merge is recognised.
 */
#ifndef TL_TOKENIZER_MERGE_QUEUE_H
#define TL_TOKENIZER_MERGE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tl_merge_candidate {
    double priority;
    int32_t left, right;
    uint32_t left_len, right_len;
} tl_merge_candidate;

typedef struct tl_merge_queue {
    tl_merge_candidate *items;
    size_t count, capacity;
    bool out_of_memory; /* set when a push could not grow the queue */
} tl_merge_queue;

void tl_merge_queue_init(tl_merge_queue *q);
void tl_merge_queue_free(tl_merge_queue *q);
void tl_merge_queue_clear(tl_merge_queue *q);
void tl_merge_queue_push(tl_merge_queue *q, tl_merge_candidate c);
/* Remove the best candidate into *out; false when empty. */
bool tl_merge_queue_pop(tl_merge_queue *q, tl_merge_candidate *out);

#endif /* TL_TOKENIZER_MERGE_QUEUE_H */
