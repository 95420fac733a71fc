/*
 * pieces.c — token ids → text, as llama.cpp's token_to_piece and
 * detokenize:
 *
 *  - control and unknown tokens print nothing unless `special` is set, and
 *    then print their text as is (so do user-defined tokens, always);
 *  - SentencePiece, WordPiece and Unigram: U+2581 becomes a space, <0xXX>
 *    byte tokens their byte (WordPiece pieces were stored by llama.cpp's
 *    converter as "▁word" and, for "##piece", as "piece", so the words come
 *    out separated by spaces);
 *  - byte-level BPE: each character of the token maps back to its byte
 *    (characters outside the byte alphabet print as "[UNK_BYTE_0x..]" like
 *    llama.cpp);
 *  - a whole sequence may drop the leading space SentencePiece added
 *    (remove_leading_space), and BPE vocabularies that ask for it get
 *    llama.cpp's clean-up of spaces before punctuation and contractions.
 */
#include <stdio.h>
#include <string.h>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab_internal.h"

/* Writes what fits into buf and counts everything; skips up to `lstrip`
 * spaces at the start. */
typedef struct piece_writer {
    char *buf;
    int64_t capacity;
    int64_t length;
    int32_t lstrip;
} piece_writer;

static void put_bytes(piece_writer *w, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (w->lstrip > 0 && w->length == 0 && s[i] == ' ') {
            w->lstrip--;
            continue;
        }
        w->lstrip = 0;
        if (w->length < w->capacity) {
            w->buf[w->length] = s[i];
        }
        w->length++;
    }
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The byte of a "<0xXX>" token (0 if the text is malformed). */
static char byte_of_token(const tl_str *text) {
    if (text->len < 5) {
        return 0;
    }
    int hi = hex_value(text->ptr[3]), lo = hex_value(text->ptr[4]);
    if (hi < 0) {
        return 0;
    }
    return (char)(lo < 0 ? hi : hi * 16 + lo);
}

/* SentencePiece text with U+2581 turned back into spaces. */
static void put_unescaped(piece_writer *w, const tl_str *text) {
    size_t start = 0;
    for (size_t i = 0; i + 3 <= text->len;) {
        if (memcmp(text->ptr + i, "\xE2\x96\x81", 3) == 0) {
            put_bytes(w, text->ptr + start, i - start);
            put_bytes(w, " ", 1);
            i += 3;
            start = i;
        } else {
            i++;
        }
    }
    put_bytes(w, text->ptr + start, text->len - start);
}

/* Byte-level BPE text back to bytes. */
static void put_byte_decoded(piece_writer *w, const tl_str *text) {
    for (size_t i = 0; i < text->len;) {
        uint32_t cp;
        i += tl_utf8_decode(text->ptr + i, text->len - i, &cp);
        int byte = tl_unicode_to_byte(cp);
        if (byte >= 0) {
            char c = (char)byte;
            put_bytes(w, &c, 1);
            continue;
        }
        char utf8[4], hex[16];
        size_t n = tl_utf8_encode(cp, utf8);
        put_bytes(w, "[UNK_BYTE_0x", 12);
        for (size_t k = 0; k < n; k++) {
            snprintf(hex, sizeof hex, "%02x", (unsigned char)utf8[k]);
            put_bytes(w, hex, 2);
        }
        put_bytes(w, text->ptr, text->len);
        put_bytes(w, "]", 1);
    }
}

static void write_piece(const tl_vocab *v, tl_token t, bool special, piece_writer *w) {
    if (t < 0 || t >= v->n_tokens) {
        return;
    }
    const uint32_t attr = v->info[t].attr;
    const uint32_t special_attr = TL_ATTR_UNKNOWN | TL_ATTR_CONTROL;
    if (!special && (attr & special_attr)) {
        return;
    }
    const tl_str *text = &v->texts[t];
    if (attr & (special_attr | TL_ATTR_USER_DEFINED)) {
        put_bytes(w, text->ptr, text->len);
    } else if (attr & TL_ATTR_NORMAL) {
        if (v->kind == TL_VOCAB_BPE) {
            put_byte_decoded(w, text);
        } else {
            put_unescaped(w, text);
        }
    } else if (attr & TL_ATTR_BYTE) {
        char byte = byte_of_token(text);
        put_bytes(w, &byte, 1);
    }
    /* undefined and unused tokens print nothing */
}

static int32_t finish(const piece_writer *w, int32_t buf_size) {
    if (w->length > INT32_MAX) {
        return INT32_MIN;
    }
    return w->length <= buf_size ? (int32_t)w->length : -(int32_t)w->length;
}

int32_t tl_vocab_token_to_piece(const tl_vocab *v, tl_token t, bool special, char *buf, int32_t buf_size) {
    piece_writer w = {buf, buf_size > 0 ? buf_size : 0, 0, 0};
    write_piece(v, t, special, &w);
    return finish(&w, buf_size);
}

/* llama.cpp's clean_up_tokenization_spaces: " ?", " !", " .", " ," lose the
 * space; " ' " becomes "'"; " 's", " 'm", " 're", " 've" lose the space.
 * Returns the new length. */
static int32_t clean_spaces(char *text, int32_t total) {
    int32_t n = total ? 1 : 0;
    for (int32_t i = 1; i < total; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) {
            n--;
        }
        text[n++] = x;
    }
    total = n;
    n = total ? 1 : 0;
    for (int32_t i = 1; i < total; i++) {
        char x = text[i];
        if (x == '\'' && i + 1 < total && text[i - 1] == ' ' && text[i + 1] == ' ') {
            n--;
            text[++i] = '\0';
        }
        text[n++] = x;
    }
    total = n;
    n = total ? 1 : 0;
    for (int32_t i = 1; i < total; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < total) {
            char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm') {
                n--;
            } else if (i + 2 < total) {
                char x2 = text[i + 2];
                if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) {
                    n--;
                }
            }
        }
        text[n++] = x;
    }
    return n;
}

int32_t tl_vocab_detokenize(const tl_vocab *v, const tl_token *tokens, int32_t n_tokens, bool special,
                            bool remove_leading_space, char *buf, int32_t buf_size) {
    piece_writer w = {buf, buf_size > 0 ? buf_size : 0, 0, 0};
    /* The first token loses one leading space, as with llama.cpp's
     * detokenize; when that token is a BOS that prints nothing, the space
     * after it stays (llama.cpp does the same). */
    bool remove_space = remove_leading_space && v->add_space_prefix;
    for (int32_t i = 0; i < n_tokens; i++) {
        bool room = w.length < w.capacity;
        piece_writer piece = {room ? w.buf + w.length : NULL, room ? w.capacity - w.length : 0, 0,
                              remove_space ? 1 : 0};
        write_piece(v, tokens[i], special, &piece);
        w.length += piece.length;
        remove_space = false;
    }
    if (w.length > buf_size || w.length > INT32_MAX) {
        return finish(&w, buf_size);
    }
    int32_t total = (int32_t)w.length;
    if (v->clean_spaces) {
        total = clean_spaces(buf, total);
    }
    return total;
}
