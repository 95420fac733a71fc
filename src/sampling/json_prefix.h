/*
 * json_prefix.h — is this text the beginning of a JSON object? (json_prefix.c)
 *
 * A small pushdown automaton fed byte by byte: it rejects the first byte
 * that cannot continue a JSON object (RFC 8259 values inside, an object at
 * the root as Ollama's `format: "json"` asks) and tells when the root object
 * is complete. The state is a plain struct, so trying a token is copying it
 * and feeding the token's bytes: the JSON output constraint of the sampler
 * (json_constraint.c) does that for candidate tokens. Whitespace runs are
 * limited, and numbers too, so that a model cannot pad or count forever.
 */
#ifndef TL_SAMPLING_JSON_PREFIX_H
#define TL_SAMPLING_JSON_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_JSON_MAX_DEPTH 32  /* nesting of objects and arrays */
#define TL_JSON_MAX_SPACE 16  /* consecutive whitespace bytes between tokens */
#define TL_JSON_MAX_NUMBER 24 /* bytes of one number */

typedef struct tl_json_prefix {
    uint8_t containers[TL_JSON_MAX_DEPTH]; /* '{' or '[' per open level */
    uint8_t depth;
    uint8_t expect;  /* what may come next (json_prefix.c) */
    uint8_t step;    /* progress inside a literal, number or escape */
    uint8_t literal; /* which of true/false/null is being read */
    uint8_t spaces;  /* whitespace bytes in a row */
    uint8_t length;  /* bytes of the number being read */
    bool in_key;     /* the string being read is an object key */
    bool complete;   /* the root object is closed: nothing more may follow */
} tl_json_prefix;

void tl_json_prefix_init(tl_json_prefix *p);
/* Feeds bytes; false (and p left in an unspecified state) at the first byte
 * that cannot continue a JSON object. */
bool tl_json_prefix_feed(tl_json_prefix *p, const char *bytes, size_t n);

#endif /* TL_SAMPLING_JSON_PREFIX_H */
