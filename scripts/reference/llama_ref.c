/* llama_ref.c: reference outputs from llama.cpp in C, through the prebuilt CPU libraries node-llama-cpp ships (the same
 * ones scripts/reference/llama_reference.mjs drives through its addon). One run prints one JSON document on stdout:
 *
 *   llama_ref decode --model FILE --cases CASES.json [--top 20] [--greedy 32]
 *       per case: the evaluated token ids, the top-K raw logits at the last prompt position and N greedy ids; the same
 *       format as llama_reference.mjs
 *   llama_ref embed  --model FILE --cases CASES.json [--pooling none|mean|cls|last|rank|model] [--normalize]
 *       per case: the pooled embedding (llama_get_embeddings_seq) or, with pooling none, one row per token; with rank
 *       pooling (rerankers) the classification head's n_cls_out scores
 *   llama_ref encdec --model FILE --cases CASES.json [--top 20] [--greedy 32] [--stop-at-eog]
 *       encoder-decoder models (T5): per case the encoder output rows, then the top-K logits after the decoder start
 *       token and N greedy ids
 *   common: [--threads 1] [--n-ctx N] [--backends DIR] [-v]
 *
 * CASES.json is {"cases": [{"prompt": "text"} | {"tokens": [ids...]} | {"query": "q", "document": "d"}, ...]}; a
 * query-document case is tokenized as llama-server's format_prompt_rerank does it (tools/server/server-common.cpp).
 * Settings as llama_reference.mjs: CPU only, F32 KV cache, flash attention off, one sequence, context = max(longest
 * case + greedy + 16, 256), batch = micro-batch = context (every input is evaluated in one piece), every case from an
 * empty memory. Text prompts are tokenized as llama_tokenize(add_special = true, parse_special = false). Floats are
 * printed with %.9g (exact float32 round trip). Errors: one line on stderr, exit status 1. Built by
 * scripts/reference/build_llama_tool.sh; see README.md there. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"
#include "llama_driver_common.h"

#ifndef LLAMA_BINS_DIR
#define LLAMA_BINS_DIR ""
#endif
#ifndef LLAMA_CPP_RELEASE
#define LLAMA_CPP_RELEASE "?"
#endif
#ifndef NODE_LLAMA_CPP_VERSION
#define NODE_LLAMA_CPP_VERSION "?"
#endif

#define MAX_CASES_FILE_BYTES (256L * 1024 * 1024)

typedef enum { MODE_DECODE, MODE_EMBED, MODE_ENCDEC } run_mode;

typedef struct {
    run_mode mode;
    const char *mode_name;
    const char *model_path;
    const char *cases_path;
    const char *backends_dir;
    int threads, n_ctx, top, greedy;
    enum llama_pooling_type pooling; /* LLAMA_POOLING_TYPE_UNSPECIFIED: the model's own */
    bool normalize, stop_at_eog, verbose;
} options;

/* One input: the token ids to evaluate, and the prompt text they came from (NULL for a {"tokens": [...]} case), or
 * the query and document of a rerank case. */
typedef struct {
    char *prompt, *query, *document;
    llama_token *tokens;
    int n_tokens;
} ref_case;

/* The error llama.cpp logged, so a failure can be reported in one line even though its log is hidden. */
static char llama_error[512];

static void die(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fputs("llama_ref: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static void usage(FILE *out) {
    fputs("usage: llama_ref decode|embed|encdec --model FILE --cases CASES.json [options]\n"
          "  --top K            decode/encdec: top-K logits reported (default 20)\n"
          "  --greedy N         decode/encdec: greedy ids generated (default 32)\n"
          "  --stop-at-eog      encdec: stop the greedy ids after an end-of-generation token\n"
          "  --pooling P        embed: none|mean|cls|last|rank|model (default model: the GGUF's)\n"
          "  --normalize        embed: L2-normalize every vector\n"
          "  --threads N        CPU threads (default 1)\n"
          "  --n-ctx N          context size (default max(longest case + greedy + 16, 256))\n"
          "  --backends DIR     where the ggml backends are (default: the prebuilt libraries' directory)\n"
          "  -v                 show llama.cpp's log on stderr\n",
          out);
}

static int int_arg(const char *name, const char *value, int min) {
    char *end = NULL;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *value == '\0' || *end != '\0' || v < min || v > 10000000) die("bad value for %s", name);
    return (int)v;
}

static const char *pooling_name(enum llama_pooling_type pooling) {
    switch (pooling) {
    case LLAMA_POOLING_TYPE_NONE: return "none";
    case LLAMA_POOLING_TYPE_MEAN: return "mean";
    case LLAMA_POOLING_TYPE_CLS: return "cls";
    case LLAMA_POOLING_TYPE_LAST: return "last";
    case LLAMA_POOLING_TYPE_RANK: return "rank";
    case LLAMA_POOLING_TYPE_UNSPECIFIED: return "model";
    }
    return "?";
}

