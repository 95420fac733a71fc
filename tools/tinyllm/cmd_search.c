/*
 * cmd_search.c — `tinyllm search`: the top-k chunks of a search database for
 * a query (src/search/search.h; docs/search.md), as text or --json.
 *
 * The query is embedded with the database's model (vector and hybrid
 * modes): the model it records (a store name or a file) unless -m names
 * one, which must then give the same embeddings. Text mode needs no model.
 * With --rerank-model the candidates (--rerank-top) are scored by a
 * cross-encoder and its best k are shown (cli_retrieve.h).
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_retrieve.h"

#define SNIPPET_BYTES 240

/* The score shown: the reranker's when there is one. */
static double score_of(const cli_retrieved *found, int i) {
    return found->rerank_scores ? found->rerank_scores[i] : found->hits[i].score;
}

static void print_text(const cli_retrieved *found) {
    const tl_search_hit *hits = found->hits;
    if (found->n_hits == 0) printf("no results\n");
    for (int i = 0; i < found->n_hits; i++) {
        char *snippet = tl_search_snippet(hits[i].text, SNIPPET_BYTES);
        printf("%d. %.4f  %s:%lld-%lld\n   %s\n", i + 1, score_of(found, i), hits[i].path,
               (long long)hits[i].first_line, (long long)hits[i].last_line, snippet ? snippet : "");
        free(snippet);
    }
}

static bool print_json(const char *query, const cli_retrieved *found) {
    const tl_search_hit *hits = found->hits;
    cJSON *root = cJSON_CreateObject();
    if (!root) return false;
    cJSON_AddStringToObject(root, "query", query);
    cJSON_AddStringToObject(root, "mode", tl_search_mode_name(found->mode));
    cJSON_AddBoolToObject(root, "reranked", found->rerank_scores != NULL);
    cJSON *results = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; i < found->n_hits; i++) {
        cJSON *r = cJSON_CreateObject();
        char *snippet = tl_search_snippet(hits[i].text, SNIPPET_BYTES);
        cJSON_AddNumberToObject(r, "rank", i + 1);
        cJSON_AddNumberToObject(r, "score", score_of(found, i));
        if (found->rerank_scores) cJSON_AddNumberToObject(r, "retrieval_score", hits[i].score);
        cJSON_AddStringToObject(r, "path", hits[i].path);
        cJSON_AddNumberToObject(r, "first_line", (double)hits[i].first_line);
        cJSON_AddNumberToObject(r, "last_line", (double)hits[i].last_line);
        cJSON_AddNumberToObject(r, "start_byte", (double)hits[i].start_byte);
        cJSON_AddNumberToObject(r, "end_byte", (double)hits[i].end_byte);
        cJSON_AddNumberToObject(r, "chunk_id", (double)hits[i].chunk_id);
        cJSON_AddStringToObject(r, "snippet", snippet ? snippet : "");
        cJSON_AddStringToObject(r, "text", hits[i].text);
        free(snippet);
        cJSON_AddItemToArray(results, r);
    }
    char *text = cJSON_PrintUnformatted(root);
    if (text) printf("%s\n", text);
    free(text);
    cJSON_Delete(root);
    return text != NULL;
}

int cmd_search(int argc, char **argv) {
    cli_retrieval r;
    bool json = false;
    tl_opt opts[CLI_RETRIEVAL_N_OPTS + 4];
    cli_retrieval_init(&r, opts);
    r.k = 5;
    tl_opt *o = opts + CLI_RETRIEVAL_N_OPTS;
    o[0] = (tl_opt){"-k", "--top-k", TL_OPT_INT, &r.k, "N", "results to show (default 5)", NULL, 1, 10000};
    o[1] = (tl_opt){NULL,
                    "--json",
                    TL_OPT_FLAG,
                    &json,
                    NULL,
                    "print {query, mode, reranked, results: [{rank, score, path, first_line, last_line, snippet, "
                    "text, ...}]}; reranked: score is the reranker's, retrieval_score the search's",
                    NULL,
                    0,
                    0};
    o[2] = (tl_opt){
        "-m",           "--model",   TL_OPT_STRING,
        &r.embed_model, "FILE|NAME", "embed the query with this model (default: the one the database was indexed with)",
        NULL,           0,           0};
    o[3] = (tl_opt){"-t", "--threads", TL_OPT_INT, &r.n_threads, "N", "threads for the query's models", NULL, 1, 1024};
    const tl_command_spec spec = {"search", "--db FILE [options] QUERY",
                                  "Find the chunks of indexed documents (tinyllm index) that best match QUERY: by\n"
                                  "meaning (cosine of embeddings), by words (full-text BM25) or both (reciprocal\n"
                                  "rank fusion), optionally reranked by a cross-encoder. Prints rank, score,\n"
                                  "path:lines and a snippet of each.",
                                  opts, (int)(sizeof opts / sizeof opts[0])};
    const char **positional;
    int n_pos, rc = 1;
    if (!cli_parse_positional(&spec, argc, argv, &positional, &n_pos, &rc)) return rc;
    char *query = NULL;
    cli_retrieved found = {0};
    rc = 1;
    if (!r.db_path) {
        tl_cli_error("search", "no database given: use --db FILE");
    } else if (n_pos == 0) {
        tl_cli_error("search", "no query given: tinyllm search --db FILE QUERY");
    } else if ((query = cli_join_words("search", positional, n_pos)) && cli_retrieve("search", &r, query, &found)) {
        if (json && !print_json(query, &found)) {
            tl_cli_error("search", "out of memory");
        } else {
            if (!json) print_text(&found);
            rc = 0;
        }
    }
    cli_retrieved_free(&found);
    free(query);
    free(positional);
    return rc;
}
