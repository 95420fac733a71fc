/*
 * api_search.c — the server's search database (`serve --db FILE`,
 * src/search/search.h): POST /api/search, GET /api/search/info, and the
 * retrieval behind /api/chat's "documents" (answers from your documents).
 *
 *   GET /api/search/info → {"db", "model", "dim", "vectors", "served_as",
 *     "sources", "chunks"} ({"db": null} without --db)
 *   POST /api/search {"query", "k" (1..100, default 5), "mode" ("vector" |
 *     "text" | "hybrid", default hybrid), "path" (a glob over source paths),
 *     "rerank_model" (a served reranker: the top candidates are rescored)}
 *   → {"query", "mode", "model", "results": [{"rank", "score", "path",
 *      "first_line", "last_line", "start_byte", "end_byte", "chunk_id",
 *      "snippet", "text"}]}
 *
 * The query is embedded with the database's own model, which the server
 * offers through its registry (loaded and unloaded as any model, under its
 * embedding lock as /api/embed): api_search_start adds it to the served
 * models when neither --models nor -m covers it. Its embeddings are checked
 * once against the database's (tl_search_same_model). The database handle
 * is for one thread at a time, so queries take turns under a mutex; other
 * processes may index the file meanwhile (SQLite WAL).
 */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "search/search.h"
#include "server/api_common.h"
#include "util/error.h"

#define DEFAULT_K 5
#define MAX_K 100
#define DEFAULT_DOCUMENTS_K 4
#define SNIPPET_BYTES 240
/* With a reranker, this many candidates per wanted result are rescored. */
#define RERANK_FACTOR 4

struct api_search {
    char *path;
    tl_search_db *db;
    pthread_mutex_t lock;                    /* db is for one thread at a time */
    const model_entry *checked;              /* the served model whose embeddings were found to be the database's */
    const char **model_paths, **store_names; /* the options' lists with the database's model added */
    char *model_name;                        /* the name or file they point to */
};

/* ---- start and stop ----------------------------------------------------- */

static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A file's name without its folder and ".gguf": what the registry calls it. */
static void served_name(const char *path, char *out, size_t size) {
    const char *slash = strrchr(path, '/');
    snprintf(out, size, "%s", slash ? slash + 1 : path);
    const size_t len = strlen(out);
    if (len > 5 && strcmp(out + len - 5, ".gguf") == 0) out[len - 5] = 0;
}

/* Whether the options already offer the model file `path`, or another model
 * of its name (which adding it would clash with). */
static bool file_offered(const tl_server_options *o, const char *path) {
    char name[256], other[256];
    served_name(path, name, sizeof name);
    for (int i = 0; i < o->n_model_paths; i++) {
        served_name(o->model_paths[i], other, sizeof other);
        if (same_file(o->model_paths[i], path) || strcmp(name, other) == 0) return true;
    }
    if (o->models_dir) {
        char in_dir[4200];
        snprintf(in_dir, sizeof in_dir, "%s/%s.gguf", o->models_dir, name);
        struct stat st;
        if (stat(in_dir, &st) == 0) return true;
    }
    return false;
}

/* Appends `item` to a copy of list (n items); the copy is *owned. */
static bool append(const char **list, int *n, const char *item, const char ***owned) {
    const char **copy = malloc(((size_t)*n + 1) * sizeof *copy);
    if (!copy) return false;
    if (*n) memcpy(copy, list, (size_t)*n * sizeof *copy);
    copy[(*n)++] = item;
    *owned = copy;
    return true;
}

/* Offers the database's embedding model: its file (-m FILE), or its name in
 * the store, unless the options offer it already. */
static bool offer_model(api_search *s, tl_server_options *o, const tl_search_model *model, tl_error *err) {
    struct stat st;
    bool ok = true;
    /* A file that is gone is not offered: a search says so. */
    if (model->name[0] == '/' && (stat(model->name, &st) != 0 || file_offered(o, model->name))) return true;
    const char *name = s->model_name = strdup(model->name); /* the options point to it */
    if (!name) return tl_fail(err, TL_ERR_NOMEM, "out of memory"), false;
    if (name[0] == '/') {
        ok = append(o->model_paths, &o->n_model_paths, name, &s->model_paths);
        o->model_paths = s->model_paths;
    } else if (!o->serve_store) {
        for (int i = 0; i < o->n_store_names; i++)
            if (strcmp(o->store_names[i], name) == 0) return true;
        ok = append(o->store_names, &o->n_store_names, name, &s->store_names);
        o->store_names = s->store_names;
    }
    if (!ok) tl_fail(err, TL_ERR_NOMEM, "out of memory");
    return ok;
}

