/*
 * server.h — `tinyllm serve`: an HTTP server speaking the Ollama and OpenAI
 * APIs over the models of a directory, plus a web chat page.
 *
 * How a request flows:
 *   http*.c     libmicrohttpd: event-loop threads hold the connections
 *               (deadlines, connection caps), body limits, API key, CORS;
 *               a handler thread runs api_route() on a complete request.
 *   api_*.c     parse and check the JSON, pick the model, turn messages into
 *               prompt tokens, and write the answer (JSON, SSE or NDJSON).
 *   registry.c  which models exist, loading on first use, keep_alive and
 *               least-recently-used unloading.
 *   engine.c    per loaded model: N slots (sequences of one tl_context) that
 *               advance together in one batched forward pass per step.
 */
#ifndef TL_SERVER_H
#define TL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

#define TL_SERVER_VERSION "0.1.0"

typedef struct tl_server_options {
    const char *host;         /* "127.0.0.1" */
    int port;                 /* 8080; 0 = any free port (printed) */
    const char *models_dir;   /* every *.gguf in it; NULL = none */
    const char **model_paths; /* -m FILE, each listed by its file name without .gguf */
    int n_model_paths;
    /* The model store (src/store/store.h): its models are named as in it
     * (without ":latest"), with their manifest's system/template/options. */
    const char *store_dir;    /* NULL = the default folder ($TINYLLM_MODELS, ...) */
    bool serve_store;         /* every model of the store */
    const char **store_names; /* -m NAME: these models of the store */
    int n_store_names;
    bool allow_pull;          /* POST /api/pull without an API key (else 403) */
    const char *hub_endpoint; /* where /api/pull gets models; NULL = $HF_ENDPOINT, else the Hub */
    double keep_alive_s;      /* idle seconds before unloading; < 0 = never (default 300) */
    int max_loaded;           /* most models loaded at once; 0 = no limit */
    uint64_t max_memory;      /* bytes of loaded models (weights + contexts); 0 = no limit */
    int parallel;             /* slots (concurrent generations) per model, default 4 */
    uint32_t n_ctx;           /* context per slot; 0 = the model's, at most 4096 */
    int n_threads;            /* 0 = physical cores */
    int n_batch;              /* most tokens per forward pass; 0 = 512 */
    int queue_limit;          /* requests waiting per model before 503; default 64 */
    size_t body_limit;        /* largest request body in bytes; default 8 MiB */
    const char *api_key;      /* required as "Authorization: Bearer KEY" when set */
    const char *cors_origin;  /* Access-Control-Allow-Origin value; NULL = no CORS headers */
    /* Connections (0 = the default in brackets). */
    double header_timeout_s;        /* request headers complete within this [10] */
    double body_timeout_s;          /* the body complete within this after the headers [60] */
    double idle_timeout_s;          /* a kept-alive connection without a request is closed [5] */
    double timeout_s;               /* no progress reading a body or sending an answer [60] */
    int max_connections;            /* open at once [4096] */
    int max_connections_per_client; /* from one IP address [32]; < 0 = no limit */
    size_t connection_memory;       /* per connection for the request line and headers [64 KiB] */
    int threads_http;               /* requests handled at once, more get 503 [128] */
    bool log_json;                  /* the stderr log as one JSON object a line (else text) */
    bool log_quiet;                 /* log only errors */
    /* Speculative decoding: a draft model file for every model whose
     * vocabulary it shares (a model's own NAME.json "draft" wins), or
     * prompt lookup of n-grams up to `lookup`; draft.n_max 0 = off. */
    const char *draft_model;
    int lookup;
    tl_draft_params draft;
    int draft_threads;    /* 0 = n_threads */
    uint32_t draft_n_ctx; /* the draft model's context per slot; 0 = a slot's */
    /* A search database (tinyllm index) for POST /api/search and /api/chat's
     * "documents"; its embedding model is served too. NULL = none. */
    const char *search_db;
} tl_server_options;

/* Runs the server until SIGINT or SIGTERM. Prints "listening on http://H:P"
 * on stdout once ready. Returns the process exit code (1 after a one-line
 * error on stderr, e.g. the port is taken or the models directory is missing). */
int tl_server_run(const tl_server_options *options);

#endif /* TL_SERVER_H */
