/*
 * fuzz_api.c — fuzz target: the JSON request handling of every server
 * endpoint, through api_route() as http.c calls it, without sockets
 * (fake_http.c collects streamed answers).
 *
 * Input: a first byte choosing the request line (ROUTES below: every
 * endpoint, wrong methods, unknown and web paths), then the body. New
 * routes go at the end, so that the committed inputs keep their route.
 *
 * The server offers three models from a scratch directory: "stories260K"
 * (the shared model, linked; its stories260K.json pins the seed, a 4-token
 * reply and a 128-position context), "minilm" (a tiny all-minilm-l6-v2 that
 * tl_synth writes at start, for the embedding endpoints) and "reranker" (a
 * tiny ms-marco-minilm-l6-v2, for the rerank endpoints and "rerank_model").
 * Its search database (`serve --db`: /api/search, /api/search/info and chat
 * with "documents") is made at start by the library's own indexing
 * (tl_search_index) over two short text files with minilm. Prompt lookup
 * drafts for every model, so "speculative" requests decode speculatively.
 * So that a run stays
 * fast, a body that parses as a JSON object has its reply length clamped to
 * MAX_REPLY tokens before it is handed over (max_tokens,
 * max_completion_tokens, options.num_predict); any other body goes through
 * unchanged, so the parsing and validation paths see the input as it is.
 * Streamed answers are waited for, so each input ends with the server idle.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "authoring/authoring.h"
#include "fake_http.h"
#include "fuzz_support.h"
#include "search/search.h"
#include "server/api.h"
#include "server/api_common.h"
#include "server/registry.h"

#define MAX_REPLY 4

static const struct {
    const char *method, *path;
} ROUTES[] = {
    {"POST", "/v1/chat/completions"},
    {"POST", "/v1/completions"},
    {"POST", "/v1/embeddings"},
    {"POST", "/api/generate"},
    {"POST", "/api/chat"},
    {"POST", "/api/embed"},
    {"POST", "/api/embeddings"},
    {"POST", "/api/show"},
    {"POST", "/tokenize"},
    {"POST", "/detokenize"},
    {"GET", "/v1/models"},
    {"GET", "/api/tags"},
    {"GET", "/api/ps"},
    {"GET", "/api/version"},
    {"GET", "/health"},
    {"GET", "/metrics"},
    {"GET", "/api/chat"},
    {"DELETE", "/v1/models"},
    {"GET", "/"},
    {"HEAD", "/index.html"},
    {"GET", "/api/nothing"},
    {"GET", "/nothing/../etc"},
    {"POST", "/v1/rerank"},
    {"POST", "/api/rerank"},
    {"POST", "/api/search"},
    {"GET", "/api/search/info"},
    {"GET", "/api/search"},
    {"POST", "/rerank"},
};
#define N_ROUTES (sizeof ROUTES / sizeof ROUTES[0])

static server srv;
static bool verbose; /* $FUZZ_VERBOSE: print each answer (to check seeds) */

static void stop_server(void) {
    if (srv.models) registry_free(srv.models);
    srv.models = NULL;
    api_search_stop(&srv);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) fuzz_die("cannot write %s", path);
}

/* Writes a tiny model of a tl_synth preset into the scratch directory. */
static void synth_preset(const char *preset, const char *file) {
    const char *vocab = NULL;
    for (int i = 0; tl_synth_preset_name(i, &vocab); i++)
        if (strcmp(tl_synth_preset_name(i, NULL), preset) == 0) break;
    if (!vocab) fuzz_die("no %s preset", preset);
    char tokenizers[64];
    snprintf(tokenizers, sizeof tokenizers, "tokenizers/%s", vocab);
    const char *vocab_path = vocab[0] == '@' ? vocab : fuzz_shared_path(tokenizers);
    if (vocab[0] != '@' && access(vocab_path, R_OK) != 0) fuzz_skip("%s is absent (set TINYLLM_SHARED)", vocab_path);
    const tl_synth_params params = {
        .preset = preset, .weight_type = "f32", .seed = 1, .vocab_path = vocab_path, .tiny = true};
    tl_error err = {0};
    if (tl_synth(&params, fuzz_scratch_path(file), &err) != TL_OK) fuzz_die("synth %s: %s", preset, err.message);
}

/* Indexes two short text files with the embedding model into a new search
 * database, as `tinyllm index --db DB -m MODEL` does (the model named by
 * its absolute path, so the server finds it among its files). */