static void parse_options(int argc, char **argv, options *o) {
    *o = (options){.backends_dir = LLAMA_BINS_DIR,
                   .threads = 1,
                   .top = 20,
                   .greedy = 32,
                   .pooling = LLAMA_POOLING_TYPE_UNSPECIFIED};
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        exit(0);
    }
    if (argc < 2) die("no mode given: decode, embed or encdec (--help for usage)");
    o->mode_name = argv[1];
    if (!strcmp(argv[1], "decode"))
        o->mode = MODE_DECODE;
    else if (!strcmp(argv[1], "embed"))
        o->mode = MODE_EMBED;
    else if (!strcmp(argv[1], "encdec"))
        o->mode = MODE_ENCDEC;
    else
        die("unknown mode '%s': use decode, embed or encdec", argv[1]);
    bool pooling_given = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--model") || !strcmp(a, "--cases") || !strcmp(a, "--backends") || !strcmp(a, "--pooling")) {
            if (!v) die("%s needs a value", a);
            i++;
            if (!strcmp(a, "--model"))
                o->model_path = v;
            else if (!strcmp(a, "--cases"))
                o->cases_path = v;
            else if (!strcmp(a, "--backends"))
                o->backends_dir = v;
            else {
                static const enum llama_pooling_type choices[] = {
                    LLAMA_POOLING_TYPE_NONE, LLAMA_POOLING_TYPE_MEAN, LLAMA_POOLING_TYPE_CLS,
                    LLAMA_POOLING_TYPE_LAST, LLAMA_POOLING_TYPE_RANK, LLAMA_POOLING_TYPE_UNSPECIFIED};
                size_t c = 0;
                while (c < sizeof choices / sizeof choices[0] && strcmp(v, pooling_name(choices[c]))) c++;
                if (c == sizeof choices / sizeof choices[0])
                    die("--pooling must be none, mean, cls, last, rank or model, got '%s'", v);
                o->pooling = choices[c];
                pooling_given = true;
            }
        } else if (!strcmp(a, "--threads")) {
            o->threads = int_arg(a, v, 1);
            i++;
        } else if (!strcmp(a, "--n-ctx")) {
            o->n_ctx = int_arg(a, v, 1);
            i++;
        } else if (!strcmp(a, "--top")) {
            o->top = int_arg(a, v, 0);
            i++;
        } else if (!strcmp(a, "--greedy")) {
            o->greedy = int_arg(a, v, 0);
            i++;
        } else if (!strcmp(a, "--normalize"))
            o->normalize = true;
        else if (!strcmp(a, "--stop-at-eog"))
            o->stop_at_eog = true;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
            o->verbose = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else
            die("unknown option '%s' (--help for usage)", a);
    }
    if (!o->model_path) die("no model given: use --model FILE");
    if (!o->cases_path) die("no cases given: use --cases CASES.json");
    if (o->mode != MODE_EMBED && (pooling_given || o->normalize)) die("--pooling and --normalize are for embed only");
    if (o->mode != MODE_ENCDEC && o->stop_at_eog) die("--stop-at-eog is for encdec only");
    if (o->mode == MODE_EMBED) o->greedy = 0; /* no generation: the context only needs to hold the input */
}

/* llama.cpp's log: everything on stderr with -v; otherwise hidden, but the first error logged since the last
 * clear_llama_error() is kept (the root cause; later lines only say that the caller failed too). */
static bool keeping_error = false;

static void clear_llama_error(void) {
    llama_error[0] = '\0';
    keeping_error = false;
}

/* The kept error for a one-line message, or a pointer to the full log when llama.cpp said nothing. */
static const char *llama_error_text(void) {
    return llama_error[0] ? llama_error : "no error logged (run with -v for llama.cpp's log)";
}

static void log_callback(enum ggml_log_level level, const char *text, void *user_data) {
    const options *o = user_data;
    if (o->verbose) fputs(text, stderr);
    if (level == GGML_LOG_LEVEL_ERROR)
        keeping_error = llama_error[0] == '\0';
    else if (level != GGML_LOG_LEVEL_CONT)
        keeping_error = false;
    if (!keeping_error) return;
    size_t used = strlen(llama_error);
    snprintf(llama_error + used, sizeof llama_error - used, "%s", text);
    for (char *c = llama_error; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    for (size_t n = strlen(llama_error); n > 0 && llama_error[n - 1] == ' '; n--) llama_error[n - 1] = 0;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("%s: cannot open", path);
    char *text = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || size > MAX_CASES_FILE_BYTES || fseek(f, 0, SEEK_SET) != 0) die("%s: cannot read", path);
    text = malloc((size_t)size + 1);
    if (!text) die("out of memory");
    if (fread(text, 1, (size_t)size, f) != (size_t)size) die("%s: cannot read", path);
    text[size] = '\0';
    fclose(f);
    return text;
}

