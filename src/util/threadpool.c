/*
 * threadpool.c — workers parked on a condition variable, woken per task by a
 * generation counter; the caller works as thread 0 and then waits for the
 * others. Simple and correct; a spinning barrier for lower per-task latency
 * belongs to the performance work.
 */
#include "util/threadpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct tl_threadpool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    pthread_cond_t done;
    unsigned long generation; /* bumped for each task */
    int pending;              /* workers still running the current task */
    bool stop;
    tl_task_fn fn;
    void *arg;
};

typedef struct worker_start {
    tl_threadpool *pool;
    int ith;
} worker_start;

static void *worker_main(void *p) {
    worker_start *ws = p;
    tl_threadpool *pool = ws->pool;
    int ith = ws->ith;
    free(ws);
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->mutex);
    for (;;) {
        while (!pool->stop && pool->generation == seen) pthread_cond_wait(&pool->wake, &pool->mutex);
        if (pool->stop) break;
        seen = pool->generation;
        tl_task_fn fn = pool->fn;
        void *arg = pool->arg;
        pthread_mutex_unlock(&pool->mutex);
        fn(arg, ith, pool->n_threads);
        pthread_mutex_lock(&pool->mutex);
        if (--pool->pending == 0) pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->mutex);
    return NULL;
}

tl_threadpool *tl_threadpool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    tl_threadpool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n_threads = n_threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    if (n_threads > 1) {
        pool->threads = calloc((size_t)n_threads, sizeof *pool->threads);
        if (!pool->threads) {
            tl_threadpool_free(pool);
            return NULL;
        }
        for (int i = 1; i < n_threads; i++) {
            worker_start *ws = malloc(sizeof *ws);
            if (!ws) {
                pool->n_threads = i;
                tl_threadpool_free(pool);
                return NULL;
            }
            ws->pool = pool;
            ws->ith = i;
            if (pthread_create(&pool->threads[i], NULL, worker_main, ws) != 0) {
                free(ws);
                pool->n_threads = i;
                tl_threadpool_free(pool);
                return NULL;
            }
        }
    }
    return pool;
}

void tl_threadpool_free(tl_threadpool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    pool->stop = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->n_threads && pool->threads; i++) pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    free(pool);
}

int tl_threadpool_size(const tl_threadpool *pool) { return pool ? pool->n_threads : 1; }

void tl_threadpool_run(tl_threadpool *pool, tl_task_fn fn, void *arg) {
    if (!pool || pool->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_mutex_lock(&pool->mutex);
    pool->fn = fn;
    pool->arg = arg;
    pool->pending = pool->n_threads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);

    fn(arg, 0, pool->n_threads);

    pthread_mutex_lock(&pool->mutex);
    while (pool->pending > 0) pthread_cond_wait(&pool->done, &pool->mutex);
    pthread_mutex_unlock(&pool->mutex);
}