bool api_search_start(server *srv, tl_error *err) {
    tl_server_options *o = &srv->options;
    if (!o->search_db) return true;
    api_search *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(o->search_db))) {
        free(s);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory"), false;
    }
    pthread_mutex_init(&s->lock, NULL);
    srv->search = s;
    tl_error open_err = {0};
    if (tl_search_open(s->path, false, &s->db, &open_err) != TL_OK) {
        tl_fail(err, open_err.status, "--db %s: %s", s->path, open_err.message);
        return false;
    }
    tl_search_model model;
    bool has = false;
    if (tl_search_get_model(s->db, &model, &has, &open_err) != TL_OK) {
        tl_fail(err, open_err.status, "--db %s: %s", s->path, open_err.message);
        return false;
    }
    return !has || offer_model(s, o, &model, err);
}

void api_search_stop(server *srv) {
    api_search *s = srv->search;
    if (!s) return;
    tl_search_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s->model_paths);
    free(s->store_names);
    free(s->model_name);
    free(s->path);
    free(s);
    srv->search = NULL;
}

/* ---- searching ---------------------------------------------------------- */

typedef struct search_params {
    const char *query, *path, *rerank_model;
    int64_t k;
    int mode; /* tl_search_mode */
} search_params;

static bool no_database(api_error *e) {
    return api_fail(e, 404, NULL,
                    "this server has no search database: start it with --db FILE (tinyllm index makes one)");
}

/* The database's model, or a 400 when nothing is indexed yet. */
static bool database_model(api_search *s, tl_search_model *model, api_error *e) {
    tl_error err = {0};
    bool has = false;
    pthread_mutex_lock(&s->lock);
    const tl_status status = tl_search_get_model(s->db, model, &has, &err);
    pthread_mutex_unlock(&s->lock);
    if (status != TL_OK) return api_fail(e, 500, NULL, "%s: %s", s->path, err.message);
    if (!has) return api_fail(e, 400, NULL, "%s: nothing indexed yet (run tinyllm index --db %s)", s->path, s->path);
    return true;
}

/* The served model that is the database's: by name (a store model) or by
 * file (a path). */
static const model_entry *find_model(server *srv, const char *name) {
    if (name[0] != '/') {
        if (!registry_find(srv->models, name)) registry_sync_store(srv->models);
        return registry_find(srv->models, name);
    }
    for (int i = 0; i < registry_count(srv->models); i++) {
        const model_entry *entry = registry_entry(srv->models, i);
        if (!atomic_load(&entry->removed) && entry->path && same_file(entry->path, name)) return entry;
    }
    return NULL;
}

/* Embeds the query under the model's embedding lock (checking the model's
 * embeddings against the database's the first time). */
static bool embed_locked(api_search *s, loaded_model *m, const tl_search_model *want, const char *query, float *out,
                         api_error *e) {
    if (!api_embed_context(m, e)) return false;
    tl_error err = {0};
    if (s->checked != m->entry) {
        tl_search_model have;
        char why[200];
        if (tl_search_describe_model(m->embed_ctx, m->model, want->name, want->type, &have, &err) != TL_OK)
            return api_fail(e, 500, NULL, "the embedding model: %s", err.message);
        if (!tl_search_same_model(want, &have, why, sizeof why))
            return api_fail(e, 400, NULL, "model '%s' is not the embedding model %s was indexed with: %s",
                            m->entry->name, s->path, why);
        s->checked = m->entry;
    }
    if (tl_search_embed(m->embed_ctx, m->model, (tl_pooling)want->pooling, query, strlen(query), out, &err) != TL_OK)
        return api_fail(e, 400, "query", "the query: %s", err.message);
    return true;
}

static bool embed_query(server *srv, const tl_search_model *want, const char *query, float **vector, api_error *e) {
    const model_entry *entry = find_model(srv, want->name);
    if (!entry)
        return api_fail(e, 400, NULL,
                        "the database's embedding model %s is not served: start the server with -m %s (or give "
                        "\"mode\": \"text\")",
                        want->name, want->name);
    loaded_model *m = NULL;
    if (!api_acquire(srv, entry->name, &m, NULL, e)) return false;
    bool ok = false;
    pthread_mutex_t *lock = m->embed_lock;
    if (tl_model_embedding_size(m->model) != want->dim) {
        api_fail(e, 400, NULL, "model '%s' makes %u-float embeddings, the database has %u", entry->name,
                 tl_model_embedding_size(m->model), want->dim);
    } else if (!lock) {
        api_fail(e, 500, NULL, "model '%s' has no embedding lock", entry->name);
    } else if (!(*vector = malloc(want->dim * sizeof **vector))) {
        api_fail(e, 500, NULL, "out of memory");
    } else {
        pthread_mutex_lock(lock);
        pthread_mutex_lock(&srv->search->lock); /* s->checked */
        ok = embed_locked(srv->search, m, want, query, *vector, e);
        pthread_mutex_unlock(&srv->search->lock);
        pthread_mutex_unlock(lock);
    }
    registry_release(srv->models, m, NAN);
    return ok;
}

