/*
 * fake_http.c — the part of the HTTP layer (server/http.h) that the API
 * handlers call, for the API fuzz target, which calls api_route() directly
 * instead of going through sockets and libmicrohttpd.
 *
 * A streamed answer is collected in memory: fake_stream_wait() blocks until
 * the producer (the engine's thread) has finished, then lets go of the
 * connection's side, as http.c does once the body is sent. Clients never go
 * away (socket_fd is -1).
 */
#include "fake_http.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_stream {
    pthread_mutex_t lock;
    pthread_cond_t finished_cond;
    char *data;
    size_t len, capacity;
    bool finished;
    int refs; /* the connection and the producer */
};

http_stream *http_stream_new(void) {
    http_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->finished_cond, NULL);
    s->refs = 2;
    return s;
}

static void stream_release(http_stream *s) {
    pthread_mutex_lock(&s->lock);
    const bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (!last) return;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->finished_cond);
    free(s->data);
    free(s);
}

bool http_stream_write(http_stream *s, const char *data, size_t len) {
    pthread_mutex_lock(&s->lock);
    bool ok = !s->finished;
    if (ok && s->capacity - s->len < len) {
        size_t capacity = s->capacity ? s->capacity : 1024;
        while (capacity - s->len < len) capacity *= 2;
        char *grown = realloc(s->data, capacity);
        if (grown) {
            s->data = grown;
            s->capacity = capacity;
        } else {
            ok = false;
        }
    }
    if (ok) {
        memcpy(s->data + s->len, data, len);
        s->len += len;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

bool http_stream_printf(http_stream *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    char *text = malloc((size_t)n + 1);
    if (!text) return false;
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bool ok = http_stream_write(s, text, (size_t)n);
    free(text);
    return ok;
}

bool http_stream_gone(http_stream *s) {
    (void)s;
    return false;
}

void http_stream_finish(http_stream *s) {
    pthread_mutex_lock(&s->lock);
    s->finished = true;
    pthread_cond_broadcast(&s->finished_cond);
    pthread_mutex_unlock(&s->lock);
    stream_release(s);
}

bool http_client_gone(int socket_fd) {
    (void)socket_fd;
    return false;
}

size_t fake_stream_wait(http_stream *s) {
    pthread_mutex_lock(&s->lock);
    while (!s->finished) pthread_cond_wait(&s->finished_cond, &s->lock);
    const size_t len = s->len;
    pthread_mutex_unlock(&s->lock);
    stream_release(s);
    return len;
}
