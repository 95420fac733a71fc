/*
 * api_prompt.c — a request's prompt tokens: chat messages rendered through a
 * chat template (as tools/tinyllm/chat_session.c does for `tinyllm chat`),
 * or plain text for completions and raw generation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_common.h"

/* A token's text with special tokens shown ("<s>"), malloc'd; "" for -1. */
static char *token_text(const tl_model *model, tl_token token) {
    char buf[256] = "";
    if (token >= 0) {
        const int32_t n = tl_token_to_piece(model, token, true, buf, (int32_t)sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
    }
    return strdup(buf);
}

/* A message's content as one string: a string, or OpenAI's list of parts of
 * which the {"type": "text"} ones count. NULL/false when malformed. */
static bool message_content(const cJSON *content, int index, char **out, api_error *e) {
    if (!content || cJSON_IsNull(content)) {
        *out = strdup("");
    } else if (cJSON_IsString(content)) {
        *out = strdup(content->valuestring);
    } else if (cJSON_IsArray(content)) {
        size_t len = 0;
        for (const cJSON *part = content->child; part; part = part->next) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (!cJSON_IsString(type))
                return api_fail(e, 400, "messages", "messages[%d].content: each part must have a \"type\"", index);
            if (strcmp(type->valuestring, "text") != 0)
                return api_fail(e, 400, "messages", "messages[%d].content: parts of type '%s' are not supported", index,
                                type->valuestring);
            if (!cJSON_IsString(text))
                return api_fail(e, 400, "messages", "messages[%d].content: a text part needs a string \"text\"", index);
            len += strlen(text->valuestring);
        }
        char *joined = malloc(len + 1);
        if (joined) {
            size_t at = 0;
            for (const cJSON *part = content->child; part; part = part->next) {
                const char *text = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
                memcpy(joined + at, text, strlen(text));
                at += strlen(text);
            }
            joined[at] = 0;
        }
        *out = joined;
    } else {
        return api_fail(e, 400, "messages", "messages[%d].content must be a string or a list of text parts", index);
    }
    if (!*out) return api_fail(e, 500, NULL, "out of memory");
    return true;
}

/* Checks the messages and copies them as {role, content} for the template. */
static cJSON *template_messages(const cJSON *messages, const char *system, api_error *e) {
    if (!cJSON_IsArray(messages)) {
        api_fail(e, 400, "messages", "field 'messages' must be a list of {\"role\", \"content\"} objects");
        return NULL;
    }
    cJSON *out = cJSON_CreateArray();
    bool has_system = false;
    int index = 0;
    for (const cJSON *m = messages->child; m; m = m->next, index++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role)) {
            api_fail(e, 400, "messages", "messages[%d] must be an object with a string \"role\"", index);
            cJSON_Delete(out);
            return NULL;
        }
        const char *name = role->valuestring;
        if (strcmp(name, "developer") == 0) name = "system"; /* OpenAI's newer name for it */
        if (strcmp(name, "system") && strcmp(name, "user") && strcmp(name, "assistant") && strcmp(name, "tool")) {
            api_fail(e, 400, "messages", "messages[%d].role '%s' is not one of system, user, assistant, tool", index,
                     role->valuestring);
            cJSON_Delete(out);
            return NULL;
        }
        char *content = NULL;
        if (!message_content(cJSON_GetObjectItemCaseSensitive(m, "content"), index, &content, e)) {
            cJSON_Delete(out);
            return NULL;
        }
        has_system |= strcmp(name, "system") == 0;
        cJSON *copy = cJSON_CreateObject();
        cJSON_AddStringToObject(copy, "role", name);
        cJSON_AddStringToObject(copy, "content", content);
        free(content);
        cJSON_AddItemToArray(out, copy);
    }
    if (system && !has_system) {
        cJSON *first = cJSON_CreateObject();
        cJSON_AddStringToObject(first, "role", "system");
        cJSON_AddStringToObject(first, "content", system);
        cJSON_InsertItemInArray(out, 0, first);
    }
    return out;
}

/* Jinja source sent with a request is untrusted: it may be this long, and it
 * renders under a smaller budget than a model's own template. */
#define REQUEST_TEMPLATE_MAX_BYTES (64 * 1024)
static const tl_chat_limits REQUEST_TEMPLATE_LIMITS = {
    .max_steps = 1000000, .max_memory = (size_t)8 << 20, .max_output = (size_t)1 << 20};

/* The template to use: a per-request one (a built-in name or Jinja source)
 * or the model's, and the limits it renders under (*limits NULL: the
 * defaults). NULL after an error. */
static const char *pick_template(const loaded_model *m, const char *override, const tl_chat_limits **limits,
                                 api_error *e) {
    *limits = NULL;
    if (!override || !override[0]) return m->template_source;
    const char *builtin = tl_chat_template_builtin(override);
    if (builtin) return builtin;
    if (strstr(override, "{{") || strstr(override, "{%")) {
        if (strlen(override) > REQUEST_TEMPLATE_MAX_BYTES) {
            api_fail(e, 400, "template", "template is %zu bytes, more than the limit of %d KiB", strlen(override),
                     REQUEST_TEMPLATE_MAX_BYTES / 1024);
            return NULL;
        }
        *limits = &REQUEST_TEMPLATE_LIMITS;
        return override;
    }
    api_fail(e, 400, "template", "template '%s' is neither a built-in template (%s) nor Jinja source", override,
             tl_chat_template_builtin_names());
    return NULL;
}

