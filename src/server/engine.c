/*
 * engine.c — continuous batching for one loaded model (see engine.h).
 *
 * The scheduler thread loops: move queued requests into free slots (the slot
 * whose cached tokens share the longest prefix with the prompt, so a chat's
 * next turn reuses its cache), build one batch — the tokens every generating
 * slot's generator asks for (one token, or one plus its drafts), then prompt tokens of slots still reading their prompt
 * up to n_batch — evaluate it with tl_decode_batch, and hand the logits of
 * every slot that asked for some to its generator (src/generate: sampling,
 * stop strings, text, limits), which says what that slot evaluates next.
 * Requests wait in a bounded FIFO.
 */
#include "server/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/buffer.h"

/* A request while the engine has it. */
typedef struct job {
    gen_request *req;
    tl_sampler *sampler;
    tl_logit_bias *logit_bias; /* copy of req->sampling.logit_bias */
    const char **stops;        /* the request's stop strings and the template's end marker */
    int n_stops;
    struct job *next;
    double submitted_at;
} job;

typedef struct slot {
    int32_t seq;      /* its sequence in the context */
    job *job;         /* NULL: free */
    tl_token *cached; /* the tokens in the sequence's cache, in order */
    int32_t n_cached;
    size_t capacity;
    int32_t n_prompt_done;  /* prompt tokens in the cache for this job */
    bool generating;        /* the prompt is done; ev says what to evaluate next */
    tl_generator *gen;      /* the reply's generator */
    tl_generation_event ev; /* its last event: the tokens to feed, at which positions */
    tl_drafter *drafter;    /* speculative decoding (NULL: off) */
    tl_context *draft_ctx;  /* the draft model's context, with a draft model */
    gen_result result;
    double started_at, first_token_at;
} slot;

struct engine {
    const tl_model *model;
    tl_context *ctx;
    engine_params params;
    char *end_marker;
    uint32_t n_ctx, n_batch;
    slot *slots;
    /* The batch being built: token, sequence, wants logits, and which slot. */
    tl_token *batch_tokens;
    int32_t *batch_seq;
    bool *batch_want;
    slot **batch_slots; /* the slot of each token */
    slot **logit_slots; /* the slot of each logits row, in order */

    pthread_t thread;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;
    job *queue_head, *queue_tail;
    int queued, active;
    bool stopping;
    engine_stats stats;
};

/* The server's words for why a reply ended (gen_result.finish_reason, which
 * the APIs turn into OpenAI's finish_reason and Ollama's done_reason). */
static const char *const finish_names[] = {
    [TL_STOP_NONE] = "stop",     [TL_STOP_EOG] = "stop",       [TL_STOP_STOP_STRING] = "stop",
    [TL_STOP_LENGTH] = "length", [TL_STOP_CONTEXT] = "length", [TL_STOP_CANCELLED] = "cancelled",
    [TL_STOP_ERROR] = "error",
};

/* ---- jobs ------------------------------------------------------------------ */

static void job_free(job *j) {
    if (!j) return;
    tl_sampler_free(j->sampler);
    free(j->logit_bias);
    free(j->stops);
    free(j);
}

/* Makes the engine's copy of a request: its sampler (checking the
 * parameters) and its stop strings. NULL with *err set. */
static job *job_new(engine *e, gen_request *r, tl_error *err) {
    job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->req = r;
    tl_sampler_params sp = r->sampling;
    if (sp.n_logit_bias > 0) {
        if (!sp.logit_bias || !(j->logit_bias = malloc((size_t)sp.n_logit_bias * sizeof *j->logit_bias))) {
            job_free(j);
            return NULL;
        }
        memcpy(j->logit_bias, sp.logit_bias, (size_t)sp.n_logit_bias * sizeof *j->logit_bias);
        sp.logit_bias = j->logit_bias;
    }
    if (tl_sampler_new(e->model, &sp, &j->sampler, err) != TL_OK) {
        job_free(j);
        return NULL;
    }
    j->stops = malloc((size_t)(r->n_stop + 1) * sizeof *j->stops);
    if (!j->stops) {
        job_free(j);
        return NULL;
    }
    for (int i = 0; i < r->n_stop; i++)
        if (r->stop[i] && r->stop[i][0]) j->stops[j->n_stops++] = r->stop[i];
    if (e->end_marker[0]) j->stops[j->n_stops++] = e->end_marker;
    return j;
}

