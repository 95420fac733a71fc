/*
 * chunk.c — the token-based chunker (chunk.h): longest span that fits by
 * binary search over byte positions, then the best boundary inside it.
 */
#include "chunk.h"

#include <string.h>

static bool is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f';
}
static bool is_continuation(const char *text, size_t len, size_t i) {
    return i < len && ((unsigned char)text[i] & 0xC0) == 0x80;
}
/* i moved back to the start of the UTF-8 character it is in (not before lo). */
static size_t char_floor(const char *text, size_t len, size_t i, size_t lo) {
    while (i > lo && is_continuation(text, len, i)) i--;
    return i;
}
/* The start of the character after the one at i. */
static size_t char_next(const char *text, size_t len, size_t i) {
    if (i < len) i++;
    while (is_continuation(text, len, i)) i++;
    return i;
}

void tl_chunker_init(tl_chunker *c, const char *text, size_t len, int32_t max_tokens, int32_t overlap,
                     tl_chunk_count_fn count, void *user) {
    if (max_tokens < 1) max_tokens = 1;
    if (overlap > max_tokens / 2) overlap = max_tokens / 2;
    if (overlap < 0) overlap = 0;
    *c = (tl_chunker){.text = text,
                      .len = len,
                      .max_tokens = max_tokens,
                      .overlap = overlap,
                      .count = count,
                      .user = user,
                      .line = 1};
}

/* Does text[from, to) fit in max tokens? -1 on a counting error. */
static int fits(tl_chunker *c, size_t from, size_t to, int32_t max) {
    const int32_t n = c->count(c->user, c->text + from, to - from, max);
    return n < 0 ? -1 : n <= max;
}

/* The largest end in (pos, len] (a character boundary) with text[pos, end)
 * of at most max_tokens tokens; at least one character. 0 on error. */
static size_t longest_fit(tl_chunker *c, size_t pos) {
    size_t window = (size_t)c->max_tokens * 8, hi;
    for (;;) { /* a window that does not fit, or the rest of the text */
        hi = window < c->len - pos ? char_floor(c->text, c->len, pos + window, pos) : c->len;
        if (hi <= pos) hi = char_next(c->text, c->len, pos);
        const int f = fits(c, pos, hi, c->max_tokens);
        if (f < 0) return 0;
        if (!f) break;
        if (hi == c->len) return hi;
        window *= 2;
    }
    size_t lo = pos; /* fits (empty); hi does not */
    while (hi - lo > 1) {
        size_t mid = char_floor(c->text, c->len, lo + (hi - lo) / 2, lo);
        if (mid <= lo) mid = char_next(c->text, c->len, lo);
        if (mid >= hi) break;
        const int f = fits(c, pos, mid, c->max_tokens);
        if (f < 0) return 0;
        if (f)
            lo = mid;
        else
            hi = mid;
    }
    return lo > pos ? lo : char_next(c->text, c->len, pos);
}

/* Where to cut a span [pos, end) that does not reach the end of the text:
 * after a blank line, else after a sentence's end, else after a space (the
 * first two only in the span's second half, so chunks stay near full). */
static size_t best_cut(const tl_chunker *c, size_t pos, size_t end) {
    const char *t = c->text;
    /* past the previous chunk: taking in at least the first non-space byte
     * after its cut (else, trimmed, this chunk would end where it ended) */
    size_t least = c->last_end > pos ? c->last_end : pos;
    while (least < end && is_space(t[least])) least++;
    size_t half = pos + (end - pos) / 2;
    if (half < least) half = least;
    for (size_t i = end; i > half && i >= pos + 2; i--)
        if (t[i - 1] == '\n' && (t[i - 2] == '\n' || (t[i - 2] == '\r' && i >= pos + 3 && t[i - 3] == '\n'))) return i;
    for (size_t i = end; i > half && i >= pos + 2; i--)
        if (is_space(t[i - 1]) && (t[i - 2] == '.' || t[i - 2] == '!' || t[i - 2] == '?' || t[i - 1] == '\n')) return i;
    for (size_t i = end; i > least + 1; i--)
        if (is_space(t[i - 1])) return i;
    return end;
}

/* Where the chunk after [pos, cut) starts: about overlap tokens before cut,
 * at the start of a word, and after pos. */
static size_t overlap_start(tl_chunker *c, size_t pos, size_t cut, bool *error) {
    if (c->overlap == 0) return cut;
    size_t lo = pos + 1, hi = cut; /* the smallest s with text[s, cut) fitting in overlap tokens */
    const size_t reach = (size_t)c->overlap * 64;
    if (cut - lo > reach) lo = cut - reach;
    while (lo < hi && is_continuation(c->text, c->len, lo)) lo++;
    while (lo < hi) {
        size_t mid = char_floor(c->text, c->len, lo + (hi - lo) / 2, lo);
        const int f = fits(c, mid, cut, c->overlap);
        if (f < 0) {
            *error = true;
            return cut;
        }
        if (f)
            hi = mid;
        else
            lo = char_next(c->text, c->len, mid);
    }
    size_t s = hi;
    /* onto a word start: after the next space, if one comes before cut */
    if (s > pos && s < cut && !is_space(c->text[s - 1])) {
        size_t w = s;
        while (w < cut && !is_space(c->text[w])) w++;
        if (w < cut) s = w;
    }
    return s > pos ? s : cut;
}

static int64_t newlines(const char *t, size_t from, size_t to) {
    int64_t n = 0;
    for (const char *p = t + from, *e = t + to; p < e && (p = memchr(p, '\n', (size_t)(e - p))); p++) n++;
    return n;
}

int tl_chunker_next(tl_chunker *c, tl_chunk *out) {
    size_t pos, cut;
    for (;;) {
        while (c->pos < c->len && is_space(c->text[c->pos])) c->pos++;
        if (c->pos >= c->len) return 0;
        pos = c->pos;
        const size_t fit = longest_fit(c, pos);
        if (fit == 0) return -1;
        cut = fit == c->len ? fit : best_cut(c, pos, fit);
        size_t fresh = c->last_end; /* the first non-space byte after the previous cut */
        while (fresh < c->len && is_space(c->text[fresh])) fresh++;
        if (pos >= c->last_end || cut > fresh) break;
        /* The overlap left no room for anything new (a word whose tokens
         * grow as it is cut shorter): start again at the previous cut. */
        c->pos = c->last_end;
    }
    bool error = false;
    size_t next = cut == c->len ? cut : overlap_start(c, pos, cut, &error);
    if (error) return -1;
    size_t end = cut;
    while (end > pos && is_space(c->text[end - 1])) end--;

    c->line += newlines(c->text, c->line_pos, pos);
    c->line_pos = pos;
    out->start = pos;
    out->end = end;
    out->first_line = c->line;
    out->last_line = c->line + newlines(c->text, pos, end);
    c->last_end = cut;
    c->pos = next;
    return 1;
}
