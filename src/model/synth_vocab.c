/*
 * synth_vocab.c — placeholder until the tokenizer work lands (see synth_vocab.h).
 */
#include "model/synth_vocab.h"

#include "util/error.h"

tl_status tl_synth_vocab_from_hf(gguf_writer *w, const char *path, uint64_t *n_vocab,
                                 tl_error *err) {
    (void)w;
    *n_vocab = 0;
    return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: tokenizer.json import is not implemented yet", path);
}

tl_status tl_synth_vocab_unigram(gguf_writer *w, uint32_t n_vocab, tl_error *err) {
    (void)w;
    (void)n_vocab;
    return tl_fail(err, TL_ERR_UNSUPPORTED, "Unigram vocabularies are not implemented yet");
}
