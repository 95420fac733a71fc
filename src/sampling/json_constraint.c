/*
 * json_constraint.c — which tokens may continue a JSON object (see
 * json_constraint.h). Every token's text (as the detokenizer writes it,
 * special tokens giving "") is stored once in one buffer; a token is allowed
 * when feeding its bytes to a copy of the current tl_json_prefix state
 * succeeds. Text-less tokens are never allowed, end-of-generation tokens only
 * when the object is complete; after that nothing else is.
 */
#include "sampling/json_constraint.h"

#include <stdlib.h>
#include <string.h>

#include "sampling/json_prefix.h"
#include "util/error.h"
#include "util/buffer.h"

typedef struct json_constraint {
    int32_t n_vocab;
    char *text;      /* every token's bytes, one after another */
    uint32_t *start; /* [n_vocab + 1]: token t is text[start[t] .. start[t+1]) */
    bool *eog;       /* [n_vocab] */
    tl_json_prefix state;
} json_constraint;

static bool json_allows(void *self, tl_token token) {
    const json_constraint *c = self;
    if (token < 0 || token >= c->n_vocab) return false;
    if (c->eog[token]) return c->state.complete;
    const uint32_t n = c->start[token + 1] - c->start[token];
    if (n == 0) return false;
    tl_json_prefix trial = c->state;
    return tl_json_prefix_feed(&trial, c->text + c->start[token], n);
}

static void json_accept(void *self, tl_token token) {
    json_constraint *c = self;
    if (token < 0 || token >= c->n_vocab || c->eog[token]) return;
    tl_json_prefix_feed(&c->state, c->text + c->start[token], c->start[token + 1] - c->start[token]);
}

static void json_reset(void *self) {
    tl_json_prefix_init(&((json_constraint *)self)->state);
}

static void json_free(void *self) {
    json_constraint *c = self;
    if (!c) return;
    free(c->text);
    free(c->start);
    free(c->eog);
    free(c);
}

tl_status tl_json_constraint_new(const tl_model *model, tl_token_constraint *out, tl_error *err) {
    json_constraint *c = calloc(1, sizeof *c);
    const int32_t n_vocab = tl_vocab_size(model);
    size_t capacity = (size_t)n_vocab * 8 + 64, used = 0;
    if (c) {
        c->n_vocab = n_vocab;
        c->text = malloc(capacity);
        c->start = malloc(((size_t)n_vocab + 1) * sizeof *c->start);
        c->eog = malloc((size_t)n_vocab * sizeof *c->eog);
    }
    if (!c || !c->text || !c->start || !c->eog) {
        json_free(c);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for the JSON constraint");
    }
    for (tl_token t = 0; t < n_vocab; t++) {
        c->start[t] = (uint32_t)used;
        c->eog[t] = tl_token_is_eog(model, t);
        char piece[256];
        int32_t n = tl_token_to_piece(model, t, false, piece, sizeof piece);
        if (n < 0) n = 0; /* longer than any JSON-relevant token: treated as text-less */
        char *grown = tl_grow(c->text, &capacity, used + (size_t)n, 1, 4096);
        if (!grown) {
            json_free(c);
            return tl_fail(err, TL_ERR_NOMEM, "out of memory for the JSON constraint");
        }
        c->text = grown;
        memcpy(c->text + used, piece, (size_t)n);
        used += (size_t)n;
    }
    c->start[n_vocab] = (uint32_t)used;
    tl_json_prefix_init(&c->state);
    *out = (tl_token_constraint){json_allows, json_accept, json_reset, json_free, c};
    return TL_OK;
}
