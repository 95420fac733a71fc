/*
 * cli_store.c — helpers of the commands that manage the model store (list,
 * show, rm, cp, create): opening it, and sizes and times as `ollama list`
 * prints them.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "store/store.h"

tl_store *cli_open_store(const char *command, const char *dir) {
    tl_store *store = NULL;
    tl_error err = {0};
    if (tl_store_open(dir, &store, &err) != TL_OK) {
        tl_cli_error(command, "%s", err.message);
        return NULL;
    }
    return store;
}

void cli_human_bytes(int64_t bytes, char *out, size_t size) {
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    double value = (double)bytes;
    int unit = 0;
    while (value >= 1000 && unit < 4) {
        value /= 1000;
        unit++;
    }
    if (value >= 10 || value == (double)(int64_t)value)
        snprintf(out, size, "%lld %s", (long long)value, units[unit]);
    else
        snprintf(out, size, "%.1f %s", value, units[unit]);
}

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SSZ", or -1. */
static int64_t parse_iso(const char *text) {
    struct tm tm = {0};
    if (!text || sscanf(text, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                        &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

void cli_time_ago(const char *iso, char *out, size_t size) {
    const int64_t then = parse_iso(iso);
    if (then < 0) {
        snprintf(out, size, "unknown");
        return;
    }
    const int64_t s = (int64_t)time(NULL) - then;
    static const struct {
        int64_t seconds;
        const char *one, *unit;
    } steps[] = {
        {60, "About a minute", "minutes"}, {3600, "About an hour", "hours"},  {86400, "1 day", "days"},
        {7 * 86400, "1 week", "weeks"},    {30 * 86400, "1 month", "months"}, {365 * 86400, "1 year", "years"},
    };
    if (s < 1) {
        snprintf(out, size, "Less than a second ago");
        return;
    }
    if (s < 60) {
        snprintf(out, size, "%lld seconds ago", (long long)s);
        return;
    }
    int i = 0;
    while (i + 1 < (int)(sizeof steps / sizeof steps[0]) && s >= steps[i + 1].seconds) i++;
    const long long n = (long long)(s / steps[i].seconds);
    if (n <= 1)
        snprintf(out, size, "%s ago", steps[i].one);
    else
        snprintf(out, size, "%lld %s ago", n, steps[i].unit);
}
