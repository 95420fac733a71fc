/*
 * utf8.c — UTF-8 decoding/encoding as lenient as llama.cpp's, and the GPT-2
 * byte-level alphabet (see utf8.h).
 */
#include "tokenizer/utf8.h"

#include <stdbool.h>
#include <string.h>

size_t tl_utf8_len(unsigned char lead) {
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[lead >> 4];
}

static bool is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

size_t tl_utf8_char_len(const char *text, size_t n) {
    const unsigned char *s = (const unsigned char *)text;
    size_t len = tl_utf8_len(s[0]);
    if (len > n) {
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if (!is_continuation(s[i])) {
            return 1;
        }
    }
    return len;
}

size_t tl_utf8_decode(const char *text, size_t n, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)text;
    if (!(s[0] & 0x80)) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0 && n >= 2 && is_continuation(s[1])) {
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && n >= 3 && is_continuation(s[1]) && is_continuation(s[2])) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if ((s[0] & 0xF8) == 0xF0 && n >= 4 && is_continuation(s[1]) && is_continuation(s[2]) && is_continuation(s[3])) {
        *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
              (s[3] & 0x3F);
        return 4;
    }
    *cp = 0xFFFD;
    return 1;
}

size_t tl_utf8_strict(const char *text, size_t n, bool *bad) {
    const unsigned char *s = (const unsigned char *)text;
    const unsigned char c = s[0];
    *bad = false;
    if (c < 0x80) return 1;
    /* The length a lead byte announces and the range its second byte must
     * fall in (narrower after E0, ED, F0, F4: no overlongs, surrogates or
     * code points past U+10FFFF). */
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        *bad = true; /* a continuation byte, C0, C1 or F5..FF */
        return 1;
    }
    for (size_t i = 1; i < need; i++) {
        if (i == n) return 0; /* so far so good: more bytes may complete it */
        const unsigned char b = s[i];
        if (i == 1 ? b < lo || b > hi : !is_continuation(b)) {
            *bad = true;
            return i;
        }
    }
    return need;
}

size_t tl_utf8_sanitize(const char *s, size_t n, bool final, char *out, size_t *used) {
    size_t in = 0, at = 0;
    while (in < n) {
        bool bad;
        size_t len = tl_utf8_strict(s + in, n - in, &bad);
        if (len == 0) {
            if (!final) break;
            bad = true;
            len = n - in;
        }
        if (bad) {
            memcpy(out + at, "\xEF\xBF\xBD", 3);
            at += 3;
        } else {
            memcpy(out + at, s + in, len);
            at += len;
        }
        in += len;
    }
    *used = in;
    return at;
}

bool tl_utf8_valid(const char *s, size_t n) {
    for (size_t at = 0; at < n;) {
        bool bad;
        const size_t len = tl_utf8_strict(s + at, n - at, &bad);
        if (len == 0 || bad) return false;
        at += len;
    }
    return true;
}

size_t tl_utf8_encode(uint32_t cp, char out[4]) {
    if (cp <= 0x7F) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp <= 0x7FF) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp <= 0xFFFF) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp <= 0x10FFFF) {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
    }
    return 0;
}

/* The UTF-8 text of the character standing for each byte (see utf8.h):
 * printable Latin-1 bytes map to themselves, the other 68 to U+0100 + n. */
