/*
 * penalties.h — the repetition penalties and the token history they read.
 *
 * The history is a ring of the last `window` accepted tokens plus a count of
 * each token's occurrences in it, so applying the penalties costs O(window),
 * not O(n_vocab), and accepting a token costs O(1).
 *
 * Formulas (llama.cpp's), for every token t seen c > 0 times in the window:
 *   logit[t] = logit[t] <= 0 ? logit[t] * repeat : logit[t] / repeat
 *   logit[t] -= c * frequency + presence
 */
#ifndef TL_SAMPLING_PENALTIES_H
#define TL_SAMPLING_PENALTIES_H

#include <stdint.h>

#include "tinyllm.h"

typedef struct tl_penalty_history {
    int32_t n_vocab;
    int32_t window;  /* ring capacity; 0 = no history kept */
    int32_t size;    /* tokens currently in the ring */
    int32_t next;    /* ring slot the next token goes to */
    tl_token *ring;  /* [window] */
    int32_t *counts; /* [n_vocab] occurrences of each token in the ring */
} tl_penalty_history;

typedef struct tl_penalty_params {
    float repeat;
    float frequency;
    float presence;
} tl_penalty_params;

/* window 0 makes an empty history that ignores tokens. */
tl_status tl_penalty_history_init(tl_penalty_history *h, int32_t n_vocab, int32_t window, tl_error *err);
void tl_penalty_history_free(tl_penalty_history *h);
void tl_penalty_history_clear(tl_penalty_history *h);
/* Record a token, forgetting the oldest one once the window is full.
 * Tokens outside [0, n_vocab) are ignored. */
void tl_penalty_history_push(tl_penalty_history *h, tl_token token);
/* Penalize logits[0..n_vocab) for the tokens in the history. */
void tl_penalties_apply(tl_penalty_history *h, const tl_penalty_params *p, float *logits);

#endif /* TL_SAMPLING_PENALTIES_H */
