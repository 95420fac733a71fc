/*
 * penalties.c — repeat / frequency / presence penalties over a ring of
 * recently accepted tokens.
 */
#include "sampling/penalties.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

tl_status tl_penalty_history_init(tl_penalty_history *h, int32_t n_vocab, int32_t window, tl_error *err) {
    memset(h, 0, sizeof *h);
    h->n_vocab = n_vocab;
    if (window <= 0) {
        return TL_OK;
    }
    h->ring = malloc((size_t)window * sizeof *h->ring);
    h->counts = calloc((size_t)n_vocab, sizeof *h->counts);
    if (!h->ring || !h->counts) {
        tl_penalty_history_free(h);
        return tl_fail(err, TL_ERR_NOMEM, "sampler: cannot allocate a penalty history of %d tokens", (int)window);
    }
    h->window = window;
    return TL_OK;
}

void tl_penalty_history_free(tl_penalty_history *h) {
    free(h->ring);
    free(h->counts);
    memset(h, 0, sizeof *h);
}

void tl_penalty_history_clear(tl_penalty_history *h) {
    for (int32_t i = 0; i < h->size; i++) {
        h->counts[h->ring[i]] = 0;
    }
    h->size = 0;
    h->next = 0;
}

void tl_penalty_history_push(tl_penalty_history *h, tl_token token) {
    if (h->window == 0 || token < 0 || token >= h->n_vocab) {
        return;
    }
    if (h->size == h->window) {
        h->counts[h->ring[h->next]]--; /* the slot holds the oldest token */
    } else {
        h->size++;
    }
    h->ring[h->next] = token;
    h->counts[token]++;
    h->next = (h->next + 1) % h->window;
}

void tl_penalties_apply(tl_penalty_history *h, const tl_penalty_params *p, float *logits) {
    /* Visit each distinct token once: after penalizing a token its count is
     * negated as a "done" mark, and restored in a second pass. */
    for (int32_t i = 0; i < h->size; i++) {
        const tl_token token = h->ring[i];
        const int32_t count = h->counts[token];
        if (count <= 0) {
            continue;
        }
        float logit = logits[token];
        logit = logit <= 0.0f ? logit * p->repeat : logit / p->repeat;
        logit -= (float)count * p->frequency + p->presence;
        logits[token] = logit;
        h->counts[token] = -count;
    }
    for (int32_t i = 0; i < h->size; i++) {
        const tl_token token = h->ring[i];
        if (h->counts[token] < 0) {
            h->counts[token] = -h->counts[token];
        }
    }
}
