/*
 * api_rerank.c — POST /v1/rerank (also /v1/reranking, /rerank, /reranking,
 * /api/rerank): scores documents against a query with a reranker, in the
 * request and response shapes of llama-server and Jina:
 *
 *   {"model", "query", "documents": [string | {"text"}], "top_n",
 *    "return_documents"}
 *   → {"model", "object": "list", "usage": {"prompt_tokens", "total_tokens"},
 *      "results": [{"index", "relevance_score", "document": {"text"}}]}
 *
 * results best first, top_n of them (default all), "document" only with
 * return_documents. As llama-server, a body with "texts" instead of
 * "documents" is Hugging Face TEI's /rerank: the reply is the bare list
 * [{"index", "score", "text"}] ("text" with return_text). Each pair is
 * scored by tl_rerank in the model's embedding context, one request at a
 * time under its lock (api_embed.c); relevance_score is the raw score, as
 * llama-server's. Errors are 400s in OpenAI's shape, naming the field.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_common.h"

/* The most documents one request may score (each is a pass of the model). */
#define MAX_RERANK_DOCUMENTS 1000

typedef struct rerank_request {
    const char *name, *query, *field; /* field: "documents", or "texts" (TEI) */
    const char **documents;
    int n_documents;
    int64_t top_n;
    bool return_documents, tei;
} rerank_request;

/* documents: a non-empty list of strings or {"text": string} objects. */
static bool read_documents(const cJSON *body, rerank_request *r, api_error *e) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "documents");
    r->field = "documents";
    if (!list && (list = cJSON_GetObjectItemCaseSensitive(body, "texts"))) {
        r->field = "texts";
        r->tei = true;
    }
    if (!list || cJSON_IsNull(list)) return api_fail(e, 400, "documents", "field 'documents' is required");
    if (!cJSON_IsArray(list))
        return api_fail(e, 400, r->field, "field '%s' must be a list of strings or {\"text\": string} objects",
                        r->field);
    const int n = cJSON_GetArraySize(list);
    if (n == 0) return api_fail(e, 400, r->field, "field '%s' must not be an empty list", r->field);
    if (n > MAX_RERANK_DOCUMENTS)
        return api_fail(e, 400, r->field, "field '%s' has %d documents, more than the limit of %d per request",
                        r->field, n, MAX_RERANK_DOCUMENTS);
    if (!(r->documents = malloc((size_t)n * sizeof *r->documents))) return api_fail(e, 500, NULL, "out of memory");
    for (const cJSON *item = list->child; item; item = item->next) {
        const cJSON *text = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "text") : item;
        if (!cJSON_IsString(text))
            return api_fail(e, 400, r->field, "%s[%d] must be a string or an object with a \"text\" string", r->field,
                            r->n_documents);
        r->documents[r->n_documents++] = text->valuestring;
    }
    return true;
}

static bool read_request(server *srv, const cJSON *body, rerank_request *r, api_error *e) {
    r->top_n = INT32_MAX;
    if (!api_model_name(srv, body, "model", &r->name, e) ||
        !api_field_string(body, NULL, "query", true, &r->query, e) || !read_documents(body, r, e) ||
        !api_field_int(body, NULL, "top_n", 1, INT32_MAX, &r->top_n, e) ||
        !api_field_bool(body, NULL, r->tei ? "return_text" : "return_documents", &r->return_documents, e))
        return false;
    return true;
}

/* Scores every document under the model's embedding lock. */
static bool score(loaded_model *m, const rerank_request *r, float *scores, int64_t *n_tokens, api_error *e) {
    if (tl_model_rank_outputs(m->model) == 0)
        return api_fail(e, 400, "model", "model '%s' is not a reranker: it has no classification head", r->name);
    pthread_mutex_t *lock = m->embed_lock;
    if (!lock) return api_fail(e, 500, NULL, "model '%s' has no embedding lock", m->entry->name);
    pthread_mutex_lock(lock);
    tl_error err = {0};
    const bool have_context = api_embed_context(m, e);
    const tl_status status =
        have_context ? tl_rerank(m->embed_ctx, r->query, r->documents, r->n_documents, scores, n_tokens, &err)
                     : TL_ERR_NOMEM;
    pthread_mutex_unlock(lock);
    if (!have_context) return false;
    if (status == TL_OK) return true;
    if (status == TL_ERR_CONTEXT_FULL || status == TL_ERR_ARGUMENT)
        return api_fail(e, 400, r->field, "%s", err.message);
    return api_fail(e, 500, NULL, "reranking failed: %s", err.message);
}

/* The reply: llama-server's / Jina's object, or TEI's bare list. */
static cJSON *reply(const rerank_request *r, const float *scores, int64_t n_tokens, int32_t *order) {
    tl_rank_order(scores, r->n_documents, order);
    const int shown = r->top_n < r->n_documents ? (int)r->top_n : r->n_documents;
    cJSON *results = cJSON_CreateArray();
    for (int i = 0; i < shown; i++) {
        cJSON *item = cJSON_CreateObject();
        const float score = scores[order[i]];
        cJSON_AddNumberToObject(item, "index", order[i]);
        cJSON_AddNumberToObject(item, r->tei ? "score" : "relevance_score", isfinite(score) ? score : -1e30);
        const char *text = r->documents[order[i]];
        if (r->return_documents && r->tei) cJSON_AddStringToObject(item, "text", text);
        if (r->return_documents && !r->tei)
            cJSON_AddStringToObject(cJSON_AddObjectToObject(item, "document"), "text", text);
        cJSON_AddItemToArray(results, item);
    }
    if (r->tei) return results;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", r->name);
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *usage = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(usage, "prompt_tokens", (double)n_tokens);
    cJSON_AddNumberToObject(usage, "total_tokens", (double)n_tokens);
    cJSON_AddItemToObject(root, "results", results);
    return root;
}

void rerank_documents(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    rerank_request r = {0};
    loaded_model *m = NULL;
    float *scores = NULL;
    int32_t *order = NULL;
    int64_t n_tokens = 0;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !read_request(srv, body, &r, &e) || !api_acquire(srv, r.name, &m, NULL, &e)) goto fail;
    scores = malloc((size_t)r.n_documents * sizeof *scores);
    order = malloc((size_t)r.n_documents * sizeof *order);
    if (!scores || !order) {
        api_fail(&e, 500, NULL, "out of memory");
        goto fail;
    }
    if (!score(m, &r, scores, &n_tokens, &e)) goto fail;
    atomic_fetch_add(&srv->prompt_tokens_total, (uint_fast64_t)n_tokens);
    api_reply_json(res, 200, reply(&r, scores, n_tokens, order));
    goto done;
fail:
    api_reply_error(res, API_OPENAI, &e);
done:
    if (m) registry_release(srv->models, m, NAN);
    free(scores);
    free(order);
    free(r.documents);
    cJSON_Delete(body);
}
