/*
 * ugm.c — the Unigram tokenizer of "t5" vocabularies, as llama.cpp
 * implements it (llm_tokenizer_ugm), after SentencePiece.
 *
 * Normalization comes first. The text is read in pieces, each the longest
 * of: a run of bytes that follows a path of the user-defined-token trie
 * (copied unchanged — llama.cpp's rule, which also covers runs that are only
 * the start of such a token), else the longest key of the precompiled
 * charsmap (replaced), else one UTF-8 character (an invalid byte becomes
 * U+FFFD). Spaces in the result become U+2581; with
 * remove_extra_whitespaces, runs of spaces collapse and every word starts
 * with one U+2581 (so leading and trailing spaces go); add_space_prefix puts
 * one U+2581 before the first word.
 *
 * Then Viterbi: walking the normalized text a character at a time, every
 * token that starts there (from the trie of normal, user-defined and unused
 * tokens) extends the best path ending at this position; user-defined
 * tokens score 0, others their log-probability. A character that no token
 * covers on its own is the unknown token, scored the lowest normal score
 * minus 10. The best path is read backwards, with runs of unknown tokens
 * joined into one.
 */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab_internal.h"
#include "util/error.h"
#include "util/buffer.h"

#define KEY_CHARSMAP "tokenizer.ggml.precompiled_charsmap"
#define UNKNOWN_PENALTY 10.0

tl_status tl_ugm_setup(tl_vocab *v, const gguf_file *f, tl_error *err) {
    if (gguf_find_key(f, KEY_CHARSMAP) >= 0) {
        gguf_value_type type;
        uint64_t count = 0;
        if (!gguf_get_arr_info(f, KEY_CHARSMAP, &type, &count) || (type != GGUF_TYPE_UINT8 && type != GGUF_TYPE_INT8)) {
            return tl_fail(err, TL_ERR_FORMAT, "%s: expected an array of bytes", KEY_CHARSMAP);
        }
        const void *data = count ? gguf_get_arr_data(f, KEY_CHARSMAP) : "";
        tl_status st = tl_charsmap_init(&v->charsmap, data, (size_t)count, KEY_CHARSMAP, err);
        if (st != TL_OK) {
            return st;
        }
    }

    size_t all_bytes = 0, user_bytes = 0;
    float min_score = FLT_MAX;
    const uint32_t in_trie = TL_ATTR_NORMAL | TL_ATTR_USER_DEFINED | TL_ATTR_UNUSED;
    for (tl_token id = 0; id < v->n_tokens; id++) {
        uint32_t attr = v->info[id].attr;
        if (attr & TL_ATTR_NORMAL && v->info[id].score < min_score) {
            min_score = v->info[id].score;
        }
        if (attr & in_trie) all_bytes += v->texts[id].len;
        if (attr & TL_ATTR_USER_DEFINED) user_bytes += v->texts[id].len;
    }
    v->ugm_unknown_score = (double)min_score - UNKNOWN_PENALTY;
    if (!tl_byte_trie_init(&v->ugm_tokens, all_bytes) || !tl_byte_trie_init(&v->ugm_user_defined, user_bytes)) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for the token trie");
    }
    for (tl_token id = 0; id < v->n_tokens; id++) {
        uint32_t attr = v->info[id].attr;
        const tl_str *text = &v->texts[id];
        /* The room was counted above, so these cannot run out. */
        if (attr & in_trie) tl_byte_trie_insert(&v->ugm_tokens, text->ptr, text->len, id);
        if (attr & TL_ATTR_USER_DEFINED) {
            tl_byte_trie_insert(&v->ugm_user_defined, text->ptr, text->len, id);
        }
    }
    return TL_OK;
}

void tl_ugm_free(tl_vocab *v) {
    tl_charsmap_free(&v->charsmap);
    tl_byte_trie_free(&v->ugm_tokens);
    tl_byte_trie_free(&v->ugm_user_defined);
}

/* ------------------------------------------------------------------------ */
/* Normalization                                                            */
/* ------------------------------------------------------------------------ */

typedef struct byte_buffer {
    char *data;
    size_t length, capacity;
    bool failed;
} byte_buffer;

static void put(byte_buffer *b, const char *bytes, size_t n) {
    if (b->failed) return;
    char *data = n <= SIZE_MAX - b->length ? tl_grow(b->data, &b->capacity, b->length + n, 1, 256) : NULL;
    if (!data) {
        b->failed = true;
        return;
    }
    b->data = data;
    memcpy(b->data + b->length, bytes, n);
    b->length += n;
}

/* The normalized form of the piece at text[0..len): *out, *out_len; returns
 * the input bytes it consumed (>= 1). */
