/*
 * cmd_list.c — `tinyllm list`: the models of the store, as `ollama list`
 * prints them (NAME, ID, SIZE, MODIFIED), or as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "store/store.h"

/* The manifest's modified_at (else pulled_at), or NULL. */
static const char *modified_at(const cJSON *manifest) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(manifest, "modified_at");
    if (!cJSON_IsString(t)) t = cJSON_GetObjectItemCaseSensitive(manifest, "pulled_at");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

int cmd_list(int argc, char **argv) {
    const char *dir = NULL;
    bool json = false;
    const tl_opt opts[] = {
        {NULL, "--models", TL_OPT_STRING, &dir, "DIR", "the store folder (default: $TINYLLM_MODELS, ...)", NULL, 0, 0},
        {NULL, "--json", TL_OPT_FLAG, &json, "", "print a JSON array of {name, sha256, size, modified_at}", NULL, 0, 0},
    };
    const tl_command_spec spec = {"list", "[--models DIR] [--json]",
                                  "List the models of the store: name, ID (the start of the file's sha256), size and\n"
                                  "when the name was last written (docs/models.md).",
                                  opts, 2};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 0, &n_pos);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    tl_store *store = cli_open_store("list", dir);
    if (!store) return 1;
    char **names = NULL;
    int n = 0;
    tl_error err = {0};
    if (tl_store_list(store, &names, &n, &err) != TL_OK) {
        tl_cli_error("list", "%s", err.message);
        tl_store_close(store);
        return 1;
    }
    cJSON *array = json ? cJSON_CreateArray() : NULL;
    if (!json) printf("%-40s %-14s %-10s %s\n", "NAME", "ID", "SIZE", "MODIFIED");
    for (int i = 0; i < n; i++) {
        tl_store_entry e;
        if (!tl_store_find(store, names[i], &e)) {
            fprintf(stderr, "tinyllm list: %s: the manifest cannot be read (skipped)\n", names[i]);
            continue;
        }
        cJSON *manifest = cJSON_Parse(e.manifest_json);
        const char *modified = modified_at(manifest);
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", e.name);
            cJSON_AddStringToObject(o, "sha256", e.sha256);
            cJSON_AddNumberToObject(o, "size", (double)e.size);
            cJSON_AddStringToObject(o, "modified_at", modified ? modified : "");
            cJSON_AddItemToArray(array, o);
        } else {
            char size[32], ago[64];
            cli_human_bytes(e.size, size, sizeof size);
            cli_time_ago(modified, ago, sizeof ago);
            printf("%-40s %-14.12s %-10s %s\n", e.name, e.sha256, size, ago);
        }
        cJSON_Delete(manifest);
        tl_store_entry_free(&e);
    }
    if (json) {
        char *text = cJSON_Print(array);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(array);
    }
    tl_store_names_free(names, n);
    tl_store_close(store);
    return 0;
}
