/*
 * drafter_lookup.c — prompt lookup decoding (tl_drafter_new_lookup): no
 * draft model; the draft is what followed the most recent earlier
 * occurrence of the sequence's last n tokens, trying n from n_gram down to
 * 1. Summaries, edits, code and answers that quote their sources copy long
 * runs of their input, and those runs come back as whole drafts. Drafting
 * costs a backwards scan of the history, nothing next to a forward pass.
 */
#include <stdlib.h>
#include <string.h>

#include "generate/drafter.h"
#include "util/error.h"

#define LOOKUP_MAX_NGRAM 16

typedef struct lookup_drafter {
    tl_drafter base;
    int32_t n_gram;
} lookup_drafter;

/* The start of the most recent earlier occurrence of h[len-n, len) that has
 * at least one token after it, or -1. */
static int64_t find_latest(const tl_token *h, size_t len, size_t n) {
    const tl_token *pattern = h + len - n;
    for (int64_t i = (int64_t)(len - n) - 1; i >= 0; i--)
        if (h[i] == pattern[0] && memcmp(h + i, pattern, n * sizeof *h) == 0) return i;
    return -1;
}

static int32_t lookup_propose(tl_drafter *d, tl_token *out, int32_t max) {
    const lookup_drafter *l = (const lookup_drafter *)d;
    const tl_token *h = d->history.v;
    const size_t len = d->history.n;
    for (size_t n = (size_t)l->n_gram; n >= 1; n--) {
        if (len < n + 1) continue;
        const int64_t at = find_latest(h, len, n);
        if (at < 0) continue;
        const size_t from = (size_t)at + n;
        int32_t k = 0;
        while (k < max && from + (size_t)k < len) {
            out[k] = h[from + (size_t)k];
            k++;
        }
        return k;
    }
    return 0;
}

static void lookup_free(tl_drafter *d) {
    free(d);
}

tl_status tl_drafter_new_lookup(int32_t n_gram, const tl_draft_params *params, tl_drafter **out, tl_error *err) {
    *out = NULL;
    if (n_gram < 1 || n_gram > LOOKUP_MAX_NGRAM)
        return tl_fail(err, TL_ERR_ARGUMENT, "lookup n-gram size must be between 1 and %d, got %d", LOOKUP_MAX_NGRAM,
                       n_gram);
    lookup_drafter *l = calloc(1, sizeof *l);
    if (!l) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    l->base.propose = lookup_propose;
    l->base.free = lookup_free;
    l->n_gram = n_gram;
    tl_status st = drafter_init(&l->base, params, err);
    if (st != TL_OK) {
        free(l);
        return st;
    }
    *out = &l->base;
    return TL_OK;
}
