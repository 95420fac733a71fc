/*
 * test_number_text.c — numbers written for people (util/number_text.h):
 * whole numbers in full (no "1.04858e+06", "1e+09"), others with the fewest
 * digits that give the value back, floats as the float they are.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "util/number_text.h"

static void test_whole_numbers_are_written_in_full(void **state) {
    (void)state;
    char out[TL_NUMBER_TEXT_SIZE];
    assert_string_equal(tl_number_text(1 << 20, out), "1048576");
    assert_string_equal(tl_number_text(1e9, out), "1000000000");
    assert_string_equal(tl_number_text(0, out), "0");
    assert_string_equal(tl_number_text(-0.0, out), "0");
    assert_string_equal(tl_number_text(-1, out), "-1");
    assert_string_equal(tl_number_text(9007199254740992.0, out), "9007199254740992");
    assert_string_equal(tl_float_text(100.0f, out), "100");
    assert_string_equal(tl_float_text(65536.0f, out), "65536");
}

static void test_fractions_take_the_fewest_exact_digits(void **state) {
    (void)state;
    char out[TL_NUMBER_TEXT_SIZE];
    assert_string_equal(tl_number_text(0.95, out), "0.95");
    assert_string_equal(tl_number_text(-2.5, out), "-2.5");
    assert_string_equal(tl_number_text(1.0 / 3, out), "0.3333333333333333");
    assert_true(strtod(tl_number_text(1.0 / 3, out), NULL) == 1.0 / 3);
    assert_string_equal(tl_number_text(1e-5, out), "1e-05");
    /* A float shows as the float, not its double expansion 0.200000003. */
    assert_string_equal(tl_float_text(0.2f, out), "0.2");
    assert_string_equal(tl_float_text(0.95f, out), "0.95");
    assert_true(strtof(tl_float_text(0.1f + 0.2f, out), NULL) == 0.1f + 0.2f);
}

static void test_special_values(void **state) {
    (void)state;
    char out[TL_NUMBER_TEXT_SIZE];
    assert_string_equal(tl_number_text(INFINITY, out), "inf");
    assert_string_equal(tl_number_text(-INFINITY, out), "-inf");
    assert_string_equal(tl_number_text(1e300, out), "1e+300"); /* beyond 2^53: shortest form */
    assert_true(strstr(tl_number_text(NAN, out), "nan") != NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_numbers_are_written_in_full),
        cmocka_unit_test(test_fractions_take_the_fewest_exact_digits),
        cmocka_unit_test(test_special_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
