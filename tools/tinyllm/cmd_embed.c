/*
 * cmd_embed.c — `tinyllm embed`: one embedding vector per input text.
 *
 * Inputs are the TEXT arguments and the non-empty lines of -f FILE (- reads
 * stdin). Each is tokenized with the vocabulary's special tokens ([CLS] ...
 * [SEP] for BERT), evaluated on its own by tl_embed, pooled (unless
 * --pooling: the model's pooling, or for a model that names none the last
 * token of a decoder and the mean of an encoder, as embedding servers and
 * `tinyllm serve` do, so every input gives one vector) and L2-normalized
 * (unless --no-normalize).
 *
 * An input longer than the context is cut to fit, as sentence-transformers
 * does: the text's tokens are shortened and the special tokens around them
 * kept, so a BERT input still ends with [SEP]; a notice goes to stderr.
 * (llama.cpp's embedding tool refuses such inputs instead, which is what
 * --no-truncate does.) Every input is tokenized and checked before anything
 * is printed, so a bad input gives one error line and no partial output.
 * Decoder-only models give their hidden states (tl_embed); encoder-decoder
 * models are refused, as llama.cpp gives no embeddings for them.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_context.h"
#include "cli_defaults.h"
#include "util/buffer.h"

typedef struct embed_options {
    const char *model, *file, *pooling;
    cli_context context;
    bool no_normalize, json, no_truncate, timings;
} embed_options;

/* One input: its text and the token ids that will be evaluated. */
typedef struct embed_input {
    const char *text;
    size_t len;
    tl_token *tokens;
    int32_t n_tokens;
} embed_input;

typedef struct input_list {
    embed_input *items;
    size_t n, cap;
} input_list;

static bool add_input(input_list *list, const char *text, size_t len) {
    embed_input *grown = tl_grow(list->items, &list->cap, list->n + 1, sizeof *grown, 64);
    if (!grown) return false;
    list->items = grown;
    list->items[list->n++] = (embed_input){.text = text, .len = len};
    return true;
}

/* Adds every non-empty line of text (a trailing \r is dropped). The lines
 * point into text, which is modified. */
static bool add_lines(input_list *list, char *text, size_t len) {
    size_t start = 0;
    while (start < len) {
        char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t line_end = end;
        if (line_end > start && text[line_end - 1] == '\r') line_end--;
        text[line_end] = 0;
        if (line_end > start && !add_input(list, text + start, line_end - start)) return false;
        start = end + 1;
    }
    return true;
}

/* Where the text's own tokens sit among the tokens with specials added:
 * specials[*prefix .. *prefix + n_plain) == plain. False if they do not. */
static bool find_text_tokens(const tl_token *with, int32_t n_with, const tl_token *plain, int32_t n_plain,
                             int32_t *prefix) {
    for (int32_t p = 0; p + n_plain <= n_with; p++)
        if (memcmp(with + p, plain, (size_t)n_plain * sizeof *plain) == 0) {
            *prefix = p;
            return true;
        }
    return false;
}

/* Cuts an input's tokens to n_ctx: the special tokens added before and
 * after the text stay, the text's tokens are shortened. Without a clear
 * text span (or with room for specials only), the first n_ctx are kept. */
static bool truncate_input(const tl_model *model, embed_input *in, int32_t n_ctx) {
    int32_t n_plain = 0, prefix = 0;
    tl_token *plain = cli_tokenize("embed", model, in->text, in->len, false, false, &n_plain);
    if (!plain) return false;
    const int32_t n_special = in->n_tokens - n_plain;
    if (n_special >= 0 && n_special < n_ctx && find_text_tokens(in->tokens, in->n_tokens, plain, n_plain, &prefix)) {
        const int32_t suffix = n_special - prefix;
        memmove(in->tokens + n_ctx - suffix, in->tokens + in->n_tokens - suffix, (size_t)suffix * sizeof *in->tokens);
    }
    free(plain);
    in->n_tokens = n_ctx;
    return true;
}

/* Tokenizes every input and fits it to the context (or refuses it). */
static bool prepare_inputs(const embed_options *o, const tl_model *model, uint32_t n_ctx, input_list *list) {
    for (size_t i = 0; i < list->n; i++) {
        embed_input *in = &list->items[i];
        if (o->no_truncate) { /* a long input is refused: no need to tokenize all of it */
            bool too_long = false;
            in->tokens =
                cli_tokenize_prompt("embed", model, in->text, in->len, true, false, n_ctx, &in->n_tokens, &too_long);
            if (too_long)
                tl_cli_error("embed",
                             "input %zu has more than %d tokens, more than the context of %u (use -c, or drop "
                             "--no-truncate)",
                             i, in->n_tokens, n_ctx);
        } else { /* truncation keeps the first tokens of the whole text's tokenization */
            in->tokens = cli_tokenize("embed", model, in->text, in->len, true, false, &in->n_tokens);
        }
        if (!in->tokens) return false;
        if (in->n_tokens == 0) {
            tl_cli_error("embed", "input %zu gives no tokens (the text is empty and the vocabulary adds none)", i);
            return false;
        }
        if ((uint32_t)in->n_tokens <= n_ctx) continue;
        if (o->no_truncate) {
            tl_cli_error("embed",
                         "input %zu has %d tokens, more than the context of %u (use -c, or drop --no-truncate)", i,
                         in->n_tokens, n_ctx);
            return false;
        }
        fprintf(stderr, "tinyllm embed: input %zu truncated from %d to %u tokens\n", i, in->n_tokens, n_ctx);
        if (!truncate_input(model, in, (int32_t)n_ctx)) return false;
    }
    return true;
}

