/*
 * api_ollama.c — the Ollama-compatible endpoints: POST /api/generate,
 * POST /api/chat (NDJSON streams, on by default as in Ollama; tinyllm's own
 * "documents" answers from the --db search database, api_search.c), POST /api/embed
 * and the older POST /api/embeddings, GET /api/tags, GET /api/ps,
 * POST /api/show and GET /api/version.
 *
 * Ollama names carry a tag ("smollm2:latest"): answers list "NAME:latest"
 * and requests may use either form (registry_find ignores ":latest").
 * Durations are nanoseconds, as Ollama reports them.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_common.h"
#include "util/buffer.h"
#include "util/limits.h"

/* name, model, size, digest, details: what tags and ps share. */
static cJSON *model_object(const model_entry *entry, uint64_t size) {
    cJSON *m = cJSON_CreateObject();
    char *name = api_ollama_name(entry->name);
    cJSON_AddStringToObject(m, "name", name ? name : entry->name);
    cJSON_AddStringToObject(m, "model", name ? name : entry->name);
    free(name);
    cJSON_AddNumberToObject(m, "size", (double)size);
    cJSON_AddStringToObject(m, "digest", entry->digest);
    cJSON_AddItemToObject(m, "details", api_model_details(entry));
    return m;
}

static void add_time(cJSON *o, const char *key, double unix_seconds) {
    char text[40];
    api_rfc3339(unix_seconds, text);
    cJSON_AddStringToObject(o, key, text);
}

/* GET /api/tags */
void ollama_tags(server *srv, const http_request *req, http_response *res) {
    (void)req;
    cJSON *root = cJSON_CreateObject();
    cJSON *models = cJSON_AddArrayToObject(root, "models");
    registry_sync_store(srv->models);
    for (int i = 0; i < registry_count(srv->models); i++) {
        const model_entry *entry = registry_entry(srv->models, i);
        if (atomic_load(&entry->removed)) continue;
        cJSON *m = model_object(entry, entry->file_size);
        add_time(m, "modified_at", entry->modified);
        cJSON_AddItemToArray(models, m);
    }
    api_reply_json(res, 200, root);
}

/* GET /api/ps */
void ollama_ps(server *srv, const http_request *req, http_response *res) {
    (void)req;
    enum { MAX_SHOWN = 256 };
    loaded_info *loaded = calloc(MAX_SHOWN, sizeof *loaded);
    const int n = loaded ? registry_loaded(srv->models, loaded, MAX_SHOWN) : 0;
    cJSON *root = cJSON_CreateObject();
    cJSON *models = cJSON_AddArrayToObject(root, "models");
    for (int i = 0; i < n; i++) {
        cJSON *m = model_object(loaded[i].entry, loaded[i].memory);
        if (loaded[i].expires_at > 0)
            add_time(m, "expires_at", loaded[i].expires_at);
        else
            cJSON_AddStringToObject(m, "expires_at", "2318-01-01T00:00:00Z"); /* never, as Ollama shows it */
        cJSON_AddNumberToObject(m, "size_vram", 0);
        if (loaded[i].n_ctx) cJSON_AddNumberToObject(m, "context_length", loaded[i].n_ctx);
        cJSON_AddItemToArray(models, m);
    }
    free(loaded);
    api_reply_json(res, 200, root);
}

/* GET /api/version */
void ollama_version(server *srv, const http_request *req, http_response *res) {
    (void)srv;
    (void)req;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", TL_SERVER_VERSION);
    api_reply_json(res, 200, root);
}

/* The NAME.json "options" as Ollama's "parameters" text ("key value" lines). */
static char *parameters_text(const cJSON *defaults) {
    const cJSON *options = defaults ? cJSON_GetObjectItemCaseSensitive(defaults, "options") : NULL;
    size_t cap = 1024, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = 0;
    for (const cJSON *o = cJSON_IsObject(options) ? options->child : NULL; o; o = o->next) {
        const bool list = cJSON_IsArray(o);
        for (const cJSON *v = list ? o->child : o; v; v = list ? v->next : NULL) {
            char *value = cJSON_PrintUnformatted(v);
            if (!value) continue;
            const size_t need = len + strlen(o->string) + strlen(value) + 4;
            char *grown = tl_grow(out, &cap, need, 1, 1024);
            if (!grown) {
                free(value);
                break;
            }
            out = grown;
            len += (size_t)sprintf(out + len, "%s%-30s %s", len ? "\n" : "", o->string, value);
            free(value);
        }
    }
    return out;
}

