/*
 * turn_end.c — tl_chat_turn_end: the text a chat template writes right after
 * an assistant message ("<|im_end|>", "<|eot_id|>", "<end_of_turn>",
 * "<|end|>"). Found by rendering a short conversation whose assistant reply
 * is a placeholder and reading what follows it, so it works for any
 * template, built-in or shipped with a model. Generation stops when the
 * reply produces this text even if the vocabulary does not mark it as an
 * end-of-generation token.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tinyllm.h"
#include "util/error.h"

/* Stands for the assistant's text; no template writes it by itself. */
#define REPLY_PLACEHOLDER "@@tinyllm-reply@@"

static char *placeholder_context(const char *eos_token) {
    cJSON *context = cJSON_CreateObject();
    cJSON *messages = cJSON_AddArrayToObject(context, "messages");
    const char *roles[2] = {"user", "assistant"}, *contents[2] = {"Hi", REPLY_PLACEHOLDER};
    for (int i = 0; messages && i < 2; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", roles[i]);
        cJSON_AddStringToObject(m, "content", contents[i]);
        cJSON_AddItemToArray(messages, m);
    }
    cJSON_AddStringToObject(context, "bos_token", "");
    cJSON_AddStringToObject(context, "eos_token", eos_token ? eos_token : "");
    cJSON_AddBoolToObject(context, "add_generation_prompt", false);
    char *json = cJSON_PrintUnformatted(context);
    cJSON_Delete(context);
    return json;
}

tl_status tl_chat_turn_end(const char *template_source, const char *eos_token, char **out, tl_error *err) {
    *out = NULL;
    char *json = placeholder_context(eos_token), *rendered = NULL;
    if (!json) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    size_t len;
    tl_status st = tl_chat_render(template_source, json, &rendered, &len, err);
    free(json);
    if (st != TL_OK) return st;
    const char *after = strstr(rendered, REPLY_PLACEHOLDER);
    size_t n = 0;
    if (after) {
        after += strlen(REPLY_PLACEHOLDER);
        after += strspn(after, " \t\r\n");
        n = strcspn(after, " \t\r\n");
    }
    *out = malloc(n + 1);
    if (*out) {
        if (n) memcpy(*out, after, n);
        (*out)[n] = 0;
    }
    free(rendered);
    return *out ? TL_OK : tl_fail(err, TL_ERR_NOMEM, "out of memory");
}
