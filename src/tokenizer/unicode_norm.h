/*
 * unicode_norm.h — the Unicode normalization forms the tokenizers need,
 * in linear time whatever the text:
 *   - NFD as code points, for BERT's accent stripping (wpm.c);
 *   - NFC of UTF-8 text, for the vocabularies whose Hugging Face
 *     tokenizer.json declares an NFC normalizer (Qwen2, Qwen2.5, Qwen3):
 *     decomposed text ("e" + U+0301) gives the tokens of its composed form.
 * Decompositions, combining classes and compositions come from utf8proc;
 * the canonical ordering is done here, because utf8proc's takes time
 * quadratic in the length of a run of marks.
 */
#ifndef TL_TOKENIZER_UNICODE_NORM_H
#define TL_TOKENIZER_UNICODE_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable list of code points; `failed` records an out-of-memory. */
typedef struct tl_codepoints {
    int32_t *items;
    size_t count, capacity;
    bool failed;
} tl_codepoints;

void tl_codepoints_push(tl_codepoints *l, int32_t cp);
/* Appends cp's full canonical decomposition (cp itself if it has none). */
void tl_codepoints_push_decomposed(tl_codepoints *l, int32_t cp);
/* Canonical ordering: each run of marks sorted stably by combining class. */
void tl_codepoints_canonical_order(tl_codepoints *l);
void tl_codepoints_free(tl_codepoints *l);

/* A growable byte buffer. */
typedef struct tl_text_buffer {
    char *data;
    size_t length, capacity;
} tl_text_buffer;

/* Appends the NFC form of text[0..len) to out. Bytes that are not valid
 * UTF-8 are copied unchanged, and the valid stretches between them are
 * normalized each on its own. false when out of memory. */
bool tl_nfc_append(const char *text, size_t len, tl_text_buffer *out);

/* NFC shortens text at most this many times (a precomposed character of 3
 * bytes stands for at most 4 code points of up to 3 bytes; Hangul: 9 → 3):
 * bounds on token counts from byte lengths divide by it. */
#define TL_NFC_MAX_SHRINK 4

#endif /* TL_TOKENIZER_UNICODE_NORM_H */