/* POST /api/show */
void ollama_show(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    const char *name = NULL;
    cJSON *body = api_parse_body(req, &e);
    if (body && !cJSON_GetObjectItemCaseSensitive(body, "model") && cJSON_GetObjectItemCaseSensitive(body, "name")) {
        if (!api_model_name(srv, body, "name", &name, &e)) goto fail;
    } else if (!body || !api_model_name(srv, body, "model", &name, &e)) {
        goto fail;
    }
    bool verbose = false;
    if (!api_field_bool(body, NULL, "verbose", &verbose, &e)) goto fail;
    const model_entry *entry = registry_find(srv->models, name);
    const char *template = api_model_template(entry);
    const cJSON *system = entry->defaults ? cJSON_GetObjectItemCaseSensitive(entry->defaults, "system") : NULL;
    char *parameters = parameters_text(entry->defaults);
    cJSON *root = cJSON_CreateObject();
    /* A Modelfile that says the same. */
    size_t cap = strlen(entry->path) + strlen(template) + (parameters ? strlen(parameters) * 2 : 0) +
                 (cJSON_IsString(system) ? strlen(system->valuestring) : 0) + 256;
    char *modelfile = malloc(cap);
    if (modelfile) {
        int at = snprintf(modelfile, cap, "# Modelfile generated by tinyllm\nFROM %s\nTEMPLATE \"\"\"%s\"\"\"\n",
                          entry->path, template);
        if (cJSON_IsString(system))
            at += snprintf(modelfile + at, cap - (size_t)at, "SYSTEM \"\"\"%s\"\"\"\n", system->valuestring);
        for (const char *line = parameters; line && *line;) {
            const char *end = strchr(line, '\n');
            const int n = end ? (int)(end - line) : (int)strlen(line);
            at += snprintf(modelfile + at, cap - (size_t)at, "PARAMETER %.*s\n", n, line);
            line = end ? end + 1 : line + n;
        }
        cJSON_AddStringToObject(root, "modelfile", modelfile);
        free(modelfile);
    }
    cJSON_AddStringToObject(root, "parameters", parameters ? parameters : "");
    free(parameters);
    cJSON_AddStringToObject(root, "template", template);
    if (cJSON_IsString(system)) cJSON_AddStringToObject(root, "system", system->valuestring);
    cJSON_AddItemToObject(root, "details", api_model_details(entry));
    cJSON_AddItemToObject(root, "model_info", api_model_info(entry, verbose));
    cJSON_AddItemToObject(root, "capabilities", api_model_capabilities(entry));
    add_time(root, "modified_at", entry->modified);
    api_reply_json(res, 200, root);
    cJSON_Delete(body);
    return;
fail:
    api_reply_error(res, API_OLLAMA, &e);
    cJSON_Delete(body);
}

/* ---- generation --------------------------------------------------------- */

/* The fields every answer object starts with. */
static cJSON *answer_object(const api_job *job) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", job->model_name);
    add_time(o, "created_at", api_now());
    return o;
}

/* The text of an answer: "message" for chat, "response" for generate. */
static void add_text(cJSON *o, const api_job *job, const char *text, size_t len) {
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = 0;
    }
    if (job->chat) {
        cJSON *message = cJSON_AddObjectToObject(o, "message");
        cJSON_AddStringToObject(message, "role", "assistant");
        cJSON_AddStringToObject(message, "content", copy ? copy : "");
    } else {
        cJSON_AddStringToObject(o, "response", copy ? copy : "");
    }
    free(copy);
}

/* done, done_reason and the timings in nanoseconds. */
static void add_done(cJSON *o, const api_job *job, const gen_result *r) {
    cJSON_AddBoolToObject(o, "done", true);
    cJSON_AddStringToObject(o, "done_reason",
                            r->finish_reason && strcmp(r->finish_reason, "length") == 0 ? "length" : "stop");
    cJSON_AddNumberToObject(o, "total_duration", floor((tl_time_ms() - job->started_ms) * 1e6));
    cJSON_AddNumberToObject(o, "load_duration", floor(job->load_ms * 1e6));
    cJSON_AddNumberToObject(o, "prompt_eval_count", r->n_prompt);
    cJSON_AddNumberToObject(o, "prompt_eval_duration", floor(r->prompt_ms * 1e6));
    cJSON_AddNumberToObject(o, "eval_count", r->n_generated);
    cJSON_AddNumberToObject(o, "eval_duration", floor(r->generation_ms * 1e6));
    api_add_draft_counts(o, r);
    if (job->sources) cJSON_AddItemToObject(o, "sources", cJSON_Duplicate(job->sources, true));
}

