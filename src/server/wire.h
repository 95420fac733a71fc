/*
 * wire.h — JSON text and query strings as they cross the wire (wire.c).
 */
#ifndef TL_SERVER_WIRE_H
#define TL_SERVER_WIRE_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/* The compact JSON text of a value (malloc'd; NULL when out of memory),
 * always valid UTF-8: whatever bytes its strings hold, an ill-formed
 * sequence comes out as U+FFFD. Every JSON the server writes goes through
 * it, the last guard after the detokenizer's own. */
char *wire_json_text(const struct cJSON *json);

/* The value of `name` in a query string ("a=1&b=x%20y"), %-decoded, in
 * out[0..size); false when absent (or longer than size - 1 bytes). */
bool wire_query_value(const char *query, const char *name, char *out, size_t size);

#endif /* TL_SERVER_WIRE_H */
