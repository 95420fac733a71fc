/*
 * cli_defaults.h — what a model of the store brings to `run` and `chat`: its
 * manifest's system prompt, chat template and Ollama options (docs/models.md),
 * applied as defaults under the command-line flags, as Ollama applies a
 * Modelfile's. The options are read by the server's own parser
 * (api_sampling_ollama), so a manifest means the same to both.
 */
#ifndef TL_CLI_DEFAULTS_H
#define TL_CLI_DEFAULTS_H

#include <stdbool.h>

#include "cli_context.h"
#include "cli_sampling.h"
#include "server/api_common.h"

typedef struct cli_defaults {
    char *path;                 /* the GGUF file to load */
    struct cJSON *manifest;     /* the store's manifest, or NULL when -m named a file */
    const char *name;           /* the store name (in manifest), or the reference as given */
    const char *system;         /* the manifest's system prompt (in manifest), or NULL */
    const char *draft;          /* the manifest's "draft" model for speculative decoding (in manifest), or NULL */
    char *template_source;      /* the manifest's template as Jinja source, or NULL: the model file's own */
    api_sampling options;       /* llama.cpp's defaults under the manifest's options */
    int32_t n_threads, n_batch; /* num_thread, num_batch; 0 = not given */
} cli_defaults;

/* Resolves -m REF (cli_model_resolve) and reads a store model's defaults.
 * Generating (run, chat): options the command does not apply are ignored
 * with one line on stderr each, a bad value is an error. Otherwise (embed)
 * only num_ctx is read (into options.num_ctx). False after a one-line error. */
bool cli_defaults_load(cli_defaults *d, const char *command, const char *ref, bool generating);
void cli_defaults_free(cli_defaults *d);

/* Sets the context and sampling flags' values and *n_predict to a store
 * model's defaults (nothing for a file), before argv is parsed again over
 * them. Stop strings, add_bos, system and template are the command's to use. */
void cli_defaults_apply(const cli_defaults *d, cli_context *context, cli_sampling *sampling, int32_t *n_predict);

#endif /* TL_CLI_DEFAULTS_H */
