/*
 * cmd_logits.c — `tinyllm logits`: the top-K raw logits after a prompt, the
 * way the golden tests and reference comparisons look at a model.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_context.h"

typedef struct scored {
    tl_token id;
    float logit;
} scored;

static int by_logit_desc(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->logit != y->logit) return x->logit < y->logit ? 1 : -1;
    return x->id - y->id;
}

int cmd_logits(int argc, char **argv) {
    const char *path = NULL, *prompt = NULL, *file = NULL;
    int32_t top = 10;
    bool json = false, no_bos = false, special = false;
    cli_context context;
    tl_opt opts[7 + CLI_CONTEXT_N_OPTS] = {
        {"-m", "--model", TL_OPT_STRING, &path, "FILE|NAME", "GGUF model file, or a model of the store (tinyllm list)",
         NULL, 0, 0},
        {"-p", "--prompt", TL_OPT_STRING, &prompt, "TEXT", "prompt text", NULL, 0, 0},
        {"-f", "--file", TL_OPT_STRING, &file, "FILE", "read the prompt from a file", NULL, 0, 0},
        {NULL, "--top", TL_OPT_INT, &top, "K", "how many logits to print (default 10)", NULL, 1, 1e9},
        {NULL, "--no-bos", TL_OPT_FLAG, &no_bos, "", "do not add the BOS token", NULL, 0, 0},
        {NULL, "--special", TL_OPT_FLAG, &special, "", "parse special tokens in the prompt", NULL, 0, 0},
        {NULL, "--json", TL_OPT_FLAG, &json, "", "print {\"tokens\": [...], \"top\": [[id, logit], ...]}", NULL, 0, 0},
    };
    cli_context_init(&context, opts + 7);
    const tl_command_spec spec = {"logits", "-m FILE (-p TEXT | -f FILE) [--top K] [--json] [context options]",
                                  "Evaluate a prompt and print the K largest logits at its last position.\n"
                                  "A prompt longer than the context (-c) is refused.",
                                  opts, (int)(sizeof opts / sizeof opts[0])};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 0, &n_pos);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (!path) {
        tl_cli_error("logits", "no model given: use -m FILE");
        return 1;
    }
    size_t len;
    char *text = cli_read_prompt("logits", prompt, file, &len);
    if (!text) return 1;

    int rc = 1;
    tl_error err = {0};
    tl_context *ctx = NULL;
    tl_token *tokens = NULL;
    scored *all = NULL;
    int32_t n = 0;
    tl_model *model = cli_load_model("logits", path, false);
    if (!model) goto done;
    tl_context_params cp;
    if (!cli_context_params(&context, "logits", &cp)) goto done;
    if (tl_context_new(model, &cp, &ctx, &err) != TL_OK) {
        tl_cli_error("logits", "%s", err.message);
        goto done;
    }
    bool too_long = false;
    tokens = cli_tokenize_prompt("logits", model, text, len, !no_bos, special, tl_context_size(ctx), &n, &too_long);
    if (too_long)
        tl_cli_error("logits", "the prompt is too long: more than %d tokens, more than the context size of %u (use -c)",
                     n, tl_context_size(ctx));
    if (!tokens) goto done;
    if (n == 0) {
        tl_cli_error("logits", "the prompt is empty (and no BOS token is added)");
        goto done;
    }
    if ((uint32_t)n > tl_context_size(ctx)) {
        tl_cli_error("logits", "the prompt has %d tokens, more than the context size of %u (use -c)", n,
                     tl_context_size(ctx));
        goto done;
    }
    if (!cli_evaluate_prompt("logits", model, ctx, tokens, n)) goto done;
    const float *logits = tl_get_logits(ctx, -1);
    const int32_t n_vocab = tl_vocab_size(model);
    if (!(all = malloc((size_t)n_vocab * sizeof *all))) goto done;
    for (int32_t i = 0; i < n_vocab; i++) all[i] = (scored){i, logits[i]};
    qsort(all, (size_t)n_vocab, sizeof *all, by_logit_desc);
    if (top > n_vocab) top = n_vocab;

    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "tokens", cJSON_CreateIntArray(tokens, n));
        cJSON *arr = cJSON_AddArrayToObject(root, "top");
        for (int32_t i = 0; i < top; i++) {
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, cJSON_CreateNumber(all[i].id));
            cJSON_AddItemToArray(pair, cJSON_CreateNumber(all[i].logit));
            cJSON_AddItemToArray(arr, pair);
        }
        char *out = cJSON_PrintUnformatted(root);
        if (out) printf("%s\n", out);
        free(out);
        cJSON_Delete(root);
    } else {
        for (int32_t i = 0; i < top; i++) {
            char piece[256];
            int32_t pn = tl_token_to_piece(model, all[i].id, true, piece, sizeof piece - 1);
            piece[pn > 0 ? pn : 0] = 0;
            printf("%8d %12.6f  '%s'\n", all[i].id, all[i].logit, piece);
        }
    }
    rc = 0;
done:
    free(all);
    free(tokens);
    tl_context_free(ctx);
    tl_model_free(model);
    free(text);
    return rc;
}
