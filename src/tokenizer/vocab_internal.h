/*
 * vocab_internal.h — the inside of a tl_vocab, shared by the tokenizer's
 * files (loading, SentencePiece, BPE, WordPiece, Unigram, special-token
 * handling, pieces).
 *
 * Token attributes are llama.cpp's bit flags rather than the single
 * token_type of the file, because llama.cpp adjusts them at load (e.g. a
 * user-defined "<|fim_prefix|>" also becomes control) and the adjusted flags
 * decide how text is split and how tokens are printed.
 */
#ifndef TL_TOKENIZER_VOCAB_INTERNAL_H
#define TL_TOKENIZER_VOCAB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/byte_trie.h"
#include "tokenizer/charsmap.h"
#include "tokenizer/merge_queue.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/string_map.h"
#include "tokenizer/vocab.h"

enum {
    TL_ATTR_UNDEFINED = 0,
    TL_ATTR_UNKNOWN = 1 << 0,
    TL_ATTR_UNUSED = 1 << 1,
    TL_ATTR_NORMAL = 1 << 2,
    TL_ATTR_CONTROL = 1 << 3,
    TL_ATTR_USER_DEFINED = 1 << 4,
    TL_ATTR_BYTE = 1 << 5,
    TL_ATTR_LSTRIP = 1 << 7, /* swallow whitespace before it when split out */
    TL_ATTR_RSTRIP = 1 << 8, /* swallow whitespace after it */
};

typedef struct tl_token_info {
    float score;
    uint32_t attr;
} tl_token_info;

struct tl_vocab {
    tl_vocab_kind kind;
    char *model_name; /* tokenizer.ggml.model */
    char *pre_name;   /* tokenizer.ggml.pre, or "default" */

    int32_t n_tokens;
    tl_str *texts; /* texts[id]: NUL-terminated, in text_pool */
    char *text_pool;
    tl_token_info *info;
    tl_token_map text_to_id;

    /* BPE */
    tl_merge_map merges;
    char *merge_pool;
    tl_pretokenizer *pretokenizer;
    bool ignore_merges;

    /* The token each byte falls back to: <0xXX> (SPM) or the byte's
     * character (BPE); -1 if the vocabulary has none. */
    tl_token byte_token[256];

    tl_token bos, eos, eot, eom, unk, sep, pad, mask;
    tl_token fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;

    bool add_space_prefix;
    /* Text is put in Unicode NFC before it is tokenized (tokenizer.ggml.
     * normalizer, or the pre-tokenizer's default: Qwen2's). */
    bool nfc;
    bool add_bos, add_eos, add_sep;
    bool clean_spaces;

    /* WordPiece: BERT's normalizer options, and the trie of every token's
     * text, which finds the longest token at a position in one walk. Also
     * the longest token text in bytes, for every kind (no match can be
     * longer). */
    bool lowercase, strip_accents;
    tl_byte_trie wpm_tokens;
    size_t max_token_len;

    /* Unigram: SentencePiece's normalizer options (llama.cpp reads only
     * add_space_prefix and remove_extra_whitespaces from the file; the other
     * two keep their defaults), the precompiled charsmap, the trie of
     * tokens Viterbi may use and the trie of user-defined tokens that
     * normalization leaves alone, and the unknown token's score. */
    bool remove_extra_whitespaces, escape_whitespaces, treat_whitespace_as_suffix;
    tl_charsmap charsmap;
    tl_byte_trie ugm_tokens, ugm_user_defined;
    double ugm_unknown_score;

    /* Bounded tokenization (tl_vocab_tokenize_bounded): whether every byte
     * of text is sure to end up in some token (SentencePiece with byte
     * tokens or an unknown token; BPE with every byte's token and merges
     * that only make tokens), so that text of n bytes gives at least
     * n / max_token_len tokens; and whether a special token can swallow
     * whitespace (lstrip / rstrip), so that only other bytes count. */
    bool every_byte_in_a_token;
    bool special_strips_whitespace;

    /* End-of-generation tokens, sorted. */
    tl_token *eog;
    int32_t n_eog;

    /* Control, user-defined and unknown tokens, longest text first: the order
     * in which they are looked for in the text. */
    tl_token *special;
    int32_t n_special;
};

/* A growable list of token ids; `failed` records an out-of-memory. */
typedef struct tl_token_vec {
    tl_token *items;
    size_t count, capacity;
    bool failed;
} tl_token_vec;

void tl_token_vec_push(tl_token_vec *v, tl_token t);
void tl_token_vec_free(tl_token_vec *v);

static inline tl_token tl_vocab_find(const tl_vocab *v, const char *text, size_t len) {
    return tl_token_map_find(&v->text_to_id, text, len);
}

/* SentencePiece: tokenize text (spaces already turned into U+2581). */
void tl_spm_tokenize(const tl_vocab *v, const char *text, size_t len, tl_token_vec *out);

/* Byte-level BPE: pre-tokenize, map bytes, merge by rank. */
typedef struct tl_bpe_scratch {
    tl_span_vec words, pieces;
    char *encoded;
    size_t encoded_capacity;
    struct tl_bpe_symbol *symbols;
    size_t symbols_capacity;
    tl_merge_queue queue;
} tl_bpe_scratch;

void tl_bpe_tokenize(const tl_vocab *v, const char *text, size_t len, tl_bpe_scratch *scratch, tl_token_vec *out);
void tl_bpe_scratch_free(tl_bpe_scratch *scratch);

/* WordPiece: build the token trie (at load time); split into words, cut
 * each greedily into the longest tokens. */
tl_status tl_wpm_setup(tl_vocab *v, tl_error *err);
void tl_wpm_tokenize(const tl_vocab *v, const char *text, size_t len, tl_token_vec *out);

/* Unigram: load the charsmap and build the tries (at load time); normalize
 * and run Viterbi (at tokenization). */
tl_status tl_ugm_setup(tl_vocab *v, const gguf_file *f, tl_error *err);
void tl_ugm_free(tl_vocab *v);
void tl_ugm_tokenize(const tl_vocab *v, const char *text, size_t len, tl_token_vec *out);

/* Load-time fix-ups of special tokens (vocab_special.c): EOT/EOM/FIM ids
 * found by their text, attribute corrections, the EOG set and the
 * special-token search list. */
bool tl_vocab_setup_special(tl_vocab *v, const gguf_file *f);

#endif /* TL_TOKENIZER_VOCAB_INTERNAL_H */
