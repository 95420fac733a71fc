/*
 * api_common.h — what the API handlers share (api_common.c): JSON replies
 * and errors in the OpenAI and Ollama shapes, reading and checking request
 * fields, sampling options, chat prompts, keep_alive, embeddings, and the
 * "job" that carries one generation from a handler to the engine and its
 * answer back to the client (at once, or streamed as SSE / NDJSON).
 *
 * Every check fills an api_error and returns false; the handler then answers
 * with api_reply_error in its API's shape. Nothing here aborts on bad input.
 */
#ifndef TL_SERVER_API_COMMON_H
#define TL_SERVER_API_COMMON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/api.h"
#include "server/engine.h"
#include "server/http.h"
#include "server/log.h"
#include "server/registry.h"
#include "server/wire.h"

/* Which API's conventions an answer follows. */
typedef enum api_style {
    API_OPENAI, /* {"error": {"message", "type", "param", "code"}} */
    API_OLLAMA, /* {"error": "message"} */
} api_style;

typedef struct api_error {
    int status;      /* HTTP status; 0 while there is no error */
    int retry_after; /* seconds, for 503 */
    char param[64];  /* the field at fault, or "" */
    char message[512];
} api_error;

/* Records an error (status, the field at fault or NULL, a message); returns
 * false so that checks can `return api_fail(...)`. */