/* The most tokens a request's prompt may have before it is refused unread:
 * PROMPT_CONTEXTS contexts' worth (so num_keep can still cut a prompt a few
 * times the context down to size, as Ollama's runner does), at least
 * PROMPT_MIN_TOKENS. Past it, tokenizing would cost time and memory in
 * proportion to a body the client chose, for a prompt that cannot be used. */
#define PROMPT_CONTEXTS 16
#define PROMPT_MIN_TOKENS 65536

/* Tokenizes text with special tokens parsed, BOS (and EOS) added as the
 * vocabulary asks when add_special; stops (a 400) as soon as the prompt is
 * certainly longer than the bound above. */
static bool tokenize(const loaded_model *m, const char *text, size_t len, bool add_special, tl_token **tokens,
                     int32_t *n_tokens, api_error *e) {
    const uint64_t by_context = (uint64_t)m->n_ctx * PROMPT_CONTEXTS;
    const int32_t max_tokens =
        (int32_t)(by_context > PROMPT_MIN_TOKENS ? (by_context < INT32_MAX / 2 ? by_context : INT32_MAX / 2)
                                                 : PROMPT_MIN_TOKENS);
    *tokens = malloc((size_t)max_tokens * sizeof **tokens);
    if (!*tokens) return api_fail(e, 500, NULL, "out of memory");
    tl_error err = {0};
    const tl_status status =
        tl_tokenize_prompt(m->model, text, len, add_special, true, *tokens, max_tokens, n_tokens, &err);
    if (status == TL_OK) return true;
    free(*tokens);
    *tokens = NULL;
    if (status == TL_ERR_NOMEM) return api_fail(e, 500, NULL, "out of memory");
    if (status == TL_ERR_CONTEXT_FULL)
        return api_fail(e, 400, NULL, "%s (the context is %u tokens)", err.message, m->n_ctx);
    return api_fail(e, 400, NULL, "the prompt could not be tokenized: %s", err.message);
}

/* One BOS at the start (a template may write bos_token itself, as
 * llama.cpp keeps one), or none when add_bos is 0. */
static void fix_bos(const tl_model *model, int add_bos, tl_token *tokens, int32_t *n_tokens) {
    const tl_token bos = tl_token_bos(model);
    while (bos >= 0 && *n_tokens >= 1 && tokens[0] == bos && (add_bos == 0 || (*n_tokens >= 2 && tokens[1] == bos)))
        memmove(tokens, tokens + 1, (size_t)-- * n_tokens * sizeof *tokens);
}

static bool wants_bos(const tl_model *model, int add_bos) {
    return add_bos < 0 ? tl_vocab_adds_bos(model) : add_bos == 1;
}

bool api_text_prompt(const loaded_model *m, const char *text, int add_bos, tl_token **tokens, int32_t *n_tokens,
                     api_error *e) {
    if (!tokenize(m, text, strlen(text), wants_bos(m->model, add_bos), tokens, n_tokens, e)) return false;
    fix_bos(m->model, add_bos, *tokens, n_tokens);
    if (*n_tokens == 0) {
        free(*tokens);
        *tokens = NULL;
        return api_fail(e, 400, "prompt", "the prompt is empty");
    }
    return true;
}

bool api_chat_prompt(const loaded_model *m, const cJSON *messages, const char *template_override,
                     const char *extra_system, int add_bos, tl_token **tokens, int32_t *n_tokens, api_error *e) {
    *tokens = NULL;
    const tl_chat_limits *limits;
    const char *source = pick_template(m, template_override, &limits, e);
    if (!source) return false;
    const cJSON *defaults_system =
        m->entry->defaults ? cJSON_GetObjectItemCaseSensitive(m->entry->defaults, "system") : NULL;
    const char *system = extra_system && extra_system[0]   ? extra_system
                         : cJSON_IsString(defaults_system) ? defaults_system->valuestring
                                                           : NULL;
    cJSON *list = template_messages(messages, system, e);
    if (!list) return false;
    cJSON *context = cJSON_CreateObject();
    cJSON_AddItemToObject(context, "messages", list);
    char *bos = token_text(m->model, tl_token_bos(m->model));
    char *eos = token_text(m->model, tl_token_eos(m->model));
    cJSON_AddStringToObject(context, "bos_token", bos ? bos : "");
    cJSON_AddStringToObject(context, "eos_token", eos ? eos : "");
    cJSON_AddBoolToObject(context, "add_generation_prompt", true);
    free(bos);
    free(eos);
    char *json = cJSON_PrintUnformatted(context);
    cJSON_Delete(context);
    if (!json) return api_fail(e, 500, NULL, "out of memory");
    char *text = NULL;
    size_t len = 0;
    tl_error err = {0};
    const tl_status status = tl_chat_render_limited(source, json, limits, &text, &len, &err);
    free(json);
    if (status != TL_OK) return api_fail(e, 400, limits ? "template" : "messages", "chat template: %s", err.message);
    const bool ok = tokenize(m, text, len, wants_bos(m->model, add_bos), tokens, n_tokens, e);
    free(text);
    if (!ok) return false;
    fix_bos(m->model, add_bos, *tokens, n_tokens);
    if (*n_tokens == 0) {
        free(*tokens);
        *tokens = NULL;
        return api_fail(e, 400, "messages", "the chat template rendered an empty prompt");
    }
    return true;
}
