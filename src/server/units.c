/*
 * units.c — parses the human units of the server's settings (see units.h):
 * durations the way Go's time.ParseDuration and Ollama's keep_alive take
 * them ("5m", "1h30m", "1.5h", "300ms", "-1m", a plain number of seconds)
 * and memory sizes in powers of 1024 ("512M", "1.5GiB", "8 MB", bytes).
 * Numbers are read by hand so that "inf", "nan", hex and exponents, which
 * strtod would take, are refused like any other garbage.
 */
#include "server/units.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* Go's largest duration (2^63 ns), about 292 years: anything longer is an overflow. */
#define MAX_DURATION_SECONDS 9223372036.0
#define MAX_NUMBER_DIGITS 18

/* Reads "DIGITS[.DIGITS]" or ".DIGITS" at *p (at least one digit); advances *p.
 * The whole part must fit MAX_NUMBER_DIGITS digits, so it is exact. */
static bool read_number(const char **p, uint64_t *whole, double *fraction) {
    const char *s = *p;
    uint64_t w = 0;
    int n_whole = 0, n_fraction = 0;
    for (; isdigit((unsigned char)*s); s++, n_whole++) {
        if (n_whole >= MAX_NUMBER_DIGITS) return false;
        w = w * 10 + (uint64_t)(*s - '0');
    }
    double f = 0, scale = 0.1;
    if (*s == '.') {
        for (s++; isdigit((unsigned char)*s); s++, n_fraction++) {
            f += (*s - '0') * scale;
            scale /= 10;
        }
    }
    if (n_whole == 0 && n_fraction == 0) return false;
    *whole = w;
    *fraction = f;
    *p = s;
    return true;
}

typedef struct unit {
    const char *name;
    double seconds;
} unit;

/* Longest names first where one is a prefix of another ("ms" before "m"). */
static const unit duration_units[] = {
    {"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6},
    {"ms", 1e-3}, {"s", 1},     {"m", 60},           {"h", 3600},
};

/* The unit at *p (advancing past it), or NULL. */
static const unit *read_duration_unit(const char **p) {
    for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
        size_t len = strlen(duration_units[i].name);
        if (strncmp(*p, duration_units[i].name, len) == 0) {
            *p += len;
            return &duration_units[i];
        }
    }
    return NULL;
}

bool units_parse_duration(const char *text, double *seconds) {
    if (!text) return false;
    const char *p = text;
    double sign = 1;
    if (*p == '-' || *p == '+') sign = *p++ == '-' ? -1 : 1;
    if (*p == 0) return false;
    double total = 0;
    bool first = true;
    while (*p) {
        uint64_t whole;
        double fraction;
        if (!read_number(&p, &whole, &fraction)) return false;
        const unit *u = read_duration_unit(&p);
        if (!u) {
            /* A plain number of seconds ("300", "-1", "0"): the whole text, nothing else. */
            if (!first || *p) return false;
            u = &duration_units[5];
        }
        total += ((double)whole + fraction) * u->seconds;
        if (total > MAX_DURATION_SECONDS) return false;
        first = false;
    }
    *seconds = sign * total;
    return true;
}

/* The multiplier of a size suffix ("", "B", "K", "KB", "KiB", ... any case), or 0. */
static uint64_t size_multiplier(const char *suffix) {
    static const char prefixes[] = "kmgt";
    if (*suffix == 0) return 1;
    char first = (char)tolower((unsigned char)suffix[0]);
    if (first == 'b') return suffix[1] == 0 ? 1 : 0;
    const char *at = strchr(prefixes, first);
    if (!at) return 0;
    const char *rest = suffix + 1;
    if (!(*rest == 0 || strcasecmp(rest, "b") == 0 || strcasecmp(rest, "ib") == 0)) return 0;
    return (uint64_t)1 << (10 * (at - prefixes + 1));
}

bool units_parse_size(const char *text, uint64_t *bytes) {
    if (!text) return false;
    const char *p = text;
    if (*p == '+') p++;
    uint64_t whole;
    double fraction;
    if (!read_number(&p, &whole, &fraction)) return false;
    while (*p == ' ') p++;
    uint64_t multiplier = size_multiplier(p);
    if (multiplier == 0) return false;
    if (whole > UINT64_MAX / multiplier) return false;
    uint64_t result = whole * multiplier;
    double extra = floor(fraction * (double)multiplier);
    if (extra > 0) {
        if ((double)(UINT64_MAX - result) < extra) return false;
        result += (uint64_t)extra;
    }
    *bytes = result;
    return true;
}
