/*
 * api_sampling.c — a request's sampling options, in three layers: llama.cpp's
 * defaults (tl_sampler_default_params), the model's NAME.json "options", and
 * the request's own (Ollama's "options" object or OpenAI's top-level fields).
 *
 * Every Ollama option is either applied, or accepted and ignored for a
 * reason that the server's stderr says once per model, or refused with a 400
 * naming it (the table in docs/server.md). Unknown keys are ignored and
 * logged once per model, as Ollama does ("invalid option provided").
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_common.h"
#include "util/number_text.h"

#define MAX_STOP_STRINGS 16
#define MAX_LOGGED 256    /* (model, option) pairs logged; past that, no more lines */
#define OLLAMA_NUM_KEEP 4 /* Ollama's default num_keep */

void api_sampling_init(api_sampling *s, const model_entry *entry) {
    memset(s, 0, sizeof *s);
    s->params = tl_sampler_default_params();
    s->params.seed = TL_SEED_RANDOM;
    s->speculative = true;
    s->max_tokens = -1;
    s->add_bos = -1;
    s->num_keep = OLLAMA_NUM_KEEP;
    s->entry = entry;
    const cJSON *options =
        entry && entry->defaults ? cJSON_GetObjectItemCaseSensitive(entry->defaults, "options") : NULL;
    if (cJSON_IsObject(options)) {
        api_error e = {0};
        if (!api_sampling_ollama(s, options, "options.", &e))
            log_notice("%s.json: %s (ignored)", entry->name, e.message);
        s->num_ctx = 0; /* NAME.json's num_ctx is the model's default size, which the registry applies */
    }
}

void api_sampling_free(api_sampling *s) {
    for (int i = 0; i < s->n_stop; i++) free(s->stop[i]);
    free(s->stop);
    free(s->logit_bias);
    s->stop = NULL;
    s->n_stop = 0;
    s->logit_bias = NULL;
    s->params.logit_bias = NULL;
    s->params.n_logit_bias = 0;
}

/* "stop": a string or a list of strings; replaces earlier stop strings. */
static bool read_stop(api_sampling *s, const cJSON *obj, const char *prefix, api_error *e) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "stop");
    if (!item || cJSON_IsNull(item)) return true;
    char param[64];
    snprintf(param, sizeof param, "%sstop", prefix ? prefix : "");
    const bool one = cJSON_IsString(item);
    if (!one && !cJSON_IsArray(item))
        return api_fail(e, 400, param, "field '%s' must be a string or a list of strings", param);
    const int n = one ? 1 : cJSON_GetArraySize(item);
    if (n > MAX_STOP_STRINGS)
        return api_fail(e, 400, param, "field '%s' has more than %d strings", param, MAX_STOP_STRINGS);
    for (int i = 0; i < n; i++) {
        const cJSON *str = one ? item : cJSON_GetArrayItem(item, i);
        if (!cJSON_IsString(str))
            return api_fail(e, 400, param, "field '%s' must be a string or a list of strings", param);
    }
    for (int i = 0; i < s->n_stop; i++) free(s->stop[i]);
    free(s->stop);
    s->n_stop = 0;
    s->stop = calloc((size_t)n + 1, sizeof *s->stop);
    if (!s->stop) return api_fail(e, 500, NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *text = (one ? item : cJSON_GetArrayItem(item, i))->valuestring;
        if (!text[0]) continue; /* an empty stop string would stop at once */
        if (!(s->stop[s->n_stop] = strdup(text))) return api_fail(e, 500, NULL, "out of memory");
        s->n_stop++;
    }
    return true;
}

/* A float field within [min, max] (inclusive). */
static bool read_float(const cJSON *obj, const char *prefix, const char *name, double min, double max, float *out,
                       api_error *e) {
    double v = NAN;
    if (!api_field_number(obj, prefix, name, &v, e)) return false;
    if (isnan(v)) return true;
    if (v < min || v > max) {
        char param[64];
        snprintf(param, sizeof param, "%s%s", prefix ? prefix : "", name);
        char low[TL_NUMBER_TEXT_SIZE], high[TL_NUMBER_TEXT_SIZE];
        return api_fail(e, 400, param, "field '%s' must be between %s and %s", param, tl_number_text(min, low),
                        tl_number_text(max, high));
    }
    *out = (float)v;
    return true;
}

/* A seed: negative (Ollama's -1) means a random one. */
static bool read_seed(const cJSON *obj, const char *prefix, api_sampling *s, api_error *e) {
    int64_t seed = INT64_MIN;
    if (!api_field_int(obj, prefix, "seed", -(INT64_C(1) << 53), INT64_C(1) << 53, &seed, e)) return false;
    if (seed != INT64_MIN) s->params.seed = seed < 0 ? TL_SEED_RANDOM : (uint64_t)seed;
    return true;
}