/* llama_tokenize(text, add_special, parse_special); the default (true, false) is how llama.cpp's own tools tokenize a
 * prompt. */
static llama_token *tokenize_with(const struct llama_vocab *vocab, const char *text, bool add_special,
                                  bool parse_special, int *n_out) {
    size_t length = strlen(text);
    if (length > INT32_MAX / 2) die("a prompt is too long");
    int capacity = (int)length + 8;
    llama_token *tokens = malloc(sizeof(llama_token) * (size_t)capacity);
    if (!tokens) die("out of memory");
    int n = llama_tokenize(vocab, text, (int32_t)length, tokens, capacity, add_special, parse_special);
    if (n < 0) {
        capacity = -n;
        llama_token *bigger = realloc(tokens, sizeof(llama_token) * (size_t)capacity);
        if (!bigger) die("out of memory");
        tokens = bigger;
        n = llama_tokenize(vocab, text, (int32_t)length, tokens, capacity, add_special, parse_special);
        if (n < 0) die("llama_tokenize failed");
    }
    *n_out = n;
    return tokens;
}

static llama_token *tokenize(const struct llama_vocab *vocab, const char *text, int *n_out) {
    return tokenize_with(vocab, text, true, false, n_out);
}

/* Appends n ids to the growing array *out of *n_out ids. */
static void append_ids(llama_token **out, int *n_out, const llama_token *ids, int n) {
    llama_token *grown = realloc(*out, sizeof(llama_token) * (size_t)(*n_out + n + 1));
    if (!grown) die("out of memory");
    if (n > 0) memcpy(grown + *n_out, ids, sizeof(llama_token) * (size_t)n);
    *out = grown;
    *n_out += n;
}

/* The text with every "{name}" replaced by value (a new string). */
static char *replace_all(const char *text, const char *name, const char *value) {
    const size_t name_len = strlen(name), value_len = strlen(value);
    size_t size = strlen(text) + 1;
    for (const char *p = strstr(text, name); p; p = strstr(p + name_len, name)) size += value_len;
    char *out = malloc(size), *o = out;
    if (!out) die("out of memory");
    for (const char *p = text; *p;) {
        if (!strncmp(p, name, name_len)) {
            memcpy(o, value, value_len);
            o += value_len;
            p += name_len;
        } else
            *o++ = *p++;
    }
    *o = 0;
    return out;
}

/* A query-document pair as llama-server's format_prompt_rerank builds it (llama.cpp v0.5.0): the model's "rerank"
 * template with {query} and {document} replaced, tokenized with add_special = false and parse_special = true; else
 * [BOS if add_bos] query [EOS if add_eos] [SEP if add_sep] document [EOS if add_eos], query and document tokenized
 * with add_special = parse_special = false, EOS falling back to SEP. */
static llama_token *rerank_tokens(const struct llama_model *model, const char *query, const char *document,
                                  int *n_out) {
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const char *tmpl = llama_model_chat_template(model, "rerank");
    if (tmpl) {
        char *with_query = replace_all(tmpl, "{query}", query);
        char *prompt = replace_all(with_query, "{document}", document);
        llama_token *tokens = tokenize_with(vocab, prompt, false, true, n_out);
        free(with_query);
        free(prompt);
        return tokens;
    }
    llama_token eos = llama_vocab_eos(vocab);
    if (eos == LLAMA_TOKEN_NULL) eos = llama_vocab_sep(vocab);
    const llama_token bos = llama_vocab_bos(vocab), sep = llama_vocab_sep(vocab);
    int n_query = 0, n_document = 0, n = 0;
    llama_token *query_ids = tokenize_with(vocab, query, false, false, &n_query);
    llama_token *document_ids = tokenize_with(vocab, document, false, false, &n_document);
    llama_token *out = NULL;
    append_ids(&out, &n, NULL, 0);
    if (llama_vocab_get_add_bos(vocab)) append_ids(&out, &n, &bos, 1);
    append_ids(&out, &n, query_ids, n_query);
    if (llama_vocab_get_add_eos(vocab)) append_ids(&out, &n, &eos, 1);
    if (llama_vocab_get_add_sep(vocab)) append_ids(&out, &n, &sep, 1);
    append_ids(&out, &n, document_ids, n_document);
    if (llama_vocab_get_add_eos(vocab)) append_ids(&out, &n, &eos, 1);
    free(query_ids);
    free(document_ids);
    *n_out = n;
    return out;
}