bool api_fail(api_error *e, int status, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ---- replies ------------------------------------------------------------ */

/* A JSON answer; takes `json` (deleted here). */
void api_reply_json(http_response *res, int status, cJSON *json);
void api_reply_text(http_response *res, int status, const char *content_type, const char *text);
void api_reply_error(http_response *res, api_style style, const api_error *e);
/* The error body alone (malloc'd JSON text). */
char *api_error_json(api_style style, const api_error *e);
/* Shortcut: an error reply built in place. */
void api_reply_fail(http_response *res, api_style style, int status, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* ---- request fields ----------------------------------------------------- */

/* Parses the body: a JSON object, or a 400 naming the problem. */
cJSON *api_parse_body(const http_request *req, api_error *e);

/* Field readers: an absent or null field leaves *out alone (and fails with
 * "field 'x' is required" only when `required`); a field of the wrong type
 * fails with "field 'x' must be a ...". `name` is the key in `obj`; the
 * message shows `prefix` + name (prefix may be NULL: "options." for nested). */
bool api_field_string(const cJSON *obj, const char *prefix, const char *name, bool required, const char **out,
                      api_error *e);
bool api_field_number(const cJSON *obj, const char *prefix, const char *name, double *out, api_error *e);
/* A whole number within [min, max]. */
bool api_field_int(const cJSON *obj, const char *prefix, const char *name, int64_t min, int64_t max, int64_t *out,
                   api_error *e);
bool api_field_bool(const cJSON *obj, const char *prefix, const char *name, bool *out, api_error *e);
/* An object (or absent: *out = NULL). */
bool api_field_object(const cJSON *obj, const char *prefix, const char *name, const cJSON **out, api_error *e);

/* keep_alive: a duration string ("5m", "0", "-1"), or a number of seconds;
 * NAN when absent (the server's default). */
bool api_keep_alive(const cJSON *body, double *seconds, api_error *e);

/* ---- models ------------------------------------------------------------- */

/* The request's "model" field (required), checked to be one the server
 * offers (404 otherwise). */
bool api_model_name(server *srv, const cJSON *body, const char *field, const char **name, api_error *e);
/* Names the model in the request's log line (log.h). */
void api_log_model(const char *name);
/* Loads and holds a model (loaded with any context size); *load_ms gets the
 * time spent waiting for it. */
bool api_acquire(server *srv, const char *name, loaded_model **out, double *load_ms, api_error *e);
/* The same with `n_ctx` positions per slot (0: the model's default), for
 * generation: a model loaded with another size is reloaded (registry.h). */
bool api_acquire_ctx(server *srv, const char *name, uint32_t n_ctx, loaded_model **out, double *load_ms, api_error *e);
/* What a model file says about itself (api_model_info.c), read from its
 * GGUF metadata on first use and kept. */
typedef struct model_facts {
    const model_entry *entry;
    bool known;              /* the file could be read */
    char family[64];         /* general.architecture */
    char parameter_size[16]; /* "135M" */
    char quantization[16];   /* "Q8_0", "Q4_K_M" */
    char *chat_template;     /* the file's own, or NULL */
    char *template_file;     /* the contents of a template file NAME.json names, or NULL */
    uint64_t n_params;
    uint32_t context_length; /* trained; 0 when the file does not say */
    bool embedding_only;     /* a file that names a pooling, or an architecture without an engine */
    struct model_facts *next;
} model_facts;
const model_facts *api_model_facts(const model_entry *entry);
/* The chat template a model uses: its NAME.json's (a built-in name as its
 * source), the file's own, else chatml (as registry.c picks). */
const char *api_model_template(const model_entry *entry);
/* Ollama's "details" object, "capabilities" list and "model_info" object
 * (every metadata key; arrays longer than 5 are [] unless verbose). */
cJSON *api_model_details(const model_entry *entry);
cJSON *api_model_capabilities(const model_entry *entry);
cJSON *api_model_info(const model_entry *entry, bool verbose);
/* The Ollama form of a name: "NAME:latest" (malloc'd). */
char *api_ollama_name(const char *name);

/* ---- sampling ----------------------------------------------------------- */

typedef struct api_sampling {
    tl_sampler_params params;
    int32_t max_tokens; /* < 0: until the end of the turn */
    char **stop;        /* owned */
    int n_stop;
    tl_logit_bias *logit_bias; /* owned; params.logit_bias points here */
    int add_bos;               /* start the prompt with BOS: 1, 0, or -1 as the vocabulary says */
    int32_t num_ctx;           /* Ollama's num_ctx: the context to run with; 0 = the model's default */
    int32_t num_keep;          /* Ollama's num_keep: prompt tokens kept from the start when it is cut; -1 = all */
    const model_entry *entry;  /* whose NAME.json options these start from (for the log), or NULL */
    bool speculative;          /* drafts may be used (the request's "speculative", default true) */
} api_sampling;

/* llama.cpp's defaults, then the model's NAME.json "options". */
void api_sampling_init(api_sampling *s, const model_entry *entry);
/* Ollama's "options" object (add_bos is tinyllm's own, as the web page's
 * BOS setting); options without effect are logged once per model, tfs_z
 * other than 1 is refused. */
bool api_sampling_ollama(api_sampling *s, const cJSON *options, const char *prefix, api_error *e);
/* OpenAI's top-level fields (max_tokens, temperature, top_p, stop, seed,
 * presence/frequency_penalty, logit_bias, n) and llama-server's (top_k,
 * min_p, repeat_penalty, repeat_last_n, typical_p, mirostat, mirostat_tau,
 * mirostat_eta). */
bool api_sampling_openai(api_sampling *s, const cJSON *body, const tl_model *model, api_error *e);
/* The request's top-level "speculative": false generates without drafts
 * (both APIs; tinyllm's own field). */
bool api_sampling_speculative(api_sampling *s, const cJSON *body, api_error *e);
/* A finished generation's speculative decoding counts, as llama-server's
 * timings name them (draft_n, draft_n_accepted), added to o when drafts
 * were used. */
void api_add_draft_counts(cJSON *o, const gen_result *r);
void api_sampling_free(api_sampling *s);

/* ---- prompts ------------------------------------------------------------ */

/* Chat messages → the prompt's tokens (malloc'd), through the model's chat
 * template or `template_override` (a built-in name or Jinja source), with
 * one BOS or none (add_bos as for api_text_prompt). The
 * model's default system prompt comes first when there is no system message;
 * `extra_system`, if given, is used as the system message instead. */
bool api_chat_prompt(const loaded_model *m, const cJSON *messages, const char *template_override,
                     const char *extra_system, int add_bos, tl_token **tokens, int32_t *n_tokens, api_error *e);
/* Plain text → tokens (special tokens parsed). add_bos: 1 starts the prompt
 * with BOS, 0 never, -1 as the vocabulary says. */
bool api_text_prompt(const loaded_model *m, const char *text, int add_bos, tl_token **tokens, int32_t *n_tokens,
                     api_error *e);

/* ---- embeddings --------------------------------------------------------- */

/* One input to embed: text, or token ids (then text is NULL). */
typedef struct api_embed_input {
    const char *text;
    tl_token *tokens; /* owned when given as ids */
    int32_t n_tokens;
} api_embed_input;

/* Reads OpenAI/Ollama "input": a string, a list of strings, a list of token
 * ids or a list of lists of ids. *inputs is malloc'd (api_embed_inputs_free). */
bool api_embed_inputs(const cJSON *input, const char *field, api_embed_input **inputs, int *n_inputs, api_error *e);
void api_embed_inputs_free(api_embed_input *inputs, int n_inputs);
/* L2-normalized vectors, n_inputs rows of *dim floats (malloc'd); the total
 * number of tokens read in *n_tokens. */
bool api_embed(server *srv, loaded_model *m, api_embed_input *inputs, int n_inputs, float **vectors, int *dim,
               int64_t *n_tokens, api_error *e);
/* Makes m->embed_ctx, the context embeddings and reranking share, if it is
 * not there yet (call under m->embed_lock). */
bool api_embed_context(loaded_model *m, api_error *e);
/* A JSON list of floats, compact ("%.7g"), for cJSON_AddRawToObject. */
char *api_float_list(const float *values, int n);

/* ---- generation jobs ---------------------------------------------------- */

typedef struct api_job api_job;
struct api_job {
    server *srv;
    loaded_model *model;
    char *model_name; /* as the client asked for it */
    double keep_alive_s;
    double load_ms;
    double started_ms; /* tl_time_ms() when the request arrived */
    api_sampling sampling;
    tl_token *prompt;
    int32_t n_prompt;
    gen_request request;
    /* Streaming: the API's writers for a piece of text and the end. */
    http_stream *stream;
    bool (*stream_text)(api_job *job, const char *text, size_t len);
    void (*stream_done)(api_job *job, const gen_result *result);
    char *preamble; /* written before the first piece, then freed */
    /* Per-API state (ids, flags), freed with the job. */
    char id[48];
    int64_t created;    /* unix seconds */
    bool include_usage; /* OpenAI stream_options.include_usage */
    bool chat;          /* chat (vs. completion / generate) answer shapes */
    int client_fd;      /* the request's connection: a whole answer stops when it closes */
    request_log log;    /* a stream's log line, written when it ends */
    cJSON *sources;     /* chat with documents: the final answer's "sources" (owned), or NULL */
};

api_job *api_job_new(server *srv, const char *model_name, double started_ms);
/* Releases the model (with the job's keep_alive) and frees the job. */
void api_job_free(api_job *job);
/* Ollama's truncation: a prompt that does not fit the context is cut to
 * leave room for the reply (num_predict tokens when that is under half the
 * context, else half), keeping its first num_keep tokens and its end, as
 * Ollama's runner keeps num_keep and drops what follows them. num_keep -1
 * keeps the prompt whole (then api_job_prepare refuses it). */
bool api_job_fit_prompt(api_job *job, api_error *e);
/* Fills the gen_request from the sampling options and the prompt. The prompt
 * must fit the engine's context (400 otherwise). */
bool api_job_prepare(api_job *job, api_error *e);
/* Runs the generation to the end (non-streaming). */
bool api_job_run(api_job *job, char **text, size_t *len, gen_result *result, api_error *e);
/* Starts a streamed generation: on success res gets the stream (status 200,
 * `content_type`) and the job belongs to the engine from then on (freed after
 * stream_done). On failure res gets the error in `style` and the job is
 * freed. Either way the caller only returns res. `preamble`, if any, is
 * written to the stream before anything else (once the engine has the job). */
bool api_job_stream(api_job *job, api_style style, http_response *res, const char *content_type, const char *preamble);
/* Writes a cJSON value to the job's stream as one SSE event or NDJSON line;
 * takes `json`. False when the client has gone. */
bool api_stream_sse(http_stream *s, cJSON *json);
bool api_stream_ndjson(http_stream *s, cJSON *json);

/* ---- time and statistics ------------------------------------------------ */

/* Wall-clock time: unix seconds (fractional). */
double api_now(void);
/* RFC 3339 UTC with microseconds ("2024-05-01T12:00:00.123456Z"). */
void api_rfc3339(double unix_seconds, char out[40]);
/* "chatcmpl-" + 24 random hex digits. */
void api_random_id(const char *prefix, char *out, size_t size);

/* Generations in flight per model and recent speed, for /metrics. */
typedef struct api_model_load {
    const model_entry *entry;
    int in_flight;
} api_model_load;
int api_stats_in_flight(api_model_load *out, int max);
/* A generation of `entry` starts (+1) or ends (-1). */
void api_stats_track(const model_entry *entry, int delta);
/* A finished generation's speed joins the recent window. */
void api_stats_speed(int32_t tokens, double ms);
double api_stats_tokens_per_second(void);

/* ---- handlers, routed by api.c ----------------------------------------- */

typedef void api_handler(server *srv, const http_request *req, http_response *res);
api_handler openai_models, openai_chat_completions, openai_completions, openai_embeddings; /* api_openai.c */
api_handler ollama_generate, ollama_chat, ollama_embed, ollama_embeddings, ollama_tags, ollama_ps, ollama_show,
    ollama_version;                                                                /* api_ollama.c */
api_handler misc_health, misc_metrics, misc_tokenize, misc_detokenize, misc_props; /* api_misc.c */
api_handler rerank_documents;                                                      /* api_rerank.c */
api_handler search_documents, search_info;                                         /* api_search.c */

/* ---- the search database (api_search.c) --------------------------------- */

/* Opens options.search_db (if given) and adds its embedding model to the
 * options' models unless they offer it already: call before registry_new.
 * False with a message in err (srv->search may be set: api_search_stop). */
bool api_search_start(server *srv, tl_error *err);
void api_search_stop(server *srv);
/* A chat request's "documents" (tinyllm's own field: true, or {"k" (default
 * 4), "mode", "path", "rerank_model"}): the chunks found for the last user
 * message go, numbered, into a copy of `messages` (*messages_out) ahead of
 * the question, and *sources gets [{"n", "path", "first_line", "last_line",
 * "score", "text"}]. Both NULL when the body asks for no documents. */
bool api_documents(server *srv, const cJSON *body, const cJSON *messages, cJSON **messages_out, cJSON **sources,
                   api_error *e);

#endif /* TL_SERVER_API_COMMON_H */
