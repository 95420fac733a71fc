/*
 * pretokenize.h — the word splitters of byte-level BPE vocabularies
 * (tokenizer.ggml.pre), as llama.cpp defines them.
 *
 * Each pre-tokenizer is an ordered list of regular expressions. The text
 * starts as one piece; each expression in turn splits every piece into its
 * matches and the unmatched text between them. The expressions are
 * llama.cpp's, compiled once with PCRE2 (UTF + Unicode properties) and
 * rewritten where llama.cpp's own regex engine behaves differently from
 * PCRE2 (see pretokenize.c). A compiled pre-tokenizer is read-only and can
 * be used by many threads at once.
 *
 * The table also carries the per-vocabulary defaults llama.cpp attaches to
 * each pre-tokenizer name (add BOS, ignore merges, clean up spaces, ...).
 */
#ifndef TL_TOKENIZER_PRETOKENIZE_H
#define TL_TOKENIZER_PRETOKENIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "tinyllm.h"

/* A piece of text: [offset, offset + length). */
typedef struct tl_span {
    size_t offset;
    size_t length;
} tl_span;

typedef struct tl_span_vec {
    tl_span *items;
    size_t count, capacity;
} tl_span_vec;

bool tl_span_vec_push(tl_span_vec *v, size_t offset, size_t length);
void tl_span_vec_free(tl_span_vec *v);

/* What a pre-tokenizer name implies for the vocabulary (llama.cpp's
 * defaults; GGUF keys may still override add_bos). */
typedef struct tl_pre_defaults {
    bool ignore_merges; /* a word that is a whole token is not merged */
    bool add_bos;
    bool clean_spaces; /* detokenize removes " ." style spaces */
    bool add_sep;
    bool no_bos; /* the default BOS id is "none" */
    bool nfc;    /* text is put in NFC first (the normalizer of the model's tokenizer.json) */
} tl_pre_defaults;

typedef struct tl_pretokenizer tl_pretokenizer;

/* Build the pre-tokenizer named `name` (NULL or "" = llama.cpp's default).
 * An unknown or unsupported name fails with TL_ERR_UNSUPPORTED naming it. */
tl_status tl_pretokenizer_new(const char *name, tl_pretokenizer **out, tl_pre_defaults *defaults, tl_error *err);
void tl_pretokenizer_free(tl_pretokenizer *p);

/* Split text[0..len) into words, appended to *words. `scratch` is working
 * space the caller keeps between calls. False on out-of-memory. */
bool tl_pretokenize(const tl_pretokenizer *p, const char *text, size_t len, tl_span_vec *words, tl_span_vec *scratch);

#endif /* TL_TOKENIZER_PRETOKENIZE_H */
