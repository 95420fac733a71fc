/*
 * chunk.h — splitting a text into chunks of at most N tokens with overlap.
 *
 * The chunker never sees tokens itself: it asks a counting function how many
 * tokens a span of the text gives (with a limit, so that counting costs in
 * proportion to the chunk size, not the text's: a 10 MB line is cut in
 * bounded time and memory). Each chunk ends at the last paragraph break,
 * else sentence end, else word boundary that fits in the second half of the
 * longest span that fits, else at the longest span (never inside a UTF-8
 * character); the next one starts about `overlap` tokens earlier, on a word.
 */
#ifndef TL_SEARCH_CHUNK_H
#define TL_SEARCH_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tokens of text[0..len): the count if at most limit, limit + 1 if more,
 * negative on an error. */
typedef int32_t (*tl_chunk_count_fn)(void *user, const char *text, size_t len, int32_t limit);

typedef struct tl_chunk {
    size_t start, end;             /* bytes [start, end) of the text; no leading or trailing whitespace */
    int64_t first_line, last_line; /* 1-based, inclusive */
} tl_chunk;

typedef struct tl_chunker {
    const char *text;
    size_t len;
    int32_t max_tokens, overlap;
    tl_chunk_count_fn count;
    void *user;
    size_t pos;      /* where the next chunk starts */
    size_t line_pos; /* newlines are counted up to here... */
    int64_t line;    /* ...which is on this line */
    size_t last_end; /* the previous chunk's end */
} tl_chunker;

/* max_tokens >= 1; overlap is lowered to max_tokens / 2 at most. */
void tl_chunker_init(tl_chunker *c, const char *text, size_t len, int32_t max_tokens, int32_t overlap,
                     tl_chunk_count_fn count, void *user);
/* The next chunk: 1, or 0 at the end, or -1 when counting failed. */
int tl_chunker_next(tl_chunker *c, tl_chunk *out);

#endif /* TL_SEARCH_CHUNK_H */
