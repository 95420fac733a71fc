/*
 * http.h — the HTTP layer of the server, over libmicrohttpd (http.c).
 *
 * Each connection has its own thread (MHD_USE_THREAD_PER_CONNECTION), so a
 * handler may block: a non-streaming answer waits for its generation, and a
 * streaming answer's body is pulled from an http_stream that the generating
 * engine thread fills. http.c itself answers: OPTIONS preflights and CORS
 * headers, 401 for a missing/wrong API key (every path but the web page),
 * 413 for a body over the limit, and 404/405 for unknown routes (through
 * api_route returning false).
 */
#ifndef TL_SERVER_HTTP_H
#define TL_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct server;

typedef struct http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* without the query string */
    const char *body;   /* NUL-terminated; "" when there is none */
    size_t body_len;
    const char *accept; /* the Accept header or "" */
    int socket_fd;      /* the client's connection, -1 if unknown (see http_client_gone) */
} http_request;

/* True once the client of `socket_fd` has closed or reset its connection:
 * how a handler that blocks (a whole, non-streamed answer) notices it is no
 * longer awaited. Never blocks. */
bool http_client_gone(int socket_fd);

/* A response body produced while it is sent (SSE or NDJSON). Shared by the
 * connection (reading) and a producer (writing); each side lets go once. */
typedef struct http_stream http_stream;

http_stream *http_stream_new(void);
/* Appends bytes for the client. False when the client has gone (the producer
 * should stop and let go); never blocks for long (buffers in memory). */
bool http_stream_write(http_stream *s, const char *data, size_t len);
bool http_stream_printf(http_stream *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* True once the client has disconnected. */
bool http_stream_gone(http_stream *s);
/* The producer is done: the body ends after what was written. Lets go. */
void http_stream_finish(http_stream *s);

typedef struct http_response {
    int status;               /* 200, 400, ... */
    const char *content_type; /* "application/json", "text/event-stream", ... */
    char *body;               /* malloc'd, owned by the response (ignored when streaming) */
    size_t body_len;
    const char *body_static;  /* alternatively a static body (the web page); not freed */
    int retry_after;          /* > 0: a Retry-After header (503) */
    http_stream *stream;      /* non-NULL: the body comes from this stream */
} http_response;

/* Routes one request: fills *res and returns true, or returns false for an
 * unknown path (http.c answers 404). Implemented in api.c. */
bool api_route(struct server *srv, const http_request *req, http_response *res);

/* Starts listening (thread per connection). NULL after a one-line error on
 * stderr. *port_out receives the bound port (useful with port 0). */
typedef struct http_server http_server;
http_server *http_server_start(struct server *srv, const char *host, int port, size_t body_limit,
                               const char *api_key, const char *cors_origin, int *port_out);
void http_server_stop(http_server *h);

#endif /* TL_SERVER_HTTP_H */
