/*
 * cli_retrieve.c — retrieval for `tinyllm search` and `tinyllm ask` (see
 * cli_retrieve.h): the query embedded with the database's model, the search,
 * and the optional second stage with a reranker (cross-encoder).
 */
#include "cli_retrieve.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

void cli_retrieval_init(cli_retrieval *r, tl_opt *opts) {
    *r = (cli_retrieval){.mode_name = "hybrid"};
    int i = 0;
    opts[i++] = (tl_opt){
        NULL, "--db", TL_OPT_STRING, &r->db_path, "FILE", "the search database (made by tinyllm index)", NULL, 0, 0};
    opts[i++] = (tl_opt){
        NULL,          "--mode", TL_OPT_STRING,
        &r->mode_name, "MODE",   "vector (by meaning), text (by words: BM25) or hybrid (both, fused; the default)",
        NULL,          0,        0};
    opts[i++] = (tl_opt){NULL,          "--path", TL_OPT_STRING,
                         &r->path_glob, "GLOB",   "only sources whose absolute path matches GLOB ('*.md')",
                         NULL,          0,        0};
    opts[i++] = (tl_opt){NULL,
                         "--rerank-model",
                         TL_OPT_STRING,
                         &r->rerank_model,
                         "FILE|NAME",
                         "rerank the candidates with this reranker (cross-encoder) and keep its best k",
                         NULL,
                         0,
                         0};
    opts[i++] = (tl_opt){NULL,       "--rerank-top",
                         TL_OPT_INT, &r->rerank_top,
                         "N",        "with --rerank-model: candidates to rerank (default max(k*4, 20))",
                         NULL,       1,
                         10000};
}

/* The query's embedding with the database's model (or ref's, checked). */
static float *embed_query(const char *command, const char *ref, const tl_search_model *want, const char *db_path,
                          const char *query, int32_t n_threads) {
    if (!ref) {
        ref = want->name;
        struct stat st;
        if (ref[0] == '/' && stat(ref, &st) != 0) {
            tl_cli_error(command, "%s was indexed with %s, which is gone: give the model with -m", db_path, ref);
            return NULL;
        }
    }
    cli_embedder e;
    if (!cli_embedder_open(command, ref, n_threads, &e)) return NULL;
    tl_error err = {0};
    tl_search_model have;
    float *v = NULL;
    char why[200];
    if (tl_search_describe_model(e.ctx, e.model, e.name, want->type, &have, &err) != TL_OK) {
        tl_cli_error(command, "%s", err.message);
    } else if (!tl_search_same_model(want, &have, why, sizeof why)) {
        tl_cli_error(command, "%s was indexed with %s, not %s: %s", db_path, want->name, ref, why);
    } else if (!(v = malloc(want->dim * sizeof *v))) {
        tl_cli_error(command, "out of memory");
    } else if (tl_search_embed(e.ctx, e.model, (tl_pooling)want->pooling, query, strlen(query), v, &err) != TL_OK) {
        tl_cli_error(command, "the query: %s", err.message);
        free(v);
        v = NULL;
    }
    cli_embedder_close(&e);
    return v;
}

/* A reranker with its context; false after a one-line error (closing what
 * was opened). */
static bool open_reranker(const char *command, const char *ref, int32_t n_threads, tl_model **model, tl_context **ctx) {
    *ctx = NULL;
    if (!(*model = cli_load_model(command, ref, false))) return false;
    if (tl_model_rank_outputs(*model) == 0) {
        tl_cli_error(command, "%s is not a reranker: it has no classification head (cls.output.weight)", ref);
    } else {
        tl_context_params cp = tl_context_default_params();
        if (n_threads > 0) cp.n_threads = (uint32_t)n_threads;
        tl_error err = {0};
        if (tl_context_new(*model, &cp, ctx, &err) == TL_OK) return true;
        tl_cli_error(command, "%s", err.message);
    }
    tl_model_free(*model);
    *model = NULL;
    return false;
}

/* Scores the hits against the query with the reranker and keeps the best k
 * of them, best first, with their scores in out->rerank_scores. */
