/*
 * api_misc.c — the server's own endpoints: GET /health, GET /metrics
 * (Prometheus text format 0.0.4) and llama-server's POST /tokenize and
 * POST /detokenize, and GET /props: the defaults a request gets (for the web
 * page and llama-server's clients). Errors use the OpenAI shape.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_common.h"
#include "tokenizer/utf8.h"
#include "util/buffer.h"
#include "util/limits.h"

/* GET /health */
void misc_health(server *srv, const http_request *req, http_response *res) {
    (void)srv;
    (void)req;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", "ok");
    api_reply_json(res, 200, root);
}

/* A growing text buffer for the metrics page. */
typedef struct text_buffer {
    char *text;
    size_t len, cap;
    bool failed;
} text_buffer;

static void append(text_buffer *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void append(text_buffer *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        const int n = vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        char *grown = tl_grow(b->text, &b->cap, b->len + (size_t)n + 1, 1, 4096);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->text = grown;
    }
}

static void metric_header(text_buffer *b, const char *name, const char *type, const char *help) {
    append(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A model name as a Prometheus label value (\, " and newline escaped). */
static void escape_label(const char *value, char *out, size_t size) {
    size_t at = 0;
    for (; *value && at + 3 < size; value++) {
        if (*value == '\\' || *value == '"') out[at++] = '\\';
        if (*value == '\n') {
            out[at++] = '\\';
            out[at++] = 'n';
            continue;
        }
        out[at++] = *value;
    }
    out[at] = 0;
}

/* GET /metrics */
void misc_metrics(server *srv, const http_request *req, http_response *res) {
    (void)req;
    enum { MAX_SHOWN = 256 };
    text_buffer b = {malloc(4096), 0, 4096, false};
    loaded_info *loaded = calloc(MAX_SHOWN, sizeof *loaded);
    api_model_load *loads = calloc(MAX_SHOWN, sizeof *loads);
    if (!b.text || !loaded || !loads) {
        free(b.text);
        free(loaded);
        free(loads);
        api_reply_fail(res, API_OPENAI, 500, NULL, "out of memory");
        return;
    }
    const int n_loaded = registry_loaded(srv->models, loaded, MAX_SHOWN);
    const int n_loads = api_stats_in_flight(loads, MAX_SHOWN);
    metric_header(&b, "tinyllm_requests_total", "counter", "HTTP requests received.");
    append(&b, "tinyllm_requests_total %llu\n", (unsigned long long)atomic_load(&srv->requests_total));
    metric_header(&b, "tinyllm_requests_failed_total", "counter", "HTTP requests answered with an error (4xx, 5xx).");
    append(&b, "tinyllm_requests_failed_total %llu\n", (unsigned long long)atomic_load(&srv->requests_failed));
    metric_header(&b, "tinyllm_prompt_tokens_total", "counter", "Prompt (and embedding input) tokens read.");
    append(&b, "tinyllm_prompt_tokens_total %llu\n", (unsigned long long)atomic_load(&srv->prompt_tokens_total));
    metric_header(&b, "tinyllm_generated_tokens_total", "counter", "Tokens generated.");
    append(&b, "tinyllm_generated_tokens_total %llu\n", (unsigned long long)atomic_load(&srv->generated_tokens_total));
    metric_header(&b, "tinyllm_drafted_tokens_total", "counter", "Tokens drafted for speculative decoding.");
    append(&b, "tinyllm_drafted_tokens_total %llu\n", (unsigned long long)atomic_load(&srv->drafted_tokens_total));
    metric_header(&b, "tinyllm_draft_accepted_tokens_total", "counter", "Drafted tokens the model accepted.");
    append(&b, "tinyllm_draft_accepted_tokens_total %llu\n",
           (unsigned long long)atomic_load(&srv->draft_accepted_tokens_total));
    metric_header(&b, "tinyllm_tokens_per_second", "gauge", "Generation speed over the last few requests.");
    append(&b, "tinyllm_tokens_per_second %.3f\n", api_stats_tokens_per_second());
    metric_header(&b, "tinyllm_models_loaded", "gauge", "Models loaded now.");
    append(&b, "tinyllm_models_loaded %d\n", n_loaded);
    /* Requests in flight fill the slots first, the rest wait in the queue. */
    const int n_slots = srv->options.parallel > 0 ? srv->options.parallel : 4;
    metric_header(&b, "tinyllm_slots_active", "gauge", "Slots generating now, per loaded model.");
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            metric_header(&b, "tinyllm_queue_depth", "gauge", "Requests waiting for a slot, per loaded model.");
        for (int i = 0; i < n_loaded; i++) {
            int in_flight = 0;
            for (int j = 0; j < n_loads; j++)
                if (loads[j].entry == loaded[i].entry) in_flight = loads[j].in_flight;
            char label[512];
            escape_label(loaded[i].entry->name, label, sizeof label);
            const int active = in_flight < n_slots ? in_flight : n_slots;
            append(&b, "%s{model=\"%s\"} %d\n", pass ? "tinyllm_queue_depth" : "tinyllm_slots_active", label,
                   pass ? in_flight - active : active);
        }
    }
    free(loaded);
    free(loads);
    if (b.failed) {
        free(b.text);
        api_reply_fail(res, API_OPENAI, 500, NULL, "out of memory");
        return;
    }
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    res->body = b.text;
    res->body_len = b.len;
}

/* The model of /tokenize and /detokenize: "model", or the only one there is
 * (llama-server has no such field). */
static bool pick_model(server *srv, const cJSON *body, const char **name, api_error *e) {
    const model_entry *only = registry_only(srv->models);
    if (!cJSON_GetObjectItemCaseSensitive(body, "model") && only) {
        *name = only->name;
        api_log_model(*name);
        return true;
    }
    return api_model_name(srv, body, "model", name, e);
}

/* {"id", "piece"}: the piece as a string, or its bytes when not UTF-8. */
static cJSON *piece_object(const tl_model *model, tl_token token) {
    char buf[256];
    int32_t n = tl_token_to_piece(model, token, true, buf, (int32_t)sizeof buf - 1);
    if (n < 0) n = 0;
    buf[n] = 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", token);
    if (tl_utf8_valid(buf, (size_t)n)) {
        cJSON_AddStringToObject(o, "piece", buf);
    } else {
        cJSON *bytes = cJSON_AddArrayToObject(o, "piece");
        for (int32_t i = 0; i < n; i++) cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)buf[i]));
    }
    return o;
}

