/*
 * api_job.c — one generation from a handler to the engine and back.
 *
 * A job holds what the engine reads until it is done (the prompt, sampling
 * options, stop strings) and the loaded model. Non-streaming answers wait in
 * engine_generate on the connection's thread. Streaming answers hand the job
 * to the engine: its on_text writes each piece to the http_stream through the
 * API's writer (returning false once the client has gone, which cancels the
 * generation and frees the slot), and on_done writes the end, finishes the
 * stream, releases the model and frees the job — from the engine's thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/api_common.h"
#include "server/log.h"

api_job *api_job_new(server *srv, const char *model_name, double started_ms) {
    api_job *job = calloc(1, sizeof *job);
    if (!job) return NULL;
    job->srv = srv;
    job->model_name = strdup(model_name);
    if (!job->model_name) {
        free(job);
        return NULL;
    }
    job->keep_alive_s = NAN;
    job->client_fd = -1;
    job->started_ms = started_ms;
    job->created = (int64_t)time(NULL);
    api_sampling_init(&job->sampling, NULL);
    return job;
}

void api_job_free(api_job *job) {
    if (!job) return;
    if (job->model) registry_release(job->srv->models, job->model, job->keep_alive_s);
    api_sampling_free(&job->sampling);
    free(job->prompt);
    free(job->preamble);
    free(job->model_name);
    cJSON_Delete(job->sources);
    free(job);
}

bool api_job_fit_prompt(api_job *job, api_error *e) {
    if (!job->model->engine) return true; /* api_job_prepare says why */
    const int32_t n_ctx = (int32_t)engine_context_size(job->model->engine);
    const int32_t num_keep = job->sampling.num_keep, num_predict = job->sampling.max_tokens;
    if (job->n_prompt < n_ctx || num_keep < 0) return true;
    const int32_t room = num_predict > 0 && num_predict < n_ctx / 2 ? num_predict : n_ctx / 2;
    const int32_t target = n_ctx - (room > 0 ? room : 1);
    if (num_keep >= target)
        return api_fail(e, 400, "options.num_keep",
                        "options.num_keep: the prompt has %d tokens, more than the context of %d, and keeping its "
                        "first %d leaves nothing to cut (it must shrink to %d tokens)",
                        job->n_prompt, n_ctx, num_keep, target);
    const int32_t tail = target - num_keep;
    memmove(job->prompt + num_keep, job->prompt + job->n_prompt - tail, (size_t)tail * sizeof *job->prompt);
    job->n_prompt = target;
    return true;
}

bool api_job_prepare(api_job *job, api_error *e) {
    const loaded_model *m = job->model;
    if (!m->engine)
        return api_fail(e, 400, "model", "model '%s' is an embedding model: it does not generate text",
                        job->model_name);
    const uint32_t n_ctx = engine_context_size(m->engine);
    if ((uint32_t)job->n_prompt > n_ctx)
        return api_fail(e, 400, NULL, "the prompt has %d tokens, more than the context of %u", job->n_prompt, n_ctx);
    if ((uint32_t)job->n_prompt == n_ctx)
        return api_fail(e, 400, NULL, "the prompt has %d tokens, which fill the context of %u: no room for a reply",
                        job->n_prompt, n_ctx);
    gen_request *r = &job->request;
    memset(r, 0, sizeof *r);
    r->prompt = job->prompt;
    r->n_prompt = job->n_prompt;
    r->sampling = job->sampling.params;
    r->max_tokens = job->sampling.max_tokens;
    r->stop = (const char *const *)job->sampling.stop;
    r->n_stop = job->sampling.n_stop;
    r->no_speculative = !job->sampling.speculative;
    r->user = job;
    return true;
}

/* The engine's refusal as an HTTP error. */
static bool submit_failed(api_job *job, engine_submit_status status, const tl_error *err, api_error *e) {
    switch (status) {
    case ENGINE_BUSY:
        return api_fail(e, 503, NULL, "model '%s' is busy: too many requests are waiting; try again", job->model_name);
    case ENGINE_TOO_LONG:
        return api_fail(e, 400, NULL, "the prompt has %d tokens, more than the context of %u", job->n_prompt,
                        engine_context_size(job->model->engine));
    case ENGINE_BAD_PARAMS:
        return api_fail(e, 400, NULL, "%s", err->message[0] ? err->message : "invalid sampling parameters");
    case ENGINE_QUEUED: break;
    }
    return true;
}

/* Adds a finished generation to the server's counters. */
static void count_result(server *srv, const gen_result *result) {
    atomic_fetch_add(&srv->prompt_tokens_total, (uint_fast64_t)(result->n_prompt > 0 ? result->n_prompt : 0));
    atomic_fetch_add(&srv->generated_tokens_total, (uint_fast64_t)(result->n_generated > 0 ? result->n_generated : 0));
    atomic_fetch_add(&srv->drafted_tokens_total, (uint_fast64_t)result->n_drafted);
    atomic_fetch_add(&srv->draft_accepted_tokens_total, (uint_fast64_t)result->n_draft_accepted);
    api_stats_speed(result->n_generated, result->generation_ms);
}

