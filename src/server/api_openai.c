/*
 * api_openai.c — the OpenAI-compatible endpoints: GET /v1/models,
 * POST /v1/chat/completions, POST /v1/completions and POST /v1/embeddings.
 * Streaming answers are server-sent events: chat.completion.chunk (or
 * text_completion) objects, a last chunk with finish_reason, a usage chunk
 * when stream_options.include_usage, then "data: [DONE]".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_common.h"

/* A cJSON string of `len` bytes (text need not be NUL-terminated). */
static cJSON *string_n(const char *text, size_t len) {
    char *copy = malloc(len + 1);
    if (!copy) return cJSON_CreateString("");
    memcpy(copy, text, len);
    copy[len] = 0;
    cJSON *s = cJSON_CreateString(copy);
    free(copy);
    return s;
}

/* The fields every completion object starts with. */
static cJSON *completion_object(const api_job *job, const char *object) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", job->id);
    cJSON_AddStringToObject(o, "object", object);
    cJSON_AddNumberToObject(o, "created", (double)job->created);
    cJSON_AddStringToObject(o, "model", job->model_name);
    cJSON_AddStringToObject(o, "system_fingerprint", "tinyllm-" TL_SERVER_VERSION);
    return o;
}

static cJSON *usage_object(const gen_result *r) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", r->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", r->n_generated);
    cJSON_AddNumberToObject(u, "total_tokens", r->n_prompt + r->n_generated);
    return u;
}

/* llama-server's "timings" with its speculative decoding counts, when drafts were used. */
static void add_timings(cJSON *o, const gen_result *r) {
    if (!r->speculative) return;
    cJSON *t = cJSON_AddObjectToObject(o, "timings");
    cJSON_AddNumberToObject(t, "prompt_n", r->n_prompt);
    cJSON_AddNumberToObject(t, "prompt_ms", r->prompt_ms);
    cJSON_AddNumberToObject(t, "predicted_n", r->n_generated);
    cJSON_AddNumberToObject(t, "predicted_ms", r->generation_ms);
    api_add_draft_counts(t, r);
}

/* One choice: a chat delta / message, or a completion's text. */
static cJSON *choice(const api_job *job, const char *key, cJSON *content, const char *finish_reason) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", 0);
    if (job->chat) {
        /* A whole answer's message has the role; a delta only its piece. */
        cJSON *message = cJSON_AddObjectToObject(c, key);
        if (strcmp(key, "message") == 0) cJSON_AddStringToObject(message, "role", "assistant");
        if (content) cJSON_AddItemToObject(message, "content", content);
    } else {
        cJSON_AddItemToObject(c, "text", content ? content : cJSON_CreateString(""));
    }
    cJSON_AddNullToObject(c, "logprobs");
    if (finish_reason)
        cJSON_AddStringToObject(c, "finish_reason", finish_reason);
    else
        cJSON_AddNullToObject(c, "finish_reason");
    return c;
}

static const char *chunk_object(const api_job *job) {
    return job->chat ? "chat.completion.chunk" : "text_completion";
}

/* The engine's finish reason in OpenAI's words. */
static const char *finish_reason(const gen_result *r) {
    return r->finish_reason && strcmp(r->finish_reason, "length") == 0 ? "length" : "stop";
}

static bool stream_text(api_job *job, const char *text, size_t len) {
    cJSON *chunk = completion_object(job, chunk_object(job));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(chunk, "choices"), choice(job, "delta", string_n(text, len), NULL));
    return api_stream_sse(job->stream, chunk);
}

static void stream_done(api_job *job, const gen_result *r) {
    if (r->finish_reason && strcmp(r->finish_reason, "error") == 0) {
        api_error e = {0};
        api_fail(&e, 500, NULL, "generation failed: %s", r->error);
        char *text = api_error_json(API_OPENAI, &e);
        if (text) http_stream_printf(job->stream, "data: %s\n\n", text);
        free(text);
    } else {
        cJSON *chunk = completion_object(job, chunk_object(job));
        cJSON_AddItemToArray(cJSON_AddArrayToObject(chunk, "choices"), choice(job, "delta", NULL, finish_reason(r)));
        add_timings(chunk, r);
        api_stream_sse(job->stream, chunk);
        if (job->include_usage) {
            chunk = completion_object(job, chunk_object(job));
            cJSON_AddArrayToObject(chunk, "choices");
            cJSON_AddItemToObject(chunk, "usage", usage_object(r));
            api_stream_sse(job->stream, chunk);
        }
    }
    http_stream_printf(job->stream, "data: [DONE]\n\n");
}

