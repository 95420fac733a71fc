/*
 * api_common.c — replies, errors, request fields, model names and clocks
 * shared by the API handlers (see api_common.h). Sampling options are in
 * api_sampling.c, prompts in api_prompt.c, embeddings in api_embed.c and
 * generation jobs in api_job.c.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/api_common.h"
#include "server/log.h"
#include "server/units.h"

bool api_fail(api_error *e, int status, const char *param, const char *fmt, ...) {
    e->status = status;
    e->retry_after = status == 503 ? 1 : 0;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- replies ------------------------------------------------------------ */

void api_reply_json(http_response *res, int status, cJSON *json) {
    char *text = json ? wire_json_text(json) : NULL;
    cJSON_Delete(json);
    if (!text) {
        res->status = 500;
        res->content_type = "application/json";
        res->body_static = "{\"error\":\"out of memory\"}";
        return;
    }
    res->status = status;
    res->content_type = "application/json";
    res->body = text;
    res->body_len = strlen(text);
}

void api_reply_text(http_response *res, int status, const char *content_type, const char *text) {
    res->status = status;
    res->content_type = content_type;
    res->body = strdup(text);
    res->body_len = res->body ? strlen(text) : 0;
    if (!res->body) res->status = 500;
}

/* OpenAI's error type for a status. */
static const char *openai_error_type(int status) {
    if (status == 401) return "authentication_error";
    if (status == 404) return "not_found_error";
    if (status == 429 || status == 503) return "unavailable_error";
    if (status >= 500) return "server_error";
    return "invalid_request_error";
}

char *api_error_json(api_style style, const api_error *e) {
    const int status = e->status ? e->status : 500;
    cJSON *root = cJSON_CreateObject();
    if (style == API_OPENAI) {
        cJSON *err = cJSON_AddObjectToObject(root, "error");
        cJSON_AddStringToObject(err, "message", e->message);
        cJSON_AddStringToObject(err, "type", openai_error_type(status));
        if (e->param[0])
            cJSON_AddStringToObject(err, "param", e->param);
        else
            cJSON_AddNullToObject(err, "param");
        cJSON_AddNullToObject(err, "code");
    } else {
        cJSON_AddStringToObject(root, "error", e->message);
    }
    char *text = wire_json_text(root);
    cJSON_Delete(root);
    return text;
}

void api_reply_error(http_response *res, api_style style, const api_error *e) {
    char *text = api_error_json(style, e);
    res->status = e->status ? e->status : 500;
    res->content_type = "application/json";
    res->retry_after = e->retry_after;
    if (text) {
        res->body = text;
        res->body_len = strlen(text);
    } else {
        res->body_static = "{\"error\":\"out of memory\"}";
    }
}

void api_reply_fail(http_response *res, api_style style, int status, const char *param, const char *fmt, ...) {
    api_error e = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    e.status = status;
    e.retry_after = status == 503 ? 1 : 0;
    snprintf(e.param, sizeof e.param, "%s", param ? param : "");
    api_reply_error(res, style, &e);
}

/* ---- request fields ----------------------------------------------------- */

#define MAX_KEY_DEPTH 16

/* Finds the first string of a valid JSON text holding a \u0000 escape (which
 * cJSON would decode into a NUL that silently cuts the string short) and
 * writes the object keys leading to it ("model", "messages.content") into
 * `path`. False when there is none. */
static bool find_nul_escape(const char *text, size_t len, char *path, size_t size) {
    char keys[MAX_KEY_DEPTH][48]; /* the current key of each object level ("" in arrays) */
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        const char c = text[i];
        if (c == '{' || c == '[') {
            if (depth < MAX_KEY_DEPTH) keys[depth][0] = 0;
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == '"') {
            const size_t start = ++i;
            bool nul = false;
            for (; i < len && text[i] != '"'; i++) {
                if (text[i] != '\\') continue;
                nul |= i + 5 < len && memcmp(text + i + 1, "u0000", 5) == 0;
                i++; /* the escaped character */
            }
            size_t next = i + 1;
            while (next < len && (text[next] == ' ' || text[next] == '\t' || text[next] == '\r' || text[next] == '\n'))
                next++;
            const bool is_key = next < len && text[next] == ':';
            if (is_key && depth >= 1 && depth <= MAX_KEY_DEPTH)
                snprintf(keys[depth - 1], sizeof keys[0], "%.*s", (int)(i - start), text + start);
            if (!nul) continue;
            size_t at = 0;
            path[0] = 0;
            for (int d = 0; d < depth && d < MAX_KEY_DEPTH; d++) {
                if (!keys[d][0]) continue;
                at += (size_t)snprintf(path + at, at < size ? size - at : 0, "%s%s", at ? "." : "", keys[d]);
                if (at >= size) break;
            }
            return true;
        }
    }
    return false;
}

/* True when `text` holds a control character (below 0x20, or 0x7f). */
static bool has_control_byte(const char *text) {
    for (; *text; text++)
        if ((unsigned char)*text < 0x20 || *text == 0x7f) return true;
    return false;
}

