/*
 * chat.c — tl_chat_render(_limited): a chat template applied to a JSON
 * context (see tinyllm.h), through the Jinja engine.
 */
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"
#include "util/error.h"

tl_status tl_chat_render(const char *template_source, const char *context_json, char **out, size_t *out_len,
                         tl_error *err) {
    return tl_chat_render_limited(template_source, context_json, NULL, out, out_len, err);
}

tl_status tl_chat_render_limited(const char *template_source, const char *context_json, const tl_chat_limits *limits,
                                 char **out, size_t *out_len, tl_error *err) {
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!template_source) return tl_fail(err, TL_ERR_ARGUMENT, "no chat template given");
    cJSON *context = cJSON_Parse(context_json ? context_json : "{}");
    if (!context || !cJSON_IsObject(context)) {
        cJSON_Delete(context);
        return tl_fail(err, TL_ERR_ARGUMENT, "the chat context is not a JSON object");
    }
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(context, "messages");
    if (messages && !cJSON_IsArray(messages)) {
        cJSON_Delete(context);
        return tl_fail(err, TL_ERR_ARGUMENT, "\"messages\" must be a list");
    }
    tl_jinja *t = NULL;
    size_t len = 0;
    tl_status st = tl_jinja_parse(template_source, strlen(template_source), &t, err);
    if (st == TL_OK) st = tl_jinja_render_limited(t, context, limits, out, &len, err);
    tl_jinja_free(t);
    cJSON_Delete(context);
    if (st == TL_OK && out_len) *out_len = len;
    return st;
}
