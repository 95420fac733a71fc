/*
 * api.h — the server's state as the API handlers see it, and the routes:
 * api.c dispatches a request to api_openai.c (/v1/...), api_ollama.c
 * (/api/...), api_store.c (/api/pull, /api/delete, /api/copy, /api/create),
 * api_misc.c (/health, /metrics, /tokenize, /detokenize), api_rerank.c
 * (/v1/rerank, /api/rerank and their aliases), api_search.c (/api/search,
 * /api/search/info) and
 * web.c (the chat page at /). Shared helpers (JSON replies, errors, sampling
 * options, chat prompts, durations) are in api_common.h.
 */
#ifndef TL_SERVER_API_H
#define TL_SERVER_API_H

#include <stdatomic.h>

#include "server/http.h"
#include "server/registry.h"
#include "server/server.h"

typedef struct api_pulls api_pulls;
typedef struct api_search api_search;

typedef struct server {
    tl_server_options options;
    registry *models;
    api_pulls *pulls;   /* the pulls under way (api_store.h) */
    api_search *search; /* --db: the search database (api_search.c), or NULL */
    double started_at;  /* tl_time_ms() at start */
    /* Counters for /metrics. */
    atomic_uint_fast64_t requests_total, requests_failed;
    atomic_uint_fast64_t prompt_tokens_total, generated_tokens_total;
    atomic_uint_fast64_t drafted_tokens_total, draft_accepted_tokens_total; /* speculative decoding */
} server;

#endif /* TL_SERVER_API_H */