cJSON *api_parse_body(const http_request *req, api_error *e) {
    if (req->body_len == 0) {
        api_fail(e, 400, NULL, "the request body is empty: expected a JSON object");
        return NULL;
    }
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, false);
    if (!json) {
        const size_t at = end && end >= req->body ? (size_t)(end - req->body) : 0;
        api_fail(e, 400, NULL, "invalid JSON in the request body at byte %zu", at);
        return NULL;
    }
    /* Only whitespace may follow the value. */
    for (const char *p = end; p && p < req->body + req->body_len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            api_fail(e, 400, NULL, "invalid JSON in the request body: unexpected text at byte %zu",
                     (size_t)(p - req->body));
            cJSON_Delete(json);
            return NULL;
        }
    if (!cJSON_IsObject(json)) {
        api_fail(e, 400, NULL, "the request body must be a JSON object");
        cJSON_Delete(json);
        return NULL;
    }
    char path[64];
    if (find_nul_escape(req->body, req->body_len, path, sizeof path)) {
        api_fail(e, 400, path[0] ? path : NULL, "field '%s' contains a NUL character (\\u0000), which is not allowed",
                 path[0] ? path : "(top level)");
        cJSON_Delete(json);
        return NULL;
    }
    return json;
}

/* The field's value, or NULL when absent or null. */
static const cJSON *field(const cJSON *obj, const char *name) {
    const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    return item && !cJSON_IsNull(item) ? item : NULL;
}

static bool wrong_type(api_error *e, const char *prefix, const char *name, const char *what) {
    char param[64];
    snprintf(param, sizeof param, "%s%s", prefix ? prefix : "", name);
    return api_fail(e, 400, param, "field '%s' must be %s", param, what);
}

bool api_field_string(const cJSON *obj, const char *prefix, const char *name, bool required, const char **out,
                      api_error *e) {
    const cJSON *item = field(obj, name);
    if (!item) {
        if (!required) return true;
        char param[64];
        snprintf(param, sizeof param, "%s%s", prefix ? prefix : "", name);
        return api_fail(e, 400, param, "field '%s' is required", param);
    }
    if (!cJSON_IsString(item)) return wrong_type(e, prefix, name, "a string");
    *out = item->valuestring;
    return true;
}

bool api_field_number(const cJSON *obj, const char *prefix, const char *name, double *out, api_error *e) {
    const cJSON *item = field(obj, name);
    if (!item) return true;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) return wrong_type(e, prefix, name, "a number");
    *out = item->valuedouble;
    return true;
}

bool api_field_int(const cJSON *obj, const char *prefix, const char *name, int64_t min, int64_t max, int64_t *out,
                   api_error *e) {
    const cJSON *item = field(obj, name);
    if (!item) return true;
    const double v = cJSON_IsNumber(item) ? item->valuedouble : NAN;
    if (!isfinite(v) || v != floor(v)) return wrong_type(e, prefix, name, "an integer");
    if (v < (double)min || v > (double)max) {
        char param[64];
        snprintf(param, sizeof param, "%s%s", prefix ? prefix : "", name);
        return api_fail(e, 400, param, "field '%s' must be between %lld and %lld", param, (long long)min,
                        (long long)max);
    }
    *out = (int64_t)v;
    return true;
}

bool api_field_bool(const cJSON *obj, const char *prefix, const char *name, bool *out, api_error *e) {
    const cJSON *item = field(obj, name);
    if (!item) return true;
    if (!cJSON_IsBool(item)) return wrong_type(e, prefix, name, "true or false");
    *out = cJSON_IsTrue(item);
    return true;
}

bool api_field_object(const cJSON *obj, const char *prefix, const char *name, const cJSON **out, api_error *e) {
    const cJSON *item = field(obj, name);
    *out = NULL;
    if (!item) return true;
    if (!cJSON_IsObject(item)) return wrong_type(e, prefix, name, "an object");
    *out = item;
    return true;
}

bool api_keep_alive(const cJSON *body, double *seconds, api_error *e) {
    *seconds = NAN;
    const cJSON *item = field(body, "keep_alive");
    if (!item) return true;
    if (cJSON_IsNumber(item) && isfinite(item->valuedouble)) {
        *seconds = item->valuedouble;
        return true;
    }
    if (cJSON_IsString(item) && units_parse_duration(item->valuestring, seconds)) return true;
    return api_fail(e, 400, "keep_alive",
                    "field 'keep_alive' must be a duration (\"5m\", \"30s\", \"0\", \"-1\") or a number of seconds");
}

/* ---- models ------------------------------------------------------------- */

bool api_model_name(server *srv, const cJSON *body, const char *field_name, const char **name, api_error *e) {
    if (!api_field_string(body, NULL, field_name, true, name, e)) return false;
    api_log_model(*name);
    if (has_control_byte(*name))
        return api_fail(e, 400, field_name, "field '%s' contains a control character, which no model name has",
                        field_name);
    if (!registry_find(srv->models, *name)) registry_sync_store(srv->models); /* added to the store since? */
    if (!registry_find(srv->models, *name)) return api_fail(e, 404, field_name, "model '%s' not found", *name);
    return true;
}

