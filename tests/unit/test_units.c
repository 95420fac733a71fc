/*
 * test_units.c — the server's durations ("5m", "1h30m", "-1") and sizes
 * ("8M", "1.5GiB") parse to the right seconds and bytes, and garbage, empty
 * text and overflows are refused without touching the output.
 */
#include <math.h>

#include "server/units.h"
#include "test_support.h"

static void assert_duration(const char *text, double expected) {
    double seconds = NAN;
    if (!units_parse_duration(text, &seconds)) fail_msg("'%s' was refused", text);
    if (fabs(seconds - expected) > 1e-9 * fmax(1, fabs(expected)))
        fail_msg("'%s' gave %.12g seconds, expected %.12g", text, seconds, expected);
}

static void assert_bad_duration(const char *text) {
    double seconds = 12345;
    if (units_parse_duration(text, &seconds)) fail_msg("'%s' was accepted as %g seconds", text, seconds);
    assert_true(seconds == 12345);
}

static void assert_size(const char *text, uint64_t expected) {
    uint64_t bytes = 0;
    if (!units_parse_size(text, &bytes)) fail_msg("'%s' was refused", text);
    if (bytes != expected)
        fail_msg("'%s' gave %llu bytes, expected %llu", text, (unsigned long long)bytes, (unsigned long long)expected);
}

static void assert_bad_size(const char *text) {
    uint64_t bytes = 12345;
    if (units_parse_size(text, &bytes)) fail_msg("'%s' was accepted as %llu bytes", text, (unsigned long long)bytes);
    assert_true(bytes == 12345);
}

static void durations_with_units(void **state) {
    (void)state;
    assert_duration("5m", 300);
    assert_duration("10s", 10);
    assert_duration("2h", 7200);
    assert_duration("300ms", 0.3);
    assert_duration("1500us", 0.0015);
    assert_duration("1500\xc2\xb5s", 0.0015);
    assert_duration("250ns", 250e-9);
    assert_duration("1h30m", 5400);
    assert_duration("1h30m15s", 5415);
    assert_duration("5m0s", 300);
    assert_duration("1.5h", 5400);
    assert_duration(".5m", 30);
    assert_duration("1.m", 60);
    assert_duration("-1m", -60);
    assert_duration("+1m", 60);
    assert_duration("-1h30m", -5400);
}

static void durations_as_plain_seconds(void **state) {
    (void)state;
    assert_duration("0", 0);
    assert_duration("-1", -1);
    assert_duration("300", 300);
    assert_duration("2.5", 2.5);
    assert_duration("-0", 0);
}

static void bad_durations_are_refused(void **state) {
    (void)state;
    const char *bad[] = {"",           "-",          "+",   "m",    "5x",  "5 m", " 5m",  "5m ",
                         "1h30",       "5mm",        "1e3", "1e3s", "inf", "nan", "0x10", "1..5s",
                         "5m-1s",      "--1m",       "5M",  "1d",   "abc", ".",   ".s",   "99999999999999999999s",
                         "300000000h", "9223372037s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_bad_duration(bad[i]);
    double seconds;
    assert_false(units_parse_duration(NULL, &seconds));
}

static void sizes_in_powers_of_1024(void **state) {
    (void)state;
    assert_size("0", 0);
    assert_size("1024", 1024);
    assert_size("100B", 100);
    assert_size("1K", 1024);
    assert_size("1k", 1024);
    assert_size("1KB", 1024);
    assert_size("1KiB", 1024);
    assert_size("1kib", 1024);
    assert_size("8M", 8u << 20);
    assert_size("512MB", 512ull << 20);
    assert_size("2G", 2ull << 30);
    assert_size("1.5GiB", 3ull << 29);
    assert_size("1.5 G", 3ull << 29);
    assert_size("0.5K", 512);
    assert_size("3T", 3ull << 40);
    assert_size("16777215T", 16777215ull << 40);
    assert_size("999999999999999999", 999999999999999999ull);
}

static void bad_sizes_are_refused(void **state) {
    (void)state;
    const char *bad[] = {"",
                         " ",
                         "K",
                         "-1",
                         "-1K",
                         "1X",
                         "1KX",
                         "1KiBB",
                         "1iB",
                         "1 KB B",
                         "1e3",
                         "inf",
                         "nan",
                         "0x10",
                         "1..5M",
                         "1,5M",
                         "1P",
                         "1Kb2",
                         "16777216T",
                         "99999999999999999999",
                         "18446744073709551616",
                         "abc",
                         "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_bad_size(bad[i]);
    uint64_t bytes;
    assert_false(units_parse_size(NULL, &bytes));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_with_units),      cmocka_unit_test(durations_as_plain_seconds),
        cmocka_unit_test(bad_durations_are_refused), cmocka_unit_test(sizes_in_powers_of_1024),
        cmocka_unit_test(bad_sizes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
