/*
 * detokenizer.c — streaming token → text whose every piece is valid UTF-8:
 * the bytes of a character split across tokens are held back until the
 * tokens that complete it arrive, and bytes that can never form a character
 * (a byte token's stray 0xAA, a lead byte followed by a non-continuation)
 * become U+FFFD, one per maximal ill-formed subsequence, as WHATWG decoders,
 * Hugging Face's decode(errors="replace") and llama-server do. An incomplete
 * character still held at the end (a reply cut by its token limit) is
 * flushed as one U+FFFD.
 */
#include <stdlib.h>
#include <string.h>

#include "tinyllm.h"
#include "tokenizer/utf8.h"
#include "util/buffer.h"

#define HELD_MAX 4 /* bytes of an incomplete character: at most 3 */

struct tl_detokenizer {
    const tl_model *model;
    bool special;
    char held[HELD_MAX]; /* the start of a character still incomplete */
    size_t n_held;
    char *raw; /* held bytes + the latest token's piece */
    size_t raw_cap;
    char *out; /* the valid text handed out by the last call */
    size_t out_cap;
};

tl_detokenizer *tl_detokenizer_new(const tl_model *model, bool special) {
    tl_detokenizer *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->model = model;
    d->special = special;
    return d;
}

void tl_detokenizer_free(tl_detokenizer *d) {
    if (!d) return;
    free(d->raw);
    free(d->out);
    free(d);
}

static bool grow(char **buf, size_t *cap, size_t need) {
    char *grown = tl_grow(*buf, cap, need, 1, 64);
    if (!grown) return false;
    *buf = grown;
    return true;
}

/* Turns raw[0..n) into valid text in d->out; keeps an incomplete end in
 * d->held unless `final`. Returns the text's length (0 when out of memory). */
static size_t sanitize(tl_detokenizer *d, size_t n, bool final) {
    if (!grow(&d->out, &d->out_cap, 3 * n + 1)) return 0;
    size_t used = 0;
    const size_t len = tl_utf8_sanitize(d->raw, n, final, d->out, &used);
    d->n_held = n - used; /* < HELD_MAX: tl_utf8_strict stops an incomplete character at 3 bytes */
    memcpy(d->held, d->raw + used, d->n_held);
    d->out[len] = 0;
    return len;
}

const char *tl_detokenizer_push(tl_detokenizer *d, tl_token token, size_t *len) {
    *len = 0;
    int32_t n = tl_token_to_piece(d->model, token, d->special, NULL, 0);
    if (n < 0) n = -n;
    if (!grow(&d->raw, &d->raw_cap, d->n_held + (size_t)n + 1)) return "";
    memcpy(d->raw, d->held, d->n_held);
    int32_t got = n > 0 ? tl_token_to_piece(d->model, token, d->special, d->raw + d->n_held, n) : 0;
    if (got < 0) got = 0;
    *len = sanitize(d, d->n_held + (size_t)got, false);
    return d->out ? d->out : "";
}

const char *tl_detokenizer_flush(tl_detokenizer *d, size_t *len) {
    *len = 0;
    if (d->n_held == 0 || !grow(&d->raw, &d->raw_cap, d->n_held)) return "";
    memcpy(d->raw, d->held, d->n_held);
    *len = sanitize(d, d->n_held, true);
    d->n_held = 0;
    return d->out ? d->out : "";
}
