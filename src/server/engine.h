/*
 * engine.h — generation for one loaded model, shared by every request that
 * uses it (engine.c).
 *
 * The engine owns one tl_context with `n_slots` sequences and a scheduler
 * thread. A request (gen_request) waits in a bounded queue until a slot is
 * free; then, at every step, the scheduler builds one batch holding the next
 * prompt chunk of slots still reading their prompt and one token for each
 * generating slot, runs tl_decode_batch once, and hands each slot's logits
 * to its generator (src/generate), which samples and releases the text.
 * New requests join between steps (continuous batching). With speculative
 * decoding each slot has a drafter (a draft model's context of its own, or
 * prompt lookup): its generator asks for the accepted token plus the drafts,
 * and all of them join the same batch. A slot keeps its
 * tokens after a request ends, so a follow-up request whose prompt starts
 * the same way (a chat's next turn) reuses that cache.
 *
 * Text reaches the request through on_text as it is produced (stop strings
 * are held back until they can no longer match); on_text is also called with
 * len 0 while the prompt is evaluated, to ask whether the client is still
 * there (return false to cancel). on_done is called exactly
 * once at the end, from the scheduler thread, after which the engine no
 * longer touches the request.
 */
#ifndef TL_SERVER_ENGINE_H
#define TL_SERVER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

typedef struct engine engine;

typedef struct gen_result {
    const char *finish_reason; /* "stop" (EOG or a stop string), "length", "cancelled", "error" */
    char error[256];           /* when "error" */
    int32_t n_prompt;          /* prompt tokens */
    int32_t n_prompt_cached;   /* of which reused from the slot's cache */
    int32_t n_generated;
    double queue_ms;      /* waiting for a slot */
    double prompt_ms;     /* evaluating the uncached prompt tokens */
    double generation_ms; /* from the first sampled token to the last */
    double total_ms;      /* submit to done */
    bool speculative;     /* drafts were used: the two counts below mean something */
    int64_t n_drafted, n_draft_accepted;
} gen_result;

typedef struct gen_request {
    /* Input, owned by the caller until on_done. */
    const tl_token *prompt;
    int32_t n_prompt;
    tl_sampler_params sampling; /* logit_bias is copied at submit */
    int32_t max_tokens;         /* < 0: until the end of the turn or a full context */
    const char *const *stop;    /* stop strings (not included in the text) */
    int n_stop;
    bool ignore_eos;     /* keep going past end-of-generation tokens */
    bool no_speculative; /* generate without drafts ("speculative": false) */

    /* Output. on_text returns false to cancel (the client went away). */
    bool (*on_text)(void *user, const char *text, size_t len);
    void (*on_done)(void *user, const gen_result *result);
    void *user;

    /* The engine's bookkeeping; zero-initialise. */
    struct gen_request *next;
    double submitted_at;
} gen_request;

typedef struct engine_params {
    int n_slots;            /* concurrent generations (tl_context n_seq) */
    uint32_t n_ctx;         /* positions per slot; 0 = the model's, at most 4096 */
    int n_threads;          /* 0 = physical cores */
    int n_batch;            /* 0 = 512 */
    int queue_limit;        /* requests waiting for a slot before engine_submit refuses */
    const char *end_marker; /* template end-of-turn text ("<|im_end|>"), or NULL/"" */
    /* Speculative decoding: a draft model (borrowed; its vocabulary checked
     * by the caller), else prompt lookup of n-grams up to `lookup` (0: off). */
    const tl_model *draft_model;
    int32_t lookup;
    tl_draft_params draft;
    int draft_threads;    /* 0: n_threads */
    uint32_t draft_n_ctx; /* the draft model's context per slot; 0: a slot's */
} engine_params;

/* Makes the context and starts the scheduler thread; NULL with *err set. */
engine *engine_new(const tl_model *model, const engine_params *params, tl_error *err);
/* Cancels every request (each gets on_done "cancelled") and stops. */
void engine_free(engine *e);

typedef enum engine_submit_status {
    ENGINE_QUEUED,     /* on_done will be called */
    ENGINE_BUSY,       /* the queue is full: answer 503 with Retry-After */
    ENGINE_TOO_LONG,   /* the prompt does not fit a slot's context: 400 */
    ENGINE_BAD_PARAMS, /* sampling parameters rejected: 400, message in err */
} engine_submit_status;

engine_submit_status engine_submit(engine *e, gen_request *r, tl_error *err);

/* Positions per slot (prompt + reply must fit). */
uint32_t engine_context_size(const engine *e);
size_t engine_memory(const engine *e);

typedef struct engine_stats {
    int n_slots, active, queued;
    uint64_t requests, prompt_tokens, generated_tokens;
    double generation_ms; /* summed over requests */
} engine_stats;
void engine_get_stats(engine *e, engine_stats *out);

/* Runs a request to the end on the calling thread's behalf: collects the
 * text (malloc'd, *text) and the result. For non-streaming answers. The
 * request's on_text, if set, is only asked (with len 0) whether to go on;
 * its on_done is not used. */
engine_submit_status engine_generate(engine *e, gen_request *r, char **text, size_t *len, gen_result *result,
                                     tl_error *err);

#endif /* TL_SERVER_ENGINE_H */
