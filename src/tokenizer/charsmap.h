/*
 * charsmap.h — SentencePiece's precompiled normalization map
 * (tokenizer.ggml.precompiled_charsmap), used by Unigram ("t5") vocabularies.
 *
 * The blob is what SentencePiece stores in normalizer_spec.precompiled_charsmap:
 *
 *   uint32 (little-endian)  n = size in bytes of the double array
 *   n bytes                 the double array: n / 4 little-endian uint32 units
 *   the rest                replacement strings, each ending with a NUL
 *
 * The double array is a darts-clone "XOR-compressed" trie over the UTF-8 bytes
 * of the texts to replace. Each unit packs
 *   bits 0-7   the label (the byte leading to this unit),
 *   bit 8      "has leaf": a key ends here, its value unit is at base ^ 0,
 *   bit 9      the offset below is stored divided by 256,
 *   bits 10-30 the offset: this unit's children are at (index ^ offset ^ byte),
 *   bit 31     set on value units, whose bits 0-30 are the offset of the
 *              replacement string (so a value unit never matches a label).
 * The root is unit 0. The longest key that is a prefix of the text wins.
 *
 * A map is checked completely when it is loaded: every unit a lookup can
 * reach is in the array and every replacement offset names a NUL-terminated
 * string, so lookups never read out of bounds whatever the input text.
 */
#ifndef TL_TOKENIZER_CHARSMAP_H
#define TL_TOKENIZER_CHARSMAP_H

#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

typedef struct tl_charsmap {
    uint32_t *units; /* the double array, decoded to host order */
    size_t n_units;
    char *strings; /* the replacement strings */
    size_t strings_size;
} tl_charsmap;

/* Decode and check a blob (copied; the caller keeps its own). An empty
 * double array is allowed and replaces nothing. Errors name `key`. */
tl_status tl_charsmap_init(tl_charsmap *map, const void *blob, size_t size, const char *key, tl_error *err);
void tl_charsmap_free(tl_charsmap *map);

/* The longest key that starts text[0..len): returns its length in bytes (0
 * when none) and points *replacement at its NUL-terminated replacement. A
 * NUL byte in the text ends the match, as in SentencePiece. */
size_t tl_charsmap_match(const tl_charsmap *map, const char *text, size_t len, const char **replacement,
                         size_t *replacement_len);

#endif /* TL_TOKENIZER_CHARSMAP_H */
