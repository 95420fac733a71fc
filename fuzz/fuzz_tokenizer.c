/*
 * fuzz_tokenizer.c — encode and decode one input with one vocabulary (see
 * fuzz_tokenizer.h). A broken contract aborts, which libFuzzer reports.
 */
#include "fuzz_tokenizer.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_DECODE_IDS 4096

static void check(bool ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "fuzz_tokenizer: broken contract: %s\n", what);
    abort();
}

/* tl_detokenize with a buffer grown to the size it asks for. */
static void decode_whole(const tl_model *model, const tl_token *tokens, int32_t n, bool special,
                         bool remove_leading_space) {
    char small[16];
    int32_t got = tl_detokenize(model, tokens, n, special, remove_leading_space, small, sizeof small);
    if (got >= 0) return;
    check(got != INT32_MIN, "tl_detokenize: text too long");
    char *buf = malloc((size_t)-got);
    check(buf != NULL, "out of memory");
    int32_t again = tl_detokenize(model, tokens, n, special, remove_leading_space, buf, -got);
    /* Clean-up of spaces may make the text shorter than the size asked for. */
    check(again >= 0 && again <= -got, "tl_detokenize: the size it asked for is not enough");
    free(buf);
}

static void decode_streaming(const tl_model *model, const tl_token *tokens, int32_t n, bool special) {
    tl_detokenizer *d = tl_detokenizer_new(model, special);
    if (!d) return;
    size_t len = 0;
    for (int32_t i = 0; i < n; i++) {
        const char *text = tl_detokenizer_push(d, tokens[i], &len);
        if (text && len) {
            volatile char last = text[len - 1];
            (void)last;
        }
    }
    tl_detokenizer_flush(d, &len);
    tl_detokenizer_free(d);
}

static void encode(const tl_model *model, const char *text, size_t len, bool add_special, bool parse_special,
                   bool special) {
    const int32_t n_vocab = tl_vocab_size(model);
    int32_t cap = (int32_t)(len < 64 ? 64 : len + 8);
    tl_token *tokens = malloc(sizeof *tokens * (size_t)cap);
    check(tokens != NULL, "out of memory");
    int32_t n = tl_tokenize(model, text, len, add_special, parse_special, tokens, cap);
    if (n < 0 && n != INT32_MIN) {
        const int32_t need = -n;
        free(tokens);
        tokens = malloc(sizeof *tokens * (size_t)need);
        check(tokens != NULL, "out of memory");
        n = tl_tokenize(model, text, len, add_special, parse_special, tokens, need);
        check(n == need, "tl_tokenize: the size it asked for is not enough");
    }
    for (int32_t i = 0; i < n; i++) check(tokens[i] >= 0 && tokens[i] < n_vocab, "tl_tokenize: id out of range");
    if (n > 0) {
        decode_whole(model, tokens, n, special, true);
        decode_streaming(model, tokens, n, special);
    }
    free(tokens);
}

static void decode(const tl_model *model, const uint8_t *data, size_t size, bool special, bool remove_leading_space) {
    const int64_t range = (int64_t)tl_vocab_size(model) + 16;
    int32_t n = (int32_t)(size / 3 < MAX_DECODE_IDS ? size / 3 : MAX_DECODE_IDS);
    tl_token *tokens = malloc(sizeof *tokens * (size_t)(n ? n : 1));
    check(tokens != NULL, "out of memory");
    for (int32_t i = 0; i < n; i++) {
        const uint32_t raw = (uint32_t)data[3 * i] | (uint32_t)data[3 * i + 1] << 8 | (uint32_t)data[3 * i + 2] << 16;
        tokens[i] = (tl_token)((int64_t)raw % range - 8);
    }
    decode_whole(model, tokens, n, special, remove_leading_space);
    decode_streaming(model, tokens, n, special);
    for (int32_t i = 0; i < n && i < 64; i++) {
        char piece[64];
        tl_token_to_piece(model, tokens[i], special, piece, sizeof piece);
    }
    free(tokens);
}

void fuzz_tokenizer_run(tl_model *const *models, int n_models, const uint8_t *data, size_t size) {
    if (size == 0 || n_models == 0) return;
    const uint8_t flags = data[0];
    const tl_model *model = models[(flags & 3) % n_models];
    data++;
    size--;
    const bool special = flags & 32;
    if (flags & 4)
        decode(model, data, size, special, flags & 64);
    else
        encode(model, (const char *)data, size, flags & 8, flags & 16, special);
}