/* A string field of a case, copied (NULL when absent). */
static char *case_string(const cJSON *item, const char *key, const char *path, int index) {
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(item, key);
    if (!value) return NULL;
    if (!cJSON_IsString(value)) die("%s: case %d: \"%s\" is not a string", path, index, key);
    char *copy = strdup(value->valuestring);
    if (!copy) die("out of memory");
    return copy;
}

/* Reads CASES.json and turns every case into token ids (checked against the vocabulary). */
static ref_case *load_cases(const char *path, const struct llama_model *model, int *n_cases_out) {
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    char *text = read_file(path);
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *where = cJSON_GetErrorPtr();
        die("%s: not valid JSON (near byte %ld)", path, where ? (long)(where - text) : 0L);
    }
    free(text);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "cases");
    if (!cJSON_IsArray(list)) die("%s: no \"cases\" array", path);
    const int n_cases = cJSON_GetArraySize(list);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    ref_case *cases = calloc((size_t)(n_cases > 0 ? n_cases : 1), sizeof(ref_case));
    if (!cases) die("out of memory");
    int index = 0;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, list) {
        ref_case *c = &cases[index];
        const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(item, "tokens");
        c->prompt = case_string(item, "prompt", path, index);
        c->query = case_string(item, "query", path, index);
        c->document = case_string(item, "document", path, index);
        if (!c->query != !c->document)
            die("%s: case %d: a rerank case needs both \"query\" and \"document\"", path, index);
        if (tokens) { /* as llama_reference.mjs: given ids win over a prompt */
            if (!cJSON_IsArray(tokens)) die("%s: case %d: \"tokens\" is not an array", path, index);
            c->n_tokens = cJSON_GetArraySize(tokens);
            c->tokens = malloc(sizeof(llama_token) * (size_t)(c->n_tokens > 0 ? c->n_tokens : 1));
            if (!c->tokens) die("out of memory");
            int t = 0;
            const cJSON *id = NULL;
            cJSON_ArrayForEach(id, tokens) {
                if (!cJSON_IsNumber(id) || id->valuedouble != floor(id->valuedouble) || id->valuedouble < 0 ||
                    id->valuedouble >= n_vocab)
                    die("%s: case %d: token %d is not an id of the vocabulary (0..%d)", path, index, t, n_vocab - 1);
                c->tokens[t++] = (llama_token)id->valuedouble;
            }
        } else if (c->query) {
            c->tokens = rerank_tokens(model, c->query, c->document, &c->n_tokens);
        } else if (c->prompt) {
            c->tokens = tokenize(vocab, c->prompt, &c->n_tokens);
        } else {
            die("%s: case %d: neither \"prompt\", \"tokens\" nor \"query\" and \"document\"", path, index);
        }
        if (c->n_tokens == 0) die("%s: case %d: nothing to evaluate (empty prompt, model has no BOS)", path, index);
        index++;
    }
    cJSON_Delete(root);
    *n_cases_out = n_cases;
    return cases;
}

/* ---- JSON output, laid out as llama_reference.mjs does: one key per line, arrays of numbers on one line ---- */

static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\b': fputs("\\b", stdout); break;
        case '\f': fputs("\\f", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (c < 0x20)
                printf("\\u%04x", c);
            else
                putchar(c);
        }
    }
    putchar('"');
}

/* 9 significant digits give back the exact float32; JSON has no inf/nan, so those become null. */
static void print_float(float value) {
    if (isfinite(value))
        printf("%.9g", (double)value);
    else
        fputs("null", stdout);
}

static void print_ids(const llama_token *ids, int n) {
    putchar('[');
    for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
    putchar(']');
}

static void print_floats(const float *values, int n) {
    putchar('[');
    for (int i = 0; i < n; i++) {
        if (i) putchar(',');
        print_float(values[i]);
    }
    putchar(']');
}

/* `"key": ` at the given depth (one space per level), after a comma when it is not the object's first field. */
static void print_key(int depth, const char *key, bool first) {
    printf("%s\n%*s", first ? "" : ",", depth, "");
    print_json_string(key);
    fputs(": ", stdout);
}

/* "key": [ rows of floats, one row per line ] (the shape of "top", "embeddings" and "encoder"). */
static void print_rows(int depth, const char *key, const float *rows, int n_rows, int row_size) {
    print_key(depth, key, false);
    if (n_rows == 0) {
        fputs("[]", stdout);
        return;
    }
    putchar('[');
    for (int r = 0; r < n_rows; r++) {
        printf("%s\n%*s", r ? "," : "", depth + 1, "");
        print_floats(rows + (size_t)r * (size_t)row_size, row_size);
    }
    printf("\n%*s]", depth, "");
}

