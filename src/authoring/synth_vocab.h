/*
 * synth_vocab.h — vocabularies for random-weight models that do not come
 * from an existing GGUF file.
 *
 * synth.c copies the tokenizer.* keys of a ggml-vocab GGUF when it has one.
 * Two other sources are built here:
 *   - a Hugging Face tokenizer.json of a SentencePiece-style BPE model with
 *     byte fallback (Gemma 3, Llama 2), converted to the keys llama.cpp's
 *     converter writes for it (tokenizer.ggml.model = "llama");
 *   - a deterministic Unigram vocabulary (tokenizer.ggml.model = "t5") that
 *     the project builds itself, since no T5 vocabulary file is at hand.
 */
#ifndef TL_AUTHORING_SYNTH_VOCAB_H
#define TL_AUTHORING_SYNTH_VOCAB_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "authoring/gguf_writer.h"
#include "tinyllm.h"

/* Parses the JSON file at path into *json; with `optional`, a missing file
 * gives TL_OK and *json NULL. Shared with the converter (convert_hf.c). */
tl_status tl_hf_json_file(const char *path, bool optional, cJSON **json, tl_error *err);

/* Writes the tokenizer.* keys converted from the tokenizer.json at `path`.
 * *n_vocab receives the number of tokens. */
tl_status tl_synth_vocab_from_hf(gguf_writer *w, const char *path, uint64_t *n_vocab, tl_error *err);

/* What tl_hf_vocab_import may do beyond tl_synth_vocab_from_hf. */
typedef struct tl_hf_vocab_options {
    bool byte_level;           /* also GPT-2 style byte-level BPE ("gpt2" keys; the caller sets .pre) */
    bool word_piece;           /* also WordPiece ("bert" keys; the caller sets .pre) */
    bool unigram;              /* also Unigram (SentencePiece, T5: "t5" keys) */
    uint64_t n_vocab;          /* pad with "[PAD<i>]" unused tokens up to this many (config.json's
                                  vocab_size); 0: the file's tokens */
    const cJSON *model_config; /* config.json: <kind>_token_id where the tokenizer files name none */
} tl_hf_vocab_options;

typedef struct tl_hf_vocab_info {
    uint64_t n_vocab; /* tokens written */
    bool byte_level;  /* the vocabulary is "gpt2" */
    bool word_piece;  /* the vocabulary is "bert" */
    bool unigram;     /* the vocabulary is "t5" */
} tl_hf_vocab_info;

/* tl_synth_vocab_from_hf with options, for `tinyllm convert`. */
tl_status tl_hf_vocab_import(gguf_writer *w, const char *path, const tl_hf_vocab_options *options,
                             tl_hf_vocab_info *info, tl_error *err);

/* Writes the tokenizer.* keys of the project's Unigram (T5-style) vocabulary
 * of exactly n_vocab tokens (pad 0, eos 1, unk 2, as T5). The same n_vocab
 * gives the same vocabulary on every platform. */
tl_status tl_synth_vocab_unigram(gguf_writer *w, uint32_t n_vocab, tl_error *err);

#endif /* TL_AUTHORING_SYNTH_VOCAB_H */