/* The first SSE event of a chat stream: the assistant's role. */
static char *role_chunk(const api_job *job) {
    cJSON *chunk = completion_object(job, "chat.completion.chunk");
    cJSON *c = choice(job, "delta", NULL, NULL);
    cJSON *delta = cJSON_GetObjectItemCaseSensitive(c, "delta");
    cJSON_AddStringToObject(delta, "role", "assistant");
    cJSON_AddStringToObject(delta, "content", "");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(chunk, "choices"), c);
    char *json = wire_json_text(chunk);
    cJSON_Delete(chunk);
    if (!json) return NULL;
    char *event = malloc(strlen(json) + 9);
    if (event) sprintf(event, "data: %s\n\n", json);
    free(json);
    return event;
}

/* The prompt of /v1/completions: a string, or a list of one string. */
static bool completion_prompt(const cJSON *body, const char **prompt, api_error *e) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 && cJSON_IsString(p->child)) p = p->child;
    if (cJSON_IsArray(p)) return api_fail(e, 400, "prompt", "field 'prompt' must be a string (or a list of one)");
    if (!p || cJSON_IsNull(p)) return api_fail(e, 400, "prompt", "field 'prompt' is required");
    if (!cJSON_IsString(p)) return api_fail(e, 400, "prompt", "field 'prompt' must be a string");
    *prompt = p->valuestring;
    return true;
}

/* The non-streaming answer. */
static void reply_whole(api_job *job, http_response *res) {
    api_error e = {0};
    char *text = NULL;
    size_t len = 0;
    gen_result r;
    if (!api_job_run(job, &text, &len, &r, &e)) {
        api_reply_error(res, API_OPENAI, &e);
        return;
    }
    cJSON *answer = completion_object(job, job->chat ? "chat.completion" : "text_completion");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(answer, "choices"),
                         choice(job, "message", string_n(text ? text : "", len), finish_reason(&r)));
    cJSON_AddItemToObject(answer, "usage", usage_object(&r));
    add_timings(answer, &r);
    free(text);
    api_reply_json(res, 200, answer);
}

/* POST /v1/chat/completions and /v1/completions. */
static void generate(server *srv, const http_request *req, http_response *res, bool chat) {
    const double started = tl_time_ms();
    api_error e = {0};
    api_job *job = NULL;
    const char *name = NULL, *prompt = NULL;
    const cJSON *stream_options = NULL, *messages = NULL;
    bool stream = false, include_usage = false;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !api_model_name(srv, body, "model", &name, &e) || !api_field_bool(body, NULL, "stream", &stream, &e) ||
        !api_field_object(body, NULL, "stream_options", &stream_options, &e) ||
        !api_field_bool(stream_options, "stream_options.", "include_usage", &include_usage, &e))
        goto fail;
    if (chat) {
        messages = cJSON_GetObjectItemCaseSensitive(body, "messages");
        if (!cJSON_IsArray(messages) || !cJSON_GetArraySize(messages)) {
            api_fail(&e, 400, "messages",
                     !messages                 ? "field 'messages' is required"
                     : cJSON_IsArray(messages) ? "field 'messages' must not be empty"
                                               : "field 'messages' must be a list");
            goto fail;
        }
    } else if (!completion_prompt(body, &prompt, &e)) {
        goto fail;
    }
    if ((job = api_job_new(srv, name, started))) job->client_fd = req->socket_fd;
    if (!job) {
        api_fail(&e, 500, NULL, "out of memory");
        goto fail;
    }
    if (!api_acquire_ctx(srv, name, 0, &job->model, &job->load_ms, &e)) {
        job->model = NULL;
        goto fail;
    }
    api_sampling_init(&job->sampling, job->model->entry);
    if (!api_sampling_openai(&job->sampling, body, job->model->model, &e) ||
        !api_sampling_speculative(&job->sampling, body, &e))
        goto fail;
    if (!job->model->engine) {
        api_fail(&e, 400, "model", "model '%s' is an embedding model: it does not generate text", name);
        goto fail;
    }
    const int add_bos = job->sampling.add_bos;
    if (chat ? !api_chat_prompt(job->model, messages, NULL, NULL, add_bos, &job->prompt, &job->n_prompt, &e)
             : !api_text_prompt(job->model, prompt, add_bos, &job->prompt, &job->n_prompt, &e))
        goto fail;
    if (!api_job_prepare(job, &e)) goto fail;
    job->chat = chat;
    job->include_usage = include_usage;
    api_random_id(chat ? "chatcmpl-" : "cmpl-", job->id, sizeof job->id);
    cJSON_Delete(body);
    if (stream) {
        job->stream_text = stream_text;
        job->stream_done = stream_done;
        char *preamble = chat ? role_chunk(job) : NULL;
        api_job_stream(job, API_OPENAI, res, "text/event-stream", preamble);
        free(preamble);
        return;
    }
    reply_whole(job, res);
    api_job_free(job);
    return;
fail:
    api_reply_error(res, API_OPENAI, &e);
    api_job_free(job);
    cJSON_Delete(body);
}

