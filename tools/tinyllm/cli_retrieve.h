/*
 * cli_retrieve.h — what `tinyllm search` and `tinyllm ask` share: open a
 * search database, embed the query with its model, find the top chunks
 * (src/search/search.h) and, with a reranker, score a larger candidate list
 * with the cross-encoder (tl_rerank) and keep its best k.
 */
#ifndef TL_CLI_RETRIEVE_H
#define TL_CLI_RETRIEVE_H

#include <stdbool.h>
#include <stdint.h>

#include "args.h"
#include "search/search.h"

typedef struct cli_retrieval {
    const char *db_path;
    const char *embed_model;  /* -m of search: embed the query with it (checked); NULL = the database's */
    const char *path_glob;    /* --path, or NULL */
    const char *mode_name;    /* --mode: vector, text or hybrid */
    const char *rerank_model; /* --rerank-model FILE|NAME, or NULL */
    int32_t k;                /* results wanted */
    int32_t rerank_top;       /* candidates for the reranker; 0 = max(k * 4, 20) */
    int32_t n_threads;        /* for the models; 0 = the default */
} cli_retrieval;

#define CLI_RETRIEVAL_N_OPTS 5

/* Writes the options --db, --mode, --path, --rerank-model and --rerank-top
 * into opts[0..CLI_RETRIEVAL_N_OPTS) (-k stays the command's: its default
 * differs). */
void cli_retrieval_init(cli_retrieval *r, tl_opt *opts);

typedef struct cli_retrieved {
    tl_search_hit *hits; /* best first: by rerank score when reranked */
    int n_hits;
    float *rerank_scores; /* rerank_scores[i] is hits[i]'s; NULL without a reranker */
    tl_search_mode mode;
    double retrieve_ms, rerank_ms;
} cli_retrieved;

/* The top r->k chunks for query, into *out (free with cli_retrieved_free).
 * False after a one-line error (no database, nothing indexed, a model that
 * is gone or not a reranker, ...). */
bool cli_retrieve(const char *command, const cli_retrieval *r, const char *query, cli_retrieved *out);
void cli_retrieved_free(cli_retrieved *out);

/* The positional words as one text joined by spaces (malloc'd); NULL after
 * a one-line error. */
char *cli_join_words(const char *command, const char *const *words, int n);

#endif /* TL_CLI_RETRIEVE_H */
