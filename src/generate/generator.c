/*
 * generator.c — one reply of one sequence (tl_generator in tinyllm.h): the
 * single implementation of sample → end-of-generation check → accept →
 * streaming detokenization → stop strings → limits → the tokens to
 * evaluate next, used by `tinyllm run`, `tinyllm chat` and the server's
 * engine (one generator per slot inside its batched step).
 *
 * Without a drafter a step accepts one token and feeds it, at the position
 * after the cached ones, and the next step consumes one row of logits. With
 * a drafter (speculative decoding, drafter.h) a step feeds the accepted
 * token followed by drafted ones, and the next step draws from their rows
 * in order, keeping each draft the draw equals and stopping at the first it
 * does not: that draw is the target's own token, fed next at the position
 * right after the kept drafts (the event's feed_pos tells the caller to
 * forget the rejected ones). How many tokens are drafted is
 * draft_policy.c's choice (acceptance and measured costs).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "generate/draft_policy.h"
#include "generate/drafter.h"
#include "generate/stop_text.h"
#include "tinyllm.h"
#include "util/error.h"

struct tl_generator {
    const tl_model *model;
    tl_sampler *sampler;
    int32_t n_predict;
    bool ignore_eos;
    char **stops; /* owned copies of the non-empty stop strings */
    int32_t n_stops;
    tl_detokenizer *detok;
    stop_text text;
    uint32_t n_past, n_ctx; /* positions the sequence holds (before the tokens fed last) and may hold */
    bool fed;               /* the last step fed tokens (n_rows of them, at n_past) */
    int32_t n_rows;         /* logits rows the next step consumes */
    int32_t n_generated;
    tl_token token; /* the token accepted by the last step, fed next */
    tl_stop_reason stop;
    atomic_bool cancel;
    /* Speculative decoding (NULL drafter: off) */
    tl_drafter *drafter;
    tl_token feed[1 + 16]; /* the token fed next and the drafts after it */
    tl_token accepted[1 + 16];
    int32_t n_drafted; /* drafts in feed (n_rows - 1) */
    draft_policy policy;
    tl_draft_stats stats;
};

const char *tl_stop_reason_name(tl_stop_reason reason) {
    static const char *const names[] = {
        [TL_STOP_NONE] = "none",     [TL_STOP_EOG] = "eog",         [TL_STOP_STOP_STRING] = "stop",
        [TL_STOP_LENGTH] = "length", [TL_STOP_CONTEXT] = "context", [TL_STOP_CANCELLED] = "cancelled",
        [TL_STOP_ERROR] = "error",
    };
    return (unsigned)reason < sizeof names / sizeof *names ? names[reason] : "unknown";
}

tl_generator_params tl_generator_default_params(void) {
    return (tl_generator_params){.n_predict = -1};
}

void tl_generator_free(tl_generator *g) {
    if (!g) return;
    for (int32_t i = 0; i < g->n_stops; i++) free(g->stops[i]);
    free(g->stops);
    tl_detokenizer_free(g->detok);
    stop_text_free(&g->text);
    free(g);
}

/* Copies the non-empty stop strings. */
static bool copy_stops(tl_generator *g, const tl_generator_params *p) {
    if (p->n_stops <= 0 || !p->stops) return true;
    if (!(g->stops = calloc((size_t)p->n_stops, sizeof *g->stops))) return false;
    for (int32_t i = 0; i < p->n_stops; i++) {
        if (!p->stops[i] || !p->stops[i][0]) continue;
        if (!(g->stops[g->n_stops] = strdup(p->stops[i]))) return false;
        g->n_stops++;
    }
    return true;
}