/* ---- slots ----------------------------------------------------------------- */

static bool slot_remember(slot *s, tl_token token) {
    tl_token *grown = tl_grow(s->cached, &s->capacity, (size_t)s->n_cached + 1, sizeof *grown, 256);
    if (!grown) return false;
    s->cached = grown;
    s->cached[s->n_cached++] = token;
    return true;
}

static int32_t common_prefix(const slot *s, const gen_request *r) {
    int32_t n = 0;
    while (n < s->n_cached && n < r->n_prompt && s->cached[n] == r->prompt[n]) n++;
    return n;
}

/* Gives a queued job to the free slot that already holds most of its prompt. */
static void slot_start(engine *e, slot *s, job *j, double now) {
    gen_request *r = j->req;
    int32_t keep = common_prefix(s, r);
    if (keep == r->n_prompt) keep--; /* the last prompt token is evaluated again for its logits */
    tl_context_seq_truncate(e->ctx, s->seq, (uint32_t)keep);
    s->n_cached = keep;
    s->job = j;
    s->n_prompt_done = keep;
    s->generating = false;
    s->ev = (tl_generation_event){0};
    tl_generator_params gp = tl_generator_default_params();
    /* max_tokens 0 has always given one token: the first is drawn before the limit is looked at. */
    gp.n_predict = r->max_tokens == 0 ? 1 : r->max_tokens;
    gp.ignore_eos = r->ignore_eos;
    gp.stops = j->stops;
    gp.n_stops = j->n_stops;
    tl_error err = {0};
    tl_drafter *drafter = s->drafter && !r->no_speculative ? s->drafter : NULL;
    if (drafter && tl_drafter_begin(drafter, r->prompt, r->n_prompt, &err) != TL_OK) drafter = NULL;
    if (tl_generator_new(e->model, j->sampler, &gp, &s->gen, &err) == TL_OK) {
        tl_generator_set_drafter(s->gen, drafter);
        tl_generator_begin(s->gen, (uint32_t)r->n_prompt, e->n_ctx); /* step() fails a slot without one */
    }
    s->result = (gen_result){.n_prompt = r->n_prompt, .n_prompt_cached = keep, .queue_ms = now - j->submitted_at};
    s->started_at = now;
    s->first_token_at = 0;
    tl_sampler_reset(j->sampler);
    for (int32_t i = 0; i < r->n_prompt; i++) tl_sampler_accept(j->sampler, r->prompt[i]);
}

/* Ends a slot's job (its text has been handed out), reports, and frees the
 * slot (its cache stays for the next request). Called without the lock. */
static void slot_finish(engine *e, slot *s, tl_stop_reason reason, double now) {
    job *j = s->job;
    gen_request *r = j->req;
    s->result.finish_reason = finish_names[reason];
    s->result.n_generated = s->ev.n_generated;
    if (s->first_token_at > 0) s->result.generation_ms = now - s->first_token_at;
    s->result.total_ms = now - j->submitted_at;
    if (s->gen && s->drafter && !r->no_speculative) {
        const tl_draft_stats ds = tl_generator_draft_stats(s->gen);
        s->result.speculative = true;
        s->result.n_drafted = ds.drafted;
        s->result.n_draft_accepted = ds.accepted;
    }
    tl_generator_free(s->gen);
    s->gen = NULL;
    s->job = NULL;

    pthread_mutex_lock(&e->lock);
    e->active--;
    e->stats.requests++;
    e->stats.prompt_tokens += (uint64_t)(s->result.n_prompt - s->result.n_prompt_cached);
    e->stats.generated_tokens += (uint64_t)s->result.n_generated;
    e->stats.generation_ms += s->result.generation_ms;
    pthread_mutex_unlock(&e->lock);

    const gen_result result = s->result;
    job_free(j);
    r->on_done(r->user, &result); /* the request may be gone after this */
}

