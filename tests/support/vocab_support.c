/*
 * vocab_support.c — see vocab_support.h.
 */
#include "vocab_support.h"

#include <stdio.h>
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