/* ---- options that are accepted but have no effect ------------------------ */

typedef enum value_kind { KIND_INT, KIND_NUMBER, KIND_BOOL } value_kind;

typedef struct ignored_option {
    const char *name;
    value_kind kind;
    const char *reason;
} ignored_option;

static const ignored_option IGNORED[] = {
    {"num_batch", KIND_INT, "the batch size is the server's -b, shared by every request of a loaded model"},
    {"num_thread", KIND_INT, "threads are the server's -t, shared by every request of a loaded model"},
    {"num_gpu", KIND_INT, "tinyllm runs on the CPU only"},
    {"main_gpu", KIND_INT, "tinyllm runs on the CPU only"},
    {"low_vram", KIND_BOOL, "tinyllm runs on the CPU only"},
    {"numa", KIND_BOOL, "no NUMA placement: memory is where the operating system maps it"},
    {"use_mmap", KIND_BOOL, "model files are always memory-mapped"},
    {"use_mlock", KIND_BOOL, "model memory is never locked"},
    {"vocab_only", KIND_BOOL, "a served model is always loaded whole"},
    {"penalize_newline", KIND_BOOL, "llama.cpp and Ollama dropped it: a newline is penalized like any token"},
    {"f16_kv", KIND_BOOL, "the KV cache is always f16"},
    {"logits_all", KIND_BOOL, "only the logits the sampler needs are computed"},
    {"embedding_only", KIND_BOOL, "a model's kind comes from its file"},
    {"num_gqa", KIND_INT, "the model file gives the attention layout"},
    {"rope_frequency_base", KIND_NUMBER, "the model file gives RoPE's base"},
    {"rope_frequency_scale", KIND_NUMBER, "the model file gives RoPE's scaling"},
};

/* The options applied here (the rest of this file reads them). */
static const char *const APPLIED[] = {
    "num_keep",     "seed",           "num_predict",      "top_k",
    "top_p",        "min_p",          "typical_p",        "repeat_last_n",
    "temperature",  "repeat_penalty", "presence_penalty", "frequency_penalty",
    "stop",         "num_ctx",        "mirostat",         "mirostat_tau",
    "mirostat_eta", "tfs_z",          "add_bos",
};

static pthread_mutex_t logged_lock = PTHREAD_MUTEX_INITIALIZER;
static char *logged[MAX_LOGGED]; /* "model\noption" */
static int n_logged;

/* A key as it may be printed: at most 64 bytes, control bytes as '?'. */
static void printable(const char *text, char *out, size_t size) {
    size_t at = 0;
    for (; *text && at + 1 < size && at < 64; text++)
        out[at++] = (unsigned char)*text < 0x20 || *text == 0x7f ? '?' : *text;
    out[at] = 0;
}

/* One stderr line per model and option: why the option does nothing. */
static void log_ignored(const api_sampling *s, const char *option, const char *reason) {
    const char *model = s->entry ? s->entry->name : "?";
    char key[80];
    printable(option, key, sizeof key);
    char *pair = malloc(strlen(model) + strlen(key) + 2);
    if (!pair) return;
    sprintf(pair, "%s\n%s", model, key);
    bool seen = false;
    pthread_mutex_lock(&logged_lock);
    for (int i = 0; i < n_logged && !seen; i++) seen = strcmp(logged[i], pair) == 0;
    const bool log = !seen && n_logged < MAX_LOGGED;
    if (log) logged[n_logged++] = pair;
    pthread_mutex_unlock(&logged_lock);
    if (log)
        log_notice("model '%s': option '%s' is ignored: %s", model, key, reason);
    else
        free(pair);
}

/* The ignored and unknown keys of an options object: checked, then logged. */
static bool check_other_options(api_sampling *s, const cJSON *options, const char *prefix, api_error *e) {
    for (const cJSON *o = options->child; o; o = o->next) {
        bool applied = false;
        for (size_t i = 0; i < sizeof APPLIED / sizeof *APPLIED && !applied; i++)
            applied = strcmp(o->string, APPLIED[i]) == 0;
        if (applied) continue;
        const ignored_option *known = NULL;
        for (size_t i = 0; i < sizeof IGNORED / sizeof *IGNORED && !known; i++)
            if (strcmp(o->string, IGNORED[i].name) == 0) known = &IGNORED[i];
        if (!known) {
            log_ignored(s, o->string, "not an Ollama option (Ollama ignores it too)");
            continue;
        }
        int64_t whole = 0;
        double number = 0;
        bool flag = false;
        const bool ok = known->kind == KIND_INT
                            ? api_field_int(options, prefix, known->name, INT32_MIN, INT32_MAX, &whole, e)
                        : known->kind == KIND_BOOL ? api_field_bool(options, prefix, known->name, &flag, e)
                                                   : api_field_number(options, prefix, known->name, &number, e);
        if (!ok) return false;
        if (!cJSON_IsNull(o)) log_ignored(s, known->name, known->reason);
    }
    return true;
}