/* Puts the hits in the order of scores (best first) with those scores,
 * keeping k of them. */
static void reorder(tl_search_hit *hits, int *n_hits, const float *scores, int32_t *order, tl_search_hit *sorted,
                    int64_t k) {
    const int n = *n_hits;
    tl_rank_order(scores, n, order);
    for (int i = 0; i < n; i++) {
        sorted[i] = hits[order[i]];
        sorted[i].score = isfinite(scores[order[i]]) ? scores[order[i]] : -1e30;
    }
    memcpy(hits, sorted, (size_t)n * sizeof *hits);
    for (int i = (int)k; i < n; i++) {
        free(hits[i].path);
        free(hits[i].text);
    }
    if (n > k) *n_hits = (int)k;
}

/* Rescores the hits with a reranker under its embedding lock. */
static bool rerank(server *srv, const search_params *p, tl_search_hit *hits, int *n_hits, api_error *e) {
    const char *name = p->rerank_model;
    if (!registry_find(srv->models, name)) registry_sync_store(srv->models);
    if (!registry_find(srv->models, name)) return api_fail(e, 404, "rerank_model", "rerank_model '%s' not found", name);
    const int n = *n_hits;
    loaded_model *m = NULL;
    if (!api_acquire(srv, name, &m, NULL, e)) return false;
    float *scores = malloc(((size_t)n + 1) * sizeof *scores);
    int32_t *order = malloc(((size_t)n + 1) * sizeof *order);
    const char **texts = malloc(((size_t)n + 1) * sizeof *texts);
    tl_search_hit *sorted = malloc(((size_t)n + 1) * sizeof *sorted);
    bool ok = false;
    if (!scores || !order || !texts || !sorted) {
        api_fail(e, 500, NULL, "out of memory");
    } else if (tl_model_rank_outputs(m->model) == 0) {
        api_fail(e, 400, "rerank_model", "model '%s' is not a reranker: it has no classification head", name);
    } else if (!m->embed_lock) {
        api_fail(e, 500, NULL, "model '%s' has no embedding lock", name);
    } else if (n == 0) {
        ok = true;
    } else {
        for (int i = 0; i < n; i++) texts[i] = hits[i].text;
        tl_error err = {0};
        int64_t n_tokens = 0;
        pthread_mutex_lock(m->embed_lock);
        const bool have_context = api_embed_context(m, e);
        const tl_status status =
            have_context ? tl_rerank(m->embed_ctx, p->query, texts, n, scores, &n_tokens, &err) : TL_ERR_NOMEM;
        pthread_mutex_unlock(m->embed_lock);
        if (status == TL_OK) {
            atomic_fetch_add(&srv->prompt_tokens_total, (uint_fast64_t)n_tokens);
            reorder(hits, n_hits, scores, order, sorted, p->k);
            ok = true;
        } else if (have_context) {
            api_fail(e, status == TL_ERR_CONTEXT_FULL ? 400 : 500, "rerank_model", "reranking failed: %s", err.message);
        }
    }
    free(texts);
    free(scores);
    free(order);
    free(sorted);
    registry_release(srv->models, m, NAN);
    return ok;
}

/* Runs a search: the query embedded (vector and hybrid), the database
 * queried, the hits reranked when asked. */
static bool run_search(server *srv, const search_params *p, tl_search_model *model, tl_search_hit **hits, int *n_hits,
                       api_error *e) {
    api_search *s = srv->search;
    *hits = NULL;
    *n_hits = 0;
    if (!s) return no_database(e);
    if (!database_model(s, model, e)) return false;
    float *vector = NULL;
    if (p->mode != TL_SEARCH_TEXT && !embed_query(srv, model, p->query, &vector, e)) return false;
    int64_t k = p->k;
    if (p->rerank_model) k = k * RERANK_FACTOR < MAX_K ? k * RERANK_FACTOR : (k > MAX_K ? k : MAX_K);
    const tl_search_request request = {.text = p->query,
                                       .vector = vector,
                                       .k = (int32_t)k,
                                       .mode = (tl_search_mode)p->mode,
                                       .path_glob = p->path,
                                       .n_threads = srv->options.n_threads > 0 ? srv->options.n_threads : 2};
    tl_error err = {0};
    pthread_mutex_lock(&s->lock);
    const tl_status status = tl_search_query(s->db, &request, hits, n_hits, &err);
    pthread_mutex_unlock(&s->lock);
    free(vector);
    if (status == TL_ERR_ARGUMENT) return api_fail(e, 400, NULL, "%s", err.message);
    if (status != TL_OK) return api_fail(e, 500, NULL, "search failed: %s", err.message);
    return !p->rerank_model || rerank(srv, p, *hits, n_hits, e);
}