static void slot_fail(engine *e, slot *s, const char *message, double now) {
    size_t n = strlen(message);
    if (n >= sizeof s->result.error) n = sizeof s->result.error - 1;
    memcpy(s->result.error, message, n);
    s->result.error[n] = 0;
    slot_finish(e, s, TL_STOP_ERROR, now);
}

/* Hands a slot's logits (n_rows rows) to its generator, streams the text it
 * releases, and ends the job when the reply stops. */
static void slot_sample(engine *e, slot *s, const float *logits, int32_t n_rows, double now) {
    gen_request *r = s->job->req;
    if (!s->generating) { /* the prompt is done */
        s->generating = true;
        s->result.prompt_ms = now - s->started_at;
    }
    tl_error err = {0};
    const tl_status st = tl_generator_next(s->gen, logits, n_rows, &s->ev, &err);
    if (s->ev.sampled && s->first_token_at == 0) s->first_token_at = now;
    if (st != TL_OK)
        slot_fail(e, s, err.message, now);
    else if (s->ev.text_len > 0 && !r->on_text(r->user, s->ev.text, s->ev.text_len))
        slot_finish(e, s, TL_STOP_CANCELLED, now);
    else if (s->ev.stop != TL_STOP_NONE)
        slot_finish(e, s, s->ev.stop, now);
}

/* ---- the scheduler ---------------------------------------------------------- */

/* The free slot sharing the longest prefix with the job's prompt. */
static slot *best_free_slot(engine *e, const job *j) {
    slot *best = NULL;
    int32_t best_common = -1;
    for (int i = 0; i < e->params.n_slots; i++) {
        slot *s = &e->slots[i];
        if (s->job) continue;
        const int32_t common = common_prefix(s, j->req);
        if (common > best_common) {
            best = s;
            best_common = common;
        }
    }
    return best;
}

/* Moves queued jobs into free slots; under the lock. */
static void assign_jobs(engine *e, double now) {
    while (e->queue_head) {
        slot *s = best_free_slot(e, e->queue_head);
        if (!s) return;
        job *j = e->queue_head;
        e->queue_head = j->next;
        if (!e->queue_head) e->queue_tail = NULL;
        e->queued--;
        e->active++;
        slot_start(e, s, j, now);
    }
}

/* Adds one token of `s` to the batch. */
static void batch_add(engine *e, int32_t *n, slot *s, tl_token token, bool want_logits, int32_t *n_rows) {
    e->batch_tokens[*n] = token;
    e->batch_seq[*n] = s->seq;
    e->batch_want[*n] = want_logits;
    e->batch_slots[*n] = s;
    if (want_logits) e->logit_slots[(*n_rows)++] = s;
    (*n)++;
}