bool api_sampling_ollama(api_sampling *s, const cJSON *options, const char *prefix, api_error *e) {
    if (!options) return true;
    tl_sampler_params *p = &s->params;
    int64_t top_k = INT64_MIN, last_n = INT64_MIN, num_predict = INT64_MIN, num_ctx = INT64_MIN, num_keep = INT64_MIN,
            mirostat = INT64_MIN;
    float tfs_z = 1.0f;
    const cJSON *add_bos = cJSON_GetObjectItemCaseSensitive(options, "add_bos");
    bool bos = false;
    if (add_bos && !cJSON_IsNull(add_bos)) {
        if (!api_field_bool(options, prefix, "add_bos", &bos, e)) return false;
        s->add_bos = bos;
    }
    if (!read_float(options, prefix, "temperature", 0, 100, &p->temperature, e) ||
        !read_float(options, prefix, "top_p", 0, 1, &p->top_p, e) ||
        !read_float(options, prefix, "min_p", 0, 1, &p->min_p, e) ||
        !read_float(options, prefix, "repeat_penalty", 0, 100, &p->repeat_penalty, e) ||
        !read_float(options, prefix, "presence_penalty", -100, 100, &p->presence_penalty, e) ||
        !read_float(options, prefix, "frequency_penalty", -100, 100, &p->frequency_penalty, e) ||
        !api_field_int(options, prefix, "top_k", INT32_MIN, INT32_MAX, &top_k, e) ||
        !api_field_int(options, prefix, "repeat_last_n", -1, INT32_MAX, &last_n, e) ||
        !api_field_int(options, prefix, "num_predict", INT32_MIN, INT32_MAX, &num_predict, e) ||
        !api_field_int(options, prefix, "num_ctx", 0, INT32_MAX, &num_ctx, e) ||
        !api_field_int(options, prefix, "num_keep", -1, INT32_MAX, &num_keep, e) ||
        !read_float(options, prefix, "typical_p", 0, 1, &p->typical_p, e) ||
        !api_field_int(options, prefix, "mirostat", 0, 2, &mirostat, e) ||
        !read_float(options, prefix, "mirostat_tau", 0, 100, &p->mirostat_tau, e) ||
        !read_float(options, prefix, "mirostat_eta", 0, 100, &p->mirostat_eta, e) ||
        !read_float(options, prefix, "tfs_z", -1e9, 1e9, &tfs_z, e) || !read_seed(options, prefix, s, e) ||
        !read_stop(s, options, prefix, e) || !check_other_options(s, options, prefix, e))
        return false;
    if (tfs_z != 1.0f) {
        char param[64];
        snprintf(param, sizeof param, "%stfs_z", prefix ? prefix : "");
        return api_fail(e, 400, param,
                        "field '%s': tail-free sampling is not supported (llama.cpp removed it); only 1 (off) "
                        "is accepted",
                        param);
    }
    if (num_ctx != INT64_MIN) s->num_ctx = (int32_t)num_ctx;
    if (num_keep != INT64_MIN) s->num_keep = (int32_t)num_keep;
    if (mirostat != INT64_MIN) p->mirostat = (int32_t)mirostat;
    if (top_k != INT64_MIN) p->top_k = (int32_t)top_k;
    if (last_n != INT64_MIN) p->repeat_last_n = (int32_t)last_n;
    if (num_predict != INT64_MIN) s->max_tokens = num_predict < 0 ? -1 : (int32_t)num_predict;
    return true;
}

/* OpenAI's logit_bias: {"token id": bias in [-100, 100]}; -100 bans. */
static bool read_logit_bias(api_sampling *s, const cJSON *body, const tl_model *model, api_error *e) {
    const cJSON *bias = NULL;
    if (!api_field_object(body, NULL, "logit_bias", &bias, e)) return false;
    if (!bias) return true;
    const int n = cJSON_GetArraySize(bias);
    free(s->logit_bias);
    s->logit_bias = calloc((size_t)n + 1, sizeof *s->logit_bias);
    if (!s->logit_bias) return api_fail(e, 500, NULL, "out of memory");
    const int32_t n_vocab = tl_vocab_size(model);
    int i = 0;
    for (const cJSON *item = bias->child; item; item = item->next, i++) {
        char *end = NULL;
        const long id = strtol(item->string, &end, 10);
        if (!item->string[0] || *end || id < 0 || id >= n_vocab)
            return api_fail(e, 400, "logit_bias", "logit_bias: '%s' is not a token id of the model (0..%d)",
                            item->string, n_vocab - 1);
        if (!cJSON_IsNumber(item) || item->valuedouble < -100 || item->valuedouble > 100)
            return api_fail(e, 400, "logit_bias", "logit_bias: the bias of token %ld must be a number in [-100, 100]",
                            id);
        s->logit_bias[i].token = (tl_token)id;
        s->logit_bias[i].bias = item->valuedouble <= -100 ? -INFINITY : (float)item->valuedouble;
    }
    s->params.logit_bias = s->logit_bias;
    s->params.n_logit_bias = n;
    return true;
}

