/*
 * cmd_tokenize.c — `tinyllm tokenize` and `tinyllm detokenize`: the
 * tokenizer on its own, for checking vocabularies by hand and in tests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_tokenize(int argc, char **argv) {
    const char *path = NULL, *file = NULL, *prompt = NULL;
    bool no_bos = false, special = false;
    const tl_opt opts[] = {
        {"-m", "--model", TL_OPT_STRING, &path, "FILE|NAME",
         "GGUF model (or vocabulary-only) file, or a model of the store", NULL, 0, 0},
        {"-p", "--prompt", TL_OPT_STRING, &prompt, "TEXT", "the text to tokenize (or give it as TEXT)", NULL, 0, 0},
        {"-f", "--file", TL_OPT_STRING, &file, "FILE", "tokenize the contents of a file (- reads stdin)", NULL, 0, 0},
        {NULL, "--no-bos", TL_OPT_FLAG, &no_bos, "", "do not add BOS/EOS as the vocabulary asks", NULL, 0, 0},
        {NULL, "--special", TL_OPT_FLAG, &special, "", "recognise special tokens written in the text", NULL, 0, 0},
    };
    const tl_command_spec spec = {"tokenize", "-m FILE [--no-bos] [--special] (TEXT | -p TEXT | -f FILE)",
                                  "Print the token ids of the text, separated by spaces.", opts,
                                  (int)(sizeof opts / sizeof opts[0])};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 1, &n_pos);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;

    if (n_pos && prompt) {
        tl_cli_error("tokenize", "give the text once: as TEXT or with -p, not both");
        return 1;
    }
    size_t len;
    char *text = cli_read_prompt("tokenize", n_pos ? positional[0] : prompt, file, &len);
    if (!text) return 1;
    tl_model *model = cli_load_model("tokenize", path, true);
    int rc = 1;
    int32_t n = 0;
    tl_token *tokens = model ? cli_tokenize("tokenize", model, text, len, !no_bos, special, &n) : NULL;
    if (tokens) {
        for (int32_t i = 0; i < n; i++) printf(i ? " %d" : "%d", tokens[i]);
        printf("\n");
        rc = 0;
    }
    free(tokens);
    tl_model_free(model);
    free(text);
    return rc;
}

int cmd_detokenize(int argc, char **argv) {
    const char *path = NULL;
    bool special = false;
    const tl_opt opts[] = {
        {"-m", "--model", TL_OPT_STRING, &path, "FILE|NAME",
         "GGUF model (or vocabulary-only) file, or a model of the store", NULL, 0, 0},
        {NULL, "--special", TL_OPT_FLAG, &special, "", "print the text of control tokens too", NULL, 0, 0},
    };
    const tl_command_spec spec = {"detokenize", "-m FILE [--special] ID...",
                                  "Print the text that token ids stand for (no newline is added).", opts, 2};
    enum { MAX_IDS = 1 << 16 };
    const char **positional = malloc(MAX_IDS * sizeof *positional);
    tl_token *ids = malloc(MAX_IDS * sizeof *ids);
    int n_pos = 0, rc = 1;
    tl_model *model = NULL;
    char *text = NULL;
    if (!positional || !ids) goto done;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, MAX_IDS, &n_pos);
    if (r != TL_ARGS_OK) {
        rc = r == TL_ARGS_HELP ? 0 : 1;
        goto done;
    }
    if (!(model = cli_load_model("detokenize", path, true))) goto done;
    const int32_t n_vocab = tl_vocab_size(model);
    for (int i = 0; i < n_pos; i++) {
        char *end;
        errno = 0;
        long v = strtol(positional[i], &end, 10);
        if (errno || end == positional[i] || *end || v < 0 || v >= n_vocab) {
            tl_cli_error("detokenize", "'%s' is not a token id of this vocabulary (0..%d)", positional[i], n_vocab - 1);
            goto done;
        }
        ids[i] = (tl_token)v;
    }
    int32_t need = tl_detokenize(model, ids, n_pos, special, false, NULL, 0);
    int32_t cap = need < 0 ? -need : need;
    text = malloc((size_t)cap + 1);
    if (!text) goto done;
    int32_t got = tl_detokenize(model, ids, n_pos, special, false, text, cap);
    if (got < 0) {
        tl_cli_error("detokenize", "detokenization failed");
        goto done;
    }
    cli_write(text, (size_t)got);
    rc = 0;
done:
    free(text);
    tl_model_free(model);
    free(ids);
    free(positional);
    return rc;
}
