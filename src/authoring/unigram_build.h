/*
 * unigram_build.h — the project's own Unigram ("t5") vocabulary, for
 * random-weight T5-style models (no real T5 vocabulary file is at hand).
 * See unigram_build.c for how the pieces and scores are chosen.
 */
#ifndef TL_AUTHORING_UNIGRAM_BUILD_H
#define TL_AUTHORING_UNIGRAM_BUILD_H

#include <stdint.h>

#include "authoring/gguf_writer.h"
#include "tinyllm.h"

/* Writes the tokenizer.* keys of a vocabulary of exactly n_vocab tokens:
 * <pad> 0, </s> 1, <unk> 2, the pieces, and <extra_id_N> at the end. The
 * same n_vocab gives the same bytes on every platform. Fails with
 * TL_ERR_ARGUMENT when n_vocab is too small to hold every character. */
tl_status tl_unigram_vocab_write(gguf_writer *w, uint32_t n_vocab, tl_error *err);

#endif /* TL_AUTHORING_UNIGRAM_BUILD_H */
