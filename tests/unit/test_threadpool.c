/*
 * test_threadpool.c — tasks run on every thread, barriers order steps, and
 * pools of any size start and stop cleanly, many times over; tasks can run
 * on part of a pool.
 */
#include <stdatomic.h>
#include <string.h>

#include "test_support.h"
#include "util/threadpool.h"

typedef struct steps {
    tl_threadpool *pool;
    int values[8];
    atomic_int errors;
    atomic_int calls;
} steps;

/* Each thread writes its slot, then after a barrier checks everyone's, for
 * many rounds: a barrier that let a thread through early shows up as a
 * stale value. */
static void barrier_task(void *arg, int ith, int nth) {
    steps *s = arg;
    atomic_fetch_add(&s->calls, 1);
    for (int round = 1; round <= 200; round++) {
        s->values[ith] = round;
        tl_threadpool_barrier(s->pool);
        for (int j = 0; j < nth; j++)
            if (s->values[j] != round) atomic_fetch_add(&s->errors, 1);
        tl_threadpool_barrier(s->pool);
    }
}

static void barriers_order_steps(void **state) {
    (void)state;
    for (int n = 1; n <= 4; n++) {
        steps s;
        memset(&s, 0, sizeof s);
        s.pool = tl_threadpool_new(n);
        assert_non_null(s.pool);
        assert_int_equal(tl_threadpool_size(s.pool), n);
        for (int task = 0; task < 20; task++) tl_threadpool_run(s.pool, barrier_task, &s);
        assert_int_equal(atomic_load(&s.errors), 0);
        assert_int_equal(atomic_load(&s.calls), 20 * n);
        tl_threadpool_free(s.pool);
    }
}

/* Tasks on fewer threads than the pool has: only threads 0..n_active-1 run,
 * they see nth = n_active, and their barriers wait for each other only;
 * whole-pool tasks between them still use every thread. */
static void part_of_the_pool_runs_a_task(void **state) {
    (void)state;
    steps s;
    memset(&s, 0, sizeof s);
    s.pool = tl_threadpool_new(4);
    assert_non_null(s.pool);
    const int active[] = {1, 2, 3, 4, 0, 9, 1, 4};
    int expected_calls = 0;
    for (size_t i = 0; i < sizeof active / sizeof *active; i++) {
        const int n = active[i] < 1 ? 1 : active[i] > 4 ? 4 : active[i];
        tl_threadpool_run_on(s.pool, barrier_task, &s, active[i]);
        expected_calls += n;
        tl_threadpool_run(s.pool, barrier_task, &s);
        expected_calls += 4;
    }
    assert_int_equal(atomic_load(&s.errors), 0);
    assert_int_equal(atomic_load(&s.calls), expected_calls);
    tl_threadpool_free(s.pool);
}

static void create_and_free_repeatedly(void **state) {
    (void)state;
    for (int i = 0; i < 50; i++) {
        tl_threadpool *p = tl_threadpool_new(1 + i % 3);
        assert_non_null(p);
        tl_threadpool_free(p);
    }
    tl_threadpool_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(barriers_order_steps),
        cmocka_unit_test(part_of_the_pool_runs_a_task),
        cmocka_unit_test(create_and_free_repeatedly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