/* "key": "value" at the given depth. */
static void print_string_field(int depth, const char *key, const char *value, bool first) {
    print_key(depth, key, first);
    print_json_string(value);
}

/* "key": number at the given depth. */
static void print_int_field(int depth, const char *key, long long value) {
    print_key(depth, key, false);
    printf("%lld", value);
}

/* The "source" object: what produced the file, with the fields llama_reference.mjs writes plus the mode's own. */
static void print_source(const options *o, struct llama_context *ctx) {
    char variant[64], features[4096];
    cpu_variant(variant, sizeof variant);
    snprintf(features, sizeof features, "%s", llama_print_system_info());
    for (size_t n = strlen(features); n > 0 && isspace((unsigned char)features[n - 1]); n--) features[n - 1] = 0;
    fputs("{\n \"source\": {", stdout);
    print_string_field(2, "tool", "scripts/reference/llama_ref.c", true);
    print_string_field(2, "mode", o->mode_name, false);
    print_string_field(2, "nodeLlamaCpp", NODE_LLAMA_CPP_VERSION, false);
    print_string_field(2, "llamaCpp", "ggml-org/llama.cpp " LLAMA_CPP_RELEASE, false);
    print_string_field(2, "build", "prebuilt", false);
    print_string_field(2, "backend", "CPU", false);
    print_string_field(2, "cpuVariant", variant, false);
    print_string_field(2, "cpuFeatures", features, false);
    print_key(2, "kvCache", false);
    fputs("{\n   \"key\": \"F32\",\n   \"value\": \"F32\"\n  }", stdout);
    print_key(2, "flashAttention", false);
    fputs("false", stdout);
    print_int_field(2, "threads", llama_n_threads(ctx));
    print_int_field(2, "contextSize", llama_n_ctx(ctx));
    print_int_field(2, "batchSize", llama_n_batch(ctx));
    print_string_field(2, "tokenization",
                       "llama_tokenize(add_special=true, parse_special=false) for text prompts; query-document "
                       "pairs as llama-server's format_prompt_rerank",
                       false);
    if (o->mode == MODE_EMBED) {
        print_string_field(2, "embeddings",
                           llama_pooling_type(ctx) == LLAMA_POOLING_TYPE_NONE
                               ? "llama_get_embeddings_ith() for every token, whole input in one llama_decode"
                               : "llama_get_embeddings_seq(0), whole input in one llama_decode",
                           false);
        print_string_field(2, "normalize", o->normalize ? "L2 (common_embd_normalize(..., 2))" : "none", false);
    } else {
        if (o->mode == MODE_ENCDEC)
            print_string_field(2, "encoder",
                               "llama_encode() of the whole input, pooling none; llama_get_embeddings_ith() per token",
                               false);
        print_string_field(2, "logits",
                           o->mode == MODE_DECODE ? "raw llama_get_logits_ith() values at the last prompt position"
                                                  : "raw llama_get_logits_ith() values after the decoder start token",
                           false);
        print_string_field(2, "greedy",
                           o->stop_at_eog ? "argmax over raw logits, fed back one token at a time; stops after EOG"
                                          : "argmax over raw logits, fed back one token at a time; no sampler, "
                                            "no penalties",
                           false);
    }
    fputs("\n }", stdout);
    print_string_field(1, "model", strrchr(o->model_path, '/') ? strrchr(o->model_path, '/') + 1 : o->model_path,
                       false);
}

/* ---- evaluation ---- */

/* Puts ids[0..n) at positions first_pos.. of sequence 0 into the batch; output only for the last one, or for all. */
static void fill_batch(struct llama_batch *batch, const llama_token *ids, int n, int first_pos, bool output_all) {
    batch->n_tokens = n;
    for (int i = 0; i < n; i++) {
        batch->token[i] = ids[i];
        batch->pos[i] = first_pos + i;
        batch->n_seq_id[i] = 1;
        batch->seq_id[i][0] = 0;
        batch->logits[i] = output_all || i == n - 1;
    }
}

/* Token id of the largest logit; the lowest id wins a tie (as llama.cpp's greedy sampler does). */
static llama_token argmax(const float *logits, int n_vocab) {
    llama_token best = 0;
    for (int id = 1; id < n_vocab; id++)
        if (logits[id] > logits[best]) best = id;
    return best;
}

static const float *sort_logits; /* qsort has no context argument */

/* Descending logit, then ascending id; NaN sorts last so the order is total. */
static int compare_by_logit(const void *a, const void *b) {
    const llama_token x = *(const llama_token *)a, y = *(const llama_token *)b;
    const float lx = sort_logits[x], ly = sort_logits[y];
    const bool nx = isnan(lx), ny = isnan(ly);
    if (nx != ny) return nx ? 1 : -1;
    if (!nx && lx != ly) return lx > ly ? -1 : 1;
    return (x > y) - (x < y);
}

