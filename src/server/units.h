/*
 * units.h — the human units of the server's settings and requests (units.c):
 * durations as Ollama's keep_alive takes them ("5m", "1h30m", "300ms", "10s",
 * a plain number of seconds, negative = forever) and memory sizes ("512M",
 * "2G", "1.5GiB", a plain number of bytes).
 */
#ifndef TL_SERVER_UNITS_H
#define TL_SERVER_UNITS_H

#include <stdbool.h>
#include <stdint.h>

/* Parses a duration into seconds (may be negative). False if malformed. */
bool units_parse_duration(const char *text, double *seconds);
/* Parses a size into bytes: K, M, G, T (powers of 1024, optional "B"/"iB"). */
bool units_parse_size(const char *text, uint64_t *bytes);

#endif /* TL_SERVER_UNITS_H */
