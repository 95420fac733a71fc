/*
 * http_watch.c — every open connection, and the watcher thread that enforces
 * what libmicrohttpd cannot (see http_internal.h).
 *
 * libmicrohttpd's timeout counts idle time: a client sending one byte a
 * second never reaches it and holds its connection for as long as it likes.
 * So each connection (tracked from libmicrohttpd's NOTIFY_CONNECTION) carries
 * a deadline for its current phase: the request headers must be complete
 * within --header-timeout of the accept (or, on a kept-alive connection,
 * within --idle-timeout + --header-timeout of the previous answer), and the
 * body within --body-timeout of the headers. Every WATCH_PERIOD_MS the
 * watcher answers 408 to a connection past its deadline and shuts its socket
 * down; libmicrohttpd then reads the end of the stream and closes it as if
 * the client had left. A connection is removed from the list (under the
 * lock) before libmicrohttpd closes its socket, so the watcher never touches
 * a descriptor that was reused.
 *
 * The same pass peeks at the socket of every connection suspended for want
 * of stream bytes (libmicrohttpd does not watch those), so that a producer
 * learns within WATCH_PERIOD_MS that its client hung up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/http_internal.h"

#define WATCH_PERIOD_MS 100

#define TIMEOUT_BODY "{\"error\":\"the request took too long to send\"}"
static const char REQUEST_TIMEOUT[] = "HTTP/1.1 408 Request Timeout\r\n"
                                      "Content-Type: application/json\r\n"
                                      "Connection: close\r\n"
                                      "Content-Length: %zu\r\n"
                                      "\r\n" TIMEOUT_BODY;

double http_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The deadline of entering `phase` now (0 = none). */
static double phase_deadline(const http_server *h, conn_phase phase, bool kept_alive) {
    const http_options *o = &h->options;
    double now = http_now_ms();
    switch (phase) {
    case CONN_WAITING: return now + 1e3 * (o->header_timeout_s + (kept_alive ? o->idle_timeout_s : 0));
    case CONN_BODY: return now + 1e3 * o->body_timeout_s;
    case CONN_ANSWERING: break;
    }
    return 0;
}

void http_watch_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                           enum MHD_ConnectionNotificationCode code) {
    http_server *h = cls;
    http_watch *w = &h->watch;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        http_conn *conn = calloc(1, sizeof *conn);
        *socket_context = conn;
        if (!conn) return; /* not watched: libmicrohttpd's idle timeout still applies */
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn->fd = info ? info->connect_fd : -1;
        conn->phase = CONN_WAITING;
        conn->deadline_ms = phase_deadline(h, CONN_WAITING, false);
        pthread_mutex_lock(&w->lock);
        conn->next = w->conns;
        if (w->conns) w->conns->prev = conn;
        w->conns = conn;
        w->n_conns++;
        pthread_mutex_unlock(&w->lock);
        return;
    }
    http_conn *conn = *socket_context;
    if (!conn) return;
    pthread_mutex_lock(&w->lock);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        w->conns = conn->next;
    if (conn->next) conn->next->prev = conn->prev;
    w->n_conns--;
    pthread_mutex_unlock(&w->lock);
    free(conn);
    *socket_context = NULL;
}

void http_watch_phase(http_server *h, http_conn *conn, conn_phase phase) {
    if (!conn) return;
    pthread_mutex_lock(&h->watch.lock);
    bool kept_alive = phase == CONN_WAITING && conn->phase != CONN_WAITING;
    conn->phase = phase;
    conn->deadline_ms = phase_deadline(h, phase, kept_alive);
    pthread_mutex_unlock(&h->watch.lock);
}

void http_watch_set_stream(http_server *h, http_conn *conn, http_stream *s) {
    pthread_mutex_lock(&h->watch.lock);
    conn->stream = s;
    pthread_mutex_unlock(&h->watch.lock);
}

/* Ends a connection that ran out of time: a 408 if the socket takes it at
 * once (nothing of an answer was sent in these phases), then shutdown. */
static void cut(http_conn *conn) {
    conn->cut = true;
    char text[sizeof REQUEST_TIMEOUT + 16];
    int len = snprintf(text, sizeof text, REQUEST_TIMEOUT, sizeof TIMEOUT_BODY - 1);
    ssize_t sent = send(conn->fd, text, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)sent;
    shutdown(conn->fd, SHUT_RDWR);
}

/* One pass over the connections; caller holds the lock. */
static void watch_pass(http_server *h) {
    double now = http_now_ms();
    for (http_conn *conn = h->watch.conns; conn; conn = conn->next) {
        if (conn->fd < 0) continue;
        if (!conn->cut && conn->phase != CONN_ANSWERING && now > conn->deadline_ms) cut(conn);
        if (conn->stream) http_stream_abandon(conn->stream, true);
    }
}

static void *watch_main(void *arg) {
    http_server *h = arg;
    http_watch *w = &h->watch;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        watch_pass(h);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WATCH_PERIOD_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

bool http_watch_start(http_server *h) {
    http_watch *w = &h->watch;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&w->lock, NULL);
    w->started = pthread_create(&w->thread, NULL, watch_main, h) == 0;
    return w->started;
}

void http_watch_cut_all(http_server *h) {
    http_watch *w = &h->watch;
    pthread_mutex_lock(&w->lock);
    for (http_conn *conn = w->conns; conn; conn = conn->next) {
        if (conn->fd >= 0) shutdown(conn->fd, SHUT_RDWR);
        if (conn->stream) http_stream_abandon(conn->stream, false);
    }
    pthread_mutex_unlock(&w->lock);
}

void http_watch_stop(http_server *h) {
    http_watch *w = &h->watch;
    if (w->started) {
        pthread_mutex_lock(&w->lock);
        w->stop = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}
