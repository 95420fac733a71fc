/*
 * cmd_rerank.c — `tinyllm rerank`: scores documents against a query with a
 * reranker (a cross-encoder such as ms-marco-MiniLM or bge-reranker) and
 * prints them best first.
 *
 * Documents are the DOC arguments and the non-empty lines of -f FILE (-
 * reads stdin). Each query-document pair is one input of the model, built
 * and scored by tl_rerank as llama-server's /v1/rerank does; the score is
 * the classification head's raw first output (higher is more relevant).
 * Plain output is one line per document, `score<TAB>index<TAB>document`
 * (index: the document's position among the inputs, from 0; newlines in a
 * document printed as spaces); --json prints the /v1/rerank response.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_context.h"
#include "util/buffer.h"

typedef struct rerank_options {
    const char *model, *query, *file;
    int32_t top_n;
    cli_context context;
    bool json;
} rerank_options;

typedef struct document_list {
    const char **items;
    size_t n, cap;
} document_list;

static bool add_document(document_list *list, const char *text) {
    const char **grown = tl_grow(list->items, &list->cap, list->n + 1, sizeof *grown, 64);
    if (!grown) return false;
    list->items = grown;
    list->items[list->n++] = text;
    return true;
}

/* Every non-empty line of text (NUL-terminated in place, a trailing \r
 * dropped) becomes a document. */
static bool add_document_lines(document_list *list, char *text) {
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        const size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[len - 1] = 0;
        if (*line && !add_document(list, line)) return false;
        line = next;
    }
    return true;
}

/* A document on one line: newlines (and carriage returns) as spaces. */
static void print_one_line(const char *text) {
    for (const char *p = text; *p; p++) putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
    putchar('\n');
}

static int print_results(const rerank_options *o, const document_list *docs, const float *scores, const int32_t *order,
                         size_t n_shown, int64_t n_tokens) {
    if (!o->json) {
        for (size_t i = 0; i < n_shown; i++) {
            printf("%.6f\t%d\t", scores[order[i]], order[i]);
            print_one_line(docs->items[order[i]]);
        }
        return fflush(stdout) == 0 ? 0 : 1;
    }
    cJSON *root = cJSON_CreateObject(), *usage = cJSON_CreateObject(), *results = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "model", o->model);
    cJSON_AddStringToObject(root, "object", "list");
    cJSON_AddNumberToObject(usage, "prompt_tokens", (double)n_tokens);
    cJSON_AddNumberToObject(usage, "total_tokens", (double)n_tokens);
    cJSON_AddItemToObject(root, "usage", usage);
    for (size_t i = 0; i < n_shown; i++) {
        cJSON *item = cJSON_CreateObject(), *document = cJSON_CreateObject();
        cJSON_AddNumberToObject(item, "index", order[i]);
        cJSON_AddNumberToObject(item, "relevance_score", scores[order[i]]);
        cJSON_AddStringToObject(document, "text", docs->items[order[i]]);
        cJSON_AddItemToObject(item, "document", document);
        cJSON_AddItemToArray(results, item);
    }
    cJSON_AddItemToObject(root, "results", results);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) {
        tl_cli_error("rerank", "out of memory");
        return 1;
    }
    puts(text);
    free(text);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Scores every document and prints them best first. */
static int rerank_all(const rerank_options *o, tl_context *ctx, const document_list *docs) {
    float *scores = malloc(docs->n * sizeof *scores);
    int32_t *order = malloc(docs->n * sizeof *order);
    int rc = 1;
    int64_t n_tokens = 0;
    tl_error err = {0};
    if (!scores || !order) {
        tl_cli_error("rerank", "out of memory");
    } else if (tl_rerank(ctx, o->query, docs->items, (int32_t)docs->n, scores, &n_tokens, &err) != TL_OK) {
        tl_cli_error("rerank", "%s", err.message);
    } else {
        tl_rank_order(scores, (int32_t)docs->n, order);
        const size_t shown = o->top_n > 0 && (size_t)o->top_n < docs->n ? (size_t)o->top_n : docs->n;
        rc = print_results(o, docs, scores, order, shown, n_tokens);
    }
    free(scores);
    free(order);
    return rc;
}

int cmd_rerank(int argc, char **argv) {
    rerank_options o = {0};
    tl_opt opts[5 + CLI_CONTEXT_N_OPTS] = {
        {"-m", "--model", TL_OPT_STRING, &o.model, "FILE|NAME",
         "reranker GGUF file, or a model of the store (tinyllm list)", NULL, 0, 0},
        {"-q", "--query", TL_OPT_STRING, &o.query, "TEXT", "the query the documents are scored against", NULL, 0, 0},
        {"-f", "--file", TL_OPT_STRING, &o.file, "FILE", "also score every non-empty line of FILE (- reads stdin)",
         NULL, 0, 0},
        {NULL, "--top-n", TL_OPT_INT, &o.top_n, "N", "print only the N best documents (default: all)", NULL, 1, 1e9},
        {NULL, "--json", TL_OPT_FLAG, &o.json, "",
         "print the /v1/rerank response: {model, object, usage, results: [{index, relevance_score, document}]}", NULL,
         0, 0},
    };
    cli_context_init(&o.context, opts + 5);
    const tl_command_spec spec = {"rerank", "-m FILE --query TEXT [options] [DOC...] [-f FILE]",
                                  "Score each DOC and each line of -f FILE against the query with a reranker\n"
                                  "(cross-encoder) and print them best first: one line per document,\n"
                                  "score<TAB>index<TAB>document. The score is the model's raw relevance score\n"
                                  "(llama-server's relevance_score); the index counts the documents from 0.",
                                  opts, (int)(sizeof opts / sizeof opts[0])};
    const char **positional;
    int n_pos, rc = 1;
    if (!cli_parse_positional(&spec, argc, argv, &positional, &n_pos, &rc)) return rc;

    document_list docs = {0};
    char *file_text = NULL;
    tl_model *model = NULL;
    tl_context *ctx = NULL;
    if (!o.model) {
        tl_cli_error("rerank", "no model given: use -m FILE");
        goto done;
    }
    if (!o.query) {
        tl_cli_error("rerank", "no query given: use --query TEXT");
        goto done;
    }
    for (int i = 0; i < n_pos; i++)
        if (!add_document(&docs, positional[i])) goto oom;
    if (o.file) {
        size_t len;
        if (!(file_text = cli_read_file("rerank", "documents", o.file, &len))) goto done;
        if (strlen(file_text) != len) {
            tl_cli_error("rerank", "documents file '%s' contains a NUL byte", o.file);
            goto done;
        }
        if (!add_document_lines(&docs, file_text)) goto oom;
    }
    if (docs.n == 0) {
        tl_cli_error("rerank", "no documents given: pass DOC arguments or -f FILE");
        goto done;
    }
    if (!(model = cli_load_model("rerank", o.model, false))) goto done;
    if (tl_model_rank_outputs(model) == 0) {
        tl_cli_error("rerank", "%s is not a reranker: it has no classification head (cls.output.weight)", o.model);
        goto done;
    }
    tl_context_params cp;
    if (!cli_context_params(&o.context, "rerank", &cp)) goto done;
    tl_error err = {0};
    if (tl_context_new(model, &cp, &ctx, &err) != TL_OK) {
        tl_cli_error("rerank", "%s", err.message);
        goto done;
    }
    rc = rerank_all(&o, ctx, &docs);
    goto done;
oom:
    tl_cli_error("rerank", "out of memory");
done:
    free(docs.items);
    tl_context_free(ctx);
    tl_model_free(model);
    free(file_text);
    free(positional);
    return rc;
}
