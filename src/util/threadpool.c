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
 * workers only, sleep on a condition variable.
 *
 * Spins are bounded by time, not iterations (a pause lasts from about a
 * nanosecond on ARM to 140 cycles on recent Intel). Inside a task the other
 * threads are a step away, and yielding there can hand the core to another
 * process for a whole time slice: on a 2-vCPU VM, 16-token passes of a tiny
 * model ran 1.5x faster with a 2 ms spin than with a 60 us one. But when
 * the pool has more threads than free cores, a long spin burns the slice
 * the awaited thread needs. So the budget adapts: a wait that had to yield
 * halves it (down to SPIN_MIN_US), one that ended while spinning raises it
 * by a quarter (up to SPIN_MAX_US). Idle workers spin at most
 * TASK_SPIN_US before yielding, then sleep after YIELD_MS. */
#define SPIN_MAX_US 2000
#define SPIN_MIN_US 50
#define TASK_SPIN_US 500
#define YIELD_MS 5.0

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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

    atomic_int spin_us; /* how long a wait inside a task spins before yielding */
};

/* Whether the value of word differs from value (an atomic_uint or, for
 * the end of a task, the atomic_int count of pending workers). */
typedef struct wait_target {
    atomic_uint *word;
    unsigned value;
    atomic_int *pending;
} wait_target;

static bool wait_over(const wait_target *w) {
    if (w->pending) return atomic_load_explicit(w->pending, memory_order_acquire) <= 0;
    return atomic_load_explicit(w->word, memory_order_acquire) != w->value;
}

/* Spins (for the pool's budget, or at most TASK_SPIN_US for an idle worker),
 * then yields, until the wait is over; an idle worker gives up after a
 * further YIELD_MS (returns false then). */
static bool wait_for(tl_threadpool *pool, const wait_target *w, bool idle_worker) {
    int budget_us = atomic_load_explicit(&pool->spin_us, memory_order_relaxed);
    if (idle_worker && budget_us > TASK_SPIN_US) budget_us = TASK_SPIN_US;
    const double start = now_ms();
    for (unsigned i = 1;; i++) {
        if (wait_over(w)) {
            if (!idle_worker && budget_us < SPIN_MAX_US)
                atomic_store_explicit(&pool->spin_us, budget_us + budget_us / 4 + 1, memory_order_relaxed);
            return true;
        }
        cpu_relax();
        if ((i & 31) == 0 && (now_ms() - start) * 1e3 > budget_us) break;
    }
    if (!idle_worker && budget_us > SPIN_MIN_US)
        atomic_store_explicit(&pool->spin_us, budget_us / 2 > SPIN_MIN_US ? budget_us / 2 : SPIN_MIN_US,
                              memory_order_relaxed);
    const double yield_start = now_ms();
    for (unsigned i = 0;; i++) {
        if (wait_over(w)) return true;
        sched_yield();
        if (idle_worker && (i & 63) == 63 && now_ms() - yield_start > YIELD_MS) return false;
    }
}

typedef struct worker_start {
    tl_threadpool *pool;
    int ith;
} worker_start;

/* Wait until the generation moves past `seen` (or stop): spin, then sleep. */
static unsigned wait_for_task(tl_threadpool *pool, unsigned seen) {
    const wait_target w = {.word = &pool->generation, .value = seen};
    if (wait_for(pool, &w, true)) return atomic_load(&pool->generation);
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
    atomic_init(&pool->spin_us, SPIN_MAX_US);
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
    /* The end of a task is a barrier too. */
    const wait_target w = {.pending = &pool->pending};
    wait_for(pool, &w, false);
}

void tl_threadpool_barrier(tl_threadpool *pool) {
    if (!pool || pool->n_active == 1) return;
    const unsigned phase = atomic_load_explicit(&pool->barrier_phase, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&pool->barrier_count, 1, memory_order_acq_rel) == pool->n_active - 1) {
        atomic_store_explicit(&pool->barrier_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&pool->barrier_phase, 1, memory_order_release);
        return;
    }
    const wait_target w = {.word = &pool->barrier_phase, .value = phase};
    wait_for(pool, &w, false);
}
