/*
 * drafter.h — what a drafter (tl_drafter in tinyllm.h) is inside: the
 * history it drafts from and the one function each kind supplies. The
 * generator (generator.c) tells it every accepted token and asks it for up
 * to n tokens that may follow; drafter_lookup.c and drafter_model.c are the
 * two kinds.
 */
#ifndef TL_GENERATE_DRAFTER_H
#define TL_GENERATE_DRAFTER_H

#include "tinyllm.h"

/* A growing list of tokens (util/buffer.h's growth rule). */
typedef struct token_list {
    tl_token *v;
    size_t n, cap;
} token_list;

bool token_list_push(token_list *l, tl_token t);
/* Makes the list hold exactly tokens[0..n). */
bool token_list_set(token_list *l, const tl_token *tokens, size_t n);

struct tl_drafter {
    tl_draft_params params;
    token_list history; /* the sequence's tokens: those given by tl_drafter_begin, then every accepted one */
    /* Writes up to max tokens likely to follow history into out; returns how
     * many (0: no draft). Failures are not errors: the step goes on undrafted. */
    int32_t (*propose)(tl_drafter *d, tl_token *out, int32_t max);
    /* What the last propose spent bringing a draft model up to the history
     * before drafting (0 tokens for drafters without a model). */
    int32_t caught_up;
    double caught_up_ms;
    void (*free)(tl_drafter *d);
    /* Optional: readies the drafter for the history tl_drafter_begin set
     * (a draft model evaluates the prompt then, with the target's prompt,
     * rather than inside the first step). */
    void (*prepare)(tl_drafter *d);
};

/* The common part of a new drafter (params validated; NULL params: defaults). */
tl_status drafter_init(tl_drafter *d, const tl_draft_params *params, tl_error *err);

/* Records an accepted token (false: out of memory). */
bool drafter_accept(tl_drafter *d, tl_token token);

#endif /* TL_GENERATE_DRAFTER_H */