/* POST /tokenize */
void misc_tokenize(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    const char *name = NULL, *content = NULL;
    bool add_special = false, parse_special = true, with_pieces = false;
    loaded_model *m = NULL;
    tl_token *tokens = NULL;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !pick_model(srv, body, &name, &e) || !api_field_string(body, NULL, "content", true, &content, &e) ||
        !api_field_bool(body, NULL, "add_special", &add_special, &e) ||
        !api_field_bool(body, NULL, "parse_special", &parse_special, &e) ||
        !api_field_bool(body, NULL, "with_pieces", &with_pieces, &e) || !api_acquire(srv, name, &m, NULL, &e))
        goto fail;
    const size_t len = strlen(content);
    int32_t capacity = (int32_t)(len < TL_TOKENS_FIRST_GUESS_MAX ? len : TL_TOKENS_FIRST_GUESS_MAX) + 8;
    int32_t n = -capacity;
    for (int attempt = 0; attempt < 2 && n < 0 && -n >= capacity; attempt++) {
        capacity = -n;
        free(tokens);
        if (!(tokens = malloc((size_t)capacity * sizeof *tokens))) break;
        n = tl_tokenize(m->model, content, len, add_special, parse_special, tokens, capacity);
    }
    if (!tokens || n < 0) {
        api_fail(&e, tokens ? 400 : 500, "content", tokens ? "the content could not be tokenized" : "out of memory");
        goto fail;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "tokens");
    for (int32_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list, with_pieces ? piece_object(m->model, tokens[i]) : cJSON_CreateNumber(tokens[i]));
    api_reply_json(res, 200, root);
    goto done;
fail:
    api_reply_error(res, API_OPENAI, &e);
done:
    if (m) registry_release(srv->models, m, NAN);
    free(tokens);
    cJSON_Delete(body);
}

/* POST /detokenize */
void misc_detokenize(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    const char *name = NULL;
    loaded_model *m = NULL;
    tl_token *tokens = NULL;
    char *text = NULL;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !pick_model(srv, body, &name, &e)) goto fail;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "tokens");
    if (!cJSON_IsArray(list)) {
        api_fail(&e, 400, "tokens", list ? "field 'tokens' must be a list of token ids" : "field 'tokens' is required");
        goto fail;
    }
    if (!api_acquire(srv, name, &m, NULL, &e)) goto fail;
    const int32_t n = cJSON_GetArraySize(list), n_vocab = tl_vocab_size(m->model);
    if (!(tokens = malloc(((size_t)n + 1) * sizeof *tokens))) {
        api_fail(&e, 500, NULL, "out of memory");
        goto fail;
    }
    int32_t i = 0;
    for (const cJSON *id = list->child; id; id = id->next, i++) {
        if (!cJSON_IsNumber(id) || id->valuedouble != floor(id->valuedouble) || id->valuedouble < 0 ||
            id->valuedouble >= n_vocab) {
            api_fail(&e, 400, "tokens", "tokens[%d] is not a token id of the model (0..%d)", i, n_vocab - 1);
            goto fail;
        }
        tokens[i] = (tl_token)id->valuedouble;
    }
    int32_t size = n * 16 + 16;
    for (int attempt = 0; attempt < 2; attempt++) {
        free(text);
        if (!(text = malloc((size_t)size + 1))) break;
        const int32_t got = tl_detokenize(m->model, tokens, n, true, true, text, size);
        if (got >= 0) {
            text[got] = 0;
            break;
        }
        size = -got;
        if (attempt == 1) text[0] = 0;
    }
    if (!text) {
        api_fail(&e, 500, NULL, "out of memory");
        goto fail;
    }
    /* Valid UTF-8 whatever the tokens: a character they leave incomplete is U+FFFD. */
    const size_t text_len = strlen(text);
    char *clean = malloc(3 * text_len + 1);
    if (!clean) {
        api_fail(&e, 500, NULL, "out of memory");
        goto fail;
    }
    size_t used = 0;
    clean[tl_utf8_sanitize(text, text_len, true, clean, &used)] = 0;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "content", clean);
    free(clean);
    api_reply_json(res, 200, root);
    goto done;