static bool rerank_hits(const char *command, tl_context *ctx, const char *query, int32_t k, cli_retrieved *out) {
    const int n = out->n_hits;
    const size_t size = (size_t)(n > 0 ? n : 1);
    const char **texts = malloc(size * sizeof *texts);
    float *scores = malloc(size * sizeof *scores);
    int32_t *order = malloc(size * sizeof *order);
    tl_search_hit *sorted = malloc(size * sizeof *sorted);
    bool ok = false;
    tl_error err = {0};
    if (!texts || !scores || !order || !sorted || !(out->rerank_scores = malloc(size * sizeof *out->rerank_scores))) {
        tl_cli_error(command, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) texts[i] = out->hits[i].text;
    if (tl_rerank(ctx, query, texts, n, scores, NULL, &err) != TL_OK) {
        tl_cli_error(command, "reranking: %s", err.message);
        goto done;
    }
    tl_rank_order(scores, n, order);
    for (int i = 0; i < n; i++) {
        sorted[i] = out->hits[order[i]];
        out->rerank_scores[i] = scores[order[i]];
    }
    memcpy(out->hits, sorted, (size_t)n * sizeof *sorted);
    const int n_kept = n < k ? n : k;
    for (int i = n_kept; i < n; i++) { /* the candidates not kept */
        free(out->hits[i].path);
        free(out->hits[i].text);
    }
    out->n_hits = n_kept;
    ok = true;
done:
    free(texts);
    free(scores);
    free(order);
    free(sorted);
    return ok;
}

bool cli_retrieve(const char *command, const cli_retrieval *r, const char *query, cli_retrieved *out) {
    *out = (cli_retrieved){0};
    if (!r->db_path) {
        tl_cli_error(command, "no database given: use --db FILE");
        return false;
    }
    const int mode = tl_search_mode_from_name(r->mode_name);
    if (mode < 0) {
        tl_cli_error(command, "unknown --mode '%s' (vector, text or hybrid)", r->mode_name);
        return false;
    }
    if (r->rerank_top && !r->rerank_model) {
        tl_cli_error(command, "--rerank-top needs --rerank-model");
        return false;
    }
    out->mode = (tl_search_mode)mode;
    bool ok = false, has = false;
    tl_search_db *db = NULL;
    float *vector = NULL;
    tl_model *reranker = NULL;
    tl_context *rerank_ctx = NULL;
    tl_error err = {0};
    tl_search_model model;
    if (tl_search_open(r->db_path, false, &db, &err) != TL_OK || tl_search_get_model(db, &model, &has, &err) != TL_OK) {
        tl_cli_error(command, "%s", err.message);
        goto done;
    }
    if (!has) {
        tl_cli_error(command, "%s: nothing indexed yet (run tinyllm index)", r->db_path);
        goto done;
    }
    /* The reranker first: a wrong model is found before the search's work. */
    if (r->rerank_model && !open_reranker(command, r->rerank_model, r->n_threads, &reranker, &rerank_ctx)) goto done;
    double t0 = tl_time_ms();
    if (mode != TL_SEARCH_TEXT &&
        !(vector = embed_query(command, r->embed_model, &model, r->db_path, query, r->n_threads)))
        goto done;
    const int32_t n_candidates = !reranker ? r->k : r->rerank_top ? r->rerank_top : r->k * 4 > 20 ? r->k * 4 : 20;
    const tl_search_request req = {.text = query,
                                   .vector = vector,
                                   .k = n_candidates,
                                   .mode = (tl_search_mode)mode,
                                   .path_glob = r->path_glob,
                                   .n_threads = 2};
    if (tl_search_query(db, &req, &out->hits, &out->n_hits, &err) != TL_OK) {
        tl_cli_error(command, "%s", err.message);
        goto done;
    }
    out->retrieve_ms = tl_time_ms() - t0;
    t0 = tl_time_ms();
    if (reranker && !rerank_hits(command, rerank_ctx, query, r->k, out)) goto done;
    out->rerank_ms = reranker ? tl_time_ms() - t0 : 0;
    ok = true;
done:
    if (!ok) cli_retrieved_free(out);
    tl_context_free(rerank_ctx);
    tl_model_free(reranker);
    free(vector);
    tl_search_close(db);
    return ok;
}

void cli_retrieved_free(cli_retrieved *out) {
    tl_search_hits_free(out->hits, out->n_hits);
    free(out->rerank_scores);
    *out = (cli_retrieved){0};
}

char *cli_join_words(const char *command, const char *const *words, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(words[i]) + 1;
    char *text = malloc(len);
    if (!text) {
        tl_cli_error(command, "out of memory");
        return NULL;
    }
    text[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i) strcat(text, " ");
        strcat(text, words[i]);
    }
    return text;
}
