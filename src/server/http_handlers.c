/*
 * http_handlers.c — the threads that run api_route() (see http_internal.h).
 *
 * A handler may block for as long as a whole generation or a model load, so
 * it never runs on libmicrohttpd's event-loop threads: the access handler
 * suspends the connection and hands the complete request here. At most
 * --threads-http requests are handled at once (the access handler answers
 * 503 beyond that). Threads start when requests need them and end after
 * IDLE_EXIT_S without work, so a burst leaves no threads (nor their stacks)
 * behind; an ended thread is joined by the next request or at stop. A
 * thread that ends idle also hands the allocator's free pages back to the
 * system (glibc keeps them in per-thread arenas otherwise): after a burst of
 * large bodies the server's RSS returns to what it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "server/http_internal.h"

#define IDLE_EXIT_S 5

typedef struct handler_thread {
    pthread_t id;
    http_server *h;
    struct handler_thread *next; /* in handlers.ended */
} handler_thread;

void http_handlers_init(http_server *h, int max) {
    http_handlers *p = &h->handlers;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->work, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&p->changed, NULL);
    p->max = max > 0 ? max : 1;
}

/* Runs one request: api_route, then the answer goes back to the connection. */
static void handle(http_server *h, request_state *state) {
    state->routed = api_route(h->srv, &state->request, &state->response);
    atomic_store(&state->handled, true);
    MHD_resume_connection(state->connection);
}

static void *handler_main(void *arg) {
    handler_thread *self = arg;
    http_server *h = self->h;
    http_handlers *p = &h->handlers;
    bool idle_end = false;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->head) {
            request_state *state = p->head;
            p->head = state->next;
            if (!p->head) p->tail = NULL;
            pthread_mutex_unlock(&p->lock);
            handle(h, state);
            pthread_mutex_lock(&p->lock);
            p->n_busy--;
            pthread_cond_broadcast(&p->changed);
            if (p->stop) pthread_cond_broadcast(&p->work);
            continue;
        }
        /* At stop, a place may be reserved by a request about to be queued. */
        if (p->stop && p->n_busy == 0) break;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += IDLE_EXIT_S;
        int rc = 0;
        rc = pthread_cond_timedwait(&p->work, &p->lock, &until);
        /* Ends only while enough threads stay for the requests that hold places. */
        if (!p->head && !p->stop && rc == ETIMEDOUT && p->n_threads - 1 >= p->n_busy) {
            idle_end = true;
            break;
        }
    }
    p->n_threads--;
    self->next = p->ended;
    p->ended = self;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
#if defined(__GLIBC__)
    if (idle_end) malloc_trim(0);
#else
    (void)idle_end;
#endif
    return NULL;
}

/* Joins the threads that ended; caller holds the lock. */
static void join_ended(http_handlers *p) {
    while (p->ended) {
        handler_thread *t = p->ended;
        p->ended = t->next;
        pthread_join(t->id, NULL);
        free(t);
    }
}

bool http_handlers_reserve(http_server *h) {
    http_handlers *p = &h->handlers;
    pthread_mutex_lock(&p->lock);
    join_ended(p);
    bool ok = !p->stop && p->n_busy < p->max;
    if (ok && p->n_threads <= p->n_busy) {
        /* Every place has its thread: a request never waits for another to finish. */
        handler_thread *t = malloc(sizeof *t);
        ok = t != NULL;
        if (t) {
            t->h = h;
            ok = pthread_create(&t->id, NULL, handler_main, t) == 0;
            if (ok)
                p->n_threads++;
            else
                free(t);
        }
    }
    if (ok) p->n_busy++;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void http_handlers_run(http_server *h, request_state *state) {
    http_handlers *p = &h->handlers;
    pthread_mutex_lock(&p->lock);
    state->next = NULL;
    if (p->tail)
        p->tail->next = state;
    else
        p->head = state;
    p->tail = state;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

void http_handlers_stop(http_server *h) {
    http_handlers *p = &h->handlers;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    while (p->n_threads > 0) pthread_cond_wait(&p->changed, &p->lock);
    join_ended(p);
    pthread_mutex_unlock(&p->lock);
}