tl_status tl_generator_new(const tl_model *model, tl_sampler *sampler, const tl_generator_params *params,
                           tl_generator **out, tl_error *err) {
    *out = NULL;
    if (!model || !sampler) return tl_fail(err, TL_ERR_ARGUMENT, "a generator needs a model and a sampler");
    const tl_generator_params defaults = tl_generator_default_params();
    const tl_generator_params *p = params ? params : &defaults;
    tl_generator *g = calloc(1, sizeof *g);
    if (!g) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    g->model = model;
    g->sampler = sampler;
    g->n_predict = p->n_predict;
    g->ignore_eos = p->ignore_eos;
    g->detok = tl_detokenizer_new(model, p->special);
    if (!g->detok || !copy_stops(g, p)) {
        tl_generator_free(g);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    tl_generator_begin(g, 0, 0);
    *out = g;
    return TL_OK;
}

void tl_generator_begin(tl_generator *g, uint32_t n_past, uint32_t n_ctx) {
    size_t n;
    tl_detokenizer_flush(g->detok, &n); /* drops what an earlier reply left */
    stop_text_free(&g->text);
    stop_text_init(&g->text, (const char *const *)g->stops, g->n_stops);
    g->n_past = n_past;
    g->n_ctx = n_ctx;
    g->n_rows = 1;
    g->n_generated = 0;
    g->stop = TL_STOP_NONE;
    g->fed = false;
    g->n_drafted = 0;
    draft_policy_begin(&g->policy);
    /* what tl_drafter_begin just spent evaluating the prompt in a draft model */
    if (g->drafter) draft_policy_caught_up(&g->policy, g->drafter->caught_up, g->drafter->caught_up_ms);
    g->stats = (tl_draft_stats){0};
    atomic_store(&g->cancel, false);
}

void tl_generator_set_drafter(tl_generator *g, tl_drafter *d) {
    g->drafter = d;
}

tl_draft_stats tl_generator_draft_stats(const tl_generator *g) {
    return g->stats;
}

void tl_generator_cancel(tl_generator *g) {
    atomic_store(&g->cancel, true);
}

const char *tl_generator_text(const tl_generator *g, size_t *len) {
    *len = g->text.sent;
    return g->text.bytes ? g->text.bytes : "";
}

/* Ends the reply: the detokenizer's held bytes join the text (unless a stop
 * string already cut it) and everything left is released. */
static tl_status finish(tl_generator *g, tl_generation_event *ev, tl_stop_reason reason, tl_error *err) {
    bool out_of_memory = reason == TL_STOP_ERROR;
    if (reason != TL_STOP_STOP_STRING && !out_of_memory) {
        size_t n;
        const char *rest = tl_detokenizer_flush(g->detok, &n);
        if (!stop_text_append(&g->text, rest, n))
            out_of_memory = true;
        else if (g->text.stopped)
            reason = TL_STOP_STOP_STRING;
    }
    if (out_of_memory) reason = TL_STOP_ERROR;
    ev->text = stop_text_release(&g->text, true, &ev->text_len);
    ev->n_feed = 0;
    ev->feed_pos = g->n_past;
    ev->stop = g->stop = reason;
    ev->n_generated = g->n_generated;
    return out_of_memory ? tl_fail(err, TL_ERR_NOMEM, "out of memory") : TL_OK;
}

/* Adds a drawn token to the reply: the sampler's history, the drafter's,
 * the text and the limits. TL_STOP_NONE while the reply goes on. */
static tl_stop_reason accept_token(tl_generator *g, tl_token token, tl_generation_event *ev) {
    tl_sampler_accept(g->sampler, token);
    if (g->drafter && !drafter_accept(g->drafter, token)) return TL_STOP_ERROR;
    g->accepted[ev->n_accepted++] = token;
    g->n_generated++;
    size_t n;
    const char *piece = tl_detokenizer_push(g->detok, token, &n);
    if (!stop_text_append(&g->text, piece, n)) return TL_STOP_ERROR;
    if (g->text.stopped) return TL_STOP_STOP_STRING;
    if (g->n_predict >= 0 && g->n_generated >= g->n_predict) return TL_STOP_LENGTH;
    if (atomic_load(&g->cancel)) return TL_STOP_CANCELLED;
    return TL_STOP_NONE;
}

/* How many tokens to draft next: the policy's budget, never more than the
 * context or n_predict can take. */
static int32_t draft_budget(tl_generator *g) {
    int32_t k = draft_policy_budget(&g->policy, &g->drafter->params);
    const int64_t room = (int64_t)g->n_ctx - g->n_past - 1; /* positions after the fed token */
    if (k > room) k = room > 0 ? (int32_t)room : 0;
    if (g->n_predict >= 0 && k > g->n_predict - g->n_generated - 1) k = g->n_predict - g->n_generated - 1;
    return k > 0 ? k : 0;
}

/* After an accepted token: the tokens to feed next (it and any drafts). */
static void plan_feed(tl_generator *g, tl_generation_event *ev) {
    g->feed[0] = g->token;
    g->n_drafted = 0;
    if (g->drafter) {
        const int32_t budget = draft_budget(g);
        if (budget > 0) {
            const double t0 = tl_time_ms();
            int32_t n = g->drafter->propose(g->drafter, g->feed + 1, budget);
            draft_policy_drafted(&g->policy, n, tl_time_ms() - t0, g->drafter->caught_up, g->drafter->caught_up_ms);
            if (n < g->drafter->params.n_min) n = 0;
            g->n_drafted = n;
        }
    }
    g->n_rows = 1 + g->n_drafted;
    if (g->drafter) draft_policy_fed(&g->policy, g->n_rows, tl_time_ms());
    ev->feed = g->feed;
    ev->n_feed = g->n_rows;
    ev->feed_pos = g->n_past;
    g->fed = true;
}

/* Records how a step's drafts fared, for the stats and the policy. */
static void count_drafts(tl_generator *g, int32_t kept) {
    if (g->n_drafted == 0) return;
    g->stats.steps++;
    g->stats.drafted += g->n_drafted;
    g->stats.accepted += kept;
    draft_policy_kept(&g->policy, g->n_drafted, kept);
}

/* One step: a draw from each row in turn; a draw equal to the draft the row
 * checks moves on to the next row, any other draw ends the step (and the
 * last row always does). Then the next feed is planned. */
static tl_status step(tl_generator *g, const float *logits, tl_generation_event *ev, tl_error *err) {
    if (g->drafter) draft_policy_evaluated(&g->policy, tl_time_ms());
    const int32_t n_vocab = tl_vocab_size(g->model);
    int32_t kept = 0;
    tl_stop_reason reason = TL_STOP_NONE;
    for (int32_t row = 0; row < g->n_rows; row++) {
        if (g->n_predict >= 0 && g->n_generated >= g->n_predict) {
            reason = TL_STOP_LENGTH;
            break;
        }
        const tl_token token = tl_sampler_sample(g->sampler, logits + (size_t)row * (size_t)n_vocab);
        ev->sampled = true;
        if (!g->ignore_eos && tl_token_is_eog(g->model, token)) {
            reason = TL_STOP_EOG;
            break;
        }
        g->token = token;
        reason = accept_token(g, token, ev);
        if (reason != TL_STOP_NONE || row == g->n_drafted || token != g->feed[1 + row]) break;
        kept++;
    }
    count_drafts(g, kept);
    /* feed[0] and the kept drafts hold cached positions; the next token goes after them. */
    if (g->fed) g->n_past += 1 + (uint32_t)kept;
    g->fed = false;
    ev->accepted = g->accepted;
    if (reason == TL_STOP_NONE && g->n_past >= g->n_ctx) reason = TL_STOP_CONTEXT;
    if (reason != TL_STOP_NONE) return finish(g, ev, reason, err);
    ev->text = stop_text_release(&g->text, false, &ev->text_len);
    plan_feed(g, ev);
    ev->n_generated = g->n_generated;
    return TL_OK;
}

tl_status tl_generator_next(tl_generator *g, const float *logits, int32_t n_rows, tl_generation_event *ev,
                            tl_error *err) {
    *ev = (tl_generation_event){.text = "", .feed_pos = g->n_past, .n_generated = g->n_generated, .stop = g->stop};
    if (g->stop != TL_STOP_NONE) return TL_OK; /* the reply is over: nothing more */
    if (!logits || n_rows != g->n_rows) {
        ev->stop = g->stop = TL_STOP_ERROR;
        return tl_fail(err, TL_ERR_ARGUMENT, "the generator asked for %d rows of logits, got %d%s", g->n_rows, n_rows,
                       logits ? "" : " (none)");
    }
    return step(g, logits, ev, err);
}

tl_status tl_generator_step(tl_generator *g, tl_context *ctx, tl_generation_event *ev, tl_error *err) {
    /* One row: the last position's. A policy asking for several rows gets
     * them all from a decode with all_logits (below), starting at row 0. */
    const float *logits = tl_get_logits(ctx, g->n_rows == 1 ? -1 : 0);
    tl_status st = tl_generator_next(g, logits, g->n_rows, ev, err);
    if (st != TL_OK || ev->n_feed == 0) return st;
    if (tl_context_used(ctx) > ev->feed_pos) tl_context_truncate(ctx, ev->feed_pos);
    st = tl_decode(ctx, ev->feed, ev->n_feed, ev->feed_pos, ev->n_feed > 1, err);
    if (st != TL_OK) ev->stop = g->stop = TL_STOP_ERROR;
    return st;
}