/* "top": the K largest logits as [id, logit] lines, descending (ties by ascending id). */
static void print_top(int depth, const float *logits, int n_vocab, int top) {
    llama_token *ids = malloc(sizeof(llama_token) * (size_t)n_vocab);
    if (!ids) die("out of memory");
    for (int i = 0; i < n_vocab; i++) ids[i] = i;
    sort_logits = logits;
    qsort(ids, (size_t)n_vocab, sizeof(llama_token), compare_by_logit);
    const int n = top < n_vocab ? top : n_vocab;
    print_key(depth, "top", false);
    if (n == 0)
        fputs("[]", stdout);
    else {
        putchar('[');
        for (int r = 0; r < n; r++) {
            printf("%s\n%*s[%d,", r ? "," : "", depth + 1, "", ids[r]);
            print_float(logits[ids[r]]);
            putchar(']');
        }
        printf("\n%*s]", depth, "");
    }
    free(ids);
}

static const float *logits_or_die(struct llama_context *ctx, int case_index) {
    const float *logits = llama_get_logits_ith(ctx, -1);
    if (!logits) die("case %d: llama.cpp returned no logits: %s", case_index, llama_error_text());
    return logits;
}

static void decode_or_die(struct llama_context *ctx, struct llama_batch batch, int case_index) {
    clear_llama_error();
    int status = llama_decode(ctx, batch);
    if (status != 0) die("case %d: llama_decode failed (%d): %s", case_index, status, llama_error_text());
}

/* Greedy continuation from `logits` (already computed at position `pos` - 1): n ids, each fed back on its own. */
static int run_greedy(struct llama_context *ctx, struct llama_batch *batch, const float *logits, int pos, int n,
                      bool stop_at_eog, llama_token *out, int case_index) {
    const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(ctx));
    const int n_vocab = llama_vocab_n_tokens(vocab);
    int produced = 0;
    for (int step = 0; step < n; step++) {
        out[produced++] = argmax(logits, n_vocab);
        if (stop_at_eog && llama_vocab_is_eog(vocab, out[produced - 1])) break;
        if (step + 1 == n) break;
        fill_batch(batch, &out[produced - 1], 1, pos++, false);
        decode_or_die(ctx, *batch, case_index);
        logits = logits_or_die(ctx, case_index);
    }
    return produced;
}

static void print_case_start(const ref_case *c, bool first) {
    printf("%s\n  {", first ? "" : ",");
    bool first_field = true;
    if (c->prompt) {
        print_string_field(3, "prompt", c->prompt, true);
        first_field = false;
    }
    if (c->query) {
        print_string_field(3, "query", c->query, first_field);
        print_string_field(3, "document", c->document, false);
        first_field = false;
    }
    print_key(3, "tokens", first_field);
    print_ids(c->tokens, c->n_tokens);
}

static void run_decode(const options *o, struct llama_context *ctx, const ref_case *cases, int n_cases,
                       struct llama_batch *batch) {
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
    llama_token *greedy = malloc(sizeof(llama_token) * (size_t)(o->greedy > 0 ? o->greedy : 1));
    if (!greedy) die("out of memory");
    for (int i = 0; i < n_cases; i++) {
        const ref_case *c = &cases[i];
        llama_memory_clear(llama_get_memory(ctx), true);
        fill_batch(batch, c->tokens, c->n_tokens, 0, false);
        decode_or_die(ctx, *batch, i);
        const float *logits = logits_or_die(ctx, i);
        print_case_start(c, i == 0);
        print_top(3, logits, n_vocab, o->top);
        int n = run_greedy(ctx, batch, logits, c->n_tokens, o->greedy, false, greedy, i);
        print_key(3, "greedy", false);
        print_ids(greedy, n);
        fputs("\n  }", stdout);
    }
    free(greedy);
}

/* llama.cpp's common_embd_normalize(.., 2): float squares summed in double, scaled by the float reciprocal. */
static void normalize_l2(float *v, int n) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        const float square = v[i] * v[i];
        sum += square;
    }
    sum = sqrt(sum);
    const float scale = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
    for (int i = 0; i < n; i++) v[i] = v[i] * scale;
}

