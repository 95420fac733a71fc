/*
 * cmd_serve.c — `tinyllm serve`: reads the options of the HTTP server
 * (models, limits, address, API key, CORS, log, search database) and runs it until Ctrl-C or
 * SIGTERM (src/server/server.c does the work).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_draft.h"
#include "server/server.h"
#include "server/units.h"
#include "util/limits.h"

typedef struct serve_options {
    const char *host, *models_dir, *keep_alive, *max_memory, *body_limit, *api_key, *cors;
    const char *header_timeout, *body_timeout, *idle_timeout, *timeout, *connection_memory, *log_format;
    const char *hub_endpoint, *search_db;
    bool quiet, allow_pull;
    tl_opt_list models;
    const char *files[TL_OPT_LIST_MAX], *names[TL_OPT_LIST_MAX]; /* -m: files, and names of the store */
    int32_t port, max_loaded, parallel, n_ctx, n_threads, n_batch, queue;
    int32_t max_connections, max_connections_per_client, threads_http;
    cli_draft draft;
    char *draft_path; /* the draft model's file (-md FILE|NAME resolved) */
} serve_options;

/* A duration above 0 (and at most a day) for option `name`; false after a one-line error. */
static bool positive_duration(const char *name, const char *text, double *seconds) {
    if (units_parse_duration(text, seconds) && *seconds > 0 && *seconds <= 86400) return true;
    tl_cli_error("serve", "%s expects a duration above 0 such as 10s, 1m or 500ms (at most 24h), got '%s'", name, text);
    return false;
}

/* Turns the parsed text options into server options; false after a
 * one-line error naming the option. */
