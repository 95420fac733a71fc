/*
 * fuzz_tokenizer.h — the body the four tokenizer targets share
 * (fuzz_tokenizer.c); each target only picks its vocabularies
 * (fuzz_tok_spm.c, fuzz_tok_bpe.c, fuzz_tok_wpm.c, fuzz_tok_ugm.c).
 *
 * Input: a first byte of flags, then text or token ids.
 *   bits 0-1  which of the target's vocabularies (modulo their number)
 *   bit 2     decode (the rest is token ids, 3 bytes little-endian each,
 *             mapped to -8 .. n_vocab+7 so invalid ids come up) instead of
 *             encode (the rest is text)
 *   bit 3     add_special      bit 4  parse_special
 *   bit 5     special (decode: print control tokens)
 *   bit 6     remove_leading_space (decode)
 * Encoding checks the tokenizer's contract: ids within the vocabulary, and a
 * buffer of the size asked for after a "too small" answer is enough. The
 * tokens are then decoded whole and through the streaming detokenizer.
 */
#ifndef TL_FUZZ_TOKENIZER_H
#define TL_FUZZ_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

void fuzz_tokenizer_run(tl_model *const *models, int n_models, const uint8_t *data, size_t size);

#endif /* TL_FUZZ_TOKENIZER_H */
