/*
 * cli_common.c — helpers shared by the commands: loading a model, reading the
 * prompt, tokenizing with a growing buffer, streaming output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/buffer.h"
#include "util/limits.h"

tl_model *cli_load_model(const char *command, const char *ref, bool vocab_only) {
    char *path = cli_model_path(command, ref);
    if (!path) return NULL;
    tl_model_params params = tl_model_default_params();
    params.vocab_only = vocab_only;
    tl_model *model = NULL;
    tl_error err = {0};
    if (tl_model_load(path, &params, &model, &err) != TL_OK) tl_cli_error(command, "%s", err.message);
    free(path);
    return model;
}

char *cli_read_prompt(const char *command, const char *text, const char *file, size_t *len) {
    if (text && file) {
        tl_cli_error(command, "give the prompt with -p or -f, not both");
        return NULL;
    }
    if (text) {
        *len = strlen(text);
        char *copy = malloc(*len + 1);
        if (copy) memcpy(copy, text, *len + 1);
        return copy;
    }
    if (!file) {
        tl_cli_error(command, "no prompt given: use -p TEXT or -f FILE");
        return NULL;
    }
    return cli_read_file(command, "prompt", file, len);
}

char *cli_read_file(const char *command, const char *what, const char *path, size_t *len) {
    const bool is_stdin = strcmp(path, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp) {
        tl_cli_error(command, "cannot open %s file '%s': %s", what, path, strerror(errno));
        return NULL;
    }
    tl_buf buf = {0};
    bool out_of_memory = false;
    size_t got;
    do {
        /* room for at least 4 KiB more; the buffer doubles as it fills */
        if (!tl_buf_reserve(&buf, 4096)) {
            out_of_memory = true;
            break;
        }
        got = fread(buf.data + buf.len, 1, buf.cap - buf.len - 1, fp);
        buf.len += got;
    } while (got > 0);
    const bool failed = ferror(fp);
    if (!is_stdin) fclose(fp);
    if (out_of_memory || failed) {
        tl_buf_free(&buf);
        tl_cli_error(command, "cannot read %s file '%s'%s", what, path, out_of_memory ? ": out of memory" : "");
        return NULL;
    }
    buf.data[buf.len] = 0;
    *len = buf.len;
    return tl_buf_take(&buf);
}

tl_token *cli_tokenize(const char *command, const tl_model *model, const char *text, size_t len, bool add_special,
                       bool parse_special, int32_t *n) {
    int32_t cap = (int32_t)(len < TL_TOKENS_FIRST_GUESS_MAX ? len : TL_TOKENS_FIRST_GUESS_MAX) + 8;
    tl_token *tokens = malloc((size_t)cap * sizeof *tokens);
    if (!tokens) {
        tl_cli_error(command, "out of memory tokenizing the prompt");
        return NULL;
    }
    int32_t got = tl_tokenize(model, text, len, add_special, parse_special, tokens, cap);
    if (got < 0) {
        tl_token *grown = realloc(tokens, (size_t)-got * sizeof *tokens);
        if (!grown) {
            free(tokens);
            tl_cli_error(command, "out of memory tokenizing the prompt");
            return NULL;
        }
        tokens = grown;
        got = tl_tokenize(model, text, len, add_special, parse_special, tokens, -got);
    }
    if (got < 0) {
        free(tokens);
        tl_cli_error(command, "tokenization failed");
        return NULL;
    }
    *n = got;
    return tokens;
}

int32_t cli_prompt_limit(uint32_t n_ctx) {
    return n_ctx > (uint32_t)(INT32_MAX / 4) ? INT32_MAX : (int32_t)(4 * n_ctx);
}

tl_token *cli_tokenize_prompt(const char *command, const tl_model *model, const char *text, size_t len,
                              bool add_special, bool parse_special, uint32_t n_ctx, int32_t *n, bool *too_long) {
    const int32_t limit = cli_prompt_limit(n_ctx);
    *too_long = false;
    /* Room for about one token a byte first; the whole limit only when a
     * normalizer made more (Unigram's charsmap can). */
    int32_t cap = len + 16 < (size_t)limit ? (int32_t)(len + 16) : limit;
    tl_error err = {0};
    for (;;) {
        tl_token *tokens = malloc(((size_t)cap + 1) * sizeof *tokens);
        if (!tokens) {
            tl_cli_error(command, "out of memory tokenizing the prompt");
            return NULL;
        }
        tl_status st = tl_tokenize_prompt(model, text, len, add_special, parse_special, tokens, cap, n, &err);
        if (st == TL_OK) return tokens;
        free(tokens);
        if (st == TL_ERR_CONTEXT_FULL && cap < limit) {
            cap = limit;
            continue;
        }
        if (st == TL_ERR_CONTEXT_FULL) {
            *too_long = true;
            *n = limit;
        } else {
            tl_cli_error(command, "%s", err.message);
        }
        return NULL;
    }
}

void cli_write(const char *s, size_t n) {
    if (n) fwrite(s, 1, n, stdout);
    fflush(stdout);
}

static bool cache_type(const char *command, const char *flag, const char *name, uint32_t *out) {
    if (!name) return true;
    int32_t t = tl_type_from_name(name);
    if (t != 0 && t != 1 && t != 8) {
        tl_cli_error(command, "%s must be f32, f16 or q8_0, got '%s'", flag, name);
        return false;
    }
    *out = (uint32_t)t;
    return true;
}

bool cli_cache_types(const char *command, const char *type_k, const char *type_v, tl_context_params *params) {
    return cache_type(command, "--cache-type-k", type_k, &params->type_k) &&
           cache_type(command, "--cache-type-v", type_v, &params->type_v);
}

bool cli_evaluate_prompt(const char *command, const tl_model *model, tl_context *ctx, const tl_token *prompt,
                         int32_t n_prompt) {
    tl_error err = {0};
    if (!(tl_model_has_encoder(model) && tl_model_has_decoder(model))) {
        if (tl_decode(ctx, prompt, n_prompt, 0, false, &err) == TL_OK) return true;
        tl_cli_error(command, "%s", err.message);
        return false;
    }
    const tl_token start = tl_model_decoder_start_token(model);
    if (start < 0) {
        tl_cli_error(command, "the model has no decoder start token (and no BOS token to use instead)");
        return false;
    }
    if (tl_encode(ctx, prompt, n_prompt, &err) == TL_OK && tl_decode(ctx, &start, 1, 0, false, &err) == TL_OK)
        return true;
    tl_cli_error(command, "%s", err.message);
    return false;
}

bool cli_parse_positional(const tl_command_spec *spec, int argc, char **argv, const char ***positional, int *n,
                          int *rc) {
    *n = 0;
    *positional = malloc((size_t)(argc > 0 ? argc : 1) * sizeof **positional);
    if (!*positional) {
        tl_cli_error(spec->name, "out of memory");
        *rc = 1;
        return false;
    }
    const tl_args_result r = tl_args_parse(spec, argc, argv, *positional, argc, n);
    if (r == TL_ARGS_OK) return true;
    free(*positional);
    *positional = NULL;
    *rc = r == TL_ARGS_HELP ? 0 : 1;
    return false;
}
