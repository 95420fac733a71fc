/*
 * http_internal.h — what the files of the HTTP layer share (not for api_*.c,
 * which see only http.h).
 *
 * libmicrohttpd runs a few event-loop threads (epoll) that must never block,
 * so the layer is split:
 *   http.c          the daemon, the access handler, responses, start and stop;
 *   http_stream.c   streamed bodies: the reader suspends the connection when
 *                   nothing is buffered and a write resumes it;
 *   http_watch.c    every connection from accept to close, and a watcher
 *                   thread that enforces the header and body deadlines (which
 *                   libmicrohttpd's idle timeout cannot: a byte a second resets
 *                   it) and notices streamed clients that hung up;
 *   http_handlers.c a bounded set of threads that run api_route(), which may
 *                   block, while the connection is suspended.
 *
 * Lock order: watch.lock, then a stream's lock, then libmicrohttpd's own
 * (MHD_suspend/resume_connection take it). handlers.lock is taken alone.
 */
#ifndef TL_SERVER_HTTP_INTERNAL_H
#define TL_SERVER_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "server/http.h"

/* Where a connection is, as far as the deadlines go. */
typedef enum conn_phase {
    CONN_WAITING,  /* for request headers: --header-timeout */
    CONN_BODY,     /* headers in, body coming: --body-timeout */
    CONN_ANSWERING /* handled or sending: libmicrohttpd's --timeout (idle) only */
} conn_phase;

typedef struct http_conn http_conn;

/* One TCP connection (libmicrohttpd's socket context), accept to close. */
struct http_conn {
    http_conn *prev, *next; /* in watch.conns */
    int fd;
    conn_phase phase;
    double deadline_ms;  /* when the phase's time is up (CONN_WAITING, CONN_BODY) */
    bool cut;            /* the watcher shut it down */
    http_stream *stream; /* the stream it is sending, if any */
};

/* The connections and their watcher thread. */
typedef struct http_watch {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    http_conn *conns;
    int n_conns;
    bool stop;
    bool started;
    pthread_t thread;
} http_watch;

typedef struct request_state request_state;

/* The threads that run handlers (api_route). */
typedef struct http_handlers {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* a request was queued, or stop */
    pthread_cond_t changed; /* a thread ended or a request finished */
    request_state *head, *tail;
    int n_threads, n_busy, max;   /* threads; requests queued or running; the cap */
    struct handler_thread *ended; /* threads that returned, to be joined */
    bool stop;
} http_handlers;

struct http_server {
    struct MHD_Daemon *daemon;
    struct server *srv;
    http_options options; /* api_key / cors_origin point to the copies below */
    char *api_key;        /* NULL = no key */
    char *cors_origin;    /* NULL = no CORS headers */
    atomic_bool stopping;
    http_watch watch;
    http_handlers handlers;
};

/* What one request has gathered so far (libmicrohttpd's con_cls). */
struct request_state {
    http_server *h;
    struct MHD_Connection *connection;
    http_conn *conn;
    char *path;       /* the URL without its query string */
    char *query;      /* decoded query arguments (http_request.query), or NULL */
    size_t query_len; /* bytes of the pairs in query */
    char *body;       /* NUL-terminated once the body is complete */
    size_t body_len, body_capacity;
    size_t discarded; /* bytes past the limit, read and dropped until the body ends */
    bool too_big;     /* the body passed the limit: 413 once it ends */
    bool answered;    /* a response is queued (maybe before the body was read: 401, 413) */
    /* Handed to a handler thread: the request and, once `handled`, its answer. */
    http_request request;
    http_response response;
    bool routed;         /* api_route knew the path */
    atomic_bool handled; /* the handler is done; the connection was resumed */
    bool with_handler;   /* the request went to a handler thread */
    request_state *next; /* in handlers' queue */
};

/* ---- http_stream.c ---- */
/* libmicrohttpd's content reader and free callback for a stream response. */
ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max);
void http_stream_connection_done(void *cls);
/* The stream is about to be sent on `connection` (tracked as `conn`). */
void http_stream_attach(http_stream *s, http_server *h, struct MHD_Connection *connection, http_conn *conn);
/* The client of a suspended stream left, or the server stops: the stream is
 * gone and the connection resumed so that libmicrohttpd closes it. Caller
 * holds watch.lock. */
void http_stream_abandon(http_stream *s, bool only_if_client_left);

/* ---- http_watch.c ---- */
bool http_watch_start(http_server *h);
/* Stops the watcher and, when `cut_all`, shuts every connection down and
 * abandons every stream (the server is stopping). */
void http_watch_cut_all(http_server *h);
void http_watch_stop(http_server *h);
void http_watch_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                           enum MHD_ConnectionNotificationCode code);
/* Phase changes, from the connection's event-loop thread. */
void http_watch_phase(http_server *h, http_conn *conn, conn_phase phase);
/* Attaches or detaches (NULL) the stream a connection sends. */
void http_watch_set_stream(http_server *h, http_conn *conn, http_stream *s);
double http_now_ms(void);

/* ---- http_handlers.c ---- */
void http_handlers_init(http_server *h, int max);
/* Takes a handler place for a request (false: all are busy, answer 503). */
bool http_handlers_reserve(http_server *h);
/* Runs `state` on a handler thread (a place was reserved): api_route, then
 * `handled` and MHD_resume_connection. The caller suspended the connection. */
void http_handlers_run(http_server *h, request_state *state);
/* Waits for every handler to finish and every thread to end. */
void http_handlers_stop(http_server *h);

#endif /* TL_SERVER_HTTP_INTERNAL_H */