static bool server_options(const serve_options *s, tl_server_options *o) {
    uint64_t bytes = 0;
    *o = (tl_server_options){
        .host = s->host,
        .port = s->port,
        .models_dir = s->models_dir,
        .model_paths = (const char **)s->files,
        .store_names = (const char **)s->names,
        .max_loaded = s->max_loaded,
        .parallel = s->parallel,
        .n_ctx = (uint32_t)s->n_ctx,
        .n_threads = s->n_threads,
        .n_batch = s->n_batch,
        .queue_limit = s->queue,
        .api_key = s->api_key,
        .cors_origin = s->cors,
        .max_connections = s->max_connections,
        /* 0 on the command line is "no limit", which the server spells < 0. */
        .max_connections_per_client = s->max_connections_per_client > 0 ? s->max_connections_per_client : -1,
        .threads_http = s->threads_http,
        .log_quiet = s->quiet,
        .allow_pull = s->allow_pull,
        .hub_endpoint = s->hub_endpoint,
        .draft_model = s->draft_path,
        .lookup = s->draft.lookup,
        .draft_threads = s->draft.n_threads,
        .draft_n_ctx = (uint32_t)s->draft.n_ctx,
        .search_db = s->search_db,
    };
    o->draft = tl_draft_default_params();
    o->draft.n_max = s->draft.n_max;
    o->draft.n_min = s->draft.n_min;
    o->draft.p_min = s->draft.p_min;
    if (s->draft.model && s->draft.lookup > 0) {
        tl_cli_error("serve", "--lookup and a draft model (--draft) cannot be used together");
        return false;
    }
    if (s->draft.n_min > s->draft.n_max) {
        tl_cli_error("serve", "--draft-min (%d) is larger than --draft-max (%d)", s->draft.n_min, s->draft.n_max);
        return false;
    }
    if (strcmp(s->log_format, "text") == 0 || strcmp(s->log_format, "json") == 0) {
        o->log_json = strcmp(s->log_format, "json") == 0;
    } else {
        tl_cli_error("serve", "--log-format expects text or json, got '%s'", s->log_format);
        return false;
    }
    if (!*s->host) {
        tl_cli_error("serve", "--host must not be empty");
        return false;
    }
    if (!units_parse_duration(s->keep_alive, &o->keep_alive_s)) {
        tl_cli_error("serve", "--keep-alive expects a duration such as 5m, 1h30m, 300s or -1 (forever), got '%s'",
                     s->keep_alive);
        return false;
    }
    if (s->max_memory) {
        if (!units_parse_size(s->max_memory, &bytes)) {
            tl_cli_error("serve", "--max-memory expects a size such as 512M or 2G, got '%s'", s->max_memory);
            return false;
        }
        o->max_memory = bytes;
    }
    if (!units_parse_size(s->body_limit, &bytes) || bytes == 0 || bytes > SIZE_MAX) {
        tl_cli_error("serve", "--body-limit expects a size above 0 such as 8M or 64K, got '%s'", s->body_limit);
        return false;
    }
    o->body_limit = (size_t)bytes;
    if (!positive_duration("--header-timeout", s->header_timeout, &o->header_timeout_s) ||
        !positive_duration("--body-timeout", s->body_timeout, &o->body_timeout_s) ||
        !positive_duration("--idle-timeout", s->idle_timeout, &o->idle_timeout_s) ||
        !positive_duration("--timeout", s->timeout, &o->timeout_s))
        return false;
    if (!units_parse_size(s->connection_memory, &bytes) || bytes < 4096 || bytes > ((uint64_t)16 << 20)) {
        tl_cli_error("serve", "--connection-memory expects a size from 4K to 16M such as 64K, got '%s'",
                     s->connection_memory);
        return false;
    }
    o->connection_memory = (size_t)bytes;
    if (o->api_key && !*o->api_key) {
        tl_cli_error("serve", "--api-key must not be empty");
        return false;
    }
    struct stat st;
    if (o->models_dir && (stat(o->models_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        tl_cli_error("serve", "--models: '%s' is not a directory", o->models_dir);
        return false;
    }
    return true;
}

/* Where the models come from: -m FILE, -m NAME (a model of the store),
 * --models DIR (a folder of *.gguf, or a store folder: one with manifests/),
 * and with neither --models nor -m, every model of the store. */
static void model_sources(serve_options *s, tl_server_options *o) {
    struct stat st;
    for (int i = 0; i < s->models.n; i++) {
        const char *m = s->models.items[i];
        if (stat(m, &st) == 0)
            s->files[o->n_model_paths++] = m;
        else
            s->names[o->n_store_names++] = m;
    }
    char manifests[4200];
    snprintf(manifests, sizeof manifests, "%s/manifests", o->models_dir ? o->models_dir : "");
    if (o->models_dir && stat(manifests, &st) == 0 && S_ISDIR(st.st_mode)) {
        o->store_dir = o->models_dir;
        o->models_dir = NULL;
        o->serve_store = true;
    }
    if (!o->models_dir && !o->serve_store && s->models.n == 0) o->serve_store = true;
}

int cmd_serve(int argc, char **argv) {
    serve_options s = {.host = "127.0.0.1",
                       .port = 8080,
                       .keep_alive = "5m",
                       .parallel = 4,
                       .queue = 64,
                       .body_limit = "8M",
                       .header_timeout = "10s",
                       .body_timeout = "60s",
                       .idle_timeout = "5s",
                       .timeout = "60s",
                       .connection_memory = "64K",
                       .max_connections = 4096,
                       .max_connections_per_client = 32,
                       .threads_http = 128,
                       .log_format = "text"};
    bool api_key_given = false;
    const tl_opt base[] = {
        {NULL, "--host", TL_OPT_STRING, &s.host, "HOST",
         "address to listen on; 0.0.0.0 or :: for every interface (default 127.0.0.1)", NULL, 0, 0},
        {NULL, "--port", TL_OPT_INT, &s.port, "N", "port to listen on; 0 = any free port (default 8080)", NULL, 0,
         65535},
        {NULL, "--models", TL_OPT_STRING, &s.models_dir, "DIR",
         "serve every *.gguf of DIR, named by file name without .gguf (a store folder: its models)", NULL, 0, 0},
        {"-m", "--model", TL_OPT_LIST, &s.models, "FILE|NAME",
         "serve this GGUF file, or this model of the store, too (repeatable)", NULL, 0, 0},
        {NULL, "--keep-alive", TL_OPT_STRING, &s.keep_alive, "DURATION",
         "how long an idle model stays loaded: 5m, 1h30m, 0 = unload at once, -1 = forever (default 5m)", NULL, 0, 0},
        {NULL, "--max-loaded", TL_OPT_INT, &s.max_loaded, "N", "most models loaded at once; 0 = no limit (default 0)",
         NULL, 0, 1e6},
        {NULL, "--max-memory", TL_OPT_STRING, &s.max_memory, "SIZE",
         "most memory for loaded models, e.g. 2G or 512M (default: no limit)", NULL, 0, 0},
        {NULL, "--parallel", TL_OPT_INT, &s.parallel, "N", "concurrent generations per model (default 4)", NULL, 1, 64},
        {"-c", "--ctx-size", TL_OPT_INT, &s.n_ctx, "N",
         "context size of each generation; 0 = the model's, at most 4096 (default 0)", NULL, 0, TL_MAX_CTX},
        {"-t", "--threads", TL_OPT_INT, &s.n_threads, "N", "threads; 0 = physical cores (default 0)", NULL, 0,
         TL_MAX_THREADS},
        {"-b", "--batch-size", TL_OPT_INT, &s.n_batch, "N", "most tokens per forward pass (default 512)", NULL, 0,
         TL_MAX_BATCH},
        {NULL, "--queue", TL_OPT_INT, &s.queue, "N", "requests that may wait per model before 503 Busy (default 64)",
         NULL, 1, 1e6},
        {NULL, "--body-limit", TL_OPT_STRING, &s.body_limit, "SIZE",
         "largest request body, e.g. 8M or 64K (default 8M)", NULL, 0, 0},
        {NULL, "--api-key", TL_OPT_STRING, &s.api_key, "KEY",
         "require \"Authorization: Bearer KEY\" on the API (default: $TINYLLM_API_KEY, else none)", &api_key_given, 0,
         0},
        {NULL, "--allow-pull", TL_OPT_FLAG, &s.allow_pull, NULL,
         "let POST /api/pull download from the Hub into the store (else only requests with --api-key's key)", NULL, 0,
         0},
        {NULL, "--hub-endpoint", TL_OPT_STRING, &s.hub_endpoint, "URL",
         "where /api/pull downloads from (default: $HF_ENDPOINT, else https://huggingface.co)", NULL, 0, 0},
        {NULL, "--db", TL_OPT_STRING, &s.search_db, "FILE",
         "a search database (tinyllm index): POST /api/search, /api/chat \"documents\" and the page's Documents tab; "
         "its embedding model is served too",
         NULL, 0, 0},
        {NULL, "--cors", TL_OPT_STRING, &s.cors, "ORIGIN",
         "allow browsers on ORIGIN (or *) to call the API (default: no CORS headers)", NULL, 0, 0},
        {NULL, "--header-timeout", TL_OPT_STRING, &s.header_timeout, "DURATION",
         "headers due within this of the accept (or last answer + --idle-timeout), else 408 (default 10s)", NULL, 0, 0},
        {NULL, "--body-timeout", TL_OPT_STRING, &s.body_timeout, "DURATION",
         "a body due within this after its headers, else 408 (default 60s)", NULL, 0, 0},
        {NULL, "--idle-timeout", TL_OPT_STRING, &s.idle_timeout, "DURATION",
         "close a kept-alive connection idle this long between requests (default 5s)", NULL, 0, 0},
        {NULL, "--timeout", TL_OPT_STRING, &s.timeout, "DURATION",
         "close a connection stalled this long reading a body or sending an answer (default 60s)", NULL, 0, 0},
        {NULL, "--max-connections", TL_OPT_INT, &s.max_connections, "N",
         "most open connections; past it new ones wait until one closes (default 4096)", NULL, 1, 1000000},
        {NULL, "--max-connections-per-client", TL_OPT_INT, &s.max_connections_per_client, "N",
         "most open connections from one IP address; 0 = no limit (default 32)", NULL, 0, 1000000},
        {NULL, "--connection-memory", TL_OPT_STRING, &s.connection_memory, "SIZE",
         "per connection, for the request line and headers; more gets 414/431 (default 64K)", NULL, 0, 0},
        {NULL, "--threads-http", TL_OPT_INT, &s.threads_http, "N",
         "most requests handled at once, each on a thread; more get 503 (default 128)", NULL, 1, 4096},
        {NULL, "--log-format", TL_OPT_STRING, &s.log_format, "FORMAT",
         "stderr log of requests and model loads/unloads: text, or json (an object a line) (default text)", NULL, 0, 0},
        {NULL, "--quiet", TL_OPT_FLAG, &s.quiet, NULL, "log only errors (5xx answers, failed loads)", NULL, 0, 0},
    };
    const int n_base = (int)(sizeof base / sizeof base[0]);
    tl_opt opts[sizeof base / sizeof base[0] + CLI_DRAFT_N_OPTS];
    memcpy(opts, base, sizeof base);
    cli_draft_init(&s.draft, opts + n_base);
    const tl_command_spec spec = {
        "serve", "[--models DIR | -m FILE|NAME ...] [--host HOST] [--port N] [options]",
        "Serve models over HTTP until Ctrl-C (with neither --models nor -m: every model of the store,\n"
        "tinyllm list): the Ollama API (/api/chat, /api/generate, /api/tags, ..., and /api/pull, /api/delete,\n"
        "/api/copy, /api/create over the store),\n"
        "the OpenAI API (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models), /props (the\n"
        "default sampling settings), /v1/rerank, with --db FILE /api/search, and a web chat page at /. Models load on "
        "first use and unload after\n"
        "--keep-alive idle time. Prints \"listening on http://HOST:PORT\" once ready; stderr gets a line per\n"
        "request and per model load or unload.",
        opts, n_base + CLI_DRAFT_N_OPTS};
    const char *positional[1];
    int n_positional;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 0, &n_positional);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (!api_key_given) {
        const char *env = getenv("TINYLLM_API_KEY");
        s.api_key = env && *env ? env : NULL;
    }
    if (s.draft.model && !(s.draft_path = cli_model_path("serve", s.draft.model))) return 1;
    tl_server_options o;
    int rc = 1;
    if (server_options(&s, &o)) {
        model_sources(&s, &o);
        rc = tl_server_run(&o);
    }
    free(s.draft_path);
    return rc;
}
