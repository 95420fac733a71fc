/*
 * cli_defaults.c — a store model's system prompt, template and options as
 * the defaults of `run` and `chat` (see cli_defaults.h).
 */
#include "cli_defaults.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "server/registry.h"
#include "util/limits.h"

/* The Ollama options run and chat apply (each as the flag of docs/models.md's
 * table); any other key is ignored with a notice. */
static const char *const APPLIED[] = {
    "temperature",
    "top_k",
    "top_p",
    "min_p",
    "typical_p",
    "mirostat",
    "mirostat_tau",
    "mirostat_eta",
    "repeat_penalty",
    "repeat_last_n",
    "seed",
    "num_predict",
    "presence_penalty",
    "frequency_penalty",
    "num_ctx",
    "num_thread",
    "num_batch",
    "stop",
    "add_bos",
    "tfs_z",
};

static bool applied(const char *key) {
    for (size_t i = 0; i < sizeof APPLIED / sizeof *APPLIED; i++)
        if (strcmp(key, APPLIED[i]) == 0) return true;
    return false;
}

/* The manifest's template as Jinja source, as the server reads it
 * (api_model_template): a built-in name, a file beside the model, else the
 * text itself. NULL when it has none. */
static char *manifest_template(const cli_defaults *d) {
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(d->manifest, "template");
    if (!cJSON_IsString(value) || !value->valuestring[0]) return NULL;
    const char *builtin = tl_chat_template_builtin(value->valuestring);
    const model_entry entry = {.name = (char *)d->name, .path = d->path, .defaults = d->manifest};
    char *file = builtin ? NULL : registry_template_file(&entry);
    return builtin ? strdup(builtin) : file ? file : strdup(value->valuestring);
}

/* The manifest's options through the server's parser, plus the two it
 * leaves to the server's flags (num_thread, num_batch: -t, -b here); only
 * num_ctx when not generating. */
static bool read_options(cli_defaults *d, const char *command, bool generating) {
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(d->manifest, "options");
    if (!cJSON_IsObject(options)) return true;
    api_error e = {0};
    int64_t threads = 0, batch = 0, num_ctx = 0;
    if (!generating) {
        if (!api_field_int(options, "options.", "num_ctx", 0, INT32_MAX, &num_ctx, &e)) {
            tl_cli_error(command, "model '%s': %s", d->name, e.message);
            return false;
        }
        d->options.num_ctx = (int32_t)num_ctx;
        return true;
    }
    log_configure(LOG_TEXT, true); /* the server's notices name the server: the lines below say it here */
    if (!api_sampling_ollama(&d->options, options, "options.", &e) ||
        !api_field_int(options, "options.", "num_thread", 0, TL_MAX_THREADS, &threads, &e) ||
        !api_field_int(options, "options.", "num_batch", 0, TL_MAX_BATCH, &batch, &e)) {
        tl_cli_error(command, "model '%s': %s", d->name, e.message);
        return false;
    }
    d->n_threads = (int32_t)threads;
    d->n_batch = (int32_t)batch;
    for (const cJSON *o = options->child; o; o = o->next)
        if (!applied(o->string))
            fprintf(stderr,
                    "tinyllm %s: model '%s': option '%s' is ignored: run and chat do not apply it "
                    "(docs/models.md)\n",
                    command, d->name, o->string);
    return true;
}

bool cli_defaults_load(cli_defaults *d, const char *command, const char *ref, bool generating) {
    memset(d, 0, sizeof *d);
    api_sampling_init(&d->options, NULL);
    d->name = ref;
    char *manifest_json = NULL;
    if (!(d->path = cli_model_resolve(command, ref, &manifest_json))) return false;
    if (!manifest_json) return true;
    d->manifest = cJSON_Parse(manifest_json);
    free(manifest_json);
    if (!d->manifest) {
        tl_cli_error(command, "out of memory");
        return false;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(d->manifest, "name");
    const cJSON *system = cJSON_GetObjectItemCaseSensitive(d->manifest, "system");
    if (cJSON_IsString(name)) d->name = name->valuestring;
    if (cJSON_IsString(system) && system->valuestring[0]) d->system = system->valuestring;
    const cJSON *draft = cJSON_GetObjectItemCaseSensitive(d->manifest, "draft");
    if (cJSON_IsString(draft) && draft->valuestring[0]) d->draft = draft->valuestring;
    d->template_source = manifest_template(d);
    return read_options(d, command, generating);
}

void cli_defaults_free(cli_defaults *d) {
    api_sampling_free(&d->options);
    free(d->template_source);
    free(d->path);
    cJSON_Delete(d->manifest);
    memset(d, 0, sizeof *d);
}

void cli_defaults_apply(const cli_defaults *d, cli_context *context, cli_sampling *sampling, int32_t *n_predict) {
    if (!d->manifest) return;
    sampling->params = d->options.params;
    sampling->seed_given = d->options.params.seed != TL_SEED_RANDOM;
    sampling->seed = d->options.params.seed;
    *n_predict = d->options.max_tokens;
    context->n_ctx = d->options.num_ctx;
    context->n_threads = d->n_threads;
    context->n_batch = d->n_batch;
}