static bool stream_text(api_job *job, const char *text, size_t len) {
    cJSON *o = answer_object(job);
    add_text(o, job, text, len);
    cJSON_AddBoolToObject(o, "done", false);
    return api_stream_ndjson(job->stream, o);
}

static void stream_done(api_job *job, const gen_result *r) {
    cJSON *o;
    if (r->finish_reason && strcmp(r->finish_reason, "error") == 0) {
        o = cJSON_CreateObject();
        char message[300];
        snprintf(message, sizeof message, "generation failed: %s", r->error);
        cJSON_AddStringToObject(o, "error", message);
    } else {
        o = answer_object(job);
        add_text(o, job, "", 0);
        add_done(o, job, r);
    }
    api_stream_ndjson(job->stream, o);
}

/* An empty prompt or message list: load the model (with the options'
 * num_ctx), or unload it with keep_alive 0, and say so. */
static void load_or_unload(server *srv, const char *name, bool chat, double keep_alive, uint32_t num_ctx,
                           http_response *res) {
    api_error e = {0};
    const bool unload = keep_alive == 0;
    if (unload) {
        registry_set_keep_alive(srv->models, name, 0);
    } else {
        loaded_model *m = NULL;
        if (!api_acquire_ctx(srv, name, num_ctx, &m, NULL, &e)) {
            api_reply_error(res, API_OLLAMA, &e);
            return;
        }
        registry_release(srv->models, m, keep_alive);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", name);
    add_time(o, "created_at", api_now());
    if (chat) {
        cJSON *message = cJSON_AddObjectToObject(o, "message");
        cJSON_AddStringToObject(message, "role", "assistant");
        cJSON_AddStringToObject(message, "content", "");
    } else {
        cJSON_AddStringToObject(o, "response", "");
    }
    cJSON_AddStringToObject(o, "done_reason", unload ? "unload" : "load");
    cJSON_AddBoolToObject(o, "done", true);
    api_reply_json(res, 200, o);
}

/* format: "json" makes the reply a JSON object (the sampler's JSON
 * constraint); a JSON schema object does too, though its properties and
 * types are not enforced. */
static bool read_format(const cJSON *body, bool *json, api_error *e) {
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(body, "format");
    *json = false;
    if (!format || cJSON_IsNull(format)) return true;
    if (cJSON_IsObject(format) || (cJSON_IsString(format) && strcmp(format->valuestring, "json") == 0)) {
        *json = true;
        return true;
    }
    if (cJSON_IsString(format) && !format->valuestring[0]) return true;
    return api_fail(e, 400, "format", "field 'format' must be \"json\" or a JSON schema object");
}

/* num_ctx may reach the model's trained context length, or the server's -c
 * or the NAME.json num_ctx when those are larger. */
static bool check_num_ctx(server *srv, const model_entry *entry, int32_t num_ctx, api_error *e) {
    if (num_ctx <= 0) return true;
    const model_facts *f = api_model_facts(entry);
    const uint32_t trained = f && f->known ? f->context_length : 0;
    uint32_t limit = trained > srv->options.n_ctx ? trained : srv->options.n_ctx;
    if (limit == 0) limit = TL_MAX_CTX; /* the file does not say */
    const cJSON *options = entry->defaults ? cJSON_GetObjectItemCaseSensitive(entry->defaults, "options") : NULL;
    const cJSON *own = options ? cJSON_GetObjectItemCaseSensitive(options, "num_ctx") : NULL;
    if (cJSON_IsNumber(own) && own->valuedouble > limit && own->valuedouble <= 1e7) limit = (uint32_t)own->valuedouble;
    if (limit > 0 && (uint32_t)num_ctx > limit)
        return api_fail(e, 400, "options.num_ctx",
                        "field 'options.num_ctx' must be between 1 and %u (the context length of model '%s'), or 0 "
                        "for the default",
                        limit, entry->name);
    return true;
}

/* The non-streaming answer. */
static void reply_whole(api_job *job, http_response *res) {
    api_error e = {0};
    char *text = NULL;
    size_t len = 0;
    gen_result r;
    if (!api_job_run(job, &text, &len, &r, &e)) {
        api_reply_error(res, API_OLLAMA, &e);
        return;
    }
    cJSON *o = answer_object(job);
    add_text(o, job, text ? text : "", len);
    free(text);
    add_done(o, job, &r);
    api_reply_json(res, 200, o);
}

/* POST /api/generate and /api/chat. */
static void generate(server *srv, const http_request *req, http_response *res, bool chat) {
    const double started = tl_time_ms();
    api_error e = {0};
    api_job *job = NULL;
    const char *name = NULL, *prompt = "", *system = NULL, *template = NULL;
    const cJSON *options = NULL, *messages = NULL;
    cJSON *sourced = NULL; /* messages with the documents found, for "documents" */
    bool stream = true, raw = false, json_output = false;
    double keep_alive = NAN;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !api_model_name(srv, body, "model", &name, &e) || !api_field_bool(body, NULL, "stream", &stream, &e) ||
        !api_field_bool(body, NULL, "raw", &raw, &e) || !api_field_string(body, NULL, "system", false, &system, &e) ||
        !api_field_string(body, NULL, "template", false, &template, &e) ||
        !api_field_object(body, NULL, "options", &options, &e) || !api_keep_alive(body, &keep_alive, &e) ||
        !read_format(body, &json_output, &e))
        goto fail;
    if ((job = api_job_new(srv, name, started))) job->client_fd = req->socket_fd;
    if (!job) {
        api_fail(&e, 500, NULL, "out of memory");
        goto fail;
    }
    job->keep_alive_s = keep_alive;
    job->chat = chat;
    /* The options first: a bad one is a 400 before any model loads, and num_ctx picks the instance. */
    const model_entry *entry = registry_find(srv->models, name);
    api_sampling_init(&job->sampling, entry);
    if (!api_sampling_ollama(&job->sampling, options, "options.", &e) ||
        !api_sampling_speculative(&job->sampling, body, &e) || !check_num_ctx(srv, entry, job->sampling.num_ctx, &e))
        goto fail;
    job->sampling.params.json_output = json_output;
    if (chat) {
        messages = cJSON_GetObjectItemCaseSensitive(body, "messages");
        if (messages && !cJSON_IsNull(messages) && !cJSON_IsArray(messages)) {
            api_fail(&e, 400, "messages", "field 'messages' must be a list");
            goto fail;
        }
    } else if (!api_field_string(body, NULL, "prompt", false, &prompt, &e)) {
        goto fail;
    }
    if (chat ? !cJSON_GetArraySize(messages) : !prompt[0]) {
        load_or_unload(srv, name, chat, keep_alive, (uint32_t)job->sampling.num_ctx, res);
        api_job_free(job);
        cJSON_Delete(body);
        return;
    }
    if (chat && !api_documents(srv, body, messages, &sourced, &job->sources, &e)) goto fail;
    if (sourced) messages = sourced;
    if (!api_acquire_ctx(srv, name, (uint32_t)job->sampling.num_ctx, &job->model, &job->load_ms, &e)) {
        job->model = NULL;
        goto fail;
    }
    if (!job->model->engine) {
        api_fail(&e, 400, "model", "model '%s' is an embedding model: it does not generate text", name);
        goto fail;
    }
    bool prompt_ok;
    if (chat) {
        prompt_ok = api_chat_prompt(job->model, messages, template, system, job->sampling.add_bos, &job->prompt,
                                    &job->n_prompt, &e);
    } else if (raw) {
        prompt_ok = api_text_prompt(job->model, prompt, job->sampling.add_bos, &job->prompt, &job->n_prompt, &e);
    } else {
        cJSON *one = cJSON_CreateArray();
        cJSON *user = cJSON_CreateObject();
        cJSON_AddStringToObject(user, "role", "user");
        cJSON_AddStringToObject(user, "content", prompt);
        cJSON_AddItemToArray(one, user);
        prompt_ok =
            api_chat_prompt(job->model, one, template, system, job->sampling.add_bos, &job->prompt, &job->n_prompt, &e);
        cJSON_Delete(one);
    }
    if (!prompt_ok || !api_job_fit_prompt(job, &e) || !api_job_prepare(job, &e)) goto fail;
    cJSON_Delete(body);
    cJSON_Delete(sourced);
    if (stream) {
        job->stream_text = stream_text;
        job->stream_done = stream_done;
        api_job_stream(job, API_OLLAMA, res, "application/x-ndjson", NULL);
        return;
    }
    reply_whole(job, res);
    api_job_free(job);
    return;
fail:
    api_reply_error(res, API_OLLAMA, &e);
    api_job_free(job);
    cJSON_Delete(body);
    cJSON_Delete(sourced);
}