/* The request's query, k, mode, path and rerank_model; `prefix` names them
 * in messages ("documents." inside a chat request). */
static bool read_params(const cJSON *obj, const char *prefix, int64_t default_k, search_params *p, api_error *e) {
    const char *mode = "hybrid";
    p->k = default_k;
    if (!api_field_int(obj, prefix, "k", 1, MAX_K, &p->k, e) ||
        !api_field_string(obj, prefix, "mode", false, &mode, e) ||
        !api_field_string(obj, prefix, "path", false, &p->path, e) ||
        !api_field_string(obj, prefix, "rerank_model", false, &p->rerank_model, e))
        return false;
    if ((p->mode = tl_search_mode_from_name(mode)) < 0)
        return api_fail(e, 400, "mode", "field '%smode' must be \"vector\", \"text\" or \"hybrid\", not \"%s\"",
                        prefix ? prefix : "", mode);
    if (p->path && !*p->path) p->path = NULL;
    if (p->rerank_model && !*p->rerank_model) p->rerank_model = NULL;
    return true;
}

/* {key: n, score, path, first_line, last_line}: what results and sources share. */
static cJSON *hit_object(const tl_search_hit *h, const char *key, int n) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, key, n);
    cJSON_AddNumberToObject(r, "score", isfinite(h->score) ? h->score : 0);
    cJSON_AddStringToObject(r, "path", h->path);
    cJSON_AddNumberToObject(r, "first_line", (double)h->first_line);
    cJSON_AddNumberToObject(r, "last_line", (double)h->last_line);
    return r;
}

/* POST /api/search */
void search_documents(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    search_params p = {0};
    tl_search_model model;
    tl_search_hit *hits = NULL;
    int n_hits = 0;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !api_field_string(body, NULL, "query", true, &p.query, &e) ||
        !read_params(body, NULL, DEFAULT_K, &p, &e))
        goto fail;
    if (!p.query[0]) {
        api_fail(&e, 400, "query", "field 'query' must not be empty");
        goto fail;
    }
    if (!run_search(srv, &p, &model, &hits, &n_hits, &e)) goto fail;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "query", p.query);
    cJSON_AddStringToObject(root, "mode", tl_search_mode_name((tl_search_mode)p.mode));
    cJSON_AddStringToObject(root, "model", model.name);
    if (p.rerank_model) cJSON_AddStringToObject(root, "rerank_model", p.rerank_model);
    cJSON *results = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; i < n_hits; i++) {
        cJSON *r = hit_object(&hits[i], "rank", i + 1);
        char *snippet = tl_search_snippet(hits[i].text, SNIPPET_BYTES);
        cJSON_AddNumberToObject(r, "start_byte", (double)hits[i].start_byte);
        cJSON_AddNumberToObject(r, "end_byte", (double)hits[i].end_byte);
        cJSON_AddNumberToObject(r, "chunk_id", (double)hits[i].chunk_id);
        cJSON_AddStringToObject(r, "snippet", snippet ? snippet : "");
        cJSON_AddStringToObject(r, "text", hits[i].text);
        free(snippet);
        cJSON_AddItemToArray(results, r);
    }
    api_reply_json(res, 200, root);
    goto done;
fail:
    api_reply_error(res, API_OLLAMA, &e);
done:
    tl_search_hits_free(hits, n_hits);
    cJSON_Delete(body);
}

/* How many sources and chunks the file holds (read-only, beside the
 * handle: a plain count needs no lock). */