fail:
    api_reply_error(res, API_OPENAI, &e);
done:
    if (m) registry_release(srv->models, m, NAN);
    free(tokens);
    free(text);
    cJSON_Delete(body);
}

/* A float parameter as the decimal it was written as (0.8, not 0.800000011920929). */
static void add_float(cJSON *o, const char *key, float value) {
    char text[32];
    snprintf(text, sizeof text, "%.6g", (double)value);
    cJSON_AddNumberToObject(o, key, strtod(text, NULL));
}

/* GET /props[?model=NAME]: llama-server's shape. The sampling defaults are
 * api_sampling_init's (the ones a request that omits them gets), with the
 * model's NAME.json options when a model is named or is the only one. */
void misc_props(server *srv, const http_request *req, http_response *res) {
    const model_entry *entry = NULL;
    const char *name = http_query_value(req, "model");
    if (name) {
        api_log_model(name);
        if (!(entry = registry_find(srv->models, name))) {
            api_reply_fail(res, API_OPENAI, 404, "model", "model '%s' not found", name);
            return;
        }
    } else if ((entry = registry_only(srv->models))) {
        api_log_model(entry->name);
    }
    api_sampling s;
    api_sampling_init(&s, entry);
    const tl_sampler_params *p = &s.params;
    cJSON *root = cJSON_CreateObject();
    cJSON *settings = cJSON_AddObjectToObject(root, "default_generation_settings");
    cJSON *params = cJSON_AddObjectToObject(settings, "params");
    cJSON_AddNumberToObject(params, "n_predict", s.max_tokens);
    cJSON_AddNumberToObject(params, "seed", (double)p->seed);
    add_float(params, "temperature", p->temperature);
    cJSON_AddNumberToObject(params, "top_k", p->top_k);
    add_float(params, "top_p", p->top_p);
    add_float(params, "min_p", p->min_p);
    add_float(params, "typical_p", p->typical_p);
    add_float(params, "repeat_penalty", p->repeat_penalty);
    cJSON_AddNumberToObject(params, "repeat_last_n", p->repeat_last_n);
    add_float(params, "presence_penalty", p->presence_penalty);
    add_float(params, "frequency_penalty", p->frequency_penalty);
    cJSON_AddNumberToObject(params, "mirostat", p->mirostat);
    add_float(params, "mirostat_tau", p->mirostat_tau);
    add_float(params, "mirostat_eta", p->mirostat_eta);
    cJSON_AddNumberToObject(params, "n_keep", s.num_keep);
    if (s.add_bos >= 0) cJSON_AddBoolToObject(params, "add_bos", s.add_bos == 1);
    cJSON *stop = cJSON_AddArrayToObject(params, "stop");
    for (int i = 0; i < s.n_stop; i++) cJSON_AddItemToArray(stop, cJSON_CreateString(s.stop[i]));
    api_sampling_free(&s);
    /* The context a generation gets: NAME.json's num_ctx, else -c, else the
     * model's trained length up to 4096 (engine.h). */
    uint32_t n_ctx = srv->options.n_ctx;
    const cJSON *options =
        entry && entry->defaults ? cJSON_GetObjectItemCaseSensitive(entry->defaults, "options") : NULL;
    const cJSON *num_ctx = options ? cJSON_GetObjectItemCaseSensitive(options, "num_ctx") : NULL;
    if (cJSON_IsNumber(num_ctx) && num_ctx->valuedouble >= 1 && num_ctx->valuedouble <= 1e7)
        n_ctx = (uint32_t)num_ctx->valuedouble;
    const model_facts *f = api_model_facts(entry);
    if (n_ctx == 0 && f && f->context_length)
        n_ctx = f->context_length < TL_DEFAULT_CTX_CAP ? f->context_length : TL_DEFAULT_CTX_CAP;
    cJSON_AddNumberToObject(settings, "n_ctx", n_ctx);
    cJSON_AddNumberToObject(root, "total_slots", srv->options.parallel);
    cJSON_AddStringToObject(root, "model_path", entry ? entry->path : "");
    cJSON_AddStringToObject(root, "model", entry ? entry->name : "");
    cJSON_AddStringToObject(root, "chat_template", entry ? api_model_template(entry) : "");
    if (entry) cJSON_AddItemToObject(root, "capabilities", api_model_capabilities(entry));
    cJSON_AddStringToObject(root, "build_info", "tinyllm " TL_SERVER_VERSION);
    api_reply_json(res, 200, root);
}
