/*
 * drafter.c — the parts every drafter shares (drafter.h): parameters and
 * their defaults (llama.cpp's --draft-max 16, --draft-min 0,
 * --draft-p-min 0.75), the token history, begin and free.
 */
#include <stdlib.h>
#include <string.h>

#include "generate/drafter.h"
#include "util/buffer.h"
#include "util/error.h"

/* Drafts longer than this are cut: the verification batch stays within the
 * runs the attention evaluates token by token (bit-identical logits). */
#define DRAFT_MAX_LIMIT 16

tl_draft_params tl_draft_default_params(void) {
    return (tl_draft_params){.n_max = 16, .n_min = 0, .p_min = 0.75f, .adaptive = true};
}

bool token_list_push(token_list *l, tl_token t) {
    if (l->n == l->cap) {
        tl_token *v = tl_grow(l->v, &l->cap, l->n + 1, sizeof *v, 256);
        if (!v) return false;
        l->v = v;
    }
    l->v[l->n++] = t;
    return true;
}

bool token_list_set(token_list *l, const tl_token *tokens, size_t n) {
    if (n > l->cap) {
        tl_token *v = tl_grow(l->v, &l->cap, n, sizeof *v, 256);
        if (!v) return false;
        l->v = v;
    }
    if (n) memcpy(l->v, tokens, n * sizeof *tokens);
    l->n = n;
    return true;
}

tl_status drafter_init(tl_drafter *d, const tl_draft_params *params, tl_error *err) {
    d->params = params ? *params : tl_draft_default_params();
    const tl_draft_params *p = &d->params;
    if (p->n_max < 0 || p->n_max > DRAFT_MAX_LIMIT)
        return tl_fail(err, TL_ERR_ARGUMENT, "draft-max must be between 0 and %d, got %d", DRAFT_MAX_LIMIT, p->n_max);
    if (p->n_min < 0 || p->n_min > p->n_max)
        return tl_fail(err, TL_ERR_ARGUMENT, "draft-min must be between 0 and draft-max (%d), got %d", p->n_max,
                       p->n_min);
    if (!(p->p_min >= 0.0f && p->p_min <= 1.0f))
        return tl_fail(err, TL_ERR_ARGUMENT, "draft-p-min must be between 0 and 1, got %g", (double)p->p_min);
    return TL_OK;
}

bool drafter_accept(tl_drafter *d, tl_token token) {
    return token_list_push(&d->history, token);
}

tl_status tl_drafter_begin(tl_drafter *d, const tl_token *tokens, int32_t n_tokens, tl_error *err) {
    if (n_tokens < 0 || (n_tokens > 0 && !tokens)) return tl_fail(err, TL_ERR_ARGUMENT, "no tokens for the drafter");
    if (!token_list_set(&d->history, tokens, (size_t)n_tokens)) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (d->prepare) d->prepare(d);
    return TL_OK;
}

void tl_drafter_free(tl_drafter *d) {
    if (!d) return;
    free(d->history.v);
    d->free(d);
}