static void add_counts(cJSON *root, const char *path) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM chunks)", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        cJSON_AddNumberToObject(root, "sources", (double)sqlite3_column_int64(st, 0));
        cJSON_AddNumberToObject(root, "chunks", (double)sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* GET /api/search/info: {"db", "model", "dim", "vectors", "served_as",
 * "sources", "chunks"}; {"db": null} without --db. */
void search_info(server *srv, const http_request *req, http_response *res) {
    (void)req;
    api_search *s = srv->search;
    if (!s) { /* not an error: the web page asks every server */
        cJSON *root = cJSON_CreateObject();
        cJSON_AddNullToObject(root, "db");
        api_reply_json(res, 200, root);
        return;
    }
    tl_search_model model;
    bool has = false;
    tl_error err = {0};
    pthread_mutex_lock(&s->lock);
    const tl_status status = tl_search_get_model(s->db, &model, &has, &err);
    pthread_mutex_unlock(&s->lock);
    if (status != TL_OK) {
        api_reply_fail(res, API_OLLAMA, 500, NULL, "%s: %s", s->path, err.message);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "db", s->path);
    if (has) {
        const model_entry *entry = find_model(srv, model.name);
        cJSON_AddStringToObject(root, "model", model.name);
        cJSON_AddNumberToObject(root, "dim", model.dim);
        cJSON_AddStringToObject(root, "vectors", model.type == TL_VECTORS_I8 ? "int8" : "float32");
        if (entry) cJSON_AddStringToObject(root, "served_as", entry->name);
    } else {
        cJSON_AddNullToObject(root, "model");
    }
    add_counts(root, s->path);
    api_reply_json(res, 200, root);
}

/* ---- chat with documents ------------------------------------------------ */

/* The text of the last user message, or NULL. */
static cJSON *last_user_message(cJSON *messages) {
    cJSON *found = NULL;
    for (cJSON *m = messages ? messages->child : NULL; m; m = m->next) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0) found = m;
    }
    return found;
}

/* The user's question preceded by the numbered sources. */
static char *sourced_question(const char *question, const tl_search_hit *hits, int n) {
    size_t size = strlen(question) + 256;
    for (int i = 0; i < n; i++) size += strlen(hits[i].path) + strlen(hits[i].text) + 64;
    char *out = malloc(size);
    if (!out) return NULL;
    size_t at = (size_t)snprintf(out, size, "Sources:\n\n");
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, size - at, "[%d] %s:%lld-%lld\n%s\n\n", i + 1, hits[i].path,
                               (long long)hits[i].first_line, (long long)hits[i].last_line, hits[i].text);
    snprintf(out + at, size - at,
             "Answer from the numbered sources and cite them as [n]. If they do not hold the answer, say so.\n\n"
             "Question: %s",
             question);
    return out;
}

bool api_documents(server *srv, const cJSON *body, const cJSON *messages, cJSON **messages_out, cJSON **sources,
                   api_error *e) {
    *messages_out = NULL;
    *sources = NULL;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(body, "documents");
    if (!spec || cJSON_IsNull(spec) || cJSON_IsFalse(spec)) return true;
    if (!cJSON_IsTrue(spec) && !cJSON_IsObject(spec))
        return api_fail(e, 400, "documents",
                        "field 'documents' must be true or an object {\"k\", \"mode\", \"path\", \"rerank_model\"}");
    search_params p = {0};
    if (!read_params(cJSON_IsObject(spec) ? spec : NULL, "documents.", DEFAULT_DOCUMENTS_K, &p, e)) return false;
    if (!srv->search) return no_database(e);
    cJSON *copy = cJSON_Duplicate(messages, true);
    cJSON *user = last_user_message(copy);
    const cJSON *content = user ? cJSON_GetObjectItemCaseSensitive(user, "content") : NULL;
    if (!cJSON_IsString(content) || !content->valuestring[0]) {
        cJSON_Delete(copy);
        return api_fail(e, 400, "messages", "\"documents\" needs a user message with text to search for");
    }
    p.query = content->valuestring;
    tl_search_model model;
    tl_search_hit *hits = NULL;
    int n_hits = 0;
    char *question = NULL;
    if (!run_search(srv, &p, &model, &hits, &n_hits, e) || !(question = sourced_question(p.query, hits, n_hits))) {
        if (!e->status) api_fail(e, 500, NULL, "out of memory");
        tl_search_hits_free(hits, n_hits);
        cJSON_Delete(copy);
        return false;
    }
    *sources = cJSON_CreateArray();
    for (int i = 0; i < n_hits; i++) {
        cJSON *s = hit_object(&hits[i], "n", i + 1);
        cJSON_AddStringToObject(s, "text", hits[i].text);
        cJSON_AddItemToArray(*sources, s);
    }
    cJSON_ReplaceItemInObjectCaseSensitive(user, "content", cJSON_CreateString(question));
    free(question);
    tl_search_hits_free(hits, n_hits);
    *messages_out = copy;
    return true;
}
