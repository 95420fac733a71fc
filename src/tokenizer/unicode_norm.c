/*
 * unicode_norm.c — NFD as code points and NFC of UTF-8 text (see
 * unicode_norm.h).
 */
#include "tokenizer/unicode_norm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/utf8.h"
#include "util/buffer.h"

void tl_codepoints_push(tl_codepoints *l, int32_t cp) {
    if (l->failed) return;
    int32_t *items = tl_grow(l->items, &l->capacity, l->count + 1, sizeof *items, 256);
    if (!items) {
        l->failed = true;
        return;
    }
    l->items = items;
    l->items[l->count++] = cp;
}

void tl_codepoints_free(tl_codepoints *l) {
    free(l->items);
    *l = (tl_codepoints){0};
}

void tl_codepoints_push_decomposed(tl_codepoints *l, int32_t cp) {
    utf8proc_int32_t buf[32];
    int boundclass = 0;
    utf8proc_ssize_t n =
        cp >= 0 && cp <= 0x10FFFF ? utf8proc_decompose_char(cp, buf, 32, UTF8PROC_DECOMPOSE, &boundclass) : 0;
    if (n <= 0 || n > 32) {
        tl_codepoints_push(l, cp);
        return;
    }
    for (utf8proc_ssize_t k = 0; k < n; k++) tl_codepoints_push(l, buf[k]);
}

static int combining_class(int32_t cp) {
    return cp >= 0 && cp <= 0x10FFFF ? utf8proc_get_property(cp)->combining_class : 0;
}

/* Sorts one run of marks stably by class: insertion for short runs,
 * counting for long ones. */
static void sort_marks(tl_codepoints *l, size_t start, size_t n) {
    int32_t *marks = l->items + start;
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            int32_t cp = marks[i];
            int cc = combining_class(cp);
            size_t j = i;
            while (j > 0 && combining_class(marks[j - 1]) > cc) {
                marks[j] = marks[j - 1];
                j--;
            }
            marks[j] = cp;
        }
        return;
    }
    int32_t *sorted = malloc(n * sizeof *sorted);
    if (!sorted) {
        l->failed = true;
        return;
    }
    size_t first[257] = {0};
    for (size_t i = 0; i < n; i++) first[combining_class(marks[i]) + 1]++;
    for (int c = 1; c < 257; c++) first[c] += first[c - 1];
    for (size_t i = 0; i < n; i++) sorted[first[combining_class(marks[i])]++] = marks[i];
    memcpy(marks, sorted, n * sizeof *sorted);
    free(sorted);
}

void tl_codepoints_canonical_order(tl_codepoints *l) {
    for (size_t start = 0; start < l->count && !l->failed;) {
        if (combining_class(l->items[start]) == 0) {
            start++;
            continue;
        }
        size_t end = start + 1;
        while (end < l->count && combining_class(l->items[end]) != 0) end++;
        sort_marks(l, start, end - start);
        start = end;
    }
}

static bool reserve(tl_text_buffer *out, size_t extra) {
    if (out->length + extra <= out->capacity) return true;
    if (extra > SIZE_MAX - out->length) return false;
    char *data = tl_grow(out->data, &out->capacity, out->length + extra, 1, 256);
    if (!data) return false;
    out->data = data;
    return true;
}

static bool append_bytes(tl_text_buffer *out, const char *bytes, size_t n) {
    if (n == 0) return true;
    if (!reserve(out, n)) return false;
    memcpy(out->data + out->length, bytes, n);
    out->length += n;
    return true;
}

/* NFC of a stretch of valid UTF-8: NFD (decomposed, marks in order), then
 * utf8proc's composition, which is linear. ASCII is its own NFC form. */
static bool append_normalized(tl_text_buffer *out, const char *text, size_t len) {
    bool ascii = true;
    for (size_t i = 0; i < len && ascii; i++) ascii = (unsigned char)text[i] < 0x80;
    if (ascii) return append_bytes(out, text, len);
    tl_codepoints cps = {0};
    for (size_t offset = 0; offset < len && !cps.failed;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)text + offset, (utf8proc_ssize_t)(len - offset), &cp);
        offset += n > 0 ? (size_t)n : 1; /* n > 0: the caller checked the text */
        tl_codepoints_push_decomposed(&cps, cp);
    }
    tl_codepoints_canonical_order(&cps);
    bool ok = !cps.failed && reserve(out, 4 * cps.count);
    if (ok) {
        utf8proc_ssize_t n =
            utf8proc_normalize_utf32(cps.items, (utf8proc_ssize_t)cps.count, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        for (utf8proc_ssize_t i = 0; i < n; i++) {
            out->length += tl_utf8_encode((uint32_t)cps.items[i], out->data + out->length);
        }
    }
    tl_codepoints_free(&cps);
    return ok;
}

bool tl_nfc_append(const char *text, size_t len, tl_text_buffer *out) {
    size_t start = 0, offset = 0;
    while (offset < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)text + offset, (utf8proc_ssize_t)(len - offset), &cp);
        if (n > 0) {
            offset += (size_t)n;
            continue;
        }
        if (!append_normalized(out, text + start, offset - start) || !append_bytes(out, text + offset, 1)) {
            return false;
        }
        offset++;
        start = offset;
    }
    return append_normalized(out, text + start, len - start);
}