static void run_embed(const options *o, struct llama_context *ctx, const ref_case *cases, int n_cases,
                      struct llama_batch *batch, int longest) {
    const struct llama_model *model = llama_get_model(ctx);
    const enum llama_pooling_type pooling = llama_pooling_type(ctx);
    const int width =
        pooling == LLAMA_POOLING_TYPE_RANK ? (int)llama_model_n_cls_out(model) : llama_model_n_embd_out(model);
    const int max_rows = pooling == LLAMA_POOLING_TYPE_NONE ? longest : 1;
    float *rows = malloc(sizeof(float) * (size_t)width * (size_t)max_rows);
    if (!rows) die("out of memory");
    for (int i = 0; i < n_cases; i++) {
        const ref_case *c = &cases[i];
        llama_memory_t memory = llama_get_memory(ctx);
        if (memory) llama_memory_clear(memory, true);
        fill_batch(batch, c->tokens, c->n_tokens, 0, true);
        decode_or_die(ctx, *batch, i);
        const int n_rows = pooling == LLAMA_POOLING_TYPE_NONE ? c->n_tokens : 1;
        for (int r = 0; r < n_rows; r++) {
            const float *row = pooling == LLAMA_POOLING_TYPE_NONE ? llama_get_embeddings_ith(ctx, r)
                                                                  : llama_get_embeddings_seq(ctx, 0);
            if (!row) die("case %d: llama.cpp returned no embeddings: %s", i, llama_error_text());
            memcpy(rows + (size_t)r * (size_t)width, row, sizeof(float) * (size_t)width);
            if (o->normalize) normalize_l2(rows + (size_t)r * (size_t)width, width);
        }
        print_case_start(c, i == 0);
        if (pooling == LLAMA_POOLING_TYPE_NONE) {
            print_rows(3, "embeddings", rows, n_rows, width);
        } else {
            print_key(3, "embedding", false);
            print_floats(rows, width);
        }
        fputs("\n  }", stdout);
    }
    free(rows);
}

/* T5-style models: llama_encode the input (pooling none, so the encoder's output rows land in the embeddings buffer),
 * then decode from the decoder start token with the embeddings output switched off. */
static void run_encdec(const options *o, struct llama_context *ctx, const ref_case *cases, int n_cases,
                       struct llama_batch *batch, int longest, llama_token start) {
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
    const int width = llama_model_n_embd_out(llama_get_model(ctx));
    float *rows = malloc(sizeof(float) * (size_t)width * (size_t)longest);
    llama_token *greedy = malloc(sizeof(llama_token) * (size_t)(o->greedy > 0 ? o->greedy : 1));
    if (!rows || !greedy) die("out of memory");
    for (int i = 0; i < n_cases; i++) {
        const ref_case *c = &cases[i];
        llama_memory_clear(llama_get_memory(ctx), true);
        llama_set_embeddings(ctx, true);
        fill_batch(batch, c->tokens, c->n_tokens, 0, true);
        clear_llama_error();
        int status = llama_encode(ctx, *batch);
        if (status != 0) die("case %d: llama_encode failed (%d): %s", i, status, llama_error_text());
        for (int r = 0; r < c->n_tokens; r++) {
            const float *row = llama_get_embeddings_ith(ctx, r);
            if (!row) die("case %d: llama.cpp returned no encoder output: %s", i, llama_error_text());
            memcpy(rows + (size_t)r * (size_t)width, row, sizeof(float) * (size_t)width);
        }
        llama_set_embeddings(ctx, false);
        fill_batch(batch, &start, 1, 0, false);
        decode_or_die(ctx, *batch, i);
        const float *logits = logits_or_die(ctx, i);
        print_case_start(c, i == 0);
        print_rows(3, "encoder", rows, c->n_tokens, width);
        print_top(3, logits, n_vocab, o->top);
        int n = run_greedy(ctx, batch, logits, 1, o->greedy, o->stop_at_eog, greedy, i);
        print_key(3, "greedy", false);
        print_ids(greedy, n);
        fputs("\n  }", stdout);
    }
    free(greedy);
    free(rows);
}

