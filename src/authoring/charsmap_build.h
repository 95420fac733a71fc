/*
 * charsmap_build.h — writing a precompiled normalization map, the blob
 * (tokenizer.ggml.precompiled_charsmap) whose format src/tokenizer/charsmap.h
 * describes and reads, for the vocabularies the project builds itself.
 */
#ifndef TL_AUTHORING_CHARSMAP_BUILD_H
#define TL_AUTHORING_CHARSMAP_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

/* One rule for tl_charsmap_build: text `from` (non-empty) becomes `to`. */
typedef struct tl_charsmap_rule {
    const char *from;
    const char *to;
} tl_charsmap_rule;

/* Builds a blob in charsmap.h's format for the given rules (texts without
 * NUL bytes, no `from` twice). *blob is malloc'd. */
tl_status tl_charsmap_build(const tl_charsmap_rule *rules, size_t n_rules, uint8_t **blob, size_t *size, tl_error *err);

#endif /* TL_AUTHORING_CHARSMAP_BUILD_H */
