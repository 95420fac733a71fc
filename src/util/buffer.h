/*
 * buffer.h — the one way a growing array or byte string gets more room.
 *
 * Growth doubles the capacity (starting from a first capacity the caller
 * picks) until the request fits. Every size is checked: a request whose
 * bytes would overflow size_t, or pass the caller's cap, fails like an
 * allocation failure, never aborts, and leaves the old block as it was.
 *
 * tl_grow suits a struct that keeps its own typed pointer and capacity;
 * tl_buf is a byte string (kept NUL-terminated) with a size cap;
 * tl_grow_capacity is only the arithmetic, for memory that comes from
 * somewhere other than realloc (the Jinja engine's arena).
 */
#ifndef TL_BUFFER_H
#define TL_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

/* The capacity (in elements) that holds `need`: `capacity` (or `initial`
 * when it is 0) doubled until it is at least `need`. False when that would
 * pass `max` elements (then *out is left alone). */
bool tl_grow_capacity(size_t capacity, size_t need, size_t initial, size_t max, size_t *out);

/* Makes `items` (capacity *capacity elements of elem_size bytes) hold at
 * least `need` elements, moving it with realloc when it must grow. Returns
 * the block (the same one when it already fits) and updates *capacity; NULL
 * when out of memory or when the bytes would overflow size_t — then `items`
 * and *capacity are unchanged and still the caller's. Typical use:
 *     tl_token *items = tl_grow(v->items, &v->capacity, v->count + 1, sizeof *items, 256);
 *     if (!items) return false;
 *     v->items = items; */
void *tl_grow(void *items, size_t *capacity, size_t need, size_t elem_size, size_t initial);

/* A growing byte string: `data` holds `len` bytes and a NUL after them (once
 * anything was reserved). `max` caps len (0: no cap but size_t's). */
typedef struct tl_buf {
    char *data;
    size_t len, cap;
    size_t max;
} tl_buf;

/* Room for `extra` more bytes (and the NUL). False when out of memory or past max. */
bool tl_buf_reserve(tl_buf *b, size_t extra);
/* Appends n bytes. False (b unchanged) when out of memory or past max. */
bool tl_buf_append(tl_buf *b, const void *bytes, size_t n);
/* Hands the string to the caller (b is empty after); NULL when nothing was reserved. */
char *tl_buf_take(tl_buf *b);
void tl_buf_free(tl_buf *b);

#endif /* TL_BUFFER_H */