void openai_chat_completions(server *srv, const http_request *req, http_response *res) {
    generate(srv, req, res, true);
}

void openai_completions(server *srv, const http_request *req, http_response *res) {
    generate(srv, req, res, false);
}

/* GET /v1/models */
void openai_models(server *srv, const http_request *req, http_response *res) {
    (void)req;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    registry_sync_store(srv->models);
    for (int i = 0; i < registry_count(srv->models); i++) {
        const model_entry *entry = registry_entry(srv->models, i);
        if (atomic_load(&entry->removed)) continue;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", entry->name);
        cJSON_AddStringToObject(m, "object", "model");
        cJSON_AddNumberToObject(m, "created", (double)(int64_t)entry->modified);
        cJSON_AddStringToObject(m, "owned_by", "tinyllm");
        cJSON_AddItemToArray(data, m);
    }
    api_reply_json(res, 200, root);
}

/* Little-endian float32 bytes in base64, as OpenAI's encoding_format
 * "base64" (the default of the official client libraries). */
static char *base64_floats(const float *values, int n) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const size_t n_bytes = (size_t)n * 4;
    char *out = malloc((n_bytes + 2) / 3 * 4 + 1);
    if (!out) return NULL;
    const unsigned char *bytes = (const unsigned char *)values; /* x86/arm64 are little-endian */
    size_t at = 0;
    for (size_t i = 0; i < n_bytes; i += 3) {
        const uint32_t b0 = bytes[i], b1 = i + 1 < n_bytes ? bytes[i + 1] : 0, b2 = i + 2 < n_bytes ? bytes[i + 2] : 0;
        const uint32_t triple = b0 << 16 | b1 << 8 | b2;
        out[at++] = alphabet[triple >> 18 & 63];
        out[at++] = alphabet[triple >> 12 & 63];
        out[at++] = i + 1 < n_bytes ? alphabet[triple >> 6 & 63] : '=';
        out[at++] = i + 2 < n_bytes ? alphabet[triple & 63] : '=';
    }
    out[at] = 0;
    return out;
}

/* POST /v1/embeddings */
void openai_embeddings(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    const char *name = NULL, *format = "float";
    loaded_model *m = NULL;
    api_embed_input *inputs = NULL;
    int n_inputs = 0, dim = 0;
    int64_t dimensions = 0, n_tokens = 0;
    float *vectors = NULL;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !api_model_name(srv, body, "model", &name, &e) ||
        !api_field_string(body, NULL, "encoding_format", false, &format, &e) ||
        !api_field_int(body, NULL, "dimensions", 1, INT32_MAX, &dimensions, &e))
        goto fail;
    if (strcmp(format, "float") != 0 && strcmp(format, "base64") != 0) {
        api_fail(&e, 400, "encoding_format", "field 'encoding_format' must be \"float\" or \"base64\"");
        goto fail;
    }
    if (!api_embed_inputs(cJSON_GetObjectItemCaseSensitive(body, "input"), "input", &inputs, &n_inputs, &e) ||
        !api_acquire(srv, name, &m, NULL, &e))
        goto fail;
    if (dimensions && dimensions != (int64_t)tl_model_embedding_size(m->model)) {
        api_fail(&e, 400, "dimensions", "model '%s' makes vectors of %u dimensions, not %lld", name,
                 tl_model_embedding_size(m->model), (long long)dimensions);
        goto fail;
    }
    if (!api_embed(srv, m, inputs, n_inputs, &vectors, &dim, &n_tokens, &e)) goto fail;
    atomic_fetch_add(&srv->prompt_tokens_total, (uint_fast64_t)n_tokens);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    for (int i = 0; i < n_inputs; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "object", "embedding");
        cJSON_AddNumberToObject(item, "index", i);
        const float *vector = vectors + (size_t)i * (size_t)dim;
        char *text = strcmp(format, "base64") == 0 ? base64_floats(vector, dim) : api_float_list(vector, dim);
        if (strcmp(format, "base64") == 0)
            cJSON_AddStringToObject(item, "embedding", text ? text : "");
        else
            cJSON_AddRawToObject(item, "embedding", text ? text : "[]");
        free(text);
        cJSON_AddItemToArray(data, item);
    }
    cJSON_AddStringToObject(root, "model", name);
    cJSON *usage = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(usage, "prompt_tokens", (double)n_tokens);
    cJSON_AddNumberToObject(usage, "total_tokens", (double)n_tokens);
    api_reply_json(res, 200, root);
    goto done;
fail:
    api_reply_error(res, API_OPENAI, &e);
done:
    if (m) registry_release(srv->models, m, NAN);
    free(vectors);
    api_embed_inputs_free(inputs, n_inputs);
    cJSON_Delete(body);
}
