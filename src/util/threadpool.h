/*
 * threadpool.h — a fixed set of worker threads that run one task together.
 *
 * tl_threadpool_run(pool, fn, arg) calls fn(arg, ith, nth) once on each of
 * nth threads (the caller is thread 0) and returns when all have finished.
 * The forward pass uses it to split matrix rows and attention heads.
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

/* The [begin, end) share of n items for thread ith of nth. */
static inline void tl_split_range(long n, int ith, int nth, long *begin, long *end) {
    long per = (n + nth - 1) / nth;
    *begin = per * ith < n ? per * ith : n;
    *end = *begin + per < n ? *begin + per : n;
}

#endif /* TL_THREADPOOL_H */
