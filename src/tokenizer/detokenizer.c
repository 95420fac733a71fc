/*
 * detokenizer.c — streaming token → text that never splits a UTF-8
 * character: bytes of an incomplete character at the end are held back until
 * the tokens that complete it arrive.
 */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

struct tl_detokenizer {
    const tl_model *model;
    bool special;
    char *buf;       /* pending bytes; [0, emitted) already handed out */
    size_t len, cap;
    size_t emitted;
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
    free(d->buf);
    free(d);
}

static bool reserve(tl_detokenizer *d, size_t extra) {
    if (d->len + extra <= d->cap) return true;
    size_t cap = d->cap ? d->cap : 64;
    while (cap < d->len + extra) cap *= 2;
    char *grown = realloc(d->buf, cap);
    if (!grown) return false;
    d->buf = grown;
    d->cap = cap;
    return true;
}

/* Length of the prefix of s[0..n) that does not end inside a UTF-8 sequence
 * which could still be completed. Invalid bytes are passed through. */
static size_t complete_prefix(const unsigned char *s, size_t n) {
    /* Look back at most 3 bytes for the lead byte of the last sequence. */
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = s[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation byte: keep looking */
        size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
        if (c >= 0xF5) need = 1;
        return back < need ? n - back : n;
    }
    return n;
}

const char *tl_detokenizer_push(tl_detokenizer *d, tl_token token, size_t *len) {
    /* Drop what was handed out last time. */
    if (d->emitted) {
        memmove(d->buf, d->buf + d->emitted, d->len - d->emitted);
        d->len -= d->emitted;
        d->emitted = 0;
    }
    char small[64];
    int32_t n = tl_token_to_piece(d->model, token, d->special, small, sizeof small);
    if (n < 0) {
        if (reserve(d, (size_t)-n))
            n = tl_token_to_piece(d->model, token, d->special, d->buf + d->len, -n);
        if (n > 0) d->len += (size_t)n;
    } else if (n > 0 && reserve(d, (size_t)n)) {
        memcpy(d->buf + d->len, small, (size_t)n);
        d->len += (size_t)n;
    }
    d->emitted = complete_prefix((const unsigned char *)d->buf, d->len);
    *len = d->emitted;
    return d->buf ? d->buf : "";
}

const char *tl_detokenizer_flush(tl_detokenizer *d, size_t *len) {
    const char *out = d->buf ? d->buf + d->emitted : "";
    *len = d->len - d->emitted;
    d->len = d->emitted = 0;
    return out;
}