/* response_format: {"type": "text" | "json_object" | "json_schema"}; both
 * JSON types make the reply a JSON object (a schema's properties and types
 * are not enforced). */
static bool read_response_format(api_sampling *s, const cJSON *body, api_error *e) {
    const cJSON *format = NULL;
    const char *type = NULL;
    if (!api_field_object(body, NULL, "response_format", &format, e)) return false;
    if (!format) return true;
    if (!api_field_string(format, "response_format.", "type", true, &type, e)) return false;
    if (strcmp(type, "json_object") == 0 || strcmp(type, "json_schema") == 0)
        s->params.json_output = true;
    else if (strcmp(type, "text") != 0)
        return api_fail(e, 400, "response_format.type",
                        "field 'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"");
    return true;
}

bool api_sampling_openai(api_sampling *s, const cJSON *body, const tl_model *model, api_error *e) {
    tl_sampler_params *p = &s->params;
    int64_t n = 1, max_tokens = INT64_MIN, max_completion = INT64_MIN;
    if (!api_field_int(body, NULL, "n", INT32_MIN, INT32_MAX, &n, e)) return false;
    if (n != 1) return api_fail(e, 400, "n", "field 'n' must be 1: only one choice per request is supported");
    if (!read_float(body, NULL, "temperature", 0, 2, &p->temperature, e) ||
        !read_float(body, NULL, "top_p", 0, 1, &p->top_p, e) || !read_float(body, NULL, "min_p", 0, 1, &p->min_p, e) ||
        !read_float(body, NULL, "presence_penalty", -2, 2, &p->presence_penalty, e) ||
        !read_float(body, NULL, "frequency_penalty", -2, 2, &p->frequency_penalty, e) ||
        !read_float(body, NULL, "repeat_penalty", 0, 100, &p->repeat_penalty, e) ||
        !api_field_int(body, NULL, "max_tokens", 0, INT32_MAX, &max_tokens, e) ||
        !api_field_int(body, NULL, "max_completion_tokens", 0, INT32_MAX, &max_completion, e) ||
        !read_seed(body, NULL, s, e) || !read_stop(s, body, NULL, e) || !read_logit_bias(s, body, model, e))
        return false;
    /* Not OpenAI's, but llama-server's: many clients send them. */
    int64_t top_k = INT64_MIN, last_n = INT64_MIN, mirostat = INT64_MIN;
    if (!api_field_int(body, NULL, "top_k", INT32_MIN, INT32_MAX, &top_k, e) ||
        !api_field_int(body, NULL, "repeat_last_n", -1, INT32_MAX, &last_n, e) ||
        !read_float(body, NULL, "typical_p", 0, 1, &p->typical_p, e) ||
        !api_field_int(body, NULL, "mirostat", 0, 2, &mirostat, e) ||
        !read_float(body, NULL, "mirostat_tau", 0, 100, &p->mirostat_tau, e) ||
        !read_float(body, NULL, "mirostat_eta", 0, 100, &p->mirostat_eta, e))
        return false;
    if (top_k != INT64_MIN) p->top_k = (int32_t)top_k;
    if (last_n != INT64_MIN) p->repeat_last_n = (int32_t)last_n;
    if (mirostat != INT64_MIN) p->mirostat = (int32_t)mirostat;
    /* max_completion_tokens is the newer name: it wins when both are given. */
    if (max_tokens != INT64_MIN) s->max_tokens = (int32_t)max_tokens;
    if (max_completion != INT64_MIN) s->max_tokens = (int32_t)max_completion;
    return read_response_format(s, body, e);
}

bool api_sampling_speculative(api_sampling *s, const cJSON *body, api_error *e) {
    return api_field_bool(body, NULL, "speculative", &s->speculative, e);
}

void api_add_draft_counts(cJSON *o, const gen_result *r) {
    if (!r->speculative) return;
    cJSON_AddNumberToObject(o, "draft_n", (double)r->n_drafted);
    cJSON_AddNumberToObject(o, "draft_n_accepted", (double)r->n_draft_accepted);
}
