/*
 * nfc.c — Normalization Form C of text that may hold invalid UTF-8 (see
 * nfc.h), with utf8proc. ASCII is its own NFC form and is copied as it is.
 */
#include "tokenizer/nfc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static bool reserve(tl_nfc_buffer *out, size_t extra) {
    if (out->length + extra <= out->capacity) return true;
    size_t capacity = out->capacity ? out->capacity * 2 : 256;
    while (capacity < out->length + extra) capacity *= 2;
    char *data = realloc(out->data, capacity);
    if (!data) return false;
    out->data = data;
    out->capacity = capacity;
    return true;
}

static bool append_bytes(tl_nfc_buffer *out, const char *bytes, size_t n) {
    if (n == 0) return true;
    if (!reserve(out, n)) return false;
    memcpy(out->data + out->length, bytes, n);
    out->length += n;
    return true;
}

/* NFC of a stretch of valid UTF-8. */
static bool append_normalized(tl_nfc_buffer *out, const char *text, size_t len) {
    bool ascii = true;
    for (size_t i = 0; i < len && ascii; i++) ascii = (unsigned char)text[i] < 0x80;
    if (ascii) return append_bytes(out, text, len);
    utf8proc_uint8_t *composed = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len,
                                      &composed, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    bool ok = n >= 0 ? append_bytes(out, (const char *)composed, (size_t)n)
                     : append_bytes(out, text, len); /* cannot happen: the text is valid */
    free(composed);
    return ok && n != UTF8PROC_ERROR_NOMEM;
}

bool tl_nfc_append(const char *text, size_t len, tl_nfc_buffer *out) {
    size_t start = 0, offset = 0;
    while (offset < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)text + offset,
                                              (utf8proc_ssize_t)(len - offset), &cp);
        if (n > 0) {
            offset += (size_t)n;
            continue;
        }
        if (!append_normalized(out, text + start, offset - start) ||
            !append_bytes(out, text + offset, 1)) {
            return false;
        }
        offset++;
        start = offset;
    }
    return append_normalized(out, text + start, len - start);
}
