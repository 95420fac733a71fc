/*
 * drafter_model.c — drafting with a smaller model (tl_drafter_new_model):
 * its greedy continuation of the sequence, token by token, stopping early
 * when its own probability of the next token falls below p_min (as
 * llama.cpp's speculative decoding does).
 *
 * The draft context caches a prefix of the history. Before drafting, the
 * cache is cut back to where it still agrees with the history (drafts the
 * target rejected are forgotten there too) and the missing tokens are
 * evaluated in one batch; the last one's logits start the draft. A history
 * longer than the draft context leaves the drafter silent (no draft), never
 * failing the reply.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate/drafter.h"
#include "model/context.h"
#include "util/error.h"

typedef struct model_drafter {
    tl_drafter base;
    tl_context *ctx;
    token_list cached;      /* the tokens the draft context holds, in position order */
    int32_t n_vocab_target; /* drafts never use ids the target lacks */
    int32_t n_vocab_draft;
} model_drafter;

/* The best token of a row of logits and its softmax probability. */
static tl_token best_token(const float *logits, int32_t n, float *p) {
    tl_token best = 0;
    for (int32_t i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i;
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) sum += exp((double)logits[i] - (double)logits[best]);
    *p = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
    return best;
}

/* Brings the draft cache to the whole history; false when it cannot. */
static bool catch_up(model_drafter *m) {
    const token_list *h = &m->base.history;
    if (h->n == 0 || h->n >= tl_context_size(m->ctx)) return false;
    size_t common = 0;
    const size_t cached = m->cached.n < tl_context_used(m->ctx) ? m->cached.n : tl_context_used(m->ctx);
    while (common < cached && common < h->n && m->cached.v[common] == h->v[common]) common++;
    if (common == h->n) common--; /* the last token is evaluated again for its logits */
    tl_context_truncate(m->ctx, (uint32_t)common);
    m->cached.n = common;
    tl_error err;
    const double t0 = tl_time_ms();
    m->base.caught_up = (int32_t)(h->n - common);
    const tl_status st = tl_decode(m->ctx, h->v + common, (int32_t)(h->n - common), (uint32_t)common, false, &err);
    m->base.caught_up_ms = tl_time_ms() - t0;
    if (st != TL_OK) {
        tl_context_truncate(m->ctx, 0);
        m->cached.n = 0;
        return false;
    }
    return token_list_set(&m->cached, h->v, h->n);
}

static int32_t model_propose(tl_drafter *d, tl_token *out, int32_t max) {
    model_drafter *m = (model_drafter *)d;
    d->caught_up = 0;
    d->caught_up_ms = 0;
    if (max <= 0 || !catch_up(m)) return 0;
    int32_t k = 0;
    while (k < max) {
        float p;
        const tl_token t = best_token(tl_get_logits(m->ctx, -1), m->n_vocab_draft, &p);
        if (p < d->params.p_min || t >= m->n_vocab_target) break;
        out[k++] = t;
        if (k == max) break;
        const uint32_t pos = tl_context_used(m->ctx);
        tl_error err;
        if (pos + 1 >= tl_context_size(m->ctx) || !token_list_push(&m->cached, t) ||
            tl_decode(m->ctx, &t, 1, pos, false, &err) != TL_OK) {
            tl_context_truncate(m->ctx, 0); /* the list and the cache no longer agree: start over next time */
            m->cached.n = 0;
            break;
        }
    }
    return k;
}

/* Evaluates the prompt in the draft context before the reply starts (a
 * failure only means the first draft catches up instead). */
static void model_prepare(tl_drafter *d) {
    model_drafter *m = (model_drafter *)d;
    (void)catch_up(m);
}

static void model_free(tl_drafter *d) {
    model_drafter *m = (model_drafter *)d;
    free(m->cached.v);
    free(m);
}

tl_status tl_drafter_new_model(tl_context *draft_ctx, const tl_model *target, const tl_draft_params *params,
                               tl_drafter **out, tl_error *err) {
    *out = NULL;
    if (!draft_ctx || !target) return tl_fail(err, TL_ERR_ARGUMENT, "a draft model needs its context and the target");
    const tl_model *draft = draft_ctx->model;
    if (!tl_model_has_decoder(draft) || tl_model_has_encoder(draft))
        return tl_fail(err, TL_ERR_UNSUPPORTED, "the draft model must be a decoder-only text generator");
    char note[256];
    TL_TRY(tl_draft_check_vocab(draft, target, note, sizeof note, err));
    model_drafter *m = calloc(1, sizeof *m);
    if (!m) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    m->base.propose = model_propose;
    m->base.free = model_free;
    m->base.prepare = model_prepare;
    m->ctx = draft_ctx;
    m->n_vocab_target = tl_vocab_size(target);
    m->n_vocab_draft = tl_vocab_size(draft);
    const tl_status st = drafter_init(&m->base, params, err);
    if (st != TL_OK) {
        free(m);
        return st;
    }
    tl_context_truncate(draft_ctx, 0);
    *out = &m->base;
    return TL_OK;
}