static const char *const byte_texts[256] = {
    "\xC4\x80", "\xC4\x81", "\xC4\x82", "\xC4\x83", "\xC4\x84", "\xC4\x85", "\xC4\x86", "\xC4\x87", "\xC4\x88",
    "\xC4\x89", "\xC4\x8A", "\xC4\x8B", "\xC4\x8C", "\xC4\x8D", "\xC4\x8E", "\xC4\x8F", "\xC4\x90", "\xC4\x91",
    "\xC4\x92", "\xC4\x93", "\xC4\x94", "\xC4\x95", "\xC4\x96", "\xC4\x97", "\xC4\x98", "\xC4\x99", "\xC4\x9A",
    "\xC4\x9B", "\xC4\x9C", "\xC4\x9D", "\xC4\x9E", "\xC4\x9F", "\xC4\xA0", "\x21",     "\x22",     "\x23",
    "\x24",     "\x25",     "\x26",     "\x27",     "\x28",     "\x29",     "\x2A",     "\x2B",     "\x2C",
    "\x2D",     "\x2E",     "\x2F",     "\x30",     "\x31",     "\x32",     "\x33",     "\x34",     "\x35",
    "\x36",     "\x37",     "\x38",     "\x39",     "\x3A",     "\x3B",     "\x3C",     "\x3D",     "\x3E",
    "\x3F",     "\x40",     "\x41",     "\x42",     "\x43",     "\x44",     "\x45",     "\x46",     "\x47",
    "\x48",     "\x49",     "\x4A",     "\x4B",     "\x4C",     "\x4D",     "\x4E",     "\x4F",     "\x50",
    "\x51",     "\x52",     "\x53",     "\x54",     "\x55",     "\x56",     "\x57",     "\x58",     "\x59",
    "\x5A",     "\x5B",     "\x5C",     "\x5D",     "\x5E",     "\x5F",     "\x60",     "\x61",     "\x62",
    "\x63",     "\x64",     "\x65",     "\x66",     "\x67",     "\x68",     "\x69",     "\x6A",     "\x6B",
    "\x6C",     "\x6D",     "\x6E",     "\x6F",     "\x70",     "\x71",     "\x72",     "\x73",     "\x74",
    "\x75",     "\x76",     "\x77",     "\x78",     "\x79",     "\x7A",     "\x7B",     "\x7C",     "\x7D",
    "\x7E",     "\xC4\xA1", "\xC4\xA2", "\xC4\xA3", "\xC4\xA4", "\xC4\xA5", "\xC4\xA6", "\xC4\xA7", "\xC4\xA8",
    "\xC4\xA9", "\xC4\xAA", "\xC4\xAB", "\xC4\xAC", "\xC4\xAD", "\xC4\xAE", "\xC4\xAF", "\xC4\xB0", "\xC4\xB1",
    "\xC4\xB2", "\xC4\xB3", "\xC4\xB4", "\xC4\xB5", "\xC4\xB6", "\xC4\xB7", "\xC4\xB8", "\xC4\xB9", "\xC4\xBA",
    "\xC4\xBB", "\xC4\xBC", "\xC4\xBD", "\xC4\xBE", "\xC4\xBF", "\xC5\x80", "\xC5\x81", "\xC5\x82", "\xC2\xA1",
    "\xC2\xA2", "\xC2\xA3", "\xC2\xA4", "\xC2\xA5", "\xC2\xA6", "\xC2\xA7", "\xC2\xA8", "\xC2\xA9", "\xC2\xAA",
    "\xC2\xAB", "\xC2\xAC", "\xC5\x83", "\xC2\xAE", "\xC2\xAF", "\xC2\xB0", "\xC2\xB1", "\xC2\xB2", "\xC2\xB3",
    "\xC2\xB4", "\xC2\xB5", "\xC2\xB6", "\xC2\xB7", "\xC2\xB8", "\xC2\xB9", "\xC2\xBA", "\xC2\xBB", "\xC2\xBC",
    "\xC2\xBD", "\xC2\xBE", "\xC2\xBF", "\xC3\x80", "\xC3\x81", "\xC3\x82", "\xC3\x83", "\xC3\x84", "\xC3\x85",
    "\xC3\x86", "\xC3\x87", "\xC3\x88", "\xC3\x89", "\xC3\x8A", "\xC3\x8B", "\xC3\x8C", "\xC3\x8D", "\xC3\x8E",
    "\xC3\x8F", "\xC3\x90", "\xC3\x91", "\xC3\x92", "\xC3\x93", "\xC3\x94", "\xC3\x95", "\xC3\x96", "\xC3\x97",
    "\xC3\x98", "\xC3\x99", "\xC3\x9A", "\xC3\x9B", "\xC3\x9C", "\xC3\x9D", "\xC3\x9E", "\xC3\x9F", "\xC3\xA0",
    "\xC3\xA1", "\xC3\xA2", "\xC3\xA3", "\xC3\xA4", "\xC3\xA5", "\xC3\xA6", "\xC3\xA7", "\xC3\xA8", "\xC3\xA9",
    "\xC3\xAA", "\xC3\xAB", "\xC3\xAC", "\xC3\xAD", "\xC3\xAE", "\xC3\xAF", "\xC3\xB0", "\xC3\xB1", "\xC3\xB2",
    "\xC3\xB3", "\xC3\xB4", "\xC3\xB5", "\xC3\xB6", "\xC3\xB7", "\xC3\xB8", "\xC3\xB9", "\xC3\xBA", "\xC3\xBB",
    "\xC3\xBC", "\xC3\xBD", "\xC3\xBE", "\xC3\xBF",
};

const char *tl_byte_to_unicode(uint8_t byte, size_t *len) {
    const char *text = byte_texts[byte];
    *len = text[1] ? 2 : 1;
    return text;
}

int tl_unicode_to_byte(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) {
        return (int)cp;
    }
    if (cp < 0x100 || cp >= 0x100 + 68) {
        return -1;
    }
    /* U+0100 + n is the n-th byte (in byte order) that is not printable. */
    unsigned n = cp - 0x100;
    for (unsigned b = 0; b < 256; b++) {
        bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        if (!printable && n-- == 0) {
            return (int)b;
        }
    }
    return -1;
}