static size_t normalize_piece(const tl_vocab *v, const char *text, size_t len, const char **out, size_t *out_len) {
    size_t user = tl_byte_trie_walk_length(&v->ugm_user_defined, text, len);
    if (user > 0) {
        *out = text;
        *out_len = user;
        return user;
    }
    size_t matched = tl_charsmap_match(&v->charsmap, text, len, out, out_len);
    if (matched > 0) {
        return matched;
    }
    uint32_t cp;
    size_t n = tl_utf8_decode(text, len, &cp);
    if (n == 1 && cp == 0xFFFD) {
        *out = "\xEF\xBF\xBD"; /* an invalid byte */
        *out_len = 3;
        return 1;
    }
    *out = text;
    *out_len = n;
    return n;
}

static void normalize(const tl_vocab *v, const char *text, size_t len, byte_buffer *b) {
    const char *space = v->escape_whitespaces ? "\xE2\x96\x81" : " ";
    const size_t space_len = v->escape_whitespaces ? 3 : 1;
    const bool prepend_space = !v->treat_whitespace_as_suffix && v->add_space_prefix;
    const bool append_space = v->treat_whitespace_as_suffix && v->add_space_prefix;
    const bool merge_spaces = v->remove_extra_whitespaces;
    bool space_prepended = false, in_word = false;
    for (size_t offset = 0; offset < len && !b->failed;) {
        const char *piece;
        size_t piece_len;
        offset += normalize_piece(v, text + offset, len - offset, &piece, &piece_len);
        for (size_t i = 0; i < piece_len; i++) {
            if (piece[i] != ' ') {
                if (!in_word) {
                    in_word = true;
                    if ((prepend_space && !space_prepended) || merge_spaces) {
                        put(b, space, space_len);
                        space_prepended = true;
                    }
                }
                put(b, piece + i, 1);
            } else {
                in_word = false;
                if (!merge_spaces) {
                    put(b, space, space_len);
                }
            }
        }
    }
    if (append_space) {
        put(b, space, space_len);
    }
}

/* ------------------------------------------------------------------------ */
/* Viterbi                                                                  */
/* ------------------------------------------------------------------------ */

/* The best way found so far to tokenize the text up to a position: its last
 * token, where that token starts, and the path's total score. */
typedef struct best_path {
    tl_token token;
    size_t start;
    double score;
} best_path;

void tl_ugm_tokenize(const tl_vocab *v, const char *text, size_t len, tl_token_vec *out) {
    byte_buffer normalized = {0};
    normalize(v, text, len, &normalized);
    size_t n = normalized.length;
    if (normalized.failed) {
        out->failed = true;
    }
    best_path *best = n > 0 && !normalized.failed ? malloc((n + 1) * sizeof *best) : NULL;
    if (n > 0 && !best) {
        out->failed = true;
    }
    if (!best) {
        free(normalized.data);
        return;
    }
    const char *s = normalized.data;
    best[0] = (best_path){v->unk, 0, 0.0};
    for (size_t i = 1; i <= n; i++) {
        best[i] = (best_path){v->unk, 0, -DBL_MAX};
    }
    for (size_t start = 0; start < n;) {
        size_t char_len = tl_utf8_len((unsigned char)s[start]);
        if (char_len > n - start) char_len = n - start;
        const double base = best[start].score;
        bool char_covered = false;
        int32_t node = 0;
        for (size_t end = start; end < n;) {
            node = tl_byte_trie_child(&v->ugm_tokens, node, (unsigned char)s[end++]);
            if (node < 0) break;
            tl_token id = tl_byte_trie_value(&v->ugm_tokens, node);
            if (id < 0) continue;
            if (end - start == char_len) char_covered = true;
            double score = base + (v->info[id].attr & TL_ATTR_USER_DEFINED ? 0.0 : (double)v->info[id].score);
            if (score > best[end].score) {
                best[end] = (best_path){id, start, score};
            }
        }
        if (!char_covered) {
            double score = base + v->ugm_unknown_score;
            if (score > best[start + char_len].score) {
                best[start + char_len] = (best_path){v->unk, start, score};
            }
        }
        start += char_len;
    }

    /* Read the path backwards, then reverse it in place. */
    size_t first = out->count;
    bool previous_unknown = false;
    for (size_t end = n;;) {
        const best_path *p = &best[end];
        bool unknown = p->token == v->unk;
        if (!(previous_unknown && unknown) && p->token >= 0) {
            tl_token_vec_push(out, p->token);
        }
        if (p->start == 0) break;
        previous_unknown = unknown;
        end = p->start;
    }
    if (!out->failed) {
        for (size_t i = first, j = out->count; i + 1 < j; i++, j--) {
            tl_token t = out->items[i];
            out->items[i] = out->items[j - 1];
            out->items[j - 1] = t;
        }
    }
    free(best);
    free(normalized.data);
}
