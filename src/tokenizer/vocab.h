/*
 * vocab.h — the vocabulary and the tokenizers behind tl_tokenize.
 *
 * A tl_vocab is built from a GGUF file's tokenizer.ggml.* metadata. It owns a
 * copy of every token's text (so it outlives nothing but itself), the scores,
 * token types, the merge ranks (BPE) and the special-token ids.
 *
 * Tokenizer kinds (tokenizer.ggml.model):
 *   "llama"  SentencePiece-style: score-driven bigram merges, byte fallback,
 *            '▁' for spaces, a leading space added to the text.
 *   "gpt2"   byte-level BPE: a pre-tokenizer regex chosen by
 *            tokenizer.ggml.pre splits the text into words, each word's bytes
 *            are mapped to printable characters and merged by rank.
 *   "bert"   WordPiece: BERT's basic tokenizer splits (and lower-cases) the
 *            text into words, each cut greedily into the longest pieces;
 *            [CLS] ... [SEP] around the text with add_special.
 *   "t5"     Unigram: SentencePiece normalization (precompiled charsmap,
 *            '▁' for spaces), then the most probable segmentation (Viterbi
 *            over token log-probabilities); </s> appended with add_special.
 *
 * Special tokens (control / user-defined types) are recognised in the text
 * only when parse_special is set; user-defined tokens always are (as
 * llama.cpp does).
 */
#ifndef TL_VOCAB_H
#define TL_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/gguf.h"
#include "tinyllm.h"

/* tokenizer.ggml.token_type values */
typedef enum tl_token_type {
    TL_TOKEN_TYPE_UNDEFINED = 0,
    TL_TOKEN_TYPE_NORMAL = 1,
    TL_TOKEN_TYPE_UNKNOWN = 2,
    TL_TOKEN_TYPE_CONTROL = 3,
    TL_TOKEN_TYPE_USER_DEFINED = 4,
    TL_TOKEN_TYPE_UNUSED = 5,
    TL_TOKEN_TYPE_BYTE = 6,
} tl_token_type;

typedef enum tl_vocab_kind {
    TL_VOCAB_SPM, /* "llama" */
    TL_VOCAB_BPE, /* "gpt2" */
    TL_VOCAB_WPM, /* "bert" */
    TL_VOCAB_UGM, /* "t5" */
} tl_vocab_kind;

typedef struct tl_vocab tl_vocab;

/* The most tokens a vocabulary may have: 8x the largest real ones (Gemma 3:
 * 262,144), and small enough that building the tables stays fast. */
#define TL_VOCAB_MAX_TOKENS (1 << 21)

/* Build the vocabulary from the file's metadata. Errors name the key. */
tl_status tl_vocab_load(const gguf_file *f, tl_vocab **out, tl_error *err);
void tl_vocab_free(tl_vocab *v);

tl_vocab_kind tl_vocab_kind_of(const tl_vocab *v);
const char *tl_vocab_model_name(const tl_vocab *v); /* "llama", "gpt2", "bert", "t5" */
const char *tl_vocab_pre_name(const tl_vocab *v);   /* tokenizer.ggml.pre or "default" */
int32_t tl_vocab_n_tokens(const tl_vocab *v);
tl_token tl_vocab_bos(const tl_vocab *v); /* -1 when none */
tl_token tl_vocab_eos(const tl_vocab *v);
bool tl_vocab_add_bos(const tl_vocab *v);
bool tl_vocab_add_eos(const tl_vocab *v);
/* The separator ([SEP]; -1 when none) and whether to add it (BERT's pairs). */
tl_token tl_vocab_sep(const tl_vocab *v);
bool tl_vocab_add_sep(const tl_vocab *v);
bool tl_vocab_is_eog(const tl_vocab *v, tl_token t);
tl_token_type tl_vocab_token_type(const tl_vocab *v, tl_token t);
/* Raw token text as stored in the vocabulary (e.g. "▁the", "Ġthe"). */
const char *tl_vocab_token_text(const tl_vocab *v, tl_token t);

/* Same contracts as tl_tokenize / tl_token_to_piece / tl_detokenize in tinyllm.h. */
int32_t tl_vocab_tokenize(const tl_vocab *v, const char *text, size_t text_len, bool add_special, bool parse_special,
                          tl_token *tokens, int32_t max_tokens);
/* tl_vocab_tokenize for text that must fit in max_tokens: the same tokens
 * when it fits; TL_VOCAB_TOO_LONG as soon as it certainly does not (see
 * tl_tokenize_prompt); INT32_MIN when out of memory. */
#define TL_VOCAB_TOO_LONG (INT32_MIN + 1)
int32_t tl_vocab_tokenize_bounded(const tl_vocab *v, const char *text, size_t text_len, bool add_special,
                                  bool parse_special, tl_token *tokens, int32_t max_tokens);
int32_t tl_vocab_token_to_piece(const tl_vocab *v, tl_token t, bool special, char *buf, int32_t buf_size);
int32_t tl_vocab_detokenize(const tl_vocab *v, const tl_token *tokens, int32_t n_tokens, bool special,
                            bool remove_leading_space, char *buf, int32_t buf_size);

#endif /* TL_VOCAB_H */