void ollama_generate(server *srv, const http_request *req, http_response *res) {
    generate(srv, req, res, false);
}

void ollama_chat(server *srv, const http_request *req, http_response *res) {
    generate(srv, req, res, true);
}

/* ---- embeddings --------------------------------------------------------- */

/* POST /api/embed ({"input"}) and the older /api/embeddings ({"prompt"}). */
static void embed(server *srv, const http_request *req, http_response *res, bool legacy) {
    const double started = tl_time_ms();
    api_error e = {0};
    const char *name = NULL;
    loaded_model *m = NULL;
    api_embed_input *inputs = NULL;
    int n_inputs = 0, dim = 0;
    int64_t n_tokens = 0;
    float *vectors = NULL;
    double keep_alive = NAN, load_ms = 0;
    const cJSON *options = NULL;
    bool truncate = true;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !api_model_name(srv, body, "model", &name, &e) || !api_keep_alive(body, &keep_alive, &e) ||
        !api_field_object(body, NULL, "options", &options, &e) ||
        !api_field_bool(body, NULL, "truncate", &truncate, &e))
        goto fail;
    /* The options are checked as for generation; none of them changes an embedding. */
    api_sampling checked;
    api_sampling_init(&checked, registry_find(srv->models, name));
    const bool options_ok = api_sampling_ollama(&checked, options, "options.", &e);
    api_sampling_free(&checked);
    if (!options_ok) goto fail;
    const char *field = legacy ? "prompt" : "input";
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(body, field);
    if (legacy && input && !cJSON_IsString(input)) {
        api_fail(&e, 400, field, "field 'prompt' must be a string");
        goto fail;
    }
    if (!api_embed_inputs(input, field, &inputs, &n_inputs, &e) || !api_acquire(srv, name, &m, &load_ms, &e) ||
        !api_embed(srv, m, inputs, n_inputs, &vectors, &dim, &n_tokens, &e))
        goto fail;
    atomic_fetch_add(&srv->prompt_tokens_total, (uint_fast64_t)n_tokens);
    cJSON *root = cJSON_CreateObject();
    if (legacy) {
        char *list = api_float_list(vectors, dim);
        cJSON_AddRawToObject(root, "embedding", list ? list : "[]");
        free(list);
    } else {
        cJSON_AddStringToObject(root, "model", name);
        cJSON *embeddings = cJSON_AddArrayToObject(root, "embeddings");
        for (int i = 0; i < n_inputs; i++) {
            char *list = api_float_list(vectors + (size_t)i * (size_t)dim, dim);
            cJSON_AddItemToArray(embeddings, cJSON_CreateRaw(list ? list : "[]"));
            free(list);
        }
        cJSON_AddNumberToObject(root, "total_duration", floor((tl_time_ms() - started) * 1e6));
        cJSON_AddNumberToObject(root, "load_duration", floor(load_ms * 1e6));
        cJSON_AddNumberToObject(root, "prompt_eval_count", (double)n_tokens);
    }
    api_reply_json(res, 200, root);
    goto done;
fail:
    api_reply_error(res, API_OLLAMA, &e);
done:
    if (m) registry_release(srv->models, m, keep_alive);
    free(vectors);
    api_embed_inputs_free(inputs, n_inputs);
    cJSON_Delete(body);
}

void ollama_embed(server *srv, const http_request *req, http_response *res) {
    embed(srv, req, res, false);
}

void ollama_embeddings(server *srv, const http_request *req, http_response *res) {
    embed(srv, req, res, true);
}
