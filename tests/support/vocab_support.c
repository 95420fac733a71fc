/*
 * vocab_support.c — see vocab_support.h.
 */
#include "vocab_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tl_test_vocab tl_test_vocab_write(gguf_writer *w, const char *name) {
    tl_test_vocab l;
    memset(&l, 0, sizeof l);
    tl_error err = {0};
    const char *path = tl_test_tmp_path(name);
    if (gguf_writer_write(w, path, &err) != TL_OK) fail_msg("writing %s: %s", path, err.message);
    gguf_writer_free(w);
    if (gguf_open(path, &l.file, &err) != TL_OK) fail_msg("opening %s: %s", path, err.message);
    l.vocab = (tl_vocab *)&l; /* must be reset by the load */
    l.status = tl_vocab_load(l.file, &l.vocab, &l.err);
    remove(path);
    return l;
}

tl_test_vocab tl_test_vocab_load_ok(gguf_writer *w, const char *name) {
    tl_test_vocab l = tl_test_vocab_write(w, name);
    if (l.status != TL_OK) fail_msg("%s: %s", name, l.err.message);
    return l;
}

void tl_test_vocab_release(tl_test_vocab *l) {
    if (l->status == TL_OK) tl_vocab_free(l->vocab);
    gguf_close(l->file);
}

void tl_test_expect_tokens(const tl_vocab *v, const char *text, bool add_special, const tl_token *want,
                           int32_t n_want) {
    tl_token got[256];
    int32_t n = tl_vocab_tokenize(v, text, strlen(text), add_special, false, got, 256);
    bool same = n == n_want;
    for (int32_t i = 0; same && i < n; i++) same = got[i] == want[i];
    if (!same) {
        char msg[512];
        int k = snprintf(msg, sizeof msg, "'%s': got %d:", text, n);
        for (int32_t i = 0; i < n && k < 400; i++) k += snprintf(msg + k, sizeof msg - (size_t)k, " %d", got[i]);
        fail_msg("%s", msg);
    }
}

#define CASE(what, text)                                                                                               \
    { what, text, sizeof text - 1 }
const tl_test_bytes tl_test_invalid_utf8[] = {
    CASE("overlong '/' in 2 bytes", "a\xC0\xAF"
                                    "b"),
    CASE("overlong '/' in 3 bytes", "a\xE0\x80\xAF"
                                    "b"),
    CASE("overlong '/' in 4 bytes", "a\xF0\x80\x80\xAF"
                                    "b"),
    CASE("overlong NUL", "a\xC0\x80"
                         "b"),
    CASE("high surrogate U+D800", "a\xED\xA0\x80"
                                  "b"),
    CASE("low surrogate U+DFFF", "a\xED\xBF\xBF"
                                 "b"),
    CASE("surrogate pair in CESU-8", "a\xED\xA0\xBD\xED\xB8\x80"
                                     "b"),
    CASE("U+110000", "a\xF4\x90\x80\x80"
                     "b"),
    CASE("U+110000 alone", "\xF4\x90\x80\x80"),
    CASE("U+1FFFFF", "a\xF7\xBF\xBF\xBF"
                     "b"),
    CASE("5-byte form", "a\xF8\x88\x80\x80\x80"
                        "b"),
    CASE("6-byte form", "a\xFC\x84\x80\x80\x80\x80"
                        "b"),
    CASE("truncated 2-byte at the end", "ab\xC3"),
    CASE("truncated 3-byte", "a\xE2\x82"
                             "b"),
    CASE("truncated 4-byte", "a\xF0\x9F\x98"
                             "b"),
    CASE("truncated 4-byte at the end", "ab\xF0\x9F\x98"),
    CASE("lone continuation byte", "a\x80"
                                   "b"),
    CASE("continuation bytes only", "\xBF\xBF\x80\x80"),
    CASE("FE and FF", "a\xFE\xFF"
                      "b"),
    CASE("embedded NUL", "a\0b"),
    CASE("everything together", "\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80 x\xE2\x82 \x80\xFF\xF0\x9F\x98"),
};
#undef CASE
const size_t tl_test_n_invalid_utf8 = sizeof tl_test_invalid_utf8 / sizeof tl_test_invalid_utf8[0];

void tl_test_expect_invalid_utf8_tokenizes(const tl_vocab *v, const char *vocab_name) {
    const int32_t n_vocab = tl_vocab_n_tokens(v);
    for (size_t i = 0; i < tl_test_n_invalid_utf8; i++) {
        const tl_test_bytes *c = &tl_test_invalid_utf8[i];
        for (int special = 0; special < 2; special++) {
            tl_token got[64];
            int32_t n = tl_vocab_tokenize(v, c->bytes, c->len, special, special, got, 64);
            if (n < 0) fail_msg("%s: %s: tokenize returned %d", vocab_name, c->what, n);
            for (int32_t k = 0; k < n; k++)
                if (got[k] < 0 || got[k] >= n_vocab)
                    fail_msg("%s: %s: token %d out of range", vocab_name, c->what, got[k]);
        }
    }
}

int tl_test_bounded_mismatches(const tl_vocab *v, const char *name, const char *text, size_t len) {
    int mismatches = 0;
    const int32_t cap = (int32_t)(4 * len + 64);
    tl_token *full = malloc((size_t)cap * sizeof *full), *bounded = malloc((size_t)cap * sizeof *bounded);
    assert_non_null(full);
    assert_non_null(bounded);
    for (int k = 0; k < 4; k++) {
        const bool add_special = k & 1, parse_special = k & 2;
        const int32_t n = tl_vocab_tokenize(v, text, len, add_special, parse_special, full, cap);
        assert_true(n >= 0);
        const int32_t got = tl_vocab_tokenize_bounded(v, text, len, add_special, parse_special, bounded, n);
        const int32_t shorter =
            n > 0 ? tl_vocab_tokenize_bounded(v, text, len, add_special, parse_special, bounded + n, n - 1)
                  : TL_VOCAB_TOO_LONG;
        if (got != n || memcmp(full, bounded, (size_t)n * sizeof *full) != 0 || shorter != TL_VOCAB_TOO_LONG) {
            print_message("%s: bounded tokenization of '%.40s' (%zu bytes, special %d/%d): %d tokens, "
                          "bounded %d, one less %d\n",
                          name, text, len, add_special, parse_special, n, got, shorter);
            mismatches++;
        }
    }
    free(full);
    free(bounded);
    return mismatches;
}
