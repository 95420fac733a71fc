/*
 * cmd_search.c — `tinyllm search`: the top-k chunks of a search database for
 * a query (src/search/search.h; docs/search.md), as text or --json.
 *
 * The query is embedded with the database's model (vector and hybrid
 * modes): the model it records (a store name or a file) unless -m names
 * one, which must then give the same embeddings. Text mode needs no model.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "search/search.h"

#define SNIPPET_BYTES 240

static void print_text(const tl_search_hit *hits, int n) {
    if (n == 0) printf("no results\n");
    for (int i = 0; i < n; i++) {
        char *snippet = tl_search_snippet(hits[i].text, SNIPPET_BYTES);
        printf("%d. %.4f  %s:%lld-%lld\n   %s\n", i + 1, hits[i].score, hits[i].path, (long long)hits[i].first_line,
               (long long)hits[i].last_line, snippet ? snippet : "");
        free(snippet);
    }
}

static bool print_json(const char *query, tl_search_mode mode, const tl_search_hit *hits, int n) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return false;
    cJSON_AddStringToObject(root, "query", query);
    cJSON_AddStringToObject(root, "mode", tl_search_mode_name(mode));
    cJSON *results = cJSON_AddArrayToObject(root, "results");
    for (int i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        char *snippet = tl_search_snippet(hits[i].text, SNIPPET_BYTES);
        cJSON_AddNumberToObject(r, "rank", i + 1);
        cJSON_AddNumberToObject(r, "score", hits[i].score);
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

/* The query's embedding with the database's model (or -m's, checked). */
static float *embed_query(const char *ref, const tl_search_model *want, const char *db_path, const char *query,
                          int32_t n_threads) {
    if (!ref) {
        ref = want->name;
        struct stat st;
        if (ref[0] == '/' && stat(ref, &st) != 0) {
            tl_cli_error("search", "%s was indexed with %s, which is gone: give the model with -m", db_path, ref);
            return NULL;
        }
    }
    cli_embedder e;
    if (!cli_embedder_open("search", ref, n_threads, &e)) return NULL;
    tl_error err = {0};
    tl_search_model have;
    float *v = NULL;
    char why[200];
    if (tl_search_describe_model(e.ctx, e.model, e.name, want->type, &have, &err) != TL_OK) {
        tl_cli_error("search", "%s", err.message);
    } else if (!tl_search_same_model(want, &have, why, sizeof why)) {
        tl_cli_error("search", "%s was indexed with %s, not %s: %s", db_path, want->name, ref, why);
    } else if (!(v = malloc(want->dim * sizeof *v))) {
        tl_cli_error("search", "out of memory");
    } else if (tl_search_embed(e.ctx, e.model, (tl_pooling)want->pooling, query, strlen(query), v, &err) != TL_OK) {
        tl_cli_error("search", "the query: %s", err.message);
        free(v);
        v = NULL;
    }
    cli_embedder_close(&e);
    return v;
}

int cmd_search(int argc, char **argv) {
    const char *db_path = NULL, *model_ref = NULL, *glob = NULL, *mode_name = "hybrid";
    int32_t k = 5, n_threads = 0;
    bool json = false;
    const tl_opt opts[] = {
        {NULL, "--db", TL_OPT_STRING, &db_path, "FILE", "the search database (made by tinyllm index)", NULL, 0, 0},
        {"-k", "--top-k", TL_OPT_INT, &k, "N", "results to show (default 5)", NULL, 1, 10000},
        {NULL, "--mode", TL_OPT_STRING, &mode_name, "MODE",
         "vector (by meaning), text (by words: BM25) or hybrid (both, fused; the default)", NULL, 0, 0},
        {NULL, "--path", TL_OPT_STRING, &glob, "GLOB", "only sources whose absolute path matches GLOB ('*.md')", NULL,
         0, 0},
        {NULL, "--json", TL_OPT_FLAG, &json, NULL,
         "print {query, mode, results: [{rank, score, path, first_line, last_line, snippet, text, ...}]}", NULL, 0, 0},
        {"-m", "--model", TL_OPT_STRING, &model_ref, "FILE|NAME",
         "embed the query with this model (default: the one the database was indexed with)", NULL, 0, 0},
        {"-t", "--threads", TL_OPT_INT, &n_threads, "N", "threads for embedding the query", NULL, 1, 1024},
    };
    const tl_command_spec spec = {"search", "--db FILE [options] QUERY",
                                  "Find the chunks of indexed documents (tinyllm index) that best match QUERY: by\n"
                                  "meaning (cosine of embeddings), by words (full-text BM25) or both (reciprocal\n"
                                  "rank fusion). Prints rank, score, path:lines and a snippet of each.",
                                  opts, (int)(sizeof opts / sizeof opts[0])};
    const char *positional[64];
    int n_pos = 0;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 64, &n_pos);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (!db_path) {
        tl_cli_error("search", "no database given: use --db FILE");
        return 1;
    }
    const int mode = tl_search_mode_from_name(mode_name);
    if (mode < 0) {
        tl_cli_error("search", "unknown --mode '%s' (vector, text or hybrid)", mode_name);
        return 1;
    }
    if (n_pos == 0) {
        tl_cli_error("search", "no query given: tinyllm search --db FILE QUERY");
        return 1;
    }
    /* the words of the query, as one text */
    size_t len = 0;
    for (int i = 0; i < n_pos; i++) len += strlen(positional[i]) + 1;
    char *query = malloc(len + 1);
    if (!query) {
        tl_cli_error("search", "out of memory");
        return 1;
    }
    query[0] = 0;
    for (int i = 0; i < n_pos; i++) {
        if (i) strcat(query, " ");
        strcat(query, positional[i]);
    }
    int rc = 1;
    tl_search_db *db = NULL;
    float *vector = NULL;
    tl_search_hit *hits = NULL;
    int n_hits = 0;
    tl_error err = {0};
    tl_search_model model;
    bool has = false;
    if (tl_search_open(db_path, false, &db, &err) != TL_OK || tl_search_get_model(db, &model, &has, &err) != TL_OK) {
        tl_cli_error("search", "%s", err.message);
        goto done;
    }
    if (!has) {
        tl_cli_error("search", "%s: nothing indexed yet (run tinyllm index)", db_path);
        goto done;
    }
    if (mode != TL_SEARCH_TEXT && !(vector = embed_query(model_ref, &model, db_path, query, n_threads))) goto done;
    const tl_search_request req = {
        .text = query, .vector = vector, .k = k, .mode = (tl_search_mode)mode, .path_glob = glob, .n_threads = 2};
    if (tl_search_query(db, &req, &hits, &n_hits, &err) != TL_OK) {
        tl_cli_error("search", "%s", err.message);
        goto done;
    }
    if (json) {
        if (!print_json(query, (tl_search_mode)mode, hits, n_hits)) {
            tl_cli_error("search", "out of memory");
            goto done;
        }
    } else {
        print_text(hits, n_hits);
    }
    rc = 0;
done:
    tl_search_hits_free(hits, n_hits);
    free(vector);
    free(query);
    tl_search_close(db);
    return rc;
}
