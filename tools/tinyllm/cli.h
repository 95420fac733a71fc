/*
 * cli.h — the `tinyllm` commands and the helpers they share.
 */
#ifndef TL_CLI_H
#define TL_CLI_H

#include <stdio.h>

#include "args.h"
#include "tinyllm.h"

/* Each command gets argv with argv[0] = the command name; returns the exit code. */
int cmd_run(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_rerank(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_ask(int argc, char **argv);

/* --- the embedding model of index and search (cmd_index.c) --- */
typedef struct cli_embedder {
    tl_model *model;
    tl_context *ctx;
    char name[256]; /* what a database records: the store name, or the file's absolute path */
} cli_embedder;
/* Loads -m REF (a file or a store name) with a context for embedding;
 * false after a one-line error. */
bool cli_embedder_open(const char *command, const char *ref, int32_t n_threads, cli_embedder *out);
void cli_embedder_close(cli_embedder *e);

/* Pulls `ref` from the Hub into the store (cmd_pull.c), with progress on
 * stderr unless quiet; its store name into name. */
struct tl_store;
struct tl_error;
tl_status cli_pull(struct tl_store *store, const char *ref, const char *endpoint, bool insecure, bool quiet, char *name,
                   size_t name_size, struct tl_error *err);
/* The `run NAME` hook (cli_model_missing) for a name in neither a file nor
 * the store: a Hub reference or catalogue name is pulled (after asking on a
 * terminal); anything else is the not-found error. */
bool cli_pull_on_first_use(const char *command, struct tl_store *store, const char *canonical, struct tl_error *err);

/* --- models by file or by name (cli_model_ref.c) --- */
struct tl_store;
struct tl_error;
/* The GGUF file `-m ref` means (malloc'd): ref itself when it is an existing
 * path, else the file of the store's model named ref. NULL after a one-line
 * error: no such file and no such model (naming the store folder). */
char *cli_model_path(const char *command, const char *ref);
/* The same, and when ref names a model of the store its manifest (JSON
 * text, malloc'd) into *manifest_json; NULL there for a file. */
char *cli_model_resolve(const char *command, const char *ref, char **manifest_json);
/* Called by cli_model_path for a name (canonical) that is neither a file nor
 * in the store (and not written as a path: "/x", "./x", "~/x", "X.gguf"),
 * with the store open: it may add the model to the store (a
 * pull on first use) and return true, after which the name is looked up
 * again; false with err filled stops with that error. NULL (the default):
 * such a name is "not found". */
typedef bool (*cli_model_missing_fn)(const char *command, struct tl_store *store, const char *canonical,
                                     struct tl_error *err);
extern cli_model_missing_fn cli_model_missing;
/* Opens the store (dir, or the default folder; created if needed); NULL
 * after a one-line error (cli_store.c). */
struct tl_store *cli_open_store(const char *command, const char *dir);
/* "1.2 MB", "638 KB" (powers of 1000, as ollama list). */
void cli_human_bytes(int64_t bytes, char *out, size_t size);
/* "3 minutes ago" for an ISO 8601 UTC time ("unknown" if it is not one). */
void cli_time_ago(const char *iso, char *out, size_t size);

/* Load a model (-m FILE or NAME: cli_model_path), printing "tinyllm CMD:
 * <error>" on failure (returns NULL). */
tl_model *cli_load_model(const char *command, const char *path, bool vocab_only);

/* The prompt from -p TEXT or -f FILE (exactly one must be given). Returns a
 * malloc'd string (its length in *len) or NULL after printing an error. */
char *cli_read_prompt(const char *command, const char *text, const char *file, size_t *len);
/* The whole of a file ("-": stdin), NUL-terminated; NULL after printing a
 * one-line error that calls it a `what` file ("prompt", "input"). */
char *cli_read_file(const char *command, const char *what, const char *path, size_t *len);

/* The Jinja source of the chat template to use: `override` (a built-in name
 * or a file), else the model's, else chatml with a notice on stderr.
 * malloc'd; NULL after printing an error. */
char *cli_chat_template(const char *command, const tl_model *model, const char *override);
/* The text of a special token (malloc'd), "" when the model or token is absent. */
char *cli_token_text(const tl_model *model, tl_token token);
/* Renders a conversation (`context`: a cJSON object with "messages" and
 * maybe "tools"; bos_token, eos_token and add_generation_prompt are set here:
 * bos/eos NULL means the model's token texts, or "" without a model).
 * malloc'd text, or NULL after printing an error. */
struct cJSON;
char *cli_chat_render(const char *command, const tl_model *model, const char *template_source, struct cJSON *context,
                      bool add_generation_prompt, const char *bos, const char *eos, size_t *len);

/* Tokenize, growing the buffer as needed. Returns a malloc'd array (count in
 * *n) or NULL after printing an error. */
tl_token *cli_tokenize(const char *command, const tl_model *model, const char *text, size_t len, bool add_special,
                       bool parse_special, int32_t *n);

/* Tokenize a prompt that must fit in a context of n_ctx tokens
 * (tl_tokenize_prompt): a malloc'd array, its exact count in *n, for a prompt
 * of up to cli_prompt_limit(n_ctx) tokens (more than n_ctx, so that a
 * somewhat long prompt's count can still be reported). A longer one is not
 * tokenized to the end: NULL, *too_long set and *n = the limit, for the
 * caller to say so. NULL after printing an error otherwise. */
int32_t cli_prompt_limit(uint32_t n_ctx);
tl_token *cli_tokenize_prompt(const char *command, const tl_model *model, const char *text, size_t len,
                              bool add_special, bool parse_special, uint32_t n_ctx, int32_t *n, bool *too_long);

/* Evaluates a prompt so that the logits of the first generated token are
 * ready: decoder-only models decode it; encoder-decoders encode it, then
 * decode the decoder start token. Prints a one-line error on failure. */
bool cli_evaluate_prompt(const char *command, const tl_model *model, tl_context *ctx, const tl_token *prompt,
                         int32_t n_prompt);

/* Apply --cache-type-k/-v values (NULL = keep the default) to the context
 * params; prints an error and returns false for a bad name. */
bool cli_cache_types(const char *command, const char *type_k, const char *type_v, tl_context_params *params);

/* Parses argv by spec, keeping every positional argument (a malloc'd
 * array in *positional, *n of them, freed by the caller). False when the
 * command is to exit with *rc: 0 after --help, 1 after a printed error. */
bool cli_parse_positional(const tl_command_spec *spec, int argc, char **argv, const char ***positional, int *n,
                          int *rc);

/* Write bytes to stdout and flush (streamed output). */
void cli_write(const char *s, size_t n);

#endif /* TL_CLI_H */
