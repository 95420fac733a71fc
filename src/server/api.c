/*
 * api.c — api_route: the table from (method, path) to handler. A GET for a
 * path that is not an API route is the web chat page (web.c); a known path
 * asked with the wrong method is a 405 in its API's error shape; anything
 * else is left to http.c (404). Every routed request is counted for /metrics
 * and gets its log line (log.h).
 */
#include <string.h>

#include "server/api_common.h"
#include "server/api_store.h"
#include "server/web.h"

typedef struct route {
    const char *method;
    const char *path;
    api_handler *handler;
    api_style style; /* of the 405 for a wrong method */
} route;

static const route routes[] = {
    {"GET", "/v1/models", openai_models, API_OPENAI},
    {"POST", "/v1/chat/completions", openai_chat_completions, API_OPENAI},
    {"POST", "/v1/completions", openai_completions, API_OPENAI},
    {"POST", "/v1/embeddings", openai_embeddings, API_OPENAI},
    {"POST", "/api/generate", ollama_generate, API_OLLAMA},
    {"POST", "/api/chat", ollama_chat, API_OLLAMA},
    {"POST", "/api/embed", ollama_embed, API_OLLAMA},
    {"POST", "/api/embeddings", ollama_embeddings, API_OLLAMA},
    {"GET", "/api/tags", ollama_tags, API_OLLAMA},
    {"GET", "/api/ps", ollama_ps, API_OLLAMA},
    {"POST", "/api/show", ollama_show, API_OLLAMA},
    {"GET", "/api/version", ollama_version, API_OLLAMA},
    {"POST", "/api/pull", ollama_pull, API_OLLAMA},
    {"DELETE", "/api/delete", ollama_delete, API_OLLAMA},
    {"POST", "/api/copy", ollama_copy, API_OLLAMA},
    {"POST", "/api/create", ollama_create, API_OLLAMA},
    {"GET", "/health", misc_health, API_OPENAI},
    {"GET", "/metrics", misc_metrics, API_OPENAI},
    {"POST", "/tokenize", misc_tokenize, API_OPENAI},
    {"POST", "/detokenize", misc_detokenize, API_OPENAI},
    {"GET", "/props", misc_props, API_OPENAI},
    {"POST", "/v1/rerank", rerank_documents, API_OPENAI},
    {"POST", "/v1/reranking", rerank_documents, API_OPENAI},
    {"POST", "/rerank", rerank_documents, API_OPENAI},
    {"POST", "/reranking", rerank_documents, API_OPENAI},
    {"POST", "/api/rerank", rerank_documents, API_OPENAI},
    {"POST", "/api/search", search_documents, API_OLLAMA},
    {"GET", "/api/search/info", search_info, API_OLLAMA},
};

/* Paths that belong to the APIs even when no route matches (so that a GET
 * of /api/nothing is a 404, not the web page). */
static bool is_api_path(const char *path) {
    return strncmp(path, "/v1/", 4) == 0 || strncmp(path, "/api/", 5) == 0 || strcmp(path, "/v1") == 0 ||
           strcmp(path, "/api") == 0;
}

/* Counts the answered request and writes its log line (unless its stream
 * writes it when it ends). */
static void count(server *srv, const http_response *res) {
    atomic_fetch_add(&srv->requests_total, 1);
    if (res->status >= 400) atomic_fetch_add(&srv->requests_failed, 1);
    if (!log_request_deferred()) log_request_end(log_current(), res->status);
}

bool api_route(struct server *srv, const http_request *req, http_response *res) {
    log_request_begin(req->method, req->path);
    const route *path_match = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *r = &routes[i];
        if (strcmp(req->path, r->path) != 0) continue;
        path_match = r;
        if (strcmp(req->method, r->method) != 0) continue;
        r->handler(srv, req, res);
        count(srv, res);
        return true;
    }
    if (path_match) {
        api_reply_fail(res, path_match->style, 405, NULL, "%s %s is not supported: use %s", req->method, req->path,
                       path_match->method);
        count(srv, res);
        return true;
    }
    if ((strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) && !is_api_path(req->path) &&
        web_asset(req->path, res)) {
        count(srv, res);
        return true;
    }
    atomic_fetch_add(&srv->requests_total, 1); /* http.c answers 404 */
    atomic_fetch_add(&srv->requests_failed, 1);
    log_request_end(log_current(), 404);
    return false;
}
