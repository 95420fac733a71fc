/*
 * threadpool.h — a fixed set of worker threads that run one task together.
 *
 * tl_threadpool_run(pool, fn, arg) calls fn(arg, ith, nth) once on each of
 * nth threads (the caller is thread 0) and returns when all have finished.
 * Inside a task, tl_threadpool_barrier() waits until every thread of the
 * task has reached it, so a whole forward pass can run as one task with a
 * barrier between steps (one wake-up per pass, not one per matrix).
 *
 * Workers spin briefly on an atomic generation counter before sleeping on a
 * condition variable, so back-to-back tasks (token after token) start in
 * well under a microsecond while an idle pool costs no CPU. Waits inside a
 * task spin for a budget that adapts to how busy the machine is (see
 * threadpool.c) before yielding the core.
 */
#ifndef TL_THREADPOOL_H
#define TL_THREADPOOL_H

typedef struct tl_threadpool tl_threadpool;
typedef void (*tl_task_fn)(void *arg, int ith, int nth);

/* NULL on failure. n_threads <= 1 makes a pool that runs tasks inline. */
tl_threadpool *tl_threadpool_new(int n_threads);
void tl_threadpool_free(tl_threadpool *pool);
int tl_threadpool_size(const tl_threadpool *pool);
void tl_threadpool_run(tl_threadpool *pool, tl_task_fn fn, void *arg);
/* The same on only the first n_active threads (fn sees nth = n_active; the
 * rest stay idle). n_active <= 1 runs fn inline without waking anyone: for
 * tasks too small to pay for the hand-off and the barriers. */
void tl_threadpool_run_on(tl_threadpool *pool, tl_task_fn fn, void *arg, int n_active);
/* Wait for every thread of the running task. Only call from inside a task,
 * from all of its threads. */
void tl_threadpool_barrier(tl_threadpool *pool);

/* The [begin, end) share of n items for thread ith of nth. */
static inline void tl_split_range(long n, int ith, int nth, long *begin, long *end) {
    long per = (n + nth - 1) / nth;
    *begin = per * ith < n ? per * ith : n;
    *end = *begin + per < n ? *begin + per : n;
}

#endif /* TL_THREADPOOL_H */
