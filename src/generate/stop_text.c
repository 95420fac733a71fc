/*
 * stop_text.c — cutting generated text at stop strings (see stop_text.h).
 *
 * The text is UTF-8 (the detokenizer's output): a stop string matches only
 * where a character starts, and the released text always ends where one
 * ends, so neither a cut nor a held-back prefix splits a character.
 */
#include "generate/stop_text.h"
#include "util/buffer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void stop_text_init(stop_text *t, const char *const *stops, int n_stops) {
    *t = (stop_text){.stops = stops, .n_stops = n_stops};
}

void stop_text_free(stop_text *t) {
    free(t->bytes);
    *t = (stop_text){0};
}

/* True when bytes[at] starts a character (or is the end). */
static bool char_starts(const stop_text *t, size_t at) {
    return at >= t->len || ((unsigned char)t->bytes[at] & 0xC0) != 0x80;
}

/* Looks for a whole stop string starting at or after `from`; cuts the text
 * at the earliest one. */
static void find_stop(stop_text *t, size_t from) {
    size_t cut = t->len;
    for (int i = 0; i < t->n_stops; i++) {
        const size_t n = strlen(t->stops[i]);
        if (n == 0 || n > t->len) continue;
        for (size_t at = from; at + n <= t->len && at < cut; at++)
            if (char_starts(t, at) && memcmp(t->bytes + at, t->stops[i], n) == 0) {
                cut = at;
                break;
            }
    }
    if (cut < t->len) {
        t->len = cut;
        t->bytes[cut] = 0;
        t->stopped = true;
    }
}

bool stop_text_append(stop_text *t, const char *bytes, size_t n) {
    if (t->stopped || n == 0) return true;
    if (n >= SIZE_MAX - t->len) return false;
    char *grown = tl_grow(t->bytes, &t->capacity, t->len + n + 1, 1, 256);
    if (!grown) return false;
    t->bytes = grown;
    memcpy(t->bytes + t->len, bytes, n);
    const size_t old_len = t->len;
    t->len += n;
    t->bytes[t->len] = 0;
    /* A new match can only start in the held-back tail or the new bytes. */
    size_t longest = 0;
    for (int i = 0; i < t->n_stops; i++) {
        const size_t k = strlen(t->stops[i]);
        if (k > longest) longest = k;
    }
    find_stop(t, old_len + 1 > longest ? old_len + 1 - longest : 0);
    return true;
}

/* Length of the longest end of the text that begins some stop string. */
static size_t held_back(const stop_text *t) {
    size_t hold = 0;
    for (int i = 0; i < t->n_stops; i++) {
        const size_t n = strlen(t->stops[i]);
        for (size_t k = n > 0 ? n - 1 : 0; k > hold; k--)
            if (k <= t->len && char_starts(t, t->len - k) && memcmp(t->bytes + t->len - k, t->stops[i], k) == 0) {
                hold = k;
                break;
            }
    }
    return hold;
}

const char *stop_text_release(stop_text *t, bool final, size_t *n) {
    size_t end = final || t->stopped ? t->len : t->len - held_back(t);
    while (!final && !t->stopped && end > t->sent && !char_starts(t, end)) end--; /* never stop inside a character */
    const char *from = t->bytes ? t->bytes + t->sent : "";
    *n = end > t->sent ? end - t->sent : 0;
    if (end > t->sent) t->sent = end;
    return from;
}
