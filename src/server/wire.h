/*
 * wire.h — JSON text and query arguments as they cross the wire (wire.c).
 */
#ifndef TL_SERVER_WIRE_H
#define TL_SERVER_WIRE_H

struct cJSON;
struct http_request;

/* The compact JSON text of a value (malloc'd; NULL when out of memory),
 * always valid UTF-8: whatever bytes its strings hold, an ill-formed
 * sequence comes out as U+FFFD. Every JSON the server writes goes through
 * it, the last guard after the detokenizer's own. */
char *wire_json_text(const struct cJSON *json);

/* The decoded value of the request's query argument `name`, or NULL when
 * absent (http_request.query holds the pairs libmicrohttpd decoded). */
const char *http_query_value(const struct http_request *req, const char *name);

#endif /* TL_SERVER_WIRE_H */
