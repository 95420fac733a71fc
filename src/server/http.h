/*
 * http.h — the HTTP layer of the server, over libmicrohttpd (http.c).
 *
 * A few event-loop threads (epoll) hold every connection; a complete request
 * runs on a handler thread while its connection is suspended, so a handler
 * may block: a non-streaming answer waits for its generation, and a
 * streaming answer's body is pulled from an http_stream that the generating
 * engine thread fills. http.c itself answers: OPTIONS preflights and CORS
 * headers, 401 for a missing/wrong API key (every path but the web page),
 * 413 for a body over the limit, 404/405 for unknown routes (through
 * api_route returning false), 503 when every handler thread is busy, and
 * 408 to a client too slow to send its headers or body (see http_internal.h).
 */
#ifndef TL_SERVER_HTTP_H
#define TL_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct server;

typedef struct http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* without the query string */
    const char *query;  /* the decoded query arguments: "key\0value\0"... ended by an empty key */
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
    const char *body_static; /* alternatively a static body (the web page); not freed */
    int retry_after;         /* > 0: a Retry-After header (503) */
    http_stream *stream;     /* non-NULL: the body comes from this stream */
} http_response;

/* Routes one request: fills *res and returns true, or returns false for an
 * unknown path (http.c answers 404). Implemented in api.c. */
bool api_route(struct server *srv, const http_request *req, http_response *res);

/* The HTTP layer's settings; times in seconds. */
typedef struct http_options {
    const char *host;                    /* NULL or "" = 127.0.0.1 */
    int port;                            /* 0 = any free port */
    size_t body_limit;                   /* largest request body */
    const char *api_key;                 /* NULL = none */
    const char *cors_origin;             /* NULL = no CORS headers */
    double header_timeout_s;             /* request headers complete within this (from accept or the last answer) */
    double body_timeout_s;               /* the body complete within this after the headers */
    double idle_timeout_s;               /* a kept-alive connection without a request is closed */
    double timeout_s;                    /* no progress reading a body or sending an answer: closed */
    unsigned max_connections;            /* open connections at once */
    unsigned max_connections_per_client; /* from one IP address; 0 = no limit */
    size_t connection_memory;            /* per connection: request line, headers, buffers */
    int max_handlers;                    /* requests handled at once; more get 503 */
} http_options;

/* Starts listening. NULL after a one-line error on stderr. *port_out
 * receives the bound port (useful with port 0). */
typedef struct http_server http_server;
http_server *http_server_start(struct server *srv, const http_options *options, int *port_out);
void http_server_stop(http_server *h);

#endif /* TL_SERVER_HTTP_H */