/* ---- output --------------------------------------------------------------- */

static void print_row(const float *v, uint32_t dim) {
    for (uint32_t i = 0; i < dim; i++) printf(i ? " %.6g" : "%.6g", (double)v[i]);
    putchar('\n');
}

/* A JSON array of floats, printed exactly (%.9g round-trips a float). */
static cJSON *json_floats(const float *v, uint32_t dim) {
    cJSON *arr = cJSON_CreateArray();
    char num[32];
    for (uint32_t i = 0; arr && i < dim; i++) {
        if (isfinite(v[i]))
            snprintf(num, sizeof num, "%.9g", (double)v[i]);
        else
            snprintf(num, sizeof num, "null");
        cJSON_AddItemToArray(arr, cJSON_CreateRaw(num));
    }
    return arr;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Embeds every input; prints lines as it goes, or the JSON document at the end. */
static int embed_all(const embed_options *o, const tl_model *model, tl_context *ctx, tl_pooling pooling,
                     const input_list *list) {
    const uint32_t dim = tl_model_embedding_size(model);
    size_t max_rows = 1;
    if (pooling == TL_POOLING_NONE)
        for (size_t i = 0; i < list->n; i++)
            if ((size_t)list->items[i].n_tokens > max_rows) max_rows = (size_t)list->items[i].n_tokens;
    float *out = malloc(max_rows * dim * sizeof *out);
    cJSON *root = o->json ? cJSON_CreateObject() : NULL, *data = NULL;
    if (!out || (o->json && !root)) {
        free(out);
        cJSON_Delete(root);
        tl_cli_error("embed", "out of memory");
        return 1;
    }
    if (root) {
        cJSON_AddStringToObject(root, "model", base_name(o->model));
        cJSON_AddNumberToObject(root, "dim", dim);
        cJSON_AddStringToObject(root, "pooling", tl_pooling_name(pooling));
        data = cJSON_AddArrayToObject(root, "data");
    }
    int rc = 0;
    int64_t n_tokens = 0;
    const double t0 = tl_time_ms();
    for (size_t i = 0; i < list->n && rc == 0; i++) {
        const embed_input *in = &list->items[i];
        tl_error err = {0};
        if (tl_embed(ctx, in->tokens, in->n_tokens, pooling, !o->no_normalize, out, &err) != TL_OK) {
            tl_cli_error("embed", "input %zu: %s", i, err.message);
            rc = 1;
            break;
        }
        n_tokens += in->n_tokens;
        const int32_t n_rows = pooling == TL_POOLING_NONE ? in->n_tokens : 1;
        if (root) {
            cJSON *item = cJSON_CreateObject();
            cJSON_AddNumberToObject(item, "index", (double)i);
            cJSON *emb;
            if (pooling == TL_POOLING_NONE) {
                emb = cJSON_CreateArray();
                for (int32_t r = 0; r < n_rows; r++) cJSON_AddItemToArray(emb, json_floats(out + (size_t)r * dim, dim));
            } else {
                emb = json_floats(out, dim);
            }
            cJSON_AddItemToObject(item, "embedding", emb);
            cJSON_AddItemToArray(data, item);
        } else {
            if (pooling == TL_POOLING_NONE && i > 0) putchar('\n');
            for (int32_t r = 0; r < n_rows; r++) print_row(out + (size_t)r * dim, dim);
        }
    }
    const double ms = tl_time_ms() - t0;
    if (root && rc == 0) {
        char *text = cJSON_PrintUnformatted(root);
        if (text)
            printf("%s\n", text);
        else
            rc = 1;
        free(text);
    }
    fflush(stdout);
    if (rc == 0 && o->timings)
        fprintf(stderr, "tinyllm embed: %zu inputs, %lld tokens in %.1f ms (%.1f inputs/s, %.1f tokens/s)\n", list->n,
                (long long)n_tokens, ms, ms > 0 ? list->n * 1e3 / ms : 0.0, ms > 0 ? (double)n_tokens * 1e3 / ms : 0.0);
    cJSON_Delete(root);
    free(out);
    return rc;
}

int cmd_embed(int argc, char **argv) {
    embed_options o = {0};
    tl_opt opts[7 + CLI_CONTEXT_N_OPTS] = {
        {"-m", "--model", TL_OPT_STRING, &o.model, "FILE|NAME",
         "GGUF model file, or a model of the store (tinyllm list)", NULL, 0, 0},
        {"-f", "--file", TL_OPT_STRING, &o.file, "FILE", "also embed every non-empty line of FILE (- reads stdin)",
         NULL, 0, 0},
        {NULL, "--pooling", TL_OPT_STRING, &o.pooling, "NAME",
         "none, mean, cls or last (default: the model's own; without one, last for decoders, mean for "
         "encoders)",
         NULL, 0, 0},
        {NULL, "--no-normalize", TL_OPT_FLAG, &o.no_normalize, "", "do not L2-normalize the vectors", NULL, 0, 0},
        {NULL, "--json", TL_OPT_FLAG, &o.json, "",
         "print one JSON object {model, dim, pooling, data: [{index, embedding}]}", NULL, 0, 0},
        {NULL, "--no-truncate", TL_OPT_FLAG, &o.no_truncate, "",
         "refuse inputs longer than the context instead of truncating them", NULL, 0, 0},
        {NULL, "--timings", TL_OPT_FLAG, &o.timings, "", "print the time taken on stderr", NULL, 0, 0},
    };
    cli_context_init(&o.context, opts + 7);
    bool ctx_given = false;
    opts[7].seen = &ctx_given; /* -c: else a store model's num_ctx */
    const tl_command_spec spec = {"embed", "-m FILE [options] [TEXT...] [-f FILE]",
                                  "Print an embedding vector for each TEXT and each line of -f FILE: one line of\n"
                                  "space-separated numbers per input (with --pooling none, one line per token and a\n"
                                  "blank line between inputs). A model that names no pooling is pooled as embedding\n"
                                  "servers do: the last token for decoders, the mean for encoders. Inputs longer than\n"
                                  "the context are truncated, keeping the special tokens, with a notice on stderr.",
                                  opts, (int)(sizeof opts / sizeof opts[0])};
    const char **positional = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *positional);
    if (!positional) {
        tl_cli_error("embed", "out of memory");
        return 1;
    }
    int n_pos = 0;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, argc, &n_pos);
    if (r != TL_ARGS_OK) {
        free(positional);
        return r == TL_ARGS_HELP ? 0 : 1;
    }

    int rc = 1;
    input_list list = {0};
    char *file_text = NULL;
    tl_model *model = NULL;
    tl_context *ctx = NULL;
    int pooling = TL_POOLING_DEFAULT;
    cli_defaults defaults = {0};
    if (o.pooling && (pooling = tl_pooling_from_name(o.pooling)) < 0) {
        tl_cli_error("embed", "unknown pooling '%s' (none, mean, cls or last)", o.pooling);
        goto done;
    }
    if (!o.model) {
        tl_cli_error("embed", "no model given: use -m FILE");
        goto done;
    }
    for (int i = 0; i < n_pos; i++)
        if (!add_input(&list, positional[i], strlen(positional[i]))) goto oom;
    if (o.file) {
        size_t len;
        if (!(file_text = cli_read_file("embed", "input", o.file, &len))) goto done;
        if (!add_lines(&list, file_text, len)) goto oom;
    }
    if (list.n == 0) {
        tl_cli_error("embed", "no inputs given: pass TEXT arguments or -f FILE");
        goto done;
    }

    /* A store model's num_ctx is the default -c; its other options do not change an embedding. */
    if (!cli_defaults_load(&defaults, "embed", o.model, false) ||
        !(model = cli_load_model("embed", defaults.path, false)))
        goto done;
    if (!ctx_given) o.context.n_ctx = defaults.options.num_ctx;
    if (tl_model_has_encoder(model) && tl_model_has_decoder(model)) {
        /* As llama.cpp, which gives no embeddings for these (use `run`). */
        tl_cli_error("embed", "%s is an encoder-decoder model: embed takes encoder-only (BERT) or decoder-only models",
                     o.model);
        goto done;
    }
    tl_context_params cp;
    if (!cli_context_params(&o.context, "embed", &cp)) goto done;
    tl_error err = {0};
    if (tl_context_new(model, &cp, &ctx, &err) != TL_OK) {
        tl_cli_error("embed", "%s", err.message);
        goto done;
    }
    if (pooling == TL_POOLING_DEFAULT) pooling = tl_model_embedding_pooling(model);
    if (!prepare_inputs(&o, model, tl_context_size(ctx), &list)) goto done;
    rc = embed_all(&o, model, ctx, (tl_pooling)pooling, &list);
    goto done;
oom:
    tl_cli_error("embed", "out of memory");
done:
    for (size_t i = 0; i < list.n; i++) free(list.items[i].tokens);
    free(list.items);
    tl_context_free(ctx);
    tl_model_free(model);
    cli_defaults_free(&defaults);
    free(file_text);
    free(positional);
    return rc;
}
