/*
 * http_stream.c — response bodies produced while they are sent (SSE or
 * NDJSON; see http.h), over libmicrohttpd's event loop.
 *
 * A producer (the engine's thread) appends bytes; libmicrohttpd pulls them
 * through http_stream_read() on an event-loop thread, which must not wait.
 * When nothing is buffered the reader suspends the connection (allowed from
 * a content reader, microhttpd.h) and returns 0; the next write or the end
 * resumes it. A suspended connection is not watched by libmicrohttpd, so the
 * watcher thread (http_watch.c) peeks at its socket every WATCH_PERIOD_MS and
 * abandons the stream when the client hung up: the producer's next write
 * fails and it stops generating.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "server/http_internal.h"
#include "util/buffer.h"

struct http_stream {
    pthread_mutex_t lock;
    char *data; /* pending bytes are data[start, end) */
    size_t start, end, capacity;
    bool finished;  /* the producer is done */
    bool gone;      /* the connection is done (client left, response sent, or the server stops) */
    int refs;       /* the connection and the producer */
    http_server *h; /* while the connection sends it */
    struct MHD_Connection *connection;
    http_conn *conn;
    int socket_fd;  /* the connection's socket while sending, else -1 */
    bool suspended; /* the reader suspended the connection for want of bytes */
};

http_stream *http_stream_new(void) {
    http_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->lock, NULL);
    s->refs = 2;
    s->socket_fd = -1;
    return s;
}

/* One side lets go; the last one frees the stream. */
static void stream_release(http_stream *s) {
    pthread_mutex_lock(&s->lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (!last) return;
    pthread_mutex_destroy(&s->lock);
    free(s->data);
    free(s);
}

/* The reader waits no longer; caller holds the lock. */
static void wake_reader(http_stream *s) {
    if (!s->suspended) return;
    s->suspended = false;
    MHD_resume_connection(s->connection);
}

/* Room for `len` more bytes at data[end]; caller holds the lock. */
static bool stream_reserve(http_stream *s, size_t len) {
    if (s->start > 0) {
        memmove(s->data, s->data + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    if (len > SIZE_MAX - s->end) return false;
    char *data = tl_grow(s->data, &s->capacity, s->end + len, 1, 4096);
    if (!data) return false;
    s->data = data;
    return true;
}

bool http_stream_write(http_stream *s, const char *data, size_t len) {
    pthread_mutex_lock(&s->lock);
    bool ok = !s->gone && !s->finished && stream_reserve(s, len);
    if (ok) {
        memcpy(s->data + s->end, data, len);
        s->end += len;
        wake_reader(s);
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

bool http_stream_printf(http_stream *s, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    if ((size_t)n < sizeof small) return http_stream_write(s, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) return false;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bool ok = http_stream_write(s, big, (size_t)n);
    free(big);
    return ok;
}

bool http_stream_gone(http_stream *s) {
    pthread_mutex_lock(&s->lock);
    bool gone = s->gone;
    pthread_mutex_unlock(&s->lock);
    return gone;
}

void http_stream_finish(http_stream *s) {
    pthread_mutex_lock(&s->lock);
    s->finished = true;
    wake_reader(s);
    pthread_mutex_unlock(&s->lock);
    stream_release(s);
}

void http_stream_attach(http_stream *s, http_server *h, struct MHD_Connection *connection, http_conn *conn) {
    pthread_mutex_lock(&s->lock);
    s->h = h;
    s->connection = connection;
    s->conn = conn;
    s->socket_fd = conn ? conn->fd : -1;
    pthread_mutex_unlock(&s->lock);
    if (conn) http_watch_set_stream(h, conn, s);
}

/* The connection side is done with the stream (response sent, client gone,
 * or the response never started): the producer's writes now fail. */
void http_stream_connection_done(void *cls) {
    http_stream *s = cls;
    pthread_mutex_lock(&s->lock);
    http_server *h = s->h;
    http_conn *conn = s->conn;
    pthread_mutex_unlock(&s->lock);
    if (conn) http_watch_set_stream(h, conn, NULL);
    pthread_mutex_lock(&s->lock);
    s->gone = true;
    s->suspended = false;
    s->connection = NULL;
    s->conn = NULL;
    s->socket_fd = -1;
    pthread_mutex_unlock(&s->lock);
    stream_release(s);
}

void http_stream_abandon(http_stream *s, bool only_if_client_left) {
    pthread_mutex_lock(&s->lock);
    if (!only_if_client_left || (s->suspended && http_client_gone(s->socket_fd))) {
        s->gone = true;
        wake_reader(s);
    }
    pthread_mutex_unlock(&s->lock);
}

/* True when the peer closed or reset the connection. Peeking leaves any
 * bytes (a pipelined request) for libmicrohttpd. */
bool http_client_gone(int fd) {
    if (fd < 0) return false;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return false;
    if (n == 0) return true;
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* libmicrohttpd's content reader: copies pending bytes, ends the body once
 * the producer finished, fails it once the client left or the server stops,
 * and otherwise suspends the connection and returns 0 (a write resumes it). */
ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    http_stream *s = cls;
    ssize_t n = 0;
    pthread_mutex_lock(&s->lock);
    if (s->start < s->end) {
        size_t len = s->end - s->start < max ? s->end - s->start : max;
        memcpy(buf, s->data + s->start, len);
        s->start += len;
        if (s->start == s->end) s->start = s->end = 0;
        n = (ssize_t)len;
    } else if (s->finished) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (s->gone || (s->h && atomic_load(&s->h->stopping)) || http_client_gone(s->socket_fd)) {
        s->gone = true;
        n = MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
        s->suspended = true;
        MHD_suspend_connection(s->connection);
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}
