/*
 * cmd_create.c — `tinyllm create NAME --from FILE.gguf|NAME [--system S]
 * [--template T] [--parameter KEY VALUE]...`: adds a local GGUF file to the
 * store (copied; the file stays), or makes a variant of a model of the store
 * with its own settings, as `ollama create` does from a Modelfile's FROM,
 * SYSTEM, TEMPLATE and PARAMETER lines. Meant for tests and local files;
 * `tinyllm pull` is the usual way in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "store/store.h"

/* "--parameter KEY VALUE" takes two values, which the option table cannot
 * say: the pairs are taken out of argv first (into `options`, VALUE as JSON
 * when it is a number or a boolean, else a string; a repeated key, such as
 * stop, becomes a list). Returns the new argc, or -1 after an error. */
static int take_parameters(int argc, char **argv, cJSON *options) {
    int out = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--parameter") != 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 2 >= argc) {
            tl_cli_error("create", "--parameter expects KEY VALUE");
            return -1;
        }
        const char *key = argv[i + 1], *text = argv[i + 2];
        i += 2;
        cJSON *value = cJSON_Parse(text);
        if (!cJSON_IsNumber(value) && !cJSON_IsBool(value)) {
            cJSON_Delete(value);
            value = cJSON_CreateString(text);
        }
        cJSON *old = cJSON_GetObjectItemCaseSensitive(options, key);
        if (!old) {
            cJSON_AddItemToObject(options, key, value);
        } else {
            if (!cJSON_IsArray(old)) {
                cJSON *list = cJSON_CreateArray();
                cJSON_AddItemToArray(list, cJSON_DetachItemViaPointer(options, old));
                cJSON_AddItemToObject(options, key, list);
                old = list;
            }
            cJSON_AddItemToArray(old, value);
        }
    }
    return out;
}

/* --template: a file's contents when T names one, else T (a built-in name or Jinja source). */
static char *template_text(const char *value) {
    struct stat st;
    if (stat(value, &st) == 0 && S_ISREG(st.st_mode)) {
        size_t len;
        return cli_read_file("create", "template", value, &len);
    }
    return strdup(value);
}

int cmd_create(int argc, char **argv) {
    const char *dir = NULL, *from = NULL, *system = NULL, *template = NULL;
    tl_opt_list parameters = {0};
    const tl_opt opts[] = {
        {NULL, "--from", TL_OPT_STRING, &from, "FILE|NAME", "a GGUF file (copied into the store) or a model of it",
         NULL, 0, 0},
        {NULL, "--system", TL_OPT_STRING, &system, "TEXT", "the system prompt (\"\" = none)", NULL, 0, 0},
        {NULL, "--template", TL_OPT_STRING, &template, "T",
         "the chat template: a built-in name, Jinja source or a file (\"\" = the model file's)", NULL, 0, 0},
        {NULL, "--parameter", TL_OPT_LIST, &parameters, "KEY VALUE",
         "a default option (Ollama's names: temperature, num_ctx, stop...); repeatable", NULL, 0, 0},
        {NULL, "--models", TL_OPT_STRING, &dir, "DIR", "the store folder (default: $TINYLLM_MODELS, ...)", NULL, 0, 0},
    };
    const tl_command_spec spec = {
        "create", "NAME --from FILE.gguf|NAME [--system TEXT] [--template T] [--parameter KEY VALUE]...",
        "Add a local GGUF file to the store under NAME, or make NAME a variant of a model of the store\n"
        "with its own system prompt, template and parameters (the model file is shared).",
        opts, (int)(sizeof opts / sizeof opts[0])};
    cJSON *options = cJSON_CreateObject();
    const int n_args = take_parameters(argc, argv, options);
    const char *name[1];
    int n = 0;
    tl_args_result r = n_args < 0 ? TL_ARGS_ERROR : tl_args_parse(&spec, n_args, argv, name, 1, &n);
    if (r != TL_ARGS_OK) {
        cJSON_Delete(options);
        return r == TL_ARGS_HELP ? 0 : 1;
    }
    int rc = 1;
    tl_store *store = NULL;
    char *options_text = options->child ? cJSON_PrintUnformatted(options) : NULL;
    char *template_source = template ? template_text(template) : NULL;
    tl_error err = {0};
    struct stat st;
    if (n != 1 || !from) {
        tl_cli_error("create", "expected NAME and --from FILE.gguf|NAME");
    } else if (template && !template_source) {
        /* cli_read_file said why */
    } else if ((store = cli_open_store("create", dir))) {
        tl_status status = TL_OK;
        const char *base = from;
        if (stat(from, &st) == 0) {
            const char *file = strrchr(from, '/');
            const tl_store_source source = {.file = file ? file + 1 : from};
            status = tl_store_import(store, name[0], &from, 1, &source, &err);
            base = name[0];
        }
        if (status == TL_OK && (base != name[0] || system || template || options_text))
            status = tl_store_create(store, name[0], base, system, template_source, options_text, &err);
        if (status == TL_OK) {
            char canonical[256];
            tl_store_canonical_name(name[0], canonical, sizeof canonical, NULL);
            printf("created '%s'\n", canonical);
            rc = 0;
        } else {
            tl_cli_error("create", "%s", err.message);
        }
    }
    tl_store_close(store);
    free(options_text);
    free(template_source);
    cJSON_Delete(options);
    return rc;
}