void api_log_model(const char *name) {
    snprintf(log_current()->model, sizeof log_current()->model, "%s", name);
}

bool api_acquire(server *srv, const char *name, loaded_model **out, double *load_ms, api_error *e) {
    return api_acquire_ctx(srv, name, UINT32_MAX, out, load_ms, e);
}

bool api_acquire_ctx(server *srv, const char *name, uint32_t n_ctx, loaded_model **out, double *load_ms, api_error *e) {
    tl_error err = {0};
    const double start = tl_time_ms();
    const registry_status status = n_ctx == UINT32_MAX ? registry_acquire(srv->models, name, out, &err)
                                                       : registry_acquire_ctx(srv->models, name, n_ctx, out, &err);
    if (load_ms) *load_ms = tl_time_ms() - start;
    switch (status) {
    case REGISTRY_OK: return true;
    case REGISTRY_UNKNOWN: return api_fail(e, 404, "model", "model '%s' not found", name);
    case REGISTRY_NO_ROOM:
        return api_fail(e, 503, "model", "no room to load model '%s' (--max-loaded / --max-memory); try again later",
                        name);
    case REGISTRY_TOO_BIG: return api_fail(e, 400, "options.num_ctx", "options.num_ctx: %s", err.message);
    case REGISTRY_LOAD_FAILED: break;
    }
    return api_fail(e, 500, "model", "model '%s' failed to load: %s", name,
                    err.message[0] ? err.message : "unknown error");
}

char *api_ollama_name(const char *name) {
    const size_t n = strlen(name);
    char *out = malloc(n + 8);
    if (!out) return NULL;
    memcpy(out, name, n + 1);
    if (!strchr(name, ':')) memcpy(out + n, ":latest", 8);
    return out;
}

/* ---- time --------------------------------------------------------------- */

double api_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void api_rfc3339(double unix_seconds, char out[40]) {
    time_t whole = (time_t)floor(unix_seconds);
    long micros = (long)((unix_seconds - (double)whole) * 1e6);
    if (micros > 999999) micros = 999999;
    if (micros < 0) micros = 0;
    struct tm tm;
    gmtime_r(&whole, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06ldZ", date, micros);
}

void api_random_id(const char *prefix, char *out, size_t size) {
    static _Atomic uint64_t counter;
    /* Unpredictable enough for ids (not for secrets): time, address, count. */
    uint64_t x = (uint64_t)(api_now() * 1e6) ^ ((uint64_t)(uintptr_t)out << 16) ^ (counter++ * 0x9E3779B97F4A7C15u);
    char hex[25];
    for (int i = 0; i < 24; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        hex[i] = "0123456789abcdef"[(x * 0x2545F4914F6CDD1Du) >> 60];
    }
    hex[24] = 0;
    snprintf(out, size, "%s%s", prefix, hex);
}

/* ---- statistics for /metrics -------------------------------------------- */

#define MAX_TRACKED_MODELS 64
#define SPEED_WINDOW 16

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static api_model_load in_flight[MAX_TRACKED_MODELS];
static int n_in_flight_models;
/* The last SPEED_WINDOW generations: tokens and milliseconds. */
static double recent_tokens[SPEED_WINDOW], recent_ms[SPEED_WINDOW];
static int recent_next;

void api_stats_track(const model_entry *entry, int delta) {
    pthread_mutex_lock(&stats_lock);
    int i = 0;
    while (i < n_in_flight_models && in_flight[i].entry != entry) i++;
    if (i == n_in_flight_models && i < MAX_TRACKED_MODELS) in_flight[n_in_flight_models++].entry = entry;
    if (i < n_in_flight_models) in_flight[i].in_flight += delta;
    pthread_mutex_unlock(&stats_lock);
}

void api_stats_speed(int32_t tokens, double ms) {
    if (tokens <= 0 || ms <= 0) return;
    pthread_mutex_lock(&stats_lock);
    recent_tokens[recent_next] = tokens;
    recent_ms[recent_next] = ms;
    recent_next = (recent_next + 1) % SPEED_WINDOW;
    pthread_mutex_unlock(&stats_lock);
}

int api_stats_in_flight(api_model_load *out, int max) {
    pthread_mutex_lock(&stats_lock);
    int n = 0;
    for (int i = 0; i < n_in_flight_models && n < max; i++) out[n++] = in_flight[i];
    pthread_mutex_unlock(&stats_lock);
    return n;
}

double api_stats_tokens_per_second(void) {
    double tokens = 0, ms = 0;
    pthread_mutex_lock(&stats_lock);
    for (int i = 0; i < SPEED_WINDOW; i++) {
        tokens += recent_tokens[i];
        ms += recent_ms[i];
    }
    pthread_mutex_unlock(&stats_lock);
    return ms > 0 ? tokens * 1e3 / ms : 0.0;
}
