/*
 * cmd_template.c — `tinyllm template`: render a conversation with a chat
 * template and print the exact prompt text (no newline added), or the
 * template's error: the way to check a template by hand and in tests. -m
 * NAME (a model of the store) uses its manifest's template when it has one,
 * as run and chat do (cli_defaults.h), else the model file's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_defaults.h"

/* The conversation file: a list of messages, or an object with "messages"
 * (and "tools" or other variables). NULL after printing an error. */
static cJSON *read_messages(const char *path) {
    size_t len;
    char *text = cli_read_file("template", "messages", path, &len);
    if (!text) return NULL;
    cJSON *json = cJSON_ParseWithLength(text, len);
    free(text);
    if (!json) {
        tl_cli_error("template", "%s: not valid JSON", path);
        return NULL;
    }
    if (cJSON_IsArray(json)) {
        cJSON *context = cJSON_CreateObject();
        cJSON_AddItemToObject(context, "messages", json);
        return context;
    }
    if (!cJSON_IsObject(json) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(json, "messages"))) {
        tl_cli_error("template", "%s: expected a list of messages or an object with a \"messages\" list", path);
        cJSON_Delete(json);
        return NULL;
    }
    return json;
}

int cmd_template(int argc, char **argv) {
    const char *model_path = NULL, *override = NULL, *messages = NULL, *bos = NULL, *eos = NULL;
    bool no_generation_prompt = false;
    const tl_opt opts[] = {
        {"-m", "--model", TL_OPT_STRING, &model_path, "FILE|NAME",
         "GGUF model, or model of the store (its manifest's template first), whose chat template (and BOS/EOS) to "
         "use",
         NULL, 0, 0},
        {NULL, "--chat-template", TL_OPT_STRING, &override, "NAME|FILE",
         "a built-in template (chatml, llama2, llama3, phi3, gemma, mistral, zephyr, deepseek) or a Jinja file", NULL,
         0, 0},
        {NULL, "--messages", TL_OPT_STRING, &messages, "FILE",
         "the conversation: a JSON list of {\"role\", \"content\"} (or {\"messages\": [...], \"tools\": ...}); - = "
         "stdin",
         NULL, 0, 0},
        {NULL, "--no-generation-prompt", TL_OPT_FLAG, &no_generation_prompt, "",
         "do not open an assistant turn at the end", NULL, 0, 0},
        {NULL, "--bos", TL_OPT_STRING, &bos, "TEXT", "bos_token (default: the model's, else empty)", NULL, 0, 0},
        {NULL, "--eos", TL_OPT_STRING, &eos, "TEXT", "eos_token (default: the model's, else empty)", NULL, 0, 0},
    };
    const tl_command_spec spec = {"template",
                                  "(-m FILE|NAME | --chat-template NAME|FILE) --messages FILE.json "
                                  "[--no-generation-prompt] [--bos TEXT] [--eos TEXT]",
                                  "Render a conversation with a chat template and print the prompt exactly.", opts,
                                  (int)(sizeof opts / sizeof opts[0])};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 0, &n_pos);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (!model_path && !override) {
        tl_cli_error("template", "no template given: use -m FILE|NAME or --chat-template NAME|FILE");
        return 1;
    }
    if (!messages) {
        tl_cli_error("template", "no conversation given: use --messages FILE.json");
        return 1;
    }
    int rc = 1;
    tl_model *model = NULL;
    char *source = NULL, *text = NULL;
    cli_defaults d = {0};
    cJSON *context = read_messages(messages);
    if (!context) return 1;
    if (model_path &&
        (!cli_defaults_load(&d, "template", model_path, false) || !(model = cli_load_model("template", d.path, true))))
        goto done;
    source =
        !override && d.template_source ? strdup(d.template_source) : cli_chat_template("template", model, override);
    if (!source) goto done;
    size_t len;
    if (!(text = cli_chat_render("template", model, source, context, !no_generation_prompt, bos, eos, &len))) goto done;
    fwrite(text, 1, len, stdout);
    rc = 0;
done:
    free(text);
    free(source);
    cJSON_Delete(context);
    tl_model_free(model);
    cli_defaults_free(&d);
    return rc;
}