static void make_search_db(const char *model_file, const char *db_file) {
    write_text(fuzz_scratch_path("doc-fish.txt"),
               "Fish and chips\n\nCod is fried in batter and served with chips, salt and vinegar.\n"
               "Haddock is the other common fish.\n");
    write_text(fuzz_scratch_path("doc-stars.txt"),
               "Stars\n\nThe sun is a star. Stars shine because of fusion in their cores.\n\n"
               "At night, the brightest star is Sirius.\n");
    char *model_path = realpath(fuzz_scratch_path(model_file), NULL);
    if (!model_path) fuzz_die("cannot find %s", model_file);
    tl_model_params mp = tl_model_default_params();
    tl_context_params cp = tl_context_default_params();
    cp.n_ctx = 128;
    cp.n_threads = 1;
    tl_model *model = NULL;
    tl_context *ctx = NULL;
    tl_search_db *db = NULL;
    tl_error err = {0};
    if (tl_model_load(model_path, &mp, &model, &err) != TL_OK || tl_context_new(model, &cp, &ctx, &err) != TL_OK ||
        tl_search_open(fuzz_scratch_path(db_file), true, &db, &err) != TL_OK)
        fuzz_die("search database: %s", err.message);
    const tl_index_params params = {
        .ctx = ctx, .model = model, .model_name = model_path, .chunk_tokens = 16, .overlap = 4};
    const char *paths[] = {fuzz_scratch_path("doc-fish.txt"), fuzz_scratch_path("doc-stars.txt")};
    tl_index_counts counts;
    bool stopped = false;
    if (tl_search_index(db, &params, paths, 2, &counts, &stopped, &err) != TL_OK || counts.indexed != 2)
        fuzz_die("indexing: %s", err.message[0] ? err.message : "not every file indexed");
    tl_search_close(db);
    tl_context_free(ctx);
    tl_model_free(model);
    free(model_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    const char *stories = fuzz_shared_path("models/stories260K.gguf");
    if (access(stories, R_OK) != 0) fuzz_skip("%s is absent (set TINYLLM_SHARED)", stories);
    if (symlink(stories, fuzz_scratch_path("stories260K.gguf")) != 0) fuzz_die("cannot link %s", stories);
    write_text(fuzz_scratch_path("stories260K.json"),
               "{\"options\": {\"seed\": 1, \"num_predict\": 4, \"num_ctx\": 128}}\n");

    synth_preset("all-minilm-l6-v2", "minilm.gguf");
    synth_preset("ms-marco-minilm-l6-v2", "reranker.gguf");
    make_search_db("minilm.gguf", "search.db");

    srv.options.host = "127.0.0.1";
    srv.options.models_dir = fuzz_scratch_dir();
    srv.options.keep_alive_s = -1;
    srv.options.parallel = 1;
    srv.options.n_ctx = 128;
    srv.options.n_threads = 1;
    srv.options.n_batch = 64;
    srv.options.queue_limit = 4;
    srv.options.body_limit = (size_t)1 << 20;
    srv.options.search_db = fuzz_scratch_path("search.db");
    srv.options.lookup = 2; /* prompt lookup drafts for "speculative" */
    srv.options.draft = tl_draft_default_params();
    srv.options.draft.n_max = 4;
    atomic_init(&srv.requests_total, 0);
    atomic_init(&srv.requests_failed, 0);
    atomic_init(&srv.prompt_tokens_total, 0);
    atomic_init(&srv.generated_tokens_total, 0);
    srv.started_at = tl_time_ms();
    tl_error err = {0};
    if (!api_search_start(&srv, &err)) fuzz_die("search database: %s", err.message);
    srv.models = registry_new(&srv.options, &err);
    if (!srv.models) fuzz_die("registry: %s", err.message);
    atexit(stop_server);
    return 0;
}

/* Clamps a reply length field of `obj` to MAX_REPLY; true if it changed. */
static bool clamp(cJSON *obj, const char *name, bool negative_is_unlimited) {
    cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(item)) return false;
    const double v = item->valuedouble;
    if (v <= MAX_REPLY && !(negative_is_unlimited && v < 0)) return false;
    if (v != floor(v) || v > 2147483647.0 || v < -2147483648.0) return false; /* rejected anyway */
    cJSON_SetNumberValue(item, MAX_REPLY);
    return true;
}

/* The body to hand over: the input, or its clamped JSON (malloc'd). */
static char *request_body(const char *text) {
    cJSON *json = cJSON_Parse(text);
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return NULL;
    }
    bool changed = clamp(json, "max_tokens", false);
    changed |= clamp(json, "max_completion_tokens", false);
    cJSON *options = cJSON_GetObjectItemCaseSensitive(json, "options");
    if (cJSON_IsObject(options)) changed |= clamp(options, "num_predict", true);
    char *out = changed ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const size_t route = data[0] % N_ROUTES;
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *clamped = request_body(text);
    const char *body = clamped ? clamped : text;

    http_request req = {.method = ROUTES[route].method,
                        .path = ROUTES[route].path,
                        .body = body,
                        .body_len = clamped ? strlen(clamped) : size - 1,
                        .accept = "",
                        .socket_fd = -1};
    http_response res;
    memset(&res, 0, sizeof res);
    if (api_route(&srv, &req, &res)) {
        if (res.status < 100 || res.status > 599) abort();
        size_t streamed = res.stream ? fake_stream_wait(res.stream) : 0;
        if (verbose)
            fprintf(stderr, "%s %s -> %d: %.200s%s\n", req.method, req.path, res.status,
                    res.body          ? res.body
                    : res.body_static ? "(static)"
                                      : "",
                    res.stream ? (streamed ? "(streamed)" : "(empty stream)") : "");
    }
    free(res.body);
    free(clamped);
    free(text);
    return 0;
}