/* Builds and evaluates one batch; samples for every slot with logits. */
static void step(engine *e) {
    int32_t n = 0, n_rows = 0;
    const int32_t budget = (int32_t)e->n_batch;
    /* The generating slots first: what each generator asks for (one token
     * today) keeps every reply moving. */
    for (int i = 0; i < e->params.n_slots && n < budget; i++) {
        slot *s = &e->slots[i];
        if (!s->job || !s->generating || n + s->ev.n_feed > budget) continue;
        if (s->n_cached > (int32_t)s->ev.feed_pos) { /* a step policy taking tokens back */
            tl_context_seq_truncate(e->ctx, s->seq, s->ev.feed_pos);
            s->n_cached = (int32_t)s->ev.feed_pos;
        }
        for (int32_t k = 0; k < s->ev.n_feed; k++) batch_add(e, &n, s, s->ev.feed[k], true, &n_rows);
    }
    for (int i = 0; i < e->params.n_slots && n < budget; i++) {
        slot *s = &e->slots[i];
        if (!s->job || s->generating) continue;
        const gen_request *r = s->job->req;
        if (!s->gen) { /* slot_start could not make it */
            slot_fail(e, s, "out of memory", tl_time_ms());
            continue;
        }
        /* A client gone while its prompt waits: stop before spending more on it. */
        if (!r->on_text(r->user, "", 0)) {
            slot_finish(e, s, TL_STOP_CANCELLED, tl_time_ms());
            continue;
        }
        while (s->n_prompt_done < r->n_prompt && n < budget) {
            const tl_token token = r->prompt[s->n_prompt_done++];
            batch_add(e, &n, s, token, s->n_prompt_done == r->n_prompt, &n_rows);
        }
    }
    if (n == 0) return;
    tl_error err = {0};
    const tl_status st = tl_decode_batch(e->ctx, e->batch_tokens, e->batch_seq, e->batch_want, n, &err);
    const double now = tl_time_ms();
    /* Remember what each sequence now holds (or, after a failure, fail its slot). */
    for (int32_t i = 0; st == TL_OK && i < n; i++) {
        slot *s = e->batch_slots[i];
        if (s->job && !slot_remember(s, e->batch_tokens[i])) slot_fail(e, s, "out of memory", now);
    }
    if (st != TL_OK) {
        for (int i = 0; i < e->params.n_slots; i++) {
            slot *s = &e->slots[i];
            if (!s->job) continue;
            tl_context_seq_truncate(e->ctx, s->seq, 0);
            s->n_cached = 0;
            slot_fail(e, s, err.message, now);
        }
        return;
    }
    /* A slot's rows are consecutive (its tokens were added together). */
    for (int32_t k = 0, rows; k < n_rows; k += rows) {
        slot *s = e->logit_slots[k];
        for (rows = 1; k + rows < n_rows && e->logit_slots[k + rows] == s;) rows++;
        if (s->job) slot_sample(e, s, tl_get_logits(e->ctx, k), rows, now);
    }
}