int main(int argc, char **argv) {
    options o;
    parse_options(argc, argv, &o);
    FILE *probe = fopen(o.model_path, "rb");
    if (!probe) die("%s: cannot open", o.model_path);
    fclose(probe);

    llama_log_set(log_callback, &o);
    /* All backends of the prebuilt directory; of the CPU variants, the best one this CPU supports (zen4, ...). */
    if (*o.backends_dir)
        ggml_backend_load_all_from_path(o.backends_dir);
    else
        ggml_backend_load_all();
    if (!ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU))
        die("no CPU backend found in '%s' (--backends DIR)", o.backends_dir);
    llama_backend_init();

    struct llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    clear_llama_error();
    struct llama_model *model = llama_model_load_from_file(o.model_path, mparams);
    if (!model) die("%s: llama.cpp cannot load the model: %s", o.model_path, llama_error_text());
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const bool has_encoder = llama_model_has_encoder(model), has_decoder = llama_model_has_decoder(model);
    if (o.mode == MODE_DECODE && (has_encoder || !has_decoder))
        die("%s: decode needs a decoder-only model (this one: encoder %s, decoder %s; try %s)", o.model_path,
            has_encoder ? "yes" : "no", has_decoder ? "yes" : "no", has_decoder ? "encdec" : "embed");
    if (o.mode == MODE_EMBED && has_encoder && has_decoder)
        die("%s: an encoder-decoder model: use encdec", o.model_path);
    if (o.mode == MODE_ENCDEC && !(has_encoder && has_decoder))
        die("%s: encdec needs an encoder-decoder model", o.model_path);

    int n_cases = 0;
    ref_case *cases = load_cases(o.cases_path, model, &n_cases);
    int longest = 1;
    for (int i = 0; i < n_cases; i++)
        if (cases[i].n_tokens > longest) longest = cases[i].n_tokens;

    /* Room for the longest case and its greedy ids, so no context shift can happen; batch = micro-batch = context,
     * so every input is evaluated in one piece (an encoder needs that anyway). */
    int n_ctx = o.n_ctx > 0 ? o.n_ctx : longest + o.greedy + 16;
    if (o.n_ctx == 0 && n_ctx < 256) n_ctx = 256;
    const int needed = o.mode == MODE_ENCDEC ? (longest > o.greedy + 1 ? longest : o.greedy + 1) : longest + o.greedy;
    if (n_ctx < needed) die("--n-ctx %d is too small: the cases need %d", n_ctx, needed);
    struct llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = (uint32_t)n_ctx;
    cparams.n_batch = (uint32_t)n_ctx;
    cparams.n_ubatch = (uint32_t)n_ctx;
    cparams.n_seq_max = 1;
    cparams.n_threads = o.threads;
    cparams.n_threads_batch = o.threads;
    cparams.type_k = GGML_TYPE_F32;
    cparams.type_v = GGML_TYPE_F32;
    cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cparams.embeddings = o.mode != MODE_DECODE;
    cparams.pooling_type = o.mode == MODE_EMBED    ? o.pooling
                           : o.mode == MODE_ENCDEC ? LLAMA_POOLING_TYPE_NONE
                                                   : LLAMA_POOLING_TYPE_UNSPECIFIED;
    cparams.swa_full = false;
    cparams.kv_unified = false;
    clear_llama_error();
    struct llama_context *ctx = llama_init_from_model(model, cparams);
    if (!ctx) die("%s: llama.cpp cannot create a context: %s", o.model_path, llama_error_text());
    /* llama_decode runs a model without a KV cache (BERT and the like) through its encoder: no logits come out. */
    if (o.mode == MODE_DECODE && !llama_get_memory(ctx))
        die("%s: llama.cpp evaluates this model without a KV cache (an encoder-only model): use embed", o.model_path);

    llama_token start = LLAMA_TOKEN_NULL;
    if (o.mode == MODE_ENCDEC) {
        start = llama_model_decoder_start_token(model);
        if (start == LLAMA_TOKEN_NULL) start = llama_vocab_bos(vocab); /* as llama.cpp's examples fall back */
        if (start == LLAMA_TOKEN_NULL) die("%s: no decoder start token and no BOS", o.model_path);
    }

    struct llama_batch batch = llama_batch_init(longest, 0, 1);
    print_source(&o, ctx);
    if (o.mode != MODE_DECODE) {
        print_int_field(1, "n_embd", llama_model_n_embd_out(model));
        if (o.mode == MODE_EMBED) {
            print_string_field(1, "pooling", pooling_name(llama_pooling_type(ctx)), false);
            if (llama_pooling_type(ctx) == LLAMA_POOLING_TYPE_RANK)
                print_int_field(1, "n_cls_out", llama_model_n_cls_out(model));
            print_key(1, "normalize", false);
            fputs(o.normalize ? "true" : "false", stdout);
        } else {
            print_int_field(1, "decoderStartToken", start);
        }
    }
    print_key(1, "cases", false);
    if (n_cases == 0)
        fputs("[]", stdout);
    else {
        putchar('[');
        if (o.mode == MODE_DECODE)
            run_decode(&o, ctx, cases, n_cases, &batch);
        else if (o.mode == MODE_EMBED)
            run_embed(&o, ctx, cases, n_cases, &batch, longest);
        else
            run_encdec(&o, ctx, cases, n_cases, &batch, longest, start);
        fputs("\n ]", stdout);
    }
    fputs("\n}\n", stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) die("cannot write the output");

    llama_batch_free(batch);
    for (int i = 0; i < n_cases; i++) {
        free(cases[i].prompt);
        free(cases[i].query);
        free(cases[i].document);
        free(cases[i].tokens);
    }
    free(cases);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
