/*
 * cli_chat.c — choosing and applying a chat template for the commands that
 * format conversations (template, run --chat): --chat-template NAME|FILE,
 * else the model's tokenizer.chat_template, else chatml with a notice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

char *cli_chat_template(const char *command, const tl_model *model, const char *override) {
    const char *source = NULL;
    if (override) {
        if ((source = tl_chat_template_builtin(override))) return strdup(source);
        if (access(override, F_OK) != 0) {
            tl_cli_error(command, "'%s' is neither a built-in chat template (%s) nor a file", override,
                         tl_chat_template_builtin_names());
            return NULL;
        }
        size_t len;
        return cli_read_file(command, "chat template", override, &len);
    }
    if (model && (source = tl_model_chat_template(model))) return strdup(source);
    fprintf(stderr, "tinyllm %s: %s has no chat template: using chatml\n", command,
            model ? "the model" : "no model given and no --chat-template:");
    return strdup(tl_chat_template_builtin("chatml"));
}

char *cli_token_text(const tl_model *model, tl_token token) {
    char buf[256];
    if (!model || token < 0) return strdup("");
    const int32_t n = tl_token_to_piece(model, token, true, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    return strdup(buf);
}

char *cli_chat_render(const char *command, const tl_model *model, const char *template_source, cJSON *context,
                      bool add_generation_prompt, const char *bos, const char *eos, size_t *len) {
    char *model_bos = bos ? NULL : cli_token_text(model, model ? tl_token_bos(model) : -1);
    char *model_eos = eos ? NULL : cli_token_text(model, model ? tl_token_eos(model) : -1);
    cJSON_DeleteItemFromObjectCaseSensitive(context, "bos_token");
    cJSON_DeleteItemFromObjectCaseSensitive(context, "eos_token");
    cJSON_DeleteItemFromObjectCaseSensitive(context, "add_generation_prompt");
    cJSON_AddStringToObject(context, "bos_token", bos ? bos : model_bos ? model_bos : "");
    cJSON_AddStringToObject(context, "eos_token", eos ? eos : model_eos ? model_eos : "");
    cJSON_AddBoolToObject(context, "add_generation_prompt", add_generation_prompt);
    free(model_bos);
    free(model_eos);
    char *json = cJSON_PrintUnformatted(context);
    char *out = NULL;
    tl_error err = {0};
    if (!json) {
        tl_cli_error(command, "out of memory");
    } else if (tl_chat_render(template_source, json, &out, len, &err) != TL_OK) {
        tl_cli_error(command, "chat template: %s", err.message);
        out = NULL;
    }
    free(json);
    return out;
}
