/*
 * test_buffer.c — the one growth rule (util/buffer.h): capacities double from
 * the first capacity, requests that overflow size_t or pass a cap fail without
 * touching the old block, and tl_buf keeps its bytes NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "util/buffer.h"

static void test_capacity_doubles_from_the_first_capacity(void **state) {
    (void)state;
    size_t cap = 0;
    assert_true(tl_grow_capacity(0, 1, 16, SIZE_MAX, &cap));
    assert_int_equal(cap, 16);
    assert_true(tl_grow_capacity(0, 17, 16, SIZE_MAX, &cap));
    assert_int_equal(cap, 32);
    assert_true(tl_grow_capacity(16, 17, 256, SIZE_MAX, &cap)); /* from the current capacity */
    assert_int_equal(cap, 32);
    assert_true(tl_grow_capacity(16, 1000, 256, SIZE_MAX, &cap));
    assert_int_equal(cap, 1024);
    assert_true(tl_grow_capacity(64, 64, 16, SIZE_MAX, &cap)); /* already enough */
    assert_int_equal(cap, 64);
}

static void test_capacity_stops_at_the_cap(void **state) {
    (void)state;
    size_t cap = 7;
    assert_false(tl_grow_capacity(64, 101, 16, 100, &cap));
    assert_int_equal(cap, 7);                              /* untouched on failure */
    assert_true(tl_grow_capacity(64, 100, 16, 100, &cap)); /* doubling would pass 100: stops at it */
    assert_int_equal(cap, 100);
    assert_true(tl_grow_capacity(0, 3, 256, 10, &cap)); /* a first capacity above the cap */
    assert_int_equal(cap, 10);
    assert_true(tl_grow_capacity(SIZE_MAX / 2 + 1, SIZE_MAX, 16, SIZE_MAX, &cap)); /* no wrap-around */
    assert_int_equal(cap, SIZE_MAX);
}

static void test_grow_keeps_the_elements(void **state) {
    (void)state;
    int32_t *items = NULL;
    size_t capacity = 0;
    for (int32_t i = 0; i < 1000; i++) {
        int32_t *grown = tl_grow(items, &capacity, (size_t)i + 1, sizeof *items, 8);
        assert_non_null(grown);
        items = grown;
        items[i] = i * 3;
    }
    assert_int_equal(capacity, 1024); /* 8 doubled seven times */
    for (int32_t i = 0; i < 1000; i++) assert_int_equal(items[i], i * 3);
    int32_t *same = tl_grow(items, &capacity, 1000, sizeof *items, 8);
    assert_ptr_equal(same, items); /* fits: no move */
    free(items);
}

static void test_grow_refuses_an_overflowing_size(void **state) {
    (void)state;
    char *items = malloc(16);
    assert_non_null(items);
    memcpy(items, "still here", 11);
    size_t capacity = 16;
    /* need * elem_size would overflow size_t */
    assert_null(tl_grow(items, &capacity, SIZE_MAX / 8 + 1, 8, 16));
    assert_int_equal(capacity, 16);
    assert_null(tl_grow(items, &capacity, SIZE_MAX, 1, 16));
    assert_int_equal(capacity, 16);
    assert_string_equal(items, "still here"); /* the old block is still the caller's */
    free(items);
}

static void test_buf_appends_and_stays_terminated(void **state) {
    (void)state;
    tl_buf b = {0};
    assert_true(tl_buf_append(&b, "", 0));
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    for (int i = 0; i < 100; i++) assert_true(tl_buf_append(&b, "abc", 3));
    assert_int_equal(b.len, 300);
    assert_int_equal(strlen(b.data), 300);
    assert_true(b.cap >= 301);
    assert_memory_equal(b.data + 297, "abc", 4); /* with the NUL */
    char *text = tl_buf_take(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(text);
    tl_buf_free(&b); /* an empty buffer frees nothing */
}

static void test_buf_refuses_to_pass_its_max(void **state) {
    (void)state;
    tl_buf b = {.max = 10};
    assert_true(tl_buf_append(&b, "0123456789", 10));
    assert_false(tl_buf_append(&b, "x", 1));
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    assert_false(tl_buf_reserve(&b, SIZE_MAX));
    tl_buf_free(&b);
    tl_buf huge = {0};
    assert_false(tl_buf_reserve(&huge, SIZE_MAX)); /* no cap but size_t's: still refused */
    assert_null(huge.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity_doubles_from_the_first_capacity),
        cmocka_unit_test(test_capacity_stops_at_the_cap),
        cmocka_unit_test(test_grow_keeps_the_elements),
        cmocka_unit_test(test_grow_refuses_an_overflowing_size),
        cmocka_unit_test(test_buf_appends_and_stays_terminated),
        cmocka_unit_test(test_buf_refuses_to_pass_its_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
