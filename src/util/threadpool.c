/*
 * threadpool.c — workers that spin, then sleep, waiting for the next task;
 * a sense-reversing spin barrier for steps inside a task.
 */
#include "util/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ volatile("yield")
#else
#define cpu_relax() ((void)0)
#endif

/* Waiting is three-staged: spin with pause (cheapest hand-off when every
 * thread has a core), then yield the core (when the machine is busier than
 * our thread count, the thread we wait for may need it), then, for idle
 * workers only, sleep on a condition variable. */
#define SPIN_ITERATIONS 2000
#define YIELD_MS 5.0

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Spins, then yields, until *word != value; gives up after YIELD_MS when
 * may_stop is set (returns false then). */
static bool wait_while_equal(atomic_uint *word, unsigned value, bool may_stop) {
    for (int i = 0; i < SPIN_ITERATIONS; i++) {
        if (atomic_load_explicit(word, memory_order_acquire) != value) return true;
        cpu_relax();
    }
    const double start = now_ms();
    for (unsigned i = 0;; i++) {
        if (atomic_load_explicit(word, memory_order_acquire) != value) return true;
        sched_yield();
        if (may_stop && (i & 63) == 63 && now_ms() - start > YIELD_MS) return false;
    }
}

struct tl_threadpool {
    int n_threads;
    int n_active; /* threads taking part in the current task */
    pthread_t *threads;

    /* Task hand-off. */
    atomic_uint generation; /* bumped for each task */
    atomic_int pending;     /* workers still running the current task */
    atomic_bool stop;
    tl_task_fn fn;
    void *arg;
    pthread_mutex_t mutex; /* sleeping workers wait on `wake` */
    pthread_cond_t wake;
    atomic_int sleepers;

    /* Barrier inside a task. */
    atomic_int barrier_count;
    atomic_uint barrier_phase;
};

typedef struct worker_start {
    tl_threadpool *pool;
    int ith;
} worker_start;

/* Wait until the generation moves past `seen` (or stop): spin, then sleep. */
static unsigned wait_for_task(tl_threadpool *pool, unsigned seen) {
    if (wait_while_equal(&pool->generation, seen, true)) return atomic_load(&pool->generation);
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add(&pool->sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
        pthread_cond_wait(&pool->wake, &pool->mutex);
    atomic_fetch_sub(&pool->sleepers, 1);
    pthread_mutex_unlock(&pool->mutex);
    return g;
}

static void *worker_main(void *p) {
    worker_start *ws = p;
    tl_threadpool *pool = ws->pool;
    const int ith = ws->ith;
    free(ws);
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_task(pool, seen);
        if (atomic_load(&pool->stop)) break;
        if (ith < pool->n_active) pool->fn(pool->arg, ith, pool->n_active);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
    return NULL;
}

tl_threadpool *tl_threadpool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    tl_threadpool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n_threads = n_threads;
    pool->n_active = n_threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    if (n_threads > 1) {
        pool->threads = calloc((size_t)n_threads, sizeof *pool->threads);
        if (!pool->threads) {
            pool->n_threads = 1;
            tl_threadpool_free(pool);
            return NULL;
        }
        for (int i = 1; i < n_threads; i++) {
            worker_start *ws = malloc(sizeof *ws);
            if (ws) {
                ws->pool = pool;
                ws->ith = i;
            }
            if (!ws || pthread_create(&pool->threads[i], NULL, worker_main, ws) != 0) {
                free(ws);
                pool->n_threads = i; /* join only the threads that exist */
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
    atomic_store(&pool->stop, true);
    atomic_fetch_add(&pool->generation, 1); /* wakes spinning workers too */
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->n_threads && pool->threads; i++) pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->wake);
    free(pool);
}

int tl_threadpool_size(const tl_threadpool *pool) {
    return pool ? pool->n_threads : 1;
}

void tl_threadpool_run(tl_threadpool *pool, tl_task_fn fn, void *arg) {
    tl_threadpool_run_on(pool, fn, arg, pool ? pool->n_threads : 1);
}

void tl_threadpool_run_on(tl_threadpool *pool, tl_task_fn fn, void *arg, int n_active) {
    if (!pool || pool->n_threads == 1 || n_active <= 1) {
        /* Inline: the workers are not woken and barriers return at once. */
        if (pool) pool->n_active = 1;
        fn(arg, 0, 1);
        return;
    }
    pool->n_active = n_active < pool->n_threads ? n_active : pool->n_threads;
    pool->fn = fn;
    pool->arg = arg;
    atomic_store_explicit(&pool->pending, pool->n_threads - 1, memory_order_relaxed);
    atomic_store_explicit(&pool->barrier_count, 0, memory_order_relaxed);
    atomic_fetch_add(&pool->generation, 1); /* seq_cst: pairs with the sleepers check */
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
    fn(arg, 0, pool->n_active);
    for (int i = 0; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0; i++) {
        if (i < SPIN_ITERATIONS)
            cpu_relax();
        else
            sched_yield();
    }
}

void tl_threadpool_barrier(tl_threadpool *pool) {
    if (!pool || pool->n_active == 1) return;
    const unsigned phase = atomic_load_explicit(&pool->barrier_phase, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&pool->barrier_count, 1, memory_order_acq_rel) == pool->n_active - 1) {
        atomic_store_explicit(&pool->barrier_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&pool->barrier_phase, 1, memory_order_release);
        return;
    }
    wait_while_equal(&pool->barrier_phase, phase, false);
}
