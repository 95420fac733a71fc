/*
 * nfc.h — Unicode Normalization Form C for the vocabularies whose Hugging
 * Face tokenizer.json declares an NFC normalizer (Qwen2, Qwen2.5, Qwen3):
 * decomposed text ("e" + U+0301) gives the tokens of its composed form.
 */
#ifndef TL_TOKENIZER_NFC_H
#define TL_TOKENIZER_NFC_H

#include <stdbool.h>
#include <stddef.h>

/* A growable byte buffer the result is appended to. */
typedef struct tl_nfc_buffer {
    char *data;
    size_t length, capacity;
} tl_nfc_buffer;

/* Appends the NFC form of text[0..len) to out. Bytes that are not valid
 * UTF-8 are copied unchanged, and the valid stretches between them are
 * normalized each on its own. false when out of memory. */
bool tl_nfc_append(const char *text, size_t len, tl_nfc_buffer *out);

/* NFC shortens text at most this many times (a precomposed character of 3
 * bytes stands for at most 4 code points of up to 3 bytes; Hangul: 9 → 3):
 * bounds on token counts from byte lengths divide by it. */
#define TL_NFC_MAX_SHRINK 4

#endif /* TL_TOKENIZER_NFC_H */