static void *scheduler(void *arg) {
    engine *e = arg;
    pthread_mutex_lock(&e->lock);
    while (!e->stopping) {
        assign_jobs(e, tl_time_ms());
        if (e->active == 0) {
            pthread_cond_wait(&e->wake, &e->lock);
            continue;
        }
        pthread_mutex_unlock(&e->lock);
        step(e);
        pthread_mutex_lock(&e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    /* Stopping: every request still held ends as cancelled. */
    const double now = tl_time_ms();
    for (int i = 0; i < e->params.n_slots; i++)
        if (e->slots[i].job) slot_finish(e, &e->slots[i], TL_STOP_CANCELLED, now);
    for (;;) {
        pthread_mutex_lock(&e->lock);
        job *j = e->queue_head;
        if (j) {
            e->queue_head = j->next;
            e->queued--;
        }
        pthread_mutex_unlock(&e->lock);
        if (!j) break;
        gen_result result = {.finish_reason = finish_names[TL_STOP_CANCELLED],
                             .n_prompt = j->req->n_prompt,
                             .total_ms = now - j->submitted_at};
        gen_request *r = j->req;
        job_free(j);
        r->on_done(r->user, &result);
    }
    return NULL;
}

/* ---- the API ---------------------------------------------------------------- */

/* Everything engine_new made but the thread. */
static void free_parts(engine *e) {
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    for (int i = 0; e->slots && i < e->params.n_slots; i++) {
        free(e->slots[i].cached);
        tl_drafter_free(e->slots[i].drafter);
        tl_context_free(e->slots[i].draft_ctx);
    }
    free(e->slots);
    free(e->batch_tokens);
    free(e->batch_seq);
    free(e->batch_want);
    free(e->batch_slots);
    free(e->logit_slots);
    tl_context_free(e->ctx);
    free(e->end_marker);
    free(e);
}

/* One drafter per slot when the parameters ask for speculation: prompt
 * lookup, or a draft model with a one-sequence context per slot (as large
 * as a slot's). */
static bool make_drafters(engine *e, tl_error *err) {
    const engine_params *p = &e->params;
    if (p->draft.n_max <= 0 || (!p->draft_model && p->lookup <= 0)) return true;
    tl_context_params cp = tl_context_default_params();
    cp.n_ctx = p->draft_n_ctx ? p->draft_n_ctx : e->n_ctx;
    cp.n_threads = (uint32_t)(p->draft_threads > 0 ? p->draft_threads : p->n_threads > 0 ? p->n_threads : 0);
    for (int i = 0; i < p->n_slots; i++) {
        slot *s = &e->slots[i];
        if (!p->draft_model) {
            if (tl_drafter_new_lookup(p->lookup, &p->draft, &s->drafter, err) != TL_OK) return false;
        } else if (tl_context_new(p->draft_model, &cp, &s->draft_ctx, err) != TL_OK ||
                   tl_drafter_new_model(s->draft_ctx, e->model, &p->draft, &s->drafter, err) != TL_OK) {
            return false;
        }
    }
    return true;
}

engine *engine_new(const tl_model *model, const engine_params *params, tl_error *err) {
    engine *e = calloc(1, sizeof *e);
    if (!e) {
        tl_fail(err, TL_ERR_NOMEM, "out of memory");
        return NULL;
    }
    e->model = model;
    e->params = *params;
    if (e->params.n_slots <= 0) e->params.n_slots = 1;
    if (e->params.queue_limit < 0) e->params.queue_limit = 0;
    e->end_marker = strdup(params->end_marker ? params->end_marker : "");
    tl_context_params cp = tl_context_default_params();
    cp.n_ctx = params->n_ctx;
    cp.n_threads = (uint32_t)(params->n_threads > 0 ? params->n_threads : 0);
    cp.n_batch = (uint32_t)(params->n_batch > 0 ? params->n_batch : 0);
    cp.n_seq = (uint32_t)e->params.n_slots;
    if (!e->end_marker || tl_context_new(model, &cp, &e->ctx, err) != TL_OK) {
        if (!e->end_marker) tl_fail(err, TL_ERR_NOMEM, "out of memory");
        free(e->end_marker);
        free(e);
        return NULL;
    }
    e->n_ctx = tl_context_size(e->ctx);
    e->n_batch = cp.n_batch ? cp.n_batch : 512;
    if (e->n_batch > e->n_ctx) e->n_batch = e->n_ctx;
    const size_t nb = e->n_batch;
    e->slots = calloc((size_t)e->params.n_slots, sizeof *e->slots);
    e->batch_tokens = malloc(nb * sizeof *e->batch_tokens);
    e->batch_seq = malloc(nb * sizeof *e->batch_seq);
    e->batch_want = malloc(nb * sizeof *e->batch_want);
    e->batch_slots = malloc(nb * sizeof *e->batch_slots);
    e->logit_slots = malloc(nb * sizeof *e->logit_slots);
    bool ok = e->slots && e->batch_tokens && e->batch_seq && e->batch_want && e->batch_slots && e->logit_slots;
    for (int i = 0; ok && i < e->params.n_slots; i++) e->slots[i].seq = i;
    e->stats.n_slots = e->params.n_slots;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    if (ok && !make_drafters(e, err)) {
        free_parts(e);
        return NULL;
    }
    if (!ok || pthread_create(&e->thread, NULL, scheduler, e) != 0) {
        tl_fail(err, TL_ERR_NOMEM, "cannot start the generation thread");
        free_parts(e);
        return NULL;
    }
    return e;
}

void engine_free(engine *e) {
    if (!e) return;
    pthread_mutex_lock(&e->lock);
    e->stopping = true;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    free_parts(e);
}

engine_submit_status engine_submit(engine *e, gen_request *r, tl_error *err) {
    if (r->n_prompt <= 0) {
        tl_fail(err, TL_ERR_ARGUMENT, "the prompt is empty");
        return ENGINE_BAD_PARAMS;
    }
    if ((uint32_t)r->n_prompt > e->n_ctx) {
        tl_fail(err, TL_ERR_CONTEXT_FULL, "the prompt has %d tokens, more than the context of %u", r->n_prompt,
                e->n_ctx);
        return ENGINE_TOO_LONG;
    }
    for (int32_t i = 0; i < r->n_prompt; i++)
        if (r->prompt[i] < 0 || r->prompt[i] >= tl_vocab_size(e->model)) {
            tl_fail(err, TL_ERR_ARGUMENT, "token %d of the prompt is outside the vocabulary", r->prompt[i]);
            return ENGINE_BAD_PARAMS;
        }
    tl_error job_err = {0};
    job *j = job_new(e, r, &job_err);
    if (!j) {
        if (job_err.message[0])
            tl_fail(err, job_err.status, "%s", job_err.message);
        else
            tl_fail(err, TL_ERR_NOMEM, "out of memory");
        return ENGINE_BAD_PARAMS;
    }
    j->submitted_at = tl_time_ms();
    pthread_mutex_lock(&e->lock);
    const bool full = e->queued >= e->params.queue_limit && e->active >= e->params.n_slots;
    if (full || e->stopping) {
        pthread_mutex_unlock(&e->lock);
        job_free(j);
        tl_fail(err, TL_ERR_ARGUMENT, "the server is busy: %d requests are waiting", e->queued);
        return ENGINE_BUSY;
    }
    if (e->queue_tail)
        e->queue_tail->next = j;
    else
        e->queue_head = j;
    e->queue_tail = j;
    e->queued++;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    return ENGINE_QUEUED;
}

uint32_t engine_context_size(const engine *e) {
    return e->n_ctx;
}

size_t engine_memory(const engine *e) {
    return tl_context_memory(e->ctx);
}

void engine_get_stats(engine *e, engine_stats *out) {
    pthread_mutex_lock(&e->lock);
    *out = e->stats;
    out->active = e->active;
    out->queued = e->queued;
    pthread_mutex_unlock(&e->lock);
}

/* ---- waiting for a whole reply ---------------------------------------------- */

typedef struct collected {
    bool (*still_wanted)(void *user, const char *text, size_t len); /* the caller's on_text, if any */
    void *user;
    char *text;
    size_t len, capacity;
    bool failed, done;
    gen_result result;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
} collected;

static bool collect_text(void *user, const char *text, size_t len) {
    collected *c = user;
    if (c->still_wanted && !c->still_wanted(c->user, "", 0)) return false;
    if (c->len + len + 1 > c->capacity) {
        char *grown = tl_grow(c->text, &c->capacity, c->len + len + 1, 1, 256);
        if (!grown) {
            c->failed = true;
            return false;
        }
        c->text = grown;
    }
    memcpy(c->text + c->len, text, len);
    c->len += len;
    c->text[c->len] = 0;
    return true;
}

static void collect_done(void *user, const gen_result *result) {
    collected *c = user;
    pthread_mutex_lock(&c->lock);
    c->result = *result;
    c->done = true;
    pthread_cond_signal(&c->done_cond);
    pthread_mutex_unlock(&c->lock);
}

engine_submit_status engine_generate(engine *e, gen_request *r, char **text, size_t *len, gen_result *result,
                                     tl_error *err) {
    collected c = {.still_wanted = r->on_text, .user = r->user};
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.done_cond, NULL);
    gen_request mine = *r;
    mine.on_text = collect_text;
    mine.on_done = collect_done;
    mine.user = &c;
    const engine_submit_status st = engine_submit(e, &mine, err);
    if (st == ENGINE_QUEUED) {
        pthread_mutex_lock(&c.lock);
        while (!c.done) pthread_cond_wait(&c.done_cond, &c.lock);
        pthread_mutex_unlock(&c.lock);
        if (c.failed) {
            c.result.finish_reason = finish_names[TL_STOP_ERROR];
            snprintf(c.result.error, sizeof c.result.error, "out of memory");
        }
        *result = c.result;
        *text = c.text ? c.text : strdup("");
        *len = c.len;
    } else {
        free(c.text);
    }
    pthread_mutex_destroy(&c.lock);
    pthread_cond_destroy(&c.done_cond);
    return st;
}