/* engine_generate asks, as it goes, whether the client still waits. */
static bool client_still_there(void *user, const char *text, size_t len) {
    (void)text;
    (void)len;
    return !http_client_gone(((api_job *)user)->client_fd);
}

bool api_job_run(api_job *job, char **text, size_t *len, gen_result *result, api_error *e) {
    tl_error err = {0};
    memset(result, 0, sizeof *result);
    job->request.on_text = client_still_there;
    job->request.user = job;
    api_stats_track(job->model->entry, +1);
    const engine_submit_status status = engine_generate(job->model->engine, &job->request, text, len, result, &err);
    api_stats_track(job->model->entry, -1);
    if (status != ENGINE_QUEUED) return submit_failed(job, status, &err, e);
    count_result(job->srv, result);
    log_current()->prompt_tokens = result->n_prompt;
    log_current()->generated_tokens = result->n_generated;
    log_current()->client_gone = result->finish_reason && strcmp(result->finish_reason, "cancelled") == 0;
    if (result->finish_reason && strcmp(result->finish_reason, "error") == 0) {
        free(*text);
        *text = NULL;
        return api_fail(e, 500, NULL, "generation failed: %s", result->error);
    }
    return true;
}

/* The preamble goes out with the first piece (or the end), from the engine's
 * thread: written earlier it would precede an error body if the engine
 * refused the job. */
static void send_preamble(api_job *job) {
    if (!job->preamble) return;
    http_stream_write(job->stream, job->preamble, strlen(job->preamble));
    free(job->preamble);
    job->preamble = NULL;
}

/* A piece of text for the client; len 0 only asks whether the client is
 * still there (no empty chunk is sent). */
static bool job_on_text(void *user, const char *text, size_t len) {
    api_job *job = user;
    send_preamble(job);
    if (len == 0) return !http_stream_gone(job->stream);
    return job->stream_text(job, text, len);
}

static void job_on_done(void *user, const gen_result *result) {
    api_job *job = user;
    count_result(job->srv, result);
    const bool cancelled = result->finish_reason && strcmp(result->finish_reason, "cancelled") == 0;
    if (!cancelled && !http_stream_gone(job->stream)) {
        send_preamble(job);
        job->stream_done(job, result);
    }
    http_stream_finish(job->stream);
    api_stats_track(job->model->entry, -1);
    job->log.prompt_tokens = result->n_prompt;
    job->log.generated_tokens = result->n_generated;
    const bool failed = result->finish_reason && strcmp(result->finish_reason, "error") == 0;
    job->log.client_gone = cancelled;
    log_request_end(&job->log, failed ? 500 : 200);
    api_job_free(job);
}

/* Ends a stream that was never handed to the engine with an error as its
 * whole body (http.h has no way to drop a stream that was not sent). */
static void stream_error(http_stream *stream, api_style style, const api_error *e, http_response *res) {
    char *text = api_error_json(style, e);
    if (text) http_stream_write(stream, text, strlen(text));
    free(text);
    http_stream_finish(stream);
    res->status = e->status;
    res->content_type = "application/json";
    res->retry_after = e->retry_after;
    res->stream = stream;
}

bool api_job_stream(api_job *job, api_style style, http_response *res, const char *content_type, const char *preamble) {
    api_error e = {0};
    http_stream *stream = http_stream_new();
    if (!stream) {
        api_fail(&e, 500, NULL, "out of memory");
        api_reply_error(res, style, &e);
        api_job_free(job);
        return false;
    }
    job->stream = stream;
    if (preamble && !(job->preamble = strdup(preamble))) {
        api_fail(&e, 500, NULL, "out of memory");
        stream_error(stream, style, &e, res);
        api_job_free(job);
        return false;
    }
    job->request.on_text = job_on_text;
    job->request.on_done = job_on_done;
    job->request.user = job;
    job->log = *log_current(); /* written when the stream ends */
    res->status = 200;
    res->content_type = content_type;
    res->stream = stream;
    const model_entry *entry = job->model->entry;
    api_stats_track(entry, +1);
    tl_error err = {0};
    const engine_submit_status status = engine_submit(job->model->engine, &job->request, &err);
    if (status == ENGINE_QUEUED) { /* the job is the engine's now: hands off */
        log_request_defer(true);
        return true;
    }
    api_stats_track(entry, -1);
    submit_failed(job, status, &err, &e);
    stream_error(stream, style, &e, res);
    api_job_free(job);
    return false;
}

/* Writes a JSON value as an SSE event or an NDJSON line; takes `json`. */
static bool stream_json(http_stream *s, cJSON *json, bool sse) {
    char *text = wire_json_text(json);
    cJSON_Delete(json);
    if (!text) return false;
    const bool ok = sse ? http_stream_printf(s, "data: %s\n\n", text) : http_stream_printf(s, "%s\n", text);
    free(text);
    return ok;
}

bool api_stream_sse(http_stream *s, cJSON *json) {
    return stream_json(s, json, true);
}

bool api_stream_ndjson(http_stream *s, cJSON *json) {
    return stream_json(s, json, false);
}
